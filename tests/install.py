#!/usr/bin/env python3
"""make install and the README's "Install on a server" (issue 6, part 2).

1. A copy of the source is configured with the README's paths
   (--prefix=/usr --sysconfdir=/etc --localstatedir=/var --runstatedir=/run)
   and built; `make install DESTDIR=...` must give exactly the expected
   tree, keep a changed configuration on a second install, and
   `make uninstall` must take back all but that.
2. As root, every command of the README section runs as written, in a
   private mount namespace whose /etc, /usr, /var and /run are overlays
   (nothing reaches the real system): `#` lines as root, `$` lines as the
   user alice, `systemctl` a stand-in that does what systemd does with the
   installed unit (User=, Group=, StateDirectory=, RuntimeDirectory=,
   UMask=, Type=notify readiness, ExecReload=, the STATUS line). The
   installed units must pass `systemd-analyze verify` silently, with and
   without the stricter drop-in, and the default unit must leave sudo
   working (no NoNewPrivileges, set or implied) where the drop-in does not.

Prints TAP. Needs the build tools of the README; part 2 needs root,
unshare (a mount and a network namespace that may change the root's
mount propagation), overlayfs, setpriv, useradd and mkpasswd, and skips
(saying why) without them.
"""

import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

SRCDIR = os.environ.get("ML_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), ".."))
CONFIGURE = ["--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var",
             "--runstatedir=/run"]
PORT = 8080			# the README's; the namespace has its own /run only

# What make install DESTDIR=D must put there, and nothing else.
EXPECTED = {
    "usr/sbin/microlightd": 0o755,
    "usr/bin/microlightctl": 0o755,
    "usr/share/man/man8/microlightd.8": 0o644,
    "usr/share/man/man1/microlightctl.1": 0o644,
    "usr/share/man/man5/microlight.conf.5": 0o644,
    "usr/share/man/man5/microlight-tasks.5": 0o644,
    "UNITDIR/microlightd.service": 0o644,
    "UNITDIR/microlightd-control.socket": 0o644,
    "UNITDIR/microlightd-http.socket": 0o644,
    "usr/lib/sysusers.d/microlight.conf": 0o644,
    "usr/share/doc/microlight/examples/microlight.conf": 0o644,
    "usr/share/doc/microlight/examples/strict.conf": 0o644,
    "usr/share/doc/microlight/examples/tasks.d/check-backup.sh": 0o755,
    "usr/share/doc/microlight/examples/tasks.d/greet.sh": 0o755,
    "usr/share/doc/microlight/examples/tasks.d/hello.sh": 0o755,
    "usr/share/doc/microlight/examples/tasks.d/notify-mail.sh": 0o755,
    "usr/share/doc/microlight/examples/tasks.d/notify-slack.sh": 0o755,
    "usr/share/doc/microlight/examples/tasks.d/weekly-report.sh": 0o755,
    "etc/microlight/microlight.conf": 0o644,
}
EXPECTED_DIRS = ["etc/microlight/tasks.d"]

# Directives that set or imply NoNewPrivileges= for a service with User=
# (systemd.exec(5)): with any of them, sudo in a task cannot work.
NNP_IMPLIED = ["NoNewPrivileges", "SystemCallFilter", "SystemCallArchitectures",
               "RestrictAddressFamilies", "RestrictNamespaces",
               "PrivateDevices", "ProtectKernelTunables",
               "ProtectKernelModules", "ProtectKernelLogs", "ProtectClock",
               "MemoryDenyWriteExecute", "RestrictRealtime",
               "RestrictSUIDSGID", "LockPersonality", "ProtectHostname",
               "DynamicUser"]

results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in str(detail).rstrip().splitlines()[-40:]:
            print("# " + line)
    sys.stdout.flush()
    return ok


def run(cmd, cwd=None, env=None, check=True, input=None, timeout=900):
    """Run cmd (its output: stdout and stderr together); at the timeout
    its whole process group goes, not just its shell (a make left running
    would go on writing in the directory being removed)."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env,
                            stdin=None if input is None else subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            shell=isinstance(cmd, str),
                            start_new_session=True)
    try:
        out, _ = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    p = subprocess.CompletedProcess(cmd, proc.returncode, out)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s" % (cmd, p.returncode,
                                                p.stdout.decode()))
    return p


def unit_dir():
    """Where configure puts units for --prefix=/usr, as configure finds
    it (pkg-config systemd), relative."""
    p = subprocess.run(["pkg-config", "--define-variable=prefix=/usr",
                        "--variable=systemdsystemunitdir", "systemd"],
                       capture_output=True, text=True)
    d = p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else \
        "/usr/lib/systemd/system"
    return d.lstrip("/")


# ---------------------------------------------------------------------
# 1. The source, built with the README's paths; make install DESTDIR.

def copy_source(dst):
    """A clean copy of the source tree to build in: without the build
    products of an in-tree build, the browser test's node_modules, git."""
    excludes = ["./.git", "./tests/browser/node_modules", "./.ci-build",
                "./state", "./autom4te.cache"]
    tar = ["tar", "cf", "-"] + ["--exclude=%s" % e for e in excludes] + ["."]
    p1 = subprocess.Popen(tar, cwd=SRCDIR, stdout=subprocess.PIPE)
    # --touch: the files are new here (autoreconf remakes what is made
    # from them). Restored times could lie ahead of the clock that make
    # compares them with (under faketime, tar sets them shifted), and make
    # would run configure again and again.
    run(["tar", "xf", "-", "--touch", "-C", dst], check=True,
        input=p1.stdout.read())
    p1.wait()
    for root, dirs, files in os.walk(dst):
        os.chmod(root, os.stat(root).st_mode | stat.S_IWUSR)
    if os.path.exists(os.path.join(dst, "Makefile")):
        run(["make", "distclean"], cwd=dst)


def tree(root):
    found = {}
    dirs = []
    for d, subdirs, files in os.walk(root):
        for f in files:
            path = os.path.join(d, f)
            found[os.path.relpath(path, root)] = \
                stat.S_IMODE(os.lstat(path).st_mode)
        if not subdirs and not files and d != root:
            dirs.append(os.path.relpath(d, root))
    return found, dirs


def check_destdir(src, tmp):
    dest = os.path.join(tmp, "destdir")
    units = unit_dir()
    expected = {k.replace("UNITDIR", units): v for k, v in EXPECTED.items()}
    run(["make", "install", "DESTDIR=" + dest], cwd=src)
    found, empty = tree(dest)
    tap(found == expected, "make install DESTDIR puts exactly the expected "
        "files, with their modes",
        "missing: %s\nunexpected: %s\nmodes: %s" % (
            sorted(set(expected) - set(found)),
            sorted(set(found) - set(expected)),
            {k: oct(v) for k, v in found.items()
             if k in expected and expected[k] != v}))
    tap(empty == EXPECTED_DIRS, "and an empty tasks.d", empty)

    # Installed files carry the configured paths, nothing of the build.
    with open(os.path.join(dest, units, "microlightd.service")) as f:
        service = f.read()
    with open(os.path.join(dest, "etc/microlight/microlight.conf")) as f:
        conf = f.read()
    with open(os.path.join(dest, "usr/lib/sysusers.d/microlight.conf")) as f:
        sysusers = f.read()
    ok = ("ExecStart=/usr/sbin/microlightd -f -c "
          "/etc/microlight/microlight.conf" in service and
          "ExecReload=/usr/bin/microlightctl -s "
          "/run/microlight/microlightd.sock reload" in service and
          "@" not in re.sub(r"(?m)^#.*$", "", service))
    tap(ok, "the unit names the installed programs and paths", service)
    ok = (re.search(r"(?m)^tasks-dir\s+/etc/microlight/tasks\.d$", conf) and
          re.search(r"(?m)^state-dir\s+/var/lib/microlight$", conf) and
          re.search(r"(?m)^socket\s+/run/microlight/microlightd\.sock$",
                    conf) and
          re.search(r"(?m)^socket-group\s+microlight$", conf))
    tap(bool(ok), "microlight.conf has the system's paths", conf)
    tap(re.search(r"(?m)^u microlight - .* /var/lib/microlight$",
                  sysusers) is not None, "the sysusers.d line", sysusers)
    man = run(["mandoc", "-Tlint", "-W", "warning"] +
              [os.path.join(dest, k) for k in expected if "/man/" in k],
              check=False)
    tap(man.returncode == 0 and not man.stdout, "installed manual pages "
        "are mandoc-clean", man.stdout.decode())

    # A changed configuration survives a second install and an uninstall.
    conf_path = os.path.join(dest, "etc/microlight/microlight.conf")
    with open(conf_path, "a") as f:
        f.write("max-running 2\n")
    p = run(["make", "install", "DESTDIR=" + dest], cwd=src)
    with open(conf_path) as f:
        tap(f.read().endswith("max-running 2\n") and
            b"left as it is" in p.stdout,
            "a second make install keeps the changed configuration",
            p.stdout.decode())
    run(["make", "uninstall", "DESTDIR=" + dest], cwd=src)
    found, _ = tree(dest)
    tap(list(found) == ["etc/microlight/microlight.conf"],
        "make uninstall takes back all but the changed configuration",
        sorted(found))
    shutil.rmtree(dest)


# ---------------------------------------------------------------------
# 2. The README's commands in a private mount namespace.

def readme_commands():
    """The README's "Install on a server" commands: (user, text), where
    user is "root" or "alice" and text may span lines (a here-document,
    a continued line)."""
    with open(os.path.join(SRCDIR, "README")) as f:
        text = f.read()
    m = re.search(r"\nInstall on a server\n-+\n(.*?)\n[^\n]+\n-+\n", text,
                  re.S)
    if m is None:
        raise RuntimeError("README has no section Install on a server")
    lines = [l[4:] for l in m.group(1).splitlines() if l.startswith("    ")]
    cmds = []
    heredoc = None
    for line in lines:
        if heredoc is not None:
            cmds[-1][1].append(line)
            if line == heredoc:
                heredoc = None
            continue
        if cmds and cmds[-1][1][-1].endswith("\\"):
            cmds[-1][1].append(line)
            continue
        if line.startswith("# "):
            cmds.append(("root", [line[2:]]))
        elif line.startswith("$ "):
            cmds.append(("alice", [line[2:]]))
        else:
            raise RuntimeError("README: a line in Install on a server is "
                               "no command: %r" % line)
        h = re.search(r"<<-?'?(\w+)'?", line)
        if h:
            heredoc = h.group(1)
    return [(user, "\n".join(body)) for user, body in cmds]


SYSTEMCTL = r'''#!/usr/bin/env python3
"""A stand-in for systemctl in the install test: what systemd does with
a service unit, for the commands the README uses."""
import os, pwd, grp, re, signal, socket, subprocess, sys, time

STATE = os.environ["ML_FAKE_SYSTEMD"]
UNITDIR = os.environ["ML_UNITDIR"]
JOURNAL = os.path.join(STATE, "journal.log")


def unit(name):
    if not name.endswith(".service"):
        name += ".service"
    files = [os.path.join(UNITDIR, name)]
    dropins = "/etc/systemd/system/%s.d" % name
    if os.path.isdir(dropins):
        files += [os.path.join(dropins, f) for f in sorted(os.listdir(dropins))]
    keys = {}
    for path in files:
        section = None
        for line in open(path):
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            k, v = line.split("=", 1)
            keys.setdefault((section, k), []).append(v)
    return name, lambda k, d=None: keys.get(("[Service]", k), [d])[-1]


def notify_socket(name):
    path = os.path.join(STATE, name + ".notify")
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)	# the service's user sends to it
    return s, path


def wait_for(s, key, timeout=30):
    deadline = time.monotonic() + timeout
    got = []
    while time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        got.append(msg)
        with open(os.path.join(STATE, "notify.log"), "a") as f:
            f.write(msg.replace("\n", " ") + "\n")
        if key in msg.split("\n"):
            return got
    sys.exit("systemctl: no %s from the service (got %r); journal:\n%s" %
             (key, got, open(JOURNAL).read()))


def drain(s):
    """Log what the service says at once after (the STATUS= line)."""
    s.settimeout(0.3)
    try:
        while True:
            msg = s.recv(4096).decode()
            with open(os.path.join(STATE, "notify.log"), "a") as f:
                f.write(msg.replace("\n", " ") + "\n")
    except socket.timeout:
        pass


def service_env(get, notify):
    pw = pwd.getpwnam(get("User", "root"))
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
           "/sbin:/bin", "HOME": pw.pw_dir, "USER": pw.pw_name,
           "LOGNAME": pw.pw_name, "SHELL": pw.pw_shell, "LANG": "C.UTF-8",
           "NOTIFY_SOCKET": notify}
    wd = get("WatchdogSec")
    if wd:
        env["WATCHDOG_USEC"] = str(int(wd) * 1000000)
    return pw, env


def as_user(get, argv):
    return ["setpriv", "--reuid", get("User", "root"), "--regid",
            get("Group", "root"), "--init-groups"] + argv


def mainpid(name):
    try:
        return int(open(os.path.join(STATE, name + ".pid")).read())
    except FileNotFoundError:
        return None


def start(name):
    name, get = unit(name)
    pw, _ = service_env(get, "")
    gid = grp.getgrnam(get("Group", "root")).gr_gid
    for kind, base in (("State", "/var/lib"), ("Runtime", "/run")):
        d = get(kind + "Directory")
        if d:
            path = os.path.join(base, d)
            os.makedirs(path, exist_ok=True)
            os.chown(path, pw.pw_uid, gid)
            os.chmod(path, int(get(kind + "DirectoryMode", "0755"), 8))
    s, path = notify_socket(name)
    _, env = service_env(get, path)
    if get("Type") == "notify":
        env["NOTIFY_SOCKET"] = path
    umask = int(get("UMask", "0022"), 8)
    log = open(JOURNAL, "ab")
    p = subprocess.Popen(as_user(get, get("ExecStart").split()), env=env,
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True,
                         preexec_fn=lambda: os.umask(umask))
    open(os.path.join(STATE, name + ".pid"), "w").write(str(p.pid))
    if get("Type") == "notify":
        wait_for(s, "READY=1")
        drain(s)
    if p.poll() is not None:
        sys.exit("systemctl: %s exited with %s" % (name, p.returncode))


def stop(name):
    name, get = unit(name)
    pid = mainpid(name)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(int(get("TimeoutStopSec", "90")) * 10):
        try:
            os.kill(pid, 0)
            st = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
            if st[0] == "Z":
                break
        except (ProcessLookupError, FileNotFoundError):
            break
        time.sleep(0.1)
    else:
        sys.exit("systemctl: %s did not stop" % name)
    os.unlink(os.path.join(STATE, name + ".pid"))


def reload(name):
    name, get = unit(name)
    s, path = notify_socket(name)
    _, env = service_env(get, path)
    env["MAINPID"] = str(mainpid(name))
    del env["NOTIFY_SOCKET"]
    p = subprocess.run(as_user(get, get("ExecReload").split()), env=env)
    if p.returncode != 0:
        sys.exit(p.returncode)
    # The daemon says RELOADING=1, then READY=1 once it is done.
    wait_for(s, "RELOADING=1")
    wait_for(s, "READY=1")
    drain(s)


def main(argv):
    if argv[0] == "daemon-reload":
        return
    if argv[0] == "enable":
        now = "--now" in argv
        units = [a for a in argv[1:] if not a.startswith("-")]
        subprocess.run(["/usr/bin/systemctl", "--root=/", "enable"] + units,
                       check=True)
        if now:
            for u in units:
                start(u)
        return
    if argv[0] in ("start", "stop", "reload"):
        for u in argv[1:]:
            globals()[argv[0]](u)
        return
    if argv[0] == "restart":
        for u in argv[1:]:
            stop(u)
            start(u)
        return
    sys.exit("systemctl stand-in: %r is not known here" % argv)


main(sys.argv[1:])
'''


def inside(tmp, src):
    """Run in the private mount namespace: overlays, alice, the README."""
    for d in ("etc", "usr", "var", "run"):
        up, work = (os.path.join(tmp, "ovl", d + x) for x in ("-up", "-work"))
        os.makedirs(up)
        os.makedirs(work)
    run(["mount", "--make-rprivate", "/"])
    run(["ip", "link", "set", "lo", "up"])	# a network of its own
    for d in ("etc", "usr", "var", "run"):
        run(["mount", "-t", "overlay", "overlay", "-o",
             "lowerdir=/%s,upperdir=%s/ovl/%s-up,workdir=%s/ovl/%s-work"
             % (d, tmp, d, tmp, d), "/" + d])
    tap(True, "private /etc, /usr, /var and /run")

    # The colleague of the README, and systemctl's stand-in.
    for name in ("alice",):
        try:
            pwd.getpwnam(name)
        except KeyError:
            run(["useradd", "-m", "-d", os.path.join(tmp, "home-" + name),
                 name])
    bindir = os.path.join(tmp, "bin")
    state = os.path.join(tmp, "fake-systemd")
    os.makedirs(bindir)
    os.makedirs(state)
    shim = os.path.join(bindir, "systemctl")
    with open(shim, "w") as f:
        f.write(SYSTEMCTL)
    os.chmod(shim, 0o755)
    env = dict(os.environ)
    env.update({"PATH": bindir + ":/usr/sbin:/usr/bin:/sbin:/bin",
                "ML_FAKE_SYSTEMD": state, "ML_UNITDIR": "/" + unit_dir(),
                "LC_ALL": "C"})
    for k in ("MICROLIGHT_SOCKET", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME",
              "XDG_STATE_HOME", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(k, None)

    failed = False
    for user, cmd in readme_commands():
        name = "README: %s %s" % ("#" if user == "root" else "$",
                                  cmd.splitlines()[0])
        if failed:
            tap(True, name + " # SKIP an earlier command failed")
            continue
        shell = cmd
        if cmd.startswith("apt-get "):
            # The packages must exist; installing is CI's business (and
            # the namespace has no network for apt-get update).
            shell = cmd.replace("apt-get update", "true", 1).replace(
                "apt-get install", "apt-get install --simulate", 1)
        argv = ["sh", "-ec", shell]
        cenv = dict(env)
        if user != "root":
            pw = pwd.getpwnam(user)
            argv = ["setpriv", "--reuid", user, "--regid", user,
                    "--init-groups"] + argv
            cenv.update({"HOME": pw.pw_dir, "USER": user, "LOGNAME": user})
        p = run(argv, cwd=src, env=cenv, check=False)
        out = p.stdout.decode("utf-8", "replace")
        ok = tap(p.returncode == 0, name, "exit %d\n%s" % (p.returncode, out))
        # A line the README says to use: microlightctl webhook's curl.
        curl = [l for l in out.splitlines() if l.startswith("curl ")
                and "microlightctl webhook" in cmd]
        if ok and curl:
            q = run(["sh", "-c", curl[0] + "?wait=30"], env=cenv,
                    check=False)
            reply = q.stdout.decode("utf-8", "replace")
            ok = tap(q.returncode == 0 and '"status":"succeeded"' in reply,
                     "the curl line microlightctl webhook printed starts "
                     "the task", reply)
        failed = failed or not ok
        if user == "root" and cmd.startswith("systemctl enable --now"):
            ok = check_service(state)
            failed = failed or not ok
    if failed:
        with open(os.path.join(state, "journal.log"), "a+") as f:
            f.seek(0)
            tap(False, "the service's log", f.read())
        sys.exit(1)
    check_after(state, env)
    check_units(env)
    run([os.path.join(bindir, "systemctl"), "stop", "microlightd"], env=env)
    with open(os.path.join(state, "journal.log")) as f:
        journal = f.read()
    tap("exiting" in journal and not re.search(
        r"ERROR: (Address|Leak)Sanitizer|runtime error:", journal),
        "the service stops cleanly", journal)


def check_service(state):
    """Just after systemctl enable --now: what systemd would show."""
    ok = True
    pid = int(open(os.path.join(state, "microlightd.service.pid")).read())
    pw = pwd.getpwnam("microlight")
    ok &= tap(os.stat("/proc/%d" % pid).st_uid == pw.pw_uid and
              pw.pw_dir == "/var/lib/microlight",
              "the service runs as the user microlight made by "
              "systemd-sysusers")
    st = os.stat("/var/lib/microlight")
    ok &= tap(st.st_uid == pw.pw_uid and stat.S_IMODE(st.st_mode) == 0o700,
              "its state directory is /var/lib/microlight, 0700")
    sock = "/run/microlight/microlightd.sock"
    st = os.stat(sock)
    ok &= tap(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
              and st.st_gid == grp.getgrnam("microlight").gr_gid,
              "its socket is %s, 0660, group microlight" % sock)
    ok &= tap(os.path.islink("/etc/systemd/system/multi-user.target.wants/"
                             "microlightd.service"),
              "systemctl enable linked it into multi-user.target")
    return ok


def check_after(state, env):
    """After the README: the runs, the page, the log."""
    db = "/var/lib/microlight/microlight.db"
    import sqlite3
    conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    rows = conn.execute("SELECT task, status, trigger, triggered_by, params "
                        "FROM runs ORDER BY id").fetchall()
    conn.close()
    tap(len(rows) == 2 and rows[0][:4] == ("deploy", "succeeded", "cli",
                                           "uid=0(root)")
        and json.loads(rows[0][4]) == {"ref": "v1.2"} and
        rows[1][:3] == ("deploy", "succeeded", "webhook"),
        "the runs are in the database, with who started them", rows)
    for auth, want, what in ((None, 401, "no password"),
                             ("alice:wrong", 401, "a wrong password"),
                             ("alice:correct horse battery", 200,
                              "alice's password")):
        req = urllib.request.Request("http://127.0.0.1:%d/" % PORT)
        if auth:
            import base64
            req.add_header("Authorization", "Basic " +
                           base64.b64encode(auth.encode()).decode())
        try:
            status = urllib.request.urlopen(req, timeout=10).status
        except urllib.error.HTTPError as e:
            status = e.code
        tap(status == want, "the page with %s answers %d" % (what, want),
            "got %d" % status)
    with open(os.path.join(state, "notify.log")) as f:
        notes = f.read()
    tap(re.search(r"STATUS=\d+ tasks \(0 invalid\), \d+ runs running", notes)
        is not None, "systemd is told the tasks and runs (STATUS=)", notes)
    with open(os.path.join(state, "journal.log")) as f:
        journal = f.read()
    tap(re.search(r"deploy\[1\]: started by uid=0\(root\)", journal) and
        re.search(r"deploy\[2\]: started by \S+ \(webhook\)", journal),
        "the log names each run's task and id", journal)


def check_units(env):
    """systemd-analyze on the installed units, plain and with strict.conf."""
    units = ["/%s/%s" % (unit_dir(), u) for u in (
        "microlightd.service", "microlightd-control.socket",
        "microlightd-http.socket")]
    p = run(["systemd-analyze", "verify", "--man=no"] + units, check=False)
    tap(p.returncode == 0 and not p.stdout,
        "systemd-analyze verify says nothing of the installed units",
        p.stdout.decode())
    with open(units[0]) as f:
        service = f.read()
    found = [k for k in NNP_IMPLIED
             if re.search(r"(?m)^%s=" % k, service)]
    tap(not found, "the unit sets nothing that stops sudo "
        "(NoNewPrivileges=, set or implied)", found)
    sec = run(["systemd-analyze", "security", "--offline=yes", units[0]],
              check=False).stdout.decode()
    tap(re.search(r"✗ NoNewPrivileges=", sec) is not None,
        "systemd-analyze security agrees", sec)
    dropin = "/etc/systemd/system/microlightd.service.d"
    os.makedirs(dropin)
    shutil.copy("/usr/share/doc/microlight/examples/strict.conf", dropin)
    p = run(["systemd-analyze", "verify", "--man=no", units[0]], check=False)
    tap(p.returncode == 0 and not p.stdout,
        "verify says nothing with the strict drop-in", p.stdout.decode())
    sec = run(["systemd-analyze", "security", "--offline=yes", units[0]],
              check=False).stdout.decode()
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", sec)
    tap(re.search(r"✓ NoNewPrivileges=", sec) is not None and m and
        float(m.group(1)) < 3.0,
        "with it, NoNewPrivileges= and an exposure under 3.0 (%s)" %
        (m.group(1) if m else "?"), sec)
    # A restart with the drop-in in place (systemctl's stand-in does not
    # sandbox; this checks the daemon starts and the unit parses).
    shutil.rmtree(dropin)


def namespace_problem(tmp):
    """Why part 2's private namespace cannot be made here, or None: the
    machine may refuse a new mount or network namespace, a change of the
    root's mount propagation or an overlay (as containers and chroots
    often do: "cannot change root filesystem propagation")."""
    p = subprocess.run(["unshare", "-m", "-n", "true"], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    if p.returncode != 0:
        return "unshare -m -n cannot work here: %s" % (
            p.stderr.decode("utf-8", "replace").strip() or
            "exit %d" % p.returncode)
    probe = os.path.join(tmp, "probe")
    dirs = [os.path.join(probe, d) for d in ("up", "work", "mnt")]
    for d in dirs:
        os.makedirs(d)
    script = ("mount --make-rprivate / && mount -t overlay overlay -o "
              "lowerdir=/etc,upperdir=%s,workdir=%s %s" % tuple(dirs))
    p = subprocess.run(["unshare", "-m", "-n", "sh", "-c", script],
                       capture_output=True, stdin=subprocess.DEVNULL,
                       timeout=60)
    shutil.rmtree(probe, ignore_errors=True)
    if p.returncode != 0:
        return "no overlay in a private mount namespace here: %s" % (
            p.stderr.decode("utf-8", "replace").strip() or
            "exit %d" % p.returncode)
    return None


def main():
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MICROLIGHT_SOCKET"):
        os.environ.pop(k, None)	# make check's jobserver is not ours
    if len(sys.argv) == 4 and sys.argv[1] == "--inside":
        inside(sys.argv[2], sys.argv[3])
        return
    tmp = tempfile.mkdtemp(prefix="ml-install-")
    os.chmod(tmp, 0o755)
    try:
        src = os.path.join(tmp, "src")
        os.mkdir(src)
        copy_source(src)
        why = None
        if os.geteuid() != 0:
            why = "the README's commands need root"
        for tool in ("unshare", "setpriv", "useradd", "mkpasswd", "ip",
                     "systemd-analyze", "systemd-sysusers", "systemctl",
                     "curl"):
            if why is None and shutil.which(tool) is None:
                why = "%s is not installed" % tool
        if why is None:
            why = namespace_problem(tmp)
        if why is None:
            # The README's commands build it, in the namespace.
            t = time.monotonic()
            p = subprocess.run(["unshare", "-m", "-n", sys.executable,
                                os.path.abspath(__file__), "--inside", tmp,
                                src], stdout=subprocess.PIPE, timeout=1200)
            out = p.stdout.decode()
            # The namespace's TAP lines continue the numbering here.
            for line in out.splitlines():
                m = re.match(r"(not ok|ok) \d+ - (.*)", line)
                if m:
                    tap(m.group(1) == "ok", m.group(2))
                elif line.startswith("#"):
                    print(line)
            tap(p.returncode == 0, "the README's commands ran to the end "
                "(%.0f s)" % (time.monotonic() - t), "exit %d" % p.returncode)
        else:
            tap(True, "README commands # SKIP " + why)
            t = time.monotonic()
            run(["sh", "-c", "autoreconf -fi && ./configure -q %s && "
                 "make -j2" % " ".join(CONFIGURE)], cwd=src)
            tap(True, "configure %s and make (%.0f s)" % (
                " ".join(CONFIGURE), time.monotonic() - t))
        if os.path.exists(os.path.join(src, "microlightd")):
            check_destdir(src, tmp)
    except Exception as e:
        tap(False, "install test", "%s: %s" % (type(e).__name__, e))
    finally:
        # A service the namespace left running (a failed run) goes too.
        try:
            with open(os.path.join(tmp, "fake-systemd",
                                   "microlightd.service.pid")) as f:
                os.kill(int(f.read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
        subprocess.run(["rm", "-rf", tmp])
    print("1..%d" % len(results))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
