/* json.c — the JSON report (a contract, docs/reports.md): writing a run, and reading one back exactly for
 * --baseline and `report --merge/--compare`. */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "runner/report/report.h"
#include "runner/report/util.h"

/* ---- writing ---- */

/* A JSON string from C text; bytes that are not UTF-8 become \xNN (JSON cannot carry them). */
static json_t *jstr(const char *s)
{
	char *clean = utf8_sanitize(s ? s : "");
	if (!clean)
		return NULL;
	json_t *j = json_string(clean);
	free(clean);
	return j;
}

/* Set obj[key] = val; 0, or -1 when val is NULL (out of memory). Steals val. */
static int put(json_t *obj, const char *key, json_t *val)
{
	return val ? json_object_set_new(obj, key, val) : -1;
}

/* An optional string: omitted when NULL. */
static int put_opt(json_t *obj, const char *key, const char *s)
{
	return s ? put(obj, key, jstr(s)) : 0;
}

static json_t *jstrv(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, jstr(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *jtranscript(const struct result *r)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < r->ntranscript; i++) {
		const struct tline *t = &r->transcript[i];
		char kind[2] = {t->kind, '\0'};
		json_t *o = json_object();
		int bad = !o || put(o, "t_ms", json_real(t->t_ms)) || put(o, "kind", jstr(kind)) ||
		          put(o, "session", jstr(t->session ? t->session : "main")) ||
		          put(o, "text", jstr(t->text));
		if (bad || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *jresult(const struct result *r)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	/* The contract's fields first, in the contract's order, then the extras. */
	int bad = put(o, "id", jstr(r->id)) || put(o, "title", jstr(r->title)) ||
	          put(o, "level", jstr(r->level)) || put(o, "refs", jstrv(r->refs, r->nrefs)) ||
	          put(o, "status", json_string(verdict_name(r->status))) ||
	          put(o, "duration_ms", json_integer(r->duration_ms)) ||
	          put(o, "message", jstr(r->message)) || put(o, "transcript", jtranscript(r)) ||
	          put(o, "tags", jstrv(r->tags, r->ntags)) || put_opt(o, "file", r->file) ||
	          put_opt(o, "failed_step", r->failed_step) || put_opt(o, "expected", r->expected) ||
	          put_opt(o, "actual", r->actual) || put_opt(o, "failed_ref", r->failed_ref) ||
	          (r->login_delay_ms > 0 && put(o, "login_delay_ms", json_integer(r->login_delay_ms)));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *jrun(const struct run *run)
{
	const struct run_info *in = &run->info;
	struct run_summary s;
	run_summarize(run, &s);
	json_t *o = json_object(), *sum = json_object(), *prof = json_object(), *res = json_array();
	int bad = !o || !sum || !prof || !res;
	bad = bad || put(sum, "passed", json_integer((json_int_t)s.passed)) ||
	      put(sum, "failed", json_integer((json_int_t)s.failed)) ||
	      put(sum, "warnings", json_integer((json_int_t)s.warnings)) ||
	      put(sum, "skipped", json_integer((json_int_t)s.skipped)) ||
	      put(sum, "errors", json_integer((json_int_t)s.errors));
	bad = bad || put(prof, "name", jstr(in->target_name)) || put_opt(prof, "host", in->target_host) ||
	      put(prof, "port", json_integer(in->target_port)) ||
	      put(prof, "tls_port", json_integer(in->target_tls_port));
	for (size_t i = 0; !bad && i < run->nresults; i++)
		bad = json_array_append_new(res, jresult(&run->results[i])) != 0;
	if (!bad) {
		bad = put(o, "target", jstr(in->target_name)) || put(o, "summary", sum);
		sum = NULL;
		bad = bad || put(o, "results", res);
		res = NULL;
		bad = bad || put(o, "target_profile", prof);
		prof = NULL;
		bad = bad || put_opt(o, "runner_version", in->runner_version) ||
		      put_opt(o, "suite_version", in->suite_version) || put_opt(o, "options", in->options) ||
		      put(o, "strict", json_boolean(in->strict)) || put_opt(o, "started", in->started) ||
		      put(o, "duration_ms", json_integer(in->duration_ms)) ||
		      put_opt(o, "greeting", in->greeting) || put(o, "capa", jstrv(in->capa, in->ncapa)) ||
		      put(o, "incomplete", json_boolean(in->incomplete)) ||
		      put_opt(o, "stopped", in->stopped) ||
		      (in->incomplete && put(o, "not_run", json_integer((json_int_t)in->not_run))) ||
		      (in->shard_count &&
		       put(o, "shard",
		           json_pack("{s:i,s:i}", "index", in->shard_index, "count", in->shard_count))) ||
		      put(o, "redacted", json_boolean(in->redacted)) ||
		      put_opt(o, "login_method", in->login_method) || put_opt(o, "mode", in->mode);
		struct shared_reason sr;
		run_shared_reason(run, &sr);
		if (!bad && sr.example) {
			json_t *j = json_object();
			bad = !j || put(j, "reason", jstr(sr.example)) ||
			      put(j, "count", json_integer((json_int_t)sr.count)) ||
			      put(j, "of", json_integer((json_int_t)sr.of)) || put(o, "shared_reason", j);
		}
	}
	json_decref(sum);
	json_decref(prof);
	json_decref(res);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int report_json_write(const struct run *run, const char *path, struct p3err *err)
{
	json_t *j = jrun(run);
	if (!j)
		return p3err_set(err, "%s: out of memory building the JSON report", path);
	FILE *f = report_open(path, err);
	if (!f) {
		json_decref(j);
		return -1;
	}
	/* Reals with 17 significant digits read back to the same double. */
	int rc = json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	fputc('\n', f);
	json_decref(j);
	if (rc != 0) {
		if (f != stdout)
			fclose(f);
		return p3err_set(err, "%s: cannot write JSON", path);
	}
	return report_close(f, path, err);
}

/* ---- reading ---- */

struct rd {
	const char *path;
	struct p3err *err;
	int failed;
};

static int rd_fail(struct rd *rd, const char *where, const char *what)
{
	if (!rd->failed)
		p3err_set(rd->err, "%s: %s: %s", rd->path, where, what);
	rd->failed = 1;
	return -1;
}

/* obj[key] as a new string; absent or null gives NULL when optional, an error otherwise. */
static char *get_str(struct rd *rd, json_t *obj, const char *key, int required, const char *where)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		if (required) {
			char w[160];
			snprintf(w, sizeof w, "%s.%s", where, key);
			rd_fail(rd, w, "missing");
		}
		return NULL;
	}
	if (!json_is_string(v)) {
		char w[160];
		snprintf(w, sizeof w, "%s.%s", where, key);
		rd_fail(rd, w, "not a string");
		return NULL;
	}
	char *s = strdup(json_string_value(v));
	if (!s)
		rd_fail(rd, where, "out of memory");
	return s;
}

static long get_int(struct rd *rd, json_t *obj, const char *key, const char *where)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v)) {
		char w[160];
		snprintf(w, sizeof w, "%s.%s", where, key);
		rd_fail(rd, w, "not a number");
		return 0;
	}
	return json_is_integer(v) ? (long)json_integer_value(v) : (long)json_number_value(v);
}

static char **get_strv(struct rd *rd, json_t *obj, const char *key, size_t *n, const char *where)
{
	json_t *a = json_object_get(obj, key);
	*n = 0;
	if (!a || json_is_null(a))
		return NULL;
	char w[160];
	snprintf(w, sizeof w, "%s.%s", where, key);
	if (!json_is_array(a)) {
		rd_fail(rd, w, "not an array");
		return NULL;
	}
	size_t len = json_array_size(a);
	if (len == 0)
		return NULL;
	char **v = calloc(len, sizeof *v);
	if (!v) {
		rd_fail(rd, w, "out of memory");
		return NULL;
	}
	*n = len;
	for (size_t i = 0; i < len; i++) {
		json_t *e = json_array_get(a, i);
		if (!json_is_string(e)) {
			rd_fail(rd, w, "an element is not a string");
			continue;
		}
		if (!(v[i] = strdup(json_string_value(e))))
			rd_fail(rd, w, "out of memory");
	}
	return v;
}

static void read_transcript(struct rd *rd, json_t *a, struct result *r, const char *where)
{
	if (!a || json_is_null(a))
		return;
	if (!json_is_array(a)) {
		rd_fail(rd, where, "transcript is not an array");
		return;
	}
	size_t n = json_array_size(a);
	if (n == 0)
		return;
	if (!(r->transcript = calloc(n, sizeof *r->transcript))) {
		rd_fail(rd, where, "out of memory");
		return;
	}
	r->ntranscript = n;
	for (size_t i = 0; i < n && !rd->failed; i++) {
		json_t *e = json_array_get(a, i);
		struct tline *t = &r->transcript[i];
		char w[160];
		snprintf(w, sizeof w, "%s.transcript[%zu]", where, i);
		if (json_is_string(e)) {
			/* A plain string is accepted too ("C: USER alice"), for hand-written reports. */
			const char *s = json_string_value(e);
			t->kind = (s[0] == 'C' || s[0] == 'S') && s[1] == ':' ? s[0] : TLINE_NOTE;
			t->session = strdup("main");
			t->text = strdup(t->kind == TLINE_NOTE ? s : s + 2 + (s[2] == ' '));
			if (!t->session || !t->text)
				rd_fail(rd, w, "out of memory");
			continue;
		}
		if (!json_is_object(e)) {
			rd_fail(rd, w, "not an object");
			break;
		}
		json_t *tm = json_object_get(e, "t_ms");
		t->t_ms = json_is_number(tm) ? json_number_value(tm) : 0;
		char *kind = get_str(rd, e, "kind", 1, w);
		if (kind && (strcmp(kind, "C") == 0 || strcmp(kind, "S") == 0 || strcmp(kind, "*") == 0))
			t->kind = kind[0];
		else if (kind)
			rd_fail(rd, w, "kind is not \"C\", \"S\" or \"*\"");
		free(kind);
		t->session = get_str(rd, e, "session", 0, w);
		if (!t->session && !rd->failed && !(t->session = strdup("main")))
			rd_fail(rd, w, "out of memory");
		t->text = get_str(rd, e, "text", 1, w);
	}
}

static void read_result(struct rd *rd, json_t *o, struct result *r, size_t idx)
{
	char w[64];
	snprintf(w, sizeof w, "results[%zu]", idx);
	if (!json_is_object(o)) {
		rd_fail(rd, w, "not an object");
		return;
	}
	r->id = get_str(rd, o, "id", 1, w);
	r->title = get_str(rd, o, "title", 0, w);
	r->level = get_str(rd, o, "level", 0, w);
	r->file = get_str(rd, o, "file", 0, w);
	r->refs = get_strv(rd, o, "refs", &r->nrefs, w);
	r->tags = get_strv(rd, o, "tags", &r->ntags, w);
	char *st = get_str(rd, o, "status", 1, w);
	int v = verdict_from_name(st);
	if (st && v < 0) {
		char what[96];
		snprintf(what, sizeof what, "unknown status \"%.40s\"", st);
		rd_fail(rd, w, what);
	}
	free(st);
	r->status = v < 0 ? VERDICT_ERROR : (enum verdict)v;
	r->duration_ms = get_int(rd, o, "duration_ms", w);
	r->message = get_str(rd, o, "message", 0, w);
	r->failed_step = get_str(rd, o, "failed_step", 0, w);
	r->expected = get_str(rd, o, "expected", 0, w);
	r->actual = get_str(rd, o, "actual", 0, w);
	r->failed_ref = get_str(rd, o, "failed_ref", 0, w);
	r->login_delay_ms = get_int(rd, o, "login_delay_ms", w);
	read_transcript(rd, json_object_get(o, "transcript"), r, w);
}

int report_json_read(const char *path, struct run *run, struct p3err *err)
{
	struct rd rd = {.path = path, .err = err};
	json_error_t je;
	memset(run, 0, sizeof *run);
	json_t *j = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
	                                   : json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return p3err_set(err, "%s:%d:%d: %s", path, je.line, je.column, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return p3err_set(err, "%s: not a JSON object", path);
	}
	struct run_info *in = &run->info;
	in->target_name = get_str(&rd, j, "target", 1, "$");
	json_t *prof = json_object_get(j, "target_profile");
	if (json_is_object(prof)) {
		in->target_host = get_str(&rd, prof, "host", 0, "target_profile");
		in->target_port = (int)get_int(&rd, prof, "port", "target_profile");
		in->target_tls_port = (int)get_int(&rd, prof, "tls_port", "target_profile");
	}
	in->runner_version = get_str(&rd, j, "runner_version", 0, "$");
	in->suite_version = get_str(&rd, j, "suite_version", 0, "$");
	in->options = get_str(&rd, j, "options", 0, "$");
	in->strict = json_is_true(json_object_get(j, "strict"));
	in->started = get_str(&rd, j, "started", 0, "$");
	in->duration_ms = get_int(&rd, j, "duration_ms", "$");
	in->greeting = get_str(&rd, j, "greeting", 0, "$");
	in->login_method = get_str(&rd, j, "login_method", 0, "$");
	in->mode = get_str(&rd, j, "mode", 0, "$");
	in->capa = get_strv(&rd, j, "capa", &in->ncapa, "$");
	in->incomplete = json_is_true(json_object_get(j, "incomplete"));
	in->stopped = get_str(&rd, j, "stopped", 0, "$");
	long nr = get_int(&rd, j, "not_run", "$");
	in->not_run = nr > 0 ? (size_t)nr : 0;
	in->redacted = json_is_true(json_object_get(j, "redacted"));
	json_t *shard = json_object_get(j, "shard");
	if (json_is_object(shard)) {
		in->shard_index = (int)get_int(&rd, shard, "index", "$.shard");
		in->shard_count = (int)get_int(&rd, shard, "count", "$.shard");
		if (!rd.failed &&
		    (in->shard_count < 1 || in->shard_index < 1 || in->shard_index > in->shard_count))
			rd_fail(&rd, "$.shard", "index must be from 1 to count");
	}

	json_t *res = json_object_get(j, "results");
	if (!json_is_array(res)) {
		rd_fail(&rd, "$.results", res ? "not an array" : "missing");
	} else if (json_array_size(res) > 0) {
		size_t n = json_array_size(res);
		if (!(run->results = calloc(n, sizeof *run->results)))
			rd_fail(&rd, "$.results", "out of memory");
		else
			run->nresults = n;
		for (size_t i = 0; i < run->nresults && !rd.failed; i++)
			read_result(&rd, json_array_get(res, i), &run->results[i], i);
	}
	json_decref(j);
	if (rd.failed) {
		run_free(run);
		return -1;
	}
	return 0;
}
