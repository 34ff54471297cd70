/* exec_account.c — the probe's logins, before any scenario: which way the target lets a client log in
 * (USER/PASS, else APOP, else a SASL mechanism the runner speaks: RFC 1939 §7 makes USER/PASS optional),
 * every account of the profile logged in once that way (so a wrong password or a wrong login_tls stops the
 * run with one plain sentence instead of a hundred failures citing RFC rows), and on a server without CAPA
 * which optional commands (USER, TOP, UIDL) work when tried (RFC 1939 §7: -ERR means not implemented). */
#include "runner/exec/exec.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/conn.h"
#include "runner/fixture.h"
#include "runner/exec/pace.h"
#include "runner/sasl_client.h"
#include "runner/exec/exec_int.h"
#include "runner/step_kinds.h"

/* At most this many accounts are logged in at once (a server may limit connections per address). */
#define ACCOUNT_CHECK_THREADS 4

static struct scenario check_sc = {
    .id = (char *)"(probe: accounts)", .title = (char *)"probe", .level = LEVEL_MUST};

/* SASL mechanisms a login may use when the target offers neither USER nor APOP, best first. */
static const char *const login_mechs[] = {"SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"};

/* ---- running steps in a probe context -------------------------------------------------------------- */

static struct xctx *ctx_new(const struct target *t, const struct exec_opts *o, const struct probe *p,
                            const struct account acct[2])
{
	struct xctx *x = calloc(1, sizeof *x);
	if (x == NULL)
		return NULL;
	x->sc = &check_sc;
	x->t = t;
	x->o = o;
	x->p = p;
	x->acct = acct;
	x->timeout = o->step_timeout > 0 ? o->step_timeout : 5.0;
	x->login_timeout = exec_login_timeout(t, o, x->timeout);
	vars_init(&x->vars);
	xtr_init(&x->tr, 0, check_sc.id);
	return x;
}

static void ctx_free(struct xctx *x)
{
	xs_close_all(x);
	vars_free(&x->vars);
	xtr_free(&x->tr);
	free(x->last_line);
	free(x);
}

static void run(struct xctx *x, struct step *st, struct outcome *out)
{
	st->session = (char *)"account";
	st->when_op = COND_NONE;
	step_run(x, st, out);
}

static void connect_step(struct xctx *x, struct outcome *out)
{
	struct step st;
	memset(&st, 0, sizeof st);
	st.kind = STEP_CONNECT;
	st.u.connect.tls = x->t->port == 0;
	st.u.connect.read_greeting = true;
	st.u.connect.verify = -1;
	run(x, &st, out);
	/* The step lives on this stack: nothing may reconnect by it later (a login retry). The probe
	 * handles its own retries ([IN-USE], [LOGIN-DELAY]) around whole account checks. */
	struct xsession *s = xs_get(x, "account", 0);
	if (s)
		s->connect_step = NULL;
}

static void send_step(struct xctx *x, const char *cmd, const struct expect *e, struct outcome *out)
{
	struct step st;
	memset(&st, 0, sizeof st);
	st.kind = STEP_SEND;
	st.u.text.s = (char *)cmd;
	st.u.text.len = strlen(cmd);
	st.expect = (struct expect *)e;
	st.n_expect = 1;
	run(x, &st, out);
}

static void login_step(struct xctx *x, struct outcome *out)
{
	struct step st;
	memset(&st, 0, sizeof st);
	st.kind = STEP_LOGIN;
	st.u.login.method = LOGIN_OFFERED;
	st.u.login.account = 1;
	run(x, &st, out);
}

static int last_status(struct xctx *x, const char *status)
{
	const struct var *v = vars_get(&x->vars, "last.status");
	return v && strcmp(v->val, status) == 0;
}

/* QUIT, then the server's close (RFC 1939 §6: it releases the maildrop's lock and closes), so the first
 * scenario finds the maildrop free. */
static void quit(struct xctx *x)
{
	struct xsession *s = xs_get(x, "account", 0);
	if (s == NULL || s->c == NULL)
		return;
	struct expect any = {.status = WANT_UNSET, .closes = -1, .handshake = -1, .level = -1};
	struct outcome out;
	send_step(x, "QUIT", &any, &out);
	if (out.kind == OUT_PASS && s->c)
		xs_await_close(x, s, "probe", 1);
	xs_close(x, s, 0, NULL);
}

/* The reply that refused the login, for the sentence: the last line read, else what the outcome says. */
static void refusal(struct xctx *x, const struct outcome *out, char *buf, size_t n)
{
	if (out->timed_out || x->last_line == NULL)
		snprintf(buf, n, "%.200s", out->actual[0] ? out->actual : "no reply");
	else
		line_escape(x->last_line, x->last_len, buf, n);
}

/* ---- LOGIN-DELAY (RFC 2449 §6.5) --------------------------------------------------------------------- */

/* Logged in as acct: the LOGIN-DELAY CAPA announces now (TRANSACTION state) is the one that applies to
 * this user, and may be lower than the one announced before login (the largest for any user). Asked only
 * where there is something to learn (CAPA answered, a delay announced); what it says replaces the earlier
 * value for this account, and without an answer the earlier (larger) value stays. */
static void learn_delay(struct xctx *x, const struct probe *p, const struct account *acct)
{
	if (!p->capa_ok || p->login_delay <= 0)
		return;
	struct expect e = {.status = WANT_OK,
	                   .multiline = true,
	                   .capture_body = (char *)"probe.capa_user",
	                   .closes = -1,
	                   .handshake = -1,
	                   .level = -1};
	struct outcome out;
	send_step(x, "CAPA", &e, &out);
	const struct var *v = vars_get(&x->vars, "probe.capa_user");
	if (out.kind != OUT_PASS || v == NULL)
		return;
	char *copy = strndup(v->val, v->len), *lines[64];
	size_t n = 0;
	for (char *q = copy, *nl; q && n < sizeof lines / sizeof lines[0]; q = nl ? nl + 1 : NULL) {
		nl = strchr(q, '\n');
		if (nl)
			*nl = '\0';
		lines[n++] = q;
	}
	long d = copy ? pace_capa_delay(lines, n, NULL) : -1;
	free(copy);
	if (d >= 0) {
		pace_set_delay(pace_global(), x->t, acct->user, d * 1000);
		if (d != p->login_delay)
			xtr_note(&x->tr, "account", "LOGIN-DELAY %ld s applies to %s (before login: %ld s)",
			         d, acct->user, p->login_delay);
	}
}

/* A refusal with [LOGIN-DELAY] (RFC 2449 §8.1.1): the account logged in too recently (an earlier run, a
 * mail client of the account). Not a profile mistake: waited out once (the delay that applies counted
 * from now, as the last login's time is unknown; without an announced delay login_delay_max), then tried
 * again. Returns whether to try again, having slept. */
static int delay_again(const struct target *t, const struct account *acct, const char *why, int *tried)
{
	if (*tried || strcasestr(why, "[LOGIN-DELAY]") == NULL)
		return 0;
	*tried = 1;
	long d = pace_delay(pace_global(), t, acct->user);
	double max = target_login_delay_max(t);
	double wait = d > 0 ? (double)(d + PACE_MARGIN_MS) / 1000.0 : max;
	if (wait > max)
		wait = max;
	fprintf(stderr,
	        "pop3spec: %s: login refused with [LOGIN-DELAY]: waiting %.0f s before trying again\n",
	        acct->user, wait);
	return xc_sleep_ms((long long)(wait * 1000)) == 0;
}

/* ---- one account ------------------------------------------------------------------------------------- */

/* Log in as acct the way the probe decided; 0, or -1 with a plain sentence in why. */
static int check_account(const struct target *t, const struct exec_opts *o, const struct probe *p,
                         const struct account *acct, int learn, char *why, size_t whysize)
{
	struct account two[2] = {*acct, *acct};
	struct xctx *x = ctx_new(t, o, p, two);
	if (x == NULL)
		return snprintf(why, whysize, "out of memory"), -1;
	struct outcome out;
	int rc = 0;
	connect_step(x, &out);
	if (out.kind != OUT_PASS) {
		/* Not a profile mistake: the scenarios will meet it and say what it is. */
		ctx_free(x);
		return 0;
	}
	login_step(x, &out);
	if (out.kind == OUT_SKIP) {
		ctx_free(x);
		return 0;
	}
	if (out.kind != OUT_PASS) {
		char got[600], wayb[64];
		refusal(x, &out, got, sizeof got);
		const char *way = exec_login_way_name(p, wayb, sizeof wayb);
		if (!out.timed_out && !out.desync && last_status(x, "-ERR"))
			rc = snprintf(
			    why, whysize,
			    "cannot log in as %.100s (%.40s): the server answered '%.200s'. Check the "
			    "account's user "
			    "name and password in the profile%s",
			    acct->user, way, got,
			    exec_login_tls(t, p, NULL) ? "" : ", and whether logins need TLS (login_tls)");
		else
			rc = 0; /* a broken reply is the server's deviation, for the scenarios to report */
		rc = rc > 0 ? -1 : 0;
	}
	if (rc == 0 && out.kind == OUT_PASS) {
		if (learn)
			learn_delay(x, p, acct);
		quit(x);
	}
	ctx_free(x);
	return rc;
}

/* A refusal with [IN-USE] (RFC 2449 §8.1.2): the credentials were right and another session holds the
 * maildrop (a mail client of the account, a session an interrupted run dropped). Not a profile mistake:
 * waited for with backoff up to lock_retry. Returns whether to try again, sleeping first. */
static int busy_again(const struct target *t, const char *why, long long t0, double *wait)
{
	if (strcasestr(why, "[IN-USE]") == NULL)
		return 0;
	double spent = (double)(xc_now_ms() - t0) / 1000.0;
	if (spent + *wait > target_lock_retry(t))
		return 0;
	struct timespec ts = {(time_t)*wait, (long)((*wait - (double)(time_t)*wait) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	*wait = *wait * 2 > 2.0 ? 2.0 : *wait * 2;
	return 1;
}

/* The sentence for a maildrop that stayed busy. */
static void busy_sentence(const struct target *t, const struct account *acct, char *why, size_t whysize)
{
	if (strcasestr(why, "[IN-USE]") == NULL)
		return;
	snprintf(
	    why, whysize,
	    "cannot log in as %.100s: its maildrop stayed locked by another session for %.0f s (the server "
	    "kept answering [IN-USE]; lock_retry). Close the account's other clients, or wait for a session "
	    "an interrupted run left, and run again",
	    acct->user, target_lock_retry(t));
}

struct pool {
	const struct target *t;
	const struct exec_opts *o;
	const struct probe *p;
	pthread_mutex_t lock;
	size_t next;
	char why[1024];
	int failed;
	/* The accounts to check (indices into t->accounts) and how many; the second pass checks only those
	 * the first deferred: refused with [LOGIN-DELAY] (an earlier run logged in moments ago), waited out
	 * once for all of them rather than one after the other. */
	size_t *todo;
	size_t ntodo;
	int second;
	size_t *deferred;
	size_t ndeferred;
	long long first_refusal;
};

static void *check_thread(void *arg)
{
	struct pool *pl = arg;
	for (;;) {
		pthread_mutex_lock(&pl->lock);
		size_t k = pl->failed ? pl->ntodo : pl->next++;
		pthread_mutex_unlock(&pl->lock);
		if (k >= pl->ntodo)
			return NULL;
		size_t i = pl->todo[k];
		char why[1024];
		const struct account *a = &pl->t->accounts[i];
		long long t0 = xc_now_ms();
		double wait = 0.25;
		int rc;
		while ((rc = check_account(pl->t, pl->o, pl->p, a, 1, why, sizeof why)) != 0 &&
		       busy_again(pl->t, why, t0, &wait))
			;
		if (rc != 0 && !pl->second && strcasestr(why, "[LOGIN-DELAY]")) {
			pthread_mutex_lock(&pl->lock);
			if (pl->ndeferred == 0)
				pl->first_refusal = xc_now_ms();
			pl->deferred[pl->ndeferred++] = i;
			pthread_mutex_unlock(&pl->lock);
			continue;
		}
		if (rc != 0) {
			busy_sentence(pl->t, a, why, sizeof why);
			pthread_mutex_lock(&pl->lock);
			if (!pl->failed)
				snprintf(pl->why, sizeof pl->why, "%s", why);
			pl->failed = 1;
			pthread_mutex_unlock(&pl->lock);
		}
	}
}

/* ---- the first account: what logging in teaches ------------------------------------------------------ */

static void learn(struct probe *p, const char *tag)
{
	char **v = realloc(p->learned, (p->nlearned + 1) * sizeof *v);
	if (v == NULL)
		return;
	p->learned = v;
	if ((v[p->nlearned] = strdup(tag)) != NULL)
		p->nlearned++;
}

/* The SASL mechanism a login uses when USER is refused and the greeting has no APOP timestamp. */
static void pick_mech(struct probe *p)
{
	for (size_t i = 0; i < sizeof login_mechs / sizeof login_mechs[0]; i++)
		if ((capa_lists_sasl(p->capa, p->ncapa, login_mechs[i]) ||
		     capa_lists_sasl(p->capa_tls, p->ncapa_tls, login_mechs[i])) &&
		    sasl_client_supports(login_mechs[i])) {
			p->login_mech = strdup(login_mechs[i]);
			return;
		}
}

/* A command's reply in TRANSACTION: 1 +OK (its body read), 0 -ERR, -1 neither (out says why). */
static int try_command(struct xctx *x, const char *cmd, struct outcome *out)
{
	struct expect e = {
	    .status = WANT_UNSET, .multiline = true, .closes = -1, .handshake = -1, .level = -1};
	send_step(x, cmd, &e, out);
	if (out->kind != OUT_PASS)
		return -1;
	return last_status(x, "+OK") ? 1 : last_status(x, "-ERR") ? 0 : -1;
}

/* Without CAPA (a well-formed -ERR to it, RFC 2449 §5), learn TOP and UIDL by trying them (RFC 1939 §7:
 * optional commands; -ERR means not implemented). TOP needs a message: the account is reset to the
 * fixture "one" first when the target can reset. */
static void learn_optional(struct xctx *x, struct probe *p)
{
	struct outcome out;
	if (try_command(x, "UIDL", &out) == 1)
		learn(p, "UIDL");
	struct expect e = {.status = WANT_OK, .closes = -1, .handshake = -1, .level = -1};
	send_step(x, "STAT", &e, &out);
	unsigned long count = 0;
	if (out.kind != OUT_PASS || x->last_line == NULL || sscanf(x->last_line, "+OK %lu", &count) != 1)
		return;
	if (count == 0)
		return; /* TOP cannot be told from "no such message" on an empty maildrop */
	if (try_command(x, "TOP 1 0", &out) == 1)
		learn(p, "TOP");
}

/* A login the probe could not finish for a reason that is no profile mistake (a reply it could not read, a
 * close): the scenarios will report what the server sent, but the other accounts go unchecked, so the
 * caller says so on stderr. Frees x; returns 1. */
static int inconclusive(struct xctx *x, const struct account *acct, const char *where,
                        const struct outcome *out, char *why, size_t whysize)
{
	char got[600];
	refusal(x, out, got, sizeof got);
	snprintf(why, whysize, "the probe's login as %.100s stopped at %s ('%.300s')", acct->user, where,
	         got);
	ctx_free(x);
	return 1;
}

/* Log in as the first account, trying USER first: a -ERR to USER (where no CAPA after TLS lists it, which
 * would make it login_tls's business) means USER/PASS is not offered, and the probe picks APOP or SASL.
 * 0 logged in; 1 the server did not answer or answered badly (the scenarios will say how; the other
 * accounts are not tried); -1 refused, with the sentence. */
static int first_account(const struct target *t, const struct exec_opts *o, struct probe *p, char *why,
                         size_t whysize)
{
	const struct account *acct = &t->accounts[0];
	struct account two[2] = {*acct, *acct};
	int nocapa = !p->capa_ok && p->gap == GAP_NONE;
	if (nocapa && target_can_reset(t)) {
		const struct fixture *fx;
		struct p3err err = {0};
		if (fixture_get(o->fixtures_dir ? o->fixtures_dir : "fixtures", "one", &fx, &err) == 0)
			target_reset(t, acct, fx->dir, &err); /* best effort: TOP stays unknown without it */
	}
	struct xctx *x = ctx_new(t, o, p, two);
	if (x == NULL)
		return snprintf(why, whysize, "out of memory"), -1;
	struct outcome out;
	connect_step(x, &out);
	if (out.kind != OUT_PASS) {
		return inconclusive(x, acct, "the greeting", &out, why, whysize);
	}
	struct step st;
	memset(&st, 0, sizeof st);
	st.kind = STEP_STARTTLS;
	st.u.starttls.for_login = true;
	run(x, &st, &out);
	if (out.kind != OUT_PASS) {
		return inconclusive(x, acct, "STLS", &out, why, whysize);
	}
	struct xsession *s = xs_get(x, "account", 0);
	int in_tls = s && s->c && conn_is_tls(s->c);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "USER %s", acct->user);
	struct expect any = {.status = WANT_UNSET, .closes = -1, .handshake = -1, .level = -1};
	send_step(x, cmd, &any, &out);
	if (out.kind != OUT_PASS) {
		return inconclusive(x, acct, "USER", &out, why, whysize);
	}
	int rc = 0;
	const char *mech;
	if (last_status(x, "-ERR")) {
		char got[600];
		refusal(x, &out, got, sizeof got);
		if (strcasestr(got, "[LOGIN-DELAY]")) {
			/* RFC 2449 §8.1.1: USER may be refused for a login too soon; that says nothing about
			 * USER/PASS being offered. */
			ctx_free(x);
			return snprintf(why, whysize, "cannot log in as %.100s: USER got '%.200s'",
			                acct->user, got),
			       -1;
		}
		if (!in_tls && capa_lists(p->capa_tls, p->ncapa_tls, "USER") &&
		    !capa_lists(p->capa, p->ncapa, "USER")) {
			ctx_free(x);
			return snprintf(why, whysize,
			                "cannot log in as %.100s: USER got '%.200s' in cleartext, and the "
			                "server offers USER "
			                "only over TLS (its CAPA after STLS lists USER). The profile says "
			                "login_tls: "
			                "false; remove it or set it to auto or true",
			                acct->user, got),
			       -1;
		}
		if (capa_lists(p->capa, p->ncapa, "USER") ||
		    (in_tls && capa_lists(p->capa_tls, p->ncapa_tls, "USER"))) {
			/* USER is offered: the name is what the server refused. */
			ctx_free(x);
			return snprintf(why, whysize,
			                "cannot log in as %.100s: USER got '%.200s', though CAPA lists USER. "
			                "Check "
			                "the account's user name in the profile",
			                acct->user, got),
			       -1;
		}
		/* RFC 1939 §7: USER/PASS is optional. Log in the other ways the server offers. */
		p->user_refused = 1;
		pick_mech(p);
		xs_close_all(x);
		connect_step(x, &out);
		if (out.kind == OUT_PASS)
			login_step(x, &out);
		if (out.kind == OUT_PASS) {
			/* logged in */
		} else if (exec_login_way(p, &mech) == LOGIN_WAY_USER) {
			rc = -1;
			snprintf(
			    why, whysize,
			    "cannot log in as %.100s: USER got '%.200s', and the server offers neither APOP "
			    "(no timestamp "
			    "in its greeting) nor a SASL mechanism the runner speaks (%s, %s, %s, %s, %s)",
			    acct->user, got, login_mechs[0], login_mechs[1], login_mechs[2], login_mechs[3],
			    login_mechs[4]);
		} else if (!out.desync && last_status(x, "-ERR")) {
			char wayb[64], got2[600];
			refusal(x, &out, got2, sizeof got2);
			rc = -1;
			snprintf(why, whysize,
			         "cannot log in as %.100s (%.40s; USER got '%.200s'): the server answered "
			         "'%.200s'. Check the "
			         "account's user name and password in the profile",
			         acct->user, exec_login_way_name(p, wayb, sizeof wayb), got, got2);
		}
		if (out.kind != OUT_PASS) {
			if (rc == 0)
				return inconclusive(x, acct, "the login", &out, why, whysize);
			ctx_free(x);
			return rc;
		}
	} else {
		if (nocapa)
			learn(p, "USER");
		snprintf(cmd, sizeof cmd, "PASS %s", acct->password);
		send_step(x, cmd, &any, &out);
		if (out.kind == OUT_PASS && last_status(x, "-ERR")) {
			char got[600];
			refusal(x, &out, got, sizeof got);
			ctx_free(x);
			return snprintf(why, whysize,
			                "cannot log in as %.100s (USER/PASS): PASS got '%.200s'. Check the "
			                "account's password "
			                "in the profile",
			                acct->user, got),
			       -1;
		}
		if (out.kind != OUT_PASS || !last_status(x, "+OK")) {
			return inconclusive(x, acct, "PASS", &out, why, whysize);
		}
	}
	if (nocapa)
		learn_optional(x, p);
	learn_delay(x, p, acct);
	quit(x);
	ctx_free(x);
	return rc;
}

/* Check pl->todo with up to ACCOUNT_CHECK_THREADS threads. */
static void check_pass(struct pool *pl)
{
	pthread_t tids[ACCOUNT_CHECK_THREADS];
	size_t n = 0;
	for (; n < ACCOUNT_CHECK_THREADS && n < pl->ntodo; n++)
		if (pthread_create(&tids[n], NULL, check_thread, pl) != 0)
			break;
	if (n == 0)
		check_thread(pl);
	for (size_t i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
}

double exec_account_settle(const struct target *t, const struct exec_opts *o, const struct probe *p,
                           const struct account *acct)
{
	char why[1024];
	long long t0 = xc_now_ms();
	double wait = 0.25;
	int rc, delayed = 0;
	while ((rc = check_account(t, o, p, acct, 0, why, sizeof why)) != 0 &&
	       (delay_again(t, acct, why, &delayed) || busy_again(t, why, t0, &wait)))
		;
	if (rc != 0 && strcasestr(why, "[IN-USE]"))
		return -1;
	return (double)(xc_now_ms() - t0) / 1000.0;
}

int exec_probe_accounts(const struct target *t, const struct exec_opts *o, struct probe *p, struct p3err *err)
{
	if (!p->reachable || t->naccounts == 0)
		return 0;
	char why[1024] = "";
	/* Every account's login clock (pace.h), by the delay announced before login until its own login
	 * says which applies to it. */
	for (size_t i = 0; i < t->naccounts; i++)
		pace_set_delay(pace_global(), t, t->accounts[i].user,
		               p->login_delay > 0 ? p->login_delay * 1000 : 0);
	long long t0 = xc_now_ms();
	double wait = 0.25;
	int first, delayed = 0;
	while ((first = first_account(t, o, p, why, sizeof why)) < 0 &&
	       (delay_again(t, &t->accounts[0], why, &delayed) || busy_again(t, why, t0, &wait)))
		;
	if (first < 0) {
		busy_sentence(t, &t->accounts[0], why, sizeof why);
		return p3err_set(err, "%s", why);
	}
	if (first > 0) {
		fprintf(stderr,
		        "pop3spec: %s; the accounts' logins are not checked, the scenarios will say what "
		        "the server sent\n",
		        why);
		return 0;
	}
	if (t->naccounts < 2)
		return 0;
	struct pool pl = {.t = t, .o = o, .p = p};
	pl.todo = calloc(t->naccounts, sizeof *pl.todo);
	pl.deferred = calloc(t->naccounts, sizeof *pl.deferred);
	if (pl.todo == NULL || pl.deferred == NULL) {
		free(pl.todo);
		free(pl.deferred);
		return p3err_set(err, "out of memory");
	}
	for (size_t i = 1; i < t->naccounts; i++)
		pl.todo[pl.ntodo++] = i;
	pthread_mutex_init(&pl.lock, NULL);
	check_pass(&pl);
	if (!pl.failed && pl.ndeferred) {
		/* One wait for every account refused with [LOGIN-DELAY]: the delay that applies counted from
		 * the first refusal (their last logins are unknown), at most login_delay_max. */
		long d = pace_max_delay(pace_global(), t);
		double max = target_login_delay_max(t);
		double pause = d > 0 ? (double)(d + PACE_MARGIN_MS) / 1000.0 : max;
		if (pause > max)
			pause = max;
		long long left = pl.first_refusal + (long long)(pause * 1000) - xc_now_ms();
		fprintf(stderr,
		        "pop3spec: %zu account%s refused with [LOGIN-DELAY] (logged in moments ago, RFC 2449 "
		        "§8.1.1): waiting %.0f s before trying again\n",
		        pl.ndeferred, pl.ndeferred == 1 ? "" : "s", left > 0 ? (double)left / 1000.0 : 0.0);
		if (left <= 0 || xc_sleep_ms(left) == 0) {
			memcpy(pl.todo, pl.deferred, pl.ndeferred * sizeof *pl.todo);
			pl.ntodo = pl.ndeferred;
			pl.next = 0;
			pl.second = 1;
			check_pass(&pl);
		}
	}
	pthread_mutex_destroy(&pl.lock);
	free(pl.todo);
	free(pl.deferred);
	if (pl.failed)
		return p3err_set(err, "%s", pl.why);
	return 0;
}
