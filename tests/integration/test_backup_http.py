#!/usr/bin/env python3
"""GET /api/v1/backup (issue 15, point 4): a consistent copy of the
database over HTTP while the daemon runs, as application/vnd.sqlite3 with
a dated attachment name; streamed a chunk at a time as the client reads
(the daemon's memory does not grow with the database, other requests are
answered meanwhile); a client that goes away leaves nothing behind; at
most two backups at once; a copy that cannot be made (a full disk) is a
JSON error, and the daemon carries on."""

import re

from harness import *
from test_http import HttpTest

MiB = 1 << 20

RUN_COLUMNS = "id, task, status, trigger, triggered_by, params, attempt, " \
    "retry_of, queued_at, started_at, finished_at, exit_code, signal, " \
    "reason, output_size, output_dropped"
OUTPUT_SQL = "SELECT run_id, seq, stream, data FROM output " \
    "ORDER BY run_id, seq"

# 4 MB of output that does not compress, in many chunks: four runs make
# the database far larger than what the kernel's socket buffers hold.
BIG_TASK = "#!/bin/sh\nhead -c 4000000 /dev/urandom\n"


def rows(conn, sql, *args):
    return [tuple(r) for r in conn.execute(sql, args)]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


class SlowClient:
    """A GET /api/v1/backup on a raw socket with a small receive buffer,
    read only when the test says so."""

    def __init__(self, port, method="GET"):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        self.s.settimeout(60)
        self.s.connect(("127.0.0.1", port))
        self.s.sendall(b"%s /api/v1/backup HTTP/1.1\r\nHost: "
                       b"127.0.0.1:%d\r\n\r\n" % (method.encode(), port))
        self.head = None
        self.body = bytearray()

    def read_head(self):
        """The status line and headers: (status, {name: value})."""
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise EOFError("closed after %r" % bytes(buf))
            buf += chunk
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.head = (status, headers)
        self.body += rest
        return self.head

    def length(self):
        return int(self.head[1]["content-length"])

    def read(self, n):
        """Read about n more bytes of the body (less at its end)."""
        want = len(self.body) + n
        while len(self.body) < min(want, self.length()):
            chunk = self.s.recv(min(65536, want - len(self.body)))
            if not chunk:
                raise EOFError("closed after %d of %d bytes"
                               % (len(self.body), self.length()))
            self.body += chunk

    def read_all(self):
        self.read(self.length() - len(self.body))
        return bytes(self.body)

    def close(self):
        self.s.close()


class BackupHttpTest(HttpTest):
    CONFIG = "kill-grace 2s\n"

    def backup(self):
        """A whole download: the Reply."""
        r = self.get("/api/v1/backup", timeout=120)
        self.assertEqual(r.status, 200, r)
        return r

    def save(self, body):
        """The copy in a new file of the scratch directory: its path."""
        fd, path = tempfile.mkstemp(prefix="copy-", suffix=".db",
                                    dir=self.scratch)
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        return path

    def open_copy(self, path):
        conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True,
                               timeout=10)
        conn.row_factory = sqlite3.Row
        self.addCleanup(conn.close)
        return conn

    def check_copy(self, body):
        """The copy stands alone (no WAL) and passes integrity_check; an
        open connection to it."""
        self.assertEqual(body[:16], b"SQLite format 3\0")
        self.assertEqual(body[18:20], b"\x01\x01",
                         "the copy is in WAL mode: it needs its -wal")
        copy = self.open_copy(self.save(body))
        self.assertEqual(rows(copy, "PRAGMA integrity_check"), [("ok",)])
        self.assertEqual(rows(copy, "PRAGMA foreign_key_check"), [])
        return copy

    def leftovers(self):
        """What is left of backups: files in the state directory, and
        descriptors of the daemon open on a copy (removed or not)."""
        left = [f for f in os.listdir(self.d.state_dir)
                if f.startswith("backup")]
        fd_dir = "/proc/%d/fd" % self.d.proc.pid
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue        # closed meanwhile
            if os.path.basename(target).startswith("backup-"):
                left.append(target)
        return left

    def wait_nothing_left(self):
        wait_for(lambda: not self.leftovers(), timeout=20,
                 what="the daemon to drop its copy")

    def serves(self):
        """The daemon answers over HTTP and over its control socket."""
        r = self.get("/healthz", timeout=10)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(self.d.request({"cmd": "ping"})["ok"])


class Copy(BackupHttpTest):
    TASKS = {
        "hello.sh": "#!/bin/sh\necho hello $MICROLIGHT_RUN_ID\n",
        "fail.sh": "#!/bin/sh\necho oops >&2\nexit 3\n",
        "bin.py": "#!@PYTHON@\nimport os\nos.write(1, bytes(range(256)) * 4)"
                  "\nos.write(2, b'\\xff\\x00err')\n",
    }

    def test_copy_has_the_runs(self):
        d = self.d
        for task, rc in (("hello", 0), ("fail", 3), ("bin", 0),
                         ("hello", 0), ("fail", 3)):
            d.run(task, check=rc)
        r = self.backup()
        self.assertEqual(r.headers.get("Content-Type"),
                         "application/vnd.sqlite3")
        self.assertRegex(r.headers.get("Content-Disposition"),
                         r'^attachment; filename="microlight-'
                         r'\d{8}T\d{6}Z\.db"$')
        self.assertEqual(int(r.headers.get("Content-Length")), len(r.body))
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")
        copy = self.check_copy(r.body)
        live = d.db()
        self.addCleanup(live.close)
        sql = "SELECT %s FROM runs ORDER BY id" % RUN_COLUMNS
        live_runs = rows(live, sql)
        self.assertEqual([x[2] for x in live_runs],
                         ["succeeded", "failed", "succeeded", "succeeded",
                          "failed"])
        self.assertEqual(rows(copy, sql), live_runs)
        self.assertEqual(rows(copy, OUTPUT_SQL), rows(live, OUTPUT_SQL))
        self.assertEqual(rows(copy, "PRAGMA user_version"),
                         rows(live, "PRAGMA user_version"))
        self.wait_nothing_left()
        self.assertIn("bytes sent", d.log_text())

    def test_copy_serves_a_new_daemon(self):
        d = self.d
        first = d.run("hello")["id"]
        body = self.backup().body
        d.stop()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(d.db_path + suffix):
                os.unlink(d.db_path + suffix)
        with open(d.db_path, "wb") as f:
            f.write(body)
        os.chmod(d.db_path, 0o600)
        d.start()
        self.assertEqual(d.status(first)["status"], "succeeded")
        self.assertEqual(d.logs(first), b"hello %d\n" % first)

    def test_head_makes_no_copy(self):
        r = self.d.http("HEAD", "/api/v1/backup")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.headers.get("Content-Type"),
                         "application/vnd.sqlite3")
        self.assertNotIn("backup for", self.d.log_text())

    def test_other_methods(self):
        r = self.post("/api/v1/backup", body={})
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.headers.get("Allow"), "GET")
        self.assertEqual(self.leftovers(), [])


class DuringRuns(BackupHttpTest):
    """A run writes steadily while the copy is made and sent: the copy is
    one consistent moment of the database."""

    CONFIG = "kill-grace 2s\nmax-log-size 64M\n"
    TASKS = {
        "big.sh": BIG_TASK,
        "steady.py": """\
            #!@PYTHON@
            # Writes a line every 5 ms until gate 1 opens.
            @PY_GATE@
            path = "@SCRATCH@/go-%s-1" % os.environ["MICROLIGHT_RUN_ID"]
            for i in range(12000):
                put(1, b"steady line %d\\n" % i)
                if os.path.exists(path):
                    break
                time.sleep(0.005)
            """,
    }

    def test_backup_while_a_run_writes(self):
        d = self.d
        ended = [d.run("big")["id"] for _ in range(2)]
        steady = d.run("steady", wait=False)
        d.wait_status(steady, "running")
        wait_for(lambda: d.status(steady)["output_size"] > 1000,
                 what="the steady run's output")
        # Read slowly, so that the run goes on writing while it is sent.
        c = SlowClient(d.port)
        self.addCleanup(c.close)
        self.assertEqual(c.read_head()[0], 200)
        size_then = d.status(steady)["output_size"]
        while len(c.body) < c.length():
            c.read(MiB)
        wait_for(lambda: d.status(steady)["output_size"] > size_then,
                 what="the steady run to write on")
        self.assertEqual(d.status(steady)["status"], "running")
        copy = self.check_copy(bytes(c.body))
        live = d.db()
        self.addCleanup(live.close)
        sql = "SELECT %s FROM runs WHERE id = ?" % RUN_COLUMNS
        out_sql = "SELECT seq, stream, data FROM output WHERE run_id = ? " \
            "ORDER BY seq"
        for run_id in ended:
            self.assertEqual(rows(copy, sql, run_id), rows(live, sql, run_id))
            self.assertEqual(rows(copy, out_sql, run_id),
                             rows(live, out_sql, run_id))
        # The steady run, running, with a prefix of its output (every
        # chunk whole), and its output_size no more than that.
        self.assertEqual(rows(copy, "SELECT status FROM runs WHERE id = ?",
                              steady), [("running",)])
        copied = rows(copy, out_sql, steady)
        self.assertTrue(copied, "no output of the steady run copied")
        self.assertEqual(copied, rows(live, out_sql, steady)[:len(copied)])
        self.go(steady)
        d.wait_status(steady, "succeeded")
        self.wait_nothing_left()


def db_size(d):
    """The size of the daemon's database (its file with its WAL's pages),
    as a copy has it."""
    with d.db() as live:
        size = rows(live, "PRAGMA page_count")[0][0] * \
            rows(live, "PRAGMA page_size")[0][0]
    live.close()
    return size


def socket_buffer_max():
    """The most a TCP socket's send buffer grows to (4 MiB by default)."""
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            return int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 * MiB


class BigTest(BackupHttpTest):
    """A database of 16 MB or more: four times what the daemon's socket
    buffer may hold, so that a client that reads slowly holds the backup
    up."""

    TASKS = {"big.sh": BIG_TASK}

    def setUp(self):
        super().setUp()
        want = max(15 * MiB, 4 * socket_buffer_max())
        for _ in range(64):
            self.d.run("big", check=0)
            self.db_size = db_size(self.d)
            if self.db_size > want:
                break
        self.assertGreater(self.db_size, want)

    def slow_client(self):
        c = SlowClient(self.d.port)
        self.addCleanup(c.close)
        status, headers = c.read_head()
        self.assertEqual(status, 200)
        self.assertGreaterEqual(c.length(), self.db_size)
        return c

    def ended(self):
        return self.d.log_text().count("bytes sent")


class Big(BigTest):
    def test_daemon_serves_while_a_slow_client_downloads(self):
        d = self.d
        pid = d.proc.pid
        rss0 = rss_kib(pid)
        c = self.slow_client()
        c.read(256 * 1024)
        # Other clients are answered while the backup has not ended (the
        # client has read a small part, and the daemon has not sent the
        # rest: it cannot, it waits for the client to read).
        r = self.get("/healthz")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(d.request({"cmd": "ping"})["ok"])
        runs = self.get("/api/v1/runs")
        self.assertEqual(runs.status, 200, runs)
        self.assertEqual(self.ended(), 0, "the backup ended already")
        self.assertLess(len(c.body), c.length())
        # Read the rest slowly, watching the daemon's memory.
        peak = rss_kib(pid)
        while len(c.body) < c.length():
            c.read(MiB)
            peak = max(peak, rss_kib(pid))
        grown = (peak - rss0) * 1024
        if not sanitized():
            # The copy is read from its file a chunk at a time: memory
            # grows by SQLite's page cache for the copy at most, not by
            # the size of the database.
            self.assertLess(grown, 4 * MiB, "RSS grew by %d bytes for a "
                            "database of %d" % (grown, self.db_size))
        self.check_copy(bytes(c.body))
        wait_for(lambda: self.ended() == 1, what="the backup's end")
        self.wait_nothing_left()

    def test_client_gone_mid_way(self):
        c = self.slow_client()
        c.read(MiB)
        self.assertEqual(self.leftovers()[0].endswith(" (deleted)"), True,
                         "the copy's name is still there while it is sent")
        c.close()
        wait_for(lambda: "the client went away" in self.d.log_text(),
                 what="the daemon to see the client go")
        self.wait_nothing_left()
        self.serves()
        # And the next backup is whole.
        self.check_copy(self.backup().body)
        self.wait_nothing_left()

    def test_client_gone_before_the_reply(self):
        s = socket.create_connection(("127.0.0.1", self.d.port))
        s.sendall(b"GET /api/v1/backup HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  b"\r\n" % self.d.port)
        s.close()
        wait_for(lambda: "the client went away" in self.d.log_text(),
                 what="the daemon to see the client go")
        self.wait_nothing_left()
        self.serves()

    def test_third_backup_refused(self):
        a, b = self.slow_client(), self.slow_client()
        # Both hold a backup; the third gets 503, over either socket.
        r = self.get("/api/v1/backup")
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        self.assertEqual(r.headers.get("Retry-After"), "5")
        err = r.json()
        self.assertIs(err["ok"], False)
        self.assertEqual(err["error"]["code"], "busy")
        self.assertIn("2 backups", err["error"]["message"])
        dest = os.path.join(self.scratch, "ctl.db")
        p = self.d.ctl("backup", dest, check=EX_UNAVAILABLE)
        self.assertIn(b"2 backups", p.stderr)
        self.assertFalse(os.path.exists(dest))
        self.serves()
        # The two go on to the end; then one more may start.
        self.check_copy(a.read_all())
        a.close()
        b.close()
        self.wait_nothing_left()
        self.check_copy(self.backup().body)

    def test_daemon_stops_mid_way(self):
        c = self.slow_client()
        c.read(MiB)
        self.d.stop()   # exit status 0, no sanitizer report
        self.assertEqual([f for f in os.listdir(self.d.state_dir)
                          if f.startswith("backup")], [])
        # The client sees the copy cut short (its length says so).
        got = len(c.body)
        try:
            while True:
                chunk = c.s.recv(65536)
                if not chunk:
                    break
                got += len(chunk)
        except ConnectionResetError:
            pass
        self.assertLess(got, c.length())

    def test_daemon_killed_mid_way(self):
        c = self.slow_client()
        c.read(MiB)
        self.d.kill9()
        # The copy had no name left to leave behind.
        self.assertEqual([f for f in os.listdir(self.d.state_dir)
                          if f.startswith("backup")], [])
        c.close()


class SlowReader(BigTest):
    """A client that reads nothing for a minute of the daemon's time is cut
    off, and its backup dropped; one that reads, if slowly (64 KiB each 15
    s, for 6 minutes), is not."""

    SHIFTED_CLOCK = True

    def test_reader_of_nothing_is_cut_off(self):
        c = self.slow_client()

        def cut_off():
            if "cut off" in self.d.log_text():
                return True
            self.d.advance(5)
            return False
        wait_for(cut_off, timeout=60, what="the client to be cut off")
        self.wait_nothing_left()
        self.serves()
        c.close()

    def test_slow_reader_is_not_cut_off(self):
        c = self.slow_client()
        for _ in range(24):
            c.read(64 * 1024)
            self.d.advance(15)
        self.assertLess(len(c.body), c.length())
        self.check_copy(c.read_all())
        self.assertNotIn("cut off", self.d.log_text())
        self.wait_nothing_left()


class DiskFull(BackupHttpTest):
    """No room for the copy in the state directory (a 4 MiB tmpfs, filled
    up): a JSON error, nothing left behind, the daemon carries on, and a
    backup works again once there is room. Needs root."""

    START = False
    TASKS = {"some.sh": "#!/bin/sh\nhead -c 300000 /dev/urandom\n"}

    def setUp(self):
        super().setUp()
        tmpfs_state(self, "4m")
        self.d.start()

    def test_no_room_for_the_copy(self):
        d = self.d
        d.run("some", check=0)
        self.assertGreater(db_size(d), 300000)
        # Leave 64 KiB free: far less than a copy needs.
        filler = os.path.join(d.state_dir, "filler")
        st = os.statvfs(d.state_dir)
        with open(filler, "wb") as f:
            f.write(b"\0" * (st.f_bavail * st.f_frsize - 65536))
        r = self.get("/api/v1/backup")
        self.assertEqual(r.status, 500, r)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        err = r.json()
        self.assertIs(err["ok"], False)
        self.assertEqual(err["error"]["code"], "internal")
        self.assertRegex(err["error"]["message"], "cannot make the copy in "
                         + re.escape(d.state_dir) + ": .*full")
        self.wait_nothing_left()
        self.serves()
        self.assertEqual(self.get("/api/v1/runs").status, 200)
        os.unlink(filler)
        copy = self.check_copy(self.backup().body)
        self.assertEqual(rows(copy, "SELECT count(*) FROM runs"), [(1,)])
        self.wait_nothing_left()


if __name__ == "__main__":
    main()
