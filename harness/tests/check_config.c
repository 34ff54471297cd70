/* check_config.c — unit tests for server/config: the users file, its lookups, and every error with its line.
 */
#include <stdio.h>
#include <string.h>
#include <check.h>

#include "server/config.h"
#include "srv_testutil.h"

Suite *config_suite(void);

static int parse(const char *text, struct users *u, struct p3err *err)
{
	return users_parse("users.txt", text, strlen(text), u, err);
}

START_TEST(parses_users_comments_and_blank_lines)
{
	struct users u;
	struct p3err err;

	ck_assert_int_eq(parse("# users\n\nalice:wonderland\n  # indented comment\nbob:b:u:i:l:d\r\n"
	                       "carol:pass with spaces \ndave:#not a comment",
	                       &u, &err),
	                 0);
	ck_assert_uint_eq(u.count, 4);
	ck_assert_str_eq(users_password(&u, "alice"), "wonderland");
	ck_assert_str_eq(users_password(&u, "bob"), "b:u:i:l:d"); /* split at the first ':'; CR dropped */
	ck_assert_str_eq(users_password(&u, "carol"), "pass with spaces "); /* verbatim */
	ck_assert_str_eq(users_password(&u, "dave"), "#not a comment");
	ck_assert_ptr_null(users_password(&u, "Alice")); /* exact match */
	ck_assert_ptr_null(users_password(&u, "nobody"));
	users_free(&u);
	ck_assert_ptr_null(users_password(&u, "alice"));
}
END_TEST

struct bad_case {
	const char *text;
	const char *msg; /* expected start of the error */
};

static const struct bad_case bad[] = {
    {"alice:x\nno colon here\n", "users.txt:2: expected user:password"},
    {":secret\n", "users.txt:1: empty user name"},
    {"alice:\n", "users.txt:1: empty password"},
    {"alice:x\n\nalice:y\n", "users.txt:3: user 'alice' listed twice"},
    {"../etc:x\n", "users.txt:1: user name '../etc' is not allowed"},
    {".hidden:x\n", "users.txt:1: user name '.hidden' is not allowed"},
    {"al ice:x\n", "users.txt:1: user name 'al ice' is not allowed"},
    {"alice:a\tb\n", "users.txt:1: control character (0x09)"},
    {"# nothing\n\n", "users.txt: no users defined"},
    {"", "users.txt: no users defined"},
};

START_TEST(reports_errors_with_line)
{
	struct users u;
	struct p3err err;

	ck_assert_int_eq(parse(bad[_i].text, &u, &err), -1);
	ck_assert_msg(strncmp(err.msg, bad[_i].msg, strlen(bad[_i].msg)) == 0, "case %d: got '%s', want '%s'",
	              _i, err.msg, bad[_i].msg);
	ck_assert_uint_eq(u.count, 0);
	ck_assert_ptr_null(u.list);
}
END_TEST

START_TEST(nul_and_long_lines)
{
	struct users u;
	struct p3err err;
	char big[USERS_MAX_LINE + 20];

	ck_assert_int_eq(users_parse("f", "alice:x\nb\0b:y\n", 14, &u, &err), -1);
	ck_assert_str_eq(err.msg, "f:2: NUL octet in line");
	memcpy(big, "alice:", 6);
	memset(big + 6, 'p', sizeof big - 6);
	ck_assert_int_eq(users_parse("f", big, sizeof big, &u, &err), -1);
	ck_assert_msg(strstr(err.msg, "f:1: line longer than") == err.msg, "%s", err.msg);
	/* The longest line that is allowed: 1024 octets with its LF. */
	big[USERS_MAX_LINE - 1] = '\n';
	ck_assert_int_eq(users_parse("f", big, USERS_MAX_LINE, &u, &err), 0);
	ck_assert_uint_eq(strlen(users_password(&u, "alice")), USERS_MAX_LINE - 7);
	users_free(&u);
}
END_TEST

START_TEST(loads_files)
{
	char dir[128], path[256];
	struct users u;
	struct p3err err;

	tu_tmpdir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/users", dir);
	tu_write(path, "zed:z\nalice:a\n", 14);
	ck_assert_int_eq(users_load(path, &u, &err), 0);
	ck_assert_str_eq(users_password(&u, "alice"), "a");
	ck_assert_str_eq(users_password(&u, "zed"), "z");
	users_free(&u);
	tu_write(path, "alice:a\nbad\n", 12);
	ck_assert_int_eq(users_load(path, &u, &err), -1);
	ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0 && strstr(err.msg, ":2: "), "%s", err.msg);
	snprintf(path, sizeof path, "%s/missing", dir);
	ck_assert_int_eq(users_load(path, &u, &err), -1);
	ck_assert_msg(strstr(err.msg, "missing: cannot open users file: No such file") != NULL, "%s",
	              err.msg);
	ck_assert_int_eq(users_load(dir, &u, &err), -1); /* a folder */
	tu_rmrf(dir);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("users");

	tcase_add_test(tc, parses_users_comments_and_blank_lines);
	tcase_add_loop_test(tc, reports_errors_with_line, 0, (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, nul_and_long_lines);
	tcase_add_test(tc, loads_files);
	suite_add_tcase(s, tc);
	return s;
}
