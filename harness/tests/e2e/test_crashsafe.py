"""Nothing lost: pop3refd killed with SIGKILL at random moments while several clients DELE, RSET, RETR and QUIT
on the same maildrops (at least 200 kills), the same on a disk that fills (a small tmpfs), while another program
delivers new mail into the Maildir, and while another program removes a message a session has listed.

After every kill: no message is gone unless a session sent QUIT with it marked; every message a session got +OK
to QUIT for is gone; none is truncated or altered; unique-ids are unchanged; the lock of the killed process
never blocks the maildrop (a new pop3refd logs every user in). docs/server.md ("UPDATE is crash-safe") says
why this holds by construction. POP3SPEC_CRASH_KILLS sets the number of kills (default 200)."""

import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from pop3test import SLOW, VALGRIND, Server, ServerTest, as_sent

# Under valgrind (make valgrind) each start takes about a second: fewer kills there, the same checks.
KILLS = int(os.environ.get("POP3SPEC_CRASH_KILLS", "20" if VALGRIND else "200"))
ROUNDS = 4 if VALGRIND else 15  # the kill rounds of the delivery and disk-full cases
USERS = {f"u{i}": f"pw{i}" for i in range(1, 5)}
MIN_MESSAGES = 6  # refill a maildrop below this


def message(user, serial):
    """A distinct message; some are larger so a RETR is still streaming when the kill comes."""
    body = f"serial {serial} for {user}\n".encode() * (1 + (serial % 7) * 300)
    return (f"From: test@example.org\nTo: {user}@example.org\nSubject: m{serial}\n"
            f"Message-ID: <{serial}.{user}@crash.test>\n\n").encode() + body + b".\n..dots\n"


class Client(threading.Thread):
    """One POP3 session doing random work; records what it marked and whether QUIT was sent / answered +OK.
    Any error (the server was killed under it) just ends the thread."""

    def __init__(self, port, user, rng, in_use_ok=True):
        super().__init__(daemon=True)
        self.port, self.user, self.rng = port, user, rng
        self.marked = set()  # message numbers marked at the time QUIT was sent
        self.uids = {}  # number -> unique-id, from UIDL
        self.quit_sent = False
        self.quit_ok = False
        self.logged_in = False

    def run(self):
        try:
            self.session()
        except (OSError, EOFError, ValueError, AssertionError, IndexError):
            pass

    def session(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5 * SLOW)
        f = s.makefile("rb")

        def line():
            ln = f.readline()
            if not ln.endswith(b"\r\n"):
                raise EOFError("cut")
            return ln[:-2]

        def cmd(c):
            s.sendall(c.encode() + b"\r\n")
            return line()

        def multi(c):
            st = cmd(c)
            lines = []
            if st.startswith(b"+OK"):
                while True:
                    ln = line()
                    if ln == b".":
                        break
                    lines.append(ln)
            return st, lines

        try:
            line()
            cmd("USER " + self.user)
            if not cmd("PASS " + USERS[self.user]).startswith(b"+OK"):
                return  # [IN-USE]: another client holds the maildrop
            self.logged_in = True
            st, lines = multi("UIDL")
            for ln in lines:
                n, uid = ln.split()
                self.uids[int(n)] = uid.decode()
            count = len(self.uids)
            marked = set()
            for _ in range(self.rng.randint(1, 8)):
                op = self.rng.random()
                if count and op < 0.55:
                    n = self.rng.randint(1, count)
                    if cmd(f"DELE {n}").startswith(b"+OK"):
                        marked.add(n)
                elif op < 0.65:
                    if cmd("RSET").startswith(b"+OK"):
                        marked.clear()
                elif count and op < 0.85:
                    multi(f"RETR {self.rng.randint(1, count)}")
                else:
                    cmd("NOOP")
            if self.rng.random() < 0.85:
                self.marked = set(marked)
                self.quit_sent = True
                s.sendall(b"QUIT\r\n")
                self.quit_ok = line().startswith(b"+OK")
        finally:
            s.close()


class Ledger:
    """What the maildirs hold and must hold: name -> sha256 of every message written, per user."""

    def __init__(self, maildirs, users, rng):
        self.maildirs, self.rng = maildirs, rng
        self.serial = 0
        self.content = {u: {} for u in users}  # user -> {name: bytes}

    def path(self, user, name, sub="cur"):
        return os.path.join(self.maildirs, user, sub, name)

    def deliver(self, user, sub="cur"):
        """Maildir delivery: write in tmp/, then rename into place (atomic)."""
        self.serial += 1
        name = f"{1700000000 + self.serial}.M{self.serial}P{os.getpid()}.crash"
        data = message(user, self.serial)
        tmp = self.path(user, name, "tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, self.path(user, name, sub))
        except OSError:  # a full disk: the delivery fails, as a real one would; nothing half-written stays
            if os.path.exists(tmp):
                os.unlink(tmp)
            return None
        self.content[user][name] = data
        return name

    def refill(self):
        for user, msgs in self.content.items():
            while len(msgs) < MIN_MESSAGES:
                if self.deliver(user) is None:
                    break

    def on_disk(self, user):
        out = {}
        for sub in ("cur", "new"):
            d = os.path.join(self.maildirs, user, sub)
            for n in os.listdir(d):
                if not n.startswith("."):
                    with open(os.path.join(d, n), "rb") as f:
                        out[n] = f.read()
        return out


class CrashBase(ServerTest):
    """Helpers: a ledger of the maildirs, restarts on the same folders, kill rounds and their checks."""
    tls = False
    maildrops = {}

    def setUp(self):
        super().setUp()
        # Restarts reuse the first server's folder: it is removed once, at the very end.
        self.srv.own_dir = False
        self.addCleanup(shutil.rmtree, self.srv.dir, True)

    def make_ledger(self, maildirs, seed):
        rng = random.Random(seed)
        led = Ledger(maildirs, USERS, rng)
        for u in USERS:
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(maildirs, u, sub), exist_ok=True)
        led.refill()
        return rng, led

    def restart(self):
        """A fresh pop3refd on the same maildirs (the old one is killed if still running)."""
        self.srv.cleanup()
        self.srv = Server(users=USERS, workdir=self.srv.dir, tls=False, args=self.server_args)
        self.srv.own_dir = False
        self.addCleanup(self.srv.cleanup)
        self.srv.start()

    def verify(self, led, clients, what):
        """Check the maildirs against the ledger and the clients' records, then update the ledger."""
        for user, expected in led.content.items():
            disk = led.on_disk(user)
            for name, data in disk.items():
                self.assertIn(name, expected, f"{what}: {user}: a message nobody delivered: {name}")
                self.assertEqual(data, expected[name], f"{what}: {user}/{name} truncated or altered")
            gone = set(expected) - set(disk)
            # Which names may be gone: those a session that sent QUIT had marked; which must be: +OK to QUIT.
            may, must = set(), set()
            for c in clients:
                if c.user != user or not c.quit_sent:
                    continue
                names = {self.uid_to_name(led, user, c.uids[n]) for n in c.marked if n in c.uids}
                may |= names
                if c.quit_ok:
                    must |= names
            self.assertFalse(gone - may, f"{what}: {user}: lost without a QUIT that marked them: {gone - may}")
            self.assertFalse(must - gone, f"{what}: {user}: +OK to QUIT but still there: {must - gone}")
            for name in gone:
                del expected[name]

    @staticmethod
    def uid_to_name(led, user, uid):
        # pop3refd's unique-id of a Maildir message is its base name (before ':'), which these names are.
        return uid

    def check_logins(self, led, what):
        """A new pop3refd logs every user in at once (no lock left behind) and lists unchanged unique-ids."""
        for user in USERS:
            c = self.srv.connect()
            c.cmd("USER " + user)
            r = c.cmd("PASS " + USERS[user])
            self.assertTrue(r.startswith("+OK"), f"{what}: {user} cannot log in after a kill: {r}")
            st, lines = c.multi("UIDL")
            uids = sorted(l.split()[1].decode() for l in lines)
            self.assertEqual(uids, sorted(led.content[user]), f"{what}: {user}: unique-ids changed")
            c.cmd("QUIT")
            c.close()

    def kill_rounds(self, led, rng, rounds, during=None):
        stats = {"sessions": 0, "logged_in": 0, "quit_sent": 0, "quit_ok": 0, "removed": 0}
        for k in range(rounds):
            what = f"kill {k + 1}"
            self.restart()
            self.check_logins(led, what)
            clients = [Client(self.srv.port, rng.choice(list(USERS)), random.Random(rng.random()))
                       for _ in range(rng.randint(3, 6))]
            for c in clients:
                c.start()
            if during:
                during(k)
            time.sleep(rng.random() ** 2 * 0.03 * SLOW)  # often early: inside logins, DELEs, UPDATE
            os.kill(self.srv.proc.pid, signal.SIGKILL)
            self.srv.proc.wait()
            for c in clients:
                c.join(10 * SLOW)
                self.assertFalse(c.is_alive(), f"{what}: a client hangs")
            before = sum(len(m) for m in led.content.values())
            self.verify(led, clients, what)
            stats["removed"] += before - sum(len(m) for m in led.content.values())
            for c in clients:
                stats["sessions"] += 1
                stats["logged_in"] += c.logged_in
                stats["quit_sent"] += c.quit_sent
                stats["quit_ok"] += c.quit_ok
            led.refill()
        # Shown with -v; a run where nothing was ever removed or cut short would prove nothing.
        if os.environ.get("POP3SPEC_CRASH_STATS"):
            print(f"\n  {rounds} kills: {stats}")
        self.assertGreater(stats["logged_in"], 0)
        if rounds >= 50:
            self.assertGreater(stats["quit_ok"], 0)
            self.assertGreater(stats["quit_sent"], stats["quit_ok"])  # some kills hit before the +OK


class CrashTest(CrashBase):
    def test_sigkill_at_random_moments(self):
        rng, led = self.make_ledger(self.srv.maildirs, 1939)
        self.kill_rounds(led, rng, KILLS)
        self.restart()
        self.check_logins(led, "after the last kill")

    def test_concurrent_delivery(self):
        """Another program delivers into new/ while sessions run and the server is killed: the new mail is
        never removed by a session that did not list it, and shows at the next login."""
        rng, led = self.make_ledger(self.srv.maildirs, 2449)

        def deliver(_):
            for _ in range(2):
                led.deliver(rng.choice(list(USERS)), sub="new")

        self.kill_rounds(led, rng, ROUNDS, during=deliver)
        # And within one session: the snapshot stays as it was at login (RFC 1939 §4).
        self.restart()
        c = self.srv.connect()
        c.cmd("USER u1")
        self.ok(c.cmd("PASS pw1"))
        before = c.cmd("STAT")
        name = led.deliver("u1", sub="new")
        self.assertEqual(c.cmd("STAT"), before)
        self.ok(c.cmd("DELE 1"))
        self.ok(c.cmd("QUIT"))
        c.closed_within(5)
        self.assertIn(name, led.on_disk("u1"))

    def test_message_removed_by_another_program(self):
        """A message the session listed is removed behind its back: -ERR for that message, no crash, the rest
        intact, and QUIT still ends cleanly."""
        rng, led = self.make_ledger(self.srv.maildirs, 3206)
        self.restart()
        c = self.srv.connect()
        c.cmd("USER u2")
        self.ok(c.cmd("PASS pw2"))
        st, lines = c.multi("UIDL")
        uids = {int(l.split()[0]): l.split()[1].decode() for l in lines}
        victim = uids[2]
        os.unlink(led.path("u2", victim))
        del led.content["u2"][victim]
        self.err(c.cmd("RETR 2"))
        self.err(c.cmd("TOP 2 0"))
        self.ok(c.cmd("NOOP"))  # the session goes on
        st, body = c.multi("LIST")
        self.ok(st)
        data = led.content["u2"][uids[1]]
        self.ok(c.cmd("RETR 1"))
        self.assertEqual(b"".join(l[1:] + b"\r\n" if l.startswith(b"..") else l + b"\r\n" for l in c.body()),
                         as_sent(data))
        self.ok(c.cmd("DELE 2"))  # marking a vanished message is harmless; UPDATE finds it gone
        self.ok(c.cmd("DELE 3"))
        self.ok(c.cmd("QUIT"))
        c.closed_within(5)
        del led.content["u2"][uids[3]]
        for user in USERS:
            self.assertEqual(led.on_disk(user), led.content[user])
        self.check_logins(led, "after the removal")


def can_mount_tmpfs():
    if os.geteuid() != 0:
        return "not root: cannot mount a tmpfs"
    d = tempfile.mkdtemp(prefix="pop3refd-tmpfs-probe-")
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0:
            return "mount -t tmpfs not permitted here: " + r.stderr.decode(errors="replace").strip()
        subprocess.run(["umount", d], check=False)
        return None
    finally:
        os.rmdir(d)


MOUNT_SKIP = can_mount_tmpfs()


@unittest.skipIf(MOUNT_SKIP, MOUNT_SKIP or "")
class DiskFull(CrashBase):
    """The maildirs on a small tmpfs that another program fills (space, then inodes)."""

    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="pop3refd-tmpfs-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,nr_inodes=400,mode=0700", "tmpfs", self.mnt],
                       check=True)
        self.addCleanup(lambda: (subprocess.run(["umount", "-l", self.mnt]), os.rmdir(self.mnt)))
        self.maildirs = os.path.join(self.mnt, "maildirs")
        os.makedirs(self.maildirs)
        super().setUp()
        # Point the server at the tmpfs: its work folder keeps the users file, the maildirs live on the tmpfs.
        os.rmdir(self.srv.maildirs)
        os.symlink(self.maildirs, self.srv.maildirs)

    def fill_space(self):
        n = 0
        try:
            with open(os.path.join(self.mnt, "filler"), "ab") as f:
                while True:
                    f.write(b"x" * 4096)
                    f.flush()
                    n += 1
        except OSError:
            pass
        return n

    def fill_inodes(self):
        d = os.path.join(self.mnt, "inodes")
        os.makedirs(d, exist_ok=True)
        i = 0
        try:
            while True:
                open(os.path.join(d, str(i)), "w").close()
                i += 1
        except OSError:
            pass

    def free_all(self):
        p = os.path.join(self.mnt, "filler")
        if os.path.exists(p):
            os.unlink(p)
        d = os.path.join(self.mnt, "inodes")
        if os.path.isdir(d):
            for n in os.listdir(d):
                os.unlink(os.path.join(d, n))

    def test_disk_full(self):
        rng, led = self.make_ledger(self.srv.maildirs, 8314)
        # No space left: sessions still read, delete and QUIT (unlink frees space, never needs it); kills too.
        # The filler takes back whatever a QUIT freed before each round, and deliveries fail.
        self.kill_rounds(led, rng, ROUNDS, during=lambda _: self.fill_space())
        self.fill_space()
        self.fill_inodes()
        # No inode left: a user whose lock file does not exist yet cannot log in — a temporary failure, said
        # as such (RFC 3206 [SYS/TEMP]) — and the server goes on serving the others.
        self.restart()
        fresh = "u4"
        lock = os.path.join(self.srv.maildirs, fresh, ".pop3refd.lock")
        if os.path.exists(lock):
            os.unlink(lock)
        self.fill_inodes()
        c = self.srv.connect()
        c.cmd("USER " + fresh)
        r = c.cmd("PASS " + USERS[fresh])
        self.assertTrue(r.startswith("-ERR [SYS/TEMP]"), r)
        self.ok(c.cmd("USER u1"))
        self.ok(c.cmd("PASS pw1"))
        self.ok(c.cmd("QUIT"))
        self.assertIsNone(self.srv.proc.poll())
        self.free_all()
        self.check_logins(led, "after freeing the disk")
        for user in USERS:
            self.assertEqual(led.on_disk(user), led.content[user])


if __name__ == "__main__":
    unittest.main()
