/* check_err.c — unit tests for lib/err: formatting, errno and OpenSSL error-queue messages, the errno kept
 * with the message. */
#include <errno.h>
#include <string.h>
#include <check.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "lib/err.h"

Suite *err_suite(void);

START_TEST(set_formats_and_returns_minus_one)
{
	struct p3err e;

	ck_assert_int_eq(p3err_set(&e, "bad %s at %d", "thing", 42), -1);
	ck_assert_str_eq(e.msg, "bad thing at 42");
	ck_assert_int_eq(p3err_set(NULL, "ignored %d", 1), -1);
}
END_TEST

START_TEST(set_truncates_long_messages)
{
	struct p3err e;
	char big[P3ERR_MAX * 2];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	p3err_set(&e, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), P3ERR_MAX - 1);
	p3err_errno(&e, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), P3ERR_MAX - 1);
}
END_TEST

START_TEST(errno_appends_strerror)
{
	struct p3err e;

	errno = ENOENT;
	ck_assert_int_eq(p3err_errno(&e, "open %s", "/nonexistent"), -1);
	ck_assert_str_eq(e.msg, "open /nonexistent: No such file or directory");
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(e.errnum, ENOENT);
	/* A later message without an errno clears it. */
	p3err_set(&e, "plain");
	ck_assert_int_eq(e.errnum, 0);
}
END_TEST

START_TEST(cause_keeps_the_errno)
{
	struct p3err inner, outer;

	errno = ECONNREFUSED;
	p3err_errno(&inner, "connect");
	ck_assert_int_eq(p3err_cause(&outer, &inner, "connect to h port 1: %s", inner.msg), -1);
	ck_assert_str_eq(outer.msg, "connect to h port 1: connect: Connection refused");
	ck_assert_int_eq(outer.errnum, ECONNREFUSED);
	p3err_set(&inner, "no address");
	p3err_cause(&outer, &inner, "%s", inner.msg);
	ck_assert_int_eq(outer.errnum, 0);
	ck_assert_int_eq(p3err_cause(NULL, &inner, "x"), -1);
}
END_TEST

START_TEST(ssl_appends_and_empties_queue)
{
	struct p3err e;
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());

	ck_assert_ptr_nonnull(ctx);
	ERR_clear_error();
	ck_assert_int_eq(SSL_CTX_use_certificate_file(ctx, "/nonexistent/cert.pem", SSL_FILETYPE_PEM), 0);
	ck_assert_uint_ne(ERR_peek_error(), 0);
	ck_assert_int_eq(p3err_ssl(&e, "loading %s", "cert"), -1);
	ck_assert_msg(strncmp(e.msg, "loading cert: error:", 20) == 0, "got: %s", e.msg);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	/* An empty queue still gives a complete message. */
	p3err_ssl(&e, "nothing");
	ck_assert_str_eq(e.msg, "nothing: (no OpenSSL error reported)");
	SSL_CTX_free(ctx);
}
END_TEST

Suite *err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, set_formats_and_returns_minus_one);
	tcase_add_test(tc, set_truncates_long_messages);
	tcase_add_test(tc, errno_appends_strerror);
	tcase_add_test(tc, cause_keeps_the_errno);
	tcase_add_test(tc, ssl_appends_and_empties_queue);
	suite_add_tcase(s, tc);
	return s;
}
