/* lib_testpeer.c — the lib tests' peer: a thread serving one TCP (or TLS) connection on 127.0.0.1 with a
 * scripted behaviour, and test certificates (made by runner/certgen). */
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
#include "lib_testpeer.h"
#include "runner/certgen.h"

/* --- certificates --------------------------------------------------------------------------------- */

int tp_certs_make(struct tp_certs *c)
{
	static const struct certspec ca_spec = {NULL, "pop3spec test CA", NULL, -3600, 7L * 24 * 3600, 1,
	                                        true};
	static const struct certspec srv_spec = {
	    NULL, "localhost", CERTGEN_SAN_LOOPBACK, -3600, 7L * 24 * 3600, 2, false};
	EVP_PKEY *cakey = certgen_key(), *key = certgen_key(), *okey = certgen_key();
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
	ca = certgen_make(&ca_spec, cakey, NULL, NULL);
	other = certgen_make(&ca_spec, okey, NULL, NULL); /* same name, another key */
	cert = ca ? certgen_make(&srv_spec, key, ca, cakey) : NULL;
	if (ca == NULL || other == NULL || cert == NULL)
		goto out;
	if (certgen_write(c->ca, ca, NULL, NULL) == 0 && certgen_write(c->other_ca, other, NULL, NULL) == 0 &&
	    certgen_write(c->cert, cert, NULL, NULL) == 0 && certgen_write(c->key, NULL, key, NULL) == 0)
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
