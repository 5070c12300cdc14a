/* The client side of the control socket: connect, send, read frames. */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightctl.h"

/* Nothing listens on path: say how to start the daemon, and exit 69. */
static __dead void
conn_not_running(const char *path)
{
	char	*sys = paths_default(PATH_SOCKET_SYSTEM);
	int	 system = strcmp(path, sys) == 0;

	free(sys);
	if (system)
		errx(EXIT_UNAVAILABLE, "microlightd is not running (nothing "
		    "listens on %s): start it with 'systemctl start "
		    "microlightd'", path);
	errx(EXIT_UNAVAILABLE, "microlightd is not running (nothing listens "
	    "on %s): start it with 'microlightd -s %s' (microlightd(8)), or "
	    "name the socket of a running one with -s", path, path);
}

/* Connect to the daemon or exit 69 with the reason. */
void
conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un	 sun;

	memset(c, 0, sizeof *c);
	c->path = path;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path) >=
	    sizeof sun.sun_path)
		errx(EXIT_USAGE, "socket path too long: %s", path);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(EXIT_SOFTWARE, "socket");
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			conn_not_running(path);
		err(EXIT_UNAVAILABLE, "cannot connect to %s", path);
	}
	frame_reader_init(&c->fr, CLIENT_MAX_FRAME);
}

/* Close the connection. */
void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	frame_reader_free(&c->fr);
	free(c->line);
	c->line = NULL;
}

/*
 * The daemon closed the connection before taking the request: it may have
 * said why first (this user may not use it, too many clients).
 */
static __dead void
conn_refused(struct conn *c, int saved)
{
	char	 buf[4096], *cause;
	size_t	 len;
	ssize_t	 n;
	json_t	*msg;

	while ((n = read(c->fd, buf, sizeof buf)) > 0)
		frame_reader_feed(&c->fr, buf, n);
	free(c->line);
	c->line = NULL;
	if (frame_reader_line(&c->fr, &c->line, &len, &cause) == 1 &&
	    (msg = proto_decode(c->line, len, &cause)) != NULL) {
		if (json_output) {
			printf("%s\n", c->line);
			exit(exit_for_error(msg));
		}
		conn_fail(msg);
	}
	errno = saved;
	err(EXIT_UNAVAILABLE, "sending to microlightd");
}

/* Send one request; the message is consumed. */
void
conn_send(struct conn *c, json_t *msg)
{
	char	*buf, *p;
	size_t	 len;
	ssize_t	 n;

	/* Every request says which protocol it speaks. */
	json_object_set_new(msg, K_PROTOCOL, json_integer(ML_PROTO_VERSION));
	buf = proto_encode(msg, &len);
	json_decref(msg);
	for (p = buf; len > 0; p += n, len -= n) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			conn_refused(c, errno);
		if (n == -1)
			err(EXIT_UNAVAILABLE, "sending to microlightd");
	}
	free(buf);
}

/*
 * Read what the daemon sent next into the frame reader; 0 at EOF. Reads
 * are large: a raw output event's bytes come this way too.
 */
static size_t
conn_fill(struct conn *c)
{
	void	*space;
	ssize_t	 n;

	space = frame_reader_space(&c->fr, CLIENT_READ_SIZE);
	for (;;) {
		n = read(c->fd, space, CLIENT_READ_SIZE);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(EXIT_UNAVAILABLE, "reading from microlightd");
		frame_reader_fill(&c->fr, n);
		return (n);
	}
}

/*
 * Read the next message; NULL at a clean end of stream. The raw line stays
 * in c->line for --json. A malformed frame or an early EOF is fatal.
 */
json_t *
conn_recv(struct conn *c)
{
	char	*cause;
	size_t	 len;
	json_t	*msg;
	int	 rc;

	for (;;) {
		free(c->line);
		c->line = NULL;
		rc = frame_reader_line(&c->fr, &c->line, &len, &cause);
		if (rc == 1 && (msg = proto_decode(c->line, len, &cause)) !=
		    NULL)
			return (msg);
		if (rc != 0)
			errx(EXIT_SOFTWARE, "bad reply from microlightd: %s",
			    text_vis(cause));
		if (conn_fill(c) == 0) {
			if (c->fr.len != 0)
				errx(EXIT_SOFTWARE, "microlightd closed the "
				    "connection mid-message");
			return (NULL);
		}
	}
}

/*
 * Copy the len raw bytes that follow the last message (a raw output
 * event's) to fd. Those read with the message come first; the reader is
 * filled until it holds them all (or CLIENT_READ_SIZE), so that a chunk
 * goes out in one write rather than in the pieces the socket gave.
 */
void
conn_copy(struct conn *c, size_t len, int fd)
{
	const void	*data;
	size_t		 n;

	while (len > 0) {
		if (c->fr.len < len && c->fr.len < CLIENT_READ_SIZE &&
		    conn_fill(c) == 0)
			errx(EXIT_SOFTWARE, "microlightd closed the "
			    "connection mid-message");
		if (c->fr.len < len && c->fr.len < CLIENT_READ_SIZE)
			continue;
		n = frame_reader_take(&c->fr, &data, len);
		write_all(fd, data, n);
		len -= n;
	}
}

/*
 * Send a request and read its reply. An error reply is printed and exits
 * with the status for its code; so does a lost connection.
 */
json_t *
conn_request(struct conn *c, json_t *req)
{
	json_t	*reply;

	conn_send(c, req);
	if ((reply = conn_recv(c)) == NULL)
		errx(EXIT_UNAVAILABLE, "microlightd closed the connection");
	if (json_output)
		printf("%s\n", c->line);
	if (!json_is_true(json_object_get(reply, K_OK))) {
		if (json_output) {
			fflush(stdout);
			exit(exit_for_error(reply));
		}
		conn_fail(reply);
	}
	return (reply);
}

/*
 * Print an error reply's message, made visible (it may quote what a task
 * file or a caller wrote), and exit with the status for its code.
 */
__dead void
conn_fail(json_t *reply)
{
	json_t		*error = json_object_get(reply, K_ERROR), *problems, *p;
	const char	*msg;
	char		*v;
	size_t		 i;

	/* Refused parameters: each problem on a line of its own. */
	problems = json_object_get(error, K_PROBLEMS);
	if (json_array_size(problems) > 1) {
		json_array_foreach(problems, i, p) {
			if ((msg = jstr(p, K_MESSAGE)) == NULL)
				continue;
			v = text_vis(msg);
			warnx("%s", v);
			free(v);
		}
		exit(exit_for_error(reply));
	}
	msg = jstr(error, K_MESSAGE);
	v = text_vis(msg != NULL ? msg : "unknown error");
	warnx("%s", v);
	free(v);
	exit(exit_for_error(reply));
}

/* The exit status for an error reply's code. */
int
exit_for_error(json_t *reply)
{
	static const struct {
		const char	*code;
		int		 status;
	} codes[] = {
		{ E_USAGE, EXIT_USAGE },
		{ E_UNKNOWN_TASK, EXIT_DATAERR },
		{ E_INVALID_TASK, EXIT_DATAERR },
		{ E_BAD_PARAMS, EXIT_DATAERR },
		{ E_UNKNOWN_RUN, EXIT_DATAERR },
		{ E_NOT_ACTIVE, EXIT_DATAERR },
		{ E_RELOAD, EXIT_DATAERR },
		{ E_NO_WEBHOOK, EXIT_DATAERR },
		{ E_CONFIGURED, EXIT_DATAERR },
		{ E_TOKEN_EXISTS, EXIT_DATAERR },
		{ E_UNKNOWN_TOKEN, EXIT_DATAERR },
		{ E_SHUTTING_DOWN, EXIT_UNAVAILABLE },
		{ E_FORBIDDEN, EXIT_UNAVAILABLE },
		{ E_BUSY, EXIT_UNAVAILABLE },
		{ E_QUEUE_FULL, EXIT_UNAVAILABLE },
		{ E_PROTOCOL, EXIT_UNAVAILABLE },
	};
	const char	*code;
	u_int		 i;

	code = jstr(json_object_get(reply, K_ERROR), K_CODE);
	for (i = 0; code != NULL && i < sizeof codes / sizeof codes[0]; i++) {
		if (strcmp(codes[i].code, code) == 0)
			return (codes[i].status);
	}
	return (EXIT_SOFTWARE);
}
