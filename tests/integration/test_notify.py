#!/usr/bin/env python3
"""systemd's notification protocol (issue 6, point 1): with NOTIFY_SOCKET
set, as under Type=notify, the daemon says READY=1 once it serves,
RELOADING=1 with MONOTONIC_USEC and READY=1 again around a reload,
STOPPING=1 at shutdown, a STATUS= line with its tasks and runs, and
WATCHDOG=1 every half WATCHDOG_USEC; none of these variables reaches a
task."""

from harness import *


ENV_TASK = """\
    #!/bin/sh
    # Print the environment.
    env
    """


class Notify(ScratchTest):
    START = False
    TASKS = {"env.sh": ENV_TASK}

    def setUp(self):
        super().setUp()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.sock.close)
        path = os.path.join(self.scratch, "notify")
        self.sock.bind(path)
        self.sock.settimeout(20)
        self.d.env.update({"NOTIFY_SOCKET": path})

    def messages(self, until, timeout=20):
        """Datagrams, as dicts of their KEY=value lines, up to the first
        that has the key until."""
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            data = self.sock.recv(4096).decode()
            msg = dict(line.split("=", 1) for line in data.split("\n")
                       if line)
            got.append(msg)
            if until in msg:
                return got
        self.fail("no %s in %r" % (until, got))

    def test_ready_reload_stopping(self):
        self.d.start()
        msgs = self.messages("READY")
        self.assertEqual(msgs[-1]["READY"], "1")
        # The daemon answers by the time it says it is ready.
        self.assertTrue(self.d.request({"cmd": "ping"})["ok"])
        status = self.messages("STATUS")[-1]["STATUS"]
        self.assertIn("1 tasks (0 invalid)", status)
        self.assertIn("0 runs running, 0 queued", status)

        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        self.assertEqual(self.d.ctl("reload").returncode, 0)
        msgs = self.messages("RELOADING")
        usec = int(msgs[-1]["MONOTONIC_USEC"])
        after = time.clock_gettime(time.CLOCK_MONOTONIC)
        self.assertLessEqual(before * 1e6 - 1000, usec)
        self.assertLessEqual(usec, after * 1e6 + 1000)
        self.assertEqual(self.messages("READY")[-1]["READY"], "1")

        self.d.stop()
        self.assertEqual(self.messages("STOPPING")[-1]["STOPPING"], "1")

    def test_watchdog(self):
        self.d.env.update({"WATCHDOG_USEC": "400000"})
        self.d.start()
        self.messages("READY")
        t = time.monotonic()
        n = 0
        while n < 4:
            if "WATCHDOG" in self.messages("WATCHDOG")[-1]:
                n += 1
        # Every 200 ms: four take about 0.8 s.
        self.assertLess(time.monotonic() - t, 5)

    def test_watchdog_for_another_pid_is_not_ours(self):
        self.d.env.update({"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"})
        self.d.start()
        self.messages("READY")
        self.sock.settimeout(1.5)
        seen = []
        try:
            while True:
                seen.append(self.sock.recv(4096))
        except socket.timeout:
            pass
        self.assertFalse([m for m in seen if b"WATCHDOG=1" in m], seen)

    def test_tasks_do_not_see_the_variables(self):
        self.d.env.update({"WATCHDOG_USEC": "30000000",
                           "LISTEN_FDS": "1", "LISTEN_PID": "1",
                           "LISTEN_FDNAMES": "http"})
        self.d.start()
        self.messages("READY")
        run = self.d.run("env")
        self.assertEqual(run["status"], "succeeded")
        out = self.d.logs(run["id"])
        for var in (b"NOTIFY_SOCKET", b"WATCHDOG_", b"LISTEN_"):
            self.assertNotIn(var, out)
        self.assertIn(b"MICROLIGHT_RUN_ID=", out)


if __name__ == "__main__":
    main()
