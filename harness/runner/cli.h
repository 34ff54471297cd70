/* cli.h — pop3spec's command line (docs/cli.md): the parsed options every command shares, and the
 * commands main() dispatches to. Each command returns the process exit status. */
#ifndef POP3SPEC_CLI_H
#define POP3SPEC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/err.h"
#include "runner/load.h"
#include "runner/requirements.h"

/* Exit statuses (a contract: docs/cli.md). */
#define EXIT_PASSED 0 /* nothing failed (skips allowed) */
#define EXIT_FAILED 1 /* a scenario failed or errored, or warned under --strict */
#define EXIT_USAGE  2 /* usage, target or scenario-file errors with nothing run; or nothing selected */
/* A run stopped by a signal exits 128 + its number: 130 SIGINT, 143 SIGTERM (the shell's convention). */

#define CLI_MAX_LIST 256 /* --filter, --tag, --target, paths: more than any sane command line */

enum cli_cmd { CMD_RUN, CMD_LIST, CMD_CHECK, CMD_COVERAGE, CMD_REPORT };

struct cli {
	enum cli_cmd cmd;
	const char *paths[CLI_MAX_LIST];
	size_t npaths;
	const char *targets[CLI_MAX_LIST];
	size_t ntargets;
	bool reference;
	const char *filters[CLI_MAX_LIST];
	size_t nfilters;
	const char *tags[CLI_MAX_LIST];
	size_t ntags;
	int jobs; /* -j N; 0: from the target's accounts (exec_default_jobs) */
	const char *json, *junit, *html, *baseline;
	const char *requirements; /* --requirements FILE */
	const char *uncovered;    /* --uncovered FILE (coverage) */
	const char *fixtures;     /* --fixtures DIR */
	bool strict, all, merge, compare;
	bool redact;              /* --redact: the accounts' secrets out of every report */
	const char *rerun_failed; /* --rerun-failed REPORT.json */
	const char *client;       /* --client PROFILE: `pop3spec client run` (docs/clients.md) */
	bool allow_partial;       /* report --merge --allow-partial */
	double timeout;           /* --timeout SECONDS; 5 */
	double login_timeout;     /* --login-timeout SECONDS; 0: the target's login_timeout */
	int shard_index, shard_count;
	int verbosity;      /* 0 -q, 1 normal, 2 -v */
	char options[1024]; /* the options as given, for run_info.options */
};

/* Parse argv[0..argc) (the words after the command name) into c. Errors are usage errors. */
int cli_parse(enum cli_cmd cmd, int argc, char **argv, struct cli *c, struct p3err *err);
/* Print "pop3spec: msg" and the hint to run --help; returns EXIT_USAGE. */
int cli_usage_error(const char *msg);
/* Whether a report can be written at path ("-" always can): an existing file must be writable and not a
 * folder; a new one is created and removed again. -1 with err saying why not. */
int cli_check_output(const char *path, struct p3err *err);
/* The reports of c going to standard output ("-"): how many of --json, --junit, --html. */
int cli_reports_on_stdout(const struct cli *c);
void cli_help(void);

/* The default scenario folder: ./scenarios if it exists, else the installed suite's (datadir()/scenarios). */
const char *cli_default_scenarios(void);
/* Load the catalog: --requirements (must load), else the default place (a failure there is reported and
 * NULL returned, so commands that can do without it go on). *path is set to the file used. `required`
 * makes a missing catalog an error too. Returns 0, or -1 after printing the error. */
int cli_load_reqs(const struct cli *c, bool required, struct reqs *r, bool *have, char *path,
                  size_t pathsize);
/* Load the scenarios of c->paths (or the default folder), printing every error; -1 when any. */
int cli_load_scenarios(const struct cli *c, const struct reqs *r, struct scenario_list *l);
/* Whether every path of c has a component `clients`: list and coverage then load client scenarios
 * (docs/clients.md) with scenarios/clients/REQUIREMENTS.md. */
bool cli_client_paths(const struct cli *c);

/* What `run` and `client run` share (cli_common.c). */
struct console;
struct run;
/* Select from l by --filter, --tag, --all, --shard and, when only is not NULL, those ids; prints the
 * error. 0 or -1. */
int cli_select(const struct cli *c, const struct scenario_list *l, const char **only, size_t nonly,
               struct scenario ***sel, size_t *nsel);
/* Read --baseline, sorted for applying result by result; prints the error. 0 or -1. */
int cli_load_baseline(const struct cli *c, struct run *b);
/* The console at the verbosity of -q/-v; on stderr when a report goes to stdout. */
void cli_console_init(const struct cli *c, struct console *con, size_t n);
/* "baseline FILE: N results differ", unless -q. */
void cli_baseline_said(const struct cli *c, const struct console *con, size_t diffs);
/* --json, --junit and --html of run (several: one JSON/JUnit file per target, the HTML is the
 * comparison's). 0, or -1 after saying why. */
int cli_write_reports(const struct cli *c, const struct run *run, const char *reqmd, bool several);
/* EXIT_FAILED when run failed, errored or (strict) warned; else EXIT_PASSED. */
int cli_exit_status(const struct run *run, bool strict);
double cli_now_ms(void);
/* Now as an ISO 8601 UTC time, allocated. */
char *cli_iso_now(void);
bool cli_is_dir(const char *p);
/* The suite's version: the first line of VERSION in the scenario folder or above it; "unknown". */
char *cli_suite_version(const char *path);
/* --fixtures, else a fixtures/ folder at or above the scenarios, else ./fixtures, else the installed one. */
const char *cli_fixtures_dir(const struct cli *c, const char *scen_path, char *buf, size_t size);

int cli_run(struct cli *c);
int cli_list(struct cli *c);
int cli_check(struct cli *c);
int cli_coverage(struct cli *c);
int cli_report(struct cli *c);
/* `pop3spec client run` (runner/client/ccli.c). */
int cli_client_run(struct cli *c);

#endif
