#!/usr/bin/env bash
# dovecot-baseline.sh — record docs/peers/dovecot-baseline.json: run the suite against the private Dovecot
# without a baseline, then keep the JSON report's verdicts (every result: id, title, level, refs, status,
# message) and the transcripts of the results that did not pass, as evidence. `make dovecot` then gates on
# it: a scenario whose verdict differs fails (pop3spec run --baseline). Review the differences first —
# every non-pass verdict must be explained in docs/peers/dovecot.md.
#
#   harness/peers/dovecot-baseline.sh [extra pop3spec run options...]
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2
command -v python3 >/dev/null || { echo "dovecot-baseline.sh: needs python3" >&2; exit 2; }

DOVECOT_NO_BASELINE=1 "$here/dovecot-suite.sh" "$@"
rc=$?
[ $rc -le 1 ] || exit $rc      # 2: nothing ran
python3 - reports/dovecot.json docs/peers/dovecot-baseline.json <<'PY' || exit 2
import json, sys
src, dst = sys.argv[1], sys.argv[2]
d = json.load(open(src))
keep = ("id", "title", "level", "refs", "tags", "status", "message", "failed_step", "expected", "actual",
        "failed_ref")
out = {k: v for k, v in d.items() if k != "results"}
out["results"] = []
for r in d["results"]:
    if r["status"] == "error":
        sys.exit("dovecot-baseline.sh: %s errored (%s); a baseline must not hold errors" % (r["id"], r.get("message")))
    x = {k: r[k] for k in keep if k in r}
    if r["status"] not in ("pass", "skip"):
        x["transcript"] = r.get("transcript", [])
    out["results"].append(x)
with open(dst, "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
    f.write("\n")
s = d["summary"]
print("dovecot-baseline.sh: wrote %s: %d results (%d passed, %d failed, %d warnings, %d skipped, %d errors)"
      % (dst, len(out["results"]), s["passed"], s["failed"], s["warnings"], s["skipped"], s["errors"]))
PY
