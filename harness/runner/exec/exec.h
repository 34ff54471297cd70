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
	double step_timeout;      /* seconds a step may take (--timeout, default 5) */
	double login_timeout;     /* seconds a login reply may take (--login-timeout); 0: the target's */
	int jobs;                 /* -j N; 0: exec_default_jobs() */
	const char *fixtures_dir; /* where fixture maildrops live (fixtures/) */
	int live_transcript;      /* -v: print transcript lines as they happen (stderr) */
};

/* Seconds a reply to PASS, APOP or AUTH may take: --login-timeout, else the target's login_timeout, and
 * never less than `step` (the timeout of other replies) (exec_facts.c). */
double exec_login_timeout(const struct target *t, const struct exec_opts *o, double step);

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
	int reachable;  /* a greeting arrived */
	char *greeting; /* the greeting line: greeting_len octets (a NUL is one of them) */
	size_t greeting_len;
	char *timestamp; /* APOP timestamp of that greeting, or NULL */
	int capa_ok;     /* CAPA answered +OK */
	char **capa;     /* CAPA lines before TLS */
	size_t ncapa;
	char **capa_tls; /* CAPA lines after STLS or on the TLS port (NULL if no TLS) */
	size_t ncapa_tls;
	int stls_ok;          /* STLS + handshake worked */
	int tls_port_ok;      /* implicit TLS handshake worked */
	long login_delay;     /* LOGIN-DELAY seconds CAPA announced before login (the larger of before and
	                       * after TLS; RFC 2449 §6.5: the largest for any user); -1 none */
	int login_delay_user; /* it was followed by USER: CAPA after login says more */
	enum probe_gap gap;   /* what it could not learn; GAP_NONE when it learnt all */
	char *gap_why;        /* why, one line ("CAPA: no response within 5.0 s"), or NULL */
	/* What logging in taught (exec_probe_accounts): */
	int user_refused; /* USER got -ERR where login_tls sends it: USER/PASS not offered */
	char *login_mech; /* the SASL mechanism logins use when neither USER nor APOP is there */
	char **learned;   /* without CAPA: optional commands that worked when tried (USER, TOP, UIDL) */
	size_t nlearned;
};

int exec_probe(const struct target *t, const struct exec_opts *o, struct probe *p, struct p3err *err);
void probe_free(struct probe *p);

/* After exec_probe (exec_account.c): log in once with every account of the profile, the way the target
 * offers and the profile says (login_tls), and QUIT. The first account tries USER: a -ERR (where CAPA
 * after TLS does not list USER) sets p->user_refused and the login way becomes APOP, else a SASL mechanism
 * the runner speaks (p->login_mech). Without CAPA it also learns USER, TOP and UIDL by trying them
 * (p->learned). Returns -1 with a plain sentence naming the account when a login is refused (a wrong
 * password, login_tls false on a TLS-only server, no login way at all): a profile mistake, exit 2. A
 * server that does not answer or answers badly is not refused: the scenarios report it. */
int exec_probe_accounts(const struct target *t, const struct exec_opts *o, struct probe *p,
                        struct p3err *err);

/* Before a scenario on an account a dropped session of the worker's previous scenario may still hold
 * (exec_account.c): log in the way the probe chose and QUIT, retrying [IN-USE] with backoff up to
 * lock_retry, so the scenario finds the maildrop free however it logs in (hand-typed USER/PASS too).
 * Returns the seconds it took, or -1 when the maildrop stayed busy. Other refusals are the scenario's to
 * meet and report. */
double exec_account_settle(const struct target *t, const struct exec_opts *o, const struct probe *p,
                           const struct account *acct);

/* How a `login: {}` step logs in on this target (exec_facts.c). */
enum login_way { LOGIN_WAY_USER, LOGIN_WAY_APOP, LOGIN_WAY_SASL };
/* The way, and for LOGIN_WAY_SASL the mechanism (*mech; else NULL). p may be NULL: USER. */
enum login_way exec_login_way(const struct probe *p, const char **mech);
/* "USER/PASS", "APOP", "AUTH SCRAM-SHA-256" (in buf when it needs one). */
const char *exec_login_way_name(const struct probe *p, char *buf, size_t bufsize);

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

/* A worker starts on its two accounts (exec_pool.c): forget what an earlier run on this thread (another
 * target's) left behind. */
void exec_worker_begin(void);

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
/* The same where the server announces a LOGIN-DELAY (runner/pace.h): each account then logs in at most
 * once per delay, the workers mostly sleep, and every pair of accounts shortens the run. */
#define EXEC_DEFAULT_JOBS_PACED_MAX 32
/* A run whose pacing alone takes this many seconds is announced on stderr with the estimate. */
#define EXEC_PACING_NOTE_S 120.0
size_t exec_default_jobs(const struct target *t);

/* With a LOGIN-DELAY (after exec_probe_accounts): the seconds the run takes at least, the logins of the
 * busiest account of a worker times the delay; 0 without one. Also the delay (*delay_s), those logins
 * (*per_account) and the workers (*jobs). */
double exec_pacing_estimate(struct scenario *const *scenarios, size_t n, const struct target *t,
                            const struct exec_opts *o, long *delay_s, size_t *per_account, size_t *jobs);

/* Run every scenario with o->jobs workers (0: exec_default_jobs()); results[i] belongs to scenarios[i].
 * One worker runs them in the given order; several start them longest first (plan_schedule()). */
int exec_run_all(struct scenario *const *scenarios, size_t n, const struct target *t, const struct probe *p,
                 const struct exec_opts *o, const struct exec_observer *obs, struct result *results,
                 struct p3err *err);

#endif
