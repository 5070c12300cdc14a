#!/usr/bin/env python3
"""The HTTP side over real HTTP against the real daemon (SPEC sections 5
and 6; issue 5, points 1, 3, 5 and 6): the listener (`listen`, `-l none`,
no non-loopback address without a users-file, SIGPIPE), the limits
(16 KiB of headers, 1 MiB of body, a request arriving whole within 20 s,
256 connections, idle connections), routing (404, 405 with Allow, 501,
path tricks, the Host check against DNS rebinding, allowed-hosts),
security (HTTP Basic auth with a users-file, the web user as
triggered_by, cross-site posts, JSON bodies only, security headers), the
JSON API (every route and status code, the same objects as the control
socket, logs byte for byte, followed and as Server-Sent Events), /healthz
and /metrics. The web page's HTML is tested elsewhere.

The helpers at the top (HttpDaemon, HttpTest) are shared with
test_webhook.py."""

import base64
import http.client
import random
import select
import struct
import threading
import warnings

from harness import *


# Helpers (also used by test_webhook.py) ------------------------------

def ephemeral_ports():
    """The kernel's range for the ports of clients and of bind(0)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    """A TCP port that nothing on this machine uses right now, on any
    address. It is taken below the kernel's range for ephemeral ports,
    from which every client connection gets its port: with make -j check,
    other tests connect all the time, and one of their connections could
    otherwise get it before the daemon binds it (0.0.0.0:PORT too). A
    port is still free only until something binds it: HttpDaemon picks
    another if its daemon finds it taken (Daemon.pick_port)."""
    low, _ = ephemeral_ports()
    if low - 1024 >= 1000:
        for _ in range(100):
            port = random.randrange(1024, low)
            with socket.socket() as s:
                try:
                    s.bind(("0.0.0.0", port))
                except OSError:
                    continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def basic(user, password):
    """The value of an Authorization header for HTTP Basic auth."""
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()


def crypt_hash(password):
    """A crypt(3) SHA-512 hash, as mkpasswd(1) makes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


class Reply:
    """An HTTP reply: status, headers (case-insensitive), body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<HTTP %d %r>" % (self.status, self.body[:300])


def status_of(raw_reply):
    """The status code of a raw HTTP reply (bytes), or None if empty."""
    if not raw_reply:
        return None
    return int(raw_reply.split(b" ", 2)[1])


class HttpDaemon(Daemon):
    """A Daemon with an HTTP listener. listen="auto" (the default) gives
    -l 127.0.0.1:PORT on a free port; another address is passed as -l;
    None passes no -l, so that the configuration's `listen` counts (set
    self.port then)."""

    def __init__(self, *args, listen="auto", **kw):
        self.auto = listen == "auto"
        if self.auto:
            self.port = free_port()
            listen = "127.0.0.1:%d" % self.port
        elif listen not in (None, "none"):
            self.port = int(listen.rsplit(":", 1)[1])
        else:
            self.port = None
        self.listen = listen
        self.started = False
        super().__init__(*args, **kw)

    def start(self, extra=(), wait=True):
        proc = super().start(extra, wait)
        self.started = True
        return proc

    def pick_port(self):
        if not self.auto or self.started or \
                self.listen != "127.0.0.1:%d" % self.port:
            return False
        self.port = free_port()
        self.listen = "127.0.0.1:%d" % self.port
        return True

    def command(self, extra=()):
        cmd = super().command(extra)
        i = cmd.index("-l")
        if self.listen is None:
            del cmd[i:i + 2]
        else:
            cmd[i + 1] = self.listen
        return cmd

    def http(self, method, path, body=None, headers=None, auth=None,
             host=None, timeout=60):
        """One request on a fresh connection; the whole Reply. A dict or
        list body is sent as JSON."""
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if auth is not None:
            hdrs["Authorization"] = basic(*auth)
        if host is not None:
            hdrs["Host"] = host
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        try:
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            return Reply(r.status, r.headers, r.read())
        finally:
            c.close()

    def open_stream(self, path, headers=None, timeout=60):
        """A GET whose reply is read as it comes: (connection, response)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        c.request("GET", path, headers=headers or {})
        return c, c.getresponse()

    def raw(self, data, timeout=30):
        """Send raw bytes on a fresh connection; everything the server
        sends until it closes (or the timeout)."""
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=timeout) as s:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass    # the server may answer before taking it all
            out = bytearray()
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
            except ConnectionResetError:
                pass
            return bytes(out)

    def serves(self):
        """Whether GET /healthz answers 200 now."""
        try:
            return self.http("GET", "/healthz", timeout=10).status == 200
        except OSError:
            return False


class HttpTest(ScratchTest):
    """ScratchTest with an HttpDaemon: self.d.port is its port. LISTEN
    and ARGS go to HttpDaemon."""

    DAEMON = HttpDaemon
    LISTEN = "auto"
    ARGS = ()

    def daemon_args(self):
        return {"listen": self.LISTEN, "args": self.ARGS}

    def start_fails(self, extra=()):
        """Start the daemon, which must exit non-zero; its log."""
        p = self.d.start(extra, wait=False)
        try:
            rc = p.wait(timeout=30)
        finally:
            self.d.log.close()
            self.d.proc = None
        self.assertNotEqual(rc, 0)
        return self.d.log_text()

    def get(self, path, **kw):
        return self.d.http("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.d.http("POST", path, body=body, **kw)

    def api(self, method, path, status, body=None, **kw):
        """An API request that must answer status with a JSON object;
        the object."""
        r = self.d.http(method, path, body=body, **kw)
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.headers.get("Content-Type"), "application/json",
                         r)
        return r.json()

    def api_error(self, method, path, status, code, body=None, **kw):
        """An API request that must fail with status and error code; the
        error's message."""
        obj = self.api(method, path, status, body=body, **kw)
        self.assertIs(obj["ok"], False, obj)
        self.assertEqual(obj["error"]["code"], code, obj)
        self.assertTrue(obj["error"]["message"], obj)
        return obj["error"]["message"]

    def runs_all(self):
        """Every run the daemon knows (socket), newest first."""
        reply = self.d.request({"cmd": "runs", "limit": 10000})
        self.assertTrue(reply["ok"], reply)
        return reply["runs"]

    def no_runs(self):
        self.assertEqual(self.runs_all(), [])


def script(*parts):
    """A task body from parts, each dedented on its own."""
    return "".join(textwrap.dedent(p).lstrip("\n") for p in parts)


OK_TASK = "#!/bin/sh\n# Succeeds.\necho ok\n"
FAIL_TASK = "#!/bin/sh\n# Fails.\necho failing >&2\nexit 3\n"
GATED_TASK = script("""\
    #!/bin/sh
    # Prints one, two and three, waiting at gates 1 and 2.
    @SH_GATE@
    echo one
    gate 1
    echo two
    gate 2
    echo three
    """)
PARAM_TASK = script("""\
    #!/bin/sh
    # Takes parameters.
    # @param count int default=1
    # @param mode choice(soft,hard) default=soft
    # @param note string
    echo "count=$count mode=$mode note=$note by=$MICROLIGHT_TRIGGERED_BY"
    echo "trigger=$MICROLIGHT_TRIGGER"
    """)


# 1. The listener -----------------------------------------------------

class Listener(HttpTest):
    TASKS = {"ok.sh": OK_TASK}

    def test_serves_on_its_port(self):
        r = self.get("/healthz")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "ok")
        self.assertIn("web page on http://127.0.0.1:%d/" % self.d.port,
                      self.d.log_text())
        # The API answers on the same port.
        tasks = self.api("GET", "/api/v1/tasks", 200)["tasks"]
        self.assertEqual([t["name"] for t in tasks], ["ok"])

    def test_keep_alive(self):
        """Several requests on one connection."""
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
        try:
            for _ in range(3):
                c.request("GET", "/healthz")
                r = c.getresponse()
                self.assertEqual(r.status, 200)
                r.read()
        finally:
            c.close()


class ListenNone(ScratchTest):
    """-l none on the command line turns HTTP off, whatever `listen` says
    in the configuration."""

    def setUp(self):
        self.port = free_port()
        self.CONFIG = "kill-grace 2s\nlisten 127.0.0.1:%d\n" % self.port
        super().setUp()     # the harness passes -l none

    def test_nothing_listens(self):
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.assertNotIn("web page on", self.d.log_text())
        self.d.ctl("ping", check=0)


class NonLoopback(HttpTest):
    """A listener that is not on loopback needs a users-file."""

    START = False
    LISTEN = None       # the configuration's `listen`
    TASKS = {"ok.sh": OK_TASK}

    def write_config(self, text):
        with open(self.d.config, "w") as f:
            f.write(text)

    def test_refused_without_users_file(self):
        port = free_port()
        self.write_config("listen 0.0.0.0:%d\n" % port)
        log = self.start_fails()
        self.assertIn("0.0.0.0:%d is not a loopback address" % port, log)
        self.assertIn("users-file", log)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        # Given on the command line, the same.
        self.write_config("")
        self.d.listen = "0.0.0.0:%d" % port
        log = self.start_fails()
        self.assertIn("is not a loopback address", log)

    def test_check_mode_reports_it(self):
        self.write_config("listen 0.0.0.0:%d\n" % free_port())
        rc, out = self.d.check_mode()
        self.assertNotEqual(rc, 0, out)
        self.assertIn("users-file", out)

    def test_starts_with_users_file(self):
        users = os.path.join(self.d.dir, "users")
        with open(users, "w") as f:
            f.write("alice:%s\n" % crypt_hash("pw"))
        self.d.port = free_port()
        config = "users-file %s\nlisten 0.0.0.0:%d\n" % (users, self.d.port)
        self.write_config(config)
        self.d.start()
        host = "localhost:%d" % self.d.port
        self.assertEqual(self.get("/api/v1/tasks", host=host).status, 401)
        self.assertEqual(self.get("/api/v1/tasks", host=host,
                                  auth=("alice", "pw")).status, 200)
        self.assertEqual(self.get("/healthz", host=host).status, 200)
        # A reload may not drop the users-file while on 0.0.0.0.
        self.write_config("listen 0.0.0.0:%d\n" % self.d.port)
        p = self.d.ctl("reload")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"users-file", p.stderr)
        self.assertEqual(self.get("/api/v1/tasks", host=host).status, 401)


class KeepAlive(HttpTest):
    """A reply larger than libevent's 16 KiB write, on a kept-alive
    connection as browsers use, is not held back by Nagle's algorithm
    waiting for the client's delayed ACK (40 ms): the listener sets
    TCP_NODELAY and accepted connections inherit it."""

    TASKS = {"big.sh": "#!/bin/sh\n# Writes 64 KB.\n"
                       "head -c 65536 /dev/zero | tr '\\0' x\n"}

    def test_large_replies_not_delayed(self):
        run_id = self.d.run("big")["id"]
        path = "/api/v1/runs/%d/log" % run_id
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
        times = []
        try:
            for _ in range(15):
                t = time.monotonic()
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                times.append(time.monotonic() - t)
                self.assertEqual((r.status, len(body)), (200, 65536))
        finally:
            c.close()
        times.sort()
        # With Nagle and delayed ACKs each takes 40 ms or more.
        self.assertLess(times[len(times) // 2], 0.030, times)


class SigPipe(HttpTest):
    """A client that goes away in the middle of a reply does not kill the
    daemon (SIGPIPE is ignored)."""

    TASKS = {
        "big.sh": """\
            #!/bin/sh
            # Writes 6 MB.
            head -c 6000000 /dev/zero | tr '\\0' x
            """,
        "gated.sh": GATED_TASK,
    }

    def vanish(self, request, read=1):
        """Send a request, read a little of the reply, then reset the
        connection (no FIN: the daemon's next writes fail)."""
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect(("127.0.0.1", self.d.port))
        s.sendall(request)
        got = 0
        while got < read:
            chunk = s.recv(4096)
            self.assertTrue(chunk, "closed before the reply")
            got += len(chunk)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()

    def test_client_gone_mid_stream(self):
        big = self.d.run("big")
        self.assertEqual(big["status"], "succeeded")
        big = big["id"]
        live = self.d.run("gated", wait=False)
        wait_for(lambda: self.d.logs(live) == b"one\n", what="output")
        host = b"Host: 127.0.0.1:%d\r\n" % self.d.port
        requests = [
            b"GET /api/v1/runs/%d/log HTTP/1.1\r\n%s\r\n" % (big, host),
            b"GET /api/v1/runs/%d/log HTTP/1.1\r\n%sAccept: "
            b"text/event-stream\r\n\r\n" % (big, host),
            b"GET /api/v1/runs/%d/log?follow=1 HTTP/1.1\r\n%s\r\n"
            % (live, host),
            b"GET /api/v1/tasks HTTP/1.1\r\n%s\r\n" % host,
        ]
        for _ in range(3):
            for req in requests:
                self.vanish(req)
        # The streams left behind are torn down, the daemon lives on.
        for _ in range(5):
            self.assertIsNone(self.d.proc.poll(), self.d.log_text())
            self.assertTrue(self.d.serves())
        self.go(live, 1)
        self.go(live, 2)
        self.assertEqual(self.d.wait_status(live, "succeeded")["status"],
                         "succeeded")
        r = self.get("/api/v1/runs/%d/log" % big)
        self.assertEqual(r.body, b"x" * 6000000)


# 2. Limits -----------------------------------------------------------

class Limits(HttpTest):
    TASKS = {"ok.sh": OK_TASK, "params.sh": PARAM_TASK}

    def request_bytes(self, path, headers=b"", method=b"GET", body=b""):
        return (b"%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: "
                b"close\r\n\r\n%s" % (method, path, self.d.port, headers,
                                      body))

    def test_headers_over_16k(self):
        # Well under the limit: served.
        ok = self.d.raw(self.request_bytes(
            b"/healthz", b"X-Pad: %s\r\n" % (b"a" * 12000)))
        self.assertEqual(status_of(ok), 200, ok[:300])
        # One header over it, and many small ones over it: 4xx.
        for headers in (b"X-Big: %s\r\n" % (b"a" * 20000),
                        b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 100)
                                 for i in range(200))):
            r = self.d.raw(self.request_bytes(b"/healthz", headers))
            self.assertIsNotNone(status_of(r), "no reply")
            self.assertTrue(400 <= status_of(r) < 500, r[:300])
            self.assertTrue(self.d.serves())
        # A huge request line too.
        r = self.d.raw(self.request_bytes(b"/api/v1/tasks/" + b"a" * 40000))
        self.assertTrue(400 <= status_of(r) < 500, r[:300])
        self.assertTrue(self.d.serves())

    def test_body_over_1m(self):
        over = b'{"params":{"count":"2"}' + b" " * (1024 * 1024) + b"}"
        whole = self.d.raw(self.request_bytes(
            b"/api/v1/tasks/params/runs", b"Content-Type: application/json"
            b"\r\nContent-Length: %d\r\n" % len(over), b"POST", over))
        self.assertEqual(status_of(whole), 413, whole[:300])
        # Announced but not sent: refused on the announcement.
        head = self.request_bytes(
            b"/api/v1/tasks/params/runs", b"Content-Type: application/json"
            b"\r\nContent-Length: %d\r\n" % len(over), b"POST")
        self.assertEqual(status_of(self.d.raw(head)), 413)
        # Chunked, no length given.
        chunked = self.request_bytes(
            b"/api/v1/tasks/params/runs", b"Content-Type: application/json"
            b"\r\nTransfer-Encoding: chunked\r\n", b"POST",
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(over), over))
        self.assertEqual(status_of(self.d.raw(chunked)), 413)
        self.no_runs()
        # Just under the limit: taken.
        under = b'{"params":{"count":"2"}' + b" " * (1000 * 1024) + b"}"
        run = self.api("POST", "/api/v1/tasks/params/runs", 201, under,
                       headers={"Content-Type": "application/json"})["run"]
        self.assertEqual(run["params"]["count"], "2")
        self.assertEqual(len(self.runs_all()), 1)

    def hold_connections(self, sources):
        """One connection from each address of sources, in order; the
        indexes of those the daemon closes, once it has closed n."""
        socks = []
        for src in sources:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(30)
            s.bind((src, 0))
            s.connect(("127.0.0.1", self.d.port))
            socks.append(s)
        self.addCleanup(lambda: [s.close() for s in socks])

        def closed():
            out = []
            for i, s in enumerate(socks):
                r, _, _ = select.select([s], [], [], 0)
                if r:
                    try:
                        data = s.recv(100)
                    except ConnectionResetError:
                        data = b""
                    self.assertEqual(data, b"", "sent something")
                    out.append(i)
            return out
        return socks, closed

    def check_cap(self, sources, n):
        """One connection from each of sources, in order: exactly the n
        oldest are closed, the daemon lives on, and once the rest go,
        requests are served."""
        socks, closed = self.hold_connections(sources)
        wait_for(lambda: len(closed()) >= n, timeout=15,
                 what="%d connections to be closed" % n)
        time.sleep(1.5)     # a wrong daemon would close more
        self.assertEqual(closed(), list(range(n)))
        self.assertIsNone(self.d.proc.poll())
        for s in socks:
            s.close()
        wait_for(self.d.serves, timeout=15, what="requests to be served")

    def test_connection_cap_per_address(self):
        """Over 64 connections from one address, the ones that waited
        longest for a request are closed; the newest stay."""
        self.check_cap(["127.0.0.1"] * 300, 236)

    def test_connection_cap(self):
        """Over 256 connections in all (50 from each of six addresses),
        the 44 oldest are closed; the ones within the cap stay; once
        they go, requests are served."""
        self.check_cap(["127.0.0.%d" % (2 + i % 6) for i in range(300)], 44)
        self.assertIn("connections: closing one", self.d.log_text())


# 3. Routing ----------------------------------------------------------

class SlowAndIdleClients(HttpTest):
    """Slow and idle clients, on clocks the test moves: the seconds they
    take pass at once on the daemon's clocks, half a second at a time,
    rather than in real time."""
    TASKS = Limits.TASKS
    SHIFTED_CLOCK = True

    def test_slow_and_idle_clients_are_cut_off(self):
        """A request dripping in one byte a second is cut off within ~20
        s, and so is an idle keep-alive connection, while other clients
        are served all along."""
        msg = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               b"X-Slow: %s" % (self.d.port, b"z" * 200))
        drip = socket.create_connection(("127.0.0.1", self.d.port),
                                        timeout=60)
        self.addCleanup(drip.close)
        idle = http.client.HTTPConnection("127.0.0.1", self.d.port,
                                          timeout=60)
        self.addCleanup(idle.close)
        idle.request("GET", "/healthz")
        idle.getresponse().read()

        def closed(s):
            """What s received, once the daemon has closed it (else
            None)."""
            r, _, _ = select.select([s], [], [], 0)
            if not r:
                return None
            try:
                return s.recv(4096)
            except OSError:
                return b""

        elapsed = 0.0       # seconds passed on the daemon's clocks
        results = {}
        got = b""
        worst = 0
        served = 0
        sent = 0
        while len(results) < 2 and elapsed < 60:
            if "drip" not in results and sent < len(msg) and \
                    sent <= elapsed:
                try:
                    drip.sendall(msg[sent:sent + 1])
                    sent += 1
                except OSError:
                    results["drip"] = (elapsed, got)
            t0 = time.monotonic()
            self.assertEqual(self.get("/api/v1/tasks").status, 200)
            worst = max(worst, time.monotonic() - t0)
            served += 1
            if "drip" not in results:
                chunk = closed(drip)
                if chunk:
                    got += chunk
                elif chunk is not None:
                    results["drip"] = (elapsed, got)
            if "idle" not in results:
                data = closed(idle.sock)
                if data is not None:
                    results["idle"] = (elapsed, data)
            self.d.advance(0.5)
            elapsed += 0.5
        self.assertGreater(served, 20)
        self.assertLess(worst, 5, "a client waited while the slow ones hung")
        self.assertIn("drip", results, "the dripping client was never cut "
                      "off")
        cut, got = results["drip"]
        self.assertEqual(got, b"", "the slow request was answered")
        self.assertGreater(cut, 18)
        self.assertLess(cut, 26)
        self.assertIn("idle", results, "the idle client was never cut off")
        idle_for, data = results["idle"]
        self.assertEqual(data, b"")
        self.assertGreater(idle_for, 18)
        self.assertLess(idle_for, 35)


class Routing(HttpTest):
    TASKS = {"ok.sh": OK_TASK}

    def setUp(self):
        super().setUp()
        # An executable file next to tasks.d, and a secret one: what a
        # path reaching the file system would find.
        self.outside = os.path.join(self.d.dir, "outside.sh")
        with open(self.outside, "w") as f:
            f.write("#!/bin/sh\n# Outside.\ntouch %s/outside-ran\n"
                    % self.scratch)
        os.chmod(self.outside, 0o755)

    def test_unknown_paths(self):
        for path in ("/nope", "/api", "/api/v1", "/api/v2/tasks",
                     "/api/v1/nope", "/api/v1/tasks/ok/nope", "/index.html",
                     "/hooks", "/static/app.js"):
            r = self.get(path)
            self.assertEqual(r.status, 404, (path, r))
        for path in ("/api/v1/nope", "/api/v1/tasks/ok/nope"):
            self.api_error("GET", path, 404, "bad-request")
        self.api_error("GET", "/api/v1/tasks/nosuch", 404, "unknown-task")

    def test_wrong_method_405(self):
        for method, path, allow in (
                ("POST", "/api/v1/tasks", "GET"),
                ("POST", "/api/v1/tasks/ok", "GET"),
                ("GET", "/api/v1/tasks/ok/runs", "POST"),
                ("POST", "/api/v1/runs", "GET"),
                ("GET", "/api/v1/runs/1/cancel", "POST"),
                ("POST", "/api/v1/runs/1/log", "GET"),
                ("GET", "/hooks/ok", "POST"),
                ("POST", "/healthz", "GET"),
                ("POST", "/metrics", "GET")):
            r = self.d.http(method, path)
            self.assertEqual(r.status, 405, (method, path, r))
            self.assertEqual(r.headers.get("Allow"), allow, (method, path))
        self.no_runs()

    def test_head_is_get(self):
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
        try:
            c.request("HEAD", "/healthz")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.read(), b"")
        finally:
            c.close()

    def test_refused_methods_501(self):
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
            for path in ("/api/v1/tasks/ok", "/api/v1/tasks/ok/runs"):
                r = self.d.http(method, path, body=b"{}")
                self.assertEqual(r.status, 501, (method, path, r))
        self.no_runs()
        self.assertTrue(self.d.serves())

    def test_path_tricks(self):
        tricks = [
            "/api/v1/tasks/..%2f..%2f..%2fetc%2fpasswd",
            "/api/v1/tasks/..%2Foutside",
            "/api/v1/tasks/..%2Foutside.sh",
            "/api/v1/tasks/%2e%2e",
            "/api/v1/tasks/.",
            "/api/v1/tasks/%2e",
            "/api/v1/tasks/ok%2f",
            "/api/v1/tasks/%2fetc%2fpasswd",
            "/api/v1/tasks/..%5c..%5cetc%5cpasswd",
            "/api/v1/tasks/%252e%252e%252foutside",
            "/api/v1/tasks/..",
            "/api/v1/tasks/../../outside",
            "/../../../../etc/passwd",
            "/api/v1/../../../etc/passwd",
            "//etc/passwd",
            "//api/v1/tasks",
            "/api/v1//tasks",
            "/api/v1/tasks//ok",
            "/api/v1/tasks/ok/",
            "/api/v1/tasks/" + "a" * 8000,
            "/api/v1/runs/1%2f..%2f..%2fetc%2fpasswd/log",
            "/api/v1/runs/..%2f1/log",
            "/hooks/..%2foutside",
            "/tasks/..%2f..%2fetc%2fpasswd",
            "/%2e%2e/%2e%2e/etc/passwd",
        ]
        for path in tricks:
            for method in ("GET", "POST"):
                r = self.d.http(method, path)
                self.assertIn(r.status, (400, 404, 405), (method, path, r))
                self.assertNotIn(b"root:", r.body, path)
            # As a run, too.
            r = self.post(path + "/runs", {"params": {}})
            self.assertIn(r.status, (400, 404, 405), (path, r))
        # Raw, without any client normalising the path.
        for path in (b"/../../etc/passwd", b"/api/v1/tasks/../../outside",
                     b"/api/v1/tasks/ok/../../../../etc/passwd",
                     b"/api/v1/tasks/ok\\..\\..\\outside"):
            r = self.d.raw(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                           b"Connection: close\r\n\r\n" % (path, self.d.port))
            self.assertIn(status_of(r), (400, 404), r[:300])
            self.assertNotIn(b"root:", r)
        self.no_runs()
        self.assertFalse(os.path.exists(os.path.join(self.scratch,
                                                     "outside-ran")))
        self.assertTrue(self.d.serves())

    def test_nul_in_path(self):
        for path in ("/api/v1/tasks/ok%00", "/api/v1/tasks/ok%00junk",
                     "/api/v1/tasks/ok%00/../../etc/passwd"):
            r = self.get(path)
            self.assertIn(r.status, (400, 404), (path, r))
        r = self.post("/api/v1/tasks/ok%00junk/runs", {"params": {}})
        self.assertIn(r.status, (400, 404), r)
        self.no_runs()


class HostHeader(HttpTest):
    TASKS = {"ok.sh": OK_TASK}

    def test_foreign_host_421(self):
        port = self.d.port
        for host in ("evil.example", "evil.example:%d" % port,
                     "127.0.0.1.nip.io:%d" % port,
                     "localhost.evil.example:%d" % port,
                     "evil.example:%d@127.0.0.1" % port, "",
                     "127.0.0.2:%d" % port, "%d" % port):
            for method, path in (("GET", "/api/v1/tasks"),
                                 ("GET", "/healthz"), ("GET", "/metrics"),
                                 ("POST", "/api/v1/tasks/ok/runs"),
                                 ("POST", "/hooks/ok")):
                r = self.d.http(method, path, host=host)
                self.assertEqual(r.status, 421, (host, method, path, r))
        self.no_runs()

    def test_browser_gets_a_page_saying_what_to_set(self):
        """A browser (Accept: text/html) refused before any route gets a
        short HTML page naming the host and allowed-hosts; the API, a
        webhook and other clients still get JSON."""
        html_accept = {"Accept": "text/html,application/xhtml+xml"}
        r = self.d.http("GET", "/", host="ops.example.com<b>",
                        headers=html_accept)
        self.assertEqual(r.status, 421)
        self.assertTrue(r.headers.get("Content-Type").startswith(
            "text/html"), r.headers)
        self.assertIn("<h1>Not known by this name</h1>", r.body.decode())
        self.assertIn("the name &#39;ops.example.com&lt;b&gt;&#39;: if that "
                      "is how people reach it, add it to allowed-hosts",
                      r.body.decode())
        for path in ("/api/v1/tasks", "/hooks/ok"):
            r = self.d.http("GET", path, host="ops.example.com",
                            headers=html_accept)
            self.assertEqual(r.status, 421)
            self.assertEqual(r.headers.get("Content-Type"),
                             "application/json", path)
        r = self.d.http("GET", "/", host="ops.example.com")
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        self.assertIn("allowed-hosts", r.json()["error"]["message"])
        # No such page: the same for a browser.
        r = self.d.http("GET", "/nowhere", headers=html_accept)
        self.assertEqual(r.status, 404)
        self.assertIn("<h1>Not found</h1>", r.body.decode())

    def test_own_names_accepted(self):
        port = self.d.port
        for host in ("127.0.0.1:%d" % port, "127.0.0.1", "localhost",
                     "localhost:%d" % port, "LocalHost:%d" % port):
            r = self.get("/api/v1/tasks", host=host)
            self.assertEqual(r.status, 200, (host, r))
        run = self.api("POST", "/api/v1/tasks/ok/runs", 201,
                       host="localhost:%d" % port)["run"]
        self.assertEqual(self.d.wait_status(run["id"], "succeeded")["task"],
                         "ok")


class AllowedHosts(HttpTest):
    CONFIG = "kill-grace 2s\nallowed-hosts ml.example.org 10.1.2.3\n" \
        "allowed-hosts ops.example.org\n"
    TASKS = {"ok.sh": OK_TASK}

    def test_allowed_hosts(self):
        port = self.d.port
        for host in ("ml.example.org:%d" % port, "ml.example.org",
                     "ML.Example.ORG:%d" % port, "10.1.2.3:%d" % port,
                     "ops.example.org", "localhost:%d" % port,
                     "127.0.0.1:%d" % port):
            self.assertEqual(self.get("/api/v1/tasks", host=host).status,
                             200, host)
        for host in ("example.org", "evil.ml.example.org",
                     "ml.example.org.evil.example", "10.1.2.4"):
            self.assertEqual(self.get("/api/v1/tasks", host=host).status,
                             421, host)
        # A post from the page of that name is same-origin.
        host = "ml.example.org:%d" % port
        self.api("POST", "/api/v1/tasks/ok/runs", 201, host=host,
                 headers={"Origin": "http://" + host})
        # Behind a TLS proxy that rewrites Host to the backend's address,
        # the browser's Origin still names the public host: allowed.
        for origin in ("https://ops.example.org", "https://ml.example.org:8443"):
            self.api("POST", "/api/v1/tasks/ok/runs", 201,
                     headers={"Origin": origin})
        for origin in ("https://evil.example", "https://ops.example.org.evil",
                       "ftp://ops.example.org", "https://example.org"):
            self.api_error("POST", "/api/v1/tasks/ok/runs", 403,
                           "bad-request", {"params": {}},
                           headers={"Origin": origin})


# 4. Security ---------------------------------------------------------

class Auth(HttpTest):
    """A users-file: Basic auth everywhere but /healthz and /hooks/."""

    START = False
    TASKS = {
        "params.sh": PARAM_TASK,
        "gated.sh": GATED_TASK,
        "hook.sh": "#!/bin/sh\n# A webhook.\n# @webhook\necho hooked\n",
    }

    def setUp(self):
        super().setUp()
        self.users = os.path.join(self.d.dir, "users")
        with open(self.users, "w") as f:
            f.write("# the team\nalice:%s\n\nbob:%s\n" % (
                crypt_hash("alice's pw"), crypt_hash("b0b")))
        with open(self.d.config, "a") as f:
            f.write("users-file %s\n" % self.users)
        self.d.start()

    ALICE = ("alice", "alice's pw")
    BOB = ("bob", "b0b")

    def test_every_route_needs_auth(self):
        run_id = self.d.run("params")["id"]
        routes = [("GET", "/api/v1/tasks"), ("GET", "/api/v1/tasks/params"),
                  ("GET", "/api/v1/runs"), ("GET", "/api/v1/runs/%d" % run_id),
                  ("GET", "/api/v1/runs/%d/log" % run_id),
                  ("GET", "/metrics"),
                  ("POST", "/api/v1/tasks/params/runs"),
                  ("POST", "/api/v1/runs/%d/cancel" % run_id),
                  ("GET", "/"), ("GET", "/tasks/params"),
                  ("GET", "/runs/%d" % run_id),
                  ("POST", "/tasks/params/run"),
                  ("POST", "/runs/%d/cancel" % run_id)]
        wrong = [{}, {"Authorization": basic("alice", "wrong")},
                 {"Authorization": basic("alice", "b0b")},
                 {"Authorization": basic("carol", "b0b")},
                 {"Authorization": basic("alice", "")},
                 {"Authorization": basic("", "")},
                 {"Authorization": "Basic"},
                 {"Authorization": "Basic !!!notbase64"},
                 {"Authorization": "Basic " + base64.b64encode(
                     b"alice").decode()},
                 {"Authorization": "Basic " + base64.b64encode(
                     b"alice:alice's pw\x00x").decode()},
                 {"Authorization": "Bearer alice's pw"},
                 {"Authorization": "Digest username=alice"}]
        for method, path in routes:
            for headers in wrong:
                r = self.d.http(method, path, headers=headers)
                self.assertEqual(r.status, 401, (method, path, headers, r))
                self.assertIn('Basic realm="microlight"',
                              r.headers.get("WWW-Authenticate", ""))
        self.assertEqual(len(self.runs_all()), 1, "a refused post ran")
        for method, path in routes[:6]:
            for who in (self.ALICE, self.BOB):
                r = self.d.http(method, path, auth=who)
                self.assertEqual(r.status, 200, (method, path, who, r))
        self.api("POST", "/api/v1/tasks/params/runs", 201, auth=self.ALICE)
        for method, path in routes[8:11]:
            r = self.d.http(method, path, auth=self.ALICE)
            self.assertNotIn(r.status, (401, 403), (path, r))
        # Not /healthz, nor a webhook (its secret is its auth).
        self.assertEqual(self.get("/healthz").status, 200)
        secret = self.d.ctl_json("webhook", "hook")[0]["secret"]
        r = self.post("/hooks/hook",
                      headers={"Authorization": "Bearer " + secret})
        self.assertEqual(r.status, 202, r)

    def test_user_is_triggered_by(self):
        run = self.api("POST", "/api/v1/tasks/params/runs", 201,
                       {"params": {"note": "hi"}}, auth=self.BOB)["run"]
        self.assertEqual(run["triggered_by"], "bob")
        self.assertEqual(run["trigger"], "api")
        done = self.d.wait_status(run["id"], "succeeded")
        self.assertEqual(done["triggered_by"], "bob")
        self.assertIn(b"by=bob\n", self.d.logs(run["id"]))
        out = self.d.ctl("status", run["id"], check=0).stdout.decode()
        self.assertRegex(out, r"(?m)^triggered.by:?\s+bob$")
        # A cancel names its user too.
        gated = self.api("POST", "/api/v1/tasks/gated/runs", 201,
                         auth=self.ALICE)["run"]
        self.assertEqual(gated["triggered_by"], "alice")
        self.api("POST", "/api/v1/runs/%d/cancel" % gated["id"], 202,
                 auth=self.BOB)
        done = self.d.wait_status(gated["id"], "cancelled")
        self.assertEqual(done["reason"], "cancelled by bob")

    def test_reload_forgets_passwords(self):
        self.assertEqual(self.get("/api/v1/tasks", auth=self.ALICE).status,
                         200)
        with open(self.users, "w") as f:
            f.write("alice:%s\n" % crypt_hash("new pw"))
        self.d.ctl("reload", check=0)
        self.assertEqual(self.get("/api/v1/tasks", auth=self.ALICE).status,
                         401)
        self.assertEqual(self.get("/api/v1/tasks", auth=self.BOB).status,
                         401)
        self.assertEqual(self.get("/api/v1/tasks",
                                  auth=("alice", "new pw")).status, 200)


class BadUsersFile(HttpTest):
    START = False

    def test_refused(self):
        users = os.path.join(self.d.dir, "users")
        with open(self.d.config, "a") as f:
            f.write("users-file %s\n" % users)
        self.assertIn(users, self.start_fails())        # missing
        with open(users, "w") as f:
            f.write("alice:%s\nbob plaintext\n" % crypt_hash("x"))
        self.assertIn("%s:2:" % users, self.start_fails())
        with open(users, "w") as f:
            f.write("# nobody\n")
        self.assertIn("no users", self.start_fails())
        self.assertFalse(self.d.serves())


class CrossSite(HttpTest):
    TASKS = {"ok.sh": OK_TASK, "gated.sh": GATED_TASK}

    def test_cross_site_posts_refused(self):
        gated = self.d.run("gated", wait=False)
        self.d.wait_status(gated, "running")
        for headers in ({"Origin": "http://evil.example"},
                        {"Origin": "http://evil.example:%d" % self.d.port},
                        {"Origin": "null"},
                        {"Origin": "http://127.0.0.1:%d.evil.example"
                         % self.d.port},
                        {"Origin": "http://localhost:%d" % (self.d.port + 1)},
                        {"Sec-Fetch-Site": "cross-site"},
                        {"Sec-Fetch-Site": "same-site"},
                        {"Sec-Fetch-Site": "cross-site",
                         "Origin": "http://127.0.0.1:%d" % self.d.port}):
            self.api_error("POST", "/api/v1/tasks/ok/runs", 403,
                           "bad-request", {"params": {}}, headers=headers)
            self.api_error("POST", "/api/v1/runs/%d/cancel" % gated, 403,
                           "bad-request", headers=headers)
        self.assertEqual([r["id"] for r in self.runs_all()], [gated])
        self.assertEqual(self.d.status(gated)["status"], "running")
        # Same origin, and no browser at all: fine. A browser's own form
        # post may carry an opaque "Origin: null" (a no-referrer policy
        # does that); Sec-Fetch-Site then says where it came from.
        for headers in ({"Origin": "http://127.0.0.1:%d" % self.d.port},
                        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
                        {"Sec-Fetch-Site": "same-origin"},
                        {"Sec-Fetch-Site": "none"}, {}):
            self.api("POST", "/api/v1/tasks/ok/runs", 201, {"params": {}},
                     headers=headers)
        self.go(gated, 1)
        self.go(gated, 2)

    def test_same_origin_behind_tls_proxy(self):
        host = "127.0.0.1:%d" % self.d.port
        self.api("POST", "/api/v1/tasks/ok/runs", 201, {"params": {}},
                 headers={"Origin": "https://" + host,
                          "Sec-Fetch-Site": "same-origin"})

    def test_json_bodies_only(self):
        for ctype, body in (("text/plain", b'{"params":{}}'),
                            ("application/x-www-form-urlencoded",
                             b"params=%7B%7D"),
                            ("multipart/form-data; boundary=x",
                             b"--x\r\n\r\n{}\r\n--x--\r\n"),
                            (None, b'{"params":{}}')):
            headers = {"Content-Type": ctype} if ctype else {}
            self.api_error("POST", "/api/v1/tasks/ok/runs", 415,
                           "bad-request", body, headers=headers)
        self.no_runs()
        self.api("POST", "/api/v1/tasks/ok/runs", 201, b'{"params":{}}',
                 headers={"Content-Type": "application/json; charset=utf-8"})
        self.api("POST", "/api/v1/tasks/ok/runs", 201)     # no body at all

    def test_security_headers(self):
        run_id = self.d.run("ok")["id"]
        replies = [self.get("/api/v1/tasks"), self.get("/api/v1/runs"),
                   self.get("/api/v1/runs/%d" % run_id),
                   self.get("/api/v1/runs/%d/log" % run_id),
                   self.get("/api/v1/runs/%d/log" % run_id,
                            headers={"Accept": "text/event-stream"}),
                   self.post("/api/v1/tasks/ok/runs"),
                   self.get("/api/v1/tasks/nosuch"),
                   self.post("/api/v1/tasks/ok/runs", b"x",
                             headers={"Content-Type": "text/plain"}),
                   self.post("/api/v1/tasks/ok/runs", {"x": 1}),
                   self.post("/api/v1/tasks/ok/runs",
                             headers={"Origin": "http://evil.example"}),
                   self.post("/api/v1/tasks"),
                   self.get("/api/v1/tasks", host="evil.example"),
                   self.get("/healthz"), self.get("/metrics")]
        for r in replies:
            self.assertEqual(r.headers.get("X-Content-Type-Options"),
                             "nosniff", r)
            self.assertEqual(r.headers.get("Referrer-Policy"),
                             "same-origin", r)
            self.assertEqual(r.headers.get("Cache-Control"), "no-store", r)
            self.assertEqual(r.headers.get("X-Frame-Options"), "DENY", r)


# 5. The JSON API -----------------------------------------------------

BYTES_TASK = script("""\
    #!@PYTHON@
    # Writes bytes that are not UTF-8, NULs, and both streams.
    @PY_GATE@
    put(1, b"out \\x00 one \\xff\\xfe \\xc3\\x28\\n")
    put(2, b"err \\x80\\x00\\n")
    put(1, bytes(range(256)))
    put(2, b"\\xed\\xa0\\x80 surrogate\\n")
    put(1, b"\\n" + b"\\x00" * 1000 + b"end\\n")
    """)


class Api(HttpTest):
    CONFIG = "kill-grace 2s\nmax-running 8\n"
    TASKS = {
        "ok.sh": OK_TASK,
        "bad.sh": FAIL_TASK,
        "params.sh": PARAM_TASK,
        "gated.sh": GATED_TASK,
        "bytes.py": BYTES_TASK,
        "invalid.sh": "#!/bin/sh\n# Broken.\n# @bogus directive\necho no\n",
        "queue.sh": script("""\
            #!/bin/sh
            # One at a time; waits at gate 1.
            # @concurrency 1
            @SH_GATE@
            echo "start $MICROLIGHT_RUN_ID"
            gate 1
            echo "end $MICROLIGHT_RUN_ID"
            """),
    }

    def socket_reply(self, obj):
        reply = self.d.request(obj)
        self.assertTrue(reply["ok"], reply)
        return reply

    def test_same_objects_as_socket(self):
        for task in ("ok", "bad", "params"):
            self.d.run(task)
        self.d.run("ok")
        self.assertEqual(self.api("GET", "/api/v1/tasks", 200),
                         self.d.ctl_json("list")[0])
        for task in ("ok", "bad", "params", "invalid"):
            self.assertEqual(self.api("GET", "/api/v1/tasks/" + task, 200),
                             self.d.ctl_json("show", task)[0])
        self.assertEqual(self.api("GET", "/api/v1/runs", 200),
                         self.d.ctl_json("runs")[0])
        self.assertEqual(self.api("GET", "/api/v1/runs?task=ok", 200),
                         self.d.ctl_json("runs", "ok")[0])
        for run_id in (1, 2, 3, 4):
            self.assertEqual(self.api("GET", "/api/v1/runs/%d" % run_id,
                                      200),
                             self.d.ctl_json("status", run_id)[0])
        invalid = self.api("GET", "/api/v1/tasks/invalid", 200)["task"]
        self.assertIs(invalid["valid"], False)

    def test_run_201(self):
        r = self.post("/api/v1/tasks/params/runs",
                      {"params": {"count": 3, "mode": "hard",
                                  "note": "a b\u00e9"}})
        self.assertEqual(r.status, 201, r)
        run = r.json()["run"]
        self.assertIs(r.json()["ok"], True)
        self.assertEqual(r.headers.get("Location"),
                         "/api/v1/runs/%d" % run["id"])
        self.assertEqual(run["trigger"], "api")
        self.assertEqual(run["triggered_by"], "127.0.0.1")
        self.assertEqual(run["params"], {"count": "3", "mode": "hard",
                                         "note": "a b\u00e9"})
        self.assertIn(run["status"], ("queued", "running", "succeeded"))
        self.d.wait_status(run["id"], "succeeded")
        got = self.api("GET", r.headers.get("Location"), 200)
        self.assertEqual(got, self.d.ctl_json("status", run["id"])[0])
        self.assertEqual(self.d.logs(run["id"]),
                         "count=3 mode=hard note=a b\u00e9 by=127.0.0.1\n"
                         "trigger=api\n".encode())
        # No body, and an empty params: the defaults.
        for body in (None, {}, {"params": {}}):
            run = self.api("POST", "/api/v1/tasks/params/runs", 201,
                           body)["run"]
            self.assertEqual(run["params"], {"count": "1", "mode": "soft",
                                             "note": ""})

    def test_bad_requests_400(self):
        cases = [
            ({"params": {"count": "x"}}, "bad-params"),
            ({"params": {"mode": "medium"}}, "bad-params"),
            ({"params": {"nosuch": "1"}}, "bad-params"),
            ({"params": {"note": "a\u0000b"}}, None),
            ({"params": {"note": "x" * 5000}}, "bad-params"),
            ({"params": {"count": [1]}}, "bad-params"),
            ({"params": {}, "wait": True}, "usage"),
            ({"task": "ok"}, "usage"),
            ({"params": []}, "usage"),
            ({"params": "count=1"}, "usage"),
        ]
        for body, code in cases:
            if code is None:
                r = self.post("/api/v1/tasks/params/runs", body)
                self.assertEqual(r.status, 400, (body, r))
                continue
            msg = self.api_error("POST", "/api/v1/tasks/params/runs", 400,
                                 code, body)
            if code == "bad-params":
                # The daemon's own message: the socket says the same.
                sock = self.d.request({"cmd": "run", "task": "params",
                                       "params": body["params"]})
                self.assertEqual(sock["error"]["code"], "bad-params", sock)
                self.assertEqual(msg, sock["error"]["message"])
        for raw in (b"{", b"[]", b'"params"', b"null", b"\xff\xfe",
                    b'{"params":{},"params":{}}'):
            self.api_error("POST", "/api/v1/tasks/params/runs", 400,
                           "bad-request", raw,
                           headers={"Content-Type": "application/json"})
        msg = self.api_error("POST", "/api/v1/tasks/params/runs", 400,
                             "bad-params", {"params": {"count": "x"}})
        self.assertIn("count", msg)
        # Every problem at once, each by its parameter.
        r = self.post("/api/v1/tasks/params/runs",
                      {"params": {"count": "x", "mode": "medium",
                                  "who": "<b>"}})
        self.assertEqual(r.status, 400, r)
        err = r.json()["error"]
        self.assertEqual(err["code"], "bad-params")
        self.assertEqual([(p["param"], p["message"].split(":")[0])
                          for p in err["problems"]],
                         [("who", "who"), ("count", "count"),
                          ("mode", "mode")])
        self.assertEqual(err["message"], "; ".join(
            p["message"] for p in err["problems"]))
        msg = self.api_error("POST", "/api/v1/tasks/params/runs", 400,
                             "usage", {"extra": 1})
        self.assertIn("extra", msg)
        self.no_runs()

    def test_404_and_409(self):
        self.api_error("GET", "/api/v1/tasks/nosuch", 404, "unknown-task")
        self.api_error("POST", "/api/v1/tasks/nosuch/runs", 404,
                       "unknown-task")
        for path in ("/api/v1/runs/999", "/api/v1/runs/999/log",
                     "/api/v1/runs/0", "/api/v1/runs/-1", "/api/v1/runs/abc",
                     "/api/v1/runs/1e3", "/api/v1/runs/99999999999999999999",
                     "/api/v1/runs/999/log?follow=1"):
            self.api_error("GET", path, 404, "unknown-run")
        self.api_error("POST", "/api/v1/runs/999/cancel", 404, "unknown-run")
        msg = self.api_error("POST", "/api/v1/tasks/invalid/runs", 409,
                             "invalid-task")
        sock = self.d.request({"cmd": "run", "task": "invalid"})
        self.assertEqual(msg, sock["error"]["message"])
        self.assertIn("bogus", msg)
        self.no_runs()

    def test_cancel(self):
        running = self.api("POST", "/api/v1/tasks/queue/runs", 201)["run"]
        self.d.wait_status(running["id"], "running")
        queued = self.api("POST", "/api/v1/tasks/queue/runs", 201)["run"]
        self.assertEqual(queued["status"], "queued")
        # A queued run ends at once: 200.
        reply = self.api("POST", "/api/v1/runs/%d/cancel" % queued["id"], 200)
        self.assertEqual(reply["run"]["status"], "cancelled")
        self.assertEqual(reply["run"]["reason"], "cancelled by 127.0.0.1")
        # A running one is told to stop: 202, then it is cancelled.
        reply = self.api("POST", "/api/v1/runs/%d/cancel" % running["id"],
                         202)
        self.assertEqual(reply["run"]["id"], running["id"])
        self.assertEqual(reply["run"]["status"], "running")
        done = self.d.wait_status(running["id"], ("cancelled", "failed",
                                                  "succeeded"))
        self.assertEqual(done["status"], "cancelled")
        self.assertEqual(done["reason"], "cancelled by 127.0.0.1")
        # An ended one: 409, with the socket's message.
        for run_id in (running["id"], queued["id"]):
            msg = self.api_error("POST", "/api/v1/runs/%d/cancel" % run_id,
                                 409, "not-active")
            sock = self.d.request({"cmd": "cancel", "run": run_id})
            self.assertEqual(msg, sock["error"]["message"])
        self.assertEqual(self.d.run("ok")["status"], "succeeded")
        self.api_error("POST", "/api/v1/runs/3/cancel", 409, "not-active")

    def test_runs_filters_and_paging(self):
        for task in ("ok", "bad", "ok", "bad", "ok", "params"):
            self.d.run(task)            # ids 1 to 6

        def ids(query):
            reply = self.api("GET", "/api/v1/runs" + query, 200)
            return [r["id"] for r in reply["runs"]]
        self.assertEqual(ids(""), [6, 5, 4, 3, 2, 1])
        self.assertEqual(ids("?task=ok"), [5, 3, 1])
        self.assertEqual(ids("?status=failed"), [4, 2])
        self.assertEqual(ids("?task=ok&status=succeeded&limit=2"), [5, 3])
        self.assertEqual(ids("?task=bad&status=succeeded"), [])
        # Runs of no task: 404 unknown-task, as for the task routes.
        self.api_error("GET", "/api/v1/runs?task=nosuch", 404,
                       "unknown-task")
        self.assertEqual(ids("?before=4"), [3, 2, 1])
        self.assertEqual(ids("?task=ok&before=5"), [3, 1])
        # Paging through everything, two at a time.
        seen, before = [], ""
        while True:
            page = ids("?limit=2" + before)
            if not page:
                break
            self.assertLessEqual(len(page), 2)
            seen += page
            before = "&before=%d" % page[-1]
        self.assertEqual(seen, [6, 5, 4, 3, 2, 1])
        # The same as the socket's runs, filter for filter.
        for query, req in (("?task=ok&limit=2", {"task": "ok", "limit": 2}),
                           ("?status=failed", {"status": "failed"}),
                           ("?before=3&limit=1", {"before": 3, "limit": 1})):
            req["cmd"] = "runs"
            self.assertEqual(self.api("GET", "/api/v1/runs" + query, 200),
                             self.socket_reply(req))
        for query in ("?limit=0", "?limit=10001", "?limit=x", "?limit=-1",
                      "?before=x", "?before=0", "?status=bogus"):
            self.api_error("GET", "/api/v1/runs" + query, 400, "usage")

    def test_log_bytes(self):
        run_id = self.d.run("bytes")["id"]
        both = self.d.logs(run_id)
        self.assertIn(b"\x00", both)
        self.assertIn(b"\xff\xfe", both)
        r = self.get("/api/v1/runs/%d/log" % run_id)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("Content-Type"),
                         "application/octet-stream")
        # The page's "Raw log" saves as TASK-RUN.log.
        self.assertEqual(r.headers.get("Content-Disposition"),
                         'attachment; filename="bytes-%d.log"' % run_id)
        self.assertEqual(r.body, both)
        for stream in ("stdout", "stderr"):
            r = self.get("/api/v1/runs/%d/log?stream=%s" % (run_id, stream))
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, self.d.logs(run_id, "--stream", stream))
        self.assertEqual(
            self.get("/api/v1/runs/%d/log?stream=stderr" % run_id).body,
            b"err \x80\x00\n\xed\xa0\x80 surrogate\n")
        # An ended run followed: the same bytes, and the end.
        self.assertEqual(
            self.get("/api/v1/runs/%d/log?follow=1" % run_id).body, both)
        for query in ("?stream=both", "?stream=", "?follow=2",
                      "?follow=yes"):
            self.api_error("GET", "/api/v1/runs/%d/log%s" % (run_id, query),
                           400, "usage")

    def read_until(self, resp, needle, buf=b""):
        """Read a streamed reply until needle is in what was read."""
        while needle not in buf:
            chunk = resp.read1(65536)
            if not chunk:
                self.fail("the stream ended before %r: %r" % (needle, buf))
            buf += chunk
        return buf

    def test_log_follow(self):
        run_id = self.d.run("gated", wait=False)
        wait_for(lambda: self.d.logs(run_id) == b"one\n", what="output")
        # Without follow: what there is now, and the reply ends.
        r = self.get("/api/v1/runs/%d/log" % run_id)
        self.assertEqual(r.body, b"one\n")
        self.assertEqual(self.d.status(run_id)["status"], "running")
        # With follow: output as it appears, until the end.
        c, resp = self.d.open_stream("/api/v1/runs/%d/log?follow=1" % run_id)
        try:
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.getheader("Content-Type"),
                             "application/octet-stream")
            buf = self.read_until(resp, b"one\n")
            self.go(run_id, 1)
            buf = self.read_until(resp, b"two\n", buf)
            stderr_c, stderr_resp = self.d.open_stream(
                "/api/v1/runs/%d/log?follow=1&stream=stderr" % run_id)
            self.go(run_id, 2)
            buf += resp.read()          # to the end of the reply
            self.assertEqual(buf, b"one\ntwo\nthree\n")
            self.assertEqual(stderr_resp.read(), b"")
            stderr_c.close()
        finally:
            c.close()
        self.assertEqual(self.d.status(run_id)["status"], "succeeded")
        self.assertEqual(self.d.logs(run_id), b"one\ntwo\nthree\n")

    def sse_events(self, resp, until="end"):
        """Server-Sent Events of a reply, up to an event of type until:
        a list of (type, id or None, data object)."""
        events, buf = [], b""
        while True:
            while b"\n\n" not in buf:
                chunk = resp.read1(65536)
                if not chunk:
                    self.fail("the stream ended: %r" % events)
                buf += chunk
            block, buf = buf.split(b"\n\n", 1)
            fields = {}
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    continue
                key, _, value = line.partition(": ")
                fields[key] = value
            if not fields:
                continue
            event = (fields.get("event"), fields.get("id"),
                     json.loads(fields["data"]))
            events.append(event)
            if event[0] == until:
                return events

    def test_log_sse(self):
        first = self.d.run("queue", wait=False)
        self.d.wait_status(first, "running")
        second = self.d.run("queue", wait=False)
        self.assertEqual(self.d.status(second)["status"], "queued")
        c, resp = self.d.open_stream("/api/v1/runs/%d/log" % second,
                                     headers={"Accept": "text/event-stream"})
        try:
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.getheader("Content-Type"),
                             "text/event-stream")
            self.go(first, 1)
            events = self.sse_events(resp, until="output")
            self.go(second, 1)
            events += self.sse_events(resp, until="end")
            self.assertEqual(resp.read(), b"", "more after the end")
        finally:
            c.close()
        types = [e[0] for e in events]
        self.assertEqual(types[0], "status", events)
        self.assertEqual(events[0][2]["run"]["status"], "running")
        self.assertEqual(types[-1], "end")
        self.assertEqual(set(types[1:-1]), {"output"}, events)
        out = b""
        for kind, ev_id, data in events[1:-1]:
            self.assertEqual(data["event"], "output")
            self.assertEqual(data["stream"], "stdout")
            self.assertEqual(ev_id, str(data["seq"]))
            self.assertRegex(data["time"],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            out += base64.b64decode(data["data"])
        self.assertEqual(out, ("start %d\nend %d\n" % (second, second))
                         .encode())
        end = events[-1][2]
        self.assertEqual(end["event"], "end")
        self.assertEqual(end["run"]["id"], second)
        self.assertEqual(end["run"]["status"], "succeeded")
        self.assertEqual(end["run"], self.d.status(second))

    def test_log_sse_bytes(self):
        """SSE of an ended run: every byte, NULs and bad UTF-8 too."""
        run_id = self.d.run("bytes")["id"]
        c, resp = self.d.open_stream("/api/v1/runs/%d/log" % run_id,
                                     headers={"Accept": "text/event-stream"})
        try:
            events = self.sse_events(resp)
        finally:
            c.close()
        out = {"stdout": b"", "stderr": b""}
        both = b""
        for kind, _, data in events[:-1]:
            self.assertEqual(kind, "output")
            chunk = base64.b64decode(data["data"])
            out[data["stream"]] += chunk
            both += chunk
        self.assertEqual(both, self.d.logs(run_id))
        self.assertEqual(out["stderr"],
                         self.d.logs(run_id, "--stream", "stderr"))
        self.assertEqual(events[-1][2]["run"]["status"], "succeeded")


# 6. /healthz and /metrics --------------------------------------------

def parse_metrics(text):
    """Prometheus text: {(name, frozenset of label items): value} and
    {family: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)',
                         line)
        if m is None:
            raise AssertionError("not a sample line: %r" % line)
        labels = dict(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"',
                                 m.group(2) or ""))
        key = (m.group(1), frozenset(labels.items()))
        if key in samples:
            raise AssertionError("sample twice: %r" % line)
        samples[key] = float(m.group(3))
    return samples, types


def epoch_ms(s):
    """An RFC 3339 UTC time with milliseconds as ms since the epoch."""
    import datetime
    t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    return round(t.timestamp() * 1000)


class Health(HttpTest):
    TASKS = {"queue.sh": Api.TASKS["queue.sh"]}

    def test_healthz(self):
        first = self.d.run("queue", wait=False)
        self.d.wait_status(first, "running")
        second = self.d.run("queue", wait=False)
        r = self.get("/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        h = r.json()
        self.assertEqual(h["status"], "ok")
        self.assertIs(h["database"], True)
        self.assertIs(h["scheduler"], True)
        self.assertEqual(h["unwritten_records"], 0)
        self.assertEqual((h["running"], h["queued"]), (1, 1))
        ping = self.socket_ping()
        self.assertEqual(h["version"], ping["version"])
        self.assertLessEqual(abs(h["uptime"] - ping["uptime"]), 2)
        self.go(first, 1)
        self.go(second, 1)
        self.d.wait_status(second, "succeeded")
        h = self.get("/healthz").json()
        self.assertEqual((h["running"], h["queued"]), (0, 0))

    def socket_ping(self):
        reply = self.d.request({"cmd": "ping"})
        self.assertTrue(reply["ok"])
        return reply


class HealthDiskFull(HttpTest):
    """/healthz fails while the database refuses writes (a full disk on
    a 2 MiB tmpfs, as in test_store.py), and recovers. Needs root."""

    START = False
    TASKS = {"gated.sh": GATED_TASK}

    def setUp(self):
        super().setUp()
        tmpfs_state(self, "2m")
        self.d.start()

    def test_failing_while_records_wait(self):
        run_id = self.d.run("gated", wait=False)
        wait_for(lambda: self.d.logs(run_id) == b"one\n", what="output")
        self.assertEqual(self.get("/healthz").status, 200)
        filler = os.path.join(self.d.state_dir, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError:
            pass        # full
        try:
            while True:
                os.write(fd, b"\0" * 512)
        except OSError:
            pass
        os.close(fd)
        self.go(run_id, 1)
        self.go(run_id, 2)

        def failing():
            r = self.get("/healthz")
            return r if r.status == 503 else None
        r = wait_for(failing, timeout=30, what="/healthz to fail")
        h = r.json()
        self.assertEqual(h["status"], "failing")
        self.assertIs(h["database"], False)
        self.assertGreaterEqual(h["unwritten_records"], 1)
        # The run ended all the same, and says so.
        self.assertEqual(self.d.status(run_id)["status"], "succeeded")
        os.unlink(filler)
        wait_for(lambda: self.get("/healthz").status == 200, timeout=30,
                 what="/healthz to recover")
        self.assertEqual(self.get("/healthz").json()["status"], "ok")


class Metrics(HttpTest):
    TASKS = {
        "ok.sh": OK_TASK,
        "bad.sh": FAIL_TASK,
        "slow.sh": "#!/bin/sh\n# Takes a while.\nsleep 0.6\n",
        "queue.sh": Api.TASKS["queue.sh"],
    }

    def metrics(self):
        r = self.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers.get("Content-Type").startswith(
            "text/plain; version=0.0.4"), r.headers)
        return parse_metrics(r.body.decode())

    def test_metrics(self):
        for task in ("ok", "bad", "ok", "slow", "bad", "ok"):
            self.d.run(task)
        running = self.d.run("queue", wait=False)
        self.d.wait_status(running, "running")
        queued = self.d.run("queue", wait=False)
        cancelled = self.d.run("queue", wait=False)
        self.d.ctl("cancel", cancelled, check=0)
        samples, types = self.metrics()

        def value(name, **labels):
            key = (name, frozenset(labels.items()))
            self.assertIn(key, samples, (name, labels))
            return samples[key]
        self.assertEqual(types["microlight_runs_total"], "counter")
        self.assertEqual(types["microlight_run_duration_seconds"],
                         "histogram")
        self.assertEqual(types["microlight_runs_running"], "gauge")
        self.assertEqual(types["microlight_runs_queued"], "gauge")
        self.assertEqual(types["microlight_task_last_success_timestamp_seconds"],
                         "gauge")
        self.assertEqual(value("microlight_runs_total", task="ok",
                               status="succeeded"), 3)
        self.assertEqual(value("microlight_runs_total", task="bad",
                               status="failed"), 2)
        self.assertEqual(value("microlight_runs_total", task="slow",
                               status="succeeded"), 1)
        self.assertEqual(value("microlight_runs_total", task="queue",
                               status="cancelled"), 1)
        totals = {k: v for k, v in samples.items()
                  if k[0] == "microlight_runs_total"}
        self.assertEqual(len(totals), 4, totals)
        self.assertEqual(value("microlight_runs_running"), 1)
        self.assertEqual(value("microlight_runs_queued"), 1)
        self.assertEqual(value("microlight_tasks", valid="true"), 4)
        self.assertEqual(value("microlight_tasks", valid="false"), 0)
        self.assertGreaterEqual(value("microlight_http_requests_total"), 1)
        # Durations: a histogram per task, from the runs' own times.
        runs = self.d.request({"cmd": "runs", "limit": 100})["runs"]
        bounds = ["0.1", "0.5", "1", "5", "10", "30", "60", "300", "1800",
                  "3600", "+Inf"]
        for task in ("ok", "bad", "slow"):
            secs = [(epoch_ms(r["finished_at"]) - epoch_ms(r["started_at"]))
                    / 1000.0 for r in runs if r["task"] == task]
            counts = [value("microlight_run_duration_seconds_bucket",
                            task=task, le=le) for le in bounds]
            self.assertEqual(counts, sorted(counts), "not cumulative")
            for le, count in zip(bounds, counts):
                limit = float("inf") if le == "+Inf" else float(le)
                self.assertEqual(count, len([s for s in secs if s <= limit]),
                                 (task, le, secs))
            self.assertEqual(value("microlight_run_duration_seconds_count",
                                   task=task), len(secs))
            self.assertEqual(counts[-1], len(secs))
            self.assertAlmostEqual(
                value("microlight_run_duration_seconds_sum", task=task),
                sum(secs), delta=0.002 * len(secs))
        slow = [r for r in runs if r["task"] == "slow"][0]
        self.assertEqual(value("microlight_run_duration_seconds_bucket",
                               task="slow", le="0.5"), 0)
        # The cancelled queued run never ran: no duration.
        self.assertNotIn(("microlight_run_duration_seconds_count",
                          frozenset({"task": "queue"}.items())), samples)
        # The last success of each task, to the millisecond.
        last_ok = max(epoch_ms(r["finished_at"]) for r in runs
                      if r["task"] == "ok")
        self.assertEqual(round(value(
            "microlight_task_last_success_timestamp_seconds", task="ok") * 1000),
            last_ok)
        self.assertEqual(round(value(
            "microlight_task_last_success_timestamp_seconds", task="slow")
            * 1000), epoch_ms(slow["finished_at"]))
        self.assertNotIn(("microlight_task_last_success_timestamp_seconds",
                          frozenset({"task": "bad"}.items())), samples)
        # The queue moves on: the gauges follow.
        self.go(running, 1)
        self.d.wait_status(queued, "running")
        self.go(queued, 1)
        self.d.wait_status(queued, "succeeded")
        samples, _ = self.metrics()
        self.assertEqual(value("microlight_runs_running"), 0)
        self.assertEqual(value("microlight_runs_queued"), 0)
        self.assertEqual(value("microlight_runs_total", task="queue",
                               status="succeeded"), 2)
        self.assertEqual(value("microlight_run_duration_seconds_count",
                               task="queue"), 2)
        # After a restart the counters start again, the last successes
        # come from the database.
        self.d.stop()
        self.d.start()
        samples, _ = self.metrics()
        self.assertFalse([k for k in samples
                          if k[0] == "microlight_runs_total"])
        self.assertEqual(round(value(
            "microlight_task_last_success_timestamp_seconds", task="ok") * 1000),
            last_ok)


if __name__ == "__main__":
    main()
