/* checks.c — the per-response checks every reply gets (RFC 1939 §3, RFC 5034 §4, RFC 4648 §3-4). */
#include "runner/checks.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/b64.h"
#include "lib/limits.h"

int check_violation(struct violation *v, const char *req, const char *fmt, ...)
{
	va_list ap;
	v->req = req;
	va_start(ap, fmt);
	vsnprintf(v->what, sizeof v->what, fmt, ap);
	va_end(ap);
	return 1;
}

/* The first octets of a line, escaped, for a violation message. */
static const char *shown(const char *line, size_t len, char *buf, size_t bufsize)
{
	line_escape(line, len, buf, bufsize);
	return buf;
}

static int is_sep(const char *line, size_t len, size_t at)
{
	return at == len || line[at] == ' ';
}

enum status_kind check_status_kind(const char *line, size_t len)
{
	if (len >= 3 && memcmp(line, "+OK", 3) == 0 && is_sep(line, len, 3))
		return STATUS_OK;
	if (len >= 4 && memcmp(line, "-ERR", 4) == 0 && is_sep(line, len, 4))
		return STATUS_ERR;
	if (len >= 1 && line[0] == '+' &&
	    (len == 1 || line[1] == ' ' || !(len >= 3 && strncasecmp(line, "+OK", 3) == 0)))
		return STATUS_CONT;
	return STATUS_INVALID;
}

static int check_line_end(const char *line, const struct line *ln, const char *what, struct violation *v)
{
	char buf[96];
	/* RFC 1939 §3: "Responses ... are terminated by a CRLF pair"; data lines too. */
	if (ln->flags & LINE_BARE_LF)
		return check_violation(v, "R1939-GEN-6", "%s ends in a bare LF, not CRLF: %s", what,
		                       shown(line, ln->len, buf, sizeof buf));
	if (ln->flags & LINE_HAS_CR)
		return check_violation(v, "R1939-GEN-6", "%s holds a bare CR: %s", what,
		                       shown(line, ln->len, buf, sizeof buf));
	if (!(ln->flags & LINE_CRLF))
		return check_violation(v, "R1939-GEN-6", "%s has no CRLF line end: %s", what,
		                       shown(line, ln->len, buf, sizeof buf));
	return 0;
}

int check_challenge_b64(const char *payload, size_t len, struct violation *v)
{
	char buf[96];
	if (len == 0)
		return 0;
	unsigned char *tmp = malloc(len / 4 * 3 + 4);
	if (tmp == NULL)
		return check_violation(v, "R4648-B64-1", "out of memory checking a challenge");
	size_t outlen;
	enum b64_status st = b64_decode(payload, len, tmp, &outlen, 1);
	free(tmp);
	switch (st) {
	case B64_OK:
		return 0;
	case B64_BAD_CHAR:
		/* RFC 4648 §4 alphabet; RFC 5034 §4: a challenge is base64 on one line. */
		return check_violation(v, "R4648-B64-1",
		                       "challenge has characters outside the base64 alphabet: %s",
		                       shown(payload, len, buf, sizeof buf));
	case B64_BAD_LENGTH:
	case B64_BAD_PADDING:
		return check_violation(v, "R4648-B64-2", "challenge is not properly padded base64 (%s): %s",
		                       b64_status_str(st), shown(payload, len, buf, sizeof buf));
	case B64_NONCANONICAL:
		return check_violation(v, "R4648-B64-3",
		                       "challenge has non-zero pad bits (not canonical): %s",
		                       shown(payload, len, buf, sizeof buf));
	}
	return 0;
}

int check_first_line(const char *line, const struct line *ln, int in_auth, struct violation *v)
{
	char buf[96];
	if (check_line_end(line, ln, "status line", v))
		return 1;
	/* RFC 1939 §3: "Responses may be up to 512 characters long, including the terminating CRLF." */
	if (ln->consumed > POP3_MAX_STATUS_LINE)
		return check_violation(
		    v, "R1939-GEN-7", "status line is %zu octets with its line end (limit %d): %s",
		    ln->consumed, POP3_MAX_STATUS_LINE, shown(line, ln->len, buf, sizeof buf));
	size_t len = ln->len;
	switch (check_status_kind(line, len)) {
	case STATUS_OK:
	case STATUS_ERR:
		return 0;
	case STATUS_CONT:
		if (!in_auth && (len == 1 || line[1] == ' '))
			return check_violation(v, "R1939-GEN-8",
			                       "a '+' continuation outside an AUTH exchange: %s",
			                       shown(line, len, buf, sizeof buf));
		if (!in_auth)
			break;
		/* RFC 5034 §4: continue-req = "+" SP [base64] CRLF */
		if (len < 2 || line[1] != ' ')
			return check_violation(v, "R5034-AUTH-3", "continuation is not '+' SP base64: %s",
			                       shown(line, len, buf, sizeof buf));
		return check_challenge_b64(line + 2, len - 2, v);
	case STATUS_INVALID:
		break;
	}
	/* RFC 1939 §3: "+OK" and "-ERR" "in upper case". */
	if ((len >= 3 && strncasecmp(line, "+OK", 3) == 0 && is_sep(line, len, 3)) ||
	    (len >= 4 && strncasecmp(line, "-ERR", 4) == 0 && is_sep(line, len, 4)))
		return check_violation(v, "R1939-GEN-9", "status indicator not in upper case: %s",
		                       shown(line, len, buf, sizeof buf));
	return check_violation(v, "R1939-GEN-8",
	                       "status indicator is not +OK or -ERR followed by SP or CRLF: %s",
	                       shown(line, len, buf, sizeof buf));
}

int check_data_line(const char *line, const struct line *ln, struct violation *v)
{
	char buf[96];
	if (check_line_end(line, ln, "data line", v))
		return 1;
	/* RFC 1939 §3: a line beginning with the termination octet is byte-stuffed. */
	if (ln->len >= 2 && line[0] == '.' && line[1] != '.')
		return check_violation(v, "R1939-ML-2", "data line starts with an unstuffed '.': %s",
		                       shown(line, ln->len, buf, sizeof buf));
	return 0;
}
