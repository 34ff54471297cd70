/* load_report.c — the reports of `pop3spec load`: console summary, JSON (docs/stress.md), HTML, and
 * `pop3spec report --merge` for load summaries: counts added, histograms merged bucket by bucket. */
#include "runner/stress/load_report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "runner/report/escape.h"
#include "runner/report/util.h"
#include "runner/stress/stress.h"

/* The counters every summary has, in this order (merged by adding). */
#define LOAD_COUNTERS(X)                                                                                     \
	X(sessions)                                                                                          \
	X(commands) X(dropped) X(quits) X(logins) X(refused) X(resets) X(pipelined) X(shared) X(deliveries)

static json_t *jstr(const char *s)
{
	char *clean = utf8_sanitize(s ? s : "");
	json_t *j = clean ? json_string(clean) : NULL;
	free(clean);
	return j ? j : json_string("");
}

static json_t *hist_json(const struct hist *h, uint64_t ok, uint64_t err)
{
	json_t *o = json_object();
	json_t *b = json_array();
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		if (h->counts[i])
			json_array_append_new(b, json_pack("[iI]", (int)i, (json_int_t)h->counts[i]));
	json_object_set_new(o, "count", json_integer((json_int_t)h->count));
	json_object_set_new(o, "ok", json_integer((json_int_t)ok));
	json_object_set_new(o, "err", json_integer((json_int_t)err));
	json_object_set_new(o, "min_us", json_integer(h->count ? (json_int_t)h->min : 0));
	json_object_set_new(o, "p50_us", json_integer((json_int_t)hist_quantile(h, 0.50)));
	json_object_set_new(o, "p99_us", json_integer((json_int_t)hist_quantile(h, 0.99)));
	json_object_set_new(o, "max_us", json_integer((json_int_t)h->max * (h->count > 0)));
	json_object_set_new(o, "mean_us", json_real(h->count ? h->sum / (double)h->count : 0));
	json_object_set_new(o, "sum_us", json_real(h->sum));
	json_object_set_new(o, "sub_bucket_bits", json_integer(HIST_SUB_BITS));
	json_object_set_new(o, "buckets", b);
	return o;
}

/* Read a histogram back; -1 when its layout differs (it could not be merged exactly). */
static int hist_from_json(json_t *o, struct hist *h, uint64_t *ok, uint64_t *err)
{
	if (json_integer_value(json_object_get(o, "sub_bucket_bits")) != HIST_SUB_BITS)
		return -1;
	size_t i;
	json_t *b;
	for (i = 0; i < json_array_size(json_object_get(o, "buckets")) &&
	            (b = json_array_get(json_object_get(o, "buckets"), i)) != NULL;
	     i++) {
		json_int_t idx = json_integer_value(json_array_get(b, 0));
		json_int_t n = json_integer_value(json_array_get(b, 1));
		if (idx < 0 || idx >= HIST_BUCKETS || n < 0)
			return -1;
		h->counts[idx] += (uint64_t)n;
		h->count += (uint64_t)n;
	}
	/* min, max and sum are exact in the file: keep them exact. */
	json_int_t mn = json_integer_value(json_object_get(o, "min_us"));
	json_int_t mx = json_integer_value(json_object_get(o, "max_us"));
	if (json_integer_value(json_object_get(o, "count")) > 0) {
		if ((uint64_t)mn < h->min)
			h->min = (uint64_t)mn;
		if ((uint64_t)mx > h->max)
			h->max = (uint64_t)mx;
	}
	h->sum += json_number_value(json_object_get(o, "sum_us"));
	*ok += (uint64_t)json_integer_value(json_object_get(o, "ok"));
	*err += (uint64_t)json_integer_value(json_object_get(o, "err"));
	return 0;
}

static json_t *violation_json(const struct violation *v)
{
	json_t *o = json_object();
	json_object_set_new(o, "kind", json_string(v->kind));
	json_object_set_new(o, "message", jstr(v->message));
	json_t *tr = json_array();
	for (size_t k = 0; k < v->nsessions; k++) {
		char id[32];
		snprintf(id, sizeof id, "s%lu", v->sessions[k]);
		json_t *lines = json_array();
		const char *p = v->tr_text[k] ? v->tr_text[k] : "";
		const char *nl = strchr(p, '\n'); /* the first line is the heading */
		for (p = nl ? nl + 1 : p + strlen(p); *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (nl == NULL)
				break;
			char *line = strndup(p, (size_t)(nl - p));
			json_array_append_new(lines, jstr(line));
			free(line);
		}
		json_array_append_new(tr, json_pack("{s:s,s:o}", "session", id, "lines", lines));
	}
	json_object_set_new(o, "transcripts", tr);
	return o;
}

/* Whether a violation kind says the target misbehaved at the I/O level (counted as errors). */
static int is_error_kind(const char *k)
{
	return strcmp(k, "hang") == 0 || strcmp(k, "closed") == 0 || strcmp(k, "crash") == 0 ||
	       strcmp(k, "tls") == 0 || strcmp(k, "target-error") == 0;
}

static json_t *summary_json(struct load *L, double elapsed)
{
	json_t *o = json_object();
	char shard[32];
	snprintf(shard, sizeof shard, "%d/%d", L->o.shard_index, L->o.shard_count);
	json_object_set_new(o, "target", jstr(L->t->name ? L->t->name : L->t->file));
	json_object_set_new(o, "mode", json_string("load"));
	json_object_set_new(o, "seed", json_integer((json_int_t)L->o.seed));
	json_object_set_new(o, "shard", json_string(shard));
	json_object_set_new(o, "shards", json_integer(1));
	json_object_set_new(o, "duration_s", json_real(elapsed));
	json_object_set_new(o, "clients", json_integer(L->o.clients));
	json_object_set_new(o, "accounts", json_integer((json_int_t)L->nacct));
	json_object_set_new(o, "messages", json_integer((json_int_t)L->ninit));
#define PUT_COUNTER(name) json_object_set_new(o, #name, json_integer((json_int_t)L->st.name));
	LOAD_COUNTERS(PUT_COUNTER)
#undef PUT_COUNTER
	json_object_set_new(o, "sessions_per_s",
	                    json_real(elapsed > 0 ? (double)L->st.sessions / elapsed : 0));
	json_object_set_new(o, "commands_per_s",
	                    json_real(elapsed > 0 ? (double)L->st.commands / elapsed : 0));
	size_t errors = 0;
	json_t *va = json_array();
	for (size_t i = 0; i < L->M.nviol; i++) {
		errors += is_error_kind(L->M.viol[i].kind);
		json_array_append_new(va, violation_json(&L->M.viol[i]));
	}
	json_object_set_new(o, "errors", json_integer((json_int_t)errors));
	json_object_set_new(o, "violations_total", json_integer((json_int_t)L->M.viol_total));
	json_object_set_new(o, "violations", va);
	json_t *lat = json_object();
	for (int c = 0; c < C_COUNT; c++)
		if (L->st.h[c].count)
			json_object_set_new(lat, load_cmd_names[c],
			                    hist_json(&L->st.h[c], L->st.ok[c], L->st.err[c]));
	json_object_set_new(o, "latency", lat);
	return o;
}

static void print_latency(FILE *f, json_t *lat)
{
	const char *k;
	json_t *h;
	fprintf(f, "  %-8s %9s %6s %10s %10s %10s\n", "command", "count", "-ERR", "p50 ms", "p99 ms",
	        "max ms");
	for (void *it_ = json_object_iter(lat);
	     it_ && (k = json_object_iter_key(it_)) != NULL && (h = json_object_iter_value(it_)) != NULL;
	     it_ = json_object_iter_next(lat, it_)) {
		fprintf(f,
		        "  %-8s %9" JSON_INTEGER_FORMAT " %6" JSON_INTEGER_FORMAT " %10.2f %10.2f %10.2f\n",
		        k, json_integer_value(json_object_get(h, "count")),
		        json_integer_value(json_object_get(h, "err")),
		        (double)json_integer_value(json_object_get(h, "p50_us")) / 1000.0,
		        (double)json_integer_value(json_object_get(h, "p99_us")) / 1000.0,
		        (double)json_integer_value(json_object_get(h, "max_us")) / 1000.0);
	}
}

/* The console summary of a (possibly merged) summary object. */
static void print_summary(FILE *f, json_t *o, int quiet)
{
	double el = json_number_value(json_object_get(o, "duration_s"));
	json_int_t s = json_integer_value(json_object_get(o, "sessions"));
	json_int_t c = json_integer_value(json_object_get(o, "commands"));
	json_int_t vt = json_integer_value(json_object_get(o, "violations_total"));
	fprintf(f,
	        "load: %s, seed %" JSON_INTEGER_FORMAT ", %.1f s: %" JSON_INTEGER_FORMAT
	        " sessions (%.1f/s), %" JSON_INTEGER_FORMAT " commands (%.1f/s), %" JSON_INTEGER_FORMAT
	        " dropped, %" JSON_INTEGER_FORMAT " logins refused, %" JSON_INTEGER_FORMAT
	        " resets, %" JSON_INTEGER_FORMAT " violation%s\n",
	        json_string_value(json_object_get(o, "target")),
	        json_integer_value(json_object_get(o, "seed")), el, s, el > 0 ? (double)s / el : 0.0, c,
	        el > 0 ? (double)c / el : 0.0, json_integer_value(json_object_get(o, "dropped")),
	        json_integer_value(json_object_get(o, "refused")),
	        json_integer_value(json_object_get(o, "resets")), vt, vt == 1 ? "" : "s");
	if (json_integer_value(json_object_get(o, "deliveries")))
		fprintf(f, "load: %" JSON_INTEGER_FORMAT " messages delivered during the run\n",
		        json_integer_value(json_object_get(o, "deliveries")));
	if (!quiet)
		print_latency(f, json_object_get(o, "latency"));
	size_t i;
	json_t *v;
	for (i = 0; i < json_array_size(json_object_get(o, "violations")) &&
	            (v = json_array_get(json_object_get(o, "violations"), i)) != NULL;
	     i++) {
		if (i == 20) {
			fprintf(f, "  ... %zu more violations in the JSON summary\n",
			        json_array_size(json_object_get(o, "violations")) - 20);
			break;
		}
		fprintf(f, "\nVIOLATION %s: %s\n", json_string_value(json_object_get(v, "kind")),
		        json_string_value(json_object_get(v, "message")));
		size_t k;
		json_t *t;
		for (k = 0; k < json_array_size(json_object_get(v, "transcripts")) &&
		            (t = json_array_get(json_object_get(v, "transcripts"), k)) != NULL;
		     k++) {
			fprintf(f, "  --- session %s (last lines)\n",
			        json_string_value(json_object_get(t, "session")));
			size_t j;
			json_t *l;
			for (j = 0; j < json_array_size(json_object_get(t, "lines")) &&
			            (l = json_array_get(json_object_get(t, "lines"), j)) != NULL;
			     j++)
				fprintf(f, "    %s\n", json_string_value(l));
		}
	}
}

static int write_html(const char *path, json_t *o)
{
	struct p3err err = {0};
	FILE *f = report_open(path, &err);
	if (f == NULL) {
		fprintf(stderr, "pop3spec load: %s\n", err.msg);
		return -1;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>pop3spec load: ", f);
	esc_text(f, json_string_value(json_object_get(o, "target")));
	fputs("</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
	      "td,th{border:1px solid #ccc;padding:.2em "
	      ".6em;text-align:right}pre{background:#f6f6f6;padding:.5em}"
	      ".v{color:#a00}</style></head><body>\n<h1>pop3spec load: ",
	      f);
	esc_text(f, json_string_value(json_object_get(o, "target")));
	fprintf(f,
	        "</h1>\n<p>seed %" JSON_INTEGER_FORMAT ", %.1f s, %" JSON_INTEGER_FORMAT
	        " sessions, %" JSON_INTEGER_FORMAT " commands, <b class=\"v\">%" JSON_INTEGER_FORMAT
	        " violations</b></p>\n",
	        json_integer_value(json_object_get(o, "seed")),
	        json_number_value(json_object_get(o, "duration_s")),
	        json_integer_value(json_object_get(o, "sessions")),
	        json_integer_value(json_object_get(o, "commands")),
	        json_integer_value(json_object_get(o, "violations_total")));
	fputs("<table><tr><th>command</th><th>count</th><th>-ERR</th><th>p50 ms</th><th>p99 ms</th>"
	      "<th>max ms</th></tr>\n",
	      f);
	const char *k;
	json_t *h;
	for (void *it_ = json_object_iter(json_object_get(o, "latency"));
	     it_ && (k = json_object_iter_key(it_)) != NULL && (h = json_object_iter_value(it_)) != NULL;
	     it_ = json_object_iter_next(json_object_get(o, "latency"), it_)) {
		fputs("<tr><th>", f);
		esc_text(f, k);
		fprintf(f,
		        "</th><td>%" JSON_INTEGER_FORMAT "</td><td>%" JSON_INTEGER_FORMAT
		        "</td><td>%.2f</td><td>%.2f</td><td>%.2f</td></tr>\n",
		        json_integer_value(json_object_get(h, "count")),
		        json_integer_value(json_object_get(h, "err")),
		        (double)json_integer_value(json_object_get(h, "p50_us")) / 1000.0,
		        (double)json_integer_value(json_object_get(h, "p99_us")) / 1000.0,
		        (double)json_integer_value(json_object_get(h, "max_us")) / 1000.0);
	}
	fputs("</table>\n", f);
	size_t i;
	json_t *v;
	for (i = 0; i < json_array_size(json_object_get(o, "violations")) &&
	            (v = json_array_get(json_object_get(o, "violations"), i)) != NULL;
	     i++) {
		fputs("<h2 class=\"v\">", f);
		esc_text(f, json_string_value(json_object_get(v, "kind")));
		fputs("</h2><p>", f);
		esc_text(f, json_string_value(json_object_get(v, "message")));
		fputs("</p>\n", f);
		size_t j;
		json_t *t;
		for (j = 0; j < json_array_size(json_object_get(v, "transcripts")) &&
		            (t = json_array_get(json_object_get(v, "transcripts"), j)) != NULL;
		     j++) {
			fputs("<pre>session ", f);
			esc_text(f, json_string_value(json_object_get(t, "session")));
			fputs("\n", f);
			size_t n;
			json_t *l;
			for (n = 0; n < json_array_size(json_object_get(t, "lines")) &&
			            (l = json_array_get(json_object_get(t, "lines"), n)) != NULL;
			     n++) {
				esc_text(f, json_string_value(l));
				fputs("\n", f);
			}
			fputs("</pre>\n", f);
		}
	}
	fputs("</body></html>\n", f);
	if (report_close(f, path, &err) != 0) {
		fprintf(stderr, "pop3spec load: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int write_json(const char *path, json_t *o)
{
	struct p3err err = {0};
	FILE *f = report_open(path, &err);
	if (f == NULL) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		return -1;
	}
	json_dumpf(o, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fputc('\n', f);
	if (report_close(f, path, &err) != 0) {
		fprintf(stderr, "pop3spec: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int load_report(struct load *L, double elapsed)
{
	json_t *o = summary_json(L, elapsed);
	if (o == NULL)
		return -1;
	int rc = 0;
	int json_to_stdout = L->o.json && strcmp(L->o.json, "-") == 0;
	print_summary(json_to_stdout ? stderr : stdout, o, L->o.quiet);
	if (L->o.json && write_json(L->o.json, o) != 0)
		rc = -1;
	if (L->o.html && write_html(L->o.html, o) != 0)
		rc = -1;
	json_decref(o);
	return rc;
}

/* ---- merging shards ------------------------------------------------------------------------------ */

int stress_is_load_json(const char *path)
{
	json_error_t e;
	json_t *o = json_load_file(path, 0, &e);
	const char *mode = o ? json_string_value(json_object_get(o, "mode")) : NULL;
	int yes = mode && (strcmp(mode, "load") == 0 || strcmp(mode, "fuzz") == 0);
	json_decref(o);
	return yes;
}

/* Fuzz summaries: cases and sessions added, findings concatenated. */
static int merge_fuzz(const char *const *files, size_t nfiles, const char *out)
{
	json_t *m = NULL, *viol = json_array();
	json_int_t cases = 0, sessions = 0, commands = 0, skipped = 0, tls_cases = 0, slow_cases = 0;
	double dur = 0;
	for (size_t f = 0; f < nfiles; f++) {
		json_error_t e;
		json_t *o = json_load_file(files[f], 0, &e);
		const char *mode = o ? json_string_value(json_object_get(o, "mode")) : NULL;
		if (mode == NULL || strcmp(mode, "fuzz") != 0) {
			fprintf(stderr, "pop3spec report: %s: %s\n", files[f],
			        o ? "not a fuzz summary" : e.text);
			json_decref(o);
			json_decref(m);
			json_decref(viol);
			return 2;
		}
		if (m == NULL) {
			m = json_object();
			json_object_set(m, "target", json_object_get(o, "target"));
			json_object_set_new(m, "mode", json_string("fuzz"));
			json_object_set(m, "seed", json_object_get(o, "seed"));
		}
		double d = json_number_value(json_object_get(o, "duration_s"));
		dur = d > dur ? d : dur;
		cases += json_integer_value(json_object_get(o, "cases"));
		sessions += json_integer_value(json_object_get(o, "sessions"));
		commands += json_integer_value(json_object_get(o, "commands"));
		skipped += json_integer_value(json_object_get(o, "consistency_checks_skipped"));
		tls_cases += json_integer_value(json_object_get(o, "tls_cases"));
		slow_cases += json_integer_value(json_object_get(o, "slow_cases"));
		json_array_extend(viol, json_object_get(o, "violations"));
		json_decref(o);
	}
	json_object_set_new(m, "shard", json_string("merged"));
	json_object_set_new(m, "shards", json_integer((json_int_t)nfiles));
	json_object_set_new(m, "duration_s", json_real(dur));
	json_object_set_new(m, "cases", json_integer(cases));
	json_object_set_new(m, "sessions", json_integer(sessions));
	json_object_set_new(m, "commands", json_integer(commands));
	json_object_set_new(m, "consistency_checks_skipped", json_integer(skipped));
	json_object_set_new(m, "tls_cases", json_integer(tls_cases));
	json_object_set_new(m, "slow_cases", json_integer(slow_cases));
	size_t nv = json_array_size(viol);
	json_object_set_new(m, "violations", viol);
	printf("fuzz: %s, merged %zu shards: %" JSON_INTEGER_FORMAT " cases, %zu finding%s\n",
	       json_string_value(json_object_get(m, "target")), nfiles, cases, nv, nv == 1 ? "" : "s");
	int rc = out && write_json(out, m) != 0 ? 2 : nv ? 1 : 0;
	json_decref(m);
	return rc;
}

int stress_merge_main(int argc, char **argv)
{
	const char *out = NULL, *html = NULL;
	const char *files[256];
	size_t nfiles = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--merge") == 0)
			continue;
		if ((strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--html") == 0) && i + 1 < argc) {
			*(argv[i][2] == 'j' ? &out : &html) = argv[i + 1];
			i++;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "pop3spec report: %s cannot be used when merging load summaries\n",
			        argv[i]);
			return 2;
		}
		if (nfiles == sizeof files / sizeof files[0]) {
			fprintf(stderr, "pop3spec report: too many files\n");
			return 2;
		}
		files[nfiles++] = argv[i];
	}
	if (nfiles && stress_is_load_json(files[0])) {
		json_error_t e;
		json_t *first = json_load_file(files[0], 0, &e);
		const char *mode = first ? json_string_value(json_object_get(first, "mode")) : NULL;
		int fz = mode && strcmp(mode, "fuzz") == 0;
		json_decref(first);
		if (fz)
			return html ? (fprintf(stderr, "pop3spec report: --html is for load summaries\n"), 2)
			            : merge_fuzz(files, nfiles, out);
	}
	static struct hist h[C_COUNT];
	uint64_t ok[C_COUNT] = {0}, err[C_COUNT] = {0};
	for (int c = 0; c < C_COUNT; c++)
		hist_init(&h[c]);
	json_t *m = NULL, *viol = json_array();
	double dur = 0;
	json_int_t counters[16] = {0}, vtotal = 0, errors = 0, accounts = 0, clients = 0;
	int rc = 0;
	for (size_t f = 0; f < nfiles; f++) {
		json_error_t e;
		json_t *o = json_load_file(files[f], 0, &e);
		const char *mode = o ? json_string_value(json_object_get(o, "mode")) : NULL;
		if (o == NULL || mode == NULL || strcmp(mode, "load") != 0) {
			fprintf(stderr, "pop3spec report: %s: %s\n", files[f],
			        o ? "not a load summary" : e.text);
			json_decref(o);
			rc = 2;
			break;
		}
		if (m == NULL) {
			m = json_object();
			json_object_set(m, "target", json_object_get(o, "target"));
			json_object_set_new(m, "mode", json_string("load"));
			json_object_set(m, "seed", json_object_get(o, "seed"));
		} else if (!json_equal(json_object_get(m, "seed"), json_object_get(o, "seed"))) {
			fprintf(stderr, "pop3spec report: warning: %s has another seed than %s\n", files[f],
			        files[0]);
		}
		double d = json_number_value(json_object_get(o, "duration_s"));
		if (d > dur)
			dur = d; /* shards run side by side: the run lasted as long as the longest */
		int ci = 0;
#define ADD_COUNTER(name) counters[ci++] += json_integer_value(json_object_get(o, #name));
		LOAD_COUNTERS(ADD_COUNTER)
#undef ADD_COUNTER
		vtotal += json_integer_value(json_object_get(o, "violations_total"));
		errors += json_integer_value(json_object_get(o, "errors"));
		accounts += json_integer_value(json_object_get(o, "accounts"));
		clients += json_integer_value(json_object_get(o, "clients"));
		json_array_extend(viol, json_object_get(o, "violations"));
		const char *k;
		json_t *hj;
		for (void *it_ = json_object_iter(json_object_get(o, "latency"));
		     it_ && (k = json_object_iter_key(it_)) != NULL &&
		     (hj = json_object_iter_value(it_)) != NULL;
		     it_ = json_object_iter_next(json_object_get(o, "latency"), it_)) {
			int c = 0;
			while (c < C_COUNT && strcmp(load_cmd_names[c], k) != 0)
				c++;
			if (c == C_COUNT || hist_from_json(hj, &h[c], &ok[c], &err[c]) != 0) {
				fprintf(stderr,
				        "pop3spec report: %s: latency of %s cannot be merged exactly\n",
				        files[f], k);
				rc = 2;
			}
		}
		json_decref(o);
	}
	if (m == NULL || rc != 0) {
		json_decref(m);
		json_decref(viol);
		return rc ? rc : 2;
	}
	json_object_set_new(m, "shard", json_string("merged"));
	json_object_set_new(m, "shards", json_integer((json_int_t)nfiles));
	json_object_set_new(m, "duration_s", json_real(dur));
	json_object_set_new(m, "clients", json_integer(clients));
	json_object_set_new(m, "accounts", json_integer(accounts));
	int ci = 0;
#define SET_COUNTER(name) json_object_set_new(m, #name, json_integer(counters[ci++]));
	LOAD_COUNTERS(SET_COUNTER)
#undef SET_COUNTER
	json_object_set_new(
	    m, "sessions_per_s",
	    json_real(dur > 0 ? (double)json_integer_value(json_object_get(m, "sessions")) / dur : 0));
	json_object_set_new(
	    m, "commands_per_s",
	    json_real(dur > 0 ? (double)json_integer_value(json_object_get(m, "commands")) / dur : 0));
	json_object_set_new(m, "errors", json_integer(errors));
	json_object_set_new(m, "violations_total", json_integer(vtotal));
	json_object_set_new(m, "violations", viol);
	json_t *lat = json_object();
	for (int c = 0; c < C_COUNT; c++)
		if (h[c].count)
			json_object_set_new(lat, load_cmd_names[c], hist_json(&h[c], ok[c], err[c]));
	json_object_set_new(m, "latency", lat);
	print_summary(out && strcmp(out, "-") == 0 ? stderr : stdout, m, 0);
	if (out && write_json(out, m) != 0)
		rc = 2;
	if (html && write_html(html, m) != 0)
		rc = 2;
	if (rc == 0 && vtotal > 0)
		rc = 1;
	json_decref(m);
	return rc;
}
