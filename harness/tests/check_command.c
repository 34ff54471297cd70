/* check_command.c — unit tests for server/command: the strict parser, the table (names and states), the
 * state and argument checks dispatch makes before any handler, and the number parsers. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <check.h>

#include "server/command.h"

Suite *command_suite(void);

static struct cmdline cl;

static enum cmd_parse_status parse(const char *s)
{
	return cmd_parse(s, strlen(s), &cl);
}

START_TEST(parses_keyword_and_arguments)
{
	ck_assert_int_eq(parse("stat"), CMD_PARSE_OK);
	ck_assert_str_eq(cl.keyword, "STAT"); /* RFC 1939 §3: case-insensitive */
	ck_assert_uint_eq(cl.argc, 0);
	ck_assert_str_eq(cl.rest, "");
	ck_assert_int_eq(parse("Top 1 10"), CMD_PARSE_OK);
	ck_assert_str_eq(cl.keyword, "TOP");
	ck_assert_uint_eq(cl.argc, 2);
	ck_assert_str_eq(cl.argv[0], "1");
	ck_assert_str_eq(cl.argv[1], "10");
	ck_assert_int_eq(parse("PASS  two  spaces "), CMD_PARSE_SYNTAX); /* as arguments: empty ones */
	ck_assert_int_eq(parse("PASS secret with spaces"), CMD_PARSE_OK);
	ck_assert_str_eq(cl.rest, "secret with spaces"); /* PASS takes the rest verbatim */
	ck_assert_uint_eq(cl.argc, 3);
	ck_assert_int_eq(parse("LIST 1 2 3 4 5 6"), CMD_PARSE_OK);
	ck_assert_uint_eq(cl.argc, 6); /* counted beyond CMD_MAX_ARGS */
}
END_TEST

START_TEST(rejects_bad_lines)
{
	ck_assert_int_eq(parse(""), CMD_PARSE_EMPTY);
	ck_assert_int_eq(parse("LIST  1"), CMD_PARSE_SYNTAX);
	ck_assert_int_eq(parse("STAT "), CMD_PARSE_SYNTAX);
	ck_assert_int_eq(parse(" STAT"), CMD_PARSE_SYNTAX);
	ck_assert_int_eq(parse("ST-AT"), CMD_PARSE_SYNTAX);
	ck_assert_int_eq(parse("VERYLONGKEYWORD"), CMD_PARSE_SYNTAX);
	ck_assert_int_eq(parse("USER\talice"), CMD_PARSE_BAD_CHAR);
	ck_assert_int_eq(parse("USER a\rb"), CMD_PARSE_BAD_CHAR);
	ck_assert_int_eq(parse("NOOP\x7f"), CMD_PARSE_BAD_CHAR);
	ck_assert_int_eq(cmd_parse("USER ali\0ce", 11, &cl), CMD_PARSE_BAD_CHAR);
	ck_assert_int_eq(parse("USER \xc3\xa9"), CMD_PARSE_OK); /* 8-bit is data, not control */
}
END_TEST

START_TEST(table_lookup)
{
	static const char *const all[] = {"USER", "PASS", "APOP", "AUTH", "STLS", "CAPA",
	                                  "QUIT", "STAT", "LIST", "RETR", "DELE", "NOOP",
	                                  "RSET", "TOP",  "UIDL", "UTF8", "LANG"};

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		const struct command *c = cmd_find(all[i]);
		ck_assert_ptr_nonnull(c);
		ck_assert_str_eq(c->name, all[i]);
	}
	ck_assert_ptr_null(cmd_find("LAST")); /* removed from RFC 1939 */
	ck_assert_ptr_null(cmd_find("XTND"));
	ck_assert_ptr_null(cmd_find("user")); /* the table holds upper case; the parser upper-cases */
	ck_assert_ptr_null(cmd_find("UTF-8"));
}
END_TEST

/* Which commands the table allows in each state (RFC 1939 §4-§7, RFC 2449, 2595, 5034). */
static const struct {
	const char *name;
	int authorization, transaction, update;
} states[] = {
    {"USER", 1, 0, 0}, {"PASS", 1, 0, 0}, {"APOP", 1, 0, 0}, {"AUTH", 1, 0, 0}, {"STLS", 1, 0, 0},
    {"CAPA", 1, 1, 0}, {"QUIT", 1, 1, 0}, {"STAT", 0, 1, 0}, {"LIST", 0, 1, 0}, {"RETR", 0, 1, 0},
    {"DELE", 0, 1, 0}, {"NOOP", 0, 1, 0}, {"RSET", 0, 1, 0}, {"TOP", 0, 1, 0},  {"UIDL", 0, 1, 0},
    {"UTF8", 1, 0, 0}, /* RFC 6856 §2: AUTHORIZATION only */
    {"LANG", 1, 1, 0}, /* RFC 6856 §3.1: AUTHORIZATION and TRANSACTION */
};

START_TEST(state_checks)
{
	const struct command *c = cmd_find(states[_i].name);
	struct result r;
	char line[64];

	/* Arguments that satisfy the count, so only the state decides. */
	snprintf(line, sizeof line, "%s%s", states[_i].name,
	         c->min_args == 2   ? " 1 1"
	         : c->min_args == 1 ? " 1"
	                            : "");
	ck_assert_int_eq(parse(line), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(c, ST_AUTHORIZATION, &cl, &r), states[_i].authorization ? 0 : -1);
	ck_assert_int_eq(cmd_check(c, ST_TRANSACTION, &cl, &r), states[_i].transaction ? 0 : -1);
	ck_assert_int_eq(cmd_check(c, ST_UPDATE, &cl, &r), -1);
	if (!states[_i].transaction) {
		cmd_check(c, ST_TRANSACTION, &cl, &r);
		ck_assert_int_eq(r.status, RES_ERR);
		ck_assert_int_eq(r.code, CODE_NONE);
		ck_assert_msg(strstr(r.text, "TRANSACTION") != NULL, "%s", r.text);
	}
}
END_TEST

START_TEST(argument_counts)
{
	struct result r;

	ck_assert_int_eq(parse("STAT 1"), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(cmd_find("STAT"), ST_TRANSACTION, &cl, &r), -1);
	ck_assert_int_eq(parse("RETR"), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(cmd_find("RETR"), ST_TRANSACTION, &cl, &r), -1);
	ck_assert_int_eq(parse("LIST 1 2"), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(cmd_find("LIST"), ST_TRANSACTION, &cl, &r), -1);
	ck_assert_int_eq(parse("LIST"), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(cmd_find("LIST"), ST_TRANSACTION, &cl, &r), 0);
	ck_assert_int_eq(parse("TOP 1"), CMD_PARSE_OK); /* RFC 1939 §7: the line count is required */
	ck_assert_int_eq(cmd_check(cmd_find("TOP"), ST_TRANSACTION, &cl, &r), -1);
	ck_assert_int_eq(parse("APOP alice"), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(cmd_find("APOP"), ST_AUTHORIZATION, &cl, &r), -1);
	ck_assert_int_eq(parse("PASS"), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(cmd_find("PASS"), ST_AUTHORIZATION, &cl, &r), -1);
	ck_assert_int_eq(parse("PASS a b c d e f"), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(cmd_find("PASS"), ST_AUTHORIZATION, &cl, &r), 0);
	ck_assert_int_eq(parse("AUTH"), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(cmd_find("AUTH"), ST_AUTHORIZATION, &cl, &r), 0);
	ck_assert_int_eq(parse("AUTH PLAIN x y"), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(cmd_find("AUTH"), ST_AUTHORIZATION, &cl, &r), -1);
	ck_assert_int_eq(parse("UTF8 x"), CMD_PARSE_OK); /* RFC 6856 §2.1: no parameters */
	ck_assert_int_eq(cmd_check(cmd_find("UTF8"), ST_AUTHORIZATION, &cl, &r), -1);
	ck_assert_int_eq(parse("UTF8"), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(cmd_find("UTF8"), ST_AUTHORIZATION, &cl, &r), 0);
	ck_assert_int_eq(parse("LANG en de"), CMD_PARSE_OK); /* one language range */
	ck_assert_int_eq(cmd_check(cmd_find("LANG"), ST_TRANSACTION, &cl, &r), -1);
	ck_assert_int_eq(parse("LANG"), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(cmd_find("LANG"), ST_TRANSACTION, &cl, &r), 0);
}
END_TEST

START_TEST(message_numbers)
{
	size_t n;
	char big[64];

	ck_assert_int_eq(parse_msgnum("1", &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(parse_msgnum("007", &n), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(parse_msgnum("0", &n), 0); /* parsed; the store says it does not exist */
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(parse_msgnum("", &n), -1);
	ck_assert_int_eq(parse_msgnum("+1", &n), -1);
	ck_assert_int_eq(parse_msgnum("-1", &n), -1);
	ck_assert_int_eq(parse_msgnum("1x", &n), -1);
	ck_assert_int_eq(parse_msgnum(" 1", &n), -1);
	ck_assert_int_eq(parse_msgnum("99999999999999999999999", &n), -1); /* no wrap-around (P-MSG-3) */
	snprintf(big, sizeof big, "%zu", (size_t)SIZE_MAX);
	ck_assert_int_eq(parse_msgnum(big, &n), -1);
}
END_TEST

START_TEST(line_counts)
{
	long v;

	ck_assert_int_eq(parse_linecount("0", &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(parse_linecount("25", &v), 0);
	ck_assert_int_eq(v, 25);
	ck_assert_int_eq(parse_linecount("-1", &v), -1); /* RFC 1939 §7: non-negative */
	ck_assert_int_eq(parse_linecount("", &v), -1);
	ck_assert_int_eq(parse_linecount("x", &v), -1);
	ck_assert_int_eq(parse_linecount("99999999999999999999999999", &v), 0);
	ck_assert_int_eq(v, LONG_MAX); /* "more than the body has": the whole body */
}
END_TEST

Suite *command_suite(void)
{
	Suite *s = suite_create("command");
	TCase *tc = tcase_create("command");

	tcase_add_test(tc, parses_keyword_and_arguments);
	tcase_add_test(tc, rejects_bad_lines);
	tcase_add_test(tc, table_lookup);
	tcase_add_loop_test(tc, state_checks, 0, (int)(sizeof states / sizeof states[0]));
	tcase_add_test(tc, argument_counts);
	tcase_add_test(tc, message_numbers);
	tcase_add_test(tc, line_counts);
	suite_add_tcase(s, tc);
	return s;
}
