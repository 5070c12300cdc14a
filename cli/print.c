/* Human output: aligned tables, local times, colour only on a terminal. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightctl.h"

struct table {
	u_int	 ncols;
	char	**cells;	/* nrows * ncols */
	u_int	 nrows;
	int	*colour;	/* per column: colour the cell by status */
};

/* Whether to colour: stdout is a terminal and NO_COLOR is not set. */
int
print_colour(void)
{
	static int	 colour = -1;
	const char	*term;

	if (colour == -1) {
		term = getenv("TERM");
		colour = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL &&
		    (term == NULL || strcmp(term, "dumb") != 0);
	}
	return (colour);
}

/*
 * The escape sequence for a run status (or a task list's "invalid: ..."),
 * or "".
 */
const char *
status_colour(const char *status)
{
	static const char *colours[RUN_NSTATUS] = {
		[RUN_QUEUED] = "\033[36m",
		[RUN_RUNNING] = "\033[36m",
		[RUN_SUCCEEDED] = "\033[32m",
		[RUN_FAILED] = "\033[31m",
		[RUN_TIMED_OUT] = "\033[31m",
		[RUN_CANCELLED] = "\033[33m",
		[RUN_SKIPPED] = "\033[33m",
		[RUN_LOST] = "\033[31m",
		[RUN_SCHEDULED] = "\033[36m",
	};
	int		 st;

	if (!print_colour() || status == NULL)
		return ("");
	if (strncmp(status, "invalid", 7) == 0)
		return (colours[RUN_FAILED]);	/* red, as a failure */
	if ((st = proto_status_from(status)) == -1)
		return ("");
	return (colours[st]);
}

/* The escape sequence ending a colour, or "". */
const char *
colour_reset(void)
{
	return (print_colour() ? "\033[0m" : "");
}

/* A string member, or NULL. */
const char *
jstr(json_t *o, const char *key)
{
	return (json_string_value(json_object_get(o, key)));
}

/* An integer member, or dflt. */
int64_t
jint(json_t *o, const char *key, int64_t dflt)
{
	json_t	*v = json_object_get(o, key);

	return (json_is_integer(v) ? json_integer_value(v) : dflt);
}

/* A time (an RFC 3339 string) in local time, or "-". */
static void
fmt_time_value(json_t *v, char *buf, size_t len)
{
	const char	*s = json_string_value(v);
	int64_t		 ms;

	if (s == NULL || time_parse_rfc3339(s, &ms) != 0)
		snprintf(buf, len, "-");
	else
		time_local(ms, buf, len);
}

/* A time member in local time, or "-". */
void
fmt_time(json_t *o, const char *key, char *buf, size_t len)
{
	fmt_time_value(json_object_get(o, key), buf, len);
}

/*
 * When a run started; for a run that has not, "-", or when it may start
 * if it waits for a time (a retry's delay).
 */
static void
fmt_started(json_t *run, char *buf, size_t len)
{
	char	 t[32];

	if (json_is_string(json_object_get(run, K_STARTED_AT)))
		fmt_time(run, K_STARTED_AT, buf, len);
	else if (json_is_string(json_object_get(run, K_SCHEDULED_FOR)) &&
	    proto_run_status(run) == RUN_SCHEDULED) {
		fmt_time(run, K_SCHEDULED_FOR, t, sizeof t);
		snprintf(buf, len, "at %s", t);
	} else
		snprintf(buf, len, "-");
}

/* How long a run ran (or has been running), or "-". */
void
fmt_duration(json_t *run, char *buf, size_t len)
{
	const char	*s, *e;
	int64_t		 start, end;

	s = jstr(run, K_STARTED_AT);
	e = jstr(run, K_FINISHED_AT);
	if (s == NULL || time_parse_rfc3339(s, &start) != 0) {
		snprintf(buf, len, "-");
		return;
	}
	if (e == NULL || time_parse_rfc3339(e, &end) != 0)
		end = time_now_ms();
	duration_format_ms(end - start, buf, len);
}

/*
 * A copy of s that a terminal shows and does not act on: C0 controls, DEL,
 * C1 controls (U+0080-U+009F, which some terminals take as CSI) and bytes
 * that are not UTF-8 become \t, \n, \r or \ooo (\033 for ESC), as vis(3)
 * writes them; other UTF-8 text, backslashes included, stays as it is, so
 * that words with accents, CJK, paths and regexes read as written. Every
 * string the daemon sends, which a task file or a remote caller may have
 * written, goes through here before it is printed; --json and the output
 * of a run do not.
 *
 * Not libbsd's strvis: microlightctl does not link libbsd (bench/README),
 * and VIS_SAFE leaves BEL, BS and CR as they are while bytes >= 0x80
 * become \M-C\M-< in the C locale (and are mangled in a UTF-8 one).
 */
char *
text_vis(const char *s)
{
	const u_char	*p = (const u_char *)s, *end;
	char		*out, *o;
	size_t		 n;

	end = p + strlen(s);
	o = out = xreallocarray(NULL, end - p + 1, 4);
	while (p < end) {
		if (*p >= 0x20 && *p < 0x7f) {
			*o++ = *p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0)
			n = 2;
		else if ((*p & 0xf0) == 0xe0)
			n = 3;
		else if ((*p & 0xf8) == 0xf0)
			n = 4;
		else
			n = 0;
		if (n != 0 && (size_t)(end - p) >= n &&
		    utf8_valid((const char *)p, n) &&
		    !(p[0] == 0xc2 && p[1] < 0xa0)) {
			memcpy(o, p, n);
			o += n;
			p += n;
			continue;
		}
		if (*p == '\t' || *p == '\n' || *p == '\r') {
			*o++ = '\\';
			*o++ = *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r';
		} else {
			*o++ = '\\';
			*o++ = '0' + (*p >> 6);
			*o++ = '0' + ((*p >> 3) & 7);
			*o++ = '0' + (*p & 7);
		}
		p++;
	}
	*o = '\0';
	return (out);
}

/* Print a line (fmt and a newline) with text_vis applied to all of it. */
void
print_line(const char *fmt, ...)
{
	va_list	 ap;
	char	*s, *v;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	v = text_vis(s);
	printf("%s\n", v);
	free(v);
	free(s);
}

/* Write all bytes to a descriptor; a closed pipe ends the program quietly. */
void
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			if (errno == EPIPE)
				exit(0);
			exit(EXIT_SOFTWARE);
		}
		p += n;
		len -= n;
	}
}

/* A table with column headers; a header starting with '*' is a status column. */
struct table *
table_create(u_int ncols, ...)
{
	struct table	*t;
	va_list		 ap;
	const char	*h;
	u_int		 i;

	t = xcalloc(1, sizeof *t);
	t->ncols = ncols;
	t->colour = xcalloc(ncols, sizeof *t->colour);
	t->cells = xcalloc(ncols, sizeof *t->cells);
	va_start(ap, ncols);
	for (i = 0; i < ncols; i++) {
		h = va_arg(ap, const char *);
		if (*h == '*') {
			t->colour[i] = 1;
			h++;
		}
		t->cells[i] = xstrdup(h);
	}
	va_end(ap);
	t->nrows = 1;
	return (t);
}

/* Add a row of ncols strings (NULL prints as "-"), made visible. */
void
table_add(struct table *t, ...)
{
	va_list		 ap;
	const char	*s;
	u_int		 i;

	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols,
	    sizeof *t->cells);
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		s = va_arg(ap, const char *);
		t->cells[t->nrows * t->ncols + i] = text_vis(s != NULL &&
		    *s != '\0' ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

/* Display width of a UTF-8 string, counting code points. */
static size_t
text_width(const char *s)
{
	size_t	 w = 0;

	for (; *s != '\0'; s++) {
		if (((u_char)*s & 0xc0) != 0x80)
			w++;
	}
	return (w);
}

/* Print and free a table, columns padded to their widest cell. */
void
table_print(struct table *t)
{
	size_t	*width, w;
	u_int	 r, i;
	char	*cell;

	width = xcalloc(t->ncols, sizeof *width);
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			w = text_width(t->cells[r * t->ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			cell = t->cells[r * t->ncols + i];
			if (r > 0 && t->colour[i])
				printf("%s%s%s", status_colour(cell), cell,
				    colour_reset());
			else
				printf("%s", cell);
			if (i + 1 < t->ncols)
				printf("%*s", (int)(width[i] -
				    text_width(cell) + 2), "");
			free(cell);
		}
		printf("\n");
	}
	free(width);
	free(t->cells);
	free(t->colour);
	free(t);
}

/* How a run ended, in a few words: "exit 3", "signal 9", "-". */
static void
fmt_exit(json_t *run, char *buf, size_t len)
{
	int64_t	 code = jint(run, K_EXIT_CODE, -1);
	int64_t	 sig = jint(run, K_SIGNAL, 0);

	if (sig > 0)
		snprintf(buf, len, "signal %lld", (long long)sig);
	else if (code >= 0)
		snprintf(buf, len, "%lld", (long long)code);
	else
		snprintf(buf, len, "-");
}

/* One run's record as "key: value" lines. */
void
print_run(json_t *run)
{
	char		 t[64], d[32], e[32], *p, *v_status;
	const char	*status = jstr(run, K_STATUS);
	json_t		*v;

	print_line("run:          %lld", (long long)jint(run, K_ID, 0));
	print_line("task:         %s", jstr(run, K_TASK));
	v_status = text_vis(status != NULL ? status : "?");
	printf("status:       %s%s%s\n", status_colour(status), v_status,
	    colour_reset());
	free(v_status);
	if ((v = json_object_get(run, K_REASON)) != NULL && json_is_string(v))
		print_line("reason:       %s", json_string_value(v));
	print_line("trigger:      %s", jstr(run, K_TRIGGER));
	print_line("triggered by: %s", jstr(run, K_TRIGGERED_BY));
	if ((v = json_object_get(run, K_SCHEDULE)) != NULL &&
	    json_is_string(v))
		print_line("schedule:     %s", json_string_value(v));
	p = proto_params_words(json_object_get(run, K_PARAMS), 0);
	print_line("parameters:   %s", *p != '\0' ? p : "-");
	free(p);
	print_line("attempt:      %lld", (long long)jint(run, K_ATTEMPT, 1));
	if (jint(run, K_RETRY_OF, 0) > 0)
		print_line("retry of:     %lld",
		    (long long)jint(run, K_RETRY_OF, 0));
	if (jint(run, K_RERUN_OF, 0) > 0)
		print_line("rerun of:     %lld",
		    (long long)jint(run, K_RERUN_OF, 0));
	if (jint(run, K_CHAIN_OF, 0) > 0)
		print_line("chained by:   run %lld",
		    (long long)jint(run, K_CHAIN_OF, 0));
	fmt_time(run, K_QUEUED_AT, t, sizeof t);
	print_line("queued:       %s", t);
	if (json_is_string(json_object_get(run, K_SCHEDULED_FOR)) &&
	    proto_run_status(run) == RUN_SCHEDULED) {
		fmt_time(run, K_SCHEDULED_FOR, t, sizeof t);
		print_line("starts at:    %s (not before)", t);
	}
	fmt_time(run, K_STARTED_AT, t, sizeof t);
	print_line("started:      %s", t);
	fmt_time(run, K_FINISHED_AT, t, sizeof t);
	print_line("finished:     %s", t);
	fmt_duration(run, d, sizeof d);
	print_line("duration:     %s", d);
	fmt_exit(run, e, sizeof e);
	print_line("exit:         %s", e);
	size_format(jint(run, K_OUTPUT_SIZE, 0), t, sizeof t);
	printf("output:       %s bytes", t);
	if (jint(run, K_OUTPUT_DROPPED, 0) > 0)
		printf(" (%lld dropped)",
		    (long long)jint(run, K_OUTPUT_DROPPED, 0));
	printf("\n");
}

/* A table of runs; with_task adds the task column. */
void
print_runs(json_t *runs, int with_task)
{
	struct table	*t;
	json_t		*run;
	size_t		 i;
	char		 id[32], started[80], d[32], e[32];

	if (with_task)
		t = table_create(8, "ID", "TASK", "*STATUS", "TRIGGER", "BY",
		    "STARTED", "DURATION", "EXIT");
	else
		t = table_create(7, "ID", "*STATUS", "TRIGGER", "BY",
		    "STARTED", "DURATION", "EXIT");
	json_array_foreach(runs, i, run) {
		snprintf(id, sizeof id, "%lld", (long long)jint(run, K_ID, 0));
		fmt_started(run, started, sizeof started);
		fmt_duration(run, d, sizeof d);
		fmt_exit(run, e, sizeof e);
		if (with_task)
			table_add(t, id, jstr(run, K_TASK),
			    jstr(run, K_STATUS), jstr(run, K_TRIGGER),
			    jstr(run, K_TRIGGERED_BY), started, d, e);
		else
			table_add(t, id, jstr(run, K_STATUS),
			    jstr(run, K_TRIGGER), jstr(run, K_TRIGGERED_BY),
			    started, d, e);
	}
	table_print(t);
}

/* The schedules of a task joined, or NULL. */
static char *
schedules_text(json_t *task)
{
	json_t	*a = json_object_get(task, K_SCHEDULES), *v;
	size_t	 i;
	char	*s = NULL, *n;

	json_array_foreach(a, i, v) {
		xasprintf(&n, "%s%s%s", s != NULL ? s : "", s != NULL ? "; " :
		    "", json_string_value(v));
		free(s);
		s = n;
	}
	return (s);
}

/*
 * Each schedule of a task on a line of its own: the expression, the
 * parameters it gives (as the @schedule line writes them) and its next
 * fire time; under it, the expression in words.
 */
static void
print_schedules(json_t *task)
{
	json_t		*a = json_object_get(task, K_SCHEDULES), *v, *nexts;
	json_t		*sparams;
	size_t		 i;
	const char	*label = "schedule:     ", *expr;
	char		 next[64], when[80], *params, *words;

	if (json_array_size(a) == 0) {
		print_line("%s-", label);
		return;
	}
	nexts = json_object_get(task, K_NEXT_RUNS);
	sparams = json_object_get(task, K_SCHEDULE_PARAMS);
	json_array_foreach(a, i, v) {
		if ((expr = json_string_value(v)) == NULL)
			continue;
		when[0] = '\0';
		if (json_is_string(json_array_get(nexts, i))) {
			fmt_time_value(json_array_get(nexts, i), next,
			    sizeof next);
			snprintf(when, sizeof when, " (next %s)", next);
		}
		params = proto_params_words(json_array_get(sparams, i), 1);
		print_line("%s%s%s%s%s", label, expr, *params != '\0' ? " " :
		    "", params, when);
		if ((words = cron_describe(expr)) != NULL)
			print_line("                %s", words);
		free(words);
		free(params);
		label = "              ";
	}
}

/* A task's scheduled runs, soonest first: when, id, who, parameters. */
static void
print_scheduled(json_t *runs)
{
	struct table	*t;
	json_t		*run;
	size_t		 i;
	char		 id[32], when[64], *params;

	t = table_create(4, "  WHEN", "ID", "BY", "PARAMS");
	json_array_foreach(runs, i, run) {
		snprintf(id, sizeof id, "%lld", (long long)jint(run, K_ID, 0));
		when[0] = ' ';
		when[1] = ' ';
		fmt_time(run, K_SCHEDULED_FOR, when + 2, sizeof when - 2);
		params = proto_params_words(json_object_get(run, K_PARAMS), 1);
		table_add(t, when, id, jstr(run, K_TRIGGERED_BY), params);
		free(params);
	}
	table_print(t);
}

/* One task in detail, with its scheduled runs and its recent runs. */
void
print_task(json_t *task, json_t *scheduled, json_t *runs)
{
	json_t		*params, *p, *v, *errors;
	struct table	*t;
	size_t		 i;
	char		 buf[64];

	print_line("task:         %s", jstr(task, K_NAME));
	print_line("file:         %s", jstr(task, K_PATH));
	if (jstr(task, K_DESCRIPTION) != NULL)
		print_line("description:  %s", jstr(task, K_DESCRIPTION));
	if (!json_is_true(json_object_get(task, K_VALID))) {
		printf("valid:        %sno%s\n", status_colour("invalid"),
		    colour_reset());
		errors = json_object_get(task, K_ERRORS);
		json_array_foreach(errors, i, v)
			print_line("  %s", json_string_value(v));
	} else
		printf("valid:        yes\n");
	if (json_object_get(task, K_TIMEOUT) == NULL)
		return;
	print_schedules(task);
	if (jstr(task, K_TIMEZONE) != NULL)
		print_line("time zone:    %s", jstr(task, K_TIMEZONE));
	duration_format(jint(task, K_TIMEOUT, 0), buf, sizeof buf);
	print_line("timeout:      %s", strcmp(buf, "0") == 0 ? "none" : buf);
	print_line("concurrency:  %lld (overlap %s)",
	    (long long)jint(task, K_CONCURRENCY, 1), jstr(task, K_OVERLAP));
	duration_format(jint(task, K_RETRY_DELAY, 0), buf, sizeof buf);
	print_line("retries:      %lld (delay %s)",
	    (long long)jint(task, K_RETRIES, 0), buf);
	print_line("priority:     %lld", (long long)jint(task, K_PRIORITY, 0));
	print_line("working dir:  %s", jstr(task, K_WORKDIR));
	if (jstr(task, K_USER) != NULL)
		print_line("user:         %s", jstr(task, K_USER));
	if (jstr(task, K_GROUP) != NULL)
		print_line("group:        %s", jstr(task, K_GROUP));
	if (jstr(task, K_TITLE) != NULL)
		print_line("title:        %s", jstr(task, K_TITLE));
	if (jstr(task, K_ON_SUCCESS) != NULL)
		print_line("on success:   %s", jstr(task, K_ON_SUCCESS));
	if (jstr(task, K_ON_FAILURE) != NULL)
		print_line("on failure:   %s", jstr(task, K_ON_FAILURE));
	json_array_foreach(json_object_get(task, K_ENV), i, v)
		print_line("environment:  %s", json_string_value(v));
	print_line("webhook:      %s", json_is_true(json_object_get(task,
	    K_WEBHOOK)) ? "yes" : "no");
	if (json_is_true(json_object_get(task, K_CONFIRM)))
		printf("confirm:      yes\n");
	if (json_is_true(json_object_get(task, K_CATCHUP)))
		printf("catch up:     yes\n");

	params = json_object_get(task, K_PARAMS);
	if (json_array_size(params) > 0) {
		printf("\nparameters:\n");
		t = table_create(5, "  NAME", "TYPE", "DEFAULT", "REQUIRED",
		    "LABEL");
		json_array_foreach(params, i, p) {
			char *name, *type;

			xasprintf(&name, "  %s", jstr(p, K_NAME));
			if (json_object_get(p, K_CHOICES) != NULL) {
				char *list = xstrdup(""), *n;
				size_t j;

				json_array_foreach(json_object_get(p,
				    K_CHOICES), j, v) {
					xasprintf(&n, "%s%s%s", list,
					    j > 0 ? "," : "",
					    json_string_value(v));
					free(list);
					list = n;
				}
				xasprintf(&type, "choice(%s)", list);
				free(list);
			} else
				type = xstrdup(jstr(p, K_TYPE));
			table_add(t, name, type, jstr(p, K_DEFAULT),
			    json_is_true(json_object_get(p, K_REQUIRED)) ?
			    "yes" : "no", jstr(p, K_LABEL));
			free(name);
			free(type);
		}
		table_print(t);
	}
	if (json_array_size(scheduled) > 0) {
		printf("\nscheduled runs:\n");
		print_scheduled(scheduled);
	}
	if (runs != NULL && json_array_size(runs) > 0) {
		printf("\nrecent runs:\n");
		print_runs(runs, 0);
	}
}

/* Add "what since TIME" to *status if the task's key says so. */
static void
print_health(json_t *task, const char *key, const char *what,
    char **status)
{
	char	 since[64], *s;

	if (!json_is_string(json_object_get(task, key)))
		return;
	fmt_time(task, key, since, sizeof since);
	xasprintf(&s, "%s, %s since %s", *status, what, since);
	free(*status);
	*status = s;
}

/*
 * The task list: name, schedule, next run, last run and its status. It is
 * filled a task at a time (a list's tasks come as events, each freed once
 * it is a row) and printed at the end, with a line on invalid tasks.
 */
struct task_table {
	struct table	*t;
	char		*invalid;	/* the one invalid task */
	u_int		 ninvalid;
};

struct task_table *
task_table_create(void)
{
	struct task_table	*tt;

	tt = xcalloc(1, sizeof *tt);
	tt->t = table_create(5, "TASK", "SCHEDULE", "NEXT RUN", "LAST RUN",
	    "*STATUS");
	return (tt);
}

/* A task's row. */
void
task_table_add(struct task_table *tt, json_t *task)
{
	json_t		*last;
	char		*sched, *status, last_time[64], next[64];
	int		 st;

	last = json_object_get(task, K_LAST_RUN);
	sched = schedules_text(task);
	fmt_time(task, K_NEXT_RUN, next, sizeof next);
	if (json_is_object(last))
		fmt_time(last, json_is_string(json_object_get(last,
		    K_STARTED_AT)) ? K_STARTED_AT : K_QUEUED_AT, last_time,
		    sizeof last_time);
	else
		snprintf(last_time, sizeof last_time, "-");
	if (!json_is_true(json_object_get(task, K_VALID))) {
		/* Its errors are for show: a marker here. */
		status = xstrdup("invalid");
		if (tt->ninvalid++ == 0 && jstr(task, K_NAME) != NULL)
			tt->invalid = xstrdup(jstr(task, K_NAME));
	} else if (json_is_object(last))
		status = xstrdup(jstr(last, K_STATUS));
	else
		status = xstrdup("-");
	/*
	 * Overdue (@expect), and failing when the last run does not say so
	 * (a retry waits, another run is under way).
	 */
	print_health(task, K_OVERDUE_SINCE, "overdue", &status);
	st = json_is_object(last) ? proto_run_status(last) : -1;
	if (st != RUN_FAILED && st != RUN_TIMED_OUT && st != RUN_LOST)
		print_health(task, K_FAILING_SINCE, "failing", &status);
	table_add(tt->t, jstr(task, K_NAME), sched, next, last_time, status);
	free(sched);
	free(status);
}

/* Print the table and the line on invalid tasks; free it. */
void
task_table_print(struct task_table *tt)
{
	char	*v;

	table_print(tt->t);
	if (tt->ninvalid == 1 && tt->invalid != NULL) {
		v = text_vis(tt->invalid);
		printf("(%s is invalid: 'microlightctl show %s' says why)\n",
		    v, v);
		free(v);
	} else if (tt->ninvalid > 1)
		printf("(%u tasks are invalid: 'microlightctl show TASK' says "
		    "why)\n", tt->ninvalid);
	free(tt->invalid);
	free(tt);
}

/*
 * The token list: name, creator, tasks ("(all)": every task its creator
 * may use), when it was made, when it expires and when it was last used
 * (to the minute), in local time. Never a secret: the daemon has none.
 */
void
print_tokens(json_t *tokens)
{
	struct table	*t;
	json_t		*tok, *v;
	size_t		 i, j;
	char		*tasks, *n, created[64], when[64], expires[80];
	char		 used[64];

	t = table_create(6, "NAME", "CREATOR", "TASKS", "CREATED", "EXPIRES",
	    "LAST USED");
	json_array_foreach(tokens, i, tok) {
		if (json_is_array(json_object_get(tok, K_TASKS))) {
			tasks = xstrdup("");
			json_array_foreach(json_object_get(tok, K_TASKS), j, v) {
				xasprintf(&n, "%s%s%s", tasks, j > 0 ? "," : "",
				    json_string_value(v) != NULL ?
				    json_string_value(v) : "?");
				free(tasks);
				tasks = n;
			}
		} else
			tasks = xstrdup("(all)");
		fmt_time(tok, K_CREATED_AT, created, sizeof created);
		if (json_is_string(json_object_get(tok, K_EXPIRES_AT))) {
			fmt_time(tok, K_EXPIRES_AT, when, sizeof when);
			snprintf(expires, sizeof expires, "%s%s", when,
			    json_is_true(json_object_get(tok, K_EXPIRED)) ?
			    " (expired)" : "");
		} else
			snprintf(expires, sizeof expires, "never");
		fmt_time(tok, K_LAST_USED_AT, used, sizeof used);
		table_add(t, jstr(tok, K_NAME), jstr(tok, K_CREATOR), tasks,
		    created, expires, used);
		free(tasks);
	}
	table_print(t);
}
