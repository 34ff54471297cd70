/* check_b64.c — unit tests for lib/b64: RFC 4648 §10 vectors and the strict decoder's rejections. */
#include <string.h>
#include <check.h>
#include "lib/b64.h"

Suite *b64_suite(void);

/* RFC 4648 §10 test vectors. */
static const struct {
	const char *plain, *enc;
} vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

START_TEST(rfc4648_encode)
{
	char out[16];
	const char *p = vectors[_i].plain;

	ck_assert_uint_eq(b64_encoded_len(strlen(p)), strlen(vectors[_i].enc));
	ck_assert_uint_eq(b64_encode(p, strlen(p), out), strlen(vectors[_i].enc));
	ck_assert_str_eq(out, vectors[_i].enc);
}
END_TEST

START_TEST(rfc4648_decode)
{
	unsigned char out[16];
	size_t n = 99;
	const char *e = vectors[_i].enc;

	ck_assert_int_eq(b64_decode(e, strlen(e), out, &n, 1), B64_OK);
	ck_assert_uint_eq(n, strlen(vectors[_i].plain));
	ck_assert_str_eq((char *)out, vectors[_i].plain);
}
END_TEST

START_TEST(binary_round_trip)
{
	unsigned char in[64], back[64 + 4];
	char enc[100];
	size_t n;

	for (size_t len = 0; len <= sizeof in; len++) {
		for (size_t i = 0; i < len; i++)
			in[i] = (unsigned char)(i * 37 + len * 11);
		size_t el = b64_encode(in, len, enc);
		ck_assert_uint_eq(el, b64_encoded_len(len));
		ck_assert_int_eq(b64_decode(enc, el, back, &n, 1), B64_OK);
		ck_assert_uint_eq(n, len);
		if (len > 0)
			ck_assert_mem_eq(in, back, len);
	}
}
END_TEST

static enum b64_status dec(const char *s, int strict)
{
	unsigned char out[64];
	size_t n;

	return b64_decode(s, strlen(s), out, &n, strict);
}

START_TEST(rejects_whitespace_and_foreign_chars)
{
	ck_assert_int_eq(dec("Zm9v\r\n", 1), B64_BAD_CHAR);
	ck_assert_int_eq(dec("Zm 9v", 1), B64_BAD_CHAR);
	ck_assert_int_eq(dec(" Zm9v", 0), B64_BAD_CHAR);
	ck_assert_int_eq(dec("Zm9v\t", 0), B64_BAD_CHAR);
	ck_assert_int_eq(dec("Zm9-", 0), B64_BAD_CHAR); /* base64url is another alphabet */
	ck_assert_int_eq(dec("Zm9_", 0), B64_BAD_CHAR);
	ck_assert_int_eq(dec("*", 0), B64_BAD_CHAR);
}
END_TEST

START_TEST(rejects_bad_length)
{
	ck_assert_int_eq(dec("Zm9", 1), B64_BAD_LENGTH);
	ck_assert_int_eq(dec("Zg", 1), B64_BAD_LENGTH); /* unpadded */
	ck_assert_int_eq(dec("Zg=", 1), B64_BAD_LENGTH);
	ck_assert_int_eq(dec("Zm9vY", 1), B64_BAD_LENGTH);
}
END_TEST

START_TEST(rejects_misplaced_padding)
{
	ck_assert_int_eq(dec("Zm=v", 1), B64_BAD_PADDING);
	ck_assert_int_eq(dec("Zg=a", 1), B64_BAD_PADDING);
	ck_assert_int_eq(dec("Z===", 1), B64_BAD_PADDING);
	ck_assert_int_eq(dec("====", 1), B64_BAD_PADDING);
	ck_assert_int_eq(dec("Zg==Zg==", 1), B64_BAD_PADDING); /* '=' in the middle */
	ck_assert_int_eq(dec("Zm9vY===", 1), B64_BAD_PADDING);
}
END_TEST

START_TEST(pad_bits)
{
	unsigned char out[8];
	size_t n;

	/* RFC 4648 §3.5: "Zh==" has non-zero pad bits; it still means "f" to a lenient decoder. */
	ck_assert_int_eq(dec("Zh==", 1), B64_NONCANONICAL);
	ck_assert_int_eq(dec("Zm9=", 1), B64_NONCANONICAL);
	ck_assert_int_eq(b64_decode("Zh==", 4, out, &n, 0), B64_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(out[0], 'f');
	ck_assert_int_eq(dec("Zm9=", 0), B64_OK);
}
END_TEST

START_TEST(status_strings)
{
	ck_assert_str_eq(b64_status_str(B64_OK), "valid base64");
	ck_assert_ptr_nonnull(strstr(b64_status_str(B64_BAD_CHAR), "alphabet"));
	ck_assert_ptr_nonnull(strstr(b64_status_str(B64_NONCANONICAL), "pad bits"));
}
END_TEST

Suite *b64_suite(void)
{
	Suite *s = suite_create("b64");
	TCase *tc = tcase_create("core");
	int nv = (int)(sizeof vectors / sizeof vectors[0]);

	tcase_add_loop_test(tc, rfc4648_encode, 0, nv);
	tcase_add_loop_test(tc, rfc4648_decode, 0, nv);
	tcase_add_test(tc, binary_round_trip);
	tcase_add_test(tc, rejects_whitespace_and_foreign_chars);
	tcase_add_test(tc, rejects_bad_length);
	tcase_add_test(tc, rejects_misplaced_padding);
	tcase_add_test(tc, pad_bits);
	tcase_add_test(tc, status_strings);
	suite_add_tcase(s, tc);
	return s;
}
