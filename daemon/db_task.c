/* Per task in the store: pruning and its counts, schedule fires, secrets. */

#include <stdlib.h>

#include <sqlite3.h>

#include "microlightd.h"
#include "db.h"

/* Delete one run (its output goes with it) and count it as pruned. */
static int
db_prune_one(int64_t id, const char *task)
{
	sqlite3_stmt	*st;

	st = db_stmt(STMT_PRUNE_DELETE);
	sqlite3_bind_int64(st, 1, id);
	if (db_step_done(st, "pruning a run") != 0)
		return (-1);
	db_latest_forget(task);
	st = db_stmt(STMT_PRUNE_COUNT);
	sqlite3_bind_text(st, 1, task, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, id);
	return (db_step_done(st, "counting a pruned run"));
}

/*
 * Prune at most limit runs in one transaction: first those that ended
 * before the cutoff (ms; 0: none), then, for one task with more than keep
 * ended runs (0: no limit), its oldest beyond those keep. Runs queued or
 * running are never pruned. Returns how many were pruned, or -1.
 */
int
db_prune(int64_t cutoff, int keep, int limit)
{
	sqlite3_stmt	*st, *tst;
	int64_t		*ids = NULL;
	char		**tasks = NULL, *task = NULL;
	int		 n = 0, i, rc = -1;

	if (db_begin() != 0)
		return (-1);
	if (cutoff > 0) {
		st = db_stmt(STMT_PRUNE_OLD);
		sqlite3_bind_int64(st, 1, cutoff);
		sqlite3_bind_int(st, 2, limit);
		while (n < limit && sqlite3_step(st) == SQLITE_ROW) {
			ids = xreallocarray(ids, n + 1, sizeof *ids);
			tasks = xreallocarray(tasks, n + 1, sizeof *tasks);
			ids[n] = sqlite3_column_int64(st, 0);
			tasks[n] = xstrdup((const char *)
			    sqlite3_column_text(st, 1));
			n++;
		}
		sqlite3_reset(st);
	}
	if (n < limit && keep > 0) {
		/*
		 * Each task over its keep (counted in task_runs, not by
		 * reading its runs), until the batch is full.
		 */
		tst = db_stmt(STMT_PRUNE_TASK);
		sqlite3_bind_int(tst, 1, keep);
		while (n < limit && sqlite3_step(tst) == SQLITE_ROW) {
			task = xstrdup((const char *)
			    sqlite3_column_text(tst, 0));
			st = db_stmt(STMT_PRUNE_EXCESS);
			sqlite3_bind_text(st, 1, task, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(st, 2, limit - n);
			sqlite3_bind_int64(st, 3, sqlite3_column_int64(tst, 1));
			while (n < limit && sqlite3_step(st) == SQLITE_ROW) {
				ids = xreallocarray(ids, n + 1, sizeof *ids);
				tasks = xreallocarray(tasks, n + 1,
				    sizeof *tasks);
				ids[n] = sqlite3_column_int64(st, 0);
				tasks[n] = xstrdup(task);
				n++;
			}
			sqlite3_reset(st);
			free(task);
			task = NULL;
		}
		sqlite3_reset(tst);
	}
	for (i = 0; i < n; i++) {
		if (db_prune_one(ids[i], tasks[i]) != 0)
			goto out;
	}
	if (db_commit() == 0)
		rc = n;
out:
	if (rc == -1)
		db_rollback();
	for (i = 0; i < n; i++)
		free(tasks[i]);
	free(tasks);
	free(ids);
	free(task);
	return (rc);
}

/*
 * How many runs were pruned (of one task, or of all, NULL), and whether
 * run id existed once and was pruned. Either may be NULL.
 */
int
db_pruned(const char *task, int64_t id, int64_t *count, int *was)
{
	sqlite3_stmt	*st;
	int		 rc = 0;

	if (count != NULL) {
		*count = 0;
		st = db_stmt(STMT_PRUNED_COUNT);
		if (task != NULL)
			sqlite3_bind_text(st, 1, task, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			*count = sqlite3_column_int64(st, 0);
		else
			rc = -1;
		sqlite3_reset(st);
	}
	if (was != NULL) {
		/* Ids only grow: a missing id below the last was pruned. */
		*was = 0;
		st = db_stmt(STMT_LAST_ID);
		if (sqlite3_step(st) == SQLITE_ROW)
			*was = id > 0 && id <= sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return (rc);
}

/* Record that a schedule fired (or was first armed) at a time (seconds). */
int
db_schedule_fired(const char *task, const char *expr, int64_t at)
{
	sqlite3_stmt	*st = db_stmt(STMT_SCHEDULE_FIRED);

	sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, expr, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, at);
	return (db_step_done(st, "recording a schedule's fire"));
}

/* When a schedule last fired (seconds), or 0 if it never did. */
int64_t
db_schedule_last(const char *task, const char *expr)
{
	sqlite3_stmt	*st = db_stmt(STMT_SCHEDULE_LAST);
	int64_t		 last = 0;

	sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, expr, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return (last);
}

/* The secret the daemon made for a task's webhook, or NULL. */
char *
db_hook_secret(const char *task)
{
	sqlite3_stmt	*st = db_stmt(STMT_HOOK_GET);
	char		*secret = NULL;

	sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		secret = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return (secret);
}

/* Store a task's webhook secret (made, or made again by --rotate). */
int
db_hook_secret_set(const char *task, const char *secret)
{
	sqlite3_stmt	*st = db_stmt(STMT_HOOK_SET);

	sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, secret, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, time_now_ms());
	return (db_step_done(st, "storing a webhook secret"));
}
