#!/usr/bin/env python3
"""The web page over real HTTP (SPEC section 6, issue 5): the task list
by group with descriptions, schedules in words, next and last runs; a
task's page and its form for every parameter type; running a task through
the form (token, 303, the run's page with its output); refused forms
(bad parameter, no or wrong token, another site's Origin, unknown or
invalid task, @confirm not ticked); the run page's Server-Sent Events;
Cancel; Basic auth and the web user as triggered_by. Every page is
checked for escaping (XSS payloads in a description, labels, defaults,
choices, a group, values and output, ANSI escapes) and for its
Content-Security-Policy: a nonce on every script and style, no inline
handler or style attribute, nothing from elsewhere."""

import base64
import datetime
import html
import html.parser
import http.client
import pwd
import urllib.parse
import warnings

from harness import *
from test_http import free_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
       "<img/src=x/onerror=alert(1)>"]


class WebDaemon(Daemon):
    """A daemon that serves the page on a port of its own."""

    def __init__(self, *args, **kw):
        self.port = free_port()
        self.started = False
        super().__init__(*args, **kw)

    def start(self, extra=(), wait=True):
        proc = super().start(extra, wait)
        self.started = True
        return proc

    def pick_port(self):
        if self.started:
            return False
        self.port = free_port()
        return True

    def command(self, extra=()):
        cmd = super().command(extra)
        cmd[cmd.index("-l") + 1] = "127.0.0.1:%d" % self.port
        return cmd


class Reply:
    """An HTTP reply: status, headers (lower-case names), body."""

    def __init__(self, resp, body):
        self.status = resp.status
        self.headers = {k.lower(): v for k, v in resp.getheaders()}
        self.body = body
        self.text = body.decode("utf-8")


class Web:
    """A client of one daemon's page, optionally with Basic credentials."""

    def __init__(self, port, user=None, password=None):
        self.port = port
        self.auth = None
        if user is not None:
            self.auth = "Basic " + base64.b64encode(
                ("%s:%s" % (user, password)).encode()).decode()

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {"Host": "127.0.0.1:%d" % self.port}
        if self.auth:
            h["Authorization"] = self.auth
        h.update(headers or {})
        try:
            c.request(method, path, body=body, headers=h)
            resp = c.getresponse()
            return Reply(resp, resp.read())
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post_form(self, path, fields, headers=None):
        h = {"Content-Type": "application/x-www-form-urlencoded",
             "Origin": "http://127.0.0.1:%d" % self.port}
        h.update(headers or {})
        return self.request("POST", path, urllib.parse.urlencode(fields),
                            headers=h)

    def token(self):
        r = self.get("/")
        m = re.search(r'name="_token" value="([0-9a-f]{32})"', r.text)
        assert m, "no form token on the task list"
        return m.group(1)

    def run(self, task, fields=()):
        """Run a task through its form; the new run's id."""
        r = self.post_form("/tasks/%s/run" % task,
                           [("_token", self.token())] + list(fields))
        assert r.status == 303, (r.status, r.text[:2000])
        m = re.fullmatch(r"/runs/(\d+)", r.headers["location"])
        assert m, r.headers["location"]
        return int(m.group(1))


class Tags(html.parser.HTMLParser):
    """Every start tag of a page with its attributes, and its text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.data = []
        self.code = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self.code = tag in ("script", "style")

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag):
        self.code = False

    def handle_data(self, data):
        if not self.code:
            self.data.append(data)


def parse(text):
    p = Tags()
    p.feed(text)
    p.close()
    return p


def page_text(r):
    """A page's text as a person reads it, whitespace collapsed."""
    return " ".join(" ".join(parse(r.text).data).split())


def block(text, start, end="</li>"):
    """The part of a page from the first occurrence of start to end."""
    i = text.index(start)
    return text[i:text.index(end, i)]


def check_safe_html(test, text, nonce=None):
    """No payload unescaped, no escape character, and only our own kind of
    tags: scripts and styles with the nonce, no event handler or style
    attribute, no URL of another site or javascript:."""
    for p in XSS:
        test.assertNotIn(p, text)
    test.assertNotIn("\x1b", text)
    for tag, attrs in parse(text).tags:
        test.assertNotIn(tag, ("img", "iframe", "object", "embed", "base"))
        a = dict(attrs)
        if tag in ("script", "style"):
            test.assertIsNotNone(nonce, "a %s in a fragment" % tag)
            test.assertEqual(a.get("nonce"), nonce, "%s without the "
                             "reply's nonce" % tag)
            test.assertNotIn("src", a)
        for name, value in attrs:
            test.assertFalse(name.startswith("on"), "inline handler %s=%r"
                             % (name, value))
            test.assertNotEqual(name, "style", "a style attribute")
            if name in ("href", "src", "action") and value:
                test.assertTrue(value.startswith(("/", "data:", "#")),
                                "%s=%r leaves the site" % (name, value))


def check_page(test, r, status=200):
    """A page: its status, its type, its CSP and safe HTML."""
    test.assertEqual(r.status, status, r.text[:3000])
    test.assertTrue(r.headers["content-type"].startswith("text/html"))
    test.assertEqual(r.headers.get("x-content-type-options"), "nosniff")
    csp = r.headers["content-security-policy"]
    m = re.search(r"script-src 'nonce-([0-9a-f]{32})'", csp)
    test.assertTrue(m, csp)
    nonce = m.group(1)
    test.assertIn("style-src 'nonce-%s'" % nonce, csp)
    test.assertIn("default-src 'none'", csp)
    test.assertNotIn("unsafe-inline", csp)
    test.assertTrue(r.text.startswith("<!doctype html>"))
    test.assertIn('<meta name="viewport"', r.text)
    check_safe_html(test, r.text, nonce)
    return r


def sse_events(web, path, limit=200, headers=None):
    """Read a stream of Server-Sent Events to its end: [(type, id,
    data)], the reply's headers."""
    c = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
    h = {"Host": "127.0.0.1:%d" % web.port, "Accept": "text/event-stream"}
    if web.auth:
        h["Authorization"] = web.auth
    h.update(headers or {})
    c.request("GET", path, headers=h)
    resp = c.getresponse()
    hdrs = {k.lower(): v for k, v in resp.getheaders()}
    events, ev = [], {}
    try:
        while len(events) < limit:
            line = resp.readline()
            if not line:
                break
            line = line.decode("utf-8").rstrip("\n")
            if line == "":
                if "event" in ev:
                    events.append((ev["event"], ev.get("id"),
                                   json.loads(ev["data"])))
                ev = {}
            elif not line.startswith(":"):
                k, _, v = line.partition(": ")
                ev[k] = v
    finally:
        c.close()
    return events, hdrs, resp.status


class SseStream:
    """A stream of Server-Sent Events read as it comes: next() gives the
    next event, (type, id, data object); None once the stream ended."""

    def __init__(self, web, path, headers=None):
        self.c = http.client.HTTPConnection("127.0.0.1", web.port,
                                            timeout=30)
        h = {"Host": "127.0.0.1:%d" % web.port,
             "Accept": "text/event-stream"}
        if web.auth:
            h["Authorization"] = web.auth
        h.update(headers or {})
        self.c.request("GET", path, headers=h)
        self.resp = self.c.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}

    def next(self):
        ev = {}
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode("utf-8").rstrip("\n")
            if line == "":
                if "event" in ev:
                    return (ev["event"], ev.get("id"),
                            json.loads(ev["data"]))
                ev = {}
            elif not line.startswith(":"):
                k, _, v = line.partition(": ")
                ev[k] = v

    def until(self, pred, what="an event"):
        """The events up to the first for which pred(type, data) holds."""
        events = []
        while True:
            e = self.next()
            if e is None:
                raise AssertionError("the stream ended before %s: %r"
                                     % (what, events))
            events.append(e)
            if pred(e[0], e[2]):
                return events

    def close(self):
        self.c.close()


def fmt_duration(ms):
    """A duration as the daemon writes it (duration_format_ms)."""
    s = ms // 1000
    if ms < 1000:
        return "%dms" % ms
    if ms < 60000:
        return "%d.%03ds" % (s, ms % 1000)
    if s < 3600:
        return "%dm%02ds" % (s // 60, s % 60)
    if s < 86400:
        return "%dh%02dm" % (s // 3600, s % 3600 // 60)
    return "%dd%02dh" % (s // 86400, s % 86400 // 3600)


TASKS = {
    "counter.sh": """\
        #!/bin/sh
        # Succeeds, or fails when asked.
        # @param fail bool "Fail"
        # @concurrency 4
        [ "$fail" = true ] && exit 1
        echo ok
        """,
    "chain-first.sh": """\
        #!/bin/sh
        # Starts chain-then when it succeeds.
        # @on-success chain-then
        echo first
        """,
    "chain-then.sh": "#!/bin/sh\n# Started by chain-first.\necho then\n",
    "flaky.sh": """\
        #!/bin/sh
        # Fails once, then succeeds.
        # @retries 1
        # @retry-delay 1s
        if [ -e @SCRATCH@/flaky-failed ]; then echo ok; exit 0; fi
        touch @SCRATCH@/flaky-failed
        exit 1
        """,
    "restart-redis.sh": """\
        #!/bin/sh
        # Restart the cache.
        # @group Ops
        # @title Restart <Redis> & cache
        echo restarted
        """,
    "hello.sh": """\
        #!/bin/sh
        # Say hello to the team.
        # @group Ops
        echo "hello from $MICROLIGHT_TRIGGER by $MICROLIGHT_TRIGGERED_BY"
        """,
    "nightly.sh": """\
        #!/bin/sh
        # Clean up old files every night.
        # @schedule 30 3 * * *
        # @timezone Europe/Paris
        # @group Ops
        echo cleaned
        """,
    "form.sh": """\
        #!/bin/sh
        # Every kind of parameter.
        # @param name "Your name" required
        # @param colour choice(red,green,blue) "Colour" default=green
        # @param count int "How many" default=2
        # @param loud bool "Loud"
        # @param quiet bool "Quiet" default=true
        # @param note "A note"
        # @group Forms
        printf 'name=%s colour=%s count=%s loud=%s quiet=%s note=%s\\n' \\
            "$name" "$colour" "$count" "$loud" "$quiet" "$note"
        """,
    "flags.sh": """\
        #!/bin/sh
        # Booleans only, no required parameter.
        # @param loud bool "Loud"
        # @param quiet bool "Quiet" default=true
        # @group Forms
        echo "loud=$loud quiet=$quiet"
        """,
    "careful.sh": """\
        #!/bin/sh
        # Drop the cache (asks first).
        # @confirm
        echo dropped
        """,
    "broken.sh": """\
        #!/bin/sh
        # Broken on purpose.
        # @frobnicate yes
        echo never
        """,
    "xss.sh": """\
        #!/bin/sh
        # <script>alert(1)</script> "><img src=x onerror=alert(1)> here.
        # @param p "\\"><img src=x onerror=alert(1)> <script>alert(1)</script>" "default=<script>alert(1)</script>"
        # @param c choice(safe,<img/src=x/onerror=alert(1)>,<script>alert(1)</script>) default=<script>alert(1)</script>
        # @group <script>alert(1)</script>
        printf 'p=%s\\n' "$p"
        printf '<script>alert(1)</script>\\n"><img src=x onerror=alert(1)>\\n'
        printf '\\033[31mred\\033[0m \\033]0;title\\007done\\n'
        printf '\\033[1;32merr <script>alert(1)</script>\\033[0m\\n' >&2
        """,
    "slow.sh": """\
        #!/bin/sh
        # Three steps, each waiting for the test.
        @SH_GATE@
        echo "step one"
        gate 1
        printf '\\033[33mstep <two>\\033[0m\\n' >&2
        gate 2
        echo "step three"
        exit 3
        """,
    "big.sh": """\
        #!/bin/sh
        # A lot of output.
        @PYTHON@ -c 'import sys
        for i in range(30000): sys.stdout.write("line %06d %s\\n" % (i, "x" * 60))'
        echo "the last line"
        """,
}


class PageTest(unittest.TestCase):
    """One daemon for the whole class: the tests start runs of their own
    and look only at those."""

    CONFIG = "kill-grace 2s\n"
    USERS = None
    ENV = None
    SHIFTED_CLOCK = False   # the daemon on a ShiftedClock, cls.clock

    @classmethod
    def setUpClass(cls):
        cls.clock = ShiftedClock() if cls.SHIFTED_CLOCK else None
        cls.scratch = tempfile.mkdtemp(prefix="ml-scratch-")
        config = cls.CONFIG
        if cls.USERS:
            path = os.path.join(cls.scratch, "users")
            with open(path, "w") as f:
                for user, pw in cls.USERS.items():
                    f.write("%s:%s\n" % (user, crypt.crypt(
                        pw, crypt.mksalt(crypt.METHOD_SHA512))))
            config += "users-file %s\n" % path
        tasks = {n: subst(b, cls.scratch) for n, b in TASKS.items()}
        cls.d = WebDaemon(config=config, tasks=tasks, env=cls.ENV,
                          clock=cls.clock)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.cleanup()
        finally:
            shutil.rmtree(cls.scratch, ignore_errors=True)
            if cls.clock is not None:
                cls.clock.close()

    def setUp(self):
        self.web = Web(self.d.port)

    def go(self, run_id, n):
        with open(os.path.join(self.scratch, "go-%d-%d" % (run_id, n)),
                  "w"):
            pass

    def run_page(self, run_id, status=200):
        return check_page(self, self.web.get("/runs/%d" % run_id), status)

    def cancel(self, *run_ids):
        """Cancel runs of this test's, the last one running: wait until
        it has ended."""
        for run_id in run_ids:
            self.d.ctl("cancel", run_id, check=0)
        self.d.wait_status(run_ids[-1], "cancelled", timeout=15)


class IndexTest(PageTest):

    def test_groups_descriptions_schedules(self):
        """The list shows each group once, with its tasks' descriptions,
        schedules in words with the zone and the next run."""
        r = check_page(self, self.web.get("/"))
        groups = re.findall(r'<section class="group"><h2>(.*?)</h2>', r.text)
        self.assertEqual(groups, ["&lt;script&gt;alert(1)&lt;/script&gt;",
                                  "Forms", "Ops", "Other tasks"])
        text = page_text(r)
        self.assertIn("Say hello to the team.", text)
        self.assertIn("Every kind of parameter.", text)
        nightly = block(r.text, 'id="task-nightly"')
        self.assertIn("every day at 03:30", nightly)
        self.assertIn("Europe/Paris", nightly)
        self.assertIn('title="30 3 * * *"', nightly)
        api = json.loads(self.web.get("/api/v1/tasks/nightly").text)
        nxt = api["task"]["next_run"]
        self.assertTrue(nxt)
        self.assertIn('<time datetime="%s">' % nxt, nightly)
        # The tasks without a group come last, under their own heading.
        self.assertLess(r.text.index('id="task-nightly"'),
                        r.text.index('id="task-careful"'))

    def test_run_buttons(self):
        """A plain task has a Run form with the token; one with required
        parameters or @confirm leads to its page; an invalid one shows its
        error and no button."""
        r = check_page(self, self.web.get("/"))
        tok = self.web.token()
        hello = block(r.text, 'id="task-hello"')
        self.assertIn('action="/tasks/hello/run"', hello)
        self.assertIn('name="_token" value="%s"' % tok, hello)
        form = block(r.text, 'id="task-form"')
        self.assertNotIn("<form", form)
        self.assertIn('href="/tasks/form"', form)
        careful = block(r.text, 'id="task-careful"')
        self.assertNotIn("<form", careful)
        self.assertIn('class="btn primary" href="/tasks/careful"', careful)
        broken = block(r.text, 'id="task-broken"')
        self.assertIn("invalid", broken)
        self.assertIn("frobnicate", broken)
        self.assertNotIn("<form", broken)
        self.assertNotIn("btn", broken)

    def test_last_status_and_recent_runs(self):
        """After a run the list shows its status by the task, linked to
        the run, and the run among the recent runs."""
        run_id = self.web.run("hello")
        self.d.wait_status(run_id, "succeeded")
        r = check_page(self, self.web.get("/"))
        hello = block(r.text, 'id="task-hello"')
        self.assertIn('<a class="badge b-succeeded" href="/runs/%d">'
                      'succeeded</a>' % run_id, hello)
        recent = r.text[r.text.index('id="recent"'):]
        self.assertIn('<a href="/runs/%d">#%d</a>' % (run_id, run_id),
                      recent)
        self.assertIn('<a href="/tasks/hello">hello</a>', recent)


class ListStateTest(PageTest):
    """The task list shows what a task's runs are doing, all that applies
    at once: running, queued (with how many when more than one) and the
    last result, each linked to its run."""

    def badges(self, task):
        side = block(check_page(self, self.web.get("/")).text,
                     'id="task-%s"' % task)
        return re.findall(r'<a class="badge b-(\w+)" href="/runs/(\d+)">'
                          r'([^<]*)</a>', block(side, 'class="last"',
                                               "</div>"))

    def test_running_queued_and_last(self):
        self.assertIn("never run", block(self.web.get("/").text,
                                         'id="task-careful"'))
        first = self.web.run("slow")
        self.d.wait_status(first, "running")
        second, third = self.web.run("slow"), self.web.run("slow")
        self.assertEqual(self.badges("slow"), [
            ("running", str(first), "running"),
            ("queued", str(second), "2 queued")])
        self.go(first, 1)
        self.go(first, 2)
        self.d.wait_status(first, "failed")
        self.d.wait_status(second, "running")
        self.assertEqual(self.badges("slow"), [
            ("running", str(second), "running"),
            ("queued", str(third), "queued"),
            ("failed", str(first), "failed")])
        self.assertNotIn("never run", block(self.web.get("/").text,
                                            'id="task-slow"'))
        self.cancel(third, second)
        # The last result is the latest run that ended.
        self.assertEqual(self.badges("slow"), [
            ("cancelled", str(third), "cancelled")])


class ListLiveTest(PageTest):
    """The task list's live stream (GET /events): the page says where it
    goes on from; it sends a task's state when one of its runs is
    queued, starts or ends, the badges as the list draws them; a page of
    another daemon (or one it cannot tell the changes since) is told to
    reload."""

    def since(self):
        """The list's stream address, and the serial the page was drawn
        at."""
        r = check_page(self, self.web.get("/"))
        self.assertIn("new EventSource", r.text)
        m = re.search(r'<div id="tasks" data-events="(/events\?since='
                      r'(\d+))">', r.text)
        self.assertTrue(m, r.text[:3000])
        return m.group(1), m.group(2)

    @staticmethod
    def of(task, **want):
        """A predicate: an event of task's state with the values want."""
        return lambda k, d: k == "task" and d["task"] == task and all(
            d[key] == value for key, value in want.items())

    def test_start_and_end(self):
        path, serial = self.since()
        s = SseStream(self.web, path)
        try:
            self.assertEqual(s.status, 200)
            self.assertTrue(s.headers["content-type"].startswith(
                "text/event-stream"))
            self.assertEqual(s.next(), ("sync", serial,
                                        {"serial": int(serial)}))
            run_id = self.web.run("slow")
            events = s.until(self.of("slow", running=1), "the start")
            kind, ident, d = events[-1]
            self.assertGreater(int(ident), int(serial))
            self.assertEqual(d["queued"], 0)
            self.assertTrue(d["html"].startswith(
                '<a class="badge b-running" href="/runs/%d">running</a> '
                % run_id), d["html"])
            self.go(run_id, 1)
            self.go(run_id, 2)
            kind, later, d = s.until(self.of("slow", running=0),
                                     "the end")[-1]
            self.assertGreater(int(later), int(ident))
            self.assertEqual(d["last"], {"id": run_id, "status": "failed"})
            self.assertIn('<a class="badge b-failed" href="/runs/%d">failed'
                          '</a><br><time datetime=' % run_id, d["html"])
            self.assertNotIn("b-running", d["html"])
        finally:
            s.close()
        # The page drawn now shows the same.
        self.assertIn(d["html"], block(self.web.get("/").text,
                                       'id="task-slow"'))

    def test_rest_of_the_row(self):
        """A task's event carries the rest of its row as the list draws
        it: failing once a run fails, the next run once one is planned."""
        path, _ = self.since()
        s = SseStream(self.web, path)
        try:
            s.until(lambda k, d: k == "sync", "the sync")
            run_id = self.web.run("slow")
            self.go(run_id, 1)
            self.go(run_id, 2)
            d = s.until(self.of("slow", running=0), "the end")[-1][2]
            self.assertIn('id="failing-slow">failing</span>', d["main"])
            self.assertIn("Failing since", d["main"])
            later = int(self.d.ctl("run", "hello", "--in", "2h",
                                   check=0).stdout)
            due = self.d.status(later)["scheduled_for"]
            d = s.until(lambda k, d: k == "task" and d["task"] == "hello"
                        and "<b>Next</b>" in d["main"], "the next run")[-1][2]
            self.assertIn('<time datetime="%s">' % due, d["main"])
            self.d.ctl("cancel", later, check=0)
            d = s.until(lambda k, d: k == "task" and d["task"] == "hello"
                        and "<b>Next</b>" not in d["main"],
                        "no next run")[-1][2]
        finally:
            s.close()
        # The page drawn now shows the same.
        self.assertIn(d["main"], block(self.web.get("/").text,
                                       'id="task-hello"'))

    def test_queued_count_and_catch_up(self):
        path, serial = self.since()
        first = self.web.run("slow")
        self.d.wait_status(first, "running")
        second, third = self.web.run("slow"), self.web.run("slow")
        # A stream from the page drawn before: what changed since, once
        # per task however often, then the sync.
        s = SseStream(self.web, path)
        try:
            events = s.until(lambda k, d: k == "sync", "the sync")
            tasks = [d for k, _, d in events if k == "task"]
            self.assertEqual([d["task"] for d in tasks], ["slow"])
            self.assertEqual((tasks[0]["running"], tasks[0]["queued"]),
                             (1, 2))
            self.assertIn('<a class="badge b-queued" href="/runs/%d">2 '
                          'queued</a>' % second, tasks[0]["html"])
            last = events[-1][1]
            self.d.ctl("cancel", third, check=0)
            d = s.until(self.of("slow", queued=1), "the cancel")[-1][2]
            self.assertEqual(d["last"], {"id": third,
                                         "status": "cancelled"})
        finally:
            s.close()
        # A browser that comes back says what it saw last.
        s = SseStream(self.web, path, headers={"Last-Event-ID": last})
        try:
            events = s.until(lambda k, d: k == "sync", "the sync")
            self.assertEqual([(k, d.get("task"), d.get("queued"))
                              for k, _, d in events],
                             [("task", "slow", 1), ("sync", None, None)])
        finally:
            s.close()
        self.cancel(second, first)

    def test_reload(self):
        """Changes from before this daemon's start (another daemon's
        page), from the future or not a number: reload, and the end."""
        _, serial = self.since()
        for since in ("1", str(int(serial) + 1000), "soon"):
            s = SseStream(self.web, "/events?since=" + since)
            try:
                self.assertEqual(s.next(), ("reload", None,
                                            {"serial": int(serial)}))
                self.assertIsNone(s.next())
            finally:
                s.close()
        # since=0: every change since start-up.
        s = SseStream(self.web, "/events?since=0")
        try:
            self.assertEqual(s.until(lambda k, d: k == "sync")[-1][1],
                             serial)
        finally:
            s.close()


class TitleTest(PageTest):
    """@title: the name the page shows, escaped; the file's name stays
    the task's name everywhere else."""

    SHOWN = "Restart &lt;Redis&gt; &amp; cache"

    def test_title_on_every_page(self):
        r = check_page(self, self.web.get("/"))
        row = block(r.text, 'id="task-restart-redis"')
        self.assertIn('<a href="/tasks/restart-redis">%s</a>' % self.SHOWN,
                      row)
        self.assertIn('action="/tasks/restart-redis/run"', row)
        r = check_page(self, self.web.get("/tasks/restart-redis"))
        self.assertIn('<h1>%s <span class="muted" id="task-name">'
                      'restart-redis</span></h1>' % self.SHOWN, r.text)
        self.assertIn("<title>%s" % self.SHOWN, r.text)
        run_id = self.web.run("restart-redis")
        self.d.wait_status(run_id, "succeeded")
        r = self.run_page(run_id)
        self.assertIn('<h1>%s <span class="muted">run #%d</span></h1>' %
                      (self.SHOWN, run_id), r.text)
        # A task without one shows its name, and no second name.
        r = check_page(self, self.web.get("/tasks/hello"))
        self.assertIn("<h1>hello</h1>", r.text)

    def test_title_in_the_api_and_cli(self):
        api = json.loads(self.web.get("/api/v1/tasks/restart-redis").text)
        self.assertEqual(api["task"]["title"], "Restart <Redis> & cache")
        self.assertEqual(api["task"]["name"], "restart-redis")
        api = json.loads(self.web.get("/api/v1/tasks/hello").text)
        self.assertIsNone(api["task"]["title"])
        p = self.d.ctl("show", "restart-redis", check=0)
        self.assertIn(b"title:        Restart <Redis> & cache\n", p.stdout)


class HistoryTest(PageTest):
    """The history on a task's page and the recent runs on the list: a
    status filter and paging, by links that work without a script."""

    def rows(self, html, section):
        part = html[html.index('<section id="%s">' % section):]
        part = part[:part.index("</section>")]
        return [int(x) for x in re.findall(r'<tr><td><a href="/runs/(\d+)">',
                                           part)], part

    def test_filter_and_pages(self):
        ids = []
        for i in range(27):
            p = self.d.ctl("run", "counter", "fail=%s" %
                           ("yes" if i % 9 == 0 else "no"), "--wait")
            ids.append(int(p.stdout.split()[0]))
        failed = [ids[0], ids[9], ids[18]]
        newest = sorted(ids, reverse=True)

        r = check_page(self, self.web.get("/tasks/counter"))
        shown, part = self.rows(r.text, "history")
        self.assertEqual(shown, newest[:25])
        self.assertIn('<a href="/tasks/counter#history" '
                      'aria-current="page">All</a>', part)
        m = re.search(r'<a id="history-older" href="([^"]+)">Older runs</a>',
                      part)
        self.assertIsNotNone(m, part)
        older = html.unescape(m.group(1))
        self.assertEqual(older, "/tasks/counter?before=%d#history" %
                         newest[24])
        r = check_page(self, self.web.get(older.split("#")[0]))
        shown, part = self.rows(r.text, "history")
        self.assertEqual(shown, newest[25:])
        self.assertNotIn("Older runs", part)
        self.assertIn('href="/tasks/counter#history">Newest runs</a>', part)

        r = check_page(self, self.web.get("/tasks/counter?status=failed"))
        shown, part = self.rows(r.text, "history")
        self.assertEqual(shown, sorted(failed, reverse=True))
        self.assertIn('<a href="/tasks/counter?status=failed#history" '
                      'aria-current="page">failed</a>', part)
        self.assertNotIn("Older runs", part)

        r = check_page(self, self.web.get("/tasks/counter?status=<b>x"))
        shown, part = self.rows(r.text, "history")
        self.assertEqual(shown, newest[:25])
        self.assertIn("There is no status '&lt;b&gt;x': showing every run.",
                      part)

        r = check_page(self, self.web.get("/?status=failed"))
        shown, part = self.rows(r.text, "recent")
        self.assertTrue(set(failed) <= set(shown), (failed, shown))
        for run_id in shown:
            self.assertEqual(self.d.status(run_id)["status"], "failed")


class WhyQueuedTest(PageTest):
    """A queued run's page says why it waits."""

    CONFIG = "kill-grace 2s\nmax-running 1\n"

    def test_one_at_a_time_and_no_free_slot(self):
        first = self.web.run("slow")
        self.d.wait_status(first, "running")
        other = self.web.run("hello")
        second = self.web.run("slow")
        self.assertEqual(self.d.status(other)["status"], "queued")
        r = self.run_page(other)
        self.assertIn('<p class="lead" id="why-queued">Waiting for a free '
                      'slot: 1 run under way, as many as max-running '
                      'allows.</p>', r.text)
        r = self.run_page(second)
        self.assertIn('<p class="lead" id="why-queued">Waiting for <a href='
                      '"/runs/%d">#%d</a>: this task runs one at a time.'
                      '</p>' % (first, first), r.text)
        self.assertNotIn('id="why-queued"', self.run_page(first).text)
        self.cancel(second, other, first)

    def test_reason_follows_live(self):
        """A queued run's live page hears when the run it waits for
        changes, though its own state does not."""
        first = self.web.run("slow")
        self.d.wait_status(first, "running")
        second, third = self.web.run("slow"), self.web.run("slow")
        waits_for = '<p class="lead" id="why-queued">Waiting for <a href=' \
            '"/runs/%d">#%d</a>: this task runs one at a time.</p>'
        s = SseStream(self.web, "/runs/%d/events" % third)
        try:
            kind, _, data = s.next()
            self.assertEqual((kind, data["status"]), ("status", "queued"))
            self.assertIn(waits_for % (first, first), data["html"])
            self.go(first, 1)
            self.go(first, 2)
            self.d.wait_status(second, "running")
            events = s.until(lambda t, d: "#%d</a>" % second in
                             d.get("html", ""), "the new reason")
            kind, _, data = events[-1]
            self.assertEqual((kind, data["status"]), ("status", "queued"))
            self.assertIn(waits_for % (second, second), data["html"])
            # Its state did not change, only the reason (maybe "its
            # turn" between the first's end and the second's start).
            self.assertEqual({(k, d["status"]) for k, _, d in events},
                             {("status", "queued")})
        finally:
            s.close()
        self.cancel(third, second)


class DroppedTest(PageTest):
    """Output past max-log-size sends no event: while the run goes its
    page carries the limit (data-limit) for its script to say so once the
    size reaches it, and the bytes dropped so far on a reload; once over,
    the count."""

    CONFIG = "kill-grace 2s\nmax-log-size 4K\n"

    def test_limit_while_it_goes_and_after(self):
        self.d.add_task("flood.sh", subst("""\
            #!/bin/sh
            # Writes past max-log-size, then waits.
            @SH_GATE@
            head -c 10000 /dev/zero | tr '\\0' x
            gate 1
            """, self.scratch))
        self.d.wait_for(lambda: self.d.request({"cmd": "show",
                                                "task": "flood"})["ok"])
        run_id = self.web.run("flood")
        self.d.wait_for(lambda: self.d.status(run_id)["output_dropped"] ==
                        10000 - 4096, what="the bytes past the limit")
        size = block(self.run_page(run_id).text, 'id="output-size"',
                     "</dd>")
        self.assertIn('data-bytes="4096" data-limit="4096">4.0 KiB <span '
                      'class="muted" id="dropped">(5904 bytes dropped)'
                      '</span>', size)
        self.go(run_id, 1)
        self.d.wait_status(run_id, "succeeded")
        size = block(self.run_page(run_id).text, 'id="output-size"',
                     "</dd>")
        self.assertNotIn("data-limit", size)
        self.assertIn('id="dropped">(5904 bytes dropped)</span>', size)


class WhyWaitsTest(PageTest):
    """A run for later says when it is due, as a <time> the page's script
    shows in the viewer's zone: while it is scheduled, and once queued if
    its time has not come (the wall clock was set back meanwhile)."""

    CONFIG = "kill-grace 2s\nmax-running 1\n"
    SHIFTED_CLOCK = True

    def test_scheduled_for(self):
        first = self.web.run("slow")
        self.d.wait_status(first, "running")
        later = int(self.d.ctl("run", "hello", "--in", "5m", check=0)
                    .stdout)
        run = self.d.status(later)
        due = '<time datetime="%s">' % run["scheduled_for"]
        r = self.run_page(later)
        self.assertIn(due, block(r.text, 'id="scheduled-for"', "</p>"))
        # Its time comes while the only slot is taken: it is queued.
        self.d.advance(301)
        self.d.wait_status(later, "queued")
        self.assertIn("Waiting for a free slot", block(
            self.run_page(later).text, 'id="why-queued"', "</p>"))
        # The wall clock is set back by an hour: its time is ahead.
        self.clock.step(-3600)
        try:
            why = block(self.run_page(later).text, 'id="why-queued"',
                        "</p>")
        finally:
            self.clock.step(3600)
        self.assertIn("Waiting for its time: scheduled for " + due, why)
        self.cancel(later, first)


class LinksTest(PageTest):
    """A run's page links to the run it was chained from and the one it
    retries."""

    def run_with(self, task, key, value):
        """The id of the run of task whose key is value, once it exists."""
        def find():
            runs = self.d.request({"cmd": "runs", "task": task})["runs"]
            return next((r["id"] for r in runs if r[key] == value), None)
        return self.d.wait_for(find, what="a run of %s with %s %s" %
                               (task, key, value))

    def test_chained_from_and_retrying(self):
        first = self.web.run("chain-first")
        self.d.wait_status(first, "succeeded")
        then = self.run_with("chain-then", "chain_of", first)
        r = self.run_page(then)
        self.assertIn('<dt>Chained from</dt><dd><a id="chain-of" '
                      'href="/runs/%d">#%d</a></dd>' % (first, first), r.text)
        self.assertNotIn('id="chain-of"', self.run_page(first).text)

        failed = self.web.run("flaky")
        self.d.wait_status(failed, "failed")
        retry = self.run_with("flaky", "retry_of", failed)
        r = self.run_page(retry)
        self.assertIn('retrying <a id="retry-of" href="/runs/%d">#%d</a>' %
                      (failed, failed), r.text)


class TaskPageTest(PageTest):

    def test_form_fields(self):
        """Each @param type has its field, with its label, default and
        required marker; a checkbox sends false when unticked."""
        r = check_page(self, self.web.get("/tasks/form"))
        t = r.text
        self.assertIn('action="/tasks/form/run"', t)
        self.assertIn('name="_token" value="%s"' % self.web.token(), t)
        self.assertRegex(t, r'<label for="p-name">Your name<span class="req"'
                         r'[^>]*>\*</span></label><input id="p-name" '
                         r'name="name" type="text"[^>]*required>')
        self.assertRegex(t, r'<select id="p-colour" name="colour">')
        self.assertIn('<option value="green" selected>green</option>', t)
        self.assertIn('<option value="red">red</option>', t)
        self.assertRegex(t, r'<input id="p-count" name="count" '
                         r'type="number"[^>]*value="2">')
        self.assertIn('<input type="hidden" name="loud" value="false">', t)
        self.assertRegex(t, r'<input type="checkbox" id="p-loud" '
                         r'name="loud" value="true">')
        self.assertRegex(t, r'<input type="checkbox" id="p-quiet" '
                         r'name="quiet" value="true" checked>')
        self.assertRegex(t, r'<input id="p-note" name="note" type="text"'
                         r'[^>]*autocomplete="off">')
        self.assertIn("Every kind of parameter.", page_text(r))
        self.assertIn('id="history"', t)

    def test_unknown_and_invalid(self):
        """An unknown task is a 404 page; an invalid one shows its errors
        and no form."""
        r = check_page(self, self.web.get("/tasks/nope"), 404)
        self.assertIn("no task named", page_text(r).lower())
        self.assertIn('href="/"', r.text)
        r = check_page(self, self.web.get("/tasks/%3Cscript%3E"), 404)
        self.assertIn("&lt;script&gt;", r.text)
        r = check_page(self, self.web.get("/tasks/broken"))
        self.assertIn("frobnicate", r.text)
        self.assertNotIn('id="run-form"', r.text)

    def test_history(self):
        run_id = self.web.run("form", [("name", "Ann")])
        self.d.wait_status(run_id, "succeeded")
        r = check_page(self, self.web.get("/tasks/form"))
        hist = r.text[r.text.index('id="history"'):]
        self.assertIn('href="/runs/%d"' % run_id, hist)
        self.assertIn("b-succeeded", hist)


class RunFormTest(PageTest):

    def test_new_task_at_once(self):
        """A task written just before a request is there for the page and
        the API, though tasks.d is rescanned only after a quiet time."""
        for i in range(3):
            name = "fresh%d" % i
            path = os.path.join(self.d.tasks_dir, name + ".sh")
            with open(path, "w") as f:
                f.write("#!/bin/sh\n# Fresh %d.\necho fresh %d\n" % (i, i))
            os.chmod(path, 0o755)
            if i == 0:
                r = check_page(self, self.web.get("/tasks/" + name))
                self.assertIn("Fresh 0.", r.text)
                run_id = self.web.run(name)
            elif i == 1:
                self.assertIn('href="/tasks/fresh1"', self.web.get("/").text)
                run_id = self.web.run(name)
            else:
                r = self.web.request(
                    "POST", "/api/v1/tasks/%s/runs" % name, body="{}",
                    headers={"Content-Type": "application/json"})
                self.assertEqual(r.status, 201, r.text)
                run_id = json.loads(r.text)["run"]["id"]
            self.d.wait_status(run_id, "succeeded")
            self.assertEqual(self.d.logs(run_id), b"fresh %d\n" % i)

    def test_run_through_form(self):
        """The form starts a run (303 to it) with the values given and the
        defaults; the run page shows status, who, trigger, parameters and
        output."""
        run_id = self.web.run("form", [("name", "Ann & Bob"),
                                       ("colour", "blue"), ("count", "3"),
                                       ("loud", "false"), ("loud", "true"),
                                       ("note", ""), ("unknown", "x")])
        run = self.d.wait_status(run_id, "succeeded")
        self.assertEqual(run["trigger"], "web")
        self.assertEqual(run["triggered_by"], "127.0.0.1")
        self.assertEqual(run["params"], {
            "name": "Ann & Bob", "colour": "blue", "count": "3",
            "loud": "true", "quiet": "true", "note": ""})
        r = self.run_page(run_id)
        self.assertIn('class="badge b-succeeded"', r.text)
        self.assertIn("name=Ann &amp; Bob colour=blue count=3 loud=true "
                      "quiet=true note=", r.text)
        text = page_text(r)
        self.assertIn("127.0.0.1 (web)", text)
        self.assertIn("Your name name Ann & Bob", text)
        self.assertIn("Exit code 0", text)
        self.assertIn('href="/tasks/form"', r.text)
        # Over: no refresh, no live stream, no Cancel.
        self.assertNotIn("http-equiv", r.text)
        self.assertNotIn("data-events", r.text)
        self.assertNotIn("/cancel", r.text)

    def test_checkbox_unticked_and_absent(self):
        """An unticked box (only its hidden field) is false; a form
        without the field (the list's Run button) takes the default."""
        run_id = self.web.run("flags", [("loud", "false"), ("quiet",
                                                           "false")])
        run = self.d.wait_status(run_id, "succeeded")
        self.assertEqual(run["params"], {"loud": "false", "quiet": "false"})
        run_id = self.web.run("flags")
        run = self.d.wait_status(run_id, "succeeded")
        self.assertEqual(run["params"], {"loud": "false", "quiet": "true"})

    def test_bad_parameter(self):
        """A bad value is a 400 page with the message and the form again,
        with what was typed; no run is made."""
        before = len(self.d.db().execute("SELECT id FROM runs").fetchall())
        r = self.web.post_form("/tasks/form/run", [
            ("_token", self.web.token()), ("name", "Zoë <b>"),
            ("count", "many")])
        check_page(self, r, 400)
        self.assertIn("&#39;many&#39; is not an integer", r.text)
        self.assertIn('id="form-error"', r.text)
        self.assertIn('value="Zoë &lt;b&gt;"', r.text)
        self.assertIn('action="/tasks/form/run"', r.text)
        r = self.web.post_form("/tasks/form/run", [
            ("_token", self.web.token()), ("name", "")])
        check_page(self, r, 400)
        self.assertIn("Your name: required parameter is empty", r.text)
        after = len(self.d.db().execute("SELECT id FROM runs").fetchall())
        self.assertEqual(before, after)

    def test_every_error_next_to_its_field(self):
        """Several bad fields (issue 18 point 3): every problem at once,
        each right under its field, named by the field's label, the input
        marked aria-invalid and described by it; a count above for screen
        readers; what was typed (and ticked, and chosen) kept in every
        field; 400 and no run."""
        before = self.d.db().execute("SELECT count(*) FROM runs").fetchone()
        r = self.web.post_form("/tasks/form/run", [
            ("_token", self.web.token()), ("name", ""),
            ("colour", "blue"), ("count", "many"), ("loud", "false"),
            ("loud", "true"), ("quiet", "false"), ("note", "keep <me>"),
            ("_in", "soon")])
        check_page(self, r, 400)
        self.assertEqual(self.d.db().execute(
            "SELECT count(*) FROM runs").fetchone(), before)
        errors = dict(re.findall(r'<p class="field-error" id="err-(\w+)">'
                                 r'(.*?)</p>', r.text))
        self.assertEqual(sorted(errors), ["_in", "count", "name"], errors)
        self.assertEqual(html.unescape(errors["name"]),
                         "Your name: required parameter is empty")
        self.assertEqual(html.unescape(errors["count"]),
                         "How many: 'many' is not an integer")
        self.assertTrue(html.unescape(errors["_in"]).startswith(
            "Run later: in soon: "), errors["_in"])
        # The summary: how many, and each problem linking to its field.
        summary = block(r.text, 'role="alert" id="form-error"', "</div>")
        self.assertIn("3 fields need attention:", " ".join(
            "".join(parse(summary).data).split()))
        self.assertEqual(re.findall(r'<a href="#([\w-]+)">', summary),
                         ["p-name", "p-count", "f-in"])
        # Each error stands right under its input, which points at it;
        # the fields without a problem are not marked.
        tags = parse(r.text).tags
        ids = [dict(a).get("id") for _, a in tags]
        for field, box in (("name", "p-name"), ("count", "p-count"),
                           ("_in", "f-in")):
            tag, attrs = tags[ids.index(box)]
            attrs = dict(attrs)
            self.assertEqual(attrs.get("aria-invalid"), "true", box)
            self.assertEqual(attrs.get("aria-describedby"), "err-" + field)
            self.assertEqual(ids[ids.index(box) + 1], "err-" + field,
                             "the error of %s is not under it" % box)
        for box in ("p-colour", "p-loud", "p-quiet", "p-note", "f-at"):
            self.assertNotIn("aria-invalid", dict(tags[ids.index(box)][1]),
                             box)
        # What was sent, kept: typed, chosen, ticked and unticked.
        self.assertRegex(r.text, r'<input id="p-name" name="name" '
                         r'[^>]*value=""')
        self.assertRegex(r.text, r'<input id="p-count" name="count" '
                         r'[^>]*value="many"')
        self.assertRegex(r.text, r'<input id="p-note" name="note" '
                         r'[^>]*value="keep &lt;me&gt;"')
        self.assertRegex(r.text, r'<input id="f-in" name="_in" '
                         r'[^>]*value="soon"')
        self.assertIn('<option value="blue" selected>', r.text)
        self.assertRegex(r.text, r'id="p-loud" name="loud" value="true" '
                         r'checked')
        self.assertNotRegex(r.text, r'id="p-quiet" [^>]*checked')
        # The API says every problem too, each by its parameter.
        r = self.web.request("POST", "/api/v1/tasks/form/runs",
                             body=json.dumps({"params": {
                                 "name": "", "count": "many"}}),
                             headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400, r.text)
        err = json.loads(r.text)["error"]
        self.assertEqual(err["code"], "bad-params")
        self.assertEqual(err["message"], "name: required parameter is "
                         "empty; count: 'many' is not an integer")
        self.assertEqual([p["param"] for p in err["problems"]],
                         ["name", "count"])

    def test_refused_forms(self):
        """No token, a wrong one, another site's Origin or Sec-Fetch-Site
        are refused (403) and start nothing; an unknown task is 404, an
        invalid one 409, not a form 415."""
        before = len(self.d.db().execute("SELECT id FROM runs").fetchall())
        tok = self.web.token()
        r = self.web.post_form("/tasks/hello/run", [])
        check_page(self, r, 403)
        self.assertIn("reload the page", r.text)
        r = self.web.post_form("/tasks/hello/run", [("_token", "0" * 32)])
        check_page(self, r, 403)
        r = self.web.post_form("/tasks/hello/run", [("_token", tok[:-1])])
        check_page(self, r, 403)
        r = self.web.post_form("/tasks/hello/run", [("_token", tok)],
                               headers={"Origin": "http://evil.example"})
        check_page(self, r, 403)
        r = self.web.post_form("/tasks/hello/run", [("_token", tok)],
                               headers={"Sec-Fetch-Site": "cross-site"})
        check_page(self, r, 403)
        r = self.web.post_form("/runs/1/cancel", [])
        check_page(self, r, 403)
        r = self.web.post_form("/tasks/nope/run", [("_token", tok)])
        check_page(self, r, 404)
        r = self.web.post_form("/tasks/broken/run", [("_token", tok)])
        check_page(self, r, 409)
        self.assertIn("frobnicate", r.text)
        r = self.web.request("POST", "/tasks/hello/run",
                             body=json.dumps({"_token": tok}),
                             headers={"Content-Type": "application/json"})
        check_page(self, r, 415)
        after = len(self.d.db().execute("SELECT id FROM runs").fetchall())
        self.assertEqual(before, after)

    def test_confirm(self):
        """@confirm: the page asks (a required box, and confirm() with
        JavaScript); a post without the box ticked is refused with the
        form again."""
        r = check_page(self, self.web.get("/tasks/careful"))
        self.assertIn('data-confirm="Run careful now?"', r.text)
        self.assertRegex(r.text, r'<input type="checkbox" id="f-confirm" '
                         r'name="_confirm" value="yes" required>')
        self.assertIn("window.confirm", r.text)
        r = self.web.post_form("/tasks/careful/run",
                               [("_token", self.web.token())])
        check_page(self, r, 400)
        self.assertIn("asks to be sure", r.text)
        self.assertIn('id="run-form"', r.text)
        self.assertRegex(r.text, r'id="f-confirm" name="_confirm" value="yes" '
                         r'aria-invalid="true" aria-describedby="err-_confirm"'
                         r' required> Yes, run careful now</label><p '
                         r'class="field-error" id="err-_confirm">')
        run_id = self.web.run("careful", [("_confirm", "yes")])
        self.d.wait_status(run_id, "succeeded")

    def test_unknown_run(self):
        for path in ("/runs/999999", "/runs/abc", "/runs/0"):
            r = check_page(self, self.web.get(path), 404)
            self.assertIn('href="/"', r.text)
        r = self.web.post_form("/runs/999999/cancel",
                               [("_token", self.web.token())])
        check_page(self, r, 404)


class XssTest(PageTest):

    def test_payloads_escaped_everywhere(self):
        """Payloads in a description, a group, a label, defaults, choices,
        a value and the output come out escaped on every page and in the
        live stream; ANSI colours become classes, other escapes vanish."""
        r = check_page(self, self.web.get("/"))
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;"
                      "&lt;img src=x onerror=alert(1)&gt; here.", r.text)
        r = check_page(self, self.web.get("/tasks/xss"))
        self.assertIn('value="&lt;script&gt;alert(1)&lt;/script&gt;"',
                      r.text)
        self.assertIn('<option value="&lt;img/src=x/onerror=alert(1)&gt;">',
                      r.text)
        self.assertIn("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
                      r.text)
        value = XSS[1] + " " + XSS[0]
        run_id = self.web.run("xss", [("p", value),
                                      ("c", "<img/src=x/onerror=alert(1)>")])
        self.d.wait_status(run_id, ("succeeded", "failed"))
        for path in ("/", "/tasks/xss", "/runs/%d" % run_id):
            check_page(self, self.web.get(path))
        r = self.run_page(run_id)
        self.assertIn("p=&quot;&gt;&lt;img src=x onerror=alert(1)&gt; "
                      "&lt;script&gt;alert(1)&lt;/script&gt;", r.text)
        self.assertIn('<span class="a-fg1">red</span> done', r.text)
        self.assertIn('<span class="err"><span class="a-fg2 a-b">err '
                      '&lt;script&gt;alert(1)&lt;/script&gt;</span>',
                      r.text)
        self.assertNotIn("title", block(r.text, 'id="out"', "</pre>"))
        # A bad value echoed back in the refused form.
        r = self.web.post_form("/tasks/xss/run", [
            ("_token", self.web.token()), ("p", XSS[0]), ("c", XSS[1])])
        check_page(self, r, 400)
        self.assertIn("&quot;&gt;&lt;img", r.text)
        # The live stream of the run sends escaped fragments only.
        events, hdrs, status = sse_events(self.web, "/runs/%d/events"
                                          % run_id)
        self.assertEqual(status, 200)
        for kind, _, data in events:
            check_safe_html(self, data["html"] if "html" in data else "")
        out = "".join(d["html"] for k, _, d in events if k == "output")
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", out)
        self.assertIn('<span class="a-fg1">red</span>', out)


def rfc3339_epoch(text):
    """An RFC 3339 time of the protocol, in seconds."""
    return datetime.datetime.fromisoformat(
        text.replace("Z", "+00:00")).timestamp()


class RunLaterTest(PageTest):
    """Run later on the task's form (issue 14 points 1 and 6): the run is
    scheduled, its page says when, the task's Upcoming list shows it with
    its parameters and a Cancel button. The daemon's zone is Asia/Kolkata
    (+05:30 all year), so that a time read in UTC by mistake is off."""

    ENV = {"TZ": "Asia/Kolkata"}

    def later(self, task, fields):
        return self.web.post_form("/tasks/%s/run" % task,
                                  [("_token", self.web.token())] + fields)

    def scheduled_run(self, r):
        self.assertEqual(r.status, 303, r.text[:2000])
        m = re.fullmatch(r"/runs/(\d+)", r.headers["location"])
        self.assertTrue(m, r.headers["location"])
        run = self.d.status(int(m.group(1)))
        self.assertEqual(run["status"], "scheduled", run)
        return run

    def test_form_has_run_later(self):
        r = check_page(self, self.web.get("/tasks/form"))
        form = block(r.text, 'id="run-form"', "</form>")
        self.assertIn('name="_at" type="datetime-local"', form)
        self.assertIn('name="_in" type="text"', form)
        self.assertIn("In the server's time zone, IST.", page_text(r))

    def test_at_in_the_daemons_zone(self):
        """Without the script's offset, a datetime-local time is the
        daemon's local time; the run page says when it is due."""
        due = datetime.datetime.now(datetime.timezone.utc).replace(
            microsecond=0) + datetime.timedelta(days=2)
        local = due.astimezone(datetime.timezone(datetime.timedelta(
            hours=5, minutes=30)))
        run = self.scheduled_run(self.later("flags", [
            ("loud", "true"), ("_at", local.strftime("%Y-%m-%dT%H:%M:%S")),
            ("_in", "")]))
        self.assertEqual(rfc3339_epoch(run["scheduled_for"]),
                         due.timestamp())
        self.assertEqual(run["params"], {"loud": "true", "quiet": "true"})
        r = self.run_page(run["id"])
        text = page_text(r)
        self.assertIn("Scheduled for " + local.strftime("%a %Y-%m-%d %H:%M")
                      + " IST", text)
        self.assertIn('action="/runs/%d/cancel"' % run["id"], r.text)
        self.web.post_form("/runs/%d/cancel" % run["id"],
                           [("_token", self.web.token())])
        self.assertEqual(self.d.status(run["id"])["status"], "cancelled")

    def test_at_with_the_browsers_offset_and_in(self):
        """The script sends the browser's offset (_tz, minutes east of
        UTC); _in is a delay."""
        due = datetime.datetime.now(datetime.timezone.utc).replace(
            microsecond=0, second=0) + datetime.timedelta(days=3)
        there = due.astimezone(datetime.timezone(-datetime.timedelta(
            hours=7)))
        run = self.scheduled_run(self.later("flags", [
            ("_at", there.strftime("%Y-%m-%dT%H:%M")), ("_tz", "-420")]))
        self.assertEqual(rfc3339_epoch(run["scheduled_for"]),
                         due.timestamp())
        before = time.time()
        run = self.scheduled_run(self.later("flags", [("_in", "2h")]))
        self.assertAlmostEqual(rfc3339_epoch(run["scheduled_for"]),
                               before + 7200, delta=5)
        for run_id in self.d.request({"cmd": "runs", "task": "flags",
                                      "status": "scheduled"})["runs"]:
            self.d.request({"cmd": "cancel", "run": run_id["id"]})

    def test_refused_times_shown(self):
        """A passed time, a bad delay or both at once: the form again
        with the error and the values sent; no run."""
        before = self.d.request({"cmd": "runs", "task": "form",
                                 "limit": 1})["runs"]
        for fields, error in (
                ([("_at", "2020-01-01T10:00")], "that time has passed"),
                ([("_in", "soon<b>")], "in soon&lt;b&gt;"),
                ([("_at", "2099-01-01T10:00"), ("_in", "1h")], "not both")):
            r = self.later("form", [("name", "Ann")] + fields)
            check_page(self, r, 400)
            self.assertIn(error, block(r.text, 'id="form-error"', "</div>"))
            self.assertRegex(r.text, r'name="name" [^>]*value="Ann"')
            for k, v in fields:
                self.assertIn('name="%s" ' % k, r.text)
                self.assertIn('value="%s"' % html.escape(v), r.text)
        self.assertEqual(self.d.request({"cmd": "runs", "task": "form",
                                         "limit": 1})["runs"], before)

    def test_upcoming_lists_and_cancels(self):
        """Upcoming: scheduled runs soonest first with escaped
        parameters, each with a Cancel button back to the task; and the
        next fire of the schedules."""
        late = self.scheduled_run(self.later("xss", [
            ("p", "<b>late</b>"), ("c", "safe"), ("_in", "3d")]))
        soon = self.scheduled_run(self.later("xss", [
            ("p", XSS[0]), ("c", "safe"), ("_in", "1d")]))
        r = check_page(self, self.web.get("/tasks/xss"))
        up = block(r.text, 'id="upcoming"', "</section>")
        self.assertLess(up.index("run #%d" % soon["id"]),
                        up.index("run #%d" % late["id"]))
        self.assertIn("p=&lt;b&gt;late&lt;/b&gt;", up)
        self.assertNotIn("<b>late", up)
        self.assertIn('id="cancel-%d"' % soon["id"], up)
        # The task list and Details say when it runs next: the soonest.
        text = page_text(self.web.get("/"))
        self.assertIn("Next", text)
        r = self.web.post_form("/runs/%d/cancel" % soon["id"], [
            ("_token", self.web.token()), ("_back", "task")])
        self.assertEqual(r.status, 303)
        self.assertEqual(r.headers["location"], "/tasks/xss#upcoming")
        self.assertEqual(self.d.status(soon["id"])["status"], "cancelled")
        up = block(self.web.get("/tasks/xss").text, 'id="upcoming"',
                   "</section>")
        self.assertNotIn("run #%d" % soon["id"], up)
        self.assertIn("run #%d" % late["id"], up)
        self.d.request({"cmd": "cancel", "run": late["id"]})
        # A scheduled task's next fire is there too.
        up = block(self.web.get("/tasks/nightly").text, 'id="upcoming"',
                   "</section>")
        self.assertIn("schedule <code>30 3 * * *</code>", up)


class LiveTest(PageTest):

    def test_running_page_and_events(self):
        """A running run's page shows its output so far, a Cancel form, a
        reload without JavaScript and where its stream goes on; the stream
        sends the rest as escaped HTML, stderr marked, then the end."""
        run_id = self.web.run("slow")
        wait_for(lambda: b"step one" in self.d.logs(run_id),
                 what="the first step")
        r = self.run_page(run_id)
        self.assertIn('<noscript><meta http-equiv="refresh" content="2">'
                      '</noscript>', r.text)
        self.assertIn('class="badge b-running"', r.text)
        self.assertIn('action="/runs/%d/cancel"' % run_id, r.text)
        self.assertIn('href="/runs/%d">Reload</a>' % run_id, r.text)
        self.assertIn("step one", r.text)
        m = re.search(r'data-events="/runs/%d/events\?from=(\d+)"'
                      % run_id, r.text)
        self.assertTrue(m)
        self.assertEqual(m.group(1), "1")
        self.assertIn("new EventSource", r.text)

        self.go(run_id, 1)
        self.go(run_id, 2)
        events, hdrs, status = sse_events(
            self.web, "/runs/%d/events?from=1" % run_id)
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/event-stream"))
        kinds = [k for k, _, _ in events]
        self.assertEqual(kinds[0], "status")
        self.assertEqual(kinds[-1], "end")
        self.assertIn("output", kinds)
        out = [d for k, _, d in events if k == "output"]
        self.assertNotIn("step one", "".join(d["html"] for d in out))
        err = [d for d in out if d["stream"] == "stderr"]
        self.assertTrue(err)
        self.assertIn('<span class="err"><span class="a-fg3">step &lt;two&gt;'
                      '</span>', err[0]["html"])
        self.assertIn("step three", "".join(d["html"] for d in out))
        for _, ident, d in events:
            if "seq" in d and d["seq"] >= 0:
                self.assertEqual(ident, str(d["seq"]))
        end = events[-1][2]
        self.assertEqual(end["status"], "failed")
        self.assertIn('class="badge b-failed"', end["html"])
        self.assertIn("Exit code</dt><dd>3", end["html"])
        self.assertNotIn("/cancel", end["html"])
        # A browser that reconnects gets only what it has not seen.
        last = max(d["seq"] for d in out)
        events, _, _ = sse_events(self.web, "/runs/%d/events" % run_id,
                                  headers={"Last-Event-ID": str(last)})
        self.assertEqual([k for k, _, _ in events], ["status", "end"])
        # Over: the page has everything and no refresh.
        r = self.run_page(run_id)
        self.assertNotIn("http-equiv", r.text)
        self.assertIn("step three", r.text)

    def test_events_of_a_queued_run_follow_it(self):
        """The stream of a run that has not started says so, then sends
        its start, its output and its end."""
        run_id = self.web.run("slow")
        events_box = []
        import threading
        t = threading.Thread(target=lambda: events_box.append(sse_events(
            self.web, "/runs/%d/events" % run_id)))
        t.start()
        wait_for(lambda: b"step one" in self.d.logs(run_id),
                 what="the first step")
        self.go(run_id, 1)
        self.go(run_id, 2)
        t.join(30)
        events = events_box[0][0]
        self.assertEqual(events[-1][0], "end")
        text = "".join(d["html"] for k, _, d in events if k == "output")
        self.assertIn("step one", text)
        self.assertIn("step three", text)

    def test_cancel(self):
        """Cancel: 303 back to the run, which ends cancelled by the web
        user; cancelling again is no error."""
        run_id = self.web.run("slow")
        wait_for(lambda: b"step one" in self.d.logs(run_id),
                 what="the first step")
        r = self.web.post_form("/runs/%d/cancel" % run_id,
                               [("_token", self.web.token())])
        self.assertEqual(r.status, 303)
        self.assertEqual(r.headers["location"], "/runs/%d" % run_id)
        run = self.d.wait_status(run_id, "cancelled")
        self.assertEqual(run["reason"], "cancelled by 127.0.0.1")
        r = self.run_page(run_id)
        self.assertIn('class="badge b-cancelled"', r.text)
        self.assertIn("cancelled by 127.0.0.1", r.text)
        r = self.web.post_form("/runs/%d/cancel" % run_id,
                               [("_token", self.web.token())])
        self.assertEqual(r.status, 303)

    def test_large_output_is_cut(self):
        """Past 1 MiB the page shows the end of the output, says so and
        links to the whole log."""
        run_id = self.web.run("big")
        self.d.wait_status(run_id, "succeeded")
        r = self.run_page(run_id)
        self.assertIn('id="cut"', r.text)
        self.assertIn('href="/api/v1/runs/%d/log"' % run_id, r.text)
        self.assertIn("the last line", r.text)
        self.assertNotIn("line 000000 ", r.text)
        self.assertLess(len(r.body), 1400 * 1024)


class TickTest(PageTest):
    """A run's page while it goes: each reload shows how long it has gone
    and how much it wrote then, with what its script counts on from
    (data-elapsed, data-bytes); the live stream carries the output's byte
    counts, and its end the final duration, size and status. The daemon's
    clocks are moved by the test, not waited for."""

    SHIFTED_CLOCK = True
    # slow.sh's output: stdout, then stderr, then stdout.
    SIZES = (len(b"step one\n"), len(b"step one\n\033[33mstep <two>\033[0m\n"),
             len(b"step one\n\033[33mstep <two>\033[0m\nstep three\n"))

    def facts(self, run_id):
        """(data-elapsed or None, duration text, data-bytes, size text)."""
        r = self.run_page(run_id)
        dur = re.search(r'<dd id="duration"(?: data-elapsed="(\d+)")?>(.*?)'
                        r'</dd>', r.text)
        size = re.search(r'<dd id="output-size" data-bytes="(\d+)"'
                         r'(?: data-limit="\d+")?>([^<]*)', r.text)
        self.assertTrue(dur and size, r.text)
        return (dur.group(1) and int(dur.group(1)), dur.group(2),
                int(size.group(1)), size.group(2))

    def test_reload_is_current(self):
        run_id = self.web.run("slow")
        wait_for(lambda: b"step one" in self.d.logs(run_id),
                 what="the first step")
        elapsed, text, size, words = self.facts(run_id)
        self.assertIsNotNone(elapsed)
        self.assertEqual(text, "running for " + fmt_duration(elapsed))
        self.assertEqual((size, words), (self.SIZES[0], "9 bytes"))
        # Two minutes later, by the daemon's clocks.
        self.d.advance(125)
        later, text, size, _ = self.facts(run_id)
        self.assertGreaterEqual(later, elapsed + 125000)
        self.assertEqual(text, "running for " + fmt_duration(later))
        self.assertRegex(text, r"^running for 2m\d\ds$")
        self.assertEqual(size, self.SIZES[0])
        # More output: the next reload counts it.
        self.go(run_id, 1)
        wait_for(lambda: b"<two>" in self.d.logs(run_id),
                 what="the second step")
        _, _, size, words = self.facts(run_id)
        self.assertEqual((size, words), (self.SIZES[1], "29 bytes"))
        # Over: the duration and size it ended with, nothing to count on.
        self.go(run_id, 2)
        run = self.d.wait_status(run_id, "failed")
        elapsed, text, size, words = self.facts(run_id)
        self.assertIsNone(elapsed)
        self.assertEqual(text, fmt_duration(int(round(
            (rfc3339_epoch(run["finished_at"]) -
             rfc3339_epoch(run["started_at"])) * 1000))))
        self.assertGreaterEqual(rfc3339_epoch(run["finished_at"]) -
                                rfc3339_epoch(run["started_at"]), 125)
        self.assertEqual((size, words), (self.SIZES[2], "40 bytes"))
        self.assertEqual(run["output_size"], self.SIZES[2])

    def test_events_carry_byte_counts(self):
        run_id = self.web.run("slow")
        wait_for(lambda: b"step one" in self.d.logs(run_id),
                 what="the first step")
        s = SseStream(self.web, "/runs/%d/events?from=1" % run_id)
        try:
            kind, _, d = s.next()
            self.assertEqual((kind, d["status"]), ("status", "running"))
            self.assertEqual((d["output_size"], d["output_dropped"]),
                             (self.SIZES[0], 0))
            self.assertIn('data-bytes="%d"' % self.SIZES[0], d["html"])
            self.assertIn("data-elapsed=", d["html"])
            self.go(run_id, 1)
            kind, _, d = s.next()
            self.assertEqual((kind, d["stream"]), ("output", "stderr"))
            self.assertEqual((d["output_size"], d["output_dropped"]),
                             (self.SIZES[1], 0))
            self.go(run_id, 2)
            events = s.until(lambda k, d: k == "end", "the end")
        finally:
            s.close()
        out = [d for k, _, d in events if k == "output" and
               "step three" in d["html"]]
        self.assertEqual(len(out), 1, events)
        self.assertEqual(out[0]["output_size"], self.SIZES[2])
        end = events[-1][2]
        self.assertEqual(end["status"], "failed")
        self.assertEqual((end["output_size"], end["output_dropped"]),
                         (self.SIZES[2], 0))
        self.assertIn('<dd id="output-size" data-bytes="40">40 bytes',
                      end["html"])
        self.assertNotIn("data-elapsed", end["html"])
        self.assertNotIn("running for", end["html"])


class AuthTest(PageTest):

    USERS = {"alice": "wonderland", "bob": "builder"}

    def test_pages_need_auth(self):
        anon = Web(self.d.port)
        for path in ("/", "/tasks/hello", "/runs/1", "/runs/1/events"):
            r = anon.get(path)
            self.assertEqual(r.status, 401, path)
            self.assertIn("Basic", r.headers.get("www-authenticate", ""))
        r = anon.post_form("/tasks/hello/run", [])
        self.assertEqual(r.status, 401)
        wrong = Web(self.d.port, "alice", "nope")
        self.assertEqual(wrong.get("/").status, 401)

    def test_web_user_recorded(self):
        """The signed-in user is named on the page and recorded as who
        started and cancelled runs; a token is the user's own."""
        alice = Web(self.d.port, "alice", "wonderland")
        bob = Web(self.d.port, "bob", "builder")
        r = check_page(self, alice.get("/"))
        self.assertIn("signed in as alice", r.text)
        run_id = alice.run("hello")
        run = self.d.wait_status(run_id, "succeeded")
        self.assertEqual(run["triggered_by"], "alice")
        self.assertIn("hello from web by alice", self.d.logs(run_id).decode())
        r = check_page(self, alice.get("/runs/%d" % run_id))
        self.assertIn("alice (web)", page_text(r))
        self.assertNotEqual(alice.token(), bob.token())
        r = bob.post_form("/tasks/hello/run", [("_token", alice.token())])
        check_page(self, r, 403)
        run_id = bob.run("slow")
        wait_for(lambda: b"step one" in self.d.logs(run_id),
                 what="the first step")
        r = bob.post_form("/runs/%d/cancel" % run_id,
                          [("_token", bob.token())])
        self.assertEqual(r.status, 303)
        run = self.d.wait_status(run_id, "cancelled")
        self.assertEqual(run["reason"], "cancelled by bob")


class PersonTest(PageTest):
    """Who started a run, by name (issue 18 point 6): a run from the
    control socket records "uid=N(login)", and the pages show the full
    name the password database has for it, "Zoë O'Hara <ops> (login)",
    escaped, with the record on hover; the API keeps the record as it
    is. A user with no full name (root: "root") shows as before. A new
    full name shows once /etc/passwd changes. Needs root to make the
    user; skipped otherwise."""

    GECOS = "Zoë O'Hara <ops>,Room 42,,"

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("making a Unix user needs root")
        tag = "%x" % (os.getpid() & 0xffff)
        cls.group, cls.login = "mlpg" + tag, "mlpu" + tag
        cls.made = []
        try:
            subprocess.run(["groupadd", cls.group], check=True)
            cls.made.append(["groupdel", cls.group])
            subprocess.run(["useradd", "-M", "-N", "-g", cls.group, "-c",
                            cls.GECOS, cls.login], check=True)
            cls.made.insert(0, ["userdel", cls.login])
            cls.CONFIG = PageTest.CONFIG + "socket-group %s\n" % cls.group
            super().setUpClass()
        except BaseException:
            cls.unmake()
            raise

    @classmethod
    def unmake(cls):
        for cmd in cls.made:
            subprocess.run(cmd)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.unmake()

    def run_as_user(self, task):
        """Run task from microlightctl as the user; the run's object."""
        p = subprocess.run([MICROLIGHTCTL, "-s", self.d.socket, "--json",
                            "run", task, "--wait"], user=self.login,
                           group=self.group, extra_groups=[],
                           capture_output=True, timeout=60, env=ctl_env(),
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)
        run_id = json.loads(p.stdout.splitlines()[0])["run"]["id"]
        return self.d.wait_status(run_id, "succeeded")

    def shown(self, text, by, name):
        """Check that a page shows name for the record by, escaped."""
        def esc(s):
            return html.escape(s).replace("&#x27;", "&#39;")
        want = '<span class="person" title="%s">%s</span>' % (esc(by),
                                                              esc(name))
        self.assertTrue(want in text, "%s not in the page" % want)

    def test_full_name_on_the_pages(self):
        uid = pwd.getpwnam(self.login).pw_uid
        by = "uid=%d(%s)" % (uid, self.login)
        name = "Zoë O'Hara <ops> (%s)" % self.login
        run = self.run_as_user("hello")
        self.assertEqual(run["triggered_by"], by)
        self.assertEqual(run["trigger"], "cli")
        r = self.run_page(run["id"])
        self.shown(r.text, by, name)
        self.assertIn("Started by %s (cli)" % name, page_text(r))
        for path in ("/tasks/hello", "/"):
            self.shown(check_page(self, self.web.get(path)).text, by, name)
        # The API and the CLI keep the record as it is.
        api = json.loads(self.web.get("/api/v1/runs/%d" % run["id"]).text)
        self.assertEqual(api["run"]["triggered_by"], by)
        # root has no full name but "root": as before.
        mine = self.d.run("hello")
        r = self.run_page(mine["id"])
        self.assertIn("Started by uid=0(root) (cli)", page_text(r))
        self.assertNotIn('title="uid=0(root)"', r.text)
        # A new full name shows once /etc/passwd has changed.
        subprocess.run(["usermod", "-c", "Zoe Smith", self.login],
                       check=True)
        wait_for(lambda: "Zoe Smith (%s)" % self.login in page_text(
            self.run_page(run["id"])), timeout=10, what="the new name")
        # A renamed user is no longer the one who started the run.
        subprocess.run(["usermod", "-l", self.login + "x", self.login],
                       check=True)
        self.made[0] = ["userdel", self.login + "x"]
        wait_for(lambda: "Started by %s (cli)" % by in page_text(
            self.run_page(run["id"])), timeout=10, what="the record alone")


if __name__ == "__main__":
    main()
