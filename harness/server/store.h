/* store.h — one session's maildrop: the exclusive lock, the snapshot taken at login, deletion marks and
 * the removals of the UPDATE state (RFC 1939 §4, §5, §6). */
#ifndef POP3REFD_STORE_H
#define POP3REFD_STORE_H

#include <stddef.h>
#include "lib/err.h"
#include "lib/maildir.h"

/* Name of the lock file inside each Maildir. flock(2) on it excludes every other session, in this
 * process (each session opens its own descriptor) and in any other pop3refd on the same maildirs. */
#define STORE_LOCK_NAME ".pop3refd.lock"

enum store_status {
	STORE_OK = 0,
	STORE_IN_USE,   /* another session holds the lock (RFC 2449 §8.1.2 [IN-USE]) */
	STORE_SYS_TEMP, /* a failure that may pass (out of descriptors, memory) — RFC 3206 [SYS/TEMP] */
	STORE_SYS_PERM  /* needs an administrator (not a Maildir, unreadable) — RFC 3206 [SYS/PERM] */
};

struct store;

/* Lock and snapshot DIR/USER for `user` (a name the users file accepted). A missing DIR/USER is created
 * as an empty Maildir, so a new user has an empty maildrop. On any failure the lock is released before
 * returning (RFC 1939 §4), *out is NULL and err says why. */
enum store_status store_open(const char *maildirs, const char *user, struct store **out, struct p3err *err);

/* Messages in the snapshot, marked ones included: message numbers run 1..store_count() for the whole
 * session (RFC 1939 §4: no renumbering). */
size_t store_count(const struct store *s);

/* Message n (1-based), or NULL when n is out of range or marked deleted (RFC 1939 §5). */
const struct maildir_msg *store_get(const struct store *s, size_t n);

/* Message n whether marked deleted or not, or NULL when out of range. */
const struct maildir_msg *store_get_any(const struct store *s, size_t n);

/* Whether message n (1-based, in range) has 8-bit octets in its header section (RFC 6532 UTF-8 header
 * fields): 1 or 0, or -1 with err set when it cannot be read. Known from the login scan for most messages;
 * one sized by its ",W=" name is read up to the end of its header section the first time, and the answer
 * kept for the session. */
int store_header_8bit(struct store *s, size_t n, struct p3err *err);

/* Count and total size of the messages not marked deleted (the drop listing of STAT). */
void store_stat(const struct store *s, size_t *count, unsigned long long *octets);

/* Mark message n deleted: 0, or -1 when it is out of range or already marked. */
int store_mark(struct store *s, size_t n);

/* Unmark message n (nothing when out of range). */
void store_unmark(struct store *s, size_t n);

/* Unmark every message (RSET). */
void store_reset(struct store *s);

/* The UPDATE state: remove every marked message, and only those. Returns 0 when all are gone, or -1 with
 * err naming the first failure (the others are still tried; RFC 1939 §6 allows some to remain). A file
 * that is already gone counts as removed. *removed (if not NULL) gets how many were removed. */
int store_update(struct store *s, size_t *removed, struct p3err *err);

#ifdef POP3REFD_FAULTS
/* rescan-mid-session (faults.h): re-read the maildrop into the running session, keeping the marks of the
 * messages still there. 0, or -1 with err set (the old snapshot is kept). */
int store_rescan(struct store *s, struct p3err *err);
#endif

/* Release the lock and free. Nothing is removed: a session that ends without QUIT never enters UPDATE
 * (RFC 1939 §6). NULL is fine. */
void store_close(struct store *s);

#endif
