/* pace.c — the per-account login clocks of RFC 2449 §6.5 (LOGIN-DELAY): which delay applies to an
 * account, when it last logged in, how long its next login waits. Thread-safe: workers and the probe's
 * account checks share one table. */
#include "runner/exec/pace.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void pace_init(struct pace *pc)
{
	memset(pc, 0, sizeof *pc);
	pthread_mutex_init(&pc->lock, NULL);
}

void pace_free(struct pace *pc)
{
	for (size_t i = 0; i < pc->n; i++)
		free(pc->v[i].user);
	free(pc->v);
	pc->v = NULL;
	pc->n = 0;
	pthread_mutex_destroy(&pc->lock);
}

/* The entry for (owner, user), made when missing (NULL when the table is full or memory is out). Locked. */
static struct pace_acct *entry(struct pace *pc, const void *owner, const char *user, int create)
{
	for (size_t i = 0; i < pc->n; i++)
		if (pc->v[i].owner == owner && strcmp(pc->v[i].user, user) == 0)
			return &pc->v[i];
	if (!create || pc->n >= PACE_MAX_ACCOUNTS)
		return NULL;
	struct pace_acct *v = realloc(pc->v, (pc->n + 1) * sizeof *v);
	if (v == NULL)
		return NULL;
	pc->v = v;
	char *u = strdup(user);
	if (u == NULL)
		return NULL;
	v[pc->n] = (struct pace_acct){.owner = owner, .user = u, .delay_ms = 0, .last_ok = -1};
	return &v[pc->n++];
}

void pace_set_delay(struct pace *pc, const void *owner, const char *user, long delay_ms)
{
	pthread_mutex_lock(&pc->lock);
	struct pace_acct *a = entry(pc, owner, user, 1);
	if (a)
		a->delay_ms = delay_ms > 0 ? delay_ms : 0;
	pthread_mutex_unlock(&pc->lock);
}

long pace_delay(struct pace *pc, const void *owner, const char *user)
{
	pthread_mutex_lock(&pc->lock);
	struct pace_acct *a = entry(pc, owner, user, 0);
	long d = a ? a->delay_ms : 0;
	pthread_mutex_unlock(&pc->lock);
	return d;
}

long pace_max_delay(struct pace *pc, const void *owner)
{
	pthread_mutex_lock(&pc->lock);
	long d = 0;
	for (size_t i = 0; i < pc->n; i++)
		if (pc->v[i].owner == owner && pc->v[i].delay_ms > d)
			d = pc->v[i].delay_ms;
	pthread_mutex_unlock(&pc->lock);
	return d;
}

void pace_logged_in(struct pace *pc, const void *owner, const char *user, long long now)
{
	pthread_mutex_lock(&pc->lock);
	struct pace_acct *a = entry(pc, owner, user, 0);
	if (a) /* an account never set has no delay: nothing to remember */
		a->last_ok = now;
	pthread_mutex_unlock(&pc->lock);
}

long long pace_wait(struct pace *pc, const void *owner, const char *user, long long now)
{
	pthread_mutex_lock(&pc->lock);
	struct pace_acct *a = entry(pc, owner, user, 0);
	long long w = 0;
	if (a && a->delay_ms > 0 && a->last_ok >= 0) {
		w = a->last_ok + a->delay_ms + PACE_MARGIN_MS - now;
		if (w < 0)
			w = 0;
	}
	pthread_mutex_unlock(&pc->lock);
	return w;
}

long long pace_since(struct pace *pc, const void *owner, const char *user, long long now)
{
	pthread_mutex_lock(&pc->lock);
	struct pace_acct *a = entry(pc, owner, user, 0);
	long long s = a && a->last_ok >= 0 ? now - a->last_ok : -1;
	pthread_mutex_unlock(&pc->lock);
	return s;
}

struct pace *pace_global(void)
{
	static struct pace g = {.lock = PTHREAD_MUTEX_INITIALIZER};
	return &g;
}

long pace_capa_delay(char *const *lines, size_t n, int *per_user)
{
	long best = -1;
	if (per_user)
		*per_user = 0;
	for (size_t i = 0; i < n; i++) {
		const char *l = lines[i];
		if (l == NULL || strncasecmp(l, "LOGIN-DELAY", 11) != 0 || l[11] != ' ')
			continue;
		const char *p = l + 12;
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			continue;
		char *end;
		long v = strtol(p, &end, 10);
		if (v < 0 || (*end != '\0' && *end != ' '))
			continue;
		while (*end == ' ')
			end++;
		if (per_user && strncasecmp(end, "USER", 4) == 0)
			*per_user = 1;
		if (v > best)
			best = v;
	}
	return best;
}
