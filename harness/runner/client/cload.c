/* cload.c — the client scenario's own keys (docs/clients.md): modes, runs, what the built-in server does
 * differently (server:) and what the client must do (expect:). The loader (load.c) parses the metadata
 * and calls cscen_parse through load_opts.client_parse. */
#include "runner/client/client.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <openssl/ssl.h>

#include "runner/load_int.h"

static void upcase(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

static int enum_of(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what,
                   const char *const *names, int nnames, int *out)
{
	char *v;
	if (lstr(c, s, n, what, &v) < 0)
		return -1;
	for (int i = 0; i < nnames; i++) {
		if (strcmp(v, names[i]) == 0) {
			free(v);
			*out = i;
			return 0;
		}
	}
	free(v);
	return lerr(c, s, n, "bad '%s'", what);
}

static int count_of(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, double lo,
                    double hi, double *out)
{
	if (lnum(c, s, n, what, out) < 0)
		return -1;
	if (*out < lo || *out > hi || *out != (double)(long)*out)
		return lerr(c, s, n, "'%s' must be a whole number from %.0f to %.0f", what, lo, hi);
	return 0;
}

static int parse_replies(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, struct csrv_opts *o)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(c, s, n, "'replies' must be a list, found %s", ltype(n));
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	o->replies = calloc(cnt ? cnt : 1, sizeof *o->replies);
	if (!o->replies)
		return p3err_set(c->err, "out of memory");
	static const char *const keys[] = {"command", "reply", "close", "times", NULL};
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *it = lnode(s, n->data.sequence.items.start[i]), *x;
		struct creply *r = &o->replies[o->nreplies++];
		if (lkeys(c, s, it, keys, "reply") < 0)
			return -1;
		if (!(x = lget(s, it, "command", NULL)) || lstr(c, s, x, "command", &r->command) < 0)
			return x ? -1 : lerr(c, s, it, "missing 'command' (a keyword, or GREETING)");
		upcase(r->command);
		if (!(x = lget(s, it, "reply", NULL)) || lsstr(c, s, x, "reply", &r->reply) < 0)
			return x ? -1 : lerr(c, s, it, "missing 'reply' (the raw octets sent instead)");
		if ((x = lget(s, it, "close", NULL)) && lbool(c, s, x, "close", &r->close) < 0)
			return -1;
		double d;
		if ((x = lget(s, it, "times", NULL))) {
			if (count_of(c, s, x, "times", 1, 1000, &d) < 0)
				return -1;
			r->times = (int)d;
		}
	}
	return 0;
}

/* A user name or password: 1 to max printable ASCII characters, no space (it goes on a command line). */
static int token_of(struct lctx *c, const struct lsrc *s, yaml_node_t *x, const char *key, int max,
                    char **out)
{
	if (lstr(c, s, x, key, out) < 0)
		return -1;
	size_t len = strlen(*out);
	bool ok = len > 0 && len <= (size_t)max;
	for (size_t i = 0; i < len; i++)
		ok = ok && (*out)[i] > 0x20 && (*out)[i] < 0x7f;
	if (!ok)
		return lerr(c, s, x, "'%s' must be 1 to %d printable ASCII characters without spaces", key,
		            max);
	return 0;
}

/* A list of message numbers (the caller has checked it is a list); `key` names them in an error. */
static int numbers_of(struct lctx *c, const struct lsrc *s, yaml_node_t *x, const char *key, int **out,
                      size_t *n)
{
	size_t cnt = (size_t)(x->data.sequence.items.top - x->data.sequence.items.start);
	*out = calloc(cnt ? cnt : 1, sizeof **out);
	if (!*out)
		return p3err_set(c->err, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		double d;
		if (count_of(c, s, lnode(s, x->data.sequence.items.start[i]), key, 1, 100000, &d) < 0)
			return -1;
		(*out)[(*n)++] = (int)d;
	}
	return 0;
}

/* between_runs_delete: the message numbers gone before the second run. */
static int parse_between_delete(struct lctx *c, const struct lsrc *s, yaml_node_t *x, struct csrv_opts *o)
{
	if (x->type != YAML_SEQUENCE_NODE)
		return lerr(c, s, x, "'between_runs_delete' must be a list of message numbers");
	return numbers_of(c, s, x, "between_runs_delete", &o->between_runs_delete, &o->nbetween);
}

/* close_mid: cut a multi-line reply (a message's number, or a command prefix), `after` octets of its
 * body, `once` or every time. */
static int parse_close_mid(struct lctx *c, const struct lsrc *s, yaml_node_t *x, struct csrv_opts *o)
{
	static const char *const mk[] = {"command", "message", "after", "once", NULL};
	yaml_node_t *y;
	double d;
	if (lkeys(c, s, x, mk, "close_mid") < 0)
		return -1;
	if ((y = lget(s, x, "message", NULL))) {
		if (count_of(c, s, y, "message", 1, 100000, &d) < 0)
			return -1;
		o->close_mid_message = (long)d;
	} else if (!(y = lget(s, x, "command", NULL)) || lstr(c, s, y, "command", &o->close_mid) < 0) {
		return y ? -1 : lerr(c, s, x, "missing 'message' (or 'command')");
	} else {
		upcase(o->close_mid);
	}
	if ((y = lget(s, x, "once", NULL)) && lbool(c, s, y, "once", &o->close_mid_once) < 0)
		return -1;
	if ((y = lget(s, x, "after", NULL))) {
		if (count_of(c, s, y, "after", 0, 1e9, &d) < 0)
			return -1;
		o->close_mid_after = (size_t)d;
	}
	return 0;
}

static int parse_server(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, struct csrv_opts *o)
{
	static const char *const keys[] = {
	    "greeting",         "capa",        "stls",      "cert",       "chunk",   "inject_before_tls",
	    "replies",          "close_after", "close_mid", "pad_status", "tls_max", "between_runs_delete",
	    "between_runs_add", "reply_delay", "password",  "user",       NULL};
	if (lkeys(c, s, n, keys, "server") < 0)
		return -1;
	yaml_node_t *x;
	double d;
	int e = 0;
	if ((x = lget(s, n, "greeting", NULL)) && lstr(c, s, x, "greeting", &o->greeting) < 0)
		return -1;
	if ((x = lget(s, n, "capa", NULL))) {
		if (lstrlist(c, s, x, "capa", &o->capa, &o->ncapa) < 0)
			return -1;
		o->capa_set = true;
	}
	static const char *const stls[] = {"offer", "refuse", "absent"};
	if ((x = lget(s, n, "stls", NULL))) {
		if (enum_of(c, s, x, "stls", stls, 3, &e) < 0)
			return lerr(c, s, x, "'stls' must be offer, refuse or absent");
		o->stls = (enum stls_mode)e;
	}
	static const char *const certs[] = {"good", "unknown_ca", "wrong_name", "expired"};
	if ((x = lget(s, n, "cert", NULL))) {
		if (enum_of(c, s, x, "cert", certs, 4, &e) < 0)
			return lerr(c, s, x, "'cert' must be good, unknown_ca, wrong_name or expired");
		o->cert = (enum cert_kind)e;
	}
	if ((x = lget(s, n, "chunk", NULL))) {
		if (count_of(c, s, x, "chunk", 1, 65536, &d) < 0)
			return -1;
		o->chunk = (size_t)d;
	}
	if ((x = lget(s, n, "pad_status", NULL))) {
		if (count_of(c, s, x, "pad_status", 8, 65536, &d) < 0)
			return -1;
		o->pad_status = (size_t)d;
	}
	if ((x = lget(s, n, "password", NULL)) &&
	    token_of(c, s, x, "password", CLIENT_MAX_PASSWORD, &o->password) < 0)
		return -1;
	/* A long name provokes RFC 2449 §4's 255-octet limit on USER (and APOP) lines. */
	if ((x = lget(s, n, "user", NULL)) && token_of(c, s, x, "user", CLIENT_MAX_USER, &o->user) < 0)
		return -1;
	if ((x = lget(s, n, "between_runs_add", NULL)) &&
	    lstr(c, s, x, "between_runs_add", &o->between_runs_add) < 0)
		return -1;
	if (o->between_runs_add && (strchr(o->between_runs_add, '/') || o->between_runs_add[0] == '.'))
		return lerr(c, s, x, "'between_runs_add' names a fixture maildrop");
	if ((x = lget(s, n, "reply_delay", NULL))) {
		if (lnum(c, s, x, "reply_delay", &o->reply_delay) < 0)
			return -1;
		if (o->reply_delay < 0 || o->reply_delay > 5)
			return lerr(c, s, x, "'reply_delay' must be seconds from 0 to 5");
	}
	if ((x = lget(s, n, "between_runs_delete", NULL)) && parse_between_delete(c, s, x, o) < 0)
		return -1;
	if ((x = lget(s, n, "tls_max", NULL))) {
		static const char *const v[] = {"1.0", "1.1", "1.2", "1.3"};
		static const int ver[] = {TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION};
		if (enum_of(c, s, x, "tls_max", v, 4, &e) < 0)
			return lerr(c, s, x, "'tls_max' must be \"1.0\", \"1.1\", \"1.2\" or \"1.3\"");
		o->tls_max = ver[e];
	}
	if ((x = lget(s, n, "inject_before_tls", NULL)) &&
	    lsstr(c, s, x, "inject_before_tls", &o->inject) < 0)
		return -1;
	if ((x = lget(s, n, "replies", NULL)) && parse_replies(c, s, x, o) < 0)
		return -1;
	if ((x = lget(s, n, "close_after", NULL))) {
		if (lstr(c, s, x, "close_after", &o->close_after) < 0)
			return -1;
		upcase(o->close_after);
	}
	if ((x = lget(s, n, "close_mid", NULL)) && parse_close_mid(c, s, x, o) < 0)
		return -1;
	return 0;
}

static int regex_ok(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *re)
{
	regex_t r;
	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0)
		return lerr(c, s, n, "bad regular expression '%.80s'", re);
	regfree(&r);
	return 0;
}

/* delivered: all, none or a list of message numbers; delivered_within: at most those (a list). */
static int parse_delivered(struct lctx *c, const struct lsrc *s, yaml_node_t *x, bool within,
                           struct cexpect *e)
{
	e->kind = CEXP_DELIVERED;
	if (within && x->type != YAML_SEQUENCE_NODE)
		return lerr(c, s, x, "'delivered_within' must be a list of message numbers");
	e->delivered = within ? 1 : 0;
	if (x->type == YAML_SEQUENCE_NODE)
		return numbers_of(c, s, x, "delivered", &e->msgs, &e->nmsgs);
	static const char *const dv[] = {"all", "none"};
	int v = 0;
	if (enum_of(c, s, x, "delivered", dv, 2, &v) < 0)
		return lerr(c, s, x, "'delivered' must be all, none or a list of message numbers");
	e->delivered = v == 0 ? -1 : -2;
	return 0;
}

static int parse_expect(struct lctx *c, const struct lsrc *s, const yaml_node_t *it, struct cexpect *e)
{
	static const char *const keys[] = {"quit",
	                                   "sent",
	                                   "not_sent",
	                                   "no_command_after",
	                                   "dele_after_retr",
	                                   "capa_after_tls",
	                                   "exit",
	                                   "delivered",
	                                   "delivered_within",
	                                   "retr_second_run",
	                                   "sasl_cancel",
	                                   "sessions_at_most",
	                                   "ref",
	                                   "level",
	                                   NULL};
	if (lkeys(c, s, it, keys, "client expectation") < 0)
		return -1;
	e->level = -1;
	yaml_node_t *x;
	if ((x = lget(s, it, "ref", NULL)) && lreqid(c, s, x, "ref", &e->ref) < 0)
		return -1;
	static const char *const levels[] = {"MUST", "SHOULD", "MAY"};
	if ((x = lget(s, it, "level", NULL)) && enum_of(c, s, x, "level", levels, 3, &e->level) < 0)
		return -1;
	int found = 0;
	bool b;
	static const struct {
		const char *key;
		enum cexp_kind kind;
	} re_keys[] = {{"sent", CEXP_SENT}, {"not_sent", CEXP_NOT_SENT}, {"no_command_after", CEXP_NO_AFTER}};
	for (size_t i = 0; i < 3; i++) {
		if (!(x = lget(s, it, re_keys[i].key, NULL)))
			continue;
		found++;
		e->kind = re_keys[i].kind;
		if (lstr(c, s, x, re_keys[i].key, &e->regex) < 0 || regex_ok(c, s, x, e->regex) < 0)
			return -1;
	}
	static const struct {
		const char *key;
		enum cexp_kind kind;
	} b_keys[] = {{"quit", CEXP_QUIT},
	              {"dele_after_retr", CEXP_DELE_AFTER_RETR},
	              {"capa_after_tls", CEXP_CAPA_AFTER_TLS},
	              {"sasl_cancel", CEXP_SASL_CANCEL}};
	for (size_t i = 0; i < 4; i++) {
		if (!(x = lget(s, it, b_keys[i].key, NULL)))
			continue;
		found++;
		e->kind = b_keys[i].kind;
		if (lbool(c, s, x, b_keys[i].key, &b) < 0)
			return -1;
		if (!b)
			return lerr(c, s, x, "'%s' can only be true (leave it out otherwise)", b_keys[i].key);
	}
	if ((x = lget(s, it, "exit", NULL))) {
		static const char *const ex[] = {"any", "zero", "nonzero"};
		int v = 0;
		found++;
		e->kind = CEXP_EXIT;
		if (enum_of(c, s, x, "exit", ex, 3, &v) < 0)
			return lerr(c, s, x, "'exit' must be zero, nonzero or any");
		e->exit = (enum exit_want)v;
	}
	yaml_node_t *within = lget(s, it, "delivered_within", NULL);
	if ((x = within ? within : lget(s, it, "delivered", NULL))) {
		found += within && lget(s, it, "delivered", NULL) ? 2 : 1;
		if (parse_delivered(c, s, x, within != NULL, e) < 0)
			return -1;
	}
	static const struct {
		const char *key;
		enum cexp_kind kind;
		double min;
	} n_keys[] = {{"retr_second_run", CEXP_RETR_SECOND, 0}, {"sessions_at_most", CEXP_SESSIONS_MAX, 1}};
	for (size_t i = 0; i < 2; i++) {
		double d;
		if (!(x = lget(s, it, n_keys[i].key, NULL)))
			continue;
		found++;
		e->kind = n_keys[i].kind;
		if (count_of(c, s, x, n_keys[i].key, n_keys[i].min, 100000, &d) < 0)
			return -1;
		e->count = (long)d;
	}
	if (found != 1)
		return lerr(
		    c, s, it,
		    "a client expectation holds exactly one check (quit, sent, not_sent, "
		    "no_command_after, dele_after_retr, capa_after_tls, exit, delivered, retr_second_run, "
		    "sessions_at_most)");
	return 0;
}

int cscen_parse(struct lctx *c, const struct lsrc *s, const void *rootp)
{
	const yaml_node_t *root = rootp;
	struct cscen *cs = calloc(1, sizeof *cs);
	if (!cs)
		return p3err_set(c->err, "out of memory");
	c->sc->client = cs;
	c->sc->client_free = cscen_free;
	cs->runs = 1;
	yaml_node_t *x;
	if ((x = lget(s, root, "modes", NULL)) && lstrlist(c, s, x, "modes", &cs->modes, &cs->nmodes) < 0)
		return -1;
	if ((x = lget(s, root, "runs", NULL))) {
		double d;
		if (count_of(c, s, x, "runs", 1, 2, &d) < 0)
			return -1;
		cs->runs = (int)d;
	}
	if ((x = lget(s, root, "server", NULL)) && parse_server(c, s, x, &cs->srv) < 0)
		return -1;
	if (!(x = lget(s, root, "expect", NULL)))
		return lerr(c, s, root, "missing required key 'expect' (what the client must do)");
	if (x->type != YAML_SEQUENCE_NODE)
		return lerr(c, s, x, "'expect' must be a list, found %s", ltype(x));
	size_t cnt = (size_t)(x->data.sequence.items.top - x->data.sequence.items.start);
	cs->expect = calloc(cnt ? cnt : 1, sizeof *cs->expect);
	if (!cs->expect)
		return p3err_set(c->err, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		cs->nexpect++;
		if (parse_expect(c, s, lnode(s, x->data.sequence.items.start[i]), &cs->expect[i]) < 0)
			return -1;
	}
	return 0;
}

void cscen_free(void *p)
{
	struct cscen *cs = p;
	if (!cs)
		return;
	for (size_t i = 0; i < cs->nmodes; i++)
		free(cs->modes[i]);
	free(cs->modes);
	struct csrv_opts *o = &cs->srv;
	free(o->greeting);
	free(o->password);
	free(o->user);
	for (size_t i = 0; i < o->ncapa; i++)
		free(o->capa[i]);
	free(o->capa);
	free(o->inject.s);
	for (size_t i = 0; i < o->nreplies; i++) {
		free(o->replies[i].command);
		free(o->replies[i].reply.s);
	}
	free(o->replies);
	free(o->close_after);
	free(o->close_mid);
	free(o->between_runs_delete);
	free(o->between_runs_add);
	for (size_t i = 0; i < cs->nexpect; i++) {
		free(cs->expect[i].regex);
		free(cs->expect[i].msgs);
		free(cs->expect[i].ref);
	}
	free(cs->expect);
	free(cs);
}
