"""Test harness: a real microlightd in a temporary directory, driven by the
real microlightctl and by raw socket clients. Tests print TAP.

Every test file does `from harness import *` and ends with
`if __name__ == "__main__": main()`.
"""

import atexit
import datetime
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import stat
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback
import unittest

BUILDDIR = os.environ.get("ML_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SRCDIR = os.environ.get("ML_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
MICROLIGHTD = os.path.join(BUILDDIR, "microlightd")
MICROLIGHTCTL = os.path.join(BUILDDIR, "microlightctl")
CLOCKSHIFT = os.path.join(BUILDDIR, "tests", "integration", "clockshift.so")

# Sanitizer reports in any output fail the test that produced them.
SANITIZER_RE = re.compile(
    rb"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
    rb"UndefinedBehaviorSanitizer")

# Exit statuses of microlightctl (SPEC section 5).
EX_USAGE, EX_DATAERR, EX_UNAVAILABLE, EX_SOFTWARE = 64, 65, 69, 70


# Task bodies may use placeholders, filled in by subst(): @PYTHON@ (the
# interpreter's path), @SCRATCH@ (a directory of the test's), and the
# helpers @SH_GATE@ / @PY_GATE@ that define gate N: the task waits there
# until the test creates the file go-RUNID-N in the scratch directory, so
# ordering checks never depend on sleeps.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else \
    shutil.which("python3")

SH_GATE = """\
gate() {
    _gate_n=0
    while [ ! -e "@SCRATCH@/go-$MICROLIGHT_RUN_ID-$1" ]; do
        _gate_n=$((_gate_n + 1))
        if [ "$_gate_n" -gt 1200 ]; then echo "gate $1 never opened" >&2; exit 99; fi
        sleep 0.05
    done
}
"""

PY_GATE = """\
import os, sys, time
def gate(n):
    path = "@SCRATCH@/go-%s-%d" % (os.environ["MICROLIGHT_RUN_ID"], n)
    for _ in range(1200):
        if os.path.exists(path):
            return
        time.sleep(0.05)
    os.write(2, b"gate %d never opened\\n" % n)
    sys.exit(99)
def put(fd, data):
    while data:
        data = data[os.write(fd, data):]
"""


def subst(body, scratch):
    """A task body with its placeholders filled in (dedented first, so the
    inserted helpers keep their own indentation)."""
    body = textwrap.dedent(body).lstrip("\n")
    return (body.replace("@SH_GATE@\n", SH_GATE)
            .replace("@PY_GATE@\n", PY_GATE)
            .replace("@PYTHON@", PYTHON)
            .replace("@SCRATCH@", scratch))


def run_exit(run):
    """The exit status of microlightctl run --wait, logs -f and status
    for a run as recorded (SPEC section 5): 0 for one not over."""
    status = run["status"]
    if status == "failed":
        if run.get("signal"):
            return 128 + run["signal"]
        code = run.get("exit_code")
        return code if code is not None and 0 < code < 256 else 1
    return {"succeeded": 0, "timed_out": 124, "cancelled": 130,
            "skipped": 75, "lost": 1}.get(status, 0)


def ctl_env(extra=None):
    """The environment for microlightctl: leaks of a short-lived client
    are not interesting, everything else of the sanitizers is."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=0"
    env.pop("MICROLIGHT_SOCKET", None)
    if extra:
        env.update(extra)
    return env


def sanitized():
    """Whether microlightd was built with the sanitizers (whose memory use
    says nothing of the daemon's)."""
    with open(MICROLIGHTD, "rb") as f:
        return b"__asan_init" in f.read()


def epoch(text):
    """An RFC 3339 time of the protocol, in seconds since the epoch."""
    return datetime.datetime.fromisoformat(
        text.replace("Z", "+00:00")).timestamp()


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Poll predicate until it returns a true value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def _reachable_by_all(path):
    """Whether every directory from / down to path lets others through."""
    while True:
        if not os.stat(path).st_mode & stat.S_IXOTH:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


_programs_for_others = None


def programs_for_others():
    """(microlightd, microlightctl): copies of the built programs in a
    fresh 0755 directory that any user can reach, for tests that run them
    as another user (nobody). The build directory may be where others
    cannot go (a checkout in /root, which is 0700). Made once per test
    program, removed at its exit."""
    global _programs_for_others
    if _programs_for_others is None:
        base = tempfile.gettempdir()
        if not _reachable_by_all(base):
            base = "/tmp"
        d = tempfile.mkdtemp(prefix="ml-bin-", dir=base)
        atexit.register(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        copies = []
        for prog in (MICROLIGHTD, MICROLIGHTCTL):
            copy = os.path.join(d, os.path.basename(prog))
            shutil.copyfile(prog, copy)
            os.chmod(copy, 0o755)
            copies.append(copy)
        if not _reachable_by_all(d):
            raise AssertionError("no directory all users can reach for "
                                 "the programs (tried %s)" % d)
        _programs_for_others = tuple(copies)
    return _programs_for_others


def unshare_problem(*flags):
    """Why `unshare FLAGS true` cannot work here (no unshare, no right to
    a new namespace or to change mount propagation, as in many containers
    and chroots), or None when it works."""
    flags = list(flags) or ["-m"]
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    p = subprocess.run(["unshare"] + flags + ["true"], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=30)
    if p.returncode != 0:
        return "unshare %s cannot work here: %s" % (
            " ".join(flags), p.stderr.decode("utf-8", "replace").strip() or
            "exit %d" % p.returncode)
    return None


def pid_alive(pid):
    """Whether a process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


class ShiftedClock:
    """The clocks of a daemon started with clockshift.so preloaded
    (tests/integration/clockshift.c; make check builds it). step() moves
    its wall clock alone, as `date -s` or an NTP step would; advance()
    moves its wall and monotonic clocks together, as if that much time
    had passed at once: a test skips a delay of the daemon's (a timeout,
    a retry delay, a periodic timer) instead of sleeping through it. The
    daemon sees a move at its next wake-up: Daemon.advance() wakes it."""

    def __init__(self):
        if not os.path.exists(CLOCKSHIFT):
            raise AssertionError("%s is not built (make check builds it)"
                                 % CLOCKSHIFT)
        fd, self.path = tempfile.mkstemp(prefix="ml-shift-")
        os.write(fd, struct.pack("=qq", 0, 0))
        os.close(fd)
        self.wall = 0       # nanoseconds
        self.mono = 0

    def env(self):
        """The daemon's environment for the shim."""
        asan = os.environ.get("ASAN_OPTIONS", "")
        # Added to what is preloaded already (faketime's library, when the
        # whole suite runs with the clock shifted): the shim's readings
        # then go through it, and the daemon's clock stays the test's.
        preload = os.environ.get("LD_PRELOAD", "")
        return {"LD_PRELOAD": CLOCKSHIFT + (" " + preload if preload
                                            else ""),
                "ML_CLOCKSHIFT_FILE": self.path,
                # The shim comes before the sanitizer's runtime.
                "ASAN_OPTIONS": (asan + ":" if asan else "") +
                "verify_asan_link_order=0"}

    def _write(self):
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, struct.pack("=qq", self.wall, self.mono), 0)
        finally:
            os.close(fd)

    def step(self, seconds):
        """Step the wall clock by seconds; the monotonic clock runs on."""
        self.wall += int(seconds * 1e9)
        self._write()

    def advance(self, seconds):
        """Let seconds pass at once, on both clocks."""
        self.wall += int(seconds * 1e9)
        self.mono += int(seconds * 1e9)
        self._write()

    def now(self):
        """The daemon's wall clock, in seconds since the epoch."""
        return time.time() + self.wall / 1e9

    def monotonic(self):
        """The daemon's monotonic clock, in seconds."""
        return time.monotonic() + self.mono / 1e9

    def close(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class Daemon:
    """A microlightd with its own tasks.d, state directory and socket;
    with clock (a ShiftedClock), on clocks the test moves."""

    def __init__(self, config="", tasks=None, env=None, start=True,
                 args=(), clock=None):
        self.dir = tempfile.mkdtemp(prefix="ml-")
        os.chmod(self.dir, 0o755)
        self.tasks_dir = os.path.join(self.dir, "tasks.d")
        self.state_dir = os.path.join(self.dir, "state")
        self.socket = os.path.join(self.dir, "ml.sock")
        self.config = os.path.join(self.dir, "microlight.conf")
        self.db_path = os.path.join(self.state_dir, "microlight.db")
        self.log_path = os.path.join(self.dir, "daemon.log")
        # Explicit modes, whatever the umask: as root the daemon refuses a
        # tasks.d its group may write (a umask of 0002 would give 0775).
        os.mkdir(self.tasks_dir)
        os.chmod(self.tasks_dir, 0o755)
        with open(self.config, "w") as f:
            f.write(textwrap.dedent(config))
        for name, body in (tasks or {}).items():
            self.add_task(name, body)
        self.env = dict(os.environ)
        self.env.pop("MICROLIGHT_SOCKET", None)
        self.clock = clock
        if clock is not None:
            self.env.update(clock.env())
        if env:
            self.env.update(env)
        self.args = list(args)
        self.proc = None
        if start:
            try:
                self.start()
            except BaseException:
                # No test owns this daemon yet: nothing else cleans up.
                shutil.rmtree(self.dir, ignore_errors=True)
                raise

    # tasks.d ---------------------------------------------------------

    def add_task(self, name, body, mode=0o755):
        """Write a task file; body is dedented; the file is executable."""
        path = os.path.join(self.tasks_dir, name)
        tmp = os.path.join(self.tasks_dir, "." + name + ".tmp")
        with open(tmp, "w") as f:
            f.write(textwrap.dedent(body).lstrip("\n"))
        os.chmod(tmp, mode)
        os.rename(tmp, path)
        return path

    def remove_task(self, name):
        os.unlink(os.path.join(self.tasks_dir, name))

    # process ---------------------------------------------------------

    def command(self, extra=()):
        return [MICROLIGHTD, "-f", "-c", self.config, "-T", self.tasks_dir,
                "-d", self.state_dir, "-s", self.socket, "-l", "none"] + \
            self.args + list(extra)

    def check_mode(self, extra=()):
        """microlightd -n on this daemon's files: (exit status, all it
        printed)."""
        cmd = self.command(["-n"] + list(extra))
        cmd.remove("-f")
        p = subprocess.run(cmd, capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL, env=self.env)
        return p.returncode, p.stdout.decode() + p.stderr.decode()

    def start(self, extra=(), wait=True):
        """Start in the foreground; return once the socket answers."""
        while True:
            self.log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.command(extra), env=self.env,
                                         stdin=subprocess.DEVNULL,
                                         stdout=self.log, stderr=self.log)
            if not wait:
                return self.proc
            try:
                wait_for(self._answers, timeout=20,
                         what="microlightd to start")
                return self.proc
            except BaseException as e:
                self.kill9()	# never left running after a failed start
                if "Address already in use" not in str(e) or \
                        not self.pick_port():
                    raise
            # The port picked for it was taken before the daemon bound
            # it: again, on another, with a fresh log.
            open(self.log_path, "wb").close()

    def pick_port(self):
        """For a daemon whose HTTP port the test picked as a free one:
        pick another and say so (true), as long as it has not been
        started on it; start() then tries again. A port is free only
        until something binds it, and with make -j check other tests'
        daemons and clients bind ports all the time."""
        return False

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("microlightd exited with %s:\n%s" % (
                self.proc.returncode, self.log_text()))
        try:
            return self.request({"cmd": "ping"}, timeout=2)["ok"]
        except OSError:
            return False

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stop the daemon and check it exited cleanly (status 0, no
        sanitizer report). Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("microlightd did not exit after %s" % sig)
        finally:
            self.log.close()
        self.proc = None
        self.check_log()
        if rc != 0:
            raise AssertionError(
                "microlightd exited with status %d (negative: killed by "
                "that signal) after %s:\n%s" % (rc, sig, self.log_text()))
        return rc

    def kill9(self):
        """SIGKILL the daemon, as a crash would."""
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        self.proc = None

    def check_log(self):
        with open(self.log_path, "rb") as f:
            text = f.read()
        if SANITIZER_RE.search(text):
            raise AssertionError("sanitizer report in the daemon's log:\n"
                                 + text.decode("utf-8", "replace"))

    def cleanup(self):
        try:
            if self.proc is not None:
                self.stop()
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
            shutil.rmtree(self.dir, ignore_errors=True)

    # clients ---------------------------------------------------------

    def ctl(self, *args, timeout=60, env=None, check=None, sock=True):
        """Run microlightctl; returns CompletedProcess with bytes output.
        check=N asserts the exit status."""
        cmd = [MICROLIGHTCTL]
        if sock:
            cmd += ["-s", self.socket]
        cmd += [str(a) for a in args]
        p = subprocess.run(cmd, capture_output=True, timeout=timeout,
                           env=ctl_env(env), stdin=subprocess.DEVNULL)
        for stream in (p.stdout, p.stderr):
            if SANITIZER_RE.search(stream):
                raise AssertionError("sanitizer report from microlightctl:"
                                     "\n" + stream.decode("utf-8", "replace"))
        if check is not None and p.returncode != check:
            raise AssertionError(
                "microlightctl %s exited %d, expected %d\nstdout: %r\n"
                "stderr: %r" % (" ".join(map(str, args)), p.returncode,
                                check, p.stdout[:2000], p.stderr[:2000]))
        return p

    def ctl_json(self, *args, **kw):
        """microlightctl --json ...: the list of reply objects."""
        p = self.ctl("--json", *args, **kw)
        return [json.loads(line) for line in p.stdout.splitlines()]

    def connect(self, timeout=10):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.socket)
        return s

    def request(self, obj, timeout=10):
        """One raw request, one reply."""
        with self.connect(timeout) as s:
            data = obj if isinstance(obj, bytes) else \
                (json.dumps(obj) + "\n").encode()
            s.sendall(data)
            return json.loads(read_line(s))

    def pipeline(self, reqs, timeout=300):
        """Send every request at once over one connection, without waiting
        for replies (read meanwhile, so that neither side blocks); returns
        the replies, in order."""
        replies = []
        with self.connect(timeout) as s:
            f = s.makefile("rb")

            def read():
                for _ in range(len(reqs)):
                    line = f.readline()
                    if not line:
                        return
                    replies.append(json.loads(line))
            reader = threading.Thread(target=read)
            reader.start()
            s.sendall(b"".join(
                r if isinstance(r, bytes) else
                (json.dumps(r) + "\n").encode() for r in reqs))
            reader.join(timeout)
        if len(replies) != len(reqs):
            raise AssertionError("%d replies to %d requests" % (
                len(replies), len(reqs)))
        return replies

    def run(self, task, *params, wait=True, check=None):
        """Start a run with the CLI; returns its record when it ended (or
        its id without wait)."""
        args = ["run", task] + list(params)
        if wait:
            args.append("--wait")
        p = self.ctl(*args, check=check)
        run_id = int(p.stdout.split(b"\n", 1)[0])
        if not wait:
            return run_id
        return self.status(run_id)

    def status(self, run_id):
        return self.request({"cmd": "status", "run": run_id})["run"]

    def logs(self, run_id, *args):
        return self.ctl("logs", run_id, *args, check=0).stdout

    def advance(self, seconds):
        """Let seconds pass at once on the daemon's clocks, then wake it
        (a ping) so that its timers see them."""
        self.clock.advance(seconds)
        self.request({"cmd": "ping"})

    def wait_for(self, predicate, timeout=20, what="condition",
                 advance=0.25):
        """wait_for(predicate); on a ShiftedClock, each look that fails
        lets advance seconds of the daemon's time pass, up to timeout
        seconds of it (the real-time timeout stays)."""
        if self.clock is None or not advance:
            return wait_for(predicate, timeout=timeout, what=what)
        passed = [0]

        def look():
            value = predicate()
            if not value and passed[0] < timeout:
                self.advance(advance)
                passed[0] += advance
            return value
        return wait_for(look, timeout=timeout, what=what)

    def wait_status(self, run_id, statuses, timeout=20, advance=0):
        """Wait for a run to be in one of statuses; with advance, on a
        ShiftedClock, letting the daemon's time pass (see wait_for)."""
        if isinstance(statuses, str):
            statuses = (statuses,)
        return self.wait_for(lambda: (lambda r: r if r["status"] in statuses
                                      else None)(self.status(run_id)),
                             timeout=timeout, advance=advance,
                             what="run %s to be %s" % (run_id,
                                                       "/".join(statuses)))

    def db(self):
        """A read-only connection to the daemon's database."""
        conn = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True,
                               timeout=10)
        conn.row_factory = sqlite3.Row
        return conn


def tmpfs_state(test, size):
    """Mount a tmpfs of size ("2m") on test.d's state directory, so that a
    test can fill the disk; skip the test when that is not possible (not
    root, no mount). At the end it is unmounted, then the daemon's
    directory removed (its own clean-up cannot remove a mount point)."""
    if os.geteuid() != 0:
        test.skipTest("mounting a tmpfs needs root")
    os.mkdir(test.d.state_dir, 0o700)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=700"
                        % size, "tmpfs", test.d.state_dir],
                       capture_output=True)
    if p.returncode != 0:
        test.skipTest("cannot mount a tmpfs: %s" % p.stderr.decode())
    # Cleanups run last first: the mount goes, then the directory.
    test.addCleanup(shutil.rmtree, test.d.dir, True)
    test.addCleanup(subprocess.run, ["umount", "-l", test.d.state_dir])


def kill_group_from(path):
    """Kill the process group whose leader wrote its pid to path."""
    try:
        with open(path) as f:
            pid = int(f.read().strip())
        os.killpg(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


def read_line(s, limit=64 << 20):
    """Read one newline-terminated line from a socket."""
    buf = bytearray()
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("connection closed after %r" % bytes(buf[:200]))
        buf += chunk
        if len(buf) > limit:
            raise AssertionError("line too long")
    return bytes(buf)


class DaemonTest(unittest.TestCase):
    """A test case with self.d, a fresh daemon per test. Subclasses set
    CONFIG (microlight.conf text) and TASKS (name -> script)."""

    CONFIG = "kill-grace 2s\n"
    TASKS = {}
    START = True
    SHIFTED_CLOCK = False   # run the daemon on a ShiftedClock, self.clock

    def clock_args(self):
        """Daemon's clock argument: a ShiftedClock if the class asks."""
        if not self.SHIFTED_CLOCK:
            return {}
        self.clock = ShiftedClock()
        self.addCleanup(self.clock.close)
        return {"clock": self.clock}

    def setUp(self):
        self.d = Daemon(config=self.CONFIG, tasks=self.TASKS,
                        start=self.START, **self.clock_args())

    def tearDown(self):
        # Kept for the report of a failure (TapResult prints its end).
        try:
            self.daemon_log = self.d.log_text()[-6000:]
        except Exception:
            self.daemon_log = None
        self.d.cleanup()


class ScratchTest(DaemonTest):
    """DaemonTest with a scratch directory, task placeholders filled in by
    subst(), gates to open (go) and microlightctl in the background."""

    DAEMON = Daemon

    def subst(self, body):
        return subst(body, self.scratch)

    def setUp(self):
        self.scratch = tempfile.mkdtemp(prefix="ml-scratch-")
        self.addCleanup(shutil.rmtree, self.scratch, True)
        tasks = {name: self.subst(body)
                 for name, body in type(self).TASKS.items()}
        self.d = self.DAEMON(config=self.CONFIG, tasks=tasks,
                             start=self.START, **self.clock_args(),
                             **self.daemon_args())

    def daemon_args(self):
        """More keyword arguments for DAEMON, for subclasses."""
        return {}

    def go(self, run_id, n=1):
        """Open gate n of a run."""
        with open(os.path.join(self.scratch, "go-%d-%s" % (run_id, n)), "w"):
            pass

    def popen_ctl(self, *args):
        """microlightctl in the background, killed at the end."""
        p = subprocess.Popen([MICROLIGHTCTL, "-s", self.d.socket] +
                             [str(a) for a in args], env=ctl_env(),
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self._reap, p)
        return p

    @staticmethod
    def _reap(p):
        if p.poll() is None:
            p.kill()
        p.communicate()


# TAP -----------------------------------------------------------------

class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, ok, test, extra=""):
        self.n += 1
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n,
                                test.id().split(".", 1)[-1], extra))
        sys.stdout.flush()

    def _diag(self, err, test=None):
        text = "".join(traceback.format_exception(*err))
        log = getattr(test, "daemon_log", None)
        if log:
            text += "\nthe end of the daemon's log:\n" + log
        for line in text.rstrip().splitlines():
            print("# " + line)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test)
        self._diag(err, test)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test)
        self._diag(err, test)

    # Subtests: a test whose subtests failed is one "not ok" line, with
    # each failure's diagnostics (unittest then reports no end of its
    # own for the test).
    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is None:
            return
        if getattr(test, "_tap_failed", False) is False:
            test._tap_failed = True
            self._line(False, test)
        print("# subtest %s" % subtest._subDescription())
        self._diag(err, test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, " # SKIP " + reason)

    # A test marked expectedFailure (a known bug, with a comment) is
    # "not ok # TODO"; once it passes, "ok # TODO", which the TAP driver
    # counts as XPASS and fails on, so that the marker goes with the bug.
    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(False, test, " # TODO known bug")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(True, test, " # TODO fixed? remove expectedFailure")


def main():
    """Run the calling module's tests, printing TAP."""
    module = sys.modules["__main__"]
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    print("1..%d" % suite.countTestCases())
    sys.stdout.flush()
    result = TapResult()
    suite.run(result)
    sys.exit(0 if result.wasSuccessful() else 1)
