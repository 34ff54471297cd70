/* store.c — the maildrop of one session: flock(2) lock, Maildir snapshot, deletion marks, UPDATE. */
#include "server/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/config.h"
#include "server/faults.h"

struct store {
	struct maildir md;
	unsigned char *deleted; /* one flag per message */
	int lock_fd;
	char *dir; /* DIR/USER, allocated to its length: with ten thousand idle sessions PATH_MAX each adds up
	            */
};

/* Whether an errno from opening or creating things means "try again later" rather than "broken". */
static int errno_is_temporary(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOMEM || e == ENOSPC || e == EDQUOT || e == EAGAIN ||
	       e == EINTR;
}

/* Take the exclusive lock (RFC 1939 §8: the maildrop is locked at login). */
static enum store_status take_lock(struct store *s, struct p3err *err)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof path, "%s/%s", s->dir, STORE_LOCK_NAME) >= sizeof path) {
		p3err_set(err, "%s: path too long", s->dir);
		return STORE_SYS_PERM;
	}
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lock_fd < 0) {
		int e = errno;
		p3err_errno(err, "%s: cannot open lock file", path);
		return errno_is_temporary(e) ? STORE_SYS_TEMP : STORE_SYS_PERM;
	}
	/* flock locks belong to the open file description: a second session of this very process opened
	 * its own, so it is excluded just like another process would be. */
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(s->lock_fd);
		s->lock_fd = -1;
		if (e == EWOULDBLOCK) {
			p3err_set(err, "%s: maildrop in use by another session", s->dir);
			return STORE_IN_USE;
		}
		errno = e;
		p3err_errno(err, "%s: cannot lock", path);
		return errno_is_temporary(e) ? STORE_SYS_TEMP : STORE_SYS_PERM;
	}
	return STORE_OK;
}

/* Make sure DIR/USER exists: a user listed in the users file but without mail yet gets an empty Maildir. */
static enum store_status ensure_maildir(const char *dir, struct p3err *err)
{
	struct stat st;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			p3err_set(err, "%s: not a directory", dir);
			return STORE_SYS_PERM;
		}
		return STORE_OK;
	}
	if (errno != ENOENT) {
		int e = errno;
		p3err_errno(err, "%s: cannot stat", dir);
		return errno_is_temporary(e) ? STORE_SYS_TEMP : STORE_SYS_PERM;
	}
	if (maildir_create(dir, err) < 0)
		return STORE_SYS_PERM;
	return STORE_OK;
}

enum store_status store_open(const char *maildirs, const char *user, struct store **out, struct p3err *err)
{
	struct store *s;
	enum store_status st;

	*out = NULL;
	if (!users_name_ok(user)) {
		p3err_set(err, "user name not usable as a maildrop name");
		return STORE_SYS_PERM;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		p3err_set(err, "out of memory");
		return STORE_SYS_TEMP;
	}
	s->lock_fd = -1;
	if (asprintf(&s->dir, "%s/%s", maildirs, user) < 0) {
		s->dir = NULL;
		p3err_set(err, "out of memory");
		st = STORE_SYS_TEMP;
		goto fail;
	}
	if (strlen(s->dir) >= PATH_MAX) {
		p3err_set(err, "%s/%s: path too long", maildirs, user);
		st = STORE_SYS_PERM;
		goto fail;
	}
	st = ensure_maildir(s->dir, err);
	if (st != STORE_OK)
		goto fail;
	st = fault_skip_lock(user) ? STORE_OK : take_lock(s, err);
	if (st != STORE_OK)
		goto fail;
	/* RFC 1939 §4: the snapshot is taken once the lock is held; mail delivered later shows up at the next
	 * login only. */
	/* Sizes learnt at an earlier login come from the Maildir's size cache: a login reads only messages
	 * it has not seen before. */
	if (maildir_scan_cached(s->dir, &s->md, err) < 0) {
		st = STORE_SYS_PERM;
		goto fail;
	}
	fault_adjust_maildir(&s->md);
	s->deleted = calloc(s->md.count ? s->md.count : 1, 1);
	if (!s->deleted) {
		p3err_set(err, "out of memory");
		st = STORE_SYS_TEMP;
		goto fail;
	}
	*out = s;
	return STORE_OK;
fail:
	store_close(s); /* RFC 1939 §4: release the lock before the -ERR goes out */
	return st;
}

#ifdef POP3REFD_FAULTS
int store_rescan(struct store *s, struct p3err *err)
{
	struct maildir md;
	unsigned char *del;

	if (maildir_scan_cached(s->dir, &md, err) < 0)
		return -1;
	del = calloc(md.count ? md.count : 1, 1);
	if (!del) {
		maildir_free(&md);
		return p3err_set(err, "out of memory");
	}
	for (size_t i = 0; i < md.count; i++)
		for (size_t j = 0; j < s->md.count; j++)
			if (s->deleted[j] && strcmp(md.msgs[i].name, s->md.msgs[j].name) == 0)
				del[i] = 1;
	maildir_free(&s->md);
	free(s->deleted);
	s->md = md;
	s->deleted = del;
	return 0;
}
#endif

size_t store_count(const struct store *s)
{
	return s->md.count;
}

const struct maildir_msg *store_get(const struct store *s, size_t n)
{
	if (n < 1 || n > s->md.count || s->deleted[n - 1])
		return NULL;
	return &s->md.msgs[n - 1];
}

const struct maildir_msg *store_get_any(const struct store *s, size_t n)
{
	if (n < 1 || n > s->md.count)
		return NULL;
	return &s->md.msgs[n - 1];
}

int store_header_8bit(struct store *s, size_t n, struct p3err *err)
{
	struct maildir_msg *m;

	if (n < 1 || n > s->md.count)
		return p3err_set(err, "no message %zu", n);
	m = &s->md.msgs[n - 1];
	if (m->header_8bit == MAILDIR_HEADER_UNKNOWN) {
		int h = maildir_header_8bit(m->path, err);
		if (h < 0)
			return -1;
		m->header_8bit = h;
	}
	return m->header_8bit == MAILDIR_HEADER_8BIT;
}

void store_stat(const struct store *s, size_t *count, unsigned long long *octets)
{
	size_t c = 0;
	unsigned long long o = 0;

	for (size_t i = 0; i < s->md.count; i++) {
		if (s->deleted[i])
			continue;
		c++;
		o += s->md.msgs[i].size;
	}
	*count = c;
	*octets = o;
}

int store_mark(struct store *s, size_t n)
{
	if (!store_get(s, n))
		return -1;
	s->deleted[n - 1] = 1;
	return 0;
}

void store_unmark(struct store *s, size_t n)
{
	if (n >= 1 && n <= s->md.count)
		s->deleted[n - 1] = 0;
}

void store_reset(struct store *s)
{
	memset(s->deleted, 0, s->md.count ? s->md.count : 1);
}

/* Remove one message file; one already gone counts as removed. */
static int remove_message(const struct maildir_msg *m)
{
	if (unlink(m->path) == 0 || errno == ENOENT)
		return 0;
	return -1;
}

/* Make the removals durable: sync the directories the files were in. Best effort. */
static void sync_dir(const char *dir, const char *sub)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, sub) >= sizeof path)
		return;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

int store_update(struct store *s, size_t *removed, struct p3err *err)
{
	size_t n = 0;
	int failed = 0;

	for (size_t i = 0; i < s->md.count; i++) {
		if (!s->deleted[i])
			continue; /* RFC 1939 §6: never an unmarked message */
		if (remove_message(&s->md.msgs[i]) == 0) {
			n++;
		} else if (!failed) {
			p3err_errno(err, "%s: cannot remove", s->md.msgs[i].path);
			failed = 1;
		}
	}
	if (n > 0) {
		sync_dir(s->dir, "cur");
		sync_dir(s->dir, "new");
	}
	if (removed)
		*removed = n;
	return failed ? -1 : 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* closing the last descriptor releases the flock */
	maildir_free(&s->md);
	free(s->deleted);
	free(s->dir);
	free(s);
}
