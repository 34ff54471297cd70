/* tls_inner.c — a TLS client handshake inside an open connection, on memory BIOs (tls_inner.h). */
#include "lib/tls_inner.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>

#include "lib/line.h"
#include "lib/tls.h"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(long long deadline)
{
	long long l = deadline - now_ms();
	return l < 0 ? 0 : l > 0x7fffffff ? 0x7fffffff : (int)l;
}

/* Hand every octet the peer sent to the inner session's read BIO, waiting for some until the deadline.
 * The first octets are kept in seen[] (to show a POP3 line that came instead of records). */
static enum conn_status pull_records(struct conn *c, BIO *rbio, long long deadline, char *seen,
                                     size_t seensize, size_t *nseen, struct p3err *err)
{
	enum conn_status st = conn_poll_data(c, left_ms(deadline), err);
	if (st != CONN_OK)
		return st;
	while (conn_buffered(c) > 0) {
		const char *p;
		struct line ln;
		/* conn.h reads lines; a limit of exactly what is buffered returns every octet now (up to
		 * an LF, or all of them as CONN_TOO_LONG), whatever they are. */
		st = conn_read_line(c, conn_buffered(c), 0, &p, &ln, err);
		if (st != CONN_OK && st != CONN_TOO_LONG)
			return st;
		if (ln.consumed == 0 || BIO_write(rbio, p, (int)ln.consumed) != (int)ln.consumed)
			return p3err_set(err, "cannot buffer the inner TLS records"), CONN_ERROR;
		size_t k = ln.consumed < seensize - *nseen ? ln.consumed : seensize - *nseen;
		memcpy(seen + *nseen, p, k);
		*nseen += k;
	}
	return CONN_OK;
}

/* Send what the inner session wrote (ClientHello, Finished) through the connection. */
static enum conn_status push_records(struct conn *c, BIO *wbio, long long deadline, struct p3err *err)
{
	char buf[4096];
	int n;
	while ((n = BIO_read(wbio, buf, (int)sizeof buf)) > 0) {
		enum conn_status st = conn_write(c, buf, (size_t)n, left_ms(deadline), err);
		if (st != CONN_OK)
			return st;
	}
	return CONN_OK;
}

static int ip_literal(const char *name)
{
	unsigned char a[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

int tls_inner_handshake(struct conn *c, SSL_CTX *ctx, const char *sni, int timeout_ms,
                        struct tls_inner_result *r, struct p3err *err)
{
	memset(r, 0, sizeof *r);
	SSL *in = SSL_new(ctx);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	if (in == NULL || rb == NULL || wb == NULL) {
		SSL_free(in);
		BIO_free(rb);
		BIO_free(wb);
		return p3err_set(err, "out of memory");
	}
	SSL_set_bio(in, rb, wb);
	SSL_set_verify(in, SSL_VERIFY_NONE, NULL);
	SSL_set_connect_state(in);
	if (sni && !ip_literal(sni))
		SSL_set_tlsext_host_name(in, sni);
	long long deadline = now_ms() + timeout_ms;
	char seen[200];
	size_t nseen = 0;
	struct p3err e = {0};
	for (;;) {
		ERR_clear_error();
		int rc = SSL_do_handshake(in);
		int kind = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(in, rc);
		unsigned long sslerr = ERR_peek_error();
		enum conn_status st = push_records(c, wb, deadline, &e);
		if (st != CONN_OK) {
			snprintf(r->why, sizeof r->why, "could not send the handshake: %s", e.msg);
			break;
		}
		if (rc == 1) {
			r->ok = 1;
			break;
		}
		if (kind != SSL_ERROR_WANT_READ) {
			char shown[200];
			line_escape(seen, nseen, shown, sizeof shown);
			char es[256] = "the handshake broke";
			if (sslerr)
				ERR_error_string_n(sslerr, es, sizeof es);
			snprintf(r->why, sizeof r->why, "%s%s%s%s", es, nseen ? " (the server sent '" : "",
			         nseen ? shown : "", nseen ? "')" : "");
			break;
		}
		st = pull_records(c, rb, deadline, seen, sizeof seen, &nseen, &e);
		if (st == CONN_TIMEOUT) {
			r->timed_out = 1;
			snprintf(r->why, sizeof r->why, "no TLS answer within %.1f s", timeout_ms / 1000.0);
			break;
		}
		if (st == CONN_EOF) {
			r->eof = 1;
			snprintf(r->why, sizeof r->why, "the server closed the connection");
			break;
		}
		if (st != CONN_OK) {
			snprintf(r->why, sizeof r->why, "%s", e.msg);
			break;
		}
	}
	ERR_clear_error();
	if (r->ok)
		tls_describe(in, r->desc, sizeof r->desc);
	SSL_free(in);
	return 0;
}
