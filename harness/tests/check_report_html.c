/* check_report_html.c — unit tests for the HTML reports: every scenario present with its anchor, server
 * text escaped, nothing fetched from a network, requirement texts shown, the comparison's links resolve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>
#include "runner/report/report.h"
#include "runner/report/util.h"
#include "check_report_data.h"

Suite *report_html_suite(void);

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* A REQUIREMENTS.md-format file with two rows, one with an escaped '|' and `code`. */
static char *requirements_file(void)
{
	char *path = rd_tmpname(".md");
	FILE *f = fopen(path, "w");
	fputs("# catalog\n\n| ID | RFC § | Level | Requirement | Black-box observation | Needs |\n"
	      "|---|---|---|---|---|---|\n"
	      "| R1939-DELE-3 | 1939 §5 | MUST\\* | A deleted message gets `-ERR` on RETR \\| TOP. | obs | — "
	      "|\n"
	      "| R1939-GEN-6 | 1939 §3 | MUST\\* | Every line ends in CRLF <b>really</b>. | obs | — |\n",
	      f);
	fclose(f);
	return path;
}

static void assert_clean_utf8(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned cp;
		size_t k = utf8_seq((const unsigned char *)s + i, len - i, &cp);
		/* plain ifs: a Check assertion per character costs a write each */
		if (k == 0)
			ck_abort_msg("invalid UTF-8 at offset %zu", i);
		if (cp < 0x20 && cp != '\n' && cp != '\t')
			ck_abort_msg("control U+%04X at offset %zu", cp, i);
		i += k;
	}
}

START_TEST(html_has_every_scenario_and_escapes_server_text)
{
	struct run run;
	struct p3err err;
	size_t len;
	char *path = rd_tmpname(".html"), *req = requirements_file();
	rd_run(&run, NULL);
	ck_assert_msg(report_html_write(&run, req, path, &err) == 0, "%s", err.msg);
	char *h = rd_slurp(path, &len);
	ck_assert_ptr_nonnull(h);
	assert_clean_utf8(h, len);
	for (size_t i = 0; i < run.nresults; i++) {
		char want[256];
		snprintf(want, sizeof want, "id=\"%s\"", run.results[i].id);
		ck_assert_msg(count(h, want) == 1, "%s: %zu anchors", want, count(h, want));
		snprintf(want, sizeof want, "href=\"#%s\"", run.results[i].id);
		ck_assert_msg(strstr(h, want) != NULL, "no permalink %s", want);
	}
	/* exactly one script element, ours; the server's is text */
	ck_assert_uint_eq(count(h, "<script"), 1);
	ck_assert_uint_eq(count(h, "</script>"), 1);
	ck_assert_ptr_nonnull(strstr(h, "+OK 120 octets &lt;script&gt;alert(1)&lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(h, "IMPLEMENTATION pop3refd &lt;b&gt;0.1&lt;/b&gt;"));
	ck_assert_ptr_nonnull(strstr(h, "red\\xFF\\xFE ]]&gt; &amp; &lt;b&gt;"));
	ck_assert_ptr_nonnull(strstr(h, "&quot;quotes&quot; &#39;too&#39;"));
	/* self-contained: nothing to fetch */
	ck_assert_ptr_null(strstr(h, "http://"));
	ck_assert_ptr_null(strstr(h, "https://"));
	ck_assert_ptr_null(strstr(h, " src="));
	ck_assert_ptr_null(strstr(h, "<link"));
	/* header facts */
	ck_assert_ptr_nonnull(strstr(h, "+OK POP3 ready &lt;1896.697170952@dbc.mtview.ca.us&gt;"));
	ck_assert_ptr_nonnull(strstr(h, "2026-11-01T12:00:00Z"));
	ck_assert_ptr_nonnull(strstr(h, "6.30 s"));
	/* requirement texts with section and level; markdown `code` and \| undone; html in it escaped */
	ck_assert_ptr_nonnull(
	    strstr(h, "(RFC 1939 §5, <span class=\"rlvl\">MUST*</span>)</span> A deleted message gets "
	              "<code>-ERR</code> on RETR | TOP."));
	ck_assert_ptr_nonnull(strstr(h, "Every line ends in CRLF &lt;b&gt;really&lt;/b&gt;."));
	/* failure details; the failing check's requirement listed even when the scenario does not cite it */
	ck_assert_ptr_nonnull(strstr(h, "<dt>Step</dt><dd>step 4 (send: RETR 1)</dd>"));
	ck_assert_ptr_nonnull(strstr(h, "<li class=\"failing\"><code>R1939-GEN-6</code>"));
	/* the long transcript whole; client, server and note lines styled apart; TLS marked */
	ck_assert_ptr_nonnull(strstr(h, "line 04999 of the message"));
	ck_assert_ptr_nonnull(strstr(h, "<tr class=\"k-c\">"));
	ck_assert_ptr_nonnull(strstr(h, "<tr class=\"k-s\">"));
	ck_assert_ptr_nonnull(strstr(h, "<tr class=\"k-n tls\">"));
	ck_assert_ptr_nonnull(strstr(h, "<td class=\"ss\">other</td>"));
	free(h);
	run_free(&run);
	unlink(path);
	unlink(req);
	free(path);
	free(req);
}
END_TEST

/* A check may name several requirements: each is marked, the uncited ones added one by one. */
START_TEST(html_marks_each_of_several_failing_requirements)
{
	struct run run;
	struct p3err err;
	char *path = rd_tmpname(".html");
	rd_run(&run, NULL);
	free(run.results[0].failed_ref);
	run.results[0].failed_ref = strdup("R1939-RETR-2, R1939-GEN-7");
	ck_assert_int_eq(report_html_write(&run, NULL, path, &err), 0);
	char *h = rd_slurp(path, NULL);
	ck_assert_ptr_nonnull(strstr(h, "<li><code>R1939-DELE-3</code>"));
	ck_assert_ptr_nonnull(strstr(h, "<li class=\"failing\"><code>R1939-RETR-2</code>"));
	ck_assert_ptr_nonnull(strstr(h, "<li class=\"failing\"><code>R1939-GEN-7</code>"));
	ck_assert_ptr_null(strstr(h, "<code>R1939-RETR-2, R1939-GEN-7</code> <em>"));
	free(h);
	run_free(&run);
	unlink(path);
	free(path);
}
END_TEST

/* Failed first, then errors, warnings, skips, passes; failures open, passes closed. */
START_TEST(html_orders_failed_first_and_opens_them)
{
	struct run run;
	struct p3err err;
	char *path = rd_tmpname(".html");
	rd_run(&run, NULL);
	ck_assert_int_eq(report_html_write(&run, NULL, path, &err), 0);
	char *h = rd_slurp(path, NULL);
	const char *f1 = strstr(h, "id=\"rfc1939/dele/marked-not-retrievable\"");
	const char *f2 = strstr(h, "id=\"robustness/long-line\"");
	const char *e = strstr(h, "id=\"rfc5034/auth/plain-initial\"");
	const char *w = strstr(h, "id=\"rfc2449/capa/lines-max-512\"");
	const char *s = strstr(h, "id=\"rfc2595/stls/once\"");
	const char *p = strstr(h, "id=\"lonely\"");
	ck_assert(f1 && f2 && e && w && s && p);
	ck_assert(f1 < f2 && f2 < e && e < w && w < s && s < p);
	ck_assert_ptr_nonnull(strstr(h, "data-tags=\"dele retr\" open>"));
	ck_assert_ptr_nonnull(
	    strstr(h, "id=\"lonely\" data-verdict=\"pass\" data-group=\"other\" data-tags=\"\">"));
	/* the matrix links each non-empty cell to its scenarios */
	ck_assert_ptr_nonnull(
	    strstr(h, "href=\"#_fail-rfc1939\" data-filter=\"verdict=fail&amp;group=rfc1939\">1<"));
	ck_assert_ptr_nonnull(strstr(h, "<span id=\"_fail-rfc1939\"></span>"));
	/* without requirement texts: the ids only, and no complaint */
	ck_assert_ptr_null(strstr(h, "Requirement texts unavailable"));
	free(h);
	run_free(&run);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(html_with_unreadable_requirements_still_writes)
{
	struct run run;
	struct p3err err;
	char *path = rd_tmpname(".html");
	rd_run(&run, NULL);
	ck_assert_int_eq(report_html_write(&run, "/nonexistent/REQUIREMENTS.md", path, &err), 0);
	char *h = rd_slurp(path, NULL);
	ck_assert_ptr_nonnull(strstr(h, "Requirement texts unavailable: /nonexistent/REQUIREMENTS.md"));
	free(h);
	run_free(&run);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(html_of_an_empty_run)
{
	struct run run = {0};
	struct p3err err;
	char *path = rd_tmpname(".html");
	run.info.target_name = strdup("<none>");
	ck_assert_int_eq(report_html_write(&run, NULL, path, &err), 0);
	char *h = rd_slurp(path, NULL);
	ck_assert_ptr_nonnull(strstr(h, "No scenario ran."));
	ck_assert_ptr_nonnull(strstr(h, "<title>pop3spec: &lt;none&gt;</title>"));
	free(h);
	run_free(&run);
	unlink(path);
	free(path);
}
END_TEST

/* Every verdict cell links to a transcript that exists in the same file. */
START_TEST(compare_links_every_cell_to_a_transcript)
{
	struct run runs[3];
	struct p3err err;
	size_t len;
	char *path = rd_tmpname(".html");
	rd_run(&runs[0], "refd");
	rd_run(&runs[1], "dovecot");
	rd_run(&runs[2], "dovecot");
	runs[1].results[5].status = VERDICT_FAIL;
	result_free(&runs[2].results[--runs[2].nresults]); /* rfc6856/utf8/body not run there */
	ck_assert_msg(report_html_compare(runs, 3, NULL, path, &err) == 0, "%s", err.msg);
	char *h = rd_slurp(path, &len);
	assert_clean_utf8(h, len);
	ck_assert_ptr_nonnull(strstr(h, "dovecot (#2)"));
	ck_assert_ptr_nonnull(strstr(h, "dovecot (#3)"));
	size_t links = 0;
	for (const char *p = h; (p = strstr(p, "<td class=\"c\"><a href=\"#")); p++) {
		const char *start = p + strlen("<td class=\"c\"><a href=\"#");
		const char *end = strchr(start, '"');
		char want[300];
		snprintf(want, sizeof want, "id=\"%.*s\"", (int)(end - start), start);
		ck_assert_msg(strstr(h, want) != NULL, "link %s has no target", want);
		links++;
	}
	ck_assert_uint_eq(links, 9 + 9 + 8);
	ck_assert_uint_eq(count(h, "title=\"not run\""), 1);
	/* the row where the servers differ is marked so, an equal one not */
	ck_assert_ptr_nonnull(
	    strstr(h, "<tr id=\"rfc1939/stat/counts\" data-verdict=\"pass fail\" data-differs=\"1\""));
	ck_assert_ptr_nonnull(
	    strstr(h, "<tr id=\"rfc2595/stls/once\" data-verdict=\"skip\" data-differs=\"0\""));
	/* scores: refd passes 4 of the 8 that ran (one skipped) */
	ck_assert_ptr_nonnull(strstr(h, ">4/8 (50%)<"));
	ck_assert_ptr_nonnull(strstr(h, ">3/8 (37%)<"));
	ck_assert_uint_eq(count(h, "<script"), 1);
	ck_assert_ptr_null(strstr(h, "http://"));
	free(h);
	for (int i = 0; i < 3; i++)
		run_free(&runs[i]);
	unlink(path);
	free(path);
}
END_TEST

/* Client runs (`pop3spec client run`) compare as clients: their heading, no Host or Greeting column (the
 * host is pop3spec's own listener); a mix with a server run stays a server comparison. */
START_TEST(compare_of_client_runs_names_clients)
{
	struct run runs[2];
	struct p3err err;
	char *path = rd_tmpname(".html");
	rd_run(&runs[0], "fetchmail");
	rd_run(&runs[1], "mpop");
	for (int i = 0; i < 2; i++)
		runs[i].info.mode = strdup("client");
	ck_assert_msg(report_html_compare(runs, 2, NULL, path, &err) == 0, "%s", err.msg);
	char *h = rd_slurp(path, NULL);
	ck_assert_ptr_nonnull(strstr(h, "<h1>POP3 conformance: 2 clients compared</h1>"));
	ck_assert_ptr_nonnull(strstr(h, "<th>Client</th><th>Date</th>"));
	ck_assert_ptr_null(strstr(h, "<th>Host</th>"));
	free(h);
	free(runs[1].info.mode);
	runs[1].info.mode = NULL;
	ck_assert_msg(report_html_compare(runs, 2, NULL, path, &err) == 0, "%s", err.msg);
	h = rd_slurp(path, NULL);
	ck_assert_ptr_nonnull(strstr(h, "<h1>POP3 conformance: 2 servers compared</h1>"));
	ck_assert_ptr_nonnull(strstr(h, "<th>Host</th>"));
	free(h);
	for (int i = 0; i < 2; i++)
		run_free(&runs[i]);
	unlink(path);
	free(path);
}
END_TEST

Suite *report_html_suite(void)
{
	Suite *s = suite_create("report_html");
	TCase *tc = tcase_create("html");
	tcase_add_test(tc, html_has_every_scenario_and_escapes_server_text);
	tcase_add_test(tc, html_orders_failed_first_and_opens_them);
	tcase_add_test(tc, html_marks_each_of_several_failing_requirements);
	tcase_add_test(tc, html_with_unreadable_requirements_still_writes);
	tcase_add_test(tc, html_of_an_empty_run);
	tcase_add_test(tc, compare_of_client_runs_names_clients);
	tcase_add_test(tc, compare_links_every_cell_to_a_transcript);
	suite_add_tcase(s, tc);
	return s;
}
