#!/usr/bin/env python3
"""Retention (issue 3, point 4): keep-runs per task and keep-days prune
old runs with their output, in small batches, never pruning a queued or
running run; the database gives the space back; status and runs of a
pruned run say so. A reload makes the daemon prune soon, so that the
tests need not wait for the minute's timer; a test that must see runs
before they are pruned starts without the limit and sets it by a reload,
since the daemon also prunes a few seconds after it starts."""

from harness import *

DAY_MS = 86400 * 1000

WORK = """\
    #!/bin/sh
    # Writes some output; holds at a gate or fails when asked.
    # @param mode choice(plain,hold,fail) default=plain
    # @concurrency 2
    # @retries 1
    # @retry-delay 1h
    @SH_GATE@
    echo "output of run $MICROLIGHT_RUN_ID"
    head -c 3000 /dev/zero | tr '\\0' w
    echo
    case $mode in
    hold) gate 1 ;;
    fail) exit 1 ;;
    esac
    """

OTHER = """\
    #!/bin/sh
    # Another task, counted on its own.
    echo "other run $MICROLIGHT_RUN_ID"
    """


def stored_runs(d):
    """id -> status of every run in the database."""
    with d.db() as db:
        return {r["id"]: r["status"] for r in
                db.execute("SELECT id, status FROM runs")}


def output_runs(d):
    """The runs that have rows in the output table."""
    with d.db() as db:
        return {r[0] for r in
                db.execute("SELECT DISTINCT run_id FROM output")}


def expected_log(run_id):
    return b"output of run %d\n" % run_id + b"w" * 3000 + b"\n"


def set_config(d, text):
    with open(d.config, "w") as f:
        f.write(textwrap.dedent(text))


class KeepRuns(ScratchTest):
    """The daemon starts with the default keep-runs (1000), so that its
    own first prune (a few seconds after start) finds nothing to do
    however long the runs take; the test then sets keep-runs 3 and
    reloads."""

    CONFIG = "kill-grace 2s\nmax-running 8\n"
    TASKS = {"work.sh": WORK, "other.sh": OTHER}

    def keep_runs(self, n):
        """Set keep-runs n and reload: the daemon prunes soon."""
        set_config(self.d, self.CONFIG + "keep-runs %d\n" % n)
        self.d.ctl("reload", check=0)

    def test_keep_runs_per_task(self):
        d = self.d
        # The oldest run of all holds (running) to the end.
        held = d.run("work", "mode=hold", wait=False)
        d.wait_status(held, "running")
        # A failed run whose retry waits an hour: scheduled meanwhile.
        failed = d.run("work", "mode=fail", check=1)["id"]
        queued = wait_for(lambda: d.request(
            {"cmd": "runs", "task": "work", "status": "scheduled"})["runs"],
            what="the failed run's retry to be scheduled")
        self.assertEqual(len(queued), 1, queued)
        retry = queued[0]["id"]
        self.assertEqual(queued[0]["retry_of"], failed)
        other = [d.run("other")["id"] for _ in range(2)]
        plain = [d.run("work")["id"] for _ in range(10)]
        other += [d.run("other")["id"] for _ in range(2)]
        for run_id in plain:
            self.assertEqual(d.status(run_id)["status"], "succeeded")
        self.assertIn(plain[0], output_runs(d))

        self.keep_runs(3)
        # Of work's 11 ended runs the 3 newest stay, and the failed one
        # whose retry still waits (cancelling it must still stop the
        # retry); of other's 4, 3 stay (although two of them are older
        # than every run work keeps).
        kept = {held, retry, failed} | set(plain[-3:]) | set(other[1:])
        pruned = {other[0]} | set(plain[:-3])
        wait_for(lambda: set(stored_runs(d)) == kept, timeout=10,
                 what="runs %s to be pruned" % sorted(pruned))
        self.assertEqual(d.status(held)["status"], "running")
        self.assertEqual(d.status(retry)["status"], "scheduled")
        # Their output went with them; the kept runs still have theirs.
        with_output = output_runs(d)
        self.assertFalse(with_output & pruned,
                         "output rows of pruned runs remain")
        for run_id in plain[-3:]:
            self.assertEqual(d.logs(run_id), expected_log(run_id))
        for run_id in other[1:]:
            self.assertEqual(d.logs(run_id), b"other run %d\n" % run_id)
        with d.db() as db:
            orphans = db.execute(
                "SELECT count(*) FROM output WHERE run_id NOT IN "
                "(SELECT id FROM runs)").fetchone()[0]
        self.assertEqual(orphans, 0, "output rows without a run")

        # The held run, once ended, is the oldest of work's ended runs.
        self.go(held)
        d.wait_status(held, "succeeded")
        d.ctl("reload", check=0)
        wait_for(lambda: held not in stored_runs(d), timeout=10,
                 what="the held run to be pruned once it ended")
        self.assertEqual(set(stored_runs(d)), kept - {held})
        self.assertEqual(d.status(retry)["status"], "scheduled")

    def test_status_and_runs_of_pruned_runs(self):
        d = self.d
        ids = [d.run("work")["id"] for _ in range(6)]
        other = [d.run("other")["id"] for _ in range(4)]
        self.assertEqual(set(stored_runs(d)), set(ids + other))
        self.keep_runs(3)
        wait_for(lambda: set(stored_runs(d)) == set(ids[3:] + other[1:]),
                 timeout=10, what="the runs beyond keep-runs to be pruned")

        p = d.ctl("status", ids[0], check=EX_DATAERR)
        err = p.stderr.decode()
        self.assertIn("run %d was pruned" % ids[0], err)
        self.assertIn("keep-runs (3)", err)
        self.assertIn("keep-days", err)
        self.assertEqual(p.stdout, b"")
        # Other commands on a pruned run say the same.
        p = d.ctl("logs", ids[1], check=EX_DATAERR)
        self.assertIn(b"was pruned", p.stderr)
        reply = d.request({"cmd": "status", "run": ids[2]})
        self.assertFalse(reply["ok"])
        self.assertIn("was pruned", reply["error"]["message"])

        # An id never used is not "pruned".
        p = d.ctl("status", 100000, check=EX_DATAERR)
        err = p.stderr.decode()
        self.assertIn("no run 100000", err)
        self.assertNotIn("pruned", err)

        # runs TASK ends with how many older runs were pruned.
        out = d.ctl("runs", "work", check=0).stdout.decode()
        lines = out.rstrip("\n").splitlines()
        self.assertEqual([int(l.split()[0]) for l in lines[1:-1]],
                         sorted(ids[3:], reverse=True), out)
        self.assertRegex(lines[-1], r"^\(3 older runs were pruned: "
                         r"keep-runs 3 per task, keep-days 90\)$")
        out = d.ctl("runs", "other", check=0).stdout.decode()
        self.assertRegex(out.rstrip("\n").splitlines()[-1],
                         r"^\(1 older run was pruned")

        reply = d.ctl_json("runs", "work", check=0)[0]
        self.assertEqual(reply["pruned"], 3)
        self.assertEqual(reply["keep_runs"], 3)
        self.assertEqual(reply["keep_days"], 90)
        self.assertEqual(d.ctl_json("runs", "other", check=0)[0]["pruned"], 1)
        self.assertEqual(d.ctl_json("runs", check=0)[0]["pruned"], 4)


class KeepDays(DaemonTest):
    """keep-days 1: runs that ended three days ago go, without a reload
    (the first prune comes a few seconds after start); recent ones stay,
    also one that ended 12 hours ago."""

    CONFIG = "kill-grace 2s\nkeep-days 1\n"
    TASKS = {"a.sh": "#!/bin/sh\necho a $MICROLIGHT_RUN_ID\n",
             "b.sh": "#!/bin/sh\necho b $MICROLIGHT_RUN_ID\n"}
    SHIFTED_CLOCK = True    # the seconds before the first prune pass at once

    def test_keep_days(self):
        d = self.d
        a = [d.run("a")["id"] for _ in range(4)]
        b = [d.run("b")["id"] for _ in range(2)]
        d.stop()
        now = int(self.clock.now() * 1000)
        old = [a[0], a[2], b[0]]
        with sqlite3.connect(d.db_path) as db:
            for run_id in old:
                db.execute("UPDATE runs SET queued_at = ?1, started_at = ?1,"
                           " finished_at = ?1 + 500 WHERE id = ?2",
                           (now - 3 * DAY_MS, run_id))
            db.execute("UPDATE runs SET queued_at = ?1, started_at = ?1, "
                       "finished_at = ?1 + 500 WHERE id = ?2",
                       (now - DAY_MS // 2, a[1]))
        db.close()
        d.start()
        t0 = self.clock.monotonic()
        recent = set(a + b) - set(old)
        d.wait_for(lambda: set(stored_runs(d)) == recent, timeout=20,
                   advance=0.5, what="runs older than keep-days to be pruned")
        self.assertLess(self.clock.monotonic() - t0, 15)
        self.assertFalse(output_runs(d) & set(old))
        for run_id in recent:
            self.assertEqual(d.status(run_id)["status"], "succeeded")
        self.assertEqual(d.logs(a[1]), b"a %d\n" % a[1])
        p = d.ctl("status", old[0], check=EX_DATAERR)
        self.assertIn(b"was pruned", p.stderr)
        self.assertIn(b"keep-days (1)", p.stderr)
        reply = d.ctl_json("runs", "a", check=0)[0]
        self.assertEqual(reply["pruned"], 2)
        self.assertEqual(reply["keep_days"], 1)
        # New runs carry on with new ids, and are kept.
        self.assertGreater(d.run("a")["id"], max(a + b))


class Space(DaemonTest):
    """keep-runs 2 and 200 kB per run, 30 runs: the database stays about
    the size of what it keeps; freed pages are given back."""

    CONFIG = "kill-grace 2s\nkeep-runs 2\n"
    TASKS = {"big.sh": """\
        #!/bin/sh
        # 200 kB of output.
        head -c 200000 /dev/zero | tr '\\0' b
        echo " end of $MICROLIGHT_RUN_ID"
        """}

    def sizes(self):
        wal = self.d.db_path + "-wal"
        return (os.path.getsize(self.d.db_path),
                os.path.getsize(wal) if os.path.exists(wal) else 0)

    def pruned_to(self, n):
        wait_for(lambda: len(stored_runs(self.d)) == n, timeout=10,
                 what="the runs to be pruned to %d" % n)

    def test_space_is_given_back(self):
        d = self.d
        peak_db = peak_wal = 0
        ids = []
        for i in range(30):
            ids.append(d.run("big")["id"])
            db_size, wal_size = self.sizes()
            peak_db, peak_wal = max(peak_db, db_size), max(peak_wal, wal_size)
            if i % 5 == 4:
                d.ctl("reload", check=0)
                self.pruned_to(2)

        def free_pages():
            with d.db() as db:
                free = db.execute("PRAGMA freelist_count").fetchone()[0]
                pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.close()
            return free, pages
        try:
            wait_for(lambda: free_pages()[0] <= 16, timeout=15,
                     what="the free pages to be given back")
        finally:
            diag = "db %d, wal %d bytes; %d free of %d pages; peak db %d, " \
                "wal %d" % (self.sizes() + free_pages() + (peak_db, peak_wal))
        db_size, wal_size = self.sizes()
        # Kept: 2 runs of 200 kB; written in all: 6 MB. Between two
        # prunes 5 runs come in: the file never holds much more.
        self.assertLess(db_size, 2 << 20, diag)
        self.assertLess(peak_db, 3 << 20, diag)
        # The WAL is cut back after checkpoints (journal_size_limit).
        self.assertLessEqual(peak_wal, 5 << 20, diag)
        self.assertEqual(sorted(stored_runs(d)), ids[-2:])
        log = d.logs(ids[-1])
        self.assertEqual(len(log), 200000 + len(" end of %d\n" % ids[-1]))
        with d.db() as db:
            self.assertEqual(db.execute("PRAGMA integrity_check")
                             .fetchone()[0], "ok")
            self.assertEqual(db.execute("PRAGMA foreign_key_check")
                             .fetchall(), [])
        db.close()


class PruneManyResponsive(DaemonTest):
    """300 runs pruned at once (keep-runs lowered from 1000 to 5 and a
    reload): the prune goes in small steps and ping answers meanwhile."""

    CONFIG = "kill-grace 2s\nmax-running 8\n"
    TASKS = {"many.sh": """\
        #!/bin/sh
        # 50 lines, written one at a time.
        # @concurrency 8
        i=0
        while [ $i -lt 50 ]; do
            echo "line $i of run $MICROLIGHT_RUN_ID, padded to some length"
            i=$((i + 1))
        done
        """}

    def ended(self):
        with self.d.db() as db:
            n = db.execute("SELECT count(*) FROM runs WHERE finished_at "
                           "IS NOT NULL").fetchone()[0]
        db.close()
        return n

    def test_ping_during_a_big_prune(self):
        d = self.d
        with d.connect() as s:
            f = s.makefile("rb")
            for _ in range(300):
                s.sendall(b'{"cmd":"run","task":"many"}\n')
                reply = json.loads(f.readline())
                self.assertTrue(reply["ok"], reply)
        wait_for(lambda: self.ended() == 300, timeout=45,
                 what="300 runs to end")
        set_config(d, "kill-grace 2s\nmax-running 8\nkeep-runs 5\n")
        d.ctl("reload", check=0)
        during = 0
        deadline = time.monotonic() + 20
        while True:
            before = self.ended()
            reply = d.request({"cmd": "ping"}, timeout=10)
            self.assertTrue(reply["ok"])
            after = self.ended()
            if 5 < after and before < 300:
                during += 1         # answered while the prune went on
            if after == 5:
                break
            self.assertLess(time.monotonic(), deadline,
                            "the prune did not end in 20 s")
        # How fast each ping is depends on the machine (the suite runs in
        # parallel, with the sanitizers too): what shows the prune goes in
        # steps is that pings are answered while it goes on.
        self.assertGreaterEqual(during, 3, "the prune was done in one go, "
                                "or no ping was answered while it went on")
        with d.db() as db:
            self.assertEqual(db.execute("SELECT count(*) FROM output WHERE "
                                        "run_id NOT IN (SELECT id FROM "
                                        "runs)").fetchone()[0], 0)
        db.close()
        self.assertEqual(d.ctl_json("runs", "many", check=0)[0]["pruned"],
                         295)


if __name__ == "__main__":
    main()
