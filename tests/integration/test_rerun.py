#!/usr/bin/env python3
"""Rerun (SPEC sections 3, 5 and 6; issue 14, point 5) through the real
daemon: `microlightctl rerun RUN [NAME=VALUE ...] [--wait] [--follow]
[--at TIME | --in DUR]` with the run's parameters, with one replaced, now
or for later (also from the API and the page's form), with a value the task no
longer takes (refused, nothing made), of an unknown run; --wait's exit
status; rerun_of in status and --json; POST /api/v1/runs/ID/rerun; the
run page's Run again button: a form straight to the new run for a task
without parameters, a link to the task's form filled (and escaped) with
the run's values for one with them."""

import html

from harness import *
from test_http import HttpTest, script
from test_page import Web, check_page, parse

XSS_NOTE = '"><img src=x onerror=alert(1)> & <b>'

PARAMS = script("""\
    #!/bin/sh
    # Takes parameters; exits with its code.
    # @param code int default=0
    # @param mode choice(soft,hard) default=soft
    # @param note string
    echo "code=$code mode=$mode note=$note trigger=$MICROLIGHT_TRIGGER"
    exit "$code"
    """)

# The same task once "hard" is no longer a choice.
PARAMS_SOFT_ONLY = PARAMS.replace("choice(soft,hard)", "choice(soft)")

PLAIN = "#!/bin/sh\n# Takes nothing.\necho plain\n"


class RerunTest(HttpTest):
    TASKS = {"params.sh": PARAMS, "plain.sh": PLAIN}

    def first(self, *params, code=0):
        """A finished run of params.sh with these parameters: its id."""
        run = self.d.run("params", "code=%d" % code, *params,
                         check=code)
        return run["id"]

    def rerun(self, *args, check=0):
        """microlightctl rerun ARGS: the new run's id (its first line)."""
        p = self.d.ctl("rerun", *args, check=check)
        return int(p.stdout.split(b"\n", 1)[0])

    def run_count(self):
        return len(self.runs_all())


class Cli(RerunTest):

    def test_same_params(self):
        old = self.first("mode=hard", "note=first")
        new = self.rerun(old, "--wait")
        self.assertNotEqual(new, old)
        run = self.d.status(new)
        self.assertEqual(run["status"], "succeeded", run)
        self.assertEqual(run["task"], "params")
        self.assertEqual(run["params"], {"code": "0", "mode": "hard",
                                         "note": "first"})
        self.assertEqual(run["rerun_of"], old)
        self.assertEqual(run["trigger"], "cli")
        self.assertEqual(self.d.logs(new),
                         b"code=0 mode=hard note=first trigger=cli\n")
        self.assertIsNone(self.d.status(old)["rerun_of"])

    def test_override_replaces_one(self):
        old = self.first("mode=hard", "note=first")
        new = self.rerun(old, "note=second", "--wait")
        run = self.d.status(new)
        self.assertEqual(run["params"], {"code": "0", "mode": "hard",
                                         "note": "second"})
        self.assertEqual(run["rerun_of"], old)
        # A rerun of the rerun: its values, and it names its own source.
        again = self.rerun(new, "--wait")
        self.assertEqual(self.d.status(again)["params"]["note"], "second")
        self.assertEqual(self.d.status(again)["rerun_of"], new)

    def test_now_invalid_is_refused(self):
        old = self.first("mode=hard")
        before = self.run_count()
        self.d.add_task("params.sh", PARAMS_SOFT_ONLY)
        p = self.d.ctl("rerun", old, "--wait", check=EX_DATAERR)
        self.assertIn(b"mode", p.stderr)
        self.assertEqual(p.stdout, b"")
        self.assertEqual(self.run_count(), before)
        # Replacing the value the task no longer takes makes it run.
        new = self.rerun(old, "mode=soft", "--wait")
        self.assertEqual(self.d.status(new)["params"]["mode"], "soft")

    def test_bad_override_is_refused(self):
        old = self.first()
        before = self.run_count()
        p = self.d.ctl("rerun", old, "code=x", check=EX_DATAERR)
        self.assertIn(b"code", p.stderr)
        p = self.d.ctl("rerun", old, "nosuch=1", check=EX_DATAERR)
        self.assertIn(b"nosuch", p.stderr)
        self.assertEqual(self.run_count(), before)

    def test_later(self):
        old = self.first("mode=hard", "note=tonight")
        at = int(time.time()) + 3 * 3600
        new = self.rerun(old, "note=late", "--at", "@%d" % at)
        run = self.d.status(new)
        self.assertEqual(run["status"], "scheduled", run)
        self.assertEqual(run["rerun_of"], old)
        self.assertEqual(run["params"], {"code": "0", "mode": "hard",
                                         "note": "late"})
        self.assertEqual(epoch(run["scheduled_for"]), at)
        new = self.rerun(old, "--in", "1h")
        self.assertAlmostEqual(epoch(self.d.status(new)["scheduled_for"]),
                               time.time() + 3600, delta=60)
        # A time that has passed, or both: refused, nothing made.
        before = self.run_count()
        p = self.d.ctl("rerun", old, "--at", "@1", check=EX_USAGE)
        self.assertIn(b"has passed", p.stderr)
        self.d.ctl("rerun", old, "--at", "@%d" % at, "--in", "1h",
                   check=EX_USAGE)
        self.assertEqual(self.run_count(), before)

    def test_unknown_run(self):
        p = self.d.ctl("rerun", "4242", check=EX_DATAERR)
        self.assertIn(b"no run 4242", p.stderr)
        self.d.ctl("rerun", "abc", check=EX_USAGE)
        self.d.ctl("rerun", check=EX_USAGE)
        self.d.ctl("rerun", "1", "--tz", "UTC", check=EX_USAGE)
        self.no_runs()

    def test_wait_and_follow_exit_status(self):
        old = self.first(code=3)
        self.rerun(old, "--wait", check=3)
        self.rerun(old, "code=0", "--wait", check=0)
        p = self.d.ctl("rerun", old, "--follow", check=3)
        self.assertIn(b"code=3 mode=soft", p.stdout)
        self.assertRegex(p.stderr, rb"^run \d+\n")

    def test_status_and_json(self):
        old = self.first("note=x")
        out = self.d.ctl_json("rerun", old, "--wait", check=0)
        self.assertTrue(out[0]["ok"], out)
        new = out[0]["run"]["id"]
        self.assertEqual(out[0]["run"]["rerun_of"], old)
        self.assertEqual(out[-1]["event"], "end")
        self.assertEqual(out[-1]["run"]["rerun_of"], old)
        p = self.d.ctl("status", new, check=0)
        self.assertRegex(p.stdout, rb"(?m)^rerun of: +%d$" % old)
        self.assertNotIn(b"rerun of", self.d.ctl("status", old,
                                                 check=0).stdout)
        obj = self.d.ctl_json("status", new, check=0)[0]
        self.assertEqual(obj["run"]["rerun_of"], old)

    def test_protocol(self):
        old = self.first()
        r = self.d.request({"cmd": "rerun", "run": old,
                            "params": {"note": "raw"}})
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["run"]["rerun_of"], old)
        self.assertEqual(r["run"]["params"]["note"], "raw")
        before = self.run_count()
        for req, code in (({"cmd": "rerun"}, "usage"),
                          ({"cmd": "rerun", "run": "1"}, "usage"),
                          ({"cmd": "rerun", "run": old, "at": "x"}, "usage"),
                          ({"cmd": "rerun", "run": old, "params": [1]},
                           "bad-params"),
                          ({"cmd": "rerun", "run": 999}, "unknown-run")):
            r = self.d.request(req)
            self.assertFalse(r["ok"], (req, r))
            self.assertEqual(r["error"]["code"], code, (req, r))
        self.assertEqual(self.run_count(), before)


class Api(RerunTest):

    def test_rerun_route(self):
        old = self.first("mode=hard", "note=api")
        r = self.post("/api/v1/runs/%d/rerun" % old)
        self.assertEqual(r.status, 201, r)
        obj = r.json()
        new = obj["run"]["id"]
        self.assertEqual(r.headers["Location"], "/api/v1/runs/%d" % new)
        self.assertEqual(obj["run"]["rerun_of"], old)
        self.assertEqual(obj["run"]["trigger"], "api")
        self.assertEqual(obj["run"]["params"], {"code": "0", "mode": "hard",
                                                "note": "api"})
        obj = self.api("POST", "/api/v1/runs/%d/rerun" % old, 201,
                       body={"params": {"note": "other"}})
        self.assertEqual(obj["run"]["params"]["note"], "other")
        self.assertEqual(obj["run"]["params"]["mode"], "hard")
        got = self.api("GET", "/api/v1/runs/%d" % obj["run"]["id"], 200)
        self.assertEqual(got["run"]["rerun_of"], old)

    def test_later(self):
        old = self.first("mode=hard", "note=api")
        obj = self.api("POST", "/api/v1/runs/%d/rerun" % old, 201,
                       body={"in": "2h", "params": {"note": "later"}})
        self.assertEqual(obj["run"]["status"], "scheduled")
        self.assertEqual(obj["run"]["rerun_of"], old)
        self.assertEqual(obj["run"]["params"], {"code": "0", "mode": "hard",
                                                "note": "later"})
        self.assertAlmostEqual(epoch(obj["run"]["scheduled_for"]),
                               time.time() + 7200, delta=60)

    def test_refusals(self):
        old = self.first()
        before = self.run_count()
        self.api_error("POST", "/api/v1/runs/%d/rerun" % old, 400,
                       "bad-params", body={"params": {"mode": "medium"}})
        self.api_error("POST", "/api/v1/runs/999/rerun", 404, "unknown-run")
        self.api_error("POST", "/api/v1/runs/x/rerun", 404, "unknown-run")
        self.api_error("POST", "/api/v1/runs/%d/rerun" % old, 400, "usage",
                       body={"at": "@1"})
        self.api_error("POST", "/api/v1/runs/%d/rerun" % old, 400, "usage",
                       body={"when": "@99999999999"})
        self.api_error("POST", "/api/v1/runs/%d/rerun" % old, 400, "usage",
                       body={"params": "note=x"})
        self.assertEqual(self.run_count(), before)


class Page(RerunTest):

    def setUp(self):
        super().setUp()
        self.web = Web(self.d.port)

    def rerun_made(self, r, old):
        """The run a page's post redirected to (r), once it succeeded: a
        rerun of old from the web."""
        self.assertEqual(r.status, 303, r.text[:2000])
        new = int(re.fullmatch(r"/runs/(\d+)", r.headers["location"])
                  .group(1))
        run = self.d.wait_status(new, "succeeded")
        self.assertEqual(run["rerun_of"], old)
        self.assertEqual(run["trigger"], "web")
        return run

    def test_button_without_params(self):
        old = self.d.run("plain")["id"]
        r = check_page(self, self.web.get("/runs/%d" % old))
        forms = [dict(a) for t, a in parse(r.text).tags if t == "form"]
        self.assertIn({"class": "inline", "method": "post",
                       "action": "/runs/%d/rerun" % old}, forms)
        self.assertIn('id="rerun">Run again</button>', r.text)
        tok = re.search(r'name="_token" value="([0-9a-f]{32})"',
                        r.text).group(1)
        before = self.run_count()
        # No token, another site: refused, nothing made.
        self.assertEqual(self.web.post_form("/runs/%d/rerun" % old,
                                            []).status, 403)
        self.assertEqual(self.web.post_form(
            "/runs/%d/rerun" % old, [("_token", tok)],
            headers={"Origin": "http://evil.example"}).status, 403)
        self.assertEqual(self.run_count(), before)
        run = self.rerun_made(self.web.post_form("/runs/%d/rerun" % old,
                                                 [("_token", tok)]), old)
        self.assertEqual(run["task"], "plain")
        r = check_page(self, self.web.get("/runs/%d" % run["id"]))
        self.assertIn('href="/runs/%d">#%d</a>' % (old, old), r.text)
        # Unknown run: the page's 404.
        r = self.web.post_form("/runs/999/rerun", [("_token", tok)])
        self.assertEqual(r.status, 404)
        self.assertIn("no run 999", r.text)

    def test_prefilled_form_with_params(self):
        old = self.first("mode=hard", "note=" + XSS_NOTE)
        r = check_page(self, self.web.get("/runs/%d" % old))
        link = "/tasks/params?rerun=%d#run" % old
        self.assertIn('href="%s"' % html.escape(link), r.text)
        self.assertNotIn('action="/runs/%d/rerun"' % old, r.text)
        r = check_page(self, self.web.get(link.split("#")[0]))
        tags = parse(r.text).tags
        fields = {a.get("name"): a for t, a in map(lambda x: (x[0],
                  dict(x[1])), tags) if t == "input"}
        self.assertEqual(fields["_rerun"]["value"], str(old))
        self.assertEqual(fields["_rerun"]["type"], "hidden")
        self.assertEqual(fields["note"]["value"], XSS_NOTE)
        self.assertEqual(fields["code"]["value"], "0")
        self.assertIn("&lt;img", r.text)
        selected = [dict(a).get("value") for t, a in tags
                    if t == "option" and "selected" in dict(a)]
        self.assertEqual(selected, ["hard"])
        tok = fields["_token"]["value"]
        run = self.rerun_made(self.web.post_form("/tasks/params/run", [
            ("_token", tok), ("_rerun", str(old)), ("code", "0"),
            ("mode", "soft"), ("note", XSS_NOTE)]), old)
        self.assertEqual(run["params"], {"code": "0", "mode": "soft",
                                         "note": XSS_NOTE})
        # A refused value shows the form again, still a rerun.
        before = self.run_count()
        r = self.web.post_form("/tasks/params/run", [
            ("_token", tok), ("_rerun", str(old)), ("code", "x"),
            ("mode", "soft"), ("note", "")])
        check_page(self, r, 400)
        self.assertIn('name="_rerun" value="%d"' % old, r.text)
        self.assertEqual(self.run_count(), before)

    def test_rerun_later(self):
        old = self.first("mode=hard", "note=page")
        r = check_page(self, self.web.get("/tasks/params?rerun=%d" % old))
        self.assertIn('id="later"', r.text)
        tok = re.search(r'name="_token" value="([0-9a-f]{32})"',
                        r.text).group(1)
        form = [("_token", tok), ("_rerun", str(old)), ("code", "0"),
                ("mode", "hard"), ("note", "page")]
        # A bad time: the form again, the problem under Run later.
        before = self.run_count()
        r = self.web.post_form("/tasks/params/run", form + [("_in", "soon")])
        check_page(self, r, 400)
        self.assertIn('name="_rerun" value="%d"' % old, r.text)
        self.assertRegex(r.text, r'id="f-in"[^>]*aria-invalid="true"')
        self.assertIn("Run later:", r.text)
        self.assertEqual(self.run_count(), before)
        r = self.web.post_form("/tasks/params/run", form + [("_in", "2h")])
        self.assertEqual(r.status, 303, r.text[:2000])
        new = int(re.fullmatch(r"/runs/(\d+)", r.headers["location"])
                  .group(1))
        run = self.d.status(new)
        self.assertEqual(run["status"], "scheduled", run)
        self.assertEqual(run["rerun_of"], old)
        self.assertEqual(run["trigger"], "web")
        self.assertAlmostEqual(epoch(run["scheduled_for"]),
                               time.time() + 7200, delta=60)

    def test_prefill_of_another_task_or_unknown_run(self):
        plain = self.d.run("plain")["id"]
        check_page(self, self.web.get("/tasks/params?rerun=%d" % plain),
                   404)
        check_page(self, self.web.get("/tasks/params?rerun=999"), 404)
        check_page(self, self.web.get("/tasks/params?rerun=x"), 404)


if __name__ == "__main__":
    main()
