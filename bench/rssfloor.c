/*
 * rssfloor: the resident size of a program that links what microlightd
 * links (SQLite, libevent, jansson, libbsd) and does the least with them:
 * opens a database in WAL mode, makes an event base and a JSON object.
 * It prints its VmRSS in KiB: the floor under microlightd's own figure.
 *
 * usage: rssfloor DATABASE
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

int
main(int argc, char **argv)
{
	struct event_base	*base;
	sqlite3			*db;
	json_t			*obj;
	char			 line[256];
	FILE			*f;
	long long		 v;
	const char		*errstr;

	if (argc != 2)
		return (64);
	base = event_base_new();
	obj = json_object();
	if (sqlite3_open(argv[1], &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE IF NOT "
	    "EXISTS t (x);", NULL, NULL, NULL) != SQLITE_OK)
		return (1);
	v = strtonum("1", 0, 9, &errstr);	/* libbsd, as the daemon */
	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return (1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			printf("%lld\n", strtoll(line + 6, NULL, 10) + v - 1);
	}
	fclose(f);
	sqlite3_close(db);
	json_decref(obj);
	event_base_free(base);
	return (0);
}
