"""test_peer_reset — harness/peers/maildir-reset.sh, the reset of the Dovecot and Courier peers: the user's
~/Maildir becomes a copy of the fixture, and at no moment is there no Maildir. Before, the old one was
renamed away and the copy renamed in, two steps: a login in between got Courier's "-ERR chdir Maildir
failed", and a reset killed between them left no Maildir at all. Now one renameat2(RENAME_EXCHANGE) swaps
them. Needs root (the copy is chowned to the test user's uid, as on the peers)."""

import os
import shutil
import subprocess
import tempfile
import threading
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
RESET = os.path.join(ROOT, "harness", "peers", "maildir-reset.sh")
FIXTURE = os.path.join(ROOT, "fixtures", "maildrops", "three")
EMPTY = os.path.join(ROOT, "fixtures", "maildrops", "empty")
USER, UID = "user15", 5015


def files(maildir):
    return sorted(n for sub in ("cur", "new") for n in os.listdir(os.path.join(maildir, sub)))


@unittest.skipUnless(os.geteuid() == 0, "needs root (chown to the test user)")
class MaildirReset(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pop3spec-e2e-reset-")
        self.homes = os.path.join(self.tmp, "homes")
        os.makedirs(os.path.join(self.homes, USER))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def reset(self, fixture):
        r = subprocess.run([RESET, USER, fixture, self.homes], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_copy_owned_by_the_user_and_nothing_left_beside(self):
        self.reset(FIXTURE)
        md = os.path.join(self.homes, USER, "Maildir")
        self.assertEqual(files(md), sorted(n for sub in ("cur", "new")
                                           for n in os.listdir(os.path.join(FIXTURE, sub))
                                           if not n.startswith(".")))
        self.assertEqual(os.stat(md).st_uid, UID)
        self.reset(FIXTURE)   # over an existing one: swapped, the old one removed
        self.assertEqual(os.listdir(os.path.join(self.homes, USER)), ["Maildir"])

    def test_never_a_moment_without_a_maildir(self):
        self.reset(FIXTURE)
        cur = os.path.join(self.homes, USER, "Maildir", "cur")
        missing = []
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                if not os.path.isdir(cur):
                    missing.append(1)

        th = threading.Thread(target=watch)
        th.start()
        try:
            for i in range(20):   # the two-rename reset showed thousands of misses in 20 resets
                self.reset(EMPTY if i % 2 else FIXTURE)
        finally:
            stop.set()
            th.join()
        self.assertEqual(len(missing), 0, "a login could have found no Maildir")


if __name__ == "__main__":
    unittest.main()
