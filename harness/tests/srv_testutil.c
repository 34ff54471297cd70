/* srv_testutil.c — Maildirs and a session's event loop for the server's unit tests. */
#include "srv_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <event2/event.h>
#include <check.h>

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
