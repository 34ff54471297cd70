"""test_fuzz — `pop3spec fuzz` end to end: against pop3refd a run finds nothing; against
bin/pop3refd-faults --fault overlong-line-executed (the rest of an over-long line runs as a command) it
finds the deletion, and the scenario it prints is valid, passes against pop3refd and fails against the
faulty server. Python 3 stdlib only."""

import json
import os
import subprocess
import tempfile
import unittest

from hostile import ROOT, BIN, run_pop3spec

FAULTS = os.path.join(BIN, "pop3refd-faults")


def fuzz(args, env=None):
    with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-fuzz-") as tmp:
        path = os.path.join(tmp, "fuzz.json")
        r = run_pop3spec(["fuzz", "-q", "--json", path] + args, limit=90, env=env)
        with open(path, encoding="utf-8") as f:
            return r, json.load(f)


class Fuzz(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(FAULTS):
            subprocess.run(["make", "--no-print-directory", "-s", "BIN=" + BIN, FAULTS], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)

    def test_reference_survives(self):
        r, doc = fuzz(["--reference", "--duration", "12", "--seed", "5"])
        self.assertEqual(doc["violations"], [], r.stdout[-3000:])
        self.assertEqual(r.rc, 0, r.stdout[-2000:] + r.stderr[-2000:])
        self.assertEqual(doc["mode"], "fuzz")
        self.assertGreater(doc["cases"], 100)

    def test_overlong_line_executed_is_found_with_a_scenario(self):
        env = dict(os.environ, POP3REFD=FAULTS, POP3REFD_ARGS="--fault overlong-line-executed")
        r, doc = fuzz(["--reference", "--duration", "40", "--seed", "1", "--max-findings", "1"], env=env)
        self.assertEqual(r.rc, 1, r.stdout[-2000:] + r.stderr[-2000:])
        v = doc["violations"][0]
        self.assertEqual(v["kind"], "state")
        yaml = v["reproducer"]
        self.assertIn("raw:", yaml)
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-fuzz-") as tmp:
            d = os.path.join(tmp, "robustness", "fuzz")
            os.makedirs(d)
            with open(os.path.join(d, "found.yaml"), "w") as f:
                f.write(yaml)
            self.assertEqual(run_pop3spec(["check", os.path.join(d, "found.yaml")]).rc, 0)
            good = run_pop3spec(["run", "--reference", "-q", tmp], limit=60)
            self.assertEqual(good.rc, 0, good.stdout[-2000:])
            bad = run_pop3spec(["run", "--reference", "-q", tmp], limit=60, env=env)
            self.assertEqual(bad.rc, 1, bad.stdout[-2000:])

    def test_shards_merge(self):
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-fuzz-") as tmp:
            paths = []
            for i in (1, 2):
                p = os.path.join(tmp, f"s{i}.json")
                r = run_pop3spec(["fuzz", "--reference", "-q", "--cases", "15", "--seed", "3", "--shard", f"{i}/2",
                                  "--json", p], limit=60)
                self.assertEqual(r.rc, 0, r.stdout[-2000:])
                paths.append(p)
            merged = os.path.join(tmp, "m.json")
            r = run_pop3spec(["report", "--merge"] + paths + ["--json", merged])
            self.assertEqual(r.rc, 0, r.stdout + r.stderr)
            m = json.load(open(merged))
        self.assertEqual((m["mode"], m["cases"], m["shards"], m["violations"]), ("fuzz", 30, 2, []))

    def test_usage_errors(self):
        for args in (["fuzz"], ["fuzz", "--reference", "--duration", "x"], ["fuzz", "--reference", "--bogus", "1"],
                     ["fuzz", "--target", "/nonexistent.yaml"]):
            self.assertEqual(run_pop3spec(args, limit=20).rc, 2, args)


if __name__ == "__main__":
    unittest.main()
