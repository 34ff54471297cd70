#!/usr/bin/env bash
# popa3d.sh — run Debian's popa3d (1.0.3) on loopback from its unpacked .deb, as a peer the suite is
# checked against (docs/peers/popa3d.md).
#
#   harness/peers/popa3d.sh start|stop|env|status
#
# As Debian installs it by default: from inetd (`nowait root /usr/sbin/popa3d`; standalone -D would bind
# 0.0.0.0:110, compiled in), PAM service "popa3d" (common-auth: pam_unix, the system users of the private
# /etc/shadow), mbox spools /var/mail/USER, privilege separation as user popa3d in /var/lib/popa3d.
# No TLS, no CAPA, no APOP: popa3d has none. Reset: mbox-reset.sh (one cp of the mbox file).
set -eu
name=popa3d
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peerlib.sh"

cmd_start() {
	peer_unpack popa3d
	version=$(dpkg-deb -f "$(deb_of popa3d)" Version | sed 's/-[^-]*$//')
	write_users
	sys_user popa3d 4990 /var/lib/popa3d
	write_storage
	port=$(free_port)
	tls_port=
	tls_ca=
	peer_launch $(inetd_cmd "$port") /usr/sbin/popa3d
	wait_port "$port" || { peer_stop; die "popa3d did not listen on $port; log: $dir/log/server.log"; }
	write_target "'$here/mbox-reset.sh' {user} {fixture_mbox} '$dir/spool'" "delivery: agent"
	write_state
	echo "popa3d $version: pop3 127.0.0.1:$port (inetd-style, mbox /var/mail)"
	echo "target profile: $dir/target.yaml"
}

peer_main "$@"
