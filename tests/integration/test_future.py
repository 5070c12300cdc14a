#!/usr/bin/env python3
"""Future runs (SPEC section 3): `run --at/--in` makes a run at once, in
status `scheduled` with its `scheduled_for`; at its time it is queued like
any run. Cancel, list soonest first, restart (a late run says so), a task
gone by then, max-scheduled. The daemon runs on a shifted clock: its time
passes at once instead of in real time."""

import datetime

from harness import *

HELLO = """\
    #!/bin/sh
    # Say hello.
    # @param who "Who" default=world
    # @param n int "A number" default=1
    echo "hello $who"
    """


class FutureTest(DaemonTest):
    SHIFTED_CLOCK = True
    TASKS = {"hello.sh": HELLO}

    def schedule(self, *args, check=0):
        """run hello ARGS...: the new run's object."""
        p = self.d.ctl("run", "hello", *args, check=check)
        if check != 0:
            return p
        return self.d.status(int(p.stdout))

    def scheduled(self, *args):
        return self.d.request(dict({"cmd": "runs", "status": "scheduled"},
                                   **dict(args)))["runs"]

    def let_pass(self, seconds):
        """Let seconds of the daemon's time pass, in steps of a minute at
        most (each a wake-up, as real time would give)."""
        while seconds > 0:
            step = min(seconds, 60)
            self.d.advance(step)
            seconds -= step


class Create(FutureTest):

    def test_in_and_at_make_a_scheduled_run(self):
        now = self.clock.now()
        run = self.schedule("--in", "1h", "who=later")
        self.assertEqual(run["status"], "scheduled")
        self.assertEqual(run["params"], {"who": "later", "n": "1"})
        self.assertEqual(run["trigger"], "cli")
        self.assertRegex(run["triggered_by"], r"^uid=\d+")
        self.assertIsNone(run["started_at"])
        self.assertAlmostEqual(epoch(run["scheduled_for"]), now + 3600,
                               delta=5)
        at = int(now) + 7200
        run2 = self.schedule("--at", "@%d" % at)
        self.assertEqual(epoch(run2["scheduled_for"]), at)
        # ISO 8601 with an offset, and a local time without one.
        iso = datetime.datetime.fromtimestamp(
            at + 60, datetime.timezone(datetime.timedelta(hours=5, minutes=30)))
        run3 = self.schedule("--at", iso.isoformat())
        self.assertEqual(epoch(run3["scheduled_for"]), at + 60)
        local = datetime.datetime.fromtimestamp(at + 120).replace(
            second=0, microsecond=0)
        run4 = self.schedule("--at", local.strftime("%Y-%m-%d %H:%M"))
        self.assertEqual(epoch(run4["scheduled_for"]), local.timestamp())
        # Soonest first, with paging after a run.
        ids = [r["id"] for r in self.scheduled()]
        self.assertEqual(ids, [run["id"], run2["id"], run3["id"], run4["id"]]
                         if local.timestamp() > at + 60 else ids)
        self.assertEqual(ids[0], run["id"])
        self.assertEqual([r["id"] for r in self.scheduled(("before", ids[1]))],
                         ids[2:])
        self.assertEqual([r["id"] for r in self.scheduled(("limit", 1))],
                         ids[:1])
        out = self.d.ctl("runs", "--status", "scheduled", check=0).stdout
        self.assertEqual(len(out.splitlines()), 5)
        self.assertIn(b"scheduled", out)
        # Not queued: nothing holds a slot or the queue.
        self.assertEqual(self.d.request({"cmd": "ping"})["queued"], 0)

    def test_refused_with_a_clear_message_and_nothing_made(self):
        cases = (
            (["--at", "@1"], EX_USAGE, b"has passed"),
            (["--in", "4000d"], EX_USAGE, b"too long"),
            (["--at", "@%d" % (int(self.clock.now()) + 11 * 366 * 86400)],
             EX_USAGE, b"more than ten years"),
            (["--at", "tomorrow"], EX_USAGE, b"not a time"),
            (["--in", "soon"], EX_USAGE, b"in soon"),
            (["--in", "1h", "n=many"], EX_DATAERR, b"n"),
            (["--in", "1h", "bogus=1"], EX_DATAERR, b"bogus"),
        )
        for args, code, text in cases:
            p = self.schedule(*args, check=code)
            self.assertIn(text, p.stderr, args)
        p = self.d.ctl("run", "hello", "--at", "@%d" % (
            int(self.clock.now()) + 60), "--in", "1h", check=EX_USAGE)
        self.assertEqual(self.d.request({"cmd": "runs"})["runs"], [])

    def test_max_scheduled_refuses_more(self):
        self.d.stop()
        with open(self.d.config, "a") as f:
            f.write("max-scheduled 2\n")
        self.d.start()
        self.schedule("--in", "1h")
        self.schedule("--in", "2h")
        p = self.schedule("--in", "3h", check=EX_UNAVAILABLE)
        self.assertIn(b"max-scheduled", p.stderr)
        self.assertEqual(len(self.scheduled()), 2)
        reply = self.d.request({"cmd": "run", "task": "hello", "in": "3h"})
        self.assertEqual(reply["error"]["code"], "queue-full")
        # A run for now is not refused.
        self.assertEqual(self.d.run("hello")["status"], "succeeded")


class AtItsTime(FutureTest):

    def test_runs_at_its_time_like_any_run(self):
        run = self.schedule("--in", "90s", "who=you")
        self.let_pass(80)
        self.assertEqual(self.d.status(run["id"])["status"], "scheduled")
        self.let_pass(15)
        done = self.d.wait_status(run["id"], "succeeded")
        self.assertEqual(self.d.logs(run["id"]), b"hello you\n")
        self.assertGreaterEqual(epoch(done["started_at"]),
                                epoch(run["scheduled_for"]))
        self.assertIsNone(done["reason"])
        self.assertEqual(self.scheduled(), [])

    def test_beyond_the_window_is_loaded_when_its_time_nears(self):
        # Held in SQLite only, hours ahead; the window reaches it.
        far = self.schedule("--in", "3h")
        near = self.schedule("--in", "30s")
        self.let_pass(60)
        self.d.wait_status(near["id"], "succeeded")
        self.assertEqual(self.d.status(far["id"])["status"], "scheduled")
        self.let_pass(3 * 3600)
        self.d.wait_status(far["id"], "succeeded")

    def test_cancel_a_scheduled_run(self):
        far = self.schedule("--in", "3h")
        near = self.schedule("--in", "30s")
        for run in (far, near):
            p = self.d.ctl("cancel", run["id"], check=0)
            self.assertIn(b"cancelled", p.stdout)
            st = self.d.status(run["id"])
            self.assertEqual(st["status"], "cancelled")
            self.assertRegex(st["reason"], r"^cancelled by uid=")
        self.d.ctl("cancel", near["id"], check=EX_DATAERR)
        self.let_pass(3 * 3600 + 60)
        self.d.request({"cmd": "ping"})
        for run in (far, near):
            self.assertEqual(self.d.status(run["id"])["status"], "cancelled")
            self.assertEqual(self.d.logs(run["id"]), b"")

    def test_task_gone_by_then_fails_saying_why(self):
        run = self.schedule("--in", "30s")
        self.d.remove_task("hello.sh")
        self.d.ctl("reload", check=0)
        self.assertEqual(self.d.status(run["id"])["status"], "scheduled")
        self.let_pass(60)
        done = self.d.wait_status(run["id"], "failed")
        self.assertIn("no longer exists", done["reason"])


class Restart(FutureTest):

    def test_scheduled_runs_survive_and_a_late_one_says_so(self):
        late = self.schedule("--in", "30s", "who=late")
        later = self.schedule("--in", "2h")
        self.d.stop()
        self.clock.advance(120)         # the daemon is down meanwhile
        self.d.start()
        done = self.d.wait_status(late["id"], "succeeded")
        self.assertEqual(self.d.logs(late["id"]), b"hello late\n")
        self.assertRegex(done["reason"], r"^late: due at 20\d\d-")
        self.assertEqual(self.d.status(later["id"])["status"], "scheduled")
        self.assertEqual([r["id"] for r in self.scheduled()], [later["id"]])
        # It runs once, not again at the next start.
        self.d.stop()
        self.d.start()
        self.assertEqual(len(self.d.request({"cmd": "runs"})["runs"]), 2)


class Scale(FutureTest):
    """Later's scale, small enough for the suite (bench/future.py does a
    million and measures): 50,000 future runs made over one pipelined
    connection are all recorded, the daemon's memory stays bounded
    (only a window is held), a restart keeps them, and a run due among
    them runs at its time while the far ones wait."""

    N = 50000

    def rss_kib(self):
        with open("/proc/%d/status" % self.d.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])

    def test_fifty_thousand_pending(self):
        rss0 = self.rss_kib()
        base = int(self.clock.now()) + 86400
        replies = self.d.pipeline([
            b'{"cmd":"run","task":"hello","at":"@%d"}\n' % (base + i)
            for i in range(self.N)])
        self.assertEqual(sum(r["ok"] for r in replies), self.N)
        del replies
        near = self.schedule("--in", "30s", "who=near")
        ping = self.d.request({"cmd": "ping"})
        self.assertEqual(ping["queued"], 0)
        with self.d.db() as db:
            self.assertEqual(db.execute(
                "SELECT count(*) FROM runs WHERE status = 'scheduled'")
                .fetchone()[0], self.N + 1)
        # Memory: far below a run in memory per run (one is about a KiB:
        # 50 MiB for them all); they wait in SQLite.
        # (Not under the sanitizers: their quarantine keeps what is freed.)
        grown = self.rss_kib() - rss0
        if not sanitized():
            self.assertLess(grown, 16 * 1024, "RSS grew by %d KiB" % grown)
        self.d.stop()
        self.d.start()
        grown = self.rss_kib() - rss0
        if not sanitized():
            self.assertLess(grown, 16 * 1024, "RSS grew by %d KiB" % grown)
        page = self.scheduled(("limit", 3))
        self.assertEqual([r["id"] for r in page][0], near["id"])
        self.let_pass(60)
        self.d.wait_status(near["id"], "succeeded")
        self.assertEqual(self.d.logs(near["id"]), b"hello near\n")
        with self.d.db() as db:
            self.assertEqual(db.execute(
                "SELECT count(*) FROM runs WHERE status = 'scheduled'")
                .fetchone()[0], self.N)


class Batched(FutureTest):
    """Requests sent at once over one connection have their runs for later
    written in batches (one commit for many, so that a million can be made
    quickly: bench/future.py). Every reply still comes in order and says
    what was done, whatever else is mixed in; and every run a reply
    accepts is on disk before the reply is sent: a crash right after
    loses none of them. (A batch the disk refuses: test_store.)"""

    TASKS = {"hello.sh": HELLO, "now.sh": """\
        #!/bin/sh
        # Waits for the file $gate.
        # @param gate "Gate file" required
        while [ ! -e "$gate" ]; do sleep 0.05; done
        """}

    def hello_rows(self):
        with self.d.db() as db:
            return {row["id"]: (row["status"], json.loads(row["params"]))
                    for row in db.execute("SELECT id, status, params FROM "
                                          "runs WHERE task = 'hello'")}

    def at(self, base, i):
        return {"cmd": "run", "task": "hello", "at": "@%d" % (base + i),
                "params": {"n": str(i)}}

    def test_in_order_and_on_disk_before_the_reply(self):
        base = int(self.clock.now()) + 86400
        gate = os.path.join(self.d.dir, "gate")
        first = self.d.pipeline([self.at(base, i) for i in range(200)])
        self.assertTrue(all(r["ok"] for r in first), first[:3])
        ids = {i: r["run"]["id"] for i, r in enumerate(first)}
        reqs = [self.at(base, i) for i in range(200, 300)]
        reqs += [{"cmd": "cancel", "run": ids[0]},
                 {"cmd": "status", "run": ids[0]}]
        reqs += [self.at(base, i) for i in range(300, 400)]
        reqs += [{"cmd": "runs", "status": "scheduled", "limit": 1000},
                 {"cmd": "run", "task": "nosuch", "in": "1h"},
                 dict(self.at(base, 1), params={"n": "many"}),
                 {"cmd": "run", "task": "now", "params": {"gate": gate}}]
        reqs += [self.at(base, i) for i in range(400, 500)]
        reqs += [{"cmd": "run", "task": "hello", "in": "2s",
                  "params": {"who": "near"}}]
        replies = self.d.pipeline(reqs)
        made = replies[:100] + replies[102:202] + replies[206:306]
        for i, r in zip(list(range(200, 400)) + list(range(400, 500)), made):
            self.assertTrue(r["ok"], r)
            self.assertEqual(r["run"]["status"], "scheduled", r)
            self.assertEqual(r["run"]["params"]["n"], str(i), r)
            ids[i] = r["run"]["id"]
        self.assertEqual(len(set(ids.values())), 500)
        cancel, status, listed, unknown, bad, now = replies[100:102] + \
            replies[202:206]
        self.assertTrue(cancel["ok"], cancel)
        self.assertEqual(status["run"]["status"], "cancelled", status)
        # The listing sees every run made before it, and only those.
        self.assertEqual(sorted(r["id"] for r in listed["runs"]),
                         sorted(ids[i] for i in range(1, 400)))
        self.assertEqual(unknown["error"]["code"], "unknown-task", unknown)
        self.assertEqual(bad["error"]["code"], "bad-params", bad)
        self.assertTrue(now["ok"], now)
        self.assertTrue(replies[-1]["ok"], replies[-1])
        near = replies[-1]["run"]
        self.assertEqual(near["status"], "scheduled", near)
        # Answered, so committed: what another reader of the database sees
        # now (the run started is still running: nothing else writes).
        want = {ids[i]: ("cancelled" if i == 0 else "scheduled",
                         {"who": "world", "n": str(i)}) for i in range(500)}
        want[near["id"]] = ("scheduled", {"who": "near", "n": "1"})
        self.assertEqual(self.hello_rows(), want)
        # A crash loses none of them either.
        with open(gate, "w"):
            pass
        self.d.wait_status(now["run"]["id"], "succeeded")
        self.d.kill9()
        self.assertEqual(self.hello_rows(), want)
        # And the one due within the window (held in memory) runs.
        self.d.start()
        self.d.wait_status(near["id"], "succeeded", advance=1)
        self.assertEqual(self.d.logs(near["id"]), b"hello near\n")


if __name__ == "__main__":
    main()
