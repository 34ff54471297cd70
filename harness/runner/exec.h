/* exec.h — running scenarios against a target: the one-time probe (greeting, CAPA before and after TLS),
 * one scenario's sessions and steps, and a pool of workers for -j N, each owning two accounts. */
#ifndef POP3SPEC_EXEC_H
#define POP3SPEC_EXEC_H

#include <stddef.h>
#include "lib/err.h"
#include "runner/result.h"
#include "runner/scenario.h"
#include "runner/target.h"

struct exec_opts {
	double step_timeout;        /* seconds a step may take (--timeout, default 5) */
	int jobs;                   /* -j N; 0: exec_default_jobs() */
	const char *fixtures_dir;   /* where fixture maildrops live (fixtures/) */
	int live_transcript;        /* -v: print transcript lines as they happen (stderr) */
};

/* What the probe could not learn, worst last: each gap implies the ones before it. A missing or garbled
 * answer is not an absent capability (only a well-formed -ERR to CAPA says CAPA is absent). */
enum probe_gap {
	GAP_NONE,
	GAP_TLS,     /* CAPA after TLS (STLS or the TLS port was there, and failed or answered badly) */
	GAP_CAPA,    /* CAPA before TLS: unanswered, malformed, or a body that never ended */
	GAP_GREETING /* the greeting itself was malformed: not even the APOP timestamp is known */
};

/* What the runner learns about the target once, before any scenario. */
struct probe {
	int reachable;              /* a greeting arrived */
	char *greeting;             /* the greeting line: greeting_len octets (a NUL is one of them) */
	size_t greeting_len;
	char *timestamp;            /* APOP timestamp of that greeting, or NULL */
	int capa_ok;                /* CAPA answered +OK */
	char **capa;                /* CAPA lines before TLS */
	size_t ncapa;
	char **capa_tls;            /* CAPA lines after STLS or on the TLS port (NULL if no TLS) */
	size_t ncapa_tls;
	int stls_ok;                /* STLS + handshake worked */
	int tls_port_ok;            /* implicit TLS handshake worked */
	enum probe_gap gap;         /* what it could not learn; GAP_NONE when it learnt all */
	char *gap_why;              /* why, one line ("CAPA: no response within 5.0 s"), or NULL */
};

int exec_probe(const struct target *t, const struct exec_opts *o, struct probe *p, struct p3err *err);
void probe_free(struct probe *p);

/* Why `sc` cannot run against this target, or NULL. *v says what that makes it: VERDICT_SKIP when the
 * target lacks something ("unsupported: SASL SCRAM-SHA-1", "needs reset"), VERDICT_ERROR when a required
 * capability is unknown because the probe could not learn it (p->gap): an unanswered or garbled CAPA
 * must never make scenarios skip as if the capability were absent. */
const char *exec_skip_reason(const struct scenario *sc, const struct target *t, const struct probe *p,
                             enum verdict *v, char *buf, size_t bufsize);

/* Run one scenario with the given two accounts (acct[0], acct[1]); fills `out` completely (verdict,
 * message, transcript). Never aborts: every failure becomes a verdict. */
void exec_scenario(const struct scenario *sc, const struct target *t, const struct account acct[2],
                   const struct probe *p, const struct exec_opts *o, struct result *out);

/* Called as each scenario starts and ends (from worker threads, serialized by the pool). `finished` may
 * rewrite the result (a --baseline turns it into the verdict reported) before anything shows it. */
struct exec_observer {
	void (*started)(void *ctx, const struct scenario *sc);
	void (*finished)(void *ctx, struct result *r);
	void *ctx;
};

/* The -j a run gets when none is given: one worker per two accounts of the target, at most
 * EXEC_DEFAULT_JOBS_MAX (the workers mostly wait on the server, so more than the cores pays; more than
 * this only loads the server under test). */
#define EXEC_DEFAULT_JOBS_MAX 8
size_t exec_default_jobs(const struct target *t);

/* Run every scenario with o->jobs workers (0: exec_default_jobs()); results[i] belongs to scenarios[i].
 * One worker runs them in the given order; several start them longest first (plan_schedule()). */
int exec_run_all(struct scenario *const *scenarios, size_t n, const struct target *t,
                 const struct probe *p, const struct exec_opts *o, const struct exec_observer *obs,
                 struct result *results, struct p3err *err);

#endif
