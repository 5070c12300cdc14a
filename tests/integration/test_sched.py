#!/usr/bin/env python3
"""Schedules against the real daemon (SPEC sections 2, 3, 4 and 5):
@schedule firing on time with trigger "schedule", reloads (control
command, SIGHUP, inotify) that neither fire a schedule twice nor lose a
fire, @reboot once per start, @catchup across a downtime, the schedules
and next fire times in `list` and `show` (local time, @timezone), invalid
schedules and zones, `microlightctl next` without a daemon, and scheduled
runs going through @concurrency and @overlap like any other trigger.

Every-second (6-field) schedules keep the waits short. The timing
checks are generous, for a loaded machine and sanitizer builds, but each
still asserts the property it names. The tests of what fires, not of how
punctually, run the daemon on a ShiftedClock (SHIFTED_CLOCK): the seconds
between fires, and a downtime, pass at once on its clocks rather than in
real time."""

import datetime
import math
import statistics
import zoneinfo

from harness import *


def epoch(s):
    """An RFC 3339 UTC time with milliseconds as seconds since the epoch."""
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def second(run):
    """The whole second a run was queued in."""
    return math.floor(epoch(run["queued_at"]))


def brief(runs):
    """Runs in a failure message: id, status, queued_at, schedule."""
    return [(r["id"], r["status"], r["queued_at"], r["schedule"])
            for r in runs]


def local_text(iso, zone):
    """An ISO 8601 time with offset as `list`/`show` print it in a zone."""
    t = datetime.datetime.fromisoformat(iso)
    return t.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def utc_text(iso):
    """An ISO 8601 time with offset as the protocol's RFC 3339 UTC."""
    t = datetime.datetime.fromisoformat(iso).astimezone(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def next_times(*args, env=None):
    """`microlightctl next ARGS` without a daemon (its socket would be a
    path that does not exist): (status, lines, stderr)."""
    cmd = [MICROLIGHTCTL, "next"] + [str(a) for a in args]
    env = dict({"MICROLIGHT_SOCKET": "/nonexistent/microlightd.sock"},
               **(env or {}))
    p = subprocess.run(cmd, capture_output=True, timeout=30,
                       env=ctl_env(env), stdin=subprocess.DEVNULL)
    for stream in (p.stdout, p.stderr):
        if SANITIZER_RE.search(stream):
            raise AssertionError("sanitizer report from microlightctl:\n" +
                                 stream.decode("utf-8", "replace"))
    return p.returncode, p.stdout.decode().splitlines(), p.stderr.decode()


def sleep_until(t):
    """Sleep until the wall clock reads t (seconds since the epoch)."""
    while True:
        left = t - time.time()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


def task_body(directives, body='echo "trigger=$MICROLIGHT_TRIGGER"'):
    """A shell task: a description, the directives, then body."""
    lines = ["#!/bin/sh", "# A scheduled task."]
    lines += ["# " + d for d in directives]
    return "\n".join(lines) + "\n" + body + "\n"


EVERY_SECOND = "* * * * * *"


class SchedTest(ScratchTest):
    """Helpers shared by the schedule tests. With SHIFTED_CLOCK, waits
    for fires let the daemon's time pass instead of waiting for it."""

    CTL_ENV = None

    def now(self):
        """The daemon's wall clock."""
        return self.clock.now() if self.SHIFTED_CLOCK else time.time()

    def pass_until(self, t):
        """Until the daemon's wall clock reads t: let its time pass (a
        quarter of a second at a time, as its timers would see it) or
        sleep."""
        if not self.SHIFTED_CLOCK:
            sleep_until(t)
            return
        while self.now() < t:
            self.d.advance(min(0.25, t - self.now()))

    def runs_of(self, task):
        """Every run of a task, oldest first (JSON records)."""
        reply = self.d.request({"cmd": "runs", "task": task,
                                "limit": 10000})
        self.assertTrue(reply["ok"], reply)
        return sorted(reply["runs"], key=lambda r: r["id"])

    def wait_runs(self, task, n, pred=lambda r: True, timeout=20,
                  what=None):
        """Wait until at least n runs of a task satisfy pred; those runs.
        With SHIFTED_CLOCK, each look lets a quarter of a second of the
        daemon's time pass, up to timeout seconds of it: a fire comes at
        most that late."""
        return self.d.wait_for(
            lambda: (lambda rs: rs if len(rs) >= n else None)(
                [r for r in self.runs_of(task) if pred(r)]),
            timeout=timeout, advance=0.25 if self.SHIFTED_CLOCK else 0,
            what=what or "%d runs of %s" % (n, task))

    def ran(self, run_id):
        return os.path.exists(os.path.join(self.scratch, "ran-%d" % run_id))

    def wait_ran(self, run_id):
        wait_for(lambda: self.ran(run_id), timeout=20,
                 what="run %d's script to start" % run_id)

    def table(self, *args, env=None):
        """A table printed by microlightctl: a list of {header: cell}."""
        out = self.d.ctl(*args, check=0,
                         env=env or self.CTL_ENV).stdout.decode()
        lines = out.splitlines()
        header = lines[0]
        names = re.findall(r"\S+(?: \S+)*", header)
        starts = [header.index(n) for n in names]
        rows = []
        for line in lines[1:]:
            if not line.strip():
                break
            cells = [line[a:b].strip() for a, b in
                     zip(starts, starts[1:] + [None])]
            rows.append(dict(zip(names, cells)))
        return rows

    def list_row(self, task, env=None):
        """The row of a task in `microlightctl list`."""
        for row in self.table("list", env=env):
            if row["TASK"] == task:
                return row
        self.fail("task %s not in `microlightctl list`" % task)

    def invalid_errors(self, task):
        """An invalid task: `list` marks it, `show` says why (its text)."""
        self.assertEqual(self.list_row(task)["STATUS"], "invalid")
        return self.d.ctl("show", task, check=0,
                          env=self.CTL_ENV).stdout.decode()

    def find_task(self, task):
        """The task object of `microlightctl --json list`, or None."""
        reply = self.d.ctl_json("list", check=0, env=self.CTL_ENV)[0]
        for t in reply["tasks"]:
            if t["name"] == task:
                return t
        return None

    def task_json(self, task):
        """The task object of `microlightctl --json list`."""
        t = self.find_task(task)
        if t is None:
            self.fail("task %s not in `--json list`" % task)
        return t

    def wait_reload(self, task, pred, what):
        """Wait until the daemon's view of a task satisfies pred."""
        return wait_for(lambda: (lambda t: t if t is not None and pred(t)
                                 else None)(self.find_task(task)),
                        timeout=20, what=what)


# 1. An every-second schedule --------------------------------------------

class EverySecond(SchedTest):
    TASKS = {
        "tick.sh": task_body(
            ["@schedule * * * * * *"],
            'echo "trigger=$MICROLIGHT_TRIGGER '
            'by=$MICROLIGHT_TRIGGERED_BY task=$MICROLIGHT_TASK"'),
    }

    def test_fires_every_second_on_time(self):
        # Each fire comes within a second of the time `list` announced.
        for _ in range(3):
            due = epoch(self.task_json("tick")["next_run"])
            self.assertEqual(due, math.floor(due))
            fired = self.wait_runs("tick", 1, lambda r: epoch(
                r["queued_at"]) >= due, timeout=10, what="the fire at %d" %
                due)
            self.assertLess(epoch(fired[0]["queued_at"]), due + 1,
                            brief(fired))
        runs = self.wait_runs("tick", 4, lambda r: r["status"] ==
                              "succeeded", what="4 scheduled runs")
        for r in runs:
            self.assertEqual(r["trigger"], "schedule", r)
            self.assertEqual(r["triggered_by"], "schedule", r)
            self.assertEqual(r["schedule"], EVERY_SECOND, r)
            self.assertEqual(r["params"], {})
            self.assertEqual(r["attempt"], 1)
            self.assertEqual(r["exit_code"], 0)
            self.assertEqual(self.d.logs(r["id"]),
                             b"trigger=schedule by=schedule task=tick\n")

        # One run per second, each in its own second.
        times = [epoch(r["queued_at"]) for r in runs]
        secs = [math.floor(t) for t in times]
        self.assertEqual(len(set(secs)), len(secs), "two runs in one "
                         "second: %s" % brief(runs))
        gaps = [b - a for a, b in zip(times, times[1:])]
        for g in gaps:
            self.assertGreater(g, 0.5, brief(runs))
            self.assertLess(g, 2.5, brief(runs))
        self.assertAlmostEqual(statistics.median(gaps), 1.0, delta=0.2,
                               msg=brief(runs))

        # What a user sees of a scheduled run.
        out = self.d.ctl("status", runs[0]["id"], check=0).stdout.decode()
        self.assertRegex(out, r"(?m)^trigger:\s+schedule$")
        self.assertRegex(out, r"(?m)^triggered by:\s+schedule$")
        self.assertRegex(out, r"(?m)^schedule:\s+\* \* \* \* \* \*$")
        row = self.list_row("tick")
        self.assertEqual(row["SCHEDULE"], EVERY_SECOND)
        self.assertRegex(row["NEXT RUN"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        out = self.d.ctl("runs", "tick", check=0).stdout.decode()
        self.assertRegex(out, r"(?m)^%d\s+succeeded\s+schedule\s+schedule\s"
                         % runs[0]["id"])


# 2. Reloads neither double-fire nor lose a fire ---------------------------

EVEN = "*/2 * * * * *"


class Reloads(SchedTest):
    TASKS = {"even.sh": task_body(["@schedule " + EVEN])}

    def edit(self, n, expr=EVEN):
        """Rewrite the task file (a new description, the same schedule)."""
        self.d.add_task("even.sh", "#!/bin/sh\n# Even %d.\n# @schedule %s\n"
                        'echo "trigger=$MICROLIGHT_TRIGGER"\n' % (n, expr))

    def test_reload_storm_keeps_each_fire_once(self):
        first = self.wait_runs("even", 1, what="the first fire")[0]
        begin = second(first)
        actions = {"reload": 0, "sighup": 0, "edit": 0}
        edits = 0
        # Two fire times, each with a burst of reloads around it and an
        # edit whose inotify reload (after the quiet time) lands on it.
        fire = begin + 2
        while fire <= begin + 4:
            sleep_until(fire - 0.3)
            edits += 1
            self.edit(edits)
            actions["edit"] += 1
            sleep_until(fire - 0.12)
            deadline = fire + 0.15
            while time.time() < deadline:
                self.d.ctl("reload", check=0)
                actions["reload"] += 1
                self.d.proc.send_signal(signal.SIGHUP)
                actions["sighup"] += 1
                time.sleep(0.01)
            # And a few between fire times.
            sleep_until(fire + 1)
            for _ in range(3):
                self.d.ctl("reload", check=0)
                self.d.proc.send_signal(signal.SIGHUP)
                actions["reload"] += 1
                actions["sighup"] += 1
            fire += 2
        end = time.time()
        self.assertGreaterEqual(actions["reload"], 8, actions)
        # Every kind of reload really happened, the last edit included.
        self.wait_reload("even", lambda t: t["description"] ==
                         "Even %d." % edits, "the last edit to be loaded")
        log = self.d.log_text()
        self.assertIn("SIGHUP: reloading", log)
        self.assertIn("tasks directory changed, reloading", log)

        # Wait for one more fire after the storm, then look at them all.
        after = math.floor(end) + 1
        self.wait_runs("even", 1, lambda r: second(r) >= after, timeout=15,
                       what="a fire after the reloads")
        runs = [r for r in self.runs_of("even") if second(r) >= begin]
        secs = [second(r) for r in runs]
        last = secs[-1]
        for r in runs:
            self.assertEqual(r["trigger"], "schedule", r)
            self.assertEqual(r["schedule"], EVEN, r)
            self.assertIn(r["status"], ("succeeded", "running", "queued"))
        # Never twice for one fire time: distinct (even) seconds, and
        # never two runs closer than a second.
        slots = [s - s % 2 for s in secs]
        self.assertEqual(len(set(slots)), len(slots),
                         "a fire time ran twice: %s" % brief(runs))
        times = [epoch(r["queued_at"]) for r in runs]
        for a, b in zip(times, times[1:]):
            self.assertGreater(b - a, 1.0, brief(runs))
        odd = [s for s in secs if s % 2]
        self.assertLessEqual(len(odd), 1, "runs not at their even second: "
                             "%s" % brief(runs))
        # And none lost.
        expected = (last - begin) // 2 + 1
        self.assertLessEqual(abs(len(runs) - expected), 1,
                             "%d runs in %d s of */2: %s" % (
                                 len(runs), last - begin, brief(runs)))


class Rearm(SchedTest):
    """A changed expression is rearmed (Reloads' task, on the shifted
    clock)."""
    TASKS = Reloads.TASKS
    SHIFTED_CLOCK = True
    edit = Reloads.edit

    def test_changed_expression_is_rearmed(self):
        self.wait_runs("even", 1, what="the first fire")
        new = "*/3 * * * * *"
        self.edit(1, new)
        self.wait_reload("even", lambda t: t["schedules"] == [new],
                         "the new schedule to be loaded")
        loaded = self.now()
        t = self.task_json("even")
        self.assertEqual(math.floor(epoch(t["next_run"])) % 3, 0, t)
        runs = self.wait_runs("even", 1, lambda r: r["schedule"] == new,
                              timeout=15, what="a run of the new schedule")
        for r in runs:
            self.assertEqual(second(r) % 3, 0, r)
            self.assertEqual(r["trigger"], "schedule")
        # The old expression no longer fires.
        old = [r for r in self.runs_of("even") if r["schedule"] == EVEN]
        self.assertTrue(old)
        for r in old:
            self.assertLess(epoch(r["queued_at"]), loaded, r)
        self.assertEqual(self.list_row("even")["SCHEDULE"], new)


# 3. @reboot --------------------------------------------------------------

class Reboot(SchedTest):
    TASKS = {"boot.sh": task_body(["@schedule @reboot"])}

    def reboot_runs(self, task="boot"):
        return [r for r in self.runs_of(task) if r["schedule"] == "@reboot"]

    def test_reboot_fires_once_per_start(self):
        runs = self.wait_runs("boot", 1, lambda r: r["status"] ==
                              "succeeded", what="the @reboot run")
        self.assertEqual(len(runs), 1)
        run = runs[0]
        self.assertEqual(run["trigger"], "schedule")
        self.assertEqual(run["triggered_by"], "schedule")
        self.assertEqual(run["schedule"], "@reboot")
        self.assertEqual(self.d.logs(run["id"]), b"trigger=schedule\n")
        self.assertEqual(self.list_row("boot")["SCHEDULE"], "@reboot")
        self.assertEqual(self.list_row("boot")["NEXT RUN"], "-")
        self.assertIsNone(self.task_json("boot")["next_run"])

        # Reloads of every kind, an edit and a new @reboot task: nothing.
        for _ in range(3):
            self.d.ctl("reload", check=0)
            self.d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP: reloading" in self.d.log_text(),
                 what="the SIGHUP reload")
        self.d.add_task("boot.sh", "#!/bin/sh\n# Edited.\n"
                        "# @schedule @reboot\n"
                        'echo "trigger=$MICROLIGHT_TRIGGER"\n')
        self.wait_reload("boot", lambda t: t["description"] == "Edited.",
                         "the edit to be loaded")
        self.d.add_task("late.sh", task_body(["@schedule @reboot"]))
        self.wait_reload("late", lambda t: t["valid"], "the new task")
        self.d.ctl("reload", check=0)
        time.sleep(0.5)
        self.assertEqual(len(self.reboot_runs()), 1,
                         brief(self.runs_of("boot")))
        self.assertEqual(self.runs_of("late"), [])

        # A restart on the same state: once more each.
        self.d.stop()
        self.d.start()
        runs = self.wait_runs("boot", 2, lambda r: r["status"] ==
                              "succeeded", what="the second @reboot run")
        late = self.wait_runs("late", 1, what="the new task's @reboot run")
        time.sleep(0.5)
        self.assertEqual(len(self.reboot_runs()), 2,
                         brief(self.runs_of("boot")))
        self.assertEqual(len(self.reboot_runs("late")), 1)
        self.assertEqual(late[0]["trigger"], "schedule")
        self.assertGreater(runs[1]["id"], runs[0]["id"])


# 4. @catchup ---------------------------------------------------------------

P = 3       # the period of the schedules below, in seconds
EVERY_P = "*/%d * * * * *" % P


class Catchup(SchedTest):
    SHIFTED_CLOCK = True
    TASKS = {
        "catch.sh": task_body(["@schedule " + EVERY_P, "@catchup"]),
        "nocatch.sh": task_body(["@schedule " + EVERY_P]),
        "yearly.sh": task_body(["@schedule 0 0 1 1 *", "@catchup"]),
        "catch1.sh": task_body(["@schedule * * * * * *", "@catchup"]),
    }

    def after(self, task, t):
        """The runs of a task queued at or after time t."""
        return [r for r in self.runs_of(task) if epoch(r["queued_at"]) >= t]

    def restart(self, when):
        """Stop now; start when when(stop time) says (the downtime passes
        at once on the daemon's clocks). Returns the times it was told to
        stop, had stopped, was started and was up."""
        stopping = self.now()
        self.d.stop()
        stopped = self.now()
        self.clock.advance(max(0, when(stopped) - self.now()))
        begin = self.now()
        self.d.start()
        return stopping, stopped, begin, self.now()

    def test_catchup_after_downtime(self):
        begin = self.now()
        # A first start catches up nothing.
        first_fire = (math.floor(begin) // P + 1) * P
        for task in ("catch", "yearly"):
            self.assertEqual(brief([r for r in self.runs_of(task)
                                    if epoch(r["queued_at"]) < first_fire]),
                             [])
        self.assertTrue(self.task_json("catch")["catchup"])
        self.assertRegex(self.d.ctl("show", "catch", check=0).stdout
                         .decode(), r"(?m)^catch up:\s+yes$")
        fired = self.wait_runs("catch", 1, what="a fire before the downtime")
        last = second(fired[-1])
        self.assertEqual(last % P, 0)

        # Down between two fire times (the restart is over before the
        # next): nothing to catch up. (On a machine so slow that a fire
        # time came during the restart, there is nothing to check.)
        stopping, stopped, begin, up = self.restart(lambda stopped: stopped)
        if up < last + P - 0.05:
            self.assertEqual(brief(self.after("catch", stopping)), [])
            self.assertEqual(brief(self.after("nocatch", stopping)), [])

        # Down across a fire time, up again between two: one catch-up run
        # at start for the @catchup task, none for the other.
        def past_a_fire(stopped):
            # At least P s down (so a fire time passes), and up again
            # about 1 s after a fire time, well before the next one.
            t = stopped + P + 0.2
            base = math.floor(t) - math.floor(t) % P
            return base + 1.0 if t <= base + 1.0 else base + P + 1.0
        stopping, stopped, begin, up = self.restart(past_a_fire)
        regular = math.floor(begin) - math.floor(begin) % P + P
        self.assertLess(up, regular - 0.2, "the restart took too long")
        caught = self.after("catch", stopped)
        self.assertEqual(len(caught), 1, brief(caught))
        run = caught[0]
        self.assertEqual(run["trigger"], "schedule")
        self.assertEqual(run["triggered_by"], "schedule")
        self.assertEqual(run["schedule"], EVERY_P)
        self.assertGreaterEqual(epoch(run["queued_at"]), begin - 0.01)
        self.assertLessEqual(epoch(run["queued_at"]), up + 0.01)
        self.d.wait_status(run["id"], "succeeded")
        self.assertEqual(self.d.logs(run["id"]), b"trigger=schedule\n")
        self.assertEqual(brief(self.after("nocatch", stopped)), [])
        self.assertEqual(brief(self.runs_of("yearly")), [])
        # Several fire times passed for the every-second schedule: still
        # one catch-up run, at start; the next come at their own seconds.
        runs = self.wait_runs("catch1", 2, lambda r: epoch(r["queued_at"])
                              > stopped, what="catch1's catch-up and fire")
        self.assertGreaterEqual(epoch(runs[0]["queued_at"]), begin - 0.01)
        self.assertLessEqual(epoch(runs[0]["queued_at"]), up + 0.01)
        secs = [second(r) for r in runs]
        self.assertEqual(len(set(secs)), len(secs), brief(runs))

        # Then the schedule goes on as before, the catch-up run counting
        # for nothing: one run at the next fire time, for each task.
        for task in ("catch", "nocatch"):
            runs = self.wait_runs(task, 1, lambda r: second(r) >= regular,
                                  timeout=10, what="the next fire")
            self.assertEqual(second(runs[0]), regular, brief(runs))
        self.pass_until(regular + 1)
        self.assertEqual(len(self.after("catch", stopped)), 2,
                         brief(self.after("catch", stopped)))
        self.assertEqual(len(self.after("nocatch", stopped)), 1,
                         brief(self.after("nocatch", stopped)))
        self.assertEqual(brief(self.runs_of("yearly")), [])


# 5. list and show ------------------------------------------------------------

BERLIN = {"TZ": "Europe/Berlin"}


class ListShow(SchedTest):
    CTL_ENV = BERLIN
    TASKS = {
        "ny.sh": task_body(["@timezone America/New_York",
                            "@schedule 0 3 * * *"]),
        "local.sh": task_body(["@schedule 30 2 * * *"]),
        "multi.sh": task_body(["@schedule 0 12 * * mon-fri",
                               "@schedule   @monthly"]),
        "plain.sh": task_body([]),
    }

    def setUp(self):
        self.scratch = tempfile.mkdtemp(prefix="ml-scratch-")
        self.addCleanup(shutil.rmtree, self.scratch, True)
        # The daemon's own zone is Berlin: schedules without @timezone
        # are evaluated there.
        self.d = Daemon(config=self.CONFIG, tasks=self.TASKS, env=BERLIN)

    def expect_next(self, zone, expr):
        """The next two fire times (ISO 8601) of a schedule from now:
        the daemon's next is the first, or the second if the first passed
        in between."""
        rc, lines, err = next_times("-n", 2, "--tz", zone, "--", expr)
        self.assertEqual(rc, 0, err)
        return lines

    def test_list_and_show_print_next_times_in_local_time(self):
        cases = {"ny": ("America/New_York", "0 3 * * *"),
                 "local": ("Europe/Berlin", "30 2 * * *")}
        for task, (zone, expr) in cases.items():
            isos = self.expect_next(zone, expr)
            row = self.list_row(task)
            self.assertEqual(row["SCHEDULE"], expr)
            self.assertIn(row["NEXT RUN"],
                          [local_text(i, "Europe/Berlin") for i in isos])
            self.assertEqual(row["LAST RUN"], "-")
            self.assertEqual(row["STATUS"], "-")
            show = self.d.ctl("show", task, check=0,
                              env=BERLIN).stdout.decode()
            m = re.search(r"(?m)^schedule:\s+(.*) \(next (.*)\)$", show)
            self.assertTrue(m, show)
            self.assertEqual(m.group(1), expr)
            self.assertEqual(m.group(2), row["NEXT RUN"])
            # The same instant, printed in the client's own zone.
            nxt = self.task_json(task)["next_run"].replace("Z", "+00:00")
            self.assertEqual(row["NEXT RUN"], local_text(nxt,
                                                         "Europe/Berlin"))
            self.assertEqual(self.list_row(task, {"TZ": "UTC"})["NEXT RUN"],
                             local_text(nxt, "UTC"))

            # JSON: the schedules, their next fire times (UTC) and zone.
            t = self.task_json(task)
            self.assertEqual(t["schedules"], [expr])
            self.assertIn(t["next_run"], [utc_text(i) for i in isos])
            self.assertEqual(t["next_runs"], [t["next_run"]])
            self.assertEqual(t["catchup"], False)
            shown = self.d.ctl_json("show", task, check=0)[0]["task"]
            self.assertEqual(shown["schedules"], [expr])
            self.assertEqual(shown["next_runs"], t["next_runs"])
            self.assertEqual(shown["next_run"], t["next_run"])

        # 03:00 in New York, shown in Berlin: 09:00 (08:00 or 10:00 in
        # the weeks when only one of them keeps summer time).
        ny = self.task_json("ny")
        self.assertEqual(ny["timezone"], "America/New_York")
        when = datetime.datetime.fromisoformat(
            ny["next_run"].replace("Z", "+00:00"))
        at_ny = when.astimezone(zoneinfo.ZoneInfo("America/New_York"))
        self.assertEqual((at_ny.hour, at_ny.minute, at_ny.second), (3, 0, 0))
        self.assertIn(when.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
                      .hour, (8, 9, 10))
        self.assertLess(when.timestamp() - time.time(), 25 * 3600)
        self.assertRegex(self.list_row("ny")["NEXT RUN"],
                         r" (08|09|10):00:00$")
        show = self.d.ctl("show", "ny", check=0, env=BERLIN).stdout.decode()
        self.assertRegex(show, r"(?m)^time zone:\s+America/New_York$")
        # 02:30 in the daemon's zone, Berlin.
        self.assertRegex(self.list_row("local")["NEXT RUN"],
                         r" (02:30|03:00):00$")
        self.assertIsNone(self.task_json("local")["timezone"])

    def test_zone_change_rearms(self):
        self.d.add_task("ny.sh", task_body(["@timezone Asia/Kolkata",
                                            "@schedule 0 3 * * *"]))
        t = self.wait_reload("ny", lambda t: t["timezone"] ==
                             "Asia/Kolkata", "the new zone to be loaded")
        isos = self.expect_next("Asia/Kolkata", "0 3 * * *")
        self.assertIn(t["next_run"], [utc_text(i) for i in isos])
        self.assertEqual(self.list_row("ny")["NEXT RUN"], local_text(
            t["next_run"].replace("Z", "+00:00"), "Europe/Berlin"))
        self.assertRegex(self.list_row("ny")["NEXT RUN"],
                         r" (21|22|23):30:00$")

    def test_several_schedules_and_none(self):
        weekdays = self.expect_next("Europe/Berlin", "0 12 * * mon-fri")
        monthly = self.expect_next("Europe/Berlin", "@monthly")
        t = self.task_json("multi")
        self.assertEqual(t["schedules"], ["0 12 * * mon-fri", "@monthly"])
        self.assertIn(t["next_runs"][0], [utc_text(i) for i in weekdays])
        self.assertIn(t["next_runs"][1], [utc_text(i) for i in monthly])
        self.assertEqual(t["next_run"], min(t["next_runs"]))
        row = self.list_row("multi")
        self.assertEqual(row["SCHEDULE"], "0 12 * * mon-fri; @monthly")
        self.assertEqual(row["NEXT RUN"], local_text(
            t["next_run"].replace("Z", "+00:00"), "Europe/Berlin"))
        show = self.d.ctl("show", "multi", check=0, env=BERLIN).stdout.decode()
        lines = re.findall(r"(?m)^(?:schedule:|  )\s+(\S.*) \(next (.*)\)$",
                           show)
        self.assertEqual(lines, [
            ("0 12 * * mon-fri", local_text(t["next_runs"][0].replace(
                "Z", "+00:00"), "Europe/Berlin")),
            ("@monthly", local_text(t["next_runs"][1].replace(
                "Z", "+00:00"), "Europe/Berlin"))])

        plain = self.task_json("plain")
        self.assertEqual(plain["schedules"], [])
        self.assertIsNone(plain["next_run"])
        row = self.list_row("plain")
        self.assertEqual((row["SCHEDULE"], row["NEXT RUN"]), ("-", "-"))
        show = self.d.ctl("show", "plain", check=0).stdout.decode()
        self.assertRegex(show, r"(?m)^schedule:\s+-$")


# 6. Invalid schedules and zones ---------------------------------------------

INVALID = {
    # file: (body lines after the description, line, what the error says)
    "badmin.sh": (["@schedule 61 * * * *", "@schedule * * * * * *"], 3,
                  r"minute field '61'.*0-59"),
    "badsec.sh": (["@schedule */0 * * * * *"], 3, r"second field '\*/0'"),
    "baddow.sh": (["@schedule * * * * * *", "@schedule 0 0 * * 8"], 4,
                  r"day-of-week field '8'"),
    "badmon.sh": (["@schedule 0 0 1 foo *"], 3, r"month field 'foo'"),
    "never.sh": (["@schedule 0 0 30 2 *"], 3, r"never matches"),
    "short.sh": (["@schedule * * * *"], 3, r"4 fields"),
    "macro.sh": (["@schedule @fortnightly"], 3, r"unknown macro"),
    "empty.sh": (["@schedule"], 3, r"@schedule needs a cron expression"),
    "badtz.sh": (["@timezone Mars/Olympus", "@schedule * * * * * *"], 3,
                 r"@timezone: unknown time zone 'Mars/Olympus'"),
    "needy.sh": (["@schedule * * * * * *", "@param host required"], 3,
                 r"@schedule: host: required parameter is missing"),
    # A schedule's parameters, checked as a run's (issue 14, point 4).
    "needy2.sh": (["@param host required",
                   "@schedule */2 * * * * * host=a",
                   "@schedule 1-59/2 * * * * *"], 5,
                  r"@schedule: host: required parameter is missing"),
    "undeclared.sh": (["@param who default=me", "@schedule * * * * * *",
                       "@schedule */2 * * * * * whom=x"], 5,
                      r"@schedule: whom: no such parameter"),
    "noparams.sh": (["@schedule * * * * * * who=x"], 3,
                    r"@schedule: who: no such parameter \(the task takes "
                    r"none\)"),
    "badint.sh": (["@param n int", "@schedule * * * * * * n=ten"], 4,
                  r"@schedule: n: 'ten' is not an integer"),
    "badbool.sh": (["@param on bool", "@schedule * * * * * * on=perhaps"],
                   4, r"@schedule: on: 'perhaps' is not true or false"),
    "badchoice.sh": (["@schedule * * * * * * mode=medium",
                      "@param mode choice(soft,hard) default=soft"], 3,
                     r"@schedule: mode: 'medium' is not one of the "
                     r"choices"),
    "notpair.sh": (["@param host", "@schedule * * * * * * host=a extra"], 4,
                   r"@schedule: 'extra' is not NAME=VALUE"),
    "badname.sh": (["@param host", "@schedule * * * * * * Host=a"], 4,
                   r"@schedule: bad parameter name 'Host'"),
    "twice.sh": (["@param host", "@schedule * * * * * * host=a host=b"], 4,
                 r"@schedule: parameter host is given twice"),
    "quote.sh": (["@param host", '@schedule * * * * * * host="a b'], 4,
                 r"unterminated quote"),
}


class Invalid(SchedTest):
    SHIFTED_CLOCK = True
    TASKS = dict({name: task_body(lines) for name, (lines, _, _)
                  in INVALID.items()},
                 **{"good.sh": task_body(["@schedule * * * * * *"]),
                    "flip.sh": task_body(["@schedule * * * * * *"])})

    def test_invalid_schedules_make_the_task_invalid(self):
        for name, (_, line, what) in INVALID.items():
            task = name[:-3]
            status = self.invalid_errors(task)
            self.assertRegex(status, r"%s:%d: .*%s" % (re.escape(name), line,
                                                       what))
            t = self.task_json(task)
            self.assertFalse(t["valid"])
            self.assertTrue([e for e in t["errors"] if re.search(
                r"%s:%d: .*%s" % (re.escape(name), line, what), e)],
                t["errors"])
            p = self.d.ctl("run", task, check=EX_DATAERR)
            self.assertIn(b"invalid", p.stderr)
        rc, report = self.d.check_mode()
        self.assertNotEqual(rc, 0)
        for name, (_, line, what) in INVALID.items():
            self.assertRegex(report, r"%s:%d: .*%s" % (re.escape(name), line,
                                                       what))
        self.assertNotRegex(report, r"good\.sh")

        # The valid task fires; the invalid ones (even those with a good
        # schedule beside the bad one) never do.
        self.wait_runs("good", 2, what="2 runs of the valid task")
        for name in INVALID:
            self.assertEqual(brief(self.runs_of(name[:-3])), [], name)

    def test_edit_to_invalid_stops_the_schedule(self):
        self.wait_runs("flip", 1, what="a run of flip")
        self.d.add_task("flip.sh", task_body(["@schedule * * * * * 8"]))
        self.wait_reload("flip", lambda t: not t["valid"],
                         "flip to be invalid")
        broken = self.now()
        self.assertRegex(self.invalid_errors("flip"),
                         r"flip\.sh:3: .*day-of-week field '8'")
        self.assertIsNone(self.task_json("flip")["next_run"])
        self.wait_runs("good", 2, lambda r: epoch(r["queued_at"]) > broken,
                       what="the valid task to go on")
        self.assertEqual(brief([r for r in self.runs_of("flip")
                                if epoch(r["queued_at"]) > broken]), [])
        # Fixed, it fires again.
        self.d.add_task("flip.sh", task_body(["@schedule * * * * * *"]))
        self.wait_reload("flip", lambda t: t["valid"], "flip to be valid")
        fixed = self.now()
        self.wait_runs("flip", 1, lambda r: epoch(r["queued_at"]) > fixed,
                       what="flip to fire again")


class DaemonZone(SchedTest):
    """The daemon's own zone ($TZ) is unknown."""
    SHIFTED_CLOCK = True

    TASKS = {"s.sh": task_body(["@schedule * * * * * *"]),
             "utc.sh": task_body(["@timezone UTC",
                                  "@schedule * * * * * *"])}

    def setUp(self):
        self.scratch = tempfile.mkdtemp(prefix="ml-scratch-")
        self.addCleanup(shutil.rmtree, self.scratch, True)
        self.d = Daemon(config=self.CONFIG, tasks=self.TASKS,
                        env={"TZ": "Mars/Olympus"}, start=False,
                        **self.clock_args())

    # The tasks whose schedules need the daemon's zone are invalid, naming
    # it; the daemon serves the others.
    def test_unknown_daemon_zone_is_reported(self):
        rc, report = self.d.check_mode()
        self.assertNotEqual(rc, 0, report)
        self.assertIn("Mars/Olympus", report)
        self.assertRegex(report, r"s\.sh:\d+: @schedule: the daemon's time "
                         r"zone: unknown time zone 'Mars/Olympus'")
        self.assertNotIn("utc.sh", report)
        self.d.start()
        self.assertIn("Mars/Olympus", self.invalid_errors("s"))
        # A task with a zone of its own is not affected.
        self.wait_runs("utc", 1, what="a run of the task in UTC")


# 7. microlightctl next -------------------------------------------------------

class Next(unittest.TestCase):
    """No daemon anywhere: MICROLIGHT_SOCKET names no socket."""

    def next_ok(self, *args):
        rc, lines, err = next_times(*args)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        return lines

    def next_fails(self, status, *args):
        rc, lines, err = next_times(*args)
        self.assertEqual(rc, status, (lines, err))
        self.assertEqual(lines, [])
        return err

    def test_fixed_times(self):
        self.assertEqual(self.next_ok(
            "--from", "2026-03-29T00:00:00+01:00", "--tz", "Europe/Berlin",
            "-n", 3, "--", "30 2 * * *"), [
            "2026-03-29T03:00:00+02:00",      # in the gap: at the jump
            "2026-03-30T02:30:00+02:00",
            "2026-03-31T02:30:00+02:00"])
        # Default 5 lines; strictly after --from; @SECONDS.
        self.assertEqual(self.next_ok(
            "--from", "@0", "--tz", "UTC", "--", "0 0 1 1 *"), [
            "%d-01-01T00:00:00+00:00" % y for y in range(1971, 1976)])
        self.assertEqual(self.next_ok(
            "--from", "2026-01-01T00:00:00Z", "--tz", "UTC", "-n", 1,
            "--", "@yearly"), ["2027-01-01T00:00:00+00:00"])
        # A repeated hour: once at its first occurrence, or in both passes
        # for an every-hour schedule.
        self.assertEqual(self.next_ok(
            "--from", "2026-10-25T00:00:00+02:00", "--tz", "Europe/Berlin",
            "-n", 2, "--", "30 2 * * *"), [
            "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"])
        self.assertEqual(self.next_ok(
            "--from", "2026-10-25T01:00:00+02:00", "--tz", "Europe/Berlin",
            "-n", 4, "--", "30 * * * *"), [
            "2026-10-25T01:30:00+02:00", "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:30:00+01:00", "2026-10-25T03:30:00+01:00"])
        # Seconds, and the Vixie day rule (the 13th or a Friday).
        self.assertEqual(self.next_ok(
            "--from", "@0", "--tz", "UTC", "-n", 3, "--",
            "*/20 * * * * *"), [
            "1970-01-01T00:00:20+00:00", "1970-01-01T00:00:40+00:00",
            "1970-01-01T00:01:00+00:00"])
        self.assertEqual(self.next_ok(
            "--from", "2026-01-01T00:00:00+00:00", "--tz", "UTC", "-n", 3,
            "--", "0 0 13 * fri"), [
            "2026-01-02T00:00:00+00:00", "2026-01-09T00:00:00+00:00",
            "2026-01-13T00:00:00+00:00"])
        # A fraction of a second in --from; a time before 1970.
        self.assertEqual(self.next_ok(
            "--from", "2026-01-01T00:00:00.500Z", "--tz", "UTC", "-n", 2,
            "--", "* * * * * *"), [
            "2026-01-01T00:00:01+00:00", "2026-01-01T00:00:02+00:00"])
        self.assertEqual(self.next_ok(
            "--from", "1969-12-31T23:59:59.500Z", "--tz", "UTC", "-n", 1,
            "--", "* * * * * *"), ["1970-01-01T00:00:00+00:00"])
        # The offset of --from is honoured; the output is in --tz.
        self.assertEqual(self.next_ok(
            "--from", "2026-07-01T12:00:00-04:00", "--tz", "Asia/Kolkata",
            "-n", 1, "--", "0 * * * *"), ["2026-07-01T22:00:00+05:30"])

    def test_expression_as_several_words(self):
        one = self.next_ok("--from", "@1700000000", "--tz", "Europe/Berlin",
                           "-n", 4, "--", "15 9 * * mon-fri")
        words = self.next_ok("--from", "@1700000000", "--tz",
                             "Europe/Berlin", "-n", 4, "--", "15", "9", "*",
                             "*", "mon-fri")
        self.assertEqual(one, words)
        self.assertEqual(one[0], "2023-11-15T09:15:00+01:00")
        self.assertEqual(len(one), 4)

    def test_default_from_is_now_and_zone_from_tz(self):
        before = time.time()
        lines = self.next_ok("--", "* * * * * *")
        after = time.time()
        self.assertEqual(len(lines), 5)
        times = [datetime.datetime.fromisoformat(s).timestamp()
                 for s in lines]
        self.assertGreater(times[0], math.floor(before))
        self.assertLessEqual(times[0], math.floor(after) + 1)
        self.assertEqual([b - a for a, b in zip(times, times[1:])], [1] * 4)
        # Without --tz, the zone of $TZ.
        rc, lines, err = next_times("-n", 1, "--from", "@0", "--",
                                    "0 10 * * *", env={"TZ": "Asia/Tokyo"})
        self.assertEqual((rc, lines), (0, ["1970-01-01T10:00:00+09:00"]))
        # $TZ as a POSIX rule.
        rc, lines, err = next_times(
            "-n", 2, "--from", "2026-03-29T00:00:00Z", "--", "30 2 * * *",
            env={"TZ": "CET-1CEST,M3.5.0,M10.5.0/3"})
        self.assertEqual((rc, lines), (0, ["2026-03-29T03:00:00+02:00",
                                           "2026-03-30T02:30:00+02:00"]))

    def test_errors(self):
        for expr, field in [("61 * * * *", "minute field '61'"),
                            ("* 24 * * *", "hour field '24'"),
                            ("* * 0 * *", "day-of-month field '0'"),
                            ("* * * 13 *", "month field '13'"),
                            ("* * * * 8", "day-of-week field '8'"),
                            ("60 * * * * *", "second field '60'"),
                            ("* * * * mo", "day-of-week field 'mo'"),
                            ("5/15 * * * *", "minute field '5/15'"),
                            ("0 0 30 2 *", "never matches"),
                            ("* * * *", "4 fields"),
                            ("@fortnightly", "unknown macro")]:
            err = self.next_fails(EX_DATAERR, "--", expr)
            self.assertIn(field, err, expr)
        err = self.next_fails(EX_DATAERR, "--", "@reboot")
        self.assertIn("@reboot", err)
        err = self.next_fails(EX_DATAERR, "--tz", "Mars/Olympus", "--",
                              "* * * * *")
        self.assertIn("Mars/Olympus", err)
        for bad in ("yesterday", "2026-03-29T00:00:00", "@", "@12x"):
            err = self.next_fails(EX_USAGE, "--from", bad, "--", "* * * * *")
            self.assertIn("--from", err)
        for n in ("0", "-1", "x"):
            self.next_fails(EX_USAGE, "-n", n, "--", "* * * * *")
        self.next_fails(EX_USAGE)
        self.next_fails(EX_USAGE, "--")


# 8. Scheduled runs obey @concurrency and @overlap ----------------------------

GATED = """\
#!/bin/sh
# Waits at gate 1 on every run.
# @schedule * * * * * *
%s
@SH_GATE@
touch "@SCRATCH@/ran-$MICROLIGHT_RUN_ID"
gate 1
"""


class OverlapSkip(SchedTest):
    SHIFTED_CLOCK = True
    TASKS = {"slow.sh": GATED % "# @concurrency 1\n# @overlap skip"}

    def test_fires_while_running_are_skipped(self):
        first = self.wait_runs("slow", 1, what="the first fire")[0]
        self.wait_ran(first["id"])
        skipped = self.wait_runs("slow", 2, lambda r: r["status"] ==
                                 "skipped", what="2 skipped fires")
        for r in skipped:
            self.assertGreater(r["id"], first["id"])
            self.assertEqual(r["trigger"], "schedule")
            self.assertEqual(r["triggered_by"], "schedule")
            self.assertEqual(r["schedule"], EVERY_SECOND)
            self.assertIsNone(r["started_at"])
            self.assertIn("@overlap skip", r["reason"])
            self.assertFalse(self.ran(r["id"]))
        runs = self.runs_of("slow")
        self.assertEqual([r["id"] for r in runs if r["status"] ==
                          "running"], [first["id"]])
        self.assertEqual([r for r in runs if r["status"] == "queued"], [])
        secs = [second(r) for r in runs]
        self.assertEqual(len(set(secs)), len(secs))

        # With the slot free, the next fire runs.
        self.go(first["id"])
        self.d.wait_status(first["id"], "succeeded")
        nxt = self.wait_runs("slow", 1, lambda r: r["id"] > first["id"] and
                             r["status"] == "running", what="the next run")[0]
        self.wait_ran(nxt["id"])
        self.go(nxt["id"])
        self.d.wait_status(nxt["id"], "succeeded")


class OverlapQueue(SchedTest):
    SHIFTED_CLOCK = True
    TASKS = {"slow.sh": GATED % "# @concurrency 1"}

    def test_fires_while_running_queue_up(self):
        first = self.wait_runs("slow", 1, what="the first fire")[0]
        self.wait_ran(first["id"])
        queued = self.wait_runs("slow", 2, lambda r: r["status"] ==
                                "queued", what="2 queued fires")
        runs = self.runs_of("slow")
        self.assertEqual([r["id"] for r in runs if r["status"] ==
                          "running"], [first["id"]])
        self.assertEqual([r for r in runs if r["status"] == "skipped"], [])
        for r in queued:
            self.assertEqual(r["trigger"], "schedule")
            self.assertEqual(r["schedule"], EVERY_SECOND)
            self.assertIsNone(r["started_at"])
            self.assertFalse(self.ran(r["id"]))
        self.assertEqual(self.list_row("slow")["STATUS"], "queued")

        # They start one at a time, oldest first.
        self.go(first["id"])
        self.d.wait_status(first["id"], "succeeded")
        self.d.wait_status(queued[0]["id"], "running")
        self.wait_ran(queued[0]["id"])
        self.assertEqual(self.d.status(queued[1]["id"])["status"], "queued")
        self.go(queued[0]["id"])
        self.d.wait_status(queued[1]["id"], "running")
        self.go(queued[1]["id"])
        self.d.wait_status(queued[1]["id"], "succeeded")


if __name__ == "__main__":
    main()
