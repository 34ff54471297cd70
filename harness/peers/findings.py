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
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from findingslib import Kind, cell, main, reason  # noqa: E402  (the shared table writer)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


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


def row(name, reasons, r):
    why, missing = reason(name, reasons, r), None
    if not why:
        missing, why = r["id"], "**UNEXPLAINED**"
    c, s = evidence(r)
    shown = ("`C: %s` → `%s`" % (cell(c, 60), cell(s, 90))) if c else ("`S: %s`" % cell(s, 90))
    return "| %s | `%s` | %s | %s | %s |" % (r["status"], r["id"], ", ".join(r.get("refs") or []), shown, why), missing


PEERS = Kind("findings", os.path.join(ROOT, "docs", "peers"), "docs/peers",
             "| verdict | scenario | requirements | transcript | why (the server's deviation, with the RFC text) |\n"
             "|---|---|---|---|---|\n", row, lambda n: "harness/peers/peer-baseline.sh %s" % n)

if __name__ == "__main__":
    sys.exit(main(PEERS, sys.argv[1:]))
