/* expect_judge.c — judging one response against an expectation, with no I/O (expect_judge.h): first-line
 * keys, body matchers fed one un-stuffed line at a time (never holding a body whole), a fixture message
 * compared as the body streams, and the verdict over one_of's alternatives judged side by side. */
#include "runner/exec/expect_judge.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/line.h"
#include "runner/exec/expect.h"
#include "runner/exec/expect_msgcmp.h"
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
int judge_silence_only(const struct expect *e)
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
	if (judge_silence_only(e)) {
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
		ADD(e->close_notify ? ", then the server closes with a TLS close_notify"
		                    : ", then the server closes");
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
	msgcmp_close(&a->mc);
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
		if (msgcmp_open(&a->mc, m, (size_t)n, top, lines,
		                x->t != NULL && target_delivery(x->t) == DELIVERY_AGENT) != 0)
			return out_set(out, OUT_ERROR, NULL, NULL, "cannot open fixture message %s", m->path);
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
static int alt_first(struct xctx *x, struct alt *a, const char *line, size_t len, enum status_kind kind,
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

/* Set the variables of an alternative's captures (checked by alt_first) from the first line. */
static int apply_captures(struct xctx *x, const struct expect *e, const char *line, size_t len,
                          struct outcome *out)
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
		if (line && rx_exec(&cr, line, len, 2, m) == 0) {
			/* Group 1 if the regex has one and it took part, else the whole match. */
			regmatch_t *g = cr.re_nsub >= 1 && m[1].rm_so >= 0 ? &m[1] : &m[0];
			char shown[300];
			vars_set(&x->vars, e->captures[i].name, line + g->rm_so,
			         (size_t)(g->rm_eo - g->rm_so));
			line_escape(line + g->rm_so, (size_t)(g->rm_eo - g->rm_so), shown, sizeof shown);
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
		char exp[400];
		int extra;
		if (msgcmp_line(&a->mc, k, data, len, exp, sizeof exp, &extra) != 0)
			alt_fail(a, NULL, exp, "%s%zu: %s", extra ? "an extra line " : "line ", k,
			         (line_escape(data, len, shown, sizeof shown), shown));
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
		alt_fail(a, e->ref ? NULL : "R1939-LIST-8", exp, "%llu octets in %zu lines", a->octets,
		         a->nbody);
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
		char exp[400];
		if (msgcmp_end(&a->mc, exp, sizeof exp) != 0)
			alt_fail(a, NULL, exp, "the body ended after %zu lines", a->nbody);
	}
}

/* Is this alternative satisfied by the server closing instead of answering? ({closes: true} alone) */
static int accepts_close(const struct expect *e)
{
	return e->closes == 1 && e->status == WANT_UNSET && !e->code && !e->match && !wants_body(e) &&
	       e->ncaptures == 0;
}

/* The close passes only if some alternative accepting it ({closes: true} alone) does not ask for
 * close_notify (RFC 8314 §3.4 via R8314-TLS-3). */
void judge_close_without_notify(const struct judge *j, struct outcome *out)
{
	const struct expect *alts_e = j->alts_e;
	size_t nalts = j->nalts;
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

/* ---- one response: every alternative --------------------------------------------------------------- */

int judge_init(struct judge *j, struct xctx *x, const struct expect *e, int want_body, struct outcome *out)
{
	static const struct expect any = {.status = WANT_UNSET, .closes = -1, .handshake = -1, .level = -1};
	static const struct expect any_body = {
	    .status = WANT_UNSET, .multiline = true, .closes = -1, .handshake = -1, .level = -1};
	memset(j, 0, sizeof *j);
	if (e == NULL)
		e = want_body ? &any_body : &any;
	j->x = x;
	j->e = e;
	j->alts_e = e->one_of ? e->one_of : e;
	j->nalts = e->one_of ? e->n_one_of : 1;
	j->body = want_body;
	j->body_limit = XC_MAX_BODY;
	describe(x, e, j->desc, sizeof j->desc);
	outcome_pass(out);
	j->alts = calloc(j->nalts, sizeof *j->alts);
	if (j->alts == NULL)
		return out_set(out, OUT_ERROR, NULL, NULL, "out of memory");
	for (; j->ninit < j->nalts; j->ninit++) {
		struct alt *a = &j->alts[j->ninit];
		if (alt_init(x, a, &j->alts_e[j->ninit], out) != 0) {
			j->ninit++; /* partly prepared: alt_free frees what it holds */
			return -1;
		}
		j->accept_close |= accepts_close(a->e);
		j->body |= a->body;
		if (a->mc_on && a->mc.size + (1u << 20) > j->body_limit)
			j->body_limit = a->mc.size * 2 + (1u << 20); /* stuffing can double a body */
	}
	/* A "no reply within N s" alternative is judged first by the reader, before anything is read. */
	j->silent_alt = j->nalts;
	for (size_t i = 0; i < j->nalts && j->silent_alt == j->nalts; i++)
		if (judge_silence_only(&j->alts_e[i]))
			j->silent_alt = i;
	return 0;
}

void judge_free(struct judge *j)
{
	for (size_t i = 0; i < j->ninit; i++)
		alt_free(&j->alts[i]);
	free(j->alts);
	j->alts = NULL;
	j->ninit = 0;
}

int judge_first(struct judge *j, const char *line, size_t len, enum status_kind kind, struct outcome *out)
{
	j->first = line;
	j->first_len = len;
	for (size_t i = 0; i < j->nalts; i++)
		if (alt_first(j->x, &j->alts[i], line, len, kind, out) != 0)
			return -1;
	if (j->silent_alt < j->nalts) {
		char shown[300], exp[64];
		line_escape(line, len, shown, sizeof shown);
		snprintf(exp, sizeof exp, "no reply within %.1f s", j->alts_e[j->silent_alt].silent_for);
		alt_fail(&j->alts[j->silent_alt], NULL, exp, "%s", shown);
	}
	return 0;
}

void judge_body_line(struct judge *j, const char *data, size_t len)
{
	for (size_t i = 0; i < j->nalts; i++)
		alt_body_line(&j->alts[i], data, len);
}

void judge_body_end(struct judge *j)
{
	for (size_t i = 0; i < j->nalts; i++)
		alt_body_end(&j->alts[i]);
}

void judge_no_body(struct judge *j)
{
	char shown[300];
	line_escape(j->first ? j->first : "", j->first_len, shown, sizeof shown);
	for (size_t i = 0; i < j->nalts; i++)
		if (j->alts[i].body && j->alts[i].ok)
			alt_fail(&j->alts[i], NULL, "+OK and a multi-line body", "%s", shown);
}

int judge_alt_ok(const struct judge *j, size_t i)
{
	return j->alts[i].ok;
}

void judge_alt_fail(struct judge *j, size_t i, const char *req, const char *expected, const char *fmt, ...)
{
	struct alt *a = &j->alts[i];
	if (!a->ok)
		return; /* the first reason is the one reported */
	char actual[sizeof a->actual];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(actual, sizeof actual, fmt, ap);
	va_end(ap);
	alt_fail(a, req, expected, "%s", actual);
}

void judge_verdict(struct judge *j, size_t win, const char *session, struct outcome *out)
{
	struct xctx *x = j->x;
	if (win < j->nalts) {
		struct alt *w = &j->alts[win];
		if (apply_captures(x, w->e, j->first, j->first_len, out) != 0)
			return;
		if (w->e->capture_body)
			vars_set(&x->vars, w->e->capture_body, w->cap ? w->cap : "", w->caplen);
		if (w->mc_on) {
			/* What a delivery agent or the server added stays visible (the integrity scenario
			 * judges it; rfc1939/retr/message-as-delivered), without failing a scenario about
			 * anything else. */
			vars_set_long(&x->vars, "last.added_headers", (long long)w->mc.added);
			vars_set_str(&x->vars, "last.added_fields", w->mc.added_fields);
			if (w->mc.added)
				xtr_note(&x->tr, session,
				         "the server's copy of fixture message %zu has %zu header line%s the "
				         "fixture has "
				         "not (delivery: agent): %s%s",
				         w->mc.msgno, w->mc.added, w->mc.added == 1 ? "" : "s",
				         w->mc.added_shown, w->mc.added > MC_ADDED_SHOWN ? " | ..." : "");
		}
		if (w->octets_set || w->mc_on)
			vars_set_long(&x->vars, "last.octets", (long long)w->octets);
		for (size_t i = 0; i < w->nlcap; i++) {
			char shown[300];
			vars_set(&x->vars, w->e->line_captures[i].name, w->lcap[i].val, w->lcap[i].len);
			line_escape(w->lcap[i].val, w->lcap[i].len, shown, sizeof shown);
			xtr_note(&x->tr, session, "captured %s = %s", w->e->line_captures[i].name, shown);
		}
		return;
	}
	/* Report the alternative whose status matched, if any, else the first. */
	struct alt *why = &j->alts[0];
	for (size_t i = 0; i < j->nalts; i++)
		if (strcmp(j->alts[i].expected, status_text(j->alts[i].e->status)) != 0) {
			why = &j->alts[i];
			break;
		}
	out->kind = OUT_EXPECT;
	out->req = j->e->ref ? j->e->ref : why->req;
	snprintf(out->expected, sizeof out->expected, "%s", j->nalts > 1 ? j->desc : why->expected);
	snprintf(out->actual, sizeof out->actual, "%s", why->actual);
}

void judge_level(const struct judge *j, struct outcome *out)
{
	if (out->kind != OUT_EXPECT)
		return;
	out->own_level = j->e->level >= 0;
	out->level = j->e->level >= 0 ? j->e->level : (int)j->x->sc->level;
	if (!out->req)
		out->req = j->e->ref;
}

/* ---- the first line read last, judged again -------------------------------------------------------- */

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
	/* The first alternative that failed says why (first lines allocate nothing in an alt). */
	struct alt why;
	int have_why = 0;
	for (size_t i = 0; i < nalts; i++) {
		struct alt a;
		memset(&a, 0, sizeof a);
		a.e = &alts_e[i];
		a.ok = 1;
		if (alt_first(x, &a, line, x->last_len, kind, out) != 0)
			return;
		if (a.ok) {
			apply_captures(x, a.e, x->last_line, x->last_len, out);
			return;
		}
		if (!have_why) {
			why = a;
			have_why = 1;
		}
	}
	out->kind = OUT_EXPECT;
	out->own_level = e->level >= 0;
	out->level = e->level >= 0 ? e->level : (int)x->sc->level;
	out->req = e->ref ? e->ref : have_why ? why.req : NULL;
	snprintf(out->expected, sizeof out->expected, "%s", nalts > 1 || !have_why ? desc : why.expected);
	if (have_why)
		snprintf(out->actual, sizeof out->actual, "%s", why.actual);
	else
		line_escape(line, x->last_len, out->actual, sizeof out->actual);
}
