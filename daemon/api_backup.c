/*
 * GET /api/v1/backup: a consistent copy of the database for an
 * administrator, made by backup.c while the daemon runs and streamed as
 * application/vnd.sqlite3, a chunk at a time as the client reads it.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include "microlightd.h"

#define API_BACKUP_TYPE		"application/vnd.sqlite3"
/*
 * What waits for the client: one chunk at most. The next is read from
 * the copy once the last one has gone out, so a download of any size
 * holds 64 KiB of the daemon's memory (and the kernel's socket buffer).
 */
#define API_BACKUP_CHUNK	(64 * 1024)

/*
 * A download: the request is held while the copy is made (so that a
 * failure can still be a JSON error), then its reply is a stream.
 */
struct api_backup {
	struct backup		*bk;
	struct http_req		*hr;	/* held, until the copy is made */
	struct http_stream	*hs;	/* then the reply */
	int			 gone;	/* the client left before it */
};

/* The name a browser saves the copy under: the time it was made, UTC. */
static void
api_backup_disposition(struct http_req *hr)
{
	char		 stamp[32], value[96];
	struct tm	 tm;
	time_t		 now = time(NULL);

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0)
		strlcpy(stamp, "copy", sizeof stamp);
	snprintf(value, sizeof value, "attachment; "
	    "filename=\"microlight-%s.db\"", stamp);
	http_set_header(hr, "Content-Disposition", value);
}

/* The client went away (or the daemon stops): the backup goes too. */
static void
api_backup_closed(void *arg)
{
	struct api_backup	*ab = arg;

	backup_abort(ab->bk);
	free(ab);
}

/* A chunk went out: the next one. */
static void
api_backup_drained(void *arg)
{
	struct api_backup	*ab = arg;

	backup_pump(ab->bk);
}

/*
 * The copy is made: the reply begins, with its length (so that a client
 * cut off part-way knows its copy is short).
 */
static void
api_backup_ready(void *arg, int64_t size)
{
	struct api_backup	*ab = arg;
	struct http_req		*hr = ab->hr;
	char			 len[32];

	ab->hr = NULL;
	if (http_unhold(hr) != 0) {
		/* Its closed callback comes next, from the loop. */
		ab->gone = 1;
		return;
	}
	snprintf(len, sizeof len, "%lld", (long long)size);
	http_set_header(hr, "Content-Length", len);
	api_backup_disposition(hr);
	ab->hs = http_stream_start(hr, 200, API_BACKUP_TYPE, NULL,
	    api_backup_closed, api_backup_drained, ab);
}

/* A piece of the copy. */
static void
api_backup_data(void *arg, const void *data, size_t len)
{
	struct api_backup	*ab = arg;

	http_stream_write(ab->hs, data, len);
}

/* All of it went out: the reply ends. */
static void
api_backup_end(void *arg, int64_t size)
{
	struct api_backup	*ab = arg;

	http_stream_end(ab->hs);
	free(ab);
}

/* Unsent bytes; while the client is gone, too many to send more. */
static size_t
api_backup_pending(void *arg)
{
	struct api_backup	*ab = arg;

	if (ab->gone || ab->hs == NULL || http_stream_dead(ab->hs))
		return (SIZE_MAX);
	return (http_stream_pending(ab->hs));
}

/*
 * The backup failed: a JSON error if nothing was sent yet (the disk is
 * full, say), else the connection is closed short of the length.
 */
static void
api_backup_failed(void *arg, const char *why)
{
	struct api_backup	*ab = arg;

	if (ab->hs == NULL)
		http_error(ab->hr, 500, E_INTERNAL, "the backup failed: %s",
		    why);
	else
		http_stream_abort(ab->hs);
	free(ab);
}

/* How a backup reaches an HTTP client. */
static const struct backup_sink api_backup_sink = {
	api_backup_ready,
	api_backup_data,
	api_backup_end,
	api_backup_pending,
	api_backup_failed,
	API_BACKUP_CHUNK,
	API_BACKUP_CHUNK,
};

/* GET /api/v1/backup (administrators only: R_ADMIN). */
void
api_backup(struct http_req *hr)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	struct api_backup	*ab;

	/* HEAD: the headers alone, without making a copy for nothing. */
	if (evhttp_request_get_command(hr->req) == EVHTTP_REQ_HEAD) {
		api_backup_disposition(hr);
		http_reply(hr, 200, API_BACKUP_TYPE, NULL);
		return;
	}
	ab = xcalloc(1, sizeof *ab);
	ab->hr = hr;
	if ((ab->bk = backup_start(hr->who->by, &api_backup_sink, ab,
	    &err)) == NULL) {
		free(ab);
		http_ops_error(hr, ops_error_reply(&err));
		return;
	}
	http_hold(hr, api_backup_closed, ab);
}
