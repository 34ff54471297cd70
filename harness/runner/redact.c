/* redact.c — replacing the accounts' secrets in every text a report shows: the passwords as they are, and
 * base64 words that decode to text holding a password (how SASL PLAIN and LOGIN carry them). */
#include "runner/redact.h"

#include <stdlib.h>
#include <string.h>

#include "lib/b64.h"

static const struct redactor *live;

static int longer(const void *a, const void *b)
{
	size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The base64 characters that depend only on the password's octets when a octets (0-2) precede it: bits
 * [8a, 8(a+len)) of the stream, so the characters from ceil(8a/6) to floor(8(a+len)/6) - 1. *out is NULL
 * when that is shorter than REDACT_MIN_CORE. */
static int core(const char *pw, size_t len, size_t a, char **out)
{
	*out = NULL;
	size_t j0 = (8 * a + 5) / 6, j1 = 8 * (a + len) / 6; /* [j0, j1) */
	if (j1 < j0 + REDACT_MIN_CORE)
		return 0;
	unsigned char *buf = calloc(1, a + len + 1);
	char *enc = malloc(b64_encoded_len(a + len) + 1);
	if (!buf || !enc) {
		free(buf);
		free(enc);
		return -1;
	}
	memcpy(buf + a, pw, len);
	b64_encode(buf, a + len, enc);
	free(buf);
	memmove(enc, enc + j0, j1 - j0);
	enc[j1 - j0] = '\0';
	*out = enc;
	return 0;
}

int redactor_init(struct redactor *r, const struct target *t)
{
	memset(r, 0, sizeof *r);
	if (t->naccounts == 0)
		return 0;
	r->secrets = calloc(2 * t->naccounts, sizeof *r->secrets);
	r->b64 = calloc(2 * t->naccounts, sizeof *r->b64);
	r->cores = calloc(2 * t->naccounts, sizeof *r->cores);
	if (!r->secrets || !r->b64 || !r->cores)
		goto oom;
	for (size_t i = 0; i < 2 * t->naccounts; i++) {
		/* The passwords, and the APOP secrets a profile keeps apart (never sent, but a scenario could
		 * put one on a line: ${apop_secret}). */
		const char *p =
		    i < t->naccounts ? t->accounts[i].password : t->accounts[i - t->naccounts].apop_secret;
		if (!p || !*p)
			continue;
		int dup = 0;
		for (size_t k = 0; k < r->n && !dup; k++)
			dup = strcmp(r->secrets[k], p) == 0;
		if (dup)
			continue;
		if (!(r->secrets[r->n] = strdup(p)))
			goto oom;
		r->n++;
	}
	/* Longest first, so a password that contains another is replaced whole. */
	if (r->n > 1)
		qsort(r->secrets, r->n, sizeof *r->secrets, longer);
	for (size_t k = 0; k < r->n; k++) {
		size_t len = strlen(r->secrets[k]);
		if (!(r->b64[k] = malloc(b64_encoded_len(len) + 1)))
			goto oom;
		b64_encode(r->secrets[k], len, r->b64[k]);
		r->b64[k][b64_encoded_len(len)] = '\0';
		for (size_t a = 0; a < 3; a++)
			if (core(r->secrets[k], len, a, &r->cores[k][a]) < 0)
				goto oom;
	}
	return 0;
oom:
	redactor_free(r);
	return -1;
}

void redactor_free(struct redactor *r)
{
	for (size_t k = 0; r->secrets && k < r->n; k++) {
		free(r->secrets[k]);
		if (r->b64)
			free(r->b64[k]);
		for (int a = 0; r->cores && a < 3; a++)
			free(r->cores[k][a]);
	}
	free(r->secrets);
	free(r->b64);
	free(r->cores);
	memset(r, 0, sizeof *r);
}

static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
	       c == '/' || c == '=';
}

/* Whether the base64 word w[0..n) holds a secret: it is one's encoding, or holds one's core. */
static int b64_secret(const struct redactor *r, const char *w, size_t n)
{
	for (size_t k = 0; k < r->n; k++) {
		if (strlen(r->b64[k]) == n && memcmp(r->b64[k], w, n) == 0)
			return 1;
		for (int a = 0; a < 3; a++) {
			const char *c = r->cores[k][a];
			size_t cl = c ? strlen(c) : 0;
			for (size_t i = 0; cl && i + cl <= n; i++)
				if (memcmp(w + i, c, cl) == 0)
					return 1;
		}
	}
	return 0;
}

/* Append s[0..n) to the growing buffer; -1 when out of memory. */
static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = (*cap ? *cap * 2 : 64) + n;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

char *redact_text(const struct redactor *r, const char *s, int *failed)
{
	if (!s || !r || r->n == 0)
		return NULL;
	char *out = NULL;
	size_t len = 0, cap = 0;
	int changed = 0;
	const size_t mark = strlen(REDACT_MARK);
	for (const char *p = s; *p;) {
		size_t k;
		for (k = 0; k < r->n; k++)
			if (strncmp(p, r->secrets[k], strlen(r->secrets[k])) == 0)
				break;
		if (k < r->n) {
			if (put(&out, &len, &cap, REDACT_MARK, mark) < 0)
				goto oom;
			p += strlen(r->secrets[k]);
			changed = 1;
			continue;
		}
		/* A base64 word: a run of its alphabet starting where a word starts. */
		if (b64_char(*p) && (p == s || !b64_char(p[-1]))) {
			size_t n = 0;
			while (b64_char(p[n]))
				n++;
			if (b64_secret(r, p, n)) {
				if (put(&out, &len, &cap, REDACT_MARK, mark) < 0)
					goto oom;
				p += n;
				changed = 1;
				continue;
			}
		}
		if (put(&out, &len, &cap, p, 1) < 0)
			goto oom;
		p++;
	}
	if (changed)
		return out ? out : strdup("");
	free(out);
	return NULL;
oom:
	free(out);
	if (failed)
		*failed = 1;
	return NULL;
}

/* Replace *s by its redacted copy when it holds a secret. */
static void redact_field(const struct redactor *r, char **s, int *failed)
{
	char *red = redact_text(r, *s, failed);
	if (red) {
		free(*s);
		*s = red;
	}
}

int redact_run(const struct redactor *r, struct run *run)
{
	int failed = 0;
	for (size_t i = 0; i < run->nresults; i++) {
		struct result *x = &run->results[i];
		redact_field(r, &x->message, &failed);
		redact_field(r, &x->failed_step, &failed);
		redact_field(r, &x->expected, &failed);
		redact_field(r, &x->actual, &failed);
		for (size_t k = 0; k < x->ntranscript; k++)
			redact_field(r, &x->transcript[k].text, &failed);
	}
	return redact_info(r, &run->info) < 0 || failed ? -1 : 0;
}

int redact_info(const struct redactor *r, struct run_info *in)
{
	int failed = 0;
	/* The options hold no account secret today; the greeting and CAPA are the server's, but a server
	 * could echo anything. */
	redact_field(r, &in->options, &failed);
	redact_field(r, &in->greeting, &failed);
	for (size_t k = 0; k < in->ncapa; k++)
		redact_field(r, &in->capa[k], &failed);
	in->redacted = 1;
	return failed ? -1 : 0;
}

void redact_set_live(const struct redactor *r)
{
	live = r;
}

const struct redactor *redact_live(void)
{
	return live;
}
