"""bin/pop3client, the test POP3 client, and bin/pop3client-faults (docs/client-faults.md).

The correct client against the real bin/pop3refd: every fixture message delivered byte for byte (LF line
ends, or CRLF with --eol crlf) over plain POP3, STLS, implicit TLS, with USER/PASS, APOP, AUTH PLAIN and
AUTH CRAM-MD5; the UIDL state (a second run fetches nothing, a new message alone); --delete; [IN-USE] as a
temporary failure without retries; TLS refused when the certificate or its name is wrong.

Then every client fault, each shown doing its wrong thing where the correct client does not: against
pop3refd where its log or the maildrop shows it, else against a scripted server (ScriptServer, below) that
plays one POP3 session and records what the client sent and when. These tests prove the faults are real; the
client scenarios (scenarios/clients/) are what must catch them."""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

import clientmail
from pop3test import BIN, TIMEOUT, Conn, ServerTest, certificate, certificate_ca

CLIENT = os.path.join(BIN, "pop3client")
FAULTY = os.path.join(BIN, "pop3client-faults")
MESSAGES = clientmail.fixture_messages()
RAW = [data for _, data in MESSAGES]
UIDS = sorted(name for name, _ in MESSAGES)


def run(args, faults=(), binary=None):
    """(exit status, stderr) of one client run."""
    exe = binary or (FAULTY if faults else CLIENT)
    argv = [exe] + [a for f in faults for a in ("--fault", f)] + ["--timeout", "10"] + list(args)
    r = subprocess.run(argv, capture_output=True, timeout=TIMEOUT * 4)
    return r.returncode, r.stderr.decode(errors="replace")


class Workdir(unittest.TestCase):
    def path(self, *p):
        if not getattr(self, "tmp", None):
            self.tmp = tempfile.mkdtemp(prefix="pop3client-e2e-")
            self.addCleanup(shutil.rmtree, self.tmp, True)
        return os.path.join(self.tmp, *p)


@unittest.skipUnless(os.path.exists(CLIENT) and os.path.exists(FAULTY), "make bin/pop3client bin/pop3client-faults")
class AgainstPop3refd(ServerTest, Workdir):
    maildrops = {"alice": MESSAGES}

    def fetch(self, *extra, faults=(), md="md", state="state", port=None, user="alice", password=None):
        args = ["--host", "127.0.0.1", "--port", str(port or self.srv.port), "--user", user,
                "--password", password or self.srv.users.get(user, "x"), "--maildir", self.path(md),
                "--state", self.path(state)] + list(extra)
        return run(args, faults)

    def tls_args(self, mode, name="localhost"):
        return ["--tls", mode, "--cafile", certificate_ca(), "--servername", name]

    def delivered(self, md="md"):
        return clientmail.maildir_messages(self.path(md))

    def logins(self):
        import re
        return re.findall(r" login alice by ([^:]+):", self.srv.log_text())

    def commands(self):
        import re
        return re.findall(r" s\d+ command (\S+)", self.srv.log_text())

    # ---- the correct client
    def test_byte_for_byte_every_way_in(self):
        cases = [("plain", [], None, "PASS"), ("stls", self.tls_args("stls"), None, "PASS"),
                 ("implicit", self.tls_args("implicit"), "tls", "PASS"), ("apop", ["--apop"], None, "APOP"),
                 ("plain-sasl", self.tls_args("stls") + ["--sasl", "PLAIN"], None, "AUTH PLAIN"),
                 ("login-sasl", self.tls_args("stls") + ["--sasl", "LOGIN"], None, "AUTH LOGIN"),
                 ("cram", ["--sasl", "CRAM-MD5"], None, "AUTH CRAM-MD5")]
        for name, extra, port, how in cases:
            with self.subTest(name):
                rc, err = self.fetch(*extra, md="md-" + name, state="st-" + name,
                                     port=self.srv.tls_port if port else None)
                self.assertEqual(rc, 0, err)
                self.assertEqual(clientmail.compare(self.delivered("md-" + name), RAW), "")
                self.assertEqual(self.logins()[-1], how)
                self.assertEqual(os.listdir(self.path("md-" + name, "tmp")), [])

    def test_crlf_delivery(self):
        rc, err = self.fetch("--eol", "crlf")
        self.assertEqual(rc, 0, err)
        self.assertEqual(clientmail.compare(self.delivered(), RAW, eol=b"\r\n"), "")

    def test_uidl_state(self):
        self.assertEqual(self.fetch()[0], 0)
        with open(self.path("state")) as f:
            self.assertEqual(sorted(f.read().split()), UIDS)
        self.assertEqual(self.fetch()[0], 0)
        self.assertEqual(len(self.delivered()), len(RAW))  # nothing new
        extra = b"From: late@example.org\nSubject: late\nMessage-ID: <late@pop3client.test>\n\n..dot\n"
        self.srv.add_message("alice", "2000.M99P1.late", extra, sub="new")
        self.assertEqual(self.fetch()[0], 0)
        self.assertEqual(clientmail.compare(self.delivered(), RAW + [extra]), "")
        self.assertEqual(self.srv.messages("alice"), sorted(UIDS + ["2000.M99P1.late"]))

    def test_delete(self):
        rc, err = self.fetch("--delete")
        self.assertEqual(rc, 0, err)
        self.assertEqual(clientmail.compare(self.delivered(), RAW), "")
        self.assertEqual(self.srv.messages("alice"), [])

    def test_in_use_is_temporary_and_not_retried(self):
        holder = Conn(self.srv.port)
        self.addCleanup(holder.close)
        holder.cmd("USER alice")
        self.ok(holder.cmd("PASS " + self.srv.users["alice"]))
        rc, err = self.fetch()
        self.assertEqual(rc, 75, err)
        self.assertEqual(self.commands().count("PASS"), 2)  # the holder's and one attempt
        rc, err = self.fetch(faults=["retry-storm-on-in-use"])
        self.assertEqual(rc, 75, err)
        self.assertEqual(self.commands().count("PASS"), 2 + 11)

    def test_wrong_password_is_permanent(self):
        self.assertEqual(self.fetch(password="wrong")[0], 1)

    # ---- faults pop3refd shows
    def test_long_user_name_not_sent(self):
        rc, err = self.fetch(user="u" * 260)
        self.assertEqual(rc, 1)
        self.assertIn("255", err)
        self.assertNotIn("USER", self.commands())

    def test_no_cert_verify_and_no_hostname_check(self):
        wrong_name = self.tls_args("stls", name="wrong.example")
        self.assertEqual(self.fetch(*wrong_name)[0], 1)
        self.assertEqual(self.fetch(*wrong_name, faults=["no-hostname-check"], md="mdf", state="stf")[0], 0)
        no_ca = ["--tls", "implicit", "--servername", "localhost"]  # the system store: the test CA is unknown
        self.assertEqual(self.fetch(*no_ca, port=self.srv.tls_port, md="md2", state="st2")[0], 1)
        self.assertEqual(self.fetch(*no_ca, port=self.srv.tls_port, md="mdf2", state="stf2",
                                    faults=["no-cert-verify"])[0], 0)
        self.assertEqual(self.delivered("md2"), [])
        self.assertEqual(self.delivered("md"), [])  # the correct client's refused runs delivered nothing

    def test_apop_wrong_digest(self):
        self.assertEqual(self.fetch("--apop", faults=["apop-wrong-digest"])[0], 1)
        self.assertEqual(self.logins(), [])

    def test_no_unstuff(self):
        self.assertEqual(self.fetch(faults=["no-unstuff"])[0], 0)
        self.assertIn("differs", clientmail.compare(self.delivered(), RAW))

    def test_refetch_seen_uidl(self):
        self.assertEqual(self.fetch()[0], 0)
        self.assertEqual(self.fetch(faults=["refetch-seen-uidl"])[0], 0)
        self.assertEqual(len(self.delivered()), 2 * len(RAW))

    def test_dele_unasked(self):
        self.assertEqual(self.fetch(faults=["dele-unasked"])[0], 0)
        self.assertEqual(self.srv.messages("alice"), [])

    def test_no_quit(self):
        self.assertEqual(self.fetch("--delete", faults=["no-quit"])[0], 0)
        self.assertNotIn("QUIT", self.commands())
        self.assertEqual(self.srv.messages("alice"), UIDS)  # the DELEs were never committed


@unittest.skipUnless(os.path.exists(CLIENT) and os.path.exists(FAULTY), "make bin/pop3client bin/pop3client-faults")
class NoTlsServer(ServerTest, Workdir):
    tls = False  # CAPA offers no STLS

    def test_stls_required_not_offered(self):
        args = ["--host", "127.0.0.1", "--port", str(self.srv.port), "--user", "alice", "--password",
                self.srv.users["alice"], "--tls", "stls", "--cafile", certificate_ca()]
        self.assertEqual(run(args)[0], 1)
        self.assertNotIn("command PASS", self.srv.log_text())
        self.assertEqual(run(args, ["pass-in-cleartext-when-tls-required"])[0], 0)
        self.assertIn("command PASS", self.srv.log_text())


class ScriptServer:
    """One scripted POP3 session on 127.0.0.1:0: script(self) runs in a thread and talks through send(),
    line() and starttls(); every line the client sent is in self.got, and self.notes is for the script."""

    def __init__(self, script, tls_ctx=None):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.script = script
        self.tls_ctx = tls_ctx
        self.got, self.notes, self.error = [], {}, None
        self.sock, self.buf = None, b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.lsock.settimeout(TIMEOUT)
            self.sock, _ = self.lsock.accept()
            self.sock.settimeout(TIMEOUT)
            self.script(self)
        except Exception as e:  # noqa: BLE001 - reported by join()
            self.error = e
        finally:
            if self.sock:
                self.sock.close()
            self.lsock.close()

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("client closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        self.got.append(line.decode(errors="replace"))
        return self.got[-1]

    def pending(self, seconds):
        """Whether more octets arrive (or are buffered) within `seconds`."""
        if self.buf:
            return True
        self.sock.settimeout(seconds)
        try:
            chunk = self.sock.recv(4096)
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(TIMEOUT)
        self.buf += chunk
        return bool(chunk)

    def starttls(self, ctx):
        self.sock = ctx.wrap_socket(self.sock, server_side=True)

    def join(self):
        self.thread.join(TIMEOUT * 2)


def server_ctx(**kw):
    cert, key = certificate()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


MSG = b"Subject: s\r\n\r\nfirst line.\r\n..dot\r\nlast\r\n"


def login(s, capa=b"USER\r\nUIDL\r\n", greeting=b"+OK hi <1.2@test>\r\n"):
    """Greeting, CAPA, USER/PASS: the start every scripted session shares."""
    s.send(greeting)
    assert s.line() == "CAPA"
    s.send(b"+OK\r\n" + capa + b".\r\n")
    s.line()
    s.send("+OK\r\n")
    s.line()
    s.send("+OK\r\n")


def listing(s, n=1, size=len(MSG)):
    """STAT, LIST, UIDL as the client sends them (one at a time or pipelined)."""
    for _ in range(3):
        cmd = s.line()
        if cmd == "STAT":
            s.send(f"+OK {n} {n * size}\r\n")
        elif cmd == "LIST":
            s.send("+OK\r\n" + "".join(f"{i} {size}\r\n" for i in range(1, n + 1)) + ".\r\n")
        elif cmd == "UIDL":
            s.send("+OK\r\n" + "".join(f"{i} uid{i}\r\n" for i in range(1, n + 1)) + ".\r\n")


def finish(s):
    """Serve what is left: DELE, QUIT, until the client closes."""
    try:
        while True:
            cmd = s.line()
            s.send("+OK\r\n")
            if cmd == "QUIT":
                return
    except (EOFError, OSError):
        return


@unittest.skipUnless(os.path.exists(CLIENT) and os.path.exists(FAULTY), "make bin/pop3client bin/pop3client-faults")
class AgainstScript(Workdir):
    def client(self, script, extra=(), faults=(), tls_ctx=None):
        srv = ScriptServer(script, tls_ctx)
        rc, err = run(["--host", "127.0.0.1", "--port", str(srv.port), "--user", "alice", "--password", "pw",
                       "--maildir", self.path("md"), "--state", self.path("state")] + list(extra), faults)
        srv.join()
        return srv, rc, err

    def both(self, script, fault, extra=()):
        """(correct run, faulty run): each (server, exit status, stderr, delivered messages)."""
        out = []
        for faults in ((), (fault,)):
            shutil.rmtree(self.path("md"), True)
            if os.path.exists(self.path("state")):
                os.unlink(self.path("state"))
            srv, rc, err = self.client(script, extra, faults)
            out.append((srv, rc, err, clientmail.maildir_messages(self.path("md"))))
        return out

    def test_drop_mid_message(self):
        def script(s):
            login(s)
            listing(s)
            assert s.line() == "RETR 1"
            s.send(b"+OK\r\n" + MSG[:20])
            s.pending(0.3)
        (c, rc, err, md), (f, frc, ferr, fmd) = self.both(script, "deliver-partial-on-drop", ["--delete"])
        self.assertEqual((rc, md), (1, []), err)
        self.assertNotIn("DELE 1", c.got)
        self.assertEqual(len(fmd), 1)  # the fault delivered a partial message
        shutil.rmtree(self.path("md"), True)
        self.assertEqual(self.client(script)[1], 1)
        self.assertFalse(os.path.exists(self.path("state")))  # nothing delivered, nothing recorded
        self.assertEqual(self.client(script, faults=["state-before-delivery"])[1], 1)
        with open(self.path("state")) as fh:
            self.assertEqual(fh.read().split(), ["uid1"])  # recorded, though never delivered

    def test_dele_before_retr_complete(self):
        def script(s):
            login(s)
            listing(s)
            assert s.line() == "RETR 1"
            s.send(b"+OK\r\n" + MSG[:20])
            s.notes["early"] = s.pending(0.5)
            s.send(MSG[20:] + b".\r\n")
            finish(s)
        (c, rc, err, md), (f, _, _, _) = self.both(script, "dele-before-retr-complete", ["--delete"])
        self.assertEqual(rc, 0, err)
        self.assertIsNone(c.error)
        self.assertFalse(c.notes["early"])
        self.assertTrue(f.notes["early"])
        self.assertEqual(md, [MSG.replace(b"\r\n", b"\n").replace(b"\n..", b"\n.")])

    def test_terminator_naive(self):
        def script(s):
            login(s)
            listing(s)
            s.line()
            s.send(b"+OK\r\n" + MSG + b".\r\n")
            finish(s)
        (c, rc, err, md), (f, frc, _, fmd) = self.both(script, "terminator-naive")
        self.assertEqual(rc, 0, err)
        self.assertEqual(md, [b"Subject: s\n\nfirst line.\n.dot\nlast\n"])
        self.assertNotEqual(fmd, md)

    def test_pipeline_unannounced(self):
        def script(s):
            login(s)
            assert s.line() == "STAT"
            s.notes["pipelined"] = s.pending(0.3)
            s.send("+OK 0 0\r\n")
            finish(s)
        (c, rc, err, _), (f, _, _, _) = self.both(script, "pipeline-unannounced")
        self.assertFalse(c.notes["pipelined"])
        self.assertTrue(f.notes["pipelined"])

    def test_pipelining_when_announced(self):
        def script(s):
            login(s, capa=b"USER\r\nPIPELINING\r\n")
            assert s.line() == "STAT"
            s.notes["pipelined"] = s.pending(0.3)
            s.send("+OK 0 0\r\n")
            finish(s)
        srv, rc, err = self.client(script)
        self.assertTrue(srv.notes["pipelined"])

    def test_status_line_512(self):
        def script(s):
            s.send(b"+OK " + b"x" * 506 + b"\r\n")  # 512 octets with the CRLF (RFC 1939 §3)
            s.line()
            s.send(b"-ERR\r\n")
            finish(s)
        (c, rc, err, _), (f, frc, _, _) = self.both(script, "status-line-511")
        self.assertEqual(c.got[:2], ["CAPA", "USER alice"])
        self.assertEqual(f.got, [])

    def test_long_command(self):
        def script(s):
            s.send(b"+OK\r\n")
            s.line()
            s.send(b"-ERR\r\n")
            s.pending(0.5)
            if s.buf:
                s.line()
            finish(s)
        srv = ScriptServer(script)
        args = ["--host", "127.0.0.1", "--port", str(srv.port), "--user", "u" * 260, "--password", "pw"]
        self.assertEqual(run(args)[0], 1)
        srv.join()
        self.assertEqual(srv.got, ["CAPA"])
        srv = ScriptServer(script)
        run(["--host", "127.0.0.1", "--port", str(srv.port), "--user", "u" * 260, "--password", "pw"],
            ["long-command"])
        srv.join()
        self.assertEqual(len(srv.got[1]) + 2, len("USER ") + 260 + 2)

    def test_greeting_err(self):
        def script(s):
            s.send(b"-ERR [SYS/TEMP] not now\r\n")
            try:
                while s.line() != "QUIT":
                    s.send(b"-ERR\r\n")
            except (EOFError, OSError):
                pass
        (c, rc, err, _), (f, _, _, _) = self.both(script, "ignore-greeting-err")
        self.assertEqual(rc, 75)
        self.assertNotIn("USER alice", c.got)
        self.assertIn("USER alice", f.got)

    def test_login_delay_temporary(self):
        def script(s):
            s.send(b"+OK\r\n")
            s.line()
            s.send(b"-ERR\r\n")
            s.line()
            s.send(b"+OK\r\n")
            s.line()
            s.send(b"-ERR [LOGIN-DELAY] wait\r\n")
            finish(s)
        srv, rc, err = self.client(script)
        self.assertEqual(rc, 75)
        srv, rc, err = self.client(lambda s: (s.send(b"+OK\r\n"), s.line(), s.send(b"-ERR\r\n"), s.line(),
                                              s.send(b"+OK\r\n"), s.line(), s.send(b"-ERR [SYS/PERM] no\r\n"),
                                              finish(s)))
        self.assertEqual(rc, 1)

    def test_sasl_cancel(self):
        def script(s):
            s.send(b"+OK\r\n")
            s.line()
            s.send(b"-ERR\r\n")
            assert s.line() == "AUTH CRAM-MD5"
            s.send(b"+ !!not-base64!!\r\n")
            s.line()
            s.send(b"-ERR cancelled\r\n")
            finish(s)
        (c, rc, err, _), (f, _, _, _) = self.both(script, "sasl-no-cancel", ["--sasl", "CRAM-MD5"])
        self.assertEqual(c.got[2], "*")
        self.assertNotEqual(f.got[2], "*")

    def stls_script(self, reply, inject=b""):
        def script(s):
            s.send(b"+OK\r\n")
            s.line()
            s.send(b"+OK\r\nSTLS\r\nUSER\r\n.\r\n")
            if s.line() != "STLS":
                return finish(s)
            s.send(reply + inject)
            if reply.startswith(b"+OK"):
                s.starttls(server_ctx())
                s.notes["after"] = s.line()
                s.send(b"+OK\r\nUSER\r\n.\r\n")
                for _ in range(2):
                    s.line()
                    s.send("+OK\r\n")
                listing(s, n=0)
            finish(s)
        return script

    def test_stls_refused(self):
        tls = ["--tls", "stls", "--cafile", certificate_ca(), "--servername", "localhost"]
        (c, rc, err, _), (f, _, _, _) = self.both(self.stls_script(b"-ERR no\r\n"), "ignore-stls-failure", tls)
        self.assertEqual(rc, 1)
        self.assertNotIn("USER alice", c.got)
        self.assertIn("PASS pw", f.got)

    def test_stls_capa_again_and_injection(self):
        tls = ["--tls", "stls", "--cafile", certificate_ca(), "--servername", "localhost"]
        (c, rc, err, _), (f, _, _, _) = self.both(self.stls_script(b"+OK\r\n"), "no-capa-after-stls", tls)
        self.assertEqual(rc, 0, err)
        self.assertEqual(c.notes["after"], "CAPA")
        self.assertEqual(f.notes["after"], "USER alice")
        script = self.stls_script(b"+OK\r\n", inject=b"-ERR [SYS/PERM] injected\r\n")
        (c, rc, err, _), (f, frc, ferr, _) = self.both(script, "keep-pre-tls-bytes", tls)
        self.assertEqual(rc, 0, err)
        self.assertNotEqual(frc, 0)

    def test_tls10_refused(self):
        ctx = server_ctx(maximum_version=ssl.TLSVersion.TLSv1, minimum_version=ssl.TLSVersion.TLSv1)
        try:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        except ssl.SSLError:
            self.skipTest("this OpenSSL cannot serve TLS 1.0")

        def script(s):
            s.starttls(ctx)
            s.send(b"-ERR [SYS/PERM] TLS 1.0 was accepted\r\n")
            finish(s)
        args = ["--tls", "implicit", "--cafile", certificate_ca(), "--servername", "localhost"]
        srv, rc, err = self.client(script, args)
        self.assertIn("handshake", err)
        srv, rc, err = self.client(script, args, ["accept-tls10"])
        if srv.error is not None and "version" in str(srv.error).lower():
            self.skipTest(f"TLS 1.0 not available here: {srv.error}")
        self.assertIn("TLS 1.0 was accepted", err)


@unittest.skipUnless(os.path.exists(FAULTY), "make bin/pop3client-faults")
class FaultList(unittest.TestCase):
    def test_every_fault_documented_and_real_client_has_none(self):
        out = subprocess.run([FAULTY, "--list-faults"], capture_output=True, text=True, check=True).stdout
        names = [l.split("\t")[0] for l in out.splitlines()]
        self.assertGreaterEqual(len(names), 20)
        doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "client-faults.md")).read()
        for n in names:
            self.assertIn(f"`{n}`", doc)
        r = subprocess.run([CLIENT, "--list-faults"], capture_output=True)
        self.assertEqual(r.returncode, 2)
        with open(CLIENT, "rb") as f:
            self.assertNotIn(b"dele-before-retr-complete", f.read())


if __name__ == "__main__":
    unittest.main()
