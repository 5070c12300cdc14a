/*
 * Who is asking: the users-file (name:crypt-hash[:group,...] lines; a
 * hash of "!" for a user who has no password, known only by a trusted
 * proxy's header), HTTP Basic credentials checked against it, the
 * groups of its users, and the token of a user's forms.
 *
 * crypt(3) takes milliseconds by design, so a (name, password) pair that
 * passed is remembered as an HMAC under a key made at start-up, until the
 * users are read again. An unknown name costs a crypt too, so that the
 * time of an answer does not tell which names exist.
 */

#include <sys/types.h>

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microlightd.h"

#define AUTH_CACHE	32	/* passwords checked, remembered */

/* A user of the users-file. */
struct auth_user {
	char	*name;
	char	*hash;
	char	**groups;
	u_int	 ngroups;
};

static struct auth_user	*auth_users;
static u_int		 auth_nusers;
static uint8_t		 auth_cache[AUTH_CACHE][32];
static u_int		 auth_next;
static uint8_t		 auth_key[32];	/* for the cache and form tokens */

/* Free a list of users, wiping the hashes. */
static void
auth_free(struct auth_user *users, u_int n)
{
	u_int	 i;

	u_int	 j;

	for (i = 0; i < n; i++) {
		free(users[i].name);
		explicit_bzero(users[i].hash, strlen(users[i].hash));
		free(users[i].hash);
		for (j = 0; j < users[i].ngroups; j++)
			free(users[i].groups[j]);
		free(users[i].groups);
	}
	free(users);
}

/* A user's groups from "g1,g2": 0, or -1 if one is not a name. */
static int
auth_groups(struct auth_user *u, char *list)
{
	char	*g;

	while ((g = strsep(&list, ",")) != NULL) {
		if (*g == '\0' && list == NULL && u->ngroups == 0)
			break;		/* "name:hash:" has none */
		if (*g == '%' || !allow_name_valid(g))
			return (-1);
		u->groups = xreallocarray(u->groups, u->ngroups + 1,
		    sizeof *u->groups);
		u->groups[u->ngroups++] = xstrdup(g);
	}
	return (0);
}

/*
 * Read a users-file: "name:crypt-hash" lines, # comments and blank lines.
 * Returns 0, or -1 with *cause naming the file and line.
 */
static int
auth_read(const char *path, struct auth_user **usersp, u_int *np,
    char **cause)
{
	FILE		 *f;
	struct auth_user *users = NULL;
	char		 *line = NULL, *colon, *p, *groups;
	size_t		  size = 0;
	ssize_t		  len;
	u_int		  n = 0, lineno = 0, i;
	int		  rc = -1;

	if ((f = fopen(path, "re")) == NULL) {
		xasprintf(cause, "users-file %s: %s", path, strerror(errno));
		return (-1);
	}
	while ((len = getline(&line, &size, f)) != -1) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r' || line[len - 1] == ' ' ||
		    line[len - 1] == '\t'))
			line[--len] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		if ((colon = strchr(p, ':')) == NULL || colon == p) {
			xasprintf(cause, "%s:%u: not name:hash[:groups]",
			    path, lineno);
			goto out;
		}
		*colon = '\0';
		if ((groups = strchr(colon + 1, ':')) != NULL)
			*groups++ = '\0';
		if (strcmp(colon + 1, "!") != 0 && (colon[1] != '$' ||
		    strlen(colon + 1) < 13)) {
			xasprintf(cause, "%s:%u: '%s' has no crypt(3) hash "
			    "(mkpasswd(1) makes one; ! for no password)", path,
			    lineno, p);
			goto out;
		}
		for (i = 0; p[i] != '\0'; i++) {
			if (!isalnum((u_char)p[i]) && strchr("._-@", p[i]) ==
			    NULL) {
				xasprintf(cause, "%s:%u: '%s' is not a user "
				    "name", path, lineno, p);
				goto out;
			}
		}
		for (i = 0; i < n; i++) {
			if (strcmp(users[i].name, p) == 0) {
				xasprintf(cause, "%s:%u: user '%s' twice", path,
				    lineno, p);
				goto out;
			}
		}
		users = xreallocarray(users, n + 1, sizeof *users);
		users[n].name = xstrdup(p);
		users[n].hash = xstrdup(colon + 1);
		users[n].groups = NULL;
		users[n].ngroups = 0;
		n++;
		if (groups != NULL && auth_groups(&users[n - 1], groups) != 0) {
			xasprintf(cause, "%s:%u: groups are names separated "
			    "by commas", path, lineno);
			goto out;
		}
	}
	if (ferror(f)) {
		xasprintf(cause, "users-file %s: %s", path, strerror(errno));
		goto out;
	}
	if (n == 0) {
		xasprintf(cause, "users-file %s has no users", path);
		goto out;
	}
	rc = 0;
out:
	if (line != NULL)
		explicit_bzero(line, size);
	free(line);
	fclose(f);
	if (rc != 0) {
		auth_free(users, n);
		users = NULL;
		n = 0;
	}
	*usersp = users;
	*np = n;
	return (rc);
}

/* Make the key (once, at start-up). */
void
auth_init(void)
{
	arc4random_buf(auth_key, sizeof auth_key);
}

/* Whether a users-file can be read and has users; 0 or -1 with *cause. */
int
auth_check(const char *path, char **cause)
{
	struct auth_user	*users;
	u_int			 n;

	if (auth_read(path, &users, &n, cause) != 0)
		return (-1);
	auth_free(users, n);
	return (0);
}

/* Forget the users and the passwords checked. */
void
auth_clear(void)
{
	auth_free(auth_users, auth_nusers);
	auth_users = NULL;
	auth_nusers = 0;
	explicit_bzero(auth_cache, sizeof auth_cache);
}

/* Take the users of a users-file (NULL: none, no auth); 0 or -1. */
int
auth_load(const char *path, char **cause)
{
	auth_clear();
	if (path == NULL)
		return (0);
	return (auth_read(path, &auth_users, &auth_nusers, cause));
}

/* Whether there are users, so that requests must say who they are. */
int
auth_required(void)
{
	return (auth_nusers > 0);
}

/*
 * Whether name is a user of the users-file; if so, its groups (borrowed:
 * valid until the users are read again) in *groups, *n.
 */
int
auth_user_groups(const char *name, char ***groups, u_int *n)
{
	u_int	 i;

	for (i = 0; i < auth_nusers; i++) {
		if (strcmp(auth_users[i].name, name) == 0) {
			*groups = auth_users[i].groups;
			*n = auth_users[i].ngroups;
			return (1);
		}
	}
	*groups = NULL;
	*n = 0;
	return (0);
}

/* A hash to spend a crypt on for a name that has none, or NULL. */
static const char *
auth_decoy(void)
{
	u_int	 i;

	for (i = 0; i < auth_nusers; i++) {
		if (strcmp(auth_users[i].hash, "!") != 0)
			return (auth_users[i].hash);
	}
	return (NULL);
}

/* Whether a (name, password) pair was checked recently. */
static int
auth_cached(const uint8_t *key)
{
	u_int	 i;

	for (i = 0; i < AUTH_CACHE; i++) {
		if (hmac_equal(auth_cache[i], key, 32))
			return (1);
	}
	return (0);
}

/*
 * Check an Authorization header's Basic credentials; the user's name
 * (to free), or NULL.
 */
char *
auth_basic(const char *h)
{
	void			*raw;
	char			*cred, *colon, *hash, *user = NULL;
	const char		*want;
	size_t			 len;
	uint8_t			 key[32];
	struct crypt_data	*cd;
	u_int			 i;
	int			 ok;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0 || auth_nusers == 0)
		return (NULL);
	h += 6;
	while (*h == ' ')
		h++;
	if (strlen(h) > 1024 || base64_decode(h, strlen(h), &raw, &len) != 0)
		return (NULL);
	cred = xmalloc(len + 1);
	memcpy(cred, raw, len);
	cred[len] = '\0';
	explicit_bzero(raw, len);
	free(raw);
	if (strlen(cred) != len || (colon = strchr(cred, ':')) == NULL)
		goto out;
	*colon = '\0';
	for (i = 0; i < auth_nusers; i++) {
		if (strcmp(auth_users[i].name, cred) == 0)
			break;
	}
	colon[0] = ':';
	hmac_sha256(auth_key, sizeof auth_key, cred, len, key);
	colon[0] = '\0';
	if (i < auth_nusers && auth_cached(key)) {
		user = xstrdup(cred);
		goto out;
	}
	/*
	 * An unknown name, or one without a password, is checked against a
	 * hash all the same.
	 */
	ok = i < auth_nusers && strcmp(auth_users[i].hash, "!") != 0;
	want = ok ? auth_users[i].hash : auth_decoy();
	cd = xcalloc(1, sizeof *cd);
	hash = want != NULL ? crypt_r(colon + 1, want, cd) : NULL;
	if (ok && hash != NULL && strlen(hash) == strlen(want) &&
	    hmac_equal(hash, want, strlen(hash))) {
		user = xstrdup(cred);
		memcpy(auth_cache[auth_next], key, 32);
		auth_next = (auth_next + 1) % AUTH_CACHE;
	}
	explicit_bzero(cd, sizeof *cd);
	free(cd);
out:
	explicit_bzero(cred, len);
	free(cred);
	explicit_bzero(key, sizeof key);
	return (user);
}

/*
 * The token of a user's forms: an HMAC of the user's name under the key
 * made at start-up, as hex into out. A page of another site cannot read
 * it, so a form it posts here cannot carry it.
 */
void
auth_form_token(const char *user, char *out, size_t len)
{
	uint8_t	 mac[32];
	u_int	 i;
	char	*p = out;

	if (user == NULL)
		user = "";
	hmac_sha256(auth_key, sizeof auth_key, user, strlen(user), mac);
	for (i = 0; i < 16 && (size_t)(p - out) + 3 <= len; i++)
		p += snprintf(p, len - (p - out), "%02x", mac[i]);
}
