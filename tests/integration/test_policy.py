#!/usr/bin/env python3
"""Run policies (SPEC sections 2, 3 and 5; issue 3, points 1 to 3):
@concurrency, max-running, @overlap skip, @priority and the queue across a
restart; @retries and @retry-delay; @on-success, @on-failure and the chain
rule. Ordering is driven by gates, never by sleeps; the few short sleeps
only give a wrong daemon time to do what it must not. Retry delays pass
at once on the daemon's clocks (SHIFTED_CLOCK), not in real time."""

import datetime
import pwd

from harness import *


def parse_time(s):
    """An RFC 3339 UTC time with milliseconds as an aware datetime."""
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def seconds(later, earlier):
    """later - earlier, two RFC 3339 times, in seconds."""
    return (parse_time(later) - parse_time(earlier)).total_seconds()


def me():
    uid = os.getuid()
    return "uid=%d(%s)" % (uid, pwd.getpwuid(uid).pw_name)


def script(*parts):
    """A task body from parts, each dedented on its own."""
    return "".join(textwrap.dedent(p).lstrip("\n") for p in parts)


# A task that marks that it ran, then waits at gate 1.
def gated(directives="", tail=""):
    return script("""\
        #!/bin/sh
        # Marks that it ran, then waits for the test.
        """, directives + "\n", """\
        @SH_GATE@
        touch "@SCRATCH@/ran-$MICROLIGHT_RUN_ID"
        gate 1
        """, tail + "\n")


class PolicyTest(ScratchTest):
    CONFIG = "kill-grace 2s\nmax-running 4\n"

    def ran(self, run_id):
        """Whether the run's script ever started."""
        return os.path.exists(os.path.join(self.scratch, "ran-%d" % run_id))

    def wait_ran(self, run_id):
        wait_for(lambda: self.ran(run_id), timeout=20,
                 what="run %d's script to start" % run_id)

    def start(self, task):
        """A run without waiting; its id."""
        return self.d.run(task, wait=False)

    def runs_of(self, task):
        """Every run of a task, oldest first (JSON records)."""
        reply = self.d.request({"cmd": "runs", "task": task, "limit": 100})
        self.assertTrue(reply["ok"], reply)
        return sorted(reply["runs"], key=lambda r: r["id"])

    def wait_run(self, task, pred, what, timeout=20):
        """The first run of task for which pred(run) holds; with
        SHIFTED_CLOCK, the daemon's time passes while it waits."""
        return self.d.wait_for(lambda: next((r for r in self.runs_of(task)
                                             if pred(r)), None),
                               timeout=timeout, what=what,
                               advance=self.advance_step())

    def advance_step(self):
        """How much of the daemon's time passes at each look of a wait:
        with SHIFTED_CLOCK a quarter of a second, else none."""
        return 0.25 if self.SHIFTED_CLOCK else 0

    def let_pass(self, seconds):
        """seconds of the daemon's time, a quarter at a time."""
        for _ in range(int(seconds * 4)):
            self.d.advance(0.25)

    def runs_row(self, run_id, *args):
        """The line of `microlightctl runs` for a run."""
        out = self.d.ctl("runs", *args, check=0).stdout.decode()
        for line in out.splitlines():
            if line.split() and line.split()[0] == str(run_id):
                return line.split()
        self.fail("run %d not in `runs`:\n%s" % (run_id, out))

    def list_status(self, task):
        """The STATUS column of `microlightctl list` for a task."""
        out = self.d.ctl("list", check=0).stdout.decode()
        lines = out.splitlines()
        col = lines[0].index("STATUS")
        for line in lines[1:]:
            if line.split() and line.split()[0] == task:
                return line[col:].strip()
        self.fail("task %s not in `list`:\n%s" % (task, out))

    def read(self, name):
        try:
            with open(os.path.join(self.scratch, name)) as f:
                return f.read()
        except FileNotFoundError:
            return ""


# 1. Concurrency, overlap, max-running -----------------------------------

class Concurrency(PolicyTest):
    TASKS = {
        "one.sh": gated(),
        "two.sh": gated("# @concurrency 2"),
        "other.sh": gated(),
        "skip.sh": gated("# @overlap skip"),
    }

    def test_default_concurrency_is_one(self):
        a = self.start("one")
        self.d.wait_status(a, "running")
        self.wait_ran(a)
        b = self.start("one")
        self.assertEqual(self.d.status(b)["status"], "queued")
        self.assertIsNone(self.d.status(b)["started_at"])
        # Visible as queued everywhere a user looks.
        self.assertIn("queued", self.runs_row(b))
        self.assertIn("running", self.runs_row(a))
        out = self.d.ctl("status", b, check=0).stdout.decode()
        self.assertRegex(out, r"(?m)^status:\s+queued$")
        self.assertEqual(self.list_status("one"), "queued")
        self.assertFalse(self.ran(b))
        self.assertEqual(self.d.status(b)["status"], "queued")

        self.go(a)
        ra = self.d.wait_status(a, "succeeded")
        rb = self.d.wait_status(b, "running")
        self.wait_ran(b)
        self.assertGreaterEqual(seconds(rb["started_at"], ra["finished_at"]),
                                0)
        self.assertEqual(self.list_status("one"), "running")
        self.go(b)
        self.d.wait_status(b, "succeeded")
        self.assertEqual(self.list_status("one"), "succeeded")

    def test_concurrency_two(self):
        x, y, z = (self.start("two") for _ in range(3))
        self.d.wait_status(x, "running")
        self.d.wait_status(y, "running")
        # Both scripts run at the same time.
        self.wait_ran(x)
        self.wait_ran(y)
        self.assertEqual(self.d.status(z)["status"], "queued")
        self.assertFalse(self.ran(z))
        self.assertEqual(self.d.status(x)["status"], "running")
        self.assertIn("queued", self.runs_row(z))

        self.go(y)
        self.d.wait_status(y, "succeeded")
        self.d.wait_status(z, "running")
        self.wait_ran(z)
        self.assertEqual(self.d.status(x)["status"], "running")
        self.go(x)
        self.go(z)
        self.d.wait_status(x, "succeeded")
        self.d.wait_status(z, "succeeded")

    def test_waiting_run_does_not_block_other_tasks(self):
        a1 = self.start("one")
        self.d.wait_status(a1, "running")
        a2 = self.start("one")
        self.assertEqual(self.d.status(a2)["status"], "queued")
        b = self.start("other")
        self.d.wait_status(b, "running", timeout=5)
        self.wait_ran(b)
        self.assertEqual(self.d.status(a2)["status"], "queued")
        self.go(b)
        self.d.wait_status(b, "succeeded")
        self.assertEqual(self.d.status(a2)["status"], "queued")
        self.go(a1)
        self.d.wait_status(a2, "running")
        self.go(a2)
        self.d.wait_status(a2, "succeeded")

    def test_overlap_skip(self):
        first = self.start("skip")
        self.d.wait_status(first, "running")
        self.wait_ran(first)

        skipped = []
        for extra in ([], ["--wait"]):
            p = self.d.ctl("run", "skip", *extra, check=75)
            run_id = int(p.stdout.split(b"\n")[0])
            skipped.append(run_id)
            run = self.d.status(run_id)
            self.assertEqual(run["status"], "skipped", run)
            self.assertIsNone(run["started_at"])
            self.assertIsNotNone(run["finished_at"])
            self.assertIn("@concurrency 1", run["reason"])
            self.assertIn("@overlap skip", run["reason"])
            err = p.stderr.decode()
            self.assertIn("skipped", err)
            self.assertIn(run["reason"], err)
            self.assertIn("skipped", self.runs_row(run_id))

        self.go(first)
        self.d.wait_status(first, "succeeded")
        # A skipped run never runs, not even once the slot is free.
        time.sleep(0.5)
        for run_id in skipped:
            self.assertEqual(self.d.status(run_id)["status"], "skipped")
            self.assertFalse(self.ran(run_id), "a skipped run ran")
        self.assertEqual(len(self.runs_of("skip")), 3)

        # With the slot free, a run is not skipped.
        again = self.start("skip")
        self.d.wait_status(again, "running")
        self.go(again)
        self.d.wait_status(again, "succeeded")


class MaxRunning(PolicyTest):
    CONFIG = "kill-grace 2s\nmax-running 2\n"
    TASKS = {
        "wide.sh": gated("# @concurrency 3"),
        "hi.sh": gated("# @priority 10"),
        "low.sh": gated(),
        "skip2.sh": gated("# @concurrency 2\n# @overlap skip"),
    }

    def test_max_running_caps_the_total(self):
        w1, w2, w3 = (self.start("wide") for _ in range(3))
        self.d.wait_status(w1, "running")
        self.d.wait_status(w2, "running")
        self.assertEqual(self.d.status(w3)["status"], "queued")
        low = self.start("low")
        self.assertEqual(self.d.status(low)["status"], "queued")
        self.assertFalse(self.ran(w3) or self.ran(low))

        self.go(w1)
        self.d.wait_status(w3, "running")     # FIFO among equals
        self.assertEqual(self.d.status(low)["status"], "queued")
        self.go(w2)
        self.d.wait_status(low, "running")
        for r in (w3, low):
            self.go(r)
            self.d.wait_status(r, "succeeded")

    def test_task_at_its_limit_is_passed_over(self):
        h1 = self.start("hi")
        w1 = self.start("wide")
        self.d.wait_status(h1, "running")
        self.d.wait_status(w1, "running")
        h2 = self.start("hi")     # first in the queue, but hi is at its limit
        low = self.start("low")
        self.assertEqual(self.d.status(h2)["status"], "queued")
        self.assertEqual(self.d.status(low)["status"], "queued")

        self.go(w1)
        self.d.wait_status(low, "running")
        self.assertEqual(self.d.status(h2)["status"], "queued")
        self.go(h1)
        self.d.wait_status(h2, "running")
        for r in (low, h2):
            self.go(r)
            self.d.wait_status(r, "succeeded")

    def test_skip_counts_queued_runs(self):
        blocker = self.start("low")
        k1 = self.start("skip2")
        self.d.wait_status(blocker, "running")
        self.d.wait_status(k1, "running")
        k2 = self.start("skip2")          # below @concurrency: waits
        self.assertEqual(self.d.status(k2)["status"], "queued")
        p = self.d.ctl("run", "skip2", check=75)
        k3 = int(p.stdout.split(b"\n")[0])
        run = self.d.status(k3)
        self.assertEqual(run["status"], "skipped")
        self.assertIn("2 runs", run["reason"])
        self.assertIn("@concurrency 2", run["reason"])
        self.assertIn(run["reason"], p.stderr.decode())

        self.go(blocker)
        self.d.wait_status(k2, "running")
        for r in (k1, k2):
            self.go(r)
            self.d.wait_status(r, "succeeded")
        self.assertFalse(self.ran(k3))
        self.assertEqual(self.d.status(k3)["status"], "skipped")


ORDER_TASK = """\
    #!/bin/sh
    # Notes the order in which the runs start.
    %s
    echo "$MICROLIGHT_TASK" >> "@SCRATCH@/order"
    """


class Priorities(PolicyTest):
    CONFIG = "kill-grace 2s\nmax-running 1\n"
    TASKS = {
        "hold.sh": gated(),
        "p5.sh": ORDER_TASK % "# @priority 5",
        "p0a.sh": ORDER_TASK % "",
        "p0b.sh": ORDER_TASK % "# @priority 0",
        "pm5.sh": ORDER_TASK % "# @priority -5",
    }
    # Queued in this order; they must start as EXPECTED.
    SUBMIT = ["pm5", "p0b", "p5", "p0a"]
    EXPECTED = ["p5", "p0b", "p0a", "pm5"]

    def queue_behind_hold(self):
        hold = self.start("hold")
        self.d.wait_status(hold, "running")
        ids = {task: self.start(task) for task in self.SUBMIT}
        for run_id in ids.values():
            self.assertEqual(self.d.status(run_id)["status"], "queued")
        return hold, ids

    def check_order(self, ids):
        runs = {task: self.d.wait_status(run_id, "succeeded")
                for task, run_id in ids.items()}
        self.assertEqual(self.read("order").split(), self.EXPECTED)
        for a, b in zip(self.EXPECTED, self.EXPECTED[1:]):
            self.assertLessEqual(parse_time(runs[a]["started_at"]),
                                 parse_time(runs[b]["started_at"]))

    def test_highest_priority_first_fifo_among_equals(self):
        hold, ids = self.queue_behind_hold()
        self.assertEqual(self.read("order"), "")
        self.go(hold)
        self.check_order(ids)

    def restart(self, kill9):
        hold, ids = self.queue_behind_hold()
        if kill9:
            self.d.kill9()
            self.go(hold)       # the orphaned script may end
        else:
            self.d.stop()
        self.assertEqual(self.read("order"), "",
                         "a queued run started during shutdown")
        with self.d.db() as db:
            rows = {r["id"]: r for r in db.execute(
                "SELECT id, status, started_at FROM runs")}
        for task, run_id in ids.items():
            self.assertEqual(rows[run_id]["status"], "queued", task)
            self.assertIsNone(rows[run_id]["started_at"], task)
        self.d.start()
        self.check_order(ids)
        return self.d.status(hold)

    def test_queue_survives_sigterm(self):
        hold = self.restart(kill9=False)
        self.assertEqual(hold["status"], "cancelled")
        self.assertEqual(hold["reason"], "daemon shutdown")

    def test_queue_survives_kill9(self):
        hold = self.restart(kill9=True)
        self.assertEqual(hold["status"], "lost")


# 2. Retries ---------------------------------------------------------------

COUNTER = """\
n=$(cat "@SCRATCH@/$MICROLIGHT_TASK.count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "@SCRATCH@/$MICROLIGHT_TASK.count"
echo "$MICROLIGHT_ATTEMPT $MICROLIGHT_TRIGGER $MICROLIGHT_TRIGGERED_BY" \
    >> "@SCRATCH@/$MICROLIGHT_TASK.attempts"
touch "@SCRATCH@/ran-$MICROLIGHT_RUN_ID"
echo "attempt=$MICROLIGHT_ATTEMPT"
"""


class Retries(PolicyTest):
    SHIFTED_CLOCK = True
    TASKS = {
        "flaky.sh": script("""\
            #!/bin/sh
            # Fails twice, then succeeds.
            # @retries 2
            # @retry-delay 1s
            """, COUNTER, """\
            [ "$n" -ge 3 ]
            """),
        "sleepy.sh": script("""\
            #!/bin/sh
            # Times out the first time.
            # @timeout 1s
            # @retries 1
            # @retry-delay 1s
            """, COUNTER, """\
            # By the attempt, not the count: the timeout (in the daemon's
            # time, which the test moves on) may come before it is written.
            if [ "$MICROLIGHT_ATTEMPT" -eq 1 ]; then exec sleep 30; fi
            """),
        "stubborn.sh": script("""\
            #!/bin/sh
            # Always fails; retries wait long.
            # @retries 3
            # @retry-delay 30s
            """, COUNTER, """\
            exit 1
            """),
        "later.sh": script("""\
            #!/bin/sh
            # Fails once, then succeeds after a delay.
            # @retries 1
            # @retry-delay 4s
            """, COUNTER, """\
            [ "$n" -ge 2 ]
            """),
        "cancelme.sh": gated("# @retries 2\n# @retry-delay 1s", "exit 1"),
    }

    def retry_of(self, task, first):
        return self.wait_run(task, lambda r: r["retry_of"] == first,
                             "the retry of run %d" % first)

    def test_retries_with_doubling_delay(self):
        first = self.d.run("flaky", check=1)
        self.assertEqual(first["status"], "failed")
        third = self.wait_run("flaky", lambda r: r["attempt"] == 3 and
                              r["status"] not in ("scheduled", "queued",
                                                  "running"),
                              "the third attempt to end", timeout=30)
        self.assertEqual(third["status"], "succeeded", third)
        time.sleep(0.3)     # a fourth attempt would be queued by now
        runs = self.runs_of("flaky")
        self.assertEqual(len(runs), 3, runs)
        r1, r2, r3 = runs
        self.assertEqual(r1["id"], first["id"])
        self.assertEqual([r["status"] for r in runs],
                         ["failed", "failed", "succeeded"])
        self.assertEqual([r["trigger"] for r in runs],
                         ["cli", "retry", "retry"])
        self.assertEqual([r["attempt"] for r in runs], [1, 2, 3])
        self.assertEqual([r["retry_of"] for r in runs],
                         [None, r1["id"], r1["id"]])
        self.assertEqual([r["triggered_by"] for r in runs], [me()] * 3)
        d1 = seconds(r2["started_at"], r1["finished_at"])
        d2 = seconds(r3["started_at"], r2["finished_at"])
        self.assertGreaterEqual(d1, 0.9)
        self.assertLess(d1, 10)
        self.assertGreaterEqual(d2, 1.9)
        self.assertLess(d2, 10)
        # The environment counts the attempts.
        self.assertEqual(self.read("flaky.attempts").splitlines(), [
            "1 cli " + me(), "2 retry " + me(), "3 retry " + me()])
        for r in runs:
            self.assertEqual(self.d.logs(r["id"]),
                             b"attempt=%d\n" % r["attempt"])

    def test_timed_out_run_is_retried(self):
        # run --wait, while the daemon's time passes to the timeout.
        p = self.popen_ctl("run", "sleepy", "--wait")
        wait_for(lambda: p.poll() is not None or self.d.advance(0.25),
                 timeout=30, what="run --wait to end")
        out, err = p.communicate()
        self.assertEqual(p.returncode, 124, (out, err))
        first = self.d.status(int(out.split(b"\n", 1)[0]))
        self.assertEqual(first["status"], "timed_out")
        retry = self.retry_of("sleepy", first["id"])
        # The daemon's time passes until the retry starts, not while it
        # runs: its @timeout 1s would be four looks away on a slow machine.
        self.d.wait_status(retry["id"], ("running", "succeeded"),
                           timeout=30, advance=self.advance_step())
        retry = self.d.wait_status(retry["id"], "succeeded", timeout=30,
                                   advance=0)
        self.assertEqual(retry["trigger"], "retry")
        self.assertEqual(retry["attempt"], 2)
        self.assertGreaterEqual(
            seconds(retry["started_at"], first["finished_at"]), 0.9)
        self.assertEqual(len(self.runs_of("sleepy")), 2)

    def test_cancelled_run_is_not_retried(self):
        run_id = self.start("cancelme")
        self.wait_ran(run_id)
        self.d.ctl("cancel", run_id, check=0)
        self.d.wait_status(run_id, "cancelled")
        self.let_pass(1.5)  # past the retry delay
        self.assertEqual([r["id"] for r in self.runs_of("cancelme")],
                         [run_id])
        # The same task failing is retried.
        second = self.start("cancelme")
        self.wait_ran(second)
        self.go(second)
        self.d.wait_status(second, "failed")
        self.retry_of("cancelme", second)

    def test_waiting_retry_is_scheduled_and_cancel_stops_it(self):
        first = self.d.run("stubborn", check=1)
        retry = self.retry_of("stubborn", first["id"])
        self.assertEqual(retry["status"], "scheduled")
        self.assertEqual(retry["trigger"], "retry")
        self.assertEqual(retry["attempt"], 2)
        self.assertIsNone(retry["started_at"])
        self.assertIsInstance(retry["scheduled_for"], str)
        wait = seconds(retry["scheduled_for"], first["finished_at"])
        self.assertGreater(wait, 25)
        self.assertLess(wait, 35)
        out = self.d.ctl("status", retry["id"], check=0).stdout.decode()
        self.assertRegex(out, r"(?m)^status:\s+scheduled$")
        self.assertRegex(out, r"(?m)^starts at:\s+\S")
        self.assertIn("scheduled", self.runs_row(retry["id"]))
        # The retry waits; the task is failing since its first run ended.
        self.assertRegex(self.list_status("stubborn"),
                         r"^scheduled, failing since \d{4}-\d\d-\d\d ")
        waiting = self.d.ctl_json("runs", "--status", "scheduled", check=0)
        self.assertEqual([r["id"] for r in waiting[0]["runs"]], [retry["id"]])

        # Cancelling the failed run stops its retries.
        p = self.d.ctl("cancel", first["id"], check=0)
        self.assertIn(b"cancelled", p.stdout)
        ended = self.d.wait_status(retry["id"], "cancelled")
        self.assertIsNone(ended["started_at"])
        self.assertFalse(self.ran(retry["id"]))
        self.assertEqual(self.d.status(first["id"])["status"], "failed")
        self.assertEqual(len(self.runs_of("stubborn")), 2)
        for status in ("queued", "scheduled"):
            waiting = self.d.ctl_json("runs", "--status", status, check=0)
            self.assertEqual(waiting[0]["runs"], [])
        self.assertEqual(self.read("stubborn.count").strip(), "1")
        self.d.ctl("cancel", first["id"], check=EX_DATAERR)

    def restart_during_delay(self, kill9):
        first = self.d.run("later", check=1)
        retry = self.retry_of("later", first["id"])
        self.assertEqual(retry["status"], "scheduled")
        not_before = parse_time(retry["scheduled_for"])
        if kill9:
            self.d.kill9()
        else:
            self.d.stop()
        with self.d.db() as db:
            row = db.execute("SELECT status, started_at, not_before "
                             "FROM runs WHERE id = ?",
                             (retry["id"],)).fetchone()
        self.assertEqual(row["status"], "scheduled")
        self.assertIsNone(row["started_at"])
        self.assertIsNotNone(row["not_before"])
        self.d.start()
        restarted = datetime.datetime.fromtimestamp(
            self.clock.now(), datetime.timezone.utc)
        self.assertLess(restarted, not_before,
                        "the restart took longer than the retry delay")
        self.assertEqual(self.d.status(retry["id"])["status"], "scheduled")
        done = self.d.wait_status(retry["id"], "succeeded", timeout=30,
                                  advance=self.advance_step())
        self.assertGreaterEqual(parse_time(done["started_at"]), not_before)
        self.assertIsNone(done["reason"])   # on time, not late
        self.assertLess(seconds(done["started_at"], retry["scheduled_for"]),
                        10)
        self.assertEqual(done["attempt"], 2)
        self.assertEqual(self.d.logs(done["id"]), b"attempt=2\n")
        self.assertEqual(self.read("later.count").strip(), "2")

    def test_retry_delay_survives_sigterm(self):
        self.restart_during_delay(kill9=False)

    def test_retry_delay_survives_kill9(self):
        self.restart_during_delay(kill9=True)


# 3. Chaining ----------------------------------------------------------------

AFTER_TASK = """\
    #!/bin/sh
    # Shows what it was told about the run before it.
    echo "trigger=$MICROLIGHT_TRIGGER"
    echo "by=$MICROLIGHT_TRIGGERED_BY"
    echo "chain_run=${MICROLIGHT_CHAIN_RUN_ID-unset}"
    echo "chain_task=${MICROLIGHT_CHAIN_TASK-unset}"
    echo "chain_status=${MICROLIGHT_CHAIN_STATUS-unset}"
    """

CYCLE_TASK = """\
    #!/bin/sh
    # Part of a cycle.
    # @on-success %s
    echo "$MICROLIGHT_TASK $MICROLIGHT_RUN_ID" >> "@SCRATCH@/cycle"
    """


class Chaining(PolicyTest):
    SHIFTED_CLOCK = True
    TASKS = {
        "after.sh": AFTER_TASK,
        "ok.sh": """\
            #!/bin/sh
            # Chains on success.
            # @on-success after
            # @param code int default=0
            exit "$code"
            """,
        "bad.sh": """\
            #!/bin/sh
            # Chains on failure.
            # @on-failure after
            # @param code int default=3
            exit "$code"
            """,
        "retryfail.sh": """\
            #!/bin/sh
            # Fails every attempt, then chains.
            # @retries 1
            # @retry-delay 1s
            # @on-failure after
            exit 1
            """,
        "both.sh": gated("# @on-success after\n# @on-failure after"),
        "ping.sh": CYCLE_TASK % "pong",
        "pong.sh": CYCLE_TASK % "ping",
        "self.sh": CYCLE_TASK % "self",
    }

    def chained(self, src):
        return self.wait_run("after", lambda r: r["chain_of"] == src and
                             r["status"] == "succeeded",
                             "the run chained by run %d" % src)

    def check_chain(self, src, src_task, src_status):
        run = self.chained(src)
        self.assertEqual(run["trigger"], "chain")
        self.assertEqual(run["triggered_by"], "run %d" % src)
        self.assertEqual(run["chain_of"], src)
        self.assertEqual(self.d.logs(run["id"]).decode().splitlines(), [
            "trigger=chain", "by=run %d" % src, "chain_run=%d" % src,
            "chain_task=" + src_task, "chain_status=" + src_status])
        out = self.d.ctl("status", run["id"], check=0).stdout.decode()
        self.assertRegex(out, r"(?m)^chained by:\s+run %d$" % src)
        return run

    def test_on_success(self):
        src = self.d.run("ok", check=0)
        self.check_chain(src["id"], "ok", "succeeded")
        # A failure does not start @on-success.
        failed = self.d.run("ok", "code=1", check=1)
        time.sleep(0.5)
        self.assertEqual([r["chain_of"] for r in self.runs_of("after")],
                         [src["id"]])
        self.assertEqual(failed["status"], "failed")

    def test_on_failure(self):
        src = self.d.run("bad", check=3)
        self.check_chain(src["id"], "bad", "failed")
        self.d.run("bad", "code=0", check=0)
        time.sleep(0.5)
        self.assertEqual(len(self.runs_of("after")), 1)

    def test_no_chain_variables_without_a_chain(self):
        run = self.d.run("after", check=0)
        self.assertIsNone(run["chain_of"])
        self.assertEqual(self.d.logs(run["id"]).decode().splitlines(), [
            "trigger=cli", "by=" + me(), "chain_run=unset",
            "chain_task=unset", "chain_status=unset"])

    def test_on_failure_after_the_last_retry(self):
        first = self.d.run("retryfail", check=1)
        retry = self.wait_run("retryfail",
                              lambda r: r["retry_of"] == first["id"],
                              "the retry")
        # The first attempt's failure chains nothing.
        self.assertEqual(self.runs_of("after"), [])
        last = self.d.wait_status(retry["id"], "failed", timeout=30,
                                  advance=self.advance_step())
        self.check_chain(last["id"], "retryfail", "failed")
        time.sleep(0.3)
        self.assertEqual(len(self.runs_of("after")), 1)
        self.assertEqual(len(self.runs_of("retryfail")), 2)

    def test_cancelled_run_chains_nothing(self):
        run_id = self.start("both")
        self.wait_ran(run_id)
        self.d.ctl("cancel", run_id, check=0)
        self.d.wait_status(run_id, "cancelled")
        time.sleep(1)
        self.assertEqual(self.runs_of("after"), [])

    def test_cycle_stops(self):
        ping = self.d.run("ping", check=0)["id"]
        pong = self.wait_run("pong", lambda r: r["chain_of"] == ping,
                             "pong chained by ping")
        pong = self.d.wait_status(pong["id"], "succeeded")
        self.assertEqual(pong["triggered_by"], "run %d" % ping)
        again = self.wait_run("ping", lambda r: r["chain_of"] == pong["id"],
                              "ping chained by pong")
        self.assertEqual(again["status"], "skipped", again)
        self.assertEqual(again["reason"], "chain stopped: ping already ran "
                         "in this chain (ping,pong)")
        self.assertEqual(again["trigger"], "chain")
        self.assertEqual(again["triggered_by"], "run %d" % pong["id"])
        self.assertIsNone(again["started_at"])
        time.sleep(1)
        self.assertEqual(self.read("cycle").splitlines(),
                         ["ping %d" % ping, "pong %d" % pong["id"]])
        self.assertEqual(len(self.runs_of("ping")), 2)
        self.assertEqual(len(self.runs_of("pong")), 1)
        self.assertEqual(self.d.ctl_json("runs", "--status", "queued",
                                         check=0)[0]["runs"], [])

    def test_task_chaining_to_itself_runs_once(self):
        first = self.d.run("self", check=0)["id"]
        again = self.wait_run("self", lambda r: r["chain_of"] == first,
                              "self chained by itself")
        self.assertEqual(again["status"], "skipped")
        self.assertEqual(again["reason"], "chain stopped: self already ran "
                         "in this chain (self)")
        time.sleep(1)
        self.assertEqual(self.read("cycle").splitlines(),
                         ["self %d" % first])
        self.assertEqual(len(self.runs_of("self")), 2)


class BadChains(PolicyTest):
    TASKS = {
        "a.sh": """\
            #!/bin/sh
            # Chains to a task that does not exist.
            # @on-success nosuch
            true
            """,
        "b.sh": """\
            #!/bin/sh
            # Chains to a task that needs a parameter.
            # @on-failure needy
            true
            """,
        "needy.sh": """\
            #!/bin/sh
            # Needs a parameter.
            # @param host required
            true
            """,
    }

    def test_unknown_and_parameterised_targets_are_errors(self):
        # list marks them; show says why.
        for task in ("a", "b"):
            self.assertEqual(self.list_status(task), "invalid")
        a = self.d.ctl("show", "a", check=0).stdout.decode()
        self.assertRegex(a, r"a\.sh:3: .*nosuch")
        b = self.d.ctl("show", "b", check=0).stdout.decode()
        self.assertRegex(b, r"b\.sh:3: .*needy.*host")
        self.assertFalse(self.list_status("needy").startswith("invalid"))

        for task in ("a", "b"):
            p = self.d.ctl("run", task, check=EX_DATAERR)
            self.assertIn(b"invalid", p.stderr)
            self.assertEqual(self.runs_of(task), [])

        rc, report = self.d.check_mode()
        self.assertNotEqual(rc, 0)
        self.assertRegex(report, r"a\.sh:3: .*nosuch")
        self.assertRegex(report, r"b\.sh:3: .*needy")

        # The error was the missing task: adding it makes "a" valid.
        self.d.add_task("nosuch.sh", "#!/bin/sh\n# Now it exists.\ntrue\n")
        self.d.ctl("reload", check=0)
        self.assertEqual(self.list_status("a"), "-")
        src = self.d.run("a", check=0)
        self.wait_run("nosuch", lambda r: r["chain_of"] == src["id"],
                      "the chained run")


if __name__ == "__main__":
    main()
