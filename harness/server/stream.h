/* stream.h — producing a multi-line response body while the output drains: a stored message (RETR, TOP)
 * read from its file in chunks and byte-stuffed on the way, or a scan/unique-id listing (LIST, UIDL) one line
 * at a time. Never more than one chunk of a message is in memory (streamed, not loaded). */
#ifndef POP3REFD_STREAM_H
#define POP3REFD_STREAM_H

#include <stddef.h>
#include <event2/buffer.h>
#include "lib/err.h"
#include "lib/multiline.h"
#include "server/wirecache.h"

struct store;

enum stream_kind { STREAM_NONE, STREAM_MESSAGE, STREAM_SCAN, STREAM_UIDL };

/* Octets read from a message file at a time. */
#define STREAM_CHUNK (16 * 1024)
/* RETR to a client that has shown it reads (stream_client_reading) goes on through a mapping of the file
 * (no copy into a read buffer) when at least this much is left; less is read, where mmap, the page faults
 * and munmap would cost more than the copy. */
#define STREAM_MAP_MIN (256 * 1024)
/* Mapped pages already sent are dropped from the process every this many octets, so its resident size
 * does not grow by the message's size. */
#define STREAM_MAP_RELEASE (1024 * 1024)
/* Octets of a mapped message encoded into the output at a time: the reservation, twice that, and its chain
 * header fit a 64 kB chain (libevent rounds up to a power of two), below glibc's mmap threshold. */
#define STREAM_MAP_STEP (30 * 1024)

struct stream {
	enum stream_kind kind;
	int fd; /* STREAM_MESSAGE */
	struct ml_encoder enc;
	const struct store *store;   /* listings */
	size_t next;                 /* next message number - 1 */
	unsigned long long verbatim; /* STREAM_MESSAGE: octets to send as stored (sendfile), 0: encode */
	const char *map;             /* STREAM_MESSAGE, RETR of a big file: the file mapped, or NULL */
	size_t map_len, map_off;     /* its length, and how much of it is encoded */
	size_t map_released;         /* pages below this offset are dropped (MADV_DONTNEED) */
	int map_ok;                  /* the client reads: a mapping may be used (stream_client_reading) */
	int map_tried;               /* whether mapping was tried (once) */
	unsigned long long produced; /* octets appended to the output so far */
	struct wirecache_tee *tee;   /* RETR: the wire form also written to a --wire-cache copy, or NULL */
};

void stream_init(struct stream *st);

/* Open `path` for RETR (body_lines < 0) or TOP (body_lines >= 0). Fails, with err set and st unchanged,
 * when the file cannot be opened: the caller still can answer -ERR, as nothing was sent yet. */
int stream_start_message(struct stream *st, const char *path, long body_lines, struct p3err *err);

/* RETR of a message whose file is already its wire form (maildir_msg.verbatim): send its `octets` as
 * stored, handed to libevent, which uses sendfile(2) on a plain socket; then the terminator. Only after
 * stream_start_message() for RETR; ignored when the open file is not `octets` long. */
void stream_send_verbatim(struct stream *st, unsigned long long octets);

/* --wire-cache DIR, RETR on a plain connection of a message of `sent` octets that is not its own wire
 * form: send the complete copy of the file's current version with sendfile(2) when DIR has one, or else
 * write one while this RETR encodes the file (it becomes the copy when the body is complete). Only after
 * stream_start_message() for RETR. */
void stream_wire_cache(struct stream *st, const char *dir, unsigned long long sent);

/* LIST (STREAM_SCAN) or UIDL (STREAM_UIDL) of every message not marked deleted, in ascending order. */
void stream_start_listing(struct stream *st, const struct store *store, enum stream_kind kind);

/* Append to `out` until it holds at least `high` octets or the body is complete with its terminator
 * ".CRLF". Returns 1 when complete (st is then STREAM_NONE), 0 when more remains, -1 when the message cannot
 * be read any more (the response cannot be completed; the caller must close the connection). */
int stream_fill(struct stream *st, struct evbuffer *out, size_t high, struct p3err *err);

/* The client has been reading this body (more of it has left the output than any socket buffer holds):
 * the rest of a big RETR may come from a mapping. Not before: a client that never reads would keep mapped
 * pages resident for nothing. */
void stream_client_reading(struct stream *st);

/* Octets of the body that have left `out` (taken by the socket), for the caller's judgement above. */
static inline unsigned long long stream_taken(const struct stream *st, const struct evbuffer *out)
{
	size_t queued = evbuffer_get_length(out);
	return st->produced > queued ? st->produced - queued : 0;
}

/* Stop and release (a session ending mid-response). */
void stream_abort(struct stream *st);

static inline int stream_active(const struct stream *st)
{
	return st->kind != STREAM_NONE;
}

#endif
