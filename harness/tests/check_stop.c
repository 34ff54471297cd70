/* check_stop.c — unit tests for runner/stop: a stop request cuts every lib/conn wait at once (a read from a
 * server that never answers, a pause), the runner's own stop can be cleared for the next target, and a
 * signal cannot be. Real loopback sockets; each test runs in its own process (Check's fork mode). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <check.h>
#include "lib/conn.h"
#include "runner/stop.h"

Suite *stop_suite(void);

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A connection to a listener that never accepts nor speaks: every read waits for its deadline. */
static struct conn *mute_conn(int *lfd)
{
	*lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	ck_assert_int_eq(bind(*lfd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(*lfd, 4), 0);
	ck_assert_int_eq(getsockname(*lfd, (struct sockaddr *)&a, &len), 0);
	struct conn *c = NULL;
	struct p3err err = {0};
	ck_assert_msg(conn_open(&c, "127.0.0.1", ntohs(a.sin_port), 2000, &err) == CONN_OK, "%s", err.msg);
	return c;
}

static enum conn_status read_one(struct conn *c, int timeout_ms, struct p3err *err)
{
	const char *line;
	struct line ln;
	return conn_read_line(c, 512, timeout_ms, &line, &ln, err);
}

START_TEST(runner_stop_cuts_waits_and_clears)
{
	int lfd;
	ck_assert_int_eq(stop_init(), 0);
	struct conn *c = mute_conn(&lfd);
	struct p3err err = {0};
	/* no stop: the wait lasts its deadline */
	double t0 = now_s();
	ck_assert_int_eq(read_one(c, 200, &err), CONN_TIMEOUT);
	ck_assert(now_s() - t0 >= 0.19);
	stop_request(STOP_SERVER);
	ck_assert_int_eq(stop_requested(), STOP_SERVER);
	t0 = now_s();
	ck_assert_int_eq(read_one(c, 10000, &err), CONN_ERROR);
	ck_assert_str_eq(err.msg, "interrupted");
	conn_pause(10000);
	ck_assert(now_s() - t0 < 1.0);
	/* the next target runs as before */
	stop_clear_server();
	ck_assert_int_eq(stop_requested(), STOP_NONE);
	t0 = now_s();
	ck_assert_int_eq(read_one(c, 200, &err), CONN_TIMEOUT);
	ck_assert(now_s() - t0 >= 0.19);
	conn_abort(c);
	close(lfd);
}
END_TEST

START_TEST(a_signal_stops_for_good)
{
	int lfd;
	ck_assert_int_eq(stop_init(), 0);
	struct conn *c = mute_conn(&lfd);
	struct p3err err = {0};
	ck_assert_int_eq(raise(SIGTERM), 0); /* the handler, not the default action: we live on */
	ck_assert_int_eq(stop_requested(), STOP_SIGNAL);
	ck_assert_int_eq(stop_signal(), SIGTERM);
	stop_request(STOP_SERVER); /* the first reason wins */
	stop_clear_server();
	ck_assert_int_eq(stop_requested(), STOP_SIGNAL);
	double t0 = now_s();
	ck_assert_int_eq(read_one(c, 10000, &err), CONN_ERROR);
	ck_assert(now_s() - t0 < 1.0);
	conn_abort(c);
	close(lfd);
}
END_TEST

/* The second signal exits at once with 128 + the first signal's number. */
START_TEST(a_second_signal_exits)
{
	ck_assert_int_eq(stop_init(), 0);
	raise(SIGINT);
	ck_assert_int_eq(stop_signal(), SIGINT);
	raise(SIGTERM);
	ck_abort_msg("still running after a second signal");
}
END_TEST

Suite *stop_suite(void)
{
	Suite *s = suite_create("stop");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, runner_stop_cuts_waits_and_clears);
	tcase_add_test(tc, a_signal_stops_for_good);
	tcase_add_exit_test(tc, a_second_signal_exits, 130);
	suite_add_tcase(s, tc);
	return s;
}
