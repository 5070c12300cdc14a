/* The control socket: listening, peers, request lines and their limits. */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <stddef.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "microlightd.h"

#define CONTROL_MAX_CLIENTS	256
#define CONTROL_IDLE_SECONDS	60	/* a silent client is dropped */
#define CONTROL_STALL_SECONDS	60	/* so is one that reads nothing */
/*
 * Replies a client has not read: past this, its next request is not read
 * (its input then stops at ML_MAX_REQUEST, the read watermark), so one
 * client holds at most this much output plus one reply, and about
 * ML_MAX_REQUEST of input.
 */
#define CONTROL_MAX_PENDING	FOLLOW_HIGH
#define CONTROL_MAX_WRITE	(4 * FOLLOW_HIGH) /* one write() at most */

struct client {
	struct bufferevent	*bev;
	uid_t			 uid;
	char			*who;	/* "uid=1000(alice)" */
	struct who		*asker;	/* its user and groups (access.c) */
	int			 dead;
	int			 eof;	/* the client sent all it will */
	int			 closing; /* close once the output is out */
	int			 discarding; /* skipping an oversized request */
	struct follower		*follower; /* the run it follows */
	int			 raw;	/* its output events as raw bytes */
	struct backup		*backup;
	int			 holding; /* replies wait for the batch */
	struct held		*held;
	size_t			 nheld, heldsize, heldbytes;
	TAILQ_ENTRY(client)	 entry;
};

/*
 * A reply made while the client's requests are read: it goes out once
 * the writes they made are committed, or as an error if the batch its
 * request wrote in (gen, 0: none) was undone.
 */
struct held {
	char			*line;
	size_t			 len;
	uint64_t		 gen;
};
TAILQ_HEAD(clients, client);

static struct clients	 clients = TAILQ_HEAD_INITIALIZER(clients);
static struct clients	 clients_dead = TAILQ_HEAD_INITIALIZER(clients_dead);
static u_int		 nclients;
static int		 control_fd = -1;
static char		*control_path;
static int		 control_owned;	/* we bound it: unlink at exit */
static gid_t		 control_gid = (gid_t)-1; /* may connect; -1 none */
static struct event	*ev_accept;
static struct event	*ev_gc;

static size_t	control_pending(struct client *);
static int	control_make_room(void);
static int	control_evict_idle(void);

/*
 * Buffers of raw output events (a line and the chunk after it), handed to
 * a client's output by reference and taken back once written. Copied into
 * libevent's own buffers instead, the chunks were freed as they went out,
 * which left the top of the heap free for malloc to give back, and the
 * next chunks faulted it in again: 15% of the daemon's time in logs. At
 * most CONTROL_RAW_SPARE are kept, and none once no client follows a run
 * raw.
 */
#define CONTROL_RAW_SIZE	(OUTPUT_CHUNK_SIZE + 256)
#define CONTROL_RAW_SPARE	(FOLLOW_HIGH / OUTPUT_CHUNK_SIZE + 2)
static void		*raw_spare[CONTROL_RAW_SPARE];
static u_int		 nraw_spare;
static u_int		 nraw_clients;	/* following a run raw */

/* A buffer for a raw output event, of CONTROL_RAW_SIZE bytes. */
static void *
control_raw_get(void)
{
	if (nraw_spare > 0)
		return (raw_spare[--nraw_spare]);
	return (xmalloc(CONTROL_RAW_SIZE));
}

/* A raw output event was written (or its client went): keep its buffer. */
static void
control_raw_put(const void *data, size_t len, void *arg)
{
	if (nraw_clients > 0 && nraw_spare < CONTROL_RAW_SPARE)
		raw_spare[nraw_spare++] = arg;
	else
		free(arg);
}

/* A client stops following a run: the last raw one lets the buffers go. */
static void
control_follow_done(struct client *c)
{
	c->follower = NULL;
	if (!c->raw)
		return;
	c->raw = 0;
	if (--nraw_clients == 0) {
		while (nraw_spare > 0)
			free(raw_spare[--nraw_spare]);
	}
}

/*
 * Lines were queued to a client whose output was empty (was_empty):
 * write now rather than on the next turn of the loop, so a reply is not
 * held up by whatever else this turn does (forking a supervisor takes a
 * while).
 */
static void
control_flush(struct client *c, int was_empty)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	int		 n;

	if (!was_empty)
		return;
	/*
	 * A socket bufferevent keeps the start of its output frozen (only
	 * its own write callback drains it): thaw it for this write, or
	 * evbuffer_write fails without a system call.
	 */
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, bufferevent_getfd(c->bev));
	evbuffer_freeze(out, 1);
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		log_debug("control: %s: write: %s", c->who, strerror(errno));
}

/*
 * Queue a line to a client, and datalen raw bytes after it (those of a raw
 * output event), or hold them while its requests are read. The line is
 * allocated and consumed; the raw bytes are copied.
 */
static void
control_queue(struct client *c, char *line, size_t len, const void *data,
    size_t datalen)
{
	struct held	*h;
	int		 empty;

	if (c->dead) {
		free(line);
		return;
	}
	if (c->holding) {
		if (datalen > 0) {
			line = xreallocarray(line, 1, len + datalen);
			memcpy(line + len, data, datalen);
			len += datalen;
		}
		if (c->nheld == c->heldsize)
			c->held = xreallocarray(c->held, c->heldsize =
			    c->heldsize * 2 + 16, sizeof *c->held);
		h = &c->held[c->nheld++];
		h->line = line;
		h->len = len;
		h->gen = 0;
		c->heldbytes += len;
		return;
	}
	empty = control_pending(c) == 0;
	bufferevent_write(c->bev, line, len);
	if (datalen > 0)
		bufferevent_write(c->bev, data, datalen);
	control_flush(c, empty);
	free(line);
}

/* Queue a message to a client (or hold it); the message is consumed. */
static void
control_send(struct client *c, json_t *msg)
{
	char	*line;
	size_t	 len;

	if (msg == NULL)
		fatalx("control_send: no message");
	line = proto_encode(msg, &len);
	json_decref(msg);
	control_queue(c, line, len, NULL, 0);
}

/* Reply with an error. */
void
control_client_error(struct client *c, const char *code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	control_send(c, proto_error(code, "%s", msg));
	free(msg);
}

/* Free the clients marked dead, outside of their own callbacks. */
static void
control_gc_cb(int fd, short events, void *arg)
{
	struct client	*c;

	while ((c = TAILQ_FIRST(&clients_dead)) != NULL) {
		TAILQ_REMOVE(&clients_dead, c, entry);
		bufferevent_free(c->bev);
		free(c->held);
		who_free(c->asker);
		free(c->who);
		free(c);
		fds_client_del();
	}
}

/* Drop a client: mark it dead now, free it from the loop. */
static void
control_client_kill(struct client *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	if (c->follower != NULL) {
		follow_cancel(c->follower);
		control_follow_done(c);
	}
	if (c->backup != NULL) {
		backup_abort(c->backup);
		c->backup = NULL;
	}
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	TAILQ_REMOVE(&clients, c, entry);
	nclients--;
	TAILQ_INSERT_TAIL(&clients_dead, c, entry);
	event_active(ev_gc, EV_TIMEOUT, 0);
}

/* Close a client once its output is written. */
static void
control_client_close(struct client *c)
{
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (!c->holding && control_pending(c) == 0)
		control_client_kill(c);
}

/*
 * A chunk of a followed run's output, as an output event: its line and the
 * bytes as they are if the client asked for them raw, else one line with
 * them in base64.
 */
static void
control_follow_output(void *arg, int64_t seq, enum run_stream stream,
    int64_t time, const void *data, size_t len)
{
	struct client	*c = arg;
	json_t		*head;
	char		*line, *buf;
	size_t		 linelen;
	int		 empty;

	if (!c->raw) {
		control_send(c, proto_output_event(stream, seq, time, data,
		    len));
		return;
	}
	head = proto_output_head(stream, seq, time, len);
	line = proto_encode(head, &linelen);
	json_decref(head);
	if (c->dead || c->holding || linelen + len > CONTROL_RAW_SIZE) {
		control_queue(c, line, linelen, data, len);
		return;
	}
	buf = control_raw_get();
	memcpy(buf, line, linelen);
	memcpy(buf + linelen, data, len);
	free(line);
	empty = control_pending(c) == 0;
	if (evbuffer_add_reference(bufferevent_get_output(c->bev), buf,
	    linelen + len, control_raw_put, buf) == -1)
		fatalx("control: out of memory");
	control_flush(c, empty);
}

/* A followed run started: a status event. */
static void
control_follow_status(void *arg, json_t *run)
{
	struct client	*c = arg;

	control_send(c, json_pack("{s:s,s:o}", K_EVENT, EV_STATUS, K_RUN, run));
}

/*
 * A follow or a backup is over, its last line queued: close a client that
 * sent all it will, else read its next request, held back meanwhile.
 */
static void
control_client_resume(struct client *c)
{
	if (c->eof)
		control_client_close(c);
	else
		bufferevent_trigger(c->bev, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/*
 * The end of a followed run: the end event, then the requests that
 * arrived meanwhile are read from the loop (or the client is closed).
 */
static void
control_follow_end(void *arg, json_t *run)
{
	struct client	*c = arg;

	control_follow_done(c);
	control_send(c, json_pack("{s:s,s:o}", K_EVENT, EV_END, K_RUN, run));
	control_client_resume(c);
}

/* The output could not be read: an error in place of the end. */
static void
control_follow_failed(void *arg, const char *message)
{
	struct client	*c = arg;

	control_follow_done(c);
	control_client_error(c, E_INTERNAL, "%s", message);
	control_client_resume(c);
}

/* Unsent bytes of a following client. */
static size_t
control_follow_pending(void *arg)
{
	return (control_pending(arg));
}

/* How a followed run reaches a client. */
static const struct follow_sink control_sink = {
	control_follow_output,
	control_follow_status,
	control_follow_end,
	control_follow_pending,
	control_follow_failed,
};

/*
 * Start following a run for a client (the run may already be over); raw:
 * its output events as raw bytes (K_RAW).
 */
void
control_client_follow(struct client *c, int64_t id, int output, int follow,
    int stream, int raw)
{
	struct follower	*f;

	f = follow_start(id, output, follow, stream, &control_sink, c);
	c->follower = f;
	c->raw = raw;
	if (raw)
		nraw_clients++;
	follow_pump(f);
}

/* A backup's copy is made: the reply, with its size; data events follow. */
static void
control_backup_ready(void *arg, int64_t size)
{
	struct client	*c = arg;
	json_t		*reply;

	reply = proto_ok();
	json_object_set_new(reply, K_SIZE, json_integer(size));
	control_send(c, reply);
}

/* A piece of a backup, as a data event (base64). */
static void
control_backup_data(void *arg, const void *data, size_t len)
{
	struct client	*c = arg;
	char		*b64;

	b64 = base64_encode(data, len, NULL);
	control_send(c, json_pack("{s:s,s:s}", K_EVENT, EV_DATA, K_DATA, b64));
	free(b64);
}

/* A backup is over: the client may send requests again. */
static void
control_backup_done(struct client *c)
{
	c->backup = NULL;
	if (!c->dead)
		control_client_resume(c);
}

/* All of a backup was sent: the end event, with its size. */
static void
control_backup_end(void *arg, int64_t size)
{
	struct client	*c = arg;

	control_send(c, json_pack("{s:s,s:I}", K_EVENT, EV_END, K_SIZE,
	    (json_int_t)size));
	control_backup_done(c);
}

/* A backup failed: an error, in place of the reply or of the end. */
static void
control_backup_failed(void *arg, const char *message)
{
	struct client	*c = arg;

	control_client_error(c, E_INTERNAL, "%s", message);
	control_backup_done(c);
}

/*
 * How a backup reaches a client: 48 KiB per data event (64 KiB once in
 * base64), paused while FOLLOW_HIGH is unsent.
 */
static const struct backup_sink control_backup_sink = {
	control_backup_ready,
	control_backup_data,
	control_backup_end,
	control_follow_pending,
	control_backup_failed,
	48 * 1024,
	FOLLOW_HIGH,
};

/* Start a backup for a client; on failure, err says why. */
int
control_client_backup(struct client *c, struct ops_error *err)
{
	c->backup = backup_start(c->who, &control_backup_sink, c, err);
	return (c->backup != NULL ? 0 : -1);
}

/* Who a client is, for logs and for the runs it starts. */
const char *
control_client_who(struct client *c)
{
	return (c->who);
}

/* Who a client is, for access.c's rule. */
const struct who *
control_client_asker(struct client *c)
{
	return (c->asker);
}

/* The user id of a client's process, read when it connected. */
uid_t
control_client_uid(struct client *c)
{
	return (c->uid);
}

/* Send a message to a client (the message is consumed). */
void
control_client_send(struct client *c, json_t *msg)
{
	control_send(c, msg);
}

/*
 * Queue text made of whole lines (allocated, consumed) as one write: a
 * list a task at a time goes out in one system call, not one a task.
 */
void
control_client_send_text(struct client *c, char *text, size_t len)
{
	control_queue(c, text, len, NULL, 0);
}

/*
 * Queue messages (an array, consumed), each a line of its own, as one
 * write: a list a task at a time goes out in one system call, not one a
 * task.
 */
void
control_client_send_lines(struct client *c, json_t *msgs)
{
	json_t	*msg;
	char	*text = NULL, *line;
	size_t	 i, len, total = 0, size = 0;

	json_array_foreach(msgs, i, msg) {
		line = proto_encode(msg, &len);
		if (total + len + 1 > size) {
			size = (total + len + 1) * 2;
			text = xreallocarray(text, 1, size);
		}
		memcpy(text + total, line, len + 1);
		total += len;
		free(line);
	}
	json_decref(msgs);
	if (text != NULL)
		control_queue(c, text, total, NULL, 0);
}

/*
 * Read request lines. While a client follows a run, further lines wait in
 * its buffer. A line over the limit gets an error as soon as the limit is
 * passed, and the rest of it is skipped up to its newline.
 */
static void
control_read_lines(struct client *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 eol;
	size_t			 eollen, len, first;
	uint64_t		 joins;
	char			*line;

	while (!c->dead && !c->closing && c->follower == NULL &&
	    c->backup == NULL) {
		/* Replies pile up: the rest waits until they are read. */
		if (control_pending(c) >= CONTROL_MAX_PENDING)
			return;
		eol = evbuffer_search_eol(in, NULL, &eollen, EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			len = evbuffer_get_length(in);
			if (c->discarding)
				evbuffer_drain(in, len);
			else if (len >= ML_MAX_REQUEST) {
				/* Answer now, skip the rest of the line. */
				evbuffer_drain(in, len);
				control_client_error(c, E_TOO_LARGE, "request "
				    "longer than %d bytes", ML_MAX_REQUEST);
				c->discarding = 1;
			}
			if (c->eof)
				control_client_close(c);
			return;
		}
		len = eol.pos;
		if (c->discarding) {
			evbuffer_drain(in, len + 1);
			c->discarding = 0;
			continue;
		}
		if (len + 1 > ML_MAX_REQUEST) {
			evbuffer_drain(in, len + 1);
			control_client_error(c, E_TOO_LARGE, "request longer "
			    "than %d bytes", ML_MAX_REQUEST);
			continue;
		}
		line = xmalloc(len + 1);
		evbuffer_remove(in, line, len + 1);
		line[len] = '\0';
		first = c->nheld;
		joins = db_batch_joins();
		control_cmd_dispatch(c, line, len);
		free(line);
		if (db_batch_joins() != joins)
			for (; first < c->nheld; first++)
				c->held[first].gen = db_batch_gen();
	}
}

/*
 * The replies held while requests were read go out, now that what they
 * wrote is committed; those whose writes were undone say so instead.
 */
static void
control_release(struct client *c)
{
	struct held	*h;
	json_t		*err;
	size_t		 i;
	int		 empty;

	c->holding = 0;
	empty = control_pending(c) == c->heldbytes;
	for (i = 0; i < c->nheld; i++) {
		h = &c->held[i];
		if (!c->dead && db_batch_failed(h->gen)) {
			free(h->line);
			err = proto_error(E_INTERNAL, "the run could not be "
			    "recorded (see the daemon's log)");
			h->line = proto_encode(err, &h->len);
			json_decref(err);
		}
		if (!c->dead)
			bufferevent_write(c->bev, h->line, h->len);
		free(h->line);
	}
	c->nheld = c->heldbytes = 0;
	if (!c->dead)
		control_flush(c, empty);
	if (!c->dead && c->closing && control_pending(c) == 0)
		control_client_kill(c);
}

/*
 * Requests that came in: read in one batch of writes (see db_batch_join),
 * committed before any reply goes out.
 */
static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	c->holding = 1;
	db_batch_allow(1);
	control_read_lines(c);
	db_batch_allow(0);
	db_flush();
	control_release(c);
}

/* Output drained: close if asked, or send more of a followed run. */
static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	if (c->dead)
		return;
	if (c->follower != NULL)
		follow_pump(c->follower);
	else if (c->backup != NULL)
		backup_pump(c->backup);
	else if (!c->closing)
		control_read_cb(bev, c);	/* requests held back, or EOF */
	if (!c->dead && c->closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		control_client_kill(c);
}

/* EOF, error or idle timeout. */
static void
control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client	*c = arg;

	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING)) {
		/* Nothing it was sent has been read for a long while. */
		log_warnx("control: %s: read nothing of %zu bytes for %d "
		    "seconds: cut off", c->who, control_pending(c),
		    CONTROL_STALL_SECONDS);
		control_client_kill(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (c->follower != NULL || c->backup != NULL) {
			bufferevent_enable(bev, EV_READ);
			return;
		}
		log_debug("control: %s: idle, closing", c->who);
		control_client_kill(c);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    (c->follower != NULL || c->backup != NULL || evbuffer_get_length(
	    bufferevent_get_output(bev)) > 0 ||
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0)) {
		/* Half-closed: answer what was asked, then close. */
		c->eof = 1;
		if (c->follower == NULL && c->backup == NULL)
			control_read_cb(bev, c);
		/* Requests held back for unread replies are answered first. */
		if (!c->dead && c->follower == NULL && c->backup == NULL &&
		    evbuffer_get_length(bufferevent_get_input(bev)) == 0)
			control_client_close(c);
		return;
	}
	control_client_kill(c);
}

/* Descriptors are short: stop accepting (fds.c). */
static void
control_accept_pause(void)
{
	if (ev_accept != NULL)
		event_del(ev_accept);
}

/* Descriptors are back: accept again (fds.c). */
static void
control_accept_resume(void)
{
	if (ev_accept != NULL && control_fd != -1 && !ml_shutting_down)
		event_add(ev_accept, NULL);
}

/*
 * Who a peer is: "uid=1000(alice)" recorded on its runs, and the user with
 * groups that access rules match. Reading the password and group
 * databases for every connection cost more system calls than the command
 * itself, so the last peer's answer is kept while /etc/passwd and
 * /etc/group are unchanged, and at most PEER_KEEP_MS for users from other
 * sources (LDAP, sssd: which cache longer themselves).
 */
#define PEER_KEEP_MS	60000
#define PEER_PASSWD	"/etc/passwd"
#define PEER_GROUP	"/etc/group"

static int
control_peer_same(const struct stat *a, const struct stat *b)
{
	return (a->st_ino == b->st_ino && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec);
}

static void
control_peer(uid_t uid, char **by, struct who **asker)
{
	static struct {
		uid_t		 uid;
		char		*by;
		struct who	*asker;
		int64_t		 at;
		struct stat	 passwd, group;
	}			 last = { .uid = (uid_t)-1 };
	struct passwd		*pw;
	struct stat		 sp, sg;
	int64_t			 now = time_mono_ms();

	memset(&sp, 0, sizeof sp);
	memset(&sg, 0, sizeof sg);
	(void)stat(PEER_PASSWD, &sp);
	(void)stat(PEER_GROUP, &sg);
	if (last.by == NULL || uid != last.uid || now - last.at >
	    PEER_KEEP_MS || !control_peer_same(&sp, &last.passwd) ||
	    !control_peer_same(&sg, &last.group)) {
		free(last.by);
		who_free(last.asker);
		if ((pw = getpwuid(uid)) != NULL)
			xasprintf(&last.by, "uid=%lu(%s)", (u_long)uid,
			    pw->pw_name);
		else
			xasprintf(&last.by, "uid=%lu", (u_long)uid);
		last.asker = who_unix(uid, NULL, last.by);
		last.uid = uid;
		last.at = now;
		last.passwd = sp;
		last.group = sg;
	}
	*by = xstrdup(last.by);
	*asker = who_copy(last.asker);
}

/*
 * Whether a peer may use the socket: root, the daemon's own user, and
 * members of the socket's group (its primary group or, by SO_PEERGROUPS,
 * one it had when it connected). The file mode says the same; this holds
 * when the mode does not (a socket from systemd with a wider SocketMode).
 */
static int
control_peer_allowed(int fd, uid_t uid, gid_t gid)
{
	gid_t		 some[64], *groups = some;
	socklen_t	 len = sizeof some;
	u_int		 i;
	int		 allowed = 0;

	if (uid == 0 || uid == geteuid())
		return (1);
	if (control_gid == (gid_t)-1)
		return (0);
	if (gid == control_gid)
		return (1);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1) {
		if (errno == ERANGE) {
			/* len now says how much is needed. */
			groups = xmalloc(len);
			if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups,
			    &len) == -1)
				len = 0;
		} else {
			log_warn("control: SO_PEERGROUPS");
			len = 0;
		}
	}
	for (i = 0; i < len / sizeof groups[0]; i++) {
		if (groups[i] == control_gid)
			allowed = 1;
	}
	if (groups != some)
		free(groups);
	return (allowed);
}

/*
 * A new client: note who it is (SO_PEERCRED) and read its requests. When
 * descriptors run out, accepting pauses for a second instead of spinning.
 */
static void
control_accept_cb(int fd, short events, void *arg)
{
	struct client	*c;
	struct timeval	 tv, stall;
	uid_t		 uid;
	gid_t		 gid;
	int		 cfd;

	if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (!fds_accept_failed(errno) && errno != EAGAIN &&
		    errno != EINTR && errno != ECONNABORTED)
			log_warn("control: accept");
		return;
	}
	fds_client_add();
	if (getpeereid(cfd, &uid, &gid) == -1) {
		log_warn("control: getpeereid");
		close(cfd);
		fds_client_del();
		return;
	}
	if (!control_peer_allowed(cfd, uid, gid)) {
		/* The socket's mode should have kept it out: say why. */
		static const char no[] = "{\"ok\":false,\"error\":{\"code\":"
		    "\"" E_FORBIDDEN "\",\"message\":\"this user may not use "
		    "microlightd (see socket-group in microlight.conf(5))\"}}\n";

		log_warnx("control: refused uid %lu, not root, this user or "
		    "in the socket group", (u_long)uid);
		(void)!write(cfd, no, sizeof no - 1);
		close(cfd);
		fds_client_del();
		return;
	}
	if (control_make_room() != 0) {
		/* Every client is busy: say so rather than leave it hanging. */
		static const char busy[] = "{\"ok\":false,\"error\":{\"code\":"
		    "\"" E_INTERNAL "\",\"message\":\"too many clients\"}}\n";

		log_warnx("control: too many clients, refusing one");
		(void)!write(cfd, busy, sizeof busy - 1);
		close(cfd);
		fds_client_del();
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->uid = uid;
	control_peer(uid, &c->who, &c->asker);
	c->bev = bufferevent_socket_new(ml_base, cfd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("control: cannot set up a client");
		close(cfd);
		fds_client_del();
		free(c->who);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, control_read_cb, control_write_cb,
	    control_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, ML_MAX_REQUEST + 1);
	bufferevent_setwatermark(c->bev, EV_WRITE, FOLLOW_LOW, 0);
	/*
	 * libevent writes 16 KiB at a time unless told: a followed run's
	 * output took four writes (and as many wake-ups) per chunk.
	 */
	bufferevent_set_max_single_write(c->bev, CONTROL_MAX_WRITE);
	tv.tv_sec = CONTROL_IDLE_SECONDS;
	tv.tv_usec = 0;
	stall.tv_sec = CONTROL_STALL_SECONDS;
	stall.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, &stall);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	nclients++;
}

/*
 * Make room for a new client when the table is full: the oldest client
 * that is only waiting (it follows no run and has no request pending)
 * goes, so that silent connections cannot lock everyone out. Returns 0 if
 * there is room.
 */
static int
control_make_room(void)
{
	if (nclients < CONTROL_MAX_CLIENTS)
		return (0);
	log_warnx("control: %u clients: closing the oldest idle one",
	    nclients);
	return (control_evict_idle());
}

/*
 * Close the oldest client that is only waiting: it follows no run, makes
 * no backup and has nothing pending either way. Returns 0 if one went.
 */
static int
control_evict_idle(void)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->follower == NULL && c->backup == NULL && !c->closing &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
		    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
		    !fds_unread(bufferevent_getfd(c->bev)))
			break;
	}
	if (c == NULL)
		return (-1);
	log_debug("control: %u clients: closing the oldest idle one (%s)",
	    nclients, c->who);
	control_client_kill(c);
	return (0);
}

/* Create the socket's directory if needed and check it is ours. */
static int
control_socket_dir(const char *path, char **cause)
{
	char		*dir, *slash;
	struct stat	 sb;
	int		 rc = -1;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir) {
		free(dir);
		return (0);
	}
	*slash = '\0';
	if (paths_mkdir(dir, geteuid() == 0 ? 0755 : 0700, cause) != 0)
		goto out;
	if (lstat(dir, &sb) == -1) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(sb.st_mode) || (sb.st_uid != geteuid() &&
	    sb.st_uid != 0) || ((sb.st_mode & S_IWOTH) &&
	    !(sb.st_mode & S_ISVTX))) {
		xasprintf(cause, "%s: not a directory owned by this user or "
		    "root and closed to others", dir);
		goto out;
	}
	rc = 0;
out:
	free(dir);
	return (rc);
}

/*
 * Bind the control socket (before daemonising, so the operator sees a
 * failure). A live socket is never stolen: connect first, and only a
 * refused connection means a stale file that may be removed.
 */
int
control_bind(const char *path, const char *group, char **cause)
{
	struct sockaddr_un	 sun;
	struct group		*gr = NULL;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof sun.sun_path) >=
	    sizeof sun.sun_path) {
		xasprintf(cause, "socket path too long (at most %zu bytes): "
		    "%s", sizeof sun.sun_path - 1, path);
		return (-1);
	}
	if (group != NULL && (gr = getgrnam(group)) == NULL) {
		xasprintf(cause, "socket-group: unknown group '%s'", group);
		return (-1);
	}
	if (control_socket_dir(path, cause) != 0)
		return (-1);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
		close(fd);
		xasprintf(cause, "another microlightd is listening on %s",
		    path);
		return (-1);
	}
	if (errno == ECONNREFUSED)
		unlink(path);
	else if (errno != ENOENT) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	close(fd);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	old = umask(gr != NULL ? 0117 : 0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		umask(old);
		xasprintf(cause, "bind %s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	umask(old);
	if (gr != NULL && (chown(path, (uid_t)-1, gr->gr_gid) == -1 ||
	    chmod(path, 0660) == -1)) {
		xasprintf(cause, "%s: setting group %s: %s", path, group,
		    strerror(errno));
		unlink(path);
		close(fd);
		return (-1);
	}
	if (listen(fd, 128) == -1) {
		xasprintf(cause, "listen %s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return (-1);
	}
	control_fd = fd;
	control_path = xstrdup(path);
	control_owned = 1;
	control_gid = gr != NULL ? gr->gr_gid : (gid_t)-1;
	return (0);
}

/*
 * Take the control socket systemd listens on (socket activation). Its
 * file is systemd's: it stays when we exit. The group that may connect
 * is socket-group, else the socket file's group if the mode lets that
 * group in (SocketGroup= and SocketMode=0660 in the socket unit).
 */
int
control_adopt(int fd, const char *group, char **cause)
{
	struct sockaddr_un	 sun;
	socklen_t		 len = sizeof sun;
	struct group		*gr;
	struct stat		 sb;

	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1 ||
	    len <= offsetof(struct sockaddr_un, sun_path) ||
	    sun.sun_path[0] == '\0') {
		xasprintf(cause, "the control socket from systemd has no path "
		    "(ListenStream= must name a file)");
		return (-1);
	}
	sun.sun_path[sizeof sun.sun_path - 1] = '\0';
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL) {
			xasprintf(cause, "socket-group: unknown group '%s'",
			    group);
			return (-1);
		}
		control_gid = gr->gr_gid;
	} else if (stat(sun.sun_path, &sb) == 0 && (sb.st_mode & S_IWGRP))
		control_gid = sb.st_gid;
	control_fd = fd;
	control_path = xstrdup(sun.sun_path);
	control_owned = 0;
	return (0);
}

/* The control socket's path. */
const char *
control_socket_path(void)
{
	return (control_path);
}

/* Start accepting clients (once the event base exists). */
void
control_listen(void)
{
	ev_gc = event_new(ml_base, -1, 0, control_gc_cb, NULL);
	ev_accept = event_new(ml_base, control_fd, EV_READ | EV_PERSIST,
	    control_accept_cb, NULL);
	fds_listener_add(control_accept_pause,
	    control_accept_resume, control_evict_idle);
	event_add(ev_accept, NULL);
}

/* Shutdown begins: no new clients. */
void
control_stop_accepting(void)
{
	if (ev_accept != NULL)
		event_del(ev_accept);
}

/* At exit: drop every client and remove the socket. */
void
control_close(void)
{
	struct client	*c, *c1;

	TAILQ_FOREACH_SAFE(c, &clients, entry, c1)
		control_client_kill(c);
	if (ev_gc != NULL) {
		control_gc_cb(-1, 0, NULL);
		event_free(ev_gc);
	}
	if (ev_accept != NULL)
		event_free(ev_accept);
	ev_accept = NULL;
	if (control_fd != -1) {
		close(control_fd);
		if (control_owned)
			unlink(control_path);
	}
	control_fd = -1;
	free(control_path);
	control_path = NULL;
}

/* Number of connected clients. */
u_int
control_client_count(void)
{
	return (nclients);
}

/* Unsent bytes queued for a client. */
static size_t
control_pending(struct client *c)
{
	return (evbuffer_get_length(bufferevent_get_output(c->bev)) +
	    c->heldbytes);
}
