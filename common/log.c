/* Logging: stderr in the foreground, syslog in the background. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "ml.h"

static int	 log_foreground = 1;
static int	 log_verbose;
static const char *log_procname = "microlight";

static void	 log_vwrite(int, const char *, va_list)
		     __attribute__((format(printf, 2, 0)));

/* Start logging: to stderr if foreground, else to syslog as procname. */
void
log_init(const char *procname, int foreground, int verbose)
{
	log_procname = procname;
	log_foreground = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(procname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

/* Change the verbosity (0 quiet, 1 info, 2 debug). */
void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

/* Return the verbosity. */
int
log_getverbose(void)
{
	return (log_verbose);
}

/* Write one line at a syslog priority. */
static void
log_vwrite(int pri, const char *fmt, va_list ap)
{
	char	 msg[2048], *p;

	vsnprintf(msg, sizeof msg, fmt, ap);
	/* One event, one line: a task's text never splits a log line. */
	for (p = msg; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	if (log_foreground) {
		const char *level;

		switch (pri) {
		case LOG_CRIT:
			level = "fatal: ";
			break;
		case LOG_WARNING:
			level = "warning: ";
			break;
		case LOG_DEBUG:
			level = "debug: ";
			break;
		default:
			level = "";
			break;
		}
		fprintf(stderr, "%s: %s%s\n", log_procname, level, msg);
		fflush(stderr);
	} else
		syslog(pri, "%s", msg);
}

/* Log a warning with the text of errno appended. */
void
log_warn(const char *fmt, ...)
{
	char	*nfmt;
	int	 saved = errno;
	va_list	 ap;

	va_start(ap, fmt);
	if (asprintf(&nfmt, "%s: %s", fmt, strerror(saved)) == -1)
		log_vwrite(LOG_WARNING, fmt, ap);
	else {
		log_vwrite(LOG_WARNING, nfmt, ap);
		free(nfmt);
	}
	va_end(ap);
	errno = saved;
}

/* Log a warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap);
	va_end(ap);
}

/* Log an informational line, shown unless quiet. */
void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap);
	va_end(ap);
}

/* Log a debugging line, shown with -v. */
void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* Log a fatal error with errno's text and exit. */
void
fatal(const char *fmt, ...)
{
	char	*nfmt;
	int	 saved = errno;
	va_list	 ap;

	va_start(ap, fmt);
	if (asprintf(&nfmt, "%s: %s", fmt, strerror(saved)) == -1)
		log_vwrite(LOG_CRIT, fmt, ap);
	else
		log_vwrite(LOG_CRIT, nfmt, ap);
	va_end(ap);
	exit(1);
}

/* Log a fatal error and exit. */
void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
