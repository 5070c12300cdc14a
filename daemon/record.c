/*
 * Run records the database refused (a full disk, say): kept in memory,
 * answered from memory, and written again until the database takes them,
 * so that a run that ended is never reported as still running.
 */

#include <stdlib.h>
#include <string.h>

#include "microlightd.h"

#define RECORD_RETRY_SECONDS	2

struct record {
	struct runrec		 rec;
	TAILQ_ENTRY(record)	 entry;
};
TAILQ_HEAD(records, record);

static struct records	 records = TAILQ_HEAD_INITIALIZER(records);
static struct event	*ev_retry;

static void	record_retry_cb(int, short, void *);

/* The kept record of a run, or NULL. */
static struct record *
record_get(int64_t id)
{
	struct record	*rc;

	TAILQ_FOREACH(rc, &records, entry) {
		if (rc->rec.id == id)
			return (rc);
	}
	return (NULL);
}

/* Arm the retry timer. */
static void
record_arm(void)
{
	struct timeval	 tv;

	if (ev_retry == NULL)
		ev_retry = evtimer_new(ml_base, record_retry_cb, NULL);
	if (!evtimer_pending(ev_retry, NULL)) {
		tv.tv_sec = RECORD_RETRY_SECONDS;
		tv.tv_usec = 0;
		evtimer_add(ev_retry, &tv);
	}
}

/*
 * Write a run's changing fields; if the database refuses, keep a copy (the
 * newest for each run) to write later. Returns 0 if written now.
 */
int
record_write(const struct runrec *r)
{
	struct record	*rc;

	if (db_run_update(r) == 0) {
		if ((rc = record_get(r->id)) != NULL) {
			TAILQ_REMOVE(&records, rc, entry);
			runrec_clear(&rc->rec);
			free(rc);
		}
		return (0);
	}
	if ((rc = record_get(r->id)) == NULL) {
		rc = xcalloc(1, sizeof *rc);
		TAILQ_INSERT_TAIL(&records, rc, entry);
		log_warnx("%s[%lld]: the run's record could not be written; "
		    "it is kept and written again every %d s", r->task,
		    (long long)r->id, RECORD_RETRY_SECONDS);
	} else
		runrec_clear(&rc->rec);
	runrec_copy(&rc->rec, r);
	record_arm();
	return (1);
}

/* Try the kept records again. */
static void
record_retry_cb(int fd, short events, void *arg)
{
	struct record	*rc, *rc1;

	TAILQ_FOREACH_SAFE(rc, &records, entry, rc1) {
		if (db_run_update(&rc->rec) != 0)
			break;
		log_info("%s[%lld]: the run's record is written now",
		    rc->rec.task, (long long)rc->rec.id);
		TAILQ_REMOVE(&records, rc, entry);
		runrec_clear(&rc->rec);
		free(rc);
	}
	if (!TAILQ_EMPTY(&records))
		record_arm();
}

/* A run's record not yet in the database, or NULL. */
const struct runrec *
record_pending(int64_t id)
{
	struct record	*rc = record_get(id);

	return (rc != NULL ? &rc->rec : NULL);
}

/* At exit: one last try, then what is left is lost (and logged). */
void
record_shutdown(void)
{
	struct record	*rc;

	record_retry_cb(-1, 0, NULL);
	while ((rc = TAILQ_FIRST(&records)) != NULL) {
		log_warnx("%s[%lld]: the run's record could not be written "
		    "before exit: the database keeps its earlier state (a run "
		    "left running reads as lost after the next start)",
		    rc->rec.task, (long long)rc->rec.id);
		TAILQ_REMOVE(&records, rc, entry);
		runrec_clear(&rc->rec);
		free(rc);
	}
	if (ev_retry != NULL)
		event_free(ev_retry);
	ev_retry = NULL;
}

/* How many records wait for the database. */
u_int
record_count(void)
{
	struct record	*rc;
	u_int		 n = 0;

	TAILQ_FOREACH(rc, &records, entry)
		n++;
	return (n);
}
