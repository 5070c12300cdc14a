#!/usr/bin/env python3
"""kill -9 in a loop: 20 times the daemon is killed with runs running and
runs queued, and restarted on the same state directory. Every killed run
reads `lost`, every queued run runs once afterwards, run ids are never
reused, nothing the daemon started outlives it, and the database stays
sound (issue 12)."""

import contextlib
import ctypes
import ctypes.util

from harness import *

CYCLES = 20
LOST_REASON = "the daemon stopped while it ran"   # microlightd(8), lost

PR_SET_CHILD_SUBREAPER = 36


def set_subreaper(on):
    """Make this process a child subreaper (Linux): what the killed daemon
    leaves behind is re-parented here, so it can be found and waited for."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                       use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def children():
    """This process's children: {pid: (state, command line)}."""
    me, kids = os.getpid(), {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) != me:
                continue
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8",
                                                           "replace")
        except (OSError, IndexError, ValueError):
            continue
        kids[int(name)] = (fields[0], cmd.strip())
    return kids


def reap_orphans():
    """Reap the children that have exited; return those still alive."""
    alive = {}
    for pid, (state, cmd) in children().items():
        if state == "Z":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        else:
            alive[pid] = cmd
    return alive


def wait_orphans_gone(timeout=30):
    """Wait until everything the daemon started (its launcher, spare
    supervisors, the runs' supervisors and scripts) has exited; the
    supervisors stop their runs within kill-grace of the daemon's death."""
    deadline = time.monotonic() + timeout
    while True:
        alive = reap_orphans()
        if not alive:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                "%.0fs after the daemon died its processes still run:\n%s"
                % (timeout, "\n".join("%d %s" % kv for kv in
                                      sorted(alive.items()))))
        time.sleep(0.02)


class Kill9Loop(ScratchTest):
    """Task `held` may run twice at once, max-running lets three run: of
    each batch h, h, o, h, o three run (held at their gate, so surely
    running when the daemon dies) and two wait, one for its task's
    @concurrency, one for max-running."""

    CONFIG = """\
        kill-grace 1s
        max-running 3
        keep-runs 0
        keep-days 0
        """
    TASK_BODY = """\
        #!/bin/sh
        # Starts, waits at its gate, says it ran.
        # @concurrency %d
        @SH_GATE@
        echo "$MICROLIGHT_RUN_ID" >> "@SCRATCH@/starts"
        : > "@SCRATCH@/at-gate-$MICROLIGHT_RUN_ID"
        gate 1
        echo "ran $MICROLIGHT_RUN_ID"
        """
    TASKS = {"held.sh": TASK_BODY % 2, "other.sh": TASK_BODY % 3}
    BATCH = ("held", "held", "other", "held", "other")
    RUNNING = 3                                 # max-running

    def setUp(self):
        set_subreaper(True)
        self.addCleanup(set_subreaper, False)
        super().setUp()
        self.task_of = {}       # every run created: id -> task
        self.lost = set()       # killed while running
        self.ran = set()        # queued when killed, ran afterwards

    def tearDown(self):
        super().tearDown()
        # What a failed test may have left: killed and reaped.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            alive = reap_orphans()
            if not alive:
                break
            for pid in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def at_gate(self, run_id):
        return os.path.exists(os.path.join(self.scratch,
                                           "at-gate-%d" % run_id))

    def starts(self):
        """How many times each run id started its script."""
        try:
            with open(os.path.join(self.scratch, "starts")) as f:
                ids = [int(line) for line in f.read().split()]
        except FileNotFoundError:
            ids = []
        return {i: ids.count(i) for i in set(ids)}

    def stored(self):
        """id -> status in a copy of the killed daemon's database (the
        copy recovers its WAL; the files the next daemon opens are left
        as the crash left them)."""
        copy = os.path.join(self.scratch, "copy")
        shutil.rmtree(copy, ignore_errors=True)
        os.mkdir(copy)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.d.db_path + suffix):
                shutil.copy(self.d.db_path + suffix,
                            os.path.join(copy, "microlight.db" + suffix))
        with contextlib.closing(sqlite3.connect(
                os.path.join(copy, "microlight.db"))) as db:
            return dict(db.execute("SELECT id, status FROM runs"))

    def start_batch(self):
        """Create a batch; once three wait at their gates, return
        (running ids, queued ids)."""
        ids = []
        for task in self.BATCH:
            run_id = self.d.run(task, wait=False)
            earlier = max(self.task_of, default=0)
            self.assertGreater(run_id, earlier,
                               "run id %d reused or not increasing" % run_id)
            self.task_of[run_id] = task
            ids.append(run_id)
        def waiting():
            at = [i for i in ids if self.at_gate(i)]
            return at if len(at) >= self.RUNNING else None
        running = wait_for(waiting, timeout=30, what="%d runs to wait at "
                           "their gates" % self.RUNNING)
        self.assertEqual(len(running), self.RUNNING,
                         "more runs started than max-running allows")
        queued = [i for i in ids if i not in running]
        self.assertLessEqual(
            sum(self.task_of[i] == "held" for i in running), 2,
            "held ran beyond its @concurrency")
        for run_id in running:
            self.assertEqual(self.d.status(run_id)["status"], "running")
        for run_id in queued:
            self.assertEqual(self.d.status(run_id)["status"], "queued")
            self.assertFalse(self.at_gate(run_id))
        return running, queued

    def kill(self, running, queued):
        """kill -9; then nothing the daemon started may be left (each
        supervisor stops its run when the daemon dies, microlightd(8)).
        The next daemon starts only once they are gone."""
        self.d.kill9()
        wait_orphans_gone()
        self.d.check_log()
        # The kill caught them running and queued, as the store has it.
        stored = self.stored()
        for run_id in running:
            self.assertEqual(stored[run_id], "running", run_id)
        for run_id in queued:
            self.assertEqual(stored[run_id], "queued", run_id)

    def check_restart(self, running, queued):
        """After a restart: the killed runs are lost, the queued ones run
        once and succeed."""
        for run_id in running:
            run = self.d.status(run_id)
            self.assertEqual(run["task"], self.task_of[run_id])
            self.assertEqual(run["status"], "lost", run)
            self.assertEqual(run["reason"], LOST_REASON, run)
            self.assertIsNotNone(run["started_at"], run)
            self.assertIsNotNone(run["finished_at"], run)
            self.assertIsNone(run["exit_code"], run)
        for run_id in queued:
            run = self.d.status(run_id)
            self.assertEqual(run["task"], self.task_of[run_id])
            self.assertIn(run["status"], ("queued", "running"), run)
            self.go(run_id)
        for run_id in queued:
            run = self.d.wait_status(run_id, ("succeeded", "failed", "lost",
                                              "cancelled", "timed_out"),
                                     timeout=30)
            self.assertEqual(run["status"], "succeeded", run)
            self.assertEqual(run["exit_code"], 0, run)
            self.assertEqual(self.d.logs(run_id), b"ran %d\n" % run_id)
        self.lost.update(running)
        self.ran.update(queued)
        # Each started once: the lost ones before the kill, never again.
        starts = self.starts()
        for run_id in self.lost | self.ran:
            self.assertEqual(starts.get(run_id), 1,
                             "run %d started %s times" % (
                                 run_id, starts.get(run_id, 0)))
        self.assertEqual(set(starts), self.lost | self.ran)
        self.assertEqual(
            self.d.ctl_json("runs", "--status", "running",
                            check=0)[0]["runs"], [])

    def test_kill9_loop(self):
        for cycle in range(1, CYCLES + 1):
            try:
                running, queued = self.start_batch()
                self.kill(running, queued)
                self.d.start()
                self.check_restart(running, queued)
            except AssertionError as e:
                e.args = ("cycle %d of %d: %s" % (cycle, CYCLES,
                                                  e.args[0] if e.args
                                                  else ""),) + e.args[1:]
                raise
        self.d.stop()

        self.assertEqual(len(self.lost), CYCLES * self.RUNNING)
        self.assertEqual(len(self.ran),
                         CYCLES * (len(self.BATCH) - self.RUNNING))
        with contextlib.closing(self.d.db()) as db:
            self.assertEqual([r[0] for r in db.execute(
                "PRAGMA integrity_check")], ["ok"])
            rows = {r["id"]: (r["task"], r["status"]) for r in
                    db.execute("SELECT id, task, status FROM runs")}
        self.assertEqual(len(rows), len(self.task_of))
        self.assertEqual(rows, {
            i: (task, "lost" if i in self.lost else "succeeded")
            for i, task in self.task_of.items()})


if __name__ == "__main__":
    main()
