#!/usr/bin/env bash
# peer-suite.sh — `make peer-NAME`: start one peer (harness/peers/NAME.sh), run the whole suite against it
# with the generated target profile, stop it whatever happened, exit with the runner's status.
#
#   harness/peers/peer-suite.sh NAME [extra pop3spec run options...]
#
# Reports: reports/peers/NAME.json and .html. When docs/peers/NAME-baseline.json exists the run is gated
# on it (--baseline): the server's documented deviations pass as known, only a result that differs from
# the baseline fails. PEERS_NO_BASELINE=1 runs without it (to see, or re-record, the raw verdicts).
set -u

[ $# -ge 1 ] || { echo "usage: $0 NAME [run options...]" >&2; exit 2; }
name=$1
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2
BIN=${BIN:-bin}
script=$here/$name.sh
[ -x "$script" ] || { echo "peer-suite: no peer $name ($script)" >&2; exit 2; }
baseline=docs/peers/$name-baseline.json
if [ "$name" = dovecot ]; then
	dir=${DOVECOT_DIR:-$root/build/peers/dovecot}
else
	dir=${PEER_DIR:-$root/build/peers/$name}
fi

# Stop the server at the end (even on ^C) only if this run started it: one started by hand stays.
if "$script" status >/dev/null 2>&1; then
	echo "peer-suite: using the $name already running (it stays running)"
else
	"$script" start || exit 2
	trap '"$script" stop' EXIT
	trap 'exit 130' INT TERM
fi

mkdir -p reports/peers
opts=(--target "$dir/target.yaml" --json "reports/peers/$name.json" --html "reports/peers/$name.html")
# Courier's couriertcpd takes at most MAXPERIP=4 connections from one address (Debian's default) and closes
# the rest before the greeting: the runner notices, retries, and goes on with fewer workers by itself
# (runner/exec/connlimit.h), so Courier runs with the default -j like every peer.
if [ -f "$baseline" ] && [ -z "${PEERS_NO_BASELINE:-}" ]; then
	opts+=(--baseline "$baseline")
fi
"./$BIN/pop3spec" run "${opts[@]}" "$@"
rc=$?
echo "$name: reports/peers/$name.json reports/peers/$name.html; server log: $dir/log/"
exit $rc
