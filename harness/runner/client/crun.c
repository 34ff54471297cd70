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
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
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
		transport |=
		    strcmp(m, "plain") == 0 || strcmp(m, "stls") == 0 || strcmp(m, "implicit_tls") == 0;
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

/* One scenario being run: what the steps below set up, use and clean away. */
struct job {
	const struct crun_ctx *x;
	const struct scenario *sc;
	const struct cscen *cs;
	const struct cprofile *p;
	struct ctrans tr;
	struct crecord *rec;
	struct cmaildrop md, fx, added; /* what the server serves; what a delivery must equal; new mail */
	const struct cmode *modes[CLIENT_MAX_MODES + 1];
	size_t nmodes;
	char workdir[PATH_MAX], outp[2][PATH_MAX], errp[2][PATH_MAX];
	int lp, lt, port, tport; /* the plain and the implicit-TLS listeners */
	SSL_CTX *tls;
	struct cvars v;
	char bindir[PATH_MAX];
	char *dpath; /* the delivery, placeholders expanded */
	double timeout;
	struct p3err err;
};

static void note(struct job *j, const char *text)
{
	ctrans_add(&j->tr, TLINE_NOTE, "client", text, strlen(text));
}

/* The fixture maildrop (served, and the delivery's reference) and the mail arriving between runs. NULL,
 * or why not. */
static const char *load_maildrops(struct job *j)
{
	char path[PATH_MAX];
	const char *fdir = j->x->fixtures_dir;
	if (j->sc->fixture &&
	    (fixture_locate(fdir, j->sc->fixture, path, sizeof path, &j->err) < 0 ||
	     cmaildrop_load(path, &j->md, &j->err) < 0 || cmaildrop_load(path, &j->fx, &j->err) < 0))
		return j->err.msg;
	const char *add = j->cs->srv.between_runs_add;
	if (add && (fixture_locate(fdir, add, path, sizeof path, &j->err) < 0 ||
	            cmaildrop_load(path, &j->added, &j->err) < 0 ||
	            cmaildrop_append(&j->fx, &j->added, &j->err) < 0))
		return j->err.msg;
	return NULL;
}

/* The work folder, the client's output files and the two listeners on 127.0.0.1. */
static const char *open_listeners(struct job *j, int index)
{
	const char *dir = j->x->certs->dir;
	snprintf(j->workdir, sizeof j->workdir, "%s/w%03d-XXXXXX", dir, index);
	for (int i = 0; i < 2; i++) {
		snprintf(j->outp[i], sizeof j->outp[i], "%s/w%03d.out%d", dir, index, i + 1);
		snprintf(j->errp[i], sizeof j->errp[i], "%s/w%03d.err%d", dir, index, i + 1);
	}
	if (!mkdtemp(j->workdir) || (j->lp = listen_on(&j->port)) < 0 || (j->lt = listen_on(&j->tport)) < 0) {
		if (j->workdir[0] == '/' && strstr(j->workdir, "XXXXXX"))
			j->workdir[0] = '\0';
		return "cannot make the work folder or listen on 127.0.0.1";
	}
	return NULL;
}

/* The server's TLS context with the scenario's certificate and TLS versions. */
static const char *make_tls(struct job *j)
{
	const struct ccerts *certs = j->x->certs;
	int cert = j->cs->srv.cert, max = j->cs->srv.tls_max;
	j->tls = tls_server_ctx(certs->cert[cert], certs->key[cert], &j->err);
	if (!j->tls)
		return j->err.msg;
	if (max && max < TLS1_2_VERSION) {
		/* A server stuck at an old TLS version (RFC 8996, RFC 8314 §4.1): the client must refuse it.
		 * Security level 0 lets OpenSSL speak it at all. */
		SSL_CTX_set_security_level(j->tls, 0);
		if (SSL_CTX_set_min_proto_version(j->tls, TLS1_VERSION) != 1 ||
		    SSL_CTX_set_max_proto_version(j->tls, max) != 1 ||
		    SSL_CTX_set_cipher_list(j->tls, "ALL:@SECLEVEL=0") != 1)
			return "this OpenSSL cannot serve TLS older than 1.2";
	} else if (max && SSL_CTX_set_max_proto_version(j->tls, max) != 1) {
		return "cannot pin the TLS version";
	}
	return NULL;
}

/* The profile's placeholders ({host}, {port}, {cafile}, ...), the delivery path and the timeout. */
static const char *set_vars(struct job *j)
{
	const struct cscen *cs = j->cs;
	const struct cprofile *p = j->p;
	if (!cbin_dir(j->bindir, sizeof j->bindir))
		snprintf(j->bindir, sizeof j->bindir, "%s/../../bin",
		         p->dir); /* no /proc: the build tree's */
	struct cvars *v = &j->v;
	v->cafile = j->x->certs->cafile;
	v->workdir = j->workdir;
	v->profile_dir = p->dir;
	v->bin = j->bindir;
	snprintf(v->host, sizeof v->host, "127.0.0.1");
	snprintf(v->hostname, sizeof v->hostname, "localhost");
	snprintf(v->port, sizeof v->port, "%d", j->port);
	snprintf(v->tls_port, sizeof v->tls_port, "%d", j->tport);
	snprintf(v->user, sizeof v->user, "%s", cs->srv.user ? cs->srv.user : CLIENT_USER);
	snprintf(v->password, sizeof v->password, "%s",
	         cs->srv.password ? cs->srv.password : CLIENT_PASSWORD);
	if (p->delivery_path && !(j->dpath = cexpand(p->delivery_path, v, &j->err)))
		return j->err.msg;
	/* The scenario's own timeout, else --timeout as given, else the profile's, else the default. */
	j->timeout = j->sc->timeout > 0                   ? j->sc->timeout
	             : j->x->timeout_given || !p->timeout ? j->x->timeout
	                                                  : p->timeout;
	return NULL;
}

/* Before the second run: messages removed (the others renumbered) and new mail, as the scenario says. */
static const char *between_runs(struct job *j)
{
	const struct cscen *cs = j->cs;
	struct cmaildrop *md = &j->md;
	char buf[300];
	if (cs->srv.nbetween) {
		/* New numbers for the same messages: a client must follow unique-ids, not numbers
		 * (RFC 1939 §7). Removed ones are gone, as if another client had deleted them. */
		for (size_t i = 0; i < cs->srv.nbetween; i++)
			if ((size_t)cs->srv.between_runs_delete[i] <= md->n)
				md->msgs[cs->srv.between_runs_delete[i] - 1].deleted = true;
		cmaildrop_compact(md);
		snprintf(buf, sizeof buf,
		         "between the runs the server removed %zu message(s): the others have new numbers",
		         cs->srv.nbetween);
		note(j, buf);
	}
	if (j->added.n) {
		if (cmaildrop_append(md, &j->added, &j->err) < 0)
			return j->err.msg;
		snprintf(buf, sizeof buf, "between the runs %zu new message(s) arrived", j->added.n);
		note(j, buf);
	}
	return NULL;
}

/* Serve every connection the client makes until it exits, a stop is asked for, or the deadline. */
static void serve_until_exit(struct job *j, struct cproc *proc, const struct cconn_ctx *cc)
{
	for (;;) {
		struct pollfd pf[2] = {{j->lp, POLLIN, 0}, {j->lt, POLLIN, 0}};
		int pr = poll(pf, 2, 50);
		for (int i = 0; pr > 0 && i < 2; i++) {
			if (!(pf[i].revents & POLLIN))
				continue;
			int fd = accept4(i ? j->lt : j->lp, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd >= 0)
				cconn_serve(cc, fd, i == 1);
		}
		if (cproc_poll(proc))
			return;
		if (stop_requested() != STOP_NONE) {
			note(j, "stopped: the client is ended");
			return;
		}
		if (cnow_ms() >= cc->deadline_ms) {
			char buf[100];
			j->rec->timed_out = true;
			snprintf(buf, sizeof buf, "the client did not exit within %.1f s: killed",
			         j->timeout);
			note(j, buf);
			return;
		}
	}
}

/* The client's exit status into the record, and the end of its stderr (its own words, for the reader of
 * a failure) into the transcript. */
static void client_exited(struct job *j, int run, const struct cproc *proc)
{
	char buf[100];
	int st = proc->status;
	j->rec->exit_status[run] = j->rec->timed_out ? -1
	                           : WIFEXITED(st)   ? WEXITSTATUS(st)
	                                             : 128 + WTERMSIG(st);
	snprintf(buf, sizeof buf, "the client exited with status %d", j->rec->exit_status[run]);
	note(j, buf);
	size_t n;
	char *e = cread_file(j->errp[run], &n);
	if (e && n) {
		size_t from = n > 600 ? n - 600 : 0;
		char *tail = dupcat("stderr: ", e + from);
		if (tail)
			note(j, tail);
		if (tail && j->x->live)
			fprintf(stderr, "  client * %s\n", tail);
		free(tail);
	}
	free(e);
}

/* One run of the client: started from the profile, served, ended. NULL, or why it could not run. */
static const char *run_client(struct job *j, int run)
{
	struct cproc proc;
	char buf[100];
	if (run == 1) {
		const char *why = between_runs(j);
		if (why)
			return why;
	}
	snprintf(buf, sizeof buf, "run %d of the client (ports %d and %d)", run + 1, j->port, j->tport);
	note(j, buf);
	if (cproc_start(j->p, j->modes, j->nmodes, &j->v, j->outp[run], j->errp[run], &proc, &j->err) < 0)
		return j->err.msg;
	struct cconn_ctx cc = {.o = &j->cs->srv,
	                       .md = &j->md,
	                       .tls = j->tls,
	                       .rec = j->rec,
	                       .tr = &j->tr,
	                       .run = run,
	                       .deadline_ms = cnow_ms() + j->timeout * 1000.0,
	                       .live = j->x->live};
	serve_until_exit(j, &proc, &cc);
	cproc_kill(&proc);
	client_exited(j, run, &proc);
	return NULL;
}

/* Everything set up is taken down (POP3SPEC_CLIENT_KEEP=1 keeps the files to look into). */
static void cleanup(struct job *j)
{
	if (j->lp >= 0)
		close(j->lp);
	if (j->lt >= 0)
		close(j->lt);
	SSL_CTX_free(j->tls);
	const char *keep = getenv("POP3SPEC_CLIENT_KEEP");
	bool keeping = keep && strcmp(keep, "1") == 0;
	if (j->workdir[0] && !strstr(j->workdir, "XXXXXX") && !keeping)
		fixture_rmtree(j->workdir);
	for (int i = 0; i < 2 && !keeping; i++) {
		if (j->outp[i][0])
			unlink(j->outp[i]);
		if (j->errp[i][0])
			unlink(j->errp[i]);
	}
	free(j->dpath);
	cmaildrop_free(&j->md);
	cmaildrop_free(&j->fx);
	cmaildrop_free(&j->added);
	if (j->rec)
		for (size_t i = 0; i < j->rec->ncmds; i++)
			free(j->rec->cmds[i].text);
	free(j->rec);
}

/* Set up, run the client (twice for `runs: 2`), judge. */
static void run_job(struct job *j, int index, struct result *r)
{
	const char *missing;
	j->nmodes = pick_modes(j->p, j->cs, j->modes, &missing, &j->rec->tls_required);
	if (missing) {
		char msg[200];
		snprintf(msg, sizeof msg, "the client profile %s has no mode %s", j->p->name, missing);
		conclude(r, VERDICT_SKIP, msg, NULL, NULL, NULL);
		return;
	}
	const char *why = load_maildrops(j);
	if (!why)
		why = open_listeners(j, index);
	if (!why)
		why = make_tls(j);
	if (!why)
		why = set_vars(j);
	for (int run = 0; !why && run < j->cs->runs && !(run > 0 && j->rec->timed_out); run++)
		why = run_client(j, run);
	if (why) {
		conclude(r, VERDICT_ERROR, why, NULL, NULL, NULL);
		return;
	}
	const char *outs[2] = {j->outp[0], j->outp[1]};
	struct cverdict cv;
	cexpect_judge(j->sc, j->p, &j->fx, j->rec, j->dpath, outs, j->cs->runs, &cv);
	conclude(r, cv.v, cv.msg, cv.ref, cv.expected, cv.actual);
}

void crun_scenario(const struct crun_ctx *x, const struct scenario *sc, int index, struct result *r)
{
	struct job *j = calloc(1, sizeof *j);
	double t0 = cnow_ms();
	memset(r, 0, sizeof *r);
	result_identity(r, sc);
	if (j) {
		j->x = x;
		j->sc = sc;
		j->cs = sc->client;
		j->p = x->prof;
		j->lp = j->lt = -1;
		j->tr.t0 = t0;
		j->rec = calloc(1, sizeof *j->rec);
	}
	if (!j || !j->rec)
		conclude(r, VERDICT_ERROR, "out of memory", NULL, NULL, NULL);
	else
		run_job(j, index, r);
	if (j) {
		cleanup(j);
		r->transcript = j->tr.v;
		r->ntranscript = j->tr.n;
	}
	free(j);
	r->duration_ms = (long)(cnow_ms() - t0);
}
