/* check_cli.c — unit tests for pop3spec's option parsing (runner/cli_args.c): long and short forms, values
 * given either way, repeatable options, options recorded for the report, and usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>
#include "runner/cli.h"

Suite *cli_suite(void);

static struct cli c;

static int parse(enum cli_cmd cmd, int argc, char **argv, struct p3err *err)
{
	return cli_parse(cmd, argc, argv, &c, err);
}

START_TEST(run_options)
{
	char *argv[] = {"scenarios/rfc1939",
	                "--target",
	                "a.yaml",
	                "--target=b.yaml",
	                "--filter",
	                "rfc1939/*",
	                "--filter=x",
	                "--tag",
	                "dele",
	                "-j4",
	                "-qv",
	                "--json",
	                "r.json",
	                "--junit",
	                "-",
	                "--html",
	                "r.html",
	                "--strict",
	                "--timeout",
	                "2.5",
	                "--baseline",
	                "b.json",
	                "--shard",
	                "2/3",
	                "--all",
	                "--reference",
	                "--",
	                "--odd-path"};
	struct p3err err = {0};
	ck_assert_msg(parse(CMD_RUN, (int)(sizeof argv / sizeof argv[0]), argv, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(c.npaths, 2);
	ck_assert_str_eq(c.paths[0], "scenarios/rfc1939");
	ck_assert_str_eq(c.paths[1], "--odd-path");
	ck_assert_uint_eq(c.ntargets, 2);
	ck_assert_str_eq(c.targets[1], "b.yaml");
	ck_assert_uint_eq(c.nfilters, 2);
	ck_assert_str_eq(c.filters[1], "x");
	ck_assert_uint_eq(c.ntags, 1);
	ck_assert_int_eq(c.jobs, 4);
	ck_assert_int_eq(c.verbosity, 2); /* -q then -v: the last wins */
	ck_assert_str_eq(c.json, "r.json");
	ck_assert_str_eq(c.junit, "-");
	ck_assert_str_eq(c.html, "r.html");
	ck_assert(c.strict && c.all && c.reference);
	ck_assert(c.timeout == 2.5);
	ck_assert_str_eq(c.baseline, "b.json");
	ck_assert_int_eq(c.shard_index, 2);
	ck_assert_int_eq(c.shard_count, 3);
	ck_assert_msg(strncmp(c.options,
	                      "scenarios/rfc1939 --target a.yaml --target=b.yaml --filter 'rfc1939/*'",
	                      70) == 0,
	              "%s", c.options);
}
END_TEST

START_TEST(defaults)
{
	struct p3err err = {0};
	ck_assert_int_eq(parse(CMD_RUN, 0, NULL, &err), 0);
	ck_assert_int_eq(c.jobs, 0); /* from the target's accounts, at run time (exec_default_jobs) */
	ck_assert(c.timeout == 5);
	ck_assert_int_eq(c.verbosity, 1);
	ck_assert_int_eq(c.shard_index, 0);
	ck_assert_uint_eq(c.npaths, 0);
	char *argv[] = {"-j", "8"};
	ck_assert_int_eq(parse(CMD_RUN, 2, argv, &err), 0);
	ck_assert_int_eq(c.jobs, 8);
}
END_TEST

START_TEST(usage_errors)
{
	static const struct {
		enum cli_cmd cmd;
		const char *arg1, *arg2;
		const char *msg;
	} cases[] = {
	    {CMD_RUN, "--colour", NULL, "unknown option '--colour'"},
	    {CMD_RUN, "-x", NULL, "unknown option '-x'"},
	    {CMD_RUN, "--target", NULL, "option --target needs a value"},
	    {CMD_RUN, "-j", NULL, "option -j needs a value"},
	    {CMD_RUN, "-j", "0", "bad -j '0'; expected a number of workers from 1 to 256"},
	    {CMD_RUN, "--jobs=many", NULL, "bad -j 'many'; expected a number of workers from 1 to 256"},
	    {CMD_RUN, "--timeout", "-1", "bad --timeout '-1'; expected seconds, more than 0"},
	    {CMD_RUN, "--shard", "3/2", "bad --shard '3/2'; expected I/N with 1 <= I <= N, such as 2/4"},
	    {CMD_RUN, "--strict=yes", NULL, "option --strict takes no value"},
	    {CMD_LIST, "--json", "x", "option --json does not go with 'list'"},
	    {CMD_CHECK, "--target", "x", "option --target does not go with 'check'"},
	    {CMD_COVERAGE, "-j", "2", "option --jobs does not go with 'coverage'"},
	    {CMD_RUN, "--allow-partial", NULL, "option --allow-partial does not go with 'run'"},
	    {CMD_REPORT, "--redact", NULL, "option --redact does not go with 'report'"},
	    {CMD_RUN, "--rerun-failed", NULL, "option --rerun-failed needs a value"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[] = {(char *)cases[i].arg1, (char *)cases[i].arg2};
		struct p3err err = {0};
		ck_assert_int_eq(parse(cases[i].cmd, cases[i].arg2 ? 2 : 1, argv, &err), -1);
		ck_assert_str_eq(err.msg, cases[i].msg);
	}
}
END_TEST

/* The new options, and the checks run makes of report paths before anything runs. */
START_TEST(redact_rerun_partial_and_report_paths)
{
	char *argv[] = {"--redact", "--rerun-failed=r.json", "--json", "-", "--html", "-"};
	struct p3err err = {0};
	ck_assert_msg(parse(CMD_RUN, 6, argv, &err) == 0, "%s", err.msg);
	ck_assert(c.redact);
	ck_assert_str_eq(c.rerun_failed, "r.json");
	ck_assert_int_eq(cli_reports_on_stdout(&c), 2);
	char *margv[] = {"--merge", "--allow-partial", "a.json"};
	ck_assert_msg(parse(CMD_REPORT, 3, margv, &err) == 0, "%s", err.msg);
	ck_assert(c.allow_partial && c.merge);
	ck_assert_int_eq(cli_reports_on_stdout(&c), 0);

	char dir[] = "/tmp/check-cli-XXXXXX", path[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/r.html", dir);
	ck_assert_msg(cli_check_output(path, &err) == 0, "%s", err.msg);
	ck_assert_int_ne(access(path, F_OK), 0); /* created and removed again */
	ck_assert_int_eq(cli_check_output("-", &err), 0);
	ck_assert_int_eq(cli_check_output(dir, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "it is a folder"));
	ck_assert_int_eq(cli_check_output("/nonexistent/dir/r.html", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "No such file or directory"));
	FILE *f = fopen(path, "w"); /* an existing report is kept as it is until the run writes it */
	ck_assert_ptr_nonnull(f);
	fputs("old", f);
	fclose(f);
	ck_assert_int_eq(cli_check_output(path, &err), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, run_options);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tc, redact_rerun_partial_and_report_paths);
	suite_add_tcase(s, tc);
	return s;
}
