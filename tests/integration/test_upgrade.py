#!/usr/bin/env python3
"""Upgrades (issue 6, part 6): a database made by the first schema version
migrates forward when microlightd starts on it, with every run intact.

Two version-1 databases are upgraded:

  fixtures/schema-v1.db     made by a version-1 daemon: three finished
                            runs (tasks hi and fail), two with output;
  fixtures/make-schema-v1.py  writes one with runs of every kind: left
                            running, left queued (one of a task that no
                            longer exists), killed by a signal, timed out,
                            cancelled, retried; output with NUL bytes,
                            invalid UTF-8 and every byte value in 301
                            chunks. Run it by hand to look at one:
                            python3 make-schema-v1.py /tmp/v1.db

Both must have exactly the tables and indexes of daemon/db.c's first
migration (checked below, against the source). For each: after a start,
PRAGMA user_version is the current version (the number of migrations in
daemon/db.c, not a number written here), the schema is that of a new
database, integrity_check is ok; every run reads back through
microlightctl --json runs / status field by field as it was stored, and
microlightctl logs gives the same bytes; a run left running is lost, a
run left queued starts (or fails if its task is gone), as after any
restart; new runs get ids above the old ones; a second start changes
nothing. A database newer than the daemon, read-only, not a database at
all, or whose migration fails part-way is refused and left as it was."""

import contextlib
import datetime
import hashlib
import types

from harness import *

FIXTURES = os.path.join(SRCDIR, "tests", "integration", "fixtures")
V1_FIXTURE = os.path.join(FIXTURES, "schema-v1.db")
GENERATOR = os.path.join(FIXTURES, "make-schema-v1.py")

HI = """\
    #!/bin/sh
    # Hi.
    # @param who "Who" default=world
    echo "hi $who"
    """


def db_migrations():
    """daemon/db.c's db_migrations[], each entry's string literals
    concatenated as the C compiler does."""
    with open(os.path.join(SRCDIR, "daemon", "db.c")) as f:
        src = f.read()
    m = re.search(r"db_migrations\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "no db_migrations[] in daemon/db.c"
    assert re.search(r"#define\s+DB_VERSION\s+\(int\)\(sizeof db_migrations"
                     r" / sizeof db_migrations\[0\]\)", src), \
        "DB_VERSION is no longer the number of migrations: fix this test"
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    entries, cur = [], []
    for lit, comma in re.findall(r'"((?:[^"\\\n]|\\.)*)"|(,)', body):
        if comma:
            entries.append("".join(cur))
            cur = []
        else:
            cur.append(re.sub(r"\\(.)", lambda e: {"n": "\n", "t": "\t"}.get(
                e.group(1), e.group(1)), lit))
    if cur:
        entries.append("".join(cur))
    return entries


MIGRATIONS = db_migrations()
DB_VERSION = len(MIGRATIONS)        # what a start must bring a database to


def load_generator():
    """fixtures/make-schema-v1.py as a module (not imported: no bytecode
    is written beside it)."""
    module = types.ModuleType("make_schema_v1")
    module.__file__ = GENERATOR
    with open(GENERATOR) as f:
        exec(compile(f.read(), GENERATOR, "exec"), module.__dict__)
    return module


GEN = load_generator()


def rfc3339(ms):
    """The daemon's time format (SPEC section 3) of ms since the epoch."""
    if ms is None:
        return None
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


@contextlib.contextmanager
def opened(path, immutable=False):
    """A read-only connection to a database file, closed afterwards.
    immutable: a file no process has open and without a -wal (a fixture
    as made): nothing at all is written beside it."""
    uri = "file:%s?mode=ro%s" % (path, "&immutable=1" if immutable else "")
    conn = sqlite3.connect(uri, uri=True, timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def one(conn, sql):
    return conn.execute(sql).fetchone()[0]


def schema(conn):
    """Tables and indexes: (type, name, tbl_name, sql), sorted."""
    return sorted(conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE name NOT LIKE 'sqlite_%'"))


def snapshot(path):
    """All a database holds: its version, schema and every row."""
    with opened(path) as conn:
        snap = {"user_version": one(conn, "PRAGMA user_version"),
                "schema": schema(conn)}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE "
                                     "type = 'table' ORDER BY name"):
            cur = conn.execute('SELECT * FROM "%s"' % table)
            n = len(cur.description)
            snap[table] = conn.execute(
                'SELECT * FROM "%s" ORDER BY %s' % (
                    table, ", ".join(str(i + 1) for i in range(n)))
            ).fetchall()
    return snap


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_v1(path):
    """What a version-1 file holds, read before any daemon touches it:
    runs by id (column -> value), their output rows, the last id given."""
    with opened(path, immutable=True) as conn:
        conn.row_factory = sqlite3.Row
        assert one(conn, "PRAGMA user_version") == 1
        runs = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM runs")}
        output = {i: [tuple(o) for o in conn.execute(
            "SELECT seq, stream, time, data FROM output WHERE run_id = ? "
            "ORDER BY seq", (i,))] for i in runs}
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE "
                           "name = 'runs'").fetchone()
    return runs, output, seq[0] if seq else 0


def expected_object(row):
    """The run object (SPEC section 3) of a version-1 row; the columns of
    later versions are null."""
    return {
        "id": row["id"], "task": row["task"], "status": row["status"],
        "trigger": row["trigger"], "triggered_by": row["triggered_by"],
        "params": json.loads(row["params"]), "attempt": row["attempt"],
        "retry_of": row["retry_of"],
        "queued_at": rfc3339(row["queued_at"]),
        "started_at": rfc3339(row["started_at"]),
        "finished_at": rfc3339(row["finished_at"]),
        "exit_code": row["exit_code"], "signal": row["signal"],
        "reason": row["reason"], "priority": row["priority"],
        "output_size": row["output_size"],
        "output_dropped": row["output_dropped"],
        "scheduled_for": None, "chain_of": None, "schedule": None,
        "rerun_of": None,
    }


class Fixtures(unittest.TestCase):
    """Both version-1 databases have exactly migration 1's schema."""

    def statements(self):
        return sorted(s.strip() for s in MIGRATIONS[0].split(";")
                      if s.strip())

    def check_v1_file(self, path):
        with opened(path, immutable=True) as conn:
            self.assertEqual(one(conn, "PRAGMA user_version"), 1)
            self.assertEqual(one(conn, "PRAGMA integrity_check"), "ok")
            # Made before auto-vacuum, in WAL, as the version-1 daemon did.
            self.assertEqual(one(conn, "PRAGMA auto_vacuum"), 0)
            with open(path, "rb") as f:
                self.assertEqual(f.read(20)[18:20], b"\x02\x02", "not WAL")
            self.assertEqual(sorted(r[3] for r in schema(conn)
                                    if r[3] is not None),
                             self.statements())
            self.assertGreater(one(conn, "SELECT count(*) FROM runs"), 0)

    def test_migration_1_in_the_source(self):
        self.assertGreaterEqual(DB_VERSION, 2)
        self.assertIn("CREATE TABLE runs (", MIGRATIONS[0])
        self.assertEqual(GEN.V1_SCHEMA, MIGRATIONS[0],
                         "make-schema-v1.py's schema is not migration 1")

    def test_committed_fixture_is_v1(self):
        self.check_v1_file(V1_FIXTURE)

    def test_generated_fixture_is_v1(self):
        tmp = tempfile.mkdtemp(prefix="ml-v1-")
        self.addCleanup(shutil.rmtree, tmp, True)
        a, b = os.path.join(tmp, "a.db"), os.path.join(tmp, "b.db")
        GEN.make(a)
        self.assertEqual(sorted(os.listdir(tmp)), ["a.db"])
        self.check_v1_file(a)
        runs, output, _ = read_v1(a)
        statuses = {r["status"] for r in runs.values()}
        for status in ("succeeded", "failed", "timed_out", "cancelled",
                       "running", "queued"):
            self.assertIn(status, statuses)
        data = b"".join(d for chunks in output.values() for *_, d in chunks)
        self.assertIn(b"\0", data)
        self.assertRaises(UnicodeDecodeError, data.decode)
        self.assertEqual(set(data), set(range(256)))
        GEN.make(b)
        self.assertEqual(snapshot(a), snapshot(b), "not deterministic")


class UpgradeChecks:
    """The upgrade of one version-1 database (make_v1 writes it)."""

    START = False
    CONFIG = "kill-grace 2s\n" \
        "keep-runs 0\nkeep-days 0\n"    # the old runs are not pruned here
    TASKS = {"hi.sh": HI}

    def make_v1(self, path):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        os.mkdir(self.d.state_dir, 0o700)
        self.make_v1(self.d.db_path)
        os.chmod(self.d.db_path, 0o600)
        self.v1, self.v1_output, self.v1_seq = read_v1(self.d.db_path)
        self.last_old_id = max([self.v1_seq] + list(self.v1))

    def upgrade(self):
        """Start on the version-1 file; the wall-clock window of the start
        (seconds), in which recovered runs get their times."""
        before = time.time()
        self.d.start()
        return before - 1, time.time() + 1

    def ctl_runs(self):
        reply = self.d.ctl_json("runs", "-n", 1000, check=0)
        return {r["id"]: r for r in reply[0]["runs"]}

    def ctl_status(self, run_id):
        p = self.d.ctl("--json", "status", run_id)
        reply = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertTrue(reply[0]["ok"], reply)
        # status of an ended run exits as run --wait would have.
        self.assertEqual(p.returncode, run_exit(reply[0]["run"]), reply)
        return reply[0]["run"]

    def wait_final(self, run_id):
        return self.d.wait_status(run_id, ("succeeded", "failed"))

    def check_object(self, run, want, what):
        for key, value in want.items():
            self.assertIn(key, run, "%s: no %r" % (what, key))
            self.assertEqual(run[key], value, "%s: %s" % (what, key))

    def check_log(self, run_id, chunks):
        out = b"".join(d for _, _, _, d in chunks)
        self.assertEqual(self.d.logs(run_id), out, "logs %d" % run_id)
        for name, stream in (("stdout", 1), ("stderr", 2)):
            self.assertEqual(
                self.d.logs(run_id, "--stream", name),
                b"".join(d for _, s, _, d in chunks if s == stream),
                "logs %d --stream %s" % (run_id, name))

    # the tests ---------------------------------------------------------

    def test_schema_migrated(self):
        self.upgrade()
        log = self.d.log_text()
        # One line for the upgrade; a step at a time only with -v.
        self.assertEqual(re.findall(r"database schema upgraded from "
                                    r"version (\d+) to (\d+)", log),
                         [("1", str(DB_VERSION))], log)
        self.assertNotIn("database schema at version", log)
        self.d.stop()
        fresh = Daemon(config=self.CONFIG)
        try:
            fresh.stop()
            with opened(fresh.db_path) as conn:
                self.assertEqual(one(conn, "PRAGMA user_version"),
                                 DB_VERSION)
                fresh_schema = schema(conn)
        finally:
            fresh.cleanup()
        with opened(self.d.db_path) as conn:
            self.assertEqual(one(conn, "PRAGMA user_version"), DB_VERSION)
            self.assertEqual(schema(conn), fresh_schema,
                             "the upgraded schema is not a new database's")
            # The last migrations' tables (API tokens, notifications):
            # no token; the runs lost at the start changed their tasks'
            # health, and their notices, with no notifier to tell, are
            # delivered; the runs have their notice column.
            for table in ("tokens", "notices", "task_health"):
                self.assertIn(("table", table),
                              {(r[0], r[1]) for r in fresh_schema})
            self.assertEqual(one(conn, "SELECT count(*) FROM tokens"), 0)
            self.assertEqual(one(conn, "SELECT count(*) FROM notices WHERE "
                                 "delivered = 0"), 0)
            self.assertEqual(one(conn, "SELECT count(*) FROM runs WHERE "
                                 "notice IS NOT NULL"), 0)
            self.assertEqual(one(conn, "PRAGMA integrity_check"), "ok")
            self.assertEqual(conn.execute("PRAGMA foreign_key_check")
                             .fetchall(), [])
            self.assertEqual(one(conn, "PRAGMA journal_mode"), "wal")
            self.assertEqual(one(conn, "PRAGMA auto_vacuum"), 2,
                             "not switched to incremental auto-vacuum")

    def test_runs_intact(self):
        t0, t1 = self.upgrade()
        # Runs left queued start now, as after any restart: let them end.
        for run_id, row in self.v1.items():
            if row["status"] == "queued":
                self.wait_final(run_id)
        listed = self.ctl_runs()
        self.assertEqual(sorted(listed), sorted(self.v1),
                         "runs after the upgrade")
        for run_id, row in sorted(self.v1.items()):
            want = expected_object(row)
            what = "run %d (%s in v1)" % (run_id, row["status"])
            run = self.ctl_status(run_id)
            self.assertEqual(run, listed[run_id], what + ": status != runs")
            if row["status"] == "running":
                # Left running by the daemon that stopped: lost, with a
                # reason and the time of the start that found it.
                self.assertEqual(run["status"], "lost", what)
                self.assertIsInstance(run["reason"], str, what)
                self.assertTrue(run["reason"].strip(), what)
                self.assertTrue(t0 <= parse_time(run["finished_at"]) <= t1,
                                what + ": finished_at %s" %
                                run["finished_at"])
                for key in ("status", "reason", "finished_at"):
                    del want[key]
            elif row["status"] == "queued":
                # Left queued: it waited, and started after the upgrade.
                self.assertTrue(t0 <= parse_time(run["started_at"]) <= t1
                                + 20, what + ": started_at")
                self.assertTrue(t0 <= parse_time(run["finished_at"]) <= t1
                                + 20, what + ": finished_at")
                if row["task"] + ".sh" in self.TASKS:
                    out = ("hi %s\n" % want["params"]["who"]).encode()
                    self.assertEqual(run["status"], "succeeded", what)
                    self.assertEqual(run["exit_code"], 0, what)
                    self.assertIsNone(run["reason"], what)
                    self.assertEqual(run["output_size"], len(out), what)
                    self.assertEqual(self.d.logs(run_id), out, what)
                else:
                    self.assertEqual(run["status"], "failed", what)
                    self.assertIn("no longer exists", run["reason"], what)
                for key in ("status", "started_at", "finished_at",
                            "exit_code", "signal", "reason", "output_size"):
                    del want[key]
            self.check_object(run, want, what)
            if row["status"] != "queued":
                self.check_log(run_id, self.v1_output[run_id])
        # And the chunks themselves, byte for byte with their streams,
        # sequence numbers and times.
        with self.d.db() as conn:
            for run_id in self.v1:
                if self.v1[run_id]["status"] == "queued":
                    continue
                self.assertEqual(
                    [tuple(o) for o in conn.execute(
                        "SELECT seq, stream, time, data FROM output WHERE "
                        "run_id = ? ORDER BY seq", (run_id,))],
                    self.v1_output[run_id], "output of run %d" % run_id)
        conn.close()
        for state in ("running", "queued"):
            self.assertEqual(self.d.ctl_json("runs", "--status", state,
                                             check=0)[0]["runs"], [], state)

    def test_new_runs_after_upgrade(self):
        self.upgrade()
        run = self.d.run("hi", "who=new")
        self.assertEqual(run["status"], "succeeded")
        self.assertEqual(run["id"], self.last_old_id + 1)
        self.assertEqual(self.d.logs(run["id"]), b"hi new\n")
        self.assertEqual(self.ctl_status(run["id"])["params"],
                         {"who": "new"})
        self.d.stop()
        self.d.start()
        again = self.d.run("hi")
        self.assertEqual(again["id"], run["id"] + 1)
        self.assertEqual(self.d.logs(again["id"]), b"hi world\n")

    def test_second_start_changes_nothing(self):
        self.upgrade()
        for run_id, row in self.v1.items():
            if row["status"] == "queued":
                self.wait_final(run_id)
        self.d.run("hi", "who=between")
        listed = self.ctl_runs()
        self.d.stop()
        first = snapshot(self.d.db_path)
        self.assertEqual(first["user_version"], DB_VERSION)
        mark = len(self.d.log_text())
        self.d.start()
        self.assertEqual(self.ctl_runs(), listed)
        self.d.stop()
        log = self.d.log_text()[mark:]
        for text in ("database schema", "incremental vacuum",
                     "marked lost", "queued runs restored"):
            self.assertNotIn(text, log)
        self.assertEqual(snapshot(self.d.db_path), first,
                         "the second start changed the database")
        with opened(self.d.db_path) as conn:
            self.assertEqual(one(conn, "PRAGMA integrity_check"), "ok")


class CommittedV1(UpgradeChecks, DaemonTest):
    """fixtures/schema-v1.db, made by a version-1 daemon."""

    def make_v1(self, path):
        shutil.copy(V1_FIXTURE, path)


class GeneratedV1(UpgradeChecks, DaemonTest):
    """The database fixtures/make-schema-v1.py writes: runs of every
    kind, unfinished ones too."""

    def make_v1(self, path):
        GEN.make(path)


class Refused(DaemonTest):
    """Databases a start must not migrate: refused with a message, and the
    file left as it was."""

    START = False
    TASKS = {"hi.sh": HI}

    def setUp(self):
        super().setUp()
        os.mkdir(self.d.state_dir, 0o700)
        shutil.copy(V1_FIXTURE, self.d.db_path)
        os.chmod(self.d.db_path, 0o600)

    def start_fails(self):
        """Start, which must fail: what the daemon said."""
        p = subprocess.run(self.d.command(), capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL,
                           env=self.d.env)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertNotEqual(p.returncode, 0, out)
        self.assertFalse(SANITIZER_RE.search(out.encode()), out)
        self.assertIn(self.d.db_path, out)
        return out

    def set_version(self, version):
        conn = sqlite3.connect(self.d.db_path)
        conn.execute("PRAGMA user_version = %d" % version)
        conn.close()

    def refused_untouched(self, *words):
        digest = file_digest(self.d.db_path)
        out = self.start_fails()
        for word in words:
            self.assertIn(word, out)
        self.assertEqual(file_digest(self.d.db_path), digest,
                         "the refused database was changed")
        return out

    def check_upgrades_now(self):
        """Once the obstacle is gone, a start upgrades the file."""
        self.d.start()
        self.assertEqual(len(self.d.ctl_json("runs", check=0)[0]["runs"]), 3)
        self.assertEqual(self.d.logs(1), b"hi one\nerr\n")
        self.d.stop()
        with opened(self.d.db_path) as conn:
            self.assertEqual(one(conn, "PRAGMA user_version"), DB_VERSION)
            self.assertEqual(one(conn, "PRAGMA integrity_check"), "ok")

    def test_newer_schema_refused(self):
        self.set_version(DB_VERSION + 1)
        self.refused_untouched(
            "schema version %d" % (DB_VERSION + 1), "newer",
            "(%d)" % DB_VERSION)
        with opened(self.d.db_path, immutable=True) as conn:
            self.assertEqual(one(conn, "PRAGMA user_version"),
                             DB_VERSION + 1)
        for suffix in ("-wal", "-shm", "-journal"):
            self.assertFalse(os.path.exists(self.d.db_path + suffix),
                             suffix)

    # A database in rollback-journal mode, as microlightctl backup writes
    # its copies, must not be switched to WAL before it is refused (it
    # was, once: the PRAGMAs ran before the version was read).
    def test_newer_schema_backup_copy_untouched(self):
        self.set_version(DB_VERSION + 1)
        conn = sqlite3.connect(self.d.db_path)
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.close()
        self.refused_untouched("schema version %d" % (DB_VERSION + 1),
                               "newer")

    def test_read_only_not_migrated(self):
        if os.geteuid() == 0:
            # Root writes through file modes: an immutable file it cannot.
            if shutil.which("chattr") is None:
                self.skipTest("no chattr")
            p = subprocess.run(["chattr", "+i", self.d.db_path],
                               capture_output=True)
            if p.returncode != 0:
                self.skipTest("chattr +i: %s" % p.stderr.decode().strip())
            undo = ["chattr", "-i", self.d.db_path]
        else:
            os.chmod(self.d.db_path, 0o400)
            undo = ["chmod", "600", self.d.db_path]
        try:
            self.refused_untouched("the file is read-only")
        finally:
            subprocess.run(undo, check=True)
        with opened(self.d.db_path) as conn:
            self.assertEqual(one(conn, "PRAGMA user_version"), 1)
        self.check_upgrades_now()

    def test_failed_step_rolled_back(self):
        # A table migration 2 creates is already there: that step fails
        # after its ALTER TABLEs, and all of it must be undone.
        conn = sqlite3.connect(self.d.db_path)
        conn.execute("CREATE TABLE pruned (x)")
        conn.close()
        self.refused_untouched("migrating the schema to version 2",
                               "pruned")
        with opened(self.d.db_path) as conn:
            self.assertEqual(one(conn, "PRAGMA user_version"), 1)
            columns = [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
        self.assertNotIn("not_before", columns)
        self.assertEqual(columns[-1], "output_dropped")
        conn = sqlite3.connect(self.d.db_path)
        conn.execute("DROP TABLE pruned")
        conn.close()
        self.check_upgrades_now()

    def test_not_a_database_refused(self):
        with open(self.d.db_path, "r+b") as f:
            f.write(b"not SQLite, not anything" * 10)
        self.refused_untouched("not a database")

    def test_truncated_refused(self):
        with open(self.d.db_path, "r+b") as f:
            f.truncate(os.path.getsize(self.d.db_path) // 2)
        self.refused_untouched("malformed")


if __name__ == "__main__":
    main()
