/*
 * Backup: a consistent copy of the database, made with SQLite's online
 * backup API a few pages per turn of the loop (runs go on meanwhile, their
 * changes carried into the copy), into a file in the state directory, then
 * sent to the client, who writes it where it was asked to (with its own
 * rights: the daemon writes nowhere a client names).
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
#define BACKUP_CHUNK		(48 * 1024) /* bytes per data event */
#define BACKUP_HIGH		(256 * 1024) /* unsent bytes before pausing */

struct backup {
	struct client		*client;
	char			*path;
	struct db_backup	*db;
	struct event		*ev_step;
	int			 fd;
	int64_t			 size;
	int64_t			 sent;
};

/* Forget a backup: its copy is removed. */
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
	free(bk);
}

/* The backup failed: tell the client. */
static void
backup_fail(struct backup *bk, const char *cause)
{
	struct client	*c = bk->client;

	log_warnx("backup: %s", cause);
	control_client_send(c, proto_error(E_INTERNAL, "%s", cause));
	backup_free(bk);
	control_client_done(c);
}

/* Send the copy while the client keeps up; then the end event. */
void
backup_pump(struct backup *bk)
{
	struct client	*c = bk->client;
	u_char		 buf[BACKUP_CHUNK];
	char		*b64;
	ssize_t		 n;

	if (bk->db != NULL)
		return;		/* still copying */
	while (control_client_pending(c) < BACKUP_HIGH) {
		n = read(bk->fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			backup_fail(bk, strerror(errno));
			return;
		}
		if (n == 0) {
			control_client_send(c, json_pack("{s:s,s:I}", K_EVENT,
			    EV_END, K_SIZE, (json_int_t)bk->sent));
			log_info("backup: %lld bytes sent",
			    (long long)bk->sent);
			backup_free(bk);
			control_client_done(c);
			return;
		}
		b64 = base64_encode(buf, n, NULL);
		control_client_send(c, json_pack("{s:s,s:s}", K_EVENT,
		    EV_DATA, K_DATA, b64));
		free(b64);
		bk->sent += n;
	}
}

/* Copy a few pages; when done, say how big the copy is and send it. */
static void
backup_step_cb(int fd, short events, void *arg)
{
	struct backup	*bk = arg;
	struct timeval	 tv = { 0, 0 };
	struct stat	 sb;
	json_t		*reply;
	char		*cause;
	int		 rc;

	rc = db_backup_step(bk->db, BACKUP_PAGES, &cause);
	if (rc == -1) {
		backup_fail(bk, cause);
		free(cause);
		return;
	}
	if (rc == 1) {
		/* More to copy: let the rest of the loop run first. */
		evtimer_add(bk->ev_step, &tv);
		return;
	}
	db_backup_close(bk->db);
	bk->db = NULL;
	if ((bk->fd = open(bk->path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(bk->fd, &sb) == -1) {
		backup_fail(bk, strerror(errno));
		return;
	}
	bk->size = sb.st_size;
	reply = proto_ok();
	json_object_set_new(reply, K_SIZE, json_integer(bk->size));
	control_client_send(bk->client, reply);
	backup_pump(bk);
}

/*
 * Start a backup for a client. The copy goes to a new file in the state
 * directory (0600), removed once sent. Returns NULL with *cause if it
 * cannot start.
 */
struct backup *
backup_start(struct client *c, char **cause)
{
	struct backup	*bk;
	struct timeval	 tv = { 0, 0 };
	int		 fd;

	bk = xcalloc(1, sizeof *bk);
	bk->client = c;
	bk->fd = -1;
	xasprintf(&bk->path, "%s/backup-XXXXXX", ml_conf->state_dir);
	if ((fd = mkstemp(bk->path)) == -1) {
		xasprintf(cause, "cannot make the copy in %s: %s",
		    ml_conf->state_dir, strerror(errno));
		free(bk->path);
		bk->path = NULL;
		backup_free(bk);
		return (NULL);
	}
	close(fd);
	if ((bk->db = db_backup_open(bk->path, cause)) == NULL) {
		backup_free(bk);
		return (NULL);
	}
	bk->ev_step = evtimer_new(ml_base, backup_step_cb, bk);
	evtimer_add(bk->ev_step, &tv);
	log_info("backup: started for %s", "a client");
	return (bk);
}

/* The client went away: stop, remove the copy. */
void
backup_abort(struct backup *bk)
{
	log_info("backup: the client went away");
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
