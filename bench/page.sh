#!/bin/sh
# Benchmark: the web page with a large state. 200 tasks (groups,
# schedules, parameters, webhooks) and 100,000 runs with their output in
# the database, then the latency of GET /, GET /tasks/NAME (the task with
# the most runs, an ordinary one, one without runs) and GET /runs/ID, each
# over REQS requests one after the other on one kept-alive connection.
# Run from a built checkout: bench/page.sh
# See bench/README (6. The web page) for the figures and how to read them.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${ML_BUILDDIR:-$top}
TASKS=${TASKS:-200}	# tasks in tasks.d
RUNS=${RUNS:-100000}	# runs in the database
BIG=${BIG:-20000}	# of which runs of poll-queue (every minute)
REQS=${REQS:-200}	# requests per route
PORT=${PORT:-18490}
KEEP=${KEEP:-}		# a directory: keep the state there (and reuse it)

[ -x "$builddir/microlightd" ] || { echo "build first (make)" >&2; exit 1; }
for p in python3 wrk; do
	command -v "$p" >/dev/null 2>&1 ||
	    { echo "missing: $p (apt-get install python3 wrk)" >&2; exit 1; }
done

dir=${KEEP:-$(mktemp -d /tmp/ml-page.XXXXXX)}
mkdir -p "$dir"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$KEEP" ] || rm -rf "$dir"
}
trap cleanup EXIT INT TERM

ctl() { "$builddir/microlightctl" -s "$dir/sock" "$@"; }

# keep-runs 0 and keep-days 0 (the man page's "no limit on the history"):
# nothing is pruned, so the 100,000 runs stay and no pruning pass runs
# during the measurements.
printf 'keep-runs 0\nkeep-days 0\nmax-running 4\n' > "$dir/conf"

start() {
	"$builddir/microlightd" -f -c "$dir/conf" -T "$dir/tasks.d" \
	    -d "$dir/state" -s "$dir/sock" -l "127.0.0.1:$PORT" 2>>"$dir/log" &
	pid=$!
	i=0
	while ! ctl ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 1000 ] || { cat "$dir/log"; exit 1; }
		sleep 0.01
	done
}

stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

echo "microlight page benchmark, $(date -u +%Y-%m-%dT%H:%MZ)," \
    "$(nproc) cores, $(uname -r)"

if [ ! -f "$dir/state/microlight.db" ]; then
	# The tasks: varied headers, a short script each.
	mkdir -p "$dir/tasks.d"
	python3 - "$dir/tasks.d" "$TASKS" <<'PY'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(5)
groups = ["Deploy", "Database", "Backups", "Monitoring", "Certificates",
    "Cache", "Users", "Reports", "Mail", "Storage", "Network", "CI"]
scheds = ["*/5 * * * *", "*/15 * * * *", "0 * * * *", "@hourly",
    "30 2 * * *", "0 3 * * *", "@daily", "0 8 * * mon", "15 6 * * 1-5",
    "0 0 1 * *", "@weekly", "0 */6 * * *", "45 23 * * fri"]
verbs = ["restart", "check", "rotate", "flush", "backup", "deploy", "sync",
    "report", "clean", "renew", "reindex", "export"]
things = ["redis", "postgres", "nginx", "queue", "certs", "logs", "cache",
    "users", "mail", "s3", "dns", "builds", "search", "metrics", "web"]
def task(name, lines):
    with open(os.path.join(d, name), "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(os.path.join(d, name), 0o755)
# The busy one: every minute, the one with the most runs.
task("poll-queue", ["#!/bin/sh",
    "# Poll the work queue and hand out what waits.",
    "#", "# @schedule * * * * *", "# @overlap skip", "# @timeout 50s",
    "# @group Monitoring", 'echo "queue: 0 waiting"'])
for i in range(1, n):
    name = "%s-%s-%d" % (rnd.choice(verbs), rnd.choice(things), i)
    h = ["#!/bin/sh",
        "# %s %s on the hosts that need it." % (name.split("-")[0].title(),
            name.split("-")[1]),
        "# Safe to run at any time; logs what it changed.", "#"]
    sched = rnd.random() < 0.4
    for k in range(rnd.choice([0, 0, 1, 1, 2, 2, 3, 4])):
        h.append(rnd.choice([
            '# @param host%d "Host" default=localhost' % k,
            '# @param mode%d choice(soft,hard,dry-run) "Mode" default=soft' % k,
            '# @param count%d int "How many" default=%d' % (k, rnd.randint(1, 9)),
            '# @param force%d bool "Force it"' % k] +
            ([] if sched else ['# @param ticket%d "Ticket" required' % k])))
    if sched:
        h.append("# @schedule %s" % rnd.choice(scheds))
        if rnd.random() < 0.2:
            h.append("# @timezone Europe/Berlin")
    if rnd.random() < 0.15:
        h.append("# @webhook")
    if rnd.random() < 0.1:
        h.append("# @confirm")
    if rnd.random() < 0.2:
        h.append("# @retries 2")
    h.append("# @timeout %dm" % rnd.choice([1, 2, 5, 10, 30]))
    if rnd.random() < 0.9:
        h.append("# @group %s" % rnd.choice(groups))
    h.append('echo "%s: done"' % name)
    task(name, h)
PY
	# A first start makes the database (schema, schedules); then, with
	# the daemon stopped, the runs go in as the daemon writes them.
	start
	ctl list > "$dir/list"
	stop
	python3 - "$dir/state/microlight.db" "$dir/tasks.d" "$RUNS" "$BIG" <<'PY'
import json, os, random, re, sqlite3, sys, time
dbf, tdir, nruns, big = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(7)
tasks = {}
for name in sorted(os.listdir(tdir)):
    hdr = open(os.path.join(tdir, name)).read()
    params = []
    for m in re.finditer(r"^# @param (\S+) (\S+)(.*)$", hdr, re.M):
        pname, rest = m.group(1), m.group(2) + m.group(3)
        dm = re.search(r"default=(\S+)", rest)
        if rest.startswith("choice("):
            params.append((pname, ["soft", "hard", "dry-run"]))
        elif rest.startswith("int"):
            params.append((pname, [str(k) for k in range(1, 10)]))
        elif rest.startswith("bool"):
            params.append((pname, ["false", "true"]))
        elif "required" in rest:
            params.append((pname, ["OPS-%d" % k for k in range(100, 200)]))
        else:
            params.append((pname, ["localhost", "db1", "db2", "web1"]))
    sm = re.search(r"^# @schedule (.*)$", hdr, re.M)
    tasks[name] = dict(params=params, schedule=sm.group(1) if sm else None,
        webhook="# @webhook" in hdr)
names = sorted(tasks)
# How many runs each task has: poll-queue BIG (every minute), the rest
# spread unevenly (a few run often, many seldom, some never).
others = [t for t in names if t != "poll-queue"]
rnd.shuffle(others)
weights = [0 if k % 20 == 19 else 1.0 / (k + 1) ** 0.9
    for k in range(len(others))]
left = nruns - big
counts = {t: int(left * w / sum(weights)) for t, w in zip(others, weights)}
counts[others[0]] += left - sum(counts.values())
counts["poll-queue"] = big
now = int(time.time() * 1000) - 120000
span = 30 * 86400 * 1000
runs = []
for t, c in counts.items():
    if t == "poll-queue":
        # one a minute, back from now
        first = now - now % 60000
        runs += [(first - 60000 * k, t) for k in range(c)]
    else:
        runs += [(now - rnd.randrange(span), t) for _ in range(c)]
runs.sort()
db = sqlite3.connect(dbf)
db.execute("PRAGMA foreign_keys = ON")
base = db.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0]
# the ordinary task (the median number of runs) has 5 long logs
ordinary = sorted(counts, key=lambda t: counts[t])[len(counts) // 2]
chatty = ordinary
chatty_last = set(base + k + 1 for k, (q, t) in enumerate(runs)
    if t == chatty)
chatty_last = set(sorted(chatty_last)[-5:])
statuses = ["succeeded"] * 900 + ["failed"] * 70 + ["timed_out"] * 10 + \
    ["cancelled"] * 10 + ["skipped"] * 5 + ["lost"] * 5
lines = ["starting", "connecting to %s", "checked %d items", "nothing to do",
    "updated %d rows", "took %d ms", "done"]
rows, outs, inputs = [], [], []
for k, (q, t) in enumerate(runs):
    rid = base + k + 1
    info = tasks[t]
    st = rnd.choice(statuses)
    if info["schedule"] and rnd.random() < 0.8:
        trig, who = "schedule", "schedule"
    elif info["webhook"] and rnd.random() < 0.5:
        trig, who = "webhook", "10.0.%d.%d" % (rnd.randrange(4), rnd.randrange(250))
    else:
        trig, who = rnd.choice([("cli", "uid=1000(alice)"), ("cli", "uid=0(root)"),
            ("web", "bob"), ("web", "carol"), ("api", "deploy-bot")])
    params = {p: (v[0] if trig == "schedule" else rnd.choice(v))
        for p, v in info["params"]}
    if st == "skipped":
        start = end = None
        end = q
        code = sig = None
        reason = "%s has 1 run in progress (@concurrency 1, @overlap skip)" % t
    else:
        start = q + rnd.randrange(1, 8)
        dur = int(rnd.lognormvariate(5.5, 1.8))	# ms, median ~250
        end = start + dur
        code = sig = reason = None
        if st == "succeeded":
            code = 0
        elif st == "failed":
            code = rnd.choice([1, 1, 2, 3])
            reason = "exit code %d" % code
        elif st == "timed_out":
            end = start + 60000
            sig, reason = 15, "timed out after 1m"
        elif st == "cancelled":
            sig, reason = 15, "cancelled by uid=1000(alice)"
        else:
            reason = "the daemon stopped while it ran"
    size = 0
    if start is not None:
        # most runs say little; one in a hundred is chatty; a build-like
        # task's latest 5 runs (the ordinary task's, see below) write
        # 10,000 lines each
        n = rnd.choice([1, 2, 3, 4, 6]) if rnd.random() > 0.01 else 400
        if t == chatty and rid in chatty_last:
            n = 10000
        for s in range(n):
            text = lines[s % len(lines)]
            if "%s" in text:
                text = text % rnd.choice(["db1", "web1", "s3"])
            elif "%d" in text:
                text = text % rnd.randrange(1000)
            data = ("[%s] %s\n" % (t, text)).encode()
            if n == 10000:
                data = ("%s %05d compiling src/module%04d.c -> build/"
                    "module%04d.o\n" % (t, s, s, s)).encode()
            stream = 2 if (st != "succeeded" and s == n - 1) else 1
            outs.append((rid, s, stream, start + s, data))
            size += len(data)
    if trig == "webhook":
        inputs.append((rid, json.dumps({"ref": "refs/heads/main",
            "after": "%040x" % rnd.getrandbits(160)}).encode()))
    rows.append((rid, t, st, trig, who, json.dumps(params, separators=(",", ":")),
        q, start, end, code, sig, reason, size,
        info["schedule"] if trig == "schedule" else None))
with db:
    db.executemany("INSERT INTO runs (id, task, status, trigger, triggered_by,"
        " params, queued_at, started_at, finished_at, exit_code, signal,"
        " reason, output_size, schedule) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO output (run_id, seq, stream, time, data)"
        " VALUES (?, ?, ?, ?, ?)", outs)
    db.executemany("INSERT INTO run_input (run_id, data) VALUES (?, ?)", inputs)
db.execute("ANALYZE")	# as a long-lived database has after an optimize
db.commit()
print("inserted %d runs (%d output chunks, %d webhook bodies); runs per task:"
    " max %d (poll-queue), median %d, %d tasks without runs" % (len(rows),
    len(outs), len(inputs), max(counts.values()),
    sorted(counts.values())[len(counts) // 2],
    sum(1 for t in names if counts.get(t, 0) == 0)))
db.close()
PY
fi

start
# The daemon takes the database as it is: it lists, shows, reads, and its
# log has no complaint.
set -- $(python3 - "$dir/state/microlight.db" "$dir/tasks.d" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
q = lambda sql: db.execute(sql).fetchone()
# the task with the longest log (an ordinary task by its number of runs),
# its run with that log, and the latest run of poll-queue
task, big = q("SELECT task, id FROM runs ORDER BY output_size DESC LIMIT 1")
print(q("SELECT count(*) FROM runs")[0], task,
    q("SELECT count(*) FROM runs WHERE task = '%s'" % task)[0], big,
    q("SELECT output_size FROM runs WHERE id = %d" % big)[0],
    q("SELECT max(id) FROM runs WHERE task = 'poll-queue'")[0],
    q("SELECT count(*) FROM runs WHERE task = 'poll-queue'")[0],
    q("PRAGMA integrity_check")[0],
    # a task without runs
    min(set(os.listdir(sys.argv[2])) -
        set(t for t, in db.execute("SELECT DISTINCT task FROM runs"))))
PY
)
nruns=$1 midtask=$2 midruns=$3 bigrun=$4 bigsize=$5 pollrun=$6 pollruns=$7
[ "$8" = ok ] || { echo "integrity_check: $8" >&2; exit 1; }
empty=$9
echo "state: $(ls "$dir/tasks.d" | wc -l) tasks, $nruns runs," \
    "database $(du -k "$dir/state/microlight.db" | cut -f1) KiB;" \
    "daemon RSS $(awk '/^VmRSS/ { print $2 }' /proc/$pid/status) KiB"
sed -n 's/.*ready: \([0-9]* tasks ([0-9]* invalid)\).*/  \1/p' "$dir/log" |
    tail -1
ctl list > /dev/null
ctl runs -n 1 > /dev/null
ctl show poll-queue > /dev/null
ctl status "$pollrun" > /dev/null
[ "$(ctl logs "$bigrun" | wc -c)" = "$bigsize" ] ||
    { echo "the log of run $bigrun is not $bigsize bytes" >&2; exit 1; }
if grep -qi "error\|corrupt\|malformed\|warn" "$dir/log"; then
	echo "the daemon complained:" >&2
	cat "$dir/log" >&2
	exit 1
fi

# measure: REQS GETs of each route one after the other on one kept-alive
# connection, from sending the request to the last byte of the body (5
# warm-up requests first, not counted); then GET / again with a new
# connection for each request; then GET / with wrk, 1 connection, 10 s.
measure() {
	python3 - "$PORT" "$REQS" / "/tasks/poll-queue" "/tasks/$midtask" \
	    "/tasks/$empty" "/runs/$pollrun" "/runs/$bigrun" <<'PY'
import http.client, sys, time
port, reqs, routes = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
c = http.client.HTTPConnection("127.0.0.1", port)
def get(path, conn=None):
    cc = conn or http.client.HTTPConnection("127.0.0.1", port)
    t = time.perf_counter()
    cc.request("GET", path)
    r = cc.getresponse()
    body = r.read()
    dt = (time.perf_counter() - t) * 1000
    if conn is None:
        cc.close()
    if r.status != 200:
        sys.exit("GET %s: %d %s" % (path, r.status, body[:200]))
    return dt, len(body)
def row(label, t):
    ms = sorted(x[0] for x in t)
    pct = lambda p: ms[min(len(ms) - 1, max(0, -(-p * len(ms) // 100) - 1))]
    print("  %-30s %7d %7.2f %7.2f %7.2f" % (label, t[0][1], pct(50),
        pct(99), ms[-1]))
print("  %-30s %7s %7s %7s %7s" % ("route", "bytes", "p50 ms", "p99 ms",
    "max ms"))
for path in routes:
    for _ in range(5):
        get(path, c)
    row(path, [get(path, c) for _ in range(reqs)])
row("/  (new connection each)", [get("/") for _ in range(reqs)])
PY
	wrk -t1 -c1 -d10s --latency "http://127.0.0.1:$PORT/" |
	    awk '/Latency/ && !/Distribution/ { mean = $2; max = $4 }
		/ 50%/ { p50 = $2 } / 99%/ { p99 = $2 }
		/Requests\/sec/ { rps = $2 }
		END { printf "  GET / with wrk, 1 connection, 10 s: %s req/s, " \
		    "p50 %s, p99 %s, max %s\n", rps, p50, p99, max }'
}

stop
start
first=$(python3 - "$PORT" <<'PY'
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
t = time.perf_counter()
c.request("GET", "/")
c.getresponse().read()
print("%.1f" % ((time.perf_counter() - t) * 1000))
PY
)
echo "first GET / after a restart: $first ms"
echo "(/tasks/poll-queue: $pollruns runs; /tasks/$midtask: $midruns runs;" \
    "/tasks/$empty: none;"
echo " /runs/$bigrun: a log of $bigsize bytes in 10000 chunks;" \
    "/runs/$pollrun: 4 lines)"
echo
echo "$REQS requests per route:"
measure
echo "daemon RSS after: $(awk '/^VmRSS/ { print $2 }' /proc/$pid/status) KiB"
