/* exec_probe.c — what the runner learns about the target once (greeting, APOP timestamp, CAPA before and
 * after TLS), and which scenarios it therefore cannot run (`requires`, needs reset). The probe runs as
 * ordinary steps, so its responses get the same checks and bounds as any scenario's. */
#include "runner/exec.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner/session.h"

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

static int last_ok(struct xctx *x)
{
	const struct var *v = vars_get(&x->vars, "last.status");
	return v && strcmp(v->val, "+OK") == 0;
}

/* CAPA: the lines of its body, or -1 when it is refused or broken. */
static int capa(struct xctx *x, char ***lines, size_t *n)
{
	struct expect e;
	memset(&e, 0, sizeof e);
	e.status = WANT_OK;
	e.multiline = true;
	e.capture_body = (char *)"probe.capa";
	e.closes = e.handshake = e.level = -1;
	struct outcome out;
	command(x, "CAPA", &e, &out);
	if (out.kind != OUT_PASS || !last_ok(x))
		return -1;
	const struct var *v = vars_get(&x->vars, "probe.capa");
	*lines = NULL;
	*n = 0;
	if (v == NULL || v->len == 0)
		return 0;
	size_t cnt = 1;
	for (size_t i = 0; i < v->len; i++)
		cnt += v->val[i] == '\n';
	*lines = calloc(cnt, sizeof **lines);
	if (*lines == NULL)
		return -1;
	/* By length: a NUL inside a line must not hide the lines after it. */
	for (const char *p = v->val, *end = v->val + v->len; p && *n < cnt;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		(*lines)[(*n)++] = strndup(p, nl ? (size_t)(nl - p) : (size_t)(end - p));
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

static int has_capa(char *const *lines, size_t n, const char *tag)
{
	size_t tl = strlen(tag);
	for (size_t i = 0; i < n; i++)
		if (lines[i] && strncasecmp(lines[i], tag, tl) == 0 &&
		    (lines[i][tl] == '\0' || lines[i][tl] == ' '))
			return 1;
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
	vars_init(&x->vars);
	xtr_init(&x->tr, 0, "(probe)");
	char why[3000] = "";
	struct outcome out;

	if (t->port) {
		connect_step(x, 0, &out);
		if (out.kind == OUT_PASS) {
			take_greeting(x, p);
			p->capa_ok = capa(x, &p->capa, &p->ncapa) == 0;
			if (p->capa_ok && has_capa(p->capa, p->ncapa, "STLS")) {
				struct step st;
				memset(&st, 0, sizeof st);
				st.kind = STEP_STARTTLS;
				run(x, &st, &out);
				if (out.kind == OUT_PASS) {
					p->stls_ok = 1;
					if (capa(x, &p->capa_tls, &p->ncapa_tls) != 0) {
						p->capa_tls = NULL;
						p->ncapa_tls = 0;
					}
				}
			}
			quit(x);
		} else if (x->last_line) {
			/* It answered, badly: the scenarios will say how; the run goes on. */
			p->greeting = memdup0(x->last_line, x->last_len);
			p->greeting_len = p->greeting ? x->last_len : 0;
			p->reachable = 1;
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
			if (p->capa_tls == NULL) {
				char **lines;
				size_t n;
				if (capa(x, &lines, &n) == 0) {
					p->capa_tls = lines;
					p->ncapa_tls = n;
				}
			}
			quit(x);
		} else if (!why[0]) {
			snprintf(why, sizeof why, "%s:%d (TLS): %s%s%s", t->host, t->tls_port, out.expected,
			         out.expected[0] ? ": " : "", out.actual);
		}
		xs_close_all(x);
	}
	vars_free(&x->vars);
	xtr_free(&x->tr);
	free(x->last_line);
	free(x);
	if (!p->reachable)
		return p3err_set(err, "the target does not answer: %s", why[0] ? why : "no port configured");
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
	memset(p, 0, sizeof *p);
}

/* Whether `mech` is on a "SASL ..." line. */
static int has_sasl(char *const *lines, size_t n, const char *mech)
{
	size_t ml = strlen(mech);
	for (size_t i = 0; i < n; i++) {
		if (!lines[i] || strncasecmp(lines[i], "SASL", 4) != 0 ||
		    (lines[i][4] != ' ' && lines[i][4] != '\0'))
			continue;
		for (const char *w = lines[i] + 4; *w;) {
			while (*w == ' ')
				w++;
			size_t wl = strcspn(w, " ");
			if (wl == ml && strncasecmp(w, mech, ml) == 0)
				return 1;
			w += wl;
		}
	}
	return 0;
}

int exec_probe_has(const struct probe *p, const char *tag, int tls)
{
	if (p == NULL)
		return 0;
	return tls ? has_capa(p->capa_tls, p->ncapa_tls, tag) : has_capa(p->capa, p->ncapa, tag);
}

/* RFC 2595 §2.2 privacy mode, as the probe saw it: a login offered over TLS and not before it. */
int exec_login_tls(const struct target *t, const struct probe *p, const char *mech)
{
	if (t->login_tls != LOGIN_TLS_AUTO)
		return t->login_tls == LOGIN_TLS_YES;
	if (p == NULL || !p->capa_ok || !p->stls_ok)
		return 0;
	if (mech)
		return !has_sasl(p->capa, p->ncapa, mech) && has_sasl(p->capa_tls, p->ncapa_tls, mech);
	return !has_capa(p->capa, p->ncapa, "USER") && has_capa(p->capa_tls, p->ncapa_tls, "USER");
}

static int requirement_met(const char *r, const struct target *t, const struct probe *p)
{
	/* Tags and mechanism names are compared case-insensitively (RFC 2449 §5, RFC 5034 §5). */
	if (strcasecmp(r, "CAPA") == 0)
		return p->capa_ok;
	if (strcasecmp(r, "APOP") == 0)
		return p->timestamp != NULL;
	if (strcasecmp(r, "TLS-PORT") == 0)
		return t->tls_port != 0;
	if (strcasecmp(r, "TLS") == 0)
		return t->tls_port != 0 || has_capa(p->capa, p->ncapa, "STLS");
	if (strcasecmp(r, "IDLE-TIMEOUT") == 0)
		return t->idle_timeout > 0;
	if (strcasecmp(r, "CLEARTEXT-LOGIN") == 0)
		/* A login without TLS: the profile does not say logins need TLS, and USER is offered before
		 * TLS (or CAPA is not there to say otherwise). */
		return t->login_tls != LOGIN_TLS_YES && (!p->capa_ok || has_capa(p->capa, p->ncapa, "USER"));
	if (strncasecmp(r, "SASL ", 5) == 0)
		return has_sasl(p->capa, p->ncapa, r + 5) || has_sasl(p->capa_tls, p->ncapa_tls, r + 5);
	return has_capa(p->capa, p->ncapa, r) || has_capa(p->capa_tls, p->ncapa_tls, r);
}

const char *exec_skip_reason(const struct scenario *sc, const struct target *t, const struct probe *p,
                             char *buf, size_t bufsize)
{
	/* Safe by default: a scenario that changes a maildrop runs only where it can be reset. */
	if ((sc->fixture || sc->fixture2 || sc->modifies) && !target_can_reset(t)) {
		snprintf(buf, bufsize, "needs reset");
		return buf;
	}
	for (size_t i = 0; i < sc->nrequires; i++) {
		if (!requirement_met(sc->requires[i], t, p)) {
			snprintf(buf, bufsize, "unsupported: %s", sc->requires[i]);
			return buf;
		}
	}
	return NULL;
}
