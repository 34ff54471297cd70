/* check_pop3client.c — unit tests for the test client's side effects (client/deliver.c): the UIDL state file
 * (load, add without duplicates, atomic save, a missing file is an empty state) and Maildir delivery
 * (nothing in new/ before the commit, nothing left in tmp/ after an abort). The protocol side is tested
 * end to end (e2e/test_pop3client.py). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include "testutil.h"
#include "client/client.h"

Suite *pop3client_suite(void);

/* Files in DIR (not . and ..). */
static int count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(state_missing_file_is_empty)
{
	struct uid_state st = {0};
	struct p3err err;

	ck_assert_int_eq(state_load(tu_at("none"), &st, &err), 0);
	ck_assert_uint_eq(st.n, 0);
	ck_assert(!state_has(&st, "x"));
}
END_TEST

START_TEST(state_round_trip_without_duplicates)
{
	struct uid_state st = {0}, again = {0};
	struct p3err err;

	ck_assert_int_eq(state_add(&st, "1000.M1P1.a", &err), 0);
	ck_assert_int_eq(state_add(&st, "uid with no spaces!", &err), 0);
	ck_assert_int_eq(state_add(&st, "1000.M1P1.a", &err), 0);
	ck_assert_uint_eq(st.n, 2);
	ck_assert_int_eq(state_save(tu_at("state"), &st, &err), 0);
	ck_assert_str_eq(slurp(tu_at("state")), "1000.M1P1.a\nuid with no spaces!\n");
	ck_assert_int_eq(access(tu_at("state.tmp"), F_OK), -1); /* renamed into place, nothing left */
	ck_assert_int_eq(state_load(tu_at("state"), &again, &err), 0);
	ck_assert_uint_eq(again.n, 2);
	ck_assert(state_has(&again, "1000.M1P1.a"));
	/* RFC 1939 §7: unique-ids are compared octet for octet. */
	ck_assert(!state_has(&again, "1000.m1p1.a"));
	state_free(&st);
	state_free(&again);
}
END_TEST

START_TEST(state_unwritable_is_an_error)
{
	struct uid_state st = {0};
	struct p3err err;

	ck_assert_int_eq(state_add(&st, "a", &err), 0);
	ck_assert_int_eq(state_save(tu_at("no/such/dir/state"), &st, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "no/such/dir"));
	state_free(&st);
}
END_TEST

START_TEST(delivery_only_after_commit)
{
	struct delivery d = {.fd = -1};
	struct p3err err;

	ck_assert_int_eq(delivery_begin(&d, tu_at("md"), &err), 0);
	ck_assert_int_eq(delivery_write(&d, "Subject: x\n\nbody\n", 17, &err), 0);
	/* Maildir: a message in tmp/ is not delivered until it is renamed into new/. */
	ck_assert_int_eq(count(tu_at("md/tmp")), 1);
	ck_assert_int_eq(count(tu_at("md/new")), 0);
	ck_assert_int_eq(delivery_commit(&d, &err), 0);
	ck_assert_int_eq(count(tu_at("md/tmp")), 0);
	ck_assert_int_eq(count(tu_at("md/new")), 1);
	ck_assert_str_eq(slurp(d.final), "Subject: x\n\nbody\n");
}
END_TEST

START_TEST(delivery_abort_leaves_nothing)
{
	struct delivery d = {.fd = -1}, d2 = {.fd = -1};
	struct p3err err;

	ck_assert_int_eq(delivery_begin(&d, tu_at("md"), &err), 0);
	ck_assert_int_eq(delivery_write(&d, "half a mess", 11, &err), 0);
	delivery_abort(&d);
	ck_assert_int_eq(count(tu_at("md/tmp")), 0);
	ck_assert_int_eq(count(tu_at("md/new")), 0);
	/* Two deliveries in one process get different names. */
	ck_assert_int_eq(delivery_begin(&d, tu_at("md"), &err), 0);
	ck_assert_int_eq(delivery_begin(&d2, tu_at("md"), &err), 0);
	ck_assert_str_ne(d.tmp, d2.tmp);
	ck_assert_int_eq(delivery_commit(&d, &err), 0);
	ck_assert_int_eq(delivery_commit(&d2, &err), 0);
	ck_assert_int_eq(count(tu_at("md/new")), 2);
}
END_TEST

Suite *pop3client_suite(void)
{
	Suite *s = suite_create("pop3client");
	TCase *tc = tcase_create("deliver");

	tcase_add_checked_fixture(tc, tu_root_setup, tu_root_teardown);
	tcase_add_test(tc, state_missing_file_is_empty);
	tcase_add_test(tc, state_round_trip_without_duplicates);
	tcase_add_test(tc, state_unwritable_is_an_error);
	tcase_add_test(tc, delivery_only_after_commit);
	tcase_add_test(tc, delivery_abort_leaves_nothing);
	suite_add_tcase(s, tc);
	return s;
}
