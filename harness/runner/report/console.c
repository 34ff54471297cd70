/* console.c — what a person sees in the terminal: a progress line on stderr, one line per scenario, and
 * a summary naming every failed, errored and warned scenario with its reason. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runner/report/report.h"
#include "runner/report/util.h"

/* One line of a reason in the summary: longer messages are cut, since the reports hold them whole. */
#define REASON_MAX 300

static const char *colour_of(enum verdict v)
{
	switch (v) {
	case VERDICT_PASS:
		return "\033[32m";
	case VERDICT_FAIL:
		return "\033[1;31m";
	case VERDICT_WARN:
		return "\033[33m";
	case VERDICT_SKIP:
		return "\033[36m";
	default:
		return "\033[1;35m";
	}
}

static void label(const struct console *c, FILE *f, enum verdict v)
{
	char up[8];
	const char *n = verdict_name(v);
	size_t i;
	for (i = 0; i < sizeof up - 1 && n[i]; i++)
		up[i] = (char)(n[i] - 'a' + 'A');
	up[i] = '\0';
	if (c->colour)
		fprintf(f, "%s%-5s\033[0m", colour_of(v), up);
	else
		fprintf(f, "%-5s", up);
}

/* Write s on one line: controls (C0, DEL, C1) and bytes that are not UTF-8 shown as \xNN, so a hostile
 * server's text cannot move the cursor, recolour the terminal or garble the line. */
static void one_line(FILE *f, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), shown = 0;
	while (n) {
		unsigned cp;
		size_t k = utf8_seq(p, n, &cp);
		if (shown++ >= max) {
			fputs("...", f);
			break;
		}
		if (k == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
			size_t m = k ? k : 1;
			for (size_t i = 0; i < m; i++)
				fprintf(f, "\\x%02X", p[i]);
			k = m;
		} else {
			fwrite(p, 1, k, f);
		}
		p += k;
		n -= k;
	}
}

static int progress_on(const struct console *c)
{
	return c->progress && c->verbosity == CONSOLE_NORMAL && isatty(fileno(c->progress));
}

static void clear_progress(struct console *c)
{
	if (progress_on(c)) {
		fputs("\r\033[K", c->progress);
		fflush(c->progress);
	}
}

void console_init(struct console *c, enum console_verbosity v, size_t total)
{
	memset(c, 0, sizeof *c);
	c->out = stdout;
	c->progress = stderr;
	c->verbosity = v;
	c->total = total;
	console_set_out(c, stdout);
}

void console_set_out(struct console *c, FILE *out)
{
	c->out = out;
	/* https://no-color.org: any non-empty NO_COLOR turns colour off. */
	const char *nc = getenv("NO_COLOR");
	c->colour = isatty(fileno(c->out)) && !(nc && *nc);
}

void console_start(struct console *c, const char *id)
{
	if (!progress_on(c))
		return;
	fprintf(c->progress, "\r\033[K[%zu/%zu] ", c->done, c->total);
	one_line(c->progress, id, 100);
	fflush(c->progress);
}

void console_result(struct console *c, const struct result *r)
{
	c->done++;
	if (c->verbosity == CONSOLE_QUIET)
		return;
	clear_progress(c);
	/* "PASS  id  title": the label padded to five, so ids line up under ERROR. */
	label(c, c->out, r->status);
	fputc(' ', c->out);
	one_line(c->out, r->id, 200);
	fputs("  ", c->out);
	one_line(c->out, r->title, 200);
	if (r->status != VERDICT_PASS && r->message && *r->message) {
		fputs(" -- ", c->out);
		one_line(c->out, r->message, REASON_MAX);
	}
	if (c->verbosity == CONSOLE_VERBOSE)
		fprintf(c->out, " (%.2f s)", (double)r->duration_ms / 1000.0);
	fputc('\n', c->out);
	fflush(c->out);
}

static void count(const struct console *c, FILE *f, size_t n, const char *what, enum verdict v)
{
	if (c->colour && n)
		fprintf(f, "%s%zu %s\033[0m", colour_of(v), n, what);
	else
		fprintf(f, "%zu %s", n, what);
}

/* Whether the message already ends with "[ref]": the executor names a check's requirement in the reason
 * when it is not one of the scenario's own (exec_verdict.c, xc_format_reason), so the summary must not
 * repeat it. */
static int names_ref(const char *message, const char *ref)
{
	size_t ml = message ? strlen(message) : 0, rl = strlen(ref);
	/* A message cut at REASON_MAX lost its end: the id is printed then. */
	return ml <= REASON_MAX && ml >= rl + 2 && message[ml - rl - 2] == '[' && message[ml - 1] == ']' &&
	       memcmp(message + ml - rl - 1, ref, rl) == 0;
}

static void list(struct console *c, const struct run *run, enum verdict v, const char *heading)
{
	int first = 1;
	for (size_t i = 0; i < run->nresults; i++) {
		const struct result *r = &run->results[i];
		if (r->status != v)
			continue;
		if (first)
			fprintf(c->out, "%s:\n", heading);
		first = 0;
		fputs("  ", c->out);
		label(c, c->out, v);
		fputc(' ', c->out);
		one_line(c->out, r->id, 200);
		fputs(": ", c->out);
		one_line(c->out, r->message && *r->message ? r->message : "(no reason given)", REASON_MAX);
		if (r->failed_ref && !names_ref(r->message, r->failed_ref)) {
			fputs(" [", c->out);
			one_line(c->out, r->failed_ref, 120);
			fputc(']', c->out);
		}
		fputc('\n', c->out);
	}
}

static int slower(const void *a, const void *b)
{
	const struct result *x = *(const struct result *const *)a, *y = *(const struct result *const *)b;
	if (x->duration_ms != y->duration_ms)
		return x->duration_ms < y->duration_ms ? 1 : -1;
	return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

/* The CONSOLE_SLOWEST longest scenarios, slowest first: where a run's time goes (a server's timers, or
 * scenarios that each wait for a timeout). */
static void slowest(struct console *c, const struct run *run)
{
	if (run->nresults < 2)
		return;
	const struct result **v = malloc(run->nresults * sizeof *v);
	if (!v)
		return;
	for (size_t i = 0; i < run->nresults; i++)
		v[i] = &run->results[i];
	qsort(v, run->nresults, sizeof *v, slower);
	size_t n = run->nresults < CONSOLE_SLOWEST ? run->nresults : CONSOLE_SLOWEST;
	fprintf(c->out, "Slowest:\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(c->out, "  %7.2f s  ", (double)v[i]->duration_ms / 1000.0);
		one_line(c->out, v[i]->id, 200);
		fputc('\n', c->out);
	}
	free(v);
}

/* Slow login replies are the server's defence against password guessing, not a deviation: said once. */
static void login_delays(FILE *f, const struct run *run)
{
	size_t n = 0;
	long most = 0;
	for (size_t i = 0; i < run->nresults; i++)
		if (run->results[i].login_delay_ms > 0) {
			n++;
			if (run->results[i].login_delay_ms > most)
				most = run->results[i].login_delay_ms;
		}
	if (n)
		fprintf(
		    f,
		    "Slow logins: the server took up to %.1f s to answer PASS, APOP or AUTH (%zu scenario%s; "
		    "allowed: login_timeout)\n",
		    (double)most / 1000.0, n, n == 1 ? "" : "s");
}

void console_summary(struct console *c, const struct run *run)
{
	struct run_summary s;
	run_summarize(run, &s);
	clear_progress(c);
	FILE *f = c->out;
	if (c->verbosity != CONSOLE_QUIET)
		fputc('\n', f);
	struct shared_reason sr;
	run_shared_reason(run, &sr);
	if (sr.example) {
		/* Read first: one cause behind many failures is usually the set-up, not many deviations. */
		fprintf(f, "Shared reason: %zu of %zu failures and errors got: ", sr.count, sr.of);
		one_line(f, sr.example, REASON_MAX);
		fputs("\n  (one cause behind most failures: check the target profile and the server's set-up "
		      "first)\n",
		      f);
	}
	list(c, run, VERDICT_FAIL, "Failed");
	list(c, run, VERDICT_ERROR, "Errors");
	list(c, run, VERDICT_WARN, run->info.strict ? "Warnings (failing: --strict)" : "Warnings");
	login_delays(f, run);
	if (run->info.login_method && strcmp(run->info.login_method, "USER/PASS") != 0)
		fprintf(f,
		        "Logins used %s: the server offers no USER/PASS (RFC 1939 §7); scenarios about them "
		        "skip\n",
		        run->info.login_method);
	if (c->verbosity != CONSOLE_QUIET)
		slowest(c, run);
	if (run->info.stopped) {
		fputs("Stopped: ", f);
		one_line(f, run->info.stopped, 200);
		if (run->info.incomplete)
			fprintf(f, "; incomplete: %zu selected scenario%s not run", run->info.not_run,
			        run->info.not_run == 1 ? "" : "s");
		fputc('\n', f);
	}
	fprintf(f, "%zu scenarios: ", run->nresults);
	count(c, f, s.passed, "passed", VERDICT_PASS);
	fputs(", ", f);
	count(c, f, s.failed, "failed", VERDICT_FAIL);
	fputs(", ", f);
	count(c, f, s.warnings, s.warnings == 1 ? "warning" : "warnings", VERDICT_WARN);
	fputs(", ", f);
	count(c, f, s.skipped, "skipped", VERDICT_SKIP);
	fputs(", ", f);
	count(c, f, s.errors, s.errors == 1 ? "error" : "errors", VERDICT_ERROR);
	if (run->info.duration_ms)
		fprintf(f, " in %.1f s", (double)run->info.duration_ms / 1000.0);
	if (run->info.target_name) {
		fputs(" against ", f);
		one_line(f, run->info.target_name, 100);
	}
	fputc('\n', f);
	fflush(f);
}
