/* ccert.c — the certificates of a client run, made with OpenSSL when the run starts: a CA the client is
 * told to trust ({cafile}), a good server certificate for 127.0.0.1 and localhost, and the bad ones a
 * client must refuse (RFC 2595 §2.4, RFC 8314 §4.1, RFC 6125): from an unknown CA, for the wrong name,
 * expired. */
#include "runner/client/client.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/certgen.h"
#include "runner/fixture.h"

#define ORG "pop3spec client run"
#define DAY 86400L

/* Write one PEM file of the run's folder; *out gets its path. */
static int write_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k, char **out, struct p3err *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (certgen_write(path, x, k, err) < 0)
		return -1;
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
	EVP_PKEY *cakey = certgen_key(), *otherkey = certgen_key();
	X509 *ca = NULL, *other = NULL;
	int rc = -1;
	if (!c->dir || !cakey || !otherkey) {
		p3err_set(err, "cannot make keys");
		goto out;
	}
	static const struct certspec ca_spec = {ORG, "pop3spec test CA", NULL, -DAY, 30 * DAY, 1, true};
	static const struct certspec other_spec = {ORG, "pop3spec unknown CA", NULL, -DAY, 30 * DAY, 2, true};
	ca = certgen_make(&ca_spec, cakey, NULL, NULL);
	other = certgen_make(&other_spec, otherkey, NULL, NULL);
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
	    [CERT_GOOD] = {"good", "localhost", CERTGEN_SAN_LOOPBACK, false, -DAY, 30 * DAY},
	    [CERT_UNKNOWN_CA] = {"unknown-ca", "localhost", CERTGEN_SAN_LOOPBACK, true, -DAY, 30 * DAY},
	    [CERT_WRONG_NAME] = {"wrong-name", "wrong.invalid", "DNS:wrong.invalid", false, -DAY, 30 * DAY},
	    [CERT_EXPIRED] = {"expired", "localhost", CERTGEN_SAN_LOOPBACK, false, -30 * DAY, -DAY},
	};
	for (int i = 0; i < CERT_NKINDS; i++) {
		struct certspec spec = {ORG,         kinds[i].cn, kinds[i].san, kinds[i].from,
		                        kinds[i].to, 10 + i,      false};
		EVP_PKEY *k = certgen_key();
		X509 *x = k ? certgen_make(&spec, k, kinds[i].other_ca ? other : ca,
		                           kinds[i].other_ca ? otherkey : cakey)
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
