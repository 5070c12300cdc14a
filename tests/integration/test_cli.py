#!/usr/bin/env python3
"""microlightctl against a real daemon: commands, output, exit statuses."""

import base64
import datetime
import pty
import select
import threading

from harness import *


class RunBasics(DaemonTest):
    TASKS = {
        "hello.sh": """\
            #!/bin/sh
            # Say hello.
            # @param who "Who" default=world
            echo "hello, $who"
            """,
    }

    def test_run_wait_records_success(self):
        run = self.d.run("hello.sh".split(".")[0], "who=bob")
        self.assertEqual(run["status"], "succeeded")
        self.assertEqual(run["exit_code"], 0)
        self.assertEqual(self.d.logs(run["id"]), b"hello, bob\n")

    def test_ping(self):
        p = self.d.ctl("ping", check=0)
        self.assertIn(b"microlightd", p.stdout)


class FakeDaemonTest(unittest.TestCase):
    """A listening socket in place of microlightd's, for a test to
    answer as it likes."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ml-proto-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.path = os.path.join(self.dir, "newer.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)
        self.server.settimeout(30)
        self.addCleanup(self.server.close)


class ProtocolVersion(FakeDaemonTest):
    """microlightctl says which protocol it speaks (4); a daemon of
    another release refuses it, and the user is told so (exit 69)."""

    def newer_daemon(self, got):
        """Answer one request as a daemon of protocol 5 would."""
        conn, _ = self.server.accept()
        with conn, conn.makefile("rb") as f:
            got.append(json.loads(f.readline()))
            conn.sendall(b'{"ok":false,"error":{"code":"protocol",'
                         b'"message":"incompatible microlightctl and '
                         b'microlightd: the client speaks protocol 4, '
                         b'microlightd 5"}}\n')

    def test_incompatible_daemon(self):
        for args in (["run", "hello"], ["status", "1"], ["ping"],
                     ["logs", "1"]):
            got = []
            t = threading.Thread(target=self.newer_daemon, args=(got,))
            t.start()
            p = subprocess.run([MICROLIGHTCTL, "-s", self.path] + args,
                               capture_output=True, timeout=30,
                               env=ctl_env(), stdin=subprocess.DEVNULL)
            t.join(30)
            self.assertEqual(got[0]["protocol"], 4, got)
            self.assertEqual(p.returncode, 69, p)
            self.assertIn(b"incompatible microlightctl and microlightd",
                          p.stderr)



class RawOutput(FakeDaemonTest):
    """microlightctl asks for output raw (but not with --json) and copies
    the bytes after each output event's line to stdout as they are, read
    in whatever pieces the socket gives, the next line after them."""

    CHUNKS = [bytes(range(256)) * 300, b"\n", b"\n\n{}\n", b"",
              bytes(range(255, -1, -1)) * 1000 + b"no newline"]

    def fake_daemon(self, got, pieces):
        """Answer a following request with raw output events, the whole
        reply sent in pieces of the given sizes (cycled)."""
        conn, _ = self.server.accept()
        with conn, conn.makefile("rb") as f:
            req = json.loads(f.readline())
            got.append(req)
            run = {"id": 1, "task": "t", "status": "succeeded",
                   "exit_code": 0}
            out = json.dumps({"ok": True, "run": run}).encode() + b"\n"
            for i, c in enumerate(self.CHUNKS):
                if not req.get("raw"):
                    out += json.dumps({
                        "event": "output", "stream": "stdout", "seq": i,
                        "time": "2026-12-05T10:00:00.000Z",
                        "data": base64.b64encode(c).decode()}).encode()
                    out += b"\n"
                    continue
                out += json.dumps({
                    "event": "output", "stream": "stdout", "seq": i,
                    "time": "2026-12-05T10:00:00.000Z",
                    "size": len(c)}).encode() + b"\n" + c
            out += json.dumps({"event": "end", "run": run}).encode() + b"\n"
            i = 0
            while out:
                n = pieces[i % len(pieces)]
                conn.sendall(out[:n])
                out = out[n:]
                i += 1

    def ctl(self, args, pieces):
        got = []
        t = threading.Thread(target=self.fake_daemon, args=(got, pieces))
        t.start()
        p = subprocess.run([MICROLIGHTCTL, "-s", self.path] + args,
                           capture_output=True, timeout=30, env=ctl_env(),
                           stdin=subprocess.DEVNULL)
        t.join(30)
        return got[0], p

    def test_raw_output_in_any_pieces(self):
        """However the socket cuts the stream."""
        want = b"".join(self.CHUNKS)
        for pieces in ([1], [7, 1, 300000], [65536], [1 << 22]):
            req, p = self.ctl(["logs", "1"], pieces)
            self.assertEqual(req["cmd"], "logs")
            self.assertIs(req["raw"], True, req)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(p.stdout == want, "pieces %r: %d bytes, "
                            "expected %d" % (pieces, len(p.stdout),
                                             len(want)))

    def test_raw_output_to_a_file(self):
        """To a file as well as to a pipe."""
        out = os.path.join(self.dir, "out")
        got = []
        t = threading.Thread(target=self.fake_daemon, args=(got, [3000]))
        t.start()
        with open(out, "wb") as f:
            p = subprocess.run([MICROLIGHTCTL, "-s", self.path, "logs",
                                "1"], stdout=f, stderr=subprocess.PIPE,
                               timeout=30, env=ctl_env(),
                               stdin=subprocess.DEVNULL)
        t.join(30)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, "rb") as f:
            self.assertTrue(f.read() == b"".join(self.CHUNKS))

    def test_run_follow_asks_raw(self):
        req, p = self.ctl(["run", "t", "--follow"], [4096])
        self.assertIs(req["raw"], True, req)
        self.assertIs(req["follow"], True, req)
        self.assertEqual(p.stdout, b"".join(self.CHUNKS))

    def test_json_asks_base64(self):
        """--json prints the events as lines: it does not ask for raw."""
        req, p = self.ctl(["--json", "logs", "1"], [4096])
        self.assertNotIn("raw", req)
        events = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual(b"".join(base64.b64decode(e["data"])
                                  for e in events
                                  if e.get("event") == "output"),
                         b"".join(self.CHUNKS))

    def test_connection_lost_mid_output(self):
        """A connection that ends inside an event's bytes is an error."""
        got = []

        def short_daemon():
            conn, _ = self.server.accept()
            with conn, conn.makefile("rb") as f:
                got.append(json.loads(f.readline()))
                conn.sendall(b'{"ok":true,"run":{"id":1}}\n'
                             b'{"event":"output","stream":"stdout",'
                             b'"seq":0,"time":"x","size":1000}\n' +
                             b"x" * 999)
        t = threading.Thread(target=short_daemon)
        t.start()
        p = subprocess.run([MICROLIGHTCTL, "-s", self.path, "logs", "1"],
                           capture_output=True, timeout=30, env=ctl_env(),
                           stdin=subprocess.DEVNULL)
        t.join(30)
        self.assertEqual(p.returncode, 70, p)
        self.assertIn(b"closed the connection", p.stderr)


STAMP_RE = re.compile(rb"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
ESC = b"\x1b["


def runs_count(d):
    return len(d.request({"cmd": "runs", "limit": 10000})["runs"])


def columns_aligned(text):
    """Check a table: a header of upper-case names, every row's cells
    start where the header's do. Returns the rows as lists of cells."""
    lines = text.rstrip("\n").split("\n")
    header = lines[0]
    starts = [m.start(1) for m in re.finditer(r"(?:^ *|  )(\S)", header)]
    rows = []
    for line in lines[1:]:
        cells = []
        for i, p in enumerate(starts):
            assert len(line) > p, "row too short: %r" % line
            assert line[p] != " ", "column %d of %r misaligned" % (i, line)
            assert p == 0 or line[p - 2:p] == "  ", \
                "column %d of %r misaligned" % (i, line)
            end = starts[i + 1] if i + 1 < len(starts) else len(line)
            cells.append(line[p:end].strip())
        rows.append(cells)
    return header.split(), rows


class Commands(DaemonTest):
    CONFIG = "kill-grace 1s\nmax-running 1\n"
    TASKS = {
        "greet.sh": """\
            #!/bin/sh
            # Greet someone politely.
            #
            # @param who "Who to greet" default=world
            # @param times int "How many times" default=1
            # @param tone choice(warm,cold) default=warm
            # @param target "Target host" required
            echo "hello, $who"
            """,
        "long.sh": "#!/bin/sh\nexec sleep 60\n",
        "fail.sh": "#!/bin/sh\necho failing >&2\nexit 3\n",
        "broken.sh": "#!/bin/sh\n# Broken.\n# @timeout whenever\necho\n",
    }

    def test_list(self):
        self.d.run("greet", "target=x")
        self.d.run("fail", check=3)
        out = self.d.ctl("list", check=0).stdout.decode()
        self.assertTrue(out.startswith("TASK"), out)
        self.assertNotIn("\x1b", out)
        _, rows = columns_aligned("".join(out.splitlines(True)[:-1]))
        header = out.splitlines()[0].split()
        self.assertIn("STATUS", header)
        byname = {r[0]: r for r in rows}
        self.assertEqual(sorted(byname), ["broken", "fail", "greet",
                                          "long"])
        self.assertEqual(byname["greet"][-1], "succeeded")
        self.assertEqual(byname["fail"][-1], "failed")
        self.assertEqual(byname["long"][-1], "-")
        # A marker in the table, the errors under show (test_show).
        self.assertEqual(byname["broken"][-1], "invalid")
        self.assertNotIn("broken.sh:3:", out)
        self.assertEqual(out.splitlines()[-1], "(broken is invalid: "
                         "'microlightctl show broken' says why)")

    def test_show(self):
        run_id = self.d.run("greet", "target=h1")["id"]
        out = self.d.ctl("show", "greet", check=0).stdout.decode()
        self.assertIn("Greet someone politely.", out)
        params = out.split("parameters:\n", 1)[1].split("\n\n", 1)[0]
        _, rows = columns_aligned(params)
        byname = {r[0]: r for r in rows}
        self.assertEqual(byname["who"], ["who", "string", "world", "no",
                                         "Who to greet"])
        self.assertEqual(byname["times"], ["times", "int", "1", "no",
                                           "How many times"])
        self.assertEqual(byname["tone"][:4], ["tone", "choice(warm,cold)",
                                              "warm", "no"])
        self.assertEqual(byname["target"], ["target", "string", "-", "yes",
                                            "Target host"])
        recent = out.split("recent runs:\n", 1)[1]
        _, rows = columns_aligned(recent)
        self.assertEqual(rows[0][0], str(run_id))
        self.assertEqual(rows[0][1], "succeeded")
        self.d.ctl("show", "no-such-task", check=EX_DATAERR)
        out = self.d.ctl("show", "broken", check=0).stdout.decode()
        self.assertIn("broken.sh:3:", out)

    def test_runs_and_status(self):
        first = self.d.run("greet", "target=a")["id"]
        second = self.d.run("fail", check=3)["id"]
        out = self.d.ctl("runs", check=0).stdout.decode()
        _, rows = columns_aligned(out)
        self.assertEqual([r[0] for r in rows], [str(second), str(first)])
        self.assertEqual([r[1] for r in rows], ["fail", "greet"])
        self.assertEqual([r[2] for r in rows], ["failed", "succeeded"])
        # --before: the next page (SPEC 5).
        out = self.d.ctl("runs", "--before", second, check=0).stdout
        _, rows = columns_aligned(out.decode())
        self.assertEqual([r[0] for r in rows], [str(first)])
        for bad in ("abc", "0", "-3"):
            self.d.ctl("runs", "--before", bad, check=EX_USAGE)

        out = self.d.ctl("status", second, check=3).stdout.decode()
        fields = dict(re.findall(r"^([a-z ]+):\s+(.*)$", out, re.M))
        self.assertEqual(fields["run"], str(second))
        self.assertEqual(fields["task"], "fail")
        self.assertEqual(fields["status"], "failed")
        self.assertEqual(fields["exit"], "3")
        self.assertRegex(fields["started"], STAMP_RE.pattern.decode())

    def test_cancel_queued_and_running(self):
        running = self.d.run("long", wait=False)
        self.d.wait_status(running, "running")
        queued = self.d.run("greet", "target=x", wait=False)
        self.assertEqual(self.d.status(queued)["status"], "queued")

        p = self.d.ctl("cancel", queued, check=0)
        self.assertIn(b"cancelled", p.stdout)
        run = self.d.status(queued)
        self.assertEqual(run["status"], "cancelled")
        self.assertIsNone(run["started_at"])

        self.d.ctl("cancel", running, check=0)
        run = self.d.wait_status(running, "cancelled", timeout=15)
        self.assertIsNotNone(run["reason"])

        p = self.d.ctl("cancel", running, check=EX_DATAERR)
        self.assertIn(b"cancelled", p.stderr)
        done = self.d.run("fail", check=3)["id"]
        self.d.ctl("cancel", done, check=EX_DATAERR)
        self.assertEqual(self.d.status(done)["status"], "failed")

    def test_ping_and_reload(self):
        p = self.d.ctl("ping", check=0)
        pid = self.d.request({"cmd": "ping"})["pid"]
        self.assertIn(str(pid).encode(), p.stdout)
        self.d.add_task("extra.sh", "#!/bin/sh\necho extra\n")
        p = self.d.ctl("reload", check=0)
        self.assertIn(b"5 tasks", p.stdout)
        self.assertIn(b"1 invalid", p.stdout)


class ListFollows(ScratchTest):
    """The daemon keeps each task's line of the table and makes it again
    only when what it shows changes: every such change must show. Each
    step's table is checked against list --json (made afresh each time)
    and against what the step did."""

    CONFIG = "kill-grace 1s\nmax-running 1\n"
    TASKS = {
        "gated.sh": """\
            #!/bin/sh
            # Waits for its gate, then exits with code.
            # @param code int default=0
            @SH_GATE@
            gate 1
            exit $code
            """,
        "other.sh": "#!/bin/sh\n# Quick.\ntrue\n",
    }
    SHIFTED_CLOCK = True

    def table(self):
        """The table's rows by name, in UTC, checked against the JSON
        list: the same tasks, next runs and last runs' times."""
        env = {"TZ": "UTC"}
        out = self.d.ctl("list", env=env, check=0).stdout.decode()
        _, rows = columns_aligned(out)
        rows = {r[0]: r for r in rows}
        tasks = self.d.request({"cmd": "list"})["tasks"]
        self.assertEqual(sorted(rows), sorted(t["name"] for t in tasks))

        def shown(stamp):
            if stamp is None:
                return "-"
            t = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            return t.astimezone(datetime.timezone.utc).strftime(
                "%Y-%m-%d %H:%M:%S")
        for t in tasks:
            last = t.get("last_run") or {}
            self.assertEqual(rows[t["name"]][2], shown(t.get("next_run")),
                             out)
            self.assertEqual(rows[t["name"]][3],
                             shown(last.get("started_at") or
                                   last.get("queued_at")), out)
            self.assertTrue(rows[t["name"]][4].startswith(
                last.get("status", "-")), out)
        return {name: r[4] for name, r in rows.items()}

    def shown(self, name):
        return self.d.request({"cmd": "show", "task": name})["task"]

    def test_every_change_shows(self):
        self.assertEqual(self.table(), {"gated": "-", "other": "-"})
        # A run starts (a new latest run), another waits for the slot.
        a = self.d.run("gated", "code=1", wait=False)
        self.d.wait_status(a, "running")
        b = self.d.run("other", wait=False)
        self.assertEqual(self.table(), {"gated": "running",
                                        "other": "queued"})
        # The same runs end: the same ids, new statuses.
        self.go(a)
        self.d.wait_status(a, "failed")
        self.d.wait_status(b, "succeeded")
        self.assertEqual(self.table(), {"gated": "failed",
                                        "other": "succeeded"})
        # Failing shows beside the next run until that run succeeds.
        c = self.d.run("gated", wait=False)
        self.d.wait_status(c, "running")
        self.assertRegex(self.table()["gated"],
                         r"^running, failing since \d{4}-")
        self.go(c)
        self.d.wait_status(c, "succeeded")
        self.assertEqual(self.table()["gated"], "succeeded")
        # A run for later is the next run until it is cancelled.
        at = int(self.clock.now()) + 7200
        later = int(self.d.ctl("run", "other", "--at", "@%d" % at,
                               check=0).stdout)
        self.assertEqual(self.table()["other"], "scheduled")
        self.d.ctl("cancel", later, check=0)
        self.d.wait_status(later, "cancelled")
        self.assertEqual(self.table()["other"], "cancelled")
        # A reload makes new tasks: the schedule and its next run show.
        self.d.add_task("other.sh", "#!/bin/sh\n# Hourly now.\n"
                        "# @schedule 30 * * * *\ntrue\n")
        self.d.wait_for(lambda: self.shown("other").get("schedules"),
                        advance=0)
        first = self.shown("other")["next_run"]
        self.assertIsNotNone(first)
        self.table()
        # Time passes the hourly time: the next run moves on.
        self.d.advance(3600)
        self.d.wait_for(lambda: self.shown("other")["next_run"] != first,
                        advance=0)
        # The run that fired has ended: the table and the list made after
        # it see the same state.
        self.d.wait_for(lambda: (lambda last: last is not None and
                                 last["trigger"] == "schedule" and
                                 last["status"] == "succeeded")(
                                     self.shown("other").get("last_run")),
                        advance=0, what="the hourly run's end")
        self.table()


class ExitStatus(DaemonTest):
    CONFIG = "kill-grace 1s\n"
    TASKS = {
        "ok.sh": "#!/bin/sh\necho ok\n",
        "three.sh": "#!/bin/sh\nexit 3\n",
        "slow.sh": "#!/bin/sh\n# @timeout 1s\nsleep 30\n",
        "long.sh": "#!/bin/sh\necho started\nexec sleep 60\n",
        "killed.sh": "#!/bin/sh\nkill -s KILL $$\n",
        "usr1.sh": "#!/bin/sh\nkill -s USR1 $$\n",
        "params.sh": """\
            #!/bin/sh
            # @param n int default=1
            # @param mode choice(a,b) default=a
            # @param host "Host" required
            echo "$n $mode $host"
            """,
        "invalid.sh": "#!/bin/sh\n# @nonsense\necho\n",
    }

    def test_task_exit_status(self):
        self.d.ctl("run", "ok", "--wait", check=0)
        self.d.ctl("run", "three", "--wait", check=3)
        self.d.ctl("run", "three", "--follow", check=3)
        self.d.ctl("run", "--wait", "three", check=3)
        p = self.d.ctl("run", "params", "host=h", "n=7", "--follow", check=0)
        self.assertEqual(p.stdout, b"7 a h\n")

    def test_logs_follow_and_status_end_as_run_follow(self):
        """logs -f, and status of an ended run, end as run --follow:
        the same line on stderr and the run's exit status (SPEC 5). So
        `logs -f "$id"` fails when the run does."""
        follow = self.d.ctl("run", "three", "--follow", check=3)
        # --follow says the run's id on stderr ("run N"), output on stdout.
        first = int(follow.stderr.split(b"\n", 1)[0].split()[1])
        line = follow.stderr.strip().splitlines()[-1]
        self.assertIn(b"run %d failed: exit code 3" % first, line)
        for args in (("logs", "-f", first), ("logs", first, "--follow"),
                     ("status", first)):
            p = self.d.ctl(*args, check=3)
            self.assertEqual(p.stderr.strip().splitlines()[-1], line, args)
        # Without -f, logs exits 0 whatever the run did.
        self.assertEqual(self.d.ctl("logs", first, check=0).stderr, b"")
        ok = self.d.run("ok")["id"]
        for args in (("logs", "-f", ok), ("status", ok)):
            self.assertEqual(self.d.ctl(*args, check=0).stderr, b"", args)
        # A run that has not ended: status exits 0; logs -f follows it to
        # its end (cancelled: 130).
        long = self.d.run("long", wait=False)
        self.d.wait_status(long, "running")
        self.assertEqual(self.d.ctl("status", long, check=0).stderr, b"")
        p = subprocess.Popen([MICROLIGHTCTL, "-s", self.d.socket, "logs",
                              "-f", str(long)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=ctl_env(),
                             stdin=subprocess.DEVNULL)
        try:
            self.assertEqual(p.stdout.readline(), b"started\n")
            self.d.ctl("cancel", long, check=0)
            _, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 130)
        self.assertIn(b"run %d cancelled" % long, err)
        self.d.ctl("status", long, check=130)

    def test_timed_out(self):
        p = self.d.ctl("run", "slow", "--wait", check=124)
        self.assertIn(b"timed_out", p.stderr)

    def test_killed_by_signal(self):
        self.d.ctl("run", "killed", "--wait", check=128 + 9)
        self.d.ctl("run", "usr1", "--wait", check=128 + signal.SIGUSR1)

    def test_cancelled(self):
        proc = subprocess.Popen([MICROLIGHTCTL, "-s", self.d.socket, "run",
                                 "long", "--wait"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=ctl_env(),
                                stdin=subprocess.DEVNULL)
        try:
            run_id = int(proc.stdout.readline())
            self.d.wait_status(run_id, "running")
            self.d.ctl("cancel", run_id, check=0)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(proc.returncode, 130)

    def test_usage_errors(self):
        before = runs_count(self.d)
        for args in (["frobnicate"], [], ["run"], ["status"], ["cancel"],
                     ["logs"], ["show"], ["run", "ok", "novalue"],
                     ["run", "ok", "=x"], ["status", "abc"],
                     ["status", "0"], ["status", "-1"], ["cancel", "1x"],
                     ["logs", "abc"], ["--bogus", "list"],
                     ["runs", "--bogus"], ["runs", "-n", "0"],
                     ["runs", "--status", "exploded"], ["list", "extra"],
                     ["ping", "extra"]):
            self.d.ctl(*args, check=EX_USAGE)
        self.assertEqual(runs_count(self.d), before)

    def test_data_errors_create_no_run(self):
        self.d.run("ok")
        before = runs_count(self.d)
        cases = (["run", "no-such-task"],
                 ["run", "no-such-task", "--wait"],
                 ["run", "params", "host=h", "undeclared=1"],
                 ["run", "params", "host=h", "n=abc"],
                 ["run", "params", "host=h", "mode=c"],
                 ["run", "params"],
                 ["run", "invalid"],
                 ["run", "invalid", "--wait"],
                 ["status", "999999"],
                 ["cancel", "999999"],
                 ["logs", "999999"])
        for args in cases:
            p = self.d.ctl(*args, check=EX_DATAERR)
            self.assertTrue(p.stderr.strip(), "no message for %s" % args)
        self.assertEqual(runs_count(self.d), before)

    def test_bad_param_messages(self):
        p = self.d.ctl("run", "params", "host=h", "n=abc", check=EX_DATAERR)
        self.assertIn(b"abc", p.stderr)
        p = self.d.ctl("run", "params", "host=h", "mode=c",
                       check=EX_DATAERR)
        self.assertIn(b"mode", p.stderr)
        p = self.d.ctl("run", "params", check=EX_DATAERR)
        self.assertIn(b"host", p.stderr)
        p = self.d.ctl("run", "params", "host=h", "nope=1",
                       check=EX_DATAERR)
        self.assertIn(b"nope", p.stderr)

    def test_every_bad_param_at_once(self):
        before = runs_count(self.d)
        p = self.d.ctl("run", "params", "n=abc", "mode=c", "nope=\x1b[2J",
                       check=EX_DATAERR)
        self.assertEqual(p.stderr.decode().splitlines(), [
            "microlightctl: nope: no such parameter",
            "microlightctl: n: 'abc' is not an integer",
            "microlightctl: mode: 'c' is not one of the choices",
            "microlightctl: host: required parameter is missing"])
        self.assertEqual(runs_count(self.d), before)
        # The reply names each, and its message has them all.
        err = self.d.request({"cmd": "run", "task": "params",
                              "params": {"n": "x", "host": "h"}})["error"]
        self.assertEqual(err["problems"], [
            {"param": "n", "message": "n: 'x' is not an integer"}])
        err = self.d.request({"cmd": "run", "task": "params",
                              "params": {"n": "x"}})["error"]
        self.assertEqual([p["param"] for p in err["problems"]],
                         ["n", "host"])
        self.assertEqual(err["message"], "n: 'x' is not an integer; "
                         "host: required parameter is missing")


class Help(unittest.TestCase):
    """microlightctl help COMMAND (SPEC 5): for every command that
    microlightctl -h lists, a line on each option its usage names, and
    no line on an option it does not take; -h itself says what the
    global options do."""

    OPTION_RE = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")

    def ctl(self, *args):
        return subprocess.run([MICROLIGHTCTL, "-s", "/nonexistent/ml.sock"]
                              + list(args), capture_output=True, timeout=30,
                              env=ctl_env(), stdin=subprocess.DEVNULL)

    def test_every_option_of_every_command(self):
        p = self.ctl("-h")
        self.assertEqual(p.returncode, 0)
        out = p.stdout.decode()
        for option in ("-s socket", "--json", "-h, --help",
                       "-V, --version"):
            self.assertRegex(out, r"(?m)^  %s +\S" % re.escape(option))
        listed = out.split("commands:\n", 1)[1].splitlines()
        commands = sorted({line.split()[0] for line in listed
                           if re.match(r"  \S", line)})
        self.assertIn("runs", commands)
        # Each command's forms, then what it does, in words, indented.
        for i, line in enumerate(listed):
            if re.match(r"  \S", line) and not re.match(
                    r"  \S", listed[i + 1] if i + 1 < len(listed) else ""):
                self.assertRegex(listed[i + 1], r"^      [A-Z]\S* \w",
                                 "no words on what %r does" % line)
        for line in listed:
            self.assertLess(len(line), 80, line)
        for command in commands:
            with self.subTest(command=command):
                p = self.ctl("help", command)
                self.assertEqual(p.returncode, 0, p.stderr)
                text = p.stdout.decode()
                usage, _, body = text.partition("\n\n")
                named = set(self.OPTION_RE.findall(usage))
                lines = set()
                for line in body.splitlines():
                    m = re.match(r"  ((?:--?[\w-]+(?:, )?)+)(?: [A-Z]+)? "
                                 r" +\S", line)
                    if m:
                        lines |= set(self.OPTION_RE.findall(m.group(1)))
                self.assertEqual(sorted(named - lines), [],
                                 "options without a line:\n" + text)
                for option in sorted(lines):
                    words = command.split()[:1]
                    if command == "token":
                        words.append("create")
                    err = self.ctl(*words, option).stderr
                    self.assertNotRegex(err, rb"unrecognized|invalid "
                                        rb"option", "%s takes no %s" % (
                                            command, option))


class Teaches(DaemonTest):
    """Mistakes get the likely fix: a command, a task or a status one or
    two letters off is named; runs of no task is an error."""
    TASKS = {
        "restart-redis.sh": "#!/bin/sh\n# Restart Redis.\necho ok\n",
        "weekly-report.sh": "#!/bin/sh\n# Report.\necho report\n",
    }

    def test_unknown_command(self):
        p = self.d.ctl("lsit", check=EX_USAGE)
        self.assertIn(b"unknown command 'lsit'; did you mean 'list'?",
                      p.stderr)
        p = self.d.ctl("help", "stauts", check=EX_USAGE)
        self.assertIn(b"did you mean 'status'?", p.stderr)
        p = self.d.ctl("frobnicate", check=EX_USAGE)
        self.assertNotIn(b"did you mean", p.stderr)

    def test_unknown_task(self):
        before = runs_count(self.d)
        for args in (["run", "restrat-redis"], ["show", "restart-rdis"],
                     ["runs", "restartredis"],
                     ["run", "weekly-reprot", "--wait"]):
            p = self.d.ctl(*args, check=EX_DATAERR)
            self.assertIn(b"no task named '%s'; did you mean '" %
                          args[1].encode(), p.stderr, args)
            self.assertIn(b"-re", p.stderr)
        p = self.d.ctl("run", "backup", check=EX_DATAERR)
        self.assertEqual(p.stderr.strip(),
                         b"microlightctl: no task named 'backup'")
        self.assertEqual(runs_count(self.d), before)

    def test_runs_of_no_task(self):
        p = self.d.ctl("runs", "nosuchtask", check=EX_DATAERR)
        self.assertIn(b"no task named 'nosuchtask'", p.stderr)
        self.d.run("restart-redis")
        p = self.d.ctl("runs", "restart-redis", check=0)
        self.assertIn(b"succeeded", p.stdout)
        # A task whose file is gone: an administrator still sees its runs.
        os.unlink(os.path.join(self.d.tasks_dir, "restart-redis.sh"))
        self.d.ctl("reload", check=0)
        p = self.d.ctl("runs", "restart-redis", check=0)
        self.assertIn(b"succeeded", p.stdout)

    def test_unknown_status_lists_them(self):
        p = self.d.ctl("runs", "--status", "faild", check=EX_USAGE)
        self.assertIn(b"unknown status 'faild' (did you mean 'failed'?); "
                      b"the statuses are queued, running, succeeded, failed,"
                      b" timed_out, cancelled, skipped, lost, scheduled",
                      p.stderr)
        p = self.d.ctl("runs", "--status", "bogus", check=EX_USAGE)
        self.assertIn(b"the statuses are queued,", p.stderr)
        self.assertNotIn(b"did you mean", p.stderr)


class Unavailable(DaemonTest):
    TASKS = {"ok.sh": "#!/bin/sh\necho ok\n"}

    def test_nothing_listening(self):
        missing = os.path.join(self.d.dir, "nothing.sock")
        p = self.d.ctl("-s", missing, "ping", sock=False,
                       check=EX_UNAVAILABLE)
        self.assertIn(missing.encode(), p.stderr)
        self.d.ctl("ping", sock=False, env={"MICROLIGHT_SOCKET": missing},
                   check=EX_UNAVAILABLE)
        self.d.ctl("-s", missing, "run", "ok", "--wait", sock=False,
                   check=EX_UNAVAILABLE)

    def test_stale_socket_file(self):
        stale = os.path.join(self.d.dir, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(stale)    # bound, never listening: connection refused
            self.d.ctl("-s", stale, "list", sock=False,
                       check=EX_UNAVAILABLE)
            self.d.ctl("list", sock=False,
                       env={"MICROLIGHT_SOCKET": stale},
                       check=EX_UNAVAILABLE)
        finally:
            s.close()

    def test_daemon_stopped(self):
        self.d.ctl("ping", check=0)
        self.assertEqual(self.d.stop(), 0)
        p = self.d.ctl("ping", check=EX_UNAVAILABLE)
        self.assertIn(b"not running", p.stderr)
        # How to start it, for this socket.
        self.assertIn(b"start it with 'microlightd -s %s'" %
                      self.d.socket.encode(), p.stderr)
        self.d.ctl("status", "1", check=EX_UNAVAILABLE)

    def test_socket_selection(self):
        missing = os.path.join(self.d.dir, "nothing.sock")
        # MICROLIGHT_SOCKET alone selects the socket.
        self.d.ctl("ping", sock=False, env={"MICROLIGHT_SOCKET":
                                            self.d.socket}, check=0)
        # -s alone, and -s over MICROLIGHT_SOCKET.
        self.d.ctl("-s", self.d.socket, "ping", sock=False, check=0)
        self.d.ctl("-s", self.d.socket, "ping", sock=False,
                   env={"MICROLIGHT_SOCKET": missing}, check=0)
        self.d.ctl("-s", missing, "ping", sock=False,
                   env={"MICROLIGHT_SOCKET": self.d.socket},
                   check=EX_UNAVAILABLE)


class JsonOutput(DaemonTest):
    TASKS = {
        "hello.sh": "#!/bin/sh\n# Hello.\necho hello\necho oops >&2\n",
    }

    def lines(self, *args, check=0):
        p = self.d.ctl("--json", *args, check=check)
        self.assertTrue(p.stdout.endswith(b"\n"), p.stdout)
        objs = []
        for line in p.stdout.decode().split("\n")[:-1]:
            obj = json.loads(line)
            self.assertIsInstance(obj, dict)
            objs.append(obj)
        return objs

    def test_one_object_per_line(self):
        objs = self.lines("run", "hello")
        self.assertEqual(len(objs), 1)
        self.assertIs(objs[0]["ok"], True)
        run_id = objs[0]["run"]["id"]
        self.d.wait_status(run_id, "succeeded")

        objs = self.lines("list")
        self.assertEqual(len(objs), 1)
        self.assertEqual([t["name"] for t in objs[0]["tasks"]], ["hello"])

        objs = self.lines("show", "hello")
        self.assertEqual(len(objs), 1)
        self.assertEqual(objs[0]["task"]["description"], "Hello.")
        self.assertEqual(objs[0]["runs"][0]["id"], run_id)

        objs = self.lines("status", run_id)
        self.assertEqual(len(objs), 1)
        self.assertEqual(objs[0]["run"]["status"], "succeeded")

        objs = self.lines("runs")
        self.assertEqual(len(objs), 1)
        self.assertEqual([r["id"] for r in objs[0]["runs"]], [run_id])

    def test_run_wait_prints_events(self):
        objs = self.lines("run", "hello", "--wait")
        self.assertIs(objs[0]["ok"], True)
        self.assertGreaterEqual(len(objs), 2)
        for ev in objs[1:]:
            self.assertIn("event", ev)
        self.assertEqual(objs[-1]["event"], "end")
        self.assertEqual(objs[-1]["run"]["status"], "succeeded")
        self.assertEqual(objs[-1]["run"]["id"], objs[0]["run"]["id"])

        objs = self.lines("run", "hello", "--follow")
        out = b"".join(base64.b64decode(e["data"])
                       for e in objs if e.get("event") == "output")
        self.assertEqual(out, b"hello\noops\n")
        self.assertEqual(objs[-1]["event"], "end")

    def test_error_reply_as_json(self):
        objs = self.lines("run", "nope", check=EX_DATAERR)
        self.assertEqual(len(objs), 1)
        self.assertIs(objs[0]["ok"], False)
        self.assertEqual(objs[0]["error"]["code"], "unknown-task")


class HumanOutput(DaemonTest):
    TASKS = {
        "ok.sh": "#!/bin/sh\necho ok\n",
        "fail.sh": "#!/bin/sh\nexit 1\n",
        "broken.sh": "#!/bin/sh\n# @nonsense\n",
    }

    def stamps(self, *args, tz):
        out = self.d.ctl(*args, env={"TZ": tz}, check=0).stdout
        return [datetime.datetime.strptime(m.decode(), "%Y-%m-%d %H:%M:%S")
                for m in STAMP_RE.findall(out)]

    def test_local_times(self):
        run = self.d.run("ok")
        utc = datetime.datetime.strptime(run["started_at"][:19],
                                         "%Y-%m-%dT%H:%M:%S")
        for args in (["runs"], ["status", run["id"]], ["list"]):
            in_utc = self.stamps(*args, tz="UTC")
            in_tokyo = self.stamps(*args, tz="Asia/Tokyo")
            self.assertTrue(in_utc, "no time shown by %s" % args)
            self.assertEqual(len(in_utc), len(in_tokyo))
            self.assertIn(utc, in_utc)
            for u, t in zip(in_utc, in_tokyo):
                self.assertEqual(t - u, datetime.timedelta(hours=9), args)

    def test_no_colour_when_not_a_terminal(self):
        ok = self.d.run("ok")["id"]
        self.d.run("fail", check=1)
        for args in (["list"], ["runs"], ["status", ok], ["show", "ok"],
                     ["show", "broken"], ["ping"]):
            p = self.d.ctl(*args, env={"TERM": "xterm"}, check=0)
            self.assertNotIn(ESC, p.stdout, args)
            self.assertNotIn(ESC, p.stderr, args)
        p = self.d.ctl("run", "fail", "--wait", env={"TERM": "xterm"},
                       check=1)
        self.assertNotIn(ESC, p.stdout + p.stderr)

    def test_colour_on_a_terminal(self):
        self.d.run("ok")
        self.d.run("fail", check=1)
        env = ctl_env({"TERM": "xterm"})
        env.pop("NO_COLOR", None)
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen([MICROLIGHTCTL, "-s", self.d.socket,
                                     "runs"], stdout=slave,
                                    stderr=subprocess.PIPE, env=env,
                                    stdin=subprocess.DEVNULL)
            os.close(slave)
            slave = None
            out = b""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                r, _, _ = select.select([master], [], [], 1)
                if not r:
                    if proc.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:     # EIO: the other side is closed
                    break
                if not chunk:
                    break
                out += chunk
            proc.wait(30)
            proc.stderr.close()
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        self.assertEqual(proc.returncode, 0)
        self.assertIn(ESC, out)
        self.assertIn(b"succeeded", out)

if __name__ == "__main__":
    main()
