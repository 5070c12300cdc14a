#!/usr/bin/env python3
"""API tokens, the storage and control side (issue 15 point 3; SPEC
sections 5 and 8; microlightctl(1) `token`): `token create` prints a
secret once (stdout alone, so T=$(...) works), `token list` shows name,
creator, tasks, created, expires and last use but never a secret (also
with --json), the database and its WAL hold only the secret's SHA-256,
a taken name, an unknown task, a bad name or a bad --expires are refused
with nothing changed, `token revoke` removes a token at once, and tokens
survive a restart. The HTTP side (Authorization: Bearer) is tested with
the access model."""

import base64
import datetime
import hashlib
import pty
import pwd
import select

from harness import *

SECRET_RE = re.compile(r"^ml_[A-Za-z0-9_-]{43}$")
TOKEN_FIELDS = {"name", "creator", "tasks", "created_at", "expires_at",
                "last_used_at", "expired"}
USER = pwd.getpwuid(os.getuid()).pw_name
LIST_HEADER = ["NAME", "CREATOR", "TASKS", "CREATED", "EXPIRES", "LAST USED"]


def utc(s):
    """An RFC 3339 UTC time with milliseconds as a naive UTC datetime."""
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")


def secret_forms(secret):
    """The ways a secret could sit in a file: the text, and its 32 random
    bytes raw, in hex and in standard and URL-safe base64."""
    raw = base64.urlsafe_b64decode(secret[3:] + "=")
    assert len(raw) == 32, secret
    forms = [secret.encode(), secret[3:].encode(), raw,
             raw.hex().encode(), raw.hex().upper().encode(),
             base64.b64encode(raw), base64.b64encode(raw).rstrip(b"="),
             base64.urlsafe_b64encode(raw).rstrip(b"=")]
    return forms


class TokenTest(DaemonTest):
    TASKS = {"hello": "#!/bin/sh\n# Say hello.\necho hello\n",
             "deploy": "#!/bin/sh\n# Deploy.\necho deployed\n"}

    def create(self, name, *args, env=None):
        """token create: the secret, checked to be all of stdout."""
        p = self.d.ctl("token", "create", name, *args, env=env, check=0)
        out = p.stdout.decode()
        self.assertTrue(out.endswith("\n") and out.count("\n") == 1,
                        "stdout is not one line: %r" % out)
        secret = out[:-1]
        self.assertRegex(secret, SECRET_RE)
        self.assertEqual(p.stderr, b"", "not a terminal: nothing on stderr")
        return secret

    def tokens(self):
        """token list --json: the token objects."""
        replies = self.d.ctl_json("token", "list", check=0)
        self.assertEqual(len(replies), 1)
        self.assertIs(replies[0]["ok"], True)
        return replies[0]["tokens"]

    def rows(self):
        """The tokens table, by name."""
        with self.d.db() as db:
            return {r["name"]: dict(r) for r in
                    db.execute("SELECT * FROM tokens")}

    def table(self, env=None):
        """token list: the header and the rows, cells split on runs of
        two or more spaces (no cell has two spaces in a row)."""
        out = self.d.ctl("token", "list", env=env, check=0).stdout.decode()
        lines = out.splitlines()
        return [re.split(r"  +", line.rstrip()) for line in lines]


class Create(TokenTest):

    def test_secret_printed_once(self):
        secret = self.create("ci")
        other = self.create("ci2")
        self.assertNotEqual(secret, other)
        # Never again: not by list, list --json, the reply of a refused
        # second create, or the daemon's log.
        shown = [self.d.ctl("token", "list", check=0),
                 self.d.ctl("--json", "token", "list", check=0),
                 self.d.ctl("token", "create", "ci", check=EX_DATAERR),
                 self.d.ctl("token", "revoke", "ci2", check=0)]
        for p in shown:
            for s in (secret, other):
                for form in secret_forms(s):
                    self.assertNotIn(form, p.stdout + p.stderr)
        with open(self.d.log_path, "rb") as f:
            log = f.read()
        self.assertIn(b"token ci created by %s" % USER.encode(), log)
        for s in (secret, other):
            for form in secret_forms(s):
                self.assertNotIn(form, log)

    def test_json_reply(self):
        replies = self.d.ctl_json("token", "create", "ci", "--task",
                                  "hello", "--expires", "1d", check=0)
        self.assertEqual(len(replies), 1)
        tok = replies[0]["token"]
        self.assertIs(replies[0]["ok"], True)
        self.assertEqual(set(tok), TOKEN_FIELDS | {"secret"})
        self.assertRegex(tok["secret"], SECRET_RE)
        self.assertEqual((tok["name"], tok["creator"], tok["tasks"]),
                         ("ci", USER, ["hello"]))
        self.assertEqual(utc(tok["expires_at"]) - utc(tok["created_at"]),
                         datetime.timedelta(days=1))
        self.assertIsNone(tok["last_used_at"])
        self.assertIs(tok["expired"], False)
        # What was stored is what was shown, but the secret.
        del tok["secret"]
        self.assertEqual(self.tokens(), [tok])

    def test_terminal_note(self):
        """On a terminal, a note on stderr that the secret is shown only
        this once; stdout is still the secret alone."""
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen(
                [MICROLIGHTCTL, "-s", self.d.socket, "token", "create",
                 "tty"], stdout=slave, stderr=subprocess.PIPE,
                env=ctl_env(), stdin=subprocess.DEVNULL)
            os.close(slave)
            slave = None
            out = b""
            while True:
                r, _, _ = select.select([master], [], [], 30)
                if not r:
                    break
                try:
                    chunk = os.read(master, 65536)
                except OSError:     # EIO: the other side is closed
                    break
                if not chunk:
                    break
                out += chunk
            err = proc.stderr.read()
            proc.stderr.close()
            self.assertEqual(proc.wait(30), 0)
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 1, out)
        self.assertRegex(lines[0], SECRET_RE)
        self.assertIn(b"only time the secret is shown", err)
        self.assertNotIn(lines[0].encode(), err)

    def test_tasks_kept_in_order_once(self):
        self.create("two", "--task", "deploy", "--task", "hello", "--task",
                    "deploy")
        self.assertEqual(self.tokens()[0]["tasks"], ["deploy", "hello"])
        self.assertEqual(json.loads(self.rows()["two"]["tasks"]),
                         ["deploy", "hello"])

    def test_names(self):
        """1 to 64 of [A-Za-z0-9._-]; a name that getopt would take for
        an option comes after --."""
        ok = ["a", "A.b_c-9", "x" * 64, "ci.deploy-2026_12", "-"]
        for name in ok:
            self.create(name)
        self.create("--", "-x")
        for name in ("", "bad name", "a/b", "x" * 65, "\u00e9", "a\tb",
                     "a:b", "a\x1b[31m"):
            p = self.d.ctl("token", "create", name, check=EX_USAGE)
            self.assertEqual(p.stdout, b"", name)
            self.assertIn(b"a token name is 1 to 64 letters", p.stderr)
        self.assertEqual(sorted(self.rows()), sorted(ok + ["-x"]))


class Refused(TokenTest):
    """A refused create changes nothing and prints no secret."""

    def refuse(self, status, message, *args):
        before = self.rows()
        p = self.d.ctl("token", "create", *args, check=status)
        self.assertEqual(p.stdout, b"")
        self.assertIn(message.encode(), p.stderr)
        self.assertEqual(self.rows(), before)
        return p

    def test_name_taken(self):
        self.create("ci", "--task", "hello")
        before = self.rows()
        self.refuse(EX_DATAERR, "a token named 'ci' exists already", "ci")
        self.refuse(EX_DATAERR, "exists already", "ci", "--task", "deploy",
                    "--expires", "1h")
        self.assertEqual(self.rows(), before)
        self.assertEqual(len(self.tokens()), 1)
        reply = self.d.request({"cmd": "token", "action": "create",
                                "name": "ci"})
        self.assertEqual(reply["error"]["code"], "token-exists")

    def test_unknown_task(self):
        self.refuse(EX_DATAERR, "no task named 'nope'", "t", "--task",
                    "nope")
        self.refuse(EX_DATAERR, "no task named 'nope'", "t", "--task",
                    "hello", "--task", "nope")
        self.assertEqual(self.rows(), {})
        reply = self.d.request({"cmd": "token", "action": "create",
                                "name": "t", "tasks": ["nope"]})
        self.assertEqual(reply["error"]["code"], "unknown-task")

    def test_bad_expires(self):
        for bad in ("3x", "0", "-5m", "", "1y", "h", "1d2", "11000d"):
            self.refuse(EX_USAGE, "expires", "t", "--expires", bad)
        self.assertEqual(self.rows(), {})

    def test_protocol_members(self):
        """Each action takes only its own members; tasks is a non-empty
        array of strings."""
        cases = [
            ({"action": "list", "name": "x"}, "does not take"),
            ({"action": "revoke", "name": "x", "tasks": ["hello"]},
             "does not take"),
            ({"action": "revoke"}, "missing"),
            ({"action": "create"}, "missing"),
            ({"action": "create", "name": "x", "tasks": []}, "non-empty"),
            ({"action": "create", "name": "x", "tasks": "hello"},
             "non-empty"),
            ({"action": "create", "name": "x", "tasks": ["hello", 1]},
             "array of strings"),
            ({"action": "create", "name": "x", "expires": 30},
             "must be a string"),
            ({"action": "frob"}, "create, list or revoke"),
            ({}, "missing"),
            ({"action": "list", "secret": "x"}, "does not take"),
        ]
        for req, message in cases:
            reply = self.d.request(dict(req, cmd="token"))
            self.assertIs(reply["ok"], False, req)
            self.assertEqual(reply["error"]["code"], "usage", req)
            self.assertIn(message, reply["error"]["message"], req)
        self.assertEqual(self.rows(), {})

    def test_usage(self):
        for args in (["token"], ["token", "create"], ["token", "frob"],
                     ["token", "list", "x"], ["token", "revoke"],
                     ["token", "revoke", "a", "b"],
                     ["token", "create", "a", "b"],
                     ["token", "create", "a", "--task"],
                     ["token", "create", "a", "--bogus"]):
            p = self.d.ctl(*args, check=EX_USAGE)
            self.assertEqual(p.stdout, b"", args)
            self.assertIn(b"usage: microlightctl token create NAME", p.stderr,
                          args)
        self.assertEqual(self.rows(), {})
        forms = ("token create NAME [--task TASK ...] [--expires DURATION]",
                 "token list", "token revoke NAME")
        out = self.d.ctl("--help", check=0).stdout.decode()
        for form in forms:
            self.assertIn("\n  %s\n" % form, out)
        # help token: the three forms, what they do, the options.
        p = self.d.ctl("help", "token", check=0, sock=False)
        out = p.stdout.decode()
        self.assertEqual(out.splitlines()[:3],
                         ["usage: microlightctl " + forms[0],
                          "       microlightctl " + forms[1],
                          "       microlightctl " + forms[2]])
        for word in ("--task TASK", "--expires DUR", "only its SHA-256",
                     "Authorization: Bearer"):
            self.assertIn(word, out)
        self.assertEqual(p.stderr, b"")
        p = self.d.ctl("help", "tokens", check=EX_USAGE, sock=False)
        self.assertIn(b"unknown command 'tokens'", p.stderr)


class List(TokenTest):

    def test_columns(self):
        self.create("ci", "--task", "hello", "--task", "deploy",
                    "--expires", "30d")
        self.create("all")
        toks = self.tokens()
        self.assertEqual([t["name"] for t in toks], ["all", "ci"])
        for t in toks:
            self.assertEqual(set(t), TOKEN_FIELDS, t)
            self.assertEqual(t["creator"], USER)
            self.assertIsNone(t["last_used_at"])
            self.assertIs(t["expired"], False)
        everything, ci = toks
        self.assertIsNone(everything["tasks"])
        self.assertIsNone(everything["expires_at"])
        self.assertEqual(ci["tasks"], ["hello", "deploy"])
        self.assertEqual(utc(ci["expires_at"]) - utc(ci["created_at"]),
                         datetime.timedelta(days=30))

        # Local times: the same instants, nine hours on in Tokyo.
        for tz, hours in (("UTC", 0), ("Asia/Tokyo", 9)):
            table = self.table(env={"TZ": tz})
            self.assertEqual(table[0], LIST_HEADER)
            rows = {r[0]: r for r in table[1:]}
            self.assertEqual(sorted(rows), ["all", "ci"])
            shift = datetime.timedelta(hours=hours)
            for t in toks:
                row = rows[t["name"]]
                self.assertEqual(len(row), 6, row)
                created = utc(t["created_at"]).replace(microsecond=0)
                self.assertEqual(row[1], USER)
                self.assertEqual(row[3], str(created + shift))
                self.assertEqual(row[5], "-")
            self.assertEqual(rows["all"][2], "(all)")
            self.assertEqual(rows["all"][4], "never")
            self.assertEqual(rows["ci"][2], "hello,deploy")
            self.assertEqual(
                rows["ci"][4],
                str(utc(ci["expires_at"]).replace(microsecond=0) + shift))

    def test_empty(self):
        self.assertEqual(self.tokens(), [])
        self.assertEqual(self.table(), [LIST_HEADER])

    def test_expired_shown(self):
        self.create("short", "--expires", "1s")
        tok = self.d.wait_for(
            lambda: [t for t in self.tokens() if t["expired"]],
            what="the token to expire")[0]
        self.assertEqual(utc(tok["expires_at"]) - utc(tok["created_at"]),
                         datetime.timedelta(seconds=1))
        row = self.table(env={"TZ": "UTC"})[1]
        self.assertEqual(row[4], "%s (expired)" % utc(
            tok["expires_at"]).replace(microsecond=0))
        # Listed until revoked, and revoked like any other.
        self.d.ctl("token", "revoke", "short", check=0)
        self.assertEqual(self.tokens(), [])


class Storage(TokenTest):

    def files(self):
        """The bytes of the database and of whatever lies beside it."""
        data = {}
        for name in os.listdir(self.d.state_dir):
            if name.startswith("microlight.db"):
                with open(os.path.join(self.d.state_dir, name), "rb") as f:
                    data[name] = f.read()
        return data

    def assert_no_secret(self, secrets):
        files = self.files()
        self.assertIn("microlight.db", files)
        for name, data in files.items():
            for s in secrets:
                for form in secret_forms(s):
                    self.assertNotIn(form, data, "%s holds %r of the "
                                     "secret" % (name, form))
        return files

    def test_only_the_hash_is_stored(self):
        secrets = [self.create("t%d" % i) for i in range(3)]
        rows = self.rows()
        for i, s in enumerate(secrets):
            row = rows["t%d" % i]
            self.assertIsInstance(row["hash"], bytes)
            self.assertEqual(row["hash"], hashlib.sha256(s.encode())
                             .digest())
        # While the daemon runs, the new rows are in the WAL: the hash is
        # there, the secret is not.
        files = self.assert_no_secret(secrets)
        self.assertTrue(any(rows["t0"]["hash"] in d
                            for d in files.values()),
                        "the hash is not in the files read")
        self.d.stop()       # checkpoints and removes the WAL
        files = self.assert_no_secret(secrets)
        self.assertIn(rows["t0"]["hash"], files["microlight.db"])

    def test_revoked_leaves_no_secret(self):
        secret = self.create("gone")
        self.d.ctl("token", "revoke", "gone", check=0)
        self.d.stop()
        self.assert_no_secret([secret])

    def test_survives_restart(self):
        self.create("ci", "--task", "hello", "--expires", "7d")
        self.create("all")
        listed, rows = self.tokens(), self.rows()
        self.d.stop()
        self.d.start()
        self.assertEqual(self.tokens(), listed)
        self.assertEqual(self.rows(), rows)
        # And they are still tokens: revoked, created again, refused.
        self.d.ctl("token", "revoke", "all", check=0)
        self.d.ctl("token", "create", "ci", check=EX_DATAERR)


class Revoke(TokenTest):

    def test_revoke_at_once(self):
        self.create("a", "--task", "hello")
        self.create("b")
        old = self.rows()["a"]["hash"]
        p = self.d.ctl("token", "revoke", "a", check=0)
        self.assertEqual(p.stdout, b"token a revoked\n")
        # Gone from the list and the table at once: no later write.
        self.assertEqual([t["name"] for t in self.tokens()], ["b"])
        rows = self.rows()
        self.assertEqual(sorted(rows), ["b"])
        with self.d.db() as db:
            self.assertEqual(db.execute("SELECT count(*) FROM tokens WHERE "
                                        "hash = ?", (old,)).fetchone()[0], 0)
        self.assertIn("token a revoked", self.d.log_text())
        # A second revoke, or one of a name never made: 65, nothing
        # changed.
        for name in ("a", "never"):
            p = self.d.ctl("token", "revoke", name, check=EX_DATAERR)
            self.assertIn(("no token named '%s'" % name).encode(), p.stderr)
        self.assertEqual(self.rows(), rows)
        # The name is free again, with a new secret.
        self.create("a")
        self.assertNotEqual(self.rows()["a"]["hash"], old)

    def test_json_reply(self):
        self.create("a", "--task", "deploy")
        listed = self.tokens()[0]
        replies = self.d.ctl_json("token", "revoke", "a", check=0)
        self.assertEqual(replies, [{"ok": True, "token": listed}])
        replies = self.d.ctl_json("token", "revoke", "a", check=EX_DATAERR)
        self.assertEqual(replies[0]["error"]["code"], "unknown-token")


if __name__ == "__main__":
    main()
