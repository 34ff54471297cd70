/* multiline.h — RFC 1939 §3 multi-line responses: byte-stuffing on the way out, un-stuffing and
 * terminator detection on the way in, and octet counting as sent. Streaming: no whole-message copies. */
#ifndef POP3_MULTILINE_H
#define POP3_MULTILINE_H

#include <stddef.h>
#include <stdbool.h>

/* --- Encoding (server side) ---------------------------------------------------------------------------
 * Feed a stored message in chunks of any size (LF or CRLF line ends, or a mix); the encoder emits CRLF line
 * ends, doubles a leading '.' on every line, and can stop after the header plus N body lines (TOP).
 * ml_encode_finish() ends a last line that had no line end and appends the terminator ".\r\n". */
struct ml_encoder {
	bool at_line_start;
	bool pending_cr;        /* a CR was the last octet of the previous chunk */
	bool in_body;           /* passed the empty line that ends the header */
	bool header_line_empty; /* the current line has no content yet (for header end detection) */
	long body_lines_left;   /* -1: no limit (RETR); otherwise lines of body still to send (TOP) */
	bool done;              /* TOP limit reached: ignore further input */
	bool cr_sent; /* ml_encode_into: the last octet of the previous chunk was a CR (already sent) */
};

/* body_lines < 0 means the whole message. */
void ml_encoder_init(struct ml_encoder *enc, long body_lines);

/* Encode `len` octets of `in`. Output is written through `emit(ctx, data, n)`, which returns 0 or -1 (to
 * stop, returned as is). Output per input octet is at most 3 octets. */
typedef int (*ml_emit_fn)(void *ctx, const char *data, size_t n);
int ml_encode(struct ml_encoder *enc, const char *in, size_t len, ml_emit_fn emit, void *ctx);
int ml_encode_finish(struct ml_encoder *enc, ml_emit_fn emit, void *ctx);

/* RETR's fast path: the same encoding as ml_encode(), written straight into `out`, which must have room for
 * ML_ENCODE_BOUND(len) octets; returns how many were written. Lines are found with memchr and copied whole,
 * so it costs little more than a copy. Only for an encoder without a line limit (body_lines < 0), and not
 * to be mixed with ml_encode() on one encoder; ml_encode_finish() ends the body as usual. */
#define ML_ENCODE_BOUND(len) (2 * (len) + 2)
size_t ml_encode_into(struct ml_encoder *enc, const char *in, size_t len, char *out);

/* Size of a stored message as RFC 1939 §11 counts it: every line end as CRLF, no stuffing, and a final line
 * with no line end counted with the CRLF the server adds (practice P-MSG-1). Streaming, like the encoder. */
struct ml_counter {
	unsigned long long octets;
	bool pending_cr;
	bool at_line_start;
};
void ml_counter_init(struct ml_counter *c);
void ml_count(struct ml_counter *c, const char *in, size_t len);
unsigned long long ml_count_finish(struct ml_counter *c);

/* --- Decoding (client side) ---------------------------------------------------------------------------
 * Given one received data line (without its line end), say whether it is the terminator, and if not,
 * return the un-stuffed content: a leading '.' is removed when the line starts with "..". A line that starts
 * with a single '.' followed by other octets is a stuffing violation (R1939-ML-2): reported, and the '.'
 * is kept as data. */
enum ml_line_kind {
	ML_DATA,           /* ordinary data line, returned unchanged */
	ML_DATA_UNSTUFFED, /* began with "..": one '.' removed */
	ML_UNSTUFFED_DOT, /* began with '.' followed by something other than '.': not stuffed (a violation) */
	ML_TERMINATOR     /* exactly "." */
};
enum ml_line_kind ml_decode_line(const char *line, size_t len, const char **data, size_t *data_len);

#endif
