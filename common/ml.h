/* Declarations shared by microlightd and microlightctl (libml.a). */

#ifndef ML_H
#define ML_H

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ML_NAME_MAX		64	/* task name length */
#define ML_PARAM_NAME_MAX	32	/* parameter name length */
#define ML_PARAM_VALUE_MAX	4096	/* parameter value length */
#define ML_HEADER_MAX		(64 * 1024) /* bytes of a task file read */

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif

/* log.c */
void		 log_init(const char *, int, int);
void		 log_setverbose(int);
int		 log_getverbose(void);
void		 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void		 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void		 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void		 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
__dead void	 fatal(const char *, ...) __attribute__((format(printf, 1, 2)));
__dead void	 fatalx(const char *, ...) __attribute__((format(printf, 1, 2)));

/* xmalloc.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xreallocarray(void *, size_t, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
int		 xasprintf(char **, const char *, ...)
		     __attribute__((format(printf, 2, 3)));
int		 xvasprintf(char **, const char *, va_list)
		     __attribute__((format(printf, 2, 0)));

/* units.c */
int		 duration_parse(const char *, int64_t *, const char **);
void		 duration_format(int64_t, char *, size_t);
void		 duration_format_ms(int64_t, char *, size_t);
int		 size_parse(const char *, int64_t *, const char **);
void		 size_format(int64_t, char *, size_t);

/* timefmt.c */
#define TIME_RFC3339_LEN	32
int64_t		 time_now_ms(void);
int64_t		 time_now_us(void);
int64_t		 time_mono_ms(void);
void		 time_rfc3339(int64_t, char *, size_t);
int		 time_parse_digits(const char **, int, int *);
int		 time_parse_rfc3339(const char *, int64_t *);
int		 time_parse_when(const char *, int64_t *);
void		 time_local(int64_t, char *, size_t);

/* paths.c */
enum ml_path {
	PATH_CONFIG,
	PATH_TASKS,
	PATH_STATE,
	PATH_SOCKET,
	PATH_SOCKET_SYSTEM,	/* root's socket, whoever asks */
	PATH_PIDFILE,
};
char		*paths_default(enum ml_path);
int		 paths_mkdir(const char *, mode_t, char **);

/* tz.c */
struct civil {
	int64_t	 year;
	int	 month;		/* 1-12 */
	int	 day;		/* 1-31 */
	int	 hour;
	int	 minute;
	int	 second;
	int	 wday;		/* 0 Sunday */
};
struct tz;
struct tz	*tz_load(const char *, char **);
void		 tz_free(struct tz *);
const char	*tz_name(const struct tz *);
int		 tz_offset(const struct tz *, int64_t, int64_t *, int64_t *);
void		 civil_from_secs(int64_t, struct civil *);
int64_t		 civil_to_secs(const struct civil *);
int		 civil_month_days(int64_t, int);

/* cron.c */
struct cron {
	uint64_t	 sec;		/* bit n: second n matches */
	uint64_t	 min;
	uint32_t	 hour;
	uint32_t	 dom;		/* bits 1-31 */
	uint16_t	 mon;		/* bits 1-12 */
	uint8_t		 dow;		/* bits 0-6, 0 Sunday */
	int		 dom_star;	/* the field starts with '*' */
	int		 dow_star;
	int		 hour_star;	/* an every-hour schedule */
	int		 has_seconds;
	int		 reboot;	/* @reboot */
};
int		 cron_parse(const char *, struct cron *, char **);
int		 cron_civil_next(const struct cron *, struct civil *);
int64_t		 cron_next(const struct cron *, const struct tz *, int64_t);
void		 cron_format(const struct tz *, int64_t, char *, size_t);

/* cron_words.c */
char		*cron_describe(const char *);

/* base64.c */
char		*base64_encode(const void *, size_t, size_t *);
int		 base64_decode(const char *, size_t, void **, size_t *);

/* utf8.c */
int		 utf8_valid(const char *, size_t);

/* suggest.c */
const char	*suggest(const char *, const char *const *, size_t);

/* hmac.c */
#define HMAC_SHA256_LEN		32	/* bytes of a SHA-256 digest */
#define HMAC_SECRET_LEN		64	/* characters of hmac_secret() */
void		 hmac_digest(const void *, size_t, u_char *);
void		 hmac_sha256(const void *, size_t, const void *, size_t,
		     u_char *);
int		 hmac_equal(const void *, const void *, size_t);
void		 hmac_hex_encode(const void *, size_t, char *);
int		 hmac_hex_decode(const char *, size_t, void *, size_t);
int		 hmac_check_github(const char *, const void *, size_t,
		     const char *);
int		 hmac_check_secret(const char *, const char *);
char		*hmac_secret(void);

/* html.c */
#define HTML_ANSI_SEQ_MAX	64	/* CSI parameter bytes kept */
struct html_ansi_state {		/* zero before the first chunk */
	u_char	 fg;			/* 0: default, else colour 0-15 + 1 */
	u_char	 bg;
	u_char	 attr;			/* bold, dim, italic, underline */
	u_char	 esc;			/* escape parser state, 0: text */
	u_char	 cr;			/* the last byte was \r */
	u_char	 ulen;			/* bytes of a UTF-8 character ... */
	u_char	 ubuf[4];		/* ... split across chunks */
	u_char	 plen;			/* CSI parameter bytes saved */
	u_char	 pover;			/* more than HTML_ANSI_SEQ_MAX */
	char	 params[HTML_ANSI_SEQ_MAX];
};
char		*html_escape(const char *, size_t);
char		*html_ansi(const void *, size_t, struct html_ansi_state *);

/* taskfile.c */
enum param_type {
	PARAM_STRING,
	PARAM_INT,
	PARAM_BOOL,
	PARAM_CHOICE,
};
enum overlap_policy {
	OVERLAP_QUEUE,
	OVERLAP_SKIP,
};

struct taskparam {
	char		 *name;
	enum param_type	  type;
	char		 *label;
	char		 *def;		/* normalised default or NULL */
	int		  required;
	char		**choices;
	u_int		  nchoices;
	int		  line;
};

struct json_t;
struct taskschedule {
	char		*expr;
	struct json_t	*params;	/* NAME: VALUE as written, or NULL */
	int		 line;
};

struct taskerror {
	int		 line;		/* 0: the file as a whole */
	char		*msg;
};

/* Events a notifier hears of (SPEC section 9). */
#define NOTIFY_FAILURE		0x01
#define NOTIFY_RECOVERY		0x02
#define NOTIFY_MISSED		0x04
#define NOTIFY_OVERDUE		0x08
#define NOTIFY_SUCCESS		0x10
#define NOTIFY_DEFAULT		(NOTIFY_FAILURE | NOTIFY_RECOVERY | \
				 NOTIFY_MISSED | NOTIFY_OVERDUE)

/* A notifier of a task: @notify TASK [on=EVENTS]. */
struct tasknotify {
	char			*task;
	u_int			 events;
};

struct taskdef {
	char			*description;
	struct taskschedule	*schedules;
	u_int			 nschedules;
	char			*timezone;
	int64_t			 timeout;	/* seconds; -1: default */
	struct taskparam	*params;
	u_int			 nparams;
	int			 concurrency;
	enum overlap_policy	 overlap;
	int			 retries;
	int64_t			 retry_delay;	/* seconds */
	int			 webhook;
	char			*on_failure;
	int			 on_failure_line;
	char			*on_success;
	int			 on_success_line;
	char			*user;
	int			 user_line;
	char			*workdir;
	char			**env;		/* KEY=VALUE */
	u_int			 nenv;
	int			 priority;
	int			 catchup;
	int			 confirm;
	char			*group;
	char			*title;		/* @title: the page's name */
	char			**allow;	/* users and %groups */
	u_int			 nallow;
	struct tasknotify	*notify;
	u_int			 nnotify;
	char			**webhook_headers; /* @webhook-header names */
	u_int			 nwebhook_headers;
	int64_t			 expect;	/* seconds; 0: none */

	struct taskerror	*errors;
	u_int			 nerrors;
};

#define TASKDEF_MAX_ERRORS	20
#define TASKDEF_MAX_PARAMS	64
#define TASKDEF_MAX_REPEAT	64	/* @schedule and @env entries */

int		 taskfile_name(const char *, char *, size_t, const char **);
int		 taskfile_ignored(const char *);
struct taskdef	*taskfile_parse(const char *, size_t);
void		 taskdef_free(struct taskdef *);
int		 taskname_valid(const char *);
int		 allow_name_valid(const char *);
int		 taskparam_name_valid(const char *);
int		 taskparam_normalise(const struct taskparam *, const char *,
		     char **, char **);
const struct taskparam *taskdef_param(const struct taskdef *, const char *);

/* notify_spec.c */
const char	*notify_event_name(u_int);
u_int		 notify_event_from(const char *, size_t);
int		 notify_spec_parse(const char *, char **, u_int *, char **);

/* taskfile_directives.c */
const char	*taskparam_type_name(enum param_type);

#endif /* ML_H */
