/* exec_steps.c — what each step kind does on the wire (docs/scenario-language.md, "Steps"): connect,
 * send, raw, read, login, auth (GNU SASL), starttls, expect_close, drop, sleep, find, assert. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/b64.h"
#include "lib/digest.h"
#include "lib/line.h"
#include "lib/tls.h"
#include "runner/connlimit.h"
#include "runner/expect.h"
#include "runner/pace.h"
#include "runner/rx.h"
#include "runner/sasl_client.h"
#include "runner/session.h"

#define AUTH_MAX_ROUNDS 32

static const struct expect want_ok = {.status = WANT_OK, .closes = -1, .handshake = -1, .level = -1};

static const struct expect *first_expect(const struct step *st)
{
	return st->n_expect ? &st->expect[0] : NULL;
}

static long long deadline_in(struct xctx *x)
{
	return xc_now_ms() + (long long)(x->timeout * 1000);
}

/* The step's session, which must be connected. */
static struct xsession *need_session(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = xs_get(x, st->session, 0);
	if (s && s->c)
		return s;
	if (s && s->eof) {
		out_set(out, OUT_EXPECT, NULL, "an open connection", "the server had closed the connection");
		out->level = (int)x->sc->level;
		out->desync = 1;
	} else {
		out_set(out, OUT_ERROR, NULL, NULL, "scenario error: session '%s' is not connected",
		        st->session ? st->session : "main");
	}
	return NULL;
}

/* Write and note a failure as a broken connection. */
static int send_bytes(struct xctx *x, struct xsession *s, const char *data, size_t len, struct outcome *out)
{
	struct p3err err = {""};
	enum conn_status st = xs_write(x, s, data, len, deadline_in(x), &err);
	if (st == CONN_OK)
		return 0;
	out_set(out, OUT_EXPECT, NULL, "the server to take the command",
	        st == CONN_TIMEOUT ? "the server stopped reading (write timed out)" : "could not send: %s",
	        err.msg);
	out->level = (int)x->sc->level;
	out->desync = 1;
	s->eof = 1;
	xs_close(x, s, 0, "the connection broke while sending");
	return -1;
}

/* A command line: the text and CRLF; an AUTH command opens an exchange where "+ " lines are allowed. */
static int send_command(struct xctx *x, struct xsession *s, const char *cmd, size_t len, struct outcome *out)
{
	char *buf = malloc(len + 3);
	if (buf == NULL)
		return out_set(out, OUT_ERROR, NULL, NULL, "out of memory");
	memcpy(buf, cmd, len);
	memcpy(buf + len, "\r\n", 3);
	static const char *const logins[] = {"USER", "PASS", "APOP", "AUTH"};
	for (size_t i = 0; i < 4 && !s->in_auth; i++)
		if (len >= 4 && strncasecmp(cmd, logins[i], 4) == 0 && (len == 4 || cmd[4] == ' ')) {
			/* A session that QUIT releases its lock by its close: wait for that first. */
			xs_await_quits(x);
			break;
		}
	if (len >= 4 && strncasecmp(cmd, "AUTH", 4) == 0 && (len == 4 || cmd[4] == ' '))
		s->in_auth = 1;
	int rc = send_bytes(x, s, buf, len + 2, out);
	free(buf);
	return rc;
}

/* Read every expectation of a step in order; a soft failure lets the next response be read. */
static void read_expects(struct xctx *x, struct xsession *s, const struct step *st, const struct expect *dflt,
                         struct outcome *out)
{
	if (st->n_expect == 0) {
		if (dflt)
			expect_response(x, s, dflt, 0, NULL, NULL, out);
		return;
	}
	for (size_t i = 0; i < st->n_expect; i++) {
		expect_response(x, s, &st->expect[i], 0, NULL, NULL, out);
		if (out->kind != OUT_PASS && xc_soft(x, out))
			return;
	}
}

/* ---- connect ----------------------------------------------------------------------------------------- */

static int tls_version(const char *v)
{
	if (v == NULL)
		return 0;
	if (strcmp(v, "1.0") == 0)
		return TLS1_VERSION;
	if (strcmp(v, "1.1") == 0)
		return TLS1_1_VERSION;
	if (strcmp(v, "1.2") == 0)
		return TLS1_2_VERSION;
	if (strcmp(v, "1.3") == 0)
		return TLS1_3_VERSION;
	return -1;
}

static SSL_CTX *client_ctx(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct tls_client_opts to = {0};
	to.verify = x->t->tls_verify;
	to.ca_file = x->t->ca;
	if (st && st->kind == STEP_CONNECT) {
		if (st->u.connect.verify >= 0)
			to.verify = st->u.connect.verify;
		to.min_version = tls_version(st->u.connect.min_version);
		to.max_version = tls_version(st->u.connect.max_version);
		to.ciphers = st->u.connect.ciphers;
		if (to.min_version < 0 || to.max_version < 0) {
			out_set(out, OUT_ERROR, NULL, NULL,
			        "scenario error: TLS versions are 1.0, 1.1, 1.2, 1.3");
			return NULL;
		}
		/* Pinning an old version must really offer it (Debian's default security level refuses to),
		 * else a "must refuse TLS 1.0" check would pass without ever asking. */
		if (to.max_version && to.max_version < TLS1_2_VERSION) {
			if (!to.min_version)
				to.min_version = TLS1_VERSION;
			if (!to.ciphers)
				to.ciphers = "DEFAULT:@SECLEVEL=0";
		}
	}
	struct p3err err = {""};
	SSL_CTX *ctx = tls_client_ctx(&to, &err);
	if (ctx == NULL)
		out_set(out, OUT_ERROR, NULL, NULL, "TLS client set-up: %s", err.msg);
	return ctx;
}

static const char *sni_of(const struct xctx *x)
{
	return x->t->sni ? x->t->sni : x->t->host;
}

/* The TLS handshake on s; `want` -1 unchecked, 0 must fail, 1 must succeed. discarded may be NULL.
 * On connect (implicit TLS, st a connect step) the handshake is part of setting the session up: a
 * timeout, or a close or reset with no TLS answer, is an error like a refused connection (nothing came to
 * judge, docs/scenario-language.md "Verdicts"); an answer that is not a working handshake (garbage, an
 * alert, a certificate that does not verify) fails. After STLS the session is set up: all of it fails. */
static void handshake(struct xctx *x, struct xsession *s, const struct step *st, int want, int fail_ok,
                      size_t *discarded, const struct expect *e, struct outcome *out)
{
	int at_connect = st && st->kind == STEP_CONNECT;
	SSL_CTX *ctx = client_ctx(x, st, out);
	if (ctx == NULL)
		return;
	struct p3err err = {""};
	enum conn_status cs = conn_start_tls(s->c, ctx, sni_of(x), (int)(x->timeout * 1000), discarded, &err);
	SSL_CTX_free(ctx);
	if (cs != CONN_OK) {
		const char *why = cs == CONN_TIMEOUT ? "timed out"
		                  : cs == CONN_EOF   ? "the server closed the connection"
		                                     : err.msg;
		xtr_note(&x->tr, s->name, "TLS handshake failed: %s", why);
		int silent = cs == CONN_TIMEOUT || cs == CONN_EOF || conn_peer_reset(s->c) ||
		             strstr(err.msg, "reset by peer") != NULL;
		xs_close(x, s, 0, NULL);
		if (at_connect && (cs == CONN_TIMEOUT || (silent && want != 0)))
			return (void)out_set(out, OUT_ERROR, NULL, NULL,
			                     "no TLS session with %s:%d: the handshake %s", x->t->host,
			                     x->t->tls_port,
			                     cs == CONN_TIMEOUT ? "got no answer within the timeout"
			                                        : "ended with the connection closed, unanswered");
		if (want == 0)
			return; /* refused (a close is a refusal too): what the step wants */
		if (strstr(err.msg, "certificate verify failed"))
			return (void)out_set(
			    out, OUT_ERROR, NULL, NULL,
			    "the server certificate does not verify (%s); set the target's ca: or "
			    "tls_verify: false",
			    err.msg);
		if (fail_ok && cs != CONN_TIMEOUT) {
			/* STLS with injected octets: a server that takes them as the first octets of the
			 * client's handshake (RFC 2595 §4: the negotiation begins right after the +OK) fails
			 * the handshake and closes; the injected command was not run (P-STLS-1 holds). */
			xtr_note(&x->tr, s->name,
			         "the octets sent after STLS went into the TLS handshake, which failed: they were "
			         "not run as a command");
			return;
		}
		out_set(out, OUT_EXPECT, NULL, "a TLS handshake", "it failed: %s", why);
		out->level = e && e->level >= 0 ? e->level : (int)x->sc->level;
		out->own_level = e && e->level >= 0;
		out->req = e ? e->ref : NULL;
		out->desync = 1;
		return;
	}
	char desc[128];
	tls_describe(conn_ssl(s->c), desc, sizeof desc);
	xtr_note(&x->tr, s->name, "TLS started: %s", desc);
	if (want == 0) {
		out_set(out, OUT_EXPECT, e ? e->ref : NULL, "the TLS handshake to be refused",
		        "it succeeded: %s", desc);
		out->level = e && e->level >= 0 ? e->level : (int)x->sc->level;
		out->own_level = e && e->level >= 0;
		xs_close(x, s, 0, NULL);
	}
}

/* A connect the server refused before or at its greeting, when nothing in the step asks for it: maybe its
 * per-address limit meeting our other sessions (do_connect, runner/connlimit.h). */
enum { CONNECT_DONE, CONNECT_REFUSED };

static int connect_once(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = xs_get(x, st->session, 1);
	if (s == NULL)
		return out_set(out, OUT_ERROR, NULL, NULL, "scenario error: more than %d sessions", XC_MAX_SESSIONS),
		       CONNECT_DONE;
	if (s->c)
		xs_close(x, s, 0, "closing the session's previous connection");
	free(s->greeting);
	free(s->timestamp);
	s->greeting = s->timestamp = NULL;
	s->greeting_len = 0;
	s->eof = 0;
	s->in_auth = 0;
	s->account = 0;
	s->connect_step = st;
	int tls = st->u.connect.tls;
	int port = tls ? x->t->tls_port : x->t->port;
	if (port == 0)
		return out_set(out, OUT_SKIP, NULL, NULL,
		               tls ? "unsupported: the target has no tls_port" : "unsupported: the target has no plain port"),
		       CONNECT_DONE;
	const struct expect *e = first_expect(st);
	xtr_note(&x->tr, s->name, "connect to %s:%d%s", x->t->host, port, tls ? " (implicit TLS)" : "");
	struct p3err err = {""};
	enum conn_status cs = conn_open(&s->c, x->t->host, port, (int)(x->timeout * 1000), &err);
	if (cs != CONN_OK) {
		s->c = NULL;
		xtr_note(&x->tr, s->name, "connect failed: %s", cs == CONN_TIMEOUT ? "timed out" : err.msg);
		out_set(out, OUT_ERROR, NULL, NULL, "cannot connect to %s:%d: %s", x->t->host, port,
		        cs == CONN_TIMEOUT ? "timed out" : err.msg);
		return cs != CONN_TIMEOUT && (strstr(err.msg, "refused") || strstr(err.msg, "reset")) ? CONNECT_REFUSED
		                                                                                    : CONNECT_DONE;
	}
	if (tls) {
		int want = e ? e->handshake : -1;
		handshake(x, s, st, want, 0, NULL, e, out);
		if (out->kind != OUT_PASS || s->c == NULL)
			return CONNECT_DONE;
	}
	if (!st->u.connect.read_greeting)
		return CONNECT_DONE;
	/* An expectation that only speaks of the handshake leaves the greeting to the default. */
	const struct expect *ge = e;
	if (ge == NULL ||
	    (ge->status == WANT_UNSET && !ge->one_of && !ge->match && !ge->code && !ge->ncaptures))
		ge = &want_ok;
	expect_response(x, s, ge, 0, NULL, NULL, out);
	if (out->kind == OUT_EXPECT && x->last_line == NULL) {
		/* Setting the session up ended before a complete greeting line, with nothing to judge: the
		 * scenario could not run, as with a refused connection (docs/scenario-language.md
		 * "Verdicts"). A line that came, however wrong, is judged instead. */
		if (out->timed_out) {
			out_set(out, OUT_ERROR, NULL, NULL, "no greeting from %s:%d within %.1f s", x->t->host,
			        port, x->timeout);
			return CONNECT_DONE;
		}
		char what[sizeof out->actual];
		snprintf(what, sizeof what, "%s", out->actual);
		out_set(out, OUT_ERROR, NULL, NULL, "no greeting from %s:%d: %s", x->t->host, port, what);
		return CONNECT_REFUSED;
	}
	/* A -ERR greeting where the step expects +OK (by default, or with captures): a server refusing the
	 * connection. Not where the step names -ERR or several outcomes: then it is what the step judges. */
	int refused = out->kind == OUT_EXPECT && x->last_line &&
	              check_status_kind(x->last_line, x->last_len) == STATUS_ERR && !ge->one_of &&
	              (ge->status == WANT_UNSET || ge->status == WANT_OK);
	if (x->last_line && (out->kind == OUT_PASS || out->kind == OUT_EXPECT)) {
		/* Every octet of it, NUL included (the greeting variable and the report show them all). */
		s->greeting = malloc(x->last_len + 1);
		if (s->greeting) {
			memcpy(s->greeting, x->last_line, x->last_len + 1);
			s->greeting_len = x->last_len;
		}
		s->timestamp = xc_find_timestamp(x->last_line, x->last_len);
		xc_set_session_vars(x, s);
	}
	if (refused)
		return CONNECT_REFUSED;
	if (out->kind != OUT_PASS || s->c == NULL)
		return CONNECT_DONE;
	/* R1939-GEN-2: the greeting is the only thing the server sends before a command. Octets already
	 * waiting are the cheap, certain sign (waiting would slow every scenario). */
	if (check_status_kind(x->last_line, x->last_len) == STATUS_OK &&
	    conn_poll_data(s->c, 0, &err) == CONN_OK) {
		const char *line;
		struct line ln;
		char shown[200] = "more octets";
		if (xs_read_line(x, s, xc_now_ms() + 100, 1, &line, &ln, &err) == CONN_OK)
			line_escape(line, ln.len, shown, sizeof shown);
		out_set(out, OUT_CHECK, "R1939-GEN-2", "one greeting line, then nothing until a command",
		        "%s", shown);
	}
	return CONNECT_DONE;
}

/* A connect step. A refusal (connection refused or reset, closed before the greeting, a -ERR greeting the
 * step did not ask for) while other workers' sessions of this run are open may be the server's limit on
 * connections per address: retried after one of them closes, visibly, up to CONNLIMIT_ATTEMPTS; then, or
 * with none open, the scenario ends in an error, never a pass (a server that greets nobody stays an error). */
static void do_connect(struct xctx *x, const struct step *st, struct outcome *out)
{
	for (int attempt = 1;; attempt++) {
		if (connect_once(x, st, out) != CONNECT_REFUSED)
			return;
		struct xsession *s = xs_get(x, st->session, 0);
		if (s && s->c)
			xs_close(x, s, 0, NULL);
		long mine = conn_open_count_thread(), ours = conn_open_count();
		long long waited;
		if (connlimit_retry(ours, ours - mine, attempt, &waited)) {
			xtr_note(&x->tr, st->session,
			         "the server refused the connection while %ld other session%s of this run were open "
			         "(its limit of connections per address?): retry %d after %.1f s",
			         ours, ours == 1 ? "" : "s", attempt, (double)waited / 1000.0);
			outcome_pass(out);
			continue;
		}
		if (attempt == 1 && ours > 0 && ours == mine) {
			/* Only this scenario's own sessions were open: none will close while this one waits, and
			 * a server may lawfully limit connections per address below what the scenario needs. */
			char was[sizeof out->actual];
			snprintf(was, sizeof was, "%s",
			         out->kind == OUT_ERROR ? out->actual : x->last_line ? x->last_line : "");
			out_set(out, OUT_ERROR, NULL, NULL,
			        "the server refused the connection while %ld other session%s of this scenario were "
			        "open (a limit on connections per address?): %s",
			        mine, mine == 1 ? "" : "s", was);
		} else if (attempt > 1) {
			/* Retried and still refused: an error (the scenario could not run), never a verdict on
			 * the server's greeting. */
			char was[sizeof out->actual];
			snprintf(was, sizeof was, "%s",
			         out->kind == OUT_ERROR ? out->actual : x->last_line ? x->last_line : "");
			out_set(out, OUT_ERROR, NULL, NULL,
			        "the server refused the connection %d times while other sessions of this run were "
			        "open (last: %s)",
			        attempt, was);
		}
		return;
	}
}

/* ---- send / raw / read ----------------------------------------------------------------------------- */

static void do_send(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = need_session(x, st, out);
	if (s == NULL)
		return;
	char *val;
	size_t len;
	if (xc_interp(x, &st->u.text, &val, &len, out) != 0)
		return;
	/* Name the step by what was really sent: "step 4 (send: RETR 2)". */
	char shown[64], *paren = strchr(x->step_desc, '(');
	if (paren) {
		line_escape(val, len, shown, sizeof shown);
		char tail[96] = "";
		const char *sess = strstr(x->step_desc, ", session ");
		if (sess)
			snprintf(tail, sizeof tail, "%s", sess);
		else
			snprintf(tail, sizeof tail, ")");
		snprintf(paren + 1, sizeof x->step_desc - (size_t)(paren + 1 - x->step_desc), "%s: %s%s",
		         st->kind == STEP_SEND ? "send" : "raw", shown, tail);
	}
	int rc;
	if (st->kind == STEP_SEND) {
		rc = send_command(x, s, val, len, out);
	} else {
		/* Any line of the raw octets may start an AUTH exchange (pipelined commands). */
		for (size_t i = 0; i < len; i++) {
			if (i > 0 && val[i - 1] != '\n')
				continue;
			size_t left = len - i;
			if (left >= 4 && strncasecmp(val + i, "AUTH", 4) == 0 &&
			    (left == 4 || val[i + 4] == ' ' || val[i + 4] == '\t' || val[i + 4] == '\r'))
				s->in_auth = 1;
		}
		rc = send_bytes(x, s, val, len, out);
	}
	int quit = st->kind == STEP_SEND && len == 4 && strncasecmp(val, "QUIT", 4) == 0;
	free(val);
	if (rc == 0)
		read_expects(x, s, st, NULL, out);
	/* RFC 1939 §6: after +OK to QUIT the server releases the lock and closes; logins wait for that. */
	if (quit && s->c && x->last_line && check_status_kind(x->last_line, x->last_len) == STATUS_OK)
		s->quit_ok = 1;
}

static void do_read(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = need_session(x, st, out);
	if (s == NULL)
		return;
	static const struct expect any = {.status = WANT_UNSET, .closes = -1, .handshake = -1, .level = -1};
	read_expects(x, s, st, &any, out);
}

/* ---- login ----------------------------------------------------------------------------------------- */

static int cmdf(struct xctx *x, struct xsession *s, struct outcome *out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int cmdf(struct xctx *x, struct xsession *s, struct outcome *out, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		return out_set(out, OUT_ERROR, NULL, NULL, "command too long");
	return send_command(x, s, buf, (size_t)n, out);
}

/* ---- starttls (RFC 2595 §4) --------------------------------------------------------------------------- */

/* After the handshake: nothing may arrive for `quiet` seconds. With `inject` this is P-STLS-1: the octets
 * that followed STLS in the same write were cleartext, and a server that ran them inside TLS answers
 * them now (the CVE-2011-0411 class of command injection). */
static void quiet_after_tls(struct xctx *x, struct xsession *s, double quiet, int injected,
                            const struct expect *e, struct outcome *out)
{
	struct p3err err = {""};
	enum conn_status cs = conn_poll_data(s->c, (int)(quiet * 1000), &err);
	if (cs == CONN_TIMEOUT) {
		xtr_note(&x->tr, s->name, "nothing arrived inside TLS within %.1f s", quiet);
		return;
	}
	if (cs == CONN_EOF) {
		/* Closing is not running the injected octets; the scenario's next step will see the close. */
		s->eof = 1;
		xs_close(x, s, 0, "the server closed the connection after the handshake");
		return;
	}
	char shown[300] = "octets arrived";
	const char *line;
	struct line ln;
	if (cs == CONN_OK && xs_read_line(x, s, xc_now_ms() + 200, 1, &line, &ln, &err) == CONN_OK)
		line_escape(line, ln.len, shown, sizeof shown);
	else if (cs != CONN_OK)
		snprintf(shown, sizeof shown, "%.290s", err.msg);
	const char *req = e && e->ref ? e->ref : injected ? "P-STLS-1" : NULL;
	char expected[200];
	snprintf(expected, sizeof expected, "%s within %.1f s of the handshake",
	         injected ? "nothing inside TLS (the octets sent after STLS discarded, not run)"
	                  : "nothing inside TLS before a command",
	         quiet);
	out_set(out, OUT_EXPECT, req, expected, "%s", shown);
	out->level = e && e->level >= 0 ? e->level : (int)x->sc->level;
	out->own_level = e && e->level >= 0;
	out->desync = 1;
}

/* ---- STLS while TLS is already active: a handshake inside TLS -------------------------------------- */

/* RFC 2595 §4 lets a server refuse STLS when a security layer is active (-ERR, R2595-STLS-4); a +OK
 * instead means "a TLS negotiation begins immediately after the CRLF" (R2595-STLS-5) — inside the TLS
 * session already running. conn.h layers TLS once, so the inner handshake runs here on memory BIOs, its
 * records carried as application data of the outer session. It proves that the +OK was true; the
 * session cannot go on over two layers and ends after it. */

/* Hand every octet the server sent (inside the outer TLS) to the inner session's read BIO, waiting for
 * some until the deadline. The first octets are kept in seen[] (to show a POP3 line that came instead). */
static enum conn_status pull_records(struct conn *c, BIO *rbio, long long deadline, char *seen,
                                     size_t seensize, size_t *nseen, struct p3err *err)
{
	enum conn_status st = conn_poll_data(c, xc_left(deadline), err);
	if (st != CONN_OK)
		return st;
	while (conn_buffered(c) > 0) {
		const char *p;
		struct line ln;
		/* conn.h reads lines; a limit of exactly what is buffered returns every octet now (up to
		 * an LF, or all of them as CONN_TOO_LONG), whatever they are. */
		st = conn_read_line(c, conn_buffered(c), 0, &p, &ln, err);
		if (st != CONN_OK && st != CONN_TOO_LONG)
			return st;
		if (ln.consumed == 0 || BIO_write(rbio, p, (int)ln.consumed) != (int)ln.consumed)
			return p3err_set(err, "cannot buffer the inner TLS records"), CONN_ERROR;
		size_t k = ln.consumed < seensize - *nseen ? ln.consumed : seensize - *nseen;
		memcpy(seen + *nseen, p, k);
		*nseen += k;
	}
	return CONN_OK;
}

/* Send what the inner session wrote (ClientHello, Finished) through the outer one. */
static enum conn_status push_records(struct conn *c, BIO *wbio, long long deadline, struct p3err *err)
{
	char buf[4096];
	int n;
	while ((n = BIO_read(wbio, buf, (int)sizeof buf)) > 0) {
		enum conn_status st = conn_write(c, buf, (size_t)n, xc_left(deadline), err);
		if (st != CONN_OK)
			return st;
	}
	return CONN_OK;
}

static int ip_literal(const char *name)
{
	unsigned char a[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

/* The inner handshake: `want` -1 or 1 it must succeed, 0 it must fail. No certificate check: the outer
 * handshake already verified the server (as the target profile says). */
static void nested_handshake(struct xctx *x, struct xsession *s, int want, const struct expect *e,
                             struct outcome *out)
{
	size_t early = conn_buffered(s->c);
	if (early) {
		/* The server spoke before the client's handshake: not the negotiation of R2595-STLS-5. */
		out_set(out, OUT_CHECK, "R2595-STLS-5", "nothing after STLS's +OK before the client's handshake",
		        "%zu octets after the +OK", early);
		out->desync = 1;
		return;
	}
	xtr_note(&x->tr, s->name, "STLS got +OK while TLS is active: a TLS handshake inside the TLS session");
	SSL_CTX *ctx = client_ctx(x, NULL, out);
	if (ctx == NULL)
		return;
	SSL *in = SSL_new(ctx);
	SSL_CTX_free(ctx); /* the SSL holds its own reference */
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	if (in == NULL || rb == NULL || wb == NULL) {
		SSL_free(in);
		BIO_free(rb);
		BIO_free(wb);
		return (void)out_set(out, OUT_ERROR, NULL, NULL, "TLS client set-up: out of memory");
	}
	SSL_set_bio(in, rb, wb);
	SSL_set_verify(in, SSL_VERIFY_NONE, NULL);
	SSL_set_connect_state(in);
	if (!ip_literal(sni_of(x)))
		SSL_set_tlsext_host_name(in, sni_of(x));
	long long deadline = deadline_in(x);
	char seen[200], why[600] = "";
	size_t nseen = 0;
	int ok = 0, timed_out = 0;
	struct p3err err = {""};
	for (;;) {
		ERR_clear_error();
		int rc = SSL_do_handshake(in);
		int kind = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(in, rc);
		unsigned long sslerr = ERR_peek_error();
		enum conn_status st = push_records(s->c, wb, deadline, &err);
		if (st != CONN_OK) {
			snprintf(why, sizeof why, "could not send the handshake: %s", err.msg);
			break;
		}
		if (rc == 1) {
			ok = 1;
			break;
		}
		if (kind != SSL_ERROR_WANT_READ) {
			char shown[200];
			line_escape(seen, nseen, shown, sizeof shown);
			char es[256] = "the handshake broke";
			if (sslerr)
				ERR_error_string_n(sslerr, es, sizeof es);
			snprintf(why, sizeof why, "%s%s%s%s", es, nseen ? " (the server sent '" : "",
			         nseen ? shown : "", nseen ? "')" : "");
			break;
		}
		st = pull_records(s->c, rb, deadline, seen, sizeof seen, &nseen, &err);
		if (st == CONN_TIMEOUT) {
			timed_out = 1;
			snprintf(why, sizeof why, "no TLS answer within %.1f s", x->timeout);
			break;
		}
		if (st == CONN_EOF) {
			s->eof = 1;
			snprintf(why, sizeof why, "the server closed the connection");
			break;
		}
		if (st != CONN_OK) {
			snprintf(why, sizeof why, "%s", err.msg);
			break;
		}
	}
	ERR_clear_error();
	if (ok) {
		char desc[128];
		tls_describe(in, desc, sizeof desc);
		xtr_note(&x->tr, s->name, "TLS started inside TLS: %s", desc);
	} else {
		xtr_note(&x->tr, s->name, "TLS handshake inside TLS failed: %s", why);
	}
	SSL_free(in);
	xs_close(x, s, 0,
	         ok ? "the runner cannot go on over two TLS layers: the session ends here" : NULL);
	if (ok && want == 0) {
		out_set(out, OUT_EXPECT, e ? e->ref : NULL, "the TLS handshake to be refused",
		        "it succeeded inside the TLS session");
	} else if (!ok && want != 0) {
		out_set(out, OUT_EXPECT, e && e->ref ? e->ref : "R2595-STLS-5",
		        "after +OK to STLS with TLS active, a TLS handshake inside the TLS session (or -ERR, "
		        "R2595-STLS-4)",
		        "it failed: %s", why);
		out->desync = 1;
		out->timed_out = timed_out;
	}
	if (out->kind == OUT_EXPECT) {
		out->level = e && e->level >= 0 ? e->level : (int)x->sc->level;
		out->own_level = e && e->level >= 0;
	}
}

/* ---- starttls (the step) ----------------------------------------------------------------------------- */

/* STLS (with `inject` octets in the same write), its reply judged against `e` (default +OK), then on
 * +OK the handshake and, with `quiet`, a silent wait. st may be NULL (the probe, login_tls). With TLS
 * already active, a +OK leads to a handshake inside TLS (nested_handshake), after which the session is
 * closed. */
static void starttls_on(struct xctx *x, struct xsession *s, const struct step *st, struct outcome *out)
{
	const struct expect *e = st ? first_expect(st) : NULL;
	const struct expect *re = e;
	if (re == NULL || (re->status == WANT_UNSET && !re->one_of && !re->match && !re->code))
		re = &want_ok;
	int injected = st && st->kind == STEP_STARTTLS && st->u.starttls.inject.s;
	double quiet = st && st->kind == STEP_STARTTLS ? st->u.starttls.quiet : 0;
	if (injected) {
		char *val;
		size_t len;
		if (xc_interp(x, &st->u.starttls.inject, &val, &len, out) != 0)
			return;
		char *buf = malloc(len + 6);
		if (buf == NULL) {
			free(val);
			return (void)out_set(out, OUT_ERROR, NULL, NULL, "out of memory");
		}
		memcpy(buf, "STLS\r\n", 6);
		memcpy(buf + 6, val, len);
		xtr_note(&x->tr, s->name, "STLS and %zu more octets in one write", len);
		int rc = send_bytes(x, s, buf, len + 6, out);
		free(buf);
		free(val);
		if (rc != 0)
			return;
	} else if (cmdf(x, s, out, "STLS") != 0) {
		return;
	}
	expect_response(x, s, re, 0, NULL, NULL, out);
	if (out->kind != OUT_PASS || s->c == NULL)
		return;
	if (check_status_kind(x->last_line, x->last_len) != STATUS_OK)
		return;
	if (conn_is_tls(s->c)) {
		nested_handshake(x, s, e ? e->handshake : -1, e, out);
		return;
	}
	size_t discarded = 0;
	/* With inject, and no `handshake:` said, a failed handshake (not a stalled one) is an allowed end. */
	int fail_ok = injected && (e == NULL || e->handshake < 0);
	handshake(x, s, NULL, e ? e->handshake : -1, fail_ok, &discarded, e, out);
	if (discarded) {
		/* RFC 2595 §4: after +OK the next octets are the server's TLS handshake; cleartext here could
		 * be an injected response. */
		out_set(out, OUT_CHECK, "R2595-STLS-5", "nothing in cleartext after STLS's +OK",
		        "%zu cleartext octets after the +OK", discarded);
		return;
	}
	if (out->kind != OUT_PASS || s->c == NULL)
		return;
	s->in_auth = 0;
	if (quiet > 0)
		quiet_after_tls(x, s, quiet, injected, e, out);
}

static void do_starttls(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = need_session(x, st, out);
	if (s == NULL)
		return;
	/* for_login: a scenario that types USER/PASS or APOP itself goes over TLS exactly where the login
	 * step would (login_tls), so a server in privacy mode runs it too. */
	if (st->u.starttls.for_login && (conn_is_tls(s->c) || !exec_login_tls(x->t, x->p, NULL))) {
		xtr_note(&x->tr, s->name, "no STLS: logins go %s on this target",
		         conn_is_tls(s->c) ? "over the TLS already active" : "in cleartext");
		return;
	}
	if (st->u.starttls.for_login && x->p && x->p->capa_ok && !exec_probe_has(x->p, "STLS", 0))
		return (void)out_set(out, OUT_SKIP, NULL, NULL,
		                     "unsupported: STLS (the target's login_tls logs in over TLS)");
	starttls_on(x, s, st, out);
	/* For the steps after it: whether this step left its session in TLS (a -ERR, a failed handshake,
	 * a close or a handshake inside TLS leave it not). */
	vars_set_str(&x->vars, "tls.active", s->c && conn_is_tls(s->c) ? "yes" : "no");
}

/* login_tls (RFC 2595 §2.2 privacy mode): STLS and the handshake before a login or auth on a connection
 * not yet in TLS, when the step or the target profile asks for it. mech: NULL for USER/PASS and APOP. */
static int tls_first(struct xctx *x, struct xsession *s, enum tls_first want, const char *mech,
                     struct outcome *out)
{
	if (want == TLS_FIRST_NO || conn_is_tls(s->c))
		return 0;
	if (want == TLS_FIRST_TARGET && !exec_login_tls(x->t, x->p, mech))
		return 0;
	if (x->p && x->p->capa_ok && !exec_probe_has(x->p, "STLS", 0))
		return out_set(out, OUT_SKIP, NULL, NULL, "unsupported: STLS (%s)",
		               want == TLS_FIRST_YES ? "the step logs in over TLS"
		                                     : "the target's login_tls logs in over TLS");
	xtr_note(&x->tr, s->name, "STLS before logging in (%s)",
	         want == TLS_FIRST_YES ? "tls: true" : "the target's login_tls");
	starttls_on(x, s, NULL, out);
	if (out->kind == OUT_PASS && s->c == NULL)
		out_set(out, OUT_EXPECT, NULL, "a TLS session to log in on", "the connection closed");
	if (out->kind != OUT_PASS) {
		if (out->kind == OUT_EXPECT) {
			out->level = (int)x->sc->level;
			out->desync = 1;
		}
		return -1;
	}
	return 0;
}

static void do_auth(struct xctx *x, const struct step *st, struct outcome *out);

static void login_once(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = need_session(x, st, out);
	if (s == NULL)
		return;
	int n = st->u.login.account == 2 ? 1 : 0;
	s->account = n + 1;
	const struct account *a = &x->acct[n];
	const struct expect *e = first_expect(st);
	enum login_method method = st->u.login.method;
	if (method == LOGIN_OFFERED) {
		/* RFC 1939 §7: USER/PASS is optional; log in the way the target offers (the probe learnt it). */
		const char *mech;
		enum login_way way = exec_login_way(x->p, &mech);
		if (way != LOGIN_WAY_USER) {
			char buf[64];
			xtr_note(&x->tr, s->name, "login with %s: the server offers no USER/PASS (RFC 1939 §7)",
			         exec_login_way_name(x->p, buf, sizeof buf));
		}
		if (way == LOGIN_WAY_SASL) {
			struct step as = *st;
			as.kind = STEP_AUTH;
			memset(&as.u, 0, sizeof as.u);
			as.u.auth.mechanism = (char *)mech;
			as.u.auth.account = st->u.login.account;
			as.u.auth.initial = -1;
			as.u.auth.tls = st->u.login.tls;
			do_auth(x, &as, out);
			return;
		}
		method = way == LOGIN_WAY_APOP ? LOGIN_APOP : LOGIN_USER;
	}
	if (tls_first(x, s, st->u.login.tls, method == LOGIN_PLAIN ? "PLAIN" : NULL, out) != 0)
		return;
	switch (method) {
	case LOGIN_OFFERED: /* resolved above */
	case LOGIN_USER:
		if (cmdf(x, s, out, "USER %s", a->user) != 0)
			return;
		expect_response(x, s, NULL, 0, NULL, NULL, out);
		if (out->kind != OUT_PASS)
			return;
		if (check_status_kind(x->last_line, x->last_len) != STATUS_OK) {
			/* Refused at USER: that may be what the step expects (RFC 1939 §7 allows it). */
			expect_judge_last(x, e, out);
			return;
		}
		if (cmdf(x, s, out, "PASS %s", a->password) != 0)
			return;
		break;
	case LOGIN_APOP: {
		if (s->timestamp == NULL)
			return (void)out_set(out, OUT_SKIP, NULL, NULL,
			                     "unsupported: the greeting carries no APOP timestamp");
		char hex[DIGEST_MD5_HEX];
		apop_digest(s->timestamp, account_apop_secret(a), hex);
		if (cmdf(x, s, out, "APOP %s %s", a->user, hex) != 0)
			return;
		break;
	}
	case LOGIN_PLAIN: {
		size_t ul = strlen(a->user), pl = strlen(a->password);
		char raw[1100], enc[1500];
		if (ul + pl + 2 > sizeof raw)
			return (void)out_set(out, OUT_ERROR, NULL, NULL, "credentials too long");
		raw[0] = '\0';
		memcpy(raw + 1, a->user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, a->password, pl);
		b64_encode(raw, ul + pl + 2, enc);
		if (cmdf(x, s, out, "AUTH PLAIN %s", enc) != 0)
			return;
		break;
	}
	}
	expect_response(x, s, e ? e : &want_ok, 0, NULL, NULL, out);
}

/* Whether a refused login may only mean the maildrop is still locked by a session of the account that
 * was dropped: -ERR [IN-USE] (RFC 2449 §8.1.2: the credentials were right, the maildrop is busy), or,
 * on a server without RESP-CODES, any -ERR (the probe logged in with these credentials just before). */
static int maybe_busy(struct xctx *x)
{
	if (x->last_line == NULL || check_status_kind(x->last_line, x->last_len) != STATUS_ERR)
		return 0;
	for (size_t i = 0; i + 8 <= x->last_len; i++)
		if (strncasecmp(x->last_line + i, "[IN-USE]", 8) == 0)
			return 1;
	return x->p && !exec_probe_has(x->p, "RESP-CODES", 0) && !exec_probe_has(x->p, "RESP-CODES", 1);
}

/* The login step. After a dropped connection the server learns of the drop when it learns of it (a
 * forking server still in UPDATE, a proxy in front): a login that meets a busy maildrop then is retried
 * with backoff, up to the profile's lock_retry, visibly. Not when the step has its own expectation (the
 * scenario is about that very reply), nor after QUIT (the lock must be free then: RFC 1939 §6). */
/* Whether the last reply refused a login with [LOGIN-DELAY] (RFC 2449 §8.1.1). */
static int login_delayed(const struct xctx *x)
{
	return x->last_line && check_status_kind(x->last_line, x->last_len) == STATUS_ERR &&
	       memmem(x->last_line, x->last_len, "[LOGIN-DELAY]", 13) != NULL;
}

/* Connect the (closed) session again the way its connect step did and log in once more: the retries below
 * (after [LOGIN-DELAY], after a drop's lock) both end this way. -1 when the connection failed (out says
 * why), else 0 with out the login's outcome. */
static int reconnect_and_login(struct xctx *x, const struct step *st, struct xsession *s, struct outcome *out)
{
	const struct step *cs = s->connect_step;
	struct step again = *cs;
	again.session = st->session;
	outcome_pass(out);
	do_connect(x, &again, out);
	/* do_connect remembers the step it connected with; `again` is gone when this returns. */
	struct xsession *now = xs_get(x, st->session, 0);
	if (now)
		now->connect_step = cs;
	if (out->kind != OUT_PASS)
		return -1;
	login_once(x, st, out);
	return 0;
}

/* A login the scenario does not judge itself, refused with [LOGIN-DELAY] (RFC 2449 §8.1.1: the account
 * "has logged in recently and will not be allowed to login again until the login delay period has
 * expired"): a lawful answer the pacing (pace.h) did not foresee — a login outside the run's sight (an
 * earlier run, a mail client), or a server counting differently. Waited out once, visibly: the delay that
 * applies counted from now (when the last login was is not known), at most login_delay_max, and the login
 * tried again on a new connection made like the first. */
static void login_delay_retry(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = xs_get(x, st->session, 0);
	if (s == NULL || s->connect_step == NULL || !login_delayed(x))
		return;
	const char *user = x->acct[st->u.login.account == 2 ? 1 : 0].user;
	long d = pace_delay(pace_global(), x->t, user);
	double max = target_login_delay_max(x->t);
	double wait = d > 0 ? (double)(d + PACE_MARGIN_MS) / 1000.0 : max;
	if (wait > max)
		wait = max;
	xtr_note(&x->tr, s->name,
	         "login refused with [LOGIN-DELAY]: waiting %.1f s (%s, login_delay_max %.0f s), then one retry",
	         wait, d > 0 ? "the LOGIN-DELAY that applies" : "no LOGIN-DELAY announced", max);
	xs_close(x, s, 0, NULL);
	if (xc_sleep_ms((long long)(wait * 1000)) != 0)
		return;
	if (reconnect_and_login(x, st, s, out) == 0 && out->kind == OUT_PASS)
		xtr_note(&x->tr, s->name, "logged in after waiting out [LOGIN-DELAY]");
}

static void do_login(struct xctx *x, const struct step *st, struct outcome *out)
{
	int acc = st->u.login.account == 2 ? 1 : 0;
	login_once(x, st, out);
	if (out->kind != OUT_PASS && !first_expect(st) && login_delayed(x))
		login_delay_retry(x, st, out);
	if (out->kind == OUT_PASS || first_expect(st) || !x->dropped[acc] || x->lock_stuck[acc])
		return;
	struct xsession *s = xs_get(x, st->session, 0);
	if (s == NULL || s->connect_step == NULL || !maybe_busy(x))
		return;
	double limit = target_lock_retry(x->t), wait = 0.25;
	long long t0 = xc_now_ms();
	int tries = 0;
	while (out->kind != OUT_PASS && maybe_busy(x) && s->connect_step) {
		double spent = (double)(xc_now_ms() - t0) / 1000.0;
		if (spent + wait > limit) {
			x->lock_stuck[acc] = 1;
			char was[sizeof out->actual];
			snprintf(was, sizeof was, "%s", out->actual);
			xtr_note(&x->tr, s->name, "the maildrop stayed busy %.1f s after the drop (lock_retry %.0f s)",
			         spent, limit);
			snprintf(out->actual, sizeof out->actual,
			         "%.900s (still after %d retries over %.1f s since a dropped session: lock_retry)", was,
			         tries, spent);
			return;
		}
		xtr_note(&x->tr, s->name,
		         "login refused while a dropped session of this account may still hold the maildrop: retry "
		         "%d in %.2f s",
		         tries + 1, wait);
		xs_close(x, s, 0, NULL);
		if (xc_sleep_ms((long long)(wait * 1000)) != 0)
			return; /* the run is being stopped */
		wait = wait * 2 > 2.0 ? 2.0 : wait * 2;
		tries++;
		if (reconnect_and_login(x, st, s, out) != 0)
			return;
	}
	if (out->kind == OUT_PASS)
		xtr_note(&x->tr, s->name, "logged in after %d retries (%.1f s after the first refusal)", tries,
		         (double)(xc_now_ms() - t0) / 1000.0);
}

/* ---- auth (GNU SASL) ------------------------------------------------------------------------------- */

static int send_b64_line(struct xctx *x, struct xsession *s, const char *prefix, const char *data, size_t len,
                         int empty_as_eq, struct outcome *out)
{
	size_t plen = strlen(prefix);
	char *buf = malloc(plen + b64_encoded_len(len) + 4);
	if (buf == NULL)
		return out_set(out, OUT_ERROR, NULL, NULL, "out of memory");
	memcpy(buf, prefix, plen);
	size_t n = plen;
	if (len)
		n += b64_encode(data, len, buf + plen);
	else if (empty_as_eq)
		buf[n++] = '='; /* RFC 5034 §4: "=" is an empty initial response */
	int rc = send_command(x, s, buf, n, out);
	free(buf);
	return rc;
}

static void do_auth(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = need_session(x, st, out);
	if (s == NULL)
		return;
	const char *mech = st->u.auth.mechanism;
	const struct account *a = &x->acct[st->u.auth.account == 2 ? 1 : 0];
	s->account = st->u.auth.account == 2 ? 2 : 1;
	const struct expect *e = first_expect(st);
	char *pass = NULL, *authzid = NULL;
	size_t plen, zlen;
	struct sasl_client *sc = NULL;
	struct p3err err = {""};
	if (tls_first(x, s, st->u.auth.tls, mech, out) != 0)
		return;
	if (st->u.auth.password.s && xc_interp(x, &st->u.auth.password, &pass, &plen, out) != 0)
		goto out;
	if (st->u.auth.authzid.s && xc_interp(x, &st->u.auth.authzid, &authzid, &zlen, out) != 0)
		goto out;
	if (sasl_client_start(&sc, mech, a->user, pass ? pass : a->password, authzid, sni_of(x), &err) != 0) {
		out_set(out, OUT_SKIP, NULL, NULL, "unsupported by the runner: %s", err.msg);
		goto out;
	}
	int initial = st->u.auth.initial >= 0 ? st->u.auth.initial : sasl_client_first(mech);
	int client_done = 0;
	char prefix[128];
	snprintf(prefix, sizeof prefix, "AUTH %s", mech);
	if (initial) {
		char *resp;
		size_t rlen;
		int rc = sasl_client_step(sc, NULL, 0, &resp, &rlen, &err);
		if (rc < 0) {
			out_set(out, OUT_ERROR, NULL, NULL, "SASL client: %s", err.msg);
			goto out;
		}
		client_done = rc == 0;
		strcat(prefix, " ");
		rc = send_b64_line(x, s, prefix, resp, rlen, 1, out);
		free(resp);
		if (rc != 0)
			goto out;
	} else if (send_command(x, s, prefix, strlen(prefix), out) != 0) {
		goto out;
	}
	int sent_final_empty = 0;
	for (int round = 0;; round++) {
		if (round == AUTH_MAX_ROUNDS) {
			out_set(out, OUT_EXPECT, NULL, "the AUTH exchange to end",
			        "still continuing after %d rounds", AUTH_MAX_ROUNDS);
			out->level = (int)x->sc->level;
			out->desync = 1;
			goto out;
		}
		enum status_kind kind;
		expect_read_first(x, s, e && e->timeout > 0 ? e->timeout : x->timeout, &kind, out);
		if (out->kind != OUT_PASS) {
			out->level = (int)x->sc->level;
			goto out;
		}
		if (kind != STATUS_CONT)
			break;
		/* A "+ " challenge: base64 (already checked strictly by the per-response checks). */
		const char *pl = x->last_line + 2;
		size_t pll = x->last_len >= 2 ? x->last_len - 2 : 0;
		unsigned char *dec = malloc(pll / 4 * 3 + 4);
		size_t dlen = 0;
		if (dec == NULL || b64_decode(pl, pll, dec, &dlen, 0) != B64_OK) {
			free(dec);
			out_set(out, OUT_CHECK, "R4648-B64-1", "a base64 challenge", "%s", x->last_line);
			goto out;
		}
		if (client_done) {
			/* R5034-AUTH-14: final server data after the client is done gets an empty reply. */
			free(dec);
			sent_final_empty = 1;
			if (send_command(x, s, "", 0, out) != 0)
				goto out;
			continue;
		}
		char *resp;
		size_t rlen;
		int rc = sasl_client_step(sc, (const char *)dec, dlen, &resp, &rlen, &err);
		free(dec);
		if (rc < 0) {
			/* The server's data did not verify (a SCRAM signature, say): cancel, as RFC 5034 §4
			 * allows. */
			char why[P3ERR_MAX];
			snprintf(why, sizeof why, "%s", err.msg);
			if (send_command(x, s, "*", 1, out) == 0) {
				struct outcome tmp;
				expect_read_first(x, s, x->timeout, &kind, &tmp);
			}
			out_set(out, OUT_EXPECT, NULL, "server SASL data the client can verify", "%s", why);
			out->level = (int)x->sc->level;
			goto out;
		}
		client_done = rc == 0;
		sent_final_empty = client_done && rlen == 0;
		if (send_b64_line(x, s, "", resp, rlen, 0, out) != 0) {
			free(resp);
			goto out;
		}
		free(resp);
	}
	(void)sent_final_empty;
	expect_judge_last(x, e, out);
	if (out->kind == OUT_PASS && check_status_kind(x->last_line, x->last_len) == STATUS_OK &&
	    !client_done && strncasecmp(mech, "SCRAM-", 6) == 0) {
		/* RFC 5034 §4 / RFC 4422 §3.6: SCRAM's server-final message comes as a "+ " challenge, and
		 * the client verifies it; a +OK without it leaves the server unauthenticated. */
		out_set(out, OUT_EXPECT, "R5034-AUTH-14",
		        "the server's final SCRAM message as a '+ ' challenge before +OK",
		        "+OK came first (the server signature could not be verified)");
		out->level = LEVEL_SHOULD;
		out->own_level = 1;
	}
out:
	sasl_client_free(sc);
	free(pass);
	free(authzid);
}

/* ---- expect_close, drop, sleep ---------------------------------------------------------------------- */

static void do_expect_close(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = xs_get(x, st->session, 0);
	if (s == NULL)
		return (void)out_set(out, OUT_ERROR, NULL, NULL, "scenario error: no session '%s'",
		                     st->session ? st->session : "main");
	if (s->c == NULL)
		return; /* already closed by the server */
	double within = st->u.close.within > 0 ? st->u.close.within : x->timeout;
	const struct expect *e = first_expect(st);
	size_t data = 0;
	struct p3err err = {""};
	enum conn_status cs = conn_wait_close(s->c, (int)(within * 1000), XC_DISCARD_LIMIT, &data, &err);
	if (data)
		xtr_note(&x->tr, s->name, "%zu octets arrived before the close (discarded)", data);
	if (cs == CONN_EOF) {
		int clean = conn_tls_clean_shutdown(s->c);
		s->eof = 1;
		xs_close(x, s, 0,
		         clean < 0 ? "the server closed the connection"
		         : clean   ? "the server closed the connection (TLS close_notify first)"
		                   : "the server closed the connection (TCP closed without a TLS close_notify)");
		if (st->u.close.silent && data)
			out_set(out, OUT_EXPECT, e ? e->ref : NULL, "a close with nothing sent before it",
			        "%zu octets came first", data);
	} else if (cs == CONN_TIMEOUT) {
		out_set(out, OUT_EXPECT, e ? e->ref : NULL, "the server to close the connection",
		        "it stayed open for %.1f s", within);
	} else if (cs == CONN_TOO_LONG) {
		out_set(out, OUT_EXPECT, e ? e->ref : NULL, "the server to close the connection",
		        "more than %d octets arrived instead", XC_DISCARD_LIMIT);
		out->desync = 1;
	} else {
		s->eof = 1;
		xs_close(x, s, 0, NULL);
		if (st->u.close.silent && data)
			out_set(out, OUT_EXPECT, e ? e->ref : NULL, "a silent close", "%zu octets, then %s",
			        data, err.msg);
		/* A reset is a close too. */
	}
	if (out->kind == OUT_EXPECT) {
		out->level = e && e->level >= 0 ? e->level : (int)x->sc->level;
		out->own_level = e && e->level >= 0;
	}
}

static void do_drop(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = xs_get(x, st->session, 0);
	if (s == NULL || s->c == NULL) {
		xtr_note(&x->tr, st->session, "drop: the session is not connected");
		return;
	}
	/* The server keeps the maildrop locked until it notices (a login retries on [IN-USE] meanwhile). */
	if (s->logged_in && s->account >= 1 && s->account <= 2)
		x->dropped[s->account - 1] = 1;
	switch (st->u.drop) {
	case DROP_FIN:
		xs_close(x, s, 0, "client closes the connection (FIN)");
		break;
	case DROP_RST:
		xs_close(x, s, 1, "client aborts the connection (RST)");
		break;
	case DROP_HALF:
		xtr_note(&x->tr, s->name, "client half-closes the connection (shutdown for writing)");
		conn_shutdown_write(s->c);
		break;
	}
	(void)out;
}

static void do_sleep(struct xctx *x, const struct step *st, struct outcome *out)
{
	char *val;
	size_t len;
	if (xc_interp(x, &st->u.sleep, &val, &len, out) != 0)
		return;
	char *end;
	errno = 0;
	double secs = strtod(val, &end);
	int bad = end == val || *end != '\0' || errno || !isfinite(secs) || secs < 0 || secs > 86400;
	if (bad) {
		out_set(out, OUT_ERROR, NULL, NULL,
		        "scenario error: sleep: '%.40s' is not a number of seconds", val);
		free(val);
		return;
	}
	free(val);
	xtr_note(&x->tr, st->session, "sleep %.3g s", secs);
	conn_pause((int)(secs * 1000.0)); /* cut short when the run is stopped */
}

/* ---- find ------------------------------------------------------------------------------------------ */

struct idscan {
	int in_header, in_field;
	char value[FIXTURE_MSGID_MAX + 1];
	size_t n;
};

static void idscan_line(void *ctx, const char *data, size_t len)
{
	struct idscan *sc = ctx;
	if (!sc->in_header)
		return;
	if (len == 0) {
		sc->in_header = 0;
		return;
	}
	if (sc->in_field && (data[0] == ' ' || data[0] == '\t')) {
		for (size_t i = 0; i < len && sc->n < FIXTURE_MSGID_MAX; i++)
			sc->value[sc->n++] = data[i];
		sc->value[sc->n] = '\0';
		return;
	}
	sc->in_field = 0;
	if (sc->n == 0 && len >= 11 && strncasecmp(data, "Message-ID:", 11) == 0) {
		sc->in_field = 1;
		for (size_t i = 11; i < len && sc->n < FIXTURE_MSGID_MAX; i++)
			sc->value[sc->n++] = data[i];
		sc->value[sc->n] = '\0';
	}
}

/* The <...> part of a header value, as fixture_message_id extracts it. */
static int same_id(const char *value, const char *want)
{
	const char *lt = strchr(value, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt)
		return strlen(want) == (size_t)(gt - lt + 1) && strncmp(lt, want, (size_t)(gt - lt + 1)) == 0;
	while (*value == ' ' || *value == '\t')
		value++;
	size_t l = strlen(value);
	while (l && (value[l - 1] == ' ' || value[l - 1] == '\t'))
		l--;
	return l == strlen(want) && strncmp(value, want, l) == 0;
}

static void do_find(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = need_session(x, st, out);
	if (s == NULL)
		return;
	long long n;
	if (xc_interp_int(x, &st->u.find.message, "find: message", &n, out) != 0)
		return;
	if (x->fx == NULL)
		return (void)out_set(out, OUT_ERROR, NULL, NULL, "scenario error: find needs a fixture");
	if (n < 1 || (size_t)n > x->fx->count)
		return (void)out_set(out, OUT_ERROR, NULL, NULL,
		                     "scenario error: fixture '%s' has no message %lld", x->fx->name, n);
	const char *want = x->fx->msgs[n - 1].msgid;
	if (want[0] == '\0')
		return (void)out_set(out, OUT_ERROR, NULL, NULL, "fixture message %lld has no Message-ID", n);
	if (cmdf(x, s, out, "STAT") != 0)
		return;
	expect_response(x, s, &want_ok, 0, NULL, NULL, out);
	if (out->kind != OUT_PASS)
		return;
	unsigned long count = 0;
	if (sscanf(x->last_line, "+OK %lu", &count) != 1)
		return (void)out_set(out, OUT_CHECK, "R1939-STAT-2", "+OK nn mm", "%s", x->last_line);
	if (count > 1000000)
		count = 1000000;
	int use_retr = 0;
	static const struct expect any_body = {
	    .status = WANT_UNSET, .closes = -1, .handshake = -1, .level = -1};
	for (unsigned long i = 1; i <= count; i++) {
		if (cmdf(x, s, out, use_retr ? "RETR %lu" : "TOP %lu 0", i) != 0)
			return;
		struct idscan sc = {1, 0, "", 0};
		expect_response(x, s, &any_body, EXP_QUIET_BODY, idscan_line, &sc, out);
		if (out->kind != OUT_PASS)
			return;
		if (check_status_kind(x->last_line, x->last_len) != STATUS_OK) {
			if (!use_retr && i == 1) {
				/* No TOP (it is optional, RFC 1939 §7): fall back to RETR. */
				use_retr = 1;
				i = 0;
			}
			continue;
		}
		if (same_id(sc.value, want)) {
			vars_set_long(&x->vars, st->u.find.as, (long long)i);
			xtr_note(&x->tr, s->name, "fixture message %lld (%s) is message %lu here; %s = %lu",
			         n, want, i, st->u.find.as, i);
			return;
		}
	}
	out_set(out, OUT_EXPECT, NULL, "the fixture's message in the maildrop",
	        "no message with Message-ID %s among %lu", want, count);
	out->level = (int)x->sc->level;
}

/* ---- assert ---------------------------------------------------------------------------------------- */

static size_t first_word(const char *line, size_t len)
{
	size_t i = 0;
	while (i < len && line[i] != ' ')
		i++;
	return i;
}

/* Whether the first word of line (len) is among the ignore list. */
static int ignored(const struct step *st, const char *w, size_t wl)
{
	for (size_t i = 0; i < st->u.assert_.nignore; i++)
		if (strlen(st->u.assert_.ignore[i]) == wl && strncasecmp(st->u.assert_.ignore[i], w, wl) == 0)
			return 1;
	return 0;
}

/* Captured bodies are walked line by line with their length: a server's NUL octet is part of a line,
 * never its end (nor the end of the body). */
struct span {
	const char *p;
	size_t len;
};

/* The next '\n'-separated line of *rest into *ln; 0 when none is left. */
static int next_line(struct span *rest, struct span *ln)
{
	if (rest->len == 0)
		return 0;
	const char *nl = memchr(rest->p, '\n', rest->len);
	ln->p = rest->p;
	ln->len = nl ? (size_t)(nl - rest->p) : rest->len;
	rest->p += ln->len + (nl != NULL);
	rest->len -= ln->len + (nl != NULL);
	return 1;
}

static int same_icase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* Each line's first word in A appears as a first word in B (case-insensitively). */
static int subset(const struct step *st, struct span a, struct span b, char *missing, size_t msize)
{
	struct span p;
	while (next_line(&a, &p)) {
		size_t wl = first_word(p.p, p.len);
		if (wl == 0 || ignored(st, p.p, wl))
			continue;
		int found = 0;
		struct span rest = b, q;
		while (!found && next_line(&rest, &q))
			found = first_word(q.p, q.len) == wl && same_icase(p.p, q.p, wl);
		if (!found) {
			line_escape(p.p, wl, missing, msize);
			return 0;
		}
	}
	return 1;
}

static int distinct(struct span a, char *dup, size_t dsize)
{
	struct span p;
	while (next_line(&a, &p)) {
		struct span rest = a, q;
		while (next_line(&rest, &q))
			if (q.len == p.len && memcmp(p.p, q.p, p.len) == 0) {
				line_escape(p.p, p.len, dup, dsize);
				return 0;
			}
	}
	return 1;
}

static int capture_value(struct xctx *x, const struct sstr *name, struct span *val, struct outcome *out)
{
	char key[128];
	snprintf(key, sizeof key, "%.*s", (int)(name->len < 127 ? name->len : 127), name->s ? name->s : "");
	const struct var *v = vars_get(&x->vars, key);
	if (v == NULL) {
		out_set(out, OUT_ERROR, NULL, NULL, "scenario error: assert: nothing captured as '%s'", key);
		return -1;
	}
	val->p = v->val;
	val->len = v->len;
	return 0;
}

/* le, ge, lt, gt: integers of any length; the `infinite` word above them all (NEVER for EXPIRE). */
static void compare_ints(const struct step *st, const char *a, size_t al, const char *b, size_t bl,
                         struct outcome *out)
{
	static const char *const opname[] = {"at most", "at least", "less than", "more than"};
	enum assert_op op = st->u.assert_.op;
	const char *inf = st->u.assert_.infinite;
	char sa[100], sb[100];
	line_escape(a, al, sa, sizeof sa);
	line_escape(b, bl, sb, sizeof sb);
	int c;
	if (values_cmp_int(a, al, b, bl, inf, &c) != 0) {
		out_set(out, OUT_ERROR, NULL, NULL,
		        "scenario error: assert: '%s' or '%s' is not an integer%s%s", sa, sb,
		        inf ? " or " : "", inf ? inf : "");
		return;
	}
	int holds = op == ASSERT_LE ? c <= 0 : op == ASSERT_GE ? c >= 0 : op == ASSERT_LT ? c < 0 : c > 0;
	if (holds)
		return;
	char exp[300];
	snprintf(exp, sizeof exp, "'%s' %s '%s'%s%s%s", sa, opname[op - ASSERT_LE], sb, inf ? " (" : "",
	         inf ? inf : "", inf ? " above every number)" : "");
	out_set(out, OUT_EXPECT, st->u.assert_.ref, exp, "it is %s",
	        c < 0   ? "less"
	        : c > 0 ? "more"
	                : "equal");
}

static void do_assert(struct xctx *x, const struct step *st, struct outcome *out)
{
	const char *ref = st->u.assert_.ref;
	char *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	char sa[300], sb[300];
	switch (st->u.assert_.op) {
	case ASSERT_EQUAL:
	case ASSERT_NOT_EQUAL: {
		if (xc_interp(x, &st->u.assert_.a, &a, &al, out) != 0 ||
		    xc_interp(x, &st->u.assert_.b, &b, &bl, out) != 0)
			break;
		int eq = al == bl && memcmp(a, b, al) == 0;
		line_escape(a, al, sa, sizeof sa);
		line_escape(b, bl, sb, sizeof sb);
		if (st->u.assert_.op == ASSERT_EQUAL && !eq) {
			char exp[700];
			snprintf(exp, sizeof exp, "'%s' equal to '%s'", sa, sb);
			out_set(out, OUT_EXPECT, ref, exp, "they differ");
		} else if (st->u.assert_.op == ASSERT_NOT_EQUAL && eq) {
			out_set(out, OUT_EXPECT, ref, "two different values", "both are '%s'", sa);
		}
		break;
	}
	case ASSERT_MATCH:
	case ASSERT_NOT_MATCH: {
		if (xc_interp(x, &st->u.assert_.a, &a, &al, out) != 0 ||
		    xc_interp(x, &st->u.assert_.b, &b, &bl, out) != 0)
			break;
		regex_t r;
		if (rx_compile(&r, b, REG_EXTENDED | REG_NOSUB) != 0) {
			out_set(out, OUT_ERROR, NULL, NULL, "scenario error: assert: bad regex /%s/", b);
			break;
		}
		int m = rx_match(&r, a, al); /* a may hold a server's octets, NUL included */
		regfree(&r);
		line_escape(a, al, sa, sizeof sa);
		if (m != (st->u.assert_.op == ASSERT_MATCH)) {
			char exp[400];
			snprintf(exp, sizeof exp, "a value %smatching /%s/", m ? "not " : "", b);
			out_set(out, OUT_EXPECT, ref, exp, "'%s'", sa);
		}
		break;
	}
	case ASSERT_SUBSET: {
		struct span va, vb;
		if (capture_value(x, &st->u.assert_.a, &va, out) != 0 ||
		    capture_value(x, &st->u.assert_.b, &vb, out) != 0)
			break;
		char missing[200];
		if (!subset(st, va, vb, missing, sizeof missing)) {
			char exp[300];
			snprintf(exp, sizeof exp, "every first word of %.*s in %.*s",
			         (int)st->u.assert_.a.len, st->u.assert_.a.s, (int)st->u.assert_.b.len,
			         st->u.assert_.b.s);
			out_set(out, OUT_EXPECT, ref, exp, "'%s' is missing", missing);
		}
		break;
	}
	case ASSERT_DISTINCT: {
		struct span va;
		if (capture_value(x, &st->u.assert_.a, &va, out) != 0)
			break;
		char dup[300];
		if (!distinct(va, dup, sizeof dup))
			out_set(out, OUT_EXPECT, ref, "no two lines equal", "'%s' appears twice", dup);
		break;
	}
	case ASSERT_LE:
	case ASSERT_GE:
	case ASSERT_LT:
	case ASSERT_GT:
		if (xc_interp(x, &st->u.assert_.a, &a, &al, out) != 0 ||
		    xc_interp(x, &st->u.assert_.b, &b, &bl, out) != 0)
			break;
		compare_ints(st, a, al, b, bl, out);
		break;
	}
	if (out->kind == OUT_EXPECT)
		out->level = (int)x->sc->level;
	free(a);
	free(b);
}

void step_run(struct xctx *x, const struct step *st, struct outcome *out)
{
	outcome_pass(out);
	switch (st->kind) {
	case STEP_CONNECT:
		do_connect(x, st, out);
		break;
	case STEP_SEND:
	case STEP_RAW:
		do_send(x, st, out);
		break;
	case STEP_READ:
		do_read(x, st, out);
		break;
	case STEP_LOGIN:
		x->in_login_step = 1;
		do_login(x, st, out);
		x->in_login_step = 0;
		break;
	case STEP_AUTH:
		x->in_login_step = 1;
		do_auth(x, st, out);
		x->in_login_step = 0;
		break;
	case STEP_STARTTLS:
		do_starttls(x, st, out);
		break;
	case STEP_EXPECT_CLOSE:
		do_expect_close(x, st, out);
		break;
	case STEP_DROP:
		do_drop(x, st, out);
		break;
	case STEP_SLEEP:
		do_sleep(x, st, out);
		break;
	case STEP_FIND:
		do_find(x, st, out);
		break;
	case STEP_ASSERT:
		do_assert(x, st, out);
		break;
	case STEP_INCLUDE:
		break; /* expanded by the loader */
	}
}
