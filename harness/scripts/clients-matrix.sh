#!/usr/bin/env bash
# clients-matrix.sh — `make clients`: every shipped real-client profile (fixtures/clients/NAME.yaml) through
# `pop3spec client run`, each gated on docs/clients/NAME-baseline.json, then one comparison page of their
# verdicts; the client-side counterpart of harness/peers/peers.sh (docs/clients/README.md).
#
#   harness/scripts/clients-matrix.sh [NAME...]     (default: every shipped client)
#
# Writes reports/clients/NAME.{json,html} and "$reports/compare.html". Exit 1 when a client's verdicts
# differ from its baseline, a client has no baseline, or a fail/warn/error of a baseline has no reason in
# docs/clients/reasons.json (client-findings.py --check); else 0.
#   CLIENTS_NO_BASELINE=1  run without the gate (to see, or re-record, the raw verdicts)
#   CLIENTS_RECORD=1       re-record each baseline from its run (refuses error verdicts), then rewrite the
#                          findings tables in docs/clients/NAME.md
#   CLIENTS_PUBLISH=1      also copy the comparison to docs/clients/compare.html and its screenshot to
#                          docs/images/clients-compare.png
#   CLIENTS_DOCS=DIR       baselines, pages and reasons.json from DIR, not docs/clients (the tests' scratch copy)
#   CLIENTS_REPORTS=DIR    reports into DIR, not reports/clients
# Runs niced: mpop's drop-mid-message scenario alone waits out its 30 s timeout.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2
BIN=${BIN:-bin}
case $BIN in /*) pop3spec=$BIN/pop3spec ;; *) pop3spec=./$BIN/pop3spec ;; esac
JOBS=${JOBS:-2}
# The real clients Debian ships or people script, and pop3client, the harness's own reference client.
all=(fetchmail mpop getmail6 curl poplib netpop3 pop3client)
[ $# -gt 0 ] && all=("$@")

docs=${CLIENTS_DOCS:-docs/clients}
reports=${CLIENTS_REPORTS:-reports/clients}
export CLIENTS_DOCS=$docs
mkdir -p "$reports"
rc=0
declare -A result
for n in "${all[@]}"; do
	profile=fixtures/clients/$n.yaml
	baseline=$docs/$n-baseline.json
	[ -f "$profile" ] || { echo "clients: no profile $profile" >&2; result[$n]="NO PROFILE"; rc=1; continue; }
	echo "=== client $n"
	opts=(--client "$profile" -j "$JOBS" -q --json "$reports/$n.json" --html "$reports/$n.html")
	gated=
	if [ -z "${CLIENTS_NO_BASELINE:-}" ] && [ -z "${CLIENTS_RECORD:-}" ]; then
		if [ -f "$baseline" ]; then
			opts+=(--baseline "$baseline")
			gated=1
		else
			echo "clients: $n has no $baseline (CLIENTS_RECORD=1 $0 $n)" >&2
		fi
	fi
	nice "$pop3spec" client run "${opts[@]}"
	st=$?
	if [ -n "${CLIENTS_RECORD:-}" ]; then
		if python3 harness/peers/baseline-from-report.py "$reports/$n.json" "$baseline"; then
			result[$n]="recorded"
		else
			result[$n]="NOT RECORDED"; rc=1
		fi
	elif [ -n "$gated" ]; then
		if [ $st -eq 0 ]; then result[$n]=same; else result[$n]="DIFFERS (exit $st)"; rc=1; fi
	else
		result[$n]="ungated (exit $st)"
		[ -n "${CLIENTS_NO_BASELINE:-}" ] || rc=1
	fi
done

baselines=()
for n in "${all[@]}"; do
	[ -f "$docs/$n-baseline.json" ] && baselines+=("$docs/$n-baseline.json")
done
if [ ${#baselines[@]} -gt 0 ]; then
	"$pop3spec" report --compare "${baselines[@]}" --html "$reports/compare.html" || rc=1
	if [ -n "${CLIENTS_RECORD:-}" ]; then
		"$here/client-findings.py" "${all[@]}" || rc=1
	fi
	if [ -n "${CLIENTS_PUBLISH:-}" ]; then
		cp "$reports/compare.html" "$docs/compare.html"
		harness/peers/screenshot.sh "$docs/compare.html" docs/images/clients-compare.png || rc=1
	fi
	# Every fail, warn and error of every baseline must have its reason (docs/clients/reasons.json).
	"$here/client-findings.py" --check "${all[@]}" || rc=1
fi
echo "=== clients: verdicts against the baselines"
for n in "${all[@]}"; do printf '  %-12s %s\n' "$n" "${result[$n]}"; done
echo "comparison: $reports/compare.html"
exit $rc
