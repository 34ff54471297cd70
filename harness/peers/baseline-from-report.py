#!/usr/bin/env python3
"""baseline-from-report.py — turn a JSON report of `pop3spec run` (made without --baseline) into a peer's
baseline: every result's verdict, and the transcripts of those that did not pass as evidence.

    baseline-from-report.py REPORT.json BASELINE.json [--allow-errors]

Refuses a report with error verdicts (a baseline must not hold errors) unless --allow-errors.
"""
import json
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
if len(args) != 2:
    sys.exit("usage: baseline-from-report.py REPORT.json BASELINE.json [--allow-errors]")
src, dst = args
d = json.load(open(src))
keep = ("id", "title", "level", "refs", "tags", "status", "message", "failed_step", "expected", "actual",
        "failed_ref")
out = {k: v for k, v in d.items() if k != "results"}
out["results"] = []
for r in d["results"]:
    if r["status"] == "error" and "--allow-errors" not in sys.argv:
        sys.exit("baseline: %s errored (%s); a baseline must not hold errors" % (r["id"], r.get("message")))
    x = {k: r[k] for k in keep if k in r}
    if r["status"] not in ("pass", "skip"):
        x["transcript"] = r.get("transcript", [])
    out["results"].append(x)
with open(dst, "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
    f.write("\n")
s = d["summary"]
print("baseline: wrote %s: %d results (%d passed, %d failed, %d warnings, %d skipped, %d errors)"
      % (dst, len(out["results"]), s["passed"], s["failed"], s["warnings"], s["skipped"], s["errors"]))
