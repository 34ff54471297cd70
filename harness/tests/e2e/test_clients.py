"""Real clients against pop3refd: Python's poplib (USER/PASS, APOP, STLS, POP3_SSL) and curl's pop3://."""

import poplib
import shutil
import subprocess
import unittest

from pop3test import DEFAULT_MAILDROP, TIMEOUT, ServerTest, as_sent, client_tls_context


class Poplib(ServerTest):
    def check_mailbox(self, p):
        count, size = p.stat()
        self.assertEqual(count, 3)
        self.assertEqual(size, sum(len(as_sent(m)) for _, m in DEFAULT_MAILDROP))
        resp, listing, _ = p.list()
        self.assertEqual(len(listing), 3)
        for i, (_, m) in enumerate(DEFAULT_MAILDROP):
            resp, lines, octets = p.retr(i + 1)  # poplib un-stuffs
            self.assertEqual(b"".join(l + b"\r\n" for l in lines), as_sent(m))
        resp, uids, _ = p.uidl()
        self.assertEqual(len(uids), 3)
        resp, lines, _ = p.top(1, 0)
        self.assertTrue(lines[0].startswith(b"From:"))

    def test_user_pass(self):
        p = poplib.POP3("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        self.assertIn("STLS", p.capa())
        p.user("alice")
        p.pass_("wonderland")
        self.check_mailbox(p)
        p.dele(3)
        p.quit()
        self.assertEqual(len(self.srv.messages("alice")), 2)

    def test_apop(self):
        p = poplib.POP3("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        p.apop("alice", "wonderland")
        self.check_mailbox(p)
        p.quit()

    def test_stls(self):
        p = poplib.POP3("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        p.stls(context=client_tls_context())
        self.assertNotIn("STLS", p.capa())
        p.user("alice")
        p.pass_("wonderland")
        self.check_mailbox(p)
        p.quit()

    def test_pop3s(self):
        p = poplib.POP3_SSL("127.0.0.1", self.srv.tls_port, context=client_tls_context(), timeout=TIMEOUT)
        p.user("alice")
        p.pass_("wonderland")
        self.check_mailbox(p)
        p.quit()

    def test_errors(self):
        p = poplib.POP3("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        p.user("alice")
        with self.assertRaises(poplib.error_proto):
            p.pass_("wrong")
        p.user("alice")
        p.pass_("wonderland")
        with self.assertRaises(poplib.error_proto):
            p.retr(99)
        p.quit()


@unittest.skipUnless(shutil.which("curl"), "curl not installed")
class Curl(ServerTest):
    def curl(self, url, *extra):
        r = subprocess.run(["curl", "-sS", "--max-time", str(int(TIMEOUT)), "-u", "alice:wonderland", url] +
                           list(extra), capture_output=True, timeout=TIMEOUT + 5)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r.stdout

    def test_list(self):
        out = self.curl(f"pop3://127.0.0.1:{self.srv.port}/")
        want = "".join(f"{i + 1} {len(as_sent(m))}\r\n" for i, (_, m) in enumerate(DEFAULT_MAILDROP))
        self.assertEqual(out.decode(), want)

    def test_retrieve(self):
        for i, (_, m) in enumerate(DEFAULT_MAILDROP):
            out = self.curl(f"pop3://127.0.0.1:{self.srv.port}/{i + 1}")
            self.assertEqual(out, as_sent(m))

    def test_stls_and_pop3s(self):
        out = self.curl(f"pop3://127.0.0.1:{self.srv.port}/1", "--ssl-reqd", "-k")
        self.assertEqual(out, as_sent(DEFAULT_MAILDROP[0][1]))
        out = self.curl(f"pop3s://127.0.0.1:{self.srv.tls_port}/2", "-k")
        self.assertEqual(out, as_sent(DEFAULT_MAILDROP[1][1]))

    def test_sasl_mechanisms(self):
        for mech in ["CRAM-MD5", "PLAIN", "LOGIN"]:
            out = self.curl(f"pop3://127.0.0.1:{self.srv.port}/", "--login-options", f"AUTH={mech}",
                            "--ssl-reqd", "-k")
            self.assertTrue(out.startswith(b"1 "), (mech, out))
