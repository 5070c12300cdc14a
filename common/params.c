/* Run parameters: a JSON object checked against a task's @param lines. */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ml.h"
#include "params.h"
#include "proto.h"

/* The text of one given value: strings as they are, integers and booleans spelt out. */
static char *
params_value(const char *name, json_t *v, char **cause)
{
	char	*s;

	switch (json_typeof(v)) {
	case JSON_STRING:
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			xasprintf(cause, "%s: the value contains a NUL byte",
			    name);
			return (NULL);
		}
		return (xstrdup(json_string_value(v)));
	case JSON_INTEGER:
		xasprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return (s);
	case JSON_TRUE:
		return (xstrdup("true"));
	case JSON_FALSE:
		return (xstrdup("false"));
	default:
		xasprintf(cause, "%s: the value must be a string", name);
		return (NULL);
	}
}

/*
 * Check one declared parameter's given value (NULL: not given) and set
 * its value for the run in out: the normalised value, its default, or ""
 * when it has neither. Returns 0, or -1 with a message in *cause that
 * starts with the parameter's name.
 */
static int
params_check_one(const struct taskparam *tp, json_t *v, json_t *out,
    char **cause)
{
	char	*value, *norm;

	if (v == NULL || json_is_null(v)) {
		if (tp->required) {
			xasprintf(cause, "%s: required parameter is missing",
			    tp->name);
			return (-1);
		}
		json_object_set_new(out, tp->name,
		    json_string(tp->def != NULL ? tp->def : ""));
		return (0);
	}
	if ((value = params_value(tp->name, v, cause)) == NULL)
		return (-1);
	if (tp->required && *value == '\0') {
		xasprintf(cause, "%s: required parameter is empty", tp->name);
		free(value);
		return (-1);
	}
	if (*value == '\0' && tp->type != PARAM_STRING) {
		/* An empty field of a form: the default applies. */
		free(value);
		json_object_set_new(out, tp->name,
		    json_string(tp->def != NULL ? tp->def : ""));
		return (0);
	}
	if (taskparam_normalise(tp, value, &norm, cause) != 0) {
		free(value);
		return (-1);
	}
	free(value);
	json_object_set_new(out, tp->name, json_string(norm));
	free(norm);
	return (0);
}

/*
 * Note a problem (its message why, taken) of parameter name: kept in
 * *cause if it is the first, appended to problems if there is a list.
 * Returns -1 if the check is to stop (no list), else 0.
 */
static int
params_problem(json_t *problems, const char *name, char *why, char **cause)
{
	if (problems != NULL)
		json_array_append_new(problems, json_pack("{s:s,s:s}",
		    K_PARAM, name, K_MESSAGE, why));
	if (*cause == NULL)
		*cause = why;
	else
		free(why);
	return (problems == NULL ? -1 : 0);
}

/*
 * Check the given parameters (a JSON object, or NULL for none) against the
 * task's declarations, and say what is wrong: each problem is appended to
 * problems (if not NULL) as {K_PARAM: NAME, K_MESSAGE: TEXT}, undeclared
 * names first, then the declared parameters in their order; with
 * problems NULL the check stops at the first. Returns the parameters of
 * the run (see params_check_one), or NULL with the first problem's
 * message in *cause.
 */
static json_t *
params_check_all(const struct taskdef *def, json_t *given,
    int ignore_unknown, json_t *problems, char **cause)
{
	const struct taskparam	*tp;
	const char		*key;
	json_t			*out, *v;
	char			*why;
	u_int			 i;

	*cause = NULL;
	if (given != NULL && !json_is_object(given)) {
		xasprintf(cause, "parameters must be an object of NAME: VALUE");
		return (NULL);
	}
	out = json_object();
	if (given != NULL && !ignore_unknown) {
		json_object_foreach(given, key, v) {
			if (taskdef_param(def, key) != NULL)
				continue;
			xasprintf(&why, "%s: no such parameter%s", key,
			    def->nparams == 0 ? " (the task takes none)" : "");
			if (params_problem(problems, key, why, cause) != 0)
				goto fail;
		}
	}
	for (i = 0; i < def->nparams; i++) {
		tp = &def->params[i];
		v = given != NULL ? json_object_get(given, tp->name) : NULL;
		if (params_check_one(tp, v, out, &why) != 0 &&
		    params_problem(problems, tp->name, why, cause) != 0)
			goto fail;
	}
	if (*cause == NULL)
		return (out);
fail:
	json_decref(out);
	return (NULL);
}

/*
 * Check the given parameters (a JSON object, or NULL for none) against the
 * task's declarations and return the parameters of the run: every declared
 * parameter with its normalised value, its default, or "" when it has
 * neither. Undeclared names are an error unless ignore_unknown (webhook
 * payloads carry many). On error returns NULL with a message in *cause.
 */
json_t *
params_check(const struct taskdef *def, json_t *given, int ignore_unknown,
    char **cause)
{
	return (params_check_all(def, given, ignore_unknown, NULL, cause));
}

/*
 * Every problem of the given parameters at once (for a form that shows
 * each next to its field): an array of {K_PARAM: NAME, K_MESSAGE: TEXT},
 * the messages params_check gives, empty if there is none. The first is
 * the one params_check reports.
 */
json_t *
params_problems(const struct taskdef *def, json_t *given,
    int ignore_unknown)
{
	json_t	*problems = json_array(), *out;
	char	*cause;

	out = params_check_all(def, given, ignore_unknown, problems, &cause);
	if (out == NULL && json_array_size(problems) == 0)
		json_array_append_new(problems, json_pack("{s:n,s:s}", K_PARAM,
		    K_MESSAGE, cause));
	json_decref(out);
	free(cause);
	return (problems);
}
