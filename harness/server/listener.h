/* listener.h — listening sockets on the event loop: plain POP3 (--listen) and implicit TLS (--listen-tls,
 * RFC 8314 §3.1), each accepted connection handed to a new session. */
#ifndef POP3REFD_LISTENER_H
#define POP3REFD_LISTENER_H

#include <stdio.h>
#include "lib/err.h"

struct server;

/* Parse "HOST:PORT" or "[V6ADDR]:PORT" (PORT 0 picks a free port). 0, or -1 with err set. */
int listener_parse(const char *spec, char *host, size_t hostsize, char *port, size_t portsize,
                   struct p3err *err);

/* Bind and listen on `spec`; connections start sessions (implicit TLS when tls). */
int listener_add(struct server *srv, const char *spec, int tls, struct p3err *err);

/* Print "listening pop3 ADDR:PORT" or "listening pop3s ADDR:PORT", one line per listener, in the order
 * they were added, with the port actually bound. */
void listener_print(const struct server *srv, FILE *out);

void listener_free_all(struct server *srv);

#endif
