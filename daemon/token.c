/*
 * API tokens (SPEC section 8): made, listed and revoked by the token
 * command, found by their secret for the HTTP side. A secret is "ml_"
 * and 32 random bytes in URL-safe base64 without padding, 46 characters
 * in all (the prefix lets secret scanners and people recognise one). It
 * is shown once, in the reply that made it; only its SHA-256 is stored,
 * and it is never logged.
 */

#include <stdlib.h>
#include <string.h>

#include "microlightd.h"

#define TOKEN_PREFIX		"ml_"
#define TOKEN_RAW_LEN		32	/* random bytes of a secret */
#define TOKEN_NAME_MAX		64
#define TOKEN_MAX_TASKS		1024	/* tasks a token may name */
/* A token's last use is written at most this often (ms), not per request. */
#define TOKEN_USED_EVERY	60000

/* Free a token. */
void
token_free(struct token *tok)
{
	u_int	 i;

	if (tok == NULL)
		return;
	for (i = 0; i < tok->ntasks; i++)
		free(tok->tasks[i]);
	free(tok->tasks);
	free(tok->name);
	free(tok->creator);
	free(tok);
}

/* Whether s is a token name: 1 to 64 of [A-Za-z0-9._-]. */
int
token_name_valid(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= TOKEN_NAME_MAX)
			return (0);
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') &&
		    s[i] != '.' && s[i] != '_' && s[i] != '-')
			return (0);
	}
	return (i > 0);
}

/* A new secret: TOKEN_PREFIX and TOKEN_RAW_LEN random bytes, base64url. */
static char *
token_secret(void)
{
	u_char	 raw[TOKEN_RAW_LEN];
	char	*b64, *s;
	size_t	 len, plen = sizeof TOKEN_PREFIX - 1, i;

	arc4random_buf(raw, sizeof raw);
	b64 = base64_encode(raw, sizeof raw, &len);
	explicit_bzero(raw, sizeof raw);
	while (len > 0 && b64[len - 1] == '=')
		len--;
	s = xmalloc(plen + len + 1);
	memcpy(s, TOKEN_PREFIX, plen);
	for (i = 0; i < len; i++) {
		if (b64[i] == '+')
			s[plen + i] = '-';
		else if (b64[i] == '/')
			s[plen + i] = '_';
		else
			s[plen + i] = b64[i];
	}
	s[plen + len] = '\0';
	explicit_bzero(b64, len);
	free(b64);
	return (s);
}

/*
 * The token with this secret, not expired (and not revoked: a revoked
 * token's row is gone), or NULL; the caller frees it. Its last use is
 * recorded, at most once every TOKEN_USED_EVERY.
 *
 * Nothing here takes a time that depends on a stored secret: the secret
 * given is hashed, and the hash is the key looked up. A lookup's time may
 * depend on how that hash compares with the stored ones, which tells a
 * caller something of stored hashes at most, never of a secret (finding
 * one from its SHA-256 is the preimage problem). The name plays no part
 * in finding a token. The stored hash is compared again in constant time,
 * for the day the lookup changes.
 */
struct token *
token_find(const char *secret)
{
	struct token	*tok;
	u_char		 hash[HMAC_SHA256_LEN], stored[HMAC_SHA256_LEN];
	int64_t		 now;
	int		 ok;

	if (secret == NULL || *secret == '\0')
		return (NULL);
	hmac_digest(secret, strlen(secret), hash);
	tok = db_token_by_hash(hash, stored);
	ok = tok != NULL && hmac_equal(hash, stored, sizeof hash);
	explicit_bzero(hash, sizeof hash);
	explicit_bzero(stored, sizeof stored);
	if (!ok) {
		token_free(tok);
		return (NULL);
	}
	now = time_now_ms();
	if (tok->expires_at != 0 && now >= tok->expires_at) {
		token_free(tok);
		return (NULL);
	}
	/* A clock set back would otherwise hold the last use in the future. */
	if (tok->last_used_at == 0 || now < tok->last_used_at ||
	    now - tok->last_used_at >= TOKEN_USED_EVERY) {
		if (db_token_used(tok->name, now) == 0)
			tok->last_used_at = now;
	}
	return (tok);
}

/*
 * Make a token for creator, limited to tasks (ntasks of them; none: every
 * task its creator may use), expiring after expires (a duration, or NULL:
 * never). Its object and its secret go in reply, the one place the
 * secret is ever shown.
 */
int
token_create(const char *name, const char *creator, const char **tasks,
    u_int ntasks, const char *expires, json_t *reply, struct ops_error *err)
{
	struct token	 tok, *old;
	u_char		 hash[HMAC_SHA256_LEN];
	json_t		*obj;
	const char	*errstr;
	char		*secret;
	int64_t		 secs = 0;
	u_int		 i, j;
	int		 rc;

	if (!token_name_valid(name))
		return (ops_fail(err, E_USAGE, "a token name is 1 to %d "
		    "letters, digits, '.', '_' and '-'", TOKEN_NAME_MAX));
	if (ntasks > TOKEN_MAX_TASKS)
		return (ops_fail(err, E_USAGE, "a token may name at most %d "
		    "tasks (none: every task)", TOKEN_MAX_TASKS));
	for (i = 0; i < ntasks; i++) {
		if (ops_task(who_daemon(), tasks[i]) == NULL)
			return (ops_fail(err, E_UNKNOWN_TASK, "no task named "
			    "'%s'", tasks[i]));
	}
	if (expires != NULL) {
		if (duration_parse(expires, &secs, &errstr) != 0)
			return (ops_fail(err, E_USAGE, "expires %s: %s",
			    expires, errstr));
		if (secs <= 0)
			return (ops_fail(err, E_USAGE, "expires %s: must be "
			    "more than 0 (a token without it never expires)",
			    expires));
	}
	if ((old = db_token_by_name(name)) != NULL) {
		token_free(old);
		return (ops_fail(err, E_TOKEN_EXISTS, "a token named '%s' "
		    "exists already (revoke it first)", name));
	}

	memset(&tok, 0, sizeof tok);
	tok.name = (char *)name;
	tok.creator = (char *)creator;
	/* Each task once, in the order given. */
	tok.tasks = xcalloc(ntasks > 0 ? ntasks : 1, sizeof *tok.tasks);
	for (i = 0; i < ntasks; i++) {
		for (j = 0; j < tok.ntasks; j++) {
			if (strcmp(tok.tasks[j], tasks[i]) == 0)
				break;
		}
		if (j == tok.ntasks)
			tok.tasks[tok.ntasks++] = (char *)tasks[i];
	}
	tok.created_at = time_now_ms();
	if (secs > 0)
		tok.expires_at = tok.created_at + secs * 1000;

	secret = token_secret();
	hmac_digest(secret, strlen(secret), hash);
	rc = db_token_insert(&tok, hash);
	explicit_bzero(hash, sizeof hash);
	if (rc != 0) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
		free(tok.tasks);
		return (ops_fail(err, E_INTERNAL, "the token could not be "
		    "stored (see the daemon's log)"));
	}
	obj = object_token(&tok);
	json_object_set_new(obj, K_SECRET, json_string(secret));
	json_object_set_new(reply, K_TOKEN, obj);
	if (tok.ntasks == 0)
		log_info("token %s created by %s, for every task", name,
		    creator);
	else
		log_info("token %s created by %s, for %u task%s", name,
		    creator, tok.ntasks, tok.ntasks == 1 ? "" : "s");
	explicit_bzero(secret, strlen(secret));
	free(secret);
	free(tok.tasks);
	return (0);
}

/* Append a token's object to an array (a db_token_list callback). */
static void
token_append(const struct token *tok, void *arg)
{
	json_array_append_new(arg, object_token(tok));
}

/* Every token, by name, never with a secret: K_TOKENS in reply. */
int
token_list(json_t *reply, struct ops_error *err)
{
	json_t	*a;

	a = json_array();
	if (db_token_list(token_append, a) != 0) {
		json_decref(a);
		return (ops_fail(err, E_INTERNAL, "the tokens could not be "
		    "read (see the daemon's log)"));
	}
	json_object_set_new(reply, K_TOKENS, a);
	return (0);
}

/*
 * Revoke a token: it is deleted, so no request gets through with it from
 * now on. Its object, as it was, goes in reply.
 */
int
token_revoke(const char *name, json_t *reply, struct ops_error *err)
{
	struct token	*tok;

	json_t		*obj;
	int		 n;

	/* A row that cannot be read (a damaged one) is revoked all the same. */
	tok = db_token_by_name(name);
	if ((n = db_token_delete(name)) != 1) {
		token_free(tok);
		if (n == 0)
			return (ops_fail(err, E_UNKNOWN_TOKEN, "no token named "
			    "'%s'", name));
		return (ops_fail(err, E_INTERNAL, "the token could not be "
		    "revoked (see the daemon's log)"));
	}
	if (tok != NULL)
		obj = object_token(tok);
	else
		obj = json_pack("{s:s}", K_NAME, name);
	json_object_set_new(reply, K_TOKEN, obj);
	log_info("token %s revoked", name);
	token_free(tok);
	return (0);
}
