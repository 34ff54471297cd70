/* check_checks.c — unit tests for runner/checks: every per-response violation, with its requirement id. */
#include <string.h>
#include <check.h>
#include "lib/line.h"
#include "runner/checks.h"

Suite *checks_suite(void);

/* Run check_first_line on raw octets as they came off the wire (line end included). */
static int first(const char *wire, int in_auth, struct violation *v)
{
	struct line ln;
	size_t n = strlen(wire);
	ck_assert_int_eq(line_scan(wire, n, 0, &ln), LINE_OK);
	memset(v, 0, sizeof *v);
	return check_first_line(wire, &ln, in_auth, v);
}

static int data(const char *wire, struct violation *v)
{
	struct line ln;
	ck_assert_int_eq(line_scan(wire, strlen(wire), 0, &ln), LINE_OK);
	memset(v, 0, sizeof *v);
	return check_data_line(wire, &ln, v);
}

#define OK_FIRST(w, a) ck_assert_msg(first(w, a, &v) == 0, "%s: %s %s", w, v.req, v.what)
#define BAD_FIRST(w, a, r)                                                                                   \
	do {                                                                                                 \
		ck_assert_msg(first(w, a, &v) == 1, "%s passed", w);                                         \
		ck_assert_str_eq(v.req, r);                                                                  \
	} while (0)

START_TEST(good_status_lines)
{
	struct violation v;
	OK_FIRST("+OK\r\n", 0);
	OK_FIRST("-ERR\r\n", 0);
	OK_FIRST("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n", 0);
	OK_FIRST("-ERR [IN-USE] locked\r\n", 0);
	OK_FIRST("+ \r\n", 1);
	OK_FIRST("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n", 1);
	ck_assert_int_eq(check_status_kind("+OK", 3), STATUS_OK);
	ck_assert_int_eq(check_status_kind("-ERR x", 6), STATUS_ERR);
	ck_assert_int_eq(check_status_kind("+ ", 2), STATUS_CONT);
	ck_assert_int_eq(check_status_kind("+ok", 3), STATUS_INVALID);
	ck_assert_int_eq(check_status_kind("+OKAY", 5), STATUS_INVALID);
}
END_TEST

START_TEST(status_violations)
{
	struct violation v;
	BAD_FIRST("+ok\r\n", 0, "R1939-GEN-9");
	BAD_FIRST("-err no\r\n", 0, "R1939-GEN-9");
	BAD_FIRST("+Ok fine\r\n", 0, "R1939-GEN-9");
	BAD_FIRST("+OKAY\r\n", 0, "R1939-GEN-8");
	BAD_FIRST("OK\r\n", 0, "R1939-GEN-8");
	BAD_FIRST("\r\n", 0, "R1939-GEN-8");
	BAD_FIRST("-ERROR\r\n", 0, "R1939-GEN-8");
	BAD_FIRST("+OK\tx\r\n", 0, "R1939-GEN-8");
	BAD_FIRST("* OK imap\r\n", 0, "R1939-GEN-8");
	ck_assert_ptr_nonnull(strstr(v.what, "* OK imap"));
}
END_TEST

START_TEST(line_end_violations)
{
	struct violation v;
	BAD_FIRST("+OK\n", 0, "R1939-GEN-6");
	ck_assert_ptr_nonnull(strstr(v.what, "bare LF"));
	BAD_FIRST("+OK a\rb\r\n", 0, "R1939-GEN-6");
	ck_assert_ptr_nonnull(strstr(v.what, "bare CR"));
	/* A line cut short by the close has no line end at all. */
	struct line ln = {.len = 3, .consumed = 3, .flags = 0};
	ck_assert_int_eq(check_first_line("+OK", &ln, 0, &v), 1);
	ck_assert_str_eq(v.req, "R1939-GEN-6");
}
END_TEST

START_TEST(length_limit)
{
	struct violation v;
	char line[600];
	/* Exactly 512 octets with CRLF passes; 513 fails (RFC 1939 §3). */
	memset(line, 'x', sizeof line);
	memcpy(line, "+OK ", 4);
	memcpy(line + 510, "\r\n", 3);
	OK_FIRST(line, 0);
	memset(line, 'x', sizeof line);
	memcpy(line, "+OK ", 4);
	memcpy(line + 511, "\r\n", 3);
	BAD_FIRST(line, 0, "R1939-GEN-7");
	ck_assert_ptr_nonnull(strstr(v.what, "513 octets"));
}
END_TEST

START_TEST(continuations)
{
	struct violation v;
	BAD_FIRST("+ abcd\r\n", 0, "R1939-GEN-8"); /* outside AUTH */
	BAD_FIRST("+\r\n", 1, "R5034-AUTH-3");     /* no SP */
	BAD_FIRST("+abcd\r\n", 1, "R5034-AUTH-3");
	BAD_FIRST("+ ab!d\r\n", 1, "R4648-B64-1");
	BAD_FIRST("+ ab cd\r\n", 1, "R4648-B64-1");
	BAD_FIRST("+ abc\r\n", 1, "R4648-B64-2");
	BAD_FIRST("+ a=bc\r\n", 1, "R4648-B64-2");
	BAD_FIRST("+ QR==\r\n", 1, "R4648-B64-3"); /* 'R' leaves pad bits set; canonical is QQ== */
	OK_FIRST("+ QQ==\r\n", 1);
	ck_assert_int_eq(check_challenge_b64("", 0, &v), 0);
	ck_assert_int_eq(check_challenge_b64("QUJD", 4, &v), 0);
}
END_TEST

START_TEST(data_lines)
{
	struct violation v;
	ck_assert_int_eq(data("hello\r\n", &v), 0);
	ck_assert_int_eq(data("..stuffed\r\n", &v), 0);
	ck_assert_int_eq(data(".\r\n", &v), 0);
	ck_assert_int_eq(data("\r\n", &v), 0);
	ck_assert_int_eq(data(".x\r\n", &v), 1);
	ck_assert_str_eq(v.req, "R1939-ML-2");
	ck_assert_int_eq(data("body\n", &v), 1);
	ck_assert_str_eq(v.req, "R1939-GEN-6");
	ck_assert_int_eq(data(".\n", &v), 1);
	ck_assert_str_eq(v.req, "R1939-GEN-6");
}
END_TEST

Suite *checks_suite(void)
{
	Suite *s = suite_create("checks");
	TCase *tc = tcase_create("checks");
	tcase_add_test(tc, good_status_lines);
	tcase_add_test(tc, status_violations);
	tcase_add_test(tc, line_end_violations);
	tcase_add_test(tc, length_limit);
	tcase_add_test(tc, continuations);
	tcase_add_test(tc, data_lines);
	suite_add_tcase(s, tc);
	return s;
}
