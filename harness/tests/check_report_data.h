/* check_report_data.h — hand-built runs for the report tests: every verdict, hostile and odd bytes,
 * several RFC groups, multi-session and long transcripts; and a deep comparison of two runs. */
#ifndef CHECK_REPORT_DATA_H
#define CHECK_REPORT_DATA_H

#include <stddef.h>
#include "runner/result.h"

/* Number of results in rd_run(). */
#define RD_NRESULTS 9
/* Transcript length of the long one ("rfc1939/retr/long-transcript"). */
#define RD_LONG_LINES 5000

/* A run against target `name` (NULL: "refd"), results in this order:
 *   0 rfc1939/dele/marked-not-retrievable  fail   (expected/actual/failed_ref, <script> in server text)
 *   1 rfc1939/retr/long-transcript         pass   (RD_LONG_LINES lines)
 *   2 rfc2449/capa/lines-max-512           warn   (SHOULD)
 *   3 rfc2595/stls/once                    skip   (TLS note, two sessions)
 *   4 rfc5034/auth/plain-initial           error  (invalid UTF-8, controls, "]]>", quotes)
 *   5 rfc1939/stat/counts                  pass
 *   6 robustness/long-line                 fail   (failed_ref not among refs, NULL optional fields)
 *   7 lonely                               pass   (no group: "other")
 *   8 rfc6856/utf8/body                    pass   (UTF-8 text: "Grüße ☃")
 */
void rd_run(struct run *run, const char *name);
/* A subset of rd_run's results by index (a shard), with the same run info. */
void rd_run_subset(struct run *run, const char *name, const size_t *idx, size_t n);

/* Deep equality. `timing` 0 ignores duration_ms, t_ms, started and info.duration_ms. A NULL message equals
 * "" (the JSON writes "" for none). On difference returns 0 and describes it in why. */
int rd_equal(const struct run *a, const struct run *b, int timing, char *why, size_t whysize);

/* The whole content of a file (NUL-terminated, caller frees), or NULL. */
char *rd_slurp(const char *path, size_t *len);
/* A fresh temporary file path with the given suffix (caller frees and unlinks). */
char *rd_tmpname(const char *suffix);

#endif
