/* HTTP connections: counted exactly, capped, answered at the cap, cut when slow. */

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
 * evhttp (libevent 2.1) buffers a request whole before calling us, has
 * only an idle timeout (a client sending a byte every few seconds would
 * hold a connection for ever) and has no cap on connections. So the
 * daemon makes each connection's bufferevent itself (evhttp_set_bevcb)
 * and follows the connection from there:
 *
 * - Counted exactly. Right after the accept (or at its first request, if
 *   that comes first) the connection's close callback is set; evhttp calls
 *   it when it frees the connection, and the connection is counted out
 *   then, its descriptor given back to the budget (fds.c) at once. A
 *   request that keeps the connection (http_hold, a stream) registers its
 *   own close callback here (http_conn_set_closecb), never with evhttp,
 *   which has room for one. The evhttp_connection is found from the
 *   bufferevent's callback argument: 2.1 has no other way to it before a
 *   request.
 *
 * - Capped, and answered at the cap. HTTP_MAX_CONNS connections in all
 *   and HTTP_MAX_PER_PEER from one address are admitted. A connection
 *   over a cap waits for its request like any other; when the request
 *   has come whole, it takes the place of an admitted connection that is
 *   only waiting -- one idle for HTTP_IDLE_EVICT_MS, or one whose request
 *   has begun and not ended (a slow client), the one waiting longest --
 *   which is closed; if there is none, it is answered 503 with
 *   Retry-After and closed. So a client that asks at once is served
 *   however many slow ones are open, and nobody's request is dropped
 *   without an answer because others are connected. At most
 *   HTTP_MAX_WAITING connections wait over the caps, each with a body of
 *   at most HTTP_WAITING_BODY (evhttp answers 413 past it): together
 *   they hold a few dozen MiB at worst. Past HTTP_MAX_WAITING the one
 *   waiting longest is closed.
 *
 * - Cut when slow. A sweep once a second closes the connections whose
 *   request has not arrived whole within HTTP_REQUEST_SECONDS, and those
 *   whose input stands at the read watermark (evhttp stops taking input
 *   when it refuses a body over the limit, 413; the rest of the body
 *   stays in the kernel).
 *
 * A connection the daemon closes with no request of its unanswered
 * (idle, too slow, over the caps) is freed at once with
 * evhttp_connection_free and counted (http_conn_cut_count, in /metrics).
 * The descriptor budget may pause accepting (fds.c); connections then
 * wait in the listener's backlog, not refused.
 *
 * A lingering close. When evhttp frees a connection -- after a reply with
 * "Connection: close" (a 503 over the caps, a 413 for a body over the
 * limit), or because the daemon closed it -- the client may still be
 * sending (the rest of that body; a request of its own). Closing the
 * socket then would make the kernel answer with a reset, which can
 * destroy the reply before the client reads it. So the daemon keeps its
 * reference to the bufferevent, and once evhttp is done with it (a fresh
 * turn of the loop) reads and discards what still comes until the
 * client's end of file, for at most HTTP_LINGER_MS and HTTP_LINGER_BYTES
 * (a body over the limit being pushed is cut off there); the connection
 * is counted out when its descriptor is closed. Nothing read then is
 * kept. Connections closed for being slow or for want of descriptors,
 * and all of them at exit, are closed at once.
 */

#define HTTP_MAX_CONNS		256	/* admitted, in all */
#define HTTP_MAX_PER_PEER	64	/* admitted, from one address */
#define HTTP_MAX_WAITING	1024	/* over the caps, waiting for a request */
#define HTTP_IDLE_EVICT_MS	1000	/* idle this long: may make room */
#define HTTP_WAITING_BODY	(64 * 1024)	/* over the caps: 413 past it */
/* What is read ahead of evhttp, which takes a body once it is all in. */
#define HTTP_READ_HIGH		(HTTP_MAX_HEADERS + HTTP_MAX_BODY + 4096)
#define HTTP_WAITING_READ	(HTTP_MAX_HEADERS + HTTP_WAITING_BODY + 4096)
#define HTTP_REQUEST_SECONDS	20	/* a request must arrive whole */
#define HTTP_LINGER_MS		2000	/* after evhttp is done with it, */
#define HTTP_LINGER_BYTES	HTTP_READ_HIGH	/* reading at most this */
#define HTTP_SWEEP_MS		1000
#define HTTP_BURST		64	/* so many at once, then none: a burst */
#define HTTP_WARN_MS		60000	/* one warning a minute at most */

/* A connection, from its accept to its close. */
struct http_conn {
	struct bufferevent	*bev;		/* one reference is ours */
	enum {
		HC_FRESH,		/* evhttp's, not attached yet */
		HC_LIVE,		/* evhttp's, attached */
		HC_LINGER		/* evhttp is done with it */
	}			 state;
	struct evhttp_connection *evcon;	/* when HC_LIVE */
	int			 hard;		/* no lingering: close at once */
	int			 lingering;	/* draining (after the turn) */
	size_t			 lingered;	/* bytes drained */
	int64_t			 linger_until;	/* ms */
	int64_t			 since;		/* ms: waiting for a request */
	uint64_t		 order;		/* of since: unique, rising */
	int			 busy;		/* a request is being served */
	int			 admitted;	/* within the caps */
	int			 waiting;	/* over them, with smaller limits */
	u_int			 tried;		/* http_conn_admit_waiting */
	int			 released;	/* its descriptor counted back */
	struct sockaddr_storage	 peer;		/* its address */
	void			(*closecb)(struct evhttp_connection *, void *);
	void			*closecb_arg;	/* a kept request's */
	TAILQ_ENTRY(http_conn)	 entry;
	RB_ENTRY(http_conn)	 node;		/* by bufferevent */
};
TAILQ_HEAD(http_conns, http_conn);
RB_HEAD(http_conn_tree, http_conn);
RB_PROTOTYPE(http_conn_tree, http_conn, node, http_conn_cmp);

/* By bufferevent (its address). */
static int
http_conn_cmp(struct http_conn *a, struct http_conn *b)
{
	if (a->bev == b->bev)
		return (0);
	return ((uintptr_t)a->bev < (uintptr_t)b->bev ? -1 : 1);
}
RB_GENERATE(http_conn_tree, http_conn, node, http_conn_cmp);

static struct http_conns	 http_conns = TAILQ_HEAD_INITIALIZER(http_conns);
static struct http_conn_tree	 http_conn_tree = RB_INITIALIZER(&http_conn_tree);
static u_int			 http_nconns;	/* open now */
static u_int			 http_nadmitted;
static u_int			 http_nfresh;	/* not attached yet */
static u_int			 http_nlinger;	/* evhttp is done with them */
static int			 http_stopping;	/* at exit: no lingering */
static u_int			 http_high;	/* most open since none were */
static uint64_t			 http_order;	/* the last http_conn's order */
static uint64_t			 http_ncut;	/* closed unanswered, ever */
static uint64_t			 http_nrefused;	/* answered 503, ever */
static struct event		*ev_sweep;
static struct event		*ev_fresh;

static void	http_conn_close_cb(struct evhttp_connection *, void *);

/* HTTP connections open now, for /metrics. */
u_int
http_conn_count(void)
{
	return (http_nconns);
}

/* Connections closed by the daemon with no request unanswered, ever. */
uint64_t
http_conn_cut_count(void)
{
	return (http_ncut);
}

/* Requests answered 503 because their connection was over the caps. */
uint64_t
http_conn_refused_count(void)
{
	return (http_nrefused);
}

/* The connection of a bufferevent, or NULL. */
static struct http_conn *
http_conn_find(struct bufferevent *bev)
{
	struct http_conn	 key;

	key.bev = bev;
	return (RB_FIND(http_conn_tree, &http_conn_tree, &key));
}

/*
 * The connection is gone (evhttp is freeing it, or freed it unseen):
 * count it out, give its descriptor back and let go of it. When the
 * last of a burst goes, what the burst took is given back (mem.c).
 */
static void
http_conn_gone(struct http_conn *hc)
{
	TAILQ_REMOVE(&http_conns, hc, entry);
	RB_REMOVE(http_conn_tree, &http_conn_tree, hc);
	http_nconns--;
	if (hc->admitted)
		http_nadmitted--;
	if (hc->state == HC_FRESH)
		http_nfresh--;
	else if (hc->state == HC_LINGER)
		http_nlinger--;
	bufferevent_decref(hc->bev);
	if (!hc->released)
		fds_client_del();
	free(hc);
	if (http_nconns == 0) {
		if (http_high >= HTTP_BURST)
			mem_trim_soon();
		http_high = 0;
	}
}

/*
 * Follow the connection evhttp made around hc's bufferevent: its close
 * callback, its peer's address. 0, or -1 if evhttp has already freed it
 * (its callbacks are gone): then it is counted out.
 */
static int
http_conn_attach(struct http_conn *hc)
{
	bufferevent_event_cb	 eventcb;
	socklen_t		 len = sizeof hc->peer;
	void			*arg;
	int			 fd;

	if (hc->state != HC_FRESH)
		return (hc->state == HC_LIVE ? 0 : -1);
	bufferevent_getcb(hc->bev, NULL, NULL, &eventcb, &arg);
	if (eventcb == NULL || arg == NULL) {
		http_conn_gone(hc);
		return (-1);
	}
	hc->state = HC_LIVE;
	hc->evcon = arg;
	http_nfresh--;
	evhttp_connection_set_closecb(hc->evcon, http_conn_close_cb, hc);
	if ((fd = bufferevent_getfd(hc->bev)) == -1 ||
	    getpeername(fd, (struct sockaddr *)&hc->peer, &len) == -1)
		memset(&hc->peer, 0, sizeof hc->peer);
	return (0);
}

/* Lingering: what still comes is read and dropped, up to a limit. */
static void
http_conn_linger_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn	*hc = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);

	hc->lingered += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (hc->lingered > HTTP_LINGER_BYTES)
		http_conn_gone(hc);
}

/* Lingering: the client's end of file (or an error, or quiet): close. */
static void
http_conn_linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
	http_conn_gone(arg);
}

/* evhttp is done with the connection: linger on it (see above). */
static void
http_conn_linger_cb(int fd, short events, void *arg)
{
	struct http_conn	*hc = arg;
	struct timeval		 tv;

	tv.tv_sec = HTTP_LINGER_MS / 1000;
	tv.tv_usec = (HTTP_LINGER_MS % 1000) * 1000;
	hc->lingering = 1;
	bufferevent_setcb(hc->bev, http_conn_linger_read_cb, NULL,
	    http_conn_linger_event_cb, hc);
	bufferevent_setwatermark(hc->bev, EV_READ, 0, 0);
	bufferevent_set_timeouts(hc->bev, &tv, NULL);
	bufferevent_disable(hc->bev, EV_WRITE);
	bufferevent_enable(hc->bev, EV_READ);
	http_conn_linger_read_cb(hc->bev, hc);
}

/*
 * evhttp frees the connection: its owner's callback; its place within the
 * caps is free now; then it lingers, or is counted out at once.
 */
static void
http_conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn	*hc = arg;
	struct timeval		 tv = { 0, 0 };

	if (hc->closecb != NULL)
		hc->closecb(evcon, hc->closecb_arg);
	hc->closecb = NULL;
	if (hc->admitted)
		http_nadmitted--;
	hc->admitted = hc->waiting = hc->busy = 0;
	hc->evcon = NULL;
	hc->state = HC_LINGER;
	http_nlinger++;
	if (hc->hard || http_stopping) {
		http_conn_gone(hc);
		return;
	}
	/* Once evhttp has let go of the bufferevent. */
	hc->linger_until = time_mono_ms() + HTTP_LINGER_MS;
	event_base_once(ml_base, -1, EV_TIMEOUT, http_conn_linger_cb, hc, &tv);
}

/*
 * Set the callback a kept request wants when its client goes (evhttp's
 * evhttp_connection_set_closecb, which this file has taken); NULL clears
 * it.
 */
void
http_conn_set_closecb(struct evhttp_connection *evcon,
    void (*cb)(struct evhttp_connection *, void *), void *arg)
{
	struct http_conn	*hc;

	hc = http_conn_find(evhttp_connection_get_bufferevent(evcon));
	if (hc == NULL || http_conn_attach(hc) != 0) {
		/* Not one of ours (cannot be): evhttp's own slot. */
		evhttp_connection_set_closecb(evcon, cb, arg);
		return;
	}
	hc->closecb = cb;
	hc->closecb_arg = arg;
}

/*
 * Close a connection that has no request being served, now, and count
 * it: evhttp frees it (the close callback takes it from there); hard, it
 * does not linger. hc may be freed.
 */
static void
http_conn_cut(struct http_conn *hc, int hard)
{
	if (http_conn_attach(hc) != 0)
		return;		/* gone already */
	http_ncut++;
	hc->hard = hard;
	evhttp_connection_free(hc->evcon);
}

/* Whether to log a warning about the caps now: at most once a minute. */
static int
http_conn_warn(void)
{
	static int64_t	 warned;
	int64_t		 now = time_mono_ms();

	if (warned != 0 && now - warned < HTTP_WARN_MS)
		return (0);
	warned = now;
	return (1);
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
 * Whether a connection only waits and may make room: no request being
 * served, and either idle (nothing received for its next request, none
 * unread) for HTTP_IDLE_EVICT_MS or with a request begun and not ended.
 * A request that has just arrived whole and is still unread is not
 * taken for idleness.
 */
static int
http_conn_waiting(const struct http_conn *hc, int64_t now)
{
	if (hc->busy || hc->state != HC_LIVE)
		return (0);
	if (evbuffer_get_length(bufferevent_get_input(hc->bev)) > 0)
		return (1);
	return (now - hc->since >= HTTP_IDLE_EVICT_MS &&
	    !fds_unread(bufferevent_getfd(hc->bev)));
}

/*
 * The connection that has waited longest and may make room (see
 * http_conn_waiting), or NULL: admitted ones (from like's address if
 * peer is set) or those over the caps; never like itself, nor, unless
 * like has a request to serve, one that has waited less than like.
 */
static struct http_conn *
http_conn_oldest_waiting(const struct http_conn *like, int admitted,
    int peer)
{
	struct http_conn	*c, *best = NULL;
	int64_t			 now = time_mono_ms();

	TAILQ_FOREACH(c, &http_conns, entry) {
		if (c == like || c->admitted != admitted)
			continue;
		if (peer && !http_conn_same_peer(c, like))
			continue;
		/*
		 * By order, not since: connections that came in the same
		 * millisecond still have an oldest.
		 */
		if (like != NULL && !like->busy && c->order >= like->order)
			continue;
		if (!http_conn_waiting(c, now))
			continue;
		if (best == NULL || c->order < best->order)
			best = c;
	}
	return (best);
}

/* How many admitted connections come from hc's address. */
static u_int
http_conn_admitted_from(const struct http_conn *hc)
{
	struct http_conn	*c;
	u_int			 n = 0;

	TAILQ_FOREACH(c, &http_conns, entry) {
		if (c->admitted && c != hc && http_conn_same_peer(c, hc))
			n++;
	}
	return (n);
}

/*
 * Admit hc if the caps allow it; with make_room, close an admitted
 * connection that only waits to make room for it. 0 if admitted.
 */
static int
http_conn_admit(struct http_conn *hc, int make_room)
{
	struct http_conn	*victim = NULL;
	int			 peer_full, all_full;

	peer_full = http_conn_admitted_from(hc) >= HTTP_MAX_PER_PEER;
	all_full = http_nadmitted >= HTTP_MAX_CONNS;
	if (peer_full || all_full) {
		if (!make_room)
			return (-1);
		/* One from its own address if that cap is the one reached. */
		if ((victim = http_conn_oldest_waiting(hc, 1, peer_full)) ==
		    NULL)
			return (-1);
		if (peer_full || !http_conn_warn())
			log_debug("http: %u connections%s: closing one that "
			    "waits", peer_full ? HTTP_MAX_PER_PEER :
			    http_nadmitted, peer_full ? " from one address" :
			    "");
		else
			log_warnx("http: %u connections: closing one that "
			    "waits (at most one such line a minute)",
			    http_nadmitted);
		http_conn_cut(victim, 0);
	}
	if (hc->waiting) {
		bufferevent_setwatermark(hc->bev, EV_READ, 0, HTTP_READ_HIGH);
		evhttp_connection_set_max_body_size(hc->evcon, HTTP_MAX_BODY);
	}
	hc->admitted = 1;
	hc->waiting = 0;
	http_nadmitted++;
	return (0);
}

/*
 * A new connection is attached: admitted if within the caps or if one
 * that only waits can make room, else it waits for its request over them
 * (with a smaller body), and the longest waiting of those goes if there
 * are too many.
 */
static void
http_conn_arrived(struct http_conn *hc)
{
	struct http_conn	*old;
	u_int			 waiting;

	if (http_conn_attach(hc) != 0 || http_conn_admit(hc, 1) == 0)
		return;
	hc->waiting = 1;
	evhttp_connection_set_max_body_size(hc->evcon, HTTP_WAITING_BODY);
	bufferevent_setwatermark(hc->bev, EV_READ, 0, HTTP_WAITING_READ);
	waiting = http_nconns - http_nadmitted - http_nfresh - http_nlinger;
	if (waiting > HTTP_MAX_WAITING) {
		/* Not one being served: its request is on the stack. */
		if ((old = http_conn_oldest_waiting(hc, 0, 0)) == NULL &&
		    (old = hc)->busy)
			return;
		if (http_conn_warn())
			log_warnx("http: %u connections wait over the caps: "
			    "closing one (at most one such line a minute)",
			    waiting);
		http_conn_cut(old, 0);
	}
}

/*
 * New connections are in evhttp's hands: attach them, apply the caps,
 * the oldest first. Applying them may close others, so the list is looked
 * at afresh each time; the fresh ones are the newest, at its end.
 */
static void
http_conn_fresh_cb(int fd, short events, void *arg)
{
	struct http_conn	*hc, *first;
	u_int			 seen;

	while (http_nfresh > 0) {
		first = NULL;
		seen = 0;
		TAILQ_FOREACH_REVERSE(hc, &http_conns, http_conns, entry) {
			if (hc->state == HC_FRESH) {
				first = hc;
				if (++seen == http_nfresh)
					break;
			}
		}
		if (first == NULL)
			break;
		http_conn_arrived(first);
	}
}

/*
 * Admit the connections over the caps that can be now, in the order they
 * came: admitted ones that have waited longer, and only wait, make room
 * (closed), so that the newest stay. One that only waits itself and that
 * none can make room for has waited longest: it goes. The list is looked
 * at afresh after each change.
 */
static void
http_conn_admit_waiting(void)
{
	struct http_conn	*hc;
	static u_int		 gen;
	int64_t			 now = time_mono_ms();

	gen++;
again:
	TAILQ_FOREACH(hc, &http_conns, entry) {
		if (hc->state != HC_LIVE || hc->admitted || hc->busy ||
		    hc->tried == gen)
			continue;
		hc->tried = gen;
		if (http_conn_admit(hc, 1) == 0)
			goto again;
		if (http_conn_waiting(hc, now)) {
			http_conn_cut(hc, 0);
			goto again;
		}
	}
}

/* A request is done: its connection waits for the next one. */
static void
http_conn_done_cb(struct evhttp_request *req, void *arg)
{
	struct evhttp_connection	*evcon;
	struct http_conn		*hc;

	if ((evcon = evhttp_request_get_connection(req)) != NULL &&
	    (hc = http_conn_find(evhttp_connection_get_bufferevent(evcon)))
	    != NULL) {
		hc->busy = 0;
		hc->since = time_mono_ms();
		hc->order = ++http_order;
	}
}

/*
 * A request came whole: its connection is being served until it is
 * done. -1 if the connection is over the caps and no waiting one can
 * make room: the caller answers 503 and closes it (http_conn_refused).
 */
int
http_conn_request(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct http_conn		*hc;

	evhttp_request_set_on_complete_cb(req, http_conn_done_cb, NULL);
	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (hc = http_conn_find(evhttp_connection_get_bufferevent(evcon))) ==
	    NULL)
		return (0);
	hc->busy = 1;
	if (hc->state == HC_FRESH)
		http_conn_arrived(hc);	/* before the fresh timer ran */
	if (hc->admitted || http_conn_admit(hc, 1) == 0)
		return (0);
	http_nrefused++;
	return (-1);
}

/* The descriptor budget is spent: the connection waiting longest goes. */
int
http_conn_evict(void)
{
	struct http_conn	*hc;

	if ((hc = http_conn_oldest_waiting(NULL, 0, 0)) == NULL &&
	    (hc = http_conn_oldest_waiting(NULL, 1, 0)) == NULL)
		return (-1);
	http_conn_cut(hc, 1);
	return (0);
}

/* A new connection: evhttp's bufferevent, made here to follow it. */
struct bufferevent *
http_conn_bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent	*bev;
	struct http_conn	*hc;
	struct timeval		 tv = { 0, 0 };

	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return (NULL);
	/* Until the close callback is set, evhttp may free it unseen. */
	bufferevent_incref(bev);
	bufferevent_setwatermark(bev, EV_READ, 0, HTTP_READ_HIGH);
	hc = xcalloc(1, sizeof *hc);
	hc->bev = bev;
	hc->since = time_mono_ms();
	hc->order = ++http_order;
	TAILQ_INSERT_TAIL(&http_conns, hc, entry);
	RB_INSERT(http_conn_tree, &http_conn_tree, hc);
	http_nfresh++;
	if (++http_nconns > http_high)
		http_high = http_nconns;
	/* Attached once evhttp has given it its descriptor. */
	evtimer_add(ev_fresh, &tv);
	fds_client_add();
	return (bev);
}

/*
 * Once a second: admit the connections over the caps that can be now,
 * and cut off the connections whose request is too slow to arrive, and
 * those whose input stands at the read watermark (a body evhttp refused,
 * or more than one over the caps may send).
 */
static void
http_conn_sweep_cb(int fd, short events, void *arg)
{
	struct http_conn	*hc, *hc1;
	struct timeval		 tv;
	bufferevent_event_cb	 eventcb;
	size_t			 high;
	int64_t			 now = time_mono_ms();

	http_conn_admit_waiting();
	TAILQ_FOREACH_SAFE(hc, &http_conns, entry, hc1) {
		if (hc->state == HC_LINGER) {
			if (hc->lingering && now > hc->linger_until)
				http_conn_gone(hc);
			continue;
		}
		bufferevent_getcb(hc->bev, NULL, NULL, &eventcb, NULL);
		if (eventcb == NULL) {
			/* Freed before it was attached (or unseen). */
			http_conn_gone(hc);
			continue;
		}
		if (hc->busy || hc->state != HC_LIVE)
			continue;
		high = hc->waiting ? HTTP_WAITING_READ : HTTP_READ_HIGH;
		if (now - hc->since > HTTP_REQUEST_SECONDS * 1000 ||
		    evbuffer_get_length(bufferevent_get_input(hc->bev)) >=
		    high)
			http_conn_cut(hc, 1);
	}
	tv.tv_sec = HTTP_SWEEP_MS / 1000;
	tv.tv_usec = (HTTP_SWEEP_MS % 1000) * 1000;
	evtimer_add(ev_sweep, &tv);
}

/* Start the sweep (once the listener is accepting). */
void
http_conn_start(void)
{
	struct timeval	 tv = { 1, 0 };

	ev_fresh = evtimer_new(ml_base, http_conn_fresh_cb, NULL);
	ev_sweep = evtimer_new(ml_base, http_conn_sweep_cb, NULL);
	evtimer_add(ev_sweep, &tv);
}

/* At exit, before evhttp frees the connections: none lingers. */
void
http_conn_stop(void)
{
	http_stopping = 1;
}

/*
 * Stop and let go of every connection left (evhttp has freed them, each
 * counted out by its close callback; these are the ones never attached,
 * and those lingering).
 */
void
http_conn_close(void)
{
	struct http_conn	*hc;

	if (ev_sweep != NULL)
		event_free(ev_sweep);
	if (ev_fresh != NULL)
		event_free(ev_fresh);
	ev_sweep = ev_fresh = NULL;
	while ((hc = TAILQ_FIRST(&http_conns)) != NULL) {
		hc->released = 1;	/* fds.c has stopped */
		http_conn_gone(hc);
	}
}
