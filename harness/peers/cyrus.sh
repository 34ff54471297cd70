#!/usr/bin/env bash
# cyrus.sh — run Debian's Cyrus POP3 server (cyrus-pop3d 3.6.1) on loopback from its unpacked .debs, as a
# peer the suite is checked against (docs/peers/cyrus.md).
#
#   harness/peers/cyrus.sh start|stop|env|status
#
# As Debian's cyrus-imapd.service runs it: `cyrmaster -l 32 -C /etc/imapd.conf -M /etc/cyrus.conf`, the
# package's imapd.conf (sasl_pwcheck_method: auxprop, i.e. sasldb; allowplaintext; autocreate_quota: 0, so
# a user's INBOX is made at the first login, popminpoll: 1) with only the certificate added, and its cyrus.conf with only
# the listeners changed: pop3 and pop3s on free loopback ports, the LMTP Unix socket as shipped, and the
# services that would bind the machine's standard ports (imap, nntp, http, sieve) left out. Users are in
# /etc/sasldb2 (saslpasswd2, as README.Debian says). Mail is Cyrus's own store, filled through LMTP.
# Reset: cyrus-reset.sh (ipurge the INBOX, then deliver the fixture through lmtpd's socket).
set -eu
name=cyrus
# Debian's popminpoll: 1 makes Cyrus announce LOGIN-DELAY 60 and the runner paces each account's logins by
# it; 32 accounts (16 workers) keep a whole run near 18.6 minutes instead of twice that with 16.
: "${PEER_ACCOUNTS:=32}"
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peerlib.sh"

cmd_start() {
	peer_unpack cyrus-common cyrus-pop3d sasl2-bin libclamav12 libmspack0 libical3 libxapian30 libzephyr4 libwrap0
	version=$(dpkg-deb -f "$(deb_of cyrus-pop3d)" Version | sed 's/^[0-9]*://; s/-[^-]*$//')
	write_users
	# The postinst's adduser --system --ingroup mail cyrus; adduser cyrus sasl.
	echo "cyrus:x:4995:8:Cyrus Mailsystem User:/var/spool/cyrus:/bin/sh" >>"$dir/etc/passwd"
	echo "cyrus:*:19000:0:99999:7:::" >>"$dir/etc/shadow"
	if grep -q '^sasl:' "$dir/etc/group"; then
		sed -i 's/^\(sasl:[^:]*:[^:]*:\)\(.*\)$/\1\2,cyrus/; s/^\(sasl:[^:]*:[^:]*:\),cyrus$/\1cyrus/' "$dir/etc/group"
	else
		echo "sasl:x:45:cyrus" >>"$dir/etc/group"
	fi
	write_storage
	find_tls
	port=$(free_port)
	tls_port=$(free_port "$port")
	local o=$dir/overlay p=$dir/pkgroot/etc
	rm -rf "$o"
	mkdir -p "$o/etc/cyrus-tls"
	cp "$tls_cert" "$o/etc/cyrus-tls/server.pem"
	install -m 640 "$tls_key" "$o/etc/cyrus-tls/server.key"
	chgrp 8 "$o/etc/cyrus-tls/server.key"
	{
		# Debian's popminpoll: 1 (one login per account a minute, announced as LOGIN-DELAY 60 and
		# enforced with -ERR [LOGIN-DELAY], RFC 2449 §6.5, §8.1.1) stays: the runner paces its logins by
		# it. CYRUS_POPMINPOLL=0 (no delay) makes a run a few minutes long, for trying things out; it is
		# not Debian's setting (docs/peers/cyrus.md). Cyrus refuses an option given twice, so the line is
		# replaced.
		sed "s/^popminpoll:.*/popminpoll: ${CYRUS_POPMINPOLL:-1}/" "$p/imapd.conf"
		echo "# harness/peers/cyrus.sh: the certificate"
		echo "tls_server_cert: /etc/cyrus-tls/server.pem"
		echo "tls_server_key: /etc/cyrus-tls/server.key"
	} >"$o/etc/imapd.conf"
	# Listeners only: the standard-port services out, pop3/pop3s on loopback.
	sed -E \
		-e 's/^([[:space:]]*)(imap|nntp|http|sieve)([[:space:]].*listen=.*)$/\1#\2\3  # harness: not on this machine'"'"'s ports/' \
		-e 's/^([[:space:]]*)pop3([[:space:]]+)cmd="pop3d -U 30" listen="pop3"/\1pop3\2cmd="pop3d -U 30" listen="127.0.0.1:'"$port"'"/' \
		-e 's/^([[:space:]]*)#pop3s([[:space:]]+)cmd="pop3d -s -U 30" listen="pop3s"/\1pop3s\2cmd="pop3d -s -U 30" listen="127.0.0.1:'"$tls_port"'"/' \
		"$p/cyrus.conf" >"$o/etc/cyrus.conf"
	grep -q "listen=\"127.0.0.1:$port\"" "$o/etc/cyrus.conf" && grep -q "listen=\"127.0.0.1:$tls_port\"" "$o/etc/cyrus.conf" ||
		die "cyrus.conf: the pop3/pop3s lines were not found"
	# What the postinst and tmpfiles.d do before the service starts; the users' sasldb entries.
	{
		echo "set -e"
		echo "install -d -o cyrus -g mail -m 755 /run/cyrus"
		echo "install -d -o cyrus -g mail -m 750 /run/cyrus/socket /run/cyrus/proc /run/cyrus/lock"
		echo "install -d -o cyrus -g mail -m 750 /var/lib/cyrus /var/spool/cyrus /var/spool/cyrus/mail /var/spool/cyrus/news /var/spool/sieve"
		echo "su -s /bin/sh cyrus -c '/usr/sbin/cyrus makedirs' >/dev/null 2>&1 || true"
		local i n
		for i in $(seq 1 "$naccounts"); do
			n=$(printf '%02d' "$i")
			echo "echo pass$n | saslpasswd2 -p -c user$n"
		done
		echo "chown root:sasl /etc/sasldb2; chmod 640 /etc/sasldb2"
	} >"$dir/prepare"
	chmod 755 "$dir/prepare"
	peer_launch /usr/sbin/cyrmaster -l 32 -C /etc/imapd.conf -M /etc/cyrus.conf
	wait_port "$port" && wait_port "$tls_port" ||
		{ peer_stop; die "Cyrus did not listen on $port/$tls_port; log: $dir/log/server.log"; }
	# Each user's first login makes the INBOX (autocreate_quota: 0), as for a new user on a Debian Cyrus;
	# lmtpd delivers only to an existing one.
	python3 - "$port" "$naccounts" <<'PY' || { peer_stop; die "the first logins failed"; }
import poplib, sys
for i in range(1, int(sys.argv[2]) + 1):
    p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=30)
    p.user("user%02d" % i)
    p.pass_("pass%02d" % i)
    p.quit()
PY
	write_target "'$here/cyrus-reset.sh' {user} {fixture} '$dir'" "delivery: agent" "reset_timeout: 300"
	write_state
	echo "cyrus $version: pop3 127.0.0.1:$port (plain, STLS)  pop3s 127.0.0.1:$tls_port (implicit TLS)"
	echo "target profile: $dir/target.yaml"
}

peer_main "$@"
