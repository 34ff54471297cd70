/* redact.h — keeping the accounts' secrets out of the reports (--redact, the profile's `redact: true`):
 * every password, and every base64 word that decodes to text holding one (SASL PLAIN, LOGIN and the
 * like), replaced by REDACT_MARK. APOP and CRAM-MD5 digests are not secrets and stay. */
#ifndef POP3SPEC_REDACT_H
#define POP3SPEC_REDACT_H

#include <stddef.h>
#include "runner/result.h"
#include "runner/target.h"

#define REDACT_MARK "[redacted]"
/* A password inside base64 (SASL PLAIN's "authzid NUL user NUL password", LOGIN's password alone) shows
 * as one of three strings, one per alignment of its first octet; the characters that depend on its octets
 * alone are found in any base64 word, whatever surrounds them (deliberately broken encodings too). Shorter
 * cores than this would match words by chance; the base64 of the password alone is still matched whole. */
#define REDACT_MIN_CORE 6

struct redactor {
	char **secrets;    /* the passwords, longest first, no duplicates */
	char **b64;        /* the base64 of each password */
	char *(*cores)[3]; /* per password, per alignment: its core in base64, or NULL when too short */
	size_t n;
};

/* Collect the secrets of t's accounts; -1 when out of memory. An empty password is no secret. */
int redactor_init(struct redactor *r, const struct target *t);
void redactor_free(struct redactor *r);

/* A malloc'd copy of s with every secret replaced, or NULL when s holds none (or s is NULL, or memory
 * ran out: callers then keep s, so *failed says which). */
char *redact_text(const struct redactor *r, const char *s, int *failed);
/* Apply redact_text to every text of the run: messages, expected/actual, failed steps, transcripts and
 * the run's metadata; sets run->info.redacted. -1 when memory ran out (a text may then be unredacted:
 * the caller must not write the reports). */
int redact_run(const struct redactor *r, struct run *run);
/* Only the run's metadata (options, greeting, CAPA), for results already redacted one by one. */
int redact_info(const struct redactor *r, struct run_info *in);

/* For the live transcript (-v): the redactor in force for this process, or NULL. */
void redact_set_live(const struct redactor *r);
const struct redactor *redact_live(void);

#endif
