/* reference.h — `pop3spec run --reference`: start the reference server bin/pop3refd on free loopback ports
 * with a temporary folder of maildirs, a users file of 16 accounts and a certificate, describe it as a
 * target, and stop it at the end. */
#ifndef POP3SPEC_REFERENCE_H
#define POP3SPEC_REFERENCE_H

#include "lib/err.h"
#include "runner/target.h"

#define REFERENCE_ACCOUNTS         16
#define REFERENCE_START_TIMEOUT_MS 10000

/* Start pop3refd and fill *t (maildirs: the temporary folder, so resets copy fixtures in; tls_verify
 * against the CA used). The server is found in $POP3REFD, else next to this executable (/proc/self/exe).
 * The certificate comes from fixtures/generated/tls/ when present (looked up from the working folder and
 * from the executable's parent folder), else is generated into the temporary folder. */
int reference_start(struct target *t, struct p3err *err);

/* Stop the server started for t (SIGTERM, then SIGKILL after a grace period), remove its temporary
 * folder, and free *t. */
void reference_stop(struct target *t);

#endif
