#!/usr/bin/env python3
"""The manual pages document what the programs accept, no more, no less
(issue 6, part 4). Prints TAP.

What is accepted is read from the built programs wherever that can be
done without side effects, and from the source tables otherwise; the
source is also parsed as a cross-check of the programs:

- microlightd's options: every letter a-z, A-Z, 0-9 (and every long
  option of its option table) is tried as `microlightd -X -V -h` and
  `microlightd -X -h -V`. getopt refuses an unknown option at once; an
  accepted one never starts a daemon, because -V or -h, which exit at
  once, always follows it, and which of the two ran tells whether the
  option took an argument.
- microlightctl's global options: the same way.
- microlightctl's commands: from the list `microlightctl -h` prints (the
  lines indented by two; what each does is indented by six); each
  command's options are tried as `microlightctl -s NOSOCKET COMMAND -X`
  (no daemon is reached: the socket does not exist), where getopt says
  whether it refuses the option or misses its argument; the source of
  its options is its function in ctl_cmds[], in whichever file of cli/
  has it. A command with actions (`token create`, `token list`: a
  lower-case word after the command's) is checked per action, its
  options read from the function COMMAND_ACTION (token_create) and its
  page entry being `.It Cm COMMAND ACTION`.
- microlight.conf keys: a file with every key to try, one per line and
  without a value, checked by `microlightd -n`, which reports "unknown
  key" or "needs a value" for each line.
- task-file directives: one task file per directive, each given twice
  without an argument, checked by `microlightd -n`: "unknown directive",
  an error on the first line (it needs an argument), "already given" on
  the second (it may not repeat).

The pages: SYNOPSIS and the `.It Fl` entries of DESCRIPTION (or OPTIONS)
for the programs' options; the `.It` entries of COMMANDS for
microlightctl's commands, with the options in their heads (and in lists
nested in them); the `.It Cm key` entries of KEYS in microlight.conf(5)
(and of CONFIGURATION in microlightd(8)); the `.It Cm @name` entries of
DIRECTIVES in microlight-tasks(5).

Run as: ML_BUILDDIR=builddir ML_SRCDIR=srcdir python3 tests/man-options.py
ML_MANDIR overrides the directory of the pages (to try a doctored page).
"""

import os
import re
import shutil
import signal
import string
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILDDIR = os.environ.get("ML_BUILDDIR") or os.path.dirname(HERE)
SRCDIR = os.environ.get("ML_SRCDIR") or os.path.dirname(HERE)
MANDIR = os.environ.get("ML_MANDIR") or os.path.join(SRCDIR, "man")
MICROLIGHTD = os.path.join(BUILDDIR, "microlightd")
MICROLIGHTCTL = os.path.join(BUILDDIR, "microlightctl")

LETTERS = string.ascii_letters + string.digits

# The sections every page has, in the order of mdoc(7).
REQUIRED_SECTIONS = ["SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", "FILES",
                     "EXIT STATUS", "EXAMPLES", "SEE ALSO"]


# ---------------------------------------------------------------- TAP

class Tap:
    def __init__(self):
        self.results = []

    def check(self, name, problems, notes=()):
        """One test case: it passes when problems is an empty list. Notes
        are printed as comments after it, whatever its result."""
        self.results.append((name, list(problems), list(notes)))

    def finish(self):
        print("1..%d" % len(self.results))
        failed = 0
        for n, (name, problems, notes) in enumerate(self.results, 1):
            if problems:
                failed += 1
                print("not ok %d - %s" % (n, name))
                for p in problems:
                    for line in str(p).splitlines():
                        print("# " + line)
            else:
                print("ok %d - %s" % (n, name))
            for note in notes:
                print("# " + note)
        sys.stdout.flush()
        return 1 if failed else 0


# ---------------------------------------------------------- programs

class Sandbox:
    """A temporary directory that the programs take for their home, XDG
    directories and current directory, so that nothing they might do
    lands anywhere else."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ml-man-options-")
        for d in ("home", "config", "state", "runtime", "cwd", "tasks"):
            os.mkdir(os.path.join(self.dir, d), 0o700)
        self.nosocket = os.path.join(self.dir, "runtime", "no-such.sock")
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("MICROLIGHT_", "XDG_", "LISTEN_",
                                         "WATCHDOG_", "LC_"))
                    and k not in ("POSIXLY_CORRECT", "NOTIFY_SOCKET",
                                  "LANG", "LANGUAGE")}
        self.env.update({
            "LC_ALL": "C",          # getopt's messages in English
            "HOME": os.path.join(self.dir, "home"),
            "XDG_CONFIG_HOME": os.path.join(self.dir, "config"),
            "XDG_STATE_HOME": os.path.join(self.dir, "state"),
            "XDG_RUNTIME_DIR": os.path.join(self.dir, "runtime"),
            "MICROLIGHT_SOCKET": self.nosocket,
        })

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def run(self, argv, timeout=20):
        """Run argv; returns (status, stdout, stderr) as text. A program
        still running at the timeout is killed with its process group."""
        p = subprocess.Popen(argv, cwd=self.path("cwd"), env=self.env,
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            return (None, out.decode("utf-8", "replace"),
                    err.decode("utf-8", "replace"))
        return (p.returncode, out.decode("utf-8", "replace"),
                err.decode("utf-8", "replace"))

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


REFUSED_RE = re.compile(r"invalid option|unrecognized option|"
                        r"is ambiguous|doesn't allow an argument")
NEEDS_ARG_RE = re.compile(r"requires an argument")


def probe_exiting(box, prog, candidates):
    """Options of a program whose -V prints its version and -h its usage,
    both exiting 0 at once. Returns ({option: takes_argument}, problems)."""
    name = os.path.basename(prog)
    problems = []

    def kind(argv):
        rc, out, err = box.run([prog] + argv)
        first = out.splitlines()[0] if out else ""
        if rc == 0 and first.startswith(name + " "):
            return "version"
        if rc == 0 and first.startswith("usage:"):
            return "usage"
        if rc not in (0, None) and REFUSED_RE.search(err):
            return "refused"
        return "other (status %s, stdout %r, stderr %r)" % (
            rc, out[:200], err[:200])

    if kind(["-V"]) != "version" or kind(["-h"]) != "usage":
        return {}, ["%s -V must print the version and %s -h the usage, "
                    "both exiting 0, for the options to be probed: got %s "
                    "and %s" % (name, name, kind(["-V"]), kind(["-h"]))]
    accepted = {}
    for opt in candidates:
        a = kind([opt, "-V", "-h"])
        b = kind([opt, "-h", "-V"])
        if a == "refused" and b == "refused":
            continue
        if a == b and a in ("version", "usage"):
            accepted[opt] = False       # the option itself exits
        elif a == "version" and b == "usage":
            accepted[opt] = False
        elif a == "usage" and b == "version":
            accepted[opt] = True        # it took the next word
        else:
            problems.append("%s %s: cannot tell: %s / %s" % (
                name, opt, a, b))
    return accepted, problems


def probe_command(box, command, candidates):
    """The options of one microlightctl command (or "command action"), as
    getopt sees them. Returns ({option: takes_argument}, uses_getopt,
    problems)."""
    base = [MICROLIGHTCTL, "-s", box.nosocket] + command.split()
    rc, out, err = box.run(base + ["--no-such-option-probe"])
    if not REFUSED_RE.search(err):
        # No getopt: every word is an operand, the command takes no option.
        return {}, False, []
    accepted, problems = {}, []
    for opt in candidates:
        rc, out, err = box.run(base + [opt])
        if rc is None:
            problems.append("microlightctl %s %s did not exit" % (
                command, opt))
        elif REFUSED_RE.search(err):
            continue
        elif NEEDS_ARG_RE.search(err):
            accepted[opt] = True
        else:
            accepted[opt] = False
    return accepted, True, problems


# -------------------------------------------------------------- C source

def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def strip_comments(src):
    """C source without its comments (strings and characters kept)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            i = n if j == -1 else j + 2
            out.append(" ")
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j == -1 else j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def braced(src, start):
    """The text between the brace at src[start] and its match."""
    depth, i = 0, start
    while i < len(src):
        c = src[i]
        if c in "\"'":
            j = i + 1
            while j < len(src) and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            i = j
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return src[start + 1:i]
        i += 1
    raise ValueError("unbalanced braces")


def c_table(src, name):
    """The initialiser of the array `name[] = { ... }`."""
    m = re.search(r"\b%s\s*\[\s*\]\s*=\s*\{" % re.escape(name), src)
    if m is None:
        raise ValueError("no table %s[]" % name)
    return braced(src, m.end() - 1)


def c_function(src, name):
    """The body of function `name` (definition at the start of a line)."""
    m = re.search(r"^%s\s*\([^;{]*\)\s*\{" % re.escape(name), src, re.M)
    if m is None:
        raise ValueError("no function %s()" % name)
    return braced(src, m.end() - 1)


def c_strings(text):
    """Adjacent C string literals, concatenated."""
    return "".join(bytes(s, "utf-8").decode("unicode_escape")
                   for s in re.findall(r'"((?:[^"\\]|\\.)*)"', text))


STRINGS = r'(?:"(?:[^"\\]|\\.)*"\s*)+'


def c_options(src, body):
    """The options that the getopt/getopt_long calls of a function body
    accept: ({option: takes_argument}, {option: alias}), where an alias
    is the short option a long one returns."""
    options, aliases = {}, {}
    calls = re.findall(r"getopt(?:_long)?\s*\(\s*\w+\s*,\s*\w+\s*,\s*(%s)"
                       r"(?:\s*,\s*(\w+))?" % STRINGS, body)
    for optstring, table in calls:
        optstring = c_strings(optstring).lstrip("+-")
        shorts = {}
        for i, ch in enumerate(optstring):
            if ch == ":":
                continue
            shorts[ch] = optstring[i + 1:i + 2] == ":"
            options["-" + ch] = shorts[ch]
        if not table:
            continue
        try:
            init = c_table(strip_comments(body), table)
        except ValueError:
            init = c_table(src, table)
        for lname, has_arg, val in re.findall(
                r'\{\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*[^,]+,\s*([^}\s]+)\s*\}',
                init):
            options["--" + lname] = has_arg == "required_argument"
            m = re.fullmatch(r"'(.)'", val)
            if m and m.group(1) in shorts:
                aliases["--" + lname] = "-" + m.group(1)
    # Words compared by hand after the operands ("--wait" in run).
    for word in re.findall(r'strcmp\s*\(\s*argv\s*\[\s*\w+\s*\]\s*,\s*'
                           r'"(--?[A-Za-z0-9][\w-]*)"\s*\)', body):
        options.setdefault(word, False)
    return options, aliases


# ------------------------------------------------------------------ mdoc

MACROS = set("""Ac Ad An Ao Ap Aq Ar At Bc Bf Bo Bq Brc Bro Brq Bsx Bx Cd Cm
Dc Do Dq Dv Dx Ec Em En Eo Er Es Ev Fa Fc Fl Fn Fo Fr Fx Hf Ic In Lb Li Lk
Ms Mt Nm No Ns Nx Oc Oo Op Ot Ox Pa Pc Pf Po Pq Qc Ql Qo Qq Qt Sc So Sq St
Sx Sy Ta Tn Ux Va Vt Xc Xo Xr""".split())
DELIMITERS = set("| , . ; : ( ) [ ] ? !".split())


def tokens(line):
    """The words of a macro line, without its leading dot."""
    words, i, line = [], 0, line[1:]
    while i < len(line):
        if line[i] in " \t":
            i += 1
        elif line[i] == '"':
            j = line.find('"', i + 1)
            j = len(line) if j == -1 else j
            words.append(line[i + 1:j])
            i = j + 1
        else:
            j = i
            while j < len(line) and line[j] not in " \t":
                j += 1
            words.append(line[i:j])
            i = j
    return words


def plain(word):
    return word.replace("\\&", "").replace("\\-", "-")


class Item:
    def __init__(self, lineno, head):
        self.lineno = lineno
        self.head = head        # tokens after "It", Xo...Xc joined
        self.body = []          # lines of the item outside nested lists
        self.lists = []         # nested lists, each a list of Items

    def all_items(self):
        for lst in self.lists:
            for it in lst:
                yield it
                yield from it.all_items()


class Section:
    def __init__(self, name, lineno):
        self.name = name
        self.lineno = lineno
        self.lines = []         # (lineno, line) of the whole section
        self.text = []          # lines outside any list
        self.lists = []

    def all_items(self):
        for lst in self.lists:
            for it in lst:
                yield it
                yield from it.all_items()


def parse_page(path):
    """The sections of an mdoc page, with their lists and items."""
    sections = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    stack = []                  # open lists: (list, current item)
    xo = None
    for lineno, line in enumerate(lines, 1):
        if line.startswith(".\\\""):
            continue
        toks = tokens(line) if line.startswith(".") else None
        if toks and toks[0] == "Sh":
            sections.append(Section(" ".join(toks[1:]), lineno))
            stack, xo = [], None
            continue
        if not sections:
            continue
        sec = sections[-1]
        sec.lines.append((lineno, line))
        if xo is not None:
            if toks:
                if "Xc" in toks:
                    xo.head.extend(toks[:toks.index("Xc")])
                    xo = None
                else:
                    xo.head.extend(toks)
            continue
        if toks and toks[0] == "Bl":
            lst = []
            if stack and stack[-1][1] is not None:
                stack[-1][1].lists.append(lst)
            else:
                sec.lists.append(lst)
            stack.append([lst, None])
        elif toks and toks[0] == "El":
            if stack:
                stack.pop()
        elif toks and toks[0] == "It" and stack:
            head = toks[1:]
            item = Item(lineno, head)
            stack[-1][0].append(item)
            stack[-1][1] = item
            if "Xo" in head:
                item.head = head[:head.index("Xo")]
                xo = item
        elif stack and stack[-1][1] is not None:
            stack[-1][1].body.append((lineno, line))
        elif not stack:
            sec.text.append((lineno, line))
    return sections


def section(sections, *names):
    for s in sections:
        if s.name in names:
            return s
    return None


def flags(toks):
    """The options named by Fl macros in a list of tokens:
    [(option, takes_argument)], where takes_argument is True when the
    option is followed by Ar or Cm, False otherwise."""
    found, i, n = [], 0, len(toks)
    while i < n:
        if toks[i] != "Fl":
            i += 1
            continue
        j, words = i + 1, []
        while j < n and toks[j] not in MACROS:
            words.append(plain(toks[j]))
            j += 1
        long_prefix = False
        if not [w for w in words if w not in DELIMITERS] and j < n and \
                toks[j] == "Fl":
            # ".Fl Fl name": the first Fl is the second dash.
            long_prefix = True
            j, words = j + 1, []
            while j < n and toks[j] not in MACROS:
                words.append(plain(toks[j]))
                j += 1
        followed = j < n and toks[j] in ("Ar", "Cm") and words and \
            words[-1] not in DELIMITERS
        real = [w for w in words if w not in DELIMITERS]
        for k, w in enumerate(real):
            last = k == len(real) - 1
            arg = followed and last
            if w in ("", "-"):
                continue        # "Fl \&-": the end of the options
            if long_prefix:
                found.append(("--" + w, arg))
            elif len(w) > 1 and w.isalnum():
                for ch in w:    # "Fl fnvV": a cluster of flags
                    found.append(("-" + ch, arg and ch == w[-1]))
            else:
                found.append(("-" + w, arg))
        i = j
    return found


def describe(options):
    """Names, sorted; options of a dict whose value is true (they take an
    argument) are followed by ARG."""
    args = options if isinstance(options, dict) else {}
    return ", ".join(o + (" ARG" if args.get(o) else "") for o in sorted(
        options, key=lambda o: (o.lstrip("-@").lower(), o))) or "(none)"


# ---------------------------------------------------------- comparisons

def option_problems(what, page_name, accepted, documented, synopsis=None,
                    aliases=None):
    """Where a page and a program disagree on options, as four lists:
    accepted but undocumented, documented but not accepted, argument
    mismatches, options the synopsis does not name. accepted and
    documented: {option: takes_argument}; documented are the option
    entries of the page. synopsis: the options its synopsis names, or None
    if it has none to check. aliases: {long option: short option}."""
    aliases = aliases or {}
    undocumented = ["%s accepts %s, but %s does not document it" % (
        what, o, page_name) for o in sorted(set(accepted) - set(documented))]
    every = dict(documented)
    if synopsis is not None:
        every.update({o: a for o, a in synopsis.items() if o not in every})
    unaccepted = ["%s documents %s, but %s does not accept it" % (
        page_name, o, what) for o in sorted(set(every) - set(accepted))]
    arguments = []
    for doc in [documented] + ([synopsis] if synopsis else []):
        for o in sorted(set(doc) & set(accepted)):
            msg = "%s %s %s, but %s documents it %s" % (
                what, o, "takes an argument" if accepted[o] else
                "takes no argument", page_name,
                "with one" if doc[o] else "without one")
            if doc[o] != accepted[o] and msg not in arguments:
                arguments.append(msg)
    unnamed = []
    if synopsis is not None:
        groups = []
        for o in sorted(accepted):
            names = {o, aliases.get(o)} - {None}
            names |= {lo for lo, so in aliases.items() if so == o}
            if not names & set(synopsis) and names not in groups:
                groups.append(names)
                unnamed.append("the SYNOPSIS of %s does not name %s" % (
                    page_name, " or ".join(sorted(names))))
    return undocumented, unaccepted, arguments, unnamed


def compare_options(tap, what, page_name, accepted, documented,
                    synopsis=None, aliases=None):
    """The checks of option_problems, one test case each."""
    undocumented, unaccepted, arguments, unnamed = option_problems(
        what, page_name, accepted, documented, synopsis, aliases)
    tap.check("%s: every option %s accepts is documented" % (
        page_name, what), undocumented)
    tap.check("%s: every option documented for %s is accepted" % (
        page_name, what), unaccepted)
    tap.check("%s: the options of %s take an argument as documented" % (
        page_name, what), arguments)
    if synopsis is not None:
        tap.check("%s: the SYNOPSIS names every option of %s" % (
            page_name, what), unnamed)


def compare_sets(tap, page_name, kind, what, accepted, documented):
    tap.check("%s: every %s %s accepts is documented" % (
        page_name, kind, what),
        ["%s accepts the %s %s, but %s does not document it" % (
            what, kind, k, page_name)
         for k in sorted(set(accepted) - set(documented))])
    tap.check("%s: every %s documented is accepted by %s" % (
        page_name, kind, what),
        ["%s documents the %s %s, but %s does not accept it" % (
            page_name, kind, k, what)
         for k in sorted(set(documented) - set(accepted))])


def cross_check(tap, what, source_name, probed, source, errors=(),
                notes=()):
    """The program and its source agree: {name: value} each. errors: the
    problems met while probing or parsing."""
    problems = list(errors)
    for k in sorted(set(probed) | set(source)):
        if k not in source:
            problems.append("%s accepts %s, which %s does not have" % (
                what, k, source_name))
        elif k not in probed:
            problems.append("%s has %s, which %s refuses" % (
                source_name, k, what))
        elif probed[k] != source[k]:
            problems.append("%s: %s says %r, %s says %r" % (
                k, what, probed[k], source_name, source[k]))
    tap.check("%s agrees with %s" % (what, source_name), problems, notes)


def page_options(sections):
    """Options of a program's page: ({option: arg} of the .It Fl entries
    of DESCRIPTION/OPTIONS, {option: arg} of the SYNOPSIS)."""
    documented = {}
    for name in ("DESCRIPTION", "OPTIONS"):
        sec = section(sections, name)
        if sec is None:
            continue
        for it in sec.all_items():
            if it.head and it.head[0] == "Fl":
                documented.update(flags(it.head))
    synopsis = {}
    sec = section(sections, "SYNOPSIS")
    if sec is not None:
        for lineno, line in sec.lines:
            if line.startswith("."):
                for o, a in flags(tokens(line)):
                    synopsis[o] = synopsis.get(o, False) or a
    return documented, synopsis


# ------------------------------------------------------------- the checks

def check_sections(tap, pages):
    for name, sections in pages.items():
        names = [s.name for s in sections]
        problems = ["no %s section" % s for s in REQUIRED_SECTIONS
                    if s not in names]
        present = [s for s in names if s in REQUIRED_SECTIONS]
        if present != [s for s in REQUIRED_SECTIONS if s in present]:
            problems.append("sections out of order: %s" % ", ".join(present))
        tap.check("%s: has %s, in this order" % (
            name, ", ".join(REQUIRED_SECTIONS)), problems)


def global_options(tap, box, prog, binary, page, pagename, srcname, source,
                   aliases, errors):
    """A program's own options: what it accepts (probed, long options as
    the source lists them) against the source and against its page."""
    documented, synopsis = page_options(page)
    candidates = ["-" + c for c in LETTERS] + sorted(
        o for o in set(source) | set(documented) | set(synopsis)
        if o.startswith("--"))
    probed, problems = probe_exiting(box, binary, candidates)
    accepted = {o: a for o, a in probed.items()
                if not o.startswith("--") or o in source}
    cross_check(tap, prog, srcname, accepted, source, problems + errors,
                ["%s accepts: %s" % (prog, describe(accepted))])
    compare_options(tap, prog, pagename, accepted, documented, synopsis,
                    aliases)


def check_microlightd(tap, box, page):
    src = strip_comments(read(os.path.join(SRCDIR, "daemon",
                                           "microlightd.c")))
    errors = []
    try:
        source, aliases = c_options(src, c_function(src, "main"))
    except ValueError as e:
        source, aliases, errors = {}, {}, ["daemon/microlightd.c: %s" % e]
    global_options(tap, box, "microlightd", MICROLIGHTD, page, "microlightd.8",
                   "daemon/microlightd.c (getopt_long)", source, aliases,
                   errors)


ACTION_RE = re.compile(r"[a-z]+")


def command_words(words):
    """A command's name from the words of its usage or page entry: the
    first, and the second too if it is an action (a lower-case word)."""
    if len(words) >= 2 and ACTION_RE.fullmatch(words[1]):
        return "%s %s" % (words[0], words[1])
    return words[0]


def check_microlightctl(tap, box, page):
    path = os.path.join(SRCDIR, "cli", "microlightctl.c")
    src = strip_comments(read(path))
    # Every file of cli/, where a command's function may be.
    clidir = os.path.join(SRCDIR, "cli")
    cli_srcs = {"cli/" + f: strip_comments(read(os.path.join(clidir, f)))
                for f in sorted(os.listdir(clidir)) if f.endswith(".c")}
    errors, handlers = [], {}
    try:
        source, aliases = c_options(src, c_function(src, "main"))
        for name, handler in re.findall(
                r'\{\s*"([^"]+)"\s*,\s*%s,\s*(\w+)\s*\}' % STRINGS,
                c_table(src, "ctl_cmds")):
            handlers[name] = handler
    except ValueError as e:
        source, aliases, errors = {}, {}, ["cli/microlightctl.c: %s" % e]
    if not handlers and not errors:
        errors.append("cli/microlightctl.c: no command in ctl_cmds[]")

    # Global options.
    global_options(tap, box, "microlightctl", MICROLIGHTCTL, page,
                   "microlightctl.1", "cli/microlightctl.c (main)", source,
                   aliases, errors)

    # Commands: what -h lists, against the table and the page.
    rc, out, err = box.run([MICROLIGHTCTL, "-h"])
    commands = []
    if "commands:" in out:
        for line in out.split("commands:", 1)[1].splitlines():
            # A command's usage is indented by two; what it does, under
            # it, by more.
            if not re.match(r"  \S", line):
                continue
            if command_words(line.split()) not in commands:
                commands.append(command_words(line.split()))
    firsts = [c.split()[0] for c in commands]
    tap.check("microlightctl -h lists the commands of its table (ctl_cmds)",
              ([] if commands else ["microlightctl -h lists no command "
                                    "(status %s): %r" % (rc, out + err)]) +
              ["microlightctl -h lists %s, ctl_cmds[] has not" % c
               for c in firsts if c not in handlers] +
              ["ctl_cmds[] has %s, microlightctl -h does not list it" % c
               for c in handlers if c not in firsts])
    sec = section(page, "COMMANDS")
    entries = {}
    if sec is not None and sec.lists:
        for it in sec.lists[0]:
            if len(it.head) >= 2 and it.head[0] == "Cm":
                entries[command_words([plain(w) for w in it.head[1:]])] = it
    compare_sets(tap, "microlightctl.1", "command", "microlightctl",
                 commands, entries)

    # Each command's options.
    for command in commands:
        if " " in command:
            handler = command.replace(" ", "_")
        else:
            handler = handlers.get(command)
        where, fsrc = "cli/", ""
        for f, text in cli_srcs.items():
            if handler and re.search(r"^%s\s*\(" % re.escape(handler), text,
                                     re.M):
                where, fsrc = f, text
        cerrors = []
        try:
            csource, caliases = c_options(fsrc, c_function(fsrc, handler)) \
                if handler else ({}, {})
        except ValueError as e:
            csource, caliases = {}, {}
            cerrors.append("%s: %s" % (where, e))
        it = entries.get(command)
        head, nested = {}, {}
        if it is not None:
            head = dict(flags(it.head))
            for sub in it.all_items():
                if sub.head and sub.head[0] == "Fl":
                    nested.update(flags(sub.head))
        candidates = ["-" + c for c in LETTERS] + sorted(
            o for o in set(csource) | set(head) | set(nested)
            if o.startswith("--"))
        cprobed, uses_getopt, problems = probe_command(box, command,
                                                       candidates)
        caccepted = {o: a for o, a in cprobed.items()
                     if not o.startswith("--") or o in csource}
        cross_check(tap, "microlightctl %s" % command,
                    "%s (%s)" % (where, handler), caccepted,
                    csource, problems + cerrors)
        documented = dict(head)
        documented.update({o: a for o, a in nested.items()
                           if o not in documented})
        tap.check("microlightctl.1: the options of %s are those "
                  "microlightctl %s accepts" % (command, command),
                  sum(option_problems("microlightctl %s" % command,
                                      "microlightctl.1", caccepted,
                                      documented, head, caliases), []),
                  ["microlightctl %s accepts: %s" % (
                      command, describe(caccepted))])


def listed_keys(page, name):
    """The keys a section of a page lists (.It Cm key or .It Ic key), with
    their line numbers."""
    keys = {}
    sec = section(page, name)
    if sec is not None:
        for lst in sec.lists:
            for it in lst:
                if len(it.head) >= 2 and it.head[0] in ("Cm", "Ic"):
                    keys[plain(it.head[1])] = it.lineno
    return keys


def check_config(tap, box, conf_page, daemon_page):
    src = strip_comments(read(os.path.join(SRCDIR, "daemon", "config.c")))
    errors = []
    try:
        source = re.findall(r'\{\s*"([^"]+)"\s*,\s*\w+\s*\}',
                            c_table(src, "config_keys"))
    except ValueError as e:
        source, errors = [], ["daemon/config.c: %s" % e]
    documented = listed_keys(conf_page, "KEYS")
    configuration = listed_keys(daemon_page, "CONFIGURATION")

    # Every candidate key on a line of its own, without a value.
    sentinel = "no-such-key-probe"
    candidates = [sentinel] + sorted(
        k for k in set(source) | set(documented) | set(configuration)
        if re.fullmatch(r"[!-~]+", k) and not k.startswith("#"))
    conf = box.path("probe.conf")
    with open(conf, "w") as f:
        f.write("".join(k + "\n" for k in candidates))
    rc, out, err = box.run([MICROLIGHTD, "-n", "-c", conf,
                            "-T", box.path("tasks"), "-l", "none"])
    unknown = set()
    for line in err.splitlines():
        m = re.match(r"%s:(\d+): unknown key '" % re.escape(conf), line)
        if m:
            unknown.add(candidates[int(m.group(1)) - 1])
    problems = []
    if rc != 1 or sentinel not in unknown:
        problems.append("microlightd -n did not report the unknown key %s "
                        "(status %s): %s" % (sentinel, rc, err[:500]))
    accepted = {k: True for k in candidates
                if k not in unknown and k != sentinel} if not problems else {}
    cross_check(tap, "microlightd -n (configuration keys)",
                "daemon/config.c (config_keys)", accepted,
                {k: True for k in source}, problems + errors,
                ["microlightd accepts the keys: %s" % describe(sorted(accepted))])
    compare_sets(tap, "microlight.conf.5", "key", "microlightd", accepted,
                 documented)
    compare_sets(tap, "microlightd.8 (CONFIGURATION)", "key", "microlightd",
                 accepted, configuration)


def check_directives(tap, box, page):
    src = strip_comments(read(os.path.join(SRCDIR, "common",
                                           "taskfile_directives.c")))
    errors, source = [], {}
    try:
        for name, flags_, fn in re.findall(
                r'\{\s*"([^"]+)"\s*,\s*([^,]+?)\s*,\s*(\w+)\s*\}',
                c_table(src, "directives")):
            source["@" + name] = "D_REPEAT" in flags_
    except ValueError as e:
        errors.append("common/taskfile_directives.c: %s" % e)

    # The page: .It Cm @name [arguments] in DIRECTIVES.
    documented, doc_arg, doc_repeat, only_repeat = {}, {}, {}, None
    sec = section(page, "DIRECTIVES")
    if sec is not None:
        for lst in sec.lists:
            for it in lst:
                if len(it.head) >= 2 and it.head[0] in ("Cm", "Ic") and \
                        plain(it.head[1]).startswith("@"):
                    name = plain(it.head[1])
                    documented[name] = it.lineno
                    rest = it.head[2:]
                    if not rest:
                        doc_arg[name] = False
                    elif rest[0] not in ("Op", "Oo"):
                        doc_arg[name] = True
                    body = " ".join(l for _, l in it.body)
                    doc_repeat[name] = "may repeat" in body
        # "Only @a, @b and @c may repeat."
        text = [l for _, l in sec.text]
        for i, line in enumerate(text):
            if line.strip() == "Only" or line.startswith("Only "):
                words = []
                for l in text[i:]:
                    if l.startswith("."):
                        words += [plain(t) for t in tokens(l)
                                  if plain(t).startswith("@")]
                    if "may repeat" in l:
                        only_repeat = set(words)
                        break

    # One file per directive, the directive twice without an argument.
    tasks = box.path("tasks")
    sentinel = "@nosuchdirectiveprobe"
    candidates = [sentinel] + sorted(
        d for d in set(source) | set(documented)
        if re.fullmatch(r"@[A-Za-z][\w-]*", d))
    files = {}
    for i, d in enumerate(candidates):
        path = os.path.join(tasks, "probe%d.sh" % i)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n# %s\n# %s\nexit 0\n" % (d, d))
        os.chmod(path, 0o755)
        files[path] = d
    conf = box.path("empty.conf")
    open(conf, "w").close()
    rc, out, err = box.run([MICROLIGHTD, "-n", "-c", conf, "-T", tasks,
                            "-l", "none"])
    for path in files:
        os.unlink(path)
    msgs = {d: {} for d in candidates}
    for line in err.splitlines():
        m = re.match(r"(/\S+?):(\d+): (.*)", line)
        if m and m.group(1) in files:
            msgs[files[m.group(1)]].setdefault(int(m.group(2)), []).append(
                m.group(3))
    problems = []
    if not any("unknown directive" in m for m in msgs[sentinel].get(2, [])):
        problems.append("microlightd -n did not report the unknown directive "
                        "%s (status %s): %s" % (sentinel, rc, err[:500]))
    accepted, takes_arg, repeats = {}, {}, {}
    if not problems:
        for d in candidates[1:]:
            first = msgs[d].get(2, [])
            second = msgs[d].get(3, [])
            if any("unknown directive" in m for m in first):
                continue
            accepted[d] = True
            takes_arg[d] = bool(first)
            repeats[d] = not any("already given" in m for m in second)
    cross_check(tap, "microlightd -n (directives, whether they may repeat)",
                "common/taskfile_directives.c (directives, D_REPEAT)",
                repeats, source,
                problems + errors,
                ["microlightd accepts the directives: %s" % describe(
                    takes_arg),
                 "of which may repeat: %s" % describe(
                     d for d in repeats if repeats[d])])
    compare_sets(tap, "microlight-tasks.5", "directive", "microlightd",
                 accepted, documented)
    tap.check("microlight-tasks.5: the directives take an argument as "
              "documented",
              ["%s %s, but microlight-tasks.5 documents it %s" % (
                  d, "takes an argument" if takes_arg[d] else
                  "takes no argument",
                  "with one" if doc_arg[d] else "without one")
               for d in sorted(set(doc_arg) & set(takes_arg))
               if doc_arg[d] != takes_arg[d]])
    problems = ["%s %s, but its entry in microlight-tasks.5 %s" % (
        d, "may repeat" if repeats[d] else "may not repeat",
        "does not say \"may repeat\"" if repeats[d] else
        "says \"may repeat\"")
        for d in sorted(set(doc_repeat) & set(repeats))
        if doc_repeat[d] != repeats[d]]
    if only_repeat is not None:
        really = {d for d in repeats if repeats[d]}
        if only_repeat != really:
            problems.append("microlight-tasks.5 says only %s may repeat; "
                            "microlightd lets %s repeat" % (
                                describe(only_repeat), describe(really)))
    tap.check("microlight-tasks.5: the directives that may repeat are "
              "documented so", problems)


def main():
    tap = Tap()
    missing = [p for p in (MICROLIGHTD, MICROLIGHTCTL)
               if not os.access(p, os.X_OK)]
    if missing:
        tap.check("the programs are built", ["%s is missing (make)" % p
                                             for p in missing])
        return tap.finish()
    pages = {}
    for name in ("microlightd.8", "microlightctl.1", "microlight.conf.5",
                 "microlight-tasks.5"):
        pages[name] = parse_page(os.path.join(MANDIR, name))
    box = Sandbox()
    try:
        check_sections(tap, pages)
        check_microlightd(tap, box, pages["microlightd.8"])
        check_microlightctl(tap, box, pages["microlightctl.1"])
        check_config(tap, box, pages["microlight.conf.5"],
                     pages["microlightd.8"])
        check_directives(tap, box, pages["microlight-tasks.5"])
    finally:
        box.cleanup()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
