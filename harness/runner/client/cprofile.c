/* cprofile.c — client profiles (fixtures/clients/NAME.yaml, docs/clients.md): the command line, its modes,
 * environment, files, delivery and state, loaded with the scenario loader's YAML helpers so errors read
 * "file:line:column: what". */
#include "runner/client/client.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "runner/load_int.h"

static int strlist(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, char ***v,
                   size_t *nv)
{
	if (lstrlist(c, s, n, what, v, nv) < 0)
		return -1;
	if (*nv > CLIENT_MAX_ARGS)
		return lerr(c, s, n, "'%s' has more than %d words", what, CLIENT_MAX_ARGS);
	return 0;
}

static int env_map(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, struct cenv *env, size_t *nenv)
{
	if (n->type != YAML_MAPPING_NODE)
		return lerr(c, s, n, "'env' must be a mapping of names to values, found %s", ltype(n));
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		if (*nenv >= CLIENT_MAX_ENV)
			return lerr(c, s, n, "more than %d variables in 'env'", CLIENT_MAX_ENV);
		struct cenv *e = &env[(*nenv)++];
		if (lstr(c, s, lnode(s, p->key), "env", &e->name) < 0 ||
		    lstr(c, s, lnode(s, p->value), "env", &e->value) < 0)
			return -1;
	}
	return 0;
}

static int files_map(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, struct cfile *f, size_t *nf)
{
	if (n->type != YAML_MAPPING_NODE)
		return lerr(c, s, n, "'files' must be a mapping of paths to {mode, content}, found %s", ltype(n));
	static const char *const keys[] = { "mode", "content", NULL };
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		if (*nf >= CLIENT_MAX_FILES)
			return lerr(c, s, n, "more than %d entries in 'files'", CLIENT_MAX_FILES);
		struct cfile *e = &f[(*nf)++];
		e->mode = 0600;
		yaml_node_t *v = lnode(s, p->value);
		if (lstr(c, s, lnode(s, p->key), "files", &e->path) < 0)
			return -1;
		if (e->path[0] == '/' || strstr(e->path, ".."))
			return lerr(c, s, lnode(s, p->key), "a file of 'files' is relative to {workdir}, without '..'");
		if (lscalar(v)) {
			if (lstr(c, s, v, "content", &e->content) < 0)
				return -1;
			continue;
		}
		if (lkeys(c, s, v, keys, "file") < 0)
			return -1;
		yaml_node_t *x = lget(s, v, "content", NULL);
		if (!x)
			return lerr(c, s, v, "missing 'content'");
		if (lstr(c, s, x, "content", &e->content) < 0)
			return -1;
		if ((x = lget(s, v, "mode", NULL))) {
			char *m;
			if (lstr(c, s, x, "mode", &m) < 0)
				return -1;
			char *end;
			long mode = strtol(m, &end, 8);
			bool bad = !m[0] || *end || mode < 0 || mode > 0777;
			free(m);
			if (bad)
				return lerr(c, s, x, "'mode' must be octal permissions like \"0600\"");
			e->mode = (int)mode;
		}
	}
	return 0;
}

static int parse_mode(struct lctx *c, const struct lsrc *s, const yaml_node_t *k, const yaml_node_t *v,
                      struct cmode *m)
{
	if (lstr(c, s, k, "modes", &m->name) < 0)
		return -1;
	if (lnull(v))
		return 0;
	if (v->type == YAML_SEQUENCE_NODE)
		return strlist(c, s, v, m->name, &m->args, &m->nargs);
	static const char *const keys[] = { "command", "args", "env", "files", NULL };
	if (lkeys(c, s, v, keys, "mode") < 0)
		return -1;
	yaml_node_t *x;
	if ((x = lget(s, v, "command", NULL)) && strlist(c, s, x, "command", &m->command, &m->ncommand) < 0)
		return -1;
	if ((x = lget(s, v, "args", NULL)) && strlist(c, s, x, "args", &m->args, &m->nargs) < 0)
		return -1;
	if ((x = lget(s, v, "env", NULL)) && env_map(c, s, x, m->env, &m->nenv) < 0)
		return -1;
	if ((x = lget(s, v, "files", NULL)) && files_map(c, s, x, m->files, &m->nfiles) < 0)
		return -1;
	return 0;
}

static int parse_delivery(struct lctx *c, const struct lsrc *s, const yaml_node_t *v, struct cprofile *p)
{
	static const char *const keys[] = { "kind", "path", "adds_headers", "messages", NULL };
	if (lkeys(c, s, v, keys, "delivery") < 0)
		return -1;
	yaml_node_t *x = lget(s, v, "kind", NULL);
	char *kind = NULL;
	if (!x || lstr(c, s, x, "kind", &kind) < 0)
		return x ? -1 : lerr(c, s, v, "missing 'kind' (maildir, mbox, stdout or none)");
	static const char *const kinds[] = { "none", "maildir", "mbox", "stdout" };
	int k = -1;
	for (int i = 0; i < 4; i++)
		if (strcmp(kind, kinds[i]) == 0)
			k = i;
	free(kind);
	if (k < 0)
		return lerr(c, s, x, "bad 'kind'; expected maildir, mbox, stdout or none");
	p->delivery = (enum delivery_kind)k;
	if ((x = lget(s, v, "path", NULL)) && lstr(c, s, x, "path", &p->delivery_path) < 0)
		return -1;
	if ((p->delivery == DELIVERY_MAILDIR || p->delivery == DELIVERY_MBOX) && !p->delivery_path)
		return lerr(c, s, v, "a %s delivery needs 'path'", p->delivery == DELIVERY_MAILDIR ? "maildir" : "mbox");
	if ((x = lget(s, v, "adds_headers", NULL))) {
		char **h;
		size_t nh;
		if (lstrlist(c, s, x, "adds_headers", &h, &nh) < 0)
			return -1;
		for (size_t i = 0; i < nh; i++) {
			if (p->nadds_headers < CLIENT_MAX_HEADERS)
				p->adds_headers[p->nadds_headers++] = h[i];
			else
				free(h[i]);
		}
		free(h);
	}
	if ((x = lget(s, v, "messages", NULL))) {
		double d;
		if (lnum(c, s, x, "messages", &d) < 0)
			return -1;
		if (d < 0 || d > 100000)
			return lerr(c, s, x, "'messages' must be 0 (all) or a count");
		p->delivery_messages = (size_t)d;
	}
	return 0;
}

static int parse_profile(struct lctx *c, const struct lsrc *s, const yaml_node_t *root, struct cprofile *p)
{
	static const char *const keys[] = { "name", "command", "modes", "env", "files", "delivery", "state",
		                                "deletes", "timeout", "description", "success_exit", "mkdirs", NULL };
	if (!root)
		return p3err_set(c->err, "%s:1:1: empty file; a client profile needs name and command", s->path);
	if (lkeys(c, s, root, keys, "a client profile") < 0)
		return -1;
	yaml_node_t *x = lget(s, root, "name", NULL);
	if (!x)
		return lerr(c, s, root, "missing required key 'name'");
	if (lstr(c, s, x, "name", &p->name) < 0)
		return -1;
	if (!(x = lget(s, root, "command", NULL)))
		return lerr(c, s, root, "missing required key 'command' (a list: the program and its arguments)");
	if (strlist(c, s, x, "command", &p->command, &p->ncommand) < 0)
		return -1;
	if (p->ncommand == 0)
		return lerr(c, s, x, "'command' is empty");
	if ((x = lget(s, root, "modes", NULL))) {
		if (x->type != YAML_MAPPING_NODE)
			return lerr(c, s, x, "'modes' must be a mapping of mode names, found %s", ltype(x));
		for (yaml_node_pair_t *q = x->data.mapping.pairs.start; q < x->data.mapping.pairs.top; q++) {
			if (p->nmodes >= CLIENT_MAX_MODES)
				return lerr(c, s, x, "more than %d modes", CLIENT_MAX_MODES);
			if (parse_mode(c, s, lnode(s, q->key), lnode(s, q->value), &p->modes[p->nmodes++]) < 0)
				return -1;
		}
	}
	if ((x = lget(s, root, "env", NULL)) && env_map(c, s, x, p->env, &p->nenv) < 0)
		return -1;
	if ((x = lget(s, root, "files", NULL)) && files_map(c, s, x, p->files, &p->nfiles) < 0)
		return -1;
	if ((x = lget(s, root, "delivery", NULL)) && parse_delivery(c, s, x, p) < 0)
		return -1;
	if ((x = lget(s, root, "state", NULL)) && lstr(c, s, x, "state", &p->state) < 0)
		return -1;
	if ((x = lget(s, root, "deletes", NULL)) && lbool(c, s, x, "deletes", &p->deletes) < 0)
		return -1;
	if ((x = lget(s, root, "timeout", NULL))) {
		if (lnum(c, s, x, "timeout", &p->timeout) < 0)
			return -1;
		if (p->timeout <= 0 || p->timeout > 3600)
			return lerr(c, s, x, "'timeout' must be seconds, more than 0");
	}
	if ((x = lget(s, root, "success_exit", NULL))) {
		if (x->type != YAML_SEQUENCE_NODE)
			return lerr(c, s, x, "'success_exit' must be a list of exit statuses, found %s", ltype(x));
		size_t cnt = (size_t)(x->data.sequence.items.top - x->data.sequence.items.start);
		if (cnt == 0 || cnt > CLIENT_MAX_SUCCESS)
			return lerr(c, s, x, "'success_exit' needs 1 to %d exit statuses", CLIENT_MAX_SUCCESS);
		for (size_t i = 0; i < cnt; i++) {
			yaml_node_t *it = lnode(s, x->data.sequence.items.start[i]);
			double d;
			if (lnum(c, s, it, "success_exit", &d) < 0)
				return -1;
			if (d < 0 || d > 255 || d != (double)(int)d)
				return lerr(c, s, it, "an exit status is a whole number from 0 to 255");
			p->success_exit[p->nsuccess_exit++] = (int)d;
		}
	}
	if ((x = lget(s, root, "mkdirs", NULL))) {
		if (lstrlist(c, s, x, "mkdirs", &p->mkdirs, &p->nmkdirs) < 0)
			return -1;
		if (p->nmkdirs > CLIENT_MAX_MKDIRS)
			return lerr(c, s, x, "more than %d folders in 'mkdirs'", CLIENT_MAX_MKDIRS);
	}
	return 0;
}

bool cprofile_success(const struct cprofile *p, int st)
{
	if (!p->nsuccess_exit)
		return st == 0;
	for (size_t i = 0; i < p->nsuccess_exit; i++)
		if (p->success_exit[i] == st)
			return true;
	return false;
}

int cprofile_load(const char *path, struct cprofile *p, struct p3err *err)
{
	memset(p, 0, sizeof *p);
	struct lctx c = { .err = err };
	char real[PATH_MAX];
	p->file = strdup(path);
	if (!p->file || !realpath(path, real)) {
		free(p->file);
		p->file = NULL;
		return p3err_errno(err, "%s", path);
	}
	char *slash = strrchr(real, '/');
	if (slash)
		*slash = '\0';
	p->dir = strdup(real);
	struct lsrc s;
	int rc = lsrc_open(&c, &s, p->file, NULL, 0);
	if (rc == 0)
		rc = parse_profile(&c, &s, lroot(&s), p);
	lsrc_close(&s);
	if (rc < 0)
		cprofile_free(p);
	return rc;
}

static void strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_env_files(struct cenv *e, size_t ne, struct cfile *f, size_t nf)
{
	for (size_t i = 0; i < ne; i++) {
		free(e[i].name);
		free(e[i].value);
	}
	for (size_t i = 0; i < nf; i++) {
		free(f[i].path);
		free(f[i].content);
	}
}

void cprofile_free(struct cprofile *p)
{
	free(p->file);
	free(p->dir);
	free(p->name);
	strv(p->command, p->ncommand);
	for (size_t i = 0; i < p->nmodes; i++) {
		struct cmode *m = &p->modes[i];
		free(m->name);
		strv(m->command, m->ncommand);
		strv(m->args, m->nargs);
		free_env_files(m->env, m->nenv, m->files, m->nfiles);
	}
	free_env_files(p->env, p->nenv, p->files, p->nfiles);
	free(p->delivery_path);
	for (size_t i = 0; i < p->nadds_headers; i++)
		free(p->adds_headers[i]);
	free(p->state);
	strv(p->mkdirs, p->nmkdirs);
	memset(p, 0, sizeof *p);
}

const struct cmode *cprofile_mode(const struct cprofile *p, const char *name)
{
	for (size_t i = 0; i < p->nmodes; i++)
		if (strcmp(p->modes[i].name, name) == 0)
			return &p->modes[i];
	return NULL;
}
