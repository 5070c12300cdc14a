/* Unit tests: protocol, frames, base64, UTF-8 (proto.c, base64.c, utf8.c). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ml.h"
#include "proto.h"

/* Decode a NUL-terminated frame, failing the test if it is refused. */
static json_t *
decode_ok(const char *s)
{
	json_t	*msg;
	char	*cause = NULL;

	msg = proto_decode(s, strlen(s), &cause);
	if (msg == NULL)
		fail_msg("proto_decode(%s) failed: %s", s,
		    cause != NULL ? cause : "(no message)");
	assert_null(cause);
	return (msg);
}

/* Check that a frame of len bytes is refused with a message naming needle. */
static void
decode_bad(const char *s, size_t len, const char *needle)
{
	json_t	*msg;
	char	*cause = NULL;

	msg = proto_decode(s, len, &cause);
	if (msg != NULL) {
		json_decref(msg);
		fail_msg("proto_decode(%.*s) accepted", (int)len, s);
	}
	if (cause == NULL || *cause == '\0')
		fail_msg("proto_decode(%.*s) gave no message", (int)len, s);
	if (needle != NULL && strstr(cause, needle) == NULL)
		fail_msg("proto_decode(%.*s): \"%s\" does not mention \"%s\"",
		    (int)len, s, cause, needle);
	free(cause);
}

/* An encoded message is one line: a single newline, at the end. */
static void
test_encode_one_line(void **state)
{
	json_t	*msg, *back;
	char	*line, *cause = NULL;
	size_t	 len;

	msg = json_pack("{s:s,s:s,s:s,s:s%,s:i}", "cmd", "run",
	    "text", "line one\nline two\r\n\n",
	    "utf8", "caf\xc3\xa9 \xe2\x82\xac",
	    "nul", "a\0b\nc", (size_t)5, "n", 42);
	assert_non_null(msg);
	line = proto_encode(msg, &len);
	assert_non_null(line);
	assert_true(len > 1);
	assert_int_equal(strlen(line), len);
	assert_int_equal(line[len - 1], '\n');
	assert_ptr_equal(memchr(line, '\n', len), line + len - 1);
	assert_null(memchr(line, '\r', len));

	/* Without its newline the frame decodes to the same message. */
	back = proto_decode(line, len - 1, &cause);
	assert_non_null(back);
	assert_true(json_equal(msg, back));

	json_decref(back);
	json_decref(msg);
	free(line);
}

/* An object frame decodes; the length is honoured, not a NUL. */
static void
test_decode_object(void **state)
{
	json_t		*msg;
	const char	*buf = "{\"cmd\":\"ping\"}trailing garbage";
	char		*cause = NULL;

	msg = decode_ok("{\"cmd\":\"ping\"}");
	assert_string_equal(json_string_value(json_object_get(msg, K_CMD)),
	    CMD_PING);
	json_decref(msg);

	msg = decode_ok("  {\"cmd\" : \"run\", \"task\": \"x\", "
	    "\"params\": {\"a\": \"1\"}}  ");
	assert_string_equal(json_string_value(json_object_get(msg, K_TASK)),
	    "x");
	assert_true(json_is_object(json_object_get(msg, K_PARAMS)));
	json_decref(msg);

	msg = decode_ok("{}");
	assert_int_equal(json_object_size(msg), 0);
	json_decref(msg);

	msg = proto_decode(buf, strlen("{\"cmd\":\"ping\"}"), &cause);
	assert_non_null(msg);
	assert_null(cause);
	json_decref(msg);
}

/* Arrays and scalars are valid JSON but not messages. */
static void
test_decode_not_object(void **state)
{
	decode_bad("[1,2]", 5, "object");
	decode_bad("[]", 2, "object");
	decode_bad("[{\"cmd\":\"ping\"}]", 16, "object");
	decode_bad("42", 2, NULL);
	decode_bad("\"ping\"", 6, NULL);
	decode_bad("null", 4, NULL);
	decode_bad("true", 4, NULL);
}

/* Malformed JSON is refused with a message. */
static void
test_decode_malformed(void **state)
{
	static const char	*bad[] = { "", " ", "{", "}", "{\"a\":}",
	    "{'a':1}", "{a:1}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\":1}{}",
	    "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"x\ny\"}",
	    "{\"a\":tru}", "ping", "{\"a\":\"\\ud800\"}" };
	u_int			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		decode_bad(bad[i], strlen(bad[i]), NULL);
	decode_bad("{\"a\":1", 6, "JSON");
	/* A raw NUL byte outside a string is not JSON either. */
	decode_bad("{\"a\":1}\0", 8, NULL);
}

/* Duplicate keys are refused: which one wins would be a guess. */
static void
test_decode_duplicate(void **state)
{
	decode_bad("{\"cmd\":\"ping\",\"cmd\":\"reload\"}", 29, "duplicate");
	decode_bad("{\"p\":{\"a\":1,\"a\":2}}", 19, "duplicate");
}

/* \u0000 is accepted inside a string and kept. */
static void
test_decode_nul(void **state)
{
	json_t	*msg, *v;

	msg = decode_ok("{\"params\":{\"p\":\"a\\u0000b\"}}");
	v = json_object_get(json_object_get(msg, K_PARAMS), "p");
	assert_true(json_is_string(v));
	assert_int_equal(json_string_length(v), 3);
	assert_memory_equal(json_string_value(v), "a\0b", 3);
	json_decref(msg);
}

/* proto_ok is exactly {"ok":true}. */
static void
test_ok_shape(void **state)
{
	json_t	*ok;

	ok = proto_ok();
	assert_non_null(ok);
	assert_int_equal(json_object_size(ok), 1);
	assert_true(json_is_true(json_object_get(ok, K_OK)));
	json_decref(ok);
}

/* An error reply is {"ok":false,"error":{"code":...,"message":...}}. */
static void
test_error_shape(void **state)
{
	json_t	*reply, *error, *want;
	char	*line, *cause = NULL;
	size_t	 len;

	reply = proto_error(E_UNKNOWN_TASK, "no task '%s' (%d)", "backup", 7);
	assert_non_null(reply);
	assert_int_equal(json_object_size(reply), 2);
	assert_true(json_is_false(json_object_get(reply, K_OK)));
	error = json_object_get(reply, K_ERROR);
	assert_true(json_is_object(error));
	assert_int_equal(json_object_size(error), 2);
	assert_string_equal(json_string_value(json_object_get(error, K_CODE)),
	    "unknown-task");
	assert_string_equal(json_string_value(json_object_get(error,
	    K_MESSAGE)), "no task 'backup' (7)");

	/* On the wire too. */
	line = proto_encode(reply, &len);
	json_decref(reply);
	reply = proto_decode(line, len - 1, &cause);
	assert_non_null(reply);
	want = json_loads("{\"ok\":false,\"error\":{\"code\":\"unknown-task\","
	    "\"message\":\"no task 'backup' (7)\"}}", 0, NULL);
	assert_non_null(want);
	assert_true(json_equal(reply, want));
	json_decref(want);
	json_decref(reply);
	free(line);
}

/* An error message that is not UTF-8 still gives a well-formed reply. */
static void
test_error_bad_utf8(void **state)
{
	json_t		*reply, *error;
	const char	*msg;

	reply = proto_error(E_BAD_PARAMS, "bad value '%s'", "\xff\xfe");
	assert_non_null(reply);
	assert_true(json_is_false(json_object_get(reply, K_OK)));
	error = json_object_get(reply, K_ERROR);
	assert_string_equal(json_string_value(json_object_get(error, K_CODE)),
	    "bad-params");
	msg = json_string_value(json_object_get(error, K_MESSAGE));
	assert_non_null(msg);
	assert_true(*msg != '\0');
	assert_true(utf8_valid(msg, strlen(msg)));
	json_decref(reply);
}

/* Check an output event's fields and that its data is the given bytes. */
static void
check_output_event(json_t *ev, const char *stream, int64_t seq,
    const char *time, const void *data, size_t len)
{
	const char	*b64;
	void		*raw;
	size_t		 rawlen;

	assert_non_null(ev);
	assert_string_equal(json_string_value(json_object_get(ev, K_EVENT)),
	    EV_OUTPUT);
	assert_string_equal(json_string_value(json_object_get(ev, K_STREAM)),
	    stream);
	assert_true(json_is_integer(json_object_get(ev, K_SEQ)));
	assert_int_equal(json_integer_value(json_object_get(ev, K_SEQ)), seq);
	assert_string_equal(json_string_value(json_object_get(ev, K_TIME)),
	    time);
	b64 = json_string_value(json_object_get(ev, K_DATA));
	assert_non_null(b64);
	assert_int_equal(base64_decode(b64, strlen(b64), &raw, &rawlen), 0);
	assert_int_equal(rawlen, len);
	if (len > 0)
		assert_memory_equal(raw, data, len);
	free(raw);
}

/* Output events carry binary output byte for byte, through the wire. */
static void
test_output_event(void **state)
{
	u_char	 data[600];
	json_t	*ev, *back;
	char	*line, *cause = NULL;
	size_t	 len, i;

	for (i = 0; i < sizeof data; i++)
		data[i] = (u_char)(i * 7 + (i >> 8));
	data[0] = '\0';
	data[1] = '\n';
	data[2] = 0xff;

	ev = proto_output_event(STREAM_STDERR, 42, INT64_C(1795341600123),
	    data, sizeof data);
	check_output_event(ev, "stderr", 42, "2026-11-22T10:00:00.123Z", data,
	    sizeof data);

	line = proto_encode(ev, &len);
	assert_ptr_equal(memchr(line, '\n', len), line + len - 1);
	back = proto_decode(line, len - 1, &cause);
	check_output_event(back, "stderr", 42, "2026-11-22T10:00:00.123Z",
	    data, sizeof data);
	json_decref(back);
	json_decref(ev);
	free(line);

	ev = proto_output_event(STREAM_STDOUT, INT64_C(5000000000), 0,
	    "hello\n", 6);
	check_output_event(ev, "stdout", INT64_C(5000000000),
	    "1970-01-01T00:00:00.000Z", "hello\n", 6);
	assert_string_equal(json_string_value(json_object_get(ev, K_DATA)),
	    "aGVsbG8K");
	json_decref(ev);

	ev = proto_output_event(STREAM_STDOUT, 1, 1000, "", 0);
	check_output_event(ev, "stdout", 1, "1970-01-01T00:00:01.000Z", "", 0);
	assert_string_equal(json_string_value(json_object_get(ev, K_DATA)),
	    "");
	json_decref(ev);
}

/* Run statuses by name and back; unknown names give -1. */
static void
test_status_names(void **state)
{
	static const char	*names[RUN_NSTATUS] = { "queued", "running",
	    "succeeded", "failed", "timed_out", "cancelled", "skipped",
	    "lost", "scheduled" };
	static const char	*unknown[] = { "", "unknown", "QUEUED",
	    "Queued", "timed-out", "timedout", "queued ", "success" };
	int			 i;

	for (i = 0; i < RUN_NSTATUS; i++) {
		assert_string_equal(proto_status_name(i), names[i]);
		assert_int_equal(proto_status_from(names[i]), i);
	}
	assert_int_equal(proto_status_from("timed_out"), RUN_TIMED_OUT);
	assert_int_equal(proto_status_from("lost"), RUN_LOST);
	assert_int_equal(proto_status_from("scheduled"), RUN_SCHEDULED);
	assert_false(proto_status_final(RUN_SCHEDULED));
	assert_false(proto_status_final(RUN_QUEUED));
	assert_true(proto_status_final(RUN_CANCELLED));
	for (i = 0; i < (int)(sizeof unknown / sizeof unknown[0]); i++)
		assert_int_equal(proto_status_from(unknown[i]), -1);
	assert_string_equal(proto_status_name(RUN_NSTATUS), "unknown");
	assert_string_equal(proto_status_name((enum run_status)-1), "unknown");
}

/* Triggers by name and back (SPEC section 2's list); unknown names give -1. */
static void
test_trigger_names(void **state)
{
	static const char	*names[TRIGGER_N] = { "cli", "web", "api",
	    "webhook", "schedule", "retry", "chain", "notify" };
	static const char	*unknown[] = { "", "unknown", "CLI", "hook",
	    "cron", "web " };
	int			 i;

	for (i = 0; i < TRIGGER_N; i++) {
		assert_string_equal(proto_trigger_name(i), names[i]);
		assert_int_equal(proto_trigger_from(names[i]), i);
	}
	assert_int_equal(proto_trigger_from("webhook"), TRIGGER_WEBHOOK);
	for (i = 0; i < (int)(sizeof unknown / sizeof unknown[0]); i++)
		assert_int_equal(proto_trigger_from(unknown[i]), -1);
	assert_string_equal(proto_trigger_name(TRIGGER_N), "unknown");
}

/* Output streams by name and back; unknown names give -1. */
static void
test_stream_names(void **state)
{
	assert_string_equal(proto_stream_name(STREAM_STDOUT), "stdout");
	assert_string_equal(proto_stream_name(STREAM_STDERR), "stderr");
	assert_int_equal(proto_stream_from("stdout"), STREAM_STDOUT);
	assert_int_equal(proto_stream_from("stderr"), STREAM_STDERR);
	assert_int_equal(proto_stream_from("stdin"), -1);
	assert_int_equal(proto_stream_from(""), -1);
	assert_int_equal(proto_stream_from("STDOUT"), -1);
	assert_int_equal(proto_stream_from("out"), -1);
	assert_int_equal(proto_stream_from("1"), -1);
}

/* Only queued and running runs can still change. */
static void
test_status_final(void **state)
{
	assert_false(proto_status_final(RUN_QUEUED));
	assert_false(proto_status_final(RUN_RUNNING));
	assert_true(proto_status_final(RUN_SUCCEEDED));
	assert_true(proto_status_final(RUN_FAILED));
	assert_true(proto_status_final(RUN_TIMED_OUT));
	assert_true(proto_status_final(RUN_CANCELLED));
	assert_true(proto_status_final(RUN_SKIPPED));
	assert_true(proto_status_final(RUN_LOST));
}

/* A run object's status: its name's state, or -1 if missing or unknown. */
static void
test_run_status(void **state)
{
	static const char	*bad[] = { "{}", "{\"status\":null}",
	    "{\"status\":3}", "{\"status\":\"done\"}",
	    "{\"state\":\"running\"}" };
	json_t			*run;
	int			 i;

	for (i = 0; i < RUN_NSTATUS; i++) {
		run = json_pack("{s:I,s:s}", "id", (json_int_t)7, "status",
		    proto_status_name(i));
		assert_int_equal(proto_run_status(run), i);
		json_decref(run);
	}
	for (i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
		run = decode_ok(bad[i]);
		assert_int_equal(proto_run_status(run), -1);
		json_decref(run);
	}
	assert_int_equal(proto_run_status(NULL), -1);
}

/*
 * The members of run, task and parameter objects keep the names clients
 * read them by (SPEC section 3, and section 6 for a webhook's answer):
 * renaming one is a protocol change, not a tidy-up.
 */
static void
test_object_keys(void **state)
{
	static const struct {
		const char	*key;
		const char	*wire;
	} keys[] = {
		/* Run objects. */
		{ K_ID, "id" }, { K_TASK, "task" }, { K_STATUS, "status" },
		{ K_TRIGGER, "trigger" }, { K_TRIGGERED_BY, "triggered_by" },
		{ K_PARAMS, "params" }, { K_ATTEMPT, "attempt" },
		{ K_RETRY_OF, "retry_of" }, { K_QUEUED_AT, "queued_at" },
		{ K_STARTED_AT, "started_at" },
		{ K_FINISHED_AT, "finished_at" }, { K_EXIT_CODE, "exit_code" },
		{ K_SIGNAL, "signal" }, { K_REASON, "reason" },
		{ K_PRIORITY, "priority" }, { K_OUTPUT_SIZE, "output_size" },
		{ K_OUTPUT_DROPPED, "output_dropped" },
		{ K_SCHEDULED_FOR, "scheduled_for" }, { K_CHAIN_OF, "chain_of" },
		{ K_SCHEDULE, "schedule" },
		/* Task objects. */
		{ K_NAME, "name" }, { K_FILE, "file" }, { K_PATH, "path" },
		{ K_VALID, "valid" }, { K_ERRORS, "errors" },
		{ K_ERROR, "error" }, { K_LAST_RUN, "last_run" },
		{ K_NEXT_RUN, "next_run" }, { K_DESCRIPTION, "description" },
		{ K_SCHEDULES, "schedules" }, { K_NEXT_RUNS, "next_runs" },
		{ K_TIMEZONE, "timezone" }, { K_TIMEOUT, "timeout" },
		{ K_CONCURRENCY, "concurrency" }, { K_OVERLAP, "overlap" },
		{ K_RETRIES, "retries" }, { K_RETRY_DELAY, "retry_delay" },
		{ K_WEBHOOK, "webhook" }, { K_ON_FAILURE, "on_failure" },
		{ K_ON_SUCCESS, "on_success" }, { K_USER, "user" },
		{ K_WORKDIR, "workdir" }, { K_ENV, "env" },
		{ K_CATCHUP, "catchup" }, { K_CONFIRM, "confirm" },
		{ K_GROUP, "group" },
		/* Parameter objects. */
		{ K_TYPE, "type" }, { K_LABEL, "label" },
		{ K_DEFAULT, "default" }, { K_REQUIRED, "required" },
		{ K_CHOICES, "choices" },
		/* The webhook command's reply and a webhook's answer. */
		{ K_URL, "url" }, { K_SECRET, "secret" },
		{ K_SOURCE, "source" }, { K_CURL, "curl" }, { K_NOTE, "note" },
		{ K_RUN_ID, "run_id" }, { SOURCE_CONFIG, "config" },
		{ SOURCE_GENERATED, "generated" },
	};
	u_int	 i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		assert_string_equal(keys[i].key, keys[i].wire);
}

/* The test vectors of RFC 4648 section 10, both ways. */
static void
test_base64_vectors(void **state)
{
	static const struct {
		const char	*raw;
		const char	*b64;
	} v[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	char	*enc;
	void	*dec;
	size_t	 len, i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		len = 12345;
		enc = base64_encode(v[i].raw, strlen(v[i].raw), &len);
		assert_string_equal(enc, v[i].b64);
		assert_int_equal(len, strlen(v[i].b64));
		free(enc);

		dec = NULL;
		len = 12345;
		assert_int_equal(base64_decode(v[i].b64, strlen(v[i].b64),
		    &dec, &len), 0);
		assert_non_null(dec);
		assert_int_equal(len, strlen(v[i].raw));
		assert_memory_equal(dec, v[i].raw, len);
		free(dec);
	}

	/* Bytes that use the last characters of the alphabet. */
	enc = base64_encode("\xfb\xff\xbf", 3, NULL);
	assert_string_equal(enc, "+/+/");
	free(enc);
	enc = base64_encode("\0\0\0", 3, NULL);
	assert_string_equal(enc, "AAAA");
	free(enc);
}

/* Every length 0..64, every byte value: encodes canonically and round-trips. */
static void
test_base64_all_lengths(void **state)
{
	static const char	 alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	u_char			 data[64];
	char			*enc;
	void			*dec;
	size_t			 len, n, i, enclen, declen, pad;
	u_int			 start;

	for (len = 0; len <= 64; len++) {
		for (start = 0; start < 256; start++) {
			for (i = 0; i < len; i++)
				data[i] = (u_char)(start + i * 97);
			enc = base64_encode(data, len, &enclen);
			assert_int_equal(enclen, (len + 2) / 3 * 4);
			assert_int_equal(strlen(enc), enclen);
			pad = (3 - len % 3) % 3;
			for (n = 0; n < enclen; n++) {
				if (n >= enclen - pad)
					assert_int_equal(enc[n], '=');
				else
					assert_non_null(strchr(alphabet,
					    enc[n]));
			}
			assert_int_equal(base64_decode(enc, enclen, &dec,
			    &declen), 0);
			assert_int_equal(declen, len);
			if (len > 0)
				assert_memory_equal(dec, data, len);
			free(dec);
			free(enc);
		}
	}
}

/* Anything but strict padded RFC 4648 base64 is refused. */
static void
test_base64_invalid(void **state)
{
	static const char	*bad[] = { "Z", "Zg", "Zg=", "Zm9vY", "Zg===",
	    "Z===", "====", "=Zg=", "Z=g=", "Zg==Zg==", "Zm=v", "Zm9v!A==",
	    "Zm9 ", "Zm9v\n", " Zm9v", "Zm-v", "Zm_v", "Zm9v\xc3\xa9==",
	    "Zm9vYmFy====" };
	void			*dec;
	size_t			 declen, i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		dec = NULL;
		if (base64_decode(bad[i], strlen(bad[i]), &dec, &declen) == 0) {
			free(dec);
			fail_msg("base64_decode(\"%s\") accepted", bad[i]);
		}
	}
	/* A NUL inside the counted length is not base64 either. */
	dec = NULL;
	assert_int_equal(base64_decode("Zm\0v", 4, &dec, &declen), -1);

	/* Only len bytes are read: a valid text cut short is refused. */
	for (i = 1; i < 8; i++) {
		if (i % 4 == 0)
			continue;
		dec = NULL;
		if (base64_decode("Zm9vYg==", i, &dec, &declen) == 0) {
			free(dec);
			fail_msg("base64_decode(\"Zm9vYg==\", %zu) accepted",
			    i);
		}
	}
	assert_int_equal(base64_decode("Zm9vYg==", 4, &dec, &declen), 0);
	assert_int_equal(declen, 3);
	assert_memory_equal(dec, "foo", 3);
	free(dec);
}

/* Check utf8_valid on len bytes against want. */
static void
utf8_is(const char *s, size_t len, int want)
{
	size_t	 i;
	char	 hex[64 * 3 + 1];

	if (!!utf8_valid(s, len) == want)
		return;
	hex[0] = '\0';
	for (i = 0; i < len && i < 64; i++)
		snprintf(hex + i * 3, 4, "%02x ", (u_char)s[i]);
	fail_msg("utf8_valid(%s) should be %d", hex, want);
}

/* Valid UTF-8 of every length, up to U+10FFFF. */
static void
test_utf8_valid(void **state)
{
	utf8_is("", 0, 1);
	utf8_is("plain ASCII\t\r\n~", 16, 1);
	utf8_is("a\0b", 3, 1);
	utf8_is("\x7f", 1, 1);
	utf8_is("\xc2\x80", 2, 1);		/* U+0080 */
	utf8_is("caf\xc3\xa9", 5, 1);		/* é */
	utf8_is("\xdf\xbf", 2, 1);		/* U+07FF */
	utf8_is("\xe0\xa0\x80", 3, 1);		/* U+0800 */
	utf8_is("\xe2\x82\xac", 3, 1);		/* € */
	utf8_is("\xed\x9f\xbf", 3, 1);		/* U+D7FF */
	utf8_is("\xee\x80\x80", 3, 1);		/* U+E000 */
	utf8_is("\xef\xbf\xbd", 3, 1);		/* U+FFFD */
	utf8_is("\xef\xbf\xbf", 3, 1);		/* U+FFFF */
	utf8_is("\xf0\x90\x80\x80", 4, 1);	/* U+10000 */
	utf8_is("\xf0\x9d\x84\x9e", 4, 1);	/* 𝄞 */
	utf8_is("\xf4\x8f\xbf\xbf", 4, 1);	/* U+10FFFF */
	utf8_is("x\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80y", 11, 1);
}

/* Overlongs, surrogates, > U+10FFFF, stray and truncated bytes are invalid. */
static void
test_utf8_invalid(void **state)
{
	/* Overlong forms. */
	utf8_is("\xc0\x80", 2, 0);
	utf8_is("\xc0\xaf", 2, 0);
	utf8_is("\xc1\xbf", 2, 0);
	utf8_is("\xe0\x80\x80", 3, 0);
	utf8_is("\xe0\x80\xaf", 3, 0);
	utf8_is("\xe0\x9f\xbf", 3, 0);
	utf8_is("\xf0\x80\x80\x80", 4, 0);
	utf8_is("\xf0\x8f\xbf\xbf", 4, 0);
	/* UTF-16 surrogates. */
	utf8_is("\xed\xa0\x80", 3, 0);
	utf8_is("\xed\xaf\xbf", 3, 0);
	utf8_is("\xed\xb0\x80", 3, 0);
	utf8_is("\xed\xbf\xbf", 3, 0);
	utf8_is("\xed\xa0\xbd\xed\xb8\x80", 6, 0);
	/* Beyond U+10FFFF and the old 5- and 6-byte forms. */
	utf8_is("\xf4\x90\x80\x80", 4, 0);
	utf8_is("\xf5\x80\x80\x80", 4, 0);
	utf8_is("\xf7\xbf\xbf\xbf", 4, 0);
	utf8_is("\xf8\x88\x80\x80\x80", 5, 0);
	utf8_is("\xfc\x84\x80\x80\x80\x80", 6, 0);
	utf8_is("\xfe", 1, 0);
	utf8_is("\xff", 1, 0);
	/* Stray continuation bytes. */
	utf8_is("\x80", 1, 0);
	utf8_is("\xbf", 1, 0);
	utf8_is("a\x80z", 3, 0);
	utf8_is("\xc3\xa9\xa9", 3, 0);
	/* Truncated sequences, at the end and before other bytes. */
	utf8_is("\xc3", 1, 0);
	utf8_is("caf\xc3", 4, 0);
	utf8_is("\xe2\x82", 2, 0);
	utf8_is("\xf0\x9d\x84", 3, 0);
	utf8_is("\xc3(", 2, 0);
	utf8_is("\xe2\x28\xa1", 3, 0);
	utf8_is("\xe2\x82(", 3, 0);
	utf8_is("\xf0\x9d\x84z", 4, 0);
	/* The length counts: a valid sequence cut short is invalid. */
	utf8_is("\xc3\xa9", 1, 0);
	utf8_is("\xf0\x9d\x84\x9e", 3, 0);
}

/* Check json_string_lossy(in) gives exactly want. */
static void
lossy_is(const char *in, const char *want)
{
	json_t		*v;
	const char	*got;

	v = json_string_lossy(in);
	if (v == NULL)
		fail_msg("json_string_lossy(\"%s\") returned NULL", want);
	got = json_string_value(v);
	if (strcmp(got, want) != 0)
		fail_msg("json_string_lossy gave \"%s\", want \"%s\"", got,
		    want);
	json_decref(v);
}

/* Valid text is unchanged; each invalid byte becomes U+FFFD. */
static void
test_json_string_lossy(void **state)
{
	json_t		*v;
	const char	*got;

	lossy_is("", "");
	lossy_is("hello", "hello");
	lossy_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e");
	lossy_is("a\xff" "b", "a\xef\xbf\xbd" "b");
	lossy_is("\xff", "\xef\xbf\xbd");
	lossy_is("\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd");
	lossy_is("caf\xe9", "caf\xef\xbf\xbd");
	lossy_is("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");
	lossy_is("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	lossy_is("ok \xe2\x82\xac\xff\xc3\xa9 end",
	    "ok \xe2\x82\xac\xef\xbf\xbd\xc3\xa9 end");

	/* A truncated sequence is replaced; what follows is kept. */
	v = json_string_lossy("x\xe2\x82y\xf0\x9d\x84");
	assert_non_null(v);
	got = json_string_value(v);
	assert_true(utf8_valid(got, strlen(got)));
	assert_int_equal(got[0], 'x');
	assert_non_null(strstr(got, "\xef\xbf\xbdy"));
	assert_null(strstr(got, "\xe2\x82y"));
	json_decref(v);
}

/* Expect the next frame to be want (a JSON text). */
static void
next_is(struct frame_reader *fr, const char *want)
{
	json_t	*msg, *w;
	char	*cause = NULL, got[256];
	size_t	 n;
	int	 rc, eq;

	rc = frame_reader_next(fr, &msg, &cause);
	if (rc != 1)
		fail_msg("frame_reader_next = %d (%s), want a frame %s", rc,
		    cause != NULL ? cause : "", want);
	w = json_loads(want, 0, NULL);
	assert_non_null(w);
	n = json_dumpb(msg, got, sizeof got - 1, JSON_COMPACT);
	got[n < sizeof got ? n : sizeof got - 1] = '\0';
	eq = json_equal(msg, w);
	json_decref(w);
	json_decref(msg);
	if (!eq)
		fail_msg("frame_reader_next gave %s, want %s", got, want);
}

/* Expect the next frame to be refused with a message containing needle. */
static void
next_bad(struct frame_reader *fr, const char *needle)
{
	json_t	*msg;
	char	*cause = NULL;
	int	 rc;

	rc = frame_reader_next(fr, &msg, &cause);
	if (rc != -1) {
		json_decref(msg);
		fail_msg("frame_reader_next = %d, want -1", rc);
	}
	assert_null(msg);
	assert_non_null(cause);
	if (needle != NULL && strstr(cause, needle) == NULL)
		fail_msg("\"%s\" does not mention \"%s\"", cause, needle);
	free(cause);
}

/* Expect that no frame is complete yet. */
static void
next_none(struct frame_reader *fr)
{
	json_t	*msg;
	char	*cause = NULL;
	int	 rc;

	rc = frame_reader_next(fr, &msg, &cause);
	if (rc != 0)
		fail_msg("frame_reader_next = %d (%s), want 0", rc,
		    cause != NULL ? cause : "");
	assert_null(msg);
}

/* Give a frame test a reader; teardown frees it even if the test fails. */
static int
reader_setup(void **state)
{
	*state = xcalloc(1, sizeof (struct frame_reader));
	return (0);
}

/* Free the reader of a frame test. */
static int
reader_teardown(void **state)
{
	frame_reader_free(*state);
	free(*state);
	return (0);
}

/* Frames fed one byte at a time come out whole, at their newline. */
static void
test_frame_reader_bytewise(void **state)
{
	const char		*in = "{\"cmd\":\"ping\"}\n"
	    "{\"cmd\":\"run\",\"task\":\"caf\xc3\xa9\"}\n";
	struct frame_reader	*fr = *state;
	size_t			 i, len = strlen(in);
	int			 frames = 0;

	frame_reader_init(fr, ML_MAX_REQUEST);
	next_none(fr);
	for (i = 0; i < len; i++) {
		assert_int_equal(frame_reader_feed(fr, in + i, 1), 0);
		if (in[i] != '\n') {
			next_none(fr);
			continue;
		}
		if (frames++ == 0)
			next_is(fr, "{\"cmd\":\"ping\"}");
		else
			next_is(fr,
			    "{\"cmd\":\"run\",\"task\":\"caf\xc3\xa9\"}");
		next_none(fr);
	}
	assert_int_equal(frames, 2);
	assert_int_equal(frame_reader_feed(fr, "", 0), 0);
	next_none(fr);
}

/* Several frames in one feed come out one by one, in order. */
static void
test_frame_reader_several(void **state)
{
	const char		*in = "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n"
	    "{\"seq\":";
	struct frame_reader	*fr = *state;
	char			*line, *cause = NULL;
	size_t			 len;

	frame_reader_init(fr, 1024);
	frame_reader_feed(fr, in, strlen(in));
	next_is(fr, "{\"seq\":1}");
	next_is(fr, "{\"seq\":2}");
	next_is(fr, "{\"seq\":3}");
	next_none(fr);
	frame_reader_feed(fr, "4}\n", 3);
	next_is(fr, "{\"seq\":4}");
	next_none(fr);

	/* frame_reader_line gives the raw text without its newline. */
	frame_reader_feed(fr, "{\"a\": 1}\nrest", 13);
	assert_int_equal(frame_reader_line(fr, &line, &len, &cause), 1);
	assert_int_equal(len, 8);
	assert_string_equal(line, "{\"a\": 1}");
	free(line);
	assert_int_equal(frame_reader_line(fr, &line, &len, &cause), 0);
	assert_null(line);
}

/* Build a frame {"a":"xxx..."} of exactly n bytes, newline included. */
static char *
frame_of(size_t n)
{
	char	*s;

	assert_true(n >= 10);
	s = xmalloc(n + 1);
	memcpy(s, "{\"a\":\"", 6);
	memset(s + 6, 'x', n - 9);
	memcpy(s + n - 3, "\"}\n", 4);
	assert_int_equal(strlen(s), n);
	return (s);
}

/* Expect the next frame to be {"a":"..."} with a string of want bytes. */
static void
next_a_len(struct frame_reader *fr, size_t want)
{
	json_t	*msg;
	char	*cause = NULL;

	assert_int_equal(frame_reader_next(fr, &msg, &cause), 1);
	assert_int_equal(json_string_length(json_object_get(msg, "a")), want);
	json_decref(msg);
}

/* A frame over the limit is refused and the reader carries on after it. */
static void
test_frame_reader_oversized(void **state)
{
	struct frame_reader	*fr = *state;
	char			*big;

	frame_reader_init(fr, 64);

	/* Exactly the limit, newline included, is fine. */
	big = frame_of(64);
	frame_reader_feed(fr, big, 64);
	free(big);
	next_a_len(fr, 64 - 9);

	/* One byte more is refused, and the next frame still comes out. */
	big = frame_of(65);
	frame_reader_feed(fr, big, 65);
	free(big);
	frame_reader_feed(fr, "{\"after\":1}\n", 12);
	next_bad(fr, "64");
	next_is(fr, "{\"after\":1}");
	next_none(fr);

	/* Far over the limit, in one feed with the next frame. */
	big = frame_of(1000);
	frame_reader_feed(fr, big, 1000);
	free(big);
	frame_reader_feed(fr, "{\"after\":2}\n", 12);
	next_bad(fr, NULL);
	next_is(fr, "{\"after\":2}");
	next_none(fr);
}

/*
 * An oversized frame that arrives in pieces is refused once, and the frame
 * after it is the next one out: the rest of the oversized line must not be
 * read as a frame of its own.
 * The rest of the oversized line, arriving later, is skipped too: here
 * the oversized text is 100 spaces and {"cmd":"reload"}, and the next
 * frame is {"after":3}, never the tail {"cmd":"reload"}.
 */
static void
test_frame_reader_oversized_split(void **state)
{
	const char		*rest = "{\"cmd\":\"reload\"}\n{\"after\":3}\n";
	struct frame_reader	*fr = *state;
	char			 pad[100];

	frame_reader_init(fr, 64);
	memset(pad, ' ', sizeof pad);
	frame_reader_feed(fr, pad, sizeof pad);
	next_bad(fr, "64");
	frame_reader_feed(fr, rest, strlen(rest));
	next_is(fr, "{\"after\":3}");
	next_none(fr);
}

/* A malformed frame is refused with a message; the next one is read. */
static void
test_frame_reader_malformed(void **state)
{
	const char		*in = "not json\n{\"ok\":true}\n[1,2]\n"
	    "{\"a\":1,\"a\":2}\n\n{\"ok\":false}\n";
	struct frame_reader	*fr = *state;

	frame_reader_init(fr, 1024);
	frame_reader_feed(fr, in, strlen(in));
	next_bad(fr, NULL);
	next_is(fr, "{\"ok\":true}");
	next_bad(fr, "object");
	next_bad(fr, "duplicate");
	next_bad(fr, NULL);
	next_is(fr, "{\"ok\":false}");
	next_none(fr);
}

/*
 * Raw bytes after a frame (a raw output event's) are taken as they are,
 * newlines included, however the stream was cut; the next frame follows.
 * Fed through frame_reader_space and frame_reader_fill, as the client
 * reads, in pieces of every size from 1 byte.
 */
static void
test_frame_reader_raw(void **state)
{
	struct frame_reader	*fr = *state;
	char			 in[4096], raw[1000], got[1000];
	const char		*head = "{\"size\":1000}\n", *tail =
	    "{\"event\":\"end\"}\n";
	const void		*p;
	size_t			 len, n, piece, off, fed, i;

	for (i = 0; i < sizeof raw; i++)
		raw[i] = (char)(i % 3 == 0 ? '\n' : i * 13);
	len = strlen(head);
	memcpy(in, head, len);
	memcpy(in + len, raw, sizeof raw);
	memcpy(in + len + sizeof raw, tail, strlen(tail));
	len += sizeof raw + strlen(tail);

	for (piece = 1; piece <= len; piece = piece * 3 + 1) {
		frame_reader_init(fr, 64);
		fed = off = 0;
		/* Feed until the head is whole. */
		for (;;) {
			char		*line, *cause = NULL;
			size_t		 linelen;
			int		 rc;

			rc = frame_reader_line(fr, &line, &linelen, &cause);
			if (rc == 1) {
				assert_string_equal(line, "{\"size\":1000}");
				free(line);
				break;
			}
			assert_int_equal(rc, 0);
			n = len - fed < piece ? len - fed : piece;
			memcpy(frame_reader_space(fr, n), in + fed, n);
			frame_reader_fill(fr, n);
			fed += n;
		}
		/* Take the raw bytes, feeding as needed. */
		while (off < sizeof raw) {
			n = frame_reader_take(fr, &p, sizeof raw - off);
			if (n > 0) {
				memcpy(got + off, p, n);
				off += n;
				continue;
			}
			n = len - fed < piece ? len - fed : piece;
			assert_true(n > 0);
			frame_reader_feed(fr, in + fed, n);
			fed += n;
		}
		assert_memory_equal(got, raw, sizeof raw);
		/* The frame after them. */
		if (fed < len)
			frame_reader_feed(fr, in + fed, len - fed);
		next_is(fr, "{\"event\":\"end\"}");
		next_none(fr);
		assert_int_equal(frame_reader_take(fr, &p, 10), 0);
		frame_reader_free(fr);
	}
}

/* A raw output event's line: the chunk's size, not its bytes. */
static void
test_output_head(void **state)
{
	json_t	*ev;

	ev = proto_output_head(STREAM_STDERR, 42, INT64_C(1795341600123),
	    65536);
	assert_string_equal(json_string_value(json_object_get(ev, K_EVENT)),
	    EV_OUTPUT);
	assert_string_equal(json_string_value(json_object_get(ev, K_STREAM)),
	    "stderr");
	assert_int_equal(json_integer_value(json_object_get(ev, K_SEQ)), 42);
	assert_string_equal(json_string_value(json_object_get(ev, K_TIME)),
	    "2026-11-22T10:00:00.123Z");
	assert_int_equal(json_integer_value(json_object_get(ev, K_SIZE)),
	    65536);
	assert_null(json_object_get(ev, K_DATA));
	json_decref(ev);
}

/* Run every test; CMOCKA_MESSAGE_OUTPUT=TAP makes the output TAP. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_one_line),
		cmocka_unit_test(test_decode_object),
		cmocka_unit_test(test_decode_not_object),
		cmocka_unit_test(test_decode_malformed),
		cmocka_unit_test(test_decode_duplicate),
		cmocka_unit_test(test_decode_nul),
		cmocka_unit_test(test_ok_shape),
		cmocka_unit_test(test_error_shape),
		cmocka_unit_test(test_error_bad_utf8),
		cmocka_unit_test(test_output_event),
		cmocka_unit_test(test_output_head),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_trigger_names),
		cmocka_unit_test(test_stream_names),
		cmocka_unit_test(test_status_final),
		cmocka_unit_test(test_run_status),
		cmocka_unit_test(test_object_keys),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_all_lengths),
		cmocka_unit_test(test_base64_invalid),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_json_string_lossy),
		cmocka_unit_test_setup_teardown(test_frame_reader_bytewise,
		    reader_setup, reader_teardown),
		cmocka_unit_test_setup_teardown(test_frame_reader_several,
		    reader_setup, reader_teardown),
		cmocka_unit_test_setup_teardown(test_frame_reader_oversized,
		    reader_setup, reader_teardown),
		cmocka_unit_test_setup_teardown(
		    test_frame_reader_oversized_split,
		    reader_setup, reader_teardown),
		cmocka_unit_test_setup_teardown(test_frame_reader_malformed,
		    reader_setup, reader_teardown),
		cmocka_unit_test_setup_teardown(test_frame_reader_raw,
		    reader_setup, reader_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
