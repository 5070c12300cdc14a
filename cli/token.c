/* microlightctl token: create, list and revoke API tokens. */

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "microlightctl.h"

/*
 * token create NAME [--task TASK ...] [--expires DURATION]: the secret,
 * alone on standard output (T=$(microlightctl token create ci) works);
 * on a terminal, a word on standard error that it is not shown again.
 */
static int
token_create(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "task", required_argument, NULL, 't' },
		{ "expires", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	struct conn	 c;
	json_t		*req, *r, *v, *tasks = NULL;
	const char	*expires = NULL, *secret;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 't':
			if ((v = json_string(optarg)) == NULL)
				errx(EXIT_DATAERR, "a task name is not UTF-8");
			if (tasks == NULL)
				tasks = json_array();
			json_array_append_new(tasks, v);
			break;
		case 'e':
			expires = optarg;
			break;
		default:
			cmd_usage();
		}
	}
	if (argc - optind != 1)
		cmd_usage();
	req = json_pack("{s:s,s:s,s:s}", K_CMD, CMD_TOKEN, K_ACTION,
	    TOKEN_CREATE, K_NAME, argv[optind]);
	if (req == NULL)
		errx(EXIT_DATAERR, "the token name is not UTF-8");
	if (tasks != NULL)
		json_object_set_new(req, K_TASKS, tasks);
	if (expires != NULL &&
	    json_object_set_new(req, K_EXPIRES, json_string(expires)) != 0)
		errx(EXIT_DATAERR, "--expires is not UTF-8");
	r = request(&c, req);
	secret = jstr(json_object_get(r, K_TOKEN), K_SECRET);
	if (!json_output) {
		if (secret == NULL)
			errx(EXIT_SOFTWARE, "no secret in microlightd's reply");
		print_line("%s", secret);
		fflush(stdout);
		if (isatty(STDOUT_FILENO))
			fprintf(stderr, "This is the only time the secret is "
			    "shown: microlightd keeps its hash alone.\n"
			    "Send it as \"Authorization: Bearer SECRET\".\n");
	}
	json_decref(r);
	conn_close(&c);
	return (0);
}

/* token list: a table of the tokens, never their secrets. */
static int
token_list(int argc, char **argv)
{
	struct conn	 c;
	json_t		*r;

	if (argc != 1)
		cmd_usage();
	r = request(&c, json_pack("{s:s,s:s}", K_CMD, CMD_TOKEN, K_ACTION,
	    TOKEN_LIST));
	if (!json_output)
		print_tokens(json_object_get(r, K_TOKENS));
	json_decref(r);
	conn_close(&c);
	return (0);
}

/* token revoke NAME */
static int
token_revoke(int argc, char **argv)
{
	struct conn	 c;
	json_t		*req, *r;

	if (argc != 2)
		cmd_usage();
	if ((req = json_pack("{s:s,s:s,s:s}", K_CMD, CMD_TOKEN, K_ACTION,
	    TOKEN_REVOKE, K_NAME, argv[1])) == NULL)
		errx(EXIT_DATAERR, "the token name is not UTF-8");
	r = request(&c, req);
	if (!json_output)
		print_line("token %s revoked", argv[1]);
	json_decref(r);
	conn_close(&c);
	return (0);
}

/* token create|list|revoke ... */
int
cmd_token(int argc, char **argv)
{
	static const struct {
		const char	*name;
		int		(*handler)(int, char **);
	} actions[] = {
		{ TOKEN_CREATE, token_create },
		{ TOKEN_LIST, token_list },
		{ TOKEN_REVOKE, token_revoke },
	};
	u_int	 i;

	if (argc < 2)
		cmd_usage();
	for (i = 0; i < sizeof actions / sizeof actions[0]; i++) {
		if (strcmp(actions[i].name, argv[1]) == 0)
			return (actions[i].handler(argc - 1, argv + 1));
	}
	cmd_usage();
}
