#!/usr/bin/env bash
# run.sh — pop3refd's end-to-end tests: Python 3 (stdlib only) tests that start the real $BIN/pop3refd on
# port 0 and talk to it over real sockets. Ends with "N passed, N failed"; exit 1 when anything failed.
#   BIN=bin (default)          where pop3refd is
#   POP3SPEC_VALGRIND=1        run every server under valgrind --leak-check=full --error-exitcode=99
#   E2E_JOBS=N                 test files at a time, each in its own process (default 1; make check: 2)
#   E2E_SET=all|asan|valgrind  the files of a gate (runtests.py, docs/testing.md)
#   run.sh [PATTERN [FILTER]]  only test files matching PATTERN (default test_*.py), ids containing FILTER
set -u
cd "$(dirname "$0")/../../.."
BIN=${BIN:-bin}
export BIN
if [ ! -x "$BIN/pop3refd" ]; then
	echo "e2e: $BIN/pop3refd not built (make bin/pop3refd)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
if ! command -v python3 >/dev/null; then
	echo "e2e: python3 is needed for the end-to-end tests (apt-get install python3)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
if [ "${POP3SPEC_VALGRIND:-0}" = 1 ] && ! command -v valgrind >/dev/null; then
	echo "e2e: POP3SPEC_VALGRIND=1 but valgrind is not installed (apt-get install valgrind)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
exec python3 -u harness/tests/e2e/runtests.py "$@"
