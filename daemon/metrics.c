/*
 * Metrics for /metrics, in Prometheus's text format: runs that ended since
 * start-up by task and status (counters; Prometheus takes a restart's reset
 * in its stride), their durations (a histogram per task), the running and
 * queued runs, the last success of each task, and the HTTP side's numbers.
 */

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "microlightd.h"

/* Upper bounds of the duration buckets, in seconds. */
static const double metrics_bounds[] = {
	0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600
};
#define METRICS_NBOUNDS	(sizeof metrics_bounds / sizeof metrics_bounds[0])

/* What is known of one task. */
struct metrics_task {
	char			*name;
	uint64_t		 ended[RUN_NSTATUS];
	uint64_t		 buckets[METRICS_NBOUNDS + 1];	/* last: +Inf */
	double			 seconds;	/* sum of durations */
	uint64_t		 runs;		/* runs with a duration */
	int64_t			 last_success;	/* ms; 0: none known */
	RB_ENTRY(metrics_task)	 entry;
};

RB_HEAD(metrics_tree, metrics_task);
RB_PROTOTYPE(metrics_tree, metrics_task, entry, metrics_cmp);

/* By task name. */
static int
metrics_cmp(struct metrics_task *a, struct metrics_task *b)
{
	return (strcmp(a->name, b->name));
}
RB_GENERATE(metrics_tree, metrics_task, entry, metrics_cmp);

static struct metrics_tree	 metrics_tasks = RB_INITIALIZER(&metrics_tasks);

/* A task's entry, made on first use. */
static struct metrics_task *
metrics_get(const char *name)
{
	struct metrics_task	 key, *m;

	key.name = (char *)name;
	if ((m = RB_FIND(metrics_tree, &metrics_tasks, &key)) != NULL)
		return (m);
	m = xcalloc(1, sizeof *m);
	m->name = xstrdup(name);
	RB_INSERT(metrics_tree, &metrics_tasks, m);
	return (m);
}

/* A run ended (ran, was skipped, or was cancelled while queued). */
void
metrics_run_ended(const struct runrec *rec)
{
	struct metrics_task	*m;
	double			 secs;
	u_int			 i;

	if (rec->task == NULL || (u_int)rec->status >= RUN_NSTATUS)
		return;
	m = metrics_get(rec->task);
	m->ended[rec->status]++;
	/* A lost run's end is when it was noticed: it has no duration. */
	if (rec->started_at > 0 && rec->finished_at >= rec->started_at &&
	    rec->status != RUN_LOST) {
		secs = (rec->finished_at - rec->started_at) / 1000.0;
		for (i = 0; i < METRICS_NBOUNDS; i++) {
			if (secs <= metrics_bounds[i])
				break;
		}
		m->buckets[i]++;
		m->seconds += secs;
		m->runs++;
	}
	if (rec->status == RUN_SUCCEEDED && rec->finished_at > m->last_success)
		m->last_success = rec->finished_at;
}

/* From the database at start-up: each task's last success. */
static void
metrics_last_success(const char *task, int64_t ms, void *arg)
{
	metrics_get(task)->last_success = ms;
}

/* Read what the metrics need from the database. */
void
metrics_start(void)
{
	db_last_successes(metrics_last_success, NULL);
}

/* When a task last succeeded (ms; 0: not known). */
int64_t
metrics_last_success_of(const char *task)
{
	struct metrics_task	 key, *m;

	key.name = (char *)task;
	m = RB_FIND(metrics_tree, &metrics_tasks, &key);
	return (m != NULL ? m->last_success : 0);
}

/* Free everything, at exit. */
void
metrics_stop(void)
{
	struct metrics_task	*m;

	while ((m = RB_ROOT(&metrics_tasks)) != NULL) {
		RB_REMOVE(metrics_tree, &metrics_tasks, m);
		free(m->name);
		free(m);
	}
}

/* Write every metric, with the tasks w may see as labels. */
static void
metrics_write(struct evbuffer *b, const struct who *w, uint64_t requests,
    u_int conns)
{
	struct metrics_task	*m;
	struct task		*t;
	uint64_t		 cum;
	int64_t			 failing, overdue;
	u_int			 i, ninvalid = 0, ntasks = 0;

	evbuffer_add_printf(b,
	    "# HELP microlight_runs_total Runs that ended since microlightd "
	    "started, by task and status.\n"
	    "# TYPE microlight_runs_total counter\n");
	RB_FOREACH(m, metrics_tree, &metrics_tasks) {
		if (!access_task_name(w, m->name))
			continue;
		for (i = 0; i < RUN_NSTATUS; i++) {
			if (m->ended[i] == 0)
				continue;
			evbuffer_add_printf(b, "microlight_runs_total{task=\"%s\","
			    "status=\"%s\"} %llu\n", m->name,
			    proto_status_name(i), (unsigned long long)m->ended[i]);
		}
	}
	evbuffer_add_printf(b,
	    "# HELP microlight_run_duration_seconds How long runs ran, from "
	    "start to end.\n"
	    "# TYPE microlight_run_duration_seconds histogram\n");
	RB_FOREACH(m, metrics_tree, &metrics_tasks) {
		if (m->runs == 0 || !access_task_name(w, m->name))
			continue;
		cum = 0;
		for (i = 0; i < METRICS_NBOUNDS; i++) {
			cum += m->buckets[i];
			evbuffer_add_printf(b, "microlight_run_duration_seconds_"
			    "bucket{task=\"%s\",le=\"%g\"} %llu\n", m->name,
			    metrics_bounds[i], (unsigned long long)cum);
		}
		cum += m->buckets[METRICS_NBOUNDS];
		evbuffer_add_printf(b, "microlight_run_duration_seconds_bucket"
		    "{task=\"%s\",le=\"+Inf\"} %llu\n"
		    "microlight_run_duration_seconds_sum{task=\"%s\"} %.3f\n"
		    "microlight_run_duration_seconds_count{task=\"%s\"} %llu\n",
		    m->name, (unsigned long long)cum, m->name, m->seconds,
		    m->name, (unsigned long long)m->runs);
	}
	evbuffer_add_printf(b,
	    "# HELP microlight_task_last_success_timestamp_seconds When each "
	    "task's last successful run ended.\n"
	    "# TYPE microlight_task_last_success_timestamp_seconds gauge\n");
	RB_FOREACH(m, metrics_tree, &metrics_tasks) {
		if (m->last_success > 0 && access_task_name(w, m->name))
			evbuffer_add_printf(b, "microlight_task_last_success_"
			    "timestamp_seconds{task=\"%s\"} %.3f\n", m->name,
			    m->last_success / 1000.0);
	}
	evbuffer_add_printf(b,
	    "# HELP microlight_task_overdue Whether a task with @expect has "
	    "had no success within it.\n"
	    "# TYPE microlight_task_overdue gauge\n");
	RB_FOREACH(t, task_tree, &tasks_current()->tree) {
		if (access_task(w, t, t->name) && task_valid(t) &&
		    t->def->expect > 0) {
			notice_state(t->name, &failing, &overdue);
			evbuffer_add_printf(b, "microlight_task_overdue{task="
			    "\"%s\"} %d\n", t->name, overdue != 0);
		}
	}
	RB_FOREACH(t, task_tree, &tasks_current()->tree) {
		if (!access_task(w, t, t->name))
			continue;
		ntasks++;
		if (!task_valid(t))
			ninvalid++;
	}
	evbuffer_add_printf(b,
	    "# HELP microlight_runs_running Runs running now.\n"
	    "# TYPE microlight_runs_running gauge\n"
	    "microlight_runs_running %u\n"
	    "# HELP microlight_runs_queued Runs waiting for a slot.\n"
	    "# TYPE microlight_runs_queued gauge\n"
	    "microlight_runs_queued %u\n"
	    "# HELP microlight_runs_scheduled Runs waiting for their time "
	    "(future runs, retries waiting out their delay).\n"
	    "# TYPE microlight_runs_scheduled gauge\n"
	    "microlight_runs_scheduled %lld\n"
	    "# HELP microlight_tasks Tasks in the tasks directory.\n"
	    "# TYPE microlight_tasks gauge\n"
	    "microlight_tasks{valid=\"true\"} %u\n"
	    "microlight_tasks{valid=\"false\"} %u\n"
	    "# HELP microlight_http_requests_total HTTP requests since "
	    "start-up.\n"
	    "# TYPE microlight_http_requests_total counter\n"
	    "microlight_http_requests_total %llu\n"
	    "# HELP microlight_http_connections HTTP connections open now.\n"
	    "# TYPE microlight_http_connections gauge\n"
	    "microlight_http_connections %u\n"
	    "# HELP microlight_http_refused_total Requests answered 503 "
	    "because their connection was over the caps on connections.\n"
	    "# TYPE microlight_http_refused_total counter\n"
	    "microlight_http_refused_total %llu\n"
	    "# HELP microlight_http_closed_total HTTP connections the "
	    "daemon closed with no request unanswered: idle or too slow, "
	    "to make room or to keep within its limits.\n"
	    "# TYPE microlight_http_closed_total counter\n"
	    "microlight_http_closed_total %llu\n"
	    "# HELP microlight_start_time_seconds When microlightd started.\n"
	    "# TYPE microlight_start_time_seconds gauge\n"
	    "microlight_start_time_seconds %.3f\n",
	    run_active_count(), queue_length(), (long long)runs_scheduled(),
	    ntasks - ninvalid, ninvalid,
	    (unsigned long long)requests, conns,
	    (unsigned long long)http_conn_refused_count(),
	    (unsigned long long)http_conn_cut_count(), ml_started / 1000.0);
}

/* GET /metrics: Prometheus text format. */
void
metrics_request(struct http_req *hr)
{
	struct evbuffer	*b = evbuffer_new();

	metrics_write(b, hr->who, http_request_count(), http_conn_count());
	http_reply(hr, 200, "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}
