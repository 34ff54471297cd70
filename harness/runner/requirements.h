/* requirements.h — the requirement catalog (../shared/REQUIREMENTS.md): its rows parsed from the markdown
 * tables, looked up by id. Used by `check` (unknown ids in scenarios), `coverage`, and the HTML reporter
 * (requirement text and RFC section next to each scenario). */
#ifndef POP3SPEC_REQUIREMENTS_H
#define POP3SPEC_REQUIREMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/err.h"

/* One table row. Every string is owned by the catalog, unescaped (markdown `\|` and `\*` undone) and
 * trimmed; a cell that is missing is "". */
struct requirement {
	char *id;      /* "R1939-DELE-3", "P-LINE-2" */
	char *section; /* "RFC §" column ("1939 §5") or, for practice rows, the "Source" column */
	char *level;   /* as written, `\*` undone: "MUST*", "SHOULD NOT", "implied-by-example", "practice" */
	char *text;    /* the requirement ("Requirement" / "Behaviour" column) */
	char *observation; /* "Black-box observation" */
	char *needs;       /* "—", "FIX", "2S, CFG", "NO" ... */
	char *heading;     /* the nearest heading above the table, without the #s ("1.11 DELE (§5)") */
	int line;          /* 1-based line in the file */
	bool practice;     /* a P- row (advice or practice, not RFC conformance) */
};

struct reqs {
	char *file;
	struct requirement *v; /* in file order */
	size_t n;
	size_t *sorted; /* indexes into v, sorted by id, for reqs_find */
};

/* Parse a REQUIREMENTS.md-format file: every markdown table row whose first cell is a requirement id
 * (see req_id_valid) and that has at least six cells (ID, RFC §, Level, text, observation, Needs) is a row.
 * Other lines are ignored. A duplicate id is an error ("file:line:1: duplicate requirement id ..."). */
int reqs_load(const char *path, struct reqs *r, struct p3err *err);
/* The same from memory; `name` is used in messages. */
int reqs_parse(const char *name, const char *buf, size_t len, struct reqs *r, struct p3err *err);
void reqs_free(struct reqs *r);

/* The row with this id, or NULL. */
const struct requirement *reqs_find(const struct reqs *r, const char *id);

/* The id forms of REQUIREMENTS.md's Conventions: `R<rfc digits>-<AREA>-<n>` or `P-<AREA>-<n>`, AREA of
 * upper-case letters and digits, n a decimal number without a leading zero. */
bool req_id_valid(const char *id);

/* A row `pop3spec coverage` insists on: its level starts with MUST or SHOULD (MUST*, MUST NOT, "MUST,
 * SHOULD" ... included; "MUST (historic)" excluded, the catalog says not to test it), it is not withdrawn,
 * and Needs does not start with NO (not observable black-box). Practice rows never gate. */
bool req_is_gating(const struct requirement *q);

/* Where the catalog is when no --requirements is given, first that exists: $POP3SPEC_REQUIREMENTS,
 * ./REQUIREMENTS.md, ../shared/REQUIREMENTS.md (relative to the working directory, then to the folder
 * above the executable's bin/), then the installed suite's datadir()/scenarios/REQUIREMENTS.md. Writes the
 * path into buf and returns it, or returns NULL when none exists. */
const char *reqs_default_path(char *buf, size_t bufsize);

#endif
