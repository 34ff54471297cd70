/* check_model.c — unit tests for runner/stress/model: what the load model allows a server to show (RFC 1939
 * §6 deletions, §7 unique-ids, §8 locks) and what it reports, one rule at a time. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runner/stress/model.h"

Suite *model_suite(void);

static struct fmsg fx[3] = {{"a", 100}, {"b", 200}, {"c", 300}};
static struct account acc[1] = {{"user01", "pass01", NULL}};
static struct model M;

static void setup(void)
{
	ck_assert_int_eq(model_init(&M, acc, 1, fx, 3, 0, 0), 0);
}

static void teardown(void)
{
	model_free(&M);
}

/* A session that logs in now and lists the sizes sz[0..n). */
static struct srec *listing(const unsigned long long *sz, size_t n, struct view *v, int *rc)
{
	struct srec *r = model_begin(&M, 0, 0);
	ck_assert_ptr_nonnull(r);
	model_pass_sent(&M, r);
	*rc = model_snapshot(&M, r, sz, n, model_seq(&M), v);
	return r;
}

static const char *last_kind(void)
{
	return M.nviol ? M.viol[M.nviol - 1].kind : "";
}

START_TEST(full_listing_is_fine)
{
	unsigned long long sz[] = {100, 200, 300};
	struct view v;
	int rc;
	struct srec *r = listing(sz, 3, &v, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(M.viol_total, 0);
	ck_assert_uint_eq(v.idx[2], 2);
	model_end(&M, r, 0);
	view_free(&v);
}
END_TEST

START_TEST(missing_message_is_lost)
{
	unsigned long long sz[] = {100, 300};
	struct view v;
	int rc;
	struct srec *r = listing(sz, 2, &v, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(last_kind(), "lost-message");
	model_end(&M, r, 1);
	view_free(&v);
}
END_TEST

START_TEST(unknown_size_is_reported)
{
	unsigned long long sz[] = {100, 200, 301};
	struct view v;
	int rc;
	struct srec *r = listing(sz, 3, &v, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(last_kind(), "unknown-message");
	model_end(&M, r, 1);
	view_free(&v);
}
END_TEST

/* Session A deletes message 2 and QUITs; what B may see depends on when B logged in. */
START_TEST(deletion_after_quit)
{
	unsigned long long all[] = {100, 200, 300}, two[] = {100, 300};
	struct view va, vb, vc;
	int rc;
	struct srec *a = listing(all, 3, &va, &rc);
	va.deleted[1] = 1;
	/* B logs in before A's QUIT reply: present or absent are both allowed */
	struct srec *b = model_begin(&M, 0, 1);
	model_pass_sent(&M, b);
	model_quit_sent(&M, a, &va, model_seq(&M));
	ck_assert_int_eq(model_snapshot(&M, b, all, 3, model_seq(&M), &vb), 0);
	model_quit_result(&M, a, &va, 1, model_seq(&M));
	model_end(&M, a, 0);
	model_end(&M, b, 0);
	ck_assert_uint_eq(M.viol_total, 0);
	/* C logs in after the +OK: the message must be gone */
	struct srec *c = listing(all, 3, &vc, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(last_kind(), "deleted-visible");
	/* ... and its transcript goes with A's */
	ck_assert_uint_eq(M.viol[M.nviol - 1].nsessions, 2);
	model_end(&M, c, 0);
	view_free(&vc);
	(void)two;
	view_free(&va);
	view_free(&vb);
}
END_TEST

/* A QUIT whose reply was lost: either outcome, until a listing settles it. */
START_TEST(lost_quit_reply)
{
	unsigned long long all[] = {100, 200, 300}, two[] = {100, 300};
	struct view va, vb, vc, vd;
	int rc;
	struct srec *a = listing(all, 3, &va, &rc);
	va.deleted[0] = 1;
	model_quit_sent(&M, a, &va, model_seq(&M));
	model_quit_result(&M, a, &va, -1, model_seq(&M));
	model_end(&M, a, 1);
	struct srec *b = listing(all, 3, &vb, &rc);
	ck_assert_int_eq(rc, 0);
	model_end(&M, b, 0);
	unsigned long long no_first[] = {200, 300};
	struct srec *c = listing(no_first, 2, &vc, &rc);
	ck_assert_int_eq(rc, 0);
	model_end(&M, c, 0);
	/* seen gone: it may not come back */
	struct srec *d = listing(all, 3, &vd, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(last_kind(), "deleted-visible");
	model_end(&M, d, 0);
	(void)two;
	view_free(&va);
	view_free(&vb);
	view_free(&vc);
	view_free(&vd);
}
END_TEST

START_TEST(dropped_session_deletes_nothing)
{
	unsigned long long all[] = {100, 200, 300}, two[] = {200, 300};
	struct view va, vb;
	int rc;
	struct srec *a = listing(all, 3, &va, &rc);
	va.deleted[0] = 1; /* marked, then dropped: no QUIT */
	model_end(&M, a, 1);
	struct srec *b = listing(two, 2, &vb, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(last_kind(), "lost-message");
	model_end(&M, b, 0);
	view_free(&va);
	view_free(&vb);
}
END_TEST

START_TEST(in_use_only_while_held)
{
	unsigned long long all[] = {100, 200, 300};
	struct view va;
	int rc;
	struct srec *a = listing(all, 3, &va, &rc);
	struct srec *b = model_begin(&M, 0, 1);
	model_pass_sent(&M, b);
	model_login_refused(&M, b, "-ERR [IN-USE] locked");
	ck_assert_uint_eq(M.viol_total, 0); /* A holds it */
	model_end(&M, b, 0);
	model_end(&M, a, 0); /* grace 0 in this model */
	usleep(5000);
	struct srec *c = model_begin(&M, 0, 2);
	model_pass_sent(&M, c);
	model_login_refused(&M, c, "-ERR [IN-USE] locked");
	ck_assert_str_eq(last_kind(), "in-use");
	model_end(&M, c, 0);
	view_free(&va);
}
END_TEST

START_TEST(uids_persist_and_are_never_reused)
{
	unsigned long long all[] = {100, 200, 300}, two[] = {200, 300};
	struct view va, vb, vc;
	int rc;
	char *u1[] = {"u-a", "u-b", "u-c"};
	struct srec *a = listing(all, 3, &va, &rc);
	ck_assert_int_eq(model_uids(&M, a, &va, u1), 0);
	va.deleted[0] = 1;
	model_quit_sent(&M, a, &va, model_seq(&M));
	model_quit_result(&M, a, &va, 1, model_seq(&M));
	model_end(&M, a, 0);
	/* the reference: same ids for the same messages */
	char *ok[] = {"u-b", "u-c"};
	struct srec *b = listing(two, 2, &vb, &rc);
	ck_assert_int_eq(model_uids(&M, b, &vb, ok), 0);
	model_end(&M, b, 0);
	/* uidl-reused: ids by position */
	char *pos[] = {"u-a", "u-b"};
	struct srec *c = listing(two, 2, &vc, &rc);
	ck_assert_int_eq(model_uids(&M, c, &vc, pos), -1);
	ck_assert(strcmp(last_kind(), "uid-changed") == 0 || strcmp(last_kind(), "uid-reused") == 0);
	model_end(&M, c, 0);
	view_free(&va);
	view_free(&vb);
	view_free(&vc);
}
END_TEST

START_TEST(bad_uids)
{
	unsigned long long all[] = {100, 200, 300};
	struct view va;
	int rc;
	char *dup[] = {"x", "y", "x"};
	struct srec *a = listing(all, 3, &va, &rc);
	ck_assert_int_eq(model_uids(&M, a, &va, dup), -1);
	ck_assert_str_eq(last_kind(), "uid-invalid");
	char *space[] = {"x y", "z", "w"};
	ck_assert_int_eq(model_uids(&M, a, &va, space), -1);
	ck_assert_str_eq(last_kind(), "uid-invalid");
	model_end(&M, a, 0);
	view_free(&va);
}
END_TEST

/* Deliveries: message c (300 octets) is the one delivered during the run; a and b are the fixture. */
START_TEST(delivery_not_begun_is_unknown)
{
	model_set_deliverable(&M, 2);
	unsigned long long all[] = {100, 200, 300};
	struct view v;
	int rc;
	struct srec *r = listing(all, 3, &v, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(last_kind(), "unknown-message");
	model_end(&M, r, 1);
	view_free(&v);
}
END_TEST

START_TEST(delivery_before_login_must_show)
{
	model_set_deliverable(&M, 2);
	ck_assert_int_eq(model_deliver_begin(&M, 0), 2);
	model_deliver_end(&M, 0, 2, 1);
	unsigned long long two[] = {100, 200}, all[] = {100, 200, 300};
	struct view v, w;
	int rc;
	/* Complete before this session sent its credentials: RFC 1939 §4, it is in the maildrop it opens. */
	struct srec *r = listing(two, 2, &v, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(last_kind(), "lost-message");
	model_end(&M, r, 1);
	M.acct[0].draining = 0; /* the violation drained the account; the test goes on with the same state */
	size_t before = M.viol_total;
	struct srec *q = listing(all, 3, &w, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(M.viol_total, before);
	model_end(&M, q, 1);
	view_free(&v);
	view_free(&w);
}
END_TEST

START_TEST(delivery_during_login_may_show_or_not)
{
	model_set_deliverable(&M, 2);
	unsigned long long two[] = {100, 200}, all[] = {100, 200, 300};
	struct view v, w, x;
	/* Credentials sent, then the delivery begins and completes: either listing is allowed. */
	struct srec *r = model_begin(&M, 0, 0), *q = model_begin(&M, 0, 1);
	model_pass_sent(&M, r);
	model_pass_sent(&M, q);
	ck_assert_int_eq(model_deliver_begin(&M, 0), 2);
	/* Under way: a listing may show it already (the file is there) ... */
	ck_assert_int_eq(model_snapshot(&M, r, all, 3, model_seq(&M), &v), 0);
	model_deliver_end(&M, 0, 2, 1);
	/* ... or not: this session opened the maildrop before the delivery was complete. */
	ck_assert_int_eq(model_snapshot(&M, q, two, 2, model_seq(&M), &w), 0);
	ck_assert_uint_eq(M.viol_total, 0);
	model_end(&M, r, 1);
	model_end(&M, q, 1);
	/* No reset while a delivery is under way. */
	M.acct[0].draining = 1;
	ck_assert_int_eq(model_deliver_begin(&M, 0), -1);
	M.acct[0].draining = 0;
	struct srec *s3 = listing(all, 3, &x, &(int){0});
	model_end(&M, s3, 1);
	view_free(&v);
	view_free(&w);
	view_free(&x);
}
END_TEST

START_TEST(no_reset_during_delivery)
{
	model_set_deliverable(&M, 2);
	ck_assert_int_eq(model_deliver_begin(&M, 0), 2);
	M.acct[0].draining = 1;
	ck_assert_int_eq(model_claim_reset(&M, 0), 0);
	model_deliver_end(&M, 0, 2, 1);
	ck_assert_int_eq(model_claim_reset(&M, 0), 1);
	model_reset_done(&M, 0, 1);
	/* After the reset the delivered message is gone again, and may be delivered anew. */
	ck_assert_int_eq(M.acct[0].m[2].st, M_ABSENT);
	ck_assert_int_eq(model_deliver_begin(&M, 0), 2);
	model_deliver_end(&M, 0, 2, 1);
}
END_TEST

Suite *model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, full_listing_is_fine);
	tcase_add_test(tc, missing_message_is_lost);
	tcase_add_test(tc, unknown_size_is_reported);
	tcase_add_test(tc, deletion_after_quit);
	tcase_add_test(tc, lost_quit_reply);
	tcase_add_test(tc, dropped_session_deletes_nothing);
	tcase_add_test(tc, in_use_only_while_held);
	tcase_add_test(tc, uids_persist_and_are_never_reused);
	tcase_add_test(tc, bad_uids);
	tcase_add_test(tc, delivery_not_begun_is_unknown);
	tcase_add_test(tc, delivery_before_login_must_show);
	tcase_add_test(tc, delivery_during_login_may_show_or_not);
	tcase_add_test(tc, no_reset_during_delivery);
	suite_add_tcase(s, tc);
	return s;
}
