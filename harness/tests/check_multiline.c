/* check_multiline.c — unit tests for lib/multiline: byte-stuffing, line-end storage forms, TOP limits, every
 * chunk boundary, the octet counter against the encoder, RETR's fast encoder against the general one, and the
 * receiver's un-stuffing. */
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "lib/line.h"
#include "lib/multiline.h"

Suite *multiline_suite(void);

struct out {
	char *buf;
	size_t len, cap;
};

static int collect(void *ctx, const char *data, size_t n)
{
	struct out *o = ctx;

	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->len + n + 1) * 2;
		char *nb = realloc(o->buf, cap);
		ck_assert_ptr_nonnull(nb);
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, data, n);
	o->len += n;
	o->buf[o->len] = '\0';
	return 0;
}

/* Encode `in` fed in chunks: cuts[] are the chunk boundaries, ascending. */
static struct out encode_cut(const char *in, size_t len, long top, const size_t *cuts, size_t ncuts)
{
	struct ml_encoder enc;
	struct out o = {NULL, 0, 0};
	size_t prev = 0;

	collect(&o, "", 0);
	ml_encoder_init(&enc, top);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		ck_assert_int_eq(ml_encode(&enc, in + prev, end - prev, collect, &o), 0);
		prev = end;
	}
	ck_assert_int_eq(ml_encode_finish(&enc, collect, &o), 0);
	return o;
}

static struct out encode(const char *in, size_t len, long top)
{
	return encode_cut(in, len, top, NULL, 0);
}

static void expect_encoding(const char *in, long top, const char *want)
{
	struct out o = encode(in, strlen(in), top);

	ck_assert_msg(o.len == strlen(want) && memcmp(o.buf, want, o.len) == 0, "encoding %s: got \"%s\"", in,
	              o.buf);
	free(o.buf);
}

START_TEST(stuffs_leading_dots)
{
	/* RFC 1939 §3: ".", "..", ".x" go out as "..", "...", "..x"; dots elsewhere are untouched. */
	expect_encoding("a\r\n.\r\n..\r\n.x\r\nb.c\r\n", -1, "a\r\n..\r\n...\r\n..x\r\nb.c\r\n.\r\n");
	expect_encoding(".", -1, "..\r\n.\r\n");
	expect_encoding(".\n", -1, "..\r\n.\r\n");
	expect_encoding("x\n.", -1, "x\r\n..\r\n.\r\n");
}
END_TEST

START_TEST(line_end_storage_forms)
{
	const char *want = "a\r\n\r\nb\r\n.\r\n";

	expect_encoding("a\r\n\r\nb\r\n", -1, want); /* CRLF storage */
	expect_encoding("a\n\nb\n", -1, want);       /* LF storage */
	expect_encoding("a\r\n\nb\n", -1, want);     /* mixed */
	expect_encoding("a\n\r\nb\r\n", -1, want);
	/* A CR that does not end a line is data. */
	expect_encoding("a\rb\n", -1, "a\rb\r\n.\r\n");
	expect_encoding("a\r\r\n", -1, "a\r\r\n.\r\n");
	expect_encoding("a\r", -1, "a\r\r\n.\r\n");
}
END_TEST

START_TEST(final_line_without_end)
{
	expect_encoding("a\nb", -1, "a\r\nb\r\n.\r\n");
	expect_encoding("", -1, ".\r\n");
	expect_encoding("\n", -1, "\r\n.\r\n");
}
END_TEST

START_TEST(top_limits)
{
	const char *msg = "H1: a\nH2: b\n\nl1\n.l2\nl3\n";

	/* RFC 1939 §7: the header, the blank line, then N body lines. */
	expect_encoding(msg, 0, "H1: a\r\nH2: b\r\n\r\n.\r\n");
	expect_encoding(msg, 1, "H1: a\r\nH2: b\r\n\r\nl1\r\n.\r\n");
	expect_encoding(msg, 2, "H1: a\r\nH2: b\r\n\r\nl1\r\n..l2\r\n.\r\n");
	expect_encoding(msg, 3, "H1: a\r\nH2: b\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	expect_encoding(msg, 100, "H1: a\r\nH2: b\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	/* A body whose last line has no line end. */
	expect_encoding("H: a\n\nb1\nb2", 5, "H: a\r\n\r\nb1\r\nb2\r\n.\r\n");
	expect_encoding("H: a\n\nb1\nb2", 2, "H: a\r\n\r\nb1\r\nb2\r\n.\r\n");
	/* Header-only messages: everything is header. */
	expect_encoding("H1: a\nH2: b\n", 0, "H1: a\r\nH2: b\r\n.\r\n");
	expect_encoding("H1: a\nH2: b", 0, "H1: a\r\nH2: b\r\n.\r\n");
	expect_encoding("H1: a\r\n\r\n", 0, "H1: a\r\n\r\n.\r\n");
	/* A message that starts with the blank line has an empty header. */
	expect_encoding("\nbody\nmore\n", 1, "\r\nbody\r\n.\r\n");
	/* Blank lines inside the body count as body lines. */
	expect_encoding("H: a\n\n\n\nx\n", 2, "H: a\r\n\r\n\r\n\r\n.\r\n");
}
END_TEST

/* A message exercising every case at once. */
static const char tricky[] = "From: a\r\nSubject: .dots\n\r\n.\n..\r\n.x\ry\r\r\nz\r\n\n.\r\nend";

START_TEST(every_chunk_boundary)
{
	size_t len = sizeof tricky - 1;

	for (long top = -1; top <= 6; top++) {
		struct out whole = encode(tricky, len, top);
		/* Every single cut, and every pair of cuts. */
		for (size_t a = 0; a <= len; a++) {
			for (size_t b = a; b <= len; b++) {
				size_t cuts[2] = {a, b};
				struct out o = encode_cut(tricky, len, top, cuts, 2);
				ck_assert_msg(o.len == whole.len && memcmp(o.buf, whole.buf, o.len) == 0,
				              "top %ld cuts %zu,%zu: \"%s\" vs \"%s\"", top, a, b, o.buf,
				              whole.buf);
				free(o.buf);
			}
		}
		/* Byte by byte. */
		size_t cuts[sizeof tricky];
		for (size_t k = 0; k < len; k++)
			cuts[k] = k + 1;
		struct out o = encode_cut(tricky, len, top, cuts, len);
		ck_assert_str_eq(o.buf, whole.buf);
		free(o.buf);
		free(whole.buf);
	}
}
END_TEST

/* Reference conversion of a stored message to its wire form before stuffing: CRLF line ends, a final CRLF
 * added when missing (P-MSG-1). Written the slow, obvious way. */
static struct out normalize(const char *in, size_t len)
{
	struct out o = {NULL, 0, 0};

	collect(&o, "", 0);
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n') {
			if (i > 0 && in[i - 1] == '\r')
				o.len--; /* the CR is part of this line end */
			collect(&o, "\r\n", 2);
		} else {
			collect(&o, in + i, 1);
		}
	}
	if (len > 0 && in[len - 1] != '\n')
		collect(&o, "\r\n", 2);
	return o;
}

/* Decode an encoder's output with line_scan + ml_decode_line, as a client does. */
static struct out decode(const struct out *wire)
{
	struct out o = {NULL, 0, 0};
	size_t pos = 0;
	int terminated = 0;

	collect(&o, "", 0);
	while (pos < wire->len) {
		struct line ln;
		const char *data;
		size_t dlen;

		ck_assert_int_eq(terminated, 0); /* nothing after the terminator */
		ck_assert_int_eq(line_scan(wire->buf + pos, wire->len - pos, 0, &ln), LINE_OK);
		ck_assert_int_eq(ln.flags & (LINE_CRLF | LINE_BARE_LF), LINE_CRLF);
		enum ml_line_kind k = ml_decode_line(wire->buf + pos, ln.len, &data, &dlen);
		ck_assert_int_ne(k, ML_UNSTUFFED_DOT);
		if (k == ML_TERMINATOR) {
			terminated = 1;
		} else {
			collect(&o, data, dlen);
			collect(&o, "\r\n", 2);
		}
		pos += ln.consumed;
	}
	ck_assert_int_eq(terminated, 1);
	return o;
}

static unsigned long long count_cut(const char *in, size_t len, size_t step)
{
	struct ml_counter c;

	ml_counter_init(&c);
	for (size_t i = 0; i < len; i += step)
		ml_count(&c, in + i, len - i < step ? len - i : step);
	return ml_count_finish(&c);
}

static void check_round_trip(const char *in, size_t len)
{
	struct out wire = encode(in, len, -1);
	struct out back = decode(&wire);
	struct out want = normalize(in, len);

	ck_assert_msg(back.len == want.len && memcmp(back.buf, want.buf, want.len) == 0,
	              "round trip of %zu octets", len);
	/* RFC 1939 §11: the counted size is the un-stuffed wire length without the terminator line. */
	ck_assert_uint_eq(count_cut(in, len, len ? len : 1), back.len);
	ck_assert_uint_eq(count_cut(in, len, 1), back.len);
	ck_assert_uint_eq(count_cut(in, len, 3), back.len);
	free(wire.buf);
	free(back.buf);
	free(want.buf);
}

START_TEST(round_trip_and_count)
{
	check_round_trip(tricky, sizeof tricky - 1);
	check_round_trip("", 0);
	check_round_trip("\r", 1);
	check_round_trip("\n", 1);
	check_round_trip(".", 1);
	check_round_trip("a\r\nb\r\n", 6);
}
END_TEST

START_TEST(round_trip_random)
{
	/* Random messages over the octets that matter: '.', CR, LF and a letter. */
	static const char alpha[] = ".\r\na";
	char msg[64];
	unsigned long long seed = 12345;

	for (int iter = 0; iter < 3000; iter++) {
		size_t len = (size_t)(iter % (int)sizeof msg);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			msg[i] = alpha[(seed >> 33) % 4];
		}
		check_round_trip(msg, len);
	}
}
END_TEST

/* ml_encode_into() fed in chunks cut at cuts[]: the wire form, finished by ml_encode_finish(). */
static struct out encode_into_cut(const char *in, size_t len, const size_t *cuts, size_t ncuts)
{
	struct ml_encoder enc;
	struct out o = {NULL, 0, 0};
	size_t prev = 0;

	collect(&o, "", 0);
	ml_encoder_init(&enc, -1);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		size_t room = ML_ENCODE_BOUND(end - prev);
		/* One octet past the bound is a canary: the function must stay inside it. */
		char *buf = malloc(room + 1);
		ck_assert_ptr_nonnull(buf);
		buf[room] = 'Z';
		size_t n = ml_encode_into(&enc, in + prev, end - prev, buf);
		ck_assert_uint_le(n, room);
		ck_assert_int_eq(buf[room], 'Z');
		collect(&o, buf, n);
		free(buf);
		prev = end;
	}
	ck_assert_int_eq(ml_encode_finish(&enc, collect, &o), 0);
	return o;
}

START_TEST(encode_into_matches_encode_at_every_cut)
{
	size_t len = sizeof tricky - 1;
	struct out whole = encode(tricky, len, -1);

	for (size_t a = 0; a <= len; a++) {
		for (size_t b = a; b <= len; b++) {
			size_t cuts[2] = {a, b};
			struct out o = encode_into_cut(tricky, len, cuts, 2);
			ck_assert_msg(o.len == whole.len && memcmp(o.buf, whole.buf, o.len) == 0,
			              "cuts %zu,%zu: \"%s\" vs \"%s\"", a, b, o.buf, whole.buf);
			free(o.buf);
		}
	}
	free(whole.buf);
}
END_TEST

START_TEST(encode_into_matches_encode_random)
{
	/* The octets that matter ('.', CR, LF) and a letter; worst cases for the bound included (all LF,
	 * all ".\n"). */
	static const char alpha[] = ".\r\na";
	char msg[96];
	unsigned long long seed = 987654321;

	for (int iter = 0; iter < 4000; iter++) {
		size_t len = (size_t)(iter % (int)sizeof msg), cuts[3];
		for (size_t i = 0; i < len; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			msg[i] = iter % 50 == 1   ? '\n'
			         : iter % 50 == 2 ? ".\n"[i % 2]
			                          : alpha[(seed >> 33) % 4];
		}
		for (size_t k = 0; k < 3; k++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			cuts[k] = len ? (size_t)(seed >> 33) % (len + 1) : 0;
		}
		/* ascending */
		for (size_t x = 0; x < 3; x++)
			for (size_t y = x + 1; y < 3; y++)
				if (cuts[y] < cuts[x]) {
					size_t t = cuts[x];
					cuts[x] = cuts[y];
					cuts[y] = t;
				}
		struct out want = encode(msg, len, -1), got = encode_into_cut(msg, len, cuts, 3);
		ck_assert_msg(got.len == want.len && memcmp(got.buf, want.buf, got.len) == 0, "iteration %d",
		              iter);
		free(want.buf);
		free(got.buf);
	}
}
END_TEST

START_TEST(counter_values)
{
	ck_assert_uint_eq(count_cut("a\nb\n", 4, 4), 6);
	ck_assert_uint_eq(count_cut("a\r\nb\r\n", 6, 6), 6);
	ck_assert_uint_eq(count_cut("a\r\nb", 4, 4), 6);
	ck_assert_uint_eq(count_cut(".\n..\n", 5, 5), 7); /* stuffing is not counted */
	ck_assert_uint_eq(count_cut("", 0, 1), 0);
	/* The CR and the LF of one line end in different chunks. */
	ck_assert_uint_eq(count_cut("ab\r\ncd\r\n", 8, 3), 8);
}
END_TEST

static int stop_after(void *ctx, const char *data, size_t n)
{
	int *left = ctx;

	return (*left)-- > 0 ? 0 : -7;
}

START_TEST(emit_error_stops)
{
	struct ml_encoder enc;
	int left = 2;

	ml_encoder_init(&enc, -1);
	ck_assert_int_eq(ml_encode(&enc, "a\nb\nc\nd\n", 8, stop_after, &left), -7);
	left = 0;
	ck_assert_int_eq(ml_encode_finish(&enc, stop_after, &left), -7);
}
END_TEST

START_TEST(decode_lines)
{
	const char *d;
	size_t n;

	ck_assert_int_eq(ml_decode_line(".", 1, &d, &n), ML_TERMINATOR);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(ml_decode_line("..", 2, &d, &n), ML_DATA_UNSTUFFED);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(d[0], '.');
	ck_assert_int_eq(ml_decode_line("...x", 4, &d, &n), ML_DATA_UNSTUFFED);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(memcmp(d, "..x", 3), 0);
	ck_assert_int_eq(ml_decode_line(".x", 2, &d, &n), ML_UNSTUFFED_DOT);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(memcmp(d, ".x", 2), 0);
	ck_assert_int_eq(ml_decode_line("x.", 2, &d, &n), ML_DATA);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ml_decode_line("", 0, &d, &n), ML_DATA);
	ck_assert_uint_eq(n, 0);
	/* " ." is data: only a lone "." terminates. */
	ck_assert_int_eq(ml_decode_line(" .", 2, &d, &n), ML_DATA);
}
END_TEST

Suite *multiline_suite(void)
{
	Suite *s = suite_create("multiline");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, stuffs_leading_dots);
	tcase_add_test(tc, line_end_storage_forms);
	tcase_add_test(tc, final_line_without_end);
	tcase_add_test(tc, top_limits);
	tcase_add_test(tc, every_chunk_boundary);
	tcase_add_test(tc, round_trip_and_count);
	tcase_add_test(tc, round_trip_random);
	tcase_add_test(tc, counter_values);
	tcase_add_test(tc, encode_into_matches_encode_at_every_cut);
	tcase_add_test(tc, encode_into_matches_encode_random);
	tcase_add_test(tc, emit_error_stops);
	tcase_add_test(tc, decode_lines);
	suite_add_tcase(s, tc);
	return s;
}
