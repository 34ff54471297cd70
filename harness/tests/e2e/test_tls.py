"""STLS (RFC 2595), implicit TLS (RFC 8314) and the --plaintext-auth modes of pop3refd: protocol versions,
close_notify, its certificate chain, the modes' CAPA and refusals. STLS after login and commands injected
before the handshake are the suite's (scenarios/rfc2595/stls): docs/testing.md."""

import ssl

from pop3test import VALGRIND, Conn, Server, ServerTest, b64, client_tls_context


def sasl_list(caps):
    for c in caps:
        if c.startswith("SASL "):
            return c.split()[1:]
    return []


class Stls(ServerTest):
    def test_stls(self):
        c = self.srv.connect()
        self.assertIn("STLS", c.capa())  # R2595-STLS-2
        self.ok(c.cmd("STLS"))
        c.starttls()  # R2595-STLS-5: nothing but the handshake follows the +OK
        self.assertTrue(c.tls)
        caps = c.capa()
        self.assertNotIn("STLS", caps)  # R2595-STLS-2
        self.assertIn("PLAIN", sasl_list(caps))  # R5034-AUTH-19, R2595-STLS-7
        self.assertIn("LOGIN", sasl_list(caps))
        self.err(c.cmd("STAT"))  # R2595-STLS-6: still AUTHORIZATION
        self.err(c.cmd("STLS"))  # R2595-STLS-4: only once
        self.ok(c.cmd("AUTH PLAIN " + b64("\0alice\0wonderland")))
        self.ok(c.cmd("STAT"))
        self.ok(c.cmd("QUIT"))

    def test_injected_user_forgotten(self):
        c = self.srv.connect()
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("STLS"))
        c.starttls()
        self.err(c.cmd("PASS wonderland"))  # R2595-STLS-8, P-STLS-2
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS wonderland"))

    def test_handshake_garbage(self):
        c = self.srv.connect()
        self.ok(c.cmd("STLS"))
        c.send(b"this is not a ClientHello\r\n" * 4)
        closed, _ = c.closed_within(5)
        self.assertTrue(closed)
        d = self.srv.connect()  # the server goes on
        self.assertIn("TOP", d.capa())

    def test_tls12_and_close_notify(self):
        ctx = client_tls_context(maximum_version=ssl.TLSVersion.TLSv1_2)
        c = self.srv.connect(tls=True, ctx=ctx)
        self.assertEqual(c.sock.version(), "TLSv1.2")  # R8314-TLS-4
        self.ok(c.cmd("QUIT"))
        # R8314-TLS-3: close_notify, so unwrap() completes instead of failing on a truncated stream.
        raw = c.sock.unwrap()
        raw.close()

    def test_old_tls_refused(self):
        ctx = client_tls_context()
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            self.skipTest("this OpenSSL cannot offer TLS 1.1")
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            self.srv.connect(tls=True, ctx=ctx)  # R8314-TLS-6


class ImplicitTls(ServerTest):
    # The handshake first, STLS neither listed nor taken on the pop3s port, AUTHORIZATION after the handshake:
    # the suite's (scenarios/rfc8314/tls/handshake-at-connect, authorization-after-handshake,
    # rfc2595/stls/not-listed-on-tls-port, refused-on-tls-port). Here only pop3refd's choice in compat mode.
    def test_plain_offered_on_the_tls_port(self):
        c = self.srv.connect(tls=True)
        self.assertIn("PLAIN", sasl_list(c.capa()))
        self.ok(c.cmd("AUTH PLAIN " + b64("\0alice\0wonderland")))


class NoCertificate(ServerTest):
    tls = False

    def test_no_stls(self):
        c = self.srv.connect()
        self.assertNotIn("STLS", c.capa())  # R8314-TLS-8
        self.err(c.cmd("STLS"))  # R2595-STLS-9
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS wonderland"))


class TlsOnly(ServerTest):
    server_args = ("--plaintext-auth", "tls-only")

    def test_cleartext_refused(self):
        c = self.srv.connect()
        caps = c.capa()
        self.assertNotIn("USER", caps)  # R2595-POL-1
        self.assertNotIn("PLAIN", sasl_list(caps))
        self.assertIn("STLS", caps)
        r = c.cmd("USER alice")
        self.err(r)
        self.assertNotIn("[AUTH]", r)  # USER never carries [AUTH] (R3206-AUTH-2)
        self.err(c.cmd("PASS wonderland"))
        good = c.cmd("AUTH PLAIN " + b64("\0alice\0wonderland"))
        bad = c.cmd("AUTH PLAIN " + b64("\0alice\0wrong"))
        self.assertEqual(good, bad)  # R8314-TLS-10
        self.err(good, "AUTH")
        self.err(c.cmd("AUTH LOGIN"))  # R2595-POL-3
        self.err(c.cmd("APOP alice 0123456789abcdef0123456789abcdef"), "AUTH")
        self.ok(c.cmd("STLS"))
        c.starttls()
        caps = c.capa()
        self.assertIn("USER", caps)
        self.assertIn("PLAIN", sasl_list(caps))
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS wonderland"))

    def test_capa_consistent_after_login(self):
        c = self.srv.connect(tls=True)
        before = set(c.capa())
        c.cmd("USER alice")
        c.cmd("PASS wonderland")
        self.assertEqual(before, set(c.capa()))


class Always(ServerTest):
    server_args = ("--plaintext-auth", "always")

    def test_plain_in_cleartext(self):
        c = self.srv.connect()
        self.assertIn("PLAIN", sasl_list(c.capa()))
        self.ok(c.cmd("AUTH PLAIN " + b64("\0alice\0wonderland")))


class Compat(ServerTest):
    def test_default_mode(self):
        c = self.srv.connect()
        self.err(c.cmd("AUTH PLAIN " + b64("\0alice\0wonderland")), "AUTH")  # R5034-AUTH-20
        self.err(c.cmd("AUTH LOGIN"))
        self.ok(c.cmd("USER alice"))  # R2595-POL-2
        self.ok(c.cmd("PASS wonderland"))


class Certificate(ServerTest):
    def test_chain_verifies(self):
        import os
        from pop3test import ROOT, certificate
        ca = os.path.join(ROOT, "fixtures", "generated", "tls", "ca.pem")
        if not os.path.exists(ca) or not certificate()[0].startswith(os.path.dirname(ca)):
            self.skipTest("no generated test CA (make fixtures)")
        ctx = ssl.create_default_context(cafile=ca)  # R8314-TLS-13: chain, dates and host name
        c = Conn(self.srv.tls_port, tls=True, ctx=ctx)
        self.assertTrue(c.greeting.startswith(b"+OK"))
        d = self.srv.connect()
        self.ok(d.cmd("STLS"))
        d.starttls(ctx)
        self.assertIn("TOP", d.capa())

    def test_close_notify_on_autologout(self):
        # One second, but four under valgrind: there a loaded machine can spend a second on the handshake,
        # and the autologout would then come before the greeting is read.
        idle = 4 if VALGRIND else 1
        s = Server(workdir=self.srv.dir, args=["--idle-timeout", str(idle)])
        self.extra.append(s)
        s.start()
        c = s.connect(tls=True)
        c.sock.settimeout(idle + 5)
        self.assertEqual(c.sock.recv(10), b"")  # a clean TLS EOF: close_notify, not a truncated stream
