/* A run's processes: start, time out, kill, how it ended (its life: runs.c). */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"

#define DEFAULT_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
			"/sbin:/bin"

/*
 * A run is active from its start until its main process exits; then it
 * has ended (its status is recorded and its slot is free) but may still be
 * ending: what it left behind is being killed and their output stored.
 */
static struct runs	 runs_active = TAILQ_HEAD_INITIALIZER(runs_active);
static struct runs	 runs_ending = TAILQ_HEAD_INITIALIZER(runs_ending);
static u_int		 runs_nactive;
static u_int		 runs_nending;

static void	run_shim_gone(struct run *);
static void	run_kill_orphans(void);

/* An empty run: no process, no descriptor, no output yet. */
static struct run *
run_alloc(void)
{
	struct run	*r;

	r = xcalloc(1, sizeof *r);
	r->ctl_fd = r->out_fd = r->err_fd = -1;
	r->last_newline = 1;
	TAILQ_INIT(&r->pending);
	TAILQ_INIT(&r->followers);
	return (r);
}

/* A new queued run of a task; params (normalised) are taken over. */
struct run *
run_create(const char *task, int priority, enum run_trigger trigger,
    const char *by, json_t *params)
{
	struct run	*r;

	r = run_alloc();
	r->rec.task = xstrdup(task);
	r->rec.status = RUN_QUEUED;
	r->rec.trigger = trigger;
	r->rec.triggered_by = xstrdup(by);
	r->rec.params = params != NULL ? params : json_object();
	r->rec.attempt = 1;
	r->rec.queued_at = time_now_ms();
	r->rec.exit_code = -1;
	r->rec.priority = priority;
	return (r);
}

/* A run loaded from the database; the record's contents are taken over. */
struct run *
run_from_record(struct runrec *rec)
{
	struct run	*r;

	r = run_alloc();
	r->rec = *rec;
	return (r);
}

/* Free a run that has no process, no follower and no list left. */
void
run_free(struct run *r)
{
	if (r->ev_ctl != NULL)
		event_free(r->ev_ctl);
	if (r->ev_out != NULL)
		event_free(r->ev_out);
	if (r->ev_err != NULL)
		event_free(r->ev_err);
	if (r->ev_timeout != NULL)
		event_free(r->ev_timeout);
	if (r->ev_kill != NULL)
		event_free(r->ev_kill);
	if (r->ev_giveup != NULL)
		event_free(r->ev_giveup);
	if (r->ctl_fd != -1)
		close(r->ctl_fd);
	if (r->out_fd != -1)
		close(r->out_fd);
	if (r->err_fd != -1)
		close(r->err_fd);
	run_output_free(r);
	if (r->task != NULL)
		task_unref(r->task);
	free(r->exec_error);
	free(r->kill_reason);
	free(r->note);
	free(r->input);
	json_decref(r->headers);
	runrec_clear(&r->rec);
	free(r);
}

/* Number of runs holding a slot (running). */
u_int
run_active_count(void)
{
	return (runs_nactive);
}

/* Number of ended runs whose leftover processes are still being killed. */
u_int
run_ending_count(void)
{
	return (runs_nending);
}

/* Number of running runs of a task (they hold its @concurrency). */
u_int
run_task_count(const char *name)
{
	struct run	*r;
	u_int		 n = 0;

	TAILQ_FOREACH(r, &runs_active, entry) {
		if (strcmp(r->rec.task, name) == 0)
			n++;
	}
	return (n);
}

/* The id of the longest running run of a task, or 0. */
int64_t
run_task_oldest(const char *name)
{
	struct run	*r;

	TAILQ_FOREACH(r, &runs_active, entry) {
		if (strcmp(r->rec.task, name) == 0)
			return (r->rec.id);
	}
	return (0);
}

/* Append "KEY=VALUE" to an environment, replacing an earlier KEY. */
static void
run_env_set(char ***envp, u_int *n, const char *key, const char *value)
{
	size_t	 klen = strlen(key);
	u_int	 i;
	char	*entry;

	xasprintf(&entry, "%s=%s", key, value);
	for (i = 0; i < *n; i++) {
		if (strncmp((*envp)[i], key, klen) == 0 &&
		    (*envp)[i][klen] == '=') {
			free((*envp)[i]);
			(*envp)[i] = entry;
			return;
		}
	}
	*envp = xreallocarray(*envp, *n + 2, sizeof **envp);
	(*envp)[(*n)++] = entry;
	(*envp)[*n] = NULL;
}

/* Free a NULL-terminated array of strings. */
static void
run_strv_free(char **v)
{
	u_int	 i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* For a chained run: the run that chained it, its task and its status. */
static void
run_env_chain(char ***envp, u_int *n, int64_t id)
{
	const struct runrec	*pending;
	struct runrec		 rec;
	char			 buf[32];

	snprintf(buf, sizeof buf, "%lld", (long long)id);
	run_env_set(envp, n, "MICROLIGHT_CHAIN_RUN_ID", buf);
	if ((pending = record_pending(id)) != NULL) {
		run_env_set(envp, n, "MICROLIGHT_CHAIN_TASK", pending->task);
		run_env_set(envp, n, "MICROLIGHT_CHAIN_STATUS",
		    proto_status_name(pending->status));
	} else if (db_run_load(id, &rec) == 0) {
		run_env_set(envp, n, "MICROLIGHT_CHAIN_TASK", rec.task);
		run_env_set(envp, n, "MICROLIGHT_CHAIN_STATUS",
		    proto_status_name(rec.status));
		runrec_clear(&rec);
	}
}

/*
 * The environment of SPEC section 2: PATH, HOME, USER, LANG and TZ from the
 * daemon (HOME and USER of the @user), the @env lines, the parameters, and
 * the MICROLIGHT_ variables (with MICROLIGHT_CHAIN_ ones for a chained
 * run; MICROLIGHT_URL, the run's page, when there is one). Nothing else of the daemon's leaks through.
 */
static char **
run_environment(struct run *r, const struct passwd *pw)
{
	const struct taskdef	*def = r->task->def;
	const char		*v, *key, *eq, *url;
	char			**env = NULL, buf[32], *k, *page;
	u_int			 n = 0, i;
	json_t			*value, *notice;

	env = xcalloc(1, sizeof *env);
	v = getenv("PATH");
	run_env_set(&env, &n, "PATH", v != NULL && *v != '\0' ? v :
	    DEFAULT_PATH);
	if (pw != NULL) {
		run_env_set(&env, &n, "HOME", pw->pw_dir);
		run_env_set(&env, &n, "USER", pw->pw_name);
	} else {
		if ((v = getenv("HOME")) != NULL)
			run_env_set(&env, &n, "HOME", v);
		if ((v = getenv("USER")) != NULL)
			run_env_set(&env, &n, "USER", v);
	}
	if ((v = getenv("LANG")) != NULL)
		run_env_set(&env, &n, "LANG", v);
	if ((v = getenv("TZ")) != NULL)
		run_env_set(&env, &n, "TZ", v);
	for (i = 0; i < def->nenv; i++) {
		eq = strchr(def->env[i], '=');
		k = xstrndup(def->env[i], eq - def->env[i]);
		run_env_set(&env, &n, k, eq + 1);
		free(k);
	}
	json_object_foreach(r->rec.params, key, value) {
		if (json_is_string(value))
			run_env_set(&env, &n, key, json_string_value(value));
	}
	snprintf(buf, sizeof buf, "%lld", (long long)r->rec.id);
	run_env_set(&env, &n, "MICROLIGHT_RUN_ID", buf);
	run_env_set(&env, &n, "MICROLIGHT_TASK", r->rec.task);
	run_env_set(&env, &n, "MICROLIGHT_TRIGGER",
	    proto_trigger_name(r->rec.trigger));
	run_env_set(&env, &n, "MICROLIGHT_TRIGGERED_BY", r->rec.triggered_by);
	snprintf(buf, sizeof buf, "%d", r->rec.attempt);
	run_env_set(&env, &n, "MICROLIGHT_ATTEMPT", buf);
	if ((url = http_listen_public_url()) != NULL) {
		xasprintf(&page, "%s/runs/%lld", url, (long long)r->rec.id);
		run_env_set(&env, &n, "MICROLIGHT_URL", page);
		free(page);
	}
	if (r->rec.chain_of != 0)
		run_env_chain(&env, &n, r->rec.chain_of);
	/* A webhook's @webhook-header headers (its retry's too). */
	json_object_foreach(r->headers, key, value) {
		if (json_is_string(value))
			run_env_set(&env, &n, key, json_string_value(value));
	}
	if (r->rec.notice != 0 && (notice = notice_env(r->rec.notice)) !=
	    NULL) {
		json_object_foreach(notice, key, value)
			run_env_set(&env, &n, key, json_string_value(value));
		json_decref(notice);
	}
	return (env);
}

/* Record why a run could not start and finish it as failed. */
static void __attribute__((format(printf, 2, 3)))
run_fail_start(struct run *r, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	free(r->exec_error);
	xvasprintf(&r->exec_error, fmt, ap);
	va_end(ap);
	r->flags |= RUN_EXEC_FAILED | RUN_SHIM_EXITED;
	run_progress(r);
}

/* Send a one-byte command to a run's supervisor. */
static void
run_command(struct run *r, char cmd)
{
	if (r->ctl_fd == -1)
		return;
	if (send(r->ctl_fd, &cmd, 1, MSG_NOSIGNAL) != 1)
		log_warn("%s[%lld]: telling the supervisor", r->rec.task,
		    (long long)r->rec.id);
}

/* kill-grace is over: SIGKILL to every process of the run. */
static void
run_kill_cb(int fd, short events, void *arg)
{
	struct run	*r = arg;

	log_info("%s[%lld]: still running %lld s after SIGTERM, sending "
	    "SIGKILL", r->rec.task, (long long)r->rec.id,
	    (long long)ml_conf->kill_grace);
	run_command(r, SPAWN_CMD_KILL);
}

/* Even SIGKILL did not end the run: finish it without its processes. */
static void
run_giveup_cb(int fd, short events, void *arg)
{
	struct run	*r = arg;

	log_warnx("%s[%lld]: processes survive SIGKILL, finishing the run "
	    "without them", r->rec.task, (long long)r->rec.id);
	run_force_finish(r);
}

/* Arm the SIGKILL and give-up timers after a SIGTERM. */
static void
run_arm_kill(struct run *r)
{
	struct timeval	 tv;

	if (evtimer_pending(r->ev_kill, NULL))
		return;
	tv.tv_sec = ml_conf->kill_grace;
	tv.tv_usec = 0;
	evtimer_add(r->ev_kill, &tv);
	tv.tv_sec += GIVEUP_MS / 1000;
	evtimer_add(r->ev_giveup, &tv);
}

/*
 * End a run early: SIGTERM and SIGCONT to all its processes now, SIGKILL
 * after kill-grace. The status it will end with is status (timed_out or
 * cancelled). A run whose script already exited is being torn down anyway
 * and keeps its own status.
 */
void
run_kill(struct run *r, enum run_status status, const char *reason)
{
	if (r->flags & (RUN_KILLING | RUN_MAIN_EXITED | RUN_ENDED))
		return;
	r->flags |= RUN_KILLING;
	r->kill_status = status;
	r->kill_reason = xstrdup(reason);
	log_info("%s[%lld]: %s: sending SIGTERM", r->rec.task,
	    (long long)r->rec.id, reason);
	if (r->ev_timeout != NULL)
		evtimer_del(r->ev_timeout);
	run_command(r, SPAWN_CMD_TERM);
	run_arm_kill(r);
}

/* The timeout fired. */
static void
run_timeout_cb(int fd, short events, void *arg)
{
	struct run	*r = arg;
	char		 buf[32], *reason;

	duration_format(task_timeout(r->task), buf, sizeof buf);
	xasprintf(&reason, "timed out after %s", buf);
	run_kill(r, RUN_TIMED_OUT, reason);
	free(reason);
}


/* A description of a supervisor's report of a failed start. */
static void
run_exec_failed(struct run *r, const struct spawn_msg *msg)
{
	const char	*what;

	switch (msg->stage) {
	case STAGE_CHDIR:
		what = "cannot change to the working directory";
		break;
	case STAGE_USER:
		what = "cannot switch to the task's user";
		break;
	case STAGE_SETUP:
		what = "cannot set up the process";
		break;
	default:
		what = "cannot execute the task file";
		break;
	}
	free(r->exec_error);
	xasprintf(&r->exec_error, "%s: %s", what, strerror(msg->value));
	r->flags |= RUN_EXEC_FAILED;
	log_warnx("%s[%lld]: %s", r->rec.task, (long long)r->rec.id,
	    r->exec_error);
}

/* Read the supervisor's messages. */
static void
run_ctl_read(struct run *r)
{
	struct spawn_msg	 msg;
	ssize_t			 n;

	while (r->ctl_fd != -1) {
		n = recv(r->ctl_fd, &msg, sizeof msg, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n != (ssize_t)sizeof msg) {
			/* EOF: the supervisor has exited. */
			event_del(r->ev_ctl);
			close(r->ctl_fd);
			r->ctl_fd = -1;
			run_shim_gone(r);
			return;
		}
		switch (msg.type) {
		case SPAWN_EXEC_OK:
			r->main_pid = msg.value;
			log_debug("%s[%lld]: started pid %d", r->rec.task,
			    (long long)r->rec.id, (int)r->main_pid);
			break;
		case SPAWN_EXEC_FAILED:
			run_exec_failed(r, &msg);
			break;
		case SPAWN_EXITED:
			r->flags |= RUN_MAIN_EXITED;
			r->wstatus = msg.value;
			r->main_exit_ms = time_now_ms();
			if (r->ev_timeout != NULL)
				evtimer_del(r->ev_timeout);
			/* Leftovers got SIGTERM; SIGKILL after kill-grace. */
			run_arm_kill(r);
			break;
		case SPAWN_DONE:
			/*
			 * Every process of the run is gone: the supervisor is
			 * done with it and may take another run (spare.c).
			 */
			r->flags |= RUN_SHIM_DONE;
			event_del(r->ev_ctl);
			spare_recycle(r->pid, r->ctl_fd);
			r->ctl_fd = -1;
			run_shim_gone(r);
			return;
		}
	}
}

/* The supervisor's socket is readable. */
static void
run_ctl_cb(int fd, short events, void *arg)
{
	struct run	*r = arg;

	run_ctl_read(r);
	run_progress(r);
}

/* Look up the @user account and its groups for the supervisor. */
static int
run_user(struct run *r, struct spawn *sp, struct passwd **pwp)
{
	struct passwd	*pw;
	int		 ngroups = 64;

	*pwp = NULL;
	if (r->task->def->user == NULL)
		return (0);
	if ((pw = getpwnam(r->task->def->user)) == NULL) {
		run_fail_start(r, "@user: unknown user '%s'",
		    r->task->def->user);
		return (-1);
	}
	*pwp = pw;
	if (pw->pw_uid == geteuid() && pw->pw_gid == getegid())
		return (0);
	if (geteuid() != 0) {
		run_fail_start(r, "@user %s needs microlightd to run as root",
		    pw->pw_name);
		return (-1);
	}
	sp->change_user = 1;
	sp->uid = pw->pw_uid;
	sp->gid = pw->pw_gid;
	sp->username = pw->pw_name;
	sp->groups = xreallocarray(NULL, ngroups, sizeof *sp->groups);
	if (getgrouplist(pw->pw_name, pw->pw_gid, sp->groups, &ngroups) ==
	    -1) {
		sp->groups = xreallocarray(sp->groups, ngroups,
		    sizeof *sp->groups);
		getgrouplist(pw->pw_name, pw->pw_gid, sp->groups, &ngroups);
	}
	sp->ngroups = ngroups;
	return (0);
}

/*
 * Start a queued run of t, the task as it is now (NULL: it is gone): its
 * environment, its supervisor. On failure the run ends as failed, and is
 * freed: the caller must not touch it.
 */
int
run_start(struct run *r, struct task *t)
{
	struct spawn	 sp;
	struct passwd	*pw;
	struct timeval	 tv;
	char		*argv[2], *workdir;
	int64_t		 timeout;
	int		 recorded;

	/* A run submitted into a free slot was recorded as running already. */
	recorded = r->rec.status == RUN_RUNNING;
	if (!recorded) {
		r->rec.status = RUN_RUNNING;
		r->rec.started_at = time_now_ms();
	}
	TAILQ_INSERT_TAIL(&runs_active, r, entry);
	runs_nactive++;

	if (t == NULL) {
		run_fail_start(r, "the task no longer exists");
		return (-1);
	}
	task_ref(t);
	r->task = t;
	if (!task_valid(t)) {
		run_fail_start(r, "the task file is invalid: %s",
		    t->errors != NULL ? t->errors[0] : "unreadable");
		return (-1);
	}
	memset(&sp, 0, sizeof sp);
	if (run_user(r, &sp, &pw) != 0) {
		free(sp.groups);
		return (-1);
	}
	workdir = task_workdir(t);
	argv[0] = t->path;
	argv[1] = NULL;
	sp.path = t->exec_path;
	sp.argv = argv;
	/*
	 * A webhook's body is the run's stdin: in memory when the run starts
	 * at once, else kept in the database (a retry reads its first run's).
	 */
	if (r->input == NULL && (r->rec.trigger == TRIGGER_WEBHOOK ||
	    r->rec.trigger == TRIGGER_RETRY) &&
	    db_run_input_get(r->rec.retry_of != 0 ? r->rec.retry_of :
	    r->rec.id, &r->input, &r->input_len, &r->headers) == -1)
		log_warnx("%s[%lld]: its input could not be read: it gets "
		    "none", r->rec.task, (long long)r->rec.id);
	/* A notifier's: the end of the output of the run it is told of. */
	if (r->input == NULL && r->rec.notice != 0 &&
	    notice_input(r->rec.notice, &r->input, &r->input_len) == -1)
		log_warnx("%s[%lld]: its notice could not be read",
		    r->rec.task, (long long)r->rec.id);
	sp.envp = run_environment(r, pw);
	sp.workdir = workdir;
	sp.kill_grace_ms = ml_conf->kill_grace * 1000;
	sp.input = r->input;
	sp.input_len = r->input_len;

	/* Recorded as running before it starts: a crash then reads "lost". */
	if (!recorded && db_run_update(&r->rec) != 0) {
		run_strv_free(sp.envp);
		free(sp.groups);
		free(workdir);
		run_fail_start(r, "cannot record the run's start");
		return (-1);
	}
	r->pid = spare_start(&sp, &r->ctl_fd, &r->out_fd, &r->err_fd);
	free(r->input);		/* the supervisor has it now */
	r->input = NULL;
	run_strv_free(sp.envp);
	free(sp.groups);
	free(workdir);
	if (r->pid == -1) {
		run_fail_start(r, "cannot start the supervisor: %s",
		    strerror(errno));
		return (-1);
	}

	r->ev_ctl = event_new(ml_base, r->ctl_fd, EV_READ | EV_PERSIST,
	    run_ctl_cb, r);
	r->ev_out = event_new(ml_base, r->out_fd, EV_READ | EV_PERSIST,
	    run_output_pipe_cb, r);
	r->ev_err = event_new(ml_base, r->err_fd, EV_READ | EV_PERSIST,
	    run_output_pipe_cb, r);
	r->ev_kill = evtimer_new(ml_base, run_kill_cb, r);
	r->ev_giveup = evtimer_new(ml_base, run_giveup_cb, r);
	event_add(r->ev_ctl, NULL);
	event_add(r->ev_out, NULL);
	event_add(r->ev_err, NULL);
	if ((timeout = task_timeout(t)) > 0) {
		r->ev_timeout = evtimer_new(ml_base, run_timeout_cb, r);
		tv.tv_sec = timeout;
		tv.tv_usec = 0;
		evtimer_add(r->ev_timeout, &tv);
	}
	log_info("%s[%lld]: started by %s (%s)", r->rec.task,
	    (long long)r->rec.id, r->rec.triggered_by,
	    proto_trigger_name(r->rec.trigger));
	follow_run_status(r);
	return (0);
}

/* Decide the final status from what is known about the run's end. */
static void
run_decide(struct run *r)
{
	struct runrec	*rec = &r->rec;
	char		*reason;

	if (r->flags & RUN_MAIN_EXITED) {
		if (WIFEXITED(r->wstatus))
			rec->exit_code = WEXITSTATUS(r->wstatus);
		else if (WIFSIGNALED(r->wstatus))
			rec->signal = WTERMSIG(r->wstatus);
	}
	free(rec->reason);
	rec->reason = NULL;
	if (r->flags & RUN_KILLING) {
		rec->status = r->kill_status;
		rec->reason = xstrdup(r->kill_reason);
	} else if (r->flags & RUN_EXEC_FAILED) {
		rec->status = RUN_FAILED;
		rec->exit_code = -1;
		rec->reason = xstrdup(r->exec_error);
	} else if ((r->flags & RUN_MAIN_EXITED) == 0) {
		rec->status = RUN_FAILED;
		rec->reason = xstrdup("the run's supervisor process died");
	} else if (rec->exit_code == 0)
		rec->status = RUN_SUCCEEDED;
	else {
		rec->status = RUN_FAILED;
		if (rec->signal != 0)
			xasprintf(&rec->reason, "killed by signal %d (%s)",
			    rec->signal, strsignal(rec->signal));
		else
			xasprintf(&rec->reason, "exit code %d",
			    rec->exit_code);
	}
	if (r->note != NULL && rec->reason != NULL) {
		xasprintf(&reason, "%s; %s", rec->reason, r->note);
		free(rec->reason);
		rec->reason = reason;
	} else if (r->note != NULL)
		rec->reason = xstrdup(r->note);
	rec->finished_at = r->main_exit_ms != 0 ? r->main_exit_ms :
	    time_now_ms();
}

/*
 * The main process is gone (or its supervisor is): the run ends with its
 * status now. Its output so far and its record are written together, its
 * slot is given back, and runs_end does what follows every end. What it
 * left behind is still being killed; the run waits for that in the ending
 * list.
 */
static void
run_end(struct run *r)
{
	struct chunk	*marker = NULL;

	r->flags |= RUN_ENDED;
	run_output_drain(r);
	run_decide(r);

	if (r->rec.output_dropped == 0 && db_begin() == 0 &&
	    run_output_write_pending(r) == 0 && db_run_update(&r->rec) == 0 &&
	    db_commit() == 0)
		run_output_pending_done(r, 1);
	else {
		/*
		 * Output is missing, or the database refused the lot: the
		 * output on its own, then the record (kept if refused), with
		 * the marker once all the output is in.
		 */
		db_rollback();
		run_output_flush_one(r);
		if (r->out_fd == -1 && r->err_fd == -1)
			marker = run_output_mark_dropped(r);
		record_write(&r->rec, marker);
	}
	r->flags |= RUN_RECORDED;
	r->end_size = r->rec.output_size;

	TAILQ_REMOVE(&runs_active, r, entry);
	runs_nactive--;
	TAILQ_INSERT_TAIL(&runs_ending, r, entry);
	runs_nending++;
	runs_end(r);
}

/*
 * Every process of an ended run is gone: store its last output and, if
 * that changed it, its record (a kept one that did not change is written
 * by record.c's timer), then free it.
 */
static void
run_release(struct run *r)
{
	struct chunk	*marker;

	run_output_flush_one(r);
	marker = run_output_mark_dropped(r);
	if (marker != NULL || r->rec.output_size != r->end_size)
		record_write(&r->rec, marker);
	TAILQ_REMOVE(&runs_ending, r, entry);
	runs_nending--;
	run_free(r);
	daemon_maybe_exit();
}

/*
 * Move a run along after anything happened to it: it ends when its main
 * process (or its supervisor) is gone, and is released when the supervisor
 * and both pipes are. The run may be freed: callers must not touch it.
 */
void
run_progress(struct run *r)
{
	if ((r->flags & RUN_ENDED) == 0 &&
	    (r->flags & (RUN_MAIN_EXITED | RUN_SHIM_EXITED)))
		run_end(r);
	if ((r->flags & RUN_ENDED) && (r->flags & RUN_SHIM_EXITED) &&
	    r->out_fd == -1 && r->err_fd == -1)
		run_release(r);
}

/* Finish a run without waiting for its processes (they resist SIGKILL). */
void
run_force_finish(struct run *r)
{
	run_output_close_pipes(r);
	r->flags |= RUN_SHIM_EXITED;
	run_progress(r);
}

/* Add the supervisors that live of one list. */
static void
run_list_shims(struct runs *list, pid_t **shims, u_int *n)
{
	struct run	*r;

	TAILQ_FOREACH(r, list, entry) {
		if (r->flags & RUN_SHIM_EXITED)
			continue;
		*shims = xreallocarray(*shims, *n + 1, sizeof **shims);
		(*shims)[(*n)++] = r->pid;
	}
}

/*
 * Kill what a dead supervisor left, if it was re-parented to the daemon:
 * its descendants outside every live supervisor, spare and the launcher.
 */
static void
run_kill_orphans(void)
{
	pid_t	*shims = NULL;
	u_int	 nshims = 0;

	run_list_shims(&runs_active, &shims, &nshims);
	run_list_shims(&runs_ending, &shims, &nshims);
	nshims = spare_pids(&shims, nshims);
	if (launcher_pid() != -1) {
		shims = xreallocarray(shims, nshims + 1, sizeof *shims);
		shims[nshims++] = launcher_pid();
	}
	proc_signal_descendants(getpid(), SIGKILL, shims, nshims);
	free(shims);
}

/*
 * The supervisor has exited (its socket reached EOF). It exits only once
 * all the run's processes are gone, so the pipes can be drained to the end
 * now; without its last word (SPAWN_DONE) it died, and what it left is
 * killed (by the launcher, the subreaper above it, or here).
 */
static void
run_shim_gone(struct run *r)
{
	r->flags |= RUN_SHIM_EXITED;
	if ((r->flags & RUN_SHIM_DONE) == 0) {
		log_warnx("%s[%lld]: the supervisor (pid %d) died", r->rec.task,
		    (long long)r->rec.id, (int)r->pid);
		run_kill_orphans();
	}
	run_output_close_pipes(r);
}

/* Shutdown: every running run is cancelled ("daemon shutdown"). */
void
run_shutdown(void)
{
	struct run	*r, *r1;

	TAILQ_FOREACH_SAFE(r, &runs_active, entry, r1)
		run_kill(r, RUN_CANCELLED, "daemon shutdown");
}
