/*
 * stamp: the scheduled task of bench/sched.sh. Reads the wall clock first
 * thing and prints it in nanoseconds since the epoch, so that the time from
 * the instant a run was due to its exec can be measured. A task file whose
 * #! line names this program runs it with the task's path as argument,
 * which is ignored.
 *
 * usage: stamp [ignored ...]
 */

#include <stdio.h>
#include <time.h>

int
main(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	printf("%lld%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	return (0);
}
