/*
 * Notifications in the store (SPEC section 9): each task's health, the
 * notices to deliver, the end of a run's output for a notifier's stdin.
 * Notices are few: the statements are prepared when used.
 */

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "microlightd.h"
#include "db.h"

/* A statement for sql, after any batch of writes is committed. */
static sqlite3_stmt *
db_notice_prepare(const char *sql)
{
	sqlite3_stmt	*st;

	db_flush();
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("sqlite: %s", sqlite3_errmsg(db));
		return (NULL);
	}
	return (st);
}

/* An optional integer column: 0 for NULL. */
static int64_t
db_notice_int(sqlite3_stmt *st, int col)
{
	return (sqlite3_column_type(st, col) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(st, col));
}

/* Bind 0 as NULL. */
static void
db_notice_bind(sqlite3_stmt *st, int col, int64_t v)
{
	if (v != 0)
		sqlite3_bind_int64(st, col, v);
	else
		sqlite3_bind_null(st, col);
}

/* Every task's health: cb(task, health, arg) for each. */
int
db_health_all(void (*cb)(const char *, const struct health *, void *),
    void *arg)
{
	sqlite3_stmt	*st;
	struct health	 h;
	int		 rc;

	if ((st = db_notice_prepare("SELECT task, failing_since, "
	    "overdue_since, seen_at FROM task_health")) == NULL)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		h.failing_since = db_notice_int(st, 1);
		h.overdue_since = db_notice_int(st, 2);
		h.seen_at = db_notice_int(st, 3);
		cb((const char *)sqlite3_column_text(st, 0), &h, arg);
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/* Write a task's health. */
int
db_health_set(const char *task, const struct health *h)
{
	sqlite3_stmt	*st;

	if ((st = db_notice_prepare("INSERT OR REPLACE INTO task_health "
	    "(task, failing_since, overdue_since, seen_at) VALUES "
	    "(?, ?, ?, ?)")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
	db_notice_bind(st, 2, h->failing_since);
	db_notice_bind(st, 3, h->overdue_since);
	sqlite3_bind_int64(st, 4, h->seen_at);
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_warnx("sqlite: task health: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return (-1);
	}
	sqlite3_finalize(st);
	return (0);
}

/* Add a notice to deliver; its id, or -1. */
int64_t
db_notice_add(const struct notice *n)
{
	sqlite3_stmt	*st;
	int64_t		 id = -1;

	if ((st = db_notice_prepare("INSERT INTO notices (task, event, "
	    "run_id, status, exit_code, created_at) VALUES "
	    "(?, ?, ?, ?, ?, ?)")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, n->task, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, notify_event_name(n->event), -1,
	    SQLITE_STATIC);
	db_notice_bind(st, 3, n->run_id);
	if (n->status != NULL)
		sqlite3_bind_text(st, 4, n->status, -1, SQLITE_STATIC);
	if (n->exit_code >= 0)
		sqlite3_bind_int(st, 5, n->exit_code);
	sqlite3_bind_int64(st, 6, n->created_at);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(db);
	else
		log_warnx("sqlite: adding a notice: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return (id);
}

/* A notice's row into n (strings new; notice_clear frees them). */
static void
db_notice_row(sqlite3_stmt *st, struct notice *n)
{
	const char	*s;

	memset(n, 0, sizeof *n);
	n->id = sqlite3_column_int64(st, 0);
	n->task = xstrdup((const char *)sqlite3_column_text(st, 1));
	s = (const char *)sqlite3_column_text(st, 2);
	n->event = s != NULL ? notify_event_from(s, strlen(s)) : 0;
	n->run_id = db_notice_int(st, 3);
	s = (const char *)sqlite3_column_text(st, 4);
	n->status = s != NULL ? xstrdup(s) : NULL;
	n->exit_code = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(st, 5);
	n->created_at = sqlite3_column_int64(st, 6);
}

#define NOTICE_COLUMNS "id, task, event, run_id, status, exit_code, created_at"

/* One notice by id: 0, 1 if there is none, -1 on error. */
int
db_notice_load(int64_t id, struct notice *n)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_notice_prepare("SELECT " NOTICE_COLUMNS " FROM notices "
	    "WHERE id = ?")) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		db_notice_row(st, n);
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1);
}

/* The notices not delivered yet, oldest first: cb owns each. */
int
db_notices_pending(void (*cb)(struct notice *, void *), void *arg)
{
	sqlite3_stmt	*st;
	struct notice	*n;
	int		 rc;

	if ((st = db_notice_prepare("SELECT " NOTICE_COLUMNS " FROM notices "
	    "WHERE delivered = 0 ORDER BY id")) == NULL)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = xmalloc(sizeof *n);
		db_notice_row(st, n);
		cb(n, arg);
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/* A notice has its runs. */
int
db_notice_delivered(int64_t id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_notice_prepare("UPDATE notices SET delivered = 1 WHERE "
	    "id = ?")) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return (rc);
}

/* Whether notifier has a run for notice id already: 1, 0, or -1. */
int
db_notice_has_run(int64_t id, const char *notifier)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_notice_prepare("SELECT 1 FROM runs WHERE notice = ? AND "
	    "task = ?")) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, notifier, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

/*
 * The last max bytes of a run's output (both streams, in the order they
 * came) in *data (new), *len. Returns 0 or -1.
 */
int
db_output_tail(int64_t run, size_t max, char **data, size_t *len)
{
	sqlite3_stmt	*st;
	char		*buf;
	const void	*p;
	size_t		 have = 0, n, skip;
	int		 rc;

	*data = NULL;
	*len = 0;
	if ((st = db_notice_prepare("SELECT data FROM output WHERE run_id = ? "
	    "ORDER BY seq DESC")) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, run);
	buf = xmalloc(max);
	while (have < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		p = sqlite3_column_blob(st, 0);
		n = sqlite3_column_bytes(st, 0);
		skip = n > max - have ? n - (max - have) : 0;
		/* Chunks come newest first: each goes before what is had. */
		memmove(buf + (max - have) - (n - skip), (const char *)p + skip,
		    n - skip);
		have += n - skip;
	}
	sqlite3_finalize(st);
	*data = xmalloc(have + 1);
	memcpy(*data, buf + (max - have), have);
	*len = have;
	free(buf);
	return (0);
}
