"""RFC 6856 against the real pop3refd: the UTF8 and LANG capabilities, UTF-8 mode and the [UTF8] refusal on
the committed RFC 6532 fixture (fixtures/maildrops/utf8), UTF-8 credentials with SASLprep for USER, PASS and
APOP, STLS after UTF8, Python's poplib in UTF-8 mode, and the runner's rfc6856 scenarios against a target
whose accounts have UTF-8 names and passwords."""

import hashlib
import json
import os
import poplib
import subprocess
import tempfile

from hostile import run_pop3spec
from pop3test import ROOT, POP3REFD, TIMEOUT, Server, ServerTest, as_sent, client_tls_context, greeting_timestamp

FIXTURES = os.path.join(ROOT, "fixtures", "maildrops")


def fixture_messages(name):
    """[(file name, bytes)] of a committed fixture maildrop, in file-name order."""
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(FIXTURES, name, sub)
        for n in sorted(os.listdir(d)):
            if not n.startswith("."):
                with open(os.path.join(d, n), "rb") as f:
                    out.append((n, f.read()))
    return sorted(out)


UTF8_MSG = fixture_messages("utf8")[0][1]
EIGHT_BIT_MSG = fixture_messages("eight-bit")[0][1]

# A UTF-8 name and password (already in SASLprep form), and a secret that SASLprep changes when stored.
JORAN, JORAN_PW = "jöran", "pässwörd"
USERS_TEXT = ("# RFC 6856 test users\nalice:wonderland\n" f"{JORAN}:{JORAN_PW}\n" "ix:I\u00adX\n"
              "bob:builder\n")
SHY = "\u00ad"  # SOFT HYPHEN: SASLprep maps it to nothing (RFC 4013 §2.1)


def write_users(srv, text):
    with open(srv.users_path, "wb") as f:
        f.write(text.encode("utf-8"))


class Utf8Test(ServerTest):
    maildrops = {"alice": [("1000.M1P1.utf8", UTF8_MSG), ("1001.M2P1.eightbit", EIGHT_BIT_MSG)]}

    def setUp(self):
        self.srv = Server(maildrops=self.maildrops, args=self.server_args, tls=self.tls)
        self.extra = []
        self.addCleanup(self.srv.cleanup)
        self.srv.users = {"alice": "wonderland", JORAN: JORAN_PW, "ix": "I\u00adX", "bob": "builder"}
        write_users(self.srv, USERS_TEXT)
        self.srv.start()

    def login(self, c, user="alice", password="wonderland"):
        self.ok(c.cmd("USER " + user))
        self.ok(c.cmd("PASS " + password))


class Capabilities(Utf8Test):
    def test_listed_in_both_states(self):
        c = self.srv.connect()
        before = c.capa()
        self.assertIn("UTF8 USER", before)  # R6856-UTF8-1
        self.assertIn("LANG", before)  # R6856-LANG-1
        self.login(c)
        after = c.capa()
        self.assertIn("UTF8 USER", after)
        self.assertIn("LANG", after)
        self.assertEqual(set(before) - {"STLS"}, set(after))


class Utf8Mode(Utf8Test):
    def test_fixture_is_rfc6532(self):
        header = UTF8_MSG.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
        self.assertTrue(any(b >= 0x80 for b in header), "fixtures/maildrops/utf8 has no 8-bit header")
        self.assertIn(b"Message-ID: <utf8-1@fixtures.pop3spec.test>", header)
        header = EIGHT_BIT_MSG.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
        self.assertFalse(any(b >= 0x80 for b in header))

    def test_refused_outside_utf8_mode(self):
        c = self.srv.connect()
        self.login(c)
        size = len(as_sent(UTF8_MSG))
        self.assertEqual(c.cmd("LIST 1"), f"+OK 1 {size}")  # the size RETR sends in UTF-8 mode
        self.err(c.cmd("RETR 1"), "UTF8")  # R6856-UTF8-4, R6856-CODE-1
        self.err(c.cmd("TOP 1 0"), "UTF8")
        self.err(c.cmd("UTF8"))  # AUTHORIZATION only (R6856-UTF8-2)
        self.ok(c.cmd("NOOP"))
        # An 8-bit body alone is 8BITMIME, sent as stored; no [UTF8] anywhere else.
        self.assertEqual(c.retr(2), as_sent(EIGHT_BIT_MSG))
        self.assertNotIn("[UTF8]", c.cmd("STAT"))
        self.assertNotIn("[UTF8]", c.cmd("UIDL 1"))
        st, lines = c.multi("LIST")
        self.ok(st)
        self.assertEqual(lines, [f"1 {size}".encode(), f"2 {len(as_sent(EIGHT_BIT_MSG))}".encode()])

    def test_sent_as_stored_in_utf8_mode(self):
        c = self.srv.connect()
        self.err(c.cmd("UTF8 x"))
        self.assertEqual(c.cmd("UTF8"), "+OK UTF-8 mode enabled")
        self.login(c)
        body = c.retr(1)
        self.assertEqual(body, as_sent(UTF8_MSG))  # R6856-UTF8-5
        self.assertEqual(c.cmd("LIST 1"), f"+OK 1 {len(body)}")  # R6856-UTF8-7
        st, lines = c.multi("TOP 1 0")
        self.ok(st)
        header = UTF8_MSG.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
        self.assertEqual(lines, header.split(b"\n") + [b""])  # the header section and its empty line

    def test_stls_refused_after_utf8(self):
        c = self.srv.connect()
        self.assertIn("STLS", c.capa())
        self.ok(c.cmd("UTF8"))
        self.assertNotIn("STLS", c.capa())
        self.assertEqual(c.cmd("STLS"), "-ERR STLS is not allowed after UTF8")  # no response code
        self.login(c)
        self.assertEqual(c.retr(1), as_sent(UTF8_MSG))

    def test_utf8_after_stls(self):
        c = self.srv.connect()
        self.ok(c.cmd("STLS"))
        c.starttls()
        self.ok(c.cmd("UTF8"))
        self.login(c)
        self.assertEqual(c.retr(1), as_sent(UTF8_MSG))

    def test_implicit_tls(self):
        c = self.srv.connect(tls=True)
        self.ok(c.cmd("UTF8"))
        self.login(c)
        self.assertEqual(c.retr(1), as_sent(UTF8_MSG))

    def test_poplib_utf8(self):
        p = poplib.POP3("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        try:
            self.assertIn("UTF8", p.capa())
            p.utf8()  # then poplib sends and reads UTF-8
            p.user(JORAN)
            p.pass_(JORAN_PW)
            self.assertEqual(p.stat(), (0, 0))
        finally:
            p.quit()
        p = poplib.POP3("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        try:
            p.utf8()
            p.user("alice")
            p.pass_("wonderland")
            _, lines, octets = p.retr(1)
            self.assertEqual(b"".join(l + b"\r\n" for l in lines), as_sent(UTF8_MSG))
        finally:
            p.quit()


class Credentials(Utf8Test):
    def test_utf8_user_and_password(self):
        c = self.srv.connect()
        self.login(c, JORAN, JORAN_PW)  # R6856-UTF8-9: no UTF8 command needed
        self.assertEqual(c.cmd("STAT"), "+OK 0 0")
        self.assertTrue(os.path.isdir(os.path.join(self.srv.maildirs, JORAN, "cur")))

    def test_saslprep_maps_user_and_pass(self):
        c = self.srv.connect()
        self.login(c, SHY + "alice", "wonder" + SHY + "land")  # R6856-UTF8-10
        c = self.srv.connect()
        self.login(c, "ix", "IX")  # the stored secret "I<SHY>X" prepares to "IX"
        c = self.srv.connect()
        self.login(c, "bob", "\uff42uilder")  # NFKC: FULLWIDTH LATIN SMALL LETTER B is "b"

    def test_bad_credentials_refused(self):
        c = self.srv.connect()
        self.ok(c.cmd("USER alice"))
        self.err(c.cmd("PASS wonderland\ue000"), "AUTH")  # R6856-UTF8-11: private use
        self.ok(c.cmd("USER alice"))
        self.err(c.cmd("PASS wonderland\u0085"), "AUTH")  # a C1 control
        self.ok(c.cmd("USER alice"))
        c.send(b"PASS wonderland\xc3\r\n")  # R6856-UTF8-12: truncated UTF-8
        self.assertEqual(c.status(), "-ERR [AUTH] password is not valid UTF-8")
        c.send(b"USER alice\xc3\x28\r\n")
        self.assertEqual(c.status(), "-ERR user name is not valid UTF-8")
        c.send(b"USER \xc0\xafalice\r\n")  # an overlong '/'
        self.assertEqual(c.status(), "-ERR user name is not valid UTF-8")
        self.err(c.cmd("PASS wonderland"))  # no USER pending after those
        self.login(c)

    def test_apop_prepared(self):
        c = self.srv.connect()
        ts = greeting_timestamp(c.greeting)
        digest = hashlib.md5((ts + JORAN_PW).encode()).hexdigest()
        self.ok(c.cmd(f"APOP {SHY}{JORAN} {digest}"))  # R6856-UTF8-13
        c = self.srv.connect()
        ts = greeting_timestamp(c.greeting)
        wrong = hashlib.md5((ts + "I\u00adX").encode()).hexdigest()  # the secret as written, unprepared
        self.err(c.cmd(f"APOP ix {wrong}"), "AUTH")
        c = self.srv.connect()
        ts = greeting_timestamp(c.greeting)
        self.ok(c.cmd("APOP ix " + hashlib.md5((ts + "IX").encode()).hexdigest()))

    def test_users_file_errors(self):
        for text, want in (("\uff4aoe:x\n", "users:1: user name 'ｊoe' is not in SASLprep form; write it as 'joe'"),
                           ("ann:p\ue000q\n", "users:1: the password of user 'ann' holds a character SASLprep"),
                           ("ann:😀\n", "users:1: the password of user 'ann' holds a character SASLprep")):
            with tempfile.TemporaryDirectory(prefix="pop3refd-e2e-users-") as d:
                users = os.path.join(d, "users")
                with open(users, "wb") as f:
                    f.write(text.encode())
                os.mkdir(os.path.join(d, "maildirs"))
                r = subprocess.run([POP3REFD, "--listen", "127.0.0.1:0", "--users", users, "--maildirs",
                                    os.path.join(d, "maildirs")], capture_output=True, timeout=TIMEOUT)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(users + want[len("users"):], r.stderr.decode())


class Lang(Utf8Test):
    def test_listing_and_selection(self):
        c = self.srv.connect()
        st, lines = c.multi("LANG")  # R6856-LANG-5
        self.ok(st)
        self.assertEqual(lines, [b"en English", b"i-default Default language (English)"])
        self.assertEqual(c.cmd("LANG en"), "+OK en Language changed to English")  # R6856-LANG-2
        self.assertTrue(c.cmd("LANG *").startswith("+OK en "))  # R6856-LANG-4
        self.assertTrue(c.cmd("LANG I-DEFAULT").startswith("+OK i-default "))
        self.err(c.cmd("LANG en-US"))  # basic filtering: "en-US" does not match "en" (R6856-LANG-3)
        self.err(c.cmd("LANG mul"))
        self.err(c.cmd("LANG en-"))
        self.err(c.cmd("LANG en de"))
        self.login(c)
        self.assertTrue(c.cmd("LANG *").startswith("+OK en "))  # TRANSACTION too (R6856-LANG-1)
        self.ok(c.multi("LANG")[0])

    def test_same_language_for_every_user(self):
        a, b = self.srv.connect(), self.srv.connect()
        self.ok(a.cmd("USER alice"))
        self.ok(b.cmd("USER nosuchuser"))
        self.assertEqual(a.cmd("LANG *"), b.cmd("LANG *"))  # R6856-LANG-6


class RunnerWithUtf8Accounts(Utf8Test):
    """The rfc6856 scenarios through pop3spec, with accounts whose names and passwords are UTF-8 (what the
    --reference run, with its ASCII accounts, cannot show)."""

    def test_rfc6856_scenarios(self):
        target = os.path.join(self.srv.dir, "target.yaml")
        with open(target, "wb") as f:
            f.write((f"name: pop3refd-utf8-accounts\nhost: 127.0.0.1\nport: {self.srv.port}\n"
                     f"tls_port: {self.srv.tls_port}\ntls_verify: false\nlogin_tls: false\n"
                     f"accounts:\n  - {{user: \"{JORAN}\", password: \"{JORAN_PW}\"}}\n"
                     f"  - {{user: \"alice\", password: \"wonderland\"}}\n").encode())
        js = os.path.join(self.srv.dir, "r.json")
        r = run_pop3spec(["run", "--target", target, "--all", "--json", js, "scenarios/rfc6856"], limit=120)
        self.assertEqual(r.rc, 0, r.stdout[-3000:] + r.stderr[-2000:])
        with open(js, encoding="utf-8") as f:
            doc = json.load(f)
        status = {res["id"]: (res["status"], res["message"]) for res in doc["results"]}
        for sid in ("rfc6856/utf8/utf8-credentials-before-utf8-command", "rfc6856/utf8/saslprep-applied-to-user-pass",
                    "rfc6856/utf8/apop-with-prepared-credentials", "rfc6856/utf8/bad-utf8-credentials-refused",
                    "rfc6856/utf8/command-authorization-only", "rfc6856/lang/preferred-language-reveals-no-user"):
            self.assertEqual(status.get(sid, ("absent",))[0], "pass", f"{sid}: {status.get(sid)}")
        # Those that name a fixture need the target's reset, which this profile has not.
        self.assertEqual(status["rfc6856/utf8/utf8-mode-sends-as-stored"][0], "skip")
