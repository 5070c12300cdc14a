#!/usr/bin/env python3
"""The example notifiers of tasks.d (issue 16, point 3): notify-mail hands
sendmail -t a mail whose headers nothing of the subject task can add to,
notify-slack posts JSON that parses and carries the run's output as it
was, and both fail, saying why, when they cannot deliver. Each script runs
as the daemon runs a notifier: SPEC section 9's environment, the last
output of the run on stdin; sendmail is a fake first on PATH, the webhook
a local HTTP server."""

import email
import email.policy
import email.utils
import http.server

from harness import *

EXAMPLES = os.path.join(SRCDIR, "tasks.d")
NOTIFY_MAIL = os.path.join(EXAMPLES, "notify-mail.sh")
NOTIFY_SLACK = os.path.join(EXAMPLES, "notify-slack.sh")

# A failed run of backup, as the daemon describes it to a notifier.
FAILURE = {
    "MICROLIGHT_EVENT": "failure",
    "MICROLIGHT_SUBJECT_TASK": "backup",
    "MICROLIGHT_SUBJECT_RUN": "42",
    "MICROLIGHT_SUBJECT_STATUS": "failed",
    "MICROLIGHT_SUBJECT_EXIT_CODE": "2",
    "MICROLIGHT_SUBJECT_URL": "http://127.0.0.1:8080/runs/42",
    "MICROLIGHT_SUBJECT_TRIGGERED_BY": "schedule",
}

# Output a notifier must carry as it is: quotes, backslashes (one before
# an n too), a tab, a terminal escape and other control characters,
# characters of two, three and four bytes, JSON, an empty line.
TRICKY = [
    'say "hi" and \'bye\'',
    'back\\slash, \\n is not a newline, \\u0041 nor an escape',
    'a\ttab',
    '\x1b[31mred\x1b[0m \x01\x07\x7f',
    'héllo wörld ✓ 日本 𝄞',
    '',
    '{"json": ["in", "output"]}',
    '   leading blanks and trailing ones   ',
]


class Receiver:
    """An incoming webhook on a free port of 127.0.0.1, served by a
    thread: it keeps each request (method, path, headers, body) and
    answers with the status in code."""

    def __init__(self):
        self.requests = []
        self.code = 200
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                receiver.requests.append((self.command, self.path,
                                          self.headers, body))
                self.send_response(receiver.code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       args=(0.05,))
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class Notifier(unittest.TestCase):
    """A scratch directory with a bin/ first on PATH."""

    def setUp(self):
        self.scratch = tempfile.mkdtemp(prefix="ml-notifiers-")
        self.addCleanup(shutil.rmtree, self.scratch, True)
        self.bin = os.path.join(self.scratch, "bin")
        os.mkdir(self.bin)

    def tool(self, name, body):
        """A program of the test's in bin/."""
        path = os.path.join(self.bin, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(body).lstrip("\n")
                    .replace("@SCRATCH@", self.scratch))
        os.chmod(path, 0o755)
        return path

    def notify(self, script, env, stdin=b"", path=None):
        """Run a notifier as microlightd would: a clean environment
        (SPEC section 2) with env, stdin the output's tail."""
        full = {
            "PATH": path or self.bin + ":/usr/local/bin:/usr/bin:/bin",
            "HOME": self.scratch,
            "USER": "microlight",
            "LANG": "C.UTF-8",
            "MICROLIGHT_RUN_ID": "43",
            "MICROLIGHT_TASK": os.path.basename(script)[:-3],
            "MICROLIGHT_TRIGGER": "notify",
            "MICROLIGHT_TRIGGERED_BY": "notify",
            "MICROLIGHT_ATTEMPT": "1",
        }
        full.update(env)
        return subprocess.run([script], env=full, input=stdin,
                              capture_output=True, timeout=60)


class Mail(Notifier):
    def setUp(self):
        super().setUp()
        self.tool("sendmail", """\
            #!/bin/sh
            printf '%s\\n' "$@" > @SCRATCH@/args
            cat > @SCRATCH@/message
            exit ${SENDMAIL_EXIT:-0}
            """)

    def mail(self, env, stdin=b"", to="ops@example.com", check=0):
        """Run notify-mail; the message sendmail got: (its headers, by
        lower-case name, each there once; the message object; the body's
        bytes)."""
        if to is not None:
            env = dict(env, to=to)
        p = self.notify(NOTIFY_MAIL, env, stdin)
        self.assertEqual(p.returncode, check, p.stderr)
        with open(os.path.join(self.scratch, "args")) as f:
            self.assertEqual(f.read().split(), ["-t", "-oi"])
        with open(os.path.join(self.scratch, "message"), "rb") as f:
            raw = f.read()
        head, sep, body = raw.partition(b"\n\n")
        self.assertEqual(sep, b"\n\n", raw)
        headers = {}
        for line in head.decode("ascii").split("\n"):
            # Every header one line of printable ASCII, none folded, and
            # none twice.
            self.assertRegex(line, r"^[A-Za-z][A-Za-z-]*: [ -~]*$", raw)
            name, value = line.split(": ", 1)
            self.assertNotIn(name.lower(), headers, raw)
            headers[name.lower()] = value
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        return headers, msg, body

    def test_failure(self):
        out = b"".join(b"line %d\n" % i for i in range(1, 101))
        h, msg, body = self.mail(FAILURE, out)
        self.assertEqual(h["to"], "ops@example.com")
        self.assertEqual(h["subject"], "[microlight] backup failed (run 42)")
        self.assertRegex(h["from"], r'^"microlight on [^"]+" <microlight>$')
        date = email.utils.parsedate_to_datetime(h["date"])
        self.assertLess(abs(date.timestamp() - time.time()), 300)
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg.get_content_charset(), "utf-8")
        self.assertEqual(h["auto-submitted"], "auto-generated")
        text = body.decode()
        for want in (r"(?m)^backup failed \(run 42\)\.$",
                     r"(?m)^Event: +failure$", r"(?m)^Task: +backup$",
                     r"(?m)^Run: +42$", r"(?m)^Status: +failed$",
                     r"(?m)^Exit code: +2$", r"(?m)^Started by: +schedule$",
                     r"(?m)^Page: +http://127\.0\.0\.1:8080/runs/42$"):
            self.assertRegex(text, want)
        # The last 50 lines of the output, in order.
        tail = "".join("line %d\n" % i for i in range(51, 101))
        self.assertIn("\n\n" + tail, text)
        self.assertNotIn("line 50\n", text)

    def test_subject_per_event(self):
        cases = [
            ({"MICROLIGHT_SUBJECT_STATUS": "timed_out",
              "MICROLIGHT_SUBJECT_EXIT_CODE": ""},
             "backup timed out (run 42)"),
            ({"MICROLIGHT_SUBJECT_STATUS": "lost",
              "MICROLIGHT_SUBJECT_EXIT_CODE": ""},
             "backup was lost (run 42)"),
            ({"MICROLIGHT_EVENT": "recovery",
              "MICROLIGHT_SUBJECT_STATUS": "succeeded",
              "MICROLIGHT_SUBJECT_EXIT_CODE": "0"},
             "backup recovered (run 42)"),
            ({"MICROLIGHT_EVENT": "missed", "MICROLIGHT_SUBJECT_RUN": "",
              "MICROLIGHT_SUBJECT_STATUS": "",
              "MICROLIGHT_SUBJECT_EXIT_CODE": "",
              "MICROLIGHT_SUBJECT_TRIGGERED_BY": "",
              "MICROLIGHT_SUBJECT_URL": "http://127.0.0.1:8080/tasks/backup"},
             "backup did not run (missed)"),
            ({"MICROLIGHT_EVENT": "missed",
              "MICROLIGHT_SUBJECT_STATUS": "skipped",
              "MICROLIGHT_SUBJECT_EXIT_CODE": ""},
             "backup did not run (missed, run 42 skipped)"),
            ({"MICROLIGHT_EVENT": "overdue", "MICROLIGHT_SUBJECT_RUN": "",
              "MICROLIGHT_SUBJECT_STATUS": "",
              "MICROLIGHT_SUBJECT_EXIT_CODE": "",
              "MICROLIGHT_SUBJECT_TRIGGERED_BY": "",
              "MICROLIGHT_SUBJECT_URL": ""},
             "backup is overdue"),
            ({"MICROLIGHT_EVENT": "success",
              "MICROLIGHT_SUBJECT_STATUS": "succeeded",
              "MICROLIGHT_SUBJECT_EXIT_CODE": "0"},
             "backup succeeded (run 42)"),
        ]
        for env, subject in cases:
            with self.subTest(subject=subject):
                h, msg, body = self.mail(dict(FAILURE, **env))
                self.assertEqual(h["subject"], "[microlight] " + subject)
                self.assertIn(b"\nEvent:      %s\n" % env.get(
                    "MICROLIGHT_EVENT", "failure").encode(), body)
                # What the daemon left empty is not in the body.
                for var, label in (("RUN", b"Run:"), ("STATUS", b"Status:"),
                                   ("EXIT_CODE", b"Exit code:"),
                                   ("URL", b"Page:")):
                    if env.get("MICROLIGHT_SUBJECT_" + var) == "":
                        self.assertNotIn(b"\n" + label, body)

    def test_default_recipient(self):
        """Without the parameter (the daemon gives its default), root."""
        h, msg, body = self.mail(FAILURE, to=None)
        self.assertEqual(h["to"], "root")

    def test_no_header_injection(self):
        """CR, LF and the rest in the task's name, status, the address
        and the output add no header: they stay on their line or in the
        body."""
        env = dict(FAILURE, MICROLIGHT_SUBJECT_TASK="backup\r\nBcc: a@evil",
                   MICROLIGHT_SUBJECT_STATUS="failed\nBcc: b@evil",
                   MICROLIGHT_SUBJECT_EXIT_CODE="2\rBcc: c@evil",
                   MICROLIGHT_SUBJECT_TRIGGERED_BY="x\r\n\r\nBcc: d@evil",
                   MICROLIGHT_EVENT="failure\nBcc: e@evil")
        out = b"\r\nBcc: f@evil\r\n\r\nTo: g@evil\n\n.\nSubject: h\n"
        h, msg, body = self.mail(env, out,
                                     to="ops@example.com\r\nBcc: i@evil")
        self.assertNotIn("bcc", h)
        self.assertEqual(h["to"], "ops@example.comBcc: i@evil")
        self.assertEqual(h["subject"], "[microlight] backupBcc: a@evil "
                         "failureBcc: e@evil (run 42)")
        self.assertEqual(h["x-microlight-event"], "failureBcc: e@evil")
        self.assertIn(b"\nStarted by: xBcc: d@evil\n", body)
        # The output, in the body, after the lone dot too (sendmail -oi).
        self.assertIn(b"\nBcc: f@evil\n\nTo: g@evil\n\n.\nSubject: h\n",
                      body)

    def test_output_made_safe(self):
        """NUL and control characters (tabs aside) are dropped, invalid
        UTF-8 too, and no line is longer than mail allows."""
        out = (b"nul\x00 esc\x1b[1m bell\x07 cr\r\n"
               b"tab\tok caf\xc3\xa9 bad\xff\xfe \xe2\x9c\x93\n" +
               b"x" * 2000 + b"\n" + "é".encode() * 600 + b"\nend")
        h, msg, body = self.mail(FAILURE, out)
        text = body.decode("utf-8")	# strictly: valid UTF-8
        self.assertIn("\nnul esc[1m bell cr\ntab\tok café bad ✓\n", text)
        self.assertNotRegex(text, "[\x00-\x08\x0b-\x1f\x7f]")
        for line in body.split(b"\n"):
            self.assertLessEqual(len(line), 998)
        self.assertIn("\n" + "x" * 900 + "\n" + "x" * 900 + "\n" +
                      "x" * 200 + "\n" + "é" * 450 + "\n" + "é" * 150 +
                      "\nend\n", text)
        self.assertIn("\nend\n", text)

    def test_by_hand(self):
        """Run from the page or the CLI (no event, stdin /dev/null): a
        test mail, so that a team can see that mail arrives."""
        with open(os.devnull, "rb") as null:
            p = subprocess.run(
                [NOTIFY_MAIL], stdin=null, capture_output=True, timeout=60,
                env={"PATH": self.bin + ":/usr/bin:/bin", "USER": "alice",
                     "MICROLIGHT_TASK": "notify-mail",
                     "MICROLIGHT_TRIGGERED_BY": "uid=1000(alice)",
                     "to": "ops@example.com"})
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.scratch, "message"), "rb") as f:
            msg = email.message_from_bytes(f.read(),
                                           policy=email.policy.default)
        self.assertEqual(msg["To"], "ops@example.com")
        self.assertRegex(msg["Subject"], r"^\[microlight\] test mail from "
                         r"notify-mail on \S+$")
        self.assertIn("run by uid=1000(alice)", msg.get_content())
        self.assertIn(b"mailed ops@example.com", p.stdout)

    def test_sendmail_missing(self):
        p = self.notify(NOTIFY_MAIL, dict(FAILURE,
                                          SENDMAIL="/nonexistent/sendmail"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"no sendmail at /nonexistent/sendmail", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.scratch, "args")))
        # None on PATH nor in /usr/sbin (where this machine has none: with
        # one, the script would rightly use it).
        path = "/usr/bin:/bin"
        if any(os.path.exists(os.path.join(d, "sendmail"))
               for d in path.split(":") + ["/usr/sbin"]):
            return
        p = self.notify(NOTIFY_MAIL, FAILURE, path=path)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"notify-mail: no sendmail: install", p.stderr)

    def test_sendmail_named(self):
        """@env SENDMAIL=PROGRAM, a name on PATH or a path."""
        os.rename(os.path.join(self.bin, "sendmail"),
                  os.path.join(self.bin, "msmtp"))
        h, msg, body = self.mail(dict(FAILURE, SENDMAIL="msmtp"))
        self.assertEqual(h["to"], "ops@example.com")
        os.unlink(os.path.join(self.scratch, "message"))
        h, msg, body = self.mail(dict(
            FAILURE, SENDMAIL=os.path.join(self.bin, "msmtp"),
            MAILFROM="microlight@example.com\nBcc: x@evil"))
        self.assertEqual(h["from"], "microlight@example.comBcc: x@evil")

    def test_sendmail_fails(self):
        p = self.notify(NOTIFY_MAIL, dict(FAILURE, SENDMAIL_EXIT="75"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"sendmail failed (exit status 75)", p.stderr)


class Slack(Notifier):
    def setUp(self):
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        self.url = self.receiver.base + "/services/T000/B000/secret"

    def post(self, env, stdin=b"", url="", check=0):
        """Run notify-slack (url the parameter, empty as the daemon gives
        it by default); the text it posted."""
        env = dict({"SLACK_WEBHOOK_URL": self.url, "url": url}, **env)
        n = len(self.receiver.requests)
        p = self.notify(NOTIFY_SLACK, env, stdin)
        self.assertEqual(p.returncode, check, p.stderr)
        self.assertEqual(len(self.receiver.requests), n + 1)
        method, path, headers, body = self.receiver.requests[-1]
        self.assertEqual(method, "POST")
        self.assertEqual(headers["Content-Type"], "application/json")
        body.decode("ascii")	# every character escaped
        payload = json.loads(body)
        self.assertEqual(list(payload), ["text"])
        self.path = path
        return payload["text"]

    @staticmethod
    def block(text):
        """The output in the message, between its ``` lines."""
        head, sep, rest = text.partition("\n```\n")
        assert sep, text
        output, sep, end = rest.rpartition("\n```")
        assert sep and end == "", text
        return output

    def test_failure(self):
        text = self.post(FAILURE, b"first\nlast words\n")
        self.assertEqual(self.path, "/services/T000/B000/secret")
        self.assertEqual(text.split("\n")[:4], [
            "[microlight] backup failed (run 42)",
            "Event: failure, status: failed, exit code: 2",
            "Started by: schedule",
            "Page: http://127.0.0.1:8080/runs/42"])
        self.assertEqual(self.block(text), "first\nlast words")

    def test_without_run(self):
        text = self.post(dict(
            FAILURE, MICROLIGHT_EVENT="overdue", MICROLIGHT_SUBJECT_RUN="",
            MICROLIGHT_SUBJECT_STATUS="", MICROLIGHT_SUBJECT_EXIT_CODE="",
            MICROLIGHT_SUBJECT_TRIGGERED_BY="",
            MICROLIGHT_SUBJECT_URL="http://127.0.0.1:8080/tasks/backup"))
        self.assertEqual(text, "[microlight] backup is overdue\n"
                         "Event: overdue\n"
                         "Page: http://127.0.0.1:8080/tasks/backup")

    def test_output_byte_exact(self):
        out = "\n".join(TRICKY).encode() + b"\n"
        text = self.post(FAILURE, out)
        self.assertEqual(self.block(text), "\n".join(TRICKY))
        # Without a final newline, the same.
        text = self.post(FAILURE, out[:-1])
        self.assertEqual(self.block(text), "\n".join(TRICKY))

    def test_invalid_utf8(self):
        """Each maximal invalid sequence becomes one U+FFFD, as Python's
        (and every conforming) decoder does; what is valid stays."""
        out = (b"ok \xff end\n"		# never valid
               b"\xc0\xaf overlong\n"	# an overlong /
               b"\xed\xa0\x80 surrogate\n"
               b"\xf4\x90\x80\x80 beyond U+10FFFF\n"
               b"\xe2\x82x cut short\n"
               b"\xf0\x9f\x98\n"		# three of four bytes
               b"nul \x00 \xe2\x9c\x93 fin \xf0\x9f\x98\x80")
        text = self.post(FAILURE, out)
        self.assertEqual(self.block(text), out.decode("utf-8", "replace"))

    def test_markup_neutralised(self):
        """As Slack asks, & < > are sent as &amp; &lt; &gt;: a task's
        output cannot ping the channel or make links; and it cannot close
        the ``` block around it."""
        out = b"<!channel> <@U123> <http://evil|click> a & b\n```\n@here\n"
        text = self.post(FAILURE, out)
        self.assertNotIn("<", text)
        self.assertNotIn(">", text)
        self.assertEqual(self.block(text),
                         "&lt;!channel&gt; &lt;@U123&gt; &lt;http://evil|"
                         "click&gt; a &amp; b\n`\u200b`\u200b`\n@here")
        self.assertEqual(text.count("```"), 2)

    def test_last_lines(self):
        """The last 20 lines, at most 2000 bytes of them; a character cut
        at the start of that is left out, not mangled."""
        out = b"".join(b"line %d\n" % i for i in range(1, 101))
        text = self.post(FAILURE, out)
        self.assertEqual(self.block(text).split("\n"),
                         ["line %d" % i for i in range(81, 101)])
        out = ("é" * 1500 + "\n").encode()
        text = self.post(FAILURE, out)
        self.assertEqual(self.block(text), "é" * 999)
        out = b"".join(b"%03d " % i + b"x" * 296 + b"\n" for i in range(30))
        text = self.post(FAILURE, out)
        output = self.block(text)
        self.assertLessEqual(len(output.encode()), 2000)
        self.assertTrue(output.endswith("\n029 " + "x" * 296), output)
        self.assertLess(len(text), 2300)

    def test_param_url(self):
        """The parameter url, when given, wins over SLACK_WEBHOOK_URL."""
        self.post(FAILURE, url=self.receiver.base + "/hooks/other")
        self.assertEqual(self.path, "/hooks/other")

    def test_url_not_in_arguments(self):
        """The URL (a secret) is not on curl's command line, where ps
        shows it to every user."""
        self.tool("curl", """\
            #!/bin/sh
            printf '%%s\\n' "$@" > @SCRATCH@/curl-args
            exec %s "$@"
            """ % shutil.which("curl"))
        self.post(FAILURE)
        with open(os.path.join(self.scratch, "curl-args")) as f:
            args = f.read()
        self.assertIn("--max-time\n20\n", args)
        self.assertNotIn("secret", args)
        self.assertEqual(self.path, "/services/T000/B000/secret")

    def test_http_error(self):
        for code in (500, 404):
            with self.subTest(code=code):
                self.receiver.code = code
                n = len(self.receiver.requests)
                p = self.notify(NOTIFY_SLACK, dict(
                    FAILURE, SLACK_WEBHOOK_URL=self.url), b"out\n")
                self.assertEqual(len(self.receiver.requests), n + 1)
                self.assertEqual(p.returncode, 1)
                self.assertIn(b"error: %d" % code, p.stderr)
                self.assertIn(b"notify-slack: posting failed", p.stderr)

    def test_no_url(self):
        for env in ({}, {"SLACK_WEBHOOK_URL": "", "url": ""}):
            with self.subTest(env=env):
                p = self.notify(NOTIFY_SLACK, dict(FAILURE, **env))
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(b"no webhook URL: paste it after \"@env "
                              b"SLACK_WEBHOOK_URL=\"", p.stderr)
        self.assertEqual(self.receiver.requests, [])

    def test_bad_url(self):
        """A URL that is not http(s), or that would add a line to curl's
        configuration, is refused before anything is sent."""
        evil = os.path.join(self.scratch, "evil")
        for url in ('%s/x"\noutput = "%s' % (self.url, evil),
                    '%s/x\\"' % self.url, "file:///etc/passwd",
                    "ftp://127.0.0.1/"):
            with self.subTest(url=url):
                p = self.notify(NOTIFY_SLACK, dict(FAILURE, url=url))
                self.assertNotEqual(p.returncode, 0)
                self.assertRegex(p.stderr, rb"^notify-slack: the webhook "
                                 rb"URL (has a|must start)")
        self.assertEqual(self.receiver.requests, [])
        self.assertFalse(os.path.exists(evil))

    def test_by_hand(self):
        with open(os.devnull, "rb") as null:
            p = subprocess.run(
                [NOTIFY_SLACK], stdin=null, capture_output=True, timeout=60,
                env={"PATH": "/usr/bin:/bin", "url": self.url,
                     "MICROLIGHT_TASK": "notify-slack",
                     "MICROLIGHT_TRIGGERED_BY": "uid=1000(alice)"})
        self.assertEqual(p.returncode, 0, p.stderr)
        text = json.loads(self.receiver.requests[0][3])["text"]
        self.assertRegex(text, r"^\[microlight\] test message from "
                         r"notify-slack on \S+, run by uid=1000\(alice\)\n"
                         r"Event: test$")


class ThroughDaemon(ScratchTest):
    """The notifiers as microlightd loads and runs them (by hand, as a
    team tries them out): with the daemon's environment and stdin."""

    START = False

    def setUp(self):
        super().setUp()
        for name in ("notify-mail.sh", "notify-slack.sh"):
            shutil.copyfile(os.path.join(EXAMPLES, name),
                            os.path.join(self.d.tasks_dir, name))
            os.chmod(os.path.join(self.d.tasks_dir, name), 0o755)
        bindir = os.path.join(self.scratch, "bin")
        os.mkdir(bindir)
        with open(os.path.join(bindir, "sendmail"), "w") as f:
            f.write("#!/bin/sh\ncat > %s/message\n" % self.scratch)
        os.chmod(os.path.join(bindir, "sendmail"), 0o755)
        self.d.env["PATH"] = bindir + ":" + self.d.env.get("PATH", "/bin")
        self.d.start()

    def test_notify_mail(self):
        p = self.d.ctl("run", "notify-mail", "to=ops@example.com",
                       "--follow", check=0)
        self.assertIn(b"mailed ops@example.com: [microlight] test mail",
                      p.stdout)
        with open(os.path.join(self.scratch, "message"), "rb") as f:
            msg = email.message_from_bytes(f.read(),
                                           policy=email.policy.default)
        self.assertEqual(msg["To"], "ops@example.com")
        self.assertIn("run by uid=%d(" % os.getuid(), msg.get_content())

    def test_notify_slack(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        # The shipped file has an empty SLACK_WEBHOOK_URL: it says so.
        p = self.d.ctl("run", "notify-slack", "--follow", check=1)
        self.assertIn(b"no webhook URL", p.stdout + p.stderr)
        self.d.ctl("run", "notify-slack", "url=%s/hook" % receiver.base,
                   "--follow", check=0)
        self.assertEqual(len(receiver.requests), 1)
        text = json.loads(receiver.requests[0][3])["text"]
        self.assertTrue(text.startswith("[microlight] test message from "
                                        "notify-slack on "), text)


if __name__ == "__main__":
    main()
