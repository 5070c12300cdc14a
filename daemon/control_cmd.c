/* The control commands: their table, their arguments and their handlers. */

#include <sys/types.h>

#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "microlightd.h"

static void	control_cmd_ping(struct client *, json_t *);
static void	control_cmd_list(struct client *, json_t *);
static void	control_cmd_show(struct client *, json_t *);
static void	control_cmd_run(struct client *, json_t *);
static void	control_cmd_rerun(struct client *, json_t *);
static void	control_cmd_logs(struct client *, json_t *);
static void	control_cmd_runs(struct client *, json_t *);
static void	control_cmd_status(struct client *, json_t *);
static void	control_cmd_cancel(struct client *, json_t *);
static void	control_cmd_reload(struct client *, json_t *);
static void	control_cmd_webhook(struct client *, json_t *);
static void	control_cmd_backup(struct client *, json_t *);
static void	control_cmd_token(struct client *, json_t *);

#define CMD_MUTATES	0x1	/* refused while shutting down */
#define CMD_BATCH	0x2	/* may write in a batch (db_batch_join) */
#define CMD_ADMIN	0x4	/* administrators only (access.c) */

/*
 * The commands of SPEC section 5, with the members each takes besides
 * "cmd": any other member is an error, never silently ignored (a client
 * that sends an option this daemon does not know must not get a run it
 * did not ask for).
 */
#define CMD_MAX_KEYS	8
static const struct control_cmd {
	const char	*name;
	void		(*handler)(struct client *, json_t *);
	int		 flags;
	const char	*keys[CMD_MAX_KEYS];
} control_cmds[] = {
	{ CMD_PING, control_cmd_ping, 0, { NULL } },
	{ CMD_LIST, control_cmd_list, 0, { K_BRIEF, K_EACH, NULL } },
	{ CMD_SHOW, control_cmd_show, 0, { K_TASK, K_LIMIT, NULL } },
	{ CMD_RUN, control_cmd_run, CMD_MUTATES | CMD_BATCH,
	    { K_TASK, K_PARAMS, K_WAIT, K_FOLLOW, K_AT, K_IN, K_RAW, NULL } },
	{ CMD_RERUN, control_cmd_rerun, CMD_MUTATES,
	    { K_RUN, K_PARAMS, K_WAIT, K_FOLLOW, K_AT, K_IN, K_RAW, NULL } },
	{ CMD_LOGS, control_cmd_logs, 0,
	    { K_RUN, K_FOLLOW, K_STREAM, K_RAW, NULL } },
	{ CMD_RUNS, control_cmd_runs, 0,
	    { K_TASK, K_STATUS, K_LIMIT, K_BEFORE, NULL } },
	{ CMD_STATUS, control_cmd_status, 0, { K_RUN, NULL } },
	{ CMD_CANCEL, control_cmd_cancel, CMD_MUTATES, { K_RUN, NULL } },
	{ CMD_RELOAD, control_cmd_reload, CMD_MUTATES | CMD_ADMIN, { NULL } },
	{ CMD_WEBHOOK, control_cmd_webhook, CMD_MUTATES,
	    { K_TASK, K_ROTATE, NULL } },
	{ CMD_BACKUP, control_cmd_backup, CMD_ADMIN, { NULL } },
	{ CMD_TOKEN, control_cmd_token, CMD_MUTATES | CMD_ADMIN,
	    { K_ACTION, K_NAME, K_TASKS, K_EXPIRES, NULL } },
};

/* The first member of a request its command does not take, or NULL. */
static const char *
control_cmd_unknown_key(const struct control_cmd *cmd, json_t *req)
{
	const char	*key;
	json_t		*v;
	u_int		 i;

	json_object_foreach(req, key, v) {
		if (strcmp(key, K_CMD) == 0 || strcmp(key, K_PROTOCOL) == 0)
			continue;
		for (i = 0; i < CMD_MAX_KEYS && cmd->keys[i] != NULL; i++) {
			if (strcmp(key, cmd->keys[i]) == 0)
				break;
		}
		if (i == CMD_MAX_KEYS || cmd->keys[i] == NULL)
			return (key);
	}
	return (NULL);
}

/* The kinds of a request's members, for control_cmd_arg. */
enum control_cmd_kind {
	ARG_STRING,		/* without NUL bytes */
	ARG_INT,
	ARG_BOOL,
};

/*
 * A member of a request, which must be of the kind given: *vp is the
 * member, or NULL if it is absent (or null) and optional. Returns -1 if it
 * is missing but required or of another kind (the error is sent), else 0.
 */
static int
control_cmd_arg(struct client *c, json_t *req, const char *key,
    int required, enum control_cmd_kind kind, json_t **vp)
{
	static const char	*const what[] = {
		[ARG_STRING] = "a string",
		[ARG_INT] = "an integer",
		[ARG_BOOL] = "true or false",
	};
	json_t			*v = json_object_get(req, key);
	int			 ok = 0;

	*vp = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required) {
			control_client_error(c, E_USAGE, "\"%s\" is missing",
			    key);
			return (-1);
		}
		return (0);
	}
	switch (kind) {
	case ARG_STRING:
		ok = json_is_string(v) && strlen(json_string_value(v)) ==
		    json_string_length(v);
		break;
	case ARG_INT:
		ok = json_is_integer(v);
		break;
	case ARG_BOOL:
		ok = json_is_boolean(v);
		break;
	}
	if (!ok) {
		control_client_error(c, E_USAGE, "\"%s\" must be %s", key,
		    what[kind]);
		return (-1);
	}
	*vp = v;
	return (0);
}

/* A member that must be a string (or absent, if optional). */
static int
control_cmd_arg_string(struct client *c, json_t *req, const char *key,
    int required, const char **out)
{
	json_t	*v;

	if (control_cmd_arg(c, req, key, required, ARG_STRING, &v) != 0)
		return (-1);
	*out = v != NULL ? json_string_value(v) : NULL;
	return (0);
}

/* A member that must be an integer (or absent: dflt). */
static int
control_cmd_arg_int(struct client *c, json_t *req, const char *key,
    int required, int64_t dflt, int64_t *out)
{
	json_t	*v;

	if (control_cmd_arg(c, req, key, required, ARG_INT, &v) != 0)
		return (-1);
	*out = v != NULL ? json_integer_value(v) : dflt;
	return (0);
}

/* A member that must be a boolean (absent: false). */
static int
control_cmd_arg_bool(struct client *c, json_t *req, const char *key, int *out)
{
	json_t	*v;

	if (control_cmd_arg(c, req, key, 0, ARG_BOOL, &v) != 0)
		return (-1);
	*out = v != NULL && json_is_true(v);
	return (0);
}

/*
 * The end of a command: send its reply, or, if the operation failed, drop
 * the reply and send the operation's error (which is cleared). Returns 0
 * if the reply went.
 */
static int
control_cmd_reply(struct client *c, json_t *reply, int failed,
    struct ops_error *err)
{
	if (failed) {
		json_decref(reply);
		control_client_send(c, ops_error_reply(err));
		return (-1);
	}
	control_client_send(c, reply);
	return (0);
}

/* ping: version and uptime. */
static void
control_cmd_ping(struct client *c, json_t *req)
{
	json_t	*reply;

	reply = proto_ok();
	ops_ping(reply);
	control_client_send(c, reply);
}

/*
 * list: every task the client may see, valid or not, with its last run;
 * with K_EACH (and K_BRIEF), each task an event line of its own before
 * the reply, all in one write.
 */
static void
control_cmd_list(struct client *c, json_t *req)
{
	json_t	*reply, *tasks, *task, *lines;
	char	*text, *line;
	size_t	 i, len, n;
	int	 brief, each;

	if (control_cmd_arg_bool(c, req, K_BRIEF, &brief) != 0 ||
	    control_cmd_arg_bool(c, req, K_EACH, &each) != 0)
		return;
	reply = proto_ok();
	if (each && brief) {
		/* What microlightctl list asks: lines kept with their tasks. */
		text = ops_list_each(control_client_asker(c), &len);
		line = proto_encode(reply, &n);
		json_decref(reply);
		text = xreallocarray(text, 1, len + n + 1);
		memcpy(text + len, line, n + 1);
		free(line);
		control_client_send_text(c, text, len + n);
		return;
	}
	ops_list(control_client_asker(c), brief, reply);
	if (!each) {
		control_client_send(c, reply);
		return;
	}
	tasks = json_incref(json_object_get(reply, K_TASKS));
	json_object_del(reply, K_TASKS);
	lines = json_array();
	json_array_foreach(tasks, i, task)
		json_array_append_new(lines, json_pack("{s:s,s:O}", K_EVENT,
		    EV_TASK, K_TASK, task));
	json_array_append_new(lines, reply);
	json_decref(tasks);
	control_client_send_lines(c, lines);
}

/* show: one task and its recent runs. */
static void
control_cmd_show(struct client *c, json_t *req)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	const char		*name;
	json_t			*reply;
	int64_t			 limit;

	if (control_cmd_arg_string(c, req, K_TASK, 1, &name) != 0 ||
	    control_cmd_arg_int(c, req, K_LIMIT, 0, OPS_SHOW_LIMIT,
	    &limit) != 0)
		return;
	reply = proto_ok();
	control_cmd_reply(c, reply, ops_show(control_client_asker(c), name,
	    limit, reply, &err) != 0,
	    &err);
}

/*
 * The end of a command that starts a run (id, -1 if it failed): its reply,
 * then, with wait or follow, the run's events until its end (raw: its
 * output events as raw bytes).
 */
static void
control_cmd_started(struct client *c, json_t *reply, int64_t id, int wait,
    int follow, int raw, struct ops_error *err)
{
	if (control_cmd_reply(c, reply, id == -1, err) != 0)
		return;
	if (wait || follow)
		control_client_follow(c, id, follow, 1, 0, raw);
}

/* run: check the task and parameters, queue a run, maybe follow it. */
static void
control_cmd_run(struct client *c, json_t *req)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	const char		*name, *at, *in;
	json_t			*reply;
	int			 wait, follow, raw;
	int64_t			 id;

	if (control_cmd_arg_string(c, req, K_TASK, 1, &name) != 0 ||
	    control_cmd_arg_string(c, req, K_AT, 0, &at) != 0 ||
	    control_cmd_arg_string(c, req, K_IN, 0, &in) != 0 ||
	    control_cmd_arg_bool(c, req, K_WAIT, &wait) != 0 ||
	    control_cmd_arg_bool(c, req, K_FOLLOW, &follow) != 0 ||
	    control_cmd_arg_bool(c, req, K_RAW, &raw) != 0)
		return;
	/* A run waited for is written at once: its follower holds it. */
	if (wait || follow)
		db_batch_allow(0);
	reply = proto_ok();
	id = ops_run(control_client_asker(c), name, json_object_get(req,
	    K_PARAMS), TRIGGER_CLI, NULL, 0, NULL, at, in, reply, &err);
	control_cmd_started(c, reply, id, wait, follow, raw, &err);
}

/*
 * rerun: a new run of a run's task with its parameters, now or later,
 * maybe followed.
 */
static void
control_cmd_rerun(struct client *c, json_t *req)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	const char		*at, *in;
	json_t			*reply;
	int			 wait, follow, raw;
	int64_t			 run, id;

	if (control_cmd_arg_int(c, req, K_RUN, 1, 0, &run) != 0 ||
	    control_cmd_arg_string(c, req, K_AT, 0, &at) != 0 ||
	    control_cmd_arg_string(c, req, K_IN, 0, &in) != 0 ||
	    control_cmd_arg_bool(c, req, K_WAIT, &wait) != 0 ||
	    control_cmd_arg_bool(c, req, K_FOLLOW, &follow) != 0 ||
	    control_cmd_arg_bool(c, req, K_RAW, &raw) != 0)
		return;
	reply = proto_ok();
	id = ops_rerun(control_client_asker(c), run, json_object_get(req,
	    K_PARAMS), NULL, TRIGGER_CLI, at, in, reply, &err);
	control_cmd_started(c, reply, id, wait, follow, raw, &err);
}

/* logs: a run's output, then the end; with follow until the run ends. */
static void
control_cmd_logs(struct client *c, json_t *req)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	const char		*sname;
	json_t			*reply;
	int			 follow, raw, stream = 0;
	int64_t			 id;

	if (control_cmd_arg_int(c, req, K_RUN, 1, 0, &id) != 0 ||
	    control_cmd_arg_bool(c, req, K_FOLLOW, &follow) != 0 ||
	    control_cmd_arg_bool(c, req, K_RAW, &raw) != 0 ||
	    control_cmd_arg_string(c, req, K_STREAM, 0, &sname) != 0)
		return;
	if (sname != NULL && (stream = proto_stream_from(sname)) == -1) {
		control_client_error(c, E_USAGE,
		    "\"stream\" is stdout or stderr");
		return;
	}
	reply = proto_ok();
	if (control_cmd_reply(c, reply, ops_status(control_client_asker(c), id,
	    reply, &err) != 0,
	    &err) != 0)
		return;
	control_client_follow(c, id, 1, follow, stream, raw);
}

/* runs: history, newest first. */
static void
control_cmd_runs(struct client *c, json_t *req)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	const char		*task, *sname;
	int64_t			 limit, before;
	json_t			*reply;

	if (control_cmd_arg_string(c, req, K_TASK, 0, &task) != 0 ||
	    control_cmd_arg_string(c, req, K_STATUS, 0, &sname) != 0 ||
	    control_cmd_arg_int(c, req, K_LIMIT, 0, OPS_RUNS_LIMIT,
	    &limit) != 0 ||
	    control_cmd_arg_int(c, req, K_BEFORE, 0, 0, &before) != 0)
		return;
	reply = proto_ok();
	control_cmd_reply(c, reply, ops_runs(control_client_asker(c), task,
	    sname, before, limit, reply, &err) != 0, &err);
}

/* status: one run's record. */
static void
control_cmd_status(struct client *c, json_t *req)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*reply;
	int64_t			 id;

	if (control_cmd_arg_int(c, req, K_RUN, 1, 0, &id) != 0)
		return;
	reply = proto_ok();
	control_cmd_reply(c, reply, ops_status(control_client_asker(c), id,
	    reply, &err) != 0, &err);
}

/* cancel: a queued run ends now; a running one is told to stop. */
static void
control_cmd_cancel(struct client *c, json_t *req)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*reply;
	int64_t			 id;

	if (control_cmd_arg_int(c, req, K_RUN, 1, 0, &id) != 0)
		return;
	reply = proto_ok();
	control_cmd_reply(c, reply, ops_cancel(control_client_asker(c), id,
	    reply, &err) != 0, &err);
}

/* reload: config and tasks.d, like SIGHUP but with an answer. */
static void
control_cmd_reload(struct client *c, json_t *req)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*reply;

	reply = proto_ok();
	control_cmd_reply(c, reply, ops_reload(reply, &err) != 0, &err);
}

/* webhook: a task's webhook URL and secret, made (again, with rotate). */
static void
control_cmd_webhook(struct client *c, json_t *req)
{
	struct ops_error	 err = { NULL, NULL, NULL };
	const char		*name;
	json_t			*reply;
	int			 rotate;

	if (control_cmd_arg_string(c, req, K_TASK, 1, &name) != 0 ||
	    control_cmd_arg_bool(c, req, K_ROTATE, &rotate) != 0)
		return;
	reply = proto_ok();
	control_cmd_reply(c, reply, hook_info(control_client_asker(c), name,
	    rotate, reply, &err) != 0,
	    &err);
}

/* backup: a consistent copy of the database, sent as data events. */
static void
control_cmd_backup(struct client *c, json_t *req)
{
	struct ops_error	 err = { NULL, NULL, NULL };

	if (control_client_backup(c, &err) != 0) {
		control_client_error(c, err.code, "%s", err.message);
		ops_error_clear(&err);
	}
}

/* A client's Unix user name, or "uid=N": who made a token. */
static char *
control_cmd_user(struct client *c)
{
	struct passwd	*pw;
	uid_t		 uid = control_client_uid(c);
	char		*user;

	if ((pw = getpwuid(uid)) != NULL)
		user = xstrdup(pw->pw_name);
	else
		xasprintf(&user, "uid=%lu", (u_long)uid);
	return (user);
}

/*
 * The "tasks" member of token create: absent or null (every task), or a
 * non-empty array of strings, borrowed from req into *tasks (the
 * caller frees the array). Returns -1 if it is not (the error is sent).
 */
static int
control_cmd_token_tasks(struct client *c, json_t *req, const char ***tasks,
    u_int *ntasks)
{
	json_t	*a, *v;
	size_t	 i;

	*tasks = NULL;
	*ntasks = 0;
	a = json_object_get(req, K_TASKS);
	if (a == NULL || json_is_null(a))
		return (0);
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > UINT_MAX) {
		control_client_error(c, E_USAGE, "\"%s\" must be a non-empty "
		    "array of task names (absent: every task)", K_TASKS);
		return (-1);
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v)) {
			control_client_error(c, E_USAGE, "\"%s\" must be an "
			    "array of strings (without NUL bytes)", K_TASKS);
			return (-1);
		}
	}
	*tasks = xreallocarray(NULL, json_array_size(a), sizeof **tasks);
	json_array_foreach(a, i, v)
		(*tasks)[(*ntasks)++] = json_string_value(v);
	return (0);
}

/*
 * token: create, list or revoke API tokens. Each action takes only some
 * of the command's members (name, tasks, expires); another, given, is an
 * error, as any member a command does not take.
 */
static void
control_cmd_token(struct client *c, json_t *req)
{
	static const char *const members[] = { K_NAME, K_TASKS, K_EXPIRES };
	static const struct {
		const char	*action;
		int		 takes;		/* bit i: members[i] */
	} actions[] = {
		{ TOKEN_CREATE, 0x7 },
		{ TOKEN_LIST, 0 },
		{ TOKEN_REVOKE, 0x1 },
	};
	struct ops_error	 err = { NULL, NULL, NULL };
	const char		*action, *name = NULL, *expires = NULL;
	const char		**tasks = NULL;
	char			*user;
	json_t			*reply, *v;
	u_int			 i, a, ntasks = 0;
	int			 failed;

	if (control_cmd_arg_string(c, req, K_ACTION, 1, &action) != 0)
		return;
	for (a = 0; a < sizeof actions / sizeof actions[0]; a++) {
		if (strcmp(actions[a].action, action) == 0)
			break;
	}
	if (a == sizeof actions / sizeof actions[0]) {
		control_client_error(c, E_USAGE, "\"%s\" is %s, %s or %s",
		    K_ACTION, TOKEN_CREATE, TOKEN_LIST, TOKEN_REVOKE);
		return;
	}
	for (i = 0; i < sizeof members / sizeof members[0]; i++) {
		v = json_object_get(req, members[i]);
		if ((actions[a].takes & (1 << i)) == 0 && v != NULL &&
		    !json_is_null(v)) {
			control_client_error(c, E_USAGE, "%s %s does not take "
			    "\"%s\"", CMD_TOKEN, actions[a].action,
			    members[i]);
			return;
		}
	}
	reply = proto_ok();
	if (strcmp(action, TOKEN_LIST) == 0) {
		control_cmd_reply(c, reply, token_list(reply, &err) != 0, &err);
		return;
	}
	if (control_cmd_arg_string(c, req, K_NAME, 1, &name) != 0 ||
	    control_cmd_arg_string(c, req, K_EXPIRES, 0, &expires) != 0 ||
	    control_cmd_token_tasks(c, req, &tasks, &ntasks) != 0) {
		json_decref(reply);
		return;
	}
	if (strcmp(action, TOKEN_REVOKE) == 0)
		failed = token_revoke(name, reply, &err) != 0;
	else {
		user = control_cmd_user(c);
		failed = token_create(name, user, tasks, ntasks, expires, reply,
		    &err) != 0;
		free(user);
	}
	free(tasks);
	control_cmd_reply(c, reply, failed, &err);
}

/* Handle one request line. */
void
control_cmd_dispatch(struct client *c, const char *line, size_t len)
{
	const struct control_cmd	*cmd;
	json_t				*req, *v;
	char				*cause;
	const char			*name, *key;
	u_int				 i;

	if ((req = proto_decode(line, len, &cause)) == NULL) {
		control_client_error(c, E_BAD_REQUEST, "%s", cause);
		free(cause);
		return;
	}
	v = json_object_get(req, K_CMD);
	if (v == NULL || !json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		/* A NUL would cut the name short: "ping\u0000x" is no ping. */
		control_client_error(c, E_BAD_REQUEST, "a request needs a "
		    "\"cmd\" string (without NUL bytes)");
		json_decref(req);
		return;
	}
	name = json_string_value(v);
	/* A client of another release is refused before it is misread. */
	v = json_object_get(req, K_PROTOCOL);
	if (v != NULL && !json_is_integer(v)) {
		control_client_error(c, E_USAGE, "\"protocol\" must be an "
		    "integer");
		json_decref(req);
		return;
	}
	if (v != NULL && json_integer_value(v) != ML_PROTO_VERSION) {
		control_client_error(c, E_PROTOCOL, "incompatible "
		    "microlightctl and microlightd: the client speaks protocol "
		    "%lld, microlightd %d (use the microlightctl of the "
		    "daemon's release)", (long long)json_integer_value(v),
		    ML_PROTO_VERSION);
		json_decref(req);
		return;
	}
	cmd = NULL;
	for (i = 0; i < sizeof control_cmds / sizeof control_cmds[0]; i++) {
		if (strcmp(control_cmds[i].name, name) == 0) {
			cmd = &control_cmds[i];
			break;
		}
	}
	if (cmd == NULL)
		control_client_error(c, E_UNKNOWN_COMMAND, "unknown command");
	else if ((key = control_cmd_unknown_key(cmd, req)) != NULL)
		control_client_error(c, E_USAGE, "%s does not take \"%.64s\" "
		    "(an older microlightd?)", cmd->name, key);
	else if ((cmd->flags & CMD_ADMIN) &&
	    !access_admin(control_client_asker(c)))
		control_client_error(c, E_FORBIDDEN, "%s needs an "
		    "administrator (root, the daemon's user or a member of "
		    "admin-group %s)", cmd->name, ml_conf->admin_group);
	else if ((cmd->flags & CMD_MUTATES) && ml_shutting_down)
		control_client_error(c, E_SHUTTING_DOWN, "microlightd is "
		    "shutting down");
	else {
		log_debug("control: %s: %s", control_client_who(c),
		    cmd->name);
		if ((cmd->flags & CMD_BATCH) == 0)
			db_flush();	/* see db_batch_join */
		cmd->handler(c, req);
	}
	json_decref(req);
}
