/* lib_testpeer.h — for the lib tests: a one-connection TCP/TLS peer on 127.0.0.1 in a thread, and test
 * certificates made with OpenSSL's APIs (a CA, a server certificate for 127.0.0.1 and localhost, and an
 * unrelated CA). */
#ifndef POP3_TESTS_LIB_TESTPEER_H
#define POP3_TESTS_LIB_TESTPEER_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include <openssl/ssl.h>

struct tp_certs {
	char dir[64];
	char ca[128], cert[128], key[128], other_ca[128];
};

/* Write the certificates into a new temporary folder. 0 or -1. */
int tp_certs_make(struct tp_certs *c);
void tp_certs_remove(struct tp_certs *c);

struct tp_peer;
typedef void (*tp_script_fn)(struct tp_peer *p);

struct tp_peer {
	int port;     /* the listening port, known when tp_start returns */
	int lfd;      /* listener */
	int fd;       /* the accepted connection, while the script runs */
	SSL_CTX *ctx; /* server context for tp_tls_accept (may be NULL) */
	SSL *ssl;     /* after tp_tls_accept: sends and receives go through TLS */
	tp_script_fn script;
	void *arg;
	int result; /* an observation the script records for the test */
	char note[256];
	pthread_t th;
};

/* Listen on 127.0.0.1:0 and run `script` on the first connection in a thread. 0 or -1. */
int tp_start(struct tp_peer *p, tp_script_fn script, SSL_CTX *ctx, void *arg);
/* Wait for the script to end; the connection is then closed (without close_notify) and freed. */
void tp_join(struct tp_peer *p);

/* Script helpers, blocking with a 10 s limit; plain or TLS as the peer is. */
int tp_send(struct tp_peer *p, const void *data, size_t n);
int tp_sends(struct tp_peer *p, const char *s);
/* Read up to and including LF; returns the octets read (0 at EOF), or -1. */
ssize_t tp_recv_line(struct tp_peer *p, char *buf, size_t size);
int tp_tls_accept(struct tp_peer *p);
void tp_sleep_ms(int ms);

#endif
