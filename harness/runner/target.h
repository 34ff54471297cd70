/* target.h — the server under test: the target profile (a contract, see README), its account pool, and
 * how a maildrop is reset to a fixture before a scenario. */
#ifndef POP3SPEC_TARGET_H
#define POP3SPEC_TARGET_H

#include <stddef.h>
#include "lib/err.h"

struct account {
	char *user;
	char *password;
	char *apop_secret; /* the secret APOP digests (RFC 1939 §7: "a shared secret known only to the POP3
	                    * client and server"); NULL: the password. Servers with an APOP database of their
	                    * own (solid-pop3d's ~/.spop3d, Mailutils's popauth) may keep another one */
};

/* The secret APOP uses for the account: apop_secret, else the password. */
const char *account_apop_secret(const struct account *a);

/* login_tls: whether the login and auth steps send STLS first (RFC 2595 §2.2 privacy mode). */
enum login_tls {
	LOGIN_TLS_AUTO = 0, /* when the probe saw cleartext login withdrawn: no USER before TLS, USER after */
	LOGIN_TLS_NO,       /* never: logins go in cleartext unless the scenario did STLS */
	LOGIN_TLS_YES       /* always, on a connection not yet in TLS */
};

/* delivery: how the target's maildrop gets a fixture's messages, hence how content and sizes are judged. */
enum delivery {
	DELIVERY_DEFAULT =
	    0, /* not given: verbatim with `maildirs` (the runner copies files), agent with `reset` */
	DELIVERY_VERBATIM, /* the files are placed byte for byte: sizes and content equal the fixture's */
	DELIVERY_AGENT     /* through a delivery agent (LMTP, an LDA, an import tool) that may add header
	                    * lines in front (Return-Path, Received): sizes are judged by the server's own
	                    * consistency, content by the fixture's lines with added header lines tolerated */
};

struct target {
	char *file; /* profile path, or "(reference)" */
	char *name;
	char *host;
	int port;       /* 0 when none */
	int tls_port;   /* 0 when none */
	int tls_verify; /* verify the server certificate */
	char *ca;       /* CA file when verifying */
	char *sni;      /* server name for TLS; default: host */
	struct account *accounts;
	size_t naccounts;
	char *reset;       /* command template with {user} and {fixture} or {fixture_mbox}; NULL when none */
	char *maildirs;    /* extension: the runner resets DIR/USER itself by copying; NULL when none */
	long idle_timeout; /* seconds; 0 unknown */
	enum login_tls login_tls; /* default auto */
	int redact;               /* the reports replace the accounts' secrets (as --redact) */
	enum delivery delivery;   /* as given; target_delivery() resolves the default */
	double reset_timeout;     /* seconds a reset command may take; 0: TARGET_DEFAULT_RESET_TIMEOUT */
	double login_timeout;     /* seconds a reply to PASS, APOP or AUTH may take; 0: the default */
	double login_delay_max; /* seconds a login refused with [LOGIN-DELAY] may wait before its one retry */
	double lock_retry;  /* seconds a login may be retried after [IN-USE] following a drop; 0: default */
	double silence_min; /* seconds: the shortest "nothing comes" window on this link; 0: none */
};

/* Defaults of the timing keys (docs/targets.md): a reset may take a minute; a login reply 60 s (servers
 * delay failed logins: Dovecot's auth penalty reaches 15 s, pop3refd's --auth-failure-delay 30 s, and a
 * reply at a server's cap must not race the allowance); a maildrop lock left by a dropped connection is
 * waited for up to 15 s. */
#define TARGET_DEFAULT_RESET_TIMEOUT 60.0
#define TARGET_DEFAULT_LOGIN_TIMEOUT 60.0
#define TARGET_DEFAULT_LOCK_RETRY    15.0
/* RFC 2449 §8.1.1: a login refused with [LOGIN-DELAY] is retried once after the delay, at most this long. */
#define TARGET_DEFAULT_LOGIN_DELAY_MAX 120.0

double target_reset_timeout(const struct target *t);
double target_login_timeout(const struct target *t);
double target_lock_retry(const struct target *t);
double target_login_delay_max(const struct target *t);
/* A "nothing comes" window (silent_for, a starttls quiet) of `seconds` as waited on this target: at least
 * the profile's silence_min, for a slow link where a reply sent late by Nagle's algorithm or a long round
 * trip would arrive after the scenario's short window. t may be NULL. */
double target_silence(const struct target *t, double seconds);

/* Load a target profile; errors are "file:line:column: message". Everything a run needs from the profile
 * alone is checked here (a `ca` file that is not readable, among the rest), so
 * `pop3spec check` finds what `run` would. */
int target_load(const char *path, struct target *t, struct p3err *err);
void target_free(struct target *t);

/* The delivery mode in effect: as the profile says, else verbatim when the runner copies the files itself
 * (`maildirs`, --reference), else agent (a reset command may hand the fixture to a delivery agent). */
enum delivery target_delivery(const struct target *t);

/* Whether the target can put a fixture into a maildrop. */
int target_can_reset(const struct target *t);

/* Make `acct`'s maildrop hold exactly the messages of the Maildir `fixture_dir` (absolute path): by the
 * reset command, or by copying into maildirs/USER. The command's placeholders become shell words that
 * stay one word wherever they stand: unquoted, inside '...' or inside "..." (docs/targets.md). When the
 * command uses {fixture_mbox}, FIXTURE_DIR.mbox is written first (mbox.h) unless it is there. Errors name
 * the account. */
int target_reset(const struct target *t, const struct account *acct, const char *fixture_dir,
                 struct p3err *err);

/* The shell command a reset runs: `tmpl` with {user}, {fixture} and {fixture_mbox} replaced, each value
 * quoted for the quoting context it stands in. NULL when out of memory. Exposed for the unit tests. */
char *target_reset_command(const char *tmpl, const char *user, const char *fixture, const char *mbox);

#endif
