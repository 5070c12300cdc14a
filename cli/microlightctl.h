/* microlightctl: structures and prototypes, grouped by file. */

#ifndef MICROLIGHTCTL_H
#define MICROLIGHTCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "ml.h"
#include "proto.h"

/* Exit statuses of SPEC section 5 (sysexits.h numbers). */
#define EXIT_USAGE	64
#define EXIT_DATAERR	65
#define EXIT_UNAVAILABLE 69
#define EXIT_CANTCREAT	73	/* backup: cannot write FILE */
#define EXIT_SKIPPED	75	/* EX_TEMPFAIL: @overlap skip refused the run */
#define EXIT_SOFTWARE	70

#define CLIENT_MAX_FRAME (64 * 1024 * 1024)
#define CLIENT_READ_SIZE (256 * 1024)	/* one read of the socket */

/* client.c */
struct conn {
	int			 fd;
	const char		*path;
	struct frame_reader	 fr;
	char			*line;	/* the raw text of the last frame */
};
void		 conn_open(struct conn *, const char *);
void		 conn_close(struct conn *);
void		 conn_send(struct conn *, json_t *);
json_t		*conn_recv(struct conn *);
void		 conn_copy(struct conn *, size_t, int);
json_t		*conn_request(struct conn *, json_t *);
__dead void	 conn_fail(json_t *);
int		 exit_for_error(json_t *);

/* print.c */
struct table;
struct table	*table_create(u_int, ...);
void		 table_add(struct table *, ...);
void		 table_print(struct table *);
int		 print_colour(void);
const char	*status_colour(const char *);
const char	*colour_reset(void);
const char	*jstr(json_t *, const char *);
int64_t		 jint(json_t *, const char *, int64_t);
void		 fmt_time(json_t *, const char *, char *, size_t);
void		 fmt_duration(json_t *, char *, size_t);
void		 print_run(json_t *);
void		 print_runs(json_t *, int);
void		 print_task(json_t *, json_t *, json_t *);
struct task_table;
struct task_table *task_table_create(void);
void		 task_table_add(struct task_table *, json_t *);
void		 task_table_print(struct task_table *);
void		 print_tokens(json_t *);
void		 write_all(int, const void *, size_t);
char		*text_vis(const char *);
void		 print_line(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/* microlightctl.c */
extern int	 json_output;
__dead void	 usage(int);
__dead void	 cmd_usage(void);
void		 print_usage(FILE *, const char *);
const char	*ctl_usage(const char *);
void		 unknown_command(const char *);
json_t		*request(struct conn *, json_t *);

/* help.c */
int		 cmd_help(int, char **);
const char	*help_summary(const char *, char *, size_t);

/* token.c */
int		 cmd_token(int, char **);

/* follow.c */
int		 run_exit_status(json_t *);
void		 follow_ask_raw(json_t *);
json_t		*follow_events(struct conn *);
void		 report_end(json_t *);
int		 run_end_status(json_t *);
char		*run_at(const char *);

#endif /* MICROLIGHTCTL_H */
