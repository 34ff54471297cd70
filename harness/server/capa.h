/* capa.h — CAPA (RFC 2449 §5): the capability list, built from the same policy the handlers obey, so it
 * reflects TLS and the login state exactly. */
#ifndef POP3REFD_CAPA_H
#define POP3REFD_CAPA_H

#include <event2/buffer.h>
#include "server/command.h"
#include "server/policy.h"

/* Append the capability lines (each ending CRLF, no terminator) for the situation v describes. USER and
 * SASL depend only on TLS and the mode, never on the state, so what AUTHORIZATION announces is announced in
 * TRANSACTION too (RFC 2449 §5, RFC 5034 §3); so are UTF8 USER and LANG (RFC 6856 §2, §3.1). STLS only in
 * AUTHORIZATION (RFC 2595 §4), and not after UTF8 (RFC 6856 §2.1). */
int capa_build(const struct policy_view *v, struct evbuffer *out);

void cmd_capa(struct session *s, const struct cmdline *cl, struct result *r);

/* "AUTH" with no argument: the mechanisms usable now, one a line (P-AUTH-1). */
int capa_mechanisms(const struct policy_view *v, struct evbuffer *out);

#endif
