/* line.c — the line scanner both sides use: find one POP3 line within a bound, and escape octets for logs. */
#include <string.h>
#include "lib/line.h"

static int content_flags(const unsigned char *p, size_t len)
{
	int flags = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r')
			flags |= LINE_HAS_CR;
		else if (p[i] == '\0')
			flags |= LINE_HAS_NUL;
		else if (p[i] >= 0x80)
			flags |= LINE_HAS_8BIT;
	}
	return flags;
}

enum line_status line_scan(const char *buf, size_t avail, size_t max, struct line *out)
{
	/* Only the first `max` octets can hold this line's end: a later LF belongs to an over-long line. */
	size_t window = (max != 0 && avail > max) ? max : avail;
	const char *lf = memchr(buf, '\n', window);

	if (lf == NULL) {
		if (max != 0 && avail >= max) {
			out->len = max;
			out->consumed = max;
			out->flags = content_flags((const unsigned char *)buf, max);
			return LINE_TOO_LONG;
		}
		out->len = 0;
		out->consumed = 0;
		out->flags = 0;
		return LINE_INCOMPLETE;
	}
	size_t pos = (size_t)(lf - buf);
	out->consumed = pos + 1;
	if (pos > 0 && buf[pos - 1] == '\r') {
		out->len = pos - 1;
		out->flags = LINE_CRLF;
	} else {
		/* RFC 1939 §3: lines end in CRLF; a bare LF still ends the line here, flagged for the checks.
		 */
		out->len = pos;
		out->flags = LINE_BARE_LF;
	}
	out->flags |= content_flags((const unsigned char *)buf, out->len);
	return LINE_OK;
}

/* The escaped form of one octet; returns its length (1, 2 or 4). */
static size_t escape_one(unsigned char c, char tok[5])
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '\r':
		memcpy(tok, "\\r", 3);
		return 2;
	case '\n':
		memcpy(tok, "\\n", 3);
		return 2;
	case '\t':
		memcpy(tok, "\\t", 3);
		return 2;
	case '\\':
		memcpy(tok, "\\\\", 3);
		return 2;
	default:
		break;
	}
	if (c >= 0x20 && c < 0x7f) {
		tok[0] = (char)c;
		tok[1] = '\0';
		return 1;
	}
	tok[0] = '\\';
	tok[1] = 'x';
	tok[2] = hex[c >> 4];
	tok[3] = hex[c & 0xf];
	tok[4] = '\0';
	return 4;
}

size_t line_escape(const char *src, size_t len, char *dst, size_t dstsize)
{
	char tok[5];
	size_t full = 0, room, pos = 0, i;

	if (dstsize == 0)
		return 0;
	room = dstsize - 1;
	for (i = 0; i < len; i++)
		full += escape_one((unsigned char)src[i], tok);
	if (full > room) {
		/* Cut on a whole escape, leaving room for the "..." that says so. */
		size_t keep = room >= 3 ? room - 3 : 0;
		for (i = 0; i < len; i++) {
			size_t n = escape_one((unsigned char)src[i], tok);
			if (pos + n > keep)
				break;
			memcpy(dst + pos, tok, n);
			pos += n;
		}
		for (i = 0; i < 3 && pos < room; i++)
			dst[pos++] = '.';
		dst[pos] = '\0';
		return pos;
	}
	for (i = 0; i < len; i++) {
		size_t n = escape_one((unsigned char)src[i], tok);
		memcpy(dst + pos, tok, n);
		pos += n;
	}
	dst[pos] = '\0';
	return pos;
}
