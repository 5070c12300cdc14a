/* Unit tests: HTML escaping and ANSI task output as HTML (html.c). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ml.h"

#define FFFD	"\xef\xbf\xbd"		/* U+FFFD REPLACEMENT CHARACTER */
#define PIC_NUL	"\xe2\x90\x80"		/* U+2400 SYMBOL FOR NULL */
#define PIC_SOH	"\xe2\x90\x81"
#define PIC_BEL	"\xe2\x90\x87"
#define PIC_ESC	"\xe2\x90\x9b"		/* U+241B SYMBOL FOR ESCAPE */
#define PIC_US	"\xe2\x90\x9f"
#define PIC_DEL	"\xe2\x90\xa1"		/* U+2421 SYMBOL FOR DELETE */

/* Check html_escape of len bytes of s against want. */
static void
escape_n(const char *s, size_t len, const char *want)
{
	char	*got;

	got = html_escape(s, len);
	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("html_escape(\"%s\") = \"%s\", want \"%s\"", s, got,
		    want);
	free(got);
}

/* Check html_escape of a NUL-terminated string against want. */
static void
escape(const char *s, const char *want)
{
	escape_n(s, strlen(s), want);
}

/*
 * Fail unless out is safe HTML text from html_ansi: the only markup is
 * <span class="a-..."> and </span>, balanced; no raw ESC, quote or NUL.
 */
static void
check_safe(const char *out)
{
	const char	*p = out, *end;
	int		 depth = 0;

	while (*p != '\0') {
		if (*p == '\x1b')
			fail_msg("raw ESC in \"%s\"", out);
		if (*p == '"' || *p == '\'' || *p == '>')
			fail_msg("stray %c at %zu in \"%s\"", *p,
			    (size_t)(p - out), out);
		if (*p != '<') {
			p++;
			continue;
		}
		if (strncmp(p, "</span>", 7) == 0) {
			if (--depth < 0)
				fail_msg("unbalanced </span> in \"%s\"", out);
			p += 7;
			continue;
		}
		if (strncmp(p, "<span class=\"a-", 15) != 0)
			fail_msg("unexpected markup at %zu in \"%s\"",
			    (size_t)(p - out), out);
		end = strstr(p, "\">");
		assert_non_null(end);
		for (p += 13; p < end; p++) {
			if (strchr("abdfgiu0123456789- ", *p) == NULL)
				fail_msg("bad class name in \"%s\"", out);
		}
		p += 2;
		if (++depth > 1)
			fail_msg("nested spans in \"%s\"", out);
	}
	if (depth != 0)
		fail_msg("unclosed span in \"%s\"", out);
}

/*
 * Feed nchunks chunks (NUL-terminated, or with explicit lengths in lens)
 * through one state, check each output is safe, and compare each with
 * want[i] when want is not NULL; return the concatenated output.
 */
static char *
ansi_chunks(const char **chunks, const size_t *lens, int nchunks,
    const char **want)
{
	struct html_ansi_state	 st;
	char			*out, *all = xstrdup("");
	char			*tmp;
	int			 i;
	size_t			 len;

	memset(&st, 0, sizeof st);
	for (i = 0; i <= nchunks; i++) {
		if (i < nchunks) {
			len = lens != NULL ? lens[i] : strlen(chunks[i]);
			out = html_ansi(chunks[i], len, &st);
		} else
			out = html_ansi(NULL, 0, &st);
		assert_non_null(out);
		check_safe(out);
		if (want != NULL && i < nchunks && strcmp(out, want[i]) != 0)
			fail_msg("chunk %d: html_ansi(\"%s\") = \"%s\", want "
			    "\"%s\"", i, chunks[i], out, want[i]);
		xasprintf(&tmp, "%s%s", all, out);
		free(all);
		all = tmp;
		free(out);
	}
	return (all);
}

/* Check html_ansi of one chunk (then the end of output) against want. */
static void
ansi(const char *in, const char *want)
{
	char	*got;

	got = ansi_chunks(&in, NULL, 1, NULL);
	if (strcmp(got, want) != 0)
		fail_msg("html_ansi(\"%s\") = \"%s\", want \"%s\"", in, got,
		    want);
	free(got);
}

/* Check html_ansi of len bytes of in (then the end of output). */
static void
ansi_n(const char *in, size_t len, const char *want)
{
	char	*got;

	got = ansi_chunks(&in, &len, 1, NULL);
	if (strcmp(got, want) != 0)
		fail_msg("html_ansi(%zu bytes) = \"%s\", want \"%s\"", len,
		    got, want);
	free(got);
}

/* Remove the span tags from s in place. */
static void
strip_spans(char *s)
{
	char	*r = s, *w = s;

	while (*r != '\0') {
		if (strncmp(r, "</span>", 7) == 0)
			r += 7;
		else if (strncmp(r, "<span ", 6) == 0)
			r = strstr(r, "\">") + 2;
		else
			*w++ = *r++;
	}
	*w = '\0';
}

/* Each special character is escaped, safe in text and attributes. */
static void
test_escape_specials(void **state)
{
	escape("&", "&amp;");
	escape("<", "&lt;");
	escape(">", "&gt;");
	escape("\"", "&quot;");
	escape("'", "&#39;");
	escape("&<>\"'", "&amp;&lt;&gt;&quot;&#39;");
	escape("a && b", "a &amp;&amp; b");
	escape("&amp;", "&amp;amp;");
	escape("", "");
	escape("plain text 123 /=:;", "plain text 123 /=:;");
	escape_n(NULL, 0, "");
}

/* Script and attribute injections come out inert. */
static void
test_escape_injection(void **state)
{
	escape("<script>alert('x')</script>",
	    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	escape("\" onmouseover=\"alert(1)",
	    "&quot; onmouseover=&quot;alert(1)");
	escape("' autofocus onfocus='alert(1)",
	    "&#39; autofocus onfocus=&#39;alert(1)");
	escape("</textarea><img src=x onerror=alert(1)>",
	    "&lt;/textarea&gt;&lt;img src=x onerror=alert(1)&gt;");
	escape("<!-- --><![CDATA[", "&lt;!-- --&gt;&lt;![CDATA[");
}

/* Valid UTF-8 is kept; each maximal invalid subpart becomes U+FFFD. */
static void
test_escape_utf8(void **state)
{
	escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	escape("a\xff" "b", "a" FFFD "b");
	escape("\x80\xbf", FFFD FFFD);
	escape("\xc3", FFFD);			/* truncated at the end */
	escape("\xe2\x82", FFFD);
	escape("\xe2\x82" "A", FFFD "A");	/* one U+FFFD for the subpart */
	escape("\xf0\x9f\x98" "<", FFFD "&lt;");
	escape("\xc0\xaf", FFFD FFFD);		/* overlong '/' */
	escape("\xe0\x80\xaf", FFFD FFFD FFFD);	/* overlong '/' */
	escape("\xed\xa0\x80", FFFD FFFD FFFD);	/* a surrogate */
	escape("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* > U+10FFFF */
	escape("\xf5\xf8\xfe", FFFD FFFD FFFD);
	escape("\xc2\x85\xc2\x9b", FFFD FFFD);	/* C1 controls */
	escape("\xc2\xa0", "\xc2\xa0");		/* U+00A0 is text */
	escape("\xef\xbf\xbf", "\xef\xbf\xbf");	/* U+FFFF is valid */
	/* The invalid lead < is not swallowed by a broken sequence. */
	escape("\xc3<script>", FFFD "&lt;script&gt;");
}

/* NUL and other controls are shown as control pictures; \n, \t kept. */
static void
test_escape_controls(void **state)
{
	escape_n("a\0b", 3, "a" PIC_NUL "b");
	escape_n("\0\0", 2, PIC_NUL PIC_NUL);
	escape("\x01\x07\x1f\x7f", PIC_SOH PIC_BEL PIC_US PIC_DEL);
	escape("\x1b[31mred", PIC_ESC "[31mred");
	escape("a\tb\nc", "a\tb\nc");
	escape("a\r\nb", "a\nb");
	escape("a\rb", "a\nb");
	escape("a\r\r\nb", "a\n\nb");
	escape("a\n\rb", "a\n\nb");
	escape("\r", "\n");
}

/* SGR colours become spans with the a-fgN and a-bgN classes. */
static void
test_ansi_colours(void **state)
{
	ansi("\x1b[31mred\x1b[0m plain",
	    "<span class=\"a-fg1\">red</span> plain");
	ansi("\x1b[30ma\x1b[37mb", "<span class=\"a-fg0\">a</span>"
	    "<span class=\"a-fg7\">b</span>");
	ansi("\x1b[90ma\x1b[97mb", "<span class=\"a-fg8\">a</span>"
	    "<span class=\"a-fg15\">b</span>");
	ansi("\x1b[44mx\x1b[40my\x1b[47mz", "<span class=\"a-bg4\">x</span>"
	    "<span class=\"a-bg0\">y</span><span class=\"a-bg7\">z</span>");
	ansi("\x1b[100mx\x1b[107my", "<span class=\"a-bg8\">x</span>"
	    "<span class=\"a-bg15\">y</span>");
	ansi("\x1b[92;44mx", "<span class=\"a-fg10 a-bg4\">x</span>");
	ansi("\x1b[33;41mx\x1b[39my\x1b[49mz",
	    "<span class=\"a-fg3 a-bg1\">x</span>"
	    "<span class=\"a-bg1\">y</span>z");
	ansi("no colour", "no colour");
}

/* Reset: ESC[0m, ESC[m and ESC[;m; style changes with no text are silent. */
static void
test_ansi_reset(void **state)
{
	ansi("\x1b[1mA\x1b[mB", "<span class=\"a-b\">A</span>B");
	ansi("\x1b[1mA\x1b[;mB", "<span class=\"a-b\">A</span>B");
	ansi("\x1b[31;42;1;3mA\x1b[0mB",
	    "<span class=\"a-fg1 a-bg2 a-b a-i\">A</span>B");
	ansi("\x1b[31m\x1b[0mx", "x");
	ansi("\x1b[31m\x1b[32mx", "<span class=\"a-fg2\">x</span>");
	ansi("\x1b[31mx\x1b[31my", "<span class=\"a-fg1\">xy</span>");
	ansi("\x1b[0;32mx", "<span class=\"a-fg2\">x</span>");
	ansi("\x1b[32;0mx", "x");
	ansi("\x1b[31m", "");
}

/* Bold with a colour, dim, italic, underline and their offs. */
static void
test_ansi_attributes(void **state)
{
	ansi("\x1b[1;32mok\x1b[0m", "<span class=\"a-fg2 a-b\">ok</span>");
	ansi("\x1b[1m\x1b[31mA", "<span class=\"a-fg1 a-b\">A</span>");
	ansi("\x1b[1;31mA\x1b[22mB", "<span class=\"a-fg1 a-b\">A</span>"
	    "<span class=\"a-fg1\">B</span>");
	ansi("\x1b[2;3;4mx\x1b[23;24my\x1b[22mz",
	    "<span class=\"a-d a-i a-u\">x</span>"
	    "<span class=\"a-d\">y</span>z");
	ansi("\x1b[4:3mx\x1b[4:0my", "<span class=\"a-u\">x</span>y");
	/* Blink, reverse and other attributes are ignored. */
	ansi("\x1b[5;7;9mx\x1b[31;7my", "x<span class=\"a-fg1\">y</span>");
}

/* 256 and true colours map to the nearest of the 16. */
static void
test_ansi_extended(void **state)
{
	ansi("\x1b[38;5;1mx", "<span class=\"a-fg1\">x</span>");
	ansi("\x1b[38;5;12mx", "<span class=\"a-fg12\">x</span>");
	ansi("\x1b[38;5;196mx", "<span class=\"a-fg9\">x</span>");
	ansi("\x1b[38;5;46mx", "<span class=\"a-fg10\">x</span>");
	ansi("\x1b[48;5;16mx", "<span class=\"a-bg0\">x</span>");
	ansi("\x1b[48;5;231mx", "<span class=\"a-bg15\">x</span>");
	ansi("\x1b[38;5;244mx", "<span class=\"a-fg8\">x</span>");
	ansi("\x1b[38;2;255;0;0mx", "<span class=\"a-fg9\">x</span>");
	ansi("\x1b[38;2;0;0;0;1mx", "<span class=\"a-fg0 a-b\">x</span>");
	ansi("\x1b[48;2;250;250;250mx", "<span class=\"a-bg15\">x</span>");
	ansi("\x1b[1;38;5;2;48;5;4mx",
	    "<span class=\"a-fg2 a-bg4 a-b\">x</span>");
	/* Colon forms (ITU T.416), with and without a colour space id. */
	ansi("\x1b[38:5:10mx", "<span class=\"a-fg10\">x</span>");
	ansi("\x1b[38:2::255:255:255mx", "<span class=\"a-fg15\">x</span>");
	ansi("\x1b[38:2:0:255:0mx", "<span class=\"a-fg10\">x</span>");
	/* Out of range or incomplete: ignored, nothing after read. */
	ansi("\x1b[38;5;300mx", "x");
	ansi("\x1b[38;2;999;0;0mx", "x");
	ansi("\x1b[38;5mx", "x");
	ansi("\x1b[38;2;1;2mx", "x");
	ansi("\x1b[38;9;1mx", "x");
	ansi("\x1b[38;5;99999999999999999999mx", "x");
}

/* Every escape sequence that is not SGR is dropped, whatever its kind. */
static void
test_ansi_strip(void **state)
{
	ansi("a\x1b[2Kb\x1b[?25lc\x1b[10;20Hd\x1b[Je", "abcde");
	ansi("a\x1b[0 qb\x1b[!pc", "abc");
	/* Private and intermediate forms ending in m are not SGR. */
	ansi("a\x1b[>4;1mb\x1b[?1mc\x1b[1 md", "abcd");
	ansi("a\x1b(Bb\x1b)0c\x1b#8d", "abcd");
	ansi("a\x1b" "7b\x1b" "8c\x1b=d\x1b>e\x1b" "cf\x1bMg", "abcdefg");
	ansi("a\x1b\x1b[31mb", "a<span class=\"a-fg1\">b</span>");
}

/* OSC (title, hyperlink) and other strings are dropped up to BEL or ST. */
static void
test_ansi_osc(void **state)
{
	ansi("\x1b]0;window title\x07" "after", "after");
	ansi("\x1b]2;title\x1b\\after", "after");
	ansi("\x1b]8;;http://example.com/\x1b\\link\x1b]8;;\x1b\\", "link");
	ansi("\x1b]0;<script>alert(1)</script>\x07ok", "ok");
	ansi("\x1b]0;t\xc3\xa9tle\x07ok", "ok");
	ansi("\x1bPq#0;2;0;0;0#0~~@@\x1b\\x", "x");
	ansi("\x1b_app\x1b\\x\x1b^pm\x1b\\y\x1bXsos\x1b\\z", "xyz");
	/* An unterminated string ends at the end of the line. */
	ansi("\x1b]0;no end\nnext", "\nnext");
	/* CAN and SUB cancel a sequence. */
	ansi("\x1b]0;t\x18" "a", "a");
	ansi("\x1b[31\x1am", "m");
}

/* An escape sequence or a character split across chunks. */
static void
test_ansi_split(void **state)
{
	const char	*c1[] = { "a\x1b[3", "1mb" };
	const char	*w1[] = { "a", "<span class=\"a-fg1\">b</span>" };
	const char	*c2[] = { "a\x1b", "[1m", "b" };
	const char	*w2[] = { "a", "", "<span class=\"a-b\">b</span>" };
	const char	*c3[] = { "x\x1b]0;ti", "tle\x1b", "\\y" };
	const char	*w3[] = { "x", "", "y" };
	const char	*c4[] = { "caf\xc3", "\xa9\xe2\x82", "\xac!" };
	const char	*w4[] = { "caf", "\xc3\xa9", "\xe2\x82\xac!" };
	const char	*c5[] = { "a\r", "\nb\r", "c" };
	const char	*w5[] = { "a\n", "b\n", "c" };
	char		*all;

	free(ansi_chunks(c1, NULL, 2, w1));
	free(ansi_chunks(c2, NULL, 3, w2));
	free(ansi_chunks(c3, NULL, 3, w3));
	free(ansi_chunks(c4, NULL, 3, w4));
	free(ansi_chunks(c5, NULL, 3, w5));

	/* A split 38;5;N keeps its meaning. */
	{
		const char	*c[] = { "\x1b[38;5", ";196mx" };
		const char	*w[] = { "", "<span class=\"a-fg9\">x</span>" };

		all = ansi_chunks(c, NULL, 2, w);
		free(all);
	}
}

/* A span open at the end of a chunk is closed and reopened in the next. */
static void
test_ansi_span_across(void **state)
{
	const char	*c[] = { "\x1b[1;31mhello", " world\x1b[0m!", "x" };
	const char	*w[] = {
		"<span class=\"a-fg1 a-b\">hello</span>",
		"<span class=\"a-fg1 a-b\"> world</span>!",
		"x",
	};
	const char	*c2[] = { "\x1b[32mA\n", "", "B\n" };
	const char	*w2[] = {
		"<span class=\"a-fg2\">A\n</span>",
		"",
		"<span class=\"a-fg2\">B\n</span>",
	};

	free(ansi_chunks(c, NULL, 3, w));
	free(ansi_chunks(c2, NULL, 3, w2));
}

/* Any split of a sample gives the same text and balanced chunks. */
static void
test_ansi_every_split(void **state)
{
	const char	 in[] = "\x1b[1;31mred\x1b[0m caf\xc3\xa9 \x1b]0;t\x07"
	    "\x1b[38;5;46m<b>\x1b[m\r\n\xe2\x82\xac\x1b[2K\xff end";
	size_t		 len = sizeof in - 1, i, j, lens[3];
	const char	*chunks[3];
	char		*whole, *got;

	whole = ansi_chunks((const char *[]){ in }, &len, 1, NULL);
	strip_spans(whole);
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			chunks[0] = in;
			chunks[1] = in + i;
			chunks[2] = in + j;
			lens[0] = i;
			lens[1] = j - i;
			lens[2] = len - j;
			got = ansi_chunks(chunks, lens, 3, NULL);
			strip_spans(got);
			if (strcmp(got, whole) != 0)
				fail_msg("split at %zu, %zu: \"%s\", want "
				    "\"%s\"", i, j, got, whole);
			free(got);
		}
	}
	assert_string_equal(whole, "red caf\xc3\xa9 &lt;b&gt;\n\xe2\x82\xac"
	    FFFD " end");
	free(whole);
}

/* Markup inside or after an escape sequence is escaped, never emitted. */
static void
test_ansi_hostile(void **state)
{
	ansi("\x1b[31m<img src=x onerror=alert(1)>",
	    "<span class=\"a-fg1\">&lt;img src=x onerror=alert(1)&gt;</span>");
	ansi("\x1b[31;\"><script>alert(1)</script>m",
	    "cript&gt;alert(1)&lt;/script&gt;m");
	ansi("\x1b[\"onmouseover=\"alert(1)m\"x",
	    "nmouseover=&quot;alert(1)m&quot;x");
	ansi("\x1b]8;;javascript:alert(1)\x07<a>\x1b]8;;\x07", "&lt;a&gt;");
	ansi("\x1b[31m\x1b[<span>m'",
	    "<span class=\"a-fg1\">pan&gt;m&#39;</span>");
	ansi_n("a\0b\x1b", 4, "a" PIC_NUL "b");
	ansi("\x1b[31mA\x1b[\xc3\xa9", "<span class=\"a-fg1\">A\xc3\xa9</span>");
	ansi("\xe2\x1b[31mx", FFFD "<span class=\"a-fg1\">x</span>");
}

/* Long and unterminated sequences: consumed in bounded memory, ignored. */
static void
test_ansi_long(void **state)
{
	struct html_ansi_state	 st;
	char			 buf[4096], *out;
	size_t			 n;
	int			 i;

	/* 64 parameter bytes are read; 65 are too many and ignored. */
	memset(buf, 0, sizeof buf);
	strlcpy(buf, "\x1b[", sizeof buf);
	memset(buf + 2, '0', 61);
	strlcat(buf, ";31mx", sizeof buf);
	ansi(buf, "<span class=\"a-fg1\">x</span>");
	memset(buf, 0, sizeof buf);
	strlcpy(buf, "\x1b[", sizeof buf);
	memset(buf + 2, '0', 62);
	strlcat(buf, ";31mx", sizeof buf);
	ansi(buf, "x");
	memset(buf, 0, sizeof buf);
	strlcpy(buf, "\x1b[", sizeof buf);
	memset(buf + 2, ';', 200);
	strlcat(buf, "31mx", sizeof buf);
	ansi(buf, "x");

	/* A megabyte of CSI parameters, in chunks, then text. */
	memset(&st, 0, sizeof st);
	out = html_ansi("a\x1b[", 3, &st);
	assert_string_equal(out, "a");
	free(out);
	memset(buf, '1', sizeof buf);
	for (i = 0; i < 256; i++) {
		out = html_ansi(buf, sizeof buf, &st);
		assert_string_equal(out, "");
		free(out);
	}
	out = html_ansi("mvisible", 8, &st);
	assert_string_equal(out, "visible");
	free(out);

	/* A megabyte of unterminated OSC is dropped up to the newline. */
	out = html_ansi("\x1b]0;", 4, &st);
	assert_string_equal(out, "");
	free(out);
	memset(buf, 'A', sizeof buf);
	for (i = 0; i < 256; i++) {
		out = html_ansi(buf, sizeof buf, &st);
		assert_string_equal(out, "");
		free(out);
	}
	out = html_ansi("\nline", 5, &st);
	assert_string_equal(out, "\nline");
	free(out);

	/* Unterminated at the end of the output: dropped, st reset. */
	out = html_ansi("\x1b[31mz\x1b[1", 9, &st);
	assert_string_equal(out, "<span class=\"a-fg1\">z</span>");
	free(out);
	out = html_ansi(NULL, 0, &st);
	assert_string_equal(out, "");
	free(out);
	n = 0;
	for (i = 0; i < (int)sizeof st; i++)
		n += ((u_char *)&st)[i];
	assert_int_equal(n, 0);
	out = html_ansi("q", 1, &st);
	assert_string_equal(out, "q");
	free(out);

	/* An incomplete character at the end becomes U+FFFD. */
	out = html_ansi("\x1b[32m\xe2\x82", 7, &st);
	assert_string_equal(out, "");
	free(out);
	out = html_ansi(NULL, 0, &st);
	assert_string_equal(out, "<span class=\"a-fg2\">" FFFD "</span>");
	free(out);
}

/* Output text: escaping, controls and \r as in html_escape. */
static void
test_ansi_text(void **state)
{
	ansi("&<>\"'", "&amp;&lt;&gt;&quot;&#39;");
	ansi("a\r\nb\rc\n", "a\nb\nc\n");
	ansi("progress 10%\rprogress 20%\r\n",
	    "progress 10%\nprogress 20%\n");
	ansi("\x01\x07\x7f", PIC_SOH PIC_BEL PIC_DEL);
	ansi("a\xff" "b\xc0\xaf", "a" FFFD "b" FFFD FFFD);
	ansi("\x1b[31m\xc2\x9b" "31m", "<span class=\"a-fg1\">" FFFD
	    "31m</span>");
	ansi("", "");
}

/* Run every test; CMOCKA_MESSAGE_OUTPUT=TAP makes the output TAP. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_specials),
		cmocka_unit_test(test_escape_injection),
		cmocka_unit_test(test_escape_utf8),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_ansi_colours),
		cmocka_unit_test(test_ansi_reset),
		cmocka_unit_test(test_ansi_attributes),
		cmocka_unit_test(test_ansi_extended),
		cmocka_unit_test(test_ansi_strip),
		cmocka_unit_test(test_ansi_osc),
		cmocka_unit_test(test_ansi_split),
		cmocka_unit_test(test_ansi_span_across),
		cmocka_unit_test(test_ansi_every_split),
		cmocka_unit_test(test_ansi_hostile),
		cmocka_unit_test(test_ansi_long),
		cmocka_unit_test(test_ansi_text),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
