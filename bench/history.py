#!/usr/bin/env python3
"""Benchmark: flat with history, memory after a burst, overload answered
(issue 17, points 6 and 7).

1. History: 200 tasks and 0, 200,000 and 1,000,000 runs recorded (written
   with Python's sqlite3 into the daemon's own schema, as bench/page.sh
   does). For each, in alternating rounds: the daemon's start to ready
   (its control socket answering a ping), `microlightctl list` (the whole
   command, median of 21) beside `microlightctl ping` (the same command's
   floor: start, connect, one request), and the list request alone over
   the socket, brief (what the table asks for) and full (--json list);
   also the first list after the start (it reads each task's latest run
   from the database, once).
2. Memory: the daemon's RSS idle, at its peak during a burst of BURST runs
   queued at once over the control socket (and of webhooks, with wrk, for
   5 s), right after the queue drained, and MEMWAIT s later.
3. Overload: wrk POSTing to a webhook with 256 and with 1000 connections
   for OSECS s each: answers 202 and 503 (with Retry-After), other
   answers, connections wrk saw fail (an error: closed or reset with no
   answer), and the daemon's own counts (microlight_http_refused_total,
   microlight_http_closed_total).

Run from a built tree:  bench/history.py      (ML_BUILDDIR: the build)
SIZES="0 200000 1000000", ROUNDS=3, BURST=10000, MEMWAIT=3, OSECS=10,
PARTS="history memory overload" and KEEP=DIR (write the runs there, and
reuse them on the next run with the same build) can be set in the
environment. It takes
about 10 minutes, most of it writing the million runs and draining the
bursts. Figures and how to read them: bench/README, section 9.
"""

import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from mlbench import CTL, DAEMON, TOP, Daemon

SIZES = [int(x) for x in os.environ.get("SIZES", "0 200000 1000000").split()]
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BURST = int(os.environ.get("BURST", "10000"))
MEMWAIT = float(os.environ.get("MEMWAIT", "3"))
OSECS = int(os.environ.get("OSECS", "10"))
PARTS = os.environ.get("PARTS", "history memory overload").split()
TASKS = 200
SECRET = "history-bench-secret-0123456789"


def median_ms(fn, n):
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        fn()
        times.append((time.monotonic() - t0) * 1000)
    return statistics.median(times)


def make_tasks(dir, n):
    os.makedirs(os.path.join(dir, "tasks.d"))
    for i in range(n):
        p = os.path.join(dir, "tasks.d", "task-%03d.sh" % i)
        with open(p, "w") as f:
            f.write("#!/bin/sh\n# Task %d of the history bench.\n"
                    "# @param target \"Target\" default=all\n"
                    "# @timeout 10m\n%strue\n"
                    % (i, "# @schedule 0 */%d * * *\n" % (1 + i % 12)
                       if i % 3 == 0 else ""))
        os.chmod(p, 0o755)


def make_state(dir, n):
    """200 tasks, n runs over the last 30 days (one in 13 failed), in the
    schema of the daemon under test (made by starting it once)."""
    make_tasks(dir, TASKS)
    with open(os.path.join(dir, "conf"), "w") as f:
        f.write("keep-runs %d\n" % max(1000, n // TASKS + 1))
    d = Daemon(dir)
    d.start()
    d.stop()
    db = sqlite3.connect(os.path.join(dir, "state", "microlight.db"))
    now = int(time.time() * 1000)
    span = 30 * 86400 * 1000

    def rows():
        for i in range(n):
            t = now - span + span * i // max(n, 1)
            failed = i % 13 == 0
            yield ("task-%03d" % (i % TASKS), "failed" if failed else
                   "succeeded", t - 900, t - 800, t, 1 if failed else 0)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO runs (task, status, trigger, triggered_by, params, "
        "attempt, queued_at, started_at, finished_at, exit_code, priority) "
        "VALUES (?, ?, 'schedule', 'schedule', '{\"target\":\"all\"}', 1, "
        "?, ?, ?, ?, 0)", rows())
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def history(work):
    print("1. History: %d tasks; start to ready (s), the first "
          "microlightctl list after it, then microlightctl list and ping "
          "(ms, the whole command, median of 21), the list request over "
          "the socket (ms, median of 21), brief and full; medians of %d "
          "alternating rounds" % (TASKS, ROUNDS))
    states = {}
    keep = os.environ.get("KEEP")
    for n in SIZES:
        states[n] = os.path.join(keep or work, "state-%d" % n)
        if keep and os.path.exists(os.path.join(states[n], "done")):
            continue
        shutil.rmtree(states[n], ignore_errors=True)
        t0 = time.monotonic()
        make_state(states[n], n)
        open(os.path.join(states[n], "done"), "w").close()
        print("   (%d runs written in %.0f s)" % (n, time.monotonic() - t0),
              flush=True)
    res = {n: {"ready": [], "first": [], "list": [], "ping": [],
               "brief": [], "full": []} for n in SIZES}
    for _ in range(ROUNDS):
        for n in SIZES:
            run = os.path.join(work, "run")
            shutil.rmtree(run, ignore_errors=True)
            shutil.copytree(states[n], run)
            os.sync()
            d = Daemon(run)
            res[n]["ready"].append(d.start())
            ctl = [CTL, "-s", d.sock]
            r = res[n]
            r["first"].append(median_ms(lambda: subprocess.run(
                ctl + ["list"], check=True, stdout=subprocess.DEVNULL), 1))
            r["list"].append(median_ms(lambda: subprocess.run(
                ctl + ["list"], check=True, stdout=subprocess.DEVNULL), 21))
            r["ping"].append(median_ms(lambda: subprocess.run(
                ctl + ["ping"], check=True, stdout=subprocess.DEVNULL), 21))
            if d.ask({"cmd": "list", "brief": True}).get("ok"):
                r["brief"].append(median_ms(lambda: d.ask(
                    {"cmd": "list", "brief": True}), 21))
            r["full"].append(median_ms(lambda: d.ask({"cmd": "list"}), 21))
            d.stop()
    print("   medians (min-max)")
    print("   %9s  %-19s %-17s %-17s %-17s %-15s %s" % (
        "runs", "start to ready s", "first list ms", "list ms", "ping ms",
        "brief ms", "full ms"))

    def cell(v, fmt):
        if not v:
            return "-"
        return (fmt + " (" + fmt + "-" + fmt + ")") % (
            statistics.median(v), min(v), max(v))
    for n in SIZES:
        r = res[n]
        print("   %9d  %-19s %-17s %-17s %-17s %-15s %s" % (
            n, cell(r["ready"], "%.3f"), cell(r["first"], "%.1f"),
            cell(r["list"], "%.1f"),
            cell(r["ping"], "%.1f"), cell(r["brief"], "%.1f"),
            cell(r["full"], "%.1f")))


def hook_dir(work, name, extra=""):
    dir = os.path.join(work, name)
    os.makedirs(os.path.join(dir, "tasks.d"))
    p = os.path.join(dir, "tasks.d", "true-many")
    with open(p, "w") as f:
        f.write("#!/bin/true\n# Run /bin/true.\n# @webhook\n"
                "# @concurrency 1024\n")
    os.chmod(p, 0o755)
    with open(os.path.join(dir, "conf"), "w") as f:
        f.write("keep-runs 0\nwebhook-secret true-many %s\n%s"
                % (SECRET, extra))
    return dir


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(port, conns, secs, threads=1):
    """wrk with bench/webhook.lua: its RESULT line as a dict."""
    env = dict(os.environ, WEBHOOK_SECRET=SECRET)
    p = subprocess.run(
        ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % secs,
         "--timeout", "10s", "-s", os.path.join(TOP, "bench", "webhook.lua"),
         "http://127.0.0.1:%d/hooks/true-many" % port],
        env=env, capture_output=True, text=True)
    m = re.search(r"^RESULT (.*)$", p.stdout, re.M)
    if not m:
        sys.exit("wrk: %s%s" % (p.stdout, p.stderr))
    out = {}
    for kv in m.group(1).split():
        k, v = kv.split("=")
        out[k] = float(v)
    return out


def metrics(port):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/metrics")
    body = c.getresponse().read().decode()
    c.close()
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            k, v = line.split()
            out[k] = float(v)
    return out


def memory(work):
    print("2. Memory: microlightd's RSS (KiB), idle 2 s after ready, peak "
          "during a burst and its drain, right after the drain, %g s "
          "later" % MEMWAIT)
    port = free_port()
    dir = hook_dir(work, "mem", "max-queued %d\n" % (BURST + 100))
    d = Daemon(dir, "127.0.0.1:%d" % port)
    d.start()
    time.sleep(2)
    idle = d.rss_kib()
    print("   idle: %d" % idle)

    def burst(what, fire):
        peak = [d.rss_kib()]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], d.rss_kib())
                time.sleep(0.05)
        th = threading.Thread(target=sample)
        th.start()
        t0 = time.monotonic()
        fired = fire()
        queued = d.ask({"cmd": "ping"})["queued"]
        d.wait_idle()
        drained = time.monotonic() - t0
        stop.set()
        th.join()
        after = d.rss_kib()
        time.sleep(MEMWAIT)
        later = d.rss_kib()
        print("   %s: %d runs (%d queued at once), drained in %.0f s: "
              "peak %d, right after %d, %g s later %d" % (
                  what, fired, queued, drained, peak[0], after, MEMWAIT,
                  later), flush=True)

    def control():
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.sock)
        f = s.makefile("rwb")
        f.write(b'{"cmd":"run","task":"true-many"}\n' * BURST)
        f.flush()
        ok = sum(1 for _ in range(BURST) if json.loads(f.readline())["ok"])
        s.close()
        return ok

    def webhooks():
        return int(wrk(port, 32, 5)["s2xx"])
    burst("control burst", control)
    if shutil.which("wrk"):
        burst("webhook burst (wrk -c32, 5 s)", webhooks)
    d.stop()


def overload(work):
    if shutil.which("wrk") is None:
        print("3. Overload: skipped, wrk is not installed")
        return
    print("3. Overload: wrk -t1 -cN -d%ds POST /hooks/true-many (max-running "
          "4); answers, errors wrk saw (closed or reset unanswered), the "
          "daemon's counts" % OSECS)
    print("   %6s %8s %8s %8s %6s %7s %8s %9s %9s %7s" % (
        "conns", "requests", "202", "503", "503+RA", "other", "errors",
        "timeouts", "refused", "closed"))
    for conns in (256, 1000):
        port = free_port()
        dir = hook_dir(work, "overload-%d" % conns)
        d = Daemon(dir, "127.0.0.1:%d" % port)
        d.start()
        time.sleep(1)
        m0 = metrics(port)
        r = wrk(port, conns, OSECS)
        m1 = metrics(port)

        def delta(k):
            if k not in m1:
                return "-"
            return "%d" % (m1[k] - m0.get(k, 0))
        print("   %6d %8d %8d %8d %6d %7d %8d %9d %9s %7s" % (
            conns, r["requests"], r["s2xx"], r["s503"], r["s503ra"],
            r["other"], r["errors"], r["timeouts"],
            delta("microlight_http_refused_total"),
            delta("microlight_http_closed_total")), flush=True)
        d.stop()


def main():
    work = tempfile.mkdtemp(prefix="ml-history-")
    print("microlightd %s; %d cores, %s; %s" % (
        subprocess.run([DAEMON, "-V"], capture_output=True,
                       text=True).stdout.split()[-1], os.cpu_count(),
        os.uname().release, time.strftime("%Y-%m-%d %H:%MZ", time.gmtime())))
    try:
        if "history" in PARTS:
            history(work)
        if "memory" in PARTS:
            memory(work)
        if "overload" in PARTS:
            overload(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
