/* cexpect.c — the verdict of a client scenario: the built-in checks every command got (recorded by
 * cconn.c), the timeout, then the scenario's `expect` list (QUIT, commands sent or not, DELE only after a
 * complete RETR, CAPA again after TLS, exit status, what was delivered), each with its requirement id. A
 * MUST finding fails; a SHOULD or MAY one warns; the first failure wins over any warning. */
#include "runner/client/client_int.h"

#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "lib/line.h"

static void finding(struct cverdict *o, enum verdict v, const char *ref, const char *msg,
                    const char *expected, const char *actual)
{
	/* The worst wins; among equals, the first. */
	if (o->v == VERDICT_FAIL || (o->v == VERDICT_WARN && v != VERDICT_FAIL))
		return;
	o->v = v;
	snprintf(o->ref, sizeof o->ref, "%s", ref ? ref : "");
	snprintf(o->msg, sizeof o->msg, "%s", msg);
	snprintf(o->expected, sizeof o->expected, "%s", expected ? expected : "");
	snprintf(o->actual, sizeof o->actual, "%s", actual ? actual : "");
}

static bool rx(const char *re, const char *s)
{
	regex_t r;
	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0)
		return false;
	bool m = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return m;
}

static bool kw_is(const struct ccmd *c, const char *kw)
{
	size_t n = strlen(kw);
	return !c->sasl && strncasecmp(c->text, kw, n) == 0 && (c->text[n] == '\0' || c->text[n] == ' ');
}

/* ---- delivered messages ---- */

struct dmsg {
	char *p;
	size_t n;
	bool used;
};
struct dset {
	struct dmsg *v;
	size_t n, cap;
};

static void dadd(struct dset *d, char *p, size_t n)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct dmsg *v = realloc(d->v, cap * sizeof *v);
		if (!v) {
			free(p);
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = (struct dmsg){p, n, false};
}

static void read_maildir(const char *dir, struct dset *d)
{
	static const char *const subs[] = {"new", "cur"};
	for (size_t s = 0; s < 2; s++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, subs[s]);
		DIR *dh = opendir(path);
		struct dirent *e;
		while (dh && (e = readdir(dh))) {
			if (e->d_name[0] == '.')
				continue;
			char f[8192];
			size_t n;
			snprintf(f, sizeof f, "%s/%s", path, e->d_name);
			char *p = cread_file(f, &n);
			if (p)
				dadd(d, p, n);
		}
		if (dh)
			closedir(dh);
	}
}

/* mboxrd (and mboxo): messages start at "From " lines; ">From " lines lose one '>'; the empty line the
 * writer puts after each message goes. */
static void read_mbox(const char *path, struct dset *d)
{
	size_t n;
	char *b = cread_file(path, &n);
	if (!b)
		return;
	char *cur = NULL;
	size_t cn = 0;
	for (size_t off = 0; off < n;) {
		char *nl = memchr(b + off, '\n', n - off);
		size_t len = nl ? (size_t)(nl - (b + off)) + 1 : n - off;
		const char *l = b + off;
		if (len >= 5 && strncmp(l, "From ", 5) == 0) {
			if (cur) {
				if (cn && cur[cn - 1] == '\n' && cn >= 2 && cur[cn - 2] == '\n')
					cn--;
				dadd(d, cur, cn);
			}
			cur = malloc(n + 1);
			cn = 0;
		} else if (cur) {
			size_t k = 0;
			while (k < len && l[k] == '>')
				k++;
			if (k > 0 && len - k >= 5 && strncmp(l + k, "From ", 5) == 0) {
				l++;
				len--;
			}
			memcpy(cur + cn, l, len);
			cn += len;
		}
		off += nl ? (size_t)(nl - (b + off)) + 1 : n - off;
	}
	if (cur) {
		if (cn >= 2 && cur[cn - 1] == '\n' && cur[cn - 2] == '\n')
			cn--;
		dadd(d, cur, cn);
	}
	free(b);
}

static void dfree(struct dset *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].p);
	free(d->v);
}

/* The wanted message numbers (1-based) of a `delivered` expectation. */
static size_t wanted(const struct cexpect *e, const struct cprofile *p, const struct cmaildrop *fx, int *w,
                     size_t max)
{
	size_t k = 0;
	if (e->delivered == -1) {
		size_t n = fx->n;
		if (p->delivery_messages && p->delivery_messages < n)
			n = p->delivery_messages;
		for (size_t i = 0; i < n && k < max; i++)
			w[k++] = (int)i + 1;
	} else if (e->delivered >= 0) {
		for (size_t i = 0; i < e->nmsgs && k < max; i++)
			if ((size_t)e->msgs[i] <= fx->n &&
			    (!p->delivery_messages || (size_t)e->msgs[i] <= p->delivery_messages))
				w[k++] = e->msgs[i];
	}
	return k;
}

/* What judging one expectation reads: the expectation and its scenario's facts, the requirement a
 * finding cites and the verdict it gives (FAIL for a MUST, else WARN). */
struct jctx {
	const struct cexpect *e;
	const struct cprofile *p;
	const struct cmaildrop *fx;
	const struct crecord *rec;
	const char *dpath;
	const char *const *outs;
	int runs;
	struct cverdict *o;
	const char *ref;
	enum verdict fv;
};

/* A finding of the expectation being judged, at its level and requirement. */
static void found(const struct jctx *j, const char *msg, const char *expected, const char *actual)
{
	finding(j->o, j->fv, j->ref, msg, expected, actual);
}

/* A finding on the command c (shown escaped); expected is `what` and the expectation's regex. */
static void found_cmd(const struct jctx *j, const char *msg, const char *what, const struct ccmd *c)
{
	char exp[400], act[300];
	snprintf(exp, sizeof exp, "%s /%s/", what, j->e->regex);
	line_escape(c->text, strlen(c->text), act, sizeof act);
	found(j, msg, exp, act);
}

/* On standard output: the wanted fixture messages in order, concatenated, each run's output after the
 * other's. */
static void judge_stdout(const struct jctx *j, const int *w, size_t nw)
{
	const struct cmaildrop *fx = j->fx;
	size_t tot = 0, gl = 0;
	for (size_t i = 0; i < nw; i++)
		tot += fx->msgs[w[i] - 1].len + 2;
	char *want = malloc(tot + 1), *got = NULL;
	size_t wl = 0;
	for (size_t i = 0; want && i < nw; i++) {
		const struct cmsg *m = &fx->msgs[w[i] - 1];
		memcpy(want + wl, m->data, m->len);
		wl += m->len;
		if (m->len && m->data[m->len - 1] != '\n')
			want[wl++] = '\n';
	}
	for (int r = 0; r < j->runs; r++) {
		size_t n;
		char *s = cread_file(j->outs[r], &n);
		if (!s)
			continue;
		char *g = realloc(got, gl + n + 1);
		if (g) {
			memcpy(g + gl, s, n);
			gl += n;
			got = g;
		}
		free(s);
	}
	/* delivered_within on standard output: nothing, or all of them. */
	bool ok =
	    want && (cdeliver_equal(j->p, got ? got : "", gl, want, wl) || (j->e->delivered == 1 && gl == 0));
	if (!ok) {
		char exp[300], act[600], esc[400];
		snprintf(exp, sizeof exp,
		         "%zu message(s) on standard output, equal to the fixture's after un-stuffing", nw);
		line_escape(got ? got : "", gl > 300 ? 300 : gl, esc, sizeof esc);
		snprintf(act, sizeof act, "%zu octets: %s", gl, esc);
		found(j, "what the client wrote on standard output differs from the fixture", exp, act);
	}
	free(want);
	free(got);
}

/* Whether d holds fixture message m, unused: marked used when it does. */
static bool take(const struct cprofile *p, struct dset *d, const struct cmsg *m)
{
	for (size_t k = 0; k < d->n; k++)
		if (!d->v[k].used && cdeliver_equal(p, d->v[k].p, d->v[k].n, m->data, m->len))
			return d->v[k].used = true;
	return false;
}

/* In a Maildir or an mbox: each wanted message delivered whole and once, nothing else (delivered_within:
 * each delivered one of the list, none required). */
static void judge_files(const struct jctx *j, const int *w, size_t nw)
{
	const struct cexpect *e = j->e;
	struct dset d = {0};
	if (j->p->delivery == DELIVERY_MAILDIR)
		read_maildir(j->dpath, &d);
	else
		read_mbox(j->dpath, &d);
	bool bad = false;
	char why[400] = "";
	for (size_t i = 0; i < nw && !bad; i++) {
		if (!take(j->p, &d, &j->fx->msgs[w[i] - 1]) && e->delivered != 1) {
			bad = true;
			snprintf(why, sizeof why,
			         "message %d was not delivered, or not byte for byte as stored", w[i]);
		}
	}
	for (size_t k = 0; k < d.n && !bad; k++)
		if (!d.v[k].used) {
			bad = true;
			char esc[200];
			line_escape(d.v[k].p, d.v[k].n > 120 ? 120 : d.v[k].n, esc, sizeof esc);
			snprintf(why, sizeof why,
			         "a delivered message matches no wanted fixture message (a duplicate, "
			         "a deleted or changed one): %s",
			         esc);
		}
	if (bad) {
		char exp[300], act[600];
		if (e->delivered == -2)
			snprintf(exp, sizeof exp, "nothing delivered");
		else if (e->delivered == 1)
			snprintf(exp, sizeof exp, "at most message(s) of the list, each whole and once");
		else
			snprintf(exp, sizeof exp,
			         "%zu message(s) delivered, each equal to its fixture message", nw);
		snprintf(act, sizeof act, "%zu delivered; %s", d.n, why);
		found(j, why, exp, act);
	}
	dfree(&d);
}

static void judge_delivered(const struct jctx *j)
{
	int w[1024];
	size_t nw = wanted(j->e, j->p, j->fx, w, 1024);
	if (j->p->delivery == DELIVERY_NONE)
		finding(j->o, VERDICT_SKIP, j->ref,
		        "the client profile says nothing of where it delivers (delivery: none)", NULL, NULL);
	else if (j->p->delivery == DELIVERY_STDOUT)
		judge_stdout(j, w, nw);
	else
		judge_files(j, w, nw);
}

static void judge_quit(const struct jctx *j)
{
	const struct crecord *rec = j->rec;
	char buf[400];
	/* RFC 1939 §6: only QUIT commits; a session that logged in and the server did not end must
	 * end with QUIT. */
	for (int s = 0; s < rec->nsessions && s < 64; s++) {
		if (!rec->session_trans[s] || rec->session_server_closed[s])
			continue;
		bool quit = false;
		for (size_t i = 0; i < rec->ncmds; i++)
			quit |= rec->cmds[i].session == s && kw_is(&rec->cmds[i], "QUIT");
		if (!quit) {
			snprintf(buf, sizeof buf, "connection %d logged in and ended without QUIT", s + 1);
			found(j, buf, "QUIT at the end of the session", "no QUIT");
			return;
		}
	}
}

static void judge_sent(const struct jctx *j)
{
	const struct cexpect *e = j->e;
	const struct crecord *rec = j->rec;
	char buf[400];
	for (size_t i = 0; i < rec->ncmds; i++)
		if (!rec->cmds[i].sasl && rx(e->regex, rec->cmds[i].text))
			return;
	snprintf(buf, sizeof buf, "a command matching /%s/", e->regex);
	found(j, "the client never sent the command the scenario expects", buf, "none");
}

static void judge_not_sent(const struct jctx *j)
{
	const struct cexpect *e = j->e;
	const struct crecord *rec = j->rec;
	for (size_t i = 0; i < rec->ncmds; i++) {
		if (!rec->cmds[i].sasl && rx(e->regex, rec->cmds[i].text)) {
			found_cmd(j, "the client sent a command it must not send here", "no command matching",
			          &rec->cmds[i]);
			return;
		}
	}
}

static void judge_no_after(const struct jctx *j)
{
	const struct cexpect *e = j->e;
	const struct crecord *rec = j->rec;
	for (size_t i = 0; i < rec->ncmds; i++) {
		if (rec->cmds[i].sasl || !rx(e->regex, rec->cmds[i].text))
			continue;
		/* An AUTH's outcome is the final reply of its exchange (RFC 5034 §4): its challenges
		 * ("+ ...") are no -ERR, and its SASL responses are no commands after one. */
		size_t last = i;
		while (last + 1 < rec->ncmds && rec->cmds[last + 1].sasl &&
		       rec->cmds[last + 1].session == rec->cmds[i].session &&
		       rec->cmds[last + 1].run == rec->cmds[i].run)
			last++;
		if (rec->cmds[last].reply_ok)
			continue;
		for (size_t k = last + 1; k < rec->ncmds; k++) {
			if (rec->cmds[k].session != rec->cmds[i].session ||
			    rec->cmds[k].run != rec->cmds[i].run)
				continue;
			if (kw_is(&rec->cmds[k], "QUIT"))
				continue; /* ending the session politely is allowed */
			found_cmd(j, "the client went on after a failure that must end the session",
			          "nothing but QUIT after the -ERR to", &rec->cmds[k]);
			return;
		}
	}
}

static void judge_dele_after_retr(const struct jctx *j)
{
	const struct crecord *rec = j->rec;
	for (size_t i = 0; i < rec->ncmds; i++) {
		const struct ccmd *d = &rec->cmds[i];
		if (!kw_is(d, "DELE"))
			continue;
		bool ok = false;
		long dn = strtol(d->text + 5, NULL, 10);
		for (size_t k = 0; k < i && !ok; k++) {
			const struct ccmd *r = &rec->cmds[k];
			/* RETR n, or TOP n with every line: the whole message, its reply complete. */
			ok = r->session == d->session && r->run == d->run &&
			     (kw_is(r, "RETR") || kw_is(r, "TOP")) && r->reply_ok && r->reply_complete &&
			     r->whole_message && strtol(r->text + 4, NULL, 10) == dn;
		}
		if (!ok) {
			found(j,
			      "DELE of a message the client had not completely retrieved in this "
			      "session",
			      "DELE n only after the whole reply to RETR n", d->text);
			return;
		}
	}
}

static void judge_capa_after_tls(const struct jctx *j)
{
	const struct crecord *rec = j->rec;
	for (int s = 0; s < rec->nsessions && s < 64; s++) {
		bool before = false, again = false;
		for (size_t i = 0; i < rec->ncmds; i++) {
			const struct ccmd *c = &rec->cmds[i];
			if (c->session != s)
				continue;
			if (!c->tls && kw_is(c, "CAPA"))
				before = true;
			if (c->tls) {
				if (kw_is(c, "CAPA"))
					again = true;
				if (!again && before &&
				    (kw_is(c, "AUTH") || kw_is(c, "USER") || kw_is(c, "APOP"))) {
					/* RFC 2595 §4: capabilities learned before TLS must be
					 * discarded. */
					found(j, "the client logged in over TLS without asking CAPA again",
					      "CAPA after the TLS handshake, before the login", c->text);
					return;
				}
			}
		}
	}
}

static void judge_exit(const struct jctx *j)
{
	const struct cexpect *e = j->e;
	const struct cprofile *p = j->p;
	const struct crecord *rec = j->rec;
	int runs = j->runs;
	char buf[400];
	for (int r = 0; r < runs; r++) {
		int st = rec->exit_status[r];
		/* "zero" is the profile's success (success_exit: fetchmail exits 1 for "no mail"). */
		bool ok = st >= 0 && cprofile_success(p, st);
		bool bad = (e->exit == EXIT_WANT_ZERO && !ok) || (e->exit == EXIT_WANT_NONZERO && ok);
		if (bad) {
			snprintf(buf, sizeof buf, "%d", st);
			found(j,
			      e->exit == EXIT_WANT_ZERO
			          ? "the client reported failure for a session that went well"
			          : "the client reported success although the session failed",
			      e->exit == EXIT_WANT_ZERO
			          ? "a success exit status (0, or the profile's success_exit)"
			          : "a failure exit status",
			      buf);
			return;
		}
	}
}

static void judge_sasl_cancel(const struct jctx *j)
{
	const struct crecord *rec = j->rec;
	/* RFC 5034 §4 / RFC 4422 §3.5: a client that cannot use a challenge cancels with "*" (or
	 * gives up and closes); it never answers a challenge it could not decode. */
	for (size_t i = 0; i < rec->ncmds; i++) {
		if (rec->cmds[i].scripted && strcmp(rec->cmds[i].text, "*") != 0) {
			found(j, "the client answered a malformed SASL challenge instead of cancelling",
			      "\"*\" (or closing the connection)", rec->cmds[i].text);
			return;
		}
	}
}

static void judge_sessions_max(const struct jctx *j)
{
	const struct cexpect *e = j->e;
	const struct crecord *rec = j->rec;
	int runs = j->runs;
	/* RFC 2449 §8.1.1-§8.1.2, RFC 3206 §4: after [IN-USE], [LOGIN-DELAY] or [SYS/TEMP] a client
	 * tries later, not again at once: a bound on connections per run. */
	for (int r = 0; r < runs && r < 2; r++) {
		if (rec->run_sessions[r] > e->count) {
			char exp[80], act[80];
			snprintf(exp, sizeof exp, "at most %ld connection(s) in a run", e->count);
			snprintf(act, sizeof act, "%d connections in run %d", rec->run_sessions[r], r + 1);
			found(j, "the client reconnected at once instead of trying later", exp, act);
			return;
		}
	}
}

static void judge_retr_second(const struct jctx *j)
{
	const struct cexpect *e = j->e;
	const struct crecord *rec = j->rec;
	int runs = j->runs;
	long n = 0;
	for (size_t i = 0; i < rec->ncmds; i++)
		n += rec->cmds[i].run == 1 && kw_is(&rec->cmds[i], "RETR");
	if (runs == 2 && n > e->count) {
		char exp[64], act[64];
		snprintf(exp, sizeof exp, "at most %ld RETR in the second run", e->count);
		snprintf(act, sizeof act, "%ld RETR", n);
		found(j, "the second run fetched messages the first had fetched already", exp, act);
	}
}

/* One judge per kind of expectation (client.h, enum cexp_kind). */
static void (*const judges[])(const struct jctx *) = {
    [CEXP_QUIT] = judge_quit,
    [CEXP_SENT] = judge_sent,
    [CEXP_NOT_SENT] = judge_not_sent,
    [CEXP_NO_AFTER] = judge_no_after,
    [CEXP_DELE_AFTER_RETR] = judge_dele_after_retr,
    [CEXP_CAPA_AFTER_TLS] = judge_capa_after_tls,
    [CEXP_EXIT] = judge_exit,
    [CEXP_DELIVERED] = judge_delivered,
    [CEXP_SASL_CANCEL] = judge_sasl_cancel,
    [CEXP_SESSIONS_MAX] = judge_sessions_max,
    [CEXP_RETR_SECOND] = judge_retr_second,
};

static void judge_one(const struct cexpect *e, const struct scenario *sc, const struct cprofile *p,
                      const struct cmaildrop *fx, const struct crecord *rec, const char *dpath,
                      const char *const *outs, int runs, struct cverdict *o)
{
	int level = e->level >= 0 ? e->level : (int)sc->level;
	struct jctx j = {.e = e,
	                 .p = p,
	                 .fx = fx,
	                 .rec = rec,
	                 .dpath = dpath,
	                 .outs = outs,
	                 .runs = runs,
	                 .o = o,
	                 .ref = e->ref ? e->ref : sc->refs[0],
	                 .fv = level == LEVEL_MUST ? VERDICT_FAIL : VERDICT_WARN};
	if ((size_t)e->kind < sizeof judges / sizeof judges[0] && judges[e->kind])
		judges[e->kind](&j);
}

void cexpect_judge(const struct scenario *sc, const struct cprofile *p, const struct cmaildrop *fx,
                   const struct crecord *rec, const char *dpath, const char *const *outs, int runs,
                   struct cverdict *o)
{
	const struct cscen *cs = sc->client;
	memset(o, 0, sizeof *o);
	o->v = VERDICT_PASS;
	/* Every scenario's client connects: one that never did was not started right (a wrong profile, a
	 * missing program), which is no verdict on the client. */
	if (rec->nsessions == 0) {
		o->v = VERDICT_ERROR;
		snprintf(o->msg, sizeof o->msg,
		         "the client never connected (%s): check the profile; its standard "
		         "error is in the transcript",
		         rec->timed_out ? "killed at the timeout" : "it exited first");
		return;
	}
	if (rec->violation)
		finding(o, VERDICT_FAIL, rec->violation_ref, rec->violation, "a well-formed command",
		        rec->violation_text);
	if (rec->timed_out) {
		char buf[120];
		snprintf(buf, sizeof buf, "the client did not exit within the timeout and was killed");
		finding(o, VERDICT_FAIL, "C1939-ERR-2", buf, "the client ends by itself", "still running");
	}
	for (size_t i = 0; i < cs->nexpect; i++)
		judge_one(&cs->expect[i], sc, p, fx, rec, dpath, outs, runs, o);
}
