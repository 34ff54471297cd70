"""test_runner_penalty — a server that delays failed logins, growing the delay per address and per user
until a login succeeds (pop3refd --auth-failure-delay; Dovecot's auth penalty works the same way per
address), must cost the run little: the runner spreads the scenarios that fail a login on purpose among the
others, at most half the workers at once, and starts each with a successful login of its accounts once the
server has shown a penalty (exec_pool.c). Run back to back (the order before), the suite's refusals grew
to 16 and 30 s: with --auth-failure-delay 2 the delays summed to 368 s (304 s with the unknown user names
spread alone); spread, 154-184 s, of which the scenarios' own repeated refusals in one session are most."""

import json
import os
import re
import tempfile
import unittest

from hostile import run_pop3spec

TOOK = re.compile(r"took ([0-9.]+) s to answer")


class Penalty(unittest.TestCase):
    def test_refusals_spread_pay_little(self):
        env = dict(os.environ, POP3REFD_ARGS="--auth-failure-delay 2")
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-penalty-") as tmp:
            path = os.path.join(tmp, "results.json")
            # pop3refd's penalty doubles up to 30 s: the runner's default allowance for a login reply (60 s,
            # TARGET_DEFAULT_LOGIN_TIMEOUT) is above that cap, so a reply at the cap never races it. No
            # --login-timeout here: the default must do.
            r = run_pop3spec(["run", "--reference", "-q", "--json", path, "scenarios"],
                             limit=400, env=env)
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        # slow is not wrong: every verdict as without the delay
        self.assertEqual(r.rc, 0, "\n".join(line for line in r.stdout.splitlines()
                                            if line.startswith(("FAIL", "ERROR", "WARN")))[-3000:]
                         + r.stderr[-2000:])
        delays = [float(m.group(1)) for res in doc["results"] for t in res["transcript"]
                  for m in [TOOK.search(t["text"])] if m]
        self.assertGreater(len(delays), 40, "the server's delay went unnoticed")
        # the old order (refusals last, back to back) met 368 s of delays; spread, 172-208 s
        self.assertLess(sum(delays), 300, f"the refusals met grown delays: {sorted(delays)[-12:]}")


if __name__ == "__main__":
    unittest.main()
