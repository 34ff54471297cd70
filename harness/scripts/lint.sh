#!/usr/bin/env bash
# lint.sh — static checks: cppcheck over all C code (warnings are errors), mandoc -Tlint on the man pages,
# and clang-format over every C file (a gate: a file that differs from .clang-format fails).
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
# pop3spec load and the executor run sessions on threads: libc calls that keep hidden static state are
# banned from the C code outside the tests (readdir on a DIR of one's own and glibc's strerror are safe) (a strtok in load's CAPA parser corrupted another thread's scan).
if git grep -nE '\b(strtok|localtime|gmtime|asctime|ctime|rand|drand48|gethostbyname)\(' \
	-- 'harness/lib' 'harness/runner' 'harness/server' 'harness/client' 2>/dev/null; then
	echo "lint: thread-unsafe libc call above: use the _r form" >&2; status=1
fi
if command -v mandoc >/dev/null && ls docs/man/*.[18] >/dev/null 2>&1; then
	mandoc -Tlint -W warning docs/man/*.[18] || status=1
fi
# Formatting is a gate: every C file under harness/ and bench/ is as .clang-format says (clang-format 14, the
# version Debian 12 ships; another version formats a few constructs differently, so it only reports).
fmt=$(command -v clang-format-14 || command -v clang-format || true)
if [ -n "$fmt" ]; then
	files=$(git ls-files 'harness/*.c' 'harness/*.h' 'bench/*.c' 2>/dev/null || find harness bench -name '*.[ch]')
	if "$fmt" --version | grep -q 'version 14\.'; then
		# shellcheck disable=SC2086
		"$fmt" --dry-run --Werror $files || { echo "lint: run: $fmt -i \$(git ls-files 'harness/*.[ch]' 'bench/*.c')" >&2; status=1; }
	else
		echo "lint: $("$fmt" --version) is not clang-format 14: formatting not checked" >&2
	fi
else
	echo "lint: clang-format not installed (apt-get install clang-format)" >&2; status=1
fi
exit $status
