/* guard.c — connections per address, sessions per user, and the growing failed-login delay, with a fixed-size
 * table of recent failures. */
#include "server/guard.h"

#include <stdio.h>
#include <string.h>

#include "server/server.h"
#include "server/session.h"

void guard_init(struct guard *g)
{
	memset(g, 0, sizeof *g);
	g->max_per_address = GUARD_MAX_PER_ADDRESS;
	g->max_per_user = GUARD_MAX_PER_USER;
	g->delay_base_ms = 1000;
	g->delay_max_ms = GUARD_DELAY_MAX_MS;
}

void guard_peer_address(const char *peer, char *addr, size_t size)
{
	const char *end = strrchr(peer, ':');
	size_t n;

	if (peer[0] == '[') {
		const char *close = strchr(peer, ']');
		peer++;
		end = close ? close : peer + strlen(peer);
	} else if (!end) {
		end = peer + strlen(peer);
	}
	n = (size_t)(end - peer);
	if (n >= size)
		n = size - 1;
	memcpy(addr, peer, n);
	addr[n] = '\0';
}

int guard_is_loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
	       strncmp(addr, "::ffff:127.", 11) == 0;
}

int guard_accept_allowed(const struct server *srv, const char *addr)
{
	const struct guard *g = &srv->guard;
	size_t n = 0;
	char other[64];

	if (g->max_per_address == 0 || (!g->limit_loopback && guard_is_loopback(addr)))
		return 1;
	/* A walk over the open sessions: connections are bounded by descriptors, and this runs per accept. */
	for (const struct session *s = srv->sessions; s; s = s->next) {
		guard_peer_address(s->peer, other, sizeof other);
		if (strcmp(other, addr) == 0 && ++n >= g->max_per_address)
			return 0;
	}
	return 1;
}

int guard_user_busy(const struct server *srv, const struct session *self, const char *user)
{
	size_t n = 0;

	if (srv->guard.max_per_user == 0 || !user)
		return 0;
	for (const struct session *s = srv->sessions; s; s = s->next) {
		if (s == self)
			continue;
		if ((s->store && strcmp(s->user, user) == 0) ||
		    (s->delay_pending && strcmp(s->failed_user, user) == 0))
			n++;
	}
	return n >= srv->guard.max_per_user;
}

/* The entry of key, or a free one, or the one unused longest (whose count then starts again). */
static struct guard_entry *entry(struct guard *g, const char *key, time_t now, int create)
{
	struct guard_entry *oldest = NULL;

	for (size_t i = 0; i < GUARD_TABLE_SIZE; i++) {
		struct guard_entry *e = &g->table[i];
		if (e->key[0] && now - e->last > GUARD_FORGET_SECONDS)
			e->key[0] = '\0'; /* expired: quiet for long enough */
		if (e->key[0] && strcmp(e->key, key) == 0)
			return e;
		if (!oldest || !e->key[0] || (oldest->key[0] && e->last < oldest->last))
			oldest = e;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof *oldest);
	snprintf(oldest->key, sizeof oldest->key, "%s", key);
	return oldest;
}

static unsigned count(struct guard *g, char kind, const char *what, time_t now)
{
	char key[sizeof g->table[0].key];
	struct guard_entry *e;

	if (!what)
		return 0;
	snprintf(key, sizeof key, "%c:%s", kind, what);
	e = entry(g, key, now, 1);
	if (e->failures < 64)
		e->failures++;
	e->last = now;
	return e->failures;
}

long guard_failure(struct guard *g, const char *addr, const char *user, time_t now)
{
	unsigned a = count(g, 'a', addr, now), u = count(g, 'u', user, now), n = a > u ? a : u;
	long d = g->delay_base_ms;

	if (d <= 0)
		return 0;
	for (unsigned i = 1; i < n && d < g->delay_max_ms; i++)
		d *= 2;
	return d < g->delay_max_ms ? d : g->delay_max_ms;
}

void guard_success(struct guard *g, const char *addr, const char *user)
{
	char key[sizeof g->table[0].key];
	struct guard_entry *e;

	if (addr) {
		snprintf(key, sizeof key, "a:%s", addr);
		if ((e = entry(g, key, time(NULL), 0)) != NULL)
			e->key[0] = '\0';
	}
	if (user) {
		snprintf(key, sizeof key, "u:%s", user);
		if ((e = entry(g, key, time(NULL), 0)) != NULL)
			e->key[0] = '\0';
	}
}
