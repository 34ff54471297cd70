"""test_runner_modes — the whole suite against the reference server in each of its authentication modes.

A correct server must never fail, whichever policy the RFCs allow it to choose: pop3refd in its default
mode (`compat`: USER/PASS and APOP in cleartext, SASL PLAIN/LOGIN only over TLS) and in privacy mode
(`tls-only`: no plaintext login before TLS, RFC 2595 §2.2) must both come out with no fail, warn or error.
`always` offers PLAIN in cleartext, which R2595-PLAIN-1 (MUST NOT, unless backward compatibility requires it)
and R4616-PLAIN-6 (SHOULD NOT) exist to catch: that mode must be reported, under exactly those requirements,
and as warnings only: the escape clause is the administrator's to invoke and the harness cannot see it."""

import json
import os
import tempfile
import unittest

from hostile import run_pop3spec


def run_mode(mode):
    env = dict(os.environ, POP3REFD_ARGS=f"--plaintext-auth {mode}")
    with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-modes-") as tmp:
        path = os.path.join(tmp, "results.json")
        r = run_pop3spec(["run", "--reference", "-j", "2", "-q", "--json", path], limit=300, env=env)
        with open(path, encoding="utf-8") as f:
            return r, json.load(f)


def not_passing(doc):
    return {res["id"]: res for res in doc["results"] if res["status"] not in ("pass", "skip")}


class Modes(unittest.TestCase):
    def test_privacy_mode_has_no_false_verdicts(self):
        r, doc = run_mode("tls-only")
        bad = not_passing(doc)
        self.assertEqual(bad, {}, "tls-only: " + "; ".join(f"{k}: {v['status']} {v['message']}"
                                                          for k, v in bad.items()))
        self.assertEqual(r.rc, 0, r.stderr[-2000:])
        self.assertGreater(doc["summary"]["passed"], 200)

    def test_plain_in_cleartext_is_reported(self):
        r, doc = run_mode("always")
        bad = not_passing(doc)
        self.assertEqual(r.rc, 0, r.stderr[-2000:])   # warnings only: no fail
        self.assertTrue(bad, "PLAIN offered in cleartext went unreported")
        refs = set()
        for res in bad.values():
            refs.update(res["refs"])
        self.assertTrue({"R2595-PLAIN-1", "R4616-PLAIN-6"} & refs, f"reported under {sorted(refs)}")
        for k, res in bad.items():
            self.assertEqual(res["status"], "warn", k)


if __name__ == "__main__":
    unittest.main()
