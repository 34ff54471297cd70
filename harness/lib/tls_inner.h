/* tls_inner.h — a TLS client handshake carried inside an open connection (conn.h) as its data: the inner
 * session runs on memory BIOs, its records go out with conn_write and come in as whatever octets the
 * connection delivers. conn.h layers TLS once; this is for a server that answers STLS with +OK while TLS is
 * already active (RFC 2595 §4: "a TLS negotiation begins immediately after the CRLF"), to prove the +OK
 * true. A second layer can be negotiated here, not used. */
#ifndef POP3_TLS_INNER_H
#define POP3_TLS_INNER_H

#include <openssl/ssl.h>
#include "lib/conn.h"
#include "lib/err.h"

struct tls_inner_result {
	int ok;         /* the handshake completed */
	int timed_out;  /* no (complete) answer within the time allowed */
	int eof;        /* the peer closed the connection */
	char desc[128]; /* ok: the inner session, as tls_describe() gives it */
	char why[600];  /* not ok: what went wrong, with the first octets the peer sent instead of records */
};

/* Run a client handshake of a new SSL of ctx over c, with no certificate check (the connection it runs in
 * has verified the peer, as its owner chose), sending `sni` unless it is an IP literal, for at most
 * timeout_ms in all. Returns 0 when the handshake ran, however it ended (r says how), or -1 when the SSL
 * could not be set up (err). The inner session is freed before returning; c is left open, and unusable
 * for anything but closing once the handshake went out. */
int tls_inner_handshake(struct conn *c, SSL_CTX *ctx, const char *sni, int timeout_ms,
                        struct tls_inner_result *r, struct p3err *err);

#endif
