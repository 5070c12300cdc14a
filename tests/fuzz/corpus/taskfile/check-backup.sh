#!/bin/sh
# Check that last night's backup exists and is fresh.
# Fails (exit 2) when the file is missing or more than a day old, which
# is what happens on a machine without backups: an example of a failed run.
#
# @param file "Backup file" default=/var/backups/nightly.tar.gz
# @timeout 30s
# @group Examples
set -u
if [ ! -f "$file" ]; then
	echo "backup $file is missing" >&2
	exit 2
fi
if [ -n "$(find "$file" -mtime +0)" ]; then
	echo "backup $file is more than a day old" >&2
	exit 2
fi
echo "backup $file is fresh ($(du -h "$file" | cut -f1))"
