/* microlightctl help [COMMAND]: what a command does, with its options. */

#include <err.h>
#include <stdio.h>
#include <string.h>

#include "microlightctl.h"

/* Each command's text, after its usage; microlightctl(1) has the rest. */
static const struct {
	const char	*name;
	const char	*text;
} help_texts[] = {
	{ "list", "List every task: its schedules, next run, last run and "
	    "its status.\n" },
	{ "show", "Show one task: its description, directives, parameters, "
	    "scheduled runs\nand recent runs.\n" },
	{ "run", "Start a run of TASK with the given parameters and print "
	    "its id.\n\n"
	    "  --wait           wait for the end; exit with the run's status\n"
	    "  --follow         write its output as it comes, then exit as "
	    "--wait\n"
	    "  --at TIME        a run for later: ISO 8601 with an offset,\n"
	    "                   YYYY-MM-DD HH:MM[:SS] local, or @SECONDS\n"
	    "  --in DURATION    a run for later, after 90s, 10m, 2h30m, 1d\n" },
	{ "rerun", "Start RUN's task again with RUN's parameters, the given "
	    "ones replacing\ntheirs, and print the new run's id.\n\n"
	    "  --wait           wait for the end; exit with the run's status\n"
	    "  --follow         write its output as it comes, then exit as "
	    "--wait\n"
	    "  --at TIME        a run for later, as run --at\n"
	    "  --in DURATION    a run for later, as run --in\n" },
	{ "logs", "Write a run's output, byte for byte.\n\n"
	    "  -f, --follow     go on until the run ends; exit as run --wait\n"
	    "  --stream S       stdout or stderr only\n" },
	{ "runs", "List runs, newest first (scheduled ones soonest first).\n\n"
	    "  -n N             at most N (default 20)\n"
	    "  --status S       of this status only\n"
	    "  --before RUN     those after run RUN in that order: the next "
	    "page\n" },
	{ "status", "Show one run's record; for a run that has ended, exit "
	    "with its status\nas run --wait does.\n" },
	{ "cancel", "Cancel a scheduled, queued or running run.\n" },
	{ "reload", "Reload the configuration and the tasks directory.\n" },
	{ "webhook", "Print a task's webhook URL and secret, and a curl line "
	    "to try them.\n\n"
	    "  --rotate         make a new secret; the old one is refused\n" },
	{ "backup", "Write a consistent copy of the database to FILE while "
	    "the daemon runs.\n" },
	{ "next", "Print the next times a schedule expression fires (no "
	    "daemon needed).\n\n"
	    "  -n COUNT         how many (default 5)\n"
	    "  --from TIME      after TIME instead of now\n"
	    "  --tz ZONE        in this time zone\n" },
	{ "token", "Make, list and revoke API tokens for the HTTP API "
	    "(administrators only).\n"
	    "create prints the secret alone on standard output, this once: "
	    "the daemon\nkeeps only its SHA-256. Send it as "
	    "\"Authorization: Bearer SECRET\".\n\n"
	    "  --task TASK      limit the token to TASK (repeat for more); "
	    "default: every\n"
	    "                   task its maker may use\n"
	    "  --expires DUR    refuse it after DUR (90s, 12h, 30d); "
	    "default: never\n" },
	{ "ping", "Print the daemon's version, uptime and load.\n" },
	{ "help", "Say what a command does, with its options; without one, "
	    "list them all.\n" },
};

/*
 * What a command does, in its text's first sentence on one line, in buf
 * (empty if it has no text): for the list of commands of --help.
 */
const char *
help_summary(const char *name, char *buf, size_t len)
{
	const char	*t = NULL;
	size_t		 n = 0;
	u_int		 i;

	for (i = 0; i < sizeof help_texts / sizeof help_texts[0]; i++) {
		if (strcmp(help_texts[i].name, name) == 0) {
			t = help_texts[i].text;
			break;
		}
	}
	for (; t != NULL && *t != '\0' && n + 1 < len; t++) {
		if (t[0] == '\n' && (n == 0 || t[1] == '\n' || t[1] == '\0'))
			break;
		buf[n++] = *t == '\n' ? ' ' : *t;
		if (t[0] == '.' && (t[1] == ' ' || t[1] == '\n' ||
		    t[1] == '\0'))
			break;
	}
	buf[n] = '\0';
	return (buf);
}

/* help [COMMAND] */
int
cmd_help(int argc, char **argv)
{
	const char	*u;
	u_int		 i;

	if (argc == 1)
		usage(0);
	if (argc != 2)
		cmd_usage();
	if ((u = ctl_usage(argv[1])) == NULL) {
		unknown_command(argv[1]);
		cmd_usage();
	}
	print_usage(stdout, u);
	for (i = 0; i < sizeof help_texts / sizeof help_texts[0]; i++) {
		if (strcmp(help_texts[i].name, argv[1]) == 0) {
			printf("\n%s", help_texts[i].text);
			break;
		}
	}
	return (0);
}
