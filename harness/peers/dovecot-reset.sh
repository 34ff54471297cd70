#!/usr/bin/env bash
# dovecot-reset.sh — make one user's maildrop in the harness's private Dovecot hold exactly a fixture.
#
#   harness/peers/dovecot-reset.sh USER FIXTURE [DIR]
#
# FIXTURE is a Maildir (cur/, new/, tmp/) prepared by the runner; DIR is the folder dovecot.sh start
# wrote (default build/peers/dovecot). The target profile's `reset` calls this before each scenario that
# names a fixture. The whole Maildir is rebuilt, so Dovecot's caches go with it: dovecot.index*,
# dovecot-uidlist (UIDs restart at 1 with a new UIDVALIDITY, so UIDLs of different fixtures never mix),
# dovecot-keywords and the POP3 session lock; only the UIDVALIDITY counter is kept. The next login then
# sees exactly the fixture's messages.
set -eu

die() { echo "dovecot-reset.sh: $*" >&2; exit 1; }

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: $0 USER FIXTURE [DIR]"
user=$1 fixture=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${3:-${DOVECOT_DIR:-$here/../../build/peers/dovecot}}

case "$user" in
	'' | *[!A-Za-z0-9._-]* | .*) die "refusing user name '$user'" ;;
esac
home=$dir/mail/$user
[ -d "$home" ] || die "no maildrop for $user under $dir/mail (is Dovecot started by dovecot.sh?)"
[ -d "$fixture" ] || die "fixture $fixture is not a folder"
[ -d "$fixture/cur" ] || [ -d "$fixture/new" ] || die "fixture $fixture has neither cur/ nor new/"

# A pop3 process of the previous scenario may still be ending (the runner closes its connections without
# QUIT, and Dovecot tears the session down asynchronously: closing the mailbox writes dovecot.index.log and
# dovecot-uidlist and removes the session lock). Swapping the Maildir under it lets it write its stale
# index into the new one, and the next login then sees a mix of two fixtures. So wait until no pop3
# process works in this user's home (Dovecot's mail processes chdir there); after 5 s ask Dovecot to kick
# the session, after 10 s give up.
sessions() {
	local p pids
	if command -v pgrep >/dev/null 2>&1; then
		pids=$(pgrep -x pop3 || true)
	else
		pids=$(cd /proc && echo [0-9]*)
	fi
	for p in $pids; do
		[ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$home" ] || continue
		case "$(readlink "/proc/$p/exe" 2>/dev/null)" in */dovecot/pop3) echo "$p" ;; esac
	done
}
home=$(cd "$home" && pwd -P)
for i in $(seq 1 100); do
	[ -z "$(sessions)" ] && break
	if [ "$i" -eq 50 ] && [ -f "$dir/dovecot.conf" ]; then
		doveadm -c "$dir/dovecot.conf" kick "$user" >/dev/null 2>&1 || true
	fi
	[ "$i" -eq 100 ] && die "a Dovecot session of $user (pid $(sessions | tr '\n' ' ')) did not end within 10 s"
	sleep 0.1
done

# The owner of the user's home is the uid Dovecot accesses the mail as (dovecot.sh chose it).
owner=$(stat -c '%u:%g' "$home")

# Build the new Maildir beside the old one and swap, so a login never sees a half-copied maildrop.
new=$home/Maildir.reset.$$
old=$home/Maildir.old.$$
trap 'rm -rf "$new" "$old"' EXIT
mkdir -p "$new/cur" "$new/new" "$new/tmp"
for sub in cur new; do
	[ -d "$fixture/$sub" ] || continue
	# Regular files only: Maildir messages, never Dovecot state that a fixture might carry.
	find "$fixture/$sub" -maxdepth 1 -type f ! -name 'dovecot*' ! -name '.*' -exec cp -p -t "$new/$sub" {} +
done
# Keep Dovecot's UIDVALIDITY counter, so a new fixture never gets the UIDLs an earlier one had.
[ -f "$home/Maildir/dovecot-uidvalidity" ] && cp -p "$home/Maildir/dovecot-uidvalidity" "$new/"
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$owner" "$new"
fi
chmod -R u+rwX "$new"
[ -e "$home/Maildir" ] && mv "$home/Maildir" "$old"
mv "$new" "$home/Maildir"
# One line per reset, beside Dovecot's log, to line up with it when a scenario sees the wrong maildrop.
if [ -d "$dir/log" ]; then
	echo "$(date '+%b %d %H:%M:%S.%N' | cut -c1-19) reset $user <- $fixture ($(find "$home/Maildir/cur" "$home/Maildir/new" -type f | wc -l) messages)" \
		>>"$dir/log/reset.log" 2>/dev/null || true
fi
# Dovecot may also keep a mailbox list index and per-user state in the home.
rm -rf "$old" "$home"/mailboxes "$home"/.dovecot.* "$home"/dovecot.list.index* 2>/dev/null || true
