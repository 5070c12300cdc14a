#!/bin/sh
# Benchmark: how late scheduled runs start, from the instant they were due
# to the exec of the task, over every-second fires, with microlightd idle
# and busy with other runs. Run from a built checkout: bench/sched.sh
# See bench/README (4. Schedule precision) for the figures.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${ML_BUILDDIR:-$top}
N=${N:-300}		# every-second fires per round
LOADS=${LOADS:-1 4}	# a round with W busy runs in progress, for each W
CHATTY=${CHATTY:-32}	# a round with this many chatty runs (0: none)
HOG=${HOG:-0}		# 1: and a round with the last W and a CPU hog per core
MANY=${MANY:-100}	# schedules firing at the same second (0: none)
MANYN=${MANYN:-30}	# seconds of that round

[ -x "$builddir/microlightd" ] || { echo "build first (make)" >&2; exit 1; }
mkdir -p "$builddir/bench"
# Static if the C library allows: the stamp is then taken right after the
# exec, without the dynamic loader's work in between.
cc -O2 -static -o "$builddir/bench/stamp" "$top/bench/stamp.c" \
    2>/dev/null ||
    cc -O2 -o "$builddir/bench/stamp" "$top/bench/stamp.c"
stamp="$builddir/bench/stamp"

dir=$(mktemp -d /tmp/ml-sched.XXXXXX)
pid= ; load= ; hogs=
cleanup() {
	[ -n "$load" ] && kill "$load" 2>/dev/null
	for h in $hogs; do kill "$h" 2>/dev/null || true; done
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# start TASKS-DIR CONFIG-TEXT: a daemon on $dir with those, quiet.
start() {
	[ -n "$pid" ] && kill "$pid" && wait "$pid" 2>/dev/null || true
	rm -rf "$dir/state"
	printf '%s\n' "$2" > "$dir/conf"
	"$builddir/microlightd" -f -c "$dir/conf" -T "$1" \
	    -d "$dir/state" -s "$dir/sock" -l none 2>"$dir/log" &
	pid=$!
	i=0
	while ! "$builddir/microlightctl" -s "$dir/sock" ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 500 ] || { cat "$dir/log"; exit 1; }
		sleep 0.01
	done
}

# stamptask FILE: a task that runs the stamp every second.
stamptask() {
	cat > "$1" <<TASK
#!$stamp
# Print the time of the exec, for bench/sched.sh.
#
# @schedule * * * * * *
# @concurrency 8
TASK
	chmod 755 "$1"
}

# cpustat: the jiffies of all CPUs, and of them idle (with iowait).
cpustat() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9,
	$5 + $6 }' /proc/stat; }

# measure K [BUSY]: wait for the next whole second, let N (MANYN if K > 1)
# seconds of fires pass, and report the lateness of the K schedules due
# in them (and the runs of BUSY started meanwhile).
measure() {
	secs=$N
	[ "$1" -eq 1 ] || secs=$MANYN
	first=$(($(date +%s) + 1))
	cpu0=$(cpustat)
	while [ "$(date +%s)" -lt $((first + secs + 1)) ]; do
		sleep 1
	done
	cpu1=$(cpustat)
	if [ -n "$load" ]; then
		kill "$load"
		wait "$load" || exit 1
		load=
	fi
	for h in $hogs; do kill "$h"; wait "$h" 2>/dev/null || true; done
	hogs=
	sleep 1
	python3 "$top/bench/lateness.py" "$dir/state/microlight.db" \
	    "$first" "$secs" "$@"
	echo "$cpu0 $cpu1" | awk '{ printf "    CPU idle meanwhile: %.0f%%" \
	    " (all processes of the machine)\n", 100 * ($4 - $2) / ($3 - $1) }'
}

mkdir "$dir/tasks.d"
stamptask "$dir/tasks.d/stamp"
cat > "$dir/tasks.d/busy" <<'TASK'
#!/bin/sh
# Busy work for bench/sched.sh: 50 lines on stdout, one on stderr.
#
# @concurrency 1024
i=0
while [ $i -lt 50 ]; do
	echo "line $i of 50 of some output for the daemon to store"
	i=$((i + 1))
done
echo "done" >&2
TASK
chmod 755 "$dir/tasks.d/busy"
cat > "$dir/tasks.d/chatty" <<TASK
#!$(command -v python3)
# Chatty work for bench/sched.sh: a line of output every 10 ms.
#
# @param seconds int default=10
# @concurrency 1024
# @timeout 0
import os, sys, time
end = time.monotonic() + int(os.environ["seconds"])
n = 0
while time.monotonic() < end:
    n += 1
    sys.stdout.write("line %d of chatty output for the daemon to store\\n" % n)
    sys.stdout.flush()
    time.sleep(0.01)
TASK
chmod 755 "$dir/tasks.d/chatty"
conf="max-running 64
keep-runs 0"

echo "microlight schedule precision, $(date -u +%Y-%m-%dT%H:%MZ)," \
    "$(nproc) cores, $(uname -r)"
echo "lateness: from the second a run was due to the exec of its task;"
echo "$N fires of an every-second schedule per round"
echo

echo "no other load:"
start "$dir/tasks.d" "$conf"
sleep 2
measure 1
echo

# busy W: keep W runs of busy in progress, from now until measure ends.
busy() {
	python3 "$top/bench/busy.py" "$dir/sock" busy "$1" >/dev/null &
	load=$!
}

for w in $LOADS; do
	echo "busy: $w run(s) of a shell script writing 51 lines kept in" \
	    "progress:"
	start "$dir/tasks.d" "$conf"
	busy "$w"
	sleep 2
	measure 1 busy
	echo
done

if [ "$CHATTY" -gt 0 ]; then
	echo "chatty: $CHATTY runs in progress, each writing a line every" \
	    "10 ms:"
	start "$dir/tasks.d" "$conf"
	for i in $(seq 1 "$CHATTY"); do
		"$builddir/microlightctl" -s "$dir/sock" run chatty \
		    seconds=$((N + 6)) >/dev/null
	done
	sleep 2
	measure 1 chatty
	echo
fi

if [ "$HOG" != 0 ]; then
	echo "busy as above (W=$w), and $(nproc) CPU hogs (shell loops):"
	start "$dir/tasks.d" "$conf"
	busy "$w"
	for i in $(seq 1 "$(nproc)"); do
		sh -c 'while :; do :; done' &
		hogs="$hogs $!"
	done
	sleep 2
	measure 1 busy
	echo
fi

if [ "$MANY" -gt 0 ]; then
	echo "$MANY tasks scheduled every second, $MANYN seconds, no other load:"
	mkdir "$dir/many.d"
	for i in $(seq 1 "$MANY"); do
		stamptask "$dir/many.d/stamp-$i"
	done
	start "$dir/many.d" "max-running $((MANY + 8))
keep-runs 0"
	sleep 2
	measure "$MANY"
fi
