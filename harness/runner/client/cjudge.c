/* cjudge.c — judging a client: every command line against the grammar and the session state (RFC 1939
 * §3-§7, RFC 2449 §5, RFC 2595 §4, RFC 5034 §4), and a delivered message against its fixture. */
#include "runner/client/client.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum argf { A_NONE, A_MSG, A_OPTMSG, A_TOP, A_WORD, A_TEXT, A_APOP, A_AUTH, A_OPTWORD };
enum where { W_AUTH = 1, W_TRANS = 2, W_ANY = 3 };

static const struct cmdrule {
	const char *kw;
	enum where where;
	enum argf arg;
} rules[] = {
    /* RFC 1939 §4-§7 */
    {"USER", W_AUTH, A_WORD},
    {"PASS", W_AUTH, A_TEXT},
    {"APOP", W_AUTH, A_APOP},
    {"QUIT", W_ANY, A_NONE},
    {"STAT", W_TRANS, A_NONE},
    {"LIST", W_TRANS, A_OPTMSG},
    {"RETR", W_TRANS, A_MSG},
    {"DELE", W_TRANS, A_MSG},
    {"NOOP", W_TRANS, A_NONE},
    {"RSET", W_TRANS, A_NONE},
    {"TOP", W_TRANS, A_TOP},
    {"UIDL", W_TRANS, A_OPTMSG},
    /* RFC 2449 §5 (any state), RFC 2595 §4, RFC 5034 §4, RFC 6856 */
    {"CAPA", W_ANY, A_NONE},
    {"STLS", W_AUTH, A_NONE},
    {"AUTH", W_AUTH, A_AUTH},
    {"UTF8", W_AUTH, A_NONE},
    {"LANG", W_ANY, A_OPTWORD},
    /* Tolerated, never a deviation by itself: AUTH alone lists the mechanisms (RFC 1734 practice), LAST
     * is RFC 1460's, removed by RFC 1939 but harmless (the server answers -ERR). */
    {"LAST", W_TRANS, A_NONE},
};

static bool digits(const char *p, size_t n)
{
	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return false;
	return p[0] != '0' || n == 1;
}

/* Split args on single spaces; returns the count, -1 on an empty word (two spaces, a trailing space). */
static int words(const char *p, size_t n, const char **w, size_t *wl, int max)
{
	int k = 0;
	size_t i = 0;
	if (n == 0)
		return 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && p[j] != ' ')
			j++;
		if (j == i)
			return -1;
		if (k < max) {
			w[k] = p + i;
			wl[k] = j - i;
		}
		k++;
		i = j + 1;
	}
	return k;
}

const char *cjudge_command(const char *line, size_t n, enum csrv_state st)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return "a control octet in the command (RFC 1939 §3: printable ASCII arguments)";
	size_t k = 0;
	while (k < n && line[k] != ' ')
		k++;
	if (k < 3 || k > 4)
		return "the keyword is not 3 or 4 characters (RFC 1939 §3)";
	const struct cmdrule *r = NULL;
	for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
		if (strlen(rules[i].kw) == k && strncasecmp(rules[i].kw, line, k) == 0)
			r = &rules[i];
	if (!r)
		return "an unknown command";
	if (st == CS_UPDATE)
		return "a command after QUIT";
	if (!(r->where & (st == CS_AUTH ? W_AUTH : W_TRANS)))
		return st == CS_AUTH ? "a TRANSACTION command before the login (RFC 1939 §4)"
		                     : "an AUTHORIZATION command after the login (RFC 1939 §5)";
	const char *a = k < n ? line + k + 1 : line + n;
	size_t an = k < n ? n - k - 1 : 0;
	if (k < n && an == 0)
		return "a space after the keyword without an argument (RFC 1939 §3)";
	const char *w[3];
	size_t wl[3];
	int nw = r->arg == A_TEXT ? (an ? 1 : 0) : words(a, an, w, wl, 3);
	if (nw < 0)
		return "arguments separated by more than one space (RFC 1939 §3)";
	switch (r->arg) {
	case A_NONE:
		return nw == 0 ? NULL : "an argument where the command takes none";
	case A_MSG:
		return nw == 1 && digits(w[0], wl[0]) ? NULL : "not exactly one message number (RFC 1939 §5)";
	case A_OPTMSG:
		return nw == 0 || (nw == 1 && digits(w[0], wl[0])) ? NULL : "a bad optional message number";
	case A_TOP:
		return nw == 2 && digits(w[0], wl[0]) &&
		               (digits(w[1], wl[1]) || (wl[1] == 1 && w[1][0] == '0'))
		           ? NULL
		           : "TOP needs a message number and a line count (RFC 1939 §7)";
	case A_WORD:
		return nw == 1 ? NULL : "not exactly one argument";
	case A_OPTWORD:
		return nw <= 1 ? NULL : "more than one argument";
	case A_TEXT:
		return nw == 1 ? NULL : "PASS without a password";
	case A_APOP:
		if (nw != 2 || wl[1] != 32)
			return "APOP needs a name and a 32-digit MD5 digest (RFC 1939 §7)";
		for (size_t i = 0; i < 32; i++)
			if (!isxdigit((unsigned char)w[1][i]))
				return "APOP's digest is not hexadecimal (RFC 1939 §7)";
		return NULL;
	case A_AUTH:
		return nw <= 2 ? NULL
		               : "AUTH takes a mechanism and at most an initial response (RFC 5034 §4)";
	}
	return NULL;
}

/* ---- delivery ---- */

struct nbuf {
	char *p;
	size_t n;
};

/* LF line ends, a final LF (the server adds the CRLF a stored message lacked: RFC 1939 §11 practice). */
static struct nbuf normalize(const char *s, size_t n)
{
	struct nbuf b = {malloc(n + 2), 0};
	if (!b.p)
		return b;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		b.p[b.n++] = s[i];
	}
	if (b.n && b.p[b.n - 1] != '\n')
		b.p[b.n++] = '\n';
	return b;
}

static bool added_header(const struct cprofile *p, const char *line, size_t n)
{
	for (size_t i = 0; i < p->nadds_headers; i++) {
		size_t h = strlen(p->adds_headers[i]);
		if (n > h && strncasecmp(line, p->adds_headers[i], h) == 0 && line[h] == ':')
			return true;
	}
	return false;
}

bool cdeliver_equal(const struct cprofile *p, const char *got, size_t glen, const char *want, size_t wlen)
{
	struct nbuf g = normalize(got, glen), w = normalize(want, wlen);
	bool eq = false;
	if (g.p && w.p) {
		size_t off = 0;
		/* Header fields the client adds on top (Received, Return-Path, ...), with continuation lines:
		 * skipped one at a time until the rest is the message, which may itself start with one of
		 * them (a stored Return-Path). */
		for (;;) {
			if (g.n - off == w.n && memcmp(g.p + off, w.p, w.n) == 0) {
				eq = true;
				break;
			}
			const char *nl = memchr(g.p + off, '\n', g.n - off);
			size_t len = nl ? (size_t)(nl - (g.p + off)) : g.n - off;
			if (off >= g.n || !added_header(p, g.p + off, len))
				break;
			off += len + 1;
			while (off < g.n && (g.p[off] == ' ' || g.p[off] == '\t')) {
				nl = memchr(g.p + off, '\n', g.n - off);
				off = nl ? (size_t)(nl - g.p) + 1 : g.n;
			}
		}
	}
	free(g.p);
	free(w.p);
	return eq;
}
