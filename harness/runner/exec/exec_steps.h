/* exec_steps.h — what the step files (exec_steps.c, exec_tls.c, exec_auth.c, exec_assert.c) share: the
 * step's session, its first expectation and deadline, writing octets and command lines (exec_wire.c), and
 * STLS before a login (exec_tls.c). Internal to the executor, below step_kinds.h's runners and above
 * session.h. Among the step files calls go one way: exec_steps → exec_auth → exec_tls → exec_wire. */
#ifndef POP3SPEC_EXEC_STEPS_H
#define POP3SPEC_EXEC_STEPS_H

#include <stddef.h>
#include "runner/exec/exec_int.h"

/* The default expectation of a command: +OK. */
extern const struct expect step_want_ok;

/* The step's first expectation, or NULL when it has none (the step's default applies). */
const struct expect *step_first_expect(const struct step *st);
/* The deadline (xc_now_ms clock) of a step starting now: the step timeout from now. */
long long step_deadline(struct xctx *x);
/* The step's session, which must be connected; else NULL with `out` set (a close the server made is an
 * expectation failure, a session never opened a scenario error). */
struct xsession *step_session(struct xctx *x, const struct step *st, struct outcome *out);
/* Write a command line: the text and CRLF. A login command first waits for sessions that QUIT to close
 * (their lock); an AUTH command opens an exchange where "+ " lines are allowed. 0, or -1 with `out` set
 * (the connection broke: the session is closed). */
int step_send_command(struct xctx *x, struct xsession *s, const char *cmd, size_t len, struct outcome *out);
/* The same with a printf format (at most 2 KiB). */
int step_cmdf(struct xctx *x, struct xsession *s, struct outcome *out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Write octets as they are; 0, or -1 with `out` set (the connection broke: the session is closed). */
int step_send_bytes(struct xctx *x, struct xsession *s, const char *data, size_t len, struct outcome *out);
/* The TLS server name the runner sends: the profile's sni, else its host (exec_tls.c). */
const char *step_sni(const struct xctx *x);
/* login_tls (RFC 2595 §2.2 privacy mode, exec_tls.c): STLS and the handshake before a login or auth on a
 * connection not yet in TLS, when `want` or the target profile asks for it (mech: NULL for USER/PASS and
 * APOP). 0 to go on, or -1 with `out` set (a skip when the target has no STLS). */
int step_tls_first(struct xctx *x, struct xsession *s, enum tls_first want, const char *mech,
                   struct outcome *out);

#endif
