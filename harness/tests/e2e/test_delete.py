"""Deletion semantics (DELE, RSET, QUIT and UPDATE; drops without QUIT), locking across connections and across
two server processes, unique-ids across restarts, and failures of the maildrop."""

import os
import shutil
import time

from pop3test import DEFAULT_MAILDROP, MSG_CRLF, Server, ServerTest, as_sent

NAMES = [n for n, _ in DEFAULT_MAILDROP]


class Deletion(ServerTest):
    def test_dele_marks_only(self):
        c = self.srv.login()
        self.ok(c.cmd("DELE 1"))  # R1939-DELE-1
        self.assertEqual(c.cmd("STAT"), f"+OK 2 {sum(len(as_sent(m)) for _, m in DEFAULT_MAILDROP[1:])}")
        self.err(c.cmd("DELE 1"))  # R1939-DELE-2
        for cmd in ["LIST 1", "RETR 1", "TOP 1 0", "UIDL 1"]:
            self.err(c.cmd(cmd))  # R1939-DELE-4
        st, lines = c.multi("LIST")
        self.assertEqual([l.split()[0] for l in lines], [b"2", b"3"])  # R1939-LIST-7, numbers kept
        st, lines = c.multi("UIDL")
        self.assertEqual([l.split()[0] for l in lines], [b"2", b"3"])  # R1939-UIDL-9
        self.assertEqual(c.retr(2), as_sent(MSG_CRLF))  # R1939-DELE-6
        self.assertEqual(self.srv.messages("alice"), NAMES)  # nothing removed yet (R1939-DELE-5)
        for bad in ["DELE", "DELE x", "DELE 0", "DELE 999"]:
            self.err(c.cmd(bad))  # R1939-DELE-3

    def test_quit_removes_marked(self):
        c = self.srv.login()
        self.ok(c.cmd("DELE 2"))
        self.ok(c.cmd("QUIT"))  # R1939-QUIT-2
        closed, data = c.closed_within(5)
        self.assertTrue(closed)
        self.assertEqual(data, b"")
        self.assertEqual(self.srv.messages("alice"), [NAMES[0], NAMES[2]])  # R1939-QUIT-3
        c = self.srv.login()  # R1939-QUIT-5: the lock is released
        self.assertEqual(c.cmd("STAT").split()[1], "2")

    def test_rset(self):
        c = self.srv.login()
        before = c.cmd("STAT")
        self.ok(c.cmd("RSET"))  # nothing marked: still +OK
        self.ok(c.cmd("DELE 1"))
        self.ok(c.cmd("DELE 2"))
        self.ok(c.cmd("RSET"))  # R1939-RSET-1
        self.assertEqual(c.cmd("STAT"), before)
        self.ok(c.cmd("RETR 1").split()[0])
        c.body()
        self.ok(c.cmd("QUIT"))
        c.closed_within(5)
        self.assertEqual(self.srv.messages("alice"), NAMES)  # R1939-RSET-2

    def test_drop_keeps_mail(self):
        c = self.srv.login()
        self.ok(c.cmd("DELE 1"))
        c.close()  # FIN without QUIT: R1939-UPD-1
        time.sleep(0.2)
        c = self.srv.login()  # R1939-UPD-2: the lock is free again
        self.assertEqual(c.cmd("STAT").split()[1], "3")
        self.ok(c.cmd("DELE 1"))
        c.abort()  # RST without QUIT
        time.sleep(0.2)
        c = self.srv.login()
        self.assertEqual(c.cmd("STAT").split()[1], "3")
        self.assertEqual(self.srv.messages("alice"), NAMES)

    def test_quit_in_authorization_no_update(self):
        c = self.srv.connect()
        self.ok(c.cmd("QUIT"))  # R1939-STATE-6
        self.assertEqual(self.srv.messages("alice"), NAMES)

    def test_quit_then_noop_in_one_write(self):
        c = self.srv.login()
        c.send("DELE 3\r\nQUIT\r\nNOOP\r\n")
        self.ok(c.status())
        self.ok(c.status())
        closed, data = c.closed_within(5)  # R1939-STATE-7: no reply to NOOP
        self.assertTrue(closed)
        self.assertEqual(data, b"")
        self.assertEqual(self.srv.messages("alice"), NAMES[:2])

    def test_retr_does_not_delete(self):
        c = self.srv.login()
        c.retr(1)
        self.ok(c.cmd("QUIT"))
        c.closed_within(5)
        self.assertEqual(self.srv.messages("alice"), NAMES)  # R1939-RETR-3

    def test_snapshot(self):
        c = self.srv.login()
        self.srv.add_message("alice", "2000.new.test", b"Subject: late\n\nlate\n", sub="new")
        self.assertEqual(c.cmd("STAT").split()[1], "3")  # R1939-AUTHZ-7
        c.cmd("QUIT")
        c.closed_within(5)
        c = self.srv.login()
        self.assertEqual(c.cmd("STAT").split()[1], "4")

    def test_update_failure(self):
        c = self.srv.login()
        self.ok(c.cmd("DELE 1"))
        # Make the removal fail: the message file becomes a non-empty directory, which unlink(2) refuses.
        path = os.path.join(self.srv.maildirs, "alice", "cur", NAMES[0])
        os.unlink(path)
        os.mkdir(path)
        open(os.path.join(path, "x"), "w").close()
        self.err(c.cmd("QUIT"), "SYS/TEMP")  # R1939-QUIT-4
        closed, _ = c.closed_within(5)
        self.assertTrue(closed)  # R1939-QUIT-5
        shutil.rmtree(path)
        c = self.srv.login()  # the lock was released
        self.ok(c.cmd("NOOP"))


class Locking(ServerTest):
    def test_lock_across_connections(self):
        a = self.srv.login()
        b = self.srv.connect()
        self.ok(b.cmd("USER alice"))
        self.err(b.cmd("PASS wonderland"), "IN-USE")  # R1939-AUTHZ-2
        self.err(b.cmd("STAT"))  # R1939-AUTHZ-3: still AUTHORIZATION
        self.ok(b.cmd("USER bob"))
        self.ok(b.cmd("PASS builder"))  # other users are not affected
        a.cmd("QUIT")
        a.closed_within(5)
        c = self.srv.login()
        self.ok(c.cmd("STAT"))

    def test_lock_across_processes(self):
        other = Server(workdir=self.srv.dir, args=self.srv.args)
        self.extra.append(other)
        other.start()
        a = self.srv.login()
        b = other.connect()
        self.ok(b.cmd("USER alice"))
        self.err(b.cmd("PASS wonderland"), "IN-USE")
        a.close()
        time.sleep(0.3)
        self.ok(b.cmd("USER alice"))
        self.ok(b.cmd("PASS wonderland"))
        self.ok(b.cmd("DELE 1"))
        c = self.srv.connect()
        c.cmd("USER alice")
        self.err(c.cmd("PASS wonderland"), "IN-USE")
        b.cmd("QUIT")
        b.closed_within(5)
        self.assertEqual(self.srv.messages("alice"), NAMES[1:])
        other.stop()


class Restart(ServerTest):
    def test_uids_stable_across_restart(self):
        c = self.srv.login()
        st, before = c.multi("UIDL")
        c.close()  # R1939-UIDL-7: ended without UPDATE
        self.srv.stop()
        self.srv.start()
        c = self.srv.login()
        st, after = c.multi("UIDL")
        self.assertEqual(before, after)  # R1939-UIDL-6, P-MSG-4
        c.cmd("DELE 1")
        c.cmd("QUIT")
        c.closed_within(5)
        c = self.srv.login()
        st, later = c.multi("UIDL")
        self.assertEqual([l.split()[1] for l in later], [l.split()[1] for l in before[1:]])


class BrokenMaildrop(ServerTest):
    maildrops = {}

    def test_not_a_maildir(self):
        os.makedirs(os.path.join(self.srv.maildirs, "alice", "junk"))  # no cur/ or new/
        c = self.srv.connect()
        c.cmd("USER alice")
        self.err(c.cmd("PASS wonderland"), "SYS/PERM")  # R3206-SYS-2, R1939-AUTHZ-3
        self.err(c.cmd("STAT"))
        c = self.srv.connect()  # the lock was released before the -ERR (R1939-AUTHZ-4)
        c.cmd("USER alice")
        self.err(c.cmd("PASS wonderland"), "SYS/PERM")

    def test_maildir_is_a_file(self):
        with open(os.path.join(self.srv.maildirs, "alice"), "w") as f:
            f.write("not a directory\n")
        c = self.srv.connect()
        c.cmd("USER alice")
        self.err(c.cmd("PASS wonderland"), "SYS/PERM")
        self.ok(c.cmd("USER bob"))
        self.ok(c.cmd("PASS builder"))
