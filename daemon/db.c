/* The store: runs and their output in SQLite (WAL), schema by user_version. */

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "microlightd.h"

static sqlite3	*db;
static int	 db_error;	/* the last failed statement's result code */
static db_output_tail_cb db_tail; /* output not in the database yet */
static db_run_newer_cb db_newer; /* records not in the database yet */

/*
 * Migrations: entry N takes the schema from version N to N + 1. Append,
 * never edit: a database made by any earlier version must still migrate.
 */
static const char *db_migrations[] = {
	/* 0 -> 1: runs and their output. */
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  task TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  trigger TEXT NOT NULL,"
	"  triggered_by TEXT NOT NULL,"
	"  params TEXT NOT NULL DEFAULT '{}',"
	"  attempt INTEGER NOT NULL DEFAULT 1,"
	"  retry_of INTEGER REFERENCES runs(id) ON DELETE SET NULL,"
	"  queued_at INTEGER NOT NULL,"
	"  started_at INTEGER,"
	"  finished_at INTEGER,"
	"  exit_code INTEGER,"
	"  signal INTEGER,"
	"  reason TEXT,"
	"  priority INTEGER NOT NULL DEFAULT 0,"
	"  output_size INTEGER NOT NULL DEFAULT 0,"
	"  output_dropped INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE INDEX runs_task ON runs(task, id);"
	"CREATE INDEX runs_active ON runs(status) "
	"  WHERE status IN ('queued', 'running');"
	"CREATE TABLE output ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  stream INTEGER NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  data BLOB NOT NULL,"
	"  PRIMARY KEY (run_id, seq)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") STRICT;",

	/* 1 -> 2: retry delays, chains, pruning. */
	"ALTER TABLE runs ADD COLUMN not_before INTEGER;"
	"ALTER TABLE runs ADD COLUMN chain_of INTEGER;"
	"ALTER TABLE runs ADD COLUMN chain_tasks TEXT;"
	"CREATE INDEX runs_finished ON runs(finished_at) "
	"  WHERE finished_at IS NOT NULL;"
	"CREATE TABLE pruned ("
	"  task TEXT PRIMARY KEY,"
	"  count INTEGER NOT NULL,"
	"  last_id INTEGER NOT NULL"
	") STRICT;",

	/* 2 -> 3: schedules. */
	"ALTER TABLE runs ADD COLUMN schedule TEXT;"
	"CREATE TABLE schedules ("
	"  task TEXT NOT NULL,"
	"  expr TEXT NOT NULL,"
	"  last_fire INTEGER NOT NULL,"
	"  PRIMARY KEY (task, expr)"
	") STRICT, WITHOUT ROWID;",

	/* 3 -> 4: the web front end: webhook bodies, generated secrets. */
	"CREATE TABLE run_input ("
	"  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
	"  data BLOB NOT NULL"
	") STRICT;"
	"CREATE TABLE webhooks ("
	"  task TEXT PRIMARY KEY,"
	"  secret TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL"
	") STRICT;",
};
#define DB_VERSION (int)(sizeof db_migrations / sizeof db_migrations[0])

#define RUN_COLUMNS "id, task, status, trigger, triggered_by, params, " \
	"attempt, retry_of, queued_at, started_at, finished_at, exit_code, " \
	"signal, reason, priority, output_size, output_dropped, not_before, " \
	"chain_of, chain_tasks, schedule"

/*
 * A run that a waiting or running retry names as its first is kept, so
 * that cancelling it still finds the retry (pruning goes on later).
 */
#define NOT_REFERENCED "id NOT IN (SELECT retry_of FROM runs WHERE " \
	"status IN ('queued', 'running') AND retry_of IS NOT NULL)"

/* Prepared statements, made once and kept. */
enum db_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_RUN_INSERT,
	STMT_RUN_UPDATE,
	STMT_RUN_LOAD,
	STMT_RUNS_RECOVER,
	STMT_RUNS_QUEUED,
	STMT_OUTPUT_INSERT,
	STMT_OUTPUT_READ,
	STMT_LAST_RUNS,
	STMT_PRUNE_OLD,
	STMT_PRUNE_TASK,
	STMT_PRUNE_EXCESS,
	STMT_PRUNE_DELETE,
	STMT_PRUNE_COUNT,
	STMT_PRUNED_COUNT,
	STMT_LAST_ID,
	STMT_SCHEDULE_FIRED,
	STMT_SCHEDULE_LAST,
	STMT_LAST_SUCCESS,
	STMT_PING,
	STMT_INPUT_PUT,
	STMT_INPUT_GET,
	STMT_HOOK_GET,
	STMT_HOOK_SET,
	STMT_LAST_RUN_OF,	/* the web page: one task's latest run */
	STMT_MAX
};
static const char *db_stmt_sql[STMT_MAX] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_RUN_INSERT] = "INSERT INTO runs (task, status, trigger, "
	    "triggered_by, params, attempt, retry_of, queued_at, started_at, "
	    "priority, not_before, chain_of, finished_at, reason, chain_tasks, "
	    "schedule) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[STMT_RUN_UPDATE] = "UPDATE runs SET status = ?, started_at = ?, "
	    "finished_at = ?, exit_code = ?, signal = ?, reason = ?, "
	    "output_size = ?, output_dropped = ? WHERE id = ?",
	[STMT_RUN_LOAD] = "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?",
	[STMT_RUNS_RECOVER] = "UPDATE runs SET status = 'lost', "
	    "finished_at = ?, reason = 'the daemon stopped while it ran' "
	    "WHERE status = 'running'",
	[STMT_RUNS_QUEUED] = "SELECT " RUN_COLUMNS " FROM runs "
	    "WHERE status = 'queued' ORDER BY priority DESC, id",
	[STMT_OUTPUT_INSERT] = "INSERT INTO output (run_id, seq, stream, "
	    "time, data) VALUES (?, ?, ?, ?, ?)",
	[STMT_OUTPUT_READ] = "SELECT seq, stream, time, data FROM output "
	    "WHERE run_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
	[STMT_LAST_RUNS] = "SELECT " RUN_COLUMNS " FROM runs "
	    "WHERE id IN (SELECT max(id) FROM runs GROUP BY task)",
	[STMT_PRUNE_OLD] = "SELECT id, task FROM runs WHERE finished_at < ? "
	    "AND " NOT_REFERENCED " ORDER BY finished_at LIMIT ?",
	[STMT_PRUNE_TASK] = "SELECT task FROM runs WHERE finished_at IS NOT "
	    "NULL GROUP BY task HAVING count(*) > ?",
	[STMT_PRUNE_EXCESS] = "SELECT id FROM (SELECT id FROM runs WHERE "
	    "task = ?1 AND finished_at IS NOT NULL ORDER BY id DESC "
	    "LIMIT -1 OFFSET ?3) WHERE " NOT_REFERENCED " LIMIT ?2",
	[STMT_PRUNE_DELETE] = "DELETE FROM runs WHERE id = ?",
	[STMT_PRUNE_COUNT] = "INSERT INTO pruned (task, count, last_id) "
	    "VALUES (?1, 1, ?2) ON CONFLICT (task) DO UPDATE SET "
	    "count = count + 1, last_id = max(last_id, ?2)",
	[STMT_PRUNED_COUNT] = "SELECT coalesce(sum(count), 0) FROM pruned "
	    "WHERE ?1 IS NULL OR task = ?1",
	[STMT_LAST_ID] = "SELECT coalesce(max(seq), 0) FROM sqlite_sequence "
	    "WHERE name = 'runs'",
	[STMT_SCHEDULE_FIRED] = "INSERT INTO schedules (task, expr, "
	    "last_fire) VALUES (?, ?, ?) ON CONFLICT (task, expr) DO UPDATE "
	    "SET last_fire = excluded.last_fire",
	[STMT_SCHEDULE_LAST] = "SELECT last_fire FROM schedules "
	    "WHERE task = ? AND expr = ?",
	[STMT_LAST_SUCCESS] = "SELECT task, max(finished_at) FROM runs "
	    "WHERE status = 'succeeded' GROUP BY task",
	[STMT_PING] = "SELECT count(*) FROM meta",
	[STMT_INPUT_PUT] = "INSERT INTO run_input (run_id, data) VALUES (?, ?)",
	[STMT_INPUT_GET] = "SELECT data FROM run_input WHERE run_id = ?",
	[STMT_HOOK_GET] = "SELECT secret FROM webhooks WHERE task = ?",
	[STMT_HOOK_SET] = "INSERT INTO webhooks (task, secret, created_at) "
	    "VALUES (?, ?, ?) ON CONFLICT (task) DO UPDATE SET "
	    "secret = excluded.secret, created_at = excluded.created_at",
	/* The web page's. */
	[STMT_LAST_RUN_OF] = "SELECT " RUN_COLUMNS " FROM runs WHERE task = ? "
	    "ORDER BY id DESC LIMIT 1",
};
static sqlite3_stmt *db_stmts[STMT_MAX];

/* A prepared statement, reset and with its bindings cleared. */
static sqlite3_stmt *
db_stmt(enum db_stmt which)
{
	sqlite3_stmt	*st = db_stmts[which];

	if (st == NULL) {
		if (sqlite3_prepare_v3(db, db_stmt_sql[which], -1,
		    SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
			fatalx("sqlite: preparing \"%s\": %s",
			    db_stmt_sql[which], sqlite3_errmsg(db));
		db_stmts[which] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (st);
}

/* Step a statement that returns no rows; log and return -1 on failure. */
static int
db_step_done(sqlite3_stmt *st, const char *what)
{
	int	 rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_error = rc;
		log_warnx("sqlite: %s: %s", what, sqlite3_errmsg(db));
		return (-1);
	}
	return (0);
}

/* Why the last write failed, in a few words, for a run's reason. */
const char *
db_failure(void)
{
	if ((db_error & 0xff) == SQLITE_FULL)
		return ("database or disk full");
	return (sqlite3_errstr(db_error));
}

/* Whether the last write failed for good (a constraint): no use retrying. */
int
db_failure_lasting(void)
{
	return ((db_error & 0xff) == SQLITE_CONSTRAINT);
}

/* Run SQL text without results. */
static int
db_exec(const char *sql, char **cause)
{
	char	*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		xasprintf(cause, "%s", err != NULL ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return (-1);
	}
	return (0);
}

/* An integer PRAGMA's value. */
static int
db_pragma_int(const char *sql, int *out)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return (-1);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return (rc);
}

/*
 * Bring the schema from version (read and checked by db_open) to
 * DB_VERSION, one transaction per step.
 */
static int
db_migrate(int version, char **cause)
{
	char	*sql, *why, *ignored = NULL;

	for (; version < DB_VERSION; version++) {
		xasprintf(&sql, "BEGIN IMMEDIATE; %s PRAGMA user_version = %d;"
		    " COMMIT;", db_migrations[version], version + 1);
		if (db_exec(sql, &why) != 0) {
			free(sql);
			db_exec("ROLLBACK", &ignored);
			free(ignored);
			xasprintf(cause, "migrating the schema to version %d: "
			    "%s", version + 1, why);
			free(why);
			return (-1);
		}
		free(sql);
		log_info("database schema at version %d", version + 1);
	}
	return (0);
}

/*
 * Checkpoints: SQLite's own, every 1000 WAL pages, would run inside some
 * commit, wherever that falls; with two syncs one takes 8 to 16 ms here,
 * enough to make a scheduled run late. The WAL hook asks for one instead,
 * and it runs from a timer at a moment when no schedule is about to fire.
 */
#define DB_CKPT_PAGES		1000	/* WAL pages that call for one */

static struct event	*ev_ckpt;

/* A checkpoint was asked for: do it now, or after the next fire. */
static void
db_checkpoint_cb(int fd, short events, void *arg)
{
	struct timeval	 tv;
	int64_t		 wait;

	if ((wait = quiet_wait()) > 0) {
		tv.tv_sec = wait / 1000;
		tv.tv_usec = (wait % 1000) * 1000;
		evtimer_add(ev_ckpt, &tv);
		return;
	}
	db_checkpoint();
}

/* Checkpoint at the next quiet moment. */
void
db_checkpoint_soon(void)
{
	struct timeval	 tv = { 0, 0 };

	if (ml_base == NULL) {
		db_checkpoint();
		return;
	}
	if (ev_ckpt == NULL)
		ev_ckpt = evtimer_new(ml_base, db_checkpoint_cb, NULL);
	if (!evtimer_pending(ev_ckpt, NULL))
		evtimer_add(ev_ckpt, &tv);
}

/* After each commit: a WAL that has grown asks for a checkpoint. */
static int
db_wal_hook(void *arg, sqlite3 *handle, const char *name, int pages)
{
	if (pages >= DB_CKPT_PAGES)
		db_checkpoint_soon();
	return (SQLITE_OK);
}

/*
 * Open (creating it 0600 if needed) the database, set WAL, synchronous
 * NORMAL (a killed daemon loses no commit; only a power cut can lose the
 * last ones, never corrupt) and migrate.
 */
int
db_open(const char *path, char **cause)
{
	mode_t	 old;
	int	 rc, vacuum, version = 0;
	char	*why;

	old = umask(077);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		xasprintf(cause, "%s: %s", path, db != NULL ?
		    sqlite3_errmsg(db) : sqlite3_errstr(rc));
		db_close();
		return (-1);
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_extended_result_codes(db, 1);
	/*
	 * A small footprint: SQLite's default lookaside buffer (about 120
	 * KiB, all of it touched at open) is more than one connection doing
	 * short statements needs, and the page cache is capped at 1 MiB.
	 */
	sqlite3_db_config(db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 128, 64);
	/*
	 * Refuse what cannot be used before changing anything (the PRAGMAs
	 * below write: a newer daemon's backup in rollback mode would be
	 * switched to WAL, a read-only file would leave empty -wal and -shm
	 * files that block the next start).
	 */
	if (sqlite3_db_readonly(db, "main") == 1) {
		xasprintf(cause, "%s: the file is read-only", path);
		db_close();
		return (-1);
	}
	if (db_pragma_int("PRAGMA user_version", &version) != 0) {
		xasprintf(cause, "%s: cannot read the schema version: %s",
		    path, sqlite3_errmsg(db));
		db_close();
		return (-1);
	}
	if (version > DB_VERSION) {
		xasprintf(cause, "%s: the database has schema version %d, "
		    "newer than this microlightd knows (%d)", path, version,
		    DB_VERSION);
		db_close();
		return (-1);
	}
	/*
	 * Incremental auto-vacuum, so that pruning gives space back (it takes
	 * effect on a new database; an older one is converted below); and
	 * the WAL file is cut back to 4 MiB after a checkpoint.
	 */
	if (db_exec("PRAGMA auto_vacuum = INCREMENTAL; "
	    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
	    "PRAGMA foreign_keys = ON; PRAGMA cache_size = -1024; "
	    "PRAGMA journal_size_limit = 4194304;", &why) != 0) {
		xasprintf(cause, "%s: %s", path, why);
		free(why);
		db_close();
		return (-1);
	}
	if (db_migrate(version, &why) != 0) {
		xasprintf(cause, "%s: %s", path, why);
		free(why);
		db_close();
		return (-1);
	}
	sqlite3_wal_hook(db, db_wal_hook, NULL);	/* replaces SQLite's */
	if (db_pragma_int("PRAGMA auto_vacuum", &vacuum) == 0 && vacuum == 0) {
		/* Made before auto-vacuum: VACUUM once to switch it on. */
		log_info("%s: switching to incremental vacuum", path);
		if (db_exec("VACUUM", &why) != 0) {
			log_warnx("%s: VACUUM: %s", path, why);
			free(why);
		}
	}
	return (0);
}

/* Close the database, checkpointing the WAL. */
void
db_close(void)
{
	int	 i;

	if (ev_ckpt != NULL)
		event_free(ev_ckpt);
	ev_ckpt = NULL;
	for (i = 0; i < STMT_MAX; i++) {
		sqlite3_finalize(db_stmts[i]);
		db_stmts[i] = NULL;
	}
	if (db != NULL)
		sqlite3_close(db);
	db = NULL;
}

/* Start a write transaction. */
int
db_begin(void)
{
	return (db_step_done(db_stmt(STMT_BEGIN), "begin"));
}

/* Commit the transaction. */
int
db_commit(void)
{
	if (db_step_done(db_stmt(STMT_COMMIT), "commit") != 0) {
		db_rollback();
		return (-1);
	}
	return (0);
}

/* Roll the transaction back, if one is open. */
void
db_rollback(void)
{
	if (!sqlite3_get_autocommit(db))
		db_step_done(db_stmt(STMT_ROLLBACK), "rollback");
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
	if (db_step_done(st, "inserting a run") != 0) {
		free(params);
		return (-1);
	}
	free(params);
	r->id = sqlite3_last_insert_rowid(db);
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
	return (db_step_done(st, "updating a run"));
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
 * Append run objects to array, newest first: of one task (or any), of one
 * status (or any, -1), with ids below before (or any, 0), at most limit.
 */
int
db_runs_query(const char *task, int status, int64_t before, int limit,
    json_t *array)
{
	sqlite3_stmt	*st;
	struct runrec	 r;
	char		 sql[512];
	int		 rc;

	/*
	 * Only the conditions given: "(?1 IS NULL OR task = ?1)" would keep
	 * SQLite from the runs_task index and scan every run. Prepared each
	 * time: it is not hot.
	 */
	snprintf(sql, sizeof sql, "SELECT " RUN_COLUMNS " FROM runs "
	    "WHERE 1%s%s%s ORDER BY id DESC LIMIT ?4",
	    task != NULL ? " AND task = ?1" : "",
	    status != -1 ? " AND status = ?2" : "",
	    before > 0 ? " AND id < ?3" : "");
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
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_row_runrec(st, &r);
		json_array_append_new(array, runrec_json(&r));
		runrec_clear(&r);
	}
	if (rc != SQLITE_DONE)
		log_warnx("sqlite: listing runs: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/* At start: every run left running becomes lost. */
int
db_runs_recover(int64_t now, u_int *nlost)
{
	sqlite3_stmt	*st = db_stmt(STMT_RUNS_RECOVER);

	sqlite3_bind_int64(st, 1, now);
	if (db_step_done(st, "marking lost runs") != 0)
		return (-1);
	*nlost = sqlite3_changes(db);
	return (0);
}

/* Call cb for each queued run, oldest first; cb owns the record. */
int
db_runs_queued(void (*cb)(struct runrec *, void *), void *arg)
{
	sqlite3_stmt	*st = db_stmt(STMT_RUNS_QUEUED);
	struct runrec	*r;
	int		 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = xmalloc(sizeof *r);
		db_row_runrec(st, r);
		cb(r, arg);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("sqlite: loading queued runs: %s",
		    sqlite3_errmsg(db));
		return (-1);
	}
	return (0);
}

/* Store one chunk of output. */
int
db_output_insert(int64_t run, int64_t seq, enum run_stream stream,
    int64_t time, const void *data, size_t len)
{
	sqlite3_stmt	*st = db_stmt(STMT_OUTPUT_INSERT);

	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_int(st, 3, stream);
	sqlite3_bind_int64(st, 4, time);
	sqlite3_bind_blob(st, 5, len == 0 ? "" : data, (int)len,
	    SQLITE_STATIC);
	return (db_step_done(st, "storing output"));
}

/*
 * Set the hook that gives a run's output the database was to store but
 * could not yet (record.c's kept last lines): readers see it after what
 * is stored, so that a log says what it lost even while the disk is full.
 */
void
db_output_tail_set(db_output_tail_cb cb)
{
	db_tail = cb;
}

/*
 * Read up to limit chunks of a run from seq on, calling cb for each; a
 * non-zero return from cb stops. After the last stored chunk come those
 * of the tail hook. Returns the number read, or -1.
 */
int
db_output_read(int64_t run, int64_t seq, int limit, db_output_cb cb,
    void *arg)
{
	sqlite3_stmt	*st = db_stmt(STMT_OUTPUT_READ);
	int64_t		 at;
	int		 rc, n = 0, stopped = 0;

	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_int(st, 3, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		at = sqlite3_column_int64(st, 0);
		seq = at + 1;
		if (cb(at, sqlite3_column_int(st, 1),
		    sqlite3_column_int64(st, 2), sqlite3_column_blob(st, 3),
		    sqlite3_column_bytes(st, 3), arg) != 0) {
			stopped = 1;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("sqlite: reading output of run %lld: %s",
		    (long long)run, sqlite3_errmsg(db));
		sqlite3_reset(st);
		return (-1);
	}
	sqlite3_reset(st);
	if (!stopped && n < limit && db_tail != NULL)
		n += db_tail(run, seq, cb, arg);
	return (n);
}

/* Fill map with task name -> latest run object. */
int
db_last_runs(json_t *map)
{
	sqlite3_stmt	*st = db_stmt(STMT_LAST_RUNS);
	struct runrec	 r;
	int		 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_row_runrec(st, &r);
		json_object_set_new(map, r.task, runrec_json(&r));
		runrec_clear(&r);
	}
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/*
 * The web page's: the latest run of one task as a run object, or NULL
 * (none, or an error). One index lookup (runs_task), where db_last_runs
 * reads the whole index: the task list asks for each task it shows.
 */
json_t *
db_last_run(const char *task)
{
	sqlite3_stmt	*st = db_stmt(STMT_LAST_RUN_OF);
	struct runrec	 r;
	json_t		*obj = NULL;
	int		 rc;

	sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_row_runrec(st, &r);
		obj = runrec_json(&r);
		runrec_clear(&r);
	} else if (rc != SQLITE_DONE)
		log_warnx("sqlite: the last run of %s: %s", task,
		    sqlite3_errmsg(db));
	sqlite3_reset(st);
	return (obj);
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

/* Delete one run (its output goes with it) and count it as pruned. */
static int
db_prune_one(int64_t id, const char *task)
{
	sqlite3_stmt	*st;

	st = db_stmt(STMT_PRUNE_DELETE);
	sqlite3_bind_int64(st, 1, id);
	if (db_step_done(st, "pruning a run") != 0)
		return (-1);
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
		/* Each task over its keep, until the batch is full. */
		tst = db_stmt(STMT_PRUNE_TASK);
		sqlite3_bind_int(tst, 1, keep);
		while (n < limit && sqlite3_step(tst) == SQLITE_ROW) {
			task = xstrdup((const char *)
			    sqlite3_column_text(tst, 0));
			st = db_stmt(STMT_PRUNE_EXCESS);
			sqlite3_bind_text(st, 1, task, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(st, 2, limit - n);
			sqlite3_bind_int(st, 3, keep);
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

/* Copy the WAL into the database now, without waiting on readers. */
void
db_checkpoint(void)
{
	int	 log, ckpt;

	if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
	    &ckpt) != SQLITE_OK)
		log_warnx("sqlite: checkpoint: %s", sqlite3_errmsg(db));
}

/* Give up to pages free pages back to the file system; returns how many remain. */
int
db_vacuum_step(int pages)
{
	char	*sql, *why;
	int	 left = 0;

	xasprintf(&sql, "PRAGMA incremental_vacuum(%d)", pages);
	if (db_exec(sql, &why) != 0) {
		log_warnx("sqlite: incremental vacuum: %s", why);
		free(why);
	}
	free(sql);
	db_pragma_int("PRAGMA freelist_count", &left);
	return (left);
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

/* An online backup of the database into another file, made in steps. */
struct db_backup {
	sqlite3		*dst;
	sqlite3_backup	*b;
};

/* Start a backup into path (a new file). */
struct db_backup *
db_backup_open(const char *path, char **cause)
{
	struct db_backup	*bk;

	bk = xcalloc(1, sizeof *bk);
	if (sqlite3_open_v2(path, &bk->dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		xasprintf(cause, "%s: %s", path, sqlite3_errmsg(bk->dst));
		db_backup_close(bk);
		return (NULL);
	}
	if ((bk->b = sqlite3_backup_init(bk->dst, "main", db, "main")) ==
	    NULL) {
		xasprintf(cause, "backup: %s", sqlite3_errmsg(bk->dst));
		db_backup_close(bk);
		return (NULL);
	}
	return (bk);
}

/*
 * Copy up to pages pages: 1 if more remain, 0 when the copy is complete,
 * -1 with *cause on an error. Changes made meanwhile through the daemon's
 * own connection are carried into the copy as they happen.
 */
int
db_backup_step(struct db_backup *bk, int pages, char **cause)
{
	int	 rc;

	rc = sqlite3_backup_step(bk->b, pages);
	if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return (1);
	if (rc == SQLITE_DONE) {
		sqlite3_backup_finish(bk->b);
		bk->b = NULL;
		/* A copy that stands alone: no WAL beside it. */
		sqlite3_exec(bk->dst, "PRAGMA journal_mode = DELETE", NULL,
		    NULL, NULL);
		return (0);
	}
	xasprintf(cause, "backup: %s", sqlite3_errstr(rc));
	return (-1);
}

/* Pages left to copy and in all, for progress. */
void
db_backup_progress(struct db_backup *bk, int *left, int *total)
{
	*left = bk->b != NULL ? sqlite3_backup_remaining(bk->b) : 0;
	*total = bk->b != NULL ? sqlite3_backup_pagecount(bk->b) : 0;
}

/* End a backup (finished or not) and close the copy. */
void
db_backup_close(struct db_backup *bk)
{
	if (bk == NULL)
		return;
	if (bk->b != NULL)
		sqlite3_backup_finish(bk->b);
	if (bk->dst != NULL)
		sqlite3_close(bk->dst);
	free(bk);
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

/* A time member: RFC 3339 UTC, or null for 0. */
static json_t *
runrec_time(int64_t ms)
{
	char	 buf[TIME_RFC3339_LEN];

	if (ms == 0)
		return (json_null());
	time_rfc3339(ms, buf, sizeof buf);
	return (json_string(buf));
}

/* The run object of SPEC section 3. */
json_t *
runrec_json(const struct runrec *r)
{
	json_t	*o;

	o = json_object();
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "task", json_string_lossy(r->task));
	json_object_set_new(o, "status",
	    json_string(proto_status_name(r->status)));
	json_object_set_new(o, "trigger",
	    json_string(proto_trigger_name(r->trigger)));
	json_object_set_new(o, "triggered_by",
	    json_string_lossy(r->triggered_by));
	json_object_set_new(o, "params", r->params != NULL ?
	    json_incref(r->params) : json_object());
	json_object_set_new(o, "attempt", json_integer(r->attempt));
	json_object_set_new(o, "retry_of", r->retry_of != 0 ?
	    json_integer(r->retry_of) : json_null());
	json_object_set_new(o, "queued_at", runrec_time(r->queued_at));
	json_object_set_new(o, "started_at", runrec_time(r->started_at));
	json_object_set_new(o, "finished_at", runrec_time(r->finished_at));
	json_object_set_new(o, "exit_code", r->exit_code >= 0 ?
	    json_integer(r->exit_code) : json_null());
	json_object_set_new(o, "signal", r->signal != 0 ?
	    json_integer(r->signal) : json_null());
	json_object_set_new(o, "reason", r->reason != NULL ?
	    json_string_lossy(r->reason) : json_null());
	json_object_set_new(o, "priority", json_integer(r->priority));
	json_object_set_new(o, "output_size", json_integer(r->output_size));
	json_object_set_new(o, "output_dropped",
	    json_integer(r->output_dropped));
	json_object_set_new(o, "not_before", runrec_time(r->not_before));
	json_object_set_new(o, "chain_of", r->chain_of != 0 ?
	    json_integer(r->chain_of) : json_null());
	json_object_set_new(o, "schedule", r->schedule != NULL ?
	    json_string_lossy(r->schedule) : json_null());
	return (o);
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

/* Whether the database answers a read, for /healthz; 0 if it does. */
int
db_ping(void)
{
	sqlite3_stmt	*st = db_stmt(STMT_PING);
	int		 rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc == SQLITE_ROW ? 0 : -1);
}

/* Keep a run's stdin (a webhook's body), for its start and its retries. */
int
db_run_input_put(int64_t id, const void *data, size_t len)
{
	sqlite3_stmt	*st = db_stmt(STMT_INPUT_PUT);

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob(st, 2, len > 0 ? data : "", (int)len,
	    SQLITE_STATIC);
	return (db_step_done(st, "storing a run's input"));
}

/* A run's stdin: 0 with *data (allocated) and *len, 1 if none, -1. */
int
db_run_input_get(int64_t id, void **data, size_t *len)
{
	sqlite3_stmt	*st = db_stmt(STMT_INPUT_GET);
	int		 rc;

	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*len = sqlite3_column_bytes(st, 0);
		*data = xmalloc(*len + 1);
		if (*len > 0)
			memcpy(*data, sqlite3_column_blob(st, 0), *len);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return (0);
	return (rc == SQLITE_DONE ? 1 : -1);
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
