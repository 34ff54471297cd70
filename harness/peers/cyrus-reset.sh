#!/usr/bin/env bash
# cyrus-reset.sh — the reset an admin of Cyrus writes: empty the user's INBOX with Cyrus's own tool, then
# deliver the fixture through lmtpd, as the MTA would (docs/peers/cyrus.md).
#
#   harness/peers/cyrus-reset.sh USER FIXTURE DIR
#
# DIR is build/peers/cyrus (cyrus.sh start). Runs from the host: the tools run in the server's namespace
# through nsenter (as user cyrus, as Cyrus's tools must), lmtpd is reached through the server's root
# (/proc/PID/root). Three steps:
#   1. `cyrus ipurge -f -b 0 user.USER` — every message of the INBOX (all are larger than 0 octets);
#   2. `cyrus expire -E 1s` — forget the duplicate-delivery records older than a second, or lmtpd would
#      silently drop the fixture's messages as already delivered (duplicatesuppression, on by default,
#      keys on Message-ID and mailbox). `-E 0` prunes nothing, so a reset of the same user within 2 s of
#      its last delivery first waits for the records to age;
#   3. cyrus-lmtp.py — one LMTP transaction per fixture message, in the fixture's order.
set -eu

die() { echo "cyrus-reset.sh: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: $0 USER FIXTURE DIR"
user=$1 fixture=$2 dir=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "$user" in user[0-9][0-9]) ;; *) die "refusing user name '$user'" ;; esac
[ -d "$fixture/cur" ] || [ -d "$fixture/new" ] || die "fixture $fixture is not a Maildir"
read -r pid _ <"$dir/run.pid" || die "Cyrus is not running (no $dir/run.pid)"
[ -d "/proc/$pid/root/run/cyrus" ] || die "Cyrus (pid $pid) is not running"

incyrus() { nsenter -t "$pid" -m -r -w -S 4995 -G 8 "$@"; }
incyrus /usr/sbin/cyrus ipurge -f -b 0 "user.$user" >/dev/null ||
	die "ipurge user.$user failed"
stamp=$dir/log/delivered.$user
if [ -f "$stamp" ]; then
	age=$(( $(date +%s%N) / 1000000 - $(cat "$stamp") ))
	[ "$age" -ge 2100 ] || sleep "$(awk "BEGIN { print (2100 - $age) / 1000 }")"
fi
incyrus /usr/sbin/cyrus expire -E 1s >/dev/null 2>&1 || die "cyr_expire -E 1s failed"
"$here/cyrus-lmtp.py" "/proc/$pid/root/run/cyrus/socket/lmtp" "$user" "$fixture"
echo $(( $(date +%s%N) / 1000000 )) >"$stamp"
