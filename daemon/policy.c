/*
 * What follows a run's end: its retry (@retries, @retry-delay) and the
 * task it chains to (@on-success, @on-failure).
 *
 * A retry is a new run, queued at once and started when its delay is over
 * (retry-delay, then twice that, then four times...), so it shows as queued
 * with its time and survives a restart. A chain starts after the last
 * attempt. The chain rule: a chain never starts a task that has already run
 * in it (the finished run's task and those of the runs that chained to it,
 * carried along in chain_tasks, so pruning cannot hide them), and stops
 * after CHAIN_MAX links; the refused link is recorded as a skipped run
 * that says why. So A -> B -> A stops at the second A, and a task chaining
 * to itself never runs again through the chain.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microlightd.h"
#include "params.h"

#define CHAIN_MAX		16
#define RETRY_DELAY_MAX		(30 * 86400)	/* seconds */

/* The delay before attempt n + 1: the base doubled n - 1 times, capped. */
static int64_t
policy_retry_delay(int64_t base, int attempt)
{
	int64_t	 delay = base;
	int	 i;

	for (i = 1; i < attempt && delay < RETRY_DELAY_MAX; i++)
		delay *= 2;
	return (delay < RETRY_DELAY_MAX ? delay : RETRY_DELAY_MAX);
}

/* Queue the next attempt of a failed run. */
static void
policy_retry(struct run *r, struct task *t)
{
	struct run	*n;
	int64_t		 delay, id;
	char		*cause, when[32];
	int		 attempt;

	n = run_create(t, TRIGGER_RETRY, r->rec.triggered_by,
	    json_deep_copy(r->rec.params));
	n->rec.attempt = r->rec.attempt + 1;
	n->rec.retry_of = r->rec.retry_of != 0 ? r->rec.retry_of : r->rec.id;
	n->rec.chain_of = r->rec.chain_of;
	if (r->rec.chain_tasks != NULL)
		n->rec.chain_tasks = xstrdup(r->rec.chain_tasks);
	if (r->rec.schedule != NULL)
		n->rec.schedule = xstrdup(r->rec.schedule);
	delay = policy_retry_delay(t->def->retry_delay, r->rec.attempt);
	n->rec.not_before = time_now_ms() + delay * 1000;
	duration_format(delay, when, sizeof when);
	attempt = n->rec.attempt;
	if ((id = queue_submit(n, &cause)) == -1) {
		log_warnx("%s[%lld]: cannot queue its retry: %s", r->rec.task,
		    (long long)r->rec.id, cause);
		free(cause);
		run_free(n);
		return;
	}
	log_info("%s[%lld]: attempt %d of %d in %s, as run %lld", r->rec.task,
	    (long long)r->rec.id, attempt, t->def->retries + 1, when,
	    (long long)id);
}

/* Whether name is one of the comma-separated names of list. */
static int
policy_listed(const char *list, const char *name)
{
	size_t	 len = strlen(name);

	while (list != NULL && *list != '\0') {
		if (strncmp(list, name, len) == 0 &&
		    (list[len] == ',' || list[len] == '\0'))
			return (1);
		if ((list = strchr(list, ',')) != NULL)
			list++;
	}
	return (0);
}

/*
 * Record a link of a chain that will not run (the chain rule, or the
 * target cannot run), as a skipped run of the target that says why.
 */
static void
policy_chain_skip(struct run *r, const char *target, json_t *params,
    const char *why)
{
	struct runrec	 rec;
	char		 by[64];

	memset(&rec, 0, sizeof rec);
	snprintf(by, sizeof by, "run %lld", (long long)r->rec.id);
	rec.task = (char *)target;
	rec.status = RUN_SKIPPED;
	rec.trigger = TRIGGER_CHAIN;
	rec.triggered_by = by;
	rec.params = params != NULL ? params : json_object();
	rec.attempt = 1;
	rec.queued_at = rec.finished_at = time_now_ms();
	rec.exit_code = -1;
	rec.chain_of = r->rec.id;
	rec.reason = (char *)why;
	if (db_run_insert(&rec) == 0)
		log_info("%s[%lld]: skipped: %s", target, (long long)rec.id,
		    why);
	metrics_run_ended(&rec);
	if (params == NULL)
		json_decref(rec.params);
}

/*
 * Start the task a run's end chains to. The chain rule: the tasks that ran
 * in the chain so far travel with it (chain_tasks), and a chain never
 * starts one of them again, nor goes past CHAIN_MAX links.
 */
static void
policy_chain(struct run *r, const char *what, const char *target)
{
	struct task	*t;
	struct run	*n;
	json_t		*params;
	char		*cause, *why, *tasks, by[64];
	const char	*c;
	int		 links = 1;

	if (r->rec.chain_tasks != NULL)
		xasprintf(&tasks, "%s,%s", r->rec.chain_tasks, r->rec.task);
	else
		tasks = xstrdup(r->rec.task);
	for (c = tasks; *c != '\0'; c++)
		links += *c == ',';

	if (policy_listed(tasks, target)) {
		xasprintf(&why, "chain stopped: %s already ran in this chain "
		    "(%s)", target, tasks);
		policy_chain_skip(r, target, NULL, why);
		free(why);
		free(tasks);
		return;
	}
	if (links >= CHAIN_MAX) {
		xasprintf(&why, "chain stopped after %d links", CHAIN_MAX);
		policy_chain_skip(r, target, NULL, why);
		free(why);
		free(tasks);
		return;
	}
	if ((t = task_find(target)) == NULL || !task_valid(t)) {
		xasprintf(&why, "@%s of %s: task %s is %s", what, r->rec.task,
		    target, t == NULL ? "gone" : "invalid");
		policy_chain_skip(r, target, NULL, why);
		free(why);
		free(tasks);
		return;
	}
	if ((params = params_check(t->def, NULL, 0, &cause)) == NULL) {
		xasprintf(&why, "@%s of %s: %s", what, r->rec.task, cause);
		policy_chain_skip(r, target, NULL, why);
		free(why);
		free(cause);
		free(tasks);
		return;
	}
	snprintf(by, sizeof by, "run %lld", (long long)r->rec.id);
	n = run_create(t, TRIGGER_CHAIN, by, params);
	n->rec.chain_of = r->rec.id;
	n->rec.chain_tasks = tasks;
	if (queue_trigger(t, n, &cause) == -1) {
		log_warnx("%s[%lld]: @%s %s: %s", r->rec.task,
		    (long long)r->rec.id, what, target, cause);
		free(cause);
	}
}

/*
 * A run has ended and is recorded: a failed or timed-out run is retried
 * while attempts remain; then, after success, @on-success starts, and after
 * the last failed attempt, @on-failure. Cancelled, skipped and lost runs
 * start nothing.
 */
void
policy_run_ended(struct run *r)
{
	const struct taskdef	*def;
	struct task		*t;
	int			 failed;

	if (r->task == NULL || r->task->def == NULL)
		return;
	def = r->task->def;
	failed = r->rec.status == RUN_FAILED || r->rec.status == RUN_TIMED_OUT;
	if (failed && r->rec.attempt <= def->retries) {
		/* The task as it is now, if it still is; else as it was. */
		if ((t = task_find(r->rec.task)) == NULL || !task_valid(t))
			t = r->task;
		policy_retry(r, t);
		return;
	}
	if (r->rec.status == RUN_SUCCEEDED && def->on_success != NULL)
		policy_chain(r, "on-success", def->on_success);
	else if (failed && def->on_failure != NULL)
		policy_chain(r, "on-failure", def->on_failure);
}
