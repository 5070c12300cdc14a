#!/usr/bin/env python3
"""Benchmark: future runs at Later's scale on one node (issue 14, SPEC
section 3). Creates N scheduled runs (default 1,000,000) over one control
connection with pipelined requests, then measures the daemon's memory,
the database's growth per run, the restart to ready, `runs --status
scheduled -n 20`, and how late runs due meanwhile start. Beside each
creation rate, the machine's limit: the same rows inserted by Python's
sqlite3 into the same schema, one commit per row, and all in one
transaction (the daemon commits a batch of them at a time).

Run from a built tree:  bench/future.py [N]   (ML_BUILDDIR: the build)
Figures and how to read them: bench/README, "Future runs".
"""

import datetime
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from mlbench import CTL, Daemon

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
NEAR = 300                  # runs due while the N wait, for lateness


def pipelined(sock, reqs):
    """Send every request without waiting, read the replies meanwhile;
    returns (seconds, number of ok replies)."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    ok = [0]

    def reader():
        f = s.makefile("rb", buffering=1 << 20)
        for _ in range(len(reqs)):
            if json.loads(f.readline()).get("ok"):
                ok[0] += 1

    t0 = time.monotonic()
    th = threading.Thread(target=reader)
    th.start()
    chunk = []
    for r in reqs:
        chunk.append(r)
        if len(chunk) == 2000:
            s.sendall(b"".join(chunk))
            chunk = []
    if chunk:
        s.sendall(b"".join(chunk))
    th.join()
    s.close()
    return time.monotonic() - t0, ok[0]


def sqlite_baseline(dir, rows):
    """The machine's limit: the daemon's row for a scheduled run, inserted
    by sqlite3 into the same schema, per row and in one transaction."""
    src = os.path.join(dir, "state", "microlight.db")
    out = {}
    for mode in ("per-row", "one-txn"):
        path = os.path.join(dir, "base-%s.db" % mode)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        for (sql,) in sqlite3.connect(src).execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%'"):
            db.execute(sql)
        ins = ("INSERT INTO runs (task, status, trigger, triggered_by, "
               "params, attempt, queued_at, priority, not_before) "
               "VALUES ('tick', 'scheduled', 'cli', 'uid=0(root)', '{}', "
               "1, ?, 0, ?)")
        now = int(time.time() * 1000)
        t0 = time.monotonic()
        if mode == "one-txn":
            db.execute("BEGIN")
        for i in range(rows):
            db.execute(ins, (now, now + 86400000 + i))
        if mode == "one-txn":
            db.execute("COMMIT")
        out[mode] = rows / (time.monotonic() - t0)
        db.close()
    return out


def main():
    dir = tempfile.mkdtemp(prefix="ml-future-")
    os.makedirs(os.path.join(dir, "tasks.d"))
    with open(os.path.join(dir, "tasks.d", "tick.sh"), "w") as f:
        f.write("#!/bin/sh\n# Tick.\n:\n")
    os.chmod(os.path.join(dir, "tasks.d", "tick.sh"), 0o755)
    with open(os.path.join(dir, "conf"), "w") as f:
        f.write("max-scheduled %d\n" % (N + NEAR + 10))
    d = Daemon(dir)
    try:
        d.start()
        rss0 = d.rss_kib()
        db0 = d.db_bytes()
        base = int(time.time()) + 86400
        reqs = [b'{"cmd":"run","task":"tick","at":"@%d"}\n' % (base + i % 2592000)
                for i in range(N)]
        secs, ok = pipelined(d.sock, reqs)
        del reqs
        assert ok == N, "%d of %d accepted" % (ok, N)
        print("created           %d scheduled runs in %.1f s: %.0f/s "
              "(pipelined, one connection)" % (N, secs, N / secs))
        rss = d.rss_kib()
        print("daemon RSS        %.1f MiB with them pending (%.1f MiB idle)"
              % (rss / 1024, rss0 / 1024))
        d.ask({"cmd": "ping"})
        dbb = d.db_bytes() - db0
        print("database growth   %.0f bytes per scheduled run (db + wal)"
              % (dbb / N))
        lat = []
        for _ in range(11):
            t0 = time.monotonic()
            subprocess.run([CTL, "-s", d.sock, "runs", "--status",
                            "scheduled", "-n", "20"], check=True,
                           stdout=subprocess.DEVNULL)
            lat.append((time.monotonic() - t0) * 1000)
        print("runs --status scheduled -n 20: %.1f ms (median of 11, the "
              "whole microlightctl)" % statistics.median(lat))
        d.stop()
        ready = d.start()
        print("restart to ready  %.2f s with %d pending" % (ready, N))
        rss = d.rss_kib()
        print("daemon RSS        %.1f MiB after the restart" % (rss / 1024))
        # Runs due while the million wait, one every 50 ms from 5 s on
        # (so that they do not wait for each other's slot).
        soon = time.time() + 5
        near = []
        for i in range(NEAR):
            at = datetime.datetime.fromtimestamp(
                soon + i * 0.05, datetime.timezone.utc)
            r = d.ask({"cmd": "run", "task": "tick",
                       "at": at.isoformat(timespec="milliseconds")})
            near.append(r["run"]["id"])
        deadline = time.time() + 120
        late = []
        while near and time.time() < deadline:
            time.sleep(0.5)
            for rid in list(near):
                run = d.ask({"cmd": "status", "run": rid})["run"]
                if run["started_at"]:
                    late.append(iso_ms(run["started_at"]) -
                                iso_ms(run["scheduled_for"]))
                    near.remove(rid)
        late.sort()
        print("start lateness    p50 %.0f ms, p99 %.0f ms, max %.0f ms "
              "(%d runs due while %d wait)" % (
                  late[len(late) // 2], late[int(len(late) * 0.99) - 1],
                  late[-1], len(late), N))
        d.stop()
        rows = min(N, 200000)
        b = sqlite_baseline(dir, rows)
        print("machine's limit   sqlite3 alone, same schema, %d rows: "
              "%.0f/s one commit per row, %.0f/s in one transaction"
              % (rows, b["per-row"], b["one-txn"]))
    finally:
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        shutil.rmtree(dir, ignore_errors=True)


def iso_ms(s):
    import datetime
    return datetime.datetime.fromisoformat(
        s.replace("Z", "+00:00")).timestamp() * 1000


if __name__ == "__main__":
    main()
