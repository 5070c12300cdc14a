/* Run parameters checked against a task's declarations (needs jansson). */

#ifndef PARAMS_H
#define PARAMS_H

#include <jansson.h>

struct taskdef;

json_t	*params_check(const struct taskdef *, json_t *, int, char **);
json_t	*params_problems(const struct taskdef *, json_t *, int);

#endif /* PARAMS_H */
