#!/usr/bin/env bash
# deps.sh — install the Debian packages pop3spec needs to build and test, or say exactly how to.
# Quick when everything is present; run by `make suite` and `make check` before building. chromium is
# here because the HTML report is tested in a real headless browser (docs/reports.md).
set -eu

packages=(build-essential pkg-config libssl-dev openssl libyaml-dev check libevent-dev libgsasl-dev
          libjansson-dev python3 curl valgrind libxml2-utils chromium clang cppcheck mandoc
          fetchmail mpop getmail6 libio-socket-ssl-perl)
# clang, cppcheck and mandoc serve `make asan` and `make lint`; fetchmail, mpop, getmail6 and IO::Socket::SSL
# (Net::POP3 over TLS) are the real clients e2e/test_real_clients.py runs against pop3refd. Optional: clang-format (its report in
# `make lint`), installed when asked with --all. Dovecot is installed by harness/peers/dovecot.sh itself.
extras=(clang-format)

want=("${packages[@]}")
[ "${1:-}" = "--all" ] && want+=("${extras[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "pop3spec: missing Debian packages: ${missing[*]}" >&2
	echo "pop3spec: install them with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "pop3spec: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
