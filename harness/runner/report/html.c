/* html.c — the HTML report of one run (docs/reports.md): header, RFC group × verdict matrix, then every
 * scenario, failed first, each with its failure, requirement texts and wire transcript. */
#include <stdlib.h>
#include <string.h>
#include "runner/report/report.h"
#include "runner/report/html.h"
#include "runner/report/escape.h"
#include "runner/report/util.h"

static int rank(enum verdict v)
{
	for (int i = 0; i < 5; i++)
		if (html_verdict_order[i] == v)
			return i;
	return 5;
}

static int cmp_shown(const void *a, const void *b)
{
	const struct result *x = *(const struct result *const *)a, *y = *(const struct result *const *)b;
	int c = rank(x->status) - rank(y->status);
	return c ? c : strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

static const char *const verdict_heading[] = {
    [VERDICT_PASS] = "Passed",  [VERDICT_FAIL] = "Failed",  [VERDICT_WARN] = "Warnings",
    [VERDICT_SKIP] = "Skipped", [VERDICT_ERROR] = "Errors",
};

/* The anchor of the first scenario of a group within a verdict's section: "_fail-rfc1939". */
static void block_anchor(FILE *f, enum verdict v, const char *group, int fragment)
{
	fprintf(f, "_%s-", verdict_name(v));
	if (fragment)
		esc_fragment(f, group);
	else
		esc_attr(f, group);
}

static size_t count_in(const struct run *run, enum verdict v, const char *group)
{
	char g[HTML_GROUP_MAX];
	size_t n = 0;
	for (size_t i = 0; i < run->nresults; i++)
		if (run->results[i].status == v &&
		    (!group || strcmp(result_group(run->results[i].id, g, sizeof g), group) == 0))
			n++;
	return n;
}

static void matrix(FILE *f, const struct run *run, const struct strset *groups)
{
	fputs("<h2 id=\"_summary\">Summary by RFC group</h2>\n<table class=\"grid matrix\">\n<thead><tr>"
	      "<th>RFC group</th>",
	      f);
	for (int i = 0; i < 5; i++) {
		fputs("<th>", f);
		html_badge(f, html_verdict_order[i]);
		fputs("</th>", f);
	}
	fputs("<th>total</th></tr></thead>\n<tbody>\n", f);
	for (size_t gi = 0; gi <= groups->n; gi++) {
		const char *g = gi < groups->n ? groups->v[gi] : NULL;
		size_t total = 0;
		if (g) {
			fputs("<tr><td class=\"l\"><a href=\"#group=", f);
			esc_fragment(f, g);
			fputs("\" data-filter=\"group=", f);
			esc_fragment(f, g);
			fputs("\"><code>", f);
			esc_text(f, g);
			fputs("</code></a></td>", f);
		} else {
			fputs("<tr><td class=\"l\"><b>all</b></td>", f);
		}
		for (int i = 0; i < 5; i++) {
			enum verdict v = html_verdict_order[i];
			size_t n = count_in(run, v, g);
			total += n;
			if (n == 0) {
				fputs("<td class=\"zero\">0</td>", f);
				continue;
			}
			/* Without script the link jumps to the first such scenario; with it, it filters. */
			fputs("<td><a href=\"#", f);
			if (g)
				block_anchor(f, v, g, 1);
			else
				fprintf(f, "_v-%s", verdict_name(v));
			fprintf(f, "\" data-filter=\"verdict=%s", verdict_name(v));
			if (g) {
				fputs("&amp;group=", f);
				esc_fragment(f, g);
			}
			fprintf(f, "\">%zu</a></td>", n);
		}
		fprintf(f, "<td>%zu</td></tr>\n", total);
	}
	fputs("</tbody>\n</table>\n", f);
}

static void counts(FILE *f, const struct run *run)
{
	struct run_summary s;
	run_summarize(run, &s);
	const size_t n[] = {[VERDICT_PASS] = s.passed,
	                    [VERDICT_FAIL] = s.failed,
	                    [VERDICT_WARN] = s.warnings,
	                    [VERDICT_SKIP] = s.skipped,
	                    [VERDICT_ERROR] = s.errors};
	fprintf(f, "<p class=\"counts\"><span><b>%zu</b> scenarios</span>", run->nresults);
	for (int i = 0; i < 5; i++) {
		enum verdict v = html_verdict_order[i];
		fprintf(f, "<a href=\"#_v-%s\" data-filter=\"verdict=%s\">", verdict_name(v),
		        verdict_name(v));
		html_badge(f, v);
		fprintf(f, " <b>%zu</b> %s</a>", n[v], verdict_heading[v]);
	}
	fputs("</p>\n", f);
}

int report_html_write(const struct run *run, const char *requirements_md, const char *path, struct p3err *err)
{
	struct reqs req = {0};
	struct p3err rerr = {0};
	char note[P3ERR_MAX + 64] = "";
	if (requirements_md && reqs_load(requirements_md, &req, &rerr) != 0)
		snprintf(note, sizeof note, "Requirement texts unavailable: %s", rerr.msg);

	struct strset groups = {0}, tags = {0};
	const struct result **shown = run->nresults ? malloc(run->nresults * sizeof *shown) : NULL;
	if ((run->nresults && !shown) || html_collect(run, 1, &groups, &tags) != 0) {
		free(shown);
		strset_free(&groups);
		strset_free(&tags);
		reqs_free(&req);
		return p3err_set(err, "%s: out of memory", path);
	}
	for (size_t i = 0; i < run->nresults; i++)
		shown[i] = &run->results[i];
	if (run->nresults > 1)
		qsort(shown, run->nresults, sizeof *shown, cmp_shown);

	FILE *f = report_open(path, err);
	if (!f) {
		free(shown);
		strset_free(&groups);
		strset_free(&tags);
		reqs_free(&req);
		return -1;
	}
	char title[256];
	snprintf(title, sizeof title, "pop3spec: %s", run->info.target_name ? run->info.target_name : "");
	html_begin(f, title);
	fputs("<header>\n<h1>POP3 conformance of <code>", f);
	esc_text(f, run->info.target_name);
	fputs("</code></h1>\n", f);
	if (run->info.incomplete)
		fprintf(f,
		        "<p class=\"incomplete\"><strong>Incomplete run</strong>: stopped before %zu of the "
		        "selected scenarios ran; only what ran is shown.</p>\n",
		        run->info.not_run);
	html_run_meta(f, run);
	counts(f, run);
	struct shared_reason sr;
	run_shared_reason(run, &sr);
	if (sr.example) {
		/* Read first: one cause behind many failures is usually the set-up, not many deviations. */
		fprintf(f,
		        "<p class=\"shared\" id=\"_shared\"><b>Shared reason:</b> %zu of %zu failures and "
		        "errors got "
		        "<code>",
		        sr.count, sr.of);
		esc_text(f, sr.example);
		fputs("</code>. One cause behind most failures: check the target profile and the server's "
		      "set-up "
		      "first.</p>\n",
		      f);
	}
	fputs("</header>\n", f);
	matrix(f, run, &groups);

	fputs("<h2>Scenarios</h2>\n", f);
	html_filters(f, &groups, &tags, 0);
	fputs("<main id=\"_results\">\n", f);
	char g[HTML_GROUP_MAX], prev[HTML_GROUP_MAX];
	for (size_t i = 0; i < run->nresults;) {
		enum verdict v = shown[i]->status;
		size_t j = i;
		while (j < run->nresults && shown[j]->status == v)
			j++;
		fprintf(f, "<section class=\"vsec\" id=\"_v-%s\" data-section>\n<h3>", verdict_name(v));
		html_badge(f, v);
		fprintf(f, " %s (%zu)</h3>\n", verdict_heading[v], j - i);
		prev[0] = '\0';
		for (size_t k = i; k < j; k++) {
			result_group(shown[k]->id, g, sizeof g);
			if (strcmp(g, prev) != 0) {
				fputs("<span id=\"", f);
				block_anchor(f, v, g, 0);
				fputs("\"></span>\n", f);
				memcpy(prev, g, sizeof prev);
			}
			/* Open what needs reading: failures, errors and warnings. */
			html_scenario(f, shown[k], &req, "",
			              v == VERDICT_FAIL || v == VERDICT_ERROR || v == VERDICT_WARN, 1);
		}
		fputs("</section>\n", f);
		i = j;
	}
	if (!run->nresults)
		fputs("<p>No scenario ran.</p>\n", f);
	fputs("</main>\n", f);
	html_end(f, note);

	free(shown);
	strset_free(&groups);
	strset_free(&tags);
	reqs_free(&req);
	return report_close(f, path, err);
}
