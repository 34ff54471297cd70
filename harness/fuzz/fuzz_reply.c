/* fuzz_reply.c — libFuzzer target: what the runner does with octets a server sends, and the multi-line codec
 * both sides share (lib/line, lib/multiline, runner checks.c). The first input octet chooses:
 *   mode 0  the input is a server's byte stream: it is cut into lines as the runner reads a response (the
 *           first line bounded to 512 octets, data lines to 64 KiB), every line goes through the checks on
 *           every response (check_status_kind, check_first_line with and without AUTH, check_data_line,
 *           check_challenge_b64) and the un-stuffing decoder; transcript escaping (line_escape) must give
 *           printable ASCII only, NUL-terminated, within its buffer;
 *   mode 1  the input is a stored message: ml_encode (in chunks the second octet chooses) then decoding the
 *           lines back must give the message with CRLF line ends (a final line without one gets it), the
 *           size ml_count announces must equal those octets, and the terminator must be the last line;
 *   mode 2  the same with TOP's line limit (the second octet): the output is a prefix of mode 1's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/line.h"
#include "lib/multiline.h"
#include "runner/checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c)) {                                                                                  \
			fprintf(stderr, "fuzz_reply: %s (line %d)\n", #c, __LINE__);                         \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

static void check_escape(const char *p, size_t n)
{
	char out[300];
	size_t m = line_escape(p, n, out, sizeof out);

	CHECK(m < sizeof out && out[m] == '\0' && strlen(out) == m);
	for (size_t i = 0; i < m; i++)
		CHECK(out[i] >= 0x20 && out[i] < 0x7f);
}

static void stream(const char *p, size_t size)
{
	size_t pos = 0;
	int in_body = 0, in_auth = 0;
	struct violation v;

	while (pos < size) {
		struct line ln;
		size_t max = in_body ? 64 * 1024 : 512;
		enum line_status st = line_scan(p + pos, size - pos, max, &ln);

		if (st == LINE_INCOMPLETE) {
			CHECK(size - pos < max);
			check_escape(p + pos, size - pos);
			break;
		}
		CHECK(ln.consumed > 0 && ln.consumed <= size - pos);
		CHECK(ln.len <= ln.consumed);
		if (st == LINE_TOO_LONG) {
			CHECK(ln.consumed == max);
			pos += ln.consumed;
			in_body = 0;
			continue;
		}
		CHECK(p[pos + ln.consumed - 1] == '\n');
		CHECK(memchr(p + pos, '\n', ln.len) == NULL);
		CHECK(((ln.flags & LINE_CRLF) != 0) + ((ln.flags & LINE_BARE_LF) != 0) == 1);
		CHECK(((ln.flags & LINE_HAS_NUL) != 0) == (memchr(p + pos, '\0', ln.len) != NULL));
		check_escape(p + pos, ln.len);
		if (!in_body) {
			enum status_kind k = check_status_kind(p + pos, ln.len);
			(void)check_first_line(p + pos, &ln, in_auth, &v);
			(void)check_first_line(p + pos, &ln, !in_auth, &v);
			if (k == STATUS_CONT && ln.len >= 2)
				(void)check_challenge_b64(p + pos + 2, ln.len - 2, &v);
			if (k == STATUS_OK)
				in_body = (ln.len &
				           1); /* some +OK replies are multi-line: both paths get exercised */
			in_auth = k == STATUS_CONT;
		} else {
			const char *d;
			size_t dl;
			enum ml_line_kind kind = ml_decode_line(p + pos, ln.len, &d, &dl);
			(void)check_data_line(p + pos, &ln, &v);
			CHECK(d >= p + pos && d + dl <= p + pos + ln.len);
			if (kind == ML_TERMINATOR) {
				CHECK(ln.len == 1 && p[pos] == '.');
				in_body = 0;
			} else if (kind == ML_DATA_UNSTUFFED) {
				CHECK(dl == ln.len - 1 && p[pos] == '.' && p[pos + 1] == '.');
			} else {
				CHECK(dl == ln.len);
			}
		}
		pos += ln.consumed;
	}
}

struct sink {
	char *buf;
	size_t len, cap;
};

static int emit(void *ctx, const char *d, size_t n)
{
	struct sink *s = ctx;

	if (n == 0)
		return 0;
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2 + 64;
		s->buf = realloc(s->buf, s->cap);
		CHECK(s->buf);
	}
	memcpy(s->buf + s->len, d, n);
	s->len += n;
	return 0;
}

/* Encode msg (in chunks of `chunk` octets) with a body line limit; the encoded octets go to *out. */
static void encode(const char *msg, size_t n, size_t chunk, long lines, struct sink *out)
{
	struct ml_encoder enc;

	ml_encoder_init(&enc, lines);
	for (size_t off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;
		CHECK(ml_encode(&enc, msg + off, k, emit, out) == 0);
	}
	CHECK(ml_encode_finish(&enc, emit, out) == 0);
}

/* The message as sent (RFC 1939 §11): every line end CRLF, a final line without one gets one. A lone CR is
 * data. This model is written from the RFC, not from the codec. */
static void model(const char *msg, size_t n, struct sink *out)
{
	for (size_t i = 0; i < n; i++) {
		if (msg[i] == '\n') {
			emit(out, "\r\n", 2);
		} else if (msg[i] == '\r' && i + 1 < n && msg[i + 1] == '\n') {
			continue;
		} else {
			emit(out, msg + i, 1);
		}
	}
	if (n > 0 && msg[n - 1] != '\n')
		emit(out, "\r\n", 2);
}

static void roundtrip(const char *msg, size_t n, size_t chunk, long lines)
{
	struct sink enc = {0}, dec = {0}, want = {0};
	struct ml_counter c;
	size_t pos = 0;
	int ended = 0;

	encode(msg, n, chunk, lines, &enc);
	/* Decode the encoded body as the runner does, line by line. */
	while (pos < enc.len) {
		struct line ln;
		const char *d;
		size_t dl;
		CHECK(!ended);
		CHECK(line_scan(enc.buf + pos, enc.len - pos, 0, &ln) == LINE_OK);
		CHECK(ln.flags & LINE_CRLF);
		enum ml_line_kind k = ml_decode_line(enc.buf + pos, ln.len, &d, &dl);
		CHECK(k != ML_UNSTUFFED_DOT);
		if (k == ML_TERMINATOR) {
			ended = 1;
		} else {
			emit(&dec, d, dl);
			emit(&dec, "\r\n", 2);
		}
		pos += ln.consumed;
	}
	CHECK(ended);
	model(msg, n, &want);
	if (lines < 0) {
		CHECK(dec.len == want.len && (dec.len == 0 || memcmp(dec.buf, want.buf, dec.len) == 0));
		ml_counter_init(&c);
		for (size_t off = 0; off < n; off += chunk)
			ml_count(&c, msg + off, n - off < chunk ? n - off : chunk);
		CHECK(ml_count_finish(&c) == want.len);
	} else {
		/* TOP: a prefix of the whole message, ending at a line end. */
		CHECK(dec.len <= want.len && (dec.len == 0 || memcmp(dec.buf, want.buf, dec.len) == 0));
	}
	free(enc.buf);
	free(dec.buf);
	free(want.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[8] = {1, 2, 3, 7, 64, 512, 4096, 65536};

	if (size < 2)
		return 0;
	switch (data[0] % 3) {
	case 0:
		stream((const char *)data + 1, size - 1);
		break;
	case 1:
		roundtrip((const char *)data + 2, size - 2, chunks[data[1] & 7], -1);
		break;
	case 2:
		roundtrip((const char *)data + 2, size - 2, chunks[data[1] & 7], data[1] >> 3);
		break;
	}
	return 0;
}
