/* load_int.h — what the loader's files share (load.c, load_yaml.c, load_steps.c, load_expect.c), and the
 * YAML layer (load_yaml.c) target.c loads profiles with; not for other modules. */
#ifndef POP3SPEC_LOAD_INT_H
#define POP3SPEC_LOAD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>
#include "runner/load.h"

/* One parsed YAML file, with its text kept to map libyaml's marks back to octets. */
struct lsrc {
	const char *path; /* as written in messages; owned by the scenario (its file) */
	char *buf;
	size_t len;
	size_t *line_off; /* octet offset of each line's start */
	size_t nlines;
	yaml_document_t doc;
	bool have_doc;
};

/* The loading of one scenario. */
struct lctx {
	struct scenario *sc;
	const struct load_opts *o;
	struct p3err *err;
	size_t stepcap;
	size_t nexpects;
};

/* --- load_yaml.c: reading, parsing, typed access to nodes --- */

/* Read `path` (or take buf/len when buf is not NULL) and parse one YAML document into s. An empty file
 * gives a document without a root node. */
int lsrc_open(struct lctx *c, struct lsrc *s, const char *path, const char *buf, size_t len);
void lsrc_close(struct lsrc *s);

/* "path:line:col: message" at a node or a mark; always -1. */
int lerr(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int lerr_mark(struct lctx *c, const struct lsrc *s, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

yaml_node_t *lnode(const struct lsrc *s, int id);
yaml_node_t *lroot(const struct lsrc *s);
bool lnull(const yaml_node_t *n);
bool lscalar(const yaml_node_t *n);
const char *lsval(const yaml_node_t *n);       /* a scalar's text (lscalar first) */
bool lis(const yaml_node_t *n, const char *v); /* a scalar equal to v */
size_t lseqlen(const yaml_node_t *n);          /* a sequence's length */
yaml_node_t *lseqitem(const struct lsrc *s, const yaml_node_t *n, size_t i);
const char *ltype(const yaml_node_t *n); /* "a mapping", "a list", "a string", "nothing" */

/* Every key of mapping `map` must be a scalar in `allowed` (NULL-terminated), and none twice. `what`
 * names the mapping in messages ("step", "expectation"). Non-mappings are an error too. */
int lkeys(struct lctx *c, const struct lsrc *s, const yaml_node_t *map, const char *const allowed[],
          const char *what);
/* The value of `key` in `map`, or NULL; *keynode (if not NULL) gets the key's node. */
yaml_node_t *lget(const struct lsrc *s, const yaml_node_t *map, const char *key, yaml_node_t **keynode);

/* Typed values; `what` is the key, for messages. */
int lstr(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, char **out);
int lsstr(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, struct sstr *out);
int lbool(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, bool *out);
int lnum(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, double *out);
/* A non-negative integer, or a string with ${...} to be computed when the scenario runs. */
int lcount(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, struct sstr *out);
/* A list of strings (a list is required, even for one). */
int lstrlist(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, char ***out,
             size_t *nout);
/* A POSIX extended regex (validated with regcomp; ${...} parts stand for a plain word). */
int lregex(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, char **out);
/* A requirement id: its form, and its presence in the catalog when one was given. */
int lreqid(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, char **out);
/* A name for a capture or session: letters, digits, '_' and '-', starting with a letter or '_'. */
int lname(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *what, char **out);
/* Whether ${...} references in a string are closed; the message names the first that is not. */
int linterp_ok(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, const char *str, size_t len);

/* --- load_expect.c --- */

/* The `expect:` of step st written at node n: one expectation, or a list for pipelined responses. */
int load_expect(struct lctx *c, const struct lsrc *s, const yaml_node_t *n, struct step *st);

/* --- load_steps.c --- */

/* Append the steps of sequence `seq` to c->sc. */
int load_steps(struct lctx *c, const struct lsrc *s, const yaml_node_t *seq);

#endif
