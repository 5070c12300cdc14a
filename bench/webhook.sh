#!/bin/sh
# Benchmark: webhooks of microlightd beside Debian's `webhook` (adnanh/webhook
# 2.8), both running the same command, driven by wrk at 1, 8 and 32
# connections, then an overload. Requests per second, p50/p99 latency,
# memory under load; for microlightd, whether every accepted trigger became
# a recorded run that finished; in the overload, how many accepted requests
# ran, for both.
# Run from a built checkout: bench/webhook.sh
# See bench/README (5. Webhooks) for the figures and how to read them.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${ML_BUILDDIR:-$top}
CONNS=${CONNS:-1 8 32}	# connections of the throughput rounds
SECS=${SECS:-4}		# seconds of each throughput round
REPS=${REPS:-3}		# rounds of each (alternating; medians printed)
OVERLOAD=${OVERLOAD:-64}	# connections of the overload round (0: none)
OSECS=${OSECS:-10}	# seconds of the overload round
PEERCHECK=${PEERCHECK:-1}	# 1: count the peer's commands that ran
MAXRUN=${MAXRUN:-4}	# microlightd's max-running
PORT=${PORT:-18480}	# microlightd's port; the peer's is PORT+1

[ -x "$builddir/microlightd" ] || { echo "build first (make)" >&2; exit 1; }
missing=
for p in wrk webhook python3 cc; do
	command -v "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "missing:$missing" >&2
	echo "on Debian: apt-get install wrk webhook python3 gcc" >&2
	exit 1
fi
mkdir -p "$builddir/bench"
cc -O2 -o "$builddir/bench/spawnloop" "$top/bench/spawnloop.c"

dir=$(mktemp -d /tmp/ml-webhook.XXXXXX)
pid= ; peer= ; sampler=
cleanup() {
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null
	[ -n "$peer" ] && kill "$peer" 2>/dev/null && wait "$peer" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

secret=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export WEBHOOK_SECRET="$secret"

# The same two commands for both: true-many runs /bin/true (through its #!
# line for microlightd; @concurrency 1024 so that max-running is the only
# limit), count is a /bin/sh script appending a line to a file (one file
# per daemon): one line per run that really ran.
mkdir "$dir/tasks.d"
printf '#!/bin/true\n# Run /bin/true.\n# @webhook\n# @concurrency 1024\n' \
    > "$dir/tasks.d/true-many"
printf '#!/bin/sh\n# Count a run.\n# @webhook\n# @concurrency 1024\necho x >> %s\n' \
    "$dir/ran-ml" > "$dir/tasks.d/count"
printf '#!/bin/sh\necho x >> %s\n' "$dir/ran-peer" > "$dir/count-peer"
chmod 755 "$dir/tasks.d/true-many" "$dir/tasks.d/count" "$dir/count-peer"
printf 'max-running %s\nkeep-runs 0\nwebhook-secret true-many %s\nwebhook-secret count %s\n' \
    "$MAXRUN" "$secret" "$secret" > "$dir/conf"
# The peer checks the same header; a mismatch is a 401, as microlightd's.
# Without include-command-output-in-response it answers 200 as soon as it
# has matched the hook and runs the command in the background.
hook() {
	printf '{"id":"%s","execute-command":"%s","command-working-directory":"%s",
  "trigger-rule-mismatch-http-response-code":401,
  "trigger-rule":{"match":{"type":"value","value":"Bearer %s",
    "parameter":{"source":"header","name":"Authorization"}}}}' \
	    "$1" "$2" "$dir" "$secret"
}
printf '[%s,\n%s]\n' "$(hook true-many /bin/true)" \
    "$(hook count "$dir/count-peer")" > "$dir/hooks.json"

ctl() { "$builddir/microlightctl" -s "$dir/sock" "$@"; }

# waitport PORT: until something accepts connections on it.
waitport() {
	python3 - "$1" <<'PY'
import socket, sys, time
for _ in range(500):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.01)
sys.exit("nothing listens on port %s" % sys.argv[1])
PY
}

start_ml() {
	rm -rf "$dir/state" "$dir/ran-ml"
	"$builddir/microlightd" -f -c "$dir/conf" -T "$dir/tasks.d" \
	    -d "$dir/state" -s "$dir/sock" -l "127.0.0.1:$PORT" 2>"$dir/log" &
	pid=$!
	i=0
	while ! ctl ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 500 ] || { cat "$dir/log"; exit 1; }
		sleep 0.01
	done
	waitport "$PORT"
	sleep 1		# the spare supervisors are forked
}

stop_ml() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

start_peer() {
	rm -f "$dir/ran-peer"
	webhook -hooks "$dir/hooks.json" -ip 127.0.0.1 -port $((PORT + 1)) \
	    "$@" >"$dir/peer.log" 2>&1 &
	peer=$!
	waitport $((PORT + 1))
	sleep 1
}

stop_peer() { kill "$peer"; wait "$peer" 2>/dev/null || true; peer=; }

# The memory sampler: every 0.25 s, for the process ROOT and its
# descendants: the VmRSS of ROOT; the PSS (proportional set size: shared
# pages split between the processes sharing them, so the sum is what they
# take together) summed over ROOT and its helpers (descendants whose name
# starts with "microlight": the launcher microlight-pool and the
# supervisors microlight-run, waiting or running); the PSS summed over the
# whole tree (also the commands the runs are running at that instant); and
# how many processes the tree has. One line per sample, KiB.
cat > "$dir/sample.py" <<'PY'
import os, signal, sys, time
root = int(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
def field(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
while os.path.exists("/proc/%d" % root):
    kids, comm = {}, {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        r = s.rindex(")")
        comm[int(p)] = s[s.index("(") + 1:r]
        kids.setdefault(int(s[r + 2:].split()[1]), []).append(int(p))
    tree, todo = [], [root]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += kids.get(p, [])
    helpers = pall = 0
    for p in tree:
        pss = field("/proc/%d/smaps_rollup" % p, "Pss:")
        pall += pss
        if p == root or comm.get(p, "").startswith("microlight"):
            helpers += pss
    print(field("/proc/%d/status" % root, "VmRSS:"), helpers, pall,
        len(tree), flush=True)
    time.sleep(0.25)
PY

# cputicks PID: user + system clock ticks of a process so far.
cputicks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# idle: the machine's idle and total clock ticks so far.
idle() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# load PID CONNS SECS PORT TASK: wrk on the webhook of TASK, memory sampled.
load() {
	rm -f "$dir"/ids.* "$dir/rss"
	python3 "$dir/sample.py" "$1" > "$dir/rss" &
	sampler=$!
	while [ ! -s "$dir/rss" ]; do sleep 0.05; done	# it has started
	c0=$(cputicks "$1"); set -- "$@" $(idle)
	wrk -t1 -c"$2" -d"${3}s" --timeout 10s --latency \
	    -s "$top/bench/webhook.lua" "http://127.0.0.1:$4/hooks/$5" \
	    > "$dir/wrk.out" 2>&1 || { cat "$dir/wrk.out" >&2; exit 1; }
	c1=$(cputicks "$1"); set -- "$@" $(idle)
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	sampler=
	res=$(sed -n 's/^RESULT //p' "$dir/wrk.out")
	[ -n "$res" ] || { cat "$dir/wrk.out" >&2; exit 1; }
	# the figures of the RESULT line as shell variables
	eval "$res"
	rssmain=$(awk '$1 > m { m = $1 } END { print m + 0 }' "$dir/rss")
	psshelp=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$dir/rss")
	pssall=$(awk '$3 > m { m = $3 } END { print m + 0 }' "$dir/rss")
	nprocs=$(awk '$4 > m { m = $4 } END { print m + 0 }' "$dir/rss")
	# the daemon's own CPU, % of one core; the machine's idle share
	cpu=$(awk -v a="$c0" -v b="$c1" -v s="$secs" -v hz="$(getconf CLK_TCK)" \
	    'BEGIN { printf "%.0f", 100 * (b - a) / hz / s }')
	idlepct=$(awk -v i0="$6" -v t0="$7" -v i1="$8" -v t1="$9" \
	    'BEGIN { printf "%.0f", 100 * (i1 - i0) / (t1 - t0) }')
}

# row WHO CONNS: the figures of the last load (also kept in results).
row() {
	echo "${1%% *} $2 $rps $(awk -v n="$s2xx" -v s="$secs" \
	    'BEGIN { print n / s }') $p50 $p99 $rssmain $psshelp $pssall" \
	    "$nprocs $cpu $idlepct" >> "$dir/results"
	printf '  %-12s %3s %7.0f %7.0f %7.2f %7.2f %7s %7s %7s %5s %4s%% %3s%%\n' \
	    "$1" "$2" "$rps" \
	    "$(awk -v n="$s2xx" -v s="$secs" 'BEGIN { print n / s }')" \
	    "$p50" "$p99" "$rssmain" "$psshelp" "$pssall" "$nprocs" "$cpu" \
	    "$idlepct"
}

header() {
	echo "               conns  req/s  2xx/s  p50 ms  p99 ms RSS main PSS own PSS all procs  CPU idle"
}

# drain_ml: wait until microlightd has nothing running or queued; sets
# drained (seconds after the load, to 0.1 s).
drain_ml() {
	t0=$(date +%s.%N)
	while :; do
		left=$(ctl --json ping | sed -n \
		    's/.*"running":\([0-9]*\).*"queued":\([0-9]*\).*/\1 \2/p')
		[ "$left" = "0 0" ] && break
		sleep 0.2
	done
	drained=$(awk -v a="$t0" -v b="$(date +%s.%N)" \
	    'BEGIN { printf "%.1f", b - a }')
}

# check_ml TASK: the runs of TASK in the database against the run ids of
# the 202 answers (ids.*); prints "runs succeeded ended answered missing
# unfinished extra": runs recorded, of them succeeded and ended; run ids
# answered with 202; of those, not in the database, in it but not ended;
# runs recorded without a 202 counted (in flight when wrk stopped).
check_ml() {
	cat "$dir"/ids.* 2>/dev/null > "$dir/ids" || true
	python3 - "$dir/state/microlight.db" "$1" "$dir/ids" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
runs = {i: (st, fin) for i, st, fin in db.execute(
    "SELECT id, status, finished_at FROM runs"
    " WHERE task = ? AND trigger = 'webhook'", (sys.argv[2],))}
ids = set(int(l) for l in open(sys.argv[3]) if l.strip())
print(len(runs), sum(1 for st, fin in runs.values() if st == "succeeded"),
    sum(1 for st, fin in runs.values() if fin is not None), len(ids),
    sum(1 for i in ids if i not in runs),
    sum(1 for i in ids if i in runs and runs[i][1] is None),
    sum(1 for i in runs if i not in ids))
PY
}

# lines FILE: how many lines it has (0 if there is none).
lines() { if [ -f "$1" ]; then wc -l < "$1" | tr -d ' '; else echo 0; fi; }

# settle_peer: wait until the peer has no children and its count file has
# not grown for 3 s (at most 600 s); sets drained (seconds after the load).
settle_peer() {
	t0=$(date +%s)
	last=-1 ; still=0
	while [ "$still" -lt 3 ] && [ $(($(date +%s) - t0)) -lt 600 ]; do
		n=$(lines "$dir/ran-peer")
		if [ "$n" = "$last" ] &&
		    ! ps -o pid= --ppid "$peer" >/dev/null 2>&1; then
			still=$((still + 1))
		else
			still=0
		fi
		last=$n
		sleep 1
	done
	drained=$(($(date +%s) - t0 - 3))
}

# ml_summary: the last microlightd round, accepted against recorded.
ml_summary() {
	set -- $(check_ml "$1")
	echo "    $s2xx accepted (202), $s503 answered 503 ($s503ra with" \
	    "Retry-After), $other other, $errors socket errors, $timeouts timeouts"
	echo "    $1 runs recorded: $2 succeeded, $3 ended; of the $4 run ids" \
	    "answered 202: $5 not recorded, $6 not ended"
	echo "    ($7 recorded runs had no 202 counted: in flight when wrk" \
	    "stopped); the queue drained ${drained} s after the load"
	lost=$(($5 + $6))
	[ "$lost" = 0 ] || echo "    *** $lost accepted triggers lost ***"
}

export IDS_FILE="$dir/ids"
echo "microlight webhook benchmark, $(date -u +%Y-%m-%dT%H:%MZ)," \
    "$(nproc) cores, $(uname -r), $(wrk -v 2>&1 | awk 'NR == 1 { print $1, $2 }')," \
    "webhook $(webhook -version | awk '{ print $3 }'), max-running $MAXRUN," \
    "open files limit $(ulimit -n)"
printf 'this machine now, a loop spawning /bin/true through pipes: '
"$builddir/bench/spawnloop" 2000 /bin/true | awk '{ print $6, "runs/s" }'
echo
echo "throughput: POST /hooks/true-many, ${SECS} s per round, wrk -t1 --latency;"
echo "2xx = accepted (microlightd 202, webhook 200); memory peaks in KiB: RSS of"
echo "the daemon process, PSS of it and its helpers (microlightd: the launcher"
echo "and the supervisors), PSS of its whole process tree (also the commands"
echo "running); CPU of the daemon process (% of one core); idle: the machine's."
echo
header
summary=
: > "$dir/results"
for c in $CONNS; do
	for r in $(seq 1 "$REPS"); do
		start_ml
		load "$pid" "$c" "$SECS" "$PORT" true-many
		row microlightd "$c"
		drain_ml
		summary="$summary
  $c conns, round $r:
$(ml_summary true-many)"
		stop_ml
		start_peer
		load "$peer" "$c" "$SECS" $((PORT + 1)) true-many
		row "webhook 2.8" "$c"
		stop_peer
	done
done
if [ "$REPS" -gt 1 ]; then
	echo
	echo "medians of the $REPS rounds:"
	echo
	header
	# the median of each column, by daemon and connections
	sort -k2,2n -k1,1 "$dir/results" | awk '
	    function flush() {
		if (m == 0) return
		name = who == "microlightd" ? who : "webhook 2.8"
		line = sprintf("  %-12s %3s", name, conns)
		for (i = 3; i <= nf; i++) {
			for (a = 1; a <= m; a++) s[a] = v[i, a]
			for (a = 2; a <= m; a++)	# insertion sort
				for (b = a; b > 1 && s[b - 1] > s[b]; b--) {
					t = s[b]; s[b] = s[b - 1]; s[b - 1] = t
				}
			x[i] = s[int((m + 1) / 2)]
		}
		printf "%s %7.0f %7.0f %7.2f %7.2f %7d %7d %7d %5d %4d%% %3d%%\n",
		    line, x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10],
		    x[11], x[12]
		m = 0
	    }
	    $1 != who || $2 != conns { flush(); who = $1; conns = $2 }
	    { m++; nf = NF; for (i = 3; i <= NF; i++) v[i, m] = $i + 0 }
	    END { flush() }'
fi
echo
echo "microlightd, every accepted trigger against the runs in SQLite:$summary"

# The peer's 200 only says that a goroutine will start the command: how
# many of those commands ran, from its log (-verbose: "command output" for
# a command that ran, "error occurred" for one that could not start), in a
# round of its own per connection count, the log slowing it somewhat.
if [ "$PEERCHECK" = 1 ]; then
	echo
	echo "webhook 2.8, the /bin/true commands it ran (separate ${SECS} s rounds,"
	echo "-verbose -logfile, so slower):"
	for c in $CONNS; do
		start_peer -verbose -logfile "$dir/peer.vlog"
		load "$peer" "$c" "$SECS" $((PORT + 1)) true-many
		settle_peer
		stop_peer
		# "command output" is logged for every command, then "error
		# occurred" for those that failed (/bin/true never fails).
		ended=$(grep -c '\] command output:' "$dir/peer.vlog" || true)
		failed=$(grep -c '\] error occurred:' "$dir/peer.vlog" || true)
		ran=$((ended - failed))
		echo "  $c conns: $s2xx accepted (200), $ran ran, $failed could" \
		    "not start: $(grep '\] error occurred:' "$dir/peer.vlog" |
		    sed 's/.*error occurred: //' |
		    sort | uniq -c | sort -rn | awk '{ $1 = $1 " x"; print }' |
		    paste -sd ';' -)"
		rm -f "$dir/peer.vlog"
	done
fi

[ "$OVERLOAD" -gt 0 ] || exit 0
echo
echo "overload: POST /hooks/count (a /bin/sh script appending a line to a"
echo "file), $OVERLOAD connections for ${OSECS} s; then wait until everything"
echo "accepted has run (microlightd: nothing running or queued; webhook: no"
echo "child left and no new line for 3 s):"
echo
header
start_ml
load "$pid" "$OVERLOAD" "$OSECS" "$PORT" count
row microlightd "$OVERLOAD"
drain_ml
mlsum=$(ml_summary count)
mlran=$(lines "$dir/ran-ml")
stop_ml
start_peer
load "$peer" "$OVERLOAD" "$OSECS" $((PORT + 1)) count
row "webhook 2.8" "$OVERLOAD"
settle_peer
peerran=$(lines "$dir/ran-peer")
stop_peer
echo
echo "  microlightd:"
echo "$mlsum"
echo "    $mlran lines written by the runs"
echo "  webhook 2.8:"
echo "    $s2xx accepted (200), $((s503 + other)) other answers, $errors socket" \
    "errors, $timeouts timeouts"
echo "    $peerran lines written by the runs" \
    "($(awk -v r="$peerran" -v a="$s2xx" 'BEGIN { printf "%.1f", a ? 100 * r / a : 0 }')%" \
    "of the accepted; $(awk -v r="$peerran" -v a="$s2xx" 'BEGIN { print (a > r ? a - r : 0) }')" \
    "accepted requests never ran); nothing more ran ${drained} s after the load"
