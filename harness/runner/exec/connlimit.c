/* connlimit.c — retrying a connect the server refused while other sessions of this run were open, holding
 * back new scenarios while it waits, and lowering the run's parallelism to the limit it showed
 * (connlimit.h). */
#include "runner/exec/connlimit.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "lib/conn.h"
#include "runner/stop.h"

static atomic_long seen;          /* our connections open at the first refusal; 0 none */
static atomic_size_t jobs;        /* the workers to go on with; 0 unchanged */
static atomic_long high;          /* the most of ours open at a refusal; 0 none */
static atomic_long greeted;       /* the most of ours seen open and greeted at once; 0 none */
static atomic_long connecting;    /* connects under way (open, greeting not yet read) */
static atomic_long holders;       /* threads whose connect waits for a slot */
static _Thread_local int holding; /* this thread is one of them */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int connlimit_retry(long ours, long others, int attempt, long long *waited_ms)
{
	*waited_ms = 0;
	if (others <= 0 || attempt >= CONNLIMIT_ATTEMPTS || stop_requested() != STOP_NONE) {
		connlimit_release();
		return 0;
	}
	/* Hold the run: the slot the others free must come to this connect, not to a new scenario. */
	if (!holding) {
		holding = 1;
		atomic_fetch_add(&holders, 1);
	}
	long zero = 0;
	atomic_compare_exchange_strong(&seen, &zero, ours);
	/* Each of those `ours` was accepted while the others were open: the server takes at least that many.
	 * (Fewer open at a later refusal only means it still counted some we had closed.) */
	long hi = atomic_load(&high);
	while (ours > hi && !atomic_compare_exchange_weak(&high, &hi, ours))
		;
	/* The limit is about ours + 1 (the refused one): a worker's scenario holds up to two sessions. Every
	 * refusal may lower it further (sessions held longer than the wait: a paced login, a sleep). */
	size_t j = (size_t)((ours + 1) / 2), cur = atomic_load(&jobs);
	if (j == 0)
		j = 1;
	while ((cur == 0 || j < cur) && !atomic_compare_exchange_weak(&jobs, &cur, j))
		;
	if (cur == 0 || j < cur)
		fprintf(
		    stderr,
		    "pop3spec: the server limits connections per address (it refused one while %ld of ours "
		    "were open); running with -j %zu from now on, a refused connect retried when one of ours "
		    "closes\n",
		    ours, j);
	/* Wait for one of the other workers' sessions to close: this thread's own stay open while it waits.
	 */
	long long t0 = now_ms();
	long mine = conn_open_count_thread();
	while (now_ms() - t0 < CONNLIMIT_WAIT_MS && stop_requested() == STOP_NONE &&
	       conn_open_count() - mine >= others)
		conn_pause(20);
	/* A server counts a session until its process has gone, a moment after our close. */
	conn_pause(50);
	*waited_ms = now_ms() - t0;
	return stop_requested() == STOP_NONE;
}

void connlimit_release(void)
{
	if (holding) {
		holding = 0;
		atomic_fetch_sub(&holders, 1);
	}
}

long connlimit_capacity(void)
{
	if (atomic_load(&seen) == 0)
		return 0;
	long h = atomic_load(&high), g = atomic_load(&greeted);
	return h > g ? h : g;
}

void connlimit_connect_begin(void)
{
	atomic_fetch_add(&connecting, 1);
}

void connlimit_connect_end(int ok)
{
	if (ok) {
		/* Ours open now, less the other connects still waiting for their greeting (they may yet be
		 * refused): that many the server took at once. */
		long g = conn_open_count() - (atomic_load(&connecting) - 1), cur = atomic_load(&greeted);
		while (g > cur && !atomic_compare_exchange_weak(&greeted, &cur, g))
			;
	}
	atomic_fetch_sub(&connecting, 1);
}

long connlimit_waiting(void)
{
	return atomic_load(&holders);
}

long long connlimit_wait_turn(long long max_ms)
{
	long long t0 = now_ms();
	/* A thread that holds the run itself never waits for its own hold. */
	while (atomic_load(&holders) - holding > 0 && stop_requested() == STOP_NONE && now_ms() - t0 < max_ms)
		conn_pause(20);
	return now_ms() - t0;
}

size_t connlimit_jobs(void)
{
	return atomic_load(&jobs);
}

long connlimit_seen(void)
{
	return atomic_load(&seen);
}

void connlimit_reset(void)
{
	atomic_store(&seen, 0);
	atomic_store(&high, 0);
	atomic_store(&greeted, 0);
	atomic_store(&connecting, 0);
	atomic_store(&jobs, 0);
	atomic_store(&holders, 0);
	holding = 0;
}
