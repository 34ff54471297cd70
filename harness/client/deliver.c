/* deliver.c — pop3client's side effects: Maildir delivery (written in tmp/, renamed into new/ only once the
 * whole message is there) and the UIDL state file (the unique-ids already delivered, RFC 1939 §7). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "lib/maildir.h"

int state_load(const char *path, struct uid_state *st, struct p3err *err)
{
	FILE *f = fopen(path, "r");
	char line[POP3_MAX_UID_LEN + 8];

	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		return p3err_errno(err, "%s", path);
	}
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0' && state_add(st, line, err) < 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

int state_has(const struct uid_state *st, const char *uid)
{
	/* RFC 1939 §7: unique-ids are compared as octet strings. */
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->uids[i], uid) == 0)
			return 1;
	return 0;
}

int state_add(struct uid_state *st, const char *uid, struct p3err *err)
{
	if (state_has(st, uid))
		return 0;
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		char **u = realloc(st->uids, cap * sizeof *u);
		if (u == NULL)
			return p3err_set(err, "out of memory");
		st->uids = u;
		st->cap = cap;
	}
	st->uids[st->n] = strdup(uid);
	if (st->uids[st->n] == NULL)
		return p3err_set(err, "out of memory");
	st->n++;
	return 0;
}

int state_save(const char *path, const struct uid_state *st, struct p3err *err)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return p3err_set(err, "%s: path too long", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return p3err_errno(err, "%s", tmp);
	for (size_t i = 0; i < st->n; i++)
		fprintf(f, "%s\n", st->uids[i]);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		p3err_errno(err, "%s", tmp);
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		p3err_errno(err, "%s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

void state_free(struct uid_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->uids[i]);
	free(st->uids);
	st->uids = NULL;
	st->n = st->cap = 0;
}

int delivery_begin(struct delivery *d, const char *dir, struct p3err *err)
{
	static unsigned counter;
	char host[256] = "localhost";
	struct timespec ts;
	char name[512];

	if (maildir_create(dir, err) < 0)
		return -1;
	gethostname(host, sizeof host - 1);
	host[strcspn(host, "/:")] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Maildir's unique name: time, a per-process counter and the pid, and the host. */
	snprintf(name, sizeof name, "%lld.M%ldP%ldQ%u.%s", (long long)ts.tv_sec, ts.tv_nsec / 1000L,
	         (long)getpid(), ++counter, host);
	if (snprintf(d->tmp, sizeof d->tmp, "%s/tmp/%s", dir, name) >= (int)sizeof d->tmp ||
	    snprintf(d->final, sizeof d->final, "%s/new/%s", dir, name) >= (int)sizeof d->final)
		return p3err_set(err, "%s: path too long", dir);
	d->fd = open(d->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (d->fd < 0)
		return p3err_errno(err, "%s", d->tmp);
	return 0;
}

int delivery_write(struct delivery *d, const void *data, size_t n, struct p3err *err)
{
	const char *p = data;

	while (n > 0) {
		ssize_t w = write(d->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return p3err_errno(err, "%s", d->tmp);
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int delivery_commit(struct delivery *d, struct p3err *err)
{
	if (fsync(d->fd) != 0) {
		p3err_errno(err, "%s", d->tmp);
		delivery_abort(d);
		return -1;
	}
	close(d->fd);
	d->fd = -1;
	if (rename(d->tmp, d->final) != 0) {
		p3err_errno(err, "%s", d->final);
		unlink(d->tmp);
		return -1;
	}
	return 0;
}

void delivery_abort(struct delivery *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	unlink(d->tmp);
}
