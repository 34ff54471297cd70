/* load.c — loading scenarios: a file's metadata keys, folders of scenario files, sorting by id and
 * refusing duplicate ids. The YAML layer is load_yaml.c; the steps grammar is load_steps.c. */
#include "runner/load_int.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------- one scenario ---------- */

static const char *const top_keys[] = {"id",          "title",    "refs",     "level",    "tags",
                                       "fixture",     "fixture2", "modifies", "requires", "timeout",
                                       "description", "steps",    NULL};
/* A client scenario (docs/clients.md): the same metadata, and instead of steps what the built-in server
 * does and what the client must do; runner/client parses those keys through load_opts.client_parse. */
static const char *const client_top_keys[] = {"id",      "title",   "refs",        "level", "tags",
                                              "fixture", "timeout", "description", "modes", "runs",
                                              "server",  "expect",  NULL};

static bool id_ok(const char *id)
{
	if (!id[0] || id[0] == '/' || id[strlen(id) - 1] == '/' || strstr(id, "//") || strstr(id, ".."))
		return false;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_./", *p))
			return false;
	return true;
}

static bool word_ok(const char *w, const char *extra)
{
	if (!w[0])
		return false;
	for (const char *p = w; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(extra, *p))
			return false;
	return true;
}

static int parse_meta(struct lctx *c, const struct lsrc *s, const yaml_node_t *root)
{
	struct scenario *sc = c->sc;
	if (!root)
		return p3err_set(
		    c->err, "%s:1:1: empty file; a scenario needs id, title, refs, level and steps", s->path);
	bool client = c->o && c->o->client_parse;
	if (!client && root->type == YAML_MAPPING_NODE && lget(s, root, "expect", NULL) &&
	    !lget(s, root, "steps", NULL))
		return lerr(c, s, root,
		            "a client scenario (expect, no steps): run it with 'pop3spec client run' "
		            "(docs/clients.md)");
	if (lkeys(c, s, root, client ? client_top_keys : top_keys,
	          client ? "a client scenario" : "a scenario") < 0)
		return -1;
	static const char *const required[] = {"id", "title", "refs", "level", "steps"};
	for (size_t i = 0; i < (client ? 4u : 5u); i++)
		if (!lget(s, root, required[i], NULL))
			return lerr(c, s, root, "missing required key '%s'", required[i]);

	yaml_node_t *x = lget(s, root, "id", NULL);
	if (lstr(c, s, x, "id", &sc->id) < 0)
		return -1;
	if (!id_ok(sc->id))
		return lerr(c, s, x,
		            "bad id '%.80s'; use letters, digits, '-', '_', '.' and '/' like "
		            "rfc1939/dele/marked-not-retrievable",
		            sc->id);
	sc->id_pos.file = sc->file;
	sc->id_pos.line = (int)x->start_mark.line + 1;
	sc->id_pos.column = (int)x->start_mark.column + 1;

	x = lget(s, root, "title", NULL);
	if (lstr(c, s, x, "title", &sc->title) < 0)
		return -1;
	if (!sc->title[0])
		return lerr(c, s, x, "'title' is empty; say the rule the scenario checks");

	x = lget(s, root, "refs", NULL);
	if (!x || x->type != YAML_SEQUENCE_NODE || x->data.sequence.items.top == x->data.sequence.items.start)
		return lerr(c, s, x, "'refs' must be a non-empty list of requirement ids, found %s",
		            ltype(x));
	size_t nref = (size_t)(x->data.sequence.items.top - x->data.sequence.items.start);
	sc->refs = calloc(nref, sizeof *sc->refs);
	if (!sc->refs)
		return p3err_set(c->err, "out of memory");
	for (size_t i = 0; i < nref; i++) {
		if (lreqid(c, s, lnode(s, x->data.sequence.items.start[i]), "refs", &sc->refs[i]) < 0) {
			sc->nrefs = i + 1;
			return -1;
		}
		sc->nrefs = i + 1;
	}

	x = lget(s, root, "level", NULL);
	if (!lscalar(x) || lnull(x))
		return lerr(c, s, x, "'level' must be MUST, SHOULD or MAY, found %s", ltype(x));
	if (strcmp(lsval(x), "MUST") == 0)
		sc->level = LEVEL_MUST;
	else if (strcmp(lsval(x), "SHOULD") == 0)
		sc->level = LEVEL_SHOULD;
	else if (strcmp(lsval(x), "MAY") == 0)
		sc->level = LEVEL_MAY;
	else
		return lerr(c, s, x, "bad level '%.40s'; expected MUST, SHOULD or MAY", lsval(x));

	if ((x = lget(s, root, "tags", NULL))) {
		if (lstrlist(c, s, x, "tags", &sc->tags, &sc->ntags) < 0)
			return -1;
		for (size_t i = 0; i < sc->ntags; i++)
			if (!word_ok(sc->tags[i], "-_"))
				return lerr(c, s, lnode(s, x->data.sequence.items.start[i]),
				            "bad tag '%.40s'; use letters, digits, '-' and '_'", sc->tags[i]);
	}
	const char *fx[] = {"fixture", "fixture2"};
	char **fxv[] = {&sc->fixture, &sc->fixture2};
	for (size_t i = 0; i < 2; i++) {
		if (!(x = lget(s, root, fx[i], NULL)))
			continue;
		if (lstr(c, s, x, fx[i], fxv[i]) < 0)
			return -1;
		if (!word_ok(*fxv[i], "-_.") || (*fxv[i])[0] == '.')
			return lerr(
			    c, s, x,
			    "bad %s '%.40s'; name a folder of fixtures/maildrops/ or fixtures/generated/",
			    fx[i], *fxv[i]);
	}
	if ((x = lget(s, root, "modifies", NULL)) && lbool(c, s, x, "modifies", &sc->modifies) < 0)
		return -1;
	if ((x = lget(s, root, "requires", NULL))) {
		if (lstrlist(c, s, x, "requires", &sc->requires, &sc->nrequires) < 0)
			return -1;
		for (size_t i = 0; i < sc->nrequires; i++)
			if (!sc->requires[i][0])
				return lerr(c, s, lnode(s, x->data.sequence.items.start[i]),
				            "empty capability in 'requires'");
	}
	if ((x = lget(s, root, "timeout", NULL))) {
		if (lnum(c, s, x, "timeout", &sc->timeout) < 0)
			return -1;
		if (sc->timeout <= 0)
			return lerr(c, s, x, "'timeout' must be more than 0 seconds");
	}
	if ((x = lget(s, root, "description", NULL)) && lstr(c, s, x, "description", &sc->description) < 0)
		return -1;
	if (client)
		return c->o->client_parse(c, s, root);
	return load_steps(c, s, lget(s, root, "steps", NULL));
}

static int load_any(const char *path, const char *buf, size_t len, const struct load_opts *o,
                    struct scenario **out, struct p3err *err)
{
	*out = NULL;
	struct scenario *sc = calloc(1, sizeof *sc);
	if (!sc)
		return p3err_set(err, "out of memory");
	sc->file = strdup(path);
	if (!sc->file) {
		free(sc);
		return p3err_set(err, "out of memory");
	}
	struct lctx c = {.sc = sc, .o = o, .err = err};
	struct lsrc s;
	int rc = lsrc_open(&c, &s, sc->file, buf, len);
	if (rc == 0)
		rc = parse_meta(&c, &s, lroot(&s));
	lsrc_close(&s);
	if (rc < 0) {
		scenario_free(sc);
		return -1;
	}
	*out = sc;
	return 0;
}

int load_scenario_file(const char *path, const struct load_opts *o, struct scenario **out, struct p3err *err)
{
	return load_any(path, NULL, 0, o, out, err);
}

int load_scenario_mem(const char *name, const char *buf, size_t len, const struct load_opts *o,
                      struct scenario **out, struct p3err *err)
{
	return load_any(name, buf ? buf : "", buf ? len : 0, o, out, err);
}

int load_sniff(const char *path, enum load_kind *kind, struct p3err *err)
{
	static const char *const sc_keys[] = {"id", "title", "refs", "level", "steps"};
	static const char *const tg_keys[] = {"host", "port", "tls_port", "accounts", "reset", "maildirs"};
	*kind = LOAD_KIND_UNKNOWN;
	struct scenario dummy = {0};
	struct lctx c = {.sc = &dummy, .err = err};
	struct lsrc s;
	if (lsrc_open(&c, &s, path, NULL, 0) < 0) {
		lsrc_close(&s);
		return -1;
	}
	yaml_node_t *root = lroot(&s);
	if (root && root->type == YAML_MAPPING_NODE) {
		for (size_t i = 0; i < 5 && *kind == LOAD_KIND_UNKNOWN; i++)
			if (lget(&s, root, sc_keys[i], NULL))
				*kind = LOAD_KIND_SCENARIO;
		for (size_t i = 0; i < 6 && *kind == LOAD_KIND_UNKNOWN; i++)
			if (lget(&s, root, tg_keys[i], NULL))
				*kind = LOAD_KIND_TARGET;
		if (*kind == LOAD_KIND_UNKNOWN && lget(&s, root, "command", NULL))
			*kind = LOAD_KIND_CLIENT;
	}
	lsrc_close(&s);
	return 0;
}

/* ---------- folders ---------- */

struct pathv {
	char **v;
	size_t n, cap;
};

static int pathv_add(struct pathv *pv, const char *p)
{
	if (pv->n == pv->cap) {
		size_t ncap = pv->cap ? pv->cap * 2 : 64;
		char **nv = realloc(pv->v, ncap * sizeof *nv);
		if (!nv)
			return -1;
		pv->v = nv;
		pv->cap = ncap;
	}
	pv->v[pv->n] = strdup(p);
	return pv->v[pv->n] ? (int)(pv->n++, 0) : -1;
}

static void pathv_free(struct pathv *pv)
{
	for (size_t i = 0; i < pv->n; i++)
		free(pv->v[i]);
	free(pv->v);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

static int walk(const char *dir, struct pathv *pv, int depth, bool client, struct p3err *err)
{
	if (depth > 32)
		return p3err_set(err, "%s: folders nested too deep", dir);
	DIR *d = opendir(dir);
	if (!d)
		return p3err_errno(err, "%s: cannot open folder", dir);
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[PATH_MAX];
		int w = snprintf(p, sizeof p, "%s%s%s", dir, has_suffix(dir, "/") ? "" : "/", e->d_name);
		if (w < 0 || (size_t)w >= sizeof p) {
			rc = p3err_set(err, "%s/%s: path too long", dir, e->d_name);
			break;
		}
		struct stat st;
		if (stat(p, &st) < 0)
			continue; /* a dangling link is not a scenario */
		if (S_ISDIR(st.st_mode)) {
			/* scenarios/clients/ holds client scenarios (docs/clients.md): only `client run`
			 * loads them, and it loads nothing else. */
			if (client || strcmp(e->d_name, "clients") != 0)
				rc = walk(p, pv, depth + 1, client, err);
		} else if (S_ISREG(st.st_mode) && has_suffix(e->d_name, ".yaml")) {
			if (pathv_add(pv, p) < 0)
				rc = p3err_set(err, "out of memory");
		}
	}
	closedir(d);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_sc(const void *a, const void *b)
{
	const struct scenario *x = *(const struct scenario *const *)a,
	                      *y = *(const struct scenario *const *)b;
	int c = strcmp(x->id, y->id);
	return c ? c : strcmp(x->file, y->file);
}

void scenario_list_free(struct scenario_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		scenario_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* An error in one file: with on_error it is reported and counted and loading goes on (true); without,
 * the load ends on it (false). */
static bool reported(const struct load_opts *o, const struct p3err *err, size_t *nbad)
{
	if (!o || !o->on_error)
		return false;
	o->on_error(o->ctx, err->msg);
	(*nbad)++;
	return true;
}

int load_scenarios(const char *const *paths, size_t npaths, const struct load_opts *o,
                   struct scenario_list *out, struct p3err *err)
{
	out->v = NULL;
	out->n = 0;
	struct pathv files = {0};
	size_t nbad = 0;
	int rc = 0;
	for (size_t i = 0; i < npaths && rc == 0; i++) {
		struct stat st;
		if (stat(paths[i], &st) < 0) {
			rc = p3err_errno(err, "%s", paths[i]);
		} else if (S_ISDIR(st.st_mode)) {
			struct pathv sub = {0};
			rc = walk(paths[i], &sub, 0, o && o->client_parse, err);
			if (sub.n > 1)
				qsort(sub.v, sub.n, sizeof *sub.v, cmp_str);
			for (size_t k = 0; k < sub.n && rc == 0; k++)
				if (pathv_add(&files, sub.v[k]) < 0)
					rc = p3err_set(err, "out of memory");
			pathv_free(&sub);
		} else if (pathv_add(&files, paths[i]) < 0) {
			rc = p3err_set(err, "out of memory");
		}
		if (rc < 0 && o && o->on_error) {
			o->on_error(o->ctx, err->msg);
			nbad++;
			rc = 0;
		}
	}
	if (rc < 0)
		goto fail;
	out->v = calloc(files.n ? files.n : 1, sizeof *out->v);
	if (!out->v) {
		rc = p3err_set(err, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < files.n; i++) {
		struct scenario *sc;
		if (load_scenario_file(files.v[i], o, &sc, err) < 0) {
			if (reported(o, err, &nbad))
				continue;
			rc = -1;
			goto fail;
		}
		out->v[out->n++] = sc;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmp_sc);
	for (size_t i = 1; i < out->n; i++) {
		const struct scenario *a = out->v[i - 1], *b = out->v[i];
		if (strcmp(a->id, b->id) != 0)
			continue;
		p3err_set(err, "%s:%d:%d: duplicate scenario id '%s' (also in %s)", b->file, b->id_pos.line,
		          b->id_pos.column, b->id, a->file);
		if (reported(o, err, &nbad))
			continue;
		rc = -1;
		goto fail;
	}
	if (nbad) {
		rc = p3err_set(err, "%zu error%s in scenario files", nbad, nbad == 1 ? "" : "s");
		goto fail;
	}
	pathv_free(&files);
	return 0;
fail:
	pathv_free(&files);
	scenario_list_free(out);
	return rc;
}
