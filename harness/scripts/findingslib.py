"""findingslib.py — the one findings-table writer behind harness/peers/findings.py (servers, docs/peers/) and
harness/scripts/client-findings.py (clients, docs/clients/): read each NAME-baseline.json, list every fail,
warn or error verdict with its reason from reasons.json, rewrite the table between the page's markers, and
exit 1 on a verdict nobody has judged. The two scripts differ only in how a row shows its evidence and
which verdicts count as explained; they pass those in as a Kind.
"""
import json
import os
import sys

ORDER = {"error": 0, "fail": 1, "warn": 2}
BEGIN, END = "<!-- findings:begin -->\n", "<!-- findings:end -->"


def cell(s, n=110, ticks=True):
    """s as one Markdown table cell of at most n characters; ticks=False turns backticks into quotes (for
    text that is itself shown inside `...`)."""
    s = (s or "").replace("|", "\\|").replace("\n", " ")
    if not ticks:
        s = s.replace("`", "'")
    return s if len(s) <= n else s[:n - 1] + "…"


def reason(name, reasons, r):
    """The reason written for verdict r: the peer's own entry, else the "*" entry every peer shares."""
    return reasons.get(name, {}).get(r["id"]) or reasons.get("*", {}).get(r["id"])


class Kind:
    """What differs between the server and the client findings: prog (the message prefix), docs (the
    folder), label (docs as the messages name it), header (the table's heading rows), row(name, reasons, r)
    -> (row, missing or None), no_baseline(name) (the hint when a baseline is absent), and check(reasons)
    (a whole-file check run first; returns an error text or None)."""

    def __init__(self, prog, docs, label, header, row, no_baseline, check=None):
        self.prog, self.docs, self.label, self.header = prog, docs, label, header
        self.row, self.no_baseline, self.check = row, no_baseline, check


def table(kind, name, reasons):
    """The findings text for one baseline and the ids whose verdict has no acceptable reason."""
    with open(os.path.join(kind.docs, name + "-baseline.json")) as f:
        b = json.load(f)
    rows, missing = [], []
    bad = sorted((r for r in b["results"] if r["status"] in ORDER), key=lambda r: (ORDER[r["status"]], r["id"]))
    for r in bad:
        row, miss = kind.row(name, reasons, r)
        rows.append(row)
        if miss:
            missing.append(miss)
    sm = b["summary"]
    head = ("%d scenarios: %d passed, %d failed, %d warnings, %d skipped, %d errors (baseline of %s)\n\n"
            % (len(b["results"]), sm["passed"], sm["failed"], sm["warnings"], sm["skipped"], sm["errors"],
               b.get("started", "?")))
    if not rows:
        return head + "No fail, warn or error.\n", missing
    return head + kind.header + "\n".join(rows) + "\n", missing


def rewrite(kind, name, text, missing):
    """Put text between the markers of NAME.md."""
    md = os.path.join(kind.docs, name + ".md")
    with open(md) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        sys.exit("%s: %s has no %s ... %s markers" % (kind.prog, md, BEGIN.strip(), END))
    i, j = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    with open(md, "w") as f:
        f.write(doc[:i] + text + doc[j:])
    print("%s: %s: table rewritten%s" % (kind.prog, md, ", %d UNEXPLAINED" % len(missing) if missing else ""))


def main(kind, args):
    """NAME... rewrites each table; --check NAME... only checks. Returns the exit status."""
    check = "--check" in args
    names = [a for a in args if not a.startswith("--")]
    with open(os.path.join(kind.docs, "reasons.json")) as f:
        reasons = json.load(f)
    if kind.check:
        bad = kind.check(reasons)
        if bad:
            sys.exit("%s: %s" % (kind.prog, bad))
    rc = 0
    for n in names:
        if not os.path.exists(os.path.join(kind.docs, n + "-baseline.json")):
            print("%s: %s: no %s/%s-baseline.json (%s)" % (kind.prog, n, kind.label, n, kind.no_baseline(n)))
            rc = 1
            continue
        text, missing = table(kind, n, reasons)
        for m in missing:
            print("%s: %s: %s has no reason in %s/reasons.json" % (kind.prog, n, m, kind.label))
            rc = 1
        if not check:
            rewrite(kind, n, text, missing)
    return rc
