/* fixture.h — fixture maildrops as the runner uses them: found under fixtures/, copied into a private
 * Maildir (cur/, new/, tmp/) a reset command can read, and their facts (count, sizes as sent, Message-IDs)
 * for ${fixture.*} and for comparing a RETR/TOP body with the stored message. */
#ifndef POP3SPEC_FIXTURE_H
#define POP3SPEC_FIXTURE_H

#include <stddef.h>
#include "lib/err.h"

#define FIXTURE_MSGID_MAX 1000 /* a Message-ID longer than this is cut (fixtures carry short ones) */

struct fixture_msg {
	char *path;              /* the message file in the prepared copy */
	char *name;              /* its file name */
	unsigned long long size; /* octets as POP3 sends them (RFC 1939 §11) */
	char *msgid;             /* the Message-ID header's value, angle brackets included; "" if none */
};

struct fixture {
	char *name;               /* as the scenario names it */
	char *src;                /* where it was found */
	char *dir;                /* absolute path of the prepared Maildir (what {fixture} becomes) */
	struct fixture_msg *msgs; /* in fixture order: file-name order, as ${fixture.size.N} counts */
	size_t count;
	unsigned long long total;
};

/* Find fixture `name` under fixtures_dir: maildrops/NAME, generated/maildrops/NAME, generated/NAME.
 * Names are single path components. */
int fixture_locate(const char *fixtures_dir, const char *name, char *path, size_t pathsize,
                   struct p3err *err);

/* Copy Maildir `src` into a new directory under `parent` and compute its facts. */
int fixture_prepare(const char *name, const char *src, const char *parent, struct fixture *fx,
                    struct p3err *err);
/* Free the facts (the prepared directory stays; fixture_cache_clear removes the cache's). */
void fixture_free(struct fixture *fx);

/* The run's fixtures, prepared once each and shared by every worker (thread-safe). *out stays valid until
 * fixture_cache_clear(). */
int fixture_get(const char *fixtures_dir, const char *name, const struct fixture **out, struct p3err *err);
/* Forget every cached fixture and remove their prepared copies. */
void fixture_cache_clear(void);

/* Make `dst` a Maildir holding exactly the messages of Maildir `src`: dst/cur, dst/new, dst/tmp are created
 * as needed, their regular non-dot files removed, and src's new/ and cur/ messages copied under the same
 * names. Other files in dst (a server's index, lock or uid list) are left alone. */
int fixture_copy_maildir(const char *src, const char *dst, struct p3err *err);

/* Remove a directory tree (no symlinks followed). 0 on success. */
int fixture_rmtree(const char *path);

/* The Message-ID header of a stored message (unfolded, trimmed), or "" when there is none. */
int fixture_message_id(const char *path, char *buf, size_t bufsize, struct p3err *err);

#endif
