/* ccert.c — the certificates of a client run, made with OpenSSL when the run starts: a CA the client is
 * told to trust ({cafile}), a good server certificate for 127.0.0.1 and localhost, and the bad ones a
 * client must refuse (RFC 2595 §2.4, RFC 8314 §4.1, RFC 6125): from an unknown CA, for the wrong name,
 * expired. */
#include "runner/client/client.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "runner/fixture.h"

static EVP_PKEY *newkey(void)
{
	return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -1;
	int rc = X509_add_ext(cert, ex, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ex);
	return rc;
}

/* A certificate for `cn` with key `key`, signed by (issuer, ikey), or self-signed when issuer is NULL.
 * Valid from `from` to `to` seconds relative to now. */
static X509 *make_cert(const char *cn, const char *san, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
                       long from, long to, bool ca, long serial)
{
	X509 *x = X509_new();
	if (!x)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"pop3spec client run", -1,
	                           -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509 *iss = issuer ? issuer : x;
	int rc = 0;
	if (ca) {
		rc |= add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
		rc |= add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
		rc |= add_ext(x, iss, NID_subject_key_identifier, "hash");
	} else {
		rc |= add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
		rc |= add_ext(x, iss, NID_ext_key_usage, "serverAuth");
		rc |= add_ext(x, iss, NID_subject_alt_name, san);
	}
	if (rc != 0 || X509_sign(x, issuer ? ikey : key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int write_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k, char **out, struct p3err *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, x ? 0644 : 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f && fd >= 0)
		close(fd);
	if (!f)
		return p3err_errno(err, "%s", path);
	int ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0 || !ok)
		return p3err_set(err, "%s: cannot write", path);
	*out = strdup(path);
	return *out ? 0 : p3err_set(err, "out of memory");
}

int ccerts_make(struct ccerts *c, struct p3err *err)
{
	memset(c, 0, sizeof *c);
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/pop3spec-client-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return p3err_errno(err, "cannot make a folder under %s", tmp && *tmp ? tmp : "/tmp");
	/* Searchable by others: a client that drops privileges to deliver (getmail as root delivers as
	 * nobody) must reach its work folder; nothing here can be listed, and the keys are 0600. */
	chmod(dir, 0711);
	c->dir = strdup(dir);
	EVP_PKEY *cakey = newkey(), *otherkey = newkey();
	X509 *ca = NULL, *other = NULL;
	int rc = -1;
	if (!c->dir || !cakey || !otherkey) {
		p3err_set(err, "cannot make keys");
		goto out;
	}
	ca = make_cert("pop3spec test CA", NULL, cakey, NULL, NULL, -86400, 86400 * 30, true, 1);
	other = make_cert("pop3spec unknown CA", NULL, otherkey, NULL, NULL, -86400, 86400 * 30, true, 2);
	if (!ca || !other || write_pem(c->dir, "ca.pem", ca, NULL, &c->cafile, err) < 0) {
		if (!ca || !other)
			p3err_set(err, "cannot make the CA certificates");
		goto out;
	}
	static const struct {
		const char *name, *cn, *san;
		bool other_ca;
		long from, to;
	} kinds[CERT_NKINDS] = {
	    [CERT_GOOD] = {"good", "localhost", "DNS:localhost,IP:127.0.0.1", false, -86400, 86400 * 30},
	    [CERT_UNKNOWN_CA] = {"unknown-ca", "localhost", "DNS:localhost,IP:127.0.0.1", true, -86400,
	                         86400 * 30},
	    [CERT_WRONG_NAME] = {"wrong-name", "wrong.invalid", "DNS:wrong.invalid", false, -86400,
	                         86400 * 30},
	    [CERT_EXPIRED] = {"expired", "localhost", "DNS:localhost,IP:127.0.0.1", false, -86400 * 30,
	                      -86400},
	};
	for (int i = 0; i < CERT_NKINDS; i++) {
		EVP_PKEY *k = newkey();
		X509 *x = k ? make_cert(kinds[i].cn, kinds[i].san, k, kinds[i].other_ca ? other : ca,
		                        kinds[i].other_ca ? otherkey : cakey, kinds[i].from, kinds[i].to,
		                        false, 10 + i)
		            : NULL;
		char cn[64], kn[64];
		snprintf(cn, sizeof cn, "%s.pem", kinds[i].name);
		snprintf(kn, sizeof kn, "%s.key", kinds[i].name);
		int w = x ? write_pem(c->dir, cn, x, NULL, &c->cert[i], err)
		          : p3err_set(err, "cannot make a certificate");
		if (w == 0)
			w = write_pem(c->dir, kn, NULL, k, &c->key[i], err);
		X509_free(x);
		EVP_PKEY_free(k);
		if (w < 0)
			goto out;
	}
	rc = 0;
out:
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(otherkey);
	if (rc < 0)
		ccerts_free(c);
	return rc;
}

void ccerts_free(struct ccerts *c)
{
	/* POP3SPEC_CLIENT_KEEP=1 keeps the run's folder (work folders, the clients' output) to look into. */
	const char *keep = getenv("POP3SPEC_CLIENT_KEEP");
	if (c->dir && keep && strcmp(keep, "1") == 0)
		fprintf(stderr, "pop3spec: kept %s (POP3SPEC_CLIENT_KEEP)\n", c->dir);
	else if (c->dir)
		fixture_rmtree(c->dir);
	free(c->dir);
	free(c->cafile);
	for (int i = 0; i < CERT_NKINDS; i++) {
		free(c->cert[i]);
		free(c->key[i]);
	}
	memset(c, 0, sizeof *c);
}
