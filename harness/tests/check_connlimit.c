/* check_connlimit.c — unit tests for runner/exec/connlimit: a refused connect is retried only while other
 * workers' sessions are open and within the bound; the first refusal lowers the run's workers once; while
 * a connect waits for a slot, workers wait before starting anything new, bounded. */
#include <check.h>
#include <pthread.h>
#include <time.h>
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
	ck_assert_int_eq(connlimit_capacity(), 0);
	connlimit_connect_begin();
	connlimit_connect_end(1);
	ck_assert_int_eq(connlimit_capacity(), 0); /* no refusal yet: no limit to count on */
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
	ck_assert_uint_eq(connlimit_jobs(), 2);    /* a refusal with fewer open lowers it */
	ck_assert_int_eq(connlimit_seen(), 7);     /* the first refusal's count */
	ck_assert_int_eq(connlimit_capacity(), 9); /* the most open at any refusal */
	connlimit_connect_begin();
	connlimit_connect_end(1); /* none of ours really open here: 0 greeted, the refusals' 9 stands */
	ck_assert_int_eq(connlimit_capacity(), 9);
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

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Another worker, about to start a scenario while a connect holds the run. */
static void *waiting_worker(void *arg)
{
	long long *waited = arg;
	*waited = connlimit_wait_turn(5000);
	return NULL;
}

/* A retried connect holds the run until it is released: a worker about to start a scenario waits for
 * that (the starvation of a scenario whose third session kept losing its slot to new scenarios), the
 * holder itself never waits for its own hold, and a refusal that stands holds nothing. */
START_TEST(retry_holds_new_work_until_released)
{
	long long waited;
	connlimit_reset();
	ck_assert_int_eq(connlimit_waiting(), 0);
	ck_assert_int_eq(connlimit_wait_turn(5000) < 100, 1); /* nothing held: no wait */
	ck_assert_int_eq(connlimit_retry(3, 2, 1, &waited), 1);
	ck_assert_int_eq(connlimit_waiting(), 1);
	ck_assert_int_eq(connlimit_retry(3, 2, 2, &waited), 1); /* the same connect again: one hold */
	ck_assert_int_eq(connlimit_waiting(), 1);
	ck_assert_int_eq(connlimit_wait_turn(5000) < 100, 1); /* not for its own hold */
	long long other = -1;
	pthread_t th;
	long long t0 = mono_ms();
	ck_assert_int_eq(pthread_create(&th, NULL, waiting_worker, &other), 0);
	struct timespec pause = {0, 300 * 1000000L};
	nanosleep(&pause, NULL);
	connlimit_release();
	ck_assert_int_eq(connlimit_waiting(), 0);
	pthread_join(th, NULL);
	ck_assert_msg(other >= 250 && other < 3000, "the other worker waited %lld ms", other);
	ck_assert_int_lt(mono_ms() - t0, 3000);
	connlimit_release(); /* a second release is harmless */
	ck_assert_int_eq(connlimit_waiting(), 0);
	/* The refusal stands (the bound): no hold left behind. */
	ck_assert_int_eq(connlimit_retry(3, 2, 1, &waited), 1);
	ck_assert_int_eq(connlimit_retry(3, 2, CONNLIMIT_ATTEMPTS, &waited), 0);
	ck_assert_int_eq(connlimit_waiting(), 0);
	connlimit_reset();
}
END_TEST

/* The hold is bounded: a worker starts anyway after max_ms. */
START_TEST(hold_wait_bounded)
{
	long long waited;
	connlimit_reset();
	ck_assert_int_eq(connlimit_retry(3, 2, 1, &waited), 1);
	long long other = -1;
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, waiting_worker, &other), 0);
	pthread_join(th, NULL); /* the hold is never released here: the 5 s bound ends the wait */
	ck_assert_msg(other >= 5000 && other < 8000, "waited %lld ms", other);
	connlimit_release();
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
	tcase_add_test(tc, retry_holds_new_work_until_released);
	tcase_add_test(tc, hold_wait_bounded);
	tcase_add_test(tc, conn_counts_open_connections);
	suite_add_tcase(s, tc);
	return s;
}
