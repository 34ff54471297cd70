/* check_digest.c — unit tests for lib/digest against the RFCs' own examples. */
#include <string.h>
#include <check.h>
#include "lib/digest.h"

Suite *digest_suite(void);

START_TEST(apop_rfc1939_example)
{
	char out[DIGEST_MD5_HEX];

	/* RFC 1939 §7, the APOP example. */
	apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf", out);
	ck_assert_str_eq(out, "c4c9334bac560ecc979e58001b3e22fb");
	apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaafl", out);
	ck_assert_str_ne(out, "c4c9334bac560ecc979e58001b3e22fb");
	/* MD5 of the empty string: the timestamp and secret are simply concatenated. */
	apop_digest("", "", out);
	ck_assert_str_eq(out, "d41d8cd98f00b204e9800998ecf8427e");
}
END_TEST

START_TEST(cram_md5_rfc2195_example)
{
	const char *ch = "<1896.697170952@postoffice.reston.mci.net>";
	char out[DIGEST_MD5_HEX];

	/* RFC 2195 §2, the example exchange for user tim. */
	cram_md5_digest(ch, strlen(ch), "tanstaaftanstaaf", out);
	ck_assert_str_eq(out, "b913a602c7eda7a495b4e6e7334d3890");
	/* The length argument is honoured: a shorter challenge gives another digest. */
	cram_md5_digest(ch, strlen(ch) - 1, "tanstaaftanstaaf", out);
	ck_assert_str_ne(out, "b913a602c7eda7a495b4e6e7334d3890");
}
END_TEST

START_TEST(cram_md5_rfc2104_vector)
{
	char out[DIGEST_MD5_HEX];

	/* RFC 2104 appendix / RFC 2202 test case 2. */
	cram_md5_digest("what do ya want for nothing?", 28, "Jefe", out);
	ck_assert_str_eq(out, "750c783e6ab0b503eaa86e310a5db738");
}
END_TEST

START_TEST(equal)
{
	ck_assert_int_eq(digest_equal("c4c9334bac560ecc979e58001b3e22fb", "c4c9334bac560ecc979e58001b3e22fb"),
	                 1);
	ck_assert_int_eq(digest_equal("c4c9334bac560ecc979e58001b3e22fb", "c4c9334bac560ecc979e58001b3e22fc"),
	                 0);
	ck_assert_int_eq(digest_equal("c4c9334bac560ecc979e58001b3e22fb", "c4c9334bac560ecc979e58001b3e22f"),
	                 0);
	ck_assert_int_eq(digest_equal("", ""), 1);
}
END_TEST

Suite *digest_suite(void)
{
	Suite *s = suite_create("digest");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, apop_rfc1939_example);
	tcase_add_test(tc, cram_md5_rfc2195_example);
	tcase_add_test(tc, cram_md5_rfc2104_vector);
	tcase_add_test(tc, equal);
	suite_add_tcase(s, tc);
	return s;
}
