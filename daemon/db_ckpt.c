/* WAL checkpoints in a thread of their own: the loop never waits on fsync. */

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "microlightd.h"
#include "db.h"

/*
 * A checkpoint copies the WAL into the database file and syncs both, so
 * it costs as much as writing the pages did and then waits for the disk:
 * done in the loop, it held everything else up for as long (half of the
 * daemon's time while a run printed fast). This thread does it on a
 * connection of its own; the loop only asks (db_ckpt_request), and SQLite
 * lets a PASSIVE checkpoint run beside the loop's readers and writer. The
 * thread has nothing to do with the event loop, never logs and blocks
 * every signal: what the loop needs to know (a failure) it leaves in
 * ckpt_why, under ckpt_lock like everything it shares.
 *
 * The thread and its connection are made at the first request, so an idle
 * daemon has neither, and end in db_ckpt_stop, before the main connection
 * closes.
 */
static pthread_mutex_t	 ckpt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 ckpt_cond = PTHREAD_COND_INITIALIZER;
static pthread_t	 ckpt_thread;
static sqlite3		*ckpt_db;
static int		 ckpt_started;	/* the thread runs */
static int		 ckpt_failed;	/* it could not be started: inline */
static int		 ckpt_wanted;	/* a checkpoint is asked for */
static int		 ckpt_busy;	/* one is under way */
static int		 ckpt_all;	/* the last one copied the whole WAL */
static int		 ckpt_quit;
static char		 ckpt_why[256];	/* the last failure, not yet logged */

/* The thread: a checkpoint each time one is asked for. */
static void *
db_ckpt_main(void *arg)
{
	int	 rc, log, done;

	pthread_mutex_lock(&ckpt_lock);
	for (;;) {
		while (!ckpt_wanted && !ckpt_quit)
			pthread_cond_wait(&ckpt_cond, &ckpt_lock);
		if (ckpt_quit)
			break;
		ckpt_wanted = 0;
		ckpt_busy = 1;
		pthread_mutex_unlock(&ckpt_lock);

		rc = sqlite3_wal_checkpoint_v2(ckpt_db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &log, &done);

		pthread_mutex_lock(&ckpt_lock);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			strlcpy(ckpt_why, sqlite3_errmsg(ckpt_db),
			    sizeof ckpt_why);
		ckpt_all = rc == SQLITE_OK && log == done;
		ckpt_busy = 0;
		pthread_cond_broadcast(&ckpt_cond);
	}
	pthread_mutex_unlock(&ckpt_lock);
	return (NULL);
}

/*
 * Open the thread's connection to the database the main one has open,
 * and start the thread with every signal blocked. Returns 0 or -1.
 */
static int
db_ckpt_start(void)
{
	const char	*path;
	char		*why = NULL;
	sigset_t	 all, old;
	int		 rc;

	/* A library built without threads checkpoints in the loop. */
	path = sqlite3_db_filename(db, "main");
	if (sqlite3_threadsafe() == 0 || path == NULL || *path == '\0') {
		ckpt_failed = 1;
		return (-1);
	}
	if (sqlite3_open_v2(path, &ckpt_db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("sqlite: checkpoint connection: %s",
		    ckpt_db != NULL ? sqlite3_errmsg(ckpt_db) : "no memory");
		goto fail;
	}
	/*
	 * It runs no statements: no lookaside, a small page cache; it syncs
	 * as the loop's connection does.
	 */
	sqlite3_db_config(ckpt_db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 0, 0);
	if (sqlite3_exec(ckpt_db, "PRAGMA synchronous = NORMAL; "
	    "PRAGMA cache_size = -64", NULL, NULL, &why) != SQLITE_OK) {
		log_warnx("sqlite: checkpoint connection: %s", why);
		sqlite3_free(why);
		goto fail;
	}
	/*
	 * What the thread allocates (SQLite's checkpoint iterator, at most
	 * a few hundred KiB) comes from the loop's arena: glibc would give
	 * it one of its own, whose pages stay with the process.
	 */
	mallopt(M_ARENA_MAX, 1);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&ckpt_thread, NULL, db_ckpt_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("checkpoint thread: %s", strerror(rc));
		goto fail;
	}
	ckpt_started = 1;
	return (0);

fail:
	sqlite3_close(ckpt_db);
	ckpt_db = NULL;
	ckpt_failed = 1;
	return (-1);
}

/*
 * Ask for a checkpoint in the thread (one asked for while another runs
 * follows it). Returns -1 if there is no thread: the caller checkpoints
 * itself.
 */
int
db_ckpt_request(void)
{
	char	 why[sizeof ckpt_why];

	if (ckpt_failed || (!ckpt_started && db_ckpt_start() != 0))
		return (-1);
	pthread_mutex_lock(&ckpt_lock);
	strlcpy(why, ckpt_why, sizeof why);
	ckpt_why[0] = '\0';
	ckpt_wanted = 1;
	pthread_cond_signal(&ckpt_cond);
	pthread_mutex_unlock(&ckpt_lock);
	if (why[0] != '\0')
		log_warnx("sqlite: checkpoint: %s", why);
	return (0);
}

/* Where the thread is (see enum db_ckpt_state). */
enum db_ckpt_state
db_ckpt_state(void)
{
	enum db_ckpt_state	 state;

	if (!ckpt_started)
		return (DB_CKPT_NONE);
	pthread_mutex_lock(&ckpt_lock);
	if (ckpt_wanted || ckpt_busy)
		state = DB_CKPT_BUSY;
	else
		state = ckpt_all ? DB_CKPT_DONE : DB_CKPT_BEHIND;
	pthread_mutex_unlock(&ckpt_lock);
	return (state);
}

/* End the thread (after its checkpoint, if one runs) and its connection. */
void
db_ckpt_stop(void)
{
	if (ckpt_started) {
		pthread_mutex_lock(&ckpt_lock);
		ckpt_quit = 1;
		pthread_cond_signal(&ckpt_cond);
		pthread_mutex_unlock(&ckpt_lock);
		pthread_join(ckpt_thread, NULL);
	}
	if (ckpt_db != NULL)
		sqlite3_close(ckpt_db);
	ckpt_db = NULL;
	ckpt_started = ckpt_failed = ckpt_wanted = ckpt_busy = ckpt_all = 0;
	ckpt_quit = 0;
	ckpt_why[0] = '\0';
}
