/* check_store.c — unit tests for server/store: the snapshot (and the size cache the login scan keeps), marks,
 * UPDATE removing exactly the marked messages, the lock between sessions, and failures mapped to [IN-USE],
 * [SYS/PERM]. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <check.h>

#include "server/store.h"
#include "srv_testutil.h"

Suite *store_suite(void);

static char root[128];
static const char *const names[] = {"1000.a", "1001.b", "1002.c"};
static const char *const data[] = {"Subject: a\n\nA\n", "Subject: b\r\n\r\nBB\r\n", "Subject: c\n\nno end"};

static void setup(void)
{
	tu_tmpdir(root, sizeof root);
	tu_maildrop(root, "alice", 3, names, data);
}

static void teardown(void)
{
	tu_rmrf(root);
}

static struct store *open_ok(const char *user)
{
	struct store *s = NULL;
	struct p3err err;

	ck_assert_int_eq(store_open(root, user, &s, &err), STORE_OK);
	ck_assert_ptr_nonnull(s);
	return s;
}

START_TEST(snapshot_and_sizes)
{
	struct store *s = open_ok("alice");
	size_t n;
	unsigned long long o;

	ck_assert_uint_eq(store_count(s), 3);
	store_stat(s, &n, &o);
	ck_assert_uint_eq(n, 3);
	/* Sizes as sent: CRLF line ends, a missing final line end counted (RFC 1939 §11, P-MSG-1). */
	ck_assert_uint_eq(store_get(s, 1)->size, 17);
	ck_assert_uint_eq(store_get(s, 2)->size, 18);
	ck_assert_uint_eq(store_get(s, 3)->size, 22);
	ck_assert_uint_eq(o, 17 + 18 + 22);
	ck_assert_str_eq(store_get(s, 1)->uid, "1000.a");
	ck_assert_ptr_null(store_get(s, 0));
	ck_assert_ptr_null(store_get(s, 4));
	store_close(s);
}
END_TEST

START_TEST(login_scan_keeps_a_size_cache)
{
	struct store *s = open_ok("alice");
	char path[256];
	struct stat st;
	FILE *f;
	unsigned long long before = store_get(s, 3)->size;

	store_close(s);
	/* The login scan left the sizes it read in the Maildir (a dot file, never a message). */
	snprintf(path, sizeof path, "%s/alice/%s", root, MAILDIR_CACHE_NAME);
	ck_assert_int_eq(stat(path, &st), 0);
	/* The next login takes them from there: a size only the cache can know shows. */
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	char text[1024], out[1024] = "";
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *name = strrchr(line, ' '), changed[200];
		if (name && strcmp(name + 1, "1002.c") == 0) {
			unsigned long long ino, len, sz;
			long long cs;
			long cns;
			int h, v;
			ck_assert_int_eq(
			    sscanf(line, "%llu %llu %lld %ld %llu %d %d", &ino, &len, &cs, &cns, &sz, &h, &v),
			    7);
			ck_assert_uint_eq(sz, before);
			snprintf(changed, sizeof changed, "%llu %llu %lld %ld %llu %d %d 1002.c", ino, len,
			         cs, cns, sz + 100, h, v);
			line = changed;
		}
		strcat(out, line);
		strcat(out, "\n");
	}
	f = fopen(path, "w");
	fputs(out, f);
	fclose(f);
	s = open_ok("alice");
	ck_assert_uint_eq(store_get(s, 3)->size, before + 100);
	ck_assert_uint_eq(store_count(s), 3);
	store_close(s);
}
END_TEST

START_TEST(marks_and_reset)
{
	struct store *s = open_ok("alice");
	size_t n;
	unsigned long long o;

	ck_assert_int_eq(store_mark(s, 2), 0);
	ck_assert_int_eq(store_mark(s, 2), -1); /* RFC 1939 §5: already marked */
	ck_assert_int_eq(store_mark(s, 0), -1);
	ck_assert_int_eq(store_mark(s, 4), -1);
	ck_assert_ptr_null(store_get(s, 2));
	ck_assert_ptr_nonnull(store_get(s, 3)); /* no renumbering */
	store_stat(s, &n, &o);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(o, 17 + 22);
	ck_assert_uint_eq(store_count(s), 3);
	store_reset(s);
	ck_assert_ptr_nonnull(store_get(s, 2));
	store_stat(s, &n, &o);
	ck_assert_uint_eq(n, 3);
	store_close(s);
	/* Closing without UPDATE removes nothing (RFC 1939 §6). */
	s = open_ok("alice");
	ck_assert_int_eq(store_mark(s, 1), 0);
	store_close(s);
	ck_assert(tu_exists(root, "alice", "1000.a"));
}
END_TEST

START_TEST(update_removes_only_marked)
{
	struct store *s = open_ok("alice");
	struct p3err err;
	size_t removed = 99;

	store_mark(s, 1);
	store_mark(s, 3);
	ck_assert_int_eq(store_update(s, &removed, &err), 0);
	ck_assert_uint_eq(removed, 2);
	store_close(s);
	ck_assert(!tu_exists(root, "alice", "1000.a"));
	ck_assert(tu_exists(root, "alice", "1001.b"));
	ck_assert(!tu_exists(root, "alice", "1002.c"));
	s = open_ok("alice");
	ck_assert_uint_eq(store_count(s), 1);
	ck_assert_str_eq(store_get(s, 1)->uid, "1001.b");
	ck_assert_int_eq(store_update(s, &removed, &err), 0); /* nothing marked */
	ck_assert_uint_eq(removed, 0);
	store_close(s);
	ck_assert(tu_exists(root, "alice", "1001.b"));
}
END_TEST

START_TEST(update_failure_reported)
{
	struct store *s = open_ok("alice");
	struct p3err err;
	char p[512];
	size_t removed;

	store_mark(s, 1);
	store_mark(s, 2);
	/* Message 1 becomes a non-empty folder: unlink fails; message 2 is still removed. */
	snprintf(p, sizeof p, "%s/alice/cur/1000.a", root);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/alice/cur/1000.a/x", root);
	tu_write(p, "x", 1);
	ck_assert_int_eq(store_update(s, &removed, &err), -1);
	ck_assert_uint_eq(removed, 1);
	ck_assert_msg(strstr(err.msg, "1000.a: cannot remove") != NULL, "%s", err.msg);
	ck_assert(!tu_exists(root, "alice", "1001.b"));
	store_close(s);
}
END_TEST

START_TEST(vanished_file_counts_as_removed)
{
	struct store *s = open_ok("alice");
	struct p3err err;
	char p[512];
	size_t removed;

	store_mark(s, 3);
	snprintf(p, sizeof p, "%s/alice/cur/1002.c", root);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(store_update(s, &removed, &err), 0);
	ck_assert_uint_eq(removed, 1);
	store_close(s);
}
END_TEST

START_TEST(lock_excludes_second_session)
{
	struct store *a = open_ok("alice"), *b = NULL, *c;
	struct p3err err;

	ck_assert_int_eq(store_open(root, "alice", &b, &err), STORE_IN_USE);
	ck_assert_ptr_null(b);
	c = open_ok("bob"); /* another user: its own lock (and a new empty Maildir) */
	ck_assert_uint_eq(store_count(c), 0);
	store_close(c);
	store_close(a);
	b = open_ok("alice"); /* released on close */
	store_close(b);
}
END_TEST

START_TEST(broken_maildrops)
{
	struct store *s = (struct store *)1;
	struct p3err err;
	char p[512];

	snprintf(p, sizeof p, "%s/notmaildir", root);
	ck_assert_int_eq(mkdir(p, 0700), 0); /* no cur/ new/ */
	ck_assert_int_eq(store_open(root, "notmaildir", &s, &err), STORE_SYS_PERM);
	ck_assert_ptr_null(s);
	snprintf(p, sizeof p, "%s/afile", root);
	tu_write(p, "x", 1);
	ck_assert_int_eq(store_open(root, "afile", &s, &err), STORE_SYS_PERM);
	ck_assert_msg(strstr(err.msg, "not a directory") != NULL, "%s", err.msg);
	ck_assert_int_eq(store_open(root, "../alice", &s, &err), STORE_SYS_PERM);
	/* The failed open released its lock (RFC 1939 §4): a later attempt gets the same answer, not IN-USE.
	 */
	ck_assert_int_eq(store_open(root, "notmaildir", &s, &err), STORE_SYS_PERM);
	store_close(NULL);
}
END_TEST

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, snapshot_and_sizes);
	tcase_add_test(tc, login_scan_keeps_a_size_cache);
	tcase_add_test(tc, marks_and_reset);
	tcase_add_test(tc, update_removes_only_marked);
	tcase_add_test(tc, update_failure_reported);
	tcase_add_test(tc, vanished_file_counts_as_removed);
	tcase_add_test(tc, lock_excludes_second_session);
	tcase_add_test(tc, broken_maildrops);
	suite_add_tcase(s, tc);
	return s;
}
