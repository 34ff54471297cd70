/* hist.h — latency histograms in the HdrHistogram style: log-bucketed (32 linear sub-buckets per power of
 * two, so every recorded value is known within 1/32 ≈ 3 %), fixed layout, so two histograms merge exactly
 * by adding counts — the property `pop3spec report --merge` relies on for sharded load runs. */
#ifndef POP3SPEC_STRESS_HIST_H
#define POP3SPEC_STRESS_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 5 /* 32 sub-buckets per power of two */
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_MAX_EXP  40 /* values up to 2^40 µs (12 days); larger ones are clamped */
#define HIST_BUCKETS  (HIST_SUB + (HIST_MAX_EXP - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t counts[HIST_BUCKETS];
	uint64_t count;
	uint64_t min, max; /* exact (min is UINT64_MAX while empty) */
	double sum;        /* for the mean */
};

void hist_init(struct hist *h);
/* Record one value (microseconds). */
void hist_record(struct hist *h, uint64_t v);
/* Add every count of src to dst (exact: same layout). */
void hist_merge(struct hist *dst, const struct hist *src);
/* The bucket a value falls in, and the lowest and highest values of bucket i. */
unsigned hist_index(uint64_t v);
uint64_t hist_lowest(unsigned i);
uint64_t hist_highest(unsigned i);
/* The value at quantile q (0..1): the highest value of the bucket holding it, clamped to [min, max];
 * 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
