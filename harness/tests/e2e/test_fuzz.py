"""test_fuzz — `pop3spec fuzz` end to end: against pop3refd a run finds nothing; against
bin/pop3refd-faults --fault overlong-line-executed (the rest of an over-long line runs as a command) it
finds the deletion, and the scenario it prints is valid, passes against pop3refd and fails against the
faulty server. Python 3 stdlib only."""

import json
import os
import select
import socket
import subprocess
import tempfile
import threading
import unittest

import pop3test
from hostile import ROOT, BIN, run_pop3spec

FAULTS = os.path.join(BIN, "pop3refd-faults")


def fuzz(args, env=None):
    with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-fuzz-") as tmp:
        path = os.path.join(tmp, "fuzz.json")
        r = run_pop3spec(["fuzz", "-q", "--json", path] + args, limit=90, env=env)
        with open(path, encoding="utf-8") as f:
            return r, json.load(f)


class Proxy:
    """A TCP proxy in front of pop3refd that misbehaves on purpose, as a server could:
    'one-read-hello' (before the implicit-TLS port) takes the ClientHello with one recv() and closes the
    connection unless that read held a whole TLS record; 'line-timeout' (before the plain port) closes a
    connection whose command line stays incomplete for 50 ms."""

    def __init__(self, upstream_port, mode):
        self.up, self.mode = upstream_port, mode
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopped:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        u = socket.create_connection(("127.0.0.1", self.up))
        try:
            if self.mode == "one-read-hello":
                first = c.recv(65536)
                if len(first) < 5 or len(first) < 5 + int.from_bytes(first[3:5], "big"):
                    return
                u.sendall(first)
            partial = False
            while True:
                r, _, _ = select.select([c, u], [], [], 0.05)
                if not r:
                    if self.mode == "line-timeout" and partial:
                        return
                    continue
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (u if s is c else c).sendall(data)
                    if s is c:
                        partial = not data.endswith(b"\n")
        except OSError:
            pass
        finally:
            c.close()
            u.close()

    def stop(self):
        self.stopped = True
        self.ls.close()


def profile(tmp, srv, port, tls_port):
    cert, _ = pop3test.certificate()
    ca = os.path.join(os.path.dirname(cert), "ca.pem")
    path = os.path.join(tmp, "target.yaml")
    with open(path, "w") as f:
        f.write(f"name: proxied\nhost: 127.0.0.1\nport: {port}\ntls_port: {tls_port}\n"
                f"tls_verify: {'true' if os.path.exists(ca) else 'false'}\n"
                + (f"ca: {ca}\n" if os.path.exists(ca) else "") + "sni: localhost\naccounts:\n"
                + "".join(f"  - {{user: {u}, password: {p}}}\n" for u, p in srv.users.items())
                + f"maildirs: {srv.maildirs}\n")
    return path


class Fuzz(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(FAULTS):
            subprocess.run(["make", "--no-print-directory", "-s", "BIN=" + BIN, FAULTS], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)

    def test_reference_survives(self):
        r, doc = fuzz(["--reference", "--duration", "12", "--seed", "5"])
        self.assertEqual(doc["violations"], [], r.stdout[-3000:])
        self.assertEqual(r.rc, 0, r.stdout[-2000:] + r.stderr[-2000:])
        self.assertEqual(doc["mode"], "fuzz")
        self.assertGreater(doc["cases"], 100)

    def test_overlong_line_executed_is_found_with_a_scenario(self):
        env = dict(os.environ, POP3REFD=FAULTS, POP3REFD_ARGS="--fault overlong-line-executed")
        r, doc = fuzz(["--reference", "--duration", "40", "--seed", "1", "--max-findings", "1"], env=env)
        self.assertEqual(r.rc, 1, r.stdout[-2000:] + r.stderr[-2000:])
        v = doc["violations"][0]
        self.assertEqual(v["kind"], "state")
        yaml = v["reproducer"]
        self.assertIn("raw:", yaml)
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-fuzz-") as tmp:
            d = os.path.join(tmp, "robustness", "fuzz")
            os.makedirs(d)
            with open(os.path.join(d, "found.yaml"), "w") as f:
                f.write(yaml)
            self.assertEqual(run_pop3spec(["check", os.path.join(d, "found.yaml")]).rc, 0)
            good = run_pop3spec(["run", "--reference", "-q", tmp], limit=60)
            self.assertEqual(good.rc, 0, good.stdout[-2000:])
            bad = run_pop3spec(["run", "--reference", "-q", tmp], limit=60, env=env)
            self.assertEqual(bad.rc, 1, bad.stdout[-2000:])

    def test_timing_cases_pass_against_pop3refd(self):
        # The TLS handshake in fragments (STLS and the implicit-TLS port) and the slow client: pop3refd
        # reassembles the handshake, serves others while one client trickles, and answers the line.
        r, doc = fuzz(["--reference", "--duration", "8", "--seed", "4", "--gen", "tls-fragments,slow-client"])
        self.assertEqual((r.rc, doc["violations"]), (0, []), r.stdout[-3000:])
        self.assertGreater(doc["tls_cases"], 3)
        self.assertGreater(doc["slow_cases"], 1)
        self.assertEqual(doc["cases"], doc["tls_cases"] + doc["slow_cases"])

    @staticmethod
    def fuzz_behind_proxy(behaviour, tls, gen):
        """fuzz --gen GEN against pop3refd with one port (the implicit-TLS one when tls, else the plain one)
        behind a Proxy that misbehaves as `behaviour`: (result, JSON report)."""
        srv = pop3test.Server(users={"user01": "pass01", "user02": "pass02"}, maildrops={}).start()
        proxy = Proxy(srv.tls_port if tls else srv.port, behaviour)
        try:
            with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-fuzz-") as tmp:
                prof = profile(tmp, srv, srv.port if tls else proxy.port, proxy.port if tls else srv.tls_port)
                return fuzz(["--target", prof, "--duration", "20", "--seed", "2", "--gen", gen,
                             "--max-findings", "1"])
        finally:
            proxy.stop()
            srv.stop()
            srv.cleanup()

    def test_fragmented_handshake_failure_is_found(self):
        r, doc = self.fuzz_behind_proxy("one-read-hello", True, "tls-fragments")
        self.assertEqual(r.rc, 1, r.stdout[-3000:] + r.stderr[-2000:])
        v = doc["violations"][0]
        self.assertEqual(v["kind"], "tls", v)
        self.assertIn("small writes", v["message"])
        self.assertIn("--seed 2", v["reproducer"])

    def test_slow_client_closed_is_found(self):
        r, doc = self.fuzz_behind_proxy("line-timeout", False, "slow-client")
        self.assertEqual(r.rc, 1, r.stdout[-3000:] + r.stderr[-2000:])
        v = doc["violations"][0]
        self.assertEqual(v["kind"], "slow", v)
        self.assertIn("RFC 1939 §3", v["message"])

    def test_shards_merge(self):
        with tempfile.TemporaryDirectory(prefix="pop3spec-e2e-fuzz-") as tmp:
            paths = []
            for i in (1, 2):
                p = os.path.join(tmp, f"s{i}.json")
                r = run_pop3spec(["fuzz", "--reference", "-q", "--cases", "15", "--seed", "3", "--shard", f"{i}/2",
                                  "--json", p], limit=60)
                self.assertEqual(r.rc, 0, r.stdout[-2000:])
                paths.append(p)
            merged = os.path.join(tmp, "m.json")
            r = run_pop3spec(["report", "--merge"] + paths + ["--json", merged])
            self.assertEqual(r.rc, 0, r.stdout + r.stderr)
            m = json.load(open(merged))
            # one run of the same 30 cases: the same totals (shard i runs cases i-1, i-1+N, ...)
            one = os.path.join(tmp, "one.json")
            r = run_pop3spec(["fuzz", "--reference", "-q", "--cases", "30", "--seed", "3", "--json", one], limit=60)
            self.assertEqual(r.rc, 0, r.stdout[-2000:])
            o = json.load(open(one))
        self.assertEqual((m["mode"], m["cases"], m["shards"], m["violations"]), ("fuzz", 30, 2, []))
        for key in ("cases", "sessions", "commands", "tls_cases", "slow_cases", "consistency_checks_skipped"):
            self.assertEqual(m[key], o[key], key)

    def test_usage_errors(self):
        for args in (["fuzz"], ["fuzz", "--reference", "--duration", "x"], ["fuzz", "--reference", "--bogus", "1"],
                     ["fuzz", "--target", "/nonexistent.yaml"], ["fuzz", "--reference", "--gen", "nope"]):
            self.assertEqual(run_pop3spec(args, limit=20).rc, 2, args)


if __name__ == "__main__":
    unittest.main()
