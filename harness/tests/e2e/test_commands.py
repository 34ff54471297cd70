"""Each RFC 1939 command in each state, message content, stuffing, sizes, TOP, UIDL and CAPA."""

import re

from pop3test import (DEFAULT_MAILDROP, MSG_CRLF, MSG_DOTS, MSG_NOEOL, ServerTest, as_sent,
                      greeting_timestamp)

TRANSACTION_ONLY = ["STAT", "LIST", "LIST 1", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 0", "UIDL", "UIDL 1"]
AUTHORIZATION_ONLY = ["USER alice", "PASS wonderland", "APOP alice 0123456789abcdef0123456789abcdef",
                      "AUTH CRAM-MD5", "STLS"]


class Authorization(ServerTest):
    def test_greeting(self):
        c = self.srv.connect()
        g = c.greeting.decode()
        self.assertTrue(g.startswith("+OK "), g)  # R1939-GREET-1
        ts = greeting_timestamp(g)
        self.assertRegex(ts, r"^<[^<>@]+@[^<>]+\.[^<>]+>$")  # R1939-GREET-2
        self.assertEqual(g.count("<"), 1)  # R2449-GRAM-1
        self.assertTrue(c.nothing_within(0.3))  # R1939-GEN-2: one line, then silence

    def test_timestamps_differ(self):
        seen = set()
        conns = [self.srv.connect() for _ in range(20)]
        for c in conns:
            seen.add(greeting_timestamp(c.greeting))
        self.assertEqual(len(seen), 20)  # R1939-GREET-3

    def test_transaction_commands_refused(self):
        c = self.srv.connect()
        for cmd in TRANSACTION_ONLY:
            self.err(c.cmd(cmd))  # R1939-STATE-2
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS wonderland"))  # the session is still usable
        self.ok(c.cmd("STAT"))

    def test_unknown_and_malformed(self):
        c = self.srv.connect()
        for cmd in ["XYZZY", "LAST", "", "USER", "APOP alice", "STLS now", "CAPA x", "QUIT now"]:
            self.err(c.cmd(cmd))  # R1939-GEN-10
        st, _ = c.multi("CAPA")  # the session goes on in the same state
        self.ok(st)
        self.err(c.cmd("STAT"))

    def test_quit_in_authorization(self):
        c = self.srv.connect()
        self.ok(c.cmd("QUIT"))  # R1939-QUIT-1
        closed, data = c.closed_within(5)
        self.assertTrue(closed)
        self.assertEqual(data, b"")

    def test_pass_needs_user(self):
        c = self.srv.connect()
        self.err(c.cmd("PASS wonderland"))  # R1939-PASS-1
        self.ok(c.cmd("USER alice"))
        self.err(c.cmd("CAPA x"))
        self.err(c.cmd("PASS wonderland"))  # not immediately after USER any more
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS wonderland"))

    def test_wrong_password_and_unknown_user(self):
        c = self.srv.connect()
        self.ok(c.cmd("USER nosuchuser"))  # R1939-USER-2, R1939-SEC-2: no name oracle
        r1 = c.cmd("PASS whatever")
        self.err(r1, "AUTH")  # R3206-CAP-1
        self.ok(c.cmd("USER alice"))
        r2 = c.cmd("PASS wrong")
        self.err(r2, "AUTH")
        self.assertEqual(r1, r2)  # R4422-SASL-2: the same refusal
        self.err(c.cmd("STAT"))  # R1939-PASS-3: still AUTHORIZATION
        self.ok(c.cmd("USER alice"))
        self.ok(c.cmd("PASS wonderland"))  # R1939-AUTHZ-5

    def test_password_with_spaces(self):
        c = self.srv.connect()
        self.ok(c.cmd("USER carol"))
        self.ok(c.cmd("PASS pass with spaces"))  # R1939-PASS-4

    def test_case_insensitive(self):
        c = self.srv.connect()
        self.ok(c.cmd("user alice"))
        self.ok(c.cmd("Pass wonderland"))  # R1939-GEN-3
        self.ok(c.cmd("stat"))
        self.ok(c.cmd("Uidl 1"))
        self.ok(c.cmd("quit"))

    def test_user_is_case_sensitive_name(self):
        c = self.srv.connect()
        self.ok(c.cmd("USER ALICE"))
        self.err(c.cmd("PASS wonderland"), "AUTH")

    def test_long_arguments(self):
        c = self.srv.connect()
        self.ok(c.cmd("USER " + "a" * 40))  # R1939-GEN-5
        self.ok(c.cmd("USER " + "a" * 248))  # R2449-LEN-1: a 255-octet command line
        self.err(c.cmd("APOP " + "a" * 40 + " " + "0" * 32), "AUTH")


class Transaction(ServerTest):
    def setUp(self):
        super().setUp()
        self.c = self.srv.login()

    def test_second_login_in_use(self):
        c = self.srv.connect()
        self.ok(c.cmd("USER alice"))
        self.err(c.cmd("PASS wonderland"), "IN-USE")  # R1939-AUTHZ-2, R2449-CODE-3
        self.ok(c.cmd("USER alice"))
        r = c.cmd("PASS wrong")
        self.err(r, "AUTH")  # never [IN-USE] for wrong credentials (R2449-CODE-3, R3206-CAP-2)

    def test_authorization_commands_refused(self):
        for cmd in AUTHORIZATION_ONLY:
            self.err(self.c.cmd(cmd))  # R1939-STATE-3, R2595-STLS-3, R5034-AUTH-1
        self.ok(self.c.cmd("STAT"))

    def test_stat(self):
        total = sum(len(as_sent(m)) for _, m in DEFAULT_MAILDROP)
        self.assertEqual(self.c.cmd("STAT"), f"+OK 3 {total}")  # R1939-STAT-1, -2

    def test_list_and_sizes(self):
        st, lines = self.c.multi("LIST")
        self.ok(st)
        want = [f"{i + 1} {len(as_sent(m))}".encode() for i, (_, m) in enumerate(DEFAULT_MAILDROP)]
        self.assertEqual(lines, want)  # R1939-LIST-1, -2, -8, R1939-ML-4
        self.assertEqual(self.c.cmd("LIST 2"), f"+OK 2 {len(as_sent(MSG_CRLF))}")  # R1939-LIST-5
        for bad in ["LIST 0", "LIST 4", "LIST x", "LIST -1", "LIST +1", "LIST 99999999999999999999999"]:
            self.err(self.c.cmd(bad))  # R1939-LIST-6, P-MSG-3
        self.err(self.c.cmd("LIST 1 2"))
        self.ok(self.c.cmd("LIST 01"))

    def test_retr_content_and_stuffing(self):
        for i, (_, m) in enumerate(DEFAULT_MAILDROP):
            st, lines = self.c.multi(f"RETR {i + 1}")
            self.ok(st)
            data = b"".join((l[1:] if l.startswith(b".") else l) + b"\r\n" for l in lines)
            self.assertEqual(data, as_sent(m))  # R1939-RETR-1, P-MSG-1
        st, lines = self.c.multi("RETR 1")
        self.assertIn(b"..", lines)  # R1939-ML-2: "." stuffed
        self.assertIn(b"...", lines)
        self.assertIn(b"..x", lines)
        self.assertNotIn(b".", lines)  # R1939-ML-3

    def test_retr_errors(self):
        for bad in ["RETR", "RETR x", "RETR 0", "RETR 999", "RETR 1 2"]:
            self.err(self.c.cmd(bad))  # R1939-RETR-2
        self.ok(self.c.cmd("NOOP"))

    def test_top(self):
        st, lines = self.c.multi("TOP 1 0")
        self.ok(st)
        hdr = MSG_DOTS.split(b"\n\n")[0].split(b"\n")
        self.assertEqual(lines, hdr + [b""])  # R1939-TOP-2
        st, lines = self.c.multi("TOP 1 2")
        self.assertEqual(lines, hdr + [b"", b"first", b".."])  # R1939-TOP-1 (stuffed)
        st, lines = self.c.multi("TOP 2 100000")
        self.assertEqual(b"".join(l + b"\r\n" for l in lines), as_sent(MSG_CRLF))  # R1939-TOP-3
        st, lines = self.c.multi("TOP 3 99999999999999999999999")
        self.assertEqual(b"".join(l + b"\r\n" for l in lines), as_sent(MSG_NOEOL))
        for bad in ["TOP 1", "TOP 1 -1", "TOP 1 x", "TOP 999 1", "TOP x 1", "TOP"]:
            self.err(self.c.cmd(bad))  # R1939-TOP-4, -5
        self.ok(self.c.cmd("STAT"))

    def test_uidl(self):
        st, lines = self.c.multi("UIDL")
        self.ok(st)
        self.assertEqual(len(lines), 3)  # R1939-UIDL-1
        ids = {}
        for l in lines:
            m = re.fullmatch(rb"([0-9]+) ([!-~]{1,70})", l)  # R1939-UIDL-3, -4
            self.assertTrue(m, l)
            ids[int(m.group(1))] = m.group(2).decode()
        self.assertEqual(len(set(ids.values())), 3)  # R1939-UIDL-5
        self.assertEqual(self.c.cmd("UIDL 2"), f"+OK 2 {ids[2]}")  # R1939-UIDL-2
        self.err(self.c.cmd("UIDL 999"))

    def test_capa_after_login(self):
        caps = self.c.capa()
        self.assertIn("USER", caps)  # R2449-CAPA-5
        self.assertNotIn("STLS", caps)  # R2595-STLS-2
        self.assertTrue(any(c.startswith("SASL ") for c in caps))  # R5034-CAPA-2
        self.assertTrue(any(c.startswith("IMPLEMENTATION ") for c in caps))

    def test_noop(self):
        before = self.c.cmd("STAT")
        self.ok(self.c.cmd("NOOP"))  # R1939-NOOP-1
        self.assertEqual(self.c.cmd("STAT"), before)

    def test_syntax_strictness(self):
        self.err(self.c.cmd("LIST  1"))  # P-LINE-4: recorded as -ERR
        self.err(self.c.cmd("STAT "))
        self.ok(self.c.cmd("STAT"))


class Capabilities(ServerTest):
    def test_capa_before_login(self):
        c = self.srv.connect()
        caps = c.capa()
        for cap in ["TOP", "USER", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS", "EXPIRE NEVER",
                    "LOGIN-DELAY 0"]:
            self.assertIn(cap, caps)
        sasl = [c for c in caps if c.startswith("SASL ")][0].split()[1:]
        # Default compat mode: no password mechanisms in cleartext (R5034-AUTH-20, R2595-PLAIN-1).
        self.assertNotIn("PLAIN", sasl)
        self.assertNotIn("LOGIN", sasl)
        self.assertIn("CRAM-MD5", sasl)
        self.assertIn("SCRAM-SHA-256", sasl)
        for cap in caps:
            self.assertRegex(cap, r"^[!-\-/-~]+( [!-~]+)*$")  # R2449-CAPA-4
            self.assertLessEqual(len(cap) + 2, 512)  # R2449-LEN-3
        c.cmd("USER alice")
        c.cmd("PASS wonderland")
        after = c.capa()
        self.assertEqual(set(caps) - {"STLS"}, set(after))  # R2449-CAPA-5, -6

    def test_auth_lists_mechanisms(self):
        c = self.srv.connect()
        st, lines = c.multi("AUTH")  # P-AUTH-1
        self.ok(st)
        sasl = [x for x in c.capa() if x.startswith("SASL ")][0].split()[1:]
        self.assertEqual([l.decode() for l in lines], sasl)


class EmptyMaildrop(ServerTest):
    maildrops = {"alice": []}

    def test_empty(self):
        c = self.srv.login()
        self.assertEqual(c.cmd("STAT"), "+OK 0 0")
        st, lines = c.multi("LIST")
        self.ok(st)
        self.assertEqual(lines, [])  # R1939-LIST-4
        st, lines = c.multi("UIDL")
        self.assertEqual(lines, [])
        self.err(c.cmd("RETR 1"))

    def test_missing_maildir_created(self):
        c = self.srv.login("bob")  # listed in users, no Maildir yet
        self.assertEqual(c.cmd("STAT"), "+OK 0 0")
