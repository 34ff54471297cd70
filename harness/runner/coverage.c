/* coverage.c — requirement coverage of the suite: who cites what, what is missing, and the report. */
#include "runner/coverage.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---------- docs/coverage.md ---------- */

void coverage_listed_free(struct cov_listed *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->ids[i]);
	free(l->ids);
	free(l->lines);
	free(l->file);
	memset(l, 0, sizeof *l);
}

/* The first cell of a table row, trimmed, backticks and emphasis stripped, into buf. */
static bool first_cell(const char *line, size_t len, char *buf, size_t bufsize)
{
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] != '|')
		return false;
	i++;
	size_t k = 0;
	for (; i < len && line[i] != '|'; i++) {
		char ch = line[i];
		if (ch == '`' || ch == '*' || isspace((unsigned char)ch))
			continue;
		if (k + 1 >= bufsize)
			return false;
		buf[k++] = ch;
	}
	buf[k] = '\0';
	return i < len;
}

int coverage_read_listed(const char *path, struct cov_listed *l, struct p3err *err)
{
	memset(l, 0, sizeof *l);
	FILE *f = fopen(path, "r");
	if (!f)
		return p3err_errno(err, "%s: cannot open", path);
	l->file = strdup(path);
	char line[4096];
	int lineno = 0;
	size_t cap = 0;
	int rc = l->file ? 0 : p3err_set(err, "out of memory");
	while (rc == 0 && fgets(line, sizeof line, f)) {
		size_t len = strlen(line);
		bool whole = len > 0 && line[len - 1] == '\n';
		lineno++;
		char id[64];
		if (first_cell(line, len, id, sizeof id) && req_id_valid(id)) {
			if (l->n == cap) {
				size_t ncap = cap ? cap * 2 : 32;
				char **ni = realloc(l->ids, ncap * sizeof *ni);
				if (ni)
					l->ids = ni;
				int *nl = ni ? realloc(l->lines, ncap * sizeof *nl) : NULL;
				if (!ni || !nl) {
					rc = p3err_set(err, "out of memory");
					break;
				}
				l->lines = nl;
				cap = ncap;
			}
			l->ids[l->n] = strdup(id);
			l->lines[l->n] = lineno;
			if (!l->ids[l->n]) {
				rc = p3err_set(err, "out of memory");
				break;
			}
			l->n++;
		}
		/* A line longer than the buffer: skip its rest, it cannot start a row. */
		while (!whole && fgets(line, sizeof line, f)) {
			len = strlen(line);
			whole = len > 0 && line[len - 1] == '\n';
		}
	}
	if (rc == 0 && ferror(f))
		rc = p3err_set(err, "%s: read error", path);
	fclose(f);
	if (rc < 0)
		coverage_listed_free(l);
	return rc;
}

/* ---------- computing ---------- */

void coverage_free(struct coverage *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrows; i++)
		free(c->rows[i].scenarios);
	free(c->rows);
	memset(c, 0, sizeof *c);
}

static int cite(struct coverage *c, const struct reqs *r, const char *id, size_t sci, struct p3err *err)
{
	const struct requirement *q = id ? reqs_find(r, id) : NULL;
	if (!q)
		return 0; /* the loader has rejected unknown ids when it had the catalog */
	struct cov_row *row = &c->rows[q - r->v];
	if (row->n && row->scenarios[row->n - 1] == sci)
		return 0; /* one scenario citing a row twice counts once */
	size_t *nv = realloc(row->scenarios, (row->n + 1) * sizeof *nv);
	if (!nv)
		return p3err_set(err, "out of memory");
	row->scenarios = nv;
	row->scenarios[row->n++] = sci;
	return 0;
}

static int cite_expect(struct coverage *c, const struct reqs *r, const struct expect *e, size_t sci,
                       struct p3err *err)
{
	if (cite(c, r, e->ref, sci, err) < 0)
		return -1;
	for (size_t i = 0; i < e->n_one_of; i++)
		if (cite_expect(c, r, &e->one_of[i], sci, err) < 0)
			return -1;
	return 0;
}

int coverage_compute(const struct reqs *r, struct scenario *const *sc, size_t n,
                     const struct cov_listed *listed, struct coverage *c, struct p3err *err)
{
	memset(c, 0, sizeof *c);
	c->rows = calloc(r->n ? r->n : 1, sizeof *c->rows);
	if (!c->rows)
		return p3err_set(err, "out of memory");
	c->nrows = r->n;
	for (size_t i = 0; i < r->n; i++) {
		c->rows[i].req = &r->v[i];
		c->rows[i].gating = req_is_gating(&r->v[i]);
		if (r->v[i].practice)
			c->practice_rows++;
		else
			c->rfc_rows++;
	}
	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < sc[s]->nrefs; i++)
			if (cite(c, r, sc[s]->refs[i], s, err) < 0)
				goto fail;
		for (size_t i = 0; i < sc[s]->nsteps; i++) {
			const struct step *st = &sc[s]->steps[i];
			for (size_t e = 0; e < st->n_expect; e++)
				if (cite_expect(c, r, &st->expect[e], s, err) < 0)
					goto fail;
			if (st->kind == STEP_ASSERT && cite(c, r, st->u.assert_.ref, s, err) < 0)
				goto fail;
		}
	}
	for (size_t i = 0; listed && i < listed->n; i++) {
		const struct requirement *q = reqs_find(r, listed->ids[i]);
		if (q)
			c->rows[q - r->v].listed = true;
		else
			c->listed_unknown++;
	}
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cov_row *row = &c->rows[i];
		if (row->n)
			c->covered++;
		if (!row->gating)
			continue;
		c->gating++;
		if (row->n)
			c->gating_covered++;
		else if (row->listed)
			c->gating_listed++;
		else
			c->gating_missing++;
	}
	return 0;
fail:
	coverage_free(c);
	return -1;
}

/* ---------- the report ---------- */

void coverage_print(FILE *out, FILE *warn, const struct coverage *c, struct scenario *const *sc,
                    const struct cov_listed *listed, const struct reqs *r)
{
	for (size_t i = 0; listed && i < listed->n; i++)
		if (!reqs_find(r, listed->ids[i]))
			fprintf(warn, "%s:%d:1: warning: %s is not a requirement of %s\n", listed->file,
			        listed->lines[i], listed->ids[i], r->file);

	fprintf(out, "%-16s %-19s %s\n", "REQUIREMENT", "LEVEL", "SCENARIOS");
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cov_row *row = &c->rows[i];
		fprintf(out, "%-16s %-19s ", row->req->id, row->req->level);
		if (!row->n)
			fputc('-', out);
		for (size_t k = 0; k < row->n; k++)
			fprintf(out, "%s%s", k ? ", " : "", sc[row->scenarios[k]]->id);
		if (row->gating && !row->n)
			fputs(row->listed ? "  uncovered by design" : "  MISSING", out);
		else if (row->listed && row->n)
			fputs("  (also listed as uncovered)", out);
		fputc('\n', out);
	}
	fprintf(out, "\nrequirements: %zu (%zu RFC, %zu practice); cited by a scenario: %zu\n", c->nrows,
	        c->rfc_rows, c->practice_rows, c->covered);
	fprintf(out, "observable MUST/SHOULD: %zu; covered: %zu; uncovered by design: %zu; missing: %zu\n",
	        c->gating, c->gating_covered, c->gating_listed, c->gating_missing);
	if (c->gating_missing) {
		fputs("missing:", out);
		for (size_t i = 0; i < c->nrows; i++)
			if (c->rows[i].gating && !c->rows[i].n && !c->rows[i].listed)
				fprintf(out, " %s", c->rows[i].req->id);
		fputc('\n', out);
	}
}
