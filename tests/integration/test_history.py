#!/usr/bin/env python3
"""List and history (issue 17, point 6): each task's latest run and next
run, which list shows and which the daemon now keeps in memory once read
rather than reading them for every list, stay right as runs are queued,
start and end, are scheduled for later and cancelled, are pruned (by
keep-runs and by keep-days), and over a restart. The brief list that
microlightctl list asks for ("brief": true) says the same as the full
one. What start-up and pruning read per task from the table task_runs
(schema 10) rather than from every run -- the last success, the number
of ended runs kept -- is right after a migration from schema 9 too, and
a last success outlives its run being pruned."""

from harness import *
from test_store import SCHEMA_VERSION

DAY = 86400

GATED = """\
    #!/bin/sh
    # Holds at gate 1, one run at a time; fails when asked.
    # @param mode choice(ok,fail) default=ok
    @SH_GATE@
    gate 1
    [ "$mode" = ok ]
    """

QUICK = "#!/bin/sh\n# Quick.\necho quick\n"

# The members of a task that a brief list gives, and of its last run.
BRIEF_TASK = {"name", "valid", "error", "schedules", "next_run", "last_run",
              "failing_since", "overdue_since"}
BRIEF_RUN = {"id", "status", "queued_at", "started_at"}


def set_config(d, text):
    with open(d.config, "w") as f:
        f.write(textwrap.dedent(text))


class HistoryTest(ScratchTest):

    def lists(self):
        """The tasks of a full and of a brief list, by name, checked to
        agree on what the brief one gives."""
        full = self.d.request({"cmd": "list"})
        brief = self.d.request({"cmd": "list", "brief": True})
        self.assertTrue(full["ok"], full)
        self.assertTrue(brief["ok"], brief)
        # A task at a time (as microlightctl list asks), the same tasks.
        self.assertEqual(self.each(True), brief["tasks"])
        self.assertEqual(self.each(False), full["tasks"])
        full = {t["name"]: t for t in full["tasks"]}
        brief = {t["name"]: t for t in brief["tasks"]}
        self.assertEqual(set(full), set(brief))
        for name, b in brief.items():
            f = full[name]
            self.assertLessEqual(set(b), BRIEF_TASK, b)
            for key in BRIEF_TASK - {"last_run", "error", "schedules"}:
                self.assertEqual(b.get(key), f[key], (name, key))
            self.assertEqual(b.get("error"), f["error"])
            self.assertEqual(b.get("schedules", []), f.get("schedules", []))
            if f["last_run"] is None:
                self.assertNotIn("last_run", b)
                continue
            self.assertLessEqual(set(b["last_run"]), BRIEF_RUN)
            for key in BRIEF_RUN:
                self.assertEqual(b["last_run"].get(key), f["last_run"][key],
                                 (name, key))
        return full

    def each(self, brief):
        """The tasks of a list a task at a time (protocol 4): an event
        line for each, then the reply, which has no tasks."""
        with self.d.connect() as s:
            s.sendall((json.dumps({"cmd": "list", "brief": brief,
                                   "each": True}) + "\n").encode())
            f = s.makefile("rb")
            tasks = []
            while True:
                m = json.loads(f.readline())
                if "event" not in m:
                    break
                self.assertEqual(set(m), {"event", "task"}, m)
                self.assertEqual(m["event"], "task", m)
                tasks.append(m["task"])
        self.assertEqual(m, {"ok": True})
        return tasks

    def last(self, task):
        """(id, status) of a task's last run as list gives it, or None;
        the same as status says of that run."""
        run = self.lists()[task]["last_run"]
        if run is None:
            return None
        self.assertEqual(self.d.status(run["id"]), run)
        return run["id"], run["status"]

    def table_status(self, task):
        """The STATUS column of a task in microlightctl list."""
        out = self.d.ctl("list").stdout.decode()
        for line in out.splitlines():
            if line.split() and line.split()[0] == task:
                return line.rstrip()
        raise AssertionError("%s not in\n%s" % (task, out))


class Latest(HistoryTest):
    CONFIG = "max-running 4\n"
    TASKS = {"gated.sh": GATED, "quick.sh": QUICK}

    def test_follows_runs(self):
        d = self.d
        self.assertIsNone(self.last("gated"))
        self.assertIsNone(self.lists()["gated"]["next_run"])
        first = d.run("gated", wait=False)
        d.wait_status(first, "running")
        self.assertEqual(self.last("gated"), (first, "running"))
        second = d.run("gated", wait=False)
        self.assertEqual(d.status(second)["status"], "queued")
        self.assertEqual(self.last("gated"), (second, "queued"))
        # A run for later: the latest, and the next run.
        later = int(d.ctl("run", "gated", "--in", "2h").stdout.split()[0])
        self.assertEqual(self.last("gated"), (later, "scheduled"))
        due = d.status(later)["scheduled_for"]
        self.assertEqual(self.lists()["gated"]["next_run"], due)
        d.ctl("cancel", str(later))
        self.assertEqual(self.last("gated"), (later, "cancelled"))
        self.assertIsNone(self.lists()["gated"]["next_run"])
        # The earlier ones end: the latest is still the cancelled one.
        self.go(first)
        d.wait_status(first, "succeeded")
        self.go(second)
        d.wait_status(second, "succeeded")
        self.assertEqual(self.last("gated"), (later, "cancelled"))
        # A failure, and what the table says of it.
        failed = d.run("gated", "mode=fail", wait=False)
        d.wait_status(failed, "running")
        self.assertEqual(self.last("gated"), (failed, "running"))
        self.go(failed)
        d.wait_status(failed, "failed")
        self.assertEqual(self.last("gated"), (failed, "failed"))
        self.assertIn("failed", self.table_status("gated"))
        self.assertEqual(self.last("quick"), None)
        quick = d.run("quick")["id"]
        self.assertEqual(self.last("quick"), (quick, "succeeded"))
        self.assertIn("succeeded", self.table_status("quick"))
        # The same after a restart.
        before = self.lists()
        d.stop()
        d.start()
        self.assertEqual(self.lists(), before)

    def test_brief_is_asked_for(self):
        """brief must be a boolean; --json list gives whole objects."""
        for req in ({"cmd": "list", "brief": "yes"},
                    {"cmd": "list", "brief": True, "each": 1}):
            r = self.d.request(req)
            self.assertFalse(r["ok"])
            self.assertEqual(r["error"]["code"], "usage")
        full = self.d.ctl_json("list")[0]["tasks"]
        self.assertIn("description", full[0])
        self.assertIn("params", full[0])


class Pruned(HistoryTest):
    """The latest runs pruned while the daemon runs: list says so."""
    CONFIG = "kill-grace 2s\n"
    TASKS = {"quick.sh": QUICK, "other.sh": QUICK}
    SHIFTED_CLOCK = True

    def test_keep_runs(self):
        d = self.d
        runs = [d.run("quick")["id"] for _ in range(4)]
        self.assertEqual(self.last("quick"), (runs[-1], "succeeded"))
        set_config(d, self.CONFIG + "keep-runs 1\n")
        d.ctl("reload")
        d.wait_for(lambda: self.stored("quick") == [runs[-1]], advance=0.5,
                   what="all but the latest run to be pruned")
        self.assertEqual(self.last("quick"), (runs[-1], "succeeded"))
        # A new run is the latest; the one before goes (at the next
        # prune, which a reload brings forward).
        new = d.run("quick")["id"]
        d.ctl("reload")
        d.wait_for(lambda: self.stored("quick") == [new], advance=0.5,
                   what="the run before the new one to be pruned")
        self.assertEqual(self.last("quick"), (new, "succeeded"))

    def test_keep_days(self):
        d = self.d
        runs = [d.run("quick")["id"] for _ in range(3)]
        other = d.run("other")["id"]
        self.assertEqual(self.last("quick"), (runs[-1], "succeeded"))
        self.assertEqual(self.last("other"), (other, "succeeded"))
        last_success = self.last_success("quick")
        self.assertIsNotNone(last_success)
        # 100 days on, every run is older than keep-days (90).
        d.advance(100 * DAY)
        d.wait_for(lambda: not self.stored("quick") and
                   not self.stored("other"), advance=5,
                   what="every run to be pruned")
        self.assertIsNone(self.last("quick"))
        self.assertIsNone(self.last("other"))
        # The last success is still known, though its run is gone.
        self.assertEqual(self.last_success("quick"), last_success)
        new = d.run("quick")["id"]
        self.assertEqual(self.last("quick"), (new, "succeeded"))

    def stored(self, task):
        with self.d.db() as db:
            return [r[0] for r in db.execute(
                "SELECT id FROM runs WHERE task = ? ORDER BY id", (task,))]

    def last_success(self, task):
        """When the task's last success ended (ms), from task_runs."""
        db = self.d.db()
        try:
            row = db.execute("SELECT last_success FROM task_runs "
                             "WHERE task = ?", (task,)).fetchone()
        finally:
            db.close()
        return row[0] if row else None


class FromSchema9(HistoryTest):
    """A database of schema 9 with runs: the migration counts each task's
    ended runs and finds its last success; pruning and @expect go by
    them."""
    CONFIG = "kill-grace 2s\n"
    TASKS = {"quick.sh": QUICK, "other.sh": QUICK}

    def test_migrated(self):
        d = self.d
        ids = [d.run("quick")["id"] for _ in range(5)]
        failed = d.run("other", check=0)["id"]
        d.stop()
        db = sqlite3.connect(d.db_path)
        expect = db.execute("SELECT max(finished_at) FROM runs WHERE "
                            "task = 'quick' AND status = 'succeeded'"
                            ).fetchone()[0]
        # What schema 10 added, and schema 12's index, taken away again:
        # a schema-9 database (schema 11 makes its output table anew).
        db.executescript("""
            DROP TRIGGER runs_end_insert; DROP TRIGGER runs_end_update;
            DROP TRIGGER runs_end_delete; DROP TABLE task_runs;
            DROP INDEX runs_retry; DROP INDEX runs_task_ended;
            PRAGMA user_version = 9;
            """)
        db.execute("UPDATE runs SET status = 'failed' WHERE id = ?",
                   (failed,))
        db.commit()
        db.close()
        d.start()
        with d.db() as db:
            self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0],
                             SCHEMA_VERSION)
            rows = {r[0]: (r[1], r[2]) for r in db.execute(
                "SELECT task, ended, last_success FROM task_runs")}
        self.assertEqual(rows, {"quick": (5, expect), "other": (1, None)})
        self.assertEqual(self.last("quick"), (ids[-1], "succeeded"))
        # keep-runs 2 goes by the counts.
        set_config(d, self.CONFIG + "keep-runs 2\n")
        d.ctl("reload")
        d.wait_for(lambda: self.ended("quick") == 2,
                   what="quick's runs to be pruned to 2")
        with d.db() as db:
            self.assertEqual([r[0] for r in db.execute(
                "SELECT id FROM runs WHERE task = 'quick' ORDER BY id")],
                ids[-2:])
            self.assertEqual(db.execute(
                "SELECT ended FROM task_runs WHERE task = 'quick'"
                ).fetchone()[0], 2)

    def ended(self, task):
        db = self.d.db()
        try:
            return db.execute("SELECT count(*) FROM runs WHERE task = ? AND "
                              "finished_at IS NOT NULL", (task,)
                              ).fetchone()[0]
        finally:
            db.close()


if __name__ == "__main__":
    main()
