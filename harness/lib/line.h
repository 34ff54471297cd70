/* line.h — finding POP3 lines in a byte buffer, with limits; the one line scanner both sides use. */
#ifndef POP3_LINE_H
#define POP3_LINE_H

#include <stddef.h>

enum line_status {
	LINE_INCOMPLETE, /* no line end yet, and fewer than max octets buffered */
	LINE_OK,         /* a complete line */
	LINE_TOO_LONG,   /* max octets seen without a line end (the caller decides: discard or fail) */
};

/* Flags describing how a found line ended or what it contains. */
enum line_flag {
	LINE_CRLF = 1 << 0,    /* ended by CR LF (the only correct ending, RFC 1939 §3) */
	LINE_BARE_LF = 1 << 1, /* ended by LF without CR */
	LINE_HAS_CR = 1 << 2,  /* a CR inside the line not followed by LF */
	LINE_HAS_NUL = 1 << 3, /* a NUL octet inside the line */
	LINE_HAS_8BIT = 1 << 4 /* an octet >= 0x80 */
};

struct line {
	size_t len;      /* octets of content, without the line end */
	size_t consumed; /* octets including the line end */
	int flags;       /* enum line_flag */
};

/* Scan buf[0..avail) for the first line. A line ends at LF (CR LF or bare LF). `max` counts the whole line
 * including its end (so 255 for commands, 512 for status lines); 0 means no limit. On LINE_TOO_LONG,
 * out->consumed is `max` and out->len the octets that belong to the line so far. */
enum line_status line_scan(const char *buf, size_t avail, size_t max, struct line *out);

/* Render `len` octets for a transcript or log: printable ASCII as is, anything else as \xNN (and \r, \n,
 * \t, \\ escaped). Writes at most dstsize-1 octets and a NUL; returns the length written. Output longer than
 * dstsize is cut and ends in "...". */
size_t line_escape(const char *src, size_t len, char *dst, size_t dstsize);

#endif
