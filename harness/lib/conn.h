/* conn.h — a client connection with deadlines: plain TCP or TLS behind one interface, STLS switching
 * the transport in place. Blocking calls bounded by a timeout; nothing a server sends can make it wait
 * longer or buffer without bound. Used by the runner (the server uses libevent). */
#ifndef POP3_CONN_H
#define POP3_CONN_H

#include <stddef.h>
#include <sys/types.h>
#include <openssl/ssl.h>
#include "lib/err.h"
#include "lib/line.h"

struct conn;

/* The read buffer never grows beyond this; it is also the longest line conn_read_line returns. */
#define CONN_BUF_MAX (1024 * 1024)

enum conn_status {
	CONN_OK = 0,
	CONN_EOF = 1,      /* the peer closed (cleanly, or with a TLS close_notify) */
	CONN_TIMEOUT = 2,  /* the deadline passed */
	CONN_TOO_LONG = 3, /* a line exceeded the caller's limit (the line so far is returned) */
	CONN_ERROR = -1    /* I/O or TLS error; err says which */
};

/* Every timeout_ms bounds the whole call (a peer trickling octets cannot extend it); a negative value
 * means no deadline. On failure err says what happened, naming host and port where it helps. */

/* A stop for every connection: once `fd` (the read end of a pipe, never drained while the stop lasts) is
 * readable, every wait returns CONN_ERROR "interrupted" at once. -1 (the default) turns it off. Set it
 * before any connection is in use; the runner's SIGINT/SIGTERM handling writes to it. */
void conn_set_cancel_fd(int fd);
/* Sleep ms milliseconds, or less when the cancel fd becomes readable. */
void conn_pause(int ms);

/* Connect to host:port (name or address) within timeout_ms. */
enum conn_status conn_open(struct conn **out, const char *host, int port, int timeout_ms, struct p3err *err);
/* Connections open now (conn_open'd, not yet closed): in the whole process, and opened by the calling
 * thread. The runner tells a server's per-address connection limit from its own sessions by them. */
long conn_open_count(void);
long conn_open_count_thread(void);

/* TLS client handshake on the open connection (implicit TLS right after connect, or after STLS +OK).
 * Octets already buffered in plaintext are discarded first and counted in *discarded (if not NULL).
 * sni: the name sent as SNI (never for an address literal) and checked against the certificate when ctx
 * verifies; NULL means the host given to conn_open. Returns CONN_EOF when the peer closed during the
 * handshake, CONN_ERROR for any other failure (verification failures say so in err). */
enum conn_status conn_start_tls(struct conn *c, SSL_CTX *ctx, const char *sni, int timeout_ms,
                                size_t *discarded, struct p3err *err);
int conn_is_tls(const struct conn *c);
SSL *conn_ssl(struct conn *c);

/* Write all of buf within timeout_ms. */
enum conn_status conn_write(struct conn *c, const void *buf, size_t n, int timeout_ms, struct p3err *err);

/* Read one line (see line_scan) within timeout_ms. *line points into the connection's buffer, valid until
 * the next call; ln->len excludes the line end. max bounds the line including its end (0 or more than
 * CONN_BUF_MAX: CONN_BUF_MAX). CONN_TOO_LONG consumes the `max` octets returned; reading on continues
 * the line. CONN_EOF returns a partial line the peer left unterminated (ln->len 0 when none), once.
 * CONN_TIMEOUT keeps a partial line buffered for the next call. */
enum conn_status conn_read_line(struct conn *c, size_t max, int timeout_ms, const char **line,
                                struct line *ln, struct p3err *err);

/* Whether octets are already buffered or arrive within timeout_ms (used to detect replies that should
 * not exist). Returns CONN_OK if data is there, CONN_EOF if closed, CONN_TIMEOUT if nothing came. */
enum conn_status conn_poll_data(struct conn *c, int timeout_ms, struct p3err *err);

/* Wait until the peer closes within timeout_ms, discarding at most `limit` octets; data counts how many
 * were discarded. Returns CONN_EOF when closed, CONN_TIMEOUT when still open, CONN_TOO_LONG when more than
 * `limit` octets came first. */
enum conn_status conn_wait_close(struct conn *c, int timeout_ms, size_t limit, size_t *data,
                                 struct p3err *err);

/* Octets buffered and not yet returned. */
size_t conn_buffered(const struct conn *c);

/* Acknowledge what has arrived at once (TCP_QUICKACK) instead of after the delayed-ACK timer (up to
 * 40 ms on Linux): a peer whose Nagle's algorithm holds back a small write until the previous one is
 * acknowledged sends it now. For a short wait for octets that should not exist (conn_poll_data). */
void conn_ack_now(struct conn *c);

/* Whether the peer's close was a TCP reset (reads then return CONN_EOF with "connection reset by peer"). */
int conn_peer_reset(const struct conn *c);

/* Half-close (shutdown SHUT_WR; with TLS, close_notify first). */
void conn_shutdown_write(struct conn *c);
/* Close with an RST (SO_LINGER 0) and free. */
void conn_abort(struct conn *c);
/* Close normally and free. NULL is fine. */
void conn_close(struct conn *c);

/* Whether the TLS peer sent close_notify before the TCP close (R8314-TLS-3); -1 when not TLS. */
int conn_tls_clean_shutdown(const struct conn *c);

#endif
