#!/usr/bin/env python3
"""Terminal escapes (SPEC section 5, issue 12 point 6; microlightctl(1)):
what a task file or a remote caller controls -- parameter values given on
the command line or to a webhook, descriptions, @param labels, defaults and
choices, @env and @workdir texts, the errors of an invalid task, a task
file's name, the daemon's error messages that quote them -- reaches the
operator's terminal from `status`, `show`, `list`, `runs` and `run` with
its control characters (C0, DEL and the C1 range U+0080-U+009F, which some
terminals take as CSI) made visible (\\033, \\007, \\302\\233), valid UTF-8
text as it is, and columns still aligned; `--json` stays exact JSON with the
exact strings; `logs` and `run --follow` still give a task's output byte
for byte, escapes included."""

from harness import *
from test_cli import columns_aligned
from test_http import HttpTest


# A value that would set the terminal's title, clear the screen, start a
# C1 CSI sequence, rub out and return to the start of the line, and add a
# line of its own, around text that must stay readable.
OSC = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
C1_CSI = "\u009b31m"
UTF8 = "Gr\u00fc\u00dfe \u65e5\u672c"
VALUE = OSC + CLEAR + C1_CSI + "x\x7f\r\b\nspoofed: yes\t" + UTF8

# The visible forms.
V_OSC = b"\\033]0;pwned\\007"
V_CLEAR = b"\\033[2J"
V_C1 = b"\\302\\23331m"
V_DEL = b"\\177"

# A task whose header texts carry escapes, and which prints them.
EVIL = (b"#!/bin/sh\n"
        b"# Evil \x1b]0;desc\x07\x1b[2J \xc2\x9b31m " + UTF8.encode() +
        b"\n"
        b"#\n"
        b"# @param key \"Label \x1b[31mred\x07\" default=\"d\x1b[1m\"\n"
        b"# @param mode choice(a\x1b[5m,b) default=b\n"
        b"# @param greeting \"Hello " + UTF8.encode() + b"\" default=" +
        UTF8.split()[0].encode() + b"\n"
        b"# @env EVIL=\x1b]0;env\x07\n"
        b"printf '\\033]0;out\\007\\033[2J\\302\\233x\\177\\n'\n")
EVIL_OUTPUT = b"\x1b]0;out\x07\x1b[2J\xc2\x9bx\x7f\n"

# A task that cannot run, for its working directory's name.
ODD = (b"#!/bin/sh\n"
       b"# Odd.\n"
       b"# @workdir /nonexistent/\x1b[2J\xc2\x85dir\n"
       b"exit 0\n")

# An invalid task whose errors quote what it says.
BAD = (b"#!/bin/sh\n"
       b"# Bad.\n"
       b"# @timeout \x1b]0;bad\x07\n"
       b"# @schedule \x1b[2J\n"
       b"exit 0\n")

# A task file whose name is not a task name.
BAD_NAME = b"x\x1b[2Jy.sh"


def raw_controls(data):
    """The raw control bytes a terminal would act on in data: C0 but
    newline and tab, DEL, and C1 as UTF-8 (or as lone bytes, which are
    not UTF-8 at all)."""
    found = [b for b in set(data) if (b < 0x20 and b not in b"\n\t") or
             b == 0x7f]
    found += re.findall(rb"\xc2[\x80-\x9f]", data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        found.append("not UTF-8: %s" % e)
    return found


def json_clean(data):
    """--json output: the daemon's lines as they came, which jansson
    wrote with every C0 control escaped and, ASCII only, every other code
    point too. (It leaves DEL as it is: valid JSON, and nothing a terminal
    acts on.)"""
    return [b for b in raw_controls(data) if b != 0x7f]


class Escapes(unittest.TestCase):
    """A daemon whose tasks.d holds the files above (written as bytes)."""

    def setUp(self):
        self.d = Daemon(config="kill-grace 2s\n", start=False)
        self.addCleanup(self.d.cleanup)
        for name, body in ((b"evil.sh", EVIL), (b"odd.sh", ODD),
                           (b"bad.sh", BAD), (BAD_NAME, BAD)):
            path = os.path.join(os.fsencode(self.d.tasks_dir), name)
            with open(path, "wb") as f:
                f.write(body)
            os.chmod(path, 0o755)
        self.d.start()

    def visible(self, data, *forms):
        """data has no raw control and has each of the visible forms."""
        self.assertEqual(raw_controls(data), [], data)
        for form in forms:
            self.assertIn(form, data)

    def ctl(self, *args, check=0):
        p = self.d.ctl(*args, check=check)
        self.visible(p.stderr)
        return p

    def test_status_of_run_with_hostile_parameter(self):
        p = self.ctl("run", "evil", "key=" + VALUE, "--wait")
        run_id = int(p.stdout.split(b"\n", 1)[0])
        out = self.ctl("status", run_id).stdout
        self.visible(out, V_OSC + V_CLEAR + V_C1 + b"x" + V_DEL,
                     UTF8.encode())
        lines = out.decode().splitlines()
        self.assertEqual([l for l in lines if l.startswith("spoofed")], [])
        self.assertEqual(len([l for l in lines
                              if l.startswith("parameters:")]), 1, out)
        self.assertIn("key=", out.decode())
        # --json: exact JSON (jansson escapes controls), exact string.
        p = self.ctl("--json", "status", run_id)
        self.assertEqual(json_clean(p.stdout), [], p.stdout)
        reply = json.loads(p.stdout)
        self.assertEqual(reply["run"]["params"]["key"], VALUE)

    def test_show_task_texts(self):
        out = self.ctl("show", "evil").stdout
        self.visible(out, b"\\033]0;desc\\007\\033[2J \\302\\23331m " +
                     UTF8.encode(), b"Label \\033[31mred\\007",
                     b"d\\033[1m", b"choice(a\\033[5m,b)",
                     b"EVIL=\\033]0;env\\007", b"Hello " + UTF8.encode())
        text = out.decode()
        params = text.split("parameters:\n", 1)[1].split("\n\n", 1)[0]
        _, rows = columns_aligned(params)
        byname = {r[0]: r for r in rows}
        self.assertEqual(byname["key"], ["key", "string", "d\\033[1m",
                                         "no", "Label \\033[31mred\\007"])
        self.assertEqual(byname["greeting"],
                         ["greeting", "string", UTF8.split()[0], "no",
                          "Hello " + UTF8])
        self.assertEqual(byname["mode"][:4],
                         ["mode", "choice(a\\033[5m,b)", "b", "no"])
        out = self.ctl("show", "odd").stdout
        self.visible(out, b"/nonexistent/\\033[2J\\302\\205dir")
        p = self.ctl("--json", "show", "evil")
        self.assertEqual(json_clean(p.stdout), [], p.stdout)
        task = json.loads(p.stdout)["task"]
        self.assertEqual(task["description"],
                         "Evil \x1b]0;desc\x07\x1b[2J \u009b31m " + UTF8)
        self.assertEqual(task["env"], ["EVIL=\x1b]0;env\x07"])

    def test_invalid_tasks_in_list_and_show(self):
        out = self.ctl("list").stdout
        # list marks them invalid; their errors are show's.
        self.visible(out, b"x\\033[2Jy.sh")
        table = "".join(out.decode().splitlines(True)[:-1])
        _, rows = columns_aligned(table)
        names = [r[0] for r in rows]
        self.assertIn("x\\033[2Jy.sh", names)
        self.assertIn("evil", names)
        out = self.ctl("show", "bad").stdout
        self.visible(out, b"'\\033]0;bad\\007'", b"'\\033[2J'")

    def test_daemon_errors_quoting_the_caller(self):
        p = self.ctl("run", "evil", CLEAR + "=1", check=EX_DATAERR)
        self.assertIn(V_CLEAR, p.stderr)
        p = self.ctl("run", "evil", "mode=" + OSC, check=EX_DATAERR)
        self.assertIn(V_OSC, p.stderr)
        self.assertEqual(self.d.request({"cmd": "runs"})["runs"], [])

    def test_run_end_line_and_runs(self):
        # A run that cannot start: its end line on stderr, its reason.
        p = self.ctl("run", "odd", "--wait", check=1)
        self.assertIn(b"failed", p.stderr)
        self.ctl("run", "evil", "key=" + VALUE, "--wait")
        for args, status in ((["runs"], b"  failed  "),
                             (["runs", "evil"], b"  succeeded  "),
                             (["runs", "odd"], b"  failed  ")):
            out = self.ctl(*args).stdout
            self.visible(out)
            self.assertIn(status, out)

    def test_logs_byte_for_byte(self):
        p = self.ctl("run", "evil", "key=" + VALUE, "--follow")
        self.assertEqual(p.stdout, EVIL_OUTPUT)
        run_id = int(p.stderr.split()[1])
        self.assertEqual(self.d.logs(run_id), EVIL_OUTPUT)
        self.assertEqual(self.d.logs(run_id, "--stream", "stdout"),
                         EVIL_OUTPUT)


class WebhookEscapes(HttpTest):
    """A parameter value from a remote caller, through a webhook."""

    SECRET = "escapes-secret-0123456789abcdef"
    CONFIG = "kill-grace 2s\nwebhook-secret hook %s\n" % SECRET
    TASKS = {
        "hook.sh": "#!/bin/sh\n# Takes a note.\n# @webhook\n"
                   "# @param note string\nexit 0\n",
    }

    def test_status_of_webhook_run(self):
        r = self.d.http("POST", "/hooks/hook", body={"note": VALUE},
                        headers={"Authorization": "Bearer " + self.SECRET})
        self.assertEqual(r.status, 202, r)
        run_id = r.json()["run_id"]
        self.d.wait_status(run_id, "succeeded")
        p = self.d.ctl("status", run_id, check=0)
        self.assertEqual(raw_controls(p.stdout), [], p.stdout)
        self.assertIn(b"note=" + V_OSC + V_CLEAR + V_C1, p.stdout)
        self.assertIn(UTF8.encode(), p.stdout)
        reply = json.loads(self.d.ctl("--json", "status", run_id,
                                      check=0).stdout)
        self.assertEqual(reply["run"]["params"]["note"], VALUE)
        for args in (["runs"], ["list"], ["show", "hook"]):
            out = self.d.ctl(*args, check=0).stdout
            self.assertEqual(raw_controls(out), [], out)


if __name__ == "__main__":
    main()
