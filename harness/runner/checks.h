/* checks.h — what every server response must satisfy, whatever the scenario says (docs/scenario-language.md,
 * "Checks on every response"): the status indicator, CRLF line ends, the 512-octet first line, multi-line
 * stuffing, and SASL continuations. Each violation carries the requirement id it breaks. */
#ifndef POP3SPEC_CHECKS_H
#define POP3SPEC_CHECKS_H

#include <stddef.h>
#include "lib/line.h"

struct violation {
	const char *req; /* requirement id, e.g. "R1939-GEN-9" (static string) */
	char what[320];  /* one line: what is wrong, with the offending octets escaped */
};

/* The kind of first line that was seen. */
enum status_kind {
	STATUS_OK,     /* "+OK" then SP or end of line */
	STATUS_ERR,    /* "-ERR" then SP or end of line */
	STATUS_CONT,   /* "+ " SASL continuation (or a malformed "+..." line inside AUTH) */
	STATUS_INVALID /* anything else */
};

/* Classify a first line: exactly "+OK"/"-ERR" (upper case) followed by SP or the line end, or a "+"
 * continuation. Lower-case or otherwise malformed indicators are STATUS_INVALID. */
enum status_kind check_status_kind(const char *line, size_t len);

/* Checks on a response's first line (the greeting, a single-line reply, a multi-line reply's first line,
 * or a SASL continuation): CRLF (R1939-GEN-6), at most 512 octets with CRLF (R1939-GEN-7), the status
 * indicator (R1939-GEN-8, R1939-GEN-9), and, when in_auth, the continuation form (R5034-AUTH-3) and its
 * base64 (R4648-B64-1..3). A "+" continuation outside an AUTH exchange breaks R1939-GEN-8.
 * Returns 0 when it is fine, 1 with *v filled for the first violation found. */
int check_first_line(const char *line, const struct line *ln, int in_auth, struct violation *v);

/* Checks on one data line of a multi-line body, as received (before un-stuffing): CRLF (R1939-GEN-6) and
 * byte-stuffing (R1939-ML-2: a line starting with '.' must be "." or start with ".."). */
int check_data_line(const char *line, const struct line *ln, struct violation *v);

/* The base64 payload of a "+ " continuation: alphabet (R4648-B64-1), padding (R4648-B64-2), canonical pad
 * bits (R4648-B64-3). An empty payload is fine. */
int check_challenge_b64(const char *payload, size_t len, struct violation *v);

/* Fill *v (always returns 1, so `return check_violation(...)` reads well). */
int check_violation(struct violation *v, const char *req, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
