/* fuzz_sasl.c — libFuzzer target: SASL and base64 on both sides. The first input octet chooses:
 *   mode 0  lib/b64: strict decoding of arbitrary text (anything accepted must re-encode to the very same
 *           text: RFC 4648 §3.5 canonical), and encoding of arbitrary octets (must decode back, strictly);
 *   mode 1  pop3refd's AUTH exchange (server sasl.c through GNU SASL) in a real session: "AUTH MECH", then
 *           each '\n'-separated piece of the rest base64-encoded as one client response line (a piece
 *           starting with 0xFF is sent raw instead: "*", junk, bad base64), then STAT and QUIT;
 *   mode 2  the runner's SASL client (runner sasl_client.c): each piece is a decoded server challenge.
 * Bits 2-4 of the first octet pick the mechanism: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lib/b64.h"
#include "runner/sasl_client.h"
#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c)) {                                                                                  \
			fprintf(stderr, "fuzz_sasl: %s (line %d)\n", #c, __LINE__);                          \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

static const char *const mechs[] = {"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"};

static void b64_roundtrips(const uint8_t *data, size_t size)
{
	unsigned char *dec = malloc(size / 4 * 3 + 1);
	char *enc = malloc(b64_encoded_len(size) + 1), *enc2;
	size_t n = 0, m = 0;

	CHECK(dec && enc);
	if (b64_decode((const char *)data, size, dec, &n, 1) == B64_OK) {
		enc2 = malloc(b64_encoded_len(n) + 1);
		CHECK(enc2);
		CHECK(b64_encode(dec, n, enc2) == size);
		CHECK(memcmp(enc2, data, size) == 0);
		free(enc2);
	}
	/* Lenient pad bits: accepted text is a superset; the decoded length is still exact. */
	if (b64_decode((const char *)data, size, dec, &n, 0) == B64_OK)
		CHECK(n <= size / 4 * 3);
	free(dec);
	m = b64_encode(data, size, enc);
	CHECK(m == b64_encoded_len(size));
	dec = malloc(m / 4 * 3 + 1);
	CHECK(dec);
	CHECK(b64_decode(enc, m, dec, &n, 1) == B64_OK);
	CHECK(n == size && memcmp(dec, data, size) == 0);
	free(dec);
	free(enc);
}

/* Split data at '\n' and call fn for each piece (at most 16). */
static void pieces(const uint8_t *data, size_t size, void (*fn)(void *, const uint8_t *, size_t), void *ctx)
{
	size_t start = 0;
	int k = 0;

	for (size_t i = 0; i <= size && k < 16; i++) {
		if (i == size || data[i] == '\n') {
			fn(ctx, data + start, i - start);
			start = i + 1;
			k++;
		}
	}
}

struct wire {
	char *buf;
	size_t len, cap;
};

static void wire_add(struct wire *w, const void *p, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2;
		w->buf = realloc(w->buf, w->cap);
		CHECK(w->buf);
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void add_response(void *ctx, const uint8_t *p, size_t n)
{
	struct wire *w = ctx;

	if (n > 0 && p[0] == 0xFF) {
		wire_add(w, p + 1, n - 1);
	} else {
		char *enc = malloc(b64_encoded_len(n) + 1);
		CHECK(enc);
		wire_add(w, enc, b64_encode(p, n, enc));
		free(enc);
	}
	wire_add(w, "\r\n", 2);
}

static void server_exchange(const char *mech, const uint8_t *data, size_t size)
{
	struct server *srv = fz_server();
	struct wire w = {0};
	char cmd[64];

	srv->plaintext = PLAINTEXT_ALWAYS;
	snprintf(cmd, sizeof cmd, "AUTH %s\r\n", mech);
	wire_add(&w, cmd, strlen(cmd));
	pieces(data, size, add_response, &w);
	wire_add(&w, "STAT\r\nQUIT\r\n", 12);
	fz_session((const unsigned char *)w.buf, w.len, 0);
	fz_server_reset_maildrop();
	free(w.buf);
}

struct client_run {
	struct sasl_client *c;
	int done;
};

static void client_step(void *ctx, const uint8_t *p, size_t n)
{
	struct client_run *cr = ctx;
	struct p3err err;
	char *out = NULL;
	size_t outlen = 0;
	int rc;

	if (cr->done)
		return;
	rc = sasl_client_step(cr->c, (const char *)p, n, &out, &outlen, &err);
	if (rc <= 0)
		cr->done = 1;
	free(out);
}

static void client_exchange(const char *mech, const uint8_t *data, size_t size)
{
	struct client_run cr = {0};
	struct p3err err;
	char *out = NULL;
	size_t outlen = 0;

	if (sasl_client_start(&cr.c, mech, "alice", "wonderland", NULL, "fuzz.example", &err) < 0)
		return;
	if (sasl_client_first(mech)) {
		if (sasl_client_step(cr.c, NULL, 0, &out, &outlen, &err) <= 0)
			cr.done = 1;
		free(out);
	}
	pieces(data, size, client_step, &cr);
	sasl_client_free(cr.c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode;
	const char *mech;

	if (size == 0 || size > 16384)
		return 0;
	mode = data[0];
	mech = mechs[((mode >> 2) & 7) % 5];
	switch (mode & 3) {
	case 0:
	case 3:
		b64_roundtrips(data + 1, size - 1);
		break;
	case 1:
		server_exchange(mech, data + 1, size - 1);
		break;
	case 2:
		client_exchange(mech, data + 1, size - 1);
		break;
	}
	return 0;
}
