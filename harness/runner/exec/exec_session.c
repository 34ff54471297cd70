/* exec_session.c — a scenario's sessions and transcript: named connections, reading and writing through
 * lib/conn with every line recorded (escaped, timed, bounded), and the context helpers the steps share. */
#include "runner/exec/exec_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/line.h"
#include "runner/exec/pace.h"
#include "runner/redact.h"
#include "runner/stop.h"

/* ---- transcript ------------------------------------------------------------------------------------ */

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

void xtr_init(struct transcript *tr, int live, const char *id)
{
	memset(tr, 0, sizeof *tr);
	clock_gettime(CLOCK_MONOTONIC, &tr->t0);
	tr->live = live;
	tr->id = id;
}

void xtr_free(struct transcript *tr)
{
	for (size_t i = 0; i < tr->n; i++) {
		free(tr->v[i].session);
		free(tr->v[i].text);
	}
	free(tr->v);
	memset(tr, 0, sizeof *tr);
}

double xtr_ms(const struct transcript *tr)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - tr->t0.tv_sec) * 1000.0 + (double)(now.tv_nsec - tr->t0.tv_nsec) / 1e6;
}

static void xtr_push(struct transcript *tr, char kind, const char *session, const char *text)
{
	double t = xtr_ms(tr);
	if (tr->live) {
		/* --redact covers the live transcript too (the stored one is redacted with the run). */
		int failed = 0;
		char *shown = redact_text(redact_live(), text, &failed);
		pthread_mutex_lock(&live_lock);
		fprintf(stderr, "%s %8.1f %-6s %c: %s\n", tr->id ? tr->id : "", t, session ? session : "",
		        kind,
		        failed  ? REDACT_MARK
		        : shown ? shown
		                : text);
		pthread_mutex_unlock(&live_lock);
		free(shown);
	}
	if (tr->n >= XC_MAX_TRANSCRIPT) {
		tr->dropped++;
		return;
	}
	if (tr->n == tr->cap) {
		size_t ncap = tr->cap ? tr->cap * 2 : 64;
		struct tline *nv = realloc(tr->v, ncap * sizeof *nv);
		if (nv == NULL) {
			tr->dropped++;
			return;
		}
		tr->v = nv;
		tr->cap = ncap;
	}
	struct tline *l = &tr->v[tr->n];
	l->t_ms = t;
	l->kind = kind;
	l->session = strdup(session ? session : "main");
	l->text = strdup(text);
	if (l->session == NULL || l->text == NULL) {
		free(l->session);
		free(l->text);
		tr->dropped++;
		return;
	}
	tr->n++;
}

void xtr_line(struct transcript *tr, char kind, const char *session, const char *data, size_t len,
              const char *suffix)
{
	char buf[XC_MAX_TEXT + 8];
	size_t n = line_escape(data, len, buf, XC_MAX_TEXT);
	if (suffix && *suffix)
		snprintf(buf + n, sizeof buf - n, "%s", suffix);
	xtr_push(tr, kind, session, buf);
}

void xtr_note(struct transcript *tr, const char *session, const char *fmt, ...)
{
	char buf[XC_MAX_TEXT];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	xtr_push(tr, TLINE_NOTE, session, buf);
}

/* ---- outcomes -------------------------------------------------------------------------------------- */

void outcome_pass(struct outcome *o)
{
	memset(o, 0, sizeof *o);
	o->kind = OUT_PASS;
}

int out_set(struct outcome *o, enum outcome_kind kind, const char *req, const char *expected, const char *fmt,
            ...)
{
	o->kind = kind;
	o->req = req;
	snprintf(o->expected, sizeof o->expected, "%s", expected ? expected : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->actual, sizeof o->actual, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- sessions -------------------------------------------------------------------------------------- */

struct xsession *xs_get(struct xctx *x, const char *name, int create)
{
	if (name == NULL)
		name = "main";
	for (size_t i = 0; i < x->nsess; i++)
		if (strcmp(x->sess[i].name, name) == 0)
			return &x->sess[i];
	if (!create || x->nsess == XC_MAX_SESSIONS)
		return NULL;
	struct xsession *s = &x->sess[x->nsess];
	memset(s, 0, sizeof *s);
	if ((s->name = strdup(name)) == NULL)
		return NULL;
	x->nsess++;
	return s;
}

void xs_close(struct xctx *x, struct xsession *s, int how, const char *why)
{
	if (s->c == NULL)
		return;
	if (why)
		xtr_note(&x->tr, s->name, "%s", why);
	if (how == 1)
		conn_abort(s->c);
	else
		conn_close(s->c);
	s->c = NULL;
	s->in_auth = 0;
	s->login_replies = 0;
	s->logged_in = 0;
	s->quit_ok = 0;
}

/* Set once a server left a connection open after +OK to QUIT (a deviation the quit scenarios report):
 * from then on the end of a scenario waits only briefly, so such a server does not slow every scenario. */
static atomic_int quit_left_open;
#define XC_QUIT_BRIEF_MS 200

void xs_await_close(struct xctx *x, struct xsession *s, const char *why, int at_end)
{
	size_t data = 0;
	struct p3err err = {0};
	long long t0 = xc_now_ms();
	int ms = (int)(x->timeout * 1000);
	if (at_end && atomic_load(&quit_left_open) && ms > XC_QUIT_BRIEF_MS)
		ms = XC_QUIT_BRIEF_MS;
	enum conn_status cs = conn_wait_close(s->c, ms, XC_DISCARD_LIMIT, &data, &err);
	if (cs == CONN_EOF || cs == CONN_ERROR) {
		xtr_note(&x->tr, s->name, "%s: the server closed the connection after QUIT (%lld ms)", why,
		         xc_now_ms() - t0);
	} else {
		atomic_store(&quit_left_open, 1);
		xtr_note(&x->tr, s->name, "%s: the server did not close the connection within %.1f s of QUIT",
		         why, (double)ms / 1000.0);
	}
	s->eof = 1;
	xs_close(x, s, 0, NULL);
}

void xs_await_quits(struct xctx *x, const struct xsession *skip)
{
	for (size_t i = 0; i < x->nsess; i++)
		if (&x->sess[i] != skip && x->sess[i].c && x->sess[i].quit_ok)
			xs_await_close(x, &x->sess[i], skip ? "before the next command" : "before logging in",
			               0);
}

void xs_end_sessions(struct xctx *x, int abandon)
{
	for (size_t i = 0; i < x->nsess; i++) {
		struct xsession *s = &x->sess[i];
		if (s->c == NULL)
			continue;
		if (s->quit_ok) {
			xs_await_close(x, s, "end of scenario", 1);
			continue;
		}
		if (!abandon && s->settled && !s->in_auth && !s->eof && s->login_replies <= 0) {
			/* RFC 1939 §6: QUIT releases the maildrop now; a dropped connection only when the
			 * server notices. Not part of the verdict, which is already decided. */
			struct p3err err = {0};
			const char *line;
			struct line ln;
			long long deadline = xc_now_ms() + (long long)(x->timeout * 1000);
			if (conn_write(s->c, "QUIT\r\n", 6, xc_left(deadline), &err) == CONN_OK &&
			    conn_read_line(s->c, XC_MAX_LINE, xc_left(deadline), &line, &ln, &err) ==
			        CONN_OK &&
			    ln.len >= 3 && memcmp(line, "+OK", 3) == 0) {
				xs_await_close(x, s, "end of scenario: QUIT answered +OK", 1);
				continue;
			}
		}
		if (s->logged_in && s->account >= 1 && s->account <= 2)
			x->dropped[s->account - 1] = 1;
		xs_close(x, s, 0, s->logged_in ? "end of scenario: connection closed without QUIT" : NULL);
	}
}

void xs_close_all(struct xctx *x)
{
	for (size_t i = 0; i < x->nsess; i++) {
		xs_close(x, &x->sess[i], 0, NULL);
		free(x->sess[i].name);
		free(x->sess[i].greeting);
		free(x->sess[i].timestamp);
	}
	x->nsess = 0;
}

long long xc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int xc_left(long long deadline_ms)
{
	long long left = deadline_ms - xc_now_ms();
	if (left < 0)
		return 0;
	return left > 24LL * 3600 * 1000 ? 24 * 3600 * 1000 : (int)left;
}

enum conn_status xs_read_line(struct xctx *x, struct xsession *s, long long deadline_ms, int record,
                              const char **line, struct line *ln, struct p3err *err)
{
	enum conn_status st = conn_read_line(s->c, XC_MAX_LINE, xc_left(deadline_ms), line, ln, err);
	if (st == CONN_OK && record) {
		const char *suffix = (ln->flags & LINE_CRLF)      ? ""
		                     : (ln->flags & LINE_BARE_LF) ? "\\n"
		                                                  : " [no line end]";
		xtr_line(&x->tr, TLINE_SERVER, s->name, *line, ln->len, suffix);
	} else if (st == CONN_EOF && record && *line && ln->len > 0) {
		xtr_line(&x->tr, TLINE_SERVER, s->name, *line, ln->len, " [no line end]");
	} else if (st == CONN_TOO_LONG) {
		char head[64];
		line_escape(*line, ln->len < 40 ? ln->len : 40, head, sizeof head);
		xtr_note(&x->tr, s->name, "a line of more than %d octets without a line end: %s...",
		         XC_MAX_LINE, head);
	}
	return st;
}

int xs_login_deadline(const struct xctx *x, const struct xsession *s, long long *deadline_ms, double *timeout)
{
	if (s->login_replies <= 0 || x->login_timeout <= *timeout)
		return 0;
	long long d = xc_now_ms() + (long long)(x->login_timeout * 1000);
	if (d <= *deadline_ms)
		return 0;
	*deadline_ms = d;
	*timeout = x->login_timeout;
	return 1;
}

void xs_reply_read(struct xctx *x, struct xsession *s, long long start_ms, int ok)
{
	if (s->login_replies <= 0)
		return;
	s->login_replies--;
	if (s->login_replies == 0 && ok) {
		s->logged_in = 1;
		/* RFC 2449 §6.5: the account's LOGIN-DELAY counts from this +OK. */
		const char *user = xs_account_user(x, s);
		if (user)
			pace_logged_in(pace_global(), x->t, user, xc_now_ms());
	}
	long long took = xc_now_ms() - start_ms;
	if (s->login_replies > 0 || took < LOGIN_DELAY_NOTE_MS)
		return;
	/* No RFC bounds how fast a server answers; delaying failed logins is standard defence against
	 * password guessing (Dovecot's auth penalty). Shown, never judged. */
	xtr_note(&x->tr, s->name,
	         "the server took %.1f s to answer %s (login replies may take %.0f s: login_timeout)",
	         (double)took / 1000.0, s->login_cmd, x->login_timeout);
	if (took > x->login_delay_ms)
		x->login_delay_ms = (long)took;
}

/* Whether a line the client sends is a login command whose reply gets the login deadline: PASS, APOP,
 * AUTH, or a line of a running AUTH exchange (RFC 5034 §4: the client's responses). */
static const char *login_command(const struct xsession *s, const char *p, size_t n)
{
	static const char *const cmds[] = {"PASS", "APOP", "AUTH"};
	for (size_t i = 0; i < 3; i++)
		if (n >= 4 && strncasecmp(p, cmds[i], 4) == 0 && (n == 4 || p[4] == ' '))
			return cmds[i];
	return s->in_auth ? "AUTH" : NULL;
}

const char *xs_account_user(const struct xctx *x, const struct xsession *s)
{
	if (x->acct == NULL)
		return NULL;
	/* An AUTH typed by hand names its user inside base64: the scenario's first account, by far the
	 * likeliest (a guess the [LOGIN-DELAY] retry covers when wrong). */
	return x->acct[s->account == 2 ? 1 : 0].user;
}

int xc_sleep_ms(long long ms)
{
	long long end = xc_now_ms() + ms;
	for (long long left = ms; left > 0; left = end - xc_now_ms()) {
		if (stop_requested() != STOP_NONE)
			return -1;
		long long slice = left > 200 ? 200 : left;
		struct timespec ts = {(time_t)(slice / 1000), (long)(slice % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* Whether a line starts an authentication (USER, PASS, APOP, AUTH): RFC 2449 §8.1.1 lets a server refuse
 * any of them with [LOGIN-DELAY]. Not told from a line of a running AUTH exchange (send_command marks the
 * exchange before the AUTH line is written); such a line is base64, and its wait would be 0 anyway, the
 * AUTH that opened the exchange having waited. */
static int starts_login(const char *p, size_t n)
{
	static const char *const cmds[] = {"USER", "PASS", "APOP", "AUTH"};
	for (size_t i = 0; i < 4; i++)
		if (n >= 4 && strncasecmp(p, cmds[i], 4) == 0 && (n == 4 || p[4] == ' '))
			return 1;
	return 0;
}

long long xs_pace(struct xctx *x, struct xsession *s)
{
	const char *user = xs_account_user(x, s);
	if (user == NULL)
		return 0;
	long long w = pace_wait(pace_global(), x->t, user, xc_now_ms());
	if (w <= 0)
		return 0;
	xtr_note(&x->tr, s->name,
	         "waiting %.1f s: the server's LOGIN-DELAY (%ld s since %s's last login, RFC 2449 §6.5)",
	         (double)w / 1000.0, pace_delay(pace_global(), x->t, user) / 1000, user);
	long long t0 = xc_now_ms();
	xc_sleep_ms(w);
	return xc_now_ms() - t0;
}

enum conn_status xs_write(struct xctx *x, struct xsession *s, const char *data, size_t len,
                          long long deadline_ms, struct p3err *err)
{
	int login = 0;
	/* Replies still to come for the lines this write holds, up to its last login command. */
	int lines = 0;
	for (const char *q = data, *e = data + len; q < e;) {
		const char *lf = memchr(q, '\n', (size_t)(e - q));
		size_t n = lf ? (size_t)(lf - q) : (size_t)(e - q);
		if (n && q[n - 1] == '\r')
			n--;
		lines++;
		const char *cmd = login_command(s, q, n);
		/* Whose maildrop a login locks: the name USER or APOP gives. */
		if (n > 5 && (strncasecmp(q, "USER ", 5) == 0 || strncasecmp(q, "APOP ", 5) == 0) && x->acct)
			for (int k = 0; k < 2; k++) {
				size_t ul = strlen(x->acct[k].user);
				if (n >= 5 + ul && memcmp(q + 5, x->acct[k].user, ul) == 0 &&
				    (n == 5 + ul || q[5 + ul] == ' '))
					s->account = k + 1;
			}
		if (starts_login(q, n))
			login = 1;
		if (cmd) {
			snprintf(s->login_cmd, sizeof s->login_cmd, "%s", cmd);
			s->login_replies = (s->login_replies > 0 ? s->login_replies : 0) + lines;
			lines = 0;
		}
		if (lf == NULL)
			break;
		q = lf + 1;
	}
	/* The account's next login waits out its LOGIN-DELAY before the credentials go; the wait is not
	 * the server's time to answer. */
	if (login && (!x->unpaced_sends || x->in_login_step))
		deadline_ms += xs_pace(x, s);
	/* The transcript shows one C: line per line sent; bytes after the last LF as one more line. */
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL) {
			xtr_line(&x->tr, TLINE_CLIENT, s->name, p, (size_t)(end - p), " [no line end]");
			break;
		}
		size_t n = (size_t)(lf - p);
		int crlf = n > 0 && p[n - 1] == '\r';
		xtr_line(&x->tr, TLINE_CLIENT, s->name, p, crlf ? n - 1 : n, crlf ? "" : "\\n");
		p = lf + 1;
	}
	if (len == 0)
		xtr_note(&x->tr, s->name, "(nothing sent: empty raw)");
	if (len == 0)
		return CONN_OK;
	return conn_write(s->c, data, len, xc_left(deadline_ms), err);
}

char *xc_find_timestamp(const char *line, size_t len)
{
	const char *best = NULL;
	size_t blen = 0;
	for (size_t i = 0; i < len; i++) {
		if (line[i] != '<')
			continue;
		const char *gt = memchr(line + i, '>', len - i);
		if (gt == NULL)
			break;
		size_t l = (size_t)(gt - (line + i)) + 1;
		if (memchr(line + i, '@', l) && !memchr(line + i + 1, '<', l - 1)) {
			best = line + i;
			blen = l;
		}
	}
	return best ? strndup(best, blen) : NULL;
}

void xc_set_session_vars(struct xctx *x, const struct xsession *s)
{
	vars_set_str(&x->vars, "timestamp", s && s->timestamp ? s->timestamp : "");
	if (s && s->greeting)
		vars_set(&x->vars, "greeting", s->greeting, s->greeting_len);
	else
		vars_set_str(&x->vars, "greeting", "");
}

int xc_interp(struct xctx *x, const struct sstr *s, char **val, size_t *len, struct outcome *out)
{
	struct p3err err = {0};
	if (s->s == NULL) {
		*val = strdup("");
		*len = 0;
		return *val ? 0 : out_set(out, OUT_ERROR, NULL, NULL, "out of memory");
	}
	if (values_interp(&x->vars, s->s, s->len, val, len, &err) != 0)
		return out_set(out, OUT_ERROR, NULL, NULL, "scenario error: %s", err.msg);
	return 0;
}

int xc_interp_str(struct xctx *x, const char *s, char **val, struct outcome *out)
{
	struct sstr ss = {(char *)s, s ? strlen(s) : 0};
	size_t len;
	return xc_interp(x, &ss, val, &len, out);
}

int xc_interp_int(struct xctx *x, const struct sstr *s, const char *what, long long *v, struct outcome *out)
{
	char *val;
	size_t len;
	if (xc_interp(x, s, &val, &len, out) != 0)
		return -1;
	int rc = values_parse_int(val, len, v);
	if (rc != 0)
		out_set(out, OUT_ERROR, NULL, NULL, "scenario error: %s: '%.60s' is not an integer", what,
		        val);
	free(val);
	return rc;
}
