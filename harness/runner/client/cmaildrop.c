/* cmaildrop.c — the built-in server's maildrop: a fixture Maildir read into memory (messages in
 * file-name order, sizes as sent, unique-ids as lib/maildir gives them), and messages added between the
 * two runs of a scenario. */
#include "runner/client/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/maildir.h"

int cmaildrop_load(const char *dir, struct cmaildrop *m, struct p3err *err)
{
	memset(m, 0, sizeof *m);
	struct maildir md;
	if (maildir_scan(dir, &md, err) < 0)
		return -1;
	m->msgs = calloc(md.count ? md.count : 1, sizeof *m->msgs);
	if (!m->msgs) {
		maildir_free(&md);
		return p3err_set(err, "out of memory");
	}
	for (size_t i = 0; i < md.count; i++, m->n++) {
		struct cmsg *g = &m->msgs[i];
		FILE *f = fopen(md.msgs[i].path, "rb");
		if (!f) {
			p3err_errno(err, "%s", md.msgs[i].path);
			goto fail;
		}
		size_t cap = 4096;
		g->data = malloc(cap);
		size_t r;
		while (g->data && (r = fread(g->data + g->len, 1, cap - g->len, f)) > 0) {
			g->len += r;
			if (g->len == cap) {
				char *n = realloc(g->data, cap *= 2);
				if (!n) {
					free(g->data);
					g->data = NULL;
				}
				g->data = n;
			}
		}
		fclose(f);
		if (!g->data) {
			p3err_set(err, "out of memory");
			goto fail;
		}
		g->size = md.msgs[i].size;
		snprintf(g->uid, sizeof g->uid, "%s", md.msgs[i].uid);
	}
	maildir_free(&md);
	return 0;
fail:
	maildir_free(&md);
	cmaildrop_free(m);
	return -1;
}

int cmaildrop_append(struct cmaildrop *m, const struct cmaildrop *add, struct p3err *err)
{
	struct cmsg *v = realloc(m->msgs, (m->n + add->n + 1) * sizeof *v);
	if (!v)
		return p3err_set(err, "out of memory");
	m->msgs = v;
	for (size_t i = 0; i < add->n; i++) {
		struct cmsg *g = &m->msgs[m->n];
		*g = add->msgs[i];
		g->deleted = false;
		g->data = malloc(add->msgs[i].len + 1);
		if (!g->data)
			return p3err_set(err, "out of memory");
		memcpy(g->data, add->msgs[i].data, add->msgs[i].len);
		snprintf(g->uid, sizeof g->uid, "new-%.60s", add->msgs[i].uid);
		m->n++;
	}
	return 0;
}

void cmaildrop_compact(struct cmaildrop *m)
{
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->msgs[i].deleted) {
			free(m->msgs[i].data);
			continue;
		}
		m->msgs[k++] = m->msgs[i];
	}
	m->n = k;
}

void cmaildrop_free(struct cmaildrop *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->msgs[i].data);
	free(m->msgs);
	memset(m, 0, sizeof *m);
}
