/* reqtext.c — reading requirement ids, sections, levels and texts from REQUIREMENTS.md's tables. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runner/report/reqtext.h"

/* Longest row in REQUIREMENTS.md is well under 1 kB; longer lines are skipped whole. */
#define REQ_LINE_MAX 8192

static int is_req_id(const char *s)
{
	if (s[0] == 'R' && isdigit((unsigned char)s[1]))
		return strchr(s, '-') != NULL;
	return s[0] == 'P' && s[1] == '-';
}

/* Split a Markdown table row into at most `max` trimmed cells, in place. Returns the count. */
static size_t split_row(char *line, char **cells, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (*p == ' ')
		p++;
	if (*p != '|')
		return 0;
	p++;
	while (*p && n < max) {
		char *start = p, *w = p;
		while (*p && !(*p == '|' && (p == start || p[-1] != '\\'))) {
			if (*p == '\\' && p[1] == '|') {
				p++;
				continue; /* drop the backslash of "\|" */
			}
			*w++ = *p++;
		}
		if (!*p)
			break; /* text after the last '|' is not a cell */
		p++;
		*w = '\0';
		while (*start == ' ')
			start++;
		for (char *e = w; e > start && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\n'); e--)
			e[-1] = '\0';
		cells[n++] = start;
	}
	return n;
}

static int cmp_req(const void *a, const void *b)
{
	return strcmp(((const struct reqtext *)a)->id, ((const struct reqtext *)b)->id);
}

int reqtab_load(const char *path, struct reqtab *t, struct p3err *err)
{
	memset(t, 0, sizeof *t);
	FILE *f = fopen(path, "r");
	if (!f)
		return p3err_errno(err, "%s: cannot read", path);
	char *line = malloc(REQ_LINE_MAX);
	size_t cap = 0;
	int rc = 0;
	if (!line) {
		fclose(f);
		return p3err_set(err, "%s: out of memory", path);
	}
	while (fgets(line, REQ_LINE_MAX, f)) {
		size_t len = strlen(line);
		if (len == REQ_LINE_MAX - 1 && line[len - 1] != '\n') {
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		char *cells[6];
		if (split_row(line, cells, 6) < 4 || !is_req_id(cells[0]))
			continue;
		if (t->n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct reqtext *nv = realloc(t->v, ncap * sizeof *nv);
			if (!nv) {
				rc = p3err_set(err, "%s: out of memory", path);
				break;
			}
			t->v = nv;
			cap = ncap;
		}
		struct reqtext *r = &t->v[t->n];
		r->id = strdup(cells[0]);
		r->section = strdup(cells[1]);
		r->level = strdup(cells[2]);
		r->text = strdup(cells[3]);
		t->n++;
		if (!r->id || !r->section || !r->level || !r->text) {
			rc = p3err_set(err, "%s: out of memory", path);
			break;
		}
	}
	if (rc == 0 && ferror(f))
		rc = p3err_errno(err, "%s: read error", path);
	free(line);
	fclose(f);
	if (rc != 0) {
		reqtab_free(t);
		return rc;
	}
	if (t->n)
		qsort(t->v, t->n, sizeof *t->v, cmp_req);
	return 0;
}

const struct reqtext *reqtab_find(const struct reqtab *t, const char *id)
{
	if (!t || !t->n || !id)
		return NULL;
	struct reqtext key = {.id = (char *)id};
	return bsearch(&key, t->v, t->n, sizeof *t->v, cmp_req);
}

void reqtab_free(struct reqtab *t)
{
	for (size_t i = 0; t && i < t->n; i++) {
		free(t->v[i].id);
		free(t->v[i].section);
		free(t->v[i].level);
		free(t->v[i].text);
	}
	if (t) {
		free(t->v);
		memset(t, 0, sizeof *t);
	}
}
