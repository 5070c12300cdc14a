/* tasks.d: scan the directory, parse each task file, swap sets on reload. */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "microlightd.h"

static struct taskset	*tasks_live;

/* Order tasks by name, then by file name (two files may claim a name). */
static int
task_cmp(struct task *a, struct task *b)
{
	int	 c;

	if ((c = strcmp(a->name, b->name)) != 0)
		return (c);
	return (strcmp(a->file, b->file));
}
RB_GENERATE(task_tree, task, entry, task_cmp);

/* Record a problem with a task: "file[:line]: message". */
static void __attribute__((format(printf, 3, 4)))
task_problem(struct task *t, int line, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	t->errors = xreallocarray(t->errors, t->nerrors + 1,
	    sizeof *t->errors);
	if (line > 0)
		xasprintf(&t->errors[t->nerrors], "%s:%d: %s", t->path, line,
		    msg);
	else
		xasprintf(&t->errors[t->nerrors], "%s: %s", t->path, msg);
	t->nerrors++;
	free(msg);
}

/* Free a task once nothing refers to it. */
static void
task_free(struct task *t)
{
	u_int	 i;

	free(t->name);
	free(t->file);
	free(t->path);
	free(t->exec_path);
	taskdef_free(t->def);
	for (i = 0; i < t->nerrors; i++)
		free(t->errors[i]);
	free(t->errors);
	free(t->line.text);
	free(t);
}

/* Take a reference to a task (a run holds one while it lives). */
void
task_ref(struct task *t)
{
	t->references++;
}

/* Drop a reference; the last one frees the task. */
void
task_unref(struct task *t)
{
	if (--t->references == 0)
		task_free(t);
}

/* A task's working directory: @workdir (relative to tasks.d), else tasks.d. */
char *
task_workdir(const struct task *t)
{
	char	*dir;

	if (t->def == NULL || t->def->workdir == NULL)
		return (xstrdup(ml_conf->tasks_dir));
	if (t->def->workdir[0] == '/')
		return (xstrdup(t->def->workdir));
	xasprintf(&dir, "%s/%s", ml_conf->tasks_dir, t->def->workdir);
	return (dir);
}

/* Whether a task may run. */
int
task_valid(const struct task *t)
{
	return (t->nerrors == 0 && t->def != NULL);
}

/* The timeout of a task in seconds: @timeout, else default-timeout; 0 none. */
int64_t
task_timeout(const struct task *t)
{
	if (t->def != NULL && t->def->timeout >= 0)
		return (t->def->timeout);
	return (ml_conf->default_timeout);
}

/*
 * The trust rules for a file (or the tasks directory) when the daemon runs
 * as root, after cronie's: owned by root (or the daemon's user) and
 * writable by nobody else, and, for a file, one name only (a hard link
 * could be changed through a name elsewhere). Returns the reason it is
 * refused, or NULL.
 */
static const char *
task_untrusted(const struct stat *sb, int file)
{
	static char	 why[128];

	if (sb->st_uid != 0 && sb->st_uid != geteuid()) {
		snprintf(why, sizeof why, "owned by uid %lu, not by root",
		    (u_long)sb->st_uid);
		return (why);
	}
	if (sb->st_mode & (S_IWGRP | S_IWOTH))
		return ("writable by its group or by others (chmod go-w)");
	if (file && sb->st_nlink > 1) {
		snprintf(why, sizeof why, "a hard link (%lu names): copy it "
		    "instead", (u_long)sb->st_nlink);
		return (why);
	}
	return (NULL);
}

/*
 * The file a task runs: the task file itself, or where its symlink points,
 * which as root must be inside the tasks directory. Returns an allocated
 * path, or NULL with a problem recorded.
 */
static char *
task_exec_path(struct task *t, const char *dir_real)
{
	struct stat	 sb;
	char		*real;
	size_t		 len = strlen(dir_real);

	if (lstat(t->path, &sb) == -1) {
		task_problem(t, 0, "cannot stat: %s", strerror(errno));
		return (NULL);
	}
	if (!S_ISLNK(sb.st_mode) || geteuid() != 0)
		return (xstrdup(t->path));
	if ((real = realpath(t->path, NULL)) == NULL) {
		task_problem(t, 0, "a symlink to nowhere: %s", strerror(errno));
		return (NULL);
	}
	if (strncmp(real, dir_real, len) != 0 || real[len] != '/') {
		task_problem(t, 0, "refused: a symlink pointing outside the "
		    "tasks directory (to %s)", real);
		free(real);
		return (NULL);
	}
	return (real);
}

/*
 * Read and parse one file. The file is opened without blocking (a FIFO
 * must not hang the daemon) and without following a symlink, and checked
 * through its descriptor; as root, it must pass the trust rules. What was
 * checked (device and inode) is kept, for the run's start to compare.
 */
static void
task_load(struct task *t, const char *dir_real)
{
	struct stat	 sb;
	const char	*why;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;
	u_int		 i;
	struct passwd	*pw;

	if ((t->exec_path = task_exec_path(t, dir_real)) == NULL)
		return;
	if ((fd = open(t->exec_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY | (geteuid() == 0 ? O_NOFOLLOW : 0))) == -1) {
		task_problem(t, 0, "cannot open: %s", strerror(errno));
		return;
	}
	if (fstat(fd, &sb) == -1) {
		task_problem(t, 0, "cannot stat: %s", strerror(errno));
		close(fd);
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		task_problem(t, 0, "not a regular file");
		close(fd);
		return;
	}
	if (geteuid() == 0 && (why = task_untrusted(&sb, 1)) != NULL) {
		task_problem(t, 0, "refused: %s", why);
		close(fd);
		return;
	}
	t->dev = sb.st_dev;
	t->ino = sb.st_ino;
	buf = xmalloc(ML_HEADER_MAX);
	while (len < ML_HEADER_MAX) {
		n = read(fd, buf + len, ML_HEADER_MAX - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			task_problem(t, 0, "cannot read: %s", strerror(errno));
			free(buf);
			close(fd);
			return;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);

	t->def = taskfile_parse(buf, len);
	free(buf);
	for (i = 0; i < t->def->nerrors; i++)
		task_problem(t, t->def->errors[i].line, "%s",
		    t->def->errors[i].msg);
	if ((sb.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
		task_problem(t, 0, "not executable (chmod +x to enable it)");
	if (t->def->user != NULL) {
		if ((pw = getpwnam(t->def->user)) == NULL)
			task_problem(t, t->def->user_line, "@user: unknown "
			    "user '%s'", t->def->user);
		else if (geteuid() != 0 && pw->pw_uid != geteuid())
			task_problem(t, t->def->user_line, "@user %s needs "
			    "microlightd to run as root", t->def->user);
	}
}

/*
 * A task whose schedules are read in the daemon's zone needs that zone: an
 * unknown $TZ makes it invalid (never a silent UTC), naming the zone.
 */
static void
task_check_zone(struct task *t, const char *zone_cause)
{
	u_int	 i;

	if (zone_cause == NULL || t->def == NULL || t->def->timezone != NULL)
		return;
	for (i = 0; i < t->def->nschedules; i++) {
		if (strcasecmp(t->def->schedules[i].expr, "@reboot") != 0) {
			task_problem(t, t->def->schedules[i].line, "@schedule: "
			    "the daemon's time zone: %s (set @timezone, or TZ "
			    "for microlightd)", zone_cause);
			return;
		}
	}
}

/*
 * Before a run starts: is the file still the one that was checked (same
 * device and inode, same trust)? Returns NULL, or why not.
 */
const char *
task_recheck(const struct task *t)
{
	struct stat	 sb;
	const char	*why;

	if (geteuid() == 0 && stat(ml_conf->tasks_dir, &sb) == 0 &&
	    task_untrusted(&sb, 0) != NULL)
		return ("the tasks directory is no longer trusted");
	if (stat(t->exec_path, &sb) == -1)
		return ("the task file is gone");
	if (sb.st_dev != t->dev || sb.st_ino != t->ino)
		return ("the task file was replaced since it was read");
	if (geteuid() == 0 && (why = task_untrusted(&sb, 1)) != NULL)
		return (why);
	return (NULL);
}

/* A task of a set by name (the first file if several). */
static struct task *
tasks_lookup(struct taskset *set, const char *name)
{
	struct task	 key, *t;

	key.name = (char *)name;
	key.file = "";
	t = RB_NFIND(task_tree, &set->tree, &key);
	if (t == NULL || strcmp(t->name, name) != 0)
		return (NULL);
	return (t);
}

/*
 * @on-success and @on-failure must name a task of the set, one that a
 * chained run (which brings no parameters) can start.
 */
static void
tasks_check_chain(struct taskset *set, struct task *t, const char *what,
    const char *target, int line)
{
	struct task	*to;
	u_int		 i;

	if (target == NULL)
		return;
	if ((to = tasks_lookup(set, target)) == NULL) {
		task_problem(t, line, "@%s: no task named '%s'", what, target);
		return;
	}
	if (to->def == NULL)
		return;
	for (i = 0; i < to->def->nparams; i++) {
		if (to->def->params[i].required) {
			task_problem(t, line, "@%s: task '%s' has a required "
			    "parameter (%s), and a chained run has none", what,
			    target, to->def->params[i].name);
			return;
		}
	}
}

/* Scan a tasks directory into a new set. Never fails: problems go on the tasks. */
struct taskset *
tasks_scan(const char *dir)
{
	struct taskset	*set;
	struct task	*t, *other, key;
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	struct tz	*zone;
	char		 name[ML_NAME_MAX + 1], *dir_real, *zone_cause = NULL;
	const char	*errstr, *dir_problem;

	set = xcalloc(1, sizeof *set);
	RB_INIT(&set->tree);
	if ((d = opendir(dir)) == NULL) {
		log_warn("tasks directory %s", dir);
		return (set);
	}
	/* As root, the directory itself must be trusted too. */
	dir_problem = NULL;
	if (geteuid() == 0 && fstat(dirfd(d), &sb) == 0)
		dir_problem = task_untrusted(&sb, 0);
	if ((dir_real = realpath(dir, NULL)) == NULL)
		dir_real = xstrdup(dir);
	while ((de = readdir(d)) != NULL) {
		if (taskfile_ignored(de->d_name))
			continue;
		if (de->d_type == DT_DIR || (de->d_type == DT_UNKNOWN &&
		    fstatat(dirfd(d), de->d_name, &sb, 0) == 0 &&
		    S_ISDIR(sb.st_mode)))
			continue;	/* a directory (say lib/) is not a task */
		t = xcalloc(1, sizeof *t);
		t->file = xstrdup(de->d_name);
		xasprintf(&t->path, "%s/%s", dir, de->d_name);
		t->references = 1;
		if (taskfile_name(de->d_name, name, sizeof name, &errstr) != 0) {
			t->name = xstrdup(de->d_name);
			task_problem(t, 0, "%s", errstr);
		} else if (dir_problem != NULL) {
			t->name = xstrdup(name);
			task_problem(t, 0, "refused: the tasks directory %s is "
			    "%s", dir, dir_problem);
		} else {
			t->name = xstrdup(name);
			task_load(t, dir_real);
		}
		if (RB_INSERT(task_tree, &set->tree, t) != NULL) {
			task_free(t);	/* same file twice: cannot happen */
			continue;
		}
		set->ntasks++;
	}
	closedir(d);
	free(dir_real);

	/* Two files giving one name: both are errors. */
	RB_FOREACH(t, task_tree, &set->tree) {
		key.name = t->name;
		key.file = "";
		for (other = RB_NFIND(task_tree, &set->tree, &key);
		    other != NULL && strcmp(other->name, t->name) == 0;
		    other = RB_NEXT(task_tree, &set->tree, other)) {
			if (other != t)
				task_problem(t, 0, "the task name '%s' is also "
				    "given by %s", t->name, other->file);
		}
	}
	if ((zone = tz_load(NULL, &zone_cause)) != NULL)
		tz_free(zone);
	RB_FOREACH(t, task_tree, &set->tree)
		task_check_zone(t, zone_cause);
	free(zone_cause);
	RB_FOREACH(t, task_tree, &set->tree) {
		if (t->def != NULL && t->nerrors == 0) {
			tasks_check_chain(set, t, "on-success",
			    t->def->on_success, t->def->on_success_line);
			tasks_check_chain(set, t, "on-failure",
			    t->def->on_failure, t->def->on_failure_line);
		}
	}
	RB_FOREACH(t, task_tree, &set->tree) {
		if (!task_valid(t))
			set->ninvalid++;
	}
	return (set);
}

/* Free a set; tasks still referenced by runs live on until those end. */
void
tasks_free(struct taskset *set)
{
	struct task	*t, *t1;

	if (set == NULL)
		return;
	RB_FOREACH_SAFE(t, task_tree, &set->tree, t1) {
		RB_REMOVE(task_tree, &set->tree, t);
		task_unref(t);
	}
	free(set);
}

/* The live set of tasks. */
struct taskset *
tasks_current(void)
{
	return (tasks_live);
}

/* Make a freshly scanned set the live one, logging its problems. */
void
tasks_install(struct taskset *set)
{
	struct task	*t;
	u_int		 i;

	if (set != NULL) {
		RB_FOREACH(t, task_tree, &set->tree) {
			for (i = 0; i < t->nerrors; i++)
				log_warnx("%s", t->errors[i]);
		}
	}
	tasks_free(tasks_live);
	tasks_live = set;
}

/* Find a task by name in the live set (the first file if several). */
struct task *
task_find(const char *name)
{
	if (tasks_live == NULL)
		return (NULL);
	return (tasks_lookup(tasks_live, name));
}

/*
 * Rescan tasks.d and swap the set in, and re-arm the schedules. An invalid
 * file only makes its own task invalid; the other tasks are as valid as
 * their own files.
 */
void
tasks_reload(void)
{
	struct taskset	*set;

	set = tasks_scan(ml_conf->tasks_dir);
	log_info("loaded %u tasks from %s (%u invalid)", set->ntasks,
	    ml_conf->tasks_dir, set->ninvalid);
	tasks_install(set);
	sched_load(0);
	notice_start();
}
