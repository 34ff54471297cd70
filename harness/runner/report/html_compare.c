/* html_compare.c — one HTML page comparing runs against several servers: a scenario × server matrix
 * whose cells link to that server's transcript (kept in the same file), and a score per RFC group. */
#include <stdlib.h>
#include <string.h>
#include "runner/report/report.h"
#include "runner/report/html.h"
#include "runner/report/escape.h"
#include "runner/report/util.h"

struct cmp {
	const struct run *runs;
	size_t nruns;
	const struct result ***byid; /* per run: results sorted by id */
	char **label;                /* per run: column heading */
	const struct result **rows;  /* one result per distinct id (the first run that has it) */
	size_t nrows;
};

static int cmp_ptr_id(const void *a, const void *b)
{
	return result_cmp_id(*(const struct result *const *)a, *(const struct result *const *)b);
}

static const struct result *find(const struct cmp *c, size_t k, const char *id)
{
	struct result key = {.id = (char *)id};
	const struct result *kp = &key;
	const struct result **hit = c->runs[k].nresults ? bsearch(&kp, c->byid[k], c->runs[k].nresults,
	                                                          sizeof *c->byid[k], cmp_ptr_id)
	                                                : NULL;
	return hit ? *hit : NULL;
}

static void cmp_free(struct cmp *c)
{
	for (size_t k = 0; k < c->nruns; k++) {
		if (c->byid)
			free(c->byid[k]);
		if (c->label)
			free(c->label[k]);
	}
	free(c->byid);
	free(c->label);
	free(c->rows);
}

static int cmp_build(struct cmp *c, const struct run *runs, size_t nruns)
{
	memset(c, 0, sizeof *c);
	c->runs = runs;
	c->nruns = nruns;
	size_t total = 0;
	if (!(c->byid = calloc(nruns, sizeof *c->byid)) || !(c->label = calloc(nruns, sizeof *c->label)))
		return -1;
	for (size_t k = 0; k < nruns; k++) {
		size_t n = runs[k].nresults;
		total += n;
		if (n && !(c->byid[k] = malloc(n * sizeof *c->byid[k])))
			return -1;
		for (size_t i = 0; i < n; i++)
			c->byid[k][i] = &runs[k].results[i];
		if (n > 1)
			qsort(c->byid[k], n, sizeof *c->byid[k], cmp_ptr_id);
		/* Two runs of the same server name still need two columns told apart. */
		const char *name = runs[k].info.target_name && *runs[k].info.target_name
		                       ? runs[k].info.target_name
		                       : "target";
		int dup = 0;
		for (size_t j = 0; j < nruns; j++)
			if (j != k && runs[j].info.target_name && strcmp(runs[j].info.target_name, name) == 0)
				dup = 1;
		size_t len = strlen(name) + 16;
		if (!(c->label[k] = malloc(len)))
			return -1;
		snprintf(c->label[k], len, dup ? "%s (#%zu)" : "%s", name, k + 1);
	}
	if (total && !(c->rows = malloc(total * sizeof *c->rows)))
		return -1;
	for (size_t k = 0; k < nruns; k++)
		for (size_t i = 0; i < runs[k].nresults; i++)
			c->rows[c->nrows++] = c->byid[k][i];
	if (c->nrows > 1)
		qsort(c->rows, c->nrows, sizeof *c->rows, cmp_ptr_id);
	size_t w = 0;
	for (size_t i = 0; i < c->nrows; i++)
		if (w == 0 || result_cmp_id(c->rows[w - 1], c->rows[i]) != 0)
			c->rows[w++] = c->rows[i];
	c->nrows = w;
	return 0;
}

/* Every run is a `pop3spec client run`: the columns are clients, and host and greeting (pop3spec's own
 * listener) say nothing about them. */
static int all_clients(const struct cmp *c)
{
	for (size_t k = 0; k < c->nruns; k++)
		if (c->runs[k].info.mode == NULL || strcmp(c->runs[k].info.mode, "client") != 0)
			return 0;
	return c->nruns > 0;
}

static void servers(FILE *f, const struct cmp *c)
{
	int clients = all_clients(c);
	fputs(
	    clients
	        ? "<h2>Clients</h2>\n<table class=\"grid servers\">\n<thead><tr><th>Client</th><th>Date</th>"
	        : "<h2>Servers</h2>\n<table class=\"grid servers\">\n<thead><tr><th>Server</th><th>Host</th>"
	          "<th>Greeting</th><th>Date</th>",
	    f);
	for (int i = 0; i < 5; i++) {
		fputs("<th>", f);
		html_badge(f, html_verdict_order[i]);
		fputs("</th>", f);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
	for (size_t k = 0; k < c->nruns; k++) {
		const struct run_info *in = &c->runs[k].info;
		struct run_summary s;
		run_summarize(&c->runs[k], &s);
		const size_t n[] = {[VERDICT_PASS] = s.passed,
		                    [VERDICT_FAIL] = s.failed,
		                    [VERDICT_WARN] = s.warnings,
		                    [VERDICT_SKIP] = s.skipped,
		                    [VERDICT_ERROR] = s.errors};
		fprintf(f, "<tr><td class=\"l\"><a href=\"#_t%zu\"><b>", k);
		esc_text(f, c->label[k]);
		fputs("</b></a></td>", f);
		if (clients)
			goto date;
		fputs("<td class=\"l\"><code>", f);
		esc_text(f, in->target_host);
		if (in->target_port)
			fprintf(f, ":%d", in->target_port);
		fputs("</code></td><td class=\"l\"><code>", f);
		esc_text(f, in->greeting);
		fputs("</code>", f);
		if (in->ncapa) {
			fputs("<details><summary>CAPA</summary><pre>", f);
			for (size_t i = 0; i < in->ncapa; i++) {
				esc_text(f, in->capa[i]);
				fputc('\n', f);
			}
			fputs("</pre></details>", f);
		}
		fputs("</td>", f);
	date:
		fputs("<td class=\"l\">", f);
		esc_text(f, in->started);
		if (in->stopped) {
			fputs("<br><span class=\"incomplete\">", f);
			esc_text(f, in->stopped);
			if (in->incomplete)
				fprintf(f, "; incomplete, %zu not run", in->not_run);
			fputs("</span>", f);
		}
		fputs("</td>", f);
		for (int i = 0; i < 5; i++)
			fprintf(f, "<td%s>%zu</td>", n[html_verdict_order[i]] ? "" : " class=\"zero\"",
			        n[html_verdict_order[i]]);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

/* Score: passed out of the scenarios that ran (skips do not count either way). */
static void scores(FILE *f, const struct cmp *c, const struct strset *groups)
{
	fputs("<h2 id=\"_scores\">Score per RFC group</h2>\n<p class=\"facts\">Passed out of the scenarios "
	      "that "
	      "ran (skipped ones excluded).</p>\n<table class=\"grid\">\n<thead><tr><th>RFC group</th>",
	      f);
	for (size_t k = 0; k < c->nruns; k++) {
		fputs("<th>", f);
		esc_text(f, c->label[k]);
		fputs("</th>", f);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
	char g[HTML_GROUP_MAX];
	for (size_t gi = 0; gi <= groups->n; gi++) {
		const char *grp = gi < groups->n ? groups->v[gi] : NULL;
		fputs("<tr><td class=\"l\">", f);
		if (grp) {
			fputs("<a href=\"#group=", f);
			esc_fragment(f, grp);
			fputs("\" data-filter=\"group=", f);
			esc_fragment(f, grp);
			fputs("\"><code>", f);
			esc_text(f, grp);
			fputs("</code></a>", f);
		} else {
			fputs("<b>all</b>", f);
		}
		fputs("</td>", f);
		for (size_t k = 0; k < c->nruns; k++) {
			size_t pass = 0, ran = 0, fail = 0, warn = 0, err = 0;
			for (size_t i = 0; i < c->runs[k].nresults; i++) {
				const struct result *r = &c->runs[k].results[i];
				if (grp && strcmp(result_group(r->id, g, sizeof g), grp) != 0)
					continue;
				ran += r->status != VERDICT_SKIP;
				pass += r->status == VERDICT_PASS;
				fail += r->status == VERDICT_FAIL;
				warn += r->status == VERDICT_WARN;
				err += r->status == VERDICT_ERROR;
			}
			if (!ran) {
				fputs("<td class=\"zero\">—</td>", f);
				continue;
			}
			unsigned pct = (unsigned)(pass * 100 / ran);
			fprintf(f,
			        "<td title=\"%zu failed, %zu warnings, %zu errors\">%zu/%zu (%u%%)"
			        "<span class=\"score\"><i style=\"width:%u%%\"></i></span></td>",
			        fail, warn, err, pass, ran, pct, pct);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

static void matrix_row(FILE *f, const struct cmp *c, const struct result *row)
{
	char g[HTML_GROUP_MAX], verdicts[64] = "";
	int seen[5] = {0}, differs = 0, first = -1;
	for (size_t k = 0; k < c->nruns; k++) {
		const struct result *r = find(c, k, row->id);
		if (!r) {
			differs = 1;
			continue;
		}
		if (first < 0)
			first = (int)r->status;
		else if ((int)r->status != first)
			differs = 1;
		if (!seen[r->status]) {
			seen[r->status] = 1;
			if (verdicts[0])
				strcat(verdicts, " ");
			strcat(verdicts, verdict_name(r->status));
		}
	}
	fputs("<tr id=\"", f);
	esc_attr(f, row->id);
	fprintf(f, "\" data-verdict=\"%s\" data-differs=\"%d\" data-group=\"", verdicts, differs);
	esc_attr(f, result_group(row->id, g, sizeof g));
	fputs("\" data-tags=\"", f);
	for (size_t i = 0; i < row->ntags; i++) {
		if (i)
			fputc(' ', f);
		esc_attr(f, row->tags[i]);
	}
	fputs("\"><td><code>", f);
	esc_text(f, row->id);
	fputs("</code><br><span class=\"ttl\">", f);
	esc_text(f, row->title);
	fputs("</span></td><td>", f);
	esc_text(f, row->level);
	fputs("</td>", f);
	for (size_t k = 0; k < c->nruns; k++) {
		const struct result *r = find(c, k, row->id);
		if (!r) {
			fputs("<td class=\"c\"><span class=\"badge b-none\" title=\"not run\">—</span></td>",
			      f);
			continue;
		}
		fprintf(f, "<td class=\"c\"><a href=\"#t%zu-", k);
		esc_fragment(f, r->id);
		fputs("\" title=\"", f);
		esc_attr(f, r->message);
		fputs("\">", f);
		html_badge(f, r->status);
		fputs("</a></td>", f);
	}
	fputs("</tr>\n", f);
}

int report_html_compare(const struct run *runs, size_t nruns, const char *requirements_md, const char *path,
                        struct p3err *err)
{
	struct cmp c;
	struct strset groups = {0}, tags = {0};
	struct reqs req = {0};
	struct p3err rerr = {0};
	char note[P3ERR_MAX + 64] = "";
	if (nruns == 0)
		return p3err_set(err, "%s: nothing to compare", path);
	if (cmp_build(&c, runs, nruns) != 0 || html_collect(runs, nruns, &groups, &tags) != 0) {
		cmp_free(&c);
		strset_free(&groups);
		strset_free(&tags);
		return p3err_set(err, "%s: out of memory", path);
	}
	if (requirements_md && reqs_load(requirements_md, &req, &rerr) != 0)
		snprintf(note, sizeof note, "Requirement texts unavailable: %s", rerr.msg);
	FILE *f = report_open(path, err);
	if (!f) {
		cmp_free(&c);
		strset_free(&groups);
		strset_free(&tags);
		reqs_free(&req);
		return -1;
	}
	const char *what = all_clients(&c) ? "client" : "server";
	html_begin(f, all_clients(&c) ? "pop3spec: comparison of POP3 clients"
	                              : "pop3spec: comparison of POP3 servers");
	fprintf(f, "<header>\n<h1>POP3 conformance: %zu %ss compared</h1>\n</header>\n", nruns, what);
	servers(f, &c);
	scores(f, &c, &groups);
	fprintf(f, "<h2>Scenario by %s</h2>\n", what);
	html_filters(f, &groups, &tags, 1);
	fputs("<main id=\"_results\">\n<table class=\"cmp\">\n<thead><tr><th>Scenario</th><th>Level</th>", f);
	for (size_t k = 0; k < nruns; k++) {
		fputs("<th>", f);
		esc_text(f, c.label[k]);
		fputs("</th>", f);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
	for (size_t i = 0; i < c.nrows; i++)
		matrix_row(f, &c, c.rows[i]);
	fputs("</tbody>\n</table>\n</main>\n", f);

	for (size_t k = 0; k < nruns; k++) {
		char prefix[32];
		snprintf(prefix, sizeof prefix, "t%zu-", k);
		fprintf(f, "<section id=\"_t%zu\">\n<h2>Transcripts: ", k);
		esc_text(f, c.label[k]);
		fputs("</h2>\n", f);
		html_run_meta(f, &runs[k]);
		for (size_t i = 0; i < runs[k].nresults; i++)
			html_scenario(f, c.byid[k][i], &req, prefix, 0, 0);
		fputs("</section>\n", f);
	}
	html_end(f, note);
	cmp_free(&c);
	strset_free(&groups);
	strset_free(&tags);
	reqs_free(&req);
	return report_close(f, path, err);
}
