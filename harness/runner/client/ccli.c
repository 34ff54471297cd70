/* ccli.c — `pop3spec client run` (docs/clients.md): the run options of `pop3spec run` with --client
 * PROFILE instead of a target; loads the client catalog and scenarios (scenarios/clients/), selects them
 * with plan.c, makes the run's certificates, runs the scenarios on -j workers (each its own ports and
 * client process), and writes the same console, JSON, JUnit and HTML reports with mode "client". */
#include "runner/client/client.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runner/cli.h"
#include "runner/datadir.h"
#include "runner/fixture.h"
#include "runner/plan.h"
#include "runner/report/report.h"
#include "runner/stop.h"

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* ./scenarios/clients, else the installed suite's. */
static const char *default_path(char *buf, size_t size)
{
	if (is_dir("scenarios/clients"))
		return "scenarios/clients";
	snprintf(buf, size, "%s/scenarios/clients", datadir());
	return buf;
}

/* PATH/REQUIREMENTS.md, or beside a file given, else the default folder's. */
static bool catalog_path(const char *first, char *out, size_t size)
{
	snprintf(out, size, "%s/REQUIREMENTS.md", first);
	if (is_file(out))
		return true;
	const char *slash = strrchr(first, '/');
	for (int up = 0; slash && up < 4; up++) {
		snprintf(out, size, "%.*s/REQUIREMENTS.md", (int)(slash - first), first);
		if (is_file(out) && strstr(out, "clients"))
			return true;
		const char *prev = slash;
		slash = NULL;
		for (const char *p = first; p < prev; p++)
			if (*p == '/')
				slash = p;
	}
	char d[PATH_MAX];
	snprintf(out, size, "%s/REQUIREMENTS.md", default_path(d, sizeof d));
	return is_file(out);
}

static const char *fixtures_dir(const struct cli *c, char *buf, size_t size)
{
	if (c->fixtures)
		return c->fixtures;
	if (is_dir("fixtures"))
		return "fixtures";
	snprintf(buf, size, "%s/fixtures", datadir());
	return buf;
}

static void print_error(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

struct pool {
	const struct crun_ctx *x;
	struct scenario **sel;
	size_t nsel, next;
	struct result *results;
	bool *done;
	struct console *con;
	const struct run *baseline;
	size_t diffs;
	pthread_mutex_t mu;
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		if (p->next >= p->nsel || stop_requested() != STOP_NONE) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		size_t i = p->next++;
		console_start(p->con, p->sel[i]->id);
		pthread_mutex_unlock(&p->mu);
		crun_scenario(p->x, p->sel[i], (int)i, &p->results[i]);
		pthread_mutex_lock(&p->mu);
		p->done[i] = stop_requested() == STOP_NONE;
		if (p->done[i]) {
			if (p->baseline) {
				struct run one = {.results = &p->results[i], .nresults = 1};
				p->diffs += report_apply_baseline(&one, p->baseline);
			}
			console_result(p->con, &p->results[i]);
		}
		pthread_mutex_unlock(&p->mu);
	}
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

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static char *suite_version(const char *first)
{
	char p[PATH_MAX], line[80] = "";
	snprintf(p, sizeof p, "%s/../VERSION", first);
	FILE *f = fopen(p, "r");
	if (f && fgets(line, sizeof line, f))
		line[strcspn(line, "\r\n")] = '\0';
	if (f)
		fclose(f);
	return strdup(line[0] ? line : "unknown");
}

int cli_client_run(struct cli *c)
{
	if (!c->client)
		return cli_usage_error("client run needs --client PROFILE (fixtures/clients/NAME.yaml)");
	if (c->ntargets || c->reference)
		return cli_usage_error("client run takes --client, not --target or --reference");
	if (c->rerun_failed)
		return cli_usage_error("--rerun-failed does not go with client run yet");
	if (cli_reports_on_stdout(c) > 1)
		return cli_usage_error("at most one report can go to standard output ('-')");
	const char *outs[3] = {c->json, c->junit, c->html};
	struct p3err err;
	for (int i = 0; i < 3; i++)
		if (outs[i] && cli_check_output(outs[i], &err) < 0)
			return cli_usage_error(err.msg);
	stop_init();
	int rc = EXIT_USAGE;
	char defbuf[PATH_MAX], reqmd[PATH_MAX], fxbuf[PATH_MAX];
	const char *def[1] = {default_path(defbuf, sizeof defbuf)};
	const char *const *paths = c->npaths ? c->paths : def;
	size_t npaths = c->npaths ? c->npaths : 1;
	struct reqs r;
	bool have_reqs = false, have_prof = false, have_certs = false, have_baseline = false;
	struct scenario_list l = {0};
	struct scenario **sel = NULL;
	size_t nsel = 0;
	struct cprofile prof;
	struct ccerts certs;
	struct run run = {0}, baseline;
	struct result *results = NULL;
	bool *done = NULL;
	char *suite = NULL;

	const char *rq = c->requirements;
	if (!rq && catalog_path(paths[0], reqmd, sizeof reqmd))
		rq = reqmd;
	if (rq) {
		if (reqs_load(rq, &r, &err) < 0) {
			fprintf(stderr, "pop3spec: %s\n", err.msg);
			goto out;
		}
		snprintf(reqmd, sizeof reqmd, "%s", rq);
		have_reqs = true;
	}
	struct load_opts lo = {
	    .reqs = have_reqs ? &r : NULL, .on_error = print_error, .client_parse = cscen_parse};
	if (load_scenarios(paths, npaths, &lo, &l, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		goto out;
	}
	struct plan_opts po = {.filters = c->filters,
	                       .nfilters = c->nfilters,
	                       .tags = c->tags,
	                       .ntags = c->ntags,
	                       .all = c->all,
	                       .shard_index = c->shard_index,
	                       .shard_count = c->shard_count};
	if (plan_select(l.v, l.n, &po, &sel, &nsel, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		goto out;
	}
	if (nsel == 0) {
		fprintf(stderr, "pop3spec: no client scenario selected (%zu loaded); nothing to run\n", l.n);
		goto out;
	}
	if (cprofile_load(c->client, &prof, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	have_prof = true;
	if (c->baseline) {
		if (report_json_read(c->baseline, &baseline, &err) < 0) {
			fprintf(stderr, "pop3spec: %s\n", err.msg);
			goto out;
		}
		have_baseline = true;
		report_sort(&baseline);
	}
	if (ccerts_make(&certs, &err) < 0) {
		fprintf(stderr, "pop3spec: certificates: %s\n", err.msg);
		goto out;
	}
	have_certs = true;

	rc = EXIT_PASSED;
	struct console con;
	console_init(&con,
	             c->verbosity == 0   ? CONSOLE_QUIET
	             : c->verbosity == 2 ? CONSOLE_VERBOSE
	                                 : CONSOLE_NORMAL,
	             nsel);
	if (cli_reports_on_stdout(c))
		console_set_out(&con, stderr);
	/* --timeout is per step for servers; a client run is one step, so its default is longer. */
	bool timeout_given = strstr(c->options, "--timeout") != NULL;
	struct crun_ctx x = {.prof = &prof,
	                     .certs = &certs,
	                     .fixtures_dir = fixtures_dir(c, fxbuf, sizeof fxbuf),
	                     .timeout = timeout_given ? c->timeout : CLIENT_DEFAULT_TIMEOUT,
	                     .timeout_given = timeout_given,
	                     .live = c->verbosity == 2};
	results = calloc(nsel, sizeof *results);
	done = calloc(nsel, sizeof *done);
	if (!results || !done) {
		fprintf(stderr, "pop3spec: out of memory\n");
		rc = EXIT_FAILED;
		goto out;
	}
	struct pool pool = {.x = &x,
	                    .sel = sel,
	                    .nsel = nsel,
	                    .results = results,
	                    .done = done,
	                    .con = &con,
	                    .baseline = have_baseline ? &baseline : NULL};
	pthread_mutex_init(&pool.mu, NULL);
	int jobs = c->jobs > 0 ? c->jobs : 1;
	if ((size_t)jobs > nsel)
		jobs = (int)nsel;
	pthread_t th[256];
	int started_n = 0;
	char *started = iso_now();
	double t0 = now_ms();
	for (int i = 1; i < jobs; i++)
		if (pthread_create(&th[started_n], NULL, worker, &pool) == 0)
			started_n++;
	worker(&pool);
	for (int i = 0; i < started_n; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&pool.mu);
	/* Only the scenarios that ended before a stop are results (the report is then incomplete). */
	size_t k = 0;
	for (size_t i = 0; i < nsel; i++) {
		if (done[i]) {
			if (k != i) {
				results[k] = results[i];
				memset(&results[i], 0, sizeof results[i]);
			}
			k++;
		} else {
			result_free(&results[i]);
		}
	}
	run.results = results;
	run.nresults = k;
	results = NULL;
	struct run_info *in = &run.info;
	in->target_name = strdup(prof.name);
	in->target_host = strdup("127.0.0.1");
	in->mode = strdup("client");
	in->runner_version = strdup(POP3SPEC_VERSION);
	in->suite_version = suite = suite_version(paths[0]);
	suite = NULL;
	in->options = strdup(c->options);
	in->started = started;
	in->duration_ms = (long)(now_ms() - t0);
	in->strict = c->strict;
	in->shard_index = c->shard_index;
	in->shard_count = c->shard_index ? c->shard_count : 0;
	if (k < nsel) {
		in->incomplete = 1;
		in->not_run = nsel - k;
		in->stopped = strdup("interrupted");
	}
	if (have_baseline && c->verbosity)
		fprintf(con.out, "baseline %s: %zu result%s differ\n", c->baseline, pool.diffs,
		        pool.diffs == 1 ? "" : "s");
	console_summary(&con, &run);
	if (c->json && report_json_write(&run, c->json, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		rc = EXIT_FAILED;
	}
	if (c->junit && report_junit_write(&run, c->junit, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		rc = EXIT_FAILED;
	}
	if (c->html && report_html_write(&run, have_reqs ? reqmd : NULL, c->html, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		rc = EXIT_FAILED;
	}
	struct run_summary s;
	run_summarize(&run, &s);
	if (s.failed || s.errors || (c->strict && s.warnings))
		rc = EXIT_FAILED;
out:
	run_free(&run);
	free(results);
	free(done);
	free(suite);
	if (have_certs)
		ccerts_free(&certs);
	if (have_prof)
		cprofile_free(&prof);
	if (have_baseline)
		run_free(&baseline);
	free(sel);
	scenario_list_free(&l);
	if (have_reqs)
		reqs_free(&r);
	if (stop_signal())
		return 128 + stop_signal();
	return rc;
}
