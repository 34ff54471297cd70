/* load.h — scenario files (YAML, docs/scenario-language.md) into struct scenario; directories of them into a
 * sorted list. Every error is "file:line:column: what is wrong" (1-based), in the caller's p3err. */
#ifndef POP3SPEC_LOAD_H
#define POP3SPEC_LOAD_H

#include <stddef.h>
#include "lib/err.h"
#include "runner/requirements.h"
#include "runner/scenario.h"

/* Largest scenario file accepted; scenarios build long lines with ${repeat(...)} instead. */
#define LOAD_MAX_FILE (4L * 1024 * 1024)
/* one_of inside one_of. */
#define LOAD_MAX_ONE_OF_DEPTH 8
/* Steps and expectations in one scenario, YAML aliases expanded: bounds the work a hostile
 * file with aliases of aliases can cause. */
#define LOAD_MAX_STEPS   10000
#define LOAD_MAX_EXPECTS 20000

struct lctx;
struct lsrc;
struct load_opts {
	/* When set, every requirement id (refs, expectation and assert `ref`) must be a row of it; when NULL,
	 * ids are checked for their form only. */
	const struct reqs *reqs;
	/* load_scenarios: when set, a bad file is reported here and loading goes on with the next, so one run
	 * of `check` shows every error; load_scenarios still returns -1 at the end. */
	void (*on_error)(void *ctx, const char *msg);
	void *ctx;
	/* Client scenarios (docs/clients.md, runner/client): when set, a scenario has no steps; its keys
	 * modes/runs/server/expect are parsed by this (root is the yaml_node_t of the file's mapping), which
	 * sets sc->client. A folder walk then also enters folders named `clients`, which it skips otherwise.
	 */
	int (*client_parse)(struct lctx *c, const struct lsrc *s, const void *root);
};

/* Load one scenario file. */
int load_scenario_file(const char *path, const struct load_opts *o, struct scenario **out, struct p3err *err);
/* The same from memory; `name` stands for the path in messages. */
int load_scenario_mem(const char *name, const char *buf, size_t len, const struct load_opts *o,
                      struct scenario **out, struct p3err *err);

/* What a YAML file is, from its keys: for `check FILE...`. */
enum load_kind {
	LOAD_KIND_UNKNOWN,
	LOAD_KIND_SCENARIO, /* a mapping with id/title/refs/level/steps */
	LOAD_KIND_TARGET,   /* a mapping with name/host/port/tls_port/accounts (target.h) */
	LOAD_KIND_CLIENT    /* a client profile: a mapping with command (docs/clients.md) */
};
/* Returns 0 and sets *kind, or -1 when the file cannot be read or is not YAML (with the message). */
int load_sniff(const char *path, enum load_kind *kind, struct p3err *err);

struct scenario_list {
	struct scenario **v;
	size_t n;
};

/* Load every path: a file is one scenario; a folder is searched recursively for *.yaml files, skipping
 * names starting with '.'. The list is sorted by id; two scenarios with one id
 * are an error. On error nothing is returned (out is empty). */
int load_scenarios(const char *const *paths, size_t npaths, const struct load_opts *o,
                   struct scenario_list *out, struct p3err *err);
void scenario_list_free(struct scenario_list *l);

#endif
