/* target.c — the target profile (docs/targets.md): loading it from YAML with file:line:column errors,
 * and resetting a maildrop to a fixture, by the profile's command or by copying into maildirs/USER.
 *
 * Profile grammar (a YAML mapping):
 *   name: STR  host: STR  port: INT  tls_port: INT  tls_verify: BOOL  ca: PATH  sni: STR
 *   accounts: [ {user: STR, password: STR, apop_secret: STR?}, ... ]   (at least two)
 *   reset: "command {user} {fixture}"   maildirs: DIR   idle_timeout: INT   login_tls: BOOL|auto
 *   delivery: verbatim|agent   redact: BOOL
 *   reset_timeout: SECONDS   login_timeout: SECONDS   lock_retry: SECONDS   login_delay_max: SECONDS
 *   silence_min: SECONDS
 * Relative paths (ca, maildirs) are taken from the profile's folder. Every key: docs/targets.md. The YAML
 * layer (reading, parsing, file:line:column errors, typed values) is the scenario loader's (load_yaml.c). */
#include "runner/target.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "lib/maildir.h"
#include "runner/fixture.h"
#include "runner/load_int.h"
#include "runner/mbox.h"

#define TARGET_MAX_ACCOUNTS 4096
/* The timing keys' upper bound (a week: anything longer is a typo). */
#define TARGET_MAX_SECONDS (86400.0 * 7)
/* Octets of a failing reset command's output quoted in the error. */
#define TARGET_RESET_OUTPUT 300

/* One profile being loaded: the loader's YAML context and source, and the profile's folder. */
struct tload {
	struct lctx c; /* only its error buffer is used */
	struct lsrc s;
	const char *dir; /* the profile's folder, for relative paths */
};

/* A scalar's text, or NULL for anything else. */
static const char *scalar(const yaml_node_t *n)
{
	return lscalar(n) ? (const char *)n->data.scalar.value : NULL;
}

/* ---- reset command quoting ------------------------------------------------------------------------- */

/* Where a position in a /bin/sh command stands: outside quotes, inside '...', inside "...". */
enum qstate { Q_NONE, Q_SINGLE, Q_DOUBLE };

/* The quoting state after the first len octets of cmd (POSIX sh §2.2: a backslash outside quotes and
 * inside double quotes takes the next character literally; nothing is special inside single quotes). */
static enum qstate quote_state(const char *cmd, size_t len)
{
	enum qstate q = Q_NONE;
	for (size_t i = 0; i < len; i++) {
		char c = cmd[i];
		if (q == Q_SINGLE) {
			if (c == '\'')
				q = Q_NONE;
		} else if (c == '\\') {
			i++;
		} else if (q == Q_DOUBLE) {
			if (c == '"')
				q = Q_NONE;
		} else if (c == '\'') {
			q = Q_SINGLE;
		} else if (c == '"') {
			q = Q_DOUBLE;
		}
	}
	return q;
}

struct sbuf {
	char *p;
	size_t len, cap;
};

static int sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Append a value as one shell word in quoting state q: outside quotes single-quoted ('it'\''s'); inside
 * single quotes each ' closes, escapes and reopens ('\''); inside double quotes $ ` " \ are escaped. */
static int sb_value(struct sbuf *b, enum qstate q, const char *v)
{
	int rc = q == Q_NONE ? sb_put(b, "'", 1) : 0;
	for (; *v && rc == 0; v++) {
		if (*v == '\'' && q != Q_DOUBLE)
			rc = sb_put(b, "'\\''", 4);
		else if (q == Q_DOUBLE && strchr("$`\"\\", *v))
			rc = sb_put(b, "\\", 1) || sb_put(b, v, 1);
		else
			rc = sb_put(b, v, 1);
	}
	if (rc == 0 && q == Q_NONE)
		rc = sb_put(b, "'", 1);
	return rc;
}

char *target_reset_command(const char *tmpl, const char *user, const char *fixture, const char *mbox)
{
	static const char *const names[] = {"{user}", "{fixture_mbox}", "{fixture}"};
	const char *vals[] = {user, mbox ? mbox : "", fixture};
	struct sbuf b = {NULL, 0, 0};
	if (sb_put(&b, "", 0) != 0)
		return NULL;
	for (const char *p = tmpl; *p;) {
		size_t i;
		for (i = 0; i < 3; i++)
			if (strncmp(p, names[i], strlen(names[i])) == 0)
				break;
		if (i < 3) {
			if (sb_value(&b, quote_state(tmpl, (size_t)(p - tmpl)), vals[i]) != 0)
				goto oom;
			p += strlen(names[i]);
		} else if (sb_put(&b, p++, 1) != 0) {
			goto oom;
		}
	}
	return b.p;
oom:
	free(b.p);
	return NULL;
}

static int get_int(struct tload *L, const yaml_node_t *n, const char *key, long min, long max, long *out)
{
	const char *s = scalar(n);
	if (s == NULL || *s == '\0')
		return lerr(&L->c, &L->s, n, "%s: expected an integer", key);
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0)
		return lerr(&L->c, &L->s, n, "%s: '%s' is not an integer", key, s);
	if (v < min || v > max)
		return lerr(&L->c, &L->s, n, "%s: %ld is out of range (%ld to %ld)", key, v, min, max);
	*out = v;
	return 0;
}

static int get_bool(struct tload *L, const yaml_node_t *n, const char *key, int *out)
{
	bool b;
	if (lbool(&L->c, &L->s, n, key, &b) != 0)
		return -1;
	*out = b;
	return 0;
}

/* A positive number of seconds (fractions allowed), at most TARGET_MAX_SECONDS. */
static int get_seconds(struct tload *L, const yaml_node_t *n, const char *key, double *out)
{
	const char *s = scalar(n);
	char *end = NULL;
	errno = 0;
	double v = s ? strtod(s, &end) : 0;
	if (s == NULL || end == s || *end != '\0' || errno || !(v > 0) || v > TARGET_MAX_SECONDS)
		return lerr(&L->c, &L->s, n, "%s: expected a number of seconds above 0 (at most %.0f)", key,
		            TARGET_MAX_SECONDS);
	*out = v;
	return 0;
}

/* A path from the profile, relative to the profile's folder. */
static int get_path(struct tload *L, const yaml_node_t *n, const char *key, char **out)
{
	char *s = NULL;
	if (lstr(&L->c, &L->s, n, key, &s) != 0)
		return -1;
	if (s[0] == '\0') {
		free(s);
		return lerr(&L->c, &L->s, n, "%s: empty path", key);
	}
	if (s[0] != '/' && strcmp(L->dir, ".") != 0) {
		size_t len = strlen(L->dir) + 1 + strlen(s) + 1;
		char *p = malloc(len);
		if (p == NULL) {
			free(s);
			return lerr(&L->c, &L->s, n, "out of memory");
		}
		snprintf(p, len, "%s/%s", L->dir, s);
		free(s);
		s = p;
	}
	free(*out);
	*out = s;
	return 0;
}

static int load_account(struct tload *L, yaml_node_t *n, struct account *a)
{
	static const char *const keys[] = {"user", "password", "apop_secret", NULL};
	if (n->type != YAML_MAPPING_NODE)
		return lerr(&L->c, &L->s, n,
		            "accounts: each account is a mapping {user: NAME, password: SECRET}");
	if (lkeys(&L->c, &L->s, n, keys, "an account") != 0)
		return -1;
	yaml_node_t *user = lget(&L->s, n, "user", NULL), *pass = lget(&L->s, n, "password", NULL),
	            *apop = lget(&L->s, n, "apop_secret", NULL);
	if (!user)
		return lerr(&L->c, &L->s, n, "accounts: an account needs a user");
	if (!pass)
		return lerr(&L->c, &L->s, n, "accounts: an account needs a password");
	if (lstr(&L->c, &L->s, user, "user", &a->user) != 0 ||
	    lstr(&L->c, &L->s, pass, "password", &a->password) != 0)
		return -1;
	if (a->user[0] == '\0')
		return lerr(&L->c, &L->s, user, "accounts: empty user name");
	/* User names go on command lines (USER, APOP) and into reset commands. */
	for (const char *c = a->user; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return lerr(&L->c, &L->s, user,
			            "accounts: user '%s' holds a space or control character", a->user);
	for (const char *c = a->password; *c; c++)
		if (*c == '\r' || *c == '\n')
			return lerr(&L->c, &L->s, pass, "accounts: a password cannot hold CR or LF");
	if (apop) {
		if (lstr(&L->c, &L->s, apop, "apop_secret", &a->apop_secret) != 0)
			return -1;
		if (a->apop_secret[0] == '\0')
			return lerr(&L->c, &L->s, apop,
			            "accounts: empty apop_secret (leave it out to use the password)");
	}
	return 0;
}

const char *account_apop_secret(const struct account *a)
{
	return a->apop_secret ? a->apop_secret : a->password;
}

static int load_accounts(struct tload *L, yaml_node_t *n, struct target *t)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return lerr(&L->c, &L->s, n, "accounts: expected a list of {user, password}");
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt > TARGET_MAX_ACCOUNTS)
		return lerr(&L->c, &L->s, n, "accounts: more than %d accounts", TARGET_MAX_ACCOUNTS);
	t->accounts = calloc(cnt ? cnt : 1, sizeof *t->accounts);
	if (t->accounts == NULL)
		return lerr(&L->c, &L->s, n, "out of memory");
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
		yaml_node_t *a = lnode(&L->s, *i);
		if (load_account(L, a, &t->accounts[t->naccounts++]) != 0)
			return -1;
		for (size_t j = 0; j + 1 < t->naccounts; j++)
			if (strcmp(t->accounts[j].user, t->accounts[t->naccounts - 1].user) == 0)
				return lerr(&L->c, &L->s, a,
				            "accounts: user '%s' is listed twice (each worker needs its own)",
				            t->accounts[j].user);
	}
	if (t->naccounts < 2)
		return lerr(
		    &L->c, &L->s, n,
		    "accounts: at least two are needed (scenarios use two; -j N uses two per worker)");
	return 0;
}

static int load_root(struct tload *L, yaml_node_t *root, struct target *t)
{
	if (root == NULL || root->type != YAML_MAPPING_NODE)
		return lerr(&L->c, &L->s, root,
		            "a target profile is a mapping (name, host, port, accounts, ...)");
	static const char *const keys[] = {
	    "name",        "host",     "port",          "tls_port",      "tls_verify",   "ca",
	    "sni",         "accounts", "reset",         "maildirs",      "idle_timeout", "login_tls",
	    "redact",      "delivery", "reset_timeout", "login_timeout", "lock_retry",   "login_delay_max",
	    "silence_min", NULL};
	enum { NKEYS = sizeof keys / sizeof keys[0] - 1 };
	/* Unknown and repeated keys are refused here, so each key below is one of these, once. */
	if (lkeys(&L->c, &L->s, root, keys, "a target profile") != 0)
		return -1;
	yaml_node_t *seen[NKEYS] = {0}, *vals[NKEYS] = {0};
	int verify = -1;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = lnode(&L->s, p->key);
		yaml_node_t *v = lnode(&L->s, p->value);
		const char *ks = scalar(k);
		size_t i = 0;
		while (strcmp(ks, keys[i]) != 0)
			i++;
		seen[i] = k;
		vals[i] = v;
		long num;
		int rc = 0;
		switch (i) {
		case 0:
			rc = lstr(&L->c, &L->s, v, ks, &t->name);
			break;
		case 1:
			rc = lstr(&L->c, &L->s, v, ks, &t->host);
			break;
		case 2:
			rc = get_int(L, v, ks, 1, 65535, &num);
			t->port = (int)num;
			break;
		case 3:
			rc = get_int(L, v, ks, 1, 65535, &num);
			t->tls_port = (int)num;
			break;
		case 4:
			rc = get_bool(L, v, ks, &verify);
			break;
		case 5:
			rc = get_path(L, v, ks, &t->ca);
			break;
		case 6:
			rc = lstr(&L->c, &L->s, v, ks, &t->sni);
			break;
		case 7:
			rc = load_accounts(L, v, t);
			break;
		case 8:
			rc = lstr(&L->c, &L->s, v, ks, &t->reset);
			break;
		case 9:
			rc = get_path(L, v, ks, &t->maildirs);
			break;
		case 10:
			rc = get_int(L, v, ks, 1, 86400 * 7, &num);
			t->idle_timeout = num;
			break;
		case 11: {
			int b;
			if (scalar(v) && strcmp(scalar(v), "auto") == 0) {
				t->login_tls = LOGIN_TLS_AUTO;
			} else if (get_bool(L, v, ks, &b) == 0) {
				t->login_tls = b ? LOGIN_TLS_YES : LOGIN_TLS_NO;
			} else {
				rc = lerr(&L->c, &L->s, v, "login_tls: expected true, false or auto");
			}
			break;
		}
		case 12:
			rc = get_bool(L, v, ks, &t->redact);
			break;
		case 13:
			if (scalar(v) && strcmp(scalar(v), "verbatim") == 0)
				t->delivery = DELIVERY_VERBATIM;
			else if (scalar(v) && strcmp(scalar(v), "agent") == 0)
				t->delivery = DELIVERY_AGENT;
			else
				rc = lerr(&L->c, &L->s, v, "delivery: expected verbatim or agent");
			break;
		case 14:
			rc = get_seconds(L, v, ks, &t->reset_timeout);
			break;
		case 15:
			rc = get_seconds(L, v, ks, &t->login_timeout);
			break;
		case 16:
			rc = get_seconds(L, v, ks, &t->lock_retry);
			break;
		case 17:
			rc = get_seconds(L, v, ks, &t->login_delay_max);
			break;
		case 18:
			rc = get_seconds(L, v, ks, &t->silence_min);
			break;
		}
		if (rc != 0)
			return -1;
	}
	if (!seen[1])
		return lerr(&L->c, &L->s, root, "missing 'host'");
	if (t->host[0] == '\0')
		return lerr(&L->c, &L->s, root, "'host' is empty");
	if (!seen[2] && !seen[3])
		return lerr(&L->c, &L->s, root, "missing 'port' (or 'tls_port' for a TLS-only server)");
	if (!seen[7])
		return lerr(&L->c, &L->s, root, "missing 'accounts' (at least two {user, password})");
	if (t->reset && t->maildirs)
		return lerr(&L->c, &L->s, seen[9], "give 'reset' or 'maildirs', not both");
	if (t->reset && (strstr(t->reset, "{user}") == NULL || (strstr(t->reset, "{fixture}") == NULL &&
	                                                        strstr(t->reset, "{fixture_mbox}") == NULL)))
		return lerr(&L->c, &L->s, vals[8],
		            "reset: the command must use {user} and {fixture} (or {fixture_mbox})");
	if (t->reset && quote_state(t->reset, strlen(t->reset)) != Q_NONE)
		return lerr(&L->c, &L->s, vals[8], "reset: a quote is not closed: %s", t->reset);
	if (t->maildirs)
		for (size_t j = 0; j < t->naccounts; j++)
			if (!maildir_user_name_ok(t->accounts[j].user))
				return lerr(&L->c, &L->s, vals[9],
				            "maildirs: user '%s' cannot be a folder name",
				            t->accounts[j].user);
	/* Found now rather than at the first TLS scenario (pop3spec check loads profiles here too). */
	struct stat st;
	if (t->ca && stat(t->ca, &st) != 0)
		return lerr(&L->c, &L->s, vals[5], "ca: %s: %s", t->ca, strerror(errno));
	if (t->ca && (!S_ISREG(st.st_mode) || access(t->ca, R_OK) != 0))
		return lerr(&L->c, &L->s, vals[5], "ca: %s: not a readable file", t->ca);
	/* A `maildirs` folder may well appear only when its server starts: it is not checked. */
	if (verify == 1 && !t->tls_port && !t->port)
		return lerr(&L->c, &L->s, seen[4], "tls_verify without a port");
	/* `ca` alone means: verify against it. */
	t->tls_verify = verify >= 0 ? verify : t->ca != NULL;
	if (t->name == NULL) {
		char buf[300];
		snprintf(buf, sizeof buf, "%s:%d", t->host, t->port ? t->port : t->tls_port);
		t->name = strdup(buf);
	}
	if (t->name == NULL)
		return lerr(&L->c, &L->s, root, "out of memory");
	return 0;
}

int target_load(const char *path, struct target *t, struct p3err *err)
{
	memset(t, 0, sizeof *t);
	char *dcopy = strdup(path);
	if (dcopy == NULL)
		return p3err_set(err, "%s: out of memory", path);
	char *slash = strrchr(dcopy, '/');
	const char *dir = ".";
	if (slash == dcopy)
		dir = "/";
	else if (slash) {
		*slash = '\0';
		dir = dcopy;
	}
	struct tload L = {.c = {.err = err}, .dir = dir};
	int rc = -1;
	if (lsrc_open(&L.c, &L.s, path, NULL, 0) == 0) {
		yaml_node_t *root = lroot(&L.s);
		if (root == NULL)
			p3err_set(err, "%s:1:1: empty file (a target profile is a mapping)", path);
		else
			rc = load_root(&L, root, t);
	}
	lsrc_close(&L.s);
	if (rc == 0 && (t->file = strdup(path)) == NULL)
		rc = p3err_set(err, "out of memory");
	free(dcopy);
	if (rc != 0)
		target_free(t);
	return rc;
}

void target_free(struct target *t)
{
	if (t == NULL)
		return;
	free(t->file);
	free(t->name);
	free(t->host);
	free(t->ca);
	free(t->sni);
	for (size_t i = 0; i < t->naccounts; i++) {
		free(t->accounts[i].user);
		free(t->accounts[i].password);
		free(t->accounts[i].apop_secret);
	}
	free(t->accounts);
	free(t->reset);
	free(t->maildirs);
	memset(t, 0, sizeof *t);
}

enum delivery target_delivery(const struct target *t)
{
	if (t->delivery != DELIVERY_DEFAULT)
		return t->delivery;
	/* A reset command may go through the server's own delivery agent (Cyrus takes mail only by LMTP),
	 * which adds trace header lines: judging it byte for byte would blame the server for them. */
	return t->maildirs ? DELIVERY_VERBATIM : DELIVERY_AGENT;
}

int target_can_reset(const struct target *t)
{
	return t->reset != NULL || t->maildirs != NULL;
}

double target_reset_timeout(const struct target *t)
{
	return t->reset_timeout > 0 ? t->reset_timeout : TARGET_DEFAULT_RESET_TIMEOUT;
}

double target_login_timeout(const struct target *t)
{
	return t->login_timeout > 0 ? t->login_timeout : TARGET_DEFAULT_LOGIN_TIMEOUT;
}

double target_login_delay_max(const struct target *t)
{
	return t->login_delay_max > 0 ? t->login_delay_max : TARGET_DEFAULT_LOGIN_DELAY_MAX;
}

double target_lock_retry(const struct target *t)
{
	return t->lock_retry > 0 ? t->lock_retry : TARGET_DEFAULT_LOCK_RETRY;
}

double target_silence(const struct target *t, double seconds)
{
	return t != NULL && t->silence_min > seconds ? t->silence_min : seconds;
}

/* ---- reset ----------------------------------------------------------------------------------------- */

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int run_reset_command(const struct target *t, const struct account *acct, const char *fixture_dir,
                             struct p3err *err)
{
	char mbox[PATH_MAX] = "";
	if (strstr(t->reset, "{fixture_mbox}")) {
		if (snprintf(mbox, sizeof mbox, "%s.mbox", fixture_dir) >= (int)sizeof mbox)
			return p3err_set(err, "reset of %s's maildrop: path too long: %s", acct->user,
			                 fixture_dir);
		/* Written once per fixture (the prepared copy never changes during a run). */
		if (access(mbox, R_OK) != 0 && mbox_write(fixture_dir, mbox, err) != 0) {
			char msg[P3ERR_MAX];
			snprintf(msg, sizeof msg, "%s", err->msg);
			return p3err_set(err, "reset of %s's maildrop: writing the fixture as mbox: %s",
			                 acct->user, msg);
		}
	}
	char *cmd = target_reset_command(t->reset, acct->user, fixture_dir, mbox);
	if (cmd == NULL)
		return p3err_set(err, "out of memory");
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		free(cmd);
		return p3err_errno(err, "reset: pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		free(cmd);
		return p3err_errno(err, "reset: fork");
	}
	if (pid == 0) {
		/* Only async-signal-safe calls until exec: we may be one thread of many. */
		setpgid(0, 0);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(pfd[1]);
	/* Keep the tail of the output for the error message; never more. */
	char out[TARGET_RESET_OUTPUT + 1];
	size_t outlen = 0;
	double limit = target_reset_timeout(t);
	long deadline = now_ms() + (long)(limit * 1000);
	int timed_out = 0;
	for (;;) {
		long left = deadline - now_ms();
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		struct pollfd p = {pfd[0], POLLIN, 0};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(pfd[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (outlen == TARGET_RESET_OUTPUT) {
				memmove(out, out + 1, TARGET_RESET_OUTPUT - 1);
				outlen--;
			}
			out[outlen++] = buf[i] == '\n' || buf[i] == '\r' ? ' ' : buf[i];
		}
	}
	close(pfd[0]);
	if (timed_out)
		kill(-pid, SIGKILL);
	int status = 0;
	/* The output pipe closed; the shell should be gone or going. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	out[outlen] = '\0';
	while (outlen > 0 && out[outlen - 1] == ' ')
		out[--outlen] = '\0';
	int rc = 0;
	if (timed_out)
		rc = p3err_set(err,
		               "reset command for %s's maildrop timed out after %.0f s (the profile's "
		               "reset_timeout): %s",
		               acct->user, limit, cmd);
	else if (WIFSIGNALED(status))
		rc = p3err_set(err, "reset command for %s's maildrop killed by signal %d: %s%s%s", acct->user,
		               WTERMSIG(status), cmd, outlen ? ": " : "", out);
	else if (WEXITSTATUS(status) != 0)
		rc = p3err_set(err, "reset command for %s's maildrop failed (exit %d): %s%s%s", acct->user,
		               WEXITSTATUS(status), cmd, outlen ? " said: " : "", out);
	free(cmd);
	return rc;
}

int target_reset(const struct target *t, const struct account *acct, const char *fixture_dir,
                 struct p3err *err)
{
	if (t->reset)
		return run_reset_command(t, acct, fixture_dir, err);
	if (t->maildirs == NULL)
		return p3err_set(err, "the target has no reset command (and no maildirs)");
	if (!maildir_user_name_ok(acct->user))
		return p3err_set(err, "user '%s' cannot be a maildir folder name", acct->user);
	size_t len = strlen(t->maildirs) + 1 + strlen(acct->user) + 1;
	char *dst = malloc(len);
	if (dst == NULL)
		return p3err_set(err, "out of memory");
	snprintf(dst, len, "%s/%s", t->maildirs, acct->user);
	int rc = fixture_copy_maildir(fixture_dir, dst, err);
	if (rc == 0) {
		/* The result must be exactly the fixture's messages. */
		struct maildir want, got;
		if (maildir_scan(fixture_dir, &want, err) != 0) {
			rc = -1;
		} else {
			if (maildir_scan(dst, &got, err) != 0) {
				rc = -1;
			} else {
				if (got.count != want.count || got.total != want.total)
					rc = p3err_set(
					    err,
					    "reset of %s left %zu messages (%llu octets), the fixture has "
					    "%zu (%llu)",
					    dst, got.count, got.total, want.count, want.total);
				maildir_free(&got);
			}
			maildir_free(&want);
		}
	}
	if (rc != 0 && err && strncmp(err->msg, "reset", 5) != 0) {
		char msg[P3ERR_MAX];
		snprintf(msg, sizeof msg, "%s", err->msg);
		p3err_set(err, "reset of %s's maildrop failed: %s", acct->user, msg);
	}
	free(dst);
	return rc;
}
