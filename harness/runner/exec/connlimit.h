/* connlimit.h — adapting to a server's limit on connections per client address (Courier's couriertcpd:
 * MAXPERIP=4 by default; pop3refd --max-per-address with --limit-loopback): a connection refused, closed
 * before its greeting or greeted with -ERR while other sessions of this run were open is retried after one
 * of them closes, up to a bound, and the run goes on with fewer workers. Only our own concurrent sessions
 * can excuse a refusal: with none open, or after the bound, the scenario ends in an error as before.
 * While a connect waits for a slot it holds the run (connlimit_wait_turn): no worker starts a new scenario
 * until it got its connection, so the scenarios already running end, their sessions close, and the slot
 * goes to the one waiting, not to the next scenario another worker starts (starvation). */
#ifndef POP3SPEC_CONNLIMIT_H
#define POP3SPEC_CONNLIMIT_H

#include <stddef.h>

/* Attempts of one connect step before the refusal stands (the first included): with the wait below, up
 * to a minute, longer than another worker holds a session (a paced login waits LOGIN-DELAY in it). */
#define CONNLIMIT_ATTEMPTS 30
/* The longest wait, per retry, for one of the other sessions to close (ms): a session between two
 * commands closes within a step's time; after this the connect is tried again anyway. */
#define CONNLIMIT_WAIT_MS 2000

/* The longest a worker waits for the hold to end before it starts a scenario anyway (ms): longer than one
 * connect can wait (CONNLIMIT_ATTEMPTS retries of up to CONNLIMIT_WAIT_MS, each with its connect and
 * greeting), so the bound only matters where a waiter is stuck (e.g. its thread ended without release). */
#define CONNLIMIT_HOLD_MAX_MS ((long long)CONNLIMIT_ATTEMPTS * (CONNLIMIT_WAIT_MS + 1000))

/* A connect was refused while `ours` connections of this run were open, `others` of them another
 * worker's (they may close while this one waits). Returns 1 when the refusal may be the server's
 * per-address limit and another attempt is to be made (attempt: 1 for the first refusal): it has then
 * waited up to CONNLIMIT_WAIT_MS for one of the others to close (cut by a stop), set *waited_ms, and
 * lowered connlimit_jobs() to (ours + 1) / 2 when that is lower, saying so on stderr each time it drops.
 * Returns 0 when the refusal stands: no other worker's session was open, the bound is reached, or a stop was
 * requested. Returning 1, it holds the run for the calling thread until connlimit_release(). */
int connlimit_retry(long ours, long others, int attempt, long long *waited_ms);

/* The calling thread's connect is over (connected, or the refusal stands): its hold, if any, ends. Safe to
 * call without one. */
void connlimit_release(void);
/* Connects holding the run now (waiting in connlimit_retry for a slot). */
long connlimit_waiting(void);
/* Before a worker starts a scenario: wait while another thread's connect holds the run, at most max_ms,
 * cut by a stop. Returns the milliseconds waited. */
long long connlimit_wait_turn(long long max_ms);

/* The workers the run goes on with once a limit was met (ours + 1 at the refusals, halved, the lowest: a
 * worker's scenario holds up to two sessions at once; at least 1); 0 while none was. */
size_t connlimit_jobs(void);
/* The limit seen: our connections open at the first refusal; 0 none. */
long connlimit_seen(void);
/* Once a refusal was seen (else 0): the capacity the run may count on, the most of our connections open
 * at a refusal or open and greeted at once (each was accepted while the others were open; fewer at another
 * refusal only means the server still counted sessions we had closed). */
long connlimit_capacity(void);
/* Around one connect attempt: begin before it opens, end once its greeting was read (ok: a +OK greeting,
 * the server took it). */
void connlimit_connect_begin(void);
void connlimit_connect_end(int ok);

/* Forget what an earlier run in this process learnt (a run against another target); no thread may be
 * waiting. */
void connlimit_reset(void);

#endif
