/* Unit tests: cron expressions, next fire times and time zones (cron, tz). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ml.h"

#define BIT(n)		((uint64_t)1 << (n))
#define NITEMS(a)	(sizeof (a) / sizeof (a)[0])
#define MAXFIRES	4096	/* fire times kept for one window */
#define WINDOW		(72 * 3600)	/* oracle window around a change */
#define ZONE_FILE_MAX	(1024 * 1024)	/* more than any zone file */

/* Load a zone that must exist. */
static struct tz *
zone(const char *name)
{
	struct tz	*z;
	char		*cause = NULL;

	z = tz_load(name, &cause);
	if (z == NULL)
		fail_msg("tz_load(\"%s\"): %s", name, cause);
	assert_null(cause);
	return (z);
}

/* Parse an expression that must be valid. */
static void
parse_ok(const char *expr, struct cron *c)
{
	char	*cause = NULL;

	if (cron_parse(expr, c, &cause) != 0)
		fail_msg("\"%s\" refused: %s", expr, cause);
	assert_null(cause);
}

/* Parse an expression that must be refused with a cause naming n1 and n2. */
static void
parse_bad(const char *expr, const char *n1, const char *n2)
{
	struct cron	 c;
	char		*cause = NULL;

	if (cron_parse(expr, &c, &cause) == 0)
		fail_msg("\"%s\" accepted, want an error naming \"%s\"", expr,
		    n1);
	if (cause == NULL)
		fail_msg("\"%s\" refused without a cause", expr);
	if (n1 != NULL && strstr(cause, n1) == NULL)
		fail_msg("\"%s\": \"%s\" does not mention \"%s\"", expr, cause,
		    n1);
	if (n2 != NULL && strstr(cause, n2) == NULL)
		fail_msg("\"%s\": \"%s\" does not mention \"%s\"", expr, cause,
		    n2);
	free(cause);
}

/*
 * Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS+HH:MM", by timegm(3)
 * and not by the code under test.
 */
static int64_t
iso(const char *s)
{
	struct tm	 tm;
	int		 y, mo, d, h, mi, sec, oh, om, n = 0;
	char		 sign;
	int64_t		 off;

	if (sscanf(s, "%d-%d-%dT%d:%d:%d%c%d:%d%n", &y, &mo, &d, &h, &mi,
	    &sec, &sign, &oh, &om, &n) != 9 || s[n] != '\0' ||
	    (sign != '+' && sign != '-'))
		fail_msg("bad time in the test: %s", s);
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	off = oh * 3600 + om * 60;
	return ((int64_t)timegm(&tm) - (sign == '-' ? -off : off));
}

/* Check that instant t shows in zone z as the ISO 8601 string want. */
static void
check_iso(const struct tz *z, int64_t t, const char *want)
{
	char	 buf[64];

	cron_format(z, t, buf, sizeof buf);
	if (strcmp(buf, want) != 0)
		fail_msg("%lld in %s is %s, want %s", (long long)t, tz_name(z),
		    buf, want);
}

/*
 * Check the fire times of expr in zone zname after from: the wanted
 * times follow as ISO 8601 strings, then NULL. Each is asked for from the
 * one before.
 */
static void
expect_next(const char *expr, const char *zname, const char *from, ...)
{
	va_list		 ap;
	struct cron	 c;
	struct tz	*z;
	const char	*want;
	char		 got[64], was[64];
	int64_t		 t;
	int		 i = 0;

	parse_ok(expr, &c);
	z = zone(zname);
	t = iso(from);
	cron_format(z, t, was, sizeof was);
	va_start(ap, from);
	while ((want = va_arg(ap, const char *)) != NULL) {
		i++;
		t = cron_next(&c, z, t);
		if (t == -1)
			fail_msg("\"%s\" in %s after %s: no fire #%d, want %s",
			    expr, zname, was, i, want);
		cron_format(z, t, got, sizeof got);
		if (strcmp(got, want) != 0)
			fail_msg("\"%s\" in %s from %s: fire #%d is %s, want "
			    "%s", expr, zname, from, i, got, want);
		if (t != iso(want))
			fail_msg("\"%s\" in %s: %s is instant %lld, want %lld",
			    expr, zname, want, (long long)t,
			    (long long)iso(want));
		memcpy(was, got, sizeof was);
	}
	va_end(ap);
	tz_free(z);
}

/* Check that the first fire of expr in zname after from is want. */
static void
expect_first(const char *expr, const char *zname, const char *from,
    const char *want)
{
	expect_next(expr, zname, from, want, (const char *)NULL);
}

/* Make glibc's localtime use zone name (only this test touches TZ). */
static void
glibc_zone(const char *name)
{
	if (name == NULL)
		unsetenv("TZ");
	else
		setenv("TZ", name, 1);
	tzset();
}

/* The UTC offset glibc gives at instant t in the zone of $TZ. */
static long
glibc_offset(int64_t t, struct tm *tm)
{
	struct tm	 mine;
	time_t		 tt = (time_t)t;

	if (tm == NULL)
		tm = &mine;
	if (localtime_r(&tt, tm) == NULL)
		fail_msg("localtime_r(%lld) failed", (long long)t);
	return (tm->tm_gmtoff);
}

/* Fields, lists, ranges and steps of minutes and hours become bit sets. */
static void
test_parse_fields(void **state)
{
	struct cron	 c;

	parse_ok("*/15 * * * *", &c);
	assert_int_equal(c.min, BIT(0) | BIT(15) | BIT(30) | BIT(45));
	assert_int_equal(c.hour, 0xffffff);
	assert_int_equal(c.dom, 0xfffffffe);
	assert_int_equal(c.mon, 0x1ffe);
	assert_int_equal(c.dow, 0x7f);
	assert_int_equal(c.sec, BIT(0));
	assert_false(c.has_seconds);
	assert_false(c.reboot);

	parse_ok("1-30/7 * * * *", &c);
	assert_int_equal(c.min, BIT(1) | BIT(8) | BIT(15) | BIT(22) |
	    BIT(29));

	parse_ok("0,5,10-12,59 1,3-5,23 1,15,31 6 *", &c);
	assert_int_equal(c.min, BIT(0) | BIT(5) | BIT(10) | BIT(11) |
	    BIT(12) | BIT(59));
	assert_int_equal(c.hour, BIT(1) | BIT(3) | BIT(4) | BIT(5) |
	    BIT(23));
	assert_int_equal(c.dom, BIT(1) | BIT(15) | BIT(31));
	assert_int_equal(c.mon, BIT(6));

	parse_ok("0 */6 */10 */4 *", &c);
	assert_int_equal(c.hour, BIT(0) | BIT(6) | BIT(12) | BIT(18));
	assert_int_equal(c.dom, BIT(1) | BIT(11) | BIT(21) | BIT(31));
	assert_int_equal(c.mon, BIT(1) | BIT(5) | BIT(9));

	parse_ok("0-59/20,7 2-10/4 * * *", &c);
	assert_int_equal(c.min, BIT(0) | BIT(7) | BIT(20) | BIT(40));
	assert_int_equal(c.hour, BIT(2) | BIT(6) | BIT(10));

	parse_ok("*/60 */24 */31 */12 *", &c);
	assert_int_equal(c.min, BIT(0));
	assert_int_equal(c.hour, BIT(0));
	assert_int_equal(c.dom, BIT(1));
	assert_int_equal(c.mon, BIT(1));

	parse_ok("59 23 31 12 6", &c);
	assert_int_equal(c.min, BIT(59));
	assert_int_equal(c.hour, BIT(23));
	assert_int_equal(c.dom, BIT(31));
	assert_int_equal(c.mon, BIT(12));
	assert_int_equal(c.dow, BIT(6));

	parse_ok("007 08 09 010 0", &c);
	assert_int_equal(c.min, BIT(7));
	assert_int_equal(c.hour, BIT(8));
	assert_int_equal(c.dom, BIT(9));
	assert_int_equal(c.mon, BIT(10));
}

/* Six fields put the seconds first. */
static void
test_parse_seconds(void **state)
{
	struct cron	 c;

	parse_ok("*/20 0 12 * * *", &c);
	assert_true(c.has_seconds);
	assert_int_equal(c.sec, BIT(0) | BIT(20) | BIT(40));
	assert_int_equal(c.min, BIT(0));
	assert_int_equal(c.hour, BIT(12));
	assert_int_equal(c.dom, 0xfffffffe);

	parse_ok("* * * * * *", &c);
	assert_true(c.has_seconds);
	assert_int_equal(c.sec, 0x0fffffffffffffffULL);
	assert_int_equal(c.min, 0x0fffffffffffffffULL);

	parse_ok("5,59 1-3 4 5 6 0", &c);
	assert_int_equal(c.sec, BIT(5) | BIT(59));
	assert_int_equal(c.min, BIT(1) | BIT(2) | BIT(3));
	assert_int_equal(c.hour, BIT(4));
	assert_int_equal(c.dom, BIT(5));
	assert_int_equal(c.mon, BIT(6));
	assert_int_equal(c.dow, BIT(0));

	parse_ok("0 0 * * *", &c);
	assert_false(c.has_seconds);
	assert_int_equal(c.sec, BIT(0));
}

/* Month names, any case, alone, in lists and in ranges. */
static void
test_parse_months(void **state)
{
	static const char	*names[] = { "jan", "feb", "mar", "apr", "may",
	    "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
	struct cron		 c;
	char			 expr[64];
	u_int			 i;

	for (i = 0; i < NITEMS(names); i++) {
		snprintf(expr, sizeof expr, "0 0 1 %s *", names[i]);
		parse_ok(expr, &c);
		assert_int_equal(c.mon, BIT(i + 1));
	}
	parse_ok("0 0 1 JAN-Mar *", &c);
	assert_int_equal(c.mon, BIT(1) | BIT(2) | BIT(3));
	parse_ok("0 0 1 Jun,DEC,feb *", &c);
	assert_int_equal(c.mon, BIT(2) | BIT(6) | BIT(12));
	parse_ok("0 0 1 jan-dec/3 *", &c);
	assert_int_equal(c.mon, BIT(1) | BIT(4) | BIT(7) | BIT(10));
	parse_ok("0 0 1 3-may *", &c);
	assert_int_equal(c.mon, BIT(3) | BIT(4) | BIT(5));
}

/* Weekday names, 0 and 7 both Sunday, and ranges ending at 7. */
static void
test_parse_weekdays(void **state)
{
	static const char	*names[] = { "sun", "mon", "tue", "wed", "thu",
	    "fri", "sat" };
	struct cron		 c;
	char			 expr[64];
	u_int			 i;

	for (i = 0; i < NITEMS(names); i++) {
		snprintf(expr, sizeof expr, "0 0 * * %s", names[i]);
		parse_ok(expr, &c);
		assert_int_equal(c.dow, BIT(i));
	}
	parse_ok("0 0 * * mon-fri", &c);
	assert_int_equal(c.dow, 0x3e);
	parse_ok("0 0 * * MON-Fri", &c);
	assert_int_equal(c.dow, 0x3e);
	parse_ok("0 0 * * SUN", &c);
	assert_int_equal(c.dow, BIT(0));
	parse_ok("0 0 * * 0", &c);
	assert_int_equal(c.dow, BIT(0));
	parse_ok("0 0 * * 7", &c);
	assert_int_equal(c.dow, BIT(0));
	parse_ok("0 0 * * 0,7", &c);
	assert_int_equal(c.dow, BIT(0));
	parse_ok("0 0 * * 5-7", &c);
	assert_int_equal(c.dow, BIT(5) | BIT(6) | BIT(0));
	parse_ok("0 0 * * 1-7", &c);
	assert_int_equal(c.dow, 0x7f);
	parse_ok("0 0 * * 0-7/2", &c);
	assert_int_equal(c.dow, BIT(0) | BIT(2) | BIT(4) | BIT(6));
	parse_ok("0 0 * * */2", &c);
	assert_int_equal(c.dow, BIT(0) | BIT(2) | BIT(4) | BIT(6));
	parse_ok("0 0 * * sun-sat", &c);
	assert_int_equal(c.dow, 0x7f);
	parse_ok("0 0 * * tue,thu,6", &c);
	assert_int_equal(c.dow, BIT(2) | BIT(4) | BIT(6));
	parse_ok("0 0 * * wed-5", &c);
	assert_int_equal(c.dow, BIT(3) | BIT(4) | BIT(5));
	/* Sunday ends a week as well as it starts one. */
	parse_ok("0 0 * * fri-sun", &c);
	assert_int_equal(c.dow, BIT(5) | BIT(6) | BIT(0));
	parse_ok("0 0 * * sat-SUN", &c);
	assert_int_equal(c.dow, BIT(6) | BIT(0));
	parse_ok("0 0 * * 5-0", &c);
	assert_int_equal(c.dow, BIT(5) | BIT(6) | BIT(0));
}

/* The flags for the Vixie day rule and for every-hour schedules. */
static void
test_parse_flags(void **state)
{
	static const struct {
		const char	*expr;
		int		 dom_star, dow_star, hour_star;
	} t[] = {
		{ "* * * * *", 1, 1, 1 },
		{ "0 */2 * * *", 1, 1, 1 },
		{ "*/15 * * * *", 1, 1, 1 },
		{ "0 *,5 * * *", 1, 1, 1 },
		{ "0 2 * * *", 1, 1, 0 },
		{ "0 0-23 * * *", 1, 1, 0 },
		{ "0 2,14 * * *", 1, 1, 0 },
		{ "0 0 13 * 5", 0, 0, 0 },
		{ "0 0 13 * *", 0, 1, 0 },
		{ "0 0 * * 5", 1, 0, 0 },
		{ "0 0 */2 * 5", 1, 0, 0 },
		{ "0 0 1 * */2", 0, 1, 0 },
		{ "0 0 1-31 * 0-6", 0, 0, 0 },
		{ "0 0 0 1 * *", 0, 1, 0 },
		{ "0 0 * 1 * *", 0, 1, 1 },
		{ "0 0 */3 1 * 1", 0, 0, 1 },
	};
	struct cron	 c;
	u_int		 i;

	for (i = 0; i < NITEMS(t); i++) {
		parse_ok(t[i].expr, &c);
		if (c.dom_star != t[i].dom_star ||
		    c.dow_star != t[i].dow_star ||
		    c.hour_star != t[i].hour_star)
			fail_msg("\"%s\": dom_star %d dow_star %d hour_star "
			    "%d, want %d %d %d", t[i].expr, c.dom_star,
			    c.dow_star, c.hour_star, t[i].dom_star,
			    t[i].dow_star, t[i].hour_star);
	}
}

/* Check that two parsed schedules are the same. */
static void
same_cron(const char *what, const struct cron *a, const struct cron *b)
{
	if (a->sec != b->sec || a->min != b->min || a->hour != b->hour ||
	    a->dom != b->dom || a->mon != b->mon || a->dow != b->dow ||
	    a->dom_star != b->dom_star || a->dow_star != b->dow_star ||
	    a->hour_star != b->hour_star || a->has_seconds !=
	    b->has_seconds || a->reboot != b->reboot)
		fail_msg("%s parses differently from its expansion", what);
}

/* Every macro means its documented expression; @reboot never comes due. */
static void
test_parse_macros(void **state)
{
	static const struct {
		const char	*macro;
		const char	*expr;
	} t[] = {
		{ "@yearly", "0 0 1 1 *" },
		{ "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" },
		{ "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" },
		{ "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
		{ "  @daily", "0 0 * * *" },
		{ "@hourly \t ", "0 * * * *" },
		{ "\t@weekly\n", "0 0 * * 0" },
	};
	struct cron	 a, b;
	struct tz	*z;
	u_int		 i;

	for (i = 0; i < NITEMS(t); i++) {
		parse_ok(t[i].macro, &a);
		parse_ok(t[i].expr, &b);
		same_cron(t[i].macro, &a, &b);
		assert_false(a.reboot);
	}
	parse_ok("@reboot", &a);
	assert_true(a.reboot);
	parse_ok("  @reboot  ", &a);
	assert_true(a.reboot);
	z = zone("UTC");
	assert_int_equal(cron_next(&a, z, iso("2026-01-01T00:00:00+00:00")),
	    -1);
	tz_free(z);

	expect_next("@yearly", "UTC", "2026-06-15T10:00:00+00:00",
	    "2027-01-01T00:00:00+00:00", "2028-01-01T00:00:00+00:00", NULL);
	expect_next("@annually", "UTC", "2026-01-01T00:00:00+00:00",
	    "2027-01-01T00:00:00+00:00", NULL);
	expect_next("@monthly", "UTC", "2026-01-31T12:00:00+00:00",
	    "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00", NULL);
	expect_next("@weekly", "UTC", "2026-05-01T00:00:00+00:00",
	    "2026-05-03T00:00:00+00:00", "2026-05-10T00:00:00+00:00", NULL);
	expect_next("@daily", "UTC", "2026-05-01T00:00:00+00:00",
	    "2026-05-02T00:00:00+00:00", "2026-05-03T00:00:00+00:00", NULL);
	expect_next("@midnight", "UTC", "2026-12-31T23:59:59+00:00",
	    "2027-01-01T00:00:00+00:00", NULL);
	expect_next("@hourly", "UTC", "2026-05-01T10:59:59+00:00",
	    "2026-05-01T11:00:00+00:00", "2026-05-01T12:00:00+00:00", NULL);
}

/* Blanks and tabs around and between the fields do not matter. */
static void
test_parse_blanks(void **state)
{
	struct cron	 a, b;

	parse_ok("30 2 * * 1-5", &b);
	parse_ok("  30 2 * * 1-5", &a);
	same_cron("leading blanks", &a, &b);
	parse_ok("30 2 * * 1-5 \t\n", &a);
	same_cron("trailing blanks", &a, &b);
	parse_ok("30\t2   *\t* \t1-5", &a);
	same_cron("tabs between fields", &a, &b);
}

/* Values outside a field's range are refused, naming the field. */
static void
test_parse_bad_range(void **state)
{
	parse_bad("60 * * * *", "minute", "60");
	parse_bad("* 24 * * *", "hour", "24");
	parse_bad("* * 0 * *", "day-of-month", "range");
	parse_bad("* * 32 * *", "day-of-month", "32");
	parse_bad("* * * 0 *", "month", "range");
	parse_bad("* * * 13 *", "month", "13");
	parse_bad("* * * * 8", "day-of-week", "8");
	parse_bad("60 * * * * *", "second", "60");
	parse_bad("0 60 * * * *", "minute", "60");
	parse_bad("0-60 * * * *", "minute", "range");
	parse_bad("1,2,99 * * * *", "minute", "99");
	parse_bad("* 22-25 * * *", "hour", "25");
	parse_bad("99999999999 * * * *", "minute", NULL);

	/* Ranges that go backwards. */
	parse_bad("30-10 * * * *", "minute", "backwards");
	parse_bad("* 5-1 * * *", "hour", "backwards");
	parse_bad("* * 20-10 * *", "day-of-month", "backwards");
	parse_bad("* * * dec-jan *", "month", "backwards");
	parse_bad("* * * * fri-mon", "day-of-week", "backwards");
	parse_bad("50-40 * * * * *", "second", "backwards");
}

/* Bad steps: zero, too big, after a plain number, or without a number. */
static void
test_parse_bad_step(void **state)
{
	parse_bad("*/0 * * * *", "minute", "step");
	parse_bad("* */0 * * *", "hour", "step");
	parse_bad("*/61 * * * *", "minute", "step");
	parse_bad("* */25 * * *", "hour", "step");
	parse_bad("* * * */13 *", "month", "step");
	parse_bad("5/15 * * * *", "minute", "step");
	parse_bad("* 2/3 * * *", "hour", "step");
	parse_bad("*/ * * * *", "minute", "number");
	parse_bad("1-5/ * * * *", "minute", "number");
	parse_bad("* * */x * *", "day-of-month", "number");
	parse_bad("*/0 0 0 * * *", "second", "step");
	parse_bad("* * * * */9", "day-of-week", "step");
}

/* Garbage, empty list elements and names in numeric fields. */
static void
test_parse_bad_syntax(void **state)
{
	parse_bad("1x * * * *", "minute", "not valid");
	parse_bad("* 1.5 * * *", "hour", "not valid");
	parse_bad("* * +5 * *", "day-of-month", "not valid");
	parse_bad("* * * 1- *", "month", "not valid");
	parse_bad("* * * * ?", "day-of-week", "not valid");
	parse_bad("-1 * * * *", "minute", "not valid");
	parse_bad("** * * * *", "minute", "not valid");
	parse_bad("*-5 * * * *", "minute", "not valid");
	parse_bad("1-2-3 * * * *", "minute", "not valid");
	parse_bad("*/2/3 * * * *", "minute", "not valid");
	parse_bad("0 0 * * mo", "day-of-week", "not valid");
	parse_bad("0 0 * * monday", "day-of-week", "not valid");
	parse_bad("0 0 * janu *", "month", "not valid");
	parse_bad("x * * * * *", "second", NULL);

	/* Empty elements of a list. */
	parse_bad("1,,2 * * * *", "minute", "empty");
	parse_bad("1, * * * *", "minute", "empty");
	parse_bad(",1 * * * *", "minute", "empty");
	parse_bad("* * * 1,,2 *", "month", "empty");
	parse_bad("* * * * 1,", "day-of-week", "empty");

	/* Names only where names are allowed, and only their own. */
	parse_bad("jan * * * *", "minute", "name");
	parse_bad("* mon * * *", "hour", "name");
	parse_bad("* * fri * *", "day-of-month", "name");
	parse_bad("* * * mon *", "month", "not valid");
	parse_bad("* * * * jan", "day-of-week", "not valid");
	parse_bad("sun * * * * *", "second", "name");
}

/* Anything but 5 or 6 fields is refused, saying how many there were. */
static void
test_parse_bad_count(void **state)
{
	parse_bad("* * * *", "4 fields", "5");
	parse_bad("* * * * * * *", "7 fields", "6");
	parse_bad("0 0 1 1 * * 2026", "7 fields", NULL);
	parse_bad("*", "1 fields", NULL);
	parse_bad("", "0 fields", NULL);
	parse_bad("   ", "0 fields", NULL);
	parse_bad("5 @daily", "2 fields", NULL);
}

/* Unknown macros are refused, naming them. */
static void
test_parse_bad_macro(void **state)
{
	parse_bad("@often", "@often", "macro");
	parse_bad("@", "macro", NULL);
	parse_bad("@daily 5", "macro", NULL);
	parse_bad("@every 5m", "macro", NULL);
	parse_bad("@hour", "@hour", "macro");
	parse_bad("@rebooted", "@rebooted", "macro");
}

/* Expressions that can never match are invalid; 29 February is not. */
static void
test_parse_never(void **state)
{
	struct cron	 c;

	parse_bad("0 0 30 2 *", "never", "day-of-month");
	parse_bad("0 0 30 2 *", "month", NULL);
	parse_bad("0 0 31 2 *", "never", "day-of-month");
	parse_bad("0 0 30,31 feb *", "never", NULL);
	parse_bad("0 0 31 4,6,9,11 *", "never", "day-of-month");
	parse_bad("0 0 31 apr,jun,sep,nov *", "never", NULL);
	parse_bad("0 0 0 31 2 *", "never", NULL);
	parse_bad("0 0 30 2 */7", "never", NULL);

	parse_ok("0 0 29 2 *", &c);
	parse_ok("0 0 29 feb *", &c);
	parse_ok("0 0 29 2 */7", &c);
	parse_ok("0 0 31 2,3 *", &c);
	parse_ok("0 0 30 4,6,9,11 *", &c);
	/* Both day fields restricted: either may match (Vixie). */
	parse_ok("0 0 30 2 1", &c);
	expect_next("0 0 30 2 mon", "UTC", "2026-01-01T00:00:00+00:00",
	    "2026-02-02T00:00:00+00:00", "2026-02-09T00:00:00+00:00", NULL);
}

/* The next fire time is strictly after from, never at it. */
static void
test_next_strictly_after(void **state)
{
	expect_first("0 12 * * *", "UTC", "2026-05-01T12:00:00+00:00",
	    "2026-05-02T12:00:00+00:00");
	expect_first("0 12 * * *", "UTC", "2026-05-01T11:59:59+00:00",
	    "2026-05-01T12:00:00+00:00");
	expect_first("0 12 * * *", "UTC", "2026-05-01T12:00:01+00:00",
	    "2026-05-02T12:00:00+00:00");
	expect_next("* * * * *", "UTC", "2026-05-01T12:00:00+00:00",
	    "2026-05-01T12:01:00+00:00", "2026-05-01T12:02:00+00:00", NULL);
	expect_first("* * * * *", "UTC", "2026-05-01T12:00:30+00:00",
	    "2026-05-01T12:01:00+00:00");
	expect_first("* * * * *", "UTC", "2026-05-01T12:00:59+00:00",
	    "2026-05-01T12:01:00+00:00");
	expect_first("* * * * * *", "UTC", "2026-05-01T12:00:00+00:00",
	    "2026-05-01T12:00:01+00:00");
	expect_first("*/15 * * * *", "UTC", "2026-05-01T12:14:59+00:00",
	    "2026-05-01T12:15:00+00:00");
	expect_first("*/15 * * * *", "UTC", "2026-05-01T12:15:00+00:00",
	    "2026-05-01T12:30:00+00:00");
	expect_next("1-30/7 * * * *", "UTC", "2026-05-01T12:00:00+00:00",
	    "2026-05-01T12:01:00+00:00", "2026-05-01T12:08:00+00:00",
	    "2026-05-01T12:15:00+00:00", "2026-05-01T12:22:00+00:00",
	    "2026-05-01T12:29:00+00:00", "2026-05-01T13:01:00+00:00", NULL);
	/* Before the epoch, where instants are negative. */
	expect_next("* * * * *", "UTC", "1969-12-31T23:59:30+00:00",
	    "1970-01-01T00:00:00+00:00", "1970-01-01T00:01:00+00:00", NULL);
	expect_first("0 0 1 1 *", "UTC", "1960-06-01T00:00:00+00:00",
	    "1961-01-01T00:00:00+00:00");
	expect_first("*/2 * * * * *", "UTC", "1969-12-31T23:59:58+00:00",
	    "1970-01-01T00:00:00+00:00");
}

/* The day fields: OR when both are restricted, AND when one has a '*'. */
static void
test_next_vixie(void **state)
{
	/* Friday or the 13th (January 2026 starts on a Thursday). */
	expect_next("0 0 13 * fri", "UTC", "2026-01-01T00:00:00+00:00",
	    "2026-01-02T00:00:00+00:00", "2026-01-09T00:00:00+00:00",
	    "2026-01-13T00:00:00+00:00", "2026-01-16T00:00:00+00:00", NULL);
	/* Days 1-7 or Sundays. */
	expect_next("0 0 1-7 * 0", "UTC", "2025-12-31T12:00:00+00:00",
	    "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00",
	    "2026-01-03T00:00:00+00:00", "2026-01-04T00:00:00+00:00",
	    "2026-01-05T00:00:00+00:00", "2026-01-06T00:00:00+00:00",
	    "2026-01-07T00:00:00+00:00", "2026-01-11T00:00:00+00:00",
	    "2026-01-18T00:00:00+00:00", NULL);
	/* "*\/7" restricts to Sunday but starts with '*': the first Sunday. */
	expect_next("0 0 1-7 * */7", "UTC", "2025-12-31T12:00:00+00:00",
	    "2026-01-04T00:00:00+00:00", "2026-02-01T00:00:00+00:00",
	    "2026-03-01T00:00:00+00:00", "2026-04-05T00:00:00+00:00", NULL);
	/* The 1st when it is a Sunday, Tuesday, Thursday or Saturday. */
	expect_next("0 0 1 * */2", "UTC", "2025-12-31T00:00:00+00:00",
	    "2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00",
	    "2026-03-01T00:00:00+00:00", "2026-08-01T00:00:00+00:00",
	    "2026-09-01T00:00:00+00:00", "2026-10-01T00:00:00+00:00", NULL);
	/* Odd days that are Mondays: "*\/2" in day-of-month is a '*'. */
	expect_next("0 0 */2 * 1", "UTC", "2026-05-01T00:00:00+00:00",
	    "2026-05-11T00:00:00+00:00", "2026-05-25T00:00:00+00:00",
	    "2026-06-01T00:00:00+00:00", NULL);
	/* Only the day-of-month restricted, or only the weekday. */
	expect_next("0 0 15 * *", "UTC", "2026-05-01T00:00:00+00:00",
	    "2026-05-15T00:00:00+00:00", "2026-06-15T00:00:00+00:00", NULL);
	expect_next("0 0 * * 1", "UTC", "2026-05-01T00:00:00+00:00",
	    "2026-05-04T00:00:00+00:00", "2026-05-11T00:00:00+00:00", NULL);
}

/* Weekday schedules: names, ranges, 7 for Sunday. */
static void
test_next_weekdays(void **state)
{
	/* 1 May 2026 is a Friday. */
	expect_next("0 9 * * mon-fri", "UTC", "2026-05-01T10:00:00+00:00",
	    "2026-05-04T09:00:00+00:00", "2026-05-05T09:00:00+00:00",
	    "2026-05-06T09:00:00+00:00", "2026-05-07T09:00:00+00:00",
	    "2026-05-08T09:00:00+00:00", "2026-05-11T09:00:00+00:00", NULL);
	expect_next("0 0 * * 7", "UTC", "2026-05-01T00:00:00+00:00",
	    "2026-05-03T00:00:00+00:00", "2026-05-10T00:00:00+00:00", NULL);
	expect_next("0 0 * * 5-7", "UTC", "2026-05-04T00:00:00+00:00",
	    "2026-05-08T00:00:00+00:00", "2026-05-09T00:00:00+00:00",
	    "2026-05-10T00:00:00+00:00", "2026-05-15T00:00:00+00:00", NULL);
	expect_next("30 8 * * Sat,sun", "UTC", "2026-05-01T00:00:00+00:00",
	    "2026-05-02T08:30:00+00:00", "2026-05-03T08:30:00+00:00",
	    "2026-05-09T08:30:00+00:00", NULL);
	expect_next("0 0 * jan wed", "UTC", "2026-05-01T00:00:00+00:00",
	    "2027-01-06T00:00:00+00:00", "2027-01-13T00:00:00+00:00", NULL);
}

/* 29 February comes in leap years only, and 2100 is not one. */
static void
test_next_leap(void **state)
{
	expect_next("0 0 29 2 *", "UTC", "2024-02-28T12:00:00+00:00",
	    "2024-02-29T00:00:00+00:00", "2028-02-29T00:00:00+00:00",
	    "2032-02-29T00:00:00+00:00", NULL);
	expect_first("0 0 29 2 *", "UTC", "2024-02-29T00:00:00+00:00",
	    "2028-02-29T00:00:00+00:00");
	expect_next("0 0 29 2 *", "UTC", "2096-03-01T00:00:00+00:00",
	    "2104-02-29T00:00:00+00:00", "2108-02-29T00:00:00+00:00", NULL);
	expect_next("0 0 29 2 *", "Europe/Berlin", "2096-03-01T00:00:00+01:00",
	    "2104-02-29T00:00:00+01:00", NULL);
	expect_next("0 0 29 2 *", "UTC", "1999-01-01T00:00:00+00:00",
	    "2000-02-29T00:00:00+00:00", "2004-02-29T00:00:00+00:00", NULL);
	expect_next("0 0 29 feb *", "America/New_York",
	    "2096-03-01T00:00:00-05:00", "2104-02-29T00:00:00-05:00", NULL);
	/* The last day of February, leap or not. */
	expect_next("0 12 28,29 2 *", "UTC", "2099-01-01T00:00:00+00:00",
	    "2099-02-28T12:00:00+00:00", "2100-02-28T12:00:00+00:00",
	    "2101-02-28T12:00:00+00:00", NULL);
}

/* A day that some months lack skips those months. */
static void
test_next_31st(void **state)
{
	expect_next("0 0 31 * *", "UTC", "2026-01-31T00:00:00+00:00",
	    "2026-03-31T00:00:00+00:00", "2026-05-31T00:00:00+00:00",
	    "2026-07-31T00:00:00+00:00", "2026-08-31T00:00:00+00:00",
	    "2026-10-31T00:00:00+00:00", "2026-12-31T00:00:00+00:00",
	    "2027-01-31T00:00:00+00:00", NULL);
	expect_next("0 0 30 * *", "UTC", "2026-01-30T00:00:00+00:00",
	    "2026-03-30T00:00:00+00:00", "2026-04-30T00:00:00+00:00", NULL);
	expect_next("0 0 31 4-7 *", "UTC", "2026-01-01T00:00:00+00:00",
	    "2026-05-31T00:00:00+00:00", "2026-07-31T00:00:00+00:00",
	    "2027-05-31T00:00:00+00:00", NULL);
}

/* A Sunday 29 February is found decades ahead. */
static void
test_next_rare(void **state)
{
	expect_next("0 0 29 2 */7", "UTC", "1970-01-01T00:00:00+00:00",
	    "1976-02-29T00:00:00+00:00", "2004-02-29T00:00:00+00:00",
	    "2032-02-29T00:00:00+00:00", "2060-02-29T00:00:00+00:00",
	    "2088-02-29T00:00:00+00:00", "2128-02-29T00:00:00+00:00", NULL);
	expect_next("0 0 29 2 */7", "Europe/Berlin",
	    "2004-03-01T00:00:00+01:00", "2032-02-29T00:00:00+01:00",
	    "2060-02-29T00:00:00+01:00", "2088-02-29T00:00:00+01:00",
	    "2128-02-29T00:00:00+01:00", NULL);
	/* A Friday or Sunday 13th: February and March 2026, August 2027. */
	expect_next("0 0 13 2,3,8 */5", "UTC", "2026-01-01T00:00:00+00:00",
	    "2026-02-13T00:00:00+00:00", "2026-03-13T00:00:00+00:00",
	    "2027-08-13T00:00:00+00:00", NULL);
}

/* Schedules cross the end of the year. */
static void
test_next_year_rollover(void **state)
{
	expect_next("59 23 31 12 *", "UTC", "2026-12-31T23:59:00+00:00",
	    "2027-12-31T23:59:00+00:00", NULL);
	expect_first("0 0 1 1 *", "UTC", "2026-12-31T23:59:59+00:00",
	    "2027-01-01T00:00:00+00:00");
	expect_next("*/5 * * * *", "UTC", "2026-12-31T23:53:00+00:00",
	    "2026-12-31T23:55:00+00:00", "2027-01-01T00:00:00+00:00", NULL);
	expect_next("0 0 * 12 *", "UTC", "2026-12-31T00:00:00+00:00",
	    "2027-12-01T00:00:00+00:00", NULL);
	expect_next("0 0 1 1 *", "Europe/Berlin",
	    "2026-12-31T22:00:00+00:00", "2027-01-01T00:00:00+01:00",
	    "2028-01-01T00:00:00+01:00", NULL);
	expect_first("59 59 23 31 12 *", "UTC", "2026-12-31T23:59:58+00:00",
	    "2026-12-31T23:59:59+00:00");
}

/* Six fields fire on the second. */
static void
test_next_seconds(void **state)
{
	expect_next("* * * * * *", "UTC", "2026-12-31T23:59:58+00:00",
	    "2026-12-31T23:59:59+00:00", "2027-01-01T00:00:00+00:00",
	    "2027-01-01T00:00:01+00:00", NULL);
	expect_next("*/20 * * * * *", "UTC", "2026-05-01T12:00:00+00:00",
	    "2026-05-01T12:00:20+00:00", "2026-05-01T12:00:40+00:00",
	    "2026-05-01T12:01:00+00:00", NULL);
	expect_next("30 0 12 * * *", "UTC", "2026-05-01T12:00:30+00:00",
	    "2026-05-02T12:00:30+00:00", NULL);
	expect_next("15,45 * * * * *", "UTC", "2026-05-01T12:00:15+00:00",
	    "2026-05-01T12:00:45+00:00", "2026-05-01T12:01:15+00:00", NULL);
}

/* The wall-clock search alone, without a zone. */
static void
test_civil_next(void **state)
{
	struct cron	 c;
	struct civil	 t;

	parse_ok("30 2 * * *", &c);
	memset(&t, 0, sizeof t);
	t.year = 2026;
	t.month = 3;
	t.day = 29;
	t.hour = 2;
	assert_int_equal(cron_civil_next(&c, &t), 0);
	assert_int_equal(t.year, 2026);
	assert_int_equal(t.month, 3);
	assert_int_equal(t.day, 29);
	assert_int_equal(t.hour, 2);
	assert_int_equal(t.minute, 30);
	assert_int_equal(t.wday, 0);

	/* "At or after": a matching start is returned as it is. */
	assert_int_equal(cron_civil_next(&c, &t), 0);
	assert_int_equal(t.day, 29);
	assert_int_equal(t.minute, 30);

	parse_ok("0 0 29 2 */7", &c);
	memset(&t, 0, sizeof t);
	t.year = 2032;
	t.month = 3;
	t.day = 1;
	assert_int_equal(cron_civil_next(&c, &t), 0);
	assert_int_equal(t.year, 2060);
	assert_int_equal(t.month, 2);
	assert_int_equal(t.day, 29);
	assert_int_equal(t.wday, 0);

	/* A schedule built by hand that never matches. */
	memset(&c, 0, sizeof c);
	c.sec = c.min = c.hour = 1;
	c.dom = BIT(31);
	c.mon = BIT(2);
	c.dom_star = 0;
	c.dow_star = 1;
	c.dow = 0x7f;
	memset(&t, 0, sizeof t);
	t.year = 2026;
	t.month = 1;
	t.day = 1;
	assert_int_equal(cron_civil_next(&c, &t), -1);
}

/* Berlin, 29 March 2026: 02:00 CET jumps to 03:00 CEST. */
static void
test_dst_berlin_spring(void **state)
{
	const char	*z = "Europe/Berlin";

	/* Restricted hours: times in the gap fire once, at the jump. */
	expect_next("30 2 * * *", z, "2026-03-28T12:00:00+01:00",
	    "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", NULL);
	expect_next("*/15 2 * * *", z, "2026-03-29T00:00:00+01:00",
	    "2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00",
	    "2026-03-30T02:15:00+02:00", NULL);
	expect_next("0 2,3 * * *", z, "2026-03-29T00:00:00+01:00",
	    "2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00",
	    "2026-03-30T03:00:00+02:00", NULL);
	expect_next("0 3 * * *", z, "2026-03-29T00:00:00+01:00",
	    "2026-03-29T03:00:00+02:00", "2026-03-30T03:00:00+02:00", NULL);
	expect_next("59 1 * * *", z, "2026-03-29T00:00:00+01:00",
	    "2026-03-29T01:59:00+01:00", "2026-03-30T01:59:00+02:00", NULL);
	expect_next("30 2 29 3 *", z, "2026-01-01T00:00:00+01:00",
	    "2026-03-29T03:00:00+02:00", "2027-03-29T02:30:00+02:00", NULL);
	/* Asked just before the jump, at it, and just after it. */
	expect_first("30 2 * * *", z, "2026-03-29T01:59:00+01:00",
	    "2026-03-29T03:00:00+02:00");
	expect_first("30 2 * * *", z, "2026-03-29T01:59:59+01:00",
	    "2026-03-29T03:00:00+02:00");
	expect_first("30 2 * * *", z, "2026-03-29T01:58:30+01:00",
	    "2026-03-29T03:00:00+02:00");
	expect_first("30 2 * * *", z, "2026-03-29T03:00:00+02:00",
	    "2026-03-30T02:30:00+02:00");
	expect_first("*/15 2 * * *", z, "2026-03-29T01:59:00+01:00",
	    "2026-03-29T03:00:00+02:00");

	/* Every-hour schedules: the gap does not exist. */
	expect_next("*/15 * * * *", z, "2026-03-29T01:30:00+01:00",
	    "2026-03-29T01:45:00+01:00", "2026-03-29T03:00:00+02:00",
	    "2026-03-29T03:15:00+02:00", NULL);
	expect_next("30 * * * *", z, "2026-03-29T01:00:00+01:00",
	    "2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00", NULL);
	expect_next("30 */2 * * *", z, "2026-03-29T00:00:00+01:00",
	    "2026-03-29T00:30:00+01:00", "2026-03-29T04:30:00+02:00", NULL);
	expect_first("*/15 * * * *", z, "2026-03-29T01:59:00+01:00",
	    "2026-03-29T03:00:00+02:00");
	expect_first("15 * * * *", z, "2026-03-29T01:59:00+01:00",
	    "2026-03-29T03:15:00+02:00");
}

/* Berlin, 25 October 2026: 03:00 CEST goes back to 02:00 CET. */
static void
test_dst_berlin_fall(void **state)
{
	const char	*z = "Europe/Berlin";

	/* Restricted hours: a repeated time fires at its first occurrence. */
	expect_next("30 2 * * *", z, "2026-10-25T00:00:00+02:00",
	    "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", NULL);
	expect_first("30 2 * * *", z, "2026-10-25T02:40:00+02:00",
	    "2026-10-26T02:30:00+01:00");
	expect_first("30 2 * * *", z, "2026-10-25T02:10:00+01:00",
	    "2026-10-26T02:30:00+01:00");
	expect_first("30 2 * * *", z, "2026-10-25T02:30:00+02:00",
	    "2026-10-26T02:30:00+01:00");
	expect_next("*/15 2 * * *", z, "2026-10-25T01:50:00+02:00",
	    "2026-10-25T02:00:00+02:00", "2026-10-25T02:15:00+02:00",
	    "2026-10-25T02:30:00+02:00", "2026-10-25T02:45:00+02:00",
	    "2026-10-26T02:00:00+01:00", NULL);
	expect_next("0 2,3 * * *", z, "2026-10-25T01:00:00+02:00",
	    "2026-10-25T02:00:00+02:00", "2026-10-25T03:00:00+01:00",
	    "2026-10-26T02:00:00+01:00", NULL);
	expect_first("0 2,3 * * *", z, "2026-10-25T02:59:59+02:00",
	    "2026-10-25T03:00:00+01:00");

	/* Every-hour schedules: both passes. */
	expect_next("*/15 * * * *", z, "2026-10-25T02:40:00+02:00",
	    "2026-10-25T02:45:00+02:00", "2026-10-25T02:00:00+01:00",
	    "2026-10-25T02:15:00+01:00", "2026-10-25T02:30:00+01:00",
	    "2026-10-25T02:45:00+01:00", "2026-10-25T03:00:00+01:00", NULL);
	expect_next("30 * * * *", z, "2026-10-25T01:00:00+02:00",
	    "2026-10-25T01:30:00+02:00", "2026-10-25T02:30:00+02:00",
	    "2026-10-25T02:30:00+01:00", "2026-10-25T03:30:00+01:00", NULL);
	expect_next("0 * * * *", z, "2026-10-25T01:30:00+02:00",
	    "2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00",
	    "2026-10-25T03:00:00+01:00", NULL);
	expect_first("30 * * * *", z, "2026-10-25T02:40:00+02:00",
	    "2026-10-25T02:30:00+01:00");
}

/* New York, 8 March and 1 November 2026, at 02:00. */
static void
test_dst_new_york(void **state)
{
	const char	*z = "America/New_York";

	expect_next("30 2 * * *", z, "2026-03-07T12:00:00-05:00",
	    "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00", NULL);
	expect_next("*/15 2 * * *", z, "2026-03-08T01:50:00-05:00",
	    "2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00", NULL);
	expect_next("0 * * * *", z, "2026-03-08T00:30:00-05:00",
	    "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00",
	    "2026-03-08T04:00:00-04:00", NULL);
	expect_next("*/20 * * * *", z, "2026-03-08T01:30:00-05:00",
	    "2026-03-08T01:40:00-05:00", "2026-03-08T03:00:00-04:00", NULL);

	expect_next("30 1 * * *", z, "2026-10-31T12:00:00-04:00",
	    "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00", NULL);
	expect_next("*/15 1 * * *", z, "2026-11-01T00:50:00-04:00",
	    "2026-11-01T01:00:00-04:00", "2026-11-01T01:15:00-04:00",
	    "2026-11-01T01:30:00-04:00", "2026-11-01T01:45:00-04:00",
	    "2026-11-02T01:00:00-05:00", NULL);
	expect_next("*/20 * * * *", z, "2026-11-01T01:30:00-04:00",
	    "2026-11-01T01:40:00-04:00", "2026-11-01T01:00:00-05:00",
	    "2026-11-01T01:20:00-05:00", "2026-11-01T01:40:00-05:00",
	    "2026-11-01T02:00:00-05:00", NULL);
	expect_first("0 2 * * *", z, "2026-11-01T00:00:00-04:00",
	    "2026-11-01T02:00:00-05:00");
}

/* Lord Howe shifts by 30 minutes: +10:30 and +11. */
static void
test_dst_lord_howe(void **state)
{
	const char	*z = "Australia/Lord_Howe";

	/* 4 October 2026: 02:00 +10:30 jumps to 02:30 +11. */
	expect_next("15 2 * * *", z, "2026-10-03T12:00:00+10:30",
	    "2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00", NULL);
	expect_next("*/10 2 * * *", z, "2026-10-04T01:00:00+10:30",
	    "2026-10-04T02:30:00+11:00", "2026-10-04T02:40:00+11:00",
	    "2026-10-04T02:50:00+11:00", "2026-10-05T02:00:00+11:00", NULL);
	expect_next("0,30 * * * *", z, "2026-10-04T01:00:00+10:30",
	    "2026-10-04T01:30:00+10:30", "2026-10-04T02:30:00+11:00",
	    "2026-10-04T03:00:00+11:00", NULL);
	expect_next("45 2 * * *", z, "2026-10-04T01:00:00+10:30",
	    "2026-10-04T02:45:00+11:00", NULL);

	/* 5 April 2026: 02:00 +11 goes back to 01:30 +10:30. */
	expect_next("45 1 * * *", z, "2026-04-04T12:00:00+11:00",
	    "2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30", NULL);
	expect_next("*/15 * * * *", z, "2026-04-05T01:40:00+11:00",
	    "2026-04-05T01:45:00+11:00", "2026-04-05T01:30:00+10:30",
	    "2026-04-05T01:45:00+10:30", "2026-04-05T02:00:00+10:30", NULL);
	expect_next("0 2 * * *", z, "2026-04-04T12:00:00+11:00",
	    "2026-04-05T02:00:00+10:30", NULL);
	expect_next("*/20 1 * * *", z, "2026-04-05T01:10:00+11:00",
	    "2026-04-05T01:20:00+11:00", "2026-04-05T01:40:00+11:00",
	    "2026-04-06T01:00:00+10:30", NULL);
}

/* Beirut changes at midnight: some days have no 00:00. */
static void
test_dst_midnight_beirut(void **state)
{
	const char	*z = "Asia/Beirut";

	/* 29 March 2026: 00:00 EET jumps to 01:00 EEST. */
	expect_next("0 0 * * *", z, "2026-03-28T12:00:00+02:00",
	    "2026-03-29T01:00:00+03:00", "2026-03-30T00:00:00+03:00", NULL);
	expect_next("@daily", z, "2026-03-28T23:59:00+02:00",
	    "2026-03-29T01:00:00+03:00", NULL);
	expect_next("30 0 * * *", z, "2026-03-28T12:00:00+02:00",
	    "2026-03-29T01:00:00+03:00", "2026-03-30T00:30:00+03:00", NULL);
	expect_next("0 0 * * sun", z, "2026-03-27T00:00:00+02:00",
	    "2026-03-29T01:00:00+03:00", "2026-04-05T00:00:00+03:00", NULL);
	expect_next("0 0 29 3 *", z, "2026-01-01T00:00:00+02:00",
	    "2026-03-29T01:00:00+03:00", "2027-03-29T00:00:00+03:00", NULL);
	expect_next("30 * * * *", z, "2026-03-28T23:00:00+02:00",
	    "2026-03-28T23:30:00+02:00", "2026-03-29T01:30:00+03:00", NULL);

	/* 25 October 2026: 00:00 EEST goes back to 23:00 EET on the 24th. */
	expect_next("0 0 * * *", z, "2026-10-24T12:00:00+03:00",
	    "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+02:00", NULL);
	expect_next("30 23 * * *", z, "2026-10-24T12:00:00+03:00",
	    "2026-10-24T23:30:00+03:00", "2026-10-25T23:30:00+02:00", NULL);
	expect_next("30 * * * *", z, "2026-10-24T22:45:00+03:00",
	    "2026-10-24T23:30:00+03:00", "2026-10-24T23:30:00+02:00",
	    "2026-10-25T00:30:00+02:00", NULL);
}

/* Havana changes at midnight in spring and at 01:00 in autumn. */
static void
test_dst_midnight_havana(void **state)
{
	const char	*z = "America/Havana";

	/* 8 March 2026: 00:00 CST jumps to 01:00 CDT. */
	expect_next("0 0 * * *", z, "2026-03-07T12:00:00-05:00",
	    "2026-03-08T01:00:00-04:00", "2026-03-09T00:00:00-04:00", NULL);
	expect_next("*/30 * * * *", z, "2026-03-07T23:00:00-05:00",
	    "2026-03-07T23:30:00-05:00", "2026-03-08T01:00:00-04:00",
	    "2026-03-08T01:30:00-04:00", NULL);

	/* 2 November 2025: 01:00 CDT goes back to 00:00 CST. */
	expect_next("0 0 * * *", z, "2025-11-01T12:00:00-04:00",
	    "2025-11-02T00:00:00-04:00", "2025-11-03T00:00:00-05:00", NULL);
	expect_next("*/30 * * * *", z, "2025-11-01T23:50:00-04:00",
	    "2025-11-02T00:00:00-04:00", "2025-11-02T00:30:00-04:00",
	    "2025-11-02T00:00:00-05:00", "2025-11-02T00:30:00-05:00",
	    "2025-11-02T01:00:00-05:00", NULL);
}

/* Santiago changes at 24:00 on Saturday. */
static void
test_dst_midnight_santiago(void **state)
{
	const char	*z = "America/Santiago";

	/* 6 September 2026: Sunday 00:00 -04 is 01:00 -03. */
	expect_next("0 0 * * *", z, "2026-09-05T12:00:00-04:00",
	    "2026-09-06T01:00:00-03:00", "2026-09-07T00:00:00-03:00", NULL);
	expect_next("0 0 * * 0", z, "2026-09-01T00:00:00-04:00",
	    "2026-09-06T01:00:00-03:00", "2026-09-13T00:00:00-03:00", NULL);
	expect_next("0 0 1-7 9 *", z, "2026-09-05T00:00:00-04:00",
	    "2026-09-06T01:00:00-03:00", "2026-09-07T00:00:00-03:00", NULL);

	/* 5 April 2026: Sunday 00:00 -03 is Saturday 23:00 -04. */
	expect_next("0 0 * * *", z, "2026-04-04T12:00:00-03:00",
	    "2026-04-05T00:00:00-04:00", "2026-04-06T00:00:00-04:00", NULL);
	expect_next("30 23 * * *", z, "2026-04-04T12:00:00-03:00",
	    "2026-04-04T23:30:00-03:00", "2026-04-05T23:30:00-04:00", NULL);
	expect_next("30 23 * * sat", z, "2026-04-04T23:40:00-03:00",
	    "2026-04-11T23:30:00-04:00", NULL);
	expect_next("*/30 23 * * *", z, "2026-04-04T22:50:00-03:00",
	    "2026-04-04T23:00:00-03:00", "2026-04-04T23:30:00-03:00",
	    "2026-04-05T23:00:00-04:00", NULL);
}

/* Six-field schedules by the same rules, on the second. */
static void
test_dst_seconds(void **state)
{
	const char	*z = "Europe/Berlin";

	expect_next("*/20 * * * * *", z, "2026-03-29T01:59:00+01:00",
	    "2026-03-29T01:59:20+01:00", "2026-03-29T01:59:40+01:00",
	    "2026-03-29T03:00:00+02:00", "2026-03-29T03:00:20+02:00", NULL);
	expect_next("0 30 2 * * *", z, "2026-03-28T12:00:00+01:00",
	    "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", NULL);
	expect_next("*/10 * 2 * * *", z, "2026-03-29T01:59:50+01:00",
	    "2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00", NULL);
	expect_first("0 30 2 * * *", z, "2026-03-29T01:59:59+01:00",
	    "2026-03-29T03:00:00+02:00");
	expect_next("*/30 * * * * *", z, "2026-10-25T02:59:00+02:00",
	    "2026-10-25T02:59:30+02:00", "2026-10-25T02:00:00+01:00",
	    "2026-10-25T02:00:30+01:00", NULL);
	expect_next("15 59 2 * * *", z, "2026-10-25T02:59:00+02:00",
	    "2026-10-25T02:59:15+02:00", "2026-10-26T02:59:15+01:00", NULL);
	/* Antarctica/Troll goes back two hours: 03:00 +02 to 01:00 +00. */
	expect_next("0 0 1,2 * * *", "Antarctica/Troll",
	    "2026-10-25T02:00:00+02:00", "2026-10-26T01:00:00+00:00",
	    "2026-10-26T02:00:00+00:00", NULL);
	expect_first("* * 1,2 * * *", "Antarctica/Troll",
	    "2026-10-25T02:59:59+02:00", "2026-10-26T01:00:00+00:00");
}

/*
 * A fall-back of three hours (a POSIX rule in $TZ, as no zone has one
 * today): an every-second schedule with a restricted hour passes over the
 * whole repeated stretch at once, and fires again after it.
 */
static void
test_dst_long_fall_back(void **state)
{
	struct cron	 c;
	struct tz	*z;
	char		*cause = NULL, got[64];
	int64_t		 t;

	setenv("TZ", "AAA0BBB-3,M3.5.0/1,M10.5.0/4", 1);
	z = tz_load(NULL, &cause);
	assert_non_null(z);
	parse_ok("* * 1-3 * * *", &c);
	/* 2026-10-25T03:59:59+03:00, the last second before the change. */
	t = cron_next(&c, z, iso("2026-10-25T03:59:58+03:00"));
	cron_format(z, t, got, sizeof got);
	assert_string_equal(got, "2026-10-25T03:59:59+03:00");
	t = cron_next(&c, z, t);
	cron_format(z, t, got, sizeof got);
	assert_string_equal(got, "2026-10-26T01:00:00+00:00");
	/* Every-hour: it fires through the repeat. */
	parse_ok("* * * * * *", &c);
	t = cron_next(&c, z, iso("2026-10-25T03:59:59+03:00"));
	cron_format(z, t, got, sizeof got);
	assert_string_equal(got, "2026-10-25T01:00:00+00:00");
	tz_free(z);
	unsetenv("TZ");
}

/* Far past the zone file's last transition, by its POSIX rule. */
static void
test_dst_far_future(void **state)
{
	expect_next("30 2 * * *", "Europe/Berlin", "2090-03-25T12:00:00+01:00",
	    "2090-03-26T03:00:00+02:00", "2090-03-27T02:30:00+02:00", NULL);
	expect_next("30 2 * * *", "Europe/Berlin", "2090-10-28T12:00:00+02:00",
	    "2090-10-29T02:30:00+02:00", "2090-10-30T02:30:00+01:00", NULL);
	expect_next("*/30 * * * *", "Europe/Berlin",
	    "2100-10-31T02:10:00+02:00", "2100-10-31T02:30:00+02:00",
	    "2100-10-31T02:00:00+01:00", "2100-10-31T02:30:00+01:00", NULL);
	expect_next("0 0 * * *", "Asia/Beirut", "2099-03-28T12:00:00+02:00",
	    "2099-03-29T01:00:00+03:00", NULL);
}

/*
 * One schedule over a span across changes: every answer must be the first
 * time of the sequence after the instant asked about.
 */
static void
check_independent(const char *expr, const char *zname, const char *start,
    const char *end)
{
	struct cron	 c;
	struct tz	*z;
	int64_t		*seq, from, t0 = iso(start), t1 = iso(end), got;
	u_int		 n = 0, i, k;
	char		 a[64], b[64], w[64];

	parse_ok(expr, &c);
	z = zone(zname);
	seq = calloc(MAXFIRES, sizeof *seq);
	assert_non_null(seq);
	for (got = cron_next(&c, z, t0); got != -1 && got <= t1;
	    got = cron_next(&c, z, got)) {
		if (n > 0 && got <= seq[n - 1])
			fail_msg("\"%s\" in %s goes backwards", expr, zname);
		assert_true(n < MAXFIRES);
		seq[n++] = got;
	}
	if (n < 2)
		fail_msg("\"%s\" in %s: only %u fires", expr, zname, n);
	for (from = t0, k = 0; from < seq[n - 1]; from += 7 * 60 + k % 3) {
		k++;
		for (i = 0; i < n && seq[i] <= from; i++)
			;
		got = cron_next(&c, z, from);
		if (got != seq[i]) {
			cron_format(z, from, a, sizeof a);
			cron_format(z, got, b, sizeof b);
			cron_format(z, seq[i], w, sizeof w);
			fail_msg("\"%s\" in %s from %s: %s, but %s from the "
			    "start", expr, zname, a, b, w);
		}
	}
	for (i = 0; i + 1 < n; i++) {
		if (cron_next(&c, z, seq[i] - 1) != seq[i] ||
		    cron_next(&c, z, seq[i]) != seq[i + 1] ||
		    cron_next(&c, z, (seq[i] + seq[i + 1]) / 2) != seq[i + 1]) {
			cron_format(z, seq[i], w, sizeof w);
			fail_msg("\"%s\" in %s: asked next to %s, another "
			    "answer", expr, zname, w);
		}
	}
	free(seq);
	tz_free(z);
}

/* Fire times depend only on the expression and the zone. */
static void
test_independence(void **state)
{
	static const struct {
		const char	*expr, *zone, *start, *end;
	} t[] = {
		{ "30 2 * * *", "Europe/Berlin", "2026-03-27T00:00:00+01:00",
		    "2026-03-31T00:00:00+02:00" },
		{ "*/15 2 * * *", "Europe/Berlin", "2026-03-28T00:00:00+01:00",
		    "2026-03-30T12:00:00+02:00" },
		{ "0 2,3 * * *", "Europe/Berlin", "2026-10-24T00:00:00+02:00",
		    "2026-10-26T12:00:00+01:00" },
		{ "*/15 * * * *", "Europe/Berlin", "2026-10-24T22:00:00+02:00",
		    "2026-10-25T06:00:00+01:00" },
		{ "*/15 2 * * *", "Europe/Berlin", "2026-10-24T00:00:00+02:00",
		    "2026-10-26T12:00:00+01:00" },
		{ "30 * * * *", "America/New_York",
		    "2026-03-07T20:00:00-05:00", "2026-03-08T08:00:00-04:00" },
		{ "30 1 * * *", "America/New_York",
		    "2026-10-30T00:00:00-04:00", "2026-11-03T00:00:00-05:00" },
		{ "*/10 2 * * *", "Australia/Lord_Howe",
		    "2026-10-03T00:00:00+10:30", "2026-10-05T12:00:00+11:00" },
		{ "*/10 1 * * *", "Australia/Lord_Howe",
		    "2026-04-04T00:00:00+11:00", "2026-04-06T12:00:00+10:30" },
		{ "0 0 * * *", "Asia/Beirut", "2026-03-27T00:00:00+02:00",
		    "2026-03-31T00:00:00+03:00" },
		{ "30 23 * * *", "Asia/Beirut", "2026-10-23T00:00:00+03:00",
		    "2026-10-27T00:00:00+02:00" },
		{ "*/20 23,0 * * *", "America/Santiago",
		    "2026-04-03T00:00:00-03:00", "2026-04-06T12:00:00-04:00" },
		{ "*/5 * * * * *", "America/Havana",
		    "2025-11-02T00:40:00-04:00", "2025-11-02T00:20:00-05:00" },
		{ "0 1,2 * * *", "Antarctica/Troll",
		    "2026-10-24T00:00:00+02:00", "2026-10-27T00:00:00+00:00" },
	};
	u_int	 i;

	for (i = 0; i < NITEMS(t); i++)
		check_independent(t[i].expr, t[i].zone, t[i].start, t[i].end);
}

/* Whether wall-clock time tm matches c (the Vixie rule), for the oracle. */
static int
oracle_match(const struct cron *c, const struct tm *tm)
{
	int	 dom, dow, day;

	dom = (c->dom >> tm->tm_mday) & 1;
	dow = (c->dow >> tm->tm_wday) & 1;
	day = c->dom_star || c->dow_star ? dom && dow : dom || dow;
	return (day && ((c->mon >> (tm->tm_mon + 1)) & 1) &&
	    ((c->hour >> tm->tm_hour) & 1) && ((c->min >> tm->tm_min) & 1) &&
	    ((c->sec >> tm->tm_sec) & 1));
}

/* The wall-clock fields of local seconds w, for the oracle. */
static void
oracle_wall(int64_t w, struct tm *tm)
{
	time_t	 tt = (time_t)w;

	gmtime_r(&tt, tm);
}

/* Check cron_next from one instant against the oracle's fires. */
static void
oracle_ask(const struct cron *c, const char *expr, const struct tz *z,
    const int64_t *fires, u_int nf, int64_t from)
{
	int64_t	 want = -1, got;
	u_int	 i;
	char	 a[64], b[64], x[64];

	for (i = 0; i < nf && want == -1; i++) {
		if (fires[i] > from)
			want = fires[i];
	}
	got = cron_next(c, z, from);
	if (got != want) {
		cron_format(z, from, a, sizeof a);
		cron_format(z, got, b, sizeof b);
		cron_format(z, want, x, sizeof x);
		fail_msg("\"%s\" in %s from %s: %s, want %s", expr,
		    tz_name(z), a, b, x);
	}
}

/*
 * Check cron_next against SPEC section 4 worked out minute by minute with
 * glibc's localtime for a 5-field schedule, in a window starting at start
 * in the zone of $TZ: off[i] and tms[i] are the offset and the wall clock
 * at start + 60 * i.
 */
static void
check_oracle(const struct cron *c, const char *expr, const struct tz *z,
    int64_t start, const long *off, const struct tm *tms, int64_t *fires)
{
	struct tm	 wt;
	int64_t		 u, w, u2, from;
	long		 offs[4];
	u_int		 n = WINDOW / 60, i, j, nf = 0, noffs = 0, k = 0;
	int		 fire;

	for (i = 0; i < n; i++) {
		for (j = 0; j < noffs && offs[j] != off[i]; j++)
			;
		if (j == noffs && noffs < NITEMS(offs))
			offs[noffs++] = off[i];
	}
	for (i = 1; i < n; i++) {
		u = start + (int64_t)i * 60;
		fire = 0;
		if (c->hour_star)
			fire = oracle_match(c, &tms[i]);
		else {
			/* A jump forward: skipped times fire at it. */
			for (w = u + off[i - 1]; w < u + off[i]; w += 60) {
				oracle_wall(w, &wt);
				if (oracle_match(c, &wt))
					fire = 1;
			}
			/* A repeated time fires at its first occurrence. */
			if (!fire && oracle_match(c, &tms[i])) {
				fire = 1;
				w = u + off[i];
				for (j = 0; j < noffs; j++) {
					u2 = w - offs[j];
					if (u2 >= u)
						continue;
					if (u2 < start ? offs[j] == off[0] :
					    off[(u2 - start) / 60] == offs[j])
						fire = 0;
				}
			}
		}
		if (fire) {
			assert_true(nf < MAXFIRES);
			fires[nf++] = u;
		}
	}
	if (nf < 2)
		fail_msg("\"%s\" in %s: the oracle found %u fires", expr,
		    tz_name(z), nf);
	for (i = 0; i + 1 < nf; i++) {
		/* Next to each fire, and every few minutes between. */
		oracle_ask(c, expr, z, fires, nf, fires[i] - 1);
		oracle_ask(c, expr, z, fires, nf, fires[i]);
		oracle_ask(c, expr, z, fires, nf, fires[i + 1] - 60);
		for (from = fires[i] + 1 + k % 7; from < fires[i + 1];
		    from += 7 * 60 + k++ % 7)
			oracle_ask(c, expr, z, fires, nf, from);
	}
}

/* cron_next against a minute-by-minute oracle built on glibc. */
static void
test_dst_oracle(void **state)
{
	static const struct {
		const char	*zone, *start;
	} win[] = {
		{ "Europe/Berlin", "2026-03-28T01:00:00+00:00" },
		{ "Europe/Berlin", "2026-10-24T01:00:00+00:00" },
		{ "Europe/Berlin", "2090-10-27T23:00:00+00:00" },
		{ "America/New_York", "2026-03-07T07:00:00+00:00" },
		{ "America/New_York", "2026-10-31T06:00:00+00:00" },
		{ "Australia/Lord_Howe", "2026-04-03T15:00:00+00:00" },
		{ "Australia/Lord_Howe", "2026-10-02T15:00:00+00:00" },
		{ "Asia/Beirut", "2026-03-27T22:00:00+00:00" },
		{ "Asia/Beirut", "2026-10-23T21:00:00+00:00" },
		{ "America/Havana", "2025-11-01T05:00:00+00:00" },
		{ "America/Havana", "2026-03-07T05:00:00+00:00" },
		{ "America/Santiago", "2026-04-04T03:00:00+00:00" },
		{ "America/Santiago", "2026-09-05T04:00:00+00:00" },
		{ "Pacific/Chatham", "2026-09-26T02:00:00+00:00" },
		{ "Antarctica/Troll", "2026-10-24T01:00:00+00:00" },
	};
	static const char	*exprs[] = { "30 2 * * *", "*/15 2 * * *",
	    "0 2,3 * * *", "*/15 * * * *", "30 * * * *", "0 0 * * *",
	    "30 23 * * *", "45 1 * * *", "15,45 0-3 * * *", "0 0 * * 0,1",
	    "*/20 1-3 * * *", "10 */2 * * *", "0 3 * * *" };
	struct cron		 c;
	struct tz		*z;
	struct tm		*tms;
	long			*off;
	int64_t			*fires, start;
	u_int			 i, j, n = WINDOW / 60;

	tms = calloc(n, sizeof *tms);
	off = calloc(n, sizeof *off);
	fires = calloc(MAXFIRES, sizeof *fires);
	assert_true(tms != NULL && off != NULL && fires != NULL);
	for (i = 0; i < NITEMS(win); i++) {
		z = zone(win[i].zone);
		glibc_zone(win[i].zone);
		start = iso(win[i].start);
		for (j = 0; j < n; j++)
			off[j] = glibc_offset(start + (int64_t)j * 60, &tms[j]);
		if (off[0] == off[n - 1])
			fail_msg("no change in %s after %s", win[i].zone,
			    win[i].start);
		for (j = 0; j < NITEMS(exprs); j++) {
			parse_ok(exprs[j], &c);
			check_oracle(&c, exprs[j], z, start, off, tms, fires);
		}
		tz_free(z);
	}
	glibc_zone(NULL);
	free(fires);
	free(off);
	free(tms);
}

/* The zones checked against glibc. */
static const char *glibc_zones[] = {
	"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
	"Asia/Beirut", "America/Havana", "America/Santiago", "Asia/Kolkata",
	"Pacific/Chatham", "America/St_Johns", "Europe/Dublin",
	"Africa/Casablanca", "UTC", "Asia/Tehran", "Pacific/Apia",
	"Asia/Kathmandu", "Antarctica/Troll", "America/Nuuk", "Europe/London",
	"Australia/Sydney", "America/Sao_Paulo", "Pacific/Auckland",
	"Etc/GMT+5", "Asia/Gaza", "Pacific/Kiritimati", "America/Adak",
	"Africa/Cairo", "Europe/Moscow", "America/Asuncion",
};

/* Check tz_offset against glibc at instant t, with next and prev. */
static void
check_offset(const struct tz *z, int64_t t)
{
	int64_t	 nx, pv;
	long	 want;
	int	 off;

	want = glibc_offset(t, NULL);
	off = tz_offset(z, t, &nx, &pv);
	if (off != want)
		fail_msg("%s at %lld: offset %d, glibc says %ld", tz_name(z),
		    (long long)t, off, want);
	if (!(pv <= t && t < nx))
		fail_msg("%s at %lld: prev %lld and next %lld do not bracket "
		    "it", tz_name(z), (long long)t, (long long)pv,
		    (long long)nx);
	/* No change in between: the same offset from prev to next - 1. */
	if (nx != INT64_MAX && glibc_offset(nx - 1, NULL) != off)
		fail_msg("%s: offset changes between %lld and next %lld",
		    tz_name(z), (long long)t, (long long)nx);
	if (pv != INT64_MIN && glibc_offset(pv, NULL) != off)
		fail_msg("%s: offset changes between prev %lld and %lld",
		    tz_name(z), (long long)pv, (long long)t);
	if (nx != INT64_MAX && tz_offset(z, nx, NULL, NULL) !=
	    glibc_offset(nx, NULL))
		fail_msg("%s: offset at next %lld differs from glibc",
		    tz_name(z), (long long)nx);
}

/* tz_offset equals glibc's tm_gmtoff from 1970 to 2100. */
static void
test_tz_glibc(void **state)
{
	struct tz	*z;
	int64_t		 t;
	u_int		 i;

	for (i = 0; i < NITEMS(glibc_zones); i++) {
		z = zone(glibc_zones[i]);
		glibc_zone(glibc_zones[i]);
		/* The explicit transitions of the zone file. */
		for (t = 0; t < INT32_MAX; t += 13 * 86400 + 3607)
			check_offset(z, t);
		/* Past them, where the footer's POSIX rule applies. */
		for (t = iso("2040-01-01T00:00:00+00:00");
		    t < iso("2100-12-31T00:00:00+00:00");
		    t += 17 * 86400 + 2221)
			check_offset(z, t);
		tz_free(z);
	}
	glibc_zone(NULL);
}

/* Every change a zone reports is one glibc sees; genuine ones change. */
static void
test_tz_transitions(void **state)
{
	static const struct {
		const char	*zone;
		int		 per_year;	/* from 2040 on */
	} t[] = {
		{ "Europe/Berlin", 2 },
		{ "America/New_York", 2 },
		{ "Australia/Lord_Howe", 2 },
		{ "Pacific/Chatham", 2 },
		{ "Europe/Dublin", 2 },
		{ "America/Santiago", 2 },
		{ "Asia/Kolkata", 0 },
		{ "UTC", 0 },
	};
	struct tz	*z;
	int64_t		 at, nx, pv, end;
	u_int		 i, n, genuine;

	for (i = 0; i < NITEMS(t); i++) {
		z = zone(t[i].zone);
		glibc_zone(t[i].zone);
		/* Walk the changes of 1970-2039 as the zone gives them. */
		at = 0;
		end = iso("2040-01-01T00:00:00+00:00");
		for (n = genuine = 0; ; n++) {
			tz_offset(z, at, &nx, &pv);
			assert_true(nx > at);
			if (nx >= end)
				break;
			if (glibc_offset(nx - 1, NULL) !=
			    glibc_offset(nx, NULL))
				genuine++;
			assert_int_equal(tz_offset(z, nx, NULL, &pv),
			    glibc_offset(nx, NULL));
			assert_int_equal(pv, nx);
			assert_int_equal(tz_offset(z, nx - 1, NULL, NULL),
			    glibc_offset(nx - 1, NULL));
			at = nx;
		}
		if (t[i].per_year != 0 && genuine < 60)
			fail_msg("%s: %u genuine changes in 1970-2039",
			    t[i].zone, genuine);
		/* By the POSIX rule every change changes the offset. */
		at = end;
		end = iso("2100-01-01T00:00:00+00:00");
		for (n = 0; ; n++) {
			tz_offset(z, at, &nx, NULL);
			if (nx >= end)
				break;
			if (tz_offset(z, nx - 1, NULL, NULL) ==
			    tz_offset(z, nx, NULL, NULL))
				fail_msg("%s: no change at %lld", t[i].zone,
				    (long long)nx);
			assert_int_equal(tz_offset(z, nx, NULL, NULL),
			    glibc_offset(nx, NULL));
			at = nx;
		}
		assert_int_equal(n, 60 * t[i].per_year);
		tz_free(z);
	}
	glibc_zone(NULL);

	/* Berlin's changes in 2090: 01:00 UTC on the last Sundays. */
	z = zone("Europe/Berlin");
	tz_offset(z, iso("2090-01-01T00:00:00+00:00"), &nx, &pv);
	assert_int_equal(nx, iso("2090-03-26T01:00:00+00:00"));
	assert_int_equal(pv, iso("2089-10-30T01:00:00+00:00"));
	tz_offset(z, nx, &nx, &pv);
	assert_int_equal(nx, iso("2090-10-29T01:00:00+00:00"));
	assert_int_equal(pv, iso("2090-03-26T01:00:00+00:00"));
	assert_int_equal(tz_offset(z, nx - 1, NULL, NULL), 7200);
	assert_int_equal(tz_offset(z, nx, NULL, NULL), 3600);
	tz_free(z);
}

/* Check that tz_load refuses name with a cause naming it. */
static void
load_bad(const char *name)
{
	struct tz	*z;
	char		*cause = NULL;

	z = tz_load(name, &cause);
	if (z != NULL)
		fail_msg("tz_load(\"%s\") succeeded", name);
	if (cause == NULL || strstr(cause, name) == NULL)
		fail_msg("tz_load(\"%s\"): cause \"%s\" does not name it",
		    name, cause != NULL ? cause : "(null)");
	free(cause);
}

/* Unknown zone names are errors, never UTC. */
static void
test_tz_load_errors(void **state)
{
	struct tz	*z;

	load_bad("Mars/Olympus_Mons");
	load_bad("../etc/passwd");
	load_bad("Europe/../../../etc/passwd");
	load_bad("/etc/localtime");
	load_bad("/usr/share/zoneinfo/Europe/Berlin");
	load_bad("CET-1CEST");
	load_bad("CET-1CEST,M3.5.0,M10.5.0/3");
	load_bad("EST5EDT,M3.2.0,M11.1.0");
	load_bad(":Europe/Berlin");
	load_bad("Europe");
	load_bad("Europe/");
	load_bad("Europe/Berlin/");
	load_bad("Europe/Berlin ");
	load_bad("europe/berlin!");
	load_bad("zone1970.tab");
	load_bad("leapseconds");
	load_bad("");

	z = zone("Europe/Berlin");
	assert_string_equal(tz_name(z), "Europe/Berlin");
	tz_free(z);
	z = zone("UTC");
	assert_string_equal(tz_name(z), "UTC");
	assert_int_equal(tz_offset(z, 0, NULL, NULL), 0);
	tz_free(z);
	tz_free(NULL);
}

/* tz_load(NULL) reads $TZ: a POSIX rule, ":name", a path, or nothing. */
static void
test_tz_load_local(void **state)
{
	struct tz	*z, *b;
	struct cron	 c;
	char		*cause = NULL;
	int64_t		 t;

	glibc_zone("EST5EDT,M3.2.0,M11.1.0");
	z = tz_load(NULL, &cause);
	if (z == NULL)
		fail_msg("TZ=EST5EDT,M3.2.0,M11.1.0: %s", cause);
	for (t = iso("2026-01-01T00:00:00+00:00");
	    t < iso("2028-01-01T00:00:00+00:00"); t += 86400 / 3 + 7)
		check_offset(z, t);
	for (t = iso("2090-01-01T00:00:00+00:00");
	    t < iso("2091-01-01T00:00:00+00:00"); t += 86400 / 3 + 7)
		check_offset(z, t);
	parse_ok("30 2 * * *", &c);
	t = cron_next(&c, z, iso("2026-03-07T12:00:00-05:00"));
	check_iso(z, t, "2026-03-08T03:00:00-04:00");
	tz_free(z);

	glibc_zone(":Europe/Berlin");
	z = tz_load(NULL, &cause);
	if (z == NULL)
		fail_msg("TZ=:Europe/Berlin: %s", cause);
	assert_string_equal(tz_name(z), "Europe/Berlin");
	b = zone("Europe/Berlin");
	for (t = 0; t < iso("2100-01-01T00:00:00+00:00"); t += 86400 * 11 + 1)
		assert_int_equal(tz_offset(z, t, NULL, NULL),
		    tz_offset(b, t, NULL, NULL));
	check_iso(z, iso("2026-03-29T01:00:00+00:00"),
	    "2026-03-29T03:00:00+02:00");
	tz_free(b);
	tz_free(z);

	glibc_zone("/usr/share/zoneinfo/Asia/Tokyo");
	z = tz_load(NULL, &cause);
	if (z == NULL)
		fail_msg("TZ=/usr/share/zoneinfo/Asia/Tokyo: %s", cause);
	check_iso(z, iso("2026-07-01T00:00:00+00:00"),
	    "2026-07-01T09:00:00+09:00");
	tz_free(z);

	glibc_zone("Mars/Olympus_Mons");
	z = tz_load(NULL, &cause);
	assert_null(z);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "Mars/Olympus_Mons"));
	free(cause);
	cause = NULL;

	glibc_zone("");
	z = tz_load(NULL, &cause);
	assert_non_null(z);
	tz_free(z);
	glibc_zone(NULL);
	z = tz_load(NULL, &cause);
	assert_non_null(z);
	assert_null(cause);
	tz_free(z);
}

/* Write len bytes to a new temporary file; returns its path, allocated. */
static char *
temp_file(const void *data, size_t len)
{
	char	*path;
	int	 fd;

	path = strdup("/tmp/test_cron.XXXXXX");
	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return (path);
}

/* Load data as the zone file $TZ names; 1 if it loaded, 0 if refused. */
static int
load_data(const void *data, size_t len)
{
	struct tz	*z;
	char		*path, *cause = NULL;
	int		 ok;

	path = temp_file(data, len);
	glibc_zone(path);
	z = tz_load(NULL, &cause);
	if ((ok = z != NULL)) {
		/* Whatever it holds must be usable. */
		tz_offset(z, 0, NULL, NULL);
		tz_offset(z, INT32_MAX * (int64_t)2, NULL, NULL);
		assert_null(cause);
	} else if (cause == NULL || strstr(cause, path) == NULL)
		fail_msg("%s refused, but the cause does not name it", path);
	tz_free(z);
	free(cause);
	unlink(path);
	free(path);
	return (ok);
}

/* Corrupt or cut zone files are refused or read within their bounds. */
static void
test_tz_corrupt(void **state)
{
	static const u_char	 neg[] = {
		/* Version 2, one type: +01:00. */
		'T', 'Z', 'i', 'f', '2', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1,
		0, 0, 0x0e, 0x10, 0, 0, 0,
		/* The 64-bit block says it has -256 bytes of names. */
		'T', 'Z', 'i', 'f', '2', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0x00,
		0, 0, 0x0e, 0x10, 0, 0, '\n', 'C', 'E', 'T', '-', '1', '\n',
	};
	static const char	*text = "not a zone file, just text\n";
	u_char			*data, *copy, *second;
	size_t			 len, i, j;
	FILE			*f;

	assert_int_equal(load_data(neg, sizeof neg), 0);
	assert_int_equal(load_data("TZif", 4), 0);
	assert_int_equal(load_data("", 0), 0);
	assert_int_equal(load_data(text, strlen(text)), 0);

	f = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
	assert_non_null(f);
	data = malloc(ZONE_FILE_MAX);
	assert_non_null(data);
	len = fread(data, 1, ZONE_FILE_MAX, f);
	fclose(f);
	assert_true(len > 44 && len < ZONE_FILE_MAX);
	assert_int_equal(load_data(data, len), 1);

	/* Cut anywhere. */
	for (i = 0; i < len; i += 41)
		load_data(data, i);
	/* A count of either header set to a huge or a negative value. */
	second = memmem(data + 4, len - 4, "TZif", 4);
	assert_non_null(second);
	copy = malloc(len);
	assert_non_null(copy);
	for (i = 20; i < 44; i++) {
		for (j = 0; j < 4; j++) {
			memcpy(copy, data, len);
			copy[(j < 2 ? 0 : second - data) + i] = j % 2 ? 0x7f :
			    0xff;
			load_data(copy, len);
		}
	}
	free(copy);
	free(data);
	glibc_zone(NULL);
}

/* ISO 8601 with the zone's numeric offset. */
static void
test_format(void **state)
{
	static const struct {
		const char	*zone, *utc, *want;
	} t[] = {
		{ "Europe/Berlin", "2026-03-29T01:00:00+00:00",
		    "2026-03-29T03:00:00+02:00" },
		{ "Europe/Berlin", "2026-03-29T00:59:59+00:00",
		    "2026-03-29T01:59:59+01:00" },
		{ "America/New_York", "2026-01-15T17:04:05+00:00",
		    "2026-01-15T12:04:05-05:00" },
		{ "America/St_Johns", "2026-01-01T03:30:00+00:00",
		    "2026-01-01T00:00:00-03:30" },
		{ "Australia/Lord_Howe", "2026-07-01T00:00:00+00:00",
		    "2026-07-01T10:30:00+10:30" },
		{ "Asia/Kathmandu", "2026-07-01T00:00:00+00:00",
		    "2026-07-01T05:45:00+05:45" },
		{ "Pacific/Chatham", "2026-01-01T00:00:00+00:00",
		    "2026-01-01T13:45:00+13:45" },
		{ "Pacific/Kiritimati", "2026-01-01T00:00:00+00:00",
		    "2026-01-01T14:00:00+14:00" },
		{ "Etc/GMT+12", "2026-01-01T00:00:00+00:00",
		    "2025-12-31T12:00:00-12:00" },
		{ "UTC", "1970-01-01T00:00:00+00:00",
		    "1970-01-01T00:00:00+00:00" },
		{ "UTC", "1969-12-31T23:59:59+00:00",
		    "1969-12-31T23:59:59+00:00" },
		{ "UTC", "2104-02-29T23:59:59+00:00",
		    "2104-02-29T23:59:59+00:00" },
		/* Local mean time before 1893: +00:53:28. */
		{ "Europe/Berlin", "1890-01-01T00:00:00+00:00",
		    "1890-01-01T00:53:28+00:53:28" },
	};
	struct tz	*z;
	char		 buf[10];
	u_int		 i;

	for (i = 0; i < NITEMS(t); i++) {
		z = zone(t[i].zone);
		check_iso(z, iso(t[i].utc), t[i].want);
		tz_free(z);
	}
	/* A short buffer is cut, not overrun. */
	z = zone("Europe/Berlin");
	memset(buf, 'x', sizeof buf);
	cron_format(z, iso("2026-03-29T01:00:00+00:00"), buf, sizeof buf);
	assert_string_equal(buf, "2026-03-2");
	tz_free(z);
}

/* Civil dates against gmtime(3) and timegm(3), and the lengths of months. */
static void
test_civil(void **state)
{
	struct civil	 c;
	struct tm	 tm;
	time_t		 tt;
	int64_t		 t;

	civil_from_secs(0, &c);
	assert_int_equal(c.year, 1970);
	assert_int_equal(c.month, 1);
	assert_int_equal(c.day, 1);
	assert_int_equal(c.wday, 4);
	civil_from_secs(-1, &c);
	assert_int_equal(c.year, 1969);
	assert_int_equal(c.month, 12);
	assert_int_equal(c.day, 31);
	assert_int_equal(c.hour, 23);
	assert_int_equal(c.minute, 59);
	assert_int_equal(c.second, 59);
	assert_int_equal(c.wday, 3);
	civil_from_secs(iso("2000-02-29T12:34:56+00:00"), &c);
	assert_int_equal(c.year, 2000);
	assert_int_equal(c.month, 2);
	assert_int_equal(c.day, 29);
	assert_int_equal(c.hour, 12);
	assert_int_equal(c.minute, 34);
	assert_int_equal(c.second, 56);
	assert_int_equal(c.wday, 2);

	for (t = -62135596800LL; t < 253402300799LL; t += 86400 * 37 + 4001) {
		tt = (time_t)t;
		assert_non_null(gmtime_r(&tt, &tm));
		civil_from_secs(t, &c);
		if (c.year != tm.tm_year + 1900 || c.month != tm.tm_mon + 1 ||
		    c.day != tm.tm_mday || c.hour != tm.tm_hour ||
		    c.minute != tm.tm_min || c.second != tm.tm_sec ||
		    c.wday != tm.tm_wday)
			fail_msg("civil_from_secs(%lld) differs from gmtime",
			    (long long)t);
		assert_int_equal(civil_to_secs(&c), t);
		assert_int_equal(civil_month_days(c.year, c.month),
		    c.month == 2 ? 28 + ((c.year % 4 == 0 &&
		    c.year % 100 != 0) || c.year % 400 == 0) :
		    c.month == 4 || c.month == 6 || c.month == 9 ||
		    c.month == 11 ? 30 : 31);
	}

	assert_int_equal(civil_month_days(2024, 2), 29);
	assert_int_equal(civil_month_days(2026, 2), 28);
	assert_int_equal(civil_month_days(2000, 2), 29);
	assert_int_equal(civil_month_days(2100, 2), 28);
	assert_int_equal(civil_month_days(1900, 2), 28);
	assert_int_equal(civil_month_days(2026, 1), 31);
	assert_int_equal(civil_month_days(2026, 4), 30);
	assert_int_equal(civil_month_days(2026, 9), 30);
	assert_int_equal(civil_month_days(2026, 12), 31);
}

/*
 * Check that expr is described as want, or refused (NULL) when want is
 * NULL.
 */
static void
check_describe(const char *expr, const char *want)
{
	char	*got;

	got = cron_describe(expr);
	if (want == NULL) {
		if (got != NULL)
			fail_msg("\"%s\" is \"%s\", want NULL", expr, got);
		return;
	}
	if (got == NULL)
		fail_msg("\"%s\" is NULL, want \"%s\"", expr, want);
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\" is \"%s\",\n want \"%s\"", expr, got, want);
	free(got);
}

/* Schedules in words: each shape has its phrase, and each is exact. */
static void
test_describe(void **state)
{
	static const struct {
		const char	*expr;
		const char	*want;
	} t[] = {
		/* Every N: the times fill the day evenly. */
		{ "* * * * *", "every minute" },
		{ "*/30 * * * *", "every 30 minutes" },
		{ "0,30 * * * *", "every 30 minutes" },
		{ "*/5 * * * *", "every 5 minutes" },
		{ "0 * * * *", "every hour, on the hour" },
		{ "15 * * * *", "every hour at 15 minutes past" },
		{ "1 * * * *", "every hour at 1 minute past" },

		/* Seconds. */
		{ "* * * * * *", "every second" },
		{ "*/10 * * * * *", "every 10 seconds" },
		{ "30 * * * * *", "every minute at 30 seconds past" },
		{ "30 15 * * * *", "every hour at 15 minutes and 30 seconds "
		    "past" },
		{ "0 */5 * * * *", "every 5 minutes" },
		{ "0 30 2 * * *", "every day at 02:30" },
		{ "15 30 2 * * *", "every day at 02:30:15" },
		{ "*/10 * 9-17 * * *", "every 10 seconds from 09:00:00 to "
		    "17:59:50" },

		/* Times of day: a few written out, evenly spaced ones as a
		 * window up to the last time, not the end of the hour. */
		{ "30 2 * * *", "every day at 02:30" },
		{ "0 0,12 * * *", "every day at 00:00 and 12:00" },
		{ "0 1,5,22 * * *", "every day at 01:00, 05:00 and 22:00" },
		{ "0,30 9 * * *", "every day at 09:00 and 09:30" },
		{ "0 9-17 * * *", "every hour from 09:00 to 17:00" },
		{ "* 9 * * *", "every minute from 09:00 to 09:59" },
		{ "*/15 9-17 * * mon-fri", "every 15 minutes from 09:00 to "
		    "17:45 on weekdays" },
		{ "0 */2 * * *", "every 2 hours from 00:00 to 22:00" },
		{ "15 */2 * * *", "every 2 hours from 00:15 to 22:15" },
		{ "0 8-18/2 * * 1-5", "every 2 hours from 08:00 to 18:00 on "
		    "weekdays" },
		{ "5-59/15 * * * *", "every 15 minutes from 00:05 to 23:50" },
		{ "0 9-12,14-17 * * *", "every hour from 09:00 to 12:00 and "
		    "from 14:00 to 17:00" },
		{ "*/15 9-11,14-17 * * *", "every 15 minutes from 09:00 to "
		    "11:45 and from 14:00 to 17:45" },

		/* Weekdays. */
		{ "0 9 * * mon-fri", "at 09:00 on weekdays" },
		{ "0 10 * * sat,sun", "at 10:00 on weekends" },
		{ "0 8 * * 1", "every Monday at 08:00" },
		{ "0 8 * * 1,3,5", "at 08:00 on Monday, Wednesday and "
		    "Friday" },
		{ "0 9 * * mon-thu", "at 09:00 from Monday to Thursday" },
		{ "0 9 * * fri-sun", "at 09:00 from Friday to Sunday" },
		{ "0 9 * * 7", "every Sunday at 09:00" },
		{ "*/15 * * * 1", "every 15 minutes on Mondays" },
		{ "0 * * * mon", "every hour, on the hour, on Mondays" },
		{ "15 * * * MON", "every hour at 15 minutes past, on "
		    "Mondays" },

		/* Days of the month and months. */
		{ "0 0 1 * *", "on the 1st of every month at 00:00" },
		{ "0 6 1,15 * *", "on the 1st and 15th of every month at "
		    "06:00" },
		{ "0 0 1-5,22,23 * *", "on the 1st to 5th, 22nd and 23rd of "
		    "every month at 00:00" },
		{ "0 9 */2 * *", "on odd days of the month at 09:00" },
		{ "0 9 2-30/2 * *", "on even days of the month at 09:00" },
		{ "0 0 1 1 *", "every year on 1 January at 00:00" },
		{ "0 0 1 jan,jul *", "on 1 January and 1 July at 00:00" },
		{ "0 9 1,15 jan *", "on the 1st and 15th of January at 09:00" },
		{ "0 12 1 feb,apr,jun *", "on the 1st of February, April and "
		    "June at 12:00" },
		{ "0 9 1 3-10 *", "on the 1st of every month from March to "
		    "October at 09:00" },
		{ "*/15 * 1 1 *", "every 15 minutes on 1 January" },
		{ "0 0 * jan,jul *", "every day in January and July at 00:00" },
		{ "*/5 * * 6-8 *", "every 5 minutes from June to August" },
		{ "0 9 * Mar-Oct mon-fri", "at 09:00 on weekdays from March to "
		    "October" },
		{ "0 9 * dec mon", "every Monday in December at 09:00" },

		/* Both day fields: the Vixie OR when neither starts with
		 * '*', AND when one does. */
		{ "0 9 1 * mon", "at 09:00 on the 1st of the month and on "
		    "Mondays" },
		{ "0 9 1-7 * mon", "at 09:00 on the 1st to 7th of the month "
		    "and on Mondays" },
		{ "0 9 1,15 * mon,fri", "at 09:00 on the 1st and 15th of the "
		    "month and on Mondays and Fridays" },
		{ "0 9 1 jan mon", "at 09:00 on the 1st of the month and on "
		    "Mondays, in January" },
		{ "0 9 */2 * mon", "at 09:00 on Mondays that are odd days of "
		    "the month" },
		{ "0 9 */10 * mon", "at 09:00 on Mondays that are the 1st, "
		    "11th, 21st or 31st of the month" },
		{ "0 9 1 * */2", "at 09:00 on Tuesdays, Thursdays, Saturdays "
		    "and Sundays that are the 1st of the month" },
		{ "0 9 1 * 0-7", "every day at 09:00" },	/* OR: any day */
		{ "0 9 1 * */1", "on the 1st of every month at 09:00" },
		{ "0 9 */1 * mon", "every Monday at 09:00" },

		/* Field by field, where no shorter phrase is exact. */
		{ "3,17,41 1,5,22 2-9/3 * *", "at minutes 3, 17 and 41 past "
		    "hours 1, 5 and 22, on the 2nd, 5th and 8th of every "
		    "month" },
		{ "*/7 * * * *", "at minutes 0, 7, 14, 21, 28, 35, 42, 49 and "
		    "56 past every hour" },
		{ "5,10 * * * mon", "at minutes 5 and 10 past every hour, on "
		    "Mondays" },
		{ "1-30 * * * *", "at minutes 1 to 30 past every hour" },
		{ "0-29/2 * * * *", "at minutes 0 to 28 in steps of 2 past "
		    "every hour" },
		{ "* 1,3,5,7 * * *", "every minute during hours 1, 3, 5 and "
		    "7" },
		{ "0,7 5 * * * *", "at seconds 0 and 7 of minute 5 past every "
		    "hour" },

		/* Macros. */
		{ "@yearly", "every year on 1 January at 00:00" },
		{ "@annually", "every year on 1 January at 00:00" },
		{ "@monthly", "on the 1st of every month at 00:00" },
		{ "@weekly", "every Sunday at 00:00" },
		{ "@daily", "every day at 00:00" },
		{ "@midnight", "every day at 00:00" },
		{ "@hourly", "every hour, on the hour" },
		{ "  @HOURLY\t", "every hour, on the hour" },
		{ "@reboot", "when microlightd starts" },
	};
	u_int	 i;

	for (i = 0; i < NITEMS(t); i++)
		check_describe(t[i].expr, t[i].want);
}

/* What does not parse has no description. */
static void
test_describe_invalid(void **state)
{
	static const char *t[] = {
		"",
		"   ",
		"bogus",
		"* * * *",
		"0 9 * * 1 extra field",
		"61 * * * *",
		"0 24 * * *",
		"0 0 0 * *",
		"0 0 * 13 *",
		"0 0 * * 8",
		"5/15 * * * *",
		"*/0 * * * *",
		"0 0 30 2 *",
		"@never",
		"@reboot now",
	};
	u_int	 i;

	for (i = 0; i < NITEMS(t); i++)
		check_describe(t[i], NULL);
}

/* Run every test; CMOCKA_MESSAGE_OUTPUT=TAP makes the output TAP. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_seconds),
		cmocka_unit_test(test_parse_months),
		cmocka_unit_test(test_parse_weekdays),
		cmocka_unit_test(test_parse_flags),
		cmocka_unit_test(test_parse_macros),
		cmocka_unit_test(test_parse_blanks),
		cmocka_unit_test(test_parse_bad_range),
		cmocka_unit_test(test_parse_bad_step),
		cmocka_unit_test(test_parse_bad_syntax),
		cmocka_unit_test(test_parse_bad_count),
		cmocka_unit_test(test_parse_bad_macro),
		cmocka_unit_test(test_parse_never),
		cmocka_unit_test(test_next_strictly_after),
		cmocka_unit_test(test_next_vixie),
		cmocka_unit_test(test_next_weekdays),
		cmocka_unit_test(test_next_leap),
		cmocka_unit_test(test_next_31st),
		cmocka_unit_test(test_next_rare),
		cmocka_unit_test(test_next_year_rollover),
		cmocka_unit_test(test_next_seconds),
		cmocka_unit_test(test_civil_next),
		cmocka_unit_test(test_dst_berlin_spring),
		cmocka_unit_test(test_dst_berlin_fall),
		cmocka_unit_test(test_dst_new_york),
		cmocka_unit_test(test_dst_lord_howe),
		cmocka_unit_test(test_dst_midnight_beirut),
		cmocka_unit_test(test_dst_midnight_havana),
		cmocka_unit_test(test_dst_midnight_santiago),
		cmocka_unit_test(test_dst_seconds),
		cmocka_unit_test(test_dst_long_fall_back),
		cmocka_unit_test(test_dst_far_future),
		cmocka_unit_test(test_independence),
		cmocka_unit_test(test_dst_oracle),
		cmocka_unit_test(test_tz_glibc),
		cmocka_unit_test(test_tz_transitions),
		cmocka_unit_test(test_tz_load_errors),
		cmocka_unit_test(test_tz_load_local),
		cmocka_unit_test(test_tz_corrupt),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_civil),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_describe_invalid),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
