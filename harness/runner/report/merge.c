/* merge.c — joining shard runs into one run, sorting results, and applying a baseline (an earlier JSON
 * report) so that only differences from it fail. */
#include <stdlib.h>
#include <string.h>
#include "runner/report/report.h"
#include "runner/report/util.h"

static int same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The options string without "--shard I/N" / "--shard=I/N": the merged run is the unsharded run. */
static char *strip_shard(const char *opts)
{
	if (!opts)
		return NULL;
	char *out = malloc(strlen(opts) + 1);
	if (!out)
		return NULL;
	char *o = out;
	const char *p = opts;
	while (*p) {
		const char *start = p;
		while (*p == ' ')
			p++;
		const char *tok = p;
		while (*p && *p != ' ')
			p++;
		size_t n = (size_t)(p - tok);
		if (n == 7 && strncmp(tok, "--shard", 7) == 0) {
			while (*p == ' ')
				p++;
			while (*p && *p != ' ')
				p++; /* its argument */
			continue;
		}
		if (n > 8 && strncmp(tok, "--shard=", 8) == 0)
			continue;
		memcpy(o, start, (size_t)(p - start));
		o += p - start;
	}
	*o = '\0';
	/* Keep the string tidy when the removed option led it. */
	if (out[0] == ' ' && opts[0] != ' ')
		memmove(out, out + 1, strlen(out));
	return out;
}

/* The shard of a run: the "shard" field, else "--shard I/N" in its options (reports written before the
 * field existed). 0 when it was not sharded. */
static int shard_of(const struct run_info *in, int *count)
{
	*count = 0;
	if (in->shard_count) {
		*count = in->shard_count;
		return in->shard_index;
	}
	const char *o = in->options ? strstr(in->options, "--shard") : NULL;
	int i, n;
	if (o && (sscanf(o, "--shard %d/%d", &i, &n) == 2 || sscanf(o, "--shard=%d/%d", &i, &n) == 2) &&
	    n >= 1 && i >= 1 && i <= n) {
		*count = n;
		return i;
	}
	return 0;
}

int report_merge_check(const struct run *runs, size_t nruns, char *why, size_t whysize)
{
	why[0] = '\0';
	for (size_t i = 0; i < nruns; i++)
		if (runs[i].info.incomplete) {
			snprintf(why, whysize, "report %zu of %zu is incomplete (%s; %zu scenarios not run)",
			         i + 1, nruns, runs[i].info.stopped ? runs[i].info.stopped : "stopped",
			         runs[i].info.not_run);
			return -1;
		}
	for (size_t i = 1; i < nruns; i++)
		if (!same(runs[i].info.suite_version, runs[0].info.suite_version)) {
			snprintf(why, whysize, "the reports ran different suites (%s and %s)",
			         runs[0].info.suite_version ? runs[0].info.suite_version : "?",
			         runs[i].info.suite_version ? runs[i].info.suite_version : "?");
			return -1;
		}
	int count0, idx0 = shard_of(&runs[0].info, &count0);
	unsigned char seen[PLAN_SHARD_MAX_MERGE] = {0};
	for (size_t i = 0; i < nruns; i++) {
		int count, idx = shard_of(&runs[i].info, &count);
		if ((idx == 0) != (idx0 == 0) || count != count0) {
			snprintf(why, whysize, "the reports are not shards of one run (%s%d/%d and %s%d/%d)",
			         idx0 ? "shard " : "unsharded ", idx0, count0, idx ? "shard " : "unsharded ",
			         idx, count);
			return -1;
		}
		if (idx == 0)
			continue;
		if (count > PLAN_SHARD_MAX_MERGE) {
			snprintf(why, whysize, "more than %d shards", PLAN_SHARD_MAX_MERGE);
			return -1;
		}
		if (seen[idx - 1]++) {
			snprintf(why, whysize, "shard %d/%d is given twice", idx, count);
			return -1;
		}
	}
	if (idx0 == 0)
		return 0;
	size_t missing = 0;
	int first = 0;
	for (int s = 0; s < count0; s++)
		if (!seen[s] && missing++ == 0)
			first = s + 1;
	if (missing) {
		snprintf(why, whysize, "%zu of the %d shards %s missing (shard %d/%d%s)", missing, count0,
		         missing == 1 ? "is" : "are", first, count0, missing > 1 ? " and more" : "");
		return -1;
	}
	return 0;
}

void report_sort(struct run *run)
{
	if (run->nresults > 1)
		qsort(run->results, run->nresults, sizeof *run->results, result_cmp_id);
}

int report_merge(const struct run *runs, size_t nruns, struct run *out, struct p3err *err)
{
	memset(out, 0, sizeof *out);
	if (nruns == 0)
		return p3err_set(err, "merge: no reports given");
	size_t total = 0;
	for (size_t i = 0; i < nruns; i++) {
		if (!same(runs[i].info.target_name, runs[0].info.target_name))
			return p3err_set(err, "merge: reports are of different targets (\"%s\" and \"%s\")",
			                 runs[0].info.target_name ? runs[0].info.target_name : "",
			                 runs[i].info.target_name ? runs[i].info.target_name : "");
		total += runs[i].nresults;
	}
	if (run_info_copy(&out->info, &runs[0].info) != 0)
		return p3err_set(err, "merge: out of memory");
	free(out->info.options);
	out->info.options = NULL;
	if (runs[0].info.options && !(out->info.options = strip_shard(runs[0].info.options)))
		goto oom;
	for (size_t i = 1; i < nruns; i++) {
		const struct run_info *in = &runs[i].info;
		/* Shards ran side by side: the earliest start and the longest shard. */
		if (in->started && (!out->info.started || strcmp(in->started, out->info.started) < 0)) {
			free(out->info.started);
			if (!(out->info.started = strdup(in->started)))
				goto oom;
		}
		if (in->duration_ms > out->info.duration_ms)
			out->info.duration_ms = in->duration_ms;
		out->info.strict |= in->strict;
		out->info.incomplete |= in->incomplete;
		out->info.not_run += in->not_run;
		out->info.redacted &= in->redacted; /* redacted only when every part was */
		if (!out->info.stopped && in->stopped && !(out->info.stopped = strdup(in->stopped)))
			goto oom;
	}
	out->info.shard_index = out->info.shard_count = 0;
	if (total) {
		if (!(out->results = calloc(total, sizeof *out->results)))
			goto oom;
		for (size_t i = 0; i < nruns; i++)
			for (size_t k = 0; k < runs[i].nresults; k++) {
				if (result_copy(&out->results[out->nresults], &runs[i].results[k]) != 0)
					goto oom;
				out->nresults++;
			}
	}
	report_sort(out);
	for (size_t i = 1; i < out->nresults; i++)
		if (same(out->results[i].id, out->results[i - 1].id)) {
			p3err_set(err, "merge: scenario \"%s\" appears in more than one report",
			          out->results[i].id ? out->results[i].id : "");
			run_free(out);
			return -1;
		}
	return 0;
oom:
	run_free(out);
	return p3err_set(err, "merge: out of memory");
}

/* Replace r->message by "<prefix>; <old message>". */
static void prefix_message(struct result *r, const char *prefix)
{
	const char *old = r->message && *r->message ? r->message : NULL;
	size_t n = strlen(prefix) + (old ? strlen(old) + 2 : 0) + 1;
	char *m = malloc(n);
	if (!m)
		return; /* keep the old message: the verdict is what matters */
	snprintf(m, n, old ? "%s; %s" : "%s", prefix, old);
	free(r->message);
	r->message = m;
}

size_t report_apply_baseline(struct run *run, const struct run *baseline)
{
	size_t diffs = 0;
	/* A sorted index of the baseline, so a large suite costs n log n. */
	const struct result **idx = baseline->nresults ? malloc(baseline->nresults * sizeof *idx) : NULL;
	size_t nidx = 0;
	if (idx) {
		for (size_t i = 0; i < baseline->nresults; i++)
			idx[nidx++] = &baseline->results[i];
		for (size_t i = 1; i < nidx; i++) /* insertion sort by id: baselines are few hundred */
			for (size_t j = i; j > 0 && result_cmp_id(idx[j - 1], idx[j]) > 0; j--) {
				const struct result *t = idx[j];
				idx[j] = idx[j - 1];
				idx[j - 1] = t;
			}
	}
	for (size_t i = 0; i < run->nresults; i++) {
		struct result *r = &run->results[i];
		const struct result *b = NULL;
		size_t lo = 0, hi = nidx;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = result_cmp_id(idx[mid], r);
			if (c == 0) {
				b = idx[mid];
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		char note[160];
		if (!b) {
			/* A scenario the baseline never ran: judged on its own. */
			if (r->status == VERDICT_PASS || r->status == VERDICT_SKIP)
				continue;
			snprintf(note, sizeof note, "not in baseline (now %s)", verdict_name(r->status));
			prefix_message(r, note);
			if (r->status == VERDICT_WARN)
				r->status = VERDICT_FAIL;
			diffs++;
		} else if (b->status == r->status) {
			if (r->status == VERDICT_PASS || r->status == VERDICT_SKIP)
				continue;
			snprintf(note, sizeof note, "as baseline: %s", verdict_name(r->status));
			prefix_message(r, note);
			r->status = VERDICT_PASS;
		} else {
			/* Any change fails, an improvement too: the baseline must then be renewed, so it
			 * never silently hides a later regression of the same scenario. */
			snprintf(note, sizeof note, "differs from baseline: was %s, now %s",
			         verdict_name(b->status), verdict_name(r->status));
			prefix_message(r, note);
			if (r->status != VERDICT_ERROR)
				r->status = VERDICT_FAIL;
			diffs++;
		}
	}
	free(idx);
	return diffs;
}
