/* check_report.c — unit tests for result.c and the JSON, merge and baseline parts of runner/report:
 * verdict names, groups, the JSON contract and its exact read-back, merging shards, baselines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>
#include <jansson.h>
#include "runner/result.h"
#include "runner/report/report.h"
#include "check_report_data.h"

static void shard(struct run *r, int idx, int count)
{
	r->info.shard_index = idx;
	r->info.shard_count = count;
}

/* report --merge refuses a set that is not one whole run: a shard missing or twice, shards of different
 * counts, sharded and unsharded reports, different suites, an incomplete report. */
START_TEST(merge_check_refuses_partial_sets)
{
	size_t a[] = {0, 1}, b[] = {2, 3}, c[] = {4, 5};
	struct run r[3];
	char why[300];
	rd_run_subset(&r[0], NULL, a, 2);
	rd_run_subset(&r[1], NULL, b, 2);
	rd_run_subset(&r[2], NULL, c, 2);
	/* unsharded reports (say, two filters) merge as before */
	ck_assert_msg(report_merge_check(r, 3, why, sizeof why) == 0, "%s", why);
	shard(&r[0], 1, 3);
	shard(&r[1], 2, 3);
	shard(&r[2], 3, 3);
	ck_assert_msg(report_merge_check(r, 3, why, sizeof why) == 0, "%s", why);
	ck_assert_int_eq(report_merge_check(r, 2, why, sizeof why), -1);
	ck_assert_msg(strstr(why, "1 of the 3 shards is missing (shard 3/3)"), "%s", why);
	shard(&r[2], 2, 3);
	ck_assert_int_eq(report_merge_check(r, 3, why, sizeof why), -1);
	ck_assert_msg(strstr(why, "shard 2/3 is given twice"), "%s", why);
	shard(&r[2], 3, 4);
	ck_assert_int_eq(report_merge_check(r, 3, why, sizeof why), -1);
	ck_assert_msg(strstr(why, "not shards of one run"), "%s", why);
	shard(&r[2], 0, 0);
	ck_assert_int_eq(report_merge_check(r, 3, why, sizeof why), -1);
	/* the options string stands in for the field in older reports */
	free(r[2].info.options);
	r[2].info.options = strdup("--reference --shard=3/3");
	ck_assert_msg(report_merge_check(r, 3, why, sizeof why) == 0, "%s", why);
	r[1].info.incomplete = 1;
	r[1].info.not_run = 7;
	ck_assert_int_eq(report_merge_check(r, 3, why, sizeof why), -1);
	ck_assert_msg(strstr(why, "report 2 of 3 is incomplete"), "%s", why);
	r[1].info.incomplete = 0;
	free(r[1].info.suite_version);
	r[1].info.suite_version = strdup("0.0-other");
	ck_assert_int_eq(report_merge_check(r, 3, why, sizeof why), -1);
	ck_assert_msg(strstr(why, "different suites"), "%s", why);
	for (int i = 0; i < 3; i++)
		run_free(&r[i]);
}
END_TEST

/* incomplete, stopped, not_run, shard and redacted are written and read back. */
START_TEST(json_carries_the_stop_fields)
{
	struct run run, back;
	struct p3err err;
	char path[] = "/tmp/check-report-stop-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	rd_run(&run, NULL);
	run.info.incomplete = 1;
	run.info.not_run = 12;
	run.info.stopped = strdup("interrupted (SIGINT)");
	shard(&run, 2, 5);
	run.info.redacted = 1;
	ck_assert_msg(report_json_write(&run, path, &err) == 0, "%s", err.msg);
	ck_assert_msg(report_json_read(path, &back, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(back.info.incomplete, 1);
	ck_assert_uint_eq(back.info.not_run, 12);
	ck_assert_str_eq(back.info.stopped, "interrupted (SIGINT)");
	ck_assert_int_eq(back.info.shard_index, 2);
	ck_assert_int_eq(back.info.shard_count, 5);
	ck_assert_int_eq(back.info.redacted, 1);
	run_free(&back);
	run_free(&run);
	/* a complete run says so */
	rd_run(&run, NULL);
	ck_assert_msg(report_json_write(&run, path, &err) == 0, "%s", err.msg);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_false(json_object_get(j, "incomplete")));
	ck_assert_ptr_null(json_object_get(j, "stopped"));
	ck_assert_ptr_null(json_object_get(j, "shard"));
	json_decref(j);
	run_free(&run);
	unlink(path);
}
END_TEST

Suite *report_suite(void);

static struct result *by_id(struct run *run, const char *id)
{
	for (size_t i = 0; i < run->nresults; i++)
		if (strcmp(run->results[i].id, id) == 0)
			return &run->results[i];
	ck_abort_msg("no result %s", id);
	return NULL;
}

START_TEST(verdict_names_round_trip)
{
	const char *names[] = {"pass", "fail", "warn", "skip", "error"};
	for (int v = VERDICT_PASS; v <= VERDICT_ERROR; v++) {
		ck_assert_str_eq(verdict_name((enum verdict)v), names[v]);
		ck_assert_int_eq(verdict_from_name(names[v]), v);
	}
	ck_assert_int_eq(verdict_from_name("PASS"), -1);
	ck_assert_int_eq(verdict_from_name("passed"), -1);
	ck_assert_int_eq(verdict_from_name(NULL), -1);
}
END_TEST

START_TEST(groups_of_ids)
{
	char b[16];
	ck_assert_str_eq(result_group("rfc1939/dele/x", b, sizeof b), "rfc1939");
	ck_assert_str_eq(result_group("robustness/long", b, sizeof b), "robustness");
	ck_assert_str_eq(result_group("lonely", b, sizeof b), "other");
	ck_assert_str_eq(result_group("/x", b, sizeof b), "other");
	ck_assert_str_eq(result_group(NULL, b, sizeof b), "other");
	/* bounded: a long first part is cut to the buffer */
	ck_assert_str_eq(result_group("abcdefghijklmnopqrstuvwxyz/x", b, sizeof b), "abcdefghijklmno");
}
END_TEST

START_TEST(summary_counts_every_verdict)
{
	struct run run;
	struct run_summary s;
	rd_run(&run, NULL);
	run_summarize(&run, &s);
	ck_assert_uint_eq(s.passed, 4);
	ck_assert_uint_eq(s.failed, 2);
	ck_assert_uint_eq(s.warnings, 1);
	ck_assert_uint_eq(s.skipped, 1);
	ck_assert_uint_eq(s.errors, 1);
	run_free(&run);
	ck_assert_ptr_null(run.results);
}
END_TEST

/* Many failures with one cause are said once: at least RUN_SHARED_MIN and half of the failures and
 * errors, reasons equal but for their digits; none when the failures are varied or few. */
START_TEST(shared_reason_of_many_failures)
{
	struct result r[12];
	memset(r, 0, sizeof r);
	char actual[12][64], msg[12][64];
	for (int i = 0; i < 12; i++) {
		r[i].status = i < 2 ? VERDICT_PASS : i < 9 ? VERDICT_FAIL : VERDICT_ERROR;
		snprintf(actual[i], sizeof actual[i], "-ERR [AUTH] user%02d: bad password", i);
		snprintf(msg[i], sizeof msg[i], "step 3 (login: user, account 1): something %d", i);
		r[i].actual = actual[i];
		r[i].message = msg[i];
	}
	r[10].actual = NULL; /* an error without `actual`: its message after the step counts */
	r[11].actual = NULL;
	struct run run = {.results = r, .nresults = 12};
	struct shared_reason sr;
	run_shared_reason(&run, &sr);
	ck_assert_ptr_nonnull(sr.example);
	ck_assert_str_eq(sr.example, "-ERR [AUTH] user02: bad password");
	ck_assert_uint_eq(sr.count, 8); /* 7 fails and the error with an actual */
	ck_assert_uint_eq(sr.of, 10);
	/* Fewer than half share it: nothing is said. */
	static const char *const varied[] = {"-ERR a", "-ERR b", "-ERR c", "-ERR d", "-ERR e"};
	for (int i = 2; i < 7; i++)
		r[i].actual = (char *)varied[i - 2];
	run_shared_reason(&run, &sr);
	ck_assert_ptr_null(sr.example);
	ck_assert_uint_eq(sr.of, 10);
	/* Half of few is not many. */
	struct run small = {.results = r + 5, .nresults = 4};
	run_shared_reason(&small, &sr);
	ck_assert_ptr_null(sr.example);
	/* The messages of errors, step description aside, are reasons too. */
	for (int i = 2; i < 12; i++)
		r[i].actual = NULL;
	run_shared_reason(&run, &sr);
	ck_assert_ptr_nonnull(sr.example);
	ck_assert_str_eq(sr.example, "something 2");
	ck_assert_uint_eq(sr.count, 10);
}
END_TEST

/* The contract's keys, exactly as docs/reports.md spells them. */
START_TEST(json_has_the_contract_shape)
{
	struct run run;
	struct p3err err;
	char *path = rd_tmpname(".json");
	rd_run(&run, "dovecot-2.3");
	ck_assert_int_eq(report_json_write(&run, path, &err), 0);
	json_error_t je;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	ck_assert_msg(j != NULL, "%s", je.text);
	ck_assert_str_eq(json_string_value(json_object_get(j, "target")), "dovecot-2.3");
	json_t *sum = json_object_get(j, "summary");
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "passed")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "failed")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "warnings")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "skipped")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "errors")), 1);
	json_t *res = json_object_get(j, "results");
	ck_assert_uint_eq(json_array_size(res), RD_NRESULTS);
	json_t *r0 = json_array_get(res, 0);
	const char *keys[] = {"id",     "title",       "level",   "refs",
	                      "status", "duration_ms", "message", "transcript"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		ck_assert_msg(json_object_get(r0, keys[i]) != NULL, "result lacks %s", keys[i]);
	ck_assert_str_eq(json_string_value(json_object_get(r0, "status")), "fail");
	ck_assert(json_is_array(json_object_get(r0, "refs")));
	ck_assert(json_is_integer(json_object_get(r0, "duration_ms")));
	json_t *t0 = json_array_get(json_object_get(r0, "transcript"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(t0, "kind")), "S");
	ck_assert_str_eq(json_string_value(json_object_get(t0, "session")), "main");
	ck_assert(json_is_number(json_object_get(t0, "t_ms")));
	/* a pass has message "" rather than no message: the contract lists the key */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res, 5), "message")), "");
	ck_assert_str_eq(json_string_value(json_object_get(j, "runner_version")), "0.1.0");
	ck_assert_str_eq(json_string_value(json_object_get(j, "started")), "2026-11-01T12:00:00Z");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "target_profile"), "port")),
	                 1110);
	json_decref(j);
	run_free(&run);
	unlink(path);
	free(path);
}
END_TEST

/* Everything that is valid UTF-8 comes back byte for byte, timings included. */
START_TEST(json_round_trips_exactly)
{
	size_t idx[] = {0, 1, 2, 3, 5, 6, 7, 8};
	struct run a, b;
	struct p3err err;
	char why[256], *path = rd_tmpname(".json");
	rd_run_subset(&a, NULL, idx, sizeof idx / sizeof idx[0]);
	a.info.strict = 1;
	a.results[1].transcript[7].t_ms = 1.0 / 3.0; /* a double that needs all 17 digits */
	ck_assert_int_eq(report_json_write(&a, path, &err), 0);
	ck_assert_msg(report_json_read(path, &b, &err) == 0, "%s", err.msg);
	ck_assert_msg(rd_equal(&a, &b, 1, why, sizeof why), "%s", why);
	ck_assert(b.results[1].transcript[7].t_ms == 1.0 / 3.0);
	ck_assert_uint_eq(b.results[1].ntranscript, RD_LONG_LINES);
	ck_assert_int_eq(b.info.strict, 1);
	run_free(&a);
	run_free(&b);
	unlink(path);
	free(path);
}
END_TEST

/* Bytes JSON cannot carry are written as \xNN; from then on the text is stable. */
START_TEST(json_invalid_utf8_becomes_escapes_then_stable)
{
	struct run a, b, c;
	struct p3err err;
	char why[256], *p1 = rd_tmpname(".json"), *p2 = rd_tmpname(".json");
	rd_run(&a, NULL);
	ck_assert_int_eq(report_json_write(&a, p1, &err), 0);
	ck_assert_msg(report_json_read(p1, &b, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(b.results[4].message,
	                 "timeout after 5 s: server sent \x01\x1b[31mred\\xFF\\xFE ]]> & <b>");
	ck_assert_str_eq(b.results[4].actual, "\\x80\\x81 nothing \x7f\\xC3");
	ck_assert_str_eq(b.results[4].transcript[1].text, "timeout \x02\xef\xbf\xbf]]>");
	ck_assert_int_eq(report_json_write(&b, p2, &err), 0);
	ck_assert_msg(report_json_read(p2, &c, &err) == 0, "%s", err.msg);
	ck_assert_msg(rd_equal(&b, &c, 1, why, sizeof why), "%s", why);
	run_free(&a);
	run_free(&b);
	run_free(&c);
	unlink(p1);
	unlink(p2);
	free(p1);
	free(p2);
}
END_TEST

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(json_read_rejects_bad_reports)
{
	struct {
		const char *text, *want;
	} cases[] = {
	    {"{\"target\": \"x\", \"results\": [", ":1:"},
	    {"[1, 2]", "not a JSON object"},
	    {"{\"results\": []}", "$.target: missing"},
	    {"{\"target\": \"x\"}", "$.results: missing"},
	    {"{\"target\": \"x\", \"results\": [{\"id\": \"a\", \"status\": \"passed\"}]}",
	     "results[0]: unknown status \"passed\""},
	    {"{\"target\": \"x\", \"results\": [{\"status\": \"pass\"}]}", "results[0].id: missing"},
	    {"{\"target\": \"x\", \"results\": [{\"id\": 5, \"status\": \"pass\"}]}",
	     "results[0].id: not a string"},
	    {"{\"target\": \"x\", \"target\": \"y\", \"results\": []}", "duplicate"},
	    {"{\"target\": \"x\", \"results\": [{\"id\": \"a\", \"status\": \"pass\", \"transcript\": "
	     "[{\"kind\": \"Q\", \"text\": \"t\"}]}]}",
	     "kind is not"},
	};
	char *path = rd_tmpname(".json");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct run run;
		struct p3err err = {0};
		write_file(path, cases[i].text);
		ck_assert_int_eq(report_json_read(path, &run, &err), -1);
		ck_assert_msg(strstr(err.msg, cases[i].want) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
		              err.msg, cases[i].want);
		ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "message names the file: %s",
		              err.msg);
		ck_assert_ptr_null(run.results);
	}
	struct run run;
	struct p3err err;
	ck_assert_int_eq(report_json_read("/nonexistent/r.json", &run, &err), -1);
	unlink(path);
	free(path);
}
END_TEST

/* A minimal report with only the contract's fields is readable (a hand-written or foreign baseline). */
START_TEST(json_reads_a_minimal_report)
{
	struct run run;
	struct p3err err;
	char *path = rd_tmpname(".json");
	write_file(
	    path, "{\"target\": \"t\", \"summary\": {\"passed\": 1}, \"results\": [{\"id\": \"rfc1939/a\", "
	          "\"title\": \"A\", \"level\": \"MUST\", \"refs\": [\"R1939-GEN-1\"], \"status\": \"pass\", "
	          "\"duration_ms\": 3, \"message\": \"\", \"transcript\": [\"C: STAT\", \"S: +OK 1 2\"]}]}");
	ck_assert_msg(report_json_read(path, &run, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(run.nresults, 1);
	ck_assert_str_eq(run.results[0].refs[0], "R1939-GEN-1");
	ck_assert_uint_eq(run.results[0].ntranscript, 2);
	ck_assert_int_eq(run.results[0].transcript[1].kind, 'S');
	ck_assert_str_eq(run.results[0].transcript[1].text, "+OK 1 2");
	ck_assert_str_eq(run.results[0].transcript[1].session, "main");
	run_free(&run);
	unlink(path);
	free(path);
}
END_TEST

/* Two shards, merged, equal the unsharded run (timings apart), after sorting it by id. */
START_TEST(merge_of_shards_equals_unsharded_run)
{
	size_t s1[] = {6, 0, 3, 8}, s2[] = {7, 1, 5, 2, 4};
	struct run shards[2], whole, merged;
	struct p3err err;
	char why[256];
	rd_run_subset(&shards[0], NULL, s1, 4);
	rd_run_subset(&shards[1], NULL, s2, 5);
	free(shards[0].info.options);
	shards[0].info.options = strdup("--shard 1/2 --reference --json x.json");
	free(shards[1].info.options);
	shards[1].info.options = strdup("--reference --shard=2/2 --json x.json");
	free(shards[1].info.started);
	shards[1].info.started = strdup("2026-11-01T11:59:59Z");
	shards[1].info.duration_ms = 9000;
	rd_run(&whole, NULL);
	report_sort(&whole);
	ck_assert_msg(report_merge(shards, 2, &merged, &err) == 0, "%s", err.msg);
	ck_assert_msg(rd_equal(&whole, &merged, 0, why, sizeof why), "%s", why);
	ck_assert_str_eq(merged.info.started, "2026-11-01T11:59:59Z");
	ck_assert_int_eq(merged.info.duration_ms, 9000);
	for (size_t i = 1; i < merged.nresults; i++)
		ck_assert(strcmp(merged.results[i - 1].id, merged.results[i].id) < 0);
	/* the copy is deep: freeing the shards leaves the merged run intact */
	run_free(&shards[0]);
	run_free(&shards[1]);
	ck_assert_uint_eq(by_id(&merged, "rfc1939/retr/long-transcript")->ntranscript, RD_LONG_LINES);
	run_free(&whole);
	run_free(&merged);
}
END_TEST

START_TEST(merge_rejects_duplicates_and_mixed_targets)
{
	size_t s1[] = {0, 1}, s2[] = {2, 1};
	struct run shards[2], merged;
	struct p3err err;
	rd_run_subset(&shards[0], NULL, s1, 2);
	rd_run_subset(&shards[1], NULL, s2, 2);
	ck_assert_int_eq(report_merge(shards, 2, &merged, &err), -1);
	ck_assert_msg(strstr(err.msg, "rfc1939/retr/long-transcript") != NULL, "%s", err.msg);
	ck_assert_ptr_null(merged.results);
	run_free(&shards[1]);
	size_t s3[] = {2};
	rd_run_subset(&shards[1], "other-server", s3, 1);
	ck_assert_int_eq(report_merge(shards, 2, &merged, &err), -1);
	ck_assert_msg(strstr(err.msg, "different targets") != NULL, "%s", err.msg);
	ck_assert_int_eq(report_merge(shards, 0, &merged, &err), -1);
	run_free(&shards[0]);
	run_free(&shards[1]);
}
END_TEST

START_TEST(merge_through_json_files)
{
	size_t s1[] = {0, 2, 4, 6, 8}, s2[] = {1, 3, 5, 7};
	struct run a, b, back[2], merged, whole;
	struct p3err err;
	char why[256], *p1 = rd_tmpname(".json"), *p2 = rd_tmpname(".json");
	rd_run_subset(&a, NULL, s1, 5);
	rd_run_subset(&b, NULL, s2, 4);
	ck_assert_int_eq(report_json_write(&a, p1, &err), 0);
	ck_assert_int_eq(report_json_write(&b, p2, &err), 0);
	ck_assert_int_eq(report_json_read(p1, &back[0], &err), 0);
	ck_assert_int_eq(report_json_read(p2, &back[1], &err), 0);
	ck_assert_int_eq(report_merge(back, 2, &merged, &err), 0);
	/* the reference: the whole run through JSON too (invalid UTF-8 is written as \xNN both ways) */
	rd_run(&whole, NULL);
	ck_assert_int_eq(report_json_write(&whole, p1, &err), 0);
	run_free(&whole);
	ck_assert_int_eq(report_json_read(p1, &whole, &err), 0);
	report_sort(&whole);
	ck_assert_msg(rd_equal(&whole, &merged, 0, why, sizeof why), "%s", why);
	run_free(&a);
	run_free(&b);
	run_free(&back[0]);
	run_free(&back[1]);
	run_free(&merged);
	run_free(&whole);
	unlink(p1);
	unlink(p2);
	free(p1);
	free(p2);
}
END_TEST

/* Same status as the baseline → passes ("as baseline: ..."); every difference fails. */
START_TEST(baseline_passes_known_results_and_fails_differences)
{
	struct run base, now;
	rd_run(&base, NULL);
	rd_run(&now, NULL);
	ck_assert_uint_eq(report_apply_baseline(&now, &base), 0);
	struct run_summary s;
	run_summarize(&now, &s);
	ck_assert_uint_eq(s.passed, 8); /* 4 passes + fail, fail, warn, error as baseline */
	ck_assert_uint_eq(s.skipped, 1);
	ck_assert_uint_eq(s.failed + s.errors + s.warnings, 0);
	struct result *r = by_id(&now, "rfc1939/dele/marked-not-retrievable");
	ck_assert_str_eq(r->message, "as baseline: fail; RETR of a deleted message answered +OK");
	ck_assert_str_eq(
	    by_id(&now, "rfc5034/auth/plain-initial")->message,
	    "as baseline: error; timeout after 5 s: server sent \x01\x1b[31mred\xff\xfe ]]> & <b>");
	ck_assert_str_eq(by_id(&now, "rfc2595/stls/once")->message, "unsupported: STLS");
	run_free(&now);

	/* A regression, an improvement, a new failing scenario, a passing one that now skips. */
	rd_run(&now, NULL);
	by_id(&now, "rfc1939/stat/counts")->status = VERDICT_FAIL;
	by_id(&now, "rfc1939/dele/marked-not-retrievable")->status = VERDICT_PASS;
	by_id(&now, "lonely")->status = VERDICT_SKIP;
	free(now.results[8].id);
	now.results[8].id = strdup("rfc6856/utf8/new-one");
	now.results[8].status = VERDICT_WARN;
	by_id(&now, "rfc2449/capa/lines-max-512")->status = VERDICT_ERROR;
	ck_assert_uint_eq(report_apply_baseline(&now, &base), 5);
	r = by_id(&now, "rfc1939/stat/counts");
	ck_assert_int_eq(r->status, VERDICT_FAIL);
	ck_assert_str_eq(r->message, "differs from baseline: was pass, now fail");
	r = by_id(&now, "rfc1939/dele/marked-not-retrievable");
	ck_assert_int_eq(r->status, VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(r->message, "was fail, now pass"));
	ck_assert_int_eq(by_id(&now, "lonely")->status, VERDICT_FAIL);
	r = by_id(&now, "rfc6856/utf8/new-one");
	ck_assert_int_eq(r->status, VERDICT_FAIL);
	ck_assert_str_eq(r->message, "not in baseline (now warn)");
	ck_assert_int_eq(by_id(&now, "rfc2449/capa/lines-max-512")->status, VERDICT_ERROR);
	ck_assert_int_eq(by_id(&now, "rfc1939/retr/long-transcript")->status, VERDICT_PASS);
	run_free(&now);
	run_free(&base);
}
END_TEST

START_TEST(json_to_stdout_and_unwritable_path)
{
	struct run run;
	struct p3err err;
	rd_run(&run, NULL);
	ck_assert_int_eq(report_json_write(&run, "/nonexistent/dir/r.json", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/dir/r.json"));
	ck_assert_int_eq(report_junit_write(&run, "/nonexistent/dir/r.xml", &err), -1);
	ck_assert_int_eq(report_html_write(&run, NULL, "/nonexistent/dir/r.html", &err), -1);
	run_free(&run);
}
END_TEST

Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, verdict_names_round_trip);
	tcase_add_test(tc, groups_of_ids);
	tcase_add_test(tc, summary_counts_every_verdict);
	tcase_add_test(tc, shared_reason_of_many_failures);
	tcase_add_test(tc, json_has_the_contract_shape);
	tcase_add_test(tc, json_round_trips_exactly);
	tcase_add_test(tc, json_invalid_utf8_becomes_escapes_then_stable);
	tcase_add_test(tc, json_read_rejects_bad_reports);
	tcase_add_test(tc, json_reads_a_minimal_report);
	tcase_add_test(tc, merge_of_shards_equals_unsharded_run);
	tcase_add_test(tc, merge_rejects_duplicates_and_mixed_targets);
	tcase_add_test(tc, merge_through_json_files);
	tcase_add_test(tc, merge_check_refuses_partial_sets);
	tcase_add_test(tc, json_carries_the_stop_fields);
	tcase_add_test(tc, baseline_passes_known_results_and_fails_differences);
	tcase_add_test(tc, json_to_stdout_and_unwritable_path);
	suite_add_tcase(s, tc);
	return s;
}
