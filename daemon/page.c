/* The web page: the layout, the task list, a task's page and its form. */

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

#define PAGE_RECENT_RUNS	20	/* on the task list */
#define PAGE_TASK_RUNS		25	/* on a task's page */
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

/*
 * The task page's script (page_task.js, made into a string by make): with
 * JavaScript, @confirm asks with confirm() instead of the "I am sure" box
 * the page shows without it.
 */
static const char page_task_js[] =
#include "daemon/page_task_js.h"
;

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
	    "class=\"top\"><div class=\"wrap\"><a class=\"brand\" href=\"/\">"
	    "<span class=\"logo\"></span>microlight</a><span class=\"host\">"
	    "on ");
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
	    "microlight %s · <a href=\"/api/v1/tasks\">JSON API</a>"
	    "</footer>\n", PACKAGE_VERSION);
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

/* A status as a badge in colour and words; a link to the run with href. */
void
page_badge(struct evbuffer *b, const char *status, int64_t run_id)
{
	char		 label[32];
	const char	*cls = "unknown";
	size_t		 i;

	if (status != NULL && proto_status_from(status) != -1)
		cls = status;
	strlcpy(label, cls, sizeof label);
	for (i = 0; label[i] != '\0'; i++) {
		if (label[i] == '_')
			label[i] = ' ';
	}
	if (run_id > 0)
		evbuffer_add_printf(b, "<a class=\"badge b-%s\" href=\"/runs/"
		    "%lld\">%s</a>", cls, (long long)run_id, label);
	else
		evbuffer_add_printf(b, "<span class=\"badge b-%s\">%s</span>",
		    cls, label);
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

/* A run's object as it is now: a queued or running run from memory. */
json_t *
page_live(json_t *run)
{
	struct run	*r;
	json_t		*id = json_object_get(run, "id");
	const char	*st = page_json_str(run, K_STATUS);

	if (st == NULL || proto_status_final(proto_status_from(st)) ||
	    !json_is_integer(id))
		return (run);
	if ((r = run_active_find(json_integer_value(id))) == NULL &&
	    (r = queue_find(json_integer_value(id))) == NULL)
		return (run);
	json_decref(run);
	return (run_json(r));
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
	evbuffer_add_printf(b, "</p><a class=\"btn\" href=\"/\">Back to all "
	    "tasks</a></div>\n");
	page_end(b, hr, NULL);
	page_send(hr, status, b);
}

/* Order of the task list: by group (tasks without one last), then name. */
static int
page_task_cmp(const void *a, const void *b)
{
	const struct task	*ta = *(struct task *const *)a;
	const struct task	*tb = *(struct task *const *)b;
	const char		*ga, *gb;
	int			 c;

	ga = ta->def != NULL ? ta->def->group : NULL;
	gb = tb->def != NULL ? tb->def->group : NULL;
	if (ga == NULL || gb == NULL) {
		if (ga != gb)
			return (ga == NULL ? 1 : -1);
	} else if ((c = strcasecmp(ga, gb)) != 0)
		return (c);
	return (strcmp(ta->name, tb->name));
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

/* A task's schedules in words, with the zone; the expressions as tooltip. */
static void
page_schedules(struct evbuffer *b, const struct task *t)
{
	char	*words;
	u_int	 i;

	for (i = 0; i < t->def->nschedules; i++) {
		if (i > 0)
			evbuffer_add_printf(b, "; ");
		evbuffer_add_printf(b, "<span title=\"");
		page_text(b, t->def->schedules[i].expr);
		evbuffer_add_printf(b, "\">");
		if ((words = cron_describe(t->def->schedules[i].expr)) != NULL)
			page_text(b, words);
		else
			page_text(b, t->def->schedules[i].expr);
		free(words);
		evbuffer_add_printf(b, "</span>");
	}
	evbuffer_add_printf(b, " <span class=\"muted\">(");
	page_zone(b, t);
	evbuffer_add_printf(b, ")</span>");
}

/* The next time any of a valid task's schedules fires (ms), or 0. */
static int64_t
page_next_run(const struct task *t)
{
	int64_t	 next, first = -1;
	u_int	 i;

	if (!task_valid(t))
		return (0);
	for (i = 0; i < t->def->nschedules; i++) {
		next = sched_next(t->name, t->def->schedules[i].expr);
		if (next != -1 && (first == -1 || next < first))
			first = next;
	}
	return (first == -1 ? 0 : first * 1000);
}

/* Whether a task's Run button must lead to its page: it asks first. */
static int
page_task_asks(const struct task *t)
{
	u_int	 i;

	if (t->def->confirm)
		return (1);
	for (i = 0; i < t->def->nparams; i++) {
		if (t->def->params[i].required)
			return (1);
	}
	return (0);
}

/* A task's errors as a list. */
static void
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

/* The link to a task's page (its name; a name that is not valid: text). */
static void
page_task_link(struct evbuffer *b, const char *name)
{
	if (taskname_valid(name)) {
		evbuffer_add_printf(b, "<a href=\"/tasks/%s\">", name);
		page_text(b, name);
		evbuffer_add_printf(b, "</a>");
	} else
		page_text(b, name);
}

/* The right-hand side of a task in the list: last run and Run button. */
static void
page_index_side(struct evbuffer *b, const struct task *t, json_t *last,
    const char *token)
{
	evbuffer_add_printf(b, "<div class=\"t-side\"><div class=\"last\">");
	if (last != NULL) {
		page_badge(b, page_json_str(last, K_STATUS),
		    json_integer_value(json_object_get(last, "id")));
		evbuffer_add_printf(b, "<br>");
		page_time(b, page_json_str(last, "queued_at"), PAGE_T_REL);
	} else
		evbuffer_add_printf(b, "never run");
	evbuffer_add_printf(b, "</div>");
	if (!task_valid(t)) {
		evbuffer_add_printf(b, "</div>");
		return;
	}
	if (page_task_asks(t))
		evbuffer_add_printf(b, "<a class=\"btn primary\" href=\"/tasks/"
		    "%s\">Run…</a>", t->name);
	else {
		evbuffer_add_printf(b, "<form class=\"inline\" method=\"post\" "
		    "action=\"/tasks/%s/run\">", t->name);
		page_token(b, token);
		evbuffer_add_printf(b, "<button class=\"btn primary\" "
		    "type=\"submit\">Run</button></form>");
	}
	evbuffer_add_printf(b, "</div>");
}

/* One task of the list. */
static void
page_index_task(struct evbuffer *b, const struct task *t, json_t *last,
    const char *token)
{
	int64_t	 next;

	evbuffer_add_printf(b, "<li class=\"task%s\" id=\"task-",
	    task_valid(t) ? "" : " invalid");
	page_text(b, t->name);
	evbuffer_add_printf(b, "\"><div class=\"t-main\"><h3>");
	page_task_link(b, t->name);
	if (!task_valid(t))
		evbuffer_add_printf(b, " <span class=\"badge b-invalid\">"
		    "invalid</span>");
	evbuffer_add_printf(b, "</h3>");
	if (t->def != NULL && t->def->description != NULL) {
		evbuffer_add_printf(b, "<p class=\"desc\">");
		page_text(b, t->def->description);
		evbuffer_add_printf(b, "</p>");
	}
	if (!task_valid(t))
		page_task_errors(b, t);
	if (t->def != NULL && t->def->nschedules > 0) {
		evbuffer_add_printf(b, "<p class=\"meta\"><span class=\"sched\">"
		    "<b>Runs</b> ");
		page_schedules(b, t);
		evbuffer_add_printf(b, "</span>");
		if ((next = page_next_run(t)) > 0) {
			evbuffer_add_printf(b, "<span class=\"next\"><b>Next"
			    "</b> ");
			page_time_ms(b, next, PAGE_T_DAY);
			evbuffer_add_printf(b, "</span>");
		}
		evbuffer_add_printf(b, "</p>");
	}
	evbuffer_add_printf(b, "</div>");
	page_index_side(b, t, last, token);
	evbuffer_add_printf(b, "</li>\n");
}

/* The tasks, by group. */
static void
page_index_tasks(struct evbuffer *b, const char *token)
{
	struct taskset	*set = tasks_current();
	struct task	**list, *t;
	const char	*group, *prev = NULL;
	json_t		*last;
	u_int		 n = 0, i;
	int		 grouped = 0;

	list = xreallocarray(NULL, set->ntasks + 1, sizeof *list);
	RB_FOREACH(t, task_tree, &set->tree) {
		if (n == set->ntasks)
			break;
		list[n++] = t;
		grouped |= t->def != NULL && t->def->group != NULL;
	}
	qsort(list, n, sizeof *list, page_task_cmp);
	for (i = 0; i < n; i++) {
		t = list[i];
		group = t->def != NULL ? t->def->group : NULL;
		if (i == 0 || (group == NULL) != (prev == NULL) ||
		    (group != NULL && strcasecmp(group, prev) != 0)) {
			if (i > 0)
				evbuffer_add_printf(b, "</ul></section>\n");
			evbuffer_add_printf(b, "<section class=\"group\">");
			if (grouped) {
				evbuffer_add_printf(b, "<h2>");
				page_text(b, group != NULL ? group :
				    "Other tasks");
				evbuffer_add_printf(b, "</h2>");
			}
			evbuffer_add_printf(b, "<ul class=\"tasks\">\n");
		}
		prev = group;
		if ((last = db_last_run(t->name)) != NULL)
			last = page_live(last);
		page_index_task(b, t, last, token);
		json_decref(last);
	}
	if (n > 0)
		evbuffer_add_printf(b, "</ul></section>\n");
	else {
		evbuffer_add_printf(b, "<section class=\"card empty\">No tasks "
		    "yet: put an executable script into ");
		page_text(b, ml_conf->tasks_dir);
		evbuffer_add_printf(b, ".</section>\n");
	}
	free(list);
}

/* Who started a run, in words, and how. */
static void
page_who(struct evbuffer *b, json_t *run)
{
	page_text(b, page_json_str(run, "triggered_by"));
	evbuffer_add_printf(b, " <span class=\"muted\">(");
	page_text(b, page_json_str(run, "trigger"));
	evbuffer_add_printf(b, ")</span>");
}

/* How long a run took, or has been going. */
void
page_duration(struct evbuffer *b, json_t *run)
{
	const char	*s = page_json_str(run, "started_at");
	const char	*e = page_json_str(run, "finished_at");
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
static void
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
		id = json_integer_value(json_object_get(run, "id"));
		evbuffer_add_printf(b, "<tr><td><a href=\"/runs/%lld\">#%lld"
		    "</a></td>", (long long)id, (long long)id);
		if (with_task) {
			evbuffer_add_printf(b, "<td>");
			page_task_link(b, page_json_str(run, K_TASK));
			evbuffer_add_printf(b, "</td>");
		}
		evbuffer_add_printf(b, "<td>");
		page_badge(b, page_json_str(run, K_STATUS), id);
		evbuffer_add_printf(b, "</td><td>");
		page_time(b, page_json_str(run, "queued_at"), PAGE_T_REL);
		evbuffer_add_printf(b, "</td><td class=\"wide who\">");
		page_who(b, run);
		evbuffer_add_printf(b, "</td><td class=\"wide\">");
		page_duration(b, run);
		evbuffer_add_printf(b, "</td></tr>\n");
		json_decref(run);
	}
	evbuffer_add_printf(b, "</tbody></table></div>\n");
}

/* GET /: the tasks by group, then the latest runs of all tasks. */
void
page_index(struct http_req *hr)
{
	struct evbuffer		*b = evbuffer_new();
	struct ops_error	 err = { NULL, NULL };
	char			 token[PAGE_TOKEN_LEN];
	json_t			*reply = proto_ok();

	auth_form_token(hr->user, token, sizeof token);
	page_begin(b, hr, "Tasks", 0);
	evbuffer_add_printf(b, "<div class=\"title\"><h1>Tasks</h1></div>\n");
	page_index_tasks(b, token);
	evbuffer_add_printf(b, "<section id=\"recent\"><h2>Recent runs</h2>\n");
	if (ops_runs(NULL, NULL, 0, PAGE_RECENT_RUNS, reply, &err) == 0)
		page_runs_table(b, json_object_get(reply, K_RUNS), 1);
	else {
		evbuffer_add_printf(b, "<div class=\"alert error\">");
		page_text(b, err.message);
		evbuffer_add_printf(b, "</div>");
		ops_error_clear(&err);
	}
	evbuffer_add_printf(b, "</section>\n");
	json_decref(reply);
	page_end(b, hr, NULL);
	page_send(hr, 200, b);
}

/* The label of a parameter's field, marked when it is required. */
static void
page_param_label(struct evbuffer *b, const struct taskparam *tp)
{
	page_text(b, tp->label != NULL ? tp->label : tp->name);
	if (tp->required)
		evbuffer_add_printf(b, "<span class=\"req\" title=\"required\">"
		    "*</span>");
}

/* A text or number field. */
static void
page_param_input(struct evbuffer *b, const struct taskparam *tp,
    const char *value)
{
	evbuffer_add_printf(b, "<label for=\"p-%s\">", tp->name);
	page_param_label(b, tp);
	evbuffer_add_printf(b, "</label><input id=\"p-%s\" name=\"%s\" ",
	    tp->name, tp->name);
	if (tp->type == PARAM_INT)
		evbuffer_add_printf(b, "type=\"number\" step=\"1\" "
		    "inputmode=\"numeric\"");
	else
		evbuffer_add_printf(b, "type=\"text\" maxlength=\"%d\" "
		    "autocomplete=\"off\"", ML_PARAM_VALUE_MAX);
	if (value != NULL) {
		evbuffer_add_printf(b, " value=\"");
		page_text(b, value);
		evbuffer_add_printf(b, "\"");
	}
	evbuffer_add_printf(b, "%s>", tp->required ? " required" : "");
	if (tp->type == PARAM_INT)
		evbuffer_add_printf(b, "<p class=\"hint\">A whole number.</p>");
}

/*
 * A checkbox. An unticked box sends nothing, so a hidden "false" comes
 * first; a ticked box's "true" follows it, and the last value counts.
 */
static void
page_param_bool(struct evbuffer *b, const struct taskparam *tp,
    const char *value)
{
	char	*norm = NULL, *cause = NULL;
	int	 on;

	on = value != NULL && taskparam_normalise(tp, value, &norm, &cause) ==
	    0 && strcmp(norm, "true") == 0;
	free(norm);
	free(cause);
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"%s\" "
	    "value=\"false\"><label class=\"check\"><input type=\"checkbox\" "
	    "id=\"p-%s\" name=\"%s\" value=\"true\"%s> ", tp->name, tp->name,
	    tp->name, on ? " checked" : "");
	page_param_label(b, tp);
	evbuffer_add_printf(b, "</label>");
}

/* A select of the choices. */
static void
page_param_choice(struct evbuffer *b, const struct taskparam *tp,
    const char *value)
{
	u_int	 i;
	int	 found = 0;

	for (i = 0; value != NULL && i < tp->nchoices; i++)
		found |= strcmp(tp->choices[i], value) == 0;
	evbuffer_add_printf(b, "<label for=\"p-%s\">", tp->name);
	page_param_label(b, tp);
	evbuffer_add_printf(b, "</label><select id=\"p-%s\" name=\"%s\"%s>",
	    tp->name, tp->name, tp->required ? " required" : "");
	if (!found)
		evbuffer_add_printf(b, "<option value=\"\" selected>%s</option>",
		    tp->required ? "Choose…" : "(none)");
	for (i = 0; i < tp->nchoices; i++) {
		evbuffer_add_printf(b, "<option value=\"");
		page_text(b, tp->choices[i]);
		evbuffer_add_printf(b, "\"%s>", found && strcmp(tp->choices[i],
		    value) == 0 ? " selected" : "");
		page_text(b, tp->choices[i]);
		evbuffer_add_printf(b, "</option>");
	}
	evbuffer_add_printf(b, "</select>");
}

/* One parameter's field, with a value (the default, or what was sent). */
static void
page_param(struct evbuffer *b, const struct taskparam *tp, json_t *values)
{
	const char	*value;

	if (values != NULL)
		value = page_json_str(values, tp->name);
	else
		value = tp->def;
	evbuffer_add_printf(b, "<div class=\"field\">");
	switch (tp->type) {
	case PARAM_BOOL:
		page_param_bool(b, tp, value);
		break;
	case PARAM_CHOICE:
		page_param_choice(b, tp, value);
		break;
	default:
		page_param_input(b, tp, value);
		break;
	}
	evbuffer_add_printf(b, "</div>\n");
}

/* The form that runs a task: its parameters, and the confirmation. */
static void
page_task_form(struct evbuffer *b, struct http_req *hr,
    const struct task *t, json_t *values, const char *error)
{
	char	 token[PAGE_TOKEN_LEN];
	u_int	 i;

	auth_form_token(hr->user, token, sizeof token);
	evbuffer_add_printf(b, "<section class=\"card\" id=\"run\"><h2>Run "
	    "this task</h2>\n");
	if (error != NULL) {
		evbuffer_add_printf(b, "<div class=\"alert error\" "
		    "role=\"alert\" id=\"form-error\">");
		page_text(b, error);
		evbuffer_add_printf(b, "</div>\n");
	}
	evbuffer_add_printf(b, "<form id=\"run-form\" method=\"post\" "
	    "action=\"/tasks/%s/run\"", t->name);
	if (t->def->confirm)
		evbuffer_add_printf(b, " data-confirm=\"Run %s now?\"", t->name);
	evbuffer_add_printf(b, ">");
	page_token(b, token);
	evbuffer_add_printf(b, "\n");
	for (i = 0; i < t->def->nparams; i++)
		page_param(b, &t->def->params[i], values);
	if (t->def->nparams == 0)
		evbuffer_add_printf(b, "<p class=\"muted small\">This task takes "
		    "no parameters.</p>\n");
	if (t->def->confirm)
		evbuffer_add_printf(b, "<div class=\"field\" id=\"confirm-row\">"
		    "<label class=\"check\"><input type=\"checkbox\" "
		    "name=\"_confirm\" value=\"yes\" required> Yes, run %s now"
		    "</label><p class=\"hint\">This task asks to be sure before "
		    "it runs.</p></div>\n", t->name);
	evbuffer_add_printf(b, "<div class=\"actions\"><button class=\"btn "
	    "primary\" type=\"submit\">Run %s</button></div></form></section>"
	    "\n", t->name);
}

/* A task's settings, in words. */
static void
page_task_details(struct evbuffer *b, const struct task *t)
{
	char	 buf[32];
	int64_t	 next, timeout;

	evbuffer_add_printf(b, "<section class=\"card\"><h2>Details</h2>"
	    "<dl class=\"facts\"><dt>Schedule</dt><dd>");
	if (t->def->nschedules > 0)
		page_schedules(b, t);
	else
		evbuffer_add_printf(b, "none: it runs when started");
	evbuffer_add_printf(b, "</dd>");
	if ((next = page_next_run(t)) > 0) {
		evbuffer_add_printf(b, "<dt>Next run</dt><dd>");
		page_time_ms(b, next, PAGE_T_DAY);
		evbuffer_add_printf(b, "</dd>");
	}
	timeout = task_timeout(t);
	if (timeout > 0)
		duration_format(timeout, buf, sizeof buf);
	evbuffer_add_printf(b, "<dt>Time limit</dt><dd>%s</dd>",
	    timeout > 0 ? buf : "none");
	if (t->def->concurrency > 1)
		evbuffer_add_printf(b, "<dt>At once</dt><dd>up to %d runs</dd>",
		    t->def->concurrency);
	if (t->def->retries > 0)
		evbuffer_add_printf(b, "<dt>Retries</dt><dd>%d</dd>",
		    t->def->retries);
	evbuffer_add_printf(b, "<dt>Webhook</dt><dd>%s</dd><dt>File</dt><dd>"
	    "<code>", t->def->webhook ? "yes" : "no");
	page_text(b, t->file);
	evbuffer_add_printf(b, "</code></dd></dl></section>\n");
}

/*
 * A task's page: description, form (with the values sent and what was
 * wrong with them, after a refused run), details and history.
 */
static void
page_task_render(struct http_req *hr, const struct task *t, json_t *values,
    const char *error, int status)
{
	struct evbuffer		*b = evbuffer_new();
	struct ops_error	 err = { NULL, NULL };
	json_t			*reply = proto_ok();

	page_begin(b, hr, t->name, 0);
	evbuffer_add_printf(b, "<nav class=\"crumbs\"><a href=\"/\">Tasks</a>");
	if (t->def != NULL && t->def->group != NULL) {
		evbuffer_add_printf(b, " / ");
		page_text(b, t->def->group);
	}
	evbuffer_add_printf(b, "</nav>\n<div class=\"title\"><h1>");
	page_text(b, t->name);
	evbuffer_add_printf(b, "</h1>%s</div>\n", task_valid(t) ? "" :
	    "<span class=\"badge b-invalid\">invalid</span>");
	if (t->def != NULL && t->def->description != NULL) {
		evbuffer_add_printf(b, "<p class=\"lead\">");
		page_text(b, t->def->description);
		evbuffer_add_printf(b, "</p>\n");
	}
	if (!task_valid(t)) {
		evbuffer_add_printf(b, "<div class=\"alert error\"><strong>This "
		    "task cannot run until its file is fixed:</strong>");
		page_task_errors(b, t);
		evbuffer_add_printf(b, "</div>\n");
	}
	if (t->def != NULL) {
		evbuffer_add_printf(b, "<div class=\"grid\">");
		if (task_valid(t))
			page_task_form(b, hr, t, values, error);
		page_task_details(b, t);
		evbuffer_add_printf(b, "</div>\n");
	}
	evbuffer_add_printf(b, "<section id=\"history\"><h2>History</h2>\n");
	if (ops_runs(t->name, NULL, 0, PAGE_TASK_RUNS, reply, &err) == 0)
		page_runs_table(b, json_object_get(reply, K_RUNS), 0);
	else
		ops_error_clear(&err);
	evbuffer_add_printf(b, "</section>\n");
	json_decref(reply);
	page_end(b, hr, task_valid(t) && t->def->confirm ? page_task_js : NULL);
	page_send(hr, status, b);
}

/* GET /tasks/NAME */
void
page_task(struct http_req *hr)
{
	struct task	*t;
	char		*msg;

	if ((t = task_find(hr->arg)) == NULL) {
		xasprintf(&msg, "There is no task named '%s'.", hr->arg);
		page_error(hr, 404, msg);
		free(msg);
		return;
	}
	page_task_render(hr, t, NULL, NULL, 200);
}

/*
 * The parameters a form sent, as the run's JSON object: declared ones
 * only, the last value of each (see page_param_bool). NULL with *bad set
 * to the parameter whose value is not UTF-8.
 */
static json_t *
page_form_params(const struct task *t, struct evkeyvalq *form,
    const char **bad)
{
	const struct taskparam	*tp;
	const char		*v;
	json_t			*params = json_object(), *s;
	u_int			 i;

	for (i = 0; i < t->def->nparams; i++) {
		tp = &t->def->params[i];
		if ((v = page_field(form, tp->name)) == NULL)
			continue;
		if ((s = json_string(v)) == NULL) {
			*bad = tp->name;
			json_decref(params);
			return (NULL);
		}
		json_object_set_new(params, tp->name, s);
	}
	return (params);
}

/* Start a run of a task with the form's values; 303 to it, or a page. */
static void
page_task_start(struct http_req *hr, const struct task *t,
    struct evkeyvalq *form)
{
	struct ops_error	 err = { NULL, NULL };
	const char		*bad = NULL, *confirm;
	char			*name, *msg, loc[64];
	json_t			*params, *reply;
	int64_t			 id;

	if ((params = page_form_params(t, form, &bad)) == NULL) {
		xasprintf(&msg, "%s: the value is not valid text (UTF-8).",
		    bad);
		page_task_render(hr, t, NULL, msg, 400);
		free(msg);
		return;
	}
	confirm = page_field(form, "_confirm");
	if (t->def->confirm && (confirm == NULL || strcmp(confirm, "yes") !=
	    0)) {
		xasprintf(&msg, "This task asks to be sure: tick \"Yes, run "
		    "%s now\" and press Run again.", t->name);
		page_task_render(hr, t, params, msg, 400);
		free(msg);
		json_decref(params);
		return;
	}
	/* A run may reload tasks.d and free t: keep the name. */
	name = xstrdup(t->name);
	reply = proto_ok();
	id = ops_run(name, params, 0, TRIGGER_WEB, api_who(hr), reply, &err);
	json_decref(reply);
	if (id != -1) {
		snprintf(loc, sizeof loc, "/runs/%lld", (long long)id);
		http_redirect(hr, loc);
	} else if (strcmp(err.code, E_BAD_PARAMS) == 0 &&
	    (t = task_find(name)) != NULL && task_valid(t))
		page_task_render(hr, t, params, err.message, 400);
	else
		page_error(hr, http_status_for(err.code), err.message);
	ops_error_clear(&err);
	json_decref(params);
	free(name);
}

/* POST /tasks/NAME/run: the form of the task's page (or the list's). */
void
page_task_run(struct http_req *hr)
{
	struct evkeyvalq	 form;
	struct task		*t;
	char			*msg;

	if (ml_shutting_down) {
		page_error(hr, 503, "microlight is shutting down: no new runs.");
		return;
	}
	if (page_form(hr, &form) != 0)
		return;
	if ((t = task_find(hr->arg)) == NULL) {
		xasprintf(&msg, "There is no task named '%s'.", hr->arg);
		page_error(hr, 404, msg);
		free(msg);
	} else if (!task_valid(t)) {
		xasprintf(&msg, "The task '%s' cannot run until its file is "
		    "fixed: %s", t->name, t->nerrors > 0 ? t->errors[0] :
		    "the file cannot be read");
		page_error(hr, 409, msg);
		free(msg);
	} else
		page_task_start(hr, t, &form);
	evhttp_clear_headers(&form);
}
