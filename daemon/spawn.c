/*
 * Starting a run: a small supervisor process per run, which starts the
 * script and owns everything the script starts.
 *
 * Why a supervisor: the supervisor is a child subreaper, so a process the
 * script leaves behind (a double fork, a setsid()) is re-parented to it and
 * never escapes. It knows exactly the run's processes, reports the main
 * process's exit to the daemon at once, and on the daemon's word (or when
 * the daemon dies) sends SIGTERM, SIGCONT and SIGKILL to all of them. It
 * exits only when none is left, so its exit means the run's processes are
 * gone. It never returns into daemon code and uses no libevent.
 *
 * Supervisors are not forked from the daemon but from the launcher
 * (launcher.c), a small process forked once at start-up: forking the daemon
 * itself costs its page tables and copy-on-write faults on every page it
 * touches afterwards, most of the daemon's CPU time under load. They are
 * forked ahead of need (spares): a spare waits for its job (the script, its
 * environment and user) on a pipe, and the daemon keeps a few ready
 * (spare.c).
 *
 * A supervisor whose run is over (every process of it gone, SPAWN_DONE
 * sent) is kept for another run if the daemon wants it: the daemon sends it
 * new output pipes and a new job pipe over the control socket (SCM_RIGHTS),
 * and it waits for its next job as a spare does. Nothing of the run is left
 * in it: no child, no descriptor but its own four, none of the job's
 * memory. That saves a fork of the launcher per run and the copy-on-write
 * faults of a fresh process, a third of a short run's cost. If the daemon
 * closes the control socket instead, it exits.
 */

#include <sys/types.h>
#include <sys/mman.h>
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
#define SUP_JOB		6
#define EXEC_REPORT	3	/* descriptor in the script before exec */

#define JOB_MAX		(4 * 1024 * 1024)

/* A job as it travels to a spare: this header, the groups, the strings. */
struct spawn_job {
	uint32_t	 size;		/* of everything, header included */
	int32_t		 change_user;
	uint32_t	 uid;
	uint32_t	 gid;
	int32_t		 ngroups;
	uint32_t	 nenv;
	int64_t		 kill_grace_ms;
	uint32_t	 input_len;
	/* gid_t groups[ngroups]; then NUL-terminated: path, workdir,
	 * username, and nenv environment entries; then input_len bytes of
	 * stdin. */
};

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
 * from its input (a memfd) or /dev/null, stdout and stderr to the run's
 * pipes, nothing else open but the close-on-exec report pipe; then the
 * user, the directory, exec.
 */
static __dead void
spawn_exec(const struct spawn *sp, int report)
{
	sigset_t	 none;
	int		 fd;
	uid_t		 ruid, euid, suid;
	gid_t		 rgid, egid, sgid;

	/* Dispositions are the defaults already (the spare reset them). */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	fds_child_limit();

	if (dup3(report, EXEC_REPORT, O_CLOEXEC) == -1)
		_exit(127);
	if ((fd = sp->input_fd) == -1 &&
	    (fd = open("/dev/null", O_RDONLY)) == -1)
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

/*
 * The supervisor: start the script, then reap, report and obey. sfd (a
 * signalfd for SIGCHLD) and the report pipe were made while it waited.
 * Returns when every process of the run is gone, with the daemon still
 * there to be told.
 */
static void
spawn_supervise(const struct spawn *sp, int sfd, int report[2])
{
	struct signalfd_siginfo	 si;
	struct pollfd		 pfd[2];
	int			 st, got[2], ctl_open = 1;
	int			 main_alive = 1, killed = 0;
	int			 leftovers_told = 0;
	int64_t			 deadline = -1, now;
	pid_t			 main_pid, pid;
	ssize_t			 n;
	char			 cmd;

	if ((main_pid = spawn_script(sp, report[1])) == -1) {
		spawn_send(SPAWN_EXEC_FAILED, errno, STAGE_SETUP);
		_exit(1);
	}
	close(report[1]);
	if (sp->input_fd != -1)
		close(sp->input_fd);
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
			if (pid == -1 && errno == ECHILD && !main_alive) {
				/* All gone: the daemon may release the run. */
				if (!ctl_open)
					_exit(0);
				return;
			}
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

/* Read exactly len bytes (the job pipe is blocking); 0 at EOF or error. */
static int
spawn_read_all(int fd, void *buf, size_t len)
{
	char	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (0);
		p += n;
		len -= n;
	}
	return (1);
}

/* Take the next NUL-terminated string of a job, or NULL if it overruns. */
static char *
spawn_job_string(char **p, char *end)
{
	char	*s = *p, *nul;

	if (s >= end || (nul = memchr(s, '\0', end - s)) == NULL)
		return (NULL);
	*p = nul + 1;
	return (s);
}

/*
 * The script's stdin when it has input: a memfd holding it, read from the
 * start (a file, not a pipe: no writer to keep alive, any size at once).
 */
static int
spawn_input(const void *data, size_t len)
{
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd;

	if ((fd = memfd_create("microlight-input", MFD_CLOEXEC)) == -1)
		return (-1);
	while (off < len) {
		if ((n = write(fd, (const char *)data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			return (-1);
		}
		off += n;
	}
	if (lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* A variable of a job's environment ("MICROLIGHT_TASK"), or "?". */
const char *
spawn_env(char **envp, const char *name)
{
	size_t	 len = strlen(name);
	char	**e;

	for (e = envp; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return (*e + len + 1);
	}
	return ("?");
}

/*
 * Put descriptors received from the daemon in place: through copies above
 * SUP_JOB first, since one received may already sit on another's number.
 */
static int
spawn_place(const int *fds, const int *to, int n)
{
	int	 copy[3], i, ok = 1;

	for (i = 0; i < n; i++) {
		if ((copy[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, SUP_JOB + 1)) == -1)
			ok = 0;
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	for (i = 0; i < n; i++) {
		if (copy[i] == -1)
			continue;
		if (ok && dup3(copy[i], to[i], O_CLOEXEC) == -1)
			ok = 0;
		close(copy[i]);
	}
	return (ok ? 0 : -1);
}

/*
 * The run is over: say so, then wait for the daemon's word. New pipes
 * (stdout, stderr, job; SPAWN_CMD_AGAIN with SCM_RIGHTS) make this
 * supervisor a spare again: 0. The socket closing means exit: -1. A
 * command still queued for the run that is over is dropped.
 */
static int
spawn_recycle(void)
{
	static const int	 to[3] = { SUP_OUT, SUP_ERR, SUP_JOB };
	int			 fds[3], got, i;
	ssize_t			 n;
	char			 cmd;

	spawn_send(SPAWN_DONE, 0, 0);
	for (;;) {
		if ((n = proc_recv_fds(SUP_CTL, &cmd, 1, fds, 3, &got)) <= 0)
			return (-1);
		if (got == 0 && cmd != SPAWN_CMD_AGAIN)
			continue;	/* a late TERM or KILL */
		if (cmd == SPAWN_CMD_AGAIN && got == 3)
			return (spawn_place(fds, to, 3));
		for (i = 0; i < got; i++)
			close(fds[i]);
		return (-1);
	}
}

/*
 * A spare's life: made once, then a job, its run, and (if the daemon wants
 * it again) the next job, until the daemon lets it go.
 */
static __dead void
spawn_wait_job(void)
{
	struct spawn_job	 hdr;
	struct spawn		 sp;
	sigset_t		 chld;
	char			*buf, *p, *end;
	uint32_t		 i;
	int			 sfd, report[2], setup_errno;

	setsid();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	spawn_default_signals();
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

	for (;;) {
		setup_errno = 0;
		if (sfd == -1 || pipe2(report, O_CLOEXEC) == -1 ||
		    dup2(SUP_OUT, SUP_OUT + 10) == -1 ||
		    dup2(SUP_ERR, SUP_ERR + 10) == -1)
			setup_errno = sfd == -1 ? EMFILE : errno;

		if (!spawn_read_all(SUP_JOB, &hdr, sizeof hdr))
			_exit(0);
		if (setup_errno != 0) {
			spawn_send(SPAWN_EXEC_FAILED, setup_errno, STAGE_SETUP);
			_exit(1);
		}
		if (hdr.size < sizeof hdr || hdr.size > JOB_MAX ||
		    hdr.ngroups < 0 || hdr.ngroups > 65536)
			_exit(1);
		buf = xmalloc(hdr.size - sizeof hdr + 1);
		if (!spawn_read_all(SUP_JOB, buf, hdr.size - sizeof hdr))
			_exit(1);
		close(SUP_JOB);
		end = buf + hdr.size - sizeof hdr;

		memset(&sp, 0, sizeof sp);
		sp.change_user = hdr.change_user;
		sp.uid = hdr.uid;
		sp.gid = hdr.gid;
		sp.ngroups = hdr.ngroups;
		sp.kill_grace_ms = hdr.kill_grace_ms;
		sp.groups = (gid_t *)buf;
		p = buf + hdr.ngroups * sizeof (gid_t);
		sp.path = spawn_job_string(&p, end);
		sp.workdir = spawn_job_string(&p, end);
		sp.username = spawn_job_string(&p, end);
		sp.argv = xcalloc(2, sizeof *sp.argv);
		sp.argv[0] = (char *)sp.path;
		sp.envp = xcalloc(hdr.nenv + 1, sizeof *sp.envp);
		for (i = 0; i < hdr.nenv; i++)
			sp.envp[i] = spawn_job_string(&p, end);
		if (sp.path == NULL || sp.workdir == NULL ||
		    sp.username == NULL ||
		    (hdr.nenv > 0 && sp.envp[hdr.nenv - 1] == NULL) ||
		    hdr.input_len > (size_t)(end - p))
			_exit(1);
		/* Its title for ps: the run it supervises. */
		proc_title("microlight-run: %s[%s]", spawn_env(sp.envp,
		    "MICROLIGHT_TASK"), spawn_env(sp.envp, "MICROLIGHT_RUN_ID"));
		sp.input_fd = -1;
		if (hdr.input_len > 0 &&
		    (sp.input_fd = spawn_input(p, hdr.input_len)) == -1) {
			spawn_send(SPAWN_EXEC_FAILED, errno, STAGE_SETUP);
			_exit(1);
		}
		spawn_supervise(&sp, sfd, report);
		free(sp.envp);
		free(sp.argv);
		free(buf);
		if (spawn_recycle() == -1)
			_exit(0);
		proc_title("microlight-run: spare supervisor");
	}
}

/*
 * Fork a spare: a supervisor that waits for its job. Its control socket,
 * the run's stdout and stderr pipes and the job pipe are made now; sc gets
 * the other ends. Runs in the launcher (or, if there is none, the daemon).
 * Returns 0, or -1 with errno.
 */
int
spawn_fork_spare(struct spare *sc)
{
	int		 ctl[2], out[2], err[2], job[2], saved;
	sigset_t	 all, old;
	pid_t		 pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) == -1)
		return (-1);
	if (proc_pipes(out, err, job) == -1) {
		saved = errno;
		close(ctl[0]);
		close(ctl[1]);
		errno = saved;
		return (-1);
	}

	/* No signal handler of the parent may run in the child. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		/*
		 * Move the four descriptors to fixed numbers (through copies
		 * above the four, so none is overwritten first) and close
		 * every other descriptor of the parent. The copies go to the
		 * lowest free numbers past SUP_JOB: a fixed high number would
		 * fail under a low descriptor limit (ulimit -n 64).
		 */
		int c = fcntl(ctl[1], F_DUPFD_CLOEXEC, SUP_JOB + 1);
		int o = fcntl(out[1], F_DUPFD_CLOEXEC, SUP_JOB + 1);
		int e = fcntl(err[1], F_DUPFD_CLOEXEC, SUP_JOB + 1);
		int j = fcntl(job[0], F_DUPFD_CLOEXEC, SUP_JOB + 1);

		if (c == -1 || o == -1 || e == -1 || j == -1 ||
		    dup3(c, SUP_CTL, O_CLOEXEC) == -1 ||
		    dup3(o, SUP_OUT, O_CLOEXEC) == -1 ||
		    dup3(e, SUP_ERR, O_CLOEXEC) == -1 ||
		    dup3(j, SUP_JOB, O_CLOEXEC) == -1)
			_exit(1);
		closefrom(SUP_JOB + 1);
		proc_null_stdio();
		/* Its own name, so "pkill -x microlightd" spares it. */
		prctl(PR_SET_NAME, "microlight-run", 0, 0, 0);
		proc_title("microlight-run: spare supervisor");
		/* Signals stay blocked here; the script's child resets them. */
		spawn_wait_job();
	}
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(ctl[1]);
	close(out[1]);
	close(err[1]);
	close(job[0]);
	if (pid == -1) {
		close(ctl[0]);
		close(out[0]);
		close(err[0]);
		close(job[1]);
		errno = saved;
		return (-1);
	}
	sc->pid = pid;
	sc->ctl = ctl[0];
	sc->out = out[0];
	sc->err = err[0];
	sc->job = job[1];
	return (0);
}

/* Encode a job for a spare; returns an allocated buffer of *len bytes. */
char *
spawn_job_encode(const struct spawn *sp, size_t *len)
{
	struct spawn_job	 hdr;
	const char		*strs[3];
	char			*buf, *p;
	size_t			 size;
	u_int			 i, nenv;

	strs[0] = sp->path;
	strs[1] = sp->workdir;
	strs[2] = sp->username != NULL ? sp->username : "";
	for (nenv = 0; sp->envp[nenv] != NULL; nenv++)
		;
	size = sizeof hdr + sp->ngroups * sizeof (gid_t);
	for (i = 0; i < 3; i++)
		size += strlen(strs[i]) + 1;
	for (i = 0; i < nenv; i++)
		size += strlen(sp->envp[i]) + 1;
	size += sp->input_len;

	memset(&hdr, 0, sizeof hdr);
	hdr.size = size;
	hdr.change_user = sp->change_user;
	hdr.uid = sp->uid;
	hdr.gid = sp->gid;
	hdr.ngroups = sp->ngroups;
	hdr.nenv = nenv;
	hdr.kill_grace_ms = sp->kill_grace_ms;
	hdr.input_len = sp->input_len;
	buf = p = xmalloc(size);
	memcpy(p, &hdr, sizeof hdr);
	p += sizeof hdr;
	if (sp->ngroups > 0) {
		memcpy(p, sp->groups, sp->ngroups * sizeof (gid_t));
		p += sp->ngroups * sizeof (gid_t);
	}
	for (i = 0; i < 3; i++) {
		memcpy(p, strs[i], strlen(strs[i]) + 1);
		p += strlen(strs[i]) + 1;
	}
	for (i = 0; i < nenv; i++) {
		memcpy(p, sp->envp[i], strlen(sp->envp[i]) + 1);
		p += strlen(sp->envp[i]) + 1;
	}
	if (sp->input_len > 0)
		memcpy(p, sp->input, sp->input_len);
	*len = size;
	return (buf);
}
