#!/usr/bin/env bash
# maildir-reset.sh — the reset an admin of a Maildir POP3 server writes: the user's ~/Maildir becomes a
# copy of the fixture Maildir (Dovecot, Courier; docs/peers/README.md).
#
#   harness/peers/maildir-reset.sh USER FIXTURE HOMES
#
# HOMES is the host side of the server's /home. The copy is built beside the old Maildir and renamed over
# it, owned by the user (uid 5000+NN, group mail), so a login never sees a half-copied maildrop. The
# server's own state files in the Maildir go with the old one (Dovecot's index and uidlist, Courier's
# courierpop3dsizelist), except Dovecot's UIDVALIDITY counter, kept so that a new fixture never gets UIDLs
# an earlier one had. A session of the previous scenario still ending (the server learns of a dropped
# connection late) could write its state into the new copy, so the reset first waits up to 10 s until no
# process of the user runs, as an admin waits for a user's sessions to end before touching the mail.
set -eu

die() { echo "maildir-reset.sh: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: $0 USER FIXTURE HOMES"
user=$1 fixture=$2 homes=$3
case "$user" in user[0-9][0-9]) ;; *) die "refusing user name '$user'" ;; esac
uid=$((5000 + 10#${user#user}))
home=$homes/$user
[ -d "$home" ] || die "no home $home (is the server started?)"
[ -d "$fixture/cur" ] || [ -d "$fixture/new" ] || die "fixture $fixture is not a Maildir"

for i in $(seq 1 100); do
	pgrep -u "$uid" >/dev/null 2>&1 || break
	[ "$i" -eq 100 ] && die "a session of $user (pid $(pgrep -u "$uid" | tr '\n' ' ')) did not end within 10 s"
	sleep 0.1
done

new=$home/.Maildir.reset.$$
old=$home/.Maildir.old.$$
trap 'rm -rf "$new" "$old"' EXIT
mkdir -p "$new/cur" "$new/new" "$new/tmp"
for sub in cur new; do
	[ -d "$fixture/$sub" ] || continue
	find "$fixture/$sub" -maxdepth 1 -type f ! -name '.*' -exec cp -p -t "$new/$sub" {} +
done
[ -f "$home/Maildir/dovecot-uidvalidity" ] && cp -p "$home/Maildir/dovecot-uidvalidity" "$new/"
chown -R "$uid:8" "$new"
chmod -R u+rwX,go-rwx "$new"
[ -e "$home/Maildir" ] && mv "$home/Maildir" "$old"
mv "$new" "$home/Maildir"
