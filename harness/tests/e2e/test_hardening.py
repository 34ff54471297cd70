"""A hardened pop3refd (docs/security.md): connections per address, sessions per user, the growing failed-login
delay, user names validated before any file is touched, the same reply and timing for an unknown user and a
wrong password, TLS 1.2+ with AEAD suites only, the TLS handshake timeout, bounded memory with 1,000 clients that
pipeline and never read, and dropping root (--user) or refusing to keep it on a public address."""

import os
import pwd
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import tempfile
import time
import unittest

from pop3test import POP3REFD, SLOW, TIMEOUT, VALGRIND, Server, ServerTest, b64, client_tls_context

ASAN = False
try:
    with open(POP3REFD, "rb") as _f:
        ASAN = b"__asan_init" in _f.read()
except OSError:
    pass


def refused_line(port):
    """Connect and return the first line the server sends (or b"" when it closes at once)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    data = b""
    try:
        while b"\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return data


class PerAddress(ServerTest):
    server_args = ("--max-per-address", "3", "--limit-loopback")
    tls = False

    def test_fourth_connection_refused(self):
        held = [self.srv.connect() for _ in range(3)]
        self.assertTrue(refused_line(self.srv.port).startswith(b"-ERR [SYS/TEMP]"))
        held.pop().close()
        self.srv.connect_when_room()  # one slot free again


class LoopbackExempt(ServerTest):
    tls = False

    def test_default_exempts_loopback(self):
        # pop3spec -j N against a local pop3refd opens many connections from 127.0.0.1: never refused.
        held = [self.srv.connect() for _ in range(40)]
        for c in held:
            self.assertTrue(c.greeting.startswith(b"+OK"))


class PerUser(ServerTest):
    server_args = ("--max-sessions-per-user", "2", "--auth-failure-delay", str(SLOW),
                   "--auth-failure-delay-max", str(SLOW))
    tls = False

    def test_parallel_guessing_bounded(self):
        for user in ("alice", "nobody-at-all"):  # the same for a name that does not exist
            waiting = []
            for _ in range(2):
                c = self.srv.connect()
                self.ok(c.cmd("USER " + user))
                c.send("PASS wrong\r\n")  # the reply waits out the failure delay
                waiting.append(c)
            time.sleep(0.2 * SLOW)
            c = self.srv.connect()
            self.ok(c.cmd("USER " + user))
            t0 = time.time()
            r = c.cmd("PASS wrong")
            self.assertTrue(r.startswith("-ERR [SYS/TEMP]"), r)
            for w in waiting:
                self.err(w.status(), "AUTH")
        # Another user is not affected.
        c = self.srv.connect()
        self.ok(c.cmd("USER bob"))
        self.ok(c.cmd("PASS builder"))


class DelayGrows(ServerTest):
    server_args = ("--auth-failure-delay", "0.1", "--auth-failure-delay-max", "0.4")
    tls = False

    def timed_failure(self, c, user):
        self.ok(c.cmd("USER " + user))
        t0 = time.time()
        self.err(c.cmd("PASS wrong"), "AUTH")
        return time.time() - t0

    def test_doubles_then_caps_and_resets(self):
        c = self.srv.connect()
        took = [self.timed_failure(c, "alice") for _ in range(4)]
        for got, want in zip(took, (0.1, 0.2, 0.4, 0.4)):
            self.assertGreaterEqual(got, want * 0.9, took)
            self.assertLess(got, want + 0.25 * SLOW, took)
        # Per user: another connection (same address) guessing bob still waits the address's count.
        self.assertGreaterEqual(self.timed_failure(self.srv.connect(), "bob"), 0.35)
        # A success forgets the address's and the user's failures.
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS wonderland"))
        c.cmd("QUIT")
        self.assertLess(self.timed_failure(self.srv.connect(), "alice"), 0.1 + 0.25 * SLOW)


class UserNames(ServerTest):
    tls = False

    def test_unsafe_names_touch_nothing(self):
        before = sorted(os.listdir(self.srv.maildirs))
        parent = sorted(os.listdir(self.srv.dir))
        for name in ["../alice", "..", ".", "a/b", "/etc", ".hidden", "alice/../bob", "x" * 250,
                     "alice\\..", "%2e%2e"]:
            c = self.srv.connect()
            r = c.cmd("USER " + name)
            if r.startswith("+OK"):
                self.err(c.cmd("PASS wonderland"), "AUTH")  # like an unknown user
            self.assertEqual(sorted(os.listdir(self.srv.maildirs)), before, name)
            self.assertEqual(sorted(os.listdir(self.srv.dir)), parent, name)
        c = self.srv.connect()
        c.send(b"USER ali\x00ce\r\n")
        self.err(c.status())  # NUL: refused by the command parser


class SameReplyAndTiming(ServerTest):
    tls = False
    server_args = ("--plaintext-auth", "always")  # AUTH PLAIN without TLS, to time it too

    def attempt(self, c, user, password):
        self.ok(c.cmd("USER " + user))
        t0 = time.perf_counter()
        r = c.cmd("PASS " + password)
        return r, time.perf_counter() - t0

    @unittest.skipIf(VALGRIND, "timing under valgrind measures valgrind")
    def test_unknown_user_like_wrong_password(self):
        # R1939-SEC-2 / RFC 1939 §13: neither the reply nor its timing may tell which names exist. With no
        # delay configured, the work done is all there is to measure: medians of interleaved samples.
        c = self.srv.connect()
        unknown, wrong = [], []
        replies = set()
        for i in range(300):
            r1, t1 = self.attempt(c, "nosuchuser", "wonderland")
            r2, t2 = self.attempt(c, "alice", "not-the-password")
            replies.update([r1, r2])
            unknown.append(t1)
            wrong.append(t2)
        self.assertEqual(len(replies), 1, replies)
        mu, mw = statistics.median(unknown), statistics.median(wrong)
        # Loopback round trips are ~50-200 us; a real difference in work (a lookup that skips hashing)
        # would show as a steady shift. Tolerant of noise: 25 % of the median, at least 0.3 ms.
        self.assertLess(abs(mu - mw), max(0.0003, 0.25 * max(mu, mw)),
                        f"median unknown {mu * 1e6:.0f} us, wrong password {mw * 1e6:.0f} us")

    def test_apop_and_auth_plain_same_reply(self):
        c = self.srv.connect()
        r1 = c.cmd("APOP nosuchuser " + "0" * 32)
        r2 = c.cmd("APOP alice " + "0" * 32)
        self.assertEqual(r1, r2)
        r1 = c.cmd("AUTH PLAIN " + b64(b"\0nosuchuser\0wonderland"))
        r2 = c.cmd("AUTH PLAIN " + b64(b"\0alice\0not-the-password"))
        self.assertEqual(r1, r2)

    @unittest.skipIf(VALGRIND, "timing under valgrind measures valgrind")
    def test_auth_plain_timing(self):
        c = self.srv.connect()
        unknown, wrong = [], []
        for i in range(200):
            for user, pw, into in (("nosuchuser", "wonderland", unknown), ("alice", "not-the-password", wrong)):
                t0 = time.perf_counter()
                r = c.cmd("AUTH PLAIN " + b64(b"\0" + user.encode() + b"\0" + pw.encode()))
                into.append(time.perf_counter() - t0)
                self.err(r, "AUTH")
        mu, mw = statistics.median(unknown), statistics.median(wrong)
        self.assertLess(abs(mu - mw), max(0.0003, 0.25 * max(mu, mw)),
                        f"median unknown {mu * 1e6:.0f} us, wrong password {mw * 1e6:.0f} us")


class SecretsNotLogged(ServerTest):
    tls = False
    server_args = ("--plaintext-auth", "always")  # the log level is debug: every command is logged

    def test_no_password_in_the_log(self):
        c = self.srv.connect()
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS wonderland"))
        c.cmd("QUIT")
        c = self.srv.connect()
        self.ok(c.cmd("USER bob"))
        self.err(c.cmd("PASS builder-but-wrong"), "AUTH")
        self.ok(c.cmd("AUTH PLAIN " + b64(b"\0bob\0builder")))
        c.cmd("QUIT")
        c.closed_within(5)  # the session is over, so is its logging
        log = self.srv.log_text()
        self.assertIn("command USER alice", log)  # the log does show commands ...
        for secret in ("wonderland", "builder", b64(b"\0bob\0builder")):
            self.assertNotIn(secret, log)  # ... but never a secret


class Tls(ServerTest):
    server_args = ("--tls-handshake-timeout", "1")

    def handshake(self, **ctx):
        c = client_tls_context(**ctx)
        s = socket.create_connection(("127.0.0.1", self.srv.tls_port), timeout=TIMEOUT)
        try:
            t = c.wrap_socket(s, server_hostname="localhost")
            v = t.version(), t.cipher()[0]
            t.close()
            return v
        except (ssl.SSLError, OSError):
            s.close()
            return None

    def test_versions_and_suites(self):
        self.assertIsNotNone(self.handshake())
        self.assertIsNone(self.handshake(maximum_version=ssl.TLSVersion.TLSv1_1))  # RFC 8314 §4.1
        ok = self.handshake(maximum_version=ssl.TLSVersion.TLSv1_2)
        self.assertIsNotNone(ok)
        self.assertTrue("GCM" in ok[1] or "CHACHA20" in ok[1], ok)
        for weak in ("AES128-SHA", "ECDHE-RSA-AES128-SHA", "AES256-SHA256", "ECDHE-RSA-AES128-SHA256"):
            c = client_tls_context(maximum_version=ssl.TLSVersion.TLSv1_2)
            try:
                c.set_ciphers(weak + ":@SECLEVEL=0")
            except ssl.SSLError:
                continue
            s = socket.create_connection(("127.0.0.1", self.srv.tls_port), timeout=TIMEOUT)
            with self.assertRaises((ssl.SSLError, OSError), msg=weak):
                c.wrap_socket(s, server_hostname="localhost")
            s.close()

    def test_handshake_timeout_implicit_tls(self):
        s = socket.create_connection(("127.0.0.1", self.srv.tls_port), timeout=TIMEOUT)
        t0 = time.time()
        s.settimeout(10)
        self.assertEqual(s.recv(100), b"")  # closed without a byte: no handshake ever started
        self.assertLess(time.time() - t0, 5 * SLOW)
        s.close()

    def test_handshake_timeout_after_stls(self):
        c = self.srv.connect()
        self.ok(c.cmd("STLS"))
        t0 = time.time()
        closed, _ = c.closed_within(10)
        self.assertTrue(closed)
        self.assertLess(time.time() - t0, 5 * SLOW)
        self.assertGreater(time.time() - t0, 0.5)


class Memory(unittest.TestCase):
    """1,000 clients that pipeline and never read: each logs in, asks for a 1 MB message and sends 96 KB more
    commands, and reads nothing. Memory stays bounded per connection (64 KiB of input read ahead, 64 KiB of
    output queued), and the server still serves a new client at once."""

    CLIENTS = 1000

    def setUp(self):
        if VALGRIND:
            self.skipTest("RSS and CPU under valgrind measure valgrind; make asan and make check run this")
        need = self.CLIENTS + 200
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < need:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, 4096), hard), hard))
            except (ValueError, OSError):
                pass
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
            self.skipTest(f"ulimit -n is {soft}; this test needs {need} descriptors (the server inherits it)")
        users = {f"m{i}": f"p{i}" for i in range(self.CLIENTS)}
        users["alice"] = "wonderland"
        self.srv = Server(users=users, maildrops={}, tls=False,
                          args=["--max-per-address", "0", "--log-level", "info"])
        self.addCleanup(self.srv.cleanup)
        big = b"Subject: big\n\n" + b"0123456789abcdef" * 65536  # 1 MiB, LF line ends: none in the body
        size = len(big) + 2 + 1  # as sent: the header's two line ends become CRLF, one final CRLF added
        proto = os.path.join(self.srv.dir, "big")
        with open(proto, "wb") as f:
            f.write(big)
        name = f"1000.M1P1.big,S={len(big)},W={size}"  # sized by name: login need not read 1 MiB
        for u in list(users) + ["alice"]:
            d = os.path.join(self.srv.maildirs, u)
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(d, sub), exist_ok=True)
            if not os.path.exists(os.path.join(d, "cur", name)):
                os.link(proto, os.path.join(d, "cur", name))
        self.srv.start()

    def cpu_ticks(self):
        with open(f"/proc/{self.srv.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def wait_idle(self):
        """Until the server has done all it can (every client's output is full): its CPU time stops growing
        for half a second. At most 30 s."""
        last, deadline = -1, time.time() + 30 * SLOW
        while time.time() < deadline:
            now = self.cpu_ticks()
            if now == last:
                return True
            last = now
            time.sleep(0.5)
        return False

    def test_thousand_unread_pipelines(self):
        base = self.srv.rss_kb()
        socks = []
        try:
            for i in range(self.CLIENTS):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # read nothing, hold little
                s.connect(("127.0.0.1", self.srv.port))
                s.setblocking(False)
                data = f"USER m{i}\r\nPASS p{i}\r\nRETR 1\r\n".encode() + b"NOOP\r\n" * 16000
                try:
                    s.send(data)
                except BlockingIOError:
                    pass
                socks.append(s)
            # Stuck clients cost no CPU: a server that spins on them never goes idle.
            self.assertTrue(self.wait_idle(), "pop3refd keeps using CPU for clients that read nothing")
            grown = self.srv.rss_kb() - base
            if os.environ.get("POP3SPEC_CRASH_STATS"):
                print(f"\n  RSS grew {grown} kB for {self.CLIENTS} clients", flush=True)
            # Liveness: a new client is served at once while the thousand are stuck.
            t0 = time.time()
            c = self.srv.login("alice")
            self.assertTrue(c.cmd("STAT").startswith("+OK"))
            self.assertLess(time.time() - t0, 2 * SLOW)
            # Per connection: 64 KiB of input, 64 KiB of output, and slack for libevent, the session and the
            # allocator. ASan adds shadow memory and redzones.
            per = 200 * (4 if ASAN else 1)
            self.assertLess(grown, self.CLIENTS * per, f"RSS grew {grown} kB for {self.CLIENTS} stuck clients")
            self.assertIsNone(self.srv.proc.poll())
        finally:
            for s in socks:
                s.close()
        self.srv.stop()


def root_skip():
    return None if os.geteuid() == 0 else "not root: privilege dropping needs root"


@unittest.skipIf(root_skip(), root_skip() or "")
class Root(unittest.TestCase):
    def setUp(self):
        self.srv = Server(tls=False)
        self.addCleanup(self.srv.cleanup)

    def run_refd(self, *args):
        return subprocess.run([POP3REFD, "--users", self.srv.users_path, "--maildirs", self.srv.maildirs,
                               "--auth-failure-delay", "0"] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)

    def test_refuses_root_on_public_address(self):
        r = self.run_refd("--listen", "0.0.0.0:0")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"--user", r.stderr)

    def test_allow_root_explicitly(self):
        self.srv.args = ["--listen", "0.0.0.0:0", "--allow-root"]
        self.srv.start()
        self.assertIn("running as root", self.srv.log_text())
        self.srv.stop()

    @unittest.skipIf(VALGRIND, "valgrind cannot remove its vgdb files once the server is another user")
    def test_drops_to_user(self):
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user 'nobody'")
        os.chmod(self.srv.dir, 0o755)
        for dirpath, dirs, files in os.walk(self.srv.maildirs):
            os.chown(dirpath, nobody.pw_uid, nobody.pw_gid)
            for f in files:
                os.chown(os.path.join(dirpath, f), nobody.pw_uid, nobody.pw_gid)
        self.srv.args = ["--user", "nobody"]
        self.srv.start()
        with open(f"/proc/{self.srv.proc.pid}/status") as f:
            status = f.read()
        uid_line = [l for l in status.splitlines() if l.startswith("Uid:")][0]
        self.assertEqual(set(uid_line.split()[1:]), {str(nobody.pw_uid)}, uid_line)
        gid_line = [l for l in status.splitlines() if l.startswith("Groups:")][0]
        self.assertNotIn(" 0", " " + " ".join(gid_line.split()[1:]))
        c = self.srv.login("alice")
        self.assertTrue(c.cmd("STAT").startswith("+OK"))
        c.cmd("QUIT")
        self.srv.stop()

    def test_user_unknown(self):
        r = self.run_refd("--listen", "127.0.0.1:0", "--user", "no-such-user-pop3refd")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"no such user", r.stderr)


if __name__ == "__main__":
    unittest.main()
