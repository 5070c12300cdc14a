/* Task files: reading the header, the task definition, names and values. */

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ml.h"
#include "params.h"
#include "taskfile.h"

#define DESC_MAX	4096

/* Record an error at the current line; later errors beyond the cap are dropped. */
int
taskfile_error(struct parse *p, const char *fmt, ...)
{
	struct taskdef	*def = p->def;
	va_list		 ap;

	if (def->nerrors >= TASKDEF_MAX_ERRORS)
		return (-1);
	def->errors = xreallocarray(def->errors, def->nerrors + 1,
	    sizeof *def->errors);
	def->errors[def->nerrors].line = p->line;
	va_start(ap, fmt);
	xvasprintf(&def->errors[def->nerrors].msg, fmt, ap);
	va_end(ap);
	def->nerrors++;
	return (-1);
}

/* Return the text after a comment marker, or NULL if line is not a comment. */
static const char *
comment_text(const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '#' || *line == ';')
		line++;
	else if ((line[0] == '/' && line[1] == '/') ||
	    (line[0] == '-' && line[1] == '-'))
		line += 2;
	else
		return (NULL);
	while (*line == ' ' || *line == '\t')
		line++;
	return (line);
}

/* Checks across directives, made once the whole header is read. */
static void
parse_finish(struct parse *p)
{
	struct taskdef	*def = p->def;
	json_t		*params;
	char		*cause;
	u_int		 i, j;
	size_t		 klen;

	for (i = 0; i < def->nenv; i++) {
		klen = strcspn(def->env[i], "=");
		for (j = 0; j < def->nparams; j++) {
			if (strlen(def->params[j].name) == klen &&
			    strncmp(def->params[j].name, def->env[i],
			    klen) == 0) {
				p->line = def->params[j].line;
				taskfile_error(p, "@param %s clashes with an "
				    "@env variable of the same name",
				    def->params[j].name);
			}
		}
	}
	/*
	 * Each schedule's parameters, checked as its runs' will be: declared,
	 * of their types, and every required one given.
	 */
	for (i = 0; i < def->nschedules; i++) {
		params = params_check(def, def->schedules[i].params, 0, &cause);
		if (params == NULL) {
			p->line = def->schedules[i].line;
			taskfile_error(p, "@schedule: %s", cause);
			free(cause);
		}
		json_decref(params);
	}
}

/*
 * Parse the leading comment block of a task file: after an optional "#!"
 * line (and blank lines), every line whose first non-blank characters are
 * #, //, -- or ; until the first line that is not such a comment. The first
 * paragraph of plain text is the description; lines starting with @ are
 * directives. Errors are collected in def->errors with their line numbers;
 * a definition with errors must not run.
 */
struct taskdef *
taskfile_parse(const char *buf, size_t len)
{
	struct parse	 p;
	struct taskdef	*def;
	const char	*end = buf + len, *eol, *text;
	char		*line, *desc = NULL;
	size_t		 llen, dlen = 0;
	int		 started = 0, desc_done = 0;

	def = xcalloc(1, sizeof *def);
	def->timeout = -1;
	def->concurrency = 1;
	def->overlap = OVERLAP_QUEUE;
	def->retry_delay = 30;
	memset(&p, 0, sizeof p);
	p.def = def;

	while (buf < end) {
		p.line++;
		eol = memchr(buf, '\n', end - buf);
		llen = (eol != NULL ? eol : end) - buf;
		line = xstrndup(buf, llen);
		if (memchr(buf, '\0', llen) != NULL) {
			free(line);
			break;	/* a binary file: no header */
		}
		buf = eol != NULL ? eol + 1 : end;
		if (llen > 0 && line[llen - 1] == '\r')
			line[--llen] = '\0';

		if (p.line == 1 && strncmp(line, "#!", 2) == 0) {
			free(line);
			continue;
		}
		if (!started && line[strspn(line, " \t")] == '\0') {
			free(line);
			continue;
		}
		if ((text = comment_text(line)) == NULL) {
			free(line);
			break;
		}
		started = 1;
		if (!utf8_valid(line, llen)) {
			taskfile_error(&p, "not valid UTF-8");
			free(line);
			continue;
		}
		if (text[0] == '@' && isalpha((u_char)text[1])) {
			if (desc != NULL)
				desc_done = 1;
			taskfile_directive(&p, text + 1);
		} else if (*text == '\0') {
			if (desc != NULL)
				desc_done = 1;
		} else if (!desc_done && dlen + strlen(text) + 2 < DESC_MAX) {
			llen = strlen(text);
			while (llen > 0 && isspace((u_char)text[llen - 1]))
				llen--;
			desc = xreallocarray(desc, 1, dlen + llen + 2);
			if (dlen > 0)
				desc[dlen++] = ' ';
			memcpy(desc + dlen, text, llen);
			dlen += llen;
			desc[dlen] = '\0';
		}
		free(line);
	}
	def->description = desc;
	parse_finish(&p);
	return (def);
}

/* Free a task definition. */
void
taskdef_free(struct taskdef *def)
{
	u_int	 i;

	if (def == NULL)
		return;
	free(def->description);
	for (i = 0; i < def->nschedules; i++) {
		free(def->schedules[i].expr);
		json_decref(def->schedules[i].params);
	}
	free(def->schedules);
	free(def->timezone);
	for (i = 0; i < def->nparams; i++)
		taskparam_clear(&def->params[i]);
	free(def->params);
	free(def->on_failure);
	free(def->on_success);
	free(def->user);
	free(def->workdir);
	for (i = 0; i < def->nenv; i++)
		free(def->env[i]);
	free(def->env);
	free(def->group);
	free(def->title);
	for (i = 0; i < def->nallow; i++)
		free(def->allow[i]);
	free(def->allow);
	for (i = 0; i < def->nnotify; i++)
		free(def->notify[i].task);
	free(def->notify);
	for (i = 0; i < def->nwebhook_headers; i++)
		free(def->webhook_headers[i]);
	free(def->webhook_headers);
	for (i = 0; i < def->nerrors; i++)
		free(def->errors[i].msg);
	free(def->errors);
	free(def);
}

/* Find a declared parameter by name. */
const struct taskparam *
taskdef_param(const struct taskdef *def, const char *name)
{
	u_int	 i;

	for (i = 0; i < def->nparams; i++) {
		if (strcmp(def->params[i].name, name) == 0)
			return (&def->params[i]);
	}
	return (NULL);
}

/* Whether s is a task name: [A-Za-z0-9][A-Za-z0-9_-]{0,63}. */
int
taskname_valid(const char *s)
{
	size_t	 i;

	if (!isalnum((u_char)s[0]) || !isascii((u_char)s[0]))
		return (0);
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= ML_NAME_MAX)
			return (0);
		if (!isascii((u_char)s[i]) ||
		    (!isalnum((u_char)s[i]) && s[i] != '_' && s[i] != '-'))
			return (0);
	}
	return (1);
}

/*
 * Whether s names a user or a %group for @allow and default-allow:
 * [A-Za-z0-9._@-], 1 to 64 characters after an optional '%' (a user of
 * the users-file, a Unix user or group, a name a proxy gives).
 */
int
allow_name_valid(const char *s)
{
	size_t	 i;

	if (*s == '%')
		s++;
	if (*s == '\0' || strlen(s) > 64)
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (!isascii((u_char)s[i]) || (!isalnum((u_char)s[i]) &&
		    strchr("._@-", s[i]) == NULL))
			return (0);
	}
	return (1);
}

/* Whether s is a parameter name: [a-z][a-z0-9_]{0,31}. */
int
taskparam_name_valid(const char *s)
{
	size_t	 i;

	if (s[0] < 'a' || s[0] > 'z')
		return (0);
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= ML_PARAM_NAME_MAX)
			return (0);
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return (0);
	}
	return (1);
}

/* Whether a file in tasks.d is skipped silently: hidden, backup, disabled. */
int
taskfile_ignored(const char *file)
{
	static const char *suffixes[] = { "~", ".bak", ".swp", ".disabled" };
	size_t	 len = strlen(file), slen;
	u_int	 i;

	if (file[0] == '.' || len == 0)
		return (1);
	if (strstr(file, ".dpkg-") != NULL)
		return (1);
	for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		slen = strlen(suffixes[i]);
		if (len >= slen && strcmp(file + len - slen, suffixes[i]) == 0)
			return (1);
	}
	return (0);
}

/*
 * The task name of a file: its name without the last extension. Returns -1
 * with *errstr if that is not a valid task name.
 */
int
taskfile_name(const char *file, char *name, size_t size, const char **errstr)
{
	const char	*dot;
	size_t		 len;

	dot = strrchr(file, '.');
	len = (dot != NULL && dot != file) ? (size_t)(dot - file) :
	    strlen(file);
	if (len == 0 || len >= size || len >= ML_NAME_MAX + 1) {
		*errstr = "the task name is empty or longer than 64 characters";
		return (-1);
	}
	memcpy(name, file, len);
	name[len] = '\0';
	if (!taskname_valid(name)) {
		*errstr = "a task name is letters, digits, '-' and '_' "
		    "(starting with a letter or digit)";
		return (-1);
	}
	return (0);
}

/* Case-insensitive match of s against a NULL-terminated list. */
static int
word_in(const char *s, const char **words)
{
	for (; *words != NULL; words++) {
		if (strcasecmp(s, *words) == 0)
			return (1);
	}
	return (0);
}

/*
 * Check a parameter value against its type and return its normalised form
 * (ints in plain decimal, bools as "true"/"false") in *out, or -1 and a
 * message in *cause.
 */
int
taskparam_normalise(const struct taskparam *tp, const char *value,
    char **out, char **cause)
{
	static const char *yes[] = { "true", "yes", "on", "1", NULL };
	static const char *no[] = { "false", "no", "off", "0", NULL };
	const char	*errstr;
	long long	 n;
	u_int		 i;

	if (strlen(value) > ML_PARAM_VALUE_MAX) {
		xasprintf(cause, "%s: value longer than %d bytes", tp->name,
		    ML_PARAM_VALUE_MAX);
		return (-1);
	}
	switch (tp->type) {
	case PARAM_STRING:
		*out = xstrdup(value);
		return (0);
	case PARAM_INT:
		n = strtonum(value, LLONG_MIN, LLONG_MAX, &errstr);
		if (errstr != NULL || *value == '\0' ||
		    isspace((u_char)*value)) {
			xasprintf(cause, "%s: '%s' is not an integer",
			    tp->name, value);
			return (-1);
		}
		xasprintf(out, "%lld", n);
		return (0);
	case PARAM_BOOL:
		if (word_in(value, yes))
			*out = xstrdup("true");
		else if (word_in(value, no))
			*out = xstrdup("false");
		else {
			xasprintf(cause, "%s: '%s' is not true or false",
			    tp->name, value);
			return (-1);
		}
		return (0);
	case PARAM_CHOICE:
		for (i = 0; i < tp->nchoices; i++) {
			if (strcmp(tp->choices[i], value) == 0) {
				*out = xstrdup(value);
				return (0);
			}
		}
		xasprintf(cause, "%s: '%s' is not one of the choices", tp->name,
		    value);
		return (-1);
	}
	xasprintf(cause, "%s: unknown type", tp->name);
	return (-1);
}
