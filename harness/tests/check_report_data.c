/* check_report_data.c — the hand-built runs the report tests share, and a deep run comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_report_data.h"

static char *S(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char **V(size_t *n, const char *a, const char *b, const char *c)
{
	const char *in[3] = {a, b, c};
	char **v = calloc(3, sizeof *v);
	*n = 0;
	for (int i = 0; i < 3; i++)
		if (in[i])
			v[(*n)++] = S(in[i]);
	if (!*n) {
		free(v);
		v = NULL;
	}
	return v;
}

static void tl(struct result *r, double t, char kind, const char *session, const char *text)
{
	r->transcript = realloc(r->transcript, (r->ntranscript + 1) * sizeof *r->transcript);
	struct tline *x = &r->transcript[r->ntranscript++];
	x->t_ms = t;
	x->kind = kind;
	x->session = S(session);
	x->text = S(text);
}

static void fill(struct result *r, size_t i)
{
	memset(r, 0, sizeof *r);
	switch (i) {
	case 0:
		r->id = S("rfc1939/dele/marked-not-retrievable");
		r->title = S("A message marked deleted cannot be retrieved");
		r->level = S("MUST");
		r->file = S("scenarios/rfc1939/dele/marked-not-retrievable.yaml");
		r->refs = V(&r->nrefs, "R1939-DELE-3", "R1939-RETR-2", NULL);
		r->tags = V(&r->ntags, "dele", "retr", NULL);
		r->status = VERDICT_FAIL;
		r->duration_ms = 42;
		r->message = S("RETR of a deleted message answered +OK");
		r->failed_step = S("step 4 (send: RETR 1)");
		r->expected = S("-ERR");
		r->actual = S("+OK 120 octets <script>alert(1)</script>");
		r->failed_ref = S("R1939-DELE-3");
		tl(r, 0.25, '*', "main", "connected to 127.0.0.1:1110");
		tl(r, 1.5, 'S', "main", "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>");
		tl(r, 2.0, 'C', "main", "USER alice");
		tl(r, 2.5, 'S', "main", "+OK");
		tl(r, 3.0, 'C', "main", "DELE 1");
		tl(r, 3.5, 'S', "main", "+OK message 1 deleted");
		tl(r, 4.0, 'C', "main", "RETR 1");
		tl(r, 4.5, 'S', "main", "+OK 120 octets <script>alert(1)</script>");
		break;
	case 1:
		r->id = S("rfc1939/retr/long-transcript");
		r->title = S("RETR of a long message");
		r->level = S("MUST");
		r->refs = V(&r->nrefs, "R1939-RETR-1", NULL, NULL);
		r->status = VERDICT_PASS;
		r->duration_ms = 1234;
		r->message = S("");
		for (int k = 0; k < RD_LONG_LINES; k++) {
			char line[64];
			snprintf(line, sizeof line, "line %05d of the message", k);
			tl(r, 10.0 + k * 0.125, k == 0 ? 'C' : 'S', "main", line);
		}
		break;
	case 2:
		r->id = S("rfc2449/capa/lines-max-512");
		r->title = S("CAPA lines are at most 512 octets");
		r->level = S("SHOULD");
		r->refs = V(&r->nrefs, "R2449-LEN-3", NULL, NULL);
		r->tags = V(&r->ntags, "capa", NULL, NULL);
		r->status = VERDICT_WARN;
		r->duration_ms = 7;
		r->message = S("a CAPA line is 600 octets long");
		r->failed_step = S("step 2 (send: CAPA)");
		r->failed_ref = S("R2449-LEN-3");
		tl(r, 0, 'C', "main", "CAPA");
		tl(r, 1, 'S', "main", "+OK");
		break;
	case 3:
		r->id = S("rfc2595/stls/once");
		r->title = S("STLS is accepted only once");
		r->level = S("MUST");
		r->refs = V(&r->nrefs, "R2595-STLS-4", NULL, NULL);
		r->tags = V(&r->ntags, "tls", "slow", NULL);
		r->status = VERDICT_SKIP;
		r->message = S("unsupported: STLS");
		tl(r, 0, 'C', "main", "STLS");
		tl(r, 0.5, 'S', "main", "+OK Begin TLS negotiation");
		tl(r, 9.75, '*', "main", "TLS started: TLSv1.3 TLS_AES_256_GCM_SHA384");
		tl(r, 10.0, 'C', "other", "STLS");
		tl(r, 10.5, 'S', "other", "-ERR already in TLS");
		break;
	case 4:
		r->id = S("rfc5034/auth/plain-initial");
		r->title = S("AUTH PLAIN with an initial response & \"quotes\" 'too'");
		r->level = S("MUST");
		r->refs = V(&r->nrefs, "R5034-AUTH-2", "R4616-PLAIN-1", NULL);
		r->status = VERDICT_ERROR;
		r->duration_ms = 5000;
		r->message = S("timeout after 5 s: server sent \x01\x1b[31mred\xff\xfe ]]> & <b>");
		r->failed_step = S("step 3 (auth: PLAIN)");
		r->expected = S("+OK or -ERR within 5 s");
		r->actual = S("\x80\x81 nothing \x7f\xc3");
		tl(r, 0, 'C', "main", "AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=");
		tl(r, 5000, '*', "main", "timeout \x02\xef\xbf\xbf]]>");
		break;
	case 5:
		r->id = S("rfc1939/stat/counts");
		r->title = S("STAT counts messages and octets");
		r->level = S("MUST");
		r->refs = V(&r->nrefs, "R1939-STAT-1", NULL, NULL);
		r->status = VERDICT_PASS;
		r->duration_ms = 3;
		tl(r, 0, 'C', "main", "STAT");
		tl(r, 1, 'S', "main", "+OK 3 1205");
		break;
	case 6:
		r->id = S("robustness/long-line");
		r->title = S("A 10 kB line gets -ERR");
		r->level = S("MUST");
		r->refs = V(&r->nrefs, "R2449-LEN-1", NULL, NULL);
		r->status = VERDICT_FAIL;
		r->duration_ms = 12;
		r->message = S("line not CRLF-terminated");
		r->failed_ref = S("R1939-GEN-6");
		tl(r, 0, 'S', "main", "-ERR line too long\\n");
		break;
	case 7:
		r->id = S("lonely");
		r->title = S("An id with no group");
		r->level = S("MAY");
		r->status = VERDICT_PASS;
		break;
	case 8:
		r->id = S("rfc6856/utf8/body");
		r->title = S("UTF-8 text: Grüße ☃");
		r->level = S("MAY");
		r->refs = V(&r->nrefs, "R6856-UTF8-1", NULL, NULL);
		r->tags = V(&r->ntags, "utf8", NULL, NULL);
		r->status = VERDICT_PASS;
		r->duration_ms = 2;
		tl(r, 0, 'S', "main", "Grüße ☃ \\x00");
		break;
	}
}

static void info(struct run_info *in, const char *name)
{
	memset(in, 0, sizeof *in);
	in->target_name = S(name ? name : "refd");
	in->target_host = S("127.0.0.1");
	in->target_port = 1110;
	in->target_tls_port = 1995;
	in->greeting = S("+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>");
	in->capa = V(&in->ncapa, "TOP", "IMPLEMENTATION pop3refd <b>0.1</b>", "SASL PLAIN CRAM-MD5");
	in->runner_version = S("0.1.0");
	in->suite_version = S("0.1.0-suite");
	in->options = S("--reference --json x.json");
	in->started = S("2026-11-01T12:00:00Z");
	in->duration_ms = 6300;
}

void rd_run(struct run *run, const char *name)
{
	size_t idx[RD_NRESULTS];
	for (size_t i = 0; i < RD_NRESULTS; i++)
		idx[i] = i;
	rd_run_subset(run, name, idx, RD_NRESULTS);
}

void rd_run_subset(struct run *run, const char *name, const size_t *idx, size_t n)
{
	memset(run, 0, sizeof *run);
	info(&run->info, name);
	run->results = calloc(n ? n : 1, sizeof *run->results);
	run->nresults = n;
	for (size_t i = 0; i < n; i++)
		fill(&run->results[i], idx[i]);
}

static int str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static int strv_eq(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return 0;
	return 1;
}

#define DIFF(...)                                                                                            \
	do {                                                                                                 \
		snprintf(why, whysize, __VA_ARGS__);                                                         \
		return 0;                                                                                    \
	} while (0)

int rd_equal(const struct run *a, const struct run *b, int timing, char *why, size_t whysize)
{
	const struct run_info *x = &a->info, *y = &b->info;
	if (!str_eq(x->target_name, y->target_name) || !str_eq(x->target_host, y->target_host) ||
	    x->target_port != y->target_port || x->target_tls_port != y->target_tls_port)
		DIFF("target differs");
	if (!str_eq(x->greeting, y->greeting) || !strv_eq(x->capa, x->ncapa, y->capa, y->ncapa))
		DIFF("greeting/capa differ");
	if (!str_eq(x->runner_version, y->runner_version) || !str_eq(x->suite_version, y->suite_version) ||
	    !str_eq(x->options, y->options) || x->strict != y->strict)
		DIFF("versions/options differ: %s | %s", x->options ? x->options : "(null)",
		     y->options ? y->options : "(null)");
	if (timing && (!str_eq(x->started, y->started) || x->duration_ms != y->duration_ms))
		DIFF("run timing differs");
	if (a->nresults != b->nresults)
		DIFF("%zu results vs %zu", a->nresults, b->nresults);
	for (size_t i = 0; i < a->nresults; i++) {
		const struct result *r = &a->results[i], *s = &b->results[i];
		const char *id = r->id ? r->id : "?";
		if (!str_eq(r->id, s->id) || !str_eq(r->title, s->title) || !str_eq(r->level, s->level) ||
		    !str_eq(r->file, s->file))
			DIFF("result %zu (%s): id/title/level/file differ", i, id);
		if (!strv_eq(r->refs, r->nrefs, s->refs, s->nrefs) ||
		    !strv_eq(r->tags, r->ntags, s->tags, s->ntags))
			DIFF("result %s: refs/tags differ", id);
		if (r->status != s->status)
			DIFF("result %s: status %s vs %s", id, verdict_name(r->status),
			     verdict_name(s->status));
		if (timing && r->duration_ms != s->duration_ms)
			DIFF("result %s: duration differs", id);
		if (!str_eq(r->message ? r->message : "", s->message ? s->message : ""))
			DIFF("result %s: message \"%s\" vs \"%s\"", id, r->message ? r->message : "",
			     s->message ? s->message : "");
		if (!str_eq(r->failed_step, s->failed_step) || !str_eq(r->expected, s->expected) ||
		    !str_eq(r->actual, s->actual) || !str_eq(r->failed_ref, s->failed_ref))
			DIFF("result %s: failure details differ", id);
		if (r->ntranscript != s->ntranscript)
			DIFF("result %s: %zu transcript lines vs %zu", id, r->ntranscript, s->ntranscript);
		for (size_t k = 0; k < r->ntranscript; k++) {
			const struct tline *p = &r->transcript[k], *q = &s->transcript[k];
			if (p->kind != q->kind || !str_eq(p->session, q->session) ||
			    !str_eq(p->text, q->text) || (timing && p->t_ms != q->t_ms))
				DIFF("result %s: transcript line %zu differs", id, k);
		}
	}
	return 1;
}

char *rd_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0, k;
	char *buf = malloc(cap + 1);
	while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = n;
	}
	return buf;
}

char *rd_tmpname(const char *suffix)
{
	char tmpl[] = "/tmp/pop3spec-report-XXXXXX";
	int fd = mkstemp(tmpl);
	if (fd < 0)
		return NULL;
	close(fd);
	unlink(tmpl);
	size_t n = strlen(tmpl) + strlen(suffix) + 1;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s", tmpl, suffix);
	return p;
}
