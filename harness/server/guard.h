/* guard.h — pop3refd's abuse limits: open connections per client address, sessions per user, and the
 * failed-login delay that grows with repeated failures per address and per user name (docs/security.md). */
#ifndef POP3REFD_GUARD_H
#define POP3REFD_GUARD_H

#include <stddef.h>
#include <time.h>

#include "lib/limits.h"
#include "server/config.h"

struct server;
struct session;

/* One remembered address or user name and its recent failures. */
struct guard_entry {
	char key[USERS_NAME_MAX + 3]; /* "a:ADDRESS" or "u:NAME"; "" when free */
	unsigned failures;
	time_t last; /* time of the last failure */
};

struct guard {
	size_t max_per_address; /* 0: no limit */
	int limit_loopback;     /* apply max_per_address to loopback peers too */
	size_t max_per_user;    /* 0: no limit */
	long delay_base_ms;     /* the first failure's delay; 0: no delay at all */
	long delay_max_ms;
	struct guard_entry table[GUARD_TABLE_SIZE];
};

/* The defaults of limits.h (delay base 1 s). */
void guard_init(struct guard *g);

/* The address part of a peer name as the listener writes it ("192.0.2.1:110" -> "192.0.2.1",
 * "[2001:db8::1]:995" -> "2001:db8::1"). */
void guard_peer_address(const char *peer, char *addr, size_t size);

/* Whether an address (as guard_peer_address gives it) is loopback: 127.0.0.0/8, ::1, ::ffff:127.x. */
int guard_is_loopback(const char *addr);

/* Whether one more connection from `addr` is allowed: fewer than max_per_address sessions open from it. */
int guard_accept_allowed(const struct server *srv, const char *addr);

/* Whether a login attempt as `user` by session `self` must be refused because max_per_user other sessions are
 * logged in as that user or waiting out a failed login as that user (the same for every name, known or not,
 * so the answer reveals nothing). */
int guard_user_busy(const struct server *srv, const struct session *self, const char *user);

/* Record a failed login from `addr` as `user` (either may be NULL) at `now`; returns the delay before the
 * -ERR, in ms: base * 2^(n-1) for the larger failure count n of the two, at most delay_max_ms. */
long guard_failure(struct guard *g, const char *addr, const char *user, time_t now);

/* A successful login: forget the failures of `addr` and `user`. */
void guard_success(struct guard *g, const char *addr, const char *user);

#endif
