/* Run parameters: a JSON object checked against a task's @param lines. */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ml.h"
#include "params.h"

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
	const struct taskparam	*tp;
	const char		*key;
	json_t			*out, *v;
	char			*value, *norm;
	u_int			 i;

	if (given != NULL && !json_is_object(given)) {
		xasprintf(cause, "parameters must be an object of NAME: VALUE");
		return (NULL);
	}
	if (given != NULL && !ignore_unknown) {
		json_object_foreach(given, key, v) {
			if (taskdef_param(def, key) == NULL) {
				xasprintf(cause, "%s: no such parameter%s",
				    key, def->nparams == 0 ?
				    " (the task takes none)" : "");
				return (NULL);
			}
		}
	}
	out = json_object();
	for (i = 0; i < def->nparams; i++) {
		tp = &def->params[i];
		v = given != NULL ? json_object_get(given, tp->name) : NULL;
		if (v == NULL || json_is_null(v)) {
			if (tp->required) {
				xasprintf(cause, "%s: required parameter is "
				    "missing", tp->name);
				goto fail;
			}
			json_object_set_new(out, tp->name,
			    json_string(tp->def != NULL ? tp->def : ""));
			continue;
		}
		if ((value = params_value(tp->name, v, cause)) == NULL)
			goto fail;
		if (tp->required && *value == '\0') {
			xasprintf(cause, "%s: required parameter is empty",
			    tp->name);
			free(value);
			goto fail;
		}
		if (*value == '\0' && tp->type != PARAM_STRING) {
			/* An empty field of a form: the default applies. */
			free(value);
			json_object_set_new(out, tp->name,
			    json_string(tp->def != NULL ? tp->def : ""));
			continue;
		}
		if (taskparam_normalise(tp, value, &norm, cause) != 0) {
			free(value);
			goto fail;
		}
		free(value);
		json_object_set_new(out, tp->name, json_string(norm));
		free(norm);
	}
	return (out);
fail:
	json_decref(out);
	return (NULL);
}
