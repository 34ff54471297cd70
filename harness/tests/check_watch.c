/* check_watch.c — unit tests for runner/watch: the streak of timed-out scenarios, and the liveness check
 * against real loopback sockets (a greeting server, a mute one that accepts and never speaks, none). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <check.h>
#include "runner/watch.h"

Suite *watch_suite(void);

static int listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

struct peer {
	int lfd;
	int answer_quit;
};

/* Greets; answers QUIT or not; reads until the client closes. */
static void *greeter(void *arg)
{
	struct peer *p = arg;
	int fd = accept(p->lfd, NULL, NULL);
	if (fd >= 0) {
		ssize_t w = write(fd, "+OK ready\r\n", 11);
		char buf[64];
		ssize_t n;
		while ((n = read(fd, buf, sizeof buf)) > 0)
			if (p->answer_quit && memchr(buf, '\n', (size_t)n))
				w = write(fd, "+OK bye\r\n", 9);
		(void)w;
		close(fd);
	}
	return NULL;
}

START_TEST(streak_of_waited_failures)
{
	struct watch w;
	watch_init(&w, 2.0);
	struct tline tl = {0};
	struct result slow_err = {
	    .status = VERDICT_ERROR, .duration_ms = 2000, .transcript = &tl, .ntranscript = 1};
	struct result slow_fail = {
	    .status = VERDICT_FAIL, .duration_ms = 2500, .transcript = &tl, .ntranscript = 1};
	struct result quick_fail = {
	    .status = VERDICT_FAIL, .duration_ms = 1999, .transcript = &tl, .ntranscript = 1};
	struct result slow_pass = {
	    .status = VERDICT_PASS, .duration_ms = 9000, .transcript = &tl, .ntranscript = 1};
	struct result local_skip = {.status = VERDICT_SKIP}; /* never reached the server */
	ck_assert_int_eq(watch_result(&w, &slow_err), 0);
	ck_assert_int_eq(watch_result(&w, &slow_fail), 0);
	ck_assert_int_eq(watch_result(&w, &quick_fail), 0); /* an answer: the streak starts over */
	ck_assert_int_eq(watch_result(&w, &slow_err), 0);
	ck_assert_int_eq(watch_result(&w, &slow_pass), 0);
	for (int i = 1; i < WATCH_STREAK; i++) {
		ck_assert_int_eq(watch_result(&w, &slow_err), 0);
		ck_assert_int_eq(watch_result(&w, &local_skip), 0); /* neither counts nor breaks the streak */
	}
	ck_assert_int_eq(watch_result(&w, &slow_fail), 1);
	ck_assert_uint_eq(w.checks, 1);
	ck_assert_int_eq(watch_result(&w, &slow_fail), 0); /* counted afresh after a check */
}
END_TEST

START_TEST(alive_greeting_mute_and_gone)
{
	int port, mport, mute = listener(&mport), lfd = listener(&port);
	struct target t = {.host = "127.0.0.1", .port = mport};
	struct p3err err = {0};
	/* mute: the kernel accepts the connection, nobody ever speaks */
	ck_assert_int_eq(watch_alive(&t, 300, &err), -1);
	ck_assert_msg(strstr(err.msg, "no greeting within 300 ms"), "%s", err.msg);
	close(mute);
	/* a greeting, and QUIT answered */
	t.port = port;
	pthread_t th;
	struct peer p = {lfd, 1};
	ck_assert_int_eq(pthread_create(&th, NULL, greeter, &p), 0);
	ck_assert_msg(watch_alive(&t, 3000, &err) == 0, "%s", err.msg);
	pthread_join(th, NULL);
	/* a greeting, then nothing: as mute */
	p.answer_quit = 0;
	ck_assert_int_eq(pthread_create(&th, NULL, greeter, &p), 0);
	ck_assert_int_eq(watch_alive(&t, 300, &err), -1);
	ck_assert_msg(strstr(err.msg, "greeted, but did not answer QUIT within 300 ms"), "%s", err.msg);
	pthread_join(th, NULL);
	/* gone: nothing listens any more */
	close(lfd);
	ck_assert_int_eq(watch_alive(&t, 300, &err), -1);
}
END_TEST

Suite *watch_suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, streak_of_waited_failures);
	tcase_add_test(tc, alive_greeting_mute_and_gone);
	suite_add_tcase(s, tc);
	return s;
}
