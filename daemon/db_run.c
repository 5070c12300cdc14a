/* Run records in the store: insert, update, load, the queries on runs. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "microlightd.h"
#include "db.h"

static db_run_newer_cb db_newer; /* records not in the database yet */

/*
 * Each task's latest run, its latest ended run and the time of its soonest
 * scheduled run, which list and the page ask for every task they show:
 * read once, then kept
 * here and kept current by the writes that change them (a run inserted, a
 * record updated, a run pruned), so that a list reads nothing from the
 * database however many runs it holds. A transaction rolled back may have
 * held some of those writes: then everything is forgotten (db_latest_clear)
 * and read again when asked. Entries are made only for tasks asked about;
 * past DB_LATEST_MAX of them (names of tasks long gone) all are forgotten.
 */
struct db_latest {
	char			*task;
	int			 known;		/* run is the latest */
	struct runrec		 run;		/* id 0: the task has none */
	int			 ended_known;	/* ended is the latest ended */
	struct runrec		 ended;		/* id 0: none has ended */
	int			 next_known;	/* next is the soonest */
	int64_t			 next;		/* ms; 0: none scheduled */
	RB_ENTRY(db_latest)	 entry;
};
RB_HEAD(db_latest_tree, db_latest);
RB_PROTOTYPE(db_latest_tree, db_latest, entry, db_latest_cmp);

/* By task name. */
static int
db_latest_cmp(struct db_latest *a, struct db_latest *b)
{
	return (strcmp(a->task, b->task));
}
RB_GENERATE(db_latest_tree, db_latest, entry, db_latest_cmp);

#define DB_LATEST_MAX	4096

static struct db_latest_tree	 db_latest = RB_INITIALIZER(&db_latest);
static u_int			 db_nlatest;

/* A task's entry, or NULL; made (nothing known yet) if make is set. */
static struct db_latest *
db_latest_get(const char *task, int make)
{
	struct db_latest	 key, *e;

	key.task = (char *)task;
	if ((e = RB_FIND(db_latest_tree, &db_latest, &key)) != NULL || !make)
		return (e);
	if (db_nlatest >= DB_LATEST_MAX)
		db_latest_clear();
	e = xcalloc(1, sizeof *e);
	e->task = xstrdup(task);
	RB_INSERT(db_latest_tree, &db_latest, e);
	db_nlatest++;
	return (e);
}

/* Forget what is known of every task's latest runs (a rollback, exit). */
void
db_latest_clear(void)
{
	struct db_latest	*e;

	while ((e = RB_ROOT(&db_latest)) != NULL) {
		RB_REMOVE(db_latest_tree, &db_latest, e);
		if (e->known)
			runrec_clear(&e->run);
		if (e->ended_known)
			runrec_clear(&e->ended);
		free(e->task);
		free(e);
	}
	db_nlatest = 0;
}

/* A run of task was pruned: its latest run is read again when asked. */
void
db_latest_forget(const char *task)
{
	struct db_latest	*e;

	if ((e = db_latest_get(task, 0)) == NULL)
		return;
	if (e->known) {
		runrec_clear(&e->run);
		e->known = 0;
	}
	if (e->ended_known) {
		runrec_clear(&e->ended);
		e->ended_known = 0;
	}
}

/*
 * A run was written (inserted if new): if it is its task's latest, its
 * latest ended (by id, as the query orders them), or a scheduled run
 * sooner than the soonest known, the entry follows; a run that leaves the
 * scheduled ones makes the soonest unknown.
 */
static void
db_latest_written(const struct runrec *r, int new)
{
	struct db_latest	*e;

	if ((e = db_latest_get(r->task, 0)) == NULL)
		return;
	/* Ids only grow: a new run is its task's latest. */
	if (e->known && (new || e->run.id == r->id)) {
		runrec_clear(&e->run);
		runrec_copy(&e->run, r);
	}
	if (e->ended_known && r->finished_at != 0 && r->id >= e->ended.id) {
		runrec_clear(&e->ended);
		runrec_copy(&e->ended, r);
	}
	if (!e->next_known || r->not_before == 0)
		return;
	if (r->status == RUN_SCHEDULED) {
		if (e->next == 0 || r->not_before < e->next)
			e->next = r->not_before;
	} else if (!new && r->not_before <= e->next)
		e->next_known = 0;
}

/* Bind an integer, or NULL when it equals none. */
static void
db_bind_opt(sqlite3_stmt *st, int col, int64_t v, int64_t none)
{
	if (v == none)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_int64(st, col, v);
}

/* Insert a new run; its id is stored in r->id. */
int
db_run_insert(struct runrec *r)
{
	sqlite3_stmt	*st = db_stmt(STMT_RUN_INSERT);
	char		*params;

	params = json_dumps(r->params, JSON_COMPACT);
	sqlite3_bind_text(st, 1, r->task, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, proto_status_name(r->status), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 3, proto_trigger_name(r->trigger), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->triggered_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, params != NULL ? params : "{}", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int(st, 6, r->attempt);
	db_bind_opt(st, 7, r->retry_of, 0);
	sqlite3_bind_int64(st, 8, r->queued_at);
	db_bind_opt(st, 9, r->started_at, 0);
	sqlite3_bind_int(st, 10, r->priority);
	db_bind_opt(st, 11, r->not_before, 0);
	db_bind_opt(st, 12, r->chain_of, 0);
	db_bind_opt(st, 13, r->finished_at, 0);
	if (r->reason != NULL)
		sqlite3_bind_text(st, 14, r->reason, -1, SQLITE_STATIC);
	if (r->chain_tasks != NULL)
		sqlite3_bind_text(st, 15, r->chain_tasks, -1, SQLITE_STATIC);
	if (r->schedule != NULL)
		sqlite3_bind_text(st, 16, r->schedule, -1, SQLITE_STATIC);
	db_bind_opt(st, 17, r->rerun_of, 0);
	db_bind_opt(st, 18, r->notice, 0);
	if (db_step_done(st, "inserting a run") != 0) {
		free(params);
		return (-1);
	}
	free(params);
	r->id = sqlite3_last_insert_rowid(db);
	db_latest_written(r, 1);
	return (0);
}

/* Write a run's changing fields. */
int
db_run_update(const struct runrec *r)
{
	sqlite3_stmt	*st = db_stmt(STMT_RUN_UPDATE);

	sqlite3_bind_text(st, 1, proto_status_name(r->status), -1,
	    SQLITE_STATIC);
	db_bind_opt(st, 2, r->started_at, 0);
	db_bind_opt(st, 3, r->finished_at, 0);
	db_bind_opt(st, 4, r->exit_code, -1);
	db_bind_opt(st, 5, r->signal, 0);
	if (r->reason != NULL)
		sqlite3_bind_text(st, 6, r->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, r->output_size);
	sqlite3_bind_int64(st, 8, r->output_dropped);
	sqlite3_bind_int64(st, 9, r->id);
	if (db_step_done(st, "updating a run") != 0)
		return (-1);
	db_latest_written(r, 0);
	return (0);
}

/* A text column, copied; NULL stays NULL. */
static char *
db_column_text(sqlite3_stmt *st, int col)
{
	const u_char	*s = sqlite3_column_text(st, col);

	return (s == NULL ? NULL : xstrdup((const char *)s));
}

/* An integer column, or none when NULL. */
static int64_t
db_column_opt(sqlite3_stmt *st, int col, int64_t none)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return (none);
	return (sqlite3_column_int64(st, col));
}

/* Fill a record from a row of RUN_COLUMNS (or from the newer hook). */
static void
db_row_runrec(sqlite3_stmt *st, struct runrec *r)
{
	const struct runrec	*newer;
	const char		*s;
	int			 v;

	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(st, 0);
	r->task = db_column_text(st, 1);
	s = (const char *)sqlite3_column_text(st, 2);
	v = s != NULL ? proto_status_from(s) : -1;
	r->status = v == -1 ? RUN_LOST : (enum run_status)v;
	s = (const char *)sqlite3_column_text(st, 3);
	v = s != NULL ? proto_trigger_from(s) : -1;
	r->trigger = v == -1 ? TRIGGER_CLI : (enum run_trigger)v;
	r->triggered_by = db_column_text(st, 4);
	s = (const char *)sqlite3_column_text(st, 5);
	r->params = s != NULL ? json_loads(s, 0, NULL) : NULL;
	if (r->params == NULL)
		r->params = json_object();
	r->attempt = sqlite3_column_int(st, 6);
	r->retry_of = db_column_opt(st, 7, 0);
	r->queued_at = sqlite3_column_int64(st, 8);
	r->started_at = db_column_opt(st, 9, 0);
	r->finished_at = db_column_opt(st, 10, 0);
	r->exit_code = (int)db_column_opt(st, 11, -1);
	r->signal = (int)db_column_opt(st, 12, 0);
	r->reason = db_column_text(st, 13);
	r->priority = sqlite3_column_int(st, 14);
	r->output_size = sqlite3_column_int64(st, 15);
	r->output_dropped = sqlite3_column_int64(st, 16);
	r->not_before = db_column_opt(st, 17, 0);
	r->chain_of = db_column_opt(st, 18, 0);
	r->chain_tasks = db_column_text(st, 19);
	r->schedule = db_column_text(st, 20);
	r->rerun_of = db_column_opt(st, 21, 0);
	r->notice = db_column_opt(st, 22, 0);
	if (r->task == NULL)
		r->task = xstrdup("?");
	if (r->triggered_by == NULL)
		r->triggered_by = xstrdup("?");
	if (db_newer != NULL && (newer = db_newer(r->id)) != NULL) {
		runrec_clear(r);
		runrec_copy(r, newer);
	}
}

/*
 * Set the hook that gives a run's record newer than its row (record.c's,
 * kept while the database refuses it): every run read is read as that,
 * so that no list shows a run as running after it ended.
 */
void
db_run_newer_set(db_run_newer_cb cb)
{
	db_newer = cb;
}

/* Load one run: 0 found, 1 no such run, -1 error. */
int
db_run_load(int64_t id, struct runrec *r)
{
	sqlite3_stmt	*st = db_stmt(STMT_RUN_LOAD);
	int		 rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db_row_runrec(st, r);
		sqlite3_reset(st);
		return (0);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return (1);
	log_warnx("sqlite: loading run %lld: %s", (long long)id,
	    sqlite3_errmsg(db));
	return (-1);
}

/*
 * Call cb for runs, newest first: of one task (or any), of one status (or
 * any, -1), with ids below before (or any, 0), at most limit; only of the
 * tasks named in only (a JSON array), unless it is NULL. Scheduled
 * runs come soonest first instead, those after run before.
 */
int
db_runs_query(const char *task, const json_t *only, int status,
    int64_t before, int limit, db_run_cb cb, void *arg)
{
	sqlite3_stmt	*st;
	struct runrec	 r;
	char		 sql[640], *names = NULL;
	const char	*in;
	int		 rc;

	/*
	 * Only the conditions given: "(?1 IS NULL OR task = ?1)" would keep
	 * SQLite from the runs_task index and scan every run. Prepared each
	 * time: it is not hot.
	 */
	in = only != NULL ? " AND task IN (SELECT value FROM json_each(?5))" :
	    "";
	if (status == RUN_SCHEDULED)	/* soonest first, after run before */
		snprintf(sql, sizeof sql, "SELECT " RUN_COLUMNS " FROM runs "
		    "WHERE status = ?2%s%s%s ORDER BY not_before, id LIMIT ?4",
		    task != NULL ? " AND task = ?1" : "", in,
		    before > 0 ? " AND (not_before, id) > (SELECT not_before, "
		    "id FROM runs WHERE id = ?3)" : "");
	else
		snprintf(sql, sizeof sql, "SELECT " RUN_COLUMNS " FROM runs "
		    "WHERE 1%s%s%s%s ORDER BY id DESC LIMIT ?4",
		    task != NULL ? " AND task = ?1" : "",
		    status != -1 ? " AND status = ?2" : "", in,
		    before > 0 ? " AND id < ?3" : "");
	db_flush();
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("sqlite: listing runs: %s", sqlite3_errmsg(db));
		return (-1);
	}
	if (task != NULL)
		sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
	if (status != -1)
		sqlite3_bind_text(st, 2, proto_status_name(status), -1,
		    SQLITE_STATIC);
	if (before > 0)
		sqlite3_bind_int64(st, 3, before);
	sqlite3_bind_int(st, 4, limit);
	if (only != NULL) {
		names = json_dumps(only, JSON_COMPACT);
		sqlite3_bind_text(st, 5, names != NULL ? names : "[]", -1,
		    SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_row_runrec(st, &r);
		cb(&r, arg);
		runrec_clear(&r);
	}
	if (rc != SQLITE_DONE)
		log_warnx("sqlite: listing runs: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	free(names);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/*
 * Call cb for each run that is queued (status RUN_QUEUED, best first) or
 * running (RUN_RUNNING, oldest first); cb owns the record. Each status
 * has its own statement, so that the partial index of live runs serves.
 */
int
db_runs_in(enum run_status status, void (*cb)(struct runrec *, void *),
    void *arg)
{
	sqlite3_stmt	*st;
	struct runrec	*r;
	int		 rc;

	st = db_stmt(status == RUN_QUEUED ? STMT_RUNS_QUEUED :
	    STMT_RUNS_RUNNING);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = xmalloc(sizeof *r);
		db_row_runrec(st, r);
		cb(r, arg);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("sqlite: loading %s runs: %s",
		    proto_status_name(status), sqlite3_errmsg(db));
		return (-1);
	}
	return (0);
}

/*
 * Call cb for the scheduled runs due before until, after (t, id) in time
 * order, at most limit of them; cb owns the record. Returns how many, or
 * -1.
 */
int
db_runs_due(int64_t t, int64_t id, int64_t until, int limit,
    void (*cb)(struct runrec *, void *), void *arg)
{
	sqlite3_stmt	*st = db_stmt(STMT_RUNS_DUE);
	struct runrec	*r;
	int		 rc, n = 0;

	sqlite3_bind_int64(st, 1, t);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_int64(st, 3, until);
	sqlite3_bind_int(st, 4, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = xmalloc(sizeof *r);
		db_row_runrec(st, r);
		cb(r, arg);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("sqlite: loading scheduled runs: %s",
		    sqlite3_errmsg(db));
		return (-1);
	}
	return (n);
}

/* How many runs are scheduled, or -1. */
int64_t
db_runs_scheduled(void)
{
	sqlite3_stmt	*st = db_stmt(STMT_RUNS_SCHEDULED);
	int64_t		 n = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return (n);
}

/* The scheduled retry of the run whose first run is first: its id, or 0. */
int64_t
db_retry_waiting(int64_t first)
{
	sqlite3_stmt	*st = db_stmt(STMT_RETRY_WAITING);
	int64_t		 id = 0;

	sqlite3_bind_int64(st, 1, first);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return (id);
}

/*
 * Read a task's one run of statement stmt (a last run of some kind) into
 * rec, kept (id 0: none), and say it is known: 0, or -1 on error (logged,
 * nothing kept).
 */
static int
db_latest_read(enum db_stmt stmt, const char *task, const char *what,
    struct runrec *rec, int *known)
{
	sqlite3_stmt	*st = db_stmt(stmt);
	int		 rc;

	sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		db_row_runrec(st, rec);
	else if (rc != SQLITE_DONE) {
		log_warnx("sqlite: the %s of %s: %s", what, task,
		    sqlite3_errmsg(db));
		sqlite3_reset(st);
		return (-1);
	}
	sqlite3_reset(st);
	*known = 1;
	return (0);
}

/*
 * The latest run of one task, in *rp: the store's own record, valid until
 * the next call into the store. 0, 1 if it has none, -1 on error. Read
 * (one index lookup, runs_task) the first time a task is asked about,
 * then kept (see db_latest).
 */
int
db_last_run_ref(const char *task, const struct runrec **rp)
{
	struct db_latest	*e = db_latest_get(task, 1);
	const struct runrec	*newer;

	if (!e->known && db_latest_read(STMT_LAST_RUN_OF, task, "last run",
	    &e->run, &e->known) != 0)
		return (-1);
	if (e->run.id == 0)
		return (1);
	if (db_newer != NULL && (newer = db_newer(e->run.id)) != NULL)
		*rp = newer;
	else
		*rp = &e->run;
	return (0);
}

/* The same as db_last_run_ref, a copy in *r (the caller's to clear). */
int
db_last_run(const char *task, struct runrec *r)
{
	const struct runrec	*p;
	int			 rc;

	if ((rc = db_last_run_ref(task, &p)) == 0)
		runrec_copy(r, p);
	return (rc);
}

/*
 * The latest run of a task that has ended (the one with the highest id),
 * in r (the caller's to clear): 0, 1 if none has, -1 on error (logged).
 * One look-up in the runs_task_ended index the first time, then kept (see
 * db_latest).
 */
int
db_last_ended(const char *task, struct runrec *r)
{
	struct db_latest	*e = db_latest_get(task, 1);

	if (!e->ended_known && db_latest_read(STMT_LAST_ENDED_OF, task,
	    "last ended run", &e->ended, &e->ended_known) != 0)
		return (-1);
	if (e->ended.id == 0)
		return (1);
	runrec_copy(r, &e->ended);
	return (0);
}

/*
 * When the soonest scheduled run of one task is due (ms), or 0: none, or
 * an error (logged). One lookup in the runs_scheduled_task index the
 * first time, then kept (see db_latest).
 */
int64_t
db_next_scheduled(const char *task)
{
	struct db_latest	*e = db_latest_get(task, 1);
	sqlite3_stmt		*st;

	if (e->next_known)
		return (e->next);
	st = db_stmt(STMT_NEXT_SCHEDULED);
	sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		log_warnx("sqlite: the next scheduled run of %s: %s", task,
		    sqlite3_errmsg(db));
		sqlite3_reset(st);
		return (0);
	}
	e->next = db_column_opt(st, 0, 0);
	e->next_known = 1;
	sqlite3_reset(st);
	return (e->next);
}

/* Copy a record (deeply: dst owns its own strings). */
void
runrec_copy(struct runrec *dst, const struct runrec *src)
{
	*dst = *src;
	dst->task = xstrdup(src->task);
	dst->triggered_by = xstrdup(src->triggered_by);
	dst->reason = src->reason != NULL ? xstrdup(src->reason) : NULL;
	dst->params = src->params != NULL ? json_deep_copy(src->params) :
	    json_object();
	dst->chain_tasks = src->chain_tasks != NULL ?
	    xstrdup(src->chain_tasks) : NULL;
	dst->schedule = src->schedule != NULL ? xstrdup(src->schedule) : NULL;
}

/* Free what a record holds. */
void
runrec_clear(struct runrec *r)
{
	free(r->task);
	free(r->triggered_by);
	free(r->reason);
	free(r->chain_tasks);
	free(r->schedule);
	json_decref(r->params);
	memset(r, 0, sizeof *r);
}

/* Each task's last success (ms), for the metrics. */
int
db_last_successes(void (*cb)(const char *, int64_t, void *), void *arg)
{
	sqlite3_stmt	*st = db_stmt(STMT_LAST_SUCCESS);
	int		 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int64(st, 1), arg);
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}
