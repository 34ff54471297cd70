/* policy.h — what may be used right now: which login commands and SASL mechanisms, and STLS. CAPA and the
 * handlers ask the same functions, so what is announced is exactly what works (RFC 2449 §5). */
#ifndef POP3REFD_POLICY_H
#define POP3REFD_POLICY_H

#include "server/server.h"

/* The facts a decision depends on. */
struct policy_view {
	enum plaintext_auth mode;
	int tls_active;    /* the connection is encrypted */
	int tls_available; /* a certificate is configured */
	int stls_used;
	int authorization; /* in the AUTHORIZATION state */
	int utf8_mode;     /* the UTF8 command was accepted (RFC 6856 §2.1) */
};

struct session;
/* The view of a live session. */
void policy_view_of(const struct session *s, struct policy_view *v);

/* USER/PASS usable on this connection (RFC 2595 §2.2: not in cleartext in tls-only mode). */
int policy_user_pass(const struct policy_view *v);
/* APOP usable (the digest hides the secret, but tls-only refuses every cleartext login, RFC 2595 §2.3). */
int policy_apop(const struct policy_view *v);
/* A SASL mechanism (upper-case name) usable: PLAIN and LOGIN send the password, so in cleartext only in
 * `always` mode (RFC 2595 §6, RFC 4616 §5, RFC 5034 §4). */
int policy_mech(const struct policy_view *v, const char *mech);
/* Whether `mech` sends the password itself. */
int policy_mech_is_plaintext(const char *mech);
/* STLS offered: a certificate, no TLS yet, AUTHORIZATION, not used before (RFC 2595 §4), and not after UTF8
 * (RFC 6856 §2.1: clients MUST NOT, and pop3refd enforces it). */
int policy_stls(const struct policy_view *v);

/* The SASL mechanisms pop3refd implements, in the order CAPA lists them, NULL-terminated. */
extern const char *const policy_mechanisms[];

#endif
