/* plan.c — selecting and ordering the scenarios of a run (filters, tags, default exclusions, shards). */
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
	const struct scenario *x = *(const struct scenario *const *)a, *y = *(const struct scenario *const *)b;
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
