/* conn.c — the runner's client connection: plain TCP or TLS behind one interface, every call bounded by a
 * deadline (poll), one bounded read buffer, STLS switching the transport in place. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "lib/conn.h"

#define CONN_BUF_INITIAL (16 * 1024)

struct conn {
	int fd;
	SSL *ssl;
	char *host; /* as given to conn_open: the default name for TLS checks */
	char *buf;  /* buffered input: buf[start..end) not yet returned */
	size_t cap, start, end;
	bool eof;          /* the peer closed (or reset) */
	bool reset;        /* ... with an RST */
	bool close_notify; /* TLS: the peer's close_notify arrived */
	bool tls_broken;   /* TLS: a fatal error; the SSL object must not be used for I/O again */
	bool sent_close_notify;
};

/* --- deadlines ------------------------------------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A negative timeout means no deadline. */
static long long deadline_in(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* The read end of a pipe that becomes readable when the run must stop (conn_set_cancel_fd), or -1. Polled
 * beside every wait, so a stop reaches a worker blocked on a mute server at once and costs nothing else. */
static int cancel_fd = -1;

void conn_set_cancel_fd(int fd)
{
	cancel_fd = fd;
}

void conn_pause(int ms)
{
	struct pollfd p = {.fd = cancel_fd, .events = POLLIN};
	long long deadline = now_ms() + ms;

	for (;;) {
		long long d = deadline - now_ms();
		if (d <= 0)
			return;
		/* With no cancel fd, poll waits on nothing: a plain sleep that EINTR does not shorten. */
		if (poll(&p, cancel_fd >= 0 ? 1 : 0, d > INT_MAX ? INT_MAX : (int)d) > 0)
			return;
	}
}

/* Wait until fd is ready for `events` or the deadline passes. */
static enum conn_status wait_fd(int fd, short events, long long deadline, struct p3err *err)
{
	struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = cancel_fd, .events = POLLIN}};

	for (;;) {
		int left = -1, n;
		if (deadline >= 0) {
			long long d = deadline - now_ms();
			if (d <= 0)
				return p3err_set(err, "timed out"), CONN_TIMEOUT;
			left = d > INT_MAX ? INT_MAX : (int)d;
		}
		n = poll(p, cancel_fd >= 0 ? 2 : 1, left);
		if (n > 0 && p[1].revents)
			return p3err_set(err, "interrupted"), CONN_ERROR;
		if (n > 0)
			return CONN_OK; /* readable, writable, or an error the next I/O call reports */
		if (n == 0)
			continue; /* the next turn sees the deadline passed */
		if (errno != EINTR)
			return p3err_errno(err, "poll"), CONN_ERROR;
	}
}

/* --- SIGPIPE --------------------------------------------------------------------------------------
 * Plain writes use MSG_NOSIGNAL; OpenSSL writes with write(2), so around TLS calls SIGPIPE is blocked and a
 * SIGPIPE they raise is consumed: a server closing on us must not kill the runner. */

struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	sigset_t set, pending;
	struct timespec zero = {0, 0};
	int saved = errno; /* callers read the TLS call's errno after this */

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1)
		sigtimedwait(&set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
	errno = saved;
}

/* --- opening ------------------------------------------------------------------------------------- */

static enum conn_status connect_one(const struct addrinfo *ai, long long deadline, int *out,
                                    struct p3err *err)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	int one = 1, soerr = 0;
	socklen_t len = sizeof soerr;
	enum conn_status st;

	if (fd < 0)
		return p3err_errno(err, "socket"), CONN_ERROR;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			p3err_errno(err, "connect");
			close(fd);
			return CONN_ERROR;
		}
		st = wait_fd(fd, POLLOUT, deadline, err);
		if (st != CONN_OK) {
			close(fd);
			return st;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
			errno = soerr ? soerr : errno;
			p3err_errno(err, "connect");
			close(fd);
			return CONN_ERROR;
		}
	}
	/* Each write goes out at once: scenarios time replies and send pipelined commands in one write. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*out = fd;
	return CONN_OK;
}

/* Connections open in the process and in each thread (conn_open_count). */
static atomic_long open_total;
static _Thread_local long open_mine;

long conn_open_count(void)
{
	return atomic_load(&open_total);
}

long conn_open_count_thread(void)
{
	return open_mine;
}

enum conn_status conn_open(struct conn **out, const char *host, int port, int timeout_ms, struct p3err *err)
{
	struct addrinfo hints, *res = NULL;
	char portstr[16];
	long long deadline = deadline_in(timeout_ms);
	enum conn_status st = CONN_ERROR;
	int fd = -1, rc;
	struct p3err e;
	struct conn *c;

	*out = NULL;
	if (port <= 0 || port > 65535)
		return p3err_set(err, "%s: bad port %d", host, port), CONN_ERROR;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof portstr, "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0)
		return p3err_set(err, "%s: cannot resolve: %s", host, gai_strerror(rc)), CONN_ERROR;
	p3err_set(&e, "no address");
	for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		st = connect_one(ai, deadline, &fd, &e);
		if (st == CONN_OK || st == CONN_TIMEOUT)
			break;
	}
	freeaddrinfo(res);
	if (st != CONN_OK)
		return p3err_cause(err, &e, "connect to %s port %d: %s", host, port, e.msg), st;

	c = calloc(1, sizeof *c);
	if (c != NULL) {
		c->host = strdup(host);
		c->buf = malloc(CONN_BUF_INITIAL);
	}
	if (c == NULL || c->host == NULL || c->buf == NULL) {
		close(fd);
		if (c != NULL) {
			free(c->host);
			free(c->buf);
			free(c);
		}
		return p3err_set(err, "out of memory"), CONN_ERROR;
	}
	c->fd = fd;
	c->cap = CONN_BUF_INITIAL;
	atomic_fetch_add(&open_total, 1);
	open_mine++;
	*out = c;
	return CONN_OK;
}

/* --- TLS ------------------------------------------------------------------------------------------ */

static bool is_ip_literal(const char *name)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

/* Why a handshake failed, in words: verification errors first, since OpenSSL's own is terse. */
static void handshake_error(SSL *ssl, int rc, int sslerr, const char *name, struct p3err *err)
{
	long vr = SSL_get_verify_result(ssl);

	if (vr != X509_V_OK) {
		ERR_clear_error();
		p3err_set(err, "TLS handshake with %s: certificate verification failed: %s", name,
		          X509_verify_cert_error_string(vr));
	} else if (sslerr == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		if (rc == 0 || errno == 0)
			p3err_set(err, "TLS handshake with %s: the peer closed the connection", name);
		else
			p3err_errno(err, "TLS handshake with %s", name);
	} else {
		p3err_ssl(err, "TLS handshake with %s", name);
	}
}

enum conn_status conn_start_tls(struct conn *c, SSL_CTX *ctx, const char *sni, int timeout_ms,
                                size_t *discarded, struct p3err *err)
{
	long long deadline = deadline_in(timeout_ms);
	const char *name = sni != NULL ? sni : c->host;
	struct sigpipe_guard g;
	enum conn_status st = CONN_OK;
	SSL *ssl;

	/* RFC 2595 §4 / RFC 3207-style injection defence: nothing that arrived in plaintext before the
	 * handshake may be read as if it came over TLS. */
	if (discarded != NULL)
		*discarded = c->end - c->start;
	c->start = c->end = 0;
	if (c->ssl != NULL)
		return p3err_set(err, "TLS is already active"), CONN_ERROR;
	if (c->eof)
		return p3err_set(err, "cannot start TLS: the peer closed the connection"), CONN_EOF;
	ERR_clear_error();
	ssl = SSL_new(ctx);
	if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1) {
		p3err_ssl(err, "cannot set up TLS");
		SSL_free(ssl);
		return CONN_ERROR;
	}
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_connect_state(ssl);
	/* RFC 6066 §3: SNI carries host names only, never address literals. */
	if (!is_ip_literal(name))
		SSL_set_tlsext_host_name(ssl, name);
	if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
		/* RFC 2595 §2.4 / RFC 6125: the certificate must name the server we meant to reach. */
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
		int ok;
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = is_ip_literal(name) ? X509_VERIFY_PARAM_set1_ip_asc(vp, name) : SSL_set1_host(ssl, name);
		if (ok != 1) {
			p3err_ssl(err, "cannot check the certificate against %s", name);
			SSL_free(ssl);
			return CONN_ERROR;
		}
	}
	for (;;) {
		int rc, e;

		ERR_clear_error();
		errno = 0;
		sigpipe_block(&g);
		rc = SSL_connect(ssl);
		e = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
		sigpipe_restore(&g);
		if (rc == 1)
			break;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			st = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, err);
			if (st == CONN_OK)
				continue;
			if (st == CONN_TIMEOUT)
				p3err_set(err, "TLS handshake with %s: timed out", name);
		} else {
			/* A TCP close without a TLS answer: SYSCALL with no error queued, or (OpenSSL 3) this
			 * reason, as fill() reads it too. */
			bool closed = (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && rc == 0) ||
			              ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
			handshake_error(ssl, rc, e, name, err);
			st = closed ? CONN_EOF : CONN_ERROR;
			ERR_clear_error();
		}
		SSL_free(ssl);
		return st;
	}
	c->ssl = ssl;
	return CONN_OK;
}

int conn_is_tls(const struct conn *c)
{
	return c->ssl != NULL;
}

SSL *conn_ssl(struct conn *c)
{
	return c->ssl;
}

/* --- reading -------------------------------------------------------------------------------------- */

static enum conn_status peer_closed(struct conn *c, bool reset, struct p3err *err)
{
	c->eof = true;
	c->reset = c->reset || reset;
	if (reset)
		p3err_set(err, "connection reset by peer");
	else
		p3err_set(err, "connection closed by peer");
	return CONN_EOF;
}

/* Read at least one more octet into buf[end..cap) (which is not empty) before the deadline. */
static enum conn_status fill(struct conn *c, long long deadline, struct p3err *err)
{
	size_t room = c->cap - c->end;

	if (c->eof)
		return peer_closed(c, c->reset, err);
	for (;;) {
		enum conn_status st;

		if (c->ssl != NULL) {
			struct sigpipe_guard g;
			int n, e;

			ERR_clear_error();
			errno = 0;
			sigpipe_block(&g);
			n = SSL_read(c->ssl, c->buf + c->end, room > INT_MAX ? INT_MAX : (int)room);
			e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);
			sigpipe_restore(&g);
			if (n > 0) {
				c->end += (size_t)n;
				return CONN_OK;
			}
			switch (e) {
			case SSL_ERROR_WANT_READ:
				st = wait_fd(c->fd, POLLIN, deadline, err);
				break;
			case SSL_ERROR_WANT_WRITE:
				st = wait_fd(c->fd, POLLOUT, deadline, err);
				break;
			case SSL_ERROR_ZERO_RETURN:
				c->close_notify = true; /* RFC 8446 §6.1: an orderly TLS close */
				return peer_closed(c, false, err);
			case SSL_ERROR_SYSCALL:
				c->tls_broken = true;
				if (ERR_peek_error() == 0 && (n == 0 || errno == 0))
					return peer_closed(c, false,
					                   err); /* TCP close without close_notify */
				if (errno == ECONNRESET)
					return peer_closed(c, true, err);
				return p3err_errno(err, "TLS read"), CONN_ERROR;
			default:
				c->tls_broken = true;
				/* OpenSSL 3 reports a TCP close without close_notify as this error. */
				if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
					ERR_clear_error();
					return peer_closed(c, false, err);
				}
				return p3err_ssl(err, "TLS read"), CONN_ERROR;
			}
		} else {
			ssize_t n = recv(c->fd, c->buf + c->end, room, 0);
			if (n > 0) {
				c->end += (size_t)n;
				return CONN_OK;
			}
			if (n == 0)
				return peer_closed(c, false, err);
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET)
				return peer_closed(c, true, err);
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return p3err_errno(err, "read"), CONN_ERROR;
			st = wait_fd(c->fd, POLLIN, deadline, err);
		}
		if (st != CONN_OK)
			return st;
	}
}

/* Make room at the end of the buffer for a line of up to `limit` octets. */
static void make_room(struct conn *c, size_t limit)
{
	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end == c->cap && c->cap < limit) {
		size_t ncap = c->cap * 2 < limit ? c->cap * 2 : limit;
		char *nb = realloc(c->buf, ncap);
		if (nb != NULL) {
			c->buf = nb;
			c->cap = ncap;
		}
	}
}

enum conn_status conn_read_line(struct conn *c, size_t max, int timeout_ms, const char **line,
                                struct line *ln, struct p3err *err)
{
	long long deadline = deadline_in(timeout_ms);
	size_t limit = (max == 0 || max > CONN_BUF_MAX) ? CONN_BUF_MAX : max;

	for (;;) {
		enum line_status ls = line_scan(c->buf + c->start, c->end - c->start, limit, ln);
		enum conn_status st;

		if (ls != LINE_INCOMPLETE) {
			*line = c->buf + c->start;
			c->start += ln->consumed;
			if (ls == LINE_OK)
				return CONN_OK;
			p3err_set(err, "line longer than %zu octets", limit);
			return CONN_TOO_LONG;
		}
		if (c->eof) {
			/* The peer closed mid-line: hand over what came, once. */
			*line = c->buf + c->start;
			ln->len = ln->consumed = c->end - c->start;
			ln->flags = 0;
			c->start = c->end;
			return peer_closed(c, c->reset, err);
		}
		make_room(c, limit);
		if (c->end == c->cap) {
			/* Cannot happen while limit <= CONN_BUF_MAX unless realloc failed. */
			*line = NULL;
			ln->len = ln->consumed = 0;
			return p3err_set(err, "out of memory for a %zu-octet line", limit), CONN_ERROR;
		}
		st = fill(c, deadline, err);
		if (st != CONN_OK && st != CONN_EOF) {
			*line = NULL;
			ln->len = ln->consumed = 0;
			ln->flags = 0;
			return st;
		}
	}
}

enum conn_status conn_poll_data(struct conn *c, int timeout_ms, struct p3err *err)
{
	if (c->end > c->start)
		return CONN_OK;
	c->start = c->end = 0;
	return fill(c, deadline_in(timeout_ms), err);
}

enum conn_status conn_wait_close(struct conn *c, int timeout_ms, size_t limit, size_t *data,
                                 struct p3err *err)
{
	long long deadline = deadline_in(timeout_ms);
	size_t got = c->end - c->start;
	enum conn_status st;

	for (;;) {
		c->start = c->end = 0;
		if (got > limit) {
			*data = got;
			return p3err_set(err, "more than %zu octets arrived instead of a close", limit),
			       CONN_TOO_LONG;
		}
		st = fill(c, deadline, err);
		if (st != CONN_OK) {
			*data = got;
			return st;
		}
		got += c->end;
	}
}

size_t conn_buffered(const struct conn *c)
{
	return c->end - c->start;
}

void conn_ack_now(struct conn *c)
{
	int one = 1;
	/* Best effort: without it the wait only sees less. */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

int conn_peer_reset(const struct conn *c)
{
	return c->reset;
}

/* --- writing -------------------------------------------------------------------------------------- */

enum conn_status conn_write(struct conn *c, const void *buf, size_t n, int timeout_ms, struct p3err *err)
{
	long long deadline = deadline_in(timeout_ms);
	const char *p = buf;
	size_t done = 0;

	while (done < n) {
		enum conn_status st;

		if (c->ssl != NULL) {
			struct sigpipe_guard g;
			size_t chunk = n - done > INT_MAX ? INT_MAX : n - done;
			int w, e;

			if (c->tls_broken)
				return p3err_set(err, "TLS write: the TLS session has failed"), CONN_ERROR;
			ERR_clear_error();
			errno = 0;
			sigpipe_block(&g);
			w = SSL_write(c->ssl, p + done, (int)chunk);
			e = w > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, w);
			sigpipe_restore(&g);
			if (w > 0) {
				done += (size_t)w;
				continue;
			}
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				st = wait_fd(c->fd, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline,
				             err);
			} else {
				c->tls_broken = true;
				if (e == SSL_ERROR_SYSCALL && (errno == EPIPE || errno == ECONNRESET))
					return p3err_errno(err, "TLS write"), CONN_EOF;
				if (e == SSL_ERROR_ZERO_RETURN)
					return p3err_set(err, "TLS write: the peer closed the TLS session"),
					       CONN_EOF;
				return p3err_ssl(err, "TLS write"), CONN_ERROR;
			}
		} else {
			ssize_t w = send(c->fd, p + done, n - done, MSG_NOSIGNAL);
			if (w >= 0) {
				done += (size_t)w;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return p3err_errno(err, "write"), CONN_EOF;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return p3err_errno(err, "write"), CONN_ERROR;
			st = wait_fd(c->fd, POLLOUT, deadline, err);
		}
		if (st != CONN_OK) {
			if (st == CONN_TIMEOUT)
				p3err_set(err, "write timed out after %zu of %zu octets", done, n);
			return st;
		}
	}
	return CONN_OK;
}

/* --- closing -------------------------------------------------------------------------------------- */

/* Send close_notify once, without waiting for the peer's (RFC 8446 §6.1 allows a half-close). */
static void send_close_notify(struct conn *c)
{
	struct sigpipe_guard g;

	if (c->ssl == NULL || c->tls_broken || c->sent_close_notify || c->reset)
		return;
	c->sent_close_notify = true;
	sigpipe_block(&g);
	SSL_shutdown(c->ssl);
	sigpipe_restore(&g);
	ERR_clear_error();
}

void conn_shutdown_write(struct conn *c)
{
	send_close_notify(c);
	shutdown(c->fd, SHUT_WR);
}

static void conn_free(struct conn *c)
{
	atomic_fetch_sub(&open_total, 1);
	open_mine--;
	SSL_free(c->ssl);
	free(c->host);
	free(c->buf);
	free(c);
}

void conn_abort(struct conn *c)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (c == NULL)
		return;
	/* SO_LINGER with zero time: close() sends an RST instead of a FIN. */
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(c->fd);
	conn_free(c);
}

void conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	send_close_notify(c);
	close(c->fd);
	conn_free(c);
}

int conn_tls_clean_shutdown(const struct conn *c)
{
	if (c->ssl == NULL)
		return -1;
	return c->close_notify || (SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN) != 0;
}
