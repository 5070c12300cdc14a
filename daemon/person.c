/* The people behind runs: full names from the password database. */

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "microlightd.h"

/*
 * A control-socket peer's runs record "uid=1000(bob)"; the password
 * database may know bob as "Bob Smith" (the first part of the GECOS
 * field), which the page shows. Pages show many runs on every request,
 * so what getpwuid said is kept: up to PERSON_CACHE users, each for
 * PERSON_KEEP_MS (users from LDAP or sssd change without /etc/passwd),
 * and all forgotten when /etc/passwd changes, which is looked at no more
 * than once every PERSON_LOOK_MS. The same idea as control_peer's.
 */
#define PERSON_CACHE	64
#define PERSON_KEEP_MS	60000
#define PERSON_LOOK_MS	1000
#define PERSON_NAME_MAX	128	/* longer is no name, but a note */
#define PERSON_PASSWD	"/etc/passwd"

struct person {
	uid_t		 uid;
	char		*login;		/* NULL: no such user */
	char		*name;		/* NULL: none known */
	int64_t		 at;		/* read then (ms, monotonic); 0: free */
};

static struct person	 person_cache[PERSON_CACHE];
static struct stat	 person_passwd;
static int64_t		 person_looked;

/* Empty a slot. */
static void
person_clear(struct person *p)
{
	free(p->login);
	free(p->name);
	memset(p, 0, sizeof *p);
}

/* Forget everyone if /etc/passwd has changed (looked at now and then). */
static void
person_check_passwd(int64_t now)
{
	struct stat	 sb;
	u_int		 i;

	if (person_looked != 0 && now - person_looked < PERSON_LOOK_MS)
		return;
	person_looked = now;
	memset(&sb, 0, sizeof sb);
	(void)stat(PERSON_PASSWD, &sb);
	if (sb.st_ino == person_passwd.st_ino &&
	    sb.st_size == person_passwd.st_size &&
	    sb.st_mtim.tv_sec == person_passwd.st_mtim.tv_sec &&
	    sb.st_mtim.tv_nsec == person_passwd.st_mtim.tv_nsec)
		return;
	person_passwd = sb;
	for (i = 0; i < PERSON_CACHE; i++)
		person_clear(&person_cache[i]);
}

/*
 * The full name in a GECOS field: its first comma-separated part, spaces
 * trimmed. NULL if there is none, or it says no more than the login, or
 * it is not plain text (control characters, not UTF-8).
 */
static char *
person_gecos(const char *gecos, const char *login)
{
	size_t	 len, i;

	if (gecos == NULL)
		return (NULL);
	while (*gecos == ' ')
		gecos++;
	len = strcspn(gecos, ",");
	while (len > 0 && gecos[len - 1] == ' ')
		len--;
	if (len == 0 || len > PERSON_NAME_MAX || !utf8_valid(gecos, len))
		return (NULL);
	for (i = 0; i < len; i++) {
		if ((u_char)gecos[i] < 0x20 || gecos[i] == 0x7f)
			return (NULL);
	}
	if (strlen(login) == len && strncmp(gecos, login, len) == 0)
		return (NULL);
	return (xstrndup(gecos, len));
}

/* What the password database says of uid, kept (see above). */
static const struct person *
person_get(uid_t uid)
{
	struct person	*p, *slot = NULL;
	struct passwd	*pw;
	int64_t		 now = time_mono_ms();
	u_int		 i;

	person_check_passwd(now);
	for (i = 0; i < PERSON_CACHE; i++) {
		p = &person_cache[i];
		if (p->at != 0 && p->uid == uid) {
			if (now - p->at <= PERSON_KEEP_MS)
				return (p);
			slot = p;
			break;
		}
		if (slot == NULL || p->at < slot->at)
			slot = p;	/* a free one, else the oldest */
	}
	person_clear(slot);
	slot->uid = uid;
	slot->at = now != 0 ? now : 1;
	if ((pw = getpwuid(uid)) != NULL) {
		slot->login = xstrdup(pw->pw_name);
		slot->name = person_gecos(pw->pw_gecos, pw->pw_name);
	}
	return (slot);
}

/*
 * What a page shows for a run's triggered_by: "Bob Smith (bob)" for a
 * control peer's "uid=1000(bob)" when the password database has a full
 * name for uid 1000 and still calls it bob; NULL when nothing better
 * than the record is known (the caller shows it as it is). Freed by the
 * caller.
 */
char *
person_shown(const char *by)
{
	const struct person	*p;
	const char		*errstr, *open;
	char			 digits[32], *s;
	size_t			 len;
	uid_t			 uid;

	if (by == NULL || strncmp(by, "uid=", 4) != 0 ||
	    (open = strchr(by, '(')) == NULL)
		return (NULL);
	len = open - (by + 4);
	if (len == 0 || len >= sizeof digits)
		return (NULL);
	memcpy(digits, by + 4, len);
	digits[len] = '\0';
	uid = strtonum(digits, 0, UINT32_MAX - 1, &errstr);
	if (errstr != NULL || !isdigit((u_char)digits[0]))
		return (NULL);
	len = strlen(open + 1);
	if (len < 2 || open[len] != ')')
		return (NULL);
	p = person_get(uid);
	if (p->name == NULL || strlen(p->login) != len - 1 ||
	    strncmp(p->login, open + 1, len - 1) != 0)
		return (NULL);
	xasprintf(&s, "%s (%s)", p->name, p->login);
	return (s);
}
