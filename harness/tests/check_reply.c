/* check_reply.c — unit tests for server/reply: status lines, response codes, continuations, the 512 limit. */
#include <string.h>
#include <check.h>

#include "server/reply.h"

Suite *reply_suite(void);

static const char *fmt(const struct result *r)
{
	static char buf[RES_TEXT_MAX + 8];

	buf[reply_format(r, buf, sizeof buf)] = '\0';
	return buf;
}

START_TEST(status_lines)
{
	struct result r;

	res_clear(&r);
	ck_assert_uint_eq(reply_format(&r, (char[8]){0}, 8), 0);
	res_ok(&r, "%d %d", 2, 320);
	ck_assert_str_eq(fmt(&r), "+OK 2 320\r\n");
	res_err(&r, CODE_NONE, "no such message");
	ck_assert_str_eq(fmt(&r), "-ERR no such message\r\n");
	res_err(&r, CODE_IN_USE, "locked");
	ck_assert_str_eq(fmt(&r), "-ERR [IN-USE] locked\r\n");
	res_err(&r, CODE_SYS_PERM, "x");
	ck_assert_str_eq(fmt(&r), "-ERR [SYS/PERM] x\r\n");
	res_err(&r, CODE_SYS_TEMP, "x");
	ck_assert_str_eq(fmt(&r), "-ERR [SYS/TEMP] x\r\n");
	res_err(&r, CODE_AUTH, "%s", "");
	ck_assert_str_eq(fmt(&r), "-ERR [AUTH]\r\n");
	res_err(&r, CODE_LOGIN_DELAY, "later");
	ck_assert_str_eq(fmt(&r), "-ERR [LOGIN-DELAY] later\r\n");
}
END_TEST

START_TEST(text_is_one_printable_line)
{
	struct result r;

	res_ok(&r, "a\r\nb\x01\x80");
	ck_assert_str_eq(fmt(&r), "+OK a??b??\r\n");
}
END_TEST

START_TEST(cut_at_512)
{
	struct result r;
	char big[800];
	const char *line;

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	res_err(&r, CODE_SYS_TEMP, "%s", big);
	line = fmt(&r);
	/* RFC 1939 §3: at most 512 octets including CRLF, and the CRLF is never the part cut. */
	ck_assert_uint_eq(strlen(line), POP3_MAX_STATUS_LINE);
	ck_assert_str_eq(line + POP3_MAX_STATUS_LINE - 2, "\r\n");
	ck_assert(strncmp(line, "-ERR [SYS/TEMP] xxx", 19) == 0);
}
END_TEST

START_TEST(continuations)
{
	struct result r;
	char big[RES_TEXT_MAX + 1];

	ck_assert_int_eq(res_cont(&r, "", 0), 0);
	ck_assert_str_eq(fmt(&r), "+ \r\n"); /* RFC 5034 §4: "+" and one space */
	ck_assert_int_eq(res_cont(&r, "PDEyMzQ+", 8), 0);
	ck_assert_str_eq(fmt(&r), "+ PDEyMzQ+\r\n");
	memset(big, 'A', sizeof big);
	ck_assert_int_eq(res_cont(&r, big, sizeof big), -1);
	ck_assert_int_eq(r.status, RES_ERR);
}
END_TEST

Suite *reply_suite(void)
{
	Suite *s = suite_create("reply");
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, status_lines);
	tcase_add_test(tc, text_is_one_printable_line);
	tcase_add_test(tc, cut_at_512);
	tcase_add_test(tc, continuations);
	suite_add_tcase(s, tc);
	return s;
}
