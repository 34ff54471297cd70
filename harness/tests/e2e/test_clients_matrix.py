"""The client matrix's gate (harness/scripts/clients-matrix.sh, client-findings.py; docs/clients/README.md) on a
scratch copy of docs/clients: pop3client against its committed baseline is "same" (exit 0), against a baseline
with one verdict changed it DIFFERS (exit 1); client-findings.py --check refuses a fail without a reason and
any error verdict, accepts a reasoned fail and one listed as a harness false verdict. Every committed
baseline has a reason for each of its fails and warnings and holds no error."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from hostile import BIN, ROOT

DOCS = os.path.join(ROOT, "docs", "clients")
MATRIX = os.path.join(ROOT, "harness", "scripts", "clients-matrix.sh")
FINDINGS = os.path.join(ROOT, "harness", "scripts", "client-findings.py")
CLIENTS = ("fetchmail", "mpop", "getmail6", "curl", "poplib", "netpop3", "pop3client")


class ClientsMatrix(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pop3spec-cmatrix-")
        self.docs = os.path.join(self.tmp, "docs")
        os.makedirs(self.docs)
        self.env = dict(os.environ, BIN=BIN, CLIENTS_DOCS=self.docs, CLIENTS_REPORTS=os.path.join(self.tmp, "r"))
        self.env.pop("CLIENTS_RECORD", None)
        self.env.pop("CLIENTS_PUBLISH", None)
        self.env.pop("CLIENTS_NO_BASELINE", None)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, obj):
        with open(os.path.join(self.docs, name), "w") as f:
            json.dump(obj, f)

    def findings(self, *args):
        return subprocess.run([FINDINGS, "--check"] + list(args), env=self.env, capture_output=True, text=True,
                              timeout=60)

    def baseline(self, status):
        with open(os.path.join(DOCS, "pop3client-baseline.json")) as f:
            b = json.load(f)
        b["results"][0]["status"] = status
        return b

    def test_committed_baselines_explained(self):
        r = subprocess.run([FINDINGS, "--check"] + list(CLIENTS), capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "CLIENTS_DOCS"})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for n in CLIENTS:
            with open(os.path.join(DOCS, n + "-baseline.json")) as f:
                b = json.load(f)
            self.assertEqual(b["summary"]["errors"], 0, n)
            self.assertFalse([x["id"] for x in b["results"] if x["status"] == "error"], n)

    def test_findings_refuses_unexplained_and_errors(self):
        self.write("x-baseline.json", self.baseline("fail"))
        sid = self.baseline("fail")["results"][0]["id"]
        self.write("reasons.json", {})
        r = self.findings("x")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(sid + " has no reason", r.stdout)
        self.write("reasons.json", {"x": {sid: "RFC 1939 §5: ..."}})
        self.assertEqual(self.findings("x").returncode, 0)
        self.write("reasons.json", {"!harness": {"x": {sid: "the check assumed too much"}}})
        self.assertEqual(self.findings("x").returncode, 0)
        # An error is never a finding, reason or not.
        self.write("x-baseline.json", self.baseline("error"))
        self.write("reasons.json", {"x": {sid: "RFC 1939 §5: ..."}})
        r = self.findings("x")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("error verdict", r.stdout)
        # No baseline at all.
        self.assertEqual(self.findings("nosuch").returncode, 1)

    def test_gate_same_and_differs(self):
        if not os.access(os.path.join(ROOT, BIN, "pop3client"), os.X_OK):
            self.skipTest("bin/pop3client not built")
        shutil.copy(os.path.join(DOCS, "pop3client-baseline.json"), self.docs)
        self.write("reasons.json", {})
        r = subprocess.run([MATRIX, "pop3client"], env=self.env, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"pop3client\s+same")
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, "r", "compare.html")))
        # One verdict of the baseline turned into a (reasoned) fail: the correct client now differs.
        b = self.baseline("fail")
        self.write("pop3client-baseline.json", b)
        self.write("reasons.json", {"pop3client": {b["results"][0]["id"]: "made up for the test"}})
        r = subprocess.run([MATRIX, "pop3client"], env=self.env, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"pop3client\s+DIFFERS")


if __name__ == "__main__":
    unittest.main()
