/* faults_auth.c — the login and SASL faults of bin/pop3refd-faults: the overlay handlers of USER, PASS, APOP,
 * STLS and AUTH, the faults of AUTH's continuation lines, and what AUTH leaves for later. Part of the command
 * overlay of faults_cmd.c. Compiled to nothing unless POP3REFD_FAULTS is defined. */
#include "server/faults.h"

#ifdef POP3REFD_FAULTS

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/b64.h"
#include "lib/digest.h"
#include "lib/line.h"
#include "server/command.h"
#include "server/config.h"
#include "server/faults_int.h"
#include "server/reply.h"
#include "server/sasl.h"
#include "server/server.h"
#include "server/session.h"
#include "server/utf8.h"

/* ---- base64 as a lenient server reads it --------------------------------------------------------- */

/* Lenient base64 (auth-bad-base64-accepted), what a forgiving decoder does: keep the alphabet, skip
 * everything else, '=' included, then mend the length (a lone sextet dropped, padding added). The result
 * is encoded again, strictly, so the real decoder takes it. 0, or -1 when even that fails. */
static int b64_mend(const char *src, size_t len, char *out, size_t size)
{
	char *clean = malloc(len + 4);
	unsigned char *bin = malloc(len + 4);
	size_t m = 0, binlen = 0;
	int rc = -1;

	if (!clean || !bin)
		goto out;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
		    c == '/')
			clean[m++] = c;
	}
	if (m % 4 == 1)
		m--;
	while (m % 4 != 0)
		clean[m++] = '=';
	if (b64_decode(clean, m, bin, &binlen, 0) != B64_OK || b64_encoded_len(binlen) >= size)
		goto out;
	out[b64_encode(bin, binlen, out)] = '\0';
	rc = 0;
out:
	free(clean);
	free(bin);
	return rc;
}

static int b64_strict_ok(const char *src, size_t len)
{
	unsigned char *bin;
	size_t binlen = 0;
	int ok;

	if (len == 0)
		return 1;
	bin = malloc(len + 4);
	if (!bin)
		return 1;
	ok = b64_decode(src, len, bin, &binlen, 1) == B64_OK;
	free(bin);
	return ok;
}

/* ---- USER, PASS, APOP, STLS, AUTH ------------------------------------------------------------------ */

void fault_ov_user(struct session *s, const struct cmdline *cl, struct result *r)
{
	fault_run_real(s, cl, r);
	if (r->status == RES_OK && fault_on(F_USER_REVEALS_UNKNOWN) &&
	    !users_password(&s->srv->users, cl->argv[0])) {
		res_err(r, CODE_AUTH, "no such user");
		fault_forget_user(s);
	}
}

void fault_ov_pass(struct session *s, const struct cmdline *cl, struct result *r)
{
	if (!s->have_user && fault_on(F_USER_OUTLIVES_SESSION) &&
	    fault_stash_take_string(FAULT_SERVER_WIDE, STASH_USER, s->pending_user, sizeof s->pending_user))
		s->have_user = 1; /* the USER another session left behind */
	if (!s->have_user && fault_on(F_PASS_WITHOUT_USER))
		res_ok(r, "password accepted");
	else
		fault_run_real(s, cl, r);
}

static int is_md5_hex(const char *d)
{
	size_t n = 0;

	for (; d[n]; n++)
		if (!(d[n] >= '0' && d[n] <= '9') && !(d[n] >= 'a' && d[n] <= 'f'))
			return 0;
	return n == 32;
}

/* apop-any-digest, apop-digest-reversed: the digest argument is replaced by the one the real check takes
 * (any well-formed digest, or MD5(secret + timestamp)), or by a wrong one (the right digest, reversed). */
void fault_ov_apop(struct session *s, const struct cmdline *cl, struct result *r)
{
	static struct cmdline c2;
	static char digest[DIGEST_MD5_HEX];
	char name[SESSION_NAME_MAX + 1], right[DIGEST_MD5_HEX], reversed[DIGEST_MD5_HEX];
	const struct user *u = NULL;

	if (is_md5_hex(cl->argv[1]) && cred_prepare(cl->argv[0], CRED_QUERY, name, sizeof name) == CRED_OK)
		u = users_find(&s->srv->users, name);
	if (!u) {
		fault_run_real(s, cl, r);
		return;
	}
	apop_digest(s->timestamp, u->prepared, right);
	apop_digest(u->prepared, s->timestamp, reversed);
	c2 = *cl;
	if (fault_on(F_APOP_ANY_DIGEST) ||
	    (fault_on(F_APOP_DIGEST_REVERSED) && digest_equal(reversed, cl->argv[1])))
		memcpy(digest, right, sizeof digest);
	else if (fault_on(F_APOP_DIGEST_REVERSED) && digest_equal(right, cl->argv[1]))
		memcpy(digest, reversed, sizeof digest);
	else
		snprintf(digest, sizeof digest, "%s", cl->argv[1]);
	c2.argv[1] = digest;
	fault_run_real(s, &c2, r);
}

void fault_ov_stls(struct session *s, const struct cmdline *cl, struct result *r)
{
	if (s->tls && fault_on(F_STLS_TWICE))
		res_ok(r, "begin TLS negotiation"); /* and no handshake follows */
	else
		fault_run_real(s, cl, r);
}

void fault_ov_auth(struct session *s, const struct cmdline *cl, struct result *r)
{
	static struct cmdline c2;
	static char ir[POP3_MAX_SASL_LINE + 1];
	char mech[32];
	size_t i;

	c2 = *cl;
	if (cl->argc >= 1) {
		for (i = 0; cl->argv[0][i] && i + 1 < sizeof mech; i++) {
			if (cl->argv[0][i] >= 'a' && cl->argv[0][i] <= 'z' &&
			    fault_on(F_AUTH_MECH_CASE_SENSITIVE)) {
				res_err(r, CODE_NONE, "unsupported mechanism"); /* matched as sent */
				return;
			}
			mech[i] = (char)toupper((unsigned char)cl->argv[0][i]);
		}
		mech[i] = '\0';
		if (cl->argc == 2 && sasl_server_first(mech) && fault_on(F_AUTH_IR_FOR_SERVER_FIRST))
			c2.argc = 1; /* the initial response ignored instead of refused */
	}
	if (c2.argc == 2 && strcmp(c2.argv[1], "=") != 0 && fault_on(F_AUTH_BAD_BASE64_ACCEPTED) &&
	    !b64_strict_ok(c2.argv[1], strlen(c2.argv[1])) &&
	    b64_mend(c2.argv[1], strlen(c2.argv[1]), ir, sizeof ir) == 0)
		c2.argv[1] = ir;
	fault_run_real(s, &c2, r);
}

/* ---- AUTH's continuation lines --------------------------------------------------------------------- */

/* sasl-final-in-ok: when the mechanism's final data just went out as a "+ " line (a SCRAM
 * server-final-message, RFC 5802 §7: "v=..."), take the client's empty answer as given and put the data
 * into the +OK instead. */
static void final_in_ok(struct session *s, struct result *r)
{
	unsigned char bin[RES_TEXT_MAX];
	char b64[RES_TEXT_MAX];
	size_t n = 0;

	if (!fault_on(F_SASL_FINAL_IN_OK) || r->status != RES_CONT || !s->sasl ||
	    strlen(r->text) >= sizeof bin || b64_decode(r->text, strlen(r->text), bin, &n, 0) != B64_OK ||
	    n < 2 || memcmp(bin, "v=", 2) != 0)
		return;
	snprintf(b64, sizeof b64, "%s", r->text);
	res_clear(r);
	session_run_line(s, "", 0, 0, r);
	if (r->status == RES_OK)
		res_ok(r, "%s", b64);
}

/* The authentication identity of a PLAIN response (RFC 4616 §2: authzid NUL authcid NUL passwd). 0 or -1. */
static int plain_authcid(const char *b64, size_t len, char *out, size_t size)
{
	static unsigned char bin[POP3_MAX_SASL_LINE + 4];
	const unsigned char *a, *b;
	size_t n = 0;

	if (len == 0 || len > POP3_MAX_SASL_LINE || b64_decode(b64, len, bin, &n, 0) != B64_OK)
		return -1;
	if (!(a = memchr(bin, 0, n)) || !(b = memchr(a + 1, 0, n - (size_t)(a + 1 - bin))))
		return -1;
	snprintf(out, size, "%.*s", (int)(b - a - 1), (const char *)(a + 1));
	return 0;
}

/* in-use-on-wrong-sasl: a PLAIN exchange that failed on its credentials answers [IN-USE] when the user's
 * maildrop is busy, as a server that takes the lock before it checks the password. */
static void in_use_for_wrong(struct session *s, const char *b64, size_t len, struct result *r)
{
	char user[SESSION_NAME_MAX + 1];

	if (fault_on(F_IN_USE_ON_WRONG_SASL) && r->status == RES_ERR && r->code == CODE_AUTH &&
	    plain_authcid(b64, len, user, sizeof user) == 0 && fault_holder(s, user))
		res_err(r, CODE_IN_USE, "maildrop is locked by another session");
}

/* auth-outlives-session: an exchange another connection left half-done, taken up by this one: AUTH is
 * started again silently, so the line that came is read as the client's response. 1 when resumed. Only
 * a line that reads as an AUTH response (base64) takes it up: with several workers, another scenario's
 * unknown command in AUTHORIZATION would otherwise take it first. */
int fault_resume_auth(struct session *s, const char *got, size_t got_len)
{
	char mech[64], line[80];
	struct result r;

	if (!b64_strict_ok(got, got_len) ||
	    !fault_stash_take_string(FAULT_SERVER_WIDE, STASH_MECH, mech, sizeof mech))
		return 0;
	snprintf(line, sizeof line, "AUTH %s", mech);
	res_clear(&r);
	session_run_line(s, line, strlen(line), 0, &r);
	return s->sasl != NULL;
}

/* A line inside an AUTH exchange. */
void fault_sasl_line(struct session *s, const char *line, size_t len, int flags, struct result *r)
{
	static char mended[POP3_MAX_SASL_LINE + 1];

	if (len == 1 && line[0] == '*' && fault_on(F_AUTH_STAR_NOT_CANCEL)) {
		res_cont(r, "", 0); /* asked again */
		return;
	}
	if (fault_on(F_AUTH_BAD_BASE64_ACCEPTED) && !(flags & (LINE_HAS_NUL | LINE_HAS_CR)) &&
	    !(len == 1 && line[0] == '*') && !b64_strict_ok(line, len) &&
	    b64_mend(line, len, mended, sizeof mended) == 0) {
		line = mended;
		len = strlen(mended);
	}
	session_run_line(s, line, len, flags, r);
	in_use_for_wrong(s, line, len, r);
	final_in_ok(s, r);
}

void fault_auth_after(struct session *s, const struct command *c, const struct cmdline *cl, struct result *r)
{
	if (strcmp(c->name, "AUTH") == 0) {
		/* PLAIN only: with several workers, other scenarios leave CRAM-MD5 or SCRAM exchanges
		 * half-done too, and the one taken up would then be a matter of timing. */
		if (r->status == RES_CONT && s->sasl && fault_on(F_AUTH_OUTLIVES_SESSION) &&
		    strcasecmp(cl->argv[0], "PLAIN") == 0)
			fault_stash_set(s, STASH_MECH, cl->argv[0], strlen(cl->argv[0]) + 1);
		if (cl->argc == 2)
			in_use_for_wrong(s, cl->argv[1], strlen(cl->argv[1]), r);
	}
	final_in_ok(s, r);
}

#else

/* ISO C wants a translation unit to declare something. */
typedef int faults_auth_c_is_empty_without_pop3refd_faults;

#endif
