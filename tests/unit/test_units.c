/* Unit tests: durations, sizes and time formatting (common/units.c, timefmt.c). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ml.h"

/* Durations as SPEC section 1 writes them. */
static void
test_duration_parse(void **state)
{
	int64_t		 v;
	const char	*errstr;

	assert_int_equal(duration_parse("90s", &v, &errstr), 0);
	assert_int_equal(v, 90);
	assert_int_equal(duration_parse("5m", &v, &errstr), 0);
	assert_int_equal(v, 300);
	assert_int_equal(duration_parse("2h", &v, &errstr), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(duration_parse("1d", &v, &errstr), 0);
	assert_int_equal(v, 86400);
	assert_int_equal(duration_parse("0", &v, &errstr), 0);
	assert_int_equal(v, 0);
	assert_int_equal(duration_parse("1h30m", &v, &errstr), 0);
	assert_int_equal(v, 5400);
	assert_int_equal(duration_parse("", &v, &errstr), -1);
	assert_int_equal(duration_parse("5x", &v, &errstr), -1);
	assert_int_equal(duration_parse("m", &v, &errstr), -1);
	assert_int_equal(duration_parse("-5s", &v, &errstr), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
