/* loadgen.h — `pop3spec load`'s run: its options, the shared state of the client threads, the statistics,
 * and the one function a client thread runs per session (loadgen.c). The command line, threads and
 * reports are in load_cmd.c and load_report.c. */
#ifndef POP3SPEC_STRESS_LOADGEN_H
#define POP3SPEC_STRESS_LOADGEN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include "runner/stress/hist.h"
#include "runner/stress/model.h"
#include "runner/target.h"

#define LOAD_MAX_CLIENTS  1024
#define LOAD_MAX_MESSAGES 200
#define LOAD_MAX_OPS      10                      /* commands after the listing, per session at most */
#define LOAD_MAX_BATCH    6                       /* commands in one pipelined write */
#define LOAD_MAX_LISTING  (LOAD_MAX_MESSAGES * 4) /* listing lines accepted before "too many" */
#define LOAD_MAX_DELIVER  20 /* messages one account can be delivered between two resets (--deliver-every) */

/* The commands whose latency is measured (one histogram each). */
/* clang-format off */
#define LOAD_CMDS(X)                                                                                         \
	X(C_CONNECT, "connect")                                                                              \
	X(C_TLS, "tls")                                                                                      \
	X(C_CAPA, "CAPA")                                                                                    \
	X(C_STLS, "STLS")                                                                                    \
	X(C_USER, "USER")                                                                                    \
	X(C_PASS, "PASS")                                                                                    \
	X(C_APOP, "APOP")                                                                                    \
	X(C_AUTH, "AUTH")                                                                                    \
	X(C_STAT, "STAT")                                                                                    \
	X(C_LIST, "LIST")                                                                                    \
	X(C_UIDL, "UIDL")                                                                                    \
	X(C_RETR, "RETR")                                                                                    \
	X(C_TOP, "TOP")                                                                                      \
	X(C_DELE, "DELE")                                                                                    \
	X(C_RSET, "RSET")                                                                                    \
	X(C_NOOP, "NOOP")                                                                                    \
	X(C_QUIT, "QUIT")                                                                                    \
	X(C_SESSION, "session")
/* clang-format on */
#define LOAD_CMD_ENUM(id, name) id,
enum load_cmd { LOAD_CMDS(LOAD_CMD_ENUM) C_COUNT };
#undef LOAD_CMD_ENUM
extern const char *const load_cmd_names[C_COUNT];

/* --mix: relative weights of what a session does (docs/stress.md). */
/* clang-format off */
#define LOAD_MIX(X)                                                                                          \
	X(stat, 1)                                                                                           \
	X(list, 2)                                                                                           \
	X(uidl, 1)                                                                                           \
	X(retr, 3)                                                                                           \
	X(top, 2)                                                                                            \
	X(dele, 3)                                                                                           \
	X(rset, 1)                                                                                           \
	X(noop, 1)                                                                                           \
	X(bad, 1)       /* a command on a deleted or missing message number: -ERR expected */                \
	X(drop, 25)     /* percent of sessions that end without QUIT (half of them with an RST) */           \
	X(tls, 20)      /* percent that use the implicit-TLS port, when the profile has one */               \
	X(stls, 20)     /* percent that start with STLS, when CAPA offers it */                              \
	X(sasl, 30)     /* percent that log in with AUTH PLAIN, when CAPA offers it */                       \
	X(apop, 20)     /* percent that log in with APOP, when the greeting has a timestamp */               \
	X(pipeline, 30) /* percent of command groups sent in one write, when PIPELINING is announced */
/* clang-format on */
#define LOAD_MIX_FIELD(name, def) int name;
struct load_mix {
	LOAD_MIX(LOAD_MIX_FIELD)
};
#undef LOAD_MIX_FIELD

struct load_opts {
	const char *target_file;
	int reference;
	int clients;
	double duration; /* seconds; 0 with --sessions */
	long sessions;   /* 0: until the duration ends */
	double rate;     /* sessions a second over all clients; 0: as fast as they go */
	uint64_t seed;
	struct load_mix mix;
	const char *json, *html;
	int shard_index, shard_count; /* 1-based index; 1/1 when not sharded */
	int messages;                 /* messages in the generated fixture */
	double timeout;               /* seconds one reply may take before it is a hang */
	double lock_grace;            /* seconds a dropped session's lock may outlive the connection */
	long max_violations;          /* stop after this many (0: never) */
	int shared_ok;                /* --shared-ok: another session's deletion may show (no lock) */
	double deliver_every;         /* --deliver-every: seconds between two deliveries; 0: none */
	const char *deliver_cmd;      /* --deliver: command template ({user}, {fixture}, {fixture_mbox}) */
	int quiet;
};

struct load_stats {
	struct hist h[C_COUNT];
	uint64_t ok[C_COUNT], err[C_COUNT];
	uint64_t sessions, commands, dropped, quits, logins, refused, resets, errors, pipelined;
	uint64_t shared;     /* sessions ended because a concurrent deletion showed (--shared-ok) */
	uint64_t deliveries; /* messages delivered during the run (--deliver-every) */
};

struct load {
	struct load_opts o;
	struct target *t;
	SSL_CTX *tls;
	struct model M;
	struct fmsg *fx;
	size_t nfx;   /* the fixture's messages, then LOAD_MAX_DELIVER for deliveries when --deliver-every */
	size_t ninit; /* the fixture a reset puts in: fx[0..ninit) */
	char *fixture_dir;
	size_t *accts; /* indexes into t->accounts this shard uses */
	size_t nacct;
	pthread_mutex_t stats_lock;
	struct load_stats st;
	atomic_long started; /* sessions claimed */
	atomic_int stop;
	atomic_int apop_off; /* an APOP login was refused (not [IN-USE]): the secret is not the password */
	long long t0_ms, deadline_ms;
	pthread_mutex_t rate_lock;
	long long next_slot_us;
	char caps_note[256];
};

/* One client's random stream (xoshiro-style, seeded from the run seed, shard and client index). */
struct rng {
	uint64_t s;
};
uint64_t rng_next(struct rng *r);
/* 0 <= value < n */
uint64_t rng_below(struct rng *r, uint64_t n);
void rng_seed(struct rng *r, uint64_t seed, uint64_t a, uint64_t b);

/* Run one session of client `client` against model account `ai`: connect, log in, check the listing,
 * a few random commands, QUIT or drop. Returns 0; 1 when the account is being reset (nothing was done);
 * 2 when the login was refused (the maildrop was busy); -1 when the run must stop (the target is gone). */
int load_session(struct load *L, int client, struct rng *rng, size_t ai);

/* Record latency and outcome of one command. */
void load_record(struct load *L, enum load_cmd c, long long us, int ok);

#endif
