/*
 * systemd socket activation (sd_listen_fds(3), done by hand): the sockets
 * systemd listens on for us arrive as descriptors 3, 4, ... with
 * LISTEN_FDS saying how many, LISTEN_PID whose they are and LISTEN_FDNAMES
 * their names (FileDescriptorName= in the socket units). "control" is the
 * control socket and "http" the HTTP listener; a socket with another name
 * is told by its kind (a Unix stream socket is the control socket, a TCP
 * one the HTTP listener). Whatever is not passed is bound as usual.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"

#define ACTIVATE_FIRST_FD	3	/* SD_LISTEN_FDS_START */
#define ACTIVATE_MAX_FDS	16

static int	activate_fds[ACTIVATE_NKINDS] = { -1, -1 };
static const char *activate_names[ACTIVATE_NKINDS] = { "control", "http" };

/* Which kind of socket fd is, by its name or else by what it is; -1 none. */
static int
activate_kind(int fd, const char *name, char **cause)
{
	int		 domain, type, listening, i;
	socklen_t	 len;

	len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1) {
		xasprintf(cause, "descriptor %d from systemd is not a socket",
		    fd);
		return (-1);
	}
	len = sizeof domain;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1)
		domain = AF_UNSPEC;
	len = sizeof listening;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1)
		listening = 0;
	if (type != SOCK_STREAM || !listening) {
		xasprintf(cause, "socket %d from systemd (%s) is not a "
		    "listening stream socket (Accept=no, ListenStream=)", fd,
		    name != NULL ? name : "unnamed");
		return (-1);
	}
	for (i = 0; name != NULL && i < ACTIVATE_NKINDS; i++) {
		if (strcmp(name, activate_names[i]) == 0)
			break;
	}
	if (name == NULL || i == ACTIVATE_NKINDS) {
		if (domain == AF_UNIX)
			return (ACTIVATE_CONTROL);
		if (domain == AF_INET || domain == AF_INET6)
			return (ACTIVATE_HTTP);
		xasprintf(cause, "socket %d from systemd (%s) is neither a "
		    "Unix nor a TCP socket", fd, name != NULL ? name :
		    "unnamed");
		return (-1);
	}
	if ((i == ACTIVATE_CONTROL && domain != AF_UNIX) ||
	    (i == ACTIVATE_HTTP && domain != AF_INET && domain != AF_INET6)) {
		xasprintf(cause, "socket %d from systemd is named %s but is "
		    "not a %s socket", fd, activate_names[i],
		    i == ACTIVATE_CONTROL ? "Unix" : "TCP");
		return (-1);
	}
	return (i);
}

/*
 * At start-up: take the sockets systemd passed, if they are ours. Fails
 * (saying why) on a socket of the wrong sort or two of one kind.
 */
int
activate_init(char **cause)
{
	const char	*pid, *fds, *names, *errstr;
	char		*copy = NULL, *next, *name;
	long long	 n;
	int		 i, fd, kind, flags;

	pid = getenv("LISTEN_PID");
	fds = getenv("LISTEN_FDS");
	if (pid == NULL || fds == NULL)
		return (0);
	if (strtonum(pid, 1, INT_MAX, &errstr) != (long long)getpid())
		return (0);	/* meant for another process */
	n = strtonum(fds, 0, ACTIVATE_MAX_FDS, &errstr);
	if (errstr != NULL) {
		xasprintf(cause, "LISTEN_FDS=%s is %s", fds, errstr);
		return (-1);
	}
	if ((names = getenv("LISTEN_FDNAMES")) != NULL)
		next = copy = xstrdup(names);
	else
		next = NULL;
	for (i = 0; i < n; i++) {
		fd = ACTIVATE_FIRST_FD + i;
		name = next != NULL ? strsep(&next, ":") : NULL;
		if ((kind = activate_kind(fd, name, cause)) == -1)
			goto fail;
		if (activate_fds[kind] != -1) {
			xasprintf(cause, "systemd passed two %s sockets (%d and "
			    "%d): microlightd takes one of each",
			    activate_names[kind], activate_fds[kind], fd);
			goto fail;
		}
		if ((flags = fcntl(fd, F_GETFL)) == -1 ||
		    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
			xasprintf(cause, "socket %d from systemd: %s", fd,
			    strerror(errno));
			goto fail;
		}
		activate_fds[kind] = fd;
	}
	free(copy);
	return (0);
fail:
	free(copy);
	return (-1);
}

/* The passed socket of a kind, handed over to the caller; or -1. */
int
activate_take(int kind)
{
	int	fd = activate_fds[kind];

	activate_fds[kind] = -1;
	return (fd);
}
