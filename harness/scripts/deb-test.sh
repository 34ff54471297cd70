#!/usr/bin/env bash
# deb-test.sh — the Debian packages end to end: build them from a copy of this tree (so nothing lands in or
# beside the source tree), check them with lintian (errors and warnings fail), install them with apt-get
# (a policy-rc.d answering 101 around it, so no service starts), check the unit is installed but not
# enabled, run the installed pop3spec from an empty folder against the installed pop3refd started by hand
# on free loopback ports (a target profile, as a user would) and with --reference, then purge both packages
# and check that nothing of them is left. Needs root (apt-get) and the build dependencies
# (debian/control). About 2-3 minutes. Exit 0 when everything passed.
#   KEEP=1  keep the temporary folder (the .debs, the build log) and print where it is
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
log() { echo "deb-test: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (apt-get install, dpkg --purge)"
for c in dpkg-buildpackage lintian apt-get; do
	command -v "$c" >/dev/null || die "$c is needed (apt-get install dpkg-dev debhelper lintian)"
done

WORK=$(mktemp -d /tmp/pop3spec-deb-test.XXXXXX)
chmod 755 "$WORK" # apt's _apt user reads the .debs from here
SERVER_PID=
OWN_POLICY=0
cleanup() {
	local rc=$?
	[ -z "$SERVER_PID" ] || { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
	[ "$OWN_POLICY" = 0 ] || rm -f /usr/sbin/policy-rc.d
	if dpkg -s pop3spec >/dev/null 2>&1 || dpkg -s pop3refd >/dev/null 2>&1; then
		apt-get -o DPkg::Lock::Timeout=120 purge -y -q pop3spec pop3refd >/dev/null 2>&1 || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for p in pop3spec pop3refd; do
	! dpkg -s "$p" >/dev/null 2>&1 || die "$p is already installed: this test installs and purges it (dpkg --purge $p first)"
done

# --- build ------------------------------------------------------------------------------------------------
log "copying the tree to $WORK/pop3spec"
mkdir "$WORK/pop3spec"
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) |
	tar -C "$WORK/pop3spec" -xf -
log "dpkg-buildpackage -us -uc -b (log: $WORK/build.log)"
if ! (cd "$WORK/pop3spec" && DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
	tail -40 "$WORK/build.log" >&2
	die "dpkg-buildpackage failed"
fi
grep -E '^[0-9]+ scenarios: ' "$WORK/build.log" | sed 's/^/deb-test: build-time suite: /' >&2 || true

# --- lintian ----------------------------------------------------------------------------------------------
log "lintian"
lintian --fail-on error,warning "$WORK"/pop3spec_*.changes ||
	die "lintian reports errors or warnings (see above)"

# --- install ----------------------------------------------------------------------------------------------
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\n# deb-test.sh: no service starts while packages are installed\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	OWN_POLICY=1
fi
log "apt-get install the two packages"
apt-get -o DPkg::Lock::Timeout=120 install -y -q --no-install-recommends \
	"$WORK"/pop3spec_*.deb "$WORK"/pop3refd_*.deb >"$WORK/install.log" 2>&1 ||
	{ cat "$WORK/install.log" >&2; die "apt-get install failed"; }
[ "$OWN_POLICY" = 0 ] || { rm -f /usr/sbin/policy-rc.d; OWN_POLICY=0; }

[ -x /usr/bin/pop3spec ] && [ -x /usr/sbin/pop3refd ] || die "pop3spec or pop3refd not installed"
[ -f /lib/systemd/system/pop3refd.service ] || die "the systemd unit is not installed"
# Installed, not enabled: no wants link (and no running server).
! ls /etc/systemd/system/*.wants/pop3refd.service >/dev/null 2>&1 || die "pop3refd.service was enabled"
! pgrep -f '^/usr/sbin/pop3refd' >/dev/null || die "a pop3refd is running after the install"
[ "$(stat -c %a /etc/pop3refd/users)" = 600 ] || die "/etc/pop3refd/users is not mode 0600"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify /lib/systemd/system/pop3refd.service || die "systemd-analyze verify pop3refd.service"
fi
man -w pop3spec 2>/dev/null | grep -q man1/pop3spec.1 || [ -f /usr/share/man/man1/pop3spec.1.gz ] ||
	die "pop3spec(1) missing"
[ -f /usr/share/man/man8/pop3refd.8.gz ] || die "pop3refd(8) missing"

# --- run, as a user would, from an empty folder ----------------------------------------------------------
RUN="$WORK/run"
mkdir -p "$RUN/maildirs" "$RUN/tls"
cd "$RUN"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout tls/key.pem -out tls/cert.pem 2>/dev/null
: >users
for i in $(seq -w 1 8); do
	echo "user$i:pass$i-deb" >>users
	mkdir -p "maildirs/user$i/cur" "maildirs/user$i/new" "maildirs/user$i/tmp"
done
/usr/sbin/pop3refd --listen 127.0.0.1:0 --listen-tls 127.0.0.1:0 --users users --maildirs maildirs \
	--cert tls/cert.pem --key tls/key.pem --auth-failure-delay 0 >ports 2>pop3refd.log &
SERVER_PID=$!
for _ in $(seq 100); do [ "$(grep -c '^listening' ports || true)" = 2 ] && break; sleep 0.1; done
PORT=$(sed -n 's/^listening pop3 127.0.0.1:\([0-9]*\)$/\1/p' ports)
TLS_PORT=$(sed -n 's/^listening pop3s 127.0.0.1:\([0-9]*\)$/\1/p' ports)
[ -n "$PORT" ] && [ -n "$TLS_PORT" ] || { cat pop3refd.log >&2; die "the installed pop3refd did not start"; }
{
	echo "name: pop3refd (installed package)"
	echo "host: 127.0.0.1"
	echo "port: $PORT"
	echo "tls_port: $TLS_PORT"
	echo "ca: tls/cert.pem"
	echo "sni: localhost"
	echo "maildirs: maildirs"
	echo "accounts:"
	for i in $(seq -w 1 8); do echo "  - {user: user$i, password: pass$i-deb}"; done
} >target.yaml
log "installed pop3spec against the installed pop3refd on ports $PORT/$TLS_PORT"
pop3spec check target.yaml
pop3spec run --target target.yaml -q -j 4 --json target.json --junit target.xml --html target.html ||
	die "pop3spec run --target (installed server) failed"
kill "$SERVER_PID"; wait "$SERVER_PID" || die "pop3refd did not exit 0 on SIGTERM"; SERVER_PID=
log "installed pop3spec run --reference"
pop3spec run --reference -q -j 2 || die "pop3spec run --reference failed"
pop3spec list >/dev/null && pop3spec coverage >/dev/null || die "pop3spec list or coverage failed"
cd /

# --- purge ------------------------------------------------------------------------------------------------
FILES=$(dpkg -L pop3spec pop3refd | sort -u)
log "apt-get purge"
apt-get -o DPkg::Lock::Timeout=120 purge -y -q pop3spec pop3refd >"$WORK/purge.log" 2>&1 ||
	{ cat "$WORK/purge.log" >&2; die "apt-get purge failed"; }
left=
while IFS= read -r f; do
	# Folders shared with other packages (/usr, /etc/default, ...) stay; anything of ours must go.
	if [ -e "$f" ] && { [ ! -d "$f" ] || case "$f" in *pop3spec* | *pop3refd*) true ;; *) false ;; esac; }; then
		left="$left $f"
	fi
done <<<"$FILES"
[ -z "$left" ] || die "left after purge:$left"
[ ! -e /etc/pop3refd ] && [ ! -e /var/lib/pop3refd ] || die "/etc/pop3refd or /var/lib/pop3refd left after purge"
log "OK: built, lintian-clean, installed, ran, purged"
