"""pop3refd's own choices in each command and state, where RFC 1939/2449 allow several behaviours (docs/server.md):
the greeting's timestamp, strict syntax (extra arguments, doubled spaces, trailing blanks are -ERR), the same
refusal for an unknown user and a wrong password, case-sensitive user names, its CAPA list in each state.
What every server must do on the wire is the suite's job (scenarios/), not this file's: docs/testing.md."""

from pop3test import DEFAULT_MAILDROP, MSG_CRLF, MSG_DOTS, MSG_NOEOL, ServerTest, as_sent, greeting_timestamp


class Authorization(ServerTest):
    def test_greeting_timestamp_form(self):
        # Choice: <pid.clock.counter@host.domain>, a dotted domain (the suite accepts any <...@...>).
        c = self.srv.connect()
        self.assertRegex(greeting_timestamp(c.greeting.decode()), r"^<[^<>@]+@[^<>]+\.[^<>]+>$")

    def test_timestamps_differ(self):
        # Twenty at once, pairwise distinct (the suite compares ten against the first).
        conns = [self.srv.connect() for _ in range(20)]
        self.assertEqual(len({greeting_timestamp(c.greeting) for c in conns}), 20)  # R1939-GREET-3

    def test_unknown_and_malformed(self):
        # Choice: arguments a command does not take are -ERR, and so are LAST and an empty line. APOP without
        # its digest is a syntax error every server must refuse (R1939-GEN-10), but no scenario sends it and
        # no fault of pop3refd-faults accepts it, so a scenario for it could not be shown to fail: it stays.
        c = self.srv.connect()
        for cmd in ["LAST", "", "STLS now", "CAPA x", "QUIT now", "APOP alice"]:
            self.err(c.cmd(cmd))
        st, _ = c.multi("CAPA")  # the session goes on in the same state
        self.ok(st)
        self.err(c.cmd("STAT"))

    def test_wrong_password_and_unknown_user(self):
        # Choice: USER always +OK, and one refusal, byte for byte, for an unknown user and a wrong password.
        c = self.srv.connect()
        self.ok(c.cmd("USER nosuchuser"))
        r1 = c.cmd("PASS whatever")
        self.err(r1, "AUTH")
        self.ok(c.cmd("USER alice"))
        r2 = c.cmd("PASS wrong")
        self.assertEqual(r1, r2)
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS wonderland"))

    def test_password_with_spaces(self):
        # The suite's accounts are the target's; only here is there a password with spaces to send.
        c = self.srv.connect()
        self.ok(c.cmd("USER carol"))
        self.ok(c.cmd("PASS pass with spaces"))  # R1939-PASS-4

    def test_user_is_case_sensitive_name(self):
        c = self.srv.connect()
        self.ok(c.cmd("USER ALICE"))
        self.err(c.cmd("PASS wonderland"), "AUTH")


class Transaction(ServerTest):
    def setUp(self):
        super().setUp()
        self.c = self.srv.login()

    def test_numbers_strict(self):
        # Choice: leading zeros are read, signs, a second argument and numbers past 2^64 are -ERR.
        self.assertEqual(self.c.cmd("LIST 02"), f"+OK 2 {len(as_sent(MSG_CRLF))}")
        for bad in ["LIST -1", "LIST +1", "LIST 99999999999999999999999", "LIST 1 2", "RETR 1 2", "TOP 1",
                    "TOP 1 -1", "TOP x 1"]:
            self.err(self.c.cmd(bad))
        self.ok(self.c.cmd("NOOP"))

    def test_top_counts(self):
        # Exact TOP output on alice's three messages, a line count past 2^64 included.
        hdr = MSG_DOTS.split(b"\n\n")[0].split(b"\n")
        st, lines = self.c.multi("TOP 1 2")
        self.assertEqual(lines, hdr + [b"", b"first", b".."])
        st, lines = self.c.multi("TOP 3 99999999999999999999999")
        self.assertEqual(b"".join(l + b"\r\n" for l in lines), as_sent(MSG_NOEOL))
        st, lines = self.c.multi("LIST")
        want = [f"{i + 1} {len(as_sent(m))}".encode() for i, (_, m) in enumerate(DEFAULT_MAILDROP)]
        self.assertEqual(lines, want)  # sizes as sent: LF-stored, CRLF-stored and without a final newline

    def test_capa_after_login(self):
        caps = self.c.capa()
        self.assertTrue(any(c.startswith("SASL ") for c in caps))  # choice: still listed after login
        self.assertTrue(any(c.startswith("IMPLEMENTATION ") for c in caps))

    def test_syntax_strictness(self):
        self.err(self.c.cmd("LIST  1"))  # choice: a doubled space is -ERR (the suite allows either)
        self.err(self.c.cmd("STAT "))
        self.ok(self.c.cmd("STAT"))


class Capabilities(ServerTest):
    def test_capa_before_login(self):
        # The default (compat) configuration's list; no password mechanism in cleartext.
        c = self.srv.connect()
        caps = c.capa()
        for cap in ["TOP", "USER", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS", "EXPIRE NEVER",
                    "LOGIN-DELAY 0"]:
            self.assertIn(cap, caps)
        sasl = [c for c in caps if c.startswith("SASL ")][0].split()[1:]
        self.assertNotIn("PLAIN", sasl)
        self.assertNotIn("LOGIN", sasl)
        self.assertIn("CRAM-MD5", sasl)
        self.assertIn("SCRAM-SHA-256", sasl)
        c.cmd("USER alice")
        c.cmd("PASS wonderland")
        self.assertEqual(set(caps) - {"STLS"}, set(c.capa()))  # choice: only STLS goes

    def test_auth_lists_mechanisms(self):
        # Choice: AUTH without an argument lists the mechanisms, the same as CAPA's SASL line.
        c = self.srv.connect()
        st, lines = c.multi("AUTH")
        self.ok(st)
        sasl = [x for x in c.capa() if x.startswith("SASL ")][0].split()[1:]
        self.assertEqual([l.decode() for l in lines], sasl)


class EmptyMaildrop(ServerTest):
    maildrops = {"alice": []}

    def test_missing_maildir_created(self):
        c = self.srv.login("bob")  # listed in users, no Maildir yet
        self.assertEqual(c.cmd("STAT"), "+OK 0 0")
