#!/usr/bin/env bash
# dovecot.sh — run Debian's Dovecot POP3 server on loopback under our own control, as a peer the suite is
# checked against (issue 4, "Accuracy against a real server"; docs/peers/dovecot.md).
#
#   harness/peers/dovecot.sh start   install dovecot-core/dovecot-pop3d if missing, write a private config
#                                    folder, start Dovecot on free 127.0.0.1 ports, write target.yaml
#   harness/peers/dovecot.sh stop    stop that Dovecot (only the one this script started)
#   harness/peers/dovecot.sh env     print DOVECOT_* shell assignments for the running instance
#   harness/peers/dovecot.sh status  exit 0 when it runs
#   harness/peers/dovecot.sh check   smoke test: Python poplib (plain, STLS, POP3_SSL, APOP) and curl pop3://
#
# Never touches /etc/dovecot or the system service: everything lives in $DOVECOT_DIR (default
# build/peers/dovecot/), and `dovecot -c` runs with its own base_dir, state_dir and log.
# Environment: DOVECOT_DIR, DOVECOT_PORT / DOVECOT_TLS_PORT (fixed ports instead of free ones),
# DOVECOT_ACCOUNTS (default 16), DOVECOT_MAIL_USER (root only; default "mail"), DOVECOT_HOSTNAME (the
# server's host name, default dovecot.pop3spec.test).
set -eu

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${DOVECOT_DIR:-$root/build/peers/dovecot}
naccounts=${DOVECOT_ACCOUNTS:-16}
hostname=${DOVECOT_HOSTNAME:-dovecot.pop3spec.test}

die() { echo "dovecot.sh: $*" >&2; exit 1; }
say() { echo "dovecot.sh: $*" >&2; }

# --- packages -------------------------------------------------------------------------------------------

# Install the Debian packages when missing. The package's maintainer scripts would start and enable the
# system-wide service (ports 110/995, /etc/dovecot); a policy-rc.d that exits 101 forbids that. An existing
# policy-rc.d is left as it is (it is someone else's), and ours is removed afterwards.
install_packages() {
	local missing=() p
	for p in dovecot-core dovecot-pop3d; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		say "missing Debian packages: ${missing[*]}"
		say "install them (a temporary policy-rc.d keeps the system service from starting) with:"
		# An existing policy-rc.d is someone else's: used as it is, never replaced or removed.
		echo "  sudo sh -c 'c=0; [ -e /usr/sbin/policy-rc.d ] || { printf \"#!/bin/sh\\nexit 101\\n\"" \
		     ">/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; c=1; }; apt-get update &&" \
		     "apt-get install -y --no-install-recommends ${missing[*]}; r=\$?;" \
		     "[ \$c = 1 ] && rm -f /usr/sbin/policy-rc.d; exit \$r'" >&2
		exit 1
	fi
	say "installing ${missing[*]}"
	local ours=0 rc=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# written by pop3spec harness/peers/dovecot.sh for one apt-get run\nexit 101\n' \
			>/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		ours=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 || rc=$?
	[ $ours -eq 1 ] && rm -f /usr/sbin/policy-rc.d
	[ $rc -eq 0 ] || die "apt-get failed ($rc)"
}

# --- ports ----------------------------------------------------------------------------------------------

port_busy() {
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# A free port below Linux's default ephemeral range (32768-60999), so no outgoing connection takes it
# between our choice and Dovecot's bind; never $1.
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 12000))
		[ "$p" = "${1:-}" ] && continue      # not the port already chosen
		port_busy "$p" || { echo "$p"; return 0; }
	done
	die "no free port found"
}

# --- TLS ------------------------------------------------------------------------------------------------

# The certificate `make fixtures` generates (fixtures/generated/tls/), else our own CA and server
# certificate for localhost and 127.0.0.1 made here with openssl.
find_tls() {
	local g=$root/fixtures/generated/tls c k a
	for c in server.pem server.crt cert.pem server-cert.pem; do [ -f "$g/$c" ] && break; c=; done
	for k in server.key server-key.pem key.pem; do [ -f "$g/$k" ] && break; k=; done
	for a in ca.pem ca.crt ca-cert.pem; do [ -f "$g/$a" ] && break; a=; done
	if [ -n "$c" ] && [ -n "$k" ] && [ -r "$g/$c" ] && [ -r "$g/$k" ]; then
		tls_cert=$g/$c tls_key=$g/$k tls_ca=${a:+$g/$a}
		return 0
	fi
	local t=$dir/tls
	tls_cert=$t/server.pem tls_key=$t/server.key tls_ca=$t/ca.pem
	[ -f "$tls_cert" ] && [ -f "$tls_key" ] && [ -f "$tls_ca" ] && return 0
	say "no readable certificate in $g (run 'make fixtures'); generating one in $t"
	mkdir -p "$t"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pop3spec dovecot test CA" \
		-keyout "$t/ca.key" -out "$t/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$t/server.key" \
		-out "$t/server.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$t/ext.cnf"
	openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
		-days 3650 -extfile "$t/ext.cnf" -out "$t/server.pem" 2>/dev/null
	rm -f "$t/server.csr" "$t/ext.cnf"
}

# Whether the certificate names 127.0.0.1, so the runner can verify it against the CA.
cert_names_loopback() {
	openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | grep -q 'IP Address:127.0.0.1'
}

# --- state ----------------------------------------------------------------------------------------------

conf=$dir/dovecot.conf
state=$dir/state.env     # written at start: ports and paths of the running instance

master_pid() {
	local f=$dir/run/master.pid p
	[ -f "$f" ] || return 1
	p=$(cat "$f")
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$(command -v dovecot)")" ] \
		&& echo "$p"
}

wait_port() {
	local i
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- config ---------------------------------------------------------------------------------------------

# The user owning the maildrops. Dovecot refuses uid 0 for mail access, so as root the mail is owned by
# Debian's fixed system user "mail" (uid 8) and nothing is added to /etc/passwd; otherwise by ourselves.
mail_ids() {
	if [ "$(id -u)" -eq 0 ]; then
		local u=${DOVECOT_MAIL_USER:-mail}
		mail_uid=$(id -u "$u") || die "no user $u"
		mail_gid=$(id -g "$u")
	else
		mail_uid=$(id -u) mail_gid=$(id -g)
	fi
}

write_passwd() {
	local i n f=$dir/passwd
	: >"$f.tmp"
	for i in $(seq 1 "$naccounts"); do
		n=$(printf '%02d' "$i")
		# scheme PLAIN: the secret is kept in the clear, which APOP, CRAM-MD5 and SCRAM need.
		echo "user$n:{PLAIN}pass$n::::::" >>"$f.tmp"
	done
	mv "$f.tmp" "$f"
}

write_conf() {
	local dh='' unpriv=''
	[ -r /usr/share/dovecot/dh.pem ] && dh="ssl_dh = </usr/share/dovecot/dh.pem"
	if [ "$(id -u)" -ne 0 ]; then
		local me
		me=$(id -un)
		unpriv="default_internal_user = $me
default_internal_group = $(id -gn)
default_login_user = $me
service pop3-login {
  chroot =
}
service anvil {
  chroot =
}"
	fi
	cat >"$conf.tmp" <<EOF
# Generated by harness/peers/dovecot.sh start; rewritten at every start — edit the script, not this file.
# A private Dovecot instance for pop3spec: nothing here reads /etc/dovecot. Choices: docs/peers/dovecot.md
instance_name = pop3spec-dovecot
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/log/dovecot.log
info_log_path = $dir/log/dovecot.log
debug_log_path = $dir/log/dovecot.log
$unpriv

# The host name in the APOP timestamp and the logs, fixed so that results do not depend on the test
# machine's name (a real server has a dotted FQDN; a CI box often has none).
import_environment = TZ CORE_OUTOFMEM CORE_ERROR LISTEN_PID LISTEN_FDS NOTIFY_SOCKET DOVECOT_HOSTNAME=$hostname
hostname = $hostname

protocols = pop3
listen = 127.0.0.1
shutdown_clients = yes

# No anvil auth penalty (2 s doubling to 15 s before each login from an IP that failed before), which
# would time out the suite's many deliberate failures; this is Dovecot's documented switch for it (the
# socket is then never created, and auth skips the penalty when it finds no socket). The
# ordinary auth_failure_delay (2 s after each failure, RFC 5034 §4's delay) stays. (login_trusted_networks
# would also skip the penalty, but changes the greeting to "+OK [XCLIENT] ...".)
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

# Dovecot's default. Loopback connections count as secured, so plaintext USER/PASS and AUTH PLAIN are
# offered on the plain port too.
disable_plaintext_auth = yes
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256 apop
auth_verbose = yes

ssl = yes
ssl_cert = <$tls_cert
ssl_key = <$tls_key
ssl_min_protocol = TLSv1.2
$dh

first_valid_uid = $mail_uid
first_valid_gid = $mail_gid
mail_location = maildir:~/Maildir

# RFC 1939 §8: the maildrop is locked for the whole session (Dovecot's default is "no").
pop3_lock_session = yes
# Dovecot's default, stated: the UIDL is the IMAP UID and UIDVALIDITY, stable while dovecot-uidlist lives.
pop3_uidl_format = %08Xu%08Xv

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/passwd
}
userdb {
  driver = static
  args = uid=$mail_uid gid=$mail_gid home=$dir/mail/%u
}

service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $port
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $tls_port
    ssl = yes
  }
}
EOF
	mv "$conf.tmp" "$conf"
}

write_maildirs() {
	local i n
	mkdir -p "$dir/mail"
	for i in $(seq 1 "$naccounts"); do
		n=$(printf 'user%02d' "$i")
		mkdir -p "$dir/mail/$n/Maildir/cur" "$dir/mail/$n/Maildir/new" "$dir/mail/$n/Maildir/tmp"
	done
	chown -R "$mail_uid:$mail_gid" "$dir/mail"
}

write_target() {
	local i n verify
	if [ -n "$tls_ca" ] && cert_names_loopback "$tls_cert"; then
		verify="tls_verify: true
ca: $tls_ca"
	else
		verify="tls_verify: false"
	fi
	{
		echo "# Generated by harness/peers/dovecot.sh start for this run (the ports change every start)."
		echo "# The committed example is fixtures/targets/dovecot.yaml."
		echo "name: dovecot-$version"
		echo "host: 127.0.0.1"
		echo "port: $port"
		echo "tls_port: $tls_port"
		echo "$verify"
		echo "accounts:"
		for i in $(seq 1 "$naccounts"); do
			n=$(printf '%02d' "$i")
			echo "  - {user: user$n, password: pass$n}"
		done
		# sh -c runs it; the runner quotes {user} and {fixture} itself.
		echo "reset: \"'$here/dovecot-reset.sh' {user} {fixture} '$dir'\""
		echo "idle_timeout: 600"
	} >"$dir/target.yaml"
}

# --- commands -------------------------------------------------------------------------------------------

cmd_start() {
	install_packages
	command -v dovecot >/dev/null || die "dovecot not found after install"
	if p=$(master_pid); then
		say "already running (pid $p)"
		cmd_env
		return 0
	fi
	version=$(dovecot --version | awk '{print $1}')
	# A fresh base_dir: a socket file left by an earlier run (anvil-auth-penalty above all, which this
	# configuration no longer listens on) makes every auth process start stall 5 s in connect retries
	# ("Connection refused"), where a missing one is skipped at once.
	rm -rf "$dir/run"
	mkdir -p "$dir/run" "$dir/state" "$dir/log"
	[ "$(id -u)" -eq 0 ] && chmod 755 "$dir" "$dir/run"
	mail_ids
	find_tls
	write_passwd
	write_maildirs
	local attempt
	for attempt in 1 2 3; do
		port=${DOVECOT_PORT:-$(free_port)}
		tls_port=${DOVECOT_TLS_PORT:-$(free_port "$port")}
		write_conf
		dovecot -c "$conf" -n >/dev/null 2>"$dir/log/config.err" ||
			die "config rejected: $(cat "$dir/log/config.err")"
		# Output to a file: the daemonized master keeps inherited descriptors, so $(...) would wait forever.
		if dovecot -c "$conf" >"$dir/log/start.out" 2>&1; then
			break
		fi
		say "start failed (attempt $attempt): $(cat "$dir/log/start.out")"
		# Only a port taken between our check and Dovecot's bind is worth another try.
		grep -q "in use" "$dir/log/start.out" || die "cannot start; log: $dir/log/dovecot.log"
		[ -n "${DOVECOT_PORT:-}" ] && die "cannot start on fixed ports"
		[ $attempt -eq 3 ] && die "cannot start; log: $dir/log/dovecot.log"
	done
	wait_port "$port" && wait_port "$tls_port" ||
		die "Dovecot did not listen on $port/$tls_port; log: $dir/log/dovecot.log"
	write_target
	cat >"$state" <<EOF
DOVECOT_VERSION=$version
DOVECOT_HOST=127.0.0.1
DOVECOT_PORT=$port
DOVECOT_TLS_PORT=$tls_port
DOVECOT_DIR=$dir
DOVECOT_CONF=$conf
DOVECOT_TARGET=$dir/target.yaml
DOVECOT_CA=$tls_ca
DOVECOT_LOG=$dir/log/dovecot.log
DOVECOT_PID=$(master_pid || true)
EOF
	echo "dovecot $version: pop3 127.0.0.1:$port (plain, STLS)  pop3s 127.0.0.1:$tls_port (implicit TLS)"
	echo "target profile: $dir/target.yaml"
}

cmd_stop() {
	local p i
	if ! p=$(master_pid); then
		say "not running"
		return 0
	fi
	kill -TERM "$p"
	for i in $(seq 1 100); do
		kill -0 "$p" 2>/dev/null || { say "stopped (pid $p)"; return 0; }
		sleep 0.1
	done
	die "pid $p did not stop within 10 s"
}

cmd_env() {
	master_pid >/dev/null || die "not running (start it: $0 start)"
	sed 's/^/export /' "$state"
}

case "${1:-}" in
	start) cmd_start ;;
	stop) cmd_stop ;;
	env) cmd_env ;;
	status) if p=$(master_pid); then echo "running (pid $p)"; else echo "not running"; exit 1; fi ;;
	check) master_pid >/dev/null || die "not running (start it: $0 start)"
	       exec "$here/dovecot-check.sh" "$dir/target.yaml" ;;
	*) echo "usage: $0 start|stop|env|status|check" >&2; exit 2 ;;
esac
