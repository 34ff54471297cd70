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

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* ./scenarios/clients, else the installed suite's. */
static const char *default_path(char *buf, size_t size)
{
	if (cli_is_dir("scenarios/clients"))
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
	int w = snprintf(out, size, "%s/REQUIREMENTS.md", default_path(d, sizeof d));
	return w > 0 && (size_t)w < size && is_file(out);
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

/* The options `client run` takes and refuses, and its reports' paths (exit 2 before anything runs). */
static int check_args(const struct cli *c)
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
	return 0;
}

/* What a client run loads before anything runs, and frees at the end. */
struct inputs {
	const char *const *paths;
	size_t npaths;
	const char *def[1];
	char defbuf[PATH_MAX], reqmd[PATH_MAX];
	struct reqs r;
	struct scenario_list l;
	struct scenario **sel;
	size_t nsel;
	struct cprofile prof;
	struct ccerts certs;
	struct run baseline;
	bool have_reqs, have_prof, have_certs, have_baseline;
};

/* The catalog, the scenarios, the selection, the profile, the baseline and the run's certificates.
 * 0, or -1 after saying why. */
static int load_inputs(const struct cli *c, struct inputs *in)
{
	struct p3err err;
	in->def[0] = default_path(in->defbuf, sizeof in->defbuf);
	in->paths = c->npaths ? c->paths : in->def;
	in->npaths = c->npaths ? c->npaths : 1;
	const char *rq = c->requirements;
	if (!rq && catalog_path(in->paths[0], in->reqmd, sizeof in->reqmd))
		rq = in->reqmd;
	if (rq) {
		if (reqs_load(rq, &in->r, &err) < 0) {
			fprintf(stderr, "pop3spec: %s\n", err.msg);
			return -1;
		}
		snprintf(in->reqmd, sizeof in->reqmd, "%s", rq);
		in->have_reqs = true;
	}
	struct load_opts lo = {
	    .reqs = in->have_reqs ? &in->r : NULL, .on_error = print_error, .client_parse = cscen_parse};
	if (load_scenarios(in->paths, in->npaths, &lo, &in->l, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		return -1;
	}
	if (cli_select(c, &in->l, NULL, 0, &in->sel, &in->nsel) < 0)
		return -1;
	if (in->nsel == 0) {
		fprintf(stderr, "pop3spec: no client scenario selected (%zu loaded); nothing to run\n",
		        in->l.n);
		return -1;
	}
	if (cprofile_load(c->client, &in->prof, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	in->have_prof = true;
	if (c->baseline) {
		if (cli_load_baseline(c, &in->baseline) < 0)
			return -1;
		in->have_baseline = true;
	}
	if (ccerts_make(&in->certs, &err) < 0) {
		fprintf(stderr, "pop3spec: certificates: %s\n", err.msg);
		return -1;
	}
	in->have_certs = true;
	return 0;
}

static void free_inputs(struct inputs *in)
{
	if (in->have_certs)
		ccerts_free(&in->certs);
	if (in->have_prof)
		cprofile_free(&in->prof);
	if (in->have_baseline)
		run_free(&in->baseline);
	free(in->sel);
	scenario_list_free(&in->l);
	if (in->have_reqs)
		reqs_free(&in->r);
}

/* Run pool's scenarios on -j workers (this thread one of them). */
static void run_workers(const struct cli *c, struct pool *pool)
{
	pthread_mutex_init(&pool->mu, NULL);
	int jobs = c->jobs > 0 ? c->jobs : 1;
	if ((size_t)jobs > pool->nsel)
		jobs = (int)pool->nsel;
	pthread_t th[256];
	int started_n = 0;
	for (int i = 1; i < jobs; i++)
		if (pthread_create(&th[started_n], NULL, worker, pool) == 0)
			started_n++;
	worker(pool);
	for (int i = 0; i < started_n; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&pool->mu);
}

/* Only the scenarios that ended before a stop are results (the report is then incomplete): those moved to
 * the front, the others freed. How many remain. */
static size_t keep_done(struct result *results, const bool *done, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!done[i]) {
			result_free(&results[i]);
			continue;
		}
		if (k != i) {
			results[k] = results[i];
			memset(&results[i], 0, sizeof results[i]);
		}
		k++;
	}
	return k;
}

/* The run's facts for the reports: the client as the target, mode "client". */
static void fill_info(struct run_info *in, const struct cli *c, const struct inputs *inp, char *started,
                      long duration)
{
	in->target_name = strdup(inp->prof.name);
	in->target_host = strdup("127.0.0.1");
	in->mode = strdup("client");
	in->runner_version = strdup(POP3SPEC_VERSION);
	in->suite_version = cli_suite_version(inp->paths[0]);
	in->options = strdup(c->options);
	in->started = started;
	in->duration_ms = duration;
	in->strict = c->strict;
	in->shard_index = c->shard_index;
	in->shard_count = c->shard_index ? c->shard_count : 0;
}

/* Run the selection against the client and report it: the exit status. */
static int run_selection(const struct cli *c, struct inputs *in)
{
	char fxbuf[PATH_MAX];
	struct console con;
	cli_console_init(c, &con, in->nsel);
	/* --timeout is per step for servers; a client run is one step, so its default is longer. */
	bool timeout_given = strstr(c->options, "--timeout") != NULL;
	struct crun_ctx x = {.prof = &in->prof,
	                     .certs = &in->certs,
	                     .fixtures_dir = cli_fixtures_dir(c, in->paths[0], fxbuf, sizeof fxbuf),
	                     .timeout = timeout_given ? c->timeout : CLIENT_DEFAULT_TIMEOUT,
	                     .timeout_given = timeout_given,
	                     .live = c->verbosity == 2};
	struct result *results = calloc(in->nsel, sizeof *results);
	bool *done = calloc(in->nsel, sizeof *done);
	if (!results || !done) {
		fprintf(stderr, "pop3spec: out of memory\n");
		free(results);
		free(done);
		return EXIT_FAILED;
	}
	struct pool pool = {.x = &x,
	                    .sel = in->sel,
	                    .nsel = in->nsel,
	                    .results = results,
	                    .done = done,
	                    .con = &con,
	                    .baseline = in->have_baseline ? &in->baseline : NULL};
	char *started = cli_iso_now();
	double t0 = cli_now_ms();
	run_workers(c, &pool);
	struct run run = {.results = results, .nresults = keep_done(results, done, in->nsel)};
	free(done);
	fill_info(&run.info, c, in, started, (long)(cli_now_ms() - t0));
	if (run.nresults < in->nsel) {
		run.info.incomplete = 1;
		run.info.not_run = in->nsel - run.nresults;
		run.info.stopped = strdup("interrupted");
	}
	cli_baseline_said(c, &con, pool.diffs);
	console_summary(&con, &run);
	int rc = cli_write_reports(c, &run, in->have_reqs ? in->reqmd : NULL, false) < 0
	             ? EXIT_FAILED
	             : cli_exit_status(&run, c->strict);
	run_free(&run);
	return rc;
}

int cli_client_run(struct cli *c)
{
	if (check_args(c) != 0)
		return EXIT_USAGE;
	stop_init();
	struct inputs *in = calloc(1, sizeof *in);
	int rc = EXIT_USAGE;
	if (!in)
		fprintf(stderr, "pop3spec: out of memory\n");
	else if (load_inputs(c, in) == 0)
		rc = run_selection(c, in);
	if (in)
		free_inputs(in);
	free(in);
	if (stop_signal())
		return 128 + stop_signal();
	return rc;
}
