/*
 * Processes: descendants from the /proc table, stdio for helpers, and
 * the titles ps shows.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"

static int	 proc_args_len;	/* of the command line we started with */

struct proc_entry {
	pid_t	 pid;
	pid_t	 ppid;
};

/* The parent of a process from /proc/PID/stat, or -1 if it is gone. */
static pid_t
proc_parent(pid_t pid)
{
	char	 path[64], buf[512], *p;
	ssize_t	 n;
	int	 fd;
	long	 ppid;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	if (sscanf(p + 1, " %*c %ld", &ppid) != 1)
		return (-1);
	return ((pid_t)ppid);
}

/* Every process and its parent; returns the count or -1. */
static int
proc_table(struct proc_entry **out)
{
	struct proc_entry	*tab = NULL;
	struct dirent		*de;
	DIR			*d;
	int			 n = 0, size = 0;
	pid_t			 pid, ppid;

	if ((d = opendir("/proc")) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((u_char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if ((ppid = proc_parent(pid)) == -1)
			continue;
		if (n == size) {
			size = size == 0 ? 256 : size * 2;
			tab = xreallocarray(tab, size, sizeof *tab);
		}
		tab[n].pid = pid;
		tab[n].ppid = ppid;
		n++;
	}
	closedir(d);
	*out = tab;
	return (n);
}

/* Whether pid is in a list. */
int
proc_listed(pid_t pid, const pid_t *list, u_int n)
{
	u_int	 i;

	for (i = 0; i < n; i++) {
		if (list[i] == pid)
			return (1);
	}
	return (0);
}

/*
 * Send sig to every descendant of root, but not to root itself nor to the
 * subtrees of the excluded processes. Returns how many were signalled.
 */
int
proc_signal_descendants(pid_t root, int sig, const pid_t *exclude,
    u_int nexclude)
{
	struct proc_entry	*tab;
	pid_t			*todo;
	int			 n, i, ntodo = 0, done = 0, signalled = 0;

	if ((n = proc_table(&tab)) <= 0)
		return (0);
	todo = xreallocarray(NULL, n + 1, sizeof *todo);
	todo[ntodo++] = root;
	/* Breadth first: each process's children join the list. */
	while (done < ntodo) {
		pid_t parent = todo[done++];

		for (i = 0; i < n; i++) {
			if (tab[i].ppid != parent || tab[i].pid == root)
				continue;
			if (proc_listed(tab[i].pid, exclude, nexclude))
				continue;
			if (proc_listed(tab[i].pid, todo, ntodo))
				continue;
			todo[ntodo++] = tab[i].pid;
			if (kill(tab[i].pid, sig) == 0)
				signalled++;
		}
	}
	free(todo);
	free(tab);
	return (signalled);
}

/* Point standard input, output and error at /dev/null. */
void
proc_null_stdio(void)
{
	int	 null;

	if ((null = open("/dev/null", O_RDWR)) == -1)
		return;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
}

/* Before anything reads argv or the environment: set titles up. */
void
proc_title_init(int argc, char **argv)
{
	extern char	**environ;

	if (argc > 0)
		proc_args_len = argv[argc - 1] + strlen(argv[argc - 1]) -
		    argv[0];
	setproctitle_init(argc, argv, environ);
}

/*
 * Set the title ps shows ("microlightd: 3 tasks ..."). It is padded with
 * spaces to the length of the command line the daemon started with:
 * libbsd marks a shorter title's end with a '.' that ps would show.
 */
void
proc_title(const char *fmt, ...)
{
	char	 buf[256];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	setproctitle("-%-*s", proc_args_len, buf);
}

/* The most descriptors one message carries (a spare's four). */
#define PROC_FDS_MAX	4

/*
 * Make the three close-on-exec pipes of a run (stdout, stderr, job): all
 * of them, or none (0, or -1 with errno).
 */
int
proc_pipes(int out[2], int err[2], int job[2])
{
	int	*p[3] = { out, err, job }, i, saved;

	for (i = 0; i < 3; i++) {
		if (pipe2(p[i], O_CLOEXEC) == -1) {
			saved = errno;
			while (i-- > 0) {
				close(p[i][0]);
				close(p[i][1]);
			}
			errno = saved;
			return (-1);
		}
	}
	return (0);
}

/* Close the three pipes of proc_pipes, errno kept. */
void
proc_pipes_close(int out[2], int err[2], int job[2])
{
	int	*p[3] = { out, err, job }, saved = errno, i;

	for (i = 0; i < 3; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	errno = saved;
}


/*
 * Send len bytes on a Unix socket with nfds descriptors attached
 * (SCM_RIGHTS; none if 0), retrying EINTR. Returns sendmsg's result.
 */
ssize_t
proc_send_fds(int sock, const void *data, size_t len, const int *fds,
    int nfds)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(PROC_FDS_MAX * sizeof (int))];
	} cbuf;
	ssize_t		 n;

	memset(&mh, 0, sizeof mh);
	memset(&cbuf, 0, sizeof cbuf);
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0 && nfds <= PROC_FDS_MAX) {
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof (int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof (int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof (int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return (n);
}

/*
 * Receive up to len bytes from a Unix socket, retrying EINTR, with the
 * descriptors attached made close-on-exec. *got is nfds when exactly that
 * many came (in fds), else 0 (any others are closed). Returns recvmsg's
 * result.
 */
ssize_t
proc_recv_fds(int sock, void *data, size_t len, int *fds, int nfds, int *got)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(PROC_FDS_MAX * sizeof (int))];
	} cbuf;
	int		 in[PROC_FDS_MAX], i, k;
	ssize_t		 n;

	*got = 0;
	memset(&mh, 0, sizeof mh);
	iov.iov_base = data;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof cbuf.buf;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1 || (cm = CMSG_FIRSTHDR(&mh)) == NULL ||
	    cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return (n);
	k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof (int);
	if (k > PROC_FDS_MAX)
		k = PROC_FDS_MAX;
	memcpy(in, CMSG_DATA(cm), k * sizeof (int));
	if (k == nfds && (mh.msg_flags & MSG_CTRUNC) == 0) {
		memcpy(fds, in, k * sizeof (int));
		*got = k;
	} else {
		for (i = 0; i < k; i++)
			close(in[i]);
	}
	return (n);
}
