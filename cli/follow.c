/* microlightctl: a run as the client follows it, ends it and asks for it. */

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ml.h"
#include "proto.h"
#include "microlightctl.h"

/* The exit status of SPEC section 5 for a finished run. */
int
run_exit_status(json_t *run)
{
	int64_t		 code = jint(run, K_EXIT_CODE, -1);
	int64_t		 sig = jint(run, K_SIGNAL, 0);

	switch (proto_run_status(run)) {
	case RUN_SUCCEEDED:
		return (0);
	case RUN_SKIPPED:
		return (EXIT_SKIPPED);
	case RUN_TIMED_OUT:
		return (124);
	case RUN_CANCELLED:
		return (130);
	case RUN_FAILED:
		if (sig > 0)
			return (128 + (int)sig);
		if (code > 0)
			return ((int)(code > 255 ? 1 : code));
		return (1);
	case RUN_LOST:			/* the daemon stopped under it */
		return (1);
	}
	return (EXIT_SOFTWARE);		/* not over */
}

/*
 * Ask for a run's output as raw bytes (K_RAW), unless --json prints the
 * events as they come (with their bytes in base64).
 */
void
follow_ask_raw(json_t *req)
{
	if (!json_output)
		json_object_set_new(req, K_RAW, json_true());
}

/*
 * Read the events of a following command until its end event. Output goes
 * to stdout byte for byte (both streams, in arrival order): the bytes
 * after a raw event's line, or a base64 event's data. Returns the final
 * run object (owned).
 */
json_t *
follow_events(struct conn *c)
{
	json_t		*ev, *run, *size;
	const char	*type, *data;
	void		*bytes;
	size_t		 len;

	for (;;) {
		if ((ev = conn_recv(c)) == NULL)
			errx(EXIT_UNAVAILABLE, "microlightd closed the "
			    "connection before the run ended");
		if (json_output) {
			printf("%s\n", c->line);
			fflush(stdout);
		}
		type = jstr(ev, K_EVENT);
		if (type == NULL) {
			if (json_object_get(ev, K_OK) != NULL &&
			    !json_is_true(json_object_get(ev, K_OK)))
				conn_fail(ev);
		} else if (strcmp(type, EV_OUTPUT) == 0 &&
		    (size = json_object_get(ev, K_SIZE)) != NULL) {
			if (!json_is_integer(size) ||
			    json_integer_value(size) < 0)
				errx(EXIT_SOFTWARE, "bad output event");
			conn_copy(c, json_integer_value(size), STDOUT_FILENO);
		} else if (strcmp(type, EV_OUTPUT) == 0 && !json_output) {
			data = jstr(ev, K_DATA);
			if (data == NULL || base64_decode(data, strlen(data),
			    &bytes, &len) != 0)
				errx(EXIT_SOFTWARE, "bad output event");
			write_all(STDOUT_FILENO, bytes, len);
			free(bytes);
		} else if (strcmp(type, EV_END) == 0) {
			run = json_incref(json_object_get(ev, K_RUN));
			json_decref(ev);
			return (run);
		}
		json_decref(ev);
	}
}

/* One line on stderr for a run that did not succeed, made visible. */
void
report_end(json_t *run)
{
	const char	*status = jstr(run, K_STATUS);
	const char	*reason = jstr(run, K_REASON);
	char		*s, *v;

	if (json_output || status == NULL ||
	    proto_run_status(run) == RUN_SUCCEEDED)
		return;
	xasprintf(&s, "run %lld %s%s%s", (long long)jint(run, K_ID, 0),
	    status, reason != NULL ? ": " : "", reason != NULL ? reason : "");
	v = text_vis(s);
	warnx("%s", v);
	free(v);
	free(s);
}

/*
 * How a command that saw a run end ends: run --wait/--follow, logs -f,
 * status of an ended run. The line of report_end, and the exit status.
 */
int
run_end_status(json_t *run)
{
	report_end(run);
	return (run_exit_status(run));
}

/*
 * The time of --at as the daemon takes it: a local "YYYY-MM-DD HH:MM[:SS]"
 * (or with a T) gets this machine's offset for that date; anything else
 * (ISO 8601 with an offset, @SECONDS) goes as it is, for the daemon to
 * check. A new string.
 */
char *
run_at(const char *s)
{
	struct tm	 tm;
	char		 buf[64], sep;
	int		 n = -1, m;
	time_t		 t;

	memset(&tm, 0, sizeof tm);
	m = sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &sep, &tm.tm_hour, &tm.tm_min, &n, &tm.tm_sec, &n);
	if (m < 6 || (sep != ' ' && sep != 'T') || n < 0 || s[n] != '\0')
		return (xstrdup(s));
	tm.tm_year -= 1900;
	tm.tm_mon--;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1 ||
	    strftime(buf, sizeof buf - 1, "%Y-%m-%dT%H:%M:%S%z",
	    localtime(&t)) == 0)
		return (xstrdup(s));
	/* +0100 -> +01:00 */
	n = strlen(buf);
	memmove(buf + n - 1, buf + n - 2, 3);
	buf[n - 2] = ':';
	return (xstrdup(buf));
}
