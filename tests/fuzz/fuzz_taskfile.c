/* Fuzz target: the task-file header parser, on any bytes. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ml.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Parse, check what a caller relies on, free. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct taskdef	*def;
	u_int		 i;

	def = taskfile_parse((const char *)data, size);
	for (i = 0; i < def->nerrors; i++) {
		if (def->errors[i].msg == NULL || def->errors[i].line < 0)
			__builtin_trap();
	}
	if (def->description != NULL &&
	    !utf8_valid(def->description, strlen(def->description)))
		__builtin_trap();
	taskdef_free(def);
	return (0);
}
