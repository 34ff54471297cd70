"""test_runner_targets — the runner's verdicts on servers that differ from pop3refd in ways the RFCs allow
(issue 8): slow login replies, a lock held a while after a dropped connection, no USER/PASS, no CAPA; and
profile mistakes that must stop the run before any scenario (exit 2). Each server is the real bin/pop3refd
behind proxy.Proxy, which adds exactly one behaviour; the runner must pass what pop3refd passes. Python 3
stdlib only."""

import json
import os
import shutil
import tempfile
import threading
import time
import unittest

import pop3test
import hostile
from hostile import POP3SPEC, Hostile, run_pop3spec
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


class ProfileMistakes(TargetsRunner):
    def test_wrong_password_exits_2_before_any_scenario(self):
        """A wrong password in the profile is the profile's mistake: exit 2 and one sentence naming the
        account, no report, no scenario run (not 100 failures citing RFC rows)."""
        accounts = dict(ACCOUNTS, user3="not-the-password")
        with Proxy(self.srv.port) as px:
            r, res = self.run_ids(px, ["rfc1939/stat/*"], 2, jobs=1, accounts=accounts)
        self.assertEqual(res, {})
        self.assertIn("cannot log in as user3", r.stderr)
        self.assertIn("password in the profile", r.stderr)
        self.assertNotIn("PASS  ", r.stdout)

    def test_busy_maildrop_at_the_probe_is_waited_for(self):
        """Another session holds user1's maildrop when the run starts (a mail client, a session an
        interrupted run left): [IN-USE] means the credentials were right, so the probe waits; released
        after 2 s, the run goes on. Never released: exit 2 saying so, not 'check the password'."""
        holder = self.srv.login("user1")
        threading.Timer(2.0, holder.close).start()
        with Proxy(self.srv.port) as px:
            r, res = self.run_ids(px, ["rfc1939/stat/agrees-with-list"], 0, jobs=1)
        self.assertEqual(res["rfc1939/stat/agrees-with-list"]["status"], "pass")
        holder = self.srv.login("user1")
        try:
            with Proxy(self.srv.port) as px:
                r, res = self.run_ids(px, ["rfc1939/stat/agrees-with-list"], 2, jobs=1, extra=["lock_retry: 1"])
        finally:
            holder.close()
        self.assertIn("cannot log in as user1: its maildrop stayed locked by another session", r.stderr)
        self.assertNotIn("password", r.stderr)


class TlsOnlyMistake(TargetsRunner):
    server_args = ("--plaintext-auth", "tls-only")

    @classmethod
    def setUpClass(cls):
        if not os.access(POP3SPEC, os.X_OK):
            raise unittest.SkipTest(f"{POP3SPEC} not built (make bin/pop3spec)")
        cls.tmp = tempfile.mkdtemp(prefix="pop3spec-e2e-targets-")
        cls.srv = pop3test.Server(users=ACCOUNTS, maildrops={u: [] for u in ACCOUNTS}, tls=True,
                                  args=cls.server_args).start()

    def test_login_tls_false_on_tls_only_server(self):
        """login_tls: false against a server that takes passwords only over TLS: exit 2, and the sentence
        says what to change."""
        class Direct:
            port = self.srv.port
        r, res = self.run_ids(Direct, ["rfc1939/stat/*"], 2, jobs=1,
                              extra=["login_tls: false", "tls_verify: false"])
        self.assertIn("cannot log in as user1", r.stderr)
        self.assertIn("login_tls", r.stderr)
        self.assertEqual(res, {})

    def test_login_tls_auto_on_tls_only_server_runs(self):
        """The same server with login_tls left to auto: the probe logs in over STLS and scenarios run."""
        class Direct:
            port = self.srv.port
        r, res = self.run_ids(Direct, ["rfc1939/stat/agrees-with-list"], 0, jobs=1, extra=["tls_verify: false"])
        self.assertEqual(res["rfc1939/stat/agrees-with-list"]["status"], "pass")


# `login: {}` scenarios, and one about USER/PASS.
LOGGED_IN = ["rfc1939/stat/agrees-with-list", "rfc1939/list/scan-listing-per-message",
             "rfc1939/quit/removes-marked"]
ABOUT_USER = "rfc1939/pass/correct-password-logs-in"


class NoUserPass(TargetsRunner):
    def check_way(self, px, way, note):
        r, res = self.run_ids(px, LOGGED_IN + [ABOUT_USER], 0, jobs=2)
        for i in LOGGED_IN:
            self.assertIn(i, res, sorted(res))
            self.assertEqual(res[i]["status"], "pass", f"{i}: {res[i].get('message')}\n{self.transcript(res[i])}")
            self.assertIn(note, self.transcript(res[i]))
        self.assertEqual(res[ABOUT_USER]["status"], "skip", res[ABOUT_USER])
        self.assertIn("USER/PASS", res[ABOUT_USER]["message"])
        with open(os.path.join(self.tmp, self._testMethodName + ".json")) as f:
            self.assertEqual(json.load(f)["login_method"], way)
        self.assertIn(f"Logins used {way}", r.stdout)

    def test_apop_when_no_user(self):
        """CAPA without USER and USER refused, an APOP timestamp in the greeting: `login: {}` uses APOP."""
        with Proxy(self.srv.port, no_user=True) as px:
            self.check_way(px, "APOP", "login with APOP")
            self.assertIn("USER refused", px.events)

    def test_sasl_when_no_user_no_apop(self):
        """No USER, no timestamp: `login: {}` uses the best SASL mechanism the server lists (SCRAM-SHA-256)."""
        with Proxy(self.srv.port, no_user=True, no_timestamp=True) as px:
            self.check_way(px, "AUTH SCRAM-SHA-256", "login with AUTH SCRAM-SHA-256")


# Scenarios that require TOP or UIDL (learnt from CAPA where there is one).
OPTIONAL = ["rfc1939/top/no-such-message", "rfc1939/top/zero-lines", "rfc1939/uidl/ids-distinct",
            "rfc1939/uidl/no-such-message"]


class NoCapa(TargetsRunner):
    def test_top_and_uidl_learnt_by_trying(self):
        """A pure RFC 1939 server (CAPA gets -ERR) that implements TOP and UIDL: the probe tries them and
        their scenarios run and pass instead of skipping as unsupported."""
        with Proxy(self.srv.port, no_capa=True) as px:
            r, res = self.run_ids(px, OPTIONAL, 0, jobs=2)
            self.assertIn("CAPA refused", px.events)
        for i in OPTIONAL:
            self.assertEqual(res[i]["status"], "pass", f"{i}: {res[i].get('message')}")


DROPS = ["rfc1939/upd/lock-released-after-drop", "rfc1939/upd/drop-removes-nothing",
         "rfc1939/upd/reset-removes-nothing", "rfc1939/upd/half-close-removes-nothing",
         "rfc1939/uidl/stable-after-drop"]


class LockAfterDrop(TargetsRunner):
    def test_lock_held_2s_after_drop_is_no_fail(self):
        """The server keeps the lock 2 s after a dropped connection: the login after the drop meets
        -ERR [IN-USE] and is retried, visibly; nothing fails."""
        with Proxy(self.srv.port, hold_after_drop=2.0) as px:
            r, res = self.run_ids(px, DROPS, 0, jobs=2)
            self.assertTrue(any(e.startswith("held 2.0 s after a drop") for e in px.events), px.events)
        for i in DROPS:
            self.assertEqual(res[i]["status"], "pass", f"{i}: {res[i].get('message')}\n{self.transcript(res[i])}")
        t = self.transcript(res["rfc1939/upd/lock-released-after-drop"])
        self.assertIn("[IN-USE]", t)
        self.assertIn("retry 1 in", t)
        self.assertIn("logged in after", t)

    def test_abandoned_session_waited_out_before_the_next_scenario(self):
        """login-batched ends after raw octets, so its logged-in session is closed without QUIT; the
        server keeps the lock 2 s. The worker's next scenario types USER/PASS itself (no login step to
        retry): the runner waits the lock out before it starts, visibly, and it passes."""
        ids = ["rfc2449/pipe/login-batched", "rfc2449/user/tag-means-user-pass-works"]
        with Proxy(self.srv.port, hold_after_drop=2.0) as px:
            r, res = self.run_ids(px, ids, 0, jobs=1)
        for i in ids:
            self.assertEqual(res[i]["status"], "pass", f"{i}: {res[i].get('message')}\n{self.transcript(res[i])}")
        self.assertIn("connection closed without QUIT", self.transcript(res[ids[0]]))
        self.assertIn("whose session the previous scenario dropped, was free after", self.transcript(res[ids[1]]))

    def test_lock_held_after_quit_is_the_servers_deviation(self):
        """After QUIT's +OK and close the lock must be free (RFC 1939 §6): a server that still holds it is
        failed at once, without retries."""
        with Proxy(self.srv.port, hold_after_quit=3.0) as px:
            r, res = self.run_ids(px, ["rfc1939/quit/closes-and-releases-lock"], 1, jobs=1)
        x = res["rfc1939/quit/closes-and-releases-lock"]
        self.assertEqual(x["status"], "fail", x)
        self.assertIn("IN-USE", x["message"])
        self.assertNotIn("retry", self.transcript(x))


    def test_server_left_open_after_quit_costs_one_wait(self):
        """A server that answers QUIT but leaves the connection open: the runner's end-of-scenario QUIT
        waits the step timeout once, then only briefly, so the run is not slowed scenario by scenario."""
        ids = ["rfc1939/stat/*", "rfc1939/list/*"]
        with Proxy(self.srv.port, quit_left_open=True) as px:
            t0 = time.monotonic()
            r, res = self.run_ids(px, ids, 0, jobs=1, args=["--timeout", "4"])
            took = time.monotonic() - t0
            self.assertIn("left open after QUIT", px.events)
        self.assertGreaterEqual(len(res), 8)
        notes = sum("did not close the connection within 0.2 s" in self.transcript(x) for x in res.values())
        self.assertGreaterEqual(notes, 5)
        self.assertLess(took, 4 * len(res) / 2, r)


class SharedReason(unittest.TestCase):
    def test_one_cause_is_said_first(self):
        """A server that greets and then never answers: every scenario fails the same way. Console (before
        the list of failures), HTML (in its header) and JSON (`shared_reason`) say it once."""
        tmp = tempfile.mkdtemp(prefix="pop3spec-e2e-shared-")
        self.addCleanup(shutil.rmtree, tmp, True)
        with Hostile("mute", spare=1) as srv:
            prof = hostile.target_profile(os.path.join(tmp, "t.yaml"), srv.port)
            js, html = os.path.join(tmp, "r.json"), os.path.join(tmp, "r.html")
            r = run_pop3spec(["run", "--target", prof, "--timeout", "1", "-j", "3", "--json", js, "--html", html,
                              "--filter", "rfc1939/state/*"], limit=WALL)
        self.assertEqual(r.rc, 1, r)
        with open(js) as f:
            j = json.load(f)
        sr = j["shared_reason"]
        self.assertGreaterEqual(sr["count"], 5)
        self.assertGreaterEqual(2 * sr["count"], sr["of"])
        # The same timeout everywhere, or, once the runner has seen the server stop answering and ended the
        # run (runner/watch), the scenarios it did not run.
        self.assertRegex(sr["reason"], r"no response within 1\.0 s|not run: the server stopped answering")
        self.assertIn("Shared reason:", r.stdout)
        self.assertLess(r.stdout.index("Shared reason:"), r.stdout.index("Failed:"))
        with open(html) as f:
            page = f.read()
        self.assertLess(page.index("Shared reason:"), page.index("</header>"))


# Scenarios that log in once, twice in a row (QUIT, then a new session on the same account), and one that
# types USER/PASS itself; with min_poll each account's logins must be 2 s apart.
PACED = ["rfc1939/dele/*", "rfc1939/quit/unmarked-kept", "rfc1939/quit/removes-marked",
         "rfc1939/uidl/stable-across-sessions", "rfc1939/retr/does-not-delete",
         "rfc1939/pass/correct-password-logs-in", "rfc2449/ldelay/*", "rfc2449/ldelay/enforced",
         "rfc2449/ldelay/no-code-on-user"]


class LoginDelay(TargetsRunner):
    def test_paced_by_login_delay(self):
        """A server announcing LOGIN-DELAY 2 and refusing a faster login with -ERR [LOGIN-DELAY] (Debian's
        Cyrus, popminpoll): logins per account are spaced by the delay, visibly; nothing fails."""
        with Proxy(self.srv.port, min_poll=2.0) as px:
            r, res = self.run_ids(px, PACED, 0, jobs=2)
            refused = [e for e in px.events if e.startswith("LOGIN-DELAY refused")]
        self.assertGreater(len(res), 12, r)
        bad = {i: x.get("message") for i, x in res.items() if x["status"] in ("fail", "error", "warn")}
        self.assertEqual(bad, {}, r.stdout)
        waits = [i for i, x in res.items() if "the server's LOGIN-DELAY (2 s" in self.transcript(x)]
        self.assertGreater(len(waits), 5, r.stdout)
        # The scenario about the delay itself still meets it: its own PASS inside the delay is refused.
        self.assertEqual(res["rfc2449/ldelay/enforced"]["status"], "pass", r.stdout)
        self.assertIn("S -ERR [LOGIN-DELAY]", self.transcript(res["rfc2449/ldelay/enforced"]))
        self.assertEqual(len(refused), 1, px.events)   # that one, and no other

    def test_probe_waits_out_an_earlier_runs_logins(self):
        """Every account but the first logged in moments before the run (mail clients): the probe meets
        -ERR [LOGIN-DELAY] on each, says so once, waits once for all of them, and the run passes."""
        import poplib
        with Proxy(self.srv.port, min_poll=3.0) as px:
            for u, pw in list(ACCOUNTS.items())[1:]:
                p = poplib.POP3("127.0.0.1", px.port, timeout=10)
                p.user(u)
                p.pass_(pw)
                p.quit()
            t0 = time.monotonic()
            r, res = self.run_ids(px, ["rfc1939/dele/marks-message"], 0, jobs=3)
            took = time.monotonic() - t0
            refused = [e for e in px.events if e.startswith("LOGIN-DELAY refused")]
        self.assertEqual(res["rfc1939/dele/marks-message"]["status"], "pass", r.stdout)
        self.assertGreaterEqual(len(refused), 3, px.events)
        self.assertRegex(r.stderr, r"[3-5] accounts refused with \[LOGIN-DELAY\]")
        for u in list(ACCOUNTS)[1:]:   # each logged in in the end
            self.assertGreaterEqual(px.events.count(f"login {u}"), 2, px.events)
        self.assertLess(took, 12, r)  # one wait for all accounts, not one per account in turn (5 x 4 s)

    def test_unpaced_run_fails(self):
        """The same server announcing LOGIN-DELAY 0 (so the runner does not pace), with the one retry after
        a refusal bounded to 0.5 s: logins are refused and scenarios fail — the pacing is what passes the
        run above."""
        with Proxy(self.srv.port, min_poll=2.0, announce=0) as px:
            r, res = self.run_ids(px, PACED, 1, jobs=2, extra=["login_delay_max: 0.5"])
        failed = [i for i, x in res.items() if x["status"] in ("fail", "error")]
        self.assertGreater(len(failed), 3, r.stdout)
        self.assertTrue(any("S -ERR [LOGIN-DELAY]" in self.transcript(res[i]) for i in failed), r.stdout)

    def test_refusal_waited_out_once(self):
        """A login the runner could not foresee is refused (the server enforces 2 s but announces 0): a
        `login:` without its own expect waits out the refusal once (login_delay_max, as no delay is
        announced), visibly, and passes."""
        with Proxy(self.srv.port, min_poll=2.0, announce=0) as px:
            r, res = self.run_ids(px, ["rfc1939/quit/unmarked-kept", "rfc1939/retr/does-not-delete"], 0,
                                  jobs=1, extra=["login_delay_max: 5"])
        text = "\n".join(self.transcript(x) for x in res.values())
        self.assertIn("login refused with [LOGIN-DELAY]: waiting 5.0 s", text, r.stdout)
        self.assertIn("logged in after waiting out [LOGIN-DELAY]", text, r.stdout)


if __name__ == "__main__":
    unittest.main()


class SilenceMin(TargetsRunner):
    def test_silence_min_lengthens_nothing_comes_windows(self):
        """The profile's silence_min (docs/targets.md) is a floor under every "nothing comes" window: the
        suite's 0.5 s after the greeting lasts 1.5 s with `silence_min: 1.5`, and the verdict stays a pass."""
        ids = ["rfc1939/gen/server-speaks-first"]
        with Proxy(self.srv.port) as px:
            r, short = self.run_ids(px, ids, 0, jobs=1)
            r, long_ = self.run_ids(px, ids, 0, jobs=1, extra=["silence_min: 1.5"])
        self.assertEqual(short[ids[0]]["status"], "pass", self.transcript(short[ids[0]]))
        self.assertEqual(long_[ids[0]]["status"], "pass", self.transcript(long_[ids[0]]))
        self.assertLess(short[ids[0]]["duration_ms"], 1400)
        self.assertGreaterEqual(long_[ids[0]]["duration_ms"], 1500)
