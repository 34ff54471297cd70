/* limits.h — every protocol limit pop3spec and pop3refd enforce, each with the RFC sentence it comes from. */
#ifndef POP3_LIMITS_H
#define POP3_LIMITS_H

/* RFC 1939 §3: "Each argument may be up to 40 characters long." */
#define POP3_MAX_ARG_RFC1939 40

/* RFC 2449 §4: "Clients MUST NOT send command lines longer than 255 octets, including the terminating
 * CRLF." Servers implementing CAPA must accept that length (R2449-LEN-1). */
#define POP3_MAX_COMMAND_LINE 255

/* RFC 1939 §3 / RFC 2449 §4: "Responses [status lines] may be up to 512 characters long, including the
 * terminating CRLF." Also each CAPA line (RFC 2449 §5). */
#define POP3_MAX_STATUS_LINE 512

/* RFC 1939 §7 (UIDL): "The unique-id of a message ... consists of one to 70 characters in the range 0x21
 * to 0x7E". */
#define POP3_MAX_UID_LEN 70

/* RFC 1939 §3: "If a server has an inactivity autologout timer, the duration of that timer MUST be of at
 * least 10 minutes." */
#define POP3_MIN_AUTOLOGOUT_SECONDS 600

/* RFC 4616 §2: "The server MUST be capable of accepting authzid, authcid, and passwd that are up to 255
 * octets in length". */
#define SASL_PLAIN_MAX_FIELD 255

/* RFC 5034 §4: continuation lines are not bound by the 255-octet command limit. A PLAIN reply with three
 * 255-octet fields is 1,020 base64 characters; SCRAM replies are smaller. We accept up to this many. */
#define POP3_MAX_SASL_LINE 4096

/* RFC 5322 §2.1.1: lines "MUST be no more than 998 characters" — data lines we still accept are far
 * longer; this only sizes buffers for stored messages that violate it. */
#define POP3_MAX_DATA_LINE (64 * 1024)

/* How many unanswered octets of pipelined input the server buffers before it stops reading from a client
 * (RFC 2449 §6.6: the server must not deadlock a client that pipelines; it simply stops reading). */
#define POP3_MAX_PENDING_INPUT (64 * 1024)

/* pop3refd's listen(2) backlog: not a protocol limit. With 128, a burst of connections (a load test, many
 * clients polling at the same minute) overflows the accept queue, and the kernel then completes handshakes
 * it drops: the client waits for a greeting that never comes. The kernel caps it at net.core.somaxconn. */
#define POP3REFD_LISTEN_BACKLOG 4096

/* ---- pop3refd's abuse limits (docs/security.md). No RFC fixes these; RFC 1939 §13 and RFC 2595 §7 only ask
 * that guessing passwords be made hard. Each is a flag's default. */

/* --max-per-address: open connections from one client address (loopback is exempt unless --limit-loopback:
 * a test suite on the same host opens hundreds, pop3spec -j 256). */
#define GUARD_MAX_PER_ADDRESS 32

/* --max-sessions-per-user: sessions logged in as one user or waiting out a failed login as that user, at once
 * (the maildrop lock already allows one logged in; this bounds parallel guessing). */
#define GUARD_MAX_PER_USER 8

/* --auth-failure-delay-max: the failed-login delay doubles with each failure from the same address or for
 * the same user name, from --auth-failure-delay (default 1 s) up to this. */
#define GUARD_DELAY_MAX_MS (30 * 1000)

/* How long failures are remembered after the last one (a success forgets them at once). */
#define GUARD_FORGET_SECONDS (15 * 60)

/* Addresses and user names whose failures are remembered at once: a fixed table, so an attacker with many
 * addresses cannot grow the server's memory; the entry unused longest is reused. */
#define GUARD_TABLE_SIZE 1024

/* --tls-handshake-timeout: a TLS handshake (implicit TLS or after STLS) must finish within this, separate
 * from the 10-minute idle timer, which only starts counting once TLS is up. */
#define TLS_HANDSHAKE_TIMEOUT_SECONDS 30

#endif
