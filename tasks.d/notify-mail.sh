#!/bin/sh
# Mail the team when a task fails, recovers, misses a run or is overdue.
# Run it by hand to send a test mail.
#
# A task asks for it with "# @notify notify-mail" in its header; every
# task does with "notify notify-mail" in microlight.conf. Put the team's
# address in the default of "to" below (a list: default=a@ex.com,b@ex.com).
# The mail goes through "sendmail -t", as cron's mail does, so it needs
# a mail transfer agent (postfix, exim4, nullmailer, msmtp-mta...); another
# program can be named with a line "# @env SENDMAIL=/usr/bin/msmtp", and
# the sender with "# @env MAILFROM=microlight@example.com".
#
# @param to "Mail to" default=root
# @timeout 1m
# @group Notifications
set -u
export LC_ALL=C

# A header value: printable ASCII only, so that nothing a task controls
# (its name, its output, a parameter) can end the line and add a header.
hdr() { printf '%s' "$1" | tr -cd ' -~' | cut -c 1-200; }
# A value on one line of the body: no control characters.
txt() { printf '%s' "$1" | tr -d '\000-\037\177'; }

# sendmail: $SENDMAIL, else the one on PATH, else where MTAs put it.
sendmail=${SENDMAIL:-$(command -v sendmail || echo /usr/sbin/sendmail)}
case $sendmail in */*) ;; *) sendmail=$(command -v "$sendmail") ;; esac
if [ ! -f "$sendmail" ] || [ ! -x "$sendmail" ]; then
	echo "notify-mail: no sendmail${SENDMAIL:+ at $SENDMAIL}: install a" \
	    "mail transfer agent (apt-get install postfix, exim4, nullmailer" \
	    "or msmtp-mta) or name one with @env SENDMAIL=PROGRAM" >&2
	exit 1
fi

# Without MICROLIGHT_EVENT it was run by hand: a test mail.
event=$(hdr "${MICROLIGHT_EVENT:-test}")
task=$(hdr "${MICROLIGHT_SUBJECT_TASK:-}")
run=$(hdr "${MICROLIGHT_SUBJECT_RUN:-}")
status=$(hdr "${MICROLIGHT_SUBJECT_STATUS:-}")
code=$(hdr "${MICROLIGHT_SUBJECT_EXIT_CODE:-}")
by=$(txt "${MICROLIGHT_SUBJECT_TRIGGERED_BY:-}")
url=$(txt "${MICROLIGHT_SUBJECT_URL:-}")
to=$(hdr "${to:-root}")
host=$(uname -n | tr -cd 'A-Za-z0-9.-')
user=$(printf '%s' "${USER:-$(id -un)}" | tr -cd 'A-Za-z0-9._-')
from=${MAILFROM:-}
if [ -z "$from" ]; then
	from="\"microlight on $host\" <$user>"
fi
from=$(hdr "$from")

onrun=${run:+ (run $run)}
case $event in
failure)
	case $status in
	timed_out)	what="timed out$onrun" ;;
	lost)		what="was lost$onrun" ;;
	*)		what="failed$onrun" ;;
	esac ;;
recovery)	what="recovered$onrun" ;;
missed)		what="did not run (missed${run:+, run $run $status})" ;;
overdue)	what="is overdue" ;;
success)	what="succeeded$onrun" ;;
*)		what="$event$onrun" ;;
esac
subject="[microlight] $task $what"
me=$(hdr "${MICROLIGHT_TASK:-notify-mail}")
if [ "$event" = test ]; then
	subject="[microlight] test mail from $me on $host"
fi

# The last 50 lines of the run's output (microlightd gives its last 4 KiB),
# made fit for mail: no control characters but tabs and newlines, no line
# longer than the 998 bytes mail allows, and only valid UTF-8 (iconv drops
# the rest, so a character that fold cuts in two is lost).
output=
if [ ! -t 0 ]; then
	output=$(tail -c 4096 | tail -n 50 | tr -d '\000-\010\013-\037\177' |
	    fold -b -w 900 | iconv -f UTF-8 -t UTF-8 -c 2>/dev/null)
fi

field() { if [ -n "$2" ]; then printf '%-12s%s\n' "$1:" "$2"; fi; }
{
	printf 'To: %s\n' "$to"
	printf 'From: %s\n' "$from"
	printf 'Subject: %s\n' "$subject"
	printf 'Date: %s\n' "$(date '+%a, %d %b %Y %H:%M:%S %z')"
	printf 'MIME-Version: 1.0\n'
	printf 'Content-Type: text/plain; charset=UTF-8\n'
	printf 'Content-Transfer-Encoding: 8bit\n'
	printf 'Auto-Submitted: auto-generated\n'
	printf 'X-Microlight-Event: %s\n' "$event"
	printf '\n'
	if [ "$event" = test ]; then
		printf 'A test of %s, run by %s: mail from microlight on %s\n' \
		    "$me" "$(txt "${MICROLIGHT_TRIGGERED_BY:-hand}")" "$host"
		printf 'reaches %s.\n' "$to"
	else
		printf '%s %s.\n\n' "$task" "$what"
		field Event "$event"
		field Task "$task"
		field Run "$run"
		field Status "$status"
		field "Exit code" "$code"
		field "Started by" "$by"
		field Page "$url"
	fi
	if [ -n "$output" ]; then
		printf '\nLast lines of output:\n\n%s\n' "$output"
	fi
	printf '\n-- \nmicrolight on %s, task %s\n' "$host" "$me"
} | "$sendmail" -t -oi
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "notify-mail: $sendmail failed (exit status $rc)" >&2
	exit 1
fi
echo "mailed $to: $subject"
