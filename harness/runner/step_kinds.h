/* step_kinds.h — the table of step kinds, the runner's counterpart of the server's commands[]: for each
 * action key of docs/scenario-language.md, how the loader parses it, how the executor runs it, how a message
 * names it, and what it leaves its session in. Adding a step kind is a value of enum step_kind (scenario.h),
 * a row of step_kinds[] (step_kinds.c) and the functions the row names; nothing else branches on the kind. */
#ifndef POP3SPEC_STEP_KINDS_H
#define POP3SPEC_STEP_KINDS_H

#include <stdbool.h>
#include <stddef.h>
#include "runner/scenario.h"

struct lctx;
struct lsrc;
struct yaml_node_s;
struct xctx;
struct outcome;

/* What a step that ran leaves its session in, for the end-of-scenario check (exec.c): whether every reply
 * asked for has been read (settled), so any octet still to come was never asked for. */
enum step_leaves {
	LEAVES_AS_IS,        /* touches no session (assert) */
	LEAVES_GREETED,      /* settled once the greeting is read; nothing sent yet (R1939-GEN-2) */
	LEAVES_SENT,         /* settled when an expectation read the reply */
	LEAVES_RAW,          /* unsettled: how many replies raw octets bring is the scenario's business */
	LEAVES_READ,         /* settled, unless raw octets went before */
	LEAVES_SETTLED,      /* every reply of the exchange was read */
	LEAVES_UNSETTLED,    /* closed or closing */
	LEAVES_ALL_UNSETTLED /* the server's timers may speak on any session (sleep) */
};

typedef int (*step_parse_fn)(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v,
                             struct step *st);
typedef void (*step_run_fn)(struct xctx *x, const struct step *st, struct outcome *out);
typedef void (*step_describe_fn)(const struct xctx *x, const struct step *st, char *arg, size_t n);

struct step_type {
	const char *name; /* the action key */
	/* Loader (load_steps.c): the action's value v into st->u (and st->session from a `session` key inside
	 * it); 0, or -1 with "file:line:column: message" in c's error. */
	step_parse_fn parse;
	/* Executor: do the step; out is pass on entry and says how it went. */
	step_run_fn run;
	/* The argument of "step 4 (send: RETR 1)", at most n - 1 characters; NULL: none. */
	step_describe_fn describe;
	/* Free what parse allocated in st->u; NULL: nothing. */
	void (*release)(struct step *st);
	bool reads;      /* it reads a response, so `expect:` goes with it */
	bool handshakes; /* `expect: {handshake: ...}` goes with it (a TLS handshake runs) */
	bool pipelines;  /* `expect:` may be a list, one per pipelined response */
	bool logs_in;    /* a login: LOGIN-DELAY pacing applies to its commands (pace.h) */
	enum step_leaves leaves;
};

/* Run one step through its row: the drivers (exec.c, exec_probe.c, exec_account.c) call
 * this, and the steps never call a driver. */
void step_run(struct xctx *x, const struct step *st, struct outcome *out);

/* Indexed by enum step_kind; STEP_KINDS rows. */
extern const struct step_type step_kinds[];

static inline const struct step_type *step_type(enum step_kind k)
{
	return &step_kinds[k];
}

/* Parsers (load_steps.c). */
int step_parse_connect(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v, struct step *st);
int step_parse_send(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v, struct step *st);
int step_parse_raw(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v, struct step *st);
int step_parse_read(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v, struct step *st);
int step_parse_login(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v, struct step *st);
int step_parse_auth(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v, struct step *st);
int step_parse_starttls(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v, struct step *st);
int step_parse_expect_close(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v,
                            struct step *st);
int step_parse_drop(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v, struct step *st);
int step_parse_sleep(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v, struct step *st);
int step_parse_find(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v, struct step *st);
int step_parse_assert(struct lctx *c, const struct lsrc *s, const struct yaml_node_s *v, struct step *st);

/* Runners: the wire steps (exec_steps.c), connect and starttls (exec_tls.c), auth (exec_auth.c), assert
 * (exec_assert.c). */
void step_run_connect(struct xctx *x, const struct step *st, struct outcome *out);
void step_run_send(struct xctx *x, const struct step *st, struct outcome *out);
void step_run_read(struct xctx *x, const struct step *st, struct outcome *out);
void step_run_login(struct xctx *x, const struct step *st, struct outcome *out);
void step_run_auth(struct xctx *x, const struct step *st, struct outcome *out);
void step_run_starttls(struct xctx *x, const struct step *st, struct outcome *out);
void step_run_expect_close(struct xctx *x, const struct step *st, struct outcome *out);
void step_run_drop(struct xctx *x, const struct step *st, struct outcome *out);
void step_run_sleep(struct xctx *x, const struct step *st, struct outcome *out);
void step_run_find(struct xctx *x, const struct step *st, struct outcome *out);
void step_run_assert(struct xctx *x, const struct step *st, struct outcome *out);

#endif
