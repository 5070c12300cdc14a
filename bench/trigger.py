#!/usr/bin/env python3
"""Trigger N runs of a task over one control connection (requests
pipelined), wait until all have ended, and check that every one was
recorded as succeeded. Prints the rate.

usage: trigger.py SOCKET DB TASK N
"""

import json
import socket
import sqlite3
import sys
import time


def main():
    sock_path, db_path, task, n = sys.argv[1], sys.argv[2], sys.argv[3], \
        int(sys.argv[4])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    f = s.makefile("rwb")
    req = (json.dumps({"cmd": "run", "task": task}) + "\n").encode()
    start = time.monotonic()
    f.write(req * n)
    f.flush()
    ids = []
    for _ in range(n):
        reply = json.loads(f.readline())
        if not reply.get("ok"):
            sys.exit("run refused: %r" % reply)
        ids.append(reply["run"]["id"])
    ping = (json.dumps({"cmd": "ping"}) + "\n").encode()
    while True:
        f.write(ping)
        f.flush()
        p = json.loads(f.readline())
        if p["running"] == 0 and p["queued"] == 0:
            break
        time.sleep(0.001)
    secs = time.monotonic() - start
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    done = db.execute("SELECT count(*) FROM runs WHERE id BETWEEN ? AND ? "
                      "AND status = 'succeeded' AND finished_at IS NOT NULL",
                      (min(ids), max(ids))).fetchone()[0]
    if done != n:
        sys.exit("only %d of %d runs recorded as succeeded" % (done, n))
    print("%d runs in %.3f s: %.1f runs/s, all %d recorded as succeeded"
          % (n, secs, n / secs, done))


main()
