/*
 * Base64 (RFC 4648) for output chunks on the wire: task output is arbitrary
 * bytes and a JSON string must be valid UTF-8.
 */

#include <stdlib.h>
#include <string.h>

#include "ml.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode len bytes; the result is NUL-terminated and its length stored. */
char *
base64_encode(const void *data, size_t len, size_t *outlen)
{
	const u_char	*in = data;
	char		*out, *p;
	size_t		 i;
	uint32_t	 v;

	out = xmalloc(((len + 2) / 3) * 4 + 1);
	p = out;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*p++ = b64_alphabet[(v >> 18) & 63];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = b64_alphabet[(v >> 6) & 63];
		*p++ = b64_alphabet[v & 63];
	}
	if (i < len) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		*p++ = b64_alphabet[(v >> 18) & 63];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = (i + 1 < len) ? b64_alphabet[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	if (outlen != NULL)
		*outlen = p - out;
	return (out);
}

/* Value of one base64 character, or -1. */
static int
b64_value(u_char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == '/')
		return (63);
	return (-1);
}

/* Decode strict, padded base64; on success *out is allocated (maybe 0 bytes). */
int
base64_decode(const char *s, size_t len, void **out, size_t *outlen)
{
	u_char	*buf, *p;
	size_t	 i;
	int	 a, b, c, d, pad = 0;

	if (len % 4 != 0)
		return (-1);
	buf = xmalloc(len / 4 * 3 + 1);
	p = buf;
	for (i = 0; i < len; i += 4) {
		a = b64_value(s[i]);
		b = b64_value(s[i + 1]);
		if (i + 4 == len && s[i + 2] == '=' && s[i + 3] == '=') {
			c = d = 0;
			pad = 2;
		} else if (i + 4 == len && s[i + 3] == '=') {
			c = b64_value(s[i + 2]);
			d = 0;
			pad = 1;
		} else {
			c = b64_value(s[i + 2]);
			d = b64_value(s[i + 3]);
		}
		if (a < 0 || b < 0 || c < 0 || d < 0) {
			free(buf);
			return (-1);
		}
		*p++ = a << 2 | b >> 4;
		if (pad < 2)
			*p++ = (b & 15) << 4 | c >> 2;
		if (pad < 1)
			*p++ = (c & 3) << 6 | d;
	}
	*out = buf;
	*outlen = p - buf;
	return (0);
}
