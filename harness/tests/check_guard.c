/* check_guard.c — unit tests for server/guard: peer addresses, loopback, the growing failed-login delay per
 * address and per user, forgetting, and the fixed-size failure table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "server/guard.h"

Suite *guard_suite(void);

static struct guard *g;

static void setup(void)
{
	g = malloc(sizeof *g);
	ck_assert_ptr_nonnull(g);
	guard_init(g);
	g->delay_base_ms = 100;
	g->delay_max_ms = 1000;
}

static void teardown(void)
{
	free(g);
}

START_TEST(peer_addresses)
{
	char a[64];

	guard_peer_address("192.0.2.1:110", a, sizeof a);
	ck_assert_str_eq(a, "192.0.2.1");
	guard_peer_address("[2001:db8::1]:995", a, sizeof a);
	ck_assert_str_eq(a, "2001:db8::1");
	guard_peer_address("fuzz", a, sizeof a);
	ck_assert_str_eq(a, "fuzz");
	ck_assert(guard_is_loopback("127.0.0.1"));
	ck_assert(guard_is_loopback("127.9.8.7"));
	ck_assert(guard_is_loopback("::1"));
	ck_assert(guard_is_loopback("::ffff:127.0.0.1"));
	ck_assert(!guard_is_loopback("128.0.0.1"));
	ck_assert(!guard_is_loopback("::2"));
	ck_assert(!guard_is_loopback("2001:db8::1"));
}
END_TEST

START_TEST(delay_grows_per_address_and_user)
{
	/* 100, 200, 400, 800, then capped at 1000. */
	ck_assert_int_eq(guard_failure(g, "192.0.2.1", "alice", 1000), 100);
	ck_assert_int_eq(guard_failure(g, "192.0.2.1", "bob", 1000), 200);   /* the address's second */
	ck_assert_int_eq(guard_failure(g, "192.0.2.2", "alice", 1000), 200); /* alice's second */
	ck_assert_int_eq(guard_failure(g, "192.0.2.1", "carol", 1000), 400);
	ck_assert_int_eq(guard_failure(g, "192.0.2.1", "carol", 1000), 800);
	ck_assert_int_eq(guard_failure(g, "192.0.2.1", "carol", 1000), 1000);
	ck_assert_int_eq(guard_failure(g, "192.0.2.1", "carol", 1000), 1000);
	/* A new address guessing alice's password still waits for alice's count (3rd: 400). */
	ck_assert_int_eq(guard_failure(g, "198.51.100.7", "alice", 1000), 400);
	/* A success forgets both. */
	guard_success(g, "192.0.2.1", "carol");
	ck_assert_int_eq(guard_failure(g, "192.0.2.1", "carol", 1000), 100);
	/* No base delay: never any delay. */
	g->delay_base_ms = 0;
	ck_assert_int_eq(guard_failure(g, "192.0.2.1", "carol", 1000), 0);
}
END_TEST

START_TEST(forgets_after_quiet)
{
	ck_assert_int_eq(guard_failure(g, "192.0.2.1", "alice", 1000), 100);
	ck_assert_int_eq(guard_failure(g, "192.0.2.1", "alice", 1001), 200);
	ck_assert_int_eq(guard_failure(g, "192.0.2.1", "alice", 1001 + GUARD_FORGET_SECONDS + 1), 100);
}
END_TEST

START_TEST(table_is_bounded)
{
	char addr[32];

	/* Many more addresses than the table holds: memory stays the same, and the newest are remembered. */
	for (int i = 0; i < GUARD_TABLE_SIZE * 4; i++) {
		snprintf(addr, sizeof addr, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		ck_assert_int_eq(guard_failure(g, addr, NULL, 1000 + i), 100);
	}
	ck_assert_int_eq(guard_failure(g, addr, NULL, 1000 + GUARD_TABLE_SIZE * 4), 200);
}
END_TEST

Suite *guard_suite(void)
{
	Suite *s = suite_create("guard");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, peer_addresses);
	tcase_add_test(tc, delay_grows_per_address_and_user);
	tcase_add_test(tc, forgets_after_quiet);
	tcase_add_test(tc, table_is_bounded);
	suite_add_tcase(s, tc);
	return s;
}
