#!/usr/bin/env python3
"""Schedules that carry parameters (SPEC sections 2 and 4; issue 14, point
4), against the real daemon: `@schedule EXPR NAME=VALUE ...` gives its
runs those parameters, checked and completed with the defaults as any
run's are; two schedules of one task give their own; a reload gives the
new ones; the SPEC's example `0 8 * * mon host=redis1 mode=hard` fires at
its minute on a shifted clock; a bad schedule parameter makes the task
invalid, naming its line (test_sched.py, with the other invalid
schedules); `show`, the task object and the page (task list and task
page) list each schedule with its parameters, its next time and its
words, escaped for the terminal and for HTML.

Every-second (6-field) schedules keep the waits short, as in
test_sched.py; the minute schedule gets its time by stepping the daemon's
wall clock with clockshift.so, as in test_clock.py."""

import calendar
import datetime

from harness import *
from test_clock import ClockTest
from test_escapes import raw_controls
from test_page import WebDaemon, Web, XSS, block, check_page
from test_sched import SchedTest, brief, epoch

EVEN = "*/2 * * * * *"
ODD = "1-59/2 * * * * *"

GREET = """\
#!/bin/sh
# Greets on two schedules.
# @param who required
# @param times int default=1
# @param loud bool
# @schedule %s
# @schedule %s who=ops times=03
echo "who=$who times=$times loud=$loud"
"""

# Who the even schedule greets, as written and as its runs get it.
TEAM = 'who="the team" loud=yes'

# A value with blanks, an HTML payload and a terminal escape.
HOSTILE = XSS[0] + " \x1b[2J"

HOSTILE_TASK = ('#!/bin/sh\n# Hostile.\n# @param note\n'
                '# @schedule 0 0 1 1 * note="%s"\ntrue\n' % HOSTILE)


def greet(even=TEAM):
    return GREET % (EVEN + " " + even, ODD)


class Fires(SchedTest):
    """A task with two schedules of its own parameters, and the page."""

    DAEMON = WebDaemon
    TASKS = {"greet.sh": greet(), "hostile.sh": HOSTILE_TASK,
             "boot.sh": "#!/bin/sh\n# At start.\n"
                        "# @param who default=nobody\n"
                        '# @schedule @reboot who="at boot"\n'
                        'echo "who=$who"\n'}

    def of(self, expr, runs):
        return [r for r in runs if r["schedule"] == expr]

    def wait_both(self, n, pred=lambda r: True):
        """Wait for n runs of each schedule satisfying pred; all runs."""
        return wait_for(lambda: (lambda rs: rs if all(
            len([r for r in self.of(e, rs) if pred(r)]) >= n
            for e in (EVEN, ODD)) else None)(self.runs_of("greet")),
            timeout=20, what="%d runs of each schedule" % n)

    def test_each_schedule_gives_its_parameters(self):
        runs = self.wait_both(2, lambda r: r["status"] == "succeeded")
        even = {"who": "the team", "times": "1", "loud": "true"}
        odd = {"who": "ops", "times": "3", "loud": "false"}
        for r in runs:
            self.assertEqual(r["trigger"], "schedule", r)
            self.assertEqual(r["triggered_by"], "schedule", r)
            self.assertIn(r["schedule"], (EVEN, ODD), r)
            # Normalised (times=03, loud=yes), defaults for the rest.
            self.assertEqual(r["params"], even if r["schedule"] == EVEN
                             else odd, r)
            if r["status"] != "succeeded":
                continue
            # The script sees them as its environment.
            want = even if r["schedule"] == EVEN else odd
            self.assertEqual(self.d.logs(r["id"]), (
                "who=%(who)s times=%(times)s loud=%(loud)s\n" %
                want).encode())
        run = self.of(EVEN, runs)[0]
        out = self.d.ctl("status", run["id"], check=0).stdout.decode()
        self.assertRegex(out, r"(?m)^schedule:\s+\*/2 \* \* \* \* \*$")
        self.assertRegex(out, r"(?m)^parameters:\s+who=the team times=1 "
                         r"loud=true$")

    def test_reboot_gives_its_parameters(self):
        runs = self.wait_runs("boot", 1, lambda r: r["status"] ==
                              "succeeded", what="the @reboot run")
        self.assertEqual([(r["schedule"], r["params"]) for r in runs],
                         [("@reboot", {"who": "at boot"})])
        self.assertEqual(self.d.logs(runs[0]["id"]), b"who=at boot\n")

    def test_reload_gives_the_new_parameters(self):
        self.wait_both(1)
        self.d.add_task("greet.sh", greet('who="dev ops"'))
        self.wait_reload("greet", lambda t: t["schedule_params"][0] ==
                         {"who": "dev ops"}, "the new parameters")
        loaded = time.time()
        runs = self.wait_both(1, lambda r: epoch(r["queued_at"]) > loaded)
        for r in runs:
            if epoch(r["queued_at"]) <= loaded:
                continue
            self.assertEqual(r["params"], {
                "who": "dev ops", "times": "1", "loud": "false"}
                if r["schedule"] == EVEN else {
                "who": "ops", "times": "3", "loud": "false"}, brief(runs))

    def test_show_lists_schedules_with_parameters(self):
        t = self.task_json("greet")
        self.assertEqual(t["schedules"], [EVEN, ODD])
        # As written: the runs normalise them.
        self.assertEqual(t["schedule_params"], [
            {"who": "the team", "loud": "yes"},
            {"who": "ops", "times": "03"}])
        self.assertEqual(len(t["next_runs"]), 2)
        shown = self.d.ctl_json("show", "greet", check=0)[0]["task"]
        self.assertEqual(shown["schedule_params"], t["schedule_params"])
        api = json.loads(Web(self.d.port).get("/api/v1/tasks/greet").body)
        self.assertEqual(api["task"]["schedule_params"],
                         t["schedule_params"])

        # Each schedule: expression, parameters as the line gives them,
        # next time; under it, the words.
        out = self.d.ctl("show", "greet", check=0).stdout.decode()
        when = r" \(next \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)"
        self.assertRegex(out, r"(?m)^schedule:     \*/2 \* \* \* \* \* "
                         r'who="the team" loud=yes' + when + "\n"
                         r"                every 2 seconds\n"
                         r"              1-59/2 \* \* \* \* \* who=ops "
                         r"times=03" + when + "\n"
                         r"                every 2 seconds from 00:00:01 "
                         r"to 23:59:59\n")

        # Made visible on a terminal.
        p = self.d.ctl("show", "hostile", check=0)
        self.assertEqual(raw_controls(p.stdout), [], p.stdout)
        self.assertIn('0 0 1 1 * note="%s \\033[2J" (next ' % XSS[0],
                      p.stdout.decode())
        self.assertIn("\n                every year on 1 January "
                      "at 00:00\n", p.stdout.decode())

    def test_page_lists_schedules_with_parameters(self):
        web = Web(self.d.port)
        even = ('<span title="*/2 * * * * *">every 2 seconds</span> with '
                '<code class="params">who=&quot;the team&quot; loud=yes'
                '</code>, next <time datetime="')
        odd = ('<span title="1-59/2 * * * * *">every 2 seconds from '
               '00:00:01 to 23:59:59</span> with <code class="params">'
               'who=ops times=03</code>, next <time datetime="')
        r = check_page(self, web.get("/"))
        item = block(r.text, 'id="task-greet"')
        self.assertIn(even, item)
        self.assertIn(odd, item)
        r = check_page(self, web.get("/tasks/greet"))
        details = block(r.text, "<dt>Schedule</dt>", "</dd>")
        self.assertIn(even, details)
        self.assertIn(odd, details)
        # Each next time is the task object's for that schedule.
        nexts = re.findall(r'next <time datetime="([^"]+)"', details)
        t = self.task_json("greet")
        self.assertEqual(len(nexts), 2, details)
        for shown, known in zip(nexts, t["next_runs"]):
            self.assertLessEqual(abs(epoch(shown) - epoch(known)), 2)

        # Escaped as HTML (check_page: no payload, no escape character).
        for path in ("/", "/tasks/hostile"):
            r = check_page(self, web.get(path))
            self.assertIn('<code class="params">note=&quot;&lt;script&gt;'
                          'alert(1)&lt;/script&gt; ', r.text)


class SpecExample(ClockTest):
    """SPEC section 4's example, at its minute: the daemon's clock is
    stepped to a few seconds before a Monday 08:00."""

    TASKS = {
        "tick.sh": "#!/bin/sh\n# Wakes the scheduler.\n"
                   "# @schedule * * * * * *\ntrue\n",
        "redis.sh": "#!/bin/sh\n# Restart Redis.\n# @timezone UTC\n"
                    "# @schedule 0 8 * * mon host=redis1 mode=hard\n"
                    "# @param host \"Redis host\" default=localhost\n"
                    "# @param mode choice(soft,hard) default=soft\n"
                    'echo "host=$host mode=$mode"\n',
    }

    def test_monday_eight_with_parameters(self):
        # The every-second task keeps the daemon waking, so that it sees
        # the step within a second.
        self.wait_count("tick", 1)
        now = self.daemon_now()
        day = datetime.datetime.fromtimestamp(now + 60,
                                              datetime.timezone.utc)
        monday = (day + datetime.timedelta(days=(7 - day.weekday()) % 7)
                  ).replace(hour=8, minute=0, second=0, microsecond=0)
        if monday.timestamp() < now + 60:
            monday += datetime.timedelta(days=7)
        due = calendar.timegm(monday.timetuple())
        self.step(due - 5 - now)
        wait_for(lambda: self.count("redis") >= 1, timeout=20,
                 what="the Monday 08:00 run")
        run = self.runs("redis")[0]
        self.assertEqual(run["trigger"], "schedule")
        self.assertEqual(run["schedule"], "0 8 * * mon")
        self.assertEqual(run["params"], {"host": "redis1", "mode": "hard"})
        self.assertEqual(run["queued_at"][:19],
                         monday.strftime("%Y-%m-%dT%H:%M:%S"))
        self.d.wait_status(run["id"], "succeeded")
        self.assertEqual(self.d.logs(run["id"]), b"host=redis1 mode=hard\n")


if __name__ == "__main__":
    main()
