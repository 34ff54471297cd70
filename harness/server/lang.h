/* lang.h — the LANG command (RFC 6856 §3): the languages pop3refd speaks, RFC 4647 basic language ranges
 * and basic filtering, the language listing and the selection. */
#ifndef POP3REFD_LANG_H
#define POP3REFD_LANG_H

#include <stddef.h>
#include "server/command.h"

struct lang {
	const char *tag;         /* RFC 5646 language tag, as the selection reply names it */
	const char *description; /* in the language itself, for the listing (RFC 6856 §3.2) */
	const char *selected;    /* the text of the +OK that selects it, in that language */
};

/* The supported languages, the administrator's preferred one first ("LANG *", RFC 6856 §3.2); index 0 is
 * also the language of a new session. */
extern const struct lang lang_table[];
extern const size_t lang_count;

/* Whether `range` is a basic language range (RFC 4647 §2.1):
 *   language-range = (1*8ALPHA *("-" 1*8alphanum)) / "*"   */
int lang_range_ok(const char *range);

/* Basic filtering (RFC 4647 §3.3.1): whether `range` matches `tag` — case-insensitively equal to it, or
 * equal to a prefix of it followed by "-"; "*" matches every tag. */
int lang_range_matches(const char *range, const char *tag);

/* The language "LANG range" selects: "*" the preferred one; otherwise the first in lang_table that the
 * range matches. -1 when none does (or the range is malformed). */
int lang_select(const char *range);

/* LANG (RFC 6856 §3.2), in AUTHORIZATION and TRANSACTION: no argument lists the languages (multi-line);
 * a range that selects a language answers "+OK <tag> <text>", and the session speaks it from this reply
 * on; anything else gets -ERR and the language stays as it was. */
void cmd_lang(struct session *s, const struct cmdline *cl, struct result *r);

#endif
