#!/usr/bin/env bash
# solid-pop3d.sh — run Debian's Solid POP3 server (solid-pop3d 0.15) on loopback from its unpacked .debs,
# as a peer the suite is checked against (docs/peers/solid-pop3d.md).
#
#   harness/peers/solid-pop3d.sh start|stop|env|status
#
# As Debian installs it by default: from inetd (`nowait root.mail /usr/sbin/solid-pop3d`), the package's
# /etc/spop3d.conf (mailbox /var/mail/%s), PAM service "solid-pop3d" (common-auth: pam_unix on the
# private /etc/shadow), system user spop3d in group mail. Each user has set an APOP secret with
# pop_auth (~/.spop3d), apopNN, apart from the password (the profile's apop_secret).
# No TLS (solid-pop3d has none). Reset: mbox-reset.sh (one cp of the mbox file).
set -eu
name=solid-pop3d
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peerlib.sh"

cmd_start() {
	peer_unpack solid-pop3d liblockfile1
	version=$(dpkg-deb -f "$(deb_of solid-pop3d)" Version | sed 's/-[^-]*$//')
	write_users
	# adduser --system --ingroup mail spop3d; its home holds the bulletins folder.
	echo "spop3d:x:4991:8:Solid POP3 Server:/var/lib/solid-pop3d:/usr/sbin/nologin" >>"$dir/etc/passwd"
	echo "spop3d:*:19000:0:99999:7:::" >>"$dir/etc/shadow"
	write_storage
	# Every user sets an APOP secret with pop_auth (~/.spop3d), apart from the password; the profile lists
	# it as apop_secret.
	apop_secret=apop
	apop_secrets pop_auth >"$dir/prepare"
	chmod 755 "$dir/prepare"
	port=$(free_port)
	tls_port=
	tls_ca=
	peer_launch $(inetd_cmd "$port") /usr/sbin/solid-pop3d
	wait_port "$port" || { peer_stop; die "solid-pop3d did not listen on $port; log: $dir/log/server.log"; }
	# The autologout is 2 minutes unless -a says otherwise (solid-pop3d(8)).
	write_target "'$here/mbox-reset.sh' {user} {fixture_mbox} '$dir/spool'" "delivery: agent" "idle_timeout: 120"
	write_state
	echo "solid-pop3d $version: pop3 127.0.0.1:$port (inetd-style, mbox /var/mail)"
	echo "target profile: $dir/target.yaml"
}

peer_main "$@"
