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
# Dovecot may also keep a mailbox list index and per-user state in the home.
rm -rf "$old" "$home"/mailboxes "$home"/.dovecot.* "$home"/dovecot.list.index* 2>/dev/null || true
