/* wirecache.c — the --wire-cache copies of big messages in their wire form (wirecache.h). */
#include "server/wirecache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int key_of(const struct stat *st, char *key, size_t size)
{
	if (!S_ISREG(st->st_mode))
		return -1;
	if ((size_t)snprintf(key, size, "%llx-%llx-%llx-%lld.%09ld.wire", (unsigned long long)st->st_dev,
	                     (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
	                     (long long)st->st_ctim.tv_sec, (long)st->st_ctim.tv_nsec) >= size)
		return -1;
	return 0;
}

int wirecache_key(int src_fd, char *key, size_t size)
{
	struct stat st;

	if (fstat(src_fd, &st) < 0)
		return -1;
	return key_of(&st, key, size);
}

int wirecache_open(const char *dir, int src_fd, unsigned long long sent, unsigned long long *len)
{
	char key[WIRECACHE_KEY_MAX], path[4096];
	struct stat st;
	int fd;

	if (wirecache_key(src_fd, key, sizeof key) < 0 ||
	    (size_t)snprintf(path, sizeof path, "%s/%s", dir, key) >= sizeof path)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	/* As sent with stuffing: at least `sent` octets, and at most one more per line (a line is at least
	 * CRLF, so fewer than sent/2 + 1 lines). Anything else is not a copy this server made. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (unsigned long long)st.st_size < sent ||
	    (unsigned long long)st.st_size > sent + sent / 2 + 1) {
		close(fd);
		return -1;
	}
	*len = (unsigned long long)st.st_size;
	return fd;
}

struct wirecache_tee {
	int fd;
	char key[WIRECACHE_KEY_MAX]; /* the source version it copies */
	char tmp[4096];
	const char *dir;
};

struct wirecache_tee *wirecache_tee_begin(const char *dir, int src_fd)
{
	static unsigned long counter;
	struct wirecache_tee *t = malloc(sizeof *t);

	if (t == NULL)
		return NULL;
	if (wirecache_key(src_fd, t->key, sizeof t->key) < 0 ||
	    (size_t)snprintf(t->tmp, sizeof t->tmp, "%s/.tmp.%ld.%lu", dir, (long)getpid(), ++counter) >=
	        sizeof t->tmp ||
	    (t->fd = open(t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		free(t);
		return NULL;
	}
	t->dir = dir;
	return t;
}

void wirecache_tee_write(struct wirecache_tee **tp, const char *data, size_t n)
{
	struct wirecache_tee *t = *tp;

	while (t && n > 0) {
		ssize_t w = write(t->fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			wirecache_tee_abort(tp); /* a full disk costs the copy, never the RETR */
			return;
		}
		data += w;
		n -= (size_t)w;
	}
}

void wirecache_tee_commit(struct wirecache_tee **tp, int src_fd)
{
	struct wirecache_tee *t = *tp;
	char key[WIRECACHE_KEY_MAX], path[4096];
	int ok;

	if (t == NULL)
		return;
	/* The source must still be the version the copy was made from (a file rewritten while it was sent
	 * gave a body that is neither). */
	ok = wirecache_key(src_fd, key, sizeof key) == 0 && strcmp(key, t->key) == 0 &&
	     (size_t)snprintf(path, sizeof path, "%s/%s", t->dir, key) < sizeof path;
	ok = close(t->fd) == 0 && ok;
	if (!ok || rename(t->tmp, path) < 0)
		(void)unlink(t->tmp);
	free(t);
	*tp = NULL;
}

void wirecache_tee_abort(struct wirecache_tee **tp)
{
	struct wirecache_tee *t = *tp;

	if (t == NULL)
		return;
	close(t->fd);
	(void)unlink(t->tmp);
	free(t);
	*tp = NULL;
}

void wirecache_forget(const char *dir, const char *path)
{
	char key[WIRECACHE_KEY_MAX], copy[4096];
	struct stat st;

	if (stat(path, &st) < 0 || key_of(&st, key, sizeof key) < 0 ||
	    (size_t)snprintf(copy, sizeof copy, "%s/%s", dir, key) >= sizeof copy)
		return;
	(void)unlink(copy);
}
