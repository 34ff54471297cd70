/* sasl.c — AUTH exchanges driven through GNU SASL, with strict base64 on every client response. */
#include "server/sasl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsasl.h>
#include <openssl/rand.h>

#include "lib/b64.h"
#include "lib/line.h"
#include "server/auth.h"
#include "server/capa.h"
#include "server/faults.h"
#include "server/log.h"
#include "server/policy.h"
#include "server/server.h"

#define MECH_MAX 20 /* RFC 4422 §3.1: mechanism names are 1-20 characters */

struct sasl {
	Gsasl_session *gs;
	char mech[MECH_MAX + 1];
	int final_pending; /* the server's final data went out as "+ ..."; the client must answer empty */
};

/* A password for names that are not in the users file, so an exchange for an unknown user runs exactly as
 * for a known one and fails at the same point (RFC 4422 §3.6; R4422-SASL-2). Random per process. */
static char dummy_secret[33];

static int callback(Gsasl *ctx, Gsasl_session *gs, Gsasl_property prop)
{
	struct server *srv = gsasl_callback_hook_get(ctx);
	const char *authid = gsasl_property_fast(gs, GSASL_AUTHID);
	const char *stored = authid ? users_password(&srv->users, authid) : NULL;

	switch (prop) {
	case GSASL_PASSWORD:
		/* CRAM-MD5 and SCRAM compute with the secret itself. */
		gsasl_property_set(gs, GSASL_PASSWORD, stored ? stored : dummy_secret);
		return GSASL_OK;
	case GSASL_VALIDATE_SIMPLE: {
		/* PLAIN and LOGIN. */
		const char *authzid = gsasl_property_fast(gs, GSASL_AUTHZID);
		const char *given = gsasl_property_fast(gs, GSASL_PASSWORD);
		char *prepared = NULL;
		int ok;
		if (!given || !*given)
			return GSASL_AUTHENTICATION_ERROR; /* RFC 4616 §2: an empty password never verifies */
		/* RFC 4616 §2: the authenticated identity may act only as itself (no proxy rights here). */
		if (authzid && *authzid && strcmp(authzid, authid) != 0 && !fault_on(F_PLAIN_AUTHZID_IGNORED))
			return GSASL_AUTHENTICATION_ERROR;
		/* GNU SASL prepared the given password with SASLprep; prepare the stored one the same way. An
		 * unknown user costs the same work against the dummy secret (nothing tells which names
		 * exist). */
		if (gsasl_saslprep(stored ? stored : dummy_secret, GSASL_ALLOW_UNASSIGNED, &prepared, NULL) !=
		    GSASL_OK)
			return GSASL_AUTHENTICATION_ERROR;
		ok = auth_secret_equal(prepared, given) && stored;
		gsasl_free(prepared);
		return ok ? GSASL_OK : GSASL_AUTHENTICATION_ERROR;
	}
	case GSASL_SERVICE:
		gsasl_property_set(gs, GSASL_SERVICE, "pop"); /* RFC 5034 §4 */
		return GSASL_OK;
	case GSASL_HOSTNAME:
		gsasl_property_set(gs, GSASL_HOSTNAME, srv->hostname);
		return GSASL_OK;
	default:
		break;
	}
	return GSASL_NO_CALLBACK;
}

int sasl_global_init(struct server *srv, struct p3err *err)
{
	unsigned char rnd[16];
	int rc = gsasl_init(&srv->gsasl);

	if (rc != GSASL_OK)
		return p3err_set(err, "GNU SASL: %s", gsasl_strerror(rc));
	gsasl_callback_set(srv->gsasl, callback);
	gsasl_callback_hook_set(srv->gsasl, srv);
	for (size_t i = 0; policy_mechanisms[i]; i++)
		if (!gsasl_server_support_p(srv->gsasl, policy_mechanisms[i]))
			return p3err_set(err, "GNU SASL lacks the %s mechanism", policy_mechanisms[i]);
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return p3err_ssl(err, "no random numbers");
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(dummy_secret + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

void sasl_global_done(struct server *srv)
{
	if (srv->gsasl)
		gsasl_done(srv->gsasl);
	srv->gsasl = NULL;
}

int sasl_server_first(const char *mech)
{
	return strcmp(mech, "CRAM-MD5") == 0;
}

void sasl_end(struct session *s)
{
	if (!s->sasl)
		return;
	gsasl_finish(s->sasl->gs);
	free(s->sasl);
	s->sasl = NULL;
}

static void fail(struct session *s, struct result *r, const char *why)
{
	char method[MECH_MAX + 8];
	const char *authid = gsasl_property_fast(s->sasl->gs, GSASL_AUTHID);

	snprintf(method, sizeof method, "AUTH %s", s->sasl->mech);
	log_msg(LOG_DEBUG, "s%lu %s: %s", s->id, method, why);
	auth_fail(s, authid, method, r);
	if (fault_on(F_SASL_UNKNOWN_USER_DIFFERS) && (!authid || !users_password(&s->srv->users, authid)))
		res_err(r, CODE_NONE, "no such user"); /* fault: reveals which names exist */
	sasl_end(s);
}

/* The exchange succeeded: check who it authenticated, then log in. */
static void succeed(struct session *s, struct result *r)
{
	char user[SESSION_NAME_MAX + 1], method[MECH_MAX + 8];
	const char *authid = gsasl_property_fast(s->sasl->gs, GSASL_AUTHID);
	const char *authzid = gsasl_property_fast(s->sasl->gs, GSASL_AUTHZID);

	if (!authid || !users_password(&s->srv->users, authid)) {
		fail(s, r, "unknown user");
		return;
	}
	/* RFC 4616 §2 (and SCRAM's gs2 header): acting as someone else needs proxy rights nobody has here. */
	if (authzid && *authzid && strcmp(authzid, authid) != 0 && !fault_on(F_PLAIN_AUTHZID_IGNORED)) {
		fail(s, r, "authorization identity differs");
		return;
	}
	snprintf(user, sizeof user, "%s", authid);
	snprintf(method, sizeof method, "AUTH %s", s->sasl->mech);
	sasl_end(s);
	auth_login(s, user, method, r);
}

/* Send the mechanism's data as a continuation. The LOGIN mechanism's prompts are conventionally
 * "Username:" and "Password:" (draft-murchison-sasl-login, P-AUTH-2); GNU SASL words them differently, and
 * as clients ignore them, the conventional words are sent. */
static void challenge(struct session *s, const char *data, size_t len, struct result *r)
{
	char b64[RES_TEXT_MAX];

	if (strcmp(s->sasl->mech, "LOGIN") == 0) {
		if (len == 9 && memcmp(data, "User Name", 9) == 0)
			data = "Username:", len = 9;
		else if (len == 8 && memcmp(data, "Password", 8) == 0)
			data = "Password:", len = 9;
	}
	if (b64_encoded_len(len) >= sizeof b64) {
		res_err(r, CODE_SYS_TEMP, "challenge too long");
		sasl_end(s);
		return;
	}
	res_cont(r, b64, b64_encode(data, len, b64));
}

/* One step of the mechanism. `initial` marks a client's initial response (RFC 5034 §4). */
static void step(struct session *s, const char *in, size_t len, int initial, struct result *r)
{
	char *out = NULL;
	size_t outlen = 0;
	int rc = gsasl_step(s->sasl->gs, in, len, &out, &outlen);

	if (rc == GSASL_NEEDS_MORE) {
		if (initial && outlen == 0) {
			/* The client had its turn and said nothing usable (e.g. "AUTH PLAIN ="): a failure,
			 * not a second chance. */
			fail(s, r, "empty initial response");
		} else {
			challenge(s, out, outlen, r);
		}
	} else if (rc == GSASL_OK) {
		if (outlen > 0) {
			/* RFC 5034 §4: final server data travels in a "+ " line, never in the +OK. */
			s->sasl->final_pending = 1;
			challenge(s, out, outlen, r);
		} else {
			succeed(s, r);
		}
	} else {
		fail(s, r, gsasl_strerror(rc));
	}
	gsasl_free(out);
}

/* Strict base64 (RFC 4648 §3.3, §3.5): no junk skipped. dst holds at least len/4*3+1. */
static int decode(const char *src, size_t len, unsigned char *dst, size_t *outlen)
{
	if (len == 0) {
		*outlen = 0;
		dst[0] = '\0';
		return 0;
	}
	return b64_decode(src, len, dst, outlen, 1) == B64_OK ? 0 : -1;
}

static void list_mechanisms(struct session *s, struct result *r)
{
	struct policy_view v;

	policy_view_of(s, &v);
	evbuffer_drain(s->body, evbuffer_get_length(s->body));
	if (capa_mechanisms(&v, s->body) < 0) {
		res_err(r, CODE_SYS_TEMP, "out of memory");
		return;
	}
	res_ok(r, "SASL mechanisms follow");
	r->multiline = 1;
}

void cmd_auth(struct session *s, const struct cmdline *cl, struct result *r)
{
	static unsigned char ir[POP3_MAX_SASL_LINE];
	char mech[MECH_MAX + 1];
	struct policy_view v;
	size_t irlen = 0, n = strlen(cl->argv[0] ? cl->argv[0] : "");
	int rc, known = 0, has_ir = cl->argc == 2;

	if (cl->argc == 0) {
		list_mechanisms(s, r);
		return;
	}
	if (n > MECH_MAX) {
		res_err(r, CODE_NONE, "unsupported mechanism");
		return;
	}
	/* RFC 5034 §5: mechanism names are case-insensitive. */
	for (size_t i = 0; i <= n; i++)
		mech[i] = (char)toupper((unsigned char)cl->argv[0][i]);
	for (size_t i = 0; policy_mechanisms[i]; i++)
		known |= strcmp(policy_mechanisms[i], mech) == 0;
	if (!known) {
		res_err(r, CODE_NONE, "unsupported mechanism");
		return;
	}
	policy_view_of(s, &v);
	if (!policy_mech(&v, mech)) {
		/* RFC 5034 §4, RFC 2595 §6: the password may not travel in cleartext. The same reply whatever
		 * the credentials (RFC 8314 §4.1). */
		res_err(r, CODE_AUTH, "%s needs TLS here: use STLS or the pop3s port", mech);
		return;
	}
	if (has_ir) {
		if (sasl_server_first(mech)) {
			res_err(r, CODE_NONE, "%s does not take an initial response", mech);
			return;
		}
		/* "=" is a present but empty initial response (RFC 5034 §4). */
		if (strcmp(cl->argv[1], "=") != 0 &&
		    decode(cl->argv[1], strlen(cl->argv[1]), ir, &irlen) < 0) {
			res_err(r, CODE_NONE, "invalid base64 in initial response");
			return;
		}
	}
	s->sasl = calloc(1, sizeof *s->sasl);
	if (!s->sasl) {
		res_err(r, CODE_SYS_TEMP, "out of memory");
		return;
	}
	memcpy(s->sasl->mech, mech, n + 1);
	rc = gsasl_server_start(s->srv->gsasl, mech, &s->sasl->gs);
	if (rc != GSASL_OK) {
		free(s->sasl);
		s->sasl = NULL;
		log_msg(LOG_ERROR, "s%lu GNU SASL: %s", s->id, gsasl_strerror(rc));
		res_err(r, CODE_SYS_TEMP, "cannot start %s", mech);
		return;
	}
	gsasl_session_hook_set(s->sasl->gs, s);
	if (has_ir && strcmp(mech, "LOGIN") == 0) {
		/* LOGIN's initial response is the user name, answering the first prompt (as many clients send
		 * it): run the prompt step silently, then feed it. */
		char *out = NULL;
		size_t outlen = 0;
		rc = gsasl_step(s->sasl->gs, "", 0, &out, &outlen);
		gsasl_free(out);
		if (rc != GSASL_NEEDS_MORE) {
			fail(s, r, gsasl_strerror(rc));
			return;
		}
		step(s, (const char *)ir, irlen, 1, r);
		return;
	}
	step(s, (const char *)ir, irlen, has_ir, r);
}

void sasl_continue(struct session *s, const char *line, size_t len, int line_flags, struct result *r)
{
	static unsigned char buf[POP3_MAX_SASL_LINE];
	size_t n;

	if (len == 1 && line[0] == '*') {
		/* RFC 5034 §4: the client cancels; -ERR, and AUTHORIZATION goes on as if AUTH never came. */
		log_msg(LOG_DEBUG, "s%lu AUTH %s cancelled", s->id, s->sasl->mech);
		sasl_end(s);
		res_err(r, CODE_NONE, "authentication cancelled");
		return;
	}
	if ((line_flags & (LINE_HAS_NUL | LINE_HAS_CR)) || decode(line, len, buf, &n) < 0) {
		sasl_end(s);
		res_err(r, CODE_NONE, "invalid base64 in response; authentication cancelled");
		return;
	}
	if (s->sasl->final_pending) {
		/* RFC 5034 §4: the answer to the server's final data is empty. */
		if (n == 0)
			succeed(s, r);
		else
			fail(s, r, "non-empty response to the final data");
		return;
	}
	step(s, (const char *)buf, n, 0, r);
}
