/* fuzz_io.c — the two cases of `pop3spec fuzz` that are about timing rather than bytes: a TLS handshake
 * whose client flights reach the server in small TCP writes at random boundaries (then a whole session
 * inside TLS must work), and a slow client that trickles a command with pauses while another session
 * must still be served in time (docs/stress.md). Plain sockets and OpenSSL memory BIOs: the writes are
 * ours to cut, which lib/conn's buffered TLS would not allow. */
#include "runner/stress/fuzz_io.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>

#include "lib/limits.h"
#include "runner/stress/loadgen.h"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void pause_ms(long n)
{
	struct timespec ts = {n / 1000, (n % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static int say(char *why, size_t whysize, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *why, size_t whysize, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whysize, fmt, ap);
	va_end(ap);
	return -1;
}

/* A TCP connection to host:port with TCP_NODELAY (each write its own segment), or -1. */
static int dial(const char *host, int port, int timeout_ms)
{
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(host, ps, &hints, &ai) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
			close(fd);
			fd = -1;
			continue;
		}
		struct pollfd p = {fd, POLLOUT, 0};
		int err = 0;
		socklen_t el = sizeof err;
		if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
		    err) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

/* Write all of buf: 0, or -1 (closed or no room within the time). */
static int put_all(int fd, const void *buf, size_t n, int timeout_ms)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		struct pollfd pf = {fd, POLLOUT, 0};
		if (poll(&pf, 1, timeout_ms) != 1)
			return -1;
	}
	return 0;
}

/* Read what is there (waiting up to timeout_ms for the first octet): octets read, 0 closed, -1 timeout or
 * error (*timed_out says which). */
static ssize_t get_some(int fd, void *buf, size_t n, int timeout_ms, int *timed_out)
{
	*timed_out = 0;
	for (;;) {
		ssize_t r = recv(fd, buf, n, 0);
		if (r >= 0)
			return r;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		struct pollfd pf = {fd, POLLIN, 0};
		int rc = poll(&pf, 1, timeout_ms);
		if (rc == 0) {
			*timed_out = 1;
			return -1;
		}
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* One plain status line, read octet by octet (nothing after it is consumed: STLS's handshake follows).
 * 1 +OK, 0 anything else, -1 nothing (*timed_out). */
static int plain_status(int fd, int timeout_ms, char *line, size_t size, int *timed_out)
{
	size_t n = 0;
	long long end = now_ms() + timeout_ms;
	for (;;) {
		char ch;
		long long left = end - now_ms();
		ssize_t r = get_some(fd, &ch, 1, left > 0 ? (int)left : 0, timed_out);
		if (r <= 0)
			return -1;
		if (n + 1 < size)
			line[n++] = ch;
		if (ch == '\n')
			break;
	}
	line[n] = '\0';
	return strncmp(line, "+OK", 3) == 0;
}

/* ---- TLS over memory BIOs, the client's writes cut at random ----------------------------------------- */

struct tio {
	int fd;
	SSL *ssl;
	BIO *in, *out; /* network -> SSL, SSL -> network */
	struct rng *rng;
	int cut; /* cut what SSL writes into 1-16 octet TCP writes with short pauses */
	int timeout_ms;
	size_t writes; /* TCP writes made while cutting */
};

/* Send what SSL has written: in pieces when cutting. */
static int flush_out(struct tio *t)
{
	char buf[16384];
	int n;
	while ((n = BIO_read(t->out, buf, sizeof buf)) > 0) {
		for (int at = 0; at < n;) {
			int piece = t->cut ? 1 + (int)rng_below(t->rng, 16) : n - at;
			if (piece > n - at)
				piece = n - at;
			if (put_all(t->fd, buf + at, (size_t)piece, t->timeout_ms) != 0)
				return -1;
			at += piece;
			if (t->cut) {
				t->writes++;
				/* A pause now and then: each piece is its own segment, some a few ms apart.
				 */
				if (rng_below(t->rng, 4) == 0)
					pause_ms((long)rng_below(t->rng, 8));
			}
		}
	}
	return 0;
}

/* Feed the network's octets to SSL: 1 some, 0 closed, -1 timeout or error. */
static int fill_in(struct tio *t, int *timed_out)
{
	char buf[16384];
	ssize_t r = get_some(t->fd, buf, sizeof buf, t->timeout_ms, timed_out);
	if (r <= 0)
		return r == 0 ? 0 : -1;
	BIO_write(t->in, buf, (int)r);
	return 1;
}

static const char *ssl_why(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		return "no error detail";
	ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/* Drive SSL_do_handshake / SSL_write / SSL_read: op 0 handshake, 1 write (buf, n), 2 read a line into buf
 * (size n). Returns 0, or a finding (1) with why set. */
static int tio_op(struct tio *t, int op, char *buf, size_t n, char *why, size_t whysize)
{
	size_t got = 0;
	for (;;) {
		int rc;
		if (op == 0)
			rc = SSL_do_handshake(t->ssl);
		else if (op == 1)
			rc = SSL_write(t->ssl, buf, (int)n);
		else {
			char ch;
			rc = SSL_read(t->ssl, &ch, 1);
			if (rc == 1) {
				if (got + 1 < n)
					buf[got++] = ch;
				if (ch != '\n')
					continue;
				buf[got] = '\0';
			}
		}
		if (flush_out(t) != 0) {
			say(why, whysize, "the server closed the connection while we wrote");
			return 1;
		}
		if (rc > 0)
			return 0;
		int e = SSL_get_error(t->ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			char eb[256];
			say(why, whysize, "TLS failed: %s", ssl_why(eb, sizeof eb));
			return 1;
		}
		if (e == SSL_ERROR_WANT_READ) {
			int timed_out;
			int f = fill_in(t, &timed_out);
			if (f <= 0) {
				say(why, whysize, "%s",
				    timed_out ? "no reply in time" : "the connection closed");
				return 1;
			}
		}
	}
}

static int tio_cmd(struct tio *t, const char *line, char *reply, size_t size, char *why, size_t whysize)
{
	char out[600];
	int n = snprintf(out, sizeof out, "%s\r\n", line);
	if (tio_op(t, 1, out, (size_t)n, why, whysize) || tio_op(t, 2, reply, size, why, whysize))
		return -1;
	size_t l = strlen(reply);
	while (l && (reply[l - 1] == '\n' || reply[l - 1] == '\r'))
		reply[--l] = '\0';
	return strncmp(reply, "+OK", 3) == 0;
}

/* One handshake and session; cut: the client's flights in small writes (else written whole). */
static enum fuzz_io_result tls_try(const struct fuzz_io_target *ft, int use_stls, struct rng *rng, int cut,
                                   char *why, size_t whysize, size_t *writes)
{
	int tmo = ft->timeout_ms;
	int fd = dial(ft->host, use_stls ? ft->port : ft->tls_port, tmo);
	*writes = 0;
	if (fd < 0)
		return say(why, whysize, "connect to port %d failed", use_stls ? ft->port : ft->tls_port),
		       FUZZ_IO_CRASH;
	char line[600];
	int timed_out = 0;
	if (use_stls) {
		int rc = plain_status(fd, tmo, line, sizeof line, &timed_out);
		if (rc == 1 && put_all(fd, "STLS\r\n", 6, tmo) == 0)
			rc = plain_status(fd, tmo, line, sizeof line, &timed_out);
		else if (rc == 1)
			rc = -1;
		if (rc != 1) {
			close(fd);
			if (rc == 0) /* STLS refused: not this case's business (the scenarios judge STLS) */
				return FUZZ_IO_SKIP;
			return say(why, whysize, "greeting or STLS: %s",
			           timed_out ? "no reply in time" : "the connection closed"),
			       timed_out ? FUZZ_IO_HANG : FUZZ_IO_SKIP;
		}
	} else {
		/* Implicit TLS (RFC 8314): the handshake comes first. */
	}
	struct tio t = {.fd = fd, .rng = rng, .cut = cut, .timeout_ms = tmo};
	t.ssl = SSL_new(ft->tls);
	t.in = BIO_new(BIO_s_mem());
	t.out = BIO_new(BIO_s_mem());
	enum fuzz_io_result res = FUZZ_IO_OK;
	if (t.ssl == NULL || t.in == NULL || t.out == NULL) {
		BIO_free(t.in);
		BIO_free(t.out);
		SSL_free(t.ssl);
		close(fd);
		return say(why, whysize, "out of memory"), FUZZ_IO_ERROR;
	}
	SSL_set_bio(t.ssl, t.in, t.out);
	SSL_set_connect_state(t.ssl);
	if (ft->sni)
		SSL_set_tlsext_host_name(t.ssl, ft->sni);
	char w[400];
	if (tio_op(&t, 0, NULL, 0, w, sizeof w)) {
		res = strstr(w, "no reply") ? FUZZ_IO_HANG : FUZZ_IO_FOUND;
		say(why, whysize, "a handshake whose client flights came in %zu small writes: %s", t.writes,
		    w);
		goto out;
	}
	*writes = t.writes;
	/* Then a whole session inside TLS, written normally. */
	t.cut = 0;
	if (!use_stls && tio_op(&t, 2, line, sizeof line, w, sizeof w)) {
		res = strstr(w, "no reply") ? FUZZ_IO_HANG : FUZZ_IO_FOUND;
		say(why, whysize, "after a handshake in %zu writes, the greeting: %s", *writes, w);
		goto out;
	}
	char u[300], p[300];
	snprintf(u, sizeof u, "USER %s", ft->user);
	snprintf(p, sizeof p, "PASS %s", ft->password);
	int rc = tio_cmd(&t, u, line, sizeof line, w, sizeof w);
	if (rc == 1)
		rc = tio_cmd(&t, p, line, sizeof line, w, sizeof w);
	if (rc == 1)
		rc = tio_cmd(&t, "STAT", line, sizeof line, w, sizeof w);
	if (rc < 0) {
		res = strstr(w, "no reply") ? FUZZ_IO_HANG : FUZZ_IO_FOUND;
		say(why, whysize, "after a handshake in %zu writes, the session inside TLS: %s", *writes, w);
	} else if (rc == 0) {
		/* A refused login inside TLS may be the dropped session's lock, or USER not offered before a
		 * mechanism: the liveness check after the case judges logins; here only answers count. */
		res = FUZZ_IO_OK;
	} else {
		unsigned long long n, total;
		if (sscanf(line, "+OK %llu %llu", &n, &total) != 2 || n != ft->count) {
			res = FUZZ_IO_STATE;
			say(why, whysize,
			    "after a handshake in %zu writes, STAT inside TLS is \"%.100s\"; the "
			    "maildrop holds %zu messages",
			    *writes, line, ft->count);
		}
		tio_cmd(&t, "QUIT", line, sizeof line, w, sizeof w);
	}
out:
	SSL_free(t.ssl);
	close(fd);
	return res;
}

enum fuzz_io_result fuzz_tls_fragments(const struct fuzz_io_target *ft, int use_stls, struct rng *rng,
                                       char *why, size_t whysize, size_t *writes)
{
	enum fuzz_io_result r = tls_try(ft, use_stls, rng, 1, why, whysize, writes);
	if (r != FUZZ_IO_FOUND && r != FUZZ_IO_HANG)
		return r;
	/* The control: the same, written whole. When that fails too, the failure is not about fragments
	 * (a connection limit, the TLS set-up): not this case's finding; the liveness check judges the rest.
	 */
	char w[400];
	size_t n;
	enum fuzz_io_result c = tls_try(ft, use_stls, rng, 0, w, sizeof w, &n);
	return c == FUZZ_IO_OK ? r : FUZZ_IO_SKIP;
}

/* ---- a slow client ---------------------------------------------------------------------------------- */

enum fuzz_io_result fuzz_slow_client(const struct fuzz_io_target *ft, int logged_in, struct rng *rng,
                                     fuzz_io_check_fn *check, void *check_ctx, char *why, size_t whysize,
                                     long *trickle_ms)
{
	static const char *const cmds_auth[] = {"CAPA", "NOOP", "USER fuzz", "APOP fuzz x", "XYZZY"};
	static const char *const cmds_trans[] = {"STAT", "LIST", "UIDL", "NOOP", "LIST 1", "TOP 1 0"};
	int tmo = ft->timeout_ms;
	int fd = dial(ft->host, ft->port, tmo);
	*trickle_ms = 0;
	if (fd < 0)
		return say(why, whysize, "connect to port %d failed", ft->port), FUZZ_IO_CRASH;
	char line[600];
	int timed_out = 0;
	enum fuzz_io_result res = FUZZ_IO_OK;
	if (plain_status(fd, tmo, line, sizeof line, &timed_out) != 1) {
		/* Closed or -ERR before the greeting (a per-address connection limit): the liveness check
		 * after the case, which retries, judges the server. */
		res = timed_out ? FUZZ_IO_HANG : FUZZ_IO_SKIP;
		say(why, whysize, "no +OK greeting: %s", timed_out ? "no reply in time" : line);
		goto out;
	}
	if (logged_in) {
		char u[300], p[300];
		int n = snprintf(u, sizeof u, "USER %s\r\n", ft->user);
		int m = snprintf(p, sizeof p, "PASS %s\r\n", ft->password);
		if (put_all(fd, u, (size_t)n, tmo) != 0 ||
		    plain_status(fd, tmo, line, sizeof line, &timed_out) != 1 ||
		    put_all(fd, p, (size_t)m, tmo) != 0 ||
		    plain_status(fd, tmo, line, sizeof line, &timed_out) != 1) {
			/* Not logged in (the last case's lock, say): the case goes on in AUTHORIZATION. */
			logged_in = 0;
		}
	}
	const char *cmd = logged_in ? cmds_trans[rng_below(rng, sizeof cmds_trans / sizeof cmds_trans[0])]
	                            : cmds_auth[rng_below(rng, sizeof cmds_auth / sizeof cmds_auth[0])];
	char out[64];
	size_t len = (size_t)snprintf(out, sizeof out, "%s\r\n", cmd);
	long long t0 = now_ms();
	int checked = 0;
	for (size_t at = 0; at < len;) {
		size_t piece = 1 + (size_t)rng_below(rng, 3);
		if (piece > len - at)
			piece = len - at;
		if (put_all(fd, out + at, piece, tmo) != 0) {
			/* RFC 1939 §3: an inactivity autologout timer "MUST be of at least 10 minutes'
			 * duration"; this client has been sending all along. */
			res = FUZZ_IO_FOUND;
			say(why, whysize,
			    "the server closed the connection of a client sending \"%s\" slowly, "
			    "%lld ms in (RFC 1939 §3: autologout only after 10 minutes of inactivity)",
			    cmd, now_ms() - t0);
			goto out;
		}
		at += piece;
		if (at < len) {
			pause_ms(60 + (long)rng_below(rng, 240));
			/* Half-way through the line: another session must be served meanwhile (a server that
			 * blocks on one client's read serves nobody else). */
			if (!checked && at * 2 >= len) {
				checked = 1;
				char cw[600] = "";
				enum fuzz_io_result c = check(check_ctx, logged_in, cw, sizeof cw);
				if (c != FUZZ_IO_OK) {
					res = c;
					say(why, whysize,
					    "while a client sent \"%s\" slowly (%zu of %zu octets in): %s",
					    cmd, at, len, cw);
					goto out;
				}
			}
		}
	}
	*trickle_ms = now_ms() - t0;
	int st = plain_status(fd, tmo, line, sizeof line, &timed_out);
	if (st < 0) {
		res = timed_out ? FUZZ_IO_HANG : FUZZ_IO_FOUND;
		say(why, whysize, "\"%s\" sent in pieces over %ld ms got %s", cmd, *trickle_ms,
		    timed_out ? "no reply in time"
		              : "no reply: the connection closed (RFC 1939 §3: every command "
		                "gets a status line)");
	}
out:
	close(fd);
	return res;
}
