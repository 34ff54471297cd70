"""Deletion as pop3refd's Maildir sees it (files removed in UPDATE only, after QUIT, not after RSET), its lock
(refused with [IN-USE], across connections and two server processes), unique-ids across restarts, mail
delivered during a session, and failures of the maildrop. What the wire alone shows (DELE, RSET, drops
without QUIT) is the suite's job (scenarios/rfc1939/dele, rset, upd, quit): docs/testing.md."""

import os
import shutil

from pop3test import DEFAULT_MAILDROP, MSG_CRLF, Server, ServerTest, as_sent

NAMES = [n for n, _ in DEFAULT_MAILDROP]


class Deletion(ServerTest):
    def test_dele_marks_only(self):
        # On disk: DELE removes no file before UPDATE (the suite can only see the wire: R1939-DELE-5).
        c = self.srv.login()
        self.ok(c.cmd("DELE 1"))
        self.ok(c.cmd("DELE 2"))
        self.assertEqual(self.srv.messages("alice"), NAMES)

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

    def test_quit_then_noop_in_one_write(self):
        c = self.srv.login()
        c.send("DELE 3\r\nQUIT\r\nNOOP\r\n")
        self.ok(c.status())
        self.ok(c.status())
        closed, data = c.closed_within(5)  # R1939-STATE-7: no reply to NOOP
        self.assertTrue(closed)
        self.assertEqual(data, b"")
        self.assertEqual(self.srv.messages("alice"), NAMES[:2])

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
        b.close()
        b = other.login_when_free()  # the other process gets the lock once this one has seen the close
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
