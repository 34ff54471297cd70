/* reqtext.h — requirement texts for the HTML reports: id → RFC section, level, text, read from the table
 * rows of REQUIREMENTS.md. A small reader of its own, so the reports need nothing else from the runner. */
#ifndef POP3SPEC_REPORT_REQTEXT_H
#define POP3SPEC_REPORT_REQTEXT_H

#include <stddef.h>
#include "lib/err.h"

struct reqtext {
	char *id;      /* "R1939-DELE-3", "P-1957-1" */
	char *section; /* "1939 §5" (the "RFC §" or "Source" column) */
	char *level;   /* "MUST*", "implied-by-example", "advice", ... */
	char *text;    /* the Requirement / Behaviour column, Markdown as written (`code` kept) */
};

struct reqtab {
	struct reqtext *v; /* sorted by id */
	size_t n;
};

/* Read every table row whose first cell looks like a requirement id (R<digits>-..., P-...). Cells are
 * split on '|' not preceded by '\'; "\|" becomes "|". -1 with err when the file cannot be read. */
int reqtab_load(const char *path, struct reqtab *t, struct p3err *err);
/* The row for `id`, or NULL. */
const struct reqtext *reqtab_find(const struct reqtab *t, const char *id);
void reqtab_free(struct reqtab *t);

#endif
