/* check_hist.c — unit tests for runner/stress/hist: bucket arithmetic, quantiles within the bucket
 * precision, and merging that is exact (the same as recording everything in one histogram). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "runner/stress/hist.h"

Suite *hist_suite(void);

START_TEST(buckets_cover_every_value_once)
{
	/* Every value falls in a bucket whose bounds hold it; bucket bounds are contiguous. */
	for (unsigned i = 0; i + 1 < HIST_BUCKETS; i++) {
		ck_assert_uint_le(hist_lowest(i), hist_highest(i));
		ck_assert_uint_eq(hist_highest(i) + 1, hist_lowest(i + 1));
	}
	uint64_t vals[] = {0, 1, 31, 32, 33, 63, 64, 65, 1000, 123456, 999999999, (1ull << 40) - 1};
	for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
		unsigned i = hist_index(vals[k]);
		ck_assert_uint_le(hist_lowest(i), vals[k]);
		ck_assert_uint_ge(hist_highest(i), vals[k]);
		/* 1/32 relative precision */
		ck_assert_uint_le(hist_highest(i) - hist_lowest(i), vals[k] / 32 + 1);
	}
	ck_assert_uint_eq(hist_index(1ull << 50), HIST_BUCKETS - 1);
}
END_TEST

START_TEST(quantiles)
{
	static struct hist h;
	hist_init(&h);
	ck_assert_uint_eq(hist_quantile(&h, 0.5), 0);
	for (uint64_t v = 1; v <= 1000; v++)
		hist_record(&h, v);
	ck_assert_uint_eq(h.count, 1000);
	ck_assert_uint_eq(h.min, 1);
	ck_assert_uint_eq(h.max, 1000);
	uint64_t p50 = hist_quantile(&h, 0.5), p99 = hist_quantile(&h, 0.99);
	ck_assert_uint_ge(p50, 500);
	ck_assert_uint_le(p50, 500 + 500 / 32 + 1);
	ck_assert_uint_ge(p99, 990);
	ck_assert_uint_le(p99, 1000);
	ck_assert_uint_eq(hist_quantile(&h, 1.0), 1000);
	ck_assert_uint_eq(hist_quantile(&h, 0.0), 1);
}
END_TEST

START_TEST(merge_is_exact)
{
	static struct hist a, b, all;
	hist_init(&a);
	hist_init(&b);
	hist_init(&all);
	srand(7);
	for (int i = 0; i < 5000; i++) {
		uint64_t v = (uint64_t)rand() % 2000000;
		hist_record(i % 3 ? &a : &b, v);
		hist_record(&all, v);
	}
	hist_merge(&a, &b);
	ck_assert_int_eq(memcmp(a.counts, all.counts, sizeof a.counts), 0);
	ck_assert_uint_eq(a.count, all.count);
	ck_assert_uint_eq(a.min, all.min);
	ck_assert_uint_eq(a.max, all.max);
	for (double q = 0; q <= 1.0; q += 0.05)
		ck_assert_uint_eq(hist_quantile(&a, q), hist_quantile(&all, q));
}
END_TEST

Suite *hist_suite(void)
{
	Suite *s = suite_create("hist");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, buckets_cover_every_value_once);
	tcase_add_test(tc, quantiles);
	tcase_add_test(tc, merge_is_exact);
	suite_add_tcase(s, tc);
	return s;
}
