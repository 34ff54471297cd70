/* utf8.c — UTF-8 mode, UTF-8 syntax, and SASLprep of credentials (RFC 6856 §2). */
#include "server/utf8.h"

#include <string.h>
#include <gsasl.h>

#include "server/faults.h"
#include "server/log.h"
#include "server/session.h"

/* The octet after a lead octet must lie in [lo, hi]; later continuation octets in [0x80, 0xBF]. This is
 * the table of RFC 3629 §4 (UTF8-2, UTF8-3, UTF8-4). */
int utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned char c = *p++;
		unsigned char lo = 0x80, hi = 0xBF;
		int more;

		if (c < 0x80)
			continue;
		if (c >= 0xC2 && c <= 0xDF) {
			more = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			more = 2;
			if (c == 0xE0)
				lo = 0xA0; /* no overlong 3-octet forms */
			else if (c == 0xED)
				hi = 0x9F; /* no UTF-16 surrogates U+D800..U+DFFF */
		} else if (c >= 0xF0 && c <= 0xF4) {
			more = 3;
			if (c == 0xF0)
				lo = 0x90; /* no overlong 4-octet forms */
			else if (c == 0xF4)
				hi = 0x8F; /* nothing above U+10FFFF */
		} else {
			return 0; /* a continuation octet first, C0/C1 (overlong 2-octet), or F5..FF */
		}
		if (end - p < more)
			return 0; /* truncated */
		if (p[0] < lo || p[0] > hi)
			return 0;
		for (int i = 1; i < more; i++)
			if (p[i] < 0x80 || p[i] > 0xBF)
				return 0;
		p += more;
	}
	return 1;
}

int utf8_has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/* The gsasl_saslprep flags that allow unassigned code points. GNU SASL documents GSASL_ALLOW_UNASSIGNED
 * for that, but its saslprep.c passes libidn STRINGPREP_NO_UNASSIGNED when the flag is set (seen in
 * libgsasl 0.2 and 2.2): the flag does the opposite. Ask the library once, with U+0221 (assigned only in
 * Unicode 4.0, so unassigned for stringprep's Unicode 3.2), which value lets it through. */
static Gsasl_saslprep_flags allow_unassigned_flags(void)
{
	static int known;
	static Gsasl_saslprep_flags flags;
	char *out = NULL;

	if (!known) {
		if (gsasl_saslprep("\xc8\xa1", GSASL_ALLOW_UNASSIGNED, &out, NULL) == GSASL_OK)
			flags = GSASL_ALLOW_UNASSIGNED;
		else
			flags = (Gsasl_saslprep_flags)0;
		gsasl_free(out);
		known = 1;
	}
	return flags;
}

enum cred_status cred_prepare(const char *in, enum cred_kind kind, char *out, size_t size)
{
	Gsasl_saslprep_flags query = allow_unassigned_flags();
	char *prepared = NULL;
	size_t n;
	int rc;

	if (size > 0)
		out[0] = '\0';
	if (fault_on(F_UTF8_NO_SASLPREP) || fault_on(F_UTF8_NON_ASCII_DROPPED)) {
		/* Faults: the octets as sent, or with every non-ASCII octet dropped; no check, no SASLprep.
		 */
		size_t k = 0;
		for (; *in && k + 1 < size; in++)
			if (fault_on(F_UTF8_NO_SASLPREP) || (unsigned char)*in < 0x80)
				out[k++] = *in;
		if (size > 0)
			out[k] = '\0';
		return *in ? CRED_TOO_LONG : CRED_OK;
	}
	if (!utf8_valid(in, strlen(in)))
		return CRED_BAD_UTF8;
	/* RFC 3454 §7: only query strings may hold unassigned code points. */
	rc = gsasl_saslprep(
	    in, kind == CRED_QUERY ? query : (Gsasl_saslprep_flags)(GSASL_ALLOW_UNASSIGNED ^ query),
	    &prepared, NULL);
	if (rc == GSASL_MALLOC_ERROR)
		return CRED_NO_MEMORY;
	if (rc != GSASL_OK || prepared == NULL) {
		gsasl_free(prepared);
		return CRED_PROHIBITED;
	}
	n = strlen(prepared);
	if (n >= size) {
		gsasl_free(prepared);
		return CRED_TOO_LONG;
	}
	memcpy(out, prepared, n + 1);
	gsasl_free(prepared);
	return CRED_OK;
}

const char *cred_status_text(enum cred_status st)
{
	switch (st) {
	case CRED_OK:
		return "is fine";
	case CRED_BAD_UTF8:
		return "is not valid UTF-8";
	case CRED_PROHIBITED:
		return "holds a character SASLprep prohibits";
	case CRED_TOO_LONG:
		return "is too long";
	case CRED_NO_MEMORY:
		break;
	}
	return "cannot be prepared now";
}

void cmd_utf8(struct session *s, const struct cmdline *cl, struct result *r)
{
	/* RFC 6856 §2.1: from now on messages are sent as stored, UTF-8 header fields included. The mode
	 * lasts for the session; a second UTF8 changes nothing. */
	if (!s->utf8_mode)
		log_msg(LOG_DEBUG, "s%lu UTF-8 mode", s->id);
	s->utf8_mode = 1;
	res_ok(r, "UTF-8 mode enabled");
}
