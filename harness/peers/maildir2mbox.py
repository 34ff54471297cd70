#!/usr/bin/env python3
"""maildir2mbox.py — write a fixture Maildir as one mbox file (mboxrd quoting), the form mbox servers keep
mail in (popa3d, solid-pop3d, GNU Mailutils read /var/mail/USER).

    maildir2mbox.py MAILDIR OUT

Messages in the runner's order (new/ and cur/ by file name, the part before ':' first, as
harness/lib/maildir.c reads them), each after a "From " separator line, its octets unchanged except the
mboxrd quoting (a ">" before every line matching ^>*From ), a final newline added when missing (an mbox
message ends with one) and an empty line after it. Used by the resets until the runner offers
{fixture_mbox} itself.
"""
import os
import re
import sys

FROM_LINE = b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n"
QUOTE = re.compile(rb"^(>*From )", re.M)


def messages(maildir):
    found = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if not os.path.isdir(d):
            continue
        for n in os.listdir(d):
            p = os.path.join(d, n)
            if n.startswith(".") or not os.path.isfile(p):
                continue
            found.append((n.split(":", 1)[0], p))
    found.sort()
    return [p for _, p in found]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: maildir2mbox.py MAILDIR OUT")
    out = bytearray()
    for p in messages(sys.argv[1]):
        with open(p, "rb") as f:
            data = f.read()
        if not data.endswith(b"\n"):
            data += b"\n"
        out += FROM_LINE + QUOTE.sub(rb">\1", data) + b"\n"
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, sys.argv[2])


if __name__ == "__main__":
    main()
