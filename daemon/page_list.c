/* The task list's live updates (GET /events): whose runs changed, told. */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "microlightd.h"

/*
 * When a run is queued, starts or ends, runs.c names its task here
 * (runs_on_change). Each such change takes the next number of a serial
 * that only grows, and the tasks are kept in the order of their last
 * change. A watcher (a browser showing the list) has been sent every
 * change up to a number, and is sent those after it: one event per task
 * with the task's state as it is then, however often it changed
 * meanwhile. The sending waits for a turn of the loop, so that a burst of
 * changes (a thousand runs queued at once) makes one event per task.
 *
 * So a watcher's memory is bounded by construction: past PAGE_LIST_HIGH
 * unsent bytes it is sent nothing more until it has taken them (and then
 * only the latest state of what changed meanwhile), and like every stream
 * a client that reads nothing for a minute is cut off (http_stream.c).
 * Watchers are HTTP connections, under the caps of http_conn.c.
 *
 * The serial starts at the daemon's start-up time in microseconds: a page
 * drawn by an earlier daemon asks for changes from before this one's
 * first, and is told to reload (EV_RELOAD), as is one asking for changes
 * this daemon no longer remembers (past PAGE_LIST_MAX task names the one
 * changed longest ago is forgotten, and the floor rises to its number).
 */
#define PAGE_LIST_HIGH	(64 * 1024)	/* unsent bytes: wait */
#define PAGE_LIST_LOW	(16 * 1024)	/* below this, send again */
#define PAGE_LIST_MAX	4096		/* task names remembered */

/*
 * A task whose runs changed, and the number of its last change; in the
 * list of them, the oldest change first.
 */
struct page_list_task {
	char				*name;
	int64_t				 serial;
	RB_ENTRY(page_list_task)	 node;
	TAILQ_ENTRY(page_list_task)	 entry;
};
RB_HEAD(page_list_tree, page_list_task);
RB_PROTOTYPE(page_list_tree, page_list_task, node, page_list_cmp);
TAILQ_HEAD(page_list_tasks, page_list_task);

/*
 * A page watching the list: who it is for, the changes up to which it was
 * sent, and whether EV_SYNC went.
 */
struct page_list_watch {
	struct http_stream		*hs;
	struct who			*who;
	int64_t				 sent;
	int				 synced;
	TAILQ_ENTRY(page_list_watch)	 entry;
};
TAILQ_HEAD(page_list_watches, page_list_watch);

static struct page_list_tree	 page_list_tree =
				     RB_INITIALIZER(&page_list_tree);
static struct page_list_tasks	 page_list_tasks =
				     TAILQ_HEAD_INITIALIZER(page_list_tasks);
static struct page_list_watches	 page_list_watches =
				     TAILQ_HEAD_INITIALIZER(page_list_watches);
static u_int			 page_list_ntasks;
/* The serial at start; changes after the floor are known; the last. */
static int64_t			 page_list_first;
static int64_t			 page_list_floor;
static int64_t			 page_list_last;
/* What sends the changes, from a fresh turn of the loop; whether it is due. */
static struct event		*page_list_ev;
static int			 page_list_due;

static void	page_list_push(struct page_list_watch *);

/* By task name. */
static int
page_list_cmp(struct page_list_task *a, struct page_list_task *b)
{
	return (strcmp(a->name, b->name));
}
RB_GENERATE(page_list_tree, page_list_task, node, page_list_cmp);

/* The serial of the last change: a page drawn now asks for those after. */
int64_t
page_list_serial(void)
{
	return (page_list_last);
}

/* From a fresh turn of the loop: send the changes to every watcher. */
static void
page_list_flush_cb(int fd, short events, void *arg)
{
	struct page_list_watch	*w;

	page_list_due = 0;
	TAILQ_FOREACH(w, &page_list_watches, entry)
		page_list_push(w);
}

/* A task's runs changed (runs_on_change): it takes the next number. */
static void
page_list_changed(const char *name)
{
	struct page_list_task	 key, *e;

	key.name = (char *)name;
	if ((e = RB_FIND(page_list_tree, &page_list_tree, &key)) != NULL)
		TAILQ_REMOVE(&page_list_tasks, e, entry);
	else {
		e = xcalloc(1, sizeof *e);
		e->name = xstrdup(name);
		RB_INSERT(page_list_tree, &page_list_tree, e);
		page_list_ntasks++;
	}
	e->serial = ++page_list_last;
	TAILQ_INSERT_TAIL(&page_list_tasks, e, entry);
	if (page_list_ntasks > PAGE_LIST_MAX) {
		e = TAILQ_FIRST(&page_list_tasks);
		page_list_floor = e->serial;
		TAILQ_REMOVE(&page_list_tasks, e, entry);
		RB_REMOVE(page_list_tree, &page_list_tree, e);
		page_list_ntasks--;
		free(e->name);
		free(e);
	}
	if (!page_list_due && !TAILQ_EMPTY(&page_list_watches)) {
		page_list_due = 1;
		event_active(page_list_ev, EV_TIMEOUT, 0);
	}
}

/*
 * Send an event of a task's state now: its runs, and the rest of its row,
 * as the list shows them.
 */
static void
page_list_send(struct page_list_watch *w, const struct task *t,
    int64_t serial)
{
	struct evbuffer	*b = evbuffer_new(), *m = evbuffer_new();
	const char	*name = t->name;
	json_t		*last, *o;

	page_index_state(b, name);
	o = json_pack("{s:s,s:i,s:i}", K_TASK, name, K_RUNNING,
	    (int)run_task_count(name), K_QUEUED, (int)queue_count_task(name));
	if ((last = ops_last_ended(name)) != NULL) {
		json_object_set_new(o, K_LAST, json_pack("{s:O,s:O}", K_ID,
		    json_object_get(last, K_ID), K_STATUS,
		    json_object_get(last, K_STATUS)));
		json_decref(last);
	} else
		json_object_set_new(o, K_LAST, json_null());
	json_object_set_new(o, K_HTML, page_html_json(b));
	page_index_main(m, t);
	json_object_set_new(o, K_MAIN, page_html_json(m));
	api_sse_event(w->hs, EV_TASK, serial, o);
}

/*
 * Send a watcher the changes after those it was sent, oldest first, the
 * tasks it may see only; then, the first time, EV_SYNC. It stops at
 * PAGE_LIST_HIGH unsent bytes, and goes on from there once they are
 * taken.
 */
static void
page_list_push(struct page_list_watch *w)
{
	struct page_list_task	*e, *prev;
	struct task		*t;

	if (http_stream_dead(w->hs))
		return;		/* its close is on its way */
	e = TAILQ_LAST(&page_list_tasks, page_list_tasks);
	if (e == NULL || e->serial <= w->sent)
		e = NULL;
	else {
		while ((prev = TAILQ_PREV(e, page_list_tasks, entry)) !=
		    NULL && prev->serial > w->sent)
			e = prev;
	}
	for (; e != NULL; e = TAILQ_NEXT(e, entry)) {
		if (http_stream_pending(w->hs) >= PAGE_LIST_HIGH)
			return;
		if ((t = task_find(e->name)) != NULL &&
		    access_task(w->who, t, e->name))
			page_list_send(w, t, e->serial);
		w->sent = e->serial;
	}
	if (w->sent < page_list_last)
		w->sent = page_list_last;
	if (!w->synced) {
		w->synced = 1;
		api_sse_event(w->hs, EV_SYNC, w->sent, json_pack("{s:I}",
		    K_SERIAL, (json_int_t)w->sent));
	}
}

/* A watcher's client went away (or was cut off): forget it. */
static void
page_list_closed(void *arg)
{
	struct page_list_watch	*w = arg;

	TAILQ_REMOVE(&page_list_watches, w, entry);
	who_free(w->who);
	free(w);
}

/* A watcher's client took what was sent: send more, if there is more. */
static void
page_list_drained(void *arg)
{
	struct page_list_watch	*w = arg;

	if ((w->sent < page_list_last || !w->synced) &&
	    http_stream_pending(w->hs) < PAGE_LIST_LOW)
		page_list_push(w);
}

/*
 * The changes a request asks for: after ?since=SERIAL (the page's), or
 * after the Last-Event-ID of a browser that reconnects, whichever is
 * later; since=0 for every change since start-up; without either, those
 * from now on. -1 if this daemon cannot tell them (see above).
 */
static int64_t
page_list_since(struct http_req *hr)
{
	const char	*s, *errstr;
	int64_t		 since = page_list_last, last;

	if ((s = http_query(hr, K_SINCE)) != NULL) {
		since = strtonum(s, 0, INT64_MAX, &errstr);
		if (errstr != NULL)
			return (-1);
		if (since == 0)
			since = page_list_first;
	}
	if ((s = http_header(hr, "Last-Event-ID")) != NULL) {
		last = strtonum(s, 0, INT64_MAX, &errstr);
		if (errstr == NULL && last > since)
			since = last;
	}
	if (since < page_list_floor || since > page_list_last)
		return (-1);
	return (since);
}

/*
 * GET /events: the task list's Server-Sent Events. EV_TASK (with the
 * serial of the change as its id) for each task the user may see whose
 * runs changed after the serial asked for (see page_list_since) and
 * whenever one changes later: {"task", "running", "queued", "last",
 * "html"}, the task's state and its part of the list as HTML (what
 * page_index_state draws); EV_SYNC ({"serial"}, the same as its id) once
 * those before were sent. A request for changes this daemon cannot tell
 * gets EV_RELOAD and the stream ends.
 */
void
page_list_events(struct http_req *hr)
{
	struct page_list_watch	*w;
	int64_t			 since;

	since = page_list_since(hr);
	w = xcalloc(1, sizeof *w);
	w->who = hr->who;	/* taken: hr is freed when the stream starts */
	hr->who = NULL;
	w->sent = since;
	TAILQ_INSERT_TAIL(&page_list_watches, w, entry);
	w->hs = http_stream_start(hr, 200, "text/event-stream",
	    ": keep-alive\n\n", page_list_closed, page_list_drained, w);
	if (since != -1) {
		page_list_push(w);
		return;
	}
	api_sse_event(w->hs, EV_RELOAD, -1, json_pack("{s:I}", K_SERIAL,
	    (json_int_t)page_list_last));
	http_stream_end(w->hs);
	page_list_closed(w);
}

/* Start: the serial, and runs.c's word on every change. */
void
page_list_init(void)
{
	page_list_first = page_list_floor = page_list_last =
	    time_now_ms() * 1000;
	page_list_ev = event_new(ml_base, -1, 0, page_list_flush_cb, NULL);
	runs_on_change(page_list_changed);
}

/* At exit (the watchers are gone with their streams): forget it all. */
void
page_list_close(void)
{
	struct page_list_task	*e;

	runs_on_change(NULL);
	while ((e = TAILQ_FIRST(&page_list_tasks)) != NULL) {
		TAILQ_REMOVE(&page_list_tasks, e, entry);
		RB_REMOVE(page_list_tree, &page_list_tree, e);
		free(e->name);
		free(e);
	}
	page_list_ntasks = 0;
	if (page_list_ev != NULL)
		event_free(page_list_ev);
	page_list_ev = NULL;
	page_list_due = 0;
}
