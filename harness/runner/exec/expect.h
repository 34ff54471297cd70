/* expect.h — what the executor's steps call to read one server response and judge it against a scenario's
 * expectation (docs/scenario-language.md, "Expectations"): status, response codes, regexes, multi-line
 * bodies read line by line (un-stuffed, never held whole), counts, equality with a fixture message compared
 * as it streams, captures, closes, silence, one_of. The checks on every response (checks.h) run on every
 * line. expect_read.c reads (and implements expect_response, expect_read_first); expect_judge.c judges,
 * with no I/O (expect_judge.h; and expect_judge_last). */
#ifndef POP3SPEC_EXPECT_H
#define POP3SPEC_EXPECT_H

#include <stddef.h>
#include "runner/checks.h"
#include "runner/scenario.h"
#include "runner/exec/exec_int.h"

/* Flags for expect_response. */
#define EXP_QUIET_BODY 1 /* keep body lines out of the transcript (the find step reads many) */

/* Called with every un-stuffed body line of a +OK multi-line response, for callers that look inside. */
typedef void (*body_line_fn)(void *ctx, const char *data, size_t len);

/* Read one response on `s` and judge it against `e` (NULL: any valid response, single-line unless
 * `cb` is given, in which case a +OK reply's body is read). On return `out` says pass or why not;
 * x->last_line and the variables last.status / last.line hold the first line, captures are set. */
void expect_response(struct xctx *x, struct xsession *s, const struct expect *e, int flags, body_line_fn cb,
                     void *cbctx, struct outcome *out);

/* Judge the first line read last (x->last_line) against the first-line keys of `e` (status, code,
 * match, capture), without reading anything: for a login's USER refused, an AUTH exchange's end. */
void expect_judge_last(struct xctx *x, const struct expect *e, struct outcome *out);

/* Read one first line (status line or "+ " continuation) with the checks on every response and nothing
 * else; *kind tells which. For SASL exchanges, which answer continuations themselves. */
void expect_read_first(struct xctx *x, struct xsession *s, double timeout, enum status_kind *kind,
                       struct outcome *out);

#endif
