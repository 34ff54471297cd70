/* auth.c — USER, PASS, APOP and STLS, and the login step shared with AUTH. */
#include "server/auth.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "lib/digest.h"
#include "server/faults.h"
#include "server/guard.h"
#include "server/log.h"
#include "server/policy.h"
#include "server/server.h"
#include "server/store.h"
#include "server/utf8.h"

/* What an unknown user's credentials are compared with: never equal to a prepared password that a client
 * can send (it holds a NUL-free control octet, which the command parser refuses). */
#define AUTH_DUMMY_SECRET "\x01pop3refd-no-such-user\x01"

/* Room for a prepared password: NFKC may lengthen what the 255-octet command line carried. */
#define AUTH_PREPARED_MAX (4 * USERS_MAX_LINE)

int auth_secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

/* A failed attempt, or a refused one: counted for the address and the name (guard.c), answered after the
 * delay that count gives. */
static void count_failure(struct session *s, const char *user, struct result *r)
{
	char addr[64];

	guard_peer_address(s->peer, addr, sizeof addr);
	s->delay_ms = guard_failure(&s->srv->guard, addr, user, time(NULL));
	snprintf(s->failed_user, sizeof s->failed_user, "%s", user ? user : "");
	r->delay = 1;
}

/* --max-sessions-per-user: checked before anything else, for right and wrong credentials alike and with
 * the same delay, so the refusal reveals neither the password nor whether the name exists. */
static int user_busy(struct session *s, const char *user, const char *method, struct result *r)
{
	if (!guard_user_busy(s->srv, s, user))
		return 0;
	log_msg(LOG_WARN, "s%lu login by %s refused: --max-sessions-per-user reached", s->id, method);
	res_err(r, CODE_SYS_TEMP, "too many sessions for this user, try again later");
	count_failure(s, user, r);
	return 1;
}

void auth_login(struct session *s, const char *user, const char *method, struct result *r)
{
	struct p3err err = {0};
	struct store *st = NULL;
	size_t count;
	unsigned long long octets;
	char addr[64];

	if (fault_on(F_AUTH_TWICE) && s->store) {
		res_ok(r, "%s authenticated again", user);
		return;
	}
	if (user_busy(s, user, method, r))
		return;
	/* The right credentials: this address's and this name's failures are forgotten. */
	guard_peer_address(s->peer, addr, sizeof addr);
	guard_success(&s->srv->guard, addr, user);
	switch (store_open(s->srv->maildirs, user, &st, &err)) {
	case STORE_OK:
		break;
	case STORE_IN_USE:
		/* The credentials were right; only then may [IN-USE] be said (RFC 2449 §8.1.2). */
		log_msg(LOG_INFO, "s%lu login %s by %s refused: maildrop in use", s->id, user, method);
		res_err(r, CODE_IN_USE, "maildrop is locked by another session");
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
	/* Reply texts stay ASCII (RFC 6856 §2.1: nothing non-ASCII as is outside UTF-8 mode): a UTF-8 name is
	 * not echoed. */
	res_ok(r, "%s has %zu message%s (%llu octets)", utf8_has_8bit(user) ? "maildrop" : user, count,
	       count == 1 ? "" : "s", octets);
}

void auth_fail(struct session *s, const char *user, const char *method, struct result *r)
{
	char shown[80];

	/* The user name came from the client: log it escaped and short. */
	snprintf(shown, sizeof shown, "%.60s", user ? user : "");
	log_msg(LOG_INFO, "s%lu login '%s' by %s failed", s->id, shown, method);
	if (user_busy(s, user, method, r))
		return;
	res_err(r, CODE_AUTH, "authentication failed");
	count_failure(s, user, r);
	if (fault_on(F_IN_USE_ON_WRONG_PASSWORD) && user && users_password(&s->srv->users, user)) {
		/* The fault: the maildrop is locked before the credentials are checked. */
		struct p3err err = {0};
		struct store *st = NULL;
		if (store_open(s->srv->maildirs, user, &st, &err) == STORE_IN_USE)
			res_err(r, CODE_IN_USE, "maildrop is locked by another session");
		store_close(st);
	}
}

/* A user name or password that is not UTF-8 or that SASLprep refuses (RFC 6856 §2.2: MUST reject): a failed
 * authentication like any other (after the delay, the code auth_fail chose), saying why; the reason depends
 * only on what the client sent, so it reveals nothing about the account. */
static void auth_bad_credential(struct session *s, const char *user, const char *method, const char *what,
                                enum cred_status st, struct result *r)
{
	if (st == CRED_NO_MEMORY) {
		res_err(r, CODE_SYS_TEMP, "out of memory, try again later");
		return;
	}
	auth_fail(s, user, method, r);
	res_err(r, r->code, "%s %s", what, cred_status_text(st));
}

void cmd_user(struct session *s, const struct cmdline *cl, struct result *r)
{
	struct policy_view v;
	enum cred_status st;

	policy_view_of(s, &v);
	s->have_user = 0;
	if (!policy_user_pass(&v)) {
		/* RFC 2595 §2.3 privacy mode. No [AUTH]: USER never gets it (RFC 3206 §5). */
		res_err(r, CODE_NONE, "USER/PASS needs TLS here: use STLS or the pop3s port");
		return;
	}
	/* RFC 6856 §2.2 (UTF8 USER): the name is UTF-8, prepared with SASLprep as a query string; invalid
	 * UTF-8 and prohibited characters are refused. No [AUTH] on USER (RFC 3206 §5). */
	st = cred_prepare(cl->argv[0], CRED_QUERY, s->pending_user, sizeof s->pending_user);
	if (st == CRED_NO_MEMORY) {
		res_err(r, CODE_SYS_TEMP, "out of memory, try again later");
		return;
	}
	if (st != CRED_OK) {
		res_err(r, CODE_NONE, "user name %s", cred_status_text(st));
		return;
	}
	/* +OK whether or not the user exists, so USER reveals no names (RFC 1939 §13, R1939-SEC-2); an
	 * unknown name fails at PASS like a wrong password. */
	s->have_user = 1;
	res_ok(r, "send PASS");
}

void cmd_pass(struct session *s, const struct cmdline *cl, struct result *r)
{
	static char given[AUTH_PREPARED_MAX];
	const struct user *u;
	enum cred_status st;
	int ok;

	if (!s->have_user) {
		res_err(r, CODE_NONE, "PASS must follow a successful USER");
		return;
	}
	/* RFC 1939 §7: PASS has one argument, which may contain spaces: cl->rest is taken verbatim. RFC 6856
	 * §2.2: it is prepared with SASLprep as a query string, and compared with the stored secret prepared
	 * as a stored string. */
	st = cred_prepare(cl->rest, CRED_QUERY, given, sizeof given);
	if (st != CRED_OK && st != CRED_TOO_LONG) {
		auth_bad_credential(s, s->pending_user, "PASS", "password", st, r);
		return;
	}
	u = users_find(&s->srv->users, s->pending_user);
	/* The comparison runs for unknown names too, so an unknown user and a wrong password take the same
	 * work (R1939-SEC-2: nothing tells which names exist). */
	ok = auth_secret_equal(u ? u->prepared : AUTH_DUMMY_SECRET, given);
	ok = ok && u && st == CRED_OK;
	OPENSSL_cleanse(given, sizeof given); /* no copy of a password outlives the command */
	if (ok)
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
	const char *digest = cl->argv[1], *pw;
	char expect[DIGEST_MD5_HEX], name[SESSION_NAME_MAX + 1];
	const struct user *u;
	enum cred_status st;

	policy_view_of(s, &v);
	if (!policy_apop(&v)) {
		/* The same refusal whatever the credentials (RFC 8314 §4.1). */
		res_err(r, CODE_AUTH, "APOP needs TLS here: use STLS or the pop3s port");
		return;
	}
	/* RFC 6856 §2.2: the user name is prepared as a query string, and the digest is computed from the
	 * secret prepared as a stored string (the same octets for an ASCII secret). */
	st = cred_prepare(cl->argv[0], CRED_QUERY, name, sizeof name);
	if (st != CRED_OK && st != CRED_TOO_LONG) {
		auth_bad_credential(s, cl->argv[0], "APOP", "user name", st, r);
		return;
	}
	u = st == CRED_OK ? users_find(&s->srv->users, name) : NULL;
	if (!u || !is_md5_hex(digest)) {
		/* The digest an existing user would cost, for an unknown one too: the same work either way.
		 */
		apop_digest(s->timestamp, AUTH_DUMMY_SECRET, expect);
		(void)digest_equal(expect, digest);
		auth_fail(s, st == CRED_OK ? name : cl->argv[0], "APOP", r);
		return;
	}
	pw = u->prepared;
	/* The digest covers this greeting's timestamp, so a digest from another session never matches
	 * (RFC 1939 §7, §13: replay protection). */
	apop_digest(s->timestamp, pw, expect);
	if (digest_equal(expect, digest))
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
