/* result.c — verdict names, a result's identity from its scenario, run summaries, the RFC group of an id,
 * and freeing results. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runner/result.h"
#include "runner/scenario.h"

static const char *const verdict_names[] = {
    [VERDICT_PASS] = "pass", [VERDICT_FAIL] = "fail",   [VERDICT_WARN] = "warn",
    [VERDICT_SKIP] = "skip", [VERDICT_ERROR] = "error",
};

const char *verdict_name(enum verdict v)
{
	if ((unsigned)v < sizeof verdict_names / sizeof verdict_names[0])
		return verdict_names[v];
	return "error";
}

int verdict_from_name(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof verdict_names / sizeof verdict_names[0]; i++)
		if (strcmp(name, verdict_names[i]) == 0)
			return (int)i;
	return -1;
}

/* The reason of a failed or errored result, for grouping: what came, else the message without its step. */
static const char *reason_of(const struct result *r)
{
	if (r->actual && *r->actual)
		return r->actual;
	const char *m = r->message ? r->message : "";
	const char *colon = strncmp(m, "step ", 5) == 0 ? strstr(m, "): ") : NULL;
	return colon ? colon + 3 : m;
}

/* Equal but for the digits in them (each run of digits is one wildcard). */
static int same_reason(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			while (*a >= '0' && *a <= '9')
				a++;
			while (*b >= '0' && *b <= '9')
				b++;
			continue;
		}
		if (*a++ != *b++)
			return 0;
	}
	return *a == *b;
}

static int counts_as_failure(const struct result *r)
{
	return r->status == VERDICT_FAIL || r->status == VERDICT_ERROR;
}

void run_shared_reason(const struct run *run, struct shared_reason *sr)
{
	memset(sr, 0, sizeof *sr);
	for (size_t i = 0; i < run->nresults; i++)
		sr->of += (size_t)counts_as_failure(&run->results[i]);
	if (sr->of < RUN_SHARED_MIN)
		return;
	/* Quadratic in the failures at worst; a group holding half of them starts in the first half. */
	size_t seen = 0;
	for (size_t i = 0; i < run->nresults; i++) {
		if (!counts_as_failure(&run->results[i]))
			continue;
		if (2 * (sr->of - seen++) < sr->of)
			break;
		const char *ri = reason_of(&run->results[i]);
		size_t n = 0;
		for (size_t j = i; j < run->nresults; j++)
			n += counts_as_failure(&run->results[j]) &&
			     same_reason(ri, reason_of(&run->results[j]));
		if (n >= RUN_SHARED_MIN && 2 * n >= sr->of) {
			sr->example = ri;
			sr->count = n;
			return;
		}
	}
}

void run_summarize(const struct run *run, struct run_summary *sum)
{
	memset(sum, 0, sizeof *sum);
	for (size_t i = 0; i < run->nresults; i++) {
		switch (run->results[i].status) {
		case VERDICT_PASS:
			sum->passed++;
			break;
		case VERDICT_FAIL:
			sum->failed++;
			break;
		case VERDICT_WARN:
			sum->warnings++;
			break;
		case VERDICT_SKIP:
			sum->skipped++;
			break;
		case VERDICT_ERROR:
		default:
			sum->errors++;
			break;
		}
	}
}

const char *result_group(const char *id, char *buf, size_t bufsize)
{
	if (!buf || bufsize == 0)
		return "other";
	const char *slash = id ? strchr(id, '/') : NULL;
	/* An id with no '/' or an empty first part has no group of its own. */
	if (!slash || slash == id) {
		snprintf(buf, bufsize, "other");
		return buf;
	}
	size_t n = (size_t)(slash - id);
	if (n >= bufsize)
		n = bufsize - 1;
	memcpy(buf, id, n);
	buf[n] = '\0';
	return buf;
}

static char **dupv(char *const *v, size_t n)
{
	if (n == 0)
		return NULL;
	char **r = calloc(n, sizeof *r);
	for (size_t i = 0; r && i < n; i++)
		if (!(r[i] = strdup(v[i]))) {
			while (i > 0)
				free(r[--i]);
			free(r);
			return NULL;
		}
	return r;
}

int result_identity(struct result *r, const struct scenario *sc)
{
	r->id = sc->id ? strdup(sc->id) : NULL;
	r->title = sc->title ? strdup(sc->title) : NULL;
	r->level = strdup(level_name(sc->level));
	r->file = sc->file ? strdup(sc->file) : NULL;
	r->refs = dupv(sc->refs, sc->nrefs);
	r->nrefs = r->refs ? sc->nrefs : 0;
	r->tags = dupv(sc->tags, sc->ntags);
	r->ntags = r->tags ? sc->ntags : 0;
	bool ok = (r->id || !sc->id) && (r->title || !sc->title) && r->level && (r->file || !sc->file) &&
	          r->nrefs == sc->nrefs && r->ntags == sc->ntags;
	return ok ? 0 : -1;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void result_free(struct result *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->title);
	free(r->level);
	free(r->file);
	free_strv(r->refs, r->nrefs);
	free_strv(r->tags, r->ntags);
	free(r->message);
	free(r->failed_step);
	free(r->expected);
	free(r->actual);
	free(r->failed_ref);
	for (size_t i = 0; i < r->ntranscript; i++) {
		free(r->transcript[i].session);
		free(r->transcript[i].text);
	}
	free(r->transcript);
	memset(r, 0, sizeof *r);
}

void run_free(struct run *run)
{
	if (!run)
		return;
	struct run_info *in = &run->info;
	free(in->target_name);
	free(in->target_host);
	free(in->greeting);
	free(in->login_method);
	free(in->mode);
	free_strv(in->capa, in->ncapa);
	free(in->runner_version);
	free(in->suite_version);
	free(in->options);
	free(in->started);
	free(in->stopped);
	for (size_t i = 0; i < run->nresults; i++)
		result_free(&run->results[i]);
	free(run->results);
	memset(run, 0, sizeof *run);
}
