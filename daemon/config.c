/* The configuration file: "key value" lines, every key of SPEC section 1. */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microlightd.h"

#define CONFIG_LINE_MAX	4096

static int	config_path(char **, const char *, char **);
static int	set_tasks_dir(struct config *, const char *, char **);
static int	set_state_dir(struct config *, const char *, char **);
static int	set_socket(struct config *, const char *, char **);
static int	set_socket_group(struct config *, const char *, char **);
static int	set_listen(struct config *, const char *, char **);
static int	set_users_file(struct config *, const char *, char **);
static int	set_max_running(struct config *, const char *, char **);
static int	set_max_queued(struct config *, const char *, char **);
static int	set_max_scheduled(struct config *, const char *, char **);
static int	set_default_timeout(struct config *, const char *, char **);
static int	set_kill_grace(struct config *, const char *, char **);
static int	set_keep_runs(struct config *, const char *, char **);
static int	set_keep_days(struct config *, const char *, char **);
static int	set_max_log_size(struct config *, const char *, char **);
static int	set_webhook_secret(struct config *, const char *, char **);
static int	set_allowed_hosts(struct config *, const char *, char **);
static void	config_words_free(char **, u_int);
static int	set_admin_group(struct config *, const char *, char **);
static int	set_default_allow(struct config *, const char *, char **);
static int	set_trusted_proxy(struct config *, const char *, char **);
static int	set_user_header(struct config *, const char *, char **);
static int	set_notify(struct config *, const char *, char **);
static int	set_base_url(struct config *, const char *, char **);

/* Every key of microlight.conf. */
static const struct config_key {
	const char	*name;
	int		(*set)(struct config *, const char *, char **);
} config_keys[] = {
	{ "tasks-dir", set_tasks_dir },
	{ "state-dir", set_state_dir },
	{ "socket", set_socket },
	{ "socket-group", set_socket_group },
	{ "listen", set_listen },
	{ "users-file", set_users_file },
	{ "max-running", set_max_running },
	{ "max-queued", set_max_queued },
	{ "max-scheduled", set_max_scheduled },
	{ "default-timeout", set_default_timeout },
	{ "kill-grace", set_kill_grace },
	{ "keep-runs", set_keep_runs },
	{ "keep-days", set_keep_days },
	{ "max-log-size", set_max_log_size },
	{ "webhook-secret", set_webhook_secret },
	{ "allowed-hosts", set_allowed_hosts },
	{ "admin-group", set_admin_group },
	{ "default-allow", set_default_allow },
	{ "trusted-proxy", set_trusted_proxy },
	{ "user-header", set_user_header },
	{ "notify", set_notify },
	{ "base-url", set_base_url },
};

/* A configuration with every default of SPEC section 1. */
struct config *
config_create(void)
{
	struct config	*conf;

	conf = xcalloc(1, sizeof *conf);
	conf->file = paths_default(PATH_CONFIG);
	conf->tasks_dir = paths_default(PATH_TASKS);
	conf->state_dir = paths_default(PATH_STATE);
	conf->socket_path = paths_default(PATH_SOCKET);
	conf->listen = xstrdup("127.0.0.1:8080");
	conf->admin_group = xstrdup("admin");
	conf->max_running = 4;
	conf->max_queued = 10000;
	conf->max_scheduled = 10000000;
	conf->default_timeout = 3600;
	conf->kill_grace = 10;
	conf->keep_runs = 1000;
	conf->keep_days = 90;
	conf->max_log_size = 16 * 1024 * 1024;
	return (conf);
}

/* Free a configuration. */
void
config_free(struct config *conf)
{
	u_int	 i;

	if (conf == NULL)
		return;
	free(conf->file);
	free(conf->tasks_dir);
	free(conf->state_dir);
	free(conf->socket_path);
	free(conf->socket_group);
	free(conf->listen);
	free(conf->users_file);
	for (i = 0; i < conf->nsecrets; i++) {
		free(conf->secrets[i].task);
		explicit_bzero(conf->secrets[i].secret,
		    strlen(conf->secrets[i].secret));
		free(conf->secrets[i].secret);
	}
	free(conf->secrets);
	for (i = 0; i < conf->nallowed_hosts; i++)
		free(conf->allowed_hosts[i]);
	free(conf->allowed_hosts);
	free(conf->admin_group);
	config_words_free(conf->default_allow, conf->ndefault_allow);
	config_words_free(conf->trusted_proxies, conf->ntrusted_proxies);
	free(conf->user_header);
	free(conf->base_url);
	free(conf->base_host);
	for (i = 0; i < conf->nnotify; i++)
		free(conf->notify[i].task);
	free(conf->notify);
	free(conf);
}

/* Set a path value, which must be absolute. */
static int
config_path(char **dst, const char *value, char **cause)
{
	if (*value != '/') {
		xasprintf(cause, "'%s' is not an absolute path", value);
		return (-1);
	}
	free(*dst);
	*dst = xstrdup(value);
	return (0);
}

/* tasks-dir PATH */
static int
set_tasks_dir(struct config *conf, const char *value, char **cause)
{
	return (config_path(&conf->tasks_dir, value, cause));
}

/* state-dir PATH */
static int
set_state_dir(struct config *conf, const char *value, char **cause)
{
	return (config_path(&conf->state_dir, value, cause));
}

/* socket PATH */
static int
set_socket(struct config *conf, const char *value, char **cause)
{
	return (config_path(&conf->socket_path, value, cause));
}

/* socket-group GROUP: the group must exist. */
static int
set_socket_group(struct config *conf, const char *value, char **cause)
{
	if (getgrnam(value) == NULL) {
		xasprintf(cause, "unknown group '%s'", value);
		return (-1);
	}
	free(conf->socket_group);
	conf->socket_group = xstrdup(value);
	return (0);
}

/* listen ADDR:PORT or none; ADDR may be [IPv6]. */
static int
set_listen(struct config *conf, const char *value, char **cause)
{
	const char	*colon, *errstr;

	if (strcmp(value, "none") != 0) {
		colon = strrchr(value, ':');
		if (colon == NULL || colon == value) {
			xasprintf(cause, "'%s' is not ADDRESS:PORT or none",
			    value);
			return (-1);
		}
		strtonum(colon + 1, 1, 65535, &errstr);
		if (errstr != NULL) {
			xasprintf(cause, "port '%s' is %s", colon + 1, errstr);
			return (-1);
		}
		if (value[0] == '[' && colon[-1] != ']') {
			xasprintf(cause, "'%s': an IPv6 address goes in [ ]",
			    value);
			return (-1);
		}
	}
	free(conf->listen);
	conf->listen = xstrdup(value);
	return (0);
}

/* users-file PATH */
static int
set_users_file(struct config *conf, const char *value, char **cause)
{
	return (config_path(&conf->users_file, value, cause));
}

/* A bounded integer value. */
static int
config_int(int *dst, const char *value, long long min, long long max,
    char **cause)
{
	const char	*errstr;
	long long	 n;

	n = strtonum(value, min, max, &errstr);
	if (errstr != NULL) {
		xasprintf(cause, "'%s' is %s (%lld to %lld)", value, errstr,
		    min, max);
		return (-1);
	}
	*dst = (int)n;
	return (0);
}

/* A duration value. */
static int
config_duration(int64_t *dst, const char *value, char **cause)
{
	const char	*errstr;

	if (duration_parse(value, dst, &errstr) != 0) {
		xasprintf(cause, "'%s': %s", value, errstr);
		return (-1);
	}
	return (0);
}

/* max-running N */
static int
set_max_running(struct config *conf, const char *value, char **cause)
{
	return (config_int(&conf->max_running, value, 1, 1024, cause));
}

/* max-scheduled N: future runs that may wait for their time */
static int
set_max_scheduled(struct config *conf, const char *value, char **cause)
{
	return (config_int(&conf->max_scheduled, value, 1, 1000000000,
	    cause));
}

/* max-queued N: runs that may wait for a slot, from every entry point */
static int
set_max_queued(struct config *conf, const char *value, char **cause)
{
	return (config_int(&conf->max_queued, value, 1, 10000000, cause));
}

/* default-timeout DURATION (0: none) */
static int
set_default_timeout(struct config *conf, const char *value, char **cause)
{
	return (config_duration(&conf->default_timeout, value, cause));
}

/* kill-grace DURATION */
static int
set_kill_grace(struct config *conf, const char *value, char **cause)
{
	return (config_duration(&conf->kill_grace, value, cause));
}

/* keep-runs N (0: no limit) */
static int
set_keep_runs(struct config *conf, const char *value, char **cause)
{
	return (config_int(&conf->keep_runs, value, 0, 100000000, cause));
}

/* keep-days N (0: no limit) */
static int
set_keep_days(struct config *conf, const char *value, char **cause)
{
	return (config_int(&conf->keep_days, value, 0, 36500, cause));
}

/* max-log-size SIZE */
static int
set_max_log_size(struct config *conf, const char *value, char **cause)
{
	const char	*errstr;
	int64_t		 n;

	if (size_parse(value, &n, &errstr) != 0) {
		xasprintf(cause, "'%s': %s", value, errstr);
		return (-1);
	}
	if (n < 1024) {
		xasprintf(cause, "'%s' is too small (at least 1K)", value);
		return (-1);
	}
	conf->max_log_size = n;
	return (0);
}

/* webhook-secret TASK SECRET (repeatable; a later line for a task wins). */
static int
set_webhook_secret(struct config *conf, const char *value, char **cause)
{
	const char	*sp;
	char		*task;
	u_int		 i;

	sp = value + strcspn(value, " \t");
	if (*sp == '\0') {
		xasprintf(cause, "webhook-secret needs TASK and SECRET");
		return (-1);
	}
	task = xstrndup(value, sp - value);
	sp += strspn(sp, " \t");
	if (!taskname_valid(task)) {
		xasprintf(cause, "'%s' is not a task name", task);
		free(task);
		return (-1);
	}
	if (strlen(sp) < 16 || strcspn(sp, " \t") != strlen(sp)) {
		xasprintf(cause, "the secret for %s must be one word of at "
		    "least 16 characters", task);
		free(task);
		return (-1);
	}
	for (i = 0; i < conf->nsecrets; i++) {
		if (strcmp(conf->secrets[i].task, task) == 0) {
			free(task);
			free(conf->secrets[i].secret);
			conf->secrets[i].secret = xstrdup(sp);
			return (0);
		}
	}
	conf->secrets = xreallocarray(conf->secrets, conf->nsecrets + 1,
	    sizeof *conf->secrets);
	conf->secrets[conf->nsecrets].task = task;
	conf->secrets[conf->nsecrets].secret = xstrdup(sp);
	conf->nsecrets++;
	return (0);
}

/*
 * base-url URL: where people reach the page, for a proxy that serves it
 * under a path of its own site ("https://ops.example.com/microlight/").
 * Kept as the URL without its last '/' (base_url), its path without its
 * last '/' ("/microlight", or "" for a site's root: base_path points into
 * base_url) and its host[:port] (base_host). Only what a link can carry
 * plainly is taken: http or https, a host name or address, a port, and a
 * path of letters, digits and "-._~/" without empty, "." or ".." segments.
 */
static int
set_base_url(struct config *conf, const char *value, char **cause)
{
	const char	*host, *path, *p, *seg;
	size_t		 len;

	if (strncasecmp(value, "https://", 8) == 0)
		host = value + 8;
	else if (strncasecmp(value, "http://", 7) == 0)
		host = value + 7;
	else {
		xasprintf(cause, "base-url '%s' does not start with https:// "
		    "or http://", value);
		return (-1);
	}
	if ((path = strchr(host, '/')) == NULL)
		path = host + strlen(host);
	if (path == host) {
		xasprintf(cause, "base-url '%s' has no host", value);
		return (-1);
	}
	for (p = host; p < path; p++) {
		if (!isalnum((u_char)*p) && strchr(".-:[]", *p) == NULL) {
			xasprintf(cause, "base-url '%s': '%.*s' is not a "
			    "host[:port]", value, (int)(path - host), host);
			return (-1);
		}
	}
	for (seg = p = path; *p != '\0'; p++) {
		if (!isalnum((u_char)*p) && strchr("-._~/", *p) == NULL) {
			xasprintf(cause, "base-url '%s': only letters, digits "
			    "and -._~/ may be in its path (no query, no "
			    "fragment, nothing to escape)", value);
			return (-1);
		}
		if (*p == '/' && p != path) {
			len = p - seg - 1;
			if (len == 0 || (len == 1 && seg[1] == '.') ||
			    (len == 2 && seg[1] == '.' && seg[2] == '.'))
				goto bad_segment;
			seg = p;
		}
	}
	len = p - seg - 1;
	if (p != path && len > 0 && ((len == 1 && seg[1] == '.') ||
	    (len == 2 && seg[1] == '.' && seg[2] == '.')))
		goto bad_segment;
	free(conf->base_url);
	free(conf->base_host);
	conf->base_url = xstrdup(value);
	len = strlen(conf->base_url);
	if (len > 0 && conf->base_url[len - 1] == '/')
		conf->base_url[len - 1] = '\0';
	conf->base_path = conf->base_url + (path - value);
	conf->base_host = xstrndup(host, path - host);
	return (0);

bad_segment:
	xasprintf(cause, "base-url '%s' has an empty, '.' or '..' part in "
	    "its path", value);
	return (-1);
}

/* allowed-hosts HOST... (repeatable: the lists add up). */
static int
set_allowed_hosts(struct config *conf, const char *value, char **cause)
{
	char	*copy, *host, *save;
	const char *c;

	copy = xstrdup(value);
	for (host = strtok_r(copy, " \t", &save); host != NULL;
	    host = strtok_r(NULL, " \t", &save)) {
		for (c = host; *c != '\0'; c++) {
			if (!isalnum((u_char)*c) && strchr(".-:[]", *c) ==
			    NULL) {
				xasprintf(cause, "'%s' is not a host name",
				    host);
				free(copy);
				return (-1);
			}
		}
		conf->allowed_hosts = xreallocarray(conf->allowed_hosts,
		    conf->nallowed_hosts + 1, sizeof *conf->allowed_hosts);
		conf->allowed_hosts[conf->nallowed_hosts++] = xstrdup(host);
	}
	free(copy);
	return (0);
}

/* Free a list of words. */
static void
config_words_free(char **words, u_int n)
{
	u_int	 i;

	for (i = 0; i < n; i++)
		free(words[i]);
	free(words);
}

/* admin-group GROUP: its members may do everything. */
static int
set_admin_group(struct config *conf, const char *value, char **cause)
{
	if (*value == '%' || !allow_name_valid(value)) {
		xasprintf(cause, "'%s' is not a group name", value);
		return (-1);
	}
	free(conf->admin_group);
	conf->admin_group = xstrdup(value);
	return (0);
}

/*
 * default-allow all | WHO...: who may use a task without @allow (the last
 * line given decides).
 */
static int
set_default_allow(struct config *conf, const char *value, char **cause)
{
	char	**words = NULL, *copy, *w, *save;
	u_int	  n = 0;

	copy = xstrdup(value);
	for (w = strtok_r(copy, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (strcmp(w, "all") != 0 && !allow_name_valid(w)) {
			xasprintf(cause, "'%s' is not all, a user or a %%group",
			    w);
			config_words_free(words, n);
			free(copy);
			return (-1);
		}
		words = xreallocarray(words, n + 1, sizeof *words);
		words[n++] = xstrdup(w);
	}
	free(copy);
	config_words_free(conf->default_allow, conf->ndefault_allow);
	conf->default_allow = words;
	conf->ndefault_allow = n;
	return (0);
}

/* trusted-proxy ADDR... (repeatable): whose user-header is believed. */
static int
set_trusted_proxy(struct config *conf, const char *value, char **cause)
{
	struct in6_addr	 a6;
	char		*copy, *w, *save;

	copy = xstrdup(value);
	for (w = strtok_r(copy, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (inet_pton(AF_INET, w, &a6) != 1 &&
		    inet_pton(AF_INET6, w, &a6) != 1) {
			xasprintf(cause, "'%s' is not an IP address", w);
			free(copy);
			return (-1);
		}
		conf->trusted_proxies = xreallocarray(conf->trusted_proxies,
		    conf->ntrusted_proxies + 1, sizeof *conf->trusted_proxies);
		conf->trusted_proxies[conf->ntrusted_proxies++] = xstrdup(w);
	}
	free(copy);
	return (0);
}

/* user-header NAME: the header in which a trusted proxy names the user. */
static int
set_user_header(struct config *conf, const char *value, char **cause)
{
	const char	*c;

	for (c = value; *c != '\0'; c++) {
		if (!isalnum((u_char)*c) && *c != '-' && *c != '_')
			break;
	}
	if (*value == '\0' || *c != '\0' || strlen(value) > 64) {
		xasprintf(cause, "'%s' is not a header name", value);
		return (-1);
	}
	free(conf->user_header);
	conf->user_header = xstrdup(value);
	return (0);
}

/* notify TASK [on=EVENTS] (repeatable): a notifier of every task. */
static int
set_notify(struct config *conf, const char *value, char **cause)
{
	char	*task;
	u_int	 events;

	if (notify_spec_parse(value, &task, &events, cause) != 0)
		return (-1);
	conf->notify = xreallocarray(conf->notify, conf->nnotify + 1,
	    sizeof *conf->notify);
	conf->notify[conf->nnotify].task = task;
	conf->notify[conf->nnotify++].events = events;
	return (0);
}

/* Set one key from the file or the command line. */
int
config_set(struct config *conf, const char *key, const char *value,
    char **cause)
{
	u_int	 i;

	for (i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++) {
		if (strcmp(config_keys[i].name, key) == 0)
			break;
	}
	if (i == sizeof config_keys / sizeof config_keys[0]) {
		xasprintf(cause, "unknown key '%s'", key);
		return (-1);
	}
	if (*value == '\0') {
		xasprintf(cause, "%s needs a value", key);
		return (-1);
	}
	return (config_keys[i].set(conf, value, cause));
}

/* Add one "file:line: message" to a list of problems. */
static void
config_problem(char ***list, u_int *n, const char *file, int line,
    const char *msg)
{
	*list = xreallocarray(*list, *n + 1, sizeof **list);
	if (line > 0)
		xasprintf(&(*list)[*n], "%s:%d: %s", file, line, msg);
	else
		xasprintf(&(*list)[*n], "%s: %s", file, msg);
	(*n)++;
}

/*
 * Read a configuration file into conf. A missing file is fine unless
 * must_exist. Every problem is appended to *problems as "file:line:
 * message"; returns -1 if there was any.
 */
int
config_load(struct config *conf, const char *path, int must_exist,
    char ***problems, u_int *nproblems)
{
	FILE	*f;
	char	*line = NULL, *key, *value, *cause, *end;
	size_t	 size = 0;
	ssize_t	 len;
	int	 lineno = 0, bad = 0;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return (0);
		xasprintf(&cause, "%s", strerror(errno));
		config_problem(problems, nproblems, path, 0, cause);
		free(cause);
		return (-1);
	}
	while ((len = getline(&line, &size, f)) != -1) {
		lineno++;
		if (len > CONFIG_LINE_MAX) {
			config_problem(problems, nproblems, path, lineno,
			    "line too long");
			bad = 1;
			continue;
		}
		if (memchr(line, '\0', len) != NULL) {
			config_problem(problems, nproblems, path, lineno,
			    "NUL byte in line");
			bad = 1;
			continue;
		}
		key = line + strspn(line, " \t");
		end = key + strlen(key);
		while (end > key && isspace((u_char)end[-1]))
			*--end = '\0';
		if (*key == '\0' || *key == '#')
			continue;
		value = key + strcspn(key, " \t");
		if (*value != '\0') {
			*value++ = '\0';
			value += strspn(value, " \t");
		}
		if (config_set(conf, key, value, &cause) != 0) {
			config_problem(problems, nproblems, path, lineno,
			    cause);
			free(cause);
			bad = 1;
		}
	}
	if (ferror(f)) {
		config_problem(problems, nproblems, path, 0, strerror(errno));
		bad = 1;
	}
	free(line);
	fclose(f);
	return (bad ? -1 : 0);
}
