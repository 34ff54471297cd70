/* digest.c — APOP (RFC 1939 §7) and CRAM-MD5 (RFC 2195) digests through OpenSSL's EVP and HMAC. */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "lib/digest.h"

static void to_hex(const unsigned char *md, unsigned n, char out[DIGEST_MD5_HEX])
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < n && i < 16; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[n == 16 ? 32 : 0] = '\0';
}

void apop_digest(const char *timestamp, const char *secret, char out[DIGEST_MD5_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	out[0] = '\0';
	if (ctx == NULL)
		return;
	/* RFC 1939 §7: the digest is over the timestamp (angle brackets included) followed by the secret. */
	if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, timestamp, strlen(timestamp)) == 1 &&
	    EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1 && EVP_DigestFinal_ex(ctx, md, &n) == 1)
		to_hex(md, n, out);
	EVP_MD_CTX_free(ctx);
}

void cram_md5_digest(const char *challenge, size_t challenge_len, const char *secret,
                     char out[DIGEST_MD5_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	out[0] = '\0';
	/* RFC 2195 §2: HMAC-MD5 (RFC 2104) with the shared secret as key and the challenge as text. */
	if (HMAC(EVP_md5(), secret, (int)strlen(secret), (const unsigned char *)challenge, challenge_len, md,
	         &n) != NULL)
		to_hex(md, n, out);
}

int digest_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	/* The length is no secret (always 32); the content is compared in constant time. */
	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}
