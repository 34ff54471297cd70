# peerlib.sh — shared by the peer scripts (harness/peers/NAME.sh): run a Debian POP3 server from its
# unpacked .debs in a private root, on free loopback ports, without installing or configuring anything
# on the machine (docs/peers/README.md).
#
# How: the packages are unpacked with `dpkg-deb -x` into build/peers/NAME/pkgroot. `peer_launch` starts
# `unshare --mount --uts` (a private mount namespace and host name), where harness/peers/peer-ns.sh lays
# the package root over a copy-on-write view of / (overlayfs, upper layer on a tmpfs), writes a private
# /etc/passwd, /etc/shadow, /etc/group with the test users into that view, bind-mounts the host folders
# build/peers/NAME/{spool,home} on /var/mail and /home, and chroots into it to run the server. The system
# never sees any of it: the mounts, the private /etc and the server's files die with the namespace when
# the last process ends. Resets run on the host and write build/peers/NAME/{spool,home} directly.
#
# Sourced, not run. The including script sets `name` (the peer's short name) before sourcing.
# Environment: PEERS_DEBS (folder of downloaded .debs, default /work/debs, then build/peers/debs, where
# missing ones are fetched with `apt-get download`), PEER_ACCOUNTS (default 16).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${PEER_DIR:-$root/build/peers/$name}
naccounts=${PEER_ACCOUNTS:-16}
peer_hostname=$name.pop3spec.test
debcache=$root/build/peers/debs
pidfile=$dir/run.pid
state=$dir/state.env
# Test users: userNN / passNN, uid 5000+NN, group "mail" (gid 8, as Debian's /var/mail expects).
uid_base=5000

die() { echo "$name.sh: $*" >&2; exit 1; }
say() { echo "$name.sh: $*" >&2; }

# --- packages -------------------------------------------------------------------------------------------

# The .deb file of package $1, from PEERS_DEBS or the cache; fetched into the cache when missing.
deb_of() {
	local p=$1 f d
	for d in "${PEERS_DEBS:-/work/debs}" "$debcache"; do
		for f in "$d/${p}_"*.deb; do
			[ -f "$f" ] && { echo "$f"; return 0; }
		done
	done
	mkdir -p "$debcache"
	say "apt-get download $p"
	(cd "$debcache" && apt-get download -q "$p" >&2) || die "cannot download $p"
	for f in "$debcache/${p}_"*.deb; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	die "no .deb for $p"
}

# Unpack the packages into $dir/pkgroot (once; again when the list changes).
peer_unpack() {
	local p list="$*"
	if [ -f "$dir/pkgroot/.packages" ] && [ "$(cat "$dir/pkgroot/.packages")" = "$list" ]; then
		return 0
	fi
	rm -rf "$dir/pkgroot"
	mkdir -p "$dir/pkgroot"
	for p in "$@"; do
		dpkg-deb -x "$(deb_of "$p")" "$dir/pkgroot" || die "dpkg-deb -x $p failed"
	done
	# Merged /usr, as dpkg lays it on Debian 12: a package's /lib/... goes to /usr/lib/... (where the
	# machine's /lib is a symlink). A real /lib folder in the package layer would hide that symlink in the
	# overlay, and with it the dynamic loader.
	local d
	for d in bin sbin lib lib32 lib64 libx32; do
		if [ -L "/$d" ] && [ -d "$dir/pkgroot/$d" ] && [ ! -L "$dir/pkgroot/$d" ]; then
			mkdir -p "$dir/pkgroot/usr/$d"
			cp -a "$dir/pkgroot/$d/." "$dir/pkgroot/usr/$d/"
			rm -rf "${dir:?}/pkgroot/$d"
		fi
	done
	echo "$list" >"$dir/pkgroot/.packages"
}

# --- ports ----------------------------------------------------------------------------------------------

port_busy() {
	[ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]
}

# A free port below Linux's default ephemeral range, never one of the arguments.
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 12000))
		case " $* " in *" $p "*) continue ;; esac
		port_busy "$p" || { echo "$p"; return 0; }
	done
	die "no free port found"
}

wait_port() {
	local i
	for i in $(seq 1 150); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- TLS ------------------------------------------------------------------------------------------------

# The certificate `make fixtures` generates (it names localhost and 127.0.0.1).
find_tls() {
	local g=$root/fixtures/generated/tls
	tls_cert=$g/server.pem tls_key=$g/server.key tls_ca=$g/ca.pem
	[ -r "$tls_cert" ] && [ -r "$tls_key" ] || die "no certificate in $g (run 'make fixtures')"
}

# --- users and storage ----------------------------------------------------------------------------------

# The private /etc/passwd, /etc/shadow and /etc/group: the machine's, plus the test users. Only the
# namespace's view of /etc gets them (peer-ns.sh copies them there).
write_users() {
	local i n h
	mkdir -p "$dir/etc"
	cp /etc/passwd "$dir/etc/passwd"
	cp /etc/group "$dir/etc/group"
	if [ -r /etc/shadow ]; then cp /etc/shadow "$dir/etc/shadow"; else : >"$dir/etc/shadow"; fi
	for i in $(seq 1 "$naccounts"); do
		n=$(printf '%02d' "$i")
		h=$(openssl passwd -6 "pass$n")
		echo "user$n:x:$((uid_base + 10#$n)):8:pop3spec test user:/home/user$n:/bin/sh" >>"$dir/etc/passwd"
		echo "user$n:$h:19000:0:99999:7:::" >>"$dir/etc/shadow"
	done
	chmod 640 "$dir/etc/shadow"
}

# sys_user NAME UID HOME: a system user the package's postinst would add (adduser --system), with a group
# of the same name, in the private /etc only.
sys_user() {
	echo "$1:x:$2:$2::$3:/usr/sbin/nologin" >>"$dir/etc/passwd"
	echo "$1:*:19000:0:99999:7:::" >>"$dir/etc/shadow"
	echo "$1:x:$2:" >>"$dir/etc/group"
}

# /var/mail (root:mail 2775 as on Debian) and /home/userNN, on the host side of the bind mounts.
write_storage() {
	local i n
	mkdir -p "$dir/spool" "$dir/home"
	chown root:8 "$dir/spool"
	chmod 2775 "$dir/spool"
	for i in $(seq 1 "$naccounts"); do
		n=$(printf 'user%02d' "$i")
		mkdir -p "$dir/home/$n"
		chown "$((uid_base + 10#${n#user})):8" "$dir/home/$n"
		chmod 700 "$dir/home/$n"
	done
}

# apop_secrets COMMAND: the lines for $dir/prepare that give every test user an APOP secret of its own,
# apopNN, apart from its password passNN (COMMAND, run as the user with HOME set, reads the secret twice
# from stdin), as each user of a server with per-user APOP secrets would set it. The peer script sets
# apop_secret=apop so write_target lists it as each account's apop_secret: the suite digests it for APOP
# and logs in with the password for USER/PASS.
apop_secrets() {
	local i n
	for i in $(seq 1 "$naccounts"); do
		n=$(printf '%02d' "$i")
		echo "printf 'apop$n\\napop$n\\n' | HOME=/home/user$n setpriv --reuid=$((uid_base + i)) --regid=8 --init-groups $1 >/dev/null"
	done
}

# uid of a test user name (user07 -> 5007).
uid_of() { echo $((uid_base + 10#${1#user})); }

# --- the namespace --------------------------------------------------------------------------------------

# Start time of a process (clock ticks since boot, /proc/PID/stat field 22): with the pid, its identity.
start_time() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	echo "$s" | awk '{print $20}'
}

# The pid of the running server this script started: the pid file holds "PID STARTTIME", so a pid reused
# by another process is never taken for ours.
server_pid() {
	local p t
	[ -f "$pidfile" ] || return 1
	read -r p t <"$pidfile" || return 1
	[ -n "$p" ] && [ -n "$t" ] && [ "$(start_time "$p")" = "$t" ] && echo "$p"
}

# peer_launch CMD...: run CMD inside the private root (see the header), as the leader of a new session so
# that stop can end it and every process it forked. $dir/overlay/ is copied over the view first (the
# server's configuration files).
peer_launch() {
	mkdir -p "$dir/log" "$dir/overlay"
	: >"$dir/log/server.log"
	POP3SPEC_PEER=$name setsid \
		unshare --mount --uts --propagation private -- \
		"$here/peer-ns.sh" "$dir" "$peer_hostname" "$@" </dev/null >>"$dir/log/server.log" 2>&1 &
	local p=$!
	echo "$p $(start_time "$p")" >"$pidfile"
}

# The inetd way (Debian runs popa3d, solid-pop3d and mailutils' pop3d from inetd): one server process per
# connection with the socket on stdin/stdout. systemd-socket-activate --inetd --accept is that inetd.
inetd_cmd() {
	echo systemd-socket-activate --inetd --accept --listen="127.0.0.1:$1" --
}

# The processes of the server's private mount namespace (named by its inode, as /proc/PID/ns/mnt shows
# it): the leader and everything it started, also daemons that left its session (Courier's, Cyrus's).
ns_pids() {
	local q
	for q in /proc/[0-9]*; do
		[ "$(readlink "$q/ns/mnt" 2>/dev/null)" = "$1" ] && echo "${q#/proc/}"
	done
	return 0
}

peer_stop() {
	local p i ns left
	if ! p=$(server_pid); then
		say "not running"
		rm -f "$pidfile"
		return 0
	fi
	ns=$(readlink "/proc/$p/ns/mnt")
	# Never the machine's own namespace (the leader had not yet unshared): then only its session.
	[ "$ns" = "$(readlink /proc/self/ns/mnt)" ] && ns=
	kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
	[ -z "$ns" ] || kill -TERM $(ns_pids "$ns") 2>/dev/null || true
	for i in $(seq 1 100); do
		left=$( { pgrep -g "$p"; [ -z "$ns" ] || ns_pids "$ns"; } 2>/dev/null || true)
		if [ -z "$left" ]; then
			rm -f "$pidfile"
			say "stopped (pid $p)"
			return 0
		fi
		sleep 0.1
	done
	kill -KILL $left 2>/dev/null || true
	sleep 0.3
	rm -f "$pidfile"
	say "killed (pid $p and $(echo $left | wc -w) processes) after 10 s"
}

# --- the target profile ---------------------------------------------------------------------------------

# write_target RESET [extra YAML lines...]: build/peers/NAME/target.yaml for this run's ports.
write_target() {
	local reset=$1 i n
	shift
	{
		echo "# Generated by harness/peers/$name.sh start for this run (the ports change every start)."
		echo "# The committed example is fixtures/targets/$name.yaml."
		echo "name: $name-$version"
		echo "host: 127.0.0.1"
		echo "port: $port"
		[ -n "${tls_port:-}" ] && echo "tls_port: $tls_port"
		if [ -n "${tls_ca:-}" ]; then echo "tls_verify: true"; echo "ca: $tls_ca"; else echo "tls_verify: false"; fi
		echo "accounts:"
		for i in $(seq 1 "$naccounts"); do
			n=$(printf '%02d' "$i")
			if [ -n "${apop_secret:-}" ]; then
				echo "  - {user: user$n, password: pass$n, apop_secret: $apop_secret$n}"
			else
				echo "  - {user: user$n, password: pass$n}"
			fi
		done
		echo "reset: \"$reset\""
		for i in "$@"; do echo "$i"; done
	} >"$dir/target.yaml"
}

write_state() {
	local up=${name^^}
	up=${up//-/_}
	cat >"$state" <<EOF
${up}_VERSION=$version
${up}_HOST=127.0.0.1
${up}_PORT=$port
${up}_TLS_PORT=${tls_port:-}
${up}_DIR=$dir
${up}_TARGET=$dir/target.yaml
${up}_LOG=$dir/log/server.log
${up}_PID=$(server_pid)
EOF
}

peer_env() {
	server_pid >/dev/null || die "not running (start it: $0 start)"
	sed 's/^/export /' "$state"
}

# The standard command dispatch; the including script defines cmd_start.
peer_main() {
	case "${1:-}" in
		start) [ "$(id -u)" -eq 0 ] || die "needs root (mount namespaces, chroot, the users' uids)"
		       if p=$(server_pid); then say "already running (pid $p)"; exit 0; fi
		       cmd_start ;;
		stop) peer_stop ;;
		env) peer_env ;;
		status) if p=$(server_pid); then echo "running (pid $p)"; else echo "not running"; exit 1; fi ;;
		*) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
	esac
}
