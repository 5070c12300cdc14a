/*
 * Quiet moments: work that holds the loop up for milliseconds (a WAL
 * checkpoint, a batch of pruning) is put off until just after the next
 * scheduled fire rather than done just before it. The scheduler says when
 * that is; the store and pruning ask here, without knowing the scheduler.
 */

#include <stdlib.h>

#include "microlightd.h"

#define QUIET_MS	250	/* keep slow work this far from a fire */
#define QUIET_AFTER_MS	50	/* and start it this long after one */

static int64_t	(*quiet_next)(void);

/* Set (or clear, with NULL) what gives the next fire's time, in ms or -1. */
void
quiet_source(int64_t (*next)(void))
{
	quiet_next = next;
}

/* 0 if slow work may run now, else how long to wait for it (ms). */
int64_t
quiet_wait(void)
{
	int64_t	 next, until;

	if (quiet_next == NULL || (next = quiet_next()) == -1)
		return (0);
	until = next - time_now_ms();
	if (until >= QUIET_MS)
		return (0);
	return ((until > 0 ? until : 0) + QUIET_AFTER_MS);
}
