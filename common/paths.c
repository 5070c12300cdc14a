/* Default paths of SPEC section 1, for root and for ordinary users (XDG). */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ml.h"

#ifndef ML_SYSCONFDIR
#define ML_SYSCONFDIR		"/etc"
#endif
#ifndef ML_LOCALSTATEDIR
#define ML_LOCALSTATEDIR	"/var"
#endif
#ifndef ML_RUNSTATEDIR
#define ML_RUNSTATEDIR		"/run"
#endif

/* The user's home directory: $HOME, else the password database. */
static const char *
paths_home(void)
{
	const char	*home;
	struct passwd	*pw;

	if ((home = getenv("HOME")) != NULL && *home == '/')
		return (home);
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL)
		return (pw->pw_dir);
	return ("/");
}

/*
 * A path under an XDG base directory: $VAR/sub if $VAR is absolute, else
 * $HOME/fallback/sub.
 */
static char *
paths_xdg(const char *var, const char *fallback, const char *sub)
{
	const char	*v;
	char		*path;

	if ((v = getenv(var)) != NULL && *v == '/')
		xasprintf(&path, "%s/%s", v, sub);
	else
		xasprintf(&path, "%s/%s/%s", paths_home(), fallback, sub);
	return (path);
}

/*
 * A file of a user's daemon at run time: in $XDG_RUNTIME_DIR/microlight
 * if that is absolute, else in /tmp/microlight-UID.
 */
static char *
paths_runtime(const char *name)
{
	const char	*dir;
	char		*path;

	if ((dir = getenv("XDG_RUNTIME_DIR")) != NULL && *dir == '/')
		xasprintf(&path, "%s/microlight/%s", dir, name);
	else
		xasprintf(&path, "/tmp/microlight-%lu/%s", (u_long)getuid(),
		    name);
	return (path);
}

/*
 * The default path of one of microlight's files; allocated. Root uses the
 * system directories chosen at configure time, others the XDG ones.
 */
char *
paths_default(enum ml_path which)
{
	int	 root = geteuid() == 0;

	switch (which) {
	case PATH_CONFIG:
		if (root)
			return (xstrdup(ML_SYSCONFDIR "/microlight/"
			    "microlight.conf"));
		return (paths_xdg("XDG_CONFIG_HOME", ".config",
		    "microlight/microlight.conf"));
	case PATH_TASKS:
		if (root)
			return (xstrdup(ML_SYSCONFDIR "/microlight/tasks.d"));
		return (paths_xdg("XDG_CONFIG_HOME", ".config",
		    "microlight/tasks.d"));
	case PATH_STATE:
		if (root)
			return (xstrdup(ML_LOCALSTATEDIR "/lib/microlight"));
		return (paths_xdg("XDG_STATE_HOME", ".local/state",
		    "microlight"));
	case PATH_SOCKET:
		if (root)
			return (xstrdup(ML_RUNSTATEDIR "/microlight/"
			    "microlightd.sock"));
		return (paths_runtime("microlightd.sock"));
	case PATH_SOCKET_SYSTEM:
		return (xstrdup(ML_RUNSTATEDIR "/microlight/microlightd.sock"));
	case PATH_PIDFILE:
		if (root)
			return (xstrdup(ML_RUNSTATEDIR "/microlightd.pid"));
		return (paths_runtime("microlightd.pid"));
	default:
		fatalx("paths_default: bad path %d", which);
	}
}

/*
 * Create a directory and any missing parents with mode (like mkdir -p);
 * existing directories are left as they are.
 */
int
paths_mkdir(const char *path, mode_t mode, char **cause)
{
	char		*copy, *p;
	struct stat	 sb;

	if (stat(path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return (0);
		xasprintf(cause, "%s: not a directory", path);
		return (-1);
	}
	copy = xstrdup(path);
	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) == -1 && errno != EEXIST) {
			xasprintf(cause, "mkdir %s: %s", copy, strerror(errno));
			free(copy);
			return (-1);
		}
		*p = '/';
	}
	free(copy);
	if (mkdir(path, mode) == -1 && errno != EEXIST) {
		xasprintf(cause, "mkdir %s: %s", path, strerror(errno));
		return (-1);
	}
	return (0);
}
