/* crun.c — one client scenario: its modes looked up in the profile (a missing one skips), the fixture
 * maildrop, a work folder, two listening sockets on 127.0.0.1, the client started (twice for `runs: 2`),
 * every connection it makes served until it exits or the timeout kills it, then the verdict (cexpect.c)
 * into a struct result the reporters read like a server run's. */
#include "runner/client/client_int.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/ssl.h>

#include "lib/line.h"
#include "lib/tls.h"
#include "runner/fixture.h"
#include "runner/stop.h"

void ctrans_add(struct ctrans *t, char kind, const char *session, const char *data, size_t len)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct tline *v = realloc(t->v, cap * sizeof *v);
		if (!v)
			return;
		t->v = v;
		t->cap = cap;
	}
	char esc[1200];
	if (kind == TLINE_NOTE)
		snprintf(esc, sizeof esc, "%.*s", (int)len, data);
	else
		line_escape(data, len, esc, sizeof esc);
	struct tline *l = &t->v[t->n];
	l->t_ms = cnow_ms() - t->t0;
	l->kind = kind;
	l->session = strdup(session);
	l->text = strdup(esc);
	if (l->session && l->text)
		t->n++;
	else {
		free(l->session);
		free(l->text);
	}
}

static int listen_on(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static char *dupcat(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s%s", a, b);
	return s;
}

static void set_identity(struct result *r, const struct scenario *sc)
{
	r->id = strdup(sc->id);
	r->title = strdup(sc->title);
	r->level = strdup(level_name(sc->level));
	r->file = strdup(sc->file);
	r->refs = calloc(sc->nrefs ? sc->nrefs : 1, sizeof *r->refs);
	r->tags = calloc(sc->ntags ? sc->ntags : 1, sizeof *r->tags);
	for (; r->refs && r->nrefs < sc->nrefs; r->nrefs++)
		r->refs[r->nrefs] = strdup(sc->refs[r->nrefs]);
	for (; r->tags && r->ntags < sc->ntags; r->ntags++)
		r->tags[r->ntags] = strdup(sc->tags[r->ntags]);
}

static void conclude(struct result *r, enum verdict v, const char *msg, const char *ref, const char *exp,
                     const char *act)
{
	r->status = v;
	r->message = msg && *msg ? strdup(msg) : NULL;
	r->failed_ref = ref && *ref ? strdup(ref) : NULL;
	r->expected = exp && *exp ? strdup(exp) : NULL;
	r->actual = act && *act ? strdup(act) : NULL;
}

/* The profile modes a scenario uses: a transport (plain when none is named), then the others. NULL in
 * *missing names the first the profile lacks (delete/keep are implied by `deletes`). */
static size_t pick_modes(const struct cprofile *p, const struct cscen *cs, const struct cmode **out,
                         const char **missing, bool *tls_required)
{
	size_t k = 0;
	bool transport = false;
	*missing = NULL;
	*tls_required = false;
	for (size_t i = 0; i < cs->nmodes; i++) {
		const char *m = cs->modes[i];
		transport |= strcmp(m, "plain") == 0 || strcmp(m, "stls") == 0 || strcmp(m, "implicit_tls") == 0;
		*tls_required |= strcmp(m, "stls") == 0 || strcmp(m, "implicit_tls") == 0;
	}
	const char *names[CLIENT_MAX_MODES + 1];
	size_t nn = 0;
	if (!transport)
		names[nn++] = "plain";
	for (size_t i = 0; i < cs->nmodes && nn < CLIENT_MAX_MODES; i++)
		names[nn++] = cs->modes[i];
	for (size_t i = 0; i < nn; i++) {
		const struct cmode *m = cprofile_mode(p, names[i]);
		if (m) {
			out[k++] = m;
			continue;
		}
		/* The base command is the plain client; delete/keep follow `deletes`. */
		if (strcmp(names[i], "plain") == 0 || (strcmp(names[i], "delete") == 0 && p->deletes) ||
		    (strcmp(names[i], "keep") == 0 && !p->deletes))
			continue;
		if (!*missing)
			*missing = names[i];
	}
	return k;
}

void crun_scenario(const struct crun_ctx *x, const struct scenario *sc, int index, struct result *r)
{
	const struct cscen *cs = sc->client;
	const struct cprofile *p = x->prof;
	double t0 = cnow_ms();
	struct ctrans tr = { .t0 = t0 };
	struct crecord *rec = calloc(1, sizeof *rec);
	struct cmaildrop md = { 0 }, fx = { 0 }, added = { 0 };
	struct p3err err;
	char workdir[PATH_MAX] = "", outp[2][PATH_MAX] = { "", "" }, errp[2][PATH_MAX] = { "", "" };
	const char *outs[2] = { outp[0], outp[1] };
	int lp = -1, lt = -1;
	SSL_CTX *tls = NULL;
	char *dpath = NULL;
	memset(r, 0, sizeof *r);
	set_identity(r, sc);
	if (!rec) {
		conclude(r, VERDICT_ERROR, "out of memory", NULL, NULL, NULL);
		goto out;
	}
	const struct cmode *modes[CLIENT_MAX_MODES + 1];
	const char *missing;
	size_t nmodes = pick_modes(p, cs, modes, &missing, &rec->tls_required);
	if (missing) {
		char msg[200];
		snprintf(msg, sizeof msg, "the client profile %s has no mode %s", p->name, missing);
		conclude(r, VERDICT_SKIP, msg, NULL, NULL, NULL);
		goto out;
	}
	if (sc->fixture) {
		char path[PATH_MAX];
		if (fixture_locate(x->fixtures_dir, sc->fixture, path, sizeof path, &err) < 0 ||
		    cmaildrop_load(path, &md, &err) < 0 || cmaildrop_load(path, &fx, &err) < 0) {
			conclude(r, VERDICT_ERROR, err.msg, NULL, NULL, NULL);
			goto out;
		}
	}
	if (cs->srv.between_runs_add) {
		char path[PATH_MAX];
		if (fixture_locate(x->fixtures_dir, cs->srv.between_runs_add, path, sizeof path, &err) < 0 ||
		    cmaildrop_load(path, &added, &err) < 0 || cmaildrop_append(&fx, &added, &err) < 0) {
			conclude(r, VERDICT_ERROR, err.msg, NULL, NULL, NULL);
			goto out;
		}
	}
	snprintf(workdir, sizeof workdir, "%s/w%03d-XXXXXX", x->certs->dir, index);
	snprintf(outp[0], sizeof outp[0], "%s/w%03d.out1", x->certs->dir, index);
	snprintf(outp[1], sizeof outp[1], "%s/w%03d.out2", x->certs->dir, index);
	snprintf(errp[0], sizeof errp[0], "%s/w%03d.err1", x->certs->dir, index);
	snprintf(errp[1], sizeof errp[1], "%s/w%03d.err2", x->certs->dir, index);
	int port = 0, tport = 0;
	if (!mkdtemp(workdir) || (lp = listen_on(&port)) < 0 || (lt = listen_on(&tport)) < 0) {
		conclude(r, VERDICT_ERROR, "cannot make the work folder or listen on 127.0.0.1", NULL, NULL, NULL);
		workdir[0] = workdir[0] == '/' && strstr(workdir, "XXXXXX") ? '\0' : workdir[0];
		goto out;
	}
	tls = tls_server_ctx(x->certs->cert[cs->srv.cert], x->certs->key[cs->srv.cert], &err);
	if (!tls) {
		conclude(r, VERDICT_ERROR, err.msg, NULL, NULL, NULL);
		goto out;
	}
	if (cs->srv.tls_max && cs->srv.tls_max < TLS1_2_VERSION) {
		/* A server stuck at an old TLS version (RFC 8996, RFC 8314 §4.1): the client must refuse it.
		 * Security level 0 lets OpenSSL speak it at all. */
		SSL_CTX_set_security_level(tls, 0);
		if (SSL_CTX_set_min_proto_version(tls, TLS1_VERSION) != 1 ||
		    SSL_CTX_set_max_proto_version(tls, cs->srv.tls_max) != 1 ||
		    SSL_CTX_set_cipher_list(tls, "ALL:@SECLEVEL=0") != 1) {
			conclude(r, VERDICT_ERROR, "this OpenSSL cannot serve TLS older than 1.2", NULL, NULL, NULL);
			goto out;
		}
	} else if (cs->srv.tls_max && SSL_CTX_set_max_proto_version(tls, cs->srv.tls_max) != 1) {
		conclude(r, VERDICT_ERROR, "cannot pin the TLS version", NULL, NULL, NULL);
		goto out;
	}
	char bindir[PATH_MAX];
	if (!cbin_dir(bindir, sizeof bindir))
		snprintf(bindir, sizeof bindir, "%s/../../bin", p->dir); /* no /proc: the build tree's */
	struct cvars v = { .cafile = x->certs->cafile, .workdir = workdir, .profile_dir = p->dir, .bin = bindir };
	snprintf(v.host, sizeof v.host, "127.0.0.1");
	snprintf(v.hostname, sizeof v.hostname, "localhost");
	snprintf(v.port, sizeof v.port, "%d", port);
	snprintf(v.tls_port, sizeof v.tls_port, "%d", tport);
	snprintf(v.user, sizeof v.user, "%s", cs->srv.user ? cs->srv.user : CLIENT_USER);
	snprintf(v.password, sizeof v.password, "%s", cs->srv.password ? cs->srv.password : CLIENT_PASSWORD);
	if (p->delivery_path && !(dpath = cexpand(p->delivery_path, &v, &err))) {
		conclude(r, VERDICT_ERROR, err.msg, NULL, NULL, NULL);
		goto out;
	}
	/* The scenario's own timeout, else --timeout as given, else the profile's, else the default. */
	double timeout = sc->timeout > 0                  ? sc->timeout
	                 : x->timeout_given || !p->timeout ? x->timeout
	                                                   : p->timeout;
	for (int run = 0; run < cs->runs; run++) {
		struct cproc proc;
		char buf[300];
		if (run == 1 && cs->srv.nbetween) {
			/* New numbers for the same messages: a client must follow unique-ids, not numbers (RFC
			 * 1939 §7). Removed ones are gone, as if another client had deleted them. */
			for (size_t i = 0; i < cs->srv.nbetween; i++)
				if ((size_t)cs->srv.between_runs_delete[i] <= md.n)
					md.msgs[cs->srv.between_runs_delete[i] - 1].deleted = true;
			size_t k = 0;
			for (size_t i = 0; i < md.n; i++) {
				if (md.msgs[i].deleted) {
					free(md.msgs[i].data);
					continue;
				}
				md.msgs[k++] = md.msgs[i];
			}
			md.n = k;
			snprintf(buf, sizeof buf, "between the runs the server removed %zu message(s): the others have new numbers",
			         cs->srv.nbetween);
			ctrans_add(&tr, TLINE_NOTE, "client", buf, strlen(buf));
		}
		if (run == 1 && added.n) {
			if (cmaildrop_append(&md, &added, &err) < 0) {
				conclude(r, VERDICT_ERROR, err.msg, NULL, NULL, NULL);
				goto out;
			}
			snprintf(buf, sizeof buf, "between the runs %zu new message(s) arrived", added.n);
			ctrans_add(&tr, TLINE_NOTE, "client", buf, strlen(buf));
		}
		snprintf(buf, sizeof buf, "run %d of the client (ports %d and %d)", run + 1, port, tport);
		ctrans_add(&tr, TLINE_NOTE, "client", buf, strlen(buf));
		if (cproc_start(p, modes, nmodes, &v, outp[run], errp[run], &proc, &err) < 0) {
			conclude(r, VERDICT_ERROR, err.msg, NULL, NULL, NULL);
			goto out;
		}
		struct cconn_ctx cc = { .o = &cs->srv, .md = &md, .tls = tls, .rec = rec, .tr = &tr, .run = run,
			                    .deadline_ms = cnow_ms() + timeout * 1000.0, .live = x->live };
		for (;;) {
			struct pollfd pf[2] = { { lp, POLLIN, 0 }, { lt, POLLIN, 0 } };
			int pr = poll(pf, 2, 50);
			for (int i = 0; pr > 0 && i < 2; i++) {
				if (!(pf[i].revents & POLLIN))
					continue;
				int fd = accept4(i ? lt : lp, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
				if (fd >= 0)
					cconn_serve(&cc, fd, i == 1);
			}
			if (cproc_poll(&proc))
				break;
			if (stop_requested() != STOP_NONE) {
				ctrans_add(&tr, TLINE_NOTE, "client", "stopped: the client is ended", 29);
				break;
			}
			if (cnow_ms() >= cc.deadline_ms) {
				rec->timed_out = true;
				snprintf(buf, sizeof buf, "the client did not exit within %.1f s: killed", timeout);
				ctrans_add(&tr, TLINE_NOTE, "client", buf, strlen(buf));
				break;
			}
		}
		cproc_kill(&proc);
		int st = proc.status;
		rec->exit_status[run] = rec->timed_out ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		snprintf(buf, sizeof buf, "the client exited with status %d", rec->exit_status[run]);
		ctrans_add(&tr, TLINE_NOTE, "client", buf, strlen(buf));
		/* The client's own words, for the reader of a failure. */
		size_t n;
		char *e = cread_file(errp[run], &n);
		if (e && n) {
			size_t from = n > 600 ? n - 600 : 0;
			char *tail = dupcat("stderr: ", e + from);
			if (tail)
				ctrans_add(&tr, TLINE_NOTE, "client", tail, strlen(tail));
			if (tail && x->live)
				fprintf(stderr, "  client * %s\n", tail);
			free(tail);
		}
		free(e);
		if (rec->timed_out)
			break;
	}
	struct cverdict cv;
	cexpect_judge(sc, p, &fx, rec, dpath, outs, cs->runs, &cv);
	conclude(r, cv.v, cv.msg, cv.ref, cv.expected, cv.actual);
out:
	if (lp >= 0)
		close(lp);
	if (lt >= 0)
		close(lt);
	SSL_CTX_free(tls);
	const char *keep = getenv("POP3SPEC_CLIENT_KEEP");
	bool keeping = keep && strcmp(keep, "1") == 0;
	if (workdir[0] && !strstr(workdir, "XXXXXX") && !keeping)
		fixture_rmtree(workdir);
	for (int i = 0; i < 2 && !keeping; i++) {
		if (outp[i][0])
			unlink(outp[i]);
		if (errp[i][0])
			unlink(errp[i]);
	}
	free(dpath);
	cmaildrop_free(&md);
	cmaildrop_free(&fx);
	cmaildrop_free(&added);
	if (rec)
		for (size_t i = 0; i < rec->ncmds; i++)
			free(rec->cmds[i].text);
	free(rec);
	r->transcript = tr.v;
	r->ntranscript = tr.n;
	r->duration_ms = (long)(cnow_ms() - t0);
}
