#!/usr/bin/env python3
"""The example tasks of tasks.d: valid, and behaving as the README says."""

import calendar
import shutil

from harness import *

EXAMPLES = os.path.join(SRCDIR, "tasks.d")


class Examples(DaemonTest):
    START = False

    def setUp(self):
        super().setUp()
        # Contents only, with the modes `make install` gives them: a
        # checkout made under umask 0002 has 0775 files, which microlightd
        # rightly refuses as root (writable by the group).
        for name in os.listdir(EXAMPLES):
            src = os.path.join(EXAMPLES, name)
            dst = os.path.join(self.d.tasks_dir, name)
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o755 if os.access(src, os.X_OK) else 0o644)
        self.d.start()

    def test_all_examples_valid(self):
        rc, out = self.d.check_mode()
        self.assertEqual(rc, 0, out)
        tasks = self.d.request({"cmd": "list"})["tasks"]
        names = sorted(t["name"] for t in tasks)
        self.assertEqual(names, ["check-backup", "greet", "hello",
                                 "notify-mail", "notify-slack",
                                 "weekly-report"])
        for t in tasks:
            self.assertTrue(t["valid"], t)
            self.assertTrue(t["description"], t)
            self.assertEqual(t["group"], "Notifications"
                             if t["name"].startswith("notify-")
                             else "Examples")

    def test_notifiers(self):
        """The notifiers (test_notifiers.py runs them) say where the
        team's address and webhook URL go."""
        mail = self.d.request({"cmd": "show", "task": "notify-mail"})["task"]
        self.assertEqual([(p["name"], p["default"]) for p in mail["params"]],
                         [("to", "root")])
        slack = self.d.request({"cmd": "show",
                                "task": "notify-slack"})["task"]
        self.assertEqual(slack["env"], ["SLACK_WEBHOOK_URL="])
        self.assertEqual([p["name"] for p in slack["params"]], ["url"])

    def test_hello(self):
        p = self.d.ctl("run", "hello", "--follow", check=0)
        self.assertIn(b"Hello from microlight", p.stdout)
        self.assertIn(b"started by uid=%d(" % os.getuid(), p.stdout)

    def test_greet_parameters(self):
        p = self.d.ctl("run", "greet", "name=Ada Lovelace",
                       "greeting=Good morning", "times=2", "shout=yes",
                       "--follow", check=0)
        self.assertEqual(p.stdout, b"GOOD MORNING, ADA LOVELACE!\n" * 2)
        # name is required; times must be an integer.
        self.d.ctl("run", "greet", check=EX_DATAERR)
        self.d.ctl("run", "greet", "name=x", "times=many", check=EX_DATAERR)
        self.d.ctl("run", "greet", "name=x", "greeting=Yo",
                   check=EX_DATAERR)

    def test_check_backup_fails(self):
        p = self.d.ctl("run", "check-backup",
                       "file=/nonexistent/nightly.tar.gz", "--follow",
                       check=2)
        self.assertIn(b"is missing", p.stdout)
        self.assertIn(b"failed: exit code 2", p.stderr)

    def test_weekly_report_progress(self):
        p = self.d.ctl("run", "weekly-report", "steps=1", "--follow",
                       check=0)
        self.assertRegex(p.stdout, rb"^\[1/1\] \d\d:\d\d:\d\d collecting "
                         rb"part 1\nreport ready\n$")

    def test_weekly_report_schedule(self):
        task = self.d.request({"cmd": "show", "task": "weekly-report"})
        task = task["task"]
        self.assertEqual(task["schedules"], ["0 8 * * mon"])
        self.assertTrue(task["catchup"])
        # Its next run is the coming Monday at 8:00, local time (the
        # daemon's zone is the test's).
        t = calendar.timegm(time.strptime(task["next_run"][:19],
                                          "%Y-%m-%dT%H:%M:%S"))
        local = time.localtime(t)
        self.assertEqual((local.tm_wday, local.tm_hour, local.tm_min,
                          local.tm_sec), (0, 8, 0, 0), task["next_run"])
        self.assertGreater(t, time.time())
        self.assertLessEqual(t, time.time() + 7 * 86400)

if __name__ == "__main__":
    main()
