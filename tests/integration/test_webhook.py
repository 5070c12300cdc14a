#!/usr/bin/env python3
"""Webhooks over real HTTP against the real daemon (SPEC section 6, issue 5
point 4; microlightd(8) "Webhooks", microlightctl(1) `webhook`,
microlight.conf(5) `webhook-secret`): only tasks with @webhook answer
(others and unknown names the same 404; GET is 405); the secret from
`webhook-secret` or made by the daemon and shown by `microlightctl
webhook` (whose curl line works when run), --rotate, reloads, restarts;
`Authorization: Bearer` and GitHub's `X-Hub-Signature-256`; parameters
from a JSON object, a form or the query string, validated as for any
run; ?wait (200, 502, 202 at the deadline, its limits, a client that
goes, a daemon that stops); the 202 body; the run's trigger and
triggered_by; the body as the run's stdin (webhook runs and their
retries only, byte for byte, up to 1 MiB, 413 beyond, kept over a
restart); the secret in no log, reply, record, listing or page (and,
in a sanitizer build, not leaked by --rotate); and a full queue (10000
waiting runs) answering 503 with Retry-After."""

import contextlib
import hashlib
import hmac
import http.client
import threading

from harness import *
from test_http import HttpTest, Reply, script, status_of


SECRET = "conf-secret-0123456789abcdef"     # webhook-secret in the config
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")


def sign(secret, body):
    """GitHub's X-Hub-Signature-256 value for body under secret."""
    return "sha256=" + hmac.new(secret.encode(), body,
                                hashlib.sha256).hexdigest()


def bearer(secret):
    return {"Authorization": "Bearer " + secret}


# Tasks --------------------------------------------------------------

ECHO_TASK = script("""\
    #!/bin/sh
    # Says how it was started and what came on stdin.
    # @webhook
    echo "trigger=$MICROLIGHT_TRIGGER by=$MICROLIGHT_TRIGGERED_BY"
    echo "stdin=$(readlink /proc/self/fd/0)"
    cat
    """)
PLAIN_TASK = "#!/bin/sh\n# No webhook.\necho plain\n"
PARAM_TASK = script("""\
    #!/bin/sh
    # Takes parameters.
    # @webhook
    # @param count int default=1
    # @param mode choice(soft,hard) default=soft
    # @param note string
    # @param ref string
    echo "count=$count mode=$mode note=[$note] ref=[$ref]"
    """)
REQUIRED_TASK = script("""\
    #!/bin/sh
    # Needs a host.
    # @webhook
    # @param host string required
    echo "host=$host"
    """)
GATED_HOOK = script("""\
    #!/bin/sh
    # Waits at gate 1, then prints its stdin.
    # @webhook
    @SH_GATE@
    echo started
    gate 1
    cat
    """)
FAIL_HOOK = script("""\
    #!/bin/sh
    # Fails.
    # @webhook
    echo failing >&2
    exit 3
    """)


class HookTest(HttpTest):
    """An HttpTest with a helper per way of calling a webhook."""

    CONFIG = "kill-grace 2s\n"

    def hook(self, task, query="", body=None, secret=None, headers=None,
             **kw):
        """POST /hooks/TASK[?query], with the secret as a bearer token
        when one is given."""
        hdrs = dict(headers or {})
        if secret is not None:
            hdrs.update(bearer(secret))
        path = "/hooks/" + task + ("?" + query if query else "")
        return self.d.http("POST", path, body=body, headers=hdrs, **kw)

    def accepted(self, r, status=202):
        """A reply that created a run: checks its shape; the run id."""
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        obj = r.json()
        self.assertEqual(set(obj), {"run_id", "url", "run"}, obj)
        self.assertIsInstance(obj["run_id"], int)
        self.assertEqual(obj["url"], "/runs/%d" % obj["run_id"])
        self.assertEqual(obj["run"]["id"], obj["run_id"])
        self.assertEqual(obj["run"]["trigger"], "webhook")
        return obj["run_id"]

    def refused(self, r, status, code=None):
        """A JSON error reply; its message."""
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        obj = r.json()
        self.assertIs(obj["ok"], False, obj)
        if code is not None:
            self.assertEqual(obj["error"]["code"], code, obj)
        self.assertTrue(obj["error"]["message"], obj)
        return obj["error"]["message"]

    def secret_of(self, task, rotate=False):
        """The secret `microlightctl --json webhook TASK` gives."""
        args = ["webhook", task] + (["--rotate"] if rotate else [])
        reply = self.d.ctl_json(*args, check=0)[0]
        self.assertTrue(reply["ok"], reply)
        return reply["secret"]

    def run_count(self):
        return len(self.runs_all())



class ReadmeExample(HookTest):
    """The README's webhook example, its shell lines run as written
    (against this daemon's socket and port) on the example greet task."""

    def setUp(self):
        super().setUp()
        shutil.copyfile(os.path.join(SRCDIR, "tasks.d", "greet.sh"),
                        os.path.join(self.d.tasks_dir, "greet.sh"))
        os.chmod(os.path.join(self.d.tasks_dir, "greet.sh"), 0o755)
        self.d.ctl("reload", check=0)

    def readme_lines(self):
        """The "$ " lines of the README's webhook block, joined where a
        line ends in a backslash."""
        with open(os.path.join(SRCDIR, "README")) as f:
            text = f.read()
        block = text.split("    $ ./microlightctl webhook greet\n", 1)[1]
        block = block.split("\n\n", 1)[0]
        lines, cur = [], None
        for line in block.splitlines():
            if line.startswith("    $ "):
                cur = line[6:]
            elif cur is not None and line.startswith("          "):
                cur += " " + line.strip()
            else:
                cur = None
                continue
            if cur.endswith("\\"):
                cur = cur[:-1]
                continue
            lines.append(cur)
            cur = None
        return lines

    def test_readme_lines_work(self):
        lines = self.readme_lines()
        self.assertEqual(len(lines), 3, lines)
        self.assertTrue(lines[0].startswith("secret=$(./microlightctl "
                                            "webhook greet"), lines)
        ctl = "%s -s %s" % (MICROLIGHTCTL, self.d.socket)
        url = "http://127.0.0.1:%d" % self.d.port
        out = []
        for line in lines:
            out.append(line.replace("./microlightctl", ctl)
                       .replace("http://127.0.0.1:8080", url))
        script = "set -e\n%s\necho ---\n%s\necho ---\n%s\n" % tuple(out)
        p = subprocess.run(["sh", "-c", script], capture_output=True,
                           timeout=60, env=ctl_env())
        self.assertEqual(p.returncode, 0, p)
        first, second = p.stdout.split(b"---\n")[1:]
        reply = json.loads(first)
        self.assertEqual(reply["run"]["task"], "greet")
        self.assertEqual(reply["run"]["status"], "succeeded")
        self.assertEqual(reply["run"]["params"]["name"], "Ada")
        self.assertEqual(second, b"Hello, Ada!\nHello, Ada!\n")

# 1. Which tasks answer ----------------------------------------------

class Routing(HookTest):
    CONFIG = "kill-grace 2s\nwebhook-secret echo %s\n" \
        "webhook-secret plain %s\n" % (SECRET, SECRET)
    TASKS = {"echo.sh": ECHO_TASK, "plain.sh": PLAIN_TASK,
             "broken.sh": "#!/bin/sh\n# Broken.\n# @webhook\n# @bogus x\n"}

    def test_only_webhook_tasks(self):
        """A task without @webhook (even with a webhook-secret line) and
        an unknown name get the same 404, with or without a secret."""
        bodies = set()
        for task in ("plain", "nosuch", "Echo", "echo.sh"):
            for secret in (SECRET, None, "wrong-secret-0123456789"):
                r = self.hook(task, secret=secret, body=b"x")
                self.refused(r, 404, "unknown-task")
                bodies.add(r.body)
        self.assertEqual(len(bodies), 1, "the 404s tell names apart: %r"
                         % bodies)
        for path in ("/hooks/", "/hooks/echo/run", "/hooks/echo/"):
            r = self.d.http("POST", path, headers=bearer(SECRET))
            self.assertEqual(r.status, 404, (path, r))
        self.no_runs()
        # The task with @webhook does answer.
        run_id = self.accepted(self.hook("echo", secret=SECRET))
        self.assertEqual(self.d.wait_status(run_id, "succeeded")["task"],
                         "echo")

    def test_invalid_task_does_not_run(self):
        """An invalid task with @webhook cannot run: 401 without its
        secret, 409 (as the API) with it; no run either way."""
        secret = self.secret_of("broken")
        self.refused(self.hook("broken", secret="wrong-secret-0123456789"),
                     401)
        msg = self.refused(self.hook("broken", secret=secret), 409,
                           "invalid-task")
        self.assertIn("bogus", msg)
        self.no_runs()

    def test_get_is_405(self):
        for method in ("GET", "HEAD"):
            for task in ("echo", "plain", "nosuch"):
                r = self.d.http(method, "/hooks/" + task,
                                headers=bearer(SECRET))
                self.assertEqual(r.status, 405, (method, task, r))
                self.assertEqual(r.headers.get("Allow"), "POST")
        self.no_runs()

    def test_webhook_removed_by_an_edit(self):
        """Editing @webhook away (tasks.d is watched) closes the hook."""
        self.accepted(self.hook("echo", secret=SECRET))
        wrong = "wrong-secret-0123456789"
        self.refused(self.hook("echo", secret=wrong), 401)
        self.d.add_task("echo.sh", "#!/bin/sh\n# Not any more.\necho x\n")
        wait_for(lambda: self.hook("echo", secret=wrong).status == 404,
                 what="the edit to be seen")
        self.refused(self.hook("echo", secret=SECRET), 404, "unknown-task")
        self.assertEqual(self.run_count(), 1)


# 2. Secrets ---------------------------------------------------------

class Secrets(HookTest):
    CONFIG = "kill-grace 2s\nwebhook-secret conf %s\n" % SECRET
    TASKS = {"conf.sh": ECHO_TASK, "gen.sh": ECHO_TASK,
             "other.sh": ECHO_TASK, "params.sh": PARAM_TASK,
             "plain.sh": PLAIN_TASK}

    def ctl_webhook(self, task, *extra):
        """`microlightctl webhook TASK`: {url, secret, curl} from its
        human output."""
        out = self.d.ctl("webhook", task, *extra, check=0).stdout.decode()
        m = re.search(r"(?m)^url:\s+(\S+)$", out)
        self.assertIsNotNone(m, out)
        url = m.group(1)
        m = re.search(r"(?m)^secret:\s+(\S+)", out)
        self.assertIsNotNone(m, out)
        curl = [line for line in out.splitlines()
                if line.startswith("curl ")]
        self.assertEqual(len(curl), 1, out)
        return {"url": url, "secret": m.group(1), "curl": curl[0],
                "out": out}

    def sh(self, line):
        """Run a command line through sh, as a user pasting it would."""
        return subprocess.run(["sh", "-c", line], capture_output=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    def test_config_secret(self):
        info = self.ctl_webhook("conf")
        self.assertEqual(info["secret"], SECRET)
        self.assertIn("webhook-secret", info["out"])
        self.assertEqual(info["url"],
                         "http://127.0.0.1:%d/hooks/conf" % self.d.port)
        reply = self.d.ctl_json("webhook", "conf", check=0)[0]
        self.assertEqual(reply["source"], "config")
        self.assertEqual(reply["secret"], SECRET)
        self.accepted(self.hook("conf", secret=SECRET))
        # It cannot be rotated: it is changed in the file.
        p = self.d.ctl("webhook", "conf", "--rotate")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"webhook-secret", p.stderr)
        self.assertIn(self.d.config.encode(), p.stderr)
        self.assertEqual(self.ctl_webhook("conf")["secret"], SECRET)
        self.accepted(self.hook("conf", secret=SECRET))

    def test_generated_secret_and_its_curl_line(self):
        # Before anyone asked for it there is no secret: nothing passes.
        for headers in ({}, bearer(""), bearer(SECRET), bearer("0" * 64),
                        {"X-Hub-Signature-256": sign("", b"{}")}):
            r = self.hook("gen", body=b"{}", headers=headers)
            self.assertIn(r.status, (401, 404), (headers, r))
        self.no_runs()
        info = self.ctl_webhook("gen")
        secret = info["secret"]
        self.assertRegex(secret, HEX64_RE)
        self.assertNotEqual(secret, self.ctl_webhook("other")["secret"])
        self.assertEqual(info["url"],
                         "http://127.0.0.1:%d/hooks/gen" % self.d.port)
        reply = self.d.ctl_json("webhook", "gen", check=0)[0]
        self.assertEqual(reply["source"], "generated")
        self.assertEqual(reply["secret"], secret, "made again")
        self.assertEqual(reply["url"], info["url"])
        self.assertEqual(reply["curl"], info["curl"])
        # The curl line, pasted into a shell, starts a run.
        p = self.sh(info["curl"])
        self.assertEqual(p.returncode, 0, p)
        obj = json.loads(p.stdout)
        run = self.d.wait_status(obj["run_id"], "succeeded")
        self.assertEqual(obj["url"], "/runs/%d" % run["id"])
        self.assertEqual((run["task"], run["trigger"]), ("gen", "webhook"))
        # And as the man page's example goes on, with a JSON body and
        # ?wait: the run's end, and curl -f fails on a refusal.
        line = self.ctl_webhook("params")["curl"]
        self.assertTrue(line.endswith("/hooks/params"), line)
        line = line.rsplit(" ", 1)[0] + \
            " -H 'Content-Type: application/json' -d '{\"count\":\"4\"}' " \
            "'http://127.0.0.1:%d/hooks/params?wait=60'" % self.d.port
        p = self.sh(line)
        self.assertEqual(p.returncode, 0, p)
        obj = json.loads(p.stdout)
        self.assertEqual(obj["run"]["status"], "succeeded")
        self.assertEqual(self.d.logs(obj["run_id"]),
                         b"count=4 mode=soft note=[] ref=[]\n")
        p = self.sh(info["curl"].replace(secret, "0" * 64))
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(self.run_count(), 2)
        # The secret is kept over a restart.
        self.d.stop()
        self.d.start()
        self.assertEqual(self.ctl_webhook("gen")["secret"], secret)
        self.accepted(self.hook("gen", secret=secret))

    def test_rotate(self):
        old = self.secret_of("gen")
        self.accepted(self.hook("gen", secret=old))
        info = self.ctl_webhook("gen", "--rotate")
        new = info["secret"]
        self.assertRegex(new, HEX64_RE)
        self.assertNotEqual(new, old)
        self.assertIn(new, info["curl"])
        self.refused(self.hook("gen", secret=old), 401)
        self.refused(self.hook("gen", body=b"{}", headers={
            "X-Hub-Signature-256": sign(old, b"{}")}), 401)
        self.accepted(self.hook("gen", secret=new))
        self.accepted(self.hook("gen", body=b"{}", headers={
            "X-Hub-Signature-256": sign(new, b"{}")}))
        # It stays the new one, over a restart too; another rotation
        # makes yet another.
        self.assertEqual(self.secret_of("gen"), new)
        self.d.stop()
        self.d.start()
        self.refused(self.hook("gen", secret=old), 401)
        self.accepted(self.hook("gen", secret=new))
        newer = self.secret_of("gen", rotate=True)
        self.assertNotIn(newer, (old, new))
        self.refused(self.hook("gen", secret=new), 401)
        self.accepted(self.hook("gen", secret=newer))
        self.assertEqual(self.run_count(), 5)

    def test_secrets_are_per_task(self):
        gen, other = self.secret_of("gen"), self.secret_of("other")
        self.refused(self.hook("gen", secret=other), 401)
        self.refused(self.hook("other", secret=gen), 401)
        self.refused(self.hook("gen", secret=SECRET), 401)
        self.refused(self.hook("conf", secret=gen), 401)
        self.no_runs()

    def test_reload_changes_config_secret(self):
        gen = self.secret_of("gen")
        new_conf = "changed-secret-abcdef0123456789"
        new_gen = "gen-set-in-config-0123456789"
        with open(self.d.config, "w") as f:
            f.write("kill-grace 2s\nwebhook-secret conf %s\n"
                    "webhook-secret gen %s\nwebhook-secret conf %s\n"
                    % (SECRET + "-first", new_gen, new_conf))
        self.d.ctl("reload", check=0)
        # The later line for a task wins.
        self.refused(self.hook("conf", secret=SECRET), 401)
        self.refused(self.hook("conf", secret=SECRET + "-first"), 401)
        self.accepted(self.hook("conf", secret=new_conf))
        # A configured secret wins over the one the daemon made.
        self.refused(self.hook("gen", secret=gen), 401)
        self.accepted(self.hook("gen", secret=new_gen))
        reply = self.d.ctl_json("webhook", "gen", check=0)[0]
        self.assertEqual((reply["secret"], reply["source"]),
                         (new_gen, "config"))
        # Without the line, the made one is back.
        with open(self.d.config, "w") as f:
            f.write("kill-grace 2s\n")
        self.d.ctl("reload", check=0)
        self.refused(self.hook("gen", secret=new_gen), 401)
        self.accepted(self.hook("gen", secret=gen))
        self.assertEqual(self.run_count(), 3)

    def test_ctl_errors(self):
        p = self.d.ctl("webhook", "plain")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"@webhook", p.stderr)
        self.assertEqual(p.stdout, b"")
        p = self.d.ctl("webhook", "nosuch", check=EX_DATAERR)
        self.assertIn(b"nosuch", p.stderr)
        p = self.d.ctl("webhook", "plain", "--rotate")
        self.assertNotEqual(p.returncode, 0)
        self.d.ctl("webhook", check=EX_USAGE)
        self.d.ctl("webhook", "gen", "--bogus", check=EX_USAGE)

    def test_short_config_secret_refused(self):
        """A webhook-secret under 16 characters is a configuration error
        (microlight.conf(5)), never a weak secret in use."""
        gen = self.secret_of("gen")
        with open(self.d.config, "a") as f:
            f.write("webhook-secret gen short-secret\n")
        rc, out = self.d.check_mode()
        self.assertNotEqual(rc, 0, out)
        self.assertIn("%s:3:" % self.d.config, out)
        # A reload refuses it too, and the secrets in use stay.
        p = self.d.ctl("reload")
        self.assertNotEqual(p.returncode, 0)
        self.refused(self.hook("gen", secret="short-secret"), 401)
        self.accepted(self.hook("gen", secret=gen))
        self.accepted(self.hook("conf", secret=SECRET))


class RotateLeak(HookTest):
    """`microlightctl webhook --rotate` frees (and wipes) the secret it
    replaces. Only a sanitizer build can tell."""

    CONFIG = "kill-grace 2s\nwebhook-secret conf %s\n" % SECRET
    TASKS = {"gen.sh": ECHO_TASK, "conf.sh": ECHO_TASK}

    def test_rotate_frees_the_old_secret(self):
        if not sanitized():
            self.skipTest("needs microlightd built with the sanitizers")
        self.secret_of("gen")
        self.secret_of("gen", rotate=True)
        p = self.d.ctl("webhook", "conf", "--rotate")
        self.assertNotEqual(p.returncode, 0)
        self.d.stop()           # checks the log for a sanitizer report


class ListenerOff(ScratchTest):
    """With -l none, `microlightctl webhook` says there is no listener
    rather than printing a URL that cannot work."""

    TASKS = {"echo.sh": ECHO_TASK}

    def test_no_url(self):
        out = self.d.ctl("webhook", "echo", check=0).stdout.decode()
        self.assertRegex(out, r"(?m)^url:\s+- \(the HTTP listener is off\)$")
        reply = self.d.ctl_json("webhook", "echo", check=0)[0]
        self.assertIsNone(reply["url"])
        self.assertRegex(reply["secret"], HEX64_RE)


# 3. Authentication --------------------------------------------------

class Auth(HookTest):
    CONFIG = "kill-grace 2s\nwebhook-secret echo %s\n" % SECRET
    TASKS = {"echo.sh": ECHO_TASK}

    def test_bearer(self):
        wrong = [{}, {"Authorization": ""},
                 {"Authorization": "Bearer"},
                 {"Authorization": "Bearer "},
                 {"Authorization": "Bearer " + SECRET[:-1]},
                 {"Authorization": "Bearer " + SECRET + "x"},
                 {"Authorization": "Bearer x" + SECRET},
                 {"Authorization": "Bearer " + SECRET.upper()},
                 {"Authorization": "Bearer wrong-secret-0123456789"},
                 {"Authorization": SECRET},
                 {"Authorization": "Token " + SECRET},
                 {"Authorization": "Basic " + SECRET},
                 {"X-Secret": SECRET},
                 {"Authorization": "Bearer " + SECRET[:16]}]
        for headers in wrong:
            msg = self.refused(self.hook("echo", body=b"x",
                                         headers=headers), 401)
            self.assertNotIn(SECRET, msg)
        # Not in the query string either.
        msg = self.refused(self.hook("echo", "token=" + SECRET), 401)
        self.assertNotIn(SECRET, msg)
        self.no_runs()
        run_id = self.accepted(self.hook("echo", secret=SECRET))
        self.assertEqual(self.d.wait_status(run_id, "succeeded")["trigger"],
                         "webhook")
        self.assertEqual(self.run_count(), 1)

    def test_github_signature(self):
        body = json.dumps({"ref": "refs/heads/main", "zen": "Keep it "
                           "logically awesome."}).encode()
        gh = {"Content-Type": "application/json",
              "X-GitHub-Event": "push", "User-Agent": "GitHub-Hookshot/1"}
        right = sign(SECRET, body)
        hexpart = right[len("sha256="):]
        wrong = [
            sign("wrong-secret-0123456789", body),         # other secret
            sign(SECRET, body + b" "),                      # other body
            sign(SECRET, b""),
            "sha256=" + hexpart[:-1],                       # malformed
            "sha256=" + hexpart + "0",
            "sha256=" + hexpart[:-1] + "g",
            "sha256=",
            "sha256 " + hexpart,
            "sha1=" + hexpart,
            hexpart,
            "sha256=" + "0" * 64,
            "",
        ]
        for sig in wrong:
            h = dict(gh, **{"X-Hub-Signature-256": sig})
            self.refused(self.hook("echo", body=body, headers=h), 401)
        # GitHub's old SHA-1 header alone is not enough.
        h = dict(gh, **{"X-Hub-Signature": "sha1=" + hmac.new(
            SECRET.encode(), body, hashlib.sha1).hexdigest()})
        self.refused(self.hook("echo", body=body, headers=h), 401)
        # The right signature, but over a different body than sent.
        h = dict(gh, **{"X-Hub-Signature-256": right})
        self.refused(self.hook("echo", body=body.replace(b"main", b"evil"),
                               headers=h), 401)
        self.no_runs()
        run_id = self.accepted(self.hook("echo", "wait=20", body=body,
                                         headers=h), 200)
        self.assertTrue(self.d.logs(run_id).endswith(b"\n" + body))
        # An empty body, signed.
        self.accepted(self.hook("echo", body=b"", headers={
            "X-Hub-Signature-256": sign(SECRET, b"")}))
        self.assertEqual(self.run_count(), 2)


# 4. Parameters ------------------------------------------------------

class Params(HookTest):
    CONFIG = "kill-grace 2s\nmax-running 8\nwebhook-secret params %s\n" \
        "webhook-secret req %s\nwebhook-secret echo %s\n" % (
            SECRET, SECRET, SECRET)
    TASKS = {"params.sh": PARAM_TASK, "req.sh": REQUIRED_TASK,
             "echo.sh": ECHO_TASK}

    def ran(self, r):
        """The output of the run a ?wait reply reports."""
        run_id = self.accepted(r, 200)
        return self.d.logs(run_id)

    def test_json_body(self):
        """Declared members are taken (and validated), others ignored,
        as in a third-party payload."""
        payload = {"count": 7, "ref": "refs/heads/main", "mode": "hard",
                   "repository": {"name": "x", "count": 9},
                   "commits": [{"id": "abc"}], "note": "caf\u00e9 & <b>",
                   "unknown": True}
        r = self.hook("params", "wait=20", payload, SECRET)
        self.assertEqual(r.json()["run"]["params"],
                         {"count": "7", "mode": "hard",
                          "note": "caf\u00e9 & <b>",
                          "ref": "refs/heads/main"})
        self.assertEqual(self.ran(r), "count=7 mode=hard note=[caf\u00e9 & "
                         "<b>] ref=[refs/heads/main]\n".encode())
        # A charset in the type is fine; the query string adds to it.
        r = self.hook("params", "wait=20&mode=hard", b'{"count":"2"}',
                      SECRET, {"Content-Type":
                               "application/json; charset=utf-8"})
        self.assertEqual(self.ran(r), b"count=2 mode=hard note=[] ref=[]\n")
        # Without a JSON type the body is not read for parameters.
        r = self.hook("params", "wait=20", b'{"count":"2"}', SECRET,
                      {"Content-Type": "text/plain"})
        self.assertEqual(self.ran(r), b"count=1 mode=soft note=[] ref=[]\n")

    def test_form_body(self):
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        r = self.hook("params", "wait=20",
                      b"count=3&note=a+b%C3%A9%26c&mode=hard", SECRET, form)
        self.assertEqual(r.json()["run"]["params"]["note"], "a b\u00e9&c")
        self.assertEqual(self.ran(r), "count=3 mode=hard note=[a b\u00e9&c] "
                         "ref=[]\n".encode())
        # An undeclared name in a form is an error, named.
        msg = self.refused(self.hook("params", body=b"count=3&colour=red",
                                     secret=SECRET, headers=form), 400,
                           "bad-params")
        self.assertIn("colour", msg)
        self.assertEqual(self.run_count(), 1)

    def test_query_string(self):
        r = self.hook("params", "count=5&note=x%20y&wait=20", secret=SECRET)
        self.assertEqual(self.ran(r), b"count=5 mode=soft note=[x y] "
                         b"ref=[]\n")
        msg = self.refused(self.hook("params", "colour=red", secret=SECRET),
                           400, "bad-params")
        self.assertIn("colour", msg)
        # One name from two places, or twice in one: refused.
        for query, body, ctype in (
                ("count=1&count=2", None, None),
                ("count=1", b'{"count":"2"}', "application/json"),
                ("count=1", b"count=2", "application/x-www-form-urlencoded")):
            headers = {"Content-Type": ctype} if ctype else {}
            msg = self.refused(self.hook("params", query, body, SECRET,
                                         headers), 400, "bad-params")
            self.assertIn("count", msg)
        self.assertEqual(self.run_count(), 1)

    def test_bad_values_as_for_any_run(self):
        """Each bad value: 400 with the message the control socket gives
        for the same value, and no run."""
        cases = [({"count": "x"}, "count"), ({"mode": "medium"}, "mode"),
                 ({"count": "1.5"}, "count"), ({"note": "n" * 5000}, "note")]
        for params, name in cases:
            sock = self.d.request({"cmd": "run", "task": "params",
                                   "params": params})
            self.assertEqual(sock["error"]["code"], "bad-params", sock)
            query = "&".join("%s=%s" % kv for kv in params.items())
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            for r in (self.hook("params", query, secret=SECRET),
                      self.hook("params", body=params, secret=SECRET),
                      self.hook("params", body=query.encode(),
                                secret=SECRET, headers=form)):
                msg = self.refused(r, 400, "bad-params")
                self.assertIn(name, msg)
                self.assertEqual(msg, sock["error"]["message"])
        # JSON values of the wrong kind.
        for params in ({"count": [1]}, {"note": {"a": 1}},
                       {"count": True}):
            self.refused(self.hook("params", body=params, secret=SECRET),
                         400, "bad-params")
        self.no_runs()

    def test_required(self):
        msg = self.refused(self.hook("req", secret=SECRET), 400,
                           "bad-params")
        self.assertIn("host", msg)
        self.refused(self.hook("req", body={"other": "x"}, secret=SECRET),
                     400, "bad-params")
        self.no_runs()
        for r in (self.hook("req", "host=a&wait=20", secret=SECRET),
                  self.hook("req", "wait=20", {"host": "a"}, SECRET),
                  self.hook("req", "wait=20", b"host=a", SECRET,
                            {"Content-Type":
                             "application/x-www-form-urlencoded"})):
            self.assertEqual(self.ran(r), b"host=a\n")

    def test_bad_json(self):
        for body in (b"{", b'{"count":1,"count":2}', b"\xff\xfe",
                     b'{"count":"1"} x'):
            self.refused(self.hook("params", body=body, secret=SECRET,
                                   headers={"Content-Type":
                                            "application/json"}),
                         400, "bad-request")
        self.no_runs()

    def test_json_array_is_stdin_only(self):
        body = b'[{"count":"9"}, 2]'
        r = self.hook("echo", "wait=20", body, SECRET,
                      {"Content-Type": "application/json"})
        self.assertEqual(r.json()["run"]["params"], {})
        self.assertTrue(self.ran(r).endswith(b"\n" + body))
        r = self.hook("params", "wait=20", body, SECRET,
                      {"Content-Type": "application/json"})
        self.assertEqual(self.ran(r), b"count=1 mode=soft note=[] ref=[]\n")

    def test_json_scalar_is_stdin_only(self):
        for body in (b'"deploy"', b"42", b"true", b"null"):
            r = self.hook("echo", "wait=20", body, SECRET,
                          {"Content-Type": "application/json"})
            self.assertTrue(self.ran(r).endswith(b"\n" + body), body)

    def test_nul_in_value_refused(self):
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        r1 = self.hook("params", "note=a%00b", secret=SECRET)
        r2 = self.hook("params", body=b"note=a%00b", secret=SECRET,
                       headers=form)
        self.assertEqual((r1.status, r2.status), (400, 400), (r1, r2))
        self.no_runs()


# 5. ?wait -----------------------------------------------------------

class Wait(HookTest):
    CONFIG = "kill-grace 2s\nmax-running 8\n" \
        "webhook-secret ok %s\nwebhook-secret bad %s\n" \
        "webhook-secret gated %s\nwebhook-secret slow %s\n" \
        "webhook-secret big %s\n" % (SECRET, SECRET, SECRET, SECRET, SECRET)
    TASKS = {"ok.sh": ECHO_TASK, "bad.sh": FAIL_HOOK,
             "gated.sh": GATED_HOOK,
             "slow.sh": "#!/bin/sh\n# Too slow.\n# @webhook\n# @timeout 1s\n"
                        "sleep 30\n",
             "big.sh": "#!/bin/sh\n# Says a lot.\n# @webhook\n"
                       "head -c 1500000 /dev/urandom\n"}

    def test_succeeded_200(self):
        r = self.hook("ok", "wait=20", b"hi", SECRET)
        run_id = self.accepted(r, 200)
        self.assertEqual(r.json()["run"]["status"], "succeeded")
        self.assertEqual(r.json()["run"], self.d.status(run_id))
        # The most it takes.
        self.accepted(self.hook("ok", "wait=300", secret=SECRET), 200)

    def test_failed_502(self):
        r = self.hook("bad", "wait=20", secret=SECRET)
        run_id = self.accepted(r, 502)
        run = r.json()["run"]
        self.assertEqual((run["status"], run["exit_code"]), ("failed", 3))
        self.assertEqual(run, self.d.status(run_id))
        # Timed out, and cancelled while waited for: 502 too.
        r = self.hook("slow", "wait=20", secret=SECRET)
        self.accepted(r, 502)
        self.assertEqual(r.json()["run"]["status"], "timed_out")
        result = {}
        t = threading.Thread(target=lambda: result.update(
            r=self.hook("gated", "wait=20", secret=SECRET)))
        t.start()
        try:
            run_id = wait_for(lambda: [x["id"] for x in self.runs_all()
                                       if x["task"] == "gated"],
                              what="the gated run")[0]
            wait_for(lambda: self.d.logs(run_id) == b"started\n",
                     what="the run to start")
            self.d.ctl("cancel", run_id, check=0)
        finally:
            t.join(30)
        self.accepted(result["r"], 502)
        self.assertEqual(result["r"].json()["run"]["status"], "cancelled")

    def text(self, r, status):
        """A text/plain answer: its status and run id; the run's."""
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.headers.get("Content-Type"),
                         "text/plain; charset=utf-8")
        return int(r.headers["X-Microlight-Run"])

    def test_output_as_text(self):
        plain = {"Accept": "text/plain"}
        r = self.hook("ok", "wait=20", b"hi\n", SECRET, headers=plain)
        run_id = self.text(r, 200)
        self.assertEqual(r.body, self.d.logs(run_id))
        self.assertTrue(r.body.endswith(b"hi\n"), r.body)
        # Failed: 502, with what it said (stderr too).
        r = self.hook("bad", "wait=20", secret=SECRET, headers=plain)
        run_id = self.text(r, 502)
        self.assertEqual(r.body, b"failing\n")
        self.assertEqual(self.d.status(run_id)["exit_code"], 3)
        # Past the deadline: 202, the output so far.
        r = self.hook("gated", "wait=1", b"later", SECRET, headers=plain)
        run_id = self.text(r, 202)
        self.assertEqual(r.body, b"started\n")
        self.go(run_id, 1)
        self.d.wait_status(run_id, "succeeded")
        # Up to 1 MiB, then where the rest is.
        r = self.hook("big", "wait=60", secret=SECRET, headers=plain)
        run_id = self.text(r, 200)
        whole = self.d.logs(run_id)
        self.assertGreater(len(whole), 1 << 20)
        marker = b"\n[microlight: the output goes on past 1048576 bytes: " \
            b"/api/v1/runs/%d/log has it all]\n" % run_id
        self.assertEqual(r.body, whole[:1 << 20] + marker)
        # Without ?wait, or asking for JSON: the run object as before.
        self.accepted(self.hook("ok", "", b"x", SECRET, headers=plain))
        self.accepted(self.hook("ok", "wait=20", b"x", SECRET, headers={
            "Accept": "application/json"}), 200)

    def test_deadline_202(self):
        t0 = time.monotonic()
        r = self.hook("gated", "wait=1", b"later", SECRET)
        took = time.monotonic() - t0
        run_id = self.accepted(r, 202)
        self.assertEqual(r.json()["run"]["status"], "running")
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 5)
        # One behind it is still queued at its deadline.
        r = self.hook("gated", "wait=1", secret=SECRET)
        queued = self.accepted(r, 202)
        self.assertEqual(r.json()["run"]["status"], "queued")
        # Both go on to their end.
        self.go(run_id, 1)
        self.assertEqual(self.d.wait_status(run_id, "succeeded")["id"],
                         run_id)
        self.assertEqual(self.d.logs(run_id), b"started\nlater")
        self.d.wait_status(queued, "running")
        self.go(queued, 1)
        self.d.wait_status(queued, "succeeded")

    def test_wait_zero_and_none_answer_at_once(self):
        for query in ("", "wait=0"):
            t0 = time.monotonic()
            r = self.hook("gated", query, secret=SECRET)
            self.assertLess(time.monotonic() - t0, 3)
            run_id = self.accepted(r, 202)
            self.assertIn(r.json()["run"]["status"], ("queued", "running"))
            self.d.wait_status(run_id, "running")
            self.go(run_id, 1)
            self.d.wait_status(run_id, "succeeded")

    def test_cancelled_while_queued_502(self):
        running = self.accepted(self.hook("gated", secret=SECRET))
        self.d.wait_status(running, "running")
        result = {}
        t = threading.Thread(target=lambda: result.update(
            r=self.hook("gated", "wait=20", secret=SECRET)))
        t.start()
        try:
            queued = wait_for(lambda: [x["id"] for x in self.runs_all()
                                       if x["status"] == "queued"],
                              what="the queued run")[0]
            t0 = time.monotonic()
            self.d.ctl("cancel", queued, check=0)
        finally:
            t.join(30)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(self.accepted(result["r"], 502), queued)
        self.assertEqual(result["r"].json()["run"]["status"], "cancelled")
        self.go(running, 1)
        self.d.wait_status(running, "succeeded")

    def test_many_waiting_at_once(self):
        """30 callers wait at once, each for its own run: each gets its
        own run's end."""
        replies = {}

        def post(i):
            replies[i] = self.hook("ok" if i % 3 else "bad", "wait=30",
                                   b"caller %d" % i, SECRET)
        threads = [threading.Thread(target=post, args=(i,))
                   for i in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(len(replies), 30)
        ids = set()
        for i, r in replies.items():
            run_id = self.accepted(r, 200 if i % 3 else 502)
            ids.add(run_id)
            if i % 3:
                self.assertTrue(self.d.logs(run_id).endswith(
                    b"\ncaller %d" % i), i)
        self.assertEqual(len(ids), 30)

    def test_limits(self):
        for value in ("301", "-1", "abc", "", "1.5", "5s", "99999999999999",
                      "0x10"):
            msg = self.refused(self.hook("ok", "wait=" + value,
                                         secret=SECRET), 400, "usage")
            self.assertIn("300", msg)
        self.no_runs()

    def test_client_gone_run_goes_on(self):
        s = socket.create_connection(("127.0.0.1", self.d.port), timeout=10)
        s.sendall(b"POST /hooks/gated?wait=30 HTTP/1.1\r\nHost: 127.0.0.1:%d"
                  b"\r\nAuthorization: Bearer %s\r\nContent-Length: 3\r\n\r\n"
                  b"abc" % (self.d.port, SECRET.encode()))
        run_id = wait_for(lambda: self.runs_all(), what="the run")[0]["id"]
        self.d.wait_status(run_id, "running")
        s.close()
        time.sleep(0.3)
        self.assertTrue(self.d.serves())
        self.go(run_id, 1)
        self.assertEqual(self.d.wait_status(run_id, ("succeeded", "failed",
                                                     "cancelled"))["status"],
                         "succeeded")
        self.assertEqual(self.d.logs(run_id), b"started\nabc")
        self.accepted(self.hook("ok", "wait=20", secret=SECRET), 200)

    def test_shutdown_answers_waiting_hooks(self):
        """A daemon stopping answers a waiting webhook 202 (with the run
        as it is) rather than dropping the connection."""
        result = {}

        def post():
            try:
                result["r"] = self.hook("gated", "wait=60", secret=SECRET)
            except Exception as e:      # noqa: the assertion below says it
                result["e"] = e
        t = threading.Thread(target=post)
        t.start()
        try:
            run_id = wait_for(lambda: self.runs_all(), what="the run")[0]["id"]
            wait_for(lambda: self.d.logs(run_id) == b"started\n",
                     what="the run to start")
            self.d.stop()
        finally:
            t.join(30)
        self.assertNotIn("e", result, result)
        self.accepted(result["r"], 202)
        self.assertEqual(result["r"].json()["run"]["id"], run_id)


# 6. The body as stdin -----------------------------------------------

class Headers(HookTest):
    """@webhook-header: the headers it names reach the run as HTTP_*
    variables (its retry's too), checked like parameters; no other
    header does."""

    CONFIG = "kill-grace 2s\nwebhook-secret gh %s\n" % SECRET
    TASKS = {"gh.sh": script("""\
        #!/bin/sh
        # Shows the request headers it gets; fails the first time.
        # @webhook
        # @webhook-header X-GitHub-Event
        # @webhook-header X-Request-Id
        # @retries 1
        # @retry-delay 1s
        env | grep '^HTTP_' | sort
        [ "$MICROLIGHT_ATTEMPT" -gt 1 ]
        """)}

    def test_named_headers_only(self):
        r = self.hook("gh", "wait=20", b"{}", SECRET, headers={
            "X-GitHub-Event": "push", "X-Request-Id": "a b\tc",
            "X-Other": "no", "User-Agent": "GitHub-Hookshot/1",
            "Content-Type": "application/json"})
        self.assertEqual(r.status, 502, r)
        first = r.json()["run_id"]
        want = b"HTTP_X_GITHUB_EVENT=push\nHTTP_X_REQUEST_ID=a b\tc\n"
        self.assertEqual(self.d.logs(first), want)
        # The retry, started from the database, gets them too.
        retry = self.wait_for_retry(first)
        self.assertEqual(self.d.logs(retry), want)

    def wait_for_retry(self, first):
        run = wait_for(lambda: next((x for x in self.runs_all()
                                     if x["retry_of"] == first and
                                     x["status"] == "succeeded"), None),
                       timeout=30, what="the retry of %d" % first)
        return run["id"]

    def test_bad_value_refused(self):
        before = len(self.runs_all())
        r = self.hook("gh", "", b"{}", SECRET, headers={
            "X-GitHub-Event": "a\x01b"})
        self.assertEqual(r.status, 400, r)
        self.assertIn("X-GitHub-Event", r.json()["error"]["message"])
        r = self.hook("gh", "", b"{}", SECRET, headers={
            "X-Request-Id": "x" * 5000})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(len(self.runs_all()), before)


class Stdin(HookTest):
    CONFIG = "kill-grace 2s\nwebhook-secret echo %s\nwebhook-secret retry %s" \
        "\nwebhook-secret chain %s\nwebhook-secret gated %s\n" \
        "webhook-secret size %s\nwebhook-secret form %s\n" % ((SECRET,) * 6)
    TASKS = {
        "echo.sh": ECHO_TASK,
        "retry.sh": script("""\
            #!/bin/sh
            # Reads 3 bytes, fails once.
            # @webhook
            # @retries 1
            # @retry-delay 1s
            echo "attempt=$MICROLIGHT_ATTEMPT trigger=$MICROLIGHT_TRIGGER"
            head -c 3
            echo
            [ "$MICROLIGHT_ATTEMPT" = 2 ] && cat
            [ "$MICROLIGHT_ATTEMPT" = 2 ]
            """),
        "chain.sh": script("""\
            #!/bin/sh
            # Starts next.
            # @webhook
            # @on-success next
            cat >/dev/null
            """),
        "next.sh": script("""\
            #!/bin/sh
            # Started by chain.
            stdin=$(readlink /proc/self/fd/0)
            echo "trigger=$MICROLIGHT_TRIGGER stdin=$stdin"
            cat
            """),
        "gated.sh": GATED_HOOK,
        "size.sh": "#!/bin/sh\n# Counts stdin.\n# @webhook\nwc -c\n",
        "form.sh": "#!/bin/sh\n# Takes a and b.\n# @webhook\n"
                   "# @param a string\n# @param b string\ncat\n",
    }

    def out(self, r):
        run_id = self.accepted(r, 200)
        return self.d.logs(run_id)

    def test_bytes(self):
        body = b"\x00\xff\xfe binary \xc3\x28\r\n" + bytes(range(256))
        out = self.out(self.hook("echo", "wait=20", body, SECRET,
                                 {"Content-Type":
                                  "application/octet-stream"}))
        first, second, rest = out.split(b"\n", 2)
        self.assertEqual(first, b"trigger=webhook by=127.0.0.1")
        self.assertNotEqual(second, b"stdin=/dev/null")
        self.assertEqual(rest, body)
        # A JSON body and a form body, read for parameters: the raw
        # bytes all the same, whitespace and all.
        for body, ctype in ((b' {"a" : "1",\n "x":[1]}\n',
                             "application/json"),
                            (b"a=1&b=%20+", "application/x-www-form-"
                             "urlencoded")):
            r = self.hook("form", "wait=20", body, SECRET,
                          {"Content-Type": ctype})
            self.assertEqual(r.json()["run"]["params"]["a"], "1")
            self.assertEqual(self.out(r), body)
        # No body: nothing to read.
        out = self.out(self.hook("echo", "wait=20", secret=SECRET))
        self.assertEqual(out.split(b"\n", 2)[2], b"")

    def test_only_webhook_runs_and_their_retries(self):
        # A run of the same task from the CLI reads /dev/null.
        run = self.d.run("echo")
        self.assertEqual(self.d.logs(run["id"]),
                         b"trigger=cli by=%s\nstdin=/dev/null\n"
                         % run["triggered_by"].encode())
        # A retry reads the body again, from its first byte.
        r = self.hook("retry", "wait=20", b"abcdef", SECRET)
        first = self.accepted(r, 502)
        self.assertEqual(self.d.logs(first),
                         b"attempt=1 trigger=webhook\nabc\n")
        retry = wait_for(lambda: [x for x in self.runs_all()
                                  if x["retry_of"] == first], timeout=20,
                         what="the retry")[0]
        retry = self.d.wait_status(retry["id"], ("succeeded", "failed"))
        self.assertEqual(retry["status"], "succeeded")
        self.assertEqual(self.d.logs(retry["id"]),
                         b"attempt=2 trigger=retry\nabc\ndef")
        # A run started by a webhook run's end does not get the body.
        self.accepted(self.hook("chain", "wait=20", b"payload", SECRET),
                      200)
        nxt = wait_for(lambda: [x for x in self.runs_all()
                                if x["task"] == "next"], what="next")[0]
        self.d.wait_status(nxt["id"], "succeeded")
        self.assertEqual(self.d.logs(nxt["id"]),
                         b"trigger=chain stdin=/dev/null\n")

    def test_up_to_1_mib(self):
        body = bytes(range(256)) * 4096         # 1 MiB exactly
        out = self.out(self.hook("size", "wait=30", body, SECRET))
        self.assertEqual(out.strip(), b"1048576")
        # One byte more: 413, announced or chunked, and no run.
        over = body + b"x"
        self.assertEqual(self.hook("size", body=over, secret=SECRET).status,
                         413)
        head = (b"POST /hooks/size HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                b"Authorization: Bearer %s\r\nConnection: close\r\n"
                % (self.d.port, SECRET.encode()))
        r = self.d.raw(head + b"Content-Length: %d\r\n\r\n" % len(over))
        self.assertEqual(status_of(r), 413, r[:300])
        r = self.d.raw(head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n"
                       b"%s\r\n0\r\n\r\n" % (len(over), over))
        self.assertEqual(status_of(r), 413, r[:300])
        self.assertEqual(self.run_count(), 1)
        self.assertTrue(self.d.serves())

    def test_kept_over_a_restart(self):
        """A queued webhook run keeps its body over a restart."""
        first = self.accepted(self.hook("gated", body=b"one", secret=SECRET))
        self.d.wait_status(first, "running")
        queued = self.accepted(self.hook("gated", body=b"two\x00\xff",
                                         secret=SECRET))
        self.assertEqual(self.d.status(queued)["status"], "queued")
        self.d.stop()
        self.d.start()
        self.d.wait_status(queued, "running")
        self.go(queued, 1)
        self.d.wait_status(queued, "succeeded")
        self.assertEqual(self.d.logs(queued), b"started\ntwo\x00\xff")


# 7. What is recorded ------------------------------------------------

class Records(HookTest):
    CONFIG = "kill-grace 2s\nmax-running 8\nwebhook-secret echo %s\n" \
        "webhook-secret params %s\n" % (SECRET, SECRET)
    TASKS = {"echo.sh": ECHO_TASK, "params.sh": PARAM_TASK}

    def test_202_body_and_record(self):
        r = self.hook("params", "note=hi", secret=SECRET)
        run_id = self.accepted(r, 202)
        run = r.json()["run"]
        self.assertEqual(run["task"], "params")
        self.assertEqual(run["triggered_by"], "127.0.0.1")
        self.assertEqual(run["params"], {"count": "1", "mode": "soft",
                                         "note": "hi", "ref": ""})
        self.assertIn(run["status"], ("queued", "running", "succeeded"))
        done = self.d.wait_status(run_id, "succeeded")
        for key in ("id", "task", "trigger", "triggered_by", "params",
                    "queued_at", "attempt"):
            self.assertEqual(done[key], run[key], key)
        # The url is the run's page; the API has the same record.
        page = self.get(r.json()["url"])
        self.assertEqual(page.status, 200, page)
        self.assertIn(b"params", page.body)
        api = self.api("GET", "/api/v1/runs/%d" % run_id, 200)["run"]
        self.assertEqual(api, done)
        out = self.d.ctl("runs", "params", check=0).stdout.decode()
        self.assertRegex(out, r"(?m)^%d\s+succeeded\s+webhook\s+127\.0\.0\.1"
                         % run_id)

    def test_every_trigger_is_a_run(self):
        ids = []
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
        try:
            for i in range(25):
                c.request("POST", "/hooks/echo", body=b"n%d" % i,
                          headers=bearer(SECRET))
                resp = c.getresponse()
                body = resp.read()
                self.assertEqual(resp.status, 202, body)
                ids.append(json.loads(body)["run_id"])
        finally:
            c.close()
        self.assertEqual(len(set(ids)), 25)
        for i, run_id in enumerate(ids):
            run = self.d.wait_status(run_id, "succeeded")
            self.assertEqual((run["task"], run["trigger"]),
                             ("echo", "webhook"))
            self.assertTrue(self.d.logs(run_id).endswith(b"\nn%d" % i))
        self.assertEqual(sorted(r["id"] for r in self.runs_all()),
                         sorted(ids))

    def test_triggered_by_is_the_peer(self):
        """The peer's address, not what a header claims."""
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.2", 0))
        except OSError as e:
            self.skipTest("cannot bind 127.0.0.2: %s" % e)
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30,
                                       source_address=("127.0.0.2", 0))
        try:
            c.request("POST", "/hooks/echo?wait=20", headers=dict(
                bearer(SECRET), **{"X-Forwarded-For": "10.9.8.7",
                                   "X-Real-IP": "10.9.8.7",
                                   "Forwarded": "for=10.9.8.7"}))
            resp = c.getresponse()
            obj = json.loads(resp.read())
        finally:
            c.close()
        self.assertEqual(resp.status, 200, obj)
        self.assertEqual(obj["run"]["triggered_by"], "127.0.0.2")
        self.assertEqual(self.d.status(obj["run_id"])["triggered_by"],
                         "127.0.0.2")
        self.assertTrue(self.d.logs(obj["run_id"]).startswith(
            b"trigger=webhook by=127.0.0.2\n"))
        out = self.d.ctl("status", obj["run_id"], check=0).stdout.decode()
        self.assertRegex(out, r"(?m)^triggered.by:?\s+127\.0\.0\.2$")
        self.assertNotIn("10.9.8.7", out)


# 8. The secret stays secret -----------------------------------------

class NoLeaks(HookTest):
    """The secret (configured, made, and rotated away) appears in no log
    line (with -v), no reply but `microlightctl webhook`'s, no run record,
    no listing, no API object, no page and no run's environment."""

    ARGS = ("-v",)
    CONFIG = "kill-grace 2s\nwebhook-secret conf %s\n" % SECRET
    TASKS = {
        "conf.sh": PARAM_TASK,
        "gen.sh": script("""\
            #!/bin/sh
            # Dumps its environment.
            # @webhook
            # @param note string
            env
            """),
        "bad.sh": FAIL_HOOK,
    }

    def test_secret_nowhere(self):
        old = self.secret_of("gen")
        gen = self.secret_of("gen", rotate=True)
        secrets = [SECRET, old, gen]
        replies = []
        # Everything a caller may get back: accepted, waited for,
        # refused for every reason.
        replies.append(self.hook("gen", "wait=20", secret=gen))
        replies.append(self.hook("gen", "wait=20", b"{}", headers={
            "X-Hub-Signature-256": sign(gen, b"{}")}))
        replies.append(self.hook("conf", "wait=20", secret=SECRET))
        replies.append(self.hook("bad", secret=SECRET))         # 404
        for secret in (old, SECRET[:-1], gen.upper()):
            replies.append(self.hook("gen", secret=secret))
        replies.append(self.hook("gen", body=b"{}", headers={
            "X-Hub-Signature-256": sign(old, b"{}")}))
        replies.append(self.hook("conf", "count=x", secret=SECRET))
        replies.append(self.hook("conf", "colour=red", secret=SECRET))
        replies.append(self.hook("conf", "wait=999", secret=SECRET))
        replies.append(self.hook("conf", body=b"{", secret=SECRET,
                                 headers={"Content-Type":
                                          "application/json"}))
        replies.append(self.d.http("GET", "/hooks/gen",
                                   headers=bearer(gen)))
        replies.append(self.hook("gen", body=b"x" * (1024 * 1024 + 1),
                                 secret=gen))
        statuses = sorted(r.status for r in replies)
        self.assertEqual(statuses.count(200), 3, replies)
        self.assertEqual(statuses.count(401), 4, replies)
        self.assertEqual(statuses.count(400), 4, replies)
        self.assertIn(404, statuses)
        self.assertIn(405, statuses)
        self.assertIn(413, statuses)
        runs = self.runs_all()
        self.assertEqual(len(runs), 3)
        places = {"reply %d" % i: r.body for i, r in enumerate(replies)}
        for i, r in enumerate(replies):
            places["headers %d" % i] = str(r.headers).encode()
        places["runs"] = json.dumps(runs).encode()
        for run in runs:
            places["status %d" % run["id"]] = self.d.ctl(
                "status", run["id"], check=0).stdout
            places["log %d" % run["id"]] = self.d.logs(run["id"])
        for args in (("list",), ("show", "gen"), ("show", "conf"),
                     ("runs",), ("--json", "list"), ("--json", "show", "gen"),
                     ("--json", "runs")):
            places["microlightctl %s" % " ".join(args)] = \
                self.d.ctl(*args, check=0).stdout
        for path in ("/api/v1/tasks", "/api/v1/tasks/gen",
                     "/api/v1/tasks/conf", "/api/v1/runs", "/metrics",
                     "/healthz", "/", "/tasks/gen", "/tasks/conf",
                     "/runs/%d" % runs[0]["id"],
                     "/api/v1/runs/%d/log" % runs[-1]["id"]):
            r = self.get(path)
            self.assertEqual(r.status, 200, (path, r))
            places["GET " + path] = r.body
        env_log = [self.d.logs(r["id"]) for r in runs
                   if r["task"] == "gen"]
        self.assertIn(b"MICROLIGHT_TRIGGER=webhook", env_log[0])
        self.d.stop()
        places["daemon log"] = self.d.log_text().encode()
        self.assertIn(b"refused", places["daemon log"])
        for where, data in places.items():
            for secret in secrets:
                self.assertNotIn(secret.encode(), data, where)
                self.assertNotIn(secret.upper().encode(), data, where)


# 9. A full queue ----------------------------------------------------

MAX_QUEUED = 10000      # microlightd(8): "When 10000 runs wait in the queue"


class QueueFull(HookTest):
    """At 10000 waiting runs (max-queued's default) a webhook gets 503
    with Retry-After, and no run is created or lost. One test makes most
    of the queue the way a restart finds it: queued runs in the database
    (copies of a real queued run), which the daemon queues again at
    start; the last runs up to the limit, and those past it, are real
    webhooks. The other posts all 10000 (2.4 s here, 4.4 s with the
    sanitizers)."""

    CONFIG = "kill-grace 2s\nmax-running 1\nwebhook-secret gated %s\n" % \
        SECRET
    TASKS = {"gated.sh": GATED_HOOK}
    REAL = 25           # webhooks posted before the limit

    def seed(self, waiting):
        """Restart the daemon with `waiting` runs in its queue and one
        running."""
        first = self.d.run("gated", wait=False)
        self.d.wait_status(first, "running")
        model = self.d.run("gated", wait=False)
        self.assertEqual(self.d.status(model)["status"], "queued")
        self.d.stop()
        with sqlite3.connect(self.d.db_path) as db:
            cols = ", ".join(row[1] for row in
                             db.execute("PRAGMA table_info(runs)")
                             if row[1] != "id")
            db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
                       "i + 1 FROM n WHERE i < ?) INSERT INTO runs (%s) "
                       "SELECT %s FROM runs, n WHERE runs.id = ?"
                       % (cols, cols), (waiting, model))
        db.close()
        self.d.start()
        h = wait_for(lambda: (lambda h: h if h["running"] == 1 else None)(
            self.get("/healthz").json()), what="a run to start")
        self.assertEqual(h["queued"], waiting)

    def stored(self):
        """How many runs the database holds (the socket lists 10000 at
        most)."""
        with contextlib.closing(self.d.db()) as db:
            return db.execute("SELECT count(*) FROM runs").fetchone()[0]

    def queued_ids(self):
        reply = self.d.request({"cmd": "runs", "status": "queued",
                                "limit": 10000}, timeout=30)
        self.assertTrue(reply["ok"], reply)
        return {r["id"] for r in reply["runs"]}

    def test_503_with_retry_after(self):
        self.seed(MAX_QUEUED - self.REAL)
        before = self.stored()
        accepted = []
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
        try:
            for i in range(self.REAL + 5):
                c.request("POST", "/hooks/gated", body=b"%d" % i,
                          headers=bearer(SECRET))
                resp = c.getresponse()
                r = Reply(resp.status, resp.headers, resp.read())
                if i < self.REAL:
                    accepted.append(self.accepted(r))
                    self.assertEqual(r.json()["run"]["status"], "queued")
                    continue
                self.refused(r, 503)
                self.assertEqual(r.headers.get("Retry-After"), "5")
        finally:
            c.close()
        # Every accepted run waits; the refused ones left no trace.
        queued = self.queued_ids()
        self.assertEqual(len(queued), MAX_QUEUED)
        self.assertLessEqual(set(accepted), queued)
        self.assertEqual(self.stored(), before + self.REAL)
        self.assertEqual(self.get("/healthz").json()["queued"], MAX_QUEUED)
        # ?wait changes nothing.
        self.refused(self.hook("gated", "wait=5", secret=SECRET), 503)
        # A place in the queue frees: a webhook is taken again.
        self.d.ctl("cancel", accepted[0], check=0)
        again = self.accepted(self.hook("gated", body=b"again",
                                        secret=SECRET))
        self.assertEqual(self.d.status(again)["status"], "queued")
        self.refused(self.hook("gated", secret=SECRET), 503)
        self.assertEqual(self.stored(), before + self.REAL + 1)

    def test_503_by_webhooks_alone(self):
        first = self.accepted(self.hook("gated", secret=SECRET))
        self.d.wait_status(first, "running")
        accepted = 0
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
        try:
            while True:
                c.request("POST", "/hooks/gated", headers=bearer(SECRET))
                resp = c.getresponse()
                body = resp.read()
                if resp.status != 202:
                    break
                accepted += 1
                self.assertLessEqual(accepted, MAX_QUEUED, "no limit")
        finally:
            c.close()
        self.assertEqual(resp.status, 503, body)
        self.assertEqual(resp.getheader("Retry-After"), "5")
        self.assertEqual(accepted, MAX_QUEUED)
        self.assertEqual(len(self.queued_ids()), MAX_QUEUED)
        self.assertEqual(self.stored(), MAX_QUEUED + 1)


if __name__ == "__main__":
    main()
