/* faults.h — fault injection for the test client: deliberate wrong behaviours of pop3client, each one a bug a
 * real POP3 client could have, switched on with --fault NAME in bin/pop3client-faults
 * (docs/client-faults.md). They prove that each client scenario can fail, as bin/pop3refd-faults does for the
 * server scenarios.
 *
 * Faults exist only when POP3CLIENT_FAULTS is defined (the Makefile's build/cfaults/ objects); otherwise
 * cfault_on(F) is the constant 0, every branch on it is dead code, and no fault name is compiled into
 * bin/pop3client. */
#ifndef POP3CLIENT_FAULTS_H
#define POP3CLIENT_FAULTS_H

#include <stdio.h>
#include "lib/err.h"

/* CFAULT(id, name, the obligation it breaks, where the RFC says so). Grouped as docs/client-faults.md lists
 * them. */
#define CFAULT_LIST(CFAULT)                                                                                  \
	/* message data (RFC 1939 §3) */                                                                    \
	CFAULT(CF_NO_UNSTUFF, "no-unstuff",                                                                  \
	       "delivers stuffed lines with their leading '..' (no un-stuffing)", "RFC 1939 §3")             \
	CFAULT(CF_TERMINATOR_NAIVE, "terminator-naive",                                                      \
	       "ends a message at the first line ending in \".\", not at a line of \".\" alone",             \
	       "RFC 1939 §3")                                                                                \
	CFAULT(CF_STATUS_LINE_511, "status-line-511",                                                        \
	       "a fixed 511-octet reply buffer: a 512-octet status line is an error",                        \
	       "RFC 1939 §3, RFC 2449 §4")                                                                   \
	/* deletion and delivery (RFC 1939 §5, §6; RFC 1957) */                                            \
	CFAULT(CF_DELE_BEFORE_RETR_COMPLETE, "dele-before-retr-complete",                                    \
	       "sends DELE right after RETR's +OK line, before the message is read and delivered",           \
	       "RFC 1939 §6")                                                                                \
	CFAULT(CF_DELIVER_PARTIAL_ON_DROP, "deliver-partial-on-drop",                                        \
	       "delivers what arrived of a message when the connection drops before its terminator",         \
	       "RFC 1939 §3")                                                                                \
	CFAULT(                                                                                              \
	    CF_STATE_BEFORE_DELIVERY, "state-before-delivery",                                               \
	    "records a unique-id as seen when RETR starts, so a message lost mid-transfer is never fetched"  \
	    " again",                                                                                        \
	    "RFC 1939 §7")                                                                                   \
	CFAULT(CF_NO_QUIT, "no-quit", "closes the connection without QUIT (deletions are never committed)",  \
	       "RFC 1939 §6")                                                                                \
	CFAULT(CF_DELE_UNASKED, "dele-unasked", "deletes every retrieved message though not told to delete", \
	       "RFC 1939 §5")                                                                                \
	/* unique-ids (RFC 1939 §7) */                                                                      \
	CFAULT(CF_REFETCH_SEEN_UIDL, "refetch-seen-uidl",                                                    \
	       "ignores its UIDL state: messages it already delivered are fetched again", "RFC 1939 §7")     \
	/* commands and pipelining (RFC 2449 §4, §6.6) */                                                  \
	CFAULT(CF_LONG_COMMAND, "long-command", "sends command lines longer than 255 octets", "RFC 2449 §4") \
	CFAULT(CF_PIPELINE_UNANNOUNCED, "pipeline-unannounced",                                              \
	       "pipelines STAT, UIDL and LIST though PIPELINING is not announced", "RFC 2449 §6.6")          \
	/* the greeting, login and response codes (RFC 1939 §4, §7; RFC 2449 §8; RFC 3206) */             \
	CFAULT(CF_IGNORE_GREETING_ERR, "ignore-greeting-err", "logs in after a -ERR greeting",               \
	       "RFC 1939 §4")                                                                                \
	CFAULT(                                                                                              \
	    CF_RETRY_STORM, "retry-storm-on-in-use",                                                         \
	    "reconnects and logs in again at once, ten times, after [IN-USE], [LOGIN-DELAY] or [SYS/TEMP]",  \
	    "RFC 2449 §8.1.1, §8.1.2; RFC 3206 §4")                                                          \
	CFAULT(CF_APOP_WRONG_DIGEST, "apop-wrong-digest",                                                    \
	       "APOP digest of secret + timestamp instead of timestamp + secret", "RFC 1939 §7")             \
	/* SASL (RFC 5034, RFC 4422) */                                                                      \
	CFAULT(                                                                                              \
	    CF_SASL_NO_CANCEL, "sasl-no-cancel",                                                             \
	    "answers a malformed SASL challenge (bad base64, or data where PLAIN expects none) instead of"   \
	    " cancelling with \"*\"",                                                                        \
	    "RFC 5034 §4, RFC 4422 §3.5")                                                                    \
	/* STLS and TLS (RFC 2595, RFC 8314, RFC 8996) */                                                    \
	CFAULT(CF_IGNORE_STLS_FAILURE, "ignore-stls-failure",                                                \
	       "when STLS is required and gets -ERR, goes on in cleartext and sends the password",           \
	       "RFC 2595 §4, RFC 8314 §5.2")                                                                 \
	CFAULT(CF_PASS_CLEARTEXT_TLS_REQUIRED, "pass-in-cleartext-when-tls-required",                        \
	       "when STLS is required and CAPA does not offer it, logs in in cleartext (stripping)",         \
	       "RFC 2595 §4, RFC 8314 §5.2")                                                                 \
	CFAULT(CF_KEEP_PRE_TLS_BYTES, "keep-pre-tls-bytes",                                                  \
	       "reads octets that arrived after STLS's +OK, before the handshake, as replies inside TLS",    \
	       "RFC 2595 §4 (CVE-2021-22947)")                                                               \
	CFAULT(CF_NO_CAPA_AFTER_STLS, "no-capa-after-stls",                                                  \
	       "keeps the capabilities learnt before STLS and does not issue CAPA again", "RFC 2595 §4")     \
	CFAULT(CF_NO_CERT_VERIFY, "no-cert-verify",                                                          \
	       "accepts any server certificate (no chain verification)", "RFC 2595 §2.4, RFC 8314 §5.3")     \
	CFAULT(CF_NO_HOSTNAME_CHECK, "no-hostname-check",                                                    \
	       "verifies the chain but not that the certificate names the server",                           \
	       "RFC 2595 §2.4, RFC 6125")                                                                    \
	CFAULT(CF_ACCEPT_TLS10, "accept-tls10", "accepts TLS 1.0 and 1.1", "RFC 8314 §5, RFC 8996 §2-3")

#ifdef POP3CLIENT_FAULTS

#define CFAULT_ENUM(id, name, what, rfc) id,
enum cfault { CFAULT_LIST(CFAULT_ENUM) CFAULT_COUNT };
#undef CFAULT_ENUM

extern unsigned char cfault_active[CFAULT_COUNT];
#define cfault_on(f) (cfault_active[(f)] != 0)

/* Switch on the fault called `name`: 0, or -1 with err saying how to see the names. */
int cfault_enable(const char *name, struct p3err *err);
/* Print every fault, one a line: "NAME<TAB>RFC<TAB>what the client then does wrong". */
void cfault_print_list(FILE *out);

#else

#define cfault_on(f) 0

#endif

#endif
