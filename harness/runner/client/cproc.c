/* cproc.c — the client process: placeholders expanded, the profile's files written, fork/exec in its own
 * process group (stdin /dev/null, stdout and stderr to files), and ending the whole group at a timeout. */
#include "runner/client/client_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char *cexpand(const char *t, const struct cvars *v, struct p3err *err)
{
	size_t cap = strlen(t) + 256, n = 0;
	char *o = malloc(cap);
	if (!o) {
		p3err_set(err, "out of memory");
		return NULL;
	}
	for (const char *p = t; *p;) {
		const char *val = NULL;
		size_t skip = 1;
		char one[2] = { *p, 0 };
		if (p[0] == '{' && p[1] == '{') {
			val = "{";
			skip = 2;
		} else if (p[0] == '{') {
			const char *e = strchr(p, '}');
			static const char *const names[] = { "host", "hostname", "port", "tls_port", "user", "password",
				                                 "cafile", "workdir", "profile_dir", "bin" };
			const char *vals[] = { v->host, v->hostname, v->port, v->tls_port, v->user, v->password,
				                   v->cafile, v->workdir, v->profile_dir, v->bin };
			for (size_t i = 0; e && i < sizeof names / sizeof *names; i++)
				if (strlen(names[i]) == (size_t)(e - p - 1) && strncmp(names[i], p + 1, (size_t)(e - p - 1)) == 0)
					val = vals[i] ? vals[i] : "";
			if (!val) {
				p3err_set(err, "unknown placeholder in '%.100s' (docs/clients.md lists them)", t);
				free(o);
				return NULL;
			}
			skip = (size_t)(e - p) + 1;
		} else {
			val = one;
		}
		size_t l = strlen(val);
		if (n + l + 1 > cap) {
			char *q = realloc(o, cap = 2 * (n + l + 1));
			if (!q) {
				free(o);
				p3err_set(err, "out of memory");
				return NULL;
			}
			o = q;
		}
		memcpy(o + n, val, l);
		n += l;
		p += skip;
	}
	o[n] = '\0';
	return o;
}

static int mkdirs_for(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

static int write_files(const struct cfile *f, size_t nf, const struct cvars *v, struct p3err *err)
{
	for (size_t i = 0; i < nf; i++) {
		char *rel = cexpand(f[i].path, v, err), *content = rel ? cexpand(f[i].content, v, err) : NULL;
		char path[PATH_MAX];
		int rc = -1;
		if (content) {
			snprintf(path, sizeof path, "%s/%s", v->workdir, rel);
			int fd = mkdirs_for(path) == 0 ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
			if (fd < 0) {
				p3err_errno(err, "%s", path);
			} else {
				size_t len = strlen(content);
				/* fchmod: the mode exactly as the profile says, whatever the umask (fetchmail insists
				 * on 0600 or stricter for its rc file). */
				if (write(fd, content, len) == (ssize_t)len && fchmod(fd, (mode_t)f[i].mode) == 0)
					rc = 0;
				else
					p3err_errno(err, "%s", path);
				close(fd);
			}
		}
		free(rel);
		free(content);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The profile's `mkdirs`, with their parents (mpop delivers only into an existing Maildir; its new/,
 * cur/ and tmp/ are listed as three entries). A relative path is taken under {workdir}. */
static int make_dirs(const struct cprofile *p, const struct cvars *v, struct p3err *err)
{
	for (size_t i = 0; i < p->nmkdirs; i++) {
		char *d = cexpand(p->mkdirs[i], v, err);
		if (!d)
			return -1;
		char path[PATH_MAX];
		if (d[0] == '/')
			snprintf(path, sizeof path, "%s/", d);
		else
			snprintf(path, sizeof path, "%s/%s/", v->workdir, d);
		int rc = mkdirs_for(path);
		if (rc < 0)
			p3err_errno(err, "mkdirs: %s", d);
		free(d);
		if (rc < 0)
			return -1;
	}
	return 0;
}

bool cbin_dir(char *out, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	/* Installed: helper programs are not commands a user runs, so they live in libexec (FHS 4.7). */
	char libexec[PATH_MAX + 32];
	struct stat st;
	size_t l = strlen(self);
	if (l >= 4 && strcmp(self + l - 4, "/bin") == 0) {
		snprintf(libexec, sizeof libexec, "%.*s/libexec/pop3spec", (int)(l - 4), self);
		if (stat(libexec, &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(out, size, "%s", libexec);
			return true;
		}
	}
	snprintf(out, size, "%s", self);
	return true;
}

static int push(char **v, size_t *n, size_t max, char *s, struct p3err *err)
{
	if (!s)
		return -1;
	if (*n + 1 >= max) {
		free(s);
		return p3err_set(err, "too many words or variables");
	}
	v[(*n)++] = s;
	v[*n] = NULL;
	return 0;
}

static int add_env(char **envp, size_t *n, size_t max, const struct cenv *e, size_t ne, const struct cvars *v,
                   struct p3err *err)
{
	for (size_t i = 0; i < ne; i++) {
		char *val = cexpand(e[i].value, v, err);
		if (!val)
			return -1;
		size_t len = strlen(e[i].name) + strlen(val) + 2;
		char *kv = malloc(len);
		if (kv)
			snprintf(kv, len, "%s=%s", e[i].name, val);
		free(val);
		/* Replace an inherited variable of that name. */
		size_t nl = strlen(e[i].name);
		for (size_t k = 0; kv && k < *n; k++) {
			if (strncmp(envp[k], e[i].name, nl) == 0 && envp[k][nl] == '=') {
				free(envp[k]);
				envp[k] = kv;
				kv = NULL;
				break;
			}
		}
		if (kv && push(envp, n, max, kv, err) < 0)
			return -1;
	}
	return 0;
}

static void freev(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

int cproc_start(const struct cprofile *p, const struct cmode *const *modes, size_t nmodes, const struct cvars *v,
                const char *out_path, const char *err_path, struct cproc *c, struct p3err *err)
{
	enum { MAXV = CLIENT_MAX_ARGS * 4, MAXE = 4096 };
	char *argv[MAXV + 1], *envp[MAXE + 1];
	size_t na = 0, ne = 0;
	int rc = -1;
	memset(c, 0, sizeof *c);
	c->pid = -1;
	argv[0] = envp[0] = NULL;
	if (write_files(p->files, p->nfiles, v, err) < 0 || make_dirs(p, v, err) < 0)
		return -1;
	char *const *cmd = p->command;
	size_t ncmd = p->ncommand;
	for (size_t m = 0; m < nmodes; m++) {
		if (modes[m]->command) {
			cmd = modes[m]->command;
			ncmd = modes[m]->ncommand;
		}
		if (write_files(modes[m]->files, modes[m]->nfiles, v, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < ncmd; i++)
		if (push(argv, &na, MAXV, cexpand(cmd[i], v, err), err) < 0)
			goto out;
	for (size_t m = 0; m < nmodes; m++)
		for (size_t i = 0; i < modes[m]->nargs; i++)
			if (push(argv, &na, MAXV, cexpand(modes[m]->args[i], v, err), err) < 0)
				goto out;
	for (char **e = environ; *e; e++)
		if (push(envp, &ne, MAXE, strdup(*e), err) < 0)
			goto out;
	if (add_env(envp, &ne, MAXE, p->env, p->nenv, v, err) < 0)
		goto out;
	for (size_t m = 0; m < nmodes; m++)
		if (add_env(envp, &ne, MAXE, modes[m]->env, modes[m]->nenv, v, err) < 0)
			goto out;
	int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int errf = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int pfd[2] = { -1, -1 };
	if (out < 0 || errf < 0 || nul < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		p3err_errno(err, "cannot prepare the client's standard files");
		goto close_out;
	}
	pid_t pid = fork();
	if (pid < 0) {
		p3err_errno(err, "fork");
		goto close_out;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec: the runner may have threads. */
		setpgid(0, 0);
		if (dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(errf, 2) < 0 || chdir(v->workdir) < 0) {
			int e = errno;
			(void)!write(pfd[1], &e, sizeof e);
			_exit(127);
		}
		execvpe(argv[0], argv, envp);
		int e = errno;
		(void)!write(pfd[1], &e, sizeof e);
		_exit(127);
	}
	setpgid(pid, pid); /* also here: whichever runs first, the group exists before we may kill it */
	close(pfd[1]);
	pfd[1] = -1;
	int child_errno = 0;
	ssize_t r;
	while ((r = read(pfd[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
		;
	c->pid = pid;
	if (r == (ssize_t)sizeof child_errno) {
		errno = child_errno;
		p3err_errno(err, "cannot start the client %s", argv[0]);
		waitpid(pid, NULL, 0);
		c->pid = -1;
	} else {
		rc = 0;
	}
close_out:
	if (out >= 0)
		close(out);
	if (errf >= 0)
		close(errf);
	if (nul >= 0)
		close(nul);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
out:
	freev(argv, na);
	freev(envp, ne);
	return rc;
}

bool cproc_poll(struct cproc *c)
{
	if (c->exited || c->pid < 0)
		return true;
	int st;
	if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
		c->exited = true;
		c->status = st;
	}
	return c->exited;
}

void cproc_kill(struct cproc *c)
{
	if (c->pid < 0)
		return;
	if (!cproc_poll(c)) {
		c->killed = true;
		kill(-c->pid, SIGTERM);
		for (int i = 0; i < CLIENT_KILL_GRACE_MS / 10 && !cproc_poll(c); i++) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		if (!c->exited) {
			kill(-c->pid, SIGKILL);
			int st;
			if (waitpid(c->pid, &st, 0) == c->pid) {
				c->exited = true;
				c->status = st;
			}
		}
	}
	/* Whatever the client left behind in its group (an MDA, a helper) goes too. */
	kill(-c->pid, SIGKILL);
}

char *cread_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0, r;
	char *b = malloc(cap + 1);
	while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *q = realloc(b, (cap *= 2) + 1);
			if (!q)
				free(b);
			b = q;
		}
	}
	fclose(f);
	if (b) {
		b[n] = '\0';
		*len = n;
	}
	return b;
}
