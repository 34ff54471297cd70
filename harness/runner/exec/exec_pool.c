/* exec_pool.c — running every scenario: -j N workers (pthreads), worker k owning accounts 2k and 2k+1, the
 * longest scenarios started first and the ones that fail a login on purpose spread among the others, each
 * scenario's maildrops reset to its fixtures first, the observer told as each starts and ends. */
#include "runner/exec/exec.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "runner/exec/connlimit.h"
#include "runner/fixture.h"
#include "runner/exec/pace.h"
#include "runner/plan.h"
#include "runner/exec/exec_int.h"
#include "runner/stop.h"

struct pool {
	pthread_mutex_t lock;
	/* Start order, two queues of indices into scenarios[]: the scenarios that fail a login on purpose
	 * (most failed logins first) and the others (plan_schedule: longest first). */
	size_t *fail, nfail, next_fail;
	size_t *rest, nrest, next_rest;
	size_t fail_running;  /* failing-login scenarios running now */
	size_t *need;         /* sessions each scenario may hold at once (session_need) */
	long in_use;          /* the sum of need over the scenarios running now */
	pthread_cond_t freed; /* a scenario ended: in_use went down */
	size_t fail_cap;      /* at most this many at once while others remain */
	int penalty_seen;     /* one of them met a refusal that took a second or more */
	int fail_done;        /* one of them has ended: penalty_seen says what the server does */
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
	int last_failed;            /* its previous scenario failed a login on purpose */
	size_t index;               /* 0 .. jobs-1 */
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

/* Whether a failing-login scenario starts with a successful login of its two accounts (and QUIT): where the
 * server has shown it delays refusals, a success resets what pop3refd counts per address and per user and
 * what Dovecot's auth penalty counts per address, so the scenario's first refusal costs the first delay,
 * not one grown by other workers' refusals or by this account's in earlier scenarios. Not where logins
 * are paced (LOGIN-DELAY, pace.h): there a login costs the delay. */
static int settle_first(struct pool *pl)
{
	pthread_mutex_lock(&pl->lock);
	int seen = pl->penalty_seen;
	pthread_mutex_unlock(&pl->lock);
	return seen && pace_max_delay(pace_global(), pl->t) == 0;
}

static void run_one(struct pool *pl, const struct account *acct, size_t i, int failing)
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
	struct p3err err = {0};
	if (skip) {
		verdict_only(sc, not_run, skip, r);
	} else if ((sc->fixture || sc->fixture2) && reset_fixtures(sc, pl->t, acct, pl->o, &err) != 0) {
		char msg[P3ERR_MAX + 16];
		snprintf(msg, sizeof msg, "reset: %s", err.msg);
		verdict_only(sc, VERDICT_ERROR, msg, r);
	} else {
		if (failing && settle_first(pl))
			for (int k = 0; k < 2; k++)
				exec_account_settle(pl->t, pl->o, pl->p, &acct[k]);
		exec_scenario(sc, pl->t, acct, pl->p, pl->o, r);
		if (failing) {
			pthread_mutex_lock(&pl->lock);
			pl->fail_done = 1;
			if (r->login_delay_ms >= 1000)
				pl->penalty_seen = 1;
			pthread_mutex_unlock(&pl->lock);
		}
	}
	if (pl->obs && pl->obs->finished) {
		pthread_mutex_lock(&pl->lock);
		pl->obs->finished(pl->obs->ctx, r);
		pthread_mutex_unlock(&pl->lock);
	}
}

/* How many logins the scenario asks the server to refuse (a wrong password, a bad digest, a cancelled
 * exchange): login steps or PASS/APOP/AUTH whose expectation is anything but a plain +OK. 0 for most. */
static size_t failed_logins(const struct scenario *sc)
{
	size_t n = 0;
	for (size_t i = 0; i < sc->nsteps; i++) {
		const struct step *st = &sc->steps[i];
		int login = st->kind == STEP_LOGIN || st->kind == STEP_AUTH;
		if ((st->kind == STEP_SEND || st->kind == STEP_RAW) && st->u.text.s && st->u.text.len >= 4)
			login = strncasecmp(st->u.text.s, "PASS", 4) == 0 ||
			        strncasecmp(st->u.text.s, "APOP", 4) == 0 ||
			        strncasecmp(st->u.text.s, "AUTH", 4) == 0;
		if (!login || st->n_expect == 0)
			continue;
		const struct expect *e = &st->expect[0];
		if (e->one_of || e->status != WANT_OK || e->code)
			n++;
	}
	return n;
}

/* The next scenario for a worker (locked), or SIZE_MAX when none is left. Servers delay failed logins and
 * grow the delay with failures from one address (or for one user) that no successful login has reset:
 * pop3refd doubles it per failure, Dovecot's auth penalty grows from 2 s to 15 s. Run back to back, the
 * suite's deliberate failures would each pay a grown delay. So a failing-login scenario starts only while
 * fewer than fail_cap run, the other workers meanwhile running scenarios whose logins succeed (and reset
 * the count), and a worker that just ran one takes another kind next (its own accounts' logins succeed
 * again). They start first, most failures first: their delays overlap the rest of the run instead of
 * adding to its end. When one queue is empty, the other goes on with every worker. */
static size_t next_scenario(struct pool *pl, struct worker *w, int *failing)
{
	int fail_left = pl->next_fail < pl->nfail, rest_left = pl->next_rest < pl->nrest;
	size_t cap = pl->fail_done ? pl->fail_cap : 1;
	int take_fail = fail_left && (!rest_left || (!w->last_failed && pl->fail_running < cap));
	*failing = take_fail;
	if (take_fail) {
		pl->fail_running++;
		return pl->fail[pl->next_fail++];
	}
	return rest_left ? pl->rest[pl->next_rest++] : SIZE_MAX;
}

/* The sessions a scenario may hold at once: the distinct sessions its connect steps name (an upper bound:
 * one may have closed before the next opens). At least 1. */
static size_t session_need(const struct scenario *sc)
{
	const char *names[XC_MAX_SESSIONS];
	size_t n = 0;
	for (size_t i = 0; i < sc->nsteps; i++) {
		const struct step *st = &sc->steps[i];
		if (st->kind != STEP_CONNECT)
			continue;
		const char *name = st->session ? st->session : "main";
		size_t k = 0;
		while (k < n && strcmp(names[k], name) != 0)
			k++;
		if (k == n && n < XC_MAX_SESSIONS)
			names[n++] = name;
	}
	return n ? n : 1;
}

/* Once the server has shown a limit on connections per address (connlimit.h), a scenario starts only when
 * the sessions the running ones may hold and its own fit in it, or when nothing else runs: two scenarios
 * that each hold sessions and wait for one more would wait for each other until both gave up (Courier,
 * 4 per address: bracket-opens-response-code holding two and waiting for a third while the other worker's
 * scenario held one and waited for its second). Locked by pl->lock; returns with the need counted. */
static void admit(struct pool *pl, size_t need)
{
	for (;;) {
		long cap = connlimit_capacity();
		if (cap <= 0 || pl->in_use == 0 || pl->in_use + (long)need <= cap ||
		    stop_requested() != STOP_NONE)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&pl->freed, &pl->lock, &ts);
	}
	pl->in_use += (long)need;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *pl = w->pool;
	exec_worker_begin();
	for (;;) {
		/* A stop (runner/stop.h) ends the run between scenarios; the one running is cut by lib/conn.
		 */
		if (stop_requested() != STOP_NONE)
			break;
		/* The server showed a limit on connections per address (runner/connlimit.h): the workers
		 * beyond the parallelism it allows take no new scenario; the others run the rest. Never the
		 * last one. */
		size_t cj = connlimit_jobs();
		if (cj > 0 && w->index >= cj && w->index > 0)
			break;
		/* Another worker's connect waits for a slot (connlimit.h): start nothing new until it got
		 * it, or the scenarios started meanwhile take every slot the running ones free. */
		if (connlimit_waiting() > 0) {
			connlimit_wait_turn(CONNLIMIT_HOLD_MAX_MS);
			if (stop_requested() != STOP_NONE)
				break;
			cj = connlimit_jobs();
			if (cj > 0 && w->index >= cj && w->index > 0)
				break;
		}
		int failing;
		pthread_mutex_lock(&pl->lock);
		size_t k = next_scenario(pl, w, &failing);
		if (k != SIZE_MAX)
			admit(pl, pl->need[k]);
		pthread_mutex_unlock(&pl->lock);
		if (k == SIZE_MAX)
			break;
		run_one(pl, w->acct, k, failing);
		pthread_mutex_lock(&pl->lock);
		pl->in_use -= (long)pl->need[k];
		pthread_cond_broadcast(&pl->freed);
		pthread_mutex_unlock(&pl->lock);
		w->last_failed = failing;
		if (failing) {
			pthread_mutex_lock(&pl->lock);
			pl->fail_running--;
			pthread_mutex_unlock(&pl->lock);
		}
	}
	return NULL;
}

size_t exec_default_jobs(const struct target *t)
{
	size_t jobs = t->naccounts / 2;
	/* Paced by LOGIN-DELAY, workers mostly sleep: every pair of accounts shortens the run. */
	size_t max =
	    pace_max_delay(pace_global(), t) > 0 ? EXEC_DEFAULT_JOBS_PACED_MAX : EXEC_DEFAULT_JOBS_MAX;

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
		else if ((st->kind == STEP_SEND || st->kind == STEP_RAW) && st->u.text.s &&
		         st->u.text.len >= 4 &&
		         (strncasecmp(st->u.text.s, "PASS", 4) == 0 ||
		          strncasecmp(st->u.text.s, "APOP", 4) == 0 ||
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

/* How many failing-login scenarios may run at once while others remain (pool.fail_cap): half the
 * workers, so the other half keeps logging in successfully between their failures. */
static size_t fail_cap(size_t jobs)
{
	return jobs > 1 ? jobs / 2 : 1;
}

struct by_fails {
	size_t fails, pos, i;
};

static int cmp_fails(const void *a, const void *b)
{
	const struct by_fails *x = a, *y = b;
	if (x->fails != y->fails)
		return x->fails > y->fails ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The two start queues (results keep the plan's order). Several workers start the longest scenarios first,
 * so no worker is left with a long one at the end while the others are idle; one worker keeps the plan's
 * order. The failing-login scenarios are taken out of that order, most failed logins first (each failure
 * may cost a delay: they are the long ones where the server has a penalty); next_scenario() interleaves. */
static int build_queues(struct pool *pl, size_t jobs)
{
	size_t n = pl->n;
	size_t *sched = malloc((n ? n : 1) * sizeof *sched);
	struct by_fails *f = malloc((n ? n : 1) * sizeof *f);
	pl->fail = malloc((n ? n : 1) * sizeof *pl->fail);
	pl->rest = malloc((n ? n : 1) * sizeof *pl->rest);
	if (!sched || !f || !pl->fail || !pl->rest) {
		free(sched);
		free(f);
		free(pl->fail);
		free(pl->rest);
		return -1;
	}
	if (jobs > 1)
		plan_schedule(pl->scenarios, n, sched);
	else
		for (size_t i = 0; i < n; i++)
			sched[i] = i;
	size_t nf = 0;
	for (size_t k = 0; k < n; k++) {
		size_t c = failed_logins(pl->scenarios[sched[k]]);
		if (c > 0)
			f[nf++] = (struct by_fails){.fails = c, .pos = k, .i = sched[k]};
		else
			pl->rest[pl->nrest++] = sched[k];
	}
	qsort(f, nf, sizeof *f, cmp_fails);
	for (size_t k = 0; k < nf; k++)
		pl->fail[k] = f[k].i;
	pl->nfail = nf;
	pl->fail_cap = fail_cap(jobs);
	free(sched);
	free(f);
	return 0;
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
	struct pool pl = {
	    .scenarios = scenarios, .n = n, .t = t, .p = p, .o = o, .obs = obs, .results = results};
	if (build_queues(&pl, jobs) != 0)
		return p3err_set(err, "out of memory");
	pl.need = malloc((n ? n : 1) * sizeof *pl.need);
	if (pl.need == NULL) {
		free(pl.fail);
		free(pl.rest);
		return p3err_set(err, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		pl.need[i] = session_need(scenarios[i]);
	pthread_mutex_init(&pl.lock, NULL);
	pthread_cond_init(&pl.freed, NULL);
	struct worker *ws = calloc(jobs, sizeof *ws);
	if (ws == NULL) {
		pthread_cond_destroy(&pl.freed);
		pthread_mutex_destroy(&pl.lock);
		free(pl.need);
		free(pl.fail);
		free(pl.rest);
		return p3err_set(err, "out of memory");
	}
	size_t started = 0;
	for (size_t k = 0; k < jobs; k++) {
		ws[k].pool = &pl;
		ws[k].acct = &t->accounts[2 * k];
		ws[k].index = k;
		/* Every worker starts with a scenario whose logins succeed: the first failures then come one
		 * by one, between successes, not all at once. */
		ws[k].last_failed = 1;
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
	free(pl.need);
	free(pl.fail);
	free(pl.rest);
	pthread_cond_destroy(&pl.freed);
	pthread_mutex_destroy(&pl.lock);
	fixture_cache_clear();
	return 0;
}
