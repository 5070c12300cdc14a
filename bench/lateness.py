#!/usr/bin/env python3
"""Lateness of scheduled runs for bench/sched.sh, read from microlightd's
database: for every run of a stamp task (trigger "schedule") due in the
seconds FIRST .. FIRST+N-1, the time from the due instant to the exec of
bench/stamp, which printed the wall clock in ns as its output. The due
second is the run's queued_at floored to the second (the daemon creates the
run when the schedule fires); a schedule that fired a whole second late or
not at all leaves its due second without a run, and is counted as missed.
Prints the percentiles, the parts of the lateness (to the fire, to the
start, to the exec), and the runs of BUSY that started meanwhile and the
chunks of output of BUSY's runs that were stored.

usage: lateness.py DB FIRST N K [BUSY]   (K: stamp tasks per second)
"""

import math
import sqlite3
import sys


def pct(v, p):
    """Nearest-rank percentile of a sorted list."""
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def line(label, v):
    v = sorted(v)
    return ("%s p50 %6.2f ms, p99 %6.2f ms, max %7.2f ms"
            % (label, pct(v, 50), pct(v, 99), v[-1]))


def main():
    db_path, first, n, k = sys.argv[1], int(sys.argv[2]), \
        int(sys.argv[3]), int(sys.argv[4])
    busy = sys.argv[5] if len(sys.argv) > 5 else None
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    rows = db.execute(
        "SELECT r.task, r.status, r.queued_at, r.started_at, "
        "  (SELECT group_concat(CAST(data AS TEXT), '') FROM output "
        "   WHERE run_id = r.id AND stream = 1) "
        "FROM runs r WHERE r.trigger = 'schedule' "
        "AND r.queued_at >= ? AND r.queued_at < ?",
        (first * 1000, (first + n) * 1000)).fetchall()
    late, fire, start, execd, last = [], [], [], [], {}
    seen = set()
    for task, status, queued, started, out in rows:
        if status != "succeeded" or out is None:
            sys.exit("%s: a run due at %d %s without a stamp"
                     % (task, queued // 1000, status))
        due = queued // 1000
        seen.add((task, due))
        ms = (int(out.split()[0]) - due * 10**9) / 1e6
        late.append(ms)
        fire.append(queued - due * 1000)
        start.append(started - queued)
        execd.append(ms - (started - due * 1000))
        last[due] = max(last.get(due, 0), ms)
    missed = n * k - len(seen)
    print("  %d runs due in %d seconds, %d missed or a second late"
          % (len(late), n, missed))
    print(line("    due -> exec of the task:    ", late))
    print(line("      due -> fire (queued_at):  ", fire))
    print(line("      fire -> start (started_at)", start))
    print(line("      start -> exec:            ", execd))
    if k > 1:
        print(line("    due -> exec of the last of each second:",
                   last.values()))
    if busy is not None:
        b = db.execute(
            "SELECT count(*), sum(status = 'succeeded') FROM runs "
            "WHERE task = ? AND started_at >= ? AND started_at < ?",
            (busy, first * 1000, (first + n) * 1000)).fetchone()
        if b[0] > 0:
            print("    %s runs started meanwhile: %d (%.1f/s), %d "
                  "succeeded" % (busy, b[0], b[0] / n, b[1] or 0))
        c = db.execute(
            "SELECT count(*), count(DISTINCT o.run_id) FROM output o "
            "JOIN runs r ON r.id = o.run_id WHERE r.task = ? "
            "AND o.time >= ? AND o.time < ?",
            (busy, first * 1000, (first + n) * 1000)).fetchone()
        print("    output chunks of %s stored meanwhile: %d (%.0f/s, from "
              "%d runs)" % (busy, c[0], c[0] / n, c[1]))


main()
