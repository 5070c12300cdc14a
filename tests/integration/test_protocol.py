#!/usr/bin/env python3
"""The control socket protocol, spoken by raw clients: errors, limits,
slow and silent clients, many clients, pipelining, following runs."""

import base64
import pwd
import threading

from harness import *

MIB = 1024 * 1024
PROTOCOL = 4        # ML_PROTO_VERSION of common/proto.h


class Client:
    """A raw connection that reads replies line by line (several replies
    may arrive in one recv)."""

    def __init__(self, d, timeout=15):
        self.sock = d.connect(timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, dict):
            data = (json.dumps(data) + "\n").encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed after %r" % self.buf[:200])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def ask(self, obj):
        self.send(obj)
        return self.line()

    def raw(self, n):
        """The n raw bytes after a line (a raw output event's)."""
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed %d bytes short" %
                               (n - len(self.buf)))
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def raw_until_end(self):
        """The events up to the end of a request made with "raw": the
        output events' bytes read after their lines, as (event, bytes)."""
        events = []
        while True:
            ev = self.line()
            data = b""
            if ev.get("event") == "output":
                if "data" in ev:
                    raise AssertionError("base64 output event: %r" % ev)
                if not isinstance(ev.get("size"), int):
                    raise AssertionError("no size: %r" % ev)
                data = self.raw(ev["size"])
            events.append((ev, data))
            if ev.get("event") == "end":
                return events

    def until_end(self):
        """Event lines up to and including the end event."""
        events = []
        while True:
            ev = self.line()
            events.append(ev)
            if ev.get("event") == "end":
                return events

    def close(self):
        self.sock.close()


class ProtocolTest(ScratchTest):
    CONFIG = "kill-grace 1s\n"
    TASKS = {
        "hello.sh": "#!/bin/sh\necho hello\n",
        "mixed.sh": """\
            #!/bin/sh
            printf 'out1\\n'
            sleep 0.2
            printf 'err1\\n' >&2
            sleep 0.2
            printf 'out2 \\377\\000 end\\n'
            """,
        "slow.sh": """\
            #!/bin/sh
            # A line, then the rest once the test opens gate 1.
            @SH_GATE@
            echo "line 0"
            gate 1
            i=1
            while [ $i -lt 10 ]; do
                echo "line $i"
                i=$((i + 1))
            done
            """,
    }

    def setUp(self):
        super().setUp()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass
        super().tearDown()

    def client(self):
        c = Client(self.d)
        self.clients.append(c)
        return c

    def assert_error(self, reply, code=None):
        self.assertIs(reply.get("ok"), False, reply)
        self.assertIsInstance(reply.get("error"), dict, reply)
        self.assertIsInstance(reply["error"].get("code"), str, reply)
        self.assertIsInstance(reply["error"].get("message"), str, reply)
        if code is not None:
            self.assertEqual(reply["error"]["code"], code, reply)

    def assert_alive(self):
        """Another client is answered promptly."""
        t0 = time.monotonic()
        self.assertTrue(self.d.request({"cmd": "ping"}, timeout=10)["ok"])
        self.assertLess(time.monotonic() - t0, 5)


class Errors(ProtocolTest):
    def test_malformed_json_then_valid_request(self):
        c = self.client()
        self.assert_error(c.ask(b'{"cmd": ping\n'), "bad-request")
        self.assertTrue(c.ask({"cmd": "ping"})["ok"])
        self.assert_error(c.ask(b'{"cmd":"ping"\n'), "bad-request")
        self.assert_error(c.ask(b'\xff\xfe{}\n'), "bad-request")
        self.assertTrue(c.ask({"cmd": "ping"})["ok"])

    def test_not_an_object(self):
        c = self.client()
        for req in (b'[{"cmd":"ping"}]\n', b'"ping"\n', b'42\n',
                    b'null\n', b'true\n'):
            self.assert_error(c.ask(req), "bad-request")
        self.assertTrue(c.ask({"cmd": "ping"})["ok"])

    def test_missing_or_bad_cmd(self):
        c = self.client()
        self.assert_error(c.ask({}), "bad-request")
        self.assert_error(c.ask({"command": "ping"}), "bad-request")
        self.assert_error(c.ask({"cmd": 5}), "bad-request")
        self.assert_error(c.ask({"cmd": None}), "bad-request")

    def test_unknown_command(self):
        c = self.client()
        self.assert_error(c.ask({"cmd": "frobnicate"}), "unknown-command")
        self.assert_error(c.ask({"cmd": "PING"}), "unknown-command")
        self.assertTrue(c.ask({"cmd": "ping"})["ok"])

    def test_wrong_member_types(self):
        c = self.client()
        run_id = self.d.run("hello")["id"]
        for req in ({"cmd": "status", "run": "x"},
                    {"cmd": "status", "run": str(run_id)},
                    {"cmd": "status"},
                    {"cmd": "run", "task": 5},
                    {"cmd": "run", "task": ["hello"]},
                    {"cmd": "run", "task": "hello", "wait": "yes"},
                    {"cmd": "run", "task": "hello", "params": "x=1"},
                    {"cmd": "runs", "limit": "2"},
                    {"cmd": "logs", "run": 1.5},
                    {"cmd": "show", "task": {}}):
            reply = c.ask(req)
            self.assert_error(reply)
            self.assertNotIn(reply["error"]["code"],
                             ("bad-request", "unknown-command"), req)
        # None of them started a run.
        self.assertEqual(len(self.d.request({"cmd": "runs"})["runs"]), 1)
        self.assertEqual(c.ask({"cmd": "status", "run": run_id})
                         ["run"]["id"], run_id)


    def test_unknown_members_are_errors(self):
        """A member its command does not take is an error: a run asked for
        with an option this daemon does not know (say a repeat) is not
        started at once."""
        c = self.client()
        for req in ({"cmd": "run", "task": "hello", "every": "1h"},
                    {"cmd": "run", "task": "hello", "until": "@2000000000"},
                    {"cmd": "ping", "verbose": True},
                    {"cmd": "status", "run": 1, "task": "hello"},
                    {"cmd": "runs", "task": "hello", "offset": 5},
                    {"cmd": "cancel", "run": 1, "force": True}):
            reply = c.ask(req)
            self.assert_error(reply, "usage")
            key = [k for k in req if k not in ("cmd", "task", "run")][0] \
                if req["cmd"] != "status" else "task"
            self.assertIn('"%s"' % key, reply["error"]["message"], req)
        self.assertEqual(self.d.request({"cmd": "runs"})["runs"], [])
        # Every member the CLI sends is taken.
        self.assertTrue(c.ask({"cmd": "run", "task": "hello", "params": {},
                               "wait": False, "follow": False})["ok"])
        self.assertEqual(c.ask({"cmd": "run", "task": "hello", "in": "1h"})
                         ["run"]["status"], "scheduled")

    def test_other_protocol_version_is_refused(self):
        """A client that says it speaks another protocol version gets a
        clear error, whatever its command, and nothing is done: the
        microlightctl of the releases before raw output (protocol 2) and
        before a list a task at a time (3) too."""
        c = self.client()
        for req in ({"cmd": "run", "task": "hello", "protocol": 2},
                    {"cmd": "logs", "run": 1, "protocol": 2},
                    {"cmd": "run", "task": "hello", "protocol": 1},
                    {"cmd": "list", "brief": True, "protocol": 3},
                    {"cmd": "run", "task": "hello", "protocol": 5},
                    {"cmd": "run", "task": "hello", "protocol": 0},
                    {"cmd": "future-command", "protocol": 999}):
            reply = c.ask(req)
            self.assert_error(reply, "protocol")
            self.assertIn("incompatible microlightctl and microlightd",
                          reply["error"]["message"])
            self.assertIn("protocol %d, microlightd %d"
                          % (req["protocol"], PROTOCOL),
                          reply["error"]["message"])
        self.assert_error(c.ask({"cmd": "ping", "protocol": "4"}), "usage")
        self.assertEqual(self.d.request({"cmd": "runs"})["runs"], [])
        # Its own version, or none (a raw client), is served.
        reply = c.ask({"cmd": "ping", "protocol": PROTOCOL})
        self.assertTrue(reply["ok"], reply)
        self.assertEqual(reply["protocol"], PROTOCOL)
        self.assertTrue(c.ask({"cmd": "run", "task": "hello",
                               "protocol": PROTOCOL})["ok"])


class Limits(ProtocolTest):
    def oversized(self, data):
        c = self.client()
        sender = threading.Thread(target=self._send_quietly,
                                  args=(c.sock, data), daemon=True)
        sender.start()
        other = self.client()
        reply = c.line()
        self.assert_error(reply, "too-large")
        sender.join(15)
        # Other clients, already connected or new, are unaffected.
        self.assertTrue(other.ask({"cmd": "ping"})["ok"])
        self.assert_alive()
        self.assertEqual(self.d.run("hello")["status"], "succeeded")

    @staticmethod
    def _send_quietly(sock, data):
        try:
            sock.sendall(data)
        except OSError:
            pass    # the daemon may close after its error reply

    def big(self, size):
        head = b'{"cmd":"ping","pad":"'
        return head + b"a" * (size - len(head))

    def test_oversized_without_newline(self):
        self.oversized(self.big(MIB + 4096))

    def test_oversized_with_newline(self):
        self.oversized(self.big(MIB + 4096) + b'"}\n')

    def test_just_under_the_limit_is_fine(self):
        # Padded with JSON whitespace: ping takes no member to pad with.
        c = self.client()
        req = b'{"cmd":"ping"' + b" " * (MIB - 200) + b'}\n'
        self.assertLess(len(req), MIB)
        reply = c.ask(req)
        self.assertTrue(reply["ok"], reply)


class SlowClients(ProtocolTest):
    def test_silent_and_half_line_clients_block_nobody(self):
        silent = self.client()
        half = self.client()
        half.send(b'{"cmd":"pi')
        time.sleep(0.2)
        for _ in range(3):
            t0 = time.monotonic()
            c = self.client()
            self.assertTrue(c.ask({"cmd": "ping"})["ok"])
            self.assertTrue(c.ask({"cmd": "list"})["ok"])
            self.assertLess(time.monotonic() - t0, 5)
        t0 = time.monotonic()
        run = self.d.run("hello")
        self.assertEqual(run["status"], "succeeded")
        self.assertEqual(self.d.ctl("list", check=0).returncode, 0)
        self.assertLess(time.monotonic() - t0, 15)
        # The half line, completed, is still answered.
        half.send(b'ng"}\n')
        self.assertTrue(half.line()["ok"])
        self.assertTrue(silent.ask({"cmd": "ping"})["ok"])

    def test_fifty_concurrent_clients(self):
        clients = [self.client() for _ in range(50)]
        for c in clients:
            c.send({"cmd": "ping"})
        for c in clients:
            reply = c.line()
            self.assertTrue(reply["ok"])
            self.assertIn("version", reply)

    def test_fifty_clients_in_threads(self):
        results = []
        errors = []

        def one():
            try:
                results.append(self.d.request({"cmd": "ping"}, timeout=20))
            except Exception as e:      # reported below
                errors.append(e)
        threads = [threading.Thread(target=one) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 50)
        self.assertTrue(all(r["ok"] for r in results))


class Pipelining(ProtocolTest):
    def test_replies_in_order(self):
        run_id = self.d.run("hello")["id"]
        c = self.client()
        c.send(b'{"cmd":"ping"}\n{"cmd":"status","run":%d}\n'
               b'{"cmd":"bogus"}\n{"cmd":"list"}\n'
               b'{"cmd":"status","run":999999}\n' % run_id)
        r = c.line()
        self.assertTrue(r["ok"])
        self.assertIn("version", r)
        r = c.line()
        self.assertEqual(r["run"]["id"], run_id)
        self.assert_error(c.line(), "unknown-command")
        r = c.line()
        self.assertIn("hello", [t["name"] for t in r["tasks"]])
        self.assert_error(c.line(), "unknown-run")

    def test_request_after_a_waited_run(self):
        c = self.client()
        c.send(b'{"cmd":"run","task":"hello","wait":true}\n'
               b'{"cmd":"ping"}\n')
        first = c.line()
        self.assertTrue(first["ok"])
        events = c.until_end()
        self.assertEqual(events[-1]["run"]["status"], "succeeded")
        r = c.line()
        self.assertTrue(r["ok"])
        self.assertIn("version", r)


class Following(ProtocolTest):
    def test_run_reply(self):
        c = self.client()
        r = c.ask({"cmd": "run", "task": "hello"})
        self.assertIs(r["ok"], True)
        self.assertIsInstance(r["run"], dict)
        self.assertIsInstance(r["run"]["id"], int)
        self.assertEqual(r["run"]["task"], "hello")
        self.assertIn(r["run"]["status"], ("queued", "running"))
        self.d.wait_status(r["run"]["id"], "succeeded")

    def test_run_wait(self):
        c = self.client()
        r = c.ask({"cmd": "run", "task": "mixed", "wait": True})
        self.assertTrue(r["ok"])
        run_id = r["run"]["id"]
        events = c.until_end()
        for ev in events:
            self.assertIn(ev["event"], ("status", "output", "end"))
        self.assertEqual([e for e in events if e["event"] == "output"], [],
                         "output events without follow")
        end = events[-1]
        self.assertEqual(end["run"]["id"], run_id)
        self.assertEqual(end["run"]["status"], "succeeded")
        self.assertEqual(end["run"]["exit_code"], 0)
        self.assertIsNotNone(end["run"]["finished_at"])
        # The connection still serves requests.
        self.assertTrue(c.ask({"cmd": "ping"})["ok"])

    def test_run_follow(self):
        c = self.client()
        r = c.ask({"cmd": "run", "task": "mixed", "follow": True})
        self.assertTrue(r["ok"])
        events = c.until_end()
        streams = {"stdout": b"", "stderr": b""}
        order = []
        for ev in events:
            if ev["event"] != "output":
                continue
            self.assertIn(ev["stream"], streams)
            data = base64.b64decode(ev["data"], validate=True)
            streams[ev["stream"]] += data
            order.append((ev["stream"], data))
        self.assertEqual(streams["stdout"], b"out1\nout2 \xff\x00 end\n")
        self.assertEqual(streams["stderr"], b"err1\n")
        self.assertEqual([s for s, _ in order],
                         ["stdout", "stderr", "stdout"])
        self.assertEqual(events[-1]["event"], "end")
        self.assertEqual(events[-1]["run"]["status"], "succeeded")

    def test_logs_reply_events_and_end(self):
        run_id = self.d.run("mixed")["id"]
        c = self.client()
        r = c.ask({"cmd": "logs", "run": run_id})
        self.assertTrue(r["ok"])
        self.assertEqual(r["run"]["id"], run_id)
        events = c.until_end()
        data = b"".join(base64.b64decode(e["data"]) for e in events
                        if e["event"] == "output")
        self.assertEqual(data, b"out1\nerr1\nout2 \xff\x00 end\n")
        self.assertEqual(events[-1]["run"]["id"], run_id)
        self.assertEqual(events[-1]["run"]["status"], "succeeded")

        r = c.ask({"cmd": "logs", "run": run_id, "stream": "stderr"})
        self.assertTrue(r["ok"])
        events = c.until_end()
        data = b"".join(base64.b64decode(e["data"]) for e in events
                        if e["event"] == "output")
        self.assertEqual(data, b"err1\n")

    def test_logs_raw(self):
        """With "raw": true an output event's line gives the chunk's size
        and its bytes follow the line as they are (newlines and all);
        the next line starts after them, and requests sent meanwhile
        are answered after the end."""
        run_id = self.d.run("mixed")["id"]
        c = self.client()
        c.send(b'{"cmd":"logs","run":%d,"raw":true}\n{"cmd":"ping"}\n'
               % run_id)
        r = c.line()
        self.assertTrue(r["ok"], r)
        events = c.raw_until_end()
        out = [(e["stream"], e["seq"], e["time"], d) for e, d in events
               if e["event"] == "output"]
        self.assertEqual(b"".join(d for _, _, _, d in out),
                         b"out1\nerr1\nout2 \xff\x00 end\n")
        self.assertEqual([s for s, _, _, _ in out],
                         ["stdout", "stderr", "stdout"])
        self.assertEqual([seq for _, seq, _, _ in out],
                         sorted(seq for _, seq, _, _ in out))
        for _, _, t, _ in out:
            self.assertRegex(t, r"^\d{4}-\d\d-\d\dT.*Z$")
        self.assertEqual(events[-1][0]["run"]["status"], "succeeded")
        self.assertIn("version", c.line())

        # One stream; and the same run's log in base64 without "raw".
        c.send({"cmd": "logs", "run": run_id, "stream": "stderr",
                "raw": True})
        self.assertTrue(c.line()["ok"])
        self.assertEqual(b"".join(d for _, d in c.raw_until_end()),
                         b"err1\n")
        self.assertTrue(c.ask({"cmd": "logs", "run": run_id,
                               "raw": False})["ok"])
        self.assertEqual(b"".join(
            base64.b64decode(e["data"], validate=True)
            for e in c.until_end() if e["event"] == "output"),
            b"out1\nerr1\nout2 \xff\x00 end\n")

    def test_run_follow_raw(self):
        """run with follow and raw: the run's output raw, live, then the
        end; raw must be true or false."""
        c = self.client()
        r = c.ask({"cmd": "run", "task": "mixed", "follow": True,
                   "raw": True})
        self.assertTrue(r["ok"], r)
        events = c.raw_until_end()
        self.assertEqual(b"".join(d for _, d in events),
                         b"out1\nerr1\nout2 \xff\x00 end\n")
        self.assertEqual(events[-1][0]["run"]["status"], "succeeded")
        self.assert_error(c.ask({"cmd": "logs", "run": r["run"]["id"],
                                 "raw": "yes"}), "usage")
        self.assert_error(c.ask({"cmd": "status", "run": r["run"]["id"],
                                 "raw": True}), "usage")

    def test_disconnect_while_following(self):
        c = self.client()
        r = c.ask({"cmd": "run", "task": "slow", "follow": True})
        run_id = r["run"]["id"]
        while True:
            ev = c.line()
            if ev.get("event") == "output":
                break
        c.close()
        self.clients.remove(c)
        self.assert_alive()
        # The rest of the output comes after the follower has gone.
        self.go(run_id)
        run = self.d.wait_status(run_id, ("succeeded", "failed",
                                          "cancelled"), timeout=30)
        self.assertEqual(run["status"], "succeeded")
        self.assertEqual(self.d.logs(run_id), b"".join(
            b"line %d\n" % i for i in range(10)))
        self.assertIsNone(self.d.proc.poll())

    def test_disconnect_while_following_raw(self):
        """A raw follower that goes away inside an event's bytes (they
        are handed to the socket by reference) costs the daemon nothing;
        the next raw follower gets the whole log."""
        c = self.client()
        r = c.ask({"cmd": "run", "task": "slow", "follow": True,
                   "raw": True})
        run_id = r["run"]["id"]
        while c.line().get("event") != "output":
            pass
        c.close()
        self.clients.remove(c)
        self.assert_alive()
        self.go(run_id)
        run = self.d.wait_status(run_id, ("succeeded", "failed",
                                          "cancelled"), timeout=30)
        self.assertEqual(run["status"], "succeeded")
        c = self.client()
        self.assertTrue(c.ask({"cmd": "logs", "run": run_id,
                               "raw": True})["ok"])
        self.assertEqual(b"".join(d for _, d in c.raw_until_end()),
                         b"".join(b"line %d\n" % i for i in range(10)))
        self.assertIsNone(self.d.proc.poll())

    def test_triggered_by_peer_uid(self):
        c = self.client()
        r = c.ask({"cmd": "run", "task": "hello", "wait": True})
        uid = os.getuid()
        expected = "uid=%d(%s)" % (uid, pwd.getpwuid(uid).pw_name)
        self.assertEqual(r["run"]["triggered_by"], expected)
        end = c.until_end()[-1]
        self.assertEqual(end["run"]["triggered_by"], expected)
        self.assertEqual(end["run"]["trigger"], "cli")


if __name__ == "__main__":
    main()
