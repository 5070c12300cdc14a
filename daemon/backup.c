/*
 * Backup: a consistent copy of the database, made with SQLite's online
 * backup API a few pages per turn of the loop (runs go on meanwhile, their
 * changes carried into the copy), into a file in the state directory, then
 * passed to a consumer a chunk at a time, as fast as it sends them on: a
 * control client (microlightctl backup, which writes the copy where it was
 * asked to, with its own rights: the daemon writes nowhere a client names)
 * or an HTTP client (GET /api/v1/backup, api_backup.c).
 *
 * The copy's name is removed as soon as the copy is complete and open, so
 * whatever happens next (the client goes, the daemon stops or is killed)
 * nothing is left behind; a daemon killed while copying leaves a
 * backup-XXXXXX, removed at its next start (backup_cleanup).
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"

#define BACKUP_PAGES		64	/* pages copied per step */
#define BACKUP_READ		(64 * 1024) /* the most read at once */
/*
 * Backups at once, over both sockets: each holds a copy the size of the
 * database in the state directory and a descriptor or two (from fds.c's
 * slack). One more is refused with E_BUSY.
 */
#define BACKUP_MAX		2

struct backup {
	const struct backup_sink *sink;
	void			*arg;
	char			*who;
	char			*path;	/* the copy's name, until removed */
	struct db_backup	*db;	/* while the copy is made */
	struct event		*ev_step;
	int			 fd;	/* the copy, once made */
	int64_t			 size;
	int64_t			 sent;
};

static u_int	backup_count;

/* Forget a backup: its copy is closed and its name removed. */
static void
backup_free(struct backup *bk)
{
	if (bk->ev_step != NULL)
		event_free(bk->ev_step);
	db_backup_close(bk->db);
	if (bk->fd != -1)
		close(bk->fd);
	if (bk->path != NULL)
		unlink(bk->path);
	free(bk->path);
	free(bk->who);
	free(bk);
	backup_count--;
}

/* The backup failed: it is freed, then the consumer told why. */
static void
backup_fail(struct backup *bk, const char *cause)
{
	const struct backup_sink	*sink = bk->sink;
	void				*arg = bk->arg;

	log_warnx("backup for %s: %s", bk->who, cause);
	backup_free(bk);
	sink->failed(arg, cause);
}

/*
 * Pass the copy on while the consumer keeps up (it calls again when it
 * has drained); at the end of the file, the end, and the backup is freed.
 */
void
backup_pump(struct backup *bk)
{
	const struct backup_sink	*sink = bk->sink;
	void				*arg = bk->arg;
	u_char				 buf[BACKUP_READ];
	size_t				 want;
	ssize_t				 n;
	int64_t				 sent;

	if (bk->fd == -1)
		return;		/* still copying */
	want = sink->chunk < sizeof buf ? sink->chunk : sizeof buf;
	while (sink->pending(arg) < sink->high) {
		n = read(bk->fd, buf, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			backup_fail(bk, strerror(errno));
			return;
		}
		if (n == 0) {
			sent = bk->sent;
			log_info("backup for %s: %lld bytes sent", bk->who,
			    (long long)sent);
			backup_free(bk);
			sink->end(arg, sent);
			return;
		}
		bk->sent += n;
		sink->data(arg, buf, n);
	}
}

/*
 * Copy a few pages; when done, open the copy, remove its name, tell the
 * consumer how big it is and begin to pass it on.
 */
static void
backup_step_cb(int fd, short events, void *arg)
{
	struct backup	*bk = arg;
	struct timeval	 tv = { 0, 0 };
	struct stat	 sb;
	char		*cause, *why;
	int		 rc;

	rc = db_backup_step(bk->db, BACKUP_PAGES, &cause);
	if (rc == -1) {
		xasprintf(&why, "cannot make the copy in %s: %s",
		    ml_conf->state_dir, cause);
		free(cause);
		backup_fail(bk, why);
		free(why);
		return;
	}
	if (rc == 1) {
		/* More to copy: let the rest of the loop run first. */
		evtimer_add(bk->ev_step, &tv);
		return;
	}
	db_backup_close(bk->db);
	bk->db = NULL;
	if ((fd = open(bk->path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		if (fd != -1)
			close(fd);
		backup_fail(bk, strerror(errno));
		return;
	}
	bk->fd = fd;
	bk->size = sb.st_size;
	unlink(bk->path);
	free(bk->path);
	bk->path = NULL;
	log_debug("backup for %s: %lld bytes copied", bk->who,
	    (long long)bk->size);
	bk->sink->ready(bk->arg, bk->size);
	backup_pump(bk);
}

/*
 * Start a backup for who (for the log), passed on to sink with arg. The
 * copy goes to a new file in the state directory (0600). Nothing is
 * called back before this returns. Returns NULL with err set if it
 * cannot start (E_BUSY: BACKUP_MAX are under way).
 */
struct backup *
backup_start(const char *who, const struct backup_sink *sink, void *arg,
    struct ops_error *err)
{
	struct backup	*bk;
	struct timeval	 tv = { 0, 0 };
	char		*cause;
	int		 fd;

	if (ml_shutting_down) {
		ops_fail(err, E_SHUTTING_DOWN, "microlightd is shutting down");
		return (NULL);
	}
	if (backup_count >= BACKUP_MAX) {
		log_warnx("backup for %s refused: %u under way", who,
		    backup_count);
		ops_fail(err, E_BUSY, "%d backups are under way already; try "
		    "again when one has ended", BACKUP_MAX);
		return (NULL);
	}
	backup_count++;
	bk = xcalloc(1, sizeof *bk);
	bk->sink = sink;
	bk->arg = arg;
	bk->who = xstrdup(who);
	bk->fd = -1;
	xasprintf(&bk->path, "%s/backup-XXXXXX", ml_conf->state_dir);
	if ((fd = mkstemp(bk->path)) == -1) {
		ops_fail(err, E_INTERNAL, "cannot make the copy in %s: %s",
		    ml_conf->state_dir, strerror(errno));
		free(bk->path);
		bk->path = NULL;
		backup_free(bk);
		return (NULL);
	}
	close(fd);
	if ((bk->db = db_backup_open(bk->path, &cause)) == NULL) {
		ops_fail(err, E_INTERNAL, "%s", cause);
		free(cause);
		backup_free(bk);
		return (NULL);
	}
	bk->ev_step = evtimer_new(ml_base, backup_step_cb, bk);
	evtimer_add(bk->ev_step, &tv);
	log_info("backup for %s: started", who);
	return (bk);
}

/* The consumer went away: stop, remove the copy; nothing is called back. */
void
backup_abort(struct backup *bk)
{
	log_info("backup for %s: the client went away after %lld bytes",
	    bk->who, (long long)bk->sent);
	backup_free(bk);
}

/* At start-up: remove copies a daemon that died left in the state dir. */
void
backup_cleanup(void)
{
	struct dirent	*de;
	DIR		*d;
	char		*path;

	if ((d = opendir(ml_conf->state_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "backup-", 7) != 0)
			continue;
		xasprintf(&path, "%s/%s", ml_conf->state_dir, de->d_name);
		if (unlink(path) == 0)
			log_info("removed %s, left by an interrupted backup",
			    path);
		free(path);
	}
	closedir(d);
}
