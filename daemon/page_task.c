/* The web page of one task: what it is, its history, the form that runs it. */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "microlightd.h"
#include "params.h"

#define PAGE_TASK_RUNS		25	/* on a task's page */
#define PAGE_TASK_UPCOMING	25	/* scheduled runs on a task's page */

/*
 * The task page's script (page_task.js, made into a string by make): with
 * JavaScript, @confirm asks with confirm() instead of the "I am sure" box
 * the page shows without it, and a "Run later" time is sent with the
 * browser's offset from UTC (_tz) for page_task_at.
 */
static const char page_task_js[] =
#include "daemon/page_task_js.h"
;

/* The label of a parameter's field, marked when it is required. */
static void
page_param_label(struct evbuffer *b, const struct taskparam *tp)
{
	page_text(b, tp->label != NULL ? tp->label : tp->name);
	if (tp->required)
		evbuffer_add_printf(b, "<span class=\"req\" title=\"required\">"
		    "*</span>");
}

/*
 * What is wrong with a field of a form that was sent: the error kept for
 * it in errors (field name: message, shown under the field), or NULL.
 */
static const char *
page_field_error(json_t *errors, const char *field)
{
	return (errors != NULL ? page_json_str(errors, field) : NULL);
}

/* An input's attributes that tie it to its error, if it has one. */
static void
page_field_aria(struct evbuffer *b, const char *field, const char *error)
{
	if (error != NULL)
		evbuffer_add_printf(b, " aria-invalid=\"true\" "
		    "aria-describedby=\"err-%s\"", field);
}

/* A field's error, right under it (its id is the field's aria-describedby). */
static void
page_field_message(struct evbuffer *b, const char *field, const char *error)
{
	if (error == NULL)
		return;
	evbuffer_add_printf(b, "<p class=\"field-error\" id=\"err-%s\">",
	    field);
	page_text(b, error);
	evbuffer_add_printf(b, "</p>");
}

/* A text or number field. */
static void
page_param_input(struct evbuffer *b, const struct taskparam *tp,
    const char *value, const char *error)
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
	page_field_aria(b, tp->name, error);
	evbuffer_add_printf(b, "%s>", tp->required ? " required" : "");
	page_field_message(b, tp->name, error);
	if (tp->type == PARAM_INT)
		evbuffer_add_printf(b, "<p class=\"hint\">A whole number.</p>");
}

/*
 * A checkbox. An unticked box sends nothing, so a hidden "false" comes
 * first; a ticked box's "true" follows it, and the last value counts.
 */
static void
page_param_bool(struct evbuffer *b, const struct taskparam *tp,
    const char *value, const char *error)
{
	char	*norm = NULL, *cause = NULL;
	int	 on;

	on = value != NULL && taskparam_normalise(tp, value, &norm, &cause) ==
	    0 && strcmp(norm, "true") == 0;
	free(norm);
	free(cause);
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"%s\" "
	    "value=\"false\"><label class=\"check\"><input type=\"checkbox\" "
	    "id=\"p-%s\" name=\"%s\" value=\"true\"%s", tp->name, tp->name,
	    tp->name, on ? " checked" : "");
	page_field_aria(b, tp->name, error);
	evbuffer_add_printf(b, "> ");
	page_param_label(b, tp);
	evbuffer_add_printf(b, "</label>");
	page_field_message(b, tp->name, error);
}

/* A select of the choices. */
static void
page_param_choice(struct evbuffer *b, const struct taskparam *tp,
    const char *value, const char *error)
{
	u_int	 i;
	int	 found = 0;

	for (i = 0; value != NULL && i < tp->nchoices; i++)
		found |= strcmp(tp->choices[i], value) == 0;
	evbuffer_add_printf(b, "<label for=\"p-%s\">", tp->name);
	page_param_label(b, tp);
	evbuffer_add_printf(b, "</label><select id=\"p-%s\" name=\"%s\"%s",
	    tp->name, tp->name, tp->required ? " required" : "");
	page_field_aria(b, tp->name, error);
	evbuffer_add_printf(b, ">");
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
	page_field_message(b, tp->name, error);
}

/*
 * One parameter's field, with a value (the default, or what was sent) and
 * what is wrong with it, if anything.
 */
static void
page_param(struct evbuffer *b, const struct taskparam *tp, json_t *values,
    json_t *errors)
{
	const char	*value, *error = page_field_error(errors, tp->name);

	if (values != NULL)
		value = page_json_str(values, tp->name);
	else
		value = tp->def;
	evbuffer_add_printf(b, "<div class=\"field\">");
	switch (tp->type) {
	case PARAM_BOOL:
		page_param_bool(b, tp, value, error);
		break;
	case PARAM_CHOICE:
		page_param_choice(b, tp, value, error);
		break;
	default:
		page_param_input(b, tp, value, error);
		break;
	}
	evbuffer_add_printf(b, "</div>\n");
}

/*
 * The form's "Run later" fields: a date and time (datetime-local: no
 * offset, see page_task_at) or a delay; values are what was sent.
 */
static void
page_task_later(struct evbuffer *b, json_t *values, json_t *errors)
{
	const char	*at = NULL, *in = NULL;
	const char	*at_error = page_field_error(errors, "_at");
	const char	*in_error = page_field_error(errors, "_in");
	char		 zone[64];
	struct tm	 tm;
	time_t		 now = time(NULL);

	if (values != NULL) {
		at = page_json_str(values, "_at");
		in = page_json_str(values, "_in");
	}
	localtime_r(&now, &tm);
	strftime(zone, sizeof zone, "%Z", &tm);
	evbuffer_add_printf(b, "<fieldset class=\"field\" id=\"later\">"
	    "<legend>Run later <span class=\"muted small\">(optional: empty "
	    "runs now)</span></legend><label for=\"f-at\">At</label><input "
	    "id=\"f-at\" name=\"_at\" type=\"datetime-local\" step=\"1\"");
	if (at != NULL) {
		evbuffer_add_printf(b, " value=\"");
		page_text(b, at);
		evbuffer_add_printf(b, "\"");
	}
	page_field_aria(b, "_at", at_error);
	evbuffer_add_printf(b, ">");
	page_field_message(b, "_at", at_error);
	evbuffer_add_printf(b, "<p class=\"hint\" id=\"at-zone\">In the "
	    "server's time zone, ");
	page_text(b, zone);
	evbuffer_add_printf(b, ".</p><label for=\"f-in\">Or in</label>"
	    "<input id=\"f-in\" name=\"_in\" type=\"text\" maxlength=\"32\" "
	    "autocomplete=\"off\" placeholder=\"30m, 2h, 1d\"");
	if (in != NULL) {
		evbuffer_add_printf(b, " value=\"");
		page_text(b, in);
		evbuffer_add_printf(b, "\"");
	}
	page_field_aria(b, "_in", in_error);
	evbuffer_add_printf(b, ">");
	page_field_message(b, "_in", in_error);
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"_tz\" "
	    "id=\"f-tz\"></fieldset>\n");
}

/*
 * The fields of the run form that are not parameters, in the order the
 * form shows them, with the id of each one's input (for the summary's
 * links). Parameter fields are their names; these start with "_", which
 * no parameter's name does.
 */
static const struct {
	const char	*field;
	const char	*id;
} page_form_fields[] = {
	{ "_at", "f-at" },
	{ "_in", "f-in" },
	{ "_confirm", "f-confirm" },
};
#define PAGE_NFORM_FIELDS \
	(sizeof page_form_fields / sizeof page_form_fields[0])

/* One line of the summary: a link to the field, with what is wrong. */
static void
page_form_summary_line(struct evbuffer *b, const char *prefix,
    const char *id, const char *error)
{
	evbuffer_add_printf(b, "<li><a href=\"#%s%s\">", prefix, id);
	page_text(b, error);
	evbuffer_add_printf(b, "</a></li>");
}

/*
 * Above a form that was refused: how many fields need attention, each
 * problem linked to its field in the order of the form (a screen reader
 * hears this first, role=alert), and a problem of no one field (error).
 */
static void
page_form_summary(struct evbuffer *b, const struct task *t, json_t *errors,
    const char *error)
{
	const char	*e;
	size_t		 n = errors != NULL ? json_object_size(errors) : 0;
	u_int		 i;

	if (n == 0 && error == NULL)
		return;
	evbuffer_add_printf(b, "<div class=\"alert error\" role=\"alert\" "
	    "id=\"form-error\">");
	if (error != NULL) {
		evbuffer_add_printf(b, "<p>");
		page_text(b, error);
		evbuffer_add_printf(b, "</p>");
	}
	if (n > 0) {
		evbuffer_add_printf(b, "<p id=\"form-error-count\"><strong>%zu "
		    "field%s need%s attention:</strong></p><ul>", n,
		    n == 1 ? "" : "s", n == 1 ? "s" : "");
		for (i = 0; i < t->def->nparams; i++) {
			e = page_field_error(errors, t->def->params[i].name);
			if (e != NULL)
				page_form_summary_line(b, "p-",
				    t->def->params[i].name, e);
		}
		for (i = 0; i < PAGE_NFORM_FIELDS; i++) {
			e = page_field_error(errors, page_form_fields[i].field);
			if (e != NULL)
				page_form_summary_line(b, "",
				    page_form_fields[i].id, e);
		}
		evbuffer_add_printf(b, "</ul>");
	}
	evbuffer_add_printf(b, "</div>\n");
}

/*
 * The form that runs a task: its parameters, and the confirmation; with
 * rerun (a run id, else 0), the new run is a rerun of that run. After a
 * refused run, values are what was sent, errors what is wrong with each
 * field (field name: message) and error a problem of no one field.
 */
static void
page_task_form(struct evbuffer *b, struct http_req *hr,
    const struct task *t, json_t *values, int64_t rerun, json_t *errors,
    const char *error)
{
	const char	*confirm_error = page_field_error(errors, "_confirm");
	char		 token[PAGE_TOKEN_LEN];
	u_int		 i;

	auth_form_token(hr->user, token, sizeof token);
	evbuffer_add_printf(b, "<section class=\"card\" id=\"run\"><h2>Run "
	    "this task</h2>\n");
	page_form_summary(b, t, errors, error);
	evbuffer_add_printf(b, "<form id=\"run-form\" method=\"post\" "
	    "action=\"%s/tasks/%s/run\"", http_base(), t->name);
	if (t->def->confirm)
		evbuffer_add_printf(b, " data-confirm=\"Run %s now?\"", t->name);
	evbuffer_add_printf(b, ">");
	page_token(b, token);
	if (rerun > 0)
		evbuffer_add_printf(b, "<input type=\"hidden\" name=\"%s\" "
		    "value=\"%lld\"><p class=\"note\" id=\"rerun-note\">Again, "
		    "with the values of <a href=\"%s/runs/%lld\">run #%lld</a>."
		    "</p>", PAGE_RERUN_FIELD, (long long)rerun, http_base(),
		    (long long)rerun,
		    (long long)rerun);
	evbuffer_add_printf(b, "\n");
	for (i = 0; i < t->def->nparams; i++)
		page_param(b, &t->def->params[i], values, errors);
	if (t->def->nparams == 0)
		evbuffer_add_printf(b, "<p class=\"muted small\">This task takes "
		    "no parameters.</p>\n");
	page_task_later(b, values, errors);
	if (t->def->confirm) {
		evbuffer_add_printf(b, "<div class=\"field\" id=\"confirm-row\">"
		    "<label class=\"check\"><input type=\"checkbox\" "
		    "id=\"f-confirm\" name=\"_confirm\" value=\"yes\"");
		page_field_aria(b, "_confirm", confirm_error);
		evbuffer_add_printf(b, " required> Yes, run %s now</label>",
		    t->name);
		page_field_message(b, "_confirm", confirm_error);
		evbuffer_add_printf(b, "<p class=\"hint\">This task asks to be "
		    "sure before it runs.</p></div>\n");
	}
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
	if ((next = ops_next_run(t)) > 0) {
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

/* One thing to come on a task's page: a scheduled run, or a schedule. */
struct page_upcoming {
	int64_t		 when;		/* ms */
	json_t		*run;		/* a scheduled run's object, or NULL */
	const struct taskschedule *ts;	/* else the schedule that fires */
};

/* Sort things to come by time. */
static int
page_upcoming_cmp(const void *a, const void *b)
{
	const struct page_upcoming	*x = a, *y = b;

	return (x->when < y->when ? -1 : x->when > y->when);
}

/* One row of Upcoming: when, what, with which parameters, Cancel. */
static void
page_upcoming_row(struct evbuffer *b, const struct page_upcoming *u,
    const char *token)
{
	long long	 id = 0;
	char		*words;

	evbuffer_add_printf(b, "<tr><td>");
	page_time_ms(b, u->when, PAGE_T_DAY);
	if (u->run != NULL) {
		id = json_integer_value(json_object_get(u->run, K_ID));
		evbuffer_add_printf(b, "</td><td><a href=\"%s/runs/%lld\">run "
		    "#%lld</a> <span class=\"muted\">by ", http_base(), id, id);
		page_by(b, page_json_str(u->run, K_TRIGGERED_BY));
		evbuffer_add_printf(b, "</span>");
		words = proto_params_words(json_object_get(u->run, K_PARAMS),
		    1);
	} else {
		evbuffer_add_printf(b, "</td><td>schedule <code>");
		page_text(b, u->ts->expr);
		evbuffer_add_printf(b, "</code>");
		words = proto_params_words(u->ts->params, 1);
	}
	evbuffer_add_printf(b, "</td><td><code class=\"params\">");
	page_text(b, words);
	free(words);
	evbuffer_add_printf(b, "</code></td><td>");
	if (u->run != NULL) {
		evbuffer_add_printf(b, "<form class=\"inline\" method=\"post\" "
		    "action=\"%s/runs/%lld/cancel\">", http_base(), id);
		page_token(b, token);
		evbuffer_add_printf(b, "<input type=\"hidden\" name=\"_back\" "
		    "value=\"task\"><button class=\"btn danger\" type=\"submit\" "
		    "id=\"cancel-%lld\">Cancel</button></form>", id);
	}
	evbuffer_add_printf(b, "</td></tr>\n");
}

/*
 * Upcoming: the task's scheduled runs (each with a Cancel button) and the
 * next fire of each of its schedules, soonest first.
 */
static void
page_task_upcoming(struct evbuffer *b, struct http_req *hr,
    const struct task *t)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	struct page_upcoming	*u;
	json_t			*reply = proto_ok(), *runs, *run;
	char			 token[PAGE_TOKEN_LEN];
	const char		*when;
	size_t			 i, n = 0, nruns;
	int64_t			 next;

	if (ops_runs(hr->who, t->name, proto_status_name(RUN_SCHEDULED), 0,
	    PAGE_TASK_UPCOMING, reply, &err) != 0)
		ops_error_clear(&err);
	runs = json_object_get(reply, K_RUNS);
	nruns = json_array_size(runs);
	u = xcalloc(1 + nruns + (t->def != NULL ? t->def->nschedules : 0),
	    sizeof *u);
	json_array_foreach(runs, i, run) {
		when = page_json_str(run, K_SCHEDULED_FOR);
		if (when == NULL || time_parse_rfc3339(when, &u[n].when) != 0)
			continue;
		u[n++].run = run;
	}
	for (i = 0; task_valid(t) && i < t->def->nschedules; i++) {
		if ((next = sched_next(t->name,
		    t->def->schedules[i].expr)) == -1)
			continue;
		u[n].when = next * 1000;
		u[n++].ts = &t->def->schedules[i];
	}
	qsort(u, n, sizeof *u, page_upcoming_cmp);
	evbuffer_add_printf(b, "<section id=\"upcoming\"><h2>Upcoming</h2>\n");
	if (n == 0)
		evbuffer_add_printf(b, "<p class=\"muted\">Nothing: no "
		    "schedule and no run asked for later.</p>\n");
	else {
		auth_form_token(hr->user, token, sizeof token);
		evbuffer_add_printf(b, "<table class=\"runs\"><thead><tr>"
		    "<th>When</th><th>What</th><th>Parameters</th><th></th>"
		    "</tr></thead><tbody>\n");
		for (i = 0; i < n; i++)
			page_upcoming_row(b, &u[i], token);
		evbuffer_add_printf(b, "</tbody></table>\n");
	}
	if (nruns == PAGE_TASK_UPCOMING)
		evbuffer_add_printf(b, "<p class=\"muted small\">The first %d "
		    "runs asked for later; <a href=\"%s/api/v1/runs?task=%s&amp;"
		    "status=scheduled\">all of them</a>.</p>\n",
		    PAGE_TASK_UPCOMING, http_base(), t->name);
	evbuffer_add_printf(b, "</section>\n");
	free(u);
	json_decref(reply);
}

/*
 * A task's page: description, form (with the values sent and what was
 * wrong with them, after a refused run; a rerun's: see page_task_form),
 * details and history.
 */
static void
page_task_render(struct http_req *hr, const struct task *t, json_t *values,
    int64_t rerun, json_t *errors, const char *error, int status)
{
	struct evbuffer		*b = evbuffer_new();
	char			*base;

	page_begin(b, hr, page_task_shown(t), 0);
	evbuffer_add_printf(b, "<nav class=\"crumbs\"><a href=\"%s/\">Tasks</a>",
	    http_base());
	if (t->def != NULL && t->def->group != NULL) {
		evbuffer_add_printf(b, " / ");
		page_text(b, t->def->group);
	}
	evbuffer_add_printf(b, "</nav>\n<div class=\"title\"><h1>");
	page_text(b, page_task_shown(t));
	if (strcmp(page_task_shown(t), t->name) != 0) {
		/* The file's name: what microlightctl and webhooks use. */
		evbuffer_add_printf(b, " <span class=\"muted\" "
		    "id=\"task-name\">");
		page_text(b, t->name);
		evbuffer_add_printf(b, "</span>");
	}
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
			page_task_form(b, hr, t, values, rerun, errors,
			    error);
		page_task_details(b, t);
		evbuffer_add_printf(b, "</div>\n");
	}
	page_task_upcoming(b, hr, t);
	evbuffer_add_printf(b, "<section id=\"history\"><h2>History</h2>\n");
	xasprintf(&base, "%s/tasks/%s", http_base(), t->name);
	page_history(b, hr, t->name, base, "history", PAGE_TASK_RUNS, 0);
	free(base);
	evbuffer_add_printf(b, "</section>\n");
	page_end(b, hr, task_valid(t) ? page_task_js : NULL);
	page_send(hr, status, b);
}

/*
 * GET /tasks/NAME?rerun=ID: the page with its form filled with run ID's
 * values (the defaults for parameters it did not have), to run it again.
 */
static void
page_task_rerun(struct http_req *hr, const struct task *t, const char *arg)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	const struct taskparam	*tp;
	const char		*errstr;
	char			*msg;
	json_t			*run, *values;
	int64_t			 id;
	u_int			 i;

	id = strtonum(arg, 1, INT64_MAX, &errstr);
	if (errstr == NULL && ops_find_run(hr->who, id, NULL, &run,
	    &err) != 0) {
		http_ops_error(hr, ops_error_reply(&err));
		return;
	}
	if (errstr != NULL || page_json_str(run, K_TASK) == NULL ||
	    strcmp(page_json_str(run, K_TASK), t->name) != 0) {
		xasprintf(&msg, "There is no run #%s of %s.", arg, t->name);
		page_error(hr, 404, msg);
		free(msg);
		if (errstr == NULL)
			json_decref(run);
		return;
	}
	values = json_deep_copy(json_object_get(run, K_PARAMS));
	for (i = 0; values != NULL && t->def != NULL && i < t->def->nparams;
	    i++) {
		tp = &t->def->params[i];
		if (json_object_get(values, tp->name) == NULL && tp->def != NULL)
			json_object_set_new(values, tp->name,
			    json_string(tp->def));
	}
	page_task_render(hr, t, values, id, NULL, NULL, 200);
	json_decref(values);
	json_decref(run);
}

/* GET /tasks/NAME, or with ?rerun=ID its form filled to run ID again. */
void
page_task(struct http_req *hr)
{
	struct task	*t;
	const char	*rerun;
	char		*msg;

	if ((t = ops_task(hr->who, hr->arg)) == NULL) {
		xasprintf(&msg, "There is no task named '%s'.", hr->arg);
		page_error(hr, 404, msg);
		free(msg);
		return;
	}
	if ((rerun = http_query(hr, PAGE_RERUN_QUERY)) != NULL)
		page_task_rerun(hr, t, rerun);
	else
		page_task_render(hr, t, NULL, 0, NULL, NULL, 200);
}

/*
 * Keep what is wrong with a field of a form, message (for errors, shown
 * under the field), unless something is kept for it already: the first
 * problem of a field is the one to fix first.
 */
static void
page_form_fail(json_t *errors, const char *field, const char *message)
{
	json_t	*s;

	if (json_object_get(errors, field) != NULL)
		return;
	if ((s = json_string(message)) == NULL)	/* a value that is no text */
		s = json_string("this value is not valid text (UTF-8)");
	json_object_set_new(errors, field, s);
}

/*
 * A message of the parameter checker, which starts with the parameter's
 * name, as the page says it: with the label the form shows instead.
 */
static char *
page_param_problem(const struct taskparam *tp, const char *message)
{
	size_t	 len = strlen(tp->name);
	char	*s;

	if (tp->label != NULL && strncmp(message, tp->name, len) == 0 &&
	    message[len] == ':')
		xasprintf(&s, "%s%s", tp->label, message + len);
	else
		s = xstrdup(message);
	return (s);
}

/*
 * The parameters a form sent, as the run's JSON object: declared ones
 * only, the last value of each (see page_param_bool). A value that is not
 * UTF-8 is left out, and said in errors.
 */
static json_t *
page_form_params(const struct task *t, struct evkeyvalq *form,
    json_t *errors)
{
	const struct taskparam	*tp;
	const char		*v;
	json_t			*params = json_object(), *s;
	char			*msg;
	u_int			 i;

	for (i = 0; i < t->def->nparams; i++) {
		tp = &t->def->params[i];
		if ((v = page_field(form, tp->name)) == NULL)
			continue;
		if ((s = json_string(v)) == NULL) {
			xasprintf(&msg, "%s: the value is not valid text "
			    "(UTF-8)", tp->label != NULL ? tp->label :
			    tp->name);
			page_form_fail(errors, tp->name, msg);
			free(msg);
			continue;
		}
		json_object_set_new(params, tp->name, s);
	}
	return (params);
}

/*
 * Check a form's parameters with the checker every run goes through, and
 * keep every problem in errors, each under its parameter (by its label).
 * For a rerun (given_only), a parameter the form did not send is the old
 * run's, which ops_rerun checks.
 */
static void
page_form_check(const struct task *t, json_t *params, int given_only,
    json_t *errors)
{
	const struct taskparam	*tp;
	const char		*name;
	json_t			*problems, *p;
	char			*msg;
	size_t			 i;

	problems = params_problems(t->def, params, 0);
	json_array_foreach(problems, i, p) {
		name = page_json_str(p, K_PARAM);
		if (name == NULL || (tp = taskdef_param(t->def, name)) == NULL)
			continue;	/* none: the form sends declared ones */
		if (given_only && json_object_get(params, name) == NULL)
			continue;
		msg = page_param_problem(tp, page_json_str(p, K_MESSAGE));
		page_form_fail(errors, name, msg);
		free(msg);
	}
	json_decref(problems);
}

/*
 * Check a form's "Run later" fields (at as page_task_at made it) as
 * ops_run will, and keep a problem under the field it concerns: both
 * given is said under the second.
 */
static void
page_form_check_when(const char *at, const char *in, json_t *errors)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	int64_t			 when;
	char			*msg;

	if (ops_when(at, in, &when, &err) == 0)
		return;
	/* Named by the label of the fields' box, as parameters are. */
	xasprintf(&msg, "Run later: %s", err.message);
	page_form_fail(errors, in != NULL ? "_in" : "_at", msg);
	free(msg);
	ops_error_clear(&err);
}

/*
 * The form's "Run later" time as ops_run takes one, in buf, or NULL for
 * none. A datetime-local value has no offset: it is read in the browser's
 * zone when the script sent its offset (_tz, minutes east of UTC), else in
 * the daemon's. Anything else goes as it was typed (ops_run says what is
 * wrong with it).
 */
static const char *
page_task_at(struct evkeyvalq *form, char *buf, size_t len)
{
	const char	*at = page_field(form, "_at");
	const char	*tz = page_field(form, "_tz"), *errstr = NULL;
	struct tm	 tm;
	char		*end;
	long		 off = 0;
	time_t		 t;

	if (at == NULL || *at == '\0')
		return (NULL);
	memset(&tm, 0, sizeof tm);
	if ((end = strptime(at, "%Y-%m-%dT%H:%M", &tm)) != NULL &&
	    *end == ':')
		end = strptime(end, ":%S", &tm);
	if (end == NULL || *end != '\0')
		return (at);
	if (tz != NULL && *tz != '\0')
		off = strtonum(tz, -24 * 60, 24 * 60, &errstr) * 60;
	if (tz == NULL || *tz == '\0' || errstr != NULL) {
		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) == -1)
			return (at);
		off = tm.tm_gmtoff;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 3600,
	    labs(off) % 3600 / 60);
	return (buf);
}

/* Keep a "Run later" field of a form in values, to show it again. */
static void
page_task_later_keep(json_t *values, struct evkeyvalq *form,
    const char *field)
{
	const char	*v = page_field(form, field);
	json_t		*s;

	if (v != NULL && (s = json_string(v)) != NULL)
		json_object_set_new(values, field, s);
}

/*
 * The form again, refused (400): with what was sent in every field (the
 * "Run later" ones too: "_" is no parameter's first letter), what is
 * wrong with each, and error, a problem of no one field.
 */
static void
page_task_refuse(struct http_req *hr, const struct task *t,
    struct evkeyvalq *form, json_t *params, int64_t rerun, json_t *errors,
    const char *error)
{
	page_task_later_keep(params, form, "_at");
	page_task_later_keep(params, form, "_in");
	page_task_render(hr, t, params, rerun, errors, error, 400);
}

/*
 * Check a form as a whole before a run is asked for: every parameter, the
 * "Run later" time and the confirmation, so that the form comes back with
 * every problem at once, not the first. The problems go in errors (field
 * name: message).
 */
static void
page_task_check(const struct task *t, struct evkeyvalq *form,
    json_t *params, int64_t rerun, const char *at, const char *in,
    json_t *errors)
{
	const char	*confirm;
	char		*msg;

	page_form_check(t, params, rerun > 0, errors);
	page_form_check_when(at, in, errors);
	confirm = page_field(form, "_confirm");
	if (t->def->confirm && (confirm == NULL || strcmp(confirm, "yes") !=
	    0)) {
		xasprintf(&msg, "This task asks to be sure: tick \"Yes, run %s "
		    "now\" and press Run again.", t->name);
		page_form_fail(errors, "_confirm", msg);
		free(msg);
	}
}

/*
 * Start a run of a task with the form's values (now or later; a rerun of
 * the run the form names, if it does); 303 to it, or a page.
 */
static void
page_task_start(struct http_req *hr, const struct task *t,
    struct evkeyvalq *form)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	const char		*field, *errstr, *at, *in;
	char			*name, loc[64], atbuf[64];
	json_t			*params, *reply, *errors;
	int64_t			 id, rerun = 0;

	if ((field = page_field(form, PAGE_RERUN_FIELD)) != NULL &&
	    (rerun = strtonum(field, 1, INT64_MAX, &errstr)) == 0) {
		page_error(hr, 400, "The form names no run to run again.");
		return;
	}
	errors = json_object();
	params = page_form_params(t, form, errors);
	at = page_task_at(form, atbuf, sizeof atbuf);
	if ((in = page_field(form, "_in")) != NULL && *in == '\0')
		in = NULL;
	page_task_check(t, form, params, rerun, at, in, errors);
	if (json_object_size(errors) > 0) {
		page_task_refuse(hr, t, form, params, rerun, errors, NULL);
		goto out;
	}

	/* A run may reload tasks.d and free t: keep the name. */
	name = xstrdup(t->name);
	reply = proto_ok();
	if (rerun > 0)
		id = ops_rerun(hr->who, rerun, params, name, TRIGGER_WEB, at,
		    in, reply, &err);
	else
		id = ops_run(hr->who, name, params, TRIGGER_WEB, NULL, 0,
		    NULL, at, in, reply, &err);
	json_decref(reply);
	if (id != -1) {
		snprintf(loc, sizeof loc, "/runs/%lld", (long long)id);
		http_redirect(hr, loc);
	} else if ((strcmp(err.code, E_BAD_PARAMS) == 0 ||
	    strcmp(err.code, E_USAGE) == 0) &&
	    (t = ops_task(hr->who, name)) != NULL && task_valid(t)) {
		/*
		 * Refused though the form looked right: the task changed in
		 * between, or a rerun's old values are wrong now. Say it
		 * under the fields it concerns if it is there, else above.
		 */
		page_form_check(t, params, rerun > 0, errors);
		page_task_refuse(hr, t, form, params, rerun, errors,
		    json_object_size(errors) > 0 ? NULL : err.message);
	} else
		page_error(hr, http_status_for(err.code), err.message);
	ops_error_clear(&err);
	free(name);
out:
	json_decref(errors);
	json_decref(params);
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
	if ((t = ops_task(hr->who, hr->arg)) == NULL) {
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
