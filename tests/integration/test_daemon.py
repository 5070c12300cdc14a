#!/usr/bin/env python3
"""microlightd: options, -n, the configuration file, invalid tasks,
reload (command, SIGHUP, inotify), shutdown and background mode."""

import grp

from harness import *

HELLO = "#!/bin/sh\n# Say hello.\necho hello\n"


def task_names(d):
    return sorted(t["name"] for t in d.request({"cmd": "list"})["tasks"])


def task_by_name(d, name):
    for t in d.request({"cmd": "list"})["tasks"]:
        if t["name"] == name:
            return t
    return None


def runs_count(d):
    return len(d.request({"cmd": "runs", "limit": 10000})["runs"])


def write_file(path, text, mode=0o755):
    with open(path, "w") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))
    os.chmod(path, mode)


def daemon_version():
    with open(os.path.join(BUILDDIR, "config.h")) as f:
        return re.search(r'#define PACKAGE_VERSION "([^"]*)"',
                         f.read()).group(1)


class Options(unittest.TestCase):
    def microlightd(self, *args):
        return subprocess.run([MICROLIGHTD] + list(args),
                              capture_output=True, timeout=30,
                              stdin=subprocess.DEVNULL)

    def test_version(self):
        p = self.microlightd("-V")
        self.assertEqual(p.returncode, 0)
        self.assertIn(daemon_version().encode(), p.stdout)
        self.assertIn(b"microlightd", p.stdout)

    def test_help(self):
        """-h and --help: the usage, then a line on every option getopt
        takes (read from the source), with its default, on stdout, exit
        0."""
        with open(os.path.join(SRCDIR, "daemon", "microlightd.c")) as f:
            optstring = re.search(r'getopt_long\(argc, argv, "([^"]+)"',
                                  f.read()).group(1)
        letters = sorted(optstring.replace(":", ""))
        for arg in ("-h", "--help"):
            p = self.microlightd(arg)
            self.assertEqual(p.returncode, 0)
            self.assertEqual(p.stderr, b"")
            out = p.stdout.decode()
            self.assertTrue(out.startswith("usage: microlightd "), out)
            listed = re.findall(r"^  -(\w)\b", out, re.M)
            self.assertEqual(sorted(listed), letters, out)
            for line in out.splitlines():
                # Only a word longer than the room (a path under a long
                # prefix, as make distcheck's) may pass the 79th column.
                if len(line) > 79:
                    self.assertEqual(len(line.split()), 1, line)
            for option, text in (
                    ("-c file", "read the configuration from file"),
                    ("-f", "stay in the foreground"),
                    ("-n", "check the configuration"),
                    ("-v", "log debugging"),
                    ("-V, --version", "print the version"),
                    ("-h, --help", "print this help")):
                self.assertRegex(out, r"(?m)^  %s +%s" % (
                    re.escape(option), text))
            self.assertIn("127.0.0.1:8080", out)
            self.assertEqual(" ".join(out.split()).count("(default: "), 8,
                             out)

    def test_help_defaults_are_the_users(self):
        """The defaults --help gives are the paths the daemon would use
        for the user who asks: a user's own (XDG) directories."""
        xdg = tempfile.mkdtemp(prefix="ml-xdg-")
        self.addCleanup(shutil.rmtree, xdg, ignore_errors=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "HOME": xdg, "XDG_CONFIG_HOME": xdg + "/config",
               "XDG_STATE_HOME": xdg + "/state",
               "XDG_RUNTIME_DIR": xdg + "/run"}
        kw = {"user": "nobody"} if os.geteuid() == 0 else {}
        p = subprocess.run([MICROLIGHTD, "--help"], capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL, env=env,
                           **kw)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = " ".join(p.stdout.decode().split())
        for option, path in (
                ("-c file", "config/microlight/microlight.conf"),
                ("-d state-dir", "state/microlight"),
                ("-p pidfile", "run/microlight/microlightd.pid"),
                ("-s socket", "run/microlight/microlightd.sock"),
                ("-T tasks-dir", "config/microlight/tasks.d")):
            self.assertRegex(out, r"%s .*?\(default: [^)]*%s" % (
                re.escape(option), re.escape(xdg + "/" + path)))

    def test_unknown_option(self):
        """A bad option: the short usage alone, on stderr, exit 64."""
        for arg in ("-Z", "--no-such-option"):
            p = self.microlightd(arg)
            self.assertEqual(p.returncode, 64)
            self.assertEqual(p.stdout, b"")
            self.assertIn(b"usage: microlightd", p.stderr)
            self.assertNotIn(b"default", p.stderr)


class CheckMode(DaemonTest):
    """microlightd -n: check the configuration and every task file."""
    START = False

    def check(self, *extra):
        return self.d.check_mode(extra)

    def test_valid(self):
        self.d.add_task("hello.sh", HELLO)
        self.d.add_task("greet.py", """\
            #!/usr/bin/env python3
            # Greet.
            # @param who "Who" default=world
            # @timeout 5m
            import os
            print("hi", os.environ["who"])
            """)
        rc, out = self.check()
        self.assertEqual(rc, 0, out)
        self.assertFalse(os.path.exists(self.d.socket),
                         "-n must not start a daemon")

    def test_invalid_tasks(self):
        t = self.d.tasks_dir
        self.d.add_task("good.sh", HELLO)
        self.d.add_task("unknown.sh", """\
            #!/bin/sh
            # Description.
            # @frobnicate yes
            echo
            """)
        self.d.add_task("timeout.sh", """\
            #!/bin/sh
            # @timeout forever
            echo
            """)
        self.d.add_task("noexec.sh", HELLO, mode=0o644)
        self.d.add_task("dup.sh", HELLO)
        self.d.add_task("dup.py", "#!/usr/bin/env python3\nprint(1)\n")
        self.d.add_task("bad name.sh", HELLO)
        rc, out = self.check()
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, re.escape(t + "/unknown.sh:3:") +
                         r".*frobnicate")
        self.assertRegex(out, re.escape(t + "/timeout.sh:2:") +
                         r".*forever")
        self.assertRegex(out, re.escape(t + "/noexec.sh") +
                         r".*not executable")
        self.assertIn(t + "/dup.sh", out)
        self.assertIn(t + "/dup.py", out)
        self.assertIn(t + "/bad name.sh", out)
        self.assertNotIn("good.sh", out)

    def test_config_errors(self):
        self.d.add_task("hello.sh", HELLO)
        write_file(self.d.config, """\
            # a comment
            kill-grace 2s

            frobnicate 1
            max-running lots
            """, mode=0o644)
        rc, out = self.check()
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, re.escape(self.d.config) + r":4:.*frobnicate")
        self.assertRegex(out, re.escape(self.d.config) + r":5:.*lots")
        self.assertNotIn(self.d.config + ":2:", out)

    def test_bad_values(self):
        self.d.add_task("hello.sh", HELLO)
        bad = ["kill-grace soon", "default-timeout -1s", "max-log-size 1Q",
               "keep-runs many", "listen nowhere", "tasks-dir relative/dir",
               "socket-group no-such-group-xyz", "max-running 0"]
        write_file(self.d.config, "\n".join(bad) + "\n", mode=0o644)
        rc, out = self.check()
        self.assertNotEqual(rc, 0, out)
        for i in range(1, len(bad) + 1):
            self.assertIn("%s:%d:" % (self.d.config, i), out,
                          "line %d (%s) not reported" % (i, bad[i - 1]))


    def test_value_forms(self):
        self.d.add_task("hello.sh", HELLO)
        for text in ("default-timeout 0", "default-timeout 90s",
                     "default-timeout 2h", "kill-grace 5m",
                     "default-timeout 1d", "max-log-size 512K",
                     "max-log-size 16M", "max-log-size 1G", "listen none",
                     "listen 127.0.0.1:8080", "  # indented comment",
                     "max-running 1\n\n\n# x\nkeep-days 90"):
            write_file(self.d.config, text + "\n", mode=0o644)
            rc, out = self.check()
            self.assertEqual(rc, 0, "%r: %s" % (text, out))


class StartRefused(DaemonTest):
    START = False

    def start_fails(self, extra=()):
        cmd = self.d.command(list(extra))
        p = subprocess.run(cmd, capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL, env=self.d.env)
        return p.returncode, p.stdout.decode() + p.stderr.decode()

    def test_bad_config_refuses_to_start(self):
        self.d.add_task("hello.sh", HELLO)
        write_file(self.d.config, "max-running 2\nkill-grace never\n",
                   mode=0o644)
        rc, out = self.start_fails()
        self.assertNotEqual(rc, 0, out)
        self.assertIn(self.d.config + ":2:", out)
        self.assertFalse(os.path.exists(self.d.socket))

    def test_address_in_use_says_what_to_do(self):
        """The HTTP address taken: the error names it and says -l."""
        self.d.add_task("hello.sh", HELLO)
        taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        addr = "127.0.0.1:%d" % taken.getsockname()[1]
        cmd = [MICROLIGHTD, "-f", "-c", self.d.config, "-T",
               self.d.tasks_dir, "-d", self.d.state_dir, "-s",
               self.d.socket, "-l", addr]
        p = subprocess.run(cmd, capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL, env=self.d.env)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(addr.encode(), p.stderr)
        self.assertIn(b"in use", p.stderr)
        self.assertIn(b"with -l", p.stderr)
        self.assertFalse(os.path.exists(self.d.socket))

    def test_missing_config_file_named_by_c(self):
        missing = os.path.join(self.d.dir, "no-such.conf")
        cmd = [MICROLIGHTD, "-f", "-c", missing, "-T", self.d.tasks_dir,
               "-d", self.d.state_dir, "-s", self.d.socket, "-l", "none"]
        p = subprocess.run(cmd, capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL, env=self.d.env)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(missing.encode(), p.stderr)
        self.assertFalse(os.path.exists(self.d.socket))


class AllConfigKeys(DaemonTest):
    START = False

    def test_every_key_accepted(self):
        other_tasks = os.path.join(self.d.dir, "other-tasks")
        os.mkdir(other_tasks)
        users = os.path.join(self.d.dir, "users")
        write_file(users, "alice:$5$salt$Xq0rLqPTGNFtSMRXjuQsNpW6ZAa.i86"
                   "ZrC2ktuAD1G6\n", mode=0o600)
        group = grp.getgrgid(os.getgid()).gr_name
        write_file(self.d.config, """\
            tasks-dir %s
            state-dir %s/other-state
            socket %s/other.sock
            socket-group %s
            listen 127.0.0.1:18080
            users-file %s
            max-running 2
            default-timeout 5m
            kill-grace 3s
            keep-runs 50
            keep-days 7
            max-log-size 1M
            webhook-secret hello 0123456789abcdef0123
            webhook-secret other abcdefghijklmnopqrstu
            allowed-hosts example.com ml.example.org
            allowed-hosts localhost.localdomain
            """ % (other_tasks, self.d.dir, self.d.dir, group, users),
                   mode=0o644)
        self.d.add_task("hello.sh", HELLO)

        rc, out = self.d.check_mode()
        self.assertEqual(rc, 0, out)

        self.d.start()
        # The command line (-T, -d, -s, -l none) overrides the file ...
        self.assertEqual(task_names(self.d), ["hello"])
        self.assertTrue(os.path.exists(self.d.db_path))
        self.assertFalse(os.path.exists(os.path.join(self.d.dir,
                                                     "other.sock")))
        # ... and the file's other values are in force.
        self.assertEqual(task_by_name(self.d, "hello")["timeout"], 300)
        st = os.stat(self.d.socket)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660,
                         "socket mode with socket-group")
        self.assertEqual(st.st_gid, grp.getgrnam(group).gr_gid)
        self.assertEqual(self.d.run("hello")["status"], "succeeded")


class InvalidTasks(DaemonTest):
    TASKS = {
        "good.sh": HELLO,
        "broken.sh": """\
            #!/bin/sh
            # A broken task.
            # @timeout sometime
            echo never
            """,
    }

    def test_listed_with_error_and_not_runnable(self):
        broken = task_by_name(self.d, "broken")
        self.assertIsNotNone(broken)
        self.assertFalse(broken["valid"])
        self.assertIn(os.path.join(self.d.tasks_dir, "broken.sh") + ":3:",
                      broken["error"])
        self.assertTrue(task_by_name(self.d, "good")["valid"])

        out = self.d.ctl("list", check=0).stdout.decode()
        line = [l for l in out.splitlines() if l.startswith("broken ")]
        self.assertEqual(len(line), 1, out)
        self.assertEqual(line[0].split()[-1], "invalid")
        out = self.d.ctl("show", "broken", check=0).stdout.decode()
        self.assertIn("broken.sh:3:", out)

        before = runs_count(self.d)
        p = self.d.ctl("run", "broken", "--wait", check=EX_DATAERR)
        self.assertIn(b"broken.sh:3", p.stderr)
        self.assertEqual(runs_count(self.d), before)
        self.assertEqual(self.d.run("good")["status"], "succeeded")


class Reload(DaemonTest):
    CONFIG = "kill-grace 1s\ndefault-timeout 5m\n"
    TASKS = {"one.sh": HELLO, "two.sh": HELLO}

    def link_task(self, name, body=HELLO):
        """Add a task by a hard link: no inotify event the daemon
        watches, so only a reload can see it. The first name is removed
        at once, so that the file has one name (as root, a task file with
        several is refused)."""
        src = os.path.join(self.d.dir, name)
        write_file(src, body)
        os.link(src, os.path.join(self.d.tasks_dir, name))
        os.unlink(src)

    def test_reload_command(self):
        self.link_task("three.sh")
        time.sleep(0.5)
        self.assertEqual(task_names(self.d), ["one", "two"],
                         "precondition: a hard link is not noticed")
        p = self.d.ctl("reload", check=0)
        self.assertIn(b"3 tasks", p.stdout)
        self.assertEqual(task_names(self.d), ["one", "three", "two"])
        self.assertEqual(self.d.run("three")["status"], "succeeded")

        self.d.remove_task("two.sh")
        self.d.ctl("reload", check=0)
        self.assertEqual(task_names(self.d), ["one", "three"])
        self.d.ctl("run", "two", check=EX_DATAERR)

    def test_sighup(self):
        self.link_task("three.sh")
        self.d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: task_names(self.d) == ["one", "three", "two"],
                 timeout=10, what="SIGHUP to add a task")
        self.d.remove_task("two.sh")
        self.d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: task_names(self.d) == ["one", "three"],
                 timeout=10, what="SIGHUP to remove a task")
        self.assertIsNone(self.d.proc.poll())

    def test_inotify_rename(self):
        self.d.add_task("renamed.sh", HELLO)    # temp name, then rename
        wait_for(lambda: "renamed" in task_names(self.d), timeout=5,
                 what="a renamed-in task to appear")
        self.assertEqual(self.d.run("renamed")["status"], "succeeded")

    def test_inotify_plain_write(self):
        fd = os.open(os.path.join(self.d.tasks_dir, "plain.sh"),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
        os.write(fd, HELLO.encode())
        os.close(fd)
        wait_for(lambda: "plain" in task_names(self.d), timeout=5,
                 what="a written task to appear")
        self.assertTrue(task_by_name(self.d, "plain")["valid"])
        self.assertEqual(self.d.run("plain")["status"], "succeeded")

    def test_inotify_removal(self):
        self.d.remove_task("two.sh")
        wait_for(lambda: task_names(self.d) == ["one"], timeout=5,
                 what="a removed task to go")

    def test_edit_into_invalid(self):
        self.assertEqual(self.d.run("one")["status"], "succeeded")
        self.d.add_task("one.sh", """\
            #!/bin/sh
            # @bogus directive
            echo new version
            """)
        wait_for(lambda: not task_by_name(self.d, "one")["valid"],
                 timeout=5, what="the edited task to become invalid")
        t = task_by_name(self.d, "one")
        self.assertIn(os.path.join(self.d.tasks_dir, "one.sh") + ":2:",
                      t["error"])
        before = runs_count(self.d)
        self.d.ctl("run", "one", check=EX_DATAERR)
        self.assertEqual(runs_count(self.d), before)
        self.assertEqual(self.d.run("two")["status"], "succeeded")
        self.assertTrue(task_by_name(self.d, "two")["valid"])

        # Fixed again: valid again, and the new version runs.
        self.d.add_task("one.sh", "#!/bin/sh\necho fixed\n")
        wait_for(lambda: task_by_name(self.d, "one")["valid"], timeout=5,
                 what="the fixed task to become valid")
        run = self.d.run("one")
        self.assertEqual(self.d.logs(run["id"]), b"fixed\n")

    def test_bad_config_reload_refused(self):
        self.assertEqual(task_by_name(self.d, "one")["timeout"], 300)
        write_file(self.d.config, "kill-grace 1s\ndefault-timeout 10m\n"
                   "no-such-key 1\n", mode=0o644)
        self.link_task("three.sh")
        p = self.d.ctl("reload")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn((self.d.config + ":3:").encode(), p.stderr)
        self.assertEqual(task_by_name(self.d, "one")["timeout"], 300,
                         "a refused reload changed the configuration")
        self.assertEqual(task_names(self.d), ["one", "two"])
        self.assertEqual(self.d.run("one")["status"], "succeeded")

        write_file(self.d.config, "kill-grace 1s\ndefault-timeout 10m\n",
                   mode=0o644)
        self.d.ctl("reload", check=0)
        self.assertEqual(task_by_name(self.d, "one")["timeout"], 600)
        self.assertEqual(task_names(self.d), ["one", "three", "two"])


class Shutdown(DaemonTest):
    CONFIG = "kill-grace 1s\n"
    TASKS = {
        "stubborn.sh": """\
            #!/bin/sh
            trap '' TERM
            echo started
            while :; do sleep 0.1; done
            """,
    }

    def test_sigterm_cancels_running_run(self):
        follower = subprocess.Popen(
            [MICROLIGHTCTL, "-s", self.d.socket, "run", "stubborn",
             "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=ctl_env(), stdin=subprocess.DEVNULL)
        try:
            wait_for(lambda: self.d.request({"cmd": "runs"})["runs"],
                     what="the run to be created")
            run_id = self.d.request({"cmd": "runs"})["runs"][0]["id"]
            wait_for(lambda: self.d.status(run_id)["output_size"] > 0,
                     what="the run to start")
            t0 = time.monotonic()
            rc = self.d.stop(timeout=1 + 15)
            elapsed = time.monotonic() - t0
            self.assertEqual(rc, 0)
            self.assertLess(elapsed, 1 + 10,
                            "shutdown took %.1fs with kill-grace 1s"
                            % elapsed)
            out, err = follower.communicate(timeout=15)
        finally:
            if follower.poll() is None:
                follower.kill()
                follower.wait()
        self.assertEqual(follower.returncode, 130, err)
        self.assertIn(b"started\n", out)
        self.assertIn(b"daemon shutdown", err)

        self.d.start()
        run = self.d.status(run_id)
        self.assertEqual(run["status"], "cancelled")
        self.assertEqual(run["reason"], "daemon shutdown")
        self.assertIsNotNone(run["finished_at"])


    def test_sigint_exits_0(self):
        self.assertEqual(self.d.stop(signal.SIGINT, timeout=20), 0)
        self.assertFalse(os.path.exists(self.d.socket))


class ShutdownRefusesWork(ScratchTest):
    # The run ignores SIGTERM and holds the shutdown until the test opens
    # its gate (the kill grace, a minute, is a backstop).
    CONFIG = "kill-grace 60s\n"
    TASKS = {
        "stubborn.sh": """\
            #!/bin/sh
            trap '' TERM
            @SH_GATE@
            echo started
            gate 1
            """,
        "hello.sh": HELLO,
    }

    def test_no_new_work_while_shutting_down(self):
        run_id = self.d.run("stubborn", wait=False)
        # "started" is printed once the trap is set.
        wait_for(lambda: self.d.status(run_id)["output_size"] > 0,
                 what="the run to start")
        conn = self.d.connect(timeout=20)
        try:
            self.d.proc.send_signal(signal.SIGTERM)
            wait_for(lambda: "shutting down" in self.d.log_text(),
                     what="the daemon to begin its shutdown")
            self.assertIsNone(self.d.proc.poll(), "exited before its "
                              "run ended")
            conn.sendall(b'{"cmd":"run","task":"hello"}\n')
            reply = json.loads(read_line(conn))
        finally:
            conn.close()
        self.assertFalse(reply["ok"], reply)
        self.go(run_id)
        self.assertEqual(self.d.stop(timeout=30), 0)
        self.d.start()
        runs = self.d.request({"cmd": "runs"})["runs"]
        self.assertEqual([r["task"] for r in runs], ["stubborn"])
        self.assertEqual(runs[0]["reason"], "daemon shutdown")


class Background(DaemonTest):
    START = False

    def setUp(self):
        super().setUp()
        self.d.add_task("hello.sh", HELLO)
        self.pidfile = os.path.join(self.d.dir, "microlightd.pid")
        self.pid = None

    def tearDown(self):
        try:
            if self.pid is not None and pid_alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
                wait_for(lambda: not pid_alive(self.pid), timeout=10,
                         what="the background daemon to die")
        finally:
            super().tearDown()

    def background(self, socket_path=None, state_dir=None):
        cmd = [MICROLIGHTD, "-c", self.d.config, "-T", self.d.tasks_dir,
               "-d", state_dir or self.d.state_dir,
               "-s", socket_path or self.d.socket, "-l", "none",
               "-p", self.pidfile]
        return subprocess.run(cmd, capture_output=True, timeout=30,
                              stdin=subprocess.DEVNULL, env=self.d.env)

    def test_background_start_and_stop(self):
        p = self.background()
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.pidfile) as f:
            self.pid = int(f.read().strip())
        self.assertTrue(pid_alive(self.pid))
        # Ready when the command returned: no waiting needed.
        ping = self.d.request({"cmd": "ping"})
        self.assertTrue(ping["ok"])
        self.assertEqual(ping["pid"], self.pid)
        self.assertEqual(self.d.run("hello")["status"], "succeeded")

        os.kill(self.pid, signal.SIGTERM)
        wait_for(lambda: not pid_alive(self.pid), timeout=20,
                 what="the background daemon to exit")
        wait_for(lambda: not os.path.exists(self.pidfile), timeout=5,
                 what="the pidfile to be removed")
        self.assertFalse(os.path.exists(self.d.socket))

    def test_long_socket_path_fails_in_foreground_of_command(self):
        long_path = os.path.join(self.d.dir, "x" * 120 + ".sock")
        p = self.background(socket_path=long_path)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"too long", p.stderr)
        self.assertIn(b"microlightd", p.stderr)

    def test_state_dir_is_a_file(self):
        path = os.path.join(self.d.dir, "state-file")
        write_file(path, "not a directory\n", mode=0o600)
        p = self.background(state_dir=path)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(path.encode(), p.stderr)
        self.assertFalse(os.path.exists(self.d.socket))

    def test_failure_after_forking_is_reported(self):
        # The database cannot be opened: found only after the fork.
        os.makedirs(os.path.join(self.d.state_dir, "microlight.db"))
        p = self.background()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"microlight.db", p.stderr)
        self.d.ctl("ping", check=EX_UNAVAILABLE)


class DefaultPaths(unittest.TestCase):
    """An ordinary user's default paths (SPEC section 1): tasks.d under
    $XDG_CONFIG_HOME, the database under $XDG_STATE_HOME, the socket under
    $XDG_RUNTIME_DIR or else /tmp/microlight-UID; microlightctl finds the
    socket by the same rules. As root the test runs them as nobody, from
    copies nobody can reach (the build may be in /root, which is 0700)."""

    def setUp(self):
        import pwd
        self.home = tempfile.mkdtemp(prefix="ml-home-")
        self.addCleanup(shutil.rmtree, self.home, True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            os.chown(self.home, self.uid, self.gid)
            self.microlightd, self.microlightctl = programs_for_others()
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            self.microlightd, self.microlightctl = MICROLIGHTD, MICROLIGHTCTL
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree("/tmp/microlight-%d" % self.uid, ignore_errors=True)

    def as_user(self):
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(self.gid)
            os.setuid(self.uid)

    def env(self, runtime):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "HOME": self.home,
               "XDG_CONFIG_HOME": os.path.join(self.home, "cfg"),
               "XDG_STATE_HOME": os.path.join(self.home, "state"),
               "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")}
        if runtime:
            env["XDG_RUNTIME_DIR"] = os.path.join(self.home, "run")
            os.mkdir(env["XDG_RUNTIME_DIR"], 0o700)
            os.chown(env["XDG_RUNTIME_DIR"], self.uid, self.gid)
        return env

    def start(self, env):
        log = open(os.path.join(self.home, "log"), "ab")
        p = subprocess.Popen([self.microlightd, "-f", "-l", "none"],
                             env=env, cwd=self.home,
                             stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log, preexec_fn=self.as_user)
        log.close()
        self.procs.append(p)
        return p

    def ctl(self, env, *args):
        cenv = dict(env, ASAN_OPTIONS="detect_leaks=0")
        return subprocess.run([self.microlightctl] + list(args), env=cenv,
                              cwd=self.home, capture_output=True,
                              preexec_fn=self.as_user,
                              stdin=subprocess.DEVNULL)

    def check(self, env, socket_path):
        p = self.start(env)
        wait_for(lambda: os.path.exists(socket_path), timeout=20,
                 what="the socket at %s" % socket_path)
        tasks = os.path.join(self.home, "cfg", "microlight", "tasks.d")
        self.assertTrue(os.path.isdir(tasks), "tasks.d was not created")
        db = os.path.join(self.home, "state", "microlight", "microlight.db")
        wait_for(lambda: os.path.exists(db), what="the database")
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(db)).st_mode),
                         0o700)
        # microlightctl finds the daemon without being told where.
        r = wait_for(lambda: (lambda r: r if r.returncode == 0 else None)(
            self.ctl(env, "ping")), what="microlightctl ping")
        self.assertIn(b"microlightd", r.stdout)
        p.terminate()
        self.assertEqual(p.wait(20), 0)
        with open(os.path.join(self.home, "log"), "rb") as f:
            log = f.read()
        self.assertIsNone(SANITIZER_RE.search(log), log)

    def test_xdg_runtime_dir(self):
        env = self.env(runtime=True)
        self.check(env, os.path.join(env["XDG_RUNTIME_DIR"], "microlight",
                                     "microlightd.sock"))

    def test_tmp_without_runtime_dir(self):
        env = self.env(runtime=False)
        sock = "/tmp/microlight-%d/microlightd.sock" % self.uid
        self.check(env, sock)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(sock))
                                      .st_mode), 0o700)


if __name__ == "__main__":
    main()
