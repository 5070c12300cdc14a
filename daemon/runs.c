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

#include <event2/buffer.h>

#include "microlightd.h"
#include "params.h"
#include "heap.h"

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
	int		 batch;		/* a run for later may wait in a
					   batch: a client hears of it */
} runs_rules[TRIGGER_N] = {
	[TRIGGER_CLI] =		{ BUSY_REFUSE,	1, 0, 1 },
	[TRIGGER_WEB] =		{ BUSY_REFUSE,	1, 0, 1 },
	[TRIGGER_API] =		{ BUSY_REFUSE,	1, 0, 1 },
	[TRIGGER_WEBHOOK] =	{ BUSY_REFUSE,	1, 0, 1 },
	[TRIGGER_SCHEDULE] =	{ BUSY_SKIP,	1, 0, 0 },
	[TRIGGER_RETRY] =	{ BUSY_ALLOW,	0, 1, 0 },
	[TRIGGER_CHAIN] =	{ BUSY_SKIP,	1, 0, 0 },
	[TRIGGER_NOTIFY] =	{ BUSY_SKIP,	0, 0, 0 },
};

/* The live runs (queued or running) by id: the one index of them. */
RB_HEAD(runs_ids, run);
RB_PROTOTYPE(runs_ids, run, idnode, runs_id_cmp);
static struct runs_ids	 runs_by_id = RB_INITIALIZER(&runs_by_id);

static int		 runs_kicking;
static int		 runs_again;
static struct event	*ev_wake;
#define RUNS_HOOKS	2	/* the task list's and the run page's */
static void		(*runs_changed[RUNS_HOOKS])(const char *);

/*
 * Scheduled runs (future runs, retries waiting out their delay) live in
 * SQLite, indexed by time; only those due within RUNS_WINDOW_MS are held
 * here, in a heap, soonest first, as Later does. Every scheduled run up to
 * the mark (due_t, due_id) in (time, id) order is in the heap (or has left
 * it); the rest are loaded as the window moves on.
 */
#define RUNS_WINDOW_MS	(60 * 1000)
#define RUNS_LOAD_MAX	10000	/* runs loaded in one go, and held at most */

HEAP_HEAD(runs_due, run);
static struct runs_due	 due;
static int64_t		 due_t = -1, due_id;
static int64_t		 nscheduled;
static struct event	*ev_due;

/* The runs for later written in the open batch (db_batch_join): ids. */
static int64_t		*batch_ids;
static size_t		 batch_n, batch_size;

static void	runs_due_cb(int, short, void *);

/* Order of the index: by id. */
static int
runs_id_cmp(struct run *a, struct run *b)
{
	return (a->rec.id < b->rec.id ? -1 : a->rec.id > b->rec.id);
}
RB_GENERATE(runs_ids, run, idnode, runs_id_cmp);

/*
 * Refuse parameters that do not fit task t: every problem at once, in
 * err->problems ({param, message}, as a form shows them) and in its
 * message, joined by "; ". Returns -1.
 */
static int64_t
runs_bad_params(const struct task *t, json_t *given, struct ops_error *err)
{
	struct evbuffer	*b = evbuffer_new();
	json_t		*problems, *p;
	size_t		 i;

	problems = params_problems(t->def, given, 0);
	json_array_foreach(problems, i, p) {
		evbuffer_add_printf(b, "%s%s", i > 0 ? "; " : "",
		    json_string_value(json_object_get(p, K_MESSAGE)));
	}
	evbuffer_add(b, "", 1);
	ops_fail(err, E_BAD_PARAMS, "%s", (char *)evbuffer_pullup(b, -1));
	evbuffer_free(b);
	err->problems = problems;
	return (-1);
}

/*
 * Who is to hear when a task's runs change -- one is planned for later,
 * queued, starts or ends -- by the task's name (the task list's live
 * updates, the reasons queued runs' pages give); NULL: nobody any more.
 * Each is called at once, from wherever the change is made, and must not
 * call back in here.
 */
void
runs_on_change(void (*cb)(const char *))
{
	u_int	 i;

	if (cb == NULL) {
		memset(runs_changed, 0, sizeof runs_changed);
		return;
	}
	for (i = 0; i < RUNS_HOOKS; i++) {
		if (runs_changed[i] == NULL) {
			runs_changed[i] = cb;
			return;
		}
	}
	fatalx("runs_on_change: too many");
}

/* A run was queued, started or ended: tell who asked. */
static void
runs_change(const struct run *r)
{
	u_int	 i;

	for (i = 0; i < RUNS_HOOKS && runs_changed[i] != NULL; i++)
		runs_changed[i](r->rec.task);
}

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
	if (req->headers != NULL)
		r->headers = json_incref(req->headers);
	if (req->schedule != NULL)
		r->rec.schedule = xstrdup(req->schedule);
	if (req->chain_tasks != NULL)
		r->rec.chain_tasks = xstrdup(req->chain_tasks);
	if (req->attempt > 0)
		r->rec.attempt = req->attempt;
	r->rec.retry_of = req->retry_of;
	r->rec.chain_of = req->chain_of;
	r->rec.rerun_of = req->rerun_of;
	r->rec.notice = req->notice;
	r->rec.not_before = req->not_before;
	return (r);
}

/*
 * Record a new run, with its stdin if it has one, in one transaction: the
 * one place a run record is inserted. A client's run for later, without
 * stdin, may wait in a batch of writes for its commit (runs_batch_ended);
 * the client's reply waits for it too (control.c).
 */
static int
runs_insert(struct run *r)
{
	int	 txn, rc;

	if (r->rec.status == RUN_SCHEDULED && r->input == NULL &&
	    runs_rules[r->rec.trigger].batch && db_batch_join() != 0) {
		rc = db_run_insert(&r->rec);
		if (db_batch_leave() != 0 || rc != 0)
			return (-1);
		if (batch_n == batch_size)
			batch_ids = xreallocarray(batch_ids, batch_size =
			    batch_size * 2 + 64, sizeof *batch_ids);
		batch_ids[batch_n++] = r->rec.id;
		return (0);
	}
	txn = r->input != NULL;
	if ((!txn || db_begin() == 0) && db_run_insert(&r->rec) == 0 &&
	    (!txn || (db_run_input_put(r->rec.id, r->input,
	    r->input_len, r->headers) == 0 && db_commit() == 0)))
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

/* Heap order: sooner first, then older. */
static int
runs_due_before(const struct run *a, const struct run *b)
{
	if (a->rec.not_before != b->rec.not_before)
		return (a->rec.not_before < b->rec.not_before);
	return (a->rec.id < b->rec.id);
}
HEAP_GENERATE(runs_due, run, due_idx, runs_due_before);

/* Hold a scheduled run in the heap (and the index). */
static void
runs_due_add(struct run *r)
{
	runs_due_push(&due, r);
	runs_index(r);
}

/* A scheduled run read from the database joins the heap. */
static void
runs_due_loaded(struct runrec *rec, void *arg)
{
	struct run	*r;

	r = run_from_record(rec);
	free(rec);
	due_t = r->rec.not_before;
	due_id = r->rec.id;
	runs_due_add(r);
}

/* Load the scheduled runs that fall due within the window. */
static void
runs_due_load(int64_t now)
{
	int64_t	 until = now + RUNS_WINDOW_MS;
	int	 n, room;

	while (due_t < until && due.n < RUNS_LOAD_MAX) {
		room = RUNS_LOAD_MAX - due.n;
		if ((n = db_runs_due(due_t, due_id, until, room,
		    runs_due_loaded, NULL)) == -1)
			return;		/* tried again at the next wake */
		if (n < room) {
			due_t = until;	/* all before until are here */
			due_id = 0;
		}
	}
}

/* Arm the timer for the first due run, or the window's next move. */
static void
runs_due_arm(int64_t now)
{
	struct timeval	 tv;
	int64_t		 wait = RUNS_WINDOW_MS / 2;

	if (ev_due == NULL)
		ev_due = evtimer_new(ml_base, runs_due_cb, NULL);
	if (due.n > 0 && due.v[0]->rec.not_before - now < wait)
		wait = due.v[0]->rec.not_before - now;
	if (wait < 0)
		wait = 0;
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(ev_due, &tv);
}

/*
 * Why a run of t (valid, or NULL) by a trigger of rule will not wait: its
 * task is busy and says @overlap skip (if the rule applies it), or, with
 * skip_full, max-queued runs wait already. A new string, or NULL.
 */
static char *
runs_skip_reason(const struct runs_rule *rule, const struct task *t,
    int skip_full)
{
	char	*reason = NULL;
	u_int	 busy;

	if (rule->overlap && t != NULL && t->def->overlap == OVERLAP_SKIP &&
	    (busy = run_task_count(t->name) + queue_count_task(t->name)) >=
	    (u_int)t->def->concurrency)
		xasprintf(&reason, "%s has %u run%s in progress (@concurrency "
		    "%d, @overlap skip)", t->name, busy, busy == 1 ? "" : "s",
		    t->def->concurrency);
	else if (skip_full && queue_length() >= (u_int)ml_conf->max_queued)
		xasprintf(&reason, "%u runs wait for a slot already "
		    "(max-queued)", queue_length());
	return (reason);
}

/*
 * A scheduled run's time has come: it is queued like any new run of its
 * trigger, under the same rules (past max-queued even a user's is skipped
 * now: nobody waits for the answer), or it is late: its time passed while
 * the daemon was down, and it runs once now, saying so.
 */
static void
runs_due_one(struct run *r, int64_t now)
{
	const struct runs_rule	*rule = &runs_rules[r->rec.trigger];
	struct task		*t;
	char			*reason, when[TIME_RFC3339_LEN];

	nscheduled--;
	if ((t = task_find(r->rec.task)) != NULL && !task_valid(t))
		t = NULL;	/* it fails at its start, saying why */
	reason = runs_skip_reason(rule, t, rule->busy != BUSY_ALLOW);
	if (reason != NULL) {
		r->rec.status = RUN_SKIPPED;
		r->rec.finished_at = now;
		free(r->rec.reason);
		r->rec.reason = reason;
		runs_end(r);
		run_free(r);
		return;
	}
	if (r->rec.not_before < ml_started) {
		time_rfc3339(r->rec.not_before, when, sizeof when);
		xasprintf(&r->note, "late: due at %s", when);
		free(r->rec.reason);
		r->rec.reason = xstrdup(r->note);
	}
	r->rec.status = RUN_QUEUED;
	record_write(&r->rec, NULL);
	log_debug("%s[%lld]: due", r->rec.task, (long long)r->rec.id);
	queue_insert(r);
	runs_change(r);
}

/* The first scheduled run's time has come, or the window moves on. */
static void
runs_due_cb(int fd, short events, void *arg)
{
	struct run	*r;
	int64_t		 now = time_now_ms();
	int		 moved = 0;

	while (due.n > 0 && due.v[0]->rec.not_before <= now) {
		r = due.v[0];
		runs_due_remove(&due, r);
		runs_due_one(r, now);
		moved = 1;
	}
	runs_due_load(now);
	runs_due_arm(now);
	if (moved)
		runs_kick();
}

/* Scheduled runs: how many wait for their time. */
int64_t
runs_scheduled(void)
{
	return (nscheduled);
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
	/* One that cannot start has ended (and said so) and is freed. */
	if (run_start(r, t) == 0)
		runs_change(r);
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
	runs_change(r);
	runs_kick();
	return (id);
}

/*
 * A run for later: recorded as scheduled, and held in memory if it falls
 * due within the window (else it is loaded when the window reaches it).
 * Past max-scheduled a user's is refused; a retry never is.
 */
static int64_t
runs_schedule(struct run *r, const struct run_request *req,
    const struct runs_rule *rule, struct ops_error *err)
{
	int64_t	 id;

	if (rule->busy != BUSY_ALLOW &&
	    nscheduled >= (int64_t)ml_conf->max_scheduled) {
		run_free(r);
		return (ops_fail(err, E_QUEUE_FULL, "%lld runs are scheduled "
		    "already (max-scheduled): none is taken",
		    (long long)nscheduled));
	}
	r->rec.status = RUN_SCHEDULED;
	if (runs_insert(r) != 0)
		return (runs_unrecorded(r, err));
	nscheduled++;
	id = r->rec.id;
	log_debug("%s[%lld]: scheduled by %s", r->rec.task, (long long)id,
	    r->rec.triggered_by);
	runs_change(r);		/* its task's next run may be this one */
	if (req->object != NULL)
		*req->object = object_run(&r->rec);
	if (r->rec.not_before < due_t) {
		runs_due_add(r);
		runs_due_arm(time_now_ms());
	} else
		run_free(r);
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
		free(cause);
		return (runs_bad_params(t, req->params, err));
	}
	if (req->not_before > time_now_ms())
		return (runs_schedule(runs_new(req, t, params), req, rule,
		    err));
	if (rule->busy == BUSY_REFUSE &&
	    queue_length() >= (u_int)ml_conf->max_queued) {
		json_decref(params);
		return (ops_fail(err, E_BUSY, "%u runs are waiting for a "
		    "slot already (max-queued): try again later",
		    queue_length()));
	}
	if ((reason = runs_skip_reason(rule, t, rule->busy == BUSY_SKIP)) !=
	    NULL)
		return (runs_skip(runs_new(req, t, params), reason, err));
	return (runs_queue(runs_new(req, t, params), err));
}

/*
 * The one way out: r has ended (ran and exited, timed out, was cancelled
 * while running or queued, was lost, could not start, was skipped) and its
 * status and reason are final. Every end goes through here: the record
 * (unless the caller wrote it with the run's output), the log line, the
 * metrics, the followers, what follows it (retry, chain), who watches its
 * task's runs, the queue. The run is the caller's still.
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
	notice_run_ended(r);
	runs_change(r);
	runs_kick();
}

/*
 * Cancel a run that has not ended, "reason": a scheduled or queued one
 * ends now (a scheduled one may be in the database only), a running one
 * is told to stop and ends when it has. Returns -1 if it has ended.
 */
int
runs_cancel(int64_t id, const char *reason)
{
	struct runrec	 rec;
	struct run	*r;

	if ((r = runs_lookup(id)) != NULL && r->rec.status == RUN_RUNNING) {
		run_kill(r, RUN_CANCELLED, reason);
		return (0);
	}
	if (r == NULL) {
		if (db_run_load(id, &rec) != 0)
			return (-1);
		if (rec.status != RUN_SCHEDULED) {
			runrec_clear(&rec);
			return (-1);
		}
		r = run_from_record(&rec);
	} else if (r->rec.status == RUN_SCHEDULED)
		runs_due_remove(&due, r);
	else
		queue_remove(r);
	if (r->rec.status == RUN_SCHEDULED)
		nscheduled--;
	r->rec.status = RUN_CANCELLED;
	r->rec.finished_at = time_now_ms();
	free(r->rec.reason);
	r->rec.reason = xstrdup(reason);
	runs_end(r);
	run_free(r);
	return (0);
}

/*
 * The retry that waits (scheduled or queued) after a run whose first run
 * is first: its id, or 0.
 */
int64_t
runs_retry_waiting(int64_t first)
{
	struct run	*r;

	if ((r = queue_find_retry(first)) != NULL)
		return (r->rec.id);
	return (db_retry_waiting(first));
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

/*
 * A batch of writes is over. Committed: its runs are for good. Undone (the
 * disk is full): its runs for later never were; those held here go, and
 * the client is told (control.c turns their replies into errors).
 */
static void
runs_batch_ended(int ok)
{
	struct run	*r;
	size_t		 i;

	for (i = 0; !ok && i < batch_n; i++) {
		nscheduled--;
		if ((r = runs_lookup(batch_ids[i])) == NULL ||
		    r->rec.status != RUN_SCHEDULED)
			continue;	/* beyond the window */
		runs_due_remove(&due, r);
		RB_REMOVE(runs_ids, &runs_by_id, r);
		r->flags &= ~RUN_INDEXED;
		run_free(r);
	}
	if (!ok && batch_n > 0)
		log_warnx("%zu runs for later were not recorded", batch_n);
	batch_n = 0;
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
	int64_t	 now = time_now_ms();

	db_batch_hook(runs_batch_ended);
	db_runs_in(RUN_QUEUED, runs_restore_one, NULL);
	if (queue_length() > 0)
		log_info("%u queued runs restored", queue_length());
	if ((nscheduled = db_runs_scheduled()) == -1)
		nscheduled = 0;
	if (nscheduled > 0)
		log_info("%lld scheduled runs wait", (long long)nscheduled);
	runs_due_load(now);
	runs_due_arm(now);
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
	while (due.n > 0) {
		r = due.v[--due.n];
		RB_REMOVE(runs_ids, &runs_by_id, r);
		run_free(r);
	}
	free(due.v);
	memset(&due, 0, sizeof due);
	if (ev_due != NULL)
		event_free(ev_due);
	ev_due = NULL;
	if (ev_wake != NULL)
		event_free(ev_wake);
	ev_wake = NULL;
}
