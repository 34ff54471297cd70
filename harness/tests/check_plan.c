/* check_plan.c — unit tests for runner/plan: --filter and --tag (each an OR), the default exclusion of
 * slow and config and what lifts it, ordering by id, shards that partition a selection exactly, and the
 * duration estimates behind the longest-first start order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "runner/load.h"
#include "runner/plan.h"

Suite *plan_suite(void);

static struct scenario *mk(const char *id, const char *tags)
{
	char yaml[512];
	snprintf(yaml, sizeof yaml,
	         "id: %s\ntitle: T\nrefs: [R1939-DELE-4]\nlevel: MUST\ntags: [%s]\n"
	         "steps: [{send: NOOP}]\n",
	         id, tags);
	struct scenario *sc = NULL;
	struct p3err err = {0};
	ck_assert_msg(load_scenario_mem(id, yaml, strlen(yaml), NULL, &sc, &err) == 0, "%s", err.msg);
	return sc;
}

/* A small suite, deliberately not in id order. */
static struct scenario *all[8];
static size_t nall;

static void setup(void)
{
	nall = 0;
	all[nall++] = mk("rfc1939/timer/ten-minutes", "slow, timer");
	all[nall++] = mk("rfc1939/dele/not-listed", "dele");
	all[nall++] = mk("rfc2449/ldelay/enforced", "config");
	all[nall++] = mk("rfc1939/dele/not-retrievable", "dele, retr");
	all[nall++] = mk("rfc2595/stls/once", "tls");
	all[nall++] = mk("rfc1939/timer/config-and-slow", "config, slow");
	all[nall++] = mk("rfc1939/apop/digest", "");
}

static void teardown(void)
{
	for (size_t i = 0; i < nall; i++)
		scenario_free(all[i]);
	nall = 0;
}

/* The ids selected, joined by spaces. */
static const char *sel(const struct plan_opts *o)
{
	static char buf[1024];
	struct scenario **v;
	size_t n;
	struct p3err err = {0};
	ck_assert_msg(plan_select(all, nall, o, &v, &n, &err) == 0, "%s", err.msg);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(buf, i ? " " : "");
		strcat(buf, v[i]->id);
	}
	free(v);
	return buf;
}

START_TEST(default_selection_sorted_without_slow_and_config)
{
	struct plan_opts o = {0};
	ck_assert_str_eq(sel(&o), "rfc1939/apop/digest rfc1939/dele/not-listed rfc1939/dele/not-retrievable "
	                          "rfc2595/stls/once");
	o.all = true;
	ck_assert_str_eq(sel(&o),
	                 "rfc1939/apop/digest rfc1939/dele/not-listed rfc1939/dele/not-retrievable "
	                 "rfc1939/timer/config-and-slow rfc1939/timer/ten-minutes rfc2449/ldelay/enforced "
	                 "rfc2595/stls/once");
}
END_TEST

START_TEST(filters_are_or)
{
	const char *f[] = {"rfc1939/dele/*", "rfc2595/*"};
	struct plan_opts o = {.filters = f, .nfilters = 2};
	ck_assert_str_eq(sel(&o), "rfc1939/dele/not-listed rfc1939/dele/not-retrievable rfc2595/stls/once");
	/* A glob that matches slow scenarios does not bring them in ... */
	const char *g[] = {"rfc1939/timer/*"};
	struct plan_opts o2 = {.filters = g, .nfilters = 1};
	ck_assert_str_eq(sel(&o2), "");
	/* ... naming one exactly does. */
	const char *h[] = {"rfc1939/timer/ten-minutes", "rfc1939/apop/*"};
	struct plan_opts o3 = {.filters = h, .nfilters = 2};
	ck_assert_str_eq(sel(&o3), "rfc1939/apop/digest rfc1939/timer/ten-minutes");
}
END_TEST

START_TEST(tags_are_or_and_and_with_filters)
{
	const char *t[] = {"retr", "tls"};
	struct plan_opts o = {.tags = t, .ntags = 2};
	ck_assert_str_eq(sel(&o), "rfc1939/dele/not-retrievable rfc2595/stls/once");
	const char *f[] = {"rfc1939/*"};
	o.filters = f;
	o.nfilters = 1;
	ck_assert_str_eq(sel(&o), "rfc1939/dele/not-retrievable");
}
END_TEST

START_TEST(naming_slow_or_config_lifts_the_exclusion)
{
	const char *slow[] = {"slow"};
	struct plan_opts o = {.tags = slow, .ntags = 1};
	/* config-and-slow also carries config, which was not asked for. */
	ck_assert_str_eq(sel(&o), "rfc1939/timer/ten-minutes");
	const char *both[] = {"slow", "config"};
	o.tags = both;
	o.ntags = 2;
	ck_assert_str_eq(sel(&o),
	                 "rfc1939/timer/config-and-slow rfc1939/timer/ten-minutes rfc2449/ldelay/enforced");
	const char *timer[] = {"timer"};
	o.tags = timer;
	o.ntags = 1;
	ck_assert_str_eq(sel(&o), "");
	o.all = true;
	ck_assert_str_eq(sel(&o), "rfc1939/timer/ten-minutes");
	ck_assert(plan_excluded_by_default(all[0]));
	ck_assert(!plan_excluded_by_default(all[1]));
}
END_TEST

START_TEST(shards_partition_exactly)
{
	struct plan_opts base = {.all = true};
	struct scenario **whole;
	size_t nwhole;
	struct p3err err = {0};
	ck_assert_int_eq(plan_select(all, nall, &base, &whole, &nwhole, &err), 0);
	for (int n = 1; n <= 9; n++) {
		size_t seen[16] = {0};
		size_t total = 0;
		for (int i = 1; i <= n; i++) {
			struct plan_opts o = base;
			o.shard_index = i;
			o.shard_count = n;
			struct scenario **v;
			size_t k;
			ck_assert_int_eq(plan_select(all, nall, &o, &v, &k, &err), 0);
			for (size_t j = 0; j < k; j++) {
				size_t pos = 0;
				while (pos < nwhole && whole[pos] != v[j])
					pos++;
				ck_assert_uint_lt(pos, nwhole);
				ck_assert_int_eq((int)(pos % (size_t)n), i - 1); /* the documented rule */
				seen[pos]++;
				if (j)
					ck_assert_int_lt(strcmp(v[j - 1]->id, v[j]->id), 0);
			}
			total += k;
			free(v);
		}
		ck_assert_uint_eq(total, nwhole);
		for (size_t p = 0; p < nwhole; p++)
			ck_assert_uint_eq(seen[p], 1);
	}
	free(whole);
	/* Shard 2/3 of the default selection (4 scenarios): position 1 only. */
	struct plan_opts o = {.shard_index = 2, .shard_count = 3};
	ck_assert_str_eq(sel(&o), "rfc1939/dele/not-listed");
	/* Input order does not matter. */
	struct scenario *tmp = all[0];
	all[0] = all[nall - 1];
	all[nall - 1] = tmp;
	ck_assert_str_eq(sel(&o), "rfc1939/dele/not-listed");
}
END_TEST

START_TEST(shard_parsing)
{
	int i = 0, n = 0;
	struct p3err err = {0};
	ck_assert_int_eq(plan_parse_shard("2/4", &i, &n, &err), 0);
	ck_assert_int_eq(i, 2);
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(plan_parse_shard("1/1", &i, &n, &err), 0);
	static const char *const bad[] = {"0/4",  "5/4", "2/",   "/4",   "a/b",
	                                  "2/4x", "1/0", "-1/4", " 1/4", "2"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		ck_assert_msg(plan_parse_shard(bad[k], &i, &n, &err) == -1, "%s accepted", bad[k]);
	ck_assert_str_eq(err.msg, "bad --shard '2'; expected I/N with 1 <= I <= N, such as 2/4");
}
END_TEST

/* --rerun-failed: exactly the ids given, slow or config ones too, and still within the filters. */
START_TEST(only_selects_exact_ids_even_slow)
{
	const char *only[] = {"rfc1939/timer/ten-minutes", "rfc1939/apop/digest", "rfc1939/gone/away"};
	struct plan_opts o = {.only = only, .nonly = 3};
	ck_assert_str_eq(sel(&o), "rfc1939/apop/digest rfc1939/timer/ten-minutes");
	const char *f[] = {"rfc1939/apop/*"};
	o.filters = f;
	o.nfilters = 1;
	ck_assert_str_eq(sel(&o), "rfc1939/apop/digest");
	o.nonly = 0; /* an empty list selects nothing */
	ck_assert_str_eq(sel(&o), "");
}
END_TEST

static struct scenario *mk_steps(const char *id, const char *extra, const char *steps)
{
	char yaml[1024];
	snprintf(yaml, sizeof yaml, "id: %s\ntitle: T\nrefs: [R1939-DELE-4]\nlevel: MUST\n%s\nsteps:\n%s", id,
	         extra, steps);
	struct scenario *sc = NULL;
	struct p3err err = {0};
	ck_assert_msg(load_scenario_mem(id, yaml, strlen(yaml), NULL, &sc, &err) == 0, "%s", err.msg);
	return sc;
}

START_TEST(estimates_count_the_waits)
{
	struct scenario *quick = mk_steps("a/quick", "", "  - send: NOOP\n");
	struct scenario *sleep2 = mk_steps("a/sleep", "", "  - send: NOOP\n  - sleep: 2\n");
	struct scenario *computed = mk_steps("a/computed", "", "  - sleep: ${add(idle_timeout, 5)}\n");
	struct scenario *silent =
	    mk_steps("a/silent", "", "  - send: NOOP\n    expect: {one_of: [ok, err, {silent_for: 3}]}\n");
	struct scenario *big = mk_steps("a/big", "fixture: large", "  - send: NOOP\n");
	struct scenario *slow = mk_steps("a/slow", "tags: [slow]", "  - send: NOOP\n");

	ck_assert(plan_estimate_seconds(quick) < 0.1);
	ck_assert(plan_estimate_seconds(sleep2) >= 2 && plan_estimate_seconds(sleep2) < 2.1);
	ck_assert(plan_estimate_seconds(computed) >= 60);
	ck_assert(plan_estimate_seconds(silent) >= 3 && plan_estimate_seconds(silent) < 3.1);
	ck_assert(plan_estimate_seconds(big) > plan_estimate_seconds(quick));
	ck_assert(plan_estimate_seconds(slow) >= 60);

	/* Longest first; equal estimates keep their given order. */
	struct scenario *v[] = {quick, sleep2, computed, silent, big, slow, quick};
	size_t order[7];
	plan_schedule(v, 7, order);
	ck_assert_uint_eq(order[0], 2); /* computed sleep 65 s > the slow tag's 60 */
	ck_assert_uint_eq(order[1], 5);
	ck_assert_uint_eq(order[2], 3);
	ck_assert_uint_eq(order[3], 1);
	ck_assert_uint_eq(order[4], 4);
	ck_assert_uint_eq(order[5], 0);
	ck_assert_uint_eq(order[6], 6);
	scenario_free(quick);
	scenario_free(sleep2);
	scenario_free(computed);
	scenario_free(silent);
	scenario_free(big);
	scenario_free(slow);
}
END_TEST

Suite *plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("select");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, default_selection_sorted_without_slow_and_config);
	tcase_add_test(tc, filters_are_or);
	tcase_add_test(tc, tags_are_or_and_and_with_filters);
	tcase_add_test(tc, naming_slow_or_config_lifts_the_exclusion);
	tcase_add_test(tc, shards_partition_exactly);
	tcase_add_test(tc, shard_parsing);
	tcase_add_test(tc, only_selects_exact_ids_even_slow);
	tcase_add_test(tc, estimates_count_the_waits);
	suite_add_tcase(s, tc);
	return s;
}
