/* target.h — the server under test: the target profile (a contract, see README), its account pool, and
 * how a maildrop is reset to a fixture before a scenario. */
#ifndef POP3SPEC_TARGET_H
#define POP3SPEC_TARGET_H

#include <stddef.h>
#include "lib/err.h"

struct account {
	char *user;
	char *password;
};

/* login_tls: whether the login and auth steps send STLS first (RFC 2595 §2.2 privacy mode). */
enum login_tls {
	LOGIN_TLS_AUTO = 0, /* when the probe saw cleartext login withdrawn: no USER before TLS, USER after */
	LOGIN_TLS_NO,       /* never: logins go in cleartext unless the scenario did STLS */
	LOGIN_TLS_YES       /* always, on a connection not yet in TLS */
};

/* delivery: how the target's maildrop gets a fixture's messages, hence how content and sizes are judged. */
enum delivery {
	DELIVERY_DEFAULT = 0, /* not given: verbatim with `maildirs` (the runner copies files), agent with `reset` */
	DELIVERY_VERBATIM,    /* the files are placed byte for byte: sizes and content equal the fixture's */
	DELIVERY_AGENT        /* through a delivery agent (LMTP, an LDA, an import tool) that may add header
	                       * lines in front (Return-Path, Received): sizes are judged by the server's own
	                       * consistency, content by the fixture's lines with added header lines tolerated */
};

struct target {
	char *file;          /* profile path, or "(reference)" */
	char *name;
	char *host;
	int port;            /* 0 when none */
	int tls_port;        /* 0 when none */
	int tls_verify;      /* verify the server certificate */
	char *ca;            /* CA file when verifying */
	char *sni;           /* server name for TLS; default: host */
	struct account *accounts;
	size_t naccounts;
	char *reset;         /* command template with {user} {fixture}; NULL when none */
	char *maildirs;      /* extension: the runner resets DIR/USER itself by copying; NULL when none */
	long idle_timeout;   /* seconds; 0 unknown */
	enum login_tls login_tls; /* default auto */
	int redact;          /* the reports replace the accounts' secrets (as --redact) */
	enum delivery delivery;   /* as given; target_delivery() resolves the default */
};

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
 * reset command, or by copying into maildirs/USER. */
int target_reset(const struct target *t, const struct account *acct, const char *fixture_dir,
                 struct p3err *err);

#endif
