#!/bin/sh
# The systemd units pass "systemd-analyze verify" without a word, with the
# paths of the programs just built (TAP). verify exits 0 on an unknown key
# or a bad value: any output is a failure. Also with the stricter drop-in.
srcdir=${ML_SRCDIR:-$(dirname "$0")/..}
builddir=${ML_BUILDDIR:-.}
units="microlightd.service microlightd-control.socket microlightd-http.socket"

echo "1..3"
if ! command -v systemd-analyze >/dev/null 2>&1; then
	for n in 1 2 3; do
		echo "ok $n # SKIP systemd-analyze is not installed (apt-get install systemd)"
	done
	exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
bin=$(cd "$builddir" && pwd)

# 1. Every @name@ of the .in files is one make fills in, and none is left.
left=
for u in $units; do
	sed -e "s|@sbindir@|$bin|g" -e "s|@bindir@|$bin|g" \
	    -e 's|@sysconfdir@|/etc|g' -e 's|@localstatedir@|/var|g' \
	    -e 's|@runstatedir@|/run|g' -e 's|@docdir@|/usr/share/doc/microlight|g' \
	    "$srcdir/systemd/$u.in" >"$tmp/$u" || exit 1
	left="$left$(grep -o '@[a-z_]*@' "$tmp/$u")"
	# The Makefile's substitutions are the same ones.
	for v in $(grep -o '@[a-z_]*@' "$srcdir/systemd/$u.in" | sort -u); do
		grep -qF "s|${v%@}[@]|" "$srcdir/Makefile.am" ||
		    left="$left $v(not in Makefile.am)"
	done
done
if [ -z "$left" ]; then
	echo "ok 1 - the units' @paths@ are all filled in"
else
	echo "not ok 1 - the units' @paths@ are all filled in"
	echo "# left: $left"
fi

# 2. verify, with the built binaries in ExecStart= and ExecReload=.
out=$(cd "$tmp" && systemd-analyze verify --man=no $(for u in $units; do echo "./$u"; done) 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then
	echo "ok 2 - systemd-analyze verify says nothing of $units"
else
	echo "not ok 2 - systemd-analyze verify says nothing of $units"
	printf '%s\n' "$out" | sed 's/^/# /'
fi

# 3. The same with systemd/strict.conf as a drop-in.
mkdir "$tmp/microlightd.service.d" &&
cp "$srcdir/systemd/strict.conf" "$tmp/microlightd.service.d/" || exit 1
out=$(cd "$tmp" && systemd-analyze verify --man=no ./microlightd.service 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then
	echo "ok 3 - and with the strict.conf drop-in"
else
	echo "not ok 3 - and with the strict.conf drop-in"
	printf '%s\n' "$out" | sed 's/^/# /'
fi
