/* Protocol names, the newline-delimited JSON frame codec, params as text. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml.h"
#include "proto.h"

static const char *status_names[RUN_NSTATUS] = {
	[RUN_QUEUED] = "queued",
	[RUN_RUNNING] = "running",
	[RUN_SUCCEEDED] = "succeeded",
	[RUN_FAILED] = "failed",
	[RUN_TIMED_OUT] = "timed_out",
	[RUN_CANCELLED] = "cancelled",
	[RUN_SKIPPED] = "skipped",
	[RUN_LOST] = "lost",
	[RUN_SCHEDULED] = "scheduled",
};

static const char *trigger_names[TRIGGER_N] = {
	[TRIGGER_CLI] = "cli",
	[TRIGGER_WEB] = "web",
	[TRIGGER_API] = "api",
	[TRIGGER_WEBHOOK] = "webhook",
	[TRIGGER_SCHEDULE] = "schedule",
	[TRIGGER_RETRY] = "retry",
	[TRIGGER_CHAIN] = "chain",
	[TRIGGER_NOTIFY] = "notify",
};

/* Look a name up in a table of n names. */
static int
proto_lookup(const char **names, int n, const char *name)
{
	int	 i;

	for (i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return (i);
	}
	return (-1);
}

/* Name of a run status. */
const char *
proto_status_name(enum run_status st)
{
	if ((u_int)st >= RUN_NSTATUS)
		return ("unknown");
	return (status_names[st]);
}

/* Run status of a name, or -1. */
int
proto_status_from(const char *name)
{
	return (proto_lookup(status_names, RUN_NSTATUS, name));
}

/* The status of a run object, or -1 if it has none or an unknown one. */
int
proto_run_status(json_t *run)
{
	const char	*name;

	name = json_string_value(json_object_get(run, K_STATUS));
	return (name != NULL ? proto_status_from(name) : -1);
}

/* Whether a status is final: the run will not change again. */
int
proto_status_final(enum run_status st)
{
	return (st != RUN_QUEUED && st != RUN_RUNNING && st != RUN_SCHEDULED);
}

/* Name of a trigger. */
const char *
proto_trigger_name(enum run_trigger tr)
{
	if ((u_int)tr >= TRIGGER_N)
		return ("unknown");
	return (trigger_names[tr]);
}

/* Trigger of a name, or -1. */
int
proto_trigger_from(const char *name)
{
	return (proto_lookup(trigger_names, TRIGGER_N, name));
}

/* Name of an output stream. */
const char *
proto_stream_name(enum run_stream st)
{
	return (st == STREAM_STDERR ? "stderr" : "stdout");
}

/* Stream of a name, or -1. */
int
proto_stream_from(const char *name)
{
	if (strcmp(name, "stdout") == 0)
		return (STREAM_STDOUT);
	if (strcmp(name, "stderr") == 0)
		return (STREAM_STDERR);
	return (-1);
}

/*
 * A JSON string of s, with every byte that is not part of valid UTF-8
 * replaced by U+FFFD: file names and error texts come from outside and
 * json_string() would refuse them.
 */
json_t *
json_string_lossy(const char *s)
{
	size_t	 len = strlen(s), i, n;
	char	*buf, *p;
	json_t	*v;

	if (utf8_valid(s, len))
		return (json_string(s));
	buf = p = xmalloc(len * 3 + 1);
	for (i = 0; i < len; i += n) {
		for (n = 4; n > 0; n--) {
			if (i + n <= len && utf8_valid(s + i, n))
				break;
		}
		if (n == 0) {
			memcpy(p, "\xef\xbf\xbd", 3);
			p += 3;
			n = 1;
		} else {
			memcpy(p, s + i, n);
			p += n;
		}
	}
	*p = '\0';
	v = json_string(buf);
	free(buf);
	return (v);
}

/*
 * Parameters (an object of NAME: VALUE) as NAME=VALUE words joined by
 * blanks, in their order; a value that is not a string reads "?". With
 * quote, as a @schedule line writes them: a value that is empty or holds
 * a blank, a double quote or a backslash is in double quotes, with \" and
 * \\ inside. NULL or no parameters: "".
 */
char *
proto_params_words(json_t *params, int quote)
{
	const char	*key, *v;
	json_t		*value;
	char		*s, *o;
	size_t		 len = 1;
	int		 quoted;

	json_object_foreach(params, key, value) {
		v = json_is_string(value) ? json_string_value(value) : "?";
		len += strlen(key) + 2 * strlen(v) + 4;
	}
	s = o = xmalloc(len);
	json_object_foreach(params, key, value) {
		v = json_is_string(value) ? json_string_value(value) : "?";
		if (o != s)
			*o++ = ' ';
		o = stpcpy(o, key);
		*o++ = '=';
		quoted = quote && (*v == '\0' || strpbrk(v, " \t\"\\") != NULL);
		if (quoted)
			*o++ = '"';
		for (; *v != '\0'; v++) {
			if (quoted && (*v == '"' || *v == '\\'))
				*o++ = '\\';
			*o++ = *v;
		}
		if (quoted)
			*o++ = '"';
	}
	*o = '\0';
	return (s);
}

/* Encode a message as one line; returns an allocated buffer of *len bytes. */
char *
proto_encode(json_t *msg, size_t *len)
{
	char	*s, *line;
	size_t	 n;

	s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s == NULL)
		fatalx("proto_encode: cannot encode message");
	n = strlen(s);
	line = xmalloc(n + 2);
	memcpy(line, s, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	free(s);
	*len = n + 1;
	return (line);
}

/*
 * Decode one frame (without its newline) into a JSON object. NUL is allowed
 * inside strings so that a parameter holding one gets a precise error later
 * rather than "malformed request"; duplicate keys are refused.
 */
json_t *
proto_decode(const char *line, size_t len, char **cause)
{
	json_t		*msg;
	json_error_t	 err;

	msg = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    &err);
	if (msg == NULL) {
		xasprintf(cause, "malformed JSON at column %d: %s", err.column,
		    err.text);
		return (NULL);
	}
	if (!json_is_object(msg)) {
		json_decref(msg);
		xasprintf(cause, "a message must be a JSON object");
		return (NULL);
	}
	return (msg);
}

/* A successful reply: {"ok":true}. */
json_t *
proto_ok(void)
{
	return (json_pack("{s:b}", K_OK, 1));
}

/* An error reply with a code and a formatted message. */
json_t *
proto_error(const char *code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	json_t	*reply;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (!utf8_valid(msg, strlen(msg))) {
		free(msg);
		msg = xstrdup("(message is not valid UTF-8)");
	}
	reply = json_pack("{s:b,s:{s:s,s:s}}", K_OK, 0, K_ERROR, K_CODE, code,
	    K_MESSAGE, msg);
	free(msg);
	return (reply);
}

/* An output event carrying one chunk, base64-encoded. */
json_t *
proto_output_event(enum run_stream stream, int64_t seq, int64_t time_ms,
    const void *data, size_t len)
{
	char	 tbuf[TIME_RFC3339_LEN], *b64;
	size_t	 b64len;
	json_t	*ev;

	time_rfc3339(time_ms, tbuf, sizeof tbuf);
	b64 = base64_encode(data, len, &b64len);
	ev = json_pack("{s:s,s:s,s:I,s:s,s:s%}", K_EVENT, EV_OUTPUT, K_STREAM,
	    proto_stream_name(stream), K_SEQ, (json_int_t)seq, K_TIME, tbuf,
	    K_DATA, b64, b64len);
	free(b64);
	return (ev);
}

/*
 * The line of a raw output event (see K_RAW): as proto_output_event, with
 * the chunk's size in place of its bytes, which follow the line.
 */
json_t *
proto_output_head(enum run_stream stream, int64_t seq, int64_t time_ms,
    size_t len)
{
	char	 tbuf[TIME_RFC3339_LEN];

	time_rfc3339(time_ms, tbuf, sizeof tbuf);
	return (json_pack("{s:s,s:s,s:I,s:s,s:I}", K_EVENT, EV_OUTPUT,
	    K_STREAM, proto_stream_name(stream), K_SEQ, (json_int_t)seq,
	    K_TIME, tbuf, K_SIZE, (json_int_t)len));
}

/* Set up a frame reader accepting frames up to max bytes. */
void
frame_reader_init(struct frame_reader *fr, size_t max)
{
	memset(fr, 0, sizeof *fr);
	fr->max = max;
}

/* Release a frame reader's buffer. */
void
frame_reader_free(struct frame_reader *fr)
{
	free(fr->buf);
	fr->buf = NULL;
	fr->off = fr->len = fr->size = 0;
}

/*
 * Room for at least want more bytes after those held, to read into; the
 * bytes not taken yet move to the front of the buffer first (few, as a
 * rule: the reader is filled once what it held was taken).
 */
void *
frame_reader_space(struct frame_reader *fr, size_t want)
{
	size_t	 size;

	if (fr->off + fr->len + want <= fr->size)
		return (fr->buf + fr->off + fr->len);
	if (fr->off > 0) {
		memmove(fr->buf, fr->buf + fr->off, fr->len);
		fr->off = 0;
	}
	if (fr->len + want > fr->size) {
		size = fr->size == 0 ? 4096 : fr->size;
		while (size < fr->len + want)
			size *= 2;
		fr->buf = xreallocarray(fr->buf, 1, size);
		fr->size = size;
	}
	return (fr->buf + fr->len);
}

/* len bytes were read into frame_reader_space's room. */
void
frame_reader_fill(struct frame_reader *fr, size_t len)
{
	fr->len += len;
}

/* Append received bytes. */
int
frame_reader_feed(struct frame_reader *fr, const void *data, size_t len)
{
	if (len == 0)
		return (0);
	memcpy(frame_reader_space(fr, len), data, len);
	frame_reader_fill(fr, len);
	return (0);
}

/* Drop the first n bytes held. */
static void
frame_reader_drop(struct frame_reader *fr, size_t n)
{
	fr->off += n;
	fr->len -= n;
	if (fr->len == 0)
		fr->off = 0;
}

/*
 * Take up to max of the bytes held as they are (the raw bytes after a
 * frame): *data points at them until the reader is next fed or asked
 * for room.
 * Returns how many were taken.
 */
size_t
frame_reader_take(struct frame_reader *fr, const void **data, size_t max)
{
	size_t	 n = fr->len < max ? fr->len : max;

	*data = fr->buf + fr->off;
	frame_reader_drop(fr, n);
	return (n);
}

/*
 * Take the next complete line (without its newline, NUL-terminated, in an
 * allocated buffer): 1 when one was taken, 0 when more bytes are needed,
 * -1 with *cause when a line is longer than the limit (the bytes so far
 * are dropped).
 */
int
frame_reader_line(struct frame_reader *fr, char **line, size_t *len,
    char **cause)
{
	char	*start, *nl;
	size_t	 n;

	*line = NULL;
	for (;;) {
		start = fr->buf + fr->off;
		nl = fr->len == 0 ? NULL : memchr(start, '\n', fr->len);
		if (nl == NULL) {
			if (fr->skipping)
				frame_reader_drop(fr, fr->len);
			else if (fr->len > fr->max) {
				/* Refuse it now and skip to its end. */
				xasprintf(cause, "frame longer than %zu bytes",
				    fr->max);
				frame_reader_drop(fr, fr->len);
				fr->skipping = 1;
				return (-1);
			}
			return (0);
		}
		if (!fr->skipping)
			break;
		fr->skipping = 0;
		frame_reader_drop(fr, nl + 1 - start);
	}
	n = nl - start;
	if (n + 1 > fr->max) {
		xasprintf(cause, "frame longer than %zu bytes", fr->max);
		frame_reader_drop(fr, n + 1);
		return (-1);
	}
	*line = xmalloc(n + 1);
	memcpy(*line, start, n);
	(*line)[n] = '\0';
	*len = n;
	frame_reader_drop(fr, n + 1);
	return (1);
}

/*
 * Take the next complete frame: 1 and *msg set when one was decoded, 0 when
 * more bytes are needed, -1 with *cause on a malformed or oversized frame
 * (the bad frame is consumed, so a caller may carry on).
 */
int
frame_reader_next(struct frame_reader *fr, json_t **msg, char **cause)
{
	char	*line;
	size_t	 len;
	int	 rc;

	*msg = NULL;
	if ((rc = frame_reader_line(fr, &line, &len, cause)) != 1)
		return (rc);
	*msg = proto_decode(line, len, cause);
	free(line);
	return (*msg == NULL ? -1 : 1);
}
