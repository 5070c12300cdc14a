#!/bin/sh
# The manual pages are clean under mandoc -Tlint -W warning (TAP).
srcdir=${ML_SRCDIR:-$(dirname "$0")/..}
pages="$srcdir/man/microlightd.8 $srcdir/man/microlightctl.1
    $srcdir/man/microlight-tasks.5 $srcdir/man/microlight.conf.5"
n=0
echo "1..$(echo $pages | wc -w)"
for page in $pages; do
	n=$((n + 1))
	if ! command -v mandoc >/dev/null 2>&1; then
		echo "not ok $n - $page: mandoc is not installed (apt-get install mandoc)"
		continue
	fi
	out=$(mandoc -Tlint -W warning "$page" 2>&1)
	if [ $? -eq 0 ] && [ -z "$out" ]; then
		echo "ok $n - mandoc -Tlint $(basename "$page")"
	else
		echo "not ok $n - mandoc -Tlint $(basename "$page")"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
done
