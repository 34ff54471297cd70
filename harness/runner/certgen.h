/* certgen.h — test certificates made with OpenSSL's API and written as PEM files: a CA and the server
 * certificates it signs. One implementation for `--reference` (a certificate when the build made none),
 * client runs (the good and the bad certificates a client is shown) and the unit tests' TLS peer. */
#ifndef POP3SPEC_CERTGEN_H
#define POP3SPEC_CERTGEN_H

#include <stdbool.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "lib/err.h"

/* The subjectAltName of a certificate for the loopback listeners (RFC 6125 §6.4: the name or address the
 * client connects to). */
#define CERTGEN_SAN_LOOPBACK "DNS:localhost,IP:127.0.0.1"

struct certspec {
	const char *org; /* O= of the subject, or NULL for none */
	const char *cn;  /* CN= of the subject */
	const char *san; /* a server certificate's subjectAltName (ignored for a CA) */
	long from, to;   /* validity, in seconds relative to now */
	long serial;
	bool ca; /* a CA (keyCertSign), else a server certificate (serverAuth) */
};

/* A new P-256 key, or NULL. */
EVP_PKEY *certgen_key(void);
/* A certificate for `key` as spec says, signed by (issuer, ikey), or self-signed when issuer is NULL.
 * NULL on failure (the reason is on OpenSSL's error queue). */
X509 *certgen_make(const struct certspec *spec, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey);
/* Write cert (mode 0644) or, when cert is NULL, key (mode 0600) to path as PEM. 0, or -1 and err. */
int certgen_write(const char *path, X509 *cert, EVP_PKEY *key, struct p3err *err);

#endif
