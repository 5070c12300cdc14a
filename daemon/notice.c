/*
 * Notifications (SPEC section 9): a task's state changes -- it starts
 * failing, it recovers, a scheduled fire did not run, it is overdue (no
 * success within its @expect), it succeeded -- and its notifiers, tasks
 * named by its @notify lines and the config's notify lines, hear of it
 * through a run of their own (trigger notify), with the environment and
 * stdin of section 9.
 *
 * One notice per change: the state (task_health) and the notices it
 * makes are written in one transaction, and a notice is delivered once
 * each notifier has its run, which names the notice: after a restart,
 * what was written and not delivered is, and nothing twice. A notifier's
 * own runs make no notices.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microlightd.h"

#define NOTICE_INPUT_MAX	4096	/* the output a notifier reads */

static struct event	*ev_overdue;
static json_t		*health;	/* task: [failing, overdue, seen] */
static int		 ready;		/* tasks.d is loaded: notifiers known */

static void	notice_arm(void);

/* Free what a notice holds. */
void
notice_clear(struct notice *n)
{
	free(n->task);
	free(n->status);
	memset(n, 0, sizeof *n);
}

/* Add the notifiers of list that hear of event to names, once each. */
static void
notice_add_notifiers(json_t *names, const struct tasknotify *list, u_int n,
    u_int event)
{
	json_t	*v;
	size_t	 j;
	u_int	 i;

	for (i = 0; i < n; i++) {
		if ((list[i].events & event) == 0)
			continue;
		json_array_foreach(names, j, v) {
			if (strcmp(json_string_value(v), list[i].task) == 0)
				break;
		}
		if (j == json_array_size(names))
			json_array_append_new(names, json_string(list[i].task));
	}
}

/* The names of the tasks to tell of event about task (a JSON array). */
static json_t *
notice_notifiers(const char *task, u_int event)
{
	struct task	*t;
	json_t		*names = json_array();

	if ((t = task_find(task)) != NULL && task_valid(t))
		notice_add_notifiers(names, t->def->notify, t->def->nnotify,
		    event);
	notice_add_notifiers(names, ml_conf->notify, ml_conf->nnotify, event);
	return (names);
}

/* Whether any of events about task would leave a notice (notice_change). */
static int
notice_heard(const char *task, u_int events)
{
	json_t	*names;
	u_int	 ev;
	int	 heard = 0;

	for (ev = 1; !heard && ev <= NOTIFY_SUCCESS; ev <<= 1) {
		if ((events & ev) == 0)
			continue;
		if (!ready && ev != NOTIFY_SUCCESS)
			return (1);
		names = notice_notifiers(task, ev);
		heard = json_array_size(names) > 0;
		json_decref(names);
	}
	return (heard);
}

/* Give one notice its notifiers' runs; delivered once all have one. */
static void
notice_deliver_one(struct notice *n)
{
	struct run_request	 req;
	struct ops_error	 err = { NULL, NULL, NULL };
	json_t			*names, *v;
	const char		*name;
	char			 by[128];
	size_t			 i;
	int			 has, all = 1;

	names = notice_notifiers(n->task, n->event);
	snprintf(by, sizeof by, "%s of %s", notify_event_name(n->event),
	    n->task);
	json_array_foreach(names, i, v) {
		name = json_string_value(v);
		if ((has = db_notice_has_run(n->id, name)) != 0) {
			all &= has == 1;
			continue;
		}
		memset(&req, 0, sizeof req);
		req.task = name;
		req.trigger = TRIGGER_NOTIFY;
		req.by = by;
		req.notice = n->id;
		/*
		 * One that cannot run is told in the log; an invalid one
		 * (its file being edited, say) gets the notice once it is
		 * valid again (tasks.d reloaded, or the next start).
		 */
		if (runs_submit(&req, &err) == -1) {
			log_warnx("%s: notifier %s: %s", n->task, name,
			    err.message);
			if (strcmp(err.code, E_INVALID_TASK) == 0)
				all = 0;
			ops_error_clear(&err);
		}
	}
	json_decref(names);
	if (all && db_notice_delivered(n->id) != 0)
		log_warnx("%s: notice %lld: could not be marked delivered",
		    n->task, (long long)n->id);
}

/* The pending notices, read before any is delivered (which writes). */
struct notice_list {
	struct notice	**v;
	size_t		  n;
};

static void
notice_collect(struct notice *n, void *arg)
{
	struct notice_list	*l = arg;

	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = n;
}

/* Deliver every notice not delivered yet. */
static void
notice_deliver(void)
{
	struct notice_list	 l = { NULL, 0 };
	size_t			 i;

	db_notices_pending(notice_collect, &l);
	for (i = 0; i < l.n; i++) {
		notice_deliver_one(l.v[i]);
		notice_clear(l.v[i]);
		free(l.v[i]);
	}
	free(l.v);
}

/*
 * The tasks' health, as written: held here too, so that a list or the
 * page does not read the database for each task.
 */
static void
notice_cache(const char *task, const struct health *h, void *arg)
{
	json_object_set_new(health, task, json_pack("[I,I,I]",
	    (json_int_t)h->failing_since, (json_int_t)h->overdue_since,
	    (json_int_t)h->seen_at));
}

/* A task's health, made (first seen now) if it has none: 0, or 1 if new. */
static int
notice_health(const char *task, struct health *h, int64_t now)
{
	json_t	*v;

	memset(h, 0, sizeof *h);
	if (health == NULL) {
		/* The first look, maybe before start-up is done. */
		health = json_object();
		if (db_health_all(notice_cache, NULL) != 0)
			log_warnx("the tasks' health could not be read");
	}
	if ((v = json_object_get(health, task)) == NULL) {
		h->seen_at = now;
		return (1);
	}
	h->failing_since = json_integer_value(json_array_get(v, 0));
	h->overdue_since = json_integer_value(json_array_get(v, 1));
	h->seen_at = json_integer_value(json_array_get(v, 2));
	return (0);
}

/*
 * A change of task's state: its health as it is now (h) and the events
 * it makes, about a run (rec, or NULL), written in one transaction; then
 * told. An event nobody hears of leaves no notice.
 */
static void
notice_change(const char *task, const struct health *h, u_int events,
    const struct runrec *rec, int64_t now)
{
	struct notice	 n;
	json_t		*names;
	u_int		 ev;
	int		 ok, txn;

	/* Inside another's transaction (a start-up's), as part of it. */
	if ((txn = !db_in_transaction()) && db_begin() != 0)
		return;
	ok = db_health_set(task, h) == 0;
	for (ev = 1; ok && ev <= NOTIFY_SUCCESS; ev <<= 1) {
		if ((events & ev) == 0)
			continue;
		if (ev != NOTIFY_SUCCESS && rec != NULL)
			log_info("%s[%lld]: %s", task, (long long)rec->id,
			    notify_event_name(ev));
		else if (ev != NOTIFY_SUCCESS)
			log_info("%s: %s", task, notify_event_name(ev));
		/*
		 * Before tasks.d is loaded (a run found lost at start-up),
		 * who listens is not known yet: kept for notice_start.
		 */
		names = notice_notifiers(task, ev);
		if (json_array_size(names) > 0 ||
		    (!ready && ev != NOTIFY_SUCCESS)) {
			memset(&n, 0, sizeof n);
			n.task = (char *)task;
			n.event = ev;
			n.run_id = rec != NULL ? rec->id : 0;
			n.status = rec != NULL ?
			    (char *)proto_status_name(rec->status) : NULL;
			n.exit_code = rec != NULL ? rec->exit_code : -1;
			n.created_at = now;
			ok = db_notice_add(&n) != -1;
		}
		json_decref(names);
	}
	if (!ok || (txn && db_commit() != 0)) {
		if (txn)
			db_rollback();
		log_warnx("%s: its state and notices could not be recorded",
		    task);
		return;
	}
	notice_cache(task, h, NULL);
	if (events != 0 && ready)
		notice_deliver();
}

/*
 * A run has ended (runs_end): a failure (failed, timed out, lost) after a
 * success, a success after a failure or an overdue span, a skipped fire
 * of a schedule, any success.
 */
void
notice_run_ended(const struct run *r)
{
	struct health	 h, was;
	int64_t		 now = time_now_ms();
	u_int		 events = 0;
	int		 rc;

	if (r->rec.trigger == TRIGGER_NOTIFY)
		return;
	rc = notice_health(r->rec.task, &h, now);
	was = h;
	switch (r->rec.status) {
	case RUN_SUCCEEDED:
		events = NOTIFY_SUCCESS;
		if (h.failing_since != 0 || h.overdue_since != 0)
			events |= NOTIFY_RECOVERY;
		h.failing_since = h.overdue_since = 0;
		break;
	case RUN_FAILED:
	case RUN_TIMED_OUT:
	case RUN_LOST:
		if (h.failing_since == 0) {
			events = NOTIFY_FAILURE;
			h.failing_since = now;
		}
		break;
	case RUN_SKIPPED:
		if (r->rec.trigger == TRIGGER_SCHEDULE)
			events = NOTIFY_MISSED;
		break;
	default:
		return;
	}
	if (rc == 0 && memcmp(&h, &was, sizeof h) == 0 &&
	    !notice_heard(r->rec.task, events)) {
		/* Nothing to write: a success like the last, unheard. */
		if (r->rec.status == RUN_SUCCEEDED)
			notice_arm();
		return;
	}
	notice_change(r->rec.task, &h, events, &r->rec, now);
	if (r->rec.status == RUN_SUCCEEDED)
		notice_arm();
}

/* A scheduled fire of task did not run: the daemon was down. */
void
notice_missed(const char *task)
{
	struct health	 h;
	int64_t		 now = time_now_ms();

	notice_health(task, &h, now);
	notice_change(task, &h, NOTIFY_MISSED, NULL, now);
}

/*
 * @expect: a task that has had no success within its span (from its last
 * success, or from when it was first seen) is overdue, once, until it
 * succeeds; the timer waits for the soonest one to come due.
 */
static void
notice_overdue_cb(int fd, short events, void *arg)
{
	notice_arm();
}

static void
notice_arm(void)
{
	struct task	*t;
	struct health	 h;
	struct timeval	 tv;
	int64_t		 now = time_now_ms(), due, from, next = 0;
	int		 rc;

	if (ev_overdue == NULL)
		ev_overdue = evtimer_new(ml_base, notice_overdue_cb, NULL);
	RB_FOREACH(t, task_tree, &tasks_current()->tree) {
		if (!task_valid(t) || t->def->expect <= 0)
			continue;
		rc = notice_health(t->name, &h, now);
		if (rc == 1 && db_health_set(t->name, &h) != 0)
			continue;
		if (rc == 1)
			notice_cache(t->name, &h, NULL);
		if (h.overdue_since != 0)
			continue;
		from = metrics_last_success_of(t->name);
		if (from < h.seen_at)
			from = h.seen_at;
		due = from + t->def->expect * 1000;
		if (due <= now) {
			h.overdue_since = now;
			notice_change(t->name, &h, NOTIFY_OVERDUE, NULL, now);
		} else if (next == 0 || due < next)
			next = due;
	}
	evtimer_del(ev_overdue);
	if (next == 0)
		return;
	tv.tv_sec = (next - now) / 1000;
	tv.tv_usec = ((next - now) % 1000) * 1000;
	evtimer_add(ev_overdue, &tv);
}

/* At start-up, and after tasks.d changed: deliver, and watch @expect. */
void
notice_start(void)
{
	ready = 1;
	notice_deliver();
	notice_arm();
}

/* At exit. */
void
notice_stop(void)
{
	if (ev_overdue != NULL)
		event_free(ev_overdue);
	ev_overdue = NULL;
	json_decref(health);
	health = NULL;
}

/* Whether task is overdue or failing, and since when (ms; 0: not). */
void
notice_state(const char *task, int64_t *failing, int64_t *overdue)
{
	struct health	 h;

	*failing = *overdue = 0;
	if (notice_health(task, &h, 0) == 0) {
		*failing = h.failing_since;
		*overdue = h.overdue_since;
	}
}

/*
 * The environment of a notifier's run (SPEC section 9), as a JSON object
 * of strings, or NULL if its notice is gone.
 */
json_t *
notice_env(int64_t id)
{
	struct notice	 n;
	struct runrec	 rec;
	const char	*addr;
	json_t		*env;
	char		 buf[32], *url = NULL;

	if (db_notice_load(id, &n) != 0)
		return (NULL);
	env = json_object();
	json_object_set_new(env, "MICROLIGHT_EVENT",
	    json_string(notify_event_name(n.event)));
	json_object_set_new(env, "MICROLIGHT_SUBJECT_TASK",
	    json_string(n.task));
	buf[0] = '\0';
	if (n.run_id != 0)
		snprintf(buf, sizeof buf, "%lld", (long long)n.run_id);
	json_object_set_new(env, "MICROLIGHT_SUBJECT_RUN", json_string(buf));
	json_object_set_new(env, "MICROLIGHT_SUBJECT_STATUS",
	    json_string(n.status != NULL ? n.status : ""));
	buf[0] = '\0';
	if (n.exit_code >= 0)
		snprintf(buf, sizeof buf, "%d", n.exit_code);
	json_object_set_new(env, "MICROLIGHT_SUBJECT_EXIT_CODE",
	    json_string(buf));
	if ((addr = http_listen_public_url()) != NULL) {
		if (n.run_id != 0)
			xasprintf(&url, "%s/runs/%lld", addr,
			    (long long)n.run_id);
		else
			xasprintf(&url, "%s/tasks/%s", addr, n.task);
	}
	json_object_set_new(env, "MICROLIGHT_SUBJECT_URL",
	    json_string(url != NULL ? url : ""));
	free(url);
	if (n.run_id != 0 && runs_load(n.run_id, &rec) == 0) {
		json_object_set_new(env, "MICROLIGHT_SUBJECT_TRIGGERED_BY",
		    json_string(rec.triggered_by));
		runrec_clear(&rec);
	} else
		json_object_set_new(env, "MICROLIGHT_SUBJECT_TRIGGERED_BY",
		    json_string(""));
	notice_clear(&n);
	return (env);
}

/* A notifier's stdin: the end of its subject run's output (new). */
int
notice_input(int64_t id, void **data, size_t *len)
{
	struct notice	 n;
	char		*tail = NULL;
	int		 rc = 0;

	*data = NULL;
	*len = 0;
	if (db_notice_load(id, &n) != 0)
		return (-1);
	if (n.run_id != 0)
		rc = db_output_tail(n.run_id, NOTICE_INPUT_MAX, &tail, len);
	*data = tail;
	notice_clear(&n);
	return (rc);
}
