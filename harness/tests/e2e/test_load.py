"""test_load — `pop3spec load` end to end: against pop3refd it must find nothing (no false verdict under
concurrency), and against bin/pop3refd-faults each seeded concurrency fault must be found, with the right
kind of violation, within 10 s. Also the JSON contract, a target profile (not --reference), usage errors,
and sharded runs merged by `pop3spec report --merge` adding up to one run's totals. Python 3 stdlib only."""

import json
import os
import subprocess
import tempfile
import unittest

import pop3test
from hostile import ROOT, BIN, run_pop3spec

FAULTS = os.path.join(BIN, "pop3refd-faults")

# fault -> the violation kinds that name what it breaks (docs/stress.md)
FAULT_KINDS = {
    "dele-removes-immediately": {"lost-message", "isolation"},  # DELE unlinks: a drop or RSET loses it
    "no-lock": {"isolation", "lost-message", "deleted-visible"},  # two sessions share one maildrop
    "renumber-after-dele": {"inconsistent", "content", "isolation"},  # numbers shift after DELE
    "uidl-reused": {"uid-changed", "uid-reused"},  # unique-id = message number
    "delete-on-drop": {"lost-message"},  # a dropped session's marks are removed
    "quit-no-remove": {"deleted-visible"},  # QUIT +OK but nothing removed
    "lock-leak-on-drop": {"in-use"},  # [IN-USE] long after the holder dropped
}


def load(args, env=None, limit=60):
    with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-load-") as tmp:
        path = os.path.join(tmp, "load.json")
        r = run_pop3spec(["load", "-q", "--json", path] + args, limit=limit, env=env)
        doc = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        elif r.rc != 2:  # only a usage error writes no report; anything else (a sanitizer report) is shown
            raise AssertionError(f"pop3spec load ended with status {r.rc} and wrote no JSON; stderr:\n"
                                 + r.stderr[-4000:])
        return r, doc


def kinds(doc):
    return sorted({v["kind"] for v in doc["violations"]})


class Load(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(FAULTS):
            subprocess.run(["make", "--no-print-directory", "-s", "BIN=" + BIN, FAULTS], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)

    def test_reference_has_no_violation(self):
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-load-") as tmp:
            html = os.path.join(tmp, "load.html")
            r, doc = load(["--reference", "--clients", "16", "--duration", "6", "--seed", "42", "--html", html])
            with open(html, encoding="utf-8") as f:
                page = f.read()
        self.assertIn("<h1>pop3spec load: pop3refd (reference)</h1>", page)
        self.assertIn("<th>RETR</th>", page)
        self.assertEqual(doc["violations"], [], r.stdout[-4000:])
        self.assertEqual(r.rc, 0, r.stdout[-2000:] + r.stderr[-2000:])
        # the JSON contract (issue 11)
        for key in ("target", "mode", "seed", "duration_s", "sessions", "commands", "violations", "latency"):
            self.assertIn(key, doc)
        self.assertEqual(doc["mode"], "load")
        self.assertEqual(doc["seed"], 42)
        self.assertGreater(doc["sessions"], 100)
        self.assertGreater(doc["commands"], doc["sessions"])
        self.assertGreater(doc["quits"], 0)
        self.assertGreater(doc["dropped"], 0)
        # several clients per account on purpose: some logins meet a locked maildrop
        self.assertGreater(doc["refused"], 0)
        for cmd in ("STAT", "LIST", "RETR", "DELE", "QUIT", "APOP", "session"):
            h = doc["latency"][cmd]
            self.assertGreater(h["count"], 0, cmd)
            self.assertEqual(sum(n for _, n in h["buckets"]), h["count"], cmd)
            self.assertLessEqual(h["p50_us"], h["p99_us"])
            self.assertLessEqual(h["p99_us"], h["max_us"])

    def test_each_fault_is_found_within_10_s(self):
        for fault, want in FAULT_KINDS.items():
            with self.subTest(fault=fault):
                env = dict(os.environ, POP3REFD=FAULTS, POP3REFD_ARGS=f"--fault {fault}")
                r, doc = load(["--reference", "--clients", "8", "--duration", "10", "--seed", "7",
                               "--max-violations", "1"], env=env)
                self.assertEqual(r.rc, 1, f"{fault}: exit {r.rc}\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
                self.assertIsNotNone(doc, f"{fault}: no JSON written\n{r.stdout[-2000:]}{r.stderr[-3000:]}")
                self.assertTrue(set(kinds(doc)) & want, f"{fault}: found {kinds(doc)}, expected one of {want}")
                self.assertLess(doc["duration_s"], 10.0)
                v = doc["violations"][0]
                self.assertTrue(v["message"])
                self.assertTrue(v["transcripts"] and v["transcripts"][0]["lines"], v)

    def test_shared_ok_tolerates_only_real_concurrent_deletions(self):
        # --shared-ok: a server without a lock (Dovecot's pop3_lock_session=no) may show another session's
        # expunge as -ERR; no-lock then passes, but a lost message is still found.
        env = dict(os.environ, POP3REFD=FAULTS, POP3REFD_ARGS="--fault no-lock")
        r, doc = load(["--reference", "--clients", "8", "--duration", "5", "--seed", "1", "--shared-ok"], env=env)
        self.assertEqual((r.rc, doc["violations"]), (0, []), r.stdout[-3000:])
        self.assertGreater(doc["shared"], 0)
        env = dict(os.environ, POP3REFD=FAULTS, POP3REFD_ARGS="--fault delete-on-drop")
        r, doc = load(["--reference", "--clients", "8", "--duration", "10", "--seed", "1", "--shared-ok",
                       "--max-violations", "1"], env=env)
        self.assertEqual(r.rc, 1)
        self.assertIn("lost-message", kinds(doc))

    def test_target_profile(self):
        users = {f"user0{i}": f"pass0{i}" for i in range(1, 5)}
        srv = pop3test.Server(users=users, maildrops={}).start()
        try:
            cert, _ = pop3test.certificate()
            ca = os.path.join(os.path.dirname(cert), "ca.pem")
            with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-load-") as tmp:
                prof = os.path.join(tmp, "target.yaml")
                with open(prof, "w") as f:
                    f.write(f"name: by hand\nhost: 127.0.0.1\nport: {srv.port}\ntls_port: {srv.tls_port}\n"
                            f"tls_verify: {'true' if os.path.exists(ca) else 'false'}\n"
                            + (f"ca: {ca}\n" if os.path.exists(ca) else "") + "sni: localhost\naccounts:\n"
                            + "".join(f"  - {{user: {u}, password: {p}}}\n" for u, p in users.items())
                            + f"maildirs: {srv.maildirs}\n")
                r, doc = load(["--target", prof, "--clients", "6", "--sessions", "150", "--seed", "3",
                               "--messages", "12"])
            self.assertEqual(r.rc, 0, r.stdout[-3000:] + r.stderr[-2000:])
            self.assertEqual(doc["sessions"], 150)
            self.assertEqual(doc["messages"], 12)
            self.assertEqual(doc["accounts"], 4)
        finally:
            srv.stop()
            srv.cleanup()

    def test_apop_refused_proves_nothing(self):
        # A server whose APOP refuses a correct digest (the secret may not be the password, or APOP may
        # need TLS): load stops using APOP and blames nothing; the run goes on with USER/PASS.
        env = dict(os.environ, POP3REFD=FAULTS, POP3REFD_ARGS="--fault apop-digest-reversed")
        r, doc = load(["--reference", "--clients", "4", "--duration", "3", "--seed", "2", "--mix", "apop=100"],
                      env=env)
        self.assertEqual((r.rc, doc["violations"]), (0, []), r.stdout[-3000:])
        self.assertEqual(doc["latency"]["APOP"]["ok"], 0)
        self.assertGreater(doc["latency"]["APOP"]["err"], 0)
        self.assertGreater(doc["latency"]["PASS"]["ok"], 10)

    def test_deliveries_reference_passes(self):
        # Mail delivered during the run (Maildir: tmp/ then new/), into maildrops that sessions hold: a
        # correct server lists it from the next login on, and never inside a running session.
        r, doc = load(["--reference", "--clients", "16", "--duration", "8", "--seed", "5",
                       "--deliver-every", "0.05"])
        self.assertEqual((r.rc, doc["violations"]), (0, []), r.stdout[-4000:] + r.stderr[-2000:])
        self.assertGreater(doc["deliveries"], 10)
        self.assertEqual(doc["messages"], 20)

    def test_delivery_fault_is_found(self):
        # rescan-mid-session: every command re-reads the maildrop, so delivered mail shows up (and numbers
        # shift when it sorts first) inside a session. Found within seconds with deliveries; without them
        # the same server gives nothing to see (the fault needs a delivery).
        env = dict(os.environ, POP3REFD=FAULTS, POP3REFD_ARGS="--fault rescan-mid-session")
        r, doc = load(["--reference", "--clients", "16", "--duration", "10", "--seed", "7", "--deliver-every", "0.05",
                       "--max-violations", "1"], env=env)
        self.assertEqual(r.rc, 1, r.stdout[-2000:] + r.stderr[-2000:])
        self.assertTrue(set(kinds(doc)) & {"inconsistent", "malformed", "content", "isolation"}, kinds(doc))
        self.assertLess(doc["duration_s"], 10.0)
        self.assertGreater(doc["deliveries"], 0)
        r, doc = load(["--reference", "--clients", "8", "--duration", "3", "--seed", "7"], env=env)
        self.assertEqual((r.rc, doc["violations"]), (0, []), r.stdout[-3000:])

    def test_deliver_command(self):
        # --deliver CMD: a command with reset's placeholders brings the message ({fixture} holds it alone).
        users = {f"user0{i}": f"pass0{i}" for i in range(1, 4)}
        srv = pop3test.Server(users=users, maildrops={}).start()
        try:
            with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-load-") as tmp:
                prof = os.path.join(tmp, "target.yaml")
                with open(prof, "w") as f:
                    f.write(f"name: by hand\nhost: 127.0.0.1\nport: {srv.port}\naccounts:\n"
                            + "".join(f"  - {{user: {u}, password: {p}}}\n" for u, p in users.items())
                            + f"maildirs: {srv.maildirs}\n")
                log = os.path.join(tmp, "delivered")
                # Atomic, as Maildir delivery must be: tmp/ then a rename into new/ (a plain cp into new/
                # lets a login list the half-written file, which load rightly reports as unknown-message).
                box = f"{srv.maildirs}/{{user}}"
                cmd = (f"for f in {{fixture}}/new/*; do n=$(basename $f); cp $f {box}/tmp/$n && "
                       f"mv {box}/tmp/$n {box}/new/$n || exit 1; done && echo {{user}} >> {log}")
                # Two clients on three accounts: an account its sessions emptied takes no delivery until
                # its reset, which waits for a moment with no session on it (six busy clients starved it).
                r, doc = load(["--target", prof, "--clients", "2", "--duration", "4", "--seed", "3",
                               "--deliver-every", "0.1", "--deliver", cmd])
                self.assertEqual((r.rc, doc["violations"]), (0, []), r.stdout[-3000:] + r.stderr[-2000:])
                self.assertGreater(doc["deliveries"], 0)  # how many fit in 4 s depends on the load
                with open(log) as f:
                    self.assertEqual(len(f.read().split()), doc["deliveries"])
                # a failing command is a target error (exit 2), not a finding
                r, doc = load(["--target", prof, "--clients", "2", "--duration", "4", "--seed", "3",
                               "--deliver-every", "0.1", "--deliver", "exit 3"])
                self.assertEqual(r.rc, 2, r.stdout[-3000:])
                self.assertIn("target-error", kinds(doc))
                # a profile with a reset command but no --deliver cannot deliver
                with open(prof, "w") as f:
                    f.write(f"name: by hand\nhost: 127.0.0.1\nport: {srv.port}\naccounts:\n"
                            + "".join(f"  - {{user: {u}, password: {p}}}\n" for u, p in users.items())
                            + "reset: 'true {user} {fixture}'\n")
                r, _ = load(["--target", prof, "--duration", "1", "--deliver-every", "0.1"])
                self.assertEqual(r.rc, 2)
        finally:
            srv.stop()
            srv.cleanup()

    def test_shards_merge_to_one_runs_totals(self):
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-load-") as tmp:
            paths = []
            for i in (1, 2):
                p = os.path.join(tmp, f"shard{i}.json")
                r = run_pop3spec(["load", "--reference", "-q", "--sessions", "81", "--clients", "4", "--seed", "9",
                                  "--shard", f"{i}/2", "--json", p], limit=60)
                self.assertEqual(r.rc, 0, r.stdout[-2000:])
                paths.append(p)
            merged = os.path.join(tmp, "merged.json")
            r = run_pop3spec(["report", "--merge"] + paths + ["--json", merged])
            self.assertEqual(r.rc, 0, r.stdout[-2000:] + r.stderr[-2000:])
            docs = [json.load(open(p)) for p in paths]
            with open(merged, encoding="utf-8") as f:
                m = json.load(f)
        self.assertEqual([d["sessions"] for d in docs], [41, 40])
        self.assertEqual(docs[0]["accounts"] + docs[1]["accounts"], 16)
        self.assertEqual(m["sessions"], 81)
        self.assertEqual(m["commands"], docs[0]["commands"] + docs[1]["commands"])
        self.assertEqual(m["shards"], 2)
        for cmd, h in m["latency"].items():
            parts = [d["latency"][cmd] for d in docs if cmd in d["latency"]]
            self.assertEqual(h["count"], sum(p["count"] for p in parts), cmd)
            self.assertEqual(h["max_us"], max(p["max_us"] for p in parts), cmd)
            self.assertEqual(h["min_us"], min(p["min_us"] for p in parts), cmd)
            buckets = {}
            for p in parts:
                for i, n in p["buckets"]:
                    buckets[i] = buckets.get(i, 0) + n
            self.assertEqual(dict((i, n) for i, n in h["buckets"]), buckets, cmd)

    def test_usage_errors(self):
        for args in (["load"], ["load", "--reference", "--clients", "0"], ["load", "--reference", "--bogus"],
                     ["load", "--reference", "--duration", "1", "--sessions", "5"],
                     ["load", "--reference", "--mix", "drop=200"], ["load", "--reference", "--shard", "3/2"],
                     ["load", "--target", "/nonexistent.yaml"],
                     ["load", "--reference", "--deliver", "true"],
                     ["load", "--reference", "--deliver-every", "0"]):
            r = run_pop3spec(args, limit=20)
            self.assertEqual(r.rc, 2, f"{args}: {r.rc} {r.stderr}")


if __name__ == "__main__":
    unittest.main()
