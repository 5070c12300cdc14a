#!/bin/sh
# Post to a Slack, Mattermost or Teams channel when a task fails,
# recovers, misses a run or is overdue. Run it by hand to post a test.
#
# A task asks for it with "# @notify notify-slack" in its header; every
# task does with "notify notify-slack" in microlight.conf. Paste the
# channel's incoming-webhook URL after SLACK_WEBHOOK_URL= below (or give
# it as the parameter url). That URL is a password: whoever may see this
# task sees its @env lines (microlightctl show), so keep the task to the
# administrators with an @allow line. It needs curl.
#
# @env SLACK_WEBHOOK_URL=
# @param url "Webhook URL (empty: SLACK_WEBHOOK_URL)"
# @timeout 1m
# @group Notifications
set -u
export LC_ALL=C

fail() { echo "notify-slack: $*" >&2; exit 1; }

url=${url:-${SLACK_WEBHOOK_URL:-}}
[ -n "$url" ] || fail "no webhook URL: paste it after" \
    "\"@env SLACK_WEBHOOK_URL=\" in this task's file, or run it with url=URL"
case $url in
*[[:cntrl:]\"\\]*)
	fail "the webhook URL has a quote, backslash or control character" ;;
http://*|https://*)
	;;
*)
	fail "the webhook URL must start with https://" ;;
esac
command -v curl >/dev/null || fail "curl is missing: apt-get install curl"

# Standard input, any bytes, as the inside of a JSON string in ASCII:
# quotes, backslashes and control characters escaped, characters beyond
# ASCII as \uXXXX, invalid UTF-8 as U+FFFD (od makes the bytes numbers, so
# awk never sees a NUL or a locale). A character cut at the start (the
# output is a tail) is skipped, and so is one newline at the end. As Slack
# asks, & < > become &amp; &lt; &gt;, so that "<!channel>" in a task's
# output pings nobody; a zero-width space between two backticks keeps the
# output from closing the ``` block around it.
json_string() {
	od -An -v -tu1 | awk '
	BEGIN {
		for (i = 0; i < 32; i++) esc[i] = sprintf("\\u%04x", i)
		for (i = 32; i < 127; i++) esc[i] = sprintf("%c", i)
		esc[8] = "\\b"; esc[9] = "\\t"; esc[10] = "\\n"
		esc[12] = "\\f"; esc[13] = "\\r"; esc[127] = "\\u007f"
		esc[34] = "\\\""; esc[92] = "\\\\"
		esc[38] = "&amp;"; esc[60] = "&lt;"; esc[62] = "&gt;"
	}
	{ for (i = 1; i <= NF; i++) b[++n] = $i + 0 }
	END {
		if (n > 0 && b[n] == 10) n--
		for (i = 1; i <= n && b[i] >= 128 && b[i] < 192; i++) ;
		for (; i <= n; i++) {
			c = b[i]
			if (c < 128) {
				if (c == 96 && i > 1 && b[i - 1] == 96)
					printf "\\u200b"
				printf "%s", esc[c]
				continue
			}
			# A UTF-8 sequence: its length, the bits of its
			# first byte, the range of its second byte.
			need = 0; lo = 128; hi = 191
			if (c >= 194 && c <= 223) { need = 1; cp = c - 192 }
			else if (c >= 224 && c <= 239) { need = 2; cp = c - 224
				if (c == 224) lo = 160; if (c == 237) hi = 159 }
			else if (c >= 240 && c <= 244) { need = 3; cp = c - 240
				if (c == 240) lo = 144; if (c == 244) hi = 143 }
			for (k = 1; k <= need; k++) {
				d = b[i + k]
				if (i + k > n || d < lo || d > hi) break
				cp = cp * 64 + d - 128; lo = 128; hi = 191
			}
			i += k - 1
			if (k <= need || need == 0)
				printf "\\ufffd"
			else if (cp < 65536)
				printf "\\u%04x", cp
			else {
				cp -= 65536
				printf "\\u%04x\\u%04x", 55296 + int(cp / 1024),
				    56320 + cp % 1024
			}
		}
	}'
}
j() { printf '%s' "$1" | json_string; }

# Without MICROLIGHT_EVENT it was run by hand: a test message.
event=${MICROLIGHT_EVENT:-test}
task=${MICROLIGHT_SUBJECT_TASK:-}
run=${MICROLIGHT_SUBJECT_RUN:-}
status=${MICROLIGHT_SUBJECT_STATUS:-}
code=${MICROLIGHT_SUBJECT_EXIT_CODE:-}
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
title="[microlight] $task $what"
if [ "$event" = test ]; then
	title="[microlight] test message from ${MICROLIGHT_TASK:-notify-slack}"
	title="$title on $(uname -n), run by ${MICROLIGHT_TRIGGERED_BY:-hand}"
fi

# The message, already escaped: \n is JSON's newline.
text=$(j "$title")
line="Event: $event${status:+, status: $status}${code:+, exit code: $code}"
text="$text\\n$(j "$line")"
if [ -n "${MICROLIGHT_SUBJECT_TRIGGERED_BY:-}" ]; then
	text="$text\\n$(j "Started by: $MICROLIGHT_SUBJECT_TRIGGERED_BY")"
fi
if [ -n "${MICROLIGHT_SUBJECT_URL:-}" ]; then
	text="$text\\n$(j "Page: $MICROLIGHT_SUBJECT_URL")"
fi
# The last 20 lines of the run's output, at most 2000 bytes of them.
if [ ! -t 0 ]; then
	output=$(tail -c 4096 | tail -n 20 | tail -c 2000 | json_string)
	if [ -n "$output" ]; then
		text="$text\\n\`\`\`\\n$output\\n\`\`\`"
	fi
fi

# The URL reaches curl as a line of configuration on descriptor 3, not
# as an argument, which any user of the machine could read with ps.
printf '{"text":"%s"}' "$text" |
curl -fsS --max-time 20 -o /dev/null -H 'Content-Type: application/json' \
    --data-binary @- -K /dev/fd/3 3<<EOF || fail "posting failed"
url = "$url"
EOF
echo "posted: $title"
