/* cli_run.c — `pop3spec run`: load and select scenarios, load (or start) the targets, probe each, run the
 * selection against each, apply a baseline, write the reports, and turn the verdicts into the exit status. */
#include "runner/cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "runner/exec.h"
#include "runner/fixture.h"
#include "runner/plan.h"
#include "runner/report/report.h"
#include "runner/target.h"

#if defined(__has_include)
#if __has_include("runner/reference.h")
#include "runner/reference.h"
#define HAVE_REFERENCE 1
#endif
#endif

struct run_target {
	struct target t;
	bool loaded;
	bool is_reference;
	struct probe p;
	bool probed;
	struct run run;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The first of PATH/NAME, PATH/../NAME, ... (up to 4 levels) that exists as a file (dir=false) or folder. */
static bool find_up(const char *path, const char *name, bool dir, char *out, size_t size)
{
	char abs[PATH_MAX];
	if (!realpath(path, abs))
		return false;
	if (!is_dir(abs)) {
		char *slash = strrchr(abs, '/');
		if (slash && slash != abs)
			*slash = '\0';
	}
	for (int up = 0; up < 5; up++) {
		struct stat st;
		int w = snprintf(out, size, "%s/%s", strcmp(abs, "/") == 0 ? "" : abs, name);
		if (w > 0 && (size_t)w < size && stat(out, &st) == 0 && (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)))
			return true;
		char *slash = strrchr(abs, '/');
		if (!slash || slash == abs)
			return false;
		*slash = '\0';
	}
	return false;
}

/* The suite's version: the first line of VERSION in the scenario folder (or above the path given). */
static char *suite_version(const char *path)
{
	char vpath[PATH_MAX], line[80];
	if (!find_up(path, "VERSION", false, vpath, sizeof vpath))
		return strdup("unknown");
	FILE *f = fopen(vpath, "r");
	if (!f || !fgets(line, sizeof line, f)) {
		if (f)
			fclose(f);
		return strdup("unknown");
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return strdup(line[0] ? line : "unknown");
}

static const char *fixtures_dir(const struct cli *c, const char *scen_path, char *buf, size_t size)
{
	if (c->fixtures)
		return c->fixtures;
	if (find_up(scen_path, "fixtures", true, buf, size))
		return buf;
	if (is_dir("fixtures"))
		return "fixtures";
	return POP3SPEC_DATADIR "/fixtures";
}

static char *iso_now(void)
{
	char buf[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return strdup(buf);
}

/* FILE with "-NAME" before its extension, for one report per target of a comparison run. */
static void per_target_path(const char *file, const char *name, char *out, size_t size)
{
	if (strcmp(file, "-") == 0) {
		snprintf(out, size, "-");
		return;
	}
	char safe[64];
	size_t k = 0;
	for (const char *p = name; *p && k + 1 < sizeof safe; p++)
		safe[k++] = (strchr("-_.", *p) || (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z'))
		                    ? *p
		                    : '_';
	safe[k] = '\0';
	const char *slash = strrchr(file, '/');
	const char *dot = strrchr(file, '.');
	if (dot && (!slash || dot > slash + 1))
		snprintf(out, size, "%.*s-%s%s", (int)(dot - file), file, safe, dot);
	else
		snprintf(out, size, "%s-%s", file, safe);
}

/* What the observer needs: the console, and the baseline (or NULL) each result is judged against. */
struct obs_ctx {
	struct console con;
	const struct run *baseline;
	size_t diffs;
};

static void obs_started(void *ctx, const struct scenario *sc)
{
	struct obs_ctx *oc = ctx;
	console_start(&oc->con, sc->id);
}

/* The baseline is applied to each result as it ends, before its console line, so the line shows the
 * verdict the summary, the reports and the exit status use (a PASS line for a result the baseline turns
 * into FAIL "differs from baseline" would contradict them). */
static void obs_finished(void *ctx, struct result *r)
{
	struct obs_ctx *oc = ctx;
	if (oc->baseline) {
		struct run one = {.results = r, .nresults = 1};
		oc->diffs += report_apply_baseline(&one, oc->baseline);
	}
	console_result(&oc->con, r);
}

/* exec fills results completely; this only guards the reporters against a result left without its
 * scenario's identity. */
static int fill_identity(struct result *r, const struct scenario *sc)
{
	if (r->id)
		return 0;
	r->id = strdup(sc->id);
	r->title = strdup(sc->title);
	r->level = strdup(level_name(sc->level));
	r->file = strdup(sc->file);
	r->refs = calloc(sc->nrefs ? sc->nrefs : 1, sizeof *r->refs);
	r->tags = calloc(sc->ntags ? sc->ntags : 1, sizeof *r->tags);
	if (!r->id || !r->title || !r->level || !r->file || !r->refs || !r->tags)
		return -1;
	for (; r->nrefs < sc->nrefs; r->nrefs++)
		if (!(r->refs[r->nrefs] = strdup(sc->refs[r->nrefs])))
			return -1;
	for (; r->ntags < sc->ntags; r->ntags++)
		if (!(r->tags[r->ntags] = strdup(sc->tags[r->ntags])))
			return -1;
	if (!r->message)
		r->message = strdup("not run");
	r->status = VERDICT_ERROR;
	return 0;
}

/* The greeting for the reports: every octet, a NUL written as the four characters \x00 (a C string
 * would end there); the reporters escape everything else for their formats themselves. */
static char *greeting_text(const char *g, size_t len)
{
	if (g == NULL)
		return NULL;
	size_t nuls = 0;
	for (size_t i = 0; i < len; i++)
		nuls += g[i] == '\0';
	char *out = malloc(len + 3 * nuls + 1), *o = out;
	for (size_t i = 0; out && i < len; i++) {
		if (g[i] == '\0') {
			memcpy(o, "\\x00", 4);
			o += 4;
		} else {
			*o++ = g[i];
		}
	}
	if (out)
		*o = '\0';
	return out;
}

static int fill_info(struct run_info *in, const struct run_target *rt, const struct cli *c, const char *suite,
                     char *started, long duration)
{
	in->target_name = xstrdup(rt->t.name ? rt->t.name : rt->t.file);
	in->target_host = xstrdup(rt->t.host);
	in->target_port = rt->t.port;
	in->target_tls_port = rt->t.tls_port;
	in->greeting = greeting_text(rt->p.greeting, rt->p.greeting_len);
	char way[64];
	in->login_method = strdup(exec_login_way_name(&rt->p, way, sizeof way));
	if (rt->p.ncapa) {
		in->capa = calloc(rt->p.ncapa, sizeof *in->capa);
		if (!in->capa)
			return -1;
		for (; in->ncapa < rt->p.ncapa; in->ncapa++)
			if (!(in->capa[in->ncapa] = strdup(rt->p.capa[in->ncapa])))
				return -1;
	}
	in->runner_version = strdup(POP3SPEC_VERSION);
	in->suite_version = strdup(suite);
	in->options = strdup(c->options);
	in->started = started;
	in->duration_ms = duration;
	in->strict = c->strict;
	return in->runner_version && in->suite_version && in->options && in->started ? 0 : -1;
}

static int write_reports(const struct cli *c, const struct run *run, const char *reqmd, bool several)
{
	struct p3err err;
	char path[PATH_MAX];
	int rc = 0;
	if (c->json) {
		const char *dst = c->json;
		if (several) {
			per_target_path(c->json, run->info.target_name, path, sizeof path);
			dst = path;
		}
		if (report_json_write(run, dst, &err) < 0) {
			fprintf(stderr, "pop3spec: %s\n", err.msg);
			rc = -1;
		}
	}
	if (c->junit) {
		const char *dst = c->junit;
		if (several) {
			per_target_path(c->junit, run->info.target_name, path, sizeof path);
			dst = path;
		}
		if (report_junit_write(run, dst, &err) < 0) {
			fprintf(stderr, "pop3spec: %s\n", err.msg);
			rc = -1;
		}
	}
	if (c->html && !several && report_html_write(run, reqmd, c->html, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		rc = -1;
	}
	return rc;
}

static int run_one(const struct cli *c, struct run_target *rt, struct scenario **sel, size_t nsel,
                   const struct exec_opts *eo, const struct run *baseline, const char *suite, bool several)
{
	struct obs_ctx oc = { .baseline = baseline };
	struct console *con = &oc.con;
	console_init(con, c->verbosity == 0 ? CONSOLE_QUIET : c->verbosity == 2 ? CONSOLE_VERBOSE : CONSOLE_NORMAL,
	             nsel);
	if (several && c->verbosity)
		fprintf(con->out, "== %s (%s:%d) ==\n", rt->t.name ? rt->t.name : rt->t.file, rt->t.host, rt->t.port);
	struct exec_observer obs = { obs_started, obs_finished, &oc };
	struct result *results = calloc(nsel, sizeof *results);
	if (!results) {
		fprintf(stderr, "pop3spec: out of memory\n");
		return -1;
	}
	char *started = iso_now();
	double t0 = now_ms();
	struct p3err err;
	int rc = exec_run_all(sel, nsel, &rt->t, &rt->p, eo, &obs, results, &err);
	long duration = (long)(now_ms() - t0);
	rt->run.results = results;
	rt->run.nresults = nsel;
	if (rc < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		free(started);
		return -1;
	}
	for (size_t i = 0; i < nsel; i++)
		if (fill_identity(&results[i], sel[i]) < 0) {
			free(started);
			fprintf(stderr, "pop3spec: out of memory\n");
			return -1;
		}
	if (fill_info(&rt->run.info, rt, c, suite, started, duration) < 0) {
		fprintf(stderr, "pop3spec: out of memory\n");
		return -1;
	}
	if (baseline && c->verbosity)
		fprintf(con->out, "baseline %s: %zu result%s differ\n", c->baseline, oc.diffs, oc.diffs == 1 ? "" : "s");
	console_summary(con, &rt->run);
	return 0;
}

int cli_run(struct cli *c)
{
	size_t ntargets = c->ntargets + (c->reference ? 1 : 0);
	if (ntargets == 0)
		return cli_usage_error("run needs --target FILE or --reference");
	if (c->baseline && ntargets > 1)
		return cli_usage_error("--baseline goes with one target only");
#ifndef HAVE_REFERENCE
	if (c->reference)
		return cli_usage_error("--reference is not available in this build (runner/reference.h missing)");
#endif
	int rc = EXIT_USAGE;
	struct reqs r;
	bool have_reqs = false;
	char reqmd[PATH_MAX], fxbuf[PATH_MAX];
	struct scenario_list l = { 0 };
	struct scenario **sel = NULL;
	size_t nsel = 0;
	struct run baseline;
	bool have_baseline = false;
	struct run_target *rts = calloc(ntargets, sizeof *rts);
	char *suite = NULL;
	struct p3err err;
	if (!rts)
		return EXIT_USAGE;

	/* Everything that can be wrong with the input is found before anything runs (exit 2). */
	if (cli_load_reqs(c, false, &r, &have_reqs, reqmd, sizeof reqmd) < 0)
		goto out;
	if (cli_load_scenarios(c, have_reqs ? &r : NULL, &l) < 0)
		goto out;
	struct plan_opts po = { c->filters, c->nfilters, c->tags, c->ntags, c->all, c->shard_index, c->shard_count };
	if (plan_select(l.v, l.n, &po, &sel, &nsel, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		goto out;
	}
	if (nsel == 0) {
		fprintf(stderr, "pop3spec: no scenario selected (%zu loaded%s); nothing to run\n", l.n,
		        c->shard_index ? ", after sharding" : "");
		goto out;
	}
	if (c->baseline) {
		if (report_json_read(c->baseline, &baseline, &err) < 0) {
			fprintf(stderr, "pop3spec: %s\n", err.msg);
			goto out;
		}
		have_baseline = true;
		report_sort(&baseline); /* applied result by result: index it once, in order */
	}
	size_t k = 0;
#ifdef HAVE_REFERENCE
	/* runner/reference.h: start bin/pop3refd on free ports; see reference_start there. */
	if (c->reference) {
		if (reference_start(&rts[k].t, &err) < 0) {
			fprintf(stderr, "pop3spec: --reference: %s\n", err.msg);
			goto out;
		}
		rts[k].loaded = rts[k].is_reference = true;
		k++;
	}
#endif
	for (size_t i = 0; i < c->ntargets; i++, k++) {
		if (target_load(c->targets[i], &rts[k].t, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			goto out;
		}
		rts[k].loaded = true;
	}

	const char *first = c->npaths ? c->paths[0] : cli_default_scenarios();
	suite = suite_version(first);
	struct exec_opts eo = {
		.step_timeout = c->timeout,
		.login_timeout = c->login_timeout,
		.jobs = c->jobs,
		.fixtures_dir = fixtures_dir(c, first, fxbuf, sizeof fxbuf),
		.live_transcript = c->verbosity == 2,
	};
	for (size_t i = 0; i < ntargets; i++) {
		if (exec_probe(&rts[i].t, &eo, &rts[i].p, &err) < 0) {
			fprintf(stderr, "pop3spec: target %s: %s\n", rts[i].t.name ? rts[i].t.name : rts[i].t.file, err.msg);
			goto out;
		}
		rts[i].probed = true;
		/* A profile mistake (a wrong password, login_tls false on a TLS-only server) is not the
		 * server's deviation: one sentence and exit 2, before any scenario. */
		if (exec_probe_accounts(&rts[i].t, &eo, &rts[i].p, &err) < 0) {
			fprintf(stderr, "pop3spec: target %s: %s\n", rts[i].t.name ? rts[i].t.name : rts[i].t.file, err.msg);
			goto out;
		}
		if (rts[i].p.gap != GAP_NONE)
			fprintf(stderr, "pop3spec: target %s: the probe could not learn the capabilities (%s); "
			                "scenarios that require one it would have shown are errors\n",
			        rts[i].t.name ? rts[i].t.name : rts[i].t.file,
			        rts[i].p.gap_why ? rts[i].p.gap_why : "no usable answer");
	}

	/* From here on scenarios run: failures are verdicts (exit 1), not input errors. */
	rc = EXIT_PASSED;
	for (size_t i = 0; i < ntargets; i++) {
		if (run_one(c, &rts[i], sel, nsel, &eo, have_baseline ? &baseline : NULL, suite, ntargets > 1) < 0) {
			rc = EXIT_FAILED;
			continue;
		}
		if (write_reports(c, &rts[i].run, have_reqs ? reqmd : NULL, ntargets > 1) < 0)
			rc = EXIT_FAILED;
		struct run_summary s;
		run_summarize(&rts[i].run, &s);
		if (s.failed || s.errors || (c->strict && s.warnings))
			rc = EXIT_FAILED;
	}
	if (ntargets > 1 && c->html) {
		struct run *runs = calloc(ntargets, sizeof *runs);
		if (!runs) {
			rc = EXIT_FAILED;
		} else {
			for (size_t i = 0; i < ntargets; i++)
				runs[i] = rts[i].run; /* shallow: still owned by rts */
			if (report_html_compare(runs, ntargets, have_reqs ? reqmd : NULL, c->html, &err) < 0) {
				fprintf(stderr, "pop3spec: %s\n", err.msg);
				rc = EXIT_FAILED;
			}
			free(runs);
		}
	}
out:
	for (size_t i = 0; i < ntargets; i++) {
		if (rts[i].probed)
			probe_free(&rts[i].p);
		run_free(&rts[i].run);
#ifdef HAVE_REFERENCE
		if (rts[i].is_reference) {
			reference_stop(&rts[i].t);
			continue;
		}
#endif
		if (rts[i].loaded)
			target_free(&rts[i].t);
	}
	free(rts);
	fixture_cache_clear();
	if (have_baseline)
		run_free(&baseline);
	free(suite);
	free(sel);
	scenario_list_free(&l);
	if (have_reqs)
		reqs_free(&r);
	return rc;
}
