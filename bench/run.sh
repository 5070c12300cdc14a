#!/bin/sh
# Benchmark: idle footprint, run throughput and client latency of
# microlightd, each beside a baseline measured on the same machine.
# Run from a built checkout: bench/run.sh  (or: make bench)
# See bench/README for the figures and how to read them.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${ML_BUILDDIR:-$top}
N=${N:-2000}
LAT=${LAT:-300}
ROUNDS=${ROUNDS:-9}

[ -x "$builddir/microlightd" ] || { echo "build first (make)" >&2; exit 1; }
mkdir -p "$builddir/bench"
cc -O2 -o "$builddir/bench/spawnloop" "$top/bench/spawnloop.c"
cc -O2 -o "$builddir/bench/rssfloor" "$top/bench/rssfloor.c" \
    $(pkg-config --cflags --libs sqlite3 libevent_core jansson libbsd-overlay)
loop="$builddir/bench/spawnloop"

dir=$(mktemp -d /tmp/ml-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# start CONFIG-TEXT: a daemon on $dir with that config, quiet.
start() {
	[ -n "$pid" ] && kill "$pid" && wait "$pid" 2>/dev/null || true
	rm -rf "$dir/state"
	printf '%s\n' "$1" > "$dir/conf"
	"$builddir/microlightd" -f -c "$dir/conf" -T "$dir/tasks.d" \
	    -d "$dir/state" -s "$dir/sock" -l none 2>"$dir/log" &
	pid=$!
	i=0
	while ! "$builddir/microlightctl" -s "$dir/sock" ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 500 ] || { cat "$dir/log"; exit 1; }
		sleep 0.01
	done
}

ctl() { "$builddir/microlightctl" -s "$dir/sock" "$@"; }

mkdir "$dir/tasks.d"
# 20 tasks with realistic headers.
for i in $(seq 1 20); do
	cat > "$dir/tasks.d/task-$i.sh" <<TASK
#!/bin/sh
# Benchmark task $i: restart a service, with parameters.
#
# @param host "Host" default=localhost
# @param mode choice(soft,hard) default=soft
# @timeout 2m
# @group Bench
echo "task $i on \$host (\$mode)"
TASK
	chmod +x "$dir/tasks.d/task-$i.sh"
done

echo "microlight benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r)"
echo

start "max-running 4
keep-runs 0"
sleep 1
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
[ -n "${SMAPS:-}" ] && cp "/proc/$pid/smaps" "$SMAPS"
echo "idle RSS with $(ls "$dir/tasks.d" | wc -l) tasks loaded: $rss KiB" \
    "($(awk "BEGIN { printf \"%.2f\", $rss / 1024 }") MiB; target < 4 MiB)"
private=$(awk '/^Private_Dirty:/ { n += $2 } END { print n }' \
    "/proc/$pid/smaps")
floor=$("$builddir/bench/rssfloor" "$dir/floor.db")
echo "  of which written by microlightd (private dirty): $private KiB"
echo "  floor: a program linking the same libraries, doing nothing: $floor KiB"
echo

# "true" is a copy of /bin/true (a symlink to it would leave tasks.d,
# which a daemon running as root refuses): the run is exactly what the
# baseline runs. "true-many" runs /bin/true too, through its #! line, with
# the @concurrency 1024 that a header allows, for the throughput test.
cp /bin/true "$dir/tasks.d/true"
chmod 755 "$dir/tasks.d/true"
printf '#!/bin/true\n# Run /bin/true.\n# @concurrency 1024\n' \
    > "$dir/tasks.d/true-many"
chmod 755 "$dir/tasks.d/true-many"
ctl reload >/dev/null
echo "runs of a task that runs /bin/true ($N triggers):"
printf '  baseline, a loop spawning true through pipes:  '
"$loop" "$N" /bin/true
for mr in 1 4; do
	start "max-running $mr
keep-runs 0"
	printf '  microlightd, max-running %s:                   ' "$mr"
	python3 "$top/bench/trigger.py" "$dir/sock" "$dir/state/microlight.db" \
	    true-many "$N"
done
echo

start "max-running 4
keep-runs 0"
echo "wall time of one run: $ROUNDS rounds of $LAT runs one after the other,"
echo "alternating; median of the rounds (min-max):"
tr= ; cr=
for r in $(seq 1 "$ROUNDS"); do
	tr="$tr $("$loop" "$LAT" /bin/true | awk '{ print $8 }')"
	cr="$cr $("$loop" "$LAT" "$builddir/microlightctl" -s "$dir/sock" \
	    run true --wait | awk '{ print $8 }')"
done
summary() { printf '%s\n' $1 | sort -n | awk '{ v[NR] = $1 }
	END { printf "%.3f ms (%.3f-%.3f)", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
echo "  /bin/true directly:                  $(summary "$tr")"
echo "  microlightctl run true --wait:       $(summary "$cr")"
ratio=$(awk -v t="$(summary "$tr")" -v c="$(summary "$cr")" \
    'BEGIN { split(t, a, " "); split(c, b, " "); printf "%.2f", b[1] / a[1] }')
echo "  ratio of the medians: ${ratio}x (target < 3x)"
