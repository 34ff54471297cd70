"""Bad input and hard conditions: pipelining, over-long lines, NUL and control octets, bare LF, half-close, a
client that stops reading, autologout, SIGTERM, and start-up errors (users file, flags). Pipelined batches
answered in order are the suite's (scenarios/rfc2449/pipe): docs/testing.md."""

import os
import signal
import socket
import subprocess
import tempfile
import time

from pop3test import (POP3REFD, SLOW, TIMEOUT, VALGRIND, Server, ServerTest, as_sent, MSG_DOTS)


class Pipelining(ServerTest):
    def test_bare_lf(self):
        c = self.srv.connect()
        c.send("USER alice\nPASS wonderland\nSTAT\n")  # P-LINE-1
        self.ok(c.status())
        self.ok(c.status())
        self.ok(c.status())


class BadInput(ServerTest):
    def test_line_limits(self):
        c = self.srv.connect()
        self.ok(c.cmd("USER " + "u" * 248))  # 255 octets with CRLF: accepted (R2449-LEN-1)
        self.err(c.cmd("USER " + "u" * 249))  # 256: too long
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS wonderland"))

    def test_overlong_line_not_executed(self):
        c = self.srv.login()
        # P-LINE-2: the excess is discarded up to the line end, never run as a command ("DELE 1").
        c.send("NOOP" + " " * 300 + "DELE 1\r\nSTAT\r\n")
        self.err(c.status())
        self.assertRegex(c.status(), r"^\+OK 3 ")
        c.send("NOOP" + "A" * 100000 + "\r\nNOOP\r\n")
        self.err(c.status())
        self.ok(c.status())
        self.assertTrue(c.nothing_within(0.3))

    def test_nul_and_control(self):
        c = self.srv.connect()
        for bad in [b"USER ali\0ce\r\n", b"US\0ER alice\r\n", b"USER\talice\r\n", b"USER a\rlice\r\n",
                    b"\x7f\r\n", b"\r\n"]:
            c.send(bad)
            self.err(c.status())  # P-LINE-3
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS wonderland"))

    def test_8bit_and_garbage(self):
        c = self.srv.connect()
        c.send(b"\xff\xfe\xfd garbage \x80\r\n")
        self.err(c.status())
        c.send(os.urandom(64).replace(b"\n", b"x") + b"\r\n")
        self.err(c.status())
        self.ok(c.cmd("USER alice"))

    def test_half_close(self):
        c = self.srv.login()
        c.send("STAT\r\nRETR 1\r\n")
        c.sock.shutdown(socket.SHUT_WR)  # the client is done sending, still reading
        self.assertRegex(c.status(), r"^\+OK 3 ")
        self.ok(c.status())
        c.body()
        closed, data = c.closed_within(5)
        self.assertTrue(closed)
        self.assertEqual(data, b"")
        self.assertEqual(len(self.srv.messages("alice")), 3)

    def test_silent_clients_do_not_block(self):
        idle = [socket.create_connection(("127.0.0.1", self.srv.port)) for _ in range(20)]
        tls_idle = [socket.create_connection(("127.0.0.1", self.srv.tls_port)) for _ in range(5)]
        c = self.srv.login()  # one event loop: nobody waits for anybody
        self.ok(c.cmd("STAT"))
        for s in idle + tls_idle:
            s.close()


class StopReading(ServerTest):
    maildrops = {"alice": [("2000.big.test", b"Subject: big\n\n" + (b"x" * 998 + b"\n") * 4096)]}  # ~4 MB

    def test_client_stops_reading(self):
        c = self.srv.login()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        before = self.srv.rss_kb()
        c.send("RETR 1\r\n" * 40)  # 160 MB of replies, never read
        time.sleep(1.5 * SLOW)
        other = self.srv.connect()  # the server still serves others
        self.assertIn("TOP", other.capa())
        if not VALGRIND:
            grown = self.srv.rss_kb() - before
            self.assertLess(grown, 16 * 1024, f"server grew by {grown} kB for a client that does not read")
        c.abort()
        d = self.srv.login_when_free()  # the lock went with the dropped session
        self.assertEqual(d.cmd("LIST 1").split()[:2], ["+OK", "1"])


class Autologout(ServerTest):
    server_args = ("--idle-timeout", "1")

    def test_autologout(self):
        c = self.srv.login()
        self.ok(c.cmd("DELE 1"))
        closed, data = c.closed_within(4 * SLOW)
        self.assertTrue(closed)
        self.assertEqual(data, b"")  # R1939-TIMER-4: no reply
        d = self.srv.login()
        self.assertEqual(d.cmd("STAT").split()[1], "3")  # R1939-TIMER-3: no UPDATE
        self.assertIn("autologout", self.srv.log_text())

    def test_activity_resets_timer(self):
        c = self.srv.connect()
        for _ in range(4):
            time.sleep(0.5)
            self.assertIn("TOP", c.capa())  # R1939-TIMER-2


class Stop(ServerTest):
    def test_sigterm(self):
        c = self.srv.login()
        self.ok(c.cmd("DELE 1"))
        self.ok(c.cmd("DELE 2"))
        self.srv.stop()  # SIGTERM: exit 0, sessions end without UPDATE
        closed, _ = c.closed_within(5)
        self.assertTrue(closed)
        self.assertEqual(len(self.srv.messages("alice")), 3)
        self.assertIn("without UPDATE", self.srv.log_text())

    def test_sigint(self):
        self.srv.login()
        self.srv.stop(signal.SIGINT)


def run_server(args, timeout=TIMEOUT):
    return subprocess.run([POP3REFD] + args, capture_output=True, text=True, timeout=timeout)


class StartupErrors(ServerTest):
    """Bad configuration: a clear message (file:line for the users file) and exit status 2."""

    def users_file(self, text):
        d = tempfile.mkdtemp(prefix="pop3refd-e2e-users-", dir=self.srv.dir)
        p = os.path.join(d, "users")
        with open(p, "w") as f:
            f.write(text)
        return p

    def start_with(self, users, *extra):
        return run_server(["--listen", "127.0.0.1:0", "--users", users, "--maildirs", self.srv.maildirs] +
                          list(extra))

    def test_bad_users_files(self):
        cases = [
            ("alice:x\n# ok\nbroken line\n", ":3: "),
            ("alice:x\nalice:y\n", ":2: "),
            (":nopassword\n", ":1: "),
            ("bob:\n", ":1: "),
            ("../evil:x\n", ":1: "),
            ("a\x01b:x\n", ":1: "),
            ("# only comments\n\n", ": no users"),
        ]
        for text, want in cases:
            p = self.users_file(text)
            r = self.start_with(p)
            self.assertEqual(r.returncode, 2, (text, r.stderr))
            self.assertIn(p + want, r.stderr, (text, r.stderr))
            self.assertEqual(r.stdout, "")

    def test_missing_users_file(self):
        r = self.start_with("/nonexistent/users")
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/users", r.stderr)

    def test_crlf_users_file(self):
        p = self.users_file("alice:wonderland\r\n")
        s = Server(workdir=self.srv.dir, args=["--users", p])
        self.extra.append(s)
        s.start()
        s.login()

    def test_usage_errors(self):
        m = self.srv.maildirs
        u = self.srv.users_path
        for args in [[], ["--listen", "127.0.0.1:0"], ["--listen", "127.0.0.1:0", "--users", u],
                     ["--listen-tls", "127.0.0.1:0", "--users", u, "--maildirs", m],
                     ["--listen", "nonsense", "--users", u, "--maildirs", m],
                     ["--listen", "127.0.0.1:0", "--users", u, "--maildirs", "/nonexistent"],
                     ["--listen", "127.0.0.1:0", "--users", u, "--maildirs", m, "--plaintext-auth", "sometimes"],
                     ["--listen", "127.0.0.1:0", "--users", u, "--maildirs", m, "--idle-timeout", "x"],
                     ["--listen", "127.0.0.1:0", "--users", u, "--maildirs", m, "--bogus"],
                     ["--listen", "127.0.0.1:0", "--users", u, "--maildirs", m, "--cert", "/nonexistent.pem",
                      "--key", "/nonexistent.key"]]:
            r = run_server(args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertTrue(r.stderr.startswith("pop3refd: ") or "usage" in r.stderr, r.stderr)

    def test_port_in_use(self):
        r = run_server(["--listen", f"127.0.0.1:{self.srv.port}", "--users", self.srv.users_path, "--maildirs",
                        self.srv.maildirs])
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot listen", r.stderr)

    def test_version_and_help(self):
        r = run_server(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("pop3refd "))
        r = run_server(["--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("--plaintext-auth", r.stdout)


class TwoListeners(ServerTest):
    server_args = ("--listen", "127.0.0.1:0")

    def test_repeated_listen(self):
        # Server() reads only the first "listening pop3" line; the extra one must be there too.
        self.assertTrue(self.srv.port)


class ConnectionLimit(ServerTest):
    server_args = ("--max-connections", "2")

    def test_limit(self):
        a = self.srv.connect()
        b = self.srv.connect()
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=TIMEOUT)
        data = s.recv(512)
        self.assertTrue(data.startswith(b"-ERR [SYS/TEMP] "), data)
        s.close()
        a.cmd("QUIT")
        a.closed_within(5)
        a.close()
        self.srv.connect_when_room()  # room again
        b.close()
