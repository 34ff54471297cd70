/* reference.c — starting and stopping bin/pop3refd for `--reference`: a temporary folder with maildirs,
 * users and (when the build generated none) a certificate made with OpenSSL's API; the "listening" lines
 * on its stdout say where it is (pop3refd's command-line contract, docs/server.md). */
#include "runner/reference.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/maildir.h"
#include "runner/certgen.h"
#include "runner/datadir.h"
#include "runner/fixture.h"
#include "runner/stop.h"

struct started {
	pid_t pid;
	int outfd; /* the server's stdout, kept open so a late line cannot SIGPIPE it */
	char dir[PATH_MAX];
	const struct target *t;
};

#define MAX_STARTED 4
static struct started started[MAX_STARTED];

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int file_ok(const char *p)
{
	return access(p, R_OK) == 0;
}

static int join(char *buf, size_t n, const char *a, const char *b)
{
	int r = snprintf(buf, n, "%s/%s", a, b);
	return r < 0 || (size_t)r >= n ? -1 : 0;
}

/* The folder of this executable. */
static int exe_dir(char *buf, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", buf, n - 1);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	return 0;
}

static int find_server(char *path, size_t n, struct p3err *err)
{
	const char *env = getenv("POP3REFD");
	if (env && *env) {
		if (snprintf(path, n, "%s", env) >= (int)n || access(path, X_OK) != 0)
			return p3err_set(err, "POP3REFD=%s is not an executable", env);
		return 0;
	}
	if (datadir_server(path, n) != 0)
		return p3err_set(err,
		                 "pop3refd not found (looked at %s): build it with `make`, install it, or "
		                 "set POP3REFD",
		                 path);
	return 0;
}

/* fixtures/generated/tls/ from the working folder, or from the executable's parent (bin/..). */
static int find_tls(char *dir, size_t n)
{
	char exe[PATH_MAX], cand[PATH_MAX], f[PATH_MAX + 16];
	const char *bases[2] = {".", NULL};
	if (exe_dir(exe, sizeof exe) == 0 && join(cand, sizeof cand, exe, "..") == 0)
		bases[1] = cand;
	for (int i = 0; i < 2; i++) {
		if (bases[i] == NULL)
			continue;
		if (join(dir, n, bases[i], "fixtures/generated/tls") != 0)
			continue;
		if (join(f, sizeof f, dir, "server.pem") == 0 && file_ok(f) &&
		    join(f, sizeof f, dir, "server.key") == 0 && file_ok(f) &&
		    join(f, sizeof f, dir, "ca.pem") == 0 && file_ok(f))
			return 0;
	}
	return -1;
}

/* ---- certificate generation (when the build made none) ------------------------------------------- */

static int generate_tls(const char *dir, struct p3err *err)
{
	char ca_pem[PATH_MAX], srv_pem[PATH_MAX], srv_key[PATH_MAX];
	if (join(ca_pem, sizeof ca_pem, dir, "ca.pem") || join(srv_pem, sizeof srv_pem, dir, "server.pem") ||
	    join(srv_key, sizeof srv_key, dir, "server.key"))
		return p3err_set(err, "path too long: %s", dir);
	static const struct certspec ca_spec = {NULL, "pop3spec reference CA", NULL, -3600, 7L * 24 * 3600, 1,
	                                        true};
	static const struct certspec srv_spec = {
	    NULL, "localhost", CERTGEN_SAN_LOOPBACK, -3600, 7L * 24 * 3600, 2, false};
	EVP_PKEY *cak = certgen_key(), *sk = certgen_key();
	X509 *ca = cak ? certgen_make(&ca_spec, cak, NULL, NULL) : NULL;
	X509 *srv = ca && sk ? certgen_make(&srv_spec, sk, ca, cak) : NULL;
	int rc = 0;
	if (srv == NULL)
		rc = p3err_ssl(err, "generating a test certificate");
	else if (certgen_write(ca_pem, ca, NULL, err) || certgen_write(srv_pem, srv, NULL, err) ||
	         certgen_write(srv_key, NULL, sk, err))
		rc = -1;
	X509_free(srv);
	X509_free(ca);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(cak);
	return rc;
}

/* ---- the users and maildirs ---------------------------------------------------------------------------- */

static int write_users(const char *dir, struct target *t, struct p3err *err)
{
	char path[PATH_MAX], md[PATH_MAX], ud[PATH_MAX];
	if (join(path, sizeof path, dir, "users") || join(md, sizeof md, dir, "maildirs"))
		return p3err_set(err, "path too long: %s", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return p3err_errno(err, "create %s", path);
	fprintf(f, "# pop3spec --reference: %d test accounts\n", REFERENCE_ACCOUNTS);
	t->accounts = calloc(REFERENCE_ACCOUNTS, sizeof *t->accounts);
	if (t->accounts == NULL) {
		fclose(f);
		return p3err_set(err, "out of memory");
	}
	for (int i = 0; i < REFERENCE_ACCOUNTS; i++) {
		char user[32], pass[32];
		snprintf(user, sizeof user, "user%02d", i + 1);
		snprintf(pass, sizeof pass, "pass%02d-reference", i + 1);
		fprintf(f, "%s:%s\n", user, pass);
		t->accounts[i].user = strdup(user);
		t->accounts[i].password = strdup(pass);
		t->naccounts++;
		if (join(ud, sizeof ud, md, user) != 0 || maildir_create(ud, err) != 0) {
			fclose(f);
			return -1;
		}
	}
	if (fclose(f) != 0)
		return p3err_errno(err, "write %s", path);
	t->maildirs = strdup(md);
	return 0;
}

/* ---- start and stop ---------------------------------------------------------------------------------- */

/* The last octets of the server's log, for an error message. */
static void log_tail(const char *dir, char *buf, size_t n)
{
	char path[PATH_MAX];
	buf[0] = '\0';
	if (join(path, sizeof path, dir, "pop3refd.log") != 0)
		return;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	if (size > (long)n - 1)
		fseek(f, size - (long)n + 1, SEEK_SET);
	else
		fseek(f, 0, SEEK_SET);
	size_t got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

static void stop_pid(pid_t pid)
{
	stop_unwatch_child(pid);
	kill(pid, SIGTERM);
	long long end = now_ms() + 5000;
	for (;;) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return;
		}
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
}

/* Read "listening pop3 HOST:PORT" / "listening pop3s HOST:PORT" lines until both came. */
static int read_ports(int fd, pid_t pid, struct target *t, const char *dir, struct p3err *err)
{
	char buf[1024];
	size_t len = 0;
	long long deadline = now_ms() + REFERENCE_START_TIMEOUT_MS;
	while (!t->port || !t->tls_port) {
		long long left = deadline - now_ms();
		char tail[300];
		if (left <= 0) {
			log_tail(dir, tail, sizeof tail);
			return p3err_set(err, "pop3refd did not report its ports within %d s: %s",
			                 REFERENCE_START_TIMEOUT_MS / 1000, tail);
		}
		struct pollfd p = {fd, POLLIN, 0};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int status = 0;
			waitpid(pid, &status, WNOHANG);
			log_tail(dir, tail, sizeof tail);
			return p3err_set(err, "pop3refd exited before it was ready: %s",
			                 tail[0] ? tail : "(no log)");
		}
		len += (size_t)n;
		buf[len] = '\0';
		char *nl;
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			char kind[8];
			int port;
			if (sscanf(buf, "listening %7s 127.0.0.1:%d", kind, &port) == 2) {
				if (strcmp(kind, "pop3") == 0)
					t->port = port;
				else if (strcmp(kind, "pop3s") == 0)
					t->tls_port = port;
			}
			size_t used = (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, len - used + 1);
			len -= used;
		}
		if (len == sizeof buf - 1)
			len = 0; /* a line that long is not ours */
	}
	return 0;
}

/* $POP3REFD_ARGS: extra words for the server's command line, split at spaces and appended after ours, so
 * they win (`make mutation` passes `--fault NAME` to bin/pop3refd-faults). An `--idle-timeout N` among them
 * also becomes the target's idle_timeout, so the timer scenarios wait for the server actually started. */
static int extra_args(const char **argv, char *buf, size_t n, struct target *t, struct p3err *err)
{
	const char *env = getenv("POP3REFD_ARGS");
	size_t argc = 0;
	while (argv[argc] != NULL)
		argc++;
	if (env == NULL || *env == '\0')
		return 0;
	if (snprintf(buf, n, "%s", env) >= (int)n)
		return p3err_set(err, "POP3REFD_ARGS is longer than %zu octets", n - 1);
	char *save = NULL;
	for (char *w = strtok_r(buf, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (argc == REFERENCE_ARGV_MAX)
			return p3err_set(err, "POP3REFD_ARGS has too many words");
		if (strcmp(argv[argc - 1], "--idle-timeout") == 0) {
			char *end;
			long v = strtol(w, &end, 10);
			if (*end != '\0' || v < 0 || v > INT_MAX)
				return p3err_set(
				    err, "POP3REFD_ARGS: --idle-timeout %s is not a number of seconds", w);
			t->idle_timeout = (int)v;
		}
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	return 0;
}

int reference_start(struct target *t, struct p3err *err)
{
	memset(t, 0, sizeof *t);
	struct started *slot = NULL;
	for (int i = 0; i < MAX_STARTED && !slot; i++)
		if (started[i].pid == 0)
			slot = &started[i];
	if (slot == NULL)
		return p3err_set(err, "too many reference servers");
	char server[PATH_MAX], tlsdir[PATH_MAX], cert[PATH_MAX + 16], key[PATH_MAX + 16], ca[PATH_MAX + 16];
	char users[PATH_MAX + 16], logp[PATH_MAX + 16];
	if (find_server(server, sizeof server, err) != 0)
		return -1;
	const char *tmp = getenv("TMPDIR");
	if (snprintf(slot->dir, sizeof slot->dir, "%s/pop3spec-reference-XXXXXX",
	             tmp && *tmp ? tmp : "/tmp") >= (int)sizeof slot->dir ||
	    mkdtemp(slot->dir) == NULL) {
		slot->dir[0] = '\0';
		return p3err_errno(err, "create a temporary folder");
	}
	int rc = -1;
	if (write_users(slot->dir, t, err) != 0)
		goto fail;
	if (find_tls(tlsdir, sizeof tlsdir) != 0) {
		if (generate_tls(slot->dir, err) != 0)
			goto fail;
		snprintf(tlsdir, sizeof tlsdir, "%s", slot->dir);
	}
	join(cert, sizeof cert, tlsdir, "server.pem");
	join(key, sizeof key, tlsdir, "server.key");
	join(ca, sizeof ca, tlsdir, "ca.pem");
	join(users, sizeof users, slot->dir, "users");
	join(logp, sizeof logp, slot->dir, "pop3refd.log");
	t->ca = realpath(ca, NULL);
	t->file = strdup("(reference)");
	t->name = strdup("pop3refd (reference)");
	t->host = strdup("127.0.0.1");
	t->sni = strdup("localhost");
	t->tls_verify = 1;
	t->idle_timeout = 600;
	if (!t->ca || !t->file || !t->name || !t->host || !t->sni || !t->maildirs) {
		p3err_set(err, "out of memory (or %s is unreadable)", ca);
		goto fail;
	}
	int out[2];
	if (pipe2(out, O_CLOEXEC) != 0) {
		p3err_errno(err, "pipe");
		goto fail;
	}
	int logfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		close(out[0]);
		close(out[1]);
		p3err_errno(err, "create %s", logp);
		goto fail;
	}
	const char *argv[REFERENCE_ARGV_MAX + 1] = {server,        "--listen",
	                                            "127.0.0.1:0", "--listen-tls",
	                                            "127.0.0.1:0", "--users",
	                                            users,         "--maildirs",
	                                            t->maildirs,   "--cert",
	                                            cert,          "--key",
	                                            key,           "--auth-failure-delay",
	                                            "0",           "--idle-timeout",
	                                            "600",         NULL};
	char extra[1024];
	if (extra_args(argv, extra, sizeof extra, t, err) != 0) {
		close(out[0]);
		close(out[1]);
		close(logfd);
		goto fail;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		close(logfd);
		p3err_errno(err, "fork");
		goto fail;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(out[1], 1);
		dup2(logfd, 2);
		signal(SIGPIPE, SIG_DFL);
		/* Its own process group: a terminal's Ctrl-C reaches only pop3spec, which stops it after the
		 * run's reports are written (runner/stop.h), never under a scenario still running. */
		setpgid(0, 0);
		/* If pop3spec dies (killed, crashed), the reference server goes too. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(server, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(logfd);
	slot->pid = pid;
	slot->t = t;
	stop_watch_child(pid);
	if (read_ports(out[0], pid, t, slot->dir, err) != 0) {
		close(out[0]);
		goto fail;
	}
	slot->outfd = out[0];
	return 0;
fail:
	if (slot->pid > 0)
		stop_pid(slot->pid);
	fixture_rmtree(slot->dir);
	memset(slot, 0, sizeof *slot);
	target_free(t);
	return rc;
}

void reference_stop(struct target *t)
{
	for (int i = 0; i < MAX_STARTED; i++) {
		struct started *s = &started[i];
		if (s->pid == 0 || s->t != t)
			continue;
		stop_pid(s->pid);
		close(s->outfd);
		fixture_rmtree(s->dir);
		memset(s, 0, sizeof *s);
	}
	target_free(t);
}
