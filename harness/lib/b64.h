/* b64.h — RFC 4648 §4 base64, strict: standard alphabet, padding required, no whitespace, canonical. */
#ifndef POP3_B64_H
#define POP3_B64_H

#include <stddef.h>

/* Encoded length (without NUL) of n octets. */
size_t b64_encoded_len(size_t n);

/* Encode src[0..n) into dst, which holds at least b64_encoded_len(n)+1 octets. Returns the length. */
size_t b64_encode(const void *src, size_t n, char *dst);

enum b64_status {
	B64_OK = 0,
	B64_BAD_CHAR,    /* an octet outside A-Z a-z 0-9 + / = (RFC 4648 §3.3: reject, never skip) */
	B64_BAD_LENGTH,  /* not a multiple of 4 */
	B64_BAD_PADDING, /* '=' not at the end, or more than two */
	B64_NONCANONICAL /* pad bits not zero (RFC 4648 §3.5); only when strict_pad_bits */
};

/* Decode src[0..n) into dst (at least n/4*3+1 octets; a NUL is appended for convenience). *outlen gets the
 * decoded length. strict_pad_bits rejects non-zero pad bits. */
enum b64_status b64_decode(const char *src, size_t n, unsigned char *dst, size_t *outlen,
                           int strict_pad_bits);

const char *b64_status_str(enum b64_status st);

#endif
