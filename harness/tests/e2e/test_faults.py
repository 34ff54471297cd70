"""The fault-injection build bin/pop3refd-faults (docs/mutation.md): the real bin/pop3refd has no fault, and
each seam the server reaches the faults through still works — one fault per seam, over real sockets. `make
mutation` runs the whole suite per fault; this is the quick check that a seam is still wired. Skipped when
bin/pop3refd-faults is not built (`make bin/pop3refd-faults`)."""

import os
import socket
import subprocess
import unittest

import pop3test
from pop3test import BIN, POP3REFD, Server, ServerTest, TIMEOUT

FAULTY = os.path.join(BIN, "pop3refd-faults")


def fault_names():
    out = subprocess.run([FAULTY, "--list-faults"], capture_output=True, text=True, timeout=TIMEOUT)
    return [line.split("\t") for line in out.stdout.splitlines()]


class FaultServer(Server):
    """pop3refd-faults with the faults given, on free ports like every e2e server."""

    def __init__(self, faults, **kw):
        args = list(kw.pop("args", ()))
        for f in faults:
            args += ["--fault", f]
        super().__init__(args=args, **kw)

    def command(self):
        cmd = super().command()
        return [FAULTY if c == POP3REFD else c for c in cmd]


def raw_line(sock):
    """One line as sent, line end included (the fault build may send bare LFs and lower-case indicators)."""
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        buf += chunk
    return buf


@unittest.skipUnless(os.path.exists(FAULTY), "bin/pop3refd-faults not built")
class RealBinaryHasNoFault(unittest.TestCase):
    def test_flags_refused(self):
        for args in (["--fault", "no-lock"], ["--list-faults"]):
            r = subprocess.run([POP3REFD] + args, capture_output=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, 2, args)

    def test_no_fault_name_in_binary(self):
        with open(POP3REFD, "rb") as f:
            data = f.read()
        names = [n[0] for n in fault_names()]
        self.assertGreater(len(names), 100)
        self.assertEqual([n for n in names if n.encode() in data], [])

    def test_list_well_formed(self):
        rows = fault_names()
        self.assertTrue(all(len(r) == 3 and r[1] in ("suite", "timer", "load") and r[2] for r in rows), rows)
        self.assertEqual(len({r[0] for r in rows}), len(rows))


@unittest.skipUnless(os.path.exists(FAULTY), "bin/pop3refd-faults not built")
class Seams(ServerTest):
    """One fault behind each seam of faults.h."""

    def tearDown(self):
        # Stop the fault builds cleanly first: a crash, or a leak under POP3SPEC_VALGRIND=1, fails the test.
        for s in self.extra:
            s.stop()
        super().tearDown()

    def faulty(self, *faults, **kw):
        srv = FaultServer(faults, **kw)
        self.extra.append(srv)
        return srv.start()

    def test_no_fault_behaves_as_pop3refd(self):
        srv = self.faulty()
        a, b = self.srv.login(), srv.login()
        for cmd in ("STAT", "LIST", "UIDL", "TOP 1 0", "CAPA"):
            ra, rb = a.cmd(cmd), b.cmd(cmd)
            self.assertEqual(ra, rb, cmd)
            if ra.startswith("+OK") and cmd != "STAT":
                self.assertEqual(a.body(), b.body(), cmd)

    def test_rescan_mid_session(self):  # fault_run_line + store_rescan: mail delivered mid-session shows
        # RFC 1939 §4 (R1939-AUTHZ-7): pop3refd's session keeps the listing it took at login; the fault
        # build re-reads the maildrop at each command, so a delivered message appears (numbered first: its
        # name sorts before the others).
        srv = self.faulty("rescan-mid-session")
        for server, shows in ((self.srv, False), (srv, True)):
            c = server.login()
            before = c.cmd("STAT")
            server.add_message("alice", "1000000000.early.test", b"Subject: new\r\n\r\nnew\r\n", sub="new")
            after = c.cmd("STAT")
            self.assertEqual(after != before, shows, (before, after))
            c.cmd("QUIT")

    def test_format_seam(self):  # fault_format: the formatted reply
        srv = self.faulty("lowercase-ok")
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
        self.assertTrue(raw_line(s).startswith(b"+ok "))
        s.close()

    def test_overlay_states(self):  # fault_run_line: a command allowed in a state it is not
        c = self.faulty("stat-in-authorization").connect()
        self.assertEqual(c.cmd("STAT"), "+OK 0 0")

    def test_overlay_capa_edit(self):  # fault_run_line: CAPA's finished list edited, TOP still works
        srv = self.faulty("capa-top-uidl-after-login-only")
        pre = srv.connect()
        self.ok(pre.cmd("CAPA"))
        tags = [l.split()[0] for l in pre.body()]
        self.assertNotIn(b"TOP", tags)
        self.assertIn(b"USER", tags)
        c = srv.login()
        self.ok(c.cmd("CAPA"))
        self.assertIn(b"TOP", [l.split()[0] for l in c.body()])
        self.ok(c.cmd("TOP 1 0"))
        c.body()

    def test_overlay_arguments(self):  # fault_run_line: a message number rewritten (renumbering)
        c = self.faulty("renumber-after-dele").login()
        self.ok(c.cmd("DELE 1"))
        self.assertTrue(c.cmd("LIST 1").startswith("+OK 2 "))

    def test_event_seam(self):  # fault_event: what a session leaves behind reaches the next one
        srv = self.faulty("user-outlives-session")
        a = srv.connect()
        self.ok(a.cmd("USER alice"))
        self.ok(a.cmd("QUIT"))
        b = srv.connect()
        self.ok(b.cmd("PASS wonderland"))

    def test_line_max_seam(self):  # fault_line_max
        c = self.faulty("line-limit-128").connect()
        self.err(c.cmd("USER " + "a" * 130))
        self.ok(c.cmd("USER alice"))

    def test_stream_seam(self):  # fault_stream_begin/_output: the message-data filter
        c = self.faulty("bare-lf").login()
        c.send("RETR 2\r\n")
        self.assertTrue(raw_line(c.sock).startswith(b"+OK"))
        line = raw_line(c.sock)  # stored with CRLF, sent with a bare LF
        self.assertTrue(line.endswith(b"\n") and not line.endswith(b"\r\n"), line)

    def test_maildir_seam(self):  # fault_adjust_maildir
        c = self.faulty("uidl-reused").login()
        self.assertEqual(c.cmd("UIDL 2"), "+OK 2 2")

    def test_lock_seam(self):  # fault_skip_lock
        srv = self.faulty("no-lock")
        a, b = srv.login(), srv.login()
        self.ok(a.cmd("STAT"))
        self.ok(b.cmd("STAT"))

    def test_server_start_seam(self):  # fault_server_start: a tenth of the autologout
        c = self.faulty("short-autologout", args=["--idle-timeout", "20"]).connect()
        closed, data = c.closed_within(8 * pop3test.SLOW)  # 2 s, not 20
        self.assertTrue(closed)
        self.assertEqual(data, b"")


if __name__ == "__main__":
    unittest.main()
