/* model.c — the maildrop model of `pop3spec load` (see model.h): what a correct server may show each
 * session, given what every other session did, and the violations when it shows something else. */
#include "runner/stress/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/limits.h"
#include "lib/line.h"

long long model_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void reset_msgs(struct model *M, struct macct *a)
{
	memset(a->m, 0, M->nfx * sizeof *a->m);
	for (size_t k = 0; k < M->nfx; k++)
		a->m[k].st = k < M->ninit ? M_PRESENT : M_ABSENT;
}

int model_init(struct model *M, const struct account *accts, size_t nacct, const struct fmsg *fx, size_t nfx,
               long long grace_quit_ms, long long grace_drop_ms)
{
	memset(M, 0, sizeof *M);
	pthread_mutex_init(&M->lock, NULL);
	M->fx = fx;
	M->nfx = nfx;
	M->ninit = nfx;
	M->grace_quit_ms = grace_quit_ms;
	M->grace_drop_ms = grace_drop_ms;
	M->next_id = 1;
	M->acct = calloc(nacct, sizeof *M->acct);
	M->viol = calloc(MODEL_MAX_VIOL, sizeof *M->viol);
	if (M->acct == NULL || M->viol == NULL)
		return -1;
	M->nacct = nacct;
	for (size_t i = 0; i < nacct; i++) {
		M->acct[i].a = &accts[i];
		M->acct[i].m = calloc(nfx ? nfx : 1, sizeof *M->acct[i].m);
		if (M->acct[i].m == NULL)
			return -1;
		reset_msgs(M, &M->acct[i]);
	}
	return 0;
}

void model_free(struct model *M)
{
	for (size_t i = 0; i < M->nacct; i++) {
		free(M->acct[i].m);
		for (struct srec *r = M->acct[i].recs, *n; r; r = n) {
			n = r->next;
			free(r);
		}
	}
	for (size_t i = 0; i < M->nviol; i++) {
		free(M->viol[i].message);
		for (size_t k = 0; k < M->viol[i].nsessions; k++)
			free(M->viol[i].tr_text[k]);
	}
	free(M->viol);
	free(M->acct);
	pthread_mutex_destroy(&M->lock);
}

uint64_t model_seq(struct model *M)
{
	pthread_mutex_lock(&M->lock);
	uint64_t s = ++M->seq;
	pthread_mutex_unlock(&M->lock);
	return s;
}

/* Forget the oldest finished sessions beyond MODEL_KEEP_RECS whose lock hold has expired. Locked. */
static void prune(struct macct *a)
{
	long long now = model_now_ms();
	size_t kept = 0;
	for (struct srec **pp = &a->recs; *pp;) {
		struct srec *r = *pp;
		if (!r->open && ++kept > MODEL_KEEP_RECS && r->hold_until < now) {
			*pp = r->next;
			free(r);
			continue;
		}
		pp = &r->next;
	}
}

struct srec *model_begin(struct model *M, size_t i, int client)
{
	struct srec *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	pthread_mutex_lock(&M->lock);
	struct macct *a = &M->acct[i];
	if (a->draining || a->resetting) {
		pthread_mutex_unlock(&M->lock);
		free(r);
		return NULL;
	}
	r->id = M->next_id++;
	r->acct = i;
	r->client = client;
	r->open = 1;
	r->next = a->recs;
	a->recs = r;
	a->active++;
	prune(a);
	pthread_mutex_unlock(&M->lock);
	return r;
}

static void note_locked(struct srec *r, char kind, const char *data, size_t len)
{
	char *dst = r->tr[r->ntr % MODEL_TR_LINES];
	dst[0] = kind;
	dst[1] = ':';
	dst[2] = ' ';
	line_escape(data, len, dst + 3, MODEL_TR_TEXT - 3);
	r->ntr++;
}

void model_note(struct model *M, struct srec *r, char kind, const char *data, size_t len)
{
	pthread_mutex_lock(&M->lock);
	note_locked(r, kind, data, len);
	pthread_mutex_unlock(&M->lock);
}

void model_end(struct model *M, struct srec *r, int dropped)
{
	pthread_mutex_lock(&M->lock);
	r->open = 0;
	r->hold_until = model_now_ms() + (dropped ? M->grace_drop_ms : M->grace_quit_ms);
	/* A session that never sent credentials, or whose login was refused, never held the lock (RFC 1939
	 * §4: a server releases it before it refuses): nothing to wait for before a reset. */
	if (r->pass_seq == 0 || r->denied_seq)
		r->hold_until = 0;
	M->acct[r->acct].active--;
	/* Re-fill a maildrop the sessions have (nearly) emptied: a quarter of the messages left. */
	size_t left = 0;
	for (size_t k = 0; k < M->nfx; k++)
		left += M->acct[r->acct].m[k].st != M_DELETED && M->acct[r->acct].m[k].st != M_ABSENT;
	if (left * 4 < M->ninit || left < 2)
		M->acct[r->acct].draining = 1;
	pthread_mutex_unlock(&M->lock);
}

/* ---- violations ----------------------------------------------------------------------------------- */

static char *tr_join(const struct srec *r)
{
	size_t first = r->ntr > MODEL_TR_LINES ? r->ntr - MODEL_TR_LINES : 0;
	size_t cap = 64 + (r->ntr - first) * (MODEL_TR_TEXT + 1);
	char *out = malloc(cap);
	if (out == NULL)
		return NULL;
	size_t len = (size_t)snprintf(out, cap, "session s%lu (%s)%s\n", r->id, "", first ? " ..." : "");
	for (size_t k = first; k < r->ntr; k++)
		len += (size_t)snprintf(out + len, cap - len, "%s\n", r->tr[k % MODEL_TR_LINES]);
	return out;
}

static struct srec *find_rec(struct model *M, unsigned long id)
{
	for (size_t i = 0; i < M->nacct; i++)
		for (struct srec *r = M->acct[i].recs; r; r = r->next)
			if (r->id == id)
				return r;
	return NULL;
}

static void violation_locked(struct model *M, struct srec *r, const unsigned long *related, const char *kind,
                             const char *msg)
{
	M->viol_total++;
	if (r)
		M->acct[r->acct].draining = 1; /* the model no longer knows the maildrop: start over */
	if (M->nviol >= MODEL_MAX_VIOL)
		return;
	struct violation *v = &M->viol[M->nviol++];
	snprintf(v->kind, sizeof v->kind, "%s", kind);
	v->message = strdup(msg);
	struct srec *recs[1 + MODEL_MAX_RELATED];
	size_t n = 0;
	if (r)
		recs[n++] = r;
	for (size_t k = 0; related && related[k] && n < 1 + MODEL_MAX_RELATED; k++) {
		int dup = 0;
		for (size_t j = 0; j < n; j++)
			dup |= recs[j]->id == related[k];
		struct srec *o = dup ? NULL : find_rec(M, related[k]);
		if (o)
			recs[n++] = o;
	}
	for (size_t k = 0; k < n; k++) {
		v->sessions[k] = recs[k]->id;
		v->tr_text[k] = tr_join(recs[k]);
	}
	v->nsessions = n;
}

void model_violation(struct model *M, struct srec *r, const unsigned long *related, const char *kind,
                     const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&M->lock);
	if (r)
		note_locked(r, '#', msg, strlen(msg));
	violation_locked(M, r, related, kind, msg);
	pthread_mutex_unlock(&M->lock);
}

/* ---- logins and locks ----------------------------------------------------------------------------- */

void model_pass_sent(struct model *M, struct srec *r)
{
	pthread_mutex_lock(&M->lock);
	r->pass_seq = ++M->seq;
	pthread_mutex_unlock(&M->lock);
}

void model_login_refused(struct model *M, struct srec *r, const char *line)
{
	pthread_mutex_lock(&M->lock);
	uint64_t now_seq = ++M->seq;
	r->denied_seq = now_seq;
	long long now = model_now_ms();
	/* RFC 1939 §4, RFC 2449 §8.1.2: refusing correct credentials is allowed while the maildrop is locked,
	 * i.e. while another session may hold it: one that sent its credentials before this refusal came, was
	 * not refused before ours were sent, and is still connected or closed so recently that the server may
	 * not have seen the close yet (a bounded grace, longer after a drop). */
	unsigned long holders[MODEL_MAX_RELATED + 1] = {0};
	size_t nh = 0;
	int held = 0;
	for (struct srec *o = M->acct[r->acct].recs; o; o = o->next) {
		if (o == r || o->pass_seq == 0 || o->pass_seq > now_seq)
			continue;
		if (o->denied_seq && o->denied_seq < r->pass_seq)
			continue;
		if (o->open || o->hold_until >= now) {
			held = 1;
			break;
		}
	}
	if (!held) {
		for (struct srec *o = M->acct[r->acct].recs; o && nh < MODEL_MAX_RELATED; o = o->next)
			if (o != r && o->pass_seq)
				holders[nh++] = o->id;
		char msg[600];
		int in_use = strstr(line, "[IN-USE]") != NULL;
		snprintf(
		    msg, sizeof msg,
		    "%s: login of %s refused (\"%.200s\") while none of our sessions could hold the maildrop "
		    "(RFC 1939 §4, RFC 2449 §8.1.2: [IN-USE] only while it is locked)",
		    in_use ? "spurious [IN-USE]" : "correct credentials refused", M->acct[r->acct].a->user,
		    line);
		note_locked(r, '#', msg, strlen(msg));
		violation_locked(M, r, holders, in_use ? "in-use" : "login-refused", msg);
	}
	pthread_mutex_unlock(&M->lock);
}

/* ---- what a session sees -------------------------------------------------------------------------- */

static const char *state_name(enum mstate s)
{
	switch (s) {
	case M_PRESENT:
		return "present";
	case M_PENDING:
		return "deletion pending (QUIT sent)";
	case M_DELETED:
		return "deleted (QUIT +OK)";
	case M_MAYBE:
		return "maybe deleted (QUIT reply lost)";
	case M_ABSENT:
		return "not delivered";
	}
	return "?";
}

int model_snapshot(struct model *M, struct srec *r, const unsigned long long *sz, size_t n, uint64_t t_end,
                   struct view *v)
{
	memset(v, 0, sizeof *v);
	v->n = n;
	v->idx = calloc(n ? n : 1, sizeof *v->idx);
	v->deleted = calloc(n ? n : 1, 1);
	if (v->idx == NULL || v->deleted == NULL)
		return -1;
	pthread_mutex_lock(&M->lock);
	struct macct *a = &M->acct[r->acct];
	char *seen = calloc(M->nfx ? M->nfx : 1, 1);
	int bad = 0;
	char msg[900];
	unsigned long rel[2] = {0, 0};
	for (size_t k = 0; k < n && !bad && seen; k++) {
		v->total += sz[k];
		size_t f = M->nfx;
		for (size_t j = 0; j < M->nfx; j++)
			if (!seen[j] && M->fx[j].len == sz[k]) {
				f = j;
				break;
			}
		if (f == M->nfx) {
			snprintf(msg, sizeof msg,
			         "%s: message %zu has %llu octets, which no message in the maildrop (or not "
			         "twice) has: "
			         "sizes inconsistent with the maildrop (RFC 1939 §5, §11)",
			         a->a->user, k + 1, sz[k]);
			violation_locked(M, r, NULL, "unknown-message", msg);
			bad = 1;
			break;
		}
		seen[f] = 1;
		v->idx[k] = f;
		const struct mmsg *m = &a->m[f];
		if (m->st == M_ABSENT) {
			/* A message of the delivery pool whose delivery had not begun: nothing put it there.
			 */
			snprintf(
			    msg, sizeof msg,
			    "%s: message %zu has %llu octets: the size of a message not delivered to this "
			    "maildrop (yet): sizes inconsistent with the maildrop (RFC 1939 §5, §11)",
			    a->a->user, k + 1, sz[k]);
			violation_locked(M, r, NULL, "unknown-message", msg);
			bad = 1;
			break;
		}
		/* RFC 1939 §6: the server removes marked messages in UPDATE, before it answers QUIT +OK. */
		if (m->st == M_DELETED && m->t_ok < r->pass_seq) {
			rel[0] = m->by;
			snprintf(msg, sizeof msg,
			         "%s: message %zu (%llu octets) is listed, but session s%lu deleted it and "
			         "its QUIT got "
			         "+OK before this session logged in (RFC 1939 §6)",
			         a->a->user, k + 1, sz[k], m->by);
			violation_locked(M, r, rel, "deleted-visible", msg);
			bad = 1;
		}
	}
	for (size_t j = 0; j < M->nfx && !bad && seen; j++) {
		struct mmsg *m = &a->m[j];
		if (seen[j] || m->st == M_ABSENT)
			continue;
		/* Delivered during the run: a session that opened the maildrop before the delivery was
		 * complete may or may not list it (RFC 1939 §4: the maildrop as the session opened it). */
		if (m->st == M_PRESENT && m->t_d0 && (m->t_d1 == 0 || m->t_d1 > r->pass_seq))
			continue;
		/* Absent: only a deletion that had begun (QUIT sent) before this listing arrived explains it.
		 */
		if (m->st == M_PRESENT || m->t_q > t_end) {
			rel[0] = m->by;
			snprintf(
			    msg, sizeof msg,
			    "%s: the message of %zu octets is gone, but no session deleted it and sent QUIT "
			    "(it is %s%s%s; RFC 1939 §6: only UPDATE after QUIT removes messages; a dropped "
			    "session deletes nothing)",
			    a->a->user, M->fx[j].len, state_name(m->st), m->by ? ", last marked by s" : "",
			    m->by ? "" : "");
			if (m->by) {
				size_t l = strlen(msg);
				snprintf(msg + l, sizeof msg - l, " [marked by s%lu]", m->by);
			}
			violation_locked(M, r, rel, "lost-message", msg);
			bad = 1;
		} else if (m->st == M_MAYBE || m->st == M_PENDING) {
			/* Seen gone: the uncertain deletion happened, before this listing at the latest. */
			m->st = M_DELETED;
			m->t_ok = t_end;
		}
	}
	free(seen);
	pthread_mutex_unlock(&M->lock);
	return bad ? -1 : 0;
}

static int uid_ok(const char *u)
{
	size_t n = strlen(u);
	if (n < 1 || n > POP3_MAX_UID_LEN)
		return 0;
	for (; *u; u++)
		if ((unsigned char)*u < 0x21 || (unsigned char)*u > 0x7e)
			return 0;
	return 1;
}

int model_uids(struct model *M, struct srec *r, const struct view *v, char *const *uids)
{
	pthread_mutex_lock(&M->lock);
	struct macct *a = &M->acct[r->acct];
	char msg[900];
	int bad = 0;
	for (size_t k = 0; k < v->n && !bad; k++) {
		const char *u = uids[k];
		if (!uid_ok(u)) {
			snprintf(
			    msg, sizeof msg,
			    "%s: unique-id of message %zu is \"%.80s\": not 1 to 70 characters 0x21-0x7E "
			    "(RFC 1939 §7)",
			    a->a->user, k + 1, u);
			violation_locked(M, r, NULL, "uid-invalid", msg);
			bad = 1;
			break;
		}
		for (size_t j = 0; j < k; j++)
			if (strcmp(uids[j], u) == 0) {
				snprintf(msg, sizeof msg,
				         "%s: messages %zu and %zu share the unique-id \"%s\" (RFC 1939 §7)",
				         a->a->user, j + 1, k + 1, u);
				violation_locked(M, r, NULL, "uid-invalid", msg);
				bad = 1;
				break;
			}
		if (bad)
			break;
		struct mmsg *m = &a->m[v->idx[k]];
		unsigned long rel[2] = {0, 0};
		if (m->uid[0] && strcmp(m->uid, u) != 0) {
			rel[0] = m->uid_by;
			snprintf(msg, sizeof msg,
			         "%s: message %zu (%zu octets) has the unique-id \"%s\"; session s%lu saw it "
			         "as \"%s\": "
			         "unique-ids must persist across sessions (RFC 1939 §7)",
			         a->a->user, k + 1, M->fx[v->idx[k]].len, u, m->uid_by, m->uid);
			violation_locked(M, r, rel, "uid-changed", msg);
			bad = 1;
			break;
		}
		for (size_t j = 0; j < M->nfx; j++) {
			if (j == v->idx[k] || strcmp(a->m[j].uid, u) != 0)
				continue;
			rel[0] = a->m[j].uid_by;
			snprintf(msg, sizeof msg,
			         "%s: message %zu (%zu octets) has the unique-id \"%s\", which session s%lu "
			         "saw on "
			         "another message (%zu octets, now %s): a unique-id must never be reused "
			         "(RFC 1939 §7)",
			         a->a->user, k + 1, M->fx[v->idx[k]].len, u, a->m[j].uid_by, M->fx[j].len,
			         state_name(a->m[j].st));
			violation_locked(M, r, rel, "uid-reused", msg);
			bad = 1;
			break;
		}
		if (!bad && !m->uid[0]) {
			snprintf(m->uid, sizeof m->uid, "%s", u);
			m->uid_by = r->id;
		}
	}
	pthread_mutex_unlock(&M->lock);
	return bad ? -1 : 0;
}

int model_deleted_elsewhere(struct model *M, const struct srec *r, const struct view *v, size_t k)
{
	if (k < 1 || k > v->n)
		return 0;
	pthread_mutex_lock(&M->lock);
	const struct mmsg *m = &M->acct[r->acct].m[v->idx[k - 1]];
	int yes = m->st != M_PRESENT && m->by != r->id;
	pthread_mutex_unlock(&M->lock);
	return yes;
}

void model_quit_sent(struct model *M, struct srec *r, const struct view *v, uint64_t t_q)
{
	pthread_mutex_lock(&M->lock);
	struct macct *a = &M->acct[r->acct];
	for (size_t k = 0; k < v->n; k++) {
		struct mmsg *m = &a->m[v->idx[k]];
		if (!v->deleted[k] || m->st == M_DELETED)
			continue;
		if (m->st == M_PRESENT || m->t_q == 0)
			m->t_q = t_q;
		m->st = M_PENDING;
		m->by = r->id;
	}
	pthread_mutex_unlock(&M->lock);
}

void model_quit_result(struct model *M, struct srec *r, const struct view *v, int outcome, uint64_t t)
{
	pthread_mutex_lock(&M->lock);
	struct macct *a = &M->acct[r->acct];
	for (size_t k = 0; k < v->n; k++) {
		struct mmsg *m = &a->m[v->idx[k]];
		if (!v->deleted[k] || m->st == M_DELETED || m->by != r->id)
			continue;
		/* RFC 1939 §6: +OK means removed; -ERR "some deleted messages not removed"; no reply: either.
		 */
		if (outcome == 1) {
			m->st = M_DELETED;
			m->t_ok = t;
		} else {
			m->st = M_MAYBE;
		}
	}
	pthread_mutex_unlock(&M->lock);
}

/* ---- resets --------------------------------------------------------------------------------------- */

int model_claim_reset(struct model *M, size_t i)
{
	pthread_mutex_lock(&M->lock);
	struct macct *a = &M->acct[i];
	int ok = a->draining && !a->resetting && a->active == 0 && a->delivering == 0;
	long long now = model_now_ms();
	for (struct srec *r = a->recs; r && ok; r = r->next)
		if (r->open || r->hold_until >= now)
			ok = 0;
	if (ok)
		a->resetting = 1;
	pthread_mutex_unlock(&M->lock);
	return ok;
}

void model_reset_done(struct model *M, size_t i, int ok)
{
	pthread_mutex_lock(&M->lock);
	struct macct *a = &M->acct[i];
	a->resetting = 0;
	if (ok) {
		reset_msgs(M, a);
		a->draining = 0;
		a->epoch++;
	}
	pthread_mutex_unlock(&M->lock);
}

size_t model_present(struct model *M, size_t i)
{
	pthread_mutex_lock(&M->lock);
	size_t left = 0;
	for (size_t k = 0; k < M->nfx; k++)
		left += M->acct[i].m[k].st != M_DELETED && M->acct[i].m[k].st != M_ABSENT;
	pthread_mutex_unlock(&M->lock);
	return left;
}

/* ---- deliveries ----------------------------------------------------------------------------------- */

void model_set_deliverable(struct model *M, size_t ninit)
{
	pthread_mutex_lock(&M->lock);
	M->ninit = ninit < M->nfx ? ninit : M->nfx;
	for (size_t i = 0; i < M->nacct; i++)
		reset_msgs(M, &M->acct[i]);
	pthread_mutex_unlock(&M->lock);
}

long model_deliver_begin(struct model *M, size_t i)
{
	pthread_mutex_lock(&M->lock);
	struct macct *a = &M->acct[i];
	long k = -1;
	if (!a->draining && !a->resetting)
		for (size_t j = M->ninit; j < M->nfx && k < 0; j++)
			if (a->m[j].st == M_ABSENT)
				k = (long)j;
	if (k >= 0) {
		a->m[k].st = M_PRESENT;
		a->m[k].t_d0 = ++M->seq;
		a->m[k].t_d1 = 0;
		a->delivering++;
	}
	pthread_mutex_unlock(&M->lock);
	return k;
}

void model_deliver_end(struct model *M, size_t i, size_t k, int ok)
{
	pthread_mutex_lock(&M->lock);
	struct macct *a = &M->acct[i];
	if (ok)
		a->m[k].t_d1 = ++M->seq;
	a->delivering--;
	pthread_mutex_unlock(&M->lock);
}

void view_free(struct view *v)
{
	free(v->idx);
	free(v->deleted);
	memset(v, 0, sizeof *v);
}
