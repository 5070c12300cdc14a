#!/bin/sh
# Greet someone by name.
# Shows how parameters reach a script: as environment variables,
# already checked against their types.
#
# @param name      "Who to greet"  required
# @param greeting  choice(Hello, Good morning, Hi)  "Greeting"  default=Hello
# @param times     int   "How many times"  default=1
# @param shout     bool  "Shout it"
# @timeout 10s
# @group Examples
# Other systems may start it too: microlightctl webhook greet.
# @webhook
set -eu
message="$greeting, $name!"
if [ "$shout" = true ]; then
	message=$(printf '%s' "$message" | tr '[:lower:]' '[:upper:]')
fi
i=0
while [ "$i" -lt "$times" ]; do
	printf '%s\n' "$message"
	i=$((i + 1))
done
