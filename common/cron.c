/*
 * Cron expressions (Vixie cron's grammar, with an optional leading seconds
 * field) and their next fire times in a time zone, by the DST rules of
 * SPEC section 4:
 *
 * - A schedule whose hour field is restricted ("30 2 * * *") lives on the
 *   wall clock: a time skipped by a spring-forward gap fires once, at the
 *   instant the clocks jump (several such times fold into that one
 *   firing); a time repeated by a fall-back fires once, at its first
 *   occurrence.
 * - A schedule whose hour field starts with '*' ("*", "*\/N") follows real
 *   time: times inside a gap do not exist and are skipped, and in a
 *   fall-back they fire in both passes.
 *
 * The computation walks real time in segments of constant UTC offset: in a
 * segment, wall-clock time runs forward without a jump, so the next
 * matching wall-clock time there is found by the usual field-by-field
 * search. The result depends only on the expression, the zone and the
 * instant it is asked about, never on earlier answers.
 */

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ml.h"

/*
 * A possible expression matches within this many years: the Gregorian
 * calendar repeats every 400 years, and a day such as "Sunday the 29th of
 * February" ("0 0 29 2 *\/7") comes only every 28 or 40 years.
 */
#define CRON_YEARS	400

/* The fields in order, with their ranges and value names. */
static const struct cron_field {
	const char	*name;
	int		 min;
	int		 max;
	const char	**names;	/* names[i] is value min + i */
} cron_fields[] = {
	{ "second", 0, 59, NULL },
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, (const char *[]){ "jan", "feb", "mar", "apr",
	    "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL } },
	{ "day-of-week", 0, 7, (const char *[]){ "sun", "mon", "tue", "wed",
	    "thu", "fri", "sat", "sun", NULL } },
};
enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW };

/* The macros of SPEC section 4. */
static const struct {
	const char	*name;
	const char	*expr;
} cron_macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* A value: a number or (for months and weekdays) a name. */
static int
cron_value(const struct cron_field *f, const char **sp, int *v)
{
	const char	*s = *sp;
	long		 n;
	int		 i;

	if (isdigit((u_char)*s)) {
		n = 0;
		while (isdigit((u_char)*s)) {
			n = n * 10 + (*s++ - '0');
			if (n > 1000)
				return (-1);
		}
		*v = (int)n;
		*sp = s;
		return (0);
	}
	if (f->names != NULL && isalpha((u_char)s[0]) &&
	    isalpha((u_char)s[1]) && isalpha((u_char)s[2])) {
		for (i = 0; f->names[i] != NULL; i++) {
			if (strncasecmp(s, f->names[i], 3) == 0 &&
			    !isalpha((u_char)s[3])) {
				*v = f->min + i;
				*sp = s + 3;
				return (0);
			}
		}
	}
	return (-1);
}

/*
 * Parse one field into a bit set. Elements, separated by commas: *, N,
 * N-M, each optionally /STEP (a step needs * or a range, as in Vixie
 * cron). Returns 0, or -1 with *cause naming the field and the problem.
 */
static int
cron_parse_field(int which, const char *text, uint64_t *bits, char **cause)
{
	const struct cron_field	*f = &cron_fields[which];
	const char		*s = text;
	int			 lo, hi, step, v, star, range;

	*bits = 0;
	for (;;) {
		star = range = 0;
		step = 1;
		if (*s == ',' || *s == '\0') {
			xasprintf(cause, "%s field '%s': a list has an empty "
			    "element", f->name, text);
			return (-1);
		}
		if (f->names == NULL && isalpha((u_char)*s)) {
			xasprintf(cause, "%s field '%s': names are only for "
			    "the month and day-of-week fields", f->name, text);
			return (-1);
		}
		if (*s == '*') {
			star = 1;
			lo = f->min;
			hi = which == F_DOW ? 6 : f->max;
			s++;
		} else {
			if (cron_value(f, &s, &lo) != 0)
				goto bad;
			hi = lo;
			if (*s == '-') {
				s++;
				range = 1;
				if (cron_value(f, &s, &hi) != 0)
					goto bad;
				/* Sunday ends a week: "fri-sun" is 5-7. */
				if (which == F_DOW && hi == 0 && lo > 0)
					hi = 7;
			}
			if (lo < f->min || lo > f->max || hi < f->min ||
			    hi > f->max) {
				xasprintf(cause, "%s field '%s': %d is out of "
				    "range %d-%d", f->name, text,
				    lo < f->min || lo > f->max ? lo : hi,
				    f->min, f->max);
				return (-1);
			}
			if (hi < lo) {
				xasprintf(cause, "%s field '%s': the range "
				    "%d-%d goes backwards", f->name, text, lo,
				    hi);
				return (-1);
			}
		}
		if (*s == '/') {
			if (!star && !range) {
				/* "5/15": Vixie wants a range or a star. */
				xasprintf(cause, "%s field '%s': a step needs "
				    "* or a range before it (*/N or N-M/N)",
				    f->name, text);
				return (-1);
			}
			s++;
			if (!isdigit((u_char)*s)) {
				xasprintf(cause, "%s field '%s': a step needs "
				    "a number", f->name, text);
				return (-1);
			}
			step = 0;
			while (isdigit((u_char)*s)) {
				step = step * 10 + (*s++ - '0');
				if (step > 1000)
					break;
			}
			if (step < 1 || step > f->max - f->min + 1) {
				xasprintf(cause, "%s field '%s': the step must "
				    "be 1 to %d", f->name, text,
				    f->max - f->min + 1);
				return (-1);
			}
		}
		for (v = lo; v <= hi; v += step)
			*bits |= (uint64_t)1 << (which == F_DOW && v == 7 ?
			    0 : v);
		if (*s == '\0')
			return (0);
		if (*s++ != ',')
			goto bad;
	}
bad:
	xasprintf(cause, "%s field '%s' is not valid (use *, N, N-M, */N, "
	    "N-M/N, lists with commas%s)", f->name, text,
	    f->names != NULL ? ", or names" : "");
	return (-1);
}

/* Whether the expression can ever match (a day of the month that exists). */
static int
cron_possible(const struct cron *c)
{
	int	 m, d;

	if (!c->dow_star || c->dom_star)
		return (1);	/* a weekday comes every week */
	for (m = 1; m <= 12; m++) {
		if (!(c->mon & (1 << m)))
			continue;
		for (d = 1; d <= (m == 2 ? 29 : civil_month_days(2001, m));
		    d++) {
			if (c->dom & (1U << d))
				return (1);
		}
	}
	return (0);
}

/*
 * Parse a schedule: 5 fields (minute hour day-of-month month day-of-week),
 * 6 with leading seconds, or a macro (@reboot included). Returns 0, or -1
 * with *cause naming the bad field and why.
 */
int
cron_parse(const char *expr, struct cron *c, char **cause)
{
	char		*copy, *fields[6], *save, *tok;
	const char	*text = expr;
	uint64_t	 bits[6];
	u_int		 i;
	int		 n = 0, first, rc = -1;

	memset(c, 0, sizeof *c);
	while (isspace((u_char)*text))
		text++;
	copy = xstrdup(text);
	for (i = strlen(copy); i > 0 && isspace((u_char)copy[i - 1]); i--)
		copy[i - 1] = '\0';
	if (*copy == '@') {
		if (strcasecmp(copy, "@reboot") == 0) {
			c->reboot = 1;
			rc = 0;
			goto out;
		}
		for (i = 0; i < sizeof cron_macros / sizeof cron_macros[0];
		    i++) {
			if (strcasecmp(copy, cron_macros[i].name) == 0) {
				rc = cron_parse(cron_macros[i].expr, c, cause);
				goto out;
			}
		}
		xasprintf(cause, "unknown macro '%s' (@yearly, @annually, "
		    "@monthly, @weekly, @daily, @midnight, @hourly, @reboot)",
		    copy);
		goto out;
	}
	for (tok = strtok_r(copy, " \t\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\n", &save)) {
		if (n < 6)
			fields[n] = tok;
		n++;
	}
	if (n != 5 && n != 6) {
		xasprintf(cause, "'%s' has %d fields: a schedule has 5 "
		    "(minute hour day-of-month month day-of-week), or 6 with "
		    "seconds first", text, n);
		goto out;
	}
	c->has_seconds = n == 6;
	first = n == 6 ? F_SEC : F_MIN;
	bits[F_SEC] = 1;	/* second 0 for 5 fields */
	for (i = 0; i < (u_int)n; i++) {
		if (cron_parse_field(first + i, fields[i], &bits[first + i],
		    cause) != 0)
			goto out;
	}
	c->sec = bits[F_SEC];
	c->min = bits[F_MIN];
	c->hour = (uint32_t)bits[F_HOUR];
	c->dom = (uint32_t)bits[F_DOM];
	c->mon = (uint16_t)bits[F_MON];
	c->dow = (uint8_t)bits[F_DOW];
	c->hour_star = fields[F_HOUR - first][0] == '*';
	c->dom_star = fields[F_DOM - first][0] == '*';
	c->dow_star = fields[F_DOW - first][0] == '*';
	if (!cron_possible(c)) {
		xasprintf(cause, "'%s' never matches: no month in the month "
		    "field '%s' has a day in the day-of-month field '%s'", text,
		    fields[F_MON - first], fields[F_DOM - first]);
		goto out;
	}
	rc = 0;
out:
	free(copy);
	return (rc);
}

/* Whether a civil day matches the day fields (the Vixie rule). */
static int
cron_day_matches(const struct cron *c, const struct civil *t)
{
	int	 dom = (c->dom >> t->day) & 1, dow = (c->dow >> t->wday) & 1;

	if (c->dom_star || c->dow_star)
		return (dom && dow);
	return (dom || dow);
}

/* The weekday of a civil date. */
static int
cron_wday(const struct civil *t)
{
	struct civil	 d;

	civil_from_secs(civil_to_secs(t) - t->hour * 3600 - t->minute * 60 -
	    t->second, &d);
	return (d.wday);
}

/* Move to the start of the next day. */
static void
cron_next_day(struct civil *t)
{
	t->hour = t->minute = t->second = 0;
	if (++t->day > civil_month_days(t->year, t->month)) {
		t->day = 1;
		if (++t->month > 12) {
			t->month = 1;
			t->year++;
		}
	}
	t->wday = cron_wday(t);
}

/*
 * The first wall-clock time at or after *t that matches, in *t; -1 if
 * none comes within CRON_YEARS years.
 */
int
cron_civil_next(const struct cron *c, struct civil *t)
{
	int64_t	 limit = t->year + CRON_YEARS;

	t->wday = cron_wday(t);
	while (t->year <= limit) {
		if (!(c->mon & (1 << t->month))) {
			t->day = 1;
			t->hour = t->minute = t->second = 0;
			if (++t->month > 12) {
				t->month = 1;
				t->year++;
			}
			t->wday = cron_wday(t);
			continue;
		}
		if (!cron_day_matches(c, t)) {
			cron_next_day(t);
			continue;
		}
		while (t->hour < 24 && !(c->hour & (1U << t->hour))) {
			t->hour++;
			t->minute = t->second = 0;
		}
		if (t->hour == 24) {
			cron_next_day(t);
			continue;
		}
		while (t->minute < 60 &&
		    !(c->min & ((uint64_t)1 << t->minute))) {
			t->minute++;
			t->second = 0;
		}
		if (t->minute == 60) {
			t->minute = t->second = 0;
			if (++t->hour == 24)
				cron_next_day(t);
			continue;
		}
		while (t->second < 60 && !(c->sec & ((uint64_t)1 << t->second)))
			t->second++;
		if (t->second == 60) {
			t->second = 0;
			if (++t->minute == 60) {
				t->minute = 0;
				if (++t->hour == 24)
					cron_next_day(t);
			}
			continue;
		}
		return (0);
	}
	return (-1);
}

/*
 * Whether the jump at instant at, from offset before to a larger offset
 * after, skips a wall-clock time that matches.
 */
static int
cron_gap(const struct cron *c, int64_t at, int before, int after)
{
	struct civil	 g;

	civil_from_secs(at + before, &g);
	return (cron_civil_next(c, &g) == 0 && civil_to_secs(&g) < at + after);
}

/*
 * The next instant (seconds since the epoch) strictly after from at which
 * the schedule fires in zone z, by the rules above; -1 if it never does
 * (and for @reboot, which fires only at start-up).
 */
int64_t
cron_next(const struct cron *c, const struct tz *z, int64_t from)
{
	struct civil	 t;
	int64_t		 step, u, nx, pv, cand, first;
	int		 off, off2, offp, i;

	if (c->reboot)
		return (-1);
	step = c->has_seconds ? 1 : 60;
	u = from - (((from % step) + step) % step) + step;
	if (!c->hour_star) {
		/*
		 * A jump after from but not after u (u is the first whole
		 * step after from, so it can be the jump itself) starts the
		 * segment of u: the loop below would never look back at the
		 * wall-clock times it skipped, which fire at the jump.
		 */
		off = tz_offset(z, u, NULL, &pv);
		if (pv > from) {
			offp = tz_offset(z, pv - 1, NULL, NULL);
			if (offp < off && cron_gap(c, pv, offp, off))
				return (pv);
		}
	}
	for (i = 0; i < 10000; i++) {
		off = tz_offset(z, u, &nx, &pv);
		civil_from_secs(u + off, &t);
		if (cron_civil_next(c, &t) != 0)
			return (-1);
		cand = civil_to_secs(&t) - off;
		if (cand >= nx) {
			/* The match lies past this segment's end. */
			if (!c->hour_star) {
				/* Wall-clock times skipped by a jump fire
				 * when it happens. */
				off2 = tz_offset(z, nx, NULL, NULL);
				if (off2 > off && cron_gap(c, nx, off, off2))
					return (nx);
			}
			u = nx;
			continue;
		}
		if (!c->hour_star && pv != INT64_MIN) {
			/* A repeated wall-clock time fires at its first
			 * occurrence only: was it in the segment before? */
			offp = tz_offset(z, pv - 1, NULL, NULL);
			first = civil_to_secs(&t) - offp;
			if (offp > off && first < pv) {
				/* It was: so is every time up to the end of
				 * the repeat, pv + offp - off. Go past it. */
				u = pv + offp - off;
				u += (step - ((u % step) + step) % step) % step;
				if (u <= cand)
					u = cand + step;
				continue;
			}
		}
		return (cand);
	}
	return (-1);
}

/* Format an instant in a zone as ISO 8601 with its offset. */
void
cron_format(const struct tz *z, int64_t t, char *buf, size_t len)
{
	struct civil	 c;
	int		 off, a;

	off = tz_offset(z, t, NULL, NULL);
	civil_from_secs(t + off, &c);
	a = off < 0 ? -off : off;
	if (a % 60 != 0)
		snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d:"
		    "%02d", (long long)c.year, c.month, c.day, c.hour, c.minute,
		    c.second, off < 0 ? '-' : '+', a / 3600, a % 3600 / 60,
		    a % 60);
	else
		snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
		    (long long)c.year, c.month, c.day, c.hour, c.minute,
		    c.second, off < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
}
