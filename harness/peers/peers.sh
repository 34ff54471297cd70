#!/usr/bin/env bash
# peers.sh — `make peers`: the suite against every POP3 server Debian 12 ships, one after the other
# (peer-suite.sh NAME, each gated on docs/peers/NAME-baseline.json), then one comparison page of their
# verdicts (pop3spec report --compare over the baselines, which the gated runs just confirmed).
#
#   harness/peers/peers.sh [NAME...]     (default: every peer)
#
# Writes reports/peers/NAME.{json,html} and reports/peers/compare.html; exit 1 when any peer's verdicts
# differ from its baseline (or it could not run), else 0. PEERS_PUBLISH=1 also copies the comparison to
# docs/peers/compare.html and its screenshot to docs/images/peers-compare.png. Runs niced: the suite against slow servers takes minutes.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2
BIN=${BIN:-bin}
all=(popa3d solid-pop3d mailutils dovecot courier cyrus)
[ $# -gt 0 ] && all=("$@")

rc=0
declare -A result
for n in "${all[@]}"; do
	echo "=== peer $n"
	if nice "$here/peer-suite.sh" "$n" -q; then result[$n]=same; else result[$n]="DIFFERS (exit $?)"; rc=1; fi
done
baselines=()
for n in "${all[@]}"; do
	[ -f "docs/peers/$n-baseline.json" ] && baselines+=("docs/peers/$n-baseline.json")
done
mkdir -p reports/peers
if [ ${#baselines[@]} -gt 0 ]; then
	"./$BIN/pop3spec" report --compare "${baselines[@]}" --html reports/peers/compare.html || rc=1
	if [ -n "${PEERS_PUBLISH:-}" ]; then
		cp reports/peers/compare.html docs/peers/compare.html
		"$here/findings.py" "${all[@]}" || rc=1
		"$here/screenshot.sh" docs/peers/compare.html docs/images/peers-compare.png || rc=1
	fi
fi
# Every fail, warn and error of every baseline must have its reason (docs/peers/reasons.json).
[ ${#baselines[@]} -eq 0 ] || "$here/findings.py" --check "${all[@]}" || rc=1
echo "=== peers: verdicts against the baselines"
for n in "${all[@]}"; do printf '  %-12s %s\n' "$n" "${result[$n]}"; done
echo "comparison: reports/peers/compare.html"
exit $rc
