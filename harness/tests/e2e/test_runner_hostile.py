"""test_runner_hostile — the runner against misbehaving servers (issue 3, "Bad input and hostile servers"):
bin/pop3spec run --target PROFILE --timeout 2 over a few RFC 1939 (and RFC 8314) scenarios, the target being
hostile.Hostile in one of its modes. For each: the run ends within a generous wall time (the machine is
shared, so the runner is never timed tightly), the exit status is 1 — or 2 where the fault hits the runner's
probe of the target before anything runs (documented per test) —, every scenario the fault touches is
`fail` or `error` with a message (never `pass`), the others still run, and the runner's peak RSS (wait4)
stays bounded whatever the server sent. A sanity test first shows the same scenarios pass against the
server's good mode, so the verdicts come from the faults. Python 3 stdlib only."""

import json
import os
import re
import shutil
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

import hostile
from hostile import Hostile, POP3SPEC, run_pop3spec, target_profile

GREET = "rfc1939/greet/greeting-is-positive"       # connect, QUIT
LOGIN = "rfc1939/pass/correct-password-logs-in"    # USER, PASS, STAT
LIST = "rfc1939/list/scan-listing-per-message"     # fixture (reset is a no-op), login, LIST multi-line
PLAIN = [GREET, LOGIN, LIST]
TLS_HANDSHAKE = "rfc8314/tls/handshake-at-connect"
TLS12 = "rfc8314/tls/tls-1.2-accepted"
MORE = ["rfc1939/state/noop-before-login", "rfc1939/state/stat-before-login"]
STLS = ["rfc2595/stls/handshake-follows-ok", "rfc2595/stls/authorization-state-kept",
        "rfc2595/stls/capa-implemented"]
NO_TS_NO_APOP = "rfc1939/apop/no-timestamp-no-apop"        # connect (and APOP only without a timestamp)
GRAM1 = "rfc2449/gram/greeting-timestamp-only-angle-bracket"   # match: '^\+OK[^<]*(<[^<>@]+@[^<>]+>[^<]*)?$'
# Scenarios that only run when the probe saw a capability (`requires: [CAPA]`, `[UIDL]`).
NEEDS_CAPA = ["rfc2449/capa/multi-line-list", "rfc2449/capa/capability-line-syntax"]

TIMEOUT = "2"             # --timeout: seconds a step may take
WALL = 60.0               # the whole run must end within this (generous: shared machine)
RSS_LIMIT_KB = 200 * 1024
MB = 1024 * 1024


class HostileRunner(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(POP3SPEC, os.X_OK):
            raise unittest.SkipTest(f"{POP3SPEC} not built (make bin/pop3spec)")
        if not os.path.exists(os.path.join(hostile.TLS_DIR, "server.pem")):
            raise unittest.SkipTest("fixtures/generated/tls missing (make fixtures)")
        cls.tmp = tempfile.mkdtemp(prefix="pop3spec-e2e-hostile-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_against(self, srv, ids, rc, jobs=3, reports=False, timeout=TIMEOUT):
        """Run the scenarios `ids` against srv; assert the exit status, the wall time and memory bound.
        Returns (RunResult, {id: result}) — the results are empty when the run exited 2. With reports,
        also writes JUnit and HTML beside the JSON (self.junit, self.html)."""
        profile = target_profile(os.path.join(self.tmp, self._testMethodName + ".yaml"), srv.port, srv.tls_port)
        js = os.path.join(self.tmp, self._testMethodName + ".json")
        if os.path.exists(js):
            os.unlink(js)
        args = ["run", "--target", profile, "--timeout", str(timeout), "-j", str(jobs), "--json", js]
        if reports:
            self.junit, self.html = js[:-5] + ".xml", js[:-5] + ".html"
            args += ["--junit", self.junit, "--html", self.html]
        for i in ids:
            args += ["--filter", i]
        r = run_pop3spec(args, limit=WALL)   # raises hostile.Hung past WALL
        self.assertEqual(r.rc, rc, f"exit status (server sent {srv.sent} octets)\n{r}")
        self.assertLess(r.maxrss_kb, RSS_LIMIT_KB,
                        f"runner peak RSS {r.maxrss_kb} kB while the server sent {srv.sent} octets\n{r}")
        results = {}
        if rc == 2:
            self.assertFalse(os.path.exists(js), "exit 2: nothing ran, no report")
            self.assertTrue(r.stderr.strip(), "exit 2 says why")
        else:
            with open(js, "rb") as f:
                raw = f.read()
            doc = json.loads(raw.decode("utf-8"))   # strict: the report is valid UTF-8 JSON whatever came
            self.doc = doc
            results = {x["id"]: x for x in doc["results"]}
            self.assertEqual(sorted(results), sorted(ids), "every selected scenario has a result: the run went on")
        return r, results

    def assert_bad(self, results, ids, allowed=("fail", "error"), contains=None):
        for i in ids:
            x = results[i]
            self.assertIn(x["status"], allowed, f"{i}: {x['status']}: {x['message']}")
            self.assertTrue(x["message"], f"{i} is {x['status']} without a message")
            if contains:
                self.assertIn(contains, x["message"], i)

    def assert_pass(self, results, ids):
        for i in ids:
            self.assertEqual(results[i]["status"], "pass", f"{i}: {results[i]['message']}")

    # ---- the control: the same scenarios pass against the good mode -----------------------------------

    def test_good_server_passes(self):
        with Hostile("good", tls=True) as srv:
            _, res = self.run_against(srv, PLAIN + [TLS_HANDSHAKE, TLS12] + MORE, 0)
            self.assert_pass(res, PLAIN + [TLS_HANDSHAKE, TLS12] + MORE)

    # ---- no greeting, no answers ----------------------------------------------------------------------

    def test_never_greets(self):
        with Hostile("silent", spare=1) as srv:
            _, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, PLAIN, ("error",), contains="greeting")

    def test_never_greets_probe_exits_2(self):
        # The probe's own connection gets no greeting: the target does not answer, nothing runs, exit 2.
        with Hostile("silent") as srv:
            r, _ = self.run_against(srv, PLAIN, 2)
            self.assertIn("does not answer", r.stderr)

    def test_greets_then_never_answers(self):
        with Hostile("mute", spare=1) as srv:
            _, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, PLAIN, contains="no response")

    def test_greets_then_never_answers_probe_included(self):
        # The probe gets a greeting (reachable) but no CAPA: the run goes on, exit 1.
        with Hostile("mute") as srv:
            _, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, PLAIN, contains="no response")

    # ---- endless and slow lines -----------------------------------------------------------------------

    def test_endless_greeting_without_crlf(self):
        with Hostile("flood", spare=1) as srv:
            _, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, PLAIN, contains="R1939-GEN-7")
            self.assertGreater(srv.sent, 3 * 64 * 1024, "the server flooded each connection")

    def test_endless_greeting_probe_exits_2(self):
        # Documented: a probe whose greeting never ends (over 64 KiB without CRLF) exits 2 before anything
        # runs; stderr names the reason.
        with Hostile("flood") as srv:
            r, _ = self.run_against(srv, PLAIN, 2)
            self.assertIn("without a line end", r.stderr)

    def test_trickled_greeting(self):
        with Hostile("trickle", spare=1) as srv:
            _, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, PLAIN)

    def test_trickled_greeting_probe_exits_2(self):
        # Documented: the probe gets no complete greeting within the step timeout: exit 2.
        with Hostile("trickle") as srv:
            r, _ = self.run_against(srv, PLAIN, 2)
            self.assertIn("does not answer", r.stderr)

    # ---- broken multi-line responses ------------------------------------------------------------------

    def test_close_mid_multiline(self):
        with Hostile("close_mid", spare=1) as srv:
            _, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, [LIST])
            self.assert_pass(res, [GREET, LOGIN])

    def test_endless_multiline_body(self):
        # A step timeout long enough for the runner to reach its body bound (64 MiB) on a slow machine.
        with Hostile("endless_body", spare=1) as srv:
            r, res = self.run_against(srv, PLAIN, 1, timeout=20)
            self.assert_bad(res, [LIST])
            self.assert_pass(res, [GREET, LOGIN])
            # The runner read its 64 MiB and its memory stayed small.
            self.assertGreater(srv.sent, 64 * MB)
            self.assertLess(r.maxrss_kb, 100 * 1024, r)

    def test_endless_multiline_body_at_4_mb_a_second(self):
        # The body keeps coming, slowly enough that the size bound is never reached: the step timeout ends it.
        with Hostile("endless_body", spare=1, flood_rate=4 * MB) as srv:
            _, res = self.run_against(srv, [LIST], 1)
            self.assert_bad(res, [LIST])

    def test_trickled_multiline_body(self):
        with Hostile("trickle_body", spare=1) as srv:
            _, res = self.run_against(srv, [LIST, LOGIN], 1)
            self.assert_bad(res, [LIST])
            self.assert_pass(res, [LOGIN])

    def test_slow_multiline_body_each_line_on_time(self):
        # A line every 300 ms, never the terminating dot: the timeout bounds the whole response, not a line.
        with Hostile("slow_body", spare=1) as srv:
            _, res = self.run_against(srv, [LIST], 1)
            self.assert_bad(res, [LIST])

    # ---- malformed lines ------------------------------------------------------------------------------

    def test_lower_case_ok(self):
        with Hostile("lower_ok", spare=1) as srv:
            _, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, PLAIN, ("fail",), contains="R1939-GEN-9")

    def test_lower_case_ok_probe_included(self):
        # The probe's greeting is "+ok ...": it answered, badly; the scenarios say how, exit 1. That the
        # accounts went unchecked is said on stderr, with the reply that stopped the probe.
        with Hostile("lower_ok") as srv:
            r, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, PLAIN, ("fail",), contains="R1939-GEN-9")
            self.assertRegex(r.stderr, r"the probe's login as user\d+ stopped at the greeting \('\+ok[^\n]*; "
                             r"the accounts' logins are not checked")

    def test_bare_lf_line_ends(self):
        with Hostile("bare_lf", spare=1) as srv:
            _, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, PLAIN, ("fail",), contains="R1939-GEN-6")

    def test_600_octet_status_line(self):
        with Hostile("long_status", spare=1) as srv:
            _, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, PLAIN, ("fail",), contains="R1939-GEN-7")

    # ---- TLS ------------------------------------------------------------------------------------------

    def test_tls_port_speaks_garbage(self):
        # spare=2: the probe's plain and TLS connections are served well; the scenarios meet the garbage.
        # Something came that is not a handshake: judged, fail (docs/scenario-language.md, "Verdicts").
        with Hostile("good", spare=2, tls=True, tls_mode="garbage") as srv:
            _, res = self.run_against(srv, [TLS_HANDSHAKE, TLS12, GREET], 1)
            self.assert_bad(res, [TLS_HANDSHAKE, TLS12], ("fail",))
            self.assert_pass(res, [GREET])

    def test_tls_port_speaks_garbage_probe_included(self):
        # The TLS probe fails, the plain one works: the target is reachable, the run goes on, exit 1.
        with Hostile("good", tls=True, tls_mode="garbage") as srv:
            _, res = self.run_against(srv, [TLS_HANDSHAKE, TLS12, GREET], 1)
            self.assert_bad(res, [TLS_HANDSHAKE, TLS12])
            self.assert_pass(res, [GREET])

    def test_tls_handshake_never_answered(self):
        # Nothing came while setting the session up: an error, as a greeting never sent is.
        with Hostile("good", spare=2, tls=True, tls_mode="stall") as srv:
            _, res = self.run_against(srv, [TLS_HANDSHAKE, TLS12, GREET], 1)
            self.assert_bad(res, [TLS_HANDSHAKE, TLS12], ("error",), contains="no answer")
            self.assert_pass(res, [GREET])

    def test_every_reply_sent_twice(self):
        # Replies nobody asked for (the greeting twice, then each answer twice): the client is out of step
        # with the server from the first command; no scenario may pass.
        with Hostile("double", spare=1) as srv:
            _, res = self.run_against(srv, PLAIN + MORE, 1)
            self.assert_bad(res, PLAIN + MORE)

    def test_octets_after_the_last_step_are_checked(self):
        # A scenario whose last step reads the greeting once: the second greeting comes after it, and was
        # never asked for (R1939-GEN-2). The same scenario passes against the good mode, where nothing more
        # comes (and QUIT's close is no octet).
        ids = [NO_TS_NO_APOP, GREET]
        with Hostile("good") as srv:
            _, res = self.run_against(srv, ids, 0)
            self.assert_pass(res, ids)
        with Hostile("double", spare=1) as srv:
            _, res = self.run_against(srv, ids, 1)
            self.assert_bad(res, ids, ("fail",))
            self.assertIn("R1939-GEN-2", res[NO_TS_NO_APOP]["message"])

    def test_status_line_of_512_octets_passes_513_fails(self):
        # Exactness at the RFC 2449 §4 bound: 512 octets with the CRLF is allowed, one more is not.
        with Hostile("long_status", status_len=512) as srv:
            _, res = self.run_against(srv, PLAIN, 0)
            self.assert_pass(res, PLAIN)
        with Hostile("long_status", status_len=513) as srv:
            _, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, PLAIN, ("fail",), contains="R1939-GEN-7")

    def test_hangs_up_before_greeting(self):
        # Closed without a word: nothing to judge, an error like a refused connection (and like a greeting
        # never sent, test_never_greets).
        with Hostile("hangup", spare=1) as srv:
            _, res = self.run_against(srv, PLAIN, 1)
            self.assert_bad(res, PLAIN, ("error",), contains="closed")

    def test_hangs_up_before_greeting_probe_exits_2(self):
        # Documented: the probe's connection is closed before any greeting: the target does not answer.
        with Hostile("hangup") as srv:
            r, _ = self.run_against(srv, PLAIN, 2)
            self.assertIn("does not answer", r.stderr)

    def test_reports_escape_binary_replies(self):
        # Replies full of NUL, controls, invalid UTF-8 and markup: the JSON stays strict UTF-8, the JUnit
        # well-formed XML (no control characters), the HTML holds no raw NUL and no live markup from them.
        with Hostile("binary") as srv:
            _, res = self.run_against(srv, PLAIN, 0, reports=True)
            self.assert_pass(res, PLAIN)
        lines = [t["text"] for t in res[LOGIN]["transcript"] if isinstance(t, dict) and t.get("kind") == "S"]
        self.assertTrue(any("\\x00" in l and "\\x1b" in l for l in lines), lines)
        root = ET.parse(self.junit).getroot()
        self.assertEqual(len(list(root.iter("testcase"))), len(PLAIN))
        with open(self.junit, "rb") as f:
            self.assertIsNone(re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", f.read()), "control octet in XML")
        with open(self.html, "rb") as f:
            html = f.read()
        self.assertNotIn(b"\x00", html)
        self.assertNotIn(b"<b>&amp;", html)
        self.assertNotIn(b"</script><!--", html)

    # ---- STLS (RFC 2595) ------------------------------------------------------------------------------

    def test_stls_good_passes(self):
        with Hostile("good", stls=True) as srv:
            _, res = self.run_against(srv, STLS + [GREET], 0)
            self.assert_pass(res, STLS + [GREET])

    def test_stls_answered_with_garbage(self):
        with Hostile("stls_garbage", spare=1, stls=True) as srv:
            _, res = self.run_against(srv, STLS + [GREET], 1)
            self.assert_bad(res, STLS)
            self.assert_pass(res, [GREET])

    def test_stls_handshake_never_answered(self):
        # After the greeting and STLS's +OK the session is set up: a stalled handshake is judged, fail.
        with Hostile("stls_stall", spare=1, stls=True) as srv:
            _, res = self.run_against(srv, STLS + [GREET], 1)
            self.assert_bad(res, STLS, ("fail",))
            self.assert_pass(res, [GREET])

    # ---- runner bugs found here (expected failures until fixed) ---------------------------------------

    def test_nul_octet_does_not_hide_the_rest_of_a_line(self):
        # regexec(3) on a C string would see a response line only up to its first NUL, so `match`,
        # `not_match`, `contains`, `capture` would never look past one (runner/rx.c matches by length). This
        # greeting has a second "<" after a NUL: it fails GRAM1, as the same greeting without the NUL does.
        with Hostile("binary", junk=b"<x>") as srv:
            _, res = self.run_against(srv, [GRAM1], 1)
            self.assert_bad(res, [GRAM1], ("fail",))
        with Hostile("binary", junk=b"\x00 <x>") as srv:
            _, res = self.run_against(srv, [GRAM1], 1)
            self.assert_bad(res, [GRAM1], ("fail",))

    def test_report_greeting_keeps_octets_after_nul(self):
        # The report's top-level "greeting" is not cut at a NUL octet (written \x00).
        with Hostile("binary", junk=b"\x00 after-nul") as srv:
            self.run_against(srv, [GREET], 0)
        self.assertIn("\\x00 after-nul", self.doc["greeting"])

    def test_unanswered_capa_probe_does_not_pass_the_run(self):
        # The server greets and then never answers: the probe's CAPA times out. A missing answer is not a
        # -ERR: CAPA (and every capability) is unknown, not absent, so the `requires:` scenarios error
        # (they once skipped as "unsupported: CAPA", and the run exited 0 against a server that answers
        # nothing).
        with Hostile("mute") as srv:
            r, res = self.run_against(srv, NEEDS_CAPA, 1)
            self.assert_bad(res, NEEDS_CAPA, ("error",), contains="the probe could not learn")
            self.assertIn("no response", res[NEEDS_CAPA[0]]["message"])
            self.assertIn("the probe could not learn the capabilities", r.stderr)

    def test_malformed_greeting_probe_does_not_skip_as_unsupported(self):
        # The probe's greeting is "+ok ..." (fails R1939-GEN-9): nothing it would have learnt is known, so
        # the `requires:` scenarios error instead of skipping "unsupported: ..." (exit 0 before).
        with Hostile("lower_ok") as srv:
            _, res = self.run_against(srv, NEEDS_CAPA, 1)
            self.assert_bad(res, NEEDS_CAPA, ("error",), contains="R1939-GEN-9")

    def test_endless_capa_probe_does_not_skip_as_unsupported(self):
        # CAPA answered +OK with a body that never ends: unknown capabilities, not "CAPA unsupported".
        with Hostile("endless_capa") as srv:
            _, res = self.run_against(srv, NEEDS_CAPA, 1)
            self.assert_bad(res, NEEDS_CAPA, ("error",), contains="CAPA")

    def test_console_summary_names_a_check_requirement_once(self):
        # The console summary once repeated a per-response check's id:
        # "FAIL  id: ... status indicator not in upper case: +ok ... [R1939-GEN-9] [R1939-GEN-9]".
        with Hostile("lower_ok", spare=1) as srv:
            r, _ = self.run_against(srv, [GREET], 1)
        self.assertNotIn("[R1939-GEN-9] [R1939-GEN-9]", r.stdout)
        self.assertIn("[R1939-GEN-9]", r.stdout)

    # ---- the server dies ------------------------------------------------------------------------------

    def test_server_dies_between_scenarios(self):
        # -j 1, ids in order: GREET first. The server dies once it has answered its 8th QUIT (the probe's,
        # the probe's logins with the profile's 6 accounts, then GREET's): every later scenario finds the
        # port closed and errors; the run ends, exit 1.
        ids = PLAIN + MORE
        with Hostile("good", die_after_quits=8) as srv:
            _, res = self.run_against(srv, ids, 1, jobs=1)
            self.assert_pass(res, [GREET])
            self.assert_bad(res, [i for i in ids if i != GREET], ("error",))

    def test_server_dies_mid_scenario(self):
        # The server greets and goes silent; once the first two scenarios (-j 2) are connected and waiting
        # for answers, it dies (connections reset, port closed). Those and the ones after fail or error;
        # the run ends.
        ids = PLAIN + MORE
        with Hostile("mute", spare=1) as srv:
            def killer():
                while srv.connections < 3 and not srv.dead.is_set():   # the probe's, then two scenarios'
                    time.sleep(0.02)
                time.sleep(0.3)
                srv.kill()
            t = threading.Thread(target=killer, daemon=True)
            t.start()
            _, res = self.run_against(srv, ids, 1, jobs=2)
            t.join(5)
            self.assert_bad(res, ids)
            self.assertGreater(srv.connections, 1, "the probe was served before the server died")


if __name__ == "__main__":
    unittest.main()
