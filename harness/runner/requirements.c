/* requirements.c — parsing the requirement catalog's markdown tables, and looking rows up by id. */
#include "runner/requirements.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/datadir.h"

/* The catalog is a few hundred kilobytes; anything far larger is not a catalog. */
#define REQS_MAX_FILE  (16L * 1024 * 1024)
#define REQS_MAX_CELLS 16

bool req_id_valid(const char *id)
{
	const char *p = id;
	if (!id)
		return false;
	/* R: server rows; C: client rows (scenarios/clients/REQUIREMENTS.md, docs/clients.md). */
	if (*p == 'R' || *p == 'C') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	} else if (*p == 'P') {
		p++;
	} else {
		return false;
	}
	if (*p++ != '-')
		return false;
	if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p))
		return false;
	while (isupper((unsigned char)*p) || isdigit((unsigned char)*p))
		p++;
	if (*p++ != '-')
		return false;
	if (!isdigit((unsigned char)*p) || *p == '0')
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == '\0';
}

static bool starts_with_word(const char *s, const char *w)
{
	size_t n = strlen(w);
	return strncmp(s, w, n) == 0 && !isalpha((unsigned char)s[n]);
}

bool req_is_gating(const struct requirement *q)
{
	if (q->practice)
		return false;
	if (!starts_with_word(q->level, "MUST") && !starts_with_word(q->level, "SHOULD"))
		return false;
	if (strstr(q->level, "historic") || strstr(q->level, "withdrawn"))
		return false;
	if (starts_with_word(q->needs, "NO"))
		return false;
	return true;
}

/* A cell's text: trimmed, `\|` → `|`, `\*` → `*` (markdown escapes the catalog uses). */
static char *cell_dup(const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && (s[i + 1] == '|' || s[i + 1] == '*'))
			i++;
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/* Split a table line "| a | b \| c | d |" into cells (start, length); returns the count. */
static size_t split_cells(const char *line, size_t len, const char *cs[], size_t cl[], size_t max)
{
	size_t n = 0, i = 0;
	while (i < len && line[i] != '|')
		i++;
	if (i == len)
		return 0;
	i++;
	size_t start = i;
	for (; i < len; i++) {
		if (line[i] == '\\' && i + 1 < len) {
			i++;
			continue;
		}
		if (line[i] == '|') {
			if (n < max) {
				cs[n] = line + start;
				cl[n] = i - start;
				n++;
			}
			start = i + 1;
		}
	}
	/* Text after the last pipe is a cell only when it is not blank (a row without a closing pipe). */
	bool blank = true;
	for (size_t k = start; k < len; k++)
		if (!isspace((unsigned char)line[k]))
			blank = false;
	if (!blank && n < max) {
		cs[n] = line + start;
		cl[n] = len - start;
		n++;
	}
	return n;
}

static void req_free_fields(struct requirement *q)
{
	free(q->id);
	free(q->section);
	free(q->level);
	free(q->text);
	free(q->observation);
	free(q->needs);
	free(q->heading);
}

void reqs_free(struct reqs *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		req_free_fields(&r->v[i]);
	free(r->v);
	free(r->sorted);
	free(r->file);
	memset(r, 0, sizeof *r);
}

static const struct reqs *sort_ctx;

static int cmp_idx(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return strcmp(sort_ctx->v[x].id, sort_ctx->v[y].id);
}

/* Sorting through a file-scope context is not reentrant; loads happen on the main thread only. */
static int build_index(struct reqs *r, struct p3err *err)
{
	r->sorted = malloc((r->n ? r->n : 1) * sizeof *r->sorted);
	if (!r->sorted)
		return p3err_set(err, "out of memory");
	for (size_t i = 0; i < r->n; i++)
		r->sorted[i] = i;
	sort_ctx = r;
	qsort(r->sorted, r->n, sizeof *r->sorted, cmp_idx);
	sort_ctx = NULL;
	for (size_t i = 1; i < r->n; i++) {
		const struct requirement *a = &r->v[r->sorted[i - 1]], *b = &r->v[r->sorted[i]];
		if (strcmp(a->id, b->id) == 0) {
			const struct requirement *later = a->line > b->line ? a : b;
			const struct requirement *first = a->line > b->line ? b : a;
			return p3err_set(err, "%s:%d:1: duplicate requirement id %s (first on line %d)",
			                 r->file, later->line, later->id, first->line);
		}
	}
	return 0;
}

int reqs_parse(const char *name, const char *buf, size_t len, struct reqs *r, struct p3err *err)
{
	memset(r, 0, sizeof *r);
	char *heading = NULL;
	size_t cap = 0;
	int lineno = 0;
	r->file = strdup(name);
	if (!r->file)
		goto oom;
	for (size_t pos = 0; pos < len;) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll > 0 && line[0] == '#') {
			size_t k = 0;
			while (k < ll && line[k] == '#')
				k++;
			free(heading);
			heading = cell_dup(line + k, ll - k);
			if (!heading)
				goto oom;
			continue;
		}
		if (ll == 0 || line[0] != '|')
			continue;
		const char *cs[REQS_MAX_CELLS];
		size_t cl[REQS_MAX_CELLS];
		size_t nc = split_cells(line, ll, cs, cl, REQS_MAX_CELLS);
		if (nc < 6)
			continue;
		char *id = cell_dup(cs[0], cl[0]);
		if (!id)
			goto oom;
		if (!req_id_valid(id)) {
			free(id);
			continue;
		}
		if (r->n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct requirement *nv = realloc(r->v, ncap * sizeof *nv);
			if (!nv) {
				free(id);
				goto oom;
			}
			r->v = nv;
			cap = ncap;
		}
		struct requirement *q = &r->v[r->n];
		memset(q, 0, sizeof *q);
		q->id = id;
		q->line = lineno;
		q->practice = id[0] == 'P';
		q->section = cell_dup(cs[1], cl[1]);
		q->level = cell_dup(cs[2], cl[2]);
		q->text = cell_dup(cs[3], cl[3]);
		q->observation = cell_dup(cs[4], cl[4]);
		q->needs = cell_dup(cs[5], cl[5]);
		q->heading = strdup(heading ? heading : "");
		r->n++;
		if (!q->section || !q->level || !q->text || !q->observation || !q->needs || !q->heading)
			goto oom;
	}
	free(heading);
	if (build_index(r, err) < 0) {
		reqs_free(r);
		return -1;
	}
	return 0;
oom:
	free(heading);
	reqs_free(r);
	return p3err_set(err, "%s: out of memory", name);
}

int reqs_load(const char *path, struct reqs *r, struct p3err *err)
{
	memset(r, 0, sizeof *r);
	FILE *f = fopen(path, "rb");
	if (!f)
		return p3err_errno(err, "%s: cannot open", path);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 65536 > cap) {
			if (cap >= (size_t)REQS_MAX_FILE) {
				fclose(f);
				free(buf);
				return p3err_set(err,
				                 "%s: larger than %ld octets; not a requirements catalog",
				                 path, REQS_MAX_FILE);
			}
			size_t ncap = cap ? cap * 2 : 131072;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				fclose(f);
				free(buf);
				return p3err_set(err, "%s: out of memory", path);
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return p3err_set(err, "%s: read error", path);
	}
	int rc = reqs_parse(path, buf, len, r, err);
	free(buf);
	return rc;
}

const struct requirement *reqs_find(const struct reqs *r, const char *id)
{
	if (!r || !id || !r->sorted)
		return NULL;
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct requirement *q = &r->v[r->sorted[mid]];
		int c = strcmp(id, q->id);
		if (c == 0)
			return q;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool readable(const char *p)
{
	return access(p, R_OK) == 0;
}

const char *reqs_default_path(char *buf, size_t bufsize)
{
	const char *env = getenv("POP3SPEC_REQUIREMENTS");
	if (env && *env) {
		/* An explicit setting wins even when wrong, so the error names it. */
		snprintf(buf, bufsize, "%s", env);
		return buf;
	}
	/* The team's catalog in ../shared/ first; scenarios/REQUIREMENTS.md is the copy that ships with the
	 * suite (a clean clone or an installed suite has no ../shared). */
	static const char *const rel[] = {"REQUIREMENTS.md", "../shared/REQUIREMENTS.md",
	                                  "scenarios/REQUIREMENTS.md"};
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		if (readable(rel[i])) {
			snprintf(buf, bufsize, "%s", rel[i]);
			return buf;
		}
	}
	/* The executable lives in REPO/bin/ (or build-asan/bin/): try REPO/../shared and one level higher. */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 3; up++) {
			char *slash = strrchr(exe, '/');
			if (!slash)
				break;
			*slash = '\0';
			int w = snprintf(buf, bufsize, "%s/../shared/REQUIREMENTS.md", exe);
			if (w > 0 && (size_t)w < bufsize && readable(buf))
				return buf;
			w = snprintf(buf, bufsize, "%s/scenarios/REQUIREMENTS.md", exe);
			if (w > 0 && (size_t)w < bufsize && readable(buf))
				return buf;
		}
	}
	int w = snprintf(buf, bufsize, "%s/scenarios/REQUIREMENTS.md", datadir());
	if (w > 0 && (size_t)w < bufsize && readable(buf))
		return buf;
	return NULL;
}
