#!/usr/bin/env python3
"""deliver_agent.py MAILDIRS USER FIXTURE — a reset command that delivers a fixture the way a mail delivery
agent does (LMTP into Cyrus, Dovecot's LDA, procmail), for test_accuracy_fixtures.py: MAILDIRS/USER becomes
a Maildir holding each message of the Maildir FIXTURE stored with LF line ends, its Return-Path replaced by
the agent's own and Delivered-To and Received trace fields put in front (RFC 5321 §4.4: the final delivery
writes Return-Path; each hop adds Received). Message order (file names) is kept. Python 3 stdlib.
DELIVER_AS=mbox stores the messages as an mbox server reads them back: a header-only message gains the empty
line that ends every mbox message (an empty body). DELIVER_AS=cyrus adds the fields Cyrus's lmtpd stamps at
delivery (X-Cyrus-Session-Id, X-Sieve)."""
import itertools
import os
import sys

counter = itertools.count(1)


def deliver(data, user):
    data = data.replace(b"\r\n", b"\n")
    lines = data.split(b"\n")
    if lines and lines[0].lower().startswith(b"return-path:"):
        lines = lines[1:]
    n = next(counter)
    # Different lengths for each message (the id grows), as a real agent's queue ids and dates make them.
    trace = [b"Return-Path: <sender@fixtures.pop3spec.test>",
             b"Delivered-To: " + user.encode() + b"@agent.test",
             b"Received: from localhost (localhost [127.0.0.1])",
             b"\tby agent.test (e2e delivery agent) with LMTP id " + (b"q" * n) + str(os.getpid()).encode(),
             b"\tfor <" + user.encode() + b"@agent.test>; Mon, 7 Dec 2026 10:00:00 +0000"]
    style = os.environ.get("DELIVER_AS", "")
    if style == "cyrus":
        trace += [b"X-Cyrus-Session-Id: cyrus-1796643417-" + str(n).encode(), b"X-Sieve: CMU Sieve 3.0"]
    if style == "mbox" and b"" not in lines[:-1] and (not lines or lines[-1] != b""):
        lines.append(b"")      # header fields only, no final line end: the mbox's empty line follows
        lines.append(b"")
    elif style == "mbox" and b"" not in lines[:-1]:
        lines.append(b"")      # header fields only: the mbox's empty line becomes the end of the header
    return b"\n".join(trace + lines)


def main(maildirs, user, fixture):
    dst = os.path.join(maildirs, user)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(dst, sub), exist_ok=True)
        for name in os.listdir(os.path.join(dst, sub)):
            if not name.startswith("."):
                os.unlink(os.path.join(dst, sub, name))
    for sub in ("new", "cur"):
        src = os.path.join(fixture, sub)
        if not os.path.isdir(src):
            continue
        for name in sorted(os.listdir(src)):
            if name.startswith("."):
                continue
            with open(os.path.join(src, name), "rb") as f:
                data = f.read()
            tmp = os.path.join(dst, "tmp", name)
            with open(tmp, "wb") as f:
                f.write(deliver(data, user))
            os.rename(tmp, os.path.join(dst, sub, name))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: deliver_agent.py MAILDIRS USER FIXTURE")
    sys.exit(main(*sys.argv[1:]))
