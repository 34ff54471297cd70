/* fixture.c — fixture maildrops: locating, copying into a private Maildir, facts, and the run's cache. */
#include "runner/fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/maildir.h"

/* dir "/" name into buf; -1 when it does not fit. */
static int join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int fixture_locate(const char *fixtures_dir, const char *name, char *path, size_t pathsize, struct p3err *err)
{
	static const char *const where[] = {"maildrops", "generated/maildrops", "generated"};
	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
		return p3err_set(err, "fixture '%s': not a plain folder name", name);
	for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
		int n = snprintf(path, pathsize, "%s/%s/%s", fixtures_dir, where[i], name);
		if (n < 0 || (size_t)n >= pathsize)
			return p3err_set(err, "fixture '%s': path too long", name);
		if (is_dir(path))
			return 0;
	}
	return p3err_set(err,
	                 "fixture '%s' not found in %s/maildrops or %s/generated (run `make fixtures` for "
	                 "generated ones)",
	                 name, fixtures_dir, fixtures_dir);
}

static int copy_file(const char *from, const char *to, struct p3err *err)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return p3err_errno(err, "open %s", from);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return p3err_errno(err, "create %s", to);
	}
	char buf[65536];
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = p3err_errno(err, "read %s", from);
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = p3err_errno(err, "write %s", to);
				goto out;
			}
			off += w;
		}
	}
out:
	close(in);
	if (close(out) != 0 && rc == 0)
		rc = p3err_errno(err, "close %s", to);
	return rc;
}

/* Remove the regular, non-dot files of dir (a Maildir subfolder). */
static int clear_dir(const char *dir, struct p3err *err)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : p3err_errno(err, "open %s", dir);
	struct dirent *de;
	char p[PATH_MAX];
	int rc = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (join(p, sizeof p, dir, de->d_name) != 0)
			continue;
		struct stat st;
		if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (unlink(p) != 0 && errno != ENOENT) {
			rc = p3err_errno(err, "remove %s", p);
			break;
		}
	}
	closedir(d);
	return rc;
}

static int copy_dir_files(const char *from, const char *to, struct p3err *err)
{
	DIR *d = opendir(from);
	if (d == NULL)
		return errno == ENOENT ? 0 : p3err_errno(err, "open %s", from);
	struct dirent *de;
	char a[PATH_MAX], b[PATH_MAX];
	int rc = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (join(a, sizeof a, from, de->d_name) != 0 || join(b, sizeof b, to, de->d_name) != 0) {
			rc = p3err_set(err, "path too long under %s", from);
			break;
		}
		struct stat st;
		if (stat(a, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if ((rc = copy_file(a, b, err)) != 0)
			break;
	}
	closedir(d);
	return rc;
}

int fixture_copy_maildir(const char *src, const char *dst, struct p3err *err)
{
	static const char *const subs[] = {"cur", "new", "tmp"};
	char s[PATH_MAX], d[PATH_MAX];
	if (maildir_create(dst, err) != 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (join(d, sizeof d, dst, subs[i]) != 0)
			return p3err_set(err, "path too long: %s", dst);
		if (clear_dir(d, err) != 0)
			return -1;
	}
	for (size_t i = 0; i < 2; i++) {
		if (join(s, sizeof s, src, subs[i]) != 0 || join(d, sizeof d, dst, subs[i]) != 0)
			return p3err_set(err, "path too long: %s", src);
		if (copy_dir_files(s, d, err) != 0)
			return -1;
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int fixture_rmtree(const char *path)
{
	if (path == NULL || path[0] == '\0')
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int fixture_message_id(const char *path, char *buf, size_t bufsize, struct p3err *err)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return p3err_errno(err, "open %s", path);
	char line[4096];
	int found = 0; /* 1: inside the Message-ID field (continuation lines belong to it) */
	size_t n = 0;
	buf[0] = '\0';
	while (fgets(line, sizeof line, f) != NULL) {
		size_t len = strcspn(line, "\r\n");
		line[len] = '\0';
		if (len == 0)
			break; /* end of the header (RFC 5322 §2.1) */
		if (found && (line[0] == ' ' || line[0] == '\t')) {
			/* RFC 5322 §2.2.3: unfolding */
			for (size_t i = 0; i < len && n + 1 < bufsize; i++)
				buf[n++] = line[i];
			buf[n] = '\0';
			continue;
		}
		if (found)
			break;
		if (strncasecmp(line, "Message-ID:", 11) == 0) {
			found = 1;
			for (size_t i = 11; i < len && n + 1 < bufsize; i++)
				buf[n++] = line[i];
			buf[n] = '\0';
		}
	}
	fclose(f);
	/* Keep <...> when present, else the trimmed value. */
	char *lt = strchr(buf, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt) {
		size_t l = (size_t)(gt - lt + 1);
		memmove(buf, lt, l);
		buf[l] = '\0';
	} else {
		char *s = buf;
		while (*s == ' ' || *s == '\t')
			s++;
		memmove(buf, s, strlen(s) + 1);
		size_t l = strlen(buf);
		while (l > 0 && (buf[l - 1] == ' ' || buf[l - 1] == '\t'))
			buf[--l] = '\0';
	}
	return 0;
}

void fixture_free(struct fixture *fx)
{
	for (size_t i = 0; i < fx->count; i++) {
		free(fx->msgs[i].path);
		free(fx->msgs[i].name);
		free(fx->msgs[i].msgid);
	}
	free(fx->msgs);
	free(fx->name);
	free(fx->src);
	free(fx->dir);
	memset(fx, 0, sizeof *fx);
}

int fixture_prepare(const char *name, const char *src, const char *parent, struct fixture *fx,
                    struct p3err *err)
{
	memset(fx, 0, sizeof *fx);
	char dir[PATH_MAX];
	if (join(dir, sizeof dir, parent, name) != 0)
		return p3err_set(err, "fixture '%s': path too long", name);
	if (fixture_copy_maildir(src, dir, err) != 0)
		return -1;
	struct maildir md;
	if (maildir_scan(dir, &md, err) != 0)
		return -1;
	fx->name = strdup(name);
	fx->src = strdup(src);
	fx->dir = realpath(dir, NULL);
	fx->msgs = md.count ? calloc(md.count, sizeof *fx->msgs) : NULL;
	if (fx->name == NULL || fx->src == NULL || fx->dir == NULL || (md.count && fx->msgs == NULL)) {
		maildir_free(&md);
		fixture_free(fx);
		return p3err_set(err, "out of memory");
	}
	fx->count = md.count;
	fx->total = md.total;
	int rc = 0;
	char id[FIXTURE_MSGID_MAX + 1];
	for (size_t i = 0; i < md.count && rc == 0; i++) {
		struct fixture_msg *m = &fx->msgs[i];
		m->path = strdup(md.msgs[i].path);
		m->name = strdup(md.msgs[i].name);
		m->size = md.msgs[i].size;
		if (m->path == NULL || m->name == NULL)
			rc = p3err_set(err, "out of memory");
		else if (fixture_message_id(m->path, id, sizeof id, err) != 0)
			rc = -1;
		else if ((m->msgid = strdup(id)) == NULL)
			rc = p3err_set(err, "out of memory");
	}
	maildir_free(&md);
	if (rc != 0)
		fixture_free(fx);
	return rc;
}

/* ---- the run's cache ------------------------------------------------------------------------------- */

struct cache_entry {
	struct fixture fx;
	char *name; /* the fixture's name, known before fx is ready */
	enum { PREPARING, READY, FAILED } state;
	char why[P3ERR_MAX]; /* FAILED: the preparer's error */
	struct cache_entry *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cache_ready = PTHREAD_COND_INITIALIZER;
static struct cache_entry *cache;
static char cache_dir[PATH_MAX];

/* Preparing a fixture (copying and reading "large": tens of MB) runs outside the lock: a worker needing
 * another fixture, or one already prepared, does not wait for it (it did: 1.8 s before the first step of a
 * scenario on fixture "one" in a suite run). Workers needing the same fixture wait for its one preparer. */
int fixture_get(const char *fixtures_dir, const char *name, const struct fixture **out, struct p3err *err)
{
	int rc = 0;
	struct cache_entry *e;
	pthread_mutex_lock(&cache_lock);
	for (e = cache; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			break;
	if (e) {
		while (e->state == PREPARING)
			pthread_cond_wait(&cache_ready, &cache_lock);
		if (e->state == READY)
			*out = &e->fx;
		else
			rc = p3err_set(err, "%s", e->why);
		goto out;
	}
	if (cache_dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		snprintf(cache_dir, sizeof cache_dir, "%s/pop3spec-fixtures-XXXXXX",
		         tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(cache_dir) == NULL) {
			rc = p3err_errno(err, "create %s", cache_dir);
			cache_dir[0] = '\0';
			goto out;
		}
	}
	char src[PATH_MAX];
	if ((rc = fixture_locate(fixtures_dir, name, src, sizeof src, err)) != 0)
		goto out;
	e = calloc(1, sizeof *e);
	if (e == NULL || (e->name = strdup(name)) == NULL) {
		free(e);
		rc = p3err_set(err, "out of memory");
		goto out;
	}
	e->state = PREPARING;
	e->next = cache;
	cache = e;
	pthread_mutex_unlock(&cache_lock);
	/* cache_dir is set once and never changes while entries exist. */
	rc = fixture_prepare(name, src, cache_dir, &e->fx, err);
	pthread_mutex_lock(&cache_lock);
	if (rc != 0) {
		e->state = FAILED;
		snprintf(e->why, sizeof e->why, "%s", err ? err->msg : "cannot prepare the fixture");
	} else {
		e->state = READY;
		*out = &e->fx;
	}
	pthread_cond_broadcast(&cache_ready);
out:
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

void fixture_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	while (cache) {
		struct cache_entry *e = cache;
		cache = e->next;
		if (e->state == READY)
			fixture_free(&e->fx);
		free(e->name);
		free(e);
	}
	if (cache_dir[0]) {
		fixture_rmtree(cache_dir);
		cache_dir[0] = '\0';
	}
	pthread_mutex_unlock(&cache_lock);
}
