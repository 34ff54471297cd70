/* check_fixture.c — unit tests for runner/fixture: locating, copying, facts (count, sizes as sent,
 * Message-IDs) of the committed fixtures, and the Message-ID reader on folded headers. Run from the
 * repository root (make unit does). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include "runner/fixture.h"

Suite *fixture_suite(void);

static int exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;
	ck_assert_int_lt(snprintf(p, sizeof p, "%s/%s", dir, name), (int)sizeof p);
	return stat(p, &st) == 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(facts_of_three)
{
	const struct fixture *fx;
	struct p3err err = {0};
	ck_assert_msg(fixture_get("fixtures", "three", &fx, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(fx->count, 3);
	/* Sizes as fixtures/README.md lists them (RFC 1939 §11 counting). */
	ck_assert_uint_eq(fx->msgs[0].size, 697);
	ck_assert_uint_eq(fx->msgs[1].size, 1862);
	ck_assert_uint_eq(fx->msgs[2].size, 5596);
	ck_assert_uint_eq(fx->total, 8155);
	ck_assert_str_eq(fx->msgs[0].msgid, "<three-1@fixtures.pop3spec.test>");
	ck_assert_str_eq(fx->msgs[2].msgid, "<three-3@fixtures.pop3spec.test>");
	ck_assert(fx->dir[0] == '/');
	ck_assert(exists(fx->dir, "cur") && exists(fx->dir, "new") && exists(fx->dir, "tmp"));
	ck_assert(exists(fx->dir, "new/1000000002.M2P1.fixture"));
	ck_assert(!exists(fx->dir, "cur/.keep"));
	/* Cached: the same object comes back. */
	const struct fixture *again;
	ck_assert_int_eq(fixture_get("fixtures", "three", &again, &err), 0);
	ck_assert_ptr_eq(fx, again);
	char dir[PATH_MAX];
	ck_assert_int_lt(snprintf(dir, sizeof dir, "%s", fx->dir), (int)sizeof dir);
	fixture_cache_clear();
	ck_assert(!exists(dir, "new"));
}
END_TEST

START_TEST(other_fixtures)
{
	const struct fixture *fx;
	struct p3err err = {0};
	ck_assert_int_eq(fixture_get("fixtures", "empty", &fx, &err), 0);
	ck_assert_uint_eq(fx->count, 0);
	ck_assert_uint_eq(fx->total, 0);
	ck_assert_int_eq(fixture_get("fixtures", "mixed", &fx, &err), 0);
	ck_assert_uint_eq(fx->count, 6);
	ck_assert_uint_eq(fx->total, 76525);
	ck_assert_int_eq(fixture_get("fixtures", "no-final-newline", &fx, &err), 0);
	ck_assert_uint_eq(fx->total, 1114);
	ck_assert_int_ne(fixture_get("fixtures", "no-such-fixture", &fx, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "no-such-fixture"));
	ck_assert_int_ne(fixture_get("fixtures", "../maildrops", &fx, &err), 0);
	fixture_cache_clear();
}
END_TEST

START_TEST(copy_replaces_messages_only)
{
	char tmp[] = "/tmp/check-fixture-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	char dst[PATH_MAX], p[PATH_MAX];
	struct p3err err = {0};
	ck_assert_int_lt(snprintf(dst, sizeof dst, "%s/user", tmp), (int)sizeof dst);
	ck_assert_msg(fixture_copy_maildir("fixtures/maildrops/three", dst, &err) == 0, "%s", err.msg);
	ck_assert(exists(dst, "new/1000000001.M1P1.fixture"));
	/* A stale message and a server's own dot file: the message goes, the dot file stays. */
	ck_assert_int_lt(snprintf(p, sizeof p, "%s/cur/stale:2,S", dst), (int)sizeof p);
	write_file(p, "Subject: x\n\nold\n");
	ck_assert_int_lt(snprintf(p, sizeof p, "%s/.uidlist", dst), (int)sizeof p);
	write_file(p, "keep me\n");
	ck_assert_int_eq(fixture_copy_maildir("fixtures/maildrops/one", dst, &err), 0);
	ck_assert(!exists(dst, "cur/stale:2,S"));
	ck_assert(!exists(dst, "new/1000000002.M2P1.fixture"));
	ck_assert(exists(dst, "new/1000000001.M1P1.fixture"));
	ck_assert(exists(dst, ".uidlist"));
	ck_assert_int_eq(fixture_rmtree(tmp), 0);
	ck_assert(!exists(tmp, "user"));
}
END_TEST

START_TEST(message_id_reader)
{
	char path[] = "/tmp/check-fixture-msg-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	char id[256];
	struct p3err err = {0};

	write_file(
	    path,
	    "From: a@b\r\nmessage-id:\r\n  <folded-1@x.test>\r\nSubject: s\r\n\r\nMessage-ID: <body@x>\r\n");
	ck_assert_int_eq(fixture_message_id(path, id, sizeof id, &err), 0);
	ck_assert_str_eq(id, "<folded-1@x.test>");

	write_file(path, "From: a@b\n\nMessage-ID: <in-body@x>\n");
	ck_assert_int_eq(fixture_message_id(path, id, sizeof id, &err), 0);
	ck_assert_str_eq(id, "");

	write_file(path, "Message-ID:   bare-id@x  \n\nbody\n");
	ck_assert_int_eq(fixture_message_id(path, id, sizeof id, &err), 0);
	ck_assert_str_eq(id, "bare-id@x");
	unlink(path);
	ck_assert_int_ne(fixture_message_id(path, id, sizeof id, &err), 0);
}
END_TEST

Suite *fixture_suite(void)
{
	Suite *s = suite_create("fixture");
	TCase *tc = tcase_create("fixture");
	tcase_add_test(tc, facts_of_three);
	tcase_add_test(tc, other_fixtures);
	tcase_add_test(tc, copy_replaces_messages_only);
	tcase_add_test(tc, message_id_reader);
	suite_add_tcase(s, tc);
	return s;
}
