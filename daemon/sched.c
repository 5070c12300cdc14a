/*
 * The scheduler: every @schedule of every valid task, in a heap ordered by
 * its next fire time, and one libevent timer for the earliest. A fire
 * triggers a run like any other trigger (so @concurrency, @overlap and
 * retries apply), with trigger "schedule" and the schedule's parameters.
 *
 * Time: libevent's timers run on the monotonic clock, fire times on the
 * wall clock, so the wall clock is read again at each wake-up, the timer
 * never sleeps more than SCHED_MAX_SLEEP (a slewed clock drifts little in
 * that time), and a step of the wall clock (NTP, date -s) is noticed at
 * once through a timerfd that the kernel cancels when the clock is set. On
 * a step forward, every schedule that came due fires once (the runs of the
 * skipped interval fold into one); on a step back, nothing fires again
 * before the last time it fired, unless the step is longer than
 * SCHED_RESET (as cronie does: the clock was wrong, so start afresh).
 * Each schedule's last fire (or the time it was first armed) is stored,
 * so that @catchup can tell at start-up that a fire time passed while the
 * daemon was down, and a reload keeps the schedules' places: nothing due
 * is lost, nothing fires twice.
 */

#include <sys/timerfd.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"
#include "heap.h"

#define SCHED_MAX_SLEEP_MS	60000
#define SCHED_STEP_MS		2000	/* a clock step worth a word in the log */
#define SCHED_RESET		(3 * 3600) /* a step back longer: start afresh */
#define SCHED_LATE_MS		10000	/* a fire this late: not healthy */

struct sched {
	char		*task;
	char		*expr;
	json_t		*params;	/* the schedule's, or NULL */
	char		*zone;		/* as given, or NULL: the daemon's */
	struct cron	 cron;
	struct tz	*tz;		/* borrowed from the zone cache */
	int64_t		 next;		/* seconds; -1: never */
	int64_t		 last;		/* last fire; 0: never */
	int		 catchup;	/* fire once when loaded */
	int		 missed;	/* a fire passed while down */
	u_int		 idx;		/* in the heap */
};

/* Loaded zones (there are few), read again at each load of the tasks. */
struct zone {
	char		*name;		/* NULL: the daemon's zone */
	struct tz	*tz;
	TAILQ_ENTRY(zone) entry;
};
TAILQ_HEAD(zones, zone);

HEAP_HEAD(sched_heap, sched);
static struct sched_heap heap;	/* by next fire */
static struct sched	**byname;	/* the same, by task and expression */
static struct zones	 zones = TAILQ_HEAD_INITIALIZER(zones);
static struct event	*ev_sched;
static struct event	*ev_step;
static int		 step_fd = -1;
static int64_t		 last_real, last_mono;

/* Whether two zone names (NULL: the daemon's) are the same. */
static int
sched_same_zone(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

/* A zone, loaded once. */
static struct tz *
sched_zone(const char *name, char **cause)
{
	struct zone	*zn;
	struct tz	*tz;

	TAILQ_FOREACH(zn, &zones, entry) {
		if (sched_same_zone(zn->name, name))
			return (zn->tz);
	}
	if ((tz = tz_load(name, cause)) == NULL)
		return (NULL);
	zn = xcalloc(1, sizeof *zn);
	zn->name = name != NULL ? xstrdup(name) : NULL;
	zn->tz = tz;
	TAILQ_INSERT_TAIL(&zones, zn, entry);
	return (tz);
}

/* Free a list of zones. */
static void
sched_zones_free(struct zones *list)
{
	struct zone	*zn;

	while ((zn = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, zn, entry);
		tz_free(zn->tz);
		free(zn->name);
		free(zn);
	}
}

/* Heap order: the earlier next fire first; never (-1) last. */
static int
sched_before(const struct sched *a, const struct sched *b)
{
	if (a->next == -1)
		return (0);
	if (b->next == -1)
		return (1);
	return (a->next < b->next);
}
HEAP_GENERATE(sched_heap, sched, idx, sched_before);

/* Free a schedule. */
static void
sched_free(struct sched *s)
{
	free(s->task);
	free(s->expr);
	json_decref(s->params);
	free(s->zone);
	free(s);
}

/* Arm the timer for the earliest fire (or a check, after SCHED_MAX_SLEEP). */
static void
sched_arm(void)
{
	struct timeval	 tv;
	int64_t		 wait = SCHED_MAX_SLEEP_MS * 1000;	/* us */

	if (heap.n > 0 && heap.v[0]->next != -1) {
		wait = heap.v[0]->next * 1000000 - time_now_us();
		if (wait < 0)
			wait = 0;
		if (wait > SCHED_MAX_SLEEP_MS * 1000)
			wait = SCHED_MAX_SLEEP_MS * 1000;
	}
	tv.tv_sec = wait / 1000000;
	tv.tv_usec = wait % 1000000;
	evtimer_add(ev_sched, &tv);
}

/*
 * Trigger a scheduled run of a task with the schedule's parameters
 * (borrowed; NULL: none); 0 if a run was made.
 */
static int
sched_trigger(const char *name, const char *expr, json_t *params)
{
	struct run_request	 req;
	struct ops_error	 err = { NULL, NULL, NULL };

	if (ml_shutting_down)
		return (-1);
	memset(&req, 0, sizeof req);
	req.task = name;
	req.trigger = TRIGGER_SCHEDULE;
	req.by = proto_trigger_name(TRIGGER_SCHEDULE);
	req.schedule = expr;
	req.params = params;
	if (runs_submit(&req, &err) == -1) {
		log_warnx("%s: @schedule %s: %s", name, expr, err.message);
		ops_error_clear(&err);
		return (-1);
	}
	return (0);
}

/* Fire a schedule: trigger its run, and list it to be recorded if made. */
static void
sched_fire(struct sched *s, struct sched ***fired, u_int *nfired)
{
	if (sched_trigger(s->task, s->expr, s->params) != 0)
		return;
	*fired = xreallocarray(*fired, *nfired + 1, sizeof **fired);
	(*fired)[(*nfired)++] = s;
}

/*
 * Record the last fire of the schedules that fired, in one transaction
 * once their runs are made: the runs come first, and a burst of fires
 * costs one commit more, not one per schedule. A fire whose run could not
 * be made is not recorded, so that @catchup makes up for it.
 */
static void
sched_record(struct sched **fired, u_int n)
{
	u_int	 i;
	int	 txn;

	if (n == 0)
		return;
	txn = n > 1 && db_begin() == 0;
	for (i = 0; i < n; i++) {
		if (db_schedule_fired(fired[i]->task, fired[i]->expr,
		    fired[i]->last) != 0)
			log_warnx("%s: @schedule %s: its last fire could not "
			    "be recorded", fired[i]->task, fired[i]->expr);
	}
	if (txn && db_commit() != 0)
		log_warnx("the last fires of %u schedules were not recorded",
		    n);
}

/* Order by next fire, never last: a sorted array is a heap. */
static int
sched_cmp_next(const void *a, const void *b)
{
	const struct sched	*sa = *(struct sched *const *)a;
	const struct sched	*sb = *(struct sched *const *)b;

	if (sched_before(sa, sb))
		return (-1);
	return (sched_before(sb, sa));
}

/*
 * The instant a schedule's next fire is looked for after, the clock being
 * at now. An every-hour schedule ("*" or "*\/N" hours) follows real time,
 * as in a fall-back: after a step back it goes on firing. Any other never
 * fires before its last fire, so a step back replays nothing, unless that
 * fire is more than SCHED_RESET ahead: then the clock was wrong when it
 * fired, and the schedule starts afresh (cronie's rule).
 */
static int64_t
sched_from(struct sched *s, int64_t now)
{
	if (s->cron.hour_star || s->last <= now)
		return (now);
	if (s->last > now + SCHED_RESET) {
		log_info("%s: @schedule %s: its last fire is %lld s ahead of "
		    "the clock: starting afresh", s->task, s->expr,
		    (long long)(s->last - now));
		s->last = now;
	}
	return (s->last);
}

/*
 * Recompute every next fire from the wall clock as it is now, after it
 * was set. A fire that came due in a step forward is kept, to fire once
 * (the fires of the skipped interval fold into it).
 */
static void
sched_recompute(void)
{
	struct sched	*s;
	int64_t		 now = time_now_ms() / 1000;
	u_int		 i;

	for (i = 0; i < heap.n; i++) {
		s = heap.v[i];
		if (s->next != -1 && s->next <= now && s->next > s->last)
			continue;	/* due in the step: fire once */
		s->next = cron_next(&s->cron, s->tz, sched_from(s, now));
	}
	if (heap.n > 0)
		qsort(heap.v, heap.n, sizeof *heap.v, sched_cmp_next);
	for (i = 0; i < heap.n; i++)
		heap.v[i]->idx = i;
}

/*
 * Fire what is due; then sleep until the next. The wall clock is compared
 * with the monotonic one since the last wake-up: a step that the timerfd
 * did not report (it is missing, or the machine was suspended) is handled
 * here, late but the same way.
 */
static void
sched_run(int stepped)
{
	struct sched	*s, **fired = NULL;
	int64_t		 now_ms, now, mono, drift, at;
	u_int		 nfired = 0;

	now_ms = time_now_ms();
	mono = time_mono_ms();
	drift = (now_ms - last_real) - (mono - last_mono);
	last_real = now_ms;
	last_mono = mono;
	if (stepped || drift > SCHED_STEP_MS || drift < -SCHED_STEP_MS) {
		/*
		 * A set of the clock that moved it by less than a second
		 * (NTP, a hypervisor: they can come often) is no news.
		 */
		if (drift >= 1000 || drift <= -1000)
			log_info("the wall clock moved by %+lld s: recomputing "
			    "schedules", (long long)(drift / 1000));
		sched_recompute();
	}
	now = now_ms / 1000;
	while (heap.n > 0 && (s = heap.v[0])->next != -1 && s->next * 1000 <=
	    now_ms) {
		at = s->next;
		s->last = at;
		/* Late (the clock stepped, or we were busy): fire once. */
		s->next = cron_next(&s->cron, s->tz, at > now ? at : now);
		sched_heap_fix(&heap, 0);
		log_debug("%s: @schedule %s fires (due at %lld)", s->task,
		    s->expr, (long long)at);
		sched_fire(s, &fired, &nfired);
	}
	sched_arm();
	sched_record(fired, nfired);
	free(fired);
}

/* The timer: see what is due. */
static void
sched_cb(int fd, short events, void *arg)
{
	sched_run(0);
}

/* (Re)arm the clock-step detector: a far timer the kernel cancels on a step. */
static void
sched_step_arm(void)
{
	struct itimerspec	 its;

	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = time_now_ms() / 1000 + 10 * 365 * 86400;
	timerfd_settime(step_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
	    &its, NULL);
}

/* The wall clock was set: recompute, fire what the step made due. */
static void
sched_step_cb(int fd, short events, void *arg)
{
	uint64_t	 n;

	if (read(fd, &n, sizeof n) == -1 && errno != ECANCELED &&
	    errno != EAGAIN)
		log_warn("timerfd");
	sched_step_arm();
	evtimer_del(ev_sched);
	sched_run(1);
}

/* Order by task, then expression. */
static int
sched_cmp_name(const void *a, const void *b)
{
	const struct sched	*sa = *(struct sched *const *)a;
	const struct sched	*sb = *(struct sched *const *)b;
	int			 c;

	if ((c = strcmp(sa->task, sb->task)) != 0)
		return (c);
	return (strcmp(sa->expr, sb->expr));
}

/* Find a task's schedule in a by-name index. */
static struct sched *
sched_lookup(struct sched **index, u_int n, const char *task,
    const char *expr)
{
	struct sched	 key, *kp = &key, **found;

	if (index == NULL)
		return (NULL);
	key.task = (char *)task;
	key.expr = (char *)expr;
	found = bsearch(&kp, index, n, sizeof *index, sched_cmp_name);
	return (found != NULL ? *found : NULL);
}

/*
 * Make a schedule for one @schedule of a task; NULL if it cannot be, or
 * if it is @reboot (then *reboot is set).
 */
static struct sched *
sched_new(struct task *t, const struct taskschedule *ts, int *reboot)
{
	struct sched	*s;
	const char	*expr = ts->expr;
	char		*cause;

	s = xcalloc(1, sizeof *s);
	if (cron_parse(expr, &s->cron, &cause) != 0) {
		/* Checked when the file was read. */
		log_warnx("%s: @schedule %s: %s", t->name, expr, cause);
		free(cause);
		free(s);
		return (NULL);
	}
	if (s->cron.reboot) {
		*reboot = 1;
		free(s);
		return (NULL);
	}
	if ((s->tz = sched_zone(t->def->timezone, &cause)) == NULL) {
		log_warnx("%s: %s", t->name, cause);
		free(cause);
		free(s);
		return (NULL);
	}
	s->task = xstrdup(t->name);
	s->expr = xstrdup(expr);
	s->params = json_incref(ts->params);
	s->zone = t->def->timezone != NULL ? xstrdup(t->def->timezone) : NULL;
	return (s);
}

/*
 * Place a schedule the old heap did not have. The database knows when it
 * last fired; one it never knew is recorded as armed now, so that @catchup
 * works from its first day. At start-up, a @catchup task whose fire time
 * passed while the daemon was down is marked to fire once.
 */
static void
sched_place(struct sched *s, int catchup, int starting, int64_t now)
{
	s->last = db_schedule_last(s->task, s->expr);
	if (s->last == 0) {
		if (db_schedule_fired(s->task, s->expr, now) != 0)
			log_warnx("%s: @schedule %s: could not be recorded",
			    s->task, s->expr);
	} else if (starting && catchup && s->last < now &&
	    cron_next(&s->cron, s->tz, s->last) <= now) {
		log_info("%s: @schedule %s: a fire time passed while "
		    "microlightd was down: catching up", s->task, s->expr);
		s->catchup = 1;
		s->last = now;
	} else if (starting && s->last < now &&
	    cron_next(&s->cron, s->tz, s->last) <= now) {
		/* Missed (once: it is as if it fired now, unrun). */
		log_info("%s: @schedule %s: a fire time passed while "
		    "microlightd was down: missed", s->task, s->expr);
		s->missed = 1;
		s->last = now;
		if (db_schedule_fired(s->task, s->expr, now) != 0)
			log_warnx("%s: @schedule %s: could not be recorded",
			    s->task, s->expr);
	}
	s->next = cron_next(&s->cron, s->tz, sched_from(s, now));
}

/*
 * Build the heap from the live tasks. A schedule the old heap had (same
 * task, expression and zone) keeps its last and next fire, so a reload
 * neither fires it again nor loses a fire that is due. At start-up
 * (starting), @reboot fires, and @catchup is looked at. Runs are made
 * after the schedules' times are written, outside that transaction.
 */
void
sched_load(int starting)
{
	struct sched	**old = heap.v, **oldname = byname, *s, *prev;
	struct sched	**fired = NULL;
	struct zones	 oldzones = TAILQ_HEAD_INITIALIZER(oldzones);
	struct task	*t;
	struct taskschedule **reboots = NULL;
	const char	**rebootnames = NULL;
	u_int		 nold = heap.n, nreboots = 0, nfired = 0, i, j;
	int64_t		 now = time_now_ms() / 1000;
	int		 txn, reboot;

	if (ev_sched == NULL && !starting)
		return;		/* not started yet: sched_start loads */
	memset(&heap, 0, sizeof heap);
	byname = NULL;
	TAILQ_CONCAT(&oldzones, &zones, entry);
	txn = db_begin() == 0;	/* first-armed times: one write, not many */
	RB_FOREACH(t, task_tree, &tasks_current()->tree) {
		if (!task_valid(t))
			continue;
		for (j = 0; j < t->def->nschedules; j++) {
			reboot = 0;
			s = sched_new(t, &t->def->schedules[j], &reboot);
			if (reboot && starting) {
				reboots = xreallocarray(reboots, nreboots + 1,
				    sizeof *reboots);
				rebootnames = xreallocarray(rebootnames,
				    nreboots + 1, sizeof *rebootnames);
				reboots[nreboots] = &t->def->schedules[j];
				rebootnames[nreboots++] = t->name;
			}
			if (s == NULL)
				continue;
			prev = sched_lookup(oldname, nold, s->task, s->expr);
			if (prev != NULL && old[prev->idx] == prev &&
			    sched_same_zone(prev->zone, s->zone)) {
				/* A fire that is due stays due; any other
				 * is computed again, with the zone as the
				 * files now say (tzdata may have changed). */
				s->last = prev->last;
				if (prev->next != -1 && prev->next <= now)
					s->next = prev->next;
				else
					s->next = cron_next(&s->cron, s->tz,
					    sched_from(s, now));
				old[prev->idx] = NULL;
			} else
				sched_place(s, t->def->catchup, starting, now);
			sched_heap_push(&heap, s);
		}
	}
	if (txn && db_commit() != 0)
		log_warnx("schedules' first-armed times were not recorded");
	for (i = 0; i < nold; i++)
		sched_free(oldname[i]);
	free(old);
	free(oldname);
	sched_zones_free(&oldzones);
	for (i = 0; i < nreboots; i++)
		sched_trigger(rebootnames[i], reboots[i]->expr,
		    reboots[i]->params);
	free(reboots);
	free(rebootnames);
	for (i = 0; i < heap.n; i++) {
		if (heap.v[i]->catchup) {
			heap.v[i]->catchup = 0;
			sched_fire(heap.v[i], &fired, &nfired);
		}
		if (heap.v[i]->missed) {
			heap.v[i]->missed = 0;
			notice_missed(heap.v[i]->task);
		}
	}
	sched_record(fired, nfired);
	free(fired);
	if (heap.n > 0) {
		byname = xreallocarray(NULL, heap.n, sizeof *byname);
		memcpy(byname, heap.v, heap.n * sizeof *byname);
		qsort(byname, heap.n, sizeof *byname, sched_cmp_name);
	}
	if (ev_sched != NULL) {
		evtimer_del(ev_sched);
		sched_arm();
	}
}

/* The next fire of one schedule of a task (seconds), or -1. */
int64_t
sched_next(const char *task, const char *expr)
{
	struct sched	*s;

	if ((s = sched_lookup(byname, heap.n, task, expr)) == NULL)
		return (-1);
	return (s->next);
}

/* The next fire's time (ms), or -1: the source of quiet.c's moments. */
static int64_t
sched_next_fire(void)
{
	if (heap.n == 0 || heap.v[0]->next == -1)
		return (-1);
	return (heap.v[0]->next * 1000);
}

/*
 * Whether the scheduler keeps up, for /healthz: no fire is more than
 * SCHED_LATE_MS overdue (the loop is stuck or the clock was set and not
 * noticed), and the timer has run within twice its longest sleep.
 */
int
sched_healthy(void)
{
	int64_t	 now = time_now_ms();

	if (ev_sched == NULL)
		return (1);
	if (heap.n > 0 && heap.v[0]->next != -1 &&
	    heap.v[0]->next * 1000 + SCHED_LATE_MS < now)
		return (0);
	return (time_mono_ms() - last_mono < 2 * SCHED_MAX_SLEEP_MS +
	    SCHED_LATE_MS);
}

/* Start the scheduler (once the database is open and tasks are loaded). */
void
sched_start(void)
{
	ev_sched = evtimer_new(ml_base, sched_cb, NULL);
	event_priority_set(ev_sched, ML_PRIORITY_SCHED);
	last_real = time_now_ms();
	last_mono = time_mono_ms();
	if ((step_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		log_warn("timerfd: clock steps are noticed within a minute");
	else {
		sched_step_arm();
		ev_step = event_new(ml_base, step_fd, EV_READ | EV_PERSIST,
		    sched_step_cb, NULL);
		event_add(ev_step, NULL);
	}
	sched_load(1);
	quiet_source(sched_next_fire);
}

/* At exit. */
void
sched_stop(void)
{
	u_int		 i;

	quiet_source(NULL);
	if (ev_sched != NULL)
		event_free(ev_sched);
	if (ev_step != NULL)
		event_free(ev_step);
	ev_sched = ev_step = NULL;
	if (step_fd != -1)
		close(step_fd);
	step_fd = -1;
	for (i = 0; i < heap.n; i++)
		sched_free(heap.v[i]);
	free(heap.v);
	free(byname);
	memset(&heap, 0, sizeof heap);
	byname = NULL;
	sched_zones_free(&zones);
}
