/* sasl_client.h — the client side of a SASL exchange (RFC 4422) through GNU SASL, for the auth step:
 * the runner never hand-writes PLAIN, LOGIN, CRAM-MD5 or SCRAM. Octets in and out are raw (not base64);
 * the caller does the RFC 5034 §4 framing. */
#ifndef POP3SPEC_SASL_CLIENT_H
#define POP3SPEC_SASL_CLIENT_H

#include <stddef.h>
#include "lib/err.h"

struct sasl_client;

/* Start `mech` for authcid `user` with `password` (authzid may be NULL), service "pop", `host`. */
int sasl_client_start(struct sasl_client **out, const char *mech, const char *user, const char *password,
                      const char *authzid, const char *host, struct p3err *err);

/* One step: `in` is the decoded server challenge (NULL for the initial response). *out is a malloc'd
 * client response (*outlen octets, possibly 0). Returns 1 when the mechanism expects more, 0 when it is
 * complete on the client side (for SCRAM: the server's signature verified), -1 on error (err says why,
 * e.g. a server signature that does not verify). */
int sasl_client_step(struct sasl_client *c, const char *in, size_t inlen, char **out, size_t *outlen,
                     struct p3err *err);

/* Whether the client speaks first, so an initial response is normal (RFC 4422 §3.3): PLAIN, SCRAM-*,
 * EXTERNAL, ANONYMOUS; not LOGIN, CRAM-MD5, DIGEST-MD5. */
int sasl_client_first(const char *mech);

/* Whether GNU SASL has a client for `mech`. */
int sasl_client_supports(const char *mech);

void sasl_client_free(struct sasl_client *c);

#endif
