/* API tokens in the store: insert, find by hash or name, list, delete. */

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "microlightd.h"
#include "db.h"

/*
 * A token from a row of TOKEN_COLUMNS, or NULL if its tasks are not a
 * non-empty array of strings: a damaged row must never read as a token
 * for every task.
 */
static struct token *
db_token_row(sqlite3_stmt *st)
{
	struct token	*tok;
	const char	*text;
	json_t		*a, *v;
	size_t		 i;

	tok = xcalloc(1, sizeof *tok);
	tok->name = xstrdup((const char *)sqlite3_column_text(st, 0));
	tok->creator = xstrdup((const char *)sqlite3_column_text(st, 1));
	tok->created_at = sqlite3_column_int64(st, 3);
	tok->expires_at = sqlite3_column_int64(st, 4);	/* NULL: 0 */
	tok->last_used_at = sqlite3_column_int64(st, 5);
	if (sqlite3_column_type(st, 2) == SQLITE_NULL)
		return (tok);
	text = (const char *)sqlite3_column_text(st, 2);
	a = json_loads(text != NULL ? text : "", JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(a) || json_array_size(a) == 0)
		goto bad;
	tok->tasks = xcalloc(json_array_size(a), sizeof *tok->tasks);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			goto bad;
		tok->tasks[tok->ntasks++] = xstrdup(json_string_value(v));
	}
	json_decref(a);
	return (tok);
bad:
	log_warnx("sqlite: token %s: its tasks are not a list of names",
	    tok->name);
	json_decref(a);
	token_free(tok);
	return (NULL);
}

/* Store a new token with the SHA-256 of its secret. */
int
db_token_insert(const struct token *tok, const u_char *hash)
{
	sqlite3_stmt	*st = db_stmt(STMT_TOKEN_INSERT);
	json_t		*a;
	char		*tasks = NULL;
	u_int		 i;
	int		 rc;

	if (tok->ntasks > 0) {
		a = json_array();
		for (i = 0; i < tok->ntasks; i++)
			json_array_append_new(a, json_string(tok->tasks[i]));
		tasks = json_dumps(a, JSON_COMPACT);
		json_decref(a);
		if (tasks == NULL)
			return (-1);
	}
	sqlite3_bind_text(st, 1, tok->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hash, HMAC_SHA256_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, tok->creator, -1, SQLITE_STATIC);
	if (tasks != NULL)
		sqlite3_bind_text(st, 4, tasks, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, tok->created_at);
	if (tok->expires_at != 0)
		sqlite3_bind_int64(st, 6, tok->expires_at);
	rc = db_step_done(st, "storing a token");
	free(tasks);
	return (rc);
}

/*
 * The token whose secret has this SHA-256, or NULL; its stored hash is
 * copied to stored (for the caller's constant-time compare).
 */
struct token *
db_token_by_hash(const u_char *hash, u_char *stored)
{
	sqlite3_stmt	*st = db_stmt(STMT_TOKEN_BY_HASH);
	struct token	*tok = NULL;

	sqlite3_bind_blob(st, 1, hash, HMAC_SHA256_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 6) == HMAC_SHA256_LEN) {
		memcpy(stored, sqlite3_column_blob(st, 6), HMAC_SHA256_LEN);
		tok = db_token_row(st);
	}
	sqlite3_reset(st);
	return (tok);
}

/* The token of this name, or NULL. */
struct token *
db_token_by_name(const char *name)
{
	sqlite3_stmt	*st = db_stmt(STMT_TOKEN_BY_NAME);
	struct token	*tok = NULL;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		tok = db_token_row(st);
	sqlite3_reset(st);
	return (tok);
}

/* Call cb for every token, by name; a damaged row is skipped. */
int
db_token_list(void (*cb)(const struct token *, void *), void *arg)
{
	sqlite3_stmt	*st = db_stmt(STMT_TOKEN_LIST);
	struct token	*tok;
	int		 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((tok = db_token_row(st)) == NULL)
			continue;
		cb(tok, arg);
		token_free(tok);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("sqlite: listing tokens: %s", sqlite3_errmsg(db));
		return (-1);
	}
	return (0);
}

/* Delete a token: 1 if there was one of that name, 0 if not, or -1. */
int
db_token_delete(const char *name)
{
	sqlite3_stmt	*st = db_stmt(STMT_TOKEN_DELETE);

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (db_step_done(st, "revoking a token") != 0)
		return (-1);
	return (sqlite3_changes(db) > 0);
}

/* Record when a token was last used (ms). */
int
db_token_used(const char *name, int64_t at)
{
	sqlite3_stmt	*st = db_stmt(STMT_TOKEN_USED);

	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	return (db_step_done(st, "recording a token's use"));
}
