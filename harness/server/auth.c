/* auth.c — USER, PASS, APOP and STLS, and the login step shared with AUTH. */
#include "server/auth.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "lib/digest.h"
#include "server/faults.h"
#include "server/log.h"
#include "server/policy.h"
#include "server/server.h"
#include "server/store.h"

int auth_secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

void auth_login(struct session *s, const char *user, const char *method, struct result *r)
{
	struct p3err err = {{0}};
	struct store *st = NULL;
	size_t count;
	unsigned long long octets;

	if (fault_on(F_AUTH_TWICE) && s->store) {
		res_ok(r, "%s authenticated again", user);
		return;
	}
	switch (store_open(s->srv->maildirs, user, &st, &err)) {
	case STORE_OK:
		break;
	case STORE_IN_USE:
		/* The credentials were right; only then may [IN-USE] be said (RFC 2449 §8.1.2). */
		log_msg(LOG_INFO, "s%lu login %s by %s refused: maildrop in use", s->id, user, method);
		res_err(r, fault_on(F_IN_USE_CODE_MISSING) ? CODE_AUTH : CODE_IN_USE,
		        "maildrop is locked by another session");
		return;
	case STORE_SYS_TEMP:
		log_msg(LOG_WARN, "s%lu login %s: %s", s->id, user, err.msg);
		res_err(r, CODE_SYS_TEMP, "cannot open the maildrop now, try again later");
		return;
	case STORE_SYS_PERM:
		log_msg(LOG_ERROR, "s%lu login %s: %s", s->id, user, err.msg);
		res_err(r, CODE_SYS_PERM, "cannot open the maildrop");
		return;
	}
	s->store = st;
	snprintf(s->user, sizeof s->user, "%s", user);
	store_stat(st, &count, &octets);
	log_msg(LOG_INFO, "s%lu login %s by %s: %zu messages, %llu octets", s->id, user, method, count,
	        octets);
	session_set_state(s, ST_TRANSACTION);
	res_ok(r, "%s has %zu message%s (%llu octets)", user, count, count == 1 ? "" : "s", octets);
}

void auth_fail(struct session *s, const char *user, const char *method, struct result *r)
{
	char shown[80];

	/* The user name came from the client: log it escaped and short. */
	snprintf(shown, sizeof shown, "%.60s", user ? user : "");
	log_msg(LOG_INFO, "s%lu login '%s' by %s failed", s->id, shown, method);
	res_err(r, fault_on(F_AUTH_CODE_MISSING) ? CODE_NONE : CODE_AUTH, "authentication failed");
	r->delay = 1;
	if (fault_on(F_IN_USE_ON_WRONG_PASSWORD) && user && users_password(&s->srv->users, user)) {
		/* The fault: the maildrop is locked before the credentials are checked. */
		struct p3err err = {{0}};
		struct store *st = NULL;
		if (store_open(s->srv->maildirs, user, &st, &err) == STORE_IN_USE)
			res_err(r, CODE_IN_USE, "maildrop is locked by another session");
		store_close(st);
	}
}

void cmd_user(struct session *s, const struct cmdline *cl, struct result *r)
{
	struct policy_view v;

	policy_view_of(s, &v);
	s->have_user = 0;
	if (!policy_user_pass(&v)) {
		/* RFC 2595 §2.3 privacy mode. No [AUTH]: USER never gets it (RFC 3206 §5). */
		res_err(r, CODE_NONE, "USER/PASS needs TLS here: use STLS or the pop3s port");
		return;
	}
	if (fault_on(F_USER_REVEALS_UNKNOWN) && !users_password(&s->srv->users, cl->argv[0])) {
		res_err(r, CODE_AUTH, "no such user");
		return;
	}
	/* +OK whether or not the user exists, so USER reveals no names (RFC 1939 §13, R1939-SEC-2); an
	 * unknown name fails at PASS like a wrong password. */
	snprintf(s->pending_user, sizeof s->pending_user, "%s", cl->argv[0]);
	s->have_user = 1;
	res_ok(r, "send PASS");
}

void cmd_pass(struct session *s, const struct cmdline *cl, struct result *r)
{
	const char *pw;

	if (!s->have_user && fault_on(F_PASS_WITHOUT_USER)) {
		res_ok(r, "password accepted");
		return;
	}
	if (!s->have_user) {
		res_err(r, CODE_NONE, "PASS must follow a successful USER");
		return;
	}
	/* RFC 1939 §7: PASS has one argument, which may contain spaces: cl->rest is taken verbatim. */
	pw = users_password(&s->srv->users, s->pending_user);
	if (pw && auth_secret_equal(pw, cl->rest))
		auth_login(s, s->pending_user, "PASS", r);
	else
		auth_fail(s, s->pending_user, "PASS", r);
}

/* 32 lower-case hex digits (RFC 1939 §7). Upper case is refused consistently (P-AUTH-4). */
static int is_md5_hex(const char *d)
{
	size_t n = 0;

	for (; d[n]; n++)
		if (!isdigit((unsigned char)d[n]) && !(d[n] >= 'a' && d[n] <= 'f'))
			return 0;
	return n == 32;
}

void cmd_apop(struct session *s, const struct cmdline *cl, struct result *r)
{
	struct policy_view v;
	const char *name = cl->argv[0], *digest = cl->argv[1], *pw;
	char expect[DIGEST_MD5_HEX];

	policy_view_of(s, &v);
	if (!policy_apop(&v)) {
		/* The same refusal whatever the credentials (RFC 8314 §4.1). */
		res_err(r, CODE_AUTH, "APOP needs TLS here: use STLS or the pop3s port");
		return;
	}
	pw = users_password(&s->srv->users, name);
	if (!pw || !is_md5_hex(digest)) {
		auth_fail(s, name, "APOP", r);
		return;
	}
	/* The digest covers this greeting's timestamp, so a digest from another session never matches
	 * (RFC 1939 §7, §13: replay protection). */
	if (fault_on(F_APOP_DIGEST_REVERSED))
		apop_digest(pw, s->timestamp, expect);
	else
		apop_digest(s->timestamp, pw, expect);
	if (digest_equal(expect, digest) || fault_on(F_APOP_ANY_DIGEST))
		auth_login(s, name, "APOP", r);
	else
		auth_fail(s, name, "APOP", r);
}

void cmd_stls(struct session *s, const struct cmdline *cl, struct result *r)
{
	if (!s->srv->tls) {
		res_err(r, CODE_NONE, "TLS is not available");
		return;
	}
	if (s->tls && fault_on(F_STLS_TWICE)) {
		res_ok(r, "begin TLS negotiation");
		return;
	}
	if (s->utf8_mode) {
		/* RFC 6856 §2.1: a client MUST NOT send STLS after UTF8, and a server MAY refuse it; a
		 * protocol error, so no response code. */
		res_err(r, CODE_NONE, "STLS is not allowed after UTF8");
		return;
	}
	if (s->tls || s->stls_used) {
		/* RFC 2595 §4: once only; -ERR while TLS is already active. */
		res_err(r, CODE_NONE, "TLS is already active");
		return;
	}
	res_ok(r, "begin TLS negotiation");
	r->after = AFTER_STLS;
}
