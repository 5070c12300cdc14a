/* HTTP: the server, its routes, the checks before a handler, the replies. */

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "microlightd.h"

#define HTTP_RETRY_AFTER	"5"	/* seconds, with every 503 */

static struct evhttp		*http;
static struct evhttp_bound_socket *http_bound;
static TAILQ_HEAD(, http_req)	 http_holds = TAILQ_HEAD_INITIALIZER(http_holds);
static uint64_t			 http_requests;

static void	http_abandon_all(void);

/* The routes of SPEC section 6; "*" matches one path segment. */
static const struct http_route http_routes[] = {
	{ "GET", "/", page_index, R_AUTH | R_HTML },
	{ "GET", "/events", page_list_events, R_AUTH | R_HTML },
	{ "GET", "/tasks/*", page_task, R_AUTH | R_HTML },
	{ "POST", "/tasks/*/run", page_task_run, R_AUTH | R_HTML | R_FORM },
	{ "GET", "/runs/*", page_run, R_AUTH | R_HTML },
	{ "GET", "/runs/*/events", page_run_events, R_AUTH | R_HTML },
	{ "POST", "/runs/*/cancel", page_run_cancel,
	    R_AUTH | R_HTML | R_FORM },
	{ "POST", "/runs/*/rerun", page_run_rerun,
	    R_AUTH | R_HTML | R_FORM },
	{ "POST", "/hooks/*", hook_request, 0 },
	{ "GET", "/api/v1/tasks", api_tasks, R_AUTH | R_API },
	{ "GET", "/api/v1/tasks/*", api_task, R_AUTH | R_API },
	{ "POST", "/api/v1/tasks/*/runs", api_task_run,
	    R_AUTH | R_API | R_POST },
	{ "GET", "/api/v1/runs", api_runs, R_AUTH | R_API },
	{ "GET", "/api/v1/runs/*", api_run, R_AUTH | R_API },
	{ "GET", "/api/v1/runs/*/log", api_run_log, R_AUTH | R_API },
	{ "POST", "/api/v1/runs/*/cancel", api_run_cancel,
	    R_AUTH | R_API | R_POST },
	{ "POST", "/api/v1/runs/*/rerun", api_run_rerun,
	    R_AUTH | R_API | R_POST },
	{ "GET", "/api/v1/backup", api_backup, R_AUTH | R_API | R_ADMIN },
	{ "GET", "/healthz", health_request, R_API },
	{ "GET", "/metrics", metrics_request, R_AUTH | R_API },
};

/* HTTP requests since start-up, for /metrics. */
uint64_t
http_request_count(void)
{
	return (http_requests);
}

/* The HTTP status for an error code of the protocol. */
int
http_status_for(const char *code)
{
	static const struct {
		const char	*code;
		int		 status;
	} map[] = {
		{ E_BAD_REQUEST, 400 },
		{ E_USAGE, 400 },
		{ E_BAD_PARAMS, 400 },
		{ E_TOO_LARGE, 413 },
		{ E_UNKNOWN_COMMAND, 404 },
		{ E_UNKNOWN_TASK, 404 },
		{ E_UNKNOWN_RUN, 404 },
		{ E_INVALID_TASK, 409 },
		{ E_NOT_ACTIVE, 409 },
		{ E_SHUTTING_DOWN, 503 },
		{ E_BUSY, 503 },
		{ E_QUEUE_FULL, 503 },
	};
	u_int	 i;

	for (i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (strcmp(code, map[i].code) == 0)
			return (map[i].status);
	}
	return (500);
}

/* The reason phrase of a status. */
const char *
http_reason(int status)
{
	switch (status) {
	case 200: return ("OK");
	case 201: return ("Created");
	case 202: return ("Accepted");
	case 204: return ("No Content");
	case 303: return ("See Other");
	case 304: return ("Not Modified");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 409: return ("Conflict");
	case 413: return ("Payload Too Large");
	case 415: return ("Unsupported Media Type");
	case 421: return ("Misdirected Request");
	case 429: return ("Too Many Requests");
	case 502: return ("Bad Gateway");
	case 503: return ("Service Unavailable");
	default: return (status < 500 ? "Error" : "Internal Server Error");
	}
}

/* A request's header, or NULL. */
const char *
http_header(struct http_req *hr, const char *name)
{
	return (evhttp_find_header(evhttp_request_get_input_headers(hr->req),
	    name));
}

/* Set a reply header. */
void
http_set_header(struct http_req *hr, const char *name, const char *value)
{
	struct evkeyvalq	*h;

	if (hr->dead)
		return;
	h = evhttp_request_get_output_headers(hr->req);
	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, value);
}

/* A query parameter, decoded, or NULL. */
const char *
http_query(struct http_req *hr, const char *key)
{
	return (evhttp_find_header(&hr->query, key));
}

/* The request's body (NUL-terminated copy owned by hr), and its length. */
const char *
http_body(struct http_req *hr, size_t *len)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(hr->req);

	if (hr->body == NULL) {
		hr->body_len = evbuffer_get_length(in);
		hr->body = xmalloc(hr->body_len + 1);
		evbuffer_copyout(in, hr->body, hr->body_len);
		hr->body[hr->body_len] = '\0';
	}
	*len = hr->body_len;
	return (hr->body);
}

/*
 * Parse a query string or form body (len bytes) into kv: 0, or -1 (kv
 * empty) if it cannot be read or a name or value would hold a NUL byte,
 * which a C string would silently cut short.
 */
int
http_form_parse(const char *s, size_t len, struct evkeyvalq *kv)
{
	TAILQ_INIT(kv);
	if (strlen(s) != len || strstr(s, "%00") != NULL)
		return (-1);
	if (evhttp_parse_query_str(s, kv) != 0) {
		evhttp_clear_headers(kv);
		return (-1);
	}
	return (0);
}

/* Free a request's state (not the evhttp request). */
void
http_req_free(struct http_req *hr)
{
	if (hr->orphan != NULL)
		evhttp_request_free(hr->orphan);
	evhttp_clear_headers(&hr->query);
	free(hr->arg);
	free(hr->user);
	who_free(hr->who);
	free(hr->body);
	free(hr);
}

/* The headers every reply carries. */
void
http_common_headers(struct http_req *hr)
{
	http_set_header(hr, "X-Content-Type-Options", "nosniff");
	/*
	 * Not no-referrer: under it, browsers send "Origin: null" with the
	 * page's own form posts, which then look foreign.
	 */
	http_set_header(hr, "Referrer-Policy", "same-origin");
	http_set_header(hr, "X-Frame-Options", "DENY");
	http_set_header(hr, "Cache-Control", "no-store");
}

/* After a held request's client went away: tell its owner, free it. */
static void
http_hold_reap(int fd, short events, void *arg)
{
	struct http_req	*hr = arg;

	TAILQ_REMOVE(&http_holds, hr, hold_entry);
	if (hr->closed != NULL)
		hr->closed(hr->closed_arg);
	http_req_free(hr);
}

/*
 * The client of a kept request (held or streamed) went away: *dead is set,
 * *reqp cleared, and reap(arg) called from a fresh turn of the loop. The
 * request goes to *orphan if it is ours to free: evhttp (2.1) frees the
 * requests still queued on a connection, but one whose reply it was
 * waiting for it takes off the connection first, and then nobody frees it.
 */
void
http_mark_gone(struct evhttp_request **reqp, int *dead,
    struct evhttp_request **orphan, void (*reap)(int, short, void *),
    void *arg)
{
	*dead = 1;
	*orphan = evhttp_request_get_connection(*reqp) == NULL ? *reqp : NULL;
	*reqp = NULL;
	event_base_once(ml_base, -1, EV_TIMEOUT, reap, arg, NULL);
}

/* evhttp: a held request's client went away. */
static void
http_hold_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_req	*hr = arg;

	http_mark_gone(&hr->req, &hr->dead, &hr->orphan, http_hold_reap, hr);
}

/*
 * Keep a request for a reply later (a webhook waiting for its run). If
 * the client goes first, closed(arg) is called from a fresh turn of the
 * loop and hr is freed; a reply sent after the client went is dropped.
 */
void
http_hold(struct http_req *hr, void (*closed)(void *), void *arg)
{
	hr->held = 1;
	hr->closed = closed;
	hr->closed_arg = arg;
	TAILQ_INSERT_TAIL(&http_holds, hr, hold_entry);
	http_conn_set_closecb(evhttp_request_get_connection(hr->req),
	    http_hold_close_cb, hr);
}

/*
 * Let go of a held request to reply to it now, in whatever way (a stream):
 * 0, or -1 if its client has gone (the closed callback is on its way).
 */
int
http_unhold(struct http_req *hr)
{
	if (!hr->held)
		return (0);
	if (hr->dead)
		return (-1);
	http_conn_set_closecb(evhttp_request_get_connection(hr->req),
	    NULL, NULL);
	TAILQ_REMOVE(&http_holds, hr, hold_entry);
	hr->held = 0;
	return (0);
}

/*
 * Send a whole reply and free hr. body may be NULL; the content type is
 * set when given. An HTML reply gets the page's Content-Security-Policy:
 * nothing from elsewhere, and only the script that carries its nonce.
 */
void
http_reply(struct http_req *hr, int status, const char *type,
    struct evbuffer *body)
{
	char	 csp[256];

	if (http_unhold(hr) != 0) {
		hr->closed = NULL;	/* the reap frees it */
		return;
	}
	http_common_headers(hr);
	if (type != NULL)
		http_set_header(hr, "Content-Type", type);
	if (type != NULL && strncmp(type, "text/html", 9) == 0) {
		snprintf(csp, sizeof csp, "default-src 'none'; "
		    "script-src 'nonce-%s'; style-src 'nonce-%s'; "
		    "img-src 'self' data:; connect-src 'self'; "
		    "form-action 'self'; base-uri 'none'; "
		    "frame-ancestors 'none'", hr->nonce, hr->nonce);
		http_set_header(hr, "Content-Security-Policy", csp);
	}
	evhttp_send_reply(hr->req, status, http_reason(status), body);
	http_req_free(hr);
}

/* Send a JSON reply (the object is consumed). */
void
http_json(struct http_req *hr, int status, json_t *obj)
{
	struct evbuffer	*b = evbuffer_new();
	char		*text;

	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (text == NULL)
		fatalx("http_json: cannot encode");
	evbuffer_add(b, text, strlen(text));
	evbuffer_add(b, "\n", 1);
	free(text);
	http_reply(hr, status, "application/json", b);
	evbuffer_free(b);
}

/* A header's value as an error may quote it: printable ASCII, cut short. */
static void
http_shown(const char *value, char *buf, size_t size)
{
	size_t	 i;

	for (i = 0; value[i] != '\0' && i + 1 < size; i++)
		buf[i] = value[i] > 0x20 && value[i] < 0x7f ? value[i] : '?';
	buf[i] = '\0';
}

/*
 * The path the page is under, for every link, form, redirect and stream
 * the daemon hands out: base-url's path without its last '/' ("/ops" for
 * https://example.com/ops/), "" without base-url.
 */
const char *
http_base(void)
{
	return (ml_conf->base_path != NULL ? ml_conf->base_path : "");
}

/*
 * A request's path without base-url's path: a proxy may pass the path on
 * as it came ("/ops/tasks/x") or without its own part ("/tasks/x"); both
 * are served. "/ops" alone is the front page.
 */
static const char *
http_unbased(const char *path)
{
	const char	*base = http_base();
	size_t		 len = strlen(base);

	if (len == 0 || strncmp(path, base, len) != 0)
		return (path);
	if (path[len] == '\0')
		return ("/");
	if (path[len] == '/')
		return (path + len);
	return (path);
}

/*
 * Whether a request refused before it reached a route (a host name not
 * allowed, no such page) comes from a browser showing a page: it asks for
 * HTML and is not for the API or a webhook. It then gets a short page
 * saying what to do, not JSON.
 */
static int
http_browser(struct http_req *hr)
{
	const char	*accept = http_header(hr, "Accept");
	const char	*uri = evhttp_request_get_uri(hr->req);

	if (accept == NULL || strstr(accept, "text/html") == NULL ||
	    uri == NULL)
		return (0);
	uri = http_unbased(uri);
	return (strncmp(uri, "/api/", 5) != 0 &&
	    strncmp(uri, "/hooks/", 7) != 0);
}

/* Whether an error is to be a page (a page's route, or a browser's). */
static int
http_wants_page(struct http_req *hr)
{
	return ((hr->route != NULL && (hr->route->flags & R_HTML)) ||
	    (hr->route == NULL && http_browser(hr)));
}

/*
 * An error's reply: for the web page a page with msg (escaped there: it
 * may quote what the user sent), else the error object obj; obj is
 * consumed. A 503 (shutting down, max-queued) says when to retry.
 */
static void
http_error_reply(struct http_req *hr, int status, const char *msg,
    json_t *obj)
{
	if (status == 503)
		http_set_header(hr, "Retry-After", HTTP_RETRY_AFTER);
	if (http_wants_page(hr)) {
		page_error(hr, status, msg);
		json_decref(obj);
	} else
		http_json(hr, status, obj);
}

/*
 * An error: a JSON error object for the API and webhooks
 * ({"ok":false,"error":{"code":...,"message":...}}), a page for the web
 * page.
 */
void
http_error(struct http_req *hr, int status, const char *code,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("http_error: out of memory");
	va_end(ap);
	http_error_reply(hr, status, msg, proto_error(code, "%s", msg));
	free(msg);
}

/*
 * An error reply of ops.c (ops_error_reply; consumed): a JSON client gets
 * it whole, with whatever it carries besides code and message (a refused
 * run's problems).
 */
void
http_ops_error(struct http_req *hr, json_t *err)
{
	json_t		*e = json_object_get(err, K_ERROR);
	const char	*code, *msg;

	code = json_string_value(json_object_get(e, K_CODE));
	msg = json_string_value(json_object_get(e, K_MESSAGE));
	if (code == NULL || msg == NULL) {
		http_error(hr, http_status_for(E_INTERNAL), E_INTERNAL,
		    "an error without a %s", code == NULL ? "code" : "message");
		json_decref(err);
		return;
	}
	http_error_reply(hr, http_status_for(code), msg, err);
}

/* A redirect to a path of ours (303: the browser follows with GET). */
void
http_redirect(struct http_req *hr, const char *path)
{
	char	*loc;

	xasprintf(&loc, "%s%s", http_base(), path);
	http_set_header(hr, "Location", loc);
	free(loc);
	http_reply(hr, 303, NULL, NULL);
}

/*
 * Whether a request may have come from a page of another site: its
 * Origin is not this host, or the browser says it is cross-site.
 */
static int
http_cross_site(struct http_req *hr)
{
	const char	*origin, *site, *host;

	if ((site = http_header(hr, "Sec-Fetch-Site")) != NULL &&
	    strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		return (1);
	if ((origin = http_header(hr, "Origin")) == NULL)
		return (0);
	/* An opaque origin, from a browser that says it is the same site. */
	if (strcmp(origin, "null") == 0)
		return (site == NULL);
	if (strncasecmp(origin, "http://", 7) == 0)
		origin += 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		origin += 8;
	else
		return (1);
	/* The same host and port, over HTTP or HTTPS (a TLS proxy). */
	if ((host = http_header(hr, "Host")) != NULL &&
	    strcasecmp(origin, host) == 0)
		return (0);
	/* A proxy that rewrites Host: one of the names in allowed-hosts. */
	return (!http_listen_host_allowed(origin));
}

/* Split a path into segments and match it against a route's pattern. */
static int
http_match(const char *pattern, const char *path, char **arg)
{
	const char	*p = pattern, *s = path, *end;
	char		*seg;
	size_t		 len;

	*arg = NULL;
	while (*p != '\0' && *s != '\0') {
		if (*p == '*') {
			end = strchr(s, '/');
			if (end == NULL)
				end = s + strlen(s);
			if (end == s)
				goto fail;
			seg = xstrndup(s, end - s);
			free(*arg);
			*arg = evhttp_uridecode(seg, 0, &len);
			free(seg);
			/* A %00 would cut the name short: "ok%00junk". */
			if (*arg == NULL || strlen(*arg) != len)
				goto fail;
			p++;
			s = end;
			continue;
		}
		if (*p != *s)
			goto fail;
		p++;
		s++;
	}
	if (*p == '\0' && *s == '\0')
		return (1);
fail:
	free(*arg);
	*arg = NULL;
	return (0);
}

/* Every request: checks, then the route's handler. */
static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri		*uri;
	const struct http_route		*r;
	struct http_req			*hr;
	struct evhttp_connection	*evcon;
	const char			*path, *query, *host, *method;
	const char			*origin;
	char				*peer, *arg0, allow[64], shown[101];
	uint8_t				 rnd[16];
	ev_uint16_t			 port;
	u_int				 i;
	int				 path_matched = 0, busy;

	http_requests++;
	busy = http_conn_request(req);
	hr = xcalloc(1, sizeof *hr);
	hr->req = req;
	TAILQ_INIT(&hr->query);
	arc4random_buf(rnd, sizeof rnd);
	for (i = 0; i < sizeof rnd; i++)
		snprintf(hr->nonce + 2 * i, 3, "%02x", rnd[i]);
	evcon = evhttp_request_get_connection(req);
	evhttp_connection_get_peer(evcon, &peer, &port);
	strlcpy(hr->peer, peer != NULL ? peer : "?", sizeof hr->peer);
	if (busy) {
		/* Over the caps on connections (http_conn.c): come back. */
		http_set_header(hr, "Connection", "close");
		http_error(hr, 503, E_BUSY, "too many connections: try again "
		    "later");
		return;
	}

	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		method = "GET";
		break;
	case EVHTTP_REQ_HEAD:
		method = "GET";		/* evhttp sends no body for HEAD */
		break;
	case EVHTTP_REQ_POST:
		method = "POST";
		break;
	default:
		http_error(hr, 405, E_BAD_REQUEST, "method not allowed");
		return;
	}
	if ((host = http_header(hr, "Host")) == NULL ||
	    !http_listen_host_known(host)) {
		/* Not our name: DNS rebinding, or a wrong allowed-hosts. */
		http_shown(host != NULL ? host : "", shown, sizeof shown);
		http_error(hr, 421, E_BAD_REQUEST, "this server is not known "
		    "by the name '%s': if that is how people reach it, add it "
		    "to allowed-hosts in the configuration file "
		    "(microlight.conf(5)) and reload", shown);
		return;
	}
	uri = evhttp_request_get_evhttp_uri(req);
	if ((path = evhttp_uri_get_path(uri)) == NULL || *path != '/') {
		http_error(hr, 400, E_BAD_REQUEST, "bad request path");
		return;
	}
	path = http_unbased(path);
	if ((query = evhttp_uri_get_query(uri)) != NULL &&
	    http_form_parse(query, strlen(query), &hr->query) != 0) {
		http_error(hr, 400, E_BAD_REQUEST, "bad query string (or a "
		    "NUL byte in it)");
		return;
	}
	allow[0] = '\0';
	for (i = 0; i < sizeof http_routes / sizeof http_routes[0]; i++) {
		r = &http_routes[i];
		if (!http_match(r->pattern, path, &arg0))
			continue;
		path_matched = 1;
		if (strcmp(r->method, method) == 0) {
			hr->route = r;
			hr->arg = arg0;
			break;
		}
		free(arg0);
		if (strstr(allow, r->method) == NULL) {
			if (allow[0] != '\0')
				strlcat(allow, ", ", sizeof allow);
			strlcat(allow, r->method, sizeof allow);
		}
	}
	if (hr->route == NULL) {
		if (path_matched) {
			http_set_header(hr, "Allow", allow);
			http_error(hr, 405, E_BAD_REQUEST, "%s is not allowed "
			    "here (allowed: %s)", method, allow);
		} else
			http_error(hr, 404, E_BAD_REQUEST, "no such page");
		return;
	}
	if (hr->arg != NULL && (hr->arg[0] == '\0' ||
	    strchr(hr->arg, '/') != NULL || strcmp(hr->arg, ".") == 0 ||
	    strcmp(hr->arg, "..") == 0)) {
		http_error(hr, 404, E_BAD_REQUEST, "no such page");
		return;
	}
	if ((hr->route->flags & R_AUTH) && http_who(hr) != 0)
		return;
	if (hr->who != NULL && hr->who->user != NULL)
		hr->user = xstrdup(hr->who->user);
	if ((hr->route->flags & R_ADMIN) && !access_admin(hr->who)) {
		http_error(hr, 403, E_FORBIDDEN, "this needs an administrator "
		    "(admin-group in microlight.conf(5))");
		return;
	}
	if ((hr->route->flags & (R_FORM | R_POST)) && http_cross_site(hr)) {
		origin = http_header(hr, "Origin");
		http_shown(origin != NULL ? origin : "", shown, sizeof shown);
		http_error(hr, 403, E_BAD_REQUEST, "a request from another "
		    "site (%s) is refused: if that is the address people "
		    "reach microlight by, add its host to allowed-hosts, or "
		    "set base-url, in the configuration file "
		    "(microlight.conf(5)) and reload",
		    origin != NULL ? shown : "a cross-site request");
		return;
	}
	hr->route->handler(hr);
}

/* Descriptors are short: stop accepting (fds.c). */
static void
http_accept_pause(void)
{
	if (http_bound != NULL)
		evconnlistener_disable(
		    evhttp_bound_socket_get_listener(http_bound));
}

/* Descriptors are back: accept again (fds.c). */
static void
http_accept_resume(void)
{
	if (http_bound != NULL && !ml_shutting_down)
		evconnlistener_enable(
		    evhttp_bound_socket_get_listener(http_bound));
}

/* accept(2) failed: for want of descriptors, pause (no busy loop). */
static void
http_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	int	 error = EVUTIL_SOCKET_ERROR();

	if (!fds_accept_failed(error))
		log_warnx("http: accept: %s", strerror(error));
}

/* Load the users-file of the configuration now in force. */
void
http_reload(void)
{
	char	*cause;

	if (auth_load(ml_conf->users_file, &cause) != 0) {
		/* Checked before the configuration was taken. */
		log_warnx("%s", cause);
		free(cause);
	}
}

/* Start serving (once the event base and the database are ready). */
void
http_start(void)
{
	auth_init();
	http_reload();
	if (http_listen_fd() == -1)
		return;
	if ((http = evhttp_new(ml_base)) == NULL)
		fatalx("cannot set up the HTTP server");
	evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http, HTTP_MAX_BODY);
	evhttp_set_timeout(http, HTTP_IDLE_SECONDS);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST);
	evhttp_set_default_content_type(http, "text/plain; charset=utf-8");
	evhttp_set_gencb(http, http_request_cb, NULL);
	evhttp_set_bevcb(http, http_conn_bev_cb, NULL);
	if ((http_bound = evhttp_accept_socket_with_handle(http,
	    http_listen_fd())) == NULL)
		fatalx("cannot accept on the HTTP listener");
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(
	    http_bound), http_accept_error_cb);
	fds_listener_add(http_accept_pause, http_accept_resume,
	    http_conn_evict);
	http_conn_start();
	page_list_init();
	page_run_init();
	if (ml_conf->base_url != NULL)
		log_info("web page on %s/ (listening on %s)", ml_conf->base_url,
		    http_listen_address());
	else
		log_info("web page on http://%s/", http_listen_address());
}

/* Shutting down: no new connections (those open are served to the end). */
void
http_stop_accepting(void)
{
	if (http_bound != NULL)
		evhttp_del_accept_socket(http, http_bound);
	http_bound = NULL;
}

/* Stop serving: every connection goes. */
void
http_close(void)
{
	http_abandon_all();
	page_list_close();
	page_run_close();
	http_conn_stop();
	if (http != NULL)
		evhttp_free(http);
	http = NULL;
	http_conn_close();
	auth_clear();
	http_listen_clear();
}

/*
 * At exit: every stream and held request still open is given up, its
 * owner told (so that it lets go of what it follows), before evhttp
 * frees the connections.
 */
static void
http_abandon_all(void)
{
	struct http_req		*hr;

	http_stream_abandon_all();
	while ((hr = TAILQ_FIRST(&http_holds)) != NULL) {
		TAILQ_REMOVE(&http_holds, hr, hold_entry);
		hr->held = 0;
		if (!hr->dead)
			http_conn_set_closecb(
			    evhttp_request_get_connection(hr->req), NULL, NULL);
		if (hr->closed != NULL)
			hr->closed(hr->closed_arg);
		http_req_free(hr);
	}
}
