#!/bin/sh
# mutation.sh — `make mutation`: proof that the suite can fail. Runs the whole suite against the
# fault-injection server (bin/pop3refd-faults) once per fault, and prints which scenarios caught each
# fault (failed, warned or errored). Exits 1 when a fault is caught by no scenario, 2 when the fault-free
# baseline does not pass (then the table would mean nothing). docs/mutation.md explains it.
#
# Environment (all optional):
#   MUTATION_FAULTS   space-separated fault names to run (default: every one of --list-faults)
#   MUTATION_JOBS     faults run at the same time (default 3; each run uses -j 2 and waits more than it
#                     computes, so three fit on two cores)
#   MUTATION_TIMEOUT  the runner's --timeout per step, in seconds (default 2)
#   MUTATION_IDLE     the server's --idle-timeout for the autologout scenarios, in seconds (default 20)
#   MUTATION_OUT      folder for the per-fault JSON reports and the tables (default reports/mutation)
#   BIN               folder of pop3spec and pop3refd-faults (default bin)
set -eu
set -f # fault names and scenario globs are words, never file patterns

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
BIN=${BIN:-bin}
case $BIN in /*) ;; *) BIN=$root/$BIN ;; esac
OUT=${MUTATION_OUT:-reports/mutation}
JOBS=${MUTATION_JOBS:-3}
TIMEOUT=${MUTATION_TIMEOUT:-2}
IDLE=${MUTATION_IDLE:-20}
# The runs use copies in $OUT/bin, made below: a rebuild of bin/ while they run must not break them.
SPEC=$OUT/bin/pop3spec
FAULTY=$OUT/bin/pop3refd-faults
export POP3REFD="$root/$FAULTY"
case $OUT in /*) POP3REFD=$FAULTY ;; esac

# The autologout scenarios that finish within a few idle periods (the two "almost 10 minutes" ones wait
# 590 s whatever the timeout, so they are left out; docs/mutation.md says why).
TIMER_FILTERS="--tag slow --filter rfc1939/timer/command-resets-timer --filter rfc1939/timer/expiry-*"

# One pass of the suite: run_pass NAME KIND FAULT-ARGS. KIND is suite (the default selection) or timer
# (the autologout scenarios, with a short --idle-timeout the runner also uses as the target's).
run_pass() {
	name=$1 kind=$2 args=$3
	json=$OUT/$name.$kind.json
	if [ "$kind" = timer ]; then
		# shellcheck disable=SC2086
		POP3REFD_ARGS="$args --idle-timeout $IDLE" "$SPEC" run --reference -j 2 -q --timeout "$TIMEOUT" \
		    $TIMER_FILTERS --json "$json" scenarios >"$OUT/$name.$kind.log" 2>&1 || true
	else
		POP3REFD_ARGS="$args" "$SPEC" run --reference -j 2 -q --timeout "$TIMEOUT" \
		    --json "$json" scenarios >"$OUT/$name.$kind.log" 2>&1 || true
	fi
	# No JSON report means the run itself broke (exit 2): that is not a verdict on the fault.
	[ -s "$json" ] || { echo "mutation: $name ($kind pass) did not run: $(tail -n 3 "$OUT/$name.$kind.log")" >&2
	                    return 1; }
}

# The table, from the JSON reports in $OUT (also `mutation.sh --table`, to print it again).
table() {
	python3 - "$OUT" "$(cat "$OUT/elapsed")" "$IDLE" <<'EOF'
import json, os, sys

out, elapsed, idle = sys.argv[1], int(sys.argv[2]), sys.argv[3]
CAUGHT = ("fail", "warn", "error")
faults = [line.rstrip("\n").split("\t") for line in open(os.path.join(out, "run.tsv"))]

def results(name, kind):
    path = os.path.join(out, "%s.%s.json" % (name, kind))
    return json.load(open(path))["results"] if os.path.exists(path) else None

# Every scenario that ran in a baseline pass: those are the ones that could catch something.
ran = {}
for kind in ("suite", "timer"):
    for r in results("baseline", kind) or []:
        ran[r["id"]] = r["status"]

rows, caught_any, uncaught, broken = [], set(), [], []
for name, scope, what in faults:
    ids, checked, missing = [], [], False
    for kind in ("suite", "timer") if scope == "timer" else ("suite",):
        res = results(name, kind)
        if res is None:
            missing = True
            continue
        ids += [r["id"] for r in res if r["status"] in CAUGHT]
        checked += [r["id"] for r in res if r["status"] in ("fail", "warn")]
    ids = sorted(set(ids))
    # A scenario "can fail" when one of its own checks failed; an error (no session could be set up,
    # e.g. every scenario after a broken greeting) catches the fault but proves nothing of the scenario.
    caught_any.update(checked)
    secs = open(os.path.join(out, name + ".time")).read().split()[1] if os.path.exists(
        os.path.join(out, name + ".time")) else "?"
    rows.append({"fault": name, "scope": scope, "what": what, "caught_by": ids,
                 "errored": len(ids) - len(set(checked)), "seconds": secs, "ran": not missing})
    if missing:
        broken.append(name)
    elif not ids:
        uncaught.append(name)

silent = sorted(i for i in ran if i not in caught_any)

# The console table: fault, how many scenarios caught it, and which.
width = max(len(r["fault"]) for r in rows)
print("%-*s  %6s  %6s  %s" % (width, "FAULT", "CAUGHT", "ERRORS", "SCENARIOS (failed, warned or errored)"))
for r in rows:
    n = len(r["caught_by"])
    ids = ", ".join(r["caught_by"]) if r["caught_by"] else ("-  NOT RUN" if not r["ran"] else "-  NOT CAUGHT")
    print("%-*s  %6d  %6d  %s" % (width, r["fault"], n, r["errored"], ids))
print()
print("scenarios that caught no fault by a check of their own, i.e. never failed or warned "
      "(%d of %d run; docs/coverage.md says why):" % (len(silent), len(ran)))
for i in silent:
    print("  %s%s" % (i, "  (skipped in the baseline)" if ran[i] == "skip" else ""))
print()
print("faults: %d; caught: %d; not caught: %d%s" % (
    len(rows), len(rows) - len(uncaught) - len(broken), len(uncaught),
    "; did not run: %d" % len(broken) if broken else ""))
print("mutation: %d s (%d min %02d s); reports in %s/" % (elapsed, elapsed // 60, elapsed % 60, out))

# The same data as JSON and as a markdown table (docs/mutation.md quotes it).
json.dump({"elapsed_seconds": elapsed, "idle_timeout": int(idle), "faults": rows,
           "scenarios_run": len(ran), "scenarios_catching_nothing": silent},
          open(os.path.join(out, "summary.json"), "w"), indent=1)
with open(os.path.join(out, "table.md"), "w") as md:
    md.write("| Fault | Scope | What goes wrong | Caught by | Of them errors | Scenarios |\n"
             "|---|---|---|---|---|---|\n")
    for r in rows:
        md.write("| `%s` | %s | %s | %d | %d | %s |\n" % (
            r["fault"], r["scope"], r["what"].replace("|", "\\|"), len(r["caught_by"]), r["errored"],
            ", ".join("`%s`" % i for i in r["caught_by"]) or "**none**"))
    md.write("\n| Scenario catching no fault | Baseline verdict |\n|---|---|\n")
    for i in silent:
        md.write("| `%s` | %s |\n" % (i, ran[i]))
sys.exit(1 if uncaught or broken else 0)
EOF
}

if [ "${1:-}" = "--table" ]; then
	table
	exit
fi

# Internal entry point for the parallel workers: mutation.sh --one NAME SCOPE
if [ "${1:-}" = "--one" ]; then
	name=$2 scope=$3
	start=$(date +%s)
	run_pass "$name" suite "--fault $name" || true
	if [ "$scope" = timer ]; then
		run_pass "$name" timer "--fault $name" || true
	fi
	echo "$name $(($(date +%s) - start))" >"$OUT/$name.time"
	printf '  %-34s %3ss\n' "$name" "$(($(date +%s) - start))" >&2
	exit 0
fi

for f in "$BIN/pop3spec" "$BIN/pop3refd-faults"; do
	[ -x "$f" ] || { echo "mutation: $f is missing (make all bin/pop3refd-faults)" >&2; exit 2; }
done
rm -rf "$OUT"
mkdir -p "$OUT/bin"
cp "$BIN/pop3spec" "$BIN/pop3refd-faults" "$OUT/bin/"
"$FAULTY" --list-faults >"$OUT/faults.tsv"

# The real server carries none of it: not one fault name in the binary, and --fault is an unknown flag.
if [ -x "$BIN/pop3refd" ]; then
	cut -f1 "$OUT/faults.tsv" >"$OUT/names.txt"
	if grep -a -o -F -f "$OUT/names.txt" "$BIN/pop3refd" | sort -u >"$OUT/leaked.txt" && [ -s "$OUT/leaked.txt" ]; then
		echo "mutation: bin/pop3refd contains fault names: $(tr '\n' ' ' <"$OUT/leaked.txt")" >&2
		exit 2
	fi
	if "$BIN/pop3refd" --fault "$(head -n 1 "$OUT/names.txt")" >/dev/null 2>&1 ||
	    "$BIN/pop3refd" --list-faults >/dev/null 2>&1; then
		echo "mutation: bin/pop3refd accepts --fault or --list-faults" >&2
		exit 2
	fi
	echo "mutation: bin/pop3refd carries no fault (no fault name in it, --fault is an unknown flag)" >&2
fi
if [ -n "${MUTATION_FAULTS:-}" ]; then
	for n in $MUTATION_FAULTS; do
		grep -q "^$n	" "$OUT/faults.tsv" || { echo "mutation: no fault named $n" >&2; exit 2; }
	done
	awk -F '\t' -v want=" $MUTATION_FAULTS " 'index(want, " " $1 " ")' "$OUT/faults.tsv" >"$OUT/run.tsv"
else
	cp "$OUT/faults.tsv" "$OUT/run.tsv"
fi
# Scope load: faults only mail delivered during a session shows, which no scenario does; `pop3spec load
# --deliver-every` finds them (docs/stress.md, e2e test_load.py), so the suite is not run against them.
awk -F '\t' '$2 != "load"' "$OUT/run.tsv" >"$OUT/run.tsv.new" && mv "$OUT/run.tsv.new" "$OUT/run.tsv"
total=$(wc -l <"$OUT/run.tsv")
began=$(date +%s)

# The baseline: the same binary with no fault must pass both selections, or nothing below means anything.
echo "mutation: baseline (bin/pop3refd-faults without a fault)" >&2
run_pass baseline suite "" && run_pass baseline timer "" || exit 2
if ! python3 - "$OUT/baseline.suite.json" "$OUT/baseline.timer.json" <<'EOF'
import json, sys
bad = [(r["id"], r["status"], r.get("message") or "")
       for f in sys.argv[1:] for r in json.load(open(f))["results"] if r["status"] in ("fail", "warn", "error")]
for b in bad:
    print("mutation: baseline %s: %s %s" % b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
then
	echo "mutation: the baseline does not pass; fix that first" >&2
	exit 2
fi

echo "mutation: $total faults, $JOBS at a time, each with -j 2 --timeout $TIMEOUT" >&2
# The long ones (timer scope) first, so the parallel runs end together.
awk -F '\t' '{print ($2 == "timer" ? 0 : 1), $1, $2}' "$OUT/run.tsv" | sort -s -k1,1n | cut -d' ' -f2- |
    xargs -P "$JOBS" -n 2 sh "$here/mutation.sh" --one
elapsed=$(($(date +%s) - began))

echo "$elapsed" >"$OUT/elapsed"
table
