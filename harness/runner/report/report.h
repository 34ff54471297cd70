/* report.h — every reporter: each reads a finished struct run and writes one format. None re-runs anything.
 * JSON can also be read back (merge, compare, baseline). */
#ifndef POP3SPEC_REPORT_H
#define POP3SPEC_REPORT_H

#include <stdio.h>
#include "lib/err.h"
#include "runner/result.h"

/* "-" means stdout for every path below. */

/* The JSON contract: {"target", "summary": {...}, "results": [...]} plus run metadata. */
int report_json_write(const struct run *run, const char *path, struct p3err *err);
/* Read a JSON report back into a run (for --baseline, report --merge/--compare). */
int report_json_read(const char *path, struct run *run, struct p3err *err);

/* JUnit XML: a testsuite per RFC group, a testcase per scenario, transcript in system-out. */
int report_junit_write(const struct run *run, const char *path, struct p3err *err);

/* One self-contained HTML file for one run. `requirements_md` is the REQUIREMENTS.md path used for
 * requirement texts (NULL: ids only). */
int report_html_write(const struct run *run, const char *requirements_md, const char *path,
                      struct p3err *err);
/* One HTML matrix comparing several runs (scenario by server). */
int report_html_compare(const struct run *runs, size_t nruns, const char *requirements_md, const char *path,
                        struct p3err *err);

/* Whether runs form one complete set to merge: none incomplete (stopped early), one suite version, and
 * either none sharded or shards 1..N of one N, each once. -1 with why saying what is wrong (`report
 * --merge` refuses then, unless --allow-partial). */
#define PLAN_SHARD_MAX_MERGE 10000 /* as plan_parse_shard's N */
int report_merge_check(const struct run *runs, size_t nruns, char *why, size_t whysize);
/* Merge shard runs into one (results concatenated and sorted by id; duplicates are an error). The merged
 * run is incomplete when any part was. */
int report_merge(const struct run *runs, size_t nruns, struct run *out, struct p3err *err);

/* Baseline: rewrite `run` so that results equal to the baseline's (same id, same status) count as passed
 * ("as baseline: <status>"), and only differences fail. Returns the number of differences.
 * A difference is any change of status, an improvement too (the baseline must then be renewed), and a
 * non-passing result the baseline does not have; it becomes fail (an error stays error), its message
 * saying what the baseline had. Skips and passes equal to the baseline are left as they are; baseline
 * ids absent from `run` are ignored. Details in docs/reports.md. */
size_t report_apply_baseline(struct run *run, const struct run *baseline);
/* Sort results by id (strcmp order), as merge does, so runs can be compared result by result. */
void report_sort(struct run *run);

/* Console output. */
enum console_verbosity { CONSOLE_QUIET, CONSOLE_NORMAL, CONSOLE_VERBOSE };
struct console {
	FILE *out;      /* stdout (or stderr, console_set_out): result lines and the summary */
	FILE *progress; /* stderr: progress on a terminal */
	int colour;     /* decided once: a terminal and no NO_COLOR */
	enum console_verbosity verbosity;
	size_t total, done;
};
/* The summary lists this many of the slowest scenarios. */
#define CONSOLE_SLOWEST 10
/* Result lines and the summary go to stdout, unless console_set_out sends them elsewhere (stderr, when a
 * report goes to stdout); colour follows the stream chosen. */
void console_init(struct console *c, enum console_verbosity v, size_t total);
void console_set_out(struct console *c, FILE *out);
void console_start(struct console *c, const char *id);          /* progress line */
void console_result(struct console *c, const struct result *r); /* one line per scenario */
void console_summary(struct console *c, const struct run *run); /* counts, every failed id + reason */

#endif
