/* model.h — the load test's model of every maildrop it drives: which messages exist, which are being or
 * have been deleted and by whom, their unique-ids, and which of our sessions may hold each maildrop's lock.
 * Every observation a session makes is checked here against what RFC 1939 allows, and a contradiction
 * becomes a violation carrying the transcripts of the sessions involved.
 *
 * Time is a logical clock (model_seq): a session takes a number just before it writes and just after it
 * reads, so "the server did X between these two numbers" is sound whatever the threads' interleaving.
 * Thread-safe: one mutex guards the whole model (sessions touch it a few times per command). */
#ifndef POP3SPEC_STRESS_MODEL_H
#define POP3SPEC_STRESS_MODEL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "runner/target.h"

#define MODEL_TR_LINES    40   /* transcript lines kept per session (the last ones) */
#define MODEL_TR_TEXT     220  /* characters of one transcript line */
#define MODEL_KEEP_RECS   24   /* finished sessions remembered per account (transcripts, lock holds) */
#define MODEL_MAX_VIOL    1000 /* violations kept (more are counted, not stored) */
#define MODEL_MAX_RELATED 4    /* other sessions whose transcripts a violation carries */

/* A fixture message: its content as POP3 sends it (CRLF line ends, before byte-stuffing). The load
 * generator makes every size distinct, so a size alone names a message. */
struct fmsg {
	char *data;
	size_t len; /* == the RFC 1939 §11 size */
};

/* One session of the run, as the model remembers it. */
struct srec {
	unsigned long id;
	size_t acct;
	int client;
	char tr[MODEL_TR_LINES][MODEL_TR_TEXT];
	unsigned ntr;         /* lines ever added (the last MODEL_TR_LINES are kept) */
	uint64_t pass_seq;    /* logical time the credentials were sent; 0: not yet */
	uint64_t denied_seq;  /* logical time a login refusal arrived; 0: none */
	int open;             /* connected (may hold the lock) */
	long long hold_until; /* once closed: monotonic ms until which the server may still hold the lock */
	struct srec *next;
};

enum mstate {
	M_ABSENT,  /* a message for delivery during the run (--deliver-every) not delivered yet this epoch */
	M_PRESENT, /* in the maildrop (a delivered one: since its delivery began) */
	M_PENDING, /* a session marked it and sent QUIT; no reply yet */
	M_DELETED, /* QUIT +OK: gone for every session that logs in after t_ok */
	M_MAYBE    /* QUIT reply lost or -ERR: the server may or may not have removed it */
};

struct mmsg {
	enum mstate st;
	uint64_t t_q, t_ok; /* QUIT sent, +OK received (or absence observed) */
	unsigned long by;   /* session that deleted it */
	char uid[72];       /* "" until a UIDL listing names it */
	unsigned long uid_by;
	uint64_t t_d0, t_d1; /* delivered during the run: delivery began, completed (0: not yet / never) */
};

struct macct {
	const struct account *a;
	unsigned epoch; /* resets so far */
	struct mmsg *m; /* one per fixture message */
	int active;     /* sessions of ours on it now */
	int delivering; /* deliveries into it under way (no reset meanwhile) */
	int draining;   /* no new session starts: it is about to be reset */
	int resetting;
	struct srec *recs; /* newest first: active sessions and the last finished ones */
};

struct violation {
	char kind[32];
	char *message;
	unsigned long sessions[1 + MODEL_MAX_RELATED];
	size_t nsessions;
	char *tr_text[1 + MODEL_MAX_RELATED]; /* snapshot of each session's transcript, lines joined by \n */
};

struct model {
	pthread_mutex_t lock;
	uint64_t seq;
	unsigned long next_id;
	const struct fmsg *fx;
	size_t nfx;
	size_t
	    ninit; /* fx[0..ninit) are the fixture a reset puts in; the rest are delivered during the run */
	struct macct *acct;
	size_t nacct;
	long long grace_quit_ms, grace_drop_ms;
	struct violation *viol;
	size_t nviol, viol_total;
};

/* The snapshot a session takes right after login: message numbers 1..n, each mapped to a fixture index. */
struct view {
	size_t n;
	size_t *idx;   /* idx[k-1]: the fixture message that message k is */
	char *deleted; /* marked deleted in this session */
	unsigned long long total;
};

int model_init(struct model *M, const struct account *accts, size_t nacct, const struct fmsg *fx, size_t nfx,
               long long grace_quit_ms, long long grace_drop_ms);
void model_free(struct model *M);
uint64_t model_seq(struct model *M);
long long model_now_ms(void);

/* A session starts on account i: NULL when the account is draining or being reset. */
struct srec *model_begin(struct model *M, size_t i, int client);
/* Add a transcript line ('C' sent, 'S' received, '#' a note). */
void model_note(struct model *M, struct srec *r, char kind, const char *data, size_t len);
/* The session closed its connection; dropped: without a QUIT +OK. */
void model_end(struct model *M, struct srec *r, int dropped);

/* The credentials are about to be sent (call before writing them). */
void model_pass_sent(struct model *M, struct srec *r);
/* The login was refused with `line`: allowed only while another session of ours may hold the maildrop. */
void model_login_refused(struct model *M, struct srec *r, const char *line);
/* The listing after login: n messages with sizes sz[]; t_end taken after it arrived. Fills v (caller frees
 * with view_free). Returns 0, or -1 after recording a violation (the session should end). */
int model_snapshot(struct model *M, struct srec *r, const unsigned long long *sz, size_t n, uint64_t t_end,
                   struct view *v);
/* The UIDL listing (uids[k-1] for message k): checks syntax, stability and reuse. */
int model_uids(struct model *M, struct srec *r, const struct view *v, char *const *uids);
/* Whether view message k (1-based) was deleted, or is being deleted, by another session than r (a QUIT
 * sent): what a server without a lock may let a concurrent session see. */
int model_deleted_elsewhere(struct model *M, const struct srec *r, const struct view *v, size_t k);
/* QUIT was sent / its outcome: 1 +OK, 0 -ERR, -1 no reply. */
void model_quit_sent(struct model *M, struct srec *r, const struct view *v, uint64_t t_q);
void model_quit_result(struct model *M, struct srec *r, const struct view *v, int outcome, uint64_t t);

/* Record a violation found in session r (NULL: none) with a printf message; `related` other sessions
 * (0-terminated, may be NULL) whose transcripts go with it. Marks the account for a reset. */
void model_violation(struct model *M, struct srec *r, const unsigned long *related, const char *kind,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Whether account i can be reset now (draining, nobody on it, every lock hold expired); if so it is
 * marked resetting and 1 is returned: the caller resets the maildrop and calls model_reset_done. */
int model_claim_reset(struct model *M, size_t i);
void model_reset_done(struct model *M, size_t i, int ok);
/* Messages not known to be deleted. */
size_t model_present(struct model *M, size_t i);

/* Deliveries (--deliver-every): fx[ninit..nfx) are messages delivered during the run, absent after every
 * reset until delivered. Call once after model_init (ninit <= nfx). */
void model_set_deliverable(struct model *M, size_t ninit);
/* A delivery into account i begins: the index of the fixture message to deliver, or -1 when the account is
 * draining or being reset, or every deliverable message of this epoch is in. The message counts as present
 * from now on (a listing may show it once the file is there); model_deliver_end says when it is complete:
 * every session that sends its credentials after that must list it (RFC 1939 §4: the maildrop as it is
 * when the session opens it). ok 0: the delivery failed, so it may never appear. */
long model_deliver_begin(struct model *M, size_t i);
void model_deliver_end(struct model *M, size_t i, size_t k, int ok);

void view_free(struct view *v);

#endif
