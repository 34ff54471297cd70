/* fuzz_report.c — libFuzzer target: the JSON, JUnit and HTML reporters fed a run whose every string (ids,
 * titles, messages, expected/actual, transcript lines, target name, greeting, CAPA) is arbitrary octets: what
 * a hostile server or a careless scenario author can put there. The input is cut at NUL octets into those
 * strings; two octets choose verdicts and counts. Checks: the JSON parses (jansson) and reads back through
 * report_json_read, with every valid UTF-8 id equal to what was written; the JUnit XML parses (expat); the
 * HTML holds only the elements the reporter writes itself (listed below) and well-formed references, exactly
 * one <script> and one <style>, and so no injected markup. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <expat.h>
#include <jansson.h>

#include "fuzz_util.h"
#include "runner/report/report.h"
#include "runner/report/util.h"
#include "runner/result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c)) {                                                                                  \
			fprintf(stderr, "fuzz_report: %s (line %d)\n", #c, __LINE__);                        \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

struct strs {
	const uint8_t *p;
	size_t left;
};

/* The next NUL-terminated piece of the input, malloc'd (the empty string when the input is used up). */
static char *next(struct strs *s)
{
	const uint8_t *z = memchr(s->p, 0, s->left);
	size_t n = z ? (size_t)(z - s->p) : s->left;
	char *r = malloc(n + 1);

	CHECK(r);
	memcpy(r, s->p, n);
	r[n] = '\0';
	s->p += z ? n + 1 : n;
	s->left -= z ? n + 1 : n;
	return r;
}

static void build(struct run *run, const uint8_t *data, size_t size)
{
	struct strs s = {data + 2, size - 2};
	size_t nres = 1 + data[0] % 4, ntl = data[1] % 6;

	memset(run, 0, sizeof *run);
	run->info.target_name = next(&s);
	run->info.target_host = next(&s);
	run->info.target_port = 110;
	run->info.greeting = next(&s);
	run->info.ncapa = 2;
	run->info.capa = calloc(2, sizeof(char *));
	CHECK(run->info.capa);
	run->info.capa[0] = next(&s);
	run->info.capa[1] = next(&s);
	run->info.runner_version = strdup("0.1.0");
	run->info.suite_version = next(&s);
	run->info.options = next(&s);
	run->info.started = strdup("2026-01-01T00:00:00Z");
	run->info.strict = data[1] >> 7;
	run->results = calloc(nres, sizeof *run->results);
	CHECK(run->results);
	run->nresults = nres;
	for (size_t i = 0; i < nres; i++) {
		struct result *r = &run->results[i];
		r->id = next(&s);
		if (!r->id[0]) {
			/* Ids must be distinct and non-empty for the read-back; keep fuzzed ones otherwise.
			 */
			free(r->id);
			CHECK(asprintf(&r->id, "x/%zu", i) > 0);
		}
		r->title = next(&s);
		r->level = next(&s);
		r->file = next(&s);
		r->nrefs = 1;
		r->refs = calloc(1, sizeof(char *));
		CHECK(r->refs);
		r->refs[0] = next(&s);
		r->ntags = 1;
		r->tags = calloc(1, sizeof(char *));
		CHECK(r->tags);
		r->tags[0] = next(&s);
		r->status = (enum verdict)((data[0] >> (2 + i)) % 5);
		r->message = next(&s);
		r->failed_step = next(&s);
		r->expected = next(&s);
		r->actual = next(&s);
		r->failed_ref = next(&s);
		r->ntranscript = ntl;
		r->transcript = calloc(ntl ? ntl : 1, sizeof *r->transcript);
		CHECK(r->transcript);
		for (size_t k = 0; k < ntl; k++) {
			static const char kinds[] = {'C', 'S', '*'};
			r->transcript[k].kind = kinds[k % 3];
			r->transcript[k].t_ms = (double)k;
			r->transcript[k].session = next(&s);
			r->transcript[k].text = next(&s);
		}
	}
	/* Duplicate ids would be refused by the reader (merge); make them distinct. */
	for (size_t i = 1; i < nres; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(run->results[i].id, run->results[j].id) == 0) {
				free(run->results[i].id);
				CHECK(asprintf(&run->results[i].id, "dup/%zu", i) > 0);
				break;
			}
}

static int valid_utf8(const char *s)
{
	size_t n = strlen(s);
	unsigned cp;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq((const unsigned char *)s + i, n - i, &cp);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	CHECK(f);
	CHECK(fseek(f, 0, SEEK_END) == 0);
	len = ftell(f);
	CHECK(len >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	CHECK(buf);
	CHECK(fread(buf, 1, (size_t)len, f) == (size_t)len);
	buf[len] = '\0';
	fclose(f);
	*n = (size_t)len;
	return buf;
}

/* ---- HTML ------------------------------------------------------------------------------------------ */

/* Every element the HTML reporter writes (runner/report/html*.c); nothing else may appear. */
static const char *const allowed[] = {
    "a",       "b",      "body",  "br",     "button", "code",    "dd",     "details", "div",
    "dl",      "dt",     "em",    "footer", "form",   "h1",      "h2",     "h3",      "head",
    "header",  "html",   "i",     "input",  "label",  "li",      "main",   "mark",    "meta",
    "option",  "output", "p",     "pre",    "script", "section", "select", "span",    "style",
    "summary", "table",  "tbody", "td",     "th",     "thead",   "title",  "tr",      "ul"};
static const size_t nallowed = sizeof allowed / sizeof allowed[0];

static size_t count(const char *hay, const char *needle)
{
	size_t c = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		c++;
	return c;
}

/* Walk the markup, checking every tag name and entity. Returns 0 when fine. */
static int html_walk(const char *h)
{
	for (const char *p = h; *p; p++) {
		if (*p == '<') {
			char name[16];
			size_t k = 0;
			const char *q = p + 1;
			if (strncmp(q, "!--", 3) == 0 || strncasecmp(q, "!DOCTYPE", 8) == 0)
				continue;
			if (*q == '/')
				q++;
			while (isalnum((unsigned char)*q) && k < sizeof name - 1)
				name[k++] = (char)tolower((unsigned char)*q++);
			name[k] = '\0';
			if (k == 0) {
				fprintf(stderr, "fuzz_report: raw '<' in HTML: %.40s\n", p);
				return -1;
			}
			size_t i;
			for (i = 0; i < nallowed; i++)
				if (strcmp(allowed[i], name) == 0)
					break;
			if (i == nallowed) {
				fprintf(stderr, "fuzz_report: tag <%s> the reporter never writes: %.60s\n",
				        name, p);
				return -1;
			}
			/* Skip the script and the stylesheet bodies: constant text of the reporter. */
			if (strcmp(name, "script") == 0 || strcmp(name, "style") == 0) {
				char end[16];
				const char *e;
				snprintf(end, sizeof end, "</%s>", name);
				if (p[1] != '/' && (e = strstr(p, end)) != NULL)
					p = e + strlen(end) - 1;
			}
		} else if (*p == '&') {
			const char *q = p + 1;
			if (*q == '#') {
				q++;
				if (*q == 'x')
					q++;
				while (isxdigit((unsigned char)*q))
					q++;
			} else {
				while (isalnum((unsigned char)*q))
					q++;
			}
			if (*q != ';' || q == p + 1) {
				fprintf(stderr, "fuzz_report: raw '&' in HTML: %.40s\n", p);
				return -1;
			}
		}
	}
	return 0;
}

static const char *dir;

static void write_all(const struct run *run)
{
	char p[512];
	struct p3err err;
	size_t n;
	char *buf;

	/* JSON */
	snprintf(p, sizeof p, "%s/r.json", dir);
	CHECK(report_json_write(run, p, &err) == 0);
	{
		json_error_t je;
		json_t *j = json_load_file(p, 0, &je);
		struct run back;
		if (!j) {
			fprintf(stderr, "fuzz_report: JSON does not parse: %s (line %d)\n", je.text, je.line);
			abort();
		}
		json_decref(j);
		memset(&back, 0, sizeof back);
		if (report_json_read(p, &back, &err) != 0) {
			fprintf(stderr, "fuzz_report: JSON not read back: %s\n", err.msg);
			abort();
		}
		CHECK(back.nresults == run->nresults);
		for (size_t i = 0; i < run->nresults; i++) {
			const char *id = run->results[i].id;
			if (valid_utf8(id)) {
				size_t k;
				for (k = 0; k < back.nresults; k++)
					if (back.results[k].id && strcmp(back.results[k].id, id) == 0)
						break;
				CHECK(k < back.nresults);
			}
		}
		run_free(&back);
	}
	/* JUnit */
	snprintf(p, sizeof p, "%s/r.xml", dir);
	CHECK(report_junit_write(run, p, &err) == 0);
	buf = slurp(p, &n);
	{
		XML_Parser x = XML_ParserCreate(NULL);
		CHECK(x);
		if (XML_Parse(x, buf, (int)n, 1) != XML_STATUS_OK) {
			fprintf(stderr, "fuzz_report: JUnit XML does not parse: %s at line %lu\n",
			        XML_ErrorString(XML_GetErrorCode(x)),
			        (unsigned long)XML_GetCurrentLineNumber(x));
			abort();
		}
		XML_ParserFree(x);
	}
	free(buf);
	/* HTML */
	snprintf(p, sizeof p, "%s/r.html", dir);
	CHECK(report_html_write(run, NULL, p, &err) == 0);
	buf = slurp(p, &n);
	CHECK(strlen(buf) == n); /* no NUL octet in the page */
	CHECK(count(buf, "<script") == 1 && count(buf, "</script") == 1);
	CHECK(count(buf, "<style") == 1 && count(buf, "</style") == 1);
	if (html_walk(buf) != 0)
		abort();
	free(buf);
}

static void setup(void)
{
	static const uint8_t benign[] =
	    "\x1f\x05t\0h\0+OK ready\0USER\0SASL PLAIN\0v1\0-j 2\0"
	    "rfc1939/a\0Title\0MUST\0f.yaml\0R1939-GEN-1\0tag\0msg\0step 1\0+OK\0-ERR\0"
	    "R1939-GEN-1\0main\0USER a\0s2\0+OK\0main\0note\0";
	struct run run;

	dir = fz_tmpdir("report");
	build(&run, benign, sizeof benign - 1);
	write_all(&run);
	run_free(&run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run run;

	if (!dir)
		setup();
	if (size < 2 || size > 65536)
		return 0;
	build(&run, data, size);
	write_all(&run);
	run_free(&run);
	return 0;
}
