/* check_policy.c — unit tests for server/policy and server/capa: the three --plaintext-auth modes, what
 * CAPA announces before and after TLS and login, and that announcement and policy agree. */
#include <string.h>
#include <check.h>
#include <event2/buffer.h>

#include "server/capa.h"
#include "server/policy.h"

Suite *policy_suite(void);

static char caps[4096];

static const char *capa(enum plaintext_auth mode, int tls, int authorization, int tls_available)
{
	struct policy_view v = {mode, tls, tls_available, 0, authorization, 0};
	struct evbuffer *b = evbuffer_new();
	size_t n;

	ck_assert_int_eq(capa_build(&v, b), 0);
	n = evbuffer_get_length(b);
	ck_assert_uint_lt(n, sizeof caps);
	evbuffer_remove(b, caps, n);
	caps[n] = '\0';
	evbuffer_free(b);
	return caps;
}

START_TEST(compat_mode)
{
	struct policy_view clear = {PLAINTEXT_COMPAT, 0, 1, 0, 1, 0}, tls = {PLAINTEXT_COMPAT, 1, 1, 0, 1, 0};

	ck_assert(policy_user_pass(&clear));
	ck_assert(policy_apop(&clear));
	ck_assert(!policy_mech(&clear, "PLAIN")); /* RFC 2595 §6, RFC 5034 §4 */
	ck_assert(!policy_mech(&clear, "LOGIN"));
	ck_assert(policy_mech(&clear, "CRAM-MD5"));
	ck_assert(policy_mech(&clear, "SCRAM-SHA-256"));
	ck_assert(policy_mech(&tls, "PLAIN"));
	ck_assert(!policy_mech(&tls, "DIGEST-MD5"));
	ck_assert(!policy_mech(&tls, "plain")); /* callers upper-case first */
	ck_assert_ptr_nonnull(
	    strstr(capa(PLAINTEXT_COMPAT, 0, 1, 1), "USER\r\nSASL CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256\r\n"));
	ck_assert_ptr_nonnull(strstr(capa(PLAINTEXT_COMPAT, 1, 1, 1),
	                             "USER\r\nSASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256\r\n"));
}
END_TEST

START_TEST(tls_only_mode)
{
	struct policy_view clear = {PLAINTEXT_TLS_ONLY, 0, 1, 0, 1, 0},
	                   tls = {PLAINTEXT_TLS_ONLY, 1, 1, 0, 1, 0};

	ck_assert(!policy_user_pass(&clear)); /* RFC 2595 §2.2 privacy mode */
	ck_assert(!policy_apop(&clear));
	ck_assert(!policy_mech(&clear, "PLAIN"));
	ck_assert(policy_mech(&clear, "CRAM-MD5"));
	ck_assert(policy_user_pass(&tls));
	ck_assert(policy_apop(&tls));
	ck_assert(policy_mech(&tls, "LOGIN"));
	/* The USER capability line, not "UTF8 USER". */
	ck_assert_ptr_null(strstr(capa(PLAINTEXT_TLS_ONLY, 0, 1, 1), "\r\nUSER\r\n"));
	ck_assert_ptr_nonnull(strstr(capa(PLAINTEXT_TLS_ONLY, 1, 1, 1), "\r\nUSER\r\n"));
}
END_TEST

START_TEST(always_mode)
{
	struct policy_view clear = {PLAINTEXT_ALWAYS, 0, 0, 0, 1, 0};

	ck_assert(policy_user_pass(&clear));
	ck_assert(policy_mech(&clear, "PLAIN"));
	ck_assert(policy_mech(&clear, "LOGIN"));
}
END_TEST

START_TEST(stls_announced_only_when_usable)
{
	struct policy_view v = {PLAINTEXT_COMPAT, 0, 1, 0, 1, 0};
	struct evbuffer *b;

	ck_assert(policy_stls(&v));
	ck_assert_ptr_nonnull(strstr(capa(PLAINTEXT_COMPAT, 0, 1, 1), "\r\nSTLS\r\n"));
	ck_assert_ptr_null(strstr(capa(PLAINTEXT_COMPAT, 1, 1, 1), "STLS")); /* TLS already */
	ck_assert_ptr_null(strstr(capa(PLAINTEXT_COMPAT, 0, 0, 1), "STLS")); /* TRANSACTION */
	ck_assert_ptr_null(strstr(capa(PLAINTEXT_COMPAT, 0, 1, 0), "STLS")); /* no certificate */
	v.stls_used = 1;
	ck_assert(!policy_stls(&v));
	v.stls_used = 0;
	v.utf8_mode = 1; /* RFC 6856 §2.1: STLS after UTF8 is refused, so not announced */
	ck_assert(!policy_stls(&v));
	ck_assert_int_eq(capa_build(&v, b = evbuffer_new()), 0);
	ck_assert_ptr_null(evbuffer_search(b, "STLS", 4, NULL).pos >= 0 ? "STLS" : NULL);
	evbuffer_free(b);
}
END_TEST

START_TEST(same_capabilities_after_login)
{
	char before[4096];
	const char *after;

	/* RFC 2449 §5: what AUTHORIZATION announces (STLS aside) is announced in TRANSACTION. */
	for (int mode = 0; mode < 3; mode++) {
		for (int tls = 0; tls < 2; tls++) {
			strcpy(before, capa((enum plaintext_auth)mode, tls, 1, 0));
			after = capa((enum plaintext_auth)mode, tls, 0, 0);
			ck_assert_str_eq(before, after);
		}
	}
	ck_assert_ptr_nonnull(strstr(after, "TOP\r\n"));
	ck_assert_ptr_nonnull(strstr(after, "UIDL\r\n"));
	ck_assert_ptr_nonnull(strstr(after, "RESP-CODES\r\n"));
	ck_assert_ptr_nonnull(strstr(after, "AUTH-RESP-CODE\r\n"));
	ck_assert_ptr_nonnull(strstr(after, "PIPELINING\r\n"));
	ck_assert_ptr_nonnull(strstr(after, "EXPIRE NEVER\r\n"));
	ck_assert_ptr_nonnull(strstr(after, "IMPLEMENTATION pop3refd-"));
	ck_assert_ptr_null(strstr(after, "APOP")); /* R2449-CAPA-8: no such capability */
	/* RFC 6856 §2, §3.1: both states, no differences. */
	ck_assert_ptr_nonnull(strstr(after, "\r\nUTF8 USER\r\n"));
	ck_assert_ptr_nonnull(strstr(after, "\r\nLANG\r\n"));
}
END_TEST

START_TEST(mechanism_list)
{
	struct policy_view v = {PLAINTEXT_COMPAT, 0, 1, 0, 1, 0};
	struct evbuffer *b = evbuffer_new();
	char buf[256];
	size_t n;

	ck_assert_int_eq(capa_mechanisms(&v, b), 0);
	n = evbuffer_remove(b, buf, sizeof buf - 1);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "CRAM-MD5\r\nSCRAM-SHA-1\r\nSCRAM-SHA-256\r\n");
	evbuffer_free(b);
}
END_TEST

START_TEST(mode_names)
{
	enum plaintext_auth p;

	ck_assert_int_eq(plaintext_auth_parse("tls-only", &p), 0);
	ck_assert_int_eq(p, PLAINTEXT_TLS_ONLY);
	ck_assert_str_eq(plaintext_auth_name(p), "tls-only");
	ck_assert_int_eq(plaintext_auth_parse("always", &p), 0);
	ck_assert_str_eq(plaintext_auth_name(p), "always");
	ck_assert_int_eq(plaintext_auth_parse("compat", &p), 0);
	ck_assert_str_eq(plaintext_auth_name(p), "compat");
	ck_assert_int_eq(plaintext_auth_parse("never", &p), -1);
}
END_TEST

Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, compat_mode);
	tcase_add_test(tc, tls_only_mode);
	tcase_add_test(tc, always_mode);
	tcase_add_test(tc, stls_announced_only_when_usable);
	tcase_add_test(tc, same_capabilities_after_login);
	tcase_add_test(tc, mechanism_list);
	tcase_add_test(tc, mode_names);
	suite_add_tcase(s, tc);
	return s;
}
