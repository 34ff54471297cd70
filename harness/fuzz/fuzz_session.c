/* fuzz_session.c — libFuzzer target: pop3refd's whole session state machine (line reader, command parser and
 * table, handlers, SASL, the UPDATE state, pipelining, the close) fed arbitrary octets through an in-memory
 * transport, against a real Maildir (a copy of fixtures/maildrops/three, put back after every input).
 *
 * The first input octet chooses the set-up, the rest is what the client sends:
 *   bit 0  log in first (USER alice / PASS wonderland), so the TRANSACTION state is reached at once;
 *   bit 1  --plaintext-auth always (SASL PLAIN and LOGIN allowed without TLS);
 *   bits 2-4  feed the input in pieces of 1, 2, 7, 64, 255 or 4096 octets, or all at once (partial lines).
 * Checks (abort on failure): no sanitizer report, every server line ends in CRLF, the session ends when the
 * client half-closes, and no message file changes unless a QUIT was sent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the 4 upper-case letters w occur in p[0..n) in any case. */
static int memmem_ci(const unsigned char *p, size_t n, const char *w)
{
	for (size_t i = 0; i + 4 <= n; i++) {
		size_t k = 0;
		while (k < 4 && (p[i + k] & 0xDF) == (unsigned char)w[k])
			k++;
		if (k == 4)
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char login[] = "USER alice\r\nPASS wonderland\r\n";
	static const size_t chunks[8] = {0, 1, 2, 7, 64, 255, 4096, 0};
	struct server *srv = fz_server();
	unsigned char *buf;
	size_t n = 0;
	unsigned mode;

	if (size == 0)
		return 0;
	mode = data[0];
	data++;
	size--;
	if (size > 256 * 1024)
		return -1; /* longer inputs add nothing the line and input limits don't already bound */
	buf = malloc(sizeof login + size);
	if (!buf)
		abort();
	if (mode & 1) {
		memcpy(buf, login, sizeof login - 1);
		n = sizeof login - 1;
	}
	memcpy(buf + n, data, size);
	n += size;
	srv->plaintext = (mode & 2) ? PLAINTEXT_ALWAYS : PLAINTEXT_COMPAT;
	fz_session(buf, n, chunks[(mode >> 2) & 7]);
	/* RFC 1939 §6: only QUIT in TRANSACTION removes anything; a stream without "QUIT" anywhere (any case)
	 * must leave every message in place. */
	if (!memmem_ci(buf, n, "QUIT") && !fz_server_maildrop_intact()) {
		fprintf(stderr, "fuzz: a message is gone although no QUIT was sent\n");
		abort();
	}
	free(buf);
	fz_server_reset_maildrop();
	return 0;
}
