"""The shipped client profiles (fixtures/clients/*.yaml, docs/clients.md) run against the real bin/pop3refd,
each in every mode it declares, before and apart from `pop3spec client run`: the profile's command line is
built the way the engine builds it (placeholders, `files`, `env`, list or mapping modes), the client
fetches the fixture maildrop, and what it delivered is compared byte for byte with the fixtures
(clientmail.compare: LF line ends, trace fields a client prepends allowed). pop3refd's log says how it
logged in and whether TLS was up, so a profile whose mode silently does something else fails.

Modes tried: plain; stls; implicit_tls; apop; each `sasl MECH` (over STLS or implicit TLS for PLAIN and
LOGIN, which pop3refd refuses in cleartext); delete (the maildrop is empty afterwards); uidl twice (the
second run delivers nothing new). A client not installed is skipped. PyYAML reads the profiles (the
engine's own loader is C); without it the test skips."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import clientmail
from pop3test import ROOT, Server, certificate_ca

try:
    import yaml
except ImportError:  # pragma: no cover - the e2e tests are stdlib only; this one needs PyYAML
    yaml = None

PROFILES = os.path.join(ROOT, "fixtures", "clients")
USER, PASSWORD = "user01", "pass01"
MESSAGES = clientmail.fixture_messages()
RAW = [d for _, d in MESSAGES]
UIDS = sorted(n for n, _ in MESSAGES)
EXES = {"fetchmail": "fetchmail", "mpop": "mpop", "getmail6": "getmail", "curl": "curl", "poplib": "python3",
        "netpop3": "perl", "pop3client": None, "pop3client-faults": None}


def load(name):
    with open(os.path.join(PROFILES, name + ".yaml")) as f:
        return yaml.safe_load(f)


def subst(value, ph):
    if isinstance(value, list):
        return [subst(v, ph) for v in value]
    if isinstance(value, dict):
        return {subst(k, ph): subst(v, ph) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    return re.sub(r"\{\{|\{(\w+)\}", lambda m: "{" if m.group(0) == "{{" else ph[m.group(1)], value)


class Profiles(unittest.TestCase):
    """Each client run gets a fresh pop3refd with user01's maildrop holding every fixture message."""
    server_args = ("--plaintext-auth", "compat")

    def setUp(self):
        if yaml is None:
            self.skipTest("PyYAML is needed to read the profiles")
        self.srv = None

    def tearDown(self):
        if self.srv is not None and self.srv.proc:
            self.srv.stop()

    def start_fresh(self, tls=True):
        if self.srv is not None and self.srv.proc:
            self.srv.stop()
        self.srv = Server(users={USER: PASSWORD}, maildrops={USER: MESSAGES}, args=self.server_args, tls=tls)
        self.addCleanup(self.srv.cleanup)
        self.srv.start()

    def run_profile(self, prof, modes, workdir):
        ph = {"host": "127.0.0.1", "hostname": "localhost", "port": str(self.srv.port),
              "tls_port": str(self.srv.tls_port or 1), "user": USER, "password": PASSWORD,
              "cafile": certificate_ca(),
              "workdir": workdir, "profile_dir": PROFILES,
              # {bin}: where pop3spec finds its helper programs, the folder of the pop3spec in use (docs/clients.md)
              "bin": os.path.join(ROOT, os.environ.get("BIN", "bin"))}
        cmd = subst(prof["command"], ph)
        env = dict(os.environ, **subst(prof.get("env") or {}, ph))
        files = dict(subst(prof.get("files") or {}, ph))
        all_modes = prof.get("modes") or {}
        if not any(m in ("stls", "implicit_tls") for m in modes):
            modes = ["plain"] + list(modes)
        args = []
        for m in modes:
            if m not in all_modes:
                return None
            mode = subst(all_modes[m], ph)
            if isinstance(mode, list):
                args += mode
                continue
            if "command" in mode:
                cmd = mode["command"]
            args += mode.get("args", [])
            env.update(mode.get("env", {}))
            files.update(mode.get("files", {}))
        for name, spec in files.items():
            p = os.path.join(workdir, name)
            with open(p, "w") as f:
                f.write(spec["content"] if isinstance(spec, dict) else spec)
            os.chmod(p, int(spec.get("mode", "0600"), 8) if isinstance(spec, dict) else 0o600)
        r = subprocess.run(cmd + args, capture_output=True, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                           timeout=prof.get("timeout", 20) + 10)
        return r

    def delivered(self, prof, workdir, stdout):
        d = prof["delivery"]
        if d["kind"] == "stdout":
            return [stdout.replace(b"\r\n", b"\n")]
        return clientmail.maildir_messages(subst(d["path"], {"workdir": workdir}))

    def expect(self, prof, got, raw):
        unfold = prof["name"] == "getmail6"  # re-folds long header lines (docs/clients/getmail6.md)
        eol = b"\n"
        if prof["name"] == "netpop3" and got and b"\r\n" in got[0]:
            eol = b"\r\n"  # Net::POP3 over TLS keeps the wire's CRLF (docs/clients/netpop3.md)
        return clientmail.compare(got, raw, unfold=unfold, eol=eol)

    def logins(self):
        text = self.srv.log_text()
        tls = set(re.findall(r" (s\d+) TLS established", text))
        return [(how, s in tls) for s, how in re.findall(r" (s\d+) login \S+ by ([^:]+):", text)]

    def check_profile(self, name):
        exe = EXES.get(name)
        if exe and not shutil.which(exe):
            self.skipTest(f"{exe} not installed")
        prof = load(name)
        modes = prof.get("modes") or {}
        raw = RAW[:prof["delivery"].get("messages") or len(RAW)] if prof["delivery"]["kind"] == "stdout" else RAW
        # Without an auth mode a client logs in as it likes (curl and fetchmail take CRAM-MD5 when offered).
        cases = [([], None, False)]
        if "stls" in modes:
            cases.append((["stls"], None, True))
        if "implicit_tls" in modes:
            cases.append((["implicit_tls"], None, True))
        if "apop" in modes:
            cases.append((["apop"], "APOP", False))
        for m in modes:
            if m.startswith("sasl "):
                mech = m.split(" ", 1)[1]
                tls = [t for t in ("stls", "implicit_tls") if t in modes][:1] if mech in ("PLAIN", "LOGIN") else []
                cases.append((tls + [m], "AUTH " + mech, bool(tls)))
        for case_modes, how, tls in cases:
            with self.subTest(profile=name, modes=case_modes):
                self.start_fresh()
                work = tempfile.mkdtemp(prefix="pop3spec-profile-")
                self.addCleanup(shutil.rmtree, work, True)
                keep = ["keep"] if "keep" in modes else []
                r = self.run_profile(prof, case_modes + keep, work)
                out = (r.stdout[-300:] + r.stderr[-1500:]).decode(errors="replace")
                self.assertEqual(r.returncode, 0, out)
                self.assertEqual(self.expect(prof, self.delivered(prof, work, r.stdout), raw), "", out)
                got = set(self.logins())
                self.assertEqual(got, {(how or next(iter(got))[0], tls)}, out)
                self.assertEqual(self.srv.messages(USER), UIDS, "kept")
        if "stls" in modes:
            # The stls mode means STLS required: a server without it (no STLS in CAPA, -ERR to STLS) gets
            # no credentials, and the client fails.
            with self.subTest(profile=name, modes=["stls"], server="no TLS"):
                self.start_fresh(tls=False)
                work = tempfile.mkdtemp(prefix="pop3spec-profile-")
                self.addCleanup(shutil.rmtree, work, True)
                r = self.run_profile(prof, ["stls"], work)
                self.assertNotEqual(r.returncode, 0)
                self.assertNotRegex(self.srv.log_text(), r"command (USER|PASS|APOP|AUTH)")
        if "delete" in modes:
            with self.subTest(profile=name, modes=["delete"]):
                self.start_fresh()
                work = tempfile.mkdtemp(prefix="pop3spec-profile-")
                self.addCleanup(shutil.rmtree, work, True)
                r = self.run_profile(prof, ["delete"], work)
                self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace")[-1500:])
                self.assertEqual(self.expect(prof, self.delivered(prof, work, r.stdout), raw), "")
                self.assertEqual(self.srv.messages(USER), [])
        if "uidl" in modes:
            with self.subTest(profile=name, modes=["uidl", "uidl"]):
                self.start_fresh()
                work = tempfile.mkdtemp(prefix="pop3spec-profile-")
                self.addCleanup(shutil.rmtree, work, True)
                keep = ["keep"] if "keep" in modes else []
                for run in (1, 2):
                    r = self.run_profile(prof, ["uidl"] + keep, work)
                    self.assertEqual(r.returncode, 0, f"run {run}: " + r.stderr.decode(errors="replace")[-1500:])
                    self.assertEqual(self.expect(prof, self.delivered(prof, work, r.stdout), raw), "",
                                     f"run {run} delivered again what run 1 had")

    def test_pop3client(self):
        self.check_profile("pop3client")

    def test_poplib(self):
        self.check_profile("poplib")

    def test_netpop3(self):
        self.check_profile("netpop3")

    def test_fetchmail(self):
        self.check_profile("fetchmail")

    def test_mpop(self):
        self.check_profile("mpop")

    def test_getmail6(self):
        self.check_profile("getmail6")

    def test_curl(self):
        self.check_profile("curl")


if __name__ == "__main__":
    unittest.main()
