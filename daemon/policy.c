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

/* Queue the next attempt of a failed run, of t. */
static void
policy_retry(struct run *r, struct task *t)
{
	struct run_request	 req;
	struct ops_error	 err = { NULL, NULL, NULL };
	int64_t			 delay, id;
	char			 when[32];

	delay = policy_retry_delay(t->def->retry_delay, r->rec.attempt);
	memset(&req, 0, sizeof req);
	req.task = r->rec.task;
	req.as = t;
	req.trigger = TRIGGER_RETRY;
	req.by = r->rec.triggered_by;
	req.params = r->rec.params;
	req.schedule = r->rec.schedule;
	req.attempt = r->rec.attempt + 1;
	req.retry_of = r->rec.retry_of != 0 ? r->rec.retry_of : r->rec.id;
	req.chain_of = r->rec.chain_of;
	req.chain_tasks = r->rec.chain_tasks;
	req.not_before = time_now_ms() + delay * 1000;
	duration_format(delay, when, sizeof when);
	if ((id = runs_submit(&req, &err)) == -1) {
		log_warnx("%s[%lld]: cannot queue its retry: %s", r->rec.task,
		    (long long)r->rec.id, err.message);
		ops_error_clear(&err);
		return;
	}
	log_info("%s[%lld]: attempt %d of %d in %s, as run %lld", r->rec.task,
	    (long long)r->rec.id, req.attempt, t->def->retries + 1, when,
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
 * Start the task a run's end chains to. The chain rule: the tasks that ran
 * in the chain so far travel with it (chain_tasks), and a chain never
 * starts one of them again, nor goes past CHAIN_MAX links. A link that
 * will not run (the chain rule, or the target cannot run) is recorded as
 * a skipped run of the target that says why.
 */
static void
policy_chain(struct run *r, const char *what, const char *target)
{
	struct run_request	 req;
	struct ops_error	 err = { NULL, NULL, NULL };
	char			*tasks, *why = NULL, by[64];
	const char		*c;
	int			 links = 1;

	if (r->rec.chain_tasks != NULL)
		xasprintf(&tasks, "%s,%s", r->rec.chain_tasks, r->rec.task);
	else
		tasks = xstrdup(r->rec.task);
	for (c = tasks; *c != '\0'; c++)
		links += *c == ',';

	snprintf(by, sizeof by, "run %lld", (long long)r->rec.id);
	memset(&req, 0, sizeof req);
	req.task = target;
	req.trigger = TRIGGER_CHAIN;
	req.by = by;
	req.chain_of = r->rec.id;
	if (policy_listed(tasks, target))
		xasprintf(&why, "chain stopped: %s already ran in this chain "
		    "(%s)", target, tasks);
	else if (links >= CHAIN_MAX)
		xasprintf(&why, "chain stopped after %d links", CHAIN_MAX);
	else {
		req.chain_tasks = tasks;
		if (runs_submit(&req, &err) != -1 ||
		    strcmp(err.code, E_INTERNAL) == 0)
			goto done;
		/* The target cannot run: that is recorded too. */
		xasprintf(&why, "@%s of %s: %s", what, r->rec.task,
		    err.message);
		ops_error_clear(&err);
		req.chain_tasks = NULL;
	}
	req.skip = why;
	runs_submit(&req, &err);
done:
	if (err.message != NULL) {
		log_warnx("%s[%lld]: @%s %s: %s", r->rec.task,
		    (long long)r->rec.id, what, target, err.message);
		ops_error_clear(&err);
	}
	free(why);
	free(tasks);
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
