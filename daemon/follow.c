/* Following a run: its stored and live output, its changes and its end. */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>

#include "microlightd.h"

#define FOLLOW_BATCH	8	/* chunks read from SQLite per step */

/*
 * A follower of one run, for one consumer (a control client, an HTTP
 * stream, a webhook waiting for the end). It is linked to the run while
 * the run is in memory and reads from SQLite once it is not.
 */
struct follower {
	struct follow_sink	 sink;
	void			*arg;
	struct run		*run;	/* NULL once it is only in SQLite */
	int64_t			 run_id;
	int			 output; /* call output for chunks */
	int			 follow; /* until the run ends */
	int			 stream; /* 0: both */
	int64_t			 next_seq;
	int64_t			 stop_seq; /* without follow: the end now */
	json_t			*end;	/* the run's final object, once known */
	int			 dead;	/* ended or cancelled: no more calls */
	int			 again;	/* on followers_again */
	int			 unreadable; /* SQLite could not give output */
	TAILQ_ENTRY(follower)	 entry;	/* the run's followers */
	TAILQ_ENTRY(follower)	 later;	/* followers_again or _dead */
};

/*
 * The consumers are called back from inside this file, and may call in
 * again from their callbacks: cancel a follower (theirs or another), or
 * pump one. So while any call into this file is under way (follow_depth >
 * 0) nothing is freed or unlinked from a run: a cancelled or ended
 * follower is marked dead, skipped, and freed once the outermost call
 * returns. And while one follower moves (it may be in the middle of
 * reading SQLite with the one prepared statement for output), a pump of
 * any follower waits on followers_again until then.
 */
static struct followers	 followers_again =
    TAILQ_HEAD_INITIALIZER(followers_again);
static struct followers	 followers_dead =
    TAILQ_HEAD_INITIALIZER(followers_dead);
static int		 follow_depth;
static int		 follow_moving;

/* Unlink a follower from its run and free it. */
static void
follow_free(struct follower *f)
{
	if (f->run != NULL)
		TAILQ_REMOVE(&f->run->followers, f, entry);
	json_decref(f->end);
	free(f);
}

/* Mark a follower dead: freed when the outermost call returns. */
static void
follow_kill(struct follower *f)
{
	f->dead = 1;
	if (f->again) {
		TAILQ_REMOVE(&followers_again, f, later);
		f->again = 0;
	}
	TAILQ_INSERT_TAIL(&followers_dead, f, later);
}

/* A call that may call back begins. */
static void
follow_enter(void)
{
	follow_depth++;
}

/* A call that may call back ends: the outermost one does what waited. */
static void
follow_leave(void)
{
	struct follower	*f;

	if (--follow_depth > 0)
		return;
	while ((f = TAILQ_FIRST(&followers_again)) != NULL) {
		TAILQ_REMOVE(&followers_again, f, later);
		f->again = 0;
		follow_pump(f);
	}
	while ((f = TAILQ_FIRST(&followers_dead)) != NULL) {
		TAILQ_REMOVE(&followers_dead, f, later);
		follow_free(f);
	}
}

/* Unsent bytes of a follower's consumer. */
static size_t
follow_pending(struct follower *f)
{
	if (f->sink.pending == NULL)
		return (0);
	return (f->sink.pending(f->arg));
}

/* Pass one chunk to the consumer (from SQLite or memory). */
static int
follow_chunk(int64_t seq, enum run_stream stream, int64_t time,
    const void *data, size_t len, void *arg)
{
	struct follower	*f = arg;

	if (seq >= f->stop_seq)
		return (1);
	if (f->stream == 0 || f->stream == (int)stream)
		f->sink.output(f->arg, seq, stream, time, data, len);
	f->next_seq = seq + 1;
	return (f->dead || follow_pending(f) >= FOLLOW_HIGH);
}

/*
 * Pass on what is available of a run's output: stored chunks from SQLite,
 * newer ones from the run's memory. Returns 1 if it made progress, 0 if
 * nothing more is available now.
 */
static int
follow_step(struct follower *f)
{
	struct run	*r = f->run;
	struct chunk	*ch;
	int		 n, progress = 0;

	if (r == NULL || f->next_seq < r->flushed_seq) {
		n = db_output_read(f->run_id, f->next_seq, FOLLOW_BATCH,
		    follow_chunk, f);
		if (n > 0)
			return (1);
		if (n < 0) {
			f->unreadable = 1;
			return (0);
		}
		if (n == 0 && r != NULL && f->next_seq < r->flushed_seq) {
			/* Chunks the database refused: skip the gap. */
			f->next_seq = r->flushed_seq;
			return (1);
		}
		return (0);
	}
	TAILQ_FOREACH(ch, &r->pending, entry) {
		if (ch->seq < f->next_seq)
			continue;
		progress = 1;
		if (follow_chunk(ch->seq, ch->stream, ch->time, ch->data,
		    ch->len, f) != 0)
			break;
	}
	return (progress);
}

/*
 * Move a follower along as far as its consumer's buffer allows, and end it
 * once the run is over (or, without follow, once the output that existed
 * when it began has been passed on). The end object comes from the run in
 * memory, from the object kept when it ended, from a record waiting to be
 * written, or from SQLite; JSON null if none of them knows the run.
 */
static void
follow_move(struct follower *f)
{
	struct runrec	 rec;
	json_t		*obj;

	for (;;) {
		if (f->dead || follow_pending(f) >= FOLLOW_HIGH)
			return;
		if (f->output && f->next_seq < f->stop_seq && follow_step(f))
			continue;
		if (f->unreadable && f->sink.failed != NULL) {
			follow_kill(f);
			f->sink.failed(f->arg, "the run's output could not be "
			    "read from the database (see microlightd's log)");
			return;
		}
		if (f->run != NULL && f->follow)
			return;		/* more will come */
		break;
	}
	if (f->run != NULL)
		obj = object_run(&f->run->rec);
	else if (f->end != NULL)
		obj = json_incref(f->end);
	else if (runs_load(f->run_id, &rec) == 0) {
		obj = object_run(&rec);
		runrec_clear(&rec);
	} else
		obj = json_null();
	follow_kill(f);
	f->sink.end(f->arg, obj);
}

/*
 * Follow a run (it may be over already, or only in SQLite). Nothing is
 * called back yet: store the follower, then follow_pump it to begin.
 */
struct follower *
follow_start(int64_t run_id, int output, int follow, int stream,
    const struct follow_sink *sink, void *arg)
{
	struct follower	*f;
	struct run	*r;

	r = runs_lookup(run_id);
	f = xcalloc(1, sizeof *f);
	f->sink = *sink;
	f->arg = arg;
	f->run = r;
	f->run_id = run_id;
	f->output = output;
	f->follow = follow;
	f->stream = stream;
	f->stop_seq = (!follow && r != NULL) ? r->next_seq : INT64_MAX;
	if (r != NULL)
		TAILQ_INSERT_TAIL(&r->followers, f, entry);
	return (f);
}

/* Move a follower along: to begin, and whenever its consumer drained. */
void
follow_pump(struct follower *f)
{
	if (f->dead)
		return;
	if (follow_moving) {
		if (!f->again) {
			TAILQ_INSERT_TAIL(&followers_again, f, later);
			f->again = 1;
		}
		return;
	}
	follow_enter();
	follow_moving = 1;
	follow_move(f);
	follow_moving = 0;
	follow_leave();
}

/* The consumer goes away: no more callbacks; the follower is freed. */
void
follow_cancel(struct follower *f)
{
	if (f->dead)
		return;
	if (follow_depth > 0)
		follow_kill(f);
	else
		follow_free(f);
}

/* New output of a run: move its output followers along. */
void
follow_run_output(struct run *r)
{
	struct follower	*f, *f1;

	follow_enter();
	TAILQ_FOREACH_SAFE(f, &r->followers, entry, f1) {
		if (f->output)
			follow_pump(f);
	}
	follow_leave();
}

/* A run changed state (it started): tell those following it. */
void
follow_run_status(struct run *r)
{
	struct follower	*f;

	follow_enter();
	TAILQ_FOREACH(f, &r->followers, entry) {
		if (f->dead || !f->follow || f->sink.status == NULL)
			continue;
		f->sink.status(f->arg, object_run(&r->rec));
	}
	follow_leave();
}

/*
 * A run ended and its output is all stored: its followers read on from
 * SQLite and then end. The run is freed after this.
 */
void
follow_run_ended(struct run *r)
{
	struct follower	*f;

	follow_enter();
	while ((f = TAILQ_FIRST(&r->followers)) != NULL) {
		TAILQ_REMOVE(&r->followers, f, entry);
		f->run = NULL;
		if (f->dead)
			continue;
		f->end = object_run(&r->rec);
		f->stop_seq = f->follow ? INT64_MAX : f->stop_seq;
		follow_pump(f);
	}
	follow_leave();
}
