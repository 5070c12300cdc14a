/* Watching tasks.d with inotify: a quiet moment after a change, a rescan. */

#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"

/*
 * Only events that end a change are watched: a file closed after writing,
 * renamed in or out, removed, or chmod'ed. A file still being written
 * (IN_MODIFY) is not read until its writer closes it, and editors that
 * save by rename are seen at the rename.
 */
#define WATCH_MASK	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | \
			 IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

static int		 watch_fd = -1;
static int		 watch_wd = -1;
static char		*watch_dir;
static struct event	*ev_watch;
static struct event	*ev_debounce;

/* The directory was quiet for a moment: rescan it. */
static void
watch_debounce_cb(int fd, short events, void *arg)
{
	log_info("tasks directory changed, reloading");
	tasks_reload();
	if (watch_wd == -1 && watch_dir != NULL) {
		/* It was removed or moved: watch the new one, if any. */
		watch_wd = inotify_add_watch(watch_fd, watch_dir,
		    WATCH_MASK | IN_ONLYDIR);
	}
}

/* inotify events: (re)start the quiet-time timer. */
static void
watch_read_cb(int fd, short events, void *arg)
{
	char			 buf[8192]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ie;
	struct timeval		 tv;
	ssize_t			 n;
	char			*p;
	int			 relevant = 0;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof *ie + ie->len) {
			ie = (const struct inotify_event *)p;
			if (ie->mask & (IN_IGNORED | IN_DELETE_SELF |
			    IN_MOVE_SELF))
				watch_wd = -1;
			if (ie->len > 0 && taskfile_ignored(ie->name))
				continue;
			relevant = 1;
		}
	}
	if (!relevant)
		return;
	tv.tv_sec = 0;
	tv.tv_usec = RELOAD_DEBOUNCE_MS * 1000;
	evtimer_add(ev_debounce, &tv);
}

/*
 * A request is about to look at the tasks: a change already made to
 * tasks.d (its event unread, or the quiet time still running) is taken
 * now, so that a task written just before the request is there.
 */
void
watch_flush(void)
{
	if (watch_fd == -1)
		return;
	watch_read_cb(watch_fd, EV_READ, NULL);
	if (ev_debounce != NULL && evtimer_pending(ev_debounce, NULL)) {
		evtimer_del(ev_debounce);
		watch_debounce_cb(-1, 0, NULL);
	}
}

/* Watch a tasks directory. */
int
watch_start(const char *dir)
{
	watch_stop();
	if ((watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("inotify: tasks.d changes need SIGHUP");
		return (-1);
	}
	watch_dir = xstrdup(dir);
	watch_wd = inotify_add_watch(watch_fd, dir, WATCH_MASK | IN_ONLYDIR);
	if (watch_wd == -1)
		log_warn("inotify: watching %s", dir);
	ev_watch = event_new(ml_base, watch_fd, EV_READ | EV_PERSIST,
	    watch_read_cb, NULL);
	ev_debounce = evtimer_new(ml_base, watch_debounce_cb, NULL);
	event_add(ev_watch, NULL);
	return (0);
}

/* Stop watching. */
void
watch_stop(void)
{
	if (ev_watch != NULL)
		event_free(ev_watch);
	if (ev_debounce != NULL)
		event_free(ev_debounce);
	ev_watch = ev_debounce = NULL;
	if (watch_fd != -1)
		close(watch_fd);
	watch_fd = watch_wd = -1;
	free(watch_dir);
	watch_dir = NULL;
}
