#!/usr/bin/env python3
"""Steps of the wall clock (SPEC section 4; issue 4, point 3): a step
forward fires what came due once, a step back replays nothing of a
schedule with a restricted hour while an every-hour schedule follows real
time, and a step back of more than three hours starts afresh (cronie's
rules). The daemon runs with clockshift.so preloaded, which adds an offset
the test writes to every reading of its wall clock, as `date -s` or an NTP
step would to the system's; its monotonic clock runs on. The seconds the
schedules take between fires pass at once on both of the daemon's clocks
(ShiftedClock.advance), half a second at a time, rather than in real
time."""

import calendar

from harness import *


def task(expr):
    return "#!/bin/sh\n# Fires on a schedule.\n# @schedule %s\ntrue\n" % expr


def second(stamp):
    """The whole second of an RFC 3339 time ("...T10:00:00.123Z")."""
    return stamp[:19]


class ClockTest(unittest.TestCase):
    """The base: a daemon whose wall clock the test steps."""
    TASKS = {}

    def setUp(self):
        self.clock = ShiftedClock()
        self.addCleanup(self.clock.close)
        self.d = Daemon(tasks=self.TASKS, clock=self.clock)
        self.addCleanup(self.d.cleanup)

    def step(self, seconds):
        """Step the daemon's wall clock by seconds."""
        self.clock.step(seconds)

    def daemon_now(self):
        return self.clock.now()

    def runs(self, name):
        reply = self.d.request({"cmd": "runs", "task": name, "limit": 1000})
        self.assertTrue(reply["ok"], reply)
        return sorted(reply["runs"], key=lambda r: r["id"])

    def count(self, name):
        return len(self.runs(name))

    def wait_count(self, name, n, timeout=10):
        """Let the daemon's time pass, half a second at a time, until name
        has n runs; fail if that takes more than timeout seconds of it."""
        passed = 0
        while self.count(name) < n:
            if passed >= timeout:
                self.fail("no %d runs of %s within %s s: %r" % (
                    n, name, timeout, [r["queued_at"] for r in
                                       self.runs(name)]))
            self.d.advance(0.5)
            passed += 0.5

    def let_pass(self, seconds):
        """Let seconds pass on the daemon's clocks, half a second at a
        time, as its timers would see them."""
        for _ in range(int(seconds * 2)):
            self.d.advance(0.5)



def epoch(stamp):
    """The whole second of an RFC 3339 UTC time, as seconds since the
    epoch."""
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))


class ShimTest(ClockTest):
    def test_shim_shifts_the_daemon_clock(self):
        # The premise of the other tests: runs are recorded by the shifted
        # clock. The whole time is compared, not the day: a day ahead is
        # the next date at any hour, but the next midnight is less than an
        # hour away from 23:00 on.
        self.step(86400)
        self.d.add_task("probe.sh", "#!/bin/sh\n# Probe.\ntrue\n")
        self.d.ctl("reload", check=0)
        before = int(time.time())
        run = self.d.run("probe", check=0)
        after = time.time()
        got = epoch(run["queued_at"])
        self.assertGreaterEqual(got, before + 86400, run["queued_at"])
        self.assertLessEqual(got, after + 86400, run["queued_at"])


class StepForwardTest(ClockTest):
    TASKS = {"tick.sh": task("* * * * * *"),
             "tenmin.sh": task("*/10 * * * *"),
             "hourly.sh": task("0 * * * *")}

    def test_due_fires_once(self):
        self.wait_count("tick", 1)
        before = {n: self.count(n) for n in ("tenmin", "hourly")}
        # Land 20 s past the start of an hour at least one hour ahead: the
        # skipped interval holds six or more ten-minute fires and an hourly
        # one, and the next of either is ten minutes away.
        now = self.daemon_now()
        target = (int(now) // 3600 + 2) * 3600 + 20
        self.step(target - now)
        for name in ("tenmin", "hourly"):
            self.wait_count(name, before[name] + 1)
        tick = self.count("tick")
        self.let_pass(3)
        for name in ("tenmin", "hourly"):
            runs = self.runs(name)
            self.assertEqual(len(runs), before[name] + 1,
                             "%s fired more than once for the step: %r"
                             % (name, [r["queued_at"] for r in runs]))
            self.assertEqual(runs[-1]["trigger"], "schedule")
            # Fired at the new time, not replayed at the skipped ones.
            self.assertGreaterEqual(runs[-1]["queued_at"][:16],
                                    time.strftime("%Y-%m-%dT%H:00",
                                                  time.gmtime(target)))
        # The every-second schedule went on once a second, not 3600 times.
        got = self.count("tick") - tick
        self.assertGreaterEqual(got, 1)
        self.assertLessEqual(got, 6)
        self.assertIn("the wall clock moved by +", self.d.log_text())


class StepBackTest(ClockTest):
    # Every 2 s; the first follows real time (hour field '*'), the second
    # lives on the wall clock (its hour field is restricted, if to every
    # hour).
    TASKS = {"realtime.sh": task("*/2 * * * * *"),
             "wallclock.sh": task("*/2 * 0-23 * * *")}

    def test_no_replay_then_resume(self):
        self.wait_count("realtime", 2)
        self.wait_count("wallclock", 2)
        self.step(-60)
        self.let_pass(0.5)
        wall, real = self.count("wallclock"), self.count("realtime")
        # The real-time schedule goes on every 2 s (the shim's step is
        # seen at the daemon's next wake-up, within 2 s). The wall-clock
        # one already fired at these times: nothing replays.
        self.wait_count("realtime", real + 2)
        self.assertEqual(self.count("wallclock"), wall)
        seconds = [second(r["queued_at"]) for r in self.runs("wallclock")]
        self.assertEqual(len(seconds), len(set(seconds)),
                         "a wall-clock fire time was replayed: %r" % seconds)
        # The clock comes back: the schedule resumes where it was.
        self.step(60)
        self.wait_count("wallclock", wall + 1, timeout=5)

    def test_long_step_back_starts_afresh(self):
        self.wait_count("wallclock", 1)
        self.step(-4 * 3600)
        n = self.count("wallclock")
        # More than three hours back: the clock was wrong when it fired,
        # so the schedule does not wait four hours for it.
        self.wait_count("wallclock", n + 2, timeout=8)
        self.assertIn("starting afresh", self.d.log_text())


if __name__ == "__main__":
    main()
