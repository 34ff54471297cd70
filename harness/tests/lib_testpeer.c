/* lib_testpeer.c — the lib tests' peer: a thread serving one TCP (or TLS) connection on 127.0.0.1 with a
 * scripted behaviour, and test certificates generated with OpenSSL's APIs. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "lib_testpeer.h"

/* --- certificates --------------------------------------------------------------------------------- */

static int add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/* A certificate for `key` named `cn`, signed by issuer/ikey (self-signed when issuer is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, long serial, X509 *issuer, EVP_PKEY *ikey, int ca)
{
	X509 *x = X509_new();

	if (x == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 7L * 24 * 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn,
	                           -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	if (ca) {
		if (add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
		    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
		    add_ext(x, x, NID_subject_key_identifier, "hash") < 0)
			goto fail;
	} else {
		if (add_ext(issuer, x, NID_basic_constraints, "CA:FALSE") < 0 ||
		    add_ext(issuer, x, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") < 0 ||
		    add_ext(issuer, x, NID_ext_key_usage, "serverAuth") < 0)
			goto fail;
	}
	if (X509_sign(x, issuer ? ikey : key, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static int write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	return fclose(f) == 0 && ok == 1 ? 0 : -1;
}

int tp_certs_make(struct tp_certs *c)
{
	EVP_PKEY *cakey = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256"), *okey = EVP_EC_gen("P-256");
	X509 *ca = NULL, *cert = NULL, *other = NULL;
	int rc = -1;

	snprintf(c->dir, sizeof c->dir, "/tmp/check_tls.XXXXXX");
	if (mkdtemp(c->dir) == NULL)
		goto out;
	snprintf(c->ca, sizeof c->ca, "%s/ca.pem", c->dir);
	snprintf(c->cert, sizeof c->cert, "%s/server.pem", c->dir);
	snprintf(c->key, sizeof c->key, "%s/server.key", c->dir);
	snprintf(c->other_ca, sizeof c->other_ca, "%s/other-ca.pem", c->dir);
	if (cakey == NULL || key == NULL || okey == NULL)
		goto out;
	ca = make_cert(cakey, "pop3spec test CA", 1, NULL, NULL, 1);
	other = make_cert(okey, "pop3spec test CA", 1, NULL, NULL, 1); /* same name, another key */
	cert = ca ? make_cert(key, "localhost", 2, ca, cakey, 0) : NULL;
	if (ca == NULL || other == NULL || cert == NULL)
		goto out;
	if (write_pem(c->ca, ca, NULL) == 0 && write_pem(c->other_ca, other, NULL) == 0 &&
	    write_pem(c->cert, cert, NULL) == 0 && write_pem(c->key, NULL, key) == 0)
		rc = 0;
out:
	X509_free(ca);
	X509_free(cert);
	X509_free(other);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(key);
	EVP_PKEY_free(okey);
	return rc;
}

void tp_certs_remove(struct tp_certs *c)
{
	unlink(c->ca);
	unlink(c->cert);
	unlink(c->key);
	unlink(c->other_ca);
	rmdir(c->dir);
}

/* --- the peer ------------------------------------------------------------------------------------- */

static void *peer_main(void *arg)
{
	struct tp_peer *p = arg;
	struct pollfd pfd = {.fd = p->lfd, .events = POLLIN};
	struct timeval tv = {10, 0};
	sigset_t set;

	/* The peer writes to sockets the client may have closed: its SIGPIPE stays pending on this thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (poll(&pfd, 1, 10000) != 1)
		return NULL;
	p->fd = accept(p->lfd, NULL, NULL);
	if (p->fd < 0)
		return NULL;
	setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(p->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	p->script(p);
	SSL_free(p->ssl);
	p->ssl = NULL;
	close(p->fd);
	p->fd = -1;
	return NULL;
}

int tp_start(struct tp_peer *p, tp_script_fn script, SSL_CTX *ctx, void *arg)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;

	memset(p, 0, sizeof *p);
	p->fd = -1;
	p->script = script;
	p->ctx = ctx;
	p->arg = arg;
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->lfd < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(p->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(p->lfd, 4) < 0 ||
	    getsockname(p->lfd, (struct sockaddr *)&a, &len) < 0) {
		close(p->lfd);
		return -1;
	}
	p->port = ntohs(a.sin_port);
	if (pthread_create(&p->th, NULL, peer_main, p) != 0) {
		close(p->lfd);
		return -1;
	}
	return 0;
}

void tp_join(struct tp_peer *p)
{
	pthread_join(p->th, NULL);
	close(p->lfd);
}

int tp_send(struct tp_peer *p, const void *data, size_t n)
{
	const char *d = data;

	while (n > 0) {
		ssize_t w = p->ssl ? SSL_write(p->ssl, d, (int)n) : send(p->fd, d, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		d += w;
		n -= (size_t)w;
	}
	return 0;
}

int tp_sends(struct tp_peer *p, const char *s)
{
	return tp_send(p, s, strlen(s));
}

ssize_t tp_recv_line(struct tp_peer *p, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		char ch;
		ssize_t r = p->ssl ? SSL_read(p->ssl, &ch, 1) : recv(p->fd, &ch, 1, 0);
		if (r == 0 ||
		    (p->ssl && r < 0 && n == 0 && SSL_get_error(p->ssl, (int)r) == SSL_ERROR_ZERO_RETURN))
			break;
		if (r < 0)
			return n > 0 ? (ssize_t)n : -1;
		buf[n++] = ch;
		if (ch == '\n')
			break;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

int tp_tls_accept(struct tp_peer *p)
{
	p->ssl = SSL_new(p->ctx);
	if (p->ssl == NULL || SSL_set_fd(p->ssl, p->fd) != 1)
		return -1;
	if (SSL_accept(p->ssl) != 1) {
		unsigned long e = ERR_get_error();
		snprintf(p->note, sizeof p->note, "%s", e ? ERR_reason_error_string(e) : "accept failed");
		ERR_clear_error();
		return -1;
	}
	return 0;
}

void tp_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
