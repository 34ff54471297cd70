/* result.c — verdict names, run summaries, the RFC group of an id, and freeing results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runner/result.h"

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
