#!/usr/bin/env bash
# dovecot-suite.sh — `make dovecot`: start the private Dovecot (dovecot.sh), run the whole suite against it
# with the generated target profile, stop Dovecot whatever happened, and exit with the runner's status.
#
#   harness/peers/dovecot-suite.sh [extra pop3spec run options...]
#
# Reports: reports/dovecot.json and reports/dovecot.html. When docs/peers/dovecot-baseline.json exists
# the run is gated on it (--baseline): Dovecot's documented deviations pass as known, and only a result that
# differs from the baseline fails. DOVECOT_NO_BASELINE=1 runs without it (to see, or re-record, the raw
# verdicts: harness/peers/dovecot-suite.sh then copy reports/dovecot.json to the baseline).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2
BIN=${BIN:-bin}
baseline=docs/peers/dovecot-baseline.json

# Stop Dovecot at the end (even on ^C) only if this run started it: an instance started by hand stays.
if "$here/dovecot.sh" status >/dev/null; then
	echo "dovecot-suite: using the Dovecot already running (it stays running)"
else
	"$here/dovecot.sh" start || exit 2
	trap '"$here/dovecot.sh" stop' EXIT
	trap 'exit 130' INT TERM
fi
dir=${DOVECOT_DIR:-$root/build/peers/dovecot}

opts=(--target "$dir/target.yaml" --json reports/dovecot.json --html reports/dovecot.html)
if [ -f "$baseline" ] && [ -z "${DOVECOT_NO_BASELINE:-}" ]; then
	opts+=(--baseline "$baseline")
fi
mkdir -p reports
"./$BIN/pop3spec" run "${opts[@]}" "$@"
rc=$?
echo "dovecot: reports/dovecot.json reports/dovecot.html; Dovecot's log: $dir/log/dovecot.log"
exit $rc
