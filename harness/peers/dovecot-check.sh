#!/usr/bin/env bash
# dovecot-check.sh — smoke test of the harness's private Dovecot with two independent clients: Python's
# poplib (USER/PASS, STLS, POP3_SSL, APOP, UIDL stability, byte-stuffing) and curl pop3:// (plain, STLS,
# pop3s, AUTH CRAM-MD5). Proves the peer set-up works before the suite is pointed at it.
#
#   harness/peers/dovecot-check.sh [TARGET.yaml]     (default build/peers/dovecot/target.yaml)
#
# Uses account user01 and resets its maildrop (through dovecot-reset.sh) to a two-message fixture.
set -eu

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
target=${1:-$here/../../build/peers/dovecot/target.yaml}
[ -f "$target" ] || { echo "dovecot-check.sh: no $target (run harness/peers/dovecot.sh start)" >&2; exit 1; }

field() { sed -n "s/^$1: *//p" "$target" | head -n1 | tr -d '"'; }
port=$(field port)
tls_port=$(field tls_port)
ca=$(field ca)
reset=$(field reset)
user=user01
pass=pass01

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/fx/cur" "$tmp/fx/new" "$tmp/fx/tmp"
printf 'Message-ID: <check-1@pop3spec>\nSubject: one\n\nfirst body\n.dot line\n.\nend\n' \
	>"$tmp/fx/cur/1000000001.M1P1.pop3spec:2,"
printf 'Message-ID: <check-2@pop3spec>\nSubject: two\n\nsecond body\n' \
	>"$tmp/fx/cur/1000000002.M2P1.pop3spec:2,"
cmd=${reset//\{user\}/$user}
cmd=${cmd//\{fixture\}/$tmp/fx}
sh -c "$cmd"

fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

if command -v python3 >/dev/null 2>&1; then
	if python3 - "$port" "$tls_port" "$user" "$pass" "${ca:-}" <<'EOF'; then ok "python poplib"; else bad "python poplib"; fi
import poplib, ssl, sys
port, tls_port, user, pw, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
ctx.minimum_version = ssl.TLSVersion.TLSv1_2

def session(p, how):
    if how == "user":
        p.user(user); p.pass_(pw)
    elif how == "apop":
        p.apop(user, pw)
    count, size = p.stat()
    assert count == 2, (how, count)
    _, lines, _ = p.retr(1)
    body = [l.decode() for l in lines]
    assert "first body" in body and ".dot line" in body and "." in body, (how, body)
    uidl = p.uidl()[1]
    p.quit()
    print("  %-6s stat=%d/%d uidl=%s" % (how, count, size, [u.decode() for u in uidl]))
    return uidl

p = poplib.POP3("127.0.0.1", port, timeout=10)
print("  greeting:", p.getwelcome().decode())
print("  capa:", sorted(p.capa()))
u1 = session(p, "user")
p = poplib.POP3("127.0.0.1", port, timeout=10)
p.stls(ctx)
assert p.sock.version() in ("TLSv1.2", "TLSv1.3")
u2 = session(p, "user")
p = poplib.POP3_SSL("127.0.0.1", tls_port, context=ctx, timeout=10)
u3 = session(p, "user")
p = poplib.POP3("127.0.0.1", port, timeout=10)
u4 = session(p, "apop")
assert u1 == u2 == u3 == u4, "UIDL not stable across sessions"
EOF
else
	echo "skip python poplib (no python3)"
fi

if command -v curl >/dev/null 2>&1; then
	cacurl=(--cacert "$ca")
	[ -n "$ca" ] || cacurl=(--insecure)
	c() { curl -sS --max-time 15 -u "$user:$pass" "$@"; }
	out=$(c "pop3://127.0.0.1:$port/1") && grep -q '^\.dot line' <<<"$out" && ok "curl pop3:// RETR" ||
		bad "curl pop3:// RETR: $out"
	out=$(c --ssl-reqd "${cacurl[@]}" "pop3://127.0.0.1:$port/2") && grep -q 'second body' <<<"$out" &&
		ok "curl pop3:// STLS" || bad "curl pop3:// STLS: $out"
	out=$(c "${cacurl[@]}" "pop3s://127.0.0.1:$tls_port/") && [ "$(wc -l <<<"$out")" -eq 2 ] &&
		ok "curl pop3s:// LIST" || bad "curl pop3s:// LIST: $out"
	out=$(c --login-options AUTH=CRAM-MD5 "pop3://127.0.0.1:$port/1") && grep -q 'first body' <<<"$out" &&
		ok "curl AUTH CRAM-MD5" || bad "curl AUTH CRAM-MD5: $out"
else
	echo "skip curl (not installed)"
fi

[ $fails -eq 0 ] && echo "dovecot-check: all passed" || { echo "dovecot-check: $fails failed"; exit 1; }
