/* check_report_console.c — unit tests for the console reporter: one line per scenario, the summary with
 * every failed and errored id and its reason, -q, colour only on a terminal and never with NO_COLOR,
 * progress on a terminal, hostile text neutralised. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>
#include "runner/report/report.h"
#include "check_report_data.h"

Suite *report_console_suite(void);

/* Run the whole console sequence for rd_run() into a memory buffer (no terminal: no colour, no progress). */
static char *render(enum console_verbosity v, int colour, int strict)
{
	struct run run;
	struct console c;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	rd_run(&run, NULL);
	run.info.strict = strict;
	console_init(&c, v, run.nresults);
	c.out = out;
	c.progress = out; /* not a terminal: must stay silent */
	c.colour = colour;
	for (size_t i = 0; i < run.nresults; i++) {
		console_start(&c, run.results[i].id);
		console_result(&c, &run.results[i]);
	}
	console_summary(&c, &run);
	ck_assert_uint_eq(c.done, run.nresults);
	fclose(out);
	run_free(&run);
	return buf;
}

START_TEST(console_prints_a_line_per_scenario_and_a_summary)
{
	char *s = render(CONSOLE_NORMAL, 0, 0);
	ck_assert_ptr_nonnull(strstr(s, "PASS  rfc1939/stat/counts  STAT counts messages and octets\n"));
	ck_assert_ptr_nonnull(
	    strstr(s, "FAIL  rfc1939/dele/marked-not-retrievable  A message marked deleted cannot "
	              "be retrieved -- RETR of a deleted message answered +OK\n"));
	ck_assert_ptr_nonnull(strstr(s, "ERROR rfc5034/auth/plain-initial  "));
	ck_assert_ptr_nonnull(
	    strstr(s, "SKIP  rfc2595/stls/once  STLS is accepted only once -- unsupported: STLS\n"));
	ck_assert_ptr_nonnull(
	    strstr(s, "Failed:\n  FAIL  rfc1939/dele/marked-not-retrievable: RETR of a deleted "
	              "message answered +OK [R1939-DELE-3]\n  FAIL  robustness/long-line: line not "
	              "CRLF-terminated [R1939-GEN-6]\n"));
	ck_assert_ptr_nonnull(strstr(s, "Errors:\n  ERROR rfc5034/auth/plain-initial: timeout after 5 s"));
	ck_assert_ptr_nonnull(strstr(s, "Warnings:\n  WARN  rfc2449/capa/lines-max-512: a CAPA line is 600"));
	ck_assert_ptr_nonnull(
	    strstr(s, "9 scenarios: 4 passed, 2 failed, 1 warning, 1 skipped, 1 error in 6.3 s "
	              "against refd\n"));
	/* no colour, no progress, no raw escape from the server's text */
	ck_assert_ptr_null(strchr(s, '\033'));
	ck_assert_ptr_null(strchr(s, '\r'));
	ck_assert_ptr_nonnull(strstr(s, "server sent \\x01\\x1B[31mred\\xFF\\xFE ]]> & <b>"));
	/* one line per scenario: nine result lines before the summary's blank line */
	size_t lines = 0;
	for (const char *p = s; *p && !(p[0] == '\n' && p[1] == '\n'); p++)
		lines += *p == '\n';
	ck_assert_uint_eq(lines + 1, 9);
	free(s);
}
END_TEST

START_TEST(console_quiet_prints_only_the_summary)
{
	char *s = render(CONSOLE_QUIET, 0, 1);
	ck_assert_ptr_null(strstr(s, "PASS  rfc1939/stat/counts"));
	ck_assert(strncmp(s, "Failed:\n", 8) == 0);
	ck_assert_ptr_nonnull(strstr(s, "Warnings (failing: --strict):"));
	ck_assert_ptr_nonnull(strstr(s, "9 scenarios: 4 passed"));
	free(s);
}
END_TEST

START_TEST(console_colour_marks_verdicts)
{
	char *s = render(CONSOLE_NORMAL, 1, 0);
	ck_assert_ptr_nonnull(strstr(s, "\033[32mPASS \033[0m rfc1939/stat/counts"));
	ck_assert_ptr_nonnull(strstr(s, "\033[1;31mFAIL \033[0m"));
	/* the server's own ESC is still shown as text, never sent raw */
	ck_assert_ptr_nonnull(strstr(s, "\\x1B[31mred"));
	free(s);
}
END_TEST

/* Colour and progress are decided by isatty: use a real pseudo-terminal as stdout. */
START_TEST(console_colour_follows_terminal_and_no_color)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	ck_assert_int_ge(m, 0);
	ck_assert_int_eq(grantpt(m), 0);
	ck_assert_int_eq(unlockpt(m), 0);
	int sl = open(ptsname(m), O_RDWR | O_NOCTTY);
	ck_assert_int_ge(sl, 0);
	fflush(stdout);
	int saved = dup(1);
	dup2(sl, 1);
	struct console c;
	unsetenv("NO_COLOR");
	console_init(&c, CONSOLE_NORMAL, 3);
	int tty_colour = c.colour;
	setenv("NO_COLOR", "1", 1);
	console_init(&c, CONSOLE_NORMAL, 3);
	int no_color = c.colour;
	setenv("NO_COLOR", "", 1); /* no-color.org: only a non-empty value counts */
	console_init(&c, CONSOLE_NORMAL, 3);
	int empty = c.colour;
	unsetenv("NO_COLOR");
	/* not a terminal: no colour */
	int fd = open("/dev/null", O_WRONLY);
	dup2(fd, 1);
	close(fd);
	console_init(&c, CONSOLE_NORMAL, 3);
	int devnull = c.colour;
	dup2(saved, 1);
	close(saved);
	ck_assert_int_eq(tty_colour, 1);
	ck_assert_int_eq(no_color, 0);
	ck_assert_int_eq(empty, 1);
	ck_assert_int_eq(devnull, 0);

	/* progress on a terminal: "[done/total] id" on the progress stream, cleared before a result */
	FILE *prog = fdopen(sl, "w");
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct run run;
	rd_run(&run, NULL);
	console_init(&c, CONSOLE_NORMAL, 2);
	c.out = out;
	c.progress = prog;
	console_start(&c, run.results[0].id);
	console_result(&c, &run.results[0]);
	console_start(&c, run.results[1].id);
	fflush(prog);
	char got[512] = "";
	size_t have = 0;
	fcntl(m, F_SETFL, O_NONBLOCK);
	for (int tries = 0; tries < 50 && !strstr(got, "long-transcript"); tries++) {
		ssize_t n = read(m, got + have, sizeof got - 1 - have);
		if (n > 0) {
			have += (size_t)n;
			got[have] = '\0';
		} else {
			usleep(10000);
		}
	}
	ck_assert_msg(strstr(got, "[0/2] rfc1939/dele/marked-not-retrievable") != NULL, "%s", got);
	ck_assert_msg(strstr(got, "\r\033[K[1/2] rfc1939/retr/long-transcript") != NULL, "%s", got);
	/* -v: the executor prints the live transcript on stderr; no progress line to interleave with it */
	console_init(&c, CONSOLE_VERBOSE, 2);
	c.progress = prog;
	console_start(&c, run.results[0].id);
	fflush(prog);
	usleep(20000);
	ck_assert_int_le(read(m, got, sizeof got - 1), 0);
	fclose(out);
	free(buf);
	fclose(prog);
	close(m);
	run_free(&run);
}
END_TEST

/* The executor already names a check's requirement at the end of the reason when it is not one of the
 * scenario's refs ("... [R1939-GEN-9]"); the summary names it once. */
START_TEST(console_names_a_requirement_once)
{
	struct run run;
	rd_run(&run, NULL);
	struct result *r = &run.results[0]; /* a failed one */
	ck_assert_int_eq(r->status, VERDICT_FAIL);
	free(r->message);
	free(r->failed_ref);
	r->message = strdup("step 1 (connect: plain): expected a well-formed response line, got: status "
	                    "indicator not in upper case: +ok hi [R1939-GEN-9]");
	r->failed_ref = strdup("R1939-GEN-9");
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct console c;
	console_init(&c, CONSOLE_QUIET, run.nresults);
	c.out = out;
	c.progress = out;
	c.colour = 0;
	console_summary(&c, &run);
	fclose(out);
	ck_assert_msg(strstr(buf, "+ok hi [R1939-GEN-9]\n") != NULL, "%s", buf);
	ck_assert_ptr_null(strstr(buf, "[R1939-GEN-9] [R1939-GEN-9]"));
	/* A reason naming another id keeps the failed requirement beside it. */
	ck_assert_ptr_nonnull(strstr(buf, "line not CRLF-terminated [R1939-GEN-6]\n"));
	free(buf);
	run_free(&run);
}
END_TEST

Suite *report_console_suite(void)
{
	Suite *s = suite_create("report_console");
	TCase *tc = tcase_create("console");
	tcase_add_test(tc, console_prints_a_line_per_scenario_and_a_summary);
	tcase_add_test(tc, console_quiet_prints_only_the_summary);
	tcase_add_test(tc, console_colour_marks_verdicts);
	tcase_add_test(tc, console_names_a_requirement_once);
	tcase_add_test(tc, console_colour_follows_terminal_and_no_color);
	suite_add_tcase(s, tc);
	return s;
}
