/* tls.h — OpenSSL contexts for both sides: a server context with certificate and key, a client context
 * with or without verification, both TLS 1.2 or newer unless a test pins an older version on purpose. */
#ifndef POP3_TLS_H
#define POP3_TLS_H

/* pop3refd's TLS 1.2 cipher suites: ECDHE or DHE key exchange with AES-GCM or ChaCha20-Poly1305 (RFC 9325
 * §4.2). No CBC, no RSA key transport, no SHA-1 MACs. */
#define TLS_SERVER_CIPHERS_12                                                                                \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"           \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"             \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

/* pop3refd's TLS 1.3 suites, the cheapest first: AES-128-GCM (four fewer AES rounds than AES-256-GCM, which
 * OpenSSL's default order puts first), ChaCha20-Poly1305, AES-256-GCM. With SSL_OP_PRIORITIZE_CHACHA a
 * client that puts ChaCha20 first (one without AES instructions) gets it. On the benchmark machine (VAES)
 * all three run at about 3.5 GB/s: docs/performance.md. */
#define TLS_SERVER_CIPHERS_13 "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"

#include <openssl/ssl.h>
#include "lib/err.h"

/* RFC 8314 §4: TLS 1.2 or newer. No client certificate is requested (R8314-TLS-11). */
SSL_CTX *tls_server_ctx(const char *cert_pem, const char *key_pem, struct p3err *err);

struct tls_client_opts {
	int verify;          /* verify the server certificate chain and host name */
	const char *ca_file; /* trust anchors when verifying; NULL: the system store */
	int min_version;     /* e.g. TLS1_2_VERSION; 0: TLS1_2_VERSION */
	int max_version;     /* 0: library maximum */
	const char *ciphers; /* TLS 1.2 cipher list; NULL: library default */
};

SSL_CTX *tls_client_ctx(const struct tls_client_opts *opts, struct p3err *err);

/* A short description of the session: "TLSv1.3 TLS_AES_256_GCM_SHA384". */
const char *tls_describe(SSL *ssl, char *buf, size_t bufsize);

#endif
