#!/usr/bin/env python3
"""Single sign-on behind a reverse proxy (SPEC section 8; issue 15): the
README's "Who may do what", run as it is written. Its users-file, its
lines of microlight.conf, its certificate command and its nginx and
Caddy configurations are taken from the README (the here-documents
`cat > PATH <<'EOF'` of that section, found by PATH, and the line that
starts with `openssl req`), with only ports and paths replaced, so the
documentation is what is tested.

Each test starts the proxy in front of a microlightd on 127.0.0.1 (or,
for the Headers tests, of a stand-in that shows what it got), in the
foreground with every file of its own in a temporary directory:
`nginx -g 'daemon off;'` with the README's server block included in a
minimal nginx.conf, and `caddy run` with the README's Caddyfile after a
global block of the test's (admin endpoint off, its HTTPS port, no HTTP
redirects). Clients speak TLS to the proxy as
https://microlight.example.com:PORT, checking the certificate.

The proxy signs alice, bob and carol in with passwords of its own and
names them in X-Remote-User; microlight believes the header from
127.0.0.1, the proxy's address (trusted-proxy). A client that talks to
microlight from another address (127.0.0.2) is not believed.

- Readme: the blocks are there and agree with each other.
- *Headers: what the proxy sends on: the header set, never a client's.
- *Plumbing: TLS, sign-in, Host and Origin, live output and webhooks
  through the proxy, to a daemon without access control.
- *Access: who the user is in microlight (triggered_by, @allow by
  group, a spoofed or direct header, a token): the daemon's side of
  issue 15.

Skipped, saying so, without nginx, caddy or openssl."""

import base64
import grp
import http.client
import http.server
import pwd
import ssl
import urllib.parse
import warnings

from harness import *
from harness import _reachable_by_all
from test_http import HttpTest, free_port

README = os.path.join(SRCDIR, "README")
SECTION = "Who may do what"
SERVER_NAME = "microlight.example.com"
HEADER = "X-Remote-User"
PROXY_TIMEOUT = 30

# The signed-in users of the README's users-file (alice:!:sales, bob of
# support, carol of ops and admin), and dave of ops, whom the test adds,
# with the passwords the proxies know them by.
PASSWORDS = {"alice": "alice at the proxy", "bob": "b0b's",
             "carol": "carol:pw", "dave": "dave"}
EXTRA_USERS = "dave:!:ops\n"


# The README -----------------------------------------------------------

def readme_section():
    """The section's text."""
    with open(README) as f:
        text = f.read()
    m = re.search(r"\n%s\n-+\n(.*?)\n[^\n]+\n-+\n" % re.escape(SECTION),
                  text, re.S)
    if m is None:
        raise AssertionError("README has no section %r" % SECTION)
    return m.group(1)


def readme_blocks():
    """The section's indented blocks, each as a list of lines without
    their indentation of 4 blanks."""
    blocks, cur = [], None
    for line in readme_section().split("\n"):
        if line.startswith("    "):
            if cur is None:
                cur = []
                blocks.append(cur)
            cur.append(line[4:])
        elif line.strip() == "" and cur is not None:
            cur.append("")
        else:
            cur = None
    return [b[:len(b) - next(i for i, l in enumerate(reversed(b)) if l)]
            for b in blocks]


def readme_file(path, nth=0, count=1):
    """What the section's here-document `# cat > PATH <<'EOF'` (or
    `cat >>`) writes: the marker by which the test finds a block. There
    must be count of them; the nth (from 0)."""
    found = []
    for block in readme_blocks():
        for i, line in enumerate(block):
            if re.fullmatch(r"# cat >>? %s <<'EOF'" % re.escape(path), line):
                end = block.index("EOF", i + 1)
                found.append("\n".join(block[i + 1:end]) + "\n")
    if len(found) != count:
        raise AssertionError("README, %s: %d here-documents for %s, not %d"
                             % (SECTION, len(found), path, count))
    return found[nth]


# microlight.conf has two here-documents: the proxy's lines, then base-url
# for a page under a path.
CONF = "/etc/microlight/microlight.conf"


def readme_conf():
    return readme_file(CONF, 0, 2)


def readme_base_url():
    """The README's base-url, its host made the test's name (the
    certificate's)."""
    text = readme_file(CONF, 1, 2).strip()
    m = re.fullmatch(r"base-url\s+(https://ops\.example\.com(/\S+)/)", text)
    if m is None:
        raise AssertionError("README: the base-url block is %r" % text)
    return m.group(1).replace("ops.example.com", SERVER_NAME), m.group(2)


def readme_command(start):
    """The section's one command line (after '# ') that starts so."""
    found = [line[2:] for block in readme_blocks() for line in block
             if line.startswith("# " + start)]
    if len(found) != 1:
        raise AssertionError("README, %s: %d commands starting %r, not 1"
                             % (SECTION, len(found), start))
    return found[0]


def readme_task(first_line):
    """The section's task header whose description starts so."""
    for block in readme_blocks():
        for i, line in enumerate(block[:-1]):
            if line == "#!/bin/sh" and block[i + 1].startswith(
                    "# " + first_line):
                end = block.index("", i) if "" in block[i:] else len(block)
                return "\n".join(block[i:end]) + "\n"
    raise AssertionError("README, %s: no task %r" % (SECTION, first_line))


def replace(text, old, new):
    """text with old replaced by new, which must be there: a README that
    no longer says it makes the test fail, not pass on the wrong file."""
    if old not in text:
        raise AssertionError("the README's block no longer has %r:\n%s"
                             % (old, text))
    return text.replace(old, new)


# Programs and files ---------------------------------------------------

def program(name):
    """The path of a program (also in /usr/sbin, where nginx is, which a
    user's PATH may lack), or None."""
    return shutil.which(name, path=os.environ.get("PATH", os.defpath) +
                        ":/usr/sbin:/sbin")


def open_dir(prefix):
    """A fresh directory that nginx's workers (nobody, when the test runs
    as root) can go through."""
    base = tempfile.gettempdir()
    if not _reachable_by_all(base):
        base = "/tmp"
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    os.chmod(d, 0o755)
    return d


def crypt_bcrypt(password):
    """A bcrypt hash of crypt(3) (as Caddy checks them), with the fewest
    rounds: the proxies check it on each request."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH,
                                                  rounds=16))


def crypt_sha512(password):
    """A SHA-512 crypt(3) hash, as `openssl passwd -6` makes for nginx."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


_certificate = None


def certificate():
    """(directory, cert.pem): the README's self-signed certificate, made
    once per test program by its own openssl command."""
    global _certificate
    if _certificate is None:
        d = open_dir("ml-cert-")
        atexit.register(shutil.rmtree, d, True)
        cmd = replace(readme_command("openssl req "), "/etc/ssl/microlight/",
                      d + "/")
        p = subprocess.run(cmd, shell=True, capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL, cwd=d)
        if p.returncode != 0:
            raise AssertionError("the README's openssl command failed: %s"
                                 % p.stderr.decode(errors="replace"))
        _certificate = (d, os.path.join(d, "cert.pem"))
    return _certificate


class Proxy:
    """nginx or Caddy in front of a daemon's port, in the foreground,
    with its files in a temporary directory."""

    def __init__(self, kind, backend_port, under_path=False):
        self.kind = kind
        self.backend = backend_port
        self.under_path = under_path
        self.dir = open_dir("ml-%s-" % kind)
        self.certdir, self.cert = certificate()
        self.log_path = os.path.join(self.dir, "proxy.log")
        self.proc = None
        self.port = None

    def users(self):
        """The proxy's own password file: its path."""
        if self.kind == "nginx":
            path = os.path.join(self.dir, "microlight.htpasswd")
            lines = ["%s:%s\n" % (u, crypt_sha512(p))
                     for u, p in PASSWORDS.items()]
        else:
            path = os.path.join(self.dir, "microlight.users")
            lines = ["%s %s\n" % (u, crypt_bcrypt(p))
                     for u, p in PASSWORDS.items()]
        with open(path, "w") as f:
            f.writelines(lines)
        os.chmod(path, 0o644)
        return path

    def config(self):
        """Write the README's configuration for this proxy, its port and
        its backend; the command line that runs it."""
        certs = self.certdir + "/"
        backend = "127.0.0.1:%d" % self.backend
        if self.kind == "nginx":
            site = readme_file("/etc/nginx/conf.d/microlight.conf")
            if self.under_path:
                # The README's maps, and a server of the test's own with
                # the snippet in it.
                snippet = readme_file("/etc/nginx/snippets/microlight.conf")
                site = site[:site.index("server {")] + textwrap.dedent("""\
                    server {{
                        listen 443 ssl;
                        server_name {name};
                        ssl_certificate     /etc/ssl/microlight/cert.pem;
                        ssl_certificate_key /etc/ssl/microlight/key.pem;
                        include {d}/snippet.conf;
                    }}
                    """).format(name=SERVER_NAME, d=self.dir)
                snippet = replace(snippet, "127.0.0.1:8080", backend)
                snippet = replace(snippet, "/etc/nginx/microlight.htpasswd",
                                  self.users())
                with open(os.path.join(self.dir, "snippet.conf"), "w") as f:
                    f.write(snippet)
            site = replace(site, "listen 443 ssl;",
                           "listen 127.0.0.1:%d ssl;" % self.port)
            site = replace(site, "/etc/ssl/microlight/", certs)
            if not self.under_path:
                site = replace(site, "127.0.0.1:8080", backend)
                site = replace(site, "/etc/nginx/microlight.htpasswd",
                               self.users())
            with open(os.path.join(self.dir, "microlight.conf"), "w") as f:
                f.write(site)
            user = ""
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                user = "user nobody %s;\n" % grp.getgrgid(
                    nobody.pw_gid).gr_name
            main = textwrap.dedent("""\
                {user}worker_processes 1;
                pid {d}/nginx.pid;
                error_log {d}/error.log;
                events {{ worker_connections 64; }}
                http {{
                    access_log {d}/access.log;
                    client_body_temp_path {d}/body;
                    proxy_temp_path {d}/proxy;
                    fastcgi_temp_path {d}/fastcgi;
                    uwsgi_temp_path {d}/uwsgi;
                    scgi_temp_path {d}/scgi;
                    include {d}/microlight.conf;
                }}
                """).format(user=user, d=self.dir)
            path = os.path.join(self.dir, "nginx.conf")
            with open(path, "w") as f:
                f.write(main)
            return [program("nginx"), "-p", self.dir + "/", "-e",
                    os.path.join(self.dir, "error.log"), "-c", path,
                    "-g", "daemon off;"]
        if self.under_path:
            # A site of the test's own with the snippet in it.
            snippet = readme_file("/etc/caddy/microlight.caddy")
            snippet = replace(snippet, "127.0.0.1:8080", backend)
            snippet = replace(snippet, "/etc/caddy/microlight.users",
                              self.users())
            with open(os.path.join(self.dir, "snippet.caddy"), "w") as f:
                f.write(snippet)
            site = "%s {\n\ttls %scert.pem %skey.pem\n\timport %s\n}\n" % (
                SERVER_NAME, certs, certs,
                os.path.join(self.dir, "snippet.caddy"))
        else:
            site = readme_file("/etc/caddy/Caddyfile")
            site = replace(site, "127.0.0.1:8080", backend)
            site = replace(site, "/etc/ssl/microlight/", certs)
            site = replace(site, "/etc/caddy/microlight.users",
                           self.users())
        # The test's global options: no admin endpoint, no HTTP port for
        # redirects, its own HTTPS port, no HTTP/3 (UDP), its own storage.
        head = textwrap.dedent("""\
            {
                admin off
                auto_https disable_redirects
                https_port %d
                skip_install_trust
                storage file_system %s
                servers {
                    protocols h1 h2
                }
            }
            """) % (self.port, os.path.join(self.dir, "storage"))
        path = os.path.join(self.dir, "Caddyfile")
        with open(path, "w") as f:
            f.write(head + site)
        return [program("caddy"), "run", "--config", path,
                "--adapter", "caddyfile"]

    def start(self):
        """Start on a free port; return once the port answers."""
        for attempt in range(3):
            self.port = free_port()
            cmd = self.config()
            for name in ("proxy.log", "error.log"):
                if os.path.exists(os.path.join(self.dir, name)):
                    os.unlink(os.path.join(self.dir, name))
            env = dict(os.environ)
            for var, sub in (("HOME", "home"), ("XDG_DATA_HOME", "data"),
                             ("XDG_CONFIG_HOME", "config"),
                             ("XDG_CACHE_HOME", "cache")):
                env[var] = os.path.join(self.dir, sub)
                os.makedirs(env[var], exist_ok=True)
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(cmd, env=env, cwd=self.dir,
                                             stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log)
            try:
                wait_for(self.answers, timeout=PROXY_TIMEOUT,
                         what="%s to listen on %d" % (self.kind, self.port))
                return
            except AssertionError:
                self.stop()
                if "address already in use" not in self.log_text().lower():
                    raise AssertionError("%s did not start:\n%s" % (
                        self.kind, self.log_text()))
        raise AssertionError("%s found no free port" % self.kind)

    def answers(self):
        """Whether the port answers with this proxy's certificate (not
        merely whether something listens there)."""
        if self.proc.poll() is not None:
            raise AssertionError("%s exited with %s" % (
                self.kind, self.proc.returncode))
        ctx = ssl.create_default_context(cafile=self.cert)
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=5) as s:
                with ctx.wrap_socket(s, server_hostname=SERVER_NAME):
                    return True
        except (OSError, ssl.SSLError):
            return False

    def log_text(self):
        text = ""
        for name in ("proxy.log", "error.log"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    text += f.read().decode("utf-8", "replace")
            except FileNotFoundError:
                pass
        return text

    def stop(self):
        """Stop it (by its own pid) and wait for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=PROXY_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Reply:
    """An HTTP reply: status, headers, body."""

    def __init__(self, resp, body):
        self.status = resp.status
        self.headers = resp.headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<HTTP %d %r>" % (self.status, self.body[:300])


class TlsConnection(http.client.HTTPSConnection):
    """HTTPS to microlight.example.com, which is 127.0.0.1 here: the
    certificate is checked against that name (SNI too), and the Host is
    microlight.example.com:PORT, as a browser sends it."""

    def __init__(self, port, cafile, timeout=60):
        ctx = ssl.create_default_context(cafile=cafile)
        super().__init__(SERVER_NAME, port, context=ctx, timeout=timeout)
        self._create_connection = lambda addr, *a, **kw: \
            socket.create_connection(("127.0.0.1", addr[1]), *a, **kw)


def basic_auth(user, password):
    """The value of an Authorization header for HTTP Basic auth."""
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()


def tls_request(proxy, method, path, user=None, body=None, headers=(),
                password=None):
    """One request through proxy over TLS, signed in there as user (with
    the password of PASSWORDS, or password). headers is a list of (name,
    value): a name may repeat. A dict or list body is sent as JSON."""
    c = TlsConnection(proxy.port, proxy.cert)
    try:
        c.putrequest(method, path)
        hdrs = list(headers)
        if user is not None:
            hdrs.append(("Authorization", basic_auth(
                user, PASSWORDS[user] if password is None else password)))
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.append(("Content-Type", "application/json"))
        elif isinstance(body, str):
            body = body.encode()
        if body is not None:
            hdrs.append(("Content-Length", str(len(body))))
        for k, v in hdrs:
            c.putheader(k, v)
        c.endheaders(body)
        r = c.getresponse()
        return Reply(r, r.read())
    finally:
        c.close()


# The tests ------------------------------------------------------------

# The README's two tasks, with a body that says who ran it. deploy takes
# the parameter of the README's curl line.
TASK_BODY = 'echo "by=$MICROLIGHT_TRIGGERED_BY trigger=$MICROLIGHT_TRIGGER"\n'


def tasks(access):
    """The tasks; without access, the README's headers lose their
    @allow lines."""
    def header(first_line):
        text = readme_task(first_line)
        if not access:
            text = "".join(l for l in text.splitlines(True)
                           if "@allow" not in l)
        return text
    return {"restart-redis": header("Restart the Redis") + TASK_BODY,
            "deploy": header("Deploy") +
            '# @param ref "Git ref to deploy" default=main\n' + TASK_BODY,
            "gated": GATED_TASK}


GATED_TASK = """\
#!/bin/sh
# Prints one and two, waiting at gate 1 between them.
@SH_GATE@
echo one
gate 1
echo two
"""


class ProxyTest(HttpTest):
    """A daemon behind the README's configuration of PROXY. With ACCESS,
    microlight.conf has the README's lines and the users-file; without
    it, only the README's allowed-hosts and tasks without @allow (the
    daemon as it is without access control, so that the proxy, TLS and
    the way to microlight are tested on their own)."""

    PROXY = None
    ACCESS = True
    START = False
    UNDER_PATH = False
    EXTRA_TASKS = {}

    def setUp(self):
        missing = [p for p in (self.PROXY, "openssl") if program(p) is None]
        if missing:
            self.skipTest("%s not installed (apt-get install %s)" % (
                " and ".join(missing), " ".join(missing)))
        type(self).TASKS = dict(tasks(self.ACCESS), **self.EXTRA_TASKS)
        super().setUp()
        conf = readme_conf()
        if self.UNDER_PATH:
            conf += "base-url %s\n" % readme_base_url()[0]
        with open(self.d.config, "a") as f:
            if self.ACCESS:
                users = os.path.join(self.d.dir, "users")
                with open(users, "w") as u:
                    u.write(readme_file("/etc/microlight/users") +
                            EXTRA_USERS)
                f.write("users-file %s\n" % users)
                f.write(conf)
            else:
                f.writelines(l + "\n" for l in conf.splitlines()
                             if l.startswith("allowed-hosts"))
        try:
            self.d.start()
        except BaseException:
            self.d.cleanup()	# no tearDown after a failed setUp
            raise
        self.proxy = Proxy(self.PROXY, self.d.port, self.UNDER_PATH)
        self.addCleanup(self.proxy.cleanup)
        self.proxy.start()

    def tearDown(self):
        super().tearDown()
        proxy = getattr(self, "proxy", None)
        if proxy is not None:
            self.daemon_log = (self.daemon_log or "") + \
                "\nthe proxy's log:\n" + proxy.log_text()[-4000:]

    # Clients ---------------------------------------------------------

    def via(self, method, path, user=None, body=None, headers=(),
            password=None):
        """One request through the proxy (tls_request)."""
        return tls_request(self.proxy, method, path, user, body, headers,
                           password)

    def direct(self, method, path, source, headers=()):
        """One request straight to microlight from the address source."""
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=60,
                                       source_address=(source, 0))
        try:
            c.putrequest(method, path)
            for k, v in headers:
                c.putheader(k, v)
            c.endheaders()
            r = c.getresponse()
            return Reply(r, r.read())
        finally:
            c.close()

    def origin(self):
        return "https://%s:%d" % (SERVER_NAME, self.proxy.port)

    def page_run(self, user, task):
        """Press the task's Run button on the page, through the proxy, as
        user: the new run's id."""
        page = self.via("GET", "/tasks/" + task, user)
        self.assertEqual(page.status, 200, page)
        m = re.search(r'name="_token" value="([0-9a-f]{32})"', page.text)
        self.assertTrue(m, "no form token on the page of %s" % task)
        r = self.via("POST", "/tasks/%s/run" % task, user,
                     body=urllib.parse.urlencode([("_token", m.group(1))]),
                     headers=[("Content-Type",
                               "application/x-www-form-urlencoded"),
                              ("Origin", self.origin())])
        self.assertEqual(r.status, 303, r)
        m = re.fullmatch(r"/runs/(\d+)", r.headers.get("Location", ""))
        self.assertTrue(m, r.headers.get("Location"))
        return int(m.group(1))

    def api_run(self, user, task, headers=(), params=None):
        """POST /api/v1/tasks/TASK/runs through the proxy: the Reply."""
        return self.via("POST", "/api/v1/tasks/%s/runs" % task, user,
                        body={"params": params or {}}, headers=headers)

    def task_names(self, user, headers=()):
        r = self.via("GET", "/api/v1/tasks", user, headers=headers)
        self.assertEqual(r.status, 200, r)
        return sorted(t["name"] for t in r.json()["tasks"])


class Plumbing:
    """The way from a browser to microlight through the proxy, as it works
    without access control in the daemon: TLS, the proxy's sign-in,
    Host and Origin, streams, webhooks past the sign-in."""

    ACCESS = False

    def test_tls_and_sign_in(self):
        """The proxy speaks TLS with the README's certificate and lets no
        one through without signing in, whatever X-Remote-User says."""
        r = self.via("GET", "/healthz", "alice")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "ok")
        for user, password, headers in (
                (None, None, []), (None, None, [(HEADER, "carol")]),
                ("alice", "wrong", []),
                ("alice", "wrong", [(HEADER, "alice")])):
            r = self.via("GET", "/", user, headers=headers, password=password)
            self.assertEqual(r.status, 401, (user, headers, r))
            self.assertIn("Basic", r.headers.get("WWW-Authenticate", ""))
        # Plain HTTP on the TLS port is not served as the page.
        with socket.create_connection(("127.0.0.1", self.proxy.port),
                                      timeout=30) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n"
                      % SERVER_NAME.encode())
            s.shutdown(socket.SHUT_WR)
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        self.assertNotIn(b"restart-redis", out)

    def test_reaches_microlight(self):
        """Signed in, the page, the API and the form work through the
        proxy: Host and Origin pass the daemon's checks."""
        for user in PASSWORDS:
            r = self.via("GET", "/", user)
            self.assertEqual(r.status, 200, r)
            self.assertIn("restart-redis", r.text)
        self.assertEqual(self.task_names("alice"),
                         ["deploy", "gated", "restart-redis"])
        r = self.api_run("bob", "restart-redis")
        self.assertEqual(r.status, 201, r)
        run = self.d.wait_status(r.json()["run"]["id"], "succeeded")
        self.assertEqual(run["trigger"], "api")
        run_id = self.page_run("carol", "deploy")
        run = self.d.wait_status(run_id, "succeeded")
        self.assertEqual(run["trigger"], "web")
        log = self.via("GET", "/api/v1/runs/%d/log" % run_id, "carol")
        self.assertEqual(log.status, 200, log)
        self.assertIn(b"trigger=web\n", log.body)

    def test_live_output(self):
        """A followed log comes through the proxy as it is written, not
        when the run ends."""
        run_id = self.d.run("gated", wait=False)
        self.d.wait_status(run_id, "running")
        c = TlsConnection(self.proxy.port, self.proxy.cert)
        self.addCleanup(c.close)
        c.request("GET", "/api/v1/runs/%d/log?follow=1" % run_id,
                  headers={"Authorization": basic_auth(
                      "alice", PASSWORDS["alice"])})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        got = b""
        while b"one\n" not in got:
            chunk = r.read1(65536)
            self.assertTrue(chunk, "the stream ended before 'one': %r" % got)
            got += chunk
        self.assertNotIn(b"two", got)
        self.go(run_id)
        while True:
            chunk = r.read1(65536)
            if not chunk:
                break
            got += chunk
        self.assertEqual(got, b"one\ntwo\n")

    def test_webhook_past_sign_in(self):
        """/hooks/ needs no sign-in at the proxy: its secret is checked by
        microlight (a task without @webhook: microlight's 404)."""
        r = self.via("POST", "/hooks/deploy", None, body={},
                     headers=[("Authorization", "Bearer " + "0" * 64),
                              (HEADER, "carol")])
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json()["ok"], False)


class Access:
    """Who the signed-in user is in microlight (these need the daemon's
    side of issue 15: trusted-proxy, user-header, groups, @allow)."""

    def test_user_is_triggered_by(self):
        """A run started through the proxy, from the API or the page,
        records the user who signed in at the proxy."""
        r = self.api_run("alice", "restart-redis")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["run"]["triggered_by"], "alice")
        run = self.d.wait_status(r.json()["run"]["id"], "succeeded")
        self.assertEqual(run["triggered_by"], "alice")
        self.assertIn(b"by=alice trigger=api\n", self.d.logs(run["id"]))
        run_id = self.page_run("carol", "deploy")
        run = self.d.wait_status(run_id, "succeeded")
        self.assertEqual(run["triggered_by"], "carol")
        self.assertEqual(run["trigger"], "web")
        page = self.via("GET", "/runs/%d" % run_id, "carol")
        self.assertEqual(page.status, 200, page)
        self.assertIn("carol", page.text)

    def test_allow_by_group(self):
        """restart-redis (@allow %sales %support) is for alice and bob;
        deploy (@allow %ops) does not exist for them, only for dave;
        carol, of admin, has both."""
        self.assertEqual(self.task_names("alice"), ["gated", "restart-redis"])
        self.assertEqual(self.task_names("bob"), ["gated", "restart-redis"])
        self.assertEqual(self.task_names("dave"), ["deploy", "gated"])
        self.assertEqual(self.task_names("carol"),
                         ["deploy", "gated", "restart-redis"])
        r = self.api_run("dave", "restart-redis")
        self.assertEqual(r.status, 404, r)
        r = self.api_run("dave", "deploy")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["run"]["triggered_by"], "dave")
        self.assertEqual(self.via("GET", "/api/v1/tasks/restart-redis",
                                  "bob").status, 200)
        deploy = self.api_run("carol", "deploy")
        self.assertEqual(deploy.status, 201, deploy)
        deploy_id = deploy.json()["run"]["id"]
        self.d.wait_status(deploy_id, "succeeded")
        unknown = self.via("GET", "/api/v1/tasks/no-such-task", "alice")
        self.assertEqual(unknown.status, 404, unknown)
        for method, path in (("GET", "/api/v1/tasks/deploy"),
                             ("POST", "/api/v1/tasks/deploy/runs"),
                             ("GET", "/tasks/deploy"),
                             ("GET", "/api/v1/runs/%d" % deploy_id),
                             ("GET", "/api/v1/runs/%d/log" % deploy_id),
                             ("GET", "/runs/%d" % deploy_id)):
            r = self.via(method, path, "alice",
                         body={"params": {}} if method == "POST" else None)
            self.assertEqual(r.status, 404, (method, path, r))
            self.assertNotIn(b"by=carol", r.body)
        page = self.via("GET", "/", "alice")
        self.assertEqual(page.status, 200, page)
        self.assertIn("restart-redis", page.text)
        self.assertNotIn("deploy", page.text)
        self.assertEqual(len([r for r in self.runs_all()
                              if r["task"] == "deploy"]), 2)

    def test_spoofed_header_replaced(self):
        """A client's own X-Remote-User, once or twice, does not make it
        someone else: the proxy replaces it with the signed-in user."""
        for spoof in ([(HEADER, "carol")],
                      [(HEADER, "carol"), (HEADER, "carol")],
                      [(HEADER, "carol, alice")]):
            self.assertEqual(self.task_names("alice", headers=spoof),
                             ["gated", "restart-redis"], spoof)
            r = self.api_run("alice", "deploy", headers=spoof)
            self.assertEqual(r.status, 404, (spoof, r))
            r = self.api_run("alice", "restart-redis", headers=spoof)
            self.assertEqual(r.status, 201, (spoof, r))
            self.assertEqual(r.json()["run"]["triggered_by"], "alice")

    def test_header_from_elsewhere_ignored(self):
        """Straight to microlight, not from the trusted proxy's address,
        the header counts for nothing: 401. From 127.0.0.1, the proxy's
        address, it is believed (why only administrators should have a
        shell where the proxy runs)."""
        for headers in ([], [(HEADER, "carol")], [(HEADER, "alice")]):
            for path in ("/api/v1/tasks", "/", "/api/v1/tasks/deploy"):
                r = self.direct("GET", path, "127.0.0.2", headers)
                self.assertEqual(r.status, 401, (path, headers, r))
                self.assertNotIn(b"restart-redis", r.body)
        r = self.direct("POST", "/api/v1/tasks/restart-redis/runs",
                        "127.0.0.2", [(HEADER, "alice"),
                                      ("Content-Type", "application/json"),
                                      ("Content-Length", "0")])
        self.assertEqual(r.status, 401, r)
        self.assertEqual(self.runs_all(), [])
        self.assertEqual(self.direct("GET", "/healthz", "127.0.0.2").status,
                         200)
        r = self.direct("GET", "/api/v1/tasks", "127.0.0.1",
                        [(HEADER, "carol")])
        self.assertEqual(r.status, 200, r)
        self.assertIn("deploy", [t["name"] for t in r.json()["tasks"]])
        r = self.direct("GET", "/api/v1/tasks", "127.0.0.1",
                        [(HEADER, "carol"), (HEADER, "carol")])
        self.assertEqual(r.status, 401, r)

    def test_token_through_proxy(self):
        """The README's CI token passes the proxy's sign-in and is what it
        is in microlight, whatever X-Remote-User the client adds."""
        p = self.d.ctl("token", "create", "ci", "--task", "deploy",
                       "--expires", "90d", check=0)
        # The secret: 32 random bytes, in hex or base64, whatever the
        # words around it.
        m = re.search(rb"[A-Za-z0-9_+/=-]{40,}", p.stdout)
        self.assertTrue(m, "no secret in %r" % p.stdout)
        bearer = [("Authorization", "Bearer " + m.group(0).decode()),
                  (HEADER, "alice")]
        self.assertEqual(self.task_names(None, headers=bearer), ["deploy"])
        r = self.api_run(None, "deploy", headers=bearer,
                         params={"ref": "v1.2"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["run"]["triggered_by"], "token:ci")
        r = self.api_run(None, "restart-redis", headers=bearer)
        self.assertEqual(r.status, 404, r)


class Echo:
    """A stand-in for microlight behind the proxy: it answers every
    request with the headers it got, as a JSON list of [name, value]."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                body = json.dumps(list(self.headers.items())).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            do_GET = do_POST = answer

            def log_message(self, *args):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05})
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class Headers:
    """What the README's configuration sends on to microlight, seen by a
    stand-in for it: the signed-in user in X-Remote-User, set once,
    whatever the client sent; neither the header nor the sign-in's
    password for a token or a webhook."""

    def setUp(self):
        missing = [p for p in (self.PROXY, "openssl") if program(p) is None]
        if missing:
            self.skipTest("%s not installed (apt-get install %s)" % (
                " and ".join(missing), " ".join(missing)))
        self.echo = Echo()
        self.addCleanup(self.echo.close)
        self.proxy = Proxy(self.PROXY, self.echo.port)
        self.addCleanup(self.proxy.cleanup)
        self.proxy.start()

    def seen(self, path, user=None, headers=(), password=None):
        """The headers the stand-in got, by lower-case name: lists of
        values."""
        r = tls_request(self.proxy, "GET", path, user, headers=headers,
                        password=password)
        self.assertEqual(r.status, 200, (r, self.proxy.log_text()[-2000:]))
        got = {}
        for k, v in r.json():
            got.setdefault(k.lower(), []).append(v)
        return got

    def test_user_header_replaced(self):
        for spoof in ([], [(HEADER, "carol")],
                      [(HEADER, "carol"), (HEADER, "bob")],
                      [(HEADER, "carol, alice")], [(HEADER, "")]):
            for path in ("/", "/api/v1/tasks", "/hooksx"):
                got = self.seen(path, "alice", spoof)
                self.assertEqual(got.get(HEADER.lower()), ["alice"],
                                 (path, spoof, got))
                self.assertNotIn("authorization", got, (path, spoof))

    def test_token_and_webhook_pass(self):
        bearer = ("Authorization", "Bearer " + "t0ken" * 9)
        for path in ("/api/v1/tasks", "/hooks/deploy"):
            for spoof in ([], [(HEADER, "carol")],
                          [(HEADER, "carol"), (HEADER, "alice")]):
                got = self.seen(path, headers=[bearer] + spoof)
                self.assertEqual(got.get("authorization"), [bearer[1]],
                                 (path, spoof, got))
                self.assertNotIn(HEADER.lower(), got, (path, spoof, got))
        # A webhook signed GitHub's way, with no Authorization at all.
        got = self.seen("/hooks/deploy", headers=[
            ("X-Hub-Signature-256", "sha256=" + "0" * 64),
            (HEADER, "carol")])
        self.assertNotIn(HEADER.lower(), got, got)

    def test_no_sign_in_no_way_through(self):
        for user, password, headers in (
                (None, None, [(HEADER, "carol")]),
                ("alice", "wrong", [(HEADER, "alice")]),
                # Caddy compares an unknown user's password with a slow
                # hash of its own (a second or two), against timing.
                ("mallory", "x", [(HEADER, "carol")]),
                (None, None, [("Authorization", "Basic"), (HEADER, "a")])):
            r = tls_request(self.proxy, "GET", "/", user, headers=headers,
                            password=password)
            self.assertEqual(r.status, 401, (user, headers, r))


class UnderPath:
    """The README's page under a path: base-url and the proxies'
    snippets, with the README's access control. Links, forms, redirects,
    live streams, webhooks and tokens all work under /microlight/."""

    UNDER_PATH = True
    EXTRA_TASKS = {"hooked": "#!/bin/sh\n# A webhook's task.\n# @webhook\n"
                             "echo \"url=$MICROLIGHT_URL\"\n"}

    def setUp(self):
        super().setUp()
        self.base, self.path = readme_base_url()

    def links(self, text):
        return [v for v in re.findall(
            r'(?:href|action|data-events)="([^"]*)"', text)
            if not v.startswith(("#", "data:"))]

    def test_page_under_path(self):
        """The front page and a task's page link only under the path;
        the form runs the task as the user signed in at the proxy and
        goes to the run's page under the path; its raw log is there."""
        r = self.via("GET", self.path, "carol")
        self.assertIn(r.status, (301, 302, 308), r)
        self.assertTrue(r.headers.get("Location", "").endswith(
            self.path + "/"), r.headers.get("Location"))
        for page in ("/", "/tasks/deploy"):
            r = self.via("GET", self.path + page, "carol")
            self.assertEqual(r.status, 200, (page, r))
            links = self.links(r.text)
            self.assertTrue(links)
            for u in links:
                self.assertTrue(u.startswith(self.path + "/"), (page, u))
        self.assertIn('action="%s/tasks/deploy/run"' % self.path, r.text)
        token = re.search(r'name="_token" value="([0-9a-f]{32})"',
                          r.text).group(1)
        r = self.via("POST", self.path + "/tasks/deploy/run", "carol",
                     body=urllib.parse.urlencode([("_token", token)]),
                     headers=[("Content-Type",
                               "application/x-www-form-urlencoded"),
                              ("Origin", self.origin())])
        self.assertEqual(r.status, 303, r)
        m = re.fullmatch(re.escape(self.path) + r"/runs/(\d+)",
                         r.headers.get("Location", ""))
        self.assertTrue(m, r.headers.get("Location"))
        run = self.d.wait_status(int(m.group(1)), "succeeded")
        self.assertEqual((run["trigger"], run["triggered_by"]),
                         ("web", "carol"))
        page = self.via("GET", m.group(0), "carol")
        self.assertEqual(page.status, 200, page)
        log = "%s/api/v1/runs/%s/log" % (self.path, m.group(1))
        self.assertIn('href="%s"' % log, page.text)
        r = self.via("GET", log, "carol")
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"by=carol trigger=web\n", r.body)

    def test_live_page_under_path(self):
        """A running run's page streams under the path through the
        proxy, as it happens (the proxy holds nothing back)."""
        run_id = self.d.run("gated", wait=False)
        self.d.wait_status(run_id, "running")
        page = self.via("GET", "%s/runs/%d" % (self.path, run_id), "carol")
        self.assertEqual(page.status, 200, page)
        m = re.search(r'data-events="([^"]+)"', page.text)
        self.assertTrue(m, page.text)
        events = m.group(1).replace("&amp;", "&")
        self.assertTrue(events.startswith("%s/runs/%d/events" % (
            self.path, run_id)), events)
        c = TlsConnection(self.proxy.port, self.proxy.cert)
        self.addCleanup(c.close)
        c.request("GET", events, headers={
            "Accept": "text/event-stream",
            "Authorization": basic_auth("carol", PASSWORDS["carol"])})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        got = b""
        while b"event: status" not in got:
            chunk = r.read1(65536)
            self.assertTrue(chunk, got)
            got += chunk
        # The run is still held at its gate: the event came live.
        self.assertEqual(self.d.status(run_id)["status"], "running")
        self.go(run_id)
        while b"event: end" not in got:
            chunk = r.read1(65536)
            self.assertTrue(chunk, got)
            got += chunk
        self.assertIn(b"two", got)

    def test_webhook_and_token_under_path(self):
        """The webhook URL microlightctl prints is under base-url and
        works through the proxy without sign-in; the run's
        MICROLIGHT_URL is its page there; a token passes too."""
        out = self.d.ctl("webhook", "hooked", check=0).stdout.decode()
        url = re.search(r"^url:\s+(\S+)$", out, re.M).group(1)
        secret = re.search(r"^secret:\s+(\S+)$", out, re.M).group(1)
        self.assertEqual(url, self.base + "hooks/hooked")
        r = self.via("POST", urllib.parse.urlsplit(url).path, None,
                     body={}, headers=[("Authorization", "Bearer " + secret)])
        self.assertEqual(r.status, 202, r)
        run_id = r.json()["run_id"]
        self.assertEqual(r.json()["url"], "%s/runs/%d" % (self.path, run_id))
        self.d.wait_status(run_id, "succeeded")
        self.assertEqual(self.d.logs(run_id), b"url=%sruns/%d\n" % (
            self.base.encode(), run_id))
        p = self.d.ctl("token", "create", "ci", "--task", "deploy",
                       "--expires", "90d", check=0)
        m = re.search(rb"[A-Za-z0-9_+/=-]{40,}", p.stdout)
        r = self.via("GET", self.path + "/api/v1/tasks", None, headers=[
            ("Authorization", "Bearer " + m.group(0).decode())])
        self.assertEqual(r.status, 200, r)
        self.assertEqual([t["name"] for t in r.json()["tasks"]], ["deploy"])


class NginxUnderPath(UnderPath, ProxyTest):
    PROXY = "nginx"


class CaddyUnderPath(UnderPath, ProxyTest):
    PROXY = "caddy"


class NginxPlumbing(Plumbing, ProxyTest):
    PROXY = "nginx"


class CaddyPlumbing(Plumbing, ProxyTest):
    PROXY = "caddy"


class NginxAccess(Access, ProxyTest):
    PROXY = "nginx"


class CaddyAccess(Access, ProxyTest):
    PROXY = "caddy"


class NginxHeaders(Headers, unittest.TestCase):
    PROXY = "nginx"


class CaddyHeaders(Headers, unittest.TestCase):
    PROXY = "caddy"


class Readme(unittest.TestCase):
    """The blocks are there, and agree with each other: microlight
    believes the header the proxies set, from the address they come
    from."""

    def test_blocks(self):
        conf = dict(l.split(None, 1) for l in readme_conf().splitlines()
                    if l.strip())
        self.assertEqual(conf.get("trusted-proxy"), "127.0.0.1")
        self.assertEqual(conf.get("user-header"), HEADER)
        self.assertEqual(conf.get("allowed-hosts"), SERVER_NAME)
        nginx = readme_file("/etc/nginx/conf.d/microlight.conf")
        caddy = readme_file("/etc/caddy/Caddyfile")
        for text in (nginx, caddy):
            self.assertIn("127.0.0.1:8080", text)
            self.assertIn(SERVER_NAME, text)
        self.assertRegex(nginx, r"proxy_set_header\s+%s\s+\$remote_user;"
                         % HEADER)
        self.assertRegex(caddy, r"header_up\s+%s\s+\{http\.auth\.user\.id\}"
                         % HEADER)
        users = readme_file("/etc/microlight/users")
        self.assertRegex(users, r"(?m)^alice:!:sales$")
        self.assertIn("@allow %sales %support", readme_task(
            "Restart the Redis"))
        self.assertIn("@allow %ops", readme_task("Deploy"))


if __name__ == "__main__":
    main()
