#!/usr/bin/env python3
"""Future runs where people and programs look (SPEC sections 3, 5 and 6;
issue 14 points 1 and 6): the JSON API's "at"/"in" (201 scheduled, a bad
time 400 usage), GET /api/v1/runs?status=scheduled soonest first with
`before` paging, /metrics microlight_runs_scheduled, a webhook's ?in= and
?at= (a passed time refused), and the task's next run in `list`, `show`
(with its scheduled runs), the task objects of the API."""

import datetime

from harness import *
from test_http import HttpTest, script
from test_webhook import bearer, SECRET

TASK = script("""\
    #!/bin/sh
    # Says hello.
    # @webhook
    # @param who "Who" default=world
    echo "hello $who"
    """)
NIGHTLY = script("""\
    #!/bin/sh
    # Every night.
    # @schedule 0 3 * * *
    echo night
    """)


def rfc3339(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FutureHttp(HttpTest):
    CONFIG = "kill-grace 2s\nwebhook-secret hello %s\n" % SECRET
    TASKS = {"hello.sh": TASK, "nightly.sh": NIGHTLY}

    def later(self, task="hello", status=201, **body):
        return self.api("POST", "/api/v1/tasks/%s/runs" % task, status,
                        body=body)

    def scheduled(self, query=""):
        return self.api("GET", "/api/v1/runs?status=scheduled" + query,
                        200)["runs"]

    def metric(self):
        for line in self.get("/metrics").body.decode().splitlines():
            if line.startswith("microlight_runs_scheduled "):
                return int(line.split()[1])
        self.fail("no microlight_runs_scheduled in /metrics")

    def test_api_at_and_in(self):
        now = time.time()
        at = int(now) + 7200
        a = self.later(params={"who": "a"}, at=rfc3339(at))["run"]
        b = self.later(params={"who": "b"}, **{"in": "1h"})["run"]
        c = self.later(at="@%d" % (at + 60))["run"]
        for run in (a, b, c):
            self.assertEqual(run["status"], "scheduled")
            self.assertIsNone(run["started_at"])
        self.assertEqual(epoch(a["scheduled_for"]), at)
        self.assertAlmostEqual(epoch(b["scheduled_for"]), now + 3600,
                               delta=5)
        self.assertEqual(a["params"], {"who": "a"})
        # Soonest first, paged with before; limit.
        self.assertEqual([r["id"] for r in self.scheduled()],
                         [b["id"], a["id"], c["id"]])
        self.assertEqual([r["id"] for r in self.scheduled(
            "&before=%d" % b["id"])], [a["id"], c["id"]])
        self.assertEqual([r["id"] for r in self.scheduled("&limit=1")],
                         [b["id"]])
        self.assertEqual([r["id"] for r in self.scheduled(
            "&task=nightly")], [])
        self.assertEqual(self.metric(), 3)
        self.api("POST", "/api/v1/runs/%d/cancel" % b["id"], 200)
        self.assertEqual(self.metric(), 2)
        self.assertEqual([r["id"] for r in self.scheduled()],
                         [a["id"], c["id"]])
        # Nothing ran.
        self.assertEqual(self.d.status(a["id"])["status"], "scheduled")

    def test_api_refuses_bad_times(self):
        for body, words in (
                ({"at": "tomorrow"}, "not a time"),
                ({"at": "2020-01-01T00:00:00Z"}, "passed"),
                ({"at": "2020-01-01T00:00:00"}, "not a time"),
                ({"in": "soon"}, "in soon"),
                ({"at": "@%d" % (time.time() + 3600), "in": "1h"},
                 "not both"),
                ({"at": "@%d" % (time.time() + 11 * 366 * 86400)}, "ten years")):
            msg = self.api_error("POST", "/api/v1/tasks/hello/runs", 400,
                                 "usage", body=body)
            self.assertIn(words, msg)
        self.assertEqual(self.scheduled(), [])
        self.assertEqual(self.metric(), 0)

    def test_webhook_in_and_at(self):
        r = self.d.http("POST", "/hooks/hello?in=2h&who=hook",
                        headers=bearer(SECRET))
        self.assertEqual(r.status, 202, r)
        run = r.json()["run"]
        self.assertEqual(run["status"], "scheduled")
        self.assertEqual(run["trigger"], "webhook")
        self.assertEqual(run["params"], {"who": "hook"})
        self.assertAlmostEqual(epoch(run["scheduled_for"]),
                               time.time() + 7200, delta=5)
        r = self.d.http("POST", "/hooks/hello?at=2020-01-01T00:00:00Z",
                        headers=bearer(SECRET))
        self.assertEqual(r.status, 400, r)
        self.assertIn("passed", r.json()["error"]["message"])
        self.assertEqual([x["id"] for x in self.scheduled()], [run["id"]])

    def test_next_run_list_and_show(self):
        """The next run is the sooner of a schedule and a future run;
        show lists the scheduled runs."""
        def task(name):
            return [t for t in self.api("GET", "/api/v1/tasks", 200)
                    ["tasks"] if t["name"] == name][0]
        self.assertIsNone(task("hello")["next_run"])
        fire = epoch(task("nightly")["next_run"])
        soon = self.later(**{"in": "1h"})["run"]
        self.assertEqual(task("hello")["next_run"], soon["scheduled_for"])
        # Later than the schedule: the schedule stays next.
        self.later("nightly", at="@%d" % (fire + 86400 * 2))
        self.assertEqual(epoch(task("nightly")["next_run"]), fire)
        # Sooner than the schedule: the future run is next.
        if fire - time.time() > 120:
            early = self.later("nightly", **{"in": "1m"})["run"]
            self.assertEqual(task("nightly")["next_run"],
                             early["scheduled_for"])
        # list's NEXT RUN column, in local time.
        out = self.d.ctl("list", check=0).stdout.decode().splitlines()
        col = out[0].index("NEXT RUN")
        line = [l for l in out if l.startswith("hello ")][0]
        self.assertEqual(line[col:col + 16], datetime.datetime.fromtimestamp(
            epoch(soon["scheduled_for"])).strftime("%Y-%m-%d %H:%M"))
        show = self.d.ctl_json("show", "hello", check=0)[0]
        self.assertEqual([r["id"] for r in show["scheduled"]], [soon["id"]])
        out = self.d.ctl("show", "hello", check=0).stdout.decode()
        self.assertIn("scheduled runs:", out)
        block = out.split("scheduled runs:")[1].split("recent runs:")[0]
        self.assertRegex(block, r"\n\s+WHEN\s+ID\s+BY\s+PARAMS\n")
        self.assertRegex(block, r"\n\s+\S.*\s%d\s+.*who=world" % soon["id"])
        self.api("POST", "/api/v1/runs/%d/cancel" % soon["id"], 200)
        self.assertIsNone(task("hello")["next_run"])
        out = self.d.ctl("show", "hello", check=0).stdout.decode()
        self.assertNotIn("scheduled runs:", out)


if __name__ == "__main__":
    main()
