#!/usr/bin/env python3
"""microlightctl against a real daemon: commands, output, exit statuses."""

from harness import *


class RunBasics(DaemonTest):
    TASKS = {
        "hello.sh": """\
            #!/bin/sh
            # Say hello.
            # @param who "Who" default=world
            echo "hello, $who"
            """,
    }

    def test_run_wait_records_success(self):
        run = self.d.run("hello.sh".split(".")[0], "who=bob")
        self.assertEqual(run["status"], "succeeded")
        self.assertEqual(run["exit_code"], 0)
        self.assertEqual(self.d.logs(run["id"]), b"hello, bob\n")

    def test_ping(self):
        p = self.d.ctl("ping", check=0)
        self.assertIn(b"microlightd", p.stdout)


if __name__ == "__main__":
    main()
