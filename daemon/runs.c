/*
 * The life of a run, owned in one place: every run comes in through
 * runs_submit (the user's, a schedule's, a retry, a chain link, even one
 * that is skipped), goes out through runs_end (whatever ended it), and is
 * found with runs_lookup (queued or running) or runs_load (anywhere).
 * What a trigger may do differs only in the table below; what follows a
 * run's end is listed once, in runs_end.
 */

#include <stdlib.h>
#include <string.h>

#include "microlightd.h"
#include "params.h"

/* What a trigger's run does when max-queued runs wait already. */
enum runs_busy {
	BUSY_REFUSE,	/* a user's: refused, "try again later" */
	BUSY_SKIP,	/* an automatic one: recorded as skipped, with why */
	BUSY_ALLOW,	/* a retry: its run was let in already */
};

/* The rules of a trigger: the only place where triggers differ. */
static const struct runs_rule {
	enum runs_busy	 busy;
	int		 overlap;	/* @overlap skip applies */
	int		 checked;	/* params come checked (a retry's) */
} runs_rules[TRIGGER_N] = {
	[TRIGGER_CLI] =		{ BUSY_REFUSE,	1, 0 },
	[TRIGGER_WEB] =		{ BUSY_REFUSE,	1, 0 },
	[TRIGGER_API] =		{ BUSY_REFUSE,	1, 0 },
	[TRIGGER_WEBHOOK] =	{ BUSY_REFUSE,	1, 0 },
	[TRIGGER_SCHEDULE] =	{ BUSY_SKIP,	1, 0 },
	[TRIGGER_RETRY] =	{ BUSY_ALLOW,	0, 1 },
	[TRIGGER_CHAIN] =	{ BUSY_SKIP,	1, 0 },
};

/* The live runs (queued or running) by id: the one index of them. */
RB_HEAD(runs_ids, run);
RB_PROTOTYPE(runs_ids, run, idnode, runs_id_cmp);
static struct runs_ids	 runs_by_id = RB_INITIALIZER(&runs_by_id);

static int		 runs_kicking;
static int		 runs_again;
static struct event	*ev_wake;

/* Order of the index: by id. */
static int
runs_id_cmp(struct run *a, struct run *b)
{
	return (a->rec.id < b->rec.id ? -1 : a->rec.id > b->rec.id);
}
RB_GENERATE(runs_ids, run, idnode, runs_id_cmp);

/* A live run (queued or running) by id, or NULL. */
struct run *
runs_lookup(int64_t id)
{
	struct run	 key;

	key.rec.id = id;
	return (RB_FIND(runs_ids, &runs_by_id, &key));
}

/*
 * A copy of any run's record, the caller's to clear: a live run's, else a
 * record the database refused and is kept, else the database's. Returns
 * 0, 1 if there is no such run, -1 if the database failed.
 */
int
runs_load(int64_t id, struct runrec *rec)
{
	const struct runrec	*kept;
	struct run		*r;

	if ((r = runs_lookup(id)) != NULL) {
		runrec_copy(rec, &r->rec);
		return (0);
	}
	if ((kept = record_pending(id)) != NULL) {
		runrec_copy(rec, kept);
		return (0);
	}
	if (id <= 0)
		return (1);
	return (db_run_load(id, rec));
}

/* Take a run into the index (it has its id). */
static void
runs_index(struct run *r)
{
	RB_INSERT(runs_ids, &runs_by_id, r);
	r->flags |= RUN_INDEXED;
}

/* A new run of a request, queued, taking params over. */
static struct run *
runs_new(const struct run_request *req, struct task *t, json_t *params)
{
	struct run	*r;

	r = run_create(req->task, t != NULL && t->def != NULL ?
	    t->def->priority : 0, req->trigger, req->by, params);
	if (req->input != NULL) {
		r->input = xmalloc(req->input_len + 1);
		memcpy(r->input, req->input, req->input_len);
		r->input_len = req->input_len;
	}
	if (req->schedule != NULL)
		r->rec.schedule = xstrdup(req->schedule);
	if (req->chain_tasks != NULL)
		r->rec.chain_tasks = xstrdup(req->chain_tasks);
	if (req->attempt > 0)
		r->rec.attempt = req->attempt;
	r->rec.retry_of = req->retry_of;
	r->rec.chain_of = req->chain_of;
	r->rec.not_before = req->not_before;
	return (r);
}

/*
 * Record a new run, with its stdin if it has one, in one transaction: the
 * one place a run record is inserted.
 */
static int
runs_insert(struct run *r)
{
	int	 txn = r->input != NULL;

	if ((!txn || db_begin() == 0) && db_run_insert(&r->rec) == 0 &&
	    (!txn || (db_run_input_put(r->rec.id, r->input,
	    r->input_len) == 0 && db_commit() == 0)))
		return (0);
	if (txn)
		db_rollback();
	return (-1);
}

/* The run could not be recorded: it is freed, -1. */
static int64_t
runs_unrecorded(struct run *r, struct ops_error *err)
{
	run_free(r);
	return (ops_fail(err, E_INTERNAL, "the run could not be recorded "
	    "(see the daemon's log)"));
}

/* A run that will not wait: recorded as skipped, with why (taken over). */
static int64_t
runs_skip(struct run *r, char *reason, struct ops_error *err)
{
	int64_t	 id;

	r->rec.status = RUN_SKIPPED;
	r->rec.finished_at = r->rec.queued_at;
	r->rec.reason = reason;
	if (runs_insert(r) != 0)
		return (runs_unrecorded(r, err));
	r->flags |= RUN_RECORDED;
	id = r->rec.id;
	runs_end(r);
	run_free(r);
	return (id);
}

/* Whether any run may start now: a free slot, a supervisor at hand. */
static int
runs_slot_free(void)
{
	return (!ml_shutting_down && spare_ready() &&
	    run_active_count() < (u_int)ml_conf->max_running);
}

/*
 * Start a run taken from the queue (or never queued), with its task as it
 * is now: if the task file changed since tasks.d was read, it is read
 * again first. A run that cannot start ends at once.
 */
static void
runs_start(struct run *r)
{
	struct task	*t;
	const char	*why;

	if ((t = task_find(r->rec.task)) != NULL && task_valid(t) &&
	    (why = task_recheck(t)) != NULL) {
		log_info("%s[%lld]: %s: reloading", r->rec.task,
		    (long long)r->rec.id, why);
		tasks_reload();
		t = task_find(r->rec.task);
	}
	run_start(r, t);
}

/*
 * Record a new run and queue it; it starts at once if it may (and is then
 * recorded as running: one write instead of two). Returns its id; the run
 * may have ended already.
 */
static int64_t
runs_queue(struct run *r, struct ops_error *err)
{
	int64_t	 later = 0, id;
	int	 now;

	now = runs_slot_free() && queue_may_start(r, time_now_ms(), &later);
	if (now) {
		r->rec.status = RUN_RUNNING;
		r->rec.started_at = time_now_ms();
	}
	if (runs_insert(r) != 0)
		return (runs_unrecorded(r, err));
	id = r->rec.id;
	runs_index(r);
	if (now) {
		runs_start(r);
		return (id);
	}
	log_debug("%s[%lld]: queued by %s", r->rec.task, (long long)id,
	    r->rec.triggered_by);
	queue_insert(r);
	runs_kick();
	return (id);
}

/*
 * The one way in. A request for a run is checked (its task, its
 * parameters, the queue's room) and refused with err, or made: recorded
 * as skipped (it asked to be, its task is busy and says @overlap skip, or
 * an automatic run finds max-queued runs waiting), or queued, or started.
 * Returns the run's id; the run may have ended already.
 */
int64_t
runs_submit(const struct run_request *req, struct ops_error *err)
{
	const struct runs_rule	*rule = &runs_rules[req->trigger];
	struct task		*t;
	json_t			*params;
	char			*cause, *reason;
	u_int			 busy;
	int			 full;

	if (req->skip != NULL)
		return (runs_skip(runs_new(req, NULL, json_object()),
		    xstrdup(req->skip), err));

	t = req->as != NULL ? req->as : task_find(req->task);
	if (t == NULL)
		return (ops_fail(err, E_UNKNOWN_TASK, "no task named '%s'",
		    req->task));
	if (rule->checked)
		params = json_deep_copy(req->params);
	else if (!task_valid(t))
		return (ops_fail(err, E_INVALID_TASK, "task '%s' is invalid: "
		    "%s", req->task, t->nerrors > 0 ? t->errors[0] :
		    "unreadable"));
	else if ((params = params_check(t->def, req->params, 0,
	    &cause)) == NULL) {
		ops_fail(err, E_BAD_PARAMS, "%s", cause);
		free(cause);
		return (-1);
	}
	full = queue_length() >= (u_int)ml_conf->max_queued;
	if (full && rule->busy == BUSY_REFUSE) {
		json_decref(params);
		return (ops_fail(err, E_BUSY, "%u runs are waiting for a "
		    "slot already (max-queued): try again later",
		    queue_length()));
	}
	if (rule->overlap && t->def->overlap == OVERLAP_SKIP) {
		busy = run_task_count(t->name) + queue_count_task(t->name);
		if (busy >= (u_int)t->def->concurrency) {
			xasprintf(&reason, "%s has %u run%s in progress "
			    "(@concurrency %d, @overlap skip)", t->name, busy,
			    busy == 1 ? "" : "s", t->def->concurrency);
			return (runs_skip(runs_new(req, t, params), reason,
			    err));
		}
	}
	if (full && rule->busy == BUSY_SKIP) {
		xasprintf(&reason, "%u runs wait for a slot already "
		    "(max-queued)", queue_length());
		return (runs_skip(runs_new(req, t, params), reason, err));
	}
	return (runs_queue(runs_new(req, t, params), err));
}

/*
 * The one way out: r has ended (ran and exited, timed out, was cancelled
 * while running or queued, was lost, could not start, was skipped) and its
 * status and reason are final. Every end goes through here: the record
 * (unless the caller wrote it with the run's output), the log line, the
 * metrics, the followers, what follows it (retry, chain), the queue. The
 * run is the caller's still.
 */
void
runs_end(struct run *r)
{
	if ((r->flags & RUN_RECORDED) == 0) {
		record_write(&r->rec, NULL);
		r->flags |= RUN_RECORDED;
	}
	log_info("%s[%lld]: %s%s%s", r->rec.task, (long long)r->rec.id,
	    proto_status_name(r->rec.status), r->rec.reason != NULL ? ": " :
	    "", r->rec.reason != NULL ? r->rec.reason : "");
	metrics_run_ended(&r->rec);
	if (r->flags & RUN_INDEXED) {
		RB_REMOVE(runs_ids, &runs_by_id, r);
		r->flags &= ~RUN_INDEXED;
	}
	follow_run_ended(r);
	policy_run_ended(r);
	runs_kick();
}

/*
 * Cancel a live run, "reason": a queued one ends now, a running one is
 * told to stop and ends when it has.
 */
void
runs_cancel(struct run *r, const char *reason)
{
	if (r->rec.status != RUN_QUEUED) {
		run_kill(r, RUN_CANCELLED, reason);
		return;
	}
	queue_remove(r);
	r->rec.status = RUN_CANCELLED;
	r->rec.finished_at = time_now_ms();
	free(r->rec.reason);
	r->rec.reason = xstrdup(reason);
	runs_end(r);
	run_free(r);
}

/* The first queued run's time has come. */
static void
runs_wake_cb(int fd, short events, void *arg)
{
	runs_kick();
}

/*
 * Start the runs that may start, best first. A run that ends at once (its
 * task is gone) frees its slot and calls back in here: that call only asks
 * the loop below to go round again. The scan starts over after each start,
 * since a start can change what may start next (and retries and chains
 * may have joined the queue meanwhile).
 */
void
runs_kick(void)
{
	struct run	*r;
	struct timeval	 tv;
	int64_t		 later, wait;

	if (runs_kicking) {
		runs_again = 1;
		return;
	}
	runs_kicking = 1;
	do {
		runs_again = 0;
		later = 0;
		r = NULL;
		if (runs_slot_free() &&
		    (r = queue_next(time_now_ms(), &later)) != NULL) {
			runs_start(r);
			runs_again = 1;
		}
	} while (runs_again);
	runs_kicking = 0;

	/* Come back when the first delayed run may go. */
	if (ev_wake == NULL)
		ev_wake = evtimer_new(ml_base, runs_wake_cb, NULL);
	evtimer_del(ev_wake);
	if (later != 0 && !ml_shutting_down) {
		wait = later - time_now_ms();
		if (wait < 0)
			wait = 0;
		tv.tv_sec = wait / 1000;
		tv.tv_usec = (wait % 1000) * 1000 + 1000;
		evtimer_add(ev_wake, &tv);
	}
}

/* Take a run left running by the last daemon, to be marked lost. */
static void
runs_recover_one(struct runrec *rec, void *arg)
{
	struct runs	*lost = arg;
	struct run	*r;

	r = run_from_record(rec);
	free(rec);
	TAILQ_INSERT_TAIL(lost, r, entry);
}

/*
 * At start: the runs that were running when the daemon stopped end as
 * lost, each through runs_end (read first, then ended: no update while
 * the rows are being read).
 */
int
runs_recover(void)
{
	struct runs	 lost = TAILQ_HEAD_INITIALIZER(lost);
	struct run	*r;
	u_int		 n = 0;
	int		 rc;

	rc = db_runs_in(RUN_RUNNING, runs_recover_one, &lost);
	while ((r = TAILQ_FIRST(&lost)) != NULL) {
		TAILQ_REMOVE(&lost, r, entry);
		r->rec.status = RUN_LOST;
		r->rec.finished_at = time_now_ms();
		free(r->rec.reason);
		r->rec.reason = xstrdup("the daemon stopped while it ran");
		runs_end(r);
		run_free(r);
		n++;
	}
	if (n > 0)
		log_warnx("%u runs were running when the daemon stopped: "
		    "marked lost", n);
	return (rc);
}

/* Queue a run loaded from the database. */
static void
runs_restore_one(struct runrec *rec, void *arg)
{
	struct run	*r;

	r = run_from_record(rec);
	free(rec);
	runs_index(r);
	queue_insert(r);
}

/* At start: runs that were queued when the daemon stopped wait again. */
void
runs_restore(void)
{
	db_runs_in(RUN_QUEUED, runs_restore_one, NULL);
	if (queue_length() > 0)
		log_info("%u queued runs restored", queue_length());
	runs_kick();
}

/*
 * At exit, after the clients are gone: free the queue (the runs stay
 * queued in the database and start after the next start).
 */
void
runs_free_queued(void)
{
	struct run	*r;

	while ((r = queue_first()) != NULL) {
		queue_remove(r);
		RB_REMOVE(runs_ids, &runs_by_id, r);
		run_free(r);
	}
	if (ev_wake != NULL)
		event_free(ev_wake);
	ev_wake = NULL;
}
