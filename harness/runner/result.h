/* result.h — the results of a run, as every reporter reads them: one struct per scenario outcome, one per
 * run. The executor fills them; console, JSON, JUnit and HTML reporters only read them. */
#ifndef POP3SPEC_RESULT_H
#define POP3SPEC_RESULT_H

#include <stddef.h>

enum verdict { VERDICT_PASS, VERDICT_FAIL, VERDICT_WARN, VERDICT_SKIP, VERDICT_ERROR };

/* "pass", "fail", "warn", "skip", "error" — the JSON contract's spelling. */
const char *verdict_name(enum verdict v);
/* Inverse of verdict_name; -1 when unknown. */
int verdict_from_name(const char *name);

enum tline_kind {
	TLINE_CLIENT = 'C', /* a line (or raw bytes) the runner sent */
	TLINE_SERVER = 'S', /* a line the server sent */
	TLINE_NOTE = '*'    /* an event: connect, TLS started (with version/cipher), close, timeout, sleep */
};

struct tline {
	double t_ms;   /* milliseconds since the scenario started */
	char kind;     /* enum tline_kind */
	char *session; /* session name ("main" unless the scenario names others) */
	char *text;    /* escaped: bytes outside printable ASCII as \xNN, CR LF shown as \r\n when bare */
};

struct result {
	char *id; /* scenario id, e.g. "rfc1939/dele/marked-not-retrievable" */
	char *title;
	char *level; /* "MUST", "SHOULD", "MAY" */
	char *file;  /* scenario file path */
	char **refs; /* requirement ids */
	size_t nrefs;
	char **tags;
	size_t ntags;
	enum verdict status;
	long duration_ms;
	char *message;     /* one line: why it failed / skipped / errored; NULL or "" when passed */
	char *failed_step; /* "step 4 (send: RETR 1)" where a step decided the verdict, else NULL */
	char *expected;    /* what the failing check wanted, else NULL */
	char *actual;      /* what came, else NULL */
	char *failed_ref;  /* the requirement id the failing check belongs to, else NULL */
	struct tline *transcript;
	size_t ntranscript;
	long login_delay_ms; /* the longest reply to PASS, APOP or AUTH when it took a second or more, else 0
	                      */
};

struct run_info {
	char *target_name;
	char *target_host;
	int target_port;
	int target_tls_port; /* 0 when none */
	char *greeting;      /* the server's greeting line, if one was seen */
	char **capa;         /* CAPA lines seen before login, if any */
	size_t ncapa;
	char *runner_version;
	char *suite_version;
	char *options; /* the command line options of the run, as one string */
	char *started; /* ISO 8601 UTC */
	long duration_ms;
	int strict;      /* --strict was given: a warning fails the run (JUnit then shows it as a failure) */
	int incomplete;  /* the run was stopped (SIGINT/SIGTERM): results holds only what ran */
	size_t not_run;  /* with incomplete: how many selected scenarios have no result */
	char *stopped;   /* why the run ended early ("interrupted (SIGINT)", "the server stopped
	                  * answering"), or NULL */
	int shard_index; /* --shard I/N of the run; 0 and 0 when not sharded */
	int shard_count;
	int redacted;       /* the accounts' secrets were replaced (--redact, or the profile's redact) */
	char *login_method; /* how `login: {}` logged in: "USER/PASS", "APOP", "AUTH MECH"; NULL unknown */
	char *mode;         /* "client" for `pop3spec client run` (target_name is then the client
	                     * profile's name); NULL for a server run */
};

struct run {
	struct run_info info;
	struct result *results;
	size_t nresults;
};

struct run_summary {
	size_t passed, failed, warnings, skipped, errors;
};

void run_summarize(const struct run *run, struct run_summary *sum);

/* Many failures with one cause (a wrong password, a server that stopped answering) are one problem, not
 * many deviations: the reason that at least RUN_SHARED_MIN failures and errors, and at least half of them,
 * have in common, read first. Reasons are compared by what came (`actual`, else the message), with digits
 * counted as equal ("no response within 5.0 s", "user03's maildrop"). */
#define RUN_SHARED_MIN 5
struct shared_reason {
	const char
	    *example; /* the first result's reason, as it came (points into the run); NULL: none shared */
	size_t count; /* failures and errors with it */
	size_t of;    /* failures and errors in all */
};
void run_shared_reason(const struct run *run, struct shared_reason *sr);

/* The RFC group of a scenario id: the part before the first '/' ("rfc1939"), or "other". Written into buf. */
const char *result_group(const char *id, char *buf, size_t bufsize);

struct scenario;
/* Copy the scenario's identity (id, title, level, file, refs, tags) into r, as every way of running one
 * reports it. 0, or -1 when memory ran out (what was copied stays for result_free). */
int result_identity(struct result *r, const struct scenario *sc);

void result_free(struct result *r);
void run_free(struct run *run);

#endif
