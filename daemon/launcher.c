/*
 * The launcher: a small process forked at start-up, before the daemon has
 * grown a heap, that forks the runs' supervisors on the daemon's request
 * and hands their descriptors back over a socket (SCM_RIGHTS).
 *
 * Why: fork copies the parent's page tables and makes every page it later
 * writes fault and copy. Forking the daemon for every run made those
 * copies most of its CPU time under load; forking this small, quiet
 * process costs little, and the daemon itself never forks after start-up.
 * The launcher is also a child subreaper: when a supervisor dies, what it
 * left is re-parented here and killed.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"

#define LAUNCHER_FD	3	/* the socket, in the launcher */
#define LAUNCHER_CMD	'F'	/* daemon -> launcher: fork a spare */
#define RESTART_MS	1000	/* least time between two launchers */

/* launcher -> daemon: a spare's pid (or -1 and errno), its fds attached. */
struct launcher_msg {
	pid_t	 pid;
	int	 error;
};

static pid_t		 lpid = -1;
static int		 lfd = -1;
static struct event	*ev_launcher;
static struct event	*ev_restart;
static int64_t		 last_start;

static void	launcher_restart_cb(int, short, void *);

/* Send one spare's descriptors to the daemon. */
static void
launcher_send(const struct spare *sc, int error)
{
	struct launcher_msg	 msg;
	int			 fds[4];

	memset(&msg, 0, sizeof msg);
	msg.pid = error == 0 ? sc->pid : -1;
	msg.error = error;
	fds[0] = sc->ctl;
	fds[1] = sc->out;
	fds[2] = sc->err;
	fds[3] = sc->job;
	proc_send_fds(LAUNCHER_FD, &msg, sizeof msg, fds, error == 0 ? 4 : 0);
}

/*
 * The launcher's loop: fork a spare per request; reap supervisors; when one
 * died without cleaning up, kill every child that is not a live supervisor
 * (those are what it left behind). It ends when the daemon's end closes.
 */
static __dead void
launcher_main(void)
{
	struct signalfd_siginfo	 si;
	struct pollfd		 pfd[2];
	struct spare		 sc;
	sigset_t		 all, chld;
	pid_t			*live = NULL, pid;
	u_int			 nlive = 0, i;
	int			 sfd, st;
	ssize_t			 n;
	char			 cmd;

	setsid();	/* out of the terminal's reach, like the runs */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	prctl(PR_SET_NAME, "microlight-pool", 0, 0, 0);
	proc_title("microlight-pool: forks the supervisors of runs");
	proc_null_stdio();
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if ((sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		_exit(1);

	for (;;) {
		pfd[0].fd = LAUNCHER_FD;
		pfd[0].events = POLLIN;
		pfd[1].fd = sfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			_exit(1);

		if (pfd[1].revents & POLLIN) {
			while (read(sfd, &si, sizeof si) > 0)
				;
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
				if (!proc_listed(pid, live, nlive))
					continue;	/* an orphan */
				for (i = 0; live[i] != pid; i++)
					;
				live[i] = live[--nlive];
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					proc_signal_descendants(getpid(),
					    SIGKILL, live, nlive);
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP)) {
			n = read(LAUNCHER_FD, &cmd, 1);
			if (n == 0 || (n == -1 && errno != EINTR &&
			    errno != EAGAIN))
				_exit(0);	/* the daemon is gone */
			if (n != 1 || cmd != LAUNCHER_CMD)
				continue;
			if (spawn_fork_spare(&sc) == -1) {
				launcher_send(NULL, errno);
				continue;
			}
			launcher_send(&sc, 0);
			live = xreallocarray(live, nlive + 1, sizeof *live);
			live[nlive++] = sc.pid;
			close(sc.ctl);
			close(sc.out);
			close(sc.err);
			close(sc.job);
		}
	}
}

/*
 * Fork the launcher. Called at start-up before the event loop and the
 * database exist, so that it is small; and again if it dies.
 */
int
launcher_start(char **cause)
{
	int		 sv[2];
	sigset_t	 all, old;
	pid_t		 pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		xasprintf(cause, "launcher: socketpair: %s", strerror(errno));
		return (-1);
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		if (dup3(sv[1], LAUNCHER_FD, O_CLOEXEC) == -1)
			_exit(1);
		closefrom(LAUNCHER_FD + 1);
		launcher_main();
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid == -1) {
		xasprintf(cause, "launcher: fork: %s", strerror(errno));
		close(sv[0]);
		return (-1);
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	lpid = pid;
	lfd = sv[0];
	last_start = time_mono_ms();
	log_debug("launcher started, pid %d", (int)pid);
	return (0);
}

/* A spare (or an error) from the launcher. */
static void
launcher_read_cb(int fd, short events, void *arg)
{
	struct launcher_msg	 msg;
	struct spare		 sc;
	int			 fds[4], got;
	ssize_t			 n;

	for (;;) {
		n = proc_recv_fds(fd, &msg, sizeof msg, fds, 4, &got);
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* The launcher is gone; SIGCHLD will say more. */
			event_del(ev_launcher);
			spare_lost();
			return;
		}
		if (msg.pid == -1 || got != 4) {
			log_warnx("launcher: cannot fork a supervisor: %s",
			    strerror(msg.error));
			spare_lost();
			continue;
		}
		sc.pid = msg.pid;
		sc.ctl = fds[0];
		sc.out = fds[1];
		sc.err = fds[2];
		sc.job = fds[3];
		spare_add(&sc);
	}
}

/* Watch the launcher's socket (once the event base exists). */
void
launcher_listen(void)
{
	if (ev_launcher != NULL)
		event_free(ev_launcher);
	ev_launcher = event_new(ml_base, lfd, EV_READ | EV_PERSIST,
	    launcher_read_cb, NULL);
	event_add(ev_launcher, NULL);
}

/* Ask for n spares; returns how many were asked. */
u_int
launcher_request(u_int n)
{
	char	 cmd = LAUNCHER_CMD;
	u_int	 i;

	if (lfd == -1)
		return (0);
	for (i = 0; i < n; i++) {
		if (send(lfd, &cmd, 1, MSG_NOSIGNAL) != 1)
			break;
	}
	return (i);
}

/*
 * A child of the daemon was reaped: if it was the launcher, start another
 * (at most one a second; meanwhile supervisors are forked by the daemon).
 * Returns 1 if it was the launcher.
 */
int
launcher_reaped(pid_t pid, int status)
{
	struct timeval	 tv;
	int64_t		 wait;

	if (pid != lpid)
		return (0);
	log_warnx("the launcher (pid %d) exited", (int)pid);
	launcher_stop();
	spare_lost();
	if (ml_shutting_down)
		return (1);
	if (ev_restart == NULL)
		ev_restart = evtimer_new(ml_base, launcher_restart_cb, NULL);
	wait = RESTART_MS - (time_mono_ms() - last_start);
	if (wait < 0)
		wait = 0;
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(ev_restart, &tv);
	return (1);
}

/* Start a new launcher after the last one died. */
static void
launcher_restart_cb(int fd, short events, void *arg)
{
	char	*cause;

	if (ml_shutting_down || lpid != -1)
		return;
	if (launcher_start(&cause) != 0) {
		log_warnx("%s", cause);
		free(cause);
		return;
	}
	log_info("launcher restarted, pid %d", (int)lpid);
	launcher_listen();
	spare_prepare();
}

/* The launcher's pid, or -1. */
pid_t
launcher_pid(void)
{
	return (lpid);
}

/* Close the launcher's socket: it exits. */
void
launcher_stop(void)
{
	if (ev_launcher != NULL)
		event_free(ev_launcher);
	ev_launcher = NULL;
	if (ev_restart != NULL) {
		event_free(ev_restart);
		ev_restart = NULL;
	}
	if (lfd != -1)
		close(lfd);
	lfd = -1;
	lpid = -1;
}
