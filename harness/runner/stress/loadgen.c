/* loadgen.c — one session of `pop3spec load`: connect (plain, implicit TLS or STLS), CAPA, log in
 * (USER/PASS or AUTH PLAIN), take the listing the model checks, run a few random commands (pipelined when
 * PIPELINING is announced) each checked against the session's own view, then QUIT or drop. Every reply
 * is checked for form (RFC 1939 §3, RFC 2449 §4) on the way. */
#include "runner/stress/loadgen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/b64.h"
#include "lib/conn.h"
#include "lib/digest.h"
#include "lib/limits.h"
#include "lib/line.h"
#include "lib/multiline.h"

#define LOAD_BODY_MAX (4 * 1024 * 1024) /* octets of one multi-line reply we keep */

const char *const load_cmd_names[C_COUNT] = {
#define LOAD_CMD_NAME(id, name) name,
    LOAD_CMDS(LOAD_CMD_NAME)
#undef LOAD_CMD_NAME
};

/* ---- random numbers (splitmix64: small, seedable, good enough to pick commands) ------------------ */

uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

void rng_seed(struct rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
	r->s = seed ^ (a * 0xd1b54a32d192ed03ULL) ^ (b * 0x8cb92ba72f3d8dd7ULL);
	rng_next(r);
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

void load_record(struct load *L, enum load_cmd c, long long us, int ok)
{
	pthread_mutex_lock(&L->stats_lock);
	hist_record(&L->st.h[c], us < 0 ? 0 : (uint64_t)us);
	if (ok)
		L->st.ok[c]++;
	else
		L->st.err[c]++;
	if (c != C_SESSION && c != C_CONNECT && c != C_TLS)
		L->st.commands++;
	pthread_mutex_unlock(&L->stats_lock);
}

/* ---- one session's connection --------------------------------------------------------------------- */

struct lsess {
	struct load *L;
	struct srec *r;
	struct conn *c;
	struct rng *rng;
	const struct account *acct;
	int tls;
	int caps_known, cap_stls, cap_pipe, cap_user, cap_top, cap_uidl, cap_plain;
	char timestamp[POP3_MAX_STATUS_LINE + 1]; /* the greeting's <...> (RFC 1939 §7 APOP), "" when none */
	struct view v;
	char **uids;  /* the session's UIDL listing, NULL when not taken */
	int dead;     /* a violation or an I/O failure: the session ends at once (RST) */
	int quitting; /* QUIT sent: a close is the normal end */
	int in_login; /* the credentials' reply is awaited */
	char *body;   /* the last multi-line reply, un-stuffed, CRLF line ends */
	size_t blen, bcap;
};

static int tmo(const struct lsess *s)
{
	/* A server may wait for a busy maildrop's lock before it answers the credentials (Dovecot waits
	 * 10 s): those replies get three times as long before they count as a hang. */
	return (int)(s->L->o.timeout * 1000 * (s->in_login ? 3 : 1));
}

static void viol(struct lsess *s, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void viol(struct lsess *s, const char *kind, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	model_violation(&s->L->M, s->r, NULL, kind, "%s: %s", s->acct->user, msg);
	s->dead = 1;
}

/* An I/O problem: a hang (no reply in time) or an unexpected close are findings about the target. */
static void io_fail(struct lsess *s, enum conn_status st, const char *what, const struct p3err *err)
{
	if (s->dead)
		return;
	if (st == CONN_TIMEOUT)
		viol(s, "hang", "no complete reply to %s within %.1f s", what, s->L->o.timeout);
	else if (st == CONN_EOF && s->quitting)
		s->dead = 1;
	else if (st == CONN_EOF)
		viol(s, "closed", "the server closed the connection while %s was pending%s%s", what,
		     err && err->msg[0] ? ": " : "", err ? err->msg : "");
	else
		viol(s, "closed", "%s: %s", what, err ? err->msg : "I/O error");
}

static int send_raw(struct lsess *s, const char *data, size_t len, const char *what)
{
	struct p3err err = {0};
	enum conn_status st = conn_write(s->c, data, len, tmo(s), &err);
	if (st != CONN_OK) {
		io_fail(s, st, what, &err);
		return -1;
	}
	return 0;
}

/* Queue one command line into buf (noting it in the transcript). */
static void add_cmd(struct lsess *s, char *buf, size_t *len, size_t cap, const char *line)
{
	/* AUTH PLAIN's argument carries the password: the transcript shows the command only. */
	if (strncasecmp(line, "AUTH PLAIN ", 11) == 0 || strncasecmp(line, "PASS ", 5) == 0)
		model_note(&s->L->M, s->r, 'C', line, strncasecmp(line, "PASS", 4) == 0 ? 4 : 10);
	else if (strncasecmp(line, "APOP ", 5) == 0)
		model_note(&s->L->M, s->r, 'C', line, strcspn(line + 5, " ") + 5); /* the digest left out */
	else
		model_note(&s->L->M, s->r, 'C', line, strlen(line));
	*len += (size_t)snprintf(buf + *len, cap - *len, "%s\r\n", line);
}

static int send_cmd(struct lsess *s, const char *line)
{
	char buf[600];
	size_t len = 0;
	add_cmd(s, buf, &len, sizeof buf, line);
	return send_raw(s, buf, len, line);
}

/* Read a status line: 1 +OK, 0 -ERR, -1 failure (recorded). The line (escaped-free, NUL-terminated)
 * is copied to out. RFC 1939 §3, RFC 2449 §4: "+OK" or "-ERR", then a space or the end, at most 512
 * octets with the CRLF. */
static int read_status(struct lsess *s, const char *what, char *out, size_t outsize)
{
	const char *p;
	struct line ln;
	struct p3err err = {0};
	enum conn_status st = conn_read_line(s->c, POP3_MAX_DATA_LINE, tmo(s), &p, &ln, &err);
	if (st != CONN_OK) {
		if (st == CONN_EOF && ln.len > 0)
			model_note(&s->L->M, s->r, 'S', p, ln.len);
		io_fail(s, st, what, &err);
		return -1;
	}
	model_note(&s->L->M, s->r, 'S', p, ln.len);
	snprintf(out, outsize, "%.*s", (int)(ln.len < outsize ? ln.len : outsize - 1), p);
	if (ln.consumed > POP3_MAX_STATUS_LINE) {
		viol(s, "malformed",
		     "the reply to %s is %zu octets long (RFC 2449 §4: at most 512 with the CRLF)", what,
		     ln.consumed);
		return -1;
	}
	if (!(ln.flags & LINE_CRLF)) {
		viol(s, "malformed", "the reply to %s does not end in CRLF (RFC 1939 §3)", what);
		return -1;
	}
	if (ln.len >= 3 && memcmp(p, "+OK", 3) == 0 && (ln.len == 3 || p[3] == ' '))
		return 1;
	if (ln.len >= 4 && memcmp(p, "-ERR", 4) == 0 && (ln.len == 4 || p[4] == ' '))
		return 0;
	viol(s, "malformed", "the reply to %s is neither \"+OK\" nor \"-ERR\" (RFC 1939 §3)", what);
	return -1;
}

/* Read a multi-line body up to its terminator into s->body (un-stuffed, CRLF line ends). */
static int read_body(struct lsess *s, const char *what)
{
	s->blen = 0;
	unsigned shown = 0;
	for (;;) {
		const char *p;
		struct line ln;
		struct p3err err = {0};
		enum conn_status st = conn_read_line(s->c, POP3_MAX_DATA_LINE, tmo(s), &p, &ln, &err);
		if (st == CONN_TOO_LONG) {
			viol(s, "malformed", "a line of the reply to %s is longer than %d octets", what,
			     POP3_MAX_DATA_LINE);
			return -1;
		}
		if (st != CONN_OK) {
			io_fail(s, st, what, &err);
			return -1;
		}
		if (!(ln.flags & LINE_CRLF)) {
			model_note(&s->L->M, s->r, 'S', p, ln.len);
			viol(s, "malformed", "a line of the reply to %s does not end in CRLF (RFC 1939 §3)",
			     what);
			return -1;
		}
		const char *d;
		size_t dl;
		enum ml_line_kind k = ml_decode_line(p, ln.len, &d, &dl);
		if (k == ML_TERMINATOR) {
			model_note(&s->L->M, s->r, 'S', ".", 1);
			return 0;
		}
		if (shown++ < 3)
			model_note(&s->L->M, s->r, 'S', p, ln.len);
		if (k == ML_UNSTUFFED_DOT) {
			model_note(&s->L->M, s->r, 'S', p, ln.len);
			viol(s, "malformed",
			     "a line of the reply to %s starts with '.' but is not byte-stuffed "
			     "(RFC 1939 §3)",
			     what);
			return -1;
		}
		if (s->blen + dl + 2 > LOAD_BODY_MAX) {
			viol(s, "malformed", "the reply to %s exceeds %d octets without its terminating line",
			     what, LOAD_BODY_MAX);
			return -1;
		}
		if (s->blen + dl + 2 > s->bcap) {
			size_t cap = (s->blen + dl + 2) * 2;
			char *n = realloc(s->body, cap);
			if (n == NULL) {
				s->dead = 1;
				return -1;
			}
			s->body = n;
			s->bcap = cap;
		}
		memcpy(s->body + s->blen, d, dl);
		memcpy(s->body + s->blen + dl, "\r\n", 2);
		s->blen += dl + 2;
	}
}

/* A one-line command and its status, timed. */
static int simple(struct lsess *s, enum load_cmd c, const char *line, char *out, size_t outsize)
{
	long long t = now_us();
	if (send_cmd(s, line) != 0)
		return -1;
	int rc = read_status(s, line, out, outsize);
	if (rc >= 0)
		load_record(s->L, c, now_us() - t, rc);
	return rc;
}

/* ---- capabilities, TLS, login ----------------------------------------------------------------------- */

static int capa(struct lsess *s)
{
	char st[POP3_MAX_STATUS_LINE + 1];
	int rc = simple(s, C_CAPA, "CAPA", st, sizeof st);
	if (rc < 0)
		return -1;
	s->caps_known = rc == 1;
	s->cap_stls = s->cap_pipe = s->cap_top = s->cap_uidl = s->cap_plain = 0;
	s->cap_user = !s->caps_known;
	if (rc == 0) {
		s->cap_top = s->cap_uidl = 1; /* no CAPA: try them (RFC 1939 §7 optional commands) */
		return 0;
	}
	if (read_body(s, "CAPA") != 0)
		return -1;
	for (char *p = s->body, *e; p < s->body + s->blen; p = e + 2) {
		e = memmem(p, (size_t)(s->body + s->blen - p), "\r\n", 2);
		if (e == NULL)
			break;
		size_t n = (size_t)(e - p);
		char tag[POP3_MAX_STATUS_LINE];
		snprintf(tag, sizeof tag, "%.*s", (int)(n < sizeof tag ? n : sizeof tag - 1), p);
		char *sp = strchr(tag, ' ');
		if (sp)
			*sp = '\0';
		/* RFC 2449 §5: tags are case-insensitive. */
		if (strcasecmp(tag, "STLS") == 0)
			s->cap_stls = 1;
		else if (strcasecmp(tag, "PIPELINING") == 0)
			s->cap_pipe = 1;
		else if (strcasecmp(tag, "USER") == 0)
			s->cap_user = 1;
		else if (strcasecmp(tag, "TOP") == 0)
			s->cap_top = 1;
		else if (strcasecmp(tag, "UIDL") == 0)
			s->cap_uidl = 1;
		else if (strcasecmp(tag, "SASL") == 0 && sp) {
			char *save = NULL; /* load's clients are threads: never strtok */
			for (char *w = strtok_r(sp + 1, " ", &save); w; w = strtok_r(NULL, " ", &save))
				if (strcasecmp(w, "PLAIN") == 0)
					s->cap_plain = 1;
		}
	}
	return 0;
}

static int start_tls(struct lsess *s)
{
	struct p3err err = {0};
	long long t = now_us();
	const char *sni = s->L->t->sni ? s->L->t->sni : s->L->t->host;
	enum conn_status st = conn_start_tls(s->c, s->L->tls, sni, tmo(s), NULL, &err);
	if (st != CONN_OK) {
		load_record(s->L, C_TLS, now_us() - t, 0);
		if (st == CONN_TIMEOUT)
			io_fail(s, st, "the TLS handshake", &err);
		else
			viol(s, "tls", "TLS handshake failed: %s", err.msg);
		return -1;
	}
	load_record(s->L, C_TLS, now_us() - t, 1);
	model_note(&s->L->M, s->r, '#', "TLS up", 6);
	s->tls = 1;
	return 0;
}

/* 1 logged in, 0 refused (checked by the model), -1 failure. */
static int login(struct lsess *s)
{
	struct load *L = s->L;
	char st[POP3_MAX_STATUS_LINE + 1];
	/* PLAIN when offered, some of the time; always when USER is not offered (RFC 2449 §6.2). */
	int use_plain =
	    s->cap_plain && ((int)rng_below(s->rng, 100) < L->o.mix.sasl || (s->caps_known && !s->cap_user));
	int rc;
	/* APOP (RFC 1939 §7) with the account's shared secret (the profile's apop_secret, else the password),
	 * when the greeting has a timestamp, some of the time. A -ERR without [IN-USE] may mean that the
	 * secret is still not the right one, or that APOP is not allowed here (without TLS, say): APOP is
	 * then left alone for the rest of the run and the session ends as a refused login that proves
	 * nothing. */
	if (!use_plain && s->timestamp[0] && !atomic_load(&L->apop_off) &&
	    (int)rng_below(s->rng, 100) < L->o.mix.apop) {
		char hex[DIGEST_MD5_HEX], line[600];
		apop_digest(s->timestamp, account_apop_secret(s->acct), hex);
		snprintf(line, sizeof line, "APOP %s %s", s->acct->user, hex);
		model_pass_sent(&L->M, s->r);
		s->in_login = 1;
		rc = simple(s, C_APOP, line, st, sizeof st);
		s->in_login = 0;
		if (rc < 0)
			return -1;
		if (rc == 0 && !strstr(st, "[IN-USE]")) {
			atomic_store(&L->apop_off, 1);
			model_note(&L->M, s->r, '#', "APOP refused: not used again in this run", 40);
			pthread_mutex_lock(&L->stats_lock);
			L->st.refused++;
			pthread_mutex_unlock(&L->stats_lock);
			return 0;
		}
		goto done;
	}
	if (use_plain) {
		/* RFC 4616 §2: [authzid] NUL authcid NUL passwd, with the initial response (RFC 5034 §4). */
		char raw[2 * SASL_PLAIN_MAX_FIELD + 3];
		int n = snprintf(raw, sizeof raw, "%c%s%c%s", 0, s->acct->user, 0, s->acct->password);
		if (n < 0 || (size_t)n >= sizeof raw)
			use_plain = 0;
		else {
			char enc[sizeof raw * 4 / 3 + 8], line[sizeof enc + 16];
			b64_encode(raw, (size_t)n, enc);
			snprintf(line, sizeof line, "AUTH PLAIN %s", enc);
			model_pass_sent(&L->M, s->r);
			s->in_login = 1;
			rc = simple(s, C_AUTH, line, st, sizeof st);
			s->in_login = 0;
			if (rc < 0)
				return -1;
			goto done;
		}
	}
	char line[600];
	snprintf(line, sizeof line, "USER %s", s->acct->user);
	rc = simple(s, C_USER, line, st, sizeof st);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		viol(s, "login-refused", "USER refused (\"%.200s\")", st);
		return -1;
	}
	snprintf(line, sizeof line, "PASS %s", s->acct->password);
	model_pass_sent(&L->M, s->r);
	s->in_login = 1;
	rc = simple(s, C_PASS, line, st, sizeof st);
	s->in_login = 0;
	if (rc < 0)
		return -1;
done:
	if (rc == 0) {
		model_login_refused(&L->M, s->r, st);
		pthread_mutex_lock(&L->stats_lock);
		L->st.refused++;
		pthread_mutex_unlock(&L->stats_lock);
		return 0;
	}
	pthread_mutex_lock(&L->stats_lock);
	L->st.logins++;
	pthread_mutex_unlock(&L->stats_lock);
	return 1;
}

/* ---- the listing ------------------------------------------------------------------------------------ */

static int parse_2(const char *p, size_t n, unsigned long long *a, unsigned long long *b)
{
	char buf[128];
	if (n >= sizeof buf)
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	/* RFC 1939 §5: "nn mm", where a scan listing may go on with more information after a space. */
	char tail = 0;
	int n_read = sscanf(buf, "%llu %llu%c", a, b, &tail);
	return n_read == 2 || (n_read == 3 && tail == ' ') ? 0 : -1;
}

static int take_listing(struct lsess *s)
{
	struct load *L = s->L;
	char st[POP3_MAX_STATUS_LINE + 1];
	int rc = simple(s, C_STAT, "STAT", st, sizeof st);
	if (rc != 1) {
		if (rc == 0)
			viol(s, "refused", "STAT after login refused (\"%.200s\")", st);
		return -1;
	}
	unsigned long long count, total;
	if (parse_2(st + 4, strlen(st + 4), &count, &total) != 0 &&
	    sscanf(st, "+OK %llu %llu", &count, &total) != 2) {
		viol(s, "malformed", "STAT reply \"%.200s\" is not \"+OK nn mm\" (RFC 1939 §5)", st);
		return -1;
	}
	long long t = now_us();
	if (send_cmd(s, "LIST") != 0 || (rc = read_status(s, "LIST", st, sizeof st)) < 0)
		return -1;
	if (rc == 0) {
		viol(s, "refused", "LIST refused (\"%.200s\")", st);
		return -1;
	}
	if (read_body(s, "LIST") != 0)
		return -1;
	uint64_t t_end = model_seq(&L->M);
	load_record(L, C_LIST, now_us() - t, 1);
	unsigned long long sz[LOAD_MAX_LISTING], tot = 0;
	size_t n = 0;
	for (char *p = s->body, *e; p < s->body + s->blen; p = e + 2) {
		e = memmem(p, (size_t)(s->body + s->blen - p), "\r\n", 2);
		unsigned long long k, size;
		if (n == LOAD_MAX_LISTING || parse_2(p, (size_t)(e - p), &k, &size) != 0 || k != n + 1) {
			viol(s, "malformed", "LIST line %zu is \"%.*s\" (RFC 1939 §5: \"%zu size\" in order)",
			     n + 1, (int)((e - p) > 100 ? 100 : (e - p)), p, n + 1);
			return -1;
		}
		sz[n++] = size;
		tot += size;
	}
	if (n != count || tot != total) {
		viol(s, "inconsistent",
		     "STAT said %llu messages, %llu octets; LIST then listed %zu, %llu octets "
		     "(RFC 1939 §5)",
		     count, total, n, tot);
		return -1;
	}
	if (model_snapshot(&L->M, s->r, sz, n, t_end, &s->v) != 0) {
		s->dead = 1;
		return -1;
	}
	if (!s->cap_uidl)
		return 0;
	t = now_us();
	if (send_cmd(s, "UIDL") != 0 || (rc = read_status(s, "UIDL", st, sizeof st)) < 0)
		return -1;
	if (rc == 0) {
		if (s->caps_known)
			viol(s, "refused", "UIDL refused though CAPA announces it (\"%.200s\")", st);
		return s->caps_known ? -1 : 0;
	}
	if (read_body(s, "UIDL") != 0)
		return -1;
	load_record(L, C_UIDL, now_us() - t, 1);
	s->uids = calloc(n ? n : 1, sizeof *s->uids);
	if (s->uids == NULL)
		return -1;
	size_t k = 0;
	for (char *p = s->body, *e; p < s->body + s->blen; p = e + 2, k++) {
		e = memmem(p, (size_t)(s->body + s->blen - p), "\r\n", 2);
		char lbuf[160], uid[160], tail;
		unsigned long num;
		snprintf(lbuf, sizeof lbuf, "%.*s", (int)((e - p) > 150 ? 150 : (e - p)), p);
		if (k >= n || sscanf(lbuf, "%lu %150s%c", &num, uid, &tail) != 2 || num != k + 1) {
			viol(s, "malformed",
			     "UIDL line %zu is \"%s\" (RFC 1939 §7: \"%zu unique-id\" for each of the "
			     "%zu messages)",
			     k + 1, lbuf, k + 1, n);
			return -1;
		}
		s->uids[k] = strdup(uid);
		if (s->uids[k] == NULL)
			return -1;
	}
	if (k != n) {
		viol(s, "inconsistent", "UIDL listed %zu messages, LIST %zu (RFC 1939 §7)", k, n);
		return -1;
	}
	if (model_uids(&L->M, s->r, &s->v, s->uids) != 0) {
		s->dead = 1;
		return -1;
	}
	return 0;
}

/* ---- random commands, checked against the session's view ---------------------------------------------- */

struct op {
	enum load_cmd c;
	size_t k;   /* message number (1-based; may be deleted or beyond the listing on purpose) */
	long lines; /* TOP */
	char line[64];
};

static int live(const struct lsess *s, size_t k)
{
	return k >= 1 && k <= s->v.n && !s->v.deleted[k - 1];
}

static size_t pick_live(struct lsess *s)
{
	size_t alive = 0;
	for (size_t k = 1; k <= s->v.n; k++)
		alive += live(s, k);
	if (alive == 0)
		return 0;
	size_t want = (size_t)rng_below(s->rng, alive);
	for (size_t k = 1; k <= s->v.n; k++)
		if (live(s, k) && want-- == 0)
			return k;
	return 0;
}

static void make_op(struct lsess *s, struct op *op)
{
	const struct load_mix *m = &s->L->o.mix;
	int w[] = {
	    m->stat, m->list, m->uidl * (s->uids != NULL), m->retr, m->top * s->cap_top, m->dele, m->rset,
	    m->noop, m->bad};
	int total = 0;
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
		total += w[i] > 0 ? w[i] : 0;
	int x = (int)rng_below(s->rng, (uint64_t)(total > 0 ? total : 1)), which = 0;
	for (; which < (int)(sizeof w / sizeof w[0]) - 1; which++) {
		if (x < w[which])
			break;
		x -= w[which] > 0 ? w[which] : 0;
	}
	size_t k = pick_live(s);
	static const enum load_cmd byk[] = {C_STAT, C_LIST, C_UIDL, C_RETR, C_TOP, C_DELE, C_RSET, C_NOOP};
	memset(op, 0, sizeof *op);
	if (which == 8 || (k == 0 && which >= 1 && which <= 5)) {
		/* A number that names nothing: a deleted message, 0, or one past the listing. */
		static const enum load_cmd badc[] = {C_RETR, C_DELE, C_LIST, C_TOP};
		op->c = badc[rng_below(s->rng, s->cap_top ? 4 : 3)];
		size_t dead = 0;
		for (size_t j = 1; j <= s->v.n && !dead; j++)
			if (s->v.deleted[j - 1])
				dead = j;
		op->k = dead && rng_below(s->rng, 2) ? dead : rng_below(s->rng, 2) ? s->v.n + 1 : 0;
		if (op->k == 0 && op->c == C_LIST)
			op->k = s->v.n + 1;
	} else {
		op->c = byk[which];
		/* LIST and UIDL: half the time for one message. */
		if (op->c == C_LIST || op->c == C_UIDL)
			op->k = rng_below(s->rng, 2) ? k : 0;
		else if (op->c == C_RETR || op->c == C_TOP || op->c == C_DELE)
			op->k = k;
	}
	op->lines = (long)rng_below(s->rng, 6);
	const char *name = load_cmd_names[op->c];
	if (op->c == C_TOP)
		snprintf(op->line, sizeof op->line, "TOP %zu %ld", op->k, op->lines);
	else if (op->k || op->c == C_RETR || op->c == C_DELE)
		snprintf(op->line, sizeof op->line, "%s %zu", name, op->k);
	else
		snprintf(op->line, sizeof op->line, "%s", name);
}

/* The first `lines` body lines of message data d (TOP, RFC 1939 §7: the header, the blank line, then
 * that many lines of the body). */
static size_t top_len(const char *d, size_t len, long lines)
{
	const char *hdr = memmem(d, len, "\r\n\r\n", 4);
	if (hdr == NULL)
		return len;
	size_t at = (size_t)(hdr - d) + 4;
	for (long i = 0; i < lines && at < len; i++) {
		const char *e = memmem(d + at, len - at, "\r\n", 2);
		at = e ? (size_t)(e - d) + 2 : len;
	}
	return at;
}

/* Check the reply to op (status already read: ok 1/0) against the view, then apply the op to it. */
static int check_op(struct lsess *s, const struct op *op, int ok, const char *st)
{
	struct load *L = s->L;
	const int valid = live(s, op->k);
	const int per_msg = op->c == C_RETR || op->c == C_TOP || op->c == C_DELE ||
	                    ((op->c == C_LIST || op->c == C_UIDL) && op->k);
	if (per_msg && !valid) {
		/* RFC 1939 §5-7: a deleted or missing message number gets -ERR. */
		if (ok) {
			viol(s, "inconsistent", "%s: +OK for message %zu, which %s (\"%.150s\")", op->line,
			     op->k,
			     op->k >= 1 && op->k <= s->v.n ? "this session deleted" : "is not in the listing",
			     st);
			return -1;
		}
		return 0;
	}
	if (!ok && per_msg && L->o.shared_ok && model_deleted_elsewhere(&L->M, s->r, &s->v, op->k)) {
		/* --shared-ok: a server without a lock (Dovecot's pop3_lock_session=no) may show another
		 * session's expunge; the session ends here (a drop: it deletes nothing). */
		model_note(&L->M, s->r, '#', "deleted by a concurrent session (--shared-ok)", 45);
		pthread_mutex_lock(&L->stats_lock);
		L->st.shared++;
		pthread_mutex_unlock(&L->stats_lock);
		s->dead = 1;
		return -1;
	}
	if (!ok) {
		viol(s, per_msg ? "isolation" : "refused", "%s refused (\"%.150s\")%s", op->line, st,
		     per_msg
		         ? ": the message is in this session's listing and not deleted by it (RFC 1939 §8: "
		           "the maildrop is locked or the session's view kept)"
		         : "");
		return -1;
	}
	const struct fmsg *f = per_msg ? &L->fx[s->v.idx[op->k - 1]] : NULL;
	unsigned long long a, b;
	switch (op->c) {
	case C_STAT: {
		unsigned long long cnt = 0, tot = 0;
		for (size_t k = 1; k <= s->v.n; k++)
			if (live(s, k)) {
				cnt++;
				tot += L->fx[s->v.idx[k - 1]].len;
			}
		if (sscanf(st, "+OK %llu %llu", &a, &b) != 2 || a != cnt || b != tot) {
			viol(s, "inconsistent",
			     "STAT \"%.100s\"; this session's view has %llu messages, %llu octets "
			     "(RFC 1939 §5: deleted messages not counted)",
			     st, cnt, tot);
			return -1;
		}
		return 0;
	}
	case C_LIST:
	case C_UIDL:
		if (op->k) {
			char want[120];
			if (op->c == C_LIST)
				snprintf(want, sizeof want, "+OK %zu %zu", op->k, f->len);
			else
				snprintf(want, sizeof want, "+OK %zu %s", op->k, s->uids[op->k - 1]);
			size_t wl = strlen(want);
			/* Exactly the listing, or the listing and more text after a space (RFC 1939 §7). */
			if (strncmp(st, want, wl) != 0 || (st[wl] != '\0' && st[wl] != ' ')) {
				viol(s, "inconsistent", "%s: \"%.100s\", expected \"%s\"", op->line, st,
				     want);
				return -1;
			}
			return 0;
		}
		if (read_body(s, op->line) != 0)
			return -1;
		{
			char *p = s->body, *end = s->body + s->blen;
			for (size_t k = 1; k <= s->v.n; k++) {
				if (!live(s, k))
					continue;
				char want[120];
				if (op->c == C_LIST)
					snprintf(want, sizeof want, "%zu %zu\r\n", k,
					         L->fx[s->v.idx[k - 1]].len);
				else
					snprintf(want, sizeof want, "%zu %s\r\n", k, s->uids[k - 1]);
				/* "k size" (a scan listing may go on after a space, RFC 1939 §5) or "k uid".
				 */
				size_t base = strlen(want) - 2;
				char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
				int match =
				    eol && (size_t)(eol - p) >= base && memcmp(p, want, base) == 0 &&
				    ((size_t)(eol - p) == base || (op->c == C_LIST && p[base] == ' '));
				if (!match) {
					viol(s, "inconsistent",
					     "%s: expected the line \"%.*s\" next (RFC 1939 §5, §7: "
					     "numbers unchanged, deleted messages left out)",
					     op->line, (int)base, want);
					return -1;
				}
				p = eol + 2;
			}
			if (p != end) {
				viol(s, "inconsistent",
				     "%s: lines beyond the messages of this session's view", op->line);
				return -1;
			}
		}
		return 0;
	case C_RETR:
	case C_TOP: {
		if (read_body(s, op->line) != 0)
			return -1;
		size_t want = op->c == C_RETR ? f->len : top_len(f->data, f->len, op->lines);
		if (s->blen != want || memcmp(s->body, f->data, want) != 0) {
			viol(s, "content",
			     "%s: %zu octets that differ from the message (%zu octets expected%s)", op->line,
			     s->blen, want,
			     op->c == C_TOP ? ": header, blank line, then the lines asked for" : "");
			return -1;
		}
		return 0;
	}
	case C_DELE:
		s->v.deleted[op->k - 1] = 1;
		return 0;
	case C_RSET:
		memset(s->v.deleted, 0, s->v.n);
		return 0;
	default:
		return 0;
	}
}

static int run_ops(struct lsess *s, struct op *ops, size_t n)
{
	char buf[LOAD_MAX_BATCH * 80];
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		add_cmd(s, buf, &len, sizeof buf, ops[i].line);
	long long t = now_us();
	if (send_raw(s, buf, len, ops[0].line) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char st[POP3_MAX_STATUS_LINE + 1];
		int rc = read_status(s, ops[i].line, st, sizeof st);
		if (rc < 0)
			return -1;
		if (check_op(s, &ops[i], rc, st) != 0)
			return -1;
		load_record(s->L, ops[i].c, now_us() - t, rc);
	}
	if (n > 1) {
		pthread_mutex_lock(&s->L->stats_lock);
		s->L->st.pipelined += n;
		pthread_mutex_unlock(&s->L->stats_lock);
	}
	return 0;
}

/* ---- the session ----------------------------------------------------------------------------------- */

static int connect_to(struct lsess *s)
{
	struct load *L = s->L;
	const struct target *t = L->t;
	int implicit = t->tls_port && L->tls && (!t->port || (int)rng_below(s->rng, 100) < L->o.mix.tls);
	int port = implicit ? t->tls_port : t->port;
	struct p3err err = {0};
	long long t0 = now_us();
	enum conn_status st = conn_open(&s->c, t->host, port, tmo(s), &err);
	if (st != CONN_OK) {
		load_record(L, C_CONNECT, now_us() - t0, 0);
		if (st == CONN_TIMEOUT)
			viol(s, "hang", "connect to %s:%d: no answer within %.1f s", t->host, port,
			     L->o.timeout);
		else {
			viol(s, "crash",
			     "connect to %s:%d failed: %s (the server stopped accepting connections)",
			     t->host, port, err.msg);
			atomic_store(&L->stop, 1); /* nothing more can be learnt */
		}
		return -1;
	}
	char nbuf[40];
	snprintf(nbuf, sizeof nbuf, "connected to port %d%s", port, implicit ? " (TLS)" : "");
	model_note(&L->M, s->r, '#', nbuf, strlen(nbuf));
	if (implicit && start_tls(s) != 0)
		return -1;
	char g[POP3_MAX_STATUS_LINE + 1];
	int rc = read_status(s, "the greeting", g, sizeof g);
	if (rc < 0)
		return -1;
	load_record(L, C_CONNECT, now_us() - t0, rc);
	if (rc == 0) {
		viol(s, "refused", "the greeting is -ERR (\"%.200s\")", g);
		return -1;
	}
	/* RFC 1939 §7: a server that supports APOP puts a timestamp "<...>" in its greeting. */
	const char *lt = strchr(g, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt && gt > lt + 1 && memchr(lt, '@', (size_t)(gt - lt)))
		snprintf(s->timestamp, sizeof s->timestamp, "%.*s", (int)(gt - lt + 1), lt);
	return 0;
}

int load_session(struct load *L, int client, struct rng *rng, size_t ai)
{
	struct lsess S = {0};
	struct lsess *s = &S;
	s->L = L;
	s->rng = rng;
	s->r = model_begin(&L->M, ai, client);
	if (s->r == NULL)
		return 1; /* the account is being reset: the caller picks another */
	s->acct = L->M.acct[ai].a;
	long long t0 = now_us();
	int dropped = 1, rc, refused = 0;
	char st[POP3_MAX_STATUS_LINE + 1];
	if (connect_to(s) != 0 || capa(s) != 0)
		goto out;
	if (!s->tls && s->cap_stls && L->tls &&
	    ((int)rng_below(rng, 100) < L->o.mix.stls || (!s->cap_user && s->caps_known))) {
		rc = simple(s, C_STLS, "STLS", st, sizeof st);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			viol(s, "refused", "STLS refused though CAPA announces it (\"%.200s\")", st);
			goto out;
		}
		/* RFC 2595 §4: capabilities may change after TLS; ask again. */
		if (start_tls(s) != 0 || capa(s) != 0)
			goto out;
	}
	rc = login(s);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		refused = 1;
		s->quitting = 1;
		if (simple(s, C_QUIT, "QUIT", st, sizeof st) >= 0)
			dropped = 0;
		goto out;
	}
	if (take_listing(s) != 0)
		goto out;
	size_t nops = 1 + (size_t)rng_below(rng, LOAD_MAX_OPS);
	for (size_t done = 0; done < nops && !s->dead && !atomic_load(&L->stop);) {
		struct op ops[LOAD_MAX_BATCH];
		size_t n = 1;
		if (s->cap_pipe && (int)rng_below(rng, 100) < L->o.mix.pipeline)
			n = 2 + (size_t)rng_below(rng, LOAD_MAX_BATCH - 1);
		if (n > nops - done)
			n = nops - done;
		for (size_t i = 0; i < n; i++)
			make_op(s, &ops[i]);
		if (run_ops(s, ops, n) != 0)
			goto out;
		done += n;
	}
	if ((int)rng_below(rng, 100) < L->o.mix.drop)
		goto out; /* dropped: RFC 1939 §6, nothing marked may be removed */
	uint64_t tq = model_seq(&L->M);
	model_quit_sent(&L->M, s->r, &s->v, tq);
	s->quitting = 1;
	long long tquit = now_us();
	if (send_cmd(s, "QUIT") != 0) {
		model_quit_result(&L->M, s->r, &s->v, -1, model_seq(&L->M));
		goto out;
	}
	rc = read_status(s, "QUIT", st, sizeof st);
	model_quit_result(&L->M, s->r, &s->v, rc, model_seq(&L->M));
	if (rc >= 0)
		load_record(L, C_QUIT, now_us() - tquit, rc);
	if (rc == 1)
		dropped = 0;
out:
	if (s->c) {
		/* A drop: half the time a plain close, half an RST (RFC 1939 §6 treats both alike). */
		if (dropped && (s->dead || rng_below(rng, 2)))
			conn_abort(s->c);
		else
			conn_close(s->c);
		s->c = NULL;
	}
	if (dropped)
		model_note(&L->M, s->r, '#', "dropped", 7);
	model_end(&L->M, s->r, dropped);
	load_record(L, C_SESSION, now_us() - t0, !s->dead);
	pthread_mutex_lock(&L->stats_lock);
	L->st.sessions++;
	if (dropped)
		L->st.dropped++;
	else
		L->st.quits++;
	pthread_mutex_unlock(&L->stats_lock);
	if (s->uids)
		for (size_t k = 0; k < s->v.n; k++)
			free(s->uids[k]);
	free(s->uids);
	free(s->body);
	view_free(&s->v);
	return refused ? 2 : 0;
}
