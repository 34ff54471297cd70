/* reference.h — `pop3spec run --reference`: start the reference server bin/pop3refd on free loopback ports
 * with a temporary folder of maildirs, a users file of 16 accounts and a certificate, describe it as a
 * target, and stop it at the end. */
#ifndef POP3SPEC_REFERENCE_H
#define POP3SPEC_REFERENCE_H

#include "lib/err.h"
#include "runner/target.h"

#define REFERENCE_ACCOUNTS         16
#define REFERENCE_START_TIMEOUT_MS 10000
/* Words on the server's command line: the runner's own 18 and those of $POP3REFD_ARGS. */
#define REFERENCE_ARGV_MAX 64

/* Start pop3refd and fill *t (maildirs: the temporary folder, so resets copy fixtures in; tls_verify
 * against the CA used). The server is found in $POP3REFD, else as datadir_server() says (next to this
 * executable, then in the installed sbin folder).
 * The certificate comes from fixtures/generated/tls/ when present (looked up from the working folder and
 * from the executable's parent folder), else is generated into the temporary folder. $POP3REFD_ARGS adds
 * words to the server's command line after the runner's own, so they win (an `--idle-timeout N` there also
 * sets the target's idle_timeout). */
int reference_start(struct target *t, struct p3err *err);

/* Stop the server started for t (SIGTERM, then SIGKILL after a grace period), remove its temporary
 * folder, and free *t. */
void reference_stop(struct target *t);

#endif
