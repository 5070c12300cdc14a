/*
 * Clocks the tests can move: preloaded into microlightd, it adds offsets
 * to every reading of CLOCK_REALTIME and of the monotonic clocks. The
 * offsets (nanoseconds, native int64_t: the wall clock's, then the
 * monotonic clocks') are read from the file named by ML_CLOCKSHIFT_FILE
 * at each call, through a shared mapping, so a test moves the daemon's
 * clocks by writing the file. Moving the wall clock alone is a step, as
 * date -s or an NTP step would make; moving both by the same amount is
 * time passing at once, which lets a test skip a delay of the daemon's
 * (libevent's timers run on the monotonic clock) instead of sleeping
 * through it. A file of 8 bytes moves the wall clock only.
 */

#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int	(*real_clock_gettime)(clockid_t, struct timespec *);
static volatile int64_t	*shift;		/* [0] wall, [1] monotonic */
static int	 shift_mono;		/* the file has [1] */

/* Map the offset file once; without it the clocks are not shifted. */
static void
clockshift_init(void)
{
	const char	*path;
	struct stat	 st;
	void		*p;
	int		 fd;

	real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(
	    RTLD_NEXT, "clock_gettime");
	if ((path = getenv("ML_CLOCKSHIFT_FILE")) == NULL)
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &st) == -1 || st.st_size < (off_t)sizeof *shift) {
		close(fd);
		return;
	}
	p = mmap(NULL, 2 * sizeof *shift, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p != MAP_FAILED) {
		shift_mono = st.st_size >= (off_t)(2 * sizeof *shift);
		shift = p;
	}
}

/* The offset for a clock: 0 for those not shifted. */
static int64_t
clockshift_offset(clockid_t id)
{
	switch (id) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		return (shift[0]);
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_BOOTTIME:
		return (shift_mono ? shift[1] : 0);
	default:
		return (0);
	}
}

/* clock_gettime, with the offset of its clock added. */
int
clock_gettime(clockid_t id, struct timespec *ts)
{
	int64_t	 ns, off;
	int	 rc;

	if (real_clock_gettime == NULL)
		clockshift_init();
	if ((rc = real_clock_gettime(id, ts)) != 0 || shift == NULL ||
	    (off = clockshift_offset(id)) == 0)
		return (rc);
	ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + off;
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
