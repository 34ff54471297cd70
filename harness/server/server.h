/* server.h — pop3refd's server-wide settings and state, shared by every module of the server. */
#ifndef POP3REFD_SERVER_H
#define POP3REFD_SERVER_H

#include <stddef.h>
#include <openssl/ssl.h>
#include <event2/event.h>
#include "server/config.h"
#include "server/guard.h"

/* --plaintext-auth: which credentials may travel without TLS (RFC 2595 §2.2, §6; RFC 5034 §4). */
enum plaintext_auth {
	PLAINTEXT_COMPAT,  /* default: USER/PASS and APOP in cleartext; SASL PLAIN and LOGIN only over TLS */
	PLAINTEXT_ALWAYS,  /* everything in cleartext */
	PLAINTEXT_TLS_ONLY /* no USER/PASS, APOP, PLAIN or LOGIN until TLS (RFC 2595 §2.2 privacy mode) */
};

struct session;
struct listener;
typedef struct Gsasl Gsasl;

/* Everything a session needs to know about the server it belongs to. Owned by main(); sessions hold a
 * pointer to it for their whole life. */
struct server {
	struct event_base *base;
	struct users users;   /* the users file, loaded once at start */
	const char *maildirs; /* DIR: DIR/USER is a Maildir */
	SSL_CTX *tls;         /* NULL when no --cert/--key: then no STLS and no --listen-tls */
	Gsasl *gsasl;         /* GNU SASL context for AUTH */
	enum plaintext_auth plaintext;
	int idle_timeout;           /* seconds; 0: no autologout timer */
	long auth_failure_delay_ms; /* wait before answering a failed authentication */
	size_t max_connections;     /* 0: no limit */
	int tls_handshake_timeout;  /* seconds a TLS handshake may take; 0: no limit */
	const char
	    *wire_cache;    /* --wire-cache DIR: wire-form copies of big messages (wirecache.h), or NULL */
	struct guard guard; /* per-address and per-user limits, failure counts (guard.h) */
	char hostname[256]; /* for the APOP timestamp */
	unsigned long next_session_id;
	unsigned long greeting_counter; /* makes every APOP timestamp unique (RFC 1939 §7) */
	size_t nsessions;
	struct session *sessions; /* every open session, so a stop can end them all */
	struct listener *listeners;
	int stopping;
};

/* Names for logs and docs. */
const char *plaintext_auth_name(enum plaintext_auth p);
/* Parse "always", "tls-only" or "compat"; -1 when none of them. */
int plaintext_auth_parse(const char *s, enum plaintext_auth *out);

#endif
