/* microlightctl: parse the command line against a table, ask, print. */

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "microlightctl.h"

int			 json_output;
static const char	*socket_path;

static int	cmd_ping(int, char **);
static int	cmd_list(int, char **);
static int	cmd_show(int, char **);
static int	cmd_run(int, char **);
static int	cmd_rerun(int, char **);
static int	cmd_logs(int, char **);
static int	cmd_runs(int, char **);
static int	cmd_status(int, char **);
static int	cmd_cancel(int, char **);
static int	cmd_reload(int, char **);
static int	cmd_webhook(int, char **);
static int	cmd_backup(int, char **);
static int	cmd_next(int, char **);

/* The commands: name, usage, handler. */
static const struct ctl_cmd {
	const char	*name;
	const char	*usage;
	int		(*handler)(int, char **);
} ctl_cmds[] = {
	{ "list", "list", cmd_list },
	{ "show", "show TASK", cmd_show },
	{ "run", "run TASK [NAME=VALUE ...] [--wait] [--follow] "
	    "[--at TIME | --in DURATION]", cmd_run },
	{ "rerun", "rerun RUN [NAME=VALUE ...] [--wait] [--follow] "
	    "[--at TIME | --in DUR]",
	    cmd_rerun },
	{ "logs", "logs RUN [-f] [--stream stdout|stderr]", cmd_logs },
	{ "runs", "runs [TASK] [-n N] [--status STATUS] [--before RUN]",
	    cmd_runs },
	{ "status", "status RUN", cmd_status },
	{ "cancel", "cancel RUN", cmd_cancel },
	{ "reload", "reload", cmd_reload },
	{ "webhook", "webhook TASK [--rotate]", cmd_webhook },
	{ "backup", "backup FILE", cmd_backup },
	{ "next", "next [-n COUNT] [--from TIME] [--tz ZONE] -- EXPR",
	    cmd_next },
	{ "token", "token create NAME [--task TASK ...] [--expires DURATION]\n"
	    "token list\n"
	    "token revoke NAME", cmd_token },
	{ "ping", "ping", cmd_ping },
	{ "help", "help [COMMAND]", cmd_help },
};
#define NCMDS (sizeof ctl_cmds / sizeof ctl_cmds[0])

static const struct ctl_cmd *current;

static void	usage_lines(FILE *, const char *, const char *, const char *);
static void	usage_fold(FILE *, const char *, const char *);

/*
 * The usage, to stdout and exit 0 (asked for: with the options too),
 * else to stderr. "help COMMAND" says more of each command (help.c).
 */
__dead void
usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;
	char	 what[160];
	u_int	 i;

	fprintf(f, "usage: microlightctl [-s socket] [--json] command "
	    "[arguments]\n\n");
	if (status == 0)
		fprintf(f, "options:\n"
		    "  -s socket        the daemon's socket (default: "
		    "$MICROLIGHT_SOCKET, else your\n"
		    "                   own daemon's, else the system's)\n"
		    "  --json           print the daemon's replies as they "
		    "are, a JSON object a line\n"
		    "  -h, --help       print this help and exit\n"
		    "  -V, --version    print the version and exit\n\n"
		    "microlightctl help COMMAND says what a command does, "
		    "with its options.\n\n");
	fprintf(f, "commands:\n");
	for (i = 0; i < NCMDS; i++) {
		usage_lines(f, "  ", "  ", ctl_cmds[i].usage);
		/* Asked for: what each does, too. */
		if (status == 0 && *help_summary(ctl_cmds[i].name, what,
		    sizeof what) != '\0')
			usage_fold(f, "      ", what);
	}
	exit(status);
}

/* Words after indent, folded before the 80th column. */
static void
usage_fold(FILE *f, const char *indent, const char *text)
{
	size_t	 col = 0, n;

	while (*text != '\0') {
		while (*text == ' ')
			text++;
		n = strcspn(text, " ");
		if (n == 0)
			break;
		if (col == 0)
			col = fprintf(f, "%s", indent);
		else if (col + 1 + n >= 80) {
			fprintf(f, "\n");
			col = fprintf(f, "%s", indent);
		} else
			col += fprintf(f, " ");
		col += fprintf(f, "%.*s", (int)n, text);
		text += n;
	}
	if (col != 0)
		fprintf(f, "\n");
}

/*
 * A command's usage, a line per form (its usage has one per line): the
 * first after first, the others after more.
 */
static void
usage_lines(FILE *f, const char *first, const char *more, const char *text)
{
	const char	*nl;

	for (;;) {
		nl = strchr(text, '\n');
		fprintf(f, "%s%.*s\n", first, nl != NULL ? (int)(nl - text) :
		    (int)strlen(text), text);
		if (nl == NULL)
			break;
		text = nl + 1;
		first = more;
	}
}

/* A command's usage as "usage: microlightctl ..." lines. */
void
print_usage(FILE *f, const char *text)
{
	usage_lines(f, "usage: microlightctl ", "       microlightctl ", text);
}

/* The usage of a command, or NULL if there is no such command. */
const char *
ctl_usage(const char *name)
{
	u_int	 i;

	for (i = 0; i < NCMDS; i++) {
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return (ctl_cmds[i].usage);
	}
	return (NULL);
}

/* "unknown status 'X'", the statuses there are, and exit 64. */
static __dead void
unknown_status(const char *name)
{
	const char	*names[RUN_NSTATUS], *near;
	char		*v, *list = NULL, *more;
	u_int		 i;

	for (i = 0; i < RUN_NSTATUS; i++) {
		names[i] = proto_status_name(i);
		xasprintf(&more, "%s%s%s", list != NULL ? list : "",
		    list != NULL ? ", " : "", names[i]);
		free(list);
		list = more;
	}
	v = text_vis(name);
	near = suggest(name, names, RUN_NSTATUS);
	warnx("unknown status '%s'%s%s%s; the statuses are %s", v,
	    near != NULL ? " (did you mean '" : "", near != NULL ? near : "",
	    near != NULL ? "'?)" : "", list);
	free(v);
	free(list);
	cmd_usage();
}

/* "unknown command 'X'", with the command it likely meant. */
void
unknown_command(const char *name)
{
	const char	*names[NCMDS], *near;
	char		*v;
	u_int		 i;

	for (i = 0; i < NCMDS; i++)
		names[i] = ctl_cmds[i].name;
	v = text_vis(name);
	if ((near = suggest(name, names, NCMDS)) != NULL)
		warnx("unknown command '%s'; did you mean '%s'?", v, near);
	else
		warnx("unknown command '%s'", v);
	free(v);
}

/* A usage error of the current command. */
__dead void
cmd_usage(void)
{
	print_usage(stderr, current->usage);
	exit(EXIT_USAGE);
}

/*
 * A decimal number between min and max, or NULL with *errstr set, like
 * libbsd's strtonum: microlightctl links jansson alone, because it starts
 * for every command and each shared library it loads costs start-up time
 * (libbsd and libmd together, about a tenth of a millisecond; bench/).
 */
static long long
number(const char *s, long long min, long long max, const char **errstr)
{
	char		*end;
	long long	 v;

	*errstr = NULL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || *s == ' ')
		*errstr = "invalid";
	else if ((v == LLONG_MIN && errno == ERANGE) || v < min)
		*errstr = "too small";
	else if ((v == LLONG_MAX && errno == ERANGE) || v > max)
		*errstr = "too large";
	return (*errstr == NULL ? v : 0);
}

/* Parse a run id argument. */
static int64_t
run_id(const char *s)
{
	const char	*errstr;
	long long	 id;

	id = number(s, 1, INT64_MAX, &errstr);
	if (errstr != NULL) {
		warnx("run id '%s' is %s", s, errstr);
		exit(EXIT_USAGE);
	}
	return (id);
}

/* Connect and send one request, returning its successful reply. */
json_t *
request(struct conn *c, json_t *req)
{
	conn_open(c, socket_path);
	return (conn_request(c, req));
}

/* ping: the daemon's version and uptime. */
static int
cmd_ping(int argc, char **argv)
{
	struct conn	 c;
	json_t		*r;
	char		 up[32];

	if (argc != 1)
		cmd_usage();
	r = request(&c, json_pack("{s:s}", K_CMD, CMD_PING));
	if (!json_output) {
		duration_format(jint(r, K_UPTIME, 0), up, sizeof up);
		print_line("microlightd %s (protocol %lld), pid %lld, up %s: "
		    "%lld tasks, %lld running, %lld queued",
		    jstr(r, K_VERSION), (long long)jint(r, K_PROTOCOL, 0),
		    (long long)jint(r, K_PID, 0), up,
		    (long long)jint(r, K_TASKS, 0),
		    (long long)jint(r, K_RUNNING, 0),
		    (long long)jint(r, K_QUEUED, 0));
	}
	json_decref(r);
	conn_close(&c);
	return (0);
}

/* list: every task. */
static int
cmd_list(int argc, char **argv)
{
	struct conn		 c;
	struct task_table	*tt;
	json_t			*m;
	const char		*ev;

	if (argc != 1)
		cmd_usage();
	if (json_output) {
		json_decref(request(&c, json_pack("{s:s}", K_CMD, CMD_LIST)));
		conn_close(&c);
		return (0);
	}
	/*
	 * The table needs a few members of each task: ask for just those,
	 * a task a line, each made a row and freed as it comes.
	 */
	conn_open(&c, socket_path);
	conn_send(&c, json_pack("{s:s,s:b,s:b}", K_CMD, CMD_LIST, K_BRIEF, 1,
	    K_EACH, 1));
	tt = task_table_create();
	for (;;) {
		if ((m = conn_recv(&c)) == NULL)
			errx(EXIT_UNAVAILABLE, "microlightd closed the "
			    "connection");
		if ((ev = jstr(m, K_EVENT)) != NULL && strcmp(ev, EV_TASK) == 0) {
			task_table_add(tt, json_object_get(m, K_TASK));
			json_decref(m);
			continue;
		}
		if (!json_is_true(json_object_get(m, K_OK)))
			conn_fail(m);
		json_decref(m);
		break;
	}
	task_table_print(tt);
	conn_close(&c);
	return (0);
}

/* show TASK */
static int
cmd_show(int argc, char **argv)
{
	struct conn	 c;
	json_t		*r;

	if (argc != 2)
		cmd_usage();
	r = request(&c, json_pack("{s:s,s:s}", K_CMD, CMD_SHOW, K_TASK,
	    argv[1]));
	if (!json_output)
		print_task(json_object_get(r, K_TASK),
		    json_object_get(r, K_SCHEDULED), json_object_get(r, K_RUNS));
	json_decref(r);
	conn_close(&c);
	return (0);
}

/* What run and rerun take besides their first argument. */
struct run_args {
	json_t	*params;	/* NAME=VALUE words */
	int	 wait;
	int	 follow;
	char	*at;		/* --at, --in */
	char	*in;
};

/* One option of run or rerun (its getopt value, its argument) taken. */
static void
run_option(struct run_args *ra, int ch, const char *arg)
{
	switch (ch) {
	case 'w':
		ra->wait = 1;
		break;
	case 'f':
		ra->follow = 1;
		break;
	case 'a':
		free(ra->at);
		ra->at = run_at(arg);
		break;
	case 'i':
		free(ra->in);
		ra->in = xstrdup(arg);
		break;
	default:
		cmd_usage();
	}
}

/*
 * The operands of run and rerun after getopt: the first (TASK, RUN) is
 * returned, NAME=VALUE words go into ra's params, and the options of lo
 * may also come among them.
 */
static const char *
run_operands(int argc, char **argv, const struct option *lo,
    struct run_args *ra)
{
	const struct option	*o;
	char			*eq, *name;
	int			 i;

	if (argc < 1)
		cmd_usage();
	ra->params = json_object();
	for (i = 1; i < argc; i++) {
		for (o = lo; o->name != NULL; o++) {
			if (strncmp(argv[i], "--", 2) == 0 &&
			    strcmp(argv[i] + 2, o->name) == 0)
				break;
		}
		if (o->name != NULL && (o->has_arg == no_argument ||
		    i + 1 < argc)) {
			run_option(ra, o->val, o->has_arg == no_argument ?
			    NULL : argv[++i]);
			continue;
		}
		if ((eq = strchr(argv[i], '=')) == NULL || eq == argv[i]) {
			warnx("'%s' is not NAME=VALUE", argv[i]);
			cmd_usage();
		}
		name = xstrndup(argv[i], eq - argv[i]);
		if (json_object_get(ra->params, name) != NULL) {
			warnx("parameter %s given twice", name);
			exit(EXIT_USAGE);
		}
		if (!utf8_valid(eq + 1, strlen(eq + 1))) {
			warnx("the value of %s is not valid UTF-8", name);
			exit(EXIT_DATAERR);
		}
		json_object_set_new(ra->params, name, json_string(eq + 1));
		free(name);
	}
	if (ra->at != NULL && ra->in != NULL) {
		warnx("--at or --in, not both");
		cmd_usage();
	}
	return (argv[0]);
}

/*
 * Send a request that starts a run (run, rerun), with ra's --at or --in,
 * and print its id; with --wait or --follow, its output, and exit with
 * its status.
 */
static int
run_send(json_t *req, struct run_args *ra)
{
	struct conn	 c;
	json_t		*r, *run;
	int		 status, wait = ra->wait, follow = ra->follow;

	if (ra->at != NULL)
		json_object_set_new(req, K_AT, json_string(ra->at));
	if (ra->in != NULL)
		json_object_set_new(req, K_IN, json_string(ra->in));
	free(ra->at);
	free(ra->in);

	if (follow)
		follow_ask_raw(req);
	r = request(&c, req);
	run = json_object_get(r, K_RUN);
	if (!json_output) {
		if (follow)
			fprintf(stderr, "run %lld\n",
			    (long long)jint(run, K_ID, 0));
		else
			printf("%lld\n", (long long)jint(run, K_ID, 0));
		fflush(stdout);
	}
	if (proto_run_status(run) == RUN_SKIPPED) {
		/* @overlap skip: the run was recorded but will not run. */
		report_end(run);
		json_decref(r);
		conn_close(&c);
		return (EXIT_SKIPPED);
	}
	json_decref(r);
	if (!wait && !follow) {
		conn_close(&c);
		return (0);
	}
	run = follow_events(&c);
	status = run_end_status(run);
	json_decref(run);
	conn_close(&c);
	return (status);
}

/* run TASK [NAME=VALUE ...] [--wait] [--follow] [--at TIME | --in DUR] */
static int
cmd_run(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "follow", no_argument, NULL, 'f' },
		{ "at", required_argument, NULL, 'a' },
		{ "in", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	struct run_args	 ra;
	const char	*task;
	json_t		*req;
	int		 ch;

	memset(&ra, 0, sizeof ra);
	while ((ch = getopt_long(argc, argv, "+", lo, NULL)) != -1)
		run_option(&ra, ch, optarg);
	task = run_operands(argc - optind, argv + optind, lo, &ra);
	req = json_pack("{s:s,s:s,s:o,s:b,s:b}", K_CMD, CMD_RUN, K_TASK,
	    task, K_PARAMS, ra.params, K_WAIT, ra.wait, K_FOLLOW, ra.follow);
	return (run_send(req, &ra));
}

/*
 * rerun RUN [NAME=VALUE ...] [--wait] [--follow] [--at TIME | --in DUR]:
 * RUN's task again with RUN's parameters, the given ones replacing theirs.
 */
static int
cmd_rerun(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "follow", no_argument, NULL, 'f' },
		{ "at", required_argument, NULL, 'a' },
		{ "in", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	struct run_args	 ra;
	int64_t		 id;
	int		 ch;

	memset(&ra, 0, sizeof ra);
	while ((ch = getopt_long(argc, argv, "+", lo, NULL)) != -1)
		run_option(&ra, ch, optarg);
	id = run_id(run_operands(argc - optind, argv + optind, lo, &ra));
	return (run_send(json_pack("{s:s,s:I,s:o,s:b,s:b}", K_CMD, CMD_RERUN,
	    K_RUN, (json_int_t)id, K_PARAMS, ra.params, K_WAIT, ra.wait,
	    K_FOLLOW, ra.follow), &ra));
}

/* logs RUN [-f] [--stream stdout|stderr] */
static int
cmd_logs(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "stream", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	struct conn	 c;
	json_t		*req, *r, *run;
	const char	*stream = NULL;
	int		 ch, follow = 0, status = 0;

	while ((ch = getopt_long(argc, argv, "f", lo, NULL)) != -1) {
		switch (ch) {
		case 'f':
			follow = 1;
			break;
		case 'S':
			if (proto_stream_from(optarg) == -1)
				cmd_usage();
			stream = optarg;
			break;
		default:
			cmd_usage();
		}
	}
	if (argc - optind != 1)
		cmd_usage();
	req = json_pack("{s:s,s:I,s:b}", K_CMD, CMD_LOGS, K_RUN,
	    (json_int_t)run_id(argv[optind]), K_FOLLOW, follow);
	if (stream != NULL)
		json_object_set_new(req, K_STREAM, json_string(stream));
	follow_ask_raw(req);
	r = request(&c, req);
	json_decref(r);
	run = follow_events(&c);
	/* Followed to its end: the end as run --follow says it (SPEC 5). */
	if (follow)
		status = run_end_status(run);
	json_decref(run);
	conn_close(&c);
	return (status);
}

/* runs [TASK] [-n N] [--status STATUS] [--before RUN] */
static int
cmd_runs(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "status", required_argument, NULL, 'S' },
		{ "before", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 }
	};
	struct conn	 c;
	json_t		*req, *r;
	const char	*errstr, *status = NULL;
	long long	 n = 20;
	int64_t		 before = 0;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "n:", lo, NULL)) != -1) {
		switch (ch) {
		case 'n':
			n = number(optarg, 1, 10000, &errstr);
			if (errstr != NULL) {
				warnx("-n %s: %s (1 to 10000)", optarg, errstr);
				cmd_usage();
			}
			break;
		case 'S':
			if (proto_status_from(optarg) == -1)
				unknown_status(optarg);
			status = optarg;
			break;
		case 'B':
			before = run_id(optarg);
			break;
		default:
			cmd_usage();
		}
	}
	if (argc - optind > 1)
		cmd_usage();
	req = json_pack("{s:s,s:I}", K_CMD, CMD_RUNS, K_LIMIT, (json_int_t)n);
	if (before != 0)
		json_object_set_new(req, K_BEFORE, json_integer(before));
	if (argc - optind == 1)
		json_object_set_new(req, K_TASK, json_string(argv[optind]));
	if (status != NULL)
		json_object_set_new(req, K_STATUS, json_string(status));
	r = request(&c, req);
	if (!json_output) {
		print_runs(json_object_get(r, K_RUNS), argc - optind == 0);
		if (jint(r, K_PRUNED, 0) > 0 &&
		    json_array_size(json_object_get(r, K_RUNS)) < (size_t)n)
			printf("(%lld older run%s pruned: keep-runs %lld per "
			    "task, keep-days %lld)\n",
			    (long long)jint(r, K_PRUNED, 0),
			    jint(r, K_PRUNED, 0) == 1 ? " was" : "s were",
			    (long long)jint(r, K_KEEP_RUNS, 0),
			    (long long)jint(r, K_KEEP_DAYS, 0));
	}
	json_decref(r);
	conn_close(&c);
	return (0);
}

/* status RUN */
static int
cmd_status(int argc, char **argv)
{
	struct conn	 c;
	json_t		*r, *run;
	int		 status = 0;

	if (argc != 2)
		cmd_usage();
	r = request(&c, json_pack("{s:s,s:I}", K_CMD, CMD_STATUS, K_RUN,
	    (json_int_t)run_id(argv[1])));
	run = json_object_get(r, K_RUN);
	if (!json_output)
		print_run(run);
	/* An ended run: its end as run --follow says it (SPEC 5). */
	switch (proto_run_status(run)) {
	case RUN_QUEUED:
	case RUN_RUNNING:
	case RUN_SCHEDULED:
		break;
	default:
		status = run_end_status(run);
		break;
	}
	json_decref(r);
	conn_close(&c);
	return (status);
}

/* cancel RUN */
static int
cmd_cancel(int argc, char **argv)
{
	struct conn	 c;
	json_t		*r, *run;
	const char	*status;

	if (argc != 2)
		cmd_usage();
	r = request(&c, json_pack("{s:s,s:I}", K_CMD, CMD_CANCEL, K_RUN,
	    (json_int_t)run_id(argv[1])));
	run = json_object_get(r, K_RUN);
	status = jstr(run, K_STATUS);
	if (!json_output) {
		if (proto_run_status(run) == RUN_RUNNING)
			printf("run %lld: cancelling (SIGTERM sent)\n",
			    (long long)jint(run, K_ID, 0));
		else
			print_line("run %lld: %s",
			    (long long)jint(run, K_ID, 0),
			    status != NULL ? status : "?");
	}
	json_decref(r);
	conn_close(&c);
	return (0);
}

/* reload */
static int
cmd_reload(int argc, char **argv)
{
	struct conn	 c;
	json_t		*r;

	if (argc != 1)
		cmd_usage();
	r = request(&c, json_pack("{s:s}", K_CMD, CMD_RELOAD));
	if (!json_output)
		printf("reloaded: %lld tasks, %lld invalid\n",
		    (long long)jint(r, K_TASKS, 0),
		    (long long)jint(r, K_INVALID, 0));
	json_decref(r);
	conn_close(&c);
	return (0);
}

/*
 * webhook TASK [--rotate]: the task's webhook URL and secret (made by the
 * daemon on first use, made again with --rotate) and a curl line to try.
 */
static int
cmd_webhook(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rotate", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct conn	 c;
	json_t		*r;
	int		 ch, rotate = 0;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'r':
			rotate = 1;
			break;
		default:
			cmd_usage();
		}
	}
	if (argc - optind != 1)
		cmd_usage();
	r = request(&c, json_pack("{s:s,s:s,s:b}", K_CMD, CMD_WEBHOOK, K_TASK,
	    argv[optind], K_ROTATE, rotate));
	if (!json_output) {
		print_line("url:     %s", jstr(r, K_URL) != NULL ?
		    jstr(r, K_URL) : "- (the HTTP listener is off)");
		print_line("secret:  %s%s", jstr(r, K_SECRET),
		    strcmp(jstr(r, K_SOURCE) != NULL ? jstr(r, K_SOURCE) : "",
		    SOURCE_CONFIG) == 0 ? "  (from webhook-secret in the "
		    "configuration)" : "");
		printf("\n");
		print_line("%s", jstr(r, K_CURL));
		printf("\nParameters go in a JSON body (-H 'Content-Type: "
		    "application/json' -d '{\"name\":\"value\"}'),\n"
		    "a form body or the query string; add ?wait=30 to wait "
		    "for the run's end.\nGitHub: use the URL as Payload URL, "
		    "application/json, and the secret as Secret.\n");
	}
	json_decref(r);
	conn_close(&c);
	return (0);
}

/*
 * next [-n COUNT] [--from TIME] [--tz ZONE] -- EXPR: the next fire times of
 * a schedule, computed here (no daemon needed) by the daemon's own code.
 */
static int
cmd_next(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "from", required_argument, NULL, 'F' },
		{ "tz", required_argument, NULL, 'Z' },
		{ NULL, 0, NULL, 0 }
	};
	struct cron	 c;
	struct tz	*z;
	const char	*errstr, *zone = NULL, *from = NULL;
	char		*expr, *cause, buf[64];
	long long	 count = 5;
	int64_t		 t, ms;
	size_t		 len = 1;
	int		 ch, i;

	while ((ch = getopt_long(argc, argv, "n:", lo, NULL)) != -1) {
		switch (ch) {
		case 'n':
			count = number(optarg, 1, 10000, &errstr);
			if (errstr != NULL) {
				warnx("-n %s: %s (1 to 10000)", optarg, errstr);
				cmd_usage();
			}
			break;
		case 'F':
			from = optarg;
			break;
		case 'Z':
			zone = optarg;
			break;
		default:
			cmd_usage();
		}
	}
	if (optind >= argc)
		cmd_usage();
	for (i = optind; i < argc; i++)
		len += strlen(argv[i]) + 1;
	expr = xcalloc(1, len);
	for (i = optind; i < argc; i++) {
		if (i > optind)
			strcat(expr, " ");
		strcat(expr, argv[i]);
	}
	if (from == NULL)
		t = time_now_ms() / 1000;
	else if (time_parse_when(from, &ms) == 0)
		t = ms / 1000 - (ms % 1000 < 0);
	else {
		warnx("--from %s: not ISO 8601 with an offset "
		    "(2026-03-29T01:30:00+01:00) or @SECONDS", from);
		exit(EXIT_USAGE);
	}
	if (cron_parse(expr, &c, &cause) != 0)
		errx(EXIT_DATAERR, "%s", cause);
	if (c.reboot)
		errx(EXIT_DATAERR, "@reboot fires when microlightd starts, "
		    "not at a time");
	if ((z = tz_load(zone, &cause)) == NULL)
		errx(EXIT_DATAERR, "%s", cause);
	for (i = 0; i < count; i++) {
		if ((t = cron_next(&c, z, t)) == -1)
			break;
		cron_format(z, t, buf, sizeof buf);
		printf("%s\n", buf);
	}
	tz_free(z);
	free(expr);
	return (0);
}

/* The temporary file of a backup under way, removed if we stop early. */
static char	*backup_tmp;

/* atexit: a backup that did not complete leaves nothing behind. */
static void
backup_unlink(void)
{
	if (backup_tmp != NULL)
		unlink(backup_tmp);
}

/*
 * backup FILE: the daemon makes a consistent copy and sends it; it is
 * written beside FILE (with this user's rights) and renamed into place
 * once complete, so FILE is never half-written.
 */
static int
cmd_backup(int argc, char **argv)
{
	struct conn	 c;
	json_t		*r, *ev;
	const char	*type, *data;
	void		*bytes;
	size_t		 len;
	int64_t		 total = 0;
	int		 fd;

	if (argc != 2)
		cmd_usage();
	xasprintf(&backup_tmp, "%s.tmp-XXXXXX", argv[1]);
	if ((fd = mkstemp(backup_tmp)) == -1) {
		free(backup_tmp);
		backup_tmp = NULL;
		err(EXIT_CANTCREAT, "%s", argv[1]);
	}
	atexit(backup_unlink);
	r = request(&c, json_pack("{s:s}", K_CMD, CMD_BACKUP));
	json_decref(r);
	for (;;) {
		if ((ev = conn_recv(&c)) == NULL)
			errx(EXIT_UNAVAILABLE, "microlightd closed the "
			    "connection before the backup was complete");
		type = jstr(ev, K_EVENT);
		if (type == NULL)
			conn_fail(ev);
		if (strcmp(type, EV_END) == 0)
			break;
		if (strcmp(type, EV_DATA) != 0) {
			json_decref(ev);
			continue;
		}
		data = jstr(ev, K_DATA);
		if (data == NULL || base64_decode(data, strlen(data), &bytes,
		    &len) != 0)
			errx(EXIT_SOFTWARE, "bad data from microlightd");
		if (write(fd, bytes, len) != (ssize_t)len)
			err(EXIT_CANTCREAT, "%s", backup_tmp);
		total += len;
		free(bytes);
		json_decref(ev);
	}
	if (json_output)
		printf("%s\n", c.line);
	if (jint(ev, K_SIZE, -1) != total)
		errx(EXIT_SOFTWARE, "backup: %lld bytes received, %lld sent",
		    (long long)total, (long long)jint(ev, K_SIZE, -1));
	json_decref(ev);
	if (fsync(fd) == -1 || close(fd) == -1 ||
	    rename(backup_tmp, argv[1]) == -1)
		err(EXIT_CANTCREAT, "%s", argv[1]);
	free(backup_tmp);
	backup_tmp = NULL;
	if (!json_output)
		printf("backup: %lld bytes written to %s\n", (long long)total,
		    argv[1]);
	conn_close(&c);
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;
	u_int	 i;

	/*
	 * The replies come from the daemon, not from an attacker flooding
	 * hash tables: a fixed seed spares jansson reading /dev/urandom.
	 */
	json_object_seed(1);

	/* "+": stop at the command; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+hjs:V", lo, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(0);
		case 'j':
			json_output = 1;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'V':
			printf("microlightctl %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			usage(EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(EXIT_USAGE);
	if (socket_path == NULL)
		socket_path = getenv("MICROLIGHT_SOCKET");
	if (socket_path == NULL || *socket_path == '\0') {
		socket_path = paths_default(PATH_SOCKET);
		/*
		 * No daemon of the user's own: the system's, which members
		 * of its socket-group may use.
		 */
		if (access(socket_path, F_OK) != 0) {
			char *sys = paths_default(PATH_SOCKET_SYSTEM);

			if (access(sys, F_OK) == 0)
				socket_path = sys;
			else
				free(sys);
		}
	}

	for (i = 0; i < NCMDS; i++) {
		if (strcmp(ctl_cmds[i].name, argv[0]) == 0)
			break;
	}
	if (i == NCMDS) {
		unknown_command(argv[0]);
		usage(EXIT_USAGE);
	}
	current = &ctl_cmds[i];
	optind = 0;	/* glibc: start the next getopt afresh */
	return (current->handler(argc, argv));
}
