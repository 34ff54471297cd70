/* load_expect.c — the loader's grammar for expectations (docs/scenario-language.md, "Expectations"): the
 * shorthands, and a mapping whose keys are the rows of expect_keys[] (name, parser, whether it checks the
 * body, whether it may stand beside one_of). One function per form:
 *
 *   expect      := "ok" | "err" | "any" | "cont" | expectation | [ (shorthand | expectation)... ]
 *   expectation := { status, code, not_code, match, not_match, multiline, count, octets, lines, each_line,
 *                    contains, not_contains, message, top, capture, capture_line, capture_body, icase,
 *                    closes, close_notify, silent_for, handshake, one_of, level, ref, timeout }
 */
#include "runner/load_int.h"

#include <stdlib.h>
#include <string.h>

static void expect_init(struct expect *e, const struct lsrc *s, const yaml_node_t *n)
{
	memset(e, 0, sizeof *e);
	e->pos.file = s->path;
	e->pos.line = n ? (int)n->start_mark.line + 1 : 0;
	e->pos.column = n ? (int)n->start_mark.column + 1 : 0;
	e->closes = -1;
	e->handshake = -1;
	e->level = -1;
}

static int parse_status(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what,
                        enum status_want *out)
{
	static const char *const names[] = {"ok", "err", "any", "cont"};
	static const enum status_want vals[] = {WANT_OK, WANT_ERR, WANT_ANY, WANT_CONT};
	if (lscalar(n) && !lnull(n))
		for (size_t i = 0; i < 4; i++)
			if (strcmp(lsval(n), names[i]) == 0) {
				*out = vals[i];
				return 0;
			}
	if (lscalar(n) && !lnull(n))
		return lerr(c, s, n, "bad %s '%.40s'; expected ok, err, any or cont", what, lsval(n));
	return lerr(c, s, n, "%s must be ok, err, any or cont, found %s", what, ltype(n));
}

static int parse_level(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, int *out)
{
	static const char *const names[] = {"MUST", "SHOULD", "MAY"};
	static const enum level vals[] = {LEVEL_MUST, LEVEL_SHOULD, LEVEL_MAY};
	if (lscalar(n) && !lnull(n))
		for (size_t i = 0; i < 3; i++)
			if (strcmp(lsval(n), names[i]) == 0) {
				*out = (int)vals[i];
				return 0;
			}
	if (lscalar(n) && !lnull(n))
		return lerr(c, s, n, "bad level '%.40s' for '%s'; expected MUST, SHOULD or MAY", lsval(n),
		            what);
	return lerr(c, s, n, "'%s' must be MUST, SHOULD or MAY, found %s", what, ltype(n));
}

static int parse_expectation(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, struct expect *e,
                             int depth);

static int parse_one_of(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, struct expect *e,
                        int depth)
{
	if (depth >= LOAD_MAX_ONE_OF_DEPTH)
		return lerr(c, s, n, "one_of nested more than %d deep", LOAD_MAX_ONE_OF_DEPTH);
	if (!n || n->type != YAML_SEQUENCE_NODE || lseqlen(n) == 0)
		return lerr(c, s, n, "'one_of' must be a non-empty list of expectations, found %s", ltype(n));
	size_t cnt = lseqlen(n);
	e->one_of = calloc(cnt, sizeof *e->one_of);
	if (!e->one_of)
		return p3err_set(c->err, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *it = lseqitem(s, n, i);
		if (it && it->type == YAML_SEQUENCE_NODE)
			return lerr(c, s, it, "a one_of alternative must be one expectation, not a list");
		expect_init(&e->one_of[i], s, it);
		e->n_one_of++;
		if (parse_expectation(c, s, it, &e->one_of[i], depth + 1) < 0)
			return -1;
	}
	return 0;
}

/* `capture` or `capture_line` (named by `what`): a mapping of names to regexes. */
static int parse_captures(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what,
                          struct capture **out, size_t *nout)
{
	if (!n || n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.top == n->data.mapping.pairs.start)
		return lerr(c, s, n, "'%s' must be a mapping of names to regexes, found %s", what, ltype(n));
	size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	*out = calloc(cnt, sizeof **out);
	if (!*out)
		return p3err_set(c->err, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
		struct capture *cap = &(*out)[(*nout)++];
		if (lname(c, s, lnode(s, p->key), what, &cap->name) < 0 ||
		    lregex(c, s, lnode(s, p->value), what, &cap->regex) < 0)
			return -1;
		for (size_t j = 0; j + 1 < *nout; j++)
			if (strcmp((*out)[j].name, cap->name) == 0)
				return lerr(c, s, lnode(s, p->key), "%s '%s' given twice", what, cap->name);
	}
	return 0;
}

static int parse_top(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, struct expect *e)
{
	static const char *const keys[] = {"message", "lines", NULL};
	if (lkeys(c, s, n, keys, "top") < 0)
		return -1;
	yaml_node_t *m = lget(s, n, "message", NULL), *l = lget(s, n, "lines", NULL);
	if (!m)
		return lerr(c, s, n, "'top' needs 'message' and 'lines'; 'message' is missing");
	if (!l)
		return lerr(c, s, n, "'top' needs 'message' and 'lines'; 'lines' is missing");
	return (lcount(c, s, m, "message", &e->top_message) < 0 ||
	        lcount(c, s, l, "lines", &e->top_lines) < 0)
	           ? -1
	           : 0;
}

/* A response code as RFC 2449 §8 writes it, brackets optional here: "IN-USE", "SYS/TEMP", "none". */
static int parse_code(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what,
                      char **out)
{
	if (lstr(c, s, n, what, out) < 0)
		return -1;
	char *v = *out;
	size_t len = strlen(v);
	if (len >= 2 && v[0] == '[' && v[len - 1] == ']') {
		memmove(v, v + 1, len - 2);
		v[len - 2] = '\0';
	}
	bool ok = v[0] != '\0';
	for (size_t i = 0; v[i]; i++)
		if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z') ||
		      (v[i] >= '0' && v[i] <= '9') || v[i] == '-' || v[i] == '/' || v[i] == '.'))
			ok = false;
	if (!ok)
		return lerr(c, s, n, "bad response code '%.40s' for '%s'; write it like IN-USE or SYS/TEMP",
		            v, what);
	return 0;
}

/* ---------- the table of expectation keys ---------- */

/* One expectation mapping being parsed: what its keys need besides the expectation itself. */
struct eparse {
	struct lctx *c;
	const struct lsrc *s;
	struct expect *e;
	int depth; /* of one_of nesting */
	bool multiline_set, multiline;
};

typedef int (*ekey_fn)(struct eparse *p, const yaml_node_t *v, const char *key);

static int ekey_status(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return parse_status(p->c, p->s, v, key, &p->e->status);
}

static int ekey_code(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return parse_code(p->c, p->s, v, key, &p->e->code);
}

static int ekey_not_code(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return parse_code(p->c, p->s, v, key, &p->e->not_code);
}

static int ekey_match(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return lregex(p->c, p->s, v, key, &p->e->match);
}

static int ekey_not_match(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return lregex(p->c, p->s, v, key, &p->e->not_match);
}

static int ekey_multiline(struct eparse *p, const yaml_node_t *v, const char *key)
{
	p->multiline_set = true;
	return lbool(p->c, p->s, v, key, &p->multiline);
}

static int ekey_count(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return lcount(p->c, p->s, v, key, &p->e->count);
}

static int ekey_octets(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return lcount(p->c, p->s, v, key, &p->e->octets);
}

static int ekey_lines(struct eparse *p, const yaml_node_t *v, const char *key)
{
	struct expect *e = p->e;
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return lerr(p->c, p->s, v, "'%s' must be a list of regexes, found %s", key, ltype(v));
	e->lines_set = true;
	e->lines = calloc(lseqlen(v) ? lseqlen(v) : 1, sizeof *e->lines);
	if (!e->lines)
		return p3err_set(p->c->err, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < lseqlen(v) && rc == 0; i++) {
		rc = lregex(p->c, p->s, lseqitem(p->s, v, i), key, &e->lines[i]);
		e->nlines++; /* counted even on error: the string may be allocated */
	}
	return rc;
}

static int ekey_each_line(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return lregex(p->c, p->s, v, key, &p->e->each_line);
}

static int ekey_contains(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return lregex(p->c, p->s, v, key, &p->e->contains);
}

static int ekey_not_contains(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return lregex(p->c, p->s, v, key, &p->e->not_contains);
}

static int ekey_message(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return lcount(p->c, p->s, v, key, &p->e->message);
}

static int ekey_top(struct eparse *p, const yaml_node_t *v, const char *key)
{
	(void)key;
	return parse_top(p->c, p->s, v, p->e);
}

static int ekey_capture(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return parse_captures(p->c, p->s, v, key, &p->e->captures, &p->e->ncaptures);
}

static int ekey_capture_line(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return parse_captures(p->c, p->s, v, key, &p->e->line_captures, &p->e->nline_captures);
}

static int ekey_capture_body(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return lname(p->c, p->s, v, key, &p->e->capture_body);
}

static int ekey_icase(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return lbool(p->c, p->s, v, key, &p->e->icase);
}

static int ekey_closes(struct eparse *p, const yaml_node_t *v, const char *key)
{
	bool b = false; /* lbool leaves it unset on error */
	int rc = lbool(p->c, p->s, v, key, &b);
	p->e->closes = b ? 1 : 0;
	return rc;
}

static int ekey_close_notify(struct eparse *p, const yaml_node_t *v, const char *key)
{
	if (lbool(p->c, p->s, v, key, &p->e->close_notify) < 0)
		return -1;
	if (!p->e->close_notify)
		return lerr(p->c, p->s, v, "'close_notify' can only be true (leave it out otherwise)");
	return 0;
}

static int ekey_silent_for(struct eparse *p, const yaml_node_t *v, const char *key)
{
	if (lnum(p->c, p->s, v, key, &p->e->silent_for) < 0)
		return -1;
	if (p->e->silent_for <= 0)
		return lerr(p->c, p->s, v, "'silent_for' must be more than 0 seconds");
	return 0;
}

static int ekey_handshake(struct eparse *p, const yaml_node_t *v, const char *key)
{
	(void)key;
	if (lis(v, "ok"))
		p->e->handshake = 1;
	else if (lis(v, "fail"))
		p->e->handshake = 0;
	else
		return lerr(p->c, p->s, v, "'handshake' must be ok or fail");
	return 0;
}

static int ekey_one_of(struct eparse *p, const yaml_node_t *v, const char *key)
{
	(void)key;
	return parse_one_of(p->c, p->s, v, p->e, p->depth);
}

static int ekey_level(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return parse_level(p->c, p->s, v, key, &p->e->level);
}

static int ekey_ref(struct eparse *p, const yaml_node_t *v, const char *key)
{
	return lreqid(p->c, p->s, v, key, &p->e->ref);
}

static int ekey_timeout(struct eparse *p, const yaml_node_t *v, const char *key)
{
	if (lnum(p->c, p->s, v, key, &p->e->timeout) < 0)
		return -1;
	if (p->e->timeout <= 0)
		return lerr(p->c, p->s, v, "'timeout' must be more than 0 seconds");
	return 0;
}

/* The keys of an expectation (docs/scenario-language.md, "Expectations"), in the order messages list them.
 * body: a check on the body, so it implies `multiline`; beside_one_of: not a check, so it may stand beside
 * `one_of` (which leaves the checks to its alternatives). */
static const struct expect_key {
	const char *name;
	ekey_fn parse;
	bool body;
	bool beside_one_of;
} expect_keys[] = {
    {"status", ekey_status, false, false},
    {"code", ekey_code, false, false},
    {"not_code", ekey_not_code, false, false},
    {"match", ekey_match, false, false},
    {"not_match", ekey_not_match, false, false},
    {"multiline", ekey_multiline, false, false},
    {"count", ekey_count, true, false},
    {"octets", ekey_octets, true, false},
    {"lines", ekey_lines, true, false},
    {"each_line", ekey_each_line, true, false},
    {"contains", ekey_contains, true, false},
    {"not_contains", ekey_not_contains, true, false},
    {"message", ekey_message, true, false},
    {"top", ekey_top, true, false},
    {"capture", ekey_capture, false, false},
    {"capture_line", ekey_capture_line, true, false},
    {"capture_body", ekey_capture_body, true, false},
    {"icase", ekey_icase, false, false},
    {"closes", ekey_closes, false, false},
    {"close_notify", ekey_close_notify, false, false},
    {"silent_for", ekey_silent_for, false, false},
    {"handshake", ekey_handshake, false, false},
    {"one_of", ekey_one_of, false, true},
    {"level", ekey_level, false, true},
    {"ref", ekey_ref, false, true},
    {"timeout", ekey_timeout, false, true},
};
#define N_EXPECT_KEYS (sizeof expect_keys / sizeof expect_keys[0])

static const struct expect_key *expect_key_named(const char *name)
{
	for (size_t i = 0; i < N_EXPECT_KEYS; i++)
		if (strcmp(expect_keys[i].name, name) == 0)
			return &expect_keys[i];
	return NULL;
}

static int parse_expect_map(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, struct expect *e,
                            int depth)
{
	const char *names[N_EXPECT_KEYS + 1];
	for (size_t i = 0; i < N_EXPECT_KEYS; i++)
		names[i] = expect_keys[i].name;
	names[N_EXPECT_KEYS] = NULL;
	/* Unknown keys are refused here, at their own file:line:column, so every key below has its row. */
	if (lkeys(c, s, n, names, "expectation") < 0)
		return -1;
	struct eparse p = {.c = c, .s = s, .e = e, .depth = depth};
	bool body = false;
	yaml_node_t *one_of_key = NULL, *checking_key = NULL;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = lnode(s, pr->key), *v = lnode(s, pr->value);
		const struct expect_key *ek = expect_key_named(lsval(k));
		if (!ek)
			return lerr(c, s, k, "unknown key '%.60s' in expectation", lsval(k));
		if (ek->parse == ekey_one_of)
			one_of_key = k;
		else if (!ek->beside_one_of && !checking_key)
			checking_key = k;
		body = body || ek->body;
		if (ek->parse(&p, v, ek->name) < 0)
			return -1;
	}
	for (size_t i = 0; i < e->nline_captures; i++)
		for (size_t j = 0; j < e->ncaptures; j++)
			if (strcmp(e->line_captures[i].name, e->captures[j].name) == 0)
				return lerr(c, s, n, "'%s' is both a capture and a capture_line",
				            e->captures[j].name);
	if (one_of_key && checking_key)
		return lerr(
		    c, s, checking_key,
		    "'%s' cannot stand beside 'one_of' (only level, ref and timeout can); put it in each "
		    "alternative",
		    lsval(checking_key));
	if (e->close_notify && e->closes != 1)
		return lerr(c, s, n,
		            "'close_notify' goes with 'closes: true' (it judges how the server closes)");
	if (p.multiline_set && !p.multiline && body)
		return lerr(c, s, n, "'multiline: false' with a body check (count, lines, message ...)");
	/* A body check needs the body read: it implies multiline. */
	e->multiline = p.multiline || body;
	return 0;
}

static int parse_expectation(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, struct expect *e,
                             int depth)
{
	if (++c->nexpects > LOAD_MAX_EXPECTS)
		return lerr(c, s, n, "more than %d expectations in one scenario", LOAD_MAX_EXPECTS);
	if (lscalar(n) && !lnull(n))
		return parse_status(c, s, n, "expectation", &e->status);
	if (n && n->type == YAML_MAPPING_NODE)
		return parse_expect_map(c, s, n, e, depth);
	return lerr(c, s, n, "an expectation must be ok, err, any, cont or a mapping, found %s", ltype(n));
}

int load_expect(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, struct step *st)
{
	size_t cnt = 1;
	if (n && n->type == YAML_SEQUENCE_NODE) {
		cnt = lseqlen(n);
		if (cnt == 0)
			return lerr(c, s, n, "'expect' is an empty list; give one expectation per response");
	}
	st->expect = calloc(cnt, sizeof *st->expect);
	if (!st->expect)
		return p3err_set(c->err, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *it = n->type == YAML_SEQUENCE_NODE ? lseqitem(s, n, i) : (yaml_node_t *)n;
		if (it && it->type == YAML_SEQUENCE_NODE)
			return lerr(c, s, it,
			            "an expectation in a list must be a shorthand or a mapping, not a list");
		expect_init(&st->expect[i], s, it);
		st->n_expect++;
		if (parse_expectation(c, s, it, &st->expect[i], 0) < 0)
			return -1;
	}
	return 0;
}
