#!/usr/bin/env python3
"""Notifications (SPEC section 9, issue 16) through the real daemon: a
notifier task that records its environment and stdin; a failure then a
failure (one notice), a recovery, success for who asks for it, a missed
fire (daemon down across it), overdue (@expect, one notice, then a
recovery), the config's notify, a notifier that fails (no loop), and a
restart between a failure and its recovery (no repeat, no loss). The
daemon runs on a shifted clock: its time passes at once."""

import threading

from harness import *
from test_http import HttpTest

RECORDER = """\
    #!/bin/sh
    # Records what it is told.
    f="@SCRATCH@/notice-$MICROLIGHT_RUN_ID"
    env | grep -E '^MICROLIGHT_(EVENT|SUBJECT_|TRIGGER=)' | sort > "$f.env"
    cat > "$f.in"
    """

JOB = """\
    #!/bin/sh
    # Fails unless @SCRATCH@/ok exists.
    # @notify rec
    # @notify fan on=success
    echo "first line"
    echo "last words"
    [ -e "@SCRATCH@/ok" ]
    """


class NoticeTest(ScratchTest):
    SHIFTED_CLOCK = True
    TASKS = {"rec.sh": RECORDER, "fan.sh": RECORDER, "job.sh": JOB}

    def notices(self, notifier="rec"):
        """What the notifier was told, oldest first: (env dict, stdin)."""
        out = []
        runs = self.d.request({"cmd": "runs", "task": notifier,
                               "limit": 100})["runs"]
        for r in sorted(runs, key=lambda r: r["id"]):
            self.assertEqual(r["trigger"], "notify", r)
            base = os.path.join(self.scratch, "notice-%d" % r["id"])
            wait_for(lambda: r["id"] and os.path.exists(base + ".in") and
                     self.d.status(r["id"])["status"] == "succeeded",
                     what="notifier run %d" % r["id"])
            with open(base + ".env") as f:
                env = dict(line.rstrip("\n").split("=", 1) for line in f)
            with open(base + ".in", "rb") as f:
                out.append((env, f.read()))
        return out

    def events(self, notifier="rec"):
        return [(e["MICROLIGHT_EVENT"], e["MICROLIGHT_SUBJECT_TASK"])
                for e, _ in self.notices(notifier)]

    def job(self, ok):
        path = os.path.join(self.scratch, "ok")
        if ok:
            open(path, "w").close()
        elif os.path.exists(path):
            os.unlink(path)
        return self.d.run("job", check=None)

    def settle(self, notifier="rec", n=None):
        """Wait until notifier has n runs, all ended."""
        def done():
            runs = self.d.request({"cmd": "runs", "task": notifier,
                                   "limit": 100})["runs"]
            return (n is None or len(runs) == n) and all(
                r["status"] not in ("queued", "running", "scheduled")
                for r in runs)
        self.d.wait_for(done, what="%s's runs" % notifier)


class Changes(NoticeTest):

    def test_failure_once_then_recovery(self):
        first = self.job(False)
        self.assertEqual(first["status"], "failed")
        self.settle(n=1)
        self.job(False)                 # still failing: no notice
        self.settle(n=1)
        ok = self.job(True)
        self.settle(n=2)
        told = self.notices()
        self.assertEqual([e["MICROLIGHT_EVENT"] for e, _ in told],
                         ["failure", "recovery"])
        env, stdin = told[0]
        self.assertEqual(env["MICROLIGHT_SUBJECT_TASK"], "job")
        self.assertEqual(env["MICROLIGHT_SUBJECT_RUN"], str(first["id"]))
        self.assertEqual(env["MICROLIGHT_SUBJECT_STATUS"], "failed")
        self.assertEqual(env["MICROLIGHT_SUBJECT_EXIT_CODE"], "1")
        self.assertEqual(env["MICROLIGHT_TRIGGER"], "notify")
        self.assertEqual(stdin, b"first line\nlast words\n")
        env, _ = told[1]
        self.assertEqual(env["MICROLIGHT_SUBJECT_RUN"], str(ok["id"]))
        self.assertEqual(env["MICROLIGHT_SUBJECT_STATUS"], "succeeded")
        # Who asks for success hears of each one (and of nothing else).
        self.job(True)
        self.settle("fan", n=2)
        self.assertEqual(self.events("fan"), [("success", "job")] * 2)
        # A notifier's runs notify nobody, itself neither.
        self.assertEqual(len(self.d.request({"cmd": "runs", "task": "rec",
                                             "limit": 100})["runs"]), 2)

    def test_restart_neither_repeats_nor_loses(self):
        self.job(False)
        self.settle(n=1)
        self.d.stop()
        self.d.start()
        self.job(False)
        self.settle(n=1)
        self.job(True)
        self.settle(n=2)
        self.assertEqual([e for e, _ in self.events()],
                         ["failure", "recovery"])

    def test_run_lost_in_a_crash_is_a_failure(self):
        self.job(False)
        self.settle(n=1)
        self.d.add_task("slow.sh", """\
            #!/bin/sh
            # Runs until it is killed.
            # @notify rec
            echo $$ > "%s/slow.pid"
            exec sleep 600
            """ % self.scratch)
        self.addCleanup(kill_group_from, os.path.join(self.scratch,
                                                      "slow.pid"))
        self.d.ctl("reload")
        slow = self.d.run("slow", wait=False)
        self.d.wait_status(slow, "running")
        self.d.kill9()
        self.d.start()
        self.settle(n=2)
        self.assertEqual(self.d.status(slow)["status"], "lost")
        # job was failing before the crash, and still is: no new notice.
        self.job(False)
        self.settle(n=2)
        self.assertEqual(self.events(), [("failure", "job"),
                                         ("failure", "slow")])

    def test_notice_written_but_not_told_is_told_after_a_crash(self):
        # The notifier is invalid when the failure comes: the notice waits
        # in the database (no run could be made), and is told once the
        # notifier is back, after a restart.
        rec = os.path.join(self.d.tasks_dir, "rec.sh")
        with open(rec) as f:
            body = f.read()
        self.d.add_task("rec.sh", "#!/bin/sh\n# @bogus\n")
        self.d.ctl("reload")
        self.job(False)
        self.d.kill9()
        with open(rec, "w") as f:
            f.write(body)
        self.d.start()
        self.settle(n=1)
        self.assertEqual(self.events(), [("failure", "job")])


class Config(NoticeTest):
    CONFIG = "notify rec on=failure\n"
    TASKS = {"rec.sh": RECORDER, "other.sh": "#!/bin/sh\n# Fails.\nexit 3\n",
             "bad.sh": "#!/bin/sh\n# A notifier that fails.\n"
                       "cat >/dev/null\nexit 1\n"}

    def test_every_task_and_no_loop(self):
        self.d.run("other", check=None)
        self.settle(n=1)
        env, _ = self.notices()[0]
        self.assertEqual(env["MICROLIGHT_SUBJECT_TASK"], "other")
        self.assertEqual(env["MICROLIGHT_SUBJECT_EXIT_CODE"], "3")
        # bad fails when it runs as a notifier: no notice of that.
        self.d.add_task("other.sh", "#!/bin/sh\n# Fails.\n# @notify bad\n"
                        "exit 3\n")
        self.d.ctl("reload")
        self.d.run("other", check=None)     # still failing: nothing
        self.d.run("bad", check=None)       # bad's own failure: told
        self.settle(n=2)
        self.settle("bad")
        self.assertEqual(self.events(), [("failure", "other"),
                                         ("failure", "bad")])


class Missed(NoticeTest):
    TASKS = {"rec.sh": RECORDER, "nightly.sh": """\
        #!/bin/sh
        # Every day at 03:00.
        # @schedule 0 3 * * *
        # @notify rec on=missed
        true
        """}

    def test_fire_passed_while_down(self):
        self.d.stop()
        self.clock.advance(2 * 86400)
        self.d.start()
        self.settle(n=1)
        env, stdin = self.notices()[0]
        self.assertEqual(env["MICROLIGHT_EVENT"], "missed")
        self.assertEqual(env["MICROLIGHT_SUBJECT_TASK"], "nightly")
        self.assertEqual(env["MICROLIGHT_SUBJECT_RUN"], "")
        self.assertEqual(stdin, b"")
        # Once: another restart does not tell it again.
        self.d.stop()
        self.d.start()
        self.assertEqual(len(self.notices()), 1)


class Skipped(NoticeTest):
    TASKS = {"rec.sh": RECORDER, "busy.sh": """\
        #!/bin/sh
        # Every minute, one at a time; waits for @SCRATCH@/go.
        # @schedule * * * * *
        # @overlap skip
        # @notify rec on=missed
        while [ ! -e "@SCRATCH@/go" ]; do sleep 0.05; done
        """}

    def test_fire_skipped_by_overlap(self):
        def runs():
            return self.d.request({"cmd": "runs", "task": "busy"})["runs"]
        self.d.wait_for(lambda: any(r["status"] == "running"
                                    for r in runs()), timeout=120,
                        advance=1, what="busy to run")
        self.d.wait_for(lambda: any(r["status"] == "skipped"
                                    for r in runs()), timeout=120,
                        advance=1, what="a fire of busy to be skipped")
        open(os.path.join(self.scratch, "go"), "w").close()
        self.settle(n=1)
        env, _ = self.notices()[0]
        self.assertEqual(env["MICROLIGHT_EVENT"], "missed")
        self.assertEqual(env["MICROLIGHT_SUBJECT_TASK"], "busy")
        self.assertEqual(env["MICROLIGHT_SUBJECT_STATUS"], "skipped")


class Overdue(NoticeTest):
    TASKS = {"rec.sh": RECORDER, "pushed.sh": """\
        #!/bin/sh
        # Started by CI; at least every hour.
        # @expect 1h
        # @notify rec
        true
        """}

    def test_once_then_recovery(self):
        self.d.advance(3601)
        self.settle(n=1)
        self.d.advance(3601)
        self.d.request({"cmd": "ping"})
        self.settle(n=1)
        self.assertEqual(self.events(), [("overdue", "pushed")])
        listed = {t["name"]: t for t in self.d.ctl_json("list")[-1]["tasks"]}
        self.assertIsNotNone(listed["pushed"].get("overdue_since"),
                             listed["pushed"])
        self.assertRegex(self.d.ctl("list").stdout.decode(),
                         r"pushed .*overdue since ")
        self.d.run("pushed")
        self.settle(n=2)
        self.assertEqual(self.events(), [("overdue", "pushed"),
                                         ("recovery", "pushed")])
        listed = {t["name"]: t for t in self.d.ctl_json("list")[-1]["tasks"]}
        self.assertIsNone(listed["pushed"].get("overdue_since"))


EXAMPLES = os.path.join(os.environ.get("ML_SRCDIR", os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
    "tasks.d")


def example(name, env):
    """An example notifier of tasks.d with @env lines set (or added)."""
    with open(os.path.join(EXAMPLES, name)) as f:
        body = f.read()
    for key, value in env.items():
        line = "# @env %s=%s\n" % (key, value)
        body, n = re.subn(r"(?m)^# @env %s=.*\n" % key, lambda m: line,
                          body)
        if n == 0:
            body = body.replace("# @timeout", line + "# @timeout", 1)
    return body


class Examples(NoticeTest):
    """The example notifiers, told by the daemon: notify-mail through a
    fake sendmail, notify-slack to a local incoming webhook."""

    TASKS = {"job.sh": """\
        #!/bin/sh
        # Fails.
        # @notify notify-mail on=failure
        # @notify notify-slack on=failure
        echo "it broke"
        exit 4
        """}

    def test_mail_and_slack(self):
        import http.server
        got = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                got.append(self.rfile.read(int(self.headers[
                    "Content-Length"])))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever,
                                  args=(0.05,))
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(server.shutdown)
        fake = os.path.join(self.scratch, "sendmail")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\ncat > %s/mail\n" % self.scratch)
        os.chmod(fake, 0o755)
        self.d.add_task("notify-mail.sh", example(
            "notify-mail.sh", {"SENDMAIL": fake}))
        self.d.add_task("notify-slack.sh", example(
            "notify-slack.sh", {"SLACK_WEBHOOK_URL": "http://127.0.0.1:%d/x"
                                % server.server_address[1]}))
        self.d.ctl("reload")
        run = self.d.run("job", check=None)
        self.settle("notify-mail", n=1)
        self.settle("notify-slack", n=1)
        for task in ("notify-mail", "notify-slack"):
            r = self.d.request({"cmd": "runs", "task": task})["runs"][0]
            self.assertEqual((r["trigger"], r["status"]),
                             ("notify", "succeeded"), r)
        with open(os.path.join(self.scratch, "mail")) as f:
            mail = f.read()
        self.assertRegex(mail, r"(?m)^To: root$")
        self.assertRegex(mail, r"(?m)^Subject: .*job.*fail")
        self.assertIn("it broke", mail)
        self.assertIn(str(run["id"]), mail)
        self.assertEqual(len(got), 1)
        text = json.loads(got[0])["text"]
        self.assertIn("job", text)
        self.assertIn("it broke", text)


class Shows(HttpTest):
    """Where an overdue or failing task shows: the page (a badge and since
    when) and /metrics."""
    SHIFTED_CLOCK = True
    TASKS = {"pushed.sh": """\
        #!/bin/sh
        # At least every hour.
        # @expect 1h
        [ -e "@SCRATCH@/ok" ]
        """}

    def metric(self):
        body = self.get("/metrics").body.decode()
        m = re.search(r'^microlight_task_overdue\{task="pushed"\} (\d)$',
                      body, re.M)
        return m and int(m.group(1))

    def test_page_and_metrics(self):
        self.assertEqual(self.metric(), 0)
        self.d.advance(3601)
        self.d.wait_for(lambda: self.metric() == 1, what="overdue")
        page = self.get("/").body.decode()
        self.assertIn('id="overdue-pushed">overdue</span>', page)
        self.assertIn("Overdue since ", page)
        self.assertIn("no success for 1h", page)
        self.d.run("pushed", check=None)            # fails
        page = self.get("/").body.decode()
        self.assertIn('id="failing-pushed">failing</span>', page)
        self.assertIn("Failing since ", page)
        open(os.path.join(self.scratch, "ok"), "w").close()
        self.d.run("pushed")
        self.assertEqual(self.metric(), 0)
        page = self.get("/").body.decode()
        self.assertNotIn('id="overdue-pushed"', page)
        self.assertNotIn('id="failing-pushed"', page)


if __name__ == "__main__":
    main()
