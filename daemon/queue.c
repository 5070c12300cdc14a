/*
 * The queue: runs waiting to start, in the order they may start. A run may
 * start when its task has fewer runs than its @concurrency and its time
 * has come (a retry waits out its delay); runs.c starts it when a slot is
 * free under max-running. Among the runs that may start, the highest
 * @priority goes first, the oldest among equals; a run whose task is at
 * its limit is passed over and never blocks another task's.
 */

#include <stdlib.h>
#include <string.h>

#include "microlightd.h"

RB_HEAD(queue_tree, run);
RB_PROTOTYPE(queue_tree, run, qnode, queue_cmp);
static struct queue_tree queue = RB_INITIALIZER(&queue);
static u_int		 queue_n;
static u_int		 queue_high;	/* most queued since it was empty */

/*
 * The queued runs of each task that has some, in the same order: how many
 * wait and which goes first are then one look-up, not a walk through the
 * whole queue (max-queued may be millions), for every task of the page's
 * list and every run that asks whether its task is busy.
 */
RB_HEAD(queue_task_runs, run);
RB_PROTOTYPE(queue_task_runs, run, tqnode, queue_cmp);
struct queue_task {
	char			*name;
	struct queue_task_runs	 runs;
	u_int			 n;
	RB_ENTRY(queue_task)	 node;
};
RB_HEAD(queue_tasks, queue_task);
RB_PROTOTYPE(queue_tasks, queue_task, node, queue_task_cmp);
static struct queue_tasks queue_tasks = RB_INITIALIZER(&queue_tasks);

/* A queue this long, once drained, was a burst (see mem.c). */
#define QUEUE_BURST	64

/* Queue order: higher priority first, then lower id (older) first. */
static int
queue_cmp(struct run *a, struct run *b)
{
	if (a->rec.priority != b->rec.priority)
		return (a->rec.priority > b->rec.priority ? -1 : 1);
	if (a->rec.id != b->rec.id)
		return (a->rec.id < b->rec.id ? -1 : 1);
	return (0);
}
RB_GENERATE(queue_tree, run, qnode, queue_cmp);
RB_GENERATE(queue_task_runs, run, tqnode, queue_cmp);

/* Tasks by name. */
static int
queue_task_cmp(struct queue_task *a, struct queue_task *b)
{
	return (strcmp(a->name, b->name));
}
RB_GENERATE(queue_tasks, queue_task, node, queue_task_cmp);

/* The queued runs of a task, or NULL if none waits. */
static struct queue_task *
queue_task_find(const char *name)
{
	struct queue_task	 key;

	key.name = (char *)name;
	return (RB_FIND(queue_tasks, &queue_tasks, &key));
}

/* Put a run in the queue. */
void
queue_insert(struct run *r)
{
	struct queue_task	*qt;

	RB_INSERT(queue_tree, &queue, r);
	if (++queue_n > queue_high)
		queue_high = queue_n;
	if ((qt = queue_task_find(r->rec.task)) == NULL) {
		qt = xcalloc(1, sizeof *qt);
		qt->name = xstrdup(r->rec.task);
		RB_INIT(&qt->runs);
		RB_INSERT(queue_tasks, &queue_tasks, qt);
	}
	RB_INSERT(queue_task_runs, &qt->runs, r);
	qt->n++;
}

/* Take a run out of the queue. */
void
queue_remove(struct run *r)
{
	struct queue_task	*qt;

	RB_REMOVE(queue_tree, &queue, r);
	if ((qt = queue_task_find(r->rec.task)) != NULL) {
		RB_REMOVE(queue_task_runs, &qt->runs, r);
		if (--qt->n == 0) {
			RB_REMOVE(queue_tasks, &queue_tasks, qt);
			free(qt->name);
			free(qt);
		}
	}
	if (--queue_n == 0 && queue_high >= QUEUE_BURST) {
		queue_high = 0;
		mem_trim_soon();
	}
}

/* The @concurrency of a task as it is now (1 if it has none). */
static int
queue_task_limit(const char *name)
{
	struct task	*t;

	if ((t = task_find(name)) == NULL || t->def == NULL)
		return (1);
	return (t->def->concurrency);
}

/* Runs of a task waiting in the queue. */
u_int
queue_count_task(const char *name)
{
	struct queue_task	*qt;

	return ((qt = queue_task_find(name)) != NULL ? qt->n : 0);
}

/* The queued run of a task that goes first, or NULL. */
struct run *
queue_first_task(const char *name)
{
	struct queue_task	*qt;

	if ((qt = queue_task_find(name)) == NULL)
		return (NULL);
	return (RB_MIN(queue_task_runs, &qt->runs));
}

/*
 * Whether a run may start, given a free slot: its task below its limit,
 * its time come. *later is lowered to the time a run that waits for its
 * time may go.
 */
int
queue_may_start(const struct run *r, int64_t now, int64_t *later)
{
	if (r->rec.not_before > now) {
		if (*later == 0 || r->rec.not_before < *later)
			*later = r->rec.not_before;
		return (0);
	}
	return (run_task_count(r->rec.task) <
	    (u_int)queue_task_limit(r->rec.task));
}

/*
 * The best run that may start now, taken out of the queue, or NULL; *later
 * is lowered to the time the first run that waits for its time may go.
 */
struct run *
queue_next(int64_t now, int64_t *later)
{
	struct run	*r;

	RB_FOREACH(r, queue_tree, &queue) {
		if (queue_may_start(r, now, later)) {
			queue_remove(r);
			return (r);
		}
	}
	return (NULL);
}

/* The first run of the queue, or NULL. */
struct run *
queue_first(void)
{
	return (RB_MIN(queue_tree, &queue));
}

/* The queued retry of a run (whose first run is first), or NULL. */
struct run *
queue_find_retry(int64_t first)
{
	struct run	*r;

	RB_FOREACH(r, queue_tree, &queue) {
		if (r->rec.retry_of == first)
			return (r);
	}
	return (NULL);
}

/* Number of queued runs. */
u_int
queue_length(void)
{
	return (queue_n);
}
