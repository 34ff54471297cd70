/* exec_assert.c — the assert step: comparisons of interpolated values and captures, with no I/O (equal,
 * not_equal, match, not_match; subset and distinct over captured bodies line by line; le, ge, lt, gt over
 * decimal integers of any length, with an `infinite` word). */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner/rx.h"
#include "runner/exec/exec_int.h"
#include "runner/step_kinds.h"

static size_t first_word(const char *line, size_t len)
{
	size_t i = 0;
	while (i < len && line[i] != ' ')
		i++;
	return i;
}

/* Whether the first word of line (len) is among the ignore list. */
static int ignored(const struct step *st, const char *w, size_t wl)
{
	for (size_t i = 0; i < st->u.assert_.nignore; i++)
		if (strlen(st->u.assert_.ignore[i]) == wl && strncasecmp(st->u.assert_.ignore[i], w, wl) == 0)
			return 1;
	return 0;
}

/* Captured bodies are walked line by line with their length: a server's NUL octet is part of a line,
 * never its end (nor the end of the body). */
struct span {
	const char *p;
	size_t len;
};

/* The next '\n'-separated line of *rest into *ln; 0 when none is left. */
static int next_line(struct span *rest, struct span *ln)
{
	if (rest->len == 0)
		return 0;
	const char *nl = memchr(rest->p, '\n', rest->len);
	ln->p = rest->p;
	ln->len = nl ? (size_t)(nl - rest->p) : rest->len;
	rest->p += ln->len + (nl != NULL);
	rest->len -= ln->len + (nl != NULL);
	return 1;
}

static int same_icase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* Each line's first word in A appears as a first word in B (case-insensitively). */
static int subset(const struct step *st, struct span a, struct span b, char *missing, size_t msize)
{
	struct span p;
	while (next_line(&a, &p)) {
		size_t wl = first_word(p.p, p.len);
		if (wl == 0 || ignored(st, p.p, wl))
			continue;
		int found = 0;
		struct span rest = b, q;
		while (!found && next_line(&rest, &q))
			found = first_word(q.p, q.len) == wl && same_icase(p.p, q.p, wl);
		if (!found) {
			line_escape(p.p, wl, missing, msize);
			return 0;
		}
	}
	return 1;
}

static int distinct(struct span a, char *dup, size_t dsize)
{
	struct span p;
	while (next_line(&a, &p)) {
		struct span rest = a, q;
		while (next_line(&rest, &q))
			if (q.len == p.len && memcmp(p.p, q.p, p.len) == 0) {
				line_escape(p.p, p.len, dup, dsize);
				return 0;
			}
	}
	return 1;
}

static int capture_value(struct xctx *x, const struct sstr *name, struct span *val, struct outcome *out)
{
	char key[128];
	snprintf(key, sizeof key, "%.*s", (int)(name->len < 127 ? name->len : 127), name->s ? name->s : "");
	const struct var *v = vars_get(&x->vars, key);
	if (v == NULL) {
		out_set(out, OUT_ERROR, NULL, NULL, "scenario error: assert: nothing captured as '%s'", key);
		return -1;
	}
	val->p = v->val;
	val->len = v->len;
	return 0;
}

/* le, ge, lt, gt: integers of any length; the `infinite` word above them all (NEVER for EXPIRE). */
static void compare_ints(const struct step *st, const char *a, size_t al, const char *b, size_t bl,
                         struct outcome *out)
{
	static const char *const opname[] = {"at most", "at least", "less than", "more than"};
	enum assert_op op = st->u.assert_.op;
	const char *inf = st->u.assert_.infinite;
	char sa[100], sb[100];
	line_escape(a, al, sa, sizeof sa);
	line_escape(b, bl, sb, sizeof sb);
	int c;
	if (values_cmp_int(a, al, b, bl, inf, &c) != 0) {
		out_set(out, OUT_ERROR, NULL, NULL,
		        "scenario error: assert: '%s' or '%s' is not an integer%s%s", sa, sb,
		        inf ? " or " : "", inf ? inf : "");
		return;
	}
	int holds = op == ASSERT_LE ? c <= 0 : op == ASSERT_GE ? c >= 0 : op == ASSERT_LT ? c < 0 : c > 0;
	if (holds)
		return;
	char exp[300];
	snprintf(exp, sizeof exp, "'%s' %s '%s'%s%s%s", sa, opname[op - ASSERT_LE], sb, inf ? " (" : "",
	         inf ? inf : "", inf ? " above every number)" : "");
	out_set(out, OUT_EXPECT, st->u.assert_.ref, exp, "it is %s",
	        c < 0   ? "less"
	        : c > 0 ? "more"
	                : "equal");
}

void step_run_assert(struct xctx *x, const struct step *st, struct outcome *out)
{
	const char *ref = st->u.assert_.ref;
	char *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	char sa[300], sb[300];
	switch (st->u.assert_.op) {
	case ASSERT_EQUAL:
	case ASSERT_NOT_EQUAL: {
		if (xc_interp(x, &st->u.assert_.a, &a, &al, out) != 0 ||
		    xc_interp(x, &st->u.assert_.b, &b, &bl, out) != 0)
			break;
		int eq = al == bl && memcmp(a, b, al) == 0;
		line_escape(a, al, sa, sizeof sa);
		line_escape(b, bl, sb, sizeof sb);
		if (st->u.assert_.op == ASSERT_EQUAL && !eq) {
			char exp[700];
			snprintf(exp, sizeof exp, "'%s' equal to '%s'", sa, sb);
			out_set(out, OUT_EXPECT, ref, exp, "they differ");
		} else if (st->u.assert_.op == ASSERT_NOT_EQUAL && eq) {
			out_set(out, OUT_EXPECT, ref, "two different values", "both are '%s'", sa);
		}
		break;
	}
	case ASSERT_MATCH:
	case ASSERT_NOT_MATCH: {
		if (xc_interp(x, &st->u.assert_.a, &a, &al, out) != 0 ||
		    xc_interp(x, &st->u.assert_.b, &b, &bl, out) != 0)
			break;
		regex_t r;
		if (rx_compile(&r, b, REG_EXTENDED | REG_NOSUB) != 0) {
			out_set(out, OUT_ERROR, NULL, NULL, "scenario error: assert: bad regex /%s/", b);
			break;
		}
		int m = rx_match(&r, a, al); /* a may hold a server's octets, NUL included */
		regfree(&r);
		line_escape(a, al, sa, sizeof sa);
		if (m != (st->u.assert_.op == ASSERT_MATCH)) {
			char exp[400];
			snprintf(exp, sizeof exp, "a value %smatching /%s/", m ? "not " : "", b);
			out_set(out, OUT_EXPECT, ref, exp, "'%s'", sa);
		}
		break;
	}
	case ASSERT_SUBSET: {
		struct span va, vb;
		if (capture_value(x, &st->u.assert_.a, &va, out) != 0 ||
		    capture_value(x, &st->u.assert_.b, &vb, out) != 0)
			break;
		char missing[200];
		if (!subset(st, va, vb, missing, sizeof missing)) {
			char exp[300];
			snprintf(exp, sizeof exp, "every first word of %.*s in %.*s",
			         (int)st->u.assert_.a.len, st->u.assert_.a.s, (int)st->u.assert_.b.len,
			         st->u.assert_.b.s);
			out_set(out, OUT_EXPECT, ref, exp, "'%s' is missing", missing);
		}
		break;
	}
	case ASSERT_DISTINCT: {
		struct span va;
		if (capture_value(x, &st->u.assert_.a, &va, out) != 0)
			break;
		char dup[300];
		if (!distinct(va, dup, sizeof dup))
			out_set(out, OUT_EXPECT, ref, "no two lines equal", "'%s' appears twice", dup);
		break;
	}
	case ASSERT_LE:
	case ASSERT_GE:
	case ASSERT_LT:
	case ASSERT_GT:
		if (xc_interp(x, &st->u.assert_.a, &a, &al, out) != 0 ||
		    xc_interp(x, &st->u.assert_.b, &b, &bl, out) != 0)
			break;
		compare_ints(st, a, al, b, bl, out);
		break;
	}
	if (out->kind == OUT_EXPECT)
		out->level = (int)x->sc->level;
	free(a);
	free(b);
}
