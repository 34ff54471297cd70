/* load_steps.c — the loader's grammar for steps (docs/scenario-language.md, "Steps"). A step's action is
 * parsed by the parser its row of step_kinds[] names (step_kinds.h); its `expect:` by load_expect.c. One
 * function per form:
 *
 *   steps       := [ step... ]
 *   step        := { ACTION: value, [session], [expect], [when], [note] }     exactly one ACTION
 */
#include "runner/load_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/step_kinds.h"

/* ---------- actions ---------- */

/* The `session` key an action's mapping may carry (`connect: {tls: implicit, session: old}`). */
static int action_session(struct lctx *c, const struct lsrc *s, const yaml_node_t *m, struct step *st)
{
	yaml_node_t *v = lget(s, m, "session", NULL);
	if (!v)
		return 0;
	if (st->session)
		return lerr(c, s, v, "'session' given twice, in the action and beside it");
	return lname(c, s, v, "session", &st->session);
}

static int parse_tls_version(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what,
                             char **out)
{
	static const char *const ok[] = {"1.0", "1.1", "1.2", "1.3"};
	if (lstr(c, s, n, what, out) < 0)
		return -1;
	for (size_t i = 0; i < 4; i++)
		if (strcmp(*out, ok[i]) == 0)
			return 0;
	return lerr(c, s, n,
	            "bad TLS version '%.20s' for '%s'; expected \"1.0\", \"1.1\", \"1.2\" or \"1.3\"", *out,
	            what);
}

int step_parse_connect(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	static const char *const keys[] = {"tls",     "plain",  "greeting", "min_version", "max_version",
	                                   "ciphers", "verify", "session",  NULL};
	st->u.connect.read_greeting = true;
	st->u.connect.verify = -1;
	if (lnull(v) || lis(v, "plain"))
		return 0;
	if (lis(v, "tls")) {
		st->u.connect.tls = true;
		return 0;
	}
	if (lscalar(v))
		return lerr(c, s, v, "bad connect '%.40s'; expected plain, tls or a mapping", lsval(v));
	if (lkeys(c, s, v, keys, "connect") < 0 || action_session(c, s, v, st) < 0)
		return -1;
	yaml_node_t *tls = lget(s, v, "tls", NULL), *plain = lget(s, v, "plain", NULL), *x;
	bool b;
	if (tls) {
		if (lis(tls, "implicit"))
			b = true;
		else if (lbool(c, s, tls, "tls", &b) < 0)
			return lerr(c, s, tls, "'tls' must be implicit, true or false");
		st->u.connect.tls = b;
	}
	if (plain) {
		if (lbool(c, s, plain, "plain", &b) < 0)
			return -1;
		if (b && st->u.connect.tls)
			return lerr(c, s, plain, "'plain: true' contradicts 'tls: implicit'");
		if (!b && !tls)
			st->u.connect.tls = true;
	}
	if ((x = lget(s, v, "greeting", NULL)) &&
	    lbool(c, s, x, "greeting", &st->u.connect.read_greeting) < 0)
		return -1;
	if ((x = lget(s, v, "min_version", NULL)) &&
	    parse_tls_version(c, s, x, "min_version", &st->u.connect.min_version) < 0)
		return -1;
	if ((x = lget(s, v, "max_version", NULL)) &&
	    parse_tls_version(c, s, x, "max_version", &st->u.connect.max_version) < 0)
		return -1;
	if ((x = lget(s, v, "ciphers", NULL)) && lstr(c, s, x, "ciphers", &st->u.connect.ciphers) < 0)
		return -1;
	if ((x = lget(s, v, "verify", NULL))) {
		if (lbool(c, s, x, "verify", &b) < 0)
			return -1;
		st->u.connect.verify = b ? 1 : 0;
	}
	if (!st->u.connect.tls &&
	    (st->u.connect.min_version || st->u.connect.max_version || st->u.connect.ciphers))
		return lerr(c, s, v, "TLS versions and ciphers need 'tls: implicit'");
	return 0;
}

static int parse_account(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, int *out)
{
	if (lis(n, "1") || lis(n, "2")) {
		*out = lsval(n)[0] - '0';
		return 0;
	}
	return lerr(c, s, n, "'account' must be 1 or 2 (each worker owns two accounts)");
}

/* `tls:` of login and auth: true (STLS first), false (never); absent: the target's login_tls. */
static int parse_tls_first(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, enum tls_first *out)
{
	bool b;
	if (lbool(c, s, n, "tls", &b) < 0)
		return -1;
	*out = b ? TLS_FIRST_YES : TLS_FIRST_NO;
	return 0;
}

int step_parse_login(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	static const char *const keys[] = {"account", "method", "tls", "session", NULL};
	st->u.login.method = LOGIN_OFFERED;
	st->u.login.account = 1;
	if (lnull(v))
		return 0;
	if (lkeys(c, s, v, keys, "login") < 0 || action_session(c, s, v, st) < 0)
		return -1;
	yaml_node_t *x;
	if ((x = lget(s, v, "account", NULL)) && parse_account(c, s, x, &st->u.login.account) < 0)
		return -1;
	if ((x = lget(s, v, "tls", NULL)) && parse_tls_first(c, s, x, &st->u.login.tls) < 0)
		return -1;
	if ((x = lget(s, v, "method", NULL))) {
		if (lis(x, "user"))
			st->u.login.method = LOGIN_USER;
		else if (lis(x, "apop"))
			st->u.login.method = LOGIN_APOP;
		else if (lis(x, "plain"))
			st->u.login.method = LOGIN_PLAIN;
		else
			return lerr(c, s, x, "bad login method; expected user, apop or plain");
	}
	return 0;
}

int step_parse_auth(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	static const char *const keys[] = {"mechanism", "account", "password", "authzid",
	                                   "initial",   "tls",     "session",  NULL};
	st->u.auth.account = 1;
	st->u.auth.initial = -1;
	if (lscalar(v) && !lnull(v)) /* `auth: PLAIN` */
		return lstr(c, s, v, "auth", &st->u.auth.mechanism);
	if (lkeys(c, s, v, keys, "auth") < 0 || action_session(c, s, v, st) < 0)
		return -1;
	yaml_node_t *x = lget(s, v, "mechanism", NULL);
	if (!x)
		return lerr(c, s, v, "'auth' needs 'mechanism'");
	if (lstr(c, s, x, "mechanism", &st->u.auth.mechanism) < 0)
		return -1;
	if ((x = lget(s, v, "account", NULL)) && parse_account(c, s, x, &st->u.auth.account) < 0)
		return -1;
	if ((x = lget(s, v, "password", NULL)) && lsstr(c, s, x, "password", &st->u.auth.password) < 0)
		return -1;
	if ((x = lget(s, v, "authzid", NULL)) && lsstr(c, s, x, "authzid", &st->u.auth.authzid) < 0)
		return -1;
	if ((x = lget(s, v, "initial", NULL))) {
		bool b;
		if (lbool(c, s, x, "initial", &b) < 0)
			return -1;
		st->u.auth.initial = b ? 1 : 0;
	}
	if ((x = lget(s, v, "tls", NULL)) && parse_tls_first(c, s, x, &st->u.auth.tls) < 0)
		return -1;
	return 0;
}

int step_parse_send(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	if (lsstr(c, s, v, "send", &st->u.text) < 0)
		return -1;
	if (memchr(st->u.text.s, '\r', st->u.text.len) || memchr(st->u.text.s, '\n', st->u.text.len))
		return lerr(c, s, v, "'send' adds CRLF itself; use 'raw' for line ends of your own");
	return 0;
}

int step_parse_raw(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	if (lsstr(c, s, v, "raw", &st->u.text) < 0)
		return -1;
	if (st->u.text.len == 0)
		return lerr(c, s, v, "'raw' needs at least one octet");
	return 0;
}

/* `read:` takes nothing but, optionally, its session. */
int step_parse_read(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	static const char *const keys[] = {"session", NULL};
	if (lnull(v))
		return 0;
	if (lkeys(c, s, v, keys, "read") < 0)
		return -1;
	return action_session(c, s, v, st);
}

int step_parse_starttls(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	static const char *const keys[] = {"inject", "quiet", "for_login", "session", NULL};
	if (lnull(v))
		return 0;
	if (lkeys(c, s, v, keys, "starttls") < 0 || action_session(c, s, v, st) < 0)
		return -1;
	yaml_node_t *x;
	if ((x = lget(s, v, "inject", NULL))) {
		if (lsstr(c, s, x, "inject", &st->u.starttls.inject) < 0)
			return -1;
		if (st->u.starttls.inject.len == 0)
			return lerr(c, s, x, "'inject' needs at least one octet");
		st->u.starttls.quiet = 1.0; /* the injected command's reply would come at once */
	}
	if ((x = lget(s, v, "quiet", NULL))) {
		if (lnum(c, s, x, "quiet", &st->u.starttls.quiet) < 0)
			return -1;
		if (st->u.starttls.quiet <= 0 || st->u.starttls.quiet > 600)
			return lerr(c, s, x, "'quiet' must be more than 0 and at most 600 seconds");
	}
	if ((x = lget(s, v, "for_login", NULL)) && lbool(c, s, x, "for_login", &st->u.starttls.for_login) < 0)
		return -1;
	return 0;
}

int step_parse_expect_close(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	static const char *const keys[] = {"within", "silent", "session", NULL};
	if (lnull(v))
		return 0;
	if (lkeys(c, s, v, keys, "expect_close") < 0 || action_session(c, s, v, st) < 0)
		return -1;
	yaml_node_t *x;
	if ((x = lget(s, v, "within", NULL)) && lnum(c, s, x, "within", &st->u.close.within) < 0)
		return -1;
	if ((x = lget(s, v, "silent", NULL)) && lbool(c, s, x, "silent", &st->u.close.silent) < 0)
		return -1;
	return 0;
}

int step_parse_drop(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	if (lnull(v) || lis(v, "fin"))
		st->u.drop = DROP_FIN;
	else if (lis(v, "rst"))
		st->u.drop = DROP_RST;
	else if (lis(v, "half"))
		st->u.drop = DROP_HALF;
	else
		return lerr(c, s, v, "'drop' must be fin, rst or half");
	return 0;
}

int step_parse_sleep(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	if (lscalar(v) && !lnull(v) && !strstr(lsval(v), "${")) {
		double d;
		if (lnum(c, s, v, "sleep", &d) < 0)
			return -1;
	}
	if (lnull(v))
		return lerr(c, s, v, "'sleep' needs a number of seconds");
	return lsstr(c, s, v, "sleep", &st->u.sleep);
}

int step_parse_find(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	static const char *const keys[] = {"message", "as", "session", NULL};
	if (lkeys(c, s, v, keys, "find") < 0 || action_session(c, s, v, st) < 0)
		return -1;
	yaml_node_t *m = lget(s, v, "message", NULL), *as = lget(s, v, "as", NULL);
	if (!m)
		return lerr(c, s, v, "'find' needs 'message' (a fixture message number)");
	if (!as)
		return lerr(c, s, v, "'find' needs 'as' (the name to store the number under)");
	if (lcount(c, s, m, "message", &st->u.find.message) < 0)
		return -1;
	return lname(c, s, as, "as", &st->u.find.as);
}

static int parse_pair(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what,
                      struct sstr *a, struct sstr *b)
{
	if (n && n->type == YAML_SEQUENCE_NODE && lseqlen(n) != 2)
		return lerr(c, s, n, "'%s' must be a list of two values, found %zu", what, lseqlen(n));
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return lerr(c, s, n, "'%s' must be a list of two values, found %s", what, ltype(n));
	return (lsstr(c, s, lseqitem(s, n, 0), what, a) < 0 || lsstr(c, s, lseqitem(s, n, 1), what, b) < 0)
	           ? -1
	           : 0;
}

int step_parse_assert(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	static const char *const keys[] = {"equal",    "not_equal", "match", "not_match", "subset",
	                                   "distinct", "le",        "ge",    "lt",        "gt",
	                                   "ignore",   "infinite",  "ref",   NULL};
	static const char *const ops[] = {"equal",    "not_equal", "match", "not_match", "subset",
	                                  "distinct", "le",        "ge",    "lt",        "gt"};
	static const enum assert_op opv[] = {ASSERT_EQUAL,  ASSERT_NOT_EQUAL, ASSERT_MATCH, ASSERT_NOT_MATCH,
	                                     ASSERT_SUBSET, ASSERT_DISTINCT,  ASSERT_LE,    ASSERT_GE,
	                                     ASSERT_LT,     ASSERT_GT};
	if (lkeys(c, s, v, keys, "assert") < 0)
		return -1;
	yaml_node_t *opnode = NULL, *opkey = NULL;
	int op = -1;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		yaml_node_t *k = NULL, *x = lget(s, v, ops[i], &k);
		if (!x)
			continue;
		if (opnode)
			return lerr(c, s, k, "'assert' has two comparisons, '%s' and '%s'", lsval(opkey),
			            ops[i]);
		opnode = x;
		opkey = k;
		op = (int)i;
	}
	if (!opnode)
		return lerr(c, s, v,
		            "'assert' needs one of equal, not_equal, match, not_match, subset, distinct, le, "
		            "ge, lt, gt");
	st->u.assert_.op = opv[op];
	yaml_node_t *x;
	switch (opv[op]) {
	case ASSERT_EQUAL:
	case ASSERT_NOT_EQUAL:
	case ASSERT_LE:
	case ASSERT_GE:
	case ASSERT_LT:
	case ASSERT_GT:
		if (parse_pair(c, s, opnode, ops[op], &st->u.assert_.a, &st->u.assert_.b) < 0)
			return -1;
		break;
	case ASSERT_MATCH:
	case ASSERT_NOT_MATCH: {
		if (parse_pair(c, s, opnode, ops[op], &st->u.assert_.a, &st->u.assert_.b) < 0)
			return -1;
		char *re = NULL;
		int rc = lregex(c, s, lseqitem(s, opnode, 1), ops[op], &re);
		free(re);
		if (rc < 0)
			return -1;
		break;
	}
	case ASSERT_SUBSET: {
		if (!opnode || opnode->type != YAML_SEQUENCE_NODE || lseqlen(opnode) != 2)
			return lerr(c, s, opnode, "'subset' must be a list of two capture names, found %s",
			            ltype(opnode));
		char *a = NULL, *b = NULL;
		int rc = lname(c, s, lseqitem(s, opnode, 0), "subset", &a);
		if (rc == 0)
			rc = lname(c, s, lseqitem(s, opnode, 1), "subset", &b);
		st->u.assert_.a = (struct sstr){a, a ? strlen(a) : 0};
		st->u.assert_.b = (struct sstr){b, b ? strlen(b) : 0};
		if (rc < 0)
			return -1;
		break;
	}
	case ASSERT_DISTINCT: {
		char *a = NULL;
		int rc = lname(c, s, opnode, "distinct", &a);
		st->u.assert_.a = (struct sstr){a, a ? strlen(a) : 0};
		if (rc < 0)
			return -1;
		break;
	}
	}
	if ((x = lget(s, v, "ignore", NULL))) {
		if (opv[op] != ASSERT_SUBSET)
			return lerr(c, s, x, "'ignore' goes only with 'subset'");
		if (lstrlist(c, s, x, "ignore", &st->u.assert_.ignore, &st->u.assert_.nignore) < 0)
			return -1;
	}
	if ((x = lget(s, v, "infinite", NULL))) {
		if (opv[op] < ASSERT_LE)
			return lerr(c, s, x, "'infinite' goes only with le, ge, lt or gt");
		if (lstr(c, s, x, "infinite", &st->u.assert_.infinite) < 0)
			return -1;
		if (!st->u.assert_.infinite[0] || strspn(st->u.assert_.infinite, "+-0123456789"))
			return lerr(c, s, x, "'infinite' must be a word such as NEVER, not a number");
	}
	if ((x = lget(s, v, "ref", NULL)) && lreqid(c, s, x, "ref", &st->u.assert_.ref) < 0)
		return -1;
	return 0;
}

static int parse_when(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct step *st)
{
	static const char *const keys[] = {"equal", "not_equal", NULL};
	if (lkeys(c, s, v, keys, "when") < 0)
		return -1;
	yaml_node_t *eq = lget(s, v, "equal", NULL), *ne = lget(s, v, "not_equal", NULL);
	if ((eq && ne) || (!eq && !ne))
		return lerr(c, s, v, "'when' needs exactly one of equal or not_equal");
	st->when_op = eq ? COND_EQUAL : COND_NOT_EQUAL;
	return parse_pair(c, s, eq ? eq : ne, eq ? "equal" : "not_equal", &st->when_a, &st->when_b);
}

/* ---------- steps ---------- */

static struct step *new_step(struct lctx *c, const struct lsrc *s, const yaml_node_t *n)
{
	struct scenario *sc = c->sc;
	if (sc->nsteps >= LOAD_MAX_STEPS) {
		lerr(c, s, n, "more than %d steps", LOAD_MAX_STEPS);
		return NULL;
	}
	if (sc->nsteps == c->stepcap) {
		size_t ncap = c->stepcap ? c->stepcap * 2 : 16;
		struct step *nv = realloc(sc->steps, ncap * sizeof *nv);
		if (!nv) {
			p3err_set(c->err, "out of memory");
			return NULL;
		}
		sc->steps = nv;
		c->stepcap = ncap;
	}
	struct step *st = &sc->steps[sc->nsteps++];
	memset(st, 0, sizeof *st);
	st->pos.file = s->path;
	st->pos.line = (int)n->start_mark.line + 1;
	st->pos.column = (int)n->start_mark.column + 1;
	return st;
}

/* `expect:` items a step kind admits: `handshake` only where a handshake runs, a list only for raw. */
static int check_expect_fits(struct lctx *c, const struct lsrc *s, const struct step *st,
                             const struct step_type *t, const yaml_node_t *exp)
{
	for (size_t i = 0; i < st->n_expect; i++) {
		const struct expect *e = &st->expect[i];
		if (e->handshake >= 0 && !t->handshakes)
			return lerr(c, s, exp, "'handshake' goes only with connect or starttls");
		if (e->handshake >= 0 && st->kind == STEP_CONNECT && !st->u.connect.tls)
			return lerr(c, s, exp, "'handshake' needs 'connect: tls'");
	}
	if (st->n_expect > 1 && !t->pipelines)
		return lerr(c, s, exp, "a list of expectations (pipelined responses) goes only with raw");
	return 0;
}

/* The keys a step may hold: every action of the table, then these. */
static const char *const step_extra_keys[] = {"session", "expect", "when", "note"};
#define N_STEP_KEYS (STEP_KINDS + sizeof step_extra_keys / sizeof step_extra_keys[0])

static int parse_step(struct lctx *c, const struct lsrc *s, const yaml_node_t *n)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return lerr(c, s, n,
		            "a step must be a mapping with one action (connect, send, raw, ...), found %s",
		            ltype(n));
	const char *keys[N_STEP_KEYS + 1];
	size_t nk = 0;
	for (size_t i = 0; i < STEP_KINDS; i++)
		keys[nk++] = step_kinds[i].name;
	for (size_t i = 0; i < sizeof step_extra_keys / sizeof step_extra_keys[0]; i++)
		keys[nk++] = step_extra_keys[i];
	keys[nk] = NULL;
	if (lkeys(c, s, n, keys, "step") < 0)
		return -1;
	yaml_node_t *akey = NULL, *aval = NULL;
	const struct step_type *t = NULL;
	for (size_t i = 0; i < STEP_KINDS; i++) {
		const char *name = step_kinds[i].name;
		yaml_node_t *k = NULL, *v = lget(s, n, name, &k);
		if (!k || !v)
			continue;
		if (akey && k->start_mark.index < akey->start_mark.index)
			return lerr(c, s, akey, "step has two actions, '%s' and '%s'; write two steps", name,
			            lsval(akey));
		if (akey)
			return lerr(c, s, k, "step has two actions, '%s' and '%s'; write two steps",
			            lsval(akey), name);
		akey = k;
		aval = v;
		t = &step_kinds[i];
	}
	if (!akey) {
		char list[400];
		size_t off = 0;
		for (size_t i = 0; i < STEP_KINDS && off < sizeof list; i++) {
			int w = snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "",
			                 step_kinds[i].name);
			if (w < 0)
				break;
			off += (size_t)w;
		}
		return lerr(c, s, n, "step has no action; expected one of %s", list);
	}
	yaml_node_t *sess = lget(s, n, "session", NULL), *exp = lget(s, n, "expect", NULL),
	            *when = lget(s, n, "when", NULL), *note = lget(s, n, "note", NULL);

	struct step *st = new_step(c, s, n);
	if (!st)
		return -1;
	st->kind = (enum step_kind)(t - step_kinds);
	if (sess && lname(c, s, sess, "session", &st->session) < 0)
		return -1;
	if (note && lstr(c, s, note, "note", &st->note) < 0)
		return -1;
	if (when && parse_when(c, s, when, st) < 0)
		return -1;
	if (t->parse(c, s, aval, st) < 0)
		return -1;
	if (!st->session) {
		st->session = strdup("main");
		if (!st->session)
			return p3err_set(c->err, "out of memory");
	}
	if (exp) {
		if (!t->reads)
			return lerr(c, s, exp, "'expect' does not go with %s, which reads no response",
			            t->name);
		if (load_expect(c, s, exp, st) < 0 || check_expect_fits(c, s, st, t, exp) < 0)
			return -1;
	}
	return 0;
}

int load_steps(struct lctx *c, const struct lsrc *s, const yaml_node_t *seq)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return lerr(c, s, seq, "'steps' must be a list of steps, found %s", ltype(seq));
	if (lseqlen(seq) == 0)
		return lerr(c, s, seq, "'steps' is empty");
	for (size_t i = 0; i < lseqlen(seq); i++)
		if (parse_step(c, s, lseqitem(s, seq, i)) < 0)
			return -1;
	return 0;
}
