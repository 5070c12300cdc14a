#!/usr/bin/env python3
"""The SQLite store: schema, file modes, run records, crash recovery,
queued runs across restarts, the state-directory lock, run history."""

import datetime
import errno
import urllib.error
import urllib.request

from harness import *

SCHEMA_VERSION = 12    # PRAGMA user_version of a current database

TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# The members of a run object (SPEC section 3).
RUN_FIELDS = ("id", "task", "status", "trigger", "triggered_by", "params",
              "attempt", "retry_of", "queued_at", "started_at",
              "finished_at", "exit_code", "signal", "reason")


def parse_time(s):
    """An RFC 3339 UTC time with milliseconds as an aware datetime."""
    assert TIME_RE.match(s), "not RFC 3339 UTC with milliseconds: %r" % s
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


class Schema(DaemonTest):
    TASKS = {"hello.sh": "#!/bin/sh\necho hello\n"}

    def test_database_is_wal_with_current_schema(self):
        self.d.run("hello")
        with self.d.db() as db:
            self.assertEqual(
                db.execute("PRAGMA journal_mode").fetchone()[0].lower(),
                "wal")
            self.assertEqual(
                db.execute("PRAGMA user_version").fetchone()[0],
                SCHEMA_VERSION)
            tables = {r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            for table in ("runs", "output", "schedules", "run_input",
                          "webhooks", "tokens", "notices",
                          "task_health"):
                self.assertIn(table, tables)
            self.assertEqual(
                db.execute("SELECT count(*) FROM runs").fetchone()[0], 1)

    def test_file_modes(self):
        self.d.run("hello")
        mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)
        self.assertEqual(mode(self.d.state_dir), 0o700,
                         "state directory mode")
        self.assertEqual(mode(self.d.db_path), 0o600, "database mode")
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.d.db_path + suffix):
                self.assertEqual(mode(self.d.db_path + suffix) & 0o077, 0,
                                 "microlight.db%s is open to others"
                                 % suffix)
        st = os.stat(self.d.socket)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600,
                         "socket mode without socket-group")


class Migration(DaemonTest):
    """A database made by the first schema version (fixtures/schema-v1.db:
    runs 1-3 of tasks hi and fail, with output) migrates on start with its
    runs and output intact."""

    START = False
    # The fixture's runs date from 2026-11: no pruning while the test runs.
    CONFIG = "kill-grace 2s\nkeep-days 0\nkeep-runs 0\n"
    TASKS = {"hi.sh": "#!/bin/sh\n# Hi.\n# @param who \"Who\" default=world\n"
                      "echo \"hi $who\"\n"}

    def test_v1_database_migrates(self):
        os.mkdir(self.d.state_dir, 0o700)
        shutil.copy(os.path.join(SRCDIR, "tests", "integration", "fixtures",
                                 "schema-v1.db"), self.d.db_path)
        os.chmod(self.d.db_path, 0o600)
        self.d.start()
        with self.d.db() as db:
            self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0],
                             SCHEMA_VERSION)
            self.assertEqual(db.execute("PRAGMA integrity_check")
                             .fetchone()[0], "ok")
        runs = self.d.request({"cmd": "runs", "limit": 10})["runs"]
        self.assertEqual([(r["id"], r["task"], r["status"]) for r in runs],
                         [(3, "hi", "succeeded"), (2, "fail", "failed"),
                          (1, "hi", "succeeded")])
        self.assertEqual(runs[0]["params"], {"who": "two"})
        self.assertEqual(runs[1]["exit_code"], 3)
        self.assertIsNone(runs[0]["scheduled_for"])
        self.assertIsNone(runs[0]["rerun_of"])
        self.assertEqual(self.d.logs(1), b"hi one\nerr\n")
        self.assertEqual(self.d.logs(1, "--stream", "stderr"), b"err\n")
        # New runs carry on after the old ones.
        run = self.d.run("hi", "who=four")
        self.assertEqual(run["id"], 4)
        self.assertEqual(self.d.logs(4), b"hi four\n")


class SocketGroup(DaemonTest):
    """socket-group GROUP: the socket is 0660 and belongs to GROUP."""
    import grp as _grp
    GROUP = _grp.getgrgid(os.getgid()).gr_name
    CONFIG = "socket-group %s\n" % GROUP

    def test_socket_mode_and_group(self):
        st = os.stat(self.d.socket)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, os.getgid())
        self.d.ctl("ping", check=0)


class DamagedOutput(DaemonTest):
    """A run whose stored output SQLite cannot read (a damaged page):
    `microlightctl logs` fails saying so (exit 70), rather than printing
    nothing and exiting 0, and the daemon goes on serving."""

    TASKS = {"big.sh": "#!/bin/sh\n# Writes 20 kB.\n"
                       "head -c 20000 /dev/zero | tr '\\0' Q\necho\n",
             "hi.sh": "#!/bin/sh\n# Hi.\necho hi\n"}

    def test_logs_of_damaged_output_fail(self):
        run = self.d.run("big")
        self.assertEqual(len(self.d.logs(run["id"])), 20001)
        self.d.stop()
        with open(self.d.db_path, "r+b") as f:
            data = f.read()
            page = int.from_bytes(data[16:18], "big") or 65536
            at = data.index(b"Q" * 1000) // page * page
            self.assertGreater(at, 0)
            f.seek(at)
            f.write(b"\xff" * 8)
        self.d.start()
        p = self.d.ctl("logs", run["id"])
        self.assertEqual(p.returncode, EX_SOFTWARE, p)
        self.assertIn(b"could not be read from the database", p.stderr)
        self.assertIn("reading output of run %d" % run["id"],
                      self.d.log_text())
        # Everything else still works.
        self.assertEqual(self.d.run("hi")["status"], "succeeded")
        self.d.ctl("ping", check=0)


class FullDisk(DaemonTest):
    """A state directory on a 2 MiB tmpfs that fills up: the daemon keeps
    serving, every run gets its end, and a run that lost output says so
    (issue 12, point 8): its status stays what its exit made it, its
    reason names the loss, and its log ends with a marker line, both while
    the disk is full and once there is room again; the database stays
    sound. Needs root (mount); skipped otherwise."""

    START = False
    TASKS = {
        "big.sh": """\
            #!/bin/sh
            # Writes 700 kB.
            head -c 700000 /dev/zero | tr '\\0' x
            echo done
            """,
        "bigfail.sh": """\
            #!/bin/sh
            # Writes 700 kB, then fails.
            head -c 700000 /dev/zero | tr '\\0' y
            echo failing
            exit 3
            """,
        "gated.sh": """\
            #!/bin/sh
            # Waits for the file $gate, then writes 700 kB.
            # @param gate "Gate file" required
            while [ ! -e "$gate" ]; do sleep 0.05; done
            head -c 700000 /dev/zero | tr '\\0' z
            echo done
            """,
        "hi.sh": "#!/bin/sh\n# Hi.\necho hi\n",
    }
    LOST_RE = re.compile(r"output lost: database or disk full "
                         r"\((\d+) bytes not stored\)")

    def setUp(self):
        super().setUp()
        tmpfs_state(self, "2m")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.d.args += ["-l", "127.0.0.1:%d" % self.port]
        self.d.start()

    def get(self, path):
        """GET path from the daemon's web server: (status, body)."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (
                    self.port, path), timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def check_lost(self, run_id, expect):
        """A run that lost output says so everywhere a user looks: its
        record (socket, microlightctl status and --json status, the API,
        the web page) and the end of its log. Returns the run."""
        run = self.d.status(run_id)
        what = "run %d: %r" % (run_id, run)
        # The status is the task's: a lost log does not change it.
        self.assertEqual(run["status"], expect, what)
        self.assertIsNotNone(run["finished_at"], what)
        self.assertGreater(run["output_dropped"], 0, what)
        reason = run["reason"] or ""
        m = self.LOST_RE.search(reason)
        self.assertTrue(m, "no loss in the reason: " + what)
        self.assertEqual(int(m.group(1)), run["output_dropped"], what)
        if expect == "failed":
            self.assertEqual(run["exit_code"], 3, what)
            self.assertTrue(reason.startswith("exit code 3; "), what)
        else:
            self.assertEqual(run["exit_code"], 0, what)
        # The same record through every door.
        self.assertEqual(self.d.ctl_json("status", run_id)[-1]["run"]
                         ["reason"], reason)
        text = self.d.ctl("status", run_id).stdout.decode()
        self.assertIn("reason:       " + reason + "\n", text)
        code, body = self.get("/api/v1/runs/%d" % run_id)
        self.assertEqual(code, 200, body)
        self.assertEqual(json.loads(body)["run"]["reason"], reason)
        # The web page: the reason, the count, the marker in the output.
        code, body = self.get("/runs/%d" % run_id)
        self.assertEqual(code, 200, body[:300])
        self.assertIn(b"<dd>" + reason.encode() + b"</dd>", body)
        self.assertIn(b"(%d bytes dropped)" % run["output_dropped"], body)
        self.assertIn(b"[microlight: " + m.group(0).encode() + b"]", body)
        # The log ends with the marker, and is what the record says.
        log = self.d.logs(run_id)
        marker = b"[microlight: " + m.group(0).encode() + b"]\n"
        self.assertTrue(log.endswith(marker), "run %d: log ends %r" % (
            run_id, log[-200:]))
        self.assertEqual(len(log), run["output_size"], what)
        # Every byte the task wrote is stored or counted (the marker may
        # begin with a newline of its own).
        written = 700005 if expect == "succeeded" else 700008
        self.assertIn(run["output_size"] - len(marker) +
                      run["output_dropped"], (written, written + 1), what)
        return run

    def test_disk_full(self):
        ids = {}
        for i in range(8):
            task = ("big", "bigfail")[i % 2]
            p = self.d.ctl("run", task, "--wait")
            # Either the run happened (and ended), or it was refused with
            # a clear error because not even its record fits.
            if p.returncode in (0, 3):
                self.assertEqual(p.returncode, 3 if task == "bigfail" else 0)
                ids[int(p.stdout.split(b"\n", 1)[0])] = \
                    "failed" if task == "bigfail" else "succeeded"
            else:
                self.assertEqual(p.returncode, EX_SOFTWARE, p.stderr)
                self.assertIn(b"could not be recorded", p.stderr)
        free = os.statvfs(self.d.state_dir)
        self.assertLess(free.f_bavail * free.f_frsize, 256 * 1024,
                        "the disk never filled up")
        self.assertTrue(ids)
        lost = []
        for run_id, expect in ids.items():
            run = self.d.status(run_id)
            self.assertEqual(run["status"], expect, run)
            if run["output_dropped"] == 0:
                # Stored whole: no reason beyond the exit, no marker.
                self.assertNotIn("output lost", run["reason"] or "", run)
                log = self.d.logs(run_id)
                self.assertEqual(len(log), run["output_size"], run)
                self.assertNotIn(b"[microlight:", log[-200:])
                continue
            # While the disk is still full.
            self.check_lost(run_id, expect)
            lost.append(run_id)
        self.assertTrue(lost, "no run lost output: disk not full?")
        # Still serving.
        self.d.ctl("ping", check=0)
        self.d.ctl("list", check=0)
        # Room again: what the full disk refused (records, the marker
        # lines) is written within seconds; nothing stays "running" in
        # the database, and each log that lost output ends with its
        # marker there too.
        subprocess.run(["mount", "-o", "remount,size=16m",
                        self.d.state_dir], check=True)

        def written():
            with self.d.db() as db:
                if db.execute("SELECT count(*) FROM runs WHERE "
                              "status = 'running'").fetchone()[0]:
                    return False
                for run_id in lost:
                    last = db.execute(
                        "SELECT data FROM output WHERE run_id = ? ORDER BY "
                        "seq DESC LIMIT 1", (run_id,)).fetchone()
                    if last is None or b"output lost" not in last[0]:
                        return False
                return True
        wait_for(written, timeout=15,
                 what="the refused records and markers to be written")
        for run_id in lost:
            self.check_lost(run_id, ids[run_id])
        self.d.stop()
        with self.d.db() as db:
            self.assertEqual(db.execute("PRAGMA integrity_check")
                             .fetchone()[0], "ok")
            for run_id, expect in ids.items():
                row = db.execute("SELECT status, reason, output_size FROM "
                                 "runs WHERE id = ?", (run_id,)).fetchone()
                self.assertEqual(row["status"], expect, run_id)
                size = db.execute("SELECT coalesce(sum(length(data)), 0) "
                                  "FROM output WHERE run_id = ?",
                                  (run_id,)).fetchone()[0]
                self.assertEqual(size, row["output_size"], run_id)
                if run_id in lost:
                    self.assertRegex(row["reason"], self.LOST_RE)


    def fill(self):
        """Fill the state directory's disk to the last byte with a file;
        return its path."""
        path = os.path.join(self.d.state_dir, "filler")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            block = b"\0" * 65536
            while block:
                try:
                    os.write(fd, block)
                except OSError as e:
                    self.assertEqual(e.errno, errno.ENOSPC)
                    block = block[:len(block) // 2]
        finally:
            os.close(fd)
        return path

    def db_status(self, run_id):
        with self.d.db() as db:
            return db.execute("SELECT status FROM runs WHERE id = ?",
                              (run_id,)).fetchone()[0]

    def test_record_refused_too(self):
        # A run is recorded as running; then the disk fills up to the last
        # byte, and the run writes: neither its output, nor its marker
        # line, nor its end can be written.
        gate = os.path.join(self.d.dir, "gate")
        run_id = self.d.run("gated", "gate=" + gate, wait=False)
        self.d.wait_status(run_id, "running")
        filler = self.fill()
        with open(gate, "w"):
            pass
        self.d.wait_status(run_id, "succeeded")
        self.assertEqual(self.db_status(run_id), "running",
                         "the end got through: the disk is not full")
        # The daemon answers from memory: the run ended, its output is
        # lost and its log says so.
        run = self.check_lost(run_id, "succeeded")
        self.assertEqual(run["output_dropped"], 700005, run)
        # Lists too: never "running" after the run ended.
        listed = self.d.ctl_json("runs", "gated")[-1]["runs"]
        self.assertEqual([(r["id"], r["status"], r["reason"]) for r in
                          listed], [(run_id, "succeeded", run["reason"])])
        last = [t["last_run"] for t in self.d.ctl_json("list")[-1]["tasks"]
                if t["name"] == "gated"]
        self.assertEqual([(r["id"], r["status"]) for r in last],
                         [(run_id, "succeeded")])
        self.assertEqual(self.d.logs(run_id), b"[microlight: output lost: "
                         b"database or disk full (700005 bytes not "
                         b"stored)]\n")
        self.d.ctl("ping", check=0)
        # Room again: the end and the marker are written within seconds.
        os.unlink(filler)
        wait_for(lambda: self.db_status(run_id) == "succeeded", timeout=15,
                 what="the refused record to be written")
        run = self.check_lost(run_id, "succeeded")
        self.assertEqual(run["output_dropped"], 700005, run)
        self.d.stop()
        with self.d.db() as db:
            self.assertEqual(db.execute("PRAGMA integrity_check")
                             .fetchone()[0], "ok")
            rows = db.execute("SELECT data FROM output WHERE run_id = ?",
                              (run_id,)).fetchall()
            self.assertEqual([r[0] for r in rows], [
                b"[microlight: output lost: database or disk full (700005 "
                b"bytes not stored)]\n"])

    def test_runs_for_later_never_accepted_then_dropped(self):
        # Runs for later sent at once are written in batches, one commit
        # for many. On a full disk a batch fails: each of its replies must
        # then be an error, and no run it held may linger in the daemon.
        filler = self.fill()
        base = int(time.time()) + 86400
        # Every fourth is due within the minute: held in memory too.
        reqs = [{"cmd": "run", "task": "hi", "at": "@%d" % (
            base + i if i % 4 else int(time.time()) + 50)}
            for i in range(4000)]
        replies = self.d.pipeline(reqs)
        made = {}
        for r in replies:
            if r["ok"]:
                made[r["run"]["id"]] = r["run"]["scheduled_for"]
            else:
                self.assertEqual(r["error"]["code"], "internal", r)
                self.assertIn("could not be recorded", r["error"]["message"])
        self.assertLess(len(made), len(reqs), "the disk never refused one")
        # The daemon counts and knows exactly those it accepted.
        code, body = self.get("/metrics")
        self.assertEqual(code, 200, body)
        self.assertIn(b"\nmicrolight_runs_scheduled %d\n" % len(made), body)
        status = self.d.pipeline([{"cmd": "status", "run": i} for i in made])
        self.assertEqual({s["run"]["id"]: s["run"]["scheduled_for"]
                          for s in status}, made)
        # Room again: it takes more, with the ids of those it refused,
        # which no run left over in memory answers for.
        os.unlink(filler)
        more = self.d.pipeline(reqs[:500])
        self.assertTrue(all(r["ok"] for r in more), more[:3])
        status = self.d.pipeline([{"cmd": "status", "run": r["run"]["id"]}
                                  for r in more])
        self.assertEqual([(s["run"]["id"], s["run"]["scheduled_for"])
                          for s in status],
                         [(r["run"]["id"], r["run"]["scheduled_for"])
                          for r in more])
        made.update((r["run"]["id"], r["run"]["scheduled_for"]) for r in more)
        # On disk: what it accepted, and nothing else.
        self.d.stop()
        with self.d.db() as db:
            rows = db.execute("SELECT id FROM runs WHERE task = 'hi'") \
                .fetchall()
        self.assertEqual(sorted(r[0] for r in rows), sorted(made))


class RunRecords(DaemonTest):
    CONFIG = "kill-grace 1s\nmax-running 1\n"
    TASKS = {
        "ok.sh": """\
            #!/bin/sh
            # @param who "Who" default=world
            # @param n int default=1
            echo "hi $who"
            """,
        "three.sh": "#!/bin/sh\nexit 3\n",
        "selfkill.sh": "#!/bin/sh\nkill -s KILL $$\n",
        "long.sh": "#!/bin/sh\nexec sleep 60\n",
    }

    def check_common(self, run, task):
        for field in RUN_FIELDS:
            self.assertIn(field, run, "run object lacks %r" % field)
        self.assertIsInstance(run["id"], int)
        self.assertNotIsInstance(run["id"], bool)
        self.assertEqual(run["task"], task)
        self.assertEqual(run["trigger"], "cli")
        self.assertRegex(run["triggered_by"], r"^uid=%d(\(.+\))?$"
                         % os.getuid())
        self.assertIsInstance(run["params"], dict)
        self.assertEqual(run["attempt"], 1)
        self.assertIsNone(run["retry_of"])
        now = datetime.datetime.now(datetime.timezone.utc)
        queued = parse_time(run["queued_at"])
        self.assertLess(abs((now - queued).total_seconds()), 300,
                        "queued_at is not the current UTC time")
        return queued

    def check_finished(self, run, task, status):
        queued = self.check_common(run, task)
        self.assertEqual(run["status"], status)
        started = parse_time(run["started_at"])
        finished = parse_time(run["finished_at"])
        self.assertLessEqual(queued, started)
        self.assertLessEqual(started, finished)

    def test_succeeded_record(self):
        run = self.d.run("ok", "who=bob")
        self.check_finished(run, "ok", "succeeded")
        self.assertEqual(run["exit_code"], 0)
        self.assertIsNone(run["signal"])
        self.assertIsNone(run["reason"])
        # Parameters as given, defaults filled in, all strings.
        self.assertEqual(run["params"], {"who": "bob", "n": "1"})

    def test_failed_record(self):
        run = self.d.run("three", check=3)
        self.check_finished(run, "three", "failed")
        self.assertEqual(run["exit_code"], 3)
        self.assertIsNone(run["signal"])
        self.assertIsInstance(run["reason"], str)

    def test_killed_by_signal_record(self):
        run = self.d.run("selfkill", check=128 + 9)
        self.check_finished(run, "selfkill", "failed")
        self.assertEqual(run["signal"], 9)
        self.assertIsNone(run["exit_code"])
        self.assertIsInstance(run["reason"], str)

    def test_running_and_queued_records(self):
        running = self.d.run("long", wait=False)
        queued = self.d.run("ok", wait=False)
        r = self.d.wait_status(running, "running")
        self.check_common(r, "long")
        parse_time(r["started_at"])
        for field in ("finished_at", "exit_code", "signal", "reason"):
            self.assertIsNone(r[field], "%s of a running run" % field)
        q = self.d.status(queued)
        self.assertEqual(q["status"], "queued")
        self.check_common(q, "ok")
        for field in ("started_at", "finished_at", "exit_code", "signal",
                      "reason"):
            self.assertIsNone(q[field], "%s of a queued run" % field)
        self.d.ctl("cancel", running, check=0)
        self.d.wait_status(queued, "succeeded")

    def test_ids_increase(self):
        ids = [self.d.run("ok")["id"] for _ in range(3)]
        ids.append(self.d.run("three", check=3)["id"])
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), len(ids))
        with self.d.db() as db:
            stored = [r[0] for r in db.execute(
                "SELECT id FROM runs ORDER BY id")]
        self.assertEqual(stored, ids)


class CrashRecovery(DaemonTest):
    CONFIG = "kill-grace 1s\n"

    def setUp(self):
        super().setUp()
        self.pidfile = os.path.join(self.d.dir, "task.pid")
        self.d.add_task("victim.sh", """\
            #!/bin/sh
            echo $$ > %s
            echo "written before the kill"
            echo "to stderr too" >&2
            exec sleep 60
            """ % self.pidfile)
        self.d.ctl("reload", check=0)

    def tearDown(self):
        kill_group_from(self.pidfile)
        super().tearDown()

    def test_kill9_marks_running_run_lost(self):
        run_id = self.d.run("victim", wait=False)
        self.d.wait_status(run_id, "running")
        wait_for(lambda: b"written before the kill" in
                 self.d.logs(run_id) and b"to stderr too" in
                 self.d.logs(run_id), what="the run's output")
        time.sleep(1)   # "a crash loses at most a fraction of a second"
        self.d.kill9()
        self.d.start()

        run = self.d.status(run_id)
        self.assertEqual(run["status"], "lost")
        self.assertIsInstance(run["reason"], str)
        self.assertTrue(run["reason"].strip())
        self.assertIsNotNone(run["finished_at"])
        parse_time(run["finished_at"])

        running = self.d.ctl_json("runs", "--status", "running", check=0)
        self.assertEqual(running[0]["runs"], [])
        with self.d.db() as db:
            self.assertEqual(db.execute(
                "SELECT count(*) FROM runs WHERE status = 'running'"
            ).fetchone()[0], 0)
            self.assertEqual(
                db.execute("PRAGMA integrity_check").fetchone()[0], "ok")

        out = self.d.logs(run_id)
        self.assertIn(b"written before the kill\n", out)
        self.assertIn(b"to stderr too\n", out)
        self.assertEqual(self.d.logs(run_id, "--stream", "stdout"),
                         b"written before the kill\n")


class QueuedSurviveRestart(DaemonTest):
    CONFIG = "kill-grace 1s\nmax-running 1\n"

    def setUp(self):
        super().setUp()
        self.pidfile = os.path.join(self.d.dir, "long.pid")
        self.order = os.path.join(self.d.dir, "order")
        self.d.add_task("long.sh", """\
            #!/bin/sh
            echo $$ > %s
            exec sleep 60
            """ % self.pidfile)
        self.d.add_task("q.sh", """\
            #!/bin/sh
            echo "$MICROLIGHT_RUN_ID" >> %s
            sleep 0.2
            """ % self.order)
        self.d.ctl("reload", check=0)

    def tearDown(self):
        kill_group_from(self.pidfile)
        super().tearDown()

    def start_three(self):
        long_id = self.d.run("long", wait=False)
        self.d.wait_status(long_id, "running")
        q1 = self.d.run("q", wait=False)
        q2 = self.d.run("q", wait=False)
        self.assertEqual(self.d.status(q1)["status"], "queued")
        self.assertEqual(self.d.status(q2)["status"], "queued")
        return long_id, q1, q2

    def check_after_restart(self, q1, q2):
        r1 = self.d.wait_status(q1, "succeeded", timeout=30)
        r2 = self.d.wait_status(q2, "succeeded", timeout=30)
        with open(self.order) as f:
            self.assertEqual(f.read().split(), [str(q1), str(q2)])
        self.assertLessEqual(parse_time(r1["finished_at"]),
                             parse_time(r2["started_at"]))

    def test_sigterm_then_restart(self):
        long_id, q1, q2 = self.start_three()
        self.assertEqual(self.d.stop(), 0)
        self.assertFalse(os.path.exists(self.order),
                         "a queued run started during shutdown")
        with self.d.db() as db:
            rows = {r["id"]: r for r in db.execute(
                "SELECT id, status, reason FROM runs")}
        self.assertEqual(rows[long_id]["status"], "cancelled")
        self.assertEqual(rows[long_id]["reason"], "daemon shutdown")
        self.assertEqual(rows[q1]["status"], "queued")
        self.assertEqual(rows[q2]["status"], "queued")
        self.d.start()
        self.check_after_restart(q1, q2)
        self.assertEqual(self.d.status(long_id)["status"], "cancelled")

    def test_kill9_then_restart(self):
        long_id, q1, q2 = self.start_three()
        self.d.kill9()
        self.d.start()
        self.check_after_restart(q1, q2)
        self.assertEqual(self.d.status(long_id)["status"], "lost")


class SecondDaemon(DaemonTest):
    TASKS = {"hello.sh": "#!/bin/sh\necho hello\n"}

    def second(self, state_dir, sock):
        cmd = [MICROLIGHTD, "-f", "-c", self.d.config, "-T",
               self.d.tasks_dir, "-d", state_dir, "-s", sock, "-l", "none"]
        return subprocess.run(cmd, capture_output=True, timeout=30,
                              env=self.d.env, stdin=subprocess.DEVNULL)

    def check_first_works(self):
        self.assertTrue(os.path.exists(self.d.socket))
        self.assertIsNone(self.d.proc.poll(), "the first daemon exited")
        run = self.d.run("hello")
        self.assertEqual(run["status"], "succeeded")
        self.assertEqual(self.d.logs(run["id"]), b"hello\n")

    def test_same_state_dir_refused(self):
        pid = self.d.request({"cmd": "ping"})["pid"]
        other = os.path.join(self.d.dir, "other.sock")
        p = self.second(self.d.state_dir, other)
        err = p.stderr.decode()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(self.d.state_dir, err)
        self.assertIn(str(pid), err)
        self.assertIn("another microlightd", err)
        self.assertFalse(os.path.exists(other),
                         "the refused daemon left a socket")
        self.check_first_works()

    def test_same_socket_refused(self):
        state2 = os.path.join(self.d.dir, "state2")
        p = self.second(state2, self.d.socket)
        err = p.stderr.decode()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("another microlightd is listening", err)
        self.assertIn(self.d.socket, err)
        self.check_first_works()


class History(DaemonTest):
    TASKS = {
        "a.sh": "#!/bin/sh\necho a\n",
        "b.sh": "#!/bin/sh\nexit 1\n",
    }

    def runs(self, *args):
        return self.d.ctl_json("runs", *args, check=0)[0]["runs"]

    def test_runs_after_restart_and_filters(self):
        ids = {}
        for task in ("a", "b", "a", "b", "a"):
            run = self.d.run(task, check=0 if task == "a" else 1)
            ids.setdefault(task, []).append(run["id"])
        self.assertEqual(self.d.stop(), 0)
        self.d.start()

        every = sorted(ids["a"] + ids["b"], reverse=True)
        self.assertEqual([r["id"] for r in self.runs()], every)
        self.assertEqual([r["id"] for r in self.runs("a")],
                         sorted(ids["a"], reverse=True))
        self.assertTrue(all(r["task"] == "a" for r in self.runs("a")))
        self.assertEqual([r["id"] for r in self.runs("-n", "2")], every[:2])
        failed = self.runs("--status", "failed")
        self.assertEqual([r["id"] for r in failed],
                         sorted(ids["b"], reverse=True))
        self.assertTrue(all(r["status"] == "failed" for r in failed))
        self.assertEqual([r["id"] for r in self.runs("b", "-n", "1")],
                         [max(ids["b"])])
        self.assertEqual(self.runs("--status", "cancelled"), [])

        # The human table shows the same, newest first.
        out = self.d.ctl("runs", check=0).stdout.decode().splitlines()
        self.assertTrue(out[0].startswith("ID"))
        self.assertEqual([int(line.split()[0]) for line in out[1:]], every)


if __name__ == "__main__":
    main()
