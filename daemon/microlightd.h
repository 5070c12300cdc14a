/* microlightd: structures and prototypes, grouped by file. */

#ifndef MICROLIGHTD_H
#define MICROLIGHTD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdint.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "ml.h"
#include "proto.h"

#define OUTPUT_READ_SIZE	(256 * 1024)	/* one read() of a run's pipe */
#define OUTPUT_CHUNK_SIZE	65536		/* one stored chunk, at most */
#define OUTPUT_PIPE_SIZE	(1024 * 1024)	/* a busy run's pipes (F_SETPIPE_SZ) */
#define OUTPUT_WIDE_RUNS	8		/* runs with such pipes at a time */
#define OUTPUT_FLUSH_MS		100		/* output reaches SQLite this often */
/* Or sooner when this much waits; more would spill SQLite's 1 MiB cache. */
#define OUTPUT_FLUSH_BYTES	(256 * 1024)
#define RELOAD_DEBOUNCE_MS	200		/* quiet time before a tasks.d rescan */
#define GIVEUP_MS		5000		/* after SIGKILL, stop waiting */

/* config.c */
struct webhook_secret {
	char	*task;
	char	*secret;
};

struct config {
	char			*file;		/* the file read, or to be read */
	char			*tasks_dir;
	char			*state_dir;
	char			*socket_path;
	char			*socket_group;	/* NULL: none, socket is 0600 */
	char			*listen;	/* "ADDR:PORT" or "none" */
	char			*users_file;
	int			 max_running;
	int			 max_queued;	/* runs waiting for a slot */
	int			 max_scheduled;	/* runs waiting for a time */
	int64_t			 default_timeout;	/* seconds, 0: none */
	int64_t			 kill_grace;		/* seconds */
	int			 keep_runs;
	int			 keep_days;
	int64_t			 max_log_size;		/* bytes */
	struct webhook_secret	*secrets;
	u_int			 nsecrets;
	char			**allowed_hosts;
	u_int			 nallowed_hosts;
	char			*admin_group;
	char			**default_allow; /* NULL: all */
	u_int			 ndefault_allow;
	char			**trusted_proxies; /* addresses */
	u_int			 ntrusted_proxies;
	char			*user_header;	/* NULL: none */
	char			*base_url;	/* NULL: none; no last '/' */
	const char		*base_path;	/* in base_url: "/x" or "" */
	char			*base_host;	/* base_url's host[:port] */
	struct tasknotify	*notify;	/* of every task */
	u_int			 nnotify;
};

struct config	*config_create(void);
void		 config_free(struct config *);
int		 config_load(struct config *, const char *, int, char ***,
		     u_int *);
int		 config_set(struct config *, const char *, const char *,
		     char **);

/* access.c: who is asking (SPEC section 8). */
struct who {
	char		*by;		/* recorded on the runs it starts */
	char		*user;		/* matched by @allow; NULL: nobody */
	char		**groups;
	u_int		 ngroups;
	int		 admin;		/* may use every task (and more) */
	int		 limited;	/* to tasks (a token's, a webhook's) */
	char		**tasks;
	u_int		 ntasks;
};

struct task;
struct who	*who_new(const char *, const char *);
struct who	*who_unix(uid_t, const char *, const char *);
struct who	*who_copy(const struct who *);
struct who	*who_web(const char *);
const struct who *who_daemon(void);
void		 who_add_group(struct who *, const char *);
void		 who_limit(struct who *, const char *);
void		 who_free(struct who *);
int		 access_task(const struct who *, const struct task *,
		     const char *);
int		 access_task_name(const struct who *, const char *);
int		 access_admin(const struct who *);
json_t		*access_visible(const struct who *);

/* notice.c, db_notice.c: notifications (SPEC section 9). */
struct health {
	int64_t		 failing_since;	/* ms; 0: not failing */
	int64_t		 overdue_since;	/* ms; 0: not overdue */
	int64_t		 seen_at;	/* when the task was first seen */
};

struct notice {
	int64_t		 id;
	char		*task;		/* the subject */
	u_int		 event;		/* a NOTIFY_ bit */
	int64_t		 run_id;	/* the subject run, 0: none */
	char		*status;	/* its status, or NULL */
	int		 exit_code;	/* -1: none */
	int64_t		 created_at;
};

struct run;
void		 notice_clear(struct notice *);
void		 notice_run_ended(const struct run *);
void		 notice_missed(const char *);
void		 notice_start(void);
void		 notice_stop(void);
void		 notice_state(const char *, int64_t *, int64_t *);
json_t		*notice_env(int64_t);
int		 notice_input(int64_t, void **, size_t *);
int		 db_health_all(void (*)(const char *, const struct health *,
		     void *), void *);
int		 db_health_set(const char *, const struct health *);
int64_t		 db_notice_add(const struct notice *);
int		 db_notice_load(int64_t, struct notice *);
int		 db_notices_pending(void (*)(struct notice *, void *), void *);
int		 db_notice_delivered(int64_t);
int		 db_notice_has_run(int64_t, const char *);
int		 db_output_tail(int64_t, size_t, char **, size_t *);

/* tasks.c */
/*
 * What a task's list line shows besides the task itself (ops_list_each):
 * its latest run (last_id 0 if none, -1 if it could not be read), its next
 * run, failing and overdue since. All int64_t: compared with memcmp.
 */
struct task_line_key {
	int64_t			 last_id;
	int64_t			 last_status;
	int64_t			 last_queued;
	int64_t			 last_started;
	int64_t			 next;
	int64_t			 failing;
	int64_t			 overdue;
};

struct task {
	char			*name;	/* or the file name if it has none */
	char			*file;	/* name in the tasks directory */
	char			*path;	/* full path */
	char			*exec_path; /* what runs: path, or where it points */
	dev_t			 dev;	/* the file that was checked */
	ino_t			 ino;
	struct taskdef		*def;	/* NULL if the file was unreadable */
	char			**errors;	/* "file:line: message" */
	u_int			 nerrors;
	int			 references;
	struct task_line {		/* its line in a list (ops_list_each) */
		char		*text;
		size_t		 len;
		struct task_line_key key; /* what it shows */
	}			 line;
	RB_ENTRY(task)		 entry;
};
RB_HEAD(task_tree, task);
RB_PROTOTYPE(task_tree, task, entry, task_cmp);

struct taskset {
	struct task_tree	 tree;
	u_int			 ntasks;
	u_int			 ninvalid;
};

struct taskset	*tasks_scan(const char *);
void		 tasks_free(struct taskset *);
struct taskset	*tasks_current(void);
void		 tasks_install(struct taskset *);
struct task	*task_find(const char *);
void		 task_ref(struct task *);
void		 task_unref(struct task *);
int		 task_valid(const struct task *);
int64_t		 task_timeout(const struct task *);
char		*task_workdir(const struct task *);
const char	*task_recheck(const struct task *);
void		 tasks_reload(void);

/* watch.c */
int		 watch_start(const char *);
void		 watch_flush(void);
void		 watch_stop(void);

/* db.c */
int		 db_open(const char *, char **);
void		 db_close(void);
void		 db_release_memory(void);
int		 db_begin(void);
int		 db_commit(void);
void		 db_rollback(void);
int		 db_in_transaction(void);
void		 db_batch_allow(int);
void		 db_batch_hook(void (*)(int));
uint64_t	 db_batch_join(void);
int		 db_batch_leave(void);
uint64_t	 db_batch_joins(void);
uint64_t	 db_batch_gen(void);
int		 db_flush(void);
int		 db_batch_failed(uint64_t);
const char	*db_failure(void);
int		 db_failure_lasting(void);
int		 db_vacuum_step(int);
void		 db_checkpoint(void);
void		 db_checkpoint_soon(void);
int		 db_wal_full(void);
int		 db_ping(void);
struct db_backup *db_backup_open(const char *, char **);
int		 db_backup_step(struct db_backup *, int, char **);
void		 db_backup_progress(struct db_backup *, int *, int *);
void		 db_backup_close(struct db_backup *);

/* db_run.c */
struct runrec {
	int64_t			 id;
	char			*task;
	enum run_status		 status;
	enum run_trigger	 trigger;
	char			*triggered_by;
	json_t			*params;
	int			 attempt;
	int64_t			 retry_of;	/* 0: none */
	int64_t			 queued_at;	/* ms; 0: not yet */
	int64_t			 started_at;
	int64_t			 finished_at;
	int			 exit_code;	/* -1: none */
	int			 signal;	/* 0: none */
	char			*reason;
	int			 priority;
	int64_t			 output_size;
	int64_t			 output_dropped;
	int64_t			 not_before;	/* ms; a retry waits until */
	int64_t			 chain_of;	/* the run that chained it */
	char			*chain_tasks;	/* "a,b": tasks run before in
						   its chain, or NULL */
	char			*schedule;	/* the @schedule that fired it */
	int64_t			 rerun_of;	/* the run it repeats */
	int64_t			 notice;	/* a notifier's: its notice */
};

typedef const struct runrec *(*db_run_newer_cb)(int64_t);

int		 db_run_insert(struct runrec *);
int		 db_run_update(const struct runrec *);
int		 db_run_load(int64_t, struct runrec *);
typedef void (*db_run_cb)(const struct runrec *, void *);
int		 db_runs_query(const char *, const json_t *, int, int64_t, int,
		     db_run_cb, void *);
int		 db_runs_in(enum run_status, void (*)(struct runrec *, void *),
		     void *);
int		 db_runs_due(int64_t, int64_t, int64_t, int,
		     void (*)(struct runrec *, void *), void *);
int64_t		 db_runs_scheduled(void);
int64_t		 db_retry_waiting(int64_t);
void		 db_run_newer_set(db_run_newer_cb);
int		 db_last_run(const char *, struct runrec *);
int		 db_last_run_ref(const char *, const struct runrec **);
int		 db_last_ended(const char *, struct runrec *);
int64_t		 db_next_scheduled(const char *);
int		 db_last_successes(void (*)(const char *, int64_t, void *),
		     void *);
void		 runrec_clear(struct runrec *);
void		 runrec_copy(struct runrec *, const struct runrec *);

/* object.c */
json_t		*object_time(int64_t);
json_t		*object_string(const char *);
json_t		*object_run(const struct runrec *);
json_t		*object_params(const struct taskdef *);
json_t		*object_task(const struct task *, json_t *, int64_t);
json_t		*object_run_brief(const struct runrec *);
json_t		*object_task_brief(const struct task *, json_t *, int64_t,
		     int64_t, int64_t);
struct token;
json_t		*object_token(const struct token *);

/* db_output.c */
typedef int (*db_output_cb)(int64_t, enum run_stream, int64_t, const void *,
    size_t, void *);
typedef int (*db_output_tail_cb)(int64_t, int64_t, db_output_cb, void *);

int		 db_output_insert(int64_t, int64_t, enum run_stream, int64_t,
		     const void *, size_t);
int		 db_output_read(int64_t, int64_t, int, db_output_cb, void *);
void		 db_output_tail_set(db_output_tail_cb);
int		 db_run_input_put(int64_t, const void *, size_t,
		     const json_t *);
int		 db_run_input_get(int64_t, void **, size_t *, json_t **);

/* db_task.c */
int		 db_prune(int64_t, int, int);
int		 db_pruned(const char *, int64_t, int64_t *, int *);
int		 db_schedule_fired(const char *, const char *, int64_t);
int64_t		 db_schedule_last(const char *, const char *);
char		*db_hook_secret(const char *);
int		 db_hook_secret_set(const char *, const char *);

/* token.c */
struct ops_error;

/* An API token (SPEC section 8); its secret is never kept. */
struct token {
	char		*name;
	char		*creator;	/* Unix user name of who made it */
	char		**tasks;
	u_int		 ntasks;	/* 0: every task its creator may use */
	int64_t		 created_at;	/* ms */
	int64_t		 expires_at;	/* ms; 0: never */
	int64_t		 last_used_at;	/* ms; 0: never (kept to a minute) */
};

struct token	*token_find(const char *);
void		 token_free(struct token *);
int		 token_name_valid(const char *);
int		 token_create(const char *, const char *, const char **, u_int,
		     const char *, json_t *, struct ops_error *);
int		 token_list(json_t *, struct ops_error *);
int		 token_revoke(const char *, json_t *, struct ops_error *);

/* db_token.c */
int		 db_token_insert(const struct token *, const u_char *);
struct token	*db_token_by_hash(const u_char *, u_char *);
struct token	*db_token_by_name(const char *);
int		 db_token_list(void (*)(const struct token *, void *), void *);
int		 db_token_delete(const char *);
int		 db_token_used(const char *, int64_t);

/* record.c */
struct chunk;
int		 record_write(const struct runrec *, struct chunk *);
const struct runrec *record_pending(int64_t);
u_int		 record_count(void);
void		 record_shutdown(void);

/* run.c */
struct chunk {
	int64_t			 seq;
	enum run_stream		 stream;
	int64_t			 time;
	size_t			 len;
	TAILQ_ENTRY(chunk)	 entry;
	u_char			 data[];
};
TAILQ_HEAD(chunks, chunk);

struct follower;
TAILQ_HEAD(followers, follower);

#define RUN_MAIN_EXITED	0x1	/* the script's main process is gone */
#define RUN_SHIM_EXITED	0x2	/* the supervisor and all it held are gone */
#define RUN_KILLING	0x4	/* timeout, cancel or shutdown under way */
#define RUN_EXEC_FAILED	0x8
#define RUN_ENDED	0x10	/* status recorded; leftovers may remain */
#define RUN_MARKED	0x20	/* all output is in: the marker is made */
#define RUN_LIMIT_HIT	0x40	/* output went past max-log-size */
#define RUN_SHIM_DONE	0x80	/* the supervisor said all is gone */
#define RUN_INDEXED	0x100	/* in runs.c's index: queued or running */
#define RUN_RECORDED	0x200	/* its end is recorded (or kept) */
#define RUN_PIPES_WIDE	0x400	/* its pipes were widened (run_output.c) */
#define RUN_OUTPUT_PAUSED 0x800	/* its pipes wait for the WAL (run_output.c) */

struct run {
	struct runrec		 rec;
	struct task		*task;
	int			 flags;
	json_t			*headers;	/* a webhook's HTTP_ variables */

	pid_t			 pid;		/* the supervisor */
	pid_t			 main_pid;	/* the script */
	int			 ctl_fd;
	int			 out_fd;
	int			 err_fd;
	struct event		*ev_ctl;
	struct event		*ev_out;
	struct event		*ev_err;
	struct event		*ev_timeout;
	struct event		*ev_kill;
	struct event		*ev_giveup;

	int			 wstatus;	/* of the main process */
	int64_t			 main_exit_ms;
	char			*exec_error;
	enum run_status		 kill_status;	/* timed_out or cancelled */
	char			*kill_reason;

	int64_t			 end_size;	/* output_size when it ended */
	int64_t			 lost;		/* bytes the database refused */
	const char		*lost_why;	/* and why (db_failure) */
	int64_t			 next_seq;	/* next chunk's number */
	int64_t			 flushed_seq;	/* chunks below are stored */
	int			 last_newline;
	struct chunks		 pending;
	size_t			 pending_bytes;
	struct followers	 followers;

	TAILQ_ENTRY(run)	 entry;		/* active or ending list */
	RB_ENTRY(run)		 qnode;		/* queue */
	RB_ENTRY(run)		 tqnode;	/* queue, its task's runs */
	RB_ENTRY(run)		 idnode;	/* runs.c's index, by id */
	TAILQ_ENTRY(run)	 flush_entry;
	int			 on_flush_list;
	u_int			 due_idx;	/* in runs.c's heap of due */
	char			*note;		/* added to its end's reason */

	void			*input;		/* stdin (a webhook's body) */
	size_t			 input_len;
};
TAILQ_HEAD(runs, run);

struct run	*run_create(const char *, int, enum run_trigger,
		     const char *, json_t *);
struct run	*run_from_record(struct runrec *);
void		 run_free(struct run *);
int		 run_start(struct run *, struct task *);
void		 run_kill(struct run *, enum run_status, const char *);
void		 run_progress(struct run *);
void		 run_force_finish(struct run *);
u_int		 run_active_count(void);
u_int		 run_ending_count(void);
u_int		 run_task_count(const char *);
int64_t		 run_task_oldest(const char *);
void		 run_shutdown(void);

/* run_output.c */
void		 run_output_pipe_cb(int, short, void *);
void		 run_output_drain(struct run *);
void		 run_output_close_pipes(struct run *);
int		 run_output_write_pending(struct run *);
void		 run_output_pending_done(struct run *, int);
void		 run_output_flush_one(struct run *);
void		 run_output_flush_all(void);
struct chunk	*run_output_mark_dropped(struct run *);
void		 run_output_free(struct run *);
void		 run_output_init(void);

/* spawn.c */
struct spawn {
	const char	*path;
	char		**argv;
	char		**envp;
	const char	*workdir;
	int		 change_user;
	uid_t		 uid;
	gid_t		 gid;
	gid_t		*groups;
	int		 ngroups;
	const char	*username;
	int64_t		 kill_grace_ms;
	const void	*input;		/* stdin's bytes; NULL: /dev/null */
	size_t		 input_len;
	int		 input_fd;	/* in the supervisor: a memfd, or -1 */
};

/* Messages from the supervisor to the daemon. */
enum spawn_msg_type {
	SPAWN_EXEC_OK,		/* value: the script's pid */
	SPAWN_EXEC_FAILED,	/* value: errno, stage: what failed */
	SPAWN_EXITED,		/* value: the main process's wait status */
	SPAWN_DONE,		/* every process of the run is gone */
};
enum spawn_stage {
	STAGE_EXEC,
	STAGE_CHDIR,
	STAGE_USER,
	STAGE_SETUP,
};
struct spawn_msg {
	int	 type;
	int	 value;
	int	 stage;
};
#define SPAWN_CMD_TERM	'T'	/* SIGTERM and SIGCONT to every process */
#define SPAWN_CMD_KILL	'K'	/* SIGKILL to every process */
#define SPAWN_CMD_AGAIN	'A'	/* after SPAWN_DONE: new pipes, wait for a job */

/* A supervisor waiting for its job: its pid and the daemon's ends. */
struct spare {
	pid_t	 pid;
	int	 ctl;
	int	 out;
	int	 err;
	int	 job;
};

int		 spawn_fork_spare(struct spare *);
char		*spawn_job_encode(const struct spawn *, size_t *);
const char	*spawn_env(char **, const char *);

/* spare.c */
pid_t		 spare_start(const struct spawn *, int *, int *, int *);
void		 spare_add(struct spare *);
void		 spare_recycle(pid_t, int);
u_int		 spare_max(void);
void		 spare_lost(void);
int		 spare_ready(void);
void		 spare_prepare(void);
u_int		 spare_pids(pid_t **, u_int);
void		 spare_shutdown(void);

/* launcher.c */
int		 launcher_start(char **);
void		 launcher_listen(void);
u_int		 launcher_request(u_int);
int		 launcher_reaped(pid_t, int);
pid_t		 launcher_pid(void);
void		 launcher_stop(void);

/* policy.c */
void		 policy_run_ended(struct run *);

/* sched.c */
void		 sched_start(void);
void		 sched_load(int);
int64_t		 sched_next(const char *, const char *);
int		 sched_healthy(void);
void		 sched_stop(void);

/* quiet.c */
void		 quiet_source(int64_t (*)(void));
int64_t		 quiet_wait(void);

/* prune.c */
void		 prune_start(void);
void		 prune_soon(void);
void		 prune_stop(void);

/* proc.c */
int		 proc_signal_descendants(pid_t, int, const pid_t *, u_int);
void		 proc_null_stdio(void);
int		 proc_pipes(int [2], int [2], int [2]);
void		 proc_pipes_close(int [2], int [2], int [2]);
ssize_t		 proc_send_fds(int, const void *, size_t, const int *, int);
ssize_t		 proc_recv_fds(int, void *, size_t, int *, int, int *);
int		 proc_listed(pid_t, const pid_t *, u_int);
void		 proc_title_init(int, char **);
void		 proc_title(const char *, ...)
		     __attribute__((format(printf, 1, 2)));

/* queue.c */
void		 queue_insert(struct run *);
void		 queue_remove(struct run *);
int		 queue_may_start(const struct run *, int64_t, int64_t *);
struct run	*queue_next(int64_t, int64_t *);
struct run	*queue_first(void);
u_int		 queue_count_task(const char *);
struct run	*queue_first_task(const char *);
struct run	*queue_find_retry(int64_t);
u_int		 queue_length(void);

/* runs.c */
struct ops_error;

/* A run asked for: by a user, a schedule, a retry or a chain. */
struct run_request {
	const char	*task;		/* the task's name */
	struct task	*as;		/* or the task itself (a retry's) */
	enum run_trigger trigger;
	const char	*by;
	json_t		*params;	/* given (borrowed); NULL: none */
	const void	*input;		/* stdin (a webhook's body) */
	size_t		 input_len;
	const char	*schedule;	/* the schedule that fired */
	int		 attempt;	/* 0: the first */
	int64_t		 retry_of;
	int64_t		 chain_of;
	const char	*chain_tasks;
	int64_t		 rerun_of;	/* the run it repeats; 0: none */
	int64_t		 not_before;	/* a retry's time, in ms */
	const char	*skip;		/* recorded as skipped, with why */
	json_t		**object;	/* if set: a run for later's object */
	json_t		*headers;	/* a webhook's HTTP_ variables */
	int64_t		 notice;	/* a notifier's run: its notice */
};

int64_t		 runs_submit(const struct run_request *, struct ops_error *);
void		 runs_end(struct run *);
void		 runs_on_change(void (*)(const char *));
int		 runs_cancel(int64_t, const char *);
int64_t		 runs_retry_waiting(int64_t);
int64_t		 runs_scheduled(void);
struct run	*runs_lookup(int64_t);
int		 runs_load(int64_t, struct runrec *);
void		 runs_kick(void);
int		 runs_recover(void);
void		 runs_restore(void);
void		 runs_free_queued(void);

/* backup.c */
struct backup;

/*
 * How a backup reaches its consumer; arg is the consumer's. After end or
 * failed the backup is gone; the consumer may call backup_abort until then
 * (but not from inside a callback), and backup_pump once it has drained.
 */
struct backup_sink {
	/* The copy is made: size bytes follow. */
	void	(*ready)(void *, int64_t);
	/* A piece of the copy. */
	void	(*data)(void *, const void *, size_t);
	/* The end: all of it was passed on (that many bytes). */
	void	(*end)(void *, int64_t);
	/* Bytes the consumer has not sent yet. */
	size_t	(*pending)(void *);
	/* The backup failed, with why (before ready, or part-way). */
	void	(*failed)(void *, const char *);
	size_t	 chunk;		/* bytes per data call, at most 64 KiB */
	size_t	 high;		/* unsent bytes before pausing */
};

struct backup	*backup_start(const char *, const struct backup_sink *,
		     void *, struct ops_error *);
void		 backup_pump(struct backup *);
void		 backup_abort(struct backup *);
void		 backup_cleanup(void);

/* fds.c */
void		 fds_init(void);
void		 fds_child_limit(void);
void		 fds_ready(void);
u_int		 fds_client_budget(void);
void		 fds_listener_add(void (*)(void), void (*)(void), int (*)(void));
void		 fds_client_add(void);
int		 fds_unread(int);
void		 fds_client_del(void);
int		 fds_accept_failed(int);
void		 fds_stop(void);

/* follow.c */
#define FOLLOW_HIGH	(256 * 1024)	/* a consumer's unsent bytes: pause */
#define FOLLOW_LOW	(64 * 1024)	/* below this, pump again */

/* How a follower reaches its consumer; arg is the consumer's. */
struct follow_sink {
	/* A chunk of output (only if output was asked for). */
	void	(*output)(void *, int64_t, enum run_stream, int64_t,
		    const void *, size_t);
	/* The run started (only with follow); the callee owns the object. */
	void	(*status)(void *, json_t *);
	/* The end: the run's object (the callee's) or JSON null. */
	void	(*end)(void *, json_t *);
	/* Bytes the consumer has not sent yet; may be NULL. */
	size_t	(*pending)(void *);
	/*
	 * The output could not be read (a damaged database): the end, with
	 * why. May be NULL: end is called as if the output were complete.
	 */
	void	(*failed)(void *, const char *);
};

struct follower	*follow_start(int64_t, int, int, int,
		     const struct follow_sink *, void *);
void		 follow_pump(struct follower *);
void		 follow_cancel(struct follower *);
void		 follow_run_output(struct run *);
void		 follow_run_status(struct run *);
void		 follow_run_ended(struct run *);

/* ops.c */
#define OPS_SHOW_LIMIT	10	/* show: runs by default */
#define OPS_SHOW_SCHEDULED 10	/* show: scheduled runs, soonest first */
#define OPS_RUNS_LIMIT	20	/* runs: by default */
#define OPS_MAX_LIMIT	10000

/* Why an operation failed: a code of proto.h (E_*) and a message. */
struct ops_error {
	const char	*code;
	char		*message;
	json_t		*problems;	/* bad-params: [{param, message}] */
};

int		 ops_no_task(const struct who *, const char *,
		    struct ops_error *);
int		 ops_fail(struct ops_error *, const char *, const char *, ...)
		     __attribute__((format(printf, 3, 4)));
void		 ops_error_clear(struct ops_error *);
json_t		*ops_error_reply(struct ops_error *);
void		 ops_ping(json_t *);
void		 ops_list(const struct who *, int, json_t *);
char		*ops_list_each(const struct who *, size_t *);
int64_t		 ops_next_run(const struct task *);
int		 ops_show(const struct who *, const char *, int64_t, json_t *,
		     struct ops_error *);
int		 ops_find_run(const struct who *, int64_t, struct run **,
		     json_t **, struct ops_error *);
int		 ops_when(const char *, const char *, int64_t *,
		     struct ops_error *);
int64_t		 ops_run(const struct who *, const char *, json_t *,
		     enum run_trigger, const void *, size_t, json_t *,
		     const char *, const char *, json_t *, struct ops_error *);
int64_t		 ops_rerun(const struct who *, int64_t, json_t *,
		     const char *, enum run_trigger, const char *,
		     const char *, json_t *, struct ops_error *);
int		 ops_status(const struct who *, int64_t, json_t *,
		     struct ops_error *);
json_t		*ops_last_ended(const char *);
struct taskset	*ops_tasks(void);
struct task	*ops_task(const struct who *, const char *);
int		 ops_cancel(const struct who *, int64_t, json_t *,
		     struct ops_error *);
int		 ops_runs(const struct who *, const char *, const char *,
		     int64_t, int64_t, json_t *, struct ops_error *);
int		 ops_reload(json_t *, struct ops_error *);

/* control.c */
struct client;

int		 control_bind(const char *, const char *, char **);
int		 control_adopt(int, const char *, char **);
const char	*control_socket_path(void);
void		 control_listen(void);
void		 control_stop_accepting(void);
void		 control_close(void);
u_int		 control_client_count(void);
void		 control_client_send(struct client *, json_t *);
void		 control_client_send_lines(struct client *, json_t *);
void		 control_client_send_text(struct client *, char *, size_t);
void		 control_client_error(struct client *, const char *,
		     const char *, ...) __attribute__((format(printf, 3, 4)));
void		 control_client_follow(struct client *, int64_t, int, int,
		     int, int);
int		 control_client_backup(struct client *, struct ops_error *);
const char	*control_client_who(struct client *);
const struct who *control_client_asker(struct client *);
uid_t		 control_client_uid(struct client *);

/* control_cmd.c */
void		 control_cmd_dispatch(struct client *, const char *, size_t);

/* http.c */
struct evhttp_request;
struct evhttp_connection;
struct evbuffer;
struct http_req;

#define HTTP_MAX_HEADERS	(16 * 1024)
#define HTTP_MAX_BODY		(1024 * 1024)
#define HTTP_IDLE_SECONDS	30	/* evhttp's read and write timeout */

#define R_AUTH		0x1	/* Basic auth, when there is a users-file */
#define R_HTML		0x2	/* a page: errors are pages too */
#define R_API		0x4	/* JSON: errors are error objects */
#define R_FORM		0x8	/* a form of the page: same site, and token */
#define R_POST		0x10	/* an API change: same site */
#define R_ADMIN		0x20	/* administrators only (access.c) */

struct http_route {
	const char	*method;
	const char	*pattern;	/* "*" matches one path segment */
	void		(*handler)(struct http_req *);
	int		 flags;
};

/* A request on its way through: freed by the reply, or by a stream. */
struct http_req {
	struct evhttp_request	*req;
	const struct http_route	*route;
	char			*arg;		/* the "*" segment, decoded */
	char			*user;		/* signed in, or NULL */
	struct who		*who;		/* who asks (R_AUTH routes) */
	char			 peer[64];	/* the client's address */
	struct evkeyvalq	 query;
	char			 nonce[33];	/* of this reply's script */
	char			*body;		/* see http_body() */
	size_t			 body_len;
	void			(*closed)(void *); /* see http_hold() */
	void			*closed_arg;
	int			 held;
	int			 dead;		/* the client went away */
	struct evhttp_request	*orphan;	/* ours to free, once dead */
	TAILQ_ENTRY(http_req)	 hold_entry;
};

void		 http_start(void);
int		 http_who(struct http_req *);
void		 http_stop_accepting(void);
void		 http_reload(void);
void		 http_close(void);
uint64_t	 http_request_count(void);
int		 http_status_for(const char *);
const char	*http_reason(int);
const char	*http_base(void);
const char	*http_header(struct http_req *, const char *);
int		 http_form_parse(const char *, size_t, struct evkeyvalq *);
void		 http_set_header(struct http_req *, const char *,
		     const char *);
const char	*http_query(struct http_req *, const char *);
const char	*http_body(struct http_req *, size_t *);
void		 http_reply(struct http_req *, int, const char *,
		     struct evbuffer *);
void		 http_json(struct http_req *, int, json_t *);
void		 http_error(struct http_req *, int, const char *,
		     const char *, ...) __attribute__((format(printf, 4, 5)));
void		 http_ops_error(struct http_req *, json_t *);
void		 http_redirect(struct http_req *, const char *);
void		 http_hold(struct http_req *, void (*)(void *), void *);
int		 http_unhold(struct http_req *);
void		 http_mark_gone(struct evhttp_request **, int *,
		     struct evhttp_request **, void (*)(int, short, void *),
		     void *);
void		 http_req_free(struct http_req *);
void		 http_common_headers(struct http_req *);

/* http_listen.c */
int		 http_listen_bind(const struct config *, char **);
int		 http_listen_adopt(int, char **);
int		 http_listen_check(const struct config *, char **);
int		 http_listen_check_conf(const struct config *, char **);
int		 http_listen_fd(void);
const char	*http_listen_address(void);
const char	*http_listen_public_url(void);
int		 http_listen_host_allowed(const char *);
int		 http_listen_host_known(const char *);
void		 http_listen_clear(void);

/* mem.c */
void		 mem_trim_soon(void);
void		 mem_stop(void);

/* http_conn.c */
u_int		 http_conn_count(void);
uint64_t	 http_conn_cut_count(void);
uint64_t	 http_conn_refused_count(void);
void		 http_conn_set_closecb(struct evhttp_connection *,
		     void (*)(struct evhttp_connection *, void *), void *);
int		 http_conn_request(struct evhttp_request *);
int		 http_conn_evict(void);
struct bufferevent *http_conn_bev_cb(struct event_base *, void *);
void		 http_conn_start(void);
void		 http_conn_stop(void);
void		 http_conn_close(void);

/* http_stream.c */
struct http_stream;

struct http_stream *http_stream_start(struct http_req *, int, const char *,
		     const char *, void (*)(void *), void (*)(void *),
		     void *);
int		 http_stream_dead(struct http_stream *);
size_t		 http_stream_pending(struct http_stream *);
void		 http_stream_write(struct http_stream *, const void *,
		     size_t);
void		 http_stream_end(struct http_stream *);
void		 http_stream_abort(struct http_stream *);
void		 http_stream_abandon_all(void);

/* api.c */
/*
 * A run followed into an HTTP stream (a log, a run page's events): the
 * first member of its consumer's state, which is freed with free(3) when
 * the follow ends or the client goes.
 */
struct api_follow {
	struct follower		*f;
	struct http_stream	*hs;
	void			(*gone)(struct api_follow *); /* or NULL */
};

int64_t		 api_run_id(struct http_req *);
void		 api_sse_event(struct http_stream *, const char *, int64_t,
		     json_t *);
void		 api_follow_stream(struct api_follow *, struct http_req *,
		     const char *, const char *);
size_t		 api_follow_pending(void *);
void		 api_follow_end(struct api_follow *);
void		 api_tasks(struct http_req *);
void		 api_task(struct http_req *);
void		 api_task_run(struct http_req *);
void		 api_runs(struct http_req *);
void		 api_run(struct http_req *);
void		 api_run_log(struct http_req *);
void		 api_run_cancel(struct http_req *);
void		 api_run_rerun(struct http_req *);

/* api_backup.c */
void		 api_backup(struct http_req *);

/* auth.c */
void		 auth_init(void);
int		 auth_check(const char *, char **);
int		 auth_load(const char *, char **);
void		 auth_clear(void);
int		 auth_required(void);
char		*auth_basic(const char *);
int		 auth_user_groups(const char *, char ***, u_int *);
void		 auth_form_token(const char *, char *, size_t);

/* activate.c */
#define ACTIVATE_CONTROL	0
#define ACTIVATE_HTTP		1
#define ACTIVATE_NKINDS		2
int		 activate_init(char **);
int		 activate_take(int);

/* notify.c */
void		 notify_init(void);
void		 notify_ready(void);
void		 notify_reloading(void);
void		 notify_reloaded(void);
void		 notify_stopping(void);
void		 notify_close(void);

/* page.c */
#define PAGE_TOKEN_LEN		33	/* a form token (hex) and its NUL */
#define PAGE_TOKEN_FIELD	"_token" /* the form field that carries it */
#define PAGE_RERUN_QUERY	"rerun"	/* /tasks/NAME?rerun=ID: run ID again */
#define PAGE_RERUN_FIELD	"_rerun" /* the form's run to run again */
#define PAGE_T_REL		0x1	/* page_time: "5 min ago" */
#define PAGE_T_DAY		0x2	/* page_time: weekday, no seconds */

void		 page_error(struct http_req *, int, const char *);
void		 page_begin(struct evbuffer *, struct http_req *, const char *,
		     int);
void		 page_end(struct evbuffer *, struct http_req *, const char *);
void		 page_send(struct http_req *, int, struct evbuffer *);
json_t		*page_html_json(struct evbuffer *);
void		 page_text(struct evbuffer *, const char *);
void		 page_by(struct evbuffer *, const char *);
const char	*page_json_str(json_t *, const char *);
void		 page_badge(struct evbuffer *, const char *, int64_t);
void		 page_badge_count(struct evbuffer *, const char *, int64_t,
		     u_int);
void		 page_time_ms(struct evbuffer *, int64_t, int);
void		 page_time(struct evbuffer *, const char *, int);
void		 page_duration(struct evbuffer *, json_t *);
void		 page_size(int64_t, char *, size_t);
json_t		*page_live(json_t *);
void		 page_token(struct evbuffer *, const char *);
const char	*page_field(struct evkeyvalq *, const char *);
int		 page_form(struct http_req *, struct evkeyvalq *);
void		 page_schedules(struct evbuffer *, const struct task *);
void		 page_task_errors(struct evbuffer *, const struct task *);
void		 page_task_link(struct evbuffer *, const char *);
const char	*page_task_title(const char *);
const char	*page_task_shown(const struct task *);
void		 page_runs_table(struct evbuffer *, json_t *, int);
void		 page_history(struct evbuffer *, struct http_req *,
		    const char *, const char *, const char *, int, int);

/* page_index.c */
void		 page_index(struct http_req *);
void		 page_index_state(struct evbuffer *, const char *);
void		 page_index_main(struct evbuffer *, const struct task *);

/* page_list.c */
void		 page_list_init(void);
void		 page_list_close(void);
void		 page_run_init(void);
void		 page_run_close(void);
int64_t		 page_list_serial(void);
void		 page_list_events(struct http_req *);

/* person.c */
char		*person_shown(const char *);

/* page_task.c */
void		 page_task(struct http_req *);
void		 page_task_run(struct http_req *);

/* page_run.c */
void		 page_run(struct http_req *);
void		 page_run_events(struct http_req *);
void		 page_run_cancel(struct http_req *);
void		 page_run_rerun(struct http_req *);

/* hook.c */
char		*hook_secret(const char *, int, int *);
int		 hook_info(const struct who *, const char *, int, json_t *,
		     struct ops_error *);
void		 hook_request(struct http_req *);
void		 hook_stop(void);

/* metrics.c */
void		 metrics_run_ended(const struct runrec *);
int64_t		 metrics_last_success_of(const char *);
void		 metrics_start(void);
void		 metrics_stop(void);
void		 metrics_request(struct http_req *);

/* health.c */
void		 health_request(struct http_req *);

/* microlightd.c */
extern struct event_base	*ml_base;

/*
 * Event priorities: the scheduler's timer goes first when it is due at the
 * same time as other work (output, ends of runs); everything else has the
 * default, ML_PRIORITIES / 2.
 */
#define ML_PRIORITIES	2
#define ML_PRIORITY_SCHED 0
extern struct config		*ml_conf;
extern int64_t			 ml_started;
extern int			 ml_shutting_down;
void		 daemon_maybe_exit(void);
int		 daemon_reload(char **);

#endif /* MICROLIGHTD_H */
