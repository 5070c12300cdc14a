"""What the benchmarks share: where the programs are (ML_BUILDDIR for an
out-of-tree build), and a microlightd of their own on a directory that
holds its configuration (conf), tasks (tasks.d), state, socket and log.
bench/peer.py keeps its own daemon class: it also starts the peer and
measures whole process trees."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("ML_BUILDDIR", TOP)
DAEMON = os.path.join(BUILD, "microlightd")
CTL = os.path.join(BUILD, "microlightctl")
TICK = os.sysconf("SC_CLK_TCK")


class Daemon:
    """microlightd in the foreground on dir (dir/conf, dir/tasks.d,
    dir/state, dir/sock, its log appended to dir/log), HTTP on listen."""

    def __init__(self, dir, listen="none"):
        self.dir = dir
        self.sock = os.path.join(dir, "sock")
        self.state = os.path.join(dir, "state")
        self.listen = listen
        self.proc = None

    def start(self):
        """Start; seconds from the exec to the first ping answered."""
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [DAEMON, "-f", "-c", os.path.join(self.dir, "conf"),
             "-T", os.path.join(self.dir, "tasks.d"), "-d", self.state,
             "-s", self.sock, "-l", self.listen],
            stderr=open(os.path.join(self.dir, "log"), "a"))
        while True:
            try:
                self.ask({"cmd": "ping"})
                return time.monotonic() - t0
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit("microlightd exited; see %s/log" % self.dir)
                time.sleep(0.002)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)

    def ask(self, req):
        """One request over a connection of its own: the reply."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.sock)
            s.sendall(json.dumps(req).encode() + b"\n")
            f = s.makefile("rb", buffering=1 << 20)
            return json.loads(f.readline())

    def run(self, run_id):
        """A run's object."""
        return self.ask({"cmd": "status", "run": run_id})["run"]

    def wait_idle(self):
        """Until nothing runs or waits."""
        while True:
            p = self.ask({"cmd": "ping"})
            if p["running"] == 0 and p["queued"] == 0:
                return
            time.sleep(0.1)

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])

    def cpu(self):
        """CPU seconds of the daemon so far, all its threads."""
        if self.proc is None:
            return 0.0
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def db_bytes(self):
        """The database's size, with its WAL."""
        return sum(os.path.getsize(os.path.join(self.state, f))
                   for f in os.listdir(self.state)
                   if f.startswith("microlight.db"))
