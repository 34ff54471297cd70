#!/usr/bin/env bash
# tsan.sh — ThreadSanitizer over the runner's threaded parts: pop3spec built with -fsanitize=thread runs the
# suite at the default -j (the executor's worker pool, the fixture cache, connlimit), `load` with every mix
# and deliveries (its client threads share the model), `fuzz`, and `client run` at -j 4, each against the
# plain binaries it drives (pop3refd, pop3client: single-threaded, so not instrumented). Any race report
# fails the run. `make tsan` runs it after building $TSAN_BIN.
set -euo pipefail
cd "$(dirname "$0")/../.."
tbin=${TSAN_BIN:-build-tsan/bin}
bin=${BIN:-bin}
out=${TSAN_OUT:-build-tsan/reports}
mkdir -p "$out"
export POP3REFD=$PWD/$bin/pop3refd
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
status=0
# check NAME EXPECTED-STATUSES COMMAND...: run it, fail on a race report or an unexpected exit status.
check() {
	local name=$1 ok=$2 rc=0
	shift 2
	"$@" >"$out/$name.out" 2>"$out/$name.err" || rc=$?
	if grep -q "ThreadSanitizer" "$out/$name.err"; then
		echo "tsan: $name: data race reported:" >&2
		sed -n '/WARNING: ThreadSanitizer/,/^SUMMARY/p' "$out/$name.err" | head -80 >&2
		status=1
	elif ! grep -qw "$rc" <<<"$ok"; then
		echo "tsan: $name ended with status $rc (expected $ok):" >&2
		tail -20 "$out/$name.out" "$out/$name.err" >&2
		status=1
	else
		echo "tsan: $name: no race ($(tail -1 "$out/$name.out"))"
	fi
}
check run 0 "$tbin/pop3spec" run --reference -q scenarios
check load 0 "$tbin/pop3spec" load --reference -q --clients 8 --duration 5 --seed 3 \
	--mix apop=50,stls=20,sasl=20,pipeline=20,drop=10 --deliver-every 0.1 --json "$out/load.json"
check fuzz 0 "$tbin/pop3spec" fuzz --reference --duration 8 --seed 3 --json "$out/fuzz.json"
# The client profile's {bin} is the folder pop3spec runs from: the plain test client goes beside it.
cp "$bin/pop3client" "$tbin/"
check client 0 "$tbin/pop3spec" client run --client fixtures/clients/pop3client.yaml -q -j 4 scenarios/clients
exit $status
