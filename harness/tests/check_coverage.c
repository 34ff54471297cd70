/* check_coverage.c — unit tests for runner/coverage: who cites what (refs, expectation and assert refs),
 * gating rows, the docs/coverage.md list, the printed report, and `pop3spec coverage`'s exit status. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include "runner/cli.h"
#include "runner/coverage.h"
#include "runner/load.h"

Suite *coverage_suite(void);

static const char catalog[] = "| ID | RFC § | Level | Requirement | Black-box observation | Needs |\n"
                              "|---|---|---|---|---|---|\n"
                              "| R1939-DELE-1 | 1939 §5 | MUST\\* | a | b | — |\n"
                              "| R1939-DELE-2 | 1939 §5 | MUST | a | b | — |\n"
                              "| R1939-DELE-3 | 1939 §5 | SHOULD | a | b | RL |\n"
                              "| R1939-DELE-4 | 1939 §5 | MAY | a | b | — |\n"
                              "| R1939-OPS-1 | 1939 §8 | MUST | a | b | NO |\n"
                              "| R1939-STAT-1 | 1939 §5 | MUST | a | b | — |\n"
                              "| P-LINE-1 | practice | practice | a | b | — |\n";

static const char listed_md[] = "# Coverage\n\n"
                                "## Deliberately uncovered\n\n"
                                "| Requirement | Why |\n"
                                "|---|---|\n"
                                "| `R1939-DELE-3` | needs a restart |\n"
                                "| R9999-NOPE-1 | typo |\n\n"
                                "| Scenario | Faults |\n"
                                "|---|---|\n"
                                "| rfc1939/dele/x | F1 |\n";

static char dir[64];

static void write_file(const char *name, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check_coverage.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/sc", dir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	write_file("REQ.md", catalog);
	write_file("coverage.md", listed_md);
	write_file("sc/a.yaml", "id: a\ntitle: T\nrefs: [R1939-DELE-1]\nlevel: MUST\nsteps:\n"
	                        "  - send: X\n    expect: {one_of: [ok, {status: err, ref: R1939-DELE-4}]}\n"
	                        "  - assert: {equal: [a, a], ref: P-LINE-1}\n");
	write_file("sc/b.yaml",
	           "id: b\ntitle: T\nrefs: [R1939-DELE-1, R1939-STAT-1, R1939-DELE-1]\nlevel: MUST\n"
	           "steps: [{send: X}]\n");
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void load_all(struct reqs *r, struct scenario_list *l)
{
	struct p3err err = {0};
	ck_assert_int_eq(reqs_parse("REQ.md", catalog, strlen(catalog), r, &err), 0);
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/sc", dir);
	const char *paths[] = {p};
	struct load_opts o = {.reqs = r};
	ck_assert_msg(load_scenarios(paths, 1, &o, l, &err) == 0, "%s", err.msg);
}

START_TEST(citations_and_counts)
{
	struct reqs r;
	struct scenario_list l;
	load_all(&r, &l);
	struct coverage c;
	struct p3err err = {0};
	ck_assert_int_eq(coverage_compute(&r, l.v, l.n, NULL, &c, &err), 0);
	ck_assert_uint_eq(c.nrows, 7);
	ck_assert_uint_eq(c.rfc_rows, 6);
	ck_assert_uint_eq(c.practice_rows, 1);
	/* DELE-1 by a and b (b citing it twice counts once); DELE-4 through a one_of alternative; P-LINE-1
	 * through an assert; STAT-1 by b. */
	ck_assert_uint_eq(c.rows[0].n, 2);
	ck_assert_uint_eq(c.rows[3].n, 1);
	ck_assert_uint_eq(c.rows[5].n, 1);
	ck_assert_uint_eq(c.rows[6].n, 1);
	ck_assert_uint_eq(c.covered, 4);
	/* Gating: DELE-1, DELE-2, DELE-3, STAT-1 (OPS-1 is not observable; MAY and practice never gate). */
	ck_assert_uint_eq(c.gating, 4);
	ck_assert_uint_eq(c.gating_covered, 2);
	ck_assert_uint_eq(c.gating_missing, 2);
	coverage_free(&c);
	scenario_list_free(&l);
	reqs_free(&r);
}
END_TEST

START_TEST(listed_rows_and_report)
{
	struct reqs r;
	struct scenario_list l;
	load_all(&r, &l);
	struct cov_listed listed;
	struct p3err err = {0};
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/coverage.md", dir);
	ck_assert_msg(coverage_read_listed(p, &listed, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(listed.n, 2);
	ck_assert_str_eq(listed.ids[0], "R1939-DELE-3");
	ck_assert_int_eq(listed.lines[0], 7);
	ck_assert_str_eq(listed.ids[1], "R9999-NOPE-1");
	struct coverage c;
	ck_assert_int_eq(coverage_compute(&r, l.v, l.n, &listed, &c, &err), 0);
	ck_assert_uint_eq(c.gating_listed, 1);
	ck_assert_uint_eq(c.gating_missing, 1);
	ck_assert_uint_eq(c.listed_unknown, 1);

	char *out = NULL, *warn = NULL;
	size_t outlen = 0, warnlen = 0;
	FILE *fo = open_memstream(&out, &outlen), *fw = open_memstream(&warn, &warnlen);
	coverage_print(fo, fw, &c, l.v, &listed, &r);
	fclose(fo);
	fclose(fw);
	ck_assert_msg(strstr(out, "R1939-DELE-1     MUST*               a, b\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "R1939-DELE-2     MUST                -  MISSING\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "R1939-DELE-3     SHOULD              -  uncovered by design\n") != NULL,
	              "%s", out);
	ck_assert_msg(strstr(out, "R1939-OPS-1      MUST                -\n") != NULL, "%s", out);
	ck_assert_msg(
	    strstr(out, "observable MUST/SHOULD: 4; covered: 2; uncovered by design: 1; missing: 1\n"), "%s",
	    out);
	ck_assert_msg(strstr(out, "missing: R1939-DELE-2\n") != NULL, "%s", out);
	char want[PATH_MAX + 100];
	snprintf(want, sizeof want, "%s:8:1: warning: R9999-NOPE-1 is not a requirement of REQ.md\n", p);
	ck_assert_str_eq(warn, want);
	free(out);
	free(warn);
	coverage_free(&c);
	coverage_listed_free(&listed);
	scenario_list_free(&l);
	reqs_free(&r);
}
END_TEST

/* `pop3spec coverage` itself: exit 1 while an observable MUST/SHOULD is uncovered and unlisted, 0 once the
 * list names it, 2 when the catalog cannot be read. */
static int run_coverage(const char *listed)
{
	char req[PATH_MAX], sc[PATH_MAX];
	snprintf(req, sizeof req, "%s/REQ.md", dir);
	snprintf(sc, sizeof sc, "%s/sc", dir);
	char *argv[] = {"--requirements", req, "--uncovered", (char *)listed, sc};
	static struct cli c;
	struct p3err err = {0};
	ck_assert_msg(cli_parse(CMD_COVERAGE, 5, argv, &c, &err) == 0, "%s", err.msg);
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(1), saved_err = dup(2), null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	dup2(null, 2);
	int rc = cli_coverage(&c);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	close(null);
	return rc;
}

START_TEST(exit_status)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/coverage.md", dir);
	ck_assert_int_eq(run_coverage(p), EXIT_FAILED);
	write_file("coverage2.md", "| R1939-DELE-3 | x |\n| R1939-DELE-2 | y |\n");
	snprintf(p, sizeof p, "%s/coverage2.md", dir);
	ck_assert_int_eq(run_coverage(p), EXIT_PASSED);
	snprintf(p, sizeof p, "%s/missing.md", dir);
	ck_assert_int_eq(run_coverage(p), EXIT_USAGE);
	/* A scenario citing an id the catalog lacks is a scenario-file error. */
	write_file("coverage3.md", "| R1939-DELE-3 | x |\n| R1939-DELE-2 | y |\n");
	write_file("sc/c.yaml", "id: c\ntitle: T\nrefs: [R1939-DELE-9]\nlevel: MUST\nsteps: [{send: X}]\n");
	snprintf(p, sizeof p, "%s/coverage3.md", dir);
	ck_assert_int_eq(run_coverage(p), EXIT_USAGE);
}
END_TEST

Suite *coverage_suite(void)
{
	Suite *s = suite_create("coverage");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, citations_and_counts);
	tcase_add_test(tc, listed_rows_and_report);
	tcase_add_test(tc, exit_status);
	suite_add_tcase(s, tc);
	return s;
}
