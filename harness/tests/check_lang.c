/* check_lang.c — unit tests for server/lang: RFC 4647 basic language ranges and basic filtering, the
 * selection of LANG (RFC 6856 §3.2) and the LANG handler's replies, listing and language state. */
#include <string.h>
#include <check.h>
#include <event2/buffer.h>

#include "server/command.h"
#include "server/lang.h"
#include "server/log.h"
#include "server/session.h"

Suite *lang_suite(void);

START_TEST(range_syntax)
{
	/* RFC 4647 §2.1: (1*8ALPHA *("-" 1*8alphanum)) / "*" */
	static const char *const good[] = {"*",          "en",         "EN",        "i",
	                                   "en-US",      "de-CH-1996", "sgn-ch-de", "abcdefgh",
	                                   "x-12345678", "zh-Hant-TW", "mul"};
	static const char *const bad[] = {
	    "",   "-",     "en-",  "-en",  "en--us", "abcdefghi", "en-123456789", "1en",
	    "e1", "en_US", "en-*", "*-en", "**",     "en us",     "\xc3\xa9n"};

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(lang_range_ok(good[i]), "%s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!lang_range_ok(bad[i]), "%s", bad[i]);
}
END_TEST

START_TEST(basic_filtering)
{
	/* RFC 4647 §3.3.1: equal, or a prefix followed by "-", case-insensitively; "*" matches all. */
	ck_assert(lang_range_matches("en", "en"));
	ck_assert(lang_range_matches("EN", "en"));
	ck_assert(lang_range_matches("en", "en-US"));
	ck_assert(lang_range_matches("en-us", "en-US"));
	ck_assert(lang_range_matches("de-ch", "de-CH-1996"));
	ck_assert(lang_range_matches("*", "i-default"));
	ck_assert(lang_range_matches("i", "i-default"));
	ck_assert(!lang_range_matches("en-US", "en")); /* a longer range never matches a shorter tag */
	ck_assert(!lang_range_matches("e", "en"));     /* prefixes end at subtag boundaries */
	ck_assert(!lang_range_matches("en-u", "en-US"));
	ck_assert(!lang_range_matches("de", "en"));
}
END_TEST

START_TEST(selection)
{
	ck_assert_str_eq(lang_table[0].tag, "en");
	ck_assert_int_eq(lang_select("*"), 0); /* the administrator's preferred language */
	ck_assert_int_eq(lang_select("en"), 0);
	ck_assert_int_eq(lang_select("EN"), 0);
	ck_assert_str_eq(lang_table[lang_select("i-default")].tag, "i-default");
	ck_assert_str_eq(lang_table[lang_select("I")].tag, "i-default");
	ck_assert_int_eq(lang_select("en-US"), -1); /* basic filtering: "en-US" does not match "en" */
	ck_assert_int_eq(lang_select("mul"), -1);   /* RFC 6856 §3.3's example */
	ck_assert_int_eq(lang_select("de"), -1);
	ck_assert_int_eq(lang_select("en-"), -1); /* malformed */
	ck_assert_int_eq(lang_select(""), -1);
	for (size_t i = 0; i < lang_count; i++) {
		/* Every tag is selectable by itself, and is a well-formed range (so a well-formed tag). */
		ck_assert_int_eq(lang_select(lang_table[i].tag), (int)i);
		ck_assert(lang_range_ok(lang_table[i].tag));
	}
}
END_TEST

static struct session sess;
static struct cmdline cl;
static struct result r;

static void setup(void)
{
	log_set_level(LOG_ERROR);
	memset(&sess, 0, sizeof sess);
	sess.body = evbuffer_new();
	ck_assert_ptr_nonnull(sess.body);
	sess.state = ST_AUTHORIZATION;
}

static void teardown(void)
{
	evbuffer_free(sess.body);
}

static void lang(const char *line)
{
	ck_assert_int_eq(cmd_parse(line, strlen(line), &cl), CMD_PARSE_OK);
	res_clear(&r);
	cmd_lang(&sess, &cl, &r);
}

START_TEST(command_replies)
{
	char buf[POP3_MAX_STATUS_LINE + 1], body[1024];
	size_t n;

	/* No argument: +OK and a listing, one "tag description" line per language (RFC 6856 §3.2). */
	lang("LANG");
	ck_assert_int_eq(r.status, RES_OK);
	ck_assert(r.multiline);
	n = evbuffer_remove(sess.body, body, sizeof body - 1);
	body[n] = '\0';
	ck_assert_str_eq(body, "en English\r\ni-default Default language (English)\r\n");

	/* "+OK", the exact tag, a space, the text (RFC 6856 §3.2). */
	lang("LANG i");
	reply_format(&r, buf, sizeof buf);
	ck_assert_str_eq(buf, "+OK i-default Language changed to the default language (English)\r\n");
	ck_assert_int_eq(sess.lang, 1);

	/* A failure leaves the language as it was. */
	lang("LANG mul");
	ck_assert_int_eq(r.status, RES_ERR);
	ck_assert_int_eq(r.code, CODE_NONE);
	ck_assert_int_eq(sess.lang, 1);
	lang("LANG en-");
	ck_assert_int_eq(r.status, RES_ERR);
	ck_assert_int_eq(sess.lang, 1);

	lang("LANG *");
	reply_format(&r, buf, sizeof buf);
	ck_assert_str_eq(buf, "+OK en Language changed to English\r\n");
	ck_assert_int_eq(sess.lang, 0);
	lang("LANG EN");
	reply_format(&r, buf, sizeof buf);
	ck_assert(strncmp(buf, "+OK en ", 7) == 0);
}
END_TEST

START_TEST(command_table)
{
	const struct command *c = cmd_find("LANG");
	struct result rr;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_eq(c->fn, cmd_lang);
	/* RFC 6856 §3.1: AUTHORIZATION and TRANSACTION; one range at most. */
	ck_assert_int_eq(cmd_parse("LANG en", 7, &cl), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(c, ST_AUTHORIZATION, &cl, &rr), 0);
	ck_assert_int_eq(cmd_check(c, ST_TRANSACTION, &cl, &rr), 0);
	ck_assert_int_eq(cmd_check(c, ST_UPDATE, &cl, &rr), -1);
	ck_assert_int_eq(cmd_parse("LANG en de", 10, &cl), CMD_PARSE_OK);
	ck_assert_int_eq(cmd_check(c, ST_AUTHORIZATION, &cl, &rr), -1);
}
END_TEST

Suite *lang_suite(void)
{
	Suite *s = suite_create("lang");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, range_syntax);
	tcase_add_test(tc, basic_filtering);
	tcase_add_test(tc, selection);
	tcase_add_test(tc, command_table);
	suite_add_tcase(s, tc);
	tc = tcase_create("command");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, command_replies);
	suite_add_tcase(s, tc);
	return s;
}
