/* exec_tls.c — the steps that set TLS up (RFC 2595, RFC 8314): connect (plain, or implicit TLS on the TLS
 * port with the step's versions and ciphers), starttls (STLS, injected octets, a quiet wait, a handshake
 * inside TLS through lib/tls_inner.h), and STLS before a login under login_tls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ssl.h>

#include "lib/line.h"
#include "lib/tls.h"
#include "lib/tls_inner.h"
#include "runner/exec/exec_steps.h"
#include "runner/exec/connlimit.h"
#include "runner/exec/expect.h"
#include "runner/exec/exec_int.h"
#include "runner/step_kinds.h"

/* ---- connect (plain, or implicit TLS on the TLS port) -------------------------------------------------- */

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
	struct p3err err = {0};
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
	struct p3err err = {0};
	enum conn_status cs =
	    conn_start_tls(s->c, ctx, step_sni(x), (int)(x->timeout * 1000), discarded, &err);
	SSL_CTX_free(ctx);
	if (cs != CONN_OK) {
		const char *why = cs == CONN_TIMEOUT ? "timed out"
		                  : cs == CONN_EOF   ? "the server closed the connection"
		                                     : err.msg;
		xtr_note(&x->tr, s->name, "TLS handshake failed: %s", why);
		int silent =
		    cs == CONN_TIMEOUT || cs == CONN_EOF || conn_peer_reset(s->c) || err.errnum == ECONNRESET;
		xs_close(x, s, 0, NULL);
		if (at_connect && (cs == CONN_TIMEOUT || (silent && want != 0)))
			return (void)out_set(
			    out, OUT_ERROR, NULL, NULL, "no TLS session with %s:%d: the handshake %s",
			    x->t->host, x->t->tls_port,
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
			xtr_note(
			    &x->tr, s->name,
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
 * per-address limit meeting our other sessions (step_run_connect, runner/connlimit.h). */
enum { CONNECT_DONE, CONNECT_REFUSED };

static int connect_once(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = xs_get(x, st->session, 1);
	if (s == NULL)
		return out_set(out, OUT_ERROR, NULL, NULL, "scenario error: more than %d sessions",
		               XC_MAX_SESSIONS),
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
		               tls ? "unsupported: the target has no tls_port"
		                   : "unsupported: the target has no plain port"),
		       CONNECT_DONE;
	const struct expect *e = step_first_expect(st);
	xtr_note(&x->tr, s->name, "connect to %s:%d%s", x->t->host, port, tls ? " (implicit TLS)" : "");
	struct p3err err = {0};
	enum conn_status cs = conn_open(&s->c, x->t->host, port, (int)(x->timeout * 1000), &err);
	if (cs != CONN_OK) {
		s->c = NULL;
		xtr_note(&x->tr, s->name, "connect failed: %s", cs == CONN_TIMEOUT ? "timed out" : err.msg);
		out_set(out, OUT_ERROR, NULL, NULL, "cannot connect to %s:%d: %s", x->t->host, port,
		        cs == CONN_TIMEOUT ? "timed out" : err.msg);
		return cs != CONN_TIMEOUT && (err.errnum == ECONNREFUSED || err.errnum == ECONNRESET)
		           ? CONNECT_REFUSED
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
		ge = &step_want_ok;
	expect_response(x, s, ge, 0, NULL, NULL, out);
	if (out->kind == OUT_EXPECT && x->last_line == NULL) {
		/* Setting the session up ended before a complete greeting line, with nothing to judge: the
		 * scenario could not run, as with a refused connection (docs/scenario-language.md
		 * "Verdicts"). A line that came, however wrong, is judged instead. */
		if (out->timed_out) {
			out_set(out, OUT_ERROR, NULL, NULL, "no greeting from %s:%d within %.1f s",
			        x->t->host, port, x->timeout);
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
 * with none open, the scenario ends in an error, never a pass (a server that greets nobody stays an error).
 */
static void connect_retrying(struct xctx *x, const struct step *st, struct outcome *out)
{
	for (int attempt = 1;; attempt++) {
		connlimit_connect_begin();
		int r = connect_once(x, st, out);
		struct xsession *s = xs_get(x, st->session, 0);
		connlimit_connect_end(r == CONNECT_DONE && s && s->c && s->greeting && s->greeting_len >= 3 &&
		                      memcmp(s->greeting, "+OK", 3) == 0);
		if (r != CONNECT_REFUSED)
			return;
		if (s && s->c)
			xs_close(x, s, 0, NULL);
		long mine = conn_open_count_thread(), ours = conn_open_count();
		long long waited;
		if (connlimit_retry(ours, ours - mine, attempt, &waited)) {
			xtr_note(&x->tr, st->session,
			         "the server refused the connection while %ld other session%s of this run "
			         "were open "
			         "(its limit of connections per address?): retry %d after %.1f s",
			         ours, ours == 1 ? "" : "s", attempt, (double)waited / 1000.0);
			outcome_pass(out);
			continue;
		}
		if (attempt == 1 && ours > 0 && ours == mine) {
			/* Only this scenario's own sessions were open: none will close while this one waits,
			 * and a server may lawfully limit connections per address below what the scenario
			 * needs. */
			char was[sizeof out->actual];
			snprintf(was, sizeof was, "%s",
			         out->kind == OUT_ERROR ? out->actual
			         : x->last_line         ? x->last_line
			                                : "");
			out_set(out, OUT_ERROR, NULL, NULL,
			        "the server refused the connection while %ld other session%s of this "
			        "scenario were "
			        "open (a limit on connections per address?): %s",
			        mine, mine == 1 ? "" : "s", was);
		} else if (attempt > 1) {
			/* Retried and still refused: an error (the scenario could not run), never a verdict
			 * on the server's greeting. */
			char was[sizeof out->actual];
			snprintf(was, sizeof was, "%s",
			         out->kind == OUT_ERROR ? out->actual
			         : x->last_line         ? x->last_line
			                                : "");
			out_set(out, OUT_ERROR, NULL, NULL,
			        "the server refused the connection %d times while other sessions of this run "
			        "were "
			        "open (last: %s)",
			        attempt, was);
		}
		return;
	}
}

/* A connect step (connect_retrying); a hold it took while waiting for a slot ends with it. */
void step_run_connect(struct xctx *x, const struct step *st, struct outcome *out)
{
	connect_retrying(x, st, out);
	connlimit_release();
}

/* ---- starttls (RFC 2595 §4) --------------------------------------------------------------------------- */

/* After the handshake: nothing may arrive for `quiet` seconds. With `inject` this is P-STLS-1: the octets
 * that followed STLS in the same write were cleartext, and a server that ran them inside TLS answers
 * them now (the CVE-2011-0411 class of command injection). */
static void quiet_after_tls(struct xctx *x, struct xsession *s, double quiet, int injected,
                            const struct expect *e, struct outcome *out)
{
	struct p3err err = {0};
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
		out_set(out, OUT_CHECK, "R2595-STLS-5",
		        "nothing after STLS's +OK before the client's handshake", "%zu octets after the +OK",
		        early);
		out->desync = 1;
		return;
	}
	xtr_note(&x->tr, s->name, "STLS got +OK while TLS is active: a TLS handshake inside the TLS session");
	SSL_CTX *ctx = client_ctx(x, NULL, out);
	if (ctx == NULL)
		return;
	struct tls_inner_result r;
	struct p3err err = {0};
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
		re = &step_want_ok;
	int injected = st && st->kind == STEP_STARTTLS && st->u.starttls.inject.s;
	double quiet = st && st->kind == STEP_STARTTLS ? st->u.starttls.quiet : 0;
	if (quiet > 0)
		quiet = target_silence(x->t, quiet); /* the profile's silence_min, for a slow link */
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
		int rc = step_send_bytes(x, s, buf, len + 6, out);
		free(buf);
		free(val);
		if (rc != 0)
			return;
	} else if (step_cmdf(x, s, out, "STLS") != 0) {
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
