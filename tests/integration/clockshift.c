/*
 * A wall clock the tests can step: preloaded into microlightd, it adds an
 * offset to every reading of CLOCK_REALTIME. The offset (nanoseconds, a
 * native int64_t) is read from the file named by ML_CLOCKSHIFT_FILE at
 * each call, through a shared mapping, so a test steps the daemon's clock
 * by writing the file, as date -s or an NTP step would the system's. The
 * monotonic clock is left alone, as a real step leaves it.
 */

#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/time.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int	(*real_clock_gettime)(clockid_t, struct timespec *);
static volatile int64_t	*shift;

/* Map the offset file once; without it the clock is not shifted. */
static void
clockshift_init(void)
{
	const char	*path;
	void		*p;
	int		 fd;

	real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(
	    RTLD_NEXT, "clock_gettime");
	if ((path = getenv("ML_CLOCKSHIFT_FILE")) == NULL)
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	p = mmap(NULL, sizeof *shift, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p != MAP_FAILED)
		shift = p;
}

/* clock_gettime, with the offset added to the wall clock. */
int
clock_gettime(clockid_t id, struct timespec *ts)
{
	int64_t	 ns;
	int	 rc;

	if (real_clock_gettime == NULL)
		clockshift_init();
	if ((rc = real_clock_gettime(id, ts)) != 0 || shift == NULL ||
	    (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE))
		return (rc);
	ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + *shift;
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	if (ts->tv_nsec < 0) {
		ts->tv_nsec += 1000000000;
		ts->tv_sec--;
	}
	return (0);
}

/* gettimeofday and time, through the shifted clock. */
int
gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec	 ts;

	(void)tz;
	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return (0);
}

/* time(2). */
time_t
time(time_t *t)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t != NULL)
		*t = ts.tv_sec;
	return (ts.tv_sec);
}
