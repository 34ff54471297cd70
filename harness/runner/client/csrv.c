/* csrv.c — the built-in POP3 server of `pop3spec client run`: a correct state machine (RFC 1939, 2449,
 * 2595, 5034) over a fixture maildrop (cmaildrop.c), with the scenario's deviations (server:) applied. No
 * I/O: a command line goes in, the reply's octets and what to do next come out (cconn.c writes them). */
#include "runner/client/client.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/b64.h"
#include "lib/digest.h"
#include "lib/multiline.h"

/* ---- replies ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void bput(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (b->len + n + 1 > cap)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		bput(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A status line; `pad_status` makes +OK lines exactly that long (RFC 2449 §4: up to 512 octets with CRLF,
 * which a client must accept). */
static void status(struct csrv *s, struct buf *b, bool ok, const char *text)
{
	size_t start = b->len;
	bprintf(b, "%s%s%s", ok ? "+OK" : "-ERR", text && *text ? " " : "", text ? text : "");
	size_t have = b->len - start;
	if (ok && s->o->pad_status && have + 2 < s->o->pad_status) {
		if (!text || !*text)
			bput(b, " ", 1), have++;
		for (; have + 2 < s->o->pad_status; have++)
			bput(b, "x", 1);
	}
	bput(b, "\r\n", 2);
}

static int emit(void *ctx, const char *data, size_t n)
{
	bput(ctx, data, n);
	return 0;
}

int csrv_init(struct csrv *s, const struct csrv_opts *o, struct cmaildrop *md, bool tls_available,
              bool implicit_tls)
{
	memset(s, 0, sizeof *s);
	/* RFC 1939 §5: a session numbers the maildrop's messages from 1; what an earlier session deleted
	 * at QUIT is gone, so the others move up. */
	cmaildrop_compact(md);
	s->o = o;
	s->md = md;
	s->tls = implicit_tls;
	s->tls_available = tls_available;
	s->state = CS_AUTH;
	snprintf(s->timestamp, sizeof s->timestamp, "<%ld.%ld@pop3spec.invalid>", (long)getpid(),
	         (long)time(NULL));
	s->marked = calloc(md->n ? md->n : 1, sizeof *s->marked);
	s->reply_used = calloc(o->nreplies ? o->nreplies : 1, sizeof *s->reply_used);
	return s->marked && s->reply_used ? 0 : -1;
}

void csrv_free(struct csrv *s)
{
	free(s->marked);
	free(s->reply_used);
	s->marked = NULL;
	s->reply_used = NULL;
}

/* The scenario's replacement for this keyword, if one is left. */
static const struct creply * override(struct csrv *s, const char *kw)
{
	for (size_t i = 0; i < s->o->nreplies; i++) {
		const struct creply *r = &s->o->replies[i];
		if (strcmp(r->command, kw) != 0 || (r->times && s->reply_used[i] >= r->times))
			continue;
		s->reply_used[i]++;
		return r;
	}
	return NULL;
}

char *csrv_greeting(struct csrv *s, size_t *len)
{
	struct buf b = {0};
	const struct creply *r = override(s, "GREETING");
	if (r) {
		bput(&b, r->reply.s, r->reply.len);
	} else if (s->o->greeting) {
		bprintf(&b, "%s\r\n", s->o->greeting);
	} else {
		char t[160];
		snprintf(t, sizeof t, "POP3 pop3spec ready %s", s->timestamp);
		status(s, &b, true, t);
	}
	if (b.oom || !b.p) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

static const char *const default_capa[] = {"TOP",
                                           "UIDL",
                                           "USER",
                                           "RESP-CODES",
                                           "AUTH-RESP-CODE",
                                           "SASL PLAIN LOGIN CRAM-MD5",
                                           "IMPLEMENTATION pop3spec",
                                           NULL};

static bool is_stls(const char *c)
{
	return strncasecmp(c, "STLS", 4) == 0 && (c[4] == '\0' || c[4] == ' ');
}

bool csrv_announces(const struct csrv *s, const char *cap)
{
	size_t n = strlen(cap);
	if (!s->o->capa_set) {
		if (strcasecmp(cap, "STLS") == 0)
			return s->tls_available && !s->tls && s->o->stls != STLS_ABSENT;
		for (size_t i = 0; default_capa[i]; i++)
			if (strncasecmp(default_capa[i], cap, n) == 0 &&
			    (!default_capa[i][n] || default_capa[i][n] == ' '))
				return true;
		return false;
	}
	for (size_t i = 0; i < s->o->ncapa; i++) {
		const char *c = s->o->capa[i];
		if (is_stls(c) && s->tls)
			continue;
		if (strncasecmp(c, cap, n) == 0 && (!c[n] || c[n] == ' '))
			return true;
	}
	return false;
}

static void capa(struct csrv *s, struct buf *b)
{
	status(s, b, true, "Capability list follows");
	if (!s->o->capa_set) {
		for (size_t i = 0; default_capa[i]; i++)
			bprintf(b, "%s\r\n", default_capa[i]);
		if (csrv_announces(s, "STLS"))
			bput(b, "STLS\r\n", 6);
	} else {
		/* RFC 2595 §4: STLS is not announced once TLS is active. */
		for (size_t i = 0; i < s->o->ncapa; i++)
			if (!(is_stls(s->o->capa[i]) && s->tls))
				bprintf(b, "%s\r\n", s->o->capa[i]);
	}
	bput(b, ".\r\n", 3);
}

/* RFC 1939 §3: a message number is a plain decimal; it must name an existing, not deleted message. */
static long msgno(struct csrv *s, const char *a)
{
	if (!a || !*a || strlen(a) > 9)
		return -1;
	for (const char *p = a; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	long n = strtol(a, NULL, 10);
	if (n < 1 || (size_t)n > s->md->n || s->md->msgs[n - 1].deleted || s->marked[n - 1])
		return -1;
	return n;
}

static const char *password(const struct csrv *s)
{
	return s->o->password ? s->o->password : CLIENT_PASSWORD;
}

static const char *account(const struct csrv *s)
{
	return s->o->user ? s->o->user : CLIENT_USER;
}

static bool login_ok(const struct csrv *s, const char *user, const char *pass)
{
	return strcmp(user, account(s)) == 0 && strcmp(pass, password(s)) == 0;
}

static void enter_trans(struct csrv *s, struct buf *b)
{
	s->state = CS_TRANS;
	status(s, b, true, "maildrop ready");
}

static void sasl_line(struct csrv *s, const char *line, size_t n, struct buf *b)
{
	unsigned char dec[1024];
	size_t dlen = 0;
	if (n == 1 && line[0] == '*') { /* RFC 5034 §4: the client cancels */
		s->sasl_step = 0;
		status(s, b, false, "AUTH cancelled");
		return;
	}
	if (n > 1300 || b64_decode(line, n, dec, &dlen, 0) != B64_OK) {
		s->sasl_step = 0;
		status(s, b, false, "bad base64");
		return;
	}
	dec[dlen] = '\0';
	if (strcmp(s->sasl_mech, "SCRIPTED") == 0) {
		s->sasl_step = 0;
		status(s, b, false, "[AUTH] authentication failed");
	} else if (strcmp(s->sasl_mech, "PLAIN") == 0) {
		/* RFC 4616 §2: [authzid] NUL authcid NUL passwd */
		const char *z = memchr(dec, '\0', dlen);
		const char *u = z ? z + 1 : NULL;
		const char *p = u ? memchr(u, '\0', dlen - (size_t)(u - (char *)dec)) : NULL;
		s->sasl_step = 0;
		if (p && login_ok(s, u, p + 1))
			enter_trans(s, b);
		else
			status(s, b, false, "[AUTH] authentication failed");
	} else if (strcmp(s->sasl_mech, "LOGIN") == 0) {
		if (s->sasl_step == 1) {
			snprintf(s->user, sizeof s->user, "%.512s", (char *)dec);
			s->sasl_step = 2;
			bput(b, "+ UGFzc3dvcmQ6\r\n", 16);
		} else {
			s->sasl_step = 0;
			if (login_ok(s, s->user, (char *)dec))
				enter_trans(s, b);
			else
				status(s, b, false, "[AUTH] authentication failed");
		}
	} else { /* CRAM-MD5, RFC 2195 §2: "user hexdigest" */
		char want[DIGEST_MD5_HEX];
		cram_md5_digest(s->cram_challenge, strlen(s->cram_challenge), password(s), want);
		char *sp = strrchr((char *)dec, ' ');
		s->sasl_step = 0;
		if (sp && (size_t)(sp - (char *)dec) == strlen(account(s)) &&
		    strncmp((char *)dec, account(s), strlen(account(s))) == 0 && strcmp(sp + 1, want) == 0)
			enter_trans(s, b);
		else
			status(s, b, false, "[AUTH] authentication failed");
	}
}

static void auth(struct csrv *s, const char *arg, struct buf *b, enum csrv_action *act)
{
	char mech[24] = "", init[1400] = "";
	if (!arg || sscanf(arg, "%23s %1399s", mech, init) < 1) {
		/* RFC 1734 practice: AUTH alone lists the mechanisms. */
		status(s, b, true, "mechanisms follow");
		bput(b, "PLAIN\r\nLOGIN\r\nCRAM-MD5\r\n.\r\n", 26);
		return;
	}
	for (char *p = mech; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	snprintf(s->sasl_mech, sizeof s->sasl_mech, "%s", mech);
	*act = CA_AUTH_CONT;
	if (strcmp(mech, "PLAIN") == 0) {
		s->sasl_step = 1;
		if (init[0]) /* RFC 5034 §4: "=" is an empty initial response */
			sasl_line(s, strcmp(init, "=") == 0 ? "" : init,
			          strcmp(init, "=") == 0 ? 0 : strlen(init), b);
		else
			bput(b, "+ \r\n", 4);
	} else if (strcmp(mech, "LOGIN") == 0) {
		s->sasl_step = 1;
		if (init[0])
			sasl_line(s, init, strlen(init), b);
		else
			bput(b, "+ VXNlcm5hbWU6\r\n", 16);
	} else if (strcmp(mech, "CRAM-MD5") == 0) {
		s->sasl_step = 1;
		snprintf(s->cram_challenge, sizeof s->cram_challenge, "%s", s->timestamp);
		char enc[160];
		size_t n = b64_encode(s->cram_challenge, strlen(s->cram_challenge), enc);
		enc[n] = '\0';
		bprintf(b, "+ %s\r\n", enc);
	} else {
		*act = CA_NONE;
		s->sasl_mech[0] = '\0';
		status(s, b, false, "unsupported mechanism");
	}
	if (s->sasl_step == 0)
		*act = CA_NONE;
}

static void list_like(struct csrv *s, struct buf *b, const char *arg, bool uidl)
{
	char tmp[128];
	if (arg) {
		long n = msgno(s, arg);
		if (n < 0) {
			status(s, b, false, "no such message");
			return;
		}
		if (uidl)
			snprintf(tmp, sizeof tmp, "%ld %s", n, s->md->msgs[n - 1].uid);
		else
			snprintf(tmp, sizeof tmp, "%ld %llu", n, s->md->msgs[n - 1].size);
		status(s, b, true, tmp);
		return;
	}
	status(s, b, true, uidl ? "unique-ids follow" : "scan listing follows");
	for (size_t i = 0; i < s->md->n; i++) {
		if (s->md->msgs[i].deleted || s->marked[i])
			continue;
		if (uidl)
			bprintf(b, "%zu %s\r\n", i + 1, s->md->msgs[i].uid);
		else
			bprintf(b, "%zu %llu\r\n", i + 1, s->md->msgs[i].size);
	}
	bput(b, ".\r\n", 3);
}

static void counts(struct csrv *s, size_t *n, unsigned long long *oct)
{
	*n = 0;
	*oct = 0;
	for (size_t i = 0; i < s->md->n; i++)
		if (!s->md->msgs[i].deleted && !s->marked[i]) {
			(*n)++;
			*oct += s->md->msgs[i].size;
		}
}

static void transaction(struct csrv *s, const char *kw, const char *arg, struct buf *b, size_t *multi)
{
	char tmp[128];
	if (strcmp(kw, "STAT") == 0) {
		size_t n;
		unsigned long long oct;
		counts(s, &n, &oct);
		snprintf(tmp, sizeof tmp, "%zu %llu", n, oct);
		status(s, b, true, tmp);
	} else if (strcmp(kw, "LIST") == 0 || strcmp(kw, "UIDL") == 0) {
		list_like(s, b, arg, kw[0] == 'U');
	} else if (strcmp(kw, "RETR") == 0 || strcmp(kw, "TOP") == 0) {
		char a1[16] = "", a2[16] = "";
		long lines = -1;
		if (arg)
			sscanf(arg, "%15s %15s", a1, a2);
		long n = msgno(s, a1);
		if (kw[0] == 'T') {
			char *end;
			lines = strtol(a2, &end, 10);
			if (!a2[0] || *end || lines < 0)
				n = -1;
		}
		if (n < 0) {
			status(s, b, false, "no such message");
			return;
		}
		snprintf(tmp, sizeof tmp, "%llu octets", s->md->msgs[n - 1].size);
		status(s, b, true, tmp);
		*multi = b->len;
		struct ml_encoder enc;
		ml_encoder_init(&enc, lines);
		ml_encode(&enc, s->md->msgs[n - 1].data, s->md->msgs[n - 1].len, emit, b);
		ml_encode_finish(&enc, emit, b);
		/* Whether this carried the whole message: TOP with at least every body line sends what RETR
		 * would (the same octets). */
		s->last_whole = true;
		if (lines >= 0) {
			struct buf whole = {0};
			ml_encoder_init(&enc, -1);
			ml_encode(&enc, s->md->msgs[n - 1].data, s->md->msgs[n - 1].len, emit, &whole);
			ml_encode_finish(&enc, emit, &whole);
			s->last_whole = !whole.oom && whole.len == b->len - *multi;
			free(whole.p);
		}
	} else if (strcmp(kw, "DELE") == 0) {
		long n = msgno(s, arg);
		if (n < 0) {
			status(s, b, false, "no such message");
			return;
		}
		s->marked[n - 1] = true;
		status(s, b, true, "marked");
	} else if (strcmp(kw, "RSET") == 0) {
		memset(s->marked, 0, s->md->n * sizeof *s->marked);
		status(s, b, true, NULL);
	} else if (strcmp(kw, "NOOP") == 0) {
		status(s, b, true, NULL);
	} else {
		status(s, b, false, "unknown command");
	}
}

/* A SASL exchange that just logged in: a scenario's LOGIN reply (a scripted login failure such as
 * [IN-USE] or [SYS/TEMP]) replaces its final +OK, so the failure reaches a client that logs in with SASL
 * as it reaches one using PASS (RFC 5034 §4: the final reply may carry a response code). */
static void sasl_login_override(struct csrv *s, struct buf *b, enum csrv_action *act)
{
	if (s->state != CS_TRANS || s->sasl_step)
		return;
	const struct creply *r = override(s, "LOGIN");
	if (!r)
		return;
	s->state = CS_AUTH;
	b->len = 0;
	bput(b, r->reply.s, r->reply.len);
	*act = r->close ? CA_CLOSE : CA_NONE;
}

char *csrv_command(struct csrv *s, const char *line, size_t n, size_t *len, enum csrv_action *act,
                   size_t *multi)
{
	struct buf b = {0};
	char kw[8] = "", argbuf[1400];
	*act = CA_NONE;
	*multi = (size_t)-1;
	s->last_whole = false;
	if (s->sasl_step) {
		sasl_line(s, line, n, &b);
		if (s->sasl_step)
			*act = CA_AUTH_CONT;
		sasl_login_override(s, &b, act);
		goto out;
	}
	size_t k = 0;
	while (k < n && k < 7 && line[k] != ' ') {
		kw[k] = (char)toupper((unsigned char)line[k]);
		k++;
	}
	kw[k] = '\0';
	const char *arg = NULL;
	if (k < n && line[k] == ' ') {
		size_t an = n - k - 1 < sizeof argbuf - 1 ? n - k - 1 : sizeof argbuf - 1;
		memcpy(argbuf, line + k + 1, an);
		argbuf[an] = '\0';
		arg = argbuf;
	}
	const struct creply *r = override(s, kw);
	/* LOGIN stands for whatever login the client chose: PASS, APOP or a SASL exchange (clients prefer
	 * SASL when CAPA offers it, APOP when the greeting has a timestamp), so a scripted login failure
	 * meets every client. A SASL exchange gets it as its final reply (sasl_login_override): curl and
	 * fetchmail treat an -ERR to the AUTH line itself as "mechanism unsupported", not as the answer. */
	if (!r && s->state == CS_AUTH && (strcmp(kw, "PASS") == 0 || strcmp(kw, "APOP") == 0))
		r = override(s, "LOGIN");
	if (r) {
		bput(&b, r->reply.s, r->reply.len);
		if (r->close)
			*act = CA_CLOSE;
		else if (strcmp(kw, "AUTH") == 0 && r->reply.len >= 1 && r->reply.s[0] == '+') {
			/* A scripted challenge (a malformed one): the next line is the client's SASL
			 * response. */
			snprintf(s->sasl_mech, sizeof s->sasl_mech, "SCRIPTED");
			s->sasl_step = 1;
			*act = CA_AUTH_CONT;
		}
		goto out;
	}
	if (strcmp(kw, "CAPA") == 0) {
		capa(s, &b);
	} else if (strcmp(kw, "QUIT") == 0) {
		/* RFC 1939 §6: QUIT in TRANSACTION enters UPDATE: the marked messages are removed. */
		if (s->state == CS_TRANS)
			for (size_t i = 0; i < s->md->n; i++)
				if (s->marked[i])
					s->md->msgs[i].deleted = true;
		s->state = CS_UPDATE;
		status(s, &b, true, "bye");
		*act = CA_CLOSE;
	} else if (s->state == CS_AUTH) {
		if (strcmp(kw, "USER") == 0 && arg) {
			snprintf(s->user, sizeof s->user, "%.512s", arg);
			s->user_ok = true;
			status(s, &b, true, NULL);
		} else if (strcmp(kw, "PASS") == 0 && s->user_ok && arg) {
			s->user_ok = false;
			if (login_ok(s, s->user, arg))
				enter_trans(s, &b);
			else
				status(s, &b, false, "[AUTH] invalid user name or password");
		} else if (strcmp(kw, "APOP") == 0 && arg) {
			char user[CLIENT_MAX_USER + 1] = "", dig[64] = "", want[DIGEST_MD5_HEX];
			sscanf(arg, "%512s %63s", user, dig);
			apop_digest(s->timestamp, password(s), want);
			if (strcmp(user, account(s)) == 0 && strcasecmp(dig, want) == 0)
				enter_trans(s, &b);
			else
				status(s, &b, false, "[AUTH] authentication failed");
		} else if (strcmp(kw, "AUTH") == 0) {
			auth(s, arg, &b, act);
			sasl_login_override(s, &b,
			                    act); /* an initial response can end the exchange at once */
		} else if (strcmp(kw, "STLS") == 0 && !s->tls && s->tls_available &&
		           s->o->stls == STLS_OFFER) {
			status(s, &b, true, "Begin TLS negotiation");
			*act = CA_STARTTLS;
		} else {
			status(s, &b, false, "not in this state");
		}
	} else {
		transaction(s, kw, arg, &b, multi);
	}
out:
	if (*act == CA_NONE && s->o->close_after && strcmp(kw, s->o->close_after) == 0)
		*act = CA_CLOSE;
	if (b.oom || !b.p) {
		free(b.p);
		*len = 0;
		return NULL;
	}
	*len = b.len;
	return b.p;
}
