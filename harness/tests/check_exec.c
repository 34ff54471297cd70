/* check_exec.c — unit tests for the executor's steps against a small scripted POP3 server (plain and STLS,
 * lib_testpeer): STLS with injected octets (P-STLS-1) against a server that discards them, one that
 * runs them inside TLS and one whose handshake reads them and fails; a second STLS over TLS refused, lied
 * about (+OK and no handshake) and really negotiated inside TLS; close_notify after QUIT over TLS; the
 * target's login_tls (STLS before a login) in its three settings and a step's `tls:`; the suite's LOGIN-DELAY
 * and EXPIRE scenarios, loaded from scenarios/, against announced values that keep and break the rules; and
 * `requires` matched case-insensitively, CLEARTEXT-LOGIN included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <check.h>
#include <openssl/bio.h>

#include "lib/tls.h"
#include "lib_testpeer.h"
#include "runner/exec/exec.h"
#include "runner/load.h"
#include "runner/target.h"

Suite *exec_suite(void);

/* ---- the scripted server ----------------------------------------------------------------------------- */

struct mini {
	int run_injected;      /* the CVE-2011-0411 bug: octets that followed STLS run once TLS is up */
	int privacy;           /* RFC 2595 §2.2 privacy mode: no USER/PASS before TLS, USER not in CAPA */
	const char *capa_pre;  /* CAPA lines (CRLF-ended) before login, besides USER and STLS */
	const char *capa_post; /* after login */
	int capa_err;          /* CAPA gets a well-formed -ERR: CAPA is not supported */
	int capa_mute;         /* CAPA gets no answer at all */
	int stat_twice;        /* STAT is answered twice (a reply nobody asked for) */
	int greet_twice;       /* the greeting is sent twice */
	int stls_again;    /* STLS with TLS active: 0 -ERR, 1 +OK and nothing (a lie), 2 +OK and TLS in TLS */
	int inject_to_tls; /* octets after STLS go to the handshake, which fails (Dovecot's way) */
	int quit_notify;   /* QUIT over TLS ends with close_notify (RFC 8314 §3.4) */
	char log[1024];    /* commands received, '|'-separated; "TLS" where the handshake happened */
};

static void mini_log(struct mini *m, const char *what)
{
	size_t l = strlen(m->log);
	snprintf(m->log + l, sizeof m->log - l, "%s%s", l ? "|" : "", what);
}

/* A TLS handshake inside the TLS session (server side), its records carried by p->ssl; 0 when it worked. */
static int nested_accept(struct tp_peer *p)
{
	SSL *in = SSL_new(p->ctx);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	if (in == NULL || rb == NULL || wb == NULL) {
		SSL_free(in);
		BIO_free(rb);
		BIO_free(wb);
		return -1;
	}
	SSL_set_bio(in, rb, wb);
	SSL_set_accept_state(in);
	char buf[16384];
	int done = -1;
	for (int round = 0; round < 50; round++) {
		int rc = SSL_do_handshake(in), n;
		while ((n = BIO_read(wb, buf, (int)sizeof buf)) > 0)
			if (tp_send(p, buf, (size_t)n) != 0)
				goto out;
		if (rc == 1) {
			done = 0;
			break;
		}
		if (SSL_get_error(in, rc) != SSL_ERROR_WANT_READ)
			break;
		n = SSL_read(p->ssl, buf, (int)sizeof buf);
		if (n <= 0)
			break;
		BIO_write(rb, buf, n);
	}
out:
	SSL_free(in);
	return done;
}

static void mini_script(struct tp_peer *p)
{
	struct mini *m = p->arg;
	char line[512], pending[512] = "";
	int user = 0, logged = 0;
	tp_sends(p, m->greet_twice ? "+OK mini ready <1.2@mini>\r\n+OK mini ready <1.2@mini>\r\n"
	                           : "+OK mini ready <1.2@mini>\r\n");
	for (;;) {
		if (pending[0]) {
			/* The buffered cleartext, run as if it had come inside TLS. */
			char *nl = strchr(pending, '\n');
			size_t n = nl ? (size_t)(nl - pending + 1) : strlen(pending);
			memcpy(line, pending, n);
			line[n] = '\0';
			memmove(pending, pending + n, strlen(pending + n) + 1);
		} else if (tp_recv_line(p, line, sizeof line) <= 0) {
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		mini_log(m, line);
		if (strcmp(line, "STLS") == 0) {
			if (p->ssl && m->stls_again == 0) {
				tp_sends(p, "-ERR TLS already active\r\n");
				continue;
			}
			if (p->ssl) {
				tp_sends(p, "+OK begin TLS again\r\n");
				if (m->stls_again == 2) {
					mini_log(m, nested_accept(p) == 0 ? "TLS2" : "TLS2 failed");
					break; /* the client ends the session after it */
				}
				continue; /* the lie: POP3 goes on, the ClientHello is read as commands */
			}
			if (m->inject_to_tls) {
				/* What came after STLS is read by the handshake, which fails on it. */
				tp_sends(p, "+OK begin TLS\r\n");
				mini_log(m, tp_tls_accept(p) == 0 ? "TLS" : "TLS failed");
				break;
			}
			/* What the client wrote with STLS is in the socket now; take it out of the way of the
			 * handshake, and either drop it (correct) or keep it to run (the bug). */
			tp_sleep_ms(100);
			char extra[256];
			ssize_t n = recv(p->fd, extra, sizeof extra - 1, MSG_DONTWAIT);
			extra[n > 0 ? n : 0] = '\0';
			tp_sends(p, "+OK begin TLS\r\n");
			if (tp_tls_accept(p) != 0)
				break;
			mini_log(m, "TLS");
			if (m->run_injected)
				snprintf(pending, sizeof pending, "%s", extra);
		} else if (strcmp(line, "CAPA") == 0 && m->capa_err) {
			tp_sends(p, "-ERR unknown command\r\n");
		} else if (strcmp(line, "CAPA") == 0 && m->capa_mute) {
			continue;
		} else if (strcmp(line, "CAPA") == 0) {
			char buf[512];
			snprintf(buf, sizeof buf, "+OK capabilities\r\n%s%s%s.\r\n",
			         !m->privacy || p->ssl ? "USER\r\n" : "",
			         !p->ssl && !logged ? "STLS\r\n" : "", logged ? m->capa_post : m->capa_pre);
			tp_sends(p, buf);
		} else if (strncmp(line, "USER ", 5) == 0) {
			user = !m->privacy || p->ssl;
			tp_sends(p, user ? "+OK\r\n" : "-ERR [AUTH] TLS first\r\n");
		} else if (strncmp(line, "PASS ", 5) == 0) {
			logged = user;
			tp_sends(p, logged ? "+OK logged in\r\n" : "-ERR no\r\n");
		} else if (strcmp(line, "STAT") == 0) {
			for (int k = 0; k < 1 + m->stat_twice; k++)
				tp_sends(p, logged ? "+OK 0 0\r\n" : "-ERR not logged in\r\n");
		} else if (strcmp(line, "QUIT") == 0) {
			tp_sends(p, "+OK bye\r\n");
			if (m->quit_notify && p->ssl)
				SSL_shutdown(p->ssl);
			break;
		} else {
			tp_sends(p, "-ERR unknown\r\n");
		}
	}
}

/* ---- running a scenario against it ------------------------------------------------------------------- */

static struct tp_certs certs;
static SSL_CTX *sctx;

static void tls_up(void)
{
	struct p3err e;
	ck_assert_int_eq(tp_certs_make(&certs), 0);
	sctx = tls_server_ctx(certs.cert, certs.key, &e);
	ck_assert_msg(sctx != NULL, "%s", e.msg);
}

static void tls_down(void)
{
	SSL_CTX_free(sctx);
	tp_certs_remove(&certs);
}

static struct scenario *load_text(const char *yaml)
{
	struct scenario *sc = NULL;
	struct p3err err = {0};
	ck_assert_msg(load_scenario_mem("t.yaml", yaml, strlen(yaml), NULL, &sc, &err) == 0, "%s", err.msg);
	return sc;
}

static struct scenario *load_path(const char *path)
{
	struct scenario *sc = NULL;
	struct p3err err = {0};
	ck_assert_msg(load_scenario_file(path, NULL, &sc, &err) == 0, "%s", err.msg);
	return sc;
}

/* Run sc against a new mini server; the verdict is in r (free it), the server's log in m->log. */
static void run(struct scenario *sc, struct mini *m, enum login_tls lt, const struct probe *pr,
                struct result *r)
{
	struct tp_peer peer;
	ck_assert_int_eq(tp_start(&peer, mini_script, sctx, m), 0);
	struct target t;
	memset(&t, 0, sizeof t);
	t.name = (char *)"mini";
	t.host = (char *)"127.0.0.1";
	t.port = peer.port;
	t.login_tls = lt;
	struct account acct[2] = {{(char *)"alice", (char *)"x", NULL}, {(char *)"bob", (char *)"y", NULL}};
	struct exec_opts o = {.step_timeout = 2.0, .jobs = 1, .fixtures_dir = "fixtures"};
	struct probe none;
	memset(&none, 0, sizeof none);
	exec_scenario(sc, &t, acct, pr ? pr : &none, &o, r);
	/* A scenario that ends early leaves the connection to the runner's close: the script sees EOF. */
	tp_join(&peer);
}

#define HEAD "id: t/x\ntitle: T\nrefs: [P-STLS-1]\nlevel: SHOULD\n"

/* ---- STLS with injected octets ----------------------------------------------------------------------- */

START_TEST(injection_discarded_passes)
{
	struct scenario *sc = load_path("scenarios/rfc2595/stls/injection-discarded.yaml");
	struct mini m = {.capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m.log, "STLS|TLS|STAT|QUIT");
	result_free(&r);
	scenario_free(sc);
}
END_TEST

START_TEST(injection_run_inside_tls_warns)
{
	struct scenario *sc = load_path("scenarios/rfc2595/stls/injection-discarded.yaml");
	struct mini m = {.run_injected = 1, .capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_NO, NULL, &r);
	ck_assert_int_eq(r.status, VERDICT_WARN); /* a SHOULD scenario */
	ck_assert_str_eq(r.failed_ref, "P-STLS-1");
	ck_assert_msg(strstr(r.message, "step 2 (starttls: inject CAPA\\r\\n)") != NULL, "%s", r.message);
	ck_assert_msg(strstr(r.actual, "+OK capabilities") != NULL, "%s", r.actual);
	ck_assert_str_eq(m.log, "STLS|TLS|CAPA");
	result_free(&r);
	/* The same at MUST level fails. */
	struct scenario *must =
	    load_text("id: t/x\ntitle: T\nrefs: [P-STLS-1]\nlevel: MUST\nsteps:\n"
	              "  - connect: plain\n  - starttls: {inject: \"CAPA\\r\\n\", quiet: 0.5}\n");
	struct mini m2 = {.run_injected = 1, .capa_pre = "", .capa_post = ""};
	run(must, &m2, LOGIN_TLS_NO, NULL, &r);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	result_free(&r);
	scenario_free(must);
	scenario_free(sc);
}
END_TEST

START_TEST(quiet_without_inject)
{
	/* quiet alone: nothing unsolicited after a plain STLS (the server runs nothing here). */
	struct scenario *sc = load_text(HEAD "steps:\n  - connect: plain\n  - starttls: {quiet: 0.3}\n"
	                                     "  - send: STAT\n    expect: err\n");
	struct mini m = {.capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m.log, "STLS|TLS|STAT|QUIT");
	result_free(&r);
	scenario_free(sc);
}
END_TEST

START_TEST(injection_into_handshake_passes)
{
	/* Dovecot's way: the injected CAPA becomes the first octets of the handshake, which fails and
	 * closes; nothing was run, so P-STLS-1 holds. */
	struct scenario *sc = load_path("scenarios/rfc2595/stls/injection-discarded.yaml");
	struct mini m = {.inject_to_tls = 1, .capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m.log, "STLS|TLS failed");
	result_free(&r);
	/* A scenario that says the handshake must work still fails there. */
	struct scenario *ok = load_text(HEAD "steps:\n  - connect: plain\n"
	                                     "  - starttls: {inject: \"CAPA\\r\\n\"}\n"
	                                     "    expect: {status: ok, handshake: ok}\n");
	struct mini m2 = {.inject_to_tls = 1, .capa_pre = "", .capa_post = ""};
	run(ok, &m2, LOGIN_TLS_NO, NULL, &r);
	ck_assert_int_eq(r.status, VERDICT_WARN);
	ck_assert_msg(strstr(r.message, "TLS handshake") != NULL, "%s", r.message);
	result_free(&r);
	/* Without inject a failed handshake after +OK is a failure as ever. */
	struct scenario *plain = load_text("id: t/x\ntitle: T\nrefs: [R2595-STLS-5]\nlevel: MUST\nsteps:\n"
	                                   "  - connect: plain\n  - starttls: {}\n");
	struct mini m3 = {.inject_to_tls = 1, .capa_pre = "", .capa_post = ""};
	run(plain, &m3, LOGIN_TLS_NO, NULL, &r);
	ck_assert_int_eq(r.status, VERDICT_PASS); /* nothing injected: the handshake works */
	result_free(&r);
	scenario_free(plain);
	scenario_free(ok);
	scenario_free(sc);
}
END_TEST

/* ---- STLS while TLS is active ------------------------------------------------------------------------ */

static const char *second_stls = "scenarios/rfc2595/stls/second-stls-refused-or-negotiated.yaml";

START_TEST(second_stls_refused_passes)
{
	struct scenario *sc = load_path(second_stls);
	struct mini m = {.capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m.log, "STLS|TLS|STLS|CAPA|QUIT"); /* tls.active stayed yes: CAPA over the TLS */
	result_free(&r);
	scenario_free(sc);
}
END_TEST

START_TEST(second_stls_negotiated_passes)
{
	struct scenario *sc = load_path(second_stls);
	struct mini m = {.stls_again = 2, .capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m.log, "STLS|TLS|STLS|TLS2"); /* a real handshake inside TLS; no CAPA after */
	result_free(&r);
	scenario_free(sc);
}
END_TEST

START_TEST(second_stls_ok_without_handshake_fails)
{
	struct scenario *sc = load_path(second_stls);
	struct mini m = {.stls_again = 1, .capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_NO, NULL, &r);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_str_eq(r.failed_ref, "R2595-STLS-5");
	ck_assert_msg(strstr(r.actual, "-ERR unknown") != NULL, "%s", r.actual); /* what came instead */
	result_free(&r);
	/* handshake: fail on such a step wants the refusal of the inner handshake. */
	struct scenario *refuse = load_text("id: t/x\ntitle: T\nrefs: [R2595-STLS-5]\nlevel: MUST\nsteps:\n"
	                                    "  - connect: plain\n  - starttls: {}\n  - starttls: {}\n"
	                                    "    expect: {status: ok, handshake: fail}\n");
	struct mini m2 = {.stls_again = 1, .capa_pre = "", .capa_post = ""};
	run(refuse, &m2, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	result_free(&r);
	struct mini m3 = {.stls_again = 2, .capa_pre = "", .capa_post = ""};
	run(refuse, &m3, LOGIN_TLS_NO, NULL, &r);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	result_free(&r);
	scenario_free(refuse);
	scenario_free(sc);
}
END_TEST

/* ---- close_notify ------------------------------------------------------------------------------------ */

START_TEST(close_notify_checked)
{
	struct scenario *sc = load_text("id: t/x\ntitle: T\nrefs: [R8314-TLS-3]\nlevel: SHOULD\nsteps:\n"
	                                "  - connect: plain\n  - starttls: {}\n  - send: QUIT\n"
	                                "    expect: {status: ok, closes: true, close_notify: true}\n");
	struct mini m = {.quit_notify = 1, .capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	result_free(&r);
	/* A bare TCP close of the TLS session: a truncated stream, a SHOULD not met. */
	struct mini m2 = {.capa_pre = "", .capa_post = ""};
	run(sc, &m2, LOGIN_TLS_NO, NULL, &r);
	ck_assert_int_eq(r.status, VERDICT_WARN);
	ck_assert_str_eq(r.failed_ref, "R8314-TLS-3");
	ck_assert_msg(strstr(r.actual, "without a TLS close_notify") != NULL, "%s", r.actual);
	result_free(&r);
	scenario_free(sc);
	/* closes: true alone accepts either close. */
	sc = load_text("id: t/x\ntitle: T\nrefs: [R8314-TLS-3]\nlevel: SHOULD\nsteps:\n"
	               "  - connect: plain\n  - starttls: {}\n  - send: QUIT\n"
	               "    expect: {status: ok, closes: true}\n");
	struct mini m3 = {.capa_pre = "", .capa_post = ""};
	run(sc, &m3, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	result_free(&r);
	scenario_free(sc);
	/* The suite's scenario reads the same (it uses the TLS port, so it is loaded, not run, here). */
	sc = load_path("scenarios/rfc8314/tls/close-notify-on-quit.yaml");
	const struct step *last = &sc->steps[sc->nsteps - 1];
	ck_assert_int_eq(last->n_expect, 1);
	ck_assert(last->expect[0].close_notify);
	scenario_free(sc);
}
END_TEST

/* ---- login_tls --------------------------------------------------------------------------------------- */

static const char login_yaml[] =
    HEAD "steps:\n  - connect: plain\n  - login: {}\n  - send: STAT\n    expect: ok\n";

START_TEST(login_tls_yes_does_stls_first)
{
	struct scenario *sc = load_text(login_yaml);
	struct mini m = {.privacy = 1, .capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_YES, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m.log, "STLS|TLS|USER alice|PASS x|STAT|QUIT");
	result_free(&r);
	/* Without it, the privacy-mode server refuses the cleartext login: the scenario fails. */
	struct mini m2 = {.privacy = 1, .capa_pre = "", .capa_post = ""};
	run(sc, &m2, LOGIN_TLS_NO, NULL, &r);
	ck_assert_int_eq(r.status, VERDICT_WARN);
	ck_assert_msg(strstr(r.message, "TLS first") != NULL, "%s", r.message);
	ck_assert_str_eq(m2.log, "USER alice|QUIT");
	result_free(&r);
	scenario_free(sc);
}
END_TEST

START_TEST(login_step_tls_false_stays_cleartext)
{
	/* A scenario about cleartext behaviour keeps its login in cleartext whatever the profile says. */
	struct scenario *sc = load_text(HEAD "steps:\n  - connect: plain\n  - login: {tls: false}\n"
	                                     "    expect: {status: err, code: AUTH}\n");
	struct mini m = {.privacy = 1, .capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_YES, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m.log, "USER alice|QUIT");
	result_free(&r);
	scenario_free(sc);
	/* tls: true does STLS first whatever the profile says; not twice on a session already in TLS. */
	sc = load_text(
	    HEAD "steps:\n  - connect: plain\n  - login: {tls: true}\n  - send: STAT\n    expect: ok\n");
	struct mini m2 = {.capa_pre = "", .capa_post = ""};
	run(sc, &m2, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m2.log, "STLS|TLS|USER alice|PASS x|STAT|QUIT");
	result_free(&r);
	scenario_free(sc);
	sc = load_text(HEAD "steps:\n  - connect: plain\n  - starttls: {}\n  - login: {tls: true}\n");
	struct mini m3 = {.capa_pre = "", .capa_post = ""};
	run(sc, &m3, LOGIN_TLS_YES, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m3.log, "STLS|TLS|USER alice|PASS x|QUIT");
	result_free(&r);
	scenario_free(sc);
}
END_TEST

START_TEST(login_tls_auto_follows_the_probe)
{
	struct scenario *sc = load_text(login_yaml);
	char *pre_privacy[] = {(char *)"STLS", (char *)"TOP"};
	char *pre_compat[] = {(char *)"user", (char *)"STLS"}; /* any case (RFC 2449 §5) */
	char *post[] = {(char *)"USER", (char *)"TOP"};
	struct probe p;
	memset(&p, 0, sizeof p);
	p.capa_ok = p.stls_ok = 1;
	p.capa = pre_privacy;
	p.ncapa = 2;
	p.capa_tls = post;
	p.ncapa_tls = 2;
	struct mini m = {.privacy = 1, .capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_AUTO, &p, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m.log, "STLS|TLS|USER alice|PASS x|STAT|QUIT");
	result_free(&r);
	p.capa = pre_compat; /* USER offered before TLS: no STLS */
	struct mini m2 = {.capa_pre = "", .capa_post = ""};
	run(sc, &m2, LOGIN_TLS_AUTO, &p, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m2.log, "USER alice|PASS x|STAT|QUIT");
	result_free(&r);
	scenario_free(sc);
}
END_TEST

START_TEST(starttls_for_login)
{
	/* A scenario typing USER/PASS itself: STLS exactly where a login step would do it. */
	struct scenario *sc = load_text(HEAD "steps:\n  - connect: plain\n  - starttls: {for_login: true}\n"
	                                     "  - send: USER ${user}\n    expect: ok\n"
	                                     "  - send: PASS ${password}\n    expect: ok\n");
	struct mini m = {.privacy = 1, .capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_YES, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m.log, "STLS|TLS|USER alice|PASS x|QUIT");
	result_free(&r);
	struct mini m2 = {.capa_pre = "", .capa_post = ""};
	run(sc, &m2, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	ck_assert_str_eq(m2.log, "USER alice|PASS x|QUIT");
	result_free(&r);
	scenario_free(sc);
}
END_TEST

START_TEST(login_tls_without_stls_skips)
{
	struct scenario *sc = load_text(login_yaml);
	char *pre[] = {(char *)"USER"};
	struct probe p;
	memset(&p, 0, sizeof p);
	p.capa_ok = 1;
	p.capa = pre;
	p.ncapa = 1;
	struct mini m = {.capa_pre = "", .capa_post = ""};
	struct result r;
	run(sc, &m, LOGIN_TLS_YES, &p, &r);
	ck_assert_int_eq(r.status, VERDICT_SKIP);
	ck_assert_msg(strstr(r.message, "unsupported: STLS") != NULL, "%s", r.message);
	result_free(&r);
	scenario_free(sc);
}
END_TEST

/* ---- the suite's LOGIN-DELAY and EXPIRE comparisons ------------------------------------------------- */

struct capa_case {
	const char *file, *pre, *post;
	enum verdict want;
	const char *ref; /* of the failure, or NULL */
};

static void capa_cases(const struct capa_case *cs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct scenario *sc = load_path(cs[i].file);
		struct mini m = {.capa_pre = cs[i].pre, .capa_post = cs[i].post};
		struct result r;
		run(sc, &m, LOGIN_TLS_NO, NULL, &r);
		ck_assert_msg(r.status == cs[i].want, "case %zu (%s): %d, %s", i, cs[i].file, r.status,
		              r.message ? r.message : "");
		if (cs[i].ref)
			ck_assert_msg(r.failed_ref && strcmp(r.failed_ref, cs[i].ref) == 0,
			              "case %zu: ref %s", i, r.failed_ref ? r.failed_ref : "(none)");
		result_free(&r);
		scenario_free(sc);
	}
}

START_TEST(login_delay_compared)
{
	static const char le[] = "scenarios/rfc2449/ldelay/value-after-login-not-larger.yaml";
	static const char user[] = "scenarios/rfc2449/ldelay/changed-value-marked-user.yaml";
	static const struct capa_case cs[] = {
	    {le, "LOGIN-DELAY 900 USER\r\n", "LOGIN-DELAY 300\r\n", VERDICT_PASS, NULL},
	    {le, "LOGIN-DELAY 300\r\n", "LOGIN-DELAY 300\r\n", VERDICT_PASS, NULL},
	    {le, "login-delay 300 user\r\n", "Login-Delay 0300\r\n", VERDICT_PASS, NULL},
	    {le, "LOGIN-DELAY 300 USER\r\n", "LOGIN-DELAY 900\r\n", VERDICT_FAIL, "R2449-LDELAY-3"},
	    {le, "LOGIN-DELAY 300\r\n", "TOP\r\n", VERDICT_FAIL, "R2449-CAPA-5"},
	    {user, "LOGIN-DELAY 900 USER\r\n", "LOGIN-DELAY 300\r\n", VERDICT_PASS, NULL},
	    {user, "LOGIN-DELAY 300\r\n", "LOGIN-DELAY 300\r\n", VERDICT_PASS, NULL},
	    {user, "LOGIN-DELAY 900\r\n", "LOGIN-DELAY 300\r\n", VERDICT_WARN, "R2449-LDELAY-4"},
	};
	capa_cases(cs, sizeof cs / sizeof cs[0]);
}
END_TEST

START_TEST(expire_compared)
{
	static const char ge[] = "scenarios/rfc2449/expire/value-after-login-not-smaller.yaml";
	static const char user[] = "scenarios/rfc2449/expire/changed-value-marked-user.yaml";
	static const struct capa_case cs[] = {
	    {ge, "EXPIRE 30 USER\r\n", "EXPIRE NEVER\r\n", VERDICT_PASS, NULL},
	    {ge, "EXPIRE NEVER\r\n", "EXPIRE NEVER\r\n", VERDICT_PASS, NULL},
	    {ge, "EXPIRE 0 USER\r\n", "EXPIRE 31\r\n", VERDICT_PASS, NULL},
	    {ge, "EXPIRE NEVER\r\n", "EXPIRE 99999\r\n", VERDICT_FAIL, "R2449-EXPIRE-4"},
	    {ge, "EXPIRE 31 USER\r\n", "EXPIRE 30\r\n", VERDICT_FAIL, "R2449-EXPIRE-4"},
	    {user, "EXPIRE 30 USER\r\n", "EXPIRE NEVER\r\n", VERDICT_PASS, NULL},
	    {user, "EXPIRE never\r\n", "EXPIRE NEVER\r\n", VERDICT_PASS, NULL},
	    {user, "EXPIRE 30\r\n", "EXPIRE NEVER\r\n", VERDICT_WARN, "R2449-EXPIRE-4"},
	};
	capa_cases(cs, sizeof cs / sizeof cs[0]);
}
END_TEST

/* ---- octets nobody asked for, at the end of a scenario ---------------------------------------------- */

START_TEST(unread_octets_at_the_end_fail)
{
	static const char stat_yaml[] = HEAD "steps:\n  - connect: plain\n  - send: STAT\n    expect: err\n";
	struct scenario *sc = load_text(stat_yaml);
	struct result r;
	struct mini once = {.capa_pre = "", .capa_post = ""};
	run(sc, &once, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	result_free(&r);
	/* STAT answered twice: the second -ERR was never asked for. */
	struct mini twice = {.stat_twice = 1, .capa_pre = "", .capa_post = ""};
	run(sc, &twice, LOGIN_TLS_NO, NULL, &r);
	ck_assert_int_eq(r.status, VERDICT_FAIL); /* a check on every response: whatever the level */
	ck_assert_str_eq(r.failed_ref, "R1939-ML-1");
	ck_assert_str_eq(r.failed_step, "end of scenario");
	ck_assert_msg(strstr(r.actual, "-ERR not logged in") != NULL, "%s", r.actual);
	result_free(&r);
	scenario_free(sc);
	/* A send whose reply the scenario does not read, and a sleep, leave what comes unjudged. */
	sc = load_text(HEAD "steps:\n  - connect: plain\n  - send: STAT\n");
	struct mini t2 = {.stat_twice = 1, .capa_pre = "", .capa_post = ""};
	run(sc, &t2, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	result_free(&r);
	scenario_free(sc);
	sc = load_text(HEAD "steps:\n  - connect: plain\n  - send: STAT\n    expect: err\n  - sleep: 0.05\n");
	struct mini t3 = {.stat_twice = 1, .capa_pre = "", .capa_post = ""};
	run(sc, &t3, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	result_free(&r);
	scenario_free(sc);
	/* QUIT's close is no octet: a correct server passes. */
	sc = load_text(HEAD "steps:\n  - connect: plain\n  - send: QUIT\n    expect: ok\n");
	struct mini q = {.capa_pre = "", .capa_post = ""};
	run(sc, &q, LOGIN_TLS_NO, NULL, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%s", r.message);
	result_free(&r);
	scenario_free(sc);
	/* A second greeting: R1939-GEN-2. */
	sc = load_text(HEAD "steps:\n  - connect: plain\n");
	struct mini g = {.greet_twice = 1, .capa_pre = "", .capa_post = ""};
	run(sc, &g, LOGIN_TLS_NO, NULL, &r);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_str_eq(r.failed_ref, "R1939-GEN-2");
	result_free(&r);
	scenario_free(sc);
}
END_TEST

/* ---- requires ---------------------------------------------------------------------------------------- */

static const char *skip_of(const char *req, const struct target *t, const struct probe *p)
{
	static char buf[200];
	char *reqs[] = {(char *)req};
	struct scenario sc;
	memset(&sc, 0, sizeof sc);
	sc.requires = reqs;
	sc.nrequires = 1;
	enum verdict v = VERDICT_PASS;
	const char *why = exec_skip_reason(&sc, t, p, &v, buf, sizeof buf);
	/* An unknown requirement errors; an absent one skips. */
	if (why)
		ck_assert_msg(v == (strncmp(why, "requires ", 9) == 0 ? VERDICT_ERROR : VERDICT_SKIP),
		              "%d %s", v, why);
	return why ? why : "runs";
}

START_TEST(requires_ignore_case)
{
	char *pre[] = {(char *)"stls", (char *)"sasl cram-md5 Plain", (char *)"login-delay 0"};
	char *post[] = {(char *)"Sasl Scram-Sha-256", (char *)"User"};
	struct probe p;
	memset(&p, 0, sizeof p);
	p.capa_ok = 1;
	p.capa = pre;
	p.ncapa = 3;
	p.capa_tls = post;
	p.ncapa_tls = 2;
	struct target t;
	memset(&t, 0, sizeof t);
	ck_assert_str_eq(skip_of("STLS", &t, &p), "runs");
	ck_assert_str_eq(skip_of("LOGIN-DELAY", &t, &p), "runs");
	ck_assert_str_eq(skip_of("SASL CRAM-MD5", &t, &p), "runs");
	ck_assert_str_eq(skip_of("SASL PLAIN", &t, &p), "runs");
	ck_assert_str_eq(skip_of("sasl scram-sha-256", &t, &p), "runs");
	ck_assert_str_eq(skip_of("USER", &t, &p), "runs"); /* after TLS counts */
	ck_assert_str_eq(skip_of("SASL SCRAM-SHA-1", &t, &p), "unsupported: SASL SCRAM-SHA-1");
	ck_assert_str_eq(skip_of("LOGIN", &t, &p), "unsupported: LOGIN"); /* not a prefix of LOGIN-DELAY */
	/* CLEARTEXT-LOGIN: USER offered before TLS, and the profile not saying logins need TLS. */
	ck_assert_str_eq(skip_of("CLEARTEXT-LOGIN", &t, &p), "unsupported: CLEARTEXT-LOGIN");
	pre[0] = (char *)"user";
	ck_assert_str_eq(skip_of("cleartext-login", &t, &p), "runs");
	t.login_tls = LOGIN_TLS_YES;
	ck_assert_str_eq(skip_of("CLEARTEXT-LOGIN", &t, &p), "unsupported: CLEARTEXT-LOGIN");
	t.login_tls = LOGIN_TLS_NO;
	p.capa_ok = 0; /* no CAPA: nothing says cleartext logins are off */
	ck_assert_str_eq(skip_of("CLEARTEXT-LOGIN", &t, &p), "runs");
}
END_TEST

/* The probe tells an absent capability (a well-formed -ERR to CAPA: skip) from an unknown one (no
 * answer: error, never a skip that would let a run pass against a server that answers nothing). */
static void probe_mini(struct mini *m, struct probe *pr)
{
	struct tp_peer peer;
	ck_assert_int_eq(tp_start(&peer, mini_script, sctx, m), 0);
	struct target t;
	memset(&t, 0, sizeof t);
	t.host = (char *)"127.0.0.1";
	t.port = peer.port;
	struct exec_opts o = {.step_timeout = 0.5, .jobs = 1};
	struct p3err err = {0};
	ck_assert_msg(exec_probe(&t, &o, pr, &err) == 0, "%s", err.msg);
	tp_join(&peer);
}

START_TEST(probe_capa_refused_or_unknown)
{
	struct target t;
	memset(&t, 0, sizeof t);
	struct probe pr;
	struct mini m = {.capa_err = 1};
	probe_mini(&m, &pr);
	ck_assert_int_eq(pr.capa_ok, 0);
	ck_assert_int_eq(pr.gap, GAP_NONE);
	ck_assert_str_eq(m.log, "CAPA|QUIT");
	ck_assert_str_eq(skip_of("CAPA", &t, &pr), "unsupported: CAPA");
	ck_assert_str_eq(skip_of("UIDL", &t, &pr), "unsupported: UIDL");
	ck_assert_str_eq(skip_of("APOP", &t, &pr), "runs");
	probe_free(&pr);

	struct mini mute = {.capa_mute = 1};
	probe_mini(&mute, &pr);
	ck_assert_int_eq(pr.capa_ok, 0);
	ck_assert_int_eq(pr.gap, GAP_CAPA);
	ck_assert_str_eq(mute.log, "CAPA"); /* no QUIT on a connection out of step */
	ck_assert_msg(strstr(pr.gap_why, "no response") != NULL, "%s", pr.gap_why);
	const char *why = skip_of("CAPA", &t, &pr);
	ck_assert_msg(strncmp(why, "requires CAPA, which the probe could not learn", 46) == 0, "%s", why);
	ck_assert_msg(strncmp(skip_of("SASL PLAIN", &t, &pr), "requires ", 9) == 0, "unknown SASL");
	/* What the greeting and the profile decide stays decided. */
	ck_assert_str_eq(skip_of("APOP", &t, &pr), "runs");
	ck_assert_str_eq(skip_of("TLS-PORT", &t, &pr), "unsupported: TLS-PORT");
	ck_assert_str_eq(skip_of("CLEARTEXT-LOGIN", &t, &pr), "runs");
	t.login_tls = LOGIN_TLS_YES;
	ck_assert_str_eq(skip_of("CLEARTEXT-LOGIN", &t, &pr), "unsupported: CLEARTEXT-LOGIN");
	/* A gap only after TLS leaves what CAPA before TLS said decided. */
	pr.gap = GAP_TLS;
	ck_assert_str_eq(skip_of("CAPA", &t, &pr), "unsupported: CAPA");
	ck_assert_msg(strncmp(skip_of("SASL PLAIN", &t, &pr), "requires ", 9) == 0, "after TLS");
	probe_free(&pr);
}
END_TEST

Suite *exec_suite(void)
{
	Suite *s = suite_create("exec");
	TCase *tc = tcase_create("steps");
	tcase_add_unchecked_fixture(tc, tls_up, tls_down);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, injection_discarded_passes);
	tcase_add_test(tc, injection_run_inside_tls_warns);
	tcase_add_test(tc, quiet_without_inject);
	tcase_add_test(tc, injection_into_handshake_passes);
	tcase_add_test(tc, second_stls_refused_passes);
	tcase_add_test(tc, second_stls_negotiated_passes);
	tcase_add_test(tc, second_stls_ok_without_handshake_fails);
	tcase_add_test(tc, close_notify_checked);
	tcase_add_test(tc, login_tls_yes_does_stls_first);
	tcase_add_test(tc, login_step_tls_false_stays_cleartext);
	tcase_add_test(tc, login_tls_auto_follows_the_probe);
	tcase_add_test(tc, login_tls_without_stls_skips);
	tcase_add_test(tc, starttls_for_login);
	tcase_add_test(tc, login_delay_compared);
	tcase_add_test(tc, expire_compared);
	tcase_add_test(tc, requires_ignore_case);
	tcase_add_test(tc, probe_capa_refused_or_unknown);
	tcase_add_test(tc, unread_octets_at_the_end_fail);
	suite_add_tcase(s, tc);
	return s;
}
