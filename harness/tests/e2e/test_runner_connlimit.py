"""test_runner_connlimit — a server that limits connections per client address (Courier's couriertcpd:
MAXPERIP=4 by default) is correct, and the runner at its default -j must not blame it: pop3refd with
--max-per-address 4 --limit-loopback answers the fifth connection from 127.0.0.1 with "-ERR [SYS/TEMP]" and
closes. Before, most scenarios failed on "expected +OK" greetings; now a refused connect made while other
workers' sessions are open is retried after one of them closes, the run goes on with fewer workers and
says so once, and only a scenario that alone needs more sessions than the limit ends in an error — never a
fail, never a pass. A server that greets nobody stays an error (test_runner_hostile's hangup and silent
modes)."""

import json
import os
import tempfile
import unittest

from hostile import run_pop3spec

# Many sessions at once: multi-session scenarios (locks, isolation, timestamps) and quick ones.
SELECTION = ["rfc1939/isolation/*", "rfc1939/greet/*", "rfc1939/stat/*", "rfc1939/list/*", "rfc1939/dele/*",
             "rfc1939/upd/*", "rfc2449/code/*"]
# Needs five sessions open at once: more than the limit allows, whatever the runner does.
NEEDS_FIVE = "rfc1939/greet/apop-timestamp-unique"
# Three sessions open at once, as rfc2449/gram/bracket-opens-response-code holds (the maildrop's holder, a
# busy login, a wrong password), and scenarios that each hold one session a while.
THREE_SCENARIO = """id: hold/three
title: three sessions at once
refs: [R1939-GEN-10]
level: MUST
steps:
  - sleep: 2      # the other workers' sessions come first
  - connect: plain
  - connect: {plain: true, session: b}
  - connect: {plain: true, session: c}
  - send: QUIT
    session: c
    expect: ok
  - send: QUIT
    session: b
    expect: ok
  - send: QUIT
    expect: ok
"""
HOG_SCENARIO = """id: hold/hog{i:02d}
title: two sessions held a while
refs: [R1939-GEN-10]
level: MUST
steps:
  - connect: plain
  - connect: {{plain: true, session: b}}
  - sleep: 1.5
  - send: QUIT
    session: b
    expect: ok
  - send: QUIT
    expect: ok
"""
HOGS = 24


class ConnLimit(unittest.TestCase):
    def test_limit_per_address_is_no_failure(self):
        env = dict(os.environ, POP3REFD_ARGS="--max-per-address 4 --limit-loopback")
        args = ["run", "--reference", "-q"]
        for f in SELECTION:
            args += ["--filter", f]
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-connlimit-") as tmp:
            path = os.path.join(tmp, "results.json")
            r = run_pop3spec(args + ["--json", path, "scenarios"], limit=240, env=env)
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        res = {x["id"]: x for x in doc["results"]}
        self.assertGreater(len(res), 30)
        bad = {k: (v["status"], v["message"]) for k, v in res.items()
               if v["status"] not in ("pass", "skip") and k != NEEDS_FIVE}
        self.assertEqual(bad, {})
        self.assertEqual(res[NEEDS_FIVE]["status"], "error", res[NEEDS_FIVE]["message"])
        self.assertIn("refused the connection while 4 other sessions of this scenario",
                      res[NEEDS_FIVE]["message"])
        said = [ln for ln in r.stderr.splitlines() if "limits connections per address" in ln]
        self.assertTrue(1 <= len(said) <= 3, r.stderr[-2000:])   # said when -j drops, not per refusal
        self.assertIn("running with -j", said[0])
        self.assertEqual(r.rc, 1)   # the one error

    def test_three_sessions_at_once_under_a_limit_of_three(self):
        """A scenario that holds three sessions at once completes under a limit of three at the default -j,
        while 24 others each hold two sessions for 1.5 s: its connects are retried as the others close, and
        while one waits no worker starts a new scenario (the hold, connlimit.h), so it waits for a running
        one at most, not for the rest of the run. pop3refd counts a closed connection a moment longer, so the
        runner here soon goes down to -j 1, where nothing new competes anyway; the hold itself is pinned by
        check_connlimit (Courier, at -j 2, starved rfc2449/gram/bracket-opens-response-code without it)."""
        env = dict(os.environ, POP3REFD_ARGS="--max-per-address 3 --limit-loopback")
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-connlimit3-") as tmp:
            sc = os.path.join(tmp, "scenarios")
            os.makedirs(os.path.join(sc, "hold"))
            with open(os.path.join(sc, "hold", "three.yaml"), "w", encoding="utf-8") as f:
                f.write(THREE_SCENARIO)
            for i in range(HOGS):
                with open(os.path.join(sc, "hold", f"hog{i:02d}.yaml"), "w", encoding="utf-8") as f:
                    f.write(HOG_SCENARIO.format(i=i))
            path = os.path.join(tmp, "results.json")
            r = run_pop3spec(["run", "--reference", "-q", "--json", path, sc], limit=240, env=env)
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        res = {x["id"]: x for x in doc["results"]}
        self.assertEqual(len(res), HOGS + 1)
        bad = {k: (v["status"], v["message"]) for k, v in res.items() if v["status"] != "pass"}
        self.assertEqual(bad, {}, r.stderr[-2000:])
        three = res["hold/three"]
        retries = [t["text"] for t in three["transcript"] if "refused the connection while" in t["text"]]
        # At most a running scenario's sessions (1.5 s) and its own 2 s sleep: a few retries, not the hogs' run.
        self.assertLess(three["duration_ms"], 8000, retries)
        self.assertLessEqual(len(retries), 5, retries)
        self.assertIn("limits connections per address", r.stderr)

    def test_without_a_limit_nothing_is_said(self):
        r = run_pop3spec(["run", "--reference", "-q", "--filter", "rfc1939/isolation/*", "scenarios"], limit=120)
        self.assertEqual(r.rc, 0, r.stderr[-2000:])
        self.assertNotIn("limits connections per address", r.stderr)


if __name__ == "__main__":
    unittest.main()
