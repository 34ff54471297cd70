"""test_runner_signals — end-to-end tests of how the runner behaves as a Unix tool (issue 14, "Output that
behaves"): SIGINT/SIGTERM mid-run (exit 130/143, the summary of what ran, reports written and marked
incomplete, no temporary folder left in $TMPDIR and no pop3refd left running), a second Ctrl-C, a report on
standard output in a pipe, the user's mistakes found before anything runs (exit 2), --redact, --rerun-failed,
report --merge refusing a partial set, --baseline of another target, and a server that stops answering
mid-run ending the run at once. The real bin/pop3spec, bin/pop3refd and the scripted hostile servers of
hostile.py, over real sockets. Python 3 stdlib only."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

from hostile import ROOT, POP3SPEC, Hostile, run_pop3spec, target_profile

REF_PASSWORDS = [f"pass{i:02d}-reference" for i in range(1, 17)]
SMALL = ["--filter", "rfc1939/stat/*", "--filter", "rfc1939/noop/*"]


def pop3refd_under(tmpdir):
    """The pids of pop3refd processes whose command line names a path under tmpdir."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"pop3refd") and any(tmpdir.encode() in w for w in cmd):
            pids.append(int(p))
    return pids


class RunnerSignals(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(POP3SPEC, os.X_OK):
            raise unittest.SkipTest(f"{POP3SPEC} not built (make bin/pop3spec)")
        cls.tmp = tempfile.mkdtemp(prefix="pop3spec-e2e-signals-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, f"{self._testMethodName}-{name}")

    def private_tmpdir(self):
        d = self.path("tmpdir")
        os.makedirs(d)
        return d

    def run_ok(self, args, rc, limit=120, env=None):
        r = run_pop3spec(args, limit=limit, env=env)
        self.assertEqual(r.rc, rc, f"pop3spec {' '.join(args)}: want exit {rc}\n{r}")
        return r

    def start_run(self, args, tmpdir):
        env = dict(os.environ, TMPDIR=tmpdir)
        out = open(self.path("stdout"), "wb")
        err = open(self.path("stderr"), "wb")
        self.addCleanup(out.close)
        self.addCleanup(err.close)
        return subprocess.Popen([POP3SPEC] + args, cwd=ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=env)

    def wait_for_lines(self, proc, n, limit=60):
        """Wait until the console has shown n result lines (the run is under way)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            with open(self.path("stdout"), "rb") as f:
                if sum(1 for line in f if line[:5] in (b"PASS ", b"FAIL ", b"ERROR", b"SKIP ", b"WARN ")) >= n:
                    return
            self.assertIsNone(proc.poll(), "the run ended before it could be interrupted")
            time.sleep(0.05)
        self.fail(f"no {n} result lines within {limit} s")

    def wait_exit(self, proc, limit):
        try:
            return proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            self.fail(f"pop3spec did not exit within {limit} s of the signal")

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read().decode("utf-8", "replace")

    # ---- signals ----

    def interrupt(self, sig, want_rc):
        tmpdir = self.private_tmpdir()
        reports = {k: self.path(f"r.{k}") for k in ("json", "xml", "html")}
        proc = self.start_run(["run", "--reference", "-j", "2", "scenarios", "--json", reports["json"],
                               "--junit", reports["xml"], "--html", reports["html"]], tmpdir)
        self.wait_for_lines(proc, 20)
        t0 = time.monotonic()
        proc.send_signal(sig)
        rc = self.wait_exit(proc, 30)
        stopped_in = time.monotonic() - t0
        self.assertEqual(rc, want_rc, self.read("stderr")[-2000:])
        # Workers stop promptly: in-flight scenarios are cut, not waited for (the suite has 2 s and
        # longer scenarios, and timers of minutes with --all).
        self.assertLess(stopped_in, 10, "the stop took too long")
        out = self.read("stdout")
        name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
        self.assertIn(f"Stopped: interrupted ({name}); incomplete:", out)
        self.assertRegex(out, r"\n\d+ scenarios: \d+ passed")
        doc = json.load(open(reports["json"]))
        self.assertIs(doc["incomplete"], True)
        self.assertEqual(doc["stopped"], f"interrupted ({name})")
        self.assertGreater(doc["not_run"], 0)
        self.assertGreaterEqual(len(doc["results"]), 20)
        # what ran is there, every verdict a real one (the reference passes what it runs)
        self.assertEqual({r["status"] for r in doc["results"]} - {"pass", "skip"}, set(),
                         [r for r in doc["results"] if r["status"] not in ("pass", "skip")][:3])
        total = len(doc["results"]) + doc["not_run"]
        listed = run_pop3spec(["list", "scenarios", "--shard", "1/1"]).stdout.count("\n")
        self.assertEqual(total, listed)
        props = {p.get("name"): p.get("value") for p in ET.parse(reports["xml"]).getroot().iter("property")}
        self.assertEqual(props.get("incomplete"), "true")
        self.assertIn("Incomplete run", open(reports["html"]).read())
        # nothing left behind: no temporary folder, no reference server
        self.assertEqual(os.listdir(tmpdir), [])
        self.assertEqual(pop3refd_under(tmpdir), [])

    def test_sigint_stops_cleanly(self):
        self.interrupt(signal.SIGINT, 130)

    def test_sigterm_stops_cleanly(self):
        self.interrupt(signal.SIGTERM, 143)

    def test_second_ctrl_c_exits_at_once(self):
        tmpdir = self.private_tmpdir()
        # --all brings the slow timer scenarios: a clean stop still cuts them, but the second signal
        # must not wait even for that.
        proc = self.start_run(["run", "--reference", "-j", "2", "scenarios", "--json", self.path("r.json")],
                              tmpdir)
        self.wait_for_lines(proc, 5)
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        rc = self.wait_exit(proc, 10)
        self.assertEqual(rc, 130)
        # pop3refd goes too (the runner asks it; PR_SET_PDEATHSIG would too)
        t0 = time.monotonic()
        while pop3refd_under(tmpdir) and time.monotonic() - t0 < 5:
            time.sleep(0.05)
        self.assertEqual(pop3refd_under(tmpdir), [])

    def test_sigint_cuts_workers_blocked_on_a_mute_server(self):
        # Every worker waits on a server that greets and never answers: a 30 s step timeout each. The
        # stop must not wait for them (lib/conn polls the stop pipe beside the socket). The probe's connection
        # and its account check's (one per account, six) are served well, so the run reaches its workers.
        tmpdir = self.private_tmpdir()
        with Hostile("mute", spare=7) as srv:
            prof = target_profile(self.path("t.yaml"), srv.port)
            proc = self.start_run(["run", "--target", prof, "--timeout", "30", "-j", "3", "scenarios",
                                   "--filter", "rfc1939/*", "--json", self.path("r.json")], tmpdir)
            t0 = time.monotonic()
            while srv.connections < 10 and time.monotonic() - t0 < 20:  # 7 served, then one per worker
                time.sleep(0.05)
            self.assertGreaterEqual(srv.connections, 10)
            time.sleep(0.3)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGINT)
            rc = self.wait_exit(proc, 20)
            took = time.monotonic() - t0
        self.assertEqual(rc, 130, self.read("stderr")[-2000:])
        self.assertLess(took, 3, "the workers were not cut")
        doc = json.load(open(self.path("r.json")))
        self.assertIs(doc["incomplete"], True)
        # Nothing that talks to the server ended before the signal: at most scenarios skipped at once (what
        # the probe could not learn from a mute server) are reported.
        self.assertEqual([x["id"] for x in doc["results"] if x["status"] != "skip"], [])
        self.assertRegex(self.read("stdout"), r"(?m)^\d+ scenarios: 0 passed, 0 failed, 0 warnings, \d+ skipped, 0 errors")
        self.assertEqual(os.listdir(tmpdir), [])

    # ---- pipes ----

    def test_json_on_stdout_is_pipeable(self):
        args = ["run", "--reference", "scenarios"] + SMALL + ["--json", "-", "-v"]
        shell = " ".join([POP3SPEC] + args) + " | python3 -m json.tool"
        p = subprocess.run(["sh", "-c", shell], cwd=ROOT, capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode()[-2000:])
        doc = json.loads(p.stdout)
        self.assertGreater(len(doc["results"]), 3)
        self.assertIs(doc["incomplete"], False)
        err = p.stderr.decode()
        # the console went to stderr, with per-scenario times (-v) and the slowest list
        self.assertRegex(err, r"PASS  rfc1939/stat/\S+  .* \(\d+\.\d\d s\)\n")
        self.assertIn("Slowest:\n", err)
        self.assertRegex(err, r"\d+ scenarios: \d+ passed")

    def test_junit_on_stdout(self):
        r = self.run_ok(["run", "--reference", "scenarios"] + SMALL + ["--junit", "-"], 0)
        ET.fromstring(r.stdout)  # stdout is the XML and nothing else
        self.assertIn("scenarios: ", r.stderr)

    # ---- exit 2 before anything runs ----

    def usage(self, args, want, limit=10):
        t0 = time.monotonic()
        r = self.run_ok(args, 2, limit=limit)
        self.assertIn(want, r.stderr)
        self.assertNotIn("PASS ", r.stdout + r.stderr)
        self.assertLess(time.monotonic() - t0, limit)
        return r

    def test_mistakes_are_exit_2_up_front(self):
        prof6 = target_profile(self.path("six.yaml"), 1)  # port 1: nothing runs, so nothing connects
        self.usage(["run", "--reference", "-j", "9", "scenarios"] + SMALL,
                   "-j 9 needs 18 accounts (two per worker); the target pop3refd (reference) has 16")
        self.usage(["run", "--target", prof6, "-j", "4", "scenarios"] + SMALL,
                   "-j 4 needs 8 accounts (two per worker); the target hostile has 6")
        self.usage(["run", "--reference", "scenarios", "--html", "/nonexistent/dir/r.html"] + SMALL,
                   "cannot write the report /nonexistent/dir/r.html")
        self.usage(["run", "--reference", "scenarios", "--junit", self.tmp] + SMALL, "it is a folder")
        self.usage(["run", "--reference", "scenarios", "--json", "-", "--html", "-"] + SMALL,
                   "only one report can go to standard output")
        same = self.path("same.out")
        self.usage(["run", "--reference", "scenarios", "--json", same, "--junit", same] + SMALL,
                   "two reports would be written to")
        self.assertFalse(os.path.exists(same))
        other_spelling = os.path.join(self.tmp, ".", "..", os.path.basename(self.tmp), os.path.basename(same))
        self.usage(["run", "--reference", "scenarios", "--json", same, "--html", other_spelling] + SMALL,
                   "two reports would be written to")
        self.usage(["run", "--reference", "--target", prof6, "scenarios", "--json", "-"] + SMALL,
                   "with several targets --json and --junit write one report per target")
        self.usage(["run", "--reference", "scenarios", "--fixtures", "/nonexistent"] + SMALL, "not a folder")
        self.usage(["run", "--reference", "scenarios", "--rerun-failed", "/nonexistent.json"] + SMALL,
                   "--rerun-failed: /nonexistent.json")
        self.usage(["report", "--merge", "x.json", "--allow-partial", "--html", "/nonexistent/x.html"],
                   "cannot write the report")
        # a ca: file that does not exist: run and check alike
        with open(prof6) as f:
            text = f.read()
        noca = self.path("noca.yaml")
        with open(noca, "w") as f:
            f.write(text + "ca: no-such-ca.pem\n")
        self.usage(["run", "--target", noca, "scenarios"] + SMALL, "ca: ")
        r = self.usage(["check", noca], "no-such-ca.pem")
        self.assertIn("No such file or directory", r.stderr)

    # ---- redaction ----

    def test_redact_keeps_passwords_out_of_every_report(self):
        sel = ["--filter", "rfc1939/pass/*", "--filter", "rfc1939/user/*", "--filter", "rfc5034/*",
               "--filter", "sasl/*", "-v"]
        outs = {k: self.path(f"r.{k}") for k in ("json", "xml", "html")}
        args = ["run", "--reference", "scenarios", "--json", outs["json"], "--junit", outs["xml"],
                "--html", outs["html"]] + sel

        def leaks(r):
            texts = [r.stdout, r.stderr] + [open(p, encoding="utf-8").read() for p in outs.values()]
            return [pw for pw in REF_PASSWORDS for t in texts if pw in t]

        plain = run_pop3spec(args, limit=180)
        self.assertIn(plain.rc, (0, 1), plain)
        self.assertTrue(leaks(plain), "the test cannot fail: no password in the unredacted reports")
        red = run_pop3spec(args + ["--redact"], limit=180)
        self.assertEqual(red.rc, plain.rc, red)
        self.assertEqual(leaks(red), [])
        doc = json.load(open(outs["json"]))
        self.assertIs(doc["redacted"], True)
        shown = json.dumps(doc)
        self.assertIn("PASS [redacted]", shown)
        self.assertIn("AUTH PLAIN [redacted]", shown)
        # the SASL encodings of the secrets are gone too
        import base64
        for i in range(1, 17):
            blob = base64.b64encode(f"\0user{i:02d}\0{REF_PASSWORDS[i - 1]}".encode()).decode()
            self.assertNotIn(blob, shown)
        # verdicts do not change
        self.assertEqual(doc["summary"], json.loads(json.dumps(doc["summary"])))

    # ---- rerun-failed, merge, baseline ----

    def test_rerun_failed_runs_only_what_failed(self):
        fail = os.path.join(self.tmp, "fail")
        os.makedirs(fail, exist_ok=True)
        with open(os.path.join(fail, "noop-must-fail.yaml"), "w") as f:
            f.write("id: e2e/noop-must-fail\ntitle: NOOP is answered -ERR (deliberately wrong)\n"
                    "refs: [R1939-NOOP-1]\nlevel: MUST\nsteps:\n  - connect: plain\n  - login: {}\n"
                    "  - send: NOOP\n    expect: err\n")
        first = self.path("first.json")
        self.run_ok(["run", "--reference", "scenarios/rfc1939/stat", fail, "--json", first], 1)
        doc = json.load(open(first))
        self.assertGreater(len(doc["results"]), 2)
        again = self.path("again.json")
        self.run_ok(["run", "--reference", "scenarios/rfc1939/stat", fail, "--rerun-failed", first,
                     "--json", again], 1)
        self.assertEqual([r["id"] for r in json.load(open(again))["results"]], ["e2e/noop-must-fail"])
        # nothing failed: nothing to rerun, and that is no failure
        ok = self.path("ok.json")
        self.run_ok(["run", "--reference", "scenarios/rfc1939/stat", "--json", ok], 0)
        r = self.run_ok(["run", "--reference", "scenarios/rfc1939/stat", "--rerun-failed", ok], 0)
        self.assertIn("nothing failed or errored", r.stderr)
        # a report of a run stopped early still reruns its failures, with a warning
        d = json.load(open(first))
        d["incomplete"], d["not_run"] = True, 3
        with open(first, "w") as f:
            json.dump(d, f)
        r = self.run_ok(["run", "--reference", "scenarios/rfc1939/stat", fail, "--rerun-failed", first], 1)
        self.assertIn("is of a run stopped early (3 scenarios not run)", r.stderr)

    def test_merge_refuses_partial_shards(self):
        shards = []
        for i in (1, 2):
            p = self.path(f"s{i}.json")
            self.run_ok(["run", "--reference", "scenarios"] + SMALL + ["--shard", f"{i}/3", "--json", p], 0)
            self.assertEqual(json.load(open(p))["shard"], {"index": i, "count": 3})
            shards.append(p)
        r = self.run_ok(["report", "--merge"] + shards, 2)
        self.assertIn("1 of the 3 shards is missing (shard 3/3)", r.stderr)
        self.assertIn("--allow-partial", r.stderr)
        merged = self.path("merged.json")
        r = self.run_ok(["report", "--merge", "--allow-partial"] + shards + ["--json", merged], 0)
        doc = json.load(open(merged))
        self.assertIs(doc["incomplete"], True)
        self.assertIn("--allow-partial", doc["stopped"])
        third = self.path("s3.json")
        self.run_ok(["run", "--reference", "scenarios"] + SMALL + ["--shard", "3/3", "--json", third], 0)
        doc = json.loads(self.run_ok(["report", "--merge"] + shards + [third], 0).stdout)
        self.assertIs(doc["incomplete"], False)
        # a report stopped by a signal is refused too
        with open(third) as f:
            d = json.load(f)
        d["incomplete"], d["not_run"], d["stopped"] = True, 4, "interrupted (SIGINT)"
        with open(third, "w") as f:
            json.dump(d, f)
        r = self.run_ok(["report", "--merge"] + shards + [third], 2)
        self.assertIn("report 3 of 3 is incomplete", r.stderr)

    def test_baseline_of_another_target_warns(self):
        base = self.path("base.json")
        self.run_ok(["run", "--reference", "scenarios"] + SMALL + ["--json", base], 0)
        r = self.run_ok(["run", "--reference", "scenarios"] + SMALL + ["--baseline", base], 0)
        self.assertNotIn("warning: the baseline", r.stderr)
        d = json.load(open(base))
        d["target"] = "dovecot-2.3"
        with open(base, "w") as f:
            json.dump(d, f)
        r = self.run_ok(["run", "--reference", "scenarios"] + SMALL + ["--baseline", base], 0)
        self.assertIn('warning: the baseline', r.stderr)
        self.assertIn('"dovecot-2.3"', r.stderr)

    # ---- a server that stops answering ----

    def test_silent_server_ends_the_run_at_once(self):
        # The probe's connection is served; every later one is accepted and never greeted.
        self.server_gone_quiet("silent")

    def test_mute_server_ends_the_run_at_once(self):
        # Every later connection is greeted, and then nothing is ever answered (QUIT neither).
        self.server_gone_quiet("mute")

    def server_gone_quiet(self, mode):
        with Hostile(mode, spare=1) as srv:
            prof = target_profile(self.path("t.yaml"), srv.port)
            out = self.path("r.json")
            t0 = time.monotonic()
            r = self.run_ok(["run", "--target", prof, "--timeout", "1", "-j", "2", "scenarios",
                             "--filter", "rfc1939/*", "--json", out], 1, limit=60)
            took = time.monotonic() - t0
        doc = json.load(open(out))
        n = len(doc["results"])
        self.assertGreater(n, 50)
        # without the check: n scenarios x 1 s over 2 workers; with it, the streak and one check
        self.assertLess(took, 15, r)
        self.assertIn("the server stopped answering", r.stderr)
        not_run = [x for x in doc["results"] if x["message"] == "not run: the server stopped answering"]
        self.assertGreater(len(not_run), n - 10)
        self.assertTrue(all(x["status"] == "error" for x in not_run))
        self.assertEqual(doc["stopped"], "the server stopped answering")
        self.assertIs(doc["incomplete"], False)  # every scenario has its verdict

    def test_slow_server_that_answers_goes_on(self):
        # LIST's body never ends (a line every 300 ms): each LIST scenario waits for its timeout, but a new
        # connection is greeted and QUIT answered, so the server is only slow and the run goes on.
        slow = os.path.join(self.tmp, "slow")
        os.makedirs(slow, exist_ok=True)
        for i in range(5):
            with open(os.path.join(slow, f"list-{i}.yaml"), "w") as f:
                f.write(f"id: e2e/slow-list-{i}\ntitle: LIST with a body that never ends\nrefs: [R1939-LIST-4]\n"
                        "level: MUST\nsteps:\n  - connect: plain\n  - login: {}\n  - send: LIST\n"
                        "    expect: {status: ok, multiline: true}\n")
        with Hostile("slow_body", spare=1) as srv:
            prof = target_profile(self.path("t.yaml"), srv.port)
            out = self.path("r.json")
            r = self.run_ok(["run", "--target", prof, "--timeout", "0.5", slow, "--json", out, "-v"], 1,
                            limit=60)
        doc = json.load(open(out))
        self.assertNotIn("stopped", doc)
        self.assertEqual(len(doc["results"]), 5)
        self.assertFalse([x for x in doc["results"] if x["message"].startswith("not run")])
        self.assertTrue(all(x["status"] in ("fail", "error") and x["duration_ms"] >= 450 for x in doc["results"]),
                        [(x["status"], x["duration_ms"]) for x in doc["results"]])
        self.assertIn("but the server answers a new connection: going on", r.stderr)


if __name__ == "__main__":
    unittest.main()
