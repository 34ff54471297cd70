#!/usr/bin/env python3
"""findings.py — keep each peer's findings table (docs/peers/NAME.md) in step with its baseline: one row per
fail, warn or error verdict, with the transcript line that shows it and the reason written for it in
docs/peers/reasons.json. A verdict without a reason is listed as UNEXPLAINED and the exit status is 1, so
a baseline cannot grow a failure nobody has judged (docs/peers/README.md).

    findings.py NAME...          rewrite the table between <!-- findings:begin --> and <!-- findings:end -->
    findings.py --check NAME...  only check that every verdict has a reason

reasons.json: {"NAME": {"scenario/id": "why, with the RFC sentence"}, "*": {...}} — "*" applies to every
peer unless the peer has its own entry.
"""
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCS = os.path.join(ROOT, "docs", "peers")


def cell(s, n=110):
    s = (s or "").replace("|", "\\|").replace("\n", " ")
    return s if len(s) <= n else s[:n - 1] + "…"


def evidence(r):
    """The last client line and the server's first answer after it (or the runner's note); with no client
    line (a greeting), the last server line."""
    tr = r.get("transcript") or []
    c, s, note, last_s = "", "", "", ""
    for t in tr:
        k = t.get("kind")
        if k == "C":
            c, s, note = t.get("text", ""), "", ""
        elif k == "S":
            last_s = t.get("text", "")
            if not s:
                s = last_s
        elif k == "*" and not note and c:
            note = t.get("text", "")
    if not c:
        return "", last_s or note
    return c, s or note


def table(name, reasons):
    b = json.load(open(os.path.join(DOCS, name + "-baseline.json")))
    own, common = reasons.get(name, {}), reasons.get("*", {})
    rows, missing = [], []
    order = {"error": 0, "fail": 1, "warn": 2}
    bad = sorted((r for r in b["results"] if r["status"] in order), key=lambda r: (order[r["status"]], r["id"]))
    for r in bad:
        why = own.get(r["id"]) or common.get(r["id"])
        if not why:
            missing.append(r["id"])
            why = "**UNEXPLAINED**"
        c, s = evidence(r)
        shown = ("`C: %s` → `%s`" % (cell(c, 60), cell(s, 90))) if c else ("`S: %s`" % cell(s, 90))
        rows.append("| %s | `%s` | %s | %s | %s |" % (
            r["status"], r["id"], ", ".join(r.get("refs") or []), shown, why))
    sm = b["summary"]
    head = ("%d scenarios: %d passed, %d failed, %d warnings, %d skipped, %d errors (baseline of %s)\n\n"
            % (len(b["results"]), sm["passed"], sm["failed"], sm["warnings"], sm["skipped"], sm["errors"],
               b.get("started", "?")))
    if not rows:
        return head + "No fail, warn or error.\n", missing
    return (head + "| verdict | scenario | requirements | transcript | why (the server's deviation, with the RFC text) |\n"
            "|---|---|---|---|---|\n" + "\n".join(rows) + "\n"), missing


def main():
    args = sys.argv[1:]
    check = "--check" in args
    names = [a for a in args if not a.startswith("--")]
    reasons = json.load(open(os.path.join(DOCS, "reasons.json")))
    rc = 0
    for n in names:
        if not os.path.exists(os.path.join(DOCS, n + "-baseline.json")):
            print("findings: %s: no docs/peers/%s-baseline.json (harness/peers/peer-baseline.sh %s)" % (n, n, n))
            rc = 1
            continue
        text, missing = table(n, reasons)
        for m in missing:
            print("findings: %s: %s has no reason in docs/peers/reasons.json" % (n, m))
            rc = 1
        if check:
            continue
        md = os.path.join(DOCS, n + ".md")
        doc = open(md).read()
        a, z = "<!-- findings:begin -->\n", "<!-- findings:end -->"
        if a not in doc or z not in doc:
            sys.exit("findings: %s has no %s ... %s markers" % (md, a.strip(), z))
        i, j = doc.index(a) + len(a), doc.index(z)
        open(md, "w").write(doc[:i] + text + doc[j:])
        print("findings: %s: table rewritten%s" % (md, ", %d UNEXPLAINED" % len(missing) if missing else ""))
    return rc


sys.exit(main())
