/* connlimit.c — retrying a connect the server refused while other sessions of this run were open, and
 * lowering the run's parallelism to the limit it showed (connlimit.h). */
#include "runner/exec/connlimit.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "lib/conn.h"
#include "runner/stop.h"

static atomic_long seen;   /* our connections open at the first refusal; 0 none */
static atomic_size_t jobs; /* the workers to go on with; 0 unchanged */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int connlimit_retry(long ours, long others, int attempt, long long *waited_ms)
{
	*waited_ms = 0;
	if (others <= 0 || attempt >= CONNLIMIT_ATTEMPTS || stop_requested() != STOP_NONE)
		return 0;
	long zero = 0;
	atomic_compare_exchange_strong(&seen, &zero, ours);
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
	atomic_store(&jobs, 0);
}
