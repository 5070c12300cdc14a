/* HTML escaping of user text and of task output with ANSI colours. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml.h"

/*
 * Both functions decode their input as UTF-8 and write only safe HTML text:
 *
 * - & < > " ' become &amp; &lt; &gt; &quot; &#39;, so the result is safe
 *   both between tags and inside a quoted attribute value;
 * - each maximal invalid UTF-8 subpart (the Unicode and WHATWG practice)
 *   and each C1 control U+0080-U+009F becomes U+FFFD;
 * - \n and \t are kept; \r\n becomes \n and a lone \r becomes \n too, so a
 *   progress bar redrawn with \r reads as one line per update;
 * - every other C0 control and DEL is shown as its Unicode control picture
 *   (NUL as U+2400, ESC as U+241B, DEL as U+2421), visible and inert.
 *
 * html_ansi() also interprets escape sequences (ECMA-48): SGR (ESC [ ... m)
 * sets the style of the text that follows and every other sequence is
 * consumed and dropped: CSI, two-byte and nF escapes, and the strings OSC,
 * DCS, SOS, PM and APC, which end at BEL or ESC \ and, so that an
 * unterminated one cannot swallow the whole log, at a newline. CAN and SUB
 * cancel a sequence; any other unexpected byte ends it and is then read as
 * text. A CSI longer than HTML_ANSI_SEQ_MAX bytes is consumed but ignored.
 */

/* Escape parser states (html_ansi_state.esc). */
#define HTML_GROUND	0	/* text */
#define HTML_ESC	1	/* after ESC */
#define HTML_INTER	2	/* ESC and intermediate bytes */
#define HTML_CSI	3	/* ESC [ */
#define HTML_STR	4	/* OSC, DCS, SOS, PM or APC string */

/* Style attributes (html_ansi_state.attr). */
#define HTML_BOLD	0x1
#define HTML_DIM	0x2
#define HTML_ITALIC	0x4
#define HTML_UNDERLINE	0x8

#define HTML_CAN	0x18
#define HTML_SUB	0x1a
#define HTML_ESCAPE	0x1b

#define HTML_SGR_SUB	6	/* colon sub-parameters kept per parameter */

/* The output of one call and the style of the span open in it. */
struct html_out {
	char	*s;
	size_t	 len;
	size_t	 size;
	int	 open;
	u_char	 fg;
	u_char	 bg;
	u_char	 attr;
};

/* One SGR parameter and its colon sub-parameters (-1: empty). */
struct html_sgr {
	int	 v[HTML_SGR_SUB];
	int	 n;
};

/* xterm's default RGB values of the 16 colours, to map the others. */
static const u_char html_palette[16][3] = {
	{ 0, 0, 0 }, { 205, 0, 0 }, { 0, 205, 0 }, { 205, 205, 0 },
	{ 0, 0, 238 }, { 205, 0, 205 }, { 0, 205, 205 }, { 229, 229, 229 },
	{ 127, 127, 127 }, { 255, 0, 0 }, { 0, 255, 0 }, { 255, 255, 0 },
	{ 92, 92, 255 }, { 255, 0, 255 }, { 0, 255, 255 }, { 255, 255, 255 },
};

/* Append len bytes to the output, growing it as needed. */
static void
html_add(struct html_out *o, const char *s, size_t len)
{
	size_t	 want;

	if (len >= o->size - o->len) {
		want = o->size;
		while (len >= want - o->len)
			want *= 2;
		o->s = xreallocarray(o->s, want, 1);
		o->size = want;
	}
	memcpy(o->s + o->len, s, len);
	o->len += len;
}

/* Append a NUL-terminated string to the output. */
static void
html_add_str(struct html_out *o, const char *s)
{
	html_add(o, s, strlen(s));
}

/* Make the open span match the style in st before text is written. */
static void
html_sync(struct html_out *o, const struct html_ansi_state *st)
{
	char	 buf[96];
	size_t	 n;

	if (o->open && o->fg == st->fg && o->bg == st->bg &&
	    o->attr == st->attr)
		return;
	if (!o->open && st->fg == 0 && st->bg == 0 && st->attr == 0)
		return;
	if (o->open) {
		html_add_str(o, "</span>");
		o->open = 0;
	}
	if (st->fg == 0 && st->bg == 0 && st->attr == 0)
		return;

	strlcpy(buf, "<span class=\"", sizeof buf);
	n = strlen(buf);
	if (st->fg != 0)
		n += snprintf(buf + n, sizeof buf - n, "a-fg%d ", st->fg - 1);
	if (st->bg != 0)
		n += snprintf(buf + n, sizeof buf - n, "a-bg%d ", st->bg - 1);
	if (st->attr & HTML_BOLD)
		n += snprintf(buf + n, sizeof buf - n, "a-b ");
	if (st->attr & HTML_DIM)
		n += snprintf(buf + n, sizeof buf - n, "a-d ");
	if (st->attr & HTML_ITALIC)
		n += snprintf(buf + n, sizeof buf - n, "a-i ");
	if (st->attr & HTML_UNDERLINE)
		n += snprintf(buf + n, sizeof buf - n, "a-u ");
	buf[n - 1] = '"';	/* replaces the last space */
	strlcat(buf, ">", sizeof buf);
	html_add_str(o, buf);

	o->open = 1;
	o->fg = st->fg;
	o->bg = st->bg;
	o->attr = st->attr;
}

/* Write text in the current style. */
static void
html_text(struct html_out *o, const struct html_ansi_state *st,
    const char *s, size_t len)
{
	html_sync(o, st);
	html_add(o, s, len);
}

/* Write U+FFFD, the replacement character. */
static void
html_replacement(struct html_out *o, const struct html_ansi_state *st)
{
	html_text(o, st, "\xef\xbf\xbd", 3);
}

/* Return the lowest valid second byte of a UTF-8 sequence led by lead. */
static u_char
html_utf8_min(u_char lead)
{
	if (lead == 0xe0)
		return (0xa0);
	if (lead == 0xf0)
		return (0x90);
	return (0x80);
}

/* Return the highest valid second byte of a UTF-8 sequence led by lead. */
static u_char
html_utf8_max(u_char lead)
{
	if (lead == 0xed)
		return (0x9f);
	if (lead == 0xf4)
		return (0x8f);
	return (0xbf);
}

/* Return the length of a UTF-8 sequence led by lead, or 0 if invalid. */
static int
html_utf8_len(u_char lead)
{
	if (lead >= 0xc2 && lead <= 0xdf)
		return (2);
	if (lead >= 0xe0 && lead <= 0xef)
		return (3);
	if (lead >= 0xf0 && lead <= 0xf4)
		return (4);
	return (0);
}

/* Write one ASCII byte of text, escaped. */
static void
html_ascii(struct html_out *o, struct html_ansi_state *st, u_char c)
{
	char	 pic[3];

	switch (c) {
	case '&':
		html_text(o, st, "&amp;", 5);
		break;
	case '<':
		html_text(o, st, "&lt;", 4);
		break;
	case '>':
		html_text(o, st, "&gt;", 4);
		break;
	case '"':
		html_text(o, st, "&quot;", 6);
		break;
	case '\'':
		html_text(o, st, "&#39;", 5);
		break;
	case '\n':
		if (!st->cr)
			html_text(o, st, "\n", 1);
		break;
	case '\r':
		html_text(o, st, "\n", 1);
		st->cr = 1;
		return;
	case '\t':
		html_text(o, st, "\t", 1);
		break;
	default:
		if (c >= 0x20 && c < 0x7f) {
			html_text(o, st, (const char *)&c, 1);
			break;
		}
		/* U+2400 + c, or U+2421 for DEL, in UTF-8. */
		pic[0] = (char)0xe2;
		pic[1] = (char)0x90;
		pic[2] = (char)(c == 0x7f ? 0xa1 : 0x80 + c);
		html_text(o, st, pic, 3);
		break;
	}
	st->cr = 0;
}

/* Read one byte of text: ASCII, or part of a UTF-8 character. */
static void
html_byte(struct html_out *o, struct html_ansi_state *st, u_char c)
{
	u_char	 lead;
	int	 need;

	if (st->ulen != 0) {
		lead = st->ubuf[0];
		if (st->ulen == 1 ? (c >= html_utf8_min(lead) &&
		    c <= html_utf8_max(lead)) : (c >= 0x80 && c <= 0xbf)) {
			st->ubuf[st->ulen++] = c;
			if (st->ulen < html_utf8_len(lead))
				return;
			/* C1 controls are valid UTF-8 but not text. */
			if (lead == 0xc2 && st->ubuf[1] < 0xa0)
				html_replacement(o, st);
			else
				html_text(o, st, (const char *)st->ubuf,
				    st->ulen);
			st->ulen = 0;
			return;
		}
		/* A maximal invalid subpart: one U+FFFD, then c afresh. */
		html_replacement(o, st);
		st->ulen = 0;
	}

	if (c < 0x80) {
		html_ascii(o, st, c);
		return;
	}
	st->cr = 0;
	need = html_utf8_len(c);
	if (need == 0) {
		html_replacement(o, st);
		return;
	}
	st->ubuf[0] = c;
	st->ulen = 1;
}

/* Return the RGB distance of colour i of the palette from r, g, b. */
static int
html_distance(int i, int r, int g, int b)
{
	int	 dr, dg, db;

	dr = r - html_palette[i][0];
	dg = g - html_palette[i][1];
	db = b - html_palette[i][2];
	return (dr * dr + dg * dg + db * db);
}

/* Return the nearest of the 16 colours to r, g, b, or -1 if invalid. */
static int
html_nearest(int r, int g, int b)
{
	int	 i, best = 0, d, bestd;

	if (r < 0 || r > 255 || g < 0 || g > 255 || b < 0 || b > 255)
		return (-1);
	bestd = html_distance(0, r, g, b);
	for (i = 1; i < 16; i++) {
		d = html_distance(i, r, g, b);
		if (d < bestd) {
			bestd = d;
			best = i;
		}
	}
	return (best);
}

/* Return the colour 0-15 for a 256-colour index, or -1 if invalid. */
static int
html_index(int idx)
{
	static const int	 level[6] = { 0, 95, 135, 175, 215, 255 };
	int			 gray;

	if (idx < 0 || idx > 255)
		return (-1);
	if (idx < 16)
		return (idx);
	if (idx < 232) {
		idx -= 16;
		return (html_nearest(level[idx / 36], level[idx / 6 % 6],
		    level[idx % 6]));
	}
	gray = 8 + 10 * (idx - 232);
	return (html_nearest(gray, gray, gray));
}

/* Value of an SGR parameter, an empty one counting as 0. */
static int
html_sgr_value(const struct html_sgr *p, int i)
{
	if (i >= p->n || p->v[i] < 0)
		return (0);
	return (p->v[i]);
}

/*
 * Read an extended colour (38 or 48) at parameter *i: 38;5;N, 38;2;R;G;B or
 * their colon forms 38:5:N, 38:2:R:G:B and 38:2:ID:R:G:B. Return the colour
 * 0-15, -1 to ignore it and -2 if the rest of the sequence is unreadable.
 */
static int
html_sgr_colour(const struct html_sgr *p, int np, int *i)
{
	const struct html_sgr	*x = &p[*i];
	int			 mode, base;

	if (x->n > 1) {
		mode = html_sgr_value(x, 1);
		if (mode == 5 && x->n >= 3)
			return (html_index(html_sgr_value(x, 2)));
		if (mode == 2 && x->n >= 5) {
			base = x->n >= 6 ? 3 : 2;
			return (html_nearest(html_sgr_value(x, base),
			    html_sgr_value(x, base + 1),
			    html_sgr_value(x, base + 2)));
		}
		return (-1);
	}
	if (*i + 1 >= np)
		return (-2);
	mode = html_sgr_value(&p[*i + 1], 0);
	if (mode == 5 && *i + 2 < np) {
		*i += 2;
		return (html_index(html_sgr_value(&p[*i], 0)));
	}
	if (mode == 2 && *i + 4 < np) {
		*i += 4;
		return (html_nearest(html_sgr_value(&p[*i - 2], 0),
		    html_sgr_value(&p[*i - 1], 0), html_sgr_value(&p[*i], 0)));
	}
	return (-2);
}

/* Apply the SGR sequence whose parameters are saved in st. */
static void
html_sgr(struct html_ansi_state *st)
{
	struct html_sgr	 p[HTML_ANSI_SEQ_MAX + 1];
	int		 np = 0, i, code, colour;
	u_char		 c;

	/* Split "1;38:5:2" into parameters and their sub-parameters. */
	memset(p, 0, sizeof p);
	p[0].v[0] = -1;
	p[0].n = 1;
	np = 1;
	for (i = 0; i < st->plen; i++) {
		c = st->params[i];
		if (c == ';') {
			p[np].v[0] = -1;
			p[np].n = 1;
			np++;
		} else if (c == ':') {
			if (p[np - 1].n < HTML_SGR_SUB)
				p[np - 1].v[p[np - 1].n++] = -1;
		} else {
			code = p[np - 1].v[p[np - 1].n - 1];
			if (code < 0)
				code = 0;
			if (code < 10000)
				code = code * 10 + (c - '0');
			p[np - 1].v[p[np - 1].n - 1] = code;
		}
	}

	for (i = 0; i < np; i++) {
		code = html_sgr_value(&p[i], 0);
		switch (code) {
		case 0:
			st->fg = st->bg = st->attr = 0;
			break;
		case 1:
			st->attr |= HTML_BOLD;
			break;
		case 2:
			st->attr |= HTML_DIM;
			break;
		case 3:
			st->attr |= HTML_ITALIC;
			break;
		case 4:
			/* 4:0 is "no underline"; 4:1 to 4:5 are styles. */
			if (p[i].n > 1 && html_sgr_value(&p[i], 1) == 0)
				st->attr &= ~HTML_UNDERLINE;
			else
				st->attr |= HTML_UNDERLINE;
			break;
		case 22:
			st->attr &= ~(HTML_BOLD | HTML_DIM);
			break;
		case 23:
			st->attr &= ~HTML_ITALIC;
			break;
		case 24:
			st->attr &= ~HTML_UNDERLINE;
			break;
		case 38:
		case 48:
			colour = html_sgr_colour(p, np, &i);
			if (colour == -2)
				return;
			if (colour >= 0 && code == 38)
				st->fg = colour + 1;
			else if (colour >= 0)
				st->bg = colour + 1;
			break;
		case 39:
			st->fg = 0;
			break;
		case 49:
			st->bg = 0;
			break;
		default:
			if (code >= 30 && code <= 37)
				st->fg = code - 30 + 1;
			else if (code >= 40 && code <= 47)
				st->bg = code - 40 + 1;
			else if (code >= 90 && code <= 97)
				st->fg = code - 90 + 8 + 1;
			else if (code >= 100 && code <= 107)
				st->bg = code - 100 + 8 + 1;
			/* Others (blink, reverse, fonts...) are ignored. */
			break;
		}
	}
}

/* Return 1 if the saved CSI is an SGR we can read: only digits, ; and :. */
static int
html_csi_is_sgr(const struct html_ansi_state *st)
{
	int	 i;

	if (st->pover)
		return (0);
	for (i = 0; i < st->plen; i++) {
		if (st->params[i] != ';' && st->params[i] != ':' &&
		    (st->params[i] < '0' || st->params[i] > '9'))
			return (0);
	}
	return (1);
}

/* Feed one byte of task output to the escape parser or as text. */
static void
html_ansi_byte(struct html_out *o, struct html_ansi_state *st, u_char c)
{
	if (st->esc != HTML_GROUND)
		st->cr = 0;
	switch (st->esc) {
	case HTML_GROUND:
		if (c == HTML_ESCAPE) {
			if (st->ulen != 0) {
				html_replacement(o, st);
				st->ulen = 0;
			}
			st->cr = 0;
			st->esc = HTML_ESC;
			return;
		}
		html_byte(o, st, c);
		return;
	case HTML_ESC:
		if (c == HTML_ESCAPE)
			return;
		if (c == '[') {
			st->esc = HTML_CSI;
			st->plen = 0;
			st->pover = 0;
		} else if (c == ']' || c == 'P' || c == 'X' || c == '^' ||
		    c == '_')
			st->esc = HTML_STR;
		else if (c >= 0x20 && c <= 0x2f)
			st->esc = HTML_INTER;
		else if (c >= 0x30 && c <= 0x7e)
			st->esc = HTML_GROUND;
		else
			break;
		return;
	case HTML_INTER:
		if (c >= 0x20 && c <= 0x2f)
			return;
		if (c >= 0x30 && c <= 0x7e) {
			st->esc = HTML_GROUND;
			return;
		}
		break;
	case HTML_CSI:
		if (c >= 0x20 && c <= 0x3f) {
			if (st->plen < sizeof st->params)
				st->params[st->plen++] = c;
			else
				st->pover = 1;
			return;
		}
		if (c >= 0x40 && c <= 0x7e) {
			if (c == 'm' && html_csi_is_sgr(st))
				html_sgr(st);
			st->esc = HTML_GROUND;
			return;
		}
		break;
	case HTML_STR:
		if (c == 0x07) {
			st->esc = HTML_GROUND;
			return;
		}
		if (c != '\n' && c != HTML_ESCAPE && c != HTML_CAN &&
		    c != HTML_SUB)
			return;
		break;
	}

	/* An unexpected byte: ESC restarts, CAN and SUB cancel. */
	st->esc = HTML_GROUND;
	if (c == HTML_ESCAPE)
		st->esc = HTML_ESC;
	else if (c != HTML_CAN && c != HTML_SUB)
		html_byte(o, st, c);
}

/* Start an output buffer for about len bytes of input. */
static void
html_out_init(struct html_out *o, size_t len)
{
	memset(o, 0, sizeof *o);
	o->size = len < 64 ? 128 : (len < SIZE_MAX / 2 ? len * 2 : len);
	o->s = xmalloc(o->size);
}

/* Close the open span, terminate and return the output. */
static char *
html_out_finish(struct html_out *o)
{
	if (o->open)
		html_add_str(o, "</span>");
	html_add(o, "", 1);
	return (o->s);
}

/*
 * Return len bytes of s as HTML text, escaped as described above (an ESC
 * included: this function knows no escape sequences). The result is a new
 * NUL-terminated string that the caller frees; never NULL.
 */
char *
html_escape(const char *s, size_t len)
{
	struct html_ansi_state	 st;
	struct html_out		 o;
	size_t			 i;

	memset(&st, 0, sizeof st);
	html_out_init(&o, len);
	for (i = 0; i < len; i++)
		html_byte(&o, &st, s[i]);
	if (st.ulen != 0)
		html_replacement(&o, &st);
	return (html_out_finish(&o));
}

/*
 * Return one chunk of task output as HTML text with SGR styles as
 * <span class="..."> elements, balanced within the result. st carries the
 * style, a split escape sequence or UTF-8 character and a pending \r from
 * chunk to chunk: zero it before the first chunk. A NULL data ends the
 * output: what is pending is written (an incomplete character as U+FFFD, a
 * sequence dropped) and st is zeroed for reuse. The result is a new
 * NUL-terminated string that the caller frees; never NULL.
 */
char *
html_ansi(const void *data, size_t len, struct html_ansi_state *st)
{
	const u_char	*p = data;
	struct html_out	 o;
	size_t		 i;

	if (data == NULL) {
		html_out_init(&o, 0);
		if (st->ulen != 0)
			html_replacement(&o, st);
		memset(st, 0, sizeof *st);
		return (html_out_finish(&o));
	}
	html_out_init(&o, len);
	for (i = 0; i < len; i++)
		html_ansi_byte(&o, st, p[i]);
	return (html_out_finish(&o));
}
