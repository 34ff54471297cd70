#!/bin/sh
# client-mutation.sh — proof that the client scenarios can fail: runs `pop3spec client run` with the
# fault-injectable test client (fixtures/clients/pop3client-faults.yaml, bin/pop3client-faults) once with no
# fault (every scenario must pass: a baseline that fails makes the table meaningless) and once per fault
# (POP3CLIENT_FAULT=NAME), and prints which scenarios caught each fault (failed, warned or errored).
# Exits 1 when a fault is caught by no scenario, 2 when the baseline does not pass. docs/client-faults.md.
#
# Environment (all optional):
#   CLIENT_MUTATION_FAULTS  space-separated fault names (default: every one of --list-faults)
#   CLIENT_MUTATION_OUT     folder for the per-fault JSON reports (default reports/client-mutation)
#   BIN                     folder of pop3spec and pop3client-faults (default bin)
set -eu
set -f

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
BIN=${BIN:-bin}
OUT=${CLIENT_MUTATION_OUT:-reports/client-mutation}
PROFILE=fixtures/clients/pop3client-faults.yaml
# Before the client engine and its scenarios exist there is nothing to run.
if [ ! -d scenarios/clients ]; then
	echo "client-mutation: no client scenarios (scenarios/clients): skipped" >&2
	exit 0
fi
mkdir -p "$OUT"
for b in pop3spec pop3client-faults; do
	[ -x "$BIN/$b" ] || { echo "client-mutation: $BIN/$b not built (make $BIN/$b)" >&2; exit 2; }
done
FAULTS=${CLIENT_MUTATION_FAULTS:-$("$BIN/pop3client-faults" --list-faults | cut -f1)}

# One run: the JSON report, or nothing when pop3spec itself could not run (exit 2).
run() {
	name=$1 fault=$2
	POP3CLIENT_FAULT=$fault "$BIN/pop3spec" client run --client "$PROFILE" -j 2 -q --json "$OUT/$name.json" \
	    >"$OUT/$name.log" 2>&1 || true
	[ -s "$OUT/$name.json" ] || { echo "client-mutation: the $name run did not run: $(tail -n 3 "$OUT/$name.log")" >&2
	                             return 1; }
}

start=$(date +%s)
rm -f "$OUT"/*.json
run baseline "" || exit 2
for f in $FAULTS; do
	run "$f" "$f" || exit 2
done
echo $(($(date +%s) - start)) >"$OUT/elapsed"

python3 - "$OUT" "$FAULTS" <<'EOF'
import json, os, sys

out, faults = sys.argv[1], sys.argv[2].split()
def bad(name):
    with open(os.path.join(out, name + ".json")) as f:
        return [(r["id"], r["status"]) for r in json.load(f)["results"] if r["status"] in ("fail", "warn", "error")]
base = bad("baseline")
if base:
    print("client-mutation: the fault-free client does not pass:", ", ".join(f"{i} ({s})" for i, s in base))
    sys.exit(2)
missed = []
print(f"{'fault':38} caught by")
for f in faults:
    got = bad(f)
    if not got:
        missed.append(f)
    print(f"{f:38} " + (", ".join(f"{i.removeprefix('clients/')} ({s})" for i, s in got) or "NOT CAUGHT"))
print(f"{len(faults) - len(missed)} of {len(faults)} faults caught in {open(os.path.join(out, 'elapsed')).read().strip()} s")
sys.exit(1 if missed else 0)
EOF
