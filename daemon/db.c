/* The store: the SQLite connection (WAL), schema, statements, transactions. */

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "microlightd.h"
#include "db.h"

sqlite3		*db;
static int	 db_error;	/* the last failed statement's result code */

/*
 * Group commit (see db_batch_join): whether a batch may be opened now,
 * whether one is open, whether the statement being made joins it, the
 * open (or last) batch's number and the last one that failed.
 */
static int	 batch_allowed;
static int	 batch_open;
static int	 batch_joining;
static uint64_t	 batch_gen;
static uint64_t	 batch_joins;	/* writes that joined a batch, ever */
static uint64_t	 batch_failed;
static void	(*batch_hook)(int);

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

	/*
	 * 4 -> 5: future runs (status 'scheduled' until not_before, found by
	 * time) and reruns. A retry waiting out its delay is scheduled too.
	 */
	"ALTER TABLE runs ADD COLUMN rerun_of INTEGER;"
	"CREATE INDEX runs_scheduled ON runs(not_before, id) "
	"  WHERE status = 'scheduled';"
	"UPDATE runs SET status = 'scheduled' "
	"  WHERE status = 'queued' AND not_before IS NOT NULL;",

	/*
	 * 5 -> 6: one task's scheduled runs by time (its next run, its page's
	 * Upcoming list), without reading the task's whole history.
	 */
	"CREATE INDEX runs_scheduled_task ON runs(task, not_before, id) "
	"  WHERE status = 'scheduled';",

	/*
	 * 6 -> 7: API tokens (SPEC section 8), found by the SHA-256 of their
	 * secret, which is never stored. tasks is a JSON array of task names,
	 * NULL for every task; the times are ms, NULL for never. A revoked
	 * token's row is deleted.
	 */
	"CREATE TABLE tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
	"  creator TEXT NOT NULL,"
	"  tasks TEXT CHECK (tasks IS NULL OR (json_valid(tasks) AND "
	"    json_type(tasks) = 'array' AND json_array_length(tasks) > 0)),"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER,"
	"  last_used_at INTEGER"
	") STRICT;",

	/*
	 * 7 -> 8: notifications (SPEC section 9). A notice is one change of
	 * a task's state to tell its notifiers of, delivered once each has
	 * its run (whose notice column names it); task_health is what the
	 * changes are measured against: failing or overdue since when, and
	 * when the task was first seen (for @expect). Times are ms.
	 */
	"ALTER TABLE runs ADD COLUMN notice INTEGER;"
	"CREATE INDEX runs_notice ON runs(notice) WHERE notice IS NOT NULL;"
	"CREATE TABLE notices ("
	"  id INTEGER PRIMARY KEY,"
	"  task TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  run_id INTEGER,"
	"  status TEXT,"
	"  exit_code INTEGER,"
	"  created_at INTEGER NOT NULL,"
	"  delivered INTEGER NOT NULL DEFAULT 0"
	") STRICT;"
	"CREATE INDEX notices_pending ON notices(id) WHERE delivered = 0;"
	"CREATE TABLE task_health ("
	"  task TEXT PRIMARY KEY,"
	"  failing_since INTEGER,"
	"  overdue_since INTEGER,"
	"  seen_at INTEGER NOT NULL"
	") STRICT;",

	/*
	 * 8 -> 9: the request headers a webhook run gets (@webhook-header),
	 * a JSON object of HTTP_NAME: value, kept with its body.
	 */
	"ALTER TABLE run_input ADD COLUMN headers TEXT;",

	/*
	 * 9 -> 10: what start-up and pruning need without reading every
	 * run. runs_retry finds the retries of a run (the foreign key's
	 * ON DELETE looks there for each run pruned, which was a scan of
	 * the table). task_runs holds, per task, how many of its runs have
	 * ended and when its last success ended (ms), kept by the triggers
	 * below in the same transaction as the runs themselves; it starts
	 * from one pass over the runs here.
	 */
	"CREATE INDEX runs_retry ON runs(retry_of) WHERE retry_of IS NOT NULL;"
	"CREATE TABLE task_runs ("
	"  task TEXT PRIMARY KEY,"
	"  ended INTEGER NOT NULL,"
	"  last_success INTEGER"
	") STRICT, WITHOUT ROWID;"
	"INSERT INTO task_runs (task, ended, last_success) "
	"  SELECT task, count(finished_at), max(CASE WHEN status = "
	"  'succeeded' THEN finished_at END) FROM runs GROUP BY task;"
	"CREATE TRIGGER runs_end_insert AFTER INSERT ON runs "
	"  WHEN new.finished_at IS NOT NULL BEGIN"
	"  INSERT INTO task_runs (task, ended, last_success) VALUES (new.task, 1,"
	"  CASE WHEN new.status = 'succeeded' THEN new.finished_at END)"
	"  ON CONFLICT (task) DO UPDATE SET ended = ended + 1, last_success ="
	"  CASE WHEN excluded.last_success > coalesce(last_success, 0)"
	"  THEN excluded.last_success ELSE last_success END; END;"
	"CREATE TRIGGER runs_end_update AFTER UPDATE OF finished_at ON runs "
	"  WHEN old.finished_at IS NULL AND new.finished_at IS NOT NULL BEGIN"
	"  INSERT INTO task_runs (task, ended, last_success) VALUES (new.task, 1,"
	"  CASE WHEN new.status = 'succeeded' THEN new.finished_at END)"
	"  ON CONFLICT (task) DO UPDATE SET ended = ended + 1, last_success ="
	"  CASE WHEN excluded.last_success > coalesce(last_success, 0)"
	"  THEN excluded.last_success ELSE last_success END; END;"
	"CREATE TRIGGER runs_end_delete AFTER DELETE ON runs "
	"  WHEN old.finished_at IS NOT NULL BEGIN "
	"  UPDATE task_runs SET ended = ended - 1 WHERE task = old.task; END;",

	/*
	 * 10 -> 11: output chunks in a rowid table, found by an index on
	 * (run_id, seq). A WITHOUT ROWID table keeps whole rows in its
	 * b-tree, and a row of up to 64 KiB spills to overflow pages: each
	 * seek (one per chunk stored, one per batch read) then read whole
	 * rows back from them to compare keys, a third of the daemon's time
	 * while it stored a run's output. Now the rows are appended by rowid
	 * and the seeks compare small index keys.
	 */
	"ALTER TABLE output RENAME TO output_old;"
	"CREATE TABLE output ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  stream INTEGER NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  data BLOB NOT NULL"
	") STRICT;"
	"INSERT INTO output (run_id, seq, stream, time, data) "
	"  SELECT run_id, seq, stream, time, data FROM output_old "
	"  ORDER BY run_id, seq;"
	"DROP TABLE output_old;"
	"CREATE UNIQUE INDEX output_chunks ON output(run_id, seq);",

	/*
	 * 11 -> 12: one task's latest ended run (the page's "last result"
	 * beside its running and queued runs), without stepping over the
	 * task's scheduled runs, which may be a million above it.
	 */
	"CREATE INDEX runs_task_ended ON runs(task, id) "
	"  WHERE finished_at IS NOT NULL;",
};
#define DB_VERSION (int)(sizeof db_migrations / sizeof db_migrations[0])

/*
 * A run that a waiting or running retry names as its first is kept, so
 * that cancelling it still finds the retry (pruning goes on later).
 */
#define NOT_REFERENCED(id) "NOT EXISTS (SELECT 1 FROM runs AS r " \
	"WHERE r.retry_of = " id " AND r.status IN ('scheduled', 'queued', " \
	"'running'))"

/* The SQL of each prepared statement (enum db_stmt in db.h). */
static const char *db_stmt_sql[STMT_MAX] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_RUN_INSERT] = "INSERT INTO runs (task, status, trigger, "
	    "triggered_by, params, attempt, retry_of, queued_at, started_at, "
	    "priority, not_before, chain_of, finished_at, reason, chain_tasks, "
	    "schedule, rerun_of, notice) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[STMT_RUN_UPDATE] = "UPDATE runs SET status = ?, started_at = ?, "
	    "finished_at = ?, exit_code = ?, signal = ?, reason = ?, "
	    "output_size = ?, output_dropped = ? WHERE id = ?",
	[STMT_RUN_LOAD] = "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?",
	/*
	 * The IN term is runs_active's own condition, without which SQLite
	 * does not see that the partial index serves and reads every run.
	 */
	[STMT_RUNS_RUNNING] = "SELECT " RUN_COLUMNS " FROM runs "
	    "WHERE status IN ('queued', 'running') AND status = 'running' "
	    "ORDER BY id",
	[STMT_RUNS_QUEUED] = "SELECT " RUN_COLUMNS " FROM runs "
	    "WHERE status IN ('queued', 'running') AND status = 'queued' "
	    "ORDER BY priority DESC, id",
	[STMT_RUNS_DUE] = "SELECT " RUN_COLUMNS " FROM runs "
	    "WHERE status = 'scheduled' AND (not_before, id) > (?1, ?2) AND "
	    "not_before < ?3 ORDER BY not_before, id LIMIT ?4",
	[STMT_RUNS_SCHEDULED] = "SELECT count(*) FROM runs "
	    "WHERE status = 'scheduled'",
	[STMT_RETRY_WAITING] = "SELECT id FROM runs "
	    "WHERE status = 'scheduled' AND retry_of = ?",
	[STMT_OUTPUT_INSERT] = "INSERT INTO output (run_id, seq, stream, "
	    "time, data) VALUES (?, ?, ?, ?, ?)",
	[STMT_OUTPUT_READ] = "SELECT seq, stream, time, data FROM output "
	    "WHERE run_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
	[STMT_PRUNE_OLD] = "SELECT id, task FROM runs WHERE finished_at < ? "
	    "AND " NOT_REFERENCED("runs.id") " ORDER BY finished_at LIMIT ?",
	[STMT_PRUNE_TASK] = "SELECT task, ended - ?1 FROM task_runs "
	    "WHERE ended > ?1",
	/* A task's oldest ended runs, as many as it has beyond its keep. */
	[STMT_PRUNE_EXCESS] = "SELECT id FROM (SELECT id FROM runs WHERE "
	    "task = ?1 AND finished_at IS NOT NULL ORDER BY id LIMIT ?3) "
	    "AS e WHERE " NOT_REFERENCED("e.id") " LIMIT ?2",
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
	[STMT_LAST_SUCCESS] = "SELECT task, last_success FROM task_runs "
	    "WHERE last_success IS NOT NULL",
	[STMT_PING] = "SELECT count(*) FROM meta",
	[STMT_INPUT_PUT] = "INSERT INTO run_input (run_id, data, headers) "
	    "VALUES (?, ?, ?)",
	[STMT_INPUT_GET] = "SELECT data, headers FROM run_input "
	    "WHERE run_id = ?",
	[STMT_HOOK_GET] = "SELECT secret FROM webhooks WHERE task = ?",
	[STMT_HOOK_SET] = "INSERT INTO webhooks (task, secret, created_at) "
	    "VALUES (?, ?, ?) ON CONFLICT (task) DO UPDATE SET "
	    "secret = excluded.secret, created_at = excluded.created_at",
	/* The web page's. */
	[STMT_LAST_RUN_OF] = "SELECT " RUN_COLUMNS " FROM runs WHERE task = ? "
	    "ORDER BY id DESC LIMIT 1",
	[STMT_LAST_ENDED_OF] = "SELECT " RUN_COLUMNS " FROM runs WHERE task = ? "
	    "AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
	[STMT_NEXT_SCHEDULED] = "SELECT min(not_before) FROM runs "
	    "WHERE status = 'scheduled' AND task = ?",
	/* API tokens (db_token.c). */
	[STMT_TOKEN_INSERT] = "INSERT INTO tokens (name, hash, creator, tasks, "
	    "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
	[STMT_TOKEN_BY_HASH] = "SELECT " TOKEN_COLUMNS ", hash FROM tokens "
	    "WHERE hash = ?",
	[STMT_TOKEN_BY_NAME] = "SELECT " TOKEN_COLUMNS " FROM tokens "
	    "WHERE name = ?",
	[STMT_TOKEN_LIST] = "SELECT " TOKEN_COLUMNS " FROM tokens "
	    "ORDER BY name",
	[STMT_TOKEN_DELETE] = "DELETE FROM tokens WHERE name = ?",
	[STMT_TOKEN_USED] = "UPDATE tokens SET last_used_at = ? "
	    "WHERE name = ?",
};
static sqlite3_stmt *db_stmts[STMT_MAX];

/* A prepared statement, reset and with its bindings cleared. */
sqlite3_stmt *
db_stmt(enum db_stmt which)
{
	sqlite3_stmt	*st = db_stmts[which];

	if (batch_open && !batch_joining)
		db_flush();	/* any other statement: the batch first */
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
int
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

	db_flush();
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

	db_flush();
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
	int	 from = version;

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
		log_debug("database schema at version %d", version + 1);
	}
	/* A new database is no news; an upgraded one is, once. */
	if (from > 0 && from < DB_VERSION)
		log_info("database schema upgraded from version %d to %d",
		    from, DB_VERSION);
	return (0);
}

/*
 * Checkpoints: SQLite's own, every 1000 WAL pages, would run inside some
 * commit, wherever that falls; with two syncs one takes 8 to 16 ms here,
 * enough to make a scheduled run late. The WAL hook asks for one instead,
 * at a moment when no schedule is about to fire, and it runs in a thread
 * of its own (db_ckpt.c) while the loop goes on.
 *
 * The WAL starts again from its beginning only at a write that finds it
 * all copied, which a checkpoint running beside a steady writer (a run
 * printing fast) never leaves: while it copies, more is written. So the
 * WAL is bounded: at DB_WAL_MAX_PAGES (64 MiB) it is full (db_wal_full)
 * and output waits in its pipes, not read, until the thread has copied it
 * all; the next write then starts the WAL over (and cuts the file back to
 * journal_size_limit). Without the thread, the loop copies it there and
 * then.
 */
#define DB_CKPT_PAGES		1000	/* WAL pages that call for one */
#define DB_WAL_MAX_PAGES	16384	/* the WAL's bound, in pages */

static struct event	*ev_ckpt;
static int		 wal_full;	/* at its bound, not all copied */

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

/*
 * After each commit: a WAL that has grown asks for a checkpoint; one at
 * its bound is full until the thread has copied it, or, without the
 * thread, is copied now (see DB_WAL_MAX_PAGES).
 */
static int
db_wal_hook(void *arg, sqlite3 *handle, const char *name, int pages)
{
	int	 log, ckpt;

	wal_full = 0;
	if (pages >= DB_WAL_MAX_PAGES && db_ckpt_state() != DB_CKPT_NONE) {
		wal_full = 1;
		db_ckpt_request();
	} else if (pages >= DB_WAL_MAX_PAGES) {
		if (sqlite3_wal_checkpoint_v2(handle, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt) != SQLITE_OK)
			log_warnx("sqlite: checkpoint: %s",
			    sqlite3_errmsg(handle));
	} else if (pages >= DB_CKPT_PAGES)
		db_checkpoint_soon();
	return (SQLITE_OK);
}

/*
 * Whether the WAL is full (at its bound, see DB_WAL_MAX_PAGES): output
 * should wait. It is no longer once the thread has copied all of it (the
 * next write starts it over); while the thread lags, another round is
 * asked for.
 */
int
db_wal_full(void)
{
	if (!wal_full)
		return (0);
	switch (db_ckpt_state()) {
	case DB_CKPT_BUSY:
		return (1);
	case DB_CKPT_BEHIND:
		db_ckpt_request();
		return (1);
	default:
		wal_full = 0;
		return (0);
	}
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

	db_ckpt_stop();
	if (ev_ckpt != NULL)
		event_free(ev_ckpt);
	ev_ckpt = NULL;
	db_latest_clear();
	for (i = 0; i < STMT_MAX; i++) {
		sqlite3_finalize(db_stmts[i]);
		db_stmts[i] = NULL;
	}
	if (db != NULL)
		sqlite3_close(db);
	db = NULL;
}

/* Give back the page cache's memory (pages not in use): after a burst. */
void
db_release_memory(void)
{
	if (db != NULL)
		sqlite3_db_release_memory(db);
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

/* Whether a transaction (not a batch of writes) is open. */
int
db_in_transaction(void)
{
	return (!batch_open && !sqlite3_get_autocommit(db));
}

/* Roll the transaction back, if one is open. */
void
db_rollback(void)
{
	/* What was written in it may be undone (or SQLite undid it). */
	db_latest_clear();
	if (!sqlite3_get_autocommit(db))
		db_step_done(db_stmt(STMT_ROLLBACK), "rollback");
}

/*
 * Group commit. Commits cost more than the inserts they hold, so a client
 * that sends many requests at once (microlightctl run --at, pipelined)
 * has them written in one transaction: while its requests are read
 * (db_batch_allow), a write that may wait (a run for later) joins an open
 * batch. Any other statement, any transaction, commits the batch first:
 * a run that starts, a record that changes, a listing, are never behind
 * it. The caller ends the batch (db_flush) before its replies go out;
 * when that commit fails, every write of the batch is undone, the hook
 * is told, and db_batch_failed says which replies must become errors.
 */
void
db_batch_allow(int allow)
{
	batch_allowed = allow;
}

/* Who is told, after each batch, whether it was committed. */
void
db_batch_hook(void (*hook)(int))
{
	batch_hook = hook;
}

/* The open batch is over, committed (ok) or undone. */
static void
db_batch_ended(int ok)
{
	batch_open = 0;
	if (!ok) {
		batch_failed = batch_gen;
		batch_allowed = 0;	/* the rest of this read: one by one */
	}
	if (batch_hook != NULL)
		batch_hook(ok);
}

/*
 * The next write may wait for the batch: open one if none is. Returns
 * the batch's number (then db_batch_leave after the write), or 0: the
 * write commits on its own.
 */
uint64_t
db_batch_join(void)
{
	if (!batch_allowed)
		return (0);
	if (!batch_open) {
		if (!sqlite3_get_autocommit(db) ||
		    db_step_done(db_stmt(STMT_BEGIN), "begin") != 0)
			return (0);
		batch_open = 1;
		batch_gen++;
	}
	batch_joining = 1;
	batch_joins++;
	return (batch_gen);
}

/* How many writes joined a batch so far, and the last one's batch. */
uint64_t
db_batch_joins(void)
{
	return (batch_joins);
}

uint64_t
db_batch_gen(void)
{
	return (batch_gen);
}

/*
 * A write in the batch is over. A failure may have undone the batch
 * (SQLite rolls back on a full disk): then -1.
 */
int
db_batch_leave(void)
{
	batch_joining = 0;
	if (batch_open && sqlite3_get_autocommit(db)) {
		log_warnx("sqlite: a batch of writes was rolled back: %s",
		    db_failure());
		db_batch_ended(0);
		return (-1);
	}
	return (0);
}

/* Commit the open batch: 0, or -1 if it failed and was undone. */
int
db_flush(void)
{
	if (!batch_open)
		return (0);
	batch_open = 0;
	if (db_step_done(db_stmt(STMT_COMMIT), "commit") != 0) {
		db_rollback();
		db_batch_ended(0);
		return (-1);
	}
	db_batch_ended(1);
	return (0);
}

/* Whether batch number gen failed (its writes were undone). */
int
db_batch_failed(uint64_t gen)
{
	return (gen != 0 && gen == batch_failed);
}

/*
 * Copy the WAL into the database, without waiting on readers: in the
 * checkpoint thread, or here if it cannot run.
 */
void
db_checkpoint(void)
{
	int	 log, ckpt;

	db_flush();
	if (db_ckpt_request() == 0)
		return;
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

	db_flush();
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
	xasprintf(cause, "%s", sqlite3_errstr(rc));
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
