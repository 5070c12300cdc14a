#!/usr/bin/env python3
"""Who may do what (SPEC section 8, issue 15): one rule for every entry
point. The matrix: every HTTP route and every control command -- read
from the route and command tables in the source, so that a new one
without a line here fails -- for a user the task allows, one it does not,
an administrator, a token for the task, a token for another task, a
revoked token and an anonymous client: the status, and whether the
hidden task's name is anywhere in the answer. A hidden task answers
exactly as an unknown one. Then: the page shows who is signed in and
shows invalid tasks to administrators only; a trusted proxy's user header
counts, from the proxy only; tokens are held to their tasks and their
creator."""

import grp
import http.client
import pwd
import urllib.parse

from harness import *
from test_http import HttpTest, Reply, crypt_hash, basic

SRC = os.environ.get("ML_SRCDIR", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))

HIDDEN = "redis"        # the task the matrix is about: @allow %mlsales
# What only those who see it may learn of it: its description, output.
SECRETS = (b"Restart the cache", b"restarted-ok")


def route_table():
    """(method, pattern, flags) of every route in daemon/http.c."""
    with open(os.path.join(SRC, "daemon", "http.c")) as f:
        text = f.read()
    table = text[text.index("http_routes[] = {"):]
    table = table[:table.index("};")]
    return re.findall(r'\{\s*"(GET|POST)",\s*"([^"]+)",\s*\w+,\s*([^}]*)\}',
                      table)


def command_table():
    """The name of every control command in daemon/control_cmd.c."""
    with open(os.path.join(SRC, "common", "proto.h")) as f:
        names = dict(re.findall(r'#define\s+(CMD_\w+)\s+"([^"]+)"',
                                f.read()))
    with open(os.path.join(SRC, "daemon", "control_cmd.c")) as f:
        text = f.read()
    table = text[text.index("control_cmds[] = {"):]
    table = table[:table.index("\n};")]
    return [names[c] for c in re.findall(r"\{\s*(CMD_\w+),", table)]


class AccessTest(HttpTest):
    START = False
    CONFIG = "admin-group mladmin\n"
    TASKS = {
        "redis.sh": """\
            #!/bin/sh
            # Restart the cache.
            # @allow %mlsales
            # @webhook
            # @param who "Who" default=x
            echo restarted-ok
            """,
        "open.sh": "#!/bin/sh\n# For everyone.\n# @on-failure redis\n"
                   "echo open\n",
        "broken.sh": "#!/bin/sh\n# Broken.\n# @bogus\n",
    }
    USERS = {"alice": "mlsales", "bob": "support", "ada": "mladmin"}

    def setUp(self):
        super().setUp()
        self.users = os.path.join(self.d.dir, "users")
        with open(self.users, "w") as f:
            for name, group in self.USERS.items():
                f.write("%s:%s:%s\n" % (name, crypt_hash(name + "-pw"),
                                        group))
        with open(self.d.config, "a") as f:
            f.write("users-file %s\n" % self.users)
            f.write(self.EXTRA)
        self.d.start()

    EXTRA = ""

    def token(self, name, *tasks):
        args = ["token", "create", name]
        for t in tasks:
            args += ["--task", t]
        return self.d.ctl(*args).stdout.decode().strip()

    def web(self, method, path, who, body=None, headers=None):
        h = dict(headers or {})
        if who in self.creds:
            h["Authorization"] = self.creds[who]
        return self.d.http(method, path, body=body, headers=h)


class Matrix(AccessTest):

    def setUp(self):
        super().setUp()
        self.creds = {u: basic(u, u + "-pw") for u in self.USERS}
        self.creds["tok-redis"] = "Bearer " + self.token("r", HIDDEN)
        self.creds["tok-open"] = "Bearer " + self.token("o", "open")
        self.creds["tok-revoked"] = "Bearer " + self.token("x", HIDDEN)
        self.d.ctl("token", "revoke", "x")
        # A run of the hidden task that ended, with output; its webhook.
        self.run_id = self.d.run(HIDDEN)["id"]
        self.d.ctl("webhook", HIDDEN)

    # Who, and what the rule says for the hidden task.
    WHO = ["alice", "bob", "ada", "tok-redis", "tok-open", "tok-revoked",
           "anonymous"]
    SEES = {"alice", "ada", "tok-redis"}
    ADMIN = {"ada"}
    WEB_ONLY = {"alice", "bob", "ada"}      # the page takes no token

    def later(self):
        """A fresh run of the hidden task for later (to cancel)."""
        return int(self.d.ctl("run", HIDDEN, "--in", "1h").stdout)

    def form(self, who, path, fields=()):
        page = self.web("GET", "/", who)
        m = re.search(rb'name="_token" value="([0-9a-f]{32})"', page.body)
        tok = m.group(1).decode() if m else ""
        return self.web("POST", path, who, body=urllib.parse.urlencode(
            [("_token", tok)] + list(fields)).encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": "http://127.0.0.1:%d" % self.d.port})

    def list_events(self, who):
        """GET /events?since=0 as who (every change since start-up), read
        up to its sync event, the stream going on: a Reply of that much."""
        h = {"Accept": "text/event-stream"}
        if who in self.creds:
            h["Authorization"] = self.creds[who]
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=60)
        try:
            c.request("GET", "/events?since=0", headers=h)
            r = c.getresponse()
            if r.status != 200:
                return Reply(r.status, r.headers, r.read())
            body, synced = b"", False
            while True:
                line = r.readline()
                if not line or (synced and line == b"\n"):
                    break
                body += line
                synced |= line == b"event: sync\n"
            return Reply(r.status, r.headers, body)
        finally:
            c.close()

    def requests(self):
        """For each route of the table: how to ask it about the hidden
        task (or its runs) as who, and what it is: "item" (200-ish or
        404), "list" (200, the name in it only for who sees it),
        "admin", "open" (no identity asked) or "secret" (a webhook)."""
        r = self.run_id
        j = {"Content-Type": "application/json"}
        return {
            ("GET", "/"): ("list", 200, lambda w: self.web("GET", "/", w)),
            ("GET", "/events"): ("list", 200, self.list_events),
            ("GET", "/tasks/*"): ("item", 200, lambda w: self.web(
                "GET", "/tasks/" + HIDDEN, w)),
            ("POST", "/tasks/*/run"): ("item", 303, lambda w: self.form(
                w, "/tasks/%s/run" % HIDDEN)),
            ("GET", "/runs/*"): ("item", 200, lambda w: self.web(
                "GET", "/runs/%d" % r, w)),
            ("GET", "/runs/*/events"): ("item", 200, lambda w: self.web(
                "GET", "/runs/%d/events" % r, w)),
            ("POST", "/runs/*/cancel"): ("item", 303, lambda w: self.form(
                w, "/runs/%d/cancel" % self.later())),
            ("POST", "/runs/*/rerun"): ("item", 303, lambda w: self.form(
                w, "/runs/%d/rerun" % r)),
            ("POST", "/hooks/*"): ("secret", 401, lambda w: self.web(
                "POST", "/hooks/" + HIDDEN, w, body=b"{}", headers=j)),
            ("GET", "/api/v1/tasks"): ("list", 200, lambda w: self.web(
                "GET", "/api/v1/tasks", w)),
            ("GET", "/api/v1/tasks/*"): ("item", 200, lambda w: self.web(
                "GET", "/api/v1/tasks/" + HIDDEN, w)),
            ("POST", "/api/v1/tasks/*/runs"): ("item", 201, lambda w:
                self.web("POST", "/api/v1/tasks/%s/runs" % HIDDEN, w,
                         body=b"{}", headers=j)),
            ("GET", "/api/v1/runs"): ("list", 200, lambda w: self.web(
                "GET", "/api/v1/runs", w)),
            ("GET", "/api/v1/runs/*"): ("item", 200, lambda w: self.web(
                "GET", "/api/v1/runs/%d" % r, w)),
            ("GET", "/api/v1/runs/*/log"): ("item", 200, lambda w:
                self.web("GET", "/api/v1/runs/%d/log" % r, w)),
            ("POST", "/api/v1/runs/*/cancel"): ("item", 200, lambda w:
                self.web("POST", "/api/v1/runs/%d/cancel" % self.later(),
                         w, body=b"", headers=j)),
            ("POST", "/api/v1/runs/*/rerun"): ("item", 201, lambda w:
                self.web("POST", "/api/v1/runs/%d/rerun" % r, w,
                         body=b"{}", headers=j)),
            ("GET", "/api/v1/backup"): ("admin", 200, lambda w: self.web(
                "GET", "/api/v1/backup", w)),
            ("GET", "/healthz"): ("open", 200, lambda w: self.web(
                "GET", "/healthz", w)),
            ("GET", "/metrics"): ("list", 200, lambda w: self.web(
                "GET", "/metrics", w)),
        }

    def expect(self, kind, ok, route, who):
        """The status a route of kind should give who."""
        api = "R_API" in route[2]
        if kind == "open":
            return ok
        if kind == "secret":
            return 401          # no secret: whoever asks
        if who in ("anonymous", "tok-revoked") or \
                (who.startswith("tok-") and not api):
            return 401
        if kind == "admin":
            return ok if who in self.ADMIN else 403
        if kind == "list":
            return ok
        return ok if who in self.SEES else 404

    def test_every_route(self):
        table = route_table()
        reqs = self.requests()
        missing = [(m, p) for m, p, _ in table if (m, p) not in reqs]
        self.assertEqual(missing, [], "routes without a line in the "
                         "access matrix")
        for route in table:
            kind, ok, ask = reqs[route[:2]]
            for who in self.WHO:
                with self.subTest(route=route[:2], who=who):
                    r = ask(who)
                    want = self.expect(kind, ok, route, who)
                    self.assertEqual(r.status, want, (route, who, r))
                    # A list names it for who sees it; a refusal says
                    # nothing of it but what the request said.
                    if kind == "list" and r.status == 200:
                        self.assertEqual(HIDDEN.encode() in r.body,
                                         who in self.SEES, (
                                             route, who, r.body[:3000]))
                    if r.status >= 400 or kind == "open":
                        for secret in SECRETS:
                            self.assertNotIn(secret, r.body, (route, who))

    def test_hidden_is_unknown(self):
        # The answer for a hidden task or run is the answer for a name or
        # a run that does not exist, word for word (but the name).
        for path, other in (("/api/v1/tasks/%s" % HIDDEN,
                             "/api/v1/tasks/nosuch"),
                            ("/api/v1/runs/%d" % self.run_id,
                             "/api/v1/runs/99999")):
            hidden = self.web("GET", path, "bob")
            unknown = self.web("GET", other, "bob")
            self.assertEqual(hidden.status, 404)
            self.assertEqual(hidden.status, unknown.status)
            self.assertEqual(hidden.json()["error"]["code"],
                             unknown.json()["error"]["code"])
            self.assertEqual(
                hidden.json()["error"]["message"].replace(HIDDEN, "X")
                .replace(str(self.run_id), "N"),
                unknown.json()["error"]["message"].replace("nosuch", "X")
                .replace("99999", "N"))
        hidden = self.web("GET", "/tasks/" + HIDDEN, "bob")
        unknown = self.web("GET", "/tasks/nosuch", "bob")
        self.assertEqual((hidden.status, unknown.status), (404, 404))
        title = re.compile(rb"<main.*</main>", re.S)
        self.assertEqual(title.search(hidden.body).group(0).replace(
            HIDDEN.encode(), b"X"), title.search(unknown.body).group(0)
            .replace(b"nosuch", b"X"))

    def test_runs_record_who(self):
        r = self.web("POST", "/api/v1/tasks/%s/runs" % HIDDEN, "tok-redis",
                     body=b"{}", headers={"Content-Type":
                                          "application/json"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["run"]["triggered_by"], "token:r")
        r = self.web("POST", "/api/v1/tasks/%s/runs" % HIDDEN, "alice",
                     body=b"{}", headers={"Content-Type":
                                          "application/json"})
        self.assertEqual(r.json()["run"]["triggered_by"], "alice")
        run = self.d.status(int(self.d.ctl("run", HIDDEN).stdout))
        self.assertRegex(run["triggered_by"], r"^uid=0\(root\)$")

    def test_chain_target_not_named(self):
        # open's @on-failure names the hidden task: not for bob.
        for who, want in (("bob", None), ("alice", HIDDEN)):
            r = self.web("GET", "/api/v1/tasks/open", who)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["task"]["on_failure"], want)

    def test_page_shows_who_and_invalid_tasks_to_admins(self):
        ada = self.web("GET", "/", "ada")
        alice = self.web("GET", "/", "alice")
        self.assertIn(b"broken", ada.body)
        self.assertNotIn(b"broken", alice.body)
        self.assertIn(b"ada", ada.body)
        self.assertIn(b"alice", alice.body)
        self.assertEqual(self.web("GET", "/tasks/broken", "alice").status,
                         404)
        self.assertEqual(self.web("GET", "/tasks/broken", "ada").status,
                         200)


class Tokens(AccessTest):
    """A token over HTTP: held to its tasks, refused once expired or
    revoked, never usable on the page; the run says token:NAME. The daemon
    runs on a shifted clock, so that expiry comes at once."""

    SHIFTED_CLOCK = True

    def test_expires_and_revoke(self):
        secret = self.token_expiring("soon", "1h", HIDDEN)
        auth = {"Authorization": "Bearer " + secret}
        path = "/api/v1/tasks/" + HIDDEN
        self.assertEqual(self.d.http("GET", path, headers=auth).status, 200)
        self.assertEqual(self.d.http("GET", "/api/v1/tasks/open",
                                     headers=auth).status, 404)
        # Not on the page: a token is for the API.
        self.assertEqual(self.d.http("GET", "/tasks/" + HIDDEN,
                                     headers=auth).status, 401)
        listed = self.d.http("GET", "/api/v1/tasks", headers=auth).json()
        self.assertEqual([t["name"] for t in listed["tasks"]], [HIDDEN])
        self.d.advance(3601)
        self.assertEqual(self.d.http("GET", path, headers=auth).status, 401)
        other = self.token_expiring("later", "2h", HIDDEN)
        auth = {"Authorization": "Bearer " + other}
        self.assertEqual(self.d.http("GET", path, headers=auth).status, 200)
        self.d.ctl("token", "revoke", "later")
        self.assertEqual(self.d.http("GET", path, headers=auth).status, 401)

    def token_expiring(self, name, expires, *tasks):
        args = ["token", "create", name, "--expires", expires]
        for t in tasks:
            args += ["--task", t]
        return self.d.ctl(*args).stdout.decode().strip()


class ControlMatrix(AccessTest):
    """The control socket's every command, as a Unix user in the task's
    group, one who is not, and root (an administrator). Needs root to
    make the users; skipped otherwise."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("making Unix users needs root")
        tag = "%x" % (os.getpid() & 0xffff)
        self.group, self.ctlgroup = "mls" + tag, "mlc" + tag
        self.alice, self.bob = "mla" + tag, "mlb" + tag
        for g in (self.group, self.ctlgroup):
            subprocess.run(["groupadd", g], check=True)
            self.addCleanup(subprocess.run, ["groupdel", g])
        for u, groups in ((self.alice, self.group), (self.bob, None)):
            cmd = ["useradd", "-M", "-N", "-g", self.ctlgroup, u]
            if groups:
                cmd[-1:-1] = ["-G", groups]
            subprocess.run(cmd, check=True)
            self.addCleanup(subprocess.run, ["userdel", u])
        self.EXTRA = "socket-group %s\n" % self.ctlgroup
        super().setUp()

    def as_user(self, user, req):
        """The first reply line to req, sent as user (None: root)."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                if user is not None:
                    pw = pwd.getpwnam(user)
                    os.setgroups(os.getgrouplist(user, pw.pw_gid))
                    os.setgid(pw.pw_gid)
                    os.setuid(pw.pw_uid)
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(30)
                s.connect(self.d.socket)
                s.sendall((json.dumps(req) + "\n").encode())
                line = s.makefile("rb").readline()
                os.write(w, line)
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            data = f.read()
        os.waitpid(pid, 0)
        return json.loads(data)

    def test_every_command(self):
        os.chmod(self.d.dir, 0o711)
        task = "unix"
        self.d.add_task("unix.sh", "#!/bin/sh\n# Unix only.\n"
                        "# @allow %%%s\n# @webhook\necho unix-ok\n" %
                        self.group)
        self.d.ctl("reload")
        run = self.d.run(task)["id"]

        def later():
            return int(self.d.ctl("run", task, "--in", "1h").stdout)
        # (request, kind): kind as in Matrix.requests.
        reqs = {
            "ping": (lambda: {"cmd": "ping"}, "open"),
            "list": (lambda: {"cmd": "list"}, "list"),
            "show": (lambda: {"cmd": "show", "task": task}, "task"),
            "run": (lambda: {"cmd": "run", "task": task}, "task"),
            "rerun": (lambda: {"cmd": "rerun", "run": run}, "run"),
            "logs": (lambda: {"cmd": "logs", "run": run}, "run"),
            "runs": (lambda: {"cmd": "runs"}, "list"),
            "status": (lambda: {"cmd": "status", "run": run}, "run"),
            "cancel": (lambda: {"cmd": "cancel", "run": later()}, "run"),
            "reload": (lambda: {"cmd": "reload"}, "admin"),
            "webhook": (lambda: {"cmd": "webhook", "task": task}, "task"),
            "backup": (lambda: {"cmd": "backup"}, "admin"),
            "token": (lambda: {"cmd": "token", "action": "list"}, "admin"),
        }
        table = command_table()
        self.assertEqual(sorted(c for c in table if c not in reqs), [],
                         "commands without a line in the access matrix")
        sees = {None, self.alice}
        for name in table:
            make, kind = reqs[name]
            for user in (self.alice, self.bob, None):
                with self.subTest(cmd=name, user=user):
                    reply = self.as_user(user, make())
                    err = reply.get("error", {}).get("code")
                    if kind == "admin":
                        self.assertEqual(err, None if user is None else
                                         "forbidden", reply)
                    elif kind in ("open", "list"):
                        self.assertTrue(reply["ok"], reply)
                    else:
                        self.assertEqual(err, None if user in sees else
                                         "unknown-" + kind, reply)
                    text = json.dumps(reply)
                    if kind == "list":
                        self.assertEqual('"unix"' in text, user in sees,
                                         reply)
                    if not reply["ok"]:
                        self.assertNotIn("unix-ok", text)
                        self.assertNotIn("Unix only", text)


    def test_group_change_seen(self):
        """The daemon keeps who a peer is between its connections only
        while /etc/passwd and /etc/group stay as they were: a user added
        to a task's group sees the task on the next command, and no more
        once taken out."""
        os.chmod(self.d.dir, 0o711)
        self.d.add_task("unix.sh", "#!/bin/sh\n# Unix only.\n"
                        "# @allow %%%s\necho unix-ok\n" % self.group)
        self.d.ctl("reload")
        show = {"cmd": "show", "task": "unix"}

        def code():
            return self.as_user(self.bob, show).get("error", {}).get("code")
        self.assertEqual(code(), "unknown-task")
        self.assertEqual(code(), "unknown-task")
        subprocess.run(["gpasswd", "-a", self.bob, self.group], check=True,
                       capture_output=True)
        self.assertEqual(code(), None)
        subprocess.run(["gpasswd", "-d", self.bob, self.group], check=True,
                       capture_output=True)
        self.assertEqual(code(), "unknown-task")

    def test_suggestions_only_of_visible_tasks(self):
        """"did you mean" names only a task the asker may see: bob, who
        may not see unix, learns nothing of it from a typo."""
        os.chmod(self.d.dir, 0o711)
        self.d.add_task("unix.sh", "#!/bin/sh\n# Unix only.\n"
                        "# @allow %%%s\necho unix-ok\n" % self.group)
        self.d.ctl("reload")
        for cmd in ({"cmd": "show", "task": "unx"},
                    {"cmd": "run", "task": "unx"},
                    {"cmd": "runs", "task": "unx"}):
            seen = self.as_user(self.alice, cmd)["error"]["message"]
            self.assertIn("did you mean 'unix'?", seen, cmd)
            hidden = self.as_user(self.bob, cmd)["error"]["message"]
            self.assertEqual(hidden, "no task named 'unx'", cmd)

class ProxyTest(AccessTest):

    def setUp(self):
        super().setUp()
        self.creds = {}

    def as_header(self, *values, path="/api/v1/tasks/" + HIDDEN):
        c = http.client.HTTPConnection("127.0.0.1", self.d.port,
                                       timeout=30)
        try:
            c.putrequest("GET", path, skip_host=True)
            c.putheader("Host", "127.0.0.1:%d" % self.d.port)
            for v in values:
                c.putheader("X-Remote-User", v)
            c.endheaders()
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()


class Proxy(ProxyTest):
    """user-header from a trusted-proxy address names the user; twice, or
    with a comma, it counts for nothing."""

    EXTRA = "trusted-proxy 127.0.0.1\nuser-header X-Remote-User\n"

    def test_header_from_the_proxy(self):
        self.assertEqual(self.as_header("alice")[0], 200)
        self.assertEqual(self.as_header("bob")[0], 404)
        self.assertEqual(self.as_header("ada")[0], 200)
        # A user the users-file does not know: no groups, default-allow.
        self.assertEqual(self.as_header("zed")[0], 404)
        self.assertEqual(self.as_header("zed", path="/api/v1/tasks/open")
                         [0], 200)
        # A client's own header beside the proxy's, or a list: nobody.
        self.assertEqual(self.as_header("bob", "alice")[0], 401)
        self.assertEqual(self.as_header("bob, alice")[0], 401)
        self.assertEqual(self.as_header()[0], 401)
        # Runs record the user.
        r = self.d.http("POST", "/api/v1/tasks/open/runs", body=b"{}",
                        headers={"X-Remote-User": "zed", "Content-Type":
                                 "application/json"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["run"]["triggered_by"], "zed")


class NotTheProxy(ProxyTest):
    """The same header from an address that is not the proxy's counts for
    nothing."""

    EXTRA = "trusted-proxy 127.0.0.2\nuser-header X-Remote-User\n"

    def test_header_from_elsewhere_is_ignored(self):
        for user in ("alice", "ada", "zed"):
            self.assertEqual(self.as_header(user)[0], 401)
        # Basic auth still works beside it.
        r = self.d.http("GET", "/api/v1/tasks/" + HIDDEN, headers={
            "Authorization": basic("alice", "alice-pw"),
            "X-Remote-User": "bob"})
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    main()
