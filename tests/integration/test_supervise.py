#!/usr/bin/env python3
"""The run's supervisor and process hygiene (SPEC section 2, "Environment
of a run"; section 3 statuses; section 5 exit statuses): a clean
environment, stdin, descriptors, signals, sessions, timeouts, cancel, kill
grace, leftovers, exit codes and signals, working directory, and the
max-running queue."""

import datetime
import pwd

from harness import *

# Started between microlightd and the test, as a careless init script
# might: an ignored signal, blocked signals and a stray descriptor (9), all
# of which a task must not inherit.
HOSTILE_WRAPPER = """\
import os, signal, sys
signal.signal(signal.SIGUSR2, signal.SIG_IGN)
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGWINCH})
fd = os.open("/dev/null", os.O_RDONLY)
os.dup2(fd, 9)
os.execv(sys.argv[1], sys.argv[1:])
"""


def parse_environ(data):
    """NAME=VALUE\\0... as a dict (values may hold newlines)."""
    env = {}
    for entry in data.split(b"\0"):
        if entry:
            k, _, v = entry.partition(b"=")
            env[k.decode()] = v.decode()
    return env


def parse_stat(line):
    """pid, ppid, pgrp, session from a /proc/PID/stat line."""
    pid = int(line.split(b" ", 1)[0])
    rest = line.rsplit(b")", 1)[1].split()
    return pid, int(rest[1]), int(rest[2]), int(rest[3])


def values(text, key):
    """Every integer after "key=" in a run's output."""
    return [int(v) for v in re.findall(rb"\b%s=(\d+)" % key.encode(), text)]


def me():
    uid = os.getuid()
    return "uid=%d(%s)" % (uid, pwd.getpwuid(uid).pw_name)


class HostileDaemon(Daemon):
    def command(self, extra=()):
        return [sys.executable, "-c", HOSTILE_WRAPPER] + \
            super().command(extra)


class SuperviseTest(ScratchTest):
    """ScratchTest with checks on processes and durations."""

    def assert_gone(self, pids, what):
        for pid in pids:
            wait_for(lambda: not pid_alive(pid), timeout=10,
                     what="%s (pid %d) to be gone" % (what, pid))

    @staticmethod
    def duration(run):
        """finished_at - started_at in seconds."""
        def t(s):
            return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
        return (t(run["finished_at"]) - t(run["started_at"])).total_seconds()


# Environment, stdin, descriptors, signals, session ---------------------

# A task's lines that print its own blocked and ignored signals, read by
# the shell itself: dash blocks every signal for a moment while it forks a
# command, so a "grep ... /proc/$$/status" may catch that instead.
SIGNAL_STATE = """\
while IFS= read -r line; do
	case $line in
	SigBlk:*|SigIgn:*) printf '%s\\n' "$line" ;;
	esac
done < /proc/$$/status
"""

ENV_TASK = """\
    #!/bin/sh
    # Dump the environment this process was started with.
    # @env FOO=bar
    # @env URL=http://example.com/?a=b&c=d
    # @param who "Who" default=nobody
    cat /proc/$$/environ
    """


# The daemon's PATH in the environment tests (what the task must get).
TEST_PATH = "/nonexistent/ml-test/bin:/usr/local/bin:/usr/bin:/bin"


class Environment(SuperviseTest):
    START = False
    TASKS = {"env.sh": ENV_TASK}

    def run_env(self, *params):
        run = self.d.run("env", *params, check=0)
        self.assertEqual(run["status"], "succeeded", run)
        return run, parse_environ(self.d.logs(run["id"]))

    def test_environment_is_clean(self):
        self.d.env.update({"SECRET_TOKEN": "x", "USER": "mltester",
                           "HOME": self.scratch, "PATH": TEST_PATH,
                           "NOTIFY_SOCKET": os.path.join(self.scratch,
                                                         "notify"),
                           "LANG": "C.UTF-8", "TZ": "UTC",
                           "HTTP_PROXY": "http://proxy.invalid:3128",
                           "LD_LIBRARY_PATH": "/nonexistent/lib"})
        self.d.start()
        run, env = self.run_env("who=alice")
        expected = {
            "PATH": TEST_PATH,
            "HOME": self.scratch,
            "USER": "mltester",
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "FOO": "bar",
            "URL": "http://example.com/?a=b&c=d",
            "who": "alice",
            "MICROLIGHT_RUN_ID": str(run["id"]),
            "MICROLIGHT_TASK": "env",
            "MICROLIGHT_TRIGGER": "cli",
            "MICROLIGHT_TRIGGERED_BY": me(),
            "MICROLIGHT_ATTEMPT": "1",
        }
        self.assertEqual(sorted(env), sorted(expected))
        self.assertEqual(env, expected)
        self.assertEqual(run["triggered_by"], me())

    def test_no_lang_tz_user_when_the_daemon_has_none(self):
        for k in ("LANG", "TZ", "USER", "LC_ALL", "LC_CTYPE", "LANGUAGE"):
            self.d.env.pop(k, None)
        self.d.env.update({"SECRET_TOKEN": "x", "HOME": self.scratch,
                           "PATH": TEST_PATH})
        self.d.start()
        run, env = self.run_env()
        self.assertEqual(env["HOME"], self.scratch)
        self.assertEqual(env["PATH"], TEST_PATH)
        self.assertNotIn("LANG", env)
        self.assertNotIn("TZ", env)
        # USER may be filled in from the account, never made up.
        if "USER" in env:
            self.assertEqual(env["USER"], pwd.getpwuid(os.getuid()).pw_name)
        names = set(env) - {"USER"}
        self.assertEqual(names, {
            "PATH", "HOME", "FOO", "URL", "who", "MICROLIGHT_RUN_ID",
            "MICROLIGHT_TASK", "MICROLIGHT_TRIGGER",
            "MICROLIGHT_TRIGGERED_BY", "MICROLIGHT_ATTEMPT"})
        self.assertEqual(env["who"], "nobody")


class Parameters(SuperviseTest):
    TASKS = {
        "params.sh": """\
            #!/bin/sh
            # Parameters of every type.
            # @param s "Free text"
            # @param t "Dashes"
            # @param u "Equals"
            # @param n int "A number"
            # @param b bool "Yes"
            # @param c bool "No"
            # @param d bool "Unset"
            cat /proc/$$/environ
            """,
    }

    NASTY = ("$(touch pwned-subst) `touch pwned-backtick` 'single' "
             "\"double\" ; touch pwned-semi | cat && x || y > pwned-redir "
             "< /etc/passwd & bg\nsecond line\twith a tab  *?[a-z] ~ $HOME "
             "\\ ${IFS} end\n")

    def test_parameters_arrive_verbatim(self):
        run = self.d.run("params", "s=" + self.NASTY, "t=--help -n -e",
                         "u=a=b=c", "n=+007", "b=yes", "c=off", check=0)
        self.assertEqual(run["status"], "succeeded", run)
        env = parse_environ(self.d.logs(run["id"]))
        self.assertEqual(env["s"], self.NASTY)
        self.assertEqual(env["t"], "--help -n -e")
        self.assertEqual(env["u"], "a=b=c")
        self.assertEqual(env["n"], "7")
        self.assertEqual(env["b"], "true")
        self.assertEqual(env["c"], "false")
        self.assertEqual(env["d"], "false")
        self.assertEqual(run["params"], {
            "s": self.NASTY, "t": "--help -n -e", "u": "a=b=c", "n": "7",
            "b": "true", "c": "false", "d": "false"})
        for where in (self.d.tasks_dir, self.d.dir, self.scratch, "/"):
            for name in ("pwned-subst", "pwned-backtick", "pwned-semi",
                         "pwned-redir"):
                self.assertFalse(os.path.exists(os.path.join(where, name)),
                                 "a parameter went through a shell")


class Hygiene(SuperviseTest):
    DAEMON = HostileDaemon
    TASKS = {
        "stdin.sh": """\
            #!/bin/sh
            # What is stdin?
            # @timeout 20s
            echo "fd0=$(readlink /proc/$$/fd/0)"
            if IFS= read -r line; then echo "read=line"; else echo "read=eof"; fi
            echo "bytes=$(wc -c)"
            """,
        "fds.py": """\
            #!@PYTHON@
            # Which descriptors are open (fstat opens none itself)?
            import os, resource
            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            for fd in range(min(soft, 1 << 16)):
                try:
                    os.fstat(fd)
                except OSError:
                    continue
                try:
                    target = os.readlink("/proc/self/fd/%d" % fd)
                except OSError:
                    target = "?"
                print("%d %s" % (fd, target))
            """,
        "fds-child.sh": """\
            #!/bin/sh
            # A process started by the script lists its descriptors.
            ls /proc/self/fd
            """,
        "signals.sh": "#!/bin/sh\n# The script's own signal state.\n" +
                      SIGNAL_STATE,
        "session.sh": """\
            #!/bin/sh
            # The script's own ids.
            cat /proc/$$/stat
            """,
    }

    def test_stdin_is_dev_null(self):
        run = self.d.run("stdin", check=0)
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(self.d.logs(run["id"]),
                         b"fd0=/dev/null\nread=eof\nbytes=0\n")

    def test_no_descriptor_leaks(self):
        # The daemon holds, besides its own, a stray descriptor 9.
        self.assertTrue(os.path.exists("/proc/%d/fd/9" % self.d.proc.pid))
        run = self.d.run("fds", check=0)
        self.assertEqual(run["status"], "succeeded", run)
        out = self.d.logs(run["id"]).decode()
        fds = {int(line.split(" ", 1)[0]): line.split(" ", 1)[1]
               for line in out.splitlines()}
        self.assertEqual(sorted(fds), [0, 1, 2], out)
        self.assertEqual(fds[0], "/dev/null")
        self.assertTrue(fds[1].startswith("pipe:"), out)
        self.assertTrue(fds[2].startswith("pipe:"), out)

    def test_no_descriptor_leaks_into_grandchildren(self):
        run = self.d.run("fds-child", check=0)
        self.assertEqual(run["status"], "succeeded", run)
        fds = sorted(int(x) for x in self.d.logs(run["id"]).split())
        # 3 is ls's own handle on the directory it lists.
        self.assertEqual(fds, [0, 1, 2, 3])

    def test_default_signal_dispositions_and_mask(self):
        # The daemon itself runs with SIGUSR2 and SIGPIPE ignored and
        # SIGUSR1 and SIGWINCH blocked (HOSTILE_WRAPPER).
        with open("/proc/%d/status" % self.d.proc.pid) as f:
            daemon = dict(line.split(":\t", 1) for line in f
                          if line.startswith("Sig"))
        self.assertNotEqual(int(daemon["SigIgn"], 16), 0)
        run = self.d.run("signals", check=0)
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(self.d.logs(run["id"]),
                         b"SigBlk:\t0000000000000000\n"
                         b"SigIgn:\t0000000000000000\n")

    def test_own_session_and_process_group(self):
        run = self.d.run("session", check=0)
        self.assertEqual(run["status"], "succeeded", run)
        pid, ppid, pgrp, sid = parse_stat(self.d.logs(run["id"]))
        self.assertEqual(pgrp, pid)
        self.assertEqual(sid, pid)
        self.assertNotEqual(sid, os.getsid(self.d.proc.pid))
        self.assertNotEqual(pgrp, os.getpgid(self.d.proc.pid))


# Timeout, cancel, kill grace, leftovers -----------------------------

SPAWNER = """\
    #!/bin/sh
    # Starts a grandchild in a session of its own and a plain one, then waits.
    # @timeout {timeout}
    setsid sh -c 'echo "escaped=$$ sid=$(cut -d" " -f6 /proc/$$/stat)"; exec sleep 300' &
    sleep 300 &
    echo "plain=$! main=$$"
    sleep 300
    """


class Termination(SuperviseTest):
    CONFIG = "kill-grace 1s\n"
    TASKS = {
        "spawner-timeout.sh": SPAWNER.replace("{timeout}", "2s"),
        "spawner.sh": SPAWNER.replace("{timeout}", "0"),
        "stubborn.sh": """\
            #!/bin/sh
            # Ignores SIGTERM (and so does its sleep).
            # @timeout 1s
            trap '' TERM
            echo ready
            sleep 60
            """,
    }

    def spawned(self, run_id):
        out = self.d.logs(run_id)
        escaped, plain = values(out, "escaped"), values(out, "plain")
        if escaped and plain:
            return out, escaped[0], plain[0], values(out, "sid")[0]
        return None

    def test_timeout_kills_everything(self):
        started = time.monotonic()
        p = self.d.ctl("run", "spawner-timeout", "--wait")
        elapsed = time.monotonic() - started
        self.assertEqual(p.returncode, 124, p.stderr)
        self.assertLess(elapsed, 30)
        run_id = int(p.stdout.split(b"\n", 1)[0])
        run = self.d.status(run_id)
        self.assertEqual(run["status"], "timed_out", run)
        got = self.spawned(run_id)
        self.assertIsNotNone(got, self.d.logs(run_id))
        out, escaped, plain, sid = got
        main = values(out, "main")[0]
        # The escaped grandchild really left the run's session.
        self.assertEqual(sid, escaped)
        self.assertNotEqual(sid, main)
        self.assert_gone([escaped, plain, main], "a process of the run")

    def test_cancel_kills_everything(self):
        p = self.popen_ctl("run", "spawner", "--wait")
        line = p.stdout.readline()
        self.assertRegex(line, rb"^\d+\n$")
        run_id = int(line)
        out, escaped, plain, sid = wait_for(
            lambda: self.spawned(run_id), timeout=20,
            what="the run to report its processes")
        self.assertTrue(pid_alive(escaped) and pid_alive(plain))
        self.assertEqual(self.d.status(run_id)["status"], "running")
        self.d.ctl("cancel", run_id, check=0)
        self.assertEqual(p.wait(30), 130)
        run = self.d.status(run_id)
        self.assertEqual(run["status"], "cancelled", run)
        self.assertIn("uid=%d" % os.getuid(), run["reason"] or "")
        self.assert_gone([escaped, plain, values(out, "main")[0]],
                         "a process of the run")

    def test_sigkill_after_kill_grace(self):
        started = time.monotonic()
        p = self.d.ctl("run", "stubborn", "--wait")
        elapsed = time.monotonic() - started
        self.assertEqual(p.returncode, 124, p.stderr)
        # Not the task's own 60 s: SIGKILL after the 1 s grace.
        self.assertLess(elapsed, 20)
        run = self.d.status(int(p.stdout.split(b"\n", 1)[0]))
        self.assertEqual(run["status"], "timed_out", run)
        # SIGTERM at 1 s was ignored; the grace was waited out.
        self.assertGreaterEqual(self.duration(run), 1.5, run)


class StoppedProcesses(SuperviseTest):
    CONFIG = "kill-grace 60s\n"
    TASKS = {
        "frozen.sh": """\
            #!/bin/sh
            # A stopped child: SIGTERM alone would wait for a SIGCONT.
            sleep 300 &
            kill -STOP $!
            echo "stopped=$!"
            sleep 300
            """,
    }

    def test_cancel_wakes_stopped_processes(self):
        run_id = self.d.run("frozen", wait=False)
        pid = wait_for(lambda: values(self.d.logs(run_id), "stopped"),
                       timeout=20, what="the stopped child's pid")[0]
        wait_for(lambda: open("/proc/%d/stat" % pid).read()
                 .rsplit(")", 1)[1].split()[0] == "T", timeout=10,
                 what="the child to be stopped")
        started = time.monotonic()
        self.d.ctl("cancel", run_id, check=0)
        run = self.d.wait_status(run_id, ("cancelled", "failed",
                                          "succeeded", "timed_out"),
                                 timeout=60)
        # SIGTERM then SIGCONT: no need to wait for the 60 s grace.
        self.assertLess(time.monotonic() - started, 20)
        self.assertEqual(run["status"], "cancelled", run)
        self.assert_gone([pid], "the stopped child")


class Leftovers(SuperviseTest):
    CONFIG = "kill-grace 2s\n"
    TASKS = {
        "leave.sh": """\
            #!/bin/sh
            # Leaves two processes behind and exits at once.
            d=$(mktemp -d)
            sh -c 'trap "echo leftover-got-term; exit 0" TERM
                   echo "trapper=$$"; : > "$1/ready"; sleep 300 & wait' sh "$d" &
            sleep 300 &
            echo "plain=$!"
            n=0
            while [ ! -e "$d/ready" ]; do
                n=$((n + 1)); [ "$n" -lt 600 ] || exit 98; sleep 0.05
            done
            rm -rf "$d"
            echo main-done
            exit 0
            """,
        "leave-stubborn.sh": """\
            #!/bin/sh
            # Leaves a process behind that ignores SIGTERM.
            d=$(mktemp -d)
            sh -c 'trap "" TERM; echo "stubborn=$$"; : > "$1/ready"
                   exec sleep 300' sh "$d" &
            n=0
            while [ ! -e "$d/ready" ]; do
                n=$((n + 1)); [ "$n" -lt 600 ] || exit 98; sleep 0.05
            done
            rm -rf "$d"
            exit 0
            """,
    }

    def test_leftovers_are_killed_and_their_output_kept(self):
        started = time.monotonic()
        run = self.d.run("leave", check=0)
        elapsed = time.monotonic() - started
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(run["exit_code"], 0)
        self.assertLess(elapsed, 15, "the run's end waited on a leftover")
        out = self.d.logs(run["id"])
        self.assertIn(b"main-done\n", out)
        pids = values(out, "trapper") + values(out, "plain")
        self.assertEqual(len(pids), 2, out)
        self.assert_gone(pids, "a leftover")
        # The run ended when its main process did; what the leftover wrote
        # while being killed is added to its output afterwards.
        wait_for(lambda: b"leftover-got-term\n" in self.d.logs(run["id"]),
                 timeout=15, what="the leftover's last words in the log")
        self.assertEqual(self.d.status(run["id"])["output_size"],
                         len(self.d.logs(run["id"])))

    def test_leftover_ignoring_sigterm_is_killed_after_grace(self):
        started = time.monotonic()
        run = self.d.run("leave-stubborn", check=0)
        elapsed = time.monotonic() - started
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(run["exit_code"], 0)
        # kill-grace is 2 s; the leftover's sleep is 300 s.
        self.assertLess(elapsed, 20)
        pids = values(self.d.logs(run["id"]), "stubborn")
        self.assertEqual(len(pids), 1)
        self.assert_gone(pids, "the leftover")


# Exit statuses ------------------------------------------------------

class ExitStatus(SuperviseTest):
    TASKS = {
        "three.sh": "#!/bin/sh\n# Exit 3.\nexit 3\n",
        "killed.sh": "#!/bin/sh\n# SIGKILL.\nkill -KILL $$\nsleep 5\n",
        "termed.sh": "#!/bin/sh\n# SIGTERM.\nkill -TERM $$\nsleep 5\n",
        "broken.sh": "#!/nonexistent/interpreter\n# Cannot run.\necho hi\n",
    }

    def test_exit_code(self):
        run = self.d.run("three", check=3)
        self.assertEqual(run["status"], "failed")
        self.assertEqual(run["exit_code"], 3)
        self.assertIsNone(run["signal"])

    def test_killed_by_sigkill(self):
        run = self.d.run("killed", check=137)
        self.assertEqual(run["status"], "failed")
        self.assertIsNone(run["exit_code"])
        self.assertEqual(run["signal"], 9)

    def test_killed_by_sigterm(self):
        run = self.d.run("termed", check=143)
        self.assertEqual(run["status"], "failed")
        self.assertIsNone(run["exit_code"])
        self.assertEqual(run["signal"], 15)

    def test_cannot_execute(self):
        p = self.d.ctl("run", "broken", "--wait")
        self.assertNotEqual(p.returncode, 0)
        run = self.d.status(int(p.stdout.split(b"\n", 1)[0]))
        self.assertEqual(run["status"], "failed", run)
        self.assertRegex(run["reason"] or "", r"(?i)cannot exec")
        self.assertIsNone(run["exit_code"])
        self.assertIsNone(run["signal"])


# Working directory and @env -----------------------------------------

class Workdir(SuperviseTest):
    TASKS = {
        "here.sh": "#!/bin/sh\n# Where am I?\npwd -P\n",
        "abs.sh": "#!/bin/sh\n# Absolute.\n# @workdir @SCRATCH@\npwd -P\n",
        "rel.sh": "#!/bin/sh\n# Relative.\n# @workdir ../rel\npwd -P\n",
        "withenv.sh": """\
            #!/bin/sh
            # Extra environment.
            # @env GREETING=hello
            # @env PAIR=a=b
            printf '%s|%s|%s\\n' "$GREETING" "$PAIR" "$MICROLIGHT_TASK"
            """,
        "restofline.sh": """\
            #!/bin/sh
            # Values with blanks and quotes.
            # @env GREETING=hello  world
            # @env QUOTED="  padded  "
            # @env SAY=say "hi" now
            printf '[%s][%s][%s]\\n' "$GREETING" "$QUOTED" "$SAY"
            """,
    }

    def pwd(self, task):
        run = self.d.run(task, check=0)
        self.assertEqual(run["status"], "succeeded", run)
        return self.d.logs(run["id"]).decode().rstrip("\n")

    def test_default_workdir_is_the_tasks_directory(self):
        self.assertEqual(self.pwd("here"), os.path.realpath(self.d.tasks_dir))

    def test_absolute_workdir(self):
        self.assertEqual(self.pwd("abs"), os.path.realpath(self.scratch))

    def test_relative_workdir_is_relative_to_tasks_d(self):
        os.mkdir(os.path.join(self.d.dir, "rel"))
        self.assertEqual(self.pwd("rel"),
                         os.path.realpath(os.path.join(self.d.dir, "rel")))

    def test_env_directive(self):
        run = self.d.run("withenv", check=0)
        self.assertEqual(self.d.logs(run["id"]), b"hello|a=b|withenv\n")

    def test_env_takes_the_rest_of_the_line(self):
        run = self.d.run("restofline", check=0)
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(self.d.logs(run["id"]),
                         b'[hello  world][  padded  ][say "hi" now]\n')


# max-running --------------------------------------------------------

class MaxRunning(SuperviseTest):
    CONFIG = "kill-grace 2s\nmax-running 1\n"
    TASKS = {
        "slow.sh": """\
            #!/bin/sh
            # Runs until the test lets it end.
            @SH_GATE@
            gate 1
            """,
    }

    def test_runs_wait_in_fifo_order(self):
        ids = [self.d.run("slow", wait=False) for _ in range(3)]
        self.assertEqual(ids, sorted(ids))
        self.d.wait_status(ids[0], "running")
        self.assertEqual(self.d.status(ids[1])["status"], "queued")
        self.assertEqual(self.d.status(ids[2])["status"], "queued")
        self.assertIsNone(self.d.status(ids[1])["started_at"])

        listing = self.d.ctl("runs", check=0).stdout.decode()
        rows = {int(line.split()[0]): line for line in listing.splitlines()
                if line.split() and line.split()[0].isdigit()}
        self.assertIn("running", rows[ids[0]])
        self.assertIn("queued", rows[ids[1]])
        self.assertIn("queued", rows[ids[2]])

        self.go(ids[0])
        self.d.wait_status(ids[0], "succeeded")
        self.d.wait_status(ids[1], "running")
        self.assertEqual(self.d.status(ids[2])["status"], "queued")
        self.go(ids[1])
        self.go(ids[2])
        runs = [self.d.wait_status(i, ("succeeded", "failed")) for i in ids]
        for run in runs:
            self.assertEqual(run["status"], "succeeded", run)
        for prev, run in zip(runs, runs[1:]):
            self.assertGreater(run["started_at"], prev["started_at"])
            self.assertGreaterEqual(run["started_at"], prev["finished_at"])


# The launcher and the supervisors ------------------------------------

def children(pid):
    """The pids whose parent is pid."""
    kids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(name))
    return kids


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


class Launcher(SuperviseTest):
    """The daemon forks supervisors through its launcher; killing any of
    these helpers loses no run and leaves no process behind."""

    CONFIG = "kill-grace 1s\n"
    TASKS = {
        "hello.sh": "#!/bin/sh\n# Hello.\necho hello\n",
        "spawner.sh": SPAWNER.replace("{timeout}", "0"),
    }

    def launcher(self):
        kids = [k for k in children(self.d.proc.pid)
                if comm(k) == "microlight-pool"]
        return kids[0] if len(kids) == 1 else None

    def test_helpers_have_their_own_names(self):
        # "pkill -x microlightd" must hit the daemon alone.
        pool = wait_for(self.launcher, what="the launcher")
        spares = wait_for(lambda: children(pool), what="spare supervisors")
        for pid in spares:
            # A spare caught between fork and prctl still carries the
            # launcher's name; it is never the daemon's.
            self.assertNotEqual(comm(pid), "microlightd")
            wait_for(lambda: comm(pid) in ("microlight-run", None),
                     what="the spare to take its name")
        self.assertEqual(comm(self.d.proc.pid), "microlightd")

    def test_runs_survive_a_killed_launcher(self):
        pool = wait_for(self.launcher, what="the launcher")
        self.assertEqual(self.d.run("hello")["status"], "succeeded")
        os.kill(pool, signal.SIGKILL)
        wait_for(lambda: not pid_alive(pool), what="the launcher to die")
        for _ in range(5):
            run = self.d.run("hello")
            self.assertEqual(run["status"], "succeeded", run)
            self.assertEqual(self.d.logs(run["id"]), b"hello\n")
        # A new launcher takes over.
        new = wait_for(self.launcher, what="a new launcher")
        self.assertNotEqual(new, pool)

    def test_runs_survive_killed_spares(self):
        pool = wait_for(self.launcher, what="the launcher")
        spares = wait_for(lambda: children(pool), what="spare supervisors")
        for pid in spares:
            os.kill(pid, signal.SIGKILL)
        # kill() returns before the spare is dead: a job written in that
        # moment reaches a living pipe, and the run it carries fails as
        # a supervisor that died under it. A spare the daemon finds dead
        # must cost no run, so wait until each one is dead.
        wait_for(lambda: not any(pid_alive(pid) for pid in spares),
                 what="the killed spares to die")
        for _ in range(4):
            run = self.d.run("hello")
            self.assertEqual(run["status"], "succeeded", run)

    def test_killed_supervisor_fails_the_run_and_kills_its_processes(self):
        p = self.popen_ctl("run", "spawner", "--wait")
        run_id = int(p.stdout.readline())
        out = wait_for(lambda: (lambda o: o if values(o, "escaped") and
                                values(o, "plain") else None)(
                                    self.d.logs(run_id)),
                       timeout=20, what="the run to report its processes")
        pids = values(out, "escaped") + values(out, "plain") + \
            values(out, "main")
        pool = self.launcher()
        sup = [k for k in children(pool) if
               values(out, "main")[0] in children(k)]
        self.assertEqual(len(sup), 1, "the run's supervisor")
        os.kill(sup[0], signal.SIGKILL)
        self.assertEqual(p.wait(30), 1)
        run = self.d.status(run_id)
        self.assertEqual(run["status"], "failed", run)
        self.assertIn("supervisor", run["reason"])
        self.assert_gone(pids, "a process of the run")
        self.assertEqual(self.d.run("hello")["status"], "succeeded")


class Reuse(SuperviseTest):
    """A supervisor whose run is over takes the next run (spawn.c): the
    next run sees nothing of the last one, and the spares kept beyond the
    usual two go once they have idled."""

    SHIFTED_CLOCK = True
    CONFIG = "max-running 12\n"
    TASKS = {
        # Who supervises it, what it holds, what it inherited.
        "probe.sh": textwrap.dedent("""\
            #!/bin/sh
            # Report the supervisor, descriptors, signals and environment.
            # @param word "Word" default=none
            """) + SIGNAL_STATE + textwrap.dedent("""\
            echo "ppid=$(cut -d' ' -f4 /proc/$$/stat)"
            echo "fds=$(ls /proc/self/fd | sort -n | tr '\\n' ' ')"
            echo "word=$word"
            echo "stdin=$(head -c 100)"
            """),
        # Leaves a process of its own session behind, then ends.
        "leaver.sh": """\
            #!/bin/sh
            # Start a process that outlives the script.
            setsid sleep 300 &
            echo "left=$!"
            """,
        "gated.sh": "#!/bin/sh\n# Wait for a gate.\n"
                    "# @concurrency 12\n"
                    "while [ ! -e @SCRATCH@/go-$MICROLIGHT_RUN_ID-1 ]; do "
                    "sleep 0.05; done\n",
    }

    def probe(self, *params):
        run = self.d.run("probe", *params, check=0)
        self.assertEqual(run["status"], "succeeded", run)
        out = self.d.logs(run["id"]).decode()
        return dict(line.split("=", 1) if "=" in line else
                    line.split(":\t", 1) for line in out.splitlines())

    def test_successive_runs_share_a_supervisor_and_nothing_else(self):
        runs = [self.probe("word=first"), self.probe(),
                self.probe("word=third"), self.probe()]
        # One supervisor served more than one of the four runs: no fork.
        ppids = [r["ppid"] for r in runs]
        self.assertLess(len(set(ppids)), len(ppids), ppids)
        for r in runs:
            self.assertEqual(r["fds"].split(), ["0", "1", "2", "3"], r)
            self.assertEqual(r["SigBlk"], "0000000000000000", r)
            self.assertEqual(r["SigIgn"], "0000000000000000", r)
        self.assertEqual([r["word"] for r in runs],
                         ["first", "none", "third", "none"])
        self.assertEqual([r["stdin"] for r in runs], [""] * 4)

    def test_what_a_run_leaves_is_gone_before_the_next_starts(self):
        first = self.d.run("leaver", check=0)
        self.assertEqual(first["status"], "succeeded", first)
        left = values(self.d.logs(first["id"]), "left")[0]
        # The supervisor kills it (SIGTERM, then SIGKILL after kill-grace)
        # before it says the run is done; only then may it serve again.
        self.d.wait_for(lambda: not pid_alive(left), timeout=30,
                        what="the leftover to be killed")
        for _ in range(3):
            r = self.probe()
            self.assertNotEqual(r["ppid"], str(left))

    def test_spares_beyond_two_go_after_idling(self):
        pool = wait_for(lambda: (lambda k: k[0] if len(k) == 1 else None)(
            [k for k in children(self.d.proc.pid)
             if comm(k) == "microlight-pool"]), what="the launcher")
        # Twelve runs at once: twelve supervisors, all kept when they end
        # (as many as max-running; there was a cap of 8).
        ids = [self.d.run("gated", wait=False) for _ in range(12)]
        for i in ids:
            self.d.wait_status(i, "running")
        for i in ids:
            self.go(i)
        for i in ids:
            self.assertEqual(self.d.wait_status(i, ("succeeded", "failed"))
                             ["status"], "succeeded")
        wait_for(lambda: len(children(pool)) >= 12,
                 what="the supervisors kept as spares")
        # Ten seconds of the daemon's time without a run: two remain.
        self.d.wait_for(lambda: len(children(pool)) == 2, timeout=30,
                        what="the extra spares to go")
        self.assertEqual(self.probe()["word"], "none")


# @user ---------------------------------------------------------------

USER_TASK = """\
    #!/bin/sh
    # Who am I?
    # @user nobody
    echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"
    echo "HOME=$HOME USER=$USER"
    """


class User(SuperviseTest):
    TASKS = {
        "as-nobody.sh": USER_TASK,
        "as-ghost.sh": "#!/bin/sh\n# Nobody knows.\n# @user no-such-user-ml\n"
                       "echo hi\n",
    }

    def test_unknown_user_is_a_task_error(self):
        task = self.d.request({"cmd": "show", "task": "as-ghost"})["task"]
        self.assertFalse(task["valid"])
        self.assertIn("unknown user 'no-such-user-ml'", task["error"])
        self.d.ctl("run", "as-ghost", check=EX_DATAERR)

    def test_runs_as_the_user(self):
        task = self.d.request({"cmd": "show", "task": "as-nobody"})["task"]
        if os.geteuid() != 0:
            # Only root can switch users: the task says so.
            self.assertFalse(task["valid"])
            self.assertIn("needs microlightd to run as root", task["error"])
            return
        self.assertTrue(task["valid"], task)
        import pwd
        pw = pwd.getpwnam("nobody")
        run = self.d.run("as-nobody", check=0)
        self.assertEqual(run["status"], "succeeded", run)
        out = self.d.logs(run["id"]).decode()
        groups = sorted(os.getgrouplist("nobody", pw.pw_gid))
        self.assertEqual(out, "uid=%d gid=%d groups=%s\nHOME=%s USER=nobody\n"
                         % (pw.pw_uid, pw.pw_gid,
                            " ".join(map(str, groups)), pw.pw_dir))


if __name__ == "__main__":
    main()
