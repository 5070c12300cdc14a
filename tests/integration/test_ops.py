#!/usr/bin/env python3
"""Running microlightd as a service (issue 6): sockets passed by systemd
(LISTEN_FDS, LISTEN_FDNAMES), who may use the control socket (file mode
and peer credentials), syslog lines in the background, and the titles ps
shows for each part."""

import grp
import pwd
import urllib.request

from harness import *
from test_http import free_port


ENV_TASK = """\
    #!/bin/sh
    # Print the environment and the open descriptors.
    env
    ls -l /proc/$$/fd
    """

SLOW_TASK = """\
    #!/bin/sh
    # Wait for the test.
    @SH_GATE@
    gate 1
    echo done
    """


def listening_unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    return s


def listening_tcp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    return s


def http_get(port, path, timeout=10):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                timeout=timeout) as r:
        return r.status, r.read()


class Activation(ScratchTest):
    """The daemon takes the sockets systemd passes, as sd_listen_fds(3)
    describes, and binds only what it was not given."""

    START = False
    TASKS = {"env.sh": ENV_TASK}

    def start_with(self, socks, names=None, pid=None, wait=True):
        """Start the daemon with socks as descriptors 3, 4, ... and the
        LISTEN_ variables set as systemd sets them (LISTEN_PID is the
        daemon's own pid unless pid is given)."""
        env = dict(self.d.env)
        env["LISTEN_FDS"] = str(len(socks))
        if names is not None:
            env["LISTEN_FDNAMES"] = names
        high = [os.dup(s.fileno()) for s in socks]
        for fd in high:
            self.addCleanup(os.close, fd)

        def place():
            for i, fd in enumerate(high):
                os.dup2(fd, 3 + i)

        listen_pid = "$$" if pid is None else str(pid)
        cmd = ["sh", "-c", 'LISTEN_PID=%s; export LISTEN_PID; exec "$@"'
               % listen_pid, "sh"] + self.d.command()
        self.d.log = open(self.d.log_path, "ab")
        self.d.proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.DEVNULL, stdout=self.d.log,
            stderr=self.d.log, preexec_fn=place,
            pass_fds=tuple(range(3, 3 + len(socks))))
        if wait:
            wait_for(lambda: self.d.proc.poll() is not None or
                     "ready" in self.d.log_text(), timeout=20,
                     what="microlightd to start")
            self.assertIsNone(self.d.proc.poll(), self.d.log_text())
        return self.d.proc

    def ctl_at(self, path, *args, check=0):
        p = subprocess.run([MICROLIGHTCTL, "-s", path] + list(args),
                           capture_output=True, env=ctl_env(), timeout=60,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, check, p.stderr)
        return p

    def test_named_sockets_are_used(self):
        path = os.path.join(self.scratch, "passed.sock")
        port = free_port()
        ctl, web = listening_unix(path), listening_tcp(port)
        self.start_with([ctl, web], names="control:http")
        ctl.close()
        web.close()
        # The passed sockets serve; the configured one is never bound.
        self.assertIn(b"microlightd", self.ctl_at(path, "ping").stdout)
        self.assertFalse(os.path.exists(self.d.socket))
        status, body = http_get(port, "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["status"], "ok")
        self.assertIn("socket %s" % path, self.d.log_text())
        self.assertIn("web page on http://127.0.0.1:%d/" % port,
                      self.d.log_text())
        # Tasks see neither the variables nor the listening sockets.
        run_id = int(self.ctl_at(path, "run", "env", "--wait").stdout
                     .split()[0])
        out = self.ctl_at(path, "logs", str(run_id)).stdout
        self.assertIn(b"MICROLIGHT_RUN_ID=%d" % run_id, out)
        self.assertNotIn(b"LISTEN_", out)
        fds = [line for line in out.decode().splitlines() if " -> " in line]
        self.assertTrue(fds, out)
        self.assertFalse([line for line in fds if "socket:" in line], fds)
        # The socket file is systemd's: it stays when the daemon stops.
        self.d.stop()
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))

    def test_unnamed_sockets_go_by_kind(self):
        path = os.path.join(self.scratch, "passed.sock")
        port = free_port()
        web, ctl = listening_tcp(port), listening_unix(path)
        self.start_with([web, ctl])
        web.close()
        ctl.close()
        self.ctl_at(path, "ping")
        self.assertEqual(http_get(port, "/healthz")[0], 200)

    def test_only_control_passed_binds_http_itself(self):
        path = os.path.join(self.scratch, "passed.sock")
        port = free_port()
        i = self.d.args.index("-l") if "-l" in self.d.args else None
        self.assertIsNone(i)
        self.d.args += ["-l", "127.0.0.1:%d" % port]
        ctl = listening_unix(path)
        self.start_with([ctl], names="control")
        ctl.close()
        self.ctl_at(path, "ping")
        self.assertEqual(http_get(port, "/healthz")[0], 200)

    def test_wrong_kind_is_refused(self):
        path = os.path.join(self.scratch, "passed.sock")
        ctl = listening_unix(path)
        p = self.start_with([ctl], names="http", wait=False)
        self.assertNotEqual(p.wait(timeout=30), 0)
        self.d.log.close()
        self.d.proc = None
        self.assertIn("named http but is not a TCP socket",
                      self.d.log_text())

    def test_two_of_a_kind_are_refused(self):
        a = listening_unix(os.path.join(self.scratch, "a.sock"))
        b = listening_unix(os.path.join(self.scratch, "b.sock"))
        p = self.start_with([a, b], names="control:control", wait=False)
        self.assertNotEqual(p.wait(timeout=30), 0)
        self.d.log.close()
        self.d.proc = None
        self.assertIn("two control sockets", self.d.log_text())

    def test_sockets_for_another_pid_are_not_taken(self):
        path = os.path.join(self.scratch, "passed.sock")
        ctl = listening_unix(path)
        self.start_with([ctl], names="control", pid=1)
        # The daemon bound its own socket, as without systemd.
        self.d.ctl("ping", check=0)
        self.assertIn("socket %s" % self.d.socket, self.d.log_text())

    def test_systemd_socket_activate(self):
        tool = shutil.which("systemd-socket-activate")
        if tool is None:
            self.skipTest("systemd-socket-activate is not installed")
        path = os.path.join(self.scratch, "passed.sock")
        port = free_port()
        self.d.log = open(self.d.log_path, "ab")
        self.d.proc = subprocess.Popen(
            [tool, "-l", path, "-l", "127.0.0.1:%d" % port,
             "--fdname=control:http"] + self.d.command(),
            env=self.d.env, stdin=subprocess.DEVNULL, stdout=self.d.log,
            stderr=self.d.log)
        wait_for(lambda: os.path.exists(path), what="the tool to listen")
        # The first connection starts the daemon, which then answers it:
        # a request sent before the daemon runs is not lost.
        status, body = http_get(port, "/api/v1/tasks", timeout=30)
        self.assertEqual(status, 200)
        self.assertEqual([t["name"] for t in json.loads(body)["tasks"]],
                         ["env"])
        self.ctl_at(path, "ping")
        self.assertFalse(os.path.exists(self.d.socket))


class PeerCredentials(ScratchTest):
    """socket-group: the group's members may use microlightctl, others
    are refused by the socket's mode and, should the mode let them in,
    by the daemon; a run names the user who started it. Needs root (to
    act as other users)."""

    START = False
    TASKS = {"hello.sh": "#!/bin/sh\n# Say hello.\necho hello\n"}

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("acting as other users needs root")
        try:
            self.nobody = pwd.getpwnam("nobody")
            self.group = grp.getgrnam("nogroup")
        except KeyError:
            self.skipTest("no user nobody or group nogroup")
        other = [g for g in grp.getgrall()
                 if g.gr_gid not in (0, self.group.gr_gid)]
        if not other:
            self.skipTest("no third group")
        self.other_gid = other[0].gr_gid
        with open(self.d.config, "a") as f:
            f.write("socket-group nogroup\n")
        self.d.start()

    def ctl_as(self, gid, groups, *args, env=None):
        """microlightctl as nobody with the given groups (a copy nobody can
        reach wherever the build is)."""
        def become():
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(self.nobody.pw_uid)

        ctl = programs_for_others()[1]
        return subprocess.run([ctl] + list(args), cwd="/",
                              capture_output=True, timeout=60,
                              env=ctl_env(env), stdin=subprocess.DEVNULL,
                              preexec_fn=become)

    def runs(self):
        return self.d.ctl_json("runs")[0]["runs"]

    def test_group_member_by_primary_group(self):
        st = os.stat(self.d.socket)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, self.group.gr_gid)
        p = self.ctl_as(self.group.gr_gid, [], "-s", self.d.socket, "run",
                        "hello", "--wait")
        self.assertEqual(p.returncode, 0, p.stderr)
        run = self.d.status(int(p.stdout.split()[0]))
        self.assertEqual(run["triggered_by"],
                         "uid=%d(nobody)" % self.nobody.pw_uid)

    def test_group_member_by_supplementary_group(self):
        p = self.ctl_as(self.other_gid, [self.group.gr_gid], "-s",
                        self.d.socket, "ping")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_group_member_among_many_groups(self):
        # More supplementary groups than the daemon's first buffer holds.
        many = list(range(60000, 60100)) + [self.group.gr_gid]
        p = self.ctl_as(self.other_gid, many, "-s", self.d.socket, "ping")
        self.assertEqual(p.returncode, 0, p.stderr)
        os.chmod(self.d.socket, 0o666)
        p = self.ctl_as(self.other_gid, many[:-1], "-s", self.d.socket,
                        "ping")
        self.assertEqual(p.returncode, EX_UNAVAILABLE, p.stderr)

    def test_others_are_refused_by_the_mode(self):
        p = self.ctl_as(self.other_gid, [], "-s", self.d.socket, "run",
                        "hello")
        self.assertEqual(p.returncode, EX_UNAVAILABLE)
        self.assertIn(b"Permission denied", p.stderr)
        self.assertEqual(self.runs(), [])

    def test_others_are_refused_by_the_daemon(self):
        # A socket mode gone wrong (or systemd's SocketMode=0666): the
        # peer check still keeps others out, saying why.
        os.chmod(self.d.socket, 0o666)
        p = self.ctl_as(self.other_gid, [], "-s", self.d.socket, "run",
                        "hello")
        self.assertEqual(p.returncode, EX_UNAVAILABLE, p.stderr)
        self.assertIn(b"may not use microlightd", p.stderr)
        self.assertEqual(self.runs(), [])
        self.assertIn("refused uid %d" % self.nobody.pw_uid,
                      self.d.log_text())
        # A long request is still being sent when the daemon says no and
        # closes: the client shows the daemon's word, not a broken pipe.
        big = ["p%d=%s" % (i, "x" * 100000) for i in range(8)]
        for _ in range(3):
            p = self.ctl_as(self.other_gid, [], "-s", self.d.socket, "run",
                            "hello", *big)
            self.assertEqual(p.returncode, EX_UNAVAILABLE, p.stderr)
            self.assertIn(b"may not use microlightd", p.stderr)
        # The daemon goes on serving those it lets in.
        p = self.ctl_as(self.group.gr_gid, [], "-s", self.d.socket, "ping")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_system_socket_is_found_without_s(self):
        # A member of the group who runs no daemon of their own reaches
        # the system's without -s. Where that is depends on configure
        # (runstatedir): microlightctl says it when nothing listens.
        p = subprocess.run([MICROLIGHTCTL, "ping"], capture_output=True,
                           env=ctl_env(), stdin=subprocess.DEVNULL)
        if p.returncode == 0:
            self.skipTest("a system microlightd runs here: %r" % p.stdout)
        # Any other answer is the CLI's: a changed message fails here.
        self.assertEqual(p.returncode, EX_UNAVAILABLE, p.stderr)
        m = re.search(rb"nothing listens on (\S+)\)", p.stderr)
        self.assertIsNotNone(m, "microlightctl no longer says where it "
                             "looked: %r" % p.stderr)
        system = m.group(1).decode()
        made = []
        d = os.path.dirname(system)
        while not os.path.exists(d):
            made.append(d)
            d = os.path.dirname(d)
        for d in reversed(made):
            os.mkdir(d, 0o755)
            self.addCleanup(os.rmdir, d)	# cleanups run last first
        os.symlink(self.d.socket, system)
        self.addCleanup(os.unlink, system)
        runtime = tempfile.mkdtemp(prefix="ml-runtime-")
        os.chown(runtime, self.nobody.pw_uid, -1)
        self.addCleanup(shutil.rmtree, runtime, True)
        p = self.ctl_as(self.group.gr_gid, [], "ping",
                        env={"XDG_RUNTIME_DIR": runtime})
        self.assertEqual(p.returncode, 0, p.stderr)
        # With a daemon of the user's own, that one is used.
        os.mkdir(os.path.join(runtime, "microlight"))
        listening_unix(os.path.join(runtime, "microlight",
                                    "microlightd.sock")).close()
        p = self.ctl_as(self.group.gr_gid, [], "ping",
                        env={"XDG_RUNTIME_DIR": runtime})
        self.assertEqual(p.returncode, EX_UNAVAILABLE, p.stderr)
        self.assertIn(runtime.encode(), p.stderr)


class Syslog(ScratchTest):
    """In the background the daemon logs to syslog, as microlightd[PID]
    with facility daemon, and every line about a run names the task and
    the run id. /dev/log is replaced in a private mount namespace (root
    only)."""

    START = False
    TASKS = {"hello.sh": "#!/bin/sh\n# Say hello.\necho hello\n",
             "fails.sh": "#!/bin/sh\n# Fail.\nexit 3\n"}

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("a private /dev/log needs root")
        why = unshare_problem("-m")
        if why is not None:
            self.skipTest("a private /dev/log needs a mount namespace: "
                          + why)
        self.log_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.log_sock.close)
        self.log_path = os.path.join(self.scratch, "log")
        self.log_sock.bind(self.log_path)
        for d in ("up", "work"):
            os.mkdir(os.path.join(self.scratch, d))
        with open(os.path.join(self.scratch, "up", "log"), "w"):
            pass
        self.pidfile = os.path.join(self.scratch, "microlightd.pid")

    def start_background(self):
        cmd = self.d.command(["-p", self.pidfile])
        cmd.remove("-f")
        script = ('mount --make-rprivate / && '
                  'mount -t overlay overlay -o lowerdir=/dev,upperdir=%s/up,'
                  'workdir=%s/work /dev && mount --bind %s /dev/log && '
                  'exec "$@"' % (self.scratch, self.scratch, self.log_path))
        p = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh"] + cmd,
                           capture_output=True, env=self.d.env, timeout=30,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0 and b"mount" in p.stderr:
            self.skipTest("cannot set up /dev/log: %r" % p.stderr)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.pidfile) as f:
            pid = int(f.read())
        self.addCleanup(self.stop_background, pid)
        return pid

    def stop_background(self, pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        wait_for(lambda: not pid_alive(pid), timeout=30,
                 what="microlightd to exit")

    def lines(self, until, timeout=20):
        """Syslog datagrams (priority, text) up to one containing until."""
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.log_sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data = self.log_sock.recv(8192).decode()
            except socket.timeout:
                break
            m = re.match(r"<(\d+)>(.*)", data, re.S)
            self.assertIsNotNone(m, data)
            got.append((int(m.group(1)), m.group(2)))
            if until in data:
                return got
        self.fail("no %r in %r" % (until, got))

    def test_run_lines_name_task_and_run(self):
        pid = self.start_background()
        got = self.lines("ready")
        self.d.ctl("ping", check=0)
        ok = self.d.run("hello")
        bad = self.d.run("fails")
        self.assertEqual(ok["status"], "succeeded")
        self.assertEqual(bad["status"], "failed")
        got += self.lines("fails[%d]: failed" % bad["id"])
        os.kill(pid, signal.SIGTERM)
        got += self.lines("exiting")
        daemon_facility = 3
        for pri, text in got:
            self.assertEqual(pri >> 3, daemon_facility, text)
            self.assertIn("microlightd[%d]: " % pid, text)
            # Every line about a run says which task and which run.
            for task, run in (("hello", ok["id"]), ("fails", bad["id"])):
                if task in text:
                    self.assertIn("%s[%d]" % (task, run), text)
        texts = "\n".join(t for _, t in got)
        self.assertIn("hello[%d]: started by uid=0(root) (cli)" % ok["id"],
                      texts)
        self.assertIn("hello[%d]: succeeded" % ok["id"], texts)
        self.assertIn("fails[%d]: failed: exit code 3" % bad["id"], texts)
        # Nothing went to the terminal: the daemon left it.
        self.assertEqual(self.d.log_text(), "")


class NewTaskAtOnce(ScratchTest):
    """tasks.d is watched with a moment of quiet time before a rescan, but
    a request made after a change sees it: a task written and made
    executable just before `microlightctl run` runs (as the README's
    install section does)."""

    TASKS = {"hello.sh": "#!/bin/sh\n# Say hello.\necho hello\n"}

    def test_written_then_run(self):
        for i in range(5):
            path = os.path.join(self.d.tasks_dir, "new%d" % i)
            with open(path, "w") as f:
                f.write("#!/bin/sh\n# New.\necho new %d\n" % i)
            os.chmod(path, 0o755)
            run = self.d.run("new%d" % i)
            self.assertEqual(run["status"], "succeeded", run)
            self.assertEqual(self.d.logs(run["id"]), b"new %d\n" % i)

    def test_removed_then_gone(self):
        self.d.remove_task("hello.sh")
        p = self.d.ctl("run", "hello", check=EX_DATAERR)
        self.assertIn(b"no task named 'hello'", p.stderr)


class Titles(ScratchTest):
    """ps shows what each process is: the daemon with its tasks and
    runs, the launcher, spare supervisors, and each run's supervisor with
    the task and run id."""

    START = False
    TASKS = {"slow.sh": SLOW_TASK}
    SHIFTED_CLOCK = True    # the daemon's title is refreshed every 5 s

    @staticmethod
    def cmdline(pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return f.read().replace(b"\0", b" ").decode().strip()
        except (FileNotFoundError, ProcessLookupError):
            return None

    @staticmethod
    def children(pid):
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return []

    def test_titles(self):
        self.d.start()
        pid = self.d.proc.pid
        self.assertEqual(self.cmdline(pid),
                         "microlightd: 1 tasks (0 invalid), 0 runs running, "
                         "0 queued")
        pool = wait_for(lambda: [c for c in self.children(pid)
                                 if (self.cmdline(c) or "").startswith(
                                     "microlight-pool: ")],
                        what="the launcher")[0]
        spares = wait_for(lambda: [c for c in self.children(pool) if
                                   self.cmdline(c) ==
                                   "microlight-run: spare supervisor"],
                          what="a spare supervisor")
        self.assertTrue(spares)
        run_id = self.d.run("slow", wait=False)
        title = "microlight-run: slow[%d]" % run_id
        sup = wait_for(lambda: [c for c in self.children(pool)
                                if self.cmdline(c) == title],
                       what="the run's supervisor titled %r" % title)
        self.assertEqual(len(sup), 1)
        # The daemon's title follows (it is refreshed every 5 s, which
        # pass at once on its clocks).
        self.d.wait_for(lambda: "1 runs running" in self.cmdline(pid),
                        timeout=10, advance=0.5,
                        what="the daemon's title to count the run")
        self.go(run_id)
        self.assertEqual(self.d.wait_status(run_id, "succeeded")["status"],
                         "succeeded")


if __name__ == "__main__":
    main()
