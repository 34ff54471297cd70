/* client_int.h — what the files of runner/client share inside the module: templates, the client process,
 * the server side of one connection, the scenario's record. */
#ifndef POP3SPEC_CLIENT_INT_H
#define POP3SPEC_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <openssl/ssl.h>
#include "runner/client/client.h"

#define CLIENT_CHUNK_PAUSE_US 300   /* between the pieces of a chunked reply, so they arrive apart */
#define CLIENT_KILL_GRACE_MS 500    /* SIGTERM, then this long, then SIGKILL */
#define CLIENT_INPUT_MAX (64 * 1024) /* a command line longer than this ends the connection */

/* ---- cproc.c ---- */
struct cvars {
	char host[32], hostname[32], port[8], tls_port[8], user[CLIENT_MAX_USER + 1], password[CLIENT_MAX_PASSWORD + 1];
	const char *cafile, *workdir, *profile_dir;
	const char *bin;  /* {bin}: cbin_dir() */
};
/* The folder of pop3spec's helper programs ({bin}): the running pop3spec's own folder (bin/, build-asan/bin/),
 * or, in an installed tree (PREFIX/bin/pop3spec), PREFIX/libexec/pop3spec when it exists. Into out; false
 * when /proc/self/exe cannot be read. */
bool cbin_dir(char *out, size_t size);
/* Expand {name} placeholders ({{ for '{'); NULL on an unknown name (err says which) or no memory. */
char *cexpand(const char *tmpl, const struct cvars *v, struct p3err *err);
struct cproc {
	pid_t pid;
	int status;       /* wait status when exited */
	bool exited, killed;
};
/* Write the files, build argv and env, and start the client in its own process group. */
int cproc_start(const struct cprofile *p, const struct cmode *const *modes, size_t nmodes, const struct cvars *v,
                const char *out_path, const char *err_path, struct cproc *c, struct p3err *err);
/* Whether it has exited (reaps it). */
bool cproc_poll(struct cproc *c);
/* End the whole process group: SIGTERM, a grace period, SIGKILL; reaps the client. */
void cproc_kill(struct cproc *c);
/* Read a whole file (NUL appended); NULL when it cannot be read. */
char *cread_file(const char *path, size_t *len);

/* ---- the scenario's record (crun.c fills it, cjudge/cexpect reads it) ---- */
struct ctrans {
	struct tline *v;
	size_t n, cap;
	double t0;
};
void ctrans_add(struct ctrans *t, char kind, const char *session, const char *data, size_t len);

struct crecord {
	struct ccmd cmds[CLIENT_MAX_CMDS];
	size_t ncmds;
	bool truncated;
	int nsessions;
	int run_sessions[2];         /* connections per run (a retry storm shows here) */
	bool close_mid_done;         /* close_mid with once: it cut a reply already */
	bool session_trans[64];      /* reached TRANSACTION */
	bool session_server_closed[64]; /* the server ended it (close_after, a reply with close, close_mid) */
	bool session_stls_ok[64];
	const char *violation;       /* the first built-in check that failed, with its ref */
	const char *violation_ref;
	char violation_text[600];
	int exit_status[2];          /* per run: exit code, 128+signal, -1 killed at the timeout */
	bool timed_out;
	bool tls_required;           /* the mode asks for STLS or implicit TLS */
	char tls_fail[320];          /* the last failed handshake's reason */
};

/* ---- cconn.c: one connection of the built-in server ---- */
struct cconn_ctx {
	const struct csrv_opts *o;
	struct cmaildrop *md;
	SSL_CTX *tls;
	struct crecord *rec;
	struct ctrans *tr;
	int run;
	double deadline_ms;
	bool live;
};
void cconn_serve(const struct cconn_ctx *x, int fd, bool implicit);
double cnow_ms(void);

/* ---- cexpect.c ---- */
struct cverdict {
	enum verdict v;
	char msg[600];
	char expected[300], actual[600];
	char ref[40];
};
/* Judge the record and the delivery against the scenario; the worst finding wins. */
void cexpect_judge(const struct scenario *sc, const struct cprofile *p, const struct cmaildrop *fixture,
                   const struct crecord *rec, const char *delivery_path, const char *const *stdout_paths,
                   int runs, struct cverdict *out);

#endif
