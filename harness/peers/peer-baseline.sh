#!/usr/bin/env bash
# peer-baseline.sh — record docs/peers/NAME-baseline.json: run the suite against one peer without a
# baseline (peer-suite.sh), then keep every verdict (id, title, level, refs, status, message) and the
# transcripts of the results that did not pass, as evidence. `make peer-NAME` then gates on it. Refuses a
# run with error verdicts. Every non-pass verdict must be explained in docs/peers/NAME.md.
#
#   harness/peers/peer-baseline.sh NAME [extra pop3spec run options...]
set -u

[ $# -ge 1 ] || { echo "usage: $0 NAME [run options...]" >&2; exit 2; }
name=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2
PEERS_NO_BASELINE=1 "$here/peer-suite.sh" "$@"
rc=$?
[ $rc -le 1 ] || exit $rc      # 2: nothing ran
exec "$here/baseline-from-report.py" "reports/peers/$name.json" "docs/peers/$name-baseline.json"
