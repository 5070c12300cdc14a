#!/usr/bin/env python3
"""Benchmark: a run's output into and out of microlightd (issue 17, points
4 and 5), each against what the machine does without microlightd, in
alternating rounds of one script run:

  capture    `microlightctl run emit --wait`, emit printing MIB MiB of
             zeros (`exec head -c`), against `head -c N /dev/zero | cat >
             FILE` into the directory that holds the daemon's database;
  logs       `microlightctl logs RUN` of that output, against `cat FILE`
             of a file of the same size in the page cache;
  logs -f    `microlightctl logs -f RUN` of a run that is still running
             (it printed its MIB MiB and waits), timed to its last byte,
             against the same `cat FILE`.

Beside capture, the machine's limit for storing in SQLite this way:
Python's sqlite3 inserting the same bytes as the daemon's rows (64 KiB)
into its output table, 256 KiB per transaction, WAL with synchronous
NORMAL and SQLite's own checkpoints every 1000 pages, in the same
directory.

Read-backs go into a pipe that this script drains with one reader for
both sides, and each side's byte count is checked; every run is checked
to have stored exactly N bytes. Besides the rates: the CPU the daemon
(all its threads) and the client spent, in seconds per GiB, which these
shared VMs blur less than the wall clock. Medians of ROUNDS rounds
(default 3), their range, and the ratio of the medians.

Run from a built tree:  bench/output.py [MIB]   (default 256; ML_BUILDDIR:
the build, ROUNDS: the rounds)
Figures and how to read them: bench/README, "Output".
"""

import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

from mlbench import CTL, Daemon

MIB = int(sys.argv[1]) if len(sys.argv) > 1 else 256
ROUNDS = int(os.environ.get("ROUNDS", "3"))
N = MIB * 1024 * 1024


class Measure:
    """Wall time, the daemon's CPU and the CPU of the children reaped
    meanwhile (the client, or the shell pipeline) of what runs inside."""

    def __init__(self, d):
        self.d = d

    def __enter__(self):
        self.c0 = self.children()
        self.d0 = self.d.cpu() if self.d else 0.0
        self.t0 = time.monotonic()
        return self

    def stop(self):
        self.wall = time.monotonic() - self.t0

    def __exit__(self, *exc):
        if not hasattr(self, "wall"):
            self.stop()
        self.daemon = (self.d.cpu() if self.d else 0.0) - self.d0
        self.client = self.children() - self.c0

    @staticmethod
    def children():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime


def drain(p, want, stop_at=None):
    """Read p's stdout to its end (or until stop_at bytes, if given, then
    call stop_at's callback); returns the bytes read."""
    buf = memoryview(bytearray(1 << 20))
    fd = p.stdout.fileno()
    n = 0
    while True:
        k = os.readv(fd, [buf])
        if k == 0:
            return n
        n += k
        if stop_at is not None and n >= want:
            stop_at()
            stop_at = None


def sqlite_alone(dir, state):
    """The daemon's output rows written by sqlite3 alone: seconds."""
    path = os.path.join(dir, "alone.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -1024")
    db.execute("PRAGMA journal_size_limit = 4194304")
    src = sqlite3.connect(os.path.join(state, "microlight.db"))
    for (sql,) in src.execute("SELECT sql FROM sqlite_master WHERE "
                              "tbl_name = 'output' AND sql IS NOT NULL"):
        db.execute(sql.replace("REFERENCES runs(id) ON DELETE CASCADE",
                               ""))
    src.close()
    chunk = bytes(64 * 1024)
    ins = "INSERT INTO output (run_id, seq, stream, time, data) " \
        "VALUES (1, ?, 1, 0, ?)"
    t0 = time.monotonic()
    for seq in range(N // len(chunk)):
        if seq % 4 == 0:
            db.execute("BEGIN")
        db.execute(ins, (seq, chunk))
        if seq % 4 == 3:
            db.execute("COMMIT")
    if db.in_transaction:
        db.execute("COMMIT")
    t = time.monotonic() - t0
    db.close()
    return t


def task(dir, name, body):
    path = os.path.join(dir, "tasks.d", name)
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, 0o755)


def main():
    dir = tempfile.mkdtemp(prefix="ml-output-", dir=os.environ.get("TMPDIR"))
    os.makedirs(os.path.join(dir, "tasks.d"))
    gate = os.path.join(dir, "gate")
    task(dir, "emit.sh", "#!/bin/sh\n# Print N bytes.\n"
         "exec head -c %d /dev/zero\n" % N)
    task(dir, "hold.sh", "#!/bin/sh\n# Print N bytes, then wait.\n"
         "head -c %d /dev/zero\n"
         "while [ ! -e %s ]; do sleep 0.01; done\n" % (N, gate))
    with open(os.path.join(dir, "conf"), "w") as f:
        f.write("max-log-size %d\nkeep-runs 2\n" % (N + 1024 * 1024))
    file = os.path.join(dir, "file")
    ctl = [CTL, "-s", os.path.join(dir, "sock")]
    d = Daemon(dir)
    rows = ("pipe", "capture", "alone", "cat", "logs", "logs -f")
    res = {k: [] for k in rows}

    def keep(name, m):
        res[name].append((N / m.wall, m.daemon, m.client))

    try:
        d.start()
        for rnd in range(ROUNDS):
            # Capture: a plain pipe into a file, then the daemon.
            with Measure(None) as m:
                rc = subprocess.run(["sh", "-c", "head -c %d /dev/zero | "
                                     "cat > %s" % (N, file)]).returncode
            assert rc == 0 and os.path.getsize(file) == N
            keep("pipe", m)
            with Measure(d) as m:
                p = subprocess.run(ctl + ["run", "emit", "--wait"],
                                   stdout=subprocess.PIPE, check=True)
            run_id = int(p.stdout)
            run = d.run(run_id)
            assert run["status"] == "succeeded", run
            assert run["output_size"] == N, run
            keep("capture", m)
            with Measure(None) as m:
                m.wall = sqlite_alone(dir, d.state)
            keep("alone", m)

            # Read-back: a file in the page cache, then the run's log.
            subprocess.run(["cat", file], stdout=subprocess.DEVNULL)
            with Measure(None) as m:
                p = subprocess.Popen(["cat", file], stdout=subprocess.PIPE)
                n = drain(p, N)
                assert p.wait() == 0 and n == N, (p.returncode, n)
            keep("cat", m)
            with Measure(d) as m:
                p = subprocess.Popen(ctl + ["logs", str(run_id)],
                                     stdout=subprocess.PIPE)
                n = drain(p, N)
                assert p.wait() == 0 and n == N, (p.returncode, n)
            keep("logs", m)

            # logs -f of a run that printed its output and waits.
            if os.path.exists(gate):
                os.unlink(gate)
            held = int(subprocess.run(ctl + ["run", "hold"],
                                      stdout=subprocess.PIPE,
                                      check=True).stdout)
            while d.run(held)["output_size"] < N:
                time.sleep(0.02)
            assert d.run(held)["status"] == "running"
            with Measure(d) as m:
                p = subprocess.Popen(ctl + ["logs", "-f", str(held)],
                                     stdout=subprocess.PIPE)

                def done():
                    m.stop()
                    open(gate, "w").close()
                n = drain(p, N, done)
                assert p.wait() == 0 and n == N, (p.returncode, n)
            keep("logs -f", m)
            assert d.run(held)["status"] == "succeeded"
        d.stop()
    finally:
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
        shutil.rmtree(dir, ignore_errors=True)

    def med(k, i=0):
        return statistics.median(r[i] for r in res[k])

    def line(label, k, base=None, target=None):
        rates = [r[0] / 1e6 for r in res[k]]
        s = "  %-26s %6.0f MB/s (%4.0f-%4.0f)" % (
            label, med(k) / 1e6, min(rates), max(rates))
        gib = N / (1 << 30)
        if k in ("capture", "logs", "logs -f"):
            s += "  cpu/GiB: daemon %5.2f s, client %5.2f s" % (
                med(k, 1) / gib, med(k, 2) / gib)
        else:
            s += "  cpu/GiB:                  %5.2f s" % (med(k, 2) / gib)
        if base is not None:
            s += "\n  %-26s ratio %.2f (target %.1f)" % (
                "", med(k) / med(base), target)
        print(s)

    print("%d MiB, medians of %d alternating rounds (min-max):"
          % (MIB, ROUNDS))
    line("head -c | cat > file", "pipe")
    line("run --wait (capture)", "capture", "pipe", 0.5)
    print("  %-26s %6.0f MB/s, ratio to the pipe %.2f" % (
        "(sqlite3 alone, same rows)", med("alone") / 1e6,
        med("alone") / med("pipe")))
    line("cat FILE", "cat")
    line("logs RUN", "logs", "cat", 0.5)
    line("logs -f RUN, running", "logs -f", "cat", 0.5)


if __name__ == "__main__":
    main()
