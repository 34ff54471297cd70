/* check_report_junit.c — unit tests for the JUnit writer: well-formed, valid against
 * harness/tests/junit/junit.xsd, counts read back by an independent parser (validate.sh: xmllint and
 * Python's xml.etree), and hostile text escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <check.h>
#include "runner/report/report.h"
#include "runner/report/util.h"
#include "check_report_data.h"

Suite *report_junit_suite(void);

/* The validator lives in the source tree; tests run from its top (make unit) or POP3SPEC_SRCDIR. */
static const char *validator(void)
{
	static char path[4096];
	const char *top = getenv("POP3SPEC_SRCDIR");
	snprintf(path, sizeof path, "%s/harness/tests/junit/validate.sh", top ? top : ".");
	ck_assert_msg(access(path, X_OK) == 0,
	              "%s not found: run from the source tree or set POP3SPEC_SRCDIR", path);
	return path;
}

/* validate.sh's exit status, its output line in out. */
static int validate(const char *file, const char *expect, char *out, size_t outsize)
{
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "'%s' %s%s '%s' 2>&1", validator(), expect ? "--expect " : "",
	         expect ? expect : "", file);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, outsize - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(junit_is_valid_and_counts_read_back)
{
	struct run run;
	struct p3err err;
	char out[4096], *path = rd_tmpname(".xml");
	rd_run(&run, NULL);
	ck_assert_int_eq(report_junit_write(&run, path, &err), 0);
	/* 9 tests; fail ×2 as failures, error ×1 as an error, skip ×1; the warning passes */
	ck_assert_msg(validate(path, "9,2,1,1", out, sizeof out) == 0, "%s", out);
	ck_assert_msg(strstr(out, "7 suites, 9 tests") != NULL, "%s", out);
	run_free(&run);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(junit_strict_makes_a_warning_a_failure)
{
	struct run run;
	struct p3err err;
	char out[4096], *path = rd_tmpname(".xml");
	rd_run(&run, NULL);
	run.info.strict = 1;
	ck_assert_int_eq(report_junit_write(&run, path, &err), 0);
	ck_assert_msg(validate(path, "9,3,1,1", out, sizeof out) == 0, "%s", out);
	char *xml = rd_slurp(path, NULL);
	ck_assert_ptr_nonnull(strstr(xml, "type=\"warn\""));
	free(xml);
	run_free(&run);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(junit_of_an_empty_run_is_valid)
{
	struct run run = {0};
	struct p3err err;
	char out[4096], *path = rd_tmpname(".xml");
	run.info.target_name = strdup("empty");
	ck_assert_int_eq(report_junit_write(&run, path, &err), 0);
	ck_assert_msg(validate(path, "0,0,0,0", out, sizeof out) == 0, "%s", out);
	run_free(&run);
	unlink(path);
	free(path);
}
END_TEST

/* The validator itself must be able to say no. */
START_TEST(validator_rejects_wrong_reports)
{
	char out[4096], *path = rd_tmpname(".xml");
	const char *bad[] = {
	    /* claims one failure, has none */
	    "<testsuites><testsuite name=\"a\" tests=\"1\" failures=\"1\"><testcase classname=\"a\" "
	    "name=\"x\"/>"
	    "</testsuite></testsuites>",
	    /* testcase without a name: invalid against the XSD */
	    "<testsuites><testsuite name=\"a\" tests=\"1\"><testcase "
	    "classname=\"a\"/></testsuite></testsuites>",
	    /* not well-formed */
	    "<testsuites><testsuite name=\"a\" tests=\"1\">",
	    /* a negative time */
	    "<testsuites><testsuite name=\"a\" tests=\"1\"><testcase classname=\"a\" name=\"x\" time=\"-1\"/>"
	    "</testsuite></testsuites>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		FILE *f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		ck_assert_msg(validate(path, NULL, out, sizeof out) != 0, "case %zu accepted: %s", i, out);
	}
	/* and --expect catches a count that differs */
	struct run run;
	struct p3err err;
	rd_run(&run, NULL);
	ck_assert_int_eq(report_junit_write(&run, path, &err), 0);
	ck_assert_int_ne(validate(path, "9,1,1,1", out, sizeof out), 0);
	run_free(&run);
	unlink(path);
	free(path);
}
END_TEST

/* No byte XML 1.0 forbids, nothing unescaped from the server, all UTF-8. */
START_TEST(junit_escapes_hostile_text)
{
	struct run run;
	struct p3err err;
	size_t len;
	char *path = rd_tmpname(".xml");
	rd_run(&run, NULL);
	ck_assert_int_eq(report_junit_write(&run, path, &err), 0);
	char *xml = rd_slurp(path, &len);
	ck_assert_ptr_nonnull(xml);
	const unsigned char *p = (const unsigned char *)xml;
	for (size_t i = 0; i < len;) {
		unsigned cp;
		size_t k = utf8_seq(p + i, len - i, &cp);
		/* plain ifs: a Check assertion per character costs a write each */
		if (k == 0)
			ck_abort_msg("invalid UTF-8 at offset %zu", i);
		if (cp < 0x20 && cp != '\n' && cp != '\t')
			ck_abort_msg("control U+%04X at offset %zu", cp, i);
		if (cp == 0xFFFF || cp == 0xFFFE)
			ck_abort_msg("non-character at offset %zu", i);
		i += k;
	}
	ck_assert_ptr_null(strstr(xml, "<script>"));
	ck_assert_ptr_null(strstr(xml, "]]>"));
	ck_assert_ptr_nonnull(strstr(xml, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(xml, "red\\xFF\\xFE ]]&gt; &amp; &lt;b&gt;"));
	ck_assert_ptr_nonnull(strstr(xml, "\\x01\\x1B[31m"));
	ck_assert_ptr_nonnull(strstr(xml, "timeout \\x02\\xEF\\xBF\\xBF]]&gt;"));
	ck_assert_ptr_nonnull(strstr(xml, "&quot;quotes&quot; &#39;too&#39;"));
	ck_assert_ptr_nonnull(strstr(xml, "Grüße ☃"));
	/* the transcript, whole, in system-out */
	ck_assert_ptr_nonnull(strstr(xml, "line 04999 of the message"));
	ck_assert_ptr_nonnull(strstr(xml, "<skipped message=\"unsupported: STLS\"/>"));
	ck_assert_ptr_nonnull(strstr(xml, "<error message=\"timeout after 5 s"));
	ck_assert_ptr_nonnull(strstr(xml, "<system-err>WARN"));
	ck_assert_ptr_nonnull(strstr(xml,
	                             "classname=\"rfc1939\" name=\"rfc1939/dele/marked-not-retrievable\" "
	                             "time=\"0.042\""));
	free(xml);
	run_free(&run);
	unlink(path);
	free(path);
}
END_TEST

Suite *report_junit_suite(void)
{
	Suite *s = suite_create("report_junit");
	TCase *tc = tcase_create("junit");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, junit_is_valid_and_counts_read_back);
	tcase_add_test(tc, junit_strict_makes_a_warning_a_failure);
	tcase_add_test(tc, junit_of_an_empty_run_is_valid);
	tcase_add_test(tc, validator_rejects_wrong_reports);
	tcase_add_test(tc, junit_escapes_hostile_text);
	suite_add_tcase(s, tc);
	return s;
}
