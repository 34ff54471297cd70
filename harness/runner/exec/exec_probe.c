/* exec_probe.c — what the runner learns about the target once (greeting, APOP timestamp, CAPA before and
 * after TLS), and which scenarios it therefore cannot run (`requires`, needs reset). The probe runs as
 * ordinary steps, so its responses get the same checks and bounds as any scenario's. */
#include "runner/exec/exec.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner/exec/pace.h"
#include "runner/exec/exec_int.h"
#include "runner/step_kinds.h"

static struct scenario probe_sc = {.id = (char *)"(probe)", .title = (char *)"probe", .level = LEVEL_MUST};

static void run(struct xctx *x, struct step *st, struct outcome *out)
{
	st->session = (char *)"probe";
	st->when_op = COND_NONE;
	step_run(x, st, out);
}

static void connect_step(struct xctx *x, int tls, struct outcome *out)
{
	struct step st;
	memset(&st, 0, sizeof st);
	st.kind = STEP_CONNECT;
	st.u.connect.tls = tls;
	st.u.connect.read_greeting = true;
	st.u.connect.verify = -1;
	run(x, &st, out);
}

static void command(struct xctx *x, const char *cmd, struct expect *e, struct outcome *out)
{
	struct step st;
	memset(&st, 0, sizeof st);
	st.kind = STEP_SEND;
	st.u.text.s = (char *)cmd;
	st.u.text.len = strlen(cmd);
	st.expect = e;
	st.n_expect = 1;
	run(x, &st, out);
}

static int last_is(struct xctx *x, const char *status)
{
	const struct var *v = vars_get(&x->vars, "last.status");
	return v && strcmp(v->val, status) == 0;
}

static int last_ok(struct xctx *x)
{
	return last_is(x, "+OK");
}

static int last_err(struct xctx *x)
{
	return last_is(x, "-ERR");
}

/* Record what the probe could not learn: the worst gap, and the first reason given. */
static void note_gap(struct probe *p, enum probe_gap gap, const char *what, const struct outcome *out)
{
	if (gap > p->gap)
		p->gap = gap;
	if (p->gap_why)
		return;
	char buf[2200];
	if (out->kind == OUT_ERROR || !out->expected[0])
		snprintf(buf, sizeof buf, "%s: %s", what, out->actual);
	else
		snprintf(buf, sizeof buf, "%s: expected %s, got: %s%s%s%s", what, out->expected, out->actual,
		         out->req ? " [" : "", out->req ? out->req : "", out->req ? "]" : "");
	p->gap_why = strdup(buf);
}

/* CAPA: 0 with the lines of its body; 1 when refused by a well-formed -ERR (RFC 2449 §5: CAPA is then
 * not supported); -1 when the answer was missing or broken (a timeout, a malformed line, a body that
 * never ended or was too big), with `out` saying how — the capabilities are then unknown, not absent. */
static int capa(struct xctx *x, char ***lines, size_t *n, struct outcome *out)
{
	struct expect e;
	memset(&e, 0, sizeof e);
	e.status = WANT_OK;
	e.multiline = true;
	e.capture_body = (char *)"probe.capa";
	e.closes = e.handshake = e.level = -1;
	*lines = NULL;
	*n = 0;
	command(x, "CAPA", &e, out);
	if (out->kind == OUT_EXPECT && !out->desync && last_err(x))
		return 1;
	if (out->kind != OUT_PASS || !last_ok(x)) {
		if (out->kind == OUT_PASS)
			out_set(out, OUT_EXPECT, NULL, "+OK", "%s", "no status");
		return -1;
	}
	const struct var *v = vars_get(&x->vars, "probe.capa");
	if (v == NULL || v->len == 0)
		return 0;
	size_t cnt = 1;
	for (size_t i = 0; i < v->len; i++)
		cnt += v->val[i] == '\n';
	*lines = calloc(cnt, sizeof **lines);
	if (*lines == NULL) {
		out_set(out, OUT_ERROR, NULL, NULL, "out of memory");
		return -1;
	}
	/* By length: a NUL inside a line must not hide the lines after it. */
	for (const char *p = v->val, *end = v->val + v->len; p && *n < cnt;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		(*lines)[(*n)++] = strndup(p, nl ? (size_t)(nl - p) : (size_t)(end - p));
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

static void quit(struct xctx *x)
{
	struct xsession *s = xs_get(x, "probe", 0);
	if (s && s->c) {
		struct expect e;
		memset(&e, 0, sizeof e);
		e.status = WANT_UNSET;
		e.closes = e.handshake = e.level = -1;
		struct outcome out;
		command(x, "QUIT", &e, &out);
		xs_close(x, s, 0, NULL);
	}
}

static char *memdup0(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static void take_greeting(struct xctx *x, struct probe *p)
{
	struct xsession *s = xs_get(x, "probe", 0);
	if (s && s->greeting && !p->greeting) {
		p->greeting = memdup0(s->greeting, s->greeting_len);
		p->greeting_len = p->greeting ? s->greeting_len : 0;
		p->timestamp = s->timestamp ? strdup(s->timestamp) : NULL;
	}
	p->reachable = 1;
}

int exec_probe(const struct target *t, const struct exec_opts *o, struct probe *p, struct p3err *err)
{
	signal(SIGPIPE, SIG_IGN);
	memset(p, 0, sizeof *p);
	struct xctx *x = calloc(1, sizeof *x);
	if (x == NULL)
		return p3err_set(err, "out of memory");
	x->sc = &probe_sc;
	x->t = t;
	x->o = o;
	x->p = p;
	x->timeout = o->step_timeout > 0 ? o->step_timeout : 5.0;
	x->login_timeout = exec_login_timeout(t, o, x->timeout);
	vars_init(&x->vars);
	xtr_init(&x->tr, 0, "(probe)");
	char why[3000] = "";
	struct outcome out;

	if (t->port) {
		connect_step(x, 0, &out);
		if (out.kind == OUT_PASS) {
			take_greeting(x, p);
			int insync = 1;
			int rc = capa(x, &p->capa, &p->ncapa, &out);
			p->capa_ok = rc == 0;
			if (rc < 0) {
				note_gap(p, GAP_CAPA, "CAPA", &out);
				insync = 0;
			}
			if (p->capa_ok && capa_lists(p->capa, p->ncapa, "STLS")) {
				struct step st;
				memset(&st, 0, sizeof st);
				st.kind = STEP_STARTTLS;
				run(x, &st, &out);
				if (out.kind == OUT_PASS) {
					p->stls_ok = 1;
					if (capa(x, &p->capa_tls, &p->ncapa_tls, &out) < 0) {
						note_gap(p, GAP_TLS, "CAPA after STLS", &out);
						insync = 0;
					}
				} else {
					note_gap(p, GAP_TLS, "STLS", &out);
					insync = 0;
				}
			}
			/* QUIT only on a connection still in step: after a timeout it would wait again. */
			if (insync)
				quit(x);
		} else if (x->last_line) {
			/* It answered, badly: the scenarios will say how; the run goes on, but nothing the
			 * greeting or CAPA would have told is known. */
			p->greeting = memdup0(x->last_line, x->last_len);
			p->greeting_len = p->greeting ? x->last_len : 0;
			p->reachable = 1;
			note_gap(p, GAP_GREETING, "the greeting", &out);
		} else {
			snprintf(why, sizeof why, "%s:%d: %s%s%s", t->host, t->port, out.expected,
			         out.expected[0] ? ": " : "", out.actual);
		}
		xs_close_all(x);
	}
	if (t->tls_port) {
		connect_step(x, 1, &out);
		if (out.kind == OUT_PASS) {
			p->tls_port_ok = 1;
			take_greeting(x, p);
			int insync = 1;
			if (p->capa_tls == NULL) {
				char **lines;
				size_t n;
				int rc = capa(x, &lines, &n, &out);
				if (rc == 0) {
					p->capa_tls = lines;
					p->ncapa_tls = n;
				} else if (rc < 0) {
					note_gap(p, GAP_TLS, "CAPA on the TLS port", &out);
					insync = 0;
				}
			}
			if (insync)
				quit(x);
		} else {
			if (p->capa_tls == NULL)
				note_gap(p, GAP_TLS, "the TLS port", &out);
			if (!why[0])
				snprintf(why, sizeof why, "%s:%d (TLS): %s%s%s", t->host, t->tls_port,
				         out.expected, out.expected[0] ? ": " : "", out.actual);
		}
		xs_close_all(x);
	}
	vars_free(&x->vars);
	xtr_free(&x->tr);
	free(x->last_line);
	free(x);
	/* RFC 2449 §6.5: the delay between logins the server enforces; the runner paces by it (pace.h). */
	int u1 = 0, u2 = 0;
	long d1 = pace_capa_delay(p->capa, p->ncapa, &u1),
	     d2 = pace_capa_delay(p->capa_tls, p->ncapa_tls, &u2);
	p->login_delay = d1 > d2 ? d1 : d2;
	p->login_delay_user = u1 || u2;
	if (!p->reachable) {
		probe_free(p);
		return p3err_set(err, "the target does not answer: %s", why[0] ? why : "no port configured");
	}
	return 0;
}

void probe_free(struct probe *p)
{
	for (size_t i = 0; i < p->ncapa; i++)
		free(p->capa[i]);
	for (size_t i = 0; i < p->ncapa_tls; i++)
		free(p->capa_tls[i]);
	free(p->capa);
	free(p->capa_tls);
	free(p->greeting);
	free(p->timestamp);
	free(p->gap_why);
	free(p->login_mech);
	for (size_t i = 0; i < p->nlearned; i++)
		free(p->learned[i]);
	free(p->learned);
	memset(p, 0, sizeof *p);
}

static int requirement_met(const char *r, const struct target *t, const struct probe *p)
{
	/* Without CAPA, what worked when tried (RFC 1939 §7); USER/PASS refused is not offered. */
	if (strcasecmp(r, "USER") == 0 && p->user_refused)
		return 0;
	if (!p->capa_ok && capa_lists(p->learned, p->nlearned, r))
		return 1;
	/* Tags and mechanism names are compared case-insensitively (RFC 2449 §5, RFC 5034 §5). */
	if (strcasecmp(r, "CAPA") == 0)
		return p->capa_ok;
	if (strcasecmp(r, "APOP") == 0)
		return p->timestamp != NULL;
	if (strcasecmp(r, "TLS-PORT") == 0)
		return t->tls_port != 0;
	if (strcasecmp(r, "TLS") == 0)
		return t->tls_port != 0 || capa_lists(p->capa, p->ncapa, "STLS");
	if (strcasecmp(r, "IDLE-TIMEOUT") == 0)
		return t->idle_timeout > 0;
	if (strcasecmp(r, "CLEARTEXT-LOGIN") == 0)
		/* A login without TLS: the profile does not say logins need TLS, and USER is offered before
		 * TLS (or CAPA is not there to say otherwise). */
		return t->login_tls != LOGIN_TLS_YES &&
		       (!p->capa_ok || capa_lists(p->capa, p->ncapa, "USER"));
	if (strncasecmp(r, "SASL ", 5) == 0)
		return capa_lists_sasl(p->capa, p->ncapa, r + 5) ||
		       capa_lists_sasl(p->capa_tls, p->ncapa_tls, r + 5);
	return capa_lists(p->capa, p->ncapa, r) || capa_lists(p->capa_tls, p->ncapa_tls, r);
}

/* The least gap that leaves requirement `r` undecided: what the probe must have learnt to say it is
 * absent. GAP_NONE: the profile alone decides it. */
static enum probe_gap needs(const char *r, const struct target *t)
{
	if (strcasecmp(r, "TLS-PORT") == 0 || strcasecmp(r, "IDLE-TIMEOUT") == 0)
		return GAP_NONE;
	if (strcasecmp(r, "APOP") == 0)
		return GAP_GREETING;
	if (strcasecmp(r, "CLEARTEXT-LOGIN") == 0)
		return t->login_tls == LOGIN_TLS_YES ? GAP_NONE : GAP_CAPA;
	if (strcasecmp(r, "CAPA") == 0 || strcasecmp(r, "TLS") == 0)
		return GAP_CAPA;
	return GAP_TLS; /* a capability may be offered only after TLS */
}

/* Whether the scenario types USER or PASS itself (or asks the login step for USER/PASS): it is about
 * USER/PASS and cannot run where they are not offered. */
static int about_user_pass(const struct scenario *sc)
{
	for (size_t i = 0; i < sc->nsteps; i++) {
		const struct step *st = &sc->steps[i];
		if (st->kind == STEP_LOGIN && st->u.login.method == LOGIN_USER)
			return 1;
		if ((st->kind == STEP_SEND || st->kind == STEP_RAW) && st->u.text.s && st->u.text.len >= 4 &&
		    (strncasecmp(st->u.text.s, "USER", 4) == 0 ||
		     strncasecmp(st->u.text.s, "PASS", 4) == 0) &&
		    (st->u.text.len == 4 || st->u.text.s[4] == ' ' || st->u.text.s[4] == '\r'))
			return 1;
	}
	return 0;
}

const char *exec_skip_reason(const struct scenario *sc, const struct target *t, const struct probe *p,
                             enum verdict *v, char *buf, size_t bufsize)
{
	*v = VERDICT_SKIP;
	/* Safe by default: a scenario that changes a maildrop runs only where it can be reset. */
	if (scenario_needs_reset(sc) && !target_can_reset(t)) {
		snprintf(buf, bufsize, "needs reset");
		return buf;
	}
	if (p->user_refused && about_user_pass(sc)) {
		snprintf(buf, bufsize,
		         "unsupported: USER/PASS (USER got -ERR in the probe; RFC 1939 §7 makes it "
		         "optional, and logins here use %s)",
		         exec_login_way_name(p, (char[64]){0}, 64));
		return buf;
	}
	for (size_t i = 0; i < sc->nrequires; i++) {
		const char *r = sc->requires[i];
		if (requirement_met(r, t, p))
			continue;
		enum probe_gap need = needs(r, t);
		if (need != GAP_NONE && p->gap >= need) {
			/* Unknown, not absent: the scenario cannot run, and must not pass as skipped. */
			*v = VERDICT_ERROR;
			snprintf(buf, bufsize, "requires %s, which the probe could not learn (%s)", r,
			         p->gap_why ? p->gap_why : "no usable answer");
			return buf;
		}
		snprintf(buf, bufsize, "unsupported: %s", r);
		return buf;
	}
	return NULL;
}
