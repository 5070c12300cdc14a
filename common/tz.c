/*
 * Time zones without touching TZ: a zone's offsets read from its TZif file
 * (RFC 8536), with the POSIX TZ rule of its footer for times past its last
 * transition. Each schedule can be computed in its own zone, and nothing
 * process-wide (TZ, tzset, localtime's state) changes under the daemon.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ml.h"

#define TZ_FILE_MAX	(256 * 1024)

/* When a POSIX rule changes offset: a date rule and a time of day. */
struct tz_date {
	int	 kind;		/* 'M' month.week.day, 'J' Julian 1-365, 'n' 0-365 */
	int	 month;
	int	 week;
	int	 wday;
	int	 day;
	int	 secs;		/* local time of day of the change */
};

/* A POSIX TZ rule: "CET-1CEST,M3.5.0,M10.5.0/3". */
struct tz_rule {
	int		 set;
	int		 std_off;	/* seconds east of UTC */
	int		 dst_off;
	int		 has_dst;
	struct tz_date	 start;		/* into DST */
	struct tz_date	 end;		/* out of DST */
};

struct tz {
	char		*name;
	int64_t		*times;		/* transition instants, UTC */
	int		*offs;		/* offset from each transition on */
	u_int		 n;
	int		 first_off;	/* before the first transition */
	struct tz_rule	 rule;		/* after the last one */
};

/* Read a big-endian integer of len bytes. */
static int64_t
tz_be(const u_char *p, int len)
{
	int64_t	 v = (p[0] & 0x80) ? -1 : 0;
	int	 i;

	for (i = 0; i < len; i++)
		v = (int64_t)((uint64_t)v << 8) | p[i];
	return (v);
}

/* Parse "[+-]hh[:mm[:ss]]" into seconds; returns the end or NULL. */
static const char *
tz_parse_time(const char *s, int *secs, int allow_sign)
{
	int	 sign = 1, h = 0, m = 0, sec = 0, n = 0;

	if (allow_sign && (*s == '+' || *s == '-'))
		sign = *s++ == '-' ? -1 : 1;
	if (!isdigit((u_char)*s))
		return (NULL);
	while (isdigit((u_char)*s) && n++ < 3)
		h = h * 10 + (*s++ - '0');
	if (*s == ':') {
		s++;
		if (time_parse_digits(&s, 2, &m) != 0)
			return (NULL);
		if (*s == ':') {
			s++;
			if (time_parse_digits(&s, 2, &sec) != 0)
				return (NULL);
		}
	}
	if (h > 167 || m > 59 || sec > 59)
		return (NULL);
	*secs = sign * (h * 3600 + m * 60 + sec);
	return (s);
}

/* Skip a zone abbreviation: letters, or <...> quoted. */
static const char *
tz_parse_name(const char *s)
{
	const char	*start = s;

	if (*s == '<') {
		while (*s != '\0' && *s != '>')
			s++;
		return (*s == '>' && s - start >= 4 ? s + 1 : NULL);
	}
	while (isalpha((u_char)*s))
		s++;
	return (s - start >= 3 ? s : NULL);
}

/* Parse a rule date ("M3.5.0", "J60", "59") with an optional "/time". */
static const char *
tz_parse_date(const char *s, struct tz_date *d)
{
	char	*end;
	long	 v;

	memset(d, 0, sizeof *d);
	d->secs = 2 * 3600;
	if (*s == 'M') {
		d->kind = 'M';
		if (sscanf(s + 1, "%d.%d.%d", &d->month, &d->week,
		    &d->wday) != 3 || d->month < 1 || d->month > 12 ||
		    d->week < 1 || d->week > 5 || d->wday < 0 || d->wday > 6)
			return (NULL);
		s++;
		while (isdigit((u_char)*s) || *s == '.')
			s++;
	} else {
		d->kind = *s == 'J' ? 'J' : 'n';
		if (*s == 'J')
			s++;
		v = strtol(s, &end, 10);
		if (end == s || v < (d->kind == 'J' ? 1 : 0) || v > 365)
			return (NULL);
		d->day = (int)v;
		s = end;
	}
	if (*s == '/' && (s = tz_parse_time(s + 1, &d->secs, 1)) == NULL)
		return (NULL);
	return (s);
}

/* Parse a POSIX TZ rule; 0 on success. */
static int
tz_parse_rule(const char *s, struct tz_rule *r)
{
	int	 off;

	memset(r, 0, sizeof *r);
	if ((s = tz_parse_name(s)) == NULL ||
	    (s = tz_parse_time(s, &off, 1)) == NULL)
		return (-1);
	r->std_off = -off;		/* POSIX counts west as positive */
	r->dst_off = r->std_off;
	r->set = 1;
	if (*s == '\0')
		return (0);
	if ((s = tz_parse_name(s)) == NULL)
		return (-1);
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if ((s = tz_parse_time(s, &off, 1)) == NULL)
			return (-1);
		r->dst_off = -off;
	}
	if (*s == '\0') {
		/* No dates: the US rules, as POSIX leaves it to us. */
		tz_parse_date("M3.2.0", &r->start);
		tz_parse_date("M11.1.0", &r->end);
		return (0);
	}
	if (*s++ != ',' || (s = tz_parse_date(s, &r->start)) == NULL ||
	    *s++ != ',' || (s = tz_parse_date(s, &r->end)) == NULL ||
	    *s != '\0')
		return (-1);
	return (0);
}

/* Days since the epoch of a civil date. */
static int64_t
tz_days(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

/* Whether a year is a leap year. */
static int
tz_leap(int64_t y)
{
	return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
}

/* Days in a month. */
int
civil_month_days(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return (m == 2 && tz_leap(y) ? 29 : days[m - 1]);
}

/* The UTC instant a rule date falls on in year y, at offset off. */
static int64_t
tz_rule_instant(const struct tz_date *d, int64_t y, int off)
{
	int64_t	 day;
	int	 wday, n;

	switch (d->kind) {
	case 'J':	/* 1-365, February 29 never counted */
		day = tz_days(y, 1, 1) + d->day - 1;
		if (tz_leap(y) && d->day >= 60)
			day++;
		break;
	case 'n':	/* 0-365, February 29 counted */
		day = tz_days(y, 1, 1) + d->day;
		break;
	default:	/* day wday of week w (5: the last) of month m */
		day = tz_days(y, d->month, 1);
		wday = (int)(((day % 7) + 7 + 4) % 7);	/* 1970-01-01: Thu */
		day += (d->wday - wday + 7) % 7;
		for (n = 1; n < d->week; n++) {
			if (day + 7 - tz_days(y, d->month, 1) >=
			    civil_month_days(y, d->month))
				break;
			day += 7;
		}
		break;
	}
	return (day * 86400 + d->secs - off);
}

/*
 * The offset a rule gives at t, with the rule's next change after t (and
 * the last change at or before t, for prev).
 */
static int
tz_rule_offset(const struct tz_rule *r, int64_t t, int64_t *next,
    int64_t *prev)
{
	int64_t	 y, c[6], best_next = INT64_MAX, best_prev = INT64_MIN;
	int	 o[6], i, off = r->std_off, k = 0;

	if (!r->has_dst) {
		*next = INT64_MAX;
		*prev = INT64_MIN;
		return (r->std_off);
	}
	/* Changes of the years around t, each with the offset it brings. */
	y = 1970 + t / (int64_t)(365.2425 * 86400);
	for (y -= 1; k < 6; y++) {
		c[k] = tz_rule_instant(&r->start, y, r->std_off);
		o[k++] = r->dst_off;
		c[k] = tz_rule_instant(&r->end, y, r->dst_off);
		o[k++] = r->std_off;
	}
	for (i = 0; i < 6; i++) {
		if (c[i] <= t && c[i] >= best_prev) {
			best_prev = c[i];
			off = o[i];
		}
		if (c[i] > t && c[i] < best_next)
			best_next = c[i];
	}
	*next = best_next;
	*prev = best_prev;
	return (off);
}

/*
 * The offset (seconds east of UTC) in effect at instant t; *next is the
 * next change after t (INT64_MAX: none), *prev the last change at or
 * before t (INT64_MIN: none). Either may be NULL.
 */
int
tz_offset(const struct tz *z, int64_t t, int64_t *next, int64_t *prev)
{
	int64_t	 nx, pv;
	u_int	 lo = 0, hi = z->n, mid;
	int	 off;

	/* The last explicit transition at or before t. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (z->times[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < z->n) {
		off = lo == 0 ? z->first_off : z->offs[lo - 1];
		nx = z->times[lo];
		pv = lo == 0 ? INT64_MIN : z->times[lo - 1];
	} else if (z->rule.set) {
		off = tz_rule_offset(&z->rule, t, &nx, &pv);
		if (z->n > 0 && z->times[z->n - 1] > pv)
			pv = z->times[z->n - 1];
	} else {
		off = z->n == 0 ? z->first_off : z->offs[z->n - 1];
		nx = INT64_MAX;
		pv = z->n == 0 ? INT64_MIN : z->times[z->n - 1];
	}
	if (next != NULL)
		*next = nx;
	if (prev != NULL)
		*prev = pv;
	return (off);
}

/* Whether name is an IANA zone present in the zone database. */
static int
timezone_valid(const char *name)
{
	const char	*dir, *c;
	char		 path[PATH_MAX], magic[4];
	struct stat	 sb;
	int		 fd, ok;

	if (*name == '\0' || *name == '/' || strlen(name) > 128)
		return (0);
	for (c = name; *c != '\0'; c++) {
		if (!isalnum((u_char)*c) && strchr("/_+-", *c) == NULL)
			return (0);
	}
	if (strstr(name, "..") != NULL)
		return (0);
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >=
	    sizeof path)
		return (0);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return (0);
	ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    read(fd, magic, sizeof magic) == sizeof magic &&
	    memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return (ok);
}

/* Read a whole (small) file. */
static char *
tz_read(const char *path, size_t *len, char **cause)
{
	struct stat	 sb;
	char		*buf;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > TZ_FILE_MAX) {
		xasprintf(cause, "%s: not a time zone file", path);
		close(fd);
		return (NULL);
	}
	buf = xmalloc(sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		n = read(fd, buf + got, sb.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	*len = got;
	return (buf);
}

/* Read the six counts of a TZif header; -1 if one cannot be right. */
static int
tz_counts(const u_char *p, int64_t *cnt)
{
	u_int	 i;

	for (i = 0; i < 6; i++) {
		cnt[i] = tz_be(p + 20 + 4 * i, 4);
		if (cnt[i] < 0 || cnt[i] > TZ_FILE_MAX)
			return (-1);
	}
	return (0);
}

/* Parse TZif data (version 2 or later: the 64-bit block and the footer). */
static int
tz_parse_tzif(struct tz *z, const u_char *p, size_t len)
{
	const u_char	*end = p + len, *h;
	int64_t		 cnt[6];
	size_t		 skip, need, foot;
	u_int		 i, typ, ntypes;
	int		*type_off;
	char		 footer[256];
	const u_char	*nl;
	int		 v1 = 0;

	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return (-1);
	if (p[4] == '\0')
		v1 = 1;
	/*
	 * Skip the 32-bit block of version 2+ files. The counts are checked
	 * first: a corrupt file must not move a pointer out of the data.
	 */
	if (tz_counts(p, cnt) != 0)
		return (-1);
	/* isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
	skip = 44 + cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 +
	    cnt[1] + cnt[0];
	if (!v1) {
		if (skip + 44 > len || memcmp(p + skip, "TZif", 4) != 0)
			return (-1);
		p += skip;
		if (tz_counts(p, cnt) != 0)
			return (-1);
	}
	h = p + 44;
	need = cnt[3] * (v1 ? 4 : 8) + cnt[3] + cnt[4] * 6;
	if (cnt[4] < 1 || cnt[3] < 0 || (size_t)(end - h) < need)
		return (-1);
	ntypes = cnt[4];
	type_off = xcalloc(ntypes, sizeof *type_off);
	for (i = 0; i < ntypes; i++)
		type_off[i] = (int)tz_be(h + cnt[3] * (v1 ? 5 : 9) + 6 * i, 4);
	z->n = cnt[3];
	if (z->n > 0) {
		z->times = xcalloc(z->n, sizeof *z->times);
		z->offs = xcalloc(z->n, sizeof *z->offs);
	}
	for (i = 0; i < z->n; i++) {
		z->times[i] = tz_be(h + i * (v1 ? 4 : 8), v1 ? 4 : 8);
		typ = h[cnt[3] * (v1 ? 4 : 8) + i];
		if (typ >= ntypes) {
			free(type_off);
			return (-1);
		}
		z->offs[i] = type_off[typ];
	}
	z->first_off = type_off[0];
	free(type_off);
	if (v1)
		return (0);
	/* The footer: "\nTZ-string\n" after the 64-bit block. */
	foot = need + cnt[5] + cnt[2] * 12 + cnt[1] + cnt[0];
	if (foot >= (size_t)(end - h))
		return (0);
	p = h + foot;
	if (*p == '\n' && (nl = memchr(p + 1, '\n', end - p - 1)) != NULL &&
	    nl - p - 1 < (ptrdiff_t)sizeof footer) {
		memcpy(footer, p + 1, nl - p - 1);
		footer[nl - p - 1] = '\0';
		if (footer[0] != '\0' && tz_parse_rule(footer, &z->rule) != 0)
			memset(&z->rule, 0, sizeof z->rule);
	}
	return (0);
}

/*
 * Load a zone: an IANA name ("Europe/Berlin"), or NULL for the local zone
 * ($TZ if set, as a name, a path or a POSIX rule, else /etc/localtime).
 * Returns NULL with *cause for an unknown zone (never a silent UTC).
 */
struct tz *
tz_load(const char *name, char **cause)
{
	struct tz	*z;
	const char	*dir, *path, *local = NULL;
	char		 buf[PATH_MAX], *data;
	size_t		 len;

	if (name == NULL) {
		if ((local = getenv("TZ")) != NULL && *local == ':')
			local++;
		if (local != NULL && *local == '\0')
			local = NULL;
		name = local;
	}
	z = xcalloc(1, sizeof *z);
	z->name = xstrdup(name != NULL ? name : "localtime");
	if (name == NULL)
		path = "/etc/localtime";
	else if (local != NULL && local[0] == '/')
		path = local;
	else if (timezone_valid(name)) {
		if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
			dir = "/usr/share/zoneinfo";
		snprintf(buf, sizeof buf, "%s/%s", dir, name);
		path = buf;
	} else if (local != NULL && tz_parse_rule(local, &z->rule) == 0)
		return (z);	/* $TZ as a POSIX rule */
	else {
		xasprintf(cause, "unknown time zone '%s'%s", name, local !=
		    NULL ? " (in $TZ)" : "");
		tz_free(z);
		return (NULL);
	}
	if ((data = tz_read(path, &len, cause)) == NULL) {
		if (name == NULL) {
			/* No /etc/localtime: the system's zone is UTC. */
			free(*cause);
			*cause = NULL;
			z->rule.set = 1;
			return (z);
		}
		tz_free(z);
		return (NULL);
	}
	if (tz_parse_tzif(z, (u_char *)data, len) != 0) {
		xasprintf(cause, "%s: not a time zone file", path);
		free(data);
		tz_free(z);
		return (NULL);
	}
	free(data);
	return (z);
}

/* The name a zone was loaded by. */
const char *
tz_name(const struct tz *z)
{
	return (z->name);
}

/* Free a zone. */
void
tz_free(struct tz *z)
{
	if (z == NULL)
		return;
	free(z->name);
	free(z->times);
	free(z->offs);
	free(z);
}

/* Split seconds since the epoch (already shifted to local) into fields. */
void
civil_from_secs(int64_t s, struct civil *c)
{
	int64_t	 days = s / 86400, rem = s % 86400, z, era, doe, yoe, y, doy;
	int64_t	 mp;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = y + (c->month <= 2);
	c->hour = (int)(rem / 3600);
	c->minute = (int)(rem % 3600 / 60);
	c->second = (int)(rem % 60);
	c->wday = (int)(((days % 7) + 7 + 4) % 7);
}

/* Seconds since the epoch of civil fields (as if UTC). */
int64_t
civil_to_secs(const struct civil *c)
{
	return (tz_days(c->year, c->month, c->day) * 86400 + c->hour * 3600 +
	    c->minute * 60 + c->second);
}
