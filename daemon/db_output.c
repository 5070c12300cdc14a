/* A run's bytes in the store: its output chunks and its stdin. */

#include <string.h>

#include <sqlite3.h>

#include "microlightd.h"
#include "db.h"

static db_output_tail_cb db_tail; /* output not in the database yet */

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

/*
 * Keep a run's stdin (a webhook's body) and its request headers (a JSON
 * object, or NULL), for its start and its retries.
 */
int
db_run_input_put(int64_t id, const void *data, size_t len,
    const json_t *headers)
{
	sqlite3_stmt	*st = db_stmt(STMT_INPUT_PUT);
	char		*h = NULL;
	int		 rc;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob(st, 2, len > 0 ? data : "", (int)len,
	    SQLITE_STATIC);
	if (headers != NULL && (h = json_dumps(headers, JSON_COMPACT)) != NULL)
		sqlite3_bind_text(st, 3, h, -1, SQLITE_STATIC);
	rc = db_step_done(st, "storing a run's input");
	free(h);
	return (rc);
}

/*
 * A run's stdin: 0 with *data (allocated) and *len, and its headers in
 * *headers (new; NULL if it has none; headers may be NULL), 1 if none, -1.
 */
int
db_run_input_get(int64_t id, void **data, size_t *len, json_t **headers)
{
	sqlite3_stmt	*st = db_stmt(STMT_INPUT_GET);
	const char	*h;
	int		 rc;

	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*len = sqlite3_column_bytes(st, 0);
		*data = xmalloc(*len + 1);
		if (*len > 0)
			memcpy(*data, sqlite3_column_blob(st, 0), *len);
		h = (const char *)sqlite3_column_text(st, 1);
		if (headers != NULL)
			*headers = h != NULL ? json_loads(h, 0, NULL) : NULL;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return (0);
	return (rc == SQLITE_DONE ? 1 : -1);
}
