/* check_values.c — unit tests for runner/values: ${...} interpolation and the computed functions, APOP and
 * CRAM-MD5 against the RFCs' own examples. */
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "runner/values.h"

Suite *values_suite(void);

static struct vars vs;

static void setup(void)
{
	vars_init(&vs);
	vars_set_str(&vs, "user", "tim");
	vars_set_str(&vs, "password", "tanstaaftanstaaf");
	vars_set_str(&vs, "timestamp", "<1896.697170952@dbc.mtview.ca.us>");
	vars_set_str(&vs, "fixture.count", "3");
	vars_set_str(&vs, "fixture.size.2", "1234");
}

static void teardown(void)
{
	vars_free(&vs);
}

/* Interpolate and return a malloc'd result (NULL on error; the error text in errbuf). */
static struct p3err errbuf;
static char *interp(const char *s, size_t *len)
{
	char *out = NULL;
	size_t n = 0;
	memset(&errbuf, 0, sizeof errbuf);
	if (values_interp(&vs, s, strlen(s), &out, &n, &errbuf) != 0)
		return NULL;
	if (len)
		*len = n;
	return out;
}

#define EQ(src, want)                                                                                        \
	do {                                                                                                 \
		char *got_ = interp(src, NULL);                                                              \
		ck_assert_msg(got_ != NULL, "%s: %s", src, errbuf.msg);                                      \
		ck_assert_str_eq(got_, want);                                                                \
		free(got_);                                                                                  \
	} while (0)

#define ERR(src, needle)                                                                                     \
	do {                                                                                                 \
		char *got_ = interp(src, NULL);                                                              \
		ck_assert_msg(got_ == NULL, "%s should fail, gave '%s'", src, got_);                         \
		ck_assert_msg(strstr(errbuf.msg, needle) != NULL, "%s: error '%s' lacks '%s'", src,          \
		              errbuf.msg, needle);                                                           \
	} while (0)

START_TEST(plain_variables)
{
	EQ("USER ${user}", "USER tim");
	EQ("${user}${user}", "timtim");
	EQ("no dollar", "no dollar");
	EQ("cost $5 and $${literal}", "cost $5 and ${literal}");
	EQ("LIST ${fixture.size.2}", "LIST 1234");
	EQ("${ user }", "tim");
	EQ("", "");
}
END_TEST

START_TEST(apop_rfc1939)
{
	/* RFC 1939 §7 example: secret "tanstaaf". */
	vars_set_str(&vs, "password", "tanstaaf");
	EQ("APOP mrose ${apop(timestamp, password)}", "APOP mrose c4c9334bac560ecc979e58001b3e22fb");
	EQ("${apop('<1896.697170952@dbc.mtview.ca.us>', 'tanstaaf')}", "c4c9334bac560ecc979e58001b3e22fb");
	EQ("${flip_hex(apop(timestamp, password))}", "c4c9334bac560ecc979e58001b3e22fc");
}
END_TEST

START_TEST(cram_md5_rfc2195)
{
	/* RFC 2195 §2: challenge <1896.697170952@postoffice.reston.mci.net>, user tim, secret
	 * tanstaaftanstaaf → "tim b913a602c7eda7a495b4e6e7334d3890", base64 below. */
	vars_set_str(&vs, "chal", "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
	EQ("${cram_md5(user, password, chal)}", "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	EQ("${unbase64(cram_md5(user, password, chal))}", "tim b913a602c7eda7a495b4e6e7334d3890");
	ERR("${cram_md5(user, password, 'not base64!')}", "cram_md5");
}
END_TEST

START_TEST(plain_function)
{
	/* RFC 4616 §4 example: authcid tim, password tanstaaftanstaaf, no authzid. */
	EQ("${plain('', user, password)}", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	size_t n;
	char *raw = interp("${unbase64(plain('Ursel', 'Kurt', 'xipj3plmq'))}", &n);
	ck_assert_ptr_nonnull(raw);
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(memcmp(raw, "Ursel\0Kurt\0xipj3plmq", 20), 0);
	free(raw);
}
END_TEST

START_TEST(other_functions)
{
	EQ("${base64('Username:')}", "VXNlcm5hbWU6");
	EQ("${unbase64('VXNlcm5hbWU6')}", "Username:");
	EQ("${repeat('ab', 3)}", "ababab");
	EQ("${repeat('a', 0)}", "");
	EQ("${concat(user, '@x', 'y')}", "tim@xy");
	EQ("${upper(user)} ${lower('MiXeD')}", "TIM mixed");
	EQ("${add(fixture.count, 2)} ${sub(fixture.count, 1)} ${sub(0, 5)}", "5 2 -5");
	EQ("${len(repeat('xyz', 100))}", "300");
	EQ("${len('a\\r\\n\\0\\x41\\\\\\'')}", "7");
	EQ("${flip_hex('abcF')}", "abc0");
	/* size_re: the size itself unless a delivery agent may have changed it (then any size). */
	EQ("${size_re(fixture.size.2)}", "1234");
	vars_set_str(&vs, "delivery", "verbatim");
	EQ("${size_re(sub(fixture.size.2, 4))}", "1230");
	vars_set_str(&vs, "delivery", "agent");
	EQ("^\\+OK 3 ${size_re(fixture.size.2)}$", "^\\+OK 3 [0-9]+$");
	ERR("${size_re('x')}", "size_re");
	size_t n;
	char *raw = interp("${concat('a\\0b', '\\xff')}", &n);
	ck_assert_ptr_nonnull(raw);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(memcmp(raw, "a\0b\xff", 4), 0);
	free(raw);
}
END_TEST

START_TEST(nested_calls)
{
	EQ("${upper(concat(lower('A'), repeat(concat('b', 'c'), 2)))}", "ABCBC");
	EQ("${len(base64(repeat('x', add(1, 2))))}", "4");
	EQ("AUTH PLAIN ${plain('', concat(user, ''), password)}", "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	/* A '}' inside a quoted literal does not end the expression. */
	EQ("${concat('}', user)}", "}tim");
}
END_TEST

START_TEST(errors_name_the_expression)
{
	ERR("${nosuch}", "unknown variable 'nosuch'");
	ERR("${nosuch}", "${nosuch}");
	ERR("${apop(timestamp)}", "apop() takes 2 arguments, not 1");
	ERR("${apop(timestamp)}", "${apop(timestamp)}");
	ERR("${frobnicate(user)}", "unknown function frobnicate()");
	ERR("${user", "unterminated");
	ERR("${concat('abc)}", "unterminated");
	ERR("${add(user, 1)}", "not an integer");
	ERR("${repeat('a', 99999999999)}", "over");
	ERR("${repeat('a', -1)}", "negative");
	ERR("${user user}", "after the expression");
	ERR("${}", "expression expected");
	ERR("${concat(user,)}", "unexpected ')'");
	ERR("${unbase64('abc')}", "unbase64");
	ERR("${flip_hex('xyz')}", "no hex digit");
	ERR("${'\\q'}", "unknown escape");
	ERR("${add(9223372036854775807, 1)}", "overflow");
	char deep[400] = "${";
	for (int i = 0; i < 40; i++)
		strcat(deep, "upper(");
	strcat(deep, "user");
	for (int i = 0; i < 40; i++)
		strcat(deep, ")");
	strcat(deep, "}");
	ERR(deep, "nested deeper");
}
END_TEST

START_TEST(store_and_ints)
{
	long long v;
	ck_assert_int_eq(values_parse_int("42", 2, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(values_parse_int("-7", 2, &v), 0);
	ck_assert_int_eq(v, -7);
	ck_assert_int_ne(values_parse_int("4x", 2, &v), 0);
	ck_assert_int_ne(values_parse_int("", 0, &v), 0);
	ck_assert_int_ne(values_parse_int("99999999999999999999", 20, &v), 0);
	vars_set_long(&vs, "n", 17);
	ck_assert_str_eq(vars_get(&vs, "n")->val, "17");
	vars_set_str(&vs, "n", "18");
	ck_assert_str_eq(vars_get(&vs, "n")->val, "18");
	ck_assert_ptr_nonnull(vars_get(&vs, "user"));
}
END_TEST

/* values_cmp_int on "a" and "b" with `inf`: the comparison, or 99 when one is not a value. */
static int cmp(const char *a, const char *b, const char *inf)
{
	int c = 7;
	if (values_cmp_int(a, strlen(a), b, strlen(b), inf, &c) != 0)
		return 99;
	return c;
}

START_TEST(integer_comparison)
{
	ck_assert_int_eq(cmp("300", "300", NULL), 0);
	ck_assert_int_eq(cmp("0", "300", NULL), -1);
	ck_assert_int_eq(cmp("300", "30", NULL), 1);
	ck_assert_int_eq(cmp("0300", "300", NULL), 0); /* leading zeros */
	ck_assert_int_eq(cmp("-0", "+0", NULL), 0);
	ck_assert_int_eq(cmp("-5", "3", NULL), -1);
	ck_assert_int_eq(cmp("-5", "-30", NULL), 1);
	ck_assert_int_eq(cmp("3", "-30", NULL), 1);
	/* Beyond long long: still compared exactly. */
	ck_assert_int_eq(cmp("99999999999999999999", "99999999999999999998", NULL), 1);
	ck_assert_int_eq(cmp("18446744073709551616", "99999999999999999999", NULL), -1);
	/* RFC 2449 §6.7: NEVER is more than any number of days, and equals itself; any case. */
	ck_assert_int_eq(cmp("NEVER", "99999999999999999999", "NEVER"), 1);
	ck_assert_int_eq(cmp("30", "NEVER", "NEVER"), -1);
	ck_assert_int_eq(cmp("never", "NEVER", "NEVER"), 0);
	/* Not values. */
	ck_assert_int_eq(cmp("NEVER", "3", NULL), 99);
	ck_assert_int_eq(cmp("3 USER", "3", NULL), 99);
	ck_assert_int_eq(cmp("", "3", NULL), 99);
	ck_assert_int_eq(cmp("-", "3", NULL), 99);
	ck_assert_int_eq(cmp("3", "NEVERMORE", "NEVER"), 99);
}
END_TEST

Suite *values_suite(void)
{
	Suite *s = suite_create("values");
	TCase *tc = tcase_create("values");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, plain_variables);
	tcase_add_test(tc, apop_rfc1939);
	tcase_add_test(tc, cram_md5_rfc2195);
	tcase_add_test(tc, plain_function);
	tcase_add_test(tc, other_functions);
	tcase_add_test(tc, nested_calls);
	tcase_add_test(tc, errors_name_the_expression);
	tcase_add_test(tc, store_and_ints);
	tcase_add_test(tc, integer_comparison);
	suite_add_tcase(s, tc);
	return s;
}
