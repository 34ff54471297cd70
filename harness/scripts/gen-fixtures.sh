#!/usr/bin/env bash
# gen-fixtures.sh — write the fixtures too big or too secret to commit, into fixtures/generated/:
#   tls/        a test CA (ca.pem, ca.key) and a server certificate for 127.0.0.1 and localhost
#               (server.pem, server.key), made with the openssl command;
#   maildrops/  `large` (one message of about 20 MB) and `thousand` (1,000 small messages), Maildirs with
#               cur/ new/ tmp/, every message with a unique Message-ID <NAME-N@fixtures.pop3spec.test>.
# Run by `make fixtures`. Idempotent: each part is built in a temporary folder, renamed into place when
# complete, and skipped next time while its stamp matches this script's GEN_VERSION (and, for the
# certificates, while they stay valid for another day). Content is deterministic: the same on every machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

GEN_VERSION=2
OUT=fixtures/generated
umask 022
mkdir -p "$OUT/maildrops"

log() { echo "gen-fixtures: $*" >&2; }

# current DIR: whether DIR holds a complete build of this version.
current() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$GEN_VERSION" ]; }

# install TMP DIR: stamp TMP and put it in DIR's place.
install_dir() {
	echo "$GEN_VERSION" >"$1/.stamp"
	rm -rf "$2"
	mv "$1" "$2"
}

new_maildir() {
	mkdir -p "$1/cur" "$1/new" "$1/tmp"
}

# A temporary folder beside the final one (so the rename stays on one file system), mode 0755 (mktemp
# makes it 0700; other local users, a peer server's user say, may need to read fixtures).
tmp_beside() {
	local t
	t=$(mktemp -d "$(dirname "$1")/.$(basename "$1").XXXXXX")
	chmod 755 "$t"
	echo "$t"
}

# --- TLS ----------------------------------------------------------------------------------------------
gen_tls() {
	local dir="$OUT/tls" tmp
	if current "$dir" && openssl x509 -in "$dir/server.pem" -noout -checkend 86400 >/dev/null 2>&1 &&
	   openssl x509 -in "$dir/ca.pem" -noout -checkend 86400 >/dev/null 2>&1; then
		return 0
	fi
	command -v openssl >/dev/null || { log "the openssl command is needed (apt-get install openssl)"; exit 1; }
	log "writing $dir (test CA and server certificate)"
	tmp=$(tmp_beside "$dir")
	(
		cd "$tmp"
		openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=pop3spec test CA" \
			-keyout ca.key -out ca.pem \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
			-keyout server.key -out server.csr 2>/dev/null
		cat >server.ext <<-EXT
			basicConstraints=CA:FALSE
			keyUsage=critical,digitalSignature,keyEncipherment
			extendedKeyUsage=serverAuth
			subjectAltName=IP:127.0.0.1,DNS:localhost
			subjectKeyIdentifier=hash
			authorityKeyIdentifier=keyid,issuer
		EXT
		# RFC 8314 and today's clients: SANs are what names are checked against; 825 days is the
		# longest validity common clients accept.
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
			-days 825 -sha256 -extfile server.ext -out server.pem 2>/dev/null
		rm -f server.csr server.ext
		chmod 600 ca.key server.key
		openssl verify -CAfile ca.pem -verify_ip 127.0.0.1 server.pem >/dev/null
		openssl verify -CAfile ca.pem -verify_hostname localhost server.pem >/dev/null
	)
	install_dir "$tmp" "$dir"
}

# --- thousand: 1,000 small LF-stored messages (as a Unix delivery agent writes them), file names in fixture order ----------------------------
gen_thousand() {
	local dir="$OUT/maildrops/thousand" tmp
	current "$dir" && return 0
	log "writing $dir (1,000 messages)"
	tmp=$(tmp_beside "$dir")
	new_maildir "$tmp"
	awk -v dir="$tmp/new" 'BEGIN {
		split("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike " \
		      "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu", w, " ")
		for (n = 1; n <= 1000; n++) {
			f = sprintf("%s/%d.M%dP1.fixture", dir, 1000000000 + n, n)
			printf "Return-Path: <sender@fixtures.pop3spec.test>\n" > f
			printf "From: Fixture Sender <sender@fixtures.pop3spec.test>\n" > f
			printf "To: Test User <user@fixtures.pop3spec.test>\n" > f
			printf "Subject: Message %d of 1000\n", n > f
			printf "Date: Mon, 01 Jan 2024 %02d:%02d:00 +0000\n", int(n / 60), n % 60 > f
			printf "Message-ID: <thousand-%d@fixtures.pop3spec.test>\n", n > f
			printf "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n" > f
			printf "Content-Transfer-Encoding: 7bit\n\n" > f
			for (l = 1; l <= 1 + n % 7; l++)
				printf "thousand-%d line %d: %s %s %s\n", n, l, w[1 + (n + l) % 26],
				       w[1 + (n * 3 + l) % 26], w[1 + (n * 7 + l * 5) % 26] > f
			close(f)
		}
	}'
	[ "$(find "$tmp/new" -type f | wc -l)" -eq 1000 ] || { log "thousand: wrong message count"; exit 1; }
	install_dir "$tmp" "$dir"
}

# --- large: one LF-stored message of about 20 MB ---------------------------------------------------------
# Lines of 0 to 200 octets, a 998-octet line now and then, lines beginning with '.', lines that are only
# "." or "..": byte-stuffing and the octet count matter all the way through.
gen_large() {
	local dir="$OUT/maildrops/large" tmp
	current "$dir" && return 0
	log "writing $dir (one message of about 20 MB)"
	tmp=$(tmp_beside "$dir")
	new_maildir "$tmp"
	awk -v target=$((20 * 1024 * 1024)) 'BEGIN {
		# Park-Miller generator: exact in awk doubles, so every awk gives the same bytes.
		seed = 20240101
		text = ""
		split("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " \
		      "incididunt ut labore et dolore magna aliqua", w, " ")
		while (length(text) < 1200)
			for (i = 1; i <= 19; i++)
				text = text w[i] " "
		hdr = "Return-Path: <sender@fixtures.pop3spec.test>\n" \
		      "From: Fixture Sender <sender@fixtures.pop3spec.test>\n" \
		      "To: Test User <user@fixtures.pop3spec.test>\n" \
		      "Subject: Large message: about 20 MB of varied lines\n" \
		      "Date: Mon, 01 Jan 2024 12:00:00 +0000\n" \
		      "Message-ID: <large-1@fixtures.pop3spec.test>\n" \
		      "MIME-Version: 1.0\n" \
		      "Content-Type: text/plain; charset=us-ascii\n" \
		      "Content-Transfer-Encoding: 7bit\n\n"
		printf "%s", hdr
		size = length(hdr)
		for (n = 1; size < target; n++) {
			seed = (seed * 16807) % 2147483647
			len = seed % 201
			off = 1 + (seed % 997)
			if (n % 1000 == 0)
				line = substr(text, 1, 998)
			else if (n % 500 == 250)
				line = "."
			else if (n % 500 == 251)
				line = ".."
			else if (n % 37 == 0)
				line = "." substr(text, off, len)
			else
				line = substr(text, off, len)
			print line
			size += length(line) + 1
		}
		print "large-1 ends here."
	}' >"$tmp/new/1000000001.M1P1.fixture"
	install_dir "$tmp" "$dir"
}

gen_tls
gen_thousand
gen_large
