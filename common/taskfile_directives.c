/* The @directives of a task file: their table and the parsers of values. */

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ml.h"
#include "taskfile.h"

#define TOKENS_MAX	16
#define LABEL_MAX	200
#define GROUP_MAX	64
#define TITLE_MAX	80
#define USER_MAX	32
#define SCHEDULE_TOKENS_MAX (6 + TASKDEF_MAX_PARAMS) /* fields, NAME=VALUE */

/* What a parameter name is, after "bad name '%s'"; takes the length. */
#define NAME_RULE	"(lower-case letters, digits and '_', starting " \
			"with a letter, at most %d)"

/* One token of a directive line; quoted tells whether it was "quoted". */
struct token {
	char	*s;
	int	 quoted;
};

static int	parse_schedule(struct parse *, const char *);
static int	parse_timezone(struct parse *, const char *);
static int	parse_timeout(struct parse *, const char *);
static int	parse_param(struct parse *, const char *);
static int	parse_concurrency(struct parse *, const char *);
static int	parse_overlap(struct parse *, const char *);
static int	parse_retries(struct parse *, const char *);
static int	parse_retry_delay(struct parse *, const char *);
static int	parse_webhook(struct parse *, const char *);
static int	parse_on_failure(struct parse *, const char *);
static int	parse_on_success(struct parse *, const char *);
static int	parse_user(struct parse *, const char *);
static int	parse_workdir(struct parse *, const char *);
static int	parse_env(struct parse *, const char *);
static int	parse_priority(struct parse *, const char *);
static int	parse_catchup(struct parse *, const char *);
static int	parse_confirm(struct parse *, const char *);
static int	parse_group(struct parse *, const char *);
static int	parse_title(struct parse *, const char *);
static int	parse_allow(struct parse *, const char *);
static int	parse_notify(struct parse *, const char *);
static int	parse_expect(struct parse *, const char *);
static int	parse_webhook_header(struct parse *, const char *);

#define D_REPEAT	0x1	/* may be given more than once */

/* Every directive of SPEC section 2. */
static const struct directive {
	const char	*name;
	int		 flags;
	int		(*parse)(struct parse *, const char *);
} directives[] = {
	{ "schedule", D_REPEAT, parse_schedule },
	{ "timezone", 0, parse_timezone },
	{ "timeout", 0, parse_timeout },
	{ "param", D_REPEAT, parse_param },
	{ "concurrency", 0, parse_concurrency },
	{ "overlap", 0, parse_overlap },
	{ "retries", 0, parse_retries },
	{ "retry-delay", 0, parse_retry_delay },
	{ "webhook", 0, parse_webhook },
	{ "on-failure", 0, parse_on_failure },
	{ "on-success", 0, parse_on_success },
	{ "user", 0, parse_user },
	{ "workdir", 0, parse_workdir },
	{ "env", D_REPEAT, parse_env },
	{ "priority", 0, parse_priority },
	{ "catchup", 0, parse_catchup },
	{ "confirm", 0, parse_confirm },
	{ "group", 0, parse_group },
	{ "title", 0, parse_title },
	{ "allow", D_REPEAT, parse_allow },
	{ "notify", D_REPEAT, parse_notify },
	{ "expect", 0, parse_expect },
	{ "webhook-header", D_REPEAT, parse_webhook_header },
};
#define NDIRECTIVES (sizeof directives / sizeof directives[0])

static void	tokens_free(struct token *, int);

/*
 * Split s into tokens: whitespace separates, "..." quotes (with \" and \\
 * escapes), and whitespace inside (...) does not separate, so that
 * choice(a, b) is one token. Returns the count or -1 after an error.
 */
static int
tokenize(struct parse *p, const char *s, struct token *tok, int max)
{
	char	*buf, *out;
	int	 n = 0, depth, quoted, inquote;

	while (*s != '\0') {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (n == max) {
			tokens_free(tok, n);
			return (taskfile_error(p, "too many arguments"));
		}
		buf = out = xmalloc(strlen(s) + 1);
		depth = quoted = inquote = 0;
		while (*s != '\0') {
			if (inquote) {
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\')) {
					*out++ = s[1];
					s += 2;
					continue;
				}
				if (*s == '"') {
					inquote = 0;
					s++;
					continue;
				}
				*out++ = *s++;
				continue;
			}
			if ((*s == ' ' || *s == '\t') && depth == 0)
				break;
			if (*s == '"') {
				inquote = 1;
				quoted = 1;
				s++;
				continue;
			}
			if (*s == '(')
				depth++;
			else if (*s == ')' && depth > 0)
				depth--;
			*out++ = *s++;
		}
		*out = '\0';
		if (inquote) {
			free(buf);
			tokens_free(tok, n);
			return (taskfile_error(p, "unterminated quote"));
		}
		tok[n].s = buf;
		tok[n].quoted = quoted;
		n++;
	}
	return (n);
}

/* Free the tokens of tokenize. */
static void
tokens_free(struct token *tok, int n)
{
	while (n-- > 0)
		free(tok[n].s);
}

/* The first n tokens joined by one space, allocated. */
static char *
tokens_join(const struct token *tok, int n)
{
	size_t	 len = 1;
	char	*s;
	int	 i;

	for (i = 0; i < n; i++)
		len += strlen(tok[i].s) + 1;
	s = xmalloc(len);
	s[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strlcat(s, " ", len);
		strlcat(s, tok[i].s, len);
	}
	return (s);
}

/* Tokenize a directive that takes exactly one argument; returns it or NULL. */
static char *
one_arg(struct parse *p, const char *name, const char *rest)
{
	struct token	 tok[TOKENS_MAX];
	int		 n;
	char		*arg;

	if ((n = tokenize(p, rest, tok, TOKENS_MAX)) == -1)
		return (NULL);
	if (n != 1) {
		tokens_free(tok, n);
		taskfile_error(p, "@%s takes one argument", name);
		return (NULL);
	}
	arg = tok[0].s;
	return (arg);
}

/* Check a directive that takes no argument and set its flag. */
static int
no_arg(struct parse *p, const char *name, const char *rest, int *flag)
{
	while (*rest == ' ' || *rest == '\t')
		rest++;
	if (*rest != '\0')
		return (taskfile_error(p, "@%s takes no argument", name));
	*flag = 1;
	return (0);
}

/* Parse a bounded integer argument. */
static int
int_arg(struct parse *p, const char *name, const char *rest, long long min,
    long long max, int *out)
{
	const char	*errstr;
	char		*arg;
	long long	 v;

	if ((arg = one_arg(p, name, rest)) == NULL)
		return (-1);
	v = strtonum(arg, min, max, &errstr);
	if (errstr != NULL) {
		taskfile_error(p, "@%s: '%s' is %s (%lld to %lld)", name, arg,
		    errstr, min, max);
		free(arg);
		return (-1);
	}
	free(arg);
	*out = (int)v;
	return (0);
}

/* Parse a duration argument. */
static int
duration_arg(struct parse *p, const char *name, const char *rest,
    int64_t *out)
{
	const char	*errstr;
	char		*arg;

	if ((arg = one_arg(p, name, rest)) == NULL)
		return (-1);
	if (duration_parse(arg, out, &errstr) != 0) {
		taskfile_error(p, "@%s: '%s': %s", name, arg, errstr);
		free(arg);
		return (-1);
	}
	free(arg);
	return (0);
}

/*
 * One NAME=VALUE word of a @schedule line, into *params (made for the
 * first). Whether NAME is declared and VALUE fits its type is checked
 * when every @param is read (parse_finish), as a run's parameters are.
 */
static int
schedule_param(struct parse *p, json_t **params, const char *word)
{
	const char	*eq;
	char		*name;
	json_t		*value;
	int		 rc = -1;

	if ((eq = strchr(word, '=')) == NULL)
		return (taskfile_error(p, "@schedule: '%s' is not NAME=VALUE "
		    "(a value with blanks is in double quotes)", word));
	name = xstrndup(word, eq - word);
	if (!taskparam_name_valid(name))
		taskfile_error(p, "@schedule: bad parameter name '%s' "
		    NAME_RULE, name, ML_PARAM_NAME_MAX);
	else if (*params != NULL && json_object_get(*params, name) != NULL)
		taskfile_error(p, "@schedule: parameter %s is given twice",
		    name);
	else if ((value = json_string(eq + 1)) == NULL)
		taskfile_error(p, "@schedule: %s: not valid UTF-8", name);
	else {
		if (*params == NULL)
			*params = json_object();
		json_object_set_new(*params, name, value);
		rc = 0;
	}
	free(name);
	return (rc);
}

/*
 * @schedule EXPR [NAME=VALUE ...]: a cron expression (cron.c has the
 * grammar), stored with one space between fields, then the parameters
 * its runs get. The expression ends at the first word with a '='.
 */
static int
parse_schedule(struct parse *p, const char *rest)
{
	struct taskdef	*def = p->def;
	struct token	 tok[SCHEDULE_TOKENS_MAX];
	struct cron	 cron;
	json_t		*params = NULL;
	char		*expr = NULL, *cause;
	int		 n, i, nexpr, rc = -1;
	u_int		 j;

	if ((n = tokenize(p, rest, tok, SCHEDULE_TOKENS_MAX)) == -1)
		return (-1);
	for (nexpr = 0; nexpr < n; nexpr++) {
		if (strchr(tok[nexpr].s, '=') != NULL)
			break;
		if (tok[nexpr].quoted) {
			taskfile_error(p, "@schedule: a cron expression has "
			    "no quotes");
			goto out;
		}
	}
	if (nexpr == 0) {
		taskfile_error(p, "@schedule needs a cron expression");
		goto out;
	}
	expr = tokens_join(tok, nexpr);
	if (cron_parse(expr, &cron, &cause) != 0) {
		taskfile_error(p, "@schedule: %s", cause);
		free(cause);
		goto out;
	}
	for (i = nexpr; i < n; i++) {
		if (schedule_param(p, &params, tok[i].s) != 0)
			goto out;
	}
	for (j = 0; j < def->nschedules; j++) {
		if (strcmp(def->schedules[j].expr, expr) == 0) {
			taskfile_error(p, "@schedule: the same expression is "
			    "on line %d (a task's schedules differ in their "
			    "times)", def->schedules[j].line);
			goto out;
		}
	}
	if (def->nschedules >= TASKDEF_MAX_REPEAT) {
		taskfile_error(p, "too many @schedule lines");
		goto out;
	}
	def->schedules = xreallocarray(def->schedules, def->nschedules + 1,
	    sizeof *def->schedules);
	def->schedules[def->nschedules].expr = expr;
	def->schedules[def->nschedules].params = params;
	def->schedules[def->nschedules].line = p->line;
	def->nschedules++;
	expr = NULL;
	params = NULL;
	rc = 0;
out:
	free(expr);
	json_decref(params);
	tokens_free(tok, n);
	return (rc);
}

/* @timezone ZONE. */
static int
parse_timezone(struct parse *p, const char *rest)
{
	struct tz	*z;
	char		*zone, *cause;

	if ((zone = one_arg(p, "timezone", rest)) == NULL)
		return (-1);
	if ((z = tz_load(zone, &cause)) == NULL) {
		taskfile_error(p, "@timezone: %s", cause);
		free(cause);
		free(zone);
		return (-1);
	}
	tz_free(z);
	p->def->timezone = zone;
	return (0);
}

/* @timeout DURATION ("0": never). */
static int
parse_timeout(struct parse *p, const char *rest)
{
	return (duration_arg(p, "timeout", rest, &p->def->timeout));
}

/* Name of a parameter type. */
const char *
taskparam_type_name(enum param_type type)
{
	switch (type) {
	case PARAM_STRING:
		return ("string");
	case PARAM_INT:
		return ("int");
	case PARAM_BOOL:
		return ("bool");
	case PARAM_CHOICE:
		return ("choice");
	}
	return ("unknown");
}

/* Parse "choice(a,b,c)" into the parameter's choices. */
static int
param_choices(struct parse *p, struct taskparam *tp, const char *s)
{
	const char	*start, *end;
	char		*c;
	size_t		 len;
	u_int		 i;

	s += strlen("choice(");
	len = strlen(s);
	if (len == 0 || s[len - 1] != ')')
		return (taskfile_error(p, "@param %s: choice(...) is not "
		    "closed", tp->name));
	len--;
	start = s;
	for (;;) {
		end = memchr(start, ',', s + len - start);
		if (end == NULL)
			end = s + len;
		while (start < end && isspace((u_char)*start))
			start++;
		c = xstrndup(start, end - start);
		while (*c != '\0' && isspace((u_char)c[strlen(c) - 1]))
			c[strlen(c) - 1] = '\0';
		if (*c == '\0') {
			free(c);
			return (taskfile_error(p, "@param %s: empty choice",
			    tp->name));
		}
		for (i = 0; i < tp->nchoices; i++) {
			if (strcmp(tp->choices[i], c) == 0) {
				taskfile_error(p, "@param %s: choice '%s' "
				    "given twice", tp->name, c);
				free(c);
				return (-1);
			}
		}
		tp->choices = xreallocarray(tp->choices, tp->nchoices + 1,
		    sizeof *tp->choices);
		tp->choices[tp->nchoices++] = c;
		if (end == s + len)
			break;
		start = end + 1;
	}
	return (0);
}

/* Free one parameter's strings. */
void
taskparam_clear(struct taskparam *tp)
{
	u_int	 i;

	free(tp->name);
	free(tp->label);
	free(tp->def);
	for (i = 0; i < tp->nchoices; i++)
		free(tp->choices[i]);
	free(tp->choices);
}

/* @param NAME [TYPE] ["LABEL"] [default=V] [required], in any order after NAME. */
static int
parse_param(struct parse *p, const char *rest)
{
	struct taskdef		*def = p->def;
	struct taskparam	 tp;
	struct token		 tok[TOKENS_MAX];
	char			*dflt = NULL, *norm, *why;
	int			 n, i, have_type = 0, rc = -1;
	u_int			 j;

	memset(&tp, 0, sizeof tp);
	tp.line = p->line;
	if ((n = tokenize(p, rest, tok, TOKENS_MAX)) == -1)
		return (-1);
	if (n == 0) {
		taskfile_error(p, "@param needs a name");
		goto out;
	}
	if (tok[0].quoted || !taskparam_name_valid(tok[0].s)) {
		taskfile_error(p, "@param: bad name '%s' " NAME_RULE,
		    tok[0].s, ML_PARAM_NAME_MAX);
		goto out;
	}
	tp.name = xstrdup(tok[0].s);
	for (j = 0; j < def->nparams; j++) {
		if (strcmp(def->params[j].name, tp.name) == 0) {
			taskfile_error(p, "@param %s is already declared at "
			    "line %d", tp.name, def->params[j].line);
			goto out;
		}
	}
	for (i = 1; i < n; i++) {
		const char *t = tok[i].s;

		if (tok[i].quoted && strncmp(t, "default=", 8) != 0) {
			if (tp.label != NULL) {
				taskfile_error(p, "@param %s: two labels",
				    tp.name);
				goto out;
			}
			if (*t == '\0' || strlen(t) > LABEL_MAX) {
				taskfile_error(p, "@param %s: the label must "
				    "have 1 to %d characters", tp.name,
				    LABEL_MAX);
				goto out;
			}
			tp.label = xstrdup(t);
		} else if (strncmp(t, "default=", 8) == 0) {
			if (dflt != NULL) {
				taskfile_error(p, "@param %s: two defaults",
				    tp.name);
				goto out;
			}
			dflt = xstrdup(t + 8);
		} else if (strcmp(t, "required") == 0) {
			tp.required = 1;
		} else if (!have_type && (strcmp(t, "string") == 0 ||
		    strcmp(t, "int") == 0 || strcmp(t, "bool") == 0 ||
		    strncmp(t, "choice(", 7) == 0)) {
			have_type = 1;
			if (strcmp(t, "int") == 0)
				tp.type = PARAM_INT;
			else if (strcmp(t, "bool") == 0)
				tp.type = PARAM_BOOL;
			else if (strncmp(t, "choice(", 7) == 0) {
				tp.type = PARAM_CHOICE;
				if (param_choices(p, &tp, t) != 0)
					goto out;
			}
		} else if (have_type && (strcmp(t, "string") == 0 ||
		    strcmp(t, "int") == 0 || strcmp(t, "bool") == 0 ||
		    strncmp(t, "choice(", 7) == 0)) {
			taskfile_error(p, "@param %s: two types", tp.name);
			goto out;
		} else {
			taskfile_error(p, "@param %s: unexpected '%s' (types "
			    "are string, int, bool, choice(a,b); labels are "
			    "\"quoted\")", tp.name, t);
			goto out;
		}
	}
	if (dflt != NULL && tp.required) {
		taskfile_error(p, "@param %s: a required parameter has no "
		    "default", tp.name);
		goto out;
	}
	if (dflt != NULL) {
		if (taskparam_normalise(&tp, dflt, &norm, &why) != 0) {
			taskfile_error(p, "@param %s: bad default: %s", tp.name,
			    why);
			free(why);
			goto out;
		}
		tp.def = norm;
	} else if (tp.type == PARAM_BOOL)
		tp.def = xstrdup("false");
	if (def->nparams >= TASKDEF_MAX_PARAMS) {
		taskfile_error(p, "too many parameters");
		goto out;
	}
	def->params = xreallocarray(def->params, def->nparams + 1,
	    sizeof *def->params);
	def->params[def->nparams++] = tp;
	memset(&tp, 0, sizeof tp);
	rc = 0;
out:
	taskparam_clear(&tp);
	free(dflt);
	tokens_free(tok, n);
	return (rc);
}

/* @concurrency N. */
static int
parse_concurrency(struct parse *p, const char *rest)
{
	return (int_arg(p, "concurrency", rest, 1, 1024,
	    &p->def->concurrency));
}

/* @overlap queue|skip. */
static int
parse_overlap(struct parse *p, const char *rest)
{
	char	*arg;
	int	 rc = 0;

	if ((arg = one_arg(p, "overlap", rest)) == NULL)
		return (-1);
	if (strcmp(arg, "queue") == 0)
		p->def->overlap = OVERLAP_QUEUE;
	else if (strcmp(arg, "skip") == 0)
		p->def->overlap = OVERLAP_SKIP;
	else
		rc = taskfile_error(p, "@overlap: '%s' is not queue or skip",
		    arg);
	free(arg);
	return (rc);
}

/* @retries N. */
static int
parse_retries(struct parse *p, const char *rest)
{
	return (int_arg(p, "retries", rest, 0, 100, &p->def->retries));
}

/* @retry-delay DURATION (more than zero). */
static int
parse_retry_delay(struct parse *p, const char *rest)
{
	if (duration_arg(p, "retry-delay", rest, &p->def->retry_delay) != 0)
		return (-1);
	if (p->def->retry_delay == 0)
		return (taskfile_error(p, "@retry-delay must be more than 0"));
	return (0);
}

/* @webhook. */
static int
parse_webhook(struct parse *p, const char *rest)
{
	return (no_arg(p, "webhook", rest, &p->def->webhook));
}

/* A task-name argument of @on-failure or @on-success. */
static char *
taskname_arg(struct parse *p, const char *name, const char *rest)
{
	char	*arg;

	if ((arg = one_arg(p, name, rest)) == NULL)
		return (NULL);
	if (!taskname_valid(arg)) {
		taskfile_error(p, "@%s: '%s' is not a task name", name, arg);
		free(arg);
		return (NULL);
	}
	return (arg);
}

/* @on-failure TASK. */
static int
parse_on_failure(struct parse *p, const char *rest)
{
	p->def->on_failure = taskname_arg(p, "on-failure", rest);
	p->def->on_failure_line = p->line;
	return (p->def->on_failure == NULL ? -1 : 0);
}

/* @on-success TASK. */
static int
parse_on_success(struct parse *p, const char *rest)
{
	p->def->on_success = taskname_arg(p, "on-success", rest);
	p->def->on_success_line = p->line;
	return (p->def->on_success == NULL ? -1 : 0);
}

/* @user NAME: a portable user name (the account is checked by the daemon). */
static int
parse_user(struct parse *p, const char *rest)
{
	const char	*c;
	char		*arg;

	if ((arg = one_arg(p, "user", rest)) == NULL)
		return (-1);
	for (c = arg; *c != '\0'; c++) {
		if (!isalnum((u_char)*c) && strchr("._-", *c) == NULL)
			break;
	}
	if (*c != '\0' || *arg == '-' || *arg == '\0' ||
	    strlen(arg) > USER_MAX) {
		taskfile_error(p, "@user: '%s' is not a user name", arg);
		free(arg);
		return (-1);
	}
	p->def->user = arg;
	p->def->user_line = p->line;
	return (0);
}

/* @workdir DIR (relative paths are relative to the tasks directory). */
static int
parse_workdir(struct parse *p, const char *rest)
{
	char	*arg;

	if ((arg = one_arg(p, "workdir", rest)) == NULL)
		return (-1);
	if (*arg == '\0' || strlen(arg) >= PATH_MAX) {
		free(arg);
		return (taskfile_error(p, "@workdir: bad directory"));
	}
	p->def->workdir = arg;
	return (0);
}

/*
 * The argument of @env: the rest of the line, blanks around it trimmed
 * (GREETING=hello world); one argument with its quotes removed when the
 * value, or the whole of it, is in double quotes (GREETING="a  b",
 * "GREETING=a  b"). Quotes elsewhere are kept as written.
 */
static char *
env_arg(struct parse *p, const char *rest)
{
	const char	*end, *eq;
	char		*arg;

	while (*rest == ' ' || *rest == '\t')
		rest++;
	end = rest + strlen(rest);
	while (end > rest && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	eq = memchr(rest, '=', end - rest);
	if (end > rest && (*rest == '"' ||
	    (eq != NULL && eq[1] == '"' && end[-1] == '"' && end - 1 > eq + 1)))
		return (one_arg(p, "env", rest));
	arg = xmalloc(end - rest + 1);
	memcpy(arg, rest, end - rest);
	arg[end - rest] = '\0';
	return (arg);
}

/* @env KEY=VALUE; MICROLIGHT_* is reserved. */
static int
parse_env(struct parse *p, const char *rest)
{
	struct taskdef	*def = p->def;
	char		*arg, *eq;
	const char	*c;
	u_int		 i;
	size_t		 klen;

	if ((arg = env_arg(p, rest)) == NULL)
		return (-1);
	if (*arg == '\0') {
		taskfile_error(p, "@env takes KEY=VALUE");
		goto bad;
	}
	if ((eq = strchr(arg, '=')) == NULL || eq == arg) {
		taskfile_error(p, "@env: '%s' is not KEY=VALUE", arg);
		goto bad;
	}
	klen = eq - arg;
	for (c = arg; c < eq; c++) {
		if (!(isalpha((u_char)*c) || *c == '_' ||
		    (c != arg && isdigit((u_char)*c)))) {
			taskfile_error(p, "@env: bad variable name '%.*s'",
			    (int)klen, arg);
			goto bad;
		}
	}
	if (strncmp(arg, "MICROLIGHT_", 11) == 0) {
		taskfile_error(p, "@env: MICROLIGHT_ variables are set by "
		    "microlight");
		goto bad;
	}
	if (strlen(eq + 1) > ML_PARAM_VALUE_MAX) {
		taskfile_error(p, "@env: value longer than %d bytes",
		    ML_PARAM_VALUE_MAX);
		goto bad;
	}
	for (i = 0; i < def->nenv; i++) {
		if (strncmp(def->env[i], arg, klen + 1) == 0) {
			taskfile_error(p, "@env: %.*s is set twice", (int)klen,
			    arg);
			goto bad;
		}
	}
	if (def->nenv >= TASKDEF_MAX_REPEAT) {
		taskfile_error(p, "too many @env lines");
		goto bad;
	}
	def->env = xreallocarray(def->env, def->nenv + 1, sizeof *def->env);
	def->env[def->nenv++] = arg;
	return (0);
bad:
	free(arg);
	return (-1);
}

/* @priority N. */
static int
parse_priority(struct parse *p, const char *rest)
{
	return (int_arg(p, "priority", rest, -1000, 1000, &p->def->priority));
}

/* @catchup. */
static int
parse_catchup(struct parse *p, const char *rest)
{
	return (no_arg(p, "catchup", rest, &p->def->catchup));
}

/* @confirm. */
static int
parse_confirm(struct parse *p, const char *rest)
{
	return (no_arg(p, "confirm", rest, &p->def->confirm));
}

/*
 * A text of words (@group, @title): the tokens joined by one space, 1 to
 * max bytes, into *dst.
 */
static int
text_arg(struct parse *p, const char *name, const char *rest, size_t max,
    char **dst)
{
	struct token	 tok[TOKENS_MAX];
	int		 n;
	char		*text;

	if ((n = tokenize(p, rest, tok, TOKENS_MAX)) == -1)
		return (-1);
	if (n == 0)
		return (taskfile_error(p, "@%s needs a text", name));
	text = tokens_join(tok, n);
	tokens_free(tok, n);
	if (*text == '\0' || strlen(text) > max) {
		free(text);
		return (taskfile_error(p, "@%s: 1 to %zu characters", name,
		    max));
	}
	*dst = text;
	return (0);
}

/* @group NAME: the rest of the line, optionally quoted. */
static int
parse_group(struct parse *p, const char *rest)
{
	return (text_arg(p, "group", rest, GROUP_MAX, &p->def->group));
}

/* @title TEXT: the name the page shows. */
static int
parse_title(struct parse *p, const char *rest)
{
	return (text_arg(p, "title", rest, TITLE_MAX, &p->def->title));
}

/* @allow WHO...: users and %groups who may see and run the task. */
static int
parse_allow(struct parse *p, const char *rest)
{
	struct taskdef	*def = p->def;
	struct token	 tok[TOKENS_MAX];
	int		 n, i, rc = 0;
	u_int		 j;

	if ((n = tokenize(p, rest, tok, TOKENS_MAX)) == -1)
		return (-1);
	if (n == 0)
		rc = taskfile_error(p, "@allow needs users or %%groups");
	for (i = 0; rc == 0 && i < n; i++) {
		if (!allow_name_valid(tok[i].s)) {
			rc = taskfile_error(p, "@allow: '%s' is not a user or "
			    "a %%group", tok[i].s);
			break;
		}
		for (j = 0; j < def->nallow; j++) {
			if (strcmp(def->allow[j], tok[i].s) == 0)
				break;
		}
		if (j < def->nallow)
			continue;	/* named twice: once is enough */
		if (def->nallow >= TASKDEF_MAX_REPEAT) {
			rc = taskfile_error(p, "@allow: more than %d names",
			    TASKDEF_MAX_REPEAT);
			break;
		}
		def->allow = xreallocarray(def->allow, def->nallow + 1,
		    sizeof *def->allow);
		def->allow[def->nallow++] = xstrdup(tok[i].s);
	}
	tokens_free(tok, n);
	return (rc);
}

/* @notify TASK [on=EVENTS]: a notifier of this task. */
static int
parse_notify(struct parse *p, const char *rest)
{
	struct taskdef	*def = p->def;
	char		*task, *cause;
	u_int		 events;

	if (notify_spec_parse(rest, &task, &events, &cause) != 0) {
		taskfile_error(p, "@notify: %s", cause);
		free(cause);
		return (-1);
	}
	if (def->nnotify >= TASKDEF_MAX_REPEAT) {
		free(task);
		return (taskfile_error(p, "@notify: more than %d",
		    TASKDEF_MAX_REPEAT));
	}
	def->notify = xreallocarray(def->notify, def->nnotify + 1,
	    sizeof *def->notify);
	def->notify[def->nnotify].task = task;
	def->notify[def->nnotify++].events = events;
	return (0);
}

/* @expect DURATION: a success at least this often, else it is overdue. */
static int
parse_expect(struct parse *p, const char *rest)
{
	if (duration_arg(p, "expect", rest, &p->def->expect) != 0)
		return (-1);
	if (p->def->expect <= 0)
		return (taskfile_error(p, "@expect: more than 0, such as 26h"));
	return (0);
}

/*
 * @webhook-header NAME...: request headers that reach a webhook run as
 * HTTP_NAME variables (letters, digits and '-', 1 to 64).
 */
static int
parse_webhook_header(struct parse *p, const char *rest)
{
	struct taskdef	*def = p->def;
	struct token	 tok[TOKENS_MAX];
	int		 n, i, rc = 0;
	size_t		 j, len;

	if ((n = tokenize(p, rest, tok, TOKENS_MAX)) == -1)
		return (-1);
	if (n == 0)
		rc = taskfile_error(p, "@webhook-header needs header names");
	for (i = 0; rc == 0 && i < n; i++) {
		len = strlen(tok[i].s);
		for (j = 0; j < len; j++) {
			if (!isascii((u_char)tok[i].s[j]) ||
			    (!isalnum((u_char)tok[i].s[j]) &&
			    tok[i].s[j] != '-'))
				break;
		}
		if (len == 0 || len > 64 || j < len) {
			rc = taskfile_error(p, "@webhook-header: '%s' is not "
			    "a header name", tok[i].s);
			break;
		}
		if (def->nwebhook_headers >= TASKDEF_MAX_REPEAT) {
			rc = taskfile_error(p, "@webhook-header: more than %d",
			    TASKDEF_MAX_REPEAT);
			break;
		}
		def->webhook_headers = xreallocarray(def->webhook_headers,
		    def->nwebhook_headers + 1, sizeof *def->webhook_headers);
		def->webhook_headers[def->nwebhook_headers++] =
		    xstrdup(tok[i].s);
	}
	tokens_free(tok, n);
	return (rc);
}

/* "unknown directive '@shedule'; did you mean '@schedule'?" */
static void
taskfile_unknown_directive(struct parse *p, const char *name)
{
	const char	*names[NDIRECTIVES], *near;
	u_int		 i;

	for (i = 0; i < NDIRECTIVES; i++)
		names[i] = directives[i].name;
	if ((near = suggest(name, names, NDIRECTIVES)) != NULL)
		taskfile_error(p, "unknown directive '@%s'; did you mean "
		    "'@%s'?", name, near);
	else
		taskfile_error(p, "unknown directive '@%s'", name);
}

/* Handle one directive line: text is what follows the '@'. */
void
taskfile_directive(struct parse *p, const char *text)
{
	const struct directive	*d;
	char			 name[32];
	size_t			 len;
	u_int			 i;

	len = strcspn(text, " \t");
	if (len >= sizeof name) {
		taskfile_error(p, "unknown directive '@%.*s'", (int)len, text);
		return;
	}
	memcpy(name, text, len);
	name[len] = '\0';
	for (i = 0; i < NDIRECTIVES; i++) {
		if (strcmp(directives[i].name, name) == 0)
			break;
	}
	if (i == NDIRECTIVES) {
		taskfile_unknown_directive(p, name);
		return;
	}
	d = &directives[i];
	if (~d->flags & D_REPEAT) {
		if (p->seen[i] != 0) {
			taskfile_error(p, "@%s is already given at line %d",
			    name, p->seen[i]);
			return;
		}
		p->seen[i] = p->line;
	}
	d->parse(p, text + len);
}
