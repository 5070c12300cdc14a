#!/usr/bin/env python3
"""microlightctl backup FILE (issue 3, point 5): a consistent copy of the
database, made with SQLite's online backup API in steps while runs go on;
the copy stands alone and passes integrity_check; FILE is replaced
atomically."""

import base64
import glob

from harness import *

RUN_COLUMNS = "id, task, status, trigger, triggered_by, params, attempt, " \
    "retry_of, queued_at, started_at, finished_at, exit_code, signal, " \
    "reason, output_size, output_dropped"


def open_copy(path):
    conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def rows(conn, sql, *args):
    return [tuple(r) for r in conn.execute(sql, args)]


def leftovers(path):
    """Temporary files the client may have left beside path."""
    return glob.glob(glob.escape(path) + ".tmp*")


class BackupTest(ScratchTest):
    def backup_files_in_state_dir(self):
        return [f for f in os.listdir(self.d.state_dir) if "backup" in f]

    def check_standalone(self, path):
        """A database file of its own: rollback journal, not WAL (header
        bytes 18-19 are 1, 1), and no -wal or -shm beside it."""
        with open(path, "rb") as f:
            header = f.read(100)
        self.assertEqual(header[:16], b"SQLite format 3\0")
        self.assertEqual(header[18:20], b"\x01\x01",
                         "the copy is in WAL mode: it needs its -wal")
        for suffix in ("-wal", "-shm", "-journal"):
            self.assertFalse(os.path.exists(path + suffix),
                             "%s%s beside the copy" % (path, suffix))

    def check_integrity(self, conn):
        self.assertEqual(rows(conn, "PRAGMA integrity_check"), [("ok",)])
        self.assertEqual(rows(conn, "PRAGMA foreign_key_check"), [])


class Copy(BackupTest):
    TASKS = {
        "hello.sh": "#!/bin/sh\necho hello $MICROLIGHT_RUN_ID\n",
        "fail.sh": "#!/bin/sh\necho oops >&2\nexit 3\n",
        "bin.py": "#!@PYTHON@\nimport os\nos.write(1, bytes(range(256)) * 4)"
                  "\nos.write(2, b'\\xff\\x00err')\n",
    }

    def test_copy_matches_the_live_database(self):
        d = self.d
        for task, rc in (("hello", 0), ("fail", 3), ("bin", 0),
                         ("hello", 0), ("fail", 3)):
            d.run(task, check=rc)
        dest = os.path.join(self.scratch, "copy.db")
        p = d.ctl("backup", dest, check=0)
        size = os.path.getsize(dest)
        self.assertIn(("%d bytes written to %s" % (size, dest)).encode(),
                      p.stdout)
        self.check_standalone(dest)
        live, copy = d.db(), open_copy(dest)
        try:
            self.check_integrity(copy)
            self.assertNotEqual(
                copy.execute("PRAGMA journal_mode").fetchone()[0].lower(),
                "wal")
            live_runs = rows(live, "SELECT %s FROM runs ORDER BY id"
                             % RUN_COLUMNS)
            self.assertEqual(len(live_runs), 5)
            self.assertEqual(rows(copy, "SELECT %s FROM runs ORDER BY id"
                                  % RUN_COLUMNS), live_runs)
            sql = "SELECT run_id, seq, stream, data FROM output " \
                  "ORDER BY run_id, seq"
            self.assertEqual(rows(copy, sql), rows(live, sql))
            self.assertEqual(rows(copy, "PRAGMA user_version"),
                             rows(live, "PRAGMA user_version"))
        finally:
            live.close()
            copy.close()
        self.assertEqual([r[2] for r in live_runs],
                         ["succeeded", "failed", "succeeded", "succeeded",
                          "failed"])
        self.assertEqual(leftovers(dest), [])
        # The daemon's own copy in the state directory is gone.
        wait_for(lambda: not self.backup_files_in_state_dir(), timeout=5,
                 what="the daemon's temporary copy to be removed")

    def test_copy_serves_a_new_daemon(self):
        d = self.d
        first = d.run("hello")["id"]
        dest = os.path.join(self.scratch, "copy.db")
        d.ctl("backup", dest, check=0)
        d.stop()
        # Restore: the copy becomes the database of a daemon.
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(d.db_path + suffix):
                os.unlink(d.db_path + suffix)
        shutil.copy(dest, d.db_path)
        os.chmod(d.db_path, 0o600)
        d.start()
        self.assertEqual(d.status(first)["status"], "succeeded")
        self.assertEqual(d.logs(first), b"hello %d\n" % first)
        self.assertGreater(d.run("hello")["id"], first)


class DuringRuns(BackupTest):
    """Several MB from earlier runs, a run writing steadily: ping answers
    during the backup and while its reader does not read, the run's
    output is stored meanwhile, and the copy is consistent."""

    CONFIG = "kill-grace 2s\nmax-log-size 64M\n"
    TASKS = {
        "big.sh": """\
            #!/bin/sh
            # 1.5 MB, in many chunks.
            i=0
            while [ $i -lt 30 ]; do
                head -c 50000 /dev/zero | tr '\\0' "$(($i % 10))"
                i=$((i + 1))
            done
            """,
        "steady.py": """\
            #!@PYTHON@
            # Writes a line every 10 ms until gate 1 opens.
            @PY_GATE@
            path = "@SCRATCH@/go-%s-1" % os.environ["MICROLIGHT_RUN_ID"]
            for i in range(6000):
                put(1, b"steady line %d\\n" % i)
                if os.path.exists(path):
                    break
                time.sleep(0.01)
            """,
    }

    def test_backup_while_a_run_writes(self):
        d = self.d
        ended = [d.run("big")["id"] for _ in range(4)]
        steady = d.run("steady", wait=False)
        d.wait_status(steady, "running")
        wait_for(lambda: d.status(steady)["output_size"] > 1000,
                 what="the steady run's output")
        with d.db() as live:
            ended_before = rows(live, "SELECT id FROM runs WHERE "
                                "finished_at IS NOT NULL ORDER BY id")
        live.close()
        self.assertEqual(ended_before, [(i,) for i in ended])

        dest = os.path.join(self.scratch, "during.db")
        t0 = time.monotonic()
        proc = self.popen_ctl("backup", dest)
        pings = 0
        while proc.poll() is None:
            self.assertTrue(d.request({"cmd": "ping"}, timeout=10)["ok"])
            pings += 1
            self.assertLess(time.monotonic() - t0, 30,
                            "the backup took more than 30 s")
        out, err = proc.communicate()
        self.assertEqual(proc.returncode, 0, err)
        self.assertGreaterEqual(pings, 1, "no ping during the backup")
        self.assertEqual(d.status(steady)["status"], "running",
                         "the steady run ended before the backup did")
        self.check_standalone(dest)
        self.assertGreater(os.path.getsize(dest), 5 << 20)

        copy, live = open_copy(dest), d.db()
        try:
            self.check_integrity(copy)
            sql = "SELECT %s FROM runs WHERE id = ?" % RUN_COLUMNS
            out_sql = "SELECT seq, stream, data FROM output " \
                      "WHERE run_id = ? ORDER BY seq"
            for (run_id,) in ended_before:
                self.assertEqual(rows(copy, sql, run_id),
                                 rows(live, sql, run_id))
                self.assertEqual(rows(copy, out_sql, run_id),
                                 rows(live, out_sql, run_id))
            # The steady run is in the copy, with a prefix of its output.
            status = rows(copy, "SELECT status FROM runs WHERE id = ?",
                          steady)
            self.assertEqual(status, [("running",)])
            copied = rows(copy, out_sql, steady)
            self.assertTrue(copied, "no output of the steady run copied")
            self.assertEqual(copied, rows(live, out_sql, steady)
                             [:len(copied)])
        finally:
            copy.close()
            live.close()
        self.go(steady)
        d.wait_status(steady, "succeeded")
        self.assertEqual(leftovers(dest), [])
        wait_for(lambda: not self.backup_files_in_state_dir(), timeout=5,
                 what="the daemon's temporary copy to be removed")


    def test_served_while_the_reader_waits(self):
        """A client that stops reading its backup holds the backup, not
        the daemon: pings are answered and the steady run's output is
        stored while the rest of the copy waits; then it comes whole."""
        d = self.d
        for _ in range(4):
            d.run("big")
        steady = d.run("steady", wait=False)
        d.wait_status(steady, "running")
        s = d.connect(timeout=60)
        try:
            s.sendall(b'{"cmd":"backup"}\n')
            f = s.makefile("rb")
            reply = json.loads(f.readline())
            self.assertTrue(reply["ok"], reply)
            # Far more than the socket and the daemon hold for a client.
            self.assertGreater(reply["size"], 5 << 20)
            first = json.loads(f.readline())
            self.assertEqual(first["event"], "data", first)
            data = bytearray(base64.b64decode(first["data"]))
            # The reader stops here; the daemon goes on.
            self.assertTrue(d.request({"cmd": "ping"})["ok"])
            before = d.status(steady)["output_size"]
            wait_for(lambda: d.status(steady)["output_size"] > before,
                     what="the steady run's output stored meanwhile")
            # Then the rest, whole.
            while True:
                m = json.loads(f.readline())
                if m.get("event") != "data":
                    break
                data += base64.b64decode(m["data"])
            self.assertEqual(m, {"event": "end", "size": reply["size"]})
            self.assertEqual(len(data), reply["size"])
        finally:
            s.close()
        path = os.path.join(self.scratch, "raw.db")
        with open(path, "wb") as out:
            out.write(data)
        self.check_standalone(path)
        copy = open_copy(path)
        try:
            self.check_integrity(copy)
            self.assertEqual(rows(copy, "SELECT status FROM runs WHERE "
                                  "id = ?", steady), [("running",)])
        finally:
            copy.close()
        self.go(steady)
        d.wait_status(steady, "succeeded")


class DuringPrune(BackupTest):
    """A backup while 295 runs are pruned and their pages given back: the
    copy is one consistent moment of the database."""

    CONFIG = "kill-grace 2s\nmax-running 8\n"
    TASKS = {"many.sh": """\
        #!/bin/sh
        # @concurrency 8
        i=0
        while [ $i -lt 40 ]; do
            echo "line $i of run $MICROLIGHT_RUN_ID, padded to some length"
            i=$((i + 1))
        done
        """}

    def test_backup_during_prune(self):
        d = self.d
        with d.connect() as s:
            f = s.makefile("rb")
            for _ in range(300):
                s.sendall(b'{"cmd":"run","task":"many"}\n')
                self.assertTrue(json.loads(f.readline())["ok"])

        def ended():
            with d.db() as db:
                n = db.execute("SELECT count(*) FROM runs WHERE "
                               "finished_at IS NOT NULL").fetchone()[0]
            db.close()
            return n
        wait_for(lambda: ended() == 300, timeout=45, what="300 runs to end")
        with open(d.config, "w") as f:
            f.write(self.CONFIG + "keep-runs 5\n")
        d.ctl("reload", check=0)
        wait_for(lambda: ended() < 300, timeout=10, what="the prune to begin",
                 interval=0.005)
        dest = os.path.join(self.scratch, "copy.db")
        d.ctl("backup", dest, check=0)
        wait_for(lambda: ended() == 5, timeout=20, what="the prune to end")
        with open_copy(dest) as copy:
            self.check_integrity(copy)
            n = rows(copy, "SELECT count(*) FROM runs")[0][0]
            self.assertGreaterEqual(n, 5)
            self.assertLess(n, 300)
            # Each run in the copy has all of its output, and no output
            # is left of a run that is not.
            self.assertEqual(rows(copy, "SELECT count(*) FROM output "
                                  "WHERE run_id NOT IN (SELECT id FROM "
                                  "runs)"), [(0,)])
            self.assertEqual(rows(copy, "SELECT r.id FROM runs r LEFT "
                                  "JOIN output o ON o.run_id = r.id "
                                  "GROUP BY r.id HAVING r.output_size != "
                                  "coalesce(sum(length(o.data)), 0)"), [])
        copy.close()
        with d.db() as live:
            self.check_integrity(live)
        live.close()


class Files(BackupTest):
    TASKS = {"hello.sh": "#!/bin/sh\necho hello\n"}

    def test_existing_file_replaced_atomically(self):
        d = self.d
        d.run("hello")
        dest = os.path.join(self.scratch, "copy.db")
        with open(dest, "w") as f:
            f.write("an older copy\n")
        # A second name for the old file: it must keep the old content
        # (FILE is renamed over, never written in place).
        os.link(dest, dest + ".old")
        ino = os.stat(dest).st_ino
        d.ctl("backup", dest, check=0)
        self.assertNotEqual(os.stat(dest).st_ino, ino)
        with open(dest + ".old") as f:
            self.assertEqual(f.read(), "an older copy\n")
        self.check_standalone(dest)
        with open_copy(dest) as copy:
            self.check_integrity(copy)
            self.assertEqual(rows(copy, "SELECT count(*) FROM runs"), [(1,)])
        copy.close()
        self.assertEqual(leftovers(dest), [])
        # Again over the copy itself.
        d.run("hello")
        d.ctl("backup", dest, check=0)
        with open_copy(dest) as copy:
            self.assertEqual(rows(copy, "SELECT count(*) FROM runs"), [(2,)])
        copy.close()
        self.assertEqual(leftovers(dest), [])

    def test_two_backups_at_once(self):
        d = self.d
        for _ in range(3):
            d.run("hello")
        dests = [os.path.join(self.scratch, "copy%d.db" % i)
                 for i in range(2)]
        procs = [self.popen_ctl("backup", dest) for dest in dests]
        for proc, dest in zip(procs, dests):
            out, err = proc.communicate(timeout=30)
            self.assertEqual(proc.returncode, 0, err)
            with open_copy(dest) as copy:
                self.check_integrity(copy)
                self.assertEqual(rows(copy, "SELECT count(*) FROM runs"),
                                 [(3,)])
            copy.close()
            self.assertEqual(leftovers(dest), [])
        wait_for(lambda: not self.backup_files_in_state_dir(), timeout=5,
                 what="the daemon's temporary copies to be removed")

    def test_directory_missing(self):
        dest = os.path.join(self.scratch, "no-such-dir", "copy.db")
        p = self.d.ctl("backup", dest)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(os.path.dirname(dest).encode(), p.stderr)
        self.assertFalse(os.path.exists(os.path.dirname(dest)))
        # The daemon is fine.
        self.d.ctl("ping", check=0)

    def test_usage(self):
        p = self.d.ctl("backup", check=EX_USAGE)
        self.assertIn(b"backup FILE", p.stderr)
        self.d.ctl("backup", "a.db", "b.db", check=EX_USAGE)
        self.assertEqual(os.listdir(self.scratch), [])

    def test_daemon_not_running(self):
        self.d.stop()
        dest = os.path.join(self.scratch, "copy.db")
        self.d.ctl("backup", dest, check=EX_UNAVAILABLE)
        self.assertFalse(os.path.exists(dest))
        self.assertEqual(leftovers(dest), [],
                         "a temporary file was left behind")

    def test_client_gone_mid_backup(self):
        """A client that asks for a backup and goes away: the daemon
        drops its copy and carries on."""
        for _ in range(3):
            self.d.run("hello")
        s = self.d.connect()
        s.sendall(b'{"cmd":"backup"}\n')
        s.close()
        time.sleep(0.2)
        wait_for(lambda: not self.backup_files_in_state_dir(), timeout=5,
                 what="the daemon's temporary copy to be removed")
        self.d.ctl("ping", check=0)
        dest = os.path.join(self.scratch, "copy.db")
        self.d.ctl("backup", dest, check=0)
        with open_copy(dest) as copy:
            self.check_integrity(copy)
        copy.close()


if __name__ == "__main__":
    main()
