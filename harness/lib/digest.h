/* digest.h — the digests POP3 authentication uses: APOP (RFC 1939 §7) and CRAM-MD5 (RFC 2195). */
#ifndef POP3_DIGEST_H
#define POP3_DIGEST_H

#include <stddef.h>

#define DIGEST_MD5_HEX 33 /* 32 lower-case hex digits and a NUL */

/* RFC 1939 §7: MD5(timestamp || secret), timestamp with its angle brackets, as 32 lower-case hex digits. */
void apop_digest(const char *timestamp, const char *secret, char out[DIGEST_MD5_HEX]);

/* RFC 2195 §2: HMAC-MD5 keyed by the secret over the challenge, as 32 lower-case hex digits. */
void cram_md5_digest(const char *challenge, size_t challenge_len, const char *secret,
                     char out[DIGEST_MD5_HEX]);

/* Constant-time comparison of two NUL-terminated strings of equal expected length; 1 when equal. */
int digest_equal(const char *a, const char *b);

#endif
