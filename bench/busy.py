#!/usr/bin/env python3
"""Keep microlightd busy for bench/sched.sh: W control connections, each
triggering a run of TASK and waiting for its end, then the next, until
SIGTERM; so W runs are in progress nearly all the time. Prints the number
of runs that ended, and exits non-zero if any did not succeed.

usage: busy.py SOCKET TASK W
"""

import json
import selectors
import signal
import socket
import sys


def main():
    sock_path, task, w = sys.argv[1], sys.argv[2], int(sys.argv[3])
    req = (json.dumps({"cmd": "run", "task": task, "wait": True})
           + "\n").encode()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sel = selectors.DefaultSelector()
    for _ in range(w):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)
        s.sendall(req)
        sel.register(s, selectors.EVENT_READ, [b""])
    done = failed = 0
    while not stop:
        for key, _ in sel.select(0.5):
            s, buf = key.fileobj, key.data
            data = s.recv(65536)
            if not data:
                sys.exit("microlightd closed the connection")
            buf[0] += data
            while b"\n" in buf[0]:
                line, buf[0] = buf[0].split(b"\n", 1)
                msg = json.loads(line)
                if msg.get("ok") is False:
                    sys.exit("run refused: %r" % msg)
                if msg.get("event") != "end":
                    continue
                done += 1
                if msg["run"]["status"] != "succeeded":
                    failed += 1
                if not stop:
                    s.sendall(req)
    print(done)
    if failed:
        sys.exit("%d of %d runs did not succeed" % (failed, done))


main()
