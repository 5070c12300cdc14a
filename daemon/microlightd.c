/* microlightd: options, start-up order, signals, reload and shutdown. */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libutil.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"

struct event_base	*ml_base;
struct config		*ml_conf;
int64_t			 ml_started;
int			 ml_shutting_down;

/* Command-line settings, applied over the file at start and every reload. */
static struct {
	char		*config;
	char		*tasks_dir;
	char		*state_dir;
	char		*socket;
	const char	*listen;
	char		*pidfile;
	int		 foreground;
	int		 check;
	int		 verbose;
} opts;

static int		 ready_fd = -1;	/* tells the waiting parent we are up */
static struct taskset	*startup_tasks;	/* scanned, not yet installed */
static struct pidfh	*lock_pfh;
static struct pidfh	*pid_pfh;

#define USAGE_INDENT	19	/* where the text of an option starts */
#define USAGE_WIDTH	79

/*
 * Print text from column col (at most USAGE_INDENT), its words wrapped
 * to USAGE_WIDTH under USAGE_INDENT (a long path stays whole); a line.
 */
static void
usage_wrap(int col, const char *text)
{
	char	*copy, *cp, *word;
	int	 first = 1;

	cp = copy = xstrdup(text);
	while ((word = strsep(&cp, " ")) != NULL) {
		if (!first && col + 1 + (int)strlen(word) > USAGE_WIDTH) {
			printf("\n");
			col = 0;
		}
		if (col < USAGE_INDENT)
			col += printf("%*s%s", USAGE_INDENT - col, "", word);
		else
			col += printf(" %s", word);
		first = 0;
	}
	printf("\n");
	free(copy);
}

/*
 * One option of the help: the option, what it does, and on a line of its
 * own its default (a format; NULL: none to say).
 */
static void __attribute__((format(printf, 3, 4)))
usage_option(const char *option, const char *what, const char *fmt, ...)
{
	va_list	 ap;
	char	*text, *dflt;

	usage_wrap(printf("  %s", option), what);
	if (fmt == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&dflt, fmt, ap);
	va_end(ap);
	xasprintf(&text, "(default: %s)", dflt);
	usage_wrap(0, text);
	free(text);
	free(dflt);
}

/*
 * What each option does, and its default, for -h: the defaults are this
 * user's (root's are the system's, others' the XDG directories), as
 * config_create and paths_default make them.
 */
static void
usage_options(void)
{
	struct config	*conf = config_create();
	char		*pidfile = paths_default(PATH_PIDFILE);

	printf("\n");
	usage_option("-c file", "read the configuration from file",
	    "%s, if it exists", conf->file);
	usage_option("-d state-dir", "keep the database and the lock in "
	    "state-dir", "state-dir of the configuration, else %s",
	    conf->state_dir);
	usage_option("-f", "stay in the foreground and log to standard error",
	    "go to the background and log to syslog");
	usage_option("-h, --help", "print this help and exit", NULL);
	usage_option("-l address:port", "serve the page, the API and webhooks "
	    "there; -l none: no HTTP", "listen of the configuration, else %s",
	    conf->listen);
	usage_option("-n", "check the configuration and every task file, "
	    "print the problems, exit 1 if there are any", NULL);
	usage_option("-p pidfile", "write the process id there and keep it "
	    "locked", "%s, none with -f", pidfile);
	usage_option("-s socket", "the control socket, for microlightctl",
	    "socket of the configuration, else %s", conf->socket_path);
	usage_option("-T tasks-dir", "read the tasks from tasks-dir",
	    "tasks-dir of the configuration, else %s", conf->tasks_dir);
	usage_option("-v", "log debugging messages too",
	    "warnings, start, reload, each run's start and end");
	usage_option("-V, --version", "print the version and exit", NULL);
	printf("\nOptions override the configuration file; see "
	    "microlightd(8).\n");
	free(pidfile);
	config_free(conf);
}

/*
 * The usage: asked for (-h), on stdout with what each option does, exit
 * 0; after a mistake, the synopsis alone on stderr and status.
 */
static __dead void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: microlightd [-fnvV] [-c file] [-T tasks-dir] "
	    "[-d state-dir] [-s socket]\n"
	    "                   [-l address:port | -l none] [-p pidfile]\n");
	if (status == 0)
		usage_options();
	exit(status);
}

/* A path made absolute against the current directory (we chdir to /). */
static char *
absolute(const char *path)
{
	char	 cwd[PATH_MAX], *abs;

	if (path[0] == '/')
		return (xstrdup(path));
	if (getcwd(cwd, sizeof cwd) == NULL)
		fatal("getcwd");
	xasprintf(&abs, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
	return (abs);
}

/* A start-up failure: logged, told to the waiting parent, exit 1. */
static __dead void __attribute__((format(printf, 1, 2)))
startup_fail(const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	if (startup_tasks != NULL)
		tasks_free(startup_tasks);
	startup_tasks = NULL;
	/* Leave nothing behind: a socket bound here, the pidfile. */
	control_close();
	if (pid_pfh != NULL)
		pidfile_remove(pid_pfh);
	pid_pfh = NULL;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (ready_fd != -1) {
		log_warnx("%s", msg);
		(void)!write(ready_fd, msg, strlen(msg));
	} else
		fprintf(stderr, "microlightd: %s\n", msg);
	exit(1);
}

/* Make sure descriptors 0, 1 and 2 are open, so no socket lands on them. */
static void
sanitise_stdio(void)
{
	int	 fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/* Apply the command-line options over a loaded configuration. */
static int
apply_options(struct config *conf, char **cause)
{
	if (opts.tasks_dir != NULL) {
		free(conf->tasks_dir);
		conf->tasks_dir = xstrdup(opts.tasks_dir);
	}
	if (opts.state_dir != NULL) {
		free(conf->state_dir);
		conf->state_dir = xstrdup(opts.state_dir);
	}
	if (opts.socket != NULL) {
		free(conf->socket_path);
		conf->socket_path = xstrdup(opts.socket);
	}
	if (opts.listen != NULL &&
	    config_set(conf, "listen", opts.listen, cause) != 0)
		return (-1);
	return (0);
}

/*
 * Read the configuration: the file (required only if -c named it), then
 * the command line. Problems are added to the list; NULL if any.
 */
static struct config *
load_config(char ***problems, u_int *nproblems)
{
	struct config	*conf;
	char		*cause;
	int		 bad = 0;

	conf = config_create();
	if (opts.config != NULL) {
		free(conf->file);
		conf->file = xstrdup(opts.config);
	}
	if (config_load(conf, conf->file, opts.config != NULL, problems,
	    nproblems) != 0)
		bad = 1;
	if (apply_options(conf, &cause) != 0) {
		*problems = xreallocarray(*problems, *nproblems + 1,
		    sizeof **problems);
		xasprintf(&(*problems)[(*nproblems)++], "-l: %s", cause);
		free(cause);
		bad = 1;
	}
	if (bad) {
		config_free(conf);
		return (NULL);
	}
	return (conf);
}

/* Free a list of problems. */
static void
problems_free(char **problems, u_int n)
{
	u_int	 i;

	for (i = 0; i < n; i++)
		free(problems[i]);
	free(problems);
}

/*
 * Reload the configuration and tasks.d (SIGHUP or "microlightctl
 * reload"). A bad configuration changes nothing. Settings bound at start
 * (directories, socket, listener) wait for a restart.
 */
static int
daemon_reload_conf(char **cause)
{
	struct config	*conf;
	char		**problems = NULL;
	u_int		 nproblems = 0, i;
	size_t		 len = 0;

	if ((conf = load_config(&problems, &nproblems)) == NULL) {
		for (i = 0; i < nproblems; i++)
			len += strlen(problems[i]) + 2;
		*cause = xcalloc(1, len + 1);
		for (i = 0; i < nproblems; i++) {
			if (i > 0)
				strlcat(*cause, "; ", len + 1);
			strlcat(*cause, problems[i], len + 1);
		}
		log_warnx("reload refused: %s", *cause);
		problems_free(problems, nproblems);
		return (-1);
	}
#define KEEP(field, key) do {						\
	if ((conf->field == NULL) != (ml_conf->field == NULL) ||	\
	    (conf->field != NULL &&					\
	    strcmp(conf->field, ml_conf->field) != 0))			\
		log_warnx("reload: %s changes only after a restart", key); \
	free(conf->field);						\
	conf->field = ml_conf->field != NULL ?				\
	    xstrdup(ml_conf->field) : NULL;				\
} while (0)
	KEEP(tasks_dir, "tasks-dir");
	KEEP(state_dir, "state-dir");
	KEEP(socket_path, "socket");
	KEEP(socket_group, "socket-group");
	KEEP(listen, "listen");
#undef KEEP
	if (http_listen_check_conf(conf, cause) != 0) {
		log_warnx("reload refused: %s", *cause);
		config_free(conf);
		return (-1);
	}
	config_free(ml_conf);
	ml_conf = conf;
	http_reload();
	tasks_reload();
	runs_kick();
	prune_soon();
	return (0);
}

/* A reload, as systemd is told of it. */
int
daemon_reload(char **cause)
{
	int	 rc;

	notify_reloading();
	rc = daemon_reload_conf(cause);
	notify_reloaded();
	return (rc);
}

/* Exit the loop once shutdown has stopped every run. */
void
daemon_maybe_exit(void)
{
	struct timeval	 tv;

	if (!ml_shutting_down || run_active_count() != 0 ||
	    run_ending_count() != 0)
		return;
	/* A moment for the clients' end events to be written. */
	tv.tv_sec = 0;
	tv.tv_usec = 200 * 1000;
	event_base_loopexit(ml_base, &tv);
}

/* SIGTERM or SIGINT: stop accepting work, cancel the runs, then exit. */
static void
signal_term_cb(int sig, short events, void *arg)
{
	if (ml_shutting_down) {
		log_info("already shutting down");
		return;
	}
	ml_shutting_down = 1;
	notify_stopping();
	log_info("%s: shutting down, stopping %u runs", strsignal(sig),
	    run_active_count());
	control_stop_accepting();
	http_stop_accepting();
	hook_stop();
	watch_stop();
	run_shutdown();
	daemon_maybe_exit();
}

/* SIGHUP: reload. */
static void
signal_hup_cb(int sig, short events, void *arg)
{
	char	*cause;

	log_info("SIGHUP: reloading");
	if (daemon_reload(&cause) != 0)
		free(cause);
}

/* SIGCHLD: the one reaper. */
static void
signal_chld_cb(int sig, short events, void *arg)
{
	pid_t	 pid;
	int	 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (!launcher_reaped(pid, status))
			log_debug("reaped process %d", (int)pid);
	}
}

/* Take a pidfile lock; the message names the other daemon if there is one. */
static struct pidfh *
lock_file(const char *path, const char *what)
{
	struct pidfh	*pfh;
	pid_t		 other = -1;

	if ((pfh = pidfile_open(path, 0600, &other)) != NULL)
		return (pfh);
	if (errno == EEXIST) {
		if (other > 0)
			startup_fail("another microlightd (pid %ld) is using "
			    "%s", (long)other, what);
		startup_fail("another microlightd is using %s", what);
	}
	startup_fail("%s: %s", path, strerror(errno));
}

/*
 * Go to the background: the parent waits until the daemon is ready (or
 * reports why it is not) and exits with that result.
 */
static void
daemonise(void)
{
	int	 fds[2];
	char	 buf[1024];
	ssize_t	 n;
	size_t	 len = 0;

	if (pipe2(fds, O_CLOEXEC) == -1)
		fatal("pipe");
	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		close(fds[1]);
		while ((n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0 ||
		    (n == -1 && errno == EINTR)) {
			if (n > 0)
				len += n;
			if (len == sizeof buf - 1)
				break;
		}
		buf[len] = '\0';
		if (len > 0) {
			fprintf(stderr, "microlightd: %s\n", buf);
			_exit(1);
		}
		_exit(0);
	}
	close(fds[0]);
	ready_fd = fds[1];
	if (setsid() == -1)
		fatal("setsid");
	/* Not a session leader: no controlling terminal can be acquired. */
	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	proc_null_stdio();
	log_init("microlightd", 0, opts.verbose);
}

/* Print every problem of the configuration and tasks.d; for -n. */
static int
check_tasks(struct taskset *set)
{
	struct task	*t;
	u_int		 i, n = 0;

	RB_FOREACH(t, task_tree, &set->tree) {
		for (i = 0; i < t->nerrors; i++) {
			fprintf(stderr, "%s\n", t->errors[i]);
			n++;
		}
	}
	return (n);
}

static const struct option longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
	struct event	*ev_hup, *ev_term, *ev_int, *ev_chld;
	struct event_config *evcfg;
	struct taskset	*set;
	char		**problems = NULL, *cause, *path;
	u_int		 nproblems = 0, i;
	int		 ch, bad, fd;

	sanitise_stdio();
	/* Before anything reads argv or the environment: ps titles. */
	proc_title_init(argc, argv);
	opts.verbose = 1;
	while ((ch = getopt_long(argc, argv, "c:d:fhl:np:s:T:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts.config = optarg;
			break;
		case 'd':
			opts.state_dir = optarg;
			break;
		case 'f':
			opts.foreground = 1;
			break;
		case 'h':
			usage(0);
		case 'l':
			opts.listen = optarg;
			break;
		case 'n':
			opts.check = 1;
			break;
		case 'p':
			opts.pidfile = optarg;
			break;
		case 's':
			opts.socket = optarg;
			break;
		case 'T':
			opts.tasks_dir = optarg;
			break;
		case 'v':
			opts.verbose++;
			break;
		case 'V':
			printf("microlightd %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			usage(64);
		}
	}
	if (optind != argc)
		usage(64);
	/* Relative paths are relative to where we started: resolve them now,
	 * before the chdir to /, so that a reload reads the same files. */
	if (opts.config != NULL)
		opts.config = absolute(opts.config);
	if (opts.tasks_dir != NULL)
		opts.tasks_dir = absolute(opts.tasks_dir);
	if (opts.state_dir != NULL)
		opts.state_dir = absolute(opts.state_dir);
	if (opts.socket != NULL)
		opts.socket = absolute(opts.socket);
	if (opts.pidfile != NULL)
		opts.pidfile = absolute(opts.pidfile);
	log_init("microlightd", 1, opts.verbose);

	/* 1. Configuration and tasks, checked before anything is touched. */
	ml_conf = load_config(&problems, &nproblems);
	for (i = 0; i < nproblems; i++)
		fprintf(stderr, "%s\n", problems[i]);
	problems_free(problems, nproblems);
	if (ml_conf == NULL && opts.check) {
		/* Check mode reports the tasks' problems too. */
		ml_conf = config_create();
		if (apply_options(ml_conf, &cause) != 0)
			free(cause);
		if (access(ml_conf->tasks_dir, R_OK | X_OK) == 0) {
			set = tasks_scan(ml_conf->tasks_dir);
			check_tasks(set);
			tasks_free(set);
		}
		config_free(ml_conf);
		exit(1);
	}
	if (ml_conf == NULL) {
		fprintf(stderr, "microlightd: configuration has errors, not "
		    "starting\n");
		exit(1);
	}
	if (opts.tasks_dir == NULL && access(ml_conf->tasks_dir, F_OK) != 0 &&
	    !opts.check) {
		/* The default tasks directory is ours to create. */
		if (paths_mkdir(ml_conf->tasks_dir, 0755, &cause) != 0)
			startup_fail("%s", cause);
	}
	if (access(ml_conf->tasks_dir, R_OK | X_OK) != 0)
		startup_fail("tasks directory %s: %s", ml_conf->tasks_dir,
		    strerror(errno));
	set = startup_tasks = tasks_scan(ml_conf->tasks_dir);
	if (opts.check) {
		bad = check_tasks(set);
		if (http_listen_check(ml_conf, &cause) != 0) {
			fprintf(stderr, "microlightd: %s\n", cause);
			free(cause);
			bad++;
		}
		if (bad == 0)
			printf("microlightd: configuration and %u tasks OK\n",
			    set->ntasks);
		tasks_free(set);
		config_free(ml_conf);
		exit(bad ? 1 : 0);
	}

	/* 2. The state directory and its lock: one daemon per directory. */
	if (paths_mkdir(ml_conf->state_dir, 0700, &cause) != 0)
		startup_fail("state directory: %s", cause);
	xasprintf(&path, "%s/microlightd.lock", ml_conf->state_dir);
	lock_pfh = lock_file(path, ml_conf->state_dir);
	free(path);
	if (!opts.foreground || opts.pidfile != NULL) {
		path = opts.pidfile != NULL ? xstrdup(opts.pidfile) :
		    paths_default(PATH_PIDFILE);
		if (opts.pidfile == NULL) {
			char *dir = xstrdup(path);

			*strrchr(dir, '/') = '\0';
			if (paths_mkdir(dir, geteuid() == 0 ? 0755 : 0700,
			    &cause) != 0)
				startup_fail("pidfile: %s", cause);
			free(dir);
		}
		pid_pfh = lock_file(path, path);
		free(path);
	}

	/*
	 * 3. The sockets: those systemd listens on for us (socket
	 * activation), else bound here while the operator is watching.
	 */
	if (activate_init(&cause) != 0)
		startup_fail("%s", cause);
	if ((fd = activate_take(ACTIVATE_CONTROL)) != -1) {
		if (control_adopt(fd, ml_conf->socket_group, &cause) != 0)
			startup_fail("%s", cause);
	} else if (control_bind(ml_conf->socket_path, ml_conf->socket_group,
	    &cause) != 0)
		startup_fail("%s", cause);
	if ((fd = activate_take(ACTIVATE_HTTP)) != -1) {
		if (http_listen_adopt(fd, &cause) != 0)
			startup_fail("%s", cause);
	} else if (http_listen_bind(ml_conf, &cause) != 0)
		startup_fail("%s", cause);
	if (http_listen_check_conf(ml_conf, &cause) != 0)
		startup_fail("%s", cause);

	/* 4. Into the background, then everything that needs our final pid. */
	if (!opts.foreground)
		daemonise();
	if (chdir("/") == -1)
		startup_fail("chdir /: %s", strerror(errno));
	pidfile_write(lock_pfh);
	if (pid_pfh != NULL)
		pidfile_write(pid_pfh);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");
	signal(SIGPIPE, SIG_IGN);
	fds_init();
	notify_init();		/* before any child, which must not see it */
	/* The launcher forks the runs' supervisors: fork it while we are small. */
	if (launcher_start(&cause) != 0)
		startup_fail("%s", cause);
	ml_started = time_now_ms();

	/*
	 * Precise timers: libevent's default clock is CLOCK_MONOTONIC_COARSE
	 * (4 ms a tick here) and its sleeps are whole milliseconds, which
	 * made scheduled runs 2 to 7 ms late before they even started.
	 */
	if ((evcfg = event_config_new()) == NULL ||
	    event_config_set_flag(evcfg, EVENT_BASE_FLAG_PRECISE_TIMER) != 0 ||
	    (ml_base = event_base_new_with_config(evcfg)) == NULL ||
	    event_base_priority_init(ml_base, ML_PRIORITIES) != 0)
		startup_fail("cannot create the event loop");
	event_config_free(evcfg);
	ev_hup = evsignal_new(ml_base, SIGHUP, signal_hup_cb, NULL);
	ev_term = evsignal_new(ml_base, SIGTERM, signal_term_cb, NULL);
	ev_int = evsignal_new(ml_base, SIGINT, signal_term_cb, NULL);
	ev_chld = evsignal_new(ml_base, SIGCHLD, signal_chld_cb, NULL);
	evsignal_add(ev_hup, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_chld, NULL);

	/* 5. The store: what was running is lost, what was queued waits. */
	xasprintf(&path, "%s/microlight.db", ml_conf->state_dir);
	if (db_open(path, &cause) != 0)
		startup_fail("database: %s", cause);
	free(path);
	if (runs_recover() != 0)
		startup_fail("database: cannot recover runs");

	backup_cleanup();
	tasks_install(set);
	startup_tasks = NULL;	/* installed: the daemon's now */
	run_output_init();
	prune_start();
	launcher_listen();
	spare_prepare();
	control_listen();
	watch_start(ml_conf->tasks_dir);
	runs_restore();
	metrics_start();
	sched_start();
	http_start();
	notice_start();
	fds_ready();

	log_info("microlightd %s ready: %u tasks (%u invalid) from %s, "
	    "socket %s", PACKAGE_VERSION, set->ntasks, set->ninvalid,
	    ml_conf->tasks_dir, control_socket_path());
	if (ready_fd != -1) {
		close(ready_fd);
		ready_fd = -1;
	}
	notify_ready();
	/* Give back what start-up used and no longer needs. */
	malloc_trim(0);

	event_base_dispatch(ml_base);

	log_info("exiting");
	notify_close();
	sched_stop();
	control_close();
	http_close();
	fds_stop();
	prune_stop();
	mem_stop();
	spare_shutdown();
	launcher_stop();
	runs_free_queued();
	run_output_flush_all();
	record_shutdown();
	watch_stop();
	metrics_stop();
	notice_stop();
	db_close();
	tasks_install(NULL);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_chld);
	event_base_free(ml_base);
	if (pid_pfh != NULL)
		pidfile_remove(pid_pfh);
	pidfile_remove(lock_pfh);
	config_free(ml_conf);
	free(opts.config);
	free(opts.tasks_dir);
	free(opts.state_dir);
	free(opts.socket);
	free(opts.pidfile);
	return (0);
}
