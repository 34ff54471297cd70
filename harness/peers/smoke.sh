#!/usr/bin/env bash
# smoke.sh — `make peers-smoke`: for each peer, start it, check with an independent client (Python's
# poplib) that the set-up works, stop it, and check that nothing is left behind. Proves the peer
# machinery before the suite is pointed at it (docs/peers/README.md).
#
#   harness/peers/smoke.sh [NAME...]      (default: every peer)
#
# Per peer: start; the reset puts fixture "three" into user02's maildrop; USER/PASS login sees 3 messages
# whose RETR carries the fixture's Message-IDs in order and whose sizes add up to STAT's; a second reset
# gives the same again (resets are repeatable: Cyrus's duplicate suppression, mbox rewrites); APOP logs in
# when the greeting offers it; STLS and implicit TLS log in when the profile has a tls_port; stop; then no
# process of the peer's namespace runs, no mount of it shows on the machine, and the machine's /etc/passwd
# has no test user. Exit 0 all passed, 1 a check failed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 2
all=(popa3d solid-pop3d mailutils dovecot courier cyrus)
# The smoke test logs user02 in several times in a row, which Debian's popminpoll: 1 (one login a
# minute, LOGIN-DELAY 60) would refuse; poplib does not pace. It checks the machinery, not verdicts:
# Cyrus runs here without the delay unless CYRUS_POPMINPOLL says otherwise.
export CYRUS_POPMINPOLL=${CYRUS_POPMINPOLL:-0}
[ $# -gt 0 ] && all=("$@")
failed=0

for n in "${all[@]}"; do
	echo "=== $n"
	if ! "$here/$n.sh" start >/dev/null; then
		echo "FAIL  $n: start"; failed=1; continue
	fi
	read -r pid _ <"build/peers/$n/run.pid"
	ns=$(readlink "/proc/$pid/ns/mnt")
	python3 - "build/peers/$n/target.yaml" "$root/fixtures/maildrops/three" <<'PY' || failed=1
import hashlib, os, poplib, re, shlex, ssl, subprocess, sys
target, fixture = sys.argv[1], sys.argv[2]
t = {}
for line in open(target):
    m = re.match(r'^(\w+): *(.*)$', line)
    if m:
        t[m.group(1)] = m.group(2).strip()
reset = t["reset"].strip('"')
port, tls_port = int(t["port"]), int(t.get("tls_port", 0) or 0)
ok = True
def check(cond, what):
    global ok
    print(("ok    " if cond else "FAIL  ") + what)
    ok = ok and cond
ids = []
for sub in ("new", "cur"):
    d = os.path.join(fixture, sub)
    for f in sorted(x for x in os.listdir(d) if not x.startswith(".")) if os.path.isdir(d) else []:
        m = re.search(rb"^Message-ID: *(<[^>]+>)", open(os.path.join(d, f), "rb").read(), re.M | re.I)
        ids.append(m.group(1))
mbox = "/tmp/pop3spec-smoke-%d.mbox" % os.getpid()
subprocess.run([os.path.join(os.path.dirname(os.path.abspath(target)), "../../../harness/peers/maildir2mbox.py"), fixture, mbox], check=True)
def do_reset():
    cmd = (reset.replace("{user}", "user02").replace("{fixture_mbox}", shlex.quote(mbox))
           .replace("{fixture}", shlex.quote(fixture)))
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "reset user02 <- three (%s)" % (r.stderr.strip() or "exit 0"))
def session(p, how):
    count, size = p.stat()
    sizes = [int(x.split()[1]) for x in p.list()[1]]
    got = []
    for i in range(1, count + 1):
        body = b"\n".join(p.retr(i)[1])
        m = re.search(rb"^Message-ID: *(<[^>]+>)", body, re.M | re.I)
        got.append(m.group(1) if m else None)
    p.quit()
    check(count == len(ids) and got == ids, "%s: %d messages, the fixture's in order" % (how, count))
    check(sum(sizes) == size, "%s: LIST sizes add up to STAT's %d" % (how, size))
for attempt in (1, 2):
    do_reset()
    p = poplib.POP3("127.0.0.1", port, timeout=60)
    p.user("user02"); p.pass_("pass02")
    session(p, "USER/PASS #%d" % attempt)
p = poplib.POP3("127.0.0.1", port, timeout=60)
if re.search(rb"<[^>]+@[^>]+>", p.getwelcome()):
    p.apop("user02", "pass02")
    session(p, "APOP")
else:
    p.quit()
    print("      (no APOP timestamp in the greeting)")
if tls_port:
    ctx = ssl.create_default_context(cafile=t.get("ca"))
    p = poplib.POP3("127.0.0.1", port, timeout=60)
    p.stls(ctx)
    p.user("user02"); p.pass_("pass02")
    session(p, "STLS")
    p = poplib.POP3_SSL("127.0.0.1", tls_port, context=ctx, timeout=60)
    p.user("user02"); p.pass_("pass02")
    session(p, "implicit TLS")
os.unlink(mbox)
sys.exit(0 if ok else 1)
PY
	"$here/$n.sh" stop >/dev/null 2>&1
	left=$(for q in /proc/[0-9]*; do [ "$(readlink "$q/ns/mnt" 2>/dev/null)" = "$ns" ] && echo "${q#/proc/}"; done)
	if [ -z "$left" ]; then echo "ok    stop: no process of the namespace left"; else echo "FAIL  stop: left $left"; failed=1; fi
	if grep -q "build/peers/$n/ns" /proc/self/mounts; then echo "FAIL  a mount of $n shows on the machine"; failed=1;
	else echo "ok    no mount of $n on the machine"; fi
	if grep -q '^user02:' /etc/passwd; then echo "FAIL  /etc/passwd has user02"; failed=1;
	else echo "ok    the machine's /etc/passwd untouched"; fi
done
exit $failed
