/*
 * Retention: runs older than keep-days, and a task's runs beyond its
 * keep-runs newest, are deleted with their output, a few at a time from a
 * timer so that the loop never waits long; the pages they freed are then
 * given back to the file system (incremental vacuum), a few at a time too.
 */

#include "microlightd.h"

#define PRUNE_FIRST_SECONDS	5	/* after start-up */
#define PRUNE_EVERY_SECONDS	60
#define PRUNE_BATCH		20	/* runs per transaction */
#define PRUNE_AGAIN_MS		20	/* between batches while work is left */
#define VACUUM_PAGES		256	/* pages given back per step */

static struct event	*ev_prune;
static int64_t		 pruned_total;
static int		 vacuumed;

/* Wait ms before the next step. */
static void
prune_schedule(int64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev_prune, &tv);
}

/* One step: a batch of runs, or a batch of free pages, or rest. */
static void
prune_cb(int fd, short events, void *arg)
{
	int64_t	 cutoff = 0, wait;
	int	 n, left;

	if ((wait = quiet_wait()) > 0) {
		prune_schedule(wait);	/* not just before a fire */
		return;
	}
	if (ml_conf->keep_days > 0)
		cutoff = time_now_ms() - (int64_t)ml_conf->keep_days * 86400000;
	n = db_prune(cutoff, ml_conf->keep_runs, PRUNE_BATCH);
	if (n > 0) {
		pruned_total += n;
		vacuumed = 1;
		prune_schedule(PRUNE_AGAIN_MS);
		return;
	}
	if (pruned_total > 0) {
		log_info("pruned %lld runs (keep-runs %d, keep-days %d)",
		    (long long)pruned_total, ml_conf->keep_runs,
		    ml_conf->keep_days);
		pruned_total = 0;
	}
	if ((left = db_vacuum_step(VACUUM_PAGES)) > 0) {
		vacuumed = 1;
		prune_schedule(PRUNE_AGAIN_MS);
		return;
	}
	if (vacuumed) {
		/* The file shrinks when the WAL is checkpointed into it. */
		db_checkpoint_soon();
		vacuumed = 0;
	}
	prune_schedule(PRUNE_EVERY_SECONDS * 1000);
}

/* Start pruning (once the database is open). */
void
prune_start(void)
{
	ev_prune = evtimer_new(ml_base, prune_cb, NULL);
	prune_schedule(PRUNE_FIRST_SECONDS * 1000);
}

/* Prune soon: the settings changed (reload). */
void
prune_soon(void)
{
	if (ev_prune != NULL) {
		evtimer_del(ev_prune);
		prune_schedule(PRUNE_AGAIN_MS);
	}
}

/* At exit. */
void
prune_stop(void)
{
	if (ev_prune != NULL)
		event_free(ev_prune);
	ev_prune = NULL;
}
