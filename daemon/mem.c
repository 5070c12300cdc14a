/* Memory: what a burst took is given back to the system once it is over. */

#include <malloc.h>

#include "microlightd.h"

/*
 * A burst -- thousands of runs queued, hundreds of HTTP connections --
 * leaves the heap large and full of holes: glibc gives back only what is
 * free at its top, and one block still in use there (a task's record, a
 * prepared statement) keeps everything under it resident; SQLite's page
 * cache stays full up to its cap. When a burst is over (the queue has
 * drained, the connections have gone) and the daemon has been quiet for
 * MEM_TRIM_MS, the page cache's unused pages are released and
 * malloc_trim(0) returns every free page of the heap, holes included. A
 * call while the timer waits pushes it back: a trim runs once, after the
 * last of a burst.
 */
#define MEM_TRIM_MS	2000

static struct event	*ev_trim;

/* Quiet since the burst: give memory back. */
static void
mem_trim_cb(int fd, short events, void *arg)
{
	db_release_memory();
	malloc_trim(0);
	log_debug("memory given back after a burst");
}

/* A burst is over: give back what it took, soon. */
void
mem_trim_soon(void)
{
	struct timeval	 tv = { MEM_TRIM_MS / 1000, (MEM_TRIM_MS % 1000) * 1000 };

	if (ml_base == NULL)
		return;
	if (ev_trim == NULL)
		ev_trim = evtimer_new(ml_base, mem_trim_cb, NULL);
	evtimer_add(ev_trim, &tv);
}

/* At exit. */
void
mem_stop(void)
{
	if (ev_trim != NULL)
		event_free(ev_trim);
	ev_trim = NULL;
}
