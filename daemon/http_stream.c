/* HTTP streams: replies sent in chunks as they come, cut off when unread. */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "microlightd.h"

/*
 * Streams: a reply sent in chunks as it comes (a log followed, Server-Sent
 * Events, a webhook waiting for its run). The client may go at any time:
 * evhttp then calls the connection's close callback, and frees the
 * request. The stream is marked dead there, and its owner is told (and
 * the stream freed) from a fresh turn of the loop, never inside a call of
 * the owner's that may have caused the close.
 */
struct http_stream {
	struct evhttp_request	*req;		/* NULL once dead */
	struct evhttp_connection *evcon;
	void			(*closed)(void *);
	void			(*drained)(void *);
	void			*arg;
	struct event		*ev_heartbeat;
	struct event		*ev_cut;	/* a cut-off on its way */
	const char		*heartbeat;	/* sent when quiet, or NULL */
	int			 wrote;		/* since the last heartbeat */
	size_t			 last_pending;	/* at the last heartbeat */
	size_t			 added;		/* queued since then */
	u_int			 stalled;	/* heartbeats with no progress */
	int			 dead;
	struct evhttp_request	*orphan;	/* ours to free, once dead */
	TAILQ_ENTRY(http_stream) entry;
};
TAILQ_HEAD(http_streams, http_stream);
static struct http_streams http_streams = TAILQ_HEAD_INITIALIZER(http_streams);

#define HTTP_STREAM_TIMEOUT	86400	/* a quiet follow may last */
#define HTTP_HEARTBEAT_SECONDS	15
/*
 * A stream's client that reads nothing of what waits for it for
 * HTTP_STALL_BEATS heartbeats (60 s), or lets more than HTTP_STREAM_MAX
 * pile up (the owners pause at FOLLOW_HIGH; status events and heartbeats
 * come on top), is cut off: its owner is told it left, an SSE stream gets
 * a last comment saying why, and the reply ends.
 */
#define HTTP_STALL_BEATS	4
#define HTTP_STREAM_MAX		(4 * FOLLOW_HIGH)

/* Free a stream (its request is gone or ended). */
static void
http_stream_free(struct http_stream *hs)
{
	TAILQ_REMOVE(&http_streams, hs, entry);
	if (hs->orphan != NULL)
		evhttp_request_free(hs->orphan);
	if (hs->ev_heartbeat != NULL)
		event_free(hs->ev_heartbeat);
	if (hs->ev_cut != NULL)
		event_free(hs->ev_cut);
	free(hs);
}

/* After the close: tell the owner, free the stream. */
static void
http_stream_reap(int fd, short events, void *arg)
{
	struct http_stream	*hs = arg;

	if (hs->closed != NULL)
		hs->closed(hs->arg);
	http_stream_free(hs);
}

/* evhttp: the client went away. */
static void
http_stream_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_stream	*hs = arg;

	http_mark_gone(&hs->req, &hs->dead, &hs->orphan, http_stream_reap, hs);
}

/* A chunk went out: the owner may send more. */
static void
http_stream_drained_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_stream	*hs = arg;

	if (!hs->dead && hs->drained != NULL)
		hs->drained(hs->arg);
}

/* Cut a stream off: its client fell too far behind (see above). */
static void
http_stream_cut_cb(int fd, short events, void *arg)
{
	static const char	 why[] = ": cut off: the client did not read "
				     "what was sent\n\n";
	struct http_stream	*hs = arg;
	struct evbuffer		*b;
	void			(*closed)(void *) = hs->closed;
	void			*owner = hs->arg;

	if (hs->dead)
		return;		/* the reap is on its way */
	log_warnx("http: a stream's client read nothing of %zu bytes: cut "
	    "off", http_stream_pending(hs));
	if (hs->heartbeat != NULL && (b = evbuffer_new()) != NULL) {
		evbuffer_add(b, why, sizeof why - 1);
		evhttp_send_reply_chunk(hs->req, b);
		evbuffer_free(b);
	}
	/* The owner lets go first; then the reply ends, hs is freed. */
	hs->closed = NULL;
	if (closed != NULL)
		closed(owner);
	http_stream_end(hs);
}

/* Cut a stream off from the loop (not inside its owner's call). */
static void
http_stream_cut(struct http_stream *hs)
{
	if (hs->ev_cut != NULL || hs->dead)
		return;
	hs->ev_cut = event_new(ml_base, -1, 0, http_stream_cut_cb, hs);
	event_active(hs->ev_cut, EV_TIMEOUT, 0);
}

/*
 * Every HTTP_HEARTBEAT_SECONDS: a heartbeat if nothing was sent (it keeps
 * proxies and timers calm), and a look at whether the client reads: it
 * read nothing if all that waited then and all queued since still waits
 * (a client that reads slowly, its buffer refilled as it drains, does).
 */
static void
http_stream_heartbeat_cb(int fd, short events, void *arg)
{
	struct http_stream	*hs = arg;
	size_t			 pending = http_stream_pending(hs);

	if (pending > 0 && pending >= hs->last_pending + hs->added) {
		if (++hs->stalled >= HTTP_STALL_BEATS) {
			http_stream_cut(hs);
			return;
		}
	} else
		hs->stalled = 0;
	hs->last_pending = pending;
	hs->added = 0;
	if (!hs->wrote && hs->heartbeat != NULL)
		http_stream_write(hs, hs->heartbeat, strlen(hs->heartbeat));
	hs->wrote = 0;
}

/*
 * Start a streamed reply. closed is called once if the client goes before
 * http_stream_end; drained each time a chunk has been written out. With a
 * heartbeat, that text is sent after HTTP_HEARTBEAT_SECONDS of quiet (an
 * SSE comment). hr is freed; the stream lives until ended or closed.
 */
struct http_stream *
http_stream_start(struct http_req *hr, int status, const char *type,
    const char *heartbeat, void (*closed)(void *), void (*drained)(void *),
    void *arg)
{
	struct http_stream	*hs;
	struct timeval		 tv = { HTTP_HEARTBEAT_SECONDS, 0 };

	hs = xcalloc(1, sizeof *hs);
	hs->req = hr->req;
	hs->evcon = evhttp_request_get_connection(hr->req);
	hs->closed = closed;
	hs->drained = drained;
	hs->arg = arg;
	hs->heartbeat = heartbeat;
	TAILQ_INSERT_TAIL(&http_streams, hs, entry);
	http_common_headers(hr);
	http_set_header(hr, "Content-Type", type);
	/*
	 * nginx buffers a response by default, and a stream would reach the
	 * browser only when it ends; this asks it not to, so a proxy as
	 * nginx comes out of the box passes live output on.
	 */
	http_set_header(hr, "X-Accel-Buffering", "no");
	evhttp_connection_set_timeout(hs->evcon, HTTP_STREAM_TIMEOUT);
	http_conn_set_closecb(hs->evcon, http_stream_close_cb, hs);
	evhttp_send_reply_start(hr->req, status, http_reason(status));
	hs->ev_heartbeat = event_new(ml_base, -1, EV_PERSIST,
	    http_stream_heartbeat_cb, hs);
	evtimer_add(hs->ev_heartbeat, &tv);
	http_req_free(hr);
	return (hs);
}

/* Whether the client has gone. */
int
http_stream_dead(struct http_stream *hs)
{
	return (hs->dead);
}

/* Bytes written to the stream and not yet sent to the client. */
size_t
http_stream_pending(struct http_stream *hs)
{
	if (hs->dead)
		return (0);
	return (evbuffer_get_length(bufferevent_get_output(
	    evhttp_connection_get_bufferevent(hs->evcon))));
}

/* Send a chunk (nothing once the client has gone). */
void
http_stream_write(struct http_stream *hs, const void *data, size_t len)
{
	struct evbuffer	*b;
	size_t		 before, after;

	if (hs->dead || hs->ev_cut != NULL || len == 0)
		return;
	if ((before = http_stream_pending(hs)) > HTTP_STREAM_MAX) {
		http_stream_cut(hs);
		return;
	}
	hs->wrote = 1;
	b = evbuffer_new();
	evbuffer_add(b, data, len);
	evhttp_send_reply_chunk_with_cb(hs->req, b, http_stream_drained_cb,
	    hs);
	evbuffer_free(b);
	/* The chunk and its framing: written out from the loop, not here. */
	if ((after = http_stream_pending(hs)) > before)
		hs->added += after - before;
}

/* End the reply and free the stream (the owner is not called back). */
void
http_stream_end(struct http_stream *hs)
{
	if (hs->dead) {
		hs->closed = NULL;	/* the reap is on its way */
		return;
	}
	http_conn_set_closecb(hs->evcon, NULL, NULL);
	evhttp_connection_set_timeout(hs->evcon, HTTP_IDLE_SECONDS);
	evhttp_send_reply_end(hs->req);
	http_stream_free(hs);
}

/*
 * Cut a stream short: its reply cannot be completed (its data failed).
 * The connection is shut down, so the client sees the reply incomplete
 * rather than waiting for the rest; the owner is not called back, and the
 * stream is freed once evhttp has seen the close.
 */
void
http_stream_abort(struct http_stream *hs)
{
	int	 fd;

	hs->closed = NULL;
	hs->drained = NULL;
	if (hs->dead)
		return;
	log_warnx("http: a stream's reply cannot be completed: closing");
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(hs->evcon));
	if (fd != -1)
		shutdown(fd, SHUT_RDWR);
}

/*
 * At exit: every stream still open is given up, its owner told (so that
 * it lets go of what it follows), before evhttp frees the connections.
 */
void
http_stream_abandon_all(void)
{
	struct http_stream	*hs;

	while ((hs = TAILQ_FIRST(&http_streams)) != NULL) {
		if (!hs->dead)
			http_conn_set_closecb(hs->evcon, NULL, NULL);
		if (hs->closed != NULL)
			hs->closed(hs->arg);
		http_stream_free(hs);
	}
}
