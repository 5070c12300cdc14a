#!/usr/bin/env python3
"""base-url (issue 18 point 5): the page under a path of another site,
as a proxy serves it (https://ops.example.com/ops/). Every link, form,
redirect and live stream of the page carries the path; the URLs the
daemon hands out (a webhook's, MICROLIGHT_URL, MICROLIGHT_SUBJECT_URL)
are under base-url; the path is served with and without its part, as a
proxy may pass it on either way; base-url's host is allowed. Without
base-url, MICROLIGHT_URL is the run's page on the listen address.

test_proxy.py runs the README's nginx and Caddy blocks for a path."""

import html.parser
import urllib.parse

from harness import *
from test_http import HttpTest

BASE = "https://ops.example.com/ops"
HOST = "ops.example.com"

TASKS = {
    "hello": "#!/bin/sh\n# Says hello.\n"
             "echo \"url=$MICROLIGHT_URL\"\n",
    "asks": "#!/bin/sh\n# Asks a name.\n# @param who \"Who\" default=x\n"
            "echo \"hi $who\"\n",
    "hook": "#!/bin/sh\n# A webhook's task.\n# @webhook\n"
            "echo \"url=$MICROLIGHT_URL\"\n",
    "gated": "#!/bin/sh\n# Prints one, waits, prints two.\n@SH_GATE@\n"
             "echo one\ngate 1\necho two\n",
    "fails": "#!/bin/sh\n# Fails.\n# @notify notified on=failure\nexit 3\n",
    "notified": "#!/bin/sh\n# Told of a failure.\n"
                "echo \"subject=$MICROLIGHT_SUBJECT_URL\"\n",
}


class Links(html.parser.HTMLParser):
    """Every href, action, src and data-events of a page."""

    def __init__(self, text):
        super().__init__()
        self.urls = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "action", "src", "data-events") and v:
                self.urls.append(v)


def token_of(text):
    m = re.search(r'name="_token" value="([0-9a-f]+)"', text)
    assert m, "no form token on the page"
    return m.group(1)


class BaseUrl(HttpTest):
    TASKS = TASKS
    CONFIG = "base-url %s/\n" % BASE

    def page(self, path, **kw):
        r = self.get(path, host=HOST, **kw)
        self.assertEqual(r.status, 200, (path, r))
        return r.body.decode()

    def assert_under_base(self, text, where):
        """Every link of a page is under the path, or on the page."""
        urls = Links(text).urls
        self.assertTrue(urls, where)
        for u in urls:
            if u.startswith(("#", "data:")):
                continue
            self.assertTrue(u.startswith("/ops/"), "%s: a link not under "
                            "/ops/: %r" % (where, u))

    def test_links_under_the_path(self):
        """The front page, a task's page and a run's page (live and
        ended) link only under /ops/, and each link they give works."""
        run_id = self.d.run("hello")["id"]
        gated = self.d.run("gated", wait=False)
        self.d.wait_status(gated, "running")
        pages = ["/ops/", "/ops/tasks/asks", "/ops/runs/%d" % run_id,
                 "/ops/runs/%d" % gated]
        seen = set()
        for p in pages:
            text = self.page(p)
            self.assert_under_base(text, p)
            for u in Links(text).urls:
                if u.startswith("/ops/") and "/events" not in u:
                    seen.add(u.split("#")[0])
        self.assertIn("/ops/tasks/asks", seen)
        self.assertIn("/ops/runs/%d" % run_id, seen)
        self.assertIn("/ops/api/v1/runs/%d/log" % run_id, seen)
        for u in sorted(seen):
            if "/run" in u and u.endswith(("/run", "/cancel", "/rerun")):
                continue	# forms: posted below
            r = self.get(u, host=HOST)
            self.assertEqual(r.status, 200, (u, r))
        # The live page's stream is under the path, and streams there.
        live = self.page("/ops/runs/%d" % gated)
        ev = [u for u in Links(live).urls if "/events" in u]
        self.assertEqual(len(ev), 1, ev)
        self.assertTrue(ev[0].startswith("/ops/runs/%d/events" % gated), ev)
        c, r = self.d.open_stream(ev[0], headers={
            "Host": HOST, "Accept": "text/event-stream"})
        self.addCleanup(c.close)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("X-Accel-Buffering"), "no")
        got = r.read1(65536)
        self.assertIn(b"event: status", got)
        self.go(gated)
        while b"two" not in got:
            chunk = r.read1(65536)
            self.assertTrue(chunk, got)
            got += chunk
        self.d.wait_status(gated, "succeeded")

    def test_without_the_path_too(self):
        """A proxy that strips its part passes /tasks/x: served the
        same, links still under /ops/. /ops alone is the front page;
        a path that only starts like it (/opsx) is not ours."""
        for p in ("/", "/ops", "/ops/"):
            self.assert_under_base(self.page(p), p)
        self.assert_under_base(self.page("/tasks/asks"), "/tasks/asks")
        self.assertEqual(self.get("/opsx/tasks/asks", host=HOST).status,
                         404)
        self.assertEqual(self.get("/ops/api/v1/tasks/hello",
                                  host=HOST).status, 200)

    def test_form_redirects_under_the_path(self):
        """The task's form, posted from the page at base-url's origin,
        goes to the new run under /ops/; so does the API's Location."""
        text = self.page("/ops/tasks/asks")
        m = re.search(r'action="(/ops/tasks/asks/run)"', text)
        self.assertTrue(m, text)
        body = urllib.parse.urlencode({"_token": token_of(text),
                                       "who": "ann"})
        r = self.post(m.group(1), body=body, host=HOST, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": "https://ops.example.com"})
        self.assertEqual(r.status, 303, r)
        loc = r.headers.get("Location")
        m = re.fullmatch(r"/ops/runs/(\d+)", loc or "")
        self.assertTrue(m, loc)
        self.d.wait_status(int(m.group(1)), "succeeded")
        self.assertEqual(self.d.logs(int(m.group(1))), b"hi ann\n")
        r = self.post("/ops/api/v1/tasks/hello/runs", body={}, host=HOST)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.headers.get("Location"),
                         "/ops/api/v1/runs/%d" % r.json()["run"]["id"])

    def test_other_origin_refused_saying_what_to_set(self):
        """A form posted from another site is refused; a browser gets a
        page that names the origin and base-url."""
        text = self.page("/ops/tasks/asks")
        body = urllib.parse.urlencode({"_token": token_of(text)})
        r = self.post("/ops/tasks/asks/run", body=body, host=HOST, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "text/html", "Origin": "https://evil.example"})
        self.assertEqual(r.status, 403, r)
        self.assertTrue(r.headers.get("Content-Type").startswith(
            "text/html"), r.headers)
        page = r.body.decode()
        self.assertIn("https://evil.example", page)
        self.assertIn("base-url", page)
        self.assertIn("allowed-hosts", page)
        self.no_runs()

    def test_urls_handed_out(self):
        """microlightctl webhook prints the hook under base-url; the
        hook's answer points under the path; MICROLIGHT_URL and
        MICROLIGHT_SUBJECT_URL are the pages under base-url."""
        out = self.d.ctl("webhook", "hook", check=0).stdout.decode()
        m = re.search(r"^url:\s+(\S+)$", out, re.M)
        self.assertTrue(m, out)
        self.assertEqual(m.group(1), BASE + "/hooks/hook")
        secret = re.search(r"^secret:\s+(\S+)$", out, re.M).group(1)
        r = self.post("/ops/hooks/hook", body={}, host=HOST,
                      headers={"Authorization": "Bearer " + secret})
        self.assertEqual(r.status, 202, r)
        run_id = r.json()["run_id"]
        self.assertEqual(r.json()["url"], "/ops/runs/%d" % run_id)
        self.d.wait_status(run_id, "succeeded")
        self.assertEqual(self.d.logs(run_id),
                         b"url=%s/runs/%d\n" % (BASE.encode(), run_id))
        failed = self.d.run("fails", check=3)["id"]
        notice = self.d.wait_for(
            lambda: [r for r in self.runs_all() if r["task"] == "notified"
                     and r["status"] == "succeeded"] or None,
            what="the notification run")[0]
        self.assertEqual(self.d.logs(notice["id"]), b"subject=%s/runs/%d\n"
                         % (BASE.encode(), failed))

    def test_first_line_names_base_url(self):
        """The daemon says where people reach the page, and where it
        listens."""
        self.assertIn("web page on %s/ (listening on 127.0.0.1:%d)"
                      % (BASE, self.d.port), self.d.log_text())


class NoBaseUrl(HttpTest):
    TASKS = {"hello": TASKS["hello"]}

    def test_microlight_url_is_the_listen_address(self):
        run_id = self.d.run("hello")["id"]
        self.assertEqual(self.d.logs(run_id), b"url=http://127.0.0.1:%d/"
                         b"runs/%d\n" % (self.d.port, run_id))
        r = self.get("/runs/%d" % run_id)
        self.assertEqual(r.status, 200)
        for u in Links(r.body.decode()).urls:
            self.assertFalse(u.startswith("/ops"), u)


class NoListener(HttpTest):
    TASKS = {"hello": TASKS["hello"]}
    LISTEN = "none"

    def test_no_microlight_url_without_http(self):
        """No page, no MICROLIGHT_URL (an empty one would mislead)."""
        run_id = self.d.run("hello")["id"]
        self.assertEqual(self.d.logs(run_id), b"url=\n")


class BadBaseUrl(HttpTest):
    TASKS = {"hello": TASKS["hello"]}
    START = False

    def test_refused(self):
        """A base-url that is not a plain http(s) URL with a path stops
        the start, saying why, the file and the line."""
        for value, says in (
                ("ftp://ops.example.com/", "does not start with https://"),
                ("https:///ops", "has no host"),
                ("https://ops.example.com/a?b=1", "no query"),
                ("https://ops.example.com/a/../b", "'..'"),
                ("https://ops.example.com//a", "empty"),
                ("https://ops example.com/", None),
                ("https://ops.example.com/%2e", "nothing to escape")):
            with self.subTest(value=value):
                with open(self.d.config, "w") as f:
                    f.write("base-url %s\n" % value)
                rc, err = self.d.check_mode()
                self.assertNotEqual(rc, 0, value)
                self.assertIn("%s:1:" % self.d.config, err)
                self.assertIn("base-url", err)
                if says is not None:
                    self.assertIn(says, err)

    def test_accepted(self):
        for value in ("https://ops.example.com", "http://10.0.0.1:8443/",
                      "https://[::1]:9/a-b/c_d.e~f/"):
            with self.subTest(value=value):
                with open(self.d.config, "w") as f:
                    f.write("base-url %s\n" % value)
                rc, out = self.d.check_mode()
                self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    main()
