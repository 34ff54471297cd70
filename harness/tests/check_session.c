/* check_session.c — unit tests for server/session with the real dispatcher, store and GNU SASL, over a
 * socketpair driven by the event loop: greeting, states, the command table at work, pipelining, limits. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <check.h>
#include <event2/event.h>

#include "lib/b64.h"
#include "lib/digest.h"
#include "server/log.h"
#include "server/sasl.h"
#include "server/server.h"
#include "server/session.h"
#include "srv_testutil.h"

Suite *session_suite(void);

static struct server srv;
static char root[128];
static int cfd = -1; /* the client's end */
static char got[65536];
static const char *const names[] = {"1.a", "2.b"};
static const char *const data[] = {"Subject: a\n\n.dot\n", "Subject: b\n\nbody\n"};

static void setup(void)
{
	struct p3err err;
	int sv[2];
	static const char users[] = "alice:wonderland\nbob:builder\n";

	log_set_level(LOG_ERROR);
	memset(&srv, 0, sizeof srv);
	tu_tmpdir(root, sizeof root);
	tu_maildrop(root, "alice", 2, names, data);
	ck_assert_int_eq(users_parse("users", users, sizeof users - 1, &srv.users, &err), 0);
	srv.maildirs = root;
	srv.plaintext = PLAINTEXT_COMPAT;
	snprintf(srv.hostname, sizeof srv.hostname, "test.example");
	ck_assert_int_eq(sasl_global_init(&srv, &err), 0);
	srv.base = event_base_new();
	ck_assert_ptr_nonnull(srv.base);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	cfd = sv[1];
	ck_assert_ptr_nonnull(session_new(&srv, sv[0], "test", 0));
}

static void teardown(void)
{
	session_stop_all(&srv);
	event_base_free(srv.base);
	sasl_global_done(&srv);
	users_free(&srv.users);
	close(cfd);
	tu_rmrf(root);
}

/* Let the server run ~30 ms, then return everything the client received since the last call. */
static const char *run(void)
{
	return tu_pump(srv.base, cfd, got, sizeof got);
}

static const char *say(const char *s)
{
	ck_assert_int_eq(send(cfd, s, strlen(s), 0), (ssize_t)strlen(s));
	return run();
}

START_TEST(greeting_and_authorization)
{
	const char *g = run();

	ck_assert_msg(strncmp(g, "+OK pop3refd ready <", 20) == 0, "%s", g);
	ck_assert_ptr_nonnull(strstr(g, "@test.example>\r\n"));
	ck_assert_str_eq(say("STAT\r\n"), "-ERR STAT not allowed in the AUTHORIZATION state\r\n");
	ck_assert_str_eq(say("NOOP\r\n"), "-ERR NOOP not allowed in the AUTHORIZATION state\r\n");
	ck_assert_str_eq(say("PASS wonderland\r\n"), "-ERR PASS must follow a successful USER\r\n");
	ck_assert_str_eq(say("USER nobody\r\n"), "+OK send PASS\r\n");
	ck_assert_str_eq(say("PASS x\r\n"), "-ERR [AUTH] authentication failed\r\n");
	ck_assert_str_eq(say("STLS\r\n"), "-ERR TLS is not available\r\n");
	ck_assert_str_eq(say("USER alice\r\nPASS wonderland\r\n"),
	                 "+OK send PASS\r\n+OK alice has 2 messages (40 octets)\r\n");
	ck_assert_str_eq(say("USER alice\r\n"), "-ERR USER not allowed in the TRANSACTION state\r\n");
	ck_assert_str_eq(say("STAT\r\n"), "+OK 2 40\r\n");
}
END_TEST

START_TEST(transaction_pipelined)
{
	run();
	ck_assert_str_eq(say("USER alice\r\nPASS wonderland\r\nLIST\r\nRETR 1\r\nDELE 1\r\nLIST 1\r\nUIDL\r\n"
	                     "RSET\r\nTOP 2 0\r\n"),
	                 "+OK send PASS\r\n+OK alice has 2 messages (40 octets)\r\n"
	                 "+OK 2 messages (40 octets)\r\n1 20\r\n2 20\r\n.\r\n"
	                 "+OK 20 octets\r\nSubject: a\r\n\r\n..dot\r\n.\r\n"
	                 "+OK message 1 deleted\r\n"
	                 "-ERR message 1 already deleted\r\n"
	                 "+OK unique-id listing follows\r\n2 2.b\r\n.\r\n"
	                 "+OK maildrop has 2 messages (40 octets)\r\n"
	                 "+OK top of message 2 follows\r\nSubject: b\r\n\r\n.\r\n");
}
END_TEST

START_TEST(quit_updates_and_closes)
{
	char c;

	run();
	say("USER alice\r\nPASS wonderland\r\nDELE 2\r\n");
	ck_assert_str_eq(say("QUIT\r\nNOOP\r\n"), "+OK pop3refd signing off (1 message removed)\r\n");
	ck_assert_int_eq(recv(cfd, &c, 1, MSG_DONTWAIT), 0); /* the server's side is shut */
	ck_assert(tu_exists(root, "alice", "1.a"));
	ck_assert(!tu_exists(root, "alice", "2.b"));
}
END_TEST

START_TEST(limits)
{
	char line[600];

	run();
	/* 255 octets with CRLF: accepted. 256: -ERR, and the excess never runs as a command. */
	memset(line, 'a', sizeof line);
	memcpy(line, "USER ", 5);
	memcpy(line + 253, "\r\n", 3);
	ck_assert_str_eq(say(line), "+OK send PASS\r\n");
	memcpy(line + 254, "\r\n", 3);
	ck_assert_str_eq(say(line), "-ERR line too long\r\n");
	memcpy(line + 250, "QUIT\r\n", 7);
	ck_assert_str_eq(say(line), "-ERR line too long\r\n");
	ck_assert_str_eq(say("\r\n"), "-ERR empty command\r\n");
	ck_assert_int_eq(send(cfd, "USER a\0b\r\n", 10, 0), 10);
	ck_assert_str_eq(run(), "-ERR invalid character in command\r\n");
	ck_assert_str_eq(say("USER alice\nPASS wonderland\n"),
	                 "+OK send PASS\r\n+OK alice has 2 messages (40 octets)\r\n");
}
END_TEST

START_TEST(sasl_exchanges)
{
	char b64[128], line[256], digest[DIGEST_MD5_HEX], chal[128];
	const char *r;
	size_t n;
	unsigned char dec[128];

	run();
	/* Cleartext, compat mode: PLAIN refused with [AUTH] whatever the credentials (RFC 5034 §4). */
	ck_assert_str_eq(say("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=\r\n"),
	                 "-ERR [AUTH] PLAIN needs TLS here: use STLS or the pop3s port\r\n");
	ck_assert_str_eq(say("AUTH CRAM-MD5 dGVzdA==\r\n"),
	                 "-ERR CRAM-MD5 does not take an initial response\r\n");
	r = say("AUTH CRAM-MD5\r\n");
	ck_assert_msg(strncmp(r, "+ ", 2) == 0, "%s", r);
	ck_assert_str_eq(say("*\r\n"), "-ERR authentication cancelled\r\n");
	r = say("AUTH cram-md5\r\n");
	ck_assert_msg(sscanf(r, "+ %127s", chal) == 1, "%s", r);
	ck_assert_int_eq(b64_decode(chal, strlen(chal), dec, &n, 1), B64_OK);
	cram_md5_digest((const char *)dec, n, "wonderland", digest);
	snprintf(line, sizeof line, "alice %s", digest);
	b64_encode(line, strlen(line), b64);
	snprintf(line, sizeof line, "%s\r\n", b64);
	ck_assert_str_eq(say(line), "+OK alice has 2 messages (40 octets)\r\n");
	ck_assert_str_eq(say("AUTH CRAM-MD5\r\n"), "-ERR AUTH not allowed in the TRANSACTION state\r\n");
}
END_TEST

START_TEST(sasl_bad_input)
{
	run();
	ck_assert_str_eq(say("AUTH X-UNKNOWN\r\n"), "-ERR unsupported mechanism\r\n");
	ck_assert_str_eq(say("AUTH SCRAM-SHA-1 !!!!\r\n"), "-ERR invalid base64 in initial response\r\n");
	ck_assert_str_eq(say("AUTH SCRAM-SHA-1 =\r\n"), "-ERR [AUTH] authentication failed\r\n");
	ck_assert_str_eq(say("AUTH SCRAM-SHA-256\r\n"), "+ \r\n");
	ck_assert_str_eq(say("not base64\r\n"),
	                 "-ERR invalid base64 in response; authentication cancelled\r\n");
	ck_assert_str_eq(say("STAT\r\n"), "-ERR STAT not allowed in the AUTHORIZATION state\r\n");
	ck_assert_str_eq(say("AUTH\r\n"),
	                 "+OK SASL mechanisms follow\r\nCRAM-MD5\r\nSCRAM-SHA-1\r\nSCRAM-SHA-256\r\n.\r\n");
}
END_TEST

START_TEST(apop)
{
	char ts[320], digest[DIGEST_MD5_HEX], line[400];
	const char *g = run(), *a = strchr(g, '<'), *b = strchr(g, '>');

	ck_assert(a && b && b > a);
	snprintf(ts, sizeof ts, "%.*s", (int)(b - a + 1), a);
	apop_digest(ts, "wonderland", digest);
	snprintf(line, sizeof line, "APOP alice %s\r\n", "0123456789abcdef0123456789abcdef");
	ck_assert_str_eq(say(line), "-ERR [AUTH] authentication failed\r\n");
	snprintf(line, sizeof line, "APOP alice %s\r\n", digest);
	ck_assert_str_eq(say(line), "+OK alice has 2 messages (40 octets)\r\n");
}
END_TEST

Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("session");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, greeting_and_authorization);
	tcase_add_test(tc, transaction_pipelined);
	tcase_add_test(tc, quit_updates_and_closes);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, sasl_exchanges);
	tcase_add_test(tc, sasl_bad_input);
	tcase_add_test(tc, apop);
	suite_add_tcase(s, tc);
	return s;
}
