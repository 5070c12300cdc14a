/*
 * The JSON API (/api/v1/...): the control socket's operations over HTTP,
 * with the same objects ({"ok":true,...} or {"ok":false,"error":...}) and
 * the status codes a client of an HTTP API expects; a run's output as raw
 * bytes, followed or not, or as Server-Sent Events.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "microlightd.h"

/* A log being sent: its follow (first, see api_follow) and its form. */
struct api_log {
	struct api_follow	 af;
	int			 sse;
};

/* The run id of the path ("/api/v1/runs/ID"); -1 after a 404 if bad. */
int64_t
api_run_id(struct http_req *hr)
{
	const char	*errstr;
	int64_t		 id;

	id = strtonum(hr->arg, 1, INT64_MAX, &errstr);
	if (errstr != NULL) {
		http_error(hr, 404, E_UNKNOWN_RUN, "no run %s: a run id is a "
		    "positive integer", hr->arg);
		return (-1);
	}
	return (id);
}

/* Reply with an operation's result: its reply object, or its error. */
static void
api_result(struct http_req *hr, int rc, int status, json_t *reply,
    struct ops_error *err)
{
	if (rc == -1) {
		json_decref(reply);
		http_ops_error(hr, ops_error_reply(err));
		return;
	}
	http_json(hr, status, reply);
}

/* GET /api/v1/tasks */
void
api_tasks(struct http_req *hr)
{
	json_t	*reply = proto_ok();

	ops_list(hr->who, 0, reply);
	http_json(hr, 200, reply);
}

/* GET /api/v1/tasks/NAME: the task and its recent runs. */
void
api_task(struct http_req *hr)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*reply = proto_ok();

	api_result(hr, ops_show(hr->who, hr->arg, OPS_SHOW_LIMIT, reply, &err), 200,
	    reply, &err);
}

/*
 * The body of a POST that starts a run: none, or a JSON object with only
 * the members of keys (NULL-terminated; they are named in words in what),
 * "params" an object and the others strings. *reqp is the object (the
 * caller's) or NULL; -1 after an error reply.
 */
static int
api_run_body(struct http_req *hr, const char *const *keys, const char *what,
    json_t **reqp)
{
	json_t		*req, *v;
	json_error_t	 jerr;
	const char	*body, *type, *key;
	size_t		 len;
	u_int		 i;

	*reqp = NULL;
	body = http_body(hr, &len);
	if (len == 0)
		return (0);
	type = http_header(hr, "Content-Type");
	if (type == NULL || strncasecmp(type, "application/json", 16) != 0) {
		http_error(hr, 415, E_BAD_REQUEST, "the body must be JSON "
		    "(Content-Type: application/json)");
		return (-1);
	}
	req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL || !json_is_object(req)) {
		json_decref(req);
		http_error(hr, 400, E_BAD_REQUEST, "the body is not a JSON "
		    "object");
		return (-1);
	}
	json_object_foreach(req, key, v) {
		for (i = 0; keys[i] != NULL; i++) {
			if (strcmp(key, keys[i]) == 0)
				break;
		}
		if (keys[i] == NULL) {
			http_error(hr, 400, E_USAGE, "unknown member \"%s\" "
			    "(only %s)", key, what);
			json_decref(req);
			return (-1);
		}
		if (strcmp(key, K_PARAMS) == 0 ? !json_is_object(v) :
		    !json_is_string(v)) {
			http_error(hr, 400, E_USAGE, "\"%s\" must be %s", key,
			    strcmp(key, K_PARAMS) == 0 ? "an object" :
			    "a string");
			json_decref(req);
			return (-1);
		}
	}
	*reqp = req;
	return (0);
}

/*
 * The answer to a POST that started a run (id, -1 if it failed): 201 with
 * the run, and its address in Location.
 */
static void
api_run_started(struct http_req *hr, int64_t id, json_t *reply,
    struct ops_error *err)
{
	char	*loc;

	if (id != -1) {
		xasprintf(&loc, "%s/api/v1/runs/%lld", http_base(),
		    (long long)id);
		http_set_header(hr, "Location", loc);
		free(loc);
	}
	api_result(hr, id == -1 ? -1 : 0, 201, reply, err);
}

/* Refuse a request that would start or stop a run while shutting down. */
static int
api_shutting_down(struct http_req *hr)
{
	if (!ml_shutting_down)
		return (0);
	http_error(hr, 503, E_SHUTTING_DOWN, "microlightd is shutting down");
	return (1);
}

/*
 * POST /api/v1/tasks/NAME/runs with {"params":{...}} (or no body): 201
 * with the run, and its address in Location.
 */
void
api_task_run(struct http_req *hr)
{
	static const char *const keys[] = { K_PARAMS, K_AT, K_IN, NULL };
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*req, *reply;
	int64_t			 id;

	if (api_shutting_down(hr) || api_run_body(hr, keys,
	    "\"params\", \"at\" and \"in\"", &req) != 0)
		return;
	reply = proto_ok();
	id = ops_run(hr->who, hr->arg, json_object_get(req, K_PARAMS),
	    TRIGGER_API, NULL, 0, NULL, json_string_value(json_object_get(req, K_AT)),
	    json_string_value(json_object_get(req, K_IN)), reply, &err);
	json_decref(req);
	api_run_started(hr, id, reply, &err);
}

/*
 * POST /api/v1/runs/ID/rerun with {"params":{...}} (overrides; or no
 * body), "at" or "in" as above: a new run of the run's task with its
 * parameters; 201 as above.
 */
void
api_run_rerun(struct http_req *hr)
{
	static const char *const keys[] = { K_PARAMS, K_AT, K_IN, NULL };
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*req, *reply;
	int64_t			 run, id;

	if (api_shutting_down(hr) || (run = api_run_id(hr)) == -1 ||
	    api_run_body(hr, keys, "\"params\", \"at\" and \"in\"",
	    &req) != 0)
		return;
	reply = proto_ok();
	id = ops_rerun(hr->who, run, json_object_get(req, K_PARAMS), NULL,
	    TRIGGER_API, json_string_value(json_object_get(req, K_AT)),
	    json_string_value(json_object_get(req, K_IN)), reply, &err);
	json_decref(req);
	api_run_started(hr, id, reply, &err);
}

/* GET /api/v1/runs?task=&status=&limit=&before= */
void
api_runs(struct http_req *hr)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	const char		*s, *errstr;
	int64_t			 limit = OPS_RUNS_LIMIT, before = 0;
	json_t			*reply;

	if ((s = http_query(hr, K_LIMIT)) != NULL) {
		limit = strtonum(s, 1, OPS_MAX_LIMIT, &errstr);
		if (errstr != NULL) {
			http_error(hr, 400, E_USAGE, "limit is 1 to %d",
			    OPS_MAX_LIMIT);
			return;
		}
	}
	if ((s = http_query(hr, K_BEFORE)) != NULL) {
		before = strtonum(s, 1, INT64_MAX, &errstr);
		if (errstr != NULL) {
			http_error(hr, 400, E_USAGE, "before is a run id");
			return;
		}
	}
	reply = proto_ok();
	api_result(hr, ops_runs(hr->who, http_query(hr, K_TASK),
	    http_query(hr, K_STATUS), before, limit, reply, &err), 200, reply,
	    &err);
}

/* GET /api/v1/runs/ID */
void
api_run(struct http_req *hr)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*reply;
	int64_t			 id;

	if ((id = api_run_id(hr)) == -1)
		return;
	reply = proto_ok();
	api_result(hr, ops_status(hr->who, id, reply, &err), 200, reply, &err);
}

/* POST /api/v1/runs/ID/cancel: 200 once cancelled, 202 while it stops. */
void
api_run_cancel(struct http_req *hr)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*reply;
	int64_t			 id;
	int			 rc;

	if (api_shutting_down(hr) || (id = api_run_id(hr)) == -1)
		return;
	reply = proto_ok();
	rc = ops_cancel(hr->who, id, reply, &err);
	api_result(hr, rc, proto_run_status(json_object_get(reply, K_RUN)) ==
	    RUN_RUNNING ? 202 : 200, reply, &err);
}

/* Send one SSE event: a type and one line of JSON (consumed). */
void
api_sse_event(struct http_stream *hs, const char *type, int64_t id,
    json_t *obj)
{
	struct evbuffer	*b = evbuffer_new();
	char		*text, *line;
	size_t		 len;

	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (id >= 0)
		evbuffer_add_printf(b, "id: %lld\n", (long long)id);
	evbuffer_add_printf(b, "event: %s\ndata: %s\n\n", type,
	    text != NULL ? text : "null");
	free(text);
	len = evbuffer_get_length(b);
	line = xmalloc(len);
	evbuffer_remove(b, line, len);
	http_stream_write(hs, line, len);
	free(line);
	evbuffer_free(b);
}

/* The client went away: the follower stops, the consumer is freed. */
static void
api_follow_closed(void *arg)
{
	struct api_follow	*af = arg;

	follow_cancel(af->f);
	if (af->gone != NULL)
		af->gone(af);
	free(af);
}

/* The client took what was sent: send more. */
static void
api_follow_drained(void *arg)
{
	struct api_follow	*af = arg;

	if (http_stream_pending(af->hs) < FOLLOW_LOW)
		follow_pump(af->f);
}

/*
 * Start the stream that af's follower is to feed (a 200 reply to hr):
 * when its client goes, the follower is cancelled, af->gone called and the
 * consumer freed; as it drains, the follower is pumped.
 */
void
api_follow_stream(struct api_follow *af, struct http_req *hr,
    const char *type, const char *heartbeat)
{
	af->hs = http_stream_start(hr, 200, type, heartbeat, api_follow_closed,
	    api_follow_drained, af);
}

/* Bytes of a follow not yet sent (its sink's pending). */
size_t
api_follow_pending(void *arg)
{
	struct api_follow	*af = arg;

	return (http_stream_pending(af->hs));
}

/*
 * The follow's end was sent: the stream ends, the consumer is freed (its
 * gone callback first, if it has one).
 */
void
api_follow_end(struct api_follow *af)
{
	http_stream_end(af->hs);
	if (af->gone != NULL)
		af->gone(af);
	free(af);
}

/* A chunk of the run's output. */
/*
 * The name a browser saves a run's output under, TASK-RUN.log ("Raw log"
 * on the page): the task's name with anything but letters, digits, '.',
 * '-' and '_' made '_'.
 */
static void
api_log_disposition(struct http_req *hr, const char *task, int64_t id)
{
	char	 name[64], value[128];
	size_t	 i;

	strlcpy(name, task != NULL ? task : "run", sizeof name);
	for (i = 0; name[i] != '\0'; i++) {
		if (!isalnum((u_char)name[i]) && name[i] != '.' &&
		    name[i] != '-' && name[i] != '_')
			name[i] = '_';
	}
	snprintf(value, sizeof value, "attachment; filename=\"%s-%lld.log\"",
	    name, (long long)id);
	http_set_header(hr, "Content-Disposition", value);
}

static void
api_log_output(void *arg, int64_t seq, enum run_stream stream, int64_t time,
    const void *data, size_t len)
{
	struct api_log	*al = arg;

	if (al->sse)
		api_sse_event(al->af.hs, EV_OUTPUT, seq,
		    proto_output_event(stream, seq, time, data, len));
	else
		http_stream_write(al->af.hs, data, len);
}

/* A status or end event with the run (consumed), if the log is SSE. */
static void
api_log_event(struct api_log *al, const char *type, json_t *run)
{
	if (al->sse)
		api_sse_event(al->af.hs, type, -1, json_pack("{s:s,s:o}",
		    K_EVENT, type, K_RUN, run));
	else
		json_decref(run);
}

/* The run started (SSE only). */
static void
api_log_status(void *arg, json_t *run)
{
	api_log_event(arg, EV_STATUS, run);
}

/* The end: of the run when followed, else of the output so far. */
static void
api_log_end(void *arg, json_t *run)
{
	struct api_log	*al = arg;

	api_log_event(al, EV_END, run);
	api_follow_end(&al->af);
}

static const struct follow_sink api_log_sink = {
	api_log_output, api_log_status, api_log_end, api_follow_pending, NULL
};

/*
 * GET /api/v1/runs/ID/log[?follow=1][&stream=stdout|stderr]: the output
 * byte for byte; with Accept: text/event-stream, Server-Sent Events of
 * the socket's output, status and end events.
 */
void
api_run_log(struct http_req *hr)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	struct api_log		*al;
	const char		*s, *accept;
	json_t			*obj;
	int64_t			 id;
	int			 follow = 0, stream = 0;

	if ((id = api_run_id(hr)) == -1)
		return;
	if ((s = http_query(hr, K_FOLLOW)) != NULL) {
		if (strcmp(s, "1") != 0 && strcmp(s, "0") != 0) {
			http_error(hr, 400, E_USAGE, "follow is 0 or 1");
			return;
		}
		follow = s[0] == '1';
	}
	if ((s = http_query(hr, K_STREAM)) != NULL &&
	    (stream = proto_stream_from(s)) == -1) {
		http_error(hr, 400, E_USAGE, "stream is stdout or stderr");
		return;
	}
	if (ops_find_run(hr->who, id, NULL, &obj, &err) != 0) {
		http_ops_error(hr, ops_error_reply(&err));
		return;
	}
	al = xcalloc(1, sizeof *al);
	accept = http_header(hr, "Accept");
	al->sse = accept != NULL && strstr(accept, "text/event-stream") != NULL;
	if (!al->sse)
		api_log_disposition(hr, json_string_value(json_object_get(obj,
		    K_TASK)), id);
	json_decref(obj);
	api_follow_stream(&al->af, hr, al->sse ? "text/event-stream" :
	    "application/octet-stream", al->sse ? ": keep-alive\n\n" : NULL);
	al->af.f = follow_start(id, 1, follow || al->sse, stream,
	    &api_log_sink, al);
	follow_pump(al->af.f);
}
