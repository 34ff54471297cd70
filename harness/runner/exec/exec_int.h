/* exec_int.h — the executor's private header and internal API: one scenario's execution context (its named
 * sessions, client connections from lib/conn.h; the wire transcript every byte goes into; its variables), the
 * outcome of a step, the verdict (exec_verdict.c) and what the probe found (exec_facts.c). Nothing outside
 * the executor includes it.
 *
 * Who calls whom, one way only (docs/architecture.md):
 *   drivers   exec.c (a scenario), exec_probe.c (the probe), exec_account.c (the accounts); exec_pool.c above
 *      ↓      run steps through step_run (step_kinds.h)
 *   table     step_kinds.c: step_run dispatches through the row of the step's kind
 *      ↓
 *   steps     exec_steps.c (wire steps) → exec_auth.c → exec_tls.c → exec_wire.c; exec_assert.c
 *      ↓
 *   base      exec_session.c, expect (reader, judge), checks.c, values.c, exec_verdict.c, exec_facts.c; lib/
 * (conn, tls_inner) Nothing below calls up. */
#ifndef POP3SPEC_EXEC_INT_H
#define POP3SPEC_EXEC_INT_H

#include <stddef.h>
#include <time.h>
#include "lib/conn.h"
#include "lib/limits.h"
#include "runner/exec/exec.h"
#include "runner/fixture.h"
#include "runner/result.h"
#include "runner/scenario.h"
#include "runner/target.h"
#include "runner/values.h"

/* Hostile-server bounds: whatever the server sends, the runner holds at most this much. */
#define XC_MAX_LINE POP3_MAX_DATA_LINE /* one line of a response (64 KiB) */
#define XC_MAX_BODY                                                                                          \
	(64ull * 1024 * 1024)             /* octets of one multi-line body (more when a fixture              \
	                                     message compared with it is bigger) */
#define XC_MAX_CAPTURE      (1024 * 1024) /* octets kept by capture_body */
#define XC_DISCARD_LIMIT    (64 * 1024)   /* octets discarded while waiting for a close */
#define XC_MAX_TRANSCRIPT   20000         /* transcript lines kept per scenario */
#define XC_BODY_LINES_SHOWN 200           /* body lines of one response put in the transcript */
#define XC_MAX_TEXT         1024          /* characters of one transcript line */
#define XC_MAX_SESSIONS     16
/* At the end of a scenario, how long its open sessions in step are watched for octets nobody asked for
 * (beyond those already there): enough for a reply sent twice in a row, little enough not to slow a suite
 * (each scenario pays it once, whatever its sessions). */
#define XC_END_POLL_MS 5
/* A login reply slower than this is noted in the transcript and the result (login_delay_ms). */
#define LOGIN_DELAY_NOTE_MS 1000

/* ---- transcript ------------------------------------------------------------------------------------ */

struct transcript {
	struct tline *v;
	size_t n, cap;
	size_t dropped; /* lines not kept beyond XC_MAX_TRANSCRIPT */
	struct timespec t0;
	int live;       /* also print each line to stderr (-v) */
	const char *id; /* scenario id, prefixing live lines */
};

void xtr_init(struct transcript *tr, int live, const char *id);
void xtr_free(struct transcript *tr);
double xtr_ms(const struct transcript *tr);
/* Record octets as a line of kind 'C' or 'S': escaped (line_escape), `suffix` appended ("" or "\\n"). */
void xtr_line(struct transcript *tr, char kind, const char *session, const char *data, size_t len,
              const char *suffix);
void xtr_note(struct transcript *tr, const char *session, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- sessions -------------------------------------------------------------------------------------- */

struct xsession {
	char *name;
	struct conn *c; /* NULL when not connected (never connected, dropped, or closed) */
	int eof;        /* the server closed the connection */
	int in_auth;    /* an AUTH exchange runs: "+ " lines are allowed (RFC 5034 §4) */
	char *greeting; /* first line of the greeting (greeting_len octets, NUL included), NULL before it */
	size_t greeting_len;
	char *timestamp; /* its APOP timestamp (RFC 1939 §7), NULL when none */
	/* For the end-of-scenario check (exec.c): every response the steps asked for has been read, so any
	 * octet still to come was never asked for; after raw octets the number of replies is the scenario's
	 * business (after_raw), and a sleep, a drop or an unread send leave the session unsettled. */
	int settled;
	int after_raw;
	int greeted_only; /* nothing sent since the greeting (R1939-GEN-2 then) */
	/* The reply awaited answers a login command (PASS, APOP, AUTH or a line of its exchange): it gets the
	 * login deadline, and its delay is reported (servers slow failed logins on purpose). */
	char login_cmd[8]; /* "PASS", "APOP", "AUTH": the last login command sent */
	int login_replies; /* replies still to come up to and including that command's (pipelining) */
	/* How the session ends (xs_end_sessions) and what a drop leaves behind (RFC 1939 §6). */
	int account;   /* 1 or 2: whose name USER, APOP or the login step last gave; 0 none */
	int logged_in; /* a login command got +OK: the server holds the account's maildrop lock */
	int quit_ok;   /* QUIT got +OK: the server releases the lock and closes (awaited before logins) */
	/* The connect step that opened it, for a login retry to reconnect the same way: a scenario's step
	 * (lives as long as the scenario); the probe's are on its stack and never used so (no drops). */
	const struct step *connect_step;
};

/* ---- the outcome of a step ------------------------------------------------------------------------- */

enum outcome_kind {
	OUT_PASS,
	OUT_EXPECT, /* an expectation was not met: its level decides (fail, warn, skip) */
	OUT_CHECK,  /* a check on every response was violated: fail */
	OUT_ERROR,  /* the scenario could not run: connection refused, scenario error, reset failed */
	OUT_SKIP    /* the target cannot do what the step needs */
};

struct outcome {
	enum outcome_kind kind;
	int level;       /* OUT_EXPECT: enum level of the failed expectation */
	int own_level;   /* that level came from the expectation's `level:`, not the scenario's */
	int desync;      /* the session is no longer in step with the server: stop */
	int timed_out;   /* nothing (or not all) came within the time allowed */
	const char *req; /* requirement id of the failed check or expectation, or NULL */
	char expected[1024];
	char actual[1024];
};

void outcome_pass(struct outcome *o);
/* Fill an outcome; returns -1 so a step can `return out_set(...)`. */
int out_set(struct outcome *o, enum outcome_kind kind, const char *req, const char *expected, const char *fmt,
            ...) __attribute__((format(printf, 5, 6)));

/* ---- the context ----------------------------------------------------------------------------------- */

struct xctx {
	const struct scenario *sc;
	const struct target *t;
	const struct exec_opts *o;
	const struct probe *p;
	const struct account *acct;     /* acct[0], acct[1] */
	const struct fixture *fx, *fx2; /* the scenario's fixtures' facts, or NULL */
	struct vars vars;
	struct transcript tr;
	struct xsession sess[XC_MAX_SESSIONS];
	size_t nsess;
	double timeout;       /* seconds a step (a response) may take */
	double login_timeout; /* seconds a reply to a login command may take (never less than timeout) */
	long login_delay_ms;  /* the longest login reply of the scenario, when it took LOGIN_DELAY_NOTE_MS+ */
	char *last_line;      /* first line of the last response read (escaped-free copy) */
	size_t last_len;
	/* Soft failures that let the scenario go on: the first warning, for the verdict. */
	int warned;
	char warn_msg[1024];
	char warn_step[160];
	char warn_expected[1024], warn_actual[1024];
	const char *warn_req;
	char step_desc[160]; /* "step 4 (send: RETR 1)" of the running step */
	/* Per account (1, 2): a logged-in session of it was dropped or abandoned, in this scenario or at the
	 * end of the worker's previous one, so the server may hold its lock until it notices: a login meeting
	 * [IN-USE] is then retried (lock_retry). lock_stuck: such retries ran out once; not again. */
	int dropped[2];
	int lock_stuck[2];
	/* LOGIN-DELAY pacing (pace.h): a scenario about LOGIN-DELAY itself (tag login-delay) sends its own
	 * USER, PASS, APOP and AUTH inside the delay on purpose, so only its login and auth steps are paced.
	 */
	int unpaced_sends;
	int in_login_step; /* a login or auth step is running */
};

/* The session named `name`; with create, made when missing (NULL when XC_MAX_SESSIONS are in use). */
struct xsession *xs_get(struct xctx *x, const char *name, int create);
/* Close a session's connection: how = 0 normal close, 1 RST, noting it in the transcript. */
void xs_close(struct xctx *x, struct xsession *s, int how, const char *why);
void xs_close_all(struct xctx *x);

/* Milliseconds left until deadline (a xtr_ms-independent monotonic clock value, ms); at least 0. */
long long xc_now_ms(void);
int xc_left(long long deadline_ms);

/* End every session of the scenario deterministically: a session whose QUIT got +OK is waited for until
 * the server closes it (bounded by the step timeout); a session in step (settled, no exchange running)
 * is sent QUIT and waited for likewise, unless `abandon` (the scenario lost step with the server); any
 * other is closed, and when it was logged in its account is marked dropped. One note per session. */
void xs_end_sessions(struct xctx *x, int abandon);
/* Before a command: wait (bounded) for the close of every session whose QUIT got +OK but `skip` (NULL
 * before a login: all), so from then on its UPDATE is done and the maildrop lock is free (RFC 1939 §6:
 * the server "removes all messages marked as deleted from the maildrop ... then releases any
 * exclusive-access lock on the maildrop and closes the TCP connection"). A server may reply +OK before it
 * has removed the messages (Courier does): the close is the moment the effect is certain. */
void xs_await_quits(struct xctx *x, const struct xsession *skip);
/* Wait for the server's close of s after its +OK to QUIT, then close s; one note saying how long. At most
 * the step timeout; with `at_end` (nothing depends on the close but the next scenario's lock) only briefly
 * once a server has left a connection open after QUIT in this run. */
void xs_await_close(struct xctx *x, struct xsession *s, const char *why, int at_end);

/* For the first line of the reply now awaited on s: when it may answer a login command (s->login_replies),
 * push *deadline_ms and *timeout out to the login deadline (x->login_timeout from now) if that is later;
 * returns whether it did. */
int xs_login_deadline(const struct xctx *x, const struct xsession *s, long long *deadline_ms,
                      double *timeout);
/* After the first line of a reply (or its timeout) on s, awaited since start_ms (ok: it was +OK): note a
 * slow login reply (transcript and x->login_delay_ms), count the reply off s->login_replies, and mark the
 * session logged in when it was the login's +OK. */
void xs_reply_read(struct xctx *x, struct xsession *s, long long start_ms, int ok);

/* The user name of the account s logs in as (s->account; the first account when unknown), or NULL
 * outside a scenario's or the probe's account context. */
const char *xs_account_user(const struct xctx *x, const struct xsession *s);
/* Before a login on s: wait until the account's LOGIN-DELAY has passed since its last login (runner/pace.h),
 * with a note in the transcript; returns the milliseconds waited (0 when none was due). xs_write calls it
 * for every write holding USER, PASS, APOP or AUTH, and moves its own deadline by the wait. */
long long xs_pace(struct xctx *x, struct xsession *s);
/* Sleep ms milliseconds, in short slices so a stop (runner/stop.h) ends it early: -1 then. */
int xc_sleep_ms(long long ms);

/* Read one line from the session, recording it in the transcript when record is set. */
enum conn_status xs_read_line(struct xctx *x, struct xsession *s, long long deadline_ms, int record,
                              const char **line, struct line *ln, struct p3err *err);
/* Write octets (a command line with its CRLF, or raw bytes), recording them as C: lines. */
enum conn_status xs_write(struct xctx *x, struct xsession *s, const char *data, size_t len,
                          long long deadline_ms, struct p3err *err);

/* Set `greeting` and `timestamp` from the session the step uses, and refresh last.* variables. */
void xc_set_session_vars(struct xctx *x, const struct xsession *s);
/* The APOP timestamp inside a greeting line: the last <...> holding an '@' (RFC 1939 §7), or NULL. */
char *xc_find_timestamp(const char *line, size_t len);

/* Interpolate a scenario string; on error fills `out` as OUT_ERROR (a scenario error) and returns -1. */
int xc_interp(struct xctx *x, const struct sstr *s, char **val, size_t *len, struct outcome *out);
int xc_interp_str(struct xctx *x, const char *s, char **val, struct outcome *out);
int xc_interp_int(struct xctx *x, const struct sstr *s, const char *what, long long *v, struct outcome *out);

/* After an expectation failed inside a step: returns 1 when the outcome ends the scenario (the step
 * must return it), or 0 when it was soft (a warning or an informational MAY) — recorded, `out` reset to
 * pass, and the step goes on. Decided by exec_decide, the one place verdicts come from (exec_verdict.c). */
int xc_soft(struct xctx *x, struct outcome *out);

/* The one verdict function: what an outcome means (an unmet expectation by the level the outcome carries,
 * o->level); *stop says whether the scenario ends there. */
enum verdict exec_decide(const struct outcome *o, int *stop);
/* "step 4 (send: RETR 1): expected ..., got: ... [REQ]": the message of a failed outcome (exec_verdict.c). */
void xc_format_reason(const struct xctx *x, const struct outcome *o, char *buf, size_t n);

/* A result holding only the scenario's id, title, level, file, refs and tags (exec.c). */
void exec_result_meta(const struct scenario *sc, struct result *out);

/* From the probe's findings (exec_facts.c): whether a CAPA line starts with `tag` (case-insensitively,
 * RFC 2449 §5), in the list before TLS (tls 0) or after it (tls 1); and whether a login or auth step on a
 * connection not yet in TLS sends STLS first under the target's login_tls (mech: NULL for USER/PASS and
 * APOP, else the SASL mechanism). p may be NULL (nothing known). */
int exec_probe_has(const struct probe *p, const char *tag, int tls);
/* Whether a line of these CAPA lines is `tag`, alone or with parameters (case-insensitive). */
int capa_lists(char *const *lines, size_t n, const char *tag);
/* Whether a SASL line of these CAPA lines lists the mechanism (names case-insensitive, RFC 5034 §5). */
int capa_lists_sasl(char *const *lines, size_t n, const char *mech);
int exec_login_tls(const struct target *t, const struct probe *p, const char *mech);

#endif
