/* HTTP connections: caps on how many, and a sweep that cuts slow ones. */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "microlightd.h"

/*
 * evhttp (libevent 2.1) buffers a request whole before calling us and has
 * only an idle timeout, so a client that sends a byte every few seconds
 * would hold a connection for ever, and it has no cap on connections. So
 * the daemon makes each connection's bufferevent itself (evhttp_set_bevcb)
 * and keeps a reference to it: a sweep once a second sees which
 * connections evhttp has freed, and closes those whose request has not
 * arrived whole within HTTP_REQUEST_SECONDS. Right after each accept the
 * sweep also runs to apply the caps: HTTP_MAX_CONNS in all and
 * HTTP_MAX_PER_PEER from one address; over either, the connection of
 * that kind that has waited longest for a request goes (a slow or idle
 * one), so a client that asks at once is served however many slow ones
 * are open. The descriptor budget (fds.c) may pause accepting.
 *
 * The bufferevent's read watermark, HTTP_READ_HIGH, bounds what is read
 * ahead of evhttp: when evhttp refuses a body over the limit (413) it
 * stops taking input, so the rest of the body stays in the kernel, and
 * the sweep closes a connection whose input stands at the watermark.
 */

#define HTTP_MAX_CONNS		256
#define HTTP_MAX_PER_PEER	64	/* connections from one address */
/* What is read ahead of evhttp, which takes a body once it is all in. */
#define HTTP_READ_HIGH		(HTTP_MAX_HEADERS + HTTP_MAX_BODY + 4096)
#define HTTP_REQUEST_SECONDS	20	/* a request must arrive whole */
#define HTTP_SWEEP_MS		1000

/* A connection, as the sweep sees it. */
struct http_conn {
	struct bufferevent	*bev;		/* one reference is ours */
	int64_t			 since;		/* ms: waiting for a request */
	int			 busy;		/* a request is being served */
	int			 fresh;		/* caps not applied yet */
	int			 cut;		/* shut down: closing */
	int			 released;	/* its descriptor counted back */
	struct sockaddr_storage	 peer;		/* its address */
	TAILQ_ENTRY(http_conn)	 entry;
};
TAILQ_HEAD(http_conns, http_conn);

static struct http_conns	 http_conns = TAILQ_HEAD_INITIALIZER(http_conns);
static u_int			 http_nconns;
static struct event		*ev_sweep;

static struct http_conn *http_conn_oldest_idle(const struct http_conn *, int);

/* HTTP connections open now, for /metrics. */
u_int
http_conn_count(void)
{
	return (http_nconns);
}

/* The connection a request came on, as the sweep knows it. */
static struct http_conn *
http_conn_of(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;
	struct http_conn		*hc;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return (NULL);
	bev = evhttp_connection_get_bufferevent(evcon);
	TAILQ_FOREACH(hc, &http_conns, entry) {
		if (hc->bev == bev)
			return (hc);
	}
	return (NULL);
}

/* A request is done: its connection waits for the next one. */
static void
http_conn_done_cb(struct evhttp_request *req, void *arg)
{
	struct http_conn	*hc;

	if ((hc = http_conn_of(req)) != NULL) {
		hc->busy = 0;
		hc->since = time_mono_ms();
	}
}

/* A request came: its connection is being served until it is done. */
void
http_conn_request(struct evhttp_request *req)
{
	struct http_conn	*hc;

	if ((hc = http_conn_of(req)) != NULL)
		hc->busy = 1;
	evhttp_request_set_on_complete_cb(req, http_conn_done_cb, NULL);
}

/*
 * Close a connection: evhttp sees the shutdown as the client leaving and
 * frees it; the sweep lets go of it soon after.
 */
static void
http_conn_cut(struct http_conn *hc)
{
	struct timeval	 tv = { 0, 10 * 1000 };
	int		 sfd;

	if ((sfd = bufferevent_getfd(hc->bev)) != -1)
		shutdown(sfd, SHUT_RDWR);
	hc->cut = 1;
	evtimer_add(ev_sweep, &tv);
}

/* The descriptor budget is spent: the oldest waiting connection goes. */
int
http_conn_evict(void)
{
	struct http_conn	*hc;

	if ((hc = http_conn_oldest_idle(NULL, 0)) == NULL)
		return (-1);
	http_conn_cut(hc);
	hc->released = 1;
	fds_client_del();
	return (0);
}

/* Whether two connections come from the same address. */
static int
http_conn_same_peer(const struct http_conn *a, const struct http_conn *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->peer.ss_family != b->peer.ss_family)
		return (0);
	switch (a->peer.ss_family) {
	case AF_INET:
		a4 = (const struct sockaddr_in *)&a->peer;
		b4 = (const struct sockaddr_in *)&b->peer;
		return (a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)&a->peer;
		b6 = (const struct sockaddr_in6 *)&b->peer;
		return (memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof a6->sin6_addr) == 0);
	}
	return (0);
}

/*
 * The connection that has waited longest for a request (of those from
 * hc's address if peer is set), or NULL if every one is being served.
 */
static struct http_conn *
http_conn_oldest_idle(const struct http_conn *hc, int peer)
{
	struct http_conn	*c, *best = NULL;

	TAILQ_FOREACH(c, &http_conns, entry) {
		if (c->busy || c->cut || c->fresh)
			continue;
		if (peer && !http_conn_same_peer(c, hc))
			continue;
		if (best == NULL || c->since < best->since)
			best = c;
	}
	return (best);
}

/*
 * A new connection has its descriptor: note its address, then apply the
 * caps. Over one, the oldest waiting connection of that kind goes, or
 * this one if all the others are being served.
 */
static void
http_conn_caps(struct http_conn *hc)
{
	struct http_conn	*c, *victim;
	socklen_t		 len = sizeof hc->peer;
	u_int			 total = 0, same = 0;
	int			 sfd;

	hc->fresh = 0;
	if ((sfd = bufferevent_getfd(hc->bev)) == -1 ||
	    getpeername(sfd, (struct sockaddr *)&hc->peer, &len) == -1)
		memset(&hc->peer, 0, sizeof hc->peer);
	TAILQ_FOREACH(c, &http_conns, entry) {
		if (c->cut)
			continue;
		total++;
		if (http_conn_same_peer(c, hc))
			same++;
	}
	victim = NULL;
	if (same > HTTP_MAX_PER_PEER) {
		if ((victim = http_conn_oldest_idle(hc, 1)) == NULL)
			victim = hc;
		log_debug("http: %u connections from one address: closing "
		    "one", same);
	} else if (total > HTTP_MAX_CONNS) {
		if ((victim = http_conn_oldest_idle(hc, 0)) == NULL)
			victim = hc;
		if (total > HTTP_MAX_CONNS)
			log_warnx("http: %u connections: closing one", total);
	}
	if (victim != NULL)
		http_conn_cut(victim);
}

/* A new connection: evhttp's bufferevent, made here so the sweep sees it. */
struct bufferevent *
http_conn_bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent	*bev;
	struct http_conn	*hc;
	struct timeval		 tv = { 0, 0 };

	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return (NULL);
	bufferevent_incref(bev);
	bufferevent_setwatermark(bev, EV_READ, 0, HTTP_READ_HIGH);
	hc = xcalloc(1, sizeof *hc);
	hc->bev = bev;
	hc->since = time_mono_ms();
	hc->fresh = 1;
	TAILQ_INSERT_TAIL(&http_conns, hc, entry);
	http_nconns++;
	/* The caps, once evhttp has given it its descriptor. */
	evtimer_add(ev_sweep, &tv);
	fds_client_add();
	return (bev);
}

/*
 * Once a second: let go of the connections evhttp has freed (their event
 * callback is gone), and cut off the ones over the cap and the ones whose
 * request is too slow to arrive; evhttp sees the shutdown as the client
 * leaving and frees them.
 */
static void
http_conn_sweep_cb(int fd, short events, void *arg)
{
	struct http_conn	*hc, *hc1;
	struct timeval		 tv;
	bufferevent_event_cb	 eventcb;
	int64_t			 now = time_mono_ms();
	int			 freed = 0;

	TAILQ_FOREACH_SAFE(hc, &http_conns, entry, hc1) {
		bufferevent_getcb(hc->bev, NULL, NULL, &eventcb, NULL);
		if (eventcb == NULL) {
			TAILQ_REMOVE(&http_conns, hc, entry);
			http_nconns--;
			bufferevent_decref(hc->bev);
			if (!hc->released)
				freed++;
			free(hc);
			continue;
		}
		if (hc->fresh)
			http_conn_caps(hc);
		if (hc->cut)
			continue;
		if (!hc->busy && now - hc->since > HTTP_REQUEST_SECONDS * 1000)
			http_conn_cut(hc);	/* too slow to ask */
		else if (!hc->busy && evbuffer_get_length(
		    bufferevent_get_input(hc->bev)) >= HTTP_READ_HIGH)
			http_conn_cut(hc);	/* a body evhttp refused */
	}
	/* Every freed connection gave its descriptor back. */
	while (freed-- > 0)
		fds_client_del();
	tv.tv_sec = HTTP_SWEEP_MS / 1000;
	tv.tv_usec = (HTTP_SWEEP_MS % 1000) * 1000;
	evtimer_add(ev_sweep, &tv);
}

/* Start the sweep (once the listener is accepting). */
void
http_conn_start(void)
{
	struct timeval	 tv = { 1, 0 };

	ev_sweep = evtimer_new(ml_base, http_conn_sweep_cb, NULL);
	evtimer_add(ev_sweep, &tv);
}

/* Stop the sweep and let go of every connection (evhttp has freed them). */
void
http_conn_close(void)
{
	struct http_conn	*hc;

	if (ev_sweep != NULL)
		event_free(ev_sweep);
	ev_sweep = NULL;
	while ((hc = TAILQ_FIRST(&http_conns)) != NULL) {
		TAILQ_REMOVE(&http_conns, hc, entry);
		bufferevent_decref(hc->bev);
		free(hc);
	}
	http_nconns = 0;
}
