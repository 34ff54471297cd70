/* fuzz_io.h — the timing cases of `pop3spec fuzz` (fuzz_io.c): a TLS handshake in fragments and a slow
 * client. Each returns what it saw; the caller (fuzz.c) turns anything but OK or SKIP into a finding and
 * runs its usual liveness and consistency check afterwards. */
#ifndef POP3SPEC_STRESS_FUZZ_IO_H
#define POP3SPEC_STRESS_FUZZ_IO_H

#include <stddef.h>
#include <openssl/ssl.h>

struct rng;

enum fuzz_io_result {
	FUZZ_IO_OK,    /* nothing found */
	FUZZ_IO_SKIP,  /* the case could not be run here (STLS refused): not a finding */
	FUZZ_IO_FOUND, /* a wrong answer or close: kind "tls" for the handshake case, "slow" for the slow one
	                */
	FUZZ_IO_HANG,  /* no answer within the timeout */
	FUZZ_IO_CRASH, /* connections refused */
	FUZZ_IO_STATE, /* STAT disagrees with the fixture */
	FUZZ_IO_LOGIN, /* the concurrent session could not log in */
	FUZZ_IO_ERROR  /* ours (out of memory) */
};

struct fuzz_io_target {
	const char *host, *sni, *user, *password;
	int port, tls_port;
	SSL_CTX *tls; /* NULL: no TLS case */
	int timeout_ms;
	size_t count; /* messages in the fixture (STAT inside TLS must say so) */
};

/* Connect (use_stls: the plain port and STLS; else the implicit-TLS port) and do the handshake with every
 * client flight cut into 1-16 octet TCP writes, some a few ms apart; then USER, PASS and STAT inside TLS,
 * written normally. *writes: how many pieces the handshake took. why: the finding's message. */
enum fuzz_io_result fuzz_tls_fragments(const struct fuzz_io_target *ft, int use_stls, struct rng *rng,
                                       char *why, size_t whysize, size_t *writes);

/* The check another session makes while the slow client is half-way through its line: the server must
 * greet it (and, when the slow client holds no lock, log it in and answer STAT) in time. */
typedef enum fuzz_io_result fuzz_io_check_fn(void *ctx, int slow_holds_lock, char *why, size_t whysize);

/* Connect, log in when logged_in (falling back to AUTHORIZATION if refused), then send one valid command
 * in 1-3 octet pieces 60-300 ms apart, `check` run half-way; the command must get a status line.
 * *trickle_ms: how long the line took. */
enum fuzz_io_result fuzz_slow_client(const struct fuzz_io_target *ft, int logged_in, struct rng *rng,
                                     fuzz_io_check_fn *check, void *check_ctx, char *why, size_t whysize,
                                     long *trickle_ms);

#endif
