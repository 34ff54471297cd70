/* coverage.h — `pop3spec coverage`: which scenarios cite each requirement of the catalog, and which
 * observable MUST/SHOULD rows nobody covers (minus those docs/coverage.md lists as deliberately uncovered).
 */
#ifndef POP3SPEC_COVERAGE_H
#define POP3SPEC_COVERAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "lib/err.h"
#include "runner/requirements.h"
#include "runner/scenario.h"

/* The deliberately uncovered ids, from docs/coverage.md. The format: every markdown table row whose first
 * cell is a requirement id (backticks allowed: `R1939-TIMER-2`) lists that id; the other cells are free
 * (the reason). Table rows whose first cell is anything else (headers, scenario ids, fault names) are
 * ignored, as is all text outside tables. */
struct cov_listed {
	char *file;
	char **ids;
	int *lines; /* 1-based line of each id */
	size_t n;
};
int coverage_read_listed(const char *path, struct cov_listed *l, struct p3err *err);
void coverage_listed_free(struct cov_listed *l);

struct cov_row {
	const struct requirement *req;
	size_t *scenarios; /* indexes into the scenario array given to coverage_compute */
	size_t n;
	bool gating; /* req_is_gating */
	bool listed; /* in docs/coverage.md */
};

struct coverage {
	struct cov_row *rows; /* one per catalog row, in catalog order */
	size_t nrows;
	size_t rfc_rows, practice_rows;
	size_t covered; /* rows cited by at least one scenario */
	size_t gating, gating_covered, gating_listed, gating_missing;
	size_t listed_unknown; /* ids in docs/coverage.md that the catalog lacks */
};

/* A scenario cites a requirement through `refs`, an expectation's `ref` (one_of alternatives included) or
 * an assert's `ref`. `listed` may be NULL. */
int coverage_compute(const struct reqs *r, struct scenario *const *sc, size_t n,
                     const struct cov_listed *listed, struct coverage *out, struct p3err *err);
void coverage_free(struct coverage *c);

/* The report: a header line, one line per row "ID  LEVEL  SCENARIOS[  NOTE]" (scenario ids joined by ", ",
 * "-" when none; NOTE is "MISSING" for an uncovered gating row, "uncovered by design" for a listed one),
 * then the totals and the missing ids. Unknown ids of docs/coverage.md are reported to `warn`. */
void coverage_print(FILE *out, FILE *warn, const struct coverage *c, struct scenario *const *sc,
                    const struct cov_listed *listed, const struct reqs *r);

#endif
