/* check_connlimit.c — unit tests for runner/exec/connlimit: a refused connect is retried only while other
 * workers' sessions are open and within the bound; the first refusal lowers the run's workers once. */
#include <check.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include "lib/conn.h"
#include "runner/exec/connlimit.h"

Suite *connlimit_suite(void);

/* Only our own scenario's sessions open: nobody will close, no retry, nothing learnt. */
START_TEST(own_sessions_do_not_excuse)
{
	long long waited = -1;
	connlimit_reset();
	ck_assert_int_eq(connlimit_retry(3, 0, 1, &waited), 0);
	ck_assert_int_eq(waited, 0);
	ck_assert_uint_eq(connlimit_jobs(), 0);
	ck_assert_int_eq(connlimit_seen(), 0);
}
END_TEST

/* Other workers' sessions open: retry, and the run goes on with (ours + 1) / 2 workers, the lowest seen. */
START_TEST(others_open_retry_and_lower_once)
{
	long long waited = -1;
	connlimit_reset();
	/* None of ours is really open here, so the wait for one to close ends at once. */
	ck_assert_int_eq(connlimit_retry(7, 5, 1, &waited), 1);
	ck_assert_int_ge(waited, 0);
	ck_assert_int_lt(waited, CONNLIMIT_WAIT_MS);
	ck_assert_uint_eq(connlimit_jobs(), 4);
	ck_assert_int_eq(connlimit_seen(), 7);
	ck_assert_int_eq(connlimit_retry(9, 1, 2, &waited), 1);
	ck_assert_uint_eq(connlimit_jobs(), 4); /* never raised again */
	ck_assert_int_eq(connlimit_retry(4, 1, 2, &waited), 1);
	ck_assert_uint_eq(connlimit_jobs(), 2); /* a refusal with fewer open lowers it */
	ck_assert_int_eq(connlimit_seen(), 7);  /* the first refusal's count */
	ck_assert_int_eq(connlimit_retry(1, 1, 1, &waited), 1);
	connlimit_reset();
	ck_assert_int_eq(connlimit_retry(1, 1, 1, &waited), 1);
	ck_assert_uint_eq(connlimit_jobs(), 1); /* never 0 workers */
	connlimit_reset();
}
END_TEST

/* The bound: the CONNLIMIT_ATTEMPTS-th refusal stands. */
START_TEST(bounded)
{
	long long waited;
	connlimit_reset();
	ck_assert_int_eq(connlimit_retry(4, 4, CONNLIMIT_ATTEMPTS - 1, &waited), 1);
	ck_assert_int_eq(connlimit_retry(4, 4, CONNLIMIT_ATTEMPTS, &waited), 0);
	connlimit_reset();
}
END_TEST

/* lib/conn counts open connections, per process and per thread. */
START_TEST(conn_counts_open_connections)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(ls, 4), 0);
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&a, &al), 0);
	long t0 = conn_open_count(), m0 = conn_open_count_thread();
	struct conn *c1, *c2;
	struct p3err err = {0};
	ck_assert_int_eq(conn_open(&c1, "127.0.0.1", ntohs(a.sin_port), 2000, &err), CONN_OK);
	ck_assert_int_eq(conn_open(&c2, "127.0.0.1", ntohs(a.sin_port), 2000, &err), CONN_OK);
	ck_assert_int_eq(conn_open_count(), t0 + 2);
	ck_assert_int_eq(conn_open_count_thread(), m0 + 2);
	conn_close(c1);
	conn_abort(c2);
	ck_assert_int_eq(conn_open_count(), t0);
	ck_assert_int_eq(conn_open_count_thread(), m0);
	close(ls);
}
END_TEST

Suite *connlimit_suite(void)
{
	Suite *s = suite_create("connlimit");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, own_sessions_do_not_excuse);
	tcase_add_test(tc, others_open_retry_and_lower_once);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, conn_counts_open_connections);
	suite_add_tcase(s, tc);
	return s;
}
