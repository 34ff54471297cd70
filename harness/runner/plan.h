/* plan.h — which scenarios a run runs, in which order: --filter, --tag, the default exclusion of `slow` and
 * `config`, --all, and --shard I/N for splitting a suite across CI jobs. */
#ifndef POP3SPEC_PLAN_H
#define POP3SPEC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/err.h"
#include "runner/scenario.h"

/* Tags left out unless asked for (docs/scenario-language.md, Metadata). */
#define PLAN_DEFAULT_EXCLUDED                                                                                \
	{                                                                                                    \
		"slow", "config"                                                                             \
	}

struct plan_opts {
	const char *const *filters; /* fnmatch(3) globs on the id; several: any may match */
	size_t nfilters;
	const char *const *tags; /* several: any may be carried */
	size_t ntags;
	bool all;                /* also the scenarios tagged slow or config */
	int shard_index;         /* 1-based I of --shard I/N; 0: no sharding */
	int shard_count;         /* N */
	const char *const *only; /* when not NULL: only these exact ids (--rerun-failed), tagged slow or
	                          * config or not; the filters, tags and shard still apply */
	size_t nonly;
};

/* Parse "I/N" (1 <= I <= N <= 10000). */
int plan_parse_shard(const char *s, int *index, int *count, struct p3err *err);

/* Select from `all` (any order) into a new array of borrowed pointers, sorted by id:
 *   0. with o->only, a scenario whose id is not one of them is left out;
 *   1. a scenario passes the filters when there are none or one matches its id, and passes the tags when
 *      there are none or it carries one of them;
 *   2. one tagged slow or config is kept only with --all, or when every such tag it carries is named by a
 *      --tag, or when a --filter without wildcards (* ? [) is exactly its id, or o->only names it;
 *   3. with --shard I/N, of the result (sorted by id, counted from 0) only position p with p % N == I-1.
 * So the N shards of one selection partition it exactly, and every shard is a function of the selection
 * alone. *out is malloc'd (free it; the scenarios are not copied); *nout may be 0. */
int plan_select(struct scenario *const *all, size_t n, const struct plan_opts *o, struct scenario ***out,
                size_t *nout, struct p3err *err);

/* Whether a scenario is left out by default (carries slow or config). */
bool plan_excluded_by_default(const struct scenario *sc);

/* A static estimate, in seconds, of how long a scenario takes against a fast server: its literal sleeps,
 * the `silent_for` and STLS `quiet` windows it waits out (the longest alternative of a one_of), a sleep
 * whose length is computed (the autologout scenarios) counted as long, a big fixture, the `slow` tag.
 * Only an order for scheduling is made of it, never a verdict. */
double plan_estimate_seconds(const struct scenario *sc);

/* The order to start scenarios in with several workers: longest estimate first (ties in the given order),
 * so the run does not end waiting for one long scenario started last. order[] gets n indices into
 * scenarios[]; results stay where they are. */
void plan_schedule(struct scenario *const *scenarios, size_t n, size_t *order);

#endif
