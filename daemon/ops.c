/* The operations every front end shares: control socket, API, page, hooks. */

#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"

/* Fail with a code and a message; returns -1. */
int
ops_fail(struct ops_error *err, const char *code, const char *fmt, ...)
{
	va_list	 ap;

	err->code = code;
	err->problems = NULL;
	va_start(ap, fmt);
	xvasprintf(&err->message, fmt, ap);
	va_end(ap);
	return (-1);
}

/* Forget an error's message (the error may be used again). */
void
ops_error_clear(struct ops_error *err)
{
	free(err->message);
	err->message = NULL;
	err->code = NULL;
	json_decref(err->problems);
	err->problems = NULL;
}

/*
 * An error as a protocol error reply, with its problems if it has them;
 * the error is cleared.
 */
json_t *
ops_error_reply(struct ops_error *err)
{
	json_t	*reply;

	reply = proto_error(err->code, "%s", err->message);
	if (err->problems != NULL)
		json_object_set(json_object_get(reply, K_ERROR), K_PROBLEMS,
		    err->problems);
	ops_error_clear(err);
	return (reply);
}

/*
 * The tasks as a request sees them: a change already made to tasks.d (its
 * inotify event unread, or the quiet time running) is taken first, so that
 * a task written just before the request is there. Every front end reads
 * tasks through these two.
 */
struct taskset *
ops_tasks(void)
{
	watch_flush();
	return (tasks_current());
}

/*
 * A task by name, as a request of w sees it (see ops_tasks), or NULL: it
 * is not there, or w may not see it (the same for w).
 */
struct task *
ops_task(const struct who *w, const char *name)
{
	struct task	*t;

	watch_flush();
	if ((t = task_find(name)) == NULL || !access_task(w, t, t->name))
		return (NULL);
	return (t);
}

/*
 * "no task named 'X'", with the name of a task w may see that it is most
 * likely a typo of ("restrat-redis": did you mean 'restart-redis'?).
 * Returns -1, as ops_fail.
 */
int
ops_no_task(const struct who *w, const char *name, struct ops_error *err)
{
	struct task	*t;
	const char	**names = NULL, *near;
	size_t		 n = 0;
	int		 rc;

	RB_FOREACH(t, task_tree, &ops_tasks()->tree) {
		if (!access_task(w, t, t->name))
			continue;
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = t->name;
	}
	if ((near = suggest(name, names, n)) != NULL)
		rc = ops_fail(err, E_UNKNOWN_TASK, "no task named '%s'; did "
		    "you mean '%s'?", name, near);
	else
		rc = ops_fail(err, E_UNKNOWN_TASK, "no task named '%s'", name);
	free(names);
	return (rc);
}

/* ping: the daemon's version, uptime and load, set in reply. */
void
ops_ping(json_t *reply)
{
	char	 started[TIME_RFC3339_LEN];

	time_rfc3339(ml_started, started, sizeof started);
	json_object_set_new(reply, K_VERSION, json_string(PACKAGE_VERSION));
	json_object_set_new(reply, K_PROTOCOL, json_integer(ML_PROTO_VERSION));
	json_object_set_new(reply, K_PID, json_integer(getpid()));
	json_object_set_new(reply, K_STARTED_AT, json_string(started));
	json_object_set_new(reply, K_UPTIME,
	    json_integer((time_now_ms() - ml_started) / 1000));
	json_object_set_new(reply, K_RUNNING,
	    json_integer(run_active_count()));
	json_object_set_new(reply, K_QUEUED, json_integer(queue_length()));
	json_object_set_new(reply, K_TASKS,
	    json_integer(ops_tasks()->ntasks));
}

/* Append a run's object to an array (a db_run_cb). */
static void
ops_append_run(const struct runrec *r, void *arg)
{
	json_array_append_new(arg, object_run(r));
}

/*
 * The latest run of a task that has ended, as a run object, or NULL (none,
 * or an error).
 */
json_t *
ops_last_ended(const char *task)
{
	struct runrec	 r;
	json_t		*obj;

	if (db_last_ended(task, &r) != 0)
		return (NULL);
	obj = object_run(&r);
	runrec_clear(&r);
	return (obj);
}

/*
 * When a task runs next (ms), or 0: the sooner of its schedules' next
 * fire (a valid task's) and its soonest scheduled run.
 */
int64_t
ops_next_run(const struct task *t)
{
	int64_t	 next, first;
	u_int	 i;

	first = db_next_scheduled(t->name);
	for (i = 0; task_valid(t) && i < t->def->nschedules; i++) {
		next = sched_next(t->name, t->def->schedules[i].expr);
		if (next != -1 && (first == 0 || next * 1000 < first))
			first = next * 1000;
	}
	return (first);
}

/*
 * A task's object as w sees it: a task that follows it (@on-failure,
 * @on-success) and that w may not see is not named.
 */
static json_t *
ops_task_object(const struct who *w, const struct task *t, json_t *last,
    int64_t next)
{
	static const char *const keys[] = { K_ON_FAILURE, K_ON_SUCCESS };
	json_t		*o, *v;
	int64_t		 failing, overdue;
	u_int		 i;

	o = object_task(t, last, next);
	notice_state(t->name, &failing, &overdue);
	json_object_set_new(o, K_FAILING_SINCE, object_time(failing));
	json_object_set_new(o, K_OVERDUE_SINCE, object_time(overdue));
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		v = json_object_get(o, keys[i]);
		if (json_is_string(v) &&
		    !access_task_name(w, json_string_value(v)))
			json_object_set_new(o, keys[i], json_null());
	}
	return (o);
}

/*
 * list: every task w may see, valid or not, with its latest run, set in
 * reply; brief, only what the task table shows (object_task_brief).
 */
void
ops_list(const struct who *w, int brief, json_t *reply)
{
	struct task	*t;
	struct runrec	 r;
	json_t		*last, *tasks;
	int64_t		 failing, overdue;

	/*
	 * Each task's latest run and next scheduled run are kept by the
	 * store once read (db_last_run): a list reads nothing from the
	 * database, however many runs it holds.
	 */
	tasks = json_array();
	RB_FOREACH(t, task_tree, &ops_tasks()->tree) {
		if (!access_task(w, t, t->name))
			continue;
		last = NULL;
		if (db_last_run(t->name, &r) == 0) {
			last = brief ? object_run_brief(&r) : object_run(&r);
			runrec_clear(&r);
		}
		if (brief) {
			notice_state(t->name, &failing, &overdue);
			json_array_append_new(tasks, object_task_brief(t, last,
			    ops_next_run(t), failing, overdue));
		} else
			json_array_append_new(tasks, ops_task_object(w, t,
			    last, ops_next_run(t)));
		json_decref(last);
	}
	json_object_set_new(reply, K_TASKS, tasks);
}

/*
 * A task's line in a list a task at a time (EV_TASK with its brief
 * object), made again only when what it shows (key) changed: the task
 * itself never does, a reload makes new ones. r is its latest run or NULL.
 */
static void
ops_list_line(struct task *t, const struct task_line_key *key,
    const struct runrec *r)
{
	json_t	*last = NULL, *msg;

	if (t->line.text != NULL &&
	    memcmp(&t->line.key, key, sizeof *key) == 0)
		return;
	if (r != NULL)
		last = object_run_brief(r);
	msg = json_pack("{s:s,s:o}", K_EVENT, EV_TASK, K_TASK,
	    object_task_brief(t, last, key->next, key->failing,
	    key->overdue));
	json_decref(last);
	free(t->line.text);
	t->line.text = proto_encode(msg, &t->line.len);
	json_decref(msg);
	t->line.key = *key;
}

/*
 * list, brief, a task at a time (protocol 4's K_EACH): the line of each
 * task w may see, one after the other in one allocated text of *len
 * bytes. Each line is kept with its task (ops_list_line), so a list of
 * tasks that did not change since the last one makes no JSON.
 */
char *
ops_list_each(const struct who *w, size_t *len)
{
	struct task		*t;
	const struct runrec	*r;
	struct task_line_key	 key;
	char			*text = NULL;
	size_t			 size = 0;

	*len = 0;
	RB_FOREACH(t, task_tree, &ops_tasks()->tree) {
		if (!access_task(w, t, t->name))
			continue;
		memset(&key, 0, sizeof key);
		key.next = ops_next_run(t);
		notice_state(t->name, &key.failing, &key.overdue);
		/* Last: r is valid until the next call into the store. */
		switch (db_last_run_ref(t->name, &r)) {
		case 0:
			key.last_id = r->id;
			key.last_status = r->status;
			key.last_queued = r->queued_at;
			key.last_started = r->started_at;
			break;
		case -1:
			key.last_id = -1;
			/* FALLTHROUGH */
		default:
			r = NULL;
		}
		ops_list_line(t, &key, r);
		if (*len + t->line.len > size) {
			size = (*len + t->line.len) * 2;
			text = xreallocarray(text, 1, size);
		}
		memcpy(text + *len, t->line.text, t->line.len);
		*len += t->line.len;
	}
	return (text);
}

/*
 * show: one task, its latest limit runs and its soonest OPS_SHOW_SCHEDULED
 * scheduled runs, set in reply.
 */
int
ops_show(const struct who *w, const char *name, int64_t limit, json_t *reply,
    struct ops_error *err)
{
	struct task	*t;
	json_t		*runs, *last, *scheduled;

	if ((t = ops_task(w, name)) == NULL)
		return (ops_no_task(w, name, err));
	if (limit < 1 || limit > OPS_MAX_LIMIT)
		return (ops_fail(err, E_USAGE, "\"limit\" is 1 to %d",
		    OPS_MAX_LIMIT));
	runs = json_array();
	db_runs_query(t->name, NULL, -1, 0, (int)limit, ops_append_run, runs);
	last = json_array_get(runs, 0);
	json_object_set_new(reply, K_TASK, ops_task_object(w, t, last,
	    ops_next_run(t)));
	json_object_set_new(reply, K_RUNS, runs);
	scheduled = json_array();
	db_runs_query(t->name, NULL, RUN_SCHEDULED, 0, OPS_SHOW_SCHEDULED,
	    ops_append_run, scheduled);
	json_object_set_new(reply, K_SCHEDULED, scheduled);
	return (0);
}

/*
 * Find a run wherever it is: running, queued, waiting to be recorded, or
 * only in the database. Returns the live run in *rp (or NULL; rp may be
 * NULL) and its object in *objp (the caller's). A run of a task w may not
 * see is no run for w.
 */
int
ops_find_run(const struct who *w, int64_t id, struct run **rp,
    json_t **objp, struct ops_error *err)
{
	struct runrec	 rec;
	int		 rc, was;

	if (rp != NULL)
		*rp = NULL;
	*objp = NULL;
	if ((rc = runs_load(id, &rec)) == 0) {
		if (!access_task_name(w, rec.task)) {
			runrec_clear(&rec);
			return (ops_fail(err, E_UNKNOWN_RUN, "no run %lld",
			    (long long)id));
		}
		if (rp != NULL)
			*rp = runs_lookup(id);
		*objp = object_run(&rec);
		runrec_clear(&rec);
		return (0);
	} else if (rc == -1)
		return (ops_fail(err, E_INTERNAL, "cannot read run %lld (see "
		    "the daemon's log)", (long long)id));
	if (db_pruned(NULL, id, NULL, &was) == 0 && was)
		return (ops_fail(err, E_UNKNOWN_RUN, "run %lld was pruned: "
		    "runs are kept for keep-days (%d) and up to keep-runs (%d) "
		    "per task", (long long)id, ml_conf->keep_days,
		    ml_conf->keep_runs));
	return (ops_fail(err, E_UNKNOWN_RUN, "no run %lld", (long long)id));
}

#define OPS_AHEAD_MAX	(10LL * 366 * 86400 * 1000)	/* a future run */

/*
 * A run's time from at (a time: RFC 3339 with an offset, or @SECONDS) or
 * in (a delay), either NULL: in *when, ms, 0 for now. A time that has
 * passed, or more than ten years ahead, is refused. (The page asks too,
 * to show the problem next to its field.)
 */
int
ops_when(const char *at, const char *in, int64_t *when,
    struct ops_error *err)
{
	const char	*errstr;
	int64_t		 now = time_now_ms(), delay;

	*when = 0;
	if (at != NULL && in != NULL)
		return (ops_fail(err, E_USAGE, "a run is asked for at a time "
		    "or in a delay, not both"));
	if (in != NULL) {
		if (duration_parse(in, &delay, &errstr) != 0)
			return (ops_fail(err, E_USAGE, "in %s: %s", in,
			    errstr));
		*when = now + delay * 1000;
	} else if (at != NULL) {
		if (time_parse_when(at, when) != 0)
			return (ops_fail(err, E_USAGE, "at %s: not a time "
			    "(ISO 8601 with an offset, 2026-12-24T22:00:00+01:00, "
			    "or @SECONDS)", at));
		if (*when < now)
			return (ops_fail(err, E_USAGE, "at %s: that time has "
			    "passed", at));
	}
	if (*when > now + OPS_AHEAD_MAX)
		return (ops_fail(err, E_USAGE, "%s %s: more than ten years "
		    "ahead", at != NULL ? "at" : "in", at != NULL ? at : in));
	return (0);
}

/*
 * Make the run of a request of w (see runs_submit); its object is set in
 * reply. Returns the run's id, or -1. A task w may not see is no task.
 */
static int64_t
ops_submit(const struct who *w, const struct run_request *req,
    json_t *reply, struct ops_error *err)
{
	struct run_request	 r = *req;
	json_t			*obj = NULL;
	int64_t			 id;

	if (!access_task_name(w, req->task) ||
	    (req->as == NULL && ops_task(w, req->task) == NULL))
		return (ops_no_task(w, req->task, err));
	r.by = w->by;

	/*
	 * A run for later is as it was made (and read back, it would end a
	 * batch of writes); any other may have ended already (skipped, could
	 * not start): by id.
	 */
	r.object = &obj;
	if ((id = runs_submit(&r, err)) == -1)
		return (-1);
	if (obj == NULL && ops_find_run(w, id, NULL, &obj, err) != 0)
		return (-1);
	json_object_set_new(reply, K_RUN, obj);
	return (id);
}

/*
 * run: a run of a task with params (borrowed, NULL for none) and input
 * (bytes for its stdin, a webhook's body; NULL: none) and headers (a
 * webhook's HTTP_ variables, borrowed; NULL: none), now or later (at a
 * time, or in a delay; both NULL: now), its object set in reply. Returns
 * the run's id, or -1.
 */
int64_t
ops_run(const struct who *w, const char *name, json_t *params,
    enum run_trigger trigger, const void *input, size_t len, json_t *headers,
    const char *at, const char *in, json_t *reply, struct ops_error *err)
{
	struct run_request	 req;

	watch_flush();		/* see ops_tasks */
	memset(&req, 0, sizeof req);
	if (ops_when(at, in, &req.not_before, err) != 0)
		return (-1);
	req.task = name;
	req.trigger = trigger;
	req.params = params;
	req.input = input;
	req.input_len = len;
	req.headers = headers;
	return (ops_submit(w, &req, reply, err));
}

/*
 * rerun: a new run of run id's task with its parameters, those given
 * (borrowed, NULL for none) replacing theirs, checked against the task as
 * it is now; its rerun_of is id. If task is not NULL, id must be a run of
 * that task (a form of its page). Now or later, as ops_run. The new run's
 * object is set in reply. Returns its id, or -1.
 */
int64_t
ops_rerun(const struct who *w, int64_t id, json_t *given, const char *task,
    enum run_trigger trigger, const char *at, const char *in, json_t *reply,
    struct ops_error *err)
{
	struct run_request	 req;
	json_t			*old, *params;
	const char		*name;
	int64_t			 rid;

	if (given != NULL && !json_is_object(given))
		return (ops_fail(err, E_BAD_PARAMS, "parameters must be an "
		    "object of NAME: VALUE"));
	watch_flush();		/* see ops_tasks */
	if (ops_find_run(w, id, NULL, &old, err) != 0)
		return (-1);
	name = json_string_value(json_object_get(old, K_TASK));
	if (name == NULL || (task != NULL && strcmp(name, task) != 0)) {
		ops_fail(err, E_UNKNOWN_RUN, "run %lld is not a run of %s",
		    (long long)id, task != NULL ? task : "a task");
		json_decref(old);
		return (-1);
	}
	params = json_deep_copy(json_object_get(old, K_PARAMS));
	if (!json_is_object(params)) {
		json_decref(params);
		params = json_object();
	}
	if (given != NULL)
		json_object_update(params, given);
	memset(&req, 0, sizeof req);
	if (ops_when(at, in, &req.not_before, err) != 0) {
		json_decref(params);
		json_decref(old);
		return (-1);
	}
	req.task = name;
	req.trigger = trigger;
	req.params = params;
	req.rerun_of = id;
	rid = ops_submit(w, &req, reply, err);
	json_decref(params);
	json_decref(old);
	return (rid);
}

/* status: one run's object, set in reply. */
int
ops_status(const struct who *w, int64_t id, json_t *reply,
    struct ops_error *err)
{
	json_t	*obj;

	if (ops_find_run(w, id, NULL, &obj, err) != 0)
		return (-1);
	json_object_set_new(reply, K_RUN, obj);
	return (0);
}

/*
 * cancel: a queued run ends now, a running one is told to stop, "cancelled
 * by who"; the run's object afterwards is set in reply.
 */
int
ops_cancel(const struct who *w, int64_t id, json_t *reply,
    struct ops_error *err)
{
	json_t		*obj;
	int64_t		 first, waiting;
	char		*reason;
	int		 rc;

	if (ops_find_run(w, id, NULL, &obj, err) != 0)
		return (-1);
	if (proto_status_final(proto_run_status(obj))) {
		/*
		 * An ended run whose retry waits: cancelling the run stops
		 * its retries, so the waiting attempt is what is cancelled.
		 */
		first = json_integer_value(json_object_get(obj, K_RETRY_OF));
		if ((waiting = runs_retry_waiting(first != 0 ? first :
		    id)) == 0) {
			ops_fail(err, E_NOT_ACTIVE, "run %lld has already "
			    "ended (%s)", (long long)id,
			    json_string_value(json_object_get(obj, K_STATUS)));
			json_decref(obj);
			return (-1);
		}
		id = waiting;
	}
	json_decref(obj);
	xasprintf(&reason, "cancelled by %s", w->by);
	rc = runs_cancel(id, reason);
	free(reason);
	if (rc != 0)
		return (ops_fail(err, E_NOT_ACTIVE, "run %lld has already "
		    "ended", (long long)id));
	return (ops_status(w, id, reply, err));
}

/*
 * runs: history, newest first, of one task or all (task NULL), of one
 * status or all (sname NULL), before a run id (0: from the newest); set in
 * reply with what pruning removed and keeps.
 */
int
ops_runs(const struct who *w, const char *task, const char *sname,
    int64_t before, int64_t limit, json_t *reply, struct ops_error *err)
{
	struct runrec	 r;
	int64_t		 pruned;
	int		 status = -1, rc;
	json_t		*runs, *only;

	if (sname != NULL && (status = proto_status_from(sname)) == -1)
		return (ops_fail(err, E_USAGE, "unknown status '%s'", sname));
	/*
	 * Runs of no task: an error, as for show and run. An administrator
	 * may still list those of a task that is gone (its file removed).
	 */
	if (task != NULL && ops_task(w, task) == NULL) {
		if (!access_admin(w) || db_last_run(task, &r) != 0)
			return (ops_no_task(w, task, err));
		runrec_clear(&r);
	}
	if (limit < 1 || limit > OPS_MAX_LIMIT)
		return (ops_fail(err, E_USAGE, "\"limit\" is 1 to %d",
		    OPS_MAX_LIMIT));
	runs = json_array();
	watch_flush();		/* see ops_tasks */
	only = access_visible(w);
	rc = db_runs_query(task, only, status, before, (int)limit,
	    ops_append_run, runs);
	json_decref(only);
	if (rc != 0) {
		json_decref(runs);
		return (ops_fail(err, E_INTERNAL, "cannot read the runs (see "
		    "the daemon's log)"));
	}
	json_object_set_new(reply, K_RUNS, runs);
	/* What was pruned: of the tasks w sees (all of them, or the one). */
	if ((only == NULL || (task != NULL && access_task_name(w, task))) &&
	    db_pruned(task, 0, &pruned, NULL) == 0)
		json_object_set_new(reply, K_PRUNED, json_integer(pruned));
	json_object_set_new(reply, K_KEEP_RUNS,
	    json_integer(ml_conf->keep_runs));
	json_object_set_new(reply, K_KEEP_DAYS,
	    json_integer(ml_conf->keep_days));
	return (0);
}

/* reload: config and tasks.d, like SIGHUP; the counts set in reply. */
int
ops_reload(json_t *reply, struct ops_error *err)
{
	char	*cause;

	if (daemon_reload(&cause) != 0) {
		ops_fail(err, E_RELOAD, "%s", cause);
		free(cause);
		return (-1);
	}
	json_object_set_new(reply, K_TASKS,
	    json_integer(tasks_current()->ntasks));
	json_object_set_new(reply, K_INVALID,
	    json_integer(tasks_current()->ninvalid));
	return (0);
}
