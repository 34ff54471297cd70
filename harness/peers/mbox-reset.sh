#!/usr/bin/env bash
# mbox-reset.sh — the reset an admin of an mbox POP3 server writes: the user's mail spool file becomes the
# fixture, by one copy (popa3d, solid-pop3d, GNU Mailutils; docs/peers/README.md).
#
#   harness/peers/mbox-reset.sh USER FIXTURE SPOOL
#
# FIXTURE is the runner's {fixture_mbox} (one mbox file) or its {fixture} (a Maildir, converted here with
# maildir2mbox.py). SPOOL is the host side of the server's /var/mail. The file is written beside the old one
# and renamed over it, owned by the user and group mail, mode 0660 as Debian's delivery agents leave it: a
# session of the previous scenario that still holds the old file never writes into the new one.
set -eu

die() { echo "mbox-reset.sh: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: $0 USER FIXTURE SPOOL"
user=$1 fixture=$2 spool=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "$user" in user[0-9][0-9]) ;; *) die "refusing user name '$user'" ;; esac
[ -d "$spool" ] || die "no spool folder $spool (is the server started?)"
tmp=$spool/.$user.reset.$$
trap 'rm -f "$tmp"' EXIT
if [ -d "$fixture" ]; then
	"$here/maildir2mbox.py" "$fixture" "$tmp"
elif [ -f "$fixture" ]; then
	cp "$fixture" "$tmp"
else
	die "fixture $fixture is neither a Maildir nor an mbox file"
fi
chown "$((5000 + 10#${user#user})):8" "$tmp"
chmod 660 "$tmp"
mv -f "$tmp" "$spool/$user"
