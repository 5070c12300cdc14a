/* The store's insides, shared by db.c and the db_*.c files only. */

#ifndef DB_H
#define DB_H

#include <sqlite3.h>

#define RUN_COLUMNS "id, task, status, trigger, triggered_by, params, " \
	"attempt, retry_of, queued_at, started_at, finished_at, exit_code, " \
	"signal, reason, priority, output_size, output_dropped, not_before, " \
	"chain_of, chain_tasks, schedule, rerun_of, notice"

#define TOKEN_COLUMNS "name, creator, tasks, created_at, expires_at, " \
	"last_used_at"

/* Prepared statements, made once and kept. */
enum db_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_RUN_INSERT,
	STMT_RUN_UPDATE,
	STMT_RUN_LOAD,
	STMT_RUNS_RUNNING,
	STMT_RUNS_QUEUED,
	STMT_RUNS_DUE,
	STMT_RUNS_SCHEDULED,
	STMT_RETRY_WAITING,
	STMT_OUTPUT_INSERT,
	STMT_OUTPUT_READ,
	STMT_PRUNE_OLD,
	STMT_PRUNE_TASK,
	STMT_PRUNE_EXCESS,
	STMT_PRUNE_DELETE,
	STMT_PRUNE_COUNT,
	STMT_PRUNED_COUNT,
	STMT_LAST_ID,
	STMT_SCHEDULE_FIRED,
	STMT_SCHEDULE_LAST,
	STMT_LAST_SUCCESS,
	STMT_PING,
	STMT_INPUT_PUT,
	STMT_INPUT_GET,
	STMT_HOOK_GET,
	STMT_HOOK_SET,
	STMT_LAST_RUN_OF,	/* the web page: one task's latest run */
	STMT_LAST_ENDED_OF,	/* and its latest ended run */
	STMT_NEXT_SCHEDULED,	/* one task's soonest scheduled run */
	STMT_TOKEN_INSERT,
	STMT_TOKEN_BY_HASH,
	STMT_TOKEN_BY_NAME,
	STMT_TOKEN_LIST,
	STMT_TOKEN_DELETE,
	STMT_TOKEN_USED,
	STMT_MAX
};

/* db.c */
extern sqlite3	*db;
sqlite3_stmt	*db_stmt(enum db_stmt);
int		 db_step_done(sqlite3_stmt *, const char *);

/* db_run.c */
void		 db_latest_clear(void);
void		 db_latest_forget(const char *);

/* db_ckpt.c */
enum db_ckpt_state {
	DB_CKPT_NONE,		/* no thread: the loop checkpoints */
	DB_CKPT_BUSY,		/* one asked for or under way */
	DB_CKPT_BEHIND,		/* idle; the last one left part of the WAL */
	DB_CKPT_DONE,		/* idle; the last one copied all of it */
};
int		 db_ckpt_request(void);
enum db_ckpt_state db_ckpt_state(void);
void		 db_ckpt_stop(void);

#endif /* DB_H */
