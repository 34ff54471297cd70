/* load_yaml.c — the loader's YAML layer: reading a file, parsing it with libyaml's document API, mapping
 * marks to "file:line:column", and typed, validated access to nodes. */
#include "runner/load_int.h"
#include "runner/rx.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- errors ---------- */

static int verr(struct lctx *c, const struct lsrc *s, size_t line, size_t col, const char *fmt, va_list ap)
{
	char msg[P3ERR_MAX];
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* libyaml's marks are 0-based; people count from 1. */
	return p3err_set(c->err, "%s:%zu:%zu: %s", s->path, line + 1, col + 1, msg);
}

int lerr_mark(struct lctx *c, const struct lsrc *s, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(c, s, m.line, m.column, fmt, ap);
	va_end(ap);
	return -1;
}

int lerr(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(c, s, n ? n->start_mark.line : 0, n ? n->start_mark.column : 0, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---------- reading and parsing ---------- */

static int read_file(struct lctx *c, struct lsrc *s, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return p3err_errno(c->err, "%s: cannot open", path);
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fclose(f);
		return p3err_set(c->err, "%s: out of memory", path);
	}
	for (;;) {
		if (len == cap) {
			if (cap > (size_t)LOAD_MAX_FILE) {
				fclose(f);
				free(buf);
				return p3err_set(c->err, "%s: larger than %ld octets", path, LOAD_MAX_FILE);
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				fclose(f);
				free(buf);
				return p3err_set(c->err, "%s: out of memory", path);
			}
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		free(buf);
		errno = e;
		return p3err_errno(c->err, "%s: cannot read", path);
	}
	fclose(f);
	s->buf = buf;
	s->len = len;
	return 0;
}

/* Line starts, counting CR LF, CR and LF as one break each (as libyaml does). */
static int index_lines(struct lctx *c, struct lsrc *s)
{
	size_t cap = 64;
	s->line_off = malloc(cap * sizeof *s->line_off);
	if (!s->line_off)
		return p3err_set(c->err, "%s: out of memory", s->path);
	s->nlines = 0;
	s->line_off[s->nlines++] = 0;
	for (size_t i = 0; i < s->len; i++) {
		if (s->buf[i] != '\n' && s->buf[i] != '\r')
			continue;
		if (s->buf[i] == '\r' && i + 1 < s->len && s->buf[i + 1] == '\n')
			i++;
		if (s->nlines == cap) {
			size_t *n = realloc(s->line_off, cap * 2 * sizeof *n);
			if (!n)
				return p3err_set(c->err, "%s: out of memory", s->path);
			s->line_off = n;
			cap *= 2;
		}
		s->line_off[s->nlines++] = i + 1;
	}
	return 0;
}

/* The octet offset of a mark (line, column in characters). */
static size_t mark_offset(const struct lsrc *s, yaml_mark_t m)
{
	if (m.line >= s->nlines)
		return s->len;
	size_t off = s->line_off[m.line];
	for (size_t col = 0; col < m.column && off < s->len; col++) {
		off++;
		while (off < s->len && ((unsigned char)s->buf[off] & 0xC0) == 0x80)
			off++;
	}
	return off;
}

static int parse_error(struct lctx *c, const struct lsrc *s, yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "cannot parse";
	if (p->error == YAML_READER_ERROR) {
		/* The reader gives an octet offset: turn it into line and column. */
		size_t off = p->problem_offset, line = 0;
		while (line + 1 < s->nlines && s->line_off[line + 1] <= off)
			line++;
		size_t col = 0;
		for (size_t i = s->line_off[line]; i < off && i < s->len; i++)
			if (((unsigned char)s->buf[i] & 0xC0) != 0x80)
				col++;
		yaml_mark_t m = {off, line, col};
		return lerr_mark(c, s, m, "YAML error: %s", problem);
	}
	if (p->error == YAML_MEMORY_ERROR)
		return p3err_set(c->err, "%s: out of memory while parsing", s->path);
	if (p->context)
		return lerr_mark(c, s, p->problem_mark, "YAML syntax error: %s (%s at line %zu, column %zu)",
		                 problem, p->context, p->context_mark.line + 1, p->context_mark.column + 1);
	return lerr_mark(c, s, p->problem_mark, "YAML syntax error: %s", problem);
}

int lsrc_open(struct lctx *c, struct lsrc *s, const char *path, const char *buf, size_t len)
{
	memset(s, 0, sizeof *s);
	s->path = path;
	if (buf) {
		if (len > (size_t)LOAD_MAX_FILE)
			return p3err_set(c->err, "%s: larger than %ld octets", path, LOAD_MAX_FILE);
		s->buf = malloc(len ? len : 1);
		if (!s->buf)
			return p3err_set(c->err, "%s: out of memory", path);
		memcpy(s->buf, buf, len);
		s->len = len;
	} else if (read_file(c, s, path) < 0) {
		return -1;
	}
	if (index_lines(c, s) < 0)
		return -1;

	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return p3err_set(c->err, "%s: out of memory", path);
	yaml_parser_set_input_string(&p, (const unsigned char *)s->buf, s->len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	int rc = 0;
	if (!yaml_parser_load(&p, &s->doc)) {
		rc = parse_error(c, s, &p);
		goto out;
	}
	s->have_doc = true;
	if (yaml_document_get_root_node(&s->doc)) {
		/* One scenario per file: a second document is a mistake, not something to ignore. */
		yaml_document_t next;
		if (!yaml_parser_load(&p, &next)) {
			rc = parse_error(c, s, &p);
			goto out;
		}
		yaml_node_t *r = yaml_document_get_root_node(&next);
		if (r) {
			yaml_mark_t m = r->start_mark;
			yaml_document_delete(&next);
			rc = lerr_mark(c, s, m, "a second YAML document; a file holds one");
			goto out;
		}
		yaml_document_delete(&next);
	}
out:
	yaml_parser_delete(&p);
	return rc;
}

void lsrc_close(struct lsrc *s)
{
	if (s->have_doc)
		yaml_document_delete(&s->doc);
	free(s->buf);
	free(s->line_off);
	memset(s, 0, sizeof *s);
}

/* ---------- nodes ---------- */

yaml_node_t *lnode(const struct lsrc *s, int id)
{
	return yaml_document_get_node((yaml_document_t *)&s->doc, id);
}

yaml_node_t *lroot(const struct lsrc *s)
{
	return s->have_doc ? yaml_document_get_root_node((yaml_document_t *)&s->doc) : NULL;
}

bool lscalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE;
}

const char *lsval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

bool lis(const yaml_node_t *n, const char *v)
{
	return lscalar(n) && strcmp(lsval(n), v) == 0;
}

size_t lseqlen(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *lseqitem(const struct lsrc *s, const yaml_node_t *n, size_t i)
{
	return lnode(s, n->data.sequence.items.start[i]);
}

/* A plain `~`, `null` or nothing at all. Quoted "" is a string, not null. */
bool lnull(const yaml_node_t *n)
{
	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

const char *ltype(const yaml_node_t *n)
{
	if (lnull(n))
		return "nothing";
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a string";
	}
}

int lkeys(struct lctx *c, const struct lsrc *s, const yaml_node_t *map, const char *const allowed[],
          const char *what)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return lerr(c, s, map, "%s must be a mapping, found %s", what, ltype(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = lnode(s, p->key);
		if (!lscalar(k))
			return lerr(c, s, k, "%s keys must be strings, found %s", what, ltype(k));
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(lsval(k), allowed[i]) == 0)
				ok = true;
		if (!ok) {
			char list[400];
			size_t off = 0;
			for (size_t i = 0; allowed[i] && off < sizeof list; i++) {
				int w = snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "",
				                 allowed[i]);
				if (w < 0)
					break;
				off += (size_t)w;
			}
			return lerr(c, s, k, "unknown key '%.60s' in %s; allowed: %s", lsval(k), what, list);
		}
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = lnode(s, q->key);
			if (lscalar(k2) && strcmp(lsval(k2), lsval(k)) == 0)
				return lerr(c, s, k, "duplicate key '%s' in %s (first on line %zu)", lsval(k),
				            what, k2->start_mark.line + 1);
		}
	}
	return 0;
}

yaml_node_t *lget(const struct lsrc *s, const yaml_node_t *map, const char *key, yaml_node_t **keynode)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = lnode(s, p->key);
		if (lscalar(k) && strcmp(lsval(k), key) == 0) {
			if (keynode)
				*keynode = k;
			return lnode(s, p->value);
		}
	}
	return NULL;
}

/* ---------- typed values ---------- */

int lstr(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, char **out)
{
	if (!lscalar(n) || lnull(n))
		return lerr(c, s, n, "'%s' must be a string, found %s", what, ltype(n));
	if (memchr(lsval(n), '\0', n->data.scalar.length))
		return lerr(c, s, n, "'%s' must not contain a NUL octet (only send and raw may)", what);
	*out = strdup(lsval(n));
	if (!*out)
		return p3err_set(c->err, "out of memory");
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static size_t put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decode a one-line double-quoted YAML scalar from its source text, octet-exact: YAML reads "\xFF" as the
 * character U+00FF (two octets in UTF-8), but a scenario writing raw bytes means the octet 0xFF. Every other
 * escape means what YAML says. Returns 1 when decoded, 0 when the scalar spans lines (libyaml's value is
 * used then), -1 on a bad escape (libyaml has rejected those already). */
static int decode_dq(const char *p, size_t n, struct sstr *out)
{
	if (memchr(p, '\n', n) || memchr(p, '\r', n))
		return 0;
	char *o = malloc(n + 1);
	if (!o)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\\') {
			o[k++] = p[i];
			continue;
		}
		if (++i >= n)
			goto bad;
		unsigned long cp = 0;
		int digits = 0;
		switch (p[i]) {
		case '0':
			o[k++] = '\0';
			break;
		case 'a':
			o[k++] = '\a';
			break;
		case 'b':
			o[k++] = '\b';
			break;
		case 't':
		case '\t':
			o[k++] = '\t';
			break;
		case 'n':
			o[k++] = '\n';
			break;
		case 'v':
			o[k++] = '\v';
			break;
		case 'f':
			o[k++] = '\f';
			break;
		case 'r':
			o[k++] = '\r';
			break;
		case 'e':
			o[k++] = '\x1b';
			break;
		case ' ':
			o[k++] = ' ';
			break;
		case '"':
			o[k++] = '"';
			break;
		case '/':
			o[k++] = '/';
			break;
		case '\\':
			o[k++] = '\\';
			break;
		case 'N':
			k += put_utf8(o + k, 0x85);
			break;
		case '_':
			k += put_utf8(o + k, 0xA0);
			break;
		case 'L':
			k += put_utf8(o + k, 0x2028);
			break;
		case 'P':
			k += put_utf8(o + k, 0x2029);
			break;
		case 'x':
			digits = 2;
			break;
		case 'u':
			digits = 4;
			break;
		case 'U':
			digits = 8;
			break;
		default:
			goto bad;
		}
		if (!digits)
			continue;
		if (i + (size_t)digits >= n)
			goto bad;
		for (int d = 0; d < digits; d++) {
			int h = hexval((unsigned char)p[i + 1 + (size_t)d]);
			if (h < 0)
				goto bad;
			cp = cp * 16 + (unsigned long)h;
		}
		i += (size_t)digits;
		if (digits == 2) {
			o[k++] = (char)cp; /* the octet itself */
		} else {
			/* \u and \U take at most 10 source octets and write at most 4. */
			if (cp > 0x10FFFF)
				goto bad;
			k += put_utf8(o + k, cp);
		}
	}
	o[k] = '\0';
	out->s = o;
	out->len = k;
	return 1;
bad:
	free(o);
	return -1;
}

int lsstr(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, struct sstr *out)
{
	if (!lscalar(n))
		return lerr(c, s, n, "'%s' must be a string, found %s", what, ltype(n));
	out->s = NULL;
	out->len = 0;
	if (n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
		size_t a = mark_offset(s, n->start_mark), b = mark_offset(s, n->end_mark);
		/* a is the opening quote, b is just past the closing one. */
		if (b >= a + 2 && b <= s->len && s->buf[a] == '"' && s->buf[b - 1] == '"') {
			int r = decode_dq(s->buf + a + 1, b - a - 2, out);
			if (r < 0)
				return lerr(c, s, n, "'%s': cannot decode the escapes of this string", what);
		}
	}
	if (!out->s) {
		size_t len = n->data.scalar.length;
		out->s = malloc(len + 1);
		if (!out->s)
			return p3err_set(c->err, "out of memory");
		memcpy(out->s, lsval(n), len);
		out->s[len] = '\0';
		out->len = len;
	}
	return linterp_ok(c, s, n, out->s, out->len);
}

int lbool(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
	if (lscalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
			if (strcmp(lsval(n), yes[i]) == 0) {
				*out = true;
				return 0;
			}
			if (strcmp(lsval(n), no[i]) == 0) {
				*out = false;
				return 0;
			}
		}
	}
	if (lscalar(n) && !lnull(n))
		return lerr(c, s, n, "'%s' must be true or false, found '%.60s'", what, lsval(n));
	return lerr(c, s, n, "'%s' must be true or false, found %s", what, ltype(n));
}

int lnum(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, double *out)
{
	if (!lscalar(n) || lnull(n))
		return lerr(c, s, n, "'%s' must be a number, found %s", what, ltype(n));
	char *end;
	errno = 0;
	double v = strtod(lsval(n), &end);
	if (end == lsval(n) || *end || errno || !isfinite(v) || v < 0 || isspace((unsigned char)*lsval(n)))
		return lerr(c, s, n, "'%s' must be a non-negative number, found '%.60s'", what, lsval(n));
	*out = v;
	return 0;
}

int lcount(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, struct sstr *out)
{
	if (!lscalar(n) || lnull(n))
		return lerr(c, s, n, "'%s' must be a whole number, found %s", what, ltype(n));
	const char *v = lsval(n);
	if (!strstr(v, "${")) {
		size_t i = 0;
		while (isdigit((unsigned char)v[i]))
			i++;
		if (i == 0 || v[i] || i > 18)
			return lerr(c, s, n, "'%s' must be a whole number or a ${...} value, found '%.60s'",
			            what, v);
	}
	return lsstr(c, s, n, what, out);
}

int lstrlist(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, char ***out,
             size_t *nout)
{
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return lerr(c, s, n, "'%s' must be a list, found %s", what, ltype(n));
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	char **v = calloc(cnt ? cnt : 1, sizeof *v);
	if (!v)
		return p3err_set(c->err, "out of memory");
	*out = v;
	*nout = 0;
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *it = lnode(s, n->data.sequence.items.start[i]);
		if (lstr(c, s, it, what, &v[i]) < 0)
			return -1; /* the entries so far are freed with the scenario */
		(*nout)++;
	}
	return 0;
}

/* Write str with every ${...} replaced by "x" into a new string, for regcomp. */
static char *regex_probe(const char *str)
{
	size_t n = strlen(str);
	char *o = malloc(n + 1);
	if (!o)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (str[i] == '$' && str[i + 1] == '$' && str[i + 2] == '{') {
			o[k++] = '$';
			o[k++] = '{';
			i += 2;
			continue;
		}
		if (str[i] == '$' && str[i + 1] == '{') {
			int depth = 0;
			size_t j = i + 1;
			for (; j < n; j++) {
				if (str[j] == '{')
					depth++;
				else if (str[j] == '}' && --depth == 0)
					break;
			}
			o[k++] = 'x';
			i = j;
			continue;
		}
		o[k++] = str[i];
	}
	o[k] = '\0';
	return o;
}

int lregex(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, char **out)
{
	if (lstr(c, s, n, what, out) < 0)
		return -1;
	if (linterp_ok(c, s, n, *out, strlen(*out)) < 0)
		return -1;
	char *probe = regex_probe(*out);
	if (!probe)
		return p3err_set(c->err, "out of memory");
	regex_t re;
	char unsafe[128];
	if (rx_pattern_ok(probe, unsafe, sizeof unsafe) < 0) {
		free(probe);
		return lerr(c, s, n, "regex for '%s' '%.80s' refused: %s", what, *out, unsafe);
	}
	int rc = regcomp(&re, probe, REG_EXTENDED | REG_NOSUB);
	free(probe);
	if (rc != 0) {
		char why[160];
		regerror(rc, &re, why, sizeof why);
		return lerr(c, s, n, "bad regex for '%s' '%.80s': %s", what, *out, why);
	}
	regfree(&re);
	return 0;
}

int lreqid(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, char **out)
{
	if (lstr(c, s, n, what, out) < 0)
		return -1;
	if (!req_id_valid(*out))
		return lerr(c, s, n,
		            "bad requirement id '%.60s' in '%s'; ids look like R1939-DELE-3 or P-LINE-2",
		            *out, what);
	if (c->o && c->o->reqs && !reqs_find(c->o->reqs, *out))
		return lerr(c, s, n, "unknown requirement id '%s' (not in %s)", *out, c->o->reqs->file);
	return 0;
}

int lname(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, char **out)
{
	if (lstr(c, s, n, what, out) < 0)
		return -1;
	const char *v = *out;
	bool ok = isalpha((unsigned char)v[0]) || v[0] == '_';
	for (size_t i = 1; ok && v[i]; i++)
		ok = isalnum((unsigned char)v[i]) || v[i] == '_' || v[i] == '-';
	if (!ok || strlen(v) > 64)
		return lerr(c, s, n,
		            "bad name '%.60s' for '%s'; use letters, digits, '_' and '-', starting with a "
		            "letter or '_'",
		            v, what);
	return 0;
}

int linterp_ok(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *str, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (str[i] != '$')
			continue;
		if (str[i + 1] == '$' && i + 2 < len && str[i + 2] == '{') {
			i += 2; /* $${ is a literal ${ */
			continue;
		}
		if (str[i + 1] != '{')
			continue;
		int depth = 0;
		bool quoted = false;
		size_t j = i + 1;
		for (; j < len; j++) {
			if (quoted) {
				if (str[j] == '\\')
					j++;
				else if (str[j] == '\'')
					quoted = false;
				continue;
			}
			if (str[j] == '\'')
				quoted = true;
			else if (str[j] == '{')
				depth++;
			else if (str[j] == '}' && --depth == 0)
				break;
		}
		if (j >= len)
			return lerr(c, s, n, "unterminated ${ in '%.60s' (write $${ for a literal ${)",
			            str + i);
		if (j == i + 2)
			return lerr(c, s, n, "empty ${} in '%.60s'", str);
		i = j;
	}
	return 0;
}
