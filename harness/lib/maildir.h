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
};

struct maildir {
	struct maildir_msg *msgs;
	size_t count;
	unsigned long long total; /* sum of sizes */
};

/* Scan `dir`: every regular file in new/ and cur/ (tmp/ is ignored, and so are dot files), sorted by
 * file name (strcmp order), sizes computed by reading each file as sent, or taken from a ",W=<n>" field
 * in the name when present. Fails with a message naming the path when dir is not a Maildir (no cur/ or
 * new/) or a file cannot be read. */
int maildir_scan(const char *dir, struct maildir *md, struct p3err *err);

void maildir_free(struct maildir *md);

/* Whether `name` is safe as one path component for a user's maildrop: 1-64 octets of [A-Za-z0-9._@+-],
 * not starting with '.'. */
int maildir_user_name_ok(const char *name);

/* Create dir with cur/, new/, tmp/ (mode 0700), like mkdir -p. */
int maildir_create(const char *dir, struct p3err *err);

#endif
