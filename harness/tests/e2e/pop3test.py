"""pop3test — helpers for pop3refd's end-to-end tests: start the real bin/pop3refd on port 0 with a temporary
users file and maildirs, and talk to it over real sockets (plain, STLS, implicit TLS). Python stdlib only."""

import atexit
import base64
import hashlib
import hmac
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.path.join(ROOT, os.environ.get("BIN", "bin")) if not os.path.isabs(os.environ.get("BIN", "bin")) \
    else os.environ["BIN"]
POP3REFD = os.path.join(BIN, "pop3refd")
VALGRIND = os.environ.get("POP3SPEC_VALGRIND") == "1"
# Everything is slower under valgrind: scale every wait.
SLOW = 8.0 if VALGRIND else 1.0
TIMEOUT = 10.0 * SLOW

USERS = {"alice": "wonderland", "bob": "builder", "carol": "pass with spaces", "empty": "nothing"}

# alice's default maildrop: stored with LF, with CRLF, and without a final line end; dot-lines to stuff.
MSG_DOTS = (b"From: a@example.org\nTo: alice@example.org\nSubject: dots\nMessage-ID: <dots@pop3refd.test>\n\n"
            b"first\n.\n..\n.x\nlast\n")
MSG_CRLF = (b"From: b@example.org\r\nSubject: crlf\r\nMessage-ID: <crlf@pop3refd.test>\r\n\r\n"
            b"line one\r\nline two\r\nline three\r\n")
MSG_NOEOL = b"From: c@example.org\nSubject: no final newline\nMessage-ID: <noeol@pop3refd.test>\n\nbody"
DEFAULT_MAILDROP = [("1000.M1P1.test", MSG_DOTS), ("1001.M2P1.test", MSG_CRLF), ("1002.M3P1.test", MSG_NOEOL)]


def wait_until(pred, timeout, what):
    """Poll pred() every 20 ms until it returns a true value, and return that; AssertionError naming what
    after timeout seconds (scaled under valgrind). An event wait instead of a fixed sleep: as fast as the
    server, as patient as the bound."""
    deadline = time.time() + timeout * SLOW
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError(f"not within {timeout * SLOW:.1f} s: {what}")
        time.sleep(0.02)


def as_sent(raw):
    """The message as POP3 sends it (before stuffing): CRLF line ends, a final CRLF added if missing."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join(l + b"\r\n" for l in lines)


_cert_cache = {}


def certificate():
    """(cert, key) paths: the generated fixtures when `make fixtures` made them, else a fresh self-signed pair."""
    if "pair" in _cert_cache:
        return _cert_cache["pair"]
    gen = os.path.join(ROOT, "fixtures", "generated", "tls")
    for cert, key in (("server.pem", "server.key"), ("server.crt", "server.key"), ("cert.pem", "key.pem"),
                      ("server-cert.pem", "server-key.pem")):
        c, k = os.path.join(gen, cert), os.path.join(gen, key)
        if os.path.exists(c) and os.path.exists(k):
            _cert_cache["pair"] = (c, k)
            return c, k
    d = tempfile.mkdtemp(prefix="pop3refd-e2e-cert-")
    atexit.register(shutil.rmtree, d, True)
    c, k = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", k, "-out", c,
                    "-days", "7", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _cert_cache["pair"] = (c, k)
    return c, k


def certificate_ca():
    """The CA that signed the server's certificate: the generated fixtures' ca.pem, or the self-signed cert."""
    cert, _ = certificate()
    ca = os.path.join(os.path.dirname(cert), "ca.pem")
    return ca if os.path.exists(ca) else cert


def client_tls_context(**kw):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


class ServerFailed(Exception):
    pass


class Server:
    """One pop3refd process on free ports, with its own users file and maildirs in a temporary folder."""

    def __init__(self, users=None, maildrops=None, args=(), tls=True, workdir=None, users_text=None):
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="pop3refd-e2e-")
        self.users = dict(USERS if users is None else users)
        self.users_path = os.path.join(self.dir, "users")
        self.maildirs = os.path.join(self.dir, "maildirs")
        self.args = list(args)
        self.tls = tls
        self.proc = None
        self.port = self.tls_port = None
        self.log_path = None
        if not os.path.exists(self.users_path) or users_text is not None or users is not None:
            with open(self.users_path, "w") as f:
                f.write(users_text if users_text is not None else
                        "# test users\n" + "".join(f"{u}:{p}\n" for u, p in self.users.items()))
        if not os.path.isdir(self.maildirs):
            os.makedirs(self.maildirs)
            drops = {"alice": DEFAULT_MAILDROP} if maildrops is None else maildrops
            for user, msgs in drops.items():
                self.make_maildrop(user, msgs)

    def make_maildrop(self, user, msgs):
        d = os.path.join(self.maildirs, user)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        for name, data in msgs:
            self.add_message(user, name, data)

    def add_message(self, user, name, data, sub="cur"):
        with open(os.path.join(self.maildirs, user, sub, name), "wb") as f:
            f.write(data)

    def messages(self, user):
        out = []
        for sub in ("cur", "new"):
            p = os.path.join(self.maildirs, user, sub)
            if os.path.isdir(p):
                out += [n for n in os.listdir(p) if not n.startswith(".")]
        return sorted(out)

    def command(self):
        cert, key = certificate()
        cmd = [POP3REFD, "--listen", "127.0.0.1:0", "--users", self.users_path, "--maildirs", self.maildirs,
               "--auth-failure-delay", "0", "--log-level", "debug"]
        if self.tls:
            cmd += ["--listen-tls", "127.0.0.1:0", "--cert", cert, "--key", key]
        cmd += self.args
        if VALGRIND:
            self.vg_log = os.path.join(self.dir, "valgrind.%p.log")
            cmd = ["valgrind", "-q", "--leak-check=full", "--error-exitcode=99",
                   "--log-file=" + self.vg_log] + cmd
        return cmd

    def start(self):
        n = 0
        while True:
            n += 1
            self.log_path = os.path.join(self.dir, f"server{n}.log")
            if not os.path.exists(self.log_path):
                break
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=self.log)
        want = 2 if self.tls else 1
        got = []
        deadline = time.time() + TIMEOUT
        buf = b""
        while len(got) < want:
            r, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.time()))
            if not r:
                raise ServerFailed("no 'listening' lines from pop3refd:\n" + self.log_text())
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise ServerFailed("pop3refd exited at start:\n" + self.log_text())
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                got.append(line.decode())
        for line in got:
            kind, addr = line.split()[1:3]
            port = int(addr.rsplit(":", 1)[1])
            if line.startswith("listening pop3 "):
                self.port = port
            elif line.startswith("listening pop3s "):
                self.tls_port = port
            else:
                raise ServerFailed("unexpected line: " + line)
        return self

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        """Stop with SIGTERM; fail when the exit is not clean (or valgrind found errors or leaks)."""
        if not self.proc:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise ServerFailed("pop3refd did not stop on SIGTERM:\n" + self.log_text())
        finally:
            self.proc.stdout.close()
            self.log.close()
        self.proc = None
        if VALGRIND:
            reports = ""
            for n in os.listdir(self.dir):
                if n.startswith("valgrind."):
                    with open(os.path.join(self.dir, n)) as f:
                        reports += f.read()
                    os.unlink(os.path.join(self.dir, n))
            if rc == 99 or reports.strip():
                raise ServerFailed(f"valgrind (exit {rc}):\n{reports}")
        if rc != 0:
            raise ServerFailed(f"pop3refd exit status {rc}:\n" + self.log_text())
        return rc

    def cleanup(self):
        if self.proc:
            try:
                self.proc.kill()
                self.proc.wait()
                self.proc.stdout.close()
                self.log.close()
            except OSError:
                pass
            self.proc = None
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, tls=False, **kw):
        return Conn(self.tls_port if tls else self.port, tls=tls, **kw)

    def login(self, user="alice", tls=False):
        c = self.connect(tls=tls)
        assert c.cmd("USER " + user).startswith("+OK")
        r = c.cmd("PASS " + self.users[user])
        assert r.startswith("+OK"), r
        return c

    def login_when_free(self, user="alice", timeout=5):
        """A login, retried until the maildrop's lock is free (a dropped session's lock goes when the server
        has seen the drop): an event wait for tests that check the lock is released."""
        def attempt():
            c = self.connect()
            c.cmd("USER " + user)
            if c.cmd("PASS " + self.users[user]).startswith("+OK"):
                return c
            c.close()
            return None
        return wait_until(attempt, timeout, f"{user}'s maildrop free again")

    def connect_when_room(self, timeout=5):
        """A connection greeted +OK, retried while the server refuses for lack of room (a closed session's
        slot is free when the server has seen the close)."""
        def attempt():
            c = self.connect()
            if c.greeting.startswith(b"+OK"):
                return c
            c.close()
            return None
        return wait_until(attempt, timeout, "a connection greeted +OK again")

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


class ProtocolError(AssertionError):
    pass


class Conn:
    """A POP3 client connection that checks what the server sends: CRLF line ends, 512-octet status lines."""

    def __init__(self, port, tls=False, timeout=None, greeting=True, ctx=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout or TIMEOUT)
        self.buf = b""
        self.tls = False
        if tls:
            self.sock = (ctx or client_tls_context()).wrap_socket(self.sock, server_hostname="localhost")
            self.tls = True
        self.greeting = self.line() if greeting else None

    # ---- low level
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server")
        self.buf += chunk

    def line(self):
        """One line without its CRLF, as bytes. A bare LF or CR is a protocol error."""
        while b"\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ProtocolError("no line end in 1 MiB")
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        if not line.endswith(b"\r"):
            raise ProtocolError(f"bare LF after {line[:80]!r}")
        line = line[:-1]
        if b"\r" in line:
            raise ProtocolError(f"bare CR in {line[:80]!r}")
        return line

    def status(self):
        """A status line, decoded; checks the indicator and the 512-octet limit (RFC 1939 §3)."""
        line = self.line()
        if len(line) + 2 > 512:
            raise ProtocolError(f"status line of {len(line) + 2} octets")
        s = line.decode("latin-1")
        if not (s == "+OK" or s.startswith("+OK ") or s == "-ERR" or s.startswith("-ERR ") or s.startswith("+ ")):
            raise ProtocolError(f"bad status line {s!r}")
        return s

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.status()

    def body(self):
        """The data lines of a multi-line response up to the terminator, raw (still stuffed)."""
        lines = []
        while True:
            l = self.line()
            if l == b".":
                return lines
            lines.append(l)

    def multi(self, text):
        """Send a command expecting a multi-line answer: (status, lines) — lines only after +OK."""
        st = self.cmd(text)
        return st, (self.body() if st.startswith("+OK") else None)

    def retr(self, n):
        """RETR n, un-stuffed and rejoined with CRLF, as the client sees the message."""
        st, lines = self.multi(f"RETR {n}")
        if not st.startswith("+OK"):
            raise ProtocolError(st)
        return b"".join((l[1:] if l.startswith(b".") else l) + b"\r\n" for l in lines)

    def starttls(self, ctx=None):
        if self.buf:
            raise ProtocolError(f"data after the STLS reply: {self.buf!r}")
        self.sock = (ctx or client_tls_context()).wrap_socket(self.sock, server_hostname="localhost")
        self.tls = True

    def capa(self):
        st, lines = self.multi("CAPA")
        if not st.startswith("+OK"):
            raise ProtocolError(st)
        return [l.decode() for l in lines]

    def nothing_within(self, seconds):
        """True when the server sends nothing (and does not close) within `seconds`."""
        if self.buf:
            return False
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(1)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        finally:
            self.sock.settimeout(TIMEOUT)
        if data:
            self.buf += data
        return False

    def closed_within(self, seconds):
        """(closed, data): whether the server closed within `seconds`, and what it sent before."""
        self.sock.settimeout(seconds)
        data = self.buf
        self.buf = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True, data
                data += chunk
        except socket.timeout:
            return False, data
        except (ConnectionResetError, ssl.SSLError, OSError):
            return True, data
        finally:
            try:
                self.sock.settimeout(TIMEOUT)
            except OSError:
                pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self):
        """Close with a TCP reset."""
        import struct
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text, validate=True)


def apop_digest(timestamp, secret):
    return hashlib.md5((timestamp + secret).encode()).hexdigest()


def greeting_timestamp(greeting):
    s = greeting if isinstance(greeting, str) else greeting.decode()
    a, b = s.index("<"), s.index(">")
    return s[a:b + 1]


class ScramClient:
    """RFC 5802 client side, enough to log in: SHA-1 or SHA-256."""

    def __init__(self, user, password, hashname="sha256", authzid=""):
        self.user, self.password, self.h = user, password, hashname
        self.cnonce = base64.b64encode(os.urandom(18)).decode()
        self.gs2 = "n," + (f"a={authzid}" if authzid else "") + ","
        self.first_bare = f"n={user},r={self.cnonce}"

    def first(self):
        return (self.gs2 + self.first_bare).encode()

    def final(self, server_first):
        sf = server_first.decode()
        attrs = dict(kv.split("=", 1) for kv in sf.split(","))
        if not attrs["r"].startswith(self.cnonce):
            raise ProtocolError("server nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac(self.h, self.password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", self.h).digest()
        stored_key = hashlib.new(self.h, client_key).digest()
        without_proof = f"c={b64(self.gs2)},r={attrs['r']}"
        self.auth_message = f"{self.first_bare},{sf},{without_proof}".encode()
        sig = hmac.new(stored_key, self.auth_message, self.h).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_key = hmac.new(salted, b"Server Key", self.h).digest()
        self.expected_v = base64.b64encode(hmac.new(server_key, self.auth_message, self.h).digest()).decode()
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final):
        return server_final.decode() == "v=" + self.expected_v


class ServerTest(unittest.TestCase):
    """A test case with one started server (self.srv); subclasses set server_args / maildrops."""
    server_args = ()
    maildrops = None
    tls = True

    def setUp(self):
        self.srv = Server(maildrops=self.maildrops, args=self.server_args, tls=self.tls)
        self.extra = []
        self.addCleanup(self.srv.cleanup)
        self.srv.start()

    def tearDown(self):
        for s in self.extra:
            s.cleanup()
        if self.srv.proc:
            self.srv.stop()

    def ok(self, reply):
        self.assertTrue(reply.startswith("+OK"), reply)

    def err(self, reply, code=None):
        self.assertTrue(reply.startswith("-ERR"), reply)
        if code:
            self.assertTrue(reply.startswith(f"-ERR [{code}]"), reply)
