/* main.c — pop3spec's entry point: picks the command (run, list, check, coverage, report, load, fuzz) and
 * maps its outcome to the exit status of docs/cli.md. The commands live in cli_*.c (load and fuzz in
 * stress/). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "runner/cli.h"
#include "runner/stress/stress.h"

int main(int argc, char **argv)
{
	/* A server that closes while we write must give a verdict, not kill the runner (RFC-agnostic). */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return cli_usage_error("no command given (run, list, check, coverage, report, load, fuzz)");
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		cli_help();
		return EXIT_PASSED;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("pop3spec %s\n", POP3SPEC_VERSION);
		return EXIT_PASSED;
	}
	/* The stress commands parse their own options (docs/stress.md); merging load summaries is theirs too.
	 */
	if (strcmp(cmd, "load") == 0)
		return stress_load_main(argc - 2, argv + 2);
	if (strcmp(cmd, "fuzz") == 0)
		return stress_fuzz_main(argc - 2, argv + 2);
	if (strcmp(cmd, "report") == 0)
		for (int k = 2; k < argc; k++)
			if (argv[k][0] != '-' && stress_is_load_json(argv[k]))
				return stress_merge_main(argc - 2, argv + 2);
	/* `pop3spec client run`: pop3spec plays the server for a client under test (docs/clients.md). */
	if (strcmp(cmd, "client") == 0) {
		if (argc < 3 || strcmp(argv[2], "run") != 0)
			return cli_usage_error(
			    "'client' needs the subcommand run: pop3spec client run --client PROFILE");
		for (int k = 3; k < argc; k++)
			if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
				cli_help();
				return EXIT_PASSED;
			}
		static struct cli cc;
		struct p3err err;
		if (cli_parse(CMD_RUN, argc - 3, argv + 3, &cc, &err) < 0)
			return cli_usage_error(err.msg);
		return cli_client_run(&cc);
	}
	static const struct {
		const char *name;
		enum cli_cmd cmd;
		int (*fn)(struct cli *);
	} cmds[] = {
	    {"run", CMD_RUN, cli_run},          {"list", CMD_LIST, cli_list},
	    {"check", CMD_CHECK, cli_check},    {"coverage", CMD_COVERAGE, cli_coverage},
	    {"report", CMD_REPORT, cli_report},
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(cmd, cmds[i].name) != 0)
			continue;
		for (int k = 2; k < argc; k++)
			if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
				cli_help();
				return EXIT_PASSED;
			}
		static struct cli c; /* large; static keeps it off the stack */
		struct p3err err;
		if (cli_parse(cmds[i].cmd, argc - 2, argv + 2, &c, &err) < 0)
			return cli_usage_error(err.msg);
		return cmds[i].fn(&c);
	}
	char msg[160];
	snprintf(msg, sizeof msg, "unknown command '%.60s' (run, list, check, coverage, report, load, fuzz)",
	         cmd);
	return cli_usage_error(msg);
}
