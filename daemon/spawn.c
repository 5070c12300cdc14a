/*
 * Starting a run: a small supervisor process per run, forked from the
 * daemon, which starts the script and owns everything the script starts.
 *
 * Why a supervisor: the supervisor is a child subreaper, so a process the
 * script leaves behind (a double fork, a setsid()) is re-parented to it and
 * never escapes. It knows exactly the run's processes, reports the main
 * process's exit to the daemon at once, and on the daemon's word (or when
 * the daemon dies) sends SIGTERM, SIGCONT and SIGKILL to all of them. It
 * exits only when none is left, so its exit means the run's processes are
 * gone. It never returns into daemon code and uses no libevent.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "microlightd.h"

#define SUP_CTL		3	/* descriptors in the supervisor */
#define SUP_OUT		4
#define SUP_ERR		5
#define EXEC_REPORT	3	/* descriptor in the script before exec */

/* Write a whole message, retrying EINTR; errors are ignored (best effort). */
static void
spawn_write(int fd, const void *buf, size_t len)
{
	ssize_t	 n;

	do
		n = write(fd, buf, len);
	while (n == -1 && errno == EINTR);
}

/* Send a message to the daemon. */
static void
spawn_send(int type, int value, int stage)
{
	struct spawn_msg	 msg;

	memset(&msg, 0, sizeof msg);
	msg.type = type;
	msg.value = value;
	msg.stage = stage;
	spawn_write(SUP_CTL, &msg, sizeof msg);
}

/*
 * Every signal back to its default disposition, through the system call:
 * glibc's sigaction() refuses signals 32 and 33 (its own), yet they can be
 * inherited ignored (GNU make leaves them so) and an ignored signal
 * survives exec. An all-zero kernel sigaction is SIG_DFL with no flags and
 * an empty mask whatever the architecture's field order.
 */
static void
spawn_default_signals(void)
{
	static const unsigned long	 dfl[8];
	int				 sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, dfl, NULL,
			    (size_t)((NSIG - 1) / 8));
	}
}

/* In the script's child: report why the run could not start, and exit. */
static __dead void
spawn_fail(int stage)
{
	int	 report[2];

	report[0] = errno;
	report[1] = stage;
	spawn_write(EXEC_REPORT, report, sizeof report);
	_exit(127);
}

/*
 * The script's process: its own session, default signals and mask, stdin
 * from /dev/null, stdout and stderr to the run's pipes, nothing else open
 * but the close-on-exec report pipe; then the user, the directory, exec.
 */
static __dead void
spawn_exec(const struct spawn *sp, int report)
{
	sigset_t	 none;
	int		 fd;
	uid_t		 ruid, euid, suid;
	gid_t		 rgid, egid, sgid;

	spawn_default_signals();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();

	if (dup3(report, EXEC_REPORT, O_CLOEXEC) == -1)
		_exit(127);
	if ((fd = open("/dev/null", O_RDONLY)) == -1)
		spawn_fail(STAGE_SETUP);
	if (dup2(fd, STDIN_FILENO) == -1 ||
	    dup2(SUP_OUT + 10, STDOUT_FILENO) == -1 ||
	    dup2(SUP_ERR + 10, STDERR_FILENO) == -1)
		spawn_fail(STAGE_SETUP);
	closefrom(EXEC_REPORT + 1);

	if (sp->change_user) {
		if (setgroups(sp->ngroups, sp->groups) == -1 ||
		    setresgid(sp->gid, sp->gid, sp->gid) == -1 ||
		    setresuid(sp->uid, sp->uid, sp->uid) == -1)
			spawn_fail(STAGE_USER);
		if (getresgid(&rgid, &egid, &sgid) == -1 ||
		    getresuid(&ruid, &euid, &suid) == -1 ||
		    rgid != sp->gid || egid != sp->gid || sgid != sp->gid ||
		    ruid != sp->uid || euid != sp->uid || suid != sp->uid) {
			errno = EPERM;
			spawn_fail(STAGE_USER);
		}
		if (sp->uid != 0 && setuid(0) != -1) {
			errno = EPERM;
			spawn_fail(STAGE_USER);
		}
	}
	if (chdir(sp->workdir) == -1)
		spawn_fail(STAGE_CHDIR);
	execve(sp->path, sp->argv, sp->envp);
	spawn_fail(STAGE_EXEC);
}

/*
 * Start the script's process with vfork: it borrows the supervisor's memory
 * until it calls exec (or _exit), so no copy of the daemon's address space
 * is made and torn down again for each run. spawn_exec only makes system
 * calls and never returns. (A function of its own, so that no variable of
 * the supervisor's loop lives in the frame vfork returns to twice.)
 */
static pid_t
spawn_script(const struct spawn *sp, int report)
{
	pid_t	 pid;

	if ((pid = vfork()) == 0)
		spawn_exec(sp, report);
	return (pid);
}

/*
 * Signal every process of the run: the script's group (only while the
 * script is unreaped, so its pid cannot have been reused) and then every
 * descendant of the supervisor, which includes those that left the group.
 */
static void
spawn_signal_all(pid_t main_pid, int sig)
{
	if (main_pid > 0)
		killpg(main_pid, sig);
	proc_signal_descendants(getpid(), sig, NULL, 0);
}

/* Polite termination: SIGTERM, then SIGCONT so stopped processes see it. */
static void
spawn_terminate_all(pid_t main_pid)
{
	spawn_signal_all(main_pid, SIGTERM);
	spawn_signal_all(main_pid, SIGCONT);
}

/* Milliseconds on the monotonic clock. */
static int64_t
spawn_now(void)
{
	return (time_mono_ms());
}

/* The supervisor: start the script, then reap, report and obey. */
static __dead void
spawn_supervise(const struct spawn *sp)
{
	struct signalfd_siginfo	 si;
	struct pollfd		 pfd[2];
	sigset_t		 chld;
	int			 sfd, report[2], st, got[2], ctl_open = 1;
	int			 main_alive = 1, killed = 0;
	int			 leftovers_told = 0;
	int64_t			 deadline = -1, now;
	pid_t			 main_pid, pid;
	ssize_t			 n;
	char			 cmd;

	setsid();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* Its own name, so "pkill -x microlightd" spares the runs' keepers. */
	prctl(PR_SET_NAME, "microlight-run", 0, 0, 0);

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if ((sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    pipe2(report, O_CLOEXEC) == -1) {
		spawn_send(SPAWN_EXEC_FAILED, errno, STAGE_SETUP);
		_exit(1);
	}

	/* The script's pipes wait at SUP_OUT + 10 and SUP_ERR + 10. */
	if (dup2(SUP_OUT, SUP_OUT + 10) == -1 ||
	    dup2(SUP_ERR, SUP_ERR + 10) == -1) {
		spawn_send(SPAWN_EXEC_FAILED, errno, STAGE_SETUP);
		_exit(1);
	}
	if ((main_pid = spawn_script(sp, report[1])) == -1) {
		spawn_send(SPAWN_EXEC_FAILED, errno, STAGE_SETUP);
		_exit(1);
	}
	close(report[1]);
	close(SUP_OUT);
	close(SUP_ERR);
	close(SUP_OUT + 10);
	close(SUP_ERR + 10);

	/* The report pipe closes on exec; bytes on it mean a failure. */
	do
		n = read(report[0], got, sizeof got);
	while (n == -1 && errno == EINTR);
	close(report[0]);
	if (n == (ssize_t)sizeof got)
		spawn_send(SPAWN_EXEC_FAILED, got[0], got[1]);
	else
		spawn_send(SPAWN_EXEC_OK, main_pid, 0);

	for (;;) {
		int timeout = -1;

		pfd[0].fd = sfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = ctl_open ? SUP_CTL : -1;
		pfd[1].events = POLLIN;
		if (deadline != -1) {
			now = spawn_now();
			timeout = deadline > now ? (int)(deadline - now) : 0;
		}
		if (poll(pfd, 2, timeout) == -1 && errno != EINTR)
			_exit(1);

		if (pfd[0].revents & POLLIN) {
			while (read(sfd, &si, sizeof si) > 0)
				;
		}
		for (;;) {
			pid = waitpid(-1, &st, WNOHANG);
			if (pid > 0) {
				if (pid == main_pid) {
					main_alive = 0;
					main_pid = 0;
					spawn_send(SPAWN_EXITED, st, 0);
				}
				continue;
			}
			if (pid == -1 && errno == ECHILD && !main_alive)
				_exit(0);
			break;
		}
		if (!main_alive && !leftovers_told) {
			/* What the script left behind is told to go. */
			spawn_terminate_all(0);
			leftovers_told = 1;
		}

		if (ctl_open && (pfd[1].revents & (POLLIN | POLLHUP))) {
			n = read(SUP_CTL, &cmd, 1);
			if (n == 1 && cmd == SPAWN_CMD_TERM)
				spawn_terminate_all(main_pid);
			else if (n == 1 && cmd == SPAWN_CMD_KILL) {
				spawn_signal_all(main_pid, SIGKILL);
				killed = 1;
				deadline = spawn_now() + 1000;
			} else if (n == 0 || (n == -1 && errno != EINTR &&
			    errno != EAGAIN)) {
				/* The daemon is gone: nobody reads the output. */
				ctl_open = 0;
				spawn_terminate_all(main_pid);
				deadline = spawn_now() + sp->kill_grace_ms;
			}
		}
		if (deadline != -1 && spawn_now() >= deadline) {
			if (killed && !ctl_open)
				_exit(1);	/* unkillable: give up */
			spawn_signal_all(main_pid, SIGKILL);
			killed = 1;
			deadline = spawn_now() + 1000;
		}
	}
}

/*
 * Fork the supervisor of a run. Returns its pid and the daemon's ends of
 * the control socket and of the stdout and stderr pipes (non-blocking,
 * close-on-exec), or -1.
 */
pid_t
spawn_start(const struct spawn *sp, int *ctlp, int *outp, int *errp)
{
	int		 ctl[2], out[2], err[2], null;
	sigset_t	 all, old;
	pid_t		 pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) == -1)
		return (-1);
	if (pipe2(out, O_CLOEXEC) == -1) {
		close(ctl[0]);
		close(ctl[1]);
		return (-1);
	}
	if (pipe2(err, O_CLOEXEC) == -1) {
		close(ctl[0]);
		close(ctl[1]);
		close(out[0]);
		close(out[1]);
		return (-1);
	}

	/* No signal handler of the daemon may run in the child. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		/*
		 * Move the three descriptors to fixed numbers (through
		 * copies above everything, so none is overwritten first) and
		 * close every other descriptor of the daemon.
		 */
		int c = fcntl(ctl[1], F_DUPFD_CLOEXEC, 64);
		int o = fcntl(out[1], F_DUPFD_CLOEXEC, 64);
		int e = fcntl(err[1], F_DUPFD_CLOEXEC, 64);

		if (c == -1 || o == -1 || e == -1 ||
		    dup3(c, SUP_CTL, O_CLOEXEC) == -1 ||
		    dup3(o, SUP_OUT, O_CLOEXEC) == -1 ||
		    dup3(e, SUP_ERR, O_CLOEXEC) == -1)
			_exit(1);
		closefrom(SUP_ERR + 1);
		if ((null = open("/dev/null", O_RDWR)) != -1) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			if (null > STDERR_FILENO)
				close(null);
		}
		/* Signals stay blocked here; the script's child resets them. */
		spawn_supervise(sp);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(ctl[1]);
	close(out[1]);
	close(err[1]);
	if (pid == -1) {
		close(ctl[0]);
		close(out[0]);
		close(err[0]);
		return (-1);
	}
	fcntl(ctl[0], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	*ctlp = ctl[0];
	*outp = out[0];
	*errp = err[0];
	return (pid);
}
