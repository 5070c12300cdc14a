#!/bin/sh
# Build the weekly report, printing progress as it goes.
# A slow task (about two seconds a step): watch it with
# "microlightctl run weekly-report --follow" or "microlightctl logs -f".
# It also runs by itself every Monday at 8:00, and once at start-up if
# microlightd was down then.
#
# @param steps int "Steps" default=10
# @schedule 0 8 * * mon
# @catchup
# @timeout 5m
# @group Examples
set -eu
i=1
while [ "$i" -le "$steps" ]; do
	echo "[$i/$steps] $(date +%H:%M:%S) collecting part $i"
	sleep 2
	i=$((i + 1))
done
echo "report ready"
