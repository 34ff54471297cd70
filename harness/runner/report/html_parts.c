/* html_parts.c — the building blocks of the HTML reports: page frame, run facts, filter bar, and one
 * scenario with its failure, requirements and transcript. */
#include <stdlib.h>
#include <string.h>
#include "runner/report/html.h"
#include "runner/report/escape.h"

const enum verdict html_verdict_order[5] = {VERDICT_FAIL, VERDICT_ERROR, VERDICT_WARN, VERDICT_SKIP,
                                            VERDICT_PASS};

void html_begin(FILE *f, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      /* Nothing may be loaded from anywhere: the report is one file, opened offline. */
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"generator\" content=\"pop3spec\">\n<title>",
	      f);
	esc_text(f, title);
	fputs("</title>\n<style>\n", f);
	fputs(html_css, f);
	fputs("</style>\n</head>\n<body>\n", f);
}

void html_end(FILE *f, const char *note)
{
	fputs("<footer>Written by pop3spec", f);
#ifdef POP3SPEC_VERSION
	fputs(" " POP3SPEC_VERSION, f);
#endif
	fputs(". This file is self-contained: it loads nothing, and reads without script; the script only "
	      "adds the filters.",
	      f);
	if (note && *note) {
		fputs("<br>", f);
		esc_text(f, note);
	}
	fputs("</footer>\n<script>\n", f);
	fputs(html_js, f);
	fputs("</script>\n</body>\n</html>\n", f);
}

void html_badge(FILE *f, enum verdict v)
{
	const char *n = verdict_name(v);
	fprintf(f, "<span class=\"badge b-%s\">", n);
	for (const char *p = n; *p; p++)
		fputc(*p - 'a' + 'A', f);
	fputs("</span>", f);
}

static void duration(FILE *f, long ms)
{
	if (ms < 1000)
		fprintf(f, "%ld ms", ms);
	else if (ms < 120000)
		fprintf(f, "%.2f s", (double)ms / 1000.0);
	else
		fprintf(f, "%ld min %ld s", ms / 60000, (ms / 1000) % 60);
}

static void fact(FILE *f, const char *name, const char *value, int code)
{
	if (!value || !*value)
		return;
	fprintf(f, "<dt>%s</dt><dd>%s", name, code ? "<code>" : "");
	esc_text(f, value);
	fprintf(f, "%s</dd>\n", code ? "</code>" : "");
}

void html_run_meta(FILE *f, const struct run *run)
{
	const struct run_info *in = &run->info;
	fputs("<dl class=\"meta\">\n", f);
	/* A client run (docs/clients.md) names the client profile where a server run has its target. */
	fact(f, in->mode && strcmp(in->mode, "client") == 0 ? "Client" : "Target", in->target_name, 0);
	if (in->target_host && !(in->mode && strcmp(in->mode, "client") == 0)) {
		fputs("<dt>Host</dt><dd><code>", f);
		esc_text(f, in->target_host);
		if (in->target_port)
			fprintf(f, ":%d", in->target_port);
		fputs("</code>", f);
		if (in->target_tls_port)
			fprintf(f, " (implicit TLS on port <code>%d</code>)", in->target_tls_port);
		fputs("</dd>\n", f);
	}
	fact(f, "Greeting", in->greeting, 1);
	if (in->ncapa) {
		fputs("<dt>CAPA</dt><dd><pre>", f);
		for (size_t i = 0; i < in->ncapa; i++) {
			esc_text(f, in->capa[i]);
			fputc('\n', f);
		}
		fputs("</pre></dd>\n", f);
	}
	fact(f, "Login", in->login_method, 0);
	fact(f, "Mode", in->mode, 0);
	fact(f, "Date", in->started, 0);
	if (in->duration_ms) {
		fputs("<dt>Duration</dt><dd>", f);
		duration(f, in->duration_ms);
		fputs("</dd>\n", f);
	}
	fact(f, "Runner", in->runner_version, 0);
	fact(f, "Suite", in->suite_version, 0);
	fact(f, "Options", in->options, 1);
	if (in->strict)
		fputs("<dt>Strict</dt><dd>yes: a warning fails the run</dd>\n", f);
	if (in->redacted)
		fputs("<dt>Redacted</dt><dd>yes: the accounts' secrets are replaced by [redacted]</dd>\n", f);
	if (in->stopped) {
		fputs("<dt>Stopped</dt><dd class=\"incomplete\">", f);
		esc_text(f, in->stopped);
		if (in->incomplete)
			fprintf(f, ": incomplete, %zu selected scenario%s not run", in->not_run,
			        in->not_run == 1 ? "" : "s");
		fputs("</dd>\n", f);
	}
	fputs("</dl>\n", f);
}

int strset_add(struct strset *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], x) == 0)
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	if (!(s->v[s->n] = strdup(x)))
		return -1;
	s->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strset_sort(struct strset *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof *s->v, cmp_str);
}

void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

int html_collect(const struct run *runs, size_t nruns, struct strset *groups, struct strset *tags)
{
	char g[HTML_GROUP_MAX];
	for (size_t k = 0; k < nruns; k++)
		for (size_t i = 0; i < runs[k].nresults; i++) {
			const struct result *r = &runs[k].results[i];
			if (groups && strset_add(groups, result_group(r->id, g, sizeof g)) != 0)
				return -1;
			for (size_t t = 0; tags && t < r->ntags; t++)
				if (strset_add(tags, r->tags[t]) != 0)
					return -1;
		}
	if (groups)
		strset_sort(groups);
	if (tags)
		strset_sort(tags);
	return 0;
}

static void options(FILE *f, const char *name, const char *all, const struct strset *s)
{
	fprintf(f, "<label>%s <select name=\"%s\"><option value=\"\">%s</option>", name, name, all);
	for (size_t i = 0; i < s->n; i++) {
		fputs("<option value=\"", f);
		esc_attr(f, s->v[i]);
		fputs("\">", f);
		esc_text(f, s->v[i]);
		fputs("</option>", f);
	}
	fputs("</select></label>\n", f);
}

void html_filters(FILE *f, const struct strset *groups, const struct strset *tags, int differs)
{
	fputs("<form id=\"filters\" hidden>\n<span>", f);
	for (size_t i = 0; i < 5; i++) {
		enum verdict v = html_verdict_order[i];
		fprintf(f, "<label><input type=\"checkbox\" name=\"verdict\" value=\"%s\"> ",
		        verdict_name(v));
		html_badge(f, v);
		fputs("</label> ", f);
	}
	fputs("</span>\n", f);
	options(f, "group", "all RFC groups", groups);
	options(f, "tag", "all tags", tags);
	fputs("<label>text <input type=\"search\" name=\"q\" placeholder=\"id, title, message, transcript\">"
	      "</label>\n",
	      f);
	if (differs)
		fputs("<label><input type=\"checkbox\" name=\"differs\" value=\"1\"> only where servers "
		      "differ</label>\n",
		      f);
	fputs("<button type=\"button\" id=\"clear\">clear</button> <output id=\"shown\"></output>\n</form>\n",
	      f);
}

/* Requirement text as written in REQUIREMENTS.md: `code` spans become <code>, the rest is text. */
static void md_text(FILE *f, const char *s)
{
	int in_code = 0;
	while (*s) {
		const char *tick = strchr(s, '`');
		size_t n = tick ? (size_t)(tick - s) : strlen(s);
		esc_textn(f, s, n);
		if (!tick)
			break;
		fputs(in_code ? "</code>" : "<code>", f);
		in_code = !in_code;
		s = tick + 1;
	}
	if (in_code)
		fputs("</code>", f);
}

static void ref_item(FILE *f, const char *id, const struct reqs *req, int failing)
{
	const struct requirement *t = reqs_find(req, id);
	fprintf(f, "<li%s><code>", failing ? " class=\"failing\"" : "");
	esc_text(f, id);
	fputs("</code>", f);
	if (t) {
		fputs(" <span class=\"sec\">(", f);
		if (t->section[0] >= '0' && t->section[0] <= '9')
			fputs("RFC ", f);
		esc_text(f, t->section);
		fputs(", <span class=\"rlvl\">", f);
		esc_text(f, t->level);
		fputs("</span>)</span> ", f);
		md_text(f, t->text);
	}
	if (failing)
		fputs(" <em>— the failing check</em>", f);
	fputs("</li>\n", f);
}

/* Write `a` with the part that differs from `b` (after their common prefix and suffix) marked. */
static void marked(FILE *f, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), pre = 0, suf = 0;
	while (pre < na && pre < nb && a[pre] == b[pre])
		pre++;
	while (pre > 0 && ((unsigned char)a[pre] & 0xC0) == 0x80)
		pre--; /* never split a UTF-8 sequence */
	while (suf < na - pre && suf < nb - pre && a[na - 1 - suf] == b[nb - 1 - suf])
		suf++;
	while (suf > 0 && ((unsigned char)a[na - suf] & 0xC0) == 0x80)
		suf--;
	esc_textn(f, a, pre);
	if (na - pre - suf > 0) {
		fputs("<mark>", f);
		esc_textn(f, a + pre, na - pre - suf);
		fputs("</mark>", f);
	}
	esc_text(f, a + na - suf);
}

static void why(FILE *f, const struct result *r)
{
	int has = (r->message && *r->message) || r->failed_step || r->expected || r->actual;
	if (!has || r->status == VERDICT_PASS)
		return;
	fputs("<div class=\"why\">\n", f);
	if (r->message && *r->message) {
		fputs("<p class=\"msg\">", f);
		esc_text(f, r->message);
		fputs("</p>\n", f);
	}
	if (r->failed_step || r->expected || r->actual || r->failed_ref) {
		fputs("<dl>\n", f);
		if (r->failed_step) {
			fputs("<dt>Step</dt><dd>", f);
			esc_text(f, r->failed_step);
			fputs("</dd>\n", f);
		}
		/* Mark the difference only when the two share something; else it is all noise. */
		int diff = r->expected && r->actual && *r->expected && *r->actual &&
		           (r->expected[0] == r->actual[0] ||
		            r->expected[strlen(r->expected) - 1] == r->actual[strlen(r->actual) - 1]);
		if (r->expected) {
			fputs("<dt>Expected</dt><dd><pre class=\"exp\">", f);
			if (diff)
				marked(f, r->expected, r->actual);
			else
				esc_text(f, r->expected);
			fputs("</pre></dd>\n", f);
		}
		if (r->actual) {
			fputs("<dt>Actual</dt><dd><pre class=\"act\">", f);
			if (diff)
				marked(f, r->actual, r->expected);
			else
				esc_text(f, r->actual);
			fputs("</pre></dd>\n", f);
		}
		if (r->failed_ref) {
			fputs("<dt>Requirement</dt><dd><code>", f);
			esc_text(f, r->failed_ref);
			fputs("</code></dd>\n", f);
		}
		fputs("</dl>\n", f);
	}
	fputs("</div>\n", f);
}

static void transcript(FILE *f, const struct result *r)
{
	if (!r->ntranscript) {
		fputs("<p class=\"facts\">No transcript.</p>\n", f);
		return;
	}
	int sessions = 0;
	for (size_t i = 0; i < r->ntranscript; i++)
		if (r->transcript[i].session && strcmp(r->transcript[i].session, "main") != 0)
			sessions = 1;
	fputs("<table class=\"tr\">\n", f);
	for (size_t i = 0; i < r->ntranscript; i++) {
		const struct tline *t = &r->transcript[i];
		const char *cls = t->kind == TLINE_CLIENT ? "k-c" : t->kind == TLINE_SERVER ? "k-s" : "k-n";
		const char *dir = t->kind == TLINE_CLIENT ? "C:" : t->kind == TLINE_SERVER ? "S:" : "*";
		int tls = t->kind == TLINE_NOTE && t->text && strstr(t->text, "TLS");
		fprintf(f, "<tr class=\"%s%s\"><td class=\"t\">%.1f</td>", cls, tls ? " tls" : "", t->t_ms);
		if (sessions) {
			fputs("<td class=\"ss\">", f);
			esc_text(f, t->session ? t->session : "main");
			fputs("</td>", f);
		}
		fprintf(f, "<td class=\"d\">%s</td><td class=\"x\">", dir);
		esc_text(f, t->text);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* failed_ref may name several requirements ("R1939-ML-2, R1939-TOP-1"): copy the next one into buf and
 * return where the rest starts. */
static const char *next_item(const char *p, char *buf, size_t size)
{
	size_t n = 0;
	while (*p == ' ' || *p == ',')
		p++;
	while (*p && *p != ',' && *p != ' ') {
		if (n + 1 < size)
			buf[n++] = *p;
		p++;
	}
	buf[n] = '\0';
	return p;
}

static int in_list(const char *list, const char *id)
{
	char one[128];
	while (list && *list) {
		list = next_item(list, one, sizeof one);
		if (strcmp(one, id) == 0)
			return 1;
	}
	return 0;
}

void html_scenario(FILE *f, const struct result *r, const struct reqs *req, const char *anchor_prefix,
                   int open, int filterable)
{
	const char *vn = verdict_name(r->status);
	char g[HTML_GROUP_MAX];
	fprintf(f, "<details class=\"sc v-%s\" id=\"", vn);
	esc_attr(f, anchor_prefix);
	esc_attr(f, r->id);
	fputc('"', f);
	if (filterable) {
		fprintf(f, " data-verdict=\"%s\" data-group=\"", vn);
		esc_attr(f, result_group(r->id, g, sizeof g));
		fputs("\" data-tags=\"", f);
		for (size_t i = 0; i < r->ntags; i++) {
			if (i)
				fputc(' ', f);
			esc_attr(f, r->tags[i]);
		}
		fputc('"', f);
	}
	fputs(open ? " open>\n<summary>" : ">\n<summary>", f);
	html_badge(f, r->status);
	fputs(" <code class=\"id\">", f);
	esc_text(f, r->id);
	fputs("</code> <span class=\"title\">", f);
	esc_text(f, r->title);
	fputs("</span> ", f);
	/* A closed scenario still says why it skipped. */
	if (r->status == VERDICT_SKIP && r->message && *r->message) {
		fputs("<span class=\"why1\">", f);
		esc_text_max(f, r->message, 160);
		fputs("</span> ", f);
	}
	fputs("<span class=\"lvl\">", f);
	esc_text(f, r->level);
	fputs("</span> <span class=\"dur\">", f);
	duration(f, r->duration_ms);
	fputs("</span> <a class=\"perma\" title=\"permalink\" href=\"#", f);
	esc_fragment(f, anchor_prefix);
	esc_fragment(f, r->id);
	fputs("\">#</a></summary>\n<div class=\"body\">\n", f);
	why(f, r);

	if (r->nrefs || r->failed_ref) {
		int judged = r->failed_ref && r->status != VERDICT_PASS;
		fputs("<ul class=\"refs\">\n", f);
		for (size_t i = 0; i < r->nrefs; i++)
			ref_item(f, r->refs[i], req, judged && in_list(r->failed_ref, r->refs[i]));
		/* A per-response check can fail on a requirement the scenario does not cite. */
		for (const char *p = r->failed_ref; judged && p && *p;) {
			char one[128];
			p = next_item(p, one, sizeof one);
			int cited = 0;
			for (size_t i = 0; i < r->nrefs && !cited; i++)
				cited = strcmp(r->refs[i], one) == 0;
			if (*one && !cited)
				ref_item(f, one, req, 1);
		}
		fputs("</ul>\n", f);
	}
	fputs("<p class=\"facts\">", f);
	for (size_t i = 0; i < r->ntags; i++) {
		fputs("<span class=\"tag\">", f);
		esc_text(f, r->tags[i]);
		fputs("</span>", f);
	}
	if (r->file) {
		fputs(" file <code>", f);
		esc_text(f, r->file);
		fputs("</code>", f);
	}
	fputs("</p>\n", f);
	transcript(f, r);
	fputs("</div>\n</details>\n", f);
}
