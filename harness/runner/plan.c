/* plan.c — selecting and ordering the scenarios of a run (filters, tags, default exclusions, shards), and
 * the longest-first start order of the workers. */
#include "runner/plan.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static const char *const excluded[] = PLAN_DEFAULT_EXCLUDED;
#define NEXCLUDED (sizeof excluded / sizeof excluded[0])

int plan_parse_shard(const char *s, int *index, int *count, struct p3err *err)
{
	long v[2];
	const char *p = s;
	for (int k = 0; k < 2; k++) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		char *end;
		v[k] = strtol(p, &end, 10);
		if (v[k] < 1 || v[k] > 10000)
			goto bad;
		p = end;
		if (k == 0 && *p++ != '/')
			goto bad;
	}
	if (*p || v[0] > v[1])
		goto bad;
	*index = (int)v[0];
	*count = (int)v[1];
	return 0;
bad:
	return p3err_set(err, "bad --shard '%s'; expected I/N with 1 <= I <= N, such as 2/4", s);
}

bool plan_excluded_by_default(const struct scenario *sc)
{
	for (size_t i = 0; i < NEXCLUDED; i++)
		if (scenario_has_tag(sc, excluded[i]))
			return true;
	return false;
}

static bool has_wildcard(const char *glob)
{
	return strpbrk(glob, "*?[") != NULL;
}

static bool tag_named(const struct plan_opts *o, const char *tag)
{
	for (size_t i = 0; i < o->ntags; i++)
		if (strcmp(o->tags[i], tag) == 0)
			return true;
	return false;
}

static bool selected(const struct scenario *sc, const struct plan_opts *o)
{
	bool named_exactly = false;
	if (o->only) {
		/* --rerun-failed: those ids and no other; each ran before, so slow/config do not hide it. */
		for (size_t i = 0; i < o->nonly && !named_exactly; i++)
			named_exactly = strcmp(o->only[i], sc->id) == 0;
		if (!named_exactly)
			return false;
	}
	if (o->nfilters) {
		bool any = false;
		for (size_t i = 0; i < o->nfilters; i++) {
			if (fnmatch(o->filters[i], sc->id, 0) == 0) {
				any = true;
				if (!has_wildcard(o->filters[i]))
					named_exactly = true;
			}
		}
		if (!any)
			return false;
	}
	if (o->ntags) {
		bool any = false;
		for (size_t i = 0; i < o->ntags && !any; i++)
			any = scenario_has_tag(sc, o->tags[i]);
		if (!any)
			return false;
	}
	if (o->all || named_exactly)
		return true;
	for (size_t i = 0; i < NEXCLUDED; i++)
		if (scenario_has_tag(sc, excluded[i]) && !tag_named(o, excluded[i]))
			return false;
	return true;
}

static int by_id(const void *a, const void *b)
{
	const struct scenario *x = *(const struct scenario *const *)a,
	                      *y = *(const struct scenario *const *)b;
	return strcmp(x->id, y->id);
}

int plan_select(struct scenario *const *all, size_t n, const struct plan_opts *o, struct scenario ***out,
                size_t *nout, struct p3err *err)
{
	*out = NULL;
	*nout = 0;
	if (o->shard_index && (o->shard_index < 1 || o->shard_count < o->shard_index))
		return p3err_set(err, "bad shard %d/%d", o->shard_index, o->shard_count);
	struct scenario **v = malloc((n ? n : 1) * sizeof *v);
	if (!v)
		return p3err_set(err, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (selected(all[i], o))
			v[k++] = all[i];
	if (k > 1)
		qsort(v, k, sizeof *v, by_id);
	if (o->shard_index) {
		size_t m = 0;
		for (size_t i = 0; i < k; i++)
			if (i % (size_t)o->shard_count == (size_t)(o->shard_index - 1))
				v[m++] = v[i];
		k = m;
	}
	*out = v;
	*nout = k;
	return 0;
}

/* Seconds a literal number says, or `otherwise` when the text is computed (${...}) or not a number. */
static double literal_seconds(const struct sstr *t, double otherwise)
{
	char *end;
	double v;

	if (t->s == NULL || t->len == 0)
		return 0;
	v = strtod(t->s, &end);
	return end != t->s && *end == '\0' && v >= 0 ? v : otherwise;
}

/* The window an expectation waits out: its silent_for, or the longest of its alternatives. */
static double expect_wait(const struct expect *e)
{
	double w = e->silent_for;

	for (size_t i = 0; i < e->n_one_of; i++) {
		double a = expect_wait(&e->one_of[i]);
		if (a > w)
			w = a;
	}
	return w;
}

/* A computed sleep: the autologout scenarios sleep about the idle timeout (minutes). */
#define PLAN_COMPUTED_SLEEP 60.0
/* What a step costs when it waits for nothing: a round trip and a little work. */
#define PLAN_STEP_SECONDS 0.002

double plan_estimate_seconds(const struct scenario *sc)
{
	double t = 0;

	for (size_t i = 0; i < sc->nsteps; i++) {
		const struct step *st = &sc->steps[i];
		t += PLAN_STEP_SECONDS;
		for (size_t k = 0; k < st->n_expect; k++)
			t += expect_wait(&st->expect[k]);
		if (st->kind == STEP_SLEEP)
			t += literal_seconds(&st->u.sleep, PLAN_COMPUTED_SLEEP);
		else if (st->kind == STEP_STARTTLS)
			t += st->u.starttls.quiet;
	}
	/* Copying and checking a big fixture at reset ("large": tens of MB, "thousand": 1,000 files). */
	for (int k = 0; k < 2; k++) {
		const char *f = k ? sc->fixture2 : sc->fixture;
		if (f && (strcmp(f, "large") == 0 || strcmp(f, "thousand") == 0))
			t += 0.3;
	}
	if (scenario_has_tag(sc, "slow"))
		t += PLAN_COMPUTED_SLEEP;
	return t;
}

struct sched {
	double est;
	size_t i;
};

static int by_estimate(const void *a, const void *b)
{
	const struct sched *x = a, *y = b;

	if (x->est != y->est)
		return x->est > y->est ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

void plan_schedule(struct scenario *const *scenarios, size_t n, size_t *order)
{
	struct sched *v = n ? malloc(n * sizeof *v) : NULL;

	if (v == NULL) {
		for (size_t i = 0; i < n; i++)
			order[i] = i; /* out of memory: the given order still runs everything */
		return;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].est = plan_estimate_seconds(scenarios[i]);
		v[i].i = i;
	}
	qsort(v, n, sizeof *v, by_estimate);
	for (size_t i = 0; i < n; i++)
		order[i] = v[i].i;
	free(v);
}
