/*
 * Webhooks: POST /hooks/NAME starts a run of a task with @webhook for
 * another system (GitHub, monitoring, a CRM). The caller proves it knows
 * the task's secret, as a bearer token or as GitHub's HMAC of the body;
 * parameters come from a JSON body, a form body or the query string; the
 * raw body is the run's stdin. The webhook only queues the run: nothing
 * runs inside the request, and a full queue answers 503 rather than
 * accepting work it would drop. The secret never reaches a log or a reply
 * but the one `microlightctl webhook` asked for.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "microlightd.h"

#define HOOK_MAX_WAIT		300	/* ?wait=SECONDS at most */
/*
 * Webhooks held with ?wait at once: each may end with up to 1 MiB of
 * output for a caller that may not read it, so their number is bounded;
 * past it, a ?wait is answered at once as at its deadline (202).
 */
#define HOOK_MAX_WAITING	64

/* A webhook waiting for its run to end (?wait). */
struct hook_wait {
	struct http_req		*hr;
	struct follower		*f;
	struct event		*ev_deadline;
	int64_t			 run_id;
	int			 text;	/* Accept: text/plain: the output */
	TAILQ_ENTRY(hook_wait)	 entry;
};

#define HOOK_TEXT_MAX	(1024 * 1024)	/* output in a text/plain answer */

/* The output of a run for a text/plain answer, so far. */
struct hook_text {
	struct evbuffer		*b;
	int64_t			 seq;
	int			 full;
};
static TAILQ_HEAD(, hook_wait) hook_waits = TAILQ_HEAD_INITIALIZER(hook_waits);
static u_int			 hook_nwaits;

/*
 * A task's webhook secret: from webhook-secret in the configuration, else
 * the one the daemon made (made now if create is set). Allocated, or NULL;
 * *configured says where it came from.
 */
char *
hook_secret(const char *task, int create, int *configured)
{
	char	*secret;
	u_int	 i;

	*configured = 0;
	for (i = 0; i < ml_conf->nsecrets; i++) {
		if (strcmp(ml_conf->secrets[i].task, task) == 0) {
			*configured = 1;
			return (xstrdup(ml_conf->secrets[i].secret));
		}
	}
	if ((secret = db_hook_secret(task)) != NULL || !create)
		return (secret);
	secret = hmac_secret();
	if (db_hook_secret_set(task, secret) != 0) {
		free(secret);
		return (NULL);
	}
	return (secret);
}

/*
 * The webhook command of the control socket: the task's URL and secret
 * (made on first use, made again with rotate) and a curl line to try it.
 */
int
hook_info(const struct who *w, const char *name, int rotate, json_t *reply,
    struct ops_error *err)
{
	struct task	*t;
	char		*secret, *url, *curl;
	const char	*addr;
	int		 configured;

	if ((t = ops_task(w, name)) == NULL)
		return (ops_fail(err, E_UNKNOWN_TASK, "no task named '%s'",
		    name));
	if (t->def == NULL || !t->def->webhook)
		return (ops_fail(err, E_NO_WEBHOOK, "task '%s' has no @webhook "
		    "line: add one to its header to let other systems start "
		    "it", name));
	if (rotate) {
		if ((secret = hook_secret(name, 0, &configured)) != NULL) {
			explicit_bzero(secret, strlen(secret));
			free(secret);
		}
		if (configured)
			return (ops_fail(err, E_CONFIGURED, "the secret of '%s' "
			    "is set by webhook-secret in %s: change it there",
			    name, ml_conf->file));
		secret = hmac_secret();
		if (db_hook_secret_set(name, secret) != 0) {
			free(secret);
			return (ops_fail(err, E_INTERNAL, "the new secret could "
			    "not be stored (see the daemon's log)"));
		}
		log_info("%s: webhook secret rotated", name);
	} else if ((secret = hook_secret(name, 1, &configured)) == NULL) {
		return (ops_fail(err, E_INTERNAL, "the secret could not be "
		    "stored (see the daemon's log)"));
	}
	if ((addr = http_listen_public_url()) != NULL)
		xasprintf(&url, "%s/hooks/%s", addr, name);
	else
		url = NULL;
	xasprintf(&curl, "curl -fsS -X POST -H 'Authorization: Bearer %s' "
	    "%s", secret, url != NULL ? url : "http://HOST:PORT/hooks/TASK");
	json_object_set_new(reply, K_TASK, json_string(name));
	json_object_set_new(reply, K_URL, url != NULL ? json_string(url) :
	    json_null());
	json_object_set_new(reply, K_SECRET, json_string(secret));
	json_object_set_new(reply, K_SOURCE, json_string(configured ?
	    SOURCE_CONFIG : SOURCE_GENERATED));
	json_object_set_new(reply, K_CURL, json_string(curl));
	if (url == NULL)
		json_object_set_new(reply, K_NOTE, json_string("the HTTP "
		    "listener is off (listen none)"));
	explicit_bzero(secret, strlen(secret));
	free(secret);
	free(url);
	free(curl);
	return (0);
}

/* Whether the request proves it knows the secret. */
static int
hook_authorised(struct http_req *hr, const char *secret)
{
	const char	*auth, *sig, *body;
	size_t		 len;

	if ((auth = http_header(hr, "Authorization")) != NULL &&
	    strncasecmp(auth, "Bearer ", 7) == 0) {
		auth += 7;
		while (*auth == ' ')
			auth++;
		return (hmac_check_secret(secret, auth));
	}
	if ((sig = http_header(hr, "X-Hub-Signature-256")) != NULL) {
		body = http_body(hr, &len);
		return (hmac_check_github(secret, body, len, sig));
	}
	return (0);
}

/* Add a parameter from the query or a form; 0, or -1 after a 400. */
static int
hook_param(struct http_req *hr, const struct taskdef *def, json_t *params,
    const char *key, json_t *value, const char *where)
{
	if (taskdef_param(def, key) == NULL) {
		http_error(hr, 400, E_BAD_PARAMS, "%s: no such parameter (in "
		    "the %s)%s", key, where, def->nparams == 0 ?
		    "; the task takes none" : "");
		json_decref(value);
		return (-1);
	}
	if (json_object_get(params, key) != NULL) {
		http_error(hr, 400, E_BAD_PARAMS, "%s: given twice", key);
		json_decref(value);
		return (-1);
	}
	json_object_set_new(params, key, value);
	return (0);
}

/*
 * The parameters of a webhook request: the query string (but "wait"), a
 * form body, and the declared members of a JSON object body (third-party
 * payloads carry many others, which are ignored). NULL after a reply.
 */
static json_t *
hook_params(struct http_req *hr, const struct taskdef *def)
{
	struct evkeyvalq	 form;
	struct evkeyval		*kv;
	json_t			*params = json_object(), *body_json, *v;
	json_error_t		 jerr;
	const char		*type, *body, *key;
	size_t			 len;
	u_int			 i;

	TAILQ_FOREACH(kv, &hr->query, next) {
		if (strcmp(kv->key, K_WAIT) == 0 ||
		    strcmp(kv->key, K_AT) == 0 || strcmp(kv->key, K_IN) == 0)
			continue;
		if (hook_param(hr, def, params, kv->key,
		    json_string_lossy(kv->value), "query string") != 0)
			goto fail;
	}
	body = http_body(hr, &len);
	type = http_header(hr, "Content-Type");
	if (len == 0 || type == NULL)
		return (params);
	if (strncasecmp(type, "application/json", 16) == 0) {
		body_json = json_loadb(body, len, JSON_REJECT_DUPLICATES |
		    JSON_DECODE_ANY, &jerr);
		if (body_json == NULL) {
			http_error(hr, 400, E_BAD_REQUEST, "the body is not "
			    "JSON: %s", jerr.text);
			goto fail;
		}
		if (!json_is_object(body_json)) {
			/* A JSON array or value: the run's stdin only. */
			json_decref(body_json);
			return (params);
		}
		for (i = 0; i < def->nparams; i++) {
			key = def->params[i].name;
			if ((v = json_object_get(body_json, key)) == NULL)
				continue;
			if (json_object_get(params, key) != NULL) {
				http_error(hr, 400, E_BAD_PARAMS, "%s: given "
				    "twice", key);
				json_decref(body_json);
				goto fail;
			}
			json_object_set(params, key, v);
		}
		json_decref(body_json);
	} else if (strncasecmp(type, "application/x-www-form-urlencoded",
	    33) == 0) {
		if (http_form_parse(body, len, &form) != 0) {
			http_error(hr, 400, E_BAD_REQUEST, "the form body "
			    "cannot be read, or holds a NUL byte");
			goto fail;
		}
		TAILQ_FOREACH(kv, &form, next) {
			if (hook_param(hr, def, params, kv->key,
			    json_string_lossy(kv->value), "form") != 0) {
				evhttp_clear_headers(&form);
				goto fail;
			}
		}
		evhttp_clear_headers(&form);
	}
	return (params);
fail:
	json_decref(params);
	return (NULL);
}

/*
 * The request headers the task's @webhook-header lines name, as HTTP_NAME
 * variables (X-GitHub-Event: HTTP_X_GITHUB_EVENT), checked as parameter
 * values are; no other header reaches the run. NULL after a 400.
 */
static json_t *
hook_headers(struct http_req *hr, const struct taskdef *def)
{
	const char	*v, *c;
	char		 key[80], *k;
	json_t		*headers = json_object();
	u_int		 i;

	for (i = 0; i < def->nwebhook_headers; i++) {
		if ((v = http_header(hr, def->webhook_headers[i])) == NULL)
			continue;
		for (c = v; *c != '\0'; c++) {
			if (((u_char)*c < 0x20 && *c != '\t') || *c == 0x7f)
				break;
		}
		if (*c != '\0' || strlen(v) > ML_PARAM_VALUE_MAX ||
		    !utf8_valid(v, strlen(v))) {
			http_error(hr, 400, E_BAD_PARAMS, "header %s: %s",
			    def->webhook_headers[i], *c != '\0' ? "control "
			    "characters (but tab) are not allowed" : strlen(v) >
			    ML_PARAM_VALUE_MAX ? "longer than 4096 bytes" :
			    "not valid UTF-8");
			json_decref(headers);
			return (NULL);
		}
		snprintf(key, sizeof key, "HTTP_%s", def->webhook_headers[i]);
		for (k = key; *k != '\0'; k++)
			*k = *k == '-' ? '_' : toupper((u_char)*k);
		json_object_set_new(headers, key, json_string(v));
	}
	return (headers);
}

/* Free a wait (its follower is gone or cancelled by the caller). */
static void
hook_wait_free(struct hook_wait *hw)
{
	TAILQ_REMOVE(&hook_waits, hw, entry);
	hook_nwaits--;
	if (hw->ev_deadline != NULL)
		event_free(hw->ev_deadline);
	free(hw);
}

/* The answer to a request that created a run: its id, address, object. */
static json_t *
hook_answer(int64_t id, json_t *run)
{
	char	*url;
	json_t	*o;

	/* base-url's path may be long: no fixed buffer. */
	xasprintf(&url, "%s/runs/%lld", http_base(), (long long)id);
	o = json_pack("{s:I,s:s,s:o}", K_RUN_ID, (json_int_t)id, K_URL, url,
	    K_RUN, run != NULL ? run : json_null());
	free(url);
	return (o);
}

/* One chunk of output into a text/plain answer, up to its limit. */
static int
hook_text_chunk(int64_t seq, enum run_stream stream, int64_t time,
    const void *data, size_t len, void *arg)
{
	struct hook_text	*ht = arg;
	size_t			 room;

	ht->seq = seq + 1;
	room = HOOK_TEXT_MAX - evbuffer_get_length(ht->b);
	if (len > room) {
		evbuffer_add(ht->b, data, room);
		ht->full = 1;
		return (1);
	}
	evbuffer_add(ht->b, data, len);
	return (0);
}

/*
 * Answer with the run's output (both streams, as they came) up to
 * HOOK_TEXT_MAX, then a line saying where the rest is; the run's id in
 * X-Microlight-Run.
 */
static void
hook_text(struct http_req *hr, int status, int64_t id)
{
	struct hook_text	 ht;
	char			 buf[32];
	int			 n;

	memset(&ht, 0, sizeof ht);
	ht.b = evbuffer_new();
	do {
		n = db_output_read(id, ht.seq, 64, hook_text_chunk, &ht);
	} while (n > 0 && !ht.full);
	if (ht.full)
		evbuffer_add_printf(ht.b, "\n[microlight: the output goes "
		    "on past %d bytes: /api/v1/runs/%lld/log has it all]\n",
		    HOOK_TEXT_MAX, (long long)id);
	snprintf(buf, sizeof buf, "%lld", (long long)id);
	http_set_header(hr, "X-Microlight-Run", buf);
	http_reply(hr, status, "text/plain; charset=utf-8", ht.b);
	evbuffer_free(ht.b);
}

/* The run ended within the wait: 200 if it succeeded, else 502. */
static void
hook_wait_end(void *arg, json_t *run)
{
	struct hook_wait	*hw = arg;
	int			 status;

	status = proto_run_status(run) == RUN_SUCCEEDED ? 200 : 502;
	hw->f = NULL;		/* freed after this returns */
	if (hw->text) {
		json_decref(run);
		hook_text(hw->hr, status, hw->run_id);
	} else
		http_json(hw->hr, status, hook_answer(hw->run_id, run));
	hook_wait_free(hw);
}

static const struct follow_sink hook_wait_sink = {
	NULL, NULL, hook_wait_end, NULL, NULL
};

/* The wait is over and the run is not: 202 with the run as it is. */
static void
hook_wait_deadline(int fd, short events, void *arg)
{
	struct hook_wait	*hw = arg;
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*run = NULL;

	follow_cancel(hw->f);
	if (hw->text) {
		hook_text(hw->hr, 202, hw->run_id);
		hook_wait_free(hw);
		return;
	}
	if (ops_find_run(hw->hr->who, hw->run_id, NULL, &run, &err) != 0)
		ops_error_clear(&err);
	http_json(hw->hr, 202, hook_answer(hw->run_id, run));
	hook_wait_free(hw);
}

/* The caller went away while waiting: the run goes on regardless. */
static void
hook_wait_closed(void *arg)
{
	struct hook_wait	*hw = arg;

	follow_cancel(hw->f);
	hook_wait_free(hw);
}

/* POST /hooks/NAME */
void
hook_request(struct http_req *hr)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	struct hook_wait	*hw;
	struct task		*t;
	struct timeval		 tv;
	json_t			*params, *headers, *reply, *run;
	const char		*s, *errstr, *body;
	char			*secret;
	size_t			 len;
	int64_t			 id, wait = 0;
	int			 configured;

	/*
	 * Who asks: whoever has the secret, for this task only. One answer
	 * for "no such task" and "no webhook": names stay ours.
	 */
	hr->who = who_new(hr->peer, NULL);
	hr->who->admin = 1;
	who_limit(hr->who, hr->arg);
	if ((t = ops_task(hr->who, hr->arg)) == NULL || t->def == NULL ||
	    !t->def->webhook ||
	    (secret = hook_secret(t->name, 0, &configured)) == NULL) {
		http_error(hr, 404, E_UNKNOWN_TASK, "no webhook here");
		return;
	}
	if (!hook_authorised(hr, secret)) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
		log_warnx("%s: webhook from %s refused: bad or missing secret",
		    t->name, hr->peer);
		http_error(hr, 401, E_BAD_REQUEST, "the secret is missing or "
		    "wrong (Authorization: Bearer, or X-Hub-Signature-256)");
		return;
	}
	explicit_bzero(secret, strlen(secret));
	free(secret);
	if ((s = http_query(hr, K_WAIT)) != NULL) {
		wait = strtonum(s, 0, HOOK_MAX_WAIT, &errstr);
		if (errstr != NULL) {
			http_error(hr, 400, E_USAGE, "wait is 0 to %d seconds",
			    HOOK_MAX_WAIT);
			return;
		}
	}
	if (ml_shutting_down) {
		http_error(hr, 503, E_SHUTTING_DOWN, "microlightd is shutting "
		    "down");
		return;
	}
	if ((params = hook_params(hr, t->def)) == NULL)
		return;
	if ((headers = hook_headers(hr, t->def)) == NULL) {
		json_decref(params);
		return;
	}
	body = http_body(hr, &len);
	reply = json_object();
	id = ops_run(hr->who, t->name, params, TRIGGER_WEBHOOK, body, len,
	    headers, http_query(hr, K_AT), http_query(hr, K_IN), reply, &err);
	json_decref(params);
	json_decref(headers);
	if (id == -1) {
		json_decref(reply);
		http_ops_error(hr, ops_error_reply(&err));
		return;
	}
	run = json_incref(json_object_get(reply, K_RUN));
	json_decref(reply);
	if (wait > 0 && hook_nwaits >= HOOK_MAX_WAITING) {
		log_warnx("%s[%lld]: %u webhooks wait already: answering now",
		    t->name, (long long)id, hook_nwaits);
		wait = 0;
	}
	if (wait == 0) {
		http_json(hr, 202, hook_answer(id, run));
		return;
	}
	json_decref(run);
	hw = xcalloc(1, sizeof *hw);
	hw->hr = hr;
	hw->run_id = id;
	/* Accept: text/plain first: the output, not the run object. */
	hw->text = (s = http_header(hr, "Accept")) != NULL &&
	    strncasecmp(s, "text/plain", 10) == 0;
	TAILQ_INSERT_TAIL(&hook_waits, hw, entry);
	hook_nwaits++;
	http_hold(hr, hook_wait_closed, hw);
	hw->ev_deadline = evtimer_new(ml_base, hook_wait_deadline, hw);
	tv.tv_sec = wait;
	tv.tv_usec = 0;
	evtimer_add(hw->ev_deadline, &tv);
	hw->f = follow_start(id, 0, 1, 0, &hook_wait_sink, hw);
	follow_pump(hw->f);
}

/*
 * Shutting down: the webhooks still waiting get their answer now (202,
 * with the run as it is: a queued run stays queued for the next start)
 * rather than a dropped connection.
 */
void
hook_stop(void)
{
	struct hook_wait	*hw;

	while ((hw = TAILQ_FIRST(&hook_waits)) != NULL)
		hook_wait_deadline(-1, 0, hw);
}
