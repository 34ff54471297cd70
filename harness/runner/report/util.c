/* util.c — helpers shared by the reporters: output files, copies of results, UTF-8 validation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "runner/report/util.h"

FILE *report_open(const char *path, struct p3err *err)
{
	if (!path || strcmp(path, "-") == 0)
		return stdout;
	FILE *f = fopen(path, "w");
	if (!f)
		p3err_errno(err, "%s: cannot write", path);
	return f;
}

int report_close(FILE *f, const char *path, struct p3err *err)
{
	int bad = fflush(f) != 0 || ferror(f);
	if (f != stdout && fclose(f) != 0)
		bad = 1;
	if (bad)
		return p3err_errno(err, "%s: write failed", path ? path : "-");
	return 0;
}

char *rdup(const char *s, int *ok)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d && ok)
		*ok = 0;
	return d;
}

static char **dup_strv(char **v, size_t n, int *ok)
{
	if (n == 0)
		return NULL;
	char **d = calloc(n, sizeof *d);
	if (!d) {
		*ok = 0;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		d[i] = rdup(v[i], ok);
	return d;
}

int result_copy(struct result *dst, const struct result *src)
{
	int ok = 1;
	memset(dst, 0, sizeof *dst);
	dst->id = rdup(src->id, &ok);
	dst->title = rdup(src->title, &ok);
	dst->level = rdup(src->level, &ok);
	dst->file = rdup(src->file, &ok);
	dst->refs = dup_strv(src->refs, src->nrefs, &ok);
	dst->nrefs = dst->refs ? src->nrefs : 0;
	dst->tags = dup_strv(src->tags, src->ntags, &ok);
	dst->ntags = dst->tags ? src->ntags : 0;
	dst->status = src->status;
	dst->duration_ms = src->duration_ms;
	dst->message = rdup(src->message, &ok);
	dst->failed_step = rdup(src->failed_step, &ok);
	dst->expected = rdup(src->expected, &ok);
	dst->actual = rdup(src->actual, &ok);
	dst->failed_ref = rdup(src->failed_ref, &ok);
	if (src->ntranscript) {
		dst->transcript = calloc(src->ntranscript, sizeof *dst->transcript);
		if (!dst->transcript) {
			ok = 0;
		} else {
			dst->ntranscript = src->ntranscript;
			for (size_t i = 0; i < src->ntranscript; i++) {
				const struct tline *s = &src->transcript[i];
				struct tline *d = &dst->transcript[i];
				d->t_ms = s->t_ms;
				d->kind = s->kind;
				d->session = rdup(s->session, &ok);
				d->text = rdup(s->text, &ok);
			}
		}
	}
	if (!ok) {
		result_free(dst);
		return -1;
	}
	return 0;
}

int run_info_copy(struct run_info *dst, const struct run_info *src)
{
	int ok = 1;
	*dst = *src;
	dst->target_name = rdup(src->target_name, &ok);
	dst->target_host = rdup(src->target_host, &ok);
	dst->greeting = rdup(src->greeting, &ok);
	dst->capa = dup_strv(src->capa, src->ncapa, &ok);
	dst->ncapa = dst->capa ? src->ncapa : 0;
	dst->runner_version = rdup(src->runner_version, &ok);
	dst->suite_version = rdup(src->suite_version, &ok);
	dst->options = rdup(src->options, &ok);
	dst->started = rdup(src->started, &ok);
	dst->stopped = rdup(src->stopped, &ok);
	dst->login_method = rdup(src->login_method, &ok);
	dst->mode = rdup(src->mode, &ok);
	if (!ok) {
		struct run tmp = {.info = *dst};
		run_free(&tmp);
		memset(dst, 0, sizeof *dst);
		return -1;
	}
	return 0;
}

size_t utf8_seq(const unsigned char *p, size_t n, unsigned *cp)
{
	unsigned c = p[0], min, v;
	size_t len;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, min = 0x80, v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, min = 0x800, v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, min = 0x10000, v = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

char *utf8_sanitize(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	/* Worst case: every byte becomes four characters. */
	char *out = malloc(n * 4 + 1), *o = out;
	if (!out)
		return NULL;
	const unsigned char *p = (const unsigned char *)s;
	while (n) {
		unsigned cp;
		size_t k = utf8_seq(p, n, &cp);
		if (k == 0) {
			o += sprintf(o, "\\x%02X", *p);
			k = 1;
		} else {
			memcpy(o, p, k);
			o += k;
		}
		p += k;
		n -= k;
	}
	*o = '\0';
	return out;
}

int result_cmp_id(const void *a, const void *b)
{
	const struct result *x = a, *y = b;
	return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}
