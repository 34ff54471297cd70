/* client.h — `pop3spec client run` (docs/clients.md): the client profile, the client scenario's own part,
 * the built-in server's state machine, the judging of what a client sent and delivered, and one run. */
#ifndef POP3SPEC_CLIENT_H
#define POP3SPEC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "lib/err.h"
#include "runner/load.h"
#include "runner/result.h"
#include "runner/scenario.h"

#define CLIENT_MAX_ARGS        64 /* argv words of a command with its modes */
#define CLIENT_MAX_MODES       32
#define CLIENT_MAX_FILES       16
#define CLIENT_MAX_ENV         32
#define CLIENT_MAX_CMDS        4096 /* commands recorded per scenario */
#define CLIENT_MAX_HEADERS     16   /* delivery.adds_headers */
#define CLIENT_MAX_SUCCESS     8    /* success_exit */
#define CLIENT_MAX_MKDIRS      16   /* mkdirs */
#define CLIENT_DEFAULT_TIMEOUT 20.0
#define CLIENT_USER            "user01"
#define CLIENT_PASSWORD        "pass01"
#define CLIENT_MAX_PASSWORD    512 /* a scenario's server.password */
#define CLIENT_MAX_USER        512 /* a scenario's server.user */

/* ---- profile (fixtures/clients/NAME.yaml) ---- */

struct cfile {
	char *path, *content; /* templates */
	int mode;
};
struct cenv {
	char *name, *value;
};
struct cmode {
	char *name;     /* plain, stls, implicit_tls, apop, "sasl PLAIN", delete, keep, uidl */
	char **command; /* replaces the base command when not NULL */
	size_t ncommand;
	char **args; /* appended */
	size_t nargs;
	struct cenv env[CLIENT_MAX_ENV];
	size_t nenv;
	struct cfile files[CLIENT_MAX_FILES];
	size_t nfiles;
};
enum delivery_kind { DELIVERY_NONE, DELIVERY_MAILDIR, DELIVERY_MBOX, DELIVERY_STDOUT };
struct cprofile {
	char *file, *dir, *name;
	char **command;
	size_t ncommand;
	struct cmode modes[CLIENT_MAX_MODES];
	size_t nmodes;
	struct cenv env[CLIENT_MAX_ENV];
	size_t nenv;
	struct cfile files[CLIENT_MAX_FILES];
	size_t nfiles;
	enum delivery_kind delivery;
	char *delivery_path;
	char *adds_headers[CLIENT_MAX_HEADERS];
	size_t nadds_headers;
	size_t delivery_messages; /* 0: all */
	char *state;
	bool deletes;
	double timeout;                       /* 0: the run's */
	int success_exit[CLIENT_MAX_SUCCESS]; /* exit statuses that mean success (fetchmail: 1 is "no mail")
	                                       */
	size_t nsuccess_exit;                 /* 0: only 0 */
	char **mkdirs; /* folders (templates) made before the client starts (mpop's Maildir) */
	size_t nmkdirs;
};
/* Whether exit status st is one the profile counts as success (`success_exit`, default [0]). */
bool cprofile_success(const struct cprofile *p, int st);
int cprofile_load(const char *path, struct cprofile *p, struct p3err *err);
void cprofile_free(struct cprofile *p);
const struct cmode *cprofile_mode(const struct cprofile *p, const char *name);

/* ---- the client scenario's own part ---- */

enum stls_mode { STLS_OFFER, STLS_REFUSE, STLS_ABSENT };
enum cert_kind { CERT_GOOD, CERT_UNKNOWN_CA, CERT_WRONG_NAME, CERT_EXPIRED, CERT_NKINDS };
struct creply {
	char *command;     /* keyword, upper case */
	struct sstr reply; /* raw octets */
	bool close;
	int times; /* 0: every time */
};
struct csrv_opts {
	char *greeting; /* NULL: the default with an APOP timestamp */
	char *password; /* the account's password ({password}); NULL: CLIENT_PASSWORD */
	char *user;     /* the account's name ({user}); NULL: CLIENT_USER */
	int tls_max;    /* 0: library maximum; else e.g. TLS1_1_VERSION (a server the client must refuse) */
	char **capa;    /* NULL: the default list */
	size_t ncapa;
	bool capa_set;
	enum stls_mode stls;
	enum cert_kind cert;
	size_t chunk;       /* 0: whole writes */
	struct sstr inject; /* before the TLS handshake */
	struct creply *replies;
	size_t nreplies;
	char *close_after;        /* keyword */
	char *close_mid;          /* command prefix of a multi-line reply cut, or NULL */
	long close_mid_message;   /* or: the first reply carrying this message (RETR n, TOP n m); 0: none */
	size_t close_mid_after;   /* octets of it */
	bool close_mid_once;      /* only the first such reply of the scenario (a second run gets it whole) */
	size_t pad_status;        /* 0: none */
	double reply_delay;       /* seconds to wait before each reply (so a too-early next command shows) */
	int *between_runs_delete; /* messages removed before the second run (numbers then shift) */
	size_t nbetween;
	char *between_runs_add; /* a fixture whose messages arrive before the second run (new unique-ids) */
};
enum cexp_kind {
	CEXP_QUIT,
	CEXP_SENT,
	CEXP_NOT_SENT,
	CEXP_NO_AFTER,
	CEXP_DELE_AFTER_RETR,
	CEXP_CAPA_AFTER_TLS,
	CEXP_EXIT,
	CEXP_DELIVERED,
	CEXP_RETR_SECOND,
	CEXP_SASL_CANCEL,
	CEXP_SESSIONS_MAX
};
enum exit_want { EXIT_WANT_ANY, EXIT_WANT_ZERO, EXIT_WANT_NONZERO };
struct cexpect {
	enum cexp_kind kind;
	char *regex; /* SENT, NOT_SENT, NO_AFTER */
	enum exit_want exit;
	int delivered; /* -1 all, -2 none, 0 the list, 1 at most the list (delivered_within) */
	int *msgs;
	size_t nmsgs;
	long count; /* RETR_SECOND; SESSIONS_MAX: connections per run */
	char *ref;  /* NULL: the scenario's first */
	int level;  /* -1: the scenario's */
};
struct cscen {
	char **modes;
	size_t nmodes;
	int runs;
	struct csrv_opts srv;
	struct cexpect *expect;
	size_t nexpect;
};
/* load_opts.client_parse: parse modes/runs/server/expect into sc->client. */
int cscen_parse(struct lctx *c, const struct lsrc *s, const void *root);
void cscen_free(void *p);

/* ---- the built-in server's state machine (no I/O) ---- */

struct cmsg {
	char *data; /* the stored message */
	size_t len;
	unsigned long long size; /* octets as sent (RFC 1939 §11) */
	char uid[72];
	bool deleted; /* committed (gone from the maildrop) */
};
struct cmaildrop {
	struct cmsg *msgs;
	size_t n;
};
int cmaildrop_load(const char *dir, struct cmaildrop *m, struct p3err *err);
void cmaildrop_free(struct cmaildrop *m);
/* Append copies of add's messages to m, their unique-ids prefixed "new-" (never one m had). */
int cmaildrop_append(struct cmaildrop *m, const struct cmaildrop *add, struct p3err *err);
/* Drop the messages marked deleted; the others move up (and so are numbered anew from 1). */
void cmaildrop_compact(struct cmaildrop *m);

enum csrv_state { CS_AUTH, CS_TRANS, CS_UPDATE };
enum csrv_action { CA_NONE, CA_CLOSE, CA_STARTTLS, CA_AUTH_CONT };
struct csrv {
	const struct csrv_opts *o;
	struct cmaildrop *md;
	enum csrv_state state;
	bool tls; /* the session runs over TLS now */
	bool tls_available;
	char timestamp[80]; /* APOP's, <...> */
	char user[CLIENT_MAX_USER + 1];
	bool user_ok;
	bool *marked;       /* DELE marks of this session */
	char sasl_mech[24]; /* an AUTH exchange in progress */
	int sasl_step;
	char cram_challenge[80];
	int *reply_used; /* per override */
	bool last_whole; /* the last reply carried a whole message (RETR, or TOP with every line) */
};
int csrv_init(struct csrv *s, const struct csrv_opts *o, struct cmaildrop *md, bool tls_available,
              bool implicit_tls);
void csrv_free(struct csrv *s);
/* The greeting line with CRLF, into a malloc'd buffer. */
char *csrv_greeting(struct csrv *s, size_t *len);
/* One command line (without its line end) → the reply octets (malloc'd, *len) and an action. `multi`
 * gets the offset where a multi-line body starts (for close_mid), or (size_t)-1. */
char *csrv_command(struct csrv *s, const char *line, size_t n, size_t *len, enum csrv_action *act,
                   size_t *multi);
/* Whether the CAPA list announces a capability (case-insensitive first word). */
bool csrv_announces(const struct csrv *s, const char *cap);

/* ---- judging ---- */

struct ccmd {
	char *text; /* the line without its line end, escaped-safe (NUL-free copy) */
	size_t len; /* octets including the line end */
	bool crlf;
	bool tls;              /* sent over TLS */
	bool pipelined;        /* arrived before the reply to the previous command */
	int session;           /* connection number from 0 */
	int run;               /* 0 or 1 */
	enum csrv_state state; /* the state it was sent in */
	bool reply_ok;         /* the server answered +OK */
	bool reply_complete;   /* the whole reply was written */
	bool whole_message;    /* RETR, or TOP whose line count covered the whole body (fetchmail's
	                        * "TOP n 99999999" retrieves with it) */
	bool sasl;             /* a SASL response, not a command */
	bool scripted;         /* the response to a scenario's scripted (malformed) challenge */
};
/* Grammar and state of one command (RFC 1939 §3-§7, RFC 2449, 5034, 2595): NULL when fine, else why. */
const char *cjudge_command(const char *line, size_t n, enum csrv_state st);

/* ---- one run of the client ---- */

struct ccerts {
	char *dir; /* the run's folder (certificates, work folders) */
	char *cafile;
	char *cert[CERT_NKINDS], *key[CERT_NKINDS];
};
/* Generate the CA and the four server certificates into a new folder under $TMPDIR. */
int ccerts_make(struct ccerts *c, struct p3err *err);
void ccerts_free(struct ccerts *c);

struct crun_ctx {
	const struct cprofile *prof;
	const struct ccerts *certs;
	const char *fixtures_dir;
	double timeout;     /* the run's --timeout, seconds */
	bool timeout_given; /* --timeout was on the command line: it wins over the profile's */
	bool live;          /* -v: transcript on stderr */
};
/* Run scenario sc against the client; fills r completely (identity, verdict, transcript). */
void crun_scenario(const struct crun_ctx *x, const struct scenario *sc, int index, struct result *r);

/* Delivery comparison: whether `got` equals fixture message `want` under the profile's rules. */
bool cdeliver_equal(const struct cprofile *p, const char *got, size_t glen, const char *want, size_t wlen);

#endif
