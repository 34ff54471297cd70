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
	}
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
