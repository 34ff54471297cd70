/* exec_pool.c — running every scenario: -j N workers (pthreads), worker k owning accounts 2k and 2k+1, the
 * longest scenarios started first, each scenario's maildrops reset to its fixtures first, the observer told
 * as each starts and ends. */
#include "runner/exec.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner/fixture.h"
#include "runner/pace.h"
#include "runner/plan.h"
#include "runner/exec_int.h"
#include "runner/stop.h"

struct pool {
	pthread_mutex_t lock;
	size_t next;
	size_t *order; /* start order: indices into scenarios[] (plan_schedule: longest first, deliberate
	               * login failures last) */
	struct scenario *const *scenarios;
	size_t n;
	const struct target *t;
	const struct probe *p;
	const struct exec_opts *o;
	const struct exec_observer *obs;
	struct result *results;
};

struct worker {
	struct pool *pool;
	const struct account *acct; /* [2] */
	pthread_t tid;
};

static void verdict_only(const struct scenario *sc, enum verdict v, const char *msg, struct result *r)
{
	exec_result_meta(sc, r);
	r->status = v;
	r->message = strdup(msg);
}

/* Put the scenario's fixtures into the worker's maildrops (fixture → account 1, fixture2 → account 2). */
static int reset_fixtures(const struct scenario *sc, const struct target *t, const struct account *acct,
                          const struct exec_opts *o, struct p3err *err)
{
	const char *names[2] = {sc->fixture, sc->fixture2};
	const char *dir = o->fixtures_dir ? o->fixtures_dir : "fixtures";
	for (int i = 0; i < 2; i++) {
		if (names[i] == NULL)
			continue;
		const struct fixture *fx;
		if (fixture_get(dir, names[i], &fx, err) != 0)
			return -1;
		if (target_reset(t, &acct[i], fx->dir, err) != 0)
			return -1;
	}
	return 0;
}

static void run_one(struct pool *pl, const struct account *acct, size_t i)
{
	const struct scenario *sc = pl->scenarios[i];
	struct result *r = &pl->results[i];
	char buf[512];
	if (pl->obs && pl->obs->started) {
		pthread_mutex_lock(&pl->lock);
		pl->obs->started(pl->obs->ctx, sc);
		pthread_mutex_unlock(&pl->lock);
	}
	enum verdict not_run = VERDICT_SKIP;
	const char *skip = exec_skip_reason(sc, pl->t, pl->p, &not_run, buf, sizeof buf);
	struct p3err err = {""};
	if (skip) {
		verdict_only(sc, not_run, skip, r);
	} else if ((sc->fixture || sc->fixture2) && reset_fixtures(sc, pl->t, acct, pl->o, &err) != 0) {
		char msg[P3ERR_MAX + 16];
		snprintf(msg, sizeof msg, "reset: %s", err.msg);
		verdict_only(sc, VERDICT_ERROR, msg, r);
	} else {
		exec_scenario(sc, pl->t, acct, pl->p, pl->o, r);
	}
	if (pl->obs && pl->obs->finished) {
		pthread_mutex_lock(&pl->lock);
		pl->obs->finished(pl->obs->ctx, r);
		pthread_mutex_unlock(&pl->lock);
	}
}

/* Whether the scenario asks the server to refuse a login (a wrong password, a bad digest, a cancelled
 * exchange): a login step or PASS/APOP/AUTH whose expectation is anything but a plain +OK. Servers delay
 * failed logins and slow every later login from the same address (Dovecot's auth penalty, cleared by a
 * success), so these run last: the penalty then delays them alone, not the whole suite. */
static int fails_login(const struct scenario *sc)
{
	for (size_t i = 0; i < sc->nsteps; i++) {
		const struct step *st = &sc->steps[i];
		int login = st->kind == STEP_LOGIN || st->kind == STEP_AUTH;
		if ((st->kind == STEP_SEND || st->kind == STEP_RAW) && st->u.text.s && st->u.text.len >= 4)
			login = strncasecmp(st->u.text.s, "PASS", 4) == 0 || strncasecmp(st->u.text.s, "APOP", 4) == 0 ||
			        strncasecmp(st->u.text.s, "AUTH", 4) == 0;
		if (!login || st->n_expect == 0)
			continue;
		const struct expect *e = &st->expect[0];
		if (e->one_of || e->status != WANT_OK || e->code)
			return 1;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *pl = w->pool;
	exec_worker_begin();
	for (;;) {
		pthread_mutex_lock(&pl->lock);
		size_t k = pl->next++;
		pthread_mutex_unlock(&pl->lock);
		/* A stop (runner/stop.h) ends the run between scenarios; the one running is cut by lib/conn. */
		if (k >= pl->n || stop_requested() != STOP_NONE)
			break;
		run_one(pl, w->acct, pl->order ? pl->order[k] : k);
	}
	return NULL;
}

size_t exec_default_jobs(const struct target *t)
{
	size_t jobs = t->naccounts / 2;
	/* Paced by LOGIN-DELAY, workers mostly sleep: every pair of accounts shortens the run. */
	size_t max = pace_max_delay(pace_global(), t) > 0 ? EXEC_DEFAULT_JOBS_PACED_MAX : EXEC_DEFAULT_JOBS_MAX;

	if (jobs > max)
		jobs = max;
	return jobs ? jobs : 1;
}

/* Logins a scenario makes on each of its accounts: login and auth steps, and PASS, APOP or AUTH sent by
 * hand (on the first account). */
static void count_logins(const struct scenario *sc, size_t acct[2])
{
	for (size_t i = 0; i < sc->nsteps; i++) {
		const struct step *st = &sc->steps[i];
		if (st->kind == STEP_LOGIN)
			acct[st->u.login.account == 2 ? 1 : 0]++;
		else if (st->kind == STEP_AUTH)
			acct[st->u.auth.account == 2 ? 1 : 0]++;
		else if ((st->kind == STEP_SEND || st->kind == STEP_RAW) && st->u.text.s && st->u.text.len >= 4 &&
		         (strncasecmp(st->u.text.s, "PASS", 4) == 0 || strncasecmp(st->u.text.s, "APOP", 4) == 0 ||
		          strncasecmp(st->u.text.s, "AUTH", 4) == 0))
			acct[0]++;
	}
}

double exec_pacing_estimate(struct scenario *const *scenarios, size_t n, const struct target *t,
                            const struct exec_opts *o, long *delay_s, size_t *per_account, size_t *jobs)
{
	long d = pace_max_delay(pace_global(), t);
	size_t j = o->jobs > 0 ? (size_t)o->jobs : exec_default_jobs(t);
	size_t acct[2] = {0, 0};
	for (size_t i = 0; i < n; i++)
		count_logins(scenarios[i], acct);
	size_t most = acct[0] > acct[1] ? acct[0] : acct[1];
	*delay_s = d / 1000;
	*jobs = j ? j : 1;
	*per_account = (most + *jobs - 1) / *jobs;
	return d > 0 ? (double)*per_account * (double)(d + PACE_MARGIN_MS) / 1000.0 : 0;
}

int exec_run_all(struct scenario *const *scenarios, size_t n, const struct target *t, const struct probe *p,
                 const struct exec_opts *o, const struct exec_observer *obs, struct result *results,
                 struct p3err *err)
{
	/* A server that closes while we write must not kill the run (conn.c also guards its own writes). */
	signal(SIGPIPE, SIG_IGN);
	size_t jobs = o->jobs > 0 ? (size_t)o->jobs : exec_default_jobs(t);
	if (t->naccounts < 2 * jobs)
		return p3err_set(err, "-j %zu needs %zu accounts (two per worker); the target %s has %zu",
		                 jobs, 2 * jobs, t->name ? t->name : "", t->naccounts);
	if (jobs > n)
		jobs = n ? n : 1;
	struct pool pl = {.next = 0,
	                  .scenarios = scenarios,
	                  .n = n,
	                  .t = t,
	                  .p = p,
	                  .o = o,
	                  .obs = obs,
	                  .results = results};
	/* Start order (results keep the plan's order). Several workers start the longest scenarios first, so no
	 * worker is left with a long one at the end while the others are idle; one worker keeps the plan's order.
	 * Then, stably, the scenarios that fail a login on purpose go last, so a server's login penalty slows
	 * as few of the others as possible. */
	size_t *sched = n ? malloc(n * sizeof *sched) : NULL;
	pl.order = n ? malloc(n * sizeof *pl.order) : NULL;
	if (sched && pl.order) {
		if (jobs > 1)
			plan_schedule(scenarios, n, sched);
		else
			for (size_t i = 0; i < n; i++)
				sched[i] = i;
		size_t k = 0;
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < n; i++)
				if (fails_login(scenarios[sched[i]]) == pass)
					pl.order[k++] = sched[i];
	} else {
		free(pl.order);
		pl.order = NULL;
	}
	free(sched);
	pthread_mutex_init(&pl.lock, NULL);
	struct worker *ws = calloc(jobs, sizeof *ws);
	if (ws == NULL) {
		pthread_mutex_destroy(&pl.lock);
		free(pl.order);
		return p3err_set(err, "out of memory");
	}
	size_t started = 0;
	for (size_t k = 0; k < jobs; k++) {
		ws[k].pool = &pl;
		ws[k].acct = &t->accounts[2 * k];
	}
	if (jobs == 1) {
		worker_main(&ws[0]);
	} else {
		for (; started < jobs; started++)
			if (pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]) != 0)
				break;
		if (started == 0)
			worker_main(&ws[0]); /* no threads to be had: run them here */
		for (size_t k = 0; k < started; k++)
			pthread_join(ws[k].tid, NULL);
	}
	free(ws);
	free(pl.order);
	pthread_mutex_destroy(&pl.lock);
	fixture_cache_clear();
	return 0;
}
