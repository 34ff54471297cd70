/* cli_common.c — what `pop3spec run` and `pop3spec client run` share: the selection from the run options,
 * the baseline, the console, the reports and the exit status, and the run's facts (clock, start time,
 * suite version, fixtures folder). */
#include "runner/cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "runner/datadir.h"
#include "runner/plan.h"
#include "runner/report/report.h"

double cli_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

bool cli_is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The first of PATH/NAME, PATH/../NAME, ... (up to 4 levels) that exists as a file (dir=false) or folder. */
static bool find_up(const char *path, const char *name, bool dir, char *out, size_t size)
{
	char abs[PATH_MAX];
	if (!realpath(path, abs))
		return false;
	if (!cli_is_dir(abs)) {
		char *slash = strrchr(abs, '/');
		if (slash && slash != abs)
			*slash = '\0';
	}
	for (int up = 0; up < 5; up++) {
		struct stat st;
		int w = snprintf(out, size, "%s/%s", strcmp(abs, "/") == 0 ? "" : abs, name);
		if (w > 0 && (size_t)w < size && stat(out, &st) == 0 &&
		    (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)))
			return true;
		char *slash = strrchr(abs, '/');
		if (!slash || slash == abs)
			return false;
		*slash = '\0';
	}
	return false;
}

/* The suite's version: the first line of VERSION in the scenario folder (or above the path given). */
char *cli_suite_version(const char *path)
{
	char vpath[PATH_MAX], line[80];
	if (!find_up(path, "VERSION", false, vpath, sizeof vpath))
		return strdup("unknown");
	FILE *f = fopen(vpath, "r");
	if (!f || !fgets(line, sizeof line, f)) {
		if (f)
			fclose(f);
		return strdup("unknown");
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return strdup(line[0] ? line : "unknown");
}

const char *cli_fixtures_dir(const struct cli *c, const char *scen_path, char *buf, size_t size)
{
	if (c->fixtures)
		return c->fixtures;
	if (find_up(scen_path, "fixtures", true, buf, size))
		return buf;
	if (cli_is_dir("fixtures"))
		return "fixtures";
	snprintf(buf, size, "%s/fixtures", datadir());
	return buf;
}

char *cli_iso_now(void)
{
	char buf[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return strdup(buf);
}

/* FILE with "-NAME" before its extension, for one report per target of a comparison run. */
static void per_target_path(const char *file, const char *name, char *out, size_t size)
{
	if (strcmp(file, "-") == 0) {
		snprintf(out, size, "-");
		return;
	}
	char safe[64];
	size_t k = 0;
	for (const char *p = name; *p && k + 1 < sizeof safe; p++)
		safe[k++] =
		    (strchr("-_.", *p) || (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z'))
		        ? *p
		        : '_';
	safe[k] = '\0';
	const char *slash = strrchr(file, '/');
	const char *dot = strrchr(file, '.');
	if (dot && (!slash || dot > slash + 1))
		snprintf(out, size, "%.*s-%s%s", (int)(dot - file), file, safe, dot);
	else
		snprintf(out, size, "%s-%s", file, safe);
}

int cli_write_reports(const struct cli *c, const struct run *run, const char *reqmd, bool several)
{
	static int (*const write[2])(const struct run *, const char *, struct p3err *) = {report_json_write,
	                                                                                  report_junit_write};
	const char *file[2] = {c->json, c->junit};
	struct p3err err;
	char path[PATH_MAX];
	int rc = 0;
	for (int i = 0; i < 2; i++) {
		if (!file[i])
			continue;
		const char *dst = file[i];
		if (several) {
			per_target_path(file[i], run->info.target_name, path, sizeof path);
			dst = path;
		}
		if (write[i](run, dst, &err) < 0) {
			fprintf(stderr, "pop3spec: %s\n", err.msg);
			rc = -1;
		}
	}
	if (c->html && !several && report_html_write(run, reqmd, c->html, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		rc = -1;
	}
	return rc;
}

int cli_select(const struct cli *c, const struct scenario_list *l, const char **only, size_t nonly,
               struct scenario ***sel, size_t *nsel)
{
	struct plan_opts po = {.filters = c->filters,
	                       .nfilters = c->nfilters,
	                       .tags = c->tags,
	                       .ntags = c->ntags,
	                       .all = c->all,
	                       .shard_index = c->shard_index,
	                       .shard_count = c->shard_count,
	                       .only = only,
	                       .nonly = nonly};
	struct p3err err;
	if (plan_select(l->v, l->n, &po, sel, nsel, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int cli_load_baseline(const struct cli *c, struct run *b)
{
	struct p3err err;
	if (report_json_read(c->baseline, b, &err) < 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		return -1;
	}
	report_sort(b); /* applied result by result: index it once, in order */
	return 0;
}

void cli_console_init(const struct cli *c, struct console *con, size_t n)
{
	console_init(con,
	             c->verbosity == 0   ? CONSOLE_QUIET
	             : c->verbosity == 2 ? CONSOLE_VERBOSE
	                                 : CONSOLE_NORMAL,
	             n);
	/* A report on stdout owns it: everything else goes to stderr, so `--json - | jq` reads JSON only. */
	if (cli_reports_on_stdout(c))
		console_set_out(con, stderr);
}

void cli_baseline_said(const struct cli *c, const struct console *con, size_t diffs)
{
	if (c->baseline && c->verbosity)
		fprintf(con->out, "baseline %s: %zu result%s differ\n", c->baseline, diffs,
		        diffs == 1 ? "" : "s");
}

int cli_exit_status(const struct run *run, bool strict)
{
	struct run_summary s;
	run_summarize(run, &s);
	return s.failed || s.errors || (strict && s.warnings) ? EXIT_FAILED : EXIT_PASSED;
}
