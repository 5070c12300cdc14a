#!/bin/sh
# The web page in a real browser (TAP): Debian's chromium, headless, driven
# by playwright-core; see test_browser.js for what it checks. It starts its
# own microlightd (the build's) on a free port of 127.0.0.1 with a scratch
# tasks.d and state directory, removed afterwards.
#
# make check runs it (ML_SRCDIR and ML_BUILDDIR come from Makefile.am); by
# hand, from the top of a built tree:
#
#   tests/browser/run.sh                        # a check
#   SCREENSHOT_DIR=docs tests/browser/run.sh    # and refresh the README's
#                                               # screenshots in docs/
#
# For a build in another directory, run it from there, or set ML_BUILDDIR
# to it. Screenshots go to $SCREENSHOT_DIR, by default the build's
# tests/browser/screenshots/ (never the source tree, unless asked).
#
# It needs node (>= 20), chromium (apt-get install chromium; or $CHROMIUM)
# and playwright-core in tests/browser/node_modules (npm ci --prefix
# tests/browser, as .ci/run does); without one it skips, saying which, the
# TAP way ("1..0 # SKIP why", exit 0): automake's TAP driver, which runs
# every test here, would count an exit status of 77 as an error.
# No browser is downloaded: playwright-core drives the system's chromium.

here=$(cd "$(dirname "$0")" && pwd) || exit 1
ML_SRCDIR=${ML_SRCDIR:-$(cd "$here/../.." && pwd)}
if [ -z "${ML_BUILDDIR:-}" ]; then
	# By hand: the current directory if it is a build, else the source.
	if [ -x ./microlightd ]; then
		ML_BUILDDIR=$(pwd)
	else
		ML_BUILDDIR=$ML_SRCDIR
	fi
fi
export ML_SRCDIR ML_BUILDDIR

skip() {
	echo "1..0 # SKIP $*"
	exit 0
}

command -v node >/dev/null 2>&1 ||
    skip "node is missing (Debian: apt-get install nodejs)"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
[ "${major:-0}" -ge 20 ] 2>/dev/null ||
    skip "node $(node --version 2>/dev/null) is too old for playwright-core (20 or later)"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] ||
    skip "$CHROMIUM is missing (Debian: apt-get install chromium)"
export CHROMIUM
[ -f "$here/node_modules/playwright-core/package.json" ] ||
    skip "playwright-core is missing (npm ci --prefix tests/browser)"

# Plain text in the log: no colours.
NO_COLOR=1 FORCE_COLOR=0
export NO_COLOR FORCE_COLOR

# The test stops itself well before this; this is the last resort.
if command -v timeout >/dev/null 2>&1; then
	exec timeout -k 10 240 node "$here/test_browser.js" </dev/null
fi
exec node "$here/test_browser.js" </dev/null
