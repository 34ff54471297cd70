"""pop3proxy — a TCP proxy in front of a real pop3refd that turns it into another correct server, one the RFC
allows but pop3refd is not, for the runner's accuracy tests (test_accuracy_fixtures.py). Python 3 stdlib.

Modes:
  xuidl        a pure relay that, on every accepted connection, writes an `X-UIDL:` header field into each
               stored message that has none yet (at the end of its header), as one widely packaged server
               does on first access: the server alters mail after delivery. Sizes stay consistent, since
               the field is written before the session logs in and pop3refd takes its snapshot.
  strict_user  after a USER that got +OK, every command but PASS and QUIT gets -ERR from the proxy (RFC 1939
               §7: "the client may then issue either the PASS command ... or the QUIT command").
  close_auth   after a -ERR to PASS, APOP or AUTH (or to a SASL response inside AUTH), the connection is
               closed (RFC 1939 §4: "After returning a negative status indicator, the server may close the
               connection").
  late_update  a relay that answers a QUIT itself at once with +OK and passes it on to the server only
               LATE_UPDATE seconds later, closing the connection when the server has: the messages marked
               deleted are removed after the +OK (as Courier does), and only the close says they are.

The line-aware modes relay in lock step while the session is in AUTHORIZATION: each complete command line is
passed on, and the next one waits until its response (first line, and body for a multi-line +OK) came
back, so the proxy always knows which command a reply belongs to. After a +OK to STLS, or a successful
login, the connection becomes a plain relay (TLS and TRANSACTION pass untouched). A partial line is passed
on at once (robustness scenarios send lines without an end); a line whose start went out that way is not
waited for. Only the plain port is proxied; the profile points tls_port at pop3refd itself.
"""

import os
import select
import socket
import threading
import time

MODES = ("xuidl", "strict_user", "close_auth", "late_update")
MULTI_ALWAYS = (b"CAPA", b"RETR", b"TOP")
MULTI_NOARG = (b"LIST", b"UIDL", b"LANG", b"AUTH")
WAIT = 15.0
LATE_UPDATE = 0.5


_seen = {}   # path -> (mtime_ns, size) when last checked: unchanged files are not read again


def stamp_maildirs(root):
    """Give every message under root/USER/{new,cur} an X-UIDL header field if it has none."""
    for user in os.listdir(root):
        for sub in ("new", "cur"):
            d = os.path.join(root, user, sub)
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                path = os.path.join(d, name)
                if name.startswith(".") or not os.path.isfile(path):
                    continue
                st = os.stat(path)
                if _seen.get(path) == (st.st_mtime_ns, st.st_size):
                    continue
                with open(path, "rb") as f:
                    data = f.read()
                crlf = b"\r\n" in data[:2000]
                eol = b"\r\n" if crlf else b"\n"
                end = data.find(eol + eol)
                header = data if end < 0 else data[:end + len(eol)]
                if b"\nX-UIDL:" in b"\n" + header:
                    _seen[path] = (st.st_mtime_ns, st.st_size)
                    continue
                field = b"X-UIDL: " + ("%08x" % (abs(hash((user, name))) & 0xffffffff)).encode() + eol
                if end < 0:
                    new = data + (b"" if data.endswith(eol) or not data else eol) + field
                else:
                    new = data[:end + len(eol)] + field + data[end + len(eol):]
                tmp = path + ".stamp"
                with open(tmp, "wb") as f:
                    f.write(new)
                os.replace(tmp, path)
                st = os.stat(path)
                _seen[path] = (st.st_mtime_ns, st.st_size)


class Proxy:
    def __init__(self, mode, upstream_port, maildirs=None):
        assert mode in MODES, mode
        self.mode, self.upstream, self.maildirs = mode, upstream_port, maildirs
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.refused = 0    # strict_user: commands refused after USER
        self.closed = 0     # close_auth: connections closed after an authentication -ERR
        self.port = None

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(None)
            if self.mode == "xuidl":
                with self.lock:
                    stamp_maildirs(self.maildirs)
            try:
                s = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                c.close()
                continue
            Conn(self, c, s).start()


class Conn:
    """One proxied connection."""

    def __init__(self, proxy, c, s):
        self.p, self.c, self.s = proxy, c, s
        self.blind = proxy.mode in ("xuidl", "late_update")
        self.swallow = False               # late_update: the server's own reply to QUIT is not passed on
        self.done = threading.Event()      # a response has been relayed completely
        self.pending = None                # (verb, has_args) of the command whose response is awaited
        self.sasl = False                  # the last response was a "+ " continuation
        self.after_user = False
        self.gone = False

    def start(self):
        threading.Thread(target=self._client, daemon=True).start()
        threading.Thread(target=self._server, daemon=True).start()

    def _close(self):
        self.gone = True
        for x in (self.c, self.s):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                x.close()
            except OSError:
                pass
        self.done.set()

    # ---- client → server ----------------------------------------------------------------------------------
    def _client(self):
        buf, midline = b"", False
        try:
            while not self.gone:
                chunk = self.c.recv(65536)
                if not chunk:
                    try:
                        self.s.shutdown(socket.SHUT_WR)   # a half-close goes on as a half-close
                    except OSError:
                        pass
                    return
                if self.blind:
                    if self.p.mode == "late_update" and (buf + chunk).upper() == b"QUIT\r\n":
                        self.c.sendall(b"+OK bye (the update follows)\r\n")
                        self.swallow = True
                        time.sleep(LATE_UPDATE)
                    self.s.sendall(buf + chunk)
                    buf = b""
                    continue
                buf += chunk
                while b"\n" in buf and not self.blind:
                    line, buf = buf.split(b"\n", 1)
                    line += b"\n"
                    was_mid, midline = midline, False
                    self._command(line, wait=not was_mid)
                if self.blind:
                    if buf:
                        self.s.sendall(buf)
                        buf = b""
                elif buf and not (self.p.mode == "strict_user" and self.after_user):
                    self.s.sendall(buf)   # a partial line goes on at once
                    buf, midline = b"", True
        except OSError:
            self._close()

    def _command(self, line, wait):
        words = line.rstrip(b"\r\n").split(b" ")
        verb = b"AUTH-CONT" if self.sasl else words[0].upper()
        if (self.p.mode == "strict_user" and self.after_user and not self.sasl and
                verb not in (b"PASS", b"QUIT")):
            with self.p.lock:
                self.p.refused += 1
            self.c.sendall(b"-ERR only PASS or QUIT may follow USER\r\n")
            return
        self.done.clear()
        self.pending = (verb, len(words) > 1 and words[1] != b"")
        self.s.sendall(line)
        if wait:
            self.done.wait(WAIT)

    # ---- server → client ----------------------------------------------------------------------------------
    def _server(self):
        buf, greeted, body = b"", False, False
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    self._close()
                    return
                if self.blind:
                    if not self.swallow:
                        self.c.sendall(chunk)
                    continue
                buf += chunk
                while b"\n" in buf and not self.blind:
                    line, buf = buf.split(b"\n", 1)
                    line += b"\n"
                    self.c.sendall(line)
                    if not greeted:
                        greeted = True
                        continue
                    if body:
                        if line == b".\r\n":
                            body = False
                            self.done.set()
                        continue
                    body = self._response(line)
                    if self.gone:
                        return
                if buf and self.blind:
                    self.c.sendall(buf)
                    buf = b""
        except OSError:
            self._close()

    def _response(self, line):
        """A first line; True when a multi-line body follows."""
        verb, has_args = self.pending or (b"", False)
        self.pending = None
        ok = line.startswith(b"+OK")
        if line.startswith(b"+ "):
            self.sasl = True
            self.done.set()
            return False
        was_auth = self.sasl or verb in (b"PASS", b"APOP", b"AUTH-CONT") or (verb == b"AUTH" and has_args)
        self.sasl = False
        if self.p.mode == "close_auth" and was_auth and line.startswith(b"-ERR"):
            with self.p.lock:
                self.p.closed += 1
            self._close()
            return False
        if verb == b"USER":
            self.after_user = ok
        elif verb in (b"PASS", b"QUIT", b"APOP", b"AUTH", b"AUTH-CONT"):
            self.after_user = False
        if ok and (verb == b"STLS" or was_auth):
            self.blind = True   # TLS, or TRANSACTION: nothing left for this proxy to judge
            self.done.set()
            return False
        multi = ok and (verb in MULTI_ALWAYS or (verb in MULTI_NOARG and not has_args))
        if not multi:
            self.done.set()
        return multi
