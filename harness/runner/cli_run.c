/* cli_run.c — `pop3spec run`: check every input, load and select scenarios, load (or start) the targets,
 * probe each, run the selection against each (stopping early on a signal or a server gone mute), apply a
 * baseline, write the reports, and turn the verdicts into the exit status. */
#include "runner/cli.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "runner/datadir.h"
#include "runner/exec/exec.h"
#include "runner/fixture.h"
#include "runner/plan.h"
#include "runner/redact.h"
#include "runner/report/report.h"
#include "runner/stop.h"
#include "runner/target.h"
#include "runner/watch.h"

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

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* What the observer needs: the console, the baseline (or NULL) each result is judged against, the
 * redactor (or NULL), and what it takes to notice a server that stopped answering. */
struct obs_ctx {
	struct console con;
	const struct run *baseline;
	size_t diffs;
	const struct redactor *redact;
	struct result *results; /* the run's array: a result's index is its offset in it */
	bool *cut;              /* [i]: results[i] ended after a stop was requested, so it is no verdict */
	struct watch watch;
	const struct target *t;
	int timeout_ms;
	bool verbose;
	bool redact_failed; /* memory ran out redacting a result: no report may be written */
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
	/* A scenario that ended after the stop was cut short by it (lib/conn's waits end at once): its
	 * verdict would be the runner's, not the server's. */
	if (stop_requested() != STOP_NONE) {
		oc->cut[r - oc->results] = true;
		return;
	}
	struct run one = {.results = r, .nresults = 1};
	/* Each result once, as it ends, before the console line shows its message. */
	if (oc->redact && redact_run(oc->redact, &one) < 0)
		oc->redact_failed = true;
	if (oc->baseline)
		oc->diffs += report_apply_baseline(&one, oc->baseline);
	console_result(&oc->con, r);
	/* Serialized by the pool: one liveness check at a time, while the other workers wait on the
	 * (probably mute) server anyway. */
	if (watch_result(&oc->watch, r)) {
		struct p3err err;
		if (watch_alive(oc->t, oc->timeout_ms, &err) < 0) {
			fprintf(
			    stderr,
			    "pop3spec: %d scenarios in a row waited for the %.1f s timeout, and a new "
			    "connection got no greeting (%s): the server stopped answering; ending the run\n",
			    WATCH_STREAK, oc->timeout_ms / 1000.0, err.msg);
			stop_request(STOP_SERVER);
		} else if (oc->verbose) {
			fprintf(stderr,
			        "pop3spec: %d scenarios in a row waited for the timeout, but the server "
			        "answers a new connection: going on\n",
			        WATCH_STREAK);
		}
	}
}

/* exec fills results completely; this only guards the reporters against a result left without its
 * scenario's identity. */
static int fill_identity(struct result *r, const struct scenario *sc, const char *why)
{
	if (r->id)
		return 0;
	if (result_identity(r, sc) < 0)
		return -1;
	if (!r->message)
		r->message = strdup(why);
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

/* After a stop: a signal keeps only the results that ended before it (the report is marked incomplete);
 * a server gone mute turns every scenario that did not end before it into an error, so the report still
 * covers the whole selection. */
static int settle_stop(struct run *run, struct scenario **sel, size_t nsel, const bool *cut)
{
	enum stop_reason why = stop_requested();
	char buf[64];
	if (why == STOP_SIGNAL) {
		size_t k = 0;
		for (size_t i = 0; i < nsel; i++) {
			if (run->results[i].id && !cut[i]) {
				if (k != i) {
					run->results[k] = run->results[i];
					memset(&run->results[i], 0, sizeof run->results[i]);
				}
				k++;
			} else {
				result_free(&run->results[i]);
			}
		}
		run->nresults = k;
		run->info.incomplete = 1;
		run->info.not_run = nsel - k;
		snprintf(buf, sizeof buf, "interrupted (%s)",
		         stop_signal() == SIGTERM ? "SIGTERM" : "SIGINT");
		return (run->info.stopped = strdup(buf)) ? 0 : -1;
	}
	for (size_t i = 0; i < nsel; i++) {
		if (!run->results[i].id || !cut[i])
			continue;
		result_free(&run->results[i]);
	}
	/* Without a stop every scenario has its result; "not run" only guards the reporters. */
	const char *not_run = why == STOP_SERVER ? "not run: the server stopped answering" : "not run";
	for (size_t i = 0; i < nsel; i++)
		if (fill_identity(&run->results[i], sel[i], not_run) < 0)
			return -1;
	if (why == STOP_SERVER) {
		stop_clear_server(); /* the next target runs */
		return (run->info.stopped = strdup("the server stopped answering")) ? 0 : -1;
	}
	return 0;
}

static int run_one(const struct cli *c, struct run_target *rt, struct scenario **sel, size_t nsel,
                   const struct exec_opts *eo, const struct run *baseline, const char *suite, bool several)
{
	struct obs_ctx oc = {.baseline = baseline};
	struct console *con = &oc.con;
	cli_console_init(c, con, nsel);
	if (several && c->verbosity)
		fprintf(con->out, "== %s (%s:%d) ==\n", rt->t.name ? rt->t.name : rt->t.file, rt->t.host,
		        rt->t.port);
	struct exec_observer obs = {obs_started, obs_finished, &oc};
	struct result *results = calloc(nsel, sizeof *results);
	bool *cut = calloc(nsel, sizeof *cut);
	struct redactor red;
	bool redacting = c->redact || rt->t.redact;
	if (redacting && redactor_init(&red, &rt->t) < 0) {
		free(results);
		free(cut);
		fprintf(stderr, "pop3spec: out of memory\n");
		return -1;
	}
	if (!results || !cut) {
		free(results);
		free(cut);
		if (redacting)
			redactor_free(&red);
		fprintf(stderr, "pop3spec: out of memory\n");
		return -1;
	}
	oc.results = results;
	oc.cut = cut;
	oc.t = &rt->t;
	oc.timeout_ms = (int)(c->timeout * 1000.0);
	oc.verbose = c->verbosity == 2;
	oc.redact = redacting ? &red : NULL;
	watch_init(&oc.watch, c->timeout);
	redact_set_live(oc.redact);
	long delay_s;
	size_t per_account, jobs;
	double est = exec_pacing_estimate(sel, nsel, &rt->t, eo, &delay_s, &per_account, &jobs);
	if (est >= EXEC_PACING_NOTE_S)
		fprintf(
		    stderr,
		    "pop3spec: %s announces LOGIN-DELAY %ld (RFC 2449 §6.5): each account logs in at most "
		    "once "
		    "per %ld s, so this run takes at least %.0f min (about %zu logins per account over %zu "
		    "worker%s). More accounts in the profile shorten it: -j uses two per worker (by default "
		    "one "
		    "worker per two accounts, up to %d while the server paces logins)\n",
		    rt->t.name ? rt->t.name : rt->t.file, delay_s, delay_s, est / 60.0, per_account, jobs,
		    jobs == 1 ? "" : "s", EXEC_DEFAULT_JOBS_PACED_MAX);
	char *started = cli_iso_now();
	double t0 = cli_now_ms();
	struct p3err err;
	int rc = exec_run_all(sel, nsel, &rt->t, &rt->p, eo, &obs, results, &err);
	long duration = (long)(cli_now_ms() - t0);
	redact_set_live(NULL);
	rt->run.results = results;
	rt->run.nresults = nsel;
	if (rc < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		goto fail;
	}
	int filled = fill_info(&rt->run.info, rt, c, suite, started, duration);
	started = NULL; /* the run owns it now */
	if (filled < 0 || settle_stop(&rt->run, sel, nsel, cut) < 0) {
		fprintf(stderr, "pop3spec: out of memory\n");
		goto fail;
	}
	rt->run.info.shard_index = c->shard_index;
	rt->run.info.shard_count = c->shard_index ? c->shard_count : 0;
	if (redacting && (oc.redact_failed || redact_info(&red, &rt->run.info) < 0)) {
		fprintf(stderr, "pop3spec: out of memory while redacting; no report written\n");
		goto fail;
	}
	if (baseline)
		cli_baseline_said(c, con, oc.diffs);
	console_summary(con, &rt->run);
	free(cut);
	if (redacting)
		redactor_free(&red);
	return 0;
fail:
	free(started);
	free(cut);
	if (redacting)
		redactor_free(&red);
	return -1;
}

/* Whether two report paths name one file: the same folder (after symlinks and ".."), the same name. */
static bool same_output(const char *a, const char *b)
{
	if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
		return false;
	if (strcmp(a, b) == 0)
		return true;
	char da[PATH_MAX], db[PATH_MAX], ra[PATH_MAX], rb[PATH_MAX];
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	const char *na = sa ? sa + 1 : a, *nb = sb ? sb + 1 : b;
	if (strcmp(na, nb) != 0)
		return false;
	snprintf(da, sizeof da, "%.*s", sa ? (int)(sa - a) + 1 : 1, sa ? a : ".");
	snprintf(db, sizeof db, "%.*s", sb ? (int)(sb - b) + 1 : 1, sb ? b : ".");
	return realpath(da, ra) && realpath(db, rb) && strcmp(ra, rb) == 0;
}

/* The outputs of the run: each path writable, no two the same, at most one on stdout (two documents in
 * one stream cannot be read back), and not one per target on stdout. */
static int check_outputs(const struct cli *c, size_t ntargets)
{
	struct p3err err;
	if (cli_reports_on_stdout(c) > 1)
		return cli_usage_error(
		    "only one report can go to standard output ('-'); give the others a file");
	if (ntargets > 1 &&
	    ((c->json && strcmp(c->json, "-") == 0) || (c->junit && strcmp(c->junit, "-") == 0)))
		return cli_usage_error("with several targets --json and --junit write one report per target; "
		                       "give a file name, not '-'");
	const char *outs[3] = {c->json, c->junit, c->html};
	for (int i = 0; i < 3; i++) {
		if (!outs[i])
			continue;
		for (int k = 0; k < i; k++)
			if (outs[k] && same_output(outs[k], outs[i])) {
				char msg[PATH_MAX + 64];
				snprintf(msg, sizeof msg, "two reports would be written to %s", outs[i]);
				return cli_usage_error(msg);
			}
		if (cli_check_output(outs[i], &err) < 0)
			return cli_usage_error(err.msg);
	}
	return 0;
}

/* The ids that failed or errored in REPORT (borrowed from *rep, which the caller frees). */
static int failed_ids(const char *path, struct run *rep, const char ***ids, size_t *n)
{
	struct p3err err;
	*ids = NULL;
	*n = 0;
	if (report_json_read(path, rep, &err) < 0) {
		fprintf(stderr, "pop3spec: --rerun-failed: %s\n", err.msg);
		return -1;
	}
	*ids = calloc(rep->nresults ? rep->nresults : 1, sizeof **ids);
	if (!*ids) {
		fprintf(stderr, "pop3spec: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < rep->nresults; i++)
		if (rep->results[i].status == VERDICT_FAIL || rep->results[i].status == VERDICT_ERROR)
			(*ids)[(*n)++] = rep->results[i].id;
	return 0;
}

/* A --baseline (or --rerun-failed) report of another server, or of a run stopped early, says little about
 * this one: say so (a baseline of another server turns its differences into a wall of failures). */
static void report_warnings(const char *what, const char *path, const struct run *b, const struct target *t)
{
	const char *name = t->name ? t->name : t->file;
	bool same_name = b->info.target_name && name && strcmp(b->info.target_name, name) == 0;
	bool same_host = !b->info.target_host || !t->host || strcmp(b->info.target_host, t->host) == 0;
	if (!same_name || !same_host)
		fprintf(stderr,
		        "pop3spec: warning: the %s %s is a report of target \"%s\" (%s), this run's target "
		        "is \"%s\" (%s); its verdicts may not apply\n",
		        what, path, b->info.target_name ? b->info.target_name : "?",
		        b->info.target_host ? b->info.target_host : "?", name ? name : "?",
		        t->host ? t->host : "?");
	if (b->info.incomplete)
		fprintf(stderr,
		        "pop3spec: warning: the %s %s is of a run stopped early (%zu scenarios not run)\n",
		        what, path, b->info.not_run);
}

static int jobs_fit(const struct cli *c, const char *name, size_t naccounts)
{
	if (naccounts >= 2 * (size_t)c->jobs)
		return 0;
	char msg[512];
	snprintf(msg, sizeof msg, "-j %d needs %d accounts (two per worker); the target %s has %zu", c->jobs,
	         2 * c->jobs, name, naccounts);
	return cli_usage_error(msg);
}

/* The target's name as messages give it. */
static const char *target_name(const struct target *t)
{
	return t->name ? t->name : t->file;
}

/* What `run` checks before anything else (exit 2): the targets, the outputs, --fixtures. */
static int check_args(const struct cli *c, size_t ntargets)
{
	if (c->client)
		return cli_usage_error("--client goes with 'pop3spec client run' (docs/clients.md)");
	if (ntargets == 0)
		return cli_usage_error("run needs --target FILE or --reference");
	if (c->baseline && ntargets > 1)
		return cli_usage_error("--baseline goes with one target only");
#ifndef HAVE_REFERENCE
	if (c->reference)
		return cli_usage_error(
		    "--reference is not available in this build (runner/reference.h missing)");
#else
	if (c->reference && jobs_fit(c, "pop3refd (reference)", REFERENCE_ACCOUNTS) != 0)
		return EXIT_USAGE;
#endif
	if (check_outputs(c, ntargets) != 0)
		return EXIT_USAGE;
	if (c->fixtures && !cli_is_dir(c->fixtures)) {
		char msg[PATH_MAX + 64];
		snprintf(msg, sizeof msg, "--fixtures %s: not a folder", c->fixtures);
		return cli_usage_error(msg);
	}
	return 0;
}

/* What a run loads, starts and frees: the catalog, the selection, the reports it reads, the targets. */
struct state {
	size_t ntargets;
	struct run_target *rts; /* the --reference server first, then the --target profiles */
	struct reqs r;
	char reqmd[PATH_MAX], fxbuf[PATH_MAX];
	struct scenario_list l;
	struct scenario **sel;
	size_t nsel;
	struct run baseline, rerun;
	const char **only; /* --rerun-failed: the ids that failed */
	size_t nonly;
	char *suite;
	struct exec_opts eo;
	bool have_reqs, have_baseline, have_rerun;
};

/* The catalog, the scenarios, --rerun-failed's report and the selection. 0; -1 an input error (exit 2);
 * 1 when the report has nothing to rerun (exit 0). */
static int load_selection(const struct cli *c, struct state *st)
{
	if (cli_load_reqs(c, false, &st->r, &st->have_reqs, st->reqmd, sizeof st->reqmd) < 0)
		return -1;
	if (cli_load_scenarios(c, st->have_reqs ? &st->r : NULL, &st->l) < 0)
		return -1;
	if (c->rerun_failed) {
		st->have_rerun = true;
		if (failed_ids(c->rerun_failed, &st->rerun, &st->only, &st->nonly) < 0)
			return -1;
		if (st->nonly == 0) {
			fprintf(stderr,
			        "pop3spec: --rerun-failed: nothing failed or errored in %s; nothing to run\n",
			        c->rerun_failed);
			return 1;
		}
	}
	if (cli_select(c, &st->l, st->only, st->nonly, &st->sel, &st->nsel) < 0)
		return -1;
	if (st->nsel == 0) {
		fprintf(stderr, "pop3spec: no scenario selected (%zu loaded%s%s); nothing to run\n", st->l.n,
		        c->shard_index ? ", after sharding" : "",
		        c->rerun_failed ? ", of the ones that failed in the report" : "");
		return -1;
	}
	if (c->rerun_failed && st->nsel < st->nonly)
		fprintf(
		    stderr,
		    "pop3spec: --rerun-failed: %zu of the %zu failed scenarios are not in this selection\n",
		    st->nonly - st->nsel, st->nonly);
	return 0;
}

/* The --target profiles, then the reference server (a mistake in a profile must not cost starting it),
 * the warnings about reports of another target, and the executor's options. 0 or -1. */
static int load_targets(const struct cli *c, struct state *st)
{
	struct p3err err;
	struct run_target *rts = st->rts;
	if (c->baseline) {
		if (cli_load_baseline(c, &st->baseline) < 0)
			return -1;
		st->have_baseline = true;
	}
	size_t k = c->reference ? 1 : 0;
	for (size_t i = 0; i < c->ntargets; i++, k++) {
		if (target_load(c->targets[i], &rts[k].t, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return -1;
		}
		rts[k].loaded = true;
		if (jobs_fit(c, target_name(&rts[k].t), rts[k].t.naccounts) != 0)
			return -1;
	}
#ifdef HAVE_REFERENCE
	/* runner/reference.h: start bin/pop3refd on free ports; see reference_start there. */
	if (c->reference && !stop_signal()) {
		if (reference_start(&rts[0].t, &err) < 0) {
			fprintf(stderr, "pop3spec: --reference: %s\n", err.msg);
			return -1;
		}
		rts[0].loaded = rts[0].is_reference = true;
	}
#endif
	if (st->have_baseline)
		report_warnings("baseline", c->baseline, &st->baseline, &rts[0].t);
	if (st->have_rerun && st->ntargets == 1)
		report_warnings("report", c->rerun_failed, &st->rerun, &rts[0].t);
	const char *first = c->npaths ? c->paths[0] : cli_default_scenarios();
	st->suite = cli_suite_version(first);
	st->eo = (struct exec_opts){
	    .step_timeout = c->timeout,
	    .login_timeout = c->login_timeout,
	    .jobs = c->jobs,
	    .fixtures_dir = cli_fixtures_dir(c, first, st->fxbuf, sizeof st->fxbuf),
	    .live_transcript = c->verbosity == 2,
	};
	return 0;
}

/* What the runner learns of each target once (greeting, CAPA, the accounts' logins). 0 or -1. */
static int probe_targets(struct state *st)
{
	struct p3err err;
	for (size_t i = 0; i < st->ntargets && !stop_signal(); i++) {
		struct run_target *rt = &st->rts[i];
		if (exec_probe(&rt->t, &st->eo, &rt->p, &err) < 0) {
			if (!stop_signal())
				fprintf(stderr, "pop3spec: target %s: %s\n", target_name(&rt->t), err.msg);
			return -1;
		}
		rt->probed = true;
		/* A profile mistake (a wrong password, login_tls false on a TLS-only server) is not the
		 * server's deviation: one sentence and exit 2, before any scenario. */
		if (exec_probe_accounts(&rt->t, &st->eo, &rt->p, &err) < 0) {
			fprintf(stderr, "pop3spec: target %s: %s\n", target_name(&rt->t), err.msg);
			return -1;
		}
		if (rt->p.gap != GAP_NONE)
			fprintf(stderr,
			        "pop3spec: target %s: the probe could not learn the capabilities (%s); "
			        "scenarios that require one it would have shown are errors\n",
			        target_name(&rt->t), rt->p.gap_why ? rt->p.gap_why : "no usable answer");
	}
	return stop_signal() ? -1 : 0;
}

/* The selection against each target, its reports, and with several targets the comparison page. The
 * exit status. */
static int run_targets(const struct cli *c, struct state *st)
{
	const char *reqmd = st->have_reqs ? st->reqmd : NULL;
	bool several = st->ntargets > 1;
	int rc = EXIT_PASSED;
	size_t ran = 0;
	for (size_t i = 0; i < st->ntargets && !stop_signal(); i++, ran++) {
		struct run_target *rt = &st->rts[i];
		if (run_one(c, rt, st->sel, st->nsel, &st->eo, st->have_baseline ? &st->baseline : NULL,
		            st->suite, several) < 0) {
			rc = EXIT_FAILED;
			continue;
		}
		if (cli_write_reports(c, &rt->run, reqmd, several) < 0 ||
		    cli_exit_status(&rt->run, c->strict) != EXIT_PASSED)
			rc = EXIT_FAILED;
	}
	if (!several || !c->html || !ran)
		return rc;
	struct run *runs = calloc(ran, sizeof *runs);
	if (!runs)
		return EXIT_FAILED;
	for (size_t i = 0; i < ran; i++)
		runs[i] = st->rts[i].run; /* shallow: still owned by rts */
	struct p3err err;
	if (report_html_compare(runs, ran, reqmd, c->html, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		rc = EXIT_FAILED;
	}
	free(runs);
	return rc;
}

static void free_state(struct state *st)
{
	for (size_t i = 0; i < st->ntargets; i++) {
		struct run_target *rt = &st->rts[i];
		if (rt->probed)
			probe_free(&rt->p);
		run_free(&rt->run);
#ifdef HAVE_REFERENCE
		if (rt->is_reference) {
			reference_stop(&rt->t);
			continue;
		}
#endif
		if (rt->loaded)
			target_free(&rt->t);
	}
	free(st->rts);
	fixture_cache_clear();
	if (st->have_baseline)
		run_free(&st->baseline);
	free(st->suite);
	free(st->sel);
	free(st->only);
	if (st->have_rerun)
		run_free(&st->rerun);
	scenario_list_free(&st->l);
	if (st->have_reqs)
		reqs_free(&st->r);
}

int cli_run(struct cli *c)
{
	size_t ntargets = c->ntargets + (c->reference ? 1 : 0);
	if (check_args(c, ntargets) != 0)
		return EXIT_USAGE;
	/* From here a signal stops the run cleanly (runner/stop.h); before, it ends pop3spec as usual. */
	stop_init();
	struct state *st = calloc(1, sizeof *st);
	struct run_target *rts = calloc(ntargets, sizeof *rts);
	if (!st || !rts) {
		free(st);
		free(rts);
		return EXIT_USAGE;
	}
	st->ntargets = ntargets;
	st->rts = rts;
	int rc = EXIT_USAGE;
	/* Everything that can be wrong with the input is found before anything runs (exit 2); from the
	 * scenarios' run on, failures are verdicts (exit 1). */
	int loaded = load_selection(c, st);
	if (loaded > 0)
		rc = EXIT_PASSED;
	else if (loaded == 0 && load_targets(c, st) == 0 && probe_targets(st) == 0)
		rc = run_targets(c, st);
	free_state(st);
	free(st);
	/* Stopped by a signal: everything is cleaned up (reports written for what ran, the reference server
	 * stopped, temporary folders removed); exit as the shell expects of a process the signal ended. */
	if (stop_signal()) {
		if (rc == EXIT_USAGE)
			fprintf(stderr, "pop3spec: interrupted before any scenario ran\n");
		return 128 + stop_signal();
	}
	return rc;
}
