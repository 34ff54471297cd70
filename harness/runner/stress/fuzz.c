/* fuzz.c — `pop3spec fuzz`: generated and mutated command input in each state (over-long and empty
 * arguments, every byte value, integer boundaries, broken base64, split and merged line ends, pipelined
 * floods), each case followed by a liveness and consistency check (a fresh session connects, logs in and
 * STAT still matches the fixture), a finding shrunk to a minimal byte sequence and written out as a
 * ready-to-commit scenario (docs/stress.md). */
#include "runner/stress/stress.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "lib/conn.h"
#include "lib/limits.h"
#include "runner/datadir.h"
#include "runner/fixture.h"
#include "runner/reference.h"
#include "runner/report/util.h"
#include "lib/tls.h"
#include "runner/stress/fuzz_io.h"
#include "runner/stress/loadgen.h"

#define FUZZ_MAX_PAYLOAD    (64 * 1024)
#define FUZZ_QUIET_MS       40 /* after the input: replies are read until the server is quiet this long */
#define FUZZ_DRAIN_MAX      (4 * 1024 * 1024)
#define FUZZ_LOGIN_RETRY_MS 10000 /* a dropped session's lock may take this long to go */
#define FUZZ_SHRINK_TRIES   80
#define FUZZ_MAX_FINDINGS   20

enum fstate { FS_AUTH, FS_USER, FS_TRANS };
static const char *const fstate_name[] = {"authorization", "after USER", "transaction"};

struct fcase {
	enum fstate state;
	char *data;
	size_t len;
	int split; /* written in small fragments */
	const char *gen;
	int special;      /* FS_SPECIAL_*: a timing case of fuzz_io.c instead of input bytes */
	uint64_t subseed; /* its own random stream (fragment sizes, pauses) */
};

enum { FS_SPECIAL_NONE, FS_SPECIAL_TLS_IMPLICIT, FS_SPECIAL_TLS_STLS, FS_SPECIAL_SLOW };

struct finding {
	char kind[24];
	char message[600];
	struct fcase c;
	char *yaml;
};

struct fuzz {
	const char *target_file, *json, *fixtures;
	const char *gens; /* --gen: comma-separated generator names to run; NULL: all */
	int reference, quiet, shard_index, shard_count;
	double duration, timeout;
	long cases;
	long max_findings;
	uint64_t seed;
	struct target t;
	const struct fixture *fx;
	long run, skipped_checks;
	struct finding found[FUZZ_MAX_FINDINGS];
	size_t nfound;
	SSL_CTX *tls;     /* for the TLS-in-fragments case; NULL when the target has no TLS */
	int tls_implicit; /* a tls_port */
	int tls_stls;     /* CAPA announces STLS on the plain port */
	long tls_cases, slow_cases;
	/* STAT right after each reset: what the checks compare with. The count must be the fixture's, and
	 * with `delivery: verbatim` the size too; with `delivery: agent` the size is not judged. */
	unsigned long long base_count, base_total;
};

/* ---- generation ------------------------------------------------------------------------------------ */

static void put(struct fcase *c, const void *p, size_t n)
{
	if (c->len + n > FUZZ_MAX_PAYLOAD)
		n = FUZZ_MAX_PAYLOAD - c->len;
	memcpy(c->data + c->len, p, n);
	c->len += n;
}

static void puts_(struct fcase *c, const char *s)
{
	put(c, s, strlen(s));
}

static void fill(struct fcase *c, char ch, size_t n)
{
	while (n-- && c->len < FUZZ_MAX_PAYLOAD)
		c->data[c->len++] = ch;
}

static const char *const words[] = {"USER", "PASS", "APOP", "AUTH", "STAT",  "LIST", "RETR",
                                    "DELE", "NOOP", "RSET", "TOP",  "UIDL",  "CAPA", "STLS",
                                    "UTF8", "LANG", "QUIT", "user", "XYZZY", ""};
static const char *const numbers[] = {"0",
                                      "1",
                                      "-1",
                                      "+1",
                                      "1x",
                                      " 1",
                                      "01",
                                      "4294967295",
                                      "4294967296",
                                      "2147483647",
                                      "2147483648",
                                      "18446744073709551615",
                                      "18446744073709551616",
                                      "99999999999999999999999",
                                      "0x1",
                                      "1e3",
                                      "",
                                      "1 1",
                                      "3 -1",
                                      "1 99999999999"};
static const char *const b64s[] = {"=",        "====",       "A", "AB=",      "A===",       "!!!!",
                                   "AGFsaWNl", "AGFsaWNlAA", "*", "AA==AA==", "Zm9v\tYmFy", ""};

static void gen(const struct fuzz *F, struct rng *r, struct fcase *c)
{
	c->len = 0;
	c->split = 0;
	c->special = FS_SPECIAL_NONE;
	c->subseed = rng_next(r);
	/* One case in 64 is a slow client (a second or two each), two in 64 a TLS handshake in fragments. */
	uint64_t sel = rng_below(r, 64);
	c->state = (enum fstate)rng_below(r, 3);
	if (sel == 0) {
		c->gen = "slow-client";
		c->special = FS_SPECIAL_SLOW;
		c->state = c->state == FS_TRANS ? FS_TRANS : FS_AUTH;
		return;
	}
	if (sel <= 2 && (F->tls_implicit || F->tls_stls)) {
		c->gen = "tls-fragments";
		c->state = FS_AUTH;
		c->special = F->tls_implicit && (!F->tls_stls || (c->subseed & 1)) ? FS_SPECIAL_TLS_IMPLICIT
		                                                                   : FS_SPECIAL_TLS_STLS;
		return;
	}
	const char *w = words[rng_below(r, sizeof words / sizeof words[0])];
	switch (rng_below(r, 8)) {
	case 0: { /* over-long arguments and lines around the limits (RFC 2449 §4: 255 octets) */
		static const size_t lens[] = {40,  41,  250,  253,  254,  255,  256,
		                              510, 512, 1024, 4096, 8192, 65000};
		static const size_t limits[] = {POP3_MAX_COMMAND_LINE, POP3_MAX_STATUS_LINE, 1024, 4096};
		size_t n = rng_below(r, 2) ? lens[rng_below(r, sizeof lens / sizeof lens[0])]
		                           : 200 + rng_below(r, 80);
		int inject = rng_below(r, 2);
		if (inject) {
			/* A line that ends just past a limit, then commands: what follows the cut must never
			 * run as a command (P-LINE-2), so a server that does so deletes a message. */
			c->state = FS_TRANS;
			n = limits[rng_below(r, 4)] + rng_below(r, 3) - 1;
		}
		c->gen = "over-long";
		puts_(c, w);
		puts_(c, " ");
		fill(c, (char)('A' + rng_below(r, 26)), n > strlen(w) + 1 ? n - strlen(w) - 1 : 1);
		if (inject) {
			puts_(c, "DELE 1\r\nQUIT\r\n");
			return;
		}
		puts_(c, "\r\n");
		return;
	}
	case 1: { /* every byte value */
		c->gen = "bytes";
		size_t n = rng_below(r, 300);
		for (size_t i = 0; i < n && c->len < FUZZ_MAX_PAYLOAD; i++)
			c->data[c->len++] = (char)rng_below(r, 256);
		puts_(c, "\r\n");
		return;
	}
	case 2: /* numbers at integer boundaries */
		c->gen = "numbers";
		puts_(c, w);
		puts_(c, " ");
		puts_(c, numbers[rng_below(r, sizeof numbers / sizeof numbers[0])]);
		puts_(c, "\r\n");
		return;
	case 3: /* broken base64 in AUTH (RFC 4648 §3.3, RFC 5034 §4) */
		c->gen = "base64";
		c->state = rng_below(r, 2) ? FS_AUTH : FS_USER;
		if (rng_below(r, 2)) {
			puts_(c, "AUTH PLAIN ");
			puts_(c, b64s[rng_below(r, sizeof b64s / sizeof b64s[0])]);
			puts_(c, "\r\n");
		} else {
			puts_(c, rng_below(r, 2) ? "AUTH PLAIN\r\n" : "AUTH LOGIN\r\n");
			puts_(c, b64s[rng_below(r, sizeof b64s / sizeof b64s[0])]);
			puts_(c, "\r\n");
		}
		return;
	case 4: { /* empty and odd arguments, control octets, bare CR and LF */
		static const char *const odd[] = {"",   " ",  "  ",   "\t",   "\0",
		                                  "\r", "\n", "\x7f", "\xff", " \0x"};
		c->gen = "arguments";
		puts_(c, w);
		const char *o = odd[rng_below(r, sizeof odd / sizeof odd[0])];
		put(c, o, *o ? strlen(o) : (rng_below(r, 2) ? 1 : 0));
		puts_(c, rng_below(r, 2) ? "\r\n" : rng_below(r, 2) ? "\n" : "\r\r\n");
		return;
	}
	case 5: /* split line ends: CR and LF in separate writes */
		c->gen = "split";
		c->split = 1;
		puts_(c, w);
		puts_(c, "\r\nNOOP\r\nSTAT\r\n");
		return;
	case 6: { /* merged: many commands in one write, without waiting (RFC 2449 §6.6) */
		c->gen = "flood";
		size_t n = 50 + rng_below(r, 3000);
		const char *cmd =
		    c->state == FS_TRANS ? (rng_below(r, 2) ? "STAT\r\n" : "LIST\r\n") : "NOOP\r\n";
		for (size_t i = 0; i < n && c->len + 8 < FUZZ_MAX_PAYLOAD; i++)
			puts_(c, cmd);
		return;
	}
	default: { /* a valid command with one octet changed */
		static const char *const valid[] = {"USER a\r\n", "STAT\r\n",    "LIST 1\r\n",
		                                    "RETR 1\r\n", "TOP 1 0\r\n", "UIDL 1\r\n",
		                                    "NOOP\r\n",   "RSET\r\n",    "CAPA\r\n"};
		c->gen = "mutation";
		puts_(c, valid[rng_below(r, sizeof valid / sizeof valid[0])]);
		size_t at = rng_below(r, c->len);
		c->data[at] = (char)rng_below(r, 256);
		return;
	}
	}
}

/* ---- running a case ---------------------------------------------------------------------------------- */

static int ms(const struct fuzz *F)
{
	return (int)(F->timeout * 1000);
}

static void sleep_ms(long n)
{
	struct timespec ts = {n / 1000, (n % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Read a status line; 1 +OK, 0 -ERR or anything else, -1 nothing (timeout or close: *st says which). */
static int status(struct fuzz *F, struct conn *c, enum conn_status *st, char *out, size_t outsize)
{
	const char *p;
	struct line ln;
	struct p3err err;
	*st = conn_read_line(c, POP3_MAX_DATA_LINE, ms(F), &p, &ln, &err);
	if (*st != CONN_OK)
		return -1;
	snprintf(out, outsize, "%.*s", (int)(ln.len < outsize ? ln.len : outsize - 1), p);
	return ln.len >= 3 && memcmp(p, "+OK", 3) == 0;
}

static int finding(struct finding *f, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int finding(struct finding *f, const char *kind, const char *fmt, ...)
{
	snprintf(f->kind, sizeof f->kind, "%s", kind);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof f->message, fmt, ap);
	va_end(ap);
	return 1;
}

static int cmd(struct fuzz *F, struct conn *c, const char *line, char *out, size_t outsize,
               enum conn_status *st)
{
	char buf[600];
	int n = snprintf(buf, sizeof buf, "%s\r\n", line);
	struct p3err err;
	if ((*st = conn_write(c, buf, (size_t)n, ms(F), &err)) != CONN_OK)
		return -1;
	return status(F, c, st, out, outsize);
}

static const char *why_(enum conn_status st)
{
	return st == CONN_TIMEOUT ? "no reply in time"
	       : st == CONN_EOF   ? "the connection closed"
	                          : "I/O error";
}

/* Connect and read the greeting: 0, or 1 with a finding (crash or hang). */
static int open_session(struct fuzz *F, struct conn **c, struct finding *f)
{
	/* A connection closed before the greeting, or a -ERR greeting, is retried for a while: a server may
	 * limit connections per address (Courier's couriertcpd: MAXPERIP=4) and still count the case's
	 * connections it has not reaped yet. A refused connect is a crash at once; a silent one a hang. */
	long long until = model_now_ms() + FUZZ_LOGIN_RETRY_MS;
	for (;;) {
		struct p3err err;
		enum conn_status st = conn_open(c, F->t.host, F->t.port, ms(F), &err);
		if (st != CONN_OK)
			return finding(f, st == CONN_TIMEOUT ? "hang" : "crash", "connect: %s", err.msg);
		char line[600];
		int rc = status(F, *c, &st, line, sizeof line);
		if (rc == 1)
			return 0;
		conn_abort(*c);
		*c = NULL;
		if (st == CONN_TIMEOUT)
			return finding(f, "hang", "no greeting: %s", why_(st));
		if (model_now_ms() > until)
			return finding(f, "crash", "no +OK greeting for %d s: %s", FUZZ_LOGIN_RETRY_MS / 1000,
			               st == CONN_OK ? line : why_(st));
		sleep_ms(100);
	}
}

/* Log in, retrying while the maildrop is still locked by the case's dropped session. */
static int login(struct fuzz *F, struct conn **c, struct finding *f)
{
	long long until = model_now_ms() + FUZZ_LOGIN_RETRY_MS;
	char line[600], l2[600];
	enum conn_status st;
	for (;;) {
		if (*c == NULL && open_session(F, c, f))
			return 1;
		char u[300], p[300];
		snprintf(u, sizeof u, "USER %s", F->t.accounts[0].user);
		snprintf(p, sizeof p, "PASS %s", F->t.accounts[0].password);
		int rc = cmd(F, *c, u, line, sizeof line, &st);
		if (rc == 1)
			rc = cmd(F, *c, p, l2, sizeof l2, &st);
		if (rc == 1)
			return 0;
		conn_abort(*c);
		*c = NULL;
		if (rc < 0)
			return finding(f, st == CONN_TIMEOUT ? "hang" : "crash", "login after the case: %s",
			               why_(st));
		if (model_now_ms() > until)
			return finding(f, "login", "the account cannot log in any more: \"%.200s\"",
			               rc == 0 ? l2 : line);
		sleep_ms(50);
	}
}

/* Whether the input itself deletes legitimately: a well-formed DELE line, later a QUIT line. */
static int deletes(const struct fcase *c)
{
	int dele = 0;
	for (size_t at = 0; at < c->len;) {
		const char *nl = memchr(c->data + at, '\n', c->len - at);
		size_t n = nl ? (size_t)(nl - (c->data + at)) + 1 : c->len - at;
		if (n <= POP3_MAX_COMMAND_LINE && !memchr(c->data + at, '\0', n)) {
			if (n >= 5 && strncasecmp(c->data + at, "DELE ", 5) == 0)
				dele = 1;
			if (dele && n >= 4 && strncasecmp(c->data + at, "QUIT", 4) == 0)
				return 1;
		}
		at += n;
	}
	return 0;
}

static void io_target(struct fuzz *F, struct fuzz_io_target *ft)
{
	memset(ft, 0, sizeof *ft);
	ft->host = F->t.host;
	ft->sni = F->t.sni ? F->t.sni : F->t.host;
	ft->user = F->t.accounts[0].user;
	ft->password = F->t.accounts[0].password;
	ft->port = F->t.port;
	ft->tls_port = F->t.tls_port;
	ft->tls = F->tls;
	ft->timeout_ms = ms(F);
	ft->count = F->fx->count;
}

static enum fuzz_io_result io_kind(const char *kind)
{
	return strcmp(kind, "hang") == 0    ? FUZZ_IO_HANG
	       : strcmp(kind, "crash") == 0 ? FUZZ_IO_CRASH
	       : strcmp(kind, "state") == 0 ? FUZZ_IO_STATE
	                                    : FUZZ_IO_LOGIN;
}

/* The slow client's half-way check: another session is greeted in time, and when the slow one holds no
 * lock, logs in and finds STAT as the fixture left it. */
static enum fuzz_io_result slow_check(void *ctx, int slow_holds_lock, char *why, size_t whysize)
{
	struct fuzz *F = ctx;
	struct finding f = {0};
	struct conn *s = NULL;
	if (slow_holds_lock) {
		if (open_session(F, &s, &f)) {
			snprintf(why, whysize, "another client: %s", f.message);
			return io_kind(f.kind);
		}
		conn_close(s);
		return FUZZ_IO_OK;
	}
	if (login(F, &s, &f)) {
		snprintf(why, whysize, "another client: %s", f.message);
		return io_kind(f.kind);
	}
	char line[600];
	enum conn_status st;
	int rc = cmd(F, s, "STAT", line, sizeof line, &st);
	unsigned long long n, total;
	enum fuzz_io_result res = FUZZ_IO_OK;
	if (rc < 0) {
		snprintf(why, whysize, "another client's STAT: %s", why_(st));
		res = st == CONN_TIMEOUT ? FUZZ_IO_HANG : FUZZ_IO_CRASH;
	} else if (rc != 1 || sscanf(line, "+OK %llu %llu", &n, &total) != 2 || n != F->fx->count) {
		snprintf(why, whysize, "another client's STAT is \"%.100s\"", line);
		res = FUZZ_IO_STATE;
	} else {
		cmd(F, s, "QUIT", line, sizeof line, &st);
	}
	conn_close(s);
	return res;
}

static const char *io_name(enum fuzz_io_result r, int special)
{
	switch (r) {
	case FUZZ_IO_HANG:
		return "hang";
	case FUZZ_IO_CRASH:
		return "crash";
	case FUZZ_IO_STATE:
		return "state";
	case FUZZ_IO_LOGIN:
		return "login";
	default:
		return special == FS_SPECIAL_SLOW ? "slow" : "tls";
	}
}

/* Run one case: 0 nothing found, 1 a finding in f. */
static int run_case(struct fuzz *F, const struct fcase *c, struct finding *f)
{
	struct p3err err;
	struct conn *s = NULL;
	enum conn_status st;
	char line[600];
	if (c->special != FS_SPECIAL_NONE) {
		struct fuzz_io_target ft;
		io_target(F, &ft);
		struct rng sub;
		rng_seed(&sub, c->subseed, 1, 2);
		char w[800] = "";
		enum fuzz_io_result r;
		if (c->special == FS_SPECIAL_SLOW) {
			long took;
			r = fuzz_slow_client(&ft, c->state == FS_TRANS, &sub, slow_check, F, w, sizeof w,
			                     &took);
			F->slow_cases++;
		} else {
			size_t writes;
			r = fuzz_tls_fragments(&ft, c->special == FS_SPECIAL_TLS_STLS, &sub, w, sizeof w,
			                       &writes);
			F->tls_cases++;
		}
		if (r != FUZZ_IO_OK && r != FUZZ_IO_SKIP)
			return finding(f, io_name(r, c->special), "%s", w);
		goto check;
	}
	if (c->state == FS_TRANS) {
		if (login(F, &s, f))
			return 1;
	} else if (open_session(F, &s, f)) {
		return 1;
	}
	if (c->state == FS_USER && cmd(F, s, "USER fuzz", line, sizeof line, &st) < 0) {
		conn_abort(s);
		return finding(f, st == CONN_TIMEOUT ? "hang" : "crash", "USER before the case: %s",
		               why_(st));
	}
	if (c->split) {
		for (size_t i = 0; i < c->len; i++) {
			if (conn_write(s, c->data + i, 1, ms(F), &err) != CONN_OK)
				break;
			if (c->data[i] == '\r')
				sleep_ms(2);
		}
	} else {
		(void)conn_write(s, c->data, c->len, ms(F), &err);
	}
	/* The replies: read until quiet, closed, or too much; their content is the suite's business. */
	size_t drained = 0;
	long long deadline = model_now_ms() + ms(F) * 2;
	while (drained < FUZZ_DRAIN_MAX && model_now_ms() < deadline) {
		const char *p;
		struct line ln;
		st = conn_read_line(s, CONN_BUF_MAX, FUZZ_QUIET_MS, &p, &ln, &err);
		if (st == CONN_OK || st == CONN_TOO_LONG)
			drained += ln.consumed ? ln.consumed : 1;
		else
			break;
	}
	conn_abort(s);
	s = NULL;
check:
	/* Liveness and consistency: a fresh session logs in and finds the fixture as it was (the case's
	 * session ended without QUIT, or with a QUIT after no valid DELE: RFC 1939 §6). */
	if (login(F, &s, f))
		return 1;
	int rc = cmd(F, s, "STAT", line, sizeof line, &st);
	conn_close(s);
	if (rc < 0)
		return finding(f, st == CONN_TIMEOUT ? "hang" : "crash", "STAT after the case: %s", why_(st));
	unsigned long long n, total;
	if (deletes(c)) {
		F->skipped_checks++;
		return 0;
	}
	/* With `delivery: agent` sizes are the server's business, as in the scenarios (size_re): GNU
	 * Mailutils writes X-UIDL and Status header lines into the mbox when a session ends, so every
	 * message grows after the first session; only the count is judged then. */
	if (rc != 1 || sscanf(line, "+OK %llu %llu", &n, &total) != 2 || n != F->base_count ||
	    (target_delivery(&F->t) == DELIVERY_VERBATIM && total != F->base_total))
		return finding(
		    f, "state",
		    "after the case STAT is \"%.100s\"; the maildrop holds %llu messages (%llu octets) and "
		    "nothing was deleted with a valid DELE and QUIT",
		    line, F->base_count, F->base_total);
	return 0;
}

/* Reset the maildrop to the fixture and take the baseline STAT. 0, or -1 with a message (a target error:
 * the reset failed, or left another count than the fixture's, or other sizes with `delivery: verbatim`). */
static int reset(struct fuzz *F)
{
	struct p3err err;
	if (target_reset(&F->t, &F->t.accounts[0], F->fx->dir, &err) != 0) {
		fprintf(stderr, "pop3spec fuzz: %s\n", err.msg);
		return -1;
	}
	struct conn *s = NULL;
	struct finding f = {0};
	char line[600];
	enum conn_status st;
	if (login(F, &s, &f)) {
		/* RFC 2449 §8.1.1: a server may refuse logins that come too soon; fuzz needs one after every
		 * case, so such a target cannot be fuzzed as configured (Cyrus's popminpoll). */
		fprintf(
		    stderr, "pop3spec fuzz: after the reset: %s%s\n", f.message,
		    strstr(f.message, "[LOGIN-DELAY]")
		        ? " (the server paces logins; fuzz logs in after every case: lift the delay for this "
		          "account)"
		        : "");
		return -1;
	}
	int rc = cmd(F, s, "STAT", line, sizeof line, &st);
	if (rc >= 0)
		cmd(F, s, "QUIT", line + 300, sizeof line - 300, &st);
	conn_close(s);
	unsigned long long n, total;
	if (rc != 1 || sscanf(line, "+OK %llu %llu", &n, &total) != 2 || n != F->fx->count ||
	    (target_delivery(&F->t) == DELIVERY_VERBATIM && total != F->fx->total)) {
		fprintf(
		    stderr,
		    "pop3spec fuzz: after the reset STAT is \"%.100s\", the fixture has %zu messages (%llu "
		    "octets)\n",
		    rc >= 0 ? line : why_(st), F->fx->count, F->fx->total);
		return -1;
	}
	F->base_count = n;
	F->base_total = total;
	return 0;
}

/* ---- shrinking and the scenario ----------------------------------------------------------------------- */

/* Remove chunks (halves, quarters, ... single octets) while the same kind of finding still happens. */
static void shrink(struct fuzz *F, struct finding *f)
{
	int tries = 0;
	char *buf = malloc(f->c.len ? f->c.len : 1);
	if (buf == NULL)
		return;
	for (size_t chunk = f->c.len / 2; chunk >= 1 && tries < FUZZ_SHRINK_TRIES; chunk /= 2) {
		for (size_t at = 0; at + chunk <= f->c.len && tries < FUZZ_SHRINK_TRIES;) {
			struct fcase t = f->c;
			memcpy(buf, f->c.data, at);
			memcpy(buf + at, f->c.data + at + chunk, f->c.len - at - chunk);
			t.data = buf;
			t.len = f->c.len - chunk;
			struct finding g = {0};
			tries++;
			if (reset(F) != 0)
				break;
			if (t.len > 0 && run_case(F, &t, &g) && strcmp(g.kind, f->kind) == 0) {
				memcpy(f->c.data, buf, t.len);
				f->c.len = t.len;
				snprintf(f->message, sizeof f->message, "%s", g.message);
				continue; /* the same position, shorter input */
			}
			at += chunk;
		}
		if (chunk == 1)
			break;
	}
	free(buf);
	reset(F);
}

static void yaml_bytes(char **out, size_t *len, size_t *cap, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (*len + 8 > *cap) {
			char *grown = realloc(*out, *cap * 2 + 64);
			if (grown == NULL)
				return;
			*out = grown;
			*cap = *cap * 2 + 64;
		}
		unsigned char ch = (unsigned char)p[i];
		if (ch == '\r')
			*len += (size_t)sprintf(*out + *len, "\\r");
		else if (ch == '\n')
			*len += (size_t)sprintf(*out + *len, "\\n");
		else if (ch == '"' || ch == '\\')
			*len += (size_t)sprintf(*out + *len, "\\%c", ch);
		else if (ch == '$' && i + 1 < n && p[i + 1] == '{')
			*len +=
			    (size_t)sprintf(*out + *len, "$$"); /* a literal "${" (scenario-language.md) */
		else if (ch < 0x20 || ch >= 0x7f)
			*len += (size_t)sprintf(*out + *len, "\\x%02x", ch);
		else
			(*out)[(*len)++] = (char)ch;
		(*out)[*len] = '\0';
	}
}

static void make_yaml(struct fuzz *F, struct finding *f, long index)
{
	size_t cap = 4096 + f->c.len * 4, len = 0;
	char *y = malloc(cap);
	if (y == NULL)
		return;
	if (f->c.special != FS_SPECIAL_NONE) {
		/* Timing, not bytes: the scenario language has no step that cuts a handshake or trickles a
		 * line, so the reproducer is the command that replays the case (case i of a seed is fixed).
		 */
		snprintf(y, cap,
		         "# Found by pop3spec fuzz --seed %" PRIu64 " (case %ld, %s in %s): %s\n"
		         "# %s\n# Replay: pop3spec fuzz --target PROFILE --seed %" PRIu64 " --cases %ld "
		         "(cases 0-%ld; this one last)\n",
		         F->seed, index, f->c.gen, fstate_name[f->c.state], f->kind, f->message, F->seed,
		         index / F->shard_count + 1, index);
		f->yaml = y;
		return;
	}
	len += (size_t)snprintf(y, cap,
	                        "# Found by pop3spec fuzz --seed %" PRIu64 " (case %ld, %s input in %s): %s\n"
	                        "id: robustness/fuzz/%s-%" PRIu64 "-%ld\n"
	                        "title: The server survives this input and keeps the maildrop intact\n"
	                        "refs: [P-LINE-2, P-LINE-3]\nlevel: MUST\ntags: [robustness, fuzz]\n"
	                        "fixture: %s\nsteps:\n  - connect: plain\n",
	                        F->seed, index, f->c.gen, fstate_name[f->c.state], f->kind, f->kind, F->seed,
	                        index, F->fx->name);
	if (f->c.state == FS_TRANS)
		len += (size_t)snprintf(y + len, cap - len, "  - login: {}\n");
	else if (f->c.state == FS_USER)
		len += (size_t)snprintf(y + len, cap - len, "  - send: USER fuzz\n    expect: any\n");
	len += (size_t)snprintf(y + len, cap - len, "  - raw: \"");
	yaml_bytes(&y, &len, &cap, f->c.data, f->c.len);
	char tail[600];
	snprintf(
	    tail, sizeof tail,
	    "\"\n  - sleep: 0.5\n  - drop: rst\n  - connect: {plain: true, session: check}\n"
	    "  - login: {session: check}\n  - send: STAT\n    session: check\n"
	    "    expect: {status: ok, match: '^\\+OK ${fixture.count} ${size_re(fixture.total)}( |$)'}\n");
	if (len + strlen(tail) + 1 > cap) {
		char *n = realloc(y, len + strlen(tail) + 1);
		if (n == NULL) {
			free(y);
			return;
		}
		y = n;
	}
	memcpy(y + len, tail, strlen(tail) + 1);
	f->yaml = y;
}

/* ---- the command ---------------------------------------------------------------------------------- */

/* Which TLS the handshake-in-fragments case can use: the implicit-TLS port, STLS when CAPA announces it
 * (RFC 2595 §4), both, or none (no such case then). 0, or -1 with a message (TLS set-up failed). */
static int probe_tls(struct fuzz *F)
{
	F->tls_implicit = F->t.tls_port != 0;
	struct conn *s = NULL;
	struct finding f = {0};
	if (F->t.port && open_session(F, &s, &f) == 0) {
		char line[600];
		enum conn_status st;
		if (cmd(F, s, "CAPA", line, sizeof line, &st) == 1) {
			for (;;) {
				const char *p;
				struct line ln;
				struct p3err err;
				if (conn_read_line(s, POP3_MAX_DATA_LINE, ms(F), &p, &ln, &err) != CONN_OK)
					break;
				if (ln.len == 1 && p[0] == '.')
					break;
				if (ln.len >= 4 && strncasecmp(p, "STLS", 4) == 0 &&
				    (ln.len == 4 || p[4] == ' '))
					F->tls_stls = 1;
			}
		}
		conn_close(s);
	}
	if (!F->tls_implicit && !F->tls_stls)
		return 0;
	struct tls_client_opts to = {.verify = F->t.tls_verify, .ca_file = F->t.ca};
	struct p3err err;
	F->tls = tls_client_ctx(&to, &err);
	if (F->tls == NULL) {
		fprintf(stderr, "pop3spec fuzz: TLS set-up: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int usage(const char *msg)
{
	fprintf(stderr, "pop3spec fuzz: %s (pop3spec fuzz --help)\n", msg);
	return 2;
}

static const char *const gen_names[] = {"over-long", "bytes", "numbers",  "base64",        "arguments",
                                        "split",     "flood", "mutation", "tls-fragments", "slow-client"};

/* Whether name is in the comma-separated list. */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && strncmp(p, name, n) == 0)
			return 1;
		p += l + (e != NULL);
	}
	return 0;
}

/* --gen: every name one of gen_names. */
static int gens_ok(const char *list)
{
	char buf[300];
	snprintf(buf, sizeof buf, "%s", list);
	char *save = NULL;
	int n = 0;
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save), n++) {
		int known = 0;
		for (size_t i = 0; i < sizeof gen_names / sizeof gen_names[0]; i++)
			known |= strcmp(w, gen_names[i]) == 0;
		if (!known)
			return 0;
	}
	return n > 0;
}

static int parse(int argc, char **argv, struct fuzz *F)
{
	F->duration = 60;
	F->timeout = 5;
	F->seed = (uint64_t)time(NULL);
	F->shard_index = F->shard_count = 1;
	F->max_findings = FUZZ_MAX_FINDINGS;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (strcmp(a, "--reference") == 0)
			F->reference = 1;
		else if (strcmp(a, "-q") == 0)
			F->quiet = 1;
		else if (v == NULL)
			return usage("an option needs a value, or is unknown") - 3;
		else if (strcmp(a, "--target") == 0)
			F->target_file = v, i++;
		else if (strcmp(a, "--json") == 0)
			F->json = v, i++;
		else if (strcmp(a, "--fixtures") == 0)
			F->fixtures = v, i++;
		else if (strcmp(a, "--gen") == 0 && gens_ok(v))
			F->gens = v, i++;
		else if (strcmp(a, "--duration") == 0 && (F->duration = strtod(v, &end)) > 0 && !*end)
			i++;
		else if (strcmp(a, "--timeout") == 0 && (F->timeout = strtod(v, &end)) > 0 && !*end)
			i++;
		else if (strcmp(a, "--max-findings") == 0 && (F->max_findings = strtol(v, &end, 10)) > 0 &&
		         F->max_findings <= FUZZ_MAX_FINDINGS && !*end)
			i++;
		else if (strcmp(a, "--cases") == 0 && (F->cases = strtol(v, &end, 10)) > 0 && !*end)
			i++;
		else if (strcmp(a, "--seed") == 0 && *v != '-' && ((F->seed = strtoull(v, &end, 10)), !*end))
			i++;
		else if (strcmp(a, "--shard") == 0 &&
		         sscanf(v, "%d/%d", &F->shard_index, &F->shard_count) == 2 && F->shard_count >= 1 &&
		         F->shard_index >= 1 && F->shard_index <= F->shard_count)
			i++;
		else {
			char msg[200];
			snprintf(msg, sizeof msg, "bad option or value: %.60s %.60s", a, v);
			return usage(msg) - 3;
		}
	}
	if (!F->target_file == !F->reference)
		return usage("give one of --target FILE and --reference") - 3;
	return 0;
}

static int write_json(struct fuzz *F, double elapsed)
{
	json_t *o = json_object(), *va = json_array();
	json_object_set_new(o, "target", json_string(F->t.name ? F->t.name : "?"));
	json_object_set_new(o, "mode", json_string("fuzz"));
	json_object_set_new(o, "seed", json_integer((json_int_t)F->seed));
	char shard[32];
	snprintf(shard, sizeof shard, "%d/%d", F->shard_index, F->shard_count);
	json_object_set_new(o, "shard", json_string(shard));
	json_object_set_new(o, "duration_s", json_real(elapsed));
	json_object_set_new(o, "cases", json_integer(F->run));
	json_object_set_new(o, "sessions", json_integer(F->run * 2));
	json_object_set_new(o, "commands", json_integer(F->run));
	json_object_set_new(o, "consistency_checks_skipped", json_integer(F->skipped_checks));
	json_object_set_new(o, "tls_cases", json_integer(F->tls_cases));
	json_object_set_new(o, "slow_cases", json_integer(F->slow_cases));
	for (size_t i = 0; i < F->nfound; i++) {
		struct finding *f = &F->found[i];
		char *msg = utf8_sanitize(f->message);
		json_t *tr = json_array();
		json_array_append_new(
		    tr, json_pack("{s:s,s:[s]}", "session", "case", "lines", f->yaml ? f->yaml : ""));
		json_array_append_new(va, json_pack("{s:s,s:s,s:s,s:s,s:o}", "kind", f->kind, "message",
		                                    msg ? msg : "", "reproducer", f->yaml ? f->yaml : "",
		                                    "state", fstate_name[f->c.state], "transcripts", tr));
		free(msg);
	}
	json_object_set_new(o, "violations", va);
	struct p3err err;
	FILE *fp = report_open(F->json, &err);
	int rc = -1;
	if (fp) {
		json_dumpf(o, fp, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		fputc('\n', fp);
		rc = report_close(fp, F->json, &err);
	}
	if (rc != 0)
		fprintf(stderr, "pop3spec fuzz: %s\n", err.msg);
	json_decref(o);
	return rc;
}

int stress_fuzz_main(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			puts("usage: pop3spec fuzz (--target FILE | --reference) [--duration S] [--cases N] "
			     "[--seed N]\n"
			     "                     [--timeout S] [--max-findings N] [--shard I/N] "
			     "[--fixtures DIR]\n"
			     "                     [--gen NAME,...] [--json FILE] [-q]\n"
			     "Generators: over-long bytes numbers base64 arguments split flood mutation "
			     "tls-fragments\n"
			     "slow-client.\n"
			     "Generated and mutated input in each state, each case followed by a fresh login "
			     "and STAT;\n"
			     "a finding is shrunk and printed as a scenario. Exit 0 nothing found, 1 a "
			     "finding, 2 usage\n"
			     "or target errors. See docs/stress.md.");
			return 0;
		}
	static struct fuzz F;
	if (parse(argc, argv, &F) != 0)
		return 2;
	struct p3err err;
	if (F.reference ? reference_start(&F.t, &err) != 0 : target_load(F.target_file, &F.t, &err) != 0) {
		fprintf(stderr, "pop3spec fuzz: %s\n", err.msg);
		return 2;
	}
	int rc = 2;
	char fxdir[4096];
	snprintf(fxdir, sizeof fxdir, "%s", F.fixtures ? F.fixtures : "fixtures");
	struct stat sb;
	if (!F.fixtures && stat(fxdir, &sb) != 0)
		snprintf(fxdir, sizeof fxdir, "%s/fixtures", datadir());
	if (!F.t.port || !target_can_reset(&F.t)) {
		fprintf(stderr, "pop3spec fuzz: the target needs a plain port and a reset (or maildirs)\n");
		goto out;
	}
	if (fixture_get(fxdir, "three", &F.fx, &err) != 0 || reset(&F) != 0) {
		fprintf(stderr, "pop3spec fuzz: %s\n", err.msg);
		goto out;
	}
	if (probe_tls(&F) != 0)
		goto out;
	struct rng r;
	rng_seed(&r, F.seed, 0, 0);
	long long t0 = model_now_ms(), end = t0 + (long long)(F.duration * 1000);
	static char data[FUZZ_MAX_PAYLOAD];
	for (long index = 0; model_now_ms() < end && (!F.cases || F.run < F.cases); index++) {
		struct fcase c = {.data = data};
		gen(&F, &r, &c); /* every shard draws every case, so case i is the same whatever N */
		if (index % F.shard_count != F.shard_index - 1)
			continue;
		if (F.gens && !in_list(F.gens, c.gen))
			continue; /* --gen: the other generators' cases are drawn, not run (case i stays case
			             i) */
		struct finding f = {0};
		F.run++;
		if (run_case(&F, &c, &f)) {
			f.c = c;
			f.c.data = malloc(c.len ? c.len : 1);
			memcpy(f.c.data, c.data, c.len);
			if (strcmp(f.kind, "crash") != 0 && c.special == FS_SPECIAL_NONE) {
				reset(&F);
				shrink(&F, &f);
			}
			make_yaml(&F, &f, index);
			if (!F.quiet)
				fprintf(stderr, "FINDING %s (case %ld): %s\n", f.kind, index, f.message);
			printf("--- %s: %s\n%s", f.kind, f.message, f.yaml ? f.yaml : "");
			if (F.nfound < FUZZ_MAX_FINDINGS)
				F.found[F.nfound++] = f;
			else
				free(f.c.data);
			if (strcmp(f.kind, "crash") == 0 || (long)F.nfound >= F.max_findings)
				break;
			if (reset(&F) != 0)
				break;
		}
	}
	double elapsed = (double)(model_now_ms() - t0) / 1000.0;
	printf("fuzz: %s, seed %" PRIu64 ", %.1f s: %ld cases, %zu finding%s\n", F.t.name ? F.t.name : "?",
	       F.seed, elapsed, F.run, F.nfound, F.nfound == 1 ? "" : "s");
	rc = F.nfound ? 1 : 0;
	if (F.json && write_json(&F, elapsed) != 0)
		rc = 2;
	for (size_t i = 0; i < F.nfound; i++) {
		free(F.found[i].c.data);
		free(F.found[i].yaml);
	}
out:
	if (F.tls)
		SSL_CTX_free(F.tls);
	fixture_cache_clear();
	if (F.reference)
		reference_stop(&F.t);
	else
		target_free(&F.t);
	return rc;
}
