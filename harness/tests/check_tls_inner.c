/* check_tls_inner.c — unit tests for lib/tls_inner over real sockets on 127.0.0.1 with a scripted peer
 * thread: the handshake's records pumped through a connection complete against a real TLS server, and a
 * POP3 line instead of records, silence and a close each end it with the reason. */
#include <string.h>
#include <time.h>
#include <check.h>
#include "lib/conn.h"
#include "lib/tls.h"
#include "lib/tls_inner.h"
#include "lib_testpeer.h"

Suite *tls_inner_suite(void);

static struct tp_certs certs;
static struct tp_peer peer;
static struct conn *cn;
static struct p3err err;
static SSL_CTX *sctx, *cctx;

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void up(void)
{
	struct tls_client_opts o = {.verify = 0};
	struct p3err e;

	ck_assert_int_eq(tp_certs_make(&certs), 0);
	sctx = tls_server_ctx(certs.cert, certs.key, &e);
	ck_assert_msg(sctx != NULL, "%s", e.msg);
	cctx = tls_client_ctx(&o, &e);
	ck_assert_msg(cctx != NULL, "%s", e.msg);
}

static void down(void)
{
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	tp_certs_remove(&certs);
}

/* The peer is reached over a plain connection: the inner handshake does not care what carries it. */
static void start(tp_script_fn script)
{
	ck_assert_int_eq(tp_start(&peer, script, sctx, NULL), 0);
	ck_assert_msg(conn_open(&cn, "127.0.0.1", peer.port, 5000, &err) == CONN_OK, "%s", err.msg);
}

static void finish(void)
{
	conn_close(cn);
	cn = NULL;
	tp_join(&peer);
}

static void accept_tls(struct tp_peer *p)
{
	p->result = tp_tls_accept(p) == 0;
}

static void say_err(struct tp_peer *p)
{
	tp_sends(p, "-ERR not now\r\n");
	tp_sleep_ms(500);
}

static void stay_silent(struct tp_peer *p)
{
	(void)p;
	tp_sleep_ms(1500);
}

static void hang_up(struct tp_peer *p)
{
	(void)p;
	tp_sleep_ms(100);
}

START_TEST(handshake_completes)
{
	struct tls_inner_result r;

	start(accept_tls);
	ck_assert_int_eq(tls_inner_handshake(cn, cctx, "localhost", 5000, &r, &err), 0);
	ck_assert_msg(r.ok, "%s", r.why);
	ck_assert_msg(strncmp(r.desc, "TLSv1.", 6) == 0, "%s", r.desc);
	ck_assert_int_eq(r.timed_out, 0);
	finish();
	ck_assert_int_eq(peer.result, 1);
}
END_TEST

START_TEST(a_line_instead_of_records)
{
	struct tls_inner_result r;

	start(say_err);
	ck_assert_int_eq(tls_inner_handshake(cn, cctx, "127.0.0.1", 5000, &r, &err), 0);
	ck_assert_int_eq(r.ok, 0);
	/* The reason shows what came instead, escaped. */
	ck_assert_msg(strstr(r.why, "(the server sent '-ERR not now\\r\\n')") != NULL, "%s", r.why);
	finish();
}
END_TEST

START_TEST(silence_times_out)
{
	struct tls_inner_result r;
	long long t0 = ms_now();

	start(stay_silent);
	ck_assert_int_eq(tls_inner_handshake(cn, cctx, "localhost", 300, &r, &err), 0);
	ck_assert_int_eq(r.ok, 0);
	ck_assert_int_eq(r.timed_out, 1);
	ck_assert_str_eq(r.why, "no TLS answer within 0.3 s");
	ck_assert_int_lt(ms_now() - t0, 1400);
	finish();
}
END_TEST

START_TEST(a_close_ends_it)
{
	struct tls_inner_result r;

	start(hang_up);
	ck_assert_int_eq(tls_inner_handshake(cn, cctx, "localhost", 5000, &r, &err), 0);
	ck_assert_int_eq(r.ok, 0);
	ck_assert_int_eq(r.timed_out, 0);
	ck_assert_msg(r.why[0] != '\0', "a reason");
	finish();
}
END_TEST

Suite *tls_inner_suite(void)
{
	Suite *s = suite_create("tls_inner");
	TCase *tc = tcase_create("inner");

	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, up, down);
	tcase_add_test(tc, handshake_completes);
	tcase_add_test(tc, a_line_instead_of_records);
	tcase_add_test(tc, silence_times_out);
	tcase_add_test(tc, a_close_ends_it);
	suite_add_tcase(s, tc);
	return s;
}
