"""runtests — run the test_*.py beside this file and end with "N passed, N failed" (exit 1 on failures).

    runtests.py [PATTERN [FILTER]]   test files matching PATTERN (default test_*.py), ids containing FILTER
    E2E_SET=all|asan|valgrind        which files (docs/testing.md says why each gate runs what it runs)
    E2E_JOBS=N                       run up to N test files at once, each in its own process (default 1)

Every test starts its own servers on port 0 in its own temporary folder, so files are independent; the files
in ALONE measure time or rates and always run by themselves, after the others.
Each file's duration and the slowest tests are printed at the end, so a slow gate can be traced to a file."""

import concurrent.futures
import fnmatch
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# Files that measure time or rates (reply timing, the delay being a timer, faults found within 10 s, fuzz cases
# in 12 s): run alone so a neighbour does not disturb them. Crash safety and the big-message paths check
# correctness only and share the pool.
ALONE = {"test_hardening.py", "test_load.py", "test_fuzz.py"}

# The files that take longest (whole-suite runs, timed logins), started first so that E2E_JOBS workers finish
# together instead of one long file running by itself at the end; the others follow in name order.
LONGEST_FIRST = ["test_runner_targets.py", "test_accuracy_fixtures.py", "test_runner_hostile.py",
                 "test_runner_signals.py", "test_runner_cli.py", "test_runner_modes.py", "test_install.py",
                 "test_crashsafe.py", "test_real_clients.py"]

# What each gate runs (docs/testing.md, "Which tests each target runs"). `make check` runs every file.
# ASan+UBSan: every file that makes the C binaries do something the others do not; not the files whose
# work is in other programs (the real mail clients, whose server paths the suite drives) or in the install
# tree (the binaries it runs are the ones the other files test); the real-client profiles likewise.
ASAN_SKIP = {"test_install.py", "test_real_clients.py", "test_clients.py", "test_client_profiles.py"}
# Valgrind (every pop3refd the tests start under memcheck, leaks are errors). The suite already runs with
# both programs under valgrind (harness/scripts/valgrind-suite.sh), so these are the server paths the suite
# cannot reach: server flags and modes (TLS versions, --plaintext-auth, UTF-8 accounts), the Maildir on disk
# and its failures, signals and start-up errors, hardening, the fault builds, the big-message fast paths.
# Not load, fuzz and crash safety (valgrind would measure itself; SIGKILL leaves no report), not the runner
# files (their pop3spec is not under valgrind and their waits are the runner's), not the real clients.
VALGRIND_SET = {"test_auth.py", "test_commands.py", "test_delete.py", "test_tls.py", "test_utf8.py",
                "test_robust.py", "test_faults.py", "test_hardening.py", "test_perf_paths.py"}


class Result(unittest.TextTestResult):
    durations = []

    def startTest(self, test):
        self._t0 = time.time()
        super().startTest(test)

    def stopTest(self, test):
        Result.durations.append((time.time() - self._t0, test.id()))
        super().stopTest(test)


def selected_files(pattern):
    chosen = os.environ.get("E2E_SET", "all")
    files = sorted(f for f in os.listdir(HERE) if fnmatch.fnmatch(f, pattern) and f.startswith("test_")
                   and f.endswith(".py"))
    if chosen == "asan":
        files = [f for f in files if f not in ASAN_SKIP]
    elif chosen == "valgrind":
        files = [f for f in files if f in VALGRIND_SET]
    elif chosen != "all":
        raise SystemExit(f"runtests: E2E_SET={chosen}: expected all, asan or valgrind")
    return files


def run_in_process(pattern, filt):
    """The tests of the files matching pattern in this process; (passed, failed, skipped)."""
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    if filt:
        flat = unittest.TestSuite()

        def walk(s):
            for t in s:
                if isinstance(t, unittest.TestSuite):
                    walk(t)
                elif filt in t.id():
                    flat.addTest(t)
        walk(suite)
        suite = flat
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result, stream=sys.stdout)
    res = runner.run(suite)
    # A test that fails and then errors in its tear-down is one failed test, not two.
    failed_ids = {t.id() for t, _ in res.failures + res.errors} | {t.id() for t in res.unexpectedSuccesses}
    failed = len(failed_ids)
    skipped = len({t.id() for t, _ in res.skipped} - failed_ids)
    return max(res.testsRun - failed - skipped, 0), failed, skipped


def run_file(name, filt):
    """One test file in a child process (runtests.py --one); (name, seconds, output, passed, failed, skipped)."""
    t0 = time.time()
    p = subprocess.run([sys.executable, "-u", os.path.abspath(__file__), "--one", name, filt or ""],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    out = p.stdout
    m = re.search(r"^RESULT (\d+) (\d+) (\d+)$", out, re.M)
    if m:
        passed, failed, skipped = (int(x) for x in m.groups())
        out = out[:m.start()] + out[m.end() + 1:]
    else:  # the child died before it could count: one failure, its output says why
        passed, failed, skipped = 0, 1, 0
        out += f"\nruntests: {name} ended with status {p.returncode} before reporting\n"
    return name, time.time() - t0, out, passed, failed, skipped


def main():
    args = sys.argv[1:]
    if args[:1] == ["--one"]:  # the child side of run_file
        Result.durations = []
        passed, failed, skipped = run_in_process(args[1], args[2] if len(args) > 2 else "")
        for secs, tid in Result.durations:
            print(f"DURATION {secs:.2f} {tid}")
        print(f"RESULT {passed} {failed} {skipped}")
        return 0
    pattern = args[0] if args else "test_*.py"
    filt = args[1] if len(args) > 1 else ""
    jobs = max(int(os.environ.get("E2E_JOBS", "1") or 1), 1)
    files = selected_files(pattern)
    rank = {f: i for i, f in enumerate(LONGEST_FIRST)}
    shared = sorted((f for f in files if f not in ALONE), key=lambda f: (rank.get(f, len(rank)), f))
    alone = [f for f in files if f in ALONE]
    total = [0, 0, 0]
    per_file, per_test = [], []
    t0 = time.time()

    def collect(r):
        name, secs, out, passed, failed, skipped = r
        for line in out.splitlines(keepends=True):
            if line.startswith("DURATION "):
                s, tid = line.split(" ", 2)[1:]
                per_test.append((float(s), tid.strip()))
            else:
                sys.stdout.write(line)
        print(f"--- {name}: {passed} passed, {failed} failed, {skipped} skipped in {secs:.1f} s", flush=True)
        per_file.append((secs, name))
        for i, v in enumerate((passed, failed, skipped)):
            total[i] += v

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_file, f, filt) for f in shared]
        for fut in concurrent.futures.as_completed(futures):
            collect(fut.result())
    for f in alone:
        collect(run_file(f, filt))
    print(f"\ne2e: {len(files)} files in {time.time() - t0:.1f} s (E2E_JOBS={jobs}, "
          f"E2E_SET={os.environ.get('E2E_SET', 'all')}); per file:")
    for secs, name in sorted(per_file, reverse=True):
        print(f"  {secs:7.1f} s  {name}")
    print("slowest tests:")
    for secs, tid in sorted(per_test, reverse=True)[:15]:
        print(f"  {secs:7.1f} s  {tid}")
    passed, failed, skipped = total
    if skipped:
        print(f"{skipped} skipped")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
