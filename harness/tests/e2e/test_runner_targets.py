"""test_runner_targets — the runner's verdicts on servers that differ from pop3refd in ways the RFCs allow
(issue 8): slow login replies, a lock held a while after a dropped connection, no USER/PASS, no CAPA; and
profile mistakes that must stop the run before any scenario (exit 2). Each server is the real bin/pop3refd
behind proxy.Proxy, which adds exactly one behaviour; the runner must pass what pop3refd passes. Python 3
stdlib only."""

import json
import os
import shutil
import tempfile
import time
import unittest

import pop3test
from hostile import POP3SPEC, run_pop3spec
from proxy import Proxy

ACCOUNTS = {f"user{i}": f"pass{i}" for i in range(1, 7)}
WALL = 240.0   # generous: the machine is shared, and the slow-login test waits 8 s per login on purpose


def profile(path, port, maildirs, accounts=None, extra=()):
    accounts = ACCOUNTS if accounts is None else accounts
    lines = ["name: proxied pop3refd", "host: 127.0.0.1", f"port: {port}", f"maildirs: {maildirs}",
             "accounts:"]
    lines += [f"  - {{user: {u}, password: \"{p}\"}}" for u, p in accounts.items()]
    lines += list(extra)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class TargetsRunner(unittest.TestCase):
    server_args = ()

    @classmethod
    def setUpClass(cls):
        if not os.access(POP3SPEC, os.X_OK):
            raise unittest.SkipTest(f"{POP3SPEC} not built (make bin/pop3spec)")
        cls.tmp = tempfile.mkdtemp(prefix="pop3spec-e2e-targets-")
        cls.srv = pop3test.Server(users=ACCOUNTS, maildrops={u: [] for u in ACCOUNTS}, tls=False,
                                  args=cls.server_args).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_ids(self, proxy, ids, rc, jobs=3, extra=(), args=(), accounts=None):
        """Run scenarios `ids` against the proxy; assert the exit status; return (RunResult, {id: result})."""
        name = self._testMethodName
        prof = profile(os.path.join(self.tmp, name + ".yaml"), proxy.port, self.srv.maildirs, accounts, extra)
        js = os.path.join(self.tmp, name + ".json")
        if os.path.exists(js):
            os.unlink(js)
        argv = ["run", "--target", prof, "-j", str(jobs), "--json", js] + list(args)
        for i in ids:
            argv += ["--filter", i]
        r = run_pop3spec(argv, limit=WALL)
        self.assertEqual(r.rc, rc, f"exit status\n{r}")
        results = {}
        if os.path.exists(js):
            with open(js) as f:
                results = {x["id"]: x for x in json.load(f)["results"]}
        return r, results

    @staticmethod
    def transcript(res):
        return "\n".join(f"{t.get('kind', '')} {t.get('text', '')}" for t in res.get("transcript", []))


# Logged-in scenarios of several kinds: USER/PASS typed by the scenario, the login step, a wrong password.
SLOW = ["rfc1939/pass/correct-password-logs-in", "rfc1939/pass/wrong-password-refused",
        "rfc1939/stat/agrees-with-list", "rfc1939/apop/correct-digest-logs-in"]


class SlowLogins(TargetsRunner):
    def test_logins_delayed_8s_pass(self):
        """Every login reply 8 s late (more than the 5 s step timeout): nothing fails, and the report says
        how long the server took (transcript, JSON login_delay_ms, console)."""
        with Proxy(self.srv.port, login_delay=8.0) as px:
            t0 = time.monotonic()
            r, res = self.run_ids(px, SLOW, 0, jobs=3)
            took = time.monotonic() - t0
        self.assertEqual(set(res), set(SLOW), r)
        for i in SLOW:
            self.assertEqual(res[i]["status"], "pass", f"{i}: {res[i].get('message')}\n{self.transcript(res[i])}")
            self.assertGreaterEqual(res[i].get("login_delay_ms", 0), 7500, i)
            self.assertIn("to answer", self.transcript(res[i]))
        self.assertIn("Slow logins: the server took up to 8.", r.stdout)
        self.assertLess(took, WALL)

    def test_silent_login_is_a_clear_fail(self):
        """A server that never answers a wrong password: the scenario ends at the login deadline, as a
        fail that says so — not a hang, not a pass."""
        with Proxy(self.srv.port, silent_bad_login=True, passwords=ACCOUNTS.values()) as px:
            r, res = self.run_ids(px, ["rfc1939/pass/wrong-password-refused"], 1, jobs=1,
                                  extra=["login_timeout: 3"], args=["--timeout", "1"])
        x = res["rfc1939/pass/wrong-password-refused"]
        self.assertEqual(x["status"], "fail", x)
        self.assertIn("no response within 3.0 s (login_timeout)", x["message"])

    def test_login_timeout_flag_overrides_profile(self):
        """--login-timeout wins over the profile's login_timeout (the step timeout stays 1 s)."""
        with Proxy(self.srv.port, silent_bad_login=True, passwords=ACCOUNTS.values()) as px:
            r, res = self.run_ids(px, ["rfc1939/pass/wrong-password-refused"], 1, jobs=1,
                                  extra=["login_timeout: 60"], args=["--login-timeout", "2", "--timeout", "1"])
        self.assertIn("no response within 2.0 s (login_timeout)",
                      res["rfc1939/pass/wrong-password-refused"]["message"])


if __name__ == "__main__":
    unittest.main()
