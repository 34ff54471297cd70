"""clientmail — the fixture messages real POP3 clients fetch from pop3refd, and the byte-for-byte comparison
of what they deliver with those fixtures (shared by test_real_clients.py and the client-testing profiles).

What a client delivers is the fixture as POP3 sent it (RFC 1939 §3: CRLF line ends, the last line ended,
dot-stuffing undone) with LF line ends, since local mail files end lines with LF. On top of that a delivery
agent may only *prepend* trace and bookkeeping header fields (ADDED: Received, Return-Path, Delivered-To,
X-getmail-retrieved-from-mailbox, Status/X-Status, X-UIDL) — RFC 5321 §4.4 puts trace fields at the top.
Everything from the fixture's first header field to its last body octet must be identical: no header field
rewritten, re-folded or reordered, no octet of the body changed (8-bit included), no line added or lost at the
end. One exception: a fixture that is a header section alone (no-body: no empty line, no body) may be stored
with the empty separator line added, which RFC 5322 §2.1 makes optional only for the sender; fetchmail adds
it."""

import os
import re

from pop3test import ROOT, as_sent

# Every committed fixture with messages: dot-lines for stuffing, eight-bit and utf8 for 8-bit octets,
# folded-headers, long-line (998-octet lines), no-body, no-final-newline, both line-end storages, mixed sizes.
# Not utf8: its header fields are UTF-8 and none of these clients sends the UTF8 command (RFC 6856 §3), so
# pop3refd rightly refuses to RETR it to them (-ERR [UTF8]; e2e/test_utf8.py tests that).
FIXTURES = ["crlf-stored", "dot-lines", "eight-bit", "folded-headers", "lf-stored", "long-line", "mixed",
            "no-body", "no-final-newline", "three"]

ADDED = {b"received", b"return-path", b"delivered-to", b"x-getmail-retrieved-from-mailbox", b"status",
         b"x-status", b"x-uidl"}

_FIELD = re.compile(rb"^([!-9;-~]+):")


def fixture_messages():
    """[(maildir file name, raw bytes)] of FIXTURES, in fixture order; names made unique (1000.M1P1.client...)
    so one maildrop holds them all."""
    out = []
    for name in FIXTURES:
        base = os.path.join(ROOT, "fixtures", "maildrops", name)
        files = []
        for sub in ("new", "cur"):
            d = os.path.join(base, sub)
            files += [os.path.join(d, f) for f in os.listdir(d) if not f.startswith(".")]
        for path in sorted(files, key=os.path.basename):
            with open(path, "rb") as f:
                data = f.read()
            n = len(out) + 1
            out.append((f"{1000 + n}.M{n}P1.client-{name}", data))
    return out


def delivered_form(raw, eol=b"\n"):
    """The fixture as a client stores it: as POP3 sends it, with `eol` line ends."""
    return as_sent(raw).replace(b"\r\n", eol)


def header_only(form):
    """Whether a message (LF form) has no empty line: a header section without a body."""
    return not form.startswith((b"\n", b"\r\n")) and b"\n\n" not in form and b"\n\r\n" not in form


def strip_added(msg, want):
    """msg without the header fields a delivery agent prepended, when msg is such fields followed by exactly
    `want` (or, for a header-only `want`, by `want` and the empty separator line); otherwise None."""
    if header_only(want) and msg.endswith(want + b"\n"):
        msg = msg[:-1]
    if not msg.endswith(want):
        return None
    prefix = msg[:len(msg) - len(want)]
    name = None
    for line in prefix.split(b"\n")[:-1] if prefix else []:
        if line[:1] in (b" ", b"\t") and name is not None:
            continue  # a folded continuation of an added field
        m = _FIELD.match(line)
        if not m or m.group(1).lower() not in ADDED:
            return None
        name = m.group(1)
    if prefix and not prefix.endswith(b"\n"):
        return None
    return want


def message_id(data):
    m = re.search(rb"(?im)^message-id:\s*(<[^>\r\n]*>)", data)
    return m.group(1).decode(errors="replace") if m else "(no Message-ID)"


def unfold_header(form):
    """The message with its header section unfolded (RFC 5322 §2.2.3: a line end before white space is
    removed); the body as it is."""
    cut = form.find(b"\n\n")
    head, rest = (form, b"") if cut < 0 else (form[:cut + 1], form[cut + 1:])
    return re.sub(rb"\n(?=[ \t])", b"", head) + rest


def compare(delivered, expected_raw, unfold=False, eol=b"\n"):
    """'' when `delivered` (bytes of each delivered message, any order) is exactly the fixtures `expected_raw`
    (raw fixture bytes) as a client stores them; else a message naming the first difference. unfold=True
    compares header sections unfolded, for a client that re-folds long header lines (getmail6); eol=b"\r\n"
    expects the wire's CRLF line ends kept (Net::POP3 over TLS)."""
    want = [delivered_form(r, eol) for r in expected_raw]
    if unfold:
        want = [unfold_header(w) for w in want]
        delivered = [unfold_header(d) for d in delivered]
    left = list(want)
    for d in delivered:
        hit = next((i for i, w in enumerate(left) if strip_added(d, w) is not None), None)
        if hit is None:
            mid = message_id(d)
            same = [w for w in want if message_id(w) == mid]
            if not same:
                return f"delivered a message matching no fixture: {mid} {d[:200]!r}"
            if all(strip_added(d, w) is None for w in same) is False:
                return f"{mid} delivered more than once"
            w = same[0]
            # Align on the fixture's first line to show where the octets part.
            start = len(d) - len(w) if d.endswith(w) else d.find(w.split(b"\n", 1)[0])
            body = d[start:] if start >= 0 else d
            if body == w:
                return f"{mid}: a prepended field is not a trace field: {d[:start][:300]!r}"
            k = next((i for i in range(min(len(body), len(w))) if body[i] != w[i]), min(len(body), len(w)))
            return (f"{mid} differs from its fixture at octet {k} after the prepended fields: "
                    f"delivered {body[max(0, k - 40):k + 40]!r}, fixture {w[max(0, k - 40):k + 40]!r} "
                    f"(prepended: {d[:max(start, 0)][:300]!r})")
        del left[hit]
    if left:
        return f"{len(left)} fixture message(s) not delivered: " + ", ".join(message_id(w) for w in left)
    return ""


def maildir_messages(path):
    """Bytes of every message in a Maildir's new/ and cur/."""
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            for f in sorted(os.listdir(d)):
                with open(os.path.join(d, f), "rb") as fh:
                    out.append(fh.read())
    return out
