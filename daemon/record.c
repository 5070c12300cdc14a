/*
 * Run records the database refused (a full disk, say): kept in memory,
 * answered from memory (also where runs are read from the database: its
 * hook gives the kept record instead of the row), and written again until
 * the database takes them, so that a run that ended is never reported as
 * still running. A record may come with its run's last line of output,
 * the marker saying what the log lacks: the two are written together,
 * readers of the log get the line from here meanwhile, and the record
 * alone goes in as soon as it can, so that the database says what was
 * lost even while the disk is full.
 */

#include <stdlib.h>
#include <string.h>

#include "microlightd.h"

#define RECORD_RETRY_SECONDS	2

struct record {
	struct runrec		 rec;
	struct chunk		*last;	/* its last line, not yet stored */
	int			 alone;	/* rec without last is stored */
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

/* Forget a kept record (written, or never to be). */
static void
record_drop(struct record *rc)
{
	TAILQ_REMOVE(&records, rc, entry);
	runrec_clear(&rc->rec);
	free(rc->last);
	free(rc);
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
 * Write a kept record and its last line in one transaction. If that
 * fails, write the record alone (an UPDATE may fit where an INSERT does
 * not), with the size of the output that is stored. Returns 0 if all is
 * written (or a last line never can be: its run was pruned).
 */
static int
record_store(struct record *rc)
{
	struct runrec	 alone;
	struct chunk	*c = rc->last;

	if (c == NULL)
		return (db_run_update(&rc->rec) == 0 ? 0 : -1);
	if (db_begin() == 0 && db_output_insert(rc->rec.id, c->seq,
	    c->stream, c->time, c->data, c->len) == 0 &&
	    db_run_update(&rc->rec) == 0 && db_commit() == 0)
		return (0);
	db_rollback();
	if (db_failure_lasting()) {
		log_warnx("%s[%lld]: its last line of output cannot be "
		    "stored: %s", rc->rec.task, (long long)rc->rec.id,
		    db_failure());
		return (0);
	}
	if (!rc->alone) {
		alone = rc->rec;
		alone.output_size -= c->len;
		rc->alone = db_run_update(&alone) == 0;
	}
	return (-1);
}

/*
 * The tail hook of db_output_read: a kept last line comes after what the
 * database has of a run's output. Returns the number of chunks passed.
 */
static int
record_output_tail(int64_t id, int64_t seq, db_output_cb cb, void *arg)
{
	struct record	*rc = record_get(id);
	struct chunk	*c;

	if (rc == NULL || (c = rc->last) == NULL || c->seq < seq)
		return (0);
	cb(c->seq, c->stream, c->time, c->data, c->len, arg);
	return (1);
}

/*
 * Write a run's changing fields, and last (if not NULL, taken over): the
 * run's last chunk of output, the line saying what its log lacks, with
 * its size counted in the record. If the database refuses, keep a copy
 * (the newest record for each run, and its last line) to write later.
 * Returns 0 if all is written now.
 */
int
record_write(const struct runrec *r, struct chunk *last)
{
	struct record	*rc;
	int		 kept;

	rc = record_get(r->id);
	if (rc == NULL && last == NULL && db_run_update(r) == 0)
		return (0);	/* the usual case: nothing kept, nothing to */
	kept = rc != NULL;
	if (rc == NULL) {
		rc = xcalloc(1, sizeof *rc);
		TAILQ_INSERT_TAIL(&records, rc, entry);
	} else
		runrec_clear(&rc->rec);
	runrec_copy(&rc->rec, r);
	rc->alone = 0;
	if (last != NULL) {
		free(rc->last);
		rc->last = last;
	}
	if ((kept || last != NULL) && record_store(rc) == 0) {
		record_drop(rc);
		return (0);
	}
	/* From now on, readers of the database see what is kept here. */
	db_output_tail_set(record_output_tail);
	db_run_newer_set(record_pending);
	if (!kept && rc->alone)
		log_warnx("%s[%lld]: the line saying what its output lost "
		    "could not be stored; it is kept and written again every "
		    "%d s", r->task, (long long)r->id, RECORD_RETRY_SECONDS);
	else if (!kept)
		log_warnx("%s[%lld]: the run's record could not be written; "
		    "it is kept and written again every %d s", r->task,
		    (long long)r->id, RECORD_RETRY_SECONDS);
	record_arm();
	return (1);
}

/* Try the kept records again. */
static void
record_retry_cb(int fd, short events, void *arg)
{
	struct record	*rc, *rc1;

	TAILQ_FOREACH_SAFE(rc, &records, entry, rc1) {
		if (record_store(rc) != 0)
			break;
		log_info("%s[%lld]: the run's %s written now", rc->rec.task,
		    (long long)rc->rec.id, rc->alone ? "last line of output is" :
		    "record is");
		record_drop(rc);
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
		if (rc->alone)
			log_warnx("%s[%lld]: the line saying what its output "
			    "lost could not be stored before exit (its record "
			    "says it)", rc->rec.task, (long long)rc->rec.id);
		else
			log_warnx("%s[%lld]: the run's record could not be "
			    "written before exit: the database keeps its "
			    "earlier state (a run left running reads as lost "
			    "after the next start)", rc->rec.task,
			    (long long)rc->rec.id);
		record_drop(rc);
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
