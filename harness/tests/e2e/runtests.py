"""runtests — run every test_*.py beside this file and end with "N passed, N failed" (exit 1 on failures)."""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Result(unittest.TextTestResult):
    def startTest(self, test):
        self._t0 = time.time()
        super().startTest(test)


def main():
    pattern = sys.argv[1] if len(sys.argv) > 1 else "test_*.py"
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    if len(sys.argv) > 2:  # optional filter on test ids
        want = sys.argv[2]
        flat = unittest.TestSuite()

        def walk(s):
            for t in s:
                if isinstance(t, unittest.TestSuite):
                    walk(t)
                elif want in t.id():
                    flat.addTest(t)
        walk(suite)
        suite = flat
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result, stream=sys.stdout)
    res = runner.run(suite)
    # A test that fails and then errors in its tear-down is one failed test, not two.
    failed_ids = {t.id() for t, _ in res.failures + res.errors} | {t.id() for t in res.unexpectedSuccesses}
    failed = len(failed_ids)
    skipped = len({t.id() for t, _ in res.skipped} - failed_ids)
    passed = max(res.testsRun - failed - skipped, 0)
    if skipped:
        print(f"{skipped} skipped")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
