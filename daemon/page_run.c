/* The web page of one run: its state and output, live over Server-Sent Events. */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "microlightd.h"

#define PAGE_RUN_INLINE	(1024 * 1024)	/* output shown in the page itself */

/* A chunk of output kept for the page. */
struct page_chunk {
	int64_t			 seq;
	enum run_stream		 stream;
	size_t			 len;
	TAILQ_ENTRY(page_chunk)	 entry;
	u_char			 data[];
};
TAILQ_HEAD(page_chunks, page_chunk);

/* A run's output read for its page: the last PAGE_RUN_INLINE bytes. */
struct page_output {
	struct page_chunks	 chunks;
	size_t			 bytes;		/* kept */
	int64_t			 skipped;	/* bytes left out before them */
	int64_t			 next_seq;	/* the live stream goes on here */
	json_t			*run;		/* the end's object */
	int			 ended;
};

/* A page's live stream (GET /runs/ID/events): its follow and its state. */
struct page_events {
	struct api_follow	 af;		/* first: see api_follow */
	int64_t			 id;		/* the run */
	int64_t			 from;		/* chunks before: on the page */
	struct html_ansi_state	 st[2];		/* stdout, stderr */
	char			 token[PAGE_TOKEN_LEN];
	char			*why;		/* queued: the reason sent */
	TAILQ_ENTRY(page_events) entry;		/* in page_queued if why */
};

/*
 * The live pages of queued runs. Why one waits changes as other runs
 * start and end (runs_on_change) while its own state does not: after such
 * changes, in a turn of the loop of its own, each page's reason is made
 * again and, if it changed, sent as a status event.
 */
static TAILQ_HEAD(, page_events) page_queued =
    TAILQ_HEAD_INITIALIZER(page_queued);
static struct event	*page_queued_ev;
static int		 page_queued_due;

/*
 * The run page's script (page_run.js, made into a string by make): output,
 * state and end arrive as Server-Sent Events (see page_run_events) and go
 * into the page; the output box stays at its bottom if it was there.
 * Without JavaScript the page reloads.
 */
static const char page_run_js[] =
#include "daemon/page_run_js.h"
;

/*
 * A chunk of output as HTML: escaped, ANSI styles as classes, stderr in a
 * span of its own. data NULL flushes what st holds. A new string, maybe
 * empty.
 */
static char *
page_run_html(enum run_stream stream, const void *data, size_t len,
    struct html_ansi_state *st)
{
	char	*h, *w;

	h = html_ansi(data, len, st);
	if (*h == '\0' || stream != STREAM_STDERR)
		return (h);
	xasprintf(&w, "<span class=\"err\">%s</span>", h);
	free(h);
	return (w);
}

/* Keep a chunk for the page, dropping the oldest past the limit. */
static void
page_run_keep(void *arg, int64_t seq, enum run_stream stream, int64_t time,
    const void *data, size_t len)
{
	struct page_output	*po = arg;
	struct page_chunk	*c;

	c = xmalloc(sizeof *c + len);
	c->seq = seq;
	c->stream = stream;
	c->len = len;
	memcpy(c->data, data, len);
	TAILQ_INSERT_TAIL(&po->chunks, c, entry);
	po->bytes += len;
	po->next_seq = seq + 1;
	while (po->bytes > PAGE_RUN_INLINE &&
	    (c = TAILQ_FIRST(&po->chunks)) != TAILQ_LAST(&po->chunks,
	    page_chunks)) {
		TAILQ_REMOVE(&po->chunks, c, entry);
		po->bytes -= c->len;
		po->skipped += c->len;
		free(c);
	}
}

/* The output read so far is all there is now: keep the run's object. */
static void
page_run_kept(void *arg, json_t *run)
{
	struct page_output	*po = arg;

	po->run = run;
	po->ended = 1;
}

static const struct follow_sink page_run_read_sink = {
	page_run_keep, NULL, page_run_kept, NULL, NULL
};

/*
 * Read the output a run has now (the last PAGE_RUN_INLINE bytes) with a
 * follower that does not follow: it passes on what is stored and in
 * memory, then ends, all within follow_pump. Returns the run's object
 * then, or obj (consumed either way).
 */
static json_t *
page_run_read(int64_t id, struct page_output *po, json_t *obj)
{
	struct follower	*f;

	memset(po, 0, sizeof *po);
	TAILQ_INIT(&po->chunks);
	f = follow_start(id, 1, 0, 0, &page_run_read_sink, po);
	follow_pump(f);
	if (!po->ended) {
		/* Not expected: never let it call back into the stack. */
		follow_cancel(f);
		return (obj);
	}
	if (!json_is_object(po->run)) {
		json_decref(po->run);
		return (obj);
	}
	json_decref(obj);
	return (page_live(po->run));
}

/* Free what page_run_read kept. */
static void
page_run_free(struct page_output *po)
{
	struct page_chunk	*c;

	while ((c = TAILQ_FIRST(&po->chunks)) != NULL) {
		TAILQ_REMOVE(&po->chunks, c, entry);
		free(c);
	}
}

/* How a run ended, in words: exit code, signal, reason. */
static void
page_run_outcome(struct evbuffer *b, json_t *run)
{
	json_t		*code = json_object_get(run, K_EXIT_CODE);
	json_t		*sig = json_object_get(run, K_SIGNAL);
	const char	*reason = page_json_str(run, K_REASON);
	int		 n;

	if (json_is_integer(code))
		evbuffer_add_printf(b, "<dt>Exit code</dt><dd>%lld</dd>",
		    (long long)json_integer_value(code));
	if (json_is_integer(sig)) {
		n = (int)json_integer_value(sig);
		evbuffer_add_printf(b, "<dt>Signal</dt><dd>%d", n);
		if (n > 0 && n < 65) {
			evbuffer_add_printf(b, " (");
			page_text(b, strsignal(n));
			evbuffer_add_printf(b, ")");
		}
		evbuffer_add_printf(b, "</dd>");
	}
	if (reason != NULL) {
		evbuffer_add_printf(b, "<dt>Reason</dt><dd>");
		page_text(b, reason);
		evbuffer_add_printf(b, "</dd>");
	}
}

/*
 * How long a run has been going (ms), for its page's script to count on
 * from; -1 if it is not going (not started, or over).
 */
static int64_t
page_run_elapsed(json_t *run)
{
	const char	*s = page_json_str(run, K_STARTED_AT);
	int64_t		 start, now;

	if (s == NULL || page_json_str(run, K_FINISHED_AT) != NULL ||
	    time_parse_rfc3339(s, &start) != 0)
		return (-1);
	now = time_now_ms();
	return (now > start ? now - start : 0);
}

/*
 * A run's facts: who, when, how long, how it ended. The duration of a run
 * that goes carries how long it has gone (data-elapsed) and the output's
 * size its bytes (data-bytes) and max-log-size (data-limit): the page's
 * script counts the one on every second and sets the other from the live
 * stream's events.
 */
static void
page_run_facts(struct evbuffer *b, json_t *run)
{
	json_t		*retry = json_object_get(run, K_RETRY_OF);
	json_t		*rerun = json_object_get(run, K_RERUN_OF);
	json_t		*chain = json_object_get(run, K_CHAIN_OF);
	const char	*sched = page_json_str(run, K_SCHEDULE);
	char		 size[32];
	json_int_t	 dropped, bytes;
	int64_t		 elapsed;

	evbuffer_add_printf(b, "<div class=\"card\"><dl class=\"facts\">"
	    "<dt>Started by</dt><dd>");
	page_by(b, page_json_str(run, K_TRIGGERED_BY));
	evbuffer_add_printf(b, " <span class=\"muted\">(");
	page_text(b, page_json_str(run, K_TRIGGER));
	if (sched != NULL) {
		evbuffer_add_printf(b, ": <code>");
		page_text(b, sched);
		evbuffer_add_printf(b, "</code>");
	}
	evbuffer_add_printf(b, ")</span></dd><dt>Queued</dt><dd>");
	page_time(b, page_json_str(run, K_QUEUED_AT), 0);
	evbuffer_add_printf(b, "</dd><dt>Started</dt><dd>");
	page_time(b, page_json_str(run, K_STARTED_AT), 0);
	evbuffer_add_printf(b, "</dd><dt>Finished</dt><dd>");
	page_time(b, page_json_str(run, K_FINISHED_AT), 0);
	evbuffer_add_printf(b, "</dd><dt>Duration</dt><dd id=\"duration\"");
	if ((elapsed = page_run_elapsed(run)) != -1)
		evbuffer_add_printf(b, " data-elapsed=\"%lld\"",
		    (long long)elapsed);
	evbuffer_add_printf(b, ">");
	page_duration(b, run);
	evbuffer_add_printf(b, "</dd>");
	if (json_is_integer(rerun))
		evbuffer_add_printf(b, "<dt>Rerun of</dt><dd><a id=\"rerun-of\" "
		    "href=\"%s/runs/%lld\">#%lld</a></dd>", http_base(),
		    (long long)json_integer_value(rerun),
		    (long long)json_integer_value(rerun));
	if (json_is_integer(chain))
		evbuffer_add_printf(b, "<dt>Chained from</dt><dd><a "
		    "id=\"chain-of\" href=\"%s/runs/%lld\">#%lld</a></dd>",
		    http_base(), (long long)json_integer_value(chain),
		    (long long)json_integer_value(chain));
	if (json_is_integer(retry))
		evbuffer_add_printf(b, "<dt>Attempt</dt><dd>%lld, retrying "
		    "<a id=\"retry-of\" href=\"%s/runs/%lld\">#%lld</a></dd>",
		    (long long)json_integer_value(json_object_get(run,
		    K_ATTEMPT)), http_base(), (long long)json_integer_value(retry),
		    (long long)json_integer_value(retry));
	page_run_outcome(b, run);
	bytes = json_integer_value(json_object_get(run, K_OUTPUT_SIZE));
	page_size(bytes, size, sizeof size);
	evbuffer_add_printf(b, "<dt>Output</dt><dd id=\"output-size\" "
	    "data-bytes=\"%lld\"", (long long)bytes);
	/*
	 * While it goes, the limit: output past it is dropped and sends no
	 * event, so the page's script says so once the size reaches it.
	 */
	if (elapsed != -1)
		evbuffer_add_printf(b, " data-limit=\"%lld\"",
		    (long long)ml_conf->max_log_size);
	evbuffer_add_printf(b, ">%s", size);
	/* Past max-log-size or refused by the database: the log says which. */
	if ((dropped = json_integer_value(json_object_get(run,
	    K_OUTPUT_DROPPED))) > 0)
		evbuffer_add_printf(b, " <span class=\"muted\" id=\"dropped\">"
		    "(%lld bytes dropped)</span>", (long long)dropped);
	evbuffer_add_printf(b, "</dd></dl></div>\n");
}

/*
 * The Run again button: for a task that takes no parameters and does not
 * ask to be sure, a form that starts the rerun at once; else a link to the
 * task's form filled with the run's values. None if the task cannot run.
 * (task_find, not ops_task: this is also drawn inside a follower's
 * callback, where tasks.d must not be reloaded.)
 */
static void
page_run_again(struct evbuffer *b, json_t *run, long long id,
    const char *token)
{
	const char	*name = page_json_str(run, K_TASK);
	struct task	*t;

	if (name == NULL || !taskname_valid(name) ||
	    (t = task_find(name)) == NULL || !task_valid(t))
		return;
	if (t->def->nparams > 0 || t->def->confirm ||
	    json_object_size(json_object_get(run, K_PARAMS)) > 0) {
		evbuffer_add_printf(b, "<a class=\"btn\" id=\"rerun\" "
		    "href=\"%s/tasks/%s?%s=%lld#run\">Run again…</a>",
		    http_base(), name,
		    PAGE_RERUN_QUERY, id);
		return;
	}
	evbuffer_add_printf(b, "<form class=\"inline\" method=\"post\" "
	    "action=\"%s/runs/%lld/rerun\">", http_base(), id);
	page_token(b, token);
	evbuffer_add_printf(b, "<button class=\"btn\" type=\"submit\" "
	    "id=\"rerun\">Run again</button></form>");
}

/*
 * Why a queued run waits, in words: its time has not come (a run for
 * later queued before the wall clock was set back), its task's
 * @concurrency is taken (by which run, when one at a time), or every slot
 * of max-running is. (By task_find: this is drawn inside followers'
 * callbacks too.)
 */
static void
page_run_why(struct evbuffer *b, json_t *run)
{
	const char	*name = page_json_str(run, K_TASK);
	const char	*when = page_json_str(run, K_SCHEDULED_FOR);
	struct task	*t;
	u_int		 n, running = run_active_count();
	int64_t		 first, due;

	if (when != NULL && time_parse_rfc3339(when, &due) == 0 &&
	    due > time_now_ms()) {
		/* A <time>: the page's script shows it in the viewer's zone. */
		evbuffer_add_printf(b, "Waiting for its time: scheduled for ");
		page_time_ms(b, due, PAGE_T_DAY);
		evbuffer_add_printf(b, ".");
	} else if (name != NULL && (t = task_find(name)) != NULL &&
	    t->def != NULL &&
	    (n = run_task_count(name)) >= (u_int)t->def->concurrency &&
	    (first = run_task_oldest(name)) != 0) {
		if (t->def->concurrency == 1)
			evbuffer_add_printf(b, "Waiting for <a href=\"%s/runs/"
			    "%lld\">#%lld</a>: this task runs one at a time.",
			    http_base(), (long long)first, (long long)first);
		else
			evbuffer_add_printf(b, "Waiting for one of the %u runs "
			    "of this task under way (@concurrency %d), the "
			    "first <a href=\"%s/runs/%lld\">#%lld</a>.", n,
			    t->def->concurrency, http_base(), (long long)first,
			    (long long)first);
	} else if ((int)running >= ml_conf->max_running)
		evbuffer_add_printf(b, "Waiting for a free slot: %u run%s "
		    "under way, as many as max-running allows.", running,
		    running == 1 ? "" : "s");
	else
		evbuffer_add_printf(b, "Waiting for its turn: runs queued "
		    "before it, or of a higher priority, go first.");
}

/* The same, as a new string. */
static char *
page_run_why_text(json_t *run)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;

	page_run_why(b, run);
	evbuffer_add(b, "", 1);
	s = xstrdup((char *)evbuffer_pullup(b, -1));
	evbuffer_free(b);
	return (s);
}

/* The same, as the page's paragraph. */
static void
page_run_why_queued(struct evbuffer *b, json_t *run)
{
	evbuffer_add_printf(b, "<p class=\"lead\" id=\"why-queued\">");
	page_run_why(b, run);
	evbuffer_add_printf(b, "</p>\n");
}

/*
 * The top of a run's page, which the live stream replaces when the run
 * changes: title, status badge, Cancel and Reload while it is not over,
 * when a scheduled run is due, Run again, and the facts.
 */
static void
page_run_head(struct evbuffer *b, json_t *run, const char *token)
{
	const char	*status = page_json_str(run, K_STATUS);
	long long	 id = json_integer_value(json_object_get(run, K_ID));
	int		 final;

	final = status == NULL || proto_status_final(proto_status_from(status));
	evbuffer_add_printf(b, "<div class=\"head-row\"><div class=\"title\">"
	    "<h1>");
	page_text(b, page_task_title(page_json_str(run, K_TASK)));
	evbuffer_add_printf(b, " <span class=\"muted\">run #%lld</span></h1>",
	    id);
	page_badge(b, status, 0);
	evbuffer_add_printf(b, "</div><div class=\"head-actions\">");
	if (!final) {
		evbuffer_add_printf(b, "<form class=\"inline\" method=\"post\" "
		    "action=\"%s/runs/%lld/cancel\">", http_base(), id);
		page_token(b, token);
		evbuffer_add_printf(b, "<button class=\"btn danger\" "
		    "type=\"submit\" id=\"cancel\">Cancel run</button></form>"
		    "<a class=\"btn\" href=\"%s/runs/%lld\">Reload</a>",
		    http_base(), id);
	}
	page_run_again(b, run, id, token);
	evbuffer_add_printf(b, "</div></div>\n");
	if (status != NULL && proto_status_from(status) == RUN_SCHEDULED) {
		evbuffer_add_printf(b, "<p class=\"lead\" id=\"scheduled-for\">"
		    "Scheduled for ");
		page_time(b, page_json_str(run, K_SCHEDULED_FOR), PAGE_T_DAY);
		evbuffer_add_printf(b, "</p>\n");
	}
	if (status != NULL && proto_status_from(status) == RUN_QUEUED)
		page_run_why_queued(b, run);
	page_run_facts(b, run);
}

/* The parameters of a run, with their labels when the task has them. */
static void
page_run_params(struct evbuffer *b, json_t *run)
{
	json_t			*params = json_object_get(run, K_PARAMS), *v;
	const struct task	*t = ops_task(who_daemon(),
				    page_json_str(run, K_TASK));
	const struct taskparam	*tp = NULL;
	const char		*key;

	if (json_object_size(params) == 0)
		return;
	evbuffer_add_printf(b, "<section class=\"card\" id=\"params\"><h2>"
	    "Parameters</h2><dl class=\"facts\">");
	json_object_foreach(params, key, v) {
		if (t != NULL && t->def != NULL)
			tp = taskdef_param(t->def, key);
		evbuffer_add_printf(b, "<dt>");
		if (tp != NULL && tp->label != NULL) {
			page_text(b, tp->label);
			evbuffer_add_printf(b, " <code class=\"muted\">");
			page_text(b, key);
			evbuffer_add_printf(b, "</code>");
		} else
			page_text(b, key);
		evbuffer_add_printf(b, "</dt><dd>");
		if (json_string_length(v) == 0)
			evbuffer_add_printf(b, "<span class=\"muted\">(empty)"
			    "</span>");
		else {
			evbuffer_add_printf(b, "<code>");
			page_text(b, json_string_value(v));
			evbuffer_add_printf(b, "</code>");
		}
		evbuffer_add_printf(b, "</dd>");
	}
	evbuffer_add_printf(b, "</dl></section>\n");
}

/* The output read for the page, rendered; flushed if the run is over. */
static void
page_run_chunks(struct evbuffer *b, struct page_output *po, int final)
{
	struct html_ansi_state	 st[2];
	struct page_chunk	*c;
	char			*h;
	int			 i;

	memset(st, 0, sizeof st);
	TAILQ_FOREACH(c, &po->chunks, entry) {
		i = c->stream == STREAM_STDERR;
		h = page_run_html(c->stream, c->data, c->len, &st[i]);
		evbuffer_add(b, h, strlen(h));
		free(h);
	}
	for (i = 0; final && i < 2; i++) {
		h = page_run_html(i ? STREAM_STDERR : STREAM_STDOUT, NULL, 0,
		    &st[i]);
		evbuffer_add(b, h, strlen(h));
		free(h);
	}
}

/* The output box; while the run goes, where its live stream is. */
static void
page_run_output(struct evbuffer *b, long long id, struct page_output *po,
    int final)
{
	char	 kept[32], all[32];

	evbuffer_add_printf(b, "<section class=\"card\" id=\"output\"><div "
	    "class=\"out-head\"><h2>Output</h2><span class=\"legend\" "
	    "title=\"The colours of the output below\"><span "
	    "class=\"chip\">stdout</span><span class=\"chip err\">stderr"
	    "</span></span><span class=\"live\" id=\"live\" hidden>live"
	    "</span><a class=\"small\" href=\"%s/api/v1/runs/%lld/log\">"
	    "Raw log</a></div>\n", http_base(), id);
	if (po->skipped > 0) {
		page_size((int64_t)po->bytes, kept, sizeof kept);
		page_size(po->skipped + (int64_t)po->bytes, all, sizeof all);
		evbuffer_add_printf(b, "<p class=\"note\" id=\"cut\">Only the "
		    "last %s of %s are shown here: <a href=\"%s/api/v1/runs/"
		    "%lld/log\">download the whole output</a>.</p>\n", kept,
		    all, http_base(), id);
	}
	evbuffer_add_printf(b, "<div class=\"outbox\" id=\"outbox\"><pre "
	    "class=\"out\" id=\"out\" data-run=\"#%lld\"", id);
	if (!final)
		evbuffer_add_printf(b, " data-events=\"%s/runs/%lld/events?"
		    "from=%lld\"", http_base(), id, (long long)po->next_seq);
	evbuffer_add_printf(b, ">");
	if (TAILQ_EMPTY(&po->chunks))
		evbuffer_add_printf(b, "<span class=\"noout\" id=\"noout\">%s"
		    "</span>", final ? "This run wrote no output." :
		    "No output yet.");
	page_run_chunks(b, po, final);
	evbuffer_add_printf(b, "</pre></div>\n");
	if (!final)
		evbuffer_add_printf(b, "<noscript><p class=\"note\">This page "
		    "reloads every 2 seconds until the run ends.</p></noscript>"
		    "\n");
	evbuffer_add_printf(b, "</section>\n");
}

/*
 * The run of the path: its id, and its object in *runp (the caller's);
 * -1 after an error page if the id is bad or there is no such run.
 */
static int64_t
page_run_find(struct http_req *hr, json_t **runp)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	int64_t			 id;

	if ((id = api_run_id(hr)) == -1)
		return (-1);
	if (ops_find_run(hr->who, id, NULL, runp, &err) != 0) {
		http_ops_error(hr, ops_error_reply(&err));
		return (-1);
	}
	return (id);
}

/* GET /runs/ID: a run, its output so far, live while it goes. */
void
page_run(struct http_req *hr)
{
	struct page_output	 po;
	struct evbuffer		*b;
	const char		*status, *task;
	char			 token[PAGE_TOKEN_LEN], title[64];
	json_t			*run;
	int64_t			 id;
	int			 final;

	if ((id = page_run_find(hr, &run)) == -1)
		return;
	run = page_run_read(id, &po, run);
	status = page_json_str(run, K_STATUS);
	task = page_json_str(run, K_TASK);
	final = status == NULL || proto_status_final(proto_status_from(status));
	auth_form_token(hr->user, token, sizeof token);
	snprintf(title, sizeof title, "Run #%lld", (long long)id);

	b = evbuffer_new();
	page_begin(b, hr, title, !final);
	evbuffer_add_printf(b, "<nav class=\"crumbs\"><a href=\"%s/\">Tasks</a>"
	    " / ", http_base());
	if (task != NULL && taskname_valid(task))
		evbuffer_add_printf(b, "<a href=\"%s/tasks/%s\">%s</a>",
		    http_base(), task, task);
	else
		page_text(b, task);
	evbuffer_add_printf(b, "</nav>\n<div id=\"head\">");
	page_run_head(b, run, token);
	evbuffer_add_printf(b, "</div>\n");
	page_run_params(b, run);
	page_run_output(b, (long long)id, &po, final);
	page_end(b, hr, final ? NULL : page_run_js);
	page_send(hr, 200, b);
	page_run_free(&po);
	json_decref(run);
}

/*
 * Send an output event: the chunk as HTML (h is freed) and, while the run
 * is in memory, its output's size and dropped bytes as they are now (the
 * page shows them; a chunk read back from the database after the end has
 * none: the end event carries the final ones).
 */
static void
page_events_output_send(struct page_events *pe, int64_t seq,
    enum run_stream stream, char *h)
{
	struct run	*r;
	json_t		*o;

	if (*h != '\0') {
		o = json_pack("{s:I,s:s,s:s}", K_SEQ, (json_int_t)seq,
		    K_STREAM, proto_stream_name(stream), K_HTML, h);
		if ((r = runs_lookup(pe->id)) != NULL) {
			json_object_set_new(o, K_OUTPUT_SIZE,
			    json_integer(r->rec.output_size));
			json_object_set_new(o, K_OUTPUT_DROPPED,
			    json_integer(r->rec.output_dropped));
		}
		api_sse_event(pe->af.hs, EV_OUTPUT, seq, o);
	}
	free(h);
}

/* A page's stream is no longer among those of queued runs. */
static void
page_queued_drop(struct page_events *pe)
{
	if (pe->why != NULL) {
		TAILQ_REMOVE(&page_queued, pe, entry);
		free(pe->why);
		pe->why = NULL;
	}
}

/* A page's stream goes (api_follow's gone). */
static void
page_events_gone(struct api_follow *af)
{
	page_queued_drop((struct page_events *)af);
}

/*
 * Send a status or end event: the run's state, its output's size and
 * dropped bytes, and its page's top. While the run is queued, the page is
 * among page_queued, with the reason it was sent.
 */
static void
page_events_head(struct page_events *pe, const char *type, json_t *run)
{
	struct evbuffer	*b = evbuffer_new();
	const char	*status = page_json_str(run, K_STATUS);

	if (status != NULL && proto_status_from(status) == RUN_QUEUED) {
		if (pe->why == NULL)
			TAILQ_INSERT_TAIL(&page_queued, pe, entry);
		free(pe->why);
		pe->why = page_run_why_text(run);
	} else
		page_queued_drop(pe);

	if (json_is_object(run))
		page_run_head(b, run, pe->token);
	api_sse_event(pe->af.hs, type, -1, json_pack("{s:s,s:o,s:I,s:I}",
	    K_STATUS, status != NULL ? status : "unknown", K_HTML,
	    page_html_json(b), K_OUTPUT_SIZE, json_integer_value(
	    json_object_get(run, K_OUTPUT_SIZE)), K_OUTPUT_DROPPED,
	    json_integer_value(json_object_get(run, K_OUTPUT_DROPPED))));
	json_decref(run);
}

/* A chunk of the run's output (those already on the page are skipped). */
static void
page_events_output(void *arg, int64_t seq, enum run_stream stream,
    int64_t time, const void *data, size_t len)
{
	struct page_events	*pe = arg;

	if (seq < pe->from)
		return;
	page_events_output_send(pe, seq, stream, page_run_html(stream, data,
	    len, &pe->st[stream == STREAM_STDERR]));
}

/* The run started. */
static void
page_events_status(void *arg, json_t *run)
{
	page_events_head(arg, EV_STATUS, run);
}

/* The run ended: the rest of its output, the end event, the stream's end. */
static void
page_events_end(void *arg, json_t *run)
{
	struct page_events	*pe = arg;

	page_events_output_send(pe, -1, STREAM_STDOUT, page_run_html(
	    STREAM_STDOUT, NULL, 0, &pe->st[0]));
	page_events_output_send(pe, -1, STREAM_STDERR, page_run_html(
	    STREAM_STDERR, NULL, 0, &pe->st[1]));
	page_events_head(pe, EV_END, run);
	api_follow_end(&pe->af);
}

static const struct follow_sink page_events_sink = {
	page_events_output, page_events_status, page_events_end,
	api_follow_pending, NULL
};

/*
 * Where the live stream starts: ?from=SEQ (the page shows what came
 * before), or after the Last-Event-ID a reconnecting browser sends.
 */
static int64_t
page_events_from(struct http_req *hr)
{
	const char	*s, *errstr;
	int64_t		 from = 0, last;

	if ((s = http_query(hr, "from")) != NULL) {
		from = strtonum(s, 0, INT64_MAX - 1, &errstr);
		if (errstr != NULL)
			from = 0;
	}
	if ((s = http_header(hr, "Last-Event-ID")) != NULL) {
		last = strtonum(s, 0, INT64_MAX - 1, &errstr);
		if (errstr == NULL && last + 1 > from)
			from = last + 1;
	}
	return (from);
}

/*
 * GET /runs/ID/events: the run page's Server-Sent Events. "status" (now,
 * when the run starts, and while it is queued when why it waits changes:
 * see page_queued) and "end" carry {"status", "html",
 * "output_size", "output_dropped"}: the run's state, its page's top as
 * HTML and its output's byte counts; "output" carries {"seq", "stream",
 * "html"}, a chunk of output as escaped HTML with the chunk's number as
 * the event id, and while the run is in memory "output_size" and
 * "output_dropped" as they are then. The stream ends after "end".
 */
void
page_run_events(struct http_req *hr)
{
	struct page_events	*pe;
	json_t			*run;
	int64_t			 id;

	if ((id = page_run_find(hr, &run)) == -1)
		return;
	pe = xcalloc(1, sizeof *pe);
	pe->af.gone = page_events_gone;
	pe->id = id;
	pe->from = page_events_from(hr);
	auth_form_token(hr->user, pe->token, sizeof pe->token);
	api_follow_stream(&pe->af, hr, "text/event-stream",
	    ": keep-alive\n\n");
	page_events_head(pe, EV_STATUS, run);
	pe->af.f = follow_start(id, 1, 1, 0, &page_events_sink, pe);
	follow_pump(pe->af.f);
}

/*
 * The run of a button's post (POST /runs/ID/...): its id once the form's
 * token is checked, and in *to_task (if not NULL) whether the form asks
 * to go back to the task's page (_back=task); -1 after an error page
 * (while shutting down, with the message given).
 */
static int64_t
page_run_posted(struct http_req *hr, const char *shutting_down,
    int *to_task)
{
	struct evkeyvalq	 form;
	const char		*back;

	if (ml_shutting_down) {
		page_error(hr, 503, shutting_down);
		return (-1);
	}
	if (page_form(hr, &form) != 0)
		return (-1);
	if (to_task != NULL) {
		back = page_field(&form, "_back");
		*to_task = back != NULL && strcmp(back, "task") == 0;
	}
	evhttp_clear_headers(&form);
	return (api_run_id(hr));
}

/*
 * POST /runs/ID/cancel: the Cancel button; back to the run's page, or to
 * its task's page when the form says so (_back=task: its Upcoming list).
 */
void
page_run_cancel(struct http_req *hr)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*reply;
	const char		*task;
	char			 loc[ML_NAME_MAX + 64];
	int64_t			 id;
	int			 rc, to_task;

	if ((id = page_run_posted(hr, "microlight is shutting down: its runs "
	    "are being stopped.", &to_task)) == -1)
		return;
	reply = proto_ok();
	rc = ops_cancel(hr->who, id, reply, &err);
	if (rc == -1 && strcmp(err.code, E_NOT_ACTIVE) != 0) {
		json_decref(reply);
		page_error(hr, http_status_for(err.code), err.message);
		ops_error_clear(&err);
		return;
	}
	ops_error_clear(&err);
	task = page_json_str(json_object_get(reply, K_RUN), K_TASK);
	if (to_task && task != NULL) {
		/* From a task's Upcoming list (a valid name: no escaping). */
		snprintf(loc, sizeof loc, "/tasks/%s#upcoming", task);
	} else
		snprintf(loc, sizeof loc, "/runs/%lld", (long long)id);
	http_redirect(hr, loc);
	json_decref(reply);
}

/*
 * POST /runs/ID/rerun: the Run again button of a run whose task takes no
 * parameters; 303 to the new run.
 */
void
page_run_rerun(struct http_req *hr)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*reply;
	char			 loc[64];
	int64_t			 id, rid;

	if ((id = page_run_posted(hr, "microlight is shutting down: no new "
	    "runs.", NULL)) == -1)
		return;
	reply = proto_ok();
	rid = ops_rerun(hr->who, id, NULL, NULL, TRIGGER_WEB, NULL, NULL,
	    reply, &err);
	json_decref(reply);
	if (rid == -1) {
		page_error(hr, http_status_for(err.code), err.message);
		ops_error_clear(&err);
		return;
	}
	snprintf(loc, sizeof loc, "/runs/%lld", (long long)rid);
	http_redirect(hr, loc);
}

/* From a fresh turn of the loop: a queued run's page whose reason changed. */
static void
page_queued_cb(int fd, short events, void *arg)
{
	struct page_events	*pe, *next;
	struct run		*r;
	json_t			*run;
	char			*why;

	page_queued_due = 0;
	TAILQ_FOREACH_SAFE(pe, &page_queued, entry, next) {
		/* Started or ended: its follower says so. */
		if ((r = runs_lookup(pe->id)) == NULL ||
		    r->rec.status != RUN_QUEUED)
			continue;
		run = object_run(&r->rec);
		why = page_run_why_text(run);
		if (strcmp(why, pe->why) != 0)
			page_events_head(pe, EV_STATUS, run);
		else
			json_decref(run);
		free(why);
	}
}

/* A task's runs changed (runs_on_change): the reasons are looked at. */
static void
page_queued_changed(const char *name)
{
	if (!page_queued_due && !TAILQ_EMPTY(&page_queued)) {
		page_queued_due = 1;
		event_active(page_queued_ev, EV_TIMEOUT, 0);
	}
}

/* Start: runs.c's word on every change. */
void
page_run_init(void)
{
	page_queued_ev = event_new(ml_base, -1, 0, page_queued_cb, NULL);
	runs_on_change(page_queued_changed);
}

/* At exit (the streams are gone, and page_queued empty with them). */
void
page_run_close(void)
{
	if (page_queued_ev != NULL)
		event_free(page_queued_ev);
	page_queued_ev = NULL;
	page_queued_due = 0;
}
