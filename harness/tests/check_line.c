/* check_line.c — unit tests for lib/line: line ends, limits at their exact boundaries, flags, escaping. */
#include <string.h>
#include <check.h>
#include "lib/line.h"
#include "lib/limits.h"

Suite *line_suite(void);

static enum line_status scan(const char *s, size_t max, struct line *ln)
{
	return line_scan(s, strlen(s), max, ln);
}

START_TEST(crlf_line)
{
	struct line ln;

	ck_assert_int_eq(scan("+OK hi\r\nrest", 0, &ln), LINE_OK);
	ck_assert_uint_eq(ln.len, 6);
	ck_assert_uint_eq(ln.consumed, 8);
	ck_assert_int_eq(ln.flags, LINE_CRLF);
}
END_TEST

START_TEST(bare_lf_line)
{
	struct line ln;

	ck_assert_int_eq(scan("+OK\nx", 0, &ln), LINE_OK);
	ck_assert_uint_eq(ln.len, 3);
	ck_assert_uint_eq(ln.consumed, 4);
	ck_assert_int_eq(ln.flags, LINE_BARE_LF);
	ck_assert_int_eq(scan("\n", 0, &ln), LINE_OK);
	ck_assert_uint_eq(ln.len, 0);
	ck_assert_int_eq(ln.flags, LINE_BARE_LF);
	ck_assert_int_eq(scan("\r\n", 0, &ln), LINE_OK);
	ck_assert_uint_eq(ln.len, 0);
	ck_assert_int_eq(ln.flags, LINE_CRLF);
}
END_TEST

START_TEST(incomplete)
{
	struct line ln;

	ck_assert_int_eq(scan("", 0, &ln), LINE_INCOMPLETE);
	ck_assert_int_eq(scan("+OK no end\r", 0, &ln), LINE_INCOMPLETE);
	ck_assert_int_eq(scan("+OK", 255, &ln), LINE_INCOMPLETE);
	ck_assert_uint_eq(ln.consumed, 0);
}
END_TEST

START_TEST(limit_counts_the_line_end)
{
	char buf[600];
	struct line ln;

	/* RFC 2449 §4: 255 octets including CRLF is allowed, 256 is not. */
	memset(buf, 'a', 253);
	memcpy(buf + 253, "\r\n", 2);
	ck_assert_int_eq(line_scan(buf, 255, POP3_MAX_COMMAND_LINE, &ln), LINE_OK);
	ck_assert_uint_eq(ln.len, 253);
	memset(buf, 'a', 254);
	memcpy(buf + 254, "\r\n", 2);
	ck_assert_int_eq(line_scan(buf, 256, POP3_MAX_COMMAND_LINE, &ln), LINE_TOO_LONG);
	ck_assert_uint_eq(ln.consumed, 255);
	ck_assert_uint_eq(ln.len, 255);
	/* 254 octets and a bare LF are 255 octets. */
	memset(buf, 'a', 254);
	buf[254] = '\n';
	ck_assert_int_eq(line_scan(buf, 255, POP3_MAX_COMMAND_LINE, &ln), LINE_OK);
	/* Too long is known as soon as max octets are there without a LF. */
	memset(buf, 'a', 255);
	ck_assert_int_eq(line_scan(buf, 255, 255, &ln), LINE_TOO_LONG);
	ck_assert_int_eq(line_scan(buf, 254, 255, &ln), LINE_INCOMPLETE);
	/* A LF beyond the window belongs to an over-long line. */
	memset(buf, 'a', 599);
	buf[599] = '\n';
	ck_assert_int_eq(line_scan(buf, 600, 512, &ln), LINE_TOO_LONG);
	ck_assert_int_eq(line_scan(buf, 600, 0, &ln), LINE_OK);
	ck_assert_uint_eq(ln.len, 599);
}
END_TEST

START_TEST(content_flags)
{
	struct line ln;
	const char nul[] = "a\0b\r\n";

	ck_assert_int_eq(line_scan(nul, sizeof nul - 1, 0, &ln), LINE_OK);
	ck_assert_int_eq(ln.flags, LINE_CRLF | LINE_HAS_NUL);
	ck_assert_int_eq(scan("a\rb\r\n", 0, &ln), LINE_OK);
	ck_assert_int_eq(ln.flags, LINE_CRLF | LINE_HAS_CR);
	ck_assert_uint_eq(ln.len, 3);
	ck_assert_int_eq(scan("caf\xc3\xa9\n", 0, &ln), LINE_OK);
	ck_assert_int_eq(ln.flags, LINE_BARE_LF | LINE_HAS_8BIT);
	/* CR CR LF: the last CR belongs to the line end, the first is content. */
	ck_assert_int_eq(scan("x\r\r\n", 0, &ln), LINE_OK);
	ck_assert_uint_eq(ln.len, 2);
	ck_assert_int_eq(ln.flags, LINE_CRLF | LINE_HAS_CR);
}
END_TEST

START_TEST(escape_plain_and_special)
{
	char out[64];
	const char in[] = "A b\\\r\n\t\x01\x7f\xff";

	ck_assert_uint_eq(line_escape(in, sizeof in - 1, out, sizeof out), strlen(out));
	ck_assert_str_eq(out, "A b\\\\\\r\\n\\t\\x01\\x7f\\xff");
	ck_assert_uint_eq(line_escape("\0", 1, out, sizeof out), 4);
	ck_assert_str_eq(out, "\\x00");
}
END_TEST

START_TEST(escape_truncates_with_dots)
{
	char out[10];

	ck_assert_uint_eq(line_escape("abcdefghijkl", 12, out, sizeof out), 9);
	ck_assert_str_eq(out, "abcdef...");
	/* Exactly fitting output is not cut. */
	ck_assert_uint_eq(line_escape("abcdefghi", 9, out, sizeof out), 9);
	ck_assert_str_eq(out, "abcdefghi");
	/* An escape is never cut in half. */
	ck_assert_uint_eq(line_escape("abcde\x01zzzz", 10, out, sizeof out), 8);
	ck_assert_str_eq(out, "abcde...");
	ck_assert_uint_eq(line_escape("abc", 3, out, 3), 2);
	ck_assert_str_eq(out, "..");
	ck_assert_uint_eq(line_escape("abc", 3, out, 0), 0);
}
END_TEST

Suite *line_suite(void)
{
	Suite *s = suite_create("line");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, crlf_line);
	tcase_add_test(tc, bare_lf_line);
	tcase_add_test(tc, incomplete);
	tcase_add_test(tc, limit_counts_the_line_end);
	tcase_add_test(tc, content_flags);
	tcase_add_test(tc, escape_plain_and_special);
	tcase_add_test(tc, escape_truncates_with_dots);
	suite_add_tcase(s, tc);
	return s;
}
