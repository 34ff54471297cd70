/* check_exec_hostile.c — unit tests for the executor against misbehaving servers (a thread on 127.0.0.1:0
 * plays one): never answering, trickling, flooding without CRLF, closing mid-response, lower-case status,
 * refusing, silent or wrong at set-up — each must end in fail or error within the step timeout, with
 * bounded memory. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <check.h>

#include "exec_testutil.h"
#include "runner/exec/exec.h"
#include "runner/scenario.h"

Suite *exec_hostile_suite(void);

/* ---- a tiny scripted server ------------------------------------------------------------------------- */

enum behaviour {
	CANNED,     /* send `data` at once, then read until the client goes (or close, with close_after) */
	SILENT,     /* accept and say nothing */
	TRICKLE,    /* greeting, then answer any command with "+OK " and one octet every 50 ms, forever */
	FLOOD,      /* greeting, then answer any command with endless octets and no line end */
	FLOOD_BODY, /* greeting, then "+OK" and a multi-line body whose one line never ends */
	MID_CLOSE,  /* greeting, then answer any command with two body lines and close */
	ONE_ONLY /* as CANNED for the first connection, and close the listener: later connects are refused */
};

struct server {
	int fd;
	int port;
	enum behaviour b;
	const char *data;
	size_t len;
	int close_after;
	volatile int stop;
	pthread_t tid;
};

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Wait for a command line (or the client leaving); 0 when a line came. */
static int wait_line(struct server *sv, int c)
{
	char buf[512];
	while (!sv->stop) {
		struct pollfd p = {c, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(c, buf, sizeof buf, 0);
		if (n <= 0)
			return -1;
		if (memchr(buf, '\n', (size_t)n))
			return 0;
	}
	return -1;
}

static void serve(struct server *sv, int c)
{
	static const char greet[] = "+OK test server <1.2@test>\r\n";
	char chunk[65536];
	switch (sv->b) {
	case CANNED:
	case ONE_ONLY:
		send_all(c, sv->data, sv->len);
		if (!sv->close_after)
			while (wait_line(sv, c) == 0)
				;
		break;
	case SILENT:
		while (wait_line(sv, c) == 0)
			;
		break;
	case TRICKLE:
		send_all(c, greet, sizeof greet - 1);
		if (wait_line(sv, c) != 0)
			break;
		send_all(c, "+OK ", 4);
		while (!sv->stop && send(c, "x", 1, MSG_NOSIGNAL) == 1)
			usleep(50000);
		break;
	case FLOOD:
	case FLOOD_BODY:
		send_all(c, greet, sizeof greet - 1);
		if (wait_line(sv, c) != 0)
			break;
		if (sv->b == FLOOD_BODY)
			send_all(c, "+OK here it comes\r\n", 19);
		memset(chunk, 'A', sizeof chunk);
		/* Up to 256 MiB, or until the client is gone. */
		for (int i = 0; i < 4096 && !sv->stop; i++)
			if (send(c, chunk, sizeof chunk, MSG_NOSIGNAL) <= 0)
				break;
		break;
	case MID_CLOSE:
		send_all(c, greet, sizeof greet - 1);
		if (wait_line(sv, c) != 0)
			break;
		send_all(c, "+OK 2 lines follow\r\nline one\r\nline two\r\n", 40);
		break;
	}
	close(c);
}

static void *server_main(void *arg)
{
	struct server *sv = arg;
	while (!sv->stop) {
		struct pollfd p = {sv->fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(sv->fd, NULL, NULL);
		if (c >= 0 && sv->b == ONE_ONLY) {
			close(sv->fd);
			sv->fd = -1;
		}
		if (c >= 0)
			serve(sv, c);
	}
	return NULL;
}

static void server_start(struct server *sv, enum behaviour b, const char *data, size_t len, int close_after)
{
	memset(sv, 0, sizeof *sv);
	sv->b = b;
	sv->data = data;
	sv->len = len;
	sv->close_after = close_after;
	sv->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(sv->fd, 0);
	struct sockaddr_in a = {
	    .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	ck_assert_int_eq(bind(sv->fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(sv->fd, 8), 0);
	ck_assert_int_eq(getsockname(sv->fd, (struct sockaddr *)&a, &al), 0);
	sv->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&sv->tid, NULL, server_main, sv), 0);
}

static void server_stop(struct server *sv)
{
	sv->stop = 1;
	pthread_join(sv->tid, NULL);
	if (sv->fd >= 0)
		close(sv->fd);
}

static struct server sv;

/* ---- hostile servers through exec_scenario ----------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Run steps as scenario test/NAME against 127.0.0.1:port (the TLS port too) with the step timeout. */
static void run_steps(struct step *steps, size_t n, const char *name, int port, double timeout,
                      struct result *r)
{
	char id[64];
	snprintf(id, sizeof id, "test/%s", name);
	struct target t;
	memset(&t, 0, sizeof t);
	t.name = (char *)name;
	t.host = (char *)"127.0.0.1";
	t.port = port;
	t.tls_port = port;
	struct account acct[2] = {{(char *)"a", (char *)"x", NULL}, {(char *)"b", (char *)"y", NULL}};
	struct exec_opts o = {.step_timeout = timeout, .jobs = 1, .fixtures_dir = "fixtures"};
	struct scenario sc;
	memset(&sc, 0, sizeof sc);
	sc.id = id;
	sc.title = (char *)name;
	sc.level = LEVEL_MUST;
	sc.steps = steps;
	sc.nsteps = n;
	struct probe p;
	memset(&p, 0, sizeof p);
	exec_scenario(&sc, &t, acct, &p, &o, r);
}

/* connect; send CMD (expecting `want`, multi-line when body); the result of exec_scenario. */
static void run_hostile(enum behaviour b, const char *cmd, int body, struct result *r, double *elapsed)
{
	server_start(&sv, b, NULL, 0, 0);
	struct expect e[1] = {tu_expect(WANT_OK)};
	e[0].multiline = body;
	struct step steps[2];
	memset(steps, 0, sizeof steps);
	steps[0].kind = STEP_CONNECT;
	steps[0].u.connect.read_greeting = true;
	steps[0].u.connect.verify = -1;
	steps[1].kind = STEP_SEND;
	steps[1].u.text = tu_sstr(cmd);
	steps[1].expect = e;
	steps[1].n_expect = 1;
	double t0 = now_s();
	run_steps(steps, 2, "hostile", sv.port, 1.0, r);
	*elapsed = now_s() - t0;
	server_stop(&sv);
}

START_TEST(never_answers)
{
	struct result r;
	double el;
	run_hostile(SILENT, "STAT", 0, &r, &el);
	ck_assert_int_eq(r.status, VERDICT_ERROR);
	ck_assert_ptr_nonnull(strstr(r.message, "step 1 (connect: plain)"));
	ck_assert_ptr_nonnull(strstr(r.message, "no greeting"));
	ck_assert(el < 2.5);
	result_free(&r);
}
END_TEST

START_TEST(trickles)
{
	struct result r;
	double el;
	run_hostile(TRICKLE, "STAT", 0, &r, &el);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(r.message, "step 2 (send: STAT)"));
	ck_assert_ptr_nonnull(strstr(r.actual, "no response within 1.0 s"));
	ck_assert_msg(el < 2.5, "took %.1f s", el);
	ck_assert_uint_gt(r.ntranscript, 2);
	result_free(&r);
}
END_TEST

START_TEST(floods_without_crlf)
{
	struct result r;
	double el;
	long before = maxrss_kb();
	run_hostile(FLOOD, "STAT", 0, &r, &el);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_str_eq(r.failed_ref, "R1939-GEN-7");
	ck_assert_msg(el < 2.5, "took %.1f s", el);
	result_free(&r);
	run_hostile(FLOOD_BODY, "RETR 1", 1, &r, &el);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(r.actual, "body line over"));
	ck_assert_msg(el < 2.5, "took %.1f s", el);
	/* Megabytes came; the runner held at most a line's worth (plus slack for the test itself). */
	long grown = maxrss_kb() - before;
	ck_assert_msg(grown < 16 * 1024, "RSS grew by %ld KiB", grown);
	result_free(&r);
}
END_TEST

START_TEST(closes_mid_response)
{
	struct result r;
	double el;
	run_hostile(MID_CLOSE, "RETR 1", 1, &r, &el);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_str_eq(r.failed_ref, "R1939-ML-1");
	ck_assert_ptr_nonnull(strstr(r.message, "step 2 (send: RETR 1)"));
	ck_assert(el < 2.5);
	result_free(&r);
}
END_TEST

START_TEST(lower_case_status)
{
	static const char text[] = "+ok hello\r\n";
	server_start(&sv, CANNED, text, sizeof text - 1, 0);
	struct target t;
	memset(&t, 0, sizeof t);
	t.host = (char *)"127.0.0.1";
	t.port = sv.port;
	struct account acct[2] = {{(char *)"a", (char *)"x", NULL}, {(char *)"b", (char *)"y", NULL}};
	struct exec_opts o = {.step_timeout = 1.0, .jobs = 1};
	struct step st;
	memset(&st, 0, sizeof st);
	st.kind = STEP_CONNECT;
	st.u.connect.read_greeting = true;
	st.u.connect.verify = -1;
	struct scenario sc;
	memset(&sc, 0, sizeof sc);
	sc.id = (char *)"test/lower";
	sc.level = LEVEL_MAY; /* a check on every response fails whatever the level */
	sc.steps = &st;
	sc.nsteps = 1;
	struct probe p;
	memset(&p, 0, sizeof p);
	struct result r;
	exec_scenario(&sc, &t, acct, &p, &o, &r);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_str_eq(r.failed_ref, "R1939-GEN-9");
	ck_assert_ptr_nonnull(strstr(r.message, "+ok hello"));
	result_free(&r);
	/* The probe does not stop the run for it: the server answered, badly. */
	struct probe pr;
	struct p3err err;
	ck_assert_int_eq(exec_probe(&t, &o, &pr, &err), 0);
	ck_assert_int_eq(pr.reachable, 1);
	ck_assert_str_eq(pr.greeting, "+ok hello");
	ck_assert_int_eq(pr.capa_ok, 0);
	ck_assert_int_eq(pr.gap, GAP_GREETING); /* unknown, not absent */
	ck_assert_msg(strstr(pr.gap_why, "R1939") || strstr(pr.gap_why, "upper case"), "%s", pr.gap_why);
	probe_free(&pr);
	server_stop(&sv);
}
END_TEST

START_TEST(refused_is_error)
{
	/* A port nothing listens on: bind one, then close it. */
	server_start(&sv, SILENT, NULL, 0, 0);
	int port = sv.port;
	server_stop(&sv);
	struct target t;
	memset(&t, 0, sizeof t);
	t.host = (char *)"127.0.0.1";
	t.port = port;
	struct exec_opts o = {.step_timeout = 1.0};
	struct probe p;
	struct p3err err;
	ck_assert_int_ne(exec_probe(&t, &o, &p, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "does not answer"));
	probe_free(&p);
}
END_TEST

/* A connect the kernel refuses (ECONNREFUSED: nothing listens any more) while the scenario's own first
 * session is open: the connect retry decides on the errno (exec_tls.c) and reports a possible limit on
 * connections per address, an error; any other connect failure is reported as it is. */
START_TEST(refused_second_connect_names_the_limit)
{
	server_start(&sv, ONE_ONLY, "+OK hi\r\n", 8, 0);
	struct step steps[2];
	memset(steps, 0, sizeof steps);
	for (int i = 0; i < 2; i++) {
		steps[i].kind = STEP_CONNECT;
		steps[i].session = (char *)(i == 0 ? "a" : "b");
		steps[i].u.connect.read_greeting = true;
		steps[i].u.connect.verify = -1;
	}
	struct result r;
	run_steps(steps, 2, "one-only", sv.port, 1.0, &r);
	server_stop(&sv);
	ck_assert_msg(r.status == VERDICT_ERROR, "%d %s", r.status, r.message);
	ck_assert_msg(strstr(r.message, "step 2") &&
	                  strstr(r.message, "refused the connection while 1 other session") &&
	                  strstr(r.message, "Connection refused"),
	              "%s", r.message);
	result_free(&r);
}
END_TEST

/* The verdict rule for setting a session up (docs/scenario-language.md, "Verdicts"): nothing to judge
 * (no answer in time, a close or reset without a word) is an error, as a refused connection is; anything
 * the server did send is judged, and fails. */
static void run_connect(enum behaviour b, const char *data, size_t len, int close_after, int tls, int want,
                        struct result *r)
{
	server_start(&sv, b, data, len, close_after);
	struct expect e[1] = {tu_expect(WANT_UNSET)};
	e[0].handshake = want;
	struct step st;
	memset(&st, 0, sizeof st);
	st.kind = STEP_CONNECT;
	st.u.connect.tls = tls;
	st.u.connect.read_greeting = true;
	st.u.connect.verify = 0;
	st.expect = e;
	st.n_expect = want >= 0;
	run_steps(&st, 1, "setup", sv.port, 0.5, r);
	server_stop(&sv);
}

START_TEST(setup_silence_errors_answers_fail)
{
	struct result r;
	/* Plain: closed before any greeting → error; half a greeting then a close → error; a wrong
	 * greeting → fail. */
	run_connect(CANNED, "", 0, 1, 0, -1, &r);
	ck_assert_msg(r.status == VERDICT_ERROR, "%d %s", r.status, r.message);
	ck_assert_msg(strstr(r.message, "no greeting") && strstr(r.message, "closed"), "%s", r.message);
	result_free(&r);
	run_connect(CANNED, "+OK half", 8, 1, 0, -1, &r);
	ck_assert_msg(r.status == VERDICT_ERROR, "%d %s", r.status, r.message);
	result_free(&r);
	run_connect(CANNED, "-ERR go away\r\n", 14, 1, 0, -1, &r);
	ck_assert_msg(r.status == VERDICT_FAIL, "%d %s", r.status, r.message);
	result_free(&r);
	/* Implicit TLS: a handshake never answered → error (it once failed, while a greeting never sent
	 * errored); closed unanswered → error; garbage instead of TLS → fail. */
	run_connect(SILENT, NULL, 0, 0, 1, -1, &r);
	ck_assert_msg(r.status == VERDICT_ERROR, "%d %s", r.status, r.message);
	ck_assert_msg(strstr(r.message, "no answer within the timeout") != NULL, "%s", r.message);
	result_free(&r);
	run_connect(CANNED, "", 0, 1, 1, 1, &r);
	ck_assert_msg(r.status == VERDICT_ERROR, "%d %s", r.status, r.message);
	result_free(&r);
	run_connect(CANNED, "+OK not TLS at all\r\n", 20, 0, 1, 1, &r);
	ck_assert_msg(r.status == VERDICT_FAIL, "%d %s", r.status, r.message);
	result_free(&r);
	/* `handshake: fail`: a close refuses (pass); silence tells nothing (error). */
	run_connect(CANNED, "", 0, 1, 1, 0, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%d %s", r.status, r.message);
	result_free(&r);
	run_connect(SILENT, NULL, 0, 0, 1, 0, &r);
	ck_assert_msg(r.status == VERDICT_ERROR, "%d %s", r.status, r.message);
	result_free(&r);
}
END_TEST

Suite *exec_hostile_suite(void)
{
	Suite *su = suite_create("exec_hostile");
	TCase *th = tcase_create("hostile");
	tcase_set_timeout(th, 30);
	tcase_add_test(th, never_answers);
	tcase_add_test(th, trickles);
	tcase_add_test(th, floods_without_crlf);
	tcase_add_test(th, closes_mid_response);
	tcase_add_test(th, lower_case_status);
	tcase_add_test(th, refused_is_error);
	tcase_add_test(th, refused_second_connect_names_the_limit);
	tcase_add_test(th, setup_silence_errors_answers_fail);
	suite_add_tcase(su, th);
	return su;
}
