"""APOP (RFC 1939 §7) and AUTH (RFC 5034) in pop3refd: every failure variant of its mechanisms, the SCRAM
server signature checked, CRAM-MD5 offered in cleartext, its LOGIN prompts, [IN-USE] for AUTH, and the
failed-authentication delay as a timer. The exchanges every server must get right (a correct APOP, a
replayed digest, "+ " and "*", AUTH after login, 255-octet fields) are the suite's (scenarios/rfc1939/apop,
scenarios/rfc5034/auth): docs/testing.md."""

import hashlib
import hmac
import re
import time

from pop3test import (SLOW, ScramClient, Server, ServerTest, apop_digest, b64, greeting_timestamp, unb64)


def cont(reply):
    """The base64 payload of a "+ " continuation, checked strictly (R5034-AUTH-3, R4648-B64-1..3)."""
    assert reply.startswith("+ "), reply
    payload = reply[2:]
    assert re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", payload) and len(payload) % 4 == 0, reply
    data = unb64(payload)
    assert b64(data) == payload, "non-canonical base64"
    return data


class Apop(ServerTest):
    def test_wrong_digest(self):
        c = self.srv.connect()
        ts = greeting_timestamp(c.greeting)
        d = apop_digest(ts, "wonderland")
        flipped = ("0" if d[0] != "0" else "1") + d[1:]
        self.err(c.cmd(f"APOP alice {flipped}"), "AUTH")  # R1939-APOP-3
        self.err(c.cmd(f"APOP alice {d.upper()}"), "AUTH")  # P-AUTH-4: upper case refused consistently
        self.err(c.cmd(f"APOP nobody {apop_digest(ts, 'wonderland')}"), "AUTH")
        self.err(c.cmd("STAT"))
        self.ok(c.cmd(f"APOP alice {d}"))


class Sasl(ServerTest):
    def tls(self):
        return self.srv.connect(tls=True)

    def test_plain_initial_response_and_case(self):
        c = self.tls()
        self.ok(c.cmd("auth plain " + b64("alice\0alice\0wonderland")))  # R5034-AUTH-21, R4616-PLAIN-4
        self.ok(c.cmd("STAT"))

    def test_plain_failures(self):
        c = self.tls()
        for msg in ["\0alice\0wrong", "\0nobody\0wonderland", "alice\0wonderland", "bob\0alice\0wonderland",
                    "\0alice\0", "\0\0"]:
            self.err(c.cmd("AUTH PLAIN " + b64(msg)), "AUTH")  # R5034-AUTH-12, R4616-PLAIN-1, -4, -5
        self.err(c.cmd("AUTH PLAIN ="))  # R5034-AUTH-6: an empty response, then an authentication failure
        self.ok(c.cmd("USER alice"))  # R5034-AUTH-16
        self.ok(c.cmd("PASS wonderland"))

    def test_unknown_user_same_reply(self):
        c = self.tls()
        a = c.cmd("AUTH PLAIN " + b64("\0nobody\0x"))
        b = c.cmd("AUTH PLAIN " + b64("\0alice\0x"))
        self.assertEqual(a, b)  # R4422-SASL-2

    def test_bad_base64(self):
        c = self.tls()
        good = b64("\0alice\0wonderland")
        for bad in ["!!!", good[:4] + " " + good[4:], "=" + good, good[:8] + "=" + good[8:], good[:-1]]:
            self.err(c.cmd("AUTH PLAIN " + bad))  # R5034-AUTH-8, -9
        self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
        self.err(c.cmd("%%%%"))  # R5034-AUTH-8 on a continuation line
        self.err(c.cmd("STAT"))  # still AUTHORIZATION
        self.ok(c.cmd("AUTH PLAIN " + good))

    def test_unsupported(self):
        c = self.tls()
        self.err(c.cmd("AUTH FOOBAR"))  # R5034-AUTH-2
        self.err(c.cmd("AUTH " + "X" * 30))
        self.ok(c.cmd("USER alice"))

    def test_login(self):
        c = self.tls()
        self.assertEqual(cont(c.cmd("AUTH LOGIN")), b"Username:")  # P-AUTH-2
        self.assertEqual(cont(c.cmd(b64("alice"))), b"Password:")
        self.ok(c.cmd(b64("wonderland")))
        self.ok(c.cmd("STAT"))

    def test_login_initial_response(self):
        c = self.tls()
        self.assertEqual(cont(c.cmd("AUTH LOGIN " + b64("alice"))), b"Password:")
        self.ok(c.cmd(b64("wonderland")))

    def test_login_wrong(self):
        c = self.tls()
        cont(c.cmd("AUTH LOGIN"))
        cont(c.cmd(b64("alice")))
        self.err(c.cmd(b64("nope")), "AUTH")

    def cram(self, c, user, secret):
        chal = cont(c.cmd("AUTH CRAM-MD5"))
        self.assertRegex(chal.decode(), r"^<[^<>@]+@[^<>]+>$")  # R2195-CRAM-1
        digest = hmac.new(secret.encode(), chal, hashlib.md5).hexdigest()
        return chal, c.cmd(b64(f"{user} {digest}"))

    def test_cram_md5_cleartext(self):
        c = self.srv.connect()  # not a plaintext mechanism: offered without TLS
        chal1, r = self.cram(c, "alice", "wrong")
        self.err(r, "AUTH")
        chal2, r = self.cram(c, "alice", "wonderland")
        self.ok(r)  # R2195-CRAM-3
        self.assertNotEqual(chal1, chal2)  # R2195-CRAM-2
        self.ok(c.cmd("STAT"))

    def test_cram_md5_initial_response(self):
        c = self.srv.connect()
        self.err(c.cmd("AUTH CRAM-MD5 dGVzdA=="))  # R5034-AUTH-7
        self.ok(c.cmd("USER alice"))

    def scram(self, c, hashname, mech, password="wonderland", user="alice", initial=True, authzid=""):
        sc = ScramClient(user, password, hashname, authzid)
        if initial:
            r = c.cmd(f"AUTH {mech} {b64(sc.first())}")
        else:
            self.assertEqual(c.cmd(f"AUTH {mech}"), "+ ")
            r = c.cmd(b64(sc.first()))
        server_first = cont(r)
        r = c.cmd(b64(sc.final(server_first)))
        if not r.startswith("+ "):
            return r
        self.assertTrue(sc.verify(cont(r)))  # the server proves it knows the secret
        return c.cmd("")  # R5034-AUTH-14: final data in "+ ", then an empty response, then +OK

    def test_scram_sha1(self):
        c = self.srv.connect()
        self.ok(self.scram(c, "sha1", "SCRAM-SHA-1"))
        self.ok(c.cmd("STAT"))

    def test_scram_sha256(self):
        c = self.srv.connect()
        self.ok(self.scram(c, "sha256", "SCRAM-SHA-256", initial=False))
        self.ok(c.cmd("STAT"))

    def test_scram_wrong(self):
        c = self.srv.connect()
        self.err(self.scram(c, "sha256", "SCRAM-SHA-256", password="wrong"), "AUTH")
        self.err(self.scram(c, "sha256", "SCRAM-SHA-256", user="nobody"), "AUTH")
        self.err(self.scram(c, "sha256", "SCRAM-SHA-256", authzid="bob"), "AUTH")
        self.ok(self.scram(c, "sha1", "SCRAM-SHA-1"))

    def test_auth_in_use(self):
        a = self.srv.login()
        c = self.tls()
        self.err(c.cmd("AUTH PLAIN " + b64("\0alice\0wonderland")), "IN-USE")
        a.close()

    def test_too_long_continuation(self):
        c = self.tls()
        self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
        c.send("A" * 5000 + "\r\n")
        self.err(c.status())
        self.ok(c.cmd("USER alice"))  # the tail of the line was not taken as a command


class FailureDelay(ServerTest):
    server_args = ("--auth-failure-delay", "1")

    def test_delay_is_a_timer(self):
        c = self.srv.connect()
        other = self.srv.connect()
        c.cmd("USER alice")
        t0 = time.time()
        c.send("PASS wrong\r\n")
        # While c waits, another session is served at once: the delay is a timer, not a sleep.
        t1 = time.time()
        self.assertIn("TOP", other.capa())
        self.assertLess(time.time() - t1, 0.8 * SLOW if SLOW > 1 else 0.8)
        self.err(c.status(), "AUTH")
        self.assertGreaterEqual(time.time() - t0, 0.9)
        # Pipelined commands after the failure wait their turn, in order.
        c.send("USER alice\r\nPASS wonderland\r\nSTAT\r\n")
        self.ok(c.status())
        self.ok(c.status())
        self.ok(c.status())
