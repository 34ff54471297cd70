/* client.h — pop3client, a small correct POP3 fetch client (and, built with POP3CLIENT_FAULTS, the
 * fault-injectable test client): its options, its session, and the contracts between its files:
 * proto.c (replies, commands, TLS), auth.c (logins), deliver.c (Maildir and UIDL state), fetch.c (the
 * session from greeting to QUIT), main.c (the command line). */
#ifndef POP3CLIENT_CLIENT_H
#define POP3CLIENT_CLIENT_H

#include <stddef.h>
#include <openssl/ssl.h>
#include "lib/conn.h"
#include "lib/err.h"
#include "lib/limits.h"

/* Exit status (sysexits.h values where one fits, so a caller tells a temporary failure apart). */
enum client_exit {
	CLIENT_OK = 0,
	CLIENT_FAIL = 1,  /* a permanent failure: refused login, protocol error, TLS failure, I/O error */
	CLIENT_USAGE = 2, /* bad command line */
	CLIENT_TEMPFAIL =
	    75 /* try again later: [IN-USE], [LOGIN-DELAY], [SYS/TEMP] (RFC 2449 §8, RFC 3206) */
};

enum client_tls {
	CT_NONE,          /* cleartext only */
	CT_STLS,          /* STLS required: no credentials before the handshake */
	CT_STLS_OPTIONAL, /* STLS when offered, else cleartext */
	CT_IMPLICIT       /* TLS from the first octet (RFC 8314 §3) */
};

enum client_eol { EOL_LF, EOL_CRLF };

struct client_opts {
	const char *host;
	int port;
	const char *user;
	const char *password;
	enum client_tls tls;
	const char *cafile;     /* trust anchors; NULL: the system store */
	const char *servername; /* the name the certificate must carry; NULL: host */
	const char *maildir;    /* where messages go; NULL: fetch and count only */
	const char *state;      /* UIDL state file; NULL: every message is new */
	enum client_eol eol;    /* line ends of delivered messages */
	int delete_after;       /* DELE each message once it is delivered */
	int apop;
	const char *sasl; /* PLAIN, LOGIN or CRAM-MD5; NULL: USER/PASS (or APOP) */
	int timeout_ms;
	int verbose; /* the transcript on stderr */
};

/* Capabilities from the last CAPA (RFC 2449 §5). known is 0 when CAPA failed or was not sent. */
struct client_caps {
	int known;
	int stls, pipelining, uidl, user, resp_codes;
	char sasl[POP3_MAX_STATUS_LINE]; /* the SASL line's mechanisms, space-separated */
};

/* A reply's status line, parsed. */
struct reply {
	int ok;                            /* +OK: 1, -ERR: 0 */
	char code[64];                     /* the response code without brackets (RFC 2449 §8), or "" */
	char text[POP3_MAX_DATA_LINE + 1]; /* the line after "+OK"/"-ERR", NUL-terminated */
};

struct client {
	const struct client_opts *o;
	struct conn *conn;
	SSL_CTX *tls_ctx;
	struct client_caps caps;
	char timestamp[POP3_MAX_STATUS_LINE]; /* the greeting's APOP timestamp with its brackets, or "" */
	/* Octets the fault keep-pre-tls-bytes saved from before the handshake, read before the connection. */
	char *pushback;
	size_t pushback_len, pushback_off;
};

/* ---- proto.c: the wire ------------------------------------------------------------------------------ */

/* Connect (and for implicit TLS, hand-shake). 0, or -1 with err set. */
int client_connect(struct client *cl, struct p3err *err);
/* STLS's handshake on the open connection (octets already received are discarded: RFC 2595 §4). */
int client_start_tls(struct client *cl, struct p3err *err);
/* Send one command line (CRLF added). Refuses a line over 255 octets (RFC 2449 §4) before sending it. */
int client_send(struct client *cl, struct p3err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As client_send, for a SASL continuation line: not bound by the 255-octet limit (RFC 5034 §4). */
int client_send_sasl(struct client *cl, const char *line, struct p3err *err);
/* Send several command lines in one write (pipelining, RFC 2449 §6.6): each checked as client_send does. */
int client_send_batch(struct client *cl, const char *const *lines, size_t n, struct p3err *err);
/* Read one status line into r. -1 with err set on EOF, timeout, or a line that is neither +OK nor -ERR. */
int client_reply(struct client *cl, struct reply *r, struct p3err *err);
/* Read a SASL reply: 1 for a continuation ("+ " and base64 into text), 0 for +OK/-ERR into r, -1 on error. */
int client_sasl_reply(struct client *cl, struct reply *r, struct p3err *err);
/* Read one line of a multi-line reply. 1 with the un-stuffed data line in *data and *len, 0 at the
 * terminator, -1 with err set (a drop before the terminator included). */
int client_data_line(struct client *cl, const char **data, size_t *len, struct p3err *err);
void client_close(struct client *cl, int abortive);

/* ---- auth.c: logins --------------------------------------------------------------------------------- */

/* Log in as the options say. 0 logged in; -1 refused, r holds the reply (its code decides the exit);
 * -2 another failure, err says which. */
int client_login(struct client *cl, struct reply *r, struct p3err *err);

/* ---- deliver.c: Maildir and the UIDL state ------------------------------------------------------------ */

struct uid_state {
	char **uids;
	size_t n, cap;
};

/* Load the state file (a missing file is an empty state). */
int state_load(const char *path, struct uid_state *st, struct p3err *err);
int state_has(const struct uid_state *st, const char *uid);
int state_add(struct uid_state *st, const char *uid, struct p3err *err);
/* Write it atomically (a temporary file renamed into place). */
int state_save(const char *path, const struct uid_state *st, struct p3err *err);
void state_free(struct uid_state *st);

/* One message being delivered into DIR/tmp, then DIR/new. */
struct delivery {
	int fd;
	char tmp[4096];
	char final[4096];
};
int delivery_begin(struct delivery *d, const char *maildir, struct p3err *err);
int delivery_write(struct delivery *d, const void *data, size_t n, struct p3err *err);
/* fsync, then rename tmp → new (Maildir's atomic delivery). */
int delivery_commit(struct delivery *d, struct p3err *err);
/* Unlink the temporary file: nothing is delivered. */
void delivery_abort(struct delivery *d);

/* ---- fetch.c: the session ---------------------------------------------------------------------------- */

/* One whole session; returns the exit status. */
int client_run(const struct client_opts *o);

#endif
