/* pace.h — spacing logins per account by the server's LOGIN-DELAY (RFC 2449 §6.5: "the number of seconds
 * after an +OK response to a PASS, APOP, or AUTH command before another authentication will be accepted"):
 * the delay that applies to each account, when each last logged in, and how long the next login on it must
 * wait. One table per process (pace_global()), shared by every worker and the probe, its accounts keyed by
 * their target (`owner`, the struct target: a run may hold several) and user name; the clock is passed in,
 * so the unit tests drive the bookkeeping alone. */
#ifndef POP3SPEC_PACE_H
#define POP3SPEC_PACE_H

#include <pthread.h>
#include <stddef.h>

/* Milliseconds added to every wait: a server that keeps login times in whole seconds (Cyrus's
 * popminpoll) counts from a second the client's clock may already be past. */
#define PACE_MARGIN_MS 1000
/* Accounts the table holds (a profile has a few dozen at most; more are simply not paced). */
#define PACE_MAX_ACCOUNTS 256

struct pace_acct {
	const void *owner; /* the target */
	char *user;
	long delay_ms;     /* the delay that applies to this account (0 none) */
	long long last_ok; /* monotonic ms of its last successful login; -1 never (in this run) */
};

struct pace {
	pthread_mutex_t lock;
	struct pace_acct *v;
	size_t n;
};

void pace_init(struct pace *pc);
void pace_free(struct pace *pc);
/* The delay that applies to `user` of `owner` (ms): the probe sets the LOGIN-DELAY CAPA announced before
 * login (the largest for any user), then the one CAPA announced after this user's login (RFC 2449 §6.5:
 * it may be lower, and is the one that applies to that user). Forgets nothing else. */
void pace_set_delay(struct pace *pc, const void *owner, const char *user, long delay_ms);
/* The delay that applies (ms; 0 none, and for an account never set). */
long pace_delay(struct pace *pc, const void *owner, const char *user);
/* A login as `user` got +OK at `now` (monotonic ms). */
void pace_logged_in(struct pace *pc, const void *owner, const char *user, long long now);
/* Milliseconds the next login as `user` must still wait at `now`: 0 when it may go (a delay of 0, no
 * login yet in this run), else until delay + PACE_MARGIN_MS after the last +OK. */
long long pace_wait(struct pace *pc, const void *owner, const char *user, long long now);
/* Milliseconds since `user` last logged in, or -1. */
long long pace_since(struct pace *pc, const void *owner, const char *user, long long now);
/* The largest delay of owner's accounts (ms). */
long pace_max_delay(struct pace *pc, const void *owner);

/* The process's table. */
struct pace *pace_global(void);

/* The LOGIN-DELAY in CAPA lines (RFC 2449 §6.5: "LOGIN-DELAY seconds", optionally followed by "USER"),
 * in seconds; -1 when no line announces it (or its argument is not a number). *per_user (may be NULL)
 * says whether the USER token followed: a more accurate value is available after login. */
long pace_capa_delay(char *const *lines, size_t n, int *per_user);

#endif
