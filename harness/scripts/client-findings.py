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
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from findingslib import Kind, cell, main, reason  # noqa: E402  (the shared table writer)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# CLIENTS_DOCS: another folder of baselines, pages and reasons.json (the tests use a scratch copy).
DOCS = os.environ.get("CLIENTS_DOCS") or os.path.join(ROOT, "docs", "clients")


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
                if prev:
                    return "`S: %s` `C: %s`" % (cell(prev, 70, False), cell(text, 70, False))
                return "`C: %s`" % cell(text, 70, False)
    notes = [t.get("text", "") for t in tr if t.get("kind") == "*" and not t.get("text", "").startswith("stderr")]
    return "; ".join("`%s`" % cell(x, 70, False) for x in notes[-2:])


def row(name, reasons, r):
    why, missing = reason(name, reasons, r), None
    harness = reasons.get("!harness", {}).get(name, {})
    if harness.get(r["id"]):
        why = "**harness false verdict, being fixed:** " + harness[r["id"]]
    if r["status"] == "error":
        missing = r["id"] + " (an error verdict: the run did not reach its end)"
        why = "**ERROR: not a finding**"
    elif not why:
        missing, why = r["id"], "**UNEXPLAINED**"
    return "| %s | `%s` | %s | %s | %s | %s |" % (r["status"], r["id"], ", ".join(r.get("refs") or []),
                                                 cell(r.get("message"), 80, False), evidence(r), why), missing


def check(reasons):
    """A verdict is either the client's deviation or the harness's own false verdict, never both."""
    for n, ids in reasons.get("!harness", {}).items():
        for i in ids:
            if i in reasons.get(n, {}):
                return "%s: %s is both the client's deviation and a harness false verdict" % (n, i)
    return None


CLIENTS = Kind("client-findings", DOCS, "docs/clients",
               "| verdict | scenario | requirements | message | transcript | why (the client's deviation, "
               "with the RFC text) |\n|---|---|---|---|---|---|\n", row,
               lambda n: "CLIENTS_RECORD=1 harness/scripts/clients-matrix.sh %s" % n, check)

if __name__ == "__main__":
    sys.exit(main(CLIENTS, sys.argv[1:]))
