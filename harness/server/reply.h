/* reply.h — what a command handler returns, and the one function that turns it into a status line.
 * Handlers never write +OK or -ERR themselves (docs/architecture.md, "Rules of thumb"). */
#ifndef POP3REFD_REPLY_H
#define POP3REFD_REPLY_H

#include <stddef.h>
#include "lib/limits.h"

enum res_status {
	RES_OK,   /* "+OK" */
	RES_ERR,  /* "-ERR" */
	RES_CONT, /* a SASL continuation, "+ " and base64 (RFC 5034 §4); text holds the base64 */
	RES_NONE  /* nothing to send (a handler that already arranged everything) */
};

/* Extended response codes (RFC 2449 §8, RFC 3206, RFC 6856 §5). */
enum res_code {
	CODE_NONE,
	CODE_IN_USE,
	CODE_LOGIN_DELAY,
	CODE_SYS_TEMP,
	CODE_SYS_PERM,
	CODE_AUTH,
	CODE_UTF8 /* -ERR to LIST, TOP or RETR of content that needs UTF-8 mode (RFC 6856 §5) */
};

/* What the session does once the reply is queued. */
enum res_after {
	AFTER_NONE,
	AFTER_CLOSE, /* flush, then close the connection (QUIT) */
	AFTER_STLS /* flush the +OK, discard pending plaintext, then start the TLS handshake (RFC 2595 §4) */
};

/* Room for the longest continuation we send: a SCRAM server-first message in base64 is ~200 octets. */
#define RES_TEXT_MAX 1024

struct result {
	enum res_status status;
	enum res_code code;
	char text[RES_TEXT_MAX];
	int multiline; /* a body follows the status line (the session's body buffer or stream) */
	int delay;     /* a failed authentication: answer only after the configured delay */
	enum res_after after;
};

/* Reset r to "no reply". */
void res_clear(struct result *r);
/* Fill r. Text is printf-formatted; octets outside printable ASCII are replaced with '?'. */
void res_ok(struct result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void res_err(struct result *r, enum res_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A continuation carrying b64 (possibly empty: the line is then exactly "+ ", RFC 5034 §4). Returns -1 when
 * it does not fit (r is then an -ERR). */
int res_cont(struct result *r, const char *b64, size_t len);

/* The response code as sent inside the brackets, or NULL for CODE_NONE. */
const char *res_code_name(enum res_code code);

/* Format r's first line, CRLF included, into buf (size >= POP3_MAX_STATUS_LINE + 1 for status lines; a
 * continuation may be longer, up to RES_TEXT_MAX + 4). Status lines are cut to POP3_MAX_STATUS_LINE octets
 * including CRLF (RFC 1939 §3, RFC 2449 §4). Returns the length, 0 for RES_NONE. */
size_t reply_format(const struct result *r, char *buf, size_t size);

#endif
