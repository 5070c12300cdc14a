/* Unit tests: SHA-256, HMAC-SHA256 (RFC 4231), webhook signatures (hmac.c). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ml.h"

/* GitHub's documented example: this secret and body give this signature. */
#define GH_SECRET	"It's a Secret to Everybody"
#define GH_BODY		"Hello, World!"
#define GH_HEX		\
    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

/* Check that the first n bytes of a digest are the hex string want. */
static void
check_hex(const u_char *digest, size_t n, const char *want)
{
	char	 hex[2 * HMAC_SHA256_LEN + 1];

	assert_true(n <= HMAC_SHA256_LEN);
	assert_int_equal(strlen(want), 2 * n);
	hmac_hex_encode(digest, n, hex);
	assert_string_equal(hex, want);
}

/* Check HMAC-SHA256(key, data), truncated to the length of want. */
static void
check_hmac(const void *key, size_t keylen, const void *data, size_t len,
    const char *want)
{
	u_char	 mac[HMAC_SHA256_LEN];

	memset(mac, 0xee, sizeof mac);
	hmac_sha256(key, keylen, data, len, mac);
	check_hex(mac, strlen(want) / 2, want);
}

/* Plain SHA-256 of "abc" and of nothing (FIPS 180-2 examples). */
static void
test_sha256(void **state)
{
	u_char	 d[HMAC_SHA256_LEN];

	hmac_digest("abc", 3, d);
	check_hex(d, sizeof d, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	hmac_digest("", 0, d);
	check_hex(d, sizeof d, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	/* Two blocks: the 448-bit message of FIPS 180-2. */
	hmac_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    56, d);
	check_hex(d, sizeof d, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
}

/* RFC 4231 test case 1: a 20-byte key. */
static void
test_rfc4231_1(void **state)
{
	u_char	 key[20];

	memset(key, 0x0b, sizeof key);
	check_hmac(key, sizeof key, "Hi There", 8,
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

/* RFC 4231 test case 2: a key shorter than the output. */
static void
test_rfc4231_2(void **state)
{
	check_hmac("Jefe", 4, "what do ya want for nothing?", 28,
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* RFC 4231 test case 3: 50 bytes of 0xdd, a 20-byte key of 0xaa. */
static void
test_rfc4231_3(void **state)
{
	u_char	 key[20], data[50];

	memset(key, 0xaa, sizeof key);
	memset(data, 0xdd, sizeof data);
	check_hmac(key, sizeof key, data, sizeof data,
	    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

/* RFC 4231 test case 4: the 25-byte key 0x01..0x19, 50 bytes of 0xcd. */
static void
test_rfc4231_4(void **state)
{
	u_char	 key[25], data[50];
	size_t	 i;

	for (i = 0; i < sizeof key; i++)
		key[i] = i + 1;
	memset(data, 0xcd, sizeof data);
	check_hmac(key, sizeof key, data, sizeof data,
	    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

/* RFC 4231 test case 5: output truncated to 128 bits. */
static void
test_rfc4231_5(void **state)
{
	u_char	 key[20], mac[HMAC_SHA256_LEN];
	u_char	 want[16];

	memset(key, 0x0c, sizeof key);
	check_hmac(key, sizeof key, "Test With Truncation", 20,
	    "a3b6167473100ee06e0c796c2955552b");

	/* The truncated MAC is checked by comparing 16 bytes only. */
	hmac_sha256(key, sizeof key, "Test With Truncation", 20, mac);
	assert_int_equal(hmac_hex_decode("a3b6167473100ee06e0c796c2955552b",
	    32, want, sizeof want), 0);
	assert_int_equal(hmac_equal(mac, want, sizeof want), 1);
}

/* RFC 4231 test case 6: a 131-byte key, longer than a block. */
static void
test_rfc4231_6(void **state)
{
	u_char		 key[131];
	const char	*data =
	    "Test Using Larger Than Block-Size Key - Hash Key First";

	memset(key, 0xaa, sizeof key);
	check_hmac(key, sizeof key, data, strlen(data),
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* RFC 4231 test case 7: a 131-byte key and data longer than a block. */
static void
test_rfc4231_7(void **state)
{
	u_char		 key[131];
	const char	*data = "This is a test using a larger than block-size "
	    "key and a larger than block-size data. The key needs to be "
	    "hashed before being used by the HMAC algorithm.";

	memset(key, 0xaa, sizeof key);
	assert_int_equal(strlen(data), 152);
	check_hmac(key, sizeof key, data, strlen(data),
	    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* A 64-byte key is used as is, a 65-byte key is hashed: they differ. */
static void
test_hmac_block_key(void **state)
{
	u_char	 key[65], a[HMAC_SHA256_LEN], b[HMAC_SHA256_LEN];
	u_char	 c[HMAC_SHA256_LEN], hashed[HMAC_SHA256_LEN];

	memset(key, 'k', sizeof key);
	hmac_sha256(key, 64, "x", 1, a);
	hmac_sha256(key, 65, "x", 1, b);
	assert_memory_not_equal(a, b, sizeof a);
	/* A long key is equivalent to its digest. */
	hmac_digest(key, 65, hashed);
	hmac_sha256(hashed, sizeof hashed, "x", 1, c);
	assert_memory_equal(b, c, sizeof b);
}

/* hmac_equal: equal, unequal, differing only in the first or last byte. */
static void
test_equal(void **state)
{
	u_char	 a[HMAC_SHA256_LEN], b[HMAC_SHA256_LEN];
	size_t	 i;

	for (i = 0; i < sizeof a; i++)
		a[i] = b[i] = i * 7;
	assert_int_equal(hmac_equal(a, b, sizeof a), 1);
	assert_int_equal(hmac_equal(a, a, sizeof a), 1);
	assert_int_equal(hmac_equal(a, b, 0), 1);

	b[sizeof b - 1] ^= 0x01;
	assert_int_equal(hmac_equal(a, b, sizeof a), 0);
	assert_int_equal(hmac_equal(a, b, sizeof a - 1), 1);
	b[sizeof b - 1] ^= 0x01;

	b[0] ^= 0x80;
	assert_int_equal(hmac_equal(a, b, sizeof a), 0);
	b[0] ^= 0x80;

	/* Every single-bit difference at every position is seen. */
	for (i = 0; i < 8 * sizeof a; i++) {
		b[i / 8] ^= 1 << (i % 8);
		assert_int_equal(hmac_equal(a, b, sizeof a), 0);
		b[i / 8] ^= 1 << (i % 8);
	}
	memset(b, 0xff, sizeof b);
	assert_int_equal(hmac_equal(a, b, sizeof a), 0);
}

/* Hex: encode lower case, decode either case, refuse bad input. */
static void
test_hex(void **state)
{
	u_char	 in[4] = { 0x00, 0x9f, 0xab, 0xff }, out[4];
	char	 hex[9];

	hmac_hex_encode(in, sizeof in, hex);
	assert_string_equal(hex, "009fabff");
	hmac_hex_encode(in, 0, hex);
	assert_string_equal(hex, "");

	memset(out, 0, sizeof out);
	assert_int_equal(hmac_hex_decode("009FaBfF", 8, out, sizeof out), 0);
	assert_memory_equal(in, out, sizeof in);

	assert_int_equal(hmac_hex_decode("009fabf", 7, out, sizeof out), -1);
	assert_int_equal(hmac_hex_decode("009fabff0", 9, out, sizeof out), -1);
	assert_int_equal(hmac_hex_decode("009fabfg", 8, out, sizeof out), -1);
	assert_int_equal(hmac_hex_decode("009f ab ", 8, out, sizeof out), -1);
	assert_int_equal(hmac_hex_decode("0x9fabff", 8, out, sizeof out), -1);
	assert_int_equal(hmac_hex_decode("", 0, out, 0), 0);
}

/* Check hmac_check_github(secret, GH_BODY, header) against want. */
static void
github(const char *secret, const char *header, int want)
{
	int	 got;

	got = hmac_check_github(secret, GH_BODY, strlen(GH_BODY), header);
	if (got != want)
		fail_msg("hmac_check_github(\"%s\", \"%s\") = %d, want %d",
		    secret != NULL ? secret : "(null)",
		    header != NULL ? header : "(null)", got, want);
}

/* The documented GitHub example is accepted, in either case of hex. */
static void
test_github_ok(void **state)
{
	char	 upper[80];
	size_t	 i;

	github(GH_SECRET, "sha256=" GH_HEX, 1);

	strlcpy(upper, "sha256=" GH_HEX, sizeof upper);
	for (i = 7; upper[i] != '\0'; i++) {
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] -= 'a' - 'A';
	}
	assert_string_not_equal(upper, "sha256=" GH_HEX);
	github(GH_SECRET, upper, 1);

	/* A body of bytes, NUL included, is signed byte for byte. */
	{
		u_char	 body[3] = { 'a', 0, 'b' }, mac[HMAC_SHA256_LEN];
		char	 h[7 + 2 * HMAC_SHA256_LEN + 1];

		hmac_sha256("s", 1, body, sizeof body, mac);
		memcpy(h, "sha256=", 7);
		hmac_hex_encode(mac, sizeof mac, h + 7);
		assert_int_equal(hmac_check_github("s", body, sizeof body, h),
		    1);
		assert_int_equal(hmac_check_github("s", body, 1, h), 0);
	}
}

/* Wrong secret, wrong body, wrong prefix and malformed headers fail. */
static void
test_github_bad(void **state)
{
	char	 h[128];

	github("It's a secret to everybody", "sha256=" GH_HEX, 0);
	github("", "sha256=" GH_HEX, 0);
	github(NULL, "sha256=" GH_HEX, 0);
	assert_int_equal(hmac_check_github(GH_SECRET, "Hello, World?", 13,
	    "sha256=" GH_HEX), 0);

	/* Prefix: sha1=, none, upper case, spaces. */
	github(GH_SECRET, "sha1=" GH_HEX, 0);
	github(GH_SECRET, "sha1=01ad5bbb8e7a8ec8ea1b4ac5bdc4d3ca3a5b6a8c", 0);
	github(GH_SECRET, GH_HEX, 0);
	github(GH_SECRET, "SHA256=" GH_HEX, 0);
	github(GH_SECRET, "sha256 =" GH_HEX, 0);
	github(GH_SECRET, "sha256= " GH_HEX, 0);
	github(GH_SECRET, " sha256=" GH_HEX, 0);

	/* Length: one digit short, one extra, 63 plus garbage, empty. */
	snprintf(h, sizeof h, "sha256=%.63s", GH_HEX);
	github(GH_SECRET, h, 0);
	github(GH_SECRET, "sha256=" GH_HEX "7", 0);
	github(GH_SECRET, "sha256=" GH_HEX "00", 0);
	github(GH_SECRET, "sha256=", 0);
	github(GH_SECRET, "", 0);
	github(GH_SECRET, NULL, 0);

	/* Non-hex digits in place of the right ones. */
	snprintf(h, sizeof h, "sha256=%.62sg7", GH_HEX);
	github(GH_SECRET, h, 0);
	snprintf(h, sizeof h, "sha256=%.62s 7", GH_HEX);
	github(GH_SECRET, h, 0);
	snprintf(h, sizeof h, "sha256=0x%.62s", GH_HEX);
	github(GH_SECRET, h, 0);

	/* Trailing garbage, whitespace or a second signature. */
	github(GH_SECRET, "sha256=" GH_HEX " ", 0);
	github(GH_SECRET, "sha256=" GH_HEX "\r\n", 0);
	github(GH_SECRET, "sha256=" GH_HEX ",sha256=" GH_HEX, 0);
	github(GH_SECRET, "sha256=" GH_HEX "<script>", 0);

	/* Well formed but one bit off in the last digit. */
	snprintf(h, sizeof h, "sha256=%.63s6", GH_HEX);
	github(GH_SECRET, h, 0);
}

/* A bearer secret matches itself only. */
static void
test_check_secret(void **state)
{
	assert_int_equal(hmac_check_secret("s3cret", "s3cret"), 1);
	assert_int_equal(hmac_check_secret("s3cret", "s3creT"), 0);
	assert_int_equal(hmac_check_secret("s3cret", "s3cre"), 0);
	assert_int_equal(hmac_check_secret("s3cret", "s3cret "), 0);
	assert_int_equal(hmac_check_secret("s3cret", ""), 0);
	assert_int_equal(hmac_check_secret("s3cret", NULL), 0);
	assert_int_equal(hmac_check_secret("", ""), 0);
	assert_int_equal(hmac_check_secret(NULL, "x"), 0);
}

/* Generated secrets are 64 lower-case hex digits and differ. */
static void
test_secret(void **state)
{
	char	*a, *b;
	u_char	 raw[HMAC_SECRET_LEN / 2];
	size_t	 i;

	a = hmac_secret();
	b = hmac_secret();
	assert_int_equal(strlen(a), HMAC_SECRET_LEN);
	assert_int_equal(strlen(b), HMAC_SECRET_LEN);
	for (i = 0; i < HMAC_SECRET_LEN; i++) {
		if (strchr("0123456789abcdef", a[i]) == NULL)
			fail_msg("secret \"%s\" has a non-hex digit", a);
	}
	assert_int_equal(hmac_hex_decode(a, strlen(a), raw, sizeof raw), 0);
	assert_string_not_equal(a, b);

	/* A generated secret works as a webhook secret. */
	{
		u_char	 mac[HMAC_SHA256_LEN];
		char	 h[7 + 2 * HMAC_SHA256_LEN + 1];

		hmac_sha256(a, strlen(a), "{}", 2, mac);
		memcpy(h, "sha256=", 7);
		hmac_hex_encode(mac, sizeof mac, h + 7);
		assert_int_equal(hmac_check_github(a, "{}", 2, h), 1);
		assert_int_equal(hmac_check_github(b, "{}", 2, h), 0);
	}
	free(a);
	free(b);
}

/* Run every test; CMOCKA_MESSAGE_OUTPUT=TAP makes the output TAP. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_rfc4231_1),
		cmocka_unit_test(test_rfc4231_2),
		cmocka_unit_test(test_rfc4231_3),
		cmocka_unit_test(test_rfc4231_4),
		cmocka_unit_test(test_rfc4231_5),
		cmocka_unit_test(test_rfc4231_6),
		cmocka_unit_test(test_rfc4231_7),
		cmocka_unit_test(test_hmac_block_key),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_github_ok),
		cmocka_unit_test(test_github_bad),
		cmocka_unit_test(test_check_secret),
		cmocka_unit_test(test_secret),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
