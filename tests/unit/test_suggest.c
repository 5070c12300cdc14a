/* Unit tests: "did you mean" (suggest.c). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ml.h"

static const char *const words[] = {
	"schedule", "timeout", "restart-redis", "list", "logs", "runs",
	"status", "rerun", "run", "show", "param",
};
#define NWORDS	(sizeof words / sizeof words[0])

/* word's suggestion is want (NULL: none). */
static void
suggests(const char *word, const char *want)
{
	const char	*got = suggest(word, words, NWORDS);

	if (want == NULL && got != NULL)
		fail_msg("suggest(\"%s\") = \"%s\", want none", word, got);
	if (want != NULL && (got == NULL || strcmp(got, want) != 0))
		fail_msg("suggest(\"%s\") = %s%s%s, want \"%s\"", word,
		    got != NULL ? "\"" : "", got != NULL ? got : "none",
		    got != NULL ? "\"" : "", want);
}

/* A letter missing, extra, wrong; two swapped; up to two in long words. */
static void
test_typos(void **state)
{
	suggests("shedule", "schedule");	/* missing */
	suggests("scheddule", "schedule");	/* extra */
	suggests("timeoit", "timeout");		/* wrong */
	suggests("restrat-redis", "restart-redis");	/* swapped */
	suggests("restrt-rdis", "restart-redis");	/* two */
	suggests("lsit", "list");
	suggests("stauts", "status");
	suggests("paarm", "param");
}

/* Too far, too short to tell, the word itself, empty, too long. */
static void
test_none(void **state)
{
	char	 big[100];

	suggests("frobnicate", NULL);
	suggests("xy", NULL);
	suggests("sched", NULL);		/* three letters short */
	suggests("schedule", NULL);
	suggests("", NULL);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	suggests(big, NULL);
	assert_null(suggest("lsit", NULL, 0));
}

/* Equally near: the first candidate wins. */
static void
test_ties(void **state)
{
	suggests("rnu", "run");
	suggests("rns", "runs");	/* runs comes first */
	suggests("log", "logs");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typos),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_ties),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
