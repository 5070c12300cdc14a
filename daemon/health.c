/* GET /healthz: whether the loop, the database and the scheduler keep up. */

#include "microlightd.h"

/*
 * GET /healthz: the loop answers; the database answers reads and takes
 * writes (no run record waits to be written); the scheduler keeps up.
 */
void
health_request(struct http_req *hr)
{
	json_t	*o;
	u_int	 unwritten = record_count();
	int	 db_ok, sched_ok;

	db_ok = db_ping() == 0 && unwritten == 0;
	sched_ok = sched_healthy();
	o = json_pack("{s:s,s:s,s:I,s:b,s:i,s:b,s:i,s:i}", K_STATUS,
	    db_ok && sched_ok ? HEALTH_OK : HEALTH_FAILING, K_VERSION,
	    PACKAGE_VERSION,
	    K_UPTIME, (json_int_t)((time_now_ms() - ml_started) / 1000),
	    K_DATABASE, db_ok, K_UNWRITTEN, (int)unwritten,
	    K_SCHEDULER, sched_ok, K_RUNNING, (int)run_active_count(),
	    K_QUEUED, (int)queue_length());
	http_json(hr, db_ok && sched_ok ? 200 : 503, o);
}
