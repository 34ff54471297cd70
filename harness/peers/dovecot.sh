#!/usr/bin/env bash
# dovecot.sh — run Debian's Dovecot POP3 server (dovecot-core + dovecot-pop3d 2.3.19.1) on loopback from its
# unpacked .debs with Debian's default configuration, as a peer the suite is checked against
# (docs/peers/dovecot.md).
#
#   harness/peers/dovecot.sh start|stop|env|status
#
# Nothing is installed: the packages are unpacked into build/peers/dovecot/pkgroot and run in a private
# root (peerlib.sh). /etc/dovecot is what the packages' postinst makes of /usr/share/dovecot (dovecot.conf,
# conf.d/, the pop3 protocol), untouched, plus a local.conf (dovecot.conf includes it last) with only
# what a private loopback instance needs: the listen address and ports, the certificate, the logs on
# stderr, and mail in ~/Maildir (Debian's default is mbox in /var/mail; Maildir is what the brief asks
# of Dovecot). So: PAM and system users (auth-system.conf.ext), auth_mechanisms = plain, the default
# anvil auth penalty and auth_failure_delay, pop3_lock_session = no, the default UIDL format.
# Reset: maildir-reset.sh (a copy of the fixture Maildir).
set -eu
name=dovecot
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peerlib.sh"

cmd_start() {
	peer_unpack dovecot-core dovecot-pop3d libexttextcat-2.0-0 liblua5.4-0 libwrap0
	version=$(dpkg-deb -f "$(deb_of dovecot-core)" Version | sed 's/^[0-9]*://; s/+.*//; s/-[^-]*$//')
	write_users
	# The postinst's adduser --system --group dovecot / dovenull.
	sys_user dovecot 4992 /usr/lib/dovecot
	sys_user dovenull 4993 /nonexistent
	write_storage
	find_tls
	port=$(free_port)
	tls_port=$(free_port "$port")
	local o=$dir/overlay
	rm -rf "$o"
	mkdir -p "$o/etc/dovecot/private" "$o/usr/share/dovecot/protocols.d"
	# What the postinsts do: ucf copies /usr/share/dovecot/{dovecot.conf,conf.d} to /etc/dovecot, and
	# dovecot-pop3d adds its protocol.
	cp -a "$dir/pkgroot/usr/share/dovecot/dovecot.conf" "$dir/pkgroot/usr/share/dovecot/conf.d" "$o/etc/dovecot/"
	for f in "$dir"/pkgroot/usr/share/dovecot/*.conf.ext; do cp -a "$f" "$o/etc/dovecot/"; done
	echo 'protocols = $protocols pop3' >"$o/usr/share/dovecot/protocols.d/pop3d.protocol"
	# The certificate where the postinst puts the snakeoil one.
	cp "$tls_cert" "$o/etc/dovecot/private/dovecot.pem"
	install -m 600 "$tls_key" "$o/etc/dovecot/private/dovecot.key"
	cat >"$o/etc/dovecot/local.conf" <<CONF
# Written by harness/peers/dovecot.sh: only what a private loopback instance needs.
listen = 127.0.0.1
log_path = /dev/stderr
mail_location = maildir:~/Maildir
service pop3-login {
  inet_listener pop3 {
    port = $port
  }
  inet_listener pop3s {
    port = $tls_port
    ssl = yes
  }
}
CONF
	peer_launch /usr/sbin/dovecot -F
	wait_port "$port" && wait_port "$tls_port" ||
		{ peer_stop; die "Dovecot did not listen on $port/$tls_port; log: $dir/log/server.log"; }
	write_target "'$here/maildir-reset.sh' {user} {fixture} '$dir/home'" "idle_timeout: 600" "delivery: verbatim"
	write_state
	echo "dovecot $version: pop3 127.0.0.1:$port (plain, STLS)  pop3s 127.0.0.1:$tls_port (implicit TLS)"
	echo "target profile: $dir/target.yaml"
}

peer_main "$@"
