#!/usr/bin/env python3
"""client-findings.py — keep each client's findings table (docs/clients/NAME.md) in step with its baseline
(docs/clients/NAME-baseline.json): one row per fail, warn or error verdict, with the transcript lines that
show it and the reason written for it in docs/clients/reasons.json. A verdict without a reason is listed as
UNEXPLAINED and the exit status is 1, so a baseline cannot grow a failure nobody has judged
(docs/clients/README.md). The client-side twin of harness/peers/findings.py: the evidence differs (the
client's offending command, not the server's last answer).

    client-findings.py NAME...          rewrite the table between <!-- findings:begin --> and <!-- findings:end -->
    client-findings.py --check NAME...  only check that every verdict has a reason

reasons.json: {"NAME": {"clients/scenario/id": "why, with the RFC sentence"}, "*": {...}} — "*" applies to
every client unless the client has its own entry. "!harness": {"NAME": {"id": "why"}} holds verdicts judged
to be the harness's own false verdicts (a check that assumed too much, being fixed): listed as such, never
as the client's deviation. An error verdict is never explained away: a baseline
holding one fails the check (every shipped profile must run to the end).
"""
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# CLIENTS_DOCS: another folder of baselines, pages and reasons.json (the tests use a scratch copy).
DOCS = os.environ.get("CLIENTS_DOCS") or os.path.join(ROOT, "docs", "clients")


def cell(s, n=110):
    s = (s or "").replace("|", "\\|").replace("\n", " ").replace("`", "'")
    return s if len(s) <= n else s[:n - 1] + "…"


def evidence(r):
    """The client line the verdict names (`actual`) and the server line before it; when the verdict names
    no line (a timeout, an exit status), the runner's last notes that are not the client's stderr."""
    tr = r.get("transcript") or []
    act = (r.get("actual") or "").rstrip(".")
    prev = ""
    if act:
        for t in tr:
            k, text = t.get("kind"), t.get("text", "")
            if k == "S":
                prev = text
            elif k == "C" and text.startswith(act[:40]):
                return ("`S: %s` `C: %s`" % (cell(prev, 70), cell(text, 70))) if prev else "`C: %s`" % cell(text, 70)
    notes = [t.get("text", "") for t in tr if t.get("kind") == "*" and not t.get("text", "").startswith("stderr")]
    return "; ".join("`%s`" % cell(x, 70) for x in notes[-2:])


def table(name, reasons):
    b = json.load(open(os.path.join(DOCS, name + "-baseline.json")))
    own, common = reasons.get(name, {}), reasons.get("*", {})
    harness = reasons.get("!harness", {}).get(name, {})
    rows, missing = [], []
    order = {"error": 0, "fail": 1, "warn": 2}
    bad = sorted((r for r in b["results"] if r["status"] in order), key=lambda r: (order[r["status"]], r["id"]))
    for r in bad:
        why = own.get(r["id"]) or common.get(r["id"])
        if harness.get(r["id"]):
            why = "**harness false verdict, being fixed:** " + harness[r["id"]]
        if r["status"] == "error":
            missing.append(r["id"] + " (an error verdict: the run did not reach its end)")
            why = "**ERROR: not a finding**"
        elif not why:
            missing.append(r["id"])
            why = "**UNEXPLAINED**"
        rows.append("| %s | `%s` | %s | %s | %s | %s |" % (
            r["status"], r["id"], ", ".join(r.get("refs") or []), cell(r.get("message"), 80), evidence(r), why))
    sm = b["summary"]
    head = ("%d scenarios: %d passed, %d failed, %d warnings, %d skipped, %d errors (baseline of %s)\n\n"
            % (len(b["results"]), sm["passed"], sm["failed"], sm["warnings"], sm["skipped"], sm["errors"],
               b.get("started", "?")))
    if not rows:
        return head + "No fail, warn or error.\n", missing
    return (head + "| verdict | scenario | requirements | message | transcript | why (the client's deviation, "
            "with the RFC text) |\n|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"), missing


def main():
    args = sys.argv[1:]
    check = "--check" in args
    names = [a for a in args if not a.startswith("--")]
    reasons = json.load(open(os.path.join(DOCS, "reasons.json")))
    for n, ids in reasons.get("!harness", {}).items():
        for i in ids:
            if i in reasons.get(n, {}):
                sys.exit("client-findings: %s: %s is both the client's deviation and a harness false verdict" % (n, i))
    rc = 0
    for n in names:
        if not os.path.exists(os.path.join(DOCS, n + "-baseline.json")):
            print("client-findings: %s: no docs/clients/%s-baseline.json (CLIENTS_RECORD=1 "
                  "harness/scripts/clients-matrix.sh %s)" % (n, n, n))
            rc = 1
            continue
        text, missing = table(n, reasons)
        for m in missing:
            print("client-findings: %s: %s has no reason in docs/clients/reasons.json" % (n, m))
            rc = 1
        if check:
            continue
        md = os.path.join(DOCS, n + ".md")
        doc = open(md).read()
        a, z = "<!-- findings:begin -->\n", "<!-- findings:end -->"
        if a not in doc or z not in doc:
            sys.exit("client-findings: %s has no %s ... %s markers" % (md, a.strip(), z))
        i, j = doc.index(a) + len(a), doc.index(z)
        open(md, "w").write(doc[:i] + text + doc[j:])
        print("client-findings: %s: table rewritten%s" % (md, ", %d UNEXPLAINED" % len(missing) if missing else ""))
    return rc


sys.exit(main())
