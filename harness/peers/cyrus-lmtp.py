#!/usr/bin/env python3
"""cyrus-lmtp.py — deliver a fixture Maildir's messages to one Cyrus user through lmtpd (RFC 2033), the
way an MTA on the same host delivers to Cyrus: one LMTP session, one transaction per message, in the
runner's order (new/ and cur/ by file name before ':'), lines sent CRLF and dot-stuffed.

    cyrus-lmtp.py SOCKET USER MAILDIR

SOCKET is lmtpd's Unix socket (from the host: /proc/PID/root/run/cyrus/socket/lmtp). The envelope sender
is the message's own Return-Path when it has one, else <>. Exit 1 with lmtpd's reply on any refusal.
"""
import os
import re
import socket
import sys

from maildir2mbox import messages  # the fixture's messages in order, one place for both scripts


class Lmtp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(120)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                sys.exit("cyrus-lmtp.py: lmtpd closed the connection")
            lines.append(line.decode("latin-1").rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(lines[-1][:3]), "\n".join(lines)

    def cmd(self, text, want=2):
        self.s.sendall(text.encode("latin-1") + b"\r\n")
        code, msg = self.reply()
        if code // 100 != want:
            sys.exit("cyrus-lmtp.py: %s -> %s" % (text, msg))
        return msg


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: cyrus-lmtp.py SOCKET USER MAILDIR")
    path, user, maildir = sys.argv[1:]
    c = Lmtp(path)
    code, msg = c.reply()
    if code != 220:
        sys.exit("cyrus-lmtp.py: greeting %s" % msg)
    c.cmd("LHLO pop3spec.test")
    for p in messages(maildir):
        with open(p, "rb") as f:
            data = f.read()
        m = re.match(rb"Return-Path:\s*<([^>\r\n]*)>", data, re.I)
        sender = m.group(1).decode("latin-1") if m else ""
        lines = data.replace(b"\r\n", b"\n").split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        body = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)
        c.cmd("MAIL FROM:<%s>" % sender)
        c.cmd("RCPT TO:<%s>" % user)
        c.cmd("DATA", want=3)
        c.s.sendall(body + b".\r\n")
        code, msg = c.reply()           # one reply per recipient (RFC 2033 §4.2)
        if code // 100 != 2:
            sys.exit("cyrus-lmtp.py: %s: %s" % (p, msg))
    c.cmd("QUIT")


main()
