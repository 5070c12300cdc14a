#!/usr/bin/env python3
"""Capture of a run's stdout and stderr (SPEC sections 3 and 5): byte for
byte, in arrival order, live, stored as it arrives, capped by max-log-size,
and still there after a restart."""

import base64
import contextlib
import hashlib
import select
import threading

from harness import *

# Every byte value, NUL bytes, invalid UTF-8 (a lone continuation byte,
# bad lead bytes, an overlong encoding, a surrogate, a truncated sequence).
OUT1 = (bytes(range(256)) + b"\x00\x00\x00" +
        b"\x80\xff\xfe\xc0\xaf\xed\xa0\x80\xc3\x28\xf0\x90\x28\xbc" +
        b"\r\n" + "h\u00e9llo \u20ac\n".encode())
ERR1 = b"\x00err\xff\xfe\x80\n" + bytes(range(255, -1, -1))
OUT2 = b"tail without a final newline \x00\xe2\x82"   # ends mid-character


def subst_bytes(body, scratch):
    """subst(), and @OUT1@ @ERR1@ @OUT2@ as Python bytes literals."""
    return (subst(body, scratch).replace("@OUT1@", repr(OUT1))
            .replace("@ERR1@", repr(ERR1))
            .replace("@OUT2@", repr(OUT2)))


def read_until(proc, stream, needle, buf, timeout=20):
    """Read a Popen pipe until needle is in what was read; returns all of
    it. Fails if the pipe ends first or nothing comes in time."""
    fd = stream.fileno()
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no %r within %ss; got %r" % (
                needle, timeout, buf[-500:]))
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                proc.poll()
                raise AssertionError("pipe ended (exit %s) before %r; got "
                                     "%r" % (proc.returncode, needle,
                                             buf[-500:]))
            buf += chunk
    return buf


def read_bytes(proc, stream, n, timeout=30):
    """Read n bytes from a Popen pipe (fails if it ends or stalls first);
    what else came with them is not read."""
    fd = stream.fileno()
    deadline = time.monotonic() + timeout
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("%d of %d bytes within %ss" % (
                len(buf), n, timeout))
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, min(n - len(buf), 1 << 20))
            if not chunk:
                proc.poll()
                raise AssertionError("pipe ended (exit %s) after %d of %d "
                                     "bytes" % (proc.returncode, len(buf),
                                                n))
            buf += chunk
    return buf


def drain(proc, stream, buf, timeout=30):
    """Read a Popen pipe to its end."""
    fd = stream.fileno()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("pipe still open after %ss; got %r" % (
                timeout, buf[-500:]))
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return buf
            buf += chunk


def wait_value(fn, expected, what, timeout=20):
    """Poll fn until it returns expected; on timeout show the last value."""
    last = []

    def check():
        last[:] = [fn()]
        return last[0] == expected
    try:
        wait_for(check, timeout=timeout, interval=0.05, what=what)
    except AssertionError:
        raise AssertionError("timed out waiting for %s: last %r, expected %r"
                             % (what, last[0][-300:] if last else None,
                                expected[-300:]))


def digest(data):
    return "%d bytes, sha256 %s" % (len(data), hashlib.sha256(data).hexdigest())


class OutputTest(ScratchTest):
    """ScratchTest whose tasks may hold the byte strings above."""

    def subst(self, body):
        return subst_bytes(body, self.scratch)

    def chunks(self, run_id):
        """(seq, stream, time, data) of the run's stored output."""
        with contextlib.closing(self.d.db()) as db:
            return [tuple(row) for row in db.execute(
                "SELECT seq, stream, time, data FROM output WHERE run_id = ? "
                "ORDER BY seq", (run_id,))]


class ByteExact(OutputTest):
    TASKS = {
        "bytes.py": """\
            #!@PYTHON@
            # Write every byte value, both streams, in a fixed order.
            @PY_GATE@
            put(1, @OUT1@)
            gate(1)
            put(2, @ERR1@)
            gate(2)
            put(1, @OUT2@)
            """,
        "mixed.py": """\
            #!@PYTHON@
            # Binary output on both streams, no gates.
            @PY_GATE@
            put(1, @OUT1@)
            put(2, @ERR1@)
            put(1, @OUT2@)
            """,
        "interleave.sh": """\
            #!/bin/sh
            # out, err, out, err ... each only after the last one arrived.
            @SH_GATE@
            for i in 1 2 3; do
                echo "out $i"
                gate "$i-o"
                echo "err $i" >&2
                gate "$i-e"
            done
            printf 'last'
            """,
    }

    def test_bytes_round_trip(self):
        run_id = self.d.run("bytes", wait=False)
        # Each write is let go only once the previous one has arrived, so
        # the arrival order is out, err, out.
        wait_value(lambda: self.d.logs(run_id, "--stream", "stdout"), OUT1,
                   "the first stdout write in logs --stream stdout")
        self.go(run_id, 1)
        wait_value(lambda: self.d.logs(run_id, "--stream", "stderr"), ERR1,
                   "the stderr write in logs --stream stderr")
        self.go(run_id, 2)
        run = self.d.wait_status(run_id, ("succeeded", "failed"))
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(self.d.logs(run_id), OUT1 + ERR1 + OUT2)
        self.assertEqual(self.d.logs(run_id, "--stream", "stdout"),
                         OUT1 + OUT2)
        self.assertEqual(self.d.logs(run_id, "--stream", "stderr"), ERR1)
        self.assertEqual(run["output_size"], len(OUT1 + ERR1 + OUT2))
        self.assertEqual(run["output_dropped"], 0)

    def test_interleaved_streams_in_arrival_order(self):
        run_id = self.d.run("interleave", wait=False)
        expected = b""
        for i in (1, 2, 3):
            expected += b"out %d\n" % i
            wait_value(lambda: self.d.logs(run_id), expected,
                       "stdout line %d" % i)
            self.go(run_id, "%d-o" % i)
            expected += b"err %d\n" % i
            wait_value(lambda: self.d.logs(run_id), expected,
                       "stderr line %d" % i)
            self.go(run_id, "%d-e" % i)
        run = self.d.wait_status(run_id, ("succeeded", "failed"))
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(self.d.logs(run_id), expected + b"last")
        self.assertEqual(self.d.logs(run_id, "--stream", "stdout"),
                         b"out 1\nout 2\nout 3\nlast")
        self.assertEqual(self.d.logs(run_id, "--stream", "stderr"),
                         b"err 1\nerr 2\nerr 3\n")

    def test_logs_survive_restart(self):
        run = self.d.run("mixed")
        self.assertEqual(run["status"], "succeeded", run)
        both = self.d.logs(run["id"])
        self.assertEqual(len(both), len(OUT1 + ERR1 + OUT2))
        self.assertEqual(self.d.logs(run["id"], "--stream", "stdout"),
                         OUT1 + OUT2)
        self.assertEqual(self.d.logs(run["id"], "--stream", "stderr"), ERR1)

        self.d.stop()
        self.d.start()
        self.assertEqual(self.d.logs(run["id"]), both)
        self.assertEqual(self.d.logs(run["id"], "--stream", "stdout"),
                         OUT1 + OUT2)
        self.assertEqual(self.d.logs(run["id"], "--stream", "stderr"), ERR1)
        after = self.d.status(run["id"])
        self.assertEqual(after["status"], "succeeded")
        self.assertEqual(after["exit_code"], 0)
        self.assertEqual(after["output_size"], len(both))


class LargeOutput(OutputTest):
    SIZE = 5 * 1024 * 1024
    TASKS = {
        "big.sh": """\
            #!/bin/sh
            # Five MiB of known random bytes.
            exec head -c 5242880 "@SCRATCH@/random.bin"
            """,
    }

    def test_5mib_through_logs_and_follow(self):
        data = os.urandom(self.SIZE + 4096)
        with open(os.path.join(self.scratch, "random.bin"), "wb") as f:
            f.write(data)
        want = data[:self.SIZE]

        p = self.d.ctl("run", "big", "--follow", check=0)
        self.assertTrue(p.stdout == want, "run --follow gave %s, expected %s"
                        % (digest(p.stdout), digest(want)))
        m = re.search(rb"run (\d+)", p.stderr)
        self.assertIsNotNone(m, p.stderr)
        run_id = int(m.group(1))

        out = self.d.logs(run_id)
        self.assertTrue(out == want, "logs gave %s, expected %s"
                        % (digest(out), digest(want)))
        out = self.d.logs(run_id, "--stream", "stdout")
        self.assertTrue(out == want, "logs --stream stdout gave %s, "
                        "expected %s" % (digest(out), digest(want)))
        self.assertEqual(self.d.logs(run_id, "--stream", "stderr"), b"")
        run = self.d.status(run_id)
        self.assertEqual(run["status"], "succeeded")
        self.assertEqual(run["output_size"], self.SIZE)
        self.assertEqual(run["output_dropped"], 0)


def binary_data(size):
    """size bytes holding every byte value many times over, newlines in
    the middle, ending in a byte that is not a newline."""
    head = bytes(range(256)) * 64 + bytes(range(255, -1, -1)) * 64
    data = (head + os.urandom(size))[:size - 1] + b"\x00"
    assert len(data) == size and data[-1:] != b"\n"
    return data


class LargeBinary(OutputTest):
    """Several MiB of binary output, every byte value, no final newline,
    through each way the control socket gives it back: raw output events
    for logs, logs -f of a running run and run --follow, base64 events for
    --json. Half of it comes before a gate, so the followers below take
    stored chunks and chunks still in memory, and go on live."""

    SIZE = 6 * 1024 * 1024 + 4099
    HALF = 3 * 1024 * 1024 + 7
    TASKS = {
        "bin.sh": """\
            #!/bin/sh
            # The first part of data.bin, a gate, the rest.
            @SH_GATE@
            head -c %d "@SCRATCH@/data.bin"
            gate 1
            tail -c +%d "@SCRATCH@/data.bin"
            """ % (HALF, HALF + 1),
    }

    def setUp(self):
        super().setUp()
        self.data = binary_data(self.SIZE)
        with open(os.path.join(self.scratch, "data.bin"), "wb") as f:
            f.write(self.data)

    def assert_bytes(self, got, want, what):
        self.assertTrue(got == want, "%s gave %s, expected %s" % (
            what, digest(got), digest(want)))

    def assert_stored(self, run_id):
        """The run succeeded, and every reader of its log gets the data."""
        run = self.d.wait_status(run_id, ("succeeded", "failed"))
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(run["output_size"], self.SIZE)
        self.assertEqual(run["output_dropped"], 0)
        self.assert_bytes(self.d.logs(run_id), self.data, "logs")
        self.assert_bytes(self.d.logs(run_id, "--stream", "stdout"),
                          self.data, "logs --stream stdout")
        self.assertEqual(self.d.logs(run_id, "--stream", "stderr"), b"")
        # --json prints each event as its line, the bytes in base64.
        lines = self.d.ctl("--json", "logs", run_id, check=0).stdout
        events = [json.loads(l) for l in lines.splitlines()]
        self.assertTrue(events[0]["ok"])
        self.assertEqual(events[-1]["event"], "end")
        out = [e for e in events if e.get("event") == "output"]
        self.assertTrue(all("size" not in e for e in out), out[:1])
        self.assert_bytes(b"".join(base64.b64decode(e["data"],
                                                    validate=True)
                                   for e in out), self.data, "--json logs")

    def test_logs_follow_of_a_running_run(self):
        run_id = self.d.run("bin", wait=False)
        wait_for(lambda: self.d.status(run_id)["output_size"] >= self.HALF,
                 what="the first half of the output")
        p = self.popen_ctl("logs", "-f", run_id)
        out = read_bytes(p, p.stdout, self.HALF)
        self.assertEqual(self.d.status(run_id)["status"], "running")
        self.assertIsNone(p.poll(), "logs -f ended while the run runs")
        self.assert_bytes(out, self.data[:self.HALF], "logs -f, first half")
        self.go(run_id, 1)
        out = drain(p, p.stdout, out)
        self.assertEqual(p.wait(30), 0, p.stderr.read())
        self.assert_bytes(out, self.data, "logs -f")
        self.assert_stored(run_id)

    def test_run_follow(self):
        p = self.popen_ctl("run", "bin", "--follow")
        m = re.search(rb"run (\d+)\n", read_until(p, p.stderr, b"\n", b""))
        run_id = int(m.group(1))
        out = read_bytes(p, p.stdout, self.HALF)
        self.assertEqual(self.d.status(run_id)["status"], "running")
        self.assert_bytes(out, self.data[:self.HALF],
                          "run --follow, first half")
        self.go(run_id, 1)
        out = drain(p, p.stdout, out)
        self.assertEqual(p.wait(30), 0, p.stderr.read())
        self.assert_bytes(out, self.data, "run --follow")
        self.assert_stored(run_id)

    def test_run_wait(self):
        """run --wait prints the id and no output; the output is stored."""
        p = self.popen_ctl("run", "bin", "--wait")
        line = read_until(p, p.stdout, b"\n", b"")
        run_id = int(line)
        self.go(run_id, 1)
        self.assertEqual(drain(p, p.stdout, line), b"%d\n" % run_id)
        self.assertEqual(p.wait(30), 0, p.stderr.read())
        self.assert_stored(run_id)


class WalBound(OutputTest):
    """A run printing far more than the WAL's bound (64 MiB): the WAL file
    never grows much past it (output waits in the pipe while the WAL is
    copied into the database), and every byte is stored, in order."""

    CONFIG = "kill-grace 2s\nmax-log-size 300M\n"
    SIZE = 160 * 1024 * 1024 + 3
    WAL_BOUND = 16384 * (4096 + 24) + 32      # DB_WAL_MAX_PAGES frames
    TASKS = {
        "flood.sh": """\
            #!/bin/sh
            # 160 MiB on stdout, as fast as it goes.
            exec cat "@SCRATCH@/data.bin"
            """,
    }

    def test_wal_stays_bounded(self):
        data = binary_data(self.SIZE)
        with open(os.path.join(self.scratch, "data.bin"), "wb") as f:
            f.write(data)
        wal = self.d.db_path + "-wal"
        peak = [0]
        done = threading.Event()

        def watch():
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], os.path.getsize(wal))
                except OSError:
                    pass
                done.wait(0.002)
        t = threading.Thread(target=watch)
        t.start()
        try:
            run = self.d.run("flood", check=0)
        finally:
            done.set()
            t.join()
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(run["output_size"], self.SIZE, run)
        # The commit that crosses the bound, and the pipe drained at the
        # run's end, may go past it.
        self.assertLess(peak[0], self.WAL_BOUND + 4 * 1024 * 1024,
                        "the WAL grew to %d bytes" % peak[0])
        out = self.d.logs(run["id"])
        self.assertTrue(out == data, "logs gave %s, expected %s"
                        % (digest(out), digest(data)))


class MaxLogSize(OutputTest):
    CONFIG = "kill-grace 2s\nmax-log-size 64K\n"
    TASKS = {
        "flood.sh": """\
            #!/bin/sh
            # One MiB on stdout: far past max-log-size.
            # @timeout 60s
            cat "@SCRATCH@/mib.bin"
            """,
    }

    def test_output_past_the_limit_is_dropped_and_counted(self):
        data = os.urandom(1024 * 1024)
        with open(os.path.join(self.scratch, "mib.bin"), "wb") as f:
            f.write(data)
        started = time.monotonic()
        run = self.d.run("flood", check=0)
        elapsed = time.monotonic() - started
        # A pipe that is not drained blocks cat until the timeout.
        self.assertEqual(run["status"], "succeeded", run)
        self.assertLess(elapsed, 30, "the run took %.1fs" % elapsed)

        dropped = len(data) - 65536
        self.assertEqual(run["output_dropped"], dropped, run)
        out = self.d.logs(run["id"])
        self.assertTrue(out[:65536] == data[:65536],
                        "the first 64 KiB stored are not the task's")
        marker = out[65536:]
        # One line (after a newline ending the cut-off output if needed).
        if marker.startswith(b"\n") and not data[65535:65536] == b"\n":
            marker = marker[1:]
        self.assertTrue(marker.endswith(b"\n"), marker)
        self.assertEqual(marker.count(b"\n"), 1, marker)
        self.assertRegex(marker, rb"\b%d\b" % dropped)
        self.assertIn(b"drop", marker.lower())


class MaxLogSizeLarge(OutputTest):
    """A limit that falls inside a read and a chunk, with output that
    fills wide pipes: exactly max-log-size bytes are stored, followers
    get the same, the rest is drained, dropped and counted."""

    CONFIG = "kill-grace 2s\nmax-log-size 1000K\n"
    LIMIT = 1000 * 1024
    SIZE = 12 * 1024 * 1024 + 5
    TASKS = {
        "flood.sh": """\
            #!/bin/sh
            # 12 MiB on stdout, in one go: far past max-log-size.
            # @timeout 60s
            exec cat "@SCRATCH@/data.bin"
            """,
    }

    def test_limit_inside_a_read(self):
        data = binary_data(self.SIZE)
        # The last byte kept is no newline: the marker starts with one.
        data = data[:self.LIMIT - 1] + b"x" + data[self.LIMIT:]
        with open(os.path.join(self.scratch, "data.bin"), "wb") as f:
            f.write(data)
        p = self.d.ctl("run", "flood", "--follow", check=0)
        run_id = int(re.search(rb"run (\d+)", p.stderr).group(1))
        run = self.d.status(run_id)
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(run["output_dropped"], self.SIZE - self.LIMIT, run)
        out = self.d.logs(run_id)
        self.assertEqual(p.stdout, out)
        self.assertTrue(out[:self.LIMIT] == data[:self.LIMIT],
                        "the first %d bytes stored are not the task's"
                        % self.LIMIT)
        marker = out[self.LIMIT:]
        self.assertTrue(marker.startswith(b"\n[microlight: %d bytes of "
                                          b"output dropped" %
                                          (self.SIZE - self.LIMIT)), marker)
        self.assertEqual(run["output_size"], len(out), run)
        stored = sum(len(c[3]) for c in self.chunks(run_id))
        self.assertEqual(stored, len(out))


class LiveOutput(OutputTest):
    TASKS = {
        "live.sh": """\
            #!/bin/sh
            # Prints steps, each only when the test lets it.
            # @param code int default=0
            @SH_GATE@
            echo "step 1"
            gate 1
            echo "step 2"
            gate 2
            echo "step 3"
            exit "$code"
            """,
        "trickle.sh": """\
            #!/bin/sh
            # One line on each stream, each let go by the test.
            @SH_GATE@
            echo "step 1"
            gate 1
            echo "warn 1" >&2
            gate 2
            """,
    }

    def test_logs_follow_is_live(self):
        run_id = self.d.run("live", wait=False)
        p = self.popen_ctl("logs", "-f", run_id)
        out = read_until(p, p.stdout, b"step 1\n", b"")
        # The task cannot finish before gate 1 opens: this is live output.
        self.assertEqual(self.d.status(run_id)["status"], "running")
        self.assertIsNone(p.poll(), "logs -f ended while the run runs")
        self.go(run_id, 1)
        out = read_until(p, p.stdout, b"step 2\n", out)
        self.assertEqual(self.d.status(run_id)["status"], "running")
        self.go(run_id, 2)
        out = drain(p, p.stdout, out)
        self.assertEqual(p.wait(30), 0, p.stderr.read())
        self.assertEqual(out, b"step 1\nstep 2\nstep 3\n")
        self.assertEqual(self.d.status(run_id)["status"], "succeeded")

    def test_run_follow_is_live_and_exits_with_the_task(self):
        p = self.popen_ctl("run", "live", "code=7", "--follow")
        err = read_until(p, p.stderr, b"\n", b"")
        m = re.search(rb"run (\d+)\n", err)
        self.assertIsNotNone(m, err)
        run_id = int(m.group(1))
        out = read_until(p, p.stdout, b"step 1\n", b"")
        self.assertEqual(self.d.status(run_id)["status"], "running")
        self.go(run_id, 1)
        out = read_until(p, p.stdout, b"step 2\n", out)
        self.go(run_id, 2)
        out = drain(p, p.stdout, out)
        self.assertEqual(p.wait(30), 7)
        self.assertEqual(out, b"step 1\nstep 2\nstep 3\n")
        run = self.d.status(run_id)
        self.assertEqual(run["status"], "failed")
        self.assertEqual(run["exit_code"], 7)

    def test_output_is_stored_as_it_arrives(self):
        run_id = self.d.run("trickle", wait=False)
        before = time.time()
        first = wait_for(lambda: self.chunks(run_id), timeout=20,
                         what="the first chunk in the output table")
        self.assertEqual(self.d.status(run_id)["status"], "running")
        self.assertEqual([(c[1], c[3]) for c in first], [(1, b"step 1\n")])
        seq1, _, time1, _ = first[0]
        # The chunk's time is the wall clock, in milliseconds.
        self.assertLess(abs(time1 / 1000.0 - before), 120, time1)

        self.go(run_id, 1)
        both = wait_for(lambda: (lambda c: c if len(c) >= 2 else None)(
            self.chunks(run_id)), timeout=20, what="the stderr chunk")
        self.assertEqual(self.d.status(run_id)["status"], "running")
        self.assertEqual([(c[1], c[3]) for c in both],
                         [(1, b"step 1\n"), (2, b"warn 1\n")])
        self.assertGreater(both[1][0], seq1)
        self.assertGreaterEqual(both[1][2], time1)

        self.go(run_id, 2)
        run = self.d.wait_status(run_id, ("succeeded", "failed"))
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(self.d.logs(run_id), b"step 1\nwarn 1\n")


if __name__ == "__main__":
    main()
