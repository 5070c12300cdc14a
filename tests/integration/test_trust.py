#!/usr/bin/env python3
"""Trusted task files (issue 3, point 7), when the daemon runs as root:
a task file (or tasks.d) writable by its group or by others, not owned by
root, a hard link or a symlink pointing outside tasks.d is refused with a
clear reason, and the file that was checked is the file that runs. Every
test needs root and is skipped otherwise."""

import pwd

from harness import *

NOBODY = pwd.getpwnam("nobody")


def marker_task(scratch, name, text="ran"):
    """A task that leaves a marker file, so a test can tell it never ran."""
    return "#!/bin/sh\n# %s.\ntouch %s/ran-%s\necho %s\n" % (
        name, scratch, name, text)


class TrustTest(ScratchTest):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("the trust rules apply when microlightd runs "
                          "as root")
        self.other = tempfile.mkdtemp(prefix="ml-other-")
        self.addCleanup(shutil.rmtree, self.other, True)
        super().setUp()

    def task_path(self, file):
        return os.path.join(self.d.tasks_dir, file)

    def ran(self, name):
        return os.path.exists(os.path.join(self.scratch, "ran-" + name))

    def check_mode(self):
        """microlightd -n: exit status and everything it printed."""
        return self.d.check_mode()

    def task(self, name):
        return self.d.request({"cmd": "show", "task": name})["task"]

    def runs_of(self, name):
        return self.d.request({"cmd": "runs", "task": name})["runs"]

    def assert_refused_everywhere(self, name, file, reason):
        """Refused, with reason, in show, list and run; nothing ran."""
        path = self.task_path(file)
        t = self.task(name)
        self.assertFalse(t["valid"], t)
        self.assertIn(path, t["error"])
        self.assertIn(reason, t["error"])
        out = self.d.ctl("list", check=0).stdout.decode()
        line = [l for l in out.splitlines() if l.split()[0] == name]
        self.assertEqual(len(line), 1, out)
        self.assertEqual(line[0].split()[-1], "invalid")
        out = self.d.ctl("show", name, check=0).stdout.decode()
        self.assertRegex(out, r"valid:\s+no")
        self.assertIn(reason, out)
        p = self.d.ctl("run", name, "--wait", check=EX_DATAERR)
        self.assertIn(reason, p.stderr.decode())
        self.assertEqual(self.runs_of(name), [])
        self.assertFalse(self.ran(name), "%s ran" % name)

    def assert_run_refused(self, name, reason):
        """A run of a task whose file just changed under the daemon: it is
        refused, either at once (exit 65, the task is invalid) or as a run
        that fails at its start; either way with the reason, and the
        file's content never runs."""
        p = self.d.ctl("run", name, "--wait")
        err = p.stderr.decode()
        self.assertNotEqual(p.returncode, 0, p)
        if p.stdout.strip():
            run_id = int(p.stdout.split(b"\n", 1)[0])
            run = self.d.status(run_id)
            self.assertEqual(run["status"], "failed", run)
            self.assertIn(reason, run["reason"] or "", run)
        else:
            self.assertEqual(p.returncode, EX_DATAERR, err)
            self.assertIn(reason, err)
        self.assertFalse(self.ran(name), "the refused file ran")
        self.d.ctl("ping", check=0)
        # Once the daemon has read tasks.d again, the task is invalid.
        wait_for(lambda: not self.task(name)["valid"], timeout=5,
                 what="%s to be listed as invalid" % name)
        self.assertIn(reason, self.task(name)["error"])


class UntrustedFiles(TrustTest):
    START = False

    def setUp(self):
        super().setUp()
        d, s = self.d, self.scratch
        d.add_task("good.sh", marker_task(s, "good"))
        d.add_task("group-w.sh", marker_task(s, "group-w"), mode=0o775)
        d.add_task("world-w.sh", marker_task(s, "world-w"), mode=0o757)
        path = d.add_task("foreign.sh", marker_task(s, "foreign"))
        os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)
        # A hard link: the file's other name is outside tasks.d.
        elsewhere = os.path.join(self.other, "linked.sh")
        with open(elsewhere, "w") as f:
            f.write(marker_task(s, "linked"))
        os.chmod(elsewhere, 0o755)
        os.link(elsewhere, self.task_path("linked.sh"))
        # Symlinks out of tasks.d: to another directory, and to one whose
        # name merely begins with the name of tasks.d.
        outside = os.path.join(self.other, "outside.sh")
        with open(outside, "w") as f:
            f.write(marker_task(s, "outside"))
        os.chmod(outside, 0o755)
        os.symlink(outside, self.task_path("outside.sh"))
        sibling = d.tasks_dir + "-not"
        os.mkdir(sibling)
        with open(os.path.join(sibling, "sib.sh"), "w") as f:
            f.write(marker_task(s, "sibling"))
        os.chmod(os.path.join(sibling, "sib.sh"), 0o755)
        os.symlink(os.path.join(sibling, "sib.sh"),
                   self.task_path("sibling.sh"))
        os.symlink("../tasks.d-not/sib.sh", self.task_path("dotdot.sh"))
        # A symlink to another file inside tasks.d is fine.
        os.symlink("good.sh", self.task_path("alias.sh"))
        os.symlink(self.task_path("good.sh"), self.task_path("alias2.sh"))
        # ... unless that file is not.
        os.symlink("world-w.sh", self.task_path("alias-ww.sh"))

    REFUSED = [
        ("group-w", "group-w.sh", "writable by its group or by others"),
        ("world-w", "world-w.sh", "writable by its group or by others"),
        ("foreign", "foreign.sh", "owned by uid %d" % NOBODY.pw_uid),
        ("linked", "linked.sh", "hard link"),
        ("outside", "outside.sh", "symlink pointing outside the tasks "
         "directory"),
        ("sibling", "sibling.sh", "symlink pointing outside the tasks "
         "directory"),
        ("dotdot", "dotdot.sh", "symlink pointing outside the tasks "
         "directory"),
        ("alias-ww", "alias-ww.sh", "writable by its group or by others"),
    ]

    def test_check_mode_reports_each(self):
        rc, out = self.check_mode()
        self.assertNotEqual(rc, 0, out)
        for name, file, reason in self.REFUSED:
            self.assertRegex(out, re.escape(self.task_path(file)) +
                             r":.*refused: .*" + re.escape(reason))
        for ok in ("good.sh", "alias.sh", "alias2.sh"):
            self.assertNotIn(self.task_path(ok), out)

    def test_refused_in_list_show_and_run(self):
        self.d.start()
        for name, file, reason in self.REFUSED:
            with self.subTest(task=name):
                self.assert_refused_everywhere(name, file, reason)
        # The fine tasks run, the aliases running good.sh's content.
        for name in ("good", "alias", "alias2"):
            self.assertTrue(self.task(name)["valid"], self.task(name))
            run = self.d.run(name, check=0)
            self.assertEqual(self.d.logs(run["id"]), b"ran\n")
        self.assertTrue(self.ran("good"))

    def test_fixed_and_reloaded(self):
        self.d.start()
        os.chmod(self.task_path("group-w.sh"), 0o755)
        os.chmod(self.task_path("world-w.sh"), 0o755)
        os.chown(self.task_path("foreign.sh"), 0, 0)
        os.unlink(os.path.join(self.other, "linked.sh"))
        self.d.ctl("reload", check=0)
        for name in ("group-w", "world-w", "foreign", "linked"):
            with self.subTest(task=name):
                self.assertTrue(self.task(name)["valid"], self.task(name))
                run = self.d.run(name, check=0)
                self.assertEqual(run["status"], "succeeded")
                self.assertTrue(self.ran(name))
        self.assertFalse(self.task("outside")["valid"])


class UntrustedDirectory(TrustTest):
    START = False

    def setUp(self):
        super().setUp()
        self.d.add_task("one.sh", marker_task(self.scratch, "one"))
        self.d.add_task("two.sh", marker_task(self.scratch, "two"))

    def check_directory(self, mode):
        d = self.d
        os.chmod(d.tasks_dir, mode)
        reason = "tasks directory %s is writable by its group or by " \
                 "others" % d.tasks_dir
        rc, out = self.check_mode()
        self.assertNotEqual(rc, 0, out)
        for file in ("one.sh", "two.sh"):
            self.assertIn(self.task_path(file), out)
        self.assertIn(reason, out)
        d.start()
        for name in ("one", "two"):
            self.assert_refused_everywhere(name, name + ".sh", reason)
        os.chmod(d.tasks_dir, 0o755)
        d.ctl("reload", check=0)
        for name in ("one", "two"):
            self.assertTrue(self.task(name)["valid"], self.task(name))
            self.assertEqual(d.run(name, check=0)["status"], "succeeded")
            self.assertTrue(self.ran(name))
        rc, out = self.check_mode()
        self.assertEqual(rc, 0, out)

    def test_group_writable_directory(self):
        self.check_directory(0o775)

    def test_world_writable_directory(self):
        self.check_directory(0o777)

    def test_directory_becomes_writable(self):
        """A running daemon: tasks.d made writable, then a reload."""
        d = self.d
        d.start()
        self.assertEqual(d.run("one", check=0)["status"], "succeeded")
        os.chmod(d.tasks_dir, 0o777)
        d.ctl("reload", check=0)
        self.assertFalse(self.task("two")["valid"])
        self.assertIn("tasks directory", self.task("two")["error"])
        d.ctl("run", "two", check=EX_DATAERR)
        self.assertFalse(self.ran("two"))


class CheckedFileRuns(TrustTest):
    """The file that was checked is the file that runs: a change made just
    before a run, before the daemon heard of it, is seen at the run's
    start."""

    def setUp(self):
        super().setUp()
        self.d.add_task("job.sh", "#!/bin/sh\n# Job.\necho version 1\n")
        wait_for(lambda: self.d.request({"cmd": "show", "task": "job"})
                 .get("task", {}).get("valid"), what="job to load")
        self.assertEqual(self.d.logs(self.d.run("job", check=0)["id"]),
                         b"version 1\n")

    def replace(self, text, mode=0o755):
        """Put a new file (a new inode) in place of job.sh by rename."""
        tmp = os.path.join(self.d.dir, "job.new")
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.rename(tmp, self.task_path("job.sh"))

    def test_replaced_by_rename_runs_new_content(self):
        for version in (2, 3, 4):
            self.replace("#!/bin/sh\n# Job.\necho version %d\n" % version)
            run = self.d.run("job", check=0)
            self.assertEqual(self.d.logs(run["id"]),
                             b"version %d\n" % version)

    def test_replaced_by_world_writable_file(self):
        self.replace(marker_task(self.scratch, "job", "evil"), mode=0o757)
        self.assert_run_refused("job", "writable by its group or by others")

    def test_replaced_by_hard_link(self):
        elsewhere = os.path.join(self.other, "job.sh")
        with open(elsewhere, "w") as f:
            f.write(marker_task(self.scratch, "job", "evil"))
        os.chmod(elsewhere, 0o755)
        tmp = os.path.join(self.d.tasks_dir, ".job.new")
        os.link(elsewhere, tmp)
        os.rename(tmp, self.task_path("job.sh"))
        self.assert_run_refused("job", "hard link")

    def test_made_world_writable_in_place(self):
        # Same inode, new mode: no new file for inotify to report.
        with open(self.task_path("job.sh"), "w") as f:
            f.write(marker_task(self.scratch, "job", "evil"))
        os.chmod(self.task_path("job.sh"), 0o757)
        self.assert_run_refused("job", "writable by its group or by others")

    def test_given_away_in_place(self):
        with open(self.task_path("job.sh"), "w") as f:
            f.write(marker_task(self.scratch, "job", "evil"))
        os.chown(self.task_path("job.sh"), NOBODY.pw_uid, NOBODY.pw_gid)
        self.assert_run_refused("job", "owned by uid %d" % NOBODY.pw_uid)


class GoneBeforeRun(ScratchTest):
    """Any user: a task file removed just before a run (before the daemon
    heard of it) is refused cleanly, with its reason, and the daemon goes
    on."""

    TASKS = {"job.sh": "#!/bin/sh\n# Job.\necho job\n",
             "hello.sh": "#!/bin/sh\necho hello\n"}

    def test_removed_just_before_run(self):
        for _ in range(3):
            self.d.add_task("job.sh", self.TASKS["job.sh"])
            wait_for(lambda: self.d.request({"cmd": "show", "task": "job"})
                     .get("ok"), what="job to be loaded")
            self.d.remove_task("job.sh")
            p = self.d.ctl("run", "job", "--wait")
            self.assertNotEqual(p.returncode, 0, p)
            if p.stdout.strip():
                run = self.d.status(int(p.stdout.split(b"\n", 1)[0]))
                self.assertEqual(run["status"], "failed", run)
                self.assertIn("no longer exists", run["reason"] or "", run)
            else:
                self.assertEqual(p.returncode, EX_DATAERR, p)
                self.assertIn(b"'job'", p.stderr)
            self.assertEqual(self.d.run("hello")["status"], "succeeded")


if __name__ == "__main__":
    main()
