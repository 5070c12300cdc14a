"""Bounds: no client of either socket can grow the daemon's memory without
limit, exhaust its descriptors, lock others out with slow connections, or
pass a Host that is not strictly ours (SPEC sections 5 and 6; the limits
are in microlightd(8), LIMITS).

- a body over the limit (Content-Length or chunked, on the API and on a
  webhook before its secret is checked) is answered 413 and its
  connection closed: the daemon's RSS stays flat while the client pushes;
- a control client that sends requests and reads no reply is no longer
  read from: RSS stays flat, other clients are served;
- a follower of a run's output on the control socket and an SSE stream
  that read nothing are cut off after a minute (each holds at most what
  the follower's flow control lets pile up meanwhile);
- a page watching the task list that reads nothing holds at most 64 KiB
  of its events however much changes, and is cut off after a minute;
- max-queued applies to the control socket, the API and webhooks, and a
  schedule's run past it is recorded as skipped;
- under `prlimit --nofile=64` with 200 idle clients connected, runs start
  and finish, the daemon does not spin or flood its log; the soft limit
  is raised for the daemon and not for the tasks;
- 300 slow connections (from the normal client's address and another)
  do not keep a normal request from being served;
- Host is parsed as host[:port] strictly: anything else is 421;
- a NUL in a command's name is not that command.
"""

import errno
import select
import threading

from harness import *
from test_http import HttpDaemon, HttpTest, script

SECRET = "bounds-secret-0123456789"

OK_TASK = script("""\
    #!/bin/sh
    # Succeeds.
    # @webhook
    echo ok
    """)

LIMIT_TASK = script("""\
    #!/bin/sh
    # Prints its descriptor limit.
    ulimit -n
    """)

GATED_TASK = script("""\
    #!/bin/sh
    # Waits at gate 1, one at a time.
    # @concurrency 1
    # @webhook
    @SH_GATE@
    gate 1
    echo done
    """)

FLOOD_TASK = script("""\
    #!/bin/sh
    # Writes 8 MB, then waits at gate 1.
    @SH_GATE@
    head -c 8000000 /dev/zero | tr '\\0' x
    gate 1
    """)

MiB = 1024 * 1024


def rss(pid):
    """A process's resident set size in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


def cpu_ticks(pid):
    """A process's user and system CPU time, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class RssWatch:
    """Samples a process's RSS in the background; .peak is the highest."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = rss(pid)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, rss(self.pid))
            except (FileNotFoundError, ProcessLookupError):
                return
            self.stop.wait(0.02)

    def close(self):
        self.stop.set()
        self.thread.join()


def read_to_end(sock, until=None):
    """What a socket gives until its end (a reset counts as the end), or
    until what was read ends with until."""
    got = b""
    while True:
        try:
            b = sock.recv(1 << 20)
        except ConnectionResetError:
            break
        if not b:
            break
        got += b
        if until is not None and got.endswith(until):
            break
    return got


def push_body(port, head, chunk, total, result, src="127.0.0.1"):
    """Send head, then chunk after chunk up to total bytes without reading
    (as a careless or hostile client does), then read the answer; result
    gets what was sent, what was read, and whether the daemon closed the
    connection before the end of the body."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(60)
    sent, got, closed = 0, b"", False
    data = head
    try:
        while sent < total:
            try:
                n = s.send(data)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sent += n
            data = data[n:] or chunk
        got = read_to_end(s)
    except socket.timeout:
        pass
    finally:
        s.close()
    result.update(sent=sent, got=got, closed=closed)


class BigBodies(HttpTest):
    CONFIG = "webhook-secret ok %s\n" % SECRET
    TASKS = {"ok.sh": OK_TASK}

    def push_all(self, heads):
        """Push 100 MB with each head at once; the results and the RSS
        peak over the baseline."""
        before = rss(self.d.proc.pid)
        watch = RssWatch(self.d.proc.pid)
        results = [dict() for _ in heads]
        threads = []
        chunk = b"x" * 65536
        for head, res in zip(heads, results):
            t = threading.Thread(target=push_body, args=(
                self.d.port, head, chunk, 100 * MiB, res))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        watch.close()
        return results, watch.peak - before

    def check_refused(self, results, growth):
        for res in results:
            self.assertTrue(res["got"].startswith(b"HTTP/1.1 413"),
                            res["got"][:200])
            self.assertTrue(res["closed"], "the connection stayed open "
                            "after %d bytes" % res["sent"])
            self.assertLess(res["sent"], 100 * MiB)
        self.assertLess(growth, 48 * MiB,
                        "RSS grew by %d MiB" % (growth // MiB))
        # Still serving.
        self.assertEqual(self.get("/healthz").status, 200)

    def head(self, path, framing, extra=""):
        host = "127.0.0.1:%d" % self.d.port
        if framing == "length":
            frame = "Content-Length: %d\r\n" % (100 * MiB)
        else:
            frame = "Transfer-Encoding: chunked\r\n"
        return ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: "
                "application/json\r\n%s%s\r\n" % (path, host, frame,
                                                  extra)).encode()

    def test_content_length_bodies(self):
        heads = [self.head("/api/v1/tasks/ok/runs", "length"),
                 self.head("/hooks/ok", "length"),
                 self.head("/hooks/ok", "length",
                           "Authorization: Bearer wrong\r\n")]
        self.check_refused(*self.push_all(heads))

    def test_chunked_bodies(self):
        """A chunked body is cut where it passes the limit: the client
        gets its 413 and the connection closes."""
        heads = [self.head("/api/v1/tasks/ok/runs", "chunked"),
                 self.head("/hooks/ok", "chunked")]
        before = rss(self.d.proc.pid)
        watch = RssWatch(self.d.proc.pid)
        results = [dict() for _ in heads]
        chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"
        threads = [threading.Thread(target=push_body, args=(
            self.d.port, h, chunk, 100 * MiB, r))
            for h, r in zip(heads, results)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        watch.close()
        self.check_refused(results, watch.peak - before)

    def test_body_within_the_limit_is_served(self):
        """The bounds do not get in the way of an ordinary webhook."""
        body = json.dumps({"pad": "y" * 500000}).encode()
        r = self.post("/hooks/ok", body=body,
                      headers={"Authorization": "Bearer " + SECRET,
                               "Content-Type": "application/json"})
        self.assertEqual(r.status, 202, r)


class ControlNoRead(DaemonTest):
    """A client that writes requests and never reads its replies."""
    TASKS = {"t%02d.sh" % i: OK_TASK for i in range(30)}

    def test_replies_pile_up_no_further(self):
        before = rss(self.d.proc.pid)
        watch = RssWatch(self.d.proc.pid)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.d.socket)
        s.setblocking(False)
        line = b'{"cmd":"list"}\n'
        sent = 0
        blocked_since = None
        deadline = time.monotonic() + 60
        # Write until the daemon has stopped reading for a second.
        while time.monotonic() < deadline:
            try:
                sent += s.send(line * 64)
                blocked_since = None
            except BlockingIOError:
                if blocked_since is None:
                    blocked_since = time.monotonic()
                elif time.monotonic() - blocked_since > 1:
                    break
                select.select([], [s], [], 0.1)
        watch.close()
        self.assertIsNotNone(blocked_since, "the daemon read every request")
        growth = watch.peak - before
        self.assertLess(growth, 24 * MiB,
                        "RSS grew by %d MiB" % (growth // MiB))
        # Others are served meanwhile.
        self.assertEqual(self.d.ctl("ping").returncode, 0)
        # What was answered is intact: read some replies back.
        s.setblocking(True)
        s.settimeout(30)
        buf = b""
        while buf.count(b"\n") < 100:
            b = s.recv(65536)
            self.assertTrue(b, "the daemon closed the connection")
            buf += b
        for reply in buf.split(b"\n")[:100]:
            obj = json.loads(reply)
            self.assertTrue(obj["ok"])
            self.assertEqual(len(obj["tasks"]), 30)
        s.close()


    def test_held_requests_are_answered_after_eof(self):
        """Requests held back while replies pile up are all answered when
        the client, having sent them and shut its side, reads: 500 lists
        make about 7 MB of replies, far past what is queued for a client,
        so the end of its input comes while most are held back."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.d.socket)
        s.settimeout(60)
        s.sendall(b'{"cmd":"list"}\n' * 500)
        s.shutdown(socket.SHUT_WR)
        got = read_to_end(s)
        s.close()
        self.assertGreater(len(got), 2 * MiB)
        self.assertEqual(got.count(b"\n"), 500)


class StalledStreams(ScratchTest):
    """Followers that stop reading are cut off, not kept for ever."""
    TASKS = {"flood.sh": FLOOD_TASK}
    DAEMON = HttpDaemon
    SHIFTED_CLOCK = True

    def test_followers_that_read_nothing_are_cut_off(self):
        rid = self.d.run("flood", wait=False)
        wait_for(lambda: json.loads(self.d.ctl("--json", "status", str(rid))
                                    .stdout)["run"]["output_size"] >=
                 8000000, timeout=60, what="the output to be in")
        ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ctl.connect(self.d.socket)
        ctl.sendall(b'{"cmd":"logs","run":%d,"follow":true}\n' % rid)
        sse = socket.create_connection(("127.0.0.1", self.d.port))
        sse.sendall(b"GET /api/v1/runs/%d/log HTTP/1.1\r\nHost: "
                    b"127.0.0.1:%d\r\nAccept: text/event-stream\r\n\r\n"
                    % (rid, self.d.port))
        def cut_off():
            if self.d.log_text().count("cut off") >= 2:
                return True
            # The minute they read nothing in passes on the daemon's
            # clocks, 5 s at each look, rather than in real time.
            self.d.advance(5)
            return False
        try:
            wait_for(cut_off, timeout=60, interval=0.05,
                     what="both followers to be cut off")
            log = self.d.log_text()
            self.assertIn("read nothing of", log)
            self.assertIn("a stream's client read nothing", log)
            # Reading now: what was queued, then the end.
            ctl.settimeout(30)
            read_to_end(ctl)
            sse.settimeout(30)
            got = read_to_end(sse, until=b"0\r\n\r\n")
            self.assertIn(b": cut off", got)
        finally:
            ctl.close()
            sse.close()
        # The run goes on and ends as usual, its output whole.
        self.go(rid)
        wait_for(lambda: b'"succeeded"' in self.d.ctl(
            "--json", "status", str(rid)).stdout, timeout=60,
            what="the run to succeed")
        self.assertEqual(len(self.d.ctl("logs", str(rid)).stdout), 8000000)


class StalledListWatcher(ScratchTest):
    """A page watching the task list (GET /events) that reads nothing:
    however much changes, the daemon holds at most 64 KiB of its events
    (what changes meanwhile waits as the tasks' state), and it is cut off
    after a minute."""
    # The runs are kept: pruning would take the first when it ends.
    CONFIG = "kill-grace 2s\nkeep-runs 0\nkeep-days 0\n"
    TASKS = {"busy.sh": script("""\
        #!/bin/sh
        # Runs one at a time: the others are skipped.
        # @overlap skip
        @SH_GATE@
        gate 1
        """)}
    DAEMON = HttpDaemon
    SHIFTED_CLOCK = True
    # Each skipped run is a change the watcher is sent on its own (one
    # request, one turn of the loop): some 400 bytes each, more than the
    # kernel's buffers take (the daemon's send buffer grows to 4 MiB).
    RUNS = 20000

    def test_changes_pile_up_no_further(self):
        first = self.d.run("busy", wait=False)
        self.d.wait_status(first, "running")
        watcher = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        watcher.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        watcher.connect(("127.0.0.1", self.d.port))
        watcher.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                        b"Accept: text/event-stream\r\n\r\n" % self.d.port)
        try:
            with self.d.connect(60) as ctl:
                f = ctl.makefile("rb")
                for _ in range(self.RUNS):
                    ctl.sendall(b'{"cmd":"run","task":"busy"}\n')
                    reply = json.loads(f.readline())
                    self.assertEqual(reply["run"]["status"], "skipped")

            def cut_off():
                if "a stream's client read nothing" in self.d.log_text():
                    return True
                self.d.advance(5)   # the minute passes on its clocks
                return False
            wait_for(cut_off, timeout=60, interval=0.05,
                     what="the watcher to be cut off")
            held = int(re.search(r"a stream's client read nothing of "
                                 r"(\d+) bytes", self.d.log_text())
                       .group(1))
            self.assertLessEqual(held, 64 * 1024 + 4096)
            watcher.settimeout(30)
            got = read_to_end(watcher, until=b"0\r\n\r\n")
            self.assertIn(b"event: task", got)
            self.assertIn(b": cut off", got)
        finally:
            watcher.close()
            self.go(first)
        self.d.wait_status(first, "succeeded")


class MaxQueued(ScratchTest):
    """max-queued counts runs waiting for a slot, from every entry point."""
    CONFIG = "max-queued 2\nwebhook-secret gated %s\n" % SECRET
    TASKS = {"gated.sh": GATED_TASK}
    DAEMON = HttpDaemon

    def test_every_entry_point_is_bounded(self):
        first = self.d.run("gated", wait=False)
        wait_for(lambda: self.d.ctl("--json", "status", str(first))
                 .stdout.find(b'"running"') >= 0, what="run 1 to start")
        ids = [self.d.run("gated", wait=False) for _ in range(2)]
        # The control socket: refused, exit 69, a message naming the limit.
        p = self.d.ctl("run", "gated")
        self.assertEqual(p.returncode, EX_UNAVAILABLE, p)
        self.assertIn(b"max-queued", p.stderr)
        # The API.
        r = self.d.http("POST", "/api/v1/tasks/gated/runs", body={})
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.json()["error"]["code"], "busy")
        self.assertEqual(r.headers.get("Retry-After"), "5")
        # A webhook.
        r = self.d.http("POST", "/hooks/gated", body={},
                        headers={"Authorization": "Bearer " + SECRET})
        self.assertEqual(r.status, 503, r)
        # Nothing was queued by the refusals; the queued ones run.
        runs = json.loads(self.d.ctl("--json", "runs").stdout)["runs"]
        self.assertEqual(sorted(x["id"] for x in runs), [first] + ids)
        for rid in [first] + ids:
            wait_for(lambda: self.d.ctl("--json", "status", str(rid))
                     .stdout.find(b'"running"') >= 0,
                     what="run %d to start" % rid, timeout=30)
            self.go(rid)
        for rid in [first] + ids:
            wait_for(lambda: b'"succeeded"' in self.d.ctl(
                "--json", "status", str(rid)).stdout, timeout=30,
                what="run %d to succeed" % rid)


class MaxQueuedSchedule(ScratchTest):
    """A schedule's run past max-queued is recorded as skipped, saying
    why, rather than queued."""
    CONFIG = "max-queued 1\n"
    TASKS = {"tick.sh": script("""\
        #!/bin/sh
        # Every second, one at a time, waiting at gate 1.
        # @schedule * * * * * *
        # @concurrency 1
        @SH_GATE@
        gate 1
        """)}

    def runs(self):
        return json.loads(self.d.ctl("--json", "runs", "-n", "100")
                          .stdout)["runs"]

    def test_schedule_past_max_queued_is_skipped(self):
        def skipped():
            return [r for r in self.runs() if r["status"] == "skipped"]
        got = wait_for(skipped, timeout=30, what="a skipped run")
        self.assertIn("max-queued", got[0]["reason"])
        self.assertEqual(got[0]["trigger"], "schedule")
        runs = self.runs()
        self.assertEqual(len([r for r in runs if r["status"] == "queued"]),
                         1, runs)
        for r in runs:
            if r["status"] in ("running", "queued"):
                self.go(r["id"])


class LimitedDaemon(HttpDaemon):
    """A daemon started under prlimit --nofile=SOFT:HARD."""
    NOFILE = "64:64"

    def command(self, extra=()):
        return ["prlimit", "--nofile=" + self.NOFILE] + \
            super().command(extra)


class RaisedDaemon(LimitedDaemon):
    NOFILE = "64:4096"


def nofile_limits(pid):
    """(soft, hard) of a process's open files limit."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no open files limit for %d" % pid)


@unittest.skipIf(shutil.which("prlimit") is None, "prlimit is not installed")
class FewDescriptors(HttpTest):
    """At 64 descriptors, 200 idle clients cannot stop runs."""
    DAEMON = LimitedDaemon
    TASKS = {"ok.sh": OK_TASK}

    def test_runs_with_idle_clients_held(self):
        pid = self.d.proc.pid
        self.assertEqual(nofile_limits(pid), (64, 64))
        held = []
        try:
            for _ in range(100):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.d.socket)
                held.append(s)
            for _ in range(100):
                held.append(socket.create_connection(
                    ("127.0.0.1", self.d.port), timeout=30))
            log_before = len(self.d.log_text().splitlines())
            cpu_before = cpu_ticks(pid)
            for _ in range(3):
                p = self.d.ctl("run", "ok", "--wait", timeout=60)
                self.assertEqual(p.returncode, 0, p)
            r = self.d.http("GET", "/healthz", timeout=60)
            self.assertEqual(r.status, 200)
            # A daemon spinning on accept would burn a core meanwhile.
            time.sleep(2)
            cpu = cpu_ticks(pid) - cpu_before
            lines = self.d.log_text().splitlines()[log_before:]
        finally:
            for s in held:
                s.close()
        self.assertLess(cpu, 150, "%d ticks of CPU with idle clients" % cpu)
        self.assertLess(len(lines), 30, "\n".join(lines[:40]))
        self.assertNotIn("Error from accept", "\n".join(lines))
        self.assertIn("only 64 descriptors", self.d.log_text())


@unittest.skipIf(shutil.which("prlimit") is None, "prlimit is not installed")
class RaisedLimit(HttpTest):
    """The soft limit is raised to the hard one for the daemon; tasks get
    the limit the daemon was started with."""
    DAEMON = RaisedDaemon
    TASKS = {"limit.sh": LIMIT_TASK}

    def test_soft_limit_raised_for_the_daemon_only(self):
        self.assertEqual(nofile_limits(self.d.proc.pid), (4096, 4096))
        rid = self.d.run("limit")["id"]
        p = self.d.ctl("logs", str(rid))
        self.assertEqual(p.stdout, b"64\n")


def drip(port, src, stop, socks):
    """A slow client: a request line, then a header byte every second."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    socks.append(s)
    s.sendall(b"GET / HTTP/1.1\r\nX")
    while not stop.wait(1):
        try:
            s.send(b"x")
        except OSError:
            return


class SlowClients(HttpTest):
    TASKS = {"ok.sh": OK_TASK}

    def served_with_slow_ones(self, slow_src, normal_src):
        stop = threading.Event()
        socks = []
        threads = [threading.Thread(target=drip, args=(
            self.d.port, slow_src, stop, socks), daemon=True)
            for _ in range(300)]
        try:
            for t in threads:
                t.start()
            wait_for(lambda: len(socks) == 300, timeout=30,
                     what="300 slow connections")
            for _ in range(3):
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                c.settimeout(10)
                c.bind((normal_src, 0))
                c.connect(("127.0.0.1", self.d.port))
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                          b"Connection: close\r\n\r\n" % self.d.port)
                got = read_to_end(c)
                c.close()
                self.assertTrue(got.startswith(b"HTTP/1.1 200"), got[:100])
        finally:
            stop.set()
            for t in threads:
                t.join()
            for s in socks:
                s.close()

    def test_slow_ones_from_another_address(self):
        self.served_with_slow_ones("127.0.0.2", "127.0.0.1")

    def test_slow_ones_from_the_same_address(self):
        self.served_with_slow_ones("127.0.0.1", "127.0.0.1")


class HostHeader(HttpTest):
    TASKS = {"ok.sh": OK_TASK}

    def test_strict_host_port(self):
        port = self.d.port
        bad = ["127.0.0.1:%d.evil.example" % port, "localhost:evil.example",
               "localhost:%d/x" % port, "127.0.0.1:%d evil" % port,
               "127.0.0.1:", "localhost:99999", "localhost:-1",
               "[::1", "[::1]x", "[evil]:80", "localhost:80:80",
               ":%d" % port, "evil.example", "local host", "localhost:+80",
               "127.0.0.1:%d@evil.example" % port]
        for host in bad:
            r = self.d.http("GET", "/healthz", host=host)
            self.assertEqual(r.status, 421, "Host: %r gave %d" %
                             (host, r.status))
        good = ["127.0.0.1:%d" % port, "127.0.0.1", "localhost",
                "LOCALHOST:%d" % port, "localhost:9000"]
        for host in good:
            r = self.d.http("GET", "/healthz", host=host)
            self.assertEqual(r.status, 200, "Host: %r gave %d" %
                             (host, r.status))


class NulInCommand(DaemonTest):
    def test_nul_in_cmd_is_not_the_command(self):
        for raw in (b'{"cmd":"ping\\u0000"}\n', b'{"cmd":"ping\\u0000x"}\n',
                    b'{"cmd":"list\\u0000ping"}\n'):
            reply = self.d.request(raw)
            self.assertFalse(reply["ok"], raw)
            self.assertEqual(reply["error"]["code"], "bad-request", raw)
            self.assertNotIn("version", reply)
        self.assertTrue(self.d.request({"cmd": "ping"})["ok"])


if __name__ == "__main__":
    main()
