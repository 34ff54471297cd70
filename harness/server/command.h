/* command.h — the command table (the state machine of RFC 1939 §3-§6 and its extensions), the strict
 * command-line parser, and dispatch: parse, look up, check the state once, check the argument count, call
 * the handler. */
#ifndef POP3REFD_COMMAND_H
#define POP3REFD_COMMAND_H

#include <stddef.h>
#include "lib/limits.h"
#include "server/reply.h"
#include "server/session.h"

#define CMD_KEYWORD_MAX 8 /* longer keywords are unknown anyway */
#define CMD_MAX_ARGS    4 /* more are counted, not kept */

struct cmdline {
	char keyword[CMD_KEYWORD_MAX + 1]; /* upper-cased: keywords are case-insensitive (RFC 1939 §3) */
	size_t argc;                       /* number of arguments, even beyond CMD_MAX_ARGS */
	const char *argv[CMD_MAX_ARGS];    /* into buf */
	const char *rest;                  /* everything after "KEYWORD " verbatim (PASS), "" when absent */
	char buf[POP3_MAX_SASL_LINE + 1];
	char rest_buf[POP3_MAX_SASL_LINE + 1];
};

enum cmd_parse_status {
	CMD_PARSE_OK,
	CMD_PARSE_EMPTY,    /* an empty line */
	CMD_PARSE_BAD_CHAR, /* NUL, CR, TAB or another control octet (P-LINE-3) */
	CMD_PARSE_SYNTAX /* keyword too long or not alphanumeric, or an empty argument (two spaces, a trailing
	                    space): RFC 1939 §3 separates arguments by a single space */
};

/* Parse one command line (without its line end). */
enum cmd_parse_status cmd_parse(const char *line, size_t len, struct cmdline *cl);

typedef void (*cmd_fn)(struct session *s, const struct cmdline *cl, struct result *r);

#define CMD_RAW_ARG (-1) /* max_args: one argument, the rest of the line verbatim, spaces included (PASS) */

struct command {
	const char *name;
	unsigned states; /* enum pop3_state bits where the command is allowed */
	int min_args;
	int max_args; /* or CMD_RAW_ARG */
	cmd_fn fn;
};

/* The table entry for an upper-case keyword, or NULL. */
const struct command *cmd_find(const char *keyword);

/* The state and argument checks dispatch does before a handler runs: 0 when the handler may run, -1 with
 * r set to the -ERR otherwise (RFC 1939 §3: wrong state or malformed command gets -ERR, state unchanged). */
int cmd_check(const struct command *c, enum pop3_state state, const struct cmdline *cl, struct result *r);

/* Run command c with its parsed line: the state and argument checks, then the handler; forget a pending USER
 * unless c is USER (RFC 1939 §7). A caller that looked c up itself (or an overlay of c's row) runs it exactly
 * as dispatch does. */
void command_run(struct session *s, const struct command *c, const struct cmdline *cl, struct result *r);

/* Handle one command line received in state s->state; r gets the reply. `line_flags` are the lib/line.h
 * flags of the line. */
void command_dispatch(struct session *s, const char *line, size_t len, int line_flags, struct result *r);

/* Strict message number: decimal digits only (no sign, no space), leading zeros allowed, no overflow;
 * 0 or -1. The range check is the store's. */
int parse_msgnum(const char *s, size_t *out);

/* TOP's line count: decimal digits only; values too large to hold mean "all lines" (RFC 1939 §7: more lines
 * than the body has sends the whole body). 0 or -1. */
int parse_linecount(const char *s, long *out);

#endif
