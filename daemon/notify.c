/*
 * systemd's notification protocol (sd_notify(3), spoken by hand: one
 * datagram to $NOTIFY_SOCKET per message): READY=1 once serving,
 * RELOADING=1 with MONOTONIC_USEC around a reload, STOPPING=1 at
 * shutdown, a STATUS= line with the tasks and runs, and WATCHDOG=1 every
 * half $WATCHDOG_USEC when the unit asks for it. The variables are taken
 * out of the environment at start-up, so that no task sees them.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "microlightd.h"

#define NOTIFY_STATUS_SECONDS	5	/* STATUS= refreshed this often */

static int			 notify_fd = -1;
static struct sockaddr_un	 notify_sun;
static socklen_t		 notify_len;
static uint64_t			 notify_watchdog_usec;
static struct event		*ev_watchdog;
static struct event		*ev_status;

/* Send one message; failures are logged once and otherwise ignored. */
static void
notify_send(const char *fmt, ...)
{
	static int	 warned;
	char		 buf[512];
	va_list		 ap;
	int		 n;

	if (notify_fd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		return;
	if (sendto(notify_fd, buf, n, MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_sun, notify_len) == -1 && !warned) {
		log_warn("sd_notify to %s%s", notify_sun.sun_path[0] == '\0' ?
		    "@" : "", notify_sun.sun_path + (notify_sun.sun_path[0] ==
		    '\0'));
		warned = 1;
	}
}

/*
 * At start-up, before any child is forked: read and forget NOTIFY_SOCKET,
 * WATCHDOG_USEC and WATCHDOG_PID (and the LISTEN_ variables, which
 * activate_init has read by now), and open the socket.
 */
void
notify_init(void)
{
	const char	*path, *usec, *pid;
	size_t		 len;

	path = getenv("NOTIFY_SOCKET");
	usec = getenv("WATCHDOG_USEC");
	pid = getenv("WATCHDOG_PID");
	if (usec != NULL && (pid == NULL || strtoll(pid, NULL, 10) ==
	    (long long)getpid()))
		notify_watchdog_usec = strtoull(usec, NULL, 10);
	if (path != NULL && (path[0] == '/' || path[0] == '@') &&
	    (len = strlen(path)) < sizeof notify_sun.sun_path) {
		memset(&notify_sun, 0, sizeof notify_sun);
		notify_sun.sun_family = AF_UNIX;
		memcpy(notify_sun.sun_path, path, len);
		if (path[0] == '@')
			notify_sun.sun_path[0] = '\0';	/* abstract */
		notify_len = offsetof(struct sockaddr_un, sun_path) + len;
		notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (notify_fd == -1)
			log_warn("sd_notify socket");
	}
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/*
 * The STATUS= line, what systemctl status shows; the same words go in
 * the process title, what ps shows.
 */
static void
notify_status(void)
{
	struct taskset	*set = tasks_current();
	char		 buf[128];

	snprintf(buf, sizeof buf, "%u tasks (%u invalid), %u runs running, "
	    "%u queued", set->ntasks, set->ninvalid, run_active_count(),
	    queue_length());
	proc_title("microlightd: %s", buf);
	notify_send("STATUS=%s", buf);
}

static void
notify_status_cb(int fd, short events, void *arg)
{
	notify_status();
}

static void
notify_watchdog_cb(int fd, short events, void *arg)
{
	notify_send("WATCHDOG=1");
}

/* Serving: READY=1 with the status, and the timers. */
void
notify_ready(void)
{
	struct timeval	 tv = { NOTIFY_STATUS_SECONDS, 0 };

	notify_send("READY=1");
	notify_status();
	ev_status = event_new(ml_base, -1, EV_PERSIST, notify_status_cb,
	    NULL);
	evtimer_add(ev_status, &tv);
	if (notify_fd == -1)
		return;
	if (notify_watchdog_usec > 0) {
		tv.tv_sec = notify_watchdog_usec / 2 / 1000000;
		tv.tv_usec = notify_watchdog_usec / 2 % 1000000;
		ev_watchdog = event_new(ml_base, -1, EV_PERSIST,
		    notify_watchdog_cb, NULL);
		event_priority_set(ev_watchdog, ML_PRIORITY_SCHED);
		evtimer_add(ev_watchdog, &tv);
		notify_send("WATCHDOG=1");
	}
}

/* A reload begins: RELOADING=1 with the monotonic time systemd wants. */
void
notify_reloading(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* A reload is over (taken or refused): READY=1 again. */
void
notify_reloaded(void)
{
	notify_send("READY=1");
	notify_status();
}

/* Shutdown begins. */
void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=stopping %u runs", run_active_count());
}

/* At exit. */
void
notify_close(void)
{
	if (ev_watchdog != NULL)
		event_free(ev_watchdog);
	if (ev_status != NULL)
		event_free(ev_status);
	ev_watchdog = ev_status = NULL;
	if (notify_fd != -1)
		close(notify_fd);
	notify_fd = -1;
}
