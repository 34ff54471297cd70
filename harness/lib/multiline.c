/* multiline.c — RFC 1939 §3 multi-line bodies: streaming byte-stuffing encoder (with TOP's line limit),
 * octet counter as sent (RFC 1939 §11), and the receiver's per-line un-stuffing. */
#include <string.h>
#include "lib/multiline.h"

void ml_encoder_init(struct ml_encoder *enc, long body_lines)
{
	enc->at_line_start = true;
	enc->pending_cr = false;
	enc->in_body = false;
	enc->header_line_empty = true;
	enc->body_lines_left = body_lines < 0 ? -1 : body_lines;
	enc->done = false;
	enc->cr_sent = false;
}

/* A line ended: send CRLF whatever the storage used, then account for TOP (RFC 1939 §7: the header, the
 * blank line after it, then N lines of the body). */
static int end_line(struct ml_encoder *enc, ml_emit_fn emit, void *ctx)
{
	int rc = emit(ctx, "\r\n", 2);

	if (rc != 0)
		return rc;
	if (!enc->in_body) {
		if (enc->header_line_empty) {
			enc->in_body = true;
			if (enc->body_lines_left == 0)
				enc->done = true;
		}
	} else if (enc->body_lines_left > 0 && --enc->body_lines_left == 0) {
		enc->done = true;
	}
	enc->at_line_start = true;
	enc->header_line_empty = true;
	return 0;
}

int ml_encode(struct ml_encoder *enc, const char *in, size_t len, ml_emit_fn emit, void *ctx)
{
	size_t i = 0;
	int rc;

	while (i < len && !enc->done) {
		if (enc->pending_cr) {
			enc->pending_cr = false;
			if (in[i] == '\n') {
				i++;
				if ((rc = end_line(enc, emit, ctx)) != 0)
					return rc;
				continue;
			}
			/* A CR not followed by LF is data, passed on as stored. */
			if ((rc = emit(ctx, "\r", 1)) != 0)
				return rc;
			enc->header_line_empty = false;
		}
		if (enc->at_line_start) {
			enc->at_line_start = false;
			/* RFC 1939 §3: a line beginning with the termination octet gets one more in front. */
			if (in[i] == '.' && (rc = emit(ctx, ".", 1)) != 0)
				return rc;
		}
		size_t j = i;
		while (j < len && in[j] != '\r' && in[j] != '\n')
			j++;
		if (j > i) {
			if ((rc = emit(ctx, in + i, j - i)) != 0)
				return rc;
			enc->header_line_empty = false;
			i = j;
			continue;
		}
		if (in[i] == '\n') {
			i++;
			if ((rc = end_line(enc, emit, ctx)) != 0)
				return rc;
		} else if (i + 1 == len) {
			enc->pending_cr = true; /* the next chunk says whether it ends a line */
			i++;
		} else if (in[i + 1] == '\n') {
			i += 2;
			if ((rc = end_line(enc, emit, ctx)) != 0)
				return rc;
		} else {
			if ((rc = emit(ctx, "\r", 1)) != 0)
				return rc;
			enc->header_line_empty = false;
			i++;
		}
	}
	return 0;
}

size_t ml_encode_into(struct ml_encoder *enc, const char *in, size_t len, char *out)
{
	const char *p = in, *end = in + len;
	char *o = out;

	/* Each input octet gives at most two (a LF gets its CR, a leading '.' its twin), so the bound holds.
	 * A CR is sent at once as data; when a LF follows it, no second CR is added (cr_sent carries that
	 * over a chunk boundary), which gives exactly what ml_encode() sends. */
	while (p < end) {
		const char *lf;
		size_t n;

		if (enc->at_line_start) {
			enc->at_line_start = false;
			/* RFC 1939 §3: a line beginning with the termination octet gets one more in front. */
			if (*p == '.')
				*o++ = '.';
		}
		lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL) {
			n = (size_t)(end - p);
			memcpy(o, p, n);
			o += n;
			enc->cr_sent = end[-1] == '\r';
			break;
		}
		n = (size_t)(lf - p);
		memcpy(o, p, n);
		o += n;
		if (!(n > 0 ? lf[-1] == '\r' : enc->cr_sent))
			*o++ = '\r';
		*o++ = '\n';
		enc->cr_sent = false;
		enc->at_line_start = true;
		p = lf + 1;
	}
	return (size_t)(o - out);
}

int ml_encode_finish(struct ml_encoder *enc, ml_emit_fn emit, void *ctx)
{
	int rc;

	if (!enc->done) {
		if (enc->pending_cr) {
			enc->pending_cr = false;
			if ((rc = emit(ctx, "\r", 1)) != 0)
				return rc;
		}
		/* Practice P-MSG-1: a last line without a line end gets one, so the terminator starts a line.
		 */
		if (!enc->at_line_start && (rc = emit(ctx, "\r\n", 2)) != 0)
			return rc;
		enc->at_line_start = true;
	}
	enc->done = true;
	return emit(ctx, ".\r\n", 3);
}

void ml_counter_init(struct ml_counter *c)
{
	c->octets = 0;
	c->pending_cr = false;
	c->at_line_start = true;
}

void ml_count(struct ml_counter *c, const char *in, size_t len)
{
	const char *p = in, *end = in + len;

	/* RFC 1939 §11: every line end counts two octets (CRLF) whatever the storage; no stuffing counted.
	 * A CR was already counted as one, so a LF after it adds one; a bare LF adds two. */
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL) {
			c->octets += (unsigned long long)(end - p);
			c->pending_cr = end[-1] == '\r';
			c->at_line_start = false;
			return;
		}
		bool cr_before = lf > p ? lf[-1] == '\r' : c->pending_cr;
		c->octets += (unsigned long long)(lf - p) + (cr_before ? 1 : 2);
		c->pending_cr = false;
		c->at_line_start = true;
		p = lf + 1;
	}
}

unsigned long long ml_count_finish(struct ml_counter *c)
{
	/* Practice P-MSG-1: the CRLF added to a last line without a line end is counted. */
	if (!c->at_line_start)
		c->octets += 2;
	c->at_line_start = true;
	c->pending_cr = false;
	return c->octets;
}

enum ml_line_kind ml_decode_line(const char *line, size_t len, const char **data, size_t *data_len)
{
	if (len >= 1 && line[0] == '.') {
		if (len == 1) {
			*data = line + 1;
			*data_len = 0;
			return ML_TERMINATOR;
		}
		if (line[1] == '.') {
			*data = line + 1;
			*data_len = len - 1;
			return ML_DATA_UNSTUFFED;
		}
		/* R1939-ML-2: the sender should have stuffed this line; keep the '.' as data and say so. */
		*data = line;
		*data_len = len;
		return ML_UNSTUFFED_DOT;
	}
	*data = line;
	*data_len = len;
	return ML_DATA;
}
