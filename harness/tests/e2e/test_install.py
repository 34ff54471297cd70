"""`make install` into a temporary DESTDIR, then the installed programs run from another folder: the suite
against the installed pop3refd (`run --reference`), `list`, `check`, `coverage`; then `make uninstall`
leaves no file behind. The build is not redone: `make -o all -o fixtures` installs what $BIN holds."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from hostile import BIN, ROOT

PREFIX = "/usr/local"   # the default; the tree is used where it lies (relocation, docs/install.md)


def make(target, dest):
    r = subprocess.run(["make", "--no-print-directory", "-C", ROOT, "-o", "all", "-o", "fixtures", target,
                        "DESTDIR=" + dest, "PREFIX=" + PREFIX, "BIN=" + BIN],
                       capture_output=True, text=True, timeout=300,
                       env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")})
    if r.returncode != 0:
        raise AssertionError(f"make {target} exit {r.returncode}:\n{r.stdout}\n{r.stderr}")


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pop3spec-install-")
        cls.dest = os.path.join(cls.tmp, "dest")
        cls.root = cls.dest + PREFIX
        cls.work = os.path.join(cls.tmp, "elsewhere")   # no scenarios/, fixtures/, REQUIREMENTS.md here
        os.makedirs(cls.work)
        make("install", cls.dest)
        cls.pop3spec = os.path.join(cls.root, "bin", "pop3spec")
        cls.data = os.path.join(cls.root, "share", "pop3spec")
        # Nothing may lead the installed pop3spec back to the source tree.
        cls.env = {k: v for k, v in os.environ.items()
                   if k not in ("POP3REFD", "POP3REFD_ARGS", "POP3SPEC_REQUIREMENTS")}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_installed(self, *args, timeout=300):
        return subprocess.run([self.pop3spec] + list(args), cwd=self.work, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def test_1_layout(self):
        for rel in ("bin/pop3spec", "sbin/pop3refd"):
            self.assertTrue(os.access(os.path.join(self.root, rel), os.X_OK), rel)
        for rel in ("share/man/man1/pop3spec.1", "share/man/man8/pop3refd.8",
                    "share/pop3spec/scenarios/REQUIREMENTS.md", "share/pop3spec/scenarios/VERSION",
                    "share/pop3spec/docs/coverage.md", "share/doc/pop3spec/examples/target.yaml"):
            self.assertTrue(os.path.isfile(os.path.join(self.root, rel)), rel)
        # Every fixture file of the tree, the generated maildrops included, installed with the same content
        # (the generated TLS folder and git's .gitattributes excepted).
        n = 0
        for top in ("maildrops", "generated"):
            src = os.path.join(ROOT, "fixtures", top)
            for d, dirs, files in os.walk(src):
                dirs[:] = [x for x in dirs if not (top == "generated" and d == src and x == "tls")]
                for f in files:
                    if f == ".gitattributes":
                        continue
                    rel = os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "fixtures"))
                    inst = os.path.join(self.data, "fixtures", rel)
                    self.assertTrue(os.path.isfile(inst), rel)
                    self.assertEqual(os.path.getsize(inst), os.path.getsize(os.path.join(d, f)), rel)
                    n += 1
        self.assertGreater(n, 1000)  # the 1,000-message maildrop is among them
        self.assertTrue(os.path.isdir(os.path.join(self.data, "fixtures/generated/maildrops/large")))
        # No private key is installed (the generated TLS CA stays in the build tree).
        for d, _, files in os.walk(self.dest):
            for f in files:
                self.assertFalse(f.endswith(".key"), os.path.join(d, f))
        # Sections: the daemon's page is in 8.
        with open(os.path.join(self.root, "share/man/man8/pop3refd.8")) as f:
            self.assertIn(".Dt POP3REFD 8", f.read())

    def test_2_run_reference(self):
        report = os.path.join(self.work, "r.json")
        r = self.run_installed("run", "--reference", "-q", "-j", "2", "--json", report)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(report) as f:
            rep = json.load(f)
        s = rep["summary"]
        self.assertEqual((s["failed"], s["errors"]), (0, 0), s)
        self.assertGreater(s["passed"], 250)
        # The generated fixtures were found: the 1,000-message and 20 MB scenarios ran and passed.
        by_id = {x["id"]: x["status"] for x in rep["results"]}
        for sid in ("rfc1939/list/thousand-messages", "rfc1939/retr/large-message"):
            self.assertEqual(by_id.get(sid), "pass", sid)

    def test_3_reference_finds_installed_server(self):
        # Without the installed pop3refd, --reference must fail naming where it looked: the run above used it.
        server = os.path.join(self.root, "sbin", "pop3refd")
        os.rename(server, server + ".away")
        try:
            r = self.run_installed("run", "--reference", "-q", "--filter", "rfc1939/noop/*")
        finally:
            os.rename(server + ".away", server)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(os.path.join(self.root, "bin", "../sbin/pop3refd"), r.stderr)

    def test_4_list_check_coverage(self):
        r = self.run_installed("list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreater(len(r.stdout.splitlines()), 250)
        self.assertIn("rfc1939/retr/large-message", r.stdout)
        r = self.run_installed("check", os.path.join(self.data, "scenarios"),
                               os.path.join(self.root, "share/doc/pop3spec/examples/target.yaml"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.run_installed("coverage")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # The installed catalog and uncovered list, not a copy in the source tree.
        last = r.stdout.splitlines()[-1]
        self.assertIn("catalog: " + os.path.join(self.data, "scenarios", "REQUIREMENTS.md"), last)
        self.assertIn(os.path.join(self.data, "scenarios", "..", "docs", "coverage.md"), last)

    def test_4c_client_profiles(self):
        # Every file of fixtures/clients installed with the same content, the helper scripts still executable;
        # pop3client in libexec/pop3spec, where the installed pop3client profile's {bin} leads.
        src = os.path.join(ROOT, "fixtures", "clients")
        names = sorted(os.listdir(src))
        self.assertIn("poplib.yaml", names)
        for f in names:
            inst = os.path.join(self.data, "fixtures", "clients", f)
            with open(os.path.join(src, f), "rb") as a, open(inst, "rb") as b:
                self.assertEqual(a.read(), b.read(), f)
            if os.access(os.path.join(src, f), os.X_OK):
                self.assertTrue(os.access(inst, os.X_OK), f)
        self.assertTrue(os.access(os.path.join(self.root, "libexec", "pop3spec", "pop3client"), os.X_OK))
        # The installed client suite (no scenarios/ in the working folder) against two installed profiles.
        for prof in ("pop3client", "poplib"):
            report = os.path.join(self.work, prof + ".json")
            r = self.run_installed("client", "run", "--client",
                                   os.path.join(self.data, "fixtures", "clients", prof + ".yaml"),
                                   "-q", "-j", "2", "--filter", "clients/rfc1939/*", "--json", report)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(report) as f:
                s = json.load(f)["summary"]
            self.assertEqual((s["failed"], s["errors"]), (0, 0), (prof, s))
            self.assertGreater(s["passed"], 5, (prof, s))

    def test_5_uninstall_leaves_nothing(self):
        make("uninstall", self.dest)
        left = []
        for d, dirs, files in os.walk(self.dest):
            left += [os.path.join(d, f) for f in files]
            left += [os.path.join(d, x) for x in dirs
                     if x in ("pop3spec",) or os.path.join(d, x).endswith("share/doc/pop3spec")]
        self.assertEqual(left, [])
        # Only the standard folders install made may remain, and they are empty.
        dirs = sorted(os.path.relpath(d, self.root) for d, _, _ in os.walk(self.root))
        self.assertEqual(dirs, [".", "bin", "libexec", "sbin", "share", "share/doc", "share/man", "share/man/man1",
                                "share/man/man8"])


if __name__ == "__main__":
    unittest.main()
