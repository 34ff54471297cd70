/* b64.c — strict RFC 4648 §4 base64: encode, and decode that rejects anything non-canonical. */
#include <string.h>
#include "lib/b64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t b64_encode(const void *src, size_t n, char *dst)
{
	const unsigned char *s = src;
	size_t i, o = 0;

	for (i = 0; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		dst[o++] = alphabet[v >> 18 & 63];
		dst[o++] = alphabet[v >> 12 & 63];
		dst[o++] = alphabet[v >> 6 & 63];
		dst[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)s[i] << 16;
		dst[o++] = alphabet[v >> 18 & 63];
		dst[o++] = alphabet[v >> 12 & 63];
		dst[o++] = '=';
		dst[o++] = '=';
	} else if (n - i == 2) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
		dst[o++] = alphabet[v >> 18 & 63];
		dst[o++] = alphabet[v >> 12 & 63];
		dst[o++] = alphabet[v >> 6 & 63];
		dst[o++] = '=';
	}
	dst[o] = '\0';
	return o;
}

/* Value of a base64 digit, or -1. */
static int digit(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum b64_status b64_decode(const char *src, size_t n, unsigned char *dst, size_t *outlen, int strict_pad_bits)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i, o = 0, pad = 0;

	*outlen = 0;
	dst[0] = '\0';
	/* RFC 4648 §3.3: characters outside the alphabet are rejected, never skipped (whitespace included).
	 */
	for (i = 0; i < n; i++)
		if (s[i] != '=' && digit(s[i]) < 0)
			return B64_BAD_CHAR;
	if (n % 4 != 0)
		return B64_BAD_LENGTH;
	if (n == 0)
		return B64_OK;
	/* RFC 4648 §3.2/§4: at most two '=', only at the very end. */
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (i = 0; i < n - pad; i++)
		if (s[i] == '=')
			return B64_BAD_PADDING;

	for (i = 0; i < n; i += 4) {
		int a = digit(s[i]), b = digit(s[i + 1]);
		int c = s[i + 2] == '=' ? 0 : digit(s[i + 2]);
		int d = s[i + 3] == '=' ? 0 : digit(s[i + 3]);
		unsigned v = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)c << 6 | (unsigned)d;
		size_t take = i + 4 < n ? 3 : 3 - pad;

		dst[o++] = (unsigned char)(v >> 16);
		if (take > 1)
			dst[o++] = (unsigned char)(v >> 8);
		if (take > 2)
			dst[o++] = (unsigned char)v;
	}
	/* RFC 4648 §3.5: the bits the padding leaves over must be zero for a canonical encoding. */
	if (strict_pad_bits &&
	    ((pad == 2 && (digit(s[n - 3]) & 0x0f) != 0) || (pad == 1 && (digit(s[n - 2]) & 0x03) != 0))) {
		dst[0] = '\0';
		return B64_NONCANONICAL;
	}
	dst[o] = '\0';
	*outlen = o;
	return B64_OK;
}

const char *b64_status_str(enum b64_status st)
{
	switch (st) {
	case B64_OK:
		return "valid base64";
	case B64_BAD_CHAR:
		return "character outside the base64 alphabet";
	case B64_BAD_LENGTH:
		return "length not a multiple of 4";
	case B64_BAD_PADDING:
		return "misplaced '=' padding";
	case B64_NONCANONICAL:
		return "non-zero pad bits (not canonical)";
	}
	return "unknown base64 status";
}
