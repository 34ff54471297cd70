/* check_utf8.c — unit tests for server/utf8 and what RFC 6856 §2 changes elsewhere in the server: the RFC
 * 3629 syntax check, SASLprep of credentials (query and stored strings), UTF-8 names and secrets in the
 * users file, the 8-bit header check of the store, and, through the real dispatcher over a socketpair, the
 * UTF8 command, UTF-8 USER/PASS/APOP, [UTF8] on RETR and TOP, and STLS after UTF8. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <check.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "lib/digest.h"
#include "server/config.h"
#include "server/log.h"
#include "server/sasl.h"
#include "server/server.h"
#include "server/session.h"
#include "server/store.h"
#include "server/utf8.h"
#include "srv_testutil.h"

Suite *utf8_suite(void);

#define UTF8_NAME   "j\xc3\xb6ran"           /* jöran */
#define UTF8_SECRET "p\xc3\xa4ssw\xc3\xb6rd" /* pässwörd */
#define SHY         "\xc2\xad"               /* U+00AD SOFT HYPHEN: SASLprep maps it to nothing */

START_TEST(utf8_syntax)
{
	static const char *const good[] = {"",
	                                   "abc",
	                                   "\xc3\xa9",
	                                   "\xe2\x82\xac",
	                                   "\xf0\x9f\x98\x80",
	                                   "\xf4\x8f\xbf\xbf" /* U+10FFFF */,
	                                   "\xed\x9f\xbf" /* U+D7FF */,
	                                   "\xee\x80\x80" /* U+E000: well-formed, SASLprep's business */};
	static const char *const bad[] = {
	    "\xc3\x28",         /* a lead octet without its continuation */
	    "\xc3",             /* truncated */
	    "\xe2\x82",         /* truncated */
	    "\x80",             /* a lone continuation octet */
	    "\xc0\xaf",         /* overlong '/' */
	    "\xc1\xbf",         /* overlong */
	    "\xe0\x80\xaf",     /* overlong 3-octet */
	    "\xf0\x8f\xbf\xbf", /* overlong 4-octet */
	    "\xed\xa0\x80",     /* a UTF-16 surrogate */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "\xf5\x80\x80\x80",
	    "\xfe",
	    "\xff",
	    "ok\xe9",
	};

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(utf8_valid(good[i], strlen(good[i])), "good %zu", i);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!utf8_valid(bad[i], strlen(bad[i])), "bad %zu", i);
	ck_assert(!utf8_has_8bit("plain ASCII"));
	ck_assert(utf8_has_8bit(UTF8_NAME));
}
END_TEST

START_TEST(saslprep)
{
	char out[64];

	/* RFC 4013 §2.1: U+00AD is mapped to nothing; non-ASCII spaces to SPACE. */
	ck_assert_int_eq(cred_prepare("I" SHY "X", CRED_QUERY, out, sizeof out), CRED_OK);
	ck_assert_str_eq(out, "IX");
	ck_assert_int_eq(cred_prepare("I" SHY "X", CRED_STORED, out, sizeof out), CRED_OK);
	ck_assert_str_eq(out, "IX");
	ck_assert_int_eq(cred_prepare("a\xc2\xa0"
	                              "b",
	                              CRED_QUERY, out, sizeof out),
	                 CRED_OK);
	ck_assert_str_eq(out, "a b");
	ck_assert_int_eq(cred_prepare("pass with spaces", CRED_QUERY, out, sizeof out), CRED_OK);
	ck_assert_str_eq(out, "pass with spaces");
	/* RFC 4013 §2.3: private use (U+E000) and non-ASCII controls (U+0085) are prohibited. */
	ck_assert_int_eq(cred_prepare("pw\xee\x80\x80", CRED_QUERY, out, sizeof out), CRED_PROHIBITED);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(cred_prepare("pw\xc2\x85", CRED_QUERY, out, sizeof out), CRED_PROHIBITED);
	/* RFC 3629: not UTF-8 at all. */
	ck_assert_int_eq(cred_prepare("pw\xc3", CRED_QUERY, out, sizeof out), CRED_BAD_UTF8);
	ck_assert_int_eq(cred_prepare("\xc0\xaf", CRED_STORED, out, sizeof out), CRED_BAD_UTF8);
	/* RFC 3454 §7: U+1F600 is unassigned in Unicode 3.2: allowed in a query, not in a stored string. */
	ck_assert_int_eq(cred_prepare("abc\xf0\x9f\x98\x80", CRED_QUERY, out, sizeof out), CRED_OK);
	ck_assert_int_eq(cred_prepare("abc\xf0\x9f\x98\x80", CRED_STORED, out, sizeof out), CRED_PROHIBITED);
	ck_assert_int_eq(cred_prepare("abcdef", CRED_QUERY, out, 6), CRED_TOO_LONG);
	ck_assert_int_eq(cred_prepare("abcde", CRED_QUERY, out, 6), CRED_OK);
}
END_TEST

START_TEST(users_file)
{
	struct users u;
	struct p3err err;
	const struct user *e;
	static const char text[] = "alice:wonderland\n" UTF8_NAME ":" UTF8_SECRET "\nix:I" SHY "X\n";
	char name[300];

	ck_assert_msg(users_parse("users", text, sizeof text - 1, &u, &err) == 0, "%s", err.msg);
	e = users_find(&u, UTF8_NAME);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->prepared, UTF8_SECRET);
	e = users_find(&u, "ix");
	ck_assert_str_eq(e->password, "I" SHY "X"); /* verbatim, for SASL */
	ck_assert_str_eq(e->prepared, "IX");        /* for PASS and APOP */
	ck_assert_str_eq(users_find(&u, "alice")->prepared, "wonderland");
	users_free(&u);

	/* A name that is not its own SASLprep form could never be found: refused, with the right form. */
	ck_assert_int_eq(users_parse("f",
	                             "\xef\xbd\x8a"
	                             "oe:x\n",
	                             8, &u, &err),
	                 -1); /* fullwidth j */
	ck_assert_msg(strstr(err.msg, "f:1: user name") && strstr(err.msg, "write it as 'joe'"), "%s",
	              err.msg);
	ck_assert_int_eq(users_parse("f", "a\xee\x80\x80:x\n", 7, &u, &err), -1);
	ck_assert_msg(strstr(err.msg, "prohibits"), "%s", err.msg);
	ck_assert_int_eq(users_parse("f", "a\xc3:x\n", 5, &u, &err), -1);
	ck_assert_msg(strstr(err.msg, "is not allowed"), "%s", err.msg);
	/* Secrets SASLprep refuses as stored strings. */
	ck_assert_int_eq(users_parse("f", "bob:x\nann:p\xc2\x85q\n", 15, &u, &err), -1);
	ck_assert_msg(strstr(err.msg, "f:2: the password of user 'ann' holds a character SASLprep prohibits"),
	              "%s", err.msg);
	ck_assert_int_eq(users_parse("f", "ann:p\xc3\n", 8, &u, &err), -1);
	ck_assert_msg(strstr(err.msg, "is not valid UTF-8"), "%s", err.msg);
	ck_assert_int_eq(users_parse("f", "ann:" SHY "\n", 7, &u, &err), -1);
	ck_assert_msg(strstr(err.msg, "empty once prepared"), "%s", err.msg);

	/* Names: path components; UTF-8 up to 64 characters. */
	ck_assert(users_name_ok(UTF8_NAME));
	ck_assert(users_name_ok("user@example.org"));
	ck_assert(!users_name_ok("j\xc3\xb6/ran"));
	ck_assert(!users_name_ok(".j\xc3\xb6ran"));
	ck_assert(!users_name_ok("j\xc3\xb6 ran"));
	ck_assert(!users_name_ok(""));
	name[0] = '\0';
	for (int i = 0; i < 64; i++)
		strcat(name, "\xc3\xa9");
	ck_assert(users_name_ok(name));
	strcat(name, "\xc3\xa9");
	ck_assert(!users_name_ok(name));
}
END_TEST

/* ---- the store --------------------------------------------------------------------------------------- */

static char root[128];

START_TEST(store_header_check)
{
	static const char *const names[] = {"1.a", "2.b,W=40"};
	static const char *const data[] = {"Subject: \xc3\xa9t\xc3\xa9\n\nbody\n",
	                                   "Subject: x\n\n\xe9t\xe9\n"};
	struct store *st = NULL;
	struct p3err err;

	tu_tmpdir(root, sizeof root);
	/* A UTF-8 user name is a maildrop folder like any other. */
	tu_maildrop(root, UTF8_NAME, 2, names, data);
	ck_assert_int_eq(store_open(root, UTF8_NAME, &st, &err), STORE_OK);
	ck_assert_int_eq(store_get(st, 1)->header_8bit, MAILDIR_HEADER_8BIT); /* from the scan */
	ck_assert_int_eq(store_get(st, 2)->header_8bit, MAILDIR_HEADER_UNKNOWN);
	ck_assert_int_eq(store_header_8bit(st, 1, &err), 1);
	ck_assert_int_eq(store_header_8bit(st, 2, &err), 0); /* read now: the 8-bit octets are in the body */
	ck_assert_int_eq(store_get(st, 2)->header_8bit, MAILDIR_HEADER_ASCII); /* and kept */
	ck_assert_int_eq(store_header_8bit(st, 3, &err), -1);
	store_close(st);
	ck_assert_int_eq(store_open(root, "j\xc3\xb6/x", &st, &err), STORE_SYS_PERM);
	tu_rmrf(root);
}
END_TEST

/* ---- sessions ---------------------------------------------------------------------------------------- */

static struct server srv;
static int cfd = -1;
static char got[65536];
static const char *const msg_names[] = {"1.utf8", "2.ascii"};
static const char *const msg_data[] = {"From: J\xc3\xb6ran <j@example.org>\nSubject: Gr\xc3\xbc\xc3\x9f"
                                       "e\n\nK\xc3\xb6ln\n",
                                       "Subject: plain\n\nCaf\xe9\n"};

static void setup(void)
{
	struct p3err err;
	int sv[2];
	static const char users[] = "alice:wonderland\n" UTF8_NAME ":" UTF8_SECRET "\n";

	log_set_level(LOG_ERROR);
	memset(&srv, 0, sizeof srv);
	tu_tmpdir(root, sizeof root);
	tu_maildrop(root, "alice", 2, msg_names, msg_data);
	ck_assert_int_eq(users_parse("users", users, sizeof users - 1, &srv.users, &err), 0);
	srv.maildirs = root;
	srv.plaintext = PLAINTEXT_COMPAT;
	/* A TLS context, so STLS is offered; no handshake is ever started here. */
	srv.tls = SSL_CTX_new(TLS_server_method());
	ck_assert_ptr_nonnull(srv.tls);
	snprintf(srv.hostname, sizeof srv.hostname, "test.example");
	ck_assert_int_eq(sasl_global_init(&srv, &err), 0);
	srv.base = event_base_new();
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
	SSL_CTX_free(srv.tls);
	users_free(&srv.users);
	close(cfd);
	tu_rmrf(root);
}

static const char *run(void)
{
	return tu_pump(srv.base, cfd, got, sizeof got);
}

static const char *say(const char *s)
{
	ck_assert_int_eq(send(cfd, s, strlen(s), 0), (ssize_t)strlen(s));
	return run();
}

START_TEST(capability_and_command)
{
	run();
	ck_assert_ptr_nonnull(strstr(say("CAPA\r\n"), "\r\nUTF8 USER\r\nLANG\r\n"));
	ck_assert_str_eq(say("UTF8 x\r\n"), "-ERR UTF8 takes no argument\r\n");
	ck_assert_str_eq(say("UTF8\r\n"), "+OK UTF-8 mode enabled\r\n");
	/* RFC 6856 §2.1: STLS after UTF8 is refused, without a response code, and no longer announced. */
	ck_assert_str_eq(say("STLS\r\n"), "-ERR STLS is not allowed after UTF8\r\n");
	ck_assert_ptr_null(strstr(say("CAPA\r\n"), "STLS"));
	say("USER alice\r\nPASS wonderland\r\n");
	ck_assert_str_eq(say("UTF8\r\n"), "-ERR UTF8 not allowed in the TRANSACTION state\r\n");
	ck_assert_ptr_nonnull(strstr(say("CAPA\r\n"), "\r\nUTF8 USER\r\nLANG\r\n"));
	/* In UTF-8 mode the message goes out as stored, its size as LIST said. */
	ck_assert_str_eq(say("LIST 1\r\n"), "+OK 1 57\r\n");
	ck_assert_str_eq(say("RETR 1\r\n"), "+OK 57 octets\r\nFrom: J\xc3\xb6ran <j@example.org>\r\n"
	                                    "Subject: Gr\xc3\xbc\xc3\x9f"
	                                    "e\r\n\r\nK\xc3\xb6ln\r\n.\r\n");
}
END_TEST

START_TEST(utf8_header_refused_outside_mode)
{
	run();
	ck_assert_ptr_nonnull(strstr(say("CAPA\r\n"), "\r\nSTLS\r\n"));
	say("USER alice\r\nPASS wonderland\r\n");
	/* RFC 6856 §2.1, §5: no surrogate, -ERR [UTF8] for RETR and TOP; LIST gives the stored size. */
	ck_assert_str_eq(
	    say("RETR 1\r\n"),
	    "-ERR [UTF8] message 1 has UTF-8 header fields: use the UTF8 command before login\r\n");
	ck_assert_str_eq(
	    say("TOP 1 0\r\n"),
	    "-ERR [UTF8] message 1 has UTF-8 header fields: use the UTF8 command before login\r\n");
	ck_assert_str_eq(say("LIST 1\r\n"), "+OK 1 57\r\n");
	/* An 8-bit body alone is ordinary 8BITMIME. */
	ck_assert_str_eq(say("RETR 2\r\n"), "+OK 24 octets\r\nSubject: plain\r\n\r\nCaf\xe9\r\n.\r\n");
	ck_assert_str_eq(say("STAT\r\n"), "+OK 2 81\r\n");
}
END_TEST

START_TEST(utf8_credentials)
{
	char line[160], digest[DIGEST_MD5_HEX];
	const char *g = run(), *lt = strchr(g, '<'), *gt = strchr(g, '>');
	char ts[128];

	/* RFC 6856 §2.2: SASLprep of USER and PASS (query strings): a soft hyphen is mapped to nothing. */
	ck_assert_str_eq(say("USER " SHY "alice\r\n"), "+OK send PASS\r\n");
	ck_assert_str_eq(say("PASS wonder" SHY "land\r\n"), "+OK alice has 2 messages (81 octets)\r\n");
	teardown(); /* a new connection for the rest */
	setup();
	g = run();
	lt = strchr(g, '<');
	gt = strchr(g, '>');
	ck_assert(lt && gt && gt > lt);
	snprintf(ts, sizeof ts, "%.*s", (int)(gt - lt + 1), lt);
	/* Refused: invalid UTF-8 and prohibited characters, in the name (no [AUTH] on USER) and the password.
	 */
	ck_assert_str_eq(say("USER alice\xc3\r\n"), "-ERR user name is not valid UTF-8\r\n");
	ck_assert_str_eq(say("USER alice\xee\x80\x80\r\n"),
	                 "-ERR user name holds a character SASLprep prohibits\r\n");
	ck_assert_str_eq(say("USER alice\r\nPASS wonderland\xc3\r\n"),
	                 "+OK send PASS\r\n-ERR [AUTH] password is not valid UTF-8\r\n");
	ck_assert_str_eq(say("USER alice\r\nPASS wonderland\xc2\x85\r\n"),
	                 "+OK send PASS\r\n-ERR [AUTH] password holds a character SASLprep prohibits\r\n");
	ck_assert_str_eq(say("APOP alice\xc3 0123456789abcdef0123456789abcdef\r\n"),
	                 "-ERR [AUTH] user name is not valid UTF-8\r\n");
	/* APOP: the digest over the prepared secret, the user name prepared as a query string. */
	apop_digest(ts, UTF8_SECRET, digest);
	snprintf(line, sizeof line, "APOP " SHY UTF8_NAME " %s\r\n", digest);
	ck_assert_str_eq(say(line), "+OK maildrop has 0 messages (0 octets)\r\n");
}
END_TEST

START_TEST(utf8_password_login)
{
	run();
	ck_assert_str_eq(say("USER " UTF8_NAME "\r\nPASS " UTF8_SECRET "\r\n"),
	                 "+OK send PASS\r\n+OK maildrop has 0 messages (0 octets)\r\n");
}
END_TEST

Suite *utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, utf8_syntax);
	tcase_add_test(tc, saslprep);
	tcase_add_test(tc, users_file);
	tcase_add_test(tc, store_header_check);
	suite_add_tcase(s, tc);
	tc = tcase_create("session");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, capability_and_command);
	tcase_add_test(tc, utf8_header_refused_outside_mode);
	tcase_add_test(tc, utf8_credentials);
	tcase_add_test(tc, utf8_password_login);
	suite_add_tcase(s, tc);
	return s;
}
