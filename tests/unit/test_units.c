/* Unit tests: durations, sizes and RFC 3339 times (units.c, timefmt.c). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ml.h"

#define SENTINEL	((int64_t)-12345)

/* Check that a duration parses to want seconds. */
static void
duration_ok(const char *s, int64_t want)
{
	int64_t		 v = SENTINEL;
	const char	*errstr = NULL;

	if (duration_parse(s, &v, &errstr) != 0)
		fail_msg("duration_parse(\"%s\") failed: %s", s,
		    errstr != NULL ? errstr : "(no message)");
	if (v != want)
		fail_msg("duration_parse(\"%s\") = %" PRId64 ", want %" PRId64,
		    s, v, want);
}

/* Check that a duration is refused with a message containing needle. */
static void
duration_bad(const char *s, const char *needle)
{
	int64_t		 v = SENTINEL;
	const char	*errstr = NULL;

	if (duration_parse(s, &v, &errstr) == 0)
		fail_msg("duration_parse(\"%s\") accepted, = %" PRId64, s, v);
	if (errstr == NULL || *errstr == '\0')
		fail_msg("duration_parse(\"%s\") gave no message", s);
	if (needle != NULL && strstr(errstr, needle) == NULL)
		fail_msg("duration_parse(\"%s\"): \"%s\" does not mention "
		    "\"%s\"", s, errstr, needle);
	if (v != SENTINEL)
		fail_msg("duration_parse(\"%s\") wrote its output on error", s);
}

/* Each unit alone, and a bare number of seconds. */
static void
test_duration_units(void **state)
{
	duration_ok("45s", 45);
	duration_ok("90s", 90);
	duration_ok("5m", 300);
	duration_ok("2h", 7200);
	duration_ok("1d", 86400);
	duration_ok("7d", 7 * 86400);
	duration_ok("90", 90);
	duration_ok("1", 1);
	duration_ok("0", 0);
	duration_ok("0s", 0);
	duration_ok("0m", 0);
	duration_ok("007m", 420);
}

/* Several NUMBER UNIT pairs add up. */
static void
test_duration_combined(void **state)
{
	duration_ok("1h30m", 5400);
	duration_ok("2m30s", 150);
	duration_ok("1d2h3m4s", 86400 + 7200 + 180 + 4);
	duration_ok("1h0m", 3600);
	duration_ok("30m1h", 5400);
	duration_ok("1d12h", 129600);
}

/* Malformed durations are refused with a message and no output. */
static void
test_duration_bad(void **state)
{
	duration_bad("", "empty");
	duration_bad("5x", "unit");
	duration_bad("5ms", NULL);
	duration_bad("m", NULL);
	duration_bad("h1", NULL);
	duration_bad("-5s", NULL);
	duration_bad("+5s", NULL);
	duration_bad("1.5h", NULL);
	duration_bad(" 5s", NULL);
	duration_bad("5s ", NULL);
	duration_bad("5 s", NULL);
	duration_bad("1h30", "without a unit");
	duration_bad("1m5", "without a unit");
	duration_bad("1h30m5", "without a unit");
}

/* Absurdly long durations are refused rather than overflowing. */
static void
test_duration_overflow(void **state)
{
	duration_ok("365d", 365 * 86400);
	duration_bad("99999999999999999999", "too long");
	duration_bad("99999999999999999999s", "too long");
	duration_bad("9223372036854775807s", "too long");
	duration_bad("9999999999d", "too long");
	duration_bad("106751991167300d", "too long");
	duration_bad("100000000000h", "too long");
	duration_bad("1000000000m1000000000m", "too long");
	/* Each pair is small, their sum is not. */
	duration_bad("300000000s300000000s", "too long");
	duration_bad("3000d3000d", "too long");
}

/* Check duration_format(secs) against want. */
static void
duration_fmt(int64_t secs, const char *want)
{
	char	 buf[64];

	memset(buf, 'X', sizeof buf);
	duration_format(secs, buf, sizeof buf);
	if (strcmp(buf, want) != 0)
		fail_msg("duration_format(%" PRId64 ") = \"%s\", want \"%s\"",
		    secs, buf, want);
}

/* Seconds are formatted as the shortest exact duration. */
static void
test_duration_format(void **state)
{
	char	 small[4];

	duration_fmt(0, "0");
	duration_fmt(-5, "0");
	duration_fmt(1, "1s");
	duration_fmt(45, "45s");
	duration_fmt(60, "1m");
	duration_fmt(90, "1m30s");
	duration_fmt(3600, "1h");
	duration_fmt(5400, "1h30m");
	duration_fmt(3601, "1h1s");
	duration_fmt(86400, "1d");
	duration_fmt(86400 + 7200 + 180 + 4, "1d2h3m4s");
	duration_fmt(30 * 86400, "30d");

	/* A short buffer gets a terminated prefix, never an overrun. */
	memset(small, 'X', sizeof small);
	duration_format(86400 + 7200 + 180 + 4, small, sizeof small);
	assert_non_null(memchr(small, '\0', sizeof small));
	assert_int_equal(strncmp(small, "1d2", sizeof small), 0);
}

/* duration_format's output parses back to the same number of seconds. */
static void
test_duration_round_trip(void **state)
{
	static const int64_t	 fixed[] = { 0, 1, 59, 60, 61, 3599, 3600,
	    3661, 86399, 86400, 86401, 90061, 365 * 86400, 3650 * 86400 };
	char			 buf[64];
	int64_t			 secs, v;
	const char		*errstr;
	u_int			 i;

	for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		duration_format(fixed[i], buf, sizeof buf);
		duration_ok(buf, fixed[i]);
	}
	for (secs = 0; secs < 400000; secs += 37) {
		duration_format(secs, buf, sizeof buf);
		errstr = NULL;
		if (duration_parse(buf, &v, &errstr) != 0 || v != secs)
			fail_msg("%" PRId64 " -> \"%s\" does not parse back",
			    secs, buf);
	}
}

/* Check duration_format_ms(ms) against want. */
static void
duration_ms(int64_t ms, const char *want)
{
	char	 buf[64];

	duration_format_ms(ms, buf, sizeof buf);
	if (strcmp(buf, want) != 0)
		fail_msg("duration_format_ms(%" PRId64 ") = \"%s\", want "
		    "\"%s\"", ms, buf, want);
}

/* Milliseconds are shown in the unit that suits their range. */
static void
test_duration_format_ms(void **state)
{
	duration_ms(-5, "0ms");
	duration_ms(0, "0ms");
	duration_ms(250, "250ms");
	duration_ms(999, "999ms");
	duration_ms(1000, "1.000s");
	duration_ms(1234, "1.234s");
	duration_ms(1005, "1.005s");
	duration_ms(59999, "59.999s");
	duration_ms(60000, "1m00s");
	duration_ms(125000, "2m05s");
	duration_ms(125999, "2m05s");
	duration_ms(3599999, "59m59s");
	duration_ms(3600000, "1h00m");
	duration_ms(3 * 3600000 + 2 * 60000, "3h02m");
	duration_ms(86399999, "23h59m");
	duration_ms(86400000, "1d00h");
	duration_ms(86400000 + 3600000, "1d01h");
	duration_ms(INT64_C(40) * 86400000 + 5 * 3600000, "40d05h");
}

/* Check that a size parses to want bytes. */
static void
size_ok(const char *s, int64_t want)
{
	int64_t		 v = SENTINEL;
	const char	*errstr = NULL;

	if (size_parse(s, &v, &errstr) != 0)
		fail_msg("size_parse(\"%s\") failed: %s", s,
		    errstr != NULL ? errstr : "(no message)");
	if (v != want)
		fail_msg("size_parse(\"%s\") = %" PRId64 ", want %" PRId64,
		    s, v, want);
}

/* Check that a size is refused with a message containing needle. */
static void
size_bad(const char *s, const char *needle)
{
	int64_t		 v = SENTINEL;
	const char	*errstr = NULL;

	if (size_parse(s, &v, &errstr) == 0)
		fail_msg("size_parse(\"%s\") accepted, = %" PRId64, s, v);
	if (errstr == NULL || *errstr == '\0')
		fail_msg("size_parse(\"%s\") gave no message", s);
	if (needle != NULL && strstr(errstr, needle) == NULL)
		fail_msg("size_parse(\"%s\"): \"%s\" does not mention \"%s\"",
		    s, errstr, needle);
	if (v != SENTINEL)
		fail_msg("size_parse(\"%s\") wrote its output on error", s);
}

/* Sizes: bytes, K, M, G (1024-based), either case, optional B. */
static void
test_size_parse(void **state)
{
	size_ok("0", 0);
	size_ok("1", 1);
	size_ok("512", 512);
	size_ok("512K", 512 * 1024);
	size_ok("16M", 16 * 1024 * 1024);
	size_ok("1G", INT64_C(1) << 30);
	size_ok("3G", INT64_C(3) << 30);
	size_ok("512k", 512 * 1024);
	size_ok("16m", 16 * 1024 * 1024);
	size_ok("1g", INT64_C(1) << 30);
	size_ok("512KB", 512 * 1024);
	size_ok("512kb", 512 * 1024);
	size_ok("16MB", 16 * 1024 * 1024);
	size_ok("16Mb", 16 * 1024 * 1024);
	size_ok("1GB", INT64_C(1) << 30);
	size_ok("0K", 0);
	size_ok("512B", 512);
	size_ok("4096b", 4096);
}

/* Malformed sizes are refused with a message and no output. */
static void
test_size_bad(void **state)
{
	size_bad("", NULL);
	size_bad("K", NULL);
	size_bad("MB", NULL);
	size_bad("-1K", NULL);
	size_bad("+1K", NULL);
	size_bad("1T", "unit");
	size_bad("1x", "unit");
	size_bad("1.5M", NULL);
	size_bad("1 K", NULL);
	size_bad(" 1K", NULL);
	size_bad("1K ", NULL);
	size_bad("1KK", NULL);
	size_bad("1KBB", NULL);
	size_bad("1KiB", NULL);
	size_bad("M16", NULL);
}

/* Absurd sizes are refused rather than overflowing. */
static void
test_size_too_large(void **state)
{
	size_ok("1024M", INT64_C(1) << 30);
	size_ok("100G", INT64_C(100) << 30);
	size_bad("99999999999999999999", "too large");
	size_bad("9223372036854775807", "too large");
	size_bad("9999999999999K", "too large");
	size_bad("9999999999999M", "too large");
	size_bad("8589934592G", "too large");
	size_bad("1000000G", "too large");
}

/* Check size_format(n) against want. */
static void
size_fmt(int64_t n, const char *want)
{
	char	 buf[64];

	size_format(n, buf, sizeof buf);
	if (strcmp(buf, want) != 0)
		fail_msg("size_format(%" PRId64 ") = \"%s\", want \"%s\"", n,
		    buf, want);
}

/* Sizes are formatted with the largest unit that divides them exactly. */
static void
test_size_format(void **state)
{
	static const int64_t	 values[] = { 0, 1, 1000, 1023, 1024, 1536,
	    524288, 1048576, 1048577, 16 * 1048576, 1536 * 1048576,
	    INT64_C(1) << 30, INT64_C(100) << 30 };
	char			 buf[64];
	int64_t			 v;
	const char		*errstr;
	u_int			 i;

	size_fmt(0, "0");
	size_fmt(1, "1");
	size_fmt(1000, "1000");
	size_fmt(1024, "1K");
	size_fmt(1536, "1536");
	size_fmt(512 * 1024, "512K");
	size_fmt(1024 * 1024, "1M");
	size_fmt(16 * 1024 * 1024, "16M");
	size_fmt(INT64_C(1536) * 1024 * 1024, "1536M");
	size_fmt(INT64_C(1) << 30, "1G");
	size_fmt(INT64_C(2048) << 30, "2048G");

	/* And what it prints parses back. */
	for (i = 0; i < sizeof values / sizeof values[0]; i++) {
		size_format(values[i], buf, sizeof buf);
		errstr = NULL;
		if (size_parse(buf, &v, &errstr) != 0 || v != values[i])
			fail_msg("%" PRId64 " -> \"%s\" does not parse back",
			    values[i], buf);
	}
}

/* Check time_rfc3339(ms) against want. */
static void
rfc3339_fmt(int64_t ms, const char *want)
{
	char	 buf[TIME_RFC3339_LEN];

	time_rfc3339(ms, buf, sizeof buf);
	if (strcmp(buf, want) != 0)
		fail_msg("time_rfc3339(%" PRId64 ") = \"%s\", want \"%s\"", ms,
		    buf, want);
}

/* Times are RFC 3339 UTC with exactly three fraction digits and Z. */
static void
test_time_rfc3339(void **state)
{
	rfc3339_fmt(0, "1970-01-01T00:00:00.000Z");
	rfc3339_fmt(1, "1970-01-01T00:00:00.001Z");
	rfc3339_fmt(123, "1970-01-01T00:00:00.123Z");
	rfc3339_fmt(INT64_C(1795341600123), "2026-11-22T10:00:00.123Z");
	rfc3339_fmt(INT64_C(1795341600000), "2026-11-22T10:00:00.000Z");
	rfc3339_fmt(INT64_C(1709210096789), "2024-02-29T12:34:56.789Z");
	rfc3339_fmt(INT64_C(946684800000) - 1, "1999-12-31T23:59:59.999Z");
	rfc3339_fmt(INT64_C(2147483648000), "2038-01-19T03:14:08.000Z");
}

/* Times before the epoch round towards the past, not towards zero. */
static void
test_time_rfc3339_negative(void **state)
{
	rfc3339_fmt(-1, "1969-12-31T23:59:59.999Z");
	rfc3339_fmt(-999, "1969-12-31T23:59:59.001Z");
	rfc3339_fmt(-1000, "1969-12-31T23:59:59.000Z");
	rfc3339_fmt(-1001, "1969-12-31T23:59:58.999Z");
	rfc3339_fmt(INT64_C(-2203891200000), "1900-03-01T00:00:00.000Z");
}

/* Check that an RFC 3339 time parses to want ms. */
static void
rfc3339_ok(const char *s, int64_t want)
{
	int64_t	 v = SENTINEL;

	if (time_parse_rfc3339(s, &v) != 0)
		fail_msg("time_parse_rfc3339(\"%s\") failed", s);
	if (v != want)
		fail_msg("time_parse_rfc3339(\"%s\") = %" PRId64 ", want %"
		    PRId64, s, v, want);
}

/* Check that an RFC 3339 time is refused, leaving the output alone. */
static void
rfc3339_bad(const char *s)
{
	int64_t	 v = SENTINEL;

	if (time_parse_rfc3339(s, &v) == 0)
		fail_msg("time_parse_rfc3339(\"%s\") accepted, = %" PRId64, s,
		    v);
	if (v != SENTINEL)
		fail_msg("time_parse_rfc3339(\"%s\") wrote its output on "
		    "error", s);
}

/* Z and numeric offsets, with and without a fraction. */
static void
test_time_parse(void **state)
{
	const int64_t	 t = INT64_C(1795341600000);	/* 2026-11-22T10:00Z */

	rfc3339_ok("1970-01-01T00:00:00Z", 0);
	rfc3339_ok("1970-01-01T00:00:00.000Z", 0);
	rfc3339_ok("2026-11-22T10:00:00Z", t);
	rfc3339_ok("2026-11-22t10:00:00z", t);
	rfc3339_ok("2026-11-22T10:00:00.123Z", t + 123);
	rfc3339_ok("2026-11-22T10:00:00.5Z", t + 500);
	rfc3339_ok("2026-11-22T10:00:00.05Z", t + 50);
	rfc3339_ok("2026-11-22T10:00:00.1239999Z", t + 123);
	rfc3339_ok("2026-11-22T12:00:00+02:00", t);
	rfc3339_ok("2026-11-22T12:00:00+0200", t);
	rfc3339_ok("2026-11-22T04:30:00-0530", t);
	rfc3339_ok("2026-11-22T04:30:00-05:30", t);
	rfc3339_ok("2026-11-22T10:00:00+00:00", t);
	rfc3339_ok("2026-11-22T10:00:00-00:00", t);
	rfc3339_ok("2026-11-23T00:00:00.250+14:00", t + 250);
	rfc3339_ok("2026-11-21T22:00:00-12:00", t);
	rfc3339_ok("2024-02-29T12:34:56.789Z", INT64_C(1709210096789));
	rfc3339_ok("2000-02-29T00:00:00Z", INT64_C(951782400000));
	rfc3339_ok("1969-12-31T23:59:59.999Z", -1);
	rfc3339_ok("1900-03-01T00:00:00Z", INT64_C(-2203891200000));
}

/* Malformed times and out-of-range fields are refused. */
static void
test_time_parse_bad(void **state)
{
	rfc3339_bad("");
	rfc3339_bad("2026");
	rfc3339_bad("2026-11-22");
	rfc3339_bad("2026-11-22T");
	rfc3339_bad("2026-11-22T10:00:00");
	rfc3339_bad("2026-11-22T10:00Z");
	rfc3339_bad("2026-11-22 10:00:00 Z");
	rfc3339_bad("2026/11/22T10:00:00Z");
	rfc3339_bad("26-11-22T10:00:00Z");
	rfc3339_bad("2026-1-22T10:00:00Z");
	rfc3339_bad("2026-11-22X10:00:00Z");
	rfc3339_bad("2026-13-01T00:00:00Z");
	rfc3339_bad("2026-00-01T00:00:00Z");
	rfc3339_bad("2026-11-00T00:00:00Z");
	rfc3339_bad("2026-11-32T00:00:00Z");
	rfc3339_bad("2026-11-22T24:00:00Z");
	rfc3339_bad("2026-11-22T10:60:00Z");
	rfc3339_bad("2026-11-22T10:00:61Z");
	rfc3339_bad("2026-11-22T10:00:00.Z");
	rfc3339_bad("2026-11-22T10:00:00,5Z");
	rfc3339_bad("2026-11-22T10:00:00ZZ");
	rfc3339_bad("2026-11-22T10:00:00Z ");
	rfc3339_bad("2026-11-22T10:00:00+2:00");
	rfc3339_bad("2026-11-22T10:00:00+02");
	rfc3339_bad("2026-11-22T10:00:00+02:0");
	rfc3339_bad("2026-11-22T10:00:00+24:00");
	rfc3339_bad("2026-11-22T10:00:00+02:60");
	rfc3339_bad("2026-11-22T10:00:00+02:00x");
	rfc3339_bad("2026-11-22T10:00:00 +02:00");
	rfc3339_bad("@1795341600");
}

/*
 * Days that do not exist in their month are refused.
 * 2026-02-30 must not turn into 2026-03-02, nor 2025-02-29 into
 * 2025-03-01; 2024-02-29 and 2000-02-29 exist.
 */
static void
test_time_parse_calendar(void **state)
{
	rfc3339_ok("2026-01-31T00:00:00Z", INT64_C(1769817600000));
	rfc3339_bad("2026-02-30T00:00:00Z");
	rfc3339_bad("2026-02-31T00:00:00Z");
	rfc3339_bad("2025-02-29T00:00:00Z");
	rfc3339_bad("1900-02-29T00:00:00Z");
	rfc3339_bad("2026-04-31T00:00:00Z");
	rfc3339_bad("2026-06-31T00:00:00Z");
	rfc3339_bad("2026-09-31T00:00:00Z");
	rfc3339_bad("2026-11-31T00:00:00Z");
}

/* What time_rfc3339 prints, time_parse_rfc3339 reads back exactly. */
static void
test_time_round_trip(void **state)
{
	static const int64_t	 fixed[] = { 0, 1, 999, 1000, -1, -999,
	    -1000, -1001, INT64_C(1795341600123), INT64_C(1709210096789),
	    INT64_C(951782399999), INT64_C(4102444800000),
	    INT64_C(-2203891200000), INT64_C(253402300799999) };
	static const char	*texts[] = { "2026-11-22T10:00:00.123Z",
	    "1970-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z",
	    "2000-02-29T23:59:59.999Z", "9999-12-31T23:59:59.999Z" };
	char			 buf[TIME_RFC3339_LEN];
	int64_t			 ms, v;
	u_int			 i;

	for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		time_rfc3339(fixed[i], buf, sizeof buf);
		rfc3339_ok(buf, fixed[i]);
	}
	for (ms = INT64_C(-100000000000); ms < INT64_C(5000000000000);
	    ms += INT64_C(7777777777)) {
		time_rfc3339(ms, buf, sizeof buf);
		if (time_parse_rfc3339(buf, &v) != 0 || v != ms)
			fail_msg("%" PRId64 " -> \"%s\" does not parse back",
			    ms, buf);
	}
	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		assert_int_equal(time_parse_rfc3339(texts[i], &v), 0);
		time_rfc3339(v, buf, sizeof buf);
		assert_string_equal(buf, texts[i]);
	}
}

/* Run every test; CMOCKA_MESSAGE_OUTPUT=TAP makes the output TAP. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_combined),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_duration_overflow),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_duration_round_trip),
		cmocka_unit_test(test_duration_format_ms),
		cmocka_unit_test(test_size_parse),
		cmocka_unit_test(test_size_bad),
		cmocka_unit_test(test_size_too_large),
		cmocka_unit_test(test_size_format),
		cmocka_unit_test(test_time_rfc3339),
		cmocka_unit_test(test_time_rfc3339_negative),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_parse_bad),
		cmocka_unit_test(test_time_parse_calendar),
		cmocka_unit_test(test_time_round_trip),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
