/*
 * Fuzz target: the protocol's frame reader and decoder, on any bytes, fed
 * in pieces of varying size, with the base64 decoder on every string.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ml.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Feed data in pieces whose sizes come from the data itself. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader	 fr;
	json_t			*msg, *v;
	const char		*key;
	char			*cause, *line;
	void			*out;
	size_t			 off = 0, n, len, outlen;

	frame_reader_init(&fr, 4096);
	while (off < size) {
		n = 1 + data[off] % 64;
		if (n > size - off)
			n = size - off;
		frame_reader_feed(&fr, data + off, n);
		off += n;
		for (;;) {
			int rc = frame_reader_next(&fr, &msg, &cause);

			if (rc == 0)
				break;
			if (rc == -1) {
				free(cause);
				continue;
			}
			json_object_foreach(msg, key, v) {
				if (!json_is_string(v))
					continue;
				if (base64_decode(json_string_value(v),
				    json_string_length(v), &out, &outlen) == 0)
					free(out);
			}
			line = proto_encode(msg, &len);
			if (len == 0 || line[len - 1] != '\n' ||
			    memchr(line, '\n', len - 1) != NULL)
				__builtin_trap();
			free(line);
			json_decref(msg);
		}
	}
	frame_reader_free(&fr);
	return (0);
}
