/* auth.h — the AUTHORIZATION-state login commands of RFC 1939 §7 (USER, PASS, APOP), STLS (RFC 2595 §4),
 * and the login step every method ends in: lock and open the maildrop, enter TRANSACTION. */
#ifndef POP3REFD_AUTH_H
#define POP3REFD_AUTH_H

#include "server/command.h"

void cmd_user(struct session *s, const struct cmdline *cl, struct result *r);
void cmd_pass(struct session *s, const struct cmdline *cl, struct result *r);
void cmd_apop(struct session *s, const struct cmdline *cl, struct result *r);
void cmd_stls(struct session *s, const struct cmdline *cl, struct result *r);

/* Credentials for `user` were verified by `method` ("PASS", "APOP", "AUTH PLAIN", ...): open the maildrop.
 * +OK and TRANSACTION; or -ERR [IN-USE] when another session holds it (RFC 2449 §8.1.2), [SYS/TEMP] or
 * [SYS/PERM] when it cannot be opened (RFC 3206 §4), and the session stays in AUTHORIZATION. */
void auth_login(struct session *s, const char *user, const char *method, struct result *r);

/* Credentials were wrong (or the user unknown: the same reply, RFC 4422 §3.6): -ERR [AUTH] (RFC 3206 §5),
 * answered after the failure delay. */
void auth_fail(struct session *s, const char *user, const char *method, struct result *r);

/* Constant-time equality of two secrets of any length: 1 when equal. */
int auth_secret_equal(const char *a, const char *b);

#endif
