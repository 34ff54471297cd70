/* session.c — one connection's life: transport (plain, implicit TLS, STLS), the input/output pump with its
 * limits, timers (autologout, failed-authentication delay, lingering close), and the state change. */
#include "server/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "lib/line.h"
#include "lib/tls.h"
#include "server/command.h"
#include "server/faults.h"
#include "server/log.h"
#include "server/sasl.h"
#include "server/server.h"
#include "server/store.h"

/* How long a closing connection waits for the client's own close before it is dropped. */
#define LINGER_SECONDS 2

static void on_read(struct bufferevent *bev, void *arg);
static struct evbuffer *sealed(struct session *s);
static void on_sealed_drained(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);
static int pump(struct session *s);

const char *session_state_name(enum pop3_state st)
{
	switch (st) {
	case ST_AUTHORIZATION:
		return "AUTHORIZATION";
	case ST_TRANSACTION:
		return "TRANSACTION";
	case ST_UPDATE:
		return "UPDATE";
	}
	return "?";
}

void session_set_state(struct session *s, enum pop3_state st)
{
	log_msg(LOG_DEBUG, "s%lu state %s -> %s", s->id, session_state_name(s->state),
	        session_state_name(st));
	s->state = st;
}

void session_forget_cleartext(struct session *s)
{
	/* A LANG sent in cleartext could have been injected (RFC 6856 §7): TLS starts in the default
	 * language. UTF-8 mode cannot be on: STLS after UTF8 is refused (RFC 6856 §2.1). */
	s->lang = 0;
	s->utf8_mode = 0;
	/* RFC 2595 §4: nothing learnt before the handshake counts after it (R2595-STLS-8). */
	s->have_user = 0;
	s->pending_user[0] = '\0';
	sasl_end(s);
}

/* ---- lifetime ------------------------------------------------------------------------------------ */

static void session_free(struct session *s, const char *why)
{
	struct server *srv = s->srv;

	log_msg(LOG_INFO, "s%lu closed: %s", s->id, why);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->nsessions--;
	stream_abort(&s->stream);
	sasl_end(s);
	(void)fault_event(s, FE_FREE);
	/* No UPDATE here: only QUIT in TRANSACTION removes anything (RFC 1939 §6). This releases the lock. */
	store_close(s->store);
	if (s->idle_timer)
		event_free(s->idle_timer);
	if (s->delay_timer)
		event_free(s->delay_timer);
	if (s->handshake_timer)
		event_free(s->handshake_timer);
	if (s->linger_timer)
		event_free(s->linger_timer);
	if (s->kick)
		event_free(s->kick);
	if (s->flushed)
		event_free(s->flushed);
	if (s->body)
		evbuffer_free(s->body);
	if (s->bev) {
		struct evbuffer *c = sealed(s);
		if (c)
			evbuffer_remove_cb(c, on_sealed_drained, s);
		/* Unregister the descriptor first, so closing it below can never race its events. */
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		bufferevent_free(s->bev); /* a TLS bufferevent owns the SSL and the descriptor */
	}
	if (!s->bev_owns_fd && s->fd >= 0)
		close(s->fd);
	free(s);
}

/* RFC 8314 §3.4: close_notify before closing TCP, also when the server ends the session itself. Best
 * effort: written straight to the socket, never waited for. */
static void tls_goodbye(struct session *s)
{
	SSL *ssl;

	if (!s->tls || s->lingering || !s->bev || fault_event(s, FE_CLOSE_NOTIFY))
		return;
	ssl = bufferevent_openssl_get_ssl(s->bev);
	if (ssl && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN)) {
		struct evbuffer *c = sealed(s);
		(void)SSL_shutdown(ssl);
		/* The alert is sealed into the socket bufferevent's output: write it now, behind what is
		 * queued there, since the session closes or shuts its write side next. That bufferevent keeps
		 * the front of its output frozen outside its own writes; thawed for this one. */
		if (c && s->fd >= 0) {
			evbuffer_unfreeze(c, 1);
			(void)evbuffer_write(c, s->fd);
			evbuffer_freeze(c, 1);
		}
	}
	ERR_clear_error();
}

void session_stop_all(struct server *srv)
{
	while (srv->sessions) {
		tls_goodbye(srv->sessions);
		session_free(srv->sessions, "server stopping (no UPDATE)");
	}
}

static void touch(struct session *s)
{
	struct timeval tv = {s->srv->idle_timeout, 0};

	if (fault_event(s, FE_TOUCH))
		return;
	if (s->srv->idle_timeout > 0)
		evtimer_add(s->idle_timer, &tv);
}

/* ---- output ------------------------------------------------------------------------------------- */

static struct evbuffer *output(struct session *s)
{
	return bufferevent_get_output(s->bev);
}

/* The one place results reach the wire. */
static void send_result(struct session *s, struct result *r)
{
	char line[RES_TEXT_MAX + 8];
	size_t n;

	if (r->status == RES_NONE)
		return;
	if (r->delay && s->delay_ms > 0) {
		/* A failed authentication is answered later, by a timer: the event loop keeps serving
		 * everyone else, and this session reads no further command until then. The delay grows with
		 * repeated failures (auth.c, guard.c). */
		struct timeval tv = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000};
		s->delayed = *r;
		s->delayed.delay = 0;
		s->delay_pending = 1;
		evtimer_add(s->delay_timer, &tv);
		return;
	}
	n = fault_format(s, r, line, sizeof line);
	if (n == 0)
		return; /* the fault build holds it back */
	evbuffer_add(output(s), line, n);
	if (r->status == RES_OK && r->multiline && !stream_active(&s->stream)) {
		evbuffer_add_buffer(output(s), s->body);
		evbuffer_add(output(s), ".\r\n", 3);
	}
	(void)fault_event(s, FE_REPLIED);
	if (r->status != RES_OK)
		stream_abort(&s->stream); /* a handler that failed after starting one */
	if (r->after == AFTER_CLOSE) {
		s->closing = 1;
	} else if (r->after == AFTER_STLS) {
		/* RFC 2595 §4 and P-STLS-1: whatever the client sent after STLS and before the handshake is
		 * thrown away, never run inside TLS. Stop reading; the rest is discarded at the switch. */
		struct evbuffer *in = bufferevent_get_input(s->bev);
		evbuffer_drain(in, evbuffer_get_length(in));
		bufferevent_disable(s->bev, EV_READ);
		s->stls_pending = 1;
	}
}

/* ---- input -------------------------------------------------------------------------------------- */

static int can_take_command(const struct session *s)
{
	return !s->closing && !s->stls_pending && !s->delay_pending && !s->lingering &&
	       !stream_active(&s->stream);
}

void session_run_line(struct session *s, const char *line, size_t len, int flags, struct result *r)
{
	if (s->sasl)
		sasl_continue(s, line, len, flags, r);
	else
		command_dispatch(s, line, len, flags, r);
}

static void handle_line(struct session *s, const char *line, size_t len, int flags)
{
	struct result r;

	res_clear(&r);
	fault_run_line(s, line, len, flags, &r);
	send_result(s, &r);
}

/* Take one line from the input. Returns 1 when something was consumed, 0 when no complete line is there. */
static int take_line(struct session *s)
{
	static char line[POP3_MAX_SASL_LINE + 1];
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t avail = evbuffer_get_length(in), max, look;
	struct line ln;
	const char *p;

	if (avail == 0)
		return 0;
	if (s->discarding) {
		/* The rest of an over-long line: never executed as a command (P-LINE-2). */
		struct evbuffer_ptr lf = evbuffer_search(in, "\n", 1, NULL);
		if (lf.pos < 0) {
			evbuffer_drain(in, avail);
			return 0;
		}
		evbuffer_drain(in, (size_t)lf.pos + 1);
		s->discarding = 0;
		return 1;
	}
	/* RFC 2449 §4: command lines up to 255 octets; RFC 5034 §4: SASL responses may be longer. */
	max = fault_line_max(s, s->sasl ? POP3_MAX_SASL_LINE : POP3_MAX_COMMAND_LINE);
	look = avail < max ? avail : max;
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
	switch (line_scan(p, look, max, &ln)) {
	case LINE_INCOMPLETE:
		return 0;
	case LINE_TOO_LONG: {
		struct result r;
		evbuffer_drain(in, ln.consumed);
		s->discarding = !fault_event(s, FE_OVERLONG);
		if (s->sasl) {
			sasl_end(s);
			res_err(&r, CODE_NONE, "line too long; authentication cancelled");
		} else {
			res_err(&r, CODE_NONE, "line too long");
		}
		r.multiline = 0;
		r.delay = 0;
		r.after = AFTER_NONE;
		send_result(s, &r);
		return 1;
	}
	case LINE_OK:
		break;
	}
	memcpy(line, p, ln.len);
	line[ln.len] = '\0';
	evbuffer_drain(in, ln.consumed);
	handle_line(s, line, ln.len, ln.flags);
	return 1;
}

/* ---- closing ------------------------------------------------------------------------------------ */

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
	session_free(arg, "closed after QUIT");
}

/* Everything is sent: say goodbye at the TLS layer (RFC 8314 §3.4 close_notify), half-close, and wait
 * briefly for the client to close, so unread pipelined input cannot turn our close into a reset that
 * destroys the last reply. */
static void begin_linger(struct session *s)
{
	struct timeval tv = {LINGER_SECONDS, 0};
	struct evbuffer *in = bufferevent_get_input(s->bev);

	store_close(s->store); /* release the lock now, not after the linger */
	s->store = NULL;
	tls_goodbye(s);
	if (s->fd >= 0)
		shutdown(s->fd, SHUT_WR);
	s->lingering = 1;
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_enable(s->bev, EV_READ);
	evtimer_add(s->linger_timer, &tv);
}

/* ---- STLS --------------------------------------------------------------------------------------- */

static void setup_bev(struct session *s)
{
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	/* Bounded input: with this much unanswered, libevent stops reading from the socket. */
	bufferevent_setwatermark(s->bev, EV_READ, 0, POP3_MAX_PENDING_INPUT);
	bufferevent_setwatermark(s->bev, EV_WRITE, SESSION_OUT_LOW, 0);
	/* libevent writes at most 16 kB per call by default: a 50 MB RETR took 3,000 writes and as many
	 * wake-ups of the reader. One write may take what the output may hold. */
	bufferevent_set_max_single_write(s->bev, SESSION_STREAM_HIGH);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* The ciphertext a TLS session has sealed and not yet written: held in the socket bufferevent under the
 * TLS one (tls_bev). NULL for a plain session. */
static struct evbuffer *sealed(struct session *s)
{
	struct bufferevent *under;

	if (!s->bev_owns_fd || !s->bev || !(under = bufferevent_get_underlying(s->bev)))
		return NULL;
	return bufferevent_get_output(under);
}

/* Octets queued for the client in either layer. */
static size_t pending_out(struct session *s)
{
	struct evbuffer *c = sealed(s);

	return evbuffer_get_length(output(s)) + (c ? evbuffer_get_length(c) : 0);
}

/* The sealed records drained: a close or STLS waiting for the output to be flushed can go on. Runs inside
 * libevent's write, so it only schedules pump (on_flushed). */
static void on_sealed_drained(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct session *s = arg;

	if (info->n_deleted && evbuffer_get_length(buf) == 0 && s->closing && !s->lingering)
		event_active(s->flushed, EV_TIMEOUT, 0);
}

static void on_flushed(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (!s->lingering) /* tls_goodbye's own write drains it too, on the way into the linger */
		pump(s);
}

/* TLS over a socket bufferevent (libevent's filter variant) instead of OpenSSL writing to the socket
 * itself: OpenSSL seals one record of at most 16 kB at a time (RFC 8446 §5.1) and its socket BIO wrote each
 * with its own write(2), 3,200 system calls and wake-ups of the reader per 50 MB. Here the sealed records
 * gather in the socket bufferevent's output and leave in writes of up to SESSION_STREAM_HIGH
 * (docs/performance.md, round three). The sealed output is bounded like the plaintext: SESSION_OUT_HIGH,
 * raised to SESSION_STREAM_HIGH with the plaintext's mark once the client has shown it reads (on_write). */
static struct bufferevent *tls_bev(struct session *s)
{
	SSL *ssl = SSL_new(s->srv->tls);
	struct bufferevent *under, *bev;

	if (!ssl)
		return NULL;
	under = bufferevent_socket_new(s->srv->base, s->fd, BEV_OPT_CLOSE_ON_FREE);
	if (!under) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_set_max_single_write(under, SESSION_STREAM_HIGH);
	bufferevent_setwatermark(under, EV_WRITE, SESSION_OUT_LOW, SESSION_OUT_HIGH);
	bev = bufferevent_openssl_filter_new(s->srv->base, under, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		/* libevent freed the SSL (BEV_OPT_CLOSE_ON_FREE); the socket bufferevent closes the
		 * descriptor. */
		bufferevent_free(under);
		s->fd = -1;
		return NULL;
	}
	if (!evbuffer_add_cb(bufferevent_get_output(under), on_sealed_drained, s)) {
		bufferevent_free(bev); /* frees the SSL and the socket bufferevent, closing the descriptor */
		s->fd = -1;
		return NULL;
	}
	/* A client that closes TCP without close_notify is simply gone, not an error worth a log line. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* --tls-handshake-timeout: a peer that opens TLS and never finishes the handshake is dropped long before
 * the 10-minute idle timer (RFC 1939 §3) would; that timer is for a logged-in user thinking. */
static void on_handshake_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	log_msg(LOG_INFO, "s%lu TLS handshake not done within %d s", s->id, s->srv->tls_handshake_timeout);
	session_free(s, "TLS handshake timeout");
}

static void start_handshake_timer(struct session *s)
{
	struct timeval tv = {s->srv->tls_handshake_timeout, 0};

	if (s->srv->tls_handshake_timeout > 0 && s->handshake_timer)
		evtimer_add(s->handshake_timer, &tv);
}

/* Runs from its own event, outside every callback of the plain bufferevent it replaces. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct bufferevent *plain = s->bev;

	/* The +OK is on the wire. Whatever came after STLS is dropped with the plain bufferevent; bytes still
	 * in the kernel are read by the TLS layer as a (failing) handshake, never as commands. */
	bufferevent_disable(plain, EV_READ | EV_WRITE);
	evbuffer_drain(bufferevent_get_input(plain), evbuffer_get_length(bufferevent_get_input(plain)));
	bufferevent_free(plain);
	s->bev = tls_bev(s);
	if (!s->bev) {
		ERR_clear_error();
		session_free(s, "cannot start TLS");
		return;
	}
	s->bev_owns_fd = 1;
	s->stls_pending = 0;
	s->stls_used = 1;
	session_forget_cleartext(s);
	setup_bev(s);
	start_handshake_timer(s);
	log_msg(LOG_DEBUG, "s%lu STLS: TLS handshake started", s->id);
}

/* ---- the pump ----------------------------------------------------------------------------------- */

/* Produce pending output, then handle complete lines while allowed and while the output is below its
 * high-water mark; finish a close or an STLS when the output is flushed. Returns -1 when s was freed. */
static int pump(struct session *s)
{
	struct p3err err = {0};

	for (;;) {
		if (stream_active(&s->stream)) {
			int rc = stream_fill(&s->stream, output(s),
			                     s->stream_high ? s->stream_high : SESSION_OUT_HIGH, &err);
			if (rc < 0) {
				/* The +OK went out already; a truncated body must not look complete. */
				log_msg(LOG_ERROR, "s%lu %s", s->id, err.msg);
				session_free(s, "message unreadable mid-response");
				return -1;
			}
			if (rc == 0)
				break; /* output full: on_write continues */
			s->stream_high = 0;
		}
		if (!can_take_command(s) || evbuffer_get_length(output(s)) >= SESSION_OUT_HIGH)
			break;
		if (!take_line(s)) {
			/* Half-closed client and every command answered: flush, then end, without UPDATE. */
			if (s->peer_eof)
				s->closing = 1;
			break;
		}
	}
	/* Flow control on input: read only while commands can be taken. Besides not buffering what cannot be
	 * answered yet, this matters to libevent 2.1: a read callback that leaves its input at the high-water
	 * mark with reading enabled is run again at once, forever (a client that pipelines and never reads
	 * would keep the server busy). on_write and on_delay run pump again, which enables reading. */
	if (!s->lingering && !s->stls_pending) {
		if (can_take_command(s) && evbuffer_get_length(output(s)) < SESSION_OUT_HIGH)
			bufferevent_enable(s->bev, EV_READ);
		else
			bufferevent_disable(s->bev, EV_READ);
	}
	if (s->closing || s->stls_pending) {
		/* Flushed means every sealed record written too (TLS): on_sealed_drained calls back. */
		if (pending_out(s) == 0 && !stream_active(&s->stream)) {
			if (s->closing) {
				if (s->peer_eof) {
					session_free(s, "client closed the connection");
					return -1;
				}
				begin_linger(s);
			} else {
				event_active(s->kick, EV_TIMEOUT, 0);
			}
		} else {
			/* Be told when the output is completely flushed. */
			bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
		}
	}
	return 0;
}

/* ---- callbacks ---------------------------------------------------------------------------------- */

static void send_greeting(struct session *s)
{
	struct result r;

	/* RFC 1939 §7: a msg-id timestamp, different in every greeting; pid and a counter make it unique in
	 * this process and against other processes, the clock across restarts. */
	snprintf(s->timestamp, sizeof s->timestamp, "<%ld.%lu.%ld@%s>", (long)getpid(),
	         ++s->srv->greeting_counter, (long)time(NULL), s->srv->hostname);
	if (fault_event(s, FE_GREETING))
		return;
	res_clear(&r);
	res_ok(&r, "pop3refd ready %s", s->timestamp);
	send_result(s, &r);
}

/* The handshake is done: from here the session is TLS (RFC 2595 §4, RFC 8314 §3.1). Once only. */
static void tls_established(struct session *s)
{
	char desc[128];

	if (s->tls)
		return;
	evtimer_del(s->handshake_timer);
	s->tls = 1;
	log_msg(LOG_INFO, "s%lu TLS established: %s", s->id,
	        tls_describe(bufferevent_openssl_get_ssl(s->bev), desc, sizeof desc));
	/* RFC 8314 §3.1: on the implicit-TLS port the greeting comes once TLS is up. */
	if (s->implicit_tls)
		send_greeting(s);
	(void)fault_event(s, FE_TLS_UP);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	touch(s);
	/* Over a socket bufferevent, libevent reads the first records of application data (a command sent
	 * with the client's Finished) before it reports the handshake done: that command is already in
	 * TLS. */
	if (s->bev_owns_fd && !s->tls)
		tls_established(s);
	if (s->lingering || s->stls_pending) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	pump(s);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	touch(s);
	if (s->lingering)
		return;
	/* More of the body has left than a socket buffer holds: the client reads, so the rest may be produced
	 * in bigger fills, from a mapping. */
	if (stream_active(&s->stream) && s->stream_high == 0 &&
	    stream_taken(&s->stream, output(s)) > SESSION_STREAM_PROVEN) {
		struct bufferevent *under = sealed(s) ? bufferevent_get_underlying(s->bev) : NULL;
		s->stream_high = SESSION_STREAM_HIGH;
		stream_client_reading(&s->stream);
		if (under)
			bufferevent_setwatermark(under, EV_WRITE, SESSION_OUT_LOW, SESSION_STREAM_HIGH);
	}
	pump(s);
}

static void log_tls_errors(struct session *s, struct bufferevent *bev)
{
	unsigned long e;
	char buf[256];

	while ((e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		log_msg(LOG_INFO, "s%lu TLS: %s", s->id, buf);
	}
	ERR_clear_error();
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		tls_established(s);
		pump(s);
		return;
	}
	if (s->lingering) {
		session_free(s, "closed after QUIT");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int e = EVUTIL_SOCKET_ERROR();
		(void)fault_event(s, FE_RESET);
		if (s->bev_owns_fd)
			log_tls_errors(s, bev);
		session_free(s, e ? evutil_socket_error_to_string(e) : "connection error");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* The client closed its side. Commands it sent before are still answered (a half-close is not
		 * an abort), then the session ends; without QUIT there is no UPDATE (RFC 1939 §6). */
		s->peer_eof = 1;
		(void)fault_event(s, FE_DROP);
		if (s->stls_pending || (s->implicit_tls && !s->tls)) {
			session_free(s, "client closed the connection");
			return;
		}
		pump(s);
	}
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	/* RFC 1939 §3: autologout closes without a reply and without UPDATE. */
	log_msg(LOG_INFO, "s%lu autologout after %d s idle", s->id, s->srv->idle_timeout);
	(void)fault_event(s, FE_IDLE);
	tls_goodbye(s);
	session_free(s, "autologout (no UPDATE)");
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct result r = s->delayed;

	s->delay_pending = 0;
	send_result(s, &r);
	pump(s);
}

/* ---- creation ----------------------------------------------------------------------------------- */

/* given: a transport made by the caller (session_new_bev), or NULL to make one on fd. */
static struct session *session_create(struct server *srv, int fd, struct bufferevent *given, const char *peer,
                                      int implicit_tls)
{
	struct session *s = calloc(1, sizeof *s);
	int one = 1;

	if (!s) {
		if (given)
			bufferevent_free(given);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	s->srv = srv;
	s->id = ++srv->next_session_id;
	s->fd = fd;
	s->implicit_tls = implicit_tls;
	s->state = ST_AUTHORIZATION;
	snprintf(s->peer, sizeof s->peer, "%s", peer);
	stream_init(&s->stream);
	/* Many small replies in a row (PIPELINING): send each at once. */
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

	s->next = srv->sessions;
	if (s->next)
		s->next->prev = s;
	srv->sessions = s;
	srv->nsessions++;

	s->body = evbuffer_new();
	s->idle_timer = evtimer_new(srv->base, on_idle, s);
	s->delay_timer = evtimer_new(srv->base, on_delay, s);
	s->linger_timer = evtimer_new(srv->base, on_linger, s);
	s->kick = evtimer_new(srv->base, on_kick, s);
	s->handshake_timer = evtimer_new(srv->base, on_handshake_timeout, s);
	s->flushed = evtimer_new(srv->base, on_flushed, s);
	(void)fault_event(s, FE_ACCEPT);
	if (given) {
		s->bev = given;
	} else if (implicit_tls) {
		s->bev = tls_bev(s);
		s->bev_owns_fd = s->bev != NULL;
	} else {
		s->bev = bufferevent_socket_new(srv->base, fd, 0);
	}
	if (!s->body || !s->idle_timer || !s->delay_timer || !s->linger_timer || !s->kick ||
	    !s->handshake_timer || !s->flushed || !s->bev) {
		ERR_clear_error();
		session_free(s, "out of memory");
		return NULL;
	}
	log_msg(LOG_INFO, "s%lu connect from %s (%s)", s->id, peer, implicit_tls ? "pop3s" : "pop3");
	setup_bev(s);
	touch(s);
	/* RFC 1939 §4: the server speaks first. With implicit TLS, after the handshake (on_event). */
	if (!implicit_tls)
		send_greeting(s);
	else
		start_handshake_timer(s);
	return s;
}

struct session *session_new(struct server *srv, int fd, const char *peer, int implicit_tls)
{
	return session_create(srv, fd, NULL, peer, implicit_tls);
}

struct session *session_new_bev(struct server *srv, struct bufferevent *bev, const char *peer)
{
	return session_create(srv, -1, bev, peer, 0);
}
