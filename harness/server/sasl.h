/* sasl.h — AUTH (RFC 5034) through the GNU SASL server API: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1,
 * SCRAM-SHA-256. While an exchange runs, every line the client sends is a SASL response, not a command. */
#ifndef POP3REFD_SASL_H
#define POP3REFD_SASL_H

#include <stddef.h>
#include "lib/err.h"
#include "server/command.h"

struct server;

/* Set up the server's GNU SASL context (srv->gsasl) and check every mechanism is available. */
int sasl_global_init(struct server *srv, struct p3err *err);
void sasl_global_done(struct server *srv);

/* AUTH [mechanism [initial-response]] (RFC 5034 §4). With no argument: the usable mechanisms as a
 * multi-line list (P-AUTH-1). */
void cmd_auth(struct session *s, const struct cmdline *cl, struct result *r);

/* One client response line of the running exchange (without its line end). "*" cancels (-ERR); anything
 * that is not strict base64 ends the exchange with -ERR (RFC 5034 §4, RFC 4648 §3.3). */
void sasl_continue(struct session *s, const char *line, size_t len, int line_flags, struct result *r);

/* End the running exchange, if any, without a reply (over-long line, connection closed, STLS). */
void sasl_end(struct session *s);

/* Whether the mechanism has the server speak first, so an initial response is an error (RFC 5034 §4). */
int sasl_server_first(const char *mech);

#endif
