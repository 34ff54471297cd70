"""test_runner_penalty — a server that delays failed logins, growing the delay per address and per user
until a login succeeds (pop3refd --auth-failure-delay; Dovecot's auth penalty works the same way per
address), must cost the run little: the runner spreads the scenarios that fail a login on purpose among the
others, at most half the workers at once, and starts each with a successful login of its account once the
server has shown a penalty (exec_pool.c). Run back to back (the order before), the refusals of one address
grew to 4, 8, 16 s; spread, a scenario with one refused login meets the first delay, doubled at most once
(another worker's refusal between its success and its own)."""

import json
import os
import re
import tempfile
import unittest

from hostile import run_pop3spec

# Scenarios with exactly one refused login each.
ONE_REFUSAL = [
    "rfc5034/auth/wrong-password-refused",
    "sasl/login/wrong-password-refused",
    "rfc2449/code/no-in-use-for-wrong-password",
    "rfc2449/code/no-in-use-for-wrong-apop-digest",
    "rfc1939/apop/wrong-digest-refused",
    "rfc1939/pass/wrong-password-refused",
    "rfc3206/sys/code-only-on-err",
    "rfc1939/authz/lock-released-after-refused-login",
    "rfc2449/len/pass-line-of-255-octets",
    "rfc1939/apop/apop-after-failed-pass",
]
# Scenarios whose logins succeed.
OTHERS = ["rfc1939/stat/*", "rfc1939/list/*", "rfc1939/retr/*", "rfc1939/dele/*", "rfc1939/uidl/*"]
TOOK = re.compile(r"took ([0-9.]+) s to answer")


class Penalty(unittest.TestCase):
    def test_refusals_meet_the_first_delay(self):
        env = dict(os.environ, POP3REFD_ARGS="--auth-failure-delay 2")
        args = ["run", "--reference", "-j", "8", "-q"]
        for f in ONE_REFUSAL + OTHERS:
            args += ["--filter", f]
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-penalty-") as tmp:
            path = os.path.join(tmp, "results.json")
            r = run_pop3spec(args + ["--json", path, "scenarios"], limit=240, env=env)
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        self.assertEqual(r.rc, 0, r.stderr[-2000:])
        res = {x["id"]: x for x in doc["results"]}
        for sid in ONE_REFUSAL:
            self.assertIn(sid, res)
            self.assertEqual(res[sid]["status"], "pass", f"{sid}: {res[sid]['message']}")
        took = {sid: [float(m.group(1)) for t in res[sid]["transcript"] for m in [TOOK.search(t["text"])] if m]
                for sid in ONE_REFUSAL}
        self.assertTrue(all(took.values()), f"the server's delay went unnoticed: {took}")
        # 2 s, or 4 s where another worker's refusal came between; never the 8-16 s of refusals in a row.
        slow = {sid: d for sid, d in took.items() if max(d) > 4.5}
        self.assertEqual(slow, {}, f"refusals met a grown delay: {slow}")


if __name__ == "__main__":
    unittest.main()
