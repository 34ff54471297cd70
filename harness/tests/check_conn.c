/* check_conn.c — unit tests for lib/conn over real sockets on 127.0.0.1 with a scripted peer thread:
 * lines, deadlines against silent and trickling peers, over-long lines, EOF mid-line, resets, half-close,
 * STLS discarding injected plaintext, TLS close_notify tracking, SIGPIPE safety. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <check.h>
#include "lib/conn.h"
#include "lib/tls.h"
#include "lib_testpeer.h"

Suite *conn_suite(void);

static struct tp_certs certs;
static struct tp_peer peer;
static struct conn *cn;
static struct p3err err;

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start a peer with `script` (plain, or ready for TLS with ctx) and connect to it. */
static void start(tp_script_fn script, SSL_CTX *ctx, void *arg)
{
	ck_assert_int_eq(tp_start(&peer, script, ctx, arg), 0);
	ck_assert_msg(conn_open(&cn, "127.0.0.1", peer.port, 5000, &err) == CONN_OK, "%s", err.msg);
}

static void finish(void)
{
	conn_close(cn);
	cn = NULL;
	tp_join(&peer);
}

static void expect_line(const char *want, int timeout_ms)
{
	const char *line;
	struct line ln;
	enum conn_status st = conn_read_line(cn, 0, timeout_ms, &line, &ln, &err);

	ck_assert_msg(st == CONN_OK, "status %d: %s", st, err.msg);
	ck_assert_msg(ln.len == strlen(want) && memcmp(line, want, ln.len) == 0, "got \"%.*s\", want \"%s\"",
	              (int)ln.len, line, want);
}

/* --- scripts -------------------------------------------------------------------------------------- */

static void say_lines(struct tp_peer *p)
{
	tp_sends(p, "+OK one\r\n+OK two\nthree\r\n");
	tp_sleep_ms(200);
}

static void silent(struct tp_peer *p)
{
	char buf[16];

	recv(p->fd, buf, sizeof buf, 0); /* until the client closes */
}

static void trickle(struct tp_peer *p)
{
	const char *s = p->arg;

	for (; *s; s++) {
		tp_send(p, s, 1);
		tp_sleep_ms(40);
	}
	tp_sleep_ms(200);
}

static void endless(struct tp_peer *p)
{
	char *blob = malloc(64 * 1024);

	memset(blob, 'x', 64 * 1024);
	for (int i = 0; i < 40 && tp_send(p, blob, 64 * 1024) == 0; i++)
		;
	free(blob);
}

static void half_line_then_close(struct tp_peer *p)
{
	tp_sends(p, "+OK done\r\n+OK part");
}

static void reset(struct tp_peer *p)
{
	struct linger lg = {1, 0};

	tp_sends(p, "+OK bye\r\n");
	tp_sleep_ms(100);
	setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(p->fd);
	p->fd = -1;
	tp_sleep_ms(100);
}

static void echo(struct tp_peer *p)
{
	char line[2048];
	ssize_t n;

	while ((n = tp_recv_line(p, line, sizeof line)) > 0)
		if (tp_send(p, line, (size_t)n) < 0)
			break;
	p->result = 1; /* saw EOF */
	if (n == 0)
		tp_sends(p, "+OK after half-close\r\n");
}

static void never_read(struct tp_peer *p)
{
	tp_sleep_ms(1500);
}

static void record_recv(struct tp_peer *p)
{
	char buf[16];
	ssize_t n = recv(p->fd, buf, sizeof buf, 0);

	p->result = n < 0 ? errno : 0;
}

/* STLS as a server must not do it: plaintext after the +OK, then the handshake. */
static void stls_inject(struct tp_peer *p)
{
	char line[256];

	tp_recv_line(p, line, sizeof line);
	tp_sends(p, "+OK begin TLS\r\nDELE 1\r\n");
	if (tp_tls_accept(p) < 0)
		return;
	while (tp_recv_line(p, line, sizeof line) > 0)
		tp_sends(p, "+OK over TLS\r\n");
}

static void tls_close(struct tp_peer *p)
{
	int notify = *(int *)p->arg;

	if (tp_tls_accept(p) < 0)
		return;
	tp_sends(p, "+OK hello\r\n+OK half");
	if (notify)
		SSL_shutdown(p->ssl);
}

static void tls_silent(struct tp_peer *p)
{
	char buf[16];

	if (tp_tls_accept(p) < 0)
		return;
	SSL_read(p->ssl, buf, sizeof buf);
}

static void garbage_instead_of_tls(struct tp_peer *p)
{
	tp_sleep_ms(50);
	tp_sends(p, "-ERR what is this\r\n");
}

/* --- plain ---------------------------------------------------------------------------------------- */

START_TEST(lines_and_line_ends)
{
	const char *line;
	struct line ln;

	start(say_lines, NULL, NULL);
	ck_assert(!conn_is_tls(cn));
	ck_assert_int_eq(conn_tls_clean_shutdown(cn), -1);
	expect_line("+OK one", 2000);
	ck_assert_int_eq(conn_read_line(cn, 0, 2000, &line, &ln, &err), CONN_OK);
	ck_assert_int_eq(ln.flags, LINE_BARE_LF);
	ck_assert_int_eq(memcmp(line, "+OK two", 7), 0);
	expect_line("three", 2000);
	ck_assert_int_eq(conn_read_line(cn, 0, 2000, &line, &ln, &err), CONN_EOF);
	ck_assert_uint_eq(ln.len, 0);
	finish();
}
END_TEST

START_TEST(refused)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct conn *c = NULL;
	char port[16];

	/* A port that was free a moment ago: nothing listens there. */
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	ck_assert_int_eq(conn_open(&c, "127.0.0.1", ntohs(a.sin_port), 2000, &err), CONN_ERROR);
	ck_assert_ptr_null(c);
	snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
	ck_assert_msg(strstr(err.msg, "refused") && strstr(err.msg, "127.0.0.1") && strstr(err.msg, port),
	              "%s", err.msg);
	/* The errno travels with the message: the runner's connect retry decides on it. */
	ck_assert_int_eq(err.errnum, ECONNREFUSED);
	ck_assert_int_eq(conn_open(&c, "no-such-host.invalid", 110, 2000, &err), CONN_ERROR);
	ck_assert_ptr_nonnull(strstr(err.msg, "no-such-host.invalid"));
	ck_assert_int_eq(err.errnum, 0);
}
END_TEST

START_TEST(read_timeout)
{
	const char *line;
	struct line ln;
	long long t0;

	start(silent, NULL, NULL);
	t0 = ms_now();
	ck_assert_int_eq(conn_read_line(cn, 0, 300, &line, &ln, &err), CONN_TIMEOUT);
	ck_assert_int_ge(ms_now() - t0, 290);
	ck_assert_int_lt(ms_now() - t0, 2000);
	t0 = ms_now();
	ck_assert_int_eq(conn_poll_data(cn, 200, &err), CONN_TIMEOUT);
	ck_assert_int_ge(ms_now() - t0, 190);
	finish();
}
END_TEST

START_TEST(trickle_cannot_extend_deadline)
{
	const char *line;
	struct line ln;
	long long t0 = ms_now();

	/* 15 octets at 40 ms each take 600 ms; a 300 ms deadline holds although octets keep coming. */
	start(trickle, NULL, "+OK trickled\r\n");
	ck_assert_int_eq(conn_read_line(cn, 0, 300, &line, &ln, &err), CONN_TIMEOUT);
	ck_assert_int_lt(ms_now() - t0, 1500); /* the status already shows the deadline held */
	/* What came is kept: the next call completes the line. */
	expect_line("+OK trickled", 3000);
	finish();
}
END_TEST

START_TEST(over_long_lines)
{
	const char *line;
	struct line ln;
	size_t total = 0;
	enum conn_status st;

	start(endless, NULL, NULL);
	ck_assert_int_eq(conn_read_line(cn, 512, 5000, &line, &ln, &err), CONN_TOO_LONG);
	ck_assert_uint_eq(ln.len, 512);
	ck_assert_int_eq(line[0], 'x');
	/* Without a limit of its own the line still stops at CONN_BUF_MAX, and the buffer with it. */
	ck_assert_int_eq(conn_read_line(cn, 0, 5000, &line, &ln, &err), CONN_TOO_LONG);
	ck_assert_uint_eq(ln.len, CONN_BUF_MAX);
	ck_assert_int_eq(conn_read_line(cn, 10 * CONN_BUF_MAX, 5000, &line, &ln, &err), CONN_TOO_LONG);
	ck_assert_uint_eq(ln.len, CONN_BUF_MAX);
	ck_assert_uint_le(conn_buffered(cn), CONN_BUF_MAX);
	/* Reading on drains the rest (40 x 64 KiB sent) and ends with EOF. */
	total = 512 + 2 * (size_t)CONN_BUF_MAX;
	while ((st = conn_read_line(cn, 4096, 5000, &line, &ln, &err)) == CONN_TOO_LONG)
		total += ln.len;
	ck_assert_int_eq(st, CONN_EOF);
	total += ln.len;
	ck_assert_uint_eq(total, 40 * 64 * 1024);
	finish();
}
END_TEST

START_TEST(eof_mid_line)
{
	const char *line;
	struct line ln;

	start(half_line_then_close, NULL, NULL);
	expect_line("+OK done", 2000);
	ck_assert_int_eq(conn_read_line(cn, 0, 2000, &line, &ln, &err), CONN_EOF);
	ck_assert_uint_eq(ln.len, 8);
	ck_assert_int_eq(memcmp(line, "+OK part", 8), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "closed"));
	/* The partial line is handed over once. */
	ck_assert_int_eq(conn_read_line(cn, 0, 2000, &line, &ln, &err), CONN_EOF);
	ck_assert_uint_eq(ln.len, 0);
	ck_assert_int_eq(conn_poll_data(cn, 100, &err), CONN_EOF);
	ck_assert_int_eq(conn_peer_reset(cn), 0);
	finish();
}
END_TEST

START_TEST(peer_reset)
{
	const char *line;
	struct line ln;
	enum conn_status st;

	start(reset, NULL, NULL);
	expect_line("+OK bye", 2000);
	st = conn_read_line(cn, 0, 2000, &line, &ln, &err);
	ck_assert_int_eq(st, CONN_EOF);
	ck_assert_int_eq(conn_peer_reset(cn), 1);
	ck_assert_ptr_nonnull(strstr(err.msg, "reset"));
	finish();
}
END_TEST

START_TEST(write_and_echo)
{
	size_t n = 100 * 1000;
	char *big = malloc(n);

	start(echo, NULL, NULL);
	/* Lines of 999 octets and a line end, larger than the socket buffers together. */
	for (size_t i = 0; i < n; i++)
		big[i] = i % 1000 == 999 ? '\n' : (char)('a' + i % 26);
	ck_assert_msg(conn_write(cn, big, n, 5000, &err) == CONN_OK, "%s", err.msg);
	for (size_t k = 0; k < n / 1000; k++) {
		const char *line;
		struct line ln;
		ck_assert_int_eq(conn_read_line(cn, 0, 5000, &line, &ln, &err), CONN_OK);
		ck_assert_uint_eq(ln.len, 999);
		ck_assert_int_eq(memcmp(line, big + k * 1000, 999), 0);
	}
	free(big);
	finish();
}
END_TEST

START_TEST(write_timeout)
{
	size_t n = 32 * 1024 * 1024;
	char *big = calloc(1, n);
	long long t0 = ms_now();

	start(never_read, NULL, NULL);
	ck_assert_int_eq(conn_write(cn, big, n, 300, &err), CONN_TIMEOUT);
	ck_assert_int_lt(ms_now() - t0, 1500);
	ck_assert_ptr_nonnull(strstr(err.msg, "timed out"));
	free(big);
	conn_abort(cn);
	tp_join(&peer);
}
END_TEST

START_TEST(write_after_peer_closed)
{
	const char *line;
	struct line ln;
	enum conn_status st = CONN_OK;

	start(half_line_then_close, NULL, NULL);
	expect_line("+OK done", 2000);
	tp_join(&peer);
	/* The first write may still be accepted; later ones meet the RST. No SIGPIPE kills us. */
	for (int i = 0; i < 20 && st == CONN_OK; i++) {
		st = conn_write(cn, "NOOP\r\n", 6, 1000, &err);
		usleep(10000);
	}
	ck_assert_int_eq(st, CONN_EOF);
	st = conn_read_line(cn, 0, 1000, &line, &ln, &err);
	ck_assert(st == CONN_EOF);
	conn_close(cn);
}
END_TEST

START_TEST(wait_close)
{
	size_t data = 0;

	start(half_line_then_close, NULL, NULL);
	ck_assert_int_eq(conn_wait_close(cn, 2000, 1000, &data, &err), CONN_EOF);
	ck_assert_uint_eq(data, 18);
	finish();

	start(silent, NULL, NULL);
	ck_assert_int_eq(conn_wait_close(cn, 200, 1000, &data, &err), CONN_TIMEOUT);
	ck_assert_uint_eq(data, 0);
	finish();

	start(endless, NULL, NULL);
	ck_assert_int_eq(conn_wait_close(cn, 5000, 100 * 1000, &data, &err), CONN_TOO_LONG);
	ck_assert_uint_gt(data, 100 * 1000);
	conn_abort(cn);
	tp_join(&peer);
}
END_TEST

START_TEST(poll_data)
{
	start(say_lines, NULL, NULL);
	ck_assert_int_eq(conn_poll_data(cn, 2000, &err), CONN_OK);
	ck_assert_uint_gt(conn_buffered(cn), 0);
	expect_line("+OK one", 0);
	ck_assert_int_eq(conn_poll_data(cn, 0, &err), CONN_OK); /* still buffered */
	finish();
}
END_TEST

START_TEST(half_close)
{
	start(echo, NULL, NULL);
	ck_assert_int_eq(conn_write(cn, "hi\r\n", 4, 2000, &err), CONN_OK);
	expect_line("hi", 2000);
	conn_shutdown_write(cn);
	/* The peer sees EOF, and can still answer. */
	expect_line("+OK after half-close", 2000);
	finish();
	ck_assert_int_eq(peer.result, 1);
}
END_TEST

START_TEST(abort_sends_rst)
{
	start(record_recv, NULL, NULL);
	tp_sleep_ms(50);
	conn_abort(cn);
	cn = NULL;
	tp_join(&peer);
	ck_assert_int_eq(peer.result, ECONNRESET);
}
END_TEST

/* --- TLS ------------------------------------------------------------------------------------------ */

static SSL_CTX *sctx, *cctx;

static void tls_up(void)
{
	struct tls_client_opts o = {.verify = 1};
	struct p3err e;

	ck_assert_int_eq(tp_certs_make(&certs), 0);
	sctx = tls_server_ctx(certs.cert, certs.key, &e);
	ck_assert_msg(sctx != NULL, "%s", e.msg);
	o.ca_file = certs.ca;
	cctx = tls_client_ctx(&o, &e);
	ck_assert_msg(cctx != NULL, "%s", e.msg);
}

static void tls_down(void)
{
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	tp_certs_remove(&certs);
}

START_TEST(stls_discards_injected_plaintext)
{
	size_t discarded = 99;
	const char *line;
	struct line ln;

	start(stls_inject, sctx, NULL);
	ck_assert_int_eq(conn_write(cn, "STLS\r\n", 6, 2000, &err), CONN_OK);
	/* Both lines come in one segment; the first is read, the second is buffered. */
	ck_assert_int_eq(conn_poll_data(cn, 2000, &err), CONN_OK);
	for (int i = 0; i < 20 && conn_buffered(cn) < 23; i++) {
		tp_sleep_ms(10);
		conn_poll_data(cn, 0, &err);
	}
	ck_assert_int_eq(conn_read_line(cn, 0, 2000, &line, &ln, &err), CONN_OK);
	ck_assert_int_eq(memcmp(line, "+OK begin TLS", 13), 0);
	ck_assert_msg(conn_start_tls(cn, cctx, NULL, 5000, &discarded, &err) == CONN_OK, "%s", err.msg);
	ck_assert_uint_eq(discarded, 8); /* "DELE 1\r\n" */
	ck_assert(conn_is_tls(cn));
	ck_assert_int_eq(conn_write(cn, "CAPA\r\n", 6, 2000, &err), CONN_OK);
	expect_line("+OK over TLS", 2000);
	/* Only once. */
	ck_assert_int_eq(conn_start_tls(cn, cctx, NULL, 1000, NULL, &err), CONN_ERROR);
	ck_assert_int_eq(conn_read_line(cn, 0, 100, &line, &ln, &err), CONN_TIMEOUT);
	finish();
}
END_TEST

START_TEST(tls_close_notify_tracked)
{
	int notify;
	const char *line;
	struct line ln;

	for (notify = 0; notify <= 1; notify++) {
		start(tls_close, sctx, &notify);
		ck_assert_msg(conn_start_tls(cn, cctx, NULL, 5000, NULL, &err) == CONN_OK, "%s", err.msg);
		expect_line("+OK hello", 2000);
		/* EOF mid-line over TLS: the partial line comes back. */
		ck_assert_int_eq(conn_read_line(cn, 0, 2000, &line, &ln, &err), CONN_EOF);
		ck_assert_uint_eq(ln.len, 8);
		ck_assert_int_eq(memcmp(line, "+OK half", 8), 0);
		ck_assert_int_eq(conn_tls_clean_shutdown(cn), notify);
		finish();
	}
}
END_TEST

START_TEST(tls_read_timeout_and_write_after_close)
{
	const char *line;
	struct line ln;
	long long t0;
	enum conn_status st = CONN_OK;

	start(tls_silent, sctx, NULL);
	ck_assert_msg(conn_start_tls(cn, cctx, NULL, 5000, NULL, &err) == CONN_OK, "%s", err.msg);
	t0 = ms_now();
	ck_assert_int_eq(conn_read_line(cn, 0, 300, &line, &ln, &err), CONN_TIMEOUT);
	ck_assert_int_ge(ms_now() - t0, 290);
	/* The peer reads one record and goes away without close_notify; writing on must not raise SIGPIPE. */
	ck_assert_int_eq(conn_write(cn, "QUIT\r\n", 6, 1000, &err), CONN_OK);
	tp_join(&peer);
	for (int i = 0; i < 20 && st == CONN_OK; i++) {
		st = conn_write(cn, "NOOP\r\n", 6, 1000, &err);
		usleep(10000);
	}
	ck_assert_int_ne(st, CONN_OK);
	conn_close(cn);
}
END_TEST

START_TEST(tls_handshake_failures)
{
	long long t0;

	/* A peer that answers the ClientHello with plaintext. */
	start(garbage_instead_of_tls, NULL, NULL);
	ck_assert_int_eq(conn_start_tls(cn, cctx, NULL, 5000, NULL, &err), CONN_ERROR);
	ck_assert_ptr_nonnull(strstr(err.msg, "TLS handshake with 127.0.0.1"));
	ck_assert(!conn_is_tls(cn));
	finish();
	/* A peer that never answers. */
	start(never_read, NULL, NULL);
	t0 = ms_now();
	ck_assert_int_eq(conn_start_tls(cn, cctx, NULL, 300, NULL, &err), CONN_TIMEOUT);
	ck_assert_int_lt(ms_now() - t0, 1500);
	ck_assert_ptr_nonnull(strstr(err.msg, "timed out"));
	finish();
}
END_TEST

Suite *conn_suite(void)
{
	Suite *s = suite_create("conn");
	TCase *plain = tcase_create("plain");
	TCase *tls = tcase_create("tls");

	tcase_set_timeout(plain, 30);
	tcase_add_test(plain, lines_and_line_ends);
	tcase_add_test(plain, refused);
	tcase_add_test(plain, read_timeout);
	tcase_add_test(plain, trickle_cannot_extend_deadline);
	tcase_add_test(plain, over_long_lines);
	tcase_add_test(plain, eof_mid_line);
	tcase_add_test(plain, peer_reset);
	tcase_add_test(plain, write_and_echo);
	tcase_add_test(plain, write_timeout);
	tcase_add_test(plain, write_after_peer_closed);
	tcase_add_test(plain, wait_close);
	tcase_add_test(plain, poll_data);
	tcase_add_test(plain, half_close);
	tcase_add_test(plain, abort_sends_rst);
	suite_add_tcase(s, plain);

	tcase_set_timeout(tls, 30);
	tcase_add_unchecked_fixture(tls, tls_up, tls_down);
	tcase_add_test(tls, stls_discards_injected_plaintext);
	tcase_add_test(tls, tls_close_notify_tracked);
	tcase_add_test(tls, tls_read_timeout_and_write_after_close);
	tcase_add_test(tls, tls_handshake_failures);
	suite_add_tcase(s, tls);
	return s;
}
