#!/usr/bin/env python3
"""Checking (issue 3, point 8): microlightd -n reports every problem of
the configuration and of tasks.d with file:line and exits non-zero,
including issue 3's checks (a chain to an unknown task, a chained task
that needs a parameter, an unknown @user, an untrusted file as root); list
and show display invalid tasks with their errors."""

from harness import *

HELLO = "#!/bin/sh\n# Say hello.\necho hello\n"

CHAINS = {
    # line 3: @on-success, line 4: @on-failure
    "a.sh": "#!/bin/sh\n# A.\n# @on-success nosuch\n# @on-failure needy\n"
            "echo a\n",
    "b.sh": "#!/bin/sh\n# B.\n# @timeout 5m\n# @on-failure ghost\necho b\n",
    "needy.sh": "#!/bin/sh\n# Needs a parameter.\n# @param x required\n"
                "echo $x\n",
    "fine.sh": "#!/bin/sh\n# Fine.\n# @on-success hello\n# @on-failure "
               "opt\necho fine\n",
    "opt.sh": "#!/bin/sh\n# Has a default.\n# @param x default=1\necho\n",
    "hello.sh": HELLO,
}

USER = "#!/bin/sh\n# Who?\n# @timeout 5m\n# @user no-such-user-ml\necho\n"


class CheckTest(DaemonTest):
    START = False

    def check(self):
        return self.d.check_mode()

    def path(self, file):
        return os.path.join(self.d.tasks_dir, file)

    def add_tasks(self, tasks):
        for name, body in tasks.items():
            self.d.add_task(name, body)


class CheckMode(CheckTest):
    def test_chain_problems_with_file_and_line(self):
        self.add_tasks(CHAINS)
        rc, out = self.check()
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, re.escape(self.path("a.sh") + ":3:") +
                         r".*@on-success.*'nosuch'")
        self.assertRegex(out, re.escape(self.path("a.sh") + ":4:") +
                         r".*@on-failure.*'needy'.*required")
        self.assertRegex(out, re.escape(self.path("b.sh") + ":4:") +
                         r".*@on-failure.*'ghost'")
        for ok in ("fine.sh", "opt.sh", "hello.sh", "needy.sh"):
            self.assertNotIn(self.path(ok), out)
        self.assertFalse(os.path.exists(self.d.socket))

    def test_valid_chains_pass(self):
        self.add_tasks({k: v for k, v in CHAINS.items()
                        if k in ("fine.sh", "opt.sh", "hello.sh")})
        rc, out = self.check()
        self.assertEqual(rc, 0, out)

    def test_unknown_user_with_file_and_line(self):
        self.d.add_task("hello.sh", HELLO)
        self.d.add_task("who.sh", USER)
        rc, out = self.check()
        self.assertNotEqual(rc, 0, out)
        self.assertIn("unknown user 'no-such-user-ml'", out)
        self.assertRegex(out, re.escape(self.path("who.sh") + ":4:") +
                         r".*no-such-user-ml")

    def test_config_and_tasks_problems_together(self):
        """Every problem in one pass: a bad configuration does not hide
        the problems of tasks.d (-T names it)."""
        with open(self.d.config, "w") as f:
            f.write("kill-grace 2s\nfrobnicate 1\nkeep-days soon\n")
        self.add_tasks(CHAINS)
        self.d.add_task("bad.sh", "#!/bin/sh\n# Bad.\n# @frobnicate\necho\n")
        rc, out = self.check()
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, re.escape(self.d.config + ":2:") +
                         r".*frobnicate")
        self.assertRegex(out, re.escape(self.d.config + ":3:") + r".*soon")
        self.assertIn(self.path("bad.sh") + ":3:", out)
        self.assertIn(self.path("a.sh") + ":3:", out)
        self.assertIn(self.path("b.sh") + ":4:", out)

    def test_untrusted_file_as_root(self):
        if os.geteuid() != 0:
            self.skipTest("the trust rules apply when microlightd runs "
                          "as root")
        self.d.add_task("hello.sh", HELLO)
        self.d.add_task("loose.sh", HELLO, mode=0o775)
        rc, out = self.check()
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, re.escape(self.path("loose.sh")) +
                         r":.*refused: writable by its group or by others")
        self.assertNotIn(self.path("hello.sh"), out)
        os.chmod(self.path("loose.sh"), 0o755)
        rc, out = self.check()
        self.assertEqual(rc, 0, out)


class ListAndShow(CheckTest):
    START = True

    def setUp(self):
        super().setUp()
        self.add_tasks(CHAINS)
        self.d.add_task("who.sh", USER)
        self.d.add_task("bad.sh", "#!/bin/sh\n# Bad.\n# @frobnicate\necho\n")
        self.d.ctl("reload", check=0)

    def list_line(self, name):
        out = self.d.ctl("list", check=0).stdout.decode()
        lines = [l for l in out.splitlines() if l.split()[0] == name]
        self.assertEqual(len(lines), 1, out)
        return lines[0]

    def invalid_errors(self, name):
        """An invalid task: `list` marks it, `show` says why (its text)."""
        self.assertEqual(self.list_line(name).split()[-1], "invalid")
        return self.d.ctl("show", name, check=0).stdout.decode()

    def test_invalid_tasks_listed_with_error(self):
        for name, text in (("a", "a.sh:3: @on-success: no task named "
                                 "'nosuch'"),
                           ("b", "b.sh:4: @on-failure: no task named "
                                 "'ghost'"),
                           ("who", "unknown user 'no-such-user-ml'"),
                           ("bad", "bad.sh:3:")):
            with self.subTest(task=name):
                self.assertIn(text, self.invalid_errors(name))
                self.d.ctl("run", name, check=EX_DATAERR)
        for name in ("fine", "opt", "needy", "hello"):
            self.assertNotIn("invalid", self.list_line(name))
        tasks = {t["name"]: t for t in
                 self.d.request({"cmd": "list"})["tasks"]}
        self.assertFalse(tasks["a"]["valid"])
        self.assertIn(self.path("a.sh") + ":3:", tasks["a"]["error"])
        self.assertTrue(tasks["fine"]["valid"])

    def test_show_gives_every_error(self):
        out = self.d.ctl("show", "a", check=0).stdout.decode()
        self.assertRegex(out, r"valid:\s+no")
        self.assertIn(self.path("a.sh") + ":3: @on-success: no task named "
                      "'nosuch'", out)
        self.assertIn(self.path("a.sh") + ":4: @on-failure: task 'needy' "
                      "has a required parameter", out)
        task = self.d.request({"cmd": "show", "task": "a"})["task"]
        self.assertEqual(len(task["errors"]), 2, task)
        out = self.d.ctl("show", "who", check=0).stdout.decode()
        self.assertRegex(out, r"valid:\s+no")
        self.assertIn("unknown user 'no-such-user-ml'", out)
        out = self.d.ctl("show", "fine", check=0).stdout.decode()
        self.assertRegex(out, r"valid:\s+yes")

    def test_chain_target_removed_and_restored(self):
        self.assertTrue(self.d.request({"cmd": "show", "task": "fine"})
                        ["task"]["valid"])
        self.d.remove_task("opt.sh")
        self.d.ctl("reload", check=0)
        self.assertIn("fine.sh:4: @on-failure: no task named 'opt'",
                      self.invalid_errors("fine"))
        self.d.ctl("run", "fine", check=EX_DATAERR)
        self.d.add_task("opt.sh", CHAINS["opt.sh"])
        self.d.ctl("reload", check=0)
        self.assertNotIn("invalid", self.list_line("fine"))
        self.assertEqual(self.d.run("fine")["status"], "succeeded")


if __name__ == "__main__":
    main()
