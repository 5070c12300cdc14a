/*
 * The queue: runs waiting to start. A run starts when a slot is free under
 * max-running, its task has fewer runs than its @concurrency, and its time
 * has come (a retry waits out its delay). Among the runs that may start,
 * the highest @priority goes first, the oldest among equals; a run whose
 * task is at its limit is passed over and never blocks another task's.
 */

#include <stdlib.h>
#include <string.h>

#include "microlightd.h"

RB_HEAD(queue_tree, run);
RB_PROTOTYPE(queue_tree, run, qnode, queue_cmp);
RB_HEAD(queue_ids, run);
RB_PROTOTYPE(queue_ids, run, qidnode, queue_id_cmp);

static struct queue_tree queue = RB_INITIALIZER(&queue);
static struct queue_ids	 queue_by_id = RB_INITIALIZER(&queue_by_id);
static u_int		 queue_n;
static int		 queue_kicking;
static int		 queue_again;
static struct event	*ev_wake;

/* Queue order: higher priority first, then lower id (older) first. */
static int
queue_cmp(struct run *a, struct run *b)
{
	if (a->rec.priority != b->rec.priority)
		return (a->rec.priority > b->rec.priority ? -1 : 1);
	if (a->rec.id != b->rec.id)
		return (a->rec.id < b->rec.id ? -1 : 1);
	return (0);
}
RB_GENERATE(queue_tree, run, qnode, queue_cmp);

/* The same runs by id, to find one quickly. */
static int
queue_id_cmp(struct run *a, struct run *b)
{
	return (a->rec.id < b->rec.id ? -1 : a->rec.id > b->rec.id);
}
RB_GENERATE(queue_ids, run, qidnode, queue_id_cmp);

/* Put a run in the queue. */
static void
queue_insert(struct run *r)
{
	RB_INSERT(queue_tree, &queue, r);
	RB_INSERT(queue_ids, &queue_by_id, r);
	queue_n++;
}

/* Take a run out of the queue. */
static void
queue_remove(struct run *r)
{
	RB_REMOVE(queue_tree, &queue, r);
	RB_REMOVE(queue_ids, &queue_by_id, r);
	queue_n--;
}

/* The @concurrency of a task as it is now (1 if it has none). */
static int
queue_task_limit(const char *name)
{
	struct task	*t;

	if ((t = task_find(name)) == NULL || t->def == NULL)
		return (1);
	return (t->def->concurrency);
}

/* Runs of a task waiting in the queue. */
u_int
queue_count_task(const char *name)
{
	struct run	*r;
	u_int		 n = 0;

	RB_FOREACH(r, queue_tree, &queue) {
		if (strcmp(r->rec.task, name) == 0)
			n++;
	}
	return (n);
}

/* Whether any run may start now: a free slot, a supervisor at hand. */
static int
queue_slot_free(void)
{
	return (!ml_shutting_down && spare_ready() &&
	    run_active_count() < (u_int)ml_conf->max_running);
}

/*
 * Whether a run may start, given a free slot: its task below its limit,
 * its time come. *later is lowered to the time a run that waits for its
 * time may go.
 */
static int
queue_may_start(const struct run *r, int64_t now, int64_t *later)
{
	if (r->rec.not_before > now) {
		if (*later == 0 || r->rec.not_before < *later)
			*later = r->rec.not_before;
		return (0);
	}
	return (run_task_count(r->rec.task) <
	    (u_int)queue_task_limit(r->rec.task));
}

/* The first queued run's time has come. */
static void
queue_wake_cb(int fd, short events, void *arg)
{
	queue_kick();
}

/* Record a new run, with its stdin if it has one, in one transaction. */
static int
queue_insert_record(struct run *r)
{
	if (r->input == NULL)
		return (db_run_insert(&r->rec));
	if (db_begin() == 0 && db_run_insert(&r->rec) == 0 &&
	    db_run_input_put(r->rec.id, r->input, r->input_len) == 0 &&
	    db_commit() == 0)
		return (0);
	db_rollback();
	return (-1);
}

/*
 * Record a new run and queue it; it starts at once if it may (and is then
 * recorded as running: one write instead of two). Returns the run's id, or
 * -1 with *cause (the run is then still the caller's). Once recorded, the
 * run is the queue's: it may even have ended and been freed on return (a
 * run that cannot start), so the caller must not touch it.
 */
int64_t
queue_submit(struct run *r, char **cause)
{
	int64_t	 later = 0, id;
	int	 now;

	now = queue_slot_free() && queue_may_start(r, time_now_ms(), &later);
	if (now) {
		r->rec.status = RUN_RUNNING;
		r->rec.started_at = time_now_ms();
	}
	if (queue_insert_record(r) != 0) {
		xasprintf(cause, "the run could not be recorded (see the "
		    "daemon's log)");
		return (-1);
	}
	id = r->rec.id;
	if (now) {
		run_start(r);
		return (id);
	}
	log_debug("%s[%lld]: queued by %s", r->rec.task, (long long)id,
	    r->rec.triggered_by);
	queue_insert(r);
	queue_kick();
	return (id);
}

/*
 * A run that will not wait: record it as skipped, with why. Returns its
 * id, or -1 with cause if it could not be recorded. r is freed.
 */
static int64_t
queue_skip(struct run *r, char *reason, char **cause)
{
	int64_t	 id;

	r->rec.status = RUN_SKIPPED;
	r->rec.finished_at = r->rec.queued_at;
	r->rec.reason = reason;
	if (db_run_insert(&r->rec) != 0) {
		xasprintf(cause, "the run could not be recorded (see the "
		    "daemon's log)");
		run_free(r);
		return (-1);
	}
	log_info("%s[%lld]: skipped: %s", r->rec.task, (long long)r->rec.id,
	    r->rec.reason);
	metrics_run_ended(&r->rec);
	id = r->rec.id;
	run_free(r);
	return (id);
}

/*
 * A new run of a task: skipped if the task is busy and says
 * @overlap skip, or if max-queued runs wait already (a schedule's or a
 * chain's run; the entry points of users refuse before this), else
 * queued. Returns its id, or -1 with cause; r is the queue's or freed.
 */
int64_t
queue_trigger(struct task *t, struct run *r, char **cause)
{
	char	*reason;
	u_int	 busy;
	int64_t	 id;

	if (t->def->overlap == OVERLAP_SKIP) {
		busy = run_task_count(t->name) + queue_count_task(t->name);
		if (busy >= (u_int)t->def->concurrency) {
			xasprintf(&reason, "%s has %u run%s in progress "
			    "(@concurrency %d, @overlap skip)", t->name, busy,
			    busy == 1 ? "" : "s", t->def->concurrency);
			return (queue_skip(r, reason, cause));
		}
	}
	if (queue_length() >= (u_int)ml_conf->max_queued) {
		xasprintf(&reason, "%u runs wait for a slot already "
		    "(max-queued)", queue_length());
		return (queue_skip(r, reason, cause));
	}
	if ((id = queue_submit(r, cause)) == -1) {
		run_free(r);
		return (-1);
	}
	return (id);
}

/*
 * Start the runs that may start, best first. A run that ends at once (its
 * task is gone) frees its slot and calls back in here: that call only asks
 * the loop below to go round again. The scan starts over after each start,
 * since a start can change what may start next (and retries and chains
 * may have joined the queue meanwhile).
 */
void
queue_kick(void)
{
	struct run	*r;
	struct timeval	 tv;
	int64_t		 now, later, wait;

	if (queue_kicking) {
		queue_again = 1;
		return;
	}
	queue_kicking = 1;
	do {
		queue_again = 0;
		now = time_now_ms();
		later = 0;
		r = NULL;
		if (queue_slot_free()) {
			RB_FOREACH(r, queue_tree, &queue) {
				if (queue_may_start(r, now, &later))
					break;
			}
		}
		if (r != NULL) {
			queue_remove(r);
			run_start(r);
			queue_again = 1;
		}
	} while (queue_again);
	queue_kicking = 0;

	/* Come back when the first delayed run may go. */
	if (ev_wake == NULL)
		ev_wake = evtimer_new(ml_base, queue_wake_cb, NULL);
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

/* Add a run loaded from the database to the queue. */
static void
queue_restore_one(struct runrec *rec, void *arg)
{
	struct run	*r;

	r = run_from_record(rec);
	free(rec);
	queue_insert(r);
}

/* At start: runs that were queued when the daemon stopped wait again. */
void
queue_restore(void)
{
	db_runs_queued(queue_restore_one, NULL);
	if (queue_n > 0)
		log_info("%u queued runs restored", queue_n);
	queue_kick();
}

/* A queued run by id. */
struct run *
queue_find(int64_t id)
{
	struct run	 key;

	key.rec.id = id;
	return (RB_FIND(queue_ids, &queue_by_id, &key));
}

/* The queued retry of a run (whose first run is first), or NULL. */
struct run *
queue_find_retry(int64_t first)
{
	struct run	*r;

	RB_FOREACH(r, queue_tree, &queue) {
		if (r->rec.retry_of == first)
			return (r);
	}
	return (NULL);
}

/* Cancel a queued run; it is freed. */
int
queue_cancel(struct run *r, const char *reason)
{
	queue_remove(r);
	run_finish_queued(r, RUN_CANCELLED, reason);
	return (0);
}

/* Number of queued runs. */
u_int
queue_length(void)
{
	return (queue_n);
}

/*
 * At exit, after the clients are gone: free the queue (the runs stay
 * queued in the database and start after the next start).
 */
void
queue_free_all(void)
{
	struct run	*r, *r1;

	RB_FOREACH_SAFE(r, queue_tree, &queue, r1) {
		queue_remove(r);
		run_free(r);
	}
	if (ev_wake != NULL)
		event_free(ev_wake);
	ev_wake = NULL;
}
