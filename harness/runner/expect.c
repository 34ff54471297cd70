/* expect.c — reading one response and judging it against an expectation; one_of alternatives are judged
 * side by side on the same response, bodies stream through per-alternative matchers (never held whole). */
#include "runner/expect.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/line.h"
#include "lib/multiline.h"
#include "runner/rx.h"

/* ---- describing expectations ----------------------------------------------------------------------- */

static const char *status_text(enum status_want w)
{
	switch (w) {
	case WANT_OK:
		return "+OK";
	case WANT_ERR:
		return "-ERR";
	case WANT_ANY:
		return "+OK or -ERR";
	case WANT_CONT:
		return "a '+ ' continuation";
	case WANT_UNSET:
		break;
	}
	return "a response";
}

static int wants_body(const struct expect *e)
{
	return e->multiline || e->count.s || e->octets.s || e->lines_set || e->nlines || e->each_line ||
	       e->contains || e->not_contains || e->message.s || e->top_message.s || e->capture_body ||
	       e->nline_captures;
}

/* An expectation that says only `silent_for` (no status, nothing about a reply) means "no reply within N
 * seconds": RFC 1939 §3 ends every command with CRLF, so a server may rightly wait for it after a bare LF,
 * and its silence is then an answer. With a status, `silent_for` means "that reply, then nothing". */
static int silence_only(const struct expect *e)
{
	return e->status == WANT_UNSET && e->silent_for > 0 && !e->code && !e->not_code && !e->match &&
	       !e->not_match && !wants_body(e) && e->ncaptures == 0 && e->closes < 0 && e->handshake < 0;
}

/* A regex as it will be used: interpolated when a context is at hand, else as written. */
static void shown_regex(struct xctx *x, const char *re, char *buf, size_t n)
{
	char *val = NULL;
	size_t len;
	struct p3err err;
	if (x && values_interp(&x->vars, re, strlen(re), &val, &len, &err) == 0) {
		snprintf(buf, n, "%s", val);
		free(val);
		return;
	}
	snprintf(buf, n, "%s", re);
}

static void describe_one(struct xctx *x, const struct expect *e, char *buf, size_t n)
{
	char re[200];
	if (silence_only(e)) {
		snprintf(buf, n, "no reply within %.1f s", e->silent_for);
		return;
	}
	size_t off = (size_t)snprintf(buf, n, "%s", status_text(e->status));
#define ADD(...)                                                                                             \
	do {                                                                                                 \
		if (off < n)                                                                                 \
			off += (size_t)snprintf(buf + off, n - off, __VA_ARGS__);                            \
	} while (0)
	if (e->code)
		ADD(strcmp(e->code, "none") == 0 ? " with no response code" : " with [%s]", e->code);
	if (e->not_code)
		ADD(" without [%s]", e->not_code);
	if (e->match) {
		shown_regex(x, e->match, re, sizeof re);
		ADD(" matching /%s/", re);
	}
	if (e->not_match) {
		shown_regex(x, e->not_match, re, sizeof re);
		ADD(" not matching /%s/", re);
	}
	if (wants_body(e))
		ADD(" and a multi-line body");
	if (e->closes == 1)
		ADD(e->close_notify ? ", then the server closes with a TLS close_notify" : ", then the server closes");
	if (e->silent_for > 0)
		ADD(", then nothing for %.1f s", e->silent_for);
#undef ADD
}

static const char *describe(struct xctx *x, const struct expect *e, char *buf, size_t bufsize)
{
	if (e == NULL) {
		snprintf(buf, bufsize, "a response");
		return buf;
	}
	if (e->one_of == NULL) {
		describe_one(x, e, buf, bufsize);
		return buf;
	}
	size_t off = (size_t)snprintf(buf, bufsize, "one of: ");
	for (size_t i = 0; i < e->n_one_of && off < bufsize; i++) {
		char one[256];
		describe_one(x, &e->one_of[i], one, sizeof one);
		off += (size_t)snprintf(buf + off, bufsize - off, "%s%s", i ? " | " : "", one);
	}
	return buf;
}

const char *expect_describe(const struct expect *e, char *buf, size_t bufsize)
{
	return describe(NULL, e, buf, bufsize);
}

/* ---- fixture message comparison (streaming, line by line, CRLF-normalised) --------------------------
 *
 * Verbatim delivery (the fixture's files are the server's storage): every line the server sends equals
 * the fixture's line at the same place. Agent delivery (target profile `delivery: agent`): the server's
 * copy went through a delivery agent, which writes trace fields in front (Return-Path, Received,
 * Delivered-To; RFC 5321 §4.4), and a server may write its own field (X-UIDL) into the stored header.
 * There the fixture's header lines must all come, in order, with any other header lines around them
 * tolerated and counted; the blank line and the body must match exactly. The fixture's own Return-Path
 * may be replaced: RFC 5321 §4.4 has the final delivery write the envelope's return path there. */

#define MC_ADDED_SHOWN 3 /* added header lines quoted in the transcript note */

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
	int agent;        /* tolerate header lines the server added (delivery: agent) */
	int pending;      /* buf holds a line fetched but not yet matched */
	int pending_eof;  /* the last fetch found the end */
	size_t plen;
	int srv_in_body;  /* the server's copy has passed its blank line */
	size_t added;     /* header lines the server's copy has beyond the fixture's */
	char added_shown[MC_ADDED_SHOWN * 100 + 16];
	char added_fields[512]; /* their field names, lower-cased, comma-separated (continuations skipped) */
};

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

/* ---- one alternative ------------------------------------------------------------------------------- */

/* capture_line: the first body line matching `re`; group 1 if it took part, else the whole match. */
struct linecap {
	regex_t re;
	int compiled, found;
	char *val;
	size_t len;
};

struct alt {
	const struct expect *e;
	int ok;
	int body; /* wants the body */
	const char *req;
	char expected[512], actual[1024];
	/* body matchers */
	regex_t *lines_re;
	size_t nlines_re;
	regex_t each_re, contains_re, notc_re;
	int has_each, has_contains, has_notc, contains_found;
	long long want_count;
	int count_set;
	size_t nbody;
	struct msgcmp mc;
	int mc_on;
	long long want_octets;
	int octets_set;
	unsigned long long octets; /* the body's size as sent: every un-stuffed line and its CRLF */
	char *cap;
	size_t caplen;
	size_t capsize; /* allocated; grows geometrically, so a long body costs O(n), not a copy per line */
	struct linecap *lcap; /* capture_line, one per name */
	size_t nlcap;
};

static void alt_fail(struct alt *a, const char *req, const char *expected, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void alt_fail(struct alt *a, const char *req, const char *expected, const char *fmt, ...)
{
	if (!a->ok)
		return; /* the first reason is the one reported */
	a->ok = 0;
	a->req = req ? req : a->e->ref;
	snprintf(a->expected, sizeof a->expected, "%s", expected);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->actual, sizeof a->actual, fmt, ap);
	va_end(ap);
}

static void alt_free(struct alt *a)
{
	for (size_t i = 0; i < a->nlines_re; i++)
		regfree(&a->lines_re[i]);
	free(a->lines_re);
	if (a->has_each)
		regfree(&a->each_re);
	if (a->has_contains)
		regfree(&a->contains_re);
	if (a->has_notc)
		regfree(&a->notc_re);
	if (a->mc.f)
		fclose(a->mc.f);
	free(a->mc.buf);
	free(a->cap);
	for (size_t i = 0; i < a->nlcap; i++) {
		if (a->lcap[i].compiled)
			regfree(&a->lcap[i].re);
		free(a->lcap[i].val);
	}
	free(a->lcap);
}

/* Compile an interpolated regex (flags: REG_ICASE, REG_NOSUB); on error a scenario error in out. */
static int compile_flags(struct xctx *x, const char *re, int flags, regex_t *r, struct outcome *out)
{
	char *val;
	if (xc_interp_str(x, re, &val, out) != 0)
		return -1;
	int rc = rx_compile(r, val, REG_EXTENDED | flags);
	if (rc != 0) {
		char msg[128];
		regerror(rc, r, msg, sizeof msg);
		out_set(out, OUT_ERROR, NULL, NULL, "scenario error: bad regex /%s/: %s", val, msg);
		free(val);
		return -1;
	}
	free(val);
	return 0;
}

/* An expectation's regex used only to test a line. */
static int compile(struct xctx *x, const struct expect *e, const char *re, regex_t *r, struct outcome *out)
{
	return compile_flags(x, re, REG_NOSUB | (e->icase ? REG_ICASE : 0), r, out);
}

/* Prepare an alternative's body matchers. */
static int alt_init(struct xctx *x, struct alt *a, const struct expect *e, struct outcome *out)
{
	memset(a, 0, sizeof *a);
	a->e = e;
	a->ok = 1;
	a->body = wants_body(e);
	if (!a->body)
		return 0;
	if (e->nlines) {
		a->lines_re = calloc(e->nlines, sizeof *a->lines_re);
		if (a->lines_re == NULL)
			return out_set(out, OUT_ERROR, NULL, NULL, "out of memory");
		for (size_t i = 0; i < e->nlines; i++) {
			if (compile(x, e, e->lines[i], &a->lines_re[i], out) != 0)
				return -1;
			a->nlines_re++;
		}
	}
	if (e->each_line) {
		if (compile(x, e, e->each_line, &a->each_re, out) != 0)
			return -1;
		a->has_each = 1;
	}
	if (e->contains) {
		if (compile(x, e, e->contains, &a->contains_re, out) != 0)
			return -1;
		a->has_contains = 1;
	}
	if (e->not_contains) {
		if (compile(x, e, e->not_contains, &a->notc_re, out) != 0)
			return -1;
		a->has_notc = 1;
	}
	if (e->nline_captures) {
		a->lcap = calloc(e->nline_captures, sizeof *a->lcap);
		if (a->lcap == NULL)
			return out_set(out, OUT_ERROR, NULL, NULL, "out of memory");
		a->nlcap = e->nline_captures;
		for (size_t i = 0; i < a->nlcap; i++) {
			if (compile_flags(x, e->line_captures[i].regex, e->icase ? REG_ICASE : 0,
			                  &a->lcap[i].re, out) != 0)
				return -1;
			a->lcap[i].compiled = 1;
		}
	}
	if (e->count.s) {
		if (xc_interp_int(x, &e->count, "count", &a->want_count, out) != 0)
			return -1;
		a->count_set = 1;
	}
	if (e->octets.s) {
		if (xc_interp_int(x, &e->octets, "octets", &a->want_octets, out) != 0)
			return -1;
		a->octets_set = 1;
	}
	if (e->message.s || e->top_message.s) {
		long long n, lines = 0;
		int top = e->message.s == NULL;
		if (xc_interp_int(x, top ? &e->top_message : &e->message, "message", &n, out) != 0)
			return -1;
		if (top && xc_interp_int(x, &e->top_lines, "top lines", &lines, out) != 0)
			return -1;
		if (x->fx == NULL)
			return out_set(out, OUT_ERROR, NULL, NULL,
			               "scenario error: message %lld but no fixture", n);
		if (n < 1 || (size_t)n > x->fx->count)
			return out_set(out, OUT_ERROR, NULL, NULL,
			               "scenario error: fixture '%s' has no message %lld", x->fx->name, n);
		const struct fixture_msg *m = &x->fx->msgs[n - 1];
		a->mc.f = fopen(m->path, "rb");
		if (a->mc.f == NULL)
			return out_set(out, OUT_ERROR, NULL, NULL, "cannot open fixture message %s", m->path);
		a->mc.top = top;
		a->mc.body_left = lines;
		a->mc.size = m->size;
		a->mc.msgno = (size_t)n;
		a->mc.agent = x->t != NULL && target_delivery(x->t) == DELIVERY_AGENT;
		/* Reset now, so a comparison that fails leaves no earlier response's values behind. */
		vars_set_long(&x->vars, "last.added_headers", 0);
		vars_set_str(&x->vars, "last.added_fields", "");
		a->mc_on = 1;
	}
	return 0;
}

/* The text of a response code at the start of `text` ("[IN-USE] ..."), or NULL. */
static int code_matches(const char *text, size_t len, const char *want)
{
	if (len < 2 || text[0] != '[')
		return 0;
	const char *end = memchr(text, ']', len);
	if (end == NULL)
		return 0;
	size_t clen = (size_t)(end - text - 1), wl = strlen(want);
	/* RFC 2449 §8: codes are hierarchical; [SYS/TEMP] is also a SYS code. */
	return clen >= wl && strncasecmp(text + 1, want, wl) == 0 && (clen == wl || text[1 + wl] == '/');
}

/* Judge a first line against an alternative's first-line keys. */
static int judge_first(struct xctx *x, struct alt *a, const char *line, size_t len, enum status_kind kind,
                       struct outcome *out)
{
	const struct expect *e = a->e;
	char desc[512];
	describe_one(x, e, desc, sizeof desc);
	char shown[300];
	line_escape(line, len, shown, sizeof shown);
	int st_ok = 1;
	switch (e->status) {
	case WANT_OK:
		st_ok = kind == STATUS_OK;
		break;
	case WANT_ERR:
		st_ok = kind == STATUS_ERR;
		break;
	case WANT_ANY:
		st_ok = kind == STATUS_OK || kind == STATUS_ERR;
		break;
	case WANT_CONT:
		st_ok = kind == STATUS_CONT;
		break;
	case WANT_UNSET:
		break;
	}
	if (!st_ok) {
		alt_fail(a, NULL, status_text(e->status), "%s", shown);
		return 0;
	}
	/* The text after the status indicator. */
	size_t skip = kind == STATUS_OK ? 3 : kind == STATUS_ERR ? 4 : 1;
	if (skip > len)
		skip = len;
	const char *text = line + skip;
	size_t tlen = len - skip;
	if (tlen && *text == ' ')
		text++, tlen--;
	if (e->code) {
		if (strcmp(e->code, "none") == 0) {
			if (tlen && text[0] == '[' && memchr(text, ']', tlen))
				alt_fail(a, NULL, desc, "%s", shown);
		} else if (!code_matches(text, tlen, e->code)) {
			alt_fail(a, NULL, desc, "%s", shown);
		}
	}
	if (e->not_code && code_matches(text, tlen, e->not_code))
		alt_fail(a, NULL, desc, "%s", shown);
	regex_t r;
	if (e->match) {
		if (compile(x, e, e->match, &r, out) != 0)
			return -1;
		if (!rx_match(&r, line, len))
			alt_fail(a, NULL, desc, "%s", shown);
		regfree(&r);
	}
	if (e->not_match) {
		if (compile(x, e, e->not_match, &r, out) != 0)
			return -1;
		if (rx_match(&r, line, len))
			alt_fail(a, NULL, desc, "%s", shown);
		regfree(&r);
	}
	/* Captures are checked here, applied only when this alternative wins. */
	for (size_t i = 0; i < e->ncaptures; i++) {
		regex_t cr;
		char *val;
		if (xc_interp_str(x, e->captures[i].regex, &val, out) != 0)
			return -1;
		int rc = rx_compile(&cr, val, REG_EXTENDED | (e->icase ? REG_ICASE : 0));
		if (rc != 0) {
			free(val);
			return out_set(out, OUT_ERROR, NULL, NULL, "scenario error: bad capture regex for %s",
			               e->captures[i].name);
		}
		if (!rx_match(&cr, line, len)) {
			char exp[300];
			snprintf(exp, sizeof exp, "a first line matching /%s/ (capture %s)", val,
			         e->captures[i].name);
			alt_fail(a, NULL, exp, "%s", shown);
		}
		regfree(&cr);
		free(val);
	}
	return 0;
}

static int apply_captures(struct xctx *x, const struct expect *e, struct outcome *out)
{
	for (size_t i = 0; i < e->ncaptures; i++) {
		regex_t cr;
		regmatch_t m[2];
		char *val;
		if (xc_interp_str(x, e->captures[i].regex, &val, out) != 0)
			return -1;
		int rc = rx_compile(&cr, val, REG_EXTENDED | (e->icase ? REG_ICASE : 0));
		free(val);
		if (rc != 0)
			return out_set(out, OUT_ERROR, NULL, NULL, "scenario error: bad capture regex");
		if (x->last_line && rx_exec(&cr, x->last_line, x->last_len, 2, m) == 0) {
			/* Group 1 if the regex has one and it took part, else the whole match. */
			regmatch_t *g = cr.re_nsub >= 1 && m[1].rm_so >= 0 ? &m[1] : &m[0];
			char shown[300];
			vars_set(&x->vars, e->captures[i].name, x->last_line + g->rm_so,
			         (size_t)(g->rm_eo - g->rm_so));
			line_escape(x->last_line + g->rm_so, (size_t)(g->rm_eo - g->rm_so), shown, sizeof shown);
			xtr_note(&x->tr, NULL, "captured %s = %s", e->captures[i].name, shown);
		}
		regfree(&cr);
	}
	return 0;
}

/* One un-stuffed body line through an alternative's matchers. */
static void alt_body_line(struct alt *a, const char *data, size_t len)
{
	if (!a->body)
		return;
	size_t k = ++a->nbody;
	a->octets += len + 2; /* RFC 1939 §11: counted with CRLF, without the stuffing dot */
	if (a->e->capture_body && a->ok) {
		if (a->caplen + len + 1 > XC_MAX_CAPTURE) {
			alt_fail(a, NULL, "a body small enough to capture", "body over %d octets",
			         XC_MAX_CAPTURE);
		} else {
			size_t need = a->caplen + len + 2;
			if (need > a->capsize) {
				size_t size = a->capsize ? a->capsize : 256;
				while (size < need)
					size *= 2;
				char *n = realloc(a->cap, size);
				if (n == NULL) {
					alt_fail(a, NULL, "a body small enough to capture", "out of memory");
					return;
				}
				a->cap = n;
				a->capsize = size;
			}
			if (a->caplen)
				a->cap[a->caplen++] = '\n';
			memcpy(a->cap + a->caplen, data, len);
			a->caplen += len;
			a->cap[a->caplen] = '\0';
		}
	}
	if (!a->ok)
		return;
	for (size_t i = 0; i < a->nlcap; i++) {
		struct linecap *lc = &a->lcap[i];
		regmatch_t m[2];
		if (lc->found || rx_exec(&lc->re, data, len, 2, m) != 0)
			continue;
		regmatch_t *g = lc->re.re_nsub >= 1 && m[1].rm_so >= 0 ? &m[1] : &m[0];
		lc->len = (size_t)(g->rm_eo - g->rm_so);
		lc->val = malloc(lc->len + 1);
		if (lc->val == NULL) {
			alt_fail(a, NULL, "memory for capture_line", "out of memory");
			return;
		}
		memcpy(lc->val, data + g->rm_so, lc->len);
		lc->val[lc->len] = '\0';
		lc->found = 1;
	}
	char shown[300];
	if (a->lines_re || a->e->lines_set) {
		if (k > a->nlines_re) {
			char exp[64];
			snprintf(exp, sizeof exp, "%zu body line%s", a->nlines_re,
			         a->nlines_re == 1 ? "" : "s");
			alt_fail(a, NULL, exp, "a body line %zu: %s", k,
			         (line_escape(data, len, shown, sizeof shown), shown));
			return;
		}
		if (!rx_match(&a->lines_re[k - 1], data, len)) {
			char exp[300];
			snprintf(exp, sizeof exp, "body line %zu matching /%s/", k, a->e->lines[k - 1]);
			alt_fail(a, NULL, exp, "%s", (line_escape(data, len, shown, sizeof shown), shown));
			return;
		}
	}
	if (a->has_each && !rx_match(&a->each_re, data, len)) {
		char exp[300];
		snprintf(exp, sizeof exp, "every body line matching /%s/", a->e->each_line);
		alt_fail(a, NULL, exp, "line %zu: %s", k,
		         (line_escape(data, len, shown, sizeof shown), shown));
		return;
	}
	if (a->has_contains && !a->contains_found && rx_match(&a->contains_re, data, len))
		a->contains_found = 1;
	if (a->has_notc && rx_match(&a->notc_re, data, len)) {
		char exp[300];
		snprintf(exp, sizeof exp, "no body line matching /%s/", a->e->not_contains);
		alt_fail(a, NULL, exp, "line %zu: %s", k,
		         (line_escape(data, len, shown, sizeof shown), shown));
		return;
	}
	if (a->mc_on) {
		const char *fl;
		size_t fll;
		char fshown[300];
		if (a->mc.agent && !a->mc.srv_in_body && mc_header_line(&a->mc, data, len))
			return;
		if (!mc_next(&a->mc, &fl, &fll)) {
			char exp[160];
			snprintf(exp, sizeof exp, "the body of fixture message %zu%s: %llu lines",
			         a->mc.msgno, a->mc.top ? " (TOP share)" : "", a->mc.lineno);
			alt_fail(a, NULL, exp, "an extra line %zu: %s", k,
			         (line_escape(data, len, shown, sizeof shown), shown));
			return;
		}
		if (fll != len || memcmp(fl, data, len) != 0) {
			char exp[400];
			line_escape(fl, fll, fshown, sizeof fshown);
			snprintf(exp, sizeof exp, "line %zu of fixture message %zu: %s", k, a->mc.msgno,
			         fshown);
			alt_fail(a, NULL, exp, "line %zu: %s", k,
			         (line_escape(data, len, shown, sizeof shown), shown));
		}
	}
}

static void alt_body_end(struct alt *a)
{
	if (!a->body || !a->ok)
		return;
	const struct expect *e = a->e;
	if ((e->lines_set || a->nlines_re) && a->nbody < a->nlines_re) {
		char exp[64];
		snprintf(exp, sizeof exp, "%zu body lines", a->nlines_re);
		alt_fail(a, NULL, exp, "%zu body lines", a->nbody);
	}
	if (a->octets_set && (long long)a->octets != a->want_octets) {
		/* RFC 1939 §5 LIST: "the exact size of the message in octets"; §11: as sent. */
		char exp[96];
		snprintf(exp, sizeof exp, "a body of %lld octets (as sent: CRLF line ends, no stuffing)",
		         a->want_octets);
		alt_fail(a, e->ref ? NULL : "R1939-LIST-8", exp, "%llu octets in %zu lines", a->octets, a->nbody);
	}
	if (a->count_set && (long long)a->nbody != a->want_count) {
		char exp[64];
		snprintf(exp, sizeof exp, "%lld body lines", a->want_count);
		alt_fail(a, NULL, exp, "%zu body lines", a->nbody);
	}
	if (a->has_contains && !a->contains_found) {
		char exp[300];
		snprintf(exp, sizeof exp, "a body line matching /%s/", e->contains);
		alt_fail(a, NULL, exp, "none among %zu lines", a->nbody);
	}
	for (size_t i = 0; i < a->nlcap; i++) {
		if (a->lcap[i].found)
			continue;
		char exp[300];
		snprintf(exp, sizeof exp, "a body line matching /%s/ (capture_line %s)",
		         e->line_captures[i].regex, e->line_captures[i].name);
		alt_fail(a, NULL, exp, "none among %zu lines", a->nbody);
	}
	if (a->mc_on) {
		const char *fl;
		size_t fll;
		if (a->mc.agent && !a->mc.srv_in_body)
			while (mc_peek(&a->mc, &fl, &fll) && fll >= 12 && strncasecmp(fl, "Return-Path:", 12) == 0 &&
			       a->mc.lineno == 1)
				mc_take(&a->mc);
		if (mc_next(&a->mc, &fl, &fll)) {
			char exp[400], fshown[300];
			line_escape(fl, fll, fshown, sizeof fshown);
			snprintf(exp, sizeof exp, "line %llu of fixture message %zu: %s", a->mc.lineno,
			         a->mc.msgno, fshown);
			alt_fail(a, NULL, exp, "the body ended after %zu lines", a->nbody);
		}
	}
}

/* Is this alternative satisfied by the server closing instead of answering? ({closes: true} alone) */
static int accepts_close(const struct expect *e)
{
	return e->closes == 1 && e->status == WANT_UNSET && !e->code && !e->match && !wants_body(e) &&
	       e->ncaptures == 0;
}

/* The failure of close_notify: the peer closed a TLS session without it (R8314-TLS-3). */
#define NO_CLOSE_NOTIFY_EXP "a TLS close_notify before the TCP close"
#define NO_CLOSE_NOTIFY_GOT "the server closed TCP without a TLS close_notify (a truncated TLS stream)"

/* A TLS session closed with no response and without close_notify: the close passes only if some
 * alternative accepting it ({closes: true} alone) does not ask for close_notify. */
static void close_without_notify(const struct expect *alts_e, size_t nalts, struct outcome *out)
{
	const struct expect *strict = NULL;
	for (size_t i = 0; i < nalts; i++) {
		if (!accepts_close(&alts_e[i]))
			continue;
		if (!alts_e[i].close_notify)
			return;
		strict = &alts_e[i];
	}
	if (strict)
		out_set(out, OUT_EXPECT, strict->ref ? strict->ref : "R8314-TLS-3", NO_CLOSE_NOTIFY_EXP, "%s",
		        NO_CLOSE_NOTIFY_GOT);
}

/* close_notify is judged only on TLS sessions; a session the server already closed is judged as usual
 * (it fails for having closed). */
static int conn_is_tls_or_closed(const struct xsession *s)
{
	return s->c == NULL || conn_is_tls(s->c);
}

/* ---- reading ----------------------------------------------------------------------------------------- */

static void set_last(struct xctx *x, const char *line, size_t len, enum status_kind kind)
{
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return;
	memcpy(copy, line, len);
	copy[len] = '\0';
	free(x->last_line);
	x->last_line = copy;
	x->last_len = len;
	vars_set_str(&x->vars, "last.status",
	             kind == STATUS_OK     ? "+OK"
	             : kind == STATUS_ERR  ? "-ERR"
	             : kind == STATUS_CONT ? "+"
	                                   : "");
	vars_set(&x->vars, "last.line", line, len);
}

/* The server closed s: note it (for TLS, whether close_notify came first, RFC 8314 §3.4) and close our
 * side. Returns conn_tls_clean_shutdown: 1 close_notify came, 0 a bare TCP close of a TLS session, -1 not
 * TLS. */
static int closed_by_server(struct xctx *x, struct xsession *s, const char *what)
{
	int clean = conn_tls_clean_shutdown(s->c);
	s->eof = 1;
	if (clean < 0)
		xtr_note(&x->tr, s->name, "%s", what);
	else
		xtr_note(&x->tr, s->name, "%s (%s)", what,
		         clean ? "TLS close_notify first" : "TCP closed without a TLS close_notify");
	xs_close(x, s, 0, NULL);
	return clean;
}

/* Read the first line with the checks; OUT_PASS with *kind, or the reason it could not be read. When the
 * server closes instead and accept_close is set, *clean says how (closed_by_server). */
static void read_first(struct xctx *x, struct xsession *s, long long deadline, double timeout,
                       int accept_close, enum status_kind *kind, const char *expected, int *clean,
                       struct outcome *out)
{
	outcome_pass(out);
	free(x->last_line);
	x->last_line = NULL;
	x->last_len = 0;
	if (s->c == NULL)
		return (void)out_set(out, s->eof ? OUT_EXPECT : OUT_ERROR, NULL, expected,
		                     s->eof ? "the server had closed the connection"
		                            : "scenario error: session '%s' is not connected",
		                     s->name);
	const char *line;
	struct line ln;
	struct p3err err = {""};
	/* A reply to PASS, APOP or AUTH may take long (servers slow logins on purpose): the login deadline. */
	long long start = xc_now_ms();
	int login = xs_login_deadline(x, s, &deadline, &timeout);
	enum conn_status st = xs_read_line(x, s, deadline, 1, &line, &ln, &err);
	xs_reply_read(x, s, start, st == CONN_OK && ln.len >= 3 && memcmp(line, "+OK", 3) == 0);
	switch (st) {
	case CONN_OK:
		break;
	case CONN_TIMEOUT:
		xtr_note(&x->tr, s->name, "no response within %.1f s%s", timeout, login ? " (login_timeout)" : "");
		out_set(out, OUT_EXPECT, NULL, expected, "no response within %.1f s%s", timeout,
		        login ? " (login_timeout)" : "");
		out->desync = 1;
		out->timed_out = 1;
		return;
	case CONN_EOF: {
		int c = closed_by_server(x, s, "the server closed the connection");
		if (clean)
			*clean = c;
		if (accept_close)
			return;
		out_set(out, OUT_EXPECT, NULL, expected, "the server closed the connection");
		out->desync = 1;
		return;
	}
	case CONN_TOO_LONG:
		out_set(out, OUT_CHECK, "R1939-GEN-7", "a status line of at most 512 octets",
		        "more than %d octets without a line end", XC_MAX_LINE);
		out->desync = 1;
		return;
	case CONN_ERROR:
	default:
		out_set(out, OUT_EXPECT, NULL, expected, "read error: %s", err.msg);
		out->desync = 1;
		return;
	}
	*kind = check_status_kind(line, ln.len);
	set_last(x, line, ln.len, *kind);
	struct violation v;
	if (check_first_line(line, &ln, s->in_auth, &v)) {
		out_set(out, OUT_CHECK, v.req, "a well-formed response line", "%s", v.what);
		out->desync = 1;
		return;
	}
	if (*kind == STATUS_OK || *kind == STATUS_ERR)
		s->in_auth = 0;
}

void expect_read_first(struct xctx *x, struct xsession *s, double timeout, enum status_kind *kind,
                       struct outcome *out)
{
	long long deadline = xc_now_ms() + (long long)(timeout * 1000);
	read_first(x, s, deadline, timeout, 0, kind, "a response", NULL, out);
}

/* Read a multi-line body after a +OK line, feeding every alternative. */
static void read_body(struct xctx *x, struct xsession *s, struct alt *alts, size_t nalts, long long deadline,
                      double timeout, int flags, body_line_fn cb, void *cbctx, unsigned long long limit,
                      struct outcome *out)
{
	unsigned long long octets = 0, nlines = 0;
	for (;;) {
		const char *line;
		struct line ln;
		struct p3err err = {""};
		int record = !(flags & EXP_QUIET_BODY) && nlines < XC_BODY_LINES_SHOWN;
		enum conn_status st = xs_read_line(x, s, deadline, record, &line, &ln, &err);
		if (st == CONN_TIMEOUT) {
			out_set(out, OUT_EXPECT, "R1939-ML-1", "a multi-line body ending in a '.' line",
			        "no end of the body within %.1f s (%llu lines so far)", timeout, nlines);
			out->desync = 1;
			out->timed_out = 1;
			break;
		}
		if (st == CONN_EOF) {
			s->eof = 1;
			xs_close(x, s, 0,
			         "the server closed the connection in the middle of a multi-line body");
			out_set(out, OUT_CHECK, "R1939-ML-1", "a multi-line body ending in a '.' line",
			        "the connection closed after %llu body lines, before the terminating '.'",
			        nlines);
			out->desync = 1;
			break;
		}
		if (st == CONN_TOO_LONG) {
			out_set(out, OUT_EXPECT, "R1939-ML-1", "body lines shorter than 64 KiB",
			        "a body line over %d octets without a line end", XC_MAX_LINE);
			out->desync = 1;
			break;
		}
		if (st != CONN_OK) {
			out_set(out, OUT_EXPECT, NULL, "a multi-line body", "read error: %s", err.msg);
			out->desync = 1;
			break;
		}
		struct violation v;
		if (check_data_line(line, &ln, &v)) {
			out_set(out, OUT_CHECK, v.req, "well-formed multi-line data", "%s", v.what);
			out->desync = 1;
			break;
		}
		const char *data;
		size_t dlen;
		if (ml_decode_line(line, ln.len, &data, &dlen) == ML_TERMINATOR)
			break;
		nlines++;
		octets += ln.consumed;
		if (octets > limit) {
			out_set(out, OUT_EXPECT, NULL, "a body that ends", "more than %llu octets of body",
			        limit);
			out->desync = 1;
			break;
		}
		for (size_t i = 0; i < nalts; i++)
			alt_body_line(&alts[i], data, dlen);
		if (cb)
			cb(cbctx, data, dlen);
	}
	if (nlines > XC_BODY_LINES_SHOWN && !(flags & EXP_QUIET_BODY))
		xtr_note(&x->tr, s->name, "%llu more body lines not shown (%llu body lines, %llu octets)",
		         nlines - XC_BODY_LINES_SHOWN, nlines, octets);
}

/* closes / silent_for, after the response: they read from the connection, so only for a winner.
 * `closes` waits for the close without consuming anything: octets that come first fail this alternative
 * and stay buffered, so the next alternative (or step) still sees them — a reply to the excess of an
 * over-long line, say, is never thrown away unseen (P-LINE-2). */
static void judge_after(struct xctx *x, struct xsession *s, struct alt *a, double timeout)
{
	const struct expect *e = a->e;
	struct p3err err = {""};
	if (e->closes == 1 && s->c) {
		enum conn_status st = conn_poll_data(s->c, (int)(timeout * 1000), &err);
		if (st == CONN_EOF) {
			int clean = closed_by_server(x, s, "the server closed the connection");
			if (e->close_notify && clean == 0)
				alt_fail(a, e->ref ? e->ref : "R8314-TLS-3", NO_CLOSE_NOTIFY_EXP, NO_CLOSE_NOTIFY_GOT);
		} else if (st == CONN_OK) {
			alt_fail(a, NULL, "the server closes right after the response",
			         "%zu more octets came instead", conn_buffered(s->c));
		} else if (st == CONN_TIMEOUT) {
			alt_fail(a, NULL, "the server closes the connection", "it stayed open for %.1f s",
			         timeout);
		} else {
			alt_fail(a, NULL, "the server closes the connection", "%s", err.msg);
		}
	}
	if (e->silent_for > 0 && s->c) {
		double window = target_silence(x->t, e->silent_for); /* a slow link's profile lengthens it */
		enum conn_status st = conn_poll_data(s->c, (int)(window * 1000), &err);
		if (st == CONN_OK) {
			char exp[80];
			snprintf(exp, sizeof exp, "nothing more for %.1f s", window);
			const char *line;
			struct line ln;
			/* Show what came (one line, bounded). */
			if (xs_read_line(x, s, xc_now_ms() + 200, 1, &line, &ln, &err) == CONN_OK) {
				char shown[300];
				line_escape(line, ln.len, shown, sizeof shown);
				alt_fail(a, NULL, exp, "%s", shown);
			} else {
				alt_fail(a, NULL, exp, "octets arrived");
			}
		} else if (st == CONN_EOF) {
			s->eof = 1;
			xs_close(x, s, 0, "the server closed the connection (silently)");
		}
	}
}

void expect_response(struct xctx *x, struct xsession *s, const struct expect *e, int flags, body_line_fn cb,
                     void *cbctx, struct outcome *out)
{
	static const struct expect any = {.status = WANT_UNSET, .closes = -1, .handshake = -1, .level = -1};
	static const struct expect any_body = {
	    .status = WANT_UNSET, .multiline = true, .closes = -1, .handshake = -1, .level = -1};
	if (e == NULL)
		e = cb ? &any_body : &any;
	const struct expect *alts_e = e->one_of ? e->one_of : e;
	size_t nalts = e->one_of ? e->n_one_of : 1;
	double timeout = e->timeout > 0 ? e->timeout : x->timeout;
	long long deadline = xc_now_ms() + (long long)(timeout * 1000);
	char desc[1024];
	describe(x, e, desc, sizeof desc);
	outcome_pass(out);

	struct alt *alts = calloc(nalts, sizeof *alts);
	if (alts == NULL)
		return (void)out_set(out, OUT_ERROR, NULL, NULL, "out of memory");
	size_t ninit = 0;
	int accept_close = 0, body = cb != NULL;
	unsigned long long limit = XC_MAX_BODY;
	for (; ninit < nalts; ninit++) {
		if (alt_init(x, &alts[ninit], &alts_e[ninit], out) != 0)
			goto out;
		accept_close |= accepts_close(&alts_e[ninit]);
		body |= alts[ninit].body;
		if (alts[ninit].mc_on && alts[ninit].mc.size + (1u << 20) > limit)
			limit = alts[ninit].mc.size * 2 + (1u << 20); /* stuffing can double a body */
	}

	enum status_kind kind = STATUS_INVALID;
	int clean = -1;
	for (size_t i = 0; i < nalts; i++)
		if (alts_e[i].close_notify && !conn_is_tls_or_closed(s)) {
			out_set(out, OUT_ERROR, NULL, NULL,
			        "scenario error: close_notify needs a TLS session (session '%s' is not in TLS)",
			        s->name);
			goto out;
		}
	/* A "no reply within N s" alternative is judged first, before anything is read: silence for its
	 * window is the whole answer; octets (or a close) within it leave the reply to the other alternatives. */
	size_t silent_alt = nalts;
	for (size_t i = 0; i < nalts && silent_alt == nalts; i++)
		if (silence_only(&alts_e[i]))
			silent_alt = i;
	if (silent_alt < nalts && s->c) {
		struct p3err perr = {""};
		double window = target_silence(x->t, alts_e[silent_alt].silent_for);
		if (conn_poll_data(s->c, (int)(window * 1000), &perr) == CONN_TIMEOUT) {
			xtr_note(&x->tr, s->name, "no reply within %.1f s", window);
			vars_set_str(&x->vars, "last.status", "");
			vars_set_str(&x->vars, "last.line", "");
			goto out;
		}
	}
	read_first(x, s, deadline, timeout, accept_close, &kind, desc, &clean, out);
	if (out->kind == OUT_PASS && s->c == NULL && clean == 0)
		close_without_notify(alts_e, nalts, out);
	if (out->kind != OUT_PASS || s->c == NULL)
		goto finish_level;
	for (size_t i = 0; i < nalts; i++)
		if (judge_first(x, &alts[i], x->last_line, x->last_len, kind, out) != 0)
			goto out;
	if (silent_alt < nalts) {
		char shown[300], exp[64];
		line_escape(x->last_line, x->last_len, shown, sizeof shown);
		snprintf(exp, sizeof exp, "no reply within %.1f s", alts_e[silent_alt].silent_for);
		alt_fail(&alts[silent_alt], NULL, exp, "%s", shown);
	}
	if (kind == STATUS_OK && body) {
		read_body(x, s, alts, nalts, deadline, timeout, flags, cb, cbctx, limit, out);
		if (out->kind != OUT_PASS)
			goto finish_level;
		for (size_t i = 0; i < nalts; i++)
			alt_body_end(&alts[i]);
	} else {
		char shown[300];
		line_escape(x->last_line, x->last_len, shown, sizeof shown);
		for (size_t i = 0; i < nalts; i++)
			if (alts[i].body && alts[i].ok)
				alt_fail(&alts[i], NULL, "+OK and a multi-line body", "%s", shown);
	}
	/* The first alternative that holds wins (closes / silent_for are judged only for it). */
	struct alt *win = NULL;
	for (size_t i = 0; i < nalts && !win; i++) {
		if (!alts[i].ok)
			continue;
		judge_after(x, s, &alts[i], timeout);
		if (alts[i].ok)
			win = &alts[i];
	}
	if (win) {
		if (apply_captures(x, win->e, out) != 0)
			goto out;
		if (win->e->capture_body)
			vars_set(&x->vars, win->e->capture_body, win->cap ? win->cap : "", win->caplen);
		if (win->mc_on) {
			/* What a delivery agent or the server added stays visible (the integrity scenario judges
			 * it; rfc1939/retr/message-as-delivered), without failing a scenario about anything else. */
			vars_set_long(&x->vars, "last.added_headers", (long long)win->mc.added);
			vars_set_str(&x->vars, "last.added_fields", win->mc.added_fields);
			if (win->mc.added)
				xtr_note(&x->tr, s->name,
				         "the server's copy of fixture message %zu has %zu header line%s the fixture has "
				         "not (delivery: agent): %s%s",
				         win->mc.msgno, win->mc.added, win->mc.added == 1 ? "" : "s",
				         win->mc.added_shown, win->mc.added > MC_ADDED_SHOWN ? " | ..." : "");
		}
		if (win->octets_set || win->mc_on)
			vars_set_long(&x->vars, "last.octets", (long long)win->octets);
		for (size_t i = 0; i < win->nlcap; i++) {
			char shown[300];
			vars_set(&x->vars, win->e->line_captures[i].name, win->lcap[i].val, win->lcap[i].len);
			line_escape(win->lcap[i].val, win->lcap[i].len, shown, sizeof shown);
			xtr_note(&x->tr, s->name, "captured %s = %s", win->e->line_captures[i].name, shown);
		}
		goto out;
	}
	/* Report the alternative whose status matched, if any, else the first. */
	struct alt *why = &alts[0];
	for (size_t i = 0; i < nalts; i++)
		if (strcmp(alts[i].expected, status_text(alts[i].e->status)) != 0) {
			why = &alts[i];
			break;
		}
	out->kind = OUT_EXPECT;
	out->req = e->ref ? e->ref : why->req;
	if (nalts > 1)
		snprintf(out->expected, sizeof out->expected, "%s", desc);
	else
		snprintf(out->expected, sizeof out->expected, "%s", why->expected);
	snprintf(out->actual, sizeof out->actual, "%s", why->actual);
finish_level:
	if (out->kind == OUT_EXPECT) {
		out->own_level = e->level >= 0;
		out->level = e->level >= 0 ? e->level : (int)x->sc->level;
		if (!out->req)
			out->req = e->ref;
	}
out:
	/* Whether this response was a close: steps after an authentication -ERR, which RFC 1939 §4 lets a
	 * server follow with a close, run `when: {equal: ["${last.closed}", "no"]}`. */
	vars_set_str(&x->vars, "last.closed", s->c == NULL ? "yes" : "no");
	for (size_t i = 0; i < ninit; i++)
		alt_free(&alts[i]);
	free(alts);
}

void expect_judge_last(struct xctx *x, const struct expect *e, struct outcome *out)
{
	static const struct expect ok = {.status = WANT_OK, .closes = -1, .handshake = -1, .level = -1};
	if (e == NULL)
		e = &ok;
	const struct expect *alts_e = e->one_of ? e->one_of : e;
	size_t nalts = e->one_of ? e->n_one_of : 1;
	char desc[1024];
	describe(x, e, desc, sizeof desc);
	outcome_pass(out);
	const char *line = x->last_line ? x->last_line : "";
	enum status_kind kind = check_status_kind(line, x->last_len);
	struct alt *why = NULL;
	for (size_t i = 0; i < nalts; i++) {
		struct alt a;
		memset(&a, 0, sizeof a);
		a.e = &alts_e[i];
		a.ok = 1;
		if (judge_first(x, &a, line, x->last_len, kind, out) != 0)
			return;
		if (a.ok) {
			apply_captures(x, a.e, out);
			return;
		}
		if (why == NULL) {
			why = malloc(sizeof *why);
			if (why)
				*why = a;
		}
	}
	out->kind = OUT_EXPECT;
	out->own_level = e->level >= 0;
	out->level = e->level >= 0 ? e->level : (int)x->sc->level;
	out->req = e->ref ? e->ref : why ? why->req : NULL;
	snprintf(out->expected, sizeof out->expected, "%s", nalts > 1 || !why ? desc : why->expected);
	if (why)
		snprintf(out->actual, sizeof out->actual, "%s", why->actual);
	else
		line_escape(line, x->last_len, out->actual, sizeof out->actual);
	free(why);
}
