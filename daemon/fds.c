/*
 * Descriptors: the soft limit raised to the hard one, a reserve kept for
 * runs and the daemon's own files, and the share left to clients.
 *
 * Clients of both sockets draw on one budget: the limit, less what the
 * daemon holds once it is ready (listeners, SQLite, the launcher, the
 * event loop), less a reserve of FDS_PER_RUN for every run that may run
 * at once and every spare supervisor, less FDS_SLACK for what the daemon
 * opens now and then (a backup, a task file, the users-file, syslog).
 * When a new client spends the last of the budget, the oldest client
 * that is only waiting (a request not yet sent, or none) is closed to keep
 * room for the next; if every client is busy, both sockets stop accepting
 * until one leaves. accept(2) failing for want of descriptors pauses them
 * for FDS_PAUSE_MS (OpenBSD's control.c does the same). So a run never
 * fails because clients hold descriptors, idle connections cannot lock
 * out a client that asks, and a flood never makes the accept loop spin.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "microlightd.h"

#define FDS_PER_RUN	4	/* a run's supervisor: control, out, err, job */
#define FDS_SLACK	16	/* backups, task files, syslog, /proc reads */
#define FDS_MIN_CLIENTS	2	/* even at a tiny limit, someone gets in */
#define FDS_PAUSE_MS	1000	/* accept(2) said EMFILE: wait this long */
#define FDS_RETRY_MS	250	/* paused, all busy: look for an idle one */
#define FDS_WARN_MS	60000	/* one warning a minute at most */

/* A listener that pauses and resumes with the budget. */
struct fds_listener {
	void		(*pause)(void);
	void		(*resume)(void);
	int		(*evict)(void);	/* close an idle client: 0 if one went */
	int		 paused;	/* by the budget or by EMFILE */
};

static struct fds_listener	 fds_listeners[2];
static u_int			 fds_nlisteners;
static rlim_t			 fds_child_soft = RLIM_INFINITY;
static rlim_t			 fds_limit = 1024;
static u_int			 fds_base;	/* open once ready */
static u_int			 fds_clients;	/* held by clients now */
static int64_t			 fds_warned;	/* ms: "no descriptors" said */
static struct event		*ev_fds_resume;	/* the pause for EMFILE */
static struct event		*ev_fds_retry;	/* the pause for the budget */

/*
 * Raise the soft limit on descriptors to the hard one (any user may), and
 * remember the old soft limit for the runs: a task gets the limit it would
 * have had without microlight (some programs still use select(2)).
 */
void
fds_init(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		return;
	}
	fds_child_soft = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_warn("setrlimit(RLIMIT_NOFILE)");
			getrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	fds_limit = rl.rlim_cur;
}

/* In a run's process before exec: the limit the daemon was started with. */
void
fds_child_limit(void)
{
	struct rlimit	 rl;

	if (fds_child_soft == RLIM_INFINITY ||
	    getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == fds_child_soft)
		return;
	rl.rlim_cur = fds_child_soft;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* How many descriptors this process has open now. */
static u_int
fds_count_open(void)
{
	DIR		*d;
	struct dirent	*de;
	u_int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (16);	/* a guess: stdio, loop, store, listeners */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return (n > 0 ? n - 1 : 0);	/* less opendir's own */
}

/* The reserve: descriptors clients may never take. */
static u_int
fds_reserve(void)
{
	return (FDS_PER_RUN * (ml_conf->max_running + spare_max()) + FDS_SLACK);
}

/* The most descriptors all clients together may hold. */
u_int
fds_client_budget(void)
{
	rlim_t	 used;

	used = (rlim_t)fds_base + fds_reserve();
	if (fds_limit <= used + FDS_MIN_CLIENTS)
		return (FDS_MIN_CLIENTS);
	if (fds_limit - used > 65536)
		return (65536);
	return ((u_int)(fds_limit - used));
}

/* The event loop, the store and the listeners are open: measure. */
void
fds_ready(void)
{
	u_int	 budget;

	fds_base = fds_count_open() - fds_clients;
	budget = fds_client_budget();
	log_debug("descriptors: limit %llu, %u in use, %u reserved for "
	    "runs, %u for clients", (unsigned long long)fds_limit, fds_base,
	    fds_reserve(), budget);
	if (budget < 16)
		log_warnx("only %llu descriptors (ulimit -n): at most %u "
		    "clients at once", (unsigned long long)fds_limit, budget);
}

/* A socket that takes clients, with how to pause and resume it. */
void
fds_listener_add(void (*pause)(void), void (*resume)(void),
    int (*evict)(void))
{
	struct fds_listener	*l;

	if (fds_nlisteners == sizeof fds_listeners / sizeof fds_listeners[0])
		fatalx("fds_listener_add: too many listeners");
	l = &fds_listeners[fds_nlisteners++];
	l->pause = pause;
	l->resume = resume;
	l->evict = evict;
	l->paused = 0;
}

/* Pause every listener that is not paused yet. */
static void
fds_pause_all(void)
{
	u_int	 i;

	for (i = 0; i < fds_nlisteners; i++) {
		if (!fds_listeners[i].paused) {
			fds_listeners[i].paused = 1;
			fds_listeners[i].pause();
		}
	}
}

/* Resume the listeners, if the budget allows a client more. */
static void
fds_resume_all(void)
{
	u_int	 i;

	if (ml_shutting_down || fds_clients >= fds_client_budget())
		return;
	if (ev_fds_resume != NULL && evtimer_pending(ev_fds_resume, NULL))
		return;
	if (ev_fds_retry != NULL)
		evtimer_del(ev_fds_retry);
	for (i = 0; i < fds_nlisteners; i++) {
		if (fds_listeners[i].paused) {
			fds_listeners[i].paused = 0;
			fds_listeners[i].resume();
		}
	}
	log_debug("accepting clients again (%u connected)", fds_clients);
}

/* The pause for EMFILE is over. */
static void
fds_resume_cb(int fd, short events, void *arg)
{
	fds_resume_all();
}

/* Whether a client has sent bytes not read yet (its request is coming). */
int
fds_unread(int fd)
{
	int	 n;

	if (fd == -1 || ioctl(fd, FIONREAD, &n) == -1)
		return (0);
	return (n > 0);
}

/* Whether to log a shortage now: once, then at most once a minute. */
static int
fds_warn(void)
{
	int64_t	 now = time_mono_ms();

	if (fds_warned != 0 && now - fds_warned < FDS_WARN_MS)
		return (0);
	fds_warned = now;
	return (1);
}

/* Close the oldest idle client of any listener; 0 if one went. */
static int
fds_evict(void)
{
	u_int	 i;

	for (i = 0; i < fds_nlisteners; i++) {
		if (fds_listeners[i].evict() == 0)
			return (0);
	}
	return (-1);
}

/*
 * Paused for the budget: a client that was busy (or just accepted) may be
 * idle now; close one to accept again, else look again later.
 */
static void
fds_retry_cb(int fd, short events, void *arg)
{
	struct timeval	 tv = { 0, FDS_RETRY_MS * 1000 };

	if (fds_clients < fds_client_budget() || fds_evict() == 0) {
		fds_resume_all();
		return;
	}
	evtimer_add(ev_fds_retry, &tv);
}

/*
 * A client was accepted. If it took the last of the budget, an idle
 * client goes (its descriptor counts as given back at once); if none is
 * idle, every listener pauses, with one log line, until a client leaves
 * or one becomes idle.
 */
void
fds_client_add(void)
{
	struct timeval	 tv = { 0, FDS_RETRY_MS * 1000 };

	fds_clients++;
	if (fds_clients < fds_client_budget() || fds_evict() == 0)
		return;
	fds_pause_all();
	if (ev_fds_retry == NULL)
		ev_fds_retry = evtimer_new(ml_base, fds_retry_cb, NULL);
	evtimer_add(ev_fds_retry, &tv);
	if (fds_warn())
		log_warnx("%u clients hold the descriptors they may have "
		    "(limit %llu, %u kept for runs): accepting waits until "
		    "one leaves", fds_clients, (unsigned long long)fds_limit,
		    fds_reserve());
}

/* A client's descriptor was closed (or is about to be): accept again. */
void
fds_client_del(void)
{
	if (fds_clients > 0)
		fds_clients--;
	fds_resume_all();
}

/*
 * accept(2) failed: for want of descriptors (EMFILE, ENFILE) or memory,
 * pause every listener for FDS_PAUSE_MS rather than spin on a listener
 * that stays readable. Returns 1 if it paused, 0 for other errors.
 */
int
fds_accept_failed(int error)
{
	struct timeval	 tv;

	if (error != EMFILE && error != ENFILE && error != ENOBUFS &&
	    error != ENOMEM)
		return (0);
	if (ev_fds_resume == NULL)
		ev_fds_resume = evtimer_new(ml_base, fds_resume_cb, NULL);
	fds_pause_all();
	if (fds_warn())
		log_warnx("accept: %s (%u clients): not accepting for %d ms",
		    strerror(error), fds_clients, FDS_PAUSE_MS);
	tv.tv_sec = FDS_PAUSE_MS / 1000;
	tv.tv_usec = (FDS_PAUSE_MS % 1000) * 1000;
	evtimer_add(ev_fds_resume, &tv);
	return (1);
}

/* Shutting down. */
void
fds_stop(void)
{
	if (ev_fds_resume != NULL)
		event_free(ev_fds_resume);
	if (ev_fds_retry != NULL)
		event_free(ev_fds_retry);
	ev_fds_resume = ev_fds_retry = NULL;
	fds_nlisteners = 0;
}
