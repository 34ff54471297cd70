/* check_client.c — unit tests for runner/client: the built-in server's state machine (greeting with an
 * APOP timestamp, CAPA with and without TLS, USER/PASS, APOP, AUTH PLAIN/LOGIN/CRAM-MD5 and "*", the
 * transaction commands, DELE committed only at QUIT, the scenario's overrides), the judging of client
 * commands (grammar and state), the delivery comparison, placeholders, and client scenario loading. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include "lib/b64.h"
#include "lib/digest.h"
#include "runner/client/client.h"
#include "runner/client/client_int.h"

Suite *client_suite(void);

static struct cmaildrop md;
static struct csrv_opts opts;
static struct csrv s;

static void mkmsg(struct cmsg *m, const char *text, const char *uid)
{
	m->data = strdup(text);
	m->len = strlen(text);
	m->size = 0;
	for (const char *p = text; *p; p++)
		m->size += *p == '\n' ? 2 : 1;
	snprintf(m->uid, sizeof m->uid, "%s", uid);
}

static void setup(void)
{
	memset(&opts, 0, sizeof opts);
	md.n = 2;
	md.msgs = calloc(2, sizeof *md.msgs);
	mkmsg(&md.msgs[0], "Subject: a\n\n.dot\nbody\n", "uid-a");
	mkmsg(&md.msgs[1], "Subject: b\n\nsecond\n", "uid-b");
	ck_assert_int_eq(csrv_init(&s, &opts, &md, true, false), 0);
}

static void teardown(void)
{
	csrv_free(&s);
	cmaildrop_free(&md);
}

/* Send one command; returns the reply (static, NUL-terminated) and the action. */
static const char *cmd(const char *line, enum csrv_action *act)
{
	static char out[8192];
	size_t len, multi;
	enum csrv_action a;
	char *r = csrv_command(&s, line, strlen(line), &len, &a, &multi);
	ck_assert_ptr_nonnull(r);
	snprintf(out, sizeof out, "%.*s", (int)len, r);
	free(r);
	if (act)
		*act = a;
	return out;
}

static void login(void)
{
	ck_assert_str_eq(cmd("USER user01", NULL), "+OK\r\n");
	ck_assert(strncmp(cmd("PASS pass01", NULL), "+OK", 3) == 0);
	ck_assert_int_eq(s.state, CS_TRANS);
}

START_TEST(greeting_has_timestamp)
{
	size_t len;
	char *g = csrv_greeting(&s, &len);
	ck_assert(strncmp(g, "+OK ", 4) == 0);
	ck_assert_ptr_nonnull(strstr(g, s.timestamp));
	ck_assert(s.timestamp[0] == '<' && strchr(s.timestamp, '@'));
	ck_assert(len >= 2 && memcmp(g + len - 2, "\r\n", 2) == 0);
	free(g);
}
END_TEST

START_TEST(capa_stls_only_before_tls)
{
	ck_assert_ptr_nonnull(strstr(cmd("CAPA", NULL), "\r\nSTLS\r\n"));
	ck_assert(csrv_announces(&s, "STLS"));
	s.tls = true;
	ck_assert_ptr_null(strstr(cmd("CAPA", NULL), "STLS"));
	ck_assert(!csrv_announces(&s, "PIPELINING"));
}
END_TEST

START_TEST(stls_refused_and_absent)
{
	enum csrv_action a;
	ck_assert(strncmp(cmd("STLS", &a), "+OK", 3) == 0);
	ck_assert_int_eq(a, CA_STARTTLS);
	csrv_free(&s);
	opts.stls = STLS_REFUSE;
	csrv_init(&s, &opts, &md, true, false);
	ck_assert(strncmp(cmd("STLS", &a), "-ERR", 4) == 0);
	ck_assert_int_eq(a, CA_NONE);
	csrv_free(&s);
	opts.stls = STLS_ABSENT;
	csrv_init(&s, &opts, &md, true, false);
	ck_assert_ptr_null(strstr(cmd("CAPA", NULL), "STLS"));
}
END_TEST

START_TEST(user_pass_wrong_then_right)
{
	cmd("USER user01", NULL);
	ck_assert(strncmp(cmd("PASS nope", NULL), "-ERR [AUTH]", 11) == 0);
	ck_assert_int_eq(s.state, CS_AUTH);
	ck_assert(strncmp(cmd("PASS pass01", NULL), "-ERR", 4) == 0); /* PASS needs USER first */
	login();
	ck_assert(strncmp(cmd("USER user01", NULL), "-ERR", 4) == 0); /* not in TRANSACTION */
}
END_TEST

START_TEST(apop_login)
{
	char d[DIGEST_MD5_HEX], line[128];
	apop_digest(s.timestamp, "pass01", d);
	snprintf(line, sizeof line, "APOP user01 %s", d);
	ck_assert(strncmp(cmd("APOP user01 0123456789abcdef0123456789abcdef", NULL), "-ERR", 4) == 0);
	ck_assert(strncmp(cmd(line, NULL), "+OK", 3) == 0);
	ck_assert_int_eq(s.state, CS_TRANS);
}
END_TEST

START_TEST(auth_plain_login_cram_and_cancel)
{
	enum csrv_action a;
	char b64[128];
	size_t n = b64_encode("\0user01\0pass01", 14, b64);
	b64[n] = '\0';
	ck_assert_str_eq(cmd("AUTH PLAIN", &a), "+ \r\n");
	ck_assert_int_eq(a, CA_AUTH_CONT);
	ck_assert(strncmp(cmd("*", NULL), "-ERR", 4) == 0); /* RFC 5034 §4: cancelled */
	ck_assert_int_eq(s.state, CS_AUTH);
	char line[200];
	snprintf(line, sizeof line, "AUTH PLAIN %s", b64);
	ck_assert(strncmp(cmd(line, NULL), "+OK", 3) == 0);
	ck_assert_int_eq(s.state, CS_TRANS);

	csrv_free(&s);
	csrv_init(&s, &opts, &md, true, false);
	ck_assert_str_eq(cmd("AUTH LOGIN", NULL), "+ VXNlcm5hbWU6\r\n");
	ck_assert_str_eq(cmd("dXNlcjAx", NULL), "+ UGFzc3dvcmQ6\r\n");
	ck_assert(strncmp(cmd("cGFzczAx", NULL), "+OK", 3) == 0);

	csrv_free(&s);
	csrv_init(&s, &opts, &md, true, false);
	const char *ch = cmd("AUTH CRAM-MD5", NULL);
	ck_assert(strncmp(ch, "+ ", 2) == 0);
	char d[DIGEST_MD5_HEX], resp[128], enc[256];
	cram_md5_digest(s.cram_challenge, strlen(s.cram_challenge), "pass01", d);
	snprintf(resp, sizeof resp, "user01 %s", d);
	n = b64_encode(resp, strlen(resp), enc);
	enc[n] = '\0';
	ck_assert(strncmp(cmd(enc, NULL), "+OK", 3) == 0);
}
END_TEST

START_TEST(retr_is_stuffed_and_terminated)
{
	login();
	const char *r = cmd("RETR 1", NULL);
	ck_assert(strncmp(r, "+OK ", 4) == 0);
	ck_assert_ptr_nonnull(strstr(r, "\r\n..dot\r\nbody\r\n.\r\n"));
	ck_assert(strncmp(cmd("RETR 3", NULL), "-ERR", 4) == 0);
	ck_assert_ptr_nonnull(strstr(cmd("TOP 1 0", NULL), "Subject: a\r\n\r\n.\r\n"));
	ck_assert(!s.last_whole);
	cmd("TOP 1 99999999", NULL);
	ck_assert(s.last_whole); /* fetchmail's way to retrieve a whole message */
	cmd("RETR 2", NULL);
	ck_assert(s.last_whole);
	ck_assert_ptr_nonnull(strstr(cmd("UIDL", NULL), "1 uid-a\r\n2 uid-b\r\n.\r\n"));
}
END_TEST

START_TEST(dele_commits_only_at_quit)
{
	login();
	ck_assert(strncmp(cmd("DELE 1", NULL), "+OK", 3) == 0);
	ck_assert(strncmp(cmd("RETR 1", NULL), "-ERR", 4) == 0);
	ck_assert(strncmp(cmd("STAT", NULL), "+OK 1 ", 6) == 0);
	cmd("RSET", NULL);
	ck_assert(strncmp(cmd("STAT", NULL), "+OK 2 ", 6) == 0);
	cmd("DELE 2", NULL);
	ck_assert(!md.msgs[1].deleted); /* a dropped connection deletes nothing */
	enum csrv_action a;
	cmd("QUIT", &a);
	ck_assert_int_eq(a, CA_CLOSE);
	ck_assert(md.msgs[1].deleted && !md.msgs[0].deleted);
}
END_TEST

START_TEST(overrides_and_close_after)
{
	csrv_free(&s);
	struct creply rep = {
	    .command = "PASS", .reply = {"-ERR [IN-USE] locked\r\n", 22}, .close = true, .times = 1};
	opts.replies = &rep;
	opts.nreplies = 1;
	opts.close_after = "LIST";
	csrv_init(&s, &opts, &md, false, false);
	enum csrv_action a;
	cmd("USER user01", NULL);
	ck_assert_str_eq(cmd("PASS pass01", &a), "-ERR [IN-USE] locked\r\n");
	ck_assert_int_eq(a, CA_CLOSE);
	cmd("USER user01", NULL);
	ck_assert(strncmp(cmd("PASS pass01", NULL), "+OK", 3) == 0); /* times: 1 */
	cmd("LIST", &a);
	ck_assert_int_eq(a, CA_CLOSE);
	opts.replies = NULL;
	opts.nreplies = 0;
	opts.close_after = NULL;
}
END_TEST

/* A scripted login failure (LOGIN) meets every way to log in: PASS, APOP, and a SASL exchange at its final
 * reply (curl and fetchmail log in with CRAM-MD5 or APOP and never sent PASS). */
START_TEST(login_override_meets_apop_and_sasl)
{
	csrv_free(&s);
	struct creply rep = {.command = "LOGIN", .reply = {"-ERR [IN-USE] locked\r\n", 22}, .close = true};
	opts.replies = &rep;
	opts.nreplies = 1;
	csrv_init(&s, &opts, &md, false, false);
	enum csrv_action a;
	/* AUTH alone lists mechanisms: no login, no override. */
	ck_assert(strncmp(cmd("AUTH", NULL), "+OK", 3) == 0);
	/* PLAIN with an initial response: the final reply is the scripted one. */
	ck_assert_str_eq(cmd("AUTH PLAIN AHVzZXIwMQBwYXNzMDE=", &a), "-ERR [IN-USE] locked\r\n");
	ck_assert_int_eq(a, CA_CLOSE);
	ck_assert_int_eq(s.state, CS_AUTH);
	/* PLAIN without: the challenge goes out as usual, the scripted reply ends the exchange. */
	ck_assert_str_eq(cmd("AUTH PLAIN", &a), "+ \r\n");
	ck_assert_int_eq(a, CA_AUTH_CONT);
	ck_assert_str_eq(cmd("AHVzZXIwMQBwYXNzMDE=", &a), "-ERR [IN-USE] locked\r\n");
	ck_assert_int_eq(a, CA_CLOSE);
	/* CRAM-MD5: the challenge is not replaced (the client would take -ERR as "mechanism unsupported"). */
	ck_assert(strncmp(cmd("AUTH CRAM-MD5", &a), "+ ", 2) == 0);
	ck_assert_int_eq(a, CA_AUTH_CONT);
	/* APOP, even with a wrong digest. */
	char line[80];
	snprintf(line, sizeof line, "APOP user01 %032d", 0);
	cmd("*", NULL);
	ck_assert_str_eq(cmd(line, &a), "-ERR [IN-USE] locked\r\n");
	ck_assert_int_eq(s.state, CS_AUTH);
	opts.replies = NULL;
	opts.nreplies = 0;
}
END_TEST

START_TEST(scenario_password)
{
	csrv_free(&s);
	opts.password = "Long-Secret";
	csrv_init(&s, &opts, &md, false, false);
	cmd("USER user01", NULL);
	ck_assert(strncmp(cmd("PASS pass01", NULL), "-ERR", 4) == 0);
	cmd("USER user01", NULL);
	ck_assert(strncmp(cmd("PASS Long-Secret", NULL), "+OK", 3) == 0);
	opts.password = NULL;
}
END_TEST

START_TEST(pad_status_lines)
{
	csrv_free(&s);
	opts.pad_status = 512;
	csrv_init(&s, &opts, &md, false, false);
	cmd("USER user01", NULL);
	cmd("PASS pass01", NULL);
	const char *r = cmd("NOOP", NULL);
	ck_assert_uint_eq(strlen(r), 512);
	ck_assert(strncmp(r, "+OK", 3) == 0 && strcmp(r + 510, "\r\n") == 0);
	opts.pad_status = 0;
}
END_TEST

START_TEST(judge_grammar_and_state)
{
	ck_assert_ptr_null(cjudge_command("USER user01", 11, CS_AUTH));
	ck_assert_ptr_null(cjudge_command("CAPA", 4, CS_TRANS));
	ck_assert_ptr_null(cjudge_command("TOP 1 0", 7, CS_TRANS));
	ck_assert_ptr_null(cjudge_command("AUTH PLAIN dGVzdA==", 19, CS_AUTH));
	ck_assert_ptr_null(cjudge_command("PASS with spaces", 16, CS_AUTH));
	ck_assert_ptr_nonnull(cjudge_command("RETR 1", 6, CS_AUTH));  /* before login */
	ck_assert_ptr_nonnull(cjudge_command("USER x", 6, CS_TRANS)); /* after login */
	ck_assert_ptr_nonnull(cjudge_command("RETR", 4, CS_TRANS));   /* no number */
	ck_assert_ptr_nonnull(cjudge_command("RETR x", 6, CS_TRANS));
	ck_assert_ptr_nonnull(cjudge_command("RETR  1", 7, CS_TRANS)); /* two spaces */
	ck_assert_ptr_nonnull(cjudge_command("STAT ", 5, CS_TRANS));   /* trailing space */
	ck_assert_ptr_nonnull(cjudge_command("XYZZY", 5, CS_TRANS));
	ck_assert_ptr_nonnull(cjudge_command("NOOP\x01", 5, CS_TRANS));
	ck_assert_ptr_nonnull(cjudge_command("APOP user01 short", 17, CS_AUTH));
	ck_assert_ptr_nonnull(cjudge_command("NOOP", 4, CS_UPDATE));
	ck_assert_ptr_null(cjudge_command("noop", 4, CS_TRANS));   /* keywords are case-insensitive */
	ck_assert_ptr_null(cjudge_command("AUTH", 4, CS_AUTH));    /* RFC 1734 practice: list */
	ck_assert_ptr_null(cjudge_command("LAST", 4, CS_TRANS));   /* obsolete, harmless */
	ck_assert_ptr_nonnull(cjudge_command("RSET", 4, CS_AUTH)); /* getmail after a failed login */
}
END_TEST

START_TEST(delivery_comparison)
{
	struct cprofile p = {0};
	const char *fx = "Subject: a\r\n\r\nbody\r\n";
	ck_assert(cdeliver_equal(&p, "Subject: a\n\nbody\n", 17, fx, strlen(fx)));
	ck_assert(!cdeliver_equal(&p, "Subject: a\n\n.body\n", 18, "Subject: a\n\nbody\n", 17));
	ck_assert(
	    cdeliver_equal(&p, "Subject: a\n\nbody", 16, "Subject: a\n\nbody\n", 17)); /* final line end */
	const char *got = "Received: from x\n\tby y\nSubject: a\n\nbody\n";
	ck_assert(!cdeliver_equal(&p, got, strlen(got), fx, strlen(fx)));
	p.adds_headers[0] = "Received";
	p.nadds_headers = 1;
	ck_assert(cdeliver_equal(&p, got, strlen(got), fx, strlen(fx)));
	/* An added header the stored message also starts with is not taken from it. */
	const char *fx2 = "Return-Path: <a@b>\r\nSubject: a\r\n\r\nbody\r\n";
	const char *got2 = "Received: x\nReturn-Path: <a@b>\nSubject: a\n\nbody\n";
	p.adds_headers[1] = "Return-Path";
	p.nadds_headers = 2;
	ck_assert(cdeliver_equal(&p, got2, strlen(got2), fx2, strlen(fx2)));
	const char *got3 = "Return-Path: <x@y>\nReceived: x\nReturn-Path: <a@b>\nSubject: a\n\nbody\n";
	ck_assert(cdeliver_equal(&p, got3, strlen(got3), fx2, strlen(fx2)));
	ck_assert(!cdeliver_equal(&p, "Received: x\nSubject: a\n\nbody\n", 28, fx2, strlen(fx2)));
}
END_TEST

START_TEST(placeholders)
{
	struct cvars v = {.cafile = "/c.pem", .workdir = "/w", .profile_dir = "/p"};
	snprintf(v.host, sizeof v.host, "127.0.0.1");
	snprintf(v.port, sizeof v.port, "1100");
	struct p3err err;
	char *s1 = cexpand("{host}:{port} {{x} {workdir}/m {cafile}", &v, &err);
	ck_assert_str_eq(s1, "127.0.0.1:1100 {x} /w/m /c.pem");
	free(s1);
	ck_assert_ptr_null(cexpand("{nope}", &v, &err));
	/* {bin}: the running binary's folder (check_unit's here: bin/ or build-asan/bin/). */
	char bin[4096];
	ck_assert(cbin_dir(bin, sizeof bin));
	v.bin = bin;
	char *s2 = cexpand("{bin}/pop3client", &v, &err);
	char want[4200];
	snprintf(want, sizeof want, "%s/pop3client", bin);
	ck_assert_str_eq(s2, want);
	free(s2);
	ck_assert(strlen(bin) > 4 && strcmp(bin + strlen(bin) - 4, "/bin") == 0);
}
END_TEST

START_TEST(load_profile)
{
	char dir[] = "/tmp/check-client-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/p.yaml", dir);
	FILE *f = fopen(path, "w");
	fputs("name: t\ncommand: [prog, \"{host}\"]\nmodes:\n  stls: [--stls]\n"
	      "  implicit_tls: {command: [other], args: [-x], env: {A: b}}\n"
	      "files:\n  rc: {mode: \"0640\", content: \"x {port}\"}\n"
	      "delivery: {kind: mbox, path: \"{workdir}/m\", adds_headers: [Received]}\ndeletes: true\n"
	      "success_exit: [0, 1]\nmkdirs: [\"{workdir}/Maildir/new\", md/cur]\n",
	      f);
	fclose(f);
	struct cprofile p;
	struct p3err err = {0};
	ck_assert_msg(cprofile_load(path, &p, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(p.name, "t");
	ck_assert_uint_eq(p.ncommand, 2);
	ck_assert_ptr_nonnull(cprofile_mode(&p, "stls"));
	ck_assert_ptr_null(cprofile_mode(&p, "apop"));
	const struct cmode *m = cprofile_mode(&p, "implicit_tls");
	ck_assert(m && m->ncommand == 1 && m->nargs == 1 && m->nenv == 1);
	ck_assert_int_eq(p.files[0].mode, 0640);
	ck_assert_int_eq(p.delivery, DELIVERY_MBOX);
	ck_assert(p.deletes);
	ck_assert_str_eq(p.dir, dir);
	ck_assert(cprofile_success(&p, 0) && cprofile_success(&p, 1) && !cprofile_success(&p, 2));
	ck_assert_uint_eq(p.nmkdirs, 2);
	ck_assert_str_eq(p.mkdirs[1], "md/cur");
	/* mkdirs are made (with their parents) before the client starts. */
	struct cvars v = {.workdir = dir, .profile_dir = dir, .bin = dir};
	char out[160], errp[160], made[160];
	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(errp, sizeof errp, "%s/err", dir);
	free(p.command[1]);
	p.command[1] = strdup("-c");
	free(p.command[0]);
	p.command[0] = strdup("true");
	struct cproc proc;
	ck_assert_msg(cproc_start(&p, NULL, 0, &v, out, errp, &proc, &err) == 0, "%s", err.msg);
	while (!cproc_poll(&proc))
		usleep(10000);
	struct stat st;
	snprintf(made, sizeof made, "%s/Maildir/new", dir);
	ck_assert(stat(made, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(made, sizeof made, "%s/md/cur", dir);
	ck_assert(stat(made, &st) == 0 && S_ISDIR(st.st_mode));
	cprofile_free(&p);
	char rm[200];
	snprintf(rm, sizeof rm, "rm -rf '%s/Maildir' '%s/md'", dir, dir);
	ck_assert_int_eq(system(rm), 0);
	unlink(out);
	unlink(errp);
	snprintf(made, sizeof made, "%s/rc", dir);
	unlink(made);
	f = fopen(path, "w");
	fputs("name: t\ncommand: [prog]\ndelivery: {kind: maildir}\n", f); /* maildir without path */
	fclose(f);
	ck_assert_int_eq(cprofile_load(path, &p, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "p.yaml:3:"));
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(load_client_scenario)
{
	const char *y = "id: clients/x/y\ntitle: T\nrefs: [C1939-DELE-1]\nlevel: MUST\nfixture: three\n"
	                "modes: [delete]\nserver: {chunk: 1, stls: refuse, cert: expired,\n"
	                "  replies: [{command: pass, reply: \"-ERR [IN-USE] x\\r\\n\", close: true}]}\n"
	                "expect: [{dele_after_retr: true}, {exit: zero}, {delivered: [1, 2]}]\n";
	struct load_opts o = {.client_parse = cscen_parse};
	struct scenario *sc = NULL;
	struct p3err err = {0};
	ck_assert_msg(load_scenario_mem("x.yaml", y, strlen(y), &o, &sc, &err) == 0, "%s", err.msg);
	const struct cscen *cs = sc->client;
	ck_assert_uint_eq(cs->srv.chunk, 1);
	ck_assert_int_eq(cs->srv.stls, STLS_REFUSE);
	ck_assert_int_eq(cs->srv.cert, CERT_EXPIRED);
	ck_assert_str_eq(cs->srv.replies[0].command, "PASS");
	ck_assert_uint_eq(cs->srv.replies[0].reply.len, 17);
	ck_assert_uint_eq(cs->nexpect, 3);
	ck_assert_uint_eq(cs->expect[2].nmsgs, 2);
	scenario_free(sc);
	/* Two checks in one expectation, and steps in a client scenario, are errors. */
	const char *bad =
	    "id: a/b\ntitle: T\nrefs: [C1939-DELE-1]\nlevel: MUST\nexpect: [{quit: true, exit: zero}]\n";
	ck_assert_int_eq(load_scenario_mem("b.yaml", bad, strlen(bad), &o, &sc, &err), -1);
	const char *steps = "id: a/b\ntitle: T\nrefs: [C1939-DELE-1]\nlevel: MUST\nsteps: []\nexpect: []\n";
	ck_assert_int_eq(load_scenario_mem("c.yaml", steps, strlen(steps), &o, &sc, &err), -1);
}
END_TEST

Suite *client_suite(void)
{
	Suite *su = suite_create("client");
	TCase *tc = tcase_create("server");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, greeting_has_timestamp);
	tcase_add_test(tc, capa_stls_only_before_tls);
	tcase_add_test(tc, stls_refused_and_absent);
	tcase_add_test(tc, user_pass_wrong_then_right);
	tcase_add_test(tc, apop_login);
	tcase_add_test(tc, auth_plain_login_cram_and_cancel);
	tcase_add_test(tc, retr_is_stuffed_and_terminated);
	tcase_add_test(tc, dele_commits_only_at_quit);
	tcase_add_test(tc, overrides_and_close_after);
	tcase_add_test(tc, pad_status_lines);
	tcase_add_test(tc, scenario_password);
	tcase_add_test(tc, login_override_meets_apop_and_sasl);
	suite_add_tcase(su, tc);
	TCase *tj = tcase_create("judge");
	tcase_add_test(tj, judge_grammar_and_state);
	tcase_add_test(tj, delivery_comparison);
	tcase_add_test(tj, placeholders);
	tcase_add_test(tj, load_client_scenario);
	tcase_add_test(tj, load_profile);
	suite_add_tcase(su, tj);
	return su;
}
