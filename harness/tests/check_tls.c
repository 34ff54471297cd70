/* check_tls.c — unit tests for lib/tls with real handshakes over 127.0.0.1: verification by address and
 * name, wrong names and CAs refused, no client certificate request, TLS 1.2 minimum and version pinning. */
#include <string.h>
#include <check.h>
#include <openssl/err.h>
#include "lib/conn.h"
#include "lib/tls.h"
#include "lib_testpeer.h"

Suite *tls_suite(void);

static struct tp_certs certs;

static void certs_up(void)
{
	ck_assert_int_eq(tp_certs_make(&certs), 0);
}

static void certs_down(void)
{
	tp_certs_remove(&certs);
}

static SSL_CTX *server_ctx(void)
{
	struct p3err e;
	SSL_CTX *ctx = tls_server_ctx(certs.cert, certs.key, &e);

	ck_assert_msg(ctx != NULL, "%s", e.msg);
	return ctx;
}

/* The peer: TLS handshake, then echo lines until EOF. result: 1 handshake done, -1 refused. */
static void tls_echo(struct tp_peer *p)
{
	char line[512];
	ssize_t n;

	if (tp_tls_accept(p) < 0) {
		p->result = -1;
		return;
	}
	p->result = 1;
	while ((n = tp_recv_line(p, line, sizeof line)) > 0)
		tp_send(p, line, (size_t)n);
	SSL_shutdown(p->ssl);
}

/* Connect to a tls_echo peer with `copts`, host and sni; returns the handshake status, err in e and the
 * session description in desc. */
static enum conn_status handshake(SSL_CTX *sctx, SSL_CTX *cctx, const char *host, const char *sni,
                                  struct p3err *e, char *desc, size_t descsize, int *peer_result)
{
	struct tp_peer p;
	struct conn *c;
	enum conn_status st;

	ck_assert_int_eq(tp_start(&p, tls_echo, sctx, NULL), 0);
	ck_assert_msg(conn_open(&c, host, p.port, 5000, e) == CONN_OK, "%s", e->msg);
	st = conn_start_tls(c, cctx, sni, 5000, NULL, e);
	if (st == CONN_OK) {
		const char *line;
		struct line ln;
		struct p3err e2;

		ck_assert(conn_is_tls(c));
		tls_describe(conn_ssl(c), desc, descsize);
		ck_assert_int_eq(conn_write(c, "ping\r\n", 6, 5000, &e2), CONN_OK);
		ck_assert_int_eq(conn_read_line(c, 0, 5000, &line, &ln, &e2), CONN_OK);
		ck_assert_uint_eq(ln.len, 4);
		ck_assert_int_eq(memcmp(line, "ping", 4), 0);
	} else {
		ck_assert(!conn_is_tls(c));
	}
	conn_close(c);
	tp_join(&p);
	*peer_result = p.result;
	return st;
}

static SSL_CTX *client_ctx(int verify, const char *ca, int minv, int maxv)
{
	struct tls_client_opts o = {
	    .verify = verify, .ca_file = ca, .min_version = minv, .max_version = maxv};
	struct p3err e;
	SSL_CTX *ctx = tls_client_ctx(&o, &e);

	ck_assert_msg(ctx != NULL, "%s", e.msg);
	return ctx;
}

START_TEST(server_ctx_settings)
{
	SSL_CTX *ctx = server_ctx();

	ck_assert_int_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	ck_assert_int_eq(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_NONE);
	SSL_CTX_free(ctx);
}
END_TEST

START_TEST(server_ctx_errors_name_the_file)
{
	struct p3err e;

	ck_assert_ptr_null(tls_server_ctx("/nonexistent/cert.pem", certs.key, &e));
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/cert.pem"));
	ck_assert_ptr_null(tls_server_ctx(certs.cert, "/nonexistent/key.pem", &e));
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/key.pem"));
	/* The CA's certificate with the server's key: a mismatch. */
	ck_assert_ptr_null(tls_server_ctx(certs.ca, certs.key, &e));
	ck_assert_msg(strstr(e.msg, "match") != NULL && strstr(e.msg, certs.key) != NULL, "%s", e.msg);
	ck_assert_uint_eq(ERR_peek_error(), 0);
}
END_TEST

START_TEST(client_ctx_errors)
{
	struct tls_client_opts o = {.verify = 1, .ca_file = "/nonexistent/ca.pem"};
	struct p3err e;

	ck_assert_ptr_null(tls_client_ctx(&o, &e));
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/ca.pem"));
	o.ca_file = NULL;
	o.ciphers = "NO-SUCH-CIPHER";
	ck_assert_ptr_null(tls_client_ctx(&o, &e));
	ck_assert_ptr_nonnull(strstr(e.msg, "NO-SUCH-CIPHER"));
}
END_TEST

START_TEST(verified_by_address_and_name)
{
	SSL_CTX *s = server_ctx(), *c = client_ctx(1, certs.ca, 0, 0);
	struct p3err e;
	char desc[128];
	int pr;

	ck_assert_msg(handshake(s, c, "127.0.0.1", NULL, &e, desc, sizeof desc, &pr) == CONN_OK, "%s", e.msg);
	ck_assert_msg(strncmp(desc, "TLSv1.3 TLS_", 12) == 0, "%s", desc);
	ck_assert_msg(handshake(s, c, "127.0.0.1", "localhost", &e, desc, sizeof desc, &pr) == CONN_OK, "%s",
	              e.msg);
	/* "localhost" may resolve to ::1 first, where nothing listens: the next address is tried. */
	ck_assert_msg(handshake(s, c, "localhost", NULL, &e, desc, sizeof desc, &pr) == CONN_OK, "%s", e.msg);
	SSL_CTX_free(s);
	SSL_CTX_free(c);
}
END_TEST

START_TEST(wrong_name_refused)
{
	SSL_CTX *s = server_ctx(), *c = client_ctx(1, certs.ca, 0, 0);
	struct p3err e;
	char desc[128];
	int pr;

	ck_assert_int_eq(handshake(s, c, "127.0.0.1", "pop.example.org", &e, desc, sizeof desc, &pr),
	                 CONN_ERROR);
	ck_assert_msg(strstr(e.msg, "verification failed") && strstr(e.msg, "mismatch"), "%s", e.msg);
	ck_assert_int_eq(handshake(s, c, "127.0.0.1", "127.0.0.2", &e, desc, sizeof desc, &pr), CONN_ERROR);
	ck_assert_msg(strstr(e.msg, "IP address mismatch") != NULL, "%s", e.msg);
	SSL_CTX_free(s);
	SSL_CTX_free(c);
}
END_TEST

START_TEST(unknown_ca_refused_unless_not_verifying)
{
	SSL_CTX *s = server_ctx(), *c = client_ctx(1, certs.other_ca, 0, 0), *nv = client_ctx(0, NULL, 0, 0);
	struct p3err e;
	char desc[128];
	int pr;

	ck_assert_int_eq(handshake(s, c, "127.0.0.1", NULL, &e, desc, sizeof desc, &pr), CONN_ERROR);
	ck_assert_msg(strstr(e.msg, "verification failed") != NULL, "%s", e.msg);
	ck_assert_msg(handshake(s, nv, "127.0.0.1", "wrong.example", &e, desc, sizeof desc, &pr) == CONN_OK,
	              "%s", e.msg);
	SSL_CTX_free(s);
	SSL_CTX_free(c);
	SSL_CTX_free(nv);
}
END_TEST

static int cert_requests;

static int count_cert_request(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
	cert_requests++;
	return 0; /* no certificate to offer */
}

START_TEST(no_client_certificate_request)
{
	SSL_CTX *s = server_ctx(), *c = client_ctx(0, NULL, 0, 0);
	struct p3err e;
	char desc[128];
	int pr;

	SSL_CTX_set_client_cert_cb(c, count_cert_request);
	cert_requests = 0;
	ck_assert_msg(handshake(s, c, "127.0.0.1", NULL, &e, desc, sizeof desc, &pr) == CONN_OK, "%s", e.msg);
	ck_assert_int_eq(cert_requests, 0);
	/* The control: a server that does request one is seen doing so. */
	SSL_CTX_set_verify(s, SSL_VERIFY_PEER, NULL);
	ck_assert_msg(handshake(s, c, "127.0.0.1", NULL, &e, desc, sizeof desc, &pr) == CONN_OK, "%s", e.msg);
	ck_assert_int_eq(cert_requests, 1);
	SSL_CTX_free(s);
	SSL_CTX_free(c);
}
END_TEST

START_TEST(pinned_tls12)
{
	SSL_CTX *s = server_ctx(), *c = client_ctx(1, certs.ca, TLS1_2_VERSION, TLS1_2_VERSION);
	struct p3err e;
	char desc[128];
	int pr;

	ck_assert_msg(handshake(s, c, "127.0.0.1", NULL, &e, desc, sizeof desc, &pr) == CONN_OK, "%s", e.msg);
	ck_assert_msg(strncmp(desc, "TLSv1.2 ", 8) == 0, "%s", desc);
	SSL_CTX_free(s);
	SSL_CTX_free(c);
}
END_TEST

START_TEST(old_versions_refused)
{
	SSL_CTX *s = server_ctx(), *c = client_ctx(0, NULL, TLS1_VERSION, TLS1_1_VERSION);
	SSL_CTX *lax = server_ctx();
	struct p3err e;
	char desc[128];
	int pr;

	/* RFC 8314 §4.1: our server refuses TLS 1.0 and 1.1 ... */
	ck_assert_int_eq(handshake(s, c, "127.0.0.1", NULL, &e, desc, sizeof desc, &pr), CONN_ERROR);
	ck_assert_msg(strstr(e.msg, "protocol version") != NULL, "%s", e.msg);
	ck_assert_int_eq(pr, -1);
	/* ... while the pinned client really speaks them: a server that allows TLS 1.1 gets it. */
	SSL_CTX_set_min_proto_version(lax, TLS1_VERSION);
	SSL_CTX_set_security_level(lax, 0);
	SSL_CTX_set_cipher_list(lax, "DEFAULT:@SECLEVEL=0"); /* ours allows only TLS 1.2+ AEAD suites */
	ck_assert_msg(handshake(lax, c, "127.0.0.1", NULL, &e, desc, sizeof desc, &pr) == CONN_OK, "%s",
	              e.msg);
	ck_assert_msg(strncmp(desc, "TLSv1.1 ", 8) == 0, "%s", desc);
	SSL_CTX_free(s);
	SSL_CTX_free(lax);
	SSL_CTX_free(c);
}
END_TEST

Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("handshakes");

	tcase_add_unchecked_fixture(tc, certs_up, certs_down);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, server_ctx_settings);
	tcase_add_test(tc, server_ctx_errors_name_the_file);
	tcase_add_test(tc, client_ctx_errors);
	tcase_add_test(tc, verified_by_address_and_name);
	tcase_add_test(tc, wrong_name_refused);
	tcase_add_test(tc, unknown_ca_refused_unless_not_verifying);
	tcase_add_test(tc, no_client_certificate_request);
	tcase_add_test(tc, pinned_tls12);
	tcase_add_test(tc, old_versions_refused);
	suite_add_tcase(s, tc);
	return s;
}
