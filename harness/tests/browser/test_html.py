#!/usr/bin/env python3
"""test_html.py — the HTML reports opened in a real headless browser (Debian's chromium).

Writes a JSON run by hand (every verdict, hostile server text, a long transcript), turns it into HTML with
the real `pop3spec report`, and checks what Chromium makes of it:
  * with --dump-dom: every scenario present, the server's <script> is text, the failing scenario open,
    filters driven through the URL fragment (#verdict=fail, #group=, #tag=, #q=) hide exactly the rest,
    a permalink opens its scenario, the comparison's cells link to transcripts in the same file;
  * through the DevTools protocol (--remote-debugging-pipe): the failing transcript is laid out and visible,
    a passing one is not until opened, and clicking a verdict filter hides what it should;
  * optionally a real `pop3spec run --reference` report: every scenario it ran is in the page.

Installs nothing. Exit 0 passed, 1 failed, 77 skipped (no chromium: apt-get install chromium).
Environment: BIN (default bin), POP3SPEC_KEEP=DIR keeps the reports and screenshots in DIR.
"""
import json
import os
import time
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.path.join(ROOT, os.environ.get("BIN", "bin"))
POP3SPEC = os.path.join(BIN, "pop3spec")
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
                "--disable-dev-shm-usage"]
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


# ---------- the sample run ----------

def tline(t, kind, text, session="main"):
    return {"t_ms": t, "kind": kind, "session": session, "text": text}


def result(rid, status, title, refs, tags=(), message="", transcript=(), **extra):
    r = {"id": rid, "title": title, "level": extra.pop("level", "MUST"), "refs": list(refs), "status": status,
         "duration_ms": extra.pop("duration_ms", 5), "message": message, "transcript": list(transcript),
         "tags": list(tags)}
    r.update(extra)
    return r


HOSTILE = "+OK 120 octets <script>document.title='pwned'</script><img src=x onerror=alert(1)>"


def sample_run(name, variant=0):
    long_tr = [tline(0, "C", "RETR 2")] + [tline(1 + i * 0.01, "S", "body line %05d" % i) for i in range(3000)]
    results = [
        result("rfc1939/dele/marked-not-retrievable", "fail", "A message marked deleted cannot be retrieved",
               ["R1939-DELE-3"], ["dele"], "RETR of a deleted message answered +OK",
               [tline(0.2, "*", "connected to 127.0.0.1:110"), tline(1.0, "S", "+OK ready <1.2@host>"),
                tline(2, "C", "DELE 1"), tline(3, "S", "+OK"), tline(4, "C", "RETR 1"), tline(5, "S", HOSTILE)],
               failed_step="step 4 (send: RETR 1)", expected="-ERR", actual=HOSTILE, failed_ref="R1939-DELE-3"),
        result("robustness/long-line", "fail", "A 10 kB line gets -ERR", ["R2449-LEN-1"], ["robust"],
               "line not CRLF-terminated", [tline(0, "S", "-ERR too long\\n")], failed_ref="R1939-GEN-6"),
        result("rfc5034/auth/plain-initial", "error", "AUTH PLAIN with an initial response", ["R5034-AUTH-2"],
               ["sasl"], "timeout after 5 s", [tline(0, "C", "AUTH PLAIN AGFsaWNlAHg="),
                                              tline(5000, "*", "timeout")]),
        result("rfc2449/capa/lines-max-512", "warn", "CAPA lines are at most 512 octets", ["R2449-LEN-3"],
               ["capa"], "a CAPA line is 600 octets long", [tline(0, "C", "CAPA")], level="SHOULD"),
        result("rfc2595/stls/once", "skip", "STLS is accepted only once", ["R2595-STLS-4"], ["tls"],
               "unsupported: STLS", [tline(0, "C", "STLS"), tline(1, "S", "+OK begin"),
                                     tline(9, "*", "TLS started: TLSv1.3 TLS_AES_256_GCM_SHA384")]),
        result("rfc1939/retr/long", "pass", "RETR of a long message", ["R1939-RETR-1"], ["retr"], "", long_tr),
        result("rfc1939/stat/counts", "pass" if variant == 0 else "fail", "STAT counts messages and octets",
               ["R1939-STAT-1"], [], "" if variant == 0 else "wrong count",
               [tline(0, "C", "STAT"), tline(1, "S", "+OK 3 1205")]),
        result("rfc6856/utf8/body", "pass", "UTF-8 text: Grüße ☃", ["R6856-UTF8-1"], ["utf8"], "",
               [tline(0, "S", "Grüße ☃")], level="MAY"),
    ]
    return {"target": name, "summary": {}, "results": results, "target_profile": {"name": name,
            "host": "127.0.0.1", "port": 110, "tls_port": 995}, "runner_version": "test",
            "suite_version": "test", "options": "--target x.yaml", "started": "2026-11-01T12:00:00Z",
            "duration_ms": 4200, "greeting": "+OK ready <1.2@host>",
            "capa": ["TOP", "UIDL", "IMPLEMENTATION <b>x</b>"]}


# ---------- the browser ----------

class Dom(HTMLParser):
    """The dumped DOM: every element's tag and attributes, and text under each element id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.stack = []
        self.text_by_id = {}

    VOID = {"meta", "input", "br", "img", "link", "hr", "source", "wbr", "col"}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag not in self.VOID:
            self.stack.append(a.get("id"))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        for i in self.stack:
            if i:
                self.text_by_id[i] = self.text_by_id.get(i, "") + data

    def by_tag(self, tag):
        return [a for t, a in self.elements if t == tag]

    def scenarios(self):
        return {a["id"]: a for t, a in self.elements if t == "details" and "data-verdict" in a}


def chromium_run(chrome, args, timeout=60):
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run([chrome] + CHROME_FLAGS + ["--user-data-dir=" + profile] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=timeout)
    return p.stdout.decode("utf-8", "replace")


def dump(chrome, url):
    # A budget of virtual time lets the page's script run before the DOM is dumped.
    d = Dom()
    d.feed(chromium_run(chrome, ["--virtual-time-budget=3000", "--dump-dom", url]))
    return d


class Devtools:
    """Chromium's DevTools protocol over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-framed JSON)."""

    def __init__(self, chrome):
        self.profile = tempfile.TemporaryDirectory()
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()
        # The child's fds 3 and 4 must be exactly these pipe ends. Copy them high first, so that dup2
        # never meets an fd already numbered 3 or 4; os.pipe's fds are close-on-exec, dup2's are not.
        def child():
            r, w = os.dup(to_r), os.dup(from_w)
            os.dup2(r, 3)
            os.dup2(w, 4)
        self.proc = subprocess.Popen([chrome] + CHROME_FLAGS + ["--remote-debugging-pipe",
                                     "--user-data-dir=" + self.profile.name, "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=child, close_fds=False)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.session = None

    def call(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buf:
                chunk = os.read(self.from_r, 65536)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})

    def open(self, url):
        target = self.call("Target.createTarget", {"url": url}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        # Until the new page (not the initial about:blank) has loaded and its script has run.
        # The about:blank context is destroyed when the navigation commits; an evaluation caught in
        # between fails with "Execution context was destroyed" (seen on a loaded machine): poll again.
        for _ in range(200):
            try:
                if self.eval("location.protocol + document.readyState") == "file:complete":
                    return
            except RuntimeError as e:
                if "context" not in str(e):
                    raise
            time.sleep(0.05)
        raise RuntimeError("page did not load: " + url)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            ex = r["exceptionDetails"]
            raise RuntimeError("script error in %r: %s %s" % (expr, ex.get("text"),
                                                              ex.get("exception", {}).get("description", "")))
        return r["result"].get("value")

    def close(self):
        try:
            self.call("Browser.close", session=False)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self.to_w)
        os.close(self.from_r)
        self.profile.cleanup()


def visible(dt, rid, sel=""):
    """Whether the element (or its descendant `sel`) is laid out and shown; None when it does not exist."""
    return dt.eval("(function(e, s){if (e && s) e = e.querySelector(s);"
                   " return e ? e.checkVisibility() : null;})(document.getElementById(%s), %s)"
                   % (json.dumps(rid), json.dumps(sel)))


# ---------- the checks ----------

def main():
    chrome = find_chromium()
    if not chrome:
        print("SKIP: chromium is not installed (apt-get install chromium); the HTML report was not "
              "tested in a browser")
        return 77
    if not os.access(POP3SPEC, os.X_OK):
        print("FAIL  %s is not built (make bin/pop3spec)" % POP3SPEC)
        return 1
    work = tempfile.mkdtemp(prefix="pop3spec-browser-")
    try:
        return run_checks(chrome, work)
    finally:
        keep = os.environ.get("POP3SPEC_KEEP")
        if keep:
            os.makedirs(keep, exist_ok=True)
            for f in os.listdir(work):
                shutil.copy(os.path.join(work, f), keep)
        shutil.rmtree(work, ignore_errors=True)


def run_checks(chrome, work):
    a, b = os.path.join(work, "a.json"), os.path.join(work, "b.json")
    with open(a, "w") as f:
        json.dump(sample_run("refd"), f)
    with open(b, "w") as f:
        json.dump(sample_run("other<server>", 1), f)
    report, compare = os.path.join(work, "report.html"), os.path.join(work, "compare.html")
    p = subprocess.run([POP3SPEC, "report", "--merge", a, "--html", report], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(p.returncode == 1 and os.path.exists(report),
          "pop3spec report --merge writes the HTML (exit %d: %s)" % (p.returncode, p.stderr.decode()[-200:]))
    p = subprocess.run([POP3SPEC, "report", "--compare", a, b, "--html", compare], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(p.returncode == 0, "pop3spec report --compare writes the matrix (%s)" % p.stderr.decode()[-200:])
    ids = [r["id"] for r in sample_run("x")["results"]]
    url = "file://" + report

    # 1. Everything there, the server's markup inert, the script ran.
    d = dump(chrome, url)
    sc = d.scenarios()
    check(sorted(sc) == sorted(ids), "every scenario is in the page (%d of %d)" % (len(sc), len(ids)))
    check(not any("hidden" in x for x in sc.values()), "nothing is hidden without a filter")
    check(len(d.by_tag("script")) == 1, "one script element: the server's <script> stayed text")
    check(not d.by_tag("img"), "no <img> element from the server's text")
    check(HOSTILE in d.text_by_id.get("rfc1939/dele/marked-not-retrievable", ""),
          "the hostile server line is shown as text")
    fail = sc.get("rfc1939/dele/marked-not-retrievable", {})
    check("open" in fail, "the failing scenario is open")
    check("RETR 1" in d.text_by_id.get("rfc1939/dele/marked-not-retrievable", ""),
          "the failing scenario's transcript is in it")
    check("open" not in sc.get("rfc1939/stat/counts", {}), "a passing scenario is closed")
    check("8 of 8 shown" in d.text_by_id.get("shown", ""), "the filter bar counts (script ran)")
    check("body line 02999" in d.text_by_id.get("rfc1939/retr/long", ""), "a long transcript is whole")

    # 2. Filters through the fragment.
    def shown(fragment):
        s = dump(chrome, url + fragment).scenarios()
        return sorted(k for k, v in s.items() if "hidden" not in v)
    cases = [("#verdict=fail", ["rfc1939/dele/marked-not-retrievable", "robustness/long-line"]),
             ("#verdict=fail,error", ["rfc1939/dele/marked-not-retrievable", "rfc5034/auth/plain-initial",
                                      "robustness/long-line"]),
             ("#group=rfc1939", ["rfc1939/dele/marked-not-retrievable", "rfc1939/retr/long",
                                 "rfc1939/stat/counts"]),
             ("#tag=tls", ["rfc2595/stls/once"]),
             ("#q=onerror", ["rfc1939/dele/marked-not-retrievable"]),
             ("#verdict=pass&group=rfc1939", ["rfc1939/retr/long", "rfc1939/stat/counts"]),
             ("#q=no-such-text-anywhere", [])]
    for frag, want in cases:
        got = shown(frag)
        check(got == sorted(want), "filter %s shows %s (got %s)" % (frag, want, got))

    # 3. A permalink opens its (closed) scenario.
    d = dump(chrome, url + "#rfc1939/stat/counts")
    check("open" in d.scenarios().get("rfc1939/stat/counts", {}), "a permalink opens its scenario")

    # 4. The comparison: every row, cells linking to transcripts in the same file, differences filter.
    d = dump(chrome, "file://" + compare)
    rows = {a_["id"]: a_ for t, a_ in d.elements if t == "tr" and "data-verdict" in a_}
    check(sorted(rows) == sorted(ids), "the comparison has a row per scenario")
    targets = {a_["id"] for t, a_ in d.elements if "id" in a_}
    links = [a_["href"][1:] for t, a_ in d.elements
             if t == "a" and a_.get("href", "").startswith("#t") and a_.get("class") != "perma"]
    check(len(links) == 2 * len(ids) and all(l in targets for l in links),
          "each of the %d verdict cells links to a transcript in the file" % len(links))
    d = dump(chrome, "file://" + compare + "#differs=1")
    vis = sorted(k for k, v in {a_["id"]: a_ for t, a_ in d.elements
                                if t == "tr" and "data-verdict" in a_}.items() if "hidden" not in v)
    check(vis == ["rfc1939/stat/counts"], "#differs=1 shows only the row where servers differ (%s)" % vis)
    check(any(t == "th" for t, _ in d.elements) and "other&lt;server&gt;" not in "".join(
        d.text_by_id.values()), "server names are escaped once")

    # 5. Layout: what a person sees, through the DevTools protocol.
    dt = Devtools(chrome)
    try:
        dt.open(url)
        check(visible(dt, "rfc1939/dele/marked-not-retrievable", "table.tr") is True,
              "the failing scenario's transcript is visible")
        check(visible(dt, "rfc1939/stat/counts", "table.tr") is False,
              "a passing scenario's transcript is folded away")
        check(dt.eval("document.title") != "pwned", "the server's script never ran")
        dt.eval("document.querySelector('input[name=verdict][value=fail]').click()")
        check(visible(dt, "rfc1939/stat/counts") is False and
              visible(dt, "robustness/long-line") is True, "clicking the FAIL filter hides the passes")
        check(dt.eval("location.hash") == "#verdict=fail", "the filter is kept in the URL fragment")
        dt.eval("(function(q){q.value='long';q.dispatchEvent(new Event('input',{bubbles:true}));})"
                "(document.querySelector('input[name=q]'))")
        check(dt.eval("document.getElementById('shown').textContent") == "1 of 8 shown",
              "typing in the text filter narrows further")
        dt.eval("document.getElementById('clear').click()")
        check(visible(dt, "rfc1939/stat/counts") is True, "clear shows everything again")
        dt.eval("document.querySelector('#rfc1939\\\\/stat\\\\/counts > summary').click()")
        check(visible(dt, "rfc1939/stat/counts", "table.tr") is True, "clicking a summary opens it")
        dt.eval("document.querySelector('a[data-filter=\"verdict=skip\"]').click()")
        check(dt.eval("document.getElementById('shown').textContent") == "1 of 8 shown",
              "a summary count links to a filtered view")
    except Exception as e:  # a protocol failure is a test failure, with its reason
        check(False, "DevTools session: %s" % e)
    finally:
        dt.close()

    # 6. Screenshots (kept with POP3SPEC_KEEP) show the pages render at all.
    for name, page in (("report.png", url), ("compare.png", "file://" + compare)):
        out = os.path.join(work, name)
        chromium_run(chrome, ["--window-size=1280,1600", "--screenshot=" + out, page])
        check(os.path.exists(out) and os.path.getsize(out) > 20000, "screenshot %s rendered" % name)

    # 7. A real run against the reference server, when it is built.
    if os.access(os.path.join(BIN, "pop3refd"), os.X_OK):
        real = os.path.join(work, "real.html")
        rj = os.path.join(work, "real.json")
        p = subprocess.run([POP3SPEC, "run", "--reference", "-q", "--filter", "rfc1939/stat/*",
                            "--html", real, "--json", rj], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
        if p.returncode in (0, 1) and os.path.exists(rj):
            with open(rj) as f:
                want = sorted(r["id"] for r in json.load(f)["results"])
            got = sorted(dump(chrome, "file://" + real).scenarios())
            check(want and got == want, "a real reference run's report shows its %d scenarios" % len(want))
        else:
            check(False, "pop3spec run --reference (exit %d): %s" % (p.returncode, p.stderr.decode()[-300:]))

    print("%d failed" % len(failures) if failures else "all browser checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
