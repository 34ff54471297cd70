/* cli_cmds.c — the commands that run nothing: list, check, coverage, and report (--merge, --compare). */
#include "runner/cli.h"
#include "runner/client/client.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runner/coverage.h"
#include "runner/plan.h"
#include "runner/report/report.h"
#include "runner/target.h"

/* ---------- list ---------- */

int cli_list(struct cli *c)
{
	struct scenario_list l;
	if (cli_load_scenarios(c, NULL, &l) < 0)
		return EXIT_USAGE;
	struct scenario **sel = l.v;
	size_t nsel = l.n;
	bool selecting = c->nfilters || c->ntags || c->shard_index || c->all;
	if (selecting) {
		if (cli_select(c, &l, NULL, 0, &sel, &nsel) < 0) {
			scenario_list_free(&l);
			return EXIT_USAGE;
		}
	}
	int w = 0;
	for (size_t i = 0; i < nsel; i++)
		if ((int)strlen(sel[i]->id) > w)
			w = (int)strlen(sel[i]->id);
	for (size_t i = 0; i < nsel; i++) {
		const struct scenario *sc = sel[i];
		printf("%-*s  %-6s  %s  [", w, sc->id, level_name(sc->level), sc->title);
		for (size_t k = 0; k < sc->nrefs; k++)
			printf("%s%s", k ? ", " : "", sc->refs[k]);
		printf("]\n");
	}
	int rc = EXIT_PASSED;
	if (nsel == 0) {
		fprintf(stderr, "pop3spec: no scenario selected (%zu loaded)\n", l.n);
		rc = EXIT_USAGE;
	}
	if (selecting)
		free(sel);
	scenario_list_free(&l);
	return rc;
}

/* ---------- check ---------- */

struct checked {
	size_t files, errors;
	struct scenario **v; /* the scenarios loaded from files named one by one, for duplicate ids */
	size_t n, cap;
};

static void check_error(void *ctx, const char *msg)
{
	struct checked *k = ctx;
	k->errors++;
	fprintf(stderr, "%s\n", msg);
}

static int by_id(const void *a, const void *b)
{
	const struct scenario *x = *(const struct scenario *const *)a,
	                      *y = *(const struct scenario *const *)b;
	return strcmp(x->id, y->id);
}

static void check_file(const char *path, const struct load_opts *o, struct checked *k)
{
	struct p3err err;
	enum load_kind kind;
	k->files++;
	if (load_sniff(path, &kind, &err) < 0) {
		check_error(k, err.msg);
		return;
	}
	switch (kind) {
	case LOAD_KIND_SCENARIO: {
		struct scenario *sc;
		if (load_scenario_file(path, o, &sc, &err) < 0) {
			check_error(k, err.msg);
			return;
		}
		if (k->n == k->cap) {
			size_t ncap = k->cap ? k->cap * 2 : 16;
			struct scenario **nv = realloc(k->v, ncap * sizeof *nv);
			if (!nv) {
				scenario_free(sc);
				check_error(k, "out of memory");
				return;
			}
			k->v = nv;
			k->cap = ncap;
		}
		k->v[k->n++] = sc;
		return;
	}
	case LOAD_KIND_CLIENT: {
		struct cprofile p;
		if (cprofile_load(path, &p, &err) < 0)
			check_error(k, err.msg);
		else
			cprofile_free(&p);
		return;
	}
	case LOAD_KIND_TARGET: {
		struct target t;
		memset(&t, 0, sizeof t);
		if (target_load(path, &t, &err) < 0)
			check_error(k, err.msg);
		else
			target_free(&t);
		return;
	}
	case LOAD_KIND_UNKNOWN:
		snprintf(
		    err.msg, sizeof err.msg,
		    "%s:1:1: neither a scenario (keys id, title, refs, level, steps) nor a target profile "
		    "(keys name, host, port, accounts)",
		    path);
		check_error(k, err.msg);
		return;
	}
}

int cli_check(struct cli *c)
{
	if (c->npaths == 0)
		return cli_usage_error(
		    "check needs FILE... (scenario files, folders of them, or target profiles)");
	struct reqs r;
	bool have;
	char rpath[PATH_MAX];
	if (cli_load_reqs(c, false, &r, &have, rpath, sizeof rpath) < 0)
		return EXIT_USAGE;
	if (!have)
		fprintf(stderr,
		        "pop3spec: note: REQUIREMENTS.md not found; requirement ids checked for form only\n");
	struct checked k = {0};
	struct load_opts o = {.reqs = have ? &r : NULL,
	                      .on_error = check_error,
	                      .ctx = &k,
	                      .client_parse = cli_client_paths(c) ? cscen_parse : NULL};
	for (size_t i = 0; i < c->npaths; i++) {
		struct stat st;
		if (stat(c->paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			struct scenario_list l;
			struct p3err err;
			size_t before = k.errors;
			if (load_scenarios(&c->paths[i], 1, &o, &l, &err) == 0) {
				k.files += l.n;
				scenario_list_free(&l);
			} else if (k.errors == before) {
				check_error(&k, err.msg);
			}
		} else {
			check_file(c->paths[i], &o, &k);
		}
	}
	/* Files named one by one can still share an id. */
	if (k.n > 1) /* qsort's base may not be NULL, even for no elements */
		qsort(k.v, k.n, sizeof *k.v, by_id);
	for (size_t i = 1; i < k.n; i++) {
		if (strcmp(k.v[i - 1]->id, k.v[i]->id) != 0)
			continue;
		char msg[P3ERR_MAX];
		snprintf(msg, sizeof msg, "%s:%d:%d: duplicate scenario id '%s' (also in %s)", k.v[i]->file,
		         k.v[i]->id_pos.line, k.v[i]->id_pos.column, k.v[i]->id, k.v[i - 1]->file);
		check_error(&k, msg);
	}
	for (size_t i = 0; i < k.n; i++)
		scenario_free(k.v[i]);
	free(k.v);
	if (have)
		reqs_free(&r);
	if (k.errors) {
		fprintf(stderr, "pop3spec: %zu error%s\n", k.errors, k.errors == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	printf("%zu file%s ok\n", k.files, k.files == 1 ? "" : "s");
	return EXIT_PASSED;
}

/* ---------- coverage ---------- */

/* docs/coverage.md: --uncovered, else ./docs/coverage.md, else next to the scenario folder's parent. */
static const char *find_listed(const struct cli *c, char *buf, size_t size)
{
	struct stat st;
	if (c->uncovered)
		return c->uncovered;
	/* docs/coverage.md lists server rows; the client catalog has no uncovered-by-design list. */
	if (cli_client_paths(c))
		return NULL;
	if (stat("docs/coverage.md", &st) == 0)
		return "docs/coverage.md";
	const char *dir = c->npaths ? c->paths[0] : cli_default_scenarios();
	snprintf(buf, size, "%s/../docs/coverage.md", dir);
	return stat(buf, &st) == 0 ? buf : NULL;
}

int cli_coverage(struct cli *c)
{
	struct reqs r;
	bool have;
	char rpath[PATH_MAX], lbuf[PATH_MAX];
	if (cli_load_reqs(c, true, &r, &have, rpath, sizeof rpath) < 0)
		return EXIT_USAGE;
	struct scenario_list l;
	if (cli_load_scenarios(c, &r, &l) < 0) {
		reqs_free(&r);
		return EXIT_USAGE;
	}
	int rc = EXIT_USAGE;
	struct cov_listed listed = {0};
	struct coverage cov;
	struct p3err err;
	const char *lpath = find_listed(c, lbuf, sizeof lbuf);
	if (lpath && coverage_read_listed(lpath, &listed, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		goto out;
	}
	if (coverage_compute(&r, l.v, l.n, lpath ? &listed : NULL, &cov, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		goto out;
	}
	coverage_print(stdout, stderr, &cov, l.v, lpath ? &listed : NULL, &r);
	printf("catalog: %s; scenarios: %zu; uncovered list: %s\n", rpath, l.n, lpath ? lpath : "(none)");
	rc = cov.gating_missing ? EXIT_FAILED : EXIT_PASSED;
	coverage_free(&cov);
out:
	coverage_listed_free(&listed);
	scenario_list_free(&l);
	reqs_free(&r);
	return rc;
}

/* ---------- report ---------- */

int cli_report(struct cli *c)
{
	if (c->merge == c->compare)
		return cli_usage_error("report needs --merge or --compare (one of them)");
	if (c->npaths == 0)
		return cli_usage_error("report needs the JSON reports to read");
	if (c->compare && !c->html)
		return cli_usage_error("report --compare needs --html FILE");
	if (c->compare && (c->json || c->junit))
		return cli_usage_error("report --compare writes --html only");
	if (c->allow_partial && !c->merge)
		return cli_usage_error("--allow-partial goes with --merge");
	if (cli_reports_on_stdout(c) > 1)
		return cli_usage_error(
		    "only one report can go to standard output ('-'); give the others a file");
	const char *outs[3] = {c->json, c->junit, c->html};
	for (int i = 0; i < 3; i++) {
		struct p3err oerr;
		if (outs[i] && cli_check_output(outs[i], &oerr) < 0)
			return cli_usage_error(oerr.msg);
	}
	struct reqs r;
	bool have;
	char rpath[PATH_MAX];
	if (cli_load_reqs(c, false, &r, &have, rpath, sizeof rpath) < 0)
		return EXIT_USAGE;
	if (have)
		reqs_free(&r); /* the HTML reporter reads the file itself */
	const char *reqmd = have ? rpath : NULL;

	struct run *runs = calloc(c->npaths, sizeof *runs);
	if (!runs)
		return EXIT_USAGE;
	int rc = EXIT_USAGE;
	size_t nread = 0;
	struct p3err err;
	for (; nread < c->npaths; nread++) {
		if (report_json_read(c->paths[nread], &runs[nread], &err) < 0) {
			fprintf(stderr, "pop3spec: %s\n", err.msg);
			goto out;
		}
	}
	if (c->compare) {
		if (report_html_compare(runs, nread, reqmd, c->html, &err) < 0) {
			fprintf(stderr, "pop3spec: %s\n", err.msg);
			goto out;
		}
		rc = EXIT_PASSED;
		goto out;
	}
	char why[300];
	bool partial = report_merge_check(runs, nread, why, sizeof why) < 0;
	if (partial && !c->allow_partial) {
		fprintf(stderr, "pop3spec: report --merge: %s; give --allow-partial to merge them anyway\n",
		        why);
		goto out;
	}
	if (partial)
		fprintf(stderr, "pop3spec: warning: %s; the merged report is marked incomplete\n", why);
	struct run merged;
	memset(&merged, 0, sizeof merged);
	if (report_merge(runs, nread, &merged, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		goto out;
	}
	merged.info.strict = c->strict;
	if (partial) {
		char note[360];
		snprintf(note, sizeof note, "merged with --allow-partial: %s", why);
		free(merged.info.stopped);
		merged.info.stopped = strdup(note);
		merged.info.incomplete = 1;
	}
	const char *json = c->json ? c->json : (!c->junit && !c->html ? "-" : NULL);
	if ((json && report_json_write(&merged, json, &err) < 0) ||
	    (c->junit && report_junit_write(&merged, c->junit, &err) < 0) ||
	    (c->html && report_html_write(&merged, reqmd, c->html, &err) < 0)) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
	} else {
		rc = cli_exit_status(&merged, c->strict);
	}
	run_free(&merged);
out:
	for (size_t i = 0; i < nread; i++)
		run_free(&runs[i]);
	free(runs);
	return rc;
}
