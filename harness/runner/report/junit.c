/* junit.c — the JUnit XML report: a <testsuite> per RFC group, a <testcase> per scenario, the transcript
 * in <system-out>. Shape and choices in docs/reports.md; checked against harness/tests/junit/junit.xsd. */
#include <stdlib.h>
#include <string.h>
#include "runner/report/report.h"
#include "runner/report/escape.h"
#include "runner/report/util.h"

#define GROUP_MAX 64

struct jcase {
	const struct result *r;
	char group[GROUP_MAX];
};

static int cmp_case(const void *a, const void *b)
{
	const struct jcase *x = a, *y = b;
	int c = strcmp(x->group, y->group);
	return c ? c : strcmp(x->r->id ? x->r->id : "", y->r->id ? y->r->id : "");
}

/* How a verdict is shown: a warning is a pass with a note, or a failure under --strict. */
static int is_failure(const struct run *run, enum verdict v)
{
	return v == VERDICT_FAIL || (v == VERDICT_WARN && run->info.strict);
}

static void property(FILE *f, const char *name, const char *value)
{
	if (!value)
		return;
	fputs("      <property name=\"", f);
	esc_attr(f, name);
	fputs("\" value=\"", f);
	esc_attr(f, value);
	fputs("\"/>\n", f);
}

static void properties(FILE *f, const struct run *run)
{
	const struct run_info *in = &run->info;
	char port[32], tls[32];
	snprintf(port, sizeof port, "%d", in->target_port);
	snprintf(tls, sizeof tls, "%d", in->target_tls_port);
	fputs("    <properties>\n", f);
	property(f, "target", in->target_name);
	property(f, "target.host", in->target_host);
	property(f, "target.port", port);
	property(f, "target.tls_port", tls);
	if (in->mode)
		property(f, "mode", in->mode);
	property(f, "runner_version", in->runner_version);
	property(f, "suite_version", in->suite_version);
	property(f, "options", in->options);
	property(f, "strict", in->strict ? "true" : "false");
	property(f, "started", in->started);
	if (in->incomplete || in->stopped) {
		char nr[32];
		snprintf(nr, sizeof nr, "%zu", in->not_run);
		property(f, "incomplete", in->incomplete ? "true" : "false");
		property(f, "stopped", in->stopped);
		if (in->incomplete)
			property(f, "not_run", nr);
	}
	if (in->redacted)
		property(f, "redacted", "true");
	property(f, "greeting", in->greeting);
	for (size_t i = 0; i < in->ncapa; i++)
		property(f, "capa", in->capa[i]);
	fputs("    </properties>\n", f);
}

/* The failure's details as element text: step, expected, actual, requirement. */
static void details(FILE *f, const struct result *r)
{
	if (r->message && *r->message) {
		esc_text(f, r->message);
		fputc('\n', f);
	}
	if (r->failed_step) {
		fputs("step: ", f);
		esc_text(f, r->failed_step);
		fputc('\n', f);
	}
	if (r->expected) {
		fputs("expected: ", f);
		esc_text(f, r->expected);
		fputc('\n', f);
	}
	if (r->actual) {
		fputs("actual: ", f);
		esc_text(f, r->actual);
		fputc('\n', f);
	}
	if (r->failed_ref) {
		fputs("requirement: ", f);
		esc_text(f, r->failed_ref);
		fputc('\n', f);
	}
	if (r->file) {
		fputs("file: ", f);
		esc_text(f, r->file);
		fputc('\n', f);
	}
}

static void transcript(FILE *f, const struct result *r)
{
	fputs("      <system-out>title: ", f);
	esc_text(f, r->title);
	fputs("\nlevel: ", f);
	esc_text(f, r->level);
	fputs("\nrefs:", f);
	for (size_t i = 0; i < r->nrefs; i++) {
		fputc(' ', f);
		esc_text(f, r->refs[i]);
	}
	fputc('\n', f);
	if (r->file) {
		fputs("file: ", f);
		esc_text(f, r->file);
		fputc('\n', f);
	}
	for (size_t i = 0; i < r->ntranscript; i++) {
		const struct tline *t = &r->transcript[i];
		fprintf(f, "[%10.3f ms] ", t->t_ms);
		if (t->session && strcmp(t->session, "main") != 0) {
			esc_text(f, t->session);
			fputc(' ', f);
		}
		fprintf(f, "%s ", t->kind == TLINE_CLIENT ? "C:" : t->kind == TLINE_SERVER ? "S:" : "* ");
		esc_text(f, t->text);
		fputc('\n', f);
	}
	fputs("</system-out>\n", f);
}

static void testcase(FILE *f, const struct run *run, const struct jcase *c)
{
	const struct result *r = c->r;
	const char *msg = r->message ? r->message : "";
	fputs("    <testcase classname=\"", f);
	esc_attr(f, c->group);
	fputs("\" name=\"", f);
	esc_attr(f, r->id);
	fprintf(f, "\" time=\"%.3f\"", (double)r->duration_ms / 1000.0);
	fputs(">\n", f);
	if (is_failure(run, r->status)) {
		fputs("      <failure message=\"", f);
		esc_attr(f, msg);
		fprintf(f, "\" type=\"%s\">", verdict_name(r->status));
		details(f, r);
		fputs("</failure>\n", f);
	} else if (r->status == VERDICT_ERROR) {
		fputs("      <error message=\"", f);
		esc_attr(f, msg);
		fputs("\" type=\"error\">", f);
		details(f, r);
		fputs("</error>\n", f);
	} else if (r->status == VERDICT_SKIP) {
		fputs("      <skipped message=\"", f);
		esc_attr(f, msg);
		fputs("\"/>\n", f);
	}
	transcript(f, r);
	if (r->status == VERDICT_WARN && !run->info.strict) {
		/* A SHOULD not met: a pass for CI, but the note says so. */
		fputs("      <system-err>WARN (a SHOULD-level requirement not met; fails under --strict): ",
		      f);
		details(f, r);
		fputs("</system-err>\n", f);
	}
	fputs("    </testcase>\n", f);
}

int report_junit_write(const struct run *run, const char *path, struct p3err *err)
{
	struct jcase *cs = run->nresults ? calloc(run->nresults, sizeof *cs) : NULL;
	if (run->nresults && !cs)
		return p3err_set(err, "%s: out of memory", path);
	for (size_t i = 0; i < run->nresults; i++) {
		cs[i].r = &run->results[i];
		result_group(run->results[i].id, cs[i].group, sizeof cs[i].group);
	}
	if (run->nresults)
		qsort(cs, run->nresults, sizeof *cs, cmp_case);

	FILE *f = report_open(path, err);
	if (!f) {
		free(cs);
		return -1;
	}
	size_t tests = run->nresults, failures = 0, errors = 0;
	long ms = 0;
	for (size_t i = 0; i < run->nresults; i++) {
		failures += is_failure(run, run->results[i].status);
		errors += run->results[i].status == VERDICT_ERROR;
		ms += run->results[i].duration_ms;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pop3spec: ", f);
	esc_attr(f, run->info.target_name);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", tests, failures,
	        errors, (double)(run->info.duration_ms ? run->info.duration_ms : ms) / 1000.0);

	size_t suite_no = 0;
	for (size_t i = 0; i < run->nresults;) {
		size_t j = i, fl = 0, er = 0, sk = 0;
		long gms = 0;
		while (j < run->nresults && strcmp(cs[j].group, cs[i].group) == 0) {
			fl += is_failure(run, cs[j].r->status);
			er += cs[j].r->status == VERDICT_ERROR;
			sk += cs[j].r->status == VERDICT_SKIP;
			gms += cs[j].r->duration_ms;
			j++;
		}
		fputs("  <testsuite name=\"", f);
		esc_attr(f, cs[i].group);
		fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\"",
		        j - i, fl, er, sk, (double)gms / 1000.0);
		fprintf(f, " id=\"%zu\" package=\"pop3spec\"", suite_no++);
		if (run->info.started) {
			fputs(" timestamp=\"", f);
			esc_attr(f, run->info.started);
			fputc('"', f);
		}
		if (run->info.target_host) {
			fputs(" hostname=\"", f);
			esc_attr(f, run->info.target_host);
			fputc('"', f);
		}
		fputs(">\n", f);
		properties(f, run);
		for (size_t k = i; k < j; k++)
			testcase(f, run, &cs[k]);
		fputs("  </testsuite>\n", f);
		i = j;
	}
	fputs("</testsuites>\n", f);
	free(cs);
	return report_close(f, path, err);
}
