/* Run output: read the pipes, keep chunks, store them in batches. */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"

/* Runs with output waiting to be stored, and the timer that stores it. */
static struct runs	 runs_flush = TAILQ_HEAD_INITIALIZER(runs_flush);
static struct event	*ev_flush;

/*
 * Runs whose pipes are not read while the database's WAL is full (see
 * db_wal_full): their output waits in the pipes, their task blocks on
 * them, and the timer looks every OUTPUT_PAUSE_MS whether it may go on.
 */
#define OUTPUT_PAUSE_MS		10
static struct run	**runs_paused;
static u_int		 npaused, paused_size;
static struct event	*ev_paused;

/*
 * Chunks of more than half OUTPUT_CHUNK_SIZE are made full-size, and kept
 * when stored for the next ones, OUTPUT_SPARE_CHUNKS at most (a batch):
 * freeing a batch of them left the top of the heap free and malloc gave
 * it back to the system, to fault it in again for the next batch (15% of
 * the daemon's time while a run printed fast). They are freed once the
 * flush timer finds nothing waiting (run_output_flush_cb).
 */
#define OUTPUT_SPARE_CHUNKS	(OUTPUT_FLUSH_BYTES / OUTPUT_CHUNK_SIZE + 1)
static struct chunks	 chunks_spare = TAILQ_HEAD_INITIALIZER(chunks_spare);
static u_int		 nspare;

/* Free the chunks kept for reuse. */
static void
run_output_spare_free(void)
{
	struct chunk	*c;

	while ((c = TAILQ_FIRST(&chunks_spare)) != NULL) {
		TAILQ_REMOVE(&chunks_spare, c, entry);
		free(c);
	}
	nspare = 0;
}

/* A chunk is stored or dropped: keep it for reuse if it is full-size. */
static void
run_output_chunk_free(struct chunk *c)
{
	if (c->len > OUTPUT_CHUNK_SIZE / 2 && nspare < OUTPUT_SPARE_CHUNKS) {
		TAILQ_INSERT_HEAD(&chunks_spare, c, entry);
		nspare++;
	} else
		free(c);
}

/*
 * The output flush timer: store what waits, and come back while chunks
 * are kept for reuse; a period without output lets them go.
 */
static void
run_output_flush_cb(int fd, short events, void *arg)
{
	struct timeval	 tv = { 0, OUTPUT_FLUSH_MS * 1000 };

	if (TAILQ_EMPTY(&runs_flush)) {
		run_output_spare_free();
		return;
	}
	run_output_flush_all();
	if (nspare > 0)
		evtimer_add(ev_flush, &tv);
}

/* The run's next chunk of output, holding a copy of data; counted. */
static struct chunk *
run_output_chunk(struct run *r, enum run_stream stream, const void *data,
    size_t len)
{
	struct chunk	*c;

	if (len <= OUTPUT_CHUNK_SIZE / 2)
		c = xmalloc(sizeof *c + len);
	else if ((c = TAILQ_FIRST(&chunks_spare)) != NULL) {
		TAILQ_REMOVE(&chunks_spare, c, entry);
		nspare--;
	} else
		c = xmalloc(sizeof *c + (len > OUTPUT_CHUNK_SIZE ? len :
		    OUTPUT_CHUNK_SIZE));
	c->seq = r->next_seq++;
	c->stream = stream;
	c->time = time_now_ms();
	c->len = len;
	memcpy(c->data, data, len);
	r->rec.output_size += len;
	return (c);
}

/*
 * Keep a chunk of output: up to max-log-size bytes per run are stored, the
 * rest is counted and dropped (the pipe is still drained).
 */
static void
run_output_keep(struct run *r, enum run_stream stream, const u_char *data,
    size_t len, int limited)
{
	struct chunk	*c;
	int64_t		 room;
	size_t		 keep;
	struct timeval	 tv;

	room = ml_conf->max_log_size - r->rec.output_size;
	if (!limited)
		keep = len;
	else
		keep = room <= 0 ? 0 : (size_t)room < len ? (size_t)room : len;
	if (keep < len) {
		r->rec.output_dropped += len - keep;
		r->flags |= RUN_LIMIT_HIT;
	}
	if (keep == 0)
		return;
	c = run_output_chunk(r, stream, data, keep);
	TAILQ_INSERT_TAIL(&r->pending, c, entry);
	r->pending_bytes += keep;
	if (!r->on_flush_list) {
		TAILQ_INSERT_TAIL(&runs_flush, r, flush_entry);
		r->on_flush_list = 1;
	}
	if (r->pending_bytes >= OUTPUT_FLUSH_BYTES)
		run_output_flush_one(r);
	else if (!evtimer_pending(ev_flush, NULL)) {
		tv.tv_sec = 0;
		tv.tv_usec = OUTPUT_FLUSH_MS * 1000;
		evtimer_add(ev_flush, &tv);
	}
	follow_run_output(r);
}

/*
 * A run's pipes are widened (F_SETPIPE_SZ) once a read finds one full: a
 * task that writes faster than the daemon reads then blocks less, and
 * each read takes more. A pipe's size counts against its user's
 * fs.pipe-user-pages-soft (64 MiB by default), past which the user's new
 * pipes get a single page, so at most OUTPUT_WIDE_RUNS runs have wide
 * pipes at a time; failures (an unprivileged user over the limit) are
 * harmless and not retried.
 */
static u_int	 output_wide_runs;

/* Widen a run's pipes, once, if fewer than OUTPUT_WIDE_RUNS runs have. */
static void
run_output_widen(struct run *r)
{
	if ((r->flags & RUN_PIPES_WIDE) || output_wide_runs >= OUTPUT_WIDE_RUNS)
		return;
	r->flags |= RUN_PIPES_WIDE;
	output_wide_runs++;
	if (r->out_fd != -1)
		(void)fcntl(r->out_fd, F_SETPIPE_SZ, OUTPUT_PIPE_SIZE);
	if (r->err_fd != -1)
		(void)fcntl(r->err_fd, F_SETPIPE_SZ, OUTPUT_PIPE_SIZE);
}

/*
 * Read from a pipe: once, or (all) until it is empty, at most 16 reads so
 * that a process writing without pause cannot hold the loop. A read takes
 * up to OUTPUT_READ_SIZE and is kept as chunks of at most
 * OUTPUT_CHUNK_SIZE (one stored row, one output event each). Returns 0 at
 * EOF or error, 1 otherwise.
 */
static int
run_output_read(struct run *r, int fd, enum run_stream stream, int all)
{
	static u_char	 buf[OUTPUT_READ_SIZE];
	ssize_t		 n, off, len;
	int		 reads = 0;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n > 0) {
			if (n >= OUTPUT_CHUNK_SIZE)
				run_output_widen(r);
			for (off = 0; off < n; off += len) {
				len = n - off < OUTPUT_CHUNK_SIZE ? n - off :
				    OUTPUT_CHUNK_SIZE;
				run_output_keep(r, stream, buf + off, len, 1);
			}
			if (!all || ++reads == 16)
				return (1);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return (1);
		if (n == -1)
			log_warn("%s[%lld]: reading %s", r->rec.task,
			    (long long)r->rec.id, proto_stream_name(stream));
		return (0);
	}
}

/* Close one of the run's output pipes. */
static void
run_output_close_pipe(struct run *r, enum run_stream stream)
{
	if (stream == STREAM_STDOUT && r->out_fd != -1) {
		event_del(r->ev_out);
		close(r->out_fd);
		r->out_fd = -1;
	} else if (stream == STREAM_STDERR && r->err_fd != -1) {
		event_del(r->ev_err);
		close(r->err_fd);
		r->err_fd = -1;
	}
}

/* Read what the pipes hold now, closing a pipe at its end. */
void
run_output_drain(struct run *r)
{
	if (r->out_fd != -1 &&
	    run_output_read(r, r->out_fd, STREAM_STDOUT, 1) == 0)
		run_output_close_pipe(r, STREAM_STDOUT);
	if (r->err_fd != -1 &&
	    run_output_read(r, r->err_fd, STREAM_STDERR, 1) == 0)
		run_output_close_pipe(r, STREAM_STDERR);
}

/* Drain and close both pipes: nobody is left to write to them. */
void
run_output_close_pipes(struct run *r)
{
	run_output_drain(r);
	run_output_close_pipe(r, STREAM_STDOUT);
	run_output_close_pipe(r, STREAM_STDERR);
}

/* Read a paused run's pipes again. */
static void
run_output_resume(struct run *r)
{
	r->flags &= ~RUN_OUTPUT_PAUSED;
	if (r->out_fd != -1)
		event_add(r->ev_out, NULL);
	if (r->err_fd != -1)
		event_add(r->ev_err, NULL);
}

/* The pause timer: the WAL is copied, the paused runs are read again. */
static void
run_output_paused_cb(int fd, short events, void *arg)
{
	struct timeval	 tv = { 0, OUTPUT_PAUSE_MS * 1000 };
	u_int		 i;

	if (db_wal_full()) {
		evtimer_add(ev_paused, &tv);
		return;
	}
	for (i = 0; i < npaused; i++)
		run_output_resume(runs_paused[i]);
	npaused = 0;
}

/* Stop reading a run's pipes until the WAL is no longer full. */
static void
run_output_pause(struct run *r)
{
	struct timeval	 tv = { 0, OUTPUT_PAUSE_MS * 1000 };

	if (r->flags & RUN_OUTPUT_PAUSED)
		return;
	r->flags |= RUN_OUTPUT_PAUSED;
	event_del(r->ev_out);
	event_del(r->ev_err);
	if (npaused == paused_size)
		runs_paused = xreallocarray(runs_paused, paused_size =
		    paused_size * 2 + 8, sizeof *runs_paused);
	runs_paused[npaused++] = r;
	if (!evtimer_pending(ev_paused, NULL))
		evtimer_add(ev_paused, &tv);
}

/*
 * A pipe is readable: one read per wake-up keeps the loop fair. While the
 * WAL is full, a run whose output is stored is paused instead (one past
 * max-log-size only drains its pipes and goes on).
 */
void
run_output_pipe_cb(int fd, short events, void *arg)
{
	struct run	*r = arg;
	enum run_stream	 stream;

	if (r->rec.output_size < ml_conf->max_log_size && db_wal_full()) {
		run_output_pause(r);
		return;
	}
	stream = fd == r->out_fd ? STREAM_STDOUT : STREAM_STDERR;
	if (run_output_read(r, fd, stream, 0) == 0) {
		run_output_close_pipe(r, stream);
		run_progress(r);
	}
}

/*
 * Write one run's waiting output; called inside a transaction. Once the
 * run's end is recorded, what its leftovers write moves its record's
 * output_size along in the same transaction, so that the record and the
 * log never disagree (unless record.c keeps the record: it writes it).
 */
int
run_output_write_pending(struct run *r)
{
	struct chunk	*c;

	TAILQ_FOREACH(c, &r->pending, entry) {
		if (db_output_insert(r->rec.id, c->seq, c->stream, c->time,
		    c->data, c->len) != 0)
			return (-1);
	}
	if ((r->flags & RUN_RECORDED) && !TAILQ_EMPTY(&r->pending) &&
	    record_pending(r->rec.id) == NULL)
		return (db_run_update(&r->rec));
	return (0);
}

/*
 * The output is stored (or, if the database refused it, dropped and
 * counted as lost, with why): free the chunks and take the run off the
 * flush list.
 */
void
run_output_pending_done(struct run *r, int stored)
{
	struct chunk	*c;

	if (!stored) {
		log_warnx("%s[%lld]: %zu bytes of output could not be stored",
		    r->rec.task, (long long)r->rec.id, r->pending_bytes);
		r->rec.output_dropped += r->pending_bytes;
		r->rec.output_size -= r->pending_bytes;
		r->lost += r->pending_bytes;
		if (r->lost_why == NULL)
			r->lost_why = db_failure();
	} else if ((c = TAILQ_LAST(&r->pending, chunks)) != NULL)
		r->last_newline = c->data[c->len - 1] == '\n';
	while ((c = TAILQ_FIRST(&r->pending)) != NULL) {
		TAILQ_REMOVE(&r->pending, c, entry);
		run_output_chunk_free(c);
	}
	r->pending_bytes = 0;
	r->flushed_seq = r->next_seq;
	if (r->on_flush_list) {
		TAILQ_REMOVE(&runs_flush, r, flush_entry);
		r->on_flush_list = 0;
	}
}

/* Store one run's waiting output now. */
void
run_output_flush_one(struct run *r)
{
	int	 ok;

	if (TAILQ_EMPTY(&r->pending))
		return;
	ok = db_begin() == 0 && run_output_write_pending(r) == 0 &&
	    db_commit() == 0;
	if (!ok)
		db_rollback();
	run_output_pending_done(r, ok);
}

/* Store every run's waiting output in one transaction. */
void
run_output_flush_all(void)
{
	struct run	*r, *r1;
	int		 ok;

	if (TAILQ_EMPTY(&runs_flush))
		return;
	ok = db_begin() == 0;
	TAILQ_FOREACH(r, &runs_flush, flush_entry) {
		if (ok && run_output_write_pending(r) != 0)
			ok = 0;
	}
	if (ok && db_commit() != 0)
		ok = 0;
	if (!ok) {
		db_rollback();
		/* Try each run on its own, so one bad batch loses least. */
		TAILQ_FOREACH_SAFE(r, &runs_flush, flush_entry, r1)
			run_output_flush_one(r);
		return;
	}
	TAILQ_FOREACH_SAFE(r, &runs_flush, flush_entry, r1)
		run_output_pending_done(r, 1);
}

/*
 * Once all the output is in: the line that ends a log with less than the
 * task wrote, on stderr, after a newline if the stored output lacks one.
 * Past max-log-size it says how much was dropped; output the database
 * refused makes it say how much was lost and why, and the run's reason
 * says it too (after how it ended: its status stays the task's). Returns
 * the line as the run's next chunk, counted in output_size, or NULL.
 */
struct chunk *
run_output_mark_dropped(struct run *r)
{
	struct chunk	*c;
	char		*lost = NULL, *over = NULL, *text, *reason, size[32];
	int64_t		 limit = r->rec.output_dropped - r->lost;

	if ((r->flags & RUN_MARKED) || r->rec.output_dropped == 0)
		return (NULL);
	r->flags |= RUN_MARKED;
	if (r->flags & RUN_LIMIT_HIT) {
		size_format(ml_conf->max_log_size, size, sizeof size);
		xasprintf(&over, "[microlight: %lld bytes of output dropped: "
		    "the limit is max-log-size %s]\n", (long long)limit, size);
	}
	if (r->lost > 0) {
		xasprintf(&lost, "output lost: %s (%lld bytes not stored)",
		    r->lost_why, (long long)r->lost);
		if (r->rec.reason != NULL) {
			xasprintf(&reason, "%s; %s", r->rec.reason, lost);
			free(r->rec.reason);
			r->rec.reason = reason;
		} else
			r->rec.reason = xstrdup(lost);
		log_warnx("%s[%lld]: %s", r->rec.task, (long long)r->rec.id,
		    lost);
	}
	xasprintf(&text, "%s%s%s%s%s", r->last_newline ? "" : "\n",
	    over != NULL ? over : "", lost != NULL ? "[microlight: " : "",
	    lost != NULL ? lost : "", lost != NULL ? "]\n" : "");
	free(over);
	free(lost);

	c = run_output_chunk(r, STREAM_STDERR, text, strlen(text));
	free(text);
	r->flushed_seq = r->next_seq;
	r->last_newline = 1;
	return (c);
}

/* Free a run's waiting output and take it off the flush and pause lists. */
void
run_output_free(struct run *r)
{
	struct chunk	*c;
	u_int		 i;

	while ((c = TAILQ_FIRST(&r->pending)) != NULL) {
		TAILQ_REMOVE(&r->pending, c, entry);
		run_output_chunk_free(c);
	}
	if (r->on_flush_list)
		TAILQ_REMOVE(&runs_flush, r, flush_entry);
	if (r->flags & RUN_PIPES_WIDE)
		output_wide_runs--;
	if (r->flags & RUN_OUTPUT_PAUSED) {
		for (i = 0; i < npaused && runs_paused[i] != r; i++)
			;
		if (i < npaused)
			runs_paused[i] = runs_paused[--npaused];
	}
}

/* Set up the output flush timer. */
void
run_output_init(void)
{
	ev_flush = evtimer_new(ml_base, run_output_flush_cb, NULL);
	ev_paused = evtimer_new(ml_base, run_output_paused_cb, NULL);
}
