"""test_runner_cli — end-to-end tests of the runner's command line (issue 3 "Command line", issue 4
"--baseline", issue 5 "Splitting and merging"): the real bin/pop3spec driving the real bin/pop3refd over real
sockets through `run --reference`. Exit statuses exactly (0 nothing failed, 1 a failure/error or a strict
warning, 2 usage, scenario-file, target or empty-selection errors with nothing run), the JSON and JUnit
contracts, `list` and `check`, shards merged, baselines. Python 3 stdlib only.

Runs are kept small with --filter, except one run of the whole suite with -j 2."""

import json
import os
import re
import shutil
import socket
import tempfile
import unittest
import xml.etree.ElementTree as ET

from hostile import BIN, ROOT, POP3SPEC, run_pop3spec

STATUSES = ("pass", "fail", "warn", "skip", "error")
COUNTER = {"pass": "passed", "fail": "failed", "warn": "warnings", "skip": "skipped", "error": "errors"}
LEVELS = ("MUST", "SHOULD", "MAY")
# A handful of quick scenarios the reference passes.
SMALL = ["rfc1939/stat/*", "rfc1939/greet/greeting-is-positive", "rfc1939/noop/*"]

# R1939-NOOP-1 is a real catalog id (NOOP in TRANSACTION gets +OK), so `check` accepts these files.
BAD_KEY = """\
id: e2e/bad-key
title: A scenario with a misspelt key
refs: [R1939-NOOP-1]
level: MUST
steps:
  - connect: plain
  - login: {}
  - send: NOOP
    expekt: ok
"""
BAD_KEY_AT = "9:5"  # line and column of `expekt`

MUST_FAIL = """\
id: e2e/noop-must-fail
title: NOOP is answered -ERR (deliberately wrong; a correct server fails it)
refs: [R1939-NOOP-1]
level: MUST
steps:
  - connect: plain
  - login: {}
  - send: NOOP
    expect: err
"""

SHOULD_WARN = """\
id: e2e/noop-should-warn
title: NOOP is answered -ERR, at SHOULD level (deliberately wrong; a correct server warns)
refs: [R1939-NOOP-1]
level: SHOULD
steps:
  - connect: plain
  - login: {}
  - send: NOOP
    expect: err
"""


def filters(globs):
    out = []
    for g in globs:
        out += ["--filter", g]
    return out


class RunnerCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(POP3SPEC, os.X_OK):
            raise unittest.SkipTest(f"{POP3SPEC} not built (make bin/pop3spec)")
        cls.tmp = tempfile.mkdtemp(prefix="pop3spec-e2e-cli-")
        cls.bad = cls.write("bad/bad-key.yaml", BAD_KEY)
        cls.must_fail = cls.write("fail/noop-must-fail.yaml", MUST_FAIL)
        cls.should_warn = cls.write("warn/noop-should-warn.yaml", SHOULD_WARN)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def write(cls, name, text):
        path = os.path.join(cls.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def path(self, name):
        return os.path.join(self.tmp, f"{self._testMethodName}-{name}")

    def run_ok(self, args, rc, limit=120):
        r = run_pop3spec(args, limit=limit)
        self.assertEqual(r.rc, rc, f"pop3spec {' '.join(args)}: want exit {rc}\n{r}")
        return r

    def load_json(self, path):
        with open(path) as f:
            return json.load(f)

    def check_contract(self, doc):
        """The JSON report contract of issue 3; returns the results."""
        self.assertIsInstance(doc.get("target"), str)
        self.assertTrue(doc["target"])
        summary, results = doc["summary"], doc["results"]
        self.assertEqual(set(COUNTER.values()) - set(summary), set(), summary)
        self.assertIsInstance(results, list)
        for r in results:
            for key in ("id", "title", "level", "refs", "status", "duration_ms", "message", "transcript"):
                self.assertIn(key, r, r.get("id"))
            self.assertIsInstance(r["id"], str)
            self.assertIsInstance(r["title"], str)
            self.assertTrue(r["title"], r["id"])
            self.assertIn(r["level"], LEVELS, r["id"])
            self.assertIsInstance(r["refs"], list, r["id"])
            self.assertTrue(all(isinstance(x, str) and x for x in r["refs"]), r["id"])
            self.assertIn(r["status"], STATUSES, r["id"])
            self.assertIsInstance(r["duration_ms"], (int, float), r["id"])
            self.assertGreaterEqual(r["duration_ms"], 0, r["id"])
            self.assertIsInstance(r["message"], str, r["id"])
            self.assertIsInstance(r["transcript"], list, r["id"])
            if r["status"] in ("fail", "error", "warn"):
                self.assertTrue(r["message"], f"{r['id']} is {r['status']} without a message")
        ids = [r["id"] for r in results]
        self.assertEqual(len(ids), len(set(ids)), "an id twice in results")
        for status, counter in COUNTER.items():
            self.assertEqual(summary[counter], sum(r["status"] == status for r in results),
                             f"summary.{counter} is not the number of '{status}' results")
        return results

    def check_junit(self, path, results):
        """Well-formed JUnit with one testcase per result and counts that agree with the JSON."""
        root = ET.parse(path).getroot()
        self.assertIn(root.tag, ("testsuites", "testsuite"))
        cases = list(root.iter("testcase"))
        self.assertEqual(len(cases), len(results), "one testcase per scenario")
        status = {r["id"]: r["status"] for r in results}
        self.assertEqual(sorted(c.get("name") for c in cases), sorted(status), "testcases named by scenario id")
        want = {"fail": "failure", "error": "error", "skip": "skipped"}
        for c in cases:
            sid = c.get("name")
            self.assertEqual(c.get("classname"), sid.split("/")[0], f"{sid}: grouped by RFC")
            kinds = [k for k in ("failure", "error", "skipped") if c.find(k) is not None]
            self.assertEqual(kinds, [want[status[sid]]] if status[sid] in want else [],
                             f"{sid} is {status[sid]} in the JSON")
        by_status = {s: sum(r["status"] == s for r in results) for s in STATUSES}
        suites = list(root.iter("testsuite"))
        self.assertTrue(suites)
        for s in suites:
            self.assertEqual({c.get("classname") for c in s.iter("testcase")}, {s.get("name")},
                             "a testsuite per RFC group")
            self.assertEqual(int(s.get("tests")), len(list(s.iter("testcase"))))
        self.assertEqual(sum(int(s.get("tests")) for s in suites), len(results))
        self.assertEqual(sum(int(s.get("failures")) for s in suites), by_status["fail"])
        self.assertEqual(sum(int(s.get("errors")) for s in suites), by_status["error"])
        self.assertEqual(sum(int(s.get("skipped", 0)) for s in suites), by_status["skip"])
        if root.tag == "testsuites":
            self.assertEqual(int(root.get("tests")), len(results))
            self.assertEqual(int(root.get("failures")), by_status["fail"])
            self.assertEqual(int(root.get("errors")), by_status["error"])
        return root

    # ---- the whole suite ------------------------------------------------------------------------------

    def test_whole_suite_reference_j2(self):
        js, ju = self.path("r.json"), self.path("r.xml")
        r = self.run_ok(["run", "--reference", "-j", "2", "-q", "--json", js, "--junit", ju], 0, limit=240)
        doc = self.load_json(js)
        results = self.check_contract(doc)
        bad = [(x["id"], x["status"], x["message"]) for x in results if x["status"] in ("fail", "error")]
        self.assertEqual(bad, [], "the reference server must never fail or error")
        self.assertGreater(len(results), 100, "the whole suite ran")
        self.assertGreater(doc["summary"]["passed"], len(results) // 2)
        for x in results:
            if x["status"] == "pass":
                self.assertTrue(x["transcript"], f"{x['id']}: a passed scenario has its wire transcript")
            if x["status"] == "skip":
                self.assertTrue(x["message"], f"{x['id']}: a skip says why")
        # What ran is what `list` says run would run (slow and config ones left out by default).
        lst = self.run_ok(["list", "--filter", "*"], 0)
        listed = sorted(l.split()[0] for l in lst.stdout.splitlines() if l.strip())
        self.assertEqual(sorted(x["id"] for x in results), listed)
        self.check_junit(ju, results)
        self.assertRegex(r.stdout, r"\d+ scenarios: %d passed, 0 failed" % doc["summary"]["passed"])

    # ---- exit 0 ---------------------------------------------------------------------------------------

    def test_small_run_exits_0_with_console_lines(self):
        js = self.path("r.json")
        r = self.run_ok(["run", "--reference", "--json", js] + filters(SMALL), 0)
        results = self.check_contract(self.load_json(js))
        self.assertGreaterEqual(len(results), 5)
        self.assertTrue(all(x["status"] == "pass" for x in results), results)
        for x in results:
            self.assertRegex(r.stdout, r"(?m)^PASS +%s " % re.escape(x["id"]))
        self.assertRegex(r.stdout, r"(?m)^%d scenarios: %d passed, 0 failed, 0 warnings, 0 skipped, 0 errors"
                         % (len(results), len(results)))

    # ---- exit 2 ---------------------------------------------------------------------------------------

    def assert_nothing_ran(self, r, js=None):
        self.assertNotRegex(r.stdout, r"(?m)^(PASS|FAIL|ERROR|WARN|SKIP) ", "a scenario ran")
        self.assertTrue(r.stderr.strip(), "exit 2 says why on stderr")
        if js:
            self.assertFalse(os.path.exists(js), "no report is written when nothing ran")

    def test_malformed_scenario_exits_2_with_file_line_column(self):
        js = self.path("r.json")
        r = self.run_ok(["run", self.bad, "--reference", "--json", js], 2)
        self.assert_nothing_ran(r, js)
        self.assertIn(f"{self.bad}:{BAD_KEY_AT}: ", r.stderr)
        self.assertIn("expekt", r.stderr)
        # A bad file among good ones still stops the whole run: nothing runs.
        r = self.run_ok(["run", os.path.dirname(self.bad), os.path.dirname(self.must_fail), "--reference"], 2)
        self.assert_nothing_ran(r)
        self.assertIn(f"{self.bad}:{BAD_KEY_AT}: ", r.stderr)

    def test_yaml_syntax_error_exits_2(self):
        p = self.write("syntax/broken.yaml", "id: e2e/broken\ntitle: [unclosed\nrefs: [R1939-NOOP-1]\n")
        r = self.run_ok(["run", p, "--reference"], 2)
        self.assert_nothing_ran(r)
        self.assertRegex(r.stderr, re.escape(p) + r":\d+:\d+: ")

    def test_bad_target_profiles_exit_2(self):
        cases = [
            ("typo.yaml", "name: t\nhost: 127.0.0.1\nport: 110\nacounts:\n  - {user: a, password: b}\n",
             "4:1", "acounts"),
            ("port.yaml", "name: t\nhost: 127.0.0.1\nport: notaport\naccounts:\n  - {user: a, password: b}\n"
             "  - {user: c, password: d}\n", "3:7", "notaport"),
            ("one.yaml", "name: t\nhost: 127.0.0.1\nport: 110\naccounts:\n  - {user: a, password: b}\n",
             None, "two"),
        ]
        for name, text, at, word in cases:
            with self.subTest(profile=name):
                p = self.write("targets/" + name, text)
                js = self.path(name + ".json")
                r = self.run_ok(["run", "--target", p, "--json", js] + filters(SMALL), 2)
                self.assert_nothing_ran(r, js)
                self.assertRegex(r.stderr, re.escape(p) + (":" + at if at else r":\d+:\d+") + ": ")
                self.assertIn(word, r.stderr)
        with self.subTest(profile="missing file"):
            r = self.run_ok(["run", "--target", os.path.join(self.tmp, "no-such.yaml")] + filters(SMALL), 2)
            self.assert_nothing_ran(r)
            self.assertIn("no-such.yaml", r.stderr)

    def test_unreachable_target_exits_2(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now: connection refused
        p = self.write("targets/refused.yaml", f"name: refused\nhost: 127.0.0.1\nport: {port}\naccounts:\n"
                       "  - {user: a, password: b}\n  - {user: c, password: d}\n")
        js = self.path("r.json")
        r = self.run_ok(["run", "--target", p, "--timeout", "2", "--json", js] + filters(SMALL), 2, limit=60)
        self.assert_nothing_ran(r, js)
        self.assertIn(str(port), r.stderr)

    def test_empty_selection_exits_2(self):
        for extra in (["--filter", "no/such/scenario*"], ["--tag", "no-such-tag"],
                      ["--filter", "rfc1939/stat/*", "--tag", "no-such-tag"]):
            with self.subTest(args=extra):
                js = self.path("r.json")
                r = self.run_ok(["run", "--reference", "--json", js] + extra, 2)
                self.assert_nothing_ran(r, js)
                self.assertIn("no scenario selected", r.stderr)
        r = self.run_ok(["list", "--filter", "no/such/scenario*"], 2)
        self.assertEqual(r.stdout.strip(), "")

    def test_usage_errors_exit_2(self):
        for args in ([], ["frobnicate"], ["run"], ["run", "--reference", "--bogus"],
                     ["run", "--reference", "-j", "0"], ["run", "--reference", "-j", "many"],
                     ["run", "--reference", "--shard", "3/2"], ["run", "--reference", "--shard", "1"],
                     ["run", "--reference", "--timeout", "abc"], ["run", "--reference", "--timeout", "0"],
                     ["run", "--reference", "--json"], ["run", "--target"], ["report"],
                     ["report", "--merge"]):
            with self.subTest(args=args):
                r = self.run_ok(args, 2, limit=30)
                self.assert_nothing_ran(r)
        r = self.run_ok(["--version"], 0, limit=30)
        self.assertRegex(r.stdout, r"\d+\.\d+")
        r = self.run_ok(["--help"], 0, limit=30)
        self.assertIn("run", r.stdout)

    # ---- exit 1 ---------------------------------------------------------------------------------------

    def test_failing_scenario_exits_1_naming_step_expected_actual(self):
        js, ju = self.path("r.json"), self.path("r.xml")
        r = self.run_ok(["run", "scenarios", self.must_fail, "--reference", "--json", js, "--junit", ju]
                        + filters(["e2e/*", "rfc1939/stat/drop-listing-format"]), 1)
        results = self.check_contract(self.load_json(js))
        by_id = {x["id"]: x for x in results}
        self.assertEqual(set(by_id), {"e2e/noop-must-fail", "rfc1939/stat/drop-listing-format"})
        self.assertEqual(by_id["rfc1939/stat/drop-listing-format"]["status"], "pass")
        bad = by_id["e2e/noop-must-fail"]
        self.assertEqual(bad["status"], "fail")
        msg = bad["message"]
        self.assertIn("step 3", msg, "the failure names the step")
        self.assertIn("NOOP", msg)
        self.assertIn("-ERR", msg, "the failure says what was expected")
        self.assertIn("+OK", msg, "the failure says what came")
        self.assertLess(msg.index("-ERR"), msg.index("+OK"))
        text = json.dumps(bad["transcript"])
        self.assertIn("NOOP", text, "the transcript holds the command")
        self.assertRegex(r.stdout, r"(?m)^ *FAIL +e2e/noop-must-fail")
        self.assertIn("0 errors", r.stdout)
        root = self.check_junit(ju, results)
        failure = [c for c in root.iter("testcase") if c.find("failure") is not None]
        self.assertEqual(len(failure), 1)
        self.assertIn("noop-must-fail", failure[0].get("name") + failure[0].get("classname", ""))
        self.assertIn("-ERR", (failure[0].find("failure").get("message") or "")
                      + (failure[0].find("failure").text or ""))

    def test_strict_turns_a_warning_into_exit_1(self):
        js = self.path("r.json")
        args = ["run", self.should_warn, "--reference", "--json", js]
        self.run_ok(args, 0)
        doc = self.load_json(js)
        results = self.check_contract(doc)
        self.assertEqual([x["status"] for x in results], ["warn"])
        self.assertEqual(doc["summary"]["warnings"], 1)
        self.assertIn("-ERR", results[0]["message"])
        os.unlink(js)
        self.run_ok(args + ["--strict"], 1)
        self.assertEqual([x["status"] for x in self.check_contract(self.load_json(js))], ["warn"])

    # ---- list and check -------------------------------------------------------------------------------

    def test_list_prints_id_level_title_refs(self):
        r = self.run_ok(["list", "--filter", "rfc1939/stat/*"], 0)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        files = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "scenarios", "rfc1939", "stat"))
                       if f.endswith(".yaml"))
        self.assertEqual([l.split()[0] for l in lines], ["rfc1939/stat/" + f for f in files])
        for l in lines:
            self.assertRegex(l, r"^rfc1939/stat/\S+ +(MUST|SHOULD|MAY) +\S.* +\[R[0-9A-Z-]+(, R[0-9A-Z-]+)*\]$")
        line = [l for l in lines if l.startswith("rfc1939/stat/empty-maildrop ")]
        self.assertEqual(len(line), 1)
        self.assertIn("STAT on an empty maildrop answers +OK 0 0", line[0])
        self.assertIn("[R1939-STAT-1]", line[0])
        r = self.run_ok(["list", self.must_fail, self.should_warn], 0)
        self.assertRegex(r.stdout, r"(?m)^e2e/noop-must-fail +MUST +NOOP is answered -ERR .*\[R1939-NOOP-1\]$")
        self.assertRegex(r.stdout, r"(?m)^e2e/noop-should-warn +SHOULD +")
        # Without filters every scenario is listed, slow and config ones included.
        everything = self.run_ok(["list"], 0).stdout.splitlines()
        default = self.run_ok(["list", "--filter", "*"], 0).stdout.splitlines()
        self.assertGreaterEqual(len(everything), len(default))
        self.assertGreater(len(default), 100)

    def test_check_scenarios_and_targets(self):
        stat = os.path.join("scenarios", "rfc1939", "stat")
        n = len([f for f in os.listdir(os.path.join(ROOT, stat)) if f.endswith(".yaml")])
        r = self.run_ok(["check", stat, os.path.join("fixtures", "targets", "reference.yaml"),
                         self.must_fail, self.should_warn], 0)
        self.assertIn(f"{n + 3} files ok", r.stdout + r.stderr)
        r = self.run_ok(["check", self.must_fail, self.bad], 2)
        self.assertIn(f"{self.bad}:{BAD_KEY_AT}: ", r.stdout + r.stderr)
        self.assertNotIn(self.must_fail + ":", r.stdout + r.stderr)

    def test_check_bad_files_and_lone_targets(self):
        r = self.run_ok(["check", self.bad], 2)
        self.assertIn(f"{self.bad}:{BAD_KEY_AT}: ", r.stdout + r.stderr)
        t = self.write("check/bad-target.yaml", "name: t\nhost: 127.0.0.1\nport: 110\nacounts: []\n")
        r = self.run_ok(["check", t], 2)
        self.assertIn(f"{t}:4:1: ", r.stdout + r.stderr)
        r = self.run_ok(["check", os.path.join("fixtures", "targets", "reference.yaml")], 0)
        self.assertIn("1 file ok", r.stdout + r.stderr)

    # ---- shards, merge, baseline ----------------------------------------------------------------------

    def test_shards_merged_equal_the_unsharded_run(self):
        sel = ["run", "scenarios", self.must_fail, "--reference"] + filters(
            ["rfc1939/stat/*", "rfc1939/list/*", "rfc1939/noop/*", "e2e/*"])
        whole, s1, s2, merged, mx = (self.path(n) for n in ("all.json", "s1.json", "s2.json", "m.json", "m.xml"))
        self.run_ok(sel + ["-q", "--json", whole], 1)   # e2e/noop-must-fail fails
        self.run_ok(sel + ["-q", "--shard", "1/2", "--json", s1], self._shard_rc(sel, 1))
        self.run_ok(sel + ["-q", "--shard", "2/2", "--json", s2], self._shard_rc(sel, 2))
        a, b = self.check_contract(self.load_json(s1)), self.check_contract(self.load_json(s2))
        ida, idb = {x["id"] for x in a}, {x["id"] for x in b}
        self.assertEqual(ida & idb, set(), "shards are disjoint")
        self.assertTrue(ida and idb, "both shards hold scenarios")
        self.run_ok(["report", "--merge", s1, s2, "--json", merged, "--junit", mx], 1)
        m = self.check_contract(self.load_json(merged))
        w = self.check_contract(self.load_json(whole))
        self.assertEqual(sorted((x["id"], x["status"]) for x in m), sorted((x["id"], x["status"]) for x in w))
        self.assertEqual(self.load_json(merged)["summary"], self.load_json(whole)["summary"])
        self.check_junit(mx, m)
        # A merge of shards that overlap is refused.
        self.run_ok(["report", "--merge", s1, s1, "--json", self.path("dup.json")], 2)

    def _shard_rc(self, sel, i):
        """The exit status shard i/2 must have: 1 when it holds e2e/noop-must-fail."""
        lst = self.run_ok(["list", "scenarios", self.must_fail] + sel[4:] + ["--shard", f"{i}/2"], 0)
        return 1 if "e2e/noop-must-fail" in lst.stdout else 0

    def test_baseline_fails_only_on_differences(self):
        sel = ["run", "scenarios", self.must_fail, "--reference", "-q"] + filters(["rfc1939/stat/*", "e2e/*"])
        first = self.path("first.json")
        self.run_ok(sel + ["--json", first], 1)
        base = self.load_json(first)
        statuses = {x["id"]: x["status"] for x in base["results"]}
        self.assertEqual(statuses["e2e/noop-must-fail"], "fail")
        # The same results as the baseline: the known failure is accepted, exit 0.
        again = self.path("again.json")
        self.run_ok(sel + ["--baseline", first, "--json", again], 0)
        doc = self.check_contract(self.load_json(again))
        self.assertEqual([x["id"] for x in doc if x["status"] in ("fail", "error")], [])
        # One status edited in the baseline: only that scenario differs, and fails.
        edited = dict(base)
        victim = "rfc1939/stat/drop-listing-format"
        self.assertEqual(statuses[victim], "pass")
        edited["results"] = [dict(x, status="fail") if x["id"] == victim else x for x in base["results"]]
        ebase = self.path("edited.json")
        with open(ebase, "w") as f:
            json.dump(edited, f)
        out = self.path("out.json")
        r = self.run_ok(sel + ["--baseline", ebase, "--json", out], 1)
        doc = self.check_contract(self.load_json(out))
        failed = {x["id"]: x["message"] for x in doc if x["status"] in ("fail", "error")}
        self.assertEqual(list(failed), [victim], "only the edited result differs")
        self.assertIn("baseline", failed[victim])
        self.assertIn(victim, r.stdout)
        # Without -q, each scenario's console line shows the verdict after the baseline, as the summary and
        # the exit status do: the edited one FAIL, the known failure PASS ("as baseline: fail").
        loud = [a for a in sel if a != "-q"]
        r = self.run_ok(loud + ["--baseline", ebase], 1)
        lines = {l.split()[1]: l for l in r.stdout.splitlines() if re.match(r"(PASS|FAIL|WARN|SKIP|ERROR) ", l)}
        self.assertTrue(lines[victim].startswith("FAIL "), lines[victim])
        self.assertIn("differs from baseline", lines[victim])
        self.assertTrue(lines["e2e/noop-must-fail"].startswith("PASS "), lines["e2e/noop-must-fail"])
        self.assertIn("Failed:\n  FAIL  " + victim + ": differs from baseline", r.stdout)
        # A baseline that cannot be read is a usage error.
        bad = self.write("baseline/bad.json", "{not json")
        self.run_ok(sel + ["--baseline", bad], 2)


if __name__ == "__main__":
    unittest.main()
