/*
 * The protocol's run and task objects (SPEC sections 2 and 3), made from
 * run records and tasks: the one place they are built. The store returns
 * records; the control socket, the API and the page send these.
 */

#include <stdlib.h>

#include "microlightd.h"

/* A time member (ms): RFC 3339 UTC, or null for 0. */
json_t *
object_time(int64_t ms)
{
	char	 buf[TIME_RFC3339_LEN];

	if (ms == 0)
		return (json_null());
	time_rfc3339(ms, buf, sizeof buf);
	return (json_string(buf));
}

/* The run object of SPEC section 3. */
json_t *
object_run(const struct runrec *r)
{
	json_t	*o;

	o = json_object();
	json_object_set_new(o, K_ID, json_integer(r->id));
	json_object_set_new(o, K_TASK, json_string_lossy(r->task));
	json_object_set_new(o, K_STATUS,
	    json_string(proto_status_name(r->status)));
	json_object_set_new(o, K_TRIGGER,
	    json_string(proto_trigger_name(r->trigger)));
	json_object_set_new(o, K_TRIGGERED_BY,
	    json_string_lossy(r->triggered_by));
	json_object_set_new(o, K_PARAMS, r->params != NULL ?
	    json_incref(r->params) : json_object());
	json_object_set_new(o, K_ATTEMPT, json_integer(r->attempt));
	json_object_set_new(o, K_RETRY_OF, r->retry_of != 0 ?
	    json_integer(r->retry_of) : json_null());
	json_object_set_new(o, K_QUEUED_AT, object_time(r->queued_at));
	json_object_set_new(o, K_STARTED_AT, object_time(r->started_at));
	json_object_set_new(o, K_FINISHED_AT, object_time(r->finished_at));
	json_object_set_new(o, K_EXIT_CODE, r->exit_code >= 0 ?
	    json_integer(r->exit_code) : json_null());
	json_object_set_new(o, K_SIGNAL, r->signal != 0 ?
	    json_integer(r->signal) : json_null());
	json_object_set_new(o, K_REASON, object_string(r->reason));
	json_object_set_new(o, K_PRIORITY, json_integer(r->priority));
	json_object_set_new(o, K_OUTPUT_SIZE, json_integer(r->output_size));
	json_object_set_new(o, K_OUTPUT_DROPPED,
	    json_integer(r->output_dropped));
	json_object_set_new(o, K_SCHEDULED_FOR, object_time(r->not_before));
	json_object_set_new(o, K_RERUN_OF, r->rerun_of != 0 ?
	    json_integer(r->rerun_of) : json_null());
	json_object_set_new(o, K_CHAIN_OF, r->chain_of != 0 ?
	    json_integer(r->chain_of) : json_null());
	json_object_set_new(o, K_SCHEDULE, object_string(r->schedule));
	return (o);
}

/* Set a time member (ms) if it is not 0. */
static void
object_set_time(json_t *o, const char *key, int64_t ms)
{
	if (ms != 0)
		json_object_set_new(o, key, object_time(ms));
}

/*
 * The brief run object of a brief list (see object_task_brief): id,
 * status, and when it was queued and started (if it has).
 */
json_t *
object_run_brief(const struct runrec *r)
{
	json_t	*o;

	o = json_object();
	json_object_set_new(o, K_ID, json_integer(r->id));
	json_object_set_new(o, K_STATUS,
	    json_string(proto_status_name(r->status)));
	object_set_time(o, K_QUEUED_AT, r->queued_at);
	object_set_time(o, K_STARTED_AT, r->started_at);
	return (o);
}

/*
 * A task as a brief list gives it: what the task table shows and no
 * more, those members that would be null or empty left out -- name,
 * valid, error, schedules, next_run, last_run (brief, borrowed, may be
 * NULL), failing_since and overdue_since. A list of 200 full task objects
 * is about 100 KB of JSON to make and to parse; this is a fifth of that.
 */
json_t *
object_task_brief(const struct task *t, json_t *last_run, int64_t next_run,
    int64_t failing, int64_t overdue)
{
	json_t	*o, *a;
	u_int	 i;

	o = json_object();
	json_object_set_new(o, K_NAME, json_string_lossy(t->name));
	json_object_set_new(o, K_VALID, json_boolean(task_valid(t)));
	if (t->nerrors > 0)
		json_object_set_new(o, K_ERROR, object_string(t->errors[0]));
	if (t->def != NULL && t->def->nschedules > 0) {
		a = json_array();
		for (i = 0; i < t->def->nschedules; i++)
			json_array_append_new(a,
			    json_string(t->def->schedules[i].expr));
		json_object_set_new(o, K_SCHEDULES, a);
	}
	object_set_time(o, K_NEXT_RUN, next_run);
	if (last_run != NULL)
		json_object_set(o, K_LAST_RUN, last_run);
	object_set_time(o, K_FAILING_SINCE, failing);
	object_set_time(o, K_OVERDUE_SINCE, overdue);
	return (o);
}

/* A string member (made valid UTF-8) or JSON null. */
json_t *
object_string(const char *s)
{
	if (s == NULL)
		return (json_null());
	return (json_string_lossy(s));
}

/* The parameters of a task as JSON objects. */
json_t *
object_params(const struct taskdef *def)
{
	const struct taskparam	*tp;
	json_t			*a, *p, *choices;
	u_int			 i, j;

	a = json_array();
	for (i = 0; i < def->nparams; i++) {
		tp = &def->params[i];
		p = json_object();
		json_object_set_new(p, K_NAME, json_string(tp->name));
		json_object_set_new(p, K_TYPE,
		    json_string(taskparam_type_name(tp->type)));
		json_object_set_new(p, K_LABEL,
		    object_string(tp->label));
		json_object_set_new(p, K_DEFAULT,
		    object_string(tp->def));
		json_object_set_new(p, K_REQUIRED, json_boolean(tp->required));
		if (tp->type == PARAM_CHOICE) {
			choices = json_array();
			for (j = 0; j < tp->nchoices; j++)
				json_array_append_new(choices,
				    json_string(tp->choices[j]));
			json_object_set_new(p, K_CHOICES, choices);
		}
		json_array_append_new(a, p);
	}
	return (a);
}

/*
 * A task as the protocol's task object; last_run (borrowed, may be NULL)
 * is the task's latest run object, next_run when it runs next (ms, 0:
 * not known; see ops_next_run).
 */
json_t *
object_task(const struct task *t, json_t *last_run, int64_t next_run)
{
	const struct taskdef	*def = t->def;
	json_t			*o, *a, *sparams, *nexts;
	u_int			 i;
	int64_t			 next;
	char			*workdir;

	o = json_object();
	json_object_set_new(o, K_NAME, json_string_lossy(t->name));
	json_object_set_new(o, K_FILE, json_string_lossy(t->file));
	json_object_set_new(o, K_PATH, json_string_lossy(t->path));
	json_object_set_new(o, K_VALID, json_boolean(task_valid(t)));
	a = json_array();
	for (i = 0; i < t->nerrors; i++)
		json_array_append_new(a, object_string(t->errors[i]));
	json_object_set_new(o, K_ERRORS, a);
	json_object_set_new(o, K_ERROR, object_string(t->nerrors > 0 ?
	    t->errors[0] : NULL));
	json_object_set_new(o, K_LAST_RUN, last_run != NULL ?
	    json_incref(last_run) : json_null());
	json_object_set_new(o, K_NEXT_RUN, object_time(next_run));
	if (def == NULL)
		return (o);

	json_object_set_new(o, K_DESCRIPTION,
	    object_string(def->description));
	a = json_array();
	sparams = json_array();
	nexts = json_array();
	for (i = 0; i < def->nschedules; i++) {
		json_array_append_new(a, json_string(def->schedules[i].expr));
		json_array_append_new(sparams, def->schedules[i].params !=
		    NULL ? json_deep_copy(def->schedules[i].params) :
		    json_object());
		next = task_valid(t) ? sched_next(t->name,
		    def->schedules[i].expr) : -1;
		json_array_append_new(nexts, object_time(next == -1 ? 0 :
		    next * 1000));
	}
	json_object_set_new(o, K_SCHEDULES, a);
	json_object_set_new(o, K_SCHEDULE_PARAMS, sparams);
	json_object_set_new(o, K_NEXT_RUNS, nexts);
	json_object_set_new(o, K_TIMEZONE, object_string(def->timezone));
	json_object_set_new(o, K_TIMEOUT, json_integer(task_timeout(t)));
	json_object_set_new(o, K_PARAMS, object_params(def));
	json_object_set_new(o, K_CONCURRENCY, json_integer(def->concurrency));
	json_object_set_new(o, K_OVERLAP, json_string(def->overlap ==
	    OVERLAP_SKIP ? "skip" : "queue"));
	json_object_set_new(o, K_RETRIES, json_integer(def->retries));
	json_object_set_new(o, K_RETRY_DELAY, json_integer(def->retry_delay));
	json_object_set_new(o, K_WEBHOOK, json_boolean(def->webhook));
	json_object_set_new(o, K_ON_FAILURE,
	    object_string(def->on_failure));
	json_object_set_new(o, K_ON_SUCCESS,
	    object_string(def->on_success));
	json_object_set_new(o, K_USER, object_string(def->user));
	workdir = task_workdir(t);
	json_object_set_new(o, K_WORKDIR, object_string(workdir));
	free(workdir);
	a = json_array();
	for (i = 0; i < def->nenv; i++)
		json_array_append_new(a, object_string(def->env[i]));
	json_object_set_new(o, K_ENV, a);
	json_object_set_new(o, K_PRIORITY, json_integer(def->priority));
	json_object_set_new(o, K_CATCHUP, json_boolean(def->catchup));
	json_object_set_new(o, K_CONFIRM, json_boolean(def->confirm));
	json_object_set_new(o, K_GROUP, object_string(def->group));
	json_object_set_new(o, K_TITLE, object_string(def->title));
	return (o);
}

/*
 * The token object of microlightctl(1), never with a secret: name,
 * creator, tasks (null: every task), created_at, expires_at and
 * last_used_at (null: never), and whether it has expired.
 */
json_t *
object_token(const struct token *tok)
{
	json_t	*o, *tasks;
	u_int	 i;

	if (tok->ntasks > 0) {
		tasks = json_array();
		for (i = 0; i < tok->ntasks; i++)
			json_array_append_new(tasks,
			    json_string_lossy(tok->tasks[i]));
	} else
		tasks = json_null();
	o = json_object();
	json_object_set_new(o, K_NAME, json_string_lossy(tok->name));
	json_object_set_new(o, K_CREATOR, json_string_lossy(tok->creator));
	json_object_set_new(o, K_TASKS, tasks);
	json_object_set_new(o, K_CREATED_AT, object_time(tok->created_at));
	json_object_set_new(o, K_EXPIRES_AT, object_time(tok->expires_at));
	json_object_set_new(o, K_LAST_USED_AT,
	    object_time(tok->last_used_at));
	json_object_set_new(o, K_EXPIRED, json_boolean(tok->expires_at != 0 &&
	    time_now_ms() >= tok->expires_at));
	return (o);
}
