/* A cron schedule described in words, for the web page. */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ml.h"

/*
 * A schedule in words, for people who do not read cron: see
 * cron_describe below. The text is made from the parsed bit sets, so
 * spellings that mean the same ("0,30" and "*\/30", "@daily" and
 * "0 0 * * *") read the same. It has two halves, the times of day and the
 * days, each with a precise phrasing for the common shapes and a plain
 * field-by-field one for the rest; no phrase rounds or guesses.
 */

#define CRON_ENUM_MAX	12	/* longer numeric lists may use steps */
#define CRON_TIMES_MAX	6	/* times of day written out one by one */
#define CRON_TIMES_FEW	4	/* ... even when a window would do */
#define CRON_WINDOWS_MAX 3	/* "from A to B" windows in one phrase */

#define CRON_DOM_ALL	0xfffffffeU	/* bits 1-31 */
#define CRON_DOM_ODD	0xaaaaaaaaU	/* 1, 3, ... 31 */
#define CRON_DOM_EVEN	0x55555554U	/* 2, 4, ... 30 */
#define CRON_DOW_ALL	0x7f
#define CRON_DOW_WORK	0x3e		/* Monday to Friday */
#define CRON_DOW_WEEKEND 0x41		/* Saturday and Sunday */
#define CRON_MON_ALL	0x1ffe

static const char *cron_month_names[] = { NULL, "January", "February",
    "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December" };
static const char *cron_day_names[] = { "Sunday", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday" };

/* How a value in a list is written. */
enum cron_fmt {
	CRON_NUM,	/* 5 */
	CRON_ORD,	/* 5th */
	CRON_MONTH,	/* May */
	CRON_DAY,	/* Monday */
	CRON_DAYS,	/* Mondays */
};

/* The shape of the times-of-day half. */
enum cron_kind {
	CRON_AT,	/* a few times, "09:00 and 17:00" */
	CRON_EVERY,	/* "every 15 minutes from 09:00 to 17:45" */
	CRON_FIELDS,	/* "at minutes 3 and 17 past hours 1 and 5" */
};

/* A string that grows. */
struct cron_buf {
	char	*s;
	size_t	 len;
	size_t	 size;
};

static void	cron_add(struct cron_buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Append to a growing string. */
static void
cron_add(struct cron_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	size_t	 n;

	va_start(ap, fmt);
	n = (size_t)xvasprintf(&s, fmt, ap);
	va_end(ap);
	if (b->len + n + 1 > b->size) {
		b->size = b->len + n + 1 + 64;
		b->s = xreallocarray(b->s, 1, b->size);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
	free(s);
}

/* The values lo to hi whose bits are set, ascending, into v. */
static u_int
cron_values(uint64_t bits, int lo, int hi, int *v)
{
	u_int	 n = 0;
	int	 i;

	for (i = lo; i <= hi; i++) {
		if ((bits >> i) & 1)
			v[n++] = i;
	}
	return (n);
}

/*
 * The weekdays of a bit set in reading order, into v: Monday first with
 * Sunday as 7, so that "fri-sun" is a run; but Sunday first if it goes
 * with Monday and not with Saturday ("sun-tue").
 */
static u_int
cron_weekdays(uint8_t dow, int *v)
{
	u_int	 n = 0;
	int	 i, sunday_first = (dow & 1) && !(dow & (1 << 6));

	if (sunday_first)
		v[n++] = 0;
	for (i = 1; i <= 6; i++) {
		if (dow & (1 << i))
			v[n++] = i;
	}
	if (!sunday_first && (dow & 1))
		v[n++] = 7;
	return (n);
}

/* The suffix of an ordinal number. */
static const char *
cron_ordinal(int v)
{
	if (v % 100 >= 11 && v % 100 <= 13)
		return ("th");
	switch (v % 10) {
	case 1:
		return ("st");
	case 2:
		return ("nd");
	case 3:
		return ("rd");
	}
	return ("th");
}

/* Append one value of a list. */
static void
cron_value_add(struct cron_buf *b, int v, enum cron_fmt fmt)
{
	switch (fmt) {
	case CRON_NUM:
		cron_add(b, "%d", v);
		break;
	case CRON_ORD:
		cron_add(b, "%d%s", v, cron_ordinal(v));
		break;
	case CRON_MONTH:
		cron_add(b, "%s", cron_month_names[v]);
		break;
	case CRON_DAY:
		cron_add(b, "%s", cron_day_names[v]);
		break;
	case CRON_DAYS:
		cron_add(b, "%ss", cron_day_names[v]);
		break;
	}
}

/*
 * Append the ascending values v[0..n) as an English list: three or more
 * consecutive values as "A to B"; in a long numeric list, five or more
 * evenly spaced ones as "A to B in steps of N"; the last two items joined
 * by conj (" and ", " or ").
 */
static void
cron_list(struct cron_buf *b, const int *v, u_int n, enum cron_fmt fmt,
    const char *conj)
{
	u_int	 first[60], last[60], ni = 0, i, j, k;	/* n <= 60 */

	for (i = 0; i < n; i = j + 1) {
		for (j = i; j + 1 < n && v[j + 1] == v[j] + 1; j++)
			;
		if (j - i < 2) {
			j = i;
			if (n > CRON_ENUM_MAX && (fmt == CRON_NUM ||
			    fmt == CRON_ORD) && i + 1 < n) {
				for (j = i + 1; j + 1 < n &&
				    v[j + 1] - v[j] == v[i + 1] - v[i]; j++)
					;
				if (j - i < 4)
					j = i;
			}
		}
		first[ni] = i;
		last[ni++] = j;
	}
	for (k = 0; k < ni; k++) {
		if (k > 0)
			cron_add(b, "%s", k + 1 == ni ? conj : ", ");
		cron_value_add(b, v[first[k]], fmt);
		if (last[k] == first[k])
			continue;
		cron_add(b, " to ");
		cron_value_add(b, v[last[k]], fmt);
		if (v[first[k] + 1] - v[first[k]] != 1)
			cron_add(b, " in steps of %d",
			    v[first[k] + 1] - v[first[k]]);
	}
}

/* Append a time of day, t seconds after midnight, as HH:MM[:SS]. */
static void
cron_time(struct cron_buf *b, int t, int seconds)
{
	if (seconds)
		cron_add(b, "%02d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
	else
		cron_add(b, "%02d:%02d", t / 3600, t / 60 % 60);
}

/* Append "every N units" for an interval of d seconds. */
static void
cron_every(struct cron_buf *b, int d)
{
	if (d % 3600 == 0)
		cron_add(b, d == 3600 ? "every hour" : "every %d hours",
		    d / 3600);
	else if (d % 60 == 0)
		cron_add(b, d == 60 ? "every minute" : "every %d minutes",
		    d / 60);
	else
		cron_add(b, d == 1 ? "every second" : "every %d seconds", d);
}

/* Append "N minutes and M seconds past" for an offset into the hour. */
static void
cron_past(struct cron_buf *b, int off)
{
	int	 m = off / 60, s = off % 60;

	if (m != 0)
		cron_add(b, "%d minute%s", m, m == 1 ? "" : "s");
	if (m != 0 && s != 0)
		cron_add(b, " and ");
	if (s != 0)
		cron_add(b, "%d second%s", s, s == 1 ? "" : "s");
	cron_add(b, " past");
}

/*
 * Append the times of day: every second offset p[0..np) into every hour
 * h[0..nh), as a list "00:00, 06:00 and 12:00".
 */
static void
cron_times(struct cron_buf *b, const int *h, u_int nh, const int *p,
    u_int np, int seconds)
{
	u_int	 i, j, k = 0;

	for (i = 0; i < nh; i++) {
		for (j = 0; j < np; j++) {
			if (k > 0)
				cron_add(b, "%s", k + 1 == nh * np ? " and " :
				    ", ");
			cron_time(b, h[i] * 3600 + p[j], seconds);
			k++;
		}
	}
}

/*
 * Append the times of day field by field, for the shapes that have no
 * shorter exact phrase: "at minutes 3, 17 and 41 past hours 1, 5 and 22".
 */
static void
cron_fields_times(struct cron_buf *b, const int *s, u_int ns, const int *m,
    u_int nm, const int *h, u_int nh, int seconds)
{
	if (seconds) {
		if (ns == 60)
			cron_add(b, "every second");
		else {
			cron_add(b, "at second%s ", ns == 1 ? "" : "s");
			cron_list(b, s, ns, CRON_NUM, " and ");
		}
		cron_add(b, " of ");
	} else
		cron_add(b, nm == 60 ? "" : "at ");
	if (nm == 60)
		cron_add(b, "every minute");
	else {
		cron_add(b, "minute%s ", nm == 1 ? "" : "s");
		cron_list(b, m, nm, CRON_NUM, " and ");
	}
	if (nh == 24) {
		if (nm != 60)
			cron_add(b, " past every hour");
		return;
	}
	cron_add(b, "%s hour%s ", nm == 60 ? " during" : " past",
	    nh == 1 ? "" : "s");
	cron_list(b, h, nh, CRON_NUM, " and ");
}

/*
 * Append the times of day of a schedule and return their shape. The times
 * are every offset into the hour in p (the minutes times the seconds)
 * within every hour in h; when they are evenly spaced, d seconds apart,
 * they are "every d from the first to the last", and when they fill the
 * day evenly, simply "every d".
 */
static enum cron_kind
cron_describe_times(const struct cron *c, struct cron_buf *b)
{
	uint64_t	 sec = c->has_seconds ? c->sec : 1;
	int		 s[60], m[60], h[24], *p, pd = 0, d = 0, even, chain;
	int		 seconds = sec != 1, first, last, run[24][2], windows;
	u_int		 ns, nm, nh, np, nt, nrun = 0, i, j;
	enum cron_kind	 kind = CRON_EVERY;

	ns = cron_values(sec, 0, 59, s);
	nm = cron_values(c->min, 0, 59, m);
	nh = cron_values(c->hour, 0, 23, h);
	np = nm * ns;
	nt = nh * np;
	p = xreallocarray(NULL, np, sizeof *p);
	for (i = 0; i < nm; i++) {
		for (j = 0; j < ns; j++)
			p[i * ns + j] = m[i] * 60 + s[j];
	}

	/*
	 * The offsets are evenly spaced if pd apart; they chain if the
	 * spacing also holds from one hour into the next (or there is one
	 * offset), so consecutive hours make one evenly spaced run.
	 */
	even = 1;
	if (np >= 2) {
		pd = p[1] - p[0];
		for (i = 2; i < np; i++) {
			if (p[i] - p[i - 1] != pd)
				even = 0;
		}
	}
	chain = np == 1 || (even && (int)np * pd == 3600);
	for (i = 0; i < nh; i++) {
		if (nrun > 0 && h[i] == run[nrun - 1][1] + 1)
			run[nrun - 1][1] = h[i];
		else {
			run[nrun][0] = run[nrun][1] = h[i];
			nrun++;
		}
	}

	/* Whether all the times are evenly spaced, d seconds apart. */
	if (np == 1 && nh >= 2) {
		d = (h[1] - h[0]) * 3600;
		for (i = 2; i < nh; i++) {
			if ((h[i] - h[i - 1]) * 3600 != d)
				d = 0;
		}
	} else if (np >= 2 && ((chain && nrun == 1) || (nh == 1 && even)))
		d = pd;
	first = h[0] * 3600 + p[0];
	last = h[nh - 1] * 3600 + p[np - 1];

	/*
	 * Otherwise, chaining offsets make each run of hours a window; but
	 * one offset an hour in a lone hour would be "from 20:00 to 20:00".
	 */
	windows = chain && nrun <= CRON_WINDOWS_MAX;
	for (i = 0; i < nrun; i++) {
		if (np == 1 && run[i][0] == run[i][1])
			windows = 0;
	}

	if (nt <= 2) {
		kind = CRON_AT;
		cron_times(b, h, nh, p, np, seconds);
	} else if (d != 0 && (int64_t)nt * d == 86400 && d < 3600 &&
	    first == 0)
		cron_every(b, d);
	else if (d == 60 && (int64_t)nt * d == 86400) {
		cron_add(b, "every minute at ");
		cron_past(b, first);
	} else if (d == 3600 && nt == 24) {
		if (first == 0)
			cron_add(b, "every hour, on the hour");
		else {
			cron_add(b, "every hour at ");
			cron_past(b, first);
		}
	} else if (d != 0) {
		cron_every(b, d);
		cron_add(b, " from ");
		cron_time(b, first, seconds);
		cron_add(b, " to ");
		cron_time(b, last, seconds);
	} else if (nt <= CRON_TIMES_FEW) {
		kind = CRON_AT;
		cron_times(b, h, nh, p, np, seconds);
	} else if (windows) {
		cron_every(b, np == 1 ? 3600 : pd);
		for (i = 0; i < nrun; i++) {
			if (i > 0)
				cron_add(b, "%s", i + 1 == nrun ? " and" : ",");
			cron_add(b, " from ");
			cron_time(b, run[i][0] * 3600 + p[0], seconds);
			cron_add(b, " to ");
			cron_time(b, run[i][1] * 3600 + p[np - 1], seconds);
		}
	} else if (nt <= CRON_TIMES_MAX) {
		kind = CRON_AT;
		cron_times(b, h, nh, p, np, seconds);
	} else {
		kind = CRON_FIELDS;
		cron_fields_times(b, s, ns, m, nm, h, nh, seconds);
	}
	free(p);
	return (kind);
}

/*
 * Append the months: nothing for every month, "from March to October"
 * for one run of three or more, else "in January and July"; after
 * prefix.
 */
static void
cron_months(struct cron_buf *b, uint16_t mon, const char *prefix)
{
	int	 v[12];
	u_int	 n;

	if ((mon & CRON_MON_ALL) == CRON_MON_ALL)
		return;
	n = cron_values(mon, 1, 12, v);
	if (n >= 3 && v[n - 1] - v[0] == (int)n - 1)
		cron_add(b, "%sfrom %s to %s", prefix, cron_month_names[v[0]],
		    cron_month_names[v[n - 1]]);
	else {
		cron_add(b, "%sin ", prefix);
		cron_list(b, v, n, CRON_MONTH, " and ");
	}
}

/* Append days of the month, "odd days" or "the 1st and 15th". */
static void
cron_doms(struct cron_buf *b, uint32_t dom, const char *conj)
{
	int	 v[31];
	u_int	 n;

	if ((dom & CRON_DOM_ALL) == CRON_DOM_ODD)
		cron_add(b, "odd days");
	else if ((dom & CRON_DOM_ALL) == CRON_DOM_EVEN)
		cron_add(b, "even days");
	else {
		n = cron_values(dom, 1, 31, v);
		cron_add(b, "the ");
		cron_list(b, v, n, CRON_ORD, conj);
	}
}

/* Append weekdays as a plural: "weekdays", "Mondays and Fridays". */
static void
cron_dows(struct cron_buf *b, uint8_t dow)
{
	int	 v[7];
	u_int	 n;

	if ((dow & CRON_DOW_ALL) == CRON_DOW_WORK)
		cron_add(b, "weekdays");
	else if ((dow & CRON_DOW_ALL) == CRON_DOW_WEEKEND)
		cron_add(b, "weekends");
	else {
		n = cron_weekdays(dow, v);
		cron_list(b, v, n, CRON_DAYS, " and ");
	}
}

/*
 * Append the days of a schedule restricted by the day of the month only;
 * at says the times follow ("every year on 1 January at ...").
 */
static void
cron_dom_days(struct cron_buf *b, const struct cron *c, int at)
{
	int	 v[31], mv[12];
	u_int	 n, nm;

	n = cron_values(c->dom, 1, 31, v);
	nm = cron_values(c->mon, 1, 12, mv);
	if ((c->dom & CRON_DOM_ALL) == CRON_DOM_ODD ||
	    (c->dom & CRON_DOM_ALL) == CRON_DOM_EVEN) {
		cron_add(b, "on ");
		cron_doms(b, c->dom, " and ");
		cron_add(b, " of the month");
		cron_months(b, c->mon, " ");
	} else if (nm == 12) {
		cron_add(b, "on ");
		cron_doms(b, c->dom, " and ");
		cron_add(b, " of every month");
	} else if (n == 1 && nm == 1)
		cron_add(b, "%son %d %s", at ? "every year " : "", v[0],
		    cron_month_names[mv[0]]);
	else if (n == 1 && nm == 2)
		cron_add(b, "on %d %s and %d %s", v[0],
		    cron_month_names[mv[0]], v[0], cron_month_names[mv[1]]);
	else if (nm >= 3 && mv[nm - 1] - mv[0] == (int)nm - 1) {
		cron_add(b, "on ");
		cron_doms(b, c->dom, " and ");
		cron_add(b, " of every month");
		cron_months(b, c->mon, " ");
	} else {
		cron_add(b, "on ");
		cron_doms(b, c->dom, " and ");
		cron_add(b, " of ");
		cron_list(b, mv, nm, CRON_MONTH, " and ");
	}
}

/*
 * Append the days of a schedule restricted by the day of the week only:
 * "on weekdays", "from Monday to Thursday", "on Monday and Friday".
 */
static void
cron_dow_days(struct cron_buf *b, uint8_t dow)
{
	int	 v[7];
	u_int	 n;

	n = cron_weekdays(dow, v);
	if (n == 1)
		cron_add(b, "on %ss", cron_day_names[v[0]]);
	else if ((dow & CRON_DOW_ALL) == CRON_DOW_WORK)
		cron_add(b, "on weekdays");
	else if ((dow & CRON_DOW_ALL) == CRON_DOW_WEEKEND)
		cron_add(b, "on weekends");
	else if (n >= 3 && v[n - 1] - v[0] == (int)n - 1)
		cron_add(b, "from %s to %s", cron_day_names[v[0]],
		    cron_day_names[v[n - 1]]);
	else {
		cron_add(b, "on ");
		cron_list(b, v, n, CRON_DAY, " and ");
	}
}

/*
 * Describe a schedule in short English for the web page: "every 15
 * minutes from 09:00 to 17:45 on weekdays", "on the 1st of every month at
 * 00:00". Times are 24-hour HH:MM (HH:MM:SS when seconds matter) in the
 * task's zone, which the text does not name. Both day fields restricted
 * (the Vixie rule) reads as an explicit "or" ("on the 1st of the month and
 * on Mondays"); a field starting with '*' next to a restricted one, as
 * "and" ("on Mondays that are odd days of the month"). Returns a string
 * to free, or NULL if expr does not parse.
 */
char *
cron_describe(const char *expr)
{
	struct cron	 c;
	struct cron_buf	 t = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	enum cron_kind	 kind;
	char		*cause = NULL;
	const char	*sep;
	int		 domall, dowall, v[7];
	enum { ALL, DOM, DOW, OR, AND } days;

	if (cron_parse(expr, &c, &cause) != 0) {
		free(cause);
		return (NULL);
	}
	if (c.reboot)
		return (xstrdup("when microlightd starts"));

	/*
	 * The Vixie rule: with both day fields restricted a day matches if
	 * either does, so a field that allows every day makes every day
	 * match; with one starting with '*', a day must match both.
	 */
	domall = (c.dom & CRON_DOM_ALL) == CRON_DOM_ALL;
	dowall = (c.dow & CRON_DOW_ALL) == CRON_DOW_ALL;
	if (!c.dom_star && !c.dow_star)
		days = domall || dowall ? ALL : OR;
	else if (!domall && !dowall)
		days = AND;
	else
		days = !domall ? DOM : !dowall ? DOW : ALL;

	kind = cron_describe_times(&c, &t);
	/* "every hour, on the hour, on Mondays"; "... past, on Mondays". */
	sep = " ";
	if (kind == CRON_FIELDS || strchr(t.s, ',') != NULL ||
	    (t.len > 5 && strcmp(t.s + t.len - 5, " past") == 0))
		sep = ", ";
	switch (days) {
	case ALL:
		if (kind == CRON_AT) {
			cron_add(&b, "every day");
			cron_months(&b, c.mon, " ");
			cron_add(&b, " at %s", t.s);
		} else {
			cron_add(&b, "%s", t.s);
			cron_months(&b, c.mon, sep);
		}
		break;
	case DOW:
		if (kind == CRON_AT && cron_weekdays(c.dow, v) == 1) {
			cron_add(&b, "every %s", cron_day_names[v[0]]);
			cron_months(&b, c.mon, " ");
			cron_add(&b, " at %s", t.s);
			break;
		}
		if (kind == CRON_AT)
			cron_add(&b, "at %s ", t.s);
		else
			cron_add(&b, "%s%s", t.s, sep);
		cron_dow_days(&b, c.dow);
		cron_months(&b, c.mon, " ");
		break;
	case DOM:
		if (kind != CRON_AT)
			cron_add(&b, "%s%s", t.s, sep);
		cron_dom_days(&b, &c, kind == CRON_AT);
		if (kind == CRON_AT)
			cron_add(&b, " at %s", t.s);
		break;
	case OR:
	case AND:
		if (kind == CRON_AT)
			cron_add(&b, "at %s ", t.s);
		else
			cron_add(&b, "%s%s", t.s, sep);
		if (days == OR) {
			cron_add(&b, "on ");
			cron_doms(&b, c.dom, " and ");
			cron_add(&b, " of the month and on ");
			cron_dows(&b, c.dow);
		} else {
			cron_add(&b, "on ");
			cron_dows(&b, c.dow);
			cron_add(&b, " that are ");
			cron_doms(&b, c.dom, " or ");
			cron_add(&b, " of the month");
		}
		cron_months(&b, c.mon, ", ");
		break;
	}
	free(t.s);
	return (b.s);
}
