/*
 * Who hears of what (SPEC section 9): "TASK [on=EVENTS]", as @notify and
 * the config's notify take it, and the names of the events.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml.h"

static const char *const notify_names[] = {
	"failure", "recovery", "missed", "overdue", "success"
};
#define NOTIFY_NNAMES (sizeof notify_names / sizeof notify_names[0])

/* The name of one event (a single NOTIFY_ bit). */
const char *
notify_event_name(u_int event)
{
	u_int	 i;

	for (i = 0; i < NOTIFY_NNAMES; i++) {
		if (event == (1U << i))
			return (notify_names[i]);
	}
	return ("?");
}

/* The event named name (a NOTIFY_ bit), or 0. */
u_int
notify_event_from(const char *name, size_t len)
{
	u_int	 i;

	for (i = 0; i < NOTIFY_NNAMES; i++) {
		if (strlen(notify_names[i]) == len &&
		    strncmp(notify_names[i], name, len) == 0)
			return (1U << i);
	}
	return (0);
}

/*
 * Read "TASK [on=EVENTS]": the notifier's name (new) in *task, its events
 * in *events (the default ones without on=). Returns 0, or -1 with why
 * (a new string) in *cause.
 */
int
notify_spec_parse(const char *s, char **task, u_int *events, char **cause)
{
	const char	*p, *end;
	size_t		 len;
	u_int		 ev;

	*task = NULL;
	*events = NOTIFY_DEFAULT;
	s += strspn(s, " \t");
	len = strcspn(s, " \t");
	if (len == 0) {
		*cause = xstrdup("needs the notifier task's name");
		return (-1);
	}
	*task = xstrndup(s, len);
	if (!taskname_valid(*task)) {
		xasprintf(cause, "'%s' is not a task name", *task);
		goto bad;
	}
	p = s + len;
	p += strspn(p, " \t");
	if (*p == '\0')
		return (0);
	if (strncmp(p, "on=", 3) != 0) {
		xasprintf(cause, "'%s': only on=EVENTS may follow the task", p);
		goto bad;
	}
	p += 3;
	*events = 0;
	for (;;) {
		end = p + strcspn(p, ", \t");
		if ((ev = notify_event_from(p, end - p)) == 0) {
			xasprintf(cause, "'%.*s' is no event (failure, "
			    "recovery, missed, overdue, success)",
			    (int)(end - p), p);
			goto bad;
		}
		*events |= ev;
		if (*end != ',')
			break;
		p = end + 1;
	}
	end += strspn(end, " \t");
	if (*end != '\0') {
		xasprintf(cause, "'%s' after the events", end);
		goto bad;
	}
	return (0);
bad:
	free(*task);
	*task = NULL;
	return (-1);
}
