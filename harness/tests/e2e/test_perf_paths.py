"""The fast paths behind docs/performance.md, over real sockets: RETR of big messages stored in wire form
(sent as stored with sendfile) and stored with LF (encoded in whole chunks), plain and over TLS, octet for
octet; the size cache a login leaves behind and its reuse; the listen backlog, and a burst of connections
all greeted. Correctness only: speed is measured by make bench, never here."""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from pop3test import DEFAULT_MAILDROP, POP3REFD, TIMEOUT, VALGRIND, Server, ServerTest, as_sent, client_tls_context


def stuffed(wire):
    """The body as it travels: each line starting with '.' gets one more (RFC 1939 §3)."""
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in wire.split(b"\r\n")[:-1])


def big_message(crlf, size):
    """About `size` octets of text; LF-stored ones carry dot lines, CRLF-stored ones none (wire form)."""
    eol = b"\r\n" if crlf else b"\n"
    head = b"From: big@example.org" + eol + b"Subject: big" + eol + eol
    lines, n, i = [head], len(head), 0
    while n < size:
        line = (b"." if not crlf and i % 37 == 5 else b"") + b"%08d the quick brown fox" % i + eol
        lines.append(line)
        n += len(line)
        i += 1
    return b"".join(lines)


BIG_CRLF = big_message(True, 3_000_000)
BIG_LF = big_message(False, 3_000_000)
SMALL_CRLF_NOEOL = b"From: x@example.org\r\nSubject: no end\r\n\r\nlast line"


class BigMessages(ServerTest):
    maildrops = {"alice": [("2000.M1P1.test", BIG_CRLF), ("2001.M2P1.test", BIG_LF),
                           ("2002.M3P1.test", SMALL_CRLF_NOEOL)]}

    def raw_retr(self, c, n):
        """RETR n: the status line and the body exactly as received, terminator excluded."""
        st = c.cmd(f"RETR {n}")
        self.ok(st)
        return st, b"".join(l + b"\r\n" for l in c.body())

    def check_all(self, tls):
        c = self.srv.login(tls=tls)
        st, lst = c.multi("LIST")
        self.ok(st)
        sizes = [int(l.split()[1]) for l in lst]
        for n, raw in enumerate([BIG_CRLF, BIG_LF, SMALL_CRLF_NOEOL], 1):
            status, body = self.raw_retr(c, n)
            self.assertEqual(body, stuffed(as_sent(raw)), f"message {n}")  # R1939-ML-2, R1939-GEN-6
            self.assertEqual(sizes[n - 1], len(as_sent(raw)))  # R1939-ML-4
            self.assertEqual(int(status.split()[1]), sizes[n - 1])
        # TOP still goes line by line and stops where it should.
        st, top = c.multi("TOP 1 2")
        self.ok(st)
        self.assertEqual(top[-2:], [b"00000000 the quick brown fox", b"00000001 the quick brown fox"])
        self.ok(c.cmd("NOOP"))  # the session goes on after the big bodies
        c.close()

    def test_plain(self):
        self.check_all(tls=False)

    def test_tls(self):
        self.check_all(tls=True)

    def test_twice_in_one_write(self):
        # Pipelined: the second body must follow the first one's terminator exactly (the sendfile segment
        # and the terminator queued behind it keep their order).
        c = self.srv.login()
        c.send(b"RETR 1\r\nRETR 1\r\nNOOP\r\n")
        for _ in range(2):
            st = c.status()
            self.ok(st)
            body = b"".join(l + b"\r\n" for l in c.body())
            self.assertEqual(body, stuffed(as_sent(BIG_CRLF)))
        self.ok(c.status())


class TlsCoalesced(ServerTest):
    """TLS records gather in a socket buffer under OpenSSL and leave in big writes (docs/performance.md,
    round three): after STLS mid-session too, pipelined bodies keep their order, QUIT's reply and the
    close_notify behind it arrive, and a client that never reads holds a bounded amount of ciphertext."""
    maildrops = {"alice": [("2000.M1P1.test", BIG_CRLF), ("2001.M2P1.test", BIG_LF)]}

    def test_stls_then_pipelined_bodies_and_close_notify(self):
        c = self.srv.connect()
        self.ok(c.cmd("STLS"))
        c.starttls()
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS " + self.srv.users["alice"]))
        c.send(b"RETR 2\r\nRETR 1\r\nRETR 2\r\nQUIT\r\n")
        for raw in (BIG_LF, BIG_CRLF, BIG_LF):
            self.ok(c.status())
            self.assertEqual(b"".join(l + b"\r\n" for l in c.body()), stuffed(as_sent(raw)))
        self.ok(c.status())
        # RFC 8314 §3.4: close_notify after the last reply, so unwrap completes (no truncated stream).
        c.sock.unwrap().close()

    def handshake_with_command(self, sock, command):
        """A TLS 1.3 handshake through memory BIOs whose last flight (the client's Finished) leaves in one
        write together with `command`: the server reads the command with the end of the handshake. Returns
        (SSLObject, incoming BIO) for reading the replies."""
        ctx = client_tls_context()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outg.pending:
                    sock.sendall(outg.read())
                data = sock.recv(65536)
                if not data:
                    raise EOFError("closed during the handshake")
                inc.write(data)
        obj.write(command)
        sock.sendall(outg.read())  # Finished and the command's record, one write
        return obj, inc

    def read_lines(self, sock, obj, inc, n=None):
        """n lines, or (n None) up to a multi-line body's terminator."""
        buf = b""
        while (buf.count(b"\r\n") < n) if n else (b"\r\n.\r\n" not in buf):
            try:
                buf += obj.read(65536)
            except ssl.SSLWantReadError:
                data = sock.recv(65536)
                if not data:
                    break
                inc.write(data)
        return buf.split(b"\r\n")[:n] if n else buf.split(b"\r\n")

    def test_command_with_the_finished_is_read_under_tls(self):
        # After STLS: CAPA sent with the Finished is answered as a TLS session's (SASL PLAIN offered,
        # docs/server.md: PLAIN needs TLS in the default mode), not as a cleartext one's.
        sock = socket.create_connection(("127.0.0.1", self.srv.port), timeout=TIMEOUT)
        self.assertTrue(sock.recv(512).startswith(b"+OK"))
        sock.sendall(b"STLS\r\n")
        self.assertTrue(sock.recv(512).startswith(b"+OK"))
        obj, inc = self.handshake_with_command(sock, b"CAPA\r\n")
        lines = self.read_lines(sock, obj, inc)
        self.assertTrue(lines[0].startswith(b"+OK"), lines)
        self.assertTrue(any(l.startswith(b"SASL") and b"PLAIN" in l.split() for l in lines), lines)
        self.assertNotIn(b"STLS", lines)
        sock.close()
        # Implicit TLS: the greeting still comes first (RFC 8314 §3.1), then the answer.
        sock = socket.create_connection(("127.0.0.1", self.srv.tls_port), timeout=TIMEOUT)
        obj, inc = self.handshake_with_command(sock, b"NOOP\r\n")
        greeting, reply = self.read_lines(sock, obj, inc, 2)
        self.assertTrue(greeting.startswith(b"+OK pop3refd ready"), greeting)
        self.assertTrue(reply.startswith(b"-ERR"), reply)  # NOOP in AUTHORIZATION
        sock.close()

    def test_never_reading_tls_client_is_bounded(self):
        c = self.srv.login(tls=True)
        base = self.srv.rss_kb()
        # 3 MB bodies asked for 40 times (120 MB) and nothing read: the kernel's buffers, SESSION_OUT_HIGH
        # of plaintext and as much sealed ciphertext are all the server may hold.
        c.send(b"RETR 2\r\n" * 40)
        deadline = time.monotonic() + 3
        grown = 0
        while time.monotonic() < deadline:
            time.sleep(0.2)
            grown = max(grown, self.srv.rss_kb() - base)
        self.assertLess(grown, 16 * 1024, f"RSS grew {grown} kB for one TLS client that never reads")
        c.sock.close()
        # The server is still serving.
        d = self.srv.login_when_free()
        self.ok(d.cmd("NOOP"))
        d.close()


class WireCache(ServerTest):
    """--wire-cache DIR: the first RETR of a big LF-stored message writes its wire form to DIR, later ones
    send that copy; a copy is only ever of the message's current version, complete, and goes with DELE."""
    maildrops = {"alice": [("2000.M1P1.test", BIG_CRLF), ("2001.M2P1.test", BIG_LF),
                           ("2002.M3P1.test", b"Subject: small\n\n.dot\n")]}

    def setUp(self):
        self.cache = tempfile.mkdtemp(prefix="pop3refd-wire-")
        self.addCleanup(shutil.rmtree, self.cache, True)
        self.server_args = ("--wire-cache", self.cache)
        super().setUp()

    def copies(self):
        return sorted(os.listdir(self.cache))

    def retr_body(self, c, n):
        self.ok(c.cmd(f"RETR {n}"))
        return b"".join(l + b"\r\n" for l in c.body())

    def test_copy_made_then_used(self):
        c = self.srv.login()
        self.assertEqual(self.retr_body(c, 2), stuffed(as_sent(BIG_LF)))
        self.assertEqual(len(self.copies()), 1)  # only the big message not stored as sent
        copy = os.path.join(self.cache, self.copies()[0])
        self.assertTrue(copy.endswith(".wire"))
        with open(copy, "rb") as f:
            self.assertEqual(f.read(), stuffed(as_sent(BIG_LF)))  # the body as sent, no terminator
        # The second RETR sends the copy: shown by a copy changed in place (same length).
        with open(copy, "r+b") as f:
            f.seek(100)
            f.write(b"X")
        want = bytearray(stuffed(as_sent(BIG_LF)))
        want[100:101] = b"X"
        self.assertEqual(self.retr_body(c, 2), bytes(want))
        self.assertEqual(self.retr_body(c, 1), stuffed(as_sent(BIG_CRLF)))
        self.assertEqual(self.retr_body(c, 3), b"Subject: small\r\n\r\n..dot\r\n")
        self.assertEqual(len(self.copies()), 1)
        self.ok(c.cmd("QUIT"))

    def test_changed_message_is_never_sent_from_an_old_copy(self):
        c = self.srv.login()
        self.retr_body(c, 2)
        self.ok(c.cmd("QUIT"))
        c.close()
        # The same name, other content of the same length: the copy belongs to the old version.
        changed = BIG_LF.replace(b"quick", b"QUICK")
        self.srv.add_message("alice", "2001.M2P1.test", changed)
        c = self.srv.login_when_free()
        self.assertEqual(self.retr_body(c, 2), stuffed(as_sent(changed)))
        self.assertEqual(self.retr_body(c, 2), stuffed(as_sent(changed)))
        self.ok(c.cmd("QUIT"))

    def test_dele_removes_the_copy_and_a_dropped_retr_leaves_none(self):
        c = self.srv.login()
        c.send(b"RETR 2\r\n")
        c.line()
        c.sock.close()  # gone after the first octets: no copy, no temporary file left
        c = self.srv.login_when_free()
        self.assertEqual(self.copies(), [])
        self.retr_body(c, 2)
        self.assertEqual(len(self.copies()), 1)
        self.ok(c.cmd("DELE 2"))
        self.ok(c.cmd("QUIT"))
        self.assertEqual(self.copies(), [])

    def test_tls_neither_makes_nor_needs_a_copy(self):
        c = self.srv.login(tls=True)
        self.assertEqual(self.retr_body(c, 2), stuffed(as_sent(BIG_LF)))
        self.assertEqual(self.copies(), [])
        self.ok(c.cmd("QUIT"))


class SizeCache(ServerTest):
    def cache_path(self):
        return os.path.join(self.srv.maildirs, "alice", ".pop3refd.sizes")

    def test_login_leaves_cache_and_next_login_agrees(self):
        c = self.srv.login()
        first = c.multi("LIST")[1]
        uidl = c.multi("UIDL")[1]
        self.ok(c.cmd("QUIT"))
        c.close()
        self.assertTrue(os.path.isfile(self.cache_path()))
        # The cache is a dot file: never a message, never listed.
        c = self.srv.login()
        self.assertEqual(c.multi("LIST")[1], first)
        self.assertEqual(c.multi("UIDL")[1], uidl)  # R1939-UIDL-4: same ids across sessions
        c.close()

    def test_new_mail_and_a_replaced_file_are_read(self):
        c = self.srv.login()
        c.multi("LIST")
        self.ok(c.cmd("QUIT"))
        c.close()
        # A file replaced under the same name with other content, and a new one.
        msgs = self.srv.messages("alice")
        path = os.path.join(self.srv.maildirs, "alice", "cur", msgs[0])
        os.unlink(path)
        replacement = b"Subject: replaced\n\nnew content, longer than before, much longer\n"
        with open(path, "wb") as f:
            f.write(replacement)
        self.srv.add_message("alice", "1003.M4P1.test", b"Subject: new\n\nx\n", sub="new")
        c = self.srv.login()
        st, lst = c.multi("LIST")
        self.ok(st)
        self.assertEqual(len(lst), 4)
        self.assertEqual(int(lst[0].split()[1]), len(as_sent(replacement)))
        self.assertEqual(c.retr(1), as_sent(replacement))
        c.close()

    def test_damaged_cache_is_ignored(self):
        os.makedirs(os.path.join(self.srv.maildirs, "alice"), exist_ok=True)
        with open(self.cache_path(), "w") as f:
            f.write("pop3refd-sizes 1\n1 2 3 4 999999 1 1 1000.M1P1.test\n")  # no end line: torn
        c = self.srv.login()
        st, lst = c.multi("LIST")
        self.ok(st)
        self.assertNotEqual(int(lst[0].split()[1]), 999999)
        c.close()


class ListenBacklog(ServerTest):
    def test_backlog_beyond_128(self):
        # With a backlog of 128 a burst of connections (a load test, clients polling on the minute)
        # overflowed the accept queue: the kernel completed handshakes it then dropped, and those clients
        # waited for a greeting that never came. A listening socket's Send-Q in ss(8) is its backlog.
        if not shutil.which("ss"):
            self.skipTest("ss (iproute2) is not installed")
        out = subprocess.run(["ss", "-Hltn", f"( sport = :{self.srv.port} )"], capture_output=True,
                             text=True, check=True).stdout.split()
        self.assertGreaterEqual(len(out), 3, out)
        with open("/proc/sys/net/core/somaxconn") as f:
            somaxconn = int(f.read())
        self.assertEqual(int(out[2]), min(4096, somaxconn))
        # And a burst of 300 at once is greeted, every one.
        socks = []
        try:
            for _ in range(300):
                socks.append(socket.create_connection(("127.0.0.1", self.srv.port), timeout=TIMEOUT))
            for s in socks:
                self.assertTrue(s.recv(512).startswith(b"+OK"))  # R1939-GREET-1
        finally:
            for s in socks:
                s.close()


def built_with_asan():
    try:
        with open(POP3REFD, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


class IdleSessionMemory(ServerTest):
    """What one logged-in idle session costs the server (docs/performance.md: 10,000 under 100 MB, about
    5 kB each). A per-session structure that grows by kilobytes shows here, as round three's first
    --wire-cache did (a 4 kB path buffer in every session's stream: 9.3 kB a session)."""
    tls = False
    SESSIONS = 400
    users = {f"idle{i:03d}": f"pass{i:03d}" for i in range(SESSIONS)}

    def setUp(self):
        self.srv = Server(users=self.users, maildrops={u: DEFAULT_MAILDROP for u in self.users}, tls=False)
        self.extra = []
        self.addCleanup(self.srv.cleanup)
        self.srv.start()

    def test_idle_sessions_cost_a_few_kilobytes(self):
        if VALGRIND or built_with_asan():
            self.skipTest("RSS under valgrind or ASan measures their bookkeeping; make check runs this")
        conns = [self.srv.login(user=u) for u in list(self.users)[:10]]  # heap and caches warm
        base = self.srv.rss_kb()
        for u in list(self.users)[10:]:
            conns.append(self.srv.login(user=u))
        per = (self.srv.rss_kb() - base) / (self.SESSIONS - 10)
        for c in conns:
            c.close()
        self.assertLess(per, 8.0, f"{per:.1f} kB of RSS per idle session")
