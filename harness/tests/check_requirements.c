/* check_requirements.c — unit tests for runner/requirements: id forms, the markdown table reader (escapes,
 * headings, duplicates), gating rows, and the real catalog ../shared/REQUIREMENTS.md when it is present. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "runner/requirements.h"

Suite *requirements_suite(void);

static const char mini[] =
    "# Catalog\n"
    "\n"
    "| ID | RFC § | Level | Requirement | Black-box observation | Needs |\n"
    "|---|---|---|---|---|---|\n"
    "### 1.1 General\n"
    "| R1939-GEN-8 | 1939 §3 | MUST\\* | Status is `+OK` or `-ERR`. | Match `^(\\+OK\\|-ERR)`. | — |\n"
    "| R1939-OPS-1 | 1939 §8 | MAY | Policy. | Not observable. | NO |\n"
    "| R1734-AUTH-3 | 1734 §2 | MUST\\* | Layer. | Not observable. | NO |\n"
    "| R2595-CIPH-1 | 2595 §2.1 | MUST (historic) | Old cipher. | Do not test. | TLS |\n"
    "| R2449-CAPA-1 | 2449 §5 | SHOULD NOT | x | y | 2S, CFG |\n"
    "| R1939-X-1 | 1939 | implied-by-example | a | b | — |\n"
    "| not-an-id | a | b | c | d | e |\n"
    "| R1939-SHORT-1 | too | few |\n"
    "\n"
    "## P. Practice\n"
    "| P-LINE-2 | practice | practice | Long lines. | Send. | — |\n";

START_TEST(id_forms)
{
	ck_assert(req_id_valid("R1939-DELE-3"));
	ck_assert(req_id_valid("R2449-LEN-12"));
	ck_assert(req_id_valid("P-LINE-2"));
	ck_assert(req_id_valid("P-1957-1"));
	ck_assert(!req_id_valid("r1939-dele-3"));
	ck_assert(!req_id_valid("R1939-DELE"));
	ck_assert(!req_id_valid("R1939-DELE-03"));
	ck_assert(!req_id_valid("R-DELE-3"));
	ck_assert(!req_id_valid("R1939-DELE-3x"));
	ck_assert(!req_id_valid("X1939-DELE-3"));
	ck_assert(!req_id_valid(""));
	ck_assert(!req_id_valid(NULL));
}
END_TEST

START_TEST(parse_mini)
{
	struct reqs r;
	struct p3err err = {0};
	ck_assert_msg(reqs_parse("mini.md", mini, strlen(mini), &r, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(r.n, 7);
	const struct requirement *q = reqs_find(&r, "R1939-GEN-8");
	ck_assert_ptr_nonnull(q);
	ck_assert_str_eq(q->section, "1939 §3");
	ck_assert_str_eq(q->level, "MUST*");
	ck_assert_str_eq(q->text, "Status is `+OK` or `-ERR`.");
	ck_assert_str_eq(q->observation, "Match `^(\\+OK|-ERR)`.");
	ck_assert_str_eq(q->needs, "—");
	ck_assert_str_eq(q->heading, "1.1 General");
	ck_assert_int_eq(q->line, 6);
	ck_assert(!q->practice);
	ck_assert(req_is_gating(q));
	ck_assert(!req_is_gating(reqs_find(&r, "R1939-OPS-1")));  /* MAY */
	ck_assert(!req_is_gating(reqs_find(&r, "R1734-AUTH-3"))); /* Needs NO */
	ck_assert(!req_is_gating(reqs_find(&r, "R2595-CIPH-1"))); /* historic */
	ck_assert(req_is_gating(reqs_find(&r, "R2449-CAPA-1")));  /* SHOULD NOT */
	ck_assert(!req_is_gating(reqs_find(&r, "R1939-X-1")));    /* implied-by-example */
	q = reqs_find(&r, "P-LINE-2");
	ck_assert_ptr_nonnull(q);
	ck_assert(q->practice);
	ck_assert(!req_is_gating(q));
	ck_assert_str_eq(q->heading, "P. Practice");
	ck_assert_ptr_null(reqs_find(&r, "R1939-SHORT-1"));
	ck_assert_ptr_null(reqs_find(&r, "R9999-NONE-1"));
	reqs_free(&r);
}
END_TEST

START_TEST(duplicate_id)
{
	static const char dup[] = "| R1-A-1 | a | MUST | t | o | — |\n"
	                          "\n"
	                          "| R1-A-1 | a | MUST | t | o | — |\n";
	struct reqs r;
	struct p3err err = {0};
	ck_assert_int_eq(reqs_parse("dup.md", dup, strlen(dup), &r, &err), -1);
	ck_assert_str_eq(err.msg, "dup.md:3:1: duplicate requirement id R1-A-1 (first on line 1)");
}
END_TEST

START_TEST(missing_file)
{
	struct reqs r;
	struct p3err err = {0};
	ck_assert_int_eq(reqs_load("/nonexistent/REQUIREMENTS.md", &r, &err), -1);
	ck_assert_msg(strstr(err.msg, "/nonexistent/REQUIREMENTS.md: cannot open") == err.msg, "%s", err.msg);
}
END_TEST

/* The real catalog: its "Row counts" table says 241 RFC rows and 21 practice rows. Found in ../shared or as
 * the copy shipped in scenarios/REQUIREMENTS.md, so it always runs from a checkout. */
START_TEST(real_catalog)
{
	char path[4096];
	if (!reqs_default_path(path, sizeof path)) {
		fprintf(stderr, "check_requirements: REQUIREMENTS.md not found; real_catalog not run\n");
		return;
	}
	struct reqs r;
	struct p3err err = {0};
	ck_assert_msg(reqs_load(path, &r, &err) == 0, "%s", err.msg);
	size_t rfc = 0, practice = 0, gating = 0;
	for (size_t i = 0; i < r.n; i++) {
		if (r.v[i].practice)
			practice++;
		else
			rfc++;
		if (req_is_gating(&r.v[i]))
			gating++;
	}
	ck_assert_uint_eq(rfc, 241);
	ck_assert_uint_eq(practice, 21);
	ck_assert_uint_gt(gating, 150);
	const struct requirement *q = reqs_find(&r, "R1939-GEN-8");
	ck_assert_ptr_nonnull(q);
	ck_assert_msg(strstr(q->observation, "^(\\+OK|-ERR)") != NULL, "%s", q->observation);
	q = reqs_find(&r, "R1939-GEN-2");
	ck_assert_ptr_nonnull(q);
	ck_assert_str_eq(q->level, "MUST*");
	ck_assert_str_eq(q->section, "1939 §3, §4");
	ck_assert(!req_is_gating(reqs_find(&r, "R5034-AUTH-17"))); /* Needs NO */
	ck_assert_ptr_nonnull(reqs_find(&r, "P-1957-1"));
	reqs_free(&r);
}
END_TEST

Suite *requirements_suite(void)
{
	Suite *s = suite_create("requirements");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, id_forms);
	tcase_add_test(tc, parse_mini);
	tcase_add_test(tc, duplicate_id);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, real_catalog);
	suite_add_tcase(s, tc);
	return s;
}
