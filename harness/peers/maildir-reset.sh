#!/usr/bin/env bash
# maildir-reset.sh — the reset an admin of a Maildir POP3 server writes: the user's ~/Maildir becomes a
# copy of the fixture Maildir (Dovecot, Courier; docs/peers/README.md).
#
#   harness/peers/maildir-reset.sh USER FIXTURE HOMES
#
# HOMES is the host side of the server's /home. The copy is built beside the old Maildir, owned by the
# user (uid 5000+NN, group mail), and swapped with it in one renameat2(RENAME_EXCHANGE): a login never
# sees a half-copied maildrop, nor a moment without one (two renames, old away then new in, left a window
# where Courier answered a login "-ERR chdir Maildir failed", and a reset killed between them left no
# Maildir at all; rename(2) cannot replace a non-empty folder, and coreutils 9.1 has no mv --exchange). The
# server's own state files in the Maildir go with the old one (Dovecot's index and uidlist, Courier's
# courierpop3dsizelist), except Dovecot's UIDVALIDITY counter, kept so that a new fixture never gets UIDLs
# an earlier one had. A session of the previous scenario still ending (the server learns of a dropped
# connection late) could write its state into the new copy, so the reset first waits up to 10 s until no
# process of the user runs in this peer's namespace, as an admin waits for a user's sessions to end before
# touching the mail.
set -eu

die() { echo "maildir-reset.sh: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: $0 USER FIXTURE HOMES"
user=$1 fixture=$2 homes=$3
case "$user" in user[0-9][0-9]) ;; *) die "refusing user name '$user'" ;; esac
uid=$((5000 + 10#${user#user}))
home=$homes/$user
[ -d "$home" ] || die "no home $home (is the server started?)"
[ -d "$fixture/cur" ] || [ -d "$fixture/new" ] || die "fixture $fixture is not a Maildir"

# The user's processes of this peer only: every peer's test users have the same uids, and another peer
# running at the same time (its own user01 logged in) must not hold this reset up. This peer's server runs
# in a mount namespace of its own (peerlib.sh); its pid file, beside HOMES, names the leader.
peer_ns=
if [ -r "$homes/../run.pid" ]; then
	read -r leader _ <"$homes/../run.pid" || true
	[ -n "${leader:-}" ] && peer_ns=$(readlink "/proc/$leader/ns/mnt" 2>/dev/null || true)
fi
sessions() {
	local p
	for p in $(pgrep -u "$uid" 2>/dev/null); do
		[ -z "$peer_ns" ] || [ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$peer_ns" ] && echo "$p"
	done
	return 0
}
for i in $(seq 1 100); do
	[ -z "$(sessions)" ] && break
	[ "$i" -eq 100 ] && die "a session of $user (pid $(sessions | tr '\n' ' ')) did not end within 10 s"
	sleep 0.1
done

new=$home/.Maildir.reset.$$
trap 'rm -rf "$new"' EXIT
mkdir -p "$new/cur" "$new/new" "$new/tmp"
for sub in cur new; do
	[ -d "$fixture/$sub" ] || continue
	find "$fixture/$sub" -maxdepth 1 -type f ! -name '.*' -exec cp -p -t "$new/$sub" {} +
done
[ -f "$home/Maildir/dovecot-uidvalidity" ] && cp -p "$home/Maildir/dovecot-uidvalidity" "$new/"
chown -R "$uid:8" "$new"
chmod -R u+rwX,go-rwx "$new"
if [ -e "$home/Maildir" ]; then
	# Swap the two folders in one system call (python3's os module has no RENAME_EXCHANGE: glibc's
	# renameat2 through ctypes). $new then holds the old maildrop, which the EXIT trap removes.
	python3 - "$new" "$home/Maildir" <<'PY' || die "cannot swap $new and $home/Maildir"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
a, b = (os.fsencode(p) for p in sys.argv[1:3])
if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
    sys.exit("renameat2(RENAME_EXCHANGE): " + os.strerror(ctypes.get_errno()))
PY
else
	mv -T "$new" "$home/Maildir"
fi
