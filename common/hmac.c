/* HMAC-SHA256 (RFC 2104) on libmd, constant-time compares, webhook secrets. */

#include <stdlib.h>
#include <string.h>

#include <sha2.h>

#include "ml.h"

#define HMAC_BLOCK_LEN		SHA256_BLOCK_LENGTH
#define HMAC_GITHUB_PREFIX	"sha256="

#if SHA256_DIGEST_LENGTH != HMAC_SHA256_LEN
#error "HMAC_SHA256_LEN does not match libmd's SHA256_DIGEST_LENGTH"
#endif

/* Hash len bytes of data with plain SHA-256 into out. */
void
hmac_digest(const void *data, size_t len, u_char *out)
{
	SHA2_CTX	 ctx;

	SHA256Init(&ctx);
	SHA256Update(&ctx, data, len);
	SHA256Final(out, &ctx);
	explicit_bzero(&ctx, sizeof ctx);
}

/*
 * Compute HMAC-SHA256(key, data) into out: H((K ^ opad) || H((K ^ ipad) ||
 * data)), where a key longer than the 64-byte block is first hashed and a
 * shorter one padded with zeroes.
 */
void
hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    u_char *out)
{
	SHA2_CTX	 ctx;
	u_char		 k[HMAC_BLOCK_LEN], pad[HMAC_BLOCK_LEN];
	u_char		 inner[HMAC_SHA256_LEN];
	size_t		 i;

	memset(k, 0, sizeof k);
	if (keylen > HMAC_BLOCK_LEN)
		hmac_digest(key, keylen, k);
	else if (keylen != 0)
		memcpy(k, key, keylen);

	for (i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x36;
	SHA256Init(&ctx);
	SHA256Update(&ctx, pad, sizeof pad);
	SHA256Update(&ctx, data, len);
	SHA256Final(inner, &ctx);

	for (i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256Init(&ctx);
	SHA256Update(&ctx, pad, sizeof pad);
	SHA256Update(&ctx, inner, sizeof inner);
	SHA256Final(out, &ctx);

	explicit_bzero(k, sizeof k);
	explicit_bzero(pad, sizeof pad);
	explicit_bzero(inner, sizeof inner);
	explicit_bzero(&ctx, sizeof ctx);
}

/*
 * Return 1 if the len bytes at a and b are equal, else 0, in a time that
 * depends on len only: every byte is read and the differences are OR-ed
 * together, with no early exit and no branch on the data.
 */
int
hmac_equal(const void *a, const void *b, size_t len)
{
	const volatile u_char	*pa = a, *pb = b;
	volatile u_char		 diff = 0;
	size_t			 i;

	for (i = 0; i < len; i++)
		diff |= pa[i] ^ pb[i];
	/* 1 when diff is 0, without a branch: (0 - 1) >> 8 has bit 0 set. */
	return ((int)(((u_int)diff - 1) >> 8) & 1);
}

/* Write len bytes as 2 * len lower-case hex digits and a NUL into out. */
void
hmac_hex_encode(const void *data, size_t len, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	const u_char		*p = data;
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Value of one hex digit of either case, or -1. */
static int
hmac_hex_value(u_char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * Decode exactly 2 * outlen hex digits (either case) of s into out; return
 * 0, or -1 if slen is not 2 * outlen or a character is not a hex digit.
 */
int
hmac_hex_decode(const char *s, size_t slen, void *out, size_t outlen)
{
	u_char	*p = out;
	size_t	 i;
	int	 hi, lo;

	if (outlen > SIZE_MAX / 2 || slen != 2 * outlen)
		return (-1);
	for (i = 0; i < outlen; i++) {
		hi = hmac_hex_value(s[2 * i]);
		lo = hmac_hex_value(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return (-1);
		p[i] = hi << 4 | lo;
	}
	return (0);
}

/*
 * Check GitHub's X-Hub-Signature-256 header: return 1 only if header is
 * exactly "sha256=" and 64 hex digits (either case) that equal
 * HMAC-SHA256(secret, body); 0 for anything else, including an empty or
 * NULL secret. The MACs are compared in constant time.
 */
int
hmac_check_github(const char *secret, const void *body, size_t len,
    const char *header)
{
	u_char	 want[HMAC_SHA256_LEN], got[HMAC_SHA256_LEN];
	size_t	 plen = sizeof HMAC_GITHUB_PREFIX - 1;
	int	 ok;

	if (secret == NULL || *secret == '\0' || header == NULL)
		return (0);
	if (strncmp(header, HMAC_GITHUB_PREFIX, plen) != 0)
		return (0);
	header += plen;
	if (hmac_hex_decode(header, strlen(header), got, sizeof got) != 0)
		return (0);
	hmac_sha256(secret, strlen(secret), body, len, want);
	ok = hmac_equal(want, got, sizeof want);
	explicit_bzero(want, sizeof want);
	return (ok);
}

/*
 * Return 1 if the string given equals secret, else 0, comparing their
 * SHA-256 digests in constant time so that neither the contents nor the
 * length of the secret leak (for "Authorization: Bearer S"). An empty or
 * NULL secret matches nothing.
 */
int
hmac_check_secret(const char *secret, const char *given)
{
	u_char	 a[HMAC_SHA256_LEN], b[HMAC_SHA256_LEN];
	int	 ok;

	if (secret == NULL || *secret == '\0' || given == NULL)
		return (0);
	hmac_digest(secret, strlen(secret), a);
	hmac_digest(given, strlen(given), b);
	ok = hmac_equal(a, b, sizeof a);
	explicit_bzero(a, sizeof a);
	return (ok);
}

/*
 * Return a new random secret: 32 bytes from arc4random_buf as 64 lower-case
 * hex digits (HMAC_SECRET_LEN), safe unquoted in a config file, a shell, an
 * HTTP header and GitHub's form. The caller frees it.
 */
char *
hmac_secret(void)
{
	u_char	 raw[HMAC_SECRET_LEN / 2];
	char	*s;

	arc4random_buf(raw, sizeof raw);
	s = xmalloc(HMAC_SECRET_LEN + 1);
	hmac_hex_encode(raw, sizeof raw, s);
	explicit_bzero(raw, sizeof raw);
	return (s);
}
