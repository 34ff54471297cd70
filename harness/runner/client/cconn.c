/* cconn.c — one connection of the built-in server: plain or TLS (implicit, or after STLS) behind one read
 * and one write, every wait bounded by the scenario's deadline; each command is recorded and checked
 * (client.h: cjudge_command, the 255-octet limit, pipelining, credentials before TLS), answered by
 * csrv.c, and the reply written whole, in chunks, or cut as the scenario says. */
#include "runner/client/client_int.h"

#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>

#include "lib/limits.h"
#include "lib/line.h"

double cnow_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

struct tc {
	int fd;
	SSL *ssl;
	char in[CLIENT_INPUT_MAX];
	size_t inlen;
	bool eof;
	double deadline;
};

static int wait_fd(struct tc *c, short ev)
{
	double left = c->deadline - cnow_ms();
	if (left <= 0)
		return -1;
	struct pollfd p = {c->fd, ev, 0};
	int r = poll(&p, 1, left > 200 ? 200 : (int)left + 1);
	return r < 0 && errno != EINTR ? -1 : 0;
}

/* Read what is there into c->in; block (bounded) only when `block`. Returns octets added, 0 at EOF or
 * nothing, -1 at the deadline or an error. */
static ssize_t fill(struct tc *c, bool block)
{
	if (c->inlen >= sizeof c->in)
		return -1;
	for (;;) {
		ssize_t r;
		if (c->ssl) {
			ERR_clear_error();
			int n = SSL_read(c->ssl, c->in + c->inlen, (int)(sizeof c->in - c->inlen));
			if (n > 0) {
				c->inlen += (size_t)n;
				return n;
			}
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL) {
				c->eof = true;
				return 0;
			}
			if (!block)
				return 0;
			if (wait_fd(c, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN) < 0)
				return -1;
			continue;
		}
		r = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, MSG_DONTWAIT);
		if (r > 0) {
			c->inlen += (size_t)r;
			return r;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			c->eof = true;
			return 0;
		}
		if (!block)
			return 0;
		if (wait_fd(c, POLLIN) < 0)
			return -1;
	}
}

static int put(struct tc *c, const char *p, size_t n)
{
	while (n) {
		if (c->ssl) {
			ERR_clear_error();
			int w = SSL_write(c->ssl, p, (int)n);
			if (w > 0) {
				p += w;
				n -= (size_t)w;
				continue;
			}
			int e = SSL_get_error(c->ssl, w);
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				return -1;
			if (wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) < 0)
				return -1;
			continue;
		}
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (wait_fd(c, POLLOUT) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Write a reply: in pieces of `chunk` octets with a pause between them (so a client sees every split),
 * and only the first `limit` octets when limit != (size_t)-1. */
/* *early: octets of a next command arrived while a reply written in pieces was still being written (a
 * client that sends DELE on RETR's status line, before the body: RFC 1939 §6, RFC 2449 §6.6). */
static int write_reply(struct tc *c, const char *p, size_t n, size_t chunk, size_t limit, bool *early)
{
	*early = false;
	if (limit < n)
		n = limit;
	if (!chunk)
		return put(c, p, n);
	for (size_t off = 0; off < n; off += chunk) {
		if (put(c, p + off, n - off < chunk ? n - off : chunk) < 0)
			return -1;
		struct timespec ts = {0, CLIENT_CHUNK_PAUSE_US * 1000L};
		nanosleep(&ts, NULL);
		if (off + chunk < n && !*early) {
			size_t before = c->inlen;
			fill(c, false);
			*early = c->inlen > before;
		}
	}
	return 0;
}

static int handshake(struct tc *c, SSL_CTX *ctx, char *why, size_t whysize)
{
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		snprintf(why, whysize, "cannot set up TLS");
		return -1;
	}
	for (;;) {
		ERR_clear_error();
		int r = SSL_accept(c->ssl);
		if (r == 1)
			return 0;
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) < 0) {
				snprintf(why, whysize, "the TLS handshake did not end before the timeout");
				return -1;
			}
			continue;
		}
		unsigned long le = ERR_peek_error();
		char buf[200] = "the client closed the connection";
		if (le)
			ERR_error_string_n(le, buf, sizeof buf);
		snprintf(why, whysize, "TLS handshake failed: %s", buf);
		return -1;
	}
}

static void note(const struct cconn_ctx *x, const char *sess, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(const struct cconn_ctx *x, const char *sess, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	ctrans_add(x->tr, TLINE_NOTE, sess, buf, strlen(buf));
	if (x->live)
		fprintf(stderr, "  %s * %s\n", sess, buf);
}

static void sent(const struct cconn_ctx *x, const char *sess, const char *p, size_t n)
{
	/* The status line (or a continuation); a multi-line body is summarized. */
	const char *nl = memchr(p, '\n', n);
	size_t first = nl ? (size_t)(nl - p) + 1 : n;
	ctrans_add(x->tr, TLINE_SERVER, sess, p, first);
	if (first < n) {
		char buf[80];
		snprintf(buf, sizeof buf, "(%zu more octets of the multi-line reply)", n - first);
		ctrans_add(x->tr, TLINE_NOTE, sess, buf, strlen(buf));
	}
	if (x->live) {
		char esc[200];
		line_escape(p, first, esc, sizeof esc);
		fprintf(stderr, "  %s S: %s\n", sess, esc);
	}
}

static void violation(struct crecord *rec, const char *ref, const char *why, const char *line, size_t n)
{
	if (rec->violation)
		return;
	char esc[300];
	line_escape(line, n, esc, sizeof esc);
	rec->violation = why;
	rec->violation_ref = ref;
	snprintf(rec->violation_text, sizeof rec->violation_text, "%s", esc);
}

static bool is_cred(const char *line, size_t n)
{
	static const char *const kws[] = {"USER", "PASS", "APOP", "AUTH"};
	for (size_t i = 0; i < 4; i++)
		if (n >= 4 && strncasecmp(line, kws[i], 4) == 0 && (n == 4 || line[4] == ' '))
			return true;
	return false;
}

/* One connection being served: the run's context, the socket, the server's state machine and what the
 * record will say of the session. */
struct served {
	const struct cconn_ctx *x;
	struct crecord *rec;
	struct tc *c;
	struct csrv s;
	int sn; /* the session's number in the record */
	char sess[48];
	bool server_closed, trans;
};

/* The TLS handshake (implicit, or after STLS's +OK); a failure is the record's tls_fail. */
static bool start_tls(struct served *v, const char *how)
{
	char why[300];
	if (handshake(v->c, v->x->tls, why, sizeof why) < 0) {
		snprintf(v->rec->tls_fail, sizeof v->rec->tls_fail, "%.255s", why);
		note(v->x, v->sess, "%s", why);
		return false;
	}
	note(v->x, v->sess, "TLS established (%s, %s)", how, SSL_get_version(v->c->ssl));
	return true;
}

/* TLS on the implicit port, then the greeting (and the scenario's close after it). False: the session
 * ends here. */
static bool open_session(struct served *v, bool implicit)
{
	const struct cconn_ctx *x = v->x;
	note(x, v->sess, "connection %s", implicit ? "on the implicit-TLS port" : "on the plain port");
	if (implicit && !start_tls(v, "implicit"))
		return false;
	size_t glen;
	char *g = csrv_greeting(&v->s, &glen);
	bool gclose = false;
	for (size_t i = 0; i < x->o->nreplies; i++)
		gclose |= strcmp(x->o->replies[i].command, "GREETING") == 0 && x->o->replies[i].close;
	if (g) {
		sent(x, v->sess, g, glen);
		bool early;
		/* A command before the greeting ends shows as pipelined on it. */
		write_reply(v->c, g, glen, x->o->chunk, (size_t)-1, &early);
		free(g);
	}
	if (gclose) {
		v->server_closed = true;
		note(x, v->sess, "the server closes the connection (scenario)");
		return false;
	}
	return true;
}

/* Wait for a complete command line in c->in. False: the client went, or the deadline passed. */
static bool read_command(struct served *v, struct line *ln)
{
	struct tc *c = v->c;
	while (line_scan(c->in, c->inlen, 0, ln) == LINE_INCOMPLETE) {
		ssize_t r = fill(c, true);
		if (r < 0) {
			note(v->x, v->sess, "%s", cnow_ms() >= c->deadline ? "timeout" : "input too long");
			return false;
		}
		if (r == 0 && c->eof) {
			if (c->inlen)
				violation(v->rec, "C1939-CMD-2",
				          "the client closed in the middle of a command line", c->in,
				          c->inlen);
			note(v->x, v->sess, "the client closed the connection");
			return false;
		}
	}
	return true;
}

/* The command into the transcript and the record (NULL when the record is full). */
static struct ccmd *record_command(struct served *v, const char *line, const struct line *ln, bool sasl)
{
	const struct cconn_ctx *x = v->x;
	struct crecord *rec = v->rec;
	ctrans_add(x->tr, TLINE_CLIENT, v->sess, line, ln->consumed);
	if (x->live) {
		char esc[300];
		line_escape(line, ln->consumed, esc, sizeof esc);
		fprintf(stderr, "  %s C: %s\n", v->sess, esc);
	}
	if (rec->ncmds >= CLIENT_MAX_CMDS) {
		rec->truncated = true;
		return NULL;
	}
	struct ccmd *cmd = &rec->cmds[rec->ncmds++];
	memset(cmd, 0, sizeof *cmd);
	cmd->text = strndup(line, ln->len);
	cmd->len = ln->consumed;
	cmd->crlf = (ln->flags & LINE_CRLF) != 0;
	cmd->tls = v->c->ssl != NULL;
	cmd->session = v->sn;
	cmd->run = x->run;
	cmd->state = sasl ? CS_AUTH : v->s.state;
	cmd->sasl = sasl;
	cmd->scripted = sasl && strcmp(v->s.sasl_mech, "SCRIPTED") == 0;
	return cmd;
}

/* The built-in checks every command gets. */
static void check_command(struct served *v, const char *line, const struct line *ln, bool sasl)
{
	struct crecord *rec = v->rec;
	if (!(ln->flags & LINE_CRLF))
		violation(rec, "C1939-CMD-2", "a command line not ended by CRLF (RFC 1939 §3)", line,
		          ln->consumed);
	/* RFC 2449 §4: commands, keyword and arguments with the CRLF, are at most 255 octets; SASL
	 * responses are not commands (RFC 5034 §4 lets them be longer). */
	if (!sasl && ln->consumed > POP3_MAX_COMMAND_LINE)
		violation(rec, "C2449-LEN-1", "a command line longer than 255 octets (RFC 2449 §4)", line,
		          ln->consumed);
	const char *bad = sasl ? NULL : cjudge_command(line, ln->len, v->s.state);
	if (bad)
		violation(rec, "C1939-CMD-1", bad, line, ln->len);
	if (!sasl && rec->tls_required && !v->c->ssl && is_cred(line, ln->len))
		violation(rec, "C2595-TLS-1",
		          "credentials sent without TLS where the profile mode requires TLS "
		          "(RFC 2595 §4, RFC 8314 §3)",
		          line, ln->len);
}

/* Pipelining: octets of a next command that arrive before this one's reply is written (RFC 2449 §6.6:
 * only when the server announced PIPELINING). Read while the scenario delays the reply: a client that
 * answers injected replies may be gone (and its connection reset, which discards what it sent) by the
 * end of the delay. */
static void watch_pipelining(struct served *v, struct ccmd *cmd)
{
	struct tc *c = v->c;
	double until = cnow_ms() + v->x->o->reply_delay * 1000.0;
	fill(c, false);
	while (!c->inlen && !c->eof && cnow_ms() < until) {
		struct timespec ts = {0, 5 * 1000 * 1000L};
		nanosleep(&ts, NULL);
		fill(c, false);
	}
	if (c->inlen && !csrv_announces(&v->s, "PIPELINING")) {
		if (cmd)
			cmd->pipelined = true;
		violation(v->rec, "C2449-PIPE-1",
		          "a command sent before the reply to the previous one, and "
		          "PIPELINING was not announced (RFC 2449 §6.6)",
		          c->in, c->inlen);
	}
}

/* Whether the scenario cuts this multi-line reply (close_mid_message: the RETR n or TOP n m carrying that
 * message, as fetchmail retrieves with TOP n 99999999; close_mid: a command prefix); *limit is where, never
 * the whole reply (the terminator is cut). */
static bool cut_reply(struct served *v, const struct ccmd *cmd, size_t multi, size_t rlen, size_t *limit)
{
	const struct csrv_opts *o = v->x->o;
	if (cmd == NULL || multi == (size_t)-1 || (o->close_mid_once && v->rec->close_mid_done))
		return false;
	bool retr = strncasecmp(cmd->text, "RETR ", 5) == 0;
	bool carries = o->close_mid_message && (retr || strncasecmp(cmd->text, "TOP ", 4) == 0) &&
	               strtol(cmd->text + (retr ? 5 : 4), NULL, 10) == o->close_mid_message;
	if (!carries && !(o->close_mid && strncasecmp(cmd->text, o->close_mid, strlen(o->close_mid)) == 0))
		return false;
	v->rec->close_mid_done = true;
	*limit = multi + o->close_mid_after;
	if (*limit >= rlen)
		*limit = rlen > 1 ? rlen - 1 : 0;
	return true;
}

/* A man in the middle's octets before the handshake (RFC 2595 §4, CVE-2021-22947), in the same write as
 * STLS's +OK: a separate write raced the client's ClientHello, so a correct client saw them inside its
 * handshake about one run in two. The client must discard them (or end the session). The reply grown, or
 * NULL (reply freed). */
static char *inject(struct served *v, char *reply, size_t *rlen)
{
	const struct sstr *in = &v->x->o->inject;
	char *both = realloc(reply, *rlen + in->len);
	if (!both) {
		free(reply);
		return NULL;
	}
	memcpy(both + *rlen, in->s, in->len);
	*rlen += in->len;
	ctrans_add(v->x->tr, TLINE_SERVER, v->sess, in->s, in->len);
	note(v->x, v->sess, "injected before the TLS handshake, in the write of STLS's +OK (scenario)");
	return both;
}

/* What the reply's action does to the connection. False: the session ends. */
static bool after_reply(struct served *v, enum csrv_action act, bool is_quit, bool cut)
{
	if (act == CA_CLOSE) {
		v->server_closed = !is_quit;
		if (cut)
			note(v->x, v->sess,
			     "the server closes the connection in the middle of the reply (scenario)");
		else if (!is_quit)
			note(v->x, v->sess, "the server closes the connection (scenario)");
		return false;
	}
	if (act == CA_STARTTLS) {
		/* RFC 2595 §4: what the client sent before the handshake is discarded. */
		v->c->inlen = 0;
		if (!start_tls(v, "STLS"))
			return false;
		v->s.tls = true;
		if (v->sn < 64)
			v->rec->session_stls_ok[v->sn] = true;
	}
	return true;
}

/* One command: recorded, checked, answered by csrv, the reply written (whole, in chunks, or cut). False:
 * the session ends. */
static bool serve_command(struct served *v, const struct line *ln)
{
	const struct cconn_ctx *x = v->x;
	struct tc *c = v->c;
	const char *line = c->in;
	bool sasl = v->s.sasl_step != 0;
	struct ccmd *cmd = record_command(v, line, ln, sasl);
	check_command(v, line, ln, sasl);
	char *owned = strndup(line, ln->len);
	memmove(c->in, c->in + ln->consumed, c->inlen - ln->consumed);
	c->inlen -= ln->consumed;
	/* QUIT ends the exchange: what follows it is no pipelining. */
	bool is_quit = ln->len == 4 && strncasecmp(owned ? owned : "", "QUIT", 4) == 0;
	if (!is_quit)
		watch_pipelining(v, cmd);
	size_t rlen, multi;
	enum csrv_action act;
	char *reply = owned ? csrv_command(&v->s, owned, ln->len, &rlen, &act, &multi) : NULL;
	free(owned);
	if (!reply)
		return false;
	if (cmd) {
		cmd->reply_ok = rlen >= 3 && memcmp(reply, "+OK", 3) == 0;
		cmd->whole_message = v->s.last_whole;
	}
	size_t limit = (size_t)-1;
	bool cut = cut_reply(v, cmd, multi, rlen, &limit);
	if (cut)
		act = CA_CLOSE;
	sent(x, v->sess, reply, limit < rlen ? limit : rlen);
	if (act == CA_STARTTLS && x->o->inject.len && (reply = inject(v, reply, &rlen)) == NULL)
		return false;
	bool early;
	int w = write_reply(c, reply, rlen, x->o->chunk, limit, &early);
	free(reply);
	if (cmd)
		cmd->reply_complete = w == 0 && !cut && !early;
	if (early && !is_quit && !csrv_announces(&v->s, "PIPELINING"))
		violation(v->rec, "C2449-PIPE-1",
		          "a command sent before the end of the reply to the previous one, and "
		          "PIPELINING was not announced (RFC 2449 §6.6)",
		          c->in, c->inlen);
	if (v->s.state == CS_TRANS)
		v->trans = true;
	if (w < 0) {
		note(x, v->sess, "the client is gone (write failed)");
		return false;
	}
	return after_reply(v, act, is_quit, cut);
}

void cconn_serve(const struct cconn_ctx *x, int fd, bool implicit)
{
	struct served v = {.x = x, .rec = x->rec};
	v.sn = v.rec->nsessions++;
	if (x->run >= 0 && x->run < 2)
		v.rec->run_sessions[x->run]++;
	snprintf(v.sess, sizeof v.sess, "run%d.conn%d", x->run + 1, v.sn + 1);
	v.c = calloc(1, sizeof *v.c);
	if (!v.c || csrv_init(&v.s, x->o, x->md, x->tls != NULL, implicit) < 0) {
		free(v.c);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	v.c->fd = fd;
	v.c->deadline = x->deadline_ms;
	if (open_session(&v, implicit)) {
		struct line ln;
		while (read_command(&v, &ln) && serve_command(&v, &ln))
			;
	}
	if (v.sn < 64) {
		v.rec->session_trans[v.sn] = v.trans;
		v.rec->session_server_closed[v.sn] = v.server_closed;
	}
	if (v.c->ssl) {
		SSL_shutdown(v.c->ssl);
		SSL_free(v.c->ssl);
	}
	csrv_free(&v.s);
	close(fd);
	free(v.c);
}
