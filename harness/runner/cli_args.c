/* cli_args.c — parsing pop3spec's options (GNU style: --opt VALUE, --opt=VALUE, -j N, -jN, -qv, --), the
 * help text, and the loading steps several commands share. */
#include "runner/cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/client/client.h"
#include "runner/datadir.h"
#include "runner/plan.h"

#define R (1u << CMD_RUN)
#define L (1u << CMD_LIST)
#define K (1u << CMD_CHECK)
#define C (1u << CMD_COVERAGE)
#define P (1u << CMD_REPORT)

enum opt_id {
	O_TARGET,
	O_REFERENCE,
	O_FILTER,
	O_TAG,
	O_JOBS,
	O_JSON,
	O_JUNIT,
	O_HTML,
	O_STRICT,
	O_TIMEOUT,
	O_BASELINE,
	O_SHARD,
	O_ALL,
	O_QUIET,
	O_VERBOSE,
	O_REQS,
	O_UNCOVERED,
	O_FIXTURES,
	O_MERGE,
	O_COMPARE,
	O_REDACT,
	O_RERUN_FAILED,
	O_ALLOW_PARTIAL,
	O_LOGIN_TIMEOUT,
	O_CLIENT
};

static const struct opt {
	const char *name;
	char short_name;
	bool arg;
	unsigned cmds;
	enum opt_id id;
} opts[] = {
    {"target", 0, true, R, O_TARGET},
    {"reference", 0, false, R, O_REFERENCE},
    {"filter", 0, true, R | L, O_FILTER},
    {"tag", 0, true, R | L, O_TAG},
    {"jobs", 'j', true, R, O_JOBS},
    {"json", 0, true, R | P, O_JSON},
    {"junit", 0, true, R | P, O_JUNIT},
    {"html", 0, true, R | P, O_HTML},
    {"strict", 0, false, R | P, O_STRICT},
    {"timeout", 0, true, R, O_TIMEOUT},
    {"baseline", 0, true, R, O_BASELINE},
    {"shard", 0, true, R | L, O_SHARD},
    {"all", 0, false, R | L, O_ALL},
    {"quiet", 'q', false, R, O_QUIET},
    {"verbose", 'v', false, R, O_VERBOSE},
    {"requirements", 0, true, R | L | K | C | P, O_REQS},
    {"uncovered", 0, true, C, O_UNCOVERED},
    {"fixtures", 0, true, R, O_FIXTURES},
    {"merge", 0, false, P, O_MERGE},
    {"compare", 0, false, P, O_COMPARE},
    {"redact", 0, false, R, O_REDACT},
    {"rerun-failed", 0, true, R, O_RERUN_FAILED},
    {"allow-partial", 0, false, P, O_ALLOW_PARTIAL},
    {"login-timeout", 0, true, R, O_LOGIN_TIMEOUT},
    {"client", 0, true, R, O_CLIENT}, /* pop3spec client run (docs/clients.md) */
};

static const char *const cmd_names[] = {"run", "list", "check", "coverage", "report"};

int cli_usage_error(const char *msg)
{
	fprintf(stderr, "pop3spec: %s\nTry 'pop3spec --help'.\n", msg);
	return EXIT_USAGE;
}

void cli_help(void)
{
	fputs(
	    "usage: pop3spec run [PATH...] (--target FILE | --reference) [--filter GLOB]... [--tag TAG]...\n"
	    "                    [-j N] [--json FILE] [--junit FILE] [--html FILE] [--strict]\n"
	    "                    [--timeout SECONDS] [--baseline FILE] [--shard I/N] [--all] [-q] [-v]\n"
	    "                    [--requirements FILE] [--fixtures DIR] [--redact]\n"
	    "                    [--rerun-failed REPORT.json] [--login-timeout SECONDS]\n"
	    "       pop3spec client run [PATH...] --client PROFILE [the run options]   (docs/clients.md)\n"
	    "       pop3spec list [PATH...] [--filter GLOB]... [--tag TAG]... [--shard I/N] [--all]\n"
	    "       pop3spec check [--requirements FILE] FILE...\n"
	    "       pop3spec coverage [PATH...] [--requirements FILE] [--uncovered FILE]\n"
	    "       pop3spec report --merge A.json B.json... [--html FILE] [--junit FILE] [--json FILE] "
	    "[--strict]\n"
	    "                       [--allow-partial]\n"
	    "       pop3spec report --compare A.json B.json... --html FILE\n"
	    "       pop3spec load (--target FILE | --reference) [--clients N] [--duration S | --sessions N] "
	    "...\n"
	    "       pop3spec fuzz (--target FILE | --reference) [--duration S] [--cases N] [--seed N] ...\n"
	    "       pop3spec --version | --help\n"
	    "\n"
	    "PATH defaults to ./scenarios, else the installed suite. --target may repeat: each target runs "
	    "and\n"
	    "--html writes one comparison. Scenarios tagged slow or config run only with --all, a --tag "
	    "naming\n"
	    "the tag, or a --filter that is exactly their id. FILE '-' is standard output (one report at "
	    "most;\n"
	    "the console then goes to standard error).\n"
	    "Exit status: 0 nothing failed; 1 a scenario failed or errored (or warned, with --strict);\n"
	    "2 usage, target or scenario-file errors with nothing run, or no scenario selected;\n"
	    "130/143 stopped by SIGINT/SIGTERM (the reports then hold what ran, marked incomplete).\n"
	    "'pop3spec load --help' and 'pop3spec fuzz --help' list their options (docs/stress.md).\n"
	    "See pop3spec(1) and docs/cli.md.\n",
	    stdout);
}

int cli_check_output(const char *path, struct p3err *err)
{
	struct stat st;
	if (strcmp(path, "-") == 0)
		return 0;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return p3err_set(err, "cannot write the report %s: it is a folder", path);
		if (access(path, W_OK) != 0)
			return p3err_set(err, "cannot write the report %s: %s", path, strerror(errno));
		return 0;
	}
	/* Create it and remove it again: the only test that knows what the kernel will allow. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return p3err_set(err, "cannot write the report %s: %s", path, strerror(errno));
	close(fd);
	unlink(path);
	return 0;
}

int cli_reports_on_stdout(const struct cli *c)
{
	return (c->json && strcmp(c->json, "-") == 0) + (c->junit && strcmp(c->junit, "-") == 0) +
	       (c->html && strcmp(c->html, "-") == 0);
}

static int add(const char **v, size_t *n, const char *x, const char *what, struct p3err *err)
{
	if (*n >= CLI_MAX_LIST)
		return p3err_set(err, "too many %s (at most %d)", what, CLI_MAX_LIST);
	v[(*n)++] = x;
	return 0;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int apply(struct cli *c, const struct opt *o, const char *val, struct p3err *err)
{
	long n;
	char *end;
	switch (o->id) {
	case O_TARGET:
		return add(c->targets, &c->ntargets, val, "--target", err);
	case O_REFERENCE:
		c->reference = true;
		return 0;
	case O_FILTER:
		return add(c->filters, &c->nfilters, val, "--filter", err);
	case O_TAG:
		return add(c->tags, &c->ntags, val, "--tag", err);
	case O_JOBS:
		if (parse_int(val, 1, 256, &n) < 0)
			return p3err_set(err, "bad -j '%s'; expected a number of workers from 1 to 256", val);
		c->jobs = (int)n;
		return 0;
	case O_JSON:
		c->json = val;
		return 0;
	case O_JUNIT:
		c->junit = val;
		return 0;
	case O_HTML:
		c->html = val;
		return 0;
	case O_STRICT:
		c->strict = true;
		return 0;
	case O_TIMEOUT:
		errno = 0;
		c->timeout = strtod(val, &end);
		if (end == val || *end || errno || !isfinite(c->timeout) || c->timeout <= 0 ||
		    c->timeout > 86400)
			return p3err_set(err, "bad --timeout '%s'; expected seconds, more than 0", val);
		return 0;
	case O_LOGIN_TIMEOUT:
		errno = 0;
		c->login_timeout = strtod(val, &end);
		if (end == val || *end || errno || !isfinite(c->login_timeout) || c->login_timeout <= 0 ||
		    c->login_timeout > 86400)
			return p3err_set(err, "bad --login-timeout '%s'; expected seconds, more than 0", val);
		return 0;
	case O_BASELINE:
		c->baseline = val;
		return 0;
	case O_SHARD:
		return plan_parse_shard(val, &c->shard_index, &c->shard_count, err);
	case O_ALL:
		c->all = true;
		return 0;
	case O_QUIET:
		c->verbosity = 0;
		return 0;
	case O_VERBOSE:
		c->verbosity = 2;
		return 0;
	case O_REQS:
		c->requirements = val;
		return 0;
	case O_UNCOVERED:
		c->uncovered = val;
		return 0;
	case O_FIXTURES:
		c->fixtures = val;
		return 0;
	case O_MERGE:
		c->merge = true;
		return 0;
	case O_COMPARE:
		c->compare = true;
		return 0;
	case O_REDACT:
		c->redact = true;
		return 0;
	case O_RERUN_FAILED:
		c->rerun_failed = val;
		return 0;
	case O_ALLOW_PARTIAL:
		c->allow_partial = true;
		return 0;
	case O_CLIENT:
		c->client = val;
		return 0;
	}
	return 0;
}

static const struct opt *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static const struct opt *find_short(char ch)
{
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (opts[i].short_name == ch)
			return &opts[i];
	return NULL;
}

static void record(struct cli *c, const char *word)
{
	size_t off = strlen(c->options);
	bool quote = word[0] == '\0' || strpbrk(word, " \t'\"\\$*?[") != NULL;
	snprintf(c->options + off, sizeof c->options - off, "%s%s%s%s", off ? " " : "", quote ? "'" : "",
	         word, quote ? "'" : "");
}

static int allowed(struct cli *c, const struct opt *o, struct p3err *err)
{
	if (o->cmds & (1u << c->cmd))
		return 0;
	return p3err_set(err, "option --%s does not go with '%s'", o->name, cmd_names[c->cmd]);
}

int cli_parse(enum cli_cmd cmd, int argc, char **argv, struct cli *c, struct p3err *err)
{
	memset(c, 0, sizeof *c);
	c->cmd = cmd;
	c->jobs = 0; /* one worker per two accounts of the target, up to 8 (exec_default_jobs) */
	c->timeout = 5;
	c->verbosity = 1;
	bool only_paths = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		record(c, a);
		if (only_paths || a[0] != '-' || strcmp(a, "-") == 0) {
			if (add(c->paths, &c->npaths, a, "paths", err) < 0)
				return -1;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_paths = true;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			const struct opt *o = find_long(a + 2, len);
			if (!o)
				return p3err_set(err, "unknown option '%.*s'", (int)len + 2, a);
			if (allowed(c, o, err) < 0)
				return -1;
			const char *val = NULL;
			if (o->arg) {
				if (eq) {
					val = eq + 1;
				} else if (i + 1 < argc) {
					val = argv[++i];
					record(c, val);
				} else {
					return p3err_set(err, "option --%s needs a value", o->name);
				}
			} else if (eq) {
				return p3err_set(err, "option --%s takes no value", o->name);
			}
			if (apply(c, o, val, err) < 0)
				return -1;
			continue;
		}
		/* A cluster of short options: -qv, -j4, -j 4. */
		for (const char *p = a + 1; *p; p++) {
			const struct opt *o = find_short(*p);
			if (!o)
				return p3err_set(err, "unknown option '-%c'", *p);
			if (allowed(c, o, err) < 0)
				return -1;
			if (!o->arg) {
				if (apply(c, o, NULL, err) < 0)
					return -1;
				continue;
			}
			const char *val = p[1] ? p + 1 : NULL;
			if (!val) {
				if (i + 1 >= argc)
					return p3err_set(err, "option -%c needs a value", *p);
				val = argv[++i];
				record(c, val);
			}
			if (apply(c, o, val, err) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

const char *cli_default_scenarios(void)
{
	struct stat st;
	if (stat("scenarios", &st) == 0 && S_ISDIR(st.st_mode))
		return "scenarios";
	static char installed[PATH_MAX + 16];
	snprintf(installed, sizeof installed, "%s/scenarios", datadir());
	return installed;
}

/* Whether the paths name client scenarios (docs/clients.md): every one has a component `clients`, so
`list` and `coverage` of scenarios/clients load them as such, with their own catalog. */
bool cli_client_paths(const struct cli *c)
{
	if (c->npaths == 0)
		return false;
	for (size_t i = 0; i < c->npaths; i++) {
		const char *p = c->paths[i], *h = p;
		bool found = false;
		while ((h = strstr(h, "clients")) != NULL) {
			found |= (h == p || h[-1] == '/') && (h[7] == '\0' || h[7] == '/');
			h += 7;
		}
		if (!found)
			return false;
	}
	return true;
}

int cli_load_reqs(const struct cli *c, bool required, struct reqs *r, bool *have, char *path, size_t pathsize)
{
	struct p3err err;
	*have = false;
	path[0] = '\0';
	char cpath[PATH_MAX];
	struct stat st;
	const char *h = cli_client_paths(c) ? strstr(c->paths[0], "clients") : NULL;
	if (h)
		snprintf(cpath, sizeof cpath, "%.*sclients/REQUIREMENTS.md", (int)(h - c->paths[0]),
		         c->paths[0]);
	if (c->requirements) {
		snprintf(path, pathsize, "%s", c->requirements);
	} else if (h && stat(cpath, &st) == 0) {
		snprintf(path, pathsize, "%s", cpath);
	} else if (!reqs_default_path(path, pathsize)) {
		if (required) {
			fprintf(stderr,
			        "pop3spec: cannot find REQUIREMENTS.md (give --requirements FILE or set "
			        "POP3SPEC_REQUIREMENTS)\n");
			return -1;
		}
		return 0;
	}
	if (reqs_load(path, r, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		/* An explicit catalog that does not load is an error; a guessed one only when it is needed.
		 */
		if (c->requirements || getenv("POP3SPEC_REQUIREMENTS") || required)
			return -1;
		path[0] = '\0';
		return 0;
	}
	*have = true;
	return 0;
}

static void print_error(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

int cli_load_scenarios(const struct cli *c, const struct reqs *r, struct scenario_list *l)
{
	const char *def[1] = {cli_default_scenarios()};
	const char *const *paths = c->npaths ? c->paths : def;
	size_t n = c->npaths ? c->npaths : 1;
	/* `run` never runs a client scenario as a server one (it has no steps: it would pass). */
	struct load_opts o = {.reqs = r,
	                      .on_error = print_error,
	                      .client_parse = c->cmd != CMD_RUN && cli_client_paths(c) ? cscen_parse : NULL};
	struct p3err err;
	if (load_scenarios(paths, n, &o, l, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		return -1;
	}
	return 0;
}
