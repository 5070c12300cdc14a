/* The HTTP listener: its address, whether loopback, the host names it has. */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "microlightd.h"

/*
 * Connections the kernel completes before the daemon accepts them: a
 * burst of them, or accepting paused for want of descriptors (fds.c),
 * waits here rather than have its SYNs dropped and retried a second
 * later (the kernel caps it at net.core.somaxconn).
 */
#define HTTP_BACKLOG	1024

static int			 http_fd = -1;
static char			*http_listen_text;	/* "127.0.0.1:8080" */
static char			*http_listen_host;	/* "127.0.0.1" */
static int			 http_listen_port;

static int	http_listen_loopback(void);

/* Whether an address is a loopback one. */
static int
http_listen_addr_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6	*s6;

	if (sa->sa_family == AF_INET)
		return ((ntohl(((const struct sockaddr_in *)sa)->sin_addr.
		    s_addr) >> 24) == 127);
	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		return (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
		    s6->sin6_addr.s6_addr[12] == 127));
	}
	return (0);
}

/*
 * Check a configuration for the HTTP side: its users-file can be read,
 * and a listener that is not on loopback has one. Used at start-up and
 * before a reload is accepted.
 */
int
http_listen_check_conf(const struct config *conf, char **cause)
{
	if (conf->users_file != NULL) {
		if (auth_check(conf->users_file, cause) != 0)
			return (-1);
	} else if (http_fd != -1 && !http_listen_loopback()) {
		xasprintf(cause, "listen %s is not a loopback address: a "
		    "users-file is needed", http_listen_text);
		return (-1);
	}
	return (0);
}

/* Whether the bound listener is on a loopback address. */
static int
http_listen_loopback(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;

	if (http_fd == -1)
		return (1);
	if (getsockname(http_fd, (struct sockaddr *)&ss, &len) == -1)
		return (0);
	return (http_listen_addr_loopback((struct sockaddr *)&ss));
}

/*
 * Resolve a listen address into res (host and port split off for the
 * caller); a non-loopback address needs a users-file.
 */
static int
http_listen_resolve(const struct config *conf, struct addrinfo **res,
    char **hostp, char **cause)
{
	struct addrinfo	 hints;
	char		*host, *port;
	const char	*text = conf->listen;
	int		 error;

	*res = NULL;
	host = xstrdup(text);
	port = strrchr(host, ':');
	*port++ = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV |
	    (strcmp(host, "localhost") == 0 ? 0 : AI_NUMERICHOST);
	if ((error = getaddrinfo(host, port, &hints, res)) != 0) {
		xasprintf(cause, "listen %s: %s (an IP address is needed)",
		    text, gai_strerror(error));
		*res = NULL;
		goto fail;
	}
	if (!http_listen_addr_loopback((*res)->ai_addr) &&
	    conf->users_file == NULL) {
		xasprintf(cause, "listen %s is not a loopback address: set a "
		    "users-file first (see microlight.conf(5))", text);
		goto fail;
	}
	*hostp = host;
	return (0);
fail:
	if (*res != NULL)
		freeaddrinfo(*res);
	*res = NULL;
	free(host);
	return (-1);
}

/*
 * What check mode (-n) can say without binding: the listen address
 * resolves, is allowed without a users-file, and the users-file reads.
 */
int
http_listen_check(const struct config *conf, char **cause)
{
	struct addrinfo	*res;
	char		*host;

	if (strcmp(conf->listen, "none") == 0)
		return (0);
	if (http_listen_resolve(conf, &res, &host, cause) != 0)
		return (-1);
	freeaddrinfo(res);
	free(host);
	return (http_listen_check_conf(conf, cause));
}

/*
 * Bind the listener (before daemonising, so the operator sees a failure).
 * "none" binds nothing. A non-loopback address needs a users-file.
 */
int
http_listen_bind(const struct config *conf, char **cause)
{
	struct addrinfo	*res;
	char		*host;
	const char	*text = conf->listen;
	int		 fd = -1, on = 1;

	if (strcmp(text, "none") == 0)
		return (0);
	if (http_listen_resolve(conf, &res, &host, cause) != 0)
		return (-1);
	/*
	 * TCP_NODELAY, which accepted connections inherit: evhttp writes
	 * 16 KiB at a time, and the end of a larger reply would otherwise
	 * wait for the client's delayed ACK (40 ms on a kept-alive page).
	 */
	if ((fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, HTTP_BACKLOG) == -1) {
		if (errno == EADDRINUSE)
			xasprintf(cause, "listen %s: %s (another program, or "
			    "another microlightd, has it: choose another "
			    "address with -l, or -l none)", text,
			    strerror(errno));
		else
			xasprintf(cause, "listen %s: %s", text,
			    strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		free(host);
		return (-1);
	}
	freeaddrinfo(res);
	http_fd = fd;
	http_listen_text = xstrdup(text);
	http_listen_host = host;
	http_listen_port = atoi(strrchr(text, ':') + 1);
	return (0);
}

/*
 * Take the HTTP listener systemd listens on (socket activation) in place
 * of listen; the Host check and the URLs handed out use its address.
 */
int
http_listen_adopt(int fd, char **cause)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	char			 host[NI_MAXHOST], port[NI_MAXSERV];
	int			 on = 1, error;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		xasprintf(cause, "the HTTP socket from systemd: %s",
		    strerror(errno));
		return (-1);
	}
	if ((error = getnameinfo((struct sockaddr *)&ss, len, host,
	    sizeof host, port, sizeof port, NI_NUMERICHOST |
	    NI_NUMERICSERV)) != 0) {
		xasprintf(cause, "the HTTP socket from systemd: %s",
		    gai_strerror(error));
		return (-1);
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == -1)
		log_warn("TCP_NODELAY on the HTTP socket from systemd");
	http_fd = fd;
	if (ss.ss_family == AF_INET6)
		xasprintf(&http_listen_text, "[%s]:%s", host, port);
	else
		xasprintf(&http_listen_text, "%s:%s", host, port);
	http_listen_host = xstrdup(host);
	http_listen_port = atoi(port);
	return (0);
}

/* The address the page is served on ("127.0.0.1:8080"), or NULL. */
const char *
http_listen_address(void)
{
	return (http_listen_text);
}

/*
 * The URL others reach the page by, without its last '/', for the URLs the
 * daemon hands out (a webhook's, a run's in MICROLIGHT_URL): base-url if
 * it is set; else http:// and the listen address, or, when that is every
 * address (0.0.0.0, [::]), the first of allowed-hosts with the port. NULL
 * when there is no listener.
 */
const char *
http_listen_public_url(void)
{
	static char	 buf[320];

	if (http_listen_text == NULL)
		return (NULL);
	if (ml_conf->base_url != NULL)
		return (ml_conf->base_url);
	if ((strcmp(http_listen_host, "0.0.0.0") == 0 ||
	    strcmp(http_listen_host, "::") == 0) &&
	    ml_conf->nallowed_hosts > 0)
		snprintf(buf, sizeof buf, "http://%s:%d",
		    ml_conf->allowed_hosts[0], http_listen_port);
	else
		snprintf(buf, sizeof buf, "http://%s", http_listen_text);
	return (buf);
}

/*
 * A Host (or an Origin without its scheme) parsed strictly as host[:port]:
 * a name of letters, digits, '-', '.' and '_', or an IPv6 literal in
 * brackets, then nothing or ':' and a port of 1 to 5 digits up to 65535.
 * The name, without brackets, goes into name; -1 for anything else
 * ("localhost:evil.example", "127.0.0.1:8080/x", "a b", "[::1]x").
 */
static int
http_listen_host_name(const char *host, char *name, size_t len)
{
	struct in6_addr	 in6;
	const char	*p, *end;
	size_t		 n;
	long		 port;

	if (host[0] == '[') {
		if ((end = strchr(host, ']')) == NULL)
			return (-1);
		p = host + 1;
		n = end - p;
		end++;
	} else {
		for (end = host; *end != '\0' && *end != ':'; end++) {
			if (!isalnum((u_char)*end) && *end != '-' &&
			    *end != '.' && *end != '_')
				return (-1);
		}
		p = host;
		n = end - p;
	}
	if (n == 0 || n >= len)
		return (-1);
	memcpy(name, p, n);
	name[n] = '\0';
	if (host[0] == '[' && inet_pton(AF_INET6, name, &in6) != 1)
		return (-1);
	if (*end == '\0')
		return (0);
	if (*end != ':' || end[1] == '\0' || strlen(end + 1) > 5 ||
	    strspn(end + 1, "0123456789") != strlen(end + 1))
		return (-1);
	port = strtol(end + 1, NULL, 10);
	return (port > 0 && port <= 65535 ? 0 : -1);
}

/* Whether a host[:port] names a host in allowed-hosts or base-url. */
int
http_listen_host_allowed(const char *host)
{
	char	 name[256], base[256];
	u_int	 i;

	if (http_listen_host_name(host, name, sizeof name) != 0)
		return (0);
	for (i = 0; i < ml_conf->nallowed_hosts; i++) {
		if (strcasecmp(name, ml_conf->allowed_hosts[i]) == 0)
			return (1);
	}
	/* base-url's host is where people reach us, by definition. */
	if (ml_conf->base_host != NULL && http_listen_host_name(
	    ml_conf->base_host, base, sizeof base) == 0 &&
	    strcasecmp(name, base) == 0)
		return (1);
	return (0);
}

/* Whether a Host is ours: the listen address, localhost, allowed-hosts. */
int
http_listen_host_known(const char *host)
{
	char	 name[256];

	if (http_listen_host_name(host, name, sizeof name) != 0)
		return (0);
	if (strcasecmp(name, "localhost") == 0 ||
	    strcasecmp(name, http_listen_host) == 0)
		return (1);
	return (http_listen_host_allowed(host));
}

/* The listener's descriptor, or -1 if there is none. */
int
http_listen_fd(void)
{
	return (http_fd);
}

/* The listener was closed (evhttp closes it): forget it and its address. */
void
http_listen_clear(void)
{
	http_fd = -1;
	free(http_listen_text);
	free(http_listen_host);
	http_listen_text = http_listen_host = NULL;
}
