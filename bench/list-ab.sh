#!/bin/sh
# microlightctl list and ping of two builds side by side, alternating:
#
#   bench/list-ab.sh BUILD_A BUILD_B
#
# Each build's microlightd runs in the foreground on a temporary directory
# of its own with TASKS tasks (200), each run once so that it has a last
# run; then ROUNDS (8) rounds, each of CALLS (100) `ping` and `list` calls
# of build A, then of build B. It prints each round's mean time per call
# and the means of all rounds, in microseconds. Each build's client talks
# to its own daemon (the protocol must match). The daemons are stopped by
# their pids, the directory removed.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 BUILD_A BUILD_B" >&2; exit 64; }
TASKS=${TASKS:-200}
ROUNDS=${ROUNDS:-8}
CALLS=${CALLS:-100}
dir=$(mktemp -d "${TMPDIR:-/tmp}/ml-list-ab.XXXXXX")
pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
		while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
	done
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

mkdir "$dir/tasks.d"
i=0
while [ "$i" -lt "$TASKS" ]; do
	t=$(printf 't%03d' "$i")
	printf '#!/bin/sh\n# Task %d.\ntrue\n' "$i" > "$dir/tasks.d/$t.sh"
	chmod 755 "$dir/tasks.d/$t.sh"
	i=$((i + 1))
done

n=0
for b in "$1" "$2"; do
	n=$((n + 1))
	: > "$dir/$n.conf"
	"$b/microlightd" -f -c "$dir/$n.conf" -T "$dir/tasks.d" \
	    -d "$dir/state$n" -s "$dir/$n.sock" -l none \
	    > "$dir/$n.log" 2>&1 &
	pids="$pids $!"
	until "$b/microlightctl" -s "$dir/$n.sock" ping >/dev/null 2>&1; do
		kill -0 "$!" 2>/dev/null || { cat "$dir/$n.log" >&2; exit 1; }
		sleep 0.1
	done
	for f in "$dir"/tasks.d/*.sh; do
		t=$(basename "$f" .sh)
		"$b/microlightctl" -s "$dir/$n.sock" run "$t" --wait >/dev/null
	done
done

# Mean microseconds per call of: build socket command
calls() {
	t0=$(date +%s%N)
	i=0
	while [ "$i" -lt "$CALLS" ]; do
		"$1/microlightctl" -s "$2" "$3" >/dev/null
		i=$((i + 1))
	done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / CALLS / 1000))
}

r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	line="round $r:"
	n=0
	for b in "$1" "$2"; do
		n=$((n + 1))
		for c in ping list; do
			line="$line $n-$c $(calls "$b" "$dir/$n.sock" "$c")"
		done
	done
	echo "$line"
done | tee "$dir/rounds"
awk '{ for (i = 3; i <= NF; i += 2) { s[$i] += $(i + 1); k[$i]++ } }
    END { for (x in s) printf "mean %s %.0f us\n", x, s[x] / k[x] }' \
    "$dir/rounds" | sort
