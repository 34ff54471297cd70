/* session.h — one POP3 connection: its transport (plain, implicit TLS, or switched by STLS), its protocol
 * state, and the input/output pump between the socket and the command dispatcher. */
#ifndef POP3REFD_SESSION_H
#define POP3REFD_SESSION_H

#include <stddef.h>
#include <openssl/ssl.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/limits.h"
#include "server/reply.h"
#include "server/stream.h"

struct server;
struct store;
struct sasl;

/* RFC 1939 §3: the three states. Bits, so the command table can list several. */
enum pop3_state { ST_AUTHORIZATION = 1, ST_TRANSACTION = 2, ST_UPDATE = 4 };

/* A name a user may give: the longest command argument we can receive. */
#define SESSION_NAME_MAX POP3_MAX_COMMAND_LINE

/* Output above this many queued octets makes the session stop producing (and stop reading commands) until
 * the client has read some (R2449-PIPE-2: no deadlock, bounded memory). */
#define SESSION_OUT_HIGH (64 * 1024)
#define SESSION_OUT_LOW  (16 * 1024)
/* A body being streamed to a client that has shown it reads (SESSION_STREAM_PROVEN octets have left the
 * output) is produced up to this many queued octets, and one socket write may take that much: a 50 MB RETR
 * in 200 writes, not 800 (fewer system calls and wake-ups of the reader, docs/performance.md). A client
 * that stops reading holds SESSION_OUT_HIGH, not this. */
#define SESSION_STREAM_HIGH (256 * 1024)
/* More than the kernel buffers for a client that reads nothing, on default settings (Linux's tcp_wmem
 * maximum is 4 MB). One that stops reading later, or has huge socket buffers, holds at most
 * SESSION_STREAM_HIGH of output and STREAM_MAP_RELEASE of mapped file pages: bounded either way. */
#define SESSION_STREAM_PROVEN (6 * 1024 * 1024)

struct session {
	struct server *srv;
	struct session *prev, *next; /* the server's list of open sessions */
	unsigned long id;
	char peer[64]; /* "address:port" for logs */

	int fd;
	struct bufferevent *bev;
	int bev_owns_fd;  /* a TLS bufferevent closes the descriptor itself */
	int tls;          /* TLS handshake done (implicit TLS or after STLS) */
	int implicit_tls; /* accepted on a --listen-tls listener */
	int stls_used;    /* STLS was accepted once (RFC 2595 §4: only once) */
	int utf8_mode;    /* the UTF8 command was accepted (RFC 6856 §2.1) */
	int lang;         /* the language replies are in: an index into lang_table (RFC 6856 §3) */

	enum pop3_state state;
	char timestamp[320]; /* APOP timestamp of this greeting, <pid.counter.time@host> */
	char pending_user[SESSION_NAME_MAX + 1]; /* name given by the USER that got +OK just before */
	int have_user;
	char user[SESSION_NAME_MAX + 1]; /* logged-in user */
	struct store *store;             /* held from login to the end of the session */
	struct sasl *sasl;               /* an AUTH exchange in progress: lines are SASL responses */

	struct stream stream;  /* a multi-line body being produced while the output drains */
	size_t stream_high;    /* its output mark once the client has shown it reads; 0: SESSION_OUT_HIGH */
	struct evbuffer *body; /* small multi-line bodies (CAPA, AUTH list) built by handlers */

	int discarding;        /* inside an over-long line: drop input up to the next LF */
	int closing;           /* no more commands; close once the output is flushed */
	int stls_pending;      /* +OK to STLS queued; handshake starts when it is flushed */
	int delay_pending;     /* a failed-authentication reply waits for delay_timer */
	int lingering;         /* output flushed and write side shut: waiting for the peer's close */
	int peer_eof;          /* the client closed its side: answer what it sent, then end */
	struct result delayed; /* that reply */
	long delay_ms;         /* how long it waits (guard_failure: grows with repeated failures) */
	char failed_user[SESSION_NAME_MAX + 1]; /* the name that failed, for --max-sessions-per-user */
	struct event *handshake_timer;          /* --tls-handshake-timeout, while a handshake runs */
	struct event *idle_timer;               /* RFC 1939 §3 autologout */
	struct event *delay_timer;
	struct event *linger_timer;
	struct event *kick;    /* switches to TLS outside the plain bufferevent's own callbacks */
	struct event *flushed; /* TLS: the sealed records are written, a waiting close may go on */
};

/* Start a session on an accepted socket (takes ownership of fd). Implicit TLS starts the handshake first
 * and sends the greeting inside TLS (RFC 8314 §3.1). Returns NULL (fd closed) on failure. */
struct session *session_new(struct server *srv, int fd, const char *peer, int implicit_tls);

/* The same on a transport the caller made (takes ownership of bev): a plain session with no socket under it,
 * for the fuzz targets (one end of a bufferevent_pair). Nothing touches a descriptor; STLS needs srv->tls,
 * which such a server leaves NULL. Returns NULL (bev freed) on failure. */
struct session *session_new_bev(struct server *srv, struct bufferevent *bev, const char *peer);

/* Run one line the client sent: a response inside an AUTH exchange, or a command (command_dispatch); r gets
 * the reply. `flags` are the lib/line.h flags of the line. */
void session_run_line(struct session *s, const char *line, size_t len, int flags, struct result *r);

/* The one function that changes the protocol state; it logs the change. */
void session_set_state(struct session *s, enum pop3_state st);
const char *session_state_name(enum pop3_state st);

/* End every open session at once, without UPDATE (SIGTERM/SIGINT): locks are released, nothing removed. */
void session_stop_all(struct server *srv);

/* Forget what the cleartext phase left behind, when TLS starts (RFC 2595 §4, P-STLS-2): a pending USER, an
 * AUTH exchange, the language chosen by LANG. */
void session_forget_cleartext(struct session *s);

#endif
