#!/usr/bin/env bash
# lint.sh — static checks: cppcheck over all C code (warnings are errors), mandoc -Tlint on the man pages,
# and a clang-format report (informational: formatting is not enforced on every line).
set -eu
cd "$(dirname "$0")/../.."
status=0
if command -v cppcheck >/dev/null; then
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	    --inline-suppr --suppress=missingIncludeSystem -Iharness harness/lib harness/server harness/runner harness/client \
	    || status=1
else
	echo "lint: cppcheck not installed (apt-get install cppcheck)" >&2; status=1
fi
if command -v mandoc >/dev/null && ls docs/man/*.[18] >/dev/null 2>&1; then
	mandoc -Tlint -W warning docs/man/*.[18] || status=1
fi
if command -v clang-format >/dev/null; then
	n=$(for f in harness/*/*.c harness/*/*.h harness/runner/report/*.c; do
		clang-format --dry-run "$f" 2>&1 | grep -c warning: || true; done | awk '{s+=$1} END {print s+0}')
	echo "lint: clang-format would change $n places (informational)"
fi
exit $status
