#!/usr/bin/env python3
"""Overload, answered and never dropped (issue 17, point 7; the caps are
in microlightd(8), LIMITS): many connections opened at once beyond the
caps on HTTP connections (64 from one address, 256 in all) or beyond the
descriptors the daemon may give clients, each sending a webhook request,
each get an HTTP answer -- 202, or 503 with Retry-After -- or a clean
close that the daemon counts (microlight_http_closed_total); nothing
hangs, the daemon keeps serving, and the count of open connections
(microlight_http_connections) goes back to the one asking once they
have closed."""

import errno
import selectors

from harness import *
from test_http import HttpDaemon, HttpTest, script
from test_bounds import nofile_limits

SECRET = "overload-secret-0123456789"

HOOK_TASK = script("""\
    #!/bin/sh
    # Accepts a webhook.
    # @webhook
    # @concurrency 64
    true
    """)


def request_bytes(port):
    body = b'{"ref":"refs/heads/main"}'
    return (b"POST /hooks/hook HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (port, SECRET.encode(),
                                               len(body), body))


def parse_reply(data):
    """(status, headers) of a whole HTTP reply at the start of data, or
    None while it is incomplete."""
    end = data.find(b"\r\n\r\n")
    if end == -1:
        return None
    lines = data[:end].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if len(data) - end - 4 < int(headers.get("content-length", "0")):
        return None
    return int(lines[0].split(" ", 2)[1]), headers


class Conn:
    def __init__(self, src):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.bind((src, 0))
        self.out = b""
        self.got = b""
        self.reply = None       # (status, headers) once answered
        self.closed = False     # closed without an answer


def storm(port, sources, deadline=120):
    """Open one connection from each address of sources, all at once
    (non-blocking connects), send a webhook request on each, and follow
    every one until it has its whole reply (then close it) or is closed
    by the daemon. The connections, once all are settled; fails if any
    is still waiting at the deadline (something hung)."""
    sel = selectors.DefaultSelector()
    conns = []
    req = request_bytes(port)
    for src in sources:
        c = Conn(src)
        err = c.sock.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            raise OSError(err, os.strerror(err))
        c.out = req
        sel.register(c.sock, selectors.EVENT_WRITE | selectors.EVENT_READ,
                     c)
        conns.append(c)
    left = len(conns)
    end = time.monotonic() + deadline
    while left > 0 and time.monotonic() < end:
        for key, events in sel.select(timeout=1):
            c = key.data
            try:
                if events & selectors.EVENT_WRITE and c.out:
                    c.out = c.out[c.sock.send(c.out):]
                    if not c.out:
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                if not events & selectors.EVENT_READ:
                    continue
                chunk = c.sock.recv(65536)
                if not chunk:
                    raise ConnectionResetError
                c.got += chunk
                c.reply = parse_reply(c.got)
                if c.reply is None:
                    continue
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                # Reset or closed, before a whole reply.
                c.closed = True
            sel.unregister(c.sock)
            c.sock.close()
            left -= 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    hung = [c for c in conns if c.reply is None and not c.closed]
    if hung:
        raise AssertionError("%d of %d connections neither answered nor "
                             "closed after %d s" % (len(hung), len(conns),
                                                    deadline))
    return conns


class OverloadTest(HttpTest):
    CONFIG = "webhook-secret hook %s\n" % SECRET
    TASKS = {"hook.sh": HOOK_TASK}

    def metrics(self):
        """The daemon's metrics that have no labels, by name."""
        r = self.get("/metrics")
        self.assertEqual(r.status, 200, r)
        out = {}
        for line in r.body.decode().splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, value = line.split()
                out[name] = float(value)
        return out

    def runs_of_hook(self):
        db = self.d.db()
        try:
            return db.execute("SELECT count(*) FROM runs "
                              "WHERE task = 'hook'").fetchone()[0]
        finally:
            db.close()

    def check_storm(self, sources):
        """A storm from sources: every connection answered 202 or 503 with
        Retry-After, or closed unanswered and counted; the daemon serves
        on, and the count of connections comes back down."""
        before = self.metrics()
        runs_before = self.runs_of_hook()
        self.assertIn("microlight_http_closed_total", before)
        self.assertIn("microlight_http_refused_total", before)
        conns = storm(self.d.port, sources)
        statuses = {}
        for c in conns:
            if c.reply is not None:
                status, headers = c.reply
                statuses[status] = statuses.get(status, 0) + 1
                if status == 503:
                    self.assertIn("retry-after", headers, c.got[:300])
        unanswered = sum(1 for c in conns if c.closed)
        self.assertEqual(set(statuses) - {202, 503}, set(),
                         "answers %r" % statuses)
        self.assertGreater(statuses.get(202, 0), 0, statuses)
        # Every connection closed with no answer was closed by the
        # daemon on purpose, and counted when it was.
        after = self.metrics()
        cut = after["microlight_http_closed_total"] - \
            before["microlight_http_closed_total"]
        self.assertLessEqual(unanswered, cut, "%d connections closed "
                             "unanswered, %d counted (answers %r)"
                             % (unanswered, cut, statuses))
        refused = after["microlight_http_refused_total"] - \
            before["microlight_http_refused_total"]
        self.assertEqual(refused, statuses.get(503, 0))
        # Every accepted request has its run.
        self.assertEqual(self.runs_of_hook() - runs_before, statuses[202])
        # All closed now: only the connection asking is left open.
        wait_for(lambda: self.metrics()["microlight_http_connections"] == 1,
                 timeout=30, what="the connections to be counted out")
        # And the daemon serves on.
        r = self.post("/hooks/hook", {}, headers={
            "Authorization": "Bearer " + SECRET})
        self.assertEqual(r.status, 202, r)
        self.assertIsNone(self.d.proc.poll())
        return statuses, unanswered


class Overload(OverloadTest):

    def test_over_the_cap_of_one_address(self):
        """300 connections from one address (64 admitted): each request
        is answered."""
        statuses, unanswered = self.check_storm(["127.0.0.1"] * 300)
        self.assertGreater(statuses.get(503, 0), 0, statuses)

    def test_over_the_cap_in_all(self):
        """400 connections from six addresses (256 admitted)."""
        self.check_storm(["127.0.0.%d" % (2 + i % 6) for i in range(400)])

    def test_storms_in_a_row(self):
        """Three storms one after the other: the counts come back down
        after each, nothing is held over."""
        for _ in range(3):
            self.check_storm(["127.0.0.1"] * 150 + ["127.0.0.9"] * 150)


class LimitedDaemon(HttpDaemon):
    """A daemon started with 128 descriptors."""

    def command(self, extra=()):
        return ["prlimit", "--nofile=128:128"] + super().command(extra)


@unittest.skipIf(shutil.which("prlimit") is None, "prlimit is not installed")
class OverloadFewDescriptors(OverloadTest):
    """The same with 128 descriptors: clients may hold about 60, the rest
    wait in the listener's backlog; none is dropped, nothing hangs."""
    DAEMON = LimitedDaemon

    def test_over_the_descriptors(self):
        self.assertEqual(nofile_limits(self.d.proc.pid), (128, 128))
        self.check_storm(["127.0.0.1"] * 100 + ["127.0.0.3"] * 200)
        self.assertIsNone(self.d.proc.poll())


if __name__ == "__main__":
    main()
