"""test_accuracy_fixtures — correct servers that are not pop3refd's twin must not fail the suite.

Each test runs bin/pop3spec over real sockets against the real pop3refd, made into another server the RFCs
allow: its mail delivered through an agent that adds trace fields and stores LF (deliver_agent.py as the
reset, `delivery: agent`), or a proxy in front of it (pop3proxy.py) that writes an X-UIDL field into
stored mail, refuses everything but PASS and QUIT after USER (RFC 1939 §7), closes after an
authentication -ERR (RFC 1939 §4), or answers QUIT before the server's UPDATE (the lock verdicts must not
race it). The whole default suite must come out without fail, warn or error —
except the one deviation the X-UIDL server has, reported once in rfc1939/retr/message-as-delivered. Each
test also shows it can fail: byte-exact judging (`delivery: verbatim`) of the agent's copies fails, and the
scenario forms the audit replaced fail against the strict servers."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from hostile import ROOT, run_pop3spec
from pop3proxy import Proxy
from pop3test import Server

ACCOUNTS = {f"user{i:02d}": f"pass{i:02d}" for i in range(1, 17)}
CA = os.path.join(ROOT, "fixtures", "generated", "tls", "ca.pem")
DELIVER = os.path.join(ROOT, "harness", "tests", "e2e", "deliver_agent.py")
INTEGRITY = "rfc1939/retr/message-as-delivered"


def profile(path, port, tls_port, *, reset=None, maildirs=None, delivery=None):
    lines = ["name: accuracy", "host: 127.0.0.1", f"port: {port}", f"tls_port: {tls_port}",
             f"ca: {CA}", "sni: localhost", "idle_timeout: 600", "accounts:"]
    lines += [f"  - {{user: {u}, password: {p}}}" for u, p in ACCOUNTS.items()]
    if reset:
        lines.append(f"reset: '{reset}'")
    if maildirs:
        lines.append(f"maildirs: {maildirs}")
    if delivery:
        lines.append(f"delivery: {delivery}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


# The results are read by a child Python: a whole-suite JSON report (transcripts included) would grow this
# process, and every later test that forks pop3spec from it would count that memory in the child's peak RSS.
SUMMARY = """
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
res = [{"id": r["id"], "status": r["status"], "refs": r.get("refs", []),
        "message": (r.get("message") or "")[:400],
        "notes": [t.get("text", "")[:300] for t in r.get("transcript", []) if t.get("kind") == "*"][:40]}
       for r in doc["results"]]
json.dump({"summary": doc["summary"], "results": res}, sys.stdout)
"""


def run(tmp, prof, *paths, jobs=8, limit=600, filters=()):
    out = os.path.join(tmp, "results.json")
    args = ["run", *paths, "--target", prof, "-j", str(jobs), "-q", "--json", out]
    for f in filters:
        args += ["--filter", f]
    r = run_pop3spec(args, limit=limit)
    if not os.path.exists(out):
        raise AssertionError(f"no results: {r}")
    doc = json.loads(subprocess.run([sys.executable, "-c", SUMMARY, out], check=True,
                                    capture_output=True).stdout)
    os.unlink(out)
    return r, doc


def settle_in_use(tmp, prof, doc, jobs=8):
    """Scenarios whose only trouble was an [IN-USE] login (the previous scenario's session not yet released
    by the server, issue 8 item 3: another engineer's runner change retries those) run once more alone."""
    again = [res["id"] for res in doc["results"]
             if res["status"] not in ("pass", "skip") and "[IN-USE]" in res["message"]]
    if not again:
        return doc
    _, redo = run(tmp, prof, jobs=1, filters=again)
    by_id = {res["id"]: res for res in redo["results"]}
    doc["results"] = [by_id.get(res["id"], res) for res in doc["results"]]
    return doc


def bad(doc):
    return {res["id"]: res for res in doc["results"] if res["status"] not in ("pass", "skip")}


def show(results):
    return "; ".join(f"{k}: {v['status']} {v.get('message', '')[:300]}" for k, v in sorted(results.items()))


class Accuracy(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pop3spec-e2e-accuracy-")
        self.srv = Server(users=ACCOUNTS, maildrops={u: [] for u in ACCOUNTS}).start()
        self.proxy = None

    def tearDown(self):
        if self.proxy:
            self.proxy.stop()
        self.srv.stop()
        self.srv.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def scenario(self, rel, text):
        """A scenario file in a private tree (for a form the audit replaced)."""
        path = os.path.join(self.tmp, "old", rel + ".yaml")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    # -- delivery through an agent: trace fields in front, LF storage ---------------------------------------
    def test_agent_delivery_passes_everything(self):
        reset = f"{sys.executable} {DELIVER} {self.srv.maildirs} {{user}} {{fixture}}"
        prof = profile(os.path.join(self.tmp, "agent.yaml"), self.srv.port, self.srv.tls_port,
                       reset=reset, delivery="agent")
        r, doc = run(self.tmp, prof)
        doc = settle_in_use(self.tmp, prof, doc)
        self.assertEqual(bad(doc), {}, show(bad(doc)))
        self.assertGreater(doc["summary"]["passed"], 250)
        integrity = [res for res in doc["results"] if res["id"] == INTEGRITY]
        self.assertEqual([res["status"] for res in integrity], ["pass"])
        # Passed, and the lines delivery added are noted in its transcript.
        self.assertIn("delivery: agent", " ".join(integrity[0]["notes"]))

    def test_agent_delivery_judged_verbatim_fails(self):
        # The same copies judged byte for byte: the harness itself must see the added lines.
        reset = f"{sys.executable} {DELIVER} {self.srv.maildirs} {{user}} {{fixture}}"
        prof = profile(os.path.join(self.tmp, "verbatim.yaml"), self.srv.port, self.srv.tls_port,
                       reset=reset, delivery="verbatim")
        r, doc = run(self.tmp, prof, "scenarios/rfc1939/list/sizes-exact.yaml",
                     "scenarios/rfc1939/retr/whole-message.yaml")
        self.assertEqual(r.rc, 1, r.stdout[-2000:])
        self.assertEqual(sorted(bad(doc)), ["rfc1939/list/sizes-exact", "rfc1939/retr/whole-message"])

    def test_mbox_and_cyrus_delivery_pass(self):
        # Found on Debian's servers (docs/peers/): an mbox stores a header-only message followed by an empty
        # line, and Cyrus's lmtpd stamps X-Cyrus-Session-Id and X-Sieve at delivery. Neither is the server's
        # deviation; the same copies judged byte for byte still fail no-body.
        for style in ("mbox", "cyrus"):
            os.environ["DELIVER_AS"] = style
            try:
                reset = f"{sys.executable} {DELIVER} {self.srv.maildirs} {{user}} {{fixture}}"
                prof = profile(os.path.join(self.tmp, style + ".yaml"), self.srv.port, self.srv.tls_port,
                               reset=reset, delivery="agent")
                r, doc = run(self.tmp, prof, "scenarios/rfc1939/retr/no-body.yaml",
                             "scenarios/rfc1939/retr/message-as-delivered.yaml")
                doc = settle_in_use(self.tmp, prof, doc)
                self.assertEqual(bad(doc), {}, style + ": " + show(bad(doc)))
                self.assertEqual(doc["summary"]["passed"], 2, style)
                if style == "mbox":
                    prof = profile(os.path.join(self.tmp, "mbox-verbatim.yaml"), self.srv.port,
                                   self.srv.tls_port, reset=reset, delivery="verbatim")
                    r, doc = run(self.tmp, prof, "scenarios/rfc1939/retr/no-body.yaml")
                    self.assertEqual(sorted(bad(doc)), ["rfc1939/retr/no-body"])
            finally:
                del os.environ["DELIVER_AS"]

    # -- a server that writes X-UIDL into stored mail on first access ---------------------------------------
    def test_x_uidl_on_access_warns_once(self):
        self.proxy = Proxy("xuidl", self.srv.port, self.srv.maildirs).start()
        prof = profile(os.path.join(self.tmp, "xuidl.yaml"), self.proxy.port, self.srv.tls_port,
                       maildirs=self.srv.maildirs, delivery="agent")
        # One worker: the proxy rewrites maildrops on every connection, and must not meet a reset halfway.
        r, doc = run(self.tmp, prof, jobs=1)
        b = bad(settle_in_use(self.tmp, prof, doc))
        self.assertEqual(sorted(b), [INTEGRITY], show(b))
        self.assertEqual(b[INTEGRITY]["status"], "warn")
        self.assertIn("x-uidl", json.dumps(b[INTEGRITY]).lower())
        self.assertIn("x-uidl", " ".join(b[INTEGRITY]["notes"]).lower())

    # -- only PASS or QUIT after USER (RFC 1939 §7) ------------------------------------------------------------
    def test_strict_after_user_passes_everything(self):
        self.proxy = Proxy("strict_user", self.srv.port).start()
        prof = profile(os.path.join(self.tmp, "strict.yaml"), self.proxy.port, self.srv.tls_port,
                       maildirs=self.srv.maildirs)
        r, doc = run(self.tmp, prof)
        doc = settle_in_use(self.tmp, prof, doc)
        self.assertEqual(bad(doc), {}, show(bad(doc)))
        self.assertGreater(self.proxy.refused, 0, "nothing was sent after USER: the proxy proved nothing")

    def test_strict_after_user_fails_the_old_forms(self):
        self.proxy = Proxy("strict_user", self.srv.port).start()
        prof = profile(os.path.join(self.tmp, "strict.yaml"), self.proxy.port, self.srv.tls_port,
                       maildirs=self.srv.maildirs)
        old = self.scenario("len-capa-after-user", """\
id: old/len-capa-after-user
title: The old form sent CAPA after USER
refs: [R2449-LEN-1]
level: MUST
requires: [CAPA]
steps:
  - connect: plain
  - send: USER ${repeat('a', 248)}
    expect: any
  - send: CAPA
    expect: {status: ok, multiline: true}
""")
        r, doc = run(self.tmp, prof, old)
        self.assertEqual([res["status"] for res in doc["results"]], ["fail"], r.stdout[-2000:])

    # -- a QUIT answered before its UPDATE ----------------------------------------------------------------------
    LOCKS = ["scenarios/rfc1939/authz/exclusive-access-lock.yaml",
             "scenarios/rfc1939/isolation/quit-in-authorization-keeps-lock.yaml",
             "scenarios/rfc1939/isolation/drop-in-authorization-keeps-lock.yaml"]

    def test_late_update_lock_verdicts_do_not_race(self):
        # The lock scenarios let a second session DELE message 1 and QUIT, then RETR it in the first. A server
        # that removes the messages after its +OK to QUIT (Courier) raced that RETR: its missing lock was found
        # or not by timing (and so by -j). The runner waits for the close first: a locking server passes, a
        # server without a lock fails every time, at -j 1 too (where the RETR used to win the race).
        self.proxy = Proxy("late_update", self.srv.port).start()
        prof = profile(os.path.join(self.tmp, "late.yaml"), self.proxy.port, self.srv.tls_port,
                       maildirs=self.srv.maildirs)
        r, doc = run(self.tmp, prof, *self.LOCKS, jobs=1)
        self.assertEqual(bad(doc), {}, show(bad(doc)))
        self.assertEqual(doc["summary"]["passed"], 3)
        self.proxy.stop()
        self.srv.stop()
        import pop3test
        real = pop3test.POP3REFD
        pop3test.POP3REFD = real + "-faults"
        try:
            self.srv = Server(users=ACCOUNTS, maildrops={u: [] for u in ACCOUNTS},
                              args=["--fault", "no-lock"]).start()
        finally:
            pop3test.POP3REFD = real
        self.proxy = Proxy("late_update", self.srv.port).start()
        prof = profile(os.path.join(self.tmp, "late-nolock.yaml"), self.proxy.port, self.srv.tls_port,
                       maildirs=self.srv.maildirs)
        for jobs in (1, 3):
            r, doc = run(self.tmp, prof, *self.LOCKS, jobs=jobs)
            self.assertEqual(sorted(k for k, v in bad(doc).items() if v["status"] == "fail"),
                             sorted(p[len("scenarios/"):-len(".yaml")] for p in self.LOCKS),
                             f"-j {jobs}: " + show(bad(doc)))

    # -- a close after an authentication -ERR (RFC 1939 §4) ---------------------------------------------------
    def test_close_after_auth_failure_passes_everything(self):
        self.proxy = Proxy("close_auth", self.srv.port).start()
        prof = profile(os.path.join(self.tmp, "close.yaml"), self.proxy.port, self.srv.tls_port,
                       maildirs=self.srv.maildirs)
        r, doc = run(self.tmp, prof)
        doc = settle_in_use(self.tmp, prof, doc)
        self.assertEqual(bad(doc), {}, show(bad(doc)))
        self.assertGreater(self.proxy.closed, 0, "no authentication failed: the proxy proved nothing")

    def test_close_after_auth_failure_fails_the_old_forms(self):
        self.proxy = Proxy("close_auth", self.srv.port).start()
        prof = profile(os.path.join(self.tmp, "close.yaml"), self.proxy.port, self.srv.tls_port,
                       maildirs=self.srv.maildirs)
        old = self.scenario("stat-after-wrong-pass", """\
id: old/stat-after-wrong-pass
title: The old form expected -ERR to STAT after a wrong password
refs: [R1939-PASS-3]
level: MUST
steps:
  - connect: plain
  - send: USER ${user}
    expect: ok
  - send: PASS ${password}x
    expect: err
  - send: STAT
    expect: err
""")
        r, doc = run(self.tmp, prof, old)
        self.assertEqual([res["status"] for res in doc["results"]], ["fail"], r.stdout[-2000:])


if __name__ == "__main__":
    unittest.main()
