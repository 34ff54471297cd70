/* certgen.c — test certificates with OpenSSL's API: a CA and server certificates it signs, as PEM. */
#include "runner/certgen.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

EVP_PKEY *certgen_key(void)
{
	return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	int rc = X509_add_ext(cert, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* A CA signs certificates (RFC 5280 §4.2.1.9, §4.2.1.3); a server certificate is an EC key used for
 * signatures in the handshake (RFC 5480 §3 allows digitalSignature, not keyEncipherment), for serverAuth,
 * under the names the client checks, and names its issuer's key so a chain is built by key, not by name. */
static int add_exts(X509 *x, X509 *iss, const struct certspec *spec)
{
	int rc = 0;
	if (spec->ca) {
		rc |= add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
		rc |= add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
		rc |= add_ext(x, iss, NID_subject_key_identifier, "hash");
	} else {
		rc |= add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
		rc |= add_ext(x, iss, NID_key_usage, "critical,digitalSignature");
		rc |= add_ext(x, iss, NID_ext_key_usage, "serverAuth");
		rc |= add_ext(x, iss, NID_subject_alt_name, spec->san);
		rc |= add_ext(x, iss, NID_authority_key_identifier, "keyid");
	}
	return rc;
}

X509 *certgen_make(const struct certspec *spec, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	if (x == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), spec->serial);
	X509_gmtime_adj(X509_getm_notBefore(x), spec->from);
	X509_gmtime_adj(X509_getm_notAfter(x), spec->to);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	if (spec->org)
		X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)spec->org, -1, -1,
		                           0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)spec->cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	if (add_exts(x, issuer ? issuer : x, spec) != 0 ||
	    X509_sign(x, issuer ? ikey : key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int certgen_write(const char *path, X509 *cert, EVP_PKEY *key, struct p3err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, cert ? 0644 : 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL && fd >= 0)
		close(fd);
	if (f == NULL)
		return p3err_errno(err, "%s", path);
	int ok = cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0 || !ok)
		return p3err_set(err, "%s: cannot write", path);
	return 0;
}
