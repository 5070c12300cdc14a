/*
 * The spare supervisors: a few kept ready, each given a run's job. They
 * come from the launcher, and from runs that are over: a supervisor whose
 * run has ended is kept for the next if fewer than spare_max() wait
 * (spawn.c), so that a busy daemon forks none. Those beyond SPARES_WANTED
 * are let go once none has been needed for SPARES_IDLE_MS.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"

#define SPARES_WANTED	2	/* spares kept ready */
#define SPARES_KEPT	64	/* at most, counting those of ended runs */
#define SPARES_IDLE_MS	10000	/* unused that long: back to SPARES_WANTED */

/* Spares ready for a job, the most recently used last. */
static struct spare	 spares[SPARES_KEPT];
static u_int		 nspares;
static struct event	*ev_spares_idle;
static struct event	*ev_spares_kick; /* a spare is back: start a run */
static int64_t		 spares_used;	/* when one was last taken */
static u_int		 spares_asked;	/* asked of the launcher, not in yet */
static int		 spares_failing; /* the launcher cannot give any */
static struct event	*ev_spares_late;

#define SPARES_LATE_MS	1000	/* a spare asked for and not in by then */

static void	spare_timer(void);
static void	spare_late_cb(int, short, void *);
static void	spare_idle_cb(int, short, void *);
static void	spare_kick_cb(int, short, void *);

/* How many spares may wait: enough for max-running runs ending at once. */
u_int
spare_max(void)
{
	u_int	 n = ml_conf->max_running;

	if (n > SPARES_KEPT)
		n = SPARES_KEPT;
	return (n < SPARES_WANTED ? SPARES_WANTED : n);
}

/* Close the daemon's ends of a spare's descriptors. */
static void
spare_close(struct spare *sc)
{
	if (sc->ctl != -1)
		close(sc->ctl);
	if (sc->out != -1)
		close(sc->out);
	if (sc->err != -1)
		close(sc->err);
	if (sc->job != -1)
		close(sc->job);
	sc->pid = -1;
	sc->ctl = sc->out = sc->err = sc->job = -1;
}

/*
 * Write a job to a spare. The job pipe is blocking: the spare is reading
 * it in a loop, so even a job larger than the pipe goes through at once;
 * a spare that died gives EPIPE (SIGPIPE is ignored).
 */
static int
spare_job_send(struct spare *sc, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(sc->job, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return (-1);
		buf += n;
		len -= n;
	}
	close(sc->job);
	sc->job = -1;
	return (0);
}

/* A spare arrived from the launcher: a waiting run may start. */
void
spare_add(struct spare *sc)
{
	if (spares_asked > 0)
		spares_asked--;
	spares_failing = 0;
	spare_timer();
	if (nspares >= SPARES_WANTED || ml_shutting_down) {
		spare_close(sc);	/* it sees EOF and exits */
		return;
	}
	fcntl(sc->ctl, F_SETFL, O_NONBLOCK);
	fcntl(sc->out, F_SETFL, O_NONBLOCK);
	fcntl(sc->err, F_SETFL, O_NONBLOCK);
	spares[nspares++] = *sc;
	runs_kick();
}

/* Let the spares beyond SPARES_WANTED go when none was needed for long. */
static void
spare_idle_arm(void)
{
	struct timeval	 tv;

	if (ev_spares_idle == NULL)
		ev_spares_idle = evtimer_new(ml_base, spare_idle_cb, NULL);
	if (nspares <= SPARES_WANTED || evtimer_pending(ev_spares_idle, NULL))
		return;
	tv.tv_sec = SPARES_IDLE_MS / 1000;
	tv.tv_usec = (SPARES_IDLE_MS % 1000) * 1000;
	evtimer_add(ev_spares_idle, &tv);
}

static void
spare_idle_cb(int fd, short events, void *arg)
{
	u_int	 extra;

	if (time_mono_ms() - spares_used < SPARES_IDLE_MS) {
		spare_idle_arm();
		return;
	}
	if (nspares <= SPARES_WANTED)
		return;
	/* The oldest go: each sees its job pipe close and exits. */
	extra = nspares - SPARES_WANTED;
	while (extra-- > 0) {
		spare_close(&spares[0]);
		memmove(spares, spares + 1, --nspares * sizeof *spares);
	}
}

static void
spare_kick_cb(int fd, short events, void *arg)
{
	runs_kick();
}

/*
 * The supervisor pid, whose run is over, said SPAWN_DONE on ctl: keep it
 * as a spare, sending it new pipes, or let it go (close ctl) when enough
 * wait. ctl is the daemon's now either way.
 */
void
spare_recycle(pid_t pid, int ctl)
{
	struct spare	 sc;
	int		 out[2], err[2], job[2], fds[3];
	char		 cmd = SPAWN_CMD_AGAIN;

	if (ml_shutting_down || nspares >= spare_max()) {
		close(ctl);
		return;
	}
	if (proc_pipes(out, err, job) == -1)
		goto fail;
	fds[0] = out[1];
	fds[1] = err[1];
	fds[2] = job[0];
	if (proc_send_fds(ctl, &cmd, 1, fds, 3) != 1) {
		proc_pipes_close(out, err, job);
		goto fail;
	}
	close(out[1]);
	close(err[1]);
	close(job[0]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	sc.pid = pid;
	sc.ctl = ctl;
	sc.out = out[0];
	sc.err = err[0];
	sc.job = job[1];
	spares[nspares++] = sc;
	spare_idle_arm();
	/* A run waiting for a spare starts from the loop, not from here. */
	if (ev_spares_kick == NULL)
		ev_spares_kick = event_new(ml_base, -1, 0, spare_kick_cb, NULL);
	event_active(ev_spares_kick, EV_TIMEOUT, 0);
	return;

fail:
	log_warn("keeping supervisor %d for another run", (int)pid);
	close(ctl);
}

/*
 * The spares asked for will not come (the launcher failed or is gone):
 * runs start with a supervisor forked by the daemon until spares come
 * again.
 */
void
spare_lost(void)
{
	spares_asked = 0;
	spares_failing = 1;
	if (ev_spares_late != NULL)
		evtimer_del(ev_spares_late);
	runs_kick();
}

/*
 * While spares are asked for, the launcher must deliver one every
 * SPARES_LATE_MS; (re)start that clock, or stop it when none is asked.
 */
static void
spare_timer(void)
{
	struct timeval	 tv;

	if (ev_spares_late == NULL)
		ev_spares_late = evtimer_new(ml_base, spare_late_cb, NULL);
	if (spares_asked == 0) {
		evtimer_del(ev_spares_late);
		return;
	}
	tv.tv_sec = SPARES_LATE_MS / 1000;
	tv.tv_usec = (SPARES_LATE_MS % 1000) * 1000;
	evtimer_add(ev_spares_late, &tv);
}

/* Spares asked for long ago have not come: stop waiting for them. */
static void
spare_late_cb(int fd, short events, void *arg)
{
	log_warnx("the launcher gives no spare supervisor: forking them here");
	spare_lost();
}

/*
 * Whether a run can start now: a spare is ready, or the launcher cannot
 * give one and the daemon forks the supervisor itself. Otherwise the run
 * waits in the queue a moment for the spare on its way: forking the daemon
 * costs more than that wait.
 */
int
spare_ready(void)
{
	return (nspares > 0 || spares_failing || launcher_pid() == -1);
}

/* Keep SPARES_WANTED spares ready or on their way from the launcher. */
void
spare_prepare(void)
{
	u_int	 want, asked;

	if (ml_shutting_down)
		return;
	if (nspares + spares_asked >= SPARES_WANTED)
		return;
	want = SPARES_WANTED - nspares - spares_asked;
	asked = launcher_request(want);
	spares_asked += asked;
	if (asked > 0)
		spare_timer();
}

/*
 * Start the supervisor of a run: hand the job to a spare (forking one here
 * if none is ready, or if the one taken turns out to be dead). Returns the
 * supervisor's pid and the daemon's ends of the control socket and of the
 * stdout and stderr pipes (non-blocking, close-on-exec), or -1.
 */
pid_t
spare_start(const struct spawn *sp, int *ctlp, int *outp, int *errp)
{
	struct spare	 sc;
	char		*job;
	size_t		 len;
	int		 tries;

	job = spawn_job_encode(sp, &len);
	for (tries = 0; tries < SPARES_WANTED + 2; tries++) {
		if (nspares > 0) {
			/* The last used: its pages are its own already. */
			sc = spares[--nspares];
			spares_used = time_mono_ms();
		} else {
			/* None ready: fork one here, slower but sure. */
			if (spawn_fork_spare(&sc) == -1)
				break;
			fcntl(sc.ctl, F_SETFL, O_NONBLOCK);
			fcntl(sc.out, F_SETFL, O_NONBLOCK);
			fcntl(sc.err, F_SETFL, O_NONBLOCK);
		}
		if (spare_job_send(&sc, job, len) == 0) {
			free(job);
			*ctlp = sc.ctl;
			*outp = sc.out;
			*errp = sc.err;
			spare_prepare();
			return (sc.pid);
		}
		log_warn("%s[%s]: handing the run to supervisor %d",
		    spawn_env(sp->envp, "MICROLIGHT_TASK"),
		    spawn_env(sp->envp, "MICROLIGHT_RUN_ID"), (int)sc.pid);
		kill(sc.pid, SIGKILL);
		spare_close(&sc);
	}
	free(job);
	spare_prepare();
	return (-1);
}

/* The pids of the spares, for the orphan killer to spare them. */
u_int
spare_pids(pid_t **pids, u_int n)
{
	u_int	 i;

	for (i = 0; i < nspares; i++) {
		*pids = xreallocarray(*pids, n + 1, sizeof **pids);
		(*pids)[n++] = spares[i].pid;
	}
	return (n);
}

/* At exit: each spare sees its job pipe close and exits. */
void
spare_shutdown(void)
{
	while (nspares > 0)
		spare_close(&spares[--nspares]);
	spares_asked = 0;
	if (ev_spares_late != NULL)
		event_free(ev_spares_late);
	ev_spares_late = NULL;
	if (ev_spares_idle != NULL)
		event_free(ev_spares_idle);
	ev_spares_idle = NULL;
	if (ev_spares_kick != NULL)
		event_free(ev_spares_kick);
	ev_spares_kick = NULL;
}
