"""test_client_mode — `pop3spec client run` end to end: the built-in server, real client processes over
real sockets. poplib (fixtures/clients/poplib.yaml, a correct client) must pass every client scenario;
a deliberately broken client (broken_client.py) must fail exactly where its fault is; the reports carry
mode "client" and the profile's name."""

import json
import os
import tempfile
import unittest

from hostile import ROOT, run_pop3spec

HERE = os.path.dirname(os.path.abspath(__file__))


def broken_profile(tmp, fault):
    path = os.path.join(tmp, f"broken-{fault}.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"""name: broken-{fault}
command: [python3, "{HERE}/broken_client.py", --host, "{{host}}", --port, "{{port}}",
          --maildir, "{{workdir}}/Maildir", --password, "{{password}}", --fault, {fault}]
modes:
  plain: []
  stls: [--stls, --cafile, "{{cafile}}"]
  delete: [--delete]
  implicit_tls: [--tls, --port, "{{tls_port}}", --cafile, "{{cafile}}"]
  sasl CRAM-MD5: [--sasl, CRAM-MD5]
  uidl: [--uidl-file, "{{workdir}}/uidl"]
delivery: {{kind: maildir, path: "{{workdir}}/Maildir"}}
timeout: 10
""")
    return path


def client_run(profile, *extra, limit=240):
    with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-client-") as tmp:
        js = os.path.join(tmp, "r.json")
        ju = os.path.join(tmp, "r.xml")
        r = run_pop3spec(["client", "run", "--client", profile, "-j", "2", "-q", "--json", js, "--junit", ju,
                          *extra], limit=limit)
        with open(js, encoding="utf-8") as f:
            doc = json.load(f)
        with open(ju, encoding="utf-8") as f:
            junit = f.read()
        return r, doc, junit


def by_id(doc):
    return {res["id"]: res for res in doc["results"]}


class ClientMode(unittest.TestCase):
    def test_poplib_passes_everything(self):
        r, doc, junit = client_run(os.path.join(ROOT, "fixtures/clients/poplib.yaml"))
        bad = {k: v for k, v in by_id(doc).items() if v["status"] not in ("pass", "skip")}
        self.assertEqual(bad, {}, "; ".join(f"{k}: {v['status']} {v.get('message')}" for k, v in bad.items()))
        self.assertEqual(r.rc, 0, r.stderr[-2000:])
        self.assertEqual(doc["mode"], "client")
        self.assertEqual(doc["target"], "poplib")
        self.assertGreaterEqual(doc["summary"]["passed"], 20)
        self.assertIn("<testsuite", junit)

    def test_server_suite_does_not_load_client_scenarios(self):
        r = run_pop3spec(["list"])
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertNotIn("clients/", r.stdout)
        # Named explicitly, a client scenario is refused by `run` (it has no steps: it must never pass).
        r = run_pop3spec(["run", "--reference", "scenarios/clients/rfc1939/apop.yaml"])
        self.assertEqual(r.rc, 2, r.stdout)
        self.assertIn("pop3spec client run", r.stderr)

    def test_coverage_counts_the_client_catalog(self):
        r = run_pop3spec(["coverage", "scenarios/clients"])
        self.assertEqual(r.rc, 0, r.stdout[-2000:] + r.stderr[-2000:])
        self.assertIn("scenarios/clients/REQUIREMENTS.md", r.stdout)
        self.assertIn("missing: 0", r.stdout)

    def test_check_knows_client_scenarios_and_profiles(self):
        r = run_pop3spec(["check", "scenarios/clients", "fixtures/clients/poplib.yaml"])
        self.assertEqual(r.rc, 0, r.stderr)
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-check-") as tmp:
            bad = os.path.join(tmp, "bad.yaml")
            with open(bad, "w", encoding="utf-8") as f:
                f.write("name: x\ncommand: [echo]\nmodes: {stls: 3}\n")
            r = run_pop3spec(["check", bad])
            self.assertEqual(r.rc, 2, r.stdout)
            self.assertIn("bad.yaml:3:", r.stderr)

    def _failed(self, fault, filters):
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-broken-") as tmp:
            args = []
            for f in filters:
                args += ["--filter", f]
            r, doc, _ = client_run(broken_profile(tmp, fault), *args)
            return r, by_id(doc)

    def test_correct_raw_client_passes(self):
        r, res = self._failed("none", ["clients/rfc1939/dele/after-complete-retr",
                                       "clients/rfc1939/ml/unstuff-dot-lines"])
        self.assertEqual({k: v["status"] for k, v in res.items()},
                         {"clients/rfc1939/dele/after-complete-retr": "pass",
                          "clients/rfc1939/ml/unstuff-dot-lines": "pass"}, res)
        self.assertEqual(r.rc, 0)

    def test_dele_before_retr_fails(self):
        r, res = self._failed("dele-before-retr", ["clients/rfc1939/dele/after-complete-retr"])
        v = res["clients/rfc1939/dele/after-complete-retr"]
        self.assertEqual(v["status"], "fail", v)
        self.assertEqual(v["failed_ref"], "C1939-DELE-1", v)
        self.assertEqual(r.rc, 1)

    def test_no_quit_fails(self):
        _, res = self._failed("no-quit", ["clients/rfc1939/retr/three-messages"])
        v = res["clients/rfc1939/retr/three-messages"]
        self.assertEqual((v["status"], v["failed_ref"]), ("fail", "C1939-QUIT-1"), v)

    def test_missing_unstuffing_fails(self):
        _, res = self._failed("no-unstuff", ["clients/rfc1939/ml/unstuff-dot-lines"])
        v = res["clients/rfc1939/ml/unstuff-dot-lines"]
        self.assertEqual((v["status"], v["failed_ref"]), ("fail", "C1939-ML-1"), v)

    def test_password_after_stripped_stls_fails(self):
        _, res = self._failed("pass-anyway", ["clients/rfc2595/tls/stls-not-offered",
                                              "clients/rfc2595/tls/stls-refused"])
        for k, v in res.items():
            self.assertEqual((v["status"], v["failed_ref"]), ("fail", "C2595-TLS-1"), (k, v))

    def test_pipelining_without_announcement_fails(self):
        _, res = self._failed("pipeline", ["clients/rfc1939/retr/three-messages"])
        v = res["clients/rfc1939/retr/three-messages"]
        self.assertEqual((v["status"], v["failed_ref"]), ("fail", "C2449-PIPE-1"), v)

    def test_long_command_fails(self):
        _, res = self._failed("long-command", ["clients/rfc1939/retr/three-messages"])
        v = res["clients/rfc1939/retr/three-messages"]
        self.assertEqual(v["status"], "fail", v)
        self.assertIn(v["failed_ref"], ("C2449-LEN-1", "C1939-CMD-1"), v)
        sid = "clients/rfc2449/len/no-command-over-255"
        _, res = self._failed("none", [sid])
        self.assertEqual(res[sid]["status"], "pass", res[sid])  # gives up rather than send PASS
        _, res = self._failed("long-command", [sid])
        self.assertEqual((res[sid]["status"], res[sid]["failed_ref"]), ("fail", "C2449-LEN-1"), res[sid])

    def test_mbox_and_stdout_delivery(self):
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-deliver-") as tmp:
            for kind, target in (("mbox", "mbox:{workdir}/mbox"), ("stdout", "stdout")):
                path = os.path.join(tmp, f"{kind}.yaml")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(f"""name: raw-{kind}
command: [python3, "{HERE}/broken_client.py", --host, "{{host}}", --port, "{{port}}", --maildir, "{target}"]
delivery: {{kind: {kind}, path: "{{workdir}}/mbox"}}
""")
                ids = ["clients/rfc1939/ml/unstuff-dot-lines", "clients/rfc1939/retr/three-messages"]
                r, doc, _ = client_run(path, "--filter", ids[0], "--filter", ids[1])
                self.assertEqual({k: v["status"] for k, v in by_id(doc).items()}, {k: "pass" for k in ids},
                                 (kind, doc["results"]))
            path = os.path.join(tmp, "nounstuff.yaml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(f"""name: raw-stdout-bad
command: [python3, "{HERE}/broken_client.py", --host, "{{host}}", --port, "{{port}}", --maildir, stdout,
          --fault, no-unstuff]
delivery: {{kind: stdout}}
""")
            _, doc, _ = client_run(path, "--filter", "clients/rfc1939/ml/unstuff-dot-lines")
            self.assertEqual(doc["results"][0]["status"], "fail", doc["results"][0])

    def test_missing_mode_skips(self):
        _, res = self._failed("none", ["clients/rfc1939/apop/digest"])
        v = res["clients/rfc1939/apop/digest"]
        self.assertEqual(v["status"], "skip", v)

    def test_tls_and_sasl_pass_when_correct(self):
        ids = ["clients/rfc8314/tls/implicit", "clients/rfc8314/tls/old-version-refused",
               "clients/rfc5034/auth/cram-md5", "clients/rfc5034/auth/malformed-challenge"]
        r, res = self._failed("none", ids)
        self.assertEqual({k: v["status"] for k, v in res.items()}, {k: "pass" for k in ids}, res)

    def test_injection_discarded_passes_and_accepted_fails(self):
        sid = "clients/rfc2595/tls/pre-handshake-injection"
        _, res = self._failed("none", [sid])
        self.assertEqual(res[sid]["status"], "pass", res[sid])
        _, res = self._failed("injection-accept", [sid])
        self.assertEqual((res[sid]["status"], res[sid]["failed_ref"]), ("fail", "C2449-PIPE-1"), res[sid])

    def test_uidl_by_number_fails(self):
        ids = ["clients/rfc1939/uidl/new-mail-only", "clients/rfc1939/uidl/second-run-fetches-nothing"]
        _, res = self._failed("none", ids)
        self.assertEqual({k: v["status"] for k, v in res.items()}, {k: "pass" for k in ids}, res)
        _, res = self._failed("uidl-by-number", ids)
        self.assertEqual(res[ids[0]]["status"], "fail", res[ids[0]])
        self.assertEqual(res[ids[1]]["status"], "pass", res[ids[1]])  # numbers do not change there

    def test_old_tls_accepted_fails(self):
        _, res = self._failed("old-tls", ["clients/rfc8314/tls/old-version-refused"])
        v = res["clients/rfc8314/tls/old-version-refused"]
        self.assertEqual(v["status"], "fail", v)

    def test_answering_a_malformed_challenge_fails(self):
        _, res = self._failed("sasl-answer", ["clients/rfc5034/auth/malformed-challenge"])
        v = res["clients/rfc5034/auth/malformed-challenge"]
        self.assertEqual((v["status"], v["failed_ref"]), ("fail", "C5034-AUTH-2"), v)


def pop3client_profile(tmp, name="pop3client-faults", extra=""):
    """bin/pop3client-faults through {bin} (the running pop3spec's folder), so the profile works for
    build-asan/bin as for bin/."""
    path = os.path.join(tmp, f"{name}.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"""name: {name}
command: ["{{bin}}/pop3client-faults", --host, "{{host}}", --port, "{{port}}", --user, "{{user}}",
          --password, "{{password}}", --maildir, "{{workdir}}/Maildir", --timeout, "10"]
modes:
  plain: []
  stls: [--tls, stls, --cafile, "{{cafile}}", --servername, "{{hostname}}"]
  delete: [--delete]
  keep: []
  uidl: [--state, "{{workdir}}/uidl"]
delivery: {{kind: maildir, path: "{{workdir}}/Maildir"}}
timeout: 20
{extra}""")
    return path


# The scenario added for each client fault the suite missed (docs/client-faults.md), and its verdict.
FAULT_SCENARIOS = [
    ("keep-pre-tls-bytes", "clients/rfc2595/tls/pre-handshake-capa-injection", "fail"),
    ("dele-before-retr-complete", "clients/rfc1939/dele/after-slow-body", "fail"),
    ("dele-unasked", "clients/rfc1939/dele/keep-sends-no-dele", "fail"),
    ("ignore-greeting-err", "clients/rfc1939/err/greeting-err-open", "fail"),
    ("long-command", "clients/rfc2449/len/long-user-name", "fail"),
    ("state-before-delivery", "clients/rfc1939/uidl/dropped-message-refetched", "fail"),
    ("retry-storm-on-in-use", "clients/rfc2449/code/in-use", "warn"),
]


class ClientFaults(unittest.TestCase):
    def test_each_fault_caught_by_its_scenario_and_the_correct_client_passes(self):
        ids = [sid for _, sid, _ in FAULT_SCENARIOS]
        filters = [a for sid in ids for a in ("--filter", sid)]
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-cfault-") as tmp:
            prof = pop3client_profile(tmp)
            env = dict(os.environ)
            env.pop("POP3CLIENT_FAULT", None)
            with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-client-") as t2:
                js = os.path.join(t2, "r.json")
                r = run_pop3spec(["client", "run", "--client", prof, "-j", "2", "-q", "--json", js, *filters],
                                 limit=240, env=env)
                with open(js, encoding="utf-8") as f:
                    res = by_id(json.load(f))
            self.assertEqual({k: v["status"] for k, v in res.items()}, {k: "pass" for k in ids}, res)
            self.assertEqual(r.rc, 0)
            for fault, sid, want in FAULT_SCENARIOS:
                env["POP3CLIENT_FAULT"] = fault
                with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-client-") as t2:
                    js = os.path.join(t2, "r.json")
                    run_pop3spec(["client", "run", "--client", prof, "-q", "--json", js, "--filter", sid],
                                 limit=120, env=env)
                    with open(js, encoding="utf-8") as f:
                        v = by_id(json.load(f))[sid]
                self.assertEqual(v["status"], want, (fault, v))

    def test_mkdirs_and_success_exit(self):
        # The wrapper exits 9 unless mkdirs made the folder before the start, and turns the client's 0
        # into 1 (fetchmail's "no mail"): with success_exit [0, 1] `exit: zero` passes, without it fails.
        sid = "clients/rfc1939/retr/three-messages"
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-cprof-") as tmp:
            verdicts = {}
            for name, extra in (("with", 'mkdirs: [box/cur, "{workdir}/box/new"]\nsuccess_exit: [0, 1]\n'),
                                ("without", 'mkdirs: [box/cur, "{workdir}/box/new"]\n'),
                                ("nodirs", "success_exit: [0, 1]\n")):
                path = os.path.join(tmp, f"{name}.yaml")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(f"""name: wrap-{name}
command: [sh, -c, 'test -d "$0/box/cur" && test -d "$0/box/new" || exit 9; "$@"; s=$?; [ $s -eq 0 ] && exit 1; exit $s',
          "{{workdir}}", "{{bin}}/pop3client", --host, "{{host}}", --port, "{{port}}", --user, "{{user}}",
          --password, "{{password}}", --maildir, "{{workdir}}/Maildir", --timeout, "10"]
delivery: {{kind: maildir, path: "{{workdir}}/Maildir"}}
{extra}""")
                _, doc, _ = client_run(path, "--filter", sid)
                verdicts[name] = by_id(doc)[sid]
            self.assertEqual(verdicts["with"]["status"], "pass", verdicts["with"])
            self.assertEqual(verdicts["without"]["status"], "fail", verdicts["without"])
            self.assertIn("1", verdicts["without"].get("actual", "") + verdicts["without"].get("message", ""))
            self.assertEqual(verdicts["nodirs"]["status"], "error", verdicts["nodirs"])  # never connected

    def test_login_failure_reaches_a_sasl_client(self):
        # [IN-USE] scripted for the login meets a client that logs in with CRAM-MD5 at its final reply:
        # the exchange runs, then the -ERR; the client ends without another login.
        sid = "clients/rfc2449/code/in-use"
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-csasl-") as tmp:
            path = os.path.join(tmp, "cram.yaml")
            with open(path, "w", encoding="utf-8") as f:
                f.write("""name: cram-only
command: ["{bin}/pop3client", --host, "{host}", --port, "{port}", --user, "{user}", --password, "{password}",
          --maildir, "{workdir}/Maildir", --timeout, "10", --sasl, CRAM-MD5]
delivery: {kind: maildir, path: "{workdir}/Maildir"}
""")
            _, doc, _ = client_run(path, "--filter", sid)
            v = by_id(doc)[sid]
            self.assertEqual(v["status"], "pass", v)
            text = json.dumps(v)
            self.assertIn("AUTH CRAM-MD5", text)
            self.assertIn("[IN-USE]", text)


if __name__ == "__main__":
    unittest.main()
