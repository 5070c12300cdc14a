/* Unit tests: task-file headers, names, run parameters (taskfile, params). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ml.h"
#include "params.h"
#include "proto.h"

#define ONE_LINE	4	/* line of the directive in one_file() */

/* Parse a NUL-terminated task file. */
static struct taskdef *
parse(const char *text)
{
	struct taskdef	*def;

	def = taskfile_parse(text, strlen(text));
	assert_non_null(def);
	return (def);
}

/* Parse a task file that must have no errors. */
static struct taskdef *
parse_ok(const char *text)
{
	struct taskdef	*def;

	def = parse(text);
	if (def->nerrors != 0)
		fail_msg("unexpected error at line %d: %s\n--- in:\n%s",
		    def->errors[0].line, def->errors[0].msg, text);
	return (def);
}

/* Check error i of def: its line, and that it mentions n1 and n2. */
static void
check_error(const struct taskdef *def, u_int i, int line, const char *n1,
    const char *n2)
{
	const char	*msg;

	if (i >= def->nerrors)
		fail_msg("want an error #%u at line %d (%s), have %u errors",
		    i, line, n1 != NULL ? n1 : "", def->nerrors);
	msg = def->errors[i].msg;
	assert_non_null(msg);
	if (def->errors[i].line != line)
		fail_msg("error \"%s\" is at line %d, want %d", msg,
		    def->errors[i].line, line);
	if (n1 != NULL && strstr(msg, n1) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", msg, n1);
	if (n2 != NULL && strstr(msg, n2) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", msg, n2);
}

/* Parse text that must give exactly one error, at line, naming n1 and n2. */
static void
expect_error(const char *text, int line, const char *n1, const char *n2)
{
	struct taskdef	*def;

	def = parse(text);
	if (def->nerrors != 1)
		fail_msg("want 1 error (%s), have %u in:\n%s",
		    n1 != NULL ? n1 : "", def->nerrors, text);
	check_error(def, 0, line, n1, n2);
	taskdef_free(def);
}

/* A small task file with one directive line at line ONE_LINE. */
static char *
one_file(const char *directive)
{
	char	*text;

	xasprintf(&text, "#!/bin/sh\n# A task.\n#\n# %s\nexit 0\n",
	    directive);
	return (text);
}

/* Parse a file with one directive that must be accepted. */
static struct taskdef *
one_ok(const char *directive)
{
	struct taskdef	*def;
	char		*text;

	text = one_file(directive);
	def = parse_ok(text);
	free(text);
	return (def);
}

/* Parse a file with one directive that must be refused, naming n1 and n2. */
static void
one_bad(const char *directive, const char *n1, const char *n2)
{
	char	*text;

	text = one_file(directive);
	expect_error(text, ONE_LINE, n1, n2);
	free(text);
}

/* A string of n copies of c, allocated. */
static char *
repeat(char c, size_t n)
{
	char	*s;

	s = xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return (s);
}

/* Check that def holds the defaults of an empty header. */
static void
check_defaults(const struct taskdef *def)
{
	assert_int_equal(def->nerrors, 0);
	assert_null(def->description);
	assert_int_equal(def->nschedules, 0);
	assert_null(def->timezone);
	assert_int_equal(def->timeout, -1);
	assert_int_equal(def->nparams, 0);
	assert_int_equal(def->concurrency, 1);
	assert_int_equal(def->overlap, OVERLAP_QUEUE);
	assert_int_equal(def->retries, 0);
	assert_int_equal(def->retry_delay, 30);
	assert_false(def->webhook);
	assert_null(def->on_failure);
	assert_null(def->on_success);
	assert_null(def->user);
	assert_null(def->workdir);
	assert_int_equal(def->nenv, 0);
	assert_int_equal(def->priority, 0);
	assert_false(def->catchup);
	assert_false(def->confirm);
	assert_null(def->group);
}

/* No header at all gives the defaults of SPEC section 2. */
static void
test_empty_defaults(void **state)
{
	static const char	*texts[] = { "", "\n", "#!/bin/sh\n",
	    "#!/bin/sh\nexit 0\n# @timeout 5m\n", "echo hello\n",
	    "#!/bin/sh\n\n\n" };
	struct taskdef		*def;
	u_int			 i;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		def = parse(texts[i]);
		check_defaults(def);
		taskdef_free(def);
	}
}

/* The example of SPEC section 2 parses as it reads. */
static void
test_spec_example(void **state)
{
	const char		*text = "#!/bin/sh\n"
	    "# Restart the Redis server when it is overloaded.\n"
	    "# Safe to run at any time; takes about ten seconds.\n"
	    "#\n"
	    "# @schedule  */30 * * * *\n"
	    "# @timeout   2m\n"
	    "# @param     host  \"Redis host\"  default=localhost\n"
	    "# @param     mode  choice(soft,hard)  default=soft\n"
	    "# @webhook\n"
	    "set -eu\n"
	    "redis-cli -h \"$host\" ...\n";
	struct taskdef		*def;
	const struct taskparam	*tp;

	def = parse_ok(text);
	assert_string_equal(def->description,
	    "Restart the Redis server when it is overloaded. "
	    "Safe to run at any time; takes about ten seconds.");
	assert_int_equal(def->nschedules, 1);
	assert_string_equal(def->schedules[0].expr, "*/30 * * * *");
	assert_int_equal(def->schedules[0].line, 5);
	assert_int_equal(def->timeout, 120);
	assert_int_equal(def->nparams, 2);
	tp = taskdef_param(def, "host");
	assert_non_null(tp);
	assert_int_equal(tp->type, PARAM_STRING);
	assert_string_equal(tp->label, "Redis host");
	assert_string_equal(tp->def, "localhost");
	assert_false(tp->required);
	assert_int_equal(tp->line, 7);
	tp = taskdef_param(def, "mode");
	assert_non_null(tp);
	assert_int_equal(tp->type, PARAM_CHOICE);
	assert_int_equal(tp->nchoices, 2);
	assert_string_equal(tp->choices[0], "soft");
	assert_string_equal(tp->choices[1], "hard");
	assert_string_equal(tp->def, "soft");
	assert_null(taskdef_param(def, "Host"));
	assert_null(taskdef_param(def, "redis"));
	assert_true(def->webhook);
	assert_int_equal(def->concurrency, 1);
	taskdef_free(def);
}

/* The #! line is skipped but counted; the header may follow it. */
static void
test_shebang(void **state)
{
	struct taskdef	*def;

	def = parse_ok("#!/bin/sh\n# Say hello.\n");
	assert_string_equal(def->description, "Say hello.");
	taskdef_free(def);

	def = parse_ok("#!/usr/bin/env python3\n# @timeout 5m\n");
	assert_int_equal(def->timeout, 300);
	assert_null(def->description);
	taskdef_free(def);

	def = parse_ok("#!/bin/sh @bogus\n# Hi.\n");
	assert_string_equal(def->description, "Hi.");
	taskdef_free(def);

	def = parse_ok("# No interpreter line.\n# @retries 2\n");
	assert_string_equal(def->description, "No interpreter line.");
	assert_int_equal(def->retries, 2);
	taskdef_free(def);

	expect_error("#!/bin/sh\n# @bogus\n", 2, "@bogus", NULL);
}

/* The description is the first paragraph, its lines joined with one space. */
static void
test_description(void **state)
{
	struct taskdef	*def;

	def = parse_ok("#!/bin/sh\n# First line of text.\n"
	    "#   Second line.   \n#\n# Second paragraph.\n");
	assert_string_equal(def->description,
	    "First line of text. Second line.");
	taskdef_free(def);

	def = parse_ok("#\tTabbed\t\n#\tline.\n");
	assert_string_equal(def->description, "Tabbed line.");
	taskdef_free(def);

	def = parse_ok("#\n#\n# After empty comment lines.\n#\n# Not this.\n");
	assert_string_equal(def->description, "After empty comment lines.");
	taskdef_free(def);

	/* A directive ends the paragraph too. */
	def = parse_ok("# Text.\n# @timeout 1m\n# More text.\n");
	assert_string_equal(def->description, "Text.");
	assert_int_equal(def->timeout, 60);
	taskdef_free(def);

	def = parse_ok("# @timeout 1m\n# @retries 1\n");
	assert_null(def->description);
	taskdef_free(def);

	def = parse_ok("# caf\xc3\xa9 \xe2\x82\xac 5.\n");
	assert_string_equal(def->description, "caf\xc3\xa9 \xe2\x82\xac 5.");
	taskdef_free(def);
}

/* #, //, -- and ; all start comments, indented or not. */
static void
test_comment_markers(void **state)
{
	static const char	*markers[] = { "#", "//", "--", ";" };
	struct taskdef		*def;
	char			*text;
	u_int			 i;

	for (i = 0; i < sizeof markers / sizeof markers[0]; i++) {
		xasprintf(&text, "%s Describe me,\n%s please.\n%s\n"
		    "%s @timeout 5m\n  %s @concurrency 2\n%s@retries 3\n"
		    "\t%s @bogus\ncode\n%s @priority 9\n", markers[i],
		    markers[i], markers[i], markers[i], markers[i], markers[i],
		    markers[i], markers[i]);
		def = parse(text);
		assert_string_equal(def->description, "Describe me, please.");
		assert_int_equal(def->timeout, 300);
		assert_int_equal(def->concurrency, 2);
		assert_int_equal(def->retries, 3);
		assert_int_equal(def->priority, 0);
		assert_int_equal(def->nerrors, 1);
		check_error(def, 0, 7, "@bogus", NULL);
		taskdef_free(def);
		free(text);
	}
}

/* The header ends at the first line that is not a comment. */
static void
test_block_end(void **state)
{
	struct taskdef	*def;

	def = parse_ok("#!/bin/sh\n# Desc.\n# @timeout 1m\nset -eu\n"
	    "# @timeout 2m\n# @bogus\n# @retries 5\n");
	assert_string_equal(def->description, "Desc.");
	assert_int_equal(def->timeout, 60);
	assert_int_equal(def->retries, 0);
	taskdef_free(def);

	/* A blank line is not a comment. */
	def = parse_ok("# Desc.\n\n# @bogus\n# More.\n# @retries 5\n");
	assert_string_equal(def->description, "Desc.");
	assert_int_equal(def->retries, 0);
	taskdef_free(def);

	def = parse_ok("# @timeout 1m\necho hi # @retries 3\n# @retries 4\n");
	assert_int_equal(def->retries, 0);
	taskdef_free(def);

	/* A # that is not the line's first character is not a comment. */
	def = parse_ok("x=1 # Not a description.\n# @bogus\n");
	check_defaults(def);
	taskdef_free(def);
}

/* Blank lines before the first comment are skipped but counted. */
static void
test_blank_lines_first(void **state)
{
	struct taskdef	*def;

	def = parse("#!/bin/sh\n\n\n# Desc.\n# @bogus\n");
	assert_string_equal(def->description, "Desc.");
	assert_int_equal(def->nerrors, 1);
	check_error(def, 0, 5, "@bogus", NULL);
	taskdef_free(def);

	def = parse_ok("\n \t\n# @timeout 1m\n");
	assert_int_equal(def->timeout, 60);
	taskdef_free(def);
}

/* @schedule: 5 and 6 fields, names, lists, macros; may repeat. */
static void
test_schedule(void **state)
{
	static const char	*macros[] = { "@yearly", "@annually",
	    "@monthly", "@weekly", "@daily", "@midnight", "@hourly",
	    "@reboot" };
	struct taskdef		*def;
	char			*line;
	u_int			 i;

	def = one_ok("@schedule */30 * * * *");
	assert_int_equal(def->nschedules, 1);
	assert_string_equal(def->schedules[0].expr, "*/30 * * * *");
	assert_int_equal(def->schedules[0].line, ONE_LINE);
	taskdef_free(def);

	def = one_ok("@schedule */10 * * * * *");
	assert_string_equal(def->schedules[0].expr, "*/10 * * * * *");
	taskdef_free(def);

	def = one_ok("@schedule \t 0   3  * *\t1-5  ");
	assert_string_equal(def->schedules[0].expr, "0 3 * * 1-5");
	taskdef_free(def);

	def = one_ok("@schedule 0 9 1,15 jan-jun MON-FRI");
	assert_string_equal(def->schedules[0].expr, "0 9 1,15 jan-jun MON-FRI");
	taskdef_free(def);

	for (i = 0; i < sizeof macros / sizeof macros[0]; i++) {
		xasprintf(&line, "@schedule %s", macros[i]);
		def = one_ok(line);
		assert_int_equal(def->nschedules, 1);
		assert_string_equal(def->schedules[0].expr, macros[i]);
		taskdef_free(def);
		free(line);
	}

	def = parse_ok("#!/bin/sh\n# @schedule 0 3 * * *\n# @schedule @reboot\n"
	    "# @schedule 30 0 12 * * sun\n");
	assert_int_equal(def->nschedules, 3);
	assert_string_equal(def->schedules[0].expr, "0 3 * * *");
	assert_int_equal(def->schedules[0].line, 2);
	assert_string_equal(def->schedules[1].expr, "@reboot");
	assert_int_equal(def->schedules[1].line, 3);
	assert_string_equal(def->schedules[2].expr, "30 0 12 * * sun");
	assert_int_equal(def->schedules[2].line, 4);
	taskdef_free(def);
}

/* @schedule: missing, wrong field count, bad characters, unknown macros. */
static void
test_schedule_bad(void **state)
{
	struct taskdef	*def;

	one_bad("@schedule", "@schedule", NULL);
	one_bad("@schedule   ", "@schedule", NULL);
	one_bad("@schedule * * * *", "@schedule", "4 fields");
	one_bad("@schedule 0 0 * * * * *", "@schedule", "7 fields");
	one_bad("@schedule 0", "@schedule", "1 fields");
	one_bad("@schedule * * * * ?", "@schedule", "'?'");
	one_bad("@schedule 0 3 * * 1;reboot", "day-of-week", "'1;reboot'");
	one_bad("@schedule 61 * * * *", "minute", "61");
	one_bad("@schedule 0 0 30 2 *", "@schedule", "never");
	expect_error("# @schedule 0 3 * * *\n# @schedule 0  3 * * *\n", 2,
	    "@schedule", "line 1");

	/* A scheduled run that would lack a required parameter. */
	expect_error("# @param who required\n# @schedule @daily\n", 2,
	    "@schedule", "who");
	def = parse("# @param who default=me\n# @schedule @daily\n");
	assert_int_equal(def->nerrors, 0);
	taskdef_free(def);
	one_bad("@schedule @sometimes", "@schedule", "@sometimes");
	one_bad("@schedule @daily 3", "@schedule", "@daily 3");

	/* A bad schedule is not kept. */
	def = parse("# @schedule * *\n");
	assert_int_equal(def->nschedules, 0);
	assert_int_equal(def->nerrors, 1);
	taskdef_free(def);
}

/* Check that schedule i gives exactly the parameters want (JSON, in order). */
static void
schedule_params_are(const struct taskdef *def, u_int i, const char *want)
{
	json_t	*w;
	char	*got, *exp;

	if (i >= def->nschedules)
		fail_msg("want a schedule #%u, have %u", i, def->nschedules);
	if (want == NULL) {
		assert_null(def->schedules[i].params);
		return;
	}
	assert_non_null(def->schedules[i].params);
	w = json_loads(want, 0, NULL);
	assert_non_null(w);
	got = json_dumps(def->schedules[i].params, JSON_COMPACT);
	exp = json_dumps(w, JSON_COMPACT);
	assert_string_equal(got, exp);
	free(got);
	free(exp);
	json_decref(w);
}

/* Check that a scheduled run of schedule i would get exactly want. */
static void
schedule_run_params_are(const struct taskdef *def, u_int i, const char *want)
{
	json_t	*out, *w;
	char	*cause = NULL, *got;

	out = params_check(def, def->schedules[i].params, 0, &cause);
	if (out == NULL)
		fail_msg("schedule %u refused: %s", i, cause);
	w = json_loads(want, 0, NULL);
	assert_non_null(w);
	if (!json_equal(out, w)) {
		got = json_dumps(out, JSON_COMPACT);
		fail_msg("schedule %u gives %s, want %s", i, got, want);
	}
	json_decref(w);
	json_decref(out);
}

/*
 * @schedule EXPR NAME=VALUE...: quoted values, 5 and 6 fields and macros,
 * several schedules with their own parameters, the defaults of the rest.
 */
static void
test_schedule_params(void **state)
{
	struct taskdef	*def;

	def = parse_ok("#!/bin/sh\n"
	    "# Redis.\n"
	    "# @schedule 0 8 * * mon host=redis1 mode=hard\n"
	    "# @schedule  */10 * * * * *\tnote=\"two  words\"   port=7000\n"
	    "# @schedule @daily note=\"say \\\"hi\\\" \\\\o/\" force=yes\n"
	    "# @schedule 30 2 * * * note= host=\"\"\n"
	    "# @schedule @reboot\n"
	    "# @schedule 0 9 * * * note=x=y mode=\"soft\"\n"
	    "# @param host default=localhost\n"
	    "# @param port int default=6379\n"
	    "# @param force bool\n"
	    "# @param mode choice(soft,hard) default=soft\n"
	    "# @param note\n");
	assert_int_equal(def->nschedules, 6);
	assert_string_equal(def->schedules[0].expr, "0 8 * * mon");
	assert_int_equal(def->schedules[0].line, 3);
	schedule_params_are(def, 0, "{\"host\":\"redis1\",\"mode\":\"hard\"}");
	assert_string_equal(def->schedules[1].expr, "*/10 * * * * *");
	assert_int_equal(def->schedules[1].line, 4);
	schedule_params_are(def, 1,
	    "{\"note\":\"two  words\",\"port\":\"7000\"}");
	assert_string_equal(def->schedules[2].expr, "@daily");
	schedule_params_are(def, 2, "{\"note\":\"say \\\"hi\\\" \\\\o/\","
	    "\"force\":\"yes\"}");
	assert_string_equal(def->schedules[3].expr, "30 2 * * *");
	schedule_params_are(def, 3, "{\"note\":\"\",\"host\":\"\"}");
	assert_string_equal(def->schedules[4].expr, "@reboot");
	schedule_params_are(def, 4, NULL);
	schedule_params_are(def, 5, "{\"note\":\"x=y\",\"mode\":\"soft\"}");

	/* What their runs get: normalised, and the defaults of the rest. */
	schedule_run_params_are(def, 0, "{\"host\":\"redis1\","
	    "\"port\":\"6379\",\"force\":\"false\",\"mode\":\"hard\","
	    "\"note\":\"\"}");
	schedule_run_params_are(def, 1, "{\"host\":\"localhost\","
	    "\"port\":\"7000\",\"force\":\"false\",\"mode\":\"soft\","
	    "\"note\":\"two  words\"}");
	schedule_run_params_are(def, 2, "{\"host\":\"localhost\","
	    "\"port\":\"6379\",\"force\":\"true\",\"mode\":\"soft\","
	    "\"note\":\"say \\\"hi\\\" \\\\o/\"}");
	schedule_run_params_are(def, 4, "{\"host\":\"localhost\","
	    "\"port\":\"6379\",\"force\":\"false\",\"mode\":\"soft\","
	    "\"note\":\"\"}");
	taskdef_free(def);

	/* A required parameter, given by every schedule. */
	def = parse_ok("# @param who required\n"
	    "# @schedule @daily who=me\n"
	    "# @schedule @hourly who=\"the team\"\n");
	schedule_run_params_are(def, 1, "{\"who\":\"the team\"}");
	taskdef_free(def);
}

/* The most parameters a task has, all on one 6-field schedule. */
static void
test_schedule_params_many(void **state)
{
	struct taskdef	*def;
	char		*text, *n;
	int		 i;

	text = xstrdup("# @schedule */5 * * * * *");
	for (i = 0; i < TASKDEF_MAX_PARAMS; i++) {
		xasprintf(&n, "%s p%d=%d", text, i, i);
		free(text);
		text = n;
	}
	xasprintf(&n, "%s\n", text);
	free(text);
	text = n;
	for (i = 0; i < TASKDEF_MAX_PARAMS; i++) {
		xasprintf(&n, "%s# @param p%d int\n", text, i);
		free(text);
		text = n;
	}
	def = parse_ok(text);
	assert_int_equal(def->nschedules, 1);
	assert_int_equal(json_object_size(def->schedules[0].params),
	    TASKDEF_MAX_PARAMS);
	assert_string_equal(json_string_value(json_object_get(
	    def->schedules[0].params, "p63")), "63");
	taskdef_free(def);
	free(text);
}

/* The parameters of a task whose schedules' values are checked below. */
#define SCHED_PARAMS							\
	"#!/bin/sh\n"							\
	"# @param n int\n"						\
	"# @param on bool\n"						\
	"# @param mode choice(soft,hard) default=soft\n"		\
	"# @param who \"Who\" default=me\n"
#define SCHED_LINE	6	/* the line after SCHED_PARAMS */

/*
 * Bad @schedule parameters make the task invalid, naming the line: not
 * NAME=VALUE, bad names, twice the same, undeclared, a value its type
 * refuses, a required one missing or empty.
 */
static void
test_schedule_params_bad(void **state)
{
	struct taskdef	*def;
	char		*text, *big;

	one_bad("@schedule @daily host=a extra", "@schedule", "'extra'");
	one_bad("@schedule @daily Host=a", "bad parameter name", "'Host'");
	one_bad("@schedule @daily =a", "bad parameter name", "''");
	one_bad("@schedule @daily 9x=a", "bad parameter name", "'9x'");
	one_bad("@schedule @daily host-name=a", "bad parameter name",
	    "'host-name'");
	one_bad("@schedule @daily host=a host=b", "@schedule",
	    "host is given twice");
	one_bad("@schedule @daily host=\"a b", "unterminated quote", NULL);
	one_bad("@schedule \"0 8 * * *\"", "@schedule", "quotes");
	one_bad("@schedule host=a", "@schedule needs a cron expression", NULL);
	one_bad("@schedule 0 8 * * host=a", "@schedule", "4 fields");
	one_bad("@schedule @daily host=a", "host: no such parameter",
	    "takes none");

	expect_error(SCHED_PARAMS "# @schedule @daily nope=1\n", SCHED_LINE,
	    "@schedule", "nope: no such parameter");
	expect_error(SCHED_PARAMS "# @schedule @daily n=abc\n", SCHED_LINE,
	    "@schedule", "n: 'abc' is not an integer");
	expect_error(SCHED_PARAMS "# @schedule @daily n=\"1 2\"\n", SCHED_LINE,
	    "@schedule", "is not an integer");
	expect_error(SCHED_PARAMS "# @schedule @daily on=perhaps\n",
	    SCHED_LINE, "@schedule", "on: 'perhaps' is not true or false");
	expect_error(SCHED_PARAMS "# @schedule @daily mode=medium\n",
	    SCHED_LINE, "@schedule", "mode: 'medium' is not one of the "
	    "choices");
	big = repeat('x', ML_PARAM_VALUE_MAX + 1);
	xasprintf(&text, SCHED_PARAMS "# @schedule @daily who=%s\n", big);
	expect_error(text, SCHED_LINE, "@schedule", "who: value longer than");
	free(text);
	free(big);

	/* The values are checked once every @param is read. */
	expect_error("# @schedule @daily n=x\n# @param n int\n", 1,
	    "@schedule", "n: 'x' is not an integer");

	/* A required parameter: every schedule must give it. */
	expect_error("# @param who required\n# @schedule @daily\n", 2,
	    "@schedule", "who: required parameter is missing");
	expect_error("# @schedule @daily who=\"\"\n# @param who required\n", 1,
	    "@schedule", "who: required parameter is empty");
	def = parse("# @param who required\n"
	    "# @schedule @daily who=me\n"
	    "# @schedule @hourly\n"
	    "# @schedule @weekly who=you\n"
	    "# @schedule @monthly host=x\n");
	assert_int_equal(def->nerrors, 2);
	check_error(def, 0, 3, "@schedule", "who: required parameter is "
	    "missing");
	check_error(def, 1, 5, "@schedule", "host: no such parameter");
	taskdef_free(def);

	/* One good schedule and one bad: only the bad line is named. */
	expect_error(SCHED_PARAMS "# @schedule @daily n=1\n"
	    "# @schedule @hourly n=one\n# @schedule @weekly on=no\n",
	    SCHED_LINE + 1, "@schedule", "'one' is not an integer");

	/* Two schedules differ in their times, not only their parameters. */
	expect_error(SCHED_PARAMS "# @schedule @daily n=1\n"
	    "# @schedule @daily n=2\n", SCHED_LINE + 1, "@schedule",
	    "line 6");
}

/* Parameters as NAME=VALUE words: quoted as a @schedule line reads them. */
static void
test_schedule_params_words(void **state)
{
	static const char	*values[] = { "plain", "two words", "",
	    "tab\there", "say \"hi\"", "back\\slash", "\\\"", "x=y", "(a b)",
	    "Gr\xc3\xbc\xc3\x9f" "e \xe6\x97\xa5", "\x1b[31m" };
	struct taskdef		*def;
	json_t			*given;
	char			*words, *text, name[8];
	u_int			 i;

	given = json_object();
	for (i = 0; i < sizeof values / sizeof values[0]; i++) {
		snprintf(name, sizeof name, "p%u", i);
		json_object_set_new(given, name, json_string(values[i]));
	}
	words = proto_params_words(given, 1);
	assert_non_null(strstr(words, "p0=plain p1=\"two words\" p2=\"\" "));
	assert_non_null(strstr(words, "p4=\"say \\\"hi\\\"\" "
	    "p5=\"back\\\\slash\""));
	xasprintf(&text, "# @schedule @daily %s\n", words);
	free(words);
	for (i = 0; i < sizeof values / sizeof values[0]; i++) {
		words = text;
		xasprintf(&text, "%s# @param p%u\n", words, i);
		free(words);
	}
	def = parse_ok(text);
	assert_true(json_equal(def->schedules[0].params, given));
	taskdef_free(def);
	free(text);

	/* Unquoted (a run's parameters, for people); none: "". */
	json_object_clear(given);
	json_object_set_new(given, "a", json_string("1"));
	json_object_set_new(given, "b", json_string("two words"));
	json_object_set_new(given, "c", json_integer(3));
	words = proto_params_words(given, 0);
	assert_string_equal(words, "a=1 b=two words c=?");
	free(words);
	json_decref(given);
	words = proto_params_words(NULL, 1);
	assert_string_equal(words, "");
	free(words);
}

/* @timezone: IANA zones only, never a silent fall-back. */
static void
test_timezone(void **state)
{
	struct taskdef	*def;

	def = one_ok("@timezone Europe/Berlin");
	assert_string_equal(def->timezone, "Europe/Berlin");
	taskdef_free(def);
	def = one_ok("@timezone UTC");
	assert_string_equal(def->timezone, "UTC");
	taskdef_free(def);
	def = one_ok("@timezone America/Argentina/Buenos_Aires");
	assert_string_equal(def->timezone, "America/Argentina/Buenos_Aires");
	taskdef_free(def);

	one_bad("@timezone Mars/Olympus_Mons", "@timezone",
	    "Mars/Olympus_Mons");
	one_bad("@timezone Europe/Atlantis", "@timezone", "Europe/Atlantis");
	one_bad("@timezone Europe", "@timezone", "Europe");
	one_bad("@timezone ../../../etc/passwd", "@timezone", NULL);
	one_bad("@timezone /etc/localtime", "@timezone", NULL);
	one_bad("@timezone Europe/Berlin Europe/Paris", "@timezone",
	    "one argument");
	one_bad("@timezone", "@timezone", "one argument");
	/* POSIX rules are for $TZ only, not for a task's zone. */
	one_bad("@timezone CET-1CEST,M3.5.0,M10.5.0/3", "@timezone",
	    "unknown time zone");
}

/* @timeout takes a duration; 0 means never. */
static void
test_timeout(void **state)
{
	static const struct {
		const char	*arg;
		int64_t		 secs;
	} good[] = {
		{ "2m", 120 }, { "1h30m", 5400 }, { "0", 0 }, { "90", 90 },
		{ "1d", 86400 }, { "45s", 45 },
	};
	struct taskdef	*def;
	char		*line;
	u_int		 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		xasprintf(&line, "@timeout %s", good[i].arg);
		def = one_ok(line);
		assert_int_equal(def->timeout, good[i].secs);
		taskdef_free(def);
		free(line);
	}
	one_bad("@timeout 5x", "@timeout", "5x");
	one_bad("@timeout -1", "@timeout", "-1");
	one_bad("@timeout 1h30", "@timeout", "1h30");
	one_bad("@timeout forever", "@timeout", "forever");
	one_bad("@timeout", "@timeout", "one argument");
	one_bad("@timeout 1m 2m", "@timeout", "one argument");
}

/* @param: each type, labels, defaults normalised, required, any order. */
static void
test_param(void **state)
{
	const char		*text = "#!/bin/sh\n"
	    "# Parameters.\n"
	    "# @param host\n"
	    "# @param port int default=+8080\n"
	    "# @param verbose bool\n"
	    "# @param force bool default=YES\n"
	    "# @param mode choice(soft,hard) default=soft\n"
	    "# @param level choice( low , medium,high ) \"Level of detail\"\n"
	    "# @param who \"Person to greet\" required\n"
	    "# @param note string \"A note\" default=\"two words\"\n"
	    "# @param n \"Count\" int default=-3\n"
	    "# @param abcdefghijklmnopqrstuvwxyz_01234 required string\n";
	struct taskdef		*def;
	const struct taskparam	*tp;

	def = parse_ok(text);
	assert_int_equal(def->nparams, 10);

	tp = &def->params[0];
	assert_string_equal(tp->name, "host");
	assert_int_equal(tp->type, PARAM_STRING);
	assert_null(tp->label);
	assert_null(tp->def);
	assert_false(tp->required);
	assert_int_equal(tp->line, 3);

	tp = taskdef_param(def, "port");
	assert_int_equal(tp->type, PARAM_INT);
	assert_string_equal(tp->def, "8080");
	assert_int_equal(tp->line, 4);

	tp = taskdef_param(def, "verbose");
	assert_int_equal(tp->type, PARAM_BOOL);
	assert_string_equal(tp->def, "false");

	tp = taskdef_param(def, "force");
	assert_int_equal(tp->type, PARAM_BOOL);
	assert_string_equal(tp->def, "true");

	tp = taskdef_param(def, "mode");
	assert_int_equal(tp->type, PARAM_CHOICE);
	assert_int_equal(tp->nchoices, 2);
	assert_string_equal(tp->def, "soft");

	tp = taskdef_param(def, "level");
	assert_int_equal(tp->type, PARAM_CHOICE);
	assert_int_equal(tp->nchoices, 3);
	assert_string_equal(tp->choices[0], "low");
	assert_string_equal(tp->choices[1], "medium");
	assert_string_equal(tp->choices[2], "high");
	assert_string_equal(tp->label, "Level of detail");
	assert_null(tp->def);

	tp = taskdef_param(def, "who");
	assert_int_equal(tp->type, PARAM_STRING);
	assert_string_equal(tp->label, "Person to greet");
	assert_true(tp->required);
	assert_null(tp->def);

	tp = taskdef_param(def, "note");
	assert_string_equal(tp->label, "A note");
	assert_string_equal(tp->def, "two words");

	tp = taskdef_param(def, "n");
	assert_int_equal(tp->type, PARAM_INT);
	assert_string_equal(tp->label, "Count");
	assert_string_equal(tp->def, "-3");

	tp = taskdef_param(def, "abcdefghijklmnopqrstuvwxyz_01234");
	assert_non_null(tp);
	assert_true(tp->required);
	assert_int_equal(tp->line, 12);

	assert_string_equal(taskparam_type_name(PARAM_STRING), "string");
	assert_string_equal(taskparam_type_name(PARAM_INT), "int");
	assert_string_equal(taskparam_type_name(PARAM_BOOL), "bool");
	assert_string_equal(taskparam_type_name(PARAM_CHOICE), "choice");
	taskdef_free(def);
}

/* @param: bad names, types, labels and defaults are refused. */
static void
test_param_bad(void **state)
{
	char	*name, *line;

	one_bad("@param", "@param", "name");
	one_bad("@param Host", "@param", "Host");
	one_bad("@param 1x", "@param", "1x");
	one_bad("@param _x", "@param", "_x");
	one_bad("@param a-b", "@param", "a-b");
	one_bad("@param \"host\"", "@param", "name");
	name = repeat('a', 33);
	xasprintf(&line, "@param %s", name);
	one_bad(line, "@param", name);
	free(line);
	free(name);

	one_bad("@param x float", "@param x", "float");
	one_bad("@param x integer", "@param x", "integer");
	one_bad("@param x Int", "@param x", "Int");
	one_bad("@param x reqired", "@param x", "reqired");
	one_bad("@param x int default=abc", "@param x", "abc");
	one_bad("@param x int default=1.5", "@param x", "1.5");
	one_bad("@param x int default=", "@param x", "default");
	one_bad("@param x bool default=maybe", "@param x", "maybe");
	one_bad("@param x choice(a,b,c) default=d", "@param x", "'d'");
	one_bad("@param x choice(a,b,c) default=A", "@param x", "'A'");
	one_bad("@param x required default=1", "@param x", "required");
	one_bad("@param x default=1 required", "@param x", "required");
	one_bad("@param x choice()", "@param x", "empty");
	one_bad("@param x choice(a,,b)", "@param x", "empty");
	one_bad("@param x choice(a,b,a)", "@param x", "'a'");
	one_bad("@param x choice(a,b", "@param x", "choice");
	one_bad("@param x int bool", "@param x", "two types");
	one_bad("@param x \"A\" \"B\"", "@param x", "two labels");
	one_bad("@param x \"\"", "@param x", "label");
	one_bad("@param x default=1 default=2", "@param x", "two defaults");
}

/*
 * Tokenizer errors inside @param and @group are reported.
 * The tokens made before the error are freed (LeakSanitizer checks this
 * in a --enable-sanitizers build).
 */
static void
test_tokenize_errors(void **state)
{
	one_bad("@param x \"unterminated", "unterminated", NULL);
	one_bad("@param x a b c d e f g h i j k l m n o p q", "too many",
	    NULL);
	one_bad("@group Ops \"team", "unterminated", NULL);
	one_bad("@env \"A=1", "unterminated", NULL);
}

/* A parameter name may be declared once; the error names the first line. */
static void
test_param_duplicate(void **state)
{
	struct taskdef	*def;

	def = parse("#!/bin/sh\n# @param host\n# @param port int\n"
	    "# @param host int\n");
	assert_int_equal(def->nerrors, 1);
	check_error(def, 0, 4, "host", "line 2");
	assert_int_equal(def->nparams, 2);
	assert_int_equal(taskdef_param(def, "host")->type, PARAM_STRING);
	taskdef_free(def);
}

/* @concurrency N: at least 1. */
static void
test_concurrency(void **state)
{
	struct taskdef	*def;

	def = one_ok("@concurrency 1");
	assert_int_equal(def->concurrency, 1);
	taskdef_free(def);
	def = one_ok("@concurrency 16");
	assert_int_equal(def->concurrency, 16);
	taskdef_free(def);

	one_bad("@concurrency 0", "@concurrency", "'0'");
	one_bad("@concurrency -1", "@concurrency", "'-1'");
	one_bad("@concurrency many", "@concurrency", "many");
	one_bad("@concurrency 2.5", "@concurrency", "2.5");
	one_bad("@concurrency 99999999999", "@concurrency", "99999999999");
	one_bad("@concurrency", "@concurrency", "one argument");
	one_bad("@concurrency 2 3", "@concurrency", "one argument");
}

/* @overlap queue|skip. */
static void
test_overlap(void **state)
{
	struct taskdef	*def;

	def = one_ok("@overlap skip");
	assert_int_equal(def->overlap, OVERLAP_SKIP);
	taskdef_free(def);
	def = one_ok("@overlap queue");
	assert_int_equal(def->overlap, OVERLAP_QUEUE);
	taskdef_free(def);

	one_bad("@overlap sometimes", "@overlap", "sometimes");
	one_bad("@overlap", "@overlap", "one argument");
	one_bad("@overlap queue skip", "@overlap", "one argument");
}

/* @retries N and @retry-delay DURATION (more than zero). */
static void
test_retries(void **state)
{
	struct taskdef	*def;

	def = one_ok("@retries 0");
	assert_int_equal(def->retries, 0);
	taskdef_free(def);
	def = one_ok("@retries 3");
	assert_int_equal(def->retries, 3);
	taskdef_free(def);
	one_bad("@retries -1", "@retries", "'-1'");
	one_bad("@retries x", "@retries", "'x'");
	one_bad("@retries 1000000", "@retries", "1000000");
	one_bad("@retries", "@retries", "one argument");

	def = one_ok("@retry-delay 10s");
	assert_int_equal(def->retry_delay, 10);
	taskdef_free(def);
	def = one_ok("@retry-delay 1m30s");
	assert_int_equal(def->retry_delay, 90);
	taskdef_free(def);
	def = one_ok("@retry-delay 5");
	assert_int_equal(def->retry_delay, 5);
	taskdef_free(def);
	one_bad("@retry-delay 0", "@retry-delay", "more than 0");
	one_bad("@retry-delay 0s", "@retry-delay", "more than 0");
	one_bad("@retry-delay soon", "@retry-delay", "soon");
	one_bad("@retry-delay", "@retry-delay", "one argument");
}

/* @webhook, @catchup and @confirm are flags and take no argument. */
static void
test_flags(void **state)
{
	struct taskdef	*def;

	def = parse_ok("# @webhook\n# @catchup  \n# @confirm\t\n");
	assert_true(def->webhook);
	assert_true(def->catchup);
	assert_true(def->confirm);
	taskdef_free(def);

	one_bad("@webhook yes", "@webhook", "no argument");
	one_bad("@catchup 1", "@catchup", "no argument");
	one_bad("@confirm \"Are you sure?\"", "@confirm", "no argument");
}

/* @on-failure and @on-success name another task. */
static void
test_chain(void **state)
{
	struct taskdef	*def;
	char		*name, *line;

	def = parse_ok("# @on-failure notify-ops\n# @on-success next_step\n");
	assert_string_equal(def->on_failure, "notify-ops");
	assert_string_equal(def->on_success, "next_step");
	taskdef_free(def);

	one_bad("@on-failure bad.name", "@on-failure", "bad.name");
	one_bad("@on-success -x", "@on-success", "-x");
	one_bad("@on-success a/b", "@on-success", "a/b");
	one_bad("@on-failure", "@on-failure", "one argument");
	one_bad("@on-success a b", "@on-success", "one argument");
	name = repeat('t', 65);
	xasprintf(&line, "@on-failure %s", name);
	one_bad(line, "@on-failure", name);
	free(line);
	free(name);
}

/* @user takes a portable user name. */
static void
test_user(void **state)
{
	static const char	*good[] = { "www-data", "_svc", "first.last",
	    "u1", "root" };
	struct taskdef		*def;
	char			*line, *name;
	u_int			 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		xasprintf(&line, "@user %s", good[i]);
		def = one_ok(line);
		assert_string_equal(def->user, good[i]);
		taskdef_free(def);
		free(line);
	}
	one_bad("@user -x", "@user", "-x");
	one_bad("@user a$b", "@user", "a$b");
	one_bad("@user a/b", "@user", "a/b");
	one_bad("@user two words", "@user", "one argument");
	one_bad("@user", "@user", "one argument");
	name = repeat('u', 33);
	xasprintf(&line, "@user %s", name);
	one_bad(line, "@user", name);
	free(line);
	free(name);
}

/* @workdir takes one directory, quoted if it has spaces. */
static void
test_workdir(void **state)
{
	struct taskdef	*def;

	def = one_ok("@workdir /srv/app");
	assert_string_equal(def->workdir, "/srv/app");
	taskdef_free(def);
	def = one_ok("@workdir relative/dir");
	assert_string_equal(def->workdir, "relative/dir");
	taskdef_free(def);
	def = one_ok("@workdir \"/srv/my app\"");
	assert_string_equal(def->workdir, "/srv/my app");
	taskdef_free(def);

	one_bad("@workdir", "@workdir", "one argument");
	one_bad("@workdir /a /b", "@workdir", "one argument");
	one_bad("@workdir \"\"", "@workdir", NULL);
}

/* @env KEY=VALUE: quoted values, repeatable, MICROLIGHT_ reserved. */
static void
test_env(void **state)
{
	struct taskdef	*def;

	def = parse_ok("#!/bin/sh\n# @env A=1\n"
	    "# @env GREETING=\"hello world\"\n"
	    "# @env EMPTY=\n# @env _X1=y\n# @env URL=http://h/?a=b&c=d\n"
	    "# @env AB=2\n# @env \"QUOTED=a  b\"\n");
	assert_int_equal(def->nenv, 7);
	assert_string_equal(def->env[0], "A=1");
	assert_string_equal(def->env[1], "GREETING=hello world");
	assert_string_equal(def->env[2], "EMPTY=");
	assert_string_equal(def->env[3], "_X1=y");
	assert_string_equal(def->env[4], "URL=http://h/?a=b&c=d");
	assert_string_equal(def->env[5], "AB=2");
	assert_string_equal(def->env[6], "QUOTED=a  b");
	taskdef_free(def);
}

/* @env takes the rest of the line; quotes only around a whole value. */
static void
test_env_rest_of_line(void **state)
{
	struct taskdef	*def;

	def = parse_ok("#!/bin/sh\n# @env GREETING=hello world\n"
	    "# @env\tSPACED=  a  b \t\n"
	    "# @env SAY=say \"hi\" now\n"
	    "# @env HALF=\"x y\" z\n"
	    "# @env ONE=\"\n"
	    "# @env B=1 C=2\n");
	assert_int_equal(def->nenv, 6);
	assert_string_equal(def->env[0], "GREETING=hello world");
	assert_string_equal(def->env[1], "SPACED=  a  b");
	assert_string_equal(def->env[2], "SAY=say \"hi\" now");
	assert_string_equal(def->env[3], "HALF=\"x y\" z");
	assert_string_equal(def->env[4], "ONE=\"");
	assert_string_equal(def->env[5], "B=1 C=2");
	taskdef_free(def);
}

/* @env: bad keys, reserved names, long values, duplicates. */
static void
test_env_bad(void **state)
{
	char	*value, *line;

	one_bad("@env NOEQUALS", "@env", "NOEQUALS");
	one_bad("@env =x", "@env", "KEY=VALUE");
	one_bad("@env 1A=x", "@env", "1A");
	one_bad("@env A-B=x", "@env", "A-B");
	one_bad("@env A.B=x", "@env", "A.B");
	one_bad("@env MICROLIGHT_RUN_ID=5", "@env", "MICROLIGHT_");
	one_bad("@env MICROLIGHT_TASK=x", "@env", "MICROLIGHT_");
	one_bad("@env", "@env", "KEY=VALUE");
	one_bad("@env   ", "@env", "KEY=VALUE");
	one_bad("@env NAME WITH=blank", "@env", "NAME WITH");
	value = repeat('v', ML_PARAM_VALUE_MAX + 1);
	xasprintf(&line, "@env BIG=%s", value);
	one_bad(line, "@env", NULL);
	free(line);
	free(value);

	expect_error("#!/bin/sh\n# @env A=1\n# @env B=2\n# @env A=3\n", 4,
	    "A", "twice");
}

/* An @env variable and a @param of the same name clash, either order. */
static void
test_env_param_clash(void **state)
{
	expect_error("#!/bin/sh\n# @param host\n# @env host=x\n", 2, "host",
	    "@env");
	expect_error("#!/bin/sh\n# @env host=x\n#\n# @param host\n", 4,
	    "host", "@env");
	taskdef_free(parse_ok("# @param host\n# @env HOST=x\n"
	    "# @env hostname=y\n"));
}

/* @priority N, negative allowed. */
static void
test_priority(void **state)
{
	static const int	 good[] = { 0, 5, -5, 100, -100 };
	struct taskdef		*def;
	char			*line;
	u_int			 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		xasprintf(&line, "@priority %d", good[i]);
		def = one_ok(line);
		assert_int_equal(def->priority, good[i]);
		taskdef_free(def);
		free(line);
	}
	one_bad("@priority high", "@priority", "high");
	one_bad("@priority 1.5", "@priority", "1.5");
	one_bad("@priority 99999999999", "@priority", "99999999999");
	one_bad("@priority -99999999999", "@priority", "-99999999999");
	one_bad("@priority", "@priority", "one argument");
}

/* @group NAME: the rest of the line, spaces and all. */
static void
test_group(void **state)
{
	struct taskdef	*def;
	char		*name, *line;

	def = one_ok("@group Ops");
	assert_string_equal(def->group, "Ops");
	taskdef_free(def);
	def = one_ok("@group Database   maintenance ");
	assert_string_equal(def->group, "Database maintenance");
	taskdef_free(def);
	def = one_ok("@group \"Ops  team\"");
	assert_string_equal(def->group, "Ops  team");
	taskdef_free(def);
	def = one_ok("@group Caf\xc3\xa9");
	assert_string_equal(def->group, "Caf\xc3\xa9");
	taskdef_free(def);

	one_bad("@group", "@group", NULL);
	one_bad("@group \"\"", "@group", NULL);
	name = repeat('g', 200);
	xasprintf(&line, "@group %s", name);
	one_bad(line, "@group", NULL);
	free(line);
	free(name);
}

/* @title TEXT: words joined, 1 to 80 bytes, once. */
static void
test_title(void **state)
{
	struct taskdef	*def;
	char		*text, *line;

	def = one_ok("@title Restart   Redis ");
	assert_string_equal(def->title, "Restart Redis");
	taskdef_free(def);
	def = one_ok("@title \"Resync  a <customer>\" & more");
	assert_string_equal(def->title, "Resync  a <customer> & more");
	taskdef_free(def);
	def = one_ok("@group Ops");
	assert_null(def->title);
	taskdef_free(def);

	one_bad("@title", "@title", NULL);
	one_bad("@title \"\"", "@title", NULL);
	text = repeat('t', 81);
	xasprintf(&line, "@title %s", text);
	one_bad(line, "@title", "80");
	free(line);
	free(text);
	text = repeat('t', 80);
	xasprintf(&line, "@title %s", text);
	def = one_ok(line);
	assert_int_equal(strlen(def->title), 80);
	taskdef_free(def);
	free(line);
	free(text);
	expect_error("#!/bin/sh\n# @title A\n# @title B\n", 3, "@title",
	    "line 2");
}

/* An unknown directive is an error naming it. */
static void
test_unknown_directive(void **state)
{
	char	*name, *line;

	one_bad("@bogus", "unknown directive", "@bogus");
	one_bad("@bogus with args", "unknown directive", "@bogus");
	one_bad("@Schedule * * * * *", "unknown directive", "@Schedule");
	one_bad("@timeout5m", "unknown directive", "@timeout5m");
	one_bad("@time-out 5m", "unknown directive", "@time-out");
	one_bad("@params x", "unknown directive", "@params");
	name = repeat('z', 40);
	xasprintf(&line, "@%s", name);
	one_bad(line, "unknown directive", NULL);
	free(line);
	free(name);
}

/* A directive one or two letters off names the one it likely is. */
static void
test_unknown_directive_suggests(void **state)
{
	struct taskdef	*def;
	char		*text;

	one_bad("@shedule * * * * *", "'@shedule'",
	    "did you mean '@schedule'?");
	one_bad("@Schedule * * * * *", "'@Schedule'",
	    "did you mean '@schedule'?");
	one_bad("@timout 5m", "'@timout'", "did you mean '@timeout'?");
	one_bad("@params x", "'@params'", "did you mean '@param'?");
	one_bad("@concurency 2", "'@concurency'",
	    "did you mean '@concurrency'?");
	/* Nothing near: no guess. */
	text = one_file("@bogus");
	def = parse(text);
	assert_int_equal(def->nerrors, 1);
	assert_null(strstr(def->errors[0].msg, "did you mean"));
	taskdef_free(def);
	free(text);
}

/* A directive that may not repeat, given twice, names its first line. */
static void
test_repeated_directive(void **state)
{
	static const char	*once[] = { "timezone UTC", "timeout 1m",
	    "concurrency 2", "overlap skip", "retries 1", "retry-delay 5s",
	    "webhook", "on-failure a", "on-success b", "user nobody",
	    "workdir /tmp", "priority 1", "catchup", "confirm", "group G" };
	struct taskdef		*def;
	char			*text, *name;
	u_int			 i;

	for (i = 0; i < sizeof once / sizeof once[0]; i++) {
		xasprintf(&text, "#!/bin/sh\n# @%s\n#\n# @%s\n", once[i],
		    once[i]);
		xasprintf(&name, "@%.*s", (int)strcspn(once[i], " "),
		    once[i]);
		expect_error(text, 4, name, "line 2");
		free(name);
		free(text);
	}

	/* @schedule, @param and @env may repeat. */
	def = parse_ok("# @schedule 0 1 * * *\n# @schedule 0 2 * * *\n"
	    "# @param a\n# @param b\n# @env X=1\n# @env Y=2\n");
	assert_int_equal(def->nschedules, 2);
	assert_int_equal(def->nparams, 2);
	assert_int_equal(def->nenv, 2);
	taskdef_free(def);
}

/* Every bad line is reported, in order; good lines still apply. */
static void
test_several_errors(void **state)
{
	struct taskdef	*def;
	char		*text, *p;
	size_t		 i;

	def = parse("#!/bin/sh\n"
	    "# Desc.\n"
	    "# @timeout 5x\n"
	    "# @concurrency 2\n"
	    "# @bogus\n"
	    "# @overlap maybe\n"
	    "# @schedule * *\n"
	    "# @retries 4\n"
	    "echo\n"
	    "# @bogus2\n");
	assert_int_equal(def->nerrors, 4);
	check_error(def, 0, 3, "@timeout", "5x");
	check_error(def, 1, 5, "@bogus", NULL);
	check_error(def, 2, 6, "@overlap", "maybe");
	check_error(def, 3, 7, "@schedule", NULL);
	assert_int_equal(def->concurrency, 2);
	assert_int_equal(def->retries, 4);
	assert_string_equal(def->description, "Desc.");
	taskdef_free(def);

	/* Many bad lines: errors are capped, the first ones kept. */
	text = p = xmalloc(100 * 12 + 1);
	for (i = 0; i < 100; i++)
		p += sprintf(p, "# @bad%03zu\n", i);
	def = parse(text);
	assert_true(def->nerrors >= 1);
	assert_true(def->nerrors <= TASKDEF_MAX_ERRORS);
	check_error(def, 0, 1, "@bad000", NULL);
	check_error(def, 1, 2, "@bad001", NULL);
	taskdef_free(def);
	free(text);
}

/* Header lines that are not UTF-8 are errors; code lines are not checked. */
static void
test_invalid_utf8(void **state)
{
	struct taskdef	*def;

	expect_error("#!/bin/sh\n# Caf\xe9 task.\n", 2, "UTF-8", NULL);
	expect_error("# Desc.\n# @group Caf\xc3\n", 2, "UTF-8", NULL);
	expect_error("# Desc.\n# @env A=\xed\xa0\x80\n", 2, "UTF-8", NULL);
	expect_error("# Desc.\n# @param x \"\xc0\xaf\"\n", 2, "UTF-8", NULL);

	def = parse("# Desc.\n# @group Caf\xc3\n");
	assert_null(def->group);
	taskdef_free(def);

	def = parse_ok("# Desc.\necho \xff\xfe\n");
	assert_string_equal(def->description, "Desc.");
	taskdef_free(def);
}

/* CRLF line endings parse like LF, with no \r left in values. */
static void
test_crlf(void **state)
{
	struct taskdef	*def;

	def = parse_ok("#!/bin/sh\r\n# Desc,\r\n# two lines.\r\n#\r\n"
	    "# @timeout 5m\r\n# @group Ops team\r\n# @schedule 0 3 * * *\r\n"
	    "# @param mode choice(a,b) default=b\r\n# @env A=1\r\n"
	    "# @webhook\r\n# @user nobody\r\necho\r\n");
	assert_string_equal(def->description, "Desc, two lines.");
	assert_int_equal(def->timeout, 300);
	assert_string_equal(def->group, "Ops team");
	assert_string_equal(def->schedules[0].expr, "0 3 * * *");
	assert_string_equal(def->params[0].choices[1], "b");
	assert_string_equal(def->params[0].def, "b");
	assert_string_equal(def->env[0], "A=1");
	assert_true(def->webhook);
	assert_string_equal(def->user, "nobody");
	taskdef_free(def);

	def = parse("#!/bin/sh\r\n# @bogus\r\n");
	assert_int_equal(def->nerrors, 1);
	check_error(def, 0, 2, "@bogus", NULL);
	assert_null(strchr(def->errors[0].msg, '\r'));
	taskdef_free(def);
}

/* A binary file (a NUL in its first line) has no header and no errors. */
static void
test_binary(void **state)
{
	static const char	 elf[] =
	    "\x7f" "ELF\x02\x01\x01\0\0\0\n# @bogus\n";
	struct taskdef		*def;

	def = taskfile_parse(elf, sizeof elf - 1);
	assert_non_null(def);
	check_defaults(def);
	taskdef_free(def);
}

/* Check taskfile_name(file) gives want. */
static void
name_is(const char *file, const char *want)
{
	char		 name[ML_NAME_MAX + 1];
	const char	*errstr = NULL;

	if (taskfile_name(file, name, sizeof name, &errstr) != 0)
		fail_msg("taskfile_name(\"%s\") failed: %s", file, errstr);
	assert_string_equal(name, want);
}

/* Check taskfile_name(file) is refused with a message. */
static void
name_bad(const char *file)
{
	char		 name[ML_NAME_MAX + 1];
	const char	*errstr = NULL;

	if (taskfile_name(file, name, sizeof name, &errstr) == 0)
		fail_msg("taskfile_name(\"%s\") accepted as \"%s\"", file,
		    name);
	if (errstr == NULL || *errstr == '\0')
		fail_msg("taskfile_name(\"%s\") gave no message", file);
}

/* A task's name is its file name without the last extension. */
static void
test_taskfile_name(void **state)
{
	char		*file, *want, small[4];
	const char	*errstr = NULL;

	name_is("restart-redis.sh", "restart-redis");
	name_is("backup", "backup");
	name_is("backup.py", "backup");
	name_is("Daily_Report-2", "Daily_Report-2");
	name_is("0day.pl", "0day");

	name_bad("a.b.sh");
	name_bad("x.tar.gz");
	name_bad(".sh");
	name_bad("-x.sh");
	name_bad("_x.sh");
	name_bad("a b.sh");
	name_bad("caf\xc3\xa9.sh");
	name_bad("");

	want = repeat('n', 64);
	xasprintf(&file, "%s.sh", want);
	name_is(file, want);
	free(file);
	free(want);
	want = repeat('n', 65);
	xasprintf(&file, "%s.sh", want);
	name_bad(file);
	free(file);
	name_bad(want);
	free(want);

	/* The name never overruns the caller's buffer. */
	memset(small, 'X', sizeof small);
	assert_int_equal(taskfile_name("abcd.sh", small, sizeof small,
	    &errstr), -1);
	assert_non_null(errstr);
	assert_int_equal(taskfile_name("abc.sh", small, sizeof small,
	    &errstr), 0);
	assert_string_equal(small, "abc");
}

/* Hidden, backup, editor and disabled files are ignored silently. */
static void
test_taskfile_ignored(void **state)
{
	static const char	*ignored[] = { ".hidden", ".backup.sh",
	    "backup.sh~", "backup~", "backup.sh.bak", "backup.bak",
	    "backup.sh.swp", "backup.disabled", "backup.sh.disabled",
	    "backup.sh.dpkg-new", "backup.sh.dpkg-old", "backup.dpkg-dist",
	    "" };
	static const char	*kept[] = { "backup", "backup.sh",
	    "restart-redis.py", "bak", "swp", "disabled", "backup.baker",
	    "backup.sh.orig", "x~y" };
	u_int			 i;

	for (i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
		if (!taskfile_ignored(ignored[i]))
			fail_msg("\"%s\" is not ignored", ignored[i]);
	}
	for (i = 0; i < sizeof kept / sizeof kept[0]; i++) {
		if (taskfile_ignored(kept[i]))
			fail_msg("\"%s\" is ignored", kept[i]);
	}
}

/* Task names: [A-Za-z0-9][A-Za-z0-9_-]{0,63}. */
static void
test_taskname_valid(void **state)
{
	static const char	*good[] = { "a", "Z", "7", "A1", "0day",
	    "x_y-z", "restart-redis", "a--", "b__" };
	static const char	*bad[] = { "", "-x", "_x", "a.b", "a b", "a/b",
	    "a\tb", "caf\xc3\xa9", "a+b", "a:b", "a\nb" };
	char			*s;
	u_int			 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (!taskname_valid(good[i]))
			fail_msg("\"%s\" is refused", good[i]);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (taskname_valid(bad[i]))
			fail_msg("\"%s\" is accepted", bad[i]);
	}
	s = repeat('t', 64);
	assert_true(taskname_valid(s));
	free(s);
	s = repeat('t', 65);
	assert_false(taskname_valid(s));
	free(s);
}

/* Parameter names: [a-z][a-z0-9_]{0,31}. */
static void
test_taskparam_name_valid(void **state)
{
	static const char	*good[] = { "a", "host", "a1_b", "x_", "z9" };
	static const char	*bad[] = { "", "A", "Host", "hOst", "1a", "_a",
	    "a-b", "a.b", "a b", "caf\xc3\xa9" };
	char			*s;
	u_int			 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (!taskparam_name_valid(good[i]))
			fail_msg("\"%s\" is refused", good[i]);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (taskparam_name_valid(bad[i]))
			fail_msg("\"%s\" is accepted", bad[i]);
	}
	s = repeat('p', 32);
	assert_true(taskparam_name_valid(s));
	free(s);
	s = repeat('p', 33);
	assert_false(taskparam_name_valid(s));
	free(s);
}

/* A header declaring one parameter of each type, for the checks below. */
static struct taskdef *
typed_def(void)
{
	return (parse_ok("# @param count int\n# @param flag bool\n"
	    "# @param level choice(soft,hard)\n# @param text\n"));
}

/* Check that value normalises to want for parameter name of def. */
static void
norm_is(const struct taskdef *def, const char *name, const char *value,
    const char *want)
{
	const struct taskparam	*tp;
	char			*out = NULL, *cause = NULL;

	tp = taskdef_param(def, name);
	assert_non_null(tp);
	if (taskparam_normalise(tp, value, &out, &cause) != 0)
		fail_msg("%s=\"%s\" refused: %s", name, value, cause);
	if (strcmp(out, want) != 0)
		fail_msg("%s=\"%s\" -> \"%s\", want \"%s\"", name, value, out,
		    want);
	free(out);
}

/* Check that value is refused for parameter name, naming it. */
static void
norm_bad(const struct taskdef *def, const char *name, const char *value)
{
	const struct taskparam	*tp;
	char			*out = NULL, *cause = NULL;

	tp = taskdef_param(def, name);
	assert_non_null(tp);
	if (taskparam_normalise(tp, value, &out, &cause) == 0)
		fail_msg("%s=\"%s\" accepted as \"%s\"", name, value, out);
	assert_non_null(cause);
	if (strstr(cause, name) == NULL)
		fail_msg("\"%s\" does not name the parameter %s", cause, name);
	free(cause);
}

/* int values are checked and written in plain decimal. */
static void
test_normalise_int(void **state)
{
	struct taskdef	*def = typed_def();

	norm_is(def, "count", "5", "5");
	norm_is(def, "count", "+5", "5");
	norm_is(def, "count", "-42", "-42");
	norm_is(def, "count", "-0", "0");
	norm_is(def, "count", "007", "7");
	norm_is(def, "count", "9223372036854775807", "9223372036854775807");
	norm_is(def, "count", "-9223372036854775808", "-9223372036854775808");
	norm_bad(def, "count", "");
	norm_bad(def, "count", " 5");
	norm_bad(def, "count", "5 ");
	norm_bad(def, "count", "0x10");
	norm_bad(def, "count", "1e3");
	norm_bad(def, "count", "1.0");
	norm_bad(def, "count", "abc");
	norm_bad(def, "count", "--5");
	norm_bad(def, "count", "9223372036854775808");
	taskdef_free(def);
}

/* bool values: the usual words, written as true or false. */
static void
test_normalise_bool(void **state)
{
	static const char	*yes[] = { "true", "yes", "on", "1", "TRUE",
	    "Yes", "ON" };
	static const char	*no[] = { "false", "no", "off", "0", "FALSE",
	    "No", "Off" };
	struct taskdef		*def = typed_def();
	u_int			 i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++)
		norm_is(def, "flag", yes[i], "true");
	for (i = 0; i < sizeof no / sizeof no[0]; i++)
		norm_is(def, "flag", no[i], "false");
	norm_bad(def, "flag", "maybe");
	norm_bad(def, "flag", "");
	norm_bad(def, "flag", "2");
	norm_bad(def, "flag", "y");
	norm_bad(def, "flag", " true");
	taskdef_free(def);
}

/* choice values must match a choice exactly. */
static void
test_normalise_choice(void **state)
{
	struct taskdef	*def = typed_def();

	norm_is(def, "level", "soft", "soft");
	norm_is(def, "level", "hard", "hard");
	norm_bad(def, "level", "Soft");
	norm_bad(def, "level", "sof");
	norm_bad(def, "level", "soft ");
	norm_bad(def, "level", "soft,hard");
	norm_bad(def, "level", "");
	taskdef_free(def);
}

/* Strings pass unchanged; every type refuses values over 4 KiB. */
static void
test_normalise_length(void **state)
{
	struct taskdef	*def = typed_def();
	char		*max, *over, *digits;

	norm_is(def, "text", "any thing \"at\" all", "any thing \"at\" all");
	norm_is(def, "text", "", "");
	max = repeat('s', ML_PARAM_VALUE_MAX);
	over = repeat('s', ML_PARAM_VALUE_MAX + 1);
	norm_is(def, "text", max, max);
	norm_bad(def, "text", over);
	norm_bad(def, "level", over);
	norm_bad(def, "flag", over);
	digits = repeat('0', ML_PARAM_VALUE_MAX + 1);
	norm_bad(def, "count", digits);
	free(digits);
	free(over);
	free(max);
	taskdef_free(def);
}

/* A task with parameters of every kind, for params_check. */
static struct taskdef *
params_def(void)
{
	return (parse_ok("#!/bin/sh\n"
	    "# @param host \"Host\" default=localhost\n"
	    "# @param port int default=6379\n"
	    "# @param force bool\n"
	    "# @param mode choice(soft,hard) required\n"
	    "# @param note\n"));
}

/* Run params_check on a JSON text (NULL: no parameters given). */
static json_t *
check_params(const struct taskdef *def, const char *given, int ignore,
    char **cause)
{
	json_t	*in = NULL, *out;

	*cause = NULL;
	if (given != NULL) {
		in = json_loads(given, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
		    NULL);
		assert_non_null(in);
	}
	out = params_check(def, in, ignore, cause);
	json_decref(in);
	return (out);
}

/* Check that params_check(given) gives exactly the object want. */
static void
params_are(const struct taskdef *def, const char *given, int ignore,
    const char *want)
{
	json_t	*out, *w;
	char	*cause, *got;

	out = check_params(def, given, ignore, &cause);
	if (out == NULL)
		fail_msg("params %s refused: %s", given, cause);
	assert_null(cause);
	w = json_loads(want, 0, NULL);
	assert_non_null(w);
	if (!json_equal(out, w)) {
		got = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("params %s gave %s, want %s", given, got, want);
	}
	json_decref(w);
	json_decref(out);
}

/* Check that params_check(given) is refused with a message naming needle. */
static void
params_bad(const struct taskdef *def, const char *given, int ignore,
    const char *needle)
{
	json_t	*out;
	char	*cause, *got;

	out = check_params(def, given, ignore, &cause);
	if (out != NULL) {
		got = json_dumps(out, JSON_COMPACT);
		fail_msg("params %s accepted as %s", given, got);
	}
	assert_non_null(cause);
	if (needle != NULL && strstr(cause, needle) == NULL)
		fail_msg("\"%s\" does not mention \"%s\"", cause, needle);
	free(cause);
}

/* Every declared parameter comes out: given, default, false or "". */
static void
test_params_defaults(void **state)
{
	struct taskdef	*def = params_def();

	params_are(def, "{\"mode\":\"hard\"}", 0, "{\"host\":\"localhost\","
	    "\"port\":\"6379\",\"force\":\"false\",\"mode\":\"hard\","
	    "\"note\":\"\"}");
	params_are(def, "{\"mode\":\"soft\",\"host\":\"db1\",\"port\":\"+80\","
	    "\"force\":\"yes\",\"note\":\"hi there\"}", 0,
	    "{\"host\":\"db1\",\"port\":\"80\",\"force\":\"true\","
	    "\"mode\":\"soft\",\"note\":\"hi there\"}");
	/* null is the same as not given. */
	params_are(def, "{\"mode\":\"hard\",\"port\":null}", 0,
	    "{\"host\":\"localhost\",\"port\":\"6379\",\"force\":\"false\","
	    "\"mode\":\"hard\",\"note\":\"\"}");
	taskdef_free(def);
}

/* JSON integers and booleans are accepted and spelt out. */
static void
test_params_json_types(void **state)
{
	struct taskdef	*def = params_def();

	params_are(def, "{\"mode\":\"hard\",\"port\":8080,\"force\":true}", 0,
	    "{\"host\":\"localhost\",\"port\":\"8080\",\"force\":\"true\","
	    "\"mode\":\"hard\",\"note\":\"\"}");
	params_are(def, "{\"mode\":\"hard\",\"note\":true}", 0,
	    "{\"host\":\"localhost\",\"port\":\"6379\",\"force\":\"false\","
	    "\"mode\":\"hard\",\"note\":\"true\"}");
	params_are(def, "{\"mode\":\"hard\",\"port\":-1,\"force\":false,"
	    "\"note\":12}", 0, "{\"host\":\"localhost\",\"port\":\"-1\","
	    "\"force\":\"false\",\"mode\":\"hard\",\"note\":\"12\"}");
	params_bad(def, "{\"mode\":\"hard\",\"port\":1.5}", 0, "port");
	params_bad(def, "{\"mode\":\"hard\",\"note\":[1]}", 0, "note");
	params_bad(def, "{\"mode\":\"hard\",\"note\":{}}", 0, "note");
	params_bad(def, "{\"mode\":\"hard\",\"force\":1.0}", 0, "force");
	taskdef_free(def);
}

/* Undeclared names are refused, unless told to ignore them (webhooks). */
static void
test_params_unknown(void **state)
{
	struct taskdef	*def = params_def(), *none;

	params_bad(def, "{\"mode\":\"hard\",\"bogus\":\"1\"}", 0, "bogus");
	params_bad(def, "{\"mode\":\"hard\",\"Host\":\"x\"}", 0, "Host");
	params_are(def, "{\"mode\":\"hard\",\"bogus\":\"1\",\"repository\":"
	    "{\"name\":\"x\"}}", 1, "{\"host\":\"localhost\","
	    "\"port\":\"6379\",\"force\":\"false\",\"mode\":\"hard\","
	    "\"note\":\"\"}");
	/* Declared ones are still checked when the rest is ignored. */
	params_bad(def, "{\"mode\":\"medium\",\"bogus\":\"1\"}", 1, "mode");

	none = parse_ok("# No parameters.\n");
	params_are(none, NULL, 0, "{}");
	params_are(none, "{}", 0, "{}");
	params_bad(none, "{\"x\":\"1\"}", 0, "x");
	params_are(none, "{\"x\":\"1\"}", 1, "{}");
	taskdef_free(none);
	taskdef_free(def);
}

/* A required parameter must be given and not empty. */
static void
test_params_required(void **state)
{
	struct taskdef	*def = params_def();

	params_bad(def, NULL, 0, "mode");
	params_bad(def, "{}", 0, "mode");
	params_bad(def, "{\"host\":\"x\"}", 0, "mode");
	params_bad(def, "{\"mode\":\"\"}", 0, "mode");
	params_bad(def, "{\"mode\":null}", 0, "mode");
	taskdef_free(def);
}

/* Values are checked against their types; NUL and non-objects are refused. */
static void
test_params_invalid(void **state)
{
	struct taskdef	*def = params_def();
	json_t		*in, *out;
	char		*cause = NULL;

	params_bad(def, "{\"mode\":\"medium\"}", 0, "mode");
	params_bad(def, "{\"mode\":\"hard\",\"port\":\"http\"}", 0, "port");
	params_bad(def, "{\"mode\":\"hard\",\"force\":\"perhaps\"}", 0,
	    "force");

	in = json_pack("{s:s,s:s%}", "mode", "hard", "note", "a\0b",
	    (size_t)3);
	assert_non_null(in);
	out = params_check(def, in, 0, &cause);
	assert_null(out);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "note"));
	assert_non_null(strstr(cause, "NUL"));
	free(cause);
	json_decref(in);

	params_bad(def, "[\"mode\",\"hard\"]", 0, NULL);
	params_bad(def, "\"mode=hard\"", 0, NULL);
	params_bad(def, "42", 1, NULL);
	taskdef_free(def);
}

/*
 * params_problems: every problem at once, in order (undeclared names,
 * then the declared parameters), each with the message params_check
 * gives for it; none for good values.
 */
static void
test_params_problems(void **state)
{
	struct taskdef	*def = params_def();
	json_t		*in, *p, *w;
	char		*cause = NULL, *got;
	const char	*want = "[{\"param\":\"bogus\",\"message\":\"bogus: no "
	    "such parameter\"},{\"param\":\"port\",\"message\":\"port: "
	    "'http' is not an integer\"},{\"param\":\"mode\",\"message\":"
	    "\"mode: required parameter is missing\"}]";

	in = json_loads("{\"port\":\"http\",\"bogus\":\"1\",\"force\":"
	    "\"yes\"}", 0, NULL);
	assert_non_null(in);
	p = params_problems(def, in, 0);
	got = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
	w = json_loads(want, 0, NULL);
	assert_non_null(w);
	if (!json_equal(p, w))
		fail_msg("problems %s, want %s", got, want);
	json_decref(w);
	assert_null(params_check(def, in, 0, &cause));
	assert_string_equal(cause, "bogus: no such parameter");
	free(cause);
	free(got);
	json_decref(p);
	json_decref(in);

	/* Ignored undeclared names are no problem; good values none. */
	in = json_loads("{\"mode\":\"hard\",\"bogus\":\"1\"}", 0, NULL);
	p = params_problems(def, in, 1);
	assert_int_equal(json_array_size(p), 0);
	json_decref(p);
	json_decref(in);

	/* Not an object: one problem of no parameter. */
	in = json_loads("[1]", 0, NULL);
	p = params_problems(def, in, 0);
	assert_int_equal(json_array_size(p), 1);
	assert_true(json_is_null(json_object_get(json_array_get(p, 0),
	    "param")));
	json_decref(p);
	json_decref(in);
	taskdef_free(def);
}

/* Run every test; CMOCKA_MESSAGE_OUTPUT=TAP makes the output TAP. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_defaults),
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_shebang),
		cmocka_unit_test(test_description),
		cmocka_unit_test(test_comment_markers),
		cmocka_unit_test(test_block_end),
		cmocka_unit_test(test_blank_lines_first),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_schedule_bad),
		cmocka_unit_test(test_schedule_params),
		cmocka_unit_test(test_schedule_params_many),
		cmocka_unit_test(test_schedule_params_bad),
		cmocka_unit_test(test_schedule_params_words),
		cmocka_unit_test(test_timezone),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_param),
		cmocka_unit_test(test_param_bad),
		cmocka_unit_test(test_tokenize_errors),
		cmocka_unit_test(test_param_duplicate),
		cmocka_unit_test(test_concurrency),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_workdir),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_env_rest_of_line),
		cmocka_unit_test(test_env_bad),
		cmocka_unit_test(test_env_param_clash),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_title),
		cmocka_unit_test(test_unknown_directive),
		cmocka_unit_test(test_unknown_directive_suggests),
		cmocka_unit_test(test_repeated_directive),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_taskfile_name),
		cmocka_unit_test(test_taskfile_ignored),
		cmocka_unit_test(test_taskname_valid),
		cmocka_unit_test(test_taskparam_name_valid),
		cmocka_unit_test(test_normalise_int),
		cmocka_unit_test(test_normalise_bool),
		cmocka_unit_test(test_normalise_choice),
		cmocka_unit_test(test_normalise_length),
		cmocka_unit_test(test_params_defaults),
		cmocka_unit_test(test_params_json_types),
		cmocka_unit_test(test_params_unknown),
		cmocka_unit_test(test_params_required),
		cmocka_unit_test(test_params_invalid),
		cmocka_unit_test(test_params_problems),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
