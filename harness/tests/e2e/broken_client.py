#!/usr/bin/env python3
"""broken_client.py — a deliberately wrong POP3 client for test_client_mode.py: raw sockets, one fault
chosen by --fault, so each client-side check of `pop3spec client run` is seen to fail.

Faults: none (a correct client), dele-before-retr, no-quit, no-unstuff (keeps the stuffed '.'),
pass-anyway (sends credentials when STLS is missing or refused), pipeline (sends commands without
waiting), long-command (a command over 255 octets), old-tls (accepts TLS 1.0/1.1), sasl-answer (answers
a challenge it cannot decode instead of cancelling with "*"), injection-accept (keeps octets received
before the TLS handshake and reads them as replies after it, CVE-2021-22947), uidl-by-number (with
--uidl-file, remembers message numbers instead of unique-ids)."""
import base64
import binascii
import hashlib
import hmac
import argparse
import os
import socket
import ssl
import sys
import time


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def cmd(self, c, wait=True):
        self.s.sendall(c.encode() + b"\r\n")
        if not wait:
            return None
        r = self.line()
        if not r.startswith(b"+OK"):
            raise RuntimeError("%s: %r" % (c, r))
        return r

    def multi(self, unstuff=True):
        out = []
        while True:
            l = self.line()
            if l == b".":
                return out
            if unstuff and l.startswith(b"."):
                l = l[1:]
            out.append(l)


def deliver(maildir, data, n):
    if maildir.startswith("mbox:"):
        # mboxrd: a From line, ">From " quoting one more '>', an empty line after each message.
        lines = data.split(b"\n")[:-1]
        with open(maildir[5:], "ab") as f:
            f.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n")
            for l in lines:
                if l.lstrip(b">").startswith(b"From "):
                    l = b">" + l
                f.write(l + b"\n")
            f.write(b"\n")
        return
    if maildir == "stdout":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    name = "%d.P%dN%d.broken" % (int(time.time()), os.getpid(), n)
    with open(os.path.join(maildir, "new", name), "wb") as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host")
    ap.add_argument("--port", type=int)
    ap.add_argument("--maildir")
    ap.add_argument("--stls", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("--delete", action="store_true")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--sasl")
    ap.add_argument("--uidl-file")
    ap.add_argument("--password", default="pass01")
    ap.add_argument("--fault", default="none")
    a = ap.parse_args()
    f = a.fault
    sock = socket.create_connection((a.host, a.port), timeout=10)
    if a.tls:
        ctx = ssl.create_default_context(cafile=a.cafile)
        if f == "old-tls":
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        sock = ctx.wrap_socket(sock, server_hostname=a.host)
    c = Conn(sock)
    if not c.line().startswith(b"+OK"):
        return 1
    if a.stls:
        c.cmd("CAPA")
        caps = c.multi()
        ok = b"STLS" in caps
        if ok:
            c.s.sendall(b"STLS\r\n")
            ok = c.line().startswith(b"+OK")
        if ok:
            # Whatever follows the STLS reply before the handshake (a man in the middle's injection).
            time.sleep(0.3)
            c.s.setblocking(False)
            try:
                early = c.s.recv(4096)
            except BlockingIOError:
                early = b""
            c.s.setblocking(True)
            c.s.settimeout(10)
            ctx = ssl.create_default_context(cafile=a.cafile)
            c.s = ctx.wrap_socket(c.s, server_hostname=a.host)
            c.buf = c.buf + early if f == "injection-accept" else b""
        elif f != "pass-anyway":
            return 1
    if f == "long-command":
        c.s.sendall(b"NOOP" + b" x" * 200 + b"\r\n")  # not even a valid NOOP: two faults in one
        c.line()
    if a.sasl == "CRAM-MD5":
        c.s.sendall(b"AUTH CRAM-MD5\r\n")
        ch = c.line()
        try:
            chal = base64.b64decode(ch[2:], validate=True)
        except (binascii.Error, ValueError):
            if f != "sasl-answer":
                c.s.sendall(b"*\r\n")
                c.line()
                return 1
            chal = b"x"
        d = hmac.new(a.password.encode(), chal, hashlib.md5).hexdigest()
        c.s.sendall(base64.b64encode(b"user01 " + d.encode()) + b"\r\n")
        if not c.line().startswith(b"+OK"):
            return 1
    elif f == "pipeline":
        c.s.sendall(b"USER user01\r\nPASS " + a.password.encode() + b"\r\n")
        c.line()
        c.line()
    else:
        c.cmd("USER user01")
        if f != "long-command" and len(a.password) + 7 > 255:
            return 1  # RFC 2449 §4: PASS cannot carry it
        c.cmd("PASS " + a.password)
    c.cmd("STAT")
    n = int(c.cmd("STAT").split()[1])
    seen, uids = set(), {}
    if a.uidl_file:
        c.cmd("UIDL")
        for l in c.multi():
            num, uid = l.decode().split(" ", 1)
            uids[int(num)] = num if f == "uidl-by-number" else uid
        if os.path.exists(a.uidl_file):
            with open(a.uidl_file) as fh:
                seen = set(x.strip() for x in fh)
    for i in range(1, n + 1):
        if a.uidl_file and uids[i] in seen:
            continue
        if f == "dele-before-retr" and a.delete:
            c.cmd("DELE %d" % i)
        c.cmd("RETR %d" % i)
        body = c.multi(unstuff=f != "no-unstuff")
        deliver(a.maildir, b"".join(l + b"\n" for l in body), i)
        if a.uidl_file:
            with open(a.uidl_file, "a") as fh:
                fh.write(uids[i] + "\n")
        if a.delete and f != "dele-before-retr":
            c.cmd("DELE %d" % i)
    if f != "no-quit":
        c.cmd("QUIT")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001 - a client reports and fails
        print("broken_client: %s" % e, file=sys.stderr)
        # Exiting at once with unread octets (TLS tickets) makes the kernel reset the connection, which
        # drops what was sent last; a real client would be slower than this.
        time.sleep(0.5)
        sys.exit(1)
