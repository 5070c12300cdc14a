/* Durations ("90s", "5m", "1h30m") and sizes ("512K", "16M"). */

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ml.h"

#define DURATION_MAX	(10LL * 366 * 86400)	/* ten years */
#define SIZE_MAX_BYTES	(1LL << 40)		/* one terabyte */

/*
 * Read the decimal number at *sp, at most max, into *n and step past it.
 * Returns -1 with *errstr set to big if it is over max, or to none if
 * there is no digit.
 */
static int
units_number(const char **sp, int64_t max, int64_t *n, const char *big,
    const char *none, const char **errstr)
{
	const char	*s = *sp;
	int64_t		 v = 0;

	while (isdigit((u_char)*s)) {
		v = v * 10 + (*s++ - '0');
		if (v > max) {
			*errstr = big;
			return (-1);
		}
	}
	if (s == *sp) {
		*errstr = none;
		return (-1);
	}
	*n = v;
	*sp = s;
	return (0);
}

/*
 * Parse a duration: one or more NUMBER UNIT pairs (s, m, h, d, in any
 * order), or a bare number of seconds. "0" means none.
 */
int
duration_parse(const char *s, int64_t *out, const char **errstr)
{
	int64_t	 total = 0, n, mult;
	int	 pairs = 0;

	if (*s == '\0') {
		*errstr = "empty duration";
		return (-1);
	}
	while (*s != '\0') {
		if (units_number(&s, DURATION_MAX, &n, "duration too long",
		    "invalid duration (use 90s, 5m, 2h, 1d)", errstr) != 0)
			return (-1);
		switch (*s) {
		case '\0':
			if (pairs != 0) {
				*errstr = "number without a unit";
				return (-1);
			}
			mult = 1;
			break;
		case 's':
			mult = 1;
			s++;
			break;
		case 'm':
			mult = 60;
			s++;
			break;
		case 'h':
			mult = 3600;
			s++;
			break;
		case 'd':
			mult = 86400;
			s++;
			break;
		default:
			*errstr = "invalid duration unit (use s, m, h or d)";
			return (-1);
		}
		total += n * mult;
		if (total > DURATION_MAX) {
			*errstr = "duration too long";
			return (-1);
		}
		pairs++;
	}
	*out = total;
	return (0);
}

/* Format seconds as the shortest exact duration ("1h30m", "45s", "0"). */
void
duration_format(int64_t secs, char *buf, size_t len)
{
	static const struct { int64_t n; char c; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' }
	};
	size_t	 off = 0;
	u_int	 i;
	int64_t	 q;

	if (secs <= 0) {
		snprintf(buf, len, "0");
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		q = secs / units[i].n;
		if (q == 0)
			continue;
		secs -= q * units[i].n;
		if (off < len)
			off += snprintf(buf + off, len - off, "%" PRId64 "%c",
			    q, units[i].c);
	}
}

/* Format milliseconds for people: "250ms", "1.234s", "2m05s", "3h02m". */
void
duration_format_ms(int64_t ms, char *buf, size_t len)
{
	int64_t	 s;

	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(buf, len, "%" PRId64 "ms", ms);
	else if (ms < 60 * 1000)
		snprintf(buf, len, "%" PRId64 ".%03" PRId64 "s", ms / 1000,
		    ms % 1000);
	else if ((s = ms / 1000) < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600,
		    (s % 3600) / 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400,
		    (s % 86400) / 3600);
}

/* Parse a size: a number of bytes with an optional K, M or G (1024-based). */
int
size_parse(const char *s, int64_t *out, const char **errstr)
{
	int64_t	 n, mult = 1;

	if (units_number(&s, SIZE_MAX_BYTES, &n, "size too large",
	    "invalid size (use 512K, 16M, 1G)", errstr) != 0)
		return (-1);
	switch (*s) {
	case '\0':
	case 'b':
	case 'B':
		break;
	case 'k':
	case 'K':
		mult = 1024;
		s++;
		break;
	case 'm':
	case 'M':
		mult = 1024 * 1024;
		s++;
		break;
	case 'g':
	case 'G':
		mult = 1024 * 1024 * 1024;
		s++;
		break;
	default:
		*errstr = "invalid size unit (use K, M or G)";
		return (-1);
	}
	if (*s == 'B' || *s == 'b')
		s++;
	if (*s != '\0') {
		*errstr = "invalid size (use 512K, 16M, 1G)";
		return (-1);
	}
	if (n > SIZE_MAX_BYTES / mult) {
		*errstr = "size too large";
		return (-1);
	}
	*out = n * mult;
	return (0);
}

/* Format a size with the largest unit that divides it exactly. */
void
size_format(int64_t n, char *buf, size_t len)
{
	if (n != 0 && n % (1024 * 1024 * 1024) == 0)
		snprintf(buf, len, "%" PRId64 "G", n / (1024 * 1024 * 1024));
	else if (n != 0 && n % (1024 * 1024) == 0)
		snprintf(buf, len, "%" PRId64 "M", n / (1024 * 1024));
	else if (n != 0 && n % 1024 == 0)
		snprintf(buf, len, "%" PRId64 "K", n / 1024);
	else
		snprintf(buf, len, "%" PRId64, n);
}
