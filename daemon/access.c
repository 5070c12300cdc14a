/*
 * Who may do what (SPEC section 8): one rule for every entry point. Each
 * request is made by a who -- a web user, a token, a control-socket peer,
 * a webhook's secret -- and access_task decides, for every route and
 * command alike, whether that who may see a task (and its runs, and their
 * output) and run it. A task a who may not see does not exist for them:
 * callers answer exactly as for an unknown name.
 */

#include <sys/types.h>

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightd.h"

#define ACCESS_MAX_GROUPS	1024	/* a Unix user's, read at most */

/* A new who, recorded on runs as by, matched by @allow as user. */
struct who *
who_new(const char *by, const char *user)
{
	struct who	*w;

	w = xcalloc(1, sizeof *w);
	w->by = xstrdup(by);
	w->user = user != NULL ? xstrdup(user) : NULL;
	return (w);
}

/*
 * The daemon itself, for a look-up on behalf of a request that was
 * checked already (a run's object made fresh): sees everything.
 */
const struct who *
who_daemon(void)
{
	static struct who	 daemon = { "microlightd", NULL, NULL, 0, 1, 0,
				     NULL, 0 };

	return (&daemon);
}

/* Free a who. */
void
who_free(struct who *w)
{
	u_int	 i;

	if (w == NULL)
		return;
	free(w->by);
	free(w->user);
	for (i = 0; i < w->ngroups; i++)
		free(w->groups[i]);
	free(w->groups);
	for (i = 0; i < w->ntasks; i++)
		free(w->tasks[i]);
	free(w->tasks);
	free(w);
}

/* Add a group; a member of admin-group is an administrator. */
void
who_add_group(struct who *w, const char *group)
{
	w->groups = xreallocarray(w->groups, w->ngroups + 1,
	    sizeof *w->groups);
	w->groups[w->ngroups++] = xstrdup(group);
	if (strcmp(group, ml_conf->admin_group) == 0)
		w->admin = 1;
}

/* Limit a who to a task (a token's, a webhook's): it may use no other. */
void
who_limit(struct who *w, const char *task)
{
	w->tasks = xreallocarray(w->tasks, w->ntasks + 1, sizeof *w->tasks);
	w->tasks[w->ntasks++] = xstrdup(task);
	w->limited = 1;
}

/*
 * A Unix user, by uid (a control-socket peer) or by name (NULL uid: a
 * token's creator), with its groups; root and the daemon's own user are
 * administrators. NULL if name is no user.
 */
struct who *
who_unix(uid_t uid, const char *name, const char *by)
{
	struct passwd	*pw;
	struct group	*gr;
	struct who	*w;
	gid_t		*gids;
	int		 n = 64, i;
	char		 fallback[32];

	pw = name != NULL ? getpwnam(name) : getpwuid(uid);
	if (pw == NULL && name != NULL)
		return (NULL);
	if (pw != NULL)
		uid = pw->pw_uid;
	snprintf(fallback, sizeof fallback, "uid=%lu", (u_long)uid);
	w = who_new(by, pw != NULL ? pw->pw_name : fallback);
	if (uid == 0 || uid == geteuid())
		w->admin = 1;
	if (pw == NULL)
		return (w);
	gids = xreallocarray(NULL, n, sizeof *gids);
	while (getgrouplist(pw->pw_name, pw->pw_gid, gids, &n) == -1 &&
	    n < ACCESS_MAX_GROUPS)
		gids = xreallocarray(gids, n *= 2, sizeof *gids);
	for (i = 0; i < n && i < ACCESS_MAX_GROUPS; i++) {
		if ((gr = getgrgid(gids[i])) != NULL)
			who_add_group(w, gr->gr_name);
	}
	free(gids);
	return (w);
}

/* A copy of a who, to keep beside the original. */
struct who *
who_copy(const struct who *w)
{
	struct who	*c;
	u_int		 i;

	c = who_new(w->by, w->user);
	c->admin = w->admin;
	for (i = 0; i < w->ngroups; i++) {
		c->groups = xreallocarray(c->groups, c->ngroups + 1,
		    sizeof *c->groups);
		c->groups[c->ngroups++] = xstrdup(w->groups[i]);
	}
	for (i = 0; i < w->ntasks; i++)
		who_limit(c, w->tasks[i]);
	c->limited = w->limited;
	return (c);
}

/*
 * A web user (from Basic auth or a trusted proxy's header), with the
 * groups the users-file gives it.
 */
struct who *
who_web(const char *user)
{
	struct who	*w;
	char		**groups;
	u_int		 n, i;

	w = who_new(user, user);
	auth_user_groups(user, &groups, &n);
	for (i = 0; i < n; i++)
		who_add_group(w, groups[i]);
	return (w);
}

/* Whether a list of users, %groups and "all" names w. */
static int
access_listed(const struct who *w, char **list, u_int n)
{
	u_int	 i, j;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i], "all") == 0)
			return (1);
		if (list[i][0] != '%') {
			if (w->user != NULL && strcmp(list[i], w->user) == 0)
				return (1);
			continue;
		}
		for (j = 0; j < w->ngroups; j++) {
			if (strcmp(list[i] + 1, w->groups[j]) == 0)
				return (1);
		}
	}
	return (0);
}

/* Whether w is limited to tasks other than name. */
static int
access_outside(const struct who *w, const char *name)
{
	u_int	 i;

	if (!w->limited)
		return (0);
	for (i = 0; i < w->ntasks; i++) {
		if (strcmp(w->tasks[i], name) == 0)
			return (0);
	}
	return (1);
}

/*
 * The rule: whether w may see task t (NULL: not there any more) by the
 * name name, its runs and their output, and run it. A token or webhook is
 * held to its tasks; an administrator may use every task; a task that is
 * invalid or gone is for administrators only (its @allow cannot be
 * known); else the task's @allow, or default-allow, decides.
 */
int
access_task(const struct who *w, const struct task *t, const char *name)
{
	const struct taskdef	*def;

	if (w == NULL || access_outside(w, name))
		return (0);
	if (w->admin)
		return (1);
	if (t == NULL || !task_valid(t))
		return (0);
	def = t->def;
	if (def->nallow > 0)
		return (access_listed(w, def->allow, def->nallow));
	if (ml_conf->default_allow == NULL)
		return (1);		/* default-allow all */
	return (access_listed(w, ml_conf->default_allow,
	    ml_conf->ndefault_allow));
}

/* The rule for a task by name (a run's task, say). */
int
access_task_name(const struct who *w, const char *name)
{
	return (access_task(w, name != NULL ? task_find(name) : NULL,
	    name != NULL ? name : ""));
}

/* Whether w may do everything: reload, backup, tokens. */
int
access_admin(const struct who *w)
{
	return (w != NULL && w->admin && !w->limited);
}

/*
 * The names of the tasks w may see, as a JSON array (for a filter in
 * SQL), or NULL if it sees them all and every run: an administrator not
 * held to tasks (anyone else may not see the runs of a task that is gone).
 */
json_t *
access_visible(const struct who *w)
{
	struct task	*t;
	json_t		*names;

	if (access_admin(w))
		return (NULL);
	names = json_array();
	RB_FOREACH(t, task_tree, &tasks_current()->tree) {
		if (access_task(w, t, t->name))
			json_array_append_new(names, json_string(t->name));
	}
	return (names);
}
