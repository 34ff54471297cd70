/* values.c — ${...} interpolation: a variable store and a small recursive-descent evaluator for the
 * scenario language's expressions (docs/scenario-language.md, "Values").
 *
 * Grammar (whitespace allowed between tokens):
 *   expr    := call | integer | literal | name
 *   call    := ident '(' [ expr { ',' expr } ] ')'
 *   name    := [A-Za-z_][A-Za-z0-9_.-]*        (fixture.size.2, last.status)
 *   integer := ['-'] [0-9]+
 *   literal := '\'' { char | '\\' ( r | n | t | 0 | \\ | ' | xHH ) } '\''
 */
#include "runner/values.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/b64.h"
#include "lib/digest.h"

/* ---- the variable store ---------------------------------------------------------------------------- */

void vars_init(struct vars *vs)
{
	memset(vs, 0, sizeof *vs);
}

void vars_free(struct vars *vs)
{
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->v[i].name);
		free(vs->v[i].val);
	}
	free(vs->v);
	memset(vs, 0, sizeof *vs);
}

static struct var *find_var(const struct vars *vs, const char *name)
{
	for (size_t i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].name, name) == 0)
			return &vs->v[i];
	return NULL;
}

const struct var *vars_get(const struct vars *vs, const char *name)
{
	return find_var(vs, name);
}

int vars_set(struct vars *vs, const char *name, const char *val, size_t len)
{
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return -1;
	if (len)
		memcpy(copy, val, len);
	copy[len] = '\0';
	struct var *v = find_var(vs, name);
	if (v != NULL) {
		free(v->val);
		v->val = copy;
		v->len = len;
		return 0;
	}
	if (vs->n == vs->cap) {
		size_t ncap = vs->cap ? vs->cap * 2 : 16;
		struct var *nv = realloc(vs->v, ncap * sizeof *nv);
		if (nv == NULL) {
			free(copy);
			return -1;
		}
		vs->v = nv;
		vs->cap = ncap;
	}
	char *nm = strdup(name);
	if (nm == NULL) {
		free(copy);
		return -1;
	}
	struct var *nv = &vs->v[vs->n++];
	nv->name = nm;
	nv->val = copy;
	nv->len = len;
	return 0;
}

int vars_set_str(struct vars *vs, const char *name, const char *val)
{
	if (val == NULL)
		val = "";
	return vars_set(vs, name, val, strlen(val));
}

int vars_set_long(struct vars *vs, const char *name, long long val)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%lld", val);
	return vars_set(vs, name, buf, (size_t)n);
}

int values_parse_int(const char *s, size_t len, long long *out)
{
	size_t i = 0;
	int neg = 0;
	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == len)
		return -1;
	unsigned long long v = 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (!neg && v > (unsigned long long)LLONG_MAX)
		return -1;
	if (neg && v > (unsigned long long)LLONG_MAX + 1)
		return -1;
	*out = neg ? (long long)(0 - v) : (long long)v;
	return 0;
}

/* A decimal integer's parts: sign (-1 or 1), digits without leading zeros (and len); -1 if not one. */
static int split_int(const char *s, size_t len, int *sign, const char **digits, size_t *dlen)
{
	size_t i = 0;
	*sign = 1;
	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		*sign = s[0] == '-' ? -1 : 1;
		i = 1;
	}
	if (i == len)
		return -1;
	for (size_t j = i; j < len; j++)
		if (s[j] < '0' || s[j] > '9')
			return -1;
	while (i + 1 < len && s[i] == '0')
		i++;
	*digits = s + i;
	*dlen = len - i;
	if (*dlen == 1 && **digits == '0')
		*sign = 1; /* -0 is 0 */
	return 0;
}

int values_cmp_int(const char *a, size_t alen, const char *b, size_t blen, const char *infinite, int *cmp)
{
	size_t il = infinite ? strlen(infinite) : 0;
	int ainf = infinite && alen == il && strncasecmp(a, infinite, il) == 0;
	int binf = infinite && blen == il && strncasecmp(b, infinite, il) == 0;
	int as, bs;
	const char *ad = NULL, *bd = NULL;
	size_t adl = 0, bdl = 0;
	if ((!ainf && split_int(a, alen, &as, &ad, &adl) != 0) ||
	    (!binf && split_int(b, blen, &bs, &bd, &bdl) != 0))
		return -1;
	if (ainf || binf) {
		*cmp = ainf - binf;
		return 0;
	}
	if (as != bs) {
		*cmp = as < bs ? -1 : 1;
		return 0;
	}
	/* Same sign: compare magnitudes by length, then digit by digit; a negative sign reverses. */
	int mag = adl != bdl ? (adl < bdl ? -1 : 1) : memcmp(ad, bd, adl);
	mag = mag < 0 ? -1 : mag > 0 ? 1 : 0;
	*cmp = as * mag;
	return 0;
}

/* ---- the evaluator --------------------------------------------------------------------------------- */

struct val {
	char *s; /* always NUL-terminated */
	size_t len;
};

struct parser {
	const struct vars *vs;
	const char *src; /* the expression, for error messages */
	size_t srclen;
	const char *p, *end;
	int depth;
	struct p3err *err;
};

static int perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(struct parser *ps, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	int shown = ps->srclen > 80 ? 80 : (int)ps->srclen;
	return p3err_set(ps->err, "${%.*s%s}: %s", shown, ps->src, ps->srclen > 80 ? "..." : "", what);
}

static int val_make(struct val *v, const char *s, size_t len)
{
	v->s = malloc(len + 1);
	if (v->s == NULL)
		return -1;
	if (len)
		memcpy(v->s, s, len);
	v->s[len] = '\0';
	v->len = len;
	return 0;
}

static void val_free(struct val *v)
{
	free(v->s);
	v->s = NULL;
	v->len = 0;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

static int is_name_start(int c)
{
	return isalpha(c) || c == '_';
}

static int is_name_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

static int parse_expr(struct parser *ps, struct val *out);

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_literal(struct parser *ps, struct val *out)
{
	ps->p++; /* opening quote */
	const char *start = ps->p;
	size_t cap = 0;
	/* Escapes only shrink, so the raw span bounds the result. */
	for (const char *q = start; q < ps->end && *q != '\''; q++) {
		if (*q == '\\' && q + 1 < ps->end)
			q++;
		cap++;
	}
	char *buf = malloc(cap + 1);
	if (buf == NULL)
		return perr(ps, "out of memory");
	size_t n = 0;
	while (ps->p < ps->end && *ps->p != '\'') {
		char c = *ps->p++;
		if (c == '\\') {
			if (ps->p >= ps->end)
				break;
			char e = *ps->p++;
			switch (e) {
			case 'r':
				c = '\r';
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case '0':
				c = '\0';
				break;
			case '\\':
				c = '\\';
				break;
			case '\'':
				c = '\'';
				break;
			case 'x': {
				int h1 = ps->p < ps->end ? hexval((unsigned char)ps->p[0]) : -1;
				int h2 = ps->p + 1 < ps->end ? hexval((unsigned char)ps->p[1]) : -1;
				if (h1 < 0 || h2 < 0) {
					free(buf);
					return perr(ps, "\\x needs two hex digits");
				}
				c = (char)(h1 * 16 + h2);
				ps->p += 2;
				break;
			}
			default:
				free(buf);
				return perr(ps, "unknown escape \\%c in a literal", e);
			}
		}
		buf[n++] = c;
	}
	if (ps->p >= ps->end) {
		free(buf);
		return perr(ps, "unterminated literal (missing ')");
	}
	ps->p++; /* closing quote */
	buf[n] = '\0';
	out->s = buf;
	out->len = n;
	return 0;
}

/* ---- functions ------------------------------------------------------------------------------------- */

static int arg_int(struct parser *ps, const char *fn, int i, const struct val *a, long long *out)
{
	if (values_parse_int(a->s, a->len, out) != 0)
		return perr(ps, "%s(): argument %d is not an integer: '%.40s'", fn, i + 1, a->s);
	return 0;
}

static int fn_apop(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	char hex[DIGEST_MD5_HEX];
	apop_digest(a[0].s, a[1].s, hex);
	return val_make(out, hex, 32) ? perr(ps, "out of memory") : 0;
}

static int b64_val(struct parser *ps, const char *s, size_t len, struct val *out)
{
	size_t elen = b64_encoded_len(len);
	out->s = malloc(elen + 1);
	if (out->s == NULL)
		return perr(ps, "out of memory");
	out->len = b64_encode(s, len, out->s);
	out->s[out->len] = '\0';
	return 0;
}

static int fn_plain(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	size_t len = a[0].len + 1 + a[1].len + 1 + a[2].len;
	char *buf = malloc(len + 1);
	if (buf == NULL)
		return perr(ps, "out of memory");
	char *p = buf;
	memcpy(p, a[0].s, a[0].len);
	p += a[0].len;
	*p++ = '\0';
	memcpy(p, a[1].s, a[1].len);
	p += a[1].len;
	*p++ = '\0';
	memcpy(p, a[2].s, a[2].len);
	int rc = b64_val(ps, buf, len, out);
	free(buf);
	return rc;
}

static int fn_cram_md5(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	unsigned char *chal = malloc(a[2].len / 4 * 3 + 4);
	if (chal == NULL)
		return perr(ps, "out of memory");
	size_t clen = 0;
	enum b64_status st = b64_decode(a[2].s, a[2].len, chal, &clen, 0);
	if (st != B64_OK) {
		free(chal);
		return perr(ps, "cram_md5(): the challenge is not base64 (%s)", b64_status_str(st));
	}
	char hex[DIGEST_MD5_HEX];
	cram_md5_digest((const char *)chal, clen, a[1].s, hex);
	free(chal);
	size_t rlen = a[0].len + 1 + 32;
	char *resp = malloc(rlen + 1);
	if (resp == NULL)
		return perr(ps, "out of memory");
	memcpy(resp, a[0].s, a[0].len);
	resp[a[0].len] = ' ';
	memcpy(resp + a[0].len + 1, hex, 32);
	int rc = b64_val(ps, resp, rlen, out);
	free(resp);
	return rc;
}

static int fn_base64(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	return b64_val(ps, a[0].s, a[0].len, out);
}

static int fn_unbase64(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	out->s = malloc(a[0].len / 4 * 3 + 4);
	if (out->s == NULL)
		return perr(ps, "out of memory");
	enum b64_status st = b64_decode(a[0].s, a[0].len, (unsigned char *)out->s, &out->len, 0);
	if (st != B64_OK) {
		val_free(out);
		return perr(ps, "unbase64(): not base64 (%s)", b64_status_str(st));
	}
	out->s[out->len] = '\0';
	return 0;
}

static int fn_repeat(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	long long times;
	if (arg_int(ps, "repeat", 1, &a[1], &times) != 0)
		return -1;
	if (times < 0)
		return perr(ps, "repeat(): negative count %lld", times);
	if (a[0].len > 0 && (unsigned long long)times > VALUE_MAX / a[0].len)
		return perr(ps, "repeat(): result over %u octets", VALUE_MAX);
	size_t len = a[0].len * (size_t)times;
	out->s = malloc(len + 1);
	if (out->s == NULL)
		return perr(ps, "out of memory");
	for (long long i = 0; i < times; i++)
		memcpy(out->s + (size_t)i * a[0].len, a[0].s, a[0].len);
	out->s[len] = '\0';
	out->len = len;
	return 0;
}

static int fn_concat(struct parser *ps, struct val *a, int n, struct val *out)
{
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		len += a[i].len;
		if (len > VALUE_MAX)
			return perr(ps, "concat(): result over %u octets", VALUE_MAX);
	}
	out->s = malloc(len + 1);
	if (out->s == NULL)
		return perr(ps, "out of memory");
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		memcpy(out->s + off, a[i].s, a[i].len);
		off += a[i].len;
	}
	out->s[len] = '\0';
	out->len = len;
	return 0;
}

static int fn_case(struct parser *ps, struct val *a, int upper, struct val *out)
{
	if (val_make(out, a[0].s, a[0].len) != 0)
		return perr(ps, "out of memory");
	for (size_t i = 0; i < out->len; i++) {
		unsigned char c = (unsigned char)out->s[i];
		if (c < 0x80)
			out->s[i] = (char)(upper ? toupper(c) : tolower(c));
	}
	return 0;
}

static int fn_upper(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	return fn_case(ps, a, 1, out);
}

static int fn_lower(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	return fn_case(ps, a, 0, out);
}

static int fn_flip_hex(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	if (val_make(out, a[0].s, a[0].len) != 0)
		return perr(ps, "out of memory");
	for (size_t i = out->len; i-- > 0;) {
		int h = hexval((unsigned char)out->s[i]);
		if (h < 0)
			continue;
		int nh = (h + 1) & 15;
		int upper = out->s[i] >= 'A' && out->s[i] <= 'F';
		out->s[i] = nh < 10 ? (char)('0' + nh) : (char)((upper ? 'A' : 'a') + nh - 10);
		return 0;
	}
	val_free(out);
	return perr(ps, "flip_hex(): no hex digit in '%.40s'", a[0].s);
}

static int fn_arith(struct parser *ps, struct val *a, const char *fn, int sign, struct val *out)
{
	long long x, y, r;
	if (arg_int(ps, fn, 0, &a[0], &x) != 0 || arg_int(ps, fn, 1, &a[1], &y) != 0)
		return -1;
	if (sign > 0 ? __builtin_add_overflow(x, y, &r) : __builtin_sub_overflow(x, y, &r))
		return perr(ps, "%s(): overflow", fn);
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%lld", r);
	return val_make(out, buf, (size_t)len) ? perr(ps, "out of memory") : 0;
}

static int fn_add(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	return fn_arith(ps, a, "add", 1, out);
}

static int fn_sub(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	return fn_arith(ps, a, "sub", -1, out);
}

static int fn_len(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%zu", a[0].len);
	return val_make(out, buf, (size_t)len) ? perr(ps, "out of memory") : 0;
}

/* size_re(n): a size as a regex fragment for `match:`. Where the fixture's files reach the maildrop
 * verbatim, n itself; where a delivery agent may have added header lines (the `delivery` variable is
 * "agent"), any size ([0-9]+): the server's sizes are then judged by their own consistency (STAT = the
 * sum of LIST = the octets RETR sends), in the scenarios about sizes, not against the fixture's. */
static int fn_size_re(struct parser *ps, struct val *a, int n, struct val *out)
{
	(void)n;
	long long x;
	if (arg_int(ps, "size_re", 0, &a[0], &x) != 0)
		return -1;
	const struct var *d = vars_get(ps->vs, "delivery");
	if (d != NULL && strcmp(d->val, "agent") == 0)
		return val_make(out, "[0-9]+", 6) ? perr(ps, "out of memory") : 0;
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%lld", x);
	return val_make(out, buf, (size_t)len) ? perr(ps, "out of memory") : 0;
}

#define MAX_ARGS 16

static const struct func {
	const char *name;
	int min, max;
	int (*fn)(struct parser *, struct val *, int, struct val *);
} funcs[] = {
    {"apop", 2, 2, fn_apop},
    {"plain", 3, 3, fn_plain},
    {"cram_md5", 3, 3, fn_cram_md5},
    {"base64", 1, 1, fn_base64},
    {"unbase64", 1, 1, fn_unbase64},
    {"repeat", 2, 2, fn_repeat},
    {"concat", 1, MAX_ARGS, fn_concat},
    {"upper", 1, 1, fn_upper},
    {"lower", 1, 1, fn_lower},
    {"flip_hex", 1, 1, fn_flip_hex},
    {"add", 2, 2, fn_add},
    {"sub", 2, 2, fn_sub},
    {"len", 1, 1, fn_len},
    {"size_re", 1, 1, fn_size_re},
};

static int parse_call(struct parser *ps, const char *name, size_t nlen, struct val *out)
{
	const struct func *f = NULL;
	for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
		if (strlen(funcs[i].name) == nlen && memcmp(funcs[i].name, name, nlen) == 0)
			f = &funcs[i];
	if (f == NULL)
		return perr(ps, "unknown function %.*s()", (int)nlen, name);
	if (++ps->depth > VALUE_MAX_DEPTH)
		return perr(ps, "calls nested deeper than %d", VALUE_MAX_DEPTH);
	ps->p++; /* '(' */
	struct val args[MAX_ARGS];
	int n = 0, rc = -1;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ')') {
		ps->p++;
	} else {
		for (;;) {
			if (n == MAX_ARGS) {
				perr(ps, "%s(): too many arguments", f->name);
				goto out;
			}
			if (parse_expr(ps, &args[n]) != 0)
				goto out;
			n++;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == ')') {
				ps->p++;
				break;
			}
			perr(ps, "%s(): expected ',' or ')'", f->name);
			goto out;
		}
	}
	if (n < f->min || n > f->max) {
		if (f->min == f->max)
			perr(ps, "%s() takes %d argument%s, not %d", f->name, f->min, f->min == 1 ? "" : "s",
			     n);
		else
			perr(ps, "%s() takes %d to %d arguments, not %d", f->name, f->min, f->max, n);
		goto out;
	}
	rc = f->fn(ps, args, n, out);
out:
	for (int i = 0; i < n; i++)
		val_free(&args[i]);
	ps->depth--;
	return rc;
}

static int parse_expr(struct parser *ps, struct val *out)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return perr(ps, "expression expected");
	unsigned char c = (unsigned char)*ps->p;
	if (c == '\'')
		return parse_literal(ps, out);
	if (isdigit(c) || (c == '-' && ps->p + 1 < ps->end && isdigit((unsigned char)ps->p[1]))) {
		const char *s = ps->p++;
		while (ps->p < ps->end && isdigit((unsigned char)*ps->p))
			ps->p++;
		long long dummy;
		if (values_parse_int(s, (size_t)(ps->p - s), &dummy) != 0)
			return perr(ps, "integer out of range");
		return val_make(out, s, (size_t)(ps->p - s)) ? perr(ps, "out of memory") : 0;
	}
	if (!is_name_start(c))
		return perr(ps, "unexpected '%c'", c);
	const char *name = ps->p;
	while (ps->p < ps->end && is_name_char((unsigned char)*ps->p))
		ps->p++;
	size_t nlen = (size_t)(ps->p - name);
	const char *save = ps->p;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '(')
		return parse_call(ps, name, nlen, out);
	ps->p = save;
	char key[128];
	if (nlen >= sizeof key)
		return perr(ps, "name too long");
	memcpy(key, name, nlen);
	key[nlen] = '\0';
	const struct var *v = vars_get(ps->vs, key);
	if (v == NULL)
		return perr(ps, "unknown variable '%s'", key);
	return val_make(out, v->val, v->len) ? perr(ps, "out of memory") : 0;
}

int values_eval(const struct vars *vs, const char *expr, size_t len, char **out, size_t *outlen,
                struct p3err *err)
{
	struct parser ps = {vs, expr, len, expr, expr + len, 0, err};
	struct val v = {0};
	if (parse_expr(&ps, &v) != 0)
		return -1;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		val_free(&v);
		return perr(&ps, "unexpected '%c' after the expression", *ps.p);
	}
	*out = v.s;
	*outlen = v.len;
	return 0;
}

/* The end of the expression that starts at p: the '}' that is outside any quoted literal. */
static const char *expr_end(const char *p, const char *end)
{
	int inq = 0;
	for (; p < end; p++) {
		if (inq) {
			if (*p == '\\')
				p++;
			else if (*p == '\'')
				inq = 0;
		} else if (*p == '\'') {
			inq = 1;
		} else if (*p == '}') {
			return p;
		}
	}
	return NULL;
}

struct obuf {
	char *s;
	size_t len, cap;
};

static int obuf_add(struct obuf *b, const char *s, size_t n)
{
	if (b->len + n > VALUE_MAX)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 64;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		char *ns = realloc(b->s, ncap);
		if (ns == NULL)
			return -1;
		b->s = ns;
		b->cap = ncap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int values_interp(const struct vars *vs, const char *src, size_t len, char **out, size_t *outlen,
                  struct p3err *err)
{
	struct obuf b = {0};
	const char *p = src, *end = src + len;
	if (obuf_add(&b, "", 0) != 0)
		return p3err_set(err, "out of memory");
	while (p < end) {
		const char *d = memchr(p, '$', (size_t)(end - p));
		if (d == NULL) {
			if (obuf_add(&b, p, (size_t)(end - p)) != 0)
				goto toolong;
			break;
		}
		if (obuf_add(&b, p, (size_t)(d - p)) != 0)
			goto toolong;
		if (end - d >= 3 && d[1] == '$' && d[2] == '{') { /* $${ is a literal ${ */
			if (obuf_add(&b, "${", 2) != 0)
				goto toolong;
			p = d + 3;
			continue;
		}
		if (end - d < 2 || d[1] != '{') {
			if (obuf_add(&b, "$", 1) != 0)
				goto toolong;
			p = d + 1;
			continue;
		}
		const char *e = expr_end(d + 2, end);
		if (e == NULL) {
			free(b.s);
			return p3err_set(err, "%.*s: unterminated ${ (missing })",
			                 (int)((end - d) > 80 ? 80 : end - d), d);
		}
		char *v;
		size_t vlen;
		if (values_eval(vs, d + 2, (size_t)(e - d - 2), &v, &vlen, err) != 0) {
			free(b.s);
			return -1;
		}
		int rc = obuf_add(&b, v, vlen);
		free(v);
		if (rc != 0)
			goto toolong;
		p = e + 1;
	}
	*out = b.s;
	*outlen = b.len;
	return 0;
toolong:
	free(b.s);
	return p3err_set(err, "interpolated value over %u octets (or out of memory)", VALUE_MAX);
}
