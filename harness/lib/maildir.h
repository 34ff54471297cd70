/* maildir.h — reading a Maildir (cur/, new/, tmp/): messages in file-name order, their sizes as POP3
 * sends them (RFC 1939 §11) and stable unique-ids (RFC 1939 §7). Both the server and the runner use it. */
#ifndef POP3_MAILDIR_H
#define POP3_MAILDIR_H

#include <stddef.h>
#include "lib/err.h"
#include "lib/limits.h"

struct maildir_msg {
	char *path;                     /* full path of the message file */
	char *name;                     /* file name, without cur/ or new/ */
	char uid[POP3_MAX_UID_LEN + 1]; /* unique-id: the base name (before ':'), or its MD5 when unusable */
	unsigned long long size;        /* octets as sent: CRLF line ends, no stuffing */
	int header_8bit;                /* enum maildir_header: 8-bit octets in the header section */
	int verbatim; /* 1: the file is already its own wire form (CRLF line ends only, ending in CRLF, no
	               * line starting with '.'), so RETR may send it as stored; 0: unknown or not */
};

/* Whether a message's header section (up to the first empty line, or the whole message when it has none)
 * holds an octet >= 0x80, as RFC 6532 UTF-8 header fields do. RFC 6856 §2.1: outside UTF-8 mode such a
 * message may not be sent as is. */
enum maildir_header {
	/* Not read: the size came from a ",W=" name (maildir_header_8bit tells). */
	MAILDIR_HEADER_UNKNOWN = 0,
	MAILDIR_HEADER_ASCII,
	MAILDIR_HEADER_8BIT
};

struct maildir {
	struct maildir_msg *msgs;
	char *paths; /* private: one block holding every message's path (and name) */
	size_t count;
	unsigned long long total; /* sum of sizes */
};

/* Scan `dir`: every regular file in new/ and cur/ (tmp/ is ignored, and so are dot files), sorted by
 * file name (strcmp order), sizes computed by reading each file as sent, or taken from a ",W=<n>" field
 * in the name when present. A file that is read also gets its header_8bit; one sized by its name keeps
 * MAILDIR_HEADER_UNKNOWN. Fails with a message naming the path when dir is not a Maildir (no cur/ or
 * new/) or a file cannot be read. */
int maildir_scan(const char *dir, struct maildir *md, struct p3err *err);

/* The size cache of maildir_scan_cached(), a file inside the Maildir (a dot file: never a message). */
#define MAILDIR_CACHE_NAME ".pop3refd.sizes"

/* maildir_scan(), remembering what it learns by reading files in DIR/MAILDIR_CACHE_NAME, so the next scan
 * reads no message it has read before: sizes, header_8bit and verbatim are kept per file name, valid only
 * while the file's inode, length and ctime are unchanged (a file replaced or rewritten under the same name
 * is read again). The cache is rewritten (a new file renamed into place, so a crash leaves the old one or
 * the new one, never a mix; each entry is also checked when read) only when it changed. A cache that
 * cannot be read or written is ignored: the scan then reads the files, and its result is always the same
 * as maildir_scan()'s. Message names, order and unique-ids are never touched. The caller must hold the
 * maildrop's lock, as the server does for its login scan. */
int maildir_scan_cached(const char *dir, struct maildir *md, struct p3err *err);

void maildir_free(struct maildir *md);

/* Read the header section of the message file `path`, streaming (bounded memory, stops at its end):
 * MAILDIR_HEADER_ASCII or MAILDIR_HEADER_8BIT, or -1 with err set when the file cannot be read. */
int maildir_header_8bit(const char *path, struct p3err *err);

/* Whether `name` is safe as one path component for a user's maildrop: 1-64 octets of [A-Za-z0-9._@+-],
 * not starting with '.'. */
int maildir_user_name_ok(const char *name);

/* Create dir with cur/, new/, tmp/ (mode 0700), like mkdir -p. */
int maildir_create(const char *dir, struct p3err *err);

#endif
