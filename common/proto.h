/* The wire protocol between microlightd and its clients: the one place for it. */

#ifndef PROTO_H
#define PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * Bump ML_PROTO_VERSION whenever a command, key, error code, event or run
 * state below changes in a way an older client or daemon would misread.
 * Adding an optional key is not such a change.
 *
 * Framing: every request and every reply is one JSON object followed by one
 * newline ("\n"); JSON never contains a raw newline, so a line is a frame.
 * A request is at most ML_MAX_REQUEST bytes including its newline.
 * Any request may carry K_PROTOCOL, the client's ML_PROTO_VERSION: a
 * daemon of another version refuses it with E_PROTOCOL, whatever its
 * command, rather than misread it.
 *
 * Raw output (protocol 3): a request for a run's output (logs, and run
 * or rerun with K_FOLLOW) may carry K_RAW true. Its output events
 * then have K_SIZE in place of K_DATA, and the line of each is followed
 * by exactly K_SIZE bytes: the chunk of output as it is, in no encoding,
 * with no newline of its own; the next line starts after them. Without
 * K_RAW every output event is one line, its bytes in base64 in K_DATA,
 * four bytes sent for three and decoded by the client; a client that
 * copies output through takes it raw.
 *
 * A list a task at a time (protocol 4): a brief list (K_BRIEF) with
 * K_EACH true sends each task as an event line of its own, EV_TASK with
 * the task in K_TASK, then the reply without K_TASKS. A client then
 * holds one task's objects at a time, not the whole list's.
 */
#define ML_PROTO_VERSION	4
#define ML_MAX_REQUEST		(1024 * 1024)

/* Commands: the "cmd" member of a request, the same word as the CLI's. */
#define CMD_PING		"ping"
#define CMD_LIST		"list"
#define CMD_SHOW		"show"
#define CMD_RUN			"run"
#define CMD_RERUN		"rerun"
#define CMD_LOGS		"logs"
#define CMD_RUNS		"runs"
#define CMD_STATUS		"status"
#define CMD_CANCEL		"cancel"
#define CMD_RELOAD		"reload"
#define CMD_BACKUP		"backup"
#define CMD_WEBHOOK		"webhook"
#define CMD_TOKEN		"token"		/* K_ACTION: TOKEN_* below */

/* Request and reply keys. */
#define K_CMD			"cmd"
#define K_OK			"ok"
#define K_ERROR			"error"
#define K_CODE			"code"
#define K_MESSAGE		"message"
#define K_TASK			"task"
#define K_TASKS			"tasks"
#define K_RUN			"run"
#define K_RUNS			"runs"
#define K_SCHEDULED		"scheduled"	/* show: a task's future runs */
#define K_PARAMS		"params"
#define K_PARAM			"param"		/* a problem's parameter */
#define K_PROBLEMS		"problems"	/* bad-params: each problem */
#define K_WAIT			"wait"
#define K_FOLLOW		"follow"
#define K_STREAM		"stream"
#define K_RAW			"raw"		/* output events as raw bytes */
#define K_LIMIT			"limit"
#define K_BRIEF			"brief"		/* list: the table's members */
#define K_EACH			"each"		/* list: a task an event */
#define K_STATUS		"status"
#define K_BEFORE		"before"
#define K_EVENT			"event"
#define K_DATA			"data"
#define K_SEQ			"seq"
#define K_TIME			"time"
#define K_VERSION		"version"
#define K_PROTOCOL		"protocol"
#define K_PID			"pid"
#define K_UPTIME		"uptime"
#define K_STARTED_AT		"started_at"
#define K_RUNNING		"running"
#define K_QUEUED		"queued"
#define K_INVALID		"invalid"
#define K_ERRORS		"errors"
#define K_PRUNED		"pruned"	/* runs reply: runs pruned */
#define K_SIZE			"size"
#define K_KEEP_RUNS		"keep_runs"
#define K_KEEP_DAYS		"keep_days"
#define K_AT			"at"		/* run: a future run's time */
#define K_IN			"in"		/* run: or its delay */
#define K_ROTATE		"rotate"	/* webhook: make a new secret */
#define K_URL			"url"		/* webhook: where to POST */
#define K_SECRET		"secret"
#define K_SOURCE		"source"	/* SOURCE_* below */
#define K_CURL			"curl"		/* a command line to try */
#define K_NOTE			"note"
#define K_RUN_ID		"run_id"	/* a POST /hooks/NAME answer */
#define K_ACTION		"action"	/* token: TOKEN_* below */
#define K_EXPIRES		"expires"	/* token create: a duration */
#define K_TOKEN			"token"		/* a token object */
#define K_TOKENS		"tokens"

/* Values of K_ACTION of the token command. */
#define TOKEN_CREATE		"create"
#define TOKEN_LIST		"list"
#define TOKEN_REVOKE		"revoke"

/*
 * Token objects, in the order they are sent, less K_NAME, K_TASKS (an
 * array of task names, or null: every task) and K_SECRET (in the reply
 * of create only) above. The times are RFC 3339 strings or null.
 */
#define K_CREATOR		"creator"
#define K_CREATED_AT		"created_at"
#define K_EXPIRES_AT		"expires_at"
#define K_LAST_USED_AT		"last_used_at"
#define K_EXPIRED		"expired"

/* GET /healthz: K_STATUS (HEALTH_OK or HEALTH_FAILING) and these. */
#define K_DATABASE		"database"	/* it reads and writes */
#define K_UNWRITTEN		"unwritten_records" /* kept by record.c */
#define K_SCHEDULER		"scheduler"	/* it keeps up */
#define HEALTH_OK		"ok"
#define HEALTH_FAILING		"failing"

/* The page's run events: a piece of the page, as HTML. */
#define K_HTML			"html"

/*
 * The task list's events (GET /events): EV_TASK with K_TASK, K_RUNNING
 * and K_QUEUED (how many runs), K_LAST (the last result: K_ID and
 * K_STATUS, or null), K_HTML (the runs' part of the task's row) and
 * K_MAIN (the rest: name, badges, schedule, next run); EV_SYNC and
 * EV_RELOAD with K_SERIAL. K_SINCE is the query's: the serial the page
 * was drawn at.
 */
#define EV_TASK			"task"		/* a task's runs changed */
#define EV_SYNC			"sync"		/* all before was sent */
#define EV_RELOAD		"reload"	/* too old: draw the page anew */
#define K_LAST			"last"
#define K_MAIN			"main"
#define K_SERIAL		"serial"
#define K_SINCE			"since"

/* Values of K_SOURCE: where a webhook's secret comes from. */
#define SOURCE_CONFIG		"config"	/* webhook-secret, by hand */
#define SOURCE_GENERATED	"generated"	/* made by the daemon */

/*
 * Run objects (SPEC section 3), in the order they are sent, less K_TASK,
 * K_STATUS (a run state's name), K_PARAMS and K_STARTED_AT above. The
 * times are RFC 3339 strings or null.
 */
#define K_ID			"id"
#define K_TRIGGER		"trigger"	/* a trigger's name */
#define K_TRIGGERED_BY		"triggered_by"
#define K_ATTEMPT		"attempt"
#define K_RETRY_OF		"retry_of"
#define K_QUEUED_AT		"queued_at"
#define K_FINISHED_AT		"finished_at"
#define K_EXIT_CODE		"exit_code"
#define K_SIGNAL		"signal"
#define K_REASON		"reason"
#define K_PRIORITY		"priority"
#define K_OUTPUT_SIZE		"output_size"
#define K_OUTPUT_DROPPED	"output_dropped"
#define K_SCHEDULED_FOR		"scheduled_for"	/* a future run's time */
#define K_RERUN_OF		"rerun_of"
#define K_CHAIN_OF		"chain_of"
#define K_SCHEDULE		"schedule"	/* the @schedule that fired */

/*
 * Task objects, in the order they are sent, less K_ERRORS, K_ERROR (the
 * first of them), K_PARAMS (an array of parameter objects) and
 * K_PRIORITY above. A task without a readable header has only the members
 * up to K_OVERDUE_SINCE (failing and overdue since when, or null).
 */
#define K_NAME			"name"
#define K_FILE			"file"
#define K_PATH			"path"
#define K_VALID			"valid"
#define K_LAST_RUN		"last_run"	/* a run object, or null */
#define K_NEXT_RUN		"next_run"
#define K_FAILING_SINCE		"failing_since"
#define K_OVERDUE_SINCE		"overdue_since"	/* no success within @expect */
#define K_DESCRIPTION		"description"
#define K_SCHEDULES		"schedules"
#define K_SCHEDULE_PARAMS	"schedule_params" /* one object per schedule */
#define K_NEXT_RUNS		"next_runs"	/* one per schedule */
#define K_TIMEZONE		"timezone"
#define K_TIMEOUT		"timeout"
#define K_CONCURRENCY		"concurrency"
#define K_OVERLAP		"overlap"
#define K_RETRIES		"retries"
#define K_RETRY_DELAY		"retry_delay"
#define K_WEBHOOK		"webhook"
#define K_ON_FAILURE		"on_failure"
#define K_ON_SUCCESS		"on_success"
#define K_USER			"user"
#define K_WORKDIR		"workdir"
#define K_ENV			"env"
#define K_CATCHUP		"catchup"
#define K_CONFIRM		"confirm"
#define K_GROUP			"group"
#define K_TITLE			"title"

/* Parameter objects, in the order they are sent, less K_NAME above. */
#define K_TYPE			"type"
#define K_LABEL			"label"
#define K_DEFAULT		"default"
#define K_REQUIRED		"required"
#define K_CHOICES		"choices"	/* of a choice parameter */

/* Events of a following command; the last one is always EV_END. */
#define EV_STATUS		"status"	/* the run changed state */
#define EV_OUTPUT		"output"	/* a chunk of output */
#define EV_END			"end"		/* the run ended, or the log did */
#define EV_DATA			"data"		/* a piece of a backup */
#define EV_TASK			"task"		/* a task of a list (K_EACH) */

/* Error codes of {"ok":false,"error":{"code":...,"message":...}}. */
#define E_BAD_REQUEST		"bad-request"	/* not JSON, not an object */
#define E_TOO_LARGE		"too-large"	/* request over ML_MAX_REQUEST */
#define E_UNKNOWN_COMMAND	"unknown-command"
#define E_USAGE			"usage"		/* a member missing or mistyped */
#define E_UNKNOWN_TASK		"unknown-task"
#define E_INVALID_TASK		"invalid-task"	/* the task file has errors */
#define E_BAD_PARAMS		"bad-params"
#define E_UNKNOWN_RUN		"unknown-run"
#define E_NOT_ACTIVE		"not-active"	/* cancel of a finished run */
#define E_SHUTTING_DOWN		"shutting-down"
#define E_RELOAD		"reload-failed"
#define E_NO_WEBHOOK		"no-webhook"	/* the task has no @webhook */
#define E_CONFIGURED		"configured"	/* set in the configuration */
#define E_TOKEN_EXISTS		"token-exists"	/* token create: name taken */
#define E_UNKNOWN_TOKEN		"unknown-token"	/* token revoke: no such name */
#define E_FORBIDDEN		"forbidden"	/* not root, owner or group */
#define E_BUSY			"busy"		/* max-queued runs wait already */
#define E_QUEUE_FULL		"queue-full"	/* max-scheduled runs wait */
#define E_PROTOCOL		"protocol"	/* another ML_PROTO_VERSION */
#define E_INTERNAL		"internal"

/* Run states; their names, the values of K_STATUS, are proto_status_name(). */
enum run_status {
	RUN_QUEUED,
	RUN_RUNNING,
	RUN_SUCCEEDED,
	RUN_FAILED,
	RUN_TIMED_OUT,
	RUN_CANCELLED,
	RUN_SKIPPED,
	RUN_LOST,
	RUN_SCHEDULED,		/* waits for its time (scheduled_for) */
};
#define RUN_NSTATUS		(RUN_SCHEDULED + 1)

/* What started a run; the values of K_TRIGGER are proto_trigger_name(). */
enum run_trigger {
	TRIGGER_CLI,
	TRIGGER_WEB,
	TRIGGER_API,
	TRIGGER_WEBHOOK,
	TRIGGER_SCHEDULE,
	TRIGGER_RETRY,
	TRIGGER_CHAIN,
	TRIGGER_NOTIFY,
};
#define TRIGGER_N		(TRIGGER_NOTIFY + 1)

/* Output streams, as stored and as sent. */
enum run_stream {
	STREAM_STDOUT = 1,
	STREAM_STDERR = 2,
};

const char	*proto_status_name(enum run_status);
int		 proto_status_from(const char *);
int		 proto_run_status(json_t *);
int		 proto_status_final(enum run_status);
const char	*proto_trigger_name(enum run_trigger);
int		 proto_trigger_from(const char *);
const char	*proto_stream_name(enum run_stream);
int		 proto_stream_from(const char *);

json_t		*json_string_lossy(const char *);
char		*proto_params_words(json_t *, int);

/* Frames. */
char		*proto_encode(json_t *, size_t *);
json_t		*proto_decode(const char *, size_t, char **);
json_t		*proto_ok(void);
json_t		*proto_error(const char *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
json_t		*proto_output_event(enum run_stream, int64_t, int64_t,
		    const void *, size_t);
json_t		*proto_output_head(enum run_stream, int64_t, int64_t, size_t);

/*
 * A reader that splits a byte stream into frames (used by the client):
 * the bytes not taken yet are buf[off] to buf[off + len].
 */
struct frame_reader {
	char	*buf;
	size_t	 off;
	size_t	 len;
	size_t	 size;
	size_t	 max;
	int	 skipping;	/* the rest of an oversized line */
};
void		 frame_reader_init(struct frame_reader *, size_t);
void		 frame_reader_free(struct frame_reader *);
int		 frame_reader_feed(struct frame_reader *, const void *, size_t);
void		*frame_reader_space(struct frame_reader *, size_t);
void		 frame_reader_fill(struct frame_reader *, size_t);
size_t		 frame_reader_take(struct frame_reader *, const void **,
		     size_t);
int		 frame_reader_line(struct frame_reader *, char **, size_t *,
		     char **);
int		 frame_reader_next(struct frame_reader *, json_t **, char **);

#endif /* PROTO_H */
