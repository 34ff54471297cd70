/* exec.c — running one scenario: its context (variables, fixtures, sessions, transcript), its steps in
 * order through the table of step kinds, the end-of-scenario check, and the result, whose verdict comes
 * from exec_decide (exec_verdict.c). */
#include "runner/exec/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/conn.h"
#include "lib/line.h"
#include "runner/exec/exec_int.h"
#include "runner/step_kinds.h"

#define DEFAULT_STEP_TIMEOUT 5.0

/* What the worker's previous scenario left its two accounts (each worker is one thread, owning two
 * accounts for the whole run): a logged-in session dropped, the lock never released. */
static _Thread_local int worker_dropped[2], worker_stuck[2];

void exec_worker_begin(void)
{
	for (int k = 0; k < 2; k++)
		worker_dropped[k] = worker_stuck[k] = 0;
}

/* "step 4 (send: RETR 1)" */
static void describe_step(struct xctx *x, const struct step *st, size_t i)
{
	const struct step_type *t = step_type(st->kind);
	char arg[80] = "";
	const char *sess = st->session && strcmp(st->session, "main") != 0 ? st->session : NULL;
	if (t->describe)
		t->describe(x, st, arg, sizeof arg);
	if (sess)
		snprintf(x->step_desc, sizeof x->step_desc, "step %zu (%s%s%s, session %s)", i + 1, t->name,
		         arg[0] ? ": " : "", arg, sess);
	else
		snprintf(x->step_desc, sizeof x->step_desc, "step %zu (%s%s%s)", i + 1, t->name,
		         arg[0] ? ": " : "", arg);
}

static int set_fixture_vars(struct xctx *x, const struct fixture *fx, const char *prefix)
{
	char name[64];
	snprintf(name, sizeof name, "%s.count", prefix);
	vars_set_long(&x->vars, name, (long long)fx->count);
	snprintf(name, sizeof name, "%s.total", prefix);
	vars_set_long(&x->vars, name, (long long)fx->total);
	for (size_t i = 0; i < fx->count; i++) {
		snprintf(name, sizeof name, "%s.size.%zu", prefix, i + 1);
		vars_set_long(&x->vars, name, (long long)fx->msgs[i].size);
		snprintf(name, sizeof name, "%s.msgid.%zu", prefix, i + 1);
		vars_set_str(&x->vars, name, fx->msgs[i].msgid);
	}
	return 0;
}

/* when: {equal: [A, B]} / {not_equal: [A, B]} */
static int condition_holds(struct xctx *x, const struct step *st, int *holds, struct outcome *out)
{
	*holds = 1;
	if (st->when_op == COND_NONE)
		return 0;
	char *a, *b;
	size_t al, bl;
	if (xc_interp(x, &st->when_a, &a, &al, out) != 0)
		return -1;
	if (xc_interp(x, &st->when_b, &b, &bl, out) != 0) {
		free(a);
		return -1;
	}
	int eq = al == bl && memcmp(a, b, al) == 0;
	*holds = st->when_op == COND_EQUAL ? eq : !eq;
	free(a);
	free(b);
	return 0;
}

static void finish(struct xctx *x, struct result *r, enum verdict v, const struct outcome *o)
{
	const struct scenario *sc = x->sc;
	r->status = v;
	if (o && v != VERDICT_PASS) {
		char reason[2200];
		xc_format_reason(x, o, reason, sizeof reason);
		if (v == VERDICT_SKIP && o->kind == OUT_EXPECT) {
			char tmp[2300];
			if (snprintf(tmp, sizeof tmp, "optional behaviour absent: %s", reason) < 0)
				tmp[0] = '\0';
			r->message = strdup(tmp);
		} else {
			r->message = strdup(reason);
		}
		r->failed_step = strdup(x->step_desc);
		if (o->expected[0])
			r->expected = strdup(o->expected);
		if (o->actual[0])
			r->actual = strdup(o->actual);
	} else if (v == VERDICT_WARN || (v == VERDICT_PASS && x->warned)) {
		r->status = VERDICT_WARN;
		r->message = strdup(x->warn_msg);
		r->failed_step = strdup(x->warn_step);
		r->expected = x->warn_expected[0] ? strdup(x->warn_expected) : NULL;
		r->actual = x->warn_actual[0] ? strdup(x->warn_actual) : NULL;
		o = NULL;
	}
	const char *req = o ? o->req : x->warned ? x->warn_req : NULL;
	if (r->status != VERDICT_PASS && r->status != VERDICT_SKIP) {
		if (req) {
			r->failed_ref = strdup(req);
		} else if (sc->nrefs) {
			size_t len = 1;
			for (size_t i = 0; i < sc->nrefs; i++)
				len += strlen(sc->refs[i]) + 2;
			r->failed_ref = malloc(len);
			if (r->failed_ref) {
				r->failed_ref[0] = '\0';
				for (size_t i = 0; i < sc->nrefs; i++) {
					if (i)
						strcat(r->failed_ref, ", ");
					strcat(r->failed_ref, sc->refs[i]);
				}
			}
		}
	}
}

/* After a step that ran and did not end the scenario: what it leaves its session (and the others) in,
 * for end_check. */
static void note_step(struct xctx *x, const struct step *st)
{
	enum step_leaves leaves = step_type(st->kind)->leaves;
	if (leaves == LEAVES_ALL_UNSETTLED) {
		/* A sleep waits for the server's timers (autologout, LOGIN-DELAY): what they send is theirs.
		 */
		for (size_t i = 0; i < x->nsess; i++)
			x->sess[i].settled = 0;
		return;
	}
	struct xsession *s = xs_get(x, st->session, 0);
	if (s == NULL)
		return;
	switch (leaves) {
	case LEAVES_GREETED:
		s->settled = st->u.connect.read_greeting;
		s->after_raw = 0;
		s->greeted_only = 1;
		break;
	case LEAVES_SENT:
		s->after_raw = 0;
		s->greeted_only = 0;
		s->settled = st->n_expect > 0;
		break;
	case LEAVES_RAW:
		s->after_raw = 1;
		s->greeted_only = 0;
		s->settled = 0;
		break;
	case LEAVES_READ:
		s->settled = !s->after_raw;
		break;
	case LEAVES_SETTLED:
		s->after_raw = 0;
		s->greeted_only = 0;
		s->settled = 1;
		break;
	case LEAVES_UNSETTLED:
		s->settled = 0;
		break;
	case LEAVES_AS_IS:
	case LEAVES_ALL_UNSETTLED:
		break;
	}
}

/* At the end of a scenario that passed: octets that came after the last response on a session in step
 * were never asked for — a reply sent twice, a second greeting: already buffered, or arriving within
 * XC_END_POLL_MS. A close is fine (QUIT's, or an autologout's). R1939-GEN-2 when nothing was sent since
 * the greeting ("one greeting line, then nothing until a command"); else R1939-ML-1, whose test names
 * exactly this: no stray bytes between a reply and the next (RFC 1939 §3: a response answers a command).
 * Returns 0, or -1 with `out` the failure. */
static int end_check(struct xctx *x, struct outcome *out)
{
	/* One window for all sessions, so the check costs a scenario XC_END_POLL_MS at most. */
	long long deadline = xc_now_ms() + XC_END_POLL_MS;
	for (size_t i = 0; i < x->nsess; i++) {
		struct xsession *s = &x->sess[i];
		if (s->c == NULL || !s->settled)
			continue;
		struct p3err err = {0};
		/* A server that wrote twice may be holding the second write back (Nagle) until the first is
		 * acknowledged: acknowledge now rather than after the delayed-ACK timer. */
		conn_ack_now(s->c);
		enum conn_status cs = conn_poll_data(s->c, xc_left(deadline), &err);
		if (cs == CONN_EOF)
			s->eof = 1;
		if (cs != CONN_OK)
			continue;
		char shown[300];
		const char *line;
		struct line ln;
		size_t have = conn_buffered(s->c);
		if (xs_read_line(x, s, xc_now_ms() + 100, 1, &line, &ln, &err) == CONN_OK)
			line_escape(line, ln.len, shown, sizeof shown);
		else
			snprintf(shown, sizeof shown, "%zu octets", have);
		xtr_note(&x->tr, s->name, "end of scenario: octets nobody asked for");
		if (strcmp(s->name, "main") == 0)
			snprintf(x->step_desc, sizeof x->step_desc, "end of scenario");
		else
			snprintf(x->step_desc, sizeof x->step_desc, "end of scenario (session %s)", s->name);
		return out_set(out, OUT_CHECK, s->greeted_only ? "R1939-GEN-2" : "R1939-ML-1",
		               s->greeted_only ? "one greeting line, then nothing until a command"
		                               : "nothing after the last response until the next command",
		               "%s", shown);
	}
	return 0;
}

void exec_result_meta(const struct scenario *sc, struct result *out)
{
	memset(out, 0, sizeof *out);
	result_identity(out, sc);
}

void exec_scenario(const struct scenario *sc, const struct target *t, const struct account acct[2],
                   const struct probe *p, const struct exec_opts *o, struct result *out)
{
	exec_result_meta(sc, out);

	struct xctx *x = calloc(1, sizeof *x);
	if (x == NULL) {
		out->status = VERDICT_ERROR;
		out->message = strdup("out of memory");
		return;
	}
	x->sc = sc;
	x->t = t;
	x->o = o;
	x->p = p;
	x->acct = acct;
	x->timeout = sc->timeout > 0       ? sc->timeout
	             : o->step_timeout > 0 ? o->step_timeout
	                                   : DEFAULT_STEP_TIMEOUT;
	x->login_timeout = exec_login_timeout(t, o, x->timeout);
	x->unpaced_sends = scenario_has_tag(sc, "login-delay");
	for (int k = 0; k < 2; k++) {
		x->dropped[k] = worker_dropped[k];
		x->lock_stuck[k] = worker_stuck[k];
	}
	vars_init(&x->vars);
	xtr_init(&x->tr, o->live_transcript, sc->id);
	snprintf(x->step_desc, sizeof x->step_desc, "set-up");

	vars_set_str(&x->vars, "user", acct[0].user);
	vars_set_str(&x->vars, "password", acct[0].password);
	vars_set_str(&x->vars, "user2", acct[1].user);
	vars_set_str(&x->vars, "password2", acct[1].password);
	vars_set_str(&x->vars, "apop_secret", account_apop_secret(&acct[0]));
	vars_set_str(&x->vars, "apop_secret2", account_apop_secret(&acct[1]));
	vars_set_long(&x->vars, "idle_timeout", t->idle_timeout);
	vars_set_str(&x->vars, "delivery", target_delivery(t) == DELIVERY_AGENT ? "agent" : "verbatim");
	vars_set_str(&x->vars, "last.status", "");
	vars_set_str(&x->vars, "last.line", "");
	xc_set_session_vars(x, NULL);

	struct outcome oc;
	outcome_pass(&oc);
	enum verdict v = VERDICT_PASS;
	int stopped = 0;
	struct p3err err = {0};
	const char *fixtures_dir = o->fixtures_dir ? o->fixtures_dir : "fixtures";
	if ((sc->fixture && fixture_get(fixtures_dir, sc->fixture, &x->fx, &err) != 0) ||
	    (sc->fixture2 && fixture_get(fixtures_dir, sc->fixture2, &x->fx2, &err) != 0)) {
		out_set(&oc, OUT_ERROR, NULL, NULL, "%s", err.msg);
		v = VERDICT_ERROR;
		stopped = 1;
	}
	/* RFC 1939 §6: a dropped session keeps its lock until the server notices. What the worker's previous
	 * scenario dropped is waited out here, visibly, before this scenario logs in at all. */
	for (int k = 0; k < 2 && !stopped; k++) {
		if (!x->dropped[k] || x->lock_stuck[k])
			continue;
		double took = exec_account_settle(t, o, p, &acct[k]);
		if (took < 0) {
			x->lock_stuck[k] = 1;
			xtr_note(
			    &x->tr, NULL,
			    "set-up: %s's maildrop, whose session the previous scenario dropped, stayed busy "
			    "for lock_retry (%.0f s)",
			    acct[k].user, target_lock_retry(t));
		} else {
			x->dropped[k] = 0;
			if (took >= 0.5)
				xtr_note(&x->tr, NULL,
				         "set-up: %s's maildrop, whose session the previous scenario "
				         "dropped, was free "
				         "after %.1f s",
				         acct[k].user, took);
		}
	}
	if (x->fx)
		set_fixture_vars(x, x->fx, "fixture");
	if (x->fx2)
		set_fixture_vars(x, x->fx2, "fixture2");

	for (size_t i = 0; i < sc->nsteps && !stopped; i++) {
		const struct step *st = &sc->steps[i];
		describe_step(x, st, i);
		int holds;
		if (condition_holds(x, st, &holds, &oc) != 0) {
			v = exec_decide(&oc, &stopped);
			break;
		}
		if (!holds) {
			xtr_note(&x->tr, NULL, "%s skipped: its condition does not hold", x->step_desc);
			continue;
		}
		if (st->note)
			xtr_note(&x->tr, st->session, "%s: %s", x->step_desc, st->note);
		xc_set_session_vars(x, xs_get(x, st->session, 0));
		outcome_pass(&oc);
		step_run(x, st, &oc);
		if (oc.kind == OUT_PASS || xc_soft(x, &oc) == 0) {
			note_step(x, st);
			continue;
		}
		v = exec_decide(&oc, &stopped);
		stopped = 1;
	}
	if (!stopped && v == VERDICT_PASS && end_check(x, &oc) != 0) {
		v = VERDICT_FAIL;
		stopped = 1;
	}
	/* Sessions end deterministically: QUIT and the server's close, or, for a session out of step, a close
	 * that the next login on its account may have to wait out (worker_dropped). */
	xs_end_sessions(x, stopped && oc.desync);
	for (int k = 0; k < 2; k++) {
		worker_dropped[k] = x->dropped[k];
		worker_stuck[k] = x->lock_stuck[k];
	}
	xs_close_all(x);
	finish(x, out, v, stopped ? &oc : NULL);
	if (x->tr.dropped)
		xtr_note(&x->tr, NULL, "transcript cut: %zu more lines not kept", x->tr.dropped);
	out->duration_ms = (long)xtr_ms(&x->tr);
	out->login_delay_ms = x->login_delay_ms;
	out->transcript = x->tr.v;
	out->ntranscript = x->tr.n;
	x->tr.v = NULL;
	x->tr.n = 0;
	xtr_free(&x->tr);
	vars_free(&x->vars);
	free(x->last_line);
	free(x);
}
