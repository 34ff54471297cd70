/* expect_msgcmp.h — comparing a multi-line body with a fixture message as it streams, line by line with line
 * ends normalised (never holding either whole), the whole message (RETR) or TOP's share of it, with the
 * header lines a delivery agent or the server added tolerated and counted when the target says
 * `delivery: agent`. Part of the judge (expect_judge.c); no network I/O, it reads the fixture's file.
 *
 * Verbatim delivery (the fixture's files are the server's storage): every line the server sends equals
 * the fixture's line at the same place. Agent delivery (target profile `delivery: agent`): the server's
 * copy went through a delivery agent, which writes trace fields in front (Return-Path, Received,
 * Delivered-To; RFC 5321 §4.4), and a server may write its own field (X-UIDL) into the stored header.
 * There the fixture's header lines must all come, in order, with any other header lines around them
 * tolerated and counted; the blank line and the body must match exactly. The fixture's own Return-Path
 * may be replaced: RFC 5321 §4.4 has the final delivery write the envelope's return path there. */
#ifndef POP3SPEC_EXPECT_MSGCMP_H
#define POP3SPEC_EXPECT_MSGCMP_H

#include <stddef.h>
#include <stdio.h>
#include "runner/fixture.h"

#define MC_ADDED_SHOWN 3 /* added header lines quoted in the transcript note */

/* One comparison. The judge reads size, msgno and the added_* fields; the rest is the comparison's own. */
struct msgcmp {
	FILE *f;
	char *buf;
	size_t cap;
	int top; /* compare only header + blank line + top_lines body lines */
	long long body_left;
	int in_body;
	unsigned long long lineno;
	unsigned long long size;
	size_t msgno;
	int agent;       /* tolerate header lines the server added (delivery: agent) */
	int pending;     /* buf holds a line fetched but not yet matched */
	int pending_eof; /* the last fetch found the end */
	size_t plen;
	int srv_in_body; /* the server's copy has passed its blank line */
	size_t added;    /* header lines the server's copy has beyond the fixture's */
	char added_shown[MC_ADDED_SHOWN * 100 + 16];
	char added_fields[512]; /* their field names, lower-cased, comma-separated (continuations skipped) */
};

/* Start comparing with fixture message number msgno (fm: its facts); top: TOP's share only, header, blank
 * line and top_lines body lines; agent: delivery: agent. 0, or -1 when its file cannot be opened. */
int msgcmp_open(struct msgcmp *m, const struct fixture_msg *fm, size_t msgno, int top, long long top_lines,
                int agent);
void msgcmp_close(struct msgcmp *m);
/* The server's k-th body line (un-stuffed, without its line end). 0 when it matches the fixture's line
 * there, or is a header line added (agent delivery); else -1 with `expected` saying what the fixture has
 * there, and *extra set when the fixture had ended. */
int msgcmp_line(struct msgcmp *m, size_t k, const char *data, size_t len, char *expected, size_t n,
                int *extra);
/* The body ended: 0 when the fixture (or its share) ended too, else -1 with `expected` naming its next
 * line. */
int msgcmp_end(struct msgcmp *m, char *expected, size_t n);

#endif
