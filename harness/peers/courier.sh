#!/usr/bin/env bash
# courier.sh — run Debian's Courier POP3 server (courier-pop 1.0.16, courier-authdaemon 0.71) on loopback
# from its unpacked .debs, as a peer the suite is checked against (docs/peers/courier.md).
#
#   harness/peers/courier.sh start|stop|env|status
#
# As Debian's services start it: `authdaemond start` (authdaemonrc untouched: authmodulelist="authpam", PAM
# service "pop3" on the private /etc/shadow), then `pop3d start` and `pop3d-ssl start` (couriertcpd in
# front of courierpop3login and courierpop3d, Maildir ~/Maildir). /etc/courier/pop3d and pop3d-ssl are
# the package's with only ADDRESS/PORT and SSLADDRESS/SSLPORT changed (loopback, free ports). The
# certificate and DH parameters are ours where the postinst would generate them (mkpop3dcert,
# mkdhparams). Courier logs through courierlogger to syslog, which the namespace lacks: its log is lost.
# Each user gets an empty ~/Maildir at start (maildirmake's). Reset: maildir-reset.sh (a copy of the
# fixture Maildir).
set -eu
name=courier
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peerlib.sh"

cmd_start() {
	peer_unpack courier-pop courier-base courier-authdaemon courier-authlib courier-authlib-userdb \
		libcourier-unicode4 libgamin0 libltdl7
	version=$(dpkg-deb -f "$(deb_of courier-pop)" Version | sed 's/^[0-9]*://; s/-[^-]*$//')
	write_users
	# The postinsts' adduser --system --group courier.
	sys_user courier 4994 /var/lib/courier
	write_storage
	# Every account has its maildrop from the start, as `maildirmake ~/Maildir` makes it when an admin adds
	# a Courier user: Courier never creates it (a login without one gets "-ERR chdir Maildir failed", with
	# a bare LF), and the run's first scenario on an account may name no fixture, so no reset made it
	# (robustness/bare-lf-command, often the first, failed on that). An existing one is kept.
	local h u
	for h in "$dir"/home/user[0-9][0-9]; do
		u=$(uid_of "${h##*/}")
		[ -e "$h/Maildir" ] && continue
		mkdir -p "$h/Maildir/cur" "$h/Maildir/new" "$h/Maildir/tmp"
		chown -R "$u:8" "$h/Maildir"
		chmod -R 700 "$h/Maildir"
	done
	find_tls
	port=$(free_port)
	tls_port=$(free_port "$port")
	local o=$dir/overlay p=$dir/pkgroot/etc/courier
	rm -rf "$o"
	mkdir -p "$o/etc/courier" "$o/var/lib/courier"
	sed -e "s/^PORT=.*/PORT=$port/" -e "s/^ADDRESS=.*/ADDRESS=127.0.0.1/" "$p/pop3d" >"$o/etc/courier/pop3d"
	sed -e "s/^SSLPORT=.*/SSLPORT=$tls_port/" -e "s/^SSLADDRESS=.*/SSLADDRESS=127.0.0.1/" "$p/pop3d-ssl" \
		>"$o/etc/courier/pop3d-ssl"
	# mkpop3dcert's file: key and certificate in one, readable by root and group courier.
	cat "$tls_key" "$tls_cert" >"$o/etc/courier/pop3d.pem"
	chmod 640 "$o/etc/courier/pop3d.pem"
	chgrp 4994 "$o/etc/courier/pop3d.pem"
	openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$o/etc/courier/dhparams.pem" 2>/dev/null
	chgrp 4994 "$o/etc/courier/dhparams.pem"
	chown 4994:4994 "$o/var/lib/courier"
	# What the two systemd units and tmpfiles.d do, in order; the leader then just waits.
	cat >"$o/pop3spec-courier-start" <<'RUN'
#!/bin/sh
mkdir -p /run/courier/authdaemon
chown root:courier /run/courier && chmod 775 /run/courier
chown courier:courier /run/courier/authdaemon && chmod 750 /run/courier/authdaemon
/usr/sbin/authdaemond start
i=0; while [ ! -S /run/courier/authdaemon/socket ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
/usr/sbin/pop3d start
/usr/sbin/pop3d-ssl start
exec sleep infinity
RUN
	chmod 755 "$o/pop3spec-courier-start"
	peer_launch /pop3spec-courier-start
	wait_port "$port" && wait_port "$tls_port" ||
		{ peer_stop; die "Courier did not listen on $port/$tls_port; log: $dir/log/server.log"; }
	write_target "'$here/maildir-reset.sh' {user} {fixture} '$dir/home'" "delivery: verbatim"
	write_state
	echo "courier $version: pop3 127.0.0.1:$port (plain, STLS)  pop3s 127.0.0.1:$tls_port (implicit TLS)"
	echo "target profile: $dir/target.yaml"
}

peer_main "$@"
