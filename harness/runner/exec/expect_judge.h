/* expect_judge.h — judging one response against an expectation, with no I/O: the first line (status,
 * response codes, regexes, captures), the un-stuffed body lines one at a time (lines, counts, octets,
 * contains, capture_line, capture_body, equality with a fixture message compared as it streams), and the
 * verdict over one_of's alternatives judged side by side. The reader (expect_read.c) feeds it what it reads
 * from a session; unit tests feed it plain lines. closes and silent_for read from the connection, so the
 * reader judges them and reports them with judge_alt_fail. */
#ifndef POP3SPEC_EXPECT_JUDGE_H
#define POP3SPEC_EXPECT_JUDGE_H

#include <stddef.h>
#include "runner/checks.h"
#include "runner/exec/exec_int.h"
#include "runner/scenario.h"

struct alt; /* one alternative's matchers and the first reason it failed (expect_judge.c) */

/* One response being judged. The context supplies variables (regexes and numbers are interpolated),
 * the fixture (message, top_message), the target's delivery, the scenario's level and the transcript
 * notes; nothing of its sessions is touched. */
struct judge {
	struct xctx *x;
	const struct expect *e;      /* the expectation as given (one_of's parent) */
	const struct expect *alts_e; /* its alternatives: e->one_of, or e itself */
	size_t nalts;
	struct alt *alts;
	size_t ninit;    /* alternatives prepared (freed by judge_free) */
	char desc[1024]; /* what e wants, for messages (regexes interpolated) */
	int body; /* a +OK's multi-line body is to be read: some alternative (or the caller) wants it */
	int accept_close;  /* some alternative is met by the server closing instead ({closes: true} alone) */
	size_t silent_alt; /* the first "no reply within N s" alternative ({silent_for: N} alone), or nalts */
	unsigned long long body_limit; /* octets of body to read at most (more for a big fixture message) */
	const char *first;             /* the first line judged (not owned), for captures */
	size_t first_len;
};

/* Prepare the judging of one response against e (NULL: any valid response; with want_body a +OK's body
 * is read too): compiles every interpolated regex and opens the fixture messages compared. 0, or -1 with
 * a scenario error in out. judge_free is needed either way. */
int judge_init(struct judge *j, struct xctx *x, const struct expect *e, int want_body, struct outcome *out);
void judge_free(struct judge *j);

/* Judge the first line (`len` octets, not NUL-terminated; kept by pointer until the verdict) against every
 * alternative's first-line keys. 0, or -1 with a scenario error in out (a bad regex). */
int judge_first(struct judge *j, const char *line, size_t len, enum status_kind kind, struct outcome *out);
/* One un-stuffed body line (without CRLF) through every alternative's matchers. */
void judge_body_line(struct judge *j, const char *data, size_t len);
/* The body's terminating line came: the checks on the whole body (counts, octets, contains, the rest of a
 * fixture message). */
void judge_body_end(struct judge *j);
/* No body follows the first line (it was not +OK): every alternative wanting a body fails. */
void judge_no_body(struct judge *j);

/* Whether alternative i still holds; make it fail (the first reason given is the one reported). */
int judge_alt_ok(const struct judge *j, size_t i);
void judge_alt_fail(struct judge *j, size_t i, const char *req, const char *expected, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Whether an alternative is "no reply within N s" alone ({silent_for: N} with nothing else). */
int judge_silence_only(const struct expect *e);
/* A TLS session closed with no response and without close_notify: fails out (R8314-TLS-3) unless some
 * alternative accepting the close does not ask for close_notify. */
void judge_close_without_notify(const struct judge *j, struct outcome *out);
#define NO_CLOSE_NOTIFY_EXP "a TLS close_notify before the TCP close"
#define NO_CLOSE_NOTIFY_GOT "the server closed TCP without a TLS close_notify (a truncated TLS stream)"

/* The verdict. win < nalts: that alternative holds; its captures, capture_body, capture_line values and
 * last.octets / last.added_* are set (notes on `session`), out stays a pass unless a capture regex is bad.
 * win == nalts: none holds; out says why (the alternative whose status matched, else the first). */
void judge_verdict(struct judge *j, size_t win, const char *session, struct outcome *out);
/* An OUT_EXPECT outcome gets the expectation's level (or the scenario's) and its ref when it has none. */
void judge_level(const struct judge *j, struct outcome *out);

#endif
