/* The web page: the layout, and what every page is made of. */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "microlightd.h"

#define PAGE_FORM_TYPE		"application/x-www-form-urlencoded"

/*
 * The style of every page (page.css, made into a string by make): a system
 * font, cards with thin borders, status badges in colour and words, a dark
 * scheme when the system asks for one, and one column on a phone. Task
 * output is always light on dark, like a terminal; html_ansi()'s classes
 * a-fg0..15, a-bg0..15, a-b, a-d, a-i and a-u give it its colours.
 */
static const char page_css[] =
#include "daemon/page_css.h"
;

/* The script of every page: times in the viewer's zone. */
static const char page_times_js[] =
#include "daemon/page_times_js.h"
;

/*
 * The HTML made in b as a JSON string, for an event that carries a part
 * of a page; b is freed.
 */
json_t *
page_html_json(struct evbuffer *b)
{
	json_t	*s;

	s = json_stringn((const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b));
	evbuffer_free(b);
	return (s != NULL ? s : json_string(""));
}

/* Append s to b escaped as HTML text (safe in a double-quoted attribute). */
void
page_text(struct evbuffer *b, const char *s)
{
	char	*e;

	if (s == NULL)
		return;
	e = html_escape(s, strlen(s));
	evbuffer_add(b, e, strlen(e));
	free(e);
}

/* A string member of a JSON object, or NULL. */
const char *
page_json_str(json_t *o, const char *key)
{
	return (json_string_value(json_object_get(o, key)));
}

/* This machine's name, for the header (escaped on output). */
static const char *
page_hostname(void)
{
	static char	 name[256];

	if (name[0] == '\0' && gethostname(name, sizeof name - 1) != 0)
		strlcpy(name, "?", sizeof name);
	return (name);
}

/*
 * Begin a page: the head with its style (carrying the reply's nonce, as
 * the Content-Security-Policy wants) and the top bar. With refresh, a
 * browser without JavaScript reloads the page every two seconds.
 */
void
page_begin(struct evbuffer *b, struct http_req *hr, const char *title,
    int refresh)
{
	evbuffer_add_printf(b, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n"
	    "<meta name=\"color-scheme\" content=\"light dark\">\n<title>");
	page_text(b, title);
	evbuffer_add_printf(b, " · microlight</title>\n<link rel=\"icon\" "
	    "href=\"data:image/svg+xml,%%3Csvg xmlns='http://www.w3.org/2000/"
	    "svg' viewBox='0 0 16 16'%%3E%%3Ccircle cx='8' cy='8' r='6' "
	    "fill='%%23f5b301'/%%3E%%3C/svg%%3E\">\n");
	if (refresh)
		evbuffer_add_printf(b, "<noscript><meta http-equiv=\"refresh\" "
		    "content=\"2\"></noscript>\n");
	evbuffer_add_printf(b, "<style nonce=\"%s\">\n", hr->nonce);
	evbuffer_add(b, page_css, sizeof page_css - 1);
	evbuffer_add_printf(b, "</style>\n</head>\n<body>\n<header "
	    "class=\"top\"><div class=\"wrap\"><a class=\"brand\" href=\"%s/\">"
	    "<span class=\"logo\"></span>microlight</a><span class=\"host\">"
	    "on ", http_base());
	page_text(b, page_hostname());
	if (hr->user != NULL) {
		evbuffer_add_printf(b, " · signed in as ");
		page_text(b, hr->user);
	}
	evbuffer_add_printf(b, "</span></div></header>\n<main class=\"wrap\">"
	    "\n");
}

/* End a page, with its script (carrying the nonce) if it has one. */
void
page_end(struct evbuffer *b, struct http_req *hr, const char *script)
{
	evbuffer_add_printf(b, "</main>\n<footer class=\"wrap foot\">"
	    "microlight %s · <a href=\"%s/api/v1/tasks\">JSON API</a>"
	    "</footer>\n", PACKAGE_VERSION, http_base());
	/* Times in the viewer's zone (page_times.js), then the page's own. */
	evbuffer_add_printf(b, "<script nonce=\"%s\">%s</script>\n",
	    hr->nonce, page_times_js);
	if (script != NULL)
		evbuffer_add_printf(b, "<script nonce=\"%s\">%s</script>\n",
		    hr->nonce, script);
	evbuffer_add_printf(b, "</body></html>\n");
}

/* Send a page (and free the buffer); hr is freed. */
void
page_send(struct http_req *hr, int status, struct evbuffer *b)
{
	http_reply(hr, status, "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

/*
 * A status of n runs as a badge in colour and words ("3 queued" when n is
 * more than one); a link to the run with href.
 */
void
page_badge_count(struct evbuffer *b, const char *status, int64_t run_id,
    u_int n)
{
	char		 label[32];
	const char	*cls = "unknown";
	size_t		 i;

	if (status != NULL && proto_status_from(status) != -1)
		cls = status;
	if (n > 1)
		snprintf(label, sizeof label, "%u %s", n, cls);
	else
		strlcpy(label, cls, sizeof label);
	for (i = 0; label[i] != '\0'; i++) {
		if (label[i] == '_')
			label[i] = ' ';
	}
	if (run_id > 0)
		evbuffer_add_printf(b, "<a class=\"badge b-%s\" href=\"%s/runs/"
		    "%lld\">%s</a>", cls, http_base(), (long long)run_id, label);
	else
		evbuffer_add_printf(b, "<span class=\"badge b-%s\">%s</span>",
		    cls, label);
}

/* A status as a badge in colour and words; a link to the run with href. */
void
page_badge(struct evbuffer *b, const char *status, int64_t run_id)
{
	page_badge_count(b, status, run_id, 1);
}

/* How far a time is from now, in words: "5 min ago", "in 3 days". */
static void
page_relative(int64_t ms, int64_t now, char *buf, size_t len)
{
	int64_t		 d = ms - now, s = (d < 0 ? -d : d) / 1000;
	char		 n[32];

	if (s < 5) {
		strlcpy(buf, "just now", len);
		return;
	}
	if (s < 60)
		snprintf(n, sizeof n, "%lld s", (long long)s);
	else if (s < 3600)
		snprintf(n, sizeof n, "%lld min", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(n, sizeof n, "%lld h", (long long)(s / 3600));
	else
		snprintf(n, sizeof n, "%lld days", (long long)(s / 86400));
	snprintf(buf, len, d < 0 ? "%s ago" : "in %s", n);
}

/*
 * Append a time (ms since the epoch) in the daemon's local time with its
 * zone, as a <time> element. PAGE_T_REL shows how long ago (or ahead) it
 * is, the full time as a tooltip; PAGE_T_DAY writes the weekday and no
 * seconds (for next runs). Nothing known: a dash.
 */
void
page_time_ms(struct evbuffer *b, int64_t ms, int flags)
{
	char		 iso[TIME_RFC3339_LEN], abs[96], rel[48];
	struct tm	 tm;
	time_t		 t;

	if (ms <= 0) {
		evbuffer_add_printf(b, "<span class=\"muted\">—</span>");
		return;
	}
	t = (time_t)(ms / 1000);
	localtime_r(&t, &tm);
	strftime(abs, sizeof abs, (flags & PAGE_T_DAY) ?
	    "%a %Y-%m-%d %H:%M %Z" : "%Y-%m-%d %H:%M:%S %Z", &tm);
	time_rfc3339(ms, iso, sizeof iso);
	page_relative(ms, time_now_ms(), rel, sizeof rel);
	if (flags & PAGE_T_REL)
		evbuffer_add_printf(b, "<time datetime=\"%s\" title=\"%s\">%s"
		    "</time>", iso, abs, rel);
	else
		evbuffer_add_printf(b, "<time datetime=\"%s\">%s</time> "
		    "<span class=\"muted\">(%s)</span>", iso, abs, rel);
}

/* Append a time of the protocol (an RFC 3339 string, or NULL). */
void
page_time(struct evbuffer *b, const char *iso, int flags)
{
	int64_t	 ms;

	if (iso == NULL || time_parse_rfc3339(iso, &ms) != 0)
		ms = 0;
	page_time_ms(b, ms, flags);
}

/* A run's object as it is now (run is taken): a live run's, from memory. */
json_t *
page_live(json_t *run)
{
	struct ops_error err = { NULL, NULL, NULL };
	json_t		*id = json_object_get(run, K_ID), *now;
	const char	*st = page_json_str(run, K_STATUS);

	if (st == NULL || proto_status_final(proto_status_from(st)) ||
	    !json_is_integer(id))
		return (run);
	if (ops_find_run(who_daemon(), json_integer_value(id), NULL, &now,
	    &err) != 0) {
		ops_error_clear(&err);
		return (run);
	}
	json_decref(run);
	return (now);
}

/* The hidden field with the user's form token. */
void
page_token(struct evbuffer *b, const char *token)
{
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"%s\" "
	    "value=\"%s\">", PAGE_TOKEN_FIELD, token);
}

/* The last value of a field of a form, or NULL. */
const char *
page_field(struct evkeyvalq *form, const char *name)
{
	struct evkeyval	*kv;
	const char	*v = NULL;

	TAILQ_FOREACH(kv, form, next) {
		if (strcmp(kv->key, name) == 0)
			v = kv->value;
	}
	return (v);
}

/*
 * Read a form posted by the page into form (which the caller clears
 * afterwards with evhttp_clear_headers) and check its token. Returns 0,
 * or -1 after replying with an error page.
 */
int
page_form(struct http_req *hr, struct evkeyvalq *form)
{
	const char	*type, *body, *tok;
	char		 want[PAGE_TOKEN_LEN];
	size_t		 len;

	TAILQ_INIT(form);
	type = http_header(hr, "Content-Type");
	if (type == NULL || strncasecmp(type, PAGE_FORM_TYPE,
	    strlen(PAGE_FORM_TYPE)) != 0) {
		page_error(hr, 415, "This address takes the page's forms "
		    "only (" PAGE_FORM_TYPE ").");
		return (-1);
	}
	body = http_body(hr, &len);
	if (http_form_parse(body, len, form) != 0) {
		page_error(hr, 400, "The form could not be read, or a field "
		    "of it contains a NUL byte.");
		return (-1);
	}
	auth_form_token(hr->user, want, sizeof want);
	tok = page_field(form, PAGE_TOKEN_FIELD);
	if (tok == NULL || strlen(tok) != strlen(want) ||
	    !hmac_equal(tok, want, strlen(want))) {
		evhttp_clear_headers(form);
		page_error(hr, 403, "This form is out of date or did not come "
		    "from this page. Go back, reload the page and try again.");
		return (-1);
	}
	return (0);
}

/* The headline of an error page for a status. */
static const char *
page_error_title(int status)
{
	switch (status) {
	case 400:
		return ("That did not work");
	case 401:
		return ("Please sign in");
	case 403:
		return ("Not allowed");
	case 404:
		return ("Not found");
	case 409:
		return ("This task cannot run");
	case 421:
		return ("Not known by this name");
	case 503:
		return ("Shutting down");
	default:
		return (status < 500 ? "That did not work" :
		    "Something went wrong");
	}
}

/* An error page in the page's look; the message is escaped. */
void
page_error(struct http_req *hr, int status, const char *msg)
{
	struct evbuffer	*b = evbuffer_new();
	const char	*title = page_error_title(status);

	page_begin(b, hr, title, 0);
	evbuffer_add_printf(b, "<div class=\"card errpage\"><p class=\"code\">"
	    "Error %d</p><h1>%s</h1><p class=\"msg\">", status, title);
	page_text(b, msg);
	evbuffer_add_printf(b, "</p><a class=\"btn\" href=\"%s/\">Back to all "
	    "tasks</a></div>\n", http_base());
	page_end(b, hr, NULL);
	page_send(hr, status, b);
}

/* The zone a task's schedules are read in, in words. */
static void
page_zone(struct evbuffer *b, const struct task *t)
{
	char		 abbr[64];
	struct tm	 tm;
	time_t		 now = time(NULL);

	if (t->def->timezone != NULL) {
		page_text(b, t->def->timezone);
		return;
	}
	localtime_r(&now, &tm);
	strftime(abbr, sizeof abbr, "%Z", &tm);
	evbuffer_add_printf(b, "server time, ");
	page_text(b, abbr);
}

/*
 * A task's schedules in words, each with the parameters it gives and,
 * when there are several, its next time; then the zone. The expressions
 * are tooltips.
 */
void
page_schedules(struct evbuffer *b, const struct task *t)
{
	const struct taskschedule	*ts;
	char				*words, *params;
	int64_t				 next;
	u_int				 i;

	for (i = 0; i < t->def->nschedules; i++) {
		ts = &t->def->schedules[i];
		if (i > 0)
			evbuffer_add_printf(b, "; ");
		evbuffer_add_printf(b, "<span title=\"");
		page_text(b, ts->expr);
		evbuffer_add_printf(b, "\">");
		if ((words = cron_describe(ts->expr)) != NULL)
			page_text(b, words);
		else
			page_text(b, ts->expr);
		free(words);
		evbuffer_add_printf(b, "</span>");
		params = proto_params_words(ts->params, 1);
		if (*params != '\0') {
			evbuffer_add_printf(b, " with <code class=\"params\">");
			page_text(b, params);
			evbuffer_add_printf(b, "</code>");
		}
		free(params);
		if (t->def->nschedules > 1 && task_valid(t) &&
		    (next = sched_next(t->name, ts->expr)) != -1) {
			evbuffer_add_printf(b, ", next ");
			page_time_ms(b, next * 1000, PAGE_T_REL);
		}
	}
	evbuffer_add_printf(b, " <span class=\"muted\">(");
	page_zone(b, t);
	evbuffer_add_printf(b, ")</span>");
}

/* A task's errors as a list. */
void
page_task_errors(struct evbuffer *b, const struct task *t)
{
	u_int	 i;

	evbuffer_add_printf(b, "<ul class=\"errors\">");
	if (t->nerrors == 0)
		evbuffer_add_printf(b, "<li>the file cannot be read</li>");
	for (i = 0; i < t->nerrors; i++) {
		evbuffer_add_printf(b, "<li>");
		page_text(b, t->errors[i]);
		evbuffer_add_printf(b, "</li>");
	}
	evbuffer_add_printf(b, "</ul>");
}

/* The statuses a history may be filtered by, in the order of its links. */
static const enum run_status page_history_statuses[] = {
	RUN_FAILED, RUN_SUCCEEDED, RUN_RUNNING, RUN_QUEUED, RUN_SCHEDULED,
	RUN_TIMED_OUT, RUN_CANCELLED, RUN_SKIPPED, RUN_LOST
};
#define PAGE_NHISTORY_STATUSES \
	(sizeof page_history_statuses / sizeof page_history_statuses[0])

/*
 * A history of runs (of task, or of every task w may see): limit runs,
 * newest first, filtered by ?status=S and paged by ?before=ID, with the
 * links that change them. base is the page's path (under http_base()),
 * anchor the section's id. A bad filter is said and ignored.
 */
void
page_history(struct evbuffer *b, struct http_req *hr, const char *task,
    const char *base, const char *anchor, int limit, int with_task)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	const char		*status, *before_s, *errstr = NULL, *name;
	json_t			*reply = proto_ok(), *runs;
	int64_t			 before = 0, last;
	size_t			 i;

	status = http_query(hr, K_STATUS);
	if (status != NULL && (*status == '\0' ||
	    proto_status_from(status) == -1)) {
		evbuffer_add_printf(b, "<div class=\"alert error\">There is no "
		    "status '");
		page_text(b, status);
		evbuffer_add_printf(b, "': showing every run.</div>\n");
		status = NULL;
	}
	if ((before_s = http_query(hr, K_BEFORE)) != NULL) {
		before = strtonum(before_s, 1, INT64_MAX, &errstr);
		if (errstr != NULL) {
			evbuffer_add_printf(b, "<div class=\"alert error\">"
			    "'before' is a run number: showing the newest "
			    "runs.</div>\n");
			before = 0;
		}
	}

	evbuffer_add_printf(b, "<nav class=\"filter\" id=\"%s-filter\">"
	    "<a href=\"%s#%s\"%s>All</a>", anchor, base, anchor,
	    status == NULL ? " aria-current=\"page\"" : "");
	for (i = 0; i < PAGE_NHISTORY_STATUSES; i++) {
		name = proto_status_name(page_history_statuses[i]);
		evbuffer_add_printf(b, " <a href=\"%s?status=%s#%s\"%s>%s</a>",
		    base, name, anchor, status != NULL &&
		    strcmp(status, name) == 0 ? " aria-current=\"page\"" : "",
		    name);
	}
	evbuffer_add_printf(b, "</nav>\n");

	/* One more than shown: whether there are older ones. */
	if (ops_runs(hr->who, task, status, before, limit + 1, reply,
	    &err) != 0) {
		evbuffer_add_printf(b, "<div class=\"alert error\">");
		page_text(b, err.message);
		evbuffer_add_printf(b, "</div>");
		ops_error_clear(&err);
		json_decref(reply);
		return;
	}
	runs = json_object_get(reply, K_RUNS);
	if (json_array_size(runs) > (size_t)limit) {
		json_array_remove(runs, limit);
		last = json_integer_value(json_object_get(json_array_get(runs,
		    limit - 1), K_ID));
	} else
		last = 0;
	page_runs_table(b, runs, with_task);
	if (before != 0 || last != 0) {
		evbuffer_add_printf(b, "<p class=\"pager\">");
		if (before != 0)
			evbuffer_add_printf(b, "<a href=\"%s%s%s#%s\">Newest "
			    "runs</a>", base, status != NULL ? "?status=" : "",
			    status != NULL ? status : "", anchor);
		if (last != 0)
			evbuffer_add_printf(b, "%s<a id=\"%s-older\" href=\"%s?"
			    "%s%s%sbefore=%lld#%s\">Older runs</a>",
			    before != 0 ? " &middot; " : "", anchor, base,
			    status != NULL ? "status=" : "",
			    status != NULL ? status : "",
			    status != NULL ? "&amp;" : "", (long long)last,
			    anchor);
		evbuffer_add_printf(b, "</p>\n");
	}
	json_decref(reply);
}

/* The link to a task's page (its name; a name that is not valid: text). */
void
page_task_link(struct evbuffer *b, const char *name)
{
	if (taskname_valid(name)) {
		evbuffer_add_printf(b, "<a href=\"%s/tasks/%s\">", http_base(),
		    name);
		page_text(b, page_task_title(name));
		evbuffer_add_printf(b, "</a>");
	} else
		page_text(b, name);
}

/*
 * The name the page shows for a task: its @title, else its name. (By
 * task_find: this is drawn inside followers' callbacks too.)
 */
const char *
page_task_title(const char *name)
{
	struct task	*t;

	if (name == NULL || (t = task_find(name)) == NULL)
		return (name);
	return (page_task_shown(t));
}

/* The same for a task at hand. */
const char *
page_task_shown(const struct task *t)
{
	return (t->def != NULL && t->def->title != NULL ? t->def->title :
	    t->name);
}

/*
 * Who started a run (its triggered_by) as a person reads it: with the
 * person's name where one is known ("Bob Smith (bob)", the record itself
 * on hover), else the record as it is.
 */
void
page_by(struct evbuffer *b, const char *by)
{
	char	*shown;

	if ((shown = person_shown(by)) == NULL) {
		page_text(b, by);
		return;
	}
	evbuffer_add_printf(b, "<span class=\"person\" title=\"");
	page_text(b, by);
	evbuffer_add_printf(b, "\">");
	page_text(b, shown);
	evbuffer_add_printf(b, "</span>");
	free(shown);
}

/* Who started a run, in words, and how. */
static void
page_who(struct evbuffer *b, json_t *run)
{
	page_by(b, page_json_str(run, K_TRIGGERED_BY));
	evbuffer_add_printf(b, " <span class=\"muted\">(");
	page_text(b, page_json_str(run, K_TRIGGER));
	evbuffer_add_printf(b, ")</span>");
}

/* How long a run took, or has been going. */
void
page_duration(struct evbuffer *b, json_t *run)
{
	const char	*s = page_json_str(run, K_STARTED_AT);
	const char	*e = page_json_str(run, K_FINISHED_AT);
	int64_t		 start, end;
	char		 buf[32];

	if (s == NULL || time_parse_rfc3339(s, &start) != 0) {
		evbuffer_add_printf(b, "<span class=\"muted\">—</span>");
		return;
	}
	if (e == NULL || time_parse_rfc3339(e, &end) != 0)
		end = time_now_ms();
	duration_format_ms(end - start, buf, sizeof buf);
	evbuffer_add_printf(b, "%s%s", e == NULL ? "running for " : "", buf);
}

/* A size in bytes in words: "512 bytes", "1.5 KiB", "16.0 MiB". */
void
page_size(int64_t n, char *buf, size_t len)
{
	if (n < 1024)
		snprintf(buf, len, "%lld byte%s", (long long)n, n == 1 ? "" :
		    "s");
	else if (n < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", n / 1024.0);
	else if (n < 1024 * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", n / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.1f GiB", n / (1024.0 * 1024 * 1024));
}

/* A table of runs (run objects, newest first); with_task adds a column. */
void
page_runs_table(struct evbuffer *b, json_t *runs, int with_task)
{
	json_t	*run;
	size_t	 i;
	int64_t	 id;

	if (json_array_size(runs) == 0) {
		evbuffer_add_printf(b, "<div class=\"card empty\">No runs yet."
		    "</div>\n");
		return;
	}
	evbuffer_add_printf(b, "<div class=\"table-wrap\"><table class=\"runs\">"
	    "<thead><tr><th>Run</th>%s<th>Status</th><th>When</th>"
	    "<th class=\"wide\">Started by</th><th class=\"wide\">Took</th>"
	    "</tr></thead><tbody>\n", with_task ? "<th>Task</th>" : "");
	for (i = 0; i < json_array_size(runs); i++) {
		run = page_live(json_incref(json_array_get(runs, i)));
		id = json_integer_value(json_object_get(run, K_ID));
		evbuffer_add_printf(b, "<tr><td><a href=\"%s/runs/%lld\">#%lld"
		    "</a></td>", http_base(), (long long)id, (long long)id);
		if (with_task) {
			evbuffer_add_printf(b, "<td>");
			page_task_link(b, page_json_str(run, K_TASK));
			evbuffer_add_printf(b, "</td>");
		}
		evbuffer_add_printf(b, "<td>");
		page_badge(b, page_json_str(run, K_STATUS), id);
		evbuffer_add_printf(b, "</td><td>");
		page_time(b, page_json_str(run, K_QUEUED_AT), PAGE_T_REL);
		evbuffer_add_printf(b, "</td><td class=\"wide who\">");
		page_who(b, run);
		evbuffer_add_printf(b, "</td><td class=\"wide\">");
		page_duration(b, run);
		evbuffer_add_printf(b, "</td></tr>\n");
		json_decref(run);
	}
	evbuffer_add_printf(b, "</tbody></table></div>\n");
}
