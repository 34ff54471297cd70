#!/usr/bin/env bash
# peer-ns.sh — inside the private mount and UTS namespace peerlib.sh's peer_launch made: build the peer's
# private root and exec its server there.
#
#   peer-ns.sh DIR HOSTNAME CMD...
#
# DIR is build/peers/NAME: pkgroot/ (the unpacked .debs), etc/{passwd,shadow,group}, overlay/ (the
# server's configuration, copied over the view), spool/ and home/ (bind-mounted on /var/mail and /home).
# The root is an overlayfs: lower layers the package root and the machine's /, upper layer a tmpfs, so
# every write the server makes outside /var/mail and /home (its /etc, /run, /var/lib, logs) lands in
# memory of this namespace and disappears with it. Mounts made here are private to the namespace.
set -eu

[ $# -ge 3 ] || { echo "usage: $0 DIR HOSTNAME CMD..." >&2; exit 2; }
dir=$1 host=$2
shift 2

# Only ever in our own namespace: the mounts below would otherwise be the machine's.
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] || { echo "$0: not in a private mount namespace" >&2; exit 2; }

hostname "$host"
ns=$dir/ns
mkdir -p "$ns"
mount -t tmpfs -o mode=755 pop3spec-peer "$ns"
# overlayfs refuses a lower layer inside another lower layer (/), so the package root is copied to the tmpfs.
mkdir -p "$ns/pkg" "$ns/upper" "$ns/work" "$ns/root"
cp -a "$dir/pkgroot/." "$ns/pkg/"
mount -t overlay pop3spec-peer -o "lowerdir=$ns/pkg:/,upperdir=$ns/upper,workdir=$ns/work" "$ns/root"
r=$ns/root
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount --rbind /sys "$r/sys"
mount -t tmpfs -o mode=755 run "$r/run"
mount -t tmpfs -o mode=1777 tmp "$r/tmp"
mkdir -p "$r/var/mail" "$r/home"
mount --bind "$dir/spool" "$r/var/mail"
mount --bind "$dir/home" "$r/home"
# The folder the runner's scripts and fixtures live in, at the same path (resets need not run inside).
for f in passwd shadow group; do cp "$dir/etc/$f" "$r/etc/$f"; done
chmod 640 "$r/etc/shadow"
chgrp shadow "$r/etc/shadow" 2>/dev/null || true
cp -a "$dir/overlay/." "$r/"
# Folders Debian's init scripts or tmpfiles.d would make under /run.
mkdir -p "$r/run/lock"
[ ! -x "$dir/prepare" ] || chroot "$r" /bin/sh -c "$(cat "$dir/prepare")"
exec chroot "$r" "$@"
