"""hostile — a small misbehaving POP3 server for the runner's end-to-end tests, and a helper that runs
bin/pop3spec with a bounded wall time and reads its peak memory. Python 3 stdlib only.

Hostile(mode) listens on 127.0.0.1:0 (and, with tls=True, on a second port speaking implicit TLS with the
generated fixture certificate, RFC 8314) and serves each connection in a thread. Its "good" behaviour is a
tiny RFC 1939 server: enough for the scenarios the tests pick (greeting, CAPA, USER/PASS, STAT, LIST,
NOOP, QUIT) to pass, so a verdict other than pass comes from the fault and nothing else. The mode chooses
the fault; the first `spare` connections are served well (the runner's probe uses one per port), so the
scenarios meet the fault rather than the probe.

Modes (issue 3, "Bad input and hostile servers"):
  good          a correct server
  silent        accepts and never sends a greeting
  mute          greets, then never answers a command
  flood         the greeting is an endless line without CRLF ("+OK xxxx..."), up to flood_cap octets
  trickle       the greeting comes one byte every 200 ms, forever, never a CRLF
  close_mid     LIST: "+OK", one scan listing, half of the next, then the connection closes
  lower_ok      every positive status is "+ok" (RFC 1939 §3: "+OK", upper case)
  bare_lf       every line ends in a bare LF (RFC 1939 §3: CRLF)
  long_status   every positive first line is status_len octets with its CRLF (default 602: 600 and the
                CRLF; RFC 2449 §4: at most 512 with the CRLF)
  endless_body  LIST: a multi-line body whose data lines never end (no "." line), up to flood_cap octets
  trickle_body  LIST: "+OK", then the body one byte every 200 ms, forever
  binary        every positive reply ends with `junk` (default BINARY: control octets, NUL, invalid
                UTF-8, markup characters), so reports must escape what they quote
  stls_garbage  (with stls=True) STLS gets +OK, then bytes that are not TLS instead of the handshake
  stls_stall    (with stls=True) STLS gets +OK, then the server never answers the ClientHello
  double        every status line is sent twice (replies nobody asked for: the client falls out of step)
  hangup        accepts, then closes at once without a greeting
  endless_capa  CAPA: a multi-line body whose lines never end, up to flood_cap octets (hits the probe)
  slow_body     LIST: "+OK", then one whole scan listing every 300 ms, forever (each line on time, the
                body never ending)
tls_mode: "good" (a real TLS handshake), "garbage" (the TLS port answers the ClientHello with bytes that
are not TLS, then keeps the connection open) or "stall" (it reads the ClientHello and never answers).
stls=True: CAPA offers STLS (RFC 2595) before TLS, and STLS upgrades the connection.
die_after_quits=N: once the N-th QUIT has been answered, the server dies: listeners closed (later connects
are refused) and every open connection reset — a server crashing between scenarios.
"""

import os
import select
import socket
import ssl
import subprocess
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
_bin = os.environ.get("BIN", "bin")
BIN = _bin if os.path.isabs(_bin) else os.path.join(ROOT, _bin)
POP3SPEC = os.path.join(BIN, "pop3spec")
TLS_DIR = os.path.join(ROOT, "fixtures", "generated", "tls")

MODES = ("good", "silent", "mute", "flood", "trickle", "close_mid", "lower_ok", "bare_lf", "long_status",
         "endless_body", "trickle_body", "slow_body", "binary", "stls_garbage", "stls_stall",
         "double", "hangup", "endless_capa")
CHUNK = 64 * 1024
# Octets a report must escape: NUL and other controls, ESC, DEL, invalid UTF-8, a lone surrogate's encoding,
# JSON, XML and HTML metacharacters, a CDATA end.
BINARY = (b"\x00\x01\x07\x08\x0b\x0c\x1b[31m\x7f \xff\xfe\xc3\x28 \xed\xa0\x80 \"q\" \\ <b>&amp; ]]> "
          b"</script><!-- \xe2\x80\xa8")


class Hostile:
    def __init__(self, mode="good", spare=0, tls=False, tls_mode="good", stls=False, die_after_quits=None,
                 flood_cap=1024 * 1024 * 1024, flood_rate=None, status_len=602, junk=None, messages=3):
        assert mode in MODES, mode
        assert tls_mode in ("good", "garbage", "stall"), tls_mode
        self.mode = mode
        self.spare = spare
        self.tls = tls
        self.tls_mode = tls_mode
        self.stls = stls
        self.die_after_quits = die_after_quits
        self.flood_cap = flood_cap
        self.flood_rate = flood_rate  # octets a second for flood and endless_body; None: as fast as read
        self.status_len = status_len  # long_status: octets of each positive first line, CRLF included
        self.junk = BINARY if junk is None else junk  # binary: what every positive reply ends with
        self.messages = messages
        self.port = self.tls_port = None
        self.lock = threading.Lock()
        self.sent = 0            # octets sent, all connections together
        self.connections = 0     # connections accepted, all ports together
        self.quits = 0
        self.commands = []       # (connection number, command line) as received
        self.dead = threading.Event()
        self._listeners = []
        self._clients = {}       # connection number: its current socket (the TLS one once upgraded)
        self._threads = []

    # ---- life cycle -----------------------------------------------------------------------------------

    def start(self):
        self.port = self._listen(False)
        if self.tls:
            self.tls_port = self._listen(True)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _listen(self, tls):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        s.settimeout(0.1)  # so the accept loop sees stop() without relying on close() waking accept()
        self._listeners.append(s)
        t = threading.Thread(target=self._accept_loop, args=(s, tls), daemon=True)
        t.start()
        self._threads.append(t)
        return s.getsockname()[1]

    def close_listeners(self):
        """Stop listening: later connects are refused."""
        with self.lock:
            listeners, self._listeners = self._listeners, []
        for s in listeners:
            # shutdown first: the accept thread may be inside poll() holding the socket, and a bare close()
            # would leave it listening (accepting into the backlog) until that call returns.
            for f in (lambda: s.shutdown(socket.SHUT_RDWR), s.close):
                try:
                    f()
                except OSError:
                    pass

    def kill(self):
        """Die as a crashed server would: no more listening, every open connection reset."""
        self.dead.set()
        self.close_listeners()
        with self.lock:
            clients = list(self._clients.values())
        for c in clients:
            try:
                # SO_LINGER 0: close sends RST, like a process killed with open sockets and unread input.
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.kill()
        for t in self._threads:
            t.join(timeout=5)

    # ---- connections ----------------------------------------------------------------------------------

    def _accept_loop(self, s, tls):
        while not self.dead.is_set():
            try:
                c, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(None)
            with self.lock:
                if self.dead.is_set():
                    c.close()
                    return
                self.connections += 1
                n = self.connections
                self._clients[n] = c
            t = threading.Thread(target=self._serve, args=(c, n, tls), daemon=True)
            t.start()

    def _serve(self, c, n, tls):
        try:
            mode = self.mode if n > self.spare else "good"
            if tls:
                if self.tls_mode == "stall" and n > self.spare:
                    self._drain(c)
                    return
                if self.tls_mode == "garbage" and n > self.spare:
                    # Whatever the ClientHello says, answer with bytes that are no TLS record.
                    c.recv(4096)
                    self._send(c, b"+OK this is not TLS \x00\xff\xfe garbage\r\n" * 8)
                    self._drain(c)
                    return
                c = server_tls(c)
                self._track(n, c)
            s = Session(self, c, n, mode, tls)
            try:
                s.run()
            finally:
                c = s.c
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            with self.lock:
                self._clients.pop(n, None)
            try:
                c.close()
            except OSError:
                pass

    def _track(self, n, c):
        with self.lock:
            self._clients[n] = c

    def _send(self, c, data):
        c.sendall(data)
        with self.lock:
            self.sent += len(data)

    def _drain(self, c):
        """Read and discard until the peer closes or the server dies."""
        while not self.dead.is_set():
            r, _, _ = select.select([c], [], [], 0.1)
            if r and not c.recv(CHUNK):
                return


def server_tls(c):
    """The server side of a TLS handshake on socket c, with the generated fixture certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(TLS_DIR, "server.pem"), os.path.join(TLS_DIR, "server.key"))
    c.settimeout(10)
    c = ctx.wrap_socket(c, server_side=True)
    c.settimeout(None)
    return c


class Session:
    """One POP3 connection of the hostile server."""

    def __init__(self, srv, c, n, mode, tls=False):
        self.srv, self.c, self.n, self.mode, self.tls = srv, c, n, mode, tls
        self.eol = b"\n" if mode == "bare_lf" else b"\r\n"
        self.ok = b"+ok" if mode == "lower_ok" else b"+OK"
        self.buf = b""
        self.state = "auth"
        self.user = None

    def send(self, data):
        self.srv._send(self.c, data)

    def line(self, text):
        self.send(text + self.eol)

    def status(self, good, text=b""):
        first = (self.ok if good else b"-ERR") + (b" " + text if text else b"")
        if good and self.mode == "binary":
            first += b" " + self.srv.junk
        if good and self.mode == "long_status":
            first += b" " + b"x" * (self.srv.status_len - len(self.eol) - len(first) - 1)
            assert len(first + self.eol) == self.srv.status_len
        self.line(first)
        if self.mode == "double":
            self.line(first)

    def endless(self, head, unit):
        """Send head, then unit over and over until the client goes, the server dies, or flood_cap."""
        self.send(head)
        block = unit * max(1, CHUNK // len(unit))
        sent = len(head)
        t0 = time.monotonic()
        while sent < self.srv.flood_cap and not self.srv.dead.is_set():
            self.send(block)
            sent += len(block)
            if self.srv.flood_rate:
                ahead = sent / self.srv.flood_rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        self.srv._drain(self.c)

    def trickle(self, head, unit, step, pause):
        """Send head then unit repeated, `step` octets every `pause` seconds, until the client goes."""
        data, i = head, 0
        while not self.srv.dead.is_set():
            if len(data) - i < step:
                data, i = data[i:] + unit * (step // len(unit) + 1), 0
            self.send(data[i:i + step])
            i += step
            time.sleep(pause)

    def read_line(self):
        while b"\n" not in self.buf:
            if self.srv.dead.is_set():
                return None
            r, _, _ = select.select([self.c], [], [], 0.1)
            if not r and not (isinstance(self.c, ssl.SSLSocket) and self.c.pending()):
                continue
            chunk = self.c.recv(CHUNK)
            if not chunk:
                return None
            self.buf += chunk
            if len(self.buf) > 1024 * 1024:
                return None
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def run(self):
        m = self.mode
        if m == "silent":
            self.srv._drain(self.c)
            return
        if m == "hangup":
            return
        if m == "flood":
            self.endless(b"+OK ", b"x")
            return
        if m == "trickle":
            self.trickle(b"+OK trickling", b".", 1, 0.2)
            return
        self.status(True, b"hostile POP3 ready <%d.%d@hostile.test>" % (os.getpid(), self.n))
        if m == "mute":
            self.srv._drain(self.c)
            return
        while True:
            line = self.read_line()
            if line is None:
                return
            with self.srv.lock:
                self.srv.commands.append((self.n, line.decode("latin-1")))
            if not self.command(line):
                return

    def command(self, line):
        """Answer one command; False when the connection is over."""
        words = line.split(b" ")
        verb, args = words[0].upper(), words[1:]
        if verb == b"QUIT":
            with self.srv.lock:
                self.srv.quits += 1
                die = self.srv.die_after_quits is not None and self.srv.quits >= self.srv.die_after_quits
            if die:
                # Stop listening before the reply, so the client's next connection is surely refused.
                self.srv.close_listeners()
            self.status(True, b"bye")
            self.c.close()
            if die:
                self.srv.kill()
            return False
        if verb == b"CAPA" and self.mode == "endless_capa":
            self.endless(self.ok + b" capability list follows" + self.eol, b"X-HOSTILE-CAPABILITY" + self.eol)
            return False
        if verb == b"CAPA":
            self.status(True, b"capability list follows")
            caps = [b"USER"]
            if self.srv.stls and not self.tls and self.state == "auth":
                caps.append(b"STLS")
            for cap in caps + [b"."]:
                self.line(cap)
            return True
        if verb == b"STLS" and self.srv.stls and not self.tls and self.state == "auth" and not args:
            self.status(True, b"begin TLS negotiation")
            if self.mode == "stls_garbage":
                self.c.recv(4096)
                self.send(b"+OK this is not TLS \x00\xff\xfe garbage\r\n" * 8)
                self.srv._drain(self.c)
                return False
            if self.mode == "stls_stall":
                self.srv._drain(self.c)
                return False
            self.c = server_tls(self.c)
            self.srv._track(self.n, self.c)
            self.tls = True
            self.user = None
            return True
        if self.state == "auth":
            if verb == b"USER" and len(args) == 1:
                self.user = args[0]
                self.status(True, b"send PASS")
            elif verb == b"PASS" and self.user is not None and args:
                self.state = "trans"
                self.status(True, b"logged in")
            else:
                self.user = None
                self.status(False, b"not in AUTHORIZATION")
            return True
        n, size = self.srv.messages, 120
        if verb == b"STAT" and not args:
            self.status(True, b"%d %d" % (n, n * size))
        elif verb == b"NOOP" and not args:
            self.status(True)
        elif verb == b"LIST" and not args:
            if self.mode == "close_mid":
                self.send(self.ok + b" %d messages" % n + self.eol + b"1 %d" % size + self.eol + b"2 1")
                self.c.shutdown(socket.SHUT_RDWR)
                return False
            if self.mode == "trickle_body":
                self.trickle(self.ok + b" scan listing follows" + self.eol, b"1 %d" % size + self.eol, 1, 0.2)
                return False
            if self.mode == "slow_body":
                unit = b"1 %d" % size + self.eol
                self.send(self.ok + b" scan listing follows" + self.eol)
                self.trickle(b"", unit, len(unit), 0.3)
                return False
            if self.mode == "endless_body":
                self.endless(self.ok + b" scan listing follows" + self.eol, b"1 %d" % size + self.eol)
                return False
            self.status(True, b"%d messages" % n)
            for i in range(1, n + 1):
                self.line(b"%d %d" % (i, size))
            self.line(b".")
        elif verb == b"LIST" and len(args) == 1 and args[0].isdigit() and 1 <= int(args[0]) <= n:
            self.status(True, b"%d %d" % (int(args[0]), size))
        else:
            self.status(False, b"no")
        return True


class RunResult:
    def __init__(self, rc, stdout, stderr, seconds, maxrss_kb):
        self.rc, self.stdout, self.stderr, self.seconds, self.maxrss_kb = rc, stdout, stderr, seconds, maxrss_kb

    def __repr__(self):
        return (f"<pop3spec rc={self.rc} {self.seconds:.1f}s rss={self.maxrss_kb}kB\n--- stdout\n"
                f"{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}>")


class Hung(AssertionError):
    pass


def run_pop3spec(args, limit=60.0, cwd=ROOT, env=None):
    """Run bin/pop3spec ARGS; kill it and raise Hung after `limit` seconds. Returns a RunResult with the
    exit status, the output, the wall time and the peak RSS of the runner itself (from wait4(2), so the
    other processes the tests started do not count)."""
    _runs.append(None)
    out_path = os.path.join(_tmp(), f"out{len(_runs)}")
    err_path = os.path.join(_tmp(), f"err{len(_runs)}")
    t0 = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([POP3SPEC] + list(args), cwd=cwd, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, env=env)
        status = rusage = None
        hwm_kb = 0
        while True:
            hwm_kb = max(hwm_kb, _vm_hwm_kb(proc.pid))
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > limit:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise Hung(f"pop3spec {' '.join(args)} still running after {limit:.0f} s; stderr:\n"
                           + _read(err_path)[-3000:])
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
    # wait4's ru_maxrss also counts the test process's own pages the child had between fork and exec (Linux
    # keeps the larger of the two across execve), so a test process grown by an earlier test would inflate
    # it; VmHWM is the runner's own peak (the hiwater mark of its memory map, reset by execve), read while it
    # runs. A run too short to be read falls back to wait4's figure.
    return RunResult(proc.returncode, _read(out_path), _read(err_path), time.monotonic() - t0,
                     hwm_kb or rusage.ru_maxrss)


def _vm_hwm_kb(pid):
    """The process's peak resident set in kB (VmHWM in /proc/PID/status), or 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


_tmpdir = []
_runs = []


def _tmp():
    if not _tmpdir:
        import tempfile
        import atexit
        import shutil
        d = tempfile.mkdtemp(prefix="pop3spec-e2e-run-")
        atexit.register(shutil.rmtree, d, True)
        _tmpdir.append(d)
    return _tmpdir[0]


def _read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def target_profile(path, port, tls_port=None, accounts=6, reset="true {user} {fixture}", name="hostile"):
    """Write a target profile for a server on 127.0.0.1 (accounts userN/passN; `reset` a no-op command, so
    scenarios naming a fixture run against the hostile server's own fixed maildrop)."""
    lines = [f"name: {name}", "host: 127.0.0.1", f"port: {port}"]
    if tls_port:
        lines += [f"tls_port: {tls_port}", "tls_verify: false"]
    lines.append("accounts:")
    lines += [f"  - {{user: user{i}, password: pass{i}}}" for i in range(1, accounts + 1)]
    if reset:
        lines.append(f'reset: "{reset}"')
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
