/* utf8.h — RFC 6856 §2: UTF-8 mode (the UTF8 command) and UTF-8 credentials (the USER argument of the UTF8
 * capability, §2.2): the RFC 3629 syntax check and SASLprep (RFC 4013) of user names and passwords. */
#ifndef POP3REFD_UTF8_H
#define POP3REFD_UTF8_H

#include <stddef.h>
#include "server/command.h"

/* Whether s[0..len) is well-formed UTF-8 (RFC 3629 §4: no overlong forms, no surrogates, nothing above
 * U+10FFFF). ASCII is UTF-8. */
int utf8_valid(const char *s, size_t len);

/* Whether s holds an octet >= 0x80. */
int utf8_has_8bit(const char *s);

/* RFC 3454 §7: a query string may hold code points unassigned in Unicode 3.2 (what a client sends), a
 * stored string may not (what the server keeps). RFC 6856 §2.2: USER, PASS and the APOP user name are
 * query strings; the secret the APOP digest is computed from is a stored string. */
enum cred_kind { CRED_QUERY, CRED_STORED };

enum cred_status {
	CRED_OK,
	CRED_BAD_UTF8,   /* not UTF-8 (RFC 6856 §2.2: MUST reject) */
	CRED_PROHIBITED, /* SASLprep refuses it: a prohibited character (RFC 4013 §2.3: MUST reject), a bidi
	                    error, or an unassigned code point in a stored string */
	CRED_TOO_LONG,   /* the prepared form does not fit the caller's buffer */
	CRED_NO_MEMORY
};

/* Check `in` as UTF-8, then prepare it with SASLprep (GNU SASL's gsasl_saslprep, RFC 4013) into out
 * (size octets, NUL included). out is "" unless CRED_OK. */
enum cred_status cred_prepare(const char *in, enum cred_kind kind, char *out, size_t size);

/* Words for an -ERR or a log line: "is not valid UTF-8", ... */
const char *cred_status_text(enum cred_status st);

/* UTF8 (RFC 6856 §2.1): no argument, AUTHORIZATION only (the command table says so); enters UTF-8 mode,
 * in which messages with UTF-8 header fields are sent as stored. */
void cmd_utf8(struct session *s, const struct cmdline *cl, struct result *r);

#endif
