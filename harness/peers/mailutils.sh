#!/usr/bin/env bash
# mailutils.sh — run Debian's GNU Mailutils POP3 server (mailutils-pop3d 3.15) on loopback from its
# unpacked .debs, as a peer the suite is checked against (docs/peers/mailutils.md).
#
#   harness/peers/mailutils.sh start|stop|env|status
#
# As Debian's mailutils-pop3d.service runs it (`pop3d --daemon`, here also --foreground so that stop can
# find it), with an /etc/mailutils.conf that says only what a private loopback instance needs: two server
# blocks on free ports (STLS on the first, implicit TLS on the second), the certificate, and logging to
# stderr instead of a syslog the namespace lacks. Everything else is the default: system users (passwd,
# shadow, PAM), mbox spools /var/mail/USER, and the APOP secrets in /etc/apop.db made with popauth.
# Reset: mbox-reset.sh (one cp of the mbox file).
set -eu
name=mailutils
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peerlib.sh"

cmd_start() {
	peer_unpack mailutils-pop3d libmailutils9 mailutils-common libmu-dbm9 libkyotocabinet16v5 libwrap0 libmariadb3
	version=$(dpkg-deb -f "$(deb_of mailutils-pop3d)" Version | sed 's/^[0-9]*://; s/-[^-]*$//')
	write_users
	write_storage
	find_tls
	port=$(free_port)
	tls_port=$(free_port "$port")
	# The certificate where an admin puts it, key readable by root only (Mailutils checks that).
	rm -rf "$dir/overlay"
	mkdir -p "$dir/overlay/etc/ssl/private" "$dir/overlay/etc/ssl/certs"
	cp "$tls_cert" "$dir/overlay/etc/ssl/certs/pop3spec.pem"
	install -m 600 "$tls_key" "$dir/overlay/etc/ssl/private/pop3spec.key"
	cat >"$dir/overlay/etc/mailutils.conf" <<CONF
# Written by harness/peers/mailutils.sh: only what a private loopback instance needs.
logging {
  syslog false;
};
tls {
  ssl-certificate-file /etc/ssl/certs/pop3spec.pem;
  ssl-key-file /etc/ssl/private/pop3spec.key;
};
server 127.0.0.1:$port {
  tls-mode stls;
};
server 127.0.0.1:$tls_port {
  tls-mode connection;
};
CONF
	# The APOP database (/etc/apop.db, the default apop-database-file) as the admin fills it with popauth:
	# one secret per user, apopNN, apart from the password; the profile lists it as apop_secret.
	local i n
	for i in $(seq 1 "$naccounts"); do
		n=$(printf '%02d' "$i")
		echo "popauth -a -u user$n -p apop$n"
	done >"$dir/prepare"
	chmod 755 "$dir/prepare"
	peer_launch /usr/sbin/pop3d --daemon --foreground
	wait_port "$port" && wait_port "$tls_port" ||
		{ peer_stop; die "pop3d did not listen on $port/$tls_port; log: $dir/log/server.log"; }
	tls_ca=$tls_ca
	apop_secret=apop
	write_target "'$here/mbox-reset.sh' {user} {fixture_mbox} '$dir/spool'" "delivery: agent"
	write_state
	echo "mailutils $version: pop3 127.0.0.1:$port (STLS)  pop3s 127.0.0.1:$tls_port (mbox /var/mail)"
	echo "target profile: $dir/target.yaml"
}

peer_main "$@"
