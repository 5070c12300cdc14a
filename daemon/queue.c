/*
 * The queue: runs waiting for a slot under max-running (and for a spare
 * supervisor, a moment), first in first out.
 */

#include <stdlib.h>
#include <string.h>

#include "microlightd.h"

static struct runs	 queue = TAILQ_HEAD_INITIALIZER(queue);
static u_int		 queue_n;
static int		 queue_kicking;
static int		 queue_again;

/* Record a new run and queue it; it starts at once if a slot is free. */
int
queue_submit(struct run *r, char **cause)
{
	int	 now;

	/* A run that can start at once is recorded as running: one write. */
	now = !ml_shutting_down && TAILQ_EMPTY(&queue) &&
	    run_active_count() < (u_int)ml_conf->max_running && spawn_ready();
	if (now) {
		r->rec.status = RUN_RUNNING;
		r->rec.started_at = time_now_ms();
	}
	if (db_run_insert(&r->rec) != 0) {
		xasprintf(cause, "the run could not be recorded (see the "
		    "daemon's log)");
		return (-1);
	}
	if (now) {
		run_start(r);
		return (0);
	}
	log_debug("%s[%lld]: queued by %s", r->rec.task, (long long)r->rec.id,
	    r->rec.triggered_by);
	TAILQ_INSERT_TAIL(&queue, r, entry);
	queue_n++;
	queue_kick();
	return (0);
}

/*
 * Start waiting runs while slots are free. A run that ends at once (its
 * task is gone) frees its slot and calls back in here: that call only asks
 * the loop below to go round again.
 */
void
queue_kick(void)
{
	struct run	*r;

	if (queue_kicking) {
		queue_again = 1;
		return;
	}
	queue_kicking = 1;
	do {
		queue_again = 0;
		while (!ml_shutting_down &&
		    run_active_count() < (u_int)ml_conf->max_running &&
		    spawn_ready() && (r = TAILQ_FIRST(&queue)) != NULL) {
			TAILQ_REMOVE(&queue, r, entry);
			queue_n--;
			run_start(r);
		}
	} while (queue_again);
	queue_kicking = 0;
}

/* Add a run loaded from the database to the queue. */
static void
queue_restore_one(struct runrec *rec, void *arg)
{
	struct run	*r;

	r = run_from_record(rec);
	free(rec);
	TAILQ_INSERT_TAIL(&queue, r, entry);
	queue_n++;
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
	struct run	*r;

	TAILQ_FOREACH(r, &queue, entry) {
		if (r->rec.id == id)
			return (r);
	}
	return (NULL);
}

/* Cancel a queued run; it is freed. */
int
queue_cancel(struct run *r, const char *reason)
{
	TAILQ_REMOVE(&queue, r, entry);
	queue_n--;
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
	struct run	*r;

	while ((r = TAILQ_FIRST(&queue)) != NULL) {
		TAILQ_REMOVE(&queue, r, entry);
		run_free(r);
	}
	queue_n = 0;
}
