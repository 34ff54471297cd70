/* html.h — the pieces both HTML reports (one run, and the comparison of several) are made of.
 * Internal to runner/report; every text goes through escape.h. */
#ifndef POP3SPEC_REPORT_HTML_H
#define POP3SPEC_REPORT_HTML_H

#include <stdio.h>
#include "runner/result.h"
#include "runner/requirements.h"

#define HTML_GROUP_MAX 64

extern const char html_css[];
extern const char html_js[];

/* Verdicts in report order: failed first. */
extern const enum verdict html_verdict_order[5];

/* <!DOCTYPE html> … <body>, with the stylesheet inline. */
void html_begin(FILE *f, const char *title);
/* The script and the footer (`note`, if any, is shown in it), then </body></html>. */
void html_end(FILE *f, const char *note);

/* A verdict badge: <span class="badge b-fail">FAIL</span>. */
void html_badge(FILE *f, enum verdict v);
/* The run's facts as a <dl>: target, host, greeting, CAPA, date, duration, runner, suite, options. */
void html_run_meta(FILE *f, const struct run *run);

/* A sorted list of distinct strings (RFC groups, tags), owned by the caller via html_strset_free. */
struct strset {
	char **v;
	size_t n, cap;
};
int strset_add(struct strset *s, const char *x);
void strset_sort(struct strset *s);
void strset_free(struct strset *s);
/* Every RFC group and every tag of the results of `runs`. -1 when memory runs out. */
int html_collect(const struct run *runs, size_t nruns, struct strset *groups, struct strset *tags);

/* The filter bar (shown by the script only). `differs` adds "only where servers differ". */
void html_filters(FILE *f, const struct strset *groups, const struct strset *tags, int differs);

/* One scenario as <details>: id permalink (`anchor_prefix` + id), title, level, verdict, the failure
 * (step, expected and actual with the difference marked), the requirements with their texts, tags and
 * file, and the transcript. `filterable` adds the data-* attributes the filters read. */
void html_scenario(FILE *f, const struct result *r, const struct reqs *req, const char *anchor_prefix,
                   int open, int filterable);

#endif
