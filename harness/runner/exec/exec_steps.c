/* exec_steps.c — what the plain wire steps do (docs/scenario-language.md, "Steps"): send, raw, read, login,
 * expect_close, drop, sleep, find. connect and starttls are exec_tls.c, auth exec_auth.c, assert
 * exec_assert.c, the helpers they share exec_wire.c; dispatch is the table's (step_kinds.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/b64.h"
#include "lib/digest.h"
#include "lib/line.h"
#include "runner/exec/exec_steps.h"
#include "runner/exec/expect.h"
#include "runner/exec/pace.h"
#include "runner/exec/exec_int.h"
#include "runner/step_kinds.h"

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
		rc = step_send_bytes(x, s, val, len, out);
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
		/* RFC 1939 §7: USER/PASS is optional; log in the way the target offers (the probe learnt it).
		 */
		const char *mech;
		enum login_way way = exec_login_way(x->p, &mech);
		if (way != LOGIN_WAY_USER) {
			char buf[64];
			xtr_note(&x->tr, s->name,
			         "login with %s: the server offers no USER/PASS (RFC 1939 §7)",
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
		if (step_cmdf(x, s, out, "USER %s", a->user) != 0)
			return;
		expect_response(x, s, NULL, 0, NULL, NULL, out);
		if (out->kind != OUT_PASS)
			return;
		if (check_status_kind(x->last_line, x->last_len) != STATUS_OK) {
			/* Refused at USER: that may be what the step expects (RFC 1939 §7 allows it). */
			expect_judge_last(x, e, out);
			return;
		}
		if (step_cmdf(x, s, out, "PASS %s", a->password) != 0)
			return;
		break;
	case LOGIN_APOP: {
		if (s->timestamp == NULL)
			return (void)out_set(out, OUT_SKIP, NULL, NULL,
			                     "unsupported: the greeting carries no APOP timestamp");
		char hex[DIGEST_MD5_HEX];
		apop_digest(s->timestamp, account_apop_secret(a), hex);
		if (step_cmdf(x, s, out, "APOP %s %s", a->user, hex) != 0)
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
		if (step_cmdf(x, s, out, "AUTH PLAIN %s", enc) != 0)
			return;
		break;
	}
	}
	expect_response(x, s, e ? e : &step_want_ok, 0, NULL, NULL, out);
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
	/* step_run_connect remembers the step it connected with; `again` is gone when this returns. */
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
	xtr_note(
	    &x->tr, s->name,
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
			xtr_note(&x->tr, s->name,
			         "the maildrop stayed busy %.1f s after the drop (lock_retry %.0f s)", spent,
			         limit);
			snprintf(
			    out->actual, sizeof out->actual,
			    "%.900s (still after %d retries over %.1f s since a dropped session: lock_retry)",
			    was, tries, spent);
			return;
		}
		xtr_note(&x->tr, s->name,
		         "login refused while a dropped session of this account may still hold the maildrop: "
		         "retry "
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
		xtr_note(&x->tr, s->name, "logged in after %d retries (%.1f s after the first refusal)",
		         tries, (double)(xc_now_ms() - t0) / 1000.0);
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
	struct p3err err = {0};
	enum conn_status cs = conn_wait_close(s->c, (int)(within * 1000), XC_DISCARD_LIMIT, &data, &err);
	if (data)
		xtr_note(&x->tr, s->name, "%zu octets arrived before the close (discarded)", data);
	if (cs == CONN_EOF) {
		int clean = conn_tls_clean_shutdown(s->c);
		s->eof = 1;
		xs_close(x, s, 0,
		         clean < 0 ? "the server closed the connection"
		         : clean
		             ? "the server closed the connection (TLS close_notify first)"
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
	if (step_cmdf(x, s, out, "STAT") != 0)
		return;
	expect_response(x, s, &step_want_ok, 0, NULL, NULL, out);
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
		if (step_cmdf(x, s, out, use_retr ? "RETR %lu" : "TOP %lu 0", i) != 0)
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
