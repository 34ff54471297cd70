/* expect_msgcmp.c — comparing a body with a fixture message as it streams (expect_msgcmp.h). */
#include "runner/exec/expect_msgcmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "lib/line.h"

/* The next stored line without its line end: 1, or 0 at the end (of the message, or of TOP's share).
 * The line stays current (peeked) until mc_take(). */
static int mc_peek(struct msgcmp *m, const char **line, size_t *len)
{
	if (m->pending) {
		*line = m->buf;
		*len = m->plen;
		return !m->pending_eof;
	}
	m->pending = 1;
	m->pending_eof = 1;
	if (m->top && m->in_body && m->body_left <= 0)
		return 0;
	ssize_t n = getline(&m->buf, &m->cap, m->f);
	if (n <= 0)
		return 0;
	size_t l = (size_t)n;
	if (l && m->buf[l - 1] == '\n')
		l--;
	if (l && m->buf[l - 1] == '\r')
		l--;
	m->lineno++;
	if (m->in_body)
		m->body_left--;
	else if (l == 0)
		m->in_body = 1; /* RFC 1939 §7 TOP: the blank line after the header is sent */
	m->pending_eof = 0;
	m->plen = l;
	*line = m->buf;
	*len = l;
	return 1;
}

static void mc_take(struct msgcmp *m)
{
	if (!m->pending_eof)
		m->pending = 0;
}

static int mc_next(struct msgcmp *m, const char **line, size_t *len)
{
	int r = mc_peek(m, line, len);
	mc_take(m);
	return r;
}

/* A header line the server's copy has and the fixture's has not, remembered for the note. */
static void mc_added(struct msgcmp *m, const char *line, size_t len)
{
	/* RFC 5322 §2.2.3: a line starting with white space continues the field above it. */
	const char *colon = memchr(line, ':', len);
	if (len && line[0] != ' ' && line[0] != '\t' && colon != NULL) {
		size_t off = strlen(m->added_fields), nl = (size_t)(colon - line);
		if (off + nl + 2 < sizeof m->added_fields) {
			if (off)
				m->added_fields[off++] = ',';
			for (size_t i = 0; i < nl; i++) {
				unsigned char ch = (unsigned char)line[i];
				m->added_fields[off++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
			}
			m->added_fields[off] = '\0';
		}
	}
	if (m->added++ >= MC_ADDED_SHOWN)
		return;
	char shown[96];
	line_escape(line, len, shown, sizeof shown);
	size_t off = strlen(m->added_shown);
	snprintf(m->added_shown + off, sizeof m->added_shown - off, "%s%s", off ? " | " : "", shown);
}

/* Agent delivery: one server line of the header section. 1 when it is tolerated or matched, 0 when the
 * comparison goes on as for verbatim (the blank line: the fixture's header must be complete). */
static int mc_header_line(struct msgcmp *m, const char *data, size_t len)
{
	const char *fl;
	size_t fll;
	if (len == 0) {
		m->srv_in_body = 1;
		/* RFC 5321 §4.4: the final delivery writes its own Return-Path; the fixture's may be gone. */
		while (mc_peek(m, &fl, &fll) && fll >= 12 && strncasecmp(fl, "Return-Path:", 12) == 0)
			mc_take(m);
		return 0;
	}
	for (;;) {
		int have = mc_peek(m, &fl, &fll);
		if (have && fll == len && memcmp(fl, data, len) == 0) {
			mc_take(m);
			return 1;
		}
		if (have && fll >= 12 && strncasecmp(fl, "Return-Path:", 12) == 0 && m->added == 0 &&
		    m->lineno == 1) {
			/* The fixture's Return-Path first, the server's copy without it here: replaced. Only
			 * the very first fixture line may go, and only while nothing was matched yet. */
			mc_take(m);
			continue;
		}
		mc_added(m, data, len);
		return 1;
	}
}

int msgcmp_open(struct msgcmp *m, const struct fixture_msg *fm, size_t msgno, int top, long long top_lines,
                int agent)
{
	memset(m, 0, sizeof *m);
	m->f = fopen(fm->path, "rb");
	if (m->f == NULL)
		return -1;
	m->top = top;
	m->body_left = top_lines;
	m->size = fm->size;
	m->msgno = msgno;
	m->agent = agent;
	return 0;
}

void msgcmp_close(struct msgcmp *m)
{
	if (m->f)
		fclose(m->f);
	free(m->buf);
	m->f = NULL;
	m->buf = NULL;
}

int msgcmp_line(struct msgcmp *m, size_t k, const char *data, size_t len, char *expected, size_t n,
                int *extra)
{
	const char *fl;
	size_t fll;
	*extra = 0;
	if (m->agent && !m->srv_in_body && mc_header_line(m, data, len))
		return 0;
	if (!mc_next(m, &fl, &fll)) {
		*extra = 1;
		snprintf(expected, n, "the body of fixture message %zu%s: %llu lines", m->msgno,
		         m->top ? " (TOP share)" : "", m->lineno);
		return -1;
	}
	if (fll != len || memcmp(fl, data, len) != 0) {
		char fshown[300];
		line_escape(fl, fll, fshown, sizeof fshown);
		snprintf(expected, n, "line %zu of fixture message %zu: %s", k, m->msgno, fshown);
		return -1;
	}
	return 0;
}

int msgcmp_end(struct msgcmp *m, char *expected, size_t n)
{
	const char *fl;
	size_t fll;
	if (m->agent && !m->srv_in_body)
		while (mc_peek(m, &fl, &fll) && fll >= 12 && strncasecmp(fl, "Return-Path:", 12) == 0 &&
		       m->lineno == 1)
			mc_take(m);
	if (!mc_next(m, &fl, &fll))
		return 0;
	char fshown[300];
	line_escape(fl, fll, fshown, sizeof fshown);
	snprintf(expected, n, "line %llu of fixture message %zu: %s", m->lineno, m->msgno, fshown);
	return -1;
}
