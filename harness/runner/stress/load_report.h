/* load_report.h — what `pop3spec load` says at the end: the console summary, the JSON summary (a contract,
 * docs/stress.md), a small HTML page; and reading summaries back to merge sharded runs exactly. */
#ifndef POP3SPEC_STRESS_LOAD_REPORT_H
#define POP3SPEC_STRESS_LOAD_REPORT_H

#include "runner/stress/loadgen.h"

/* Print the summary and violations, write --json and --html. 0, or -1 when a report could not be written
 * (the error is printed). */
int load_report(struct load *L, double elapsed_s);

#endif
