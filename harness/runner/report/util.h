/* util.h — small helpers the reporters share: opening an output ("-" is stdout), NULL-safe strdup,
 * deep copies of results, and UTF-8 checks. Internal to runner/report. */
#ifndef POP3SPEC_REPORT_UTIL_H
#define POP3SPEC_REPORT_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include "lib/err.h"
#include "runner/result.h"

/* Open `path` for writing; "-" is stdout. NULL and err filled on failure. */
FILE *report_open(const char *path, struct p3err *err);
/* Flush and close (stdout is only flushed); -1 with err when a write failed. */
int report_close(FILE *f, const char *path, struct p3err *err);

/* strdup that passes NULL through; *ok is cleared when memory runs out (ok may be NULL). */
char *rdup(const char *s, int *ok);

/* Deep copies; -1 when memory runs out (dst is then freed and zeroed). */
int result_copy(struct result *dst, const struct result *src);
int run_info_copy(struct run_info *dst, const struct run_info *src);

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when the byte at p starts none. Overlong forms,
 * surrogates and code points over U+10FFFF are invalid. *cp receives the code point. */
size_t utf8_seq(const unsigned char *p, size_t n, unsigned *cp);

/* A copy of s in which every byte that is not part of valid UTF-8 is written as the four characters
 * \xNN — the transcript's convention — so the text can go into JSON. NULL when memory runs out. */
char *utf8_sanitize(const char *s);

/* Comparison of result ids for qsort/bsearch on struct result. */
int result_cmp_id(const void *a, const void *b);

#endif
