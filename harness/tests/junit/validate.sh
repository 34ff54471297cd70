#!/usr/bin/env bash
# validate.sh — check a JUnit XML report two independent ways: against junit.xsd with xmllint, and by
# reading it back with Python's xml.etree and recounting every testsuite's tests, failures, errors and
# skips against the attributes the report claims.
#
#   harness/tests/junit/validate.sh [--expect TESTS,FAILURES,ERRORS,SKIPPED] FILE...
#
# Prints one line per file: "junit: FILE: S suites, T tests, F failures, E errors, K skipped".
# Exit 0 when every file is valid (and matches --expect), 1 when not, 2 on usage or a missing tool
# (xmllint is in Debian's libxml2-utils).
set -u
here=$(cd "$(dirname "$0")" && pwd)
expect=""
if [ "${1:-}" = "--expect" ]; then
	expect=${2:?--expect needs TESTS,FAILURES,ERRORS,SKIPPED}
	shift 2
fi
[ $# -ge 1 ] || { echo "usage: $0 [--expect T,F,E,S] FILE..." >&2; exit 2; }
command -v xmllint >/dev/null || { echo "validate.sh: xmllint not found (apt-get install libxml2-utils)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "validate.sh: python3 not found" >&2; exit 2; }

status=0
for f in "$@"; do
	if ! xmllint --noout --nonet --schema "$here/junit.xsd" "$f" 2>"${TMPDIR:-/tmp}/validate.$$"; then
		echo "validate.sh: $f: not valid against junit.xsd:" >&2
		head -20 "${TMPDIR:-/tmp}/validate.$$" >&2
		status=1
	fi
	rm -f "${TMPDIR:-/tmp}/validate.$$"
	python3 - "$f" "$expect" <<'PY' || status=1
import sys, xml.etree.ElementTree as ET

path, expect = sys.argv[1], sys.argv[2]
problems = []
try:
    root = ET.parse(path).getroot()
except ET.ParseError as e:
    print(f"validate.sh: {path}: not well-formed XML: {e}", file=sys.stderr)
    sys.exit(1)
if root.tag != "testsuites":
    problems.append(f"root element is <{root.tag}>, not <testsuites>")
tot = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
suites = root.findall("testsuite")
names = set()
for s in suites:
    name = s.get("name", "")
    if name in names:
        problems.append(f"testsuite {name!r} appears twice")
    names.add(name)
    cases = s.findall("testcase")
    n = {"tests": len(cases),
         "failures": sum(1 for c in cases if c.find("failure") is not None),
         "errors": sum(1 for c in cases if c.find("error") is not None),
         "skipped": sum(1 for c in cases if c.find("skipped") is not None)}
    for c in cases:
        if c.get("classname") != name:
            problems.append(f"testcase {c.get('name')!r}: classname {c.get('classname')!r} != suite {name!r}")
        if sum(c.find(k) is not None for k in ("failure", "error", "skipped")) > 1:
            problems.append(f"testcase {c.get('name')!r}: more than one outcome")
        float(c.get("time", "0"))
    for k, v in n.items():
        claimed = int(s.get(k, "0"))
        if claimed != v:
            problems.append(f"testsuite {name!r}: {k}={claimed} but {v} counted")
        tot[k] += v
for k in ("tests", "failures", "errors"):
    if root.get(k) is not None and int(root.get(k)) != tot[k]:
        problems.append(f"testsuites: {k}={root.get(k)} but {tot[k]} counted")
if expect:
    want = dict(zip(("tests", "failures", "errors", "skipped"), (int(x) for x in expect.split(","))))
    for k, v in want.items():
        if tot[k] != v:
            problems.append(f"expected {k}={v}, found {tot[k]}")
for p in problems:
    print(f"validate.sh: {path}: {p}", file=sys.stderr)
print(f"junit: {path}: {len(suites)} suites, {tot['tests']} tests, {tot['failures']} failures, "
      f"{tot['errors']} errors, {tot['skipped']} skipped")
sys.exit(1 if problems else 0)
PY
done
exit $status
