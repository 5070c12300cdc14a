#!/bin/sh
# Say hello: the smallest task, to check that microlight works.
# It prints who started it and how.
#
# @timeout 10s
# @group Examples
echo "Hello from microlight on $(hostname)!"
echo "This is run $MICROLIGHT_RUN_ID of $MICROLIGHT_TASK," \
    "started by $MICROLIGHT_TRIGGERED_BY ($MICROLIGHT_TRIGGER)."
