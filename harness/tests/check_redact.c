/* check_redact.c — unit tests for runner/redact: passwords replaced as they are and inside the base64 of
 * SASL PLAIN and LOGIN, digests and ordinary words left alone, every text of a run covered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "lib/b64.h"
#include "runner/redact.h"

Suite *redact_suite(void);

static struct account accts[] = {{"alice", "wonderland", NULL},
                                 {"bob", "s3cret!", NULL},
                                 {"carol", "wonderland", NULL},
                                 {"dave", "", NULL}};
static struct target tgt = {.accounts = accts, .naccounts = 4};

static char *b64(const char *s, size_t n)
{
	static char buf[256];
	b64_encode(s, n, buf);
	buf[b64_encoded_len(n)] = '\0';
	return buf;
}

/* The text as redacted (or as it was, when it holds no secret). */
static const char *red(const struct redactor *r, const char *s)
{
	static char buf[512];
	int failed = 0;
	char *out = redact_text(r, s, &failed);
	ck_assert_int_eq(failed, 0);
	snprintf(buf, sizeof buf, "%s", out ? out : s);
	free(out);
	return buf;
}

START_TEST(passwords_and_their_encodings)
{
	struct redactor r;
	ck_assert_int_eq(redactor_init(&r, &tgt), 0);
	ck_assert_uint_eq(r.n, 2); /* duplicates and the empty password are no secrets */
	ck_assert_str_eq(red(&r, "PASS wonderland"), "PASS " REDACT_MARK);
	ck_assert_str_eq(red(&r, "expected +OK after PASS s3cret! twice: s3cret!"),
	                 "expected +OK after PASS " REDACT_MARK " twice: " REDACT_MARK);
	char line[400];
	/* SASL PLAIN: authzid NUL authcid NUL password, any authzid */
	snprintf(line, sizeof line, "AUTH PLAIN %s", b64("\0alice\0wonderland", 17));
	ck_assert_str_eq(red(&r, line), "AUTH PLAIN " REDACT_MARK);
	snprintf(line, sizeof line, "%s", b64("admin\0bob\0s3cret!", 17));
	ck_assert_str_eq(red(&r, line), REDACT_MARK);
	/* junk around the encoding (a scenario's deliberately broken base64) does not hide it */
	snprintf(line, sizeof line, "AUTH PLAIN =%s*", b64("\0alice\0wonderland", 17));
	ck_assert_str_eq(red(&r, line), "AUTH PLAIN " REDACT_MARK "*");
	for (size_t pre = 0; pre < 3; pre++) { /* every alignment */
		char raw[32] = "xyz";
		memcpy(raw + pre, "wonderland", 10);
		snprintf(line, sizeof line, "%s", b64(raw, pre + 10));
		ck_assert_str_eq(red(&r, line), REDACT_MARK);
	}
	/* SASL LOGIN sends the password alone, however short its base64 */
	ck_assert_str_eq(red(&r, b64("s3cret!", 7)), REDACT_MARK);
	/* what is no secret stays: the user, the APOP digest, commands, the server's words */
	const char *keep[] = {"USER alice",
	                      "APOP alice c4c9334bac560ecc979e58001b3e22fb",
	                      "AUTH CRAM-MD5",
	                      "+OK maildrop has 2 messages (320 octets)",
	                      b64("\0alice\0other", 12),
	                      ""};
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		int failed = 0;
		ck_assert_msg(redact_text(&r, keep[i], &failed) == NULL, "changed: %s", keep[i]);
	}
	redactor_free(&r);
}
END_TEST

START_TEST(every_text_of_a_run)
{
	struct redactor r;
	ck_assert_int_eq(redactor_init(&r, &tgt), 0);
	struct tline tl[2] = {{1.0, 'C', strdup("main"), strdup("PASS wonderland")},
	                      {2.0, 'S', strdup("main"), strdup("-ERR no")}};
	struct result res = {.id = strdup("x/y"),
	                     .message = strdup("login as alice/wonderland refused"),
	                     .expected = strdup("+OK to PASS wonderland"),
	                     .actual = strdup("-ERR s3cret!"),
	                     .failed_step = strdup("step 2 (send: PASS s3cret!)"),
	                     .transcript = malloc(sizeof tl),
	                     .ntranscript = 2};
	memcpy(res.transcript, tl, sizeof tl);
	struct run run = {.results = &res, .nresults = 1};
	run.info.greeting = strdup("+OK hello wonderland");
	ck_assert_int_eq(redact_run(&r, &run), 0);
	ck_assert_int_eq(run.info.redacted, 1);
	ck_assert_str_eq(res.message, "login as alice/" REDACT_MARK " refused");
	ck_assert_str_eq(res.expected, "+OK to PASS " REDACT_MARK);
	ck_assert_str_eq(res.actual, "-ERR " REDACT_MARK);
	ck_assert_str_eq(res.failed_step, "step 2 (send: PASS " REDACT_MARK ")");
	ck_assert_str_eq(res.transcript[0].text, "PASS " REDACT_MARK);
	ck_assert_str_eq(res.transcript[1].text, "-ERR no");
	ck_assert_str_eq(run.info.greeting, "+OK hello " REDACT_MARK);
	run.results = NULL;
	run.nresults = 0;
	result_free(&res);
	run_free(&run);
	redactor_free(&r);
}
END_TEST

/* A password that holds another is replaced whole. */
START_TEST(apop_secrets_too)
{
	/* A profile's apop_secret (never sent by the runner, only digested) is a secret like the password. */
	struct account a[] = {{"u1", "abc1234", "opensesame"}, {"u2", "xyz9876", NULL}};
	struct target t2 = {.accounts = a, .naccounts = 2};
	struct redactor r;
	ck_assert_int_eq(redactor_init(&r, &t2), 0);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_str_eq(red(&r, "said opensesame"), "said " REDACT_MARK);
	ck_assert_str_eq(red(&r, "PASS xyz9876"), "PASS " REDACT_MARK);
	redactor_free(&r);
}
END_TEST

START_TEST(longest_first)
{
	struct account a[] = {{"u1", "abc", NULL}, {"u2", "xxabcxx", NULL}};
	struct target t = {.accounts = a, .naccounts = 2};
	struct redactor r;
	ck_assert_int_eq(redactor_init(&r, &t), 0);
	ck_assert_str_eq(red(&r, "PASS xxabcxx"), "PASS " REDACT_MARK);
	ck_assert_str_eq(red(&r, "PASS abc"), "PASS " REDACT_MARK);
	redactor_free(&r);
}
END_TEST

Suite *redact_suite(void)
{
	Suite *s = suite_create("redact");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, passwords_and_their_encodings);
	tcase_add_test(tc, every_text_of_a_run);
	tcase_add_test(tc, longest_first);
	tcase_add_test(tc, apop_secrets_too);
	suite_add_tcase(s, tc);
	return s;
}
