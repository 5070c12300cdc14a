/* Clocks and time formatting: RFC 3339 UTC with milliseconds, local time. */

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ml.h"

/* A clock's time in units of which there are per_sec to a second. */
static int64_t
time_clock(clockid_t clock, int64_t per_sec)
{
	struct timespec	 ts;

	clock_gettime(clock, &ts);
	return ((int64_t)ts.tv_sec * per_sec +
	    ts.tv_nsec / (1000000000 / per_sec));
}

/* Wall-clock time in milliseconds since the epoch. */
int64_t
time_now_ms(void)
{
	return (time_clock(CLOCK_REALTIME, 1000));
}

/* Wall-clock time in microseconds since the epoch. */
int64_t
time_now_us(void)
{
	return (time_clock(CLOCK_REALTIME, 1000000));
}

/* Monotonic time in milliseconds, for intervals. */
int64_t
time_mono_ms(void)
{
	return (time_clock(CLOCK_MONOTONIC, 1000));
}

/* Format ms since the epoch as "2026-11-22T10:00:00.123Z". */
void
time_rfc3339(int64_t ms, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t;
	int64_t		 frac;

	t = (time_t)(ms / 1000);
	frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		t--;
	}
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)frac);
}

/* Read exactly n digits at *sp into *out, stepping past them; else -1. */
int
time_parse_digits(const char **sp, int n, int *out)
{
	int	 v = 0;

	while (n-- > 0) {
		if (!isdigit((u_char)**sp))
			return (-1);
		v = v * 10 + (*(*sp)++ - '0');
	}
	*out = v;
	return (0);
}

/*
 * Parse a time as the protocol takes one: RFC 3339 with an offset, or
 * "@SECONDS" since the epoch. Into ms; 0, or -1 if it is neither.
 */
int
time_parse_when(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (s[0] != '@')
		return (time_parse_rfc3339(s, out));
	errno = 0;
	v = strtoll(s + 1, &end, 10);
	if (s[1] == '\0' || *end != '\0' || errno != 0 ||
	    v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
		return (-1);
	*out = (int64_t)v * 1000;
	return (0);
}

/*
 * Parse an RFC 3339 time ("2026-11-22T10:00:00Z", with optional fraction
 * and a numeric offset instead of Z) into ms since the epoch.
 */
int
time_parse_rfc3339(const char *s, int64_t *out)
{
	int	 y, mo, d, h, mi, sec, oh, om, sign, ms = 0, scale = 100;
	int64_t	 t;

	if (time_parse_digits(&s, 4, &y) || *s++ != '-' ||
	    time_parse_digits(&s, 2, &mo) || *s++ != '-' ||
	    time_parse_digits(&s, 2, &d))
		return (-1);
	if (*s != 'T' && *s != 't' && *s != ' ')
		return (-1);
	s++;
	if (time_parse_digits(&s, 2, &h) || *s++ != ':' ||
	    time_parse_digits(&s, 2, &mi) || *s++ != ':' ||
	    time_parse_digits(&s, 2, &sec))
		return (-1);
	if (mo < 1 || mo > 12 || d < 1 || d > civil_month_days(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return (-1);
	if (*s == '.') {
		s++;
		if (!isdigit((u_char)*s))
			return (-1);
		while (isdigit((u_char)*s)) {
			ms += (*s++ - '0') * scale;
			scale /= 10;
		}
	}
	t = civil_to_secs(&(struct civil){ .year = y, .month = mo, .day = d,
	    .hour = h, .minute = mi, .second = sec });
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = (*s++ == '+') ? 1 : -1;
		if (time_parse_digits(&s, 2, &oh))
			return (-1);
		if (*s == ':')
			s++;
		if (time_parse_digits(&s, 2, &om) || oh > 23 || om > 59)
			return (-1);
		t -= sign * (oh * 3600 + om * 60);
	} else
		return (-1);
	if (*s != '\0')
		return (-1);
	*out = t * 1000 + ms;
	return (0);
}

/* Format ms since the epoch as local "2026-11-22 11:00:00". */
void
time_local(int64_t ms, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}
