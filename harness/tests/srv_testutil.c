/* srv_testutil.c — temporary folders and Maildirs for the server's unit tests. */
#include "srv_testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <event2/event.h>
#include <check.h>

void tu_tmpdir(char *path, size_t size)
{
	snprintf(path, size, "/tmp/pop3refd-unit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(path));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

void tu_rmrf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_write(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

void tu_maildrop(const char *root, const char *user, size_t n, const char *const *names,
                 const char *const *data)
{
	char p[512];
	static const char *const subs[] = {"", "/cur", "/new", "/tmp"};

	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s/%s%s", root, user, subs[i]);
		ck_assert_int_eq(mkdir(p, 0700), 0);
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%s/%s/cur/%s", root, user, names[i]);
		tu_write(p, data[i], strlen(data[i]));
	}
}

int tu_exists(const char *root, const char *user, const char *name)
{
	char p[512];

	snprintf(p, sizeof p, "%s/%s/cur/%s", root, user, name);
	return access(p, F_OK) == 0;
}

const char *tu_pump(struct event_base *base, int fd, char *buf, size_t size)
{
	struct timeval tv = {0, 30000};
	size_t n = 0;
	ssize_t r;

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	while (n < size - 1 && (r = recv(fd, buf + n, size - 1 - n, MSG_DONTWAIT)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return buf;
}
