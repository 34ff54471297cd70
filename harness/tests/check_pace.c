/* check_pace.c — unit tests for runner/exec/pace: the per-account login clocks of RFC 2449 §6.5
 * (LOGIN-DELAY), driven by a clock the tests pass in, and the LOGIN-DELAY argument read from CAPA lines. */
#include <check.h>
#include <string.h>
#include "runner/exec/pace.h"

Suite *pace_suite(void);

static const int target_a = 1, target_b = 2; /* two targets: their addresses are the owners */

/* A login starts its account's clock; the next one waits delay + margin after it, then none. */
START_TEST(next_login_waits_for_the_delay)
{
	struct pace pc;
	pace_init(&pc);
	pace_set_delay(&pc, &target_a, "alice", 2000);
	pace_set_delay(&pc, &target_a, "bob", 2000);
	ck_assert_int_eq(pace_wait(&pc, &target_a, "alice", 1000), 0); /* no login yet in this run */
	pace_logged_in(&pc, &target_a, "alice", 10000);
	ck_assert_int_eq(pace_wait(&pc, &target_a, "alice", 10000), 2000 + PACE_MARGIN_MS);
	ck_assert_int_eq(pace_wait(&pc, &target_a, "alice", 11500), 500 + PACE_MARGIN_MS);
	ck_assert_int_eq(pace_wait(&pc, &target_a, "alice", 12000 + PACE_MARGIN_MS), 0);
	ck_assert_int_eq(pace_wait(&pc, &target_a, "alice", 99999), 0);
	ck_assert_int_eq(pace_since(&pc, &target_a, "alice", 10400), 400);
	/* Per account: bob's clock has not started; per target: the same name elsewhere is another account.
	 */
	ck_assert_int_eq(pace_wait(&pc, &target_a, "bob", 10000), 0);
	ck_assert_int_eq(pace_since(&pc, &target_a, "bob", 10000), -1);
	pace_set_delay(&pc, &target_b, "alice", 5000);
	ck_assert_int_eq(pace_wait(&pc, &target_b, "alice", 10000), 0);
	/* A later login moves the clock. */
	pace_logged_in(&pc, &target_a, "alice", 20000);
	ck_assert_int_eq(pace_wait(&pc, &target_a, "alice", 20000), 2000 + PACE_MARGIN_MS);
	pace_free(&pc);
}
END_TEST

/* No delay (LOGIN-DELAY 0, none announced, or an account the probe never set): never a wait. */
START_TEST(no_delay_no_wait)
{
	struct pace pc;
	pace_init(&pc);
	pace_set_delay(&pc, &target_a, "alice", 0);
	pace_logged_in(&pc, &target_a, "alice", 10000);
	ck_assert_int_eq(pace_wait(&pc, &target_a, "alice", 10000), 0);
	pace_logged_in(&pc, &target_a, "stranger", 10000);
	ck_assert_int_eq(pace_wait(&pc, &target_a, "stranger", 10000), 0);
	ck_assert_int_eq(pace_delay(&pc, &target_a, "stranger"), 0);
	ck_assert_int_eq(pace_max_delay(&pc, &target_a), 0);
	pace_free(&pc);
}
END_TEST

/* The value after login replaces the one before (RFC 2449 §6.5: it applies to that user), per account;
 * the largest of a target's is what its run is paced by. */
START_TEST(value_after_login_applies)
{
	struct pace pc;
	pace_init(&pc);
	pace_set_delay(&pc, &target_a, "alice", 900000);
	pace_set_delay(&pc, &target_a, "bob", 900000);
	pace_set_delay(&pc, &target_a, "alice", 60000);
	ck_assert_int_eq(pace_delay(&pc, &target_a, "alice"), 60000);
	ck_assert_int_eq(pace_delay(&pc, &target_a, "bob"), 900000);
	ck_assert_int_eq(pace_max_delay(&pc, &target_a), 900000);
	ck_assert_int_eq(pace_max_delay(&pc, &target_b), 0);
	pace_logged_in(&pc, &target_a, "alice", 0);
	ck_assert_int_eq(pace_wait(&pc, &target_a, "alice", 0), 60000 + PACE_MARGIN_MS);
	pace_free(&pc);
}
END_TEST

START_TEST(capa_argument)
{
	int user = -1;
	char *a[] = {"TOP", "LOGIN-DELAY 900", "UIDL"};
	ck_assert_int_eq(pace_capa_delay(a, 3, &user), 900);
	ck_assert_int_eq(user, 0);
	char *b[] = {"login-delay 60 USER"};
	ck_assert_int_eq(pace_capa_delay(b, 1, &user), 60);
	ck_assert_int_eq(user, 1);
	char *c[] = {"LOGIN-DELAY", "LOGIN-DELAY x", "LOGIN-DELAY 5x", "LOGIN-DELAYS 4", "EXPIRE 60"};
	ck_assert_int_eq(pace_capa_delay(c, 5, &user), -1);
	char *d[] = {"LOGIN-DELAY 0"};
	ck_assert_int_eq(pace_capa_delay(d, 1, NULL), 0);
	ck_assert_int_eq(pace_capa_delay(NULL, 0, NULL), -1);
	/* Two lines (a server's mistake): the larger, conservatively. */
	char *e[] = {"LOGIN-DELAY 30", "LOGIN-DELAY 120"};
	ck_assert_int_eq(pace_capa_delay(e, 2, NULL), 120);
}
END_TEST

Suite *pace_suite(void)
{
	Suite *s = suite_create("pace");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, next_login_waits_for_the_delay);
	tcase_add_test(tc, no_delay_no_wait);
	tcase_add_test(tc, value_after_login_applies);
	tcase_add_test(tc, capa_argument);
	suite_add_tcase(s, tc);
	return s;
}
