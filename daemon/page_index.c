/* The web page's task list (GET /): the tasks by group, and the latest runs. */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "microlightd.h"

#define PAGE_RECENT_RUNS	20	/* on the task list */

/*
 * Order of the task list: by group (tasks without one last), then by the
 * name shown (@title, else the name), then the name.
 */
static int
page_index_cmp(const void *a, const void *b)
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
	if ((c = strcasecmp(page_task_shown(ta), page_task_shown(tb))) != 0)
		return (c);
	return (strcmp(ta->name, tb->name));
}

/* Whether a task's Run button must lead to its page: it asks first. */
static int
page_index_asks(const struct task *t)
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

/*
 * What a task's runs are doing, all that applies at once: a badge for its
 * runs running and one for those queued, with how many when more than
 * one (linked to the run that has gone longest, and to the one that goes
 * next), then its last result (its latest run that ended, linked) and
 * when that ended; "never run" if there is none of them. The list's side
 * of the task, and what its live updates send (page_list.c).
 */
void
page_index_state(struct evbuffer *b, const char *name)
{
	struct run	*next;
	json_t		*last;
	u_int		 running, queued;

	running = run_task_count(name);
	queued = queue_count_task(name);
	if (running > 0) {
		page_badge_count(b, proto_status_name(RUN_RUNNING),
		    run_task_oldest(name), running);
		evbuffer_add_printf(b, " ");
	}
	if (queued > 0 && (next = queue_first_task(name)) != NULL) {
		page_badge_count(b, proto_status_name(RUN_QUEUED),
		    next->rec.id, queued);
		evbuffer_add_printf(b, " ");
	}
	if ((last = ops_last_ended(name)) != NULL) {
		page_badge(b, page_json_str(last, K_STATUS),
		    json_integer_value(json_object_get(last, K_ID)));
		evbuffer_add_printf(b, "<br>");
		page_time(b, page_json_str(last, K_FINISHED_AT), PAGE_T_REL);
		json_decref(last);
	} else if (running == 0 && queued == 0)
		evbuffer_add_printf(b, "never run");
}

/* The right-hand side of a task in the list: its runs and Run button. */
static void
page_index_side(struct evbuffer *b, const struct task *t, const char *token)
{
	evbuffer_add_printf(b, "<div class=\"t-side\"><div class=\"last\">");
	page_index_state(b, t->name);
	evbuffer_add_printf(b, "</div>");
	if (!task_valid(t)) {
		evbuffer_add_printf(b, "</div>");
		return;
	}
	if (page_index_asks(t))
		evbuffer_add_printf(b, "<a class=\"btn primary\" href=\"%s/tasks/"
		    "%s\">Run…</a>", http_base(), t->name);
	else {
		evbuffer_add_printf(b, "<form class=\"inline\" method=\"post\" "
		    "action=\"%s/tasks/%s/run\">", http_base(), t->name);
		page_token(b, token);
		evbuffer_add_printf(b, "<button class=\"btn primary\" "
		    "type=\"submit\">Run</button></form>");
	}
	evbuffer_add_printf(b, "</div>");
}

/* Since when a task is overdue or failing, in words. */
static void
page_index_health(struct evbuffer *b, const struct task *t, int64_t failing,
    int64_t overdue)
{
	char	 every[32];

	if (overdue == 0 && failing == 0)
		return;
	evbuffer_add_printf(b, "<p class=\"meta health\">");
	if (overdue != 0 && task_valid(t)) {
		duration_format(t->def->expect, every, sizeof every);
		evbuffer_add_printf(b, "<span>Overdue since ");
		page_time_ms(b, overdue, PAGE_T_DAY);
		evbuffer_add_printf(b, ": no success for %s</span>", every);
	}
	if (failing != 0) {
		evbuffer_add_printf(b, "<span>Failing since ");
		page_time_ms(b, failing, PAGE_T_DAY);
		evbuffer_add_printf(b, "</span>");
	}
	evbuffer_add_printf(b, "</p>");
}

/* One task of the list. */
/*
 * What the list shows of a task beside its runs (inside its t-main): its
 * name, badges, description, health, errors, schedules and next run. The
 * list's events carry it too, as these change with the runs.
 */
void
page_index_main(struct evbuffer *b, const struct task *t)
{
	int64_t	 next, failing, overdue;
	int	 scheduled;

	evbuffer_add_printf(b, "<h3>");
	page_task_link(b, t->name);
	if (!task_valid(t))
		evbuffer_add_printf(b, " <span class=\"badge b-invalid\">"
		    "invalid</span>");
	notice_state(t->name, &failing, &overdue);
	if (overdue != 0)
		evbuffer_add_printf(b, " <span class=\"badge b-timed_out\" "
		    "id=\"overdue-%s\">overdue</span>", t->name);
	if (failing != 0)
		evbuffer_add_printf(b, " <span class=\"badge b-failed\" "
		    "id=\"failing-%s\">failing</span>", t->name);
	evbuffer_add_printf(b, "</h3>");
	if (t->def != NULL && t->def->description != NULL) {
		evbuffer_add_printf(b, "<p class=\"desc\">");
		page_text(b, t->def->description);
		evbuffer_add_printf(b, "</p>");
	}
	page_index_health(b, t, failing, overdue);
	if (!task_valid(t))
		page_task_errors(b, t);
	/* Its schedules, and its next run: a schedule's or one for later. */
	scheduled = t->def != NULL && t->def->nschedules > 0;
	if ((next = ops_next_run(t)) <= 0 && !scheduled)
		return;
	evbuffer_add_printf(b, "<p class=\"meta\">");
	if (scheduled) {
		evbuffer_add_printf(b, "<span class=\"sched\"><b>Runs</b> ");
		page_schedules(b, t);
		evbuffer_add_printf(b, "</span>");
	}
	if (next > 0) {
		evbuffer_add_printf(b, "<span class=\"next\"><b>Next</b> ");
		page_time_ms(b, next, PAGE_T_DAY);
		evbuffer_add_printf(b, "</span>");
	}
	evbuffer_add_printf(b, "</p>");
}

static void
page_index_task(struct evbuffer *b, const struct task *t, const char *token)
{
	evbuffer_add_printf(b, "<li class=\"task%s\" id=\"task-",
	    task_valid(t) ? "" : " invalid");
	page_text(b, t->name);
	evbuffer_add_printf(b, "\"><div class=\"t-main\">");
	page_index_main(b, t);
	evbuffer_add_printf(b, "</div>");
	page_index_side(b, t, token);
	evbuffer_add_printf(b, "</li>\n");
}

/* The tasks w may see, by group. */
static void
page_index_tasks(struct evbuffer *b, const struct who *w, const char *token)
{
	struct taskset	*set = ops_tasks();
	struct task	**list, *t;
	const char	*group, *prev = NULL;
	u_int		 n = 0, i;
	int		 grouped = 0;

	list = xreallocarray(NULL, set->ntasks + 1, sizeof *list);
	RB_FOREACH(t, task_tree, &set->tree) {
		if (n == set->ntasks)
			break;
		if (!access_task(w, t, t->name))
			continue;
		list[n++] = t;
		grouped |= t->def != NULL && t->def->group != NULL;
	}
	qsort(list, n, sizeof *list, page_index_cmp);
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
		page_index_task(b, t, token);
	}
	if (n > 0)
		evbuffer_add_printf(b, "</ul></section>\n");
	else if (set->ntasks > 0)
		evbuffer_add_printf(b, "<section class=\"card empty\">No task "
		    "here is for you: ask who runs microlight.</section>\n");
	else {
		evbuffer_add_printf(b, "<section class=\"card empty\">No tasks "
		    "yet: put an executable script into ");
		page_text(b, ml_conf->tasks_dir);
		evbuffer_add_printf(b, ".</section>\n");
	}
	free(list);
}

/*
 * The task list's script (page_index.js, made into a string by make):
 * what each task's runs are doing, as it changes, from the list's live
 * stream (GET /events, page_list.c). Without JavaScript a reload shows
 * it.
 */
static const char page_index_js[] =
#include "daemon/page_index_js.h"
;

/*
 * GET /: the tasks by group, then the latest runs of all tasks. The list
 * says where its live stream goes on: after the last change drawn.
 */
void
page_index(struct http_req *hr)
{
	struct evbuffer		*b = evbuffer_new();
	char			 token[PAGE_TOKEN_LEN], *base;

	auth_form_token(hr->user, token, sizeof token);
	page_begin(b, hr, "Tasks", 0);
	evbuffer_add_printf(b, "<div class=\"title\"><h1>Tasks</h1></div>\n");
	evbuffer_add_printf(b, "<div id=\"tasks\" data-events=\"%s/events?"
	    "since=%lld\">\n", http_base(), (long long)page_list_serial());
	page_index_tasks(b, hr->who, token);
	evbuffer_add_printf(b, "</div>\n");
	evbuffer_add_printf(b, "<section id=\"recent\"><h2>Recent runs</h2>\n");
	xasprintf(&base, "%s/", http_base());
	page_history(b, hr, NULL, base, "recent", PAGE_RECENT_RUNS, 1);
	free(base);
	evbuffer_add_printf(b, "</section>\n");
	page_end(b, hr, page_index_js);
	page_send(hr, 200, b);
}
