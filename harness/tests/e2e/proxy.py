"""proxy — a line-level POP3 proxy in front of a real bin/pop3refd, for the runner's end-to-end tests of
behaviours a correct server may have that pop3refd does not show by itself (issue 8, "Verdicts people can
trust on any server"). Every reply still comes from pop3refd; the proxy only delays, withholds, or answers
for it where its option says. Python 3 stdlib only.

Options (each a real server's behaviour, none a deviation from the RFCs):
  login_delay=S      the reply to PASS, APOP, AUTH and every line of an AUTH exchange comes S seconds late
                     (Dovecot's auth penalty; RFC 1939 bounds no reply time)
  silent_bad_login   a PASS with a wrong password is never answered (a server that stalls a password
                     guesser); the proxy knows the passwords from `passwords`
  hold_after_drop=S  when the client drops a connection without QUIT, the session to pop3refd stays open
                     S seconds more, so pop3refd keeps the maildrop locked meanwhile (a server that
                     notices a dropped connection late; a proxy in front of a server)
  hold_after_quit=S  a deviation, for contrast: QUIT gets +OK and a close from the proxy, while the session
                     to pop3refd (and its lock) lives S seconds more (RFC 1939 §6 wants it free at once)
  quit_left_open     a deviation: after QUIT's +OK the connection to the client stays open (pop3refd's
                     session has ended) until the client closes it
  no_user            CAPA lists no USER and USER gets -ERR (RFC 1939 §7: USER/PASS are optional)
  no_timestamp       the greeting's APOP timestamp is removed (so APOP is not offered)
  no_capa            CAPA gets -ERR (a pure RFC 1939 server; RFC 2449 §5)
  min_poll=S         logins per account at least S seconds apart (Cyrus's popminpoll, RFC 2449 §6.5): PASS
                     or APOP within S s of the account's last +OK to PASS or APOP gets
                     "-ERR [LOGIN-DELAY] ..." from the proxy (RFC 2449 §8.1.1); CAPA announces
                     "LOGIN-DELAY <announce>" (default S) in place of pop3refd's "LOGIN-DELAY 0"
  announce=N         with min_poll: the value CAPA announces (a server that enforces more than it says)
After STLS gets +OK the proxy forwards octets unchanged (it cannot read inside TLS). `events` records what
it did ("delay PASS", "held 2.0 s after a drop"), for tests to assert.
"""

import socket
import threading
import time

LOGIN_COMMANDS = (b"PASS", b"APOP", b"AUTH")


class Proxy:
    def __init__(self, upstream_port, login_delay=0.0, silent_bad_login=False, passwords=None,
                 hold_after_drop=0.0, hold_after_quit=0.0, quit_left_open=False, no_user=False,
                 no_timestamp=False, no_capa=False, min_poll=0.0, announce=None):
        self.upstream_port = upstream_port
        self.login_delay = login_delay
        self.silent_bad_login = silent_bad_login
        self.passwords = set(passwords or ())
        self.hold_after_drop = hold_after_drop
        self.hold_after_quit = hold_after_quit
        self.quit_left_open = quit_left_open
        self.no_user = no_user
        self.no_timestamp = no_timestamp
        self.no_capa = no_capa
        self.min_poll = min_poll
        self.announce = int(min_poll) if announce is None else announce
        self.last_login = {}      # user -> monotonic time of its last +OK to PASS or APOP
        self.events = []
        self.port = None
        self._lock = threading.Lock()
        self._stop = False

    def start(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self._stop = True
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def note(self, what):
        with self._lock:
            self.events.append(what)

    def _accept(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
                up.settimeout(None)
            except OSError:
                c.close()
                continue
            _Pair(self, c, up).start()


class _Pair:
    """One client connection and its connection to pop3refd: a thread each way."""

    def __init__(self, proxy, client, up):
        self.p = proxy
        self.client = client
        self.up = up
        self.raw = False          # after STLS's +OK: octets only
        self.stls_sent = False
        self.in_auth = False
        self.quit = False
        self.delays = []          # monotonic times before which the next status lines may not go out
        self.cv = threading.Condition()
        self.out_lock = threading.Lock()
        self.first = True
        self.user = None          # the name USER or APOP gave
        self.replies = []         # (command word, user) per line forwarded, for its status line (min_poll)

    def start(self):
        threading.Thread(target=self._from_client, daemon=True).start()
        threading.Thread(target=self._from_server, daemon=True).start()

    def _to_client(self, data):
        with self.out_lock:
            try:
                self.client.sendall(data)
            except OSError:
                pass

    def _from_client(self):
        buf = b""
        try:
            while True:
                data = self.client.recv(65536)
                if not data:
                    break
                if self.raw:
                    self.up.sendall(data)
                    continue
                buf += data
                while b"\n" in buf and not self.raw:
                    line, buf = buf.split(b"\n", 1)
                    self._client_line(line + b"\n")
                if self.raw and buf:
                    self.up.sendall(buf)
                    buf = b""
        except OSError:
            pass
        if not self.quit and self.p.hold_after_drop > 0:
            # The client is gone; pop3refd is told only later (its session, and lock, live on).
            self.p.note(f"held {self.p.hold_after_drop:.1f} s after a drop")
            time.sleep(self.p.hold_after_drop)
        try:
            self.up.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _client_line(self, line):
        text = line.rstrip(b"\r\n")
        word = text.split(b" ", 1)[0].upper()
        if word == b"QUIT":
            self.quit = True
            if self.p.hold_after_quit > 0 and not self.raw:
                self.p.note(f"held {self.p.hold_after_quit:.1f} s after QUIT")
                self._to_client(b"+OK bye\r\n")
                try:
                    self.client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                time.sleep(self.p.hold_after_quit)
                line = b"QUIT\r\n"
        if self.p.no_capa and word == b"CAPA" and not self.in_auth:
            self.p.note("CAPA refused")
            self._to_client(b"-ERR CAPA not implemented\r\n")
            return
        if self.p.no_user and word == b"USER" and not self.in_auth:
            self.p.note("USER refused")
            self._to_client(b"-ERR USER not offered here\r\n")
            return
        if word == b"PASS" and self.p.silent_bad_login:
            pw = text[5:].decode("utf-8", "replace")
            if pw not in self.p.passwords:
                self.p.note("PASS withheld")
                return
        if self.p.min_poll > 0 and not self.in_auth:
            if word == b"USER" or word == b"APOP":
                parts = text.split(b" ")
                self.user = parts[1].decode("utf-8", "replace") if len(parts) > 1 else None
            if word in (b"PASS", b"APOP") and self.user is not None:
                with self.p._lock:
                    last = self.p.last_login.get(self.user)
                if last is not None and time.monotonic() - last < self.p.min_poll:
                    self.p.note(f"LOGIN-DELAY refused {self.user}")
                    self._to_client(b"-ERR [LOGIN-DELAY] Logins must be at least %d seconds apart\r\n"
                                    % int(self.p.min_poll))
                    return
            with self.cv:
                self.replies.append((word, self.user))
        login = word in LOGIN_COMMANDS or self.in_auth
        if word == b"AUTH":
            self.in_auth = True
        if login and self.p.login_delay > 0:
            with self.cv:
                self.delays.append(time.monotonic() + self.p.login_delay)
            self.p.note(f"delay {word.decode('ascii', 'replace') if word in LOGIN_COMMANDS else 'AUTH line'}")
        if word == b"STLS":
            self.stls_sent = True
        self.up.sendall(line)
        if word == b"STLS":
            # Until the reply says otherwise, the next octets may be a TLS handshake: forward them as they are.
            self.raw = True

    def _from_server(self):
        f = self.up.makefile("rb")
        try:
            while True:
                if self.raw and not self.stls_sent:
                    data = f.read1(65536)
                    if not data:
                        break
                    self._to_client(data)
                    continue
                line = f.readline(1 << 20)
                if not line:
                    break
                self._server_line(line)
        except (OSError, ValueError):
            pass
        if self.quit and self.p.quit_left_open:
            self.p.note("left open after QUIT")
            return  # the client's close ends it (_from_client sees EOF)
        try:
            self.client.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.client.close()

    def _server_line(self, line):
        if self.first:
            self.first = False
            if self.p.no_timestamp and b"<" in line:
                line = line[:line.index(b"<")].rstrip(b" ") + b"\r\n"
        if self.p.no_user and line.rstrip(b"\r\n") == b"USER":
            return  # a bare "USER" line can only be a CAPA line
        if self.p.min_poll > 0 and not self.raw and line.rstrip(b"\r\n") == b"LOGIN-DELAY 0":
            line = b"LOGIN-DELAY %d\r\n" % self.p.announce
        if self.p.min_poll > 0 and (line[:3] == b"+OK" or line[:4] == b"-ERR"):
            with self.cv:
                word, user = self.replies.pop(0) if self.replies else (None, None)
            if word in (b"PASS", b"APOP") and user is not None and line[:3] == b"+OK":
                with self.p._lock:
                    self.p.last_login[user] = time.monotonic()
                self.p.note(f"login {user}")
        if line[:1] in (b"+", b"-"):
            with self.cv:
                until = self.delays.pop(0) if self.delays else None
            if until is not None:
                time.sleep(max(0.0, until - time.monotonic()))
            if line[:3] == b"+OK" or line[:4] == b"-ERR":
                self.in_auth = False
        if self.stls_sent:
            # STLS's reply: +OK, then TLS octets both ways; -ERR, and the session goes on in cleartext.
            self.stls_sent = False
            self._to_client(line)
            if not line.startswith(b"+OK"):
                self.raw = False
            return
        self._to_client(line)
