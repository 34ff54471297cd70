/* exec_steps.c — what the wire steps do (docs/scenario-language.md, "Steps"): connect, send, raw, read,
 * login, starttls, expect_close, drop, sleep, find; and the helpers every step file shares (exec_steps.h).
 * auth is exec_auth.c, assert exec_assert.c; dispatch is the table's (step_kinds.c). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/ssl.h>

#include "lib/b64.h"
#include "lib/digest.h"
#include "lib/line.h"
#include "lib/tls.h"
#include "lib/tls_inner.h"
#include "runner/exec_steps.h"
#include "runner/expect.h"
#include "runner/pace.h"
#include "runner/session.h"
#include "runner/step_kinds.h"

static const struct expect want_ok = {.status = WANT_OK, .closes = -1, .handshake = -1, .level = -1};

const struct expect *step_first_expect(const struct step *st)
{
	return st->n_expect ? &st->expect[0] : NULL;
}

long long step_deadline(struct xctx *x)
{
	return xc_now_ms() + (long long)(x->timeout * 1000);
}

/* The step's session, which must be connected. */
struct xsession *step_session(struct xctx *x, const struct step *st, struct outcome *out)
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
	enum conn_status st = xs_write(x, s, data, len, step_deadline(x), &err);
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
int step_send_command(struct xctx *x, struct xsession *s, const char *cmd, size_t len, struct outcome *out)
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

const char *step_sni(const struct xctx *x)
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
	enum conn_status cs = conn_start_tls(s->c, ctx, step_sni(x), (int)(x->timeout * 1000), discarded, &err);
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

void step_run_connect(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = xs_get(x, st->session, 1);
	if (s == NULL)
		return (void)out_set(out, OUT_ERROR, NULL, NULL, "scenario error: more than %d sessions",
		                     XC_MAX_SESSIONS);
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
		return (void)out_set(out, OUT_SKIP, NULL, NULL,
		                     tls ? "unsupported: the target has no tls_port"
		                         : "unsupported: the target has no plain port");
	const struct expect *e = step_first_expect(st);
	xtr_note(&x->tr, s->name, "connect to %s:%d%s", x->t->host, port, tls ? " (implicit TLS)" : "");
	struct p3err err = {""};
	enum conn_status cs = conn_open(&s->c, x->t->host, port, (int)(x->timeout * 1000), &err);
	if (cs != CONN_OK) {
		s->c = NULL;
		xtr_note(&x->tr, s->name, "connect failed: %s", cs == CONN_TIMEOUT ? "timed out" : err.msg);
		return (void)out_set(out, OUT_ERROR, NULL, NULL, "cannot connect to %s:%d: %s", x->t->host,
		                     port, cs == CONN_TIMEOUT ? "timed out" : err.msg);
	}
	if (tls) {
		int want = e ? e->handshake : -1;
		handshake(x, s, st, want, 0, NULL, e, out);
		if (out->kind != OUT_PASS || s->c == NULL)
			return;
	}
	if (!st->u.connect.read_greeting)
		return;
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
		if (out->timed_out)
			out_set(out, OUT_ERROR, NULL, NULL, "no greeting from %s:%d within %.1f s", x->t->host,
			        port, x->timeout);
		else {
			char what[sizeof out->actual];
			snprintf(what, sizeof what, "%s", out->actual);
			out_set(out, OUT_ERROR, NULL, NULL, "no greeting from %s:%d: %s", x->t->host, port,
			        what);
		}
		return;
	}
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
	if (out->kind != OUT_PASS || s->c == NULL)
		return;
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
}

/* ---- send / raw / read ----------------------------------------------------------------------------- */

void step_run_send(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = step_session(x, st, out);
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
		rc = step_send_command(x, s, val, len, out);
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

void step_run_read(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = step_session(x, st, out);
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
	return step_send_command(x, s, buf, (size_t)n, out);
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
 * session already running. lib/tls_inner.h runs that inner handshake, its records carried as application
 * data of the outer session. It proves that the +OK was true; the session cannot go on over two layers and
 * ends after it. `want` -1 or 1 it must succeed, 0 it must fail. No certificate check: the outer handshake
 * already verified the server (as the target profile says). */
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
	struct tls_inner_result r;
	struct p3err err = {""};
	int rc = tls_inner_handshake(s->c, ctx, step_sni(x), (int)(x->timeout * 1000), &r, &err);
	SSL_CTX_free(ctx);
	if (rc != 0)
		return (void)out_set(out, OUT_ERROR, NULL, NULL, "TLS client set-up: %s", err.msg);
	if (r.eof)
		s->eof = 1;
	if (r.ok)
		xtr_note(&x->tr, s->name, "TLS started inside TLS: %s", r.desc);
	else
		xtr_note(&x->tr, s->name, "TLS handshake inside TLS failed: %s", r.why);
	xs_close(x, s, 0, r.ok ? "the runner cannot go on over two TLS layers: the session ends here" : NULL);
	if (r.ok && want == 0) {
		out_set(out, OUT_EXPECT, e ? e->ref : NULL, "the TLS handshake to be refused",
		        "it succeeded inside the TLS session");
	} else if (!r.ok && want != 0) {
		out_set(out, OUT_EXPECT, e && e->ref ? e->ref : "R2595-STLS-5",
		        "after +OK to STLS with TLS active, a TLS handshake inside the TLS session (or -ERR, "
		        "R2595-STLS-4)",
		        "it failed: %s", r.why);
		out->desync = 1;
		out->timed_out = r.timed_out;
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
	const struct expect *e = st ? step_first_expect(st) : NULL;
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

void step_run_starttls(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = step_session(x, st, out);
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
int step_tls_first(struct xctx *x, struct xsession *s, enum tls_first want, const char *mech,
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

static void login_once(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = step_session(x, st, out);
	if (s == NULL)
		return;
	int n = st->u.login.account == 2 ? 1 : 0;
	s->account = n + 1;
	const struct account *a = &x->acct[n];
	const struct expect *e = step_first_expect(st);
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
			step_run_auth(x, &as, out);
			return;
		}
		method = way == LOGIN_WAY_APOP ? LOGIN_APOP : LOGIN_USER;
	}
	if (step_tls_first(x, s, st->u.login.tls, method == LOGIN_PLAIN ? "PLAIN" : NULL, out) != 0)
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
		apop_digest(s->timestamp, a->password, hex);
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
	step_run_connect(x, &again, out);
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

void step_run_login(struct xctx *x, const struct step *st, struct outcome *out)
{
	int acc = st->u.login.account == 2 ? 1 : 0;
	login_once(x, st, out);
	if (out->kind != OUT_PASS && !step_first_expect(st) && login_delayed(x))
		login_delay_retry(x, st, out);
	if (out->kind == OUT_PASS || step_first_expect(st) || !x->dropped[acc] || x->lock_stuck[acc])
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

/* ---- expect_close, drop, sleep ---------------------------------------------------------------------- */

void step_run_expect_close(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = xs_get(x, st->session, 0);
	if (s == NULL)
		return (void)out_set(out, OUT_ERROR, NULL, NULL, "scenario error: no session '%s'",
		                     st->session ? st->session : "main");
	if (s->c == NULL)
		return; /* already closed by the server */
	double within = st->u.close.within > 0 ? st->u.close.within : x->timeout;
	const struct expect *e = step_first_expect(st);
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

void step_run_drop(struct xctx *x, const struct step *st, struct outcome *out)
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

void step_run_sleep(struct xctx *x, const struct step *st, struct outcome *out)
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

void step_run_find(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = step_session(x, st, out);
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
