/* fuzz_session.c — libFuzzer target: pop3refd's whole session state machine (line reader, command parser and
 * table, handlers, SASL, the UPDATE state, pipelining, the close) fed arbitrary octets through an in-memory
 * transport, against a real Maildir (a copy of fixtures/maildrops/three, put back after every input).
 *
 * The first input octet chooses the set-up, the rest is what the client sends:
 *   bit 0  log in first (USER alice / PASS wonderland), so the TRANSACTION state is reached at once;
 *   bit 1  --plaintext-auth always (SASL PLAIN and LOGIN allowed without TLS);
 *   bits 2-4  feed the input in pieces of 1, 2, 7, 64, 255 or 4096 octets, or all at once (partial lines).
 * Checks (abort on failure): no sanitizer report, every server line ends in CRLF, the session ends when the
 * client half-closes, and no message file changes unless a QUIT was sent.
 *
 * Structure-aware: half of the mutations work on whole lines, keeping their line ends — change one line's
 * content (libFuzzer's byte mutations, dictionary included), duplicate, drop or swap lines, or insert a
 * command line from a table — so inputs stay sequences of commands and reach deep states; the other half are
 * libFuzzer's byte mutations over everything, which find what a broken line end does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed);

#define MAX_LINES 256

/* Cut buf[0..n) into lines, each with its line end (the last may have none). Returns the count. */
static size_t cut_lines(const uint8_t *buf, size_t n, size_t *start, size_t *len)
{
	size_t k = 0, s0 = 0;

	for (size_t i = 0; i < n && k < MAX_LINES; i++) {
		if (buf[i] == '\n' || i == n - 1) {
			start[k] = s0;
			len[k++] = i + 1 - s0;
			s0 = i + 1;
		}
	}
	return k;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	static const char *const cmds[] = {"USER alice\r\n",
	                                   "PASS wonderland\r\n",
	                                   "STAT\r\n",
	                                   "LIST\r\n",
	                                   "LIST 2\r\n",
	                                   "RETR 1\r\n",
	                                   "TOP 3 1\r\n",
	                                   "DELE 1\r\n",
	                                   "DELE 3\r\n",
	                                   "RSET\r\n",
	                                   "NOOP\r\n",
	                                   "UIDL\r\n",
	                                   "UIDL 2\r\n",
	                                   "QUIT\r\n",
	                                   "CAPA\r\n",
	                                   "AUTH\r\n",
	                                   "AUTH PLAIN\r\n",
	                                   "AGFsaWNlAHdvbmRlcmxhbmQ=\r\n",
	                                   "*\r\n",
	                                   "AUTH LOGIN YWxpY2U=\r\n",
	                                   "AUTH CRAM-MD5\r\n",
	                                   "AUTH SCRAM-SHA-1 biwsbj1hbGljZSxyPWFiYw==\r\n",
	                                   "APOP alice 00000000000000000000000000000000\r\n",
	                                   "UTF8\r\n",
	                                   "LANG\r\n",
	                                   "LANG *\r\n",
	                                   "STLS\r\n"};
	static uint8_t tmp[1 << 16];
	size_t start[MAX_LINES], len[MAX_LINES], n, a, b, out = 1;
	unsigned r = seed;

	if (size < 2 || max > sizeof tmp || (r & 1))
		return LLVMFuzzerMutate(data, size, max);
	r >>= 1;
	n = cut_lines(data + 1, size - 1, start, len);
	if (n == 0)
		return LLVMFuzzerMutate(data, size, max);
	a = (r >> 3) % n;
	b = (r >> 11) % n;
	tmp[0] = data[0]; /* the mode octet stays */
	for (size_t i = 0; i < n; i++) {
		const uint8_t *l = data + 1 + start[i];
		size_t ll = len[i];
		switch (r & 7) {
		case 0: /* mutate line a's content, keeping its line end */
			if (i == a && ll > 0 && out + ll <= max) {
				size_t end = l[ll - 1] == '\n' ? (ll >= 2 && l[ll - 2] == '\r' ? 2 : 1) : 0;
				size_t body = ll - end, room = max - out - end;
				if (room > body + 64)
					room = body + 64;
				memcpy(tmp + out, l, body);
				if (body > 0)
					body = LLVMFuzzerMutate(tmp + out, body, room);
				memcpy(tmp + out + body, l + ll - end, end);
				out += body + end;
				continue;
			}
			break;
		case 1: /* duplicate line a */
			if (i == a && out + 2 * ll <= max) {
				memcpy(tmp + out, l, ll);
				out += ll;
			}
			break;
		case 2: /* drop line a */
			if (i == a)
				continue;
			break;
		case 3: /* swap lines a and b */
			if (i == a) {
				l = data + 1 + start[b];
				ll = len[b];
			} else if (i == b) {
				l = data + 1 + start[a];
				ll = len[a];
			}
			break;
		default: /* insert a command line before line a */
			if (i == a) {
				const char *c = cmds[(r >> 19) % (sizeof cmds / sizeof cmds[0])];
				size_t cl = strlen(c);
				if (out + cl <= max) {
					memcpy(tmp + out, c, cl);
					out += cl;
				}
			}
			break;
		}
		if (out + ll > max)
			break;
		memcpy(tmp + out, l, ll);
		out += ll;
	}
	memcpy(data, tmp, out);
	return out;
}

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
