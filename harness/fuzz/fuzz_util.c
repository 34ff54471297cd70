/* fuzz_util.c — shared helpers of the fuzz targets: temporary folders, fixture Maildirs, and a pop3refd
 * session driven through a bufferevent_pair by a non-blocking event loop. */
#include "fuzz_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "server/config.h"
#include "server/log.h"
#include "server/sasl.h"
#include "server/server.h"
#include "server/session.h"

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

void fz_rmrf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fz_tmpdir(const char *tag)
{
	const char *t = getenv("TMPDIR");
	char *p = malloc(PATH_MAX);

	if (!p)
		abort();
	snprintf(p, PATH_MAX, "%s/pop3fuzz-%s-XXXXXX", t && *t ? t : "/tmp", tag);
	if (!mkdtemp(p))
		abort();
	return p;
}

const char *fz_root(void)
{
	static char root[PATH_MAX];
	const char *e = getenv("POP3SPEC_ROOT");
	char self[PATH_MAX];
	ssize_t n;

	if (root[0])
		return root;
	if (e && *e) {
		snprintf(root, sizeof root, "%s", e);
		return root;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		for (int up = 0; up < 3; up++) { /* .../build-fuzz/bin/fuzz_x -> ... */
			char *slash = strrchr(self, '/');
			if (slash)
				*slash = '\0';
		}
		snprintf(root, sizeof root, "%s", self);
	} else {
		snprintf(root, sizeof root, ".");
	}
	return root;
}

static void copy_file(const char *from, const char *to)
{
	char buf[8192];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	if (in < 0)
		abort();
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (out < 0)
		abort();
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			abort();
	close(in);
	close(out);
}

void fz_maildir_sync(const char *src, const char *dst)
{
	static const char *const subs[] = {"cur", "new", "tmp"};
	char a[PATH_MAX], b[PATH_MAX];
	struct dirent *de;
	DIR *d;

	(void)mkdir(dst, 0700);
	for (size_t i = 0; i < 3; i++) {
		snprintf(b, sizeof b, "%s/%s", dst, subs[i]);
		(void)mkdir(b, 0700);
		/* Extra files (none should appear, but a session must not be able to leave any) go. */
		if ((d = opendir(b)) != NULL) {
			while ((de = readdir(d)) != NULL) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(a, sizeof a, "%s/%s/%s", src, subs[i], de->d_name);
				if (access(a, F_OK) != 0) {
					snprintf(a, sizeof a, "%s/%s/%s", dst, subs[i], de->d_name);
					(void)unlink(a);
				}
			}
			closedir(d);
		}
		snprintf(a, sizeof a, "%s/%s", src, subs[i]);
		if ((d = opendir(a)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			struct stat st;
			if (de->d_name[0] == '.')
				continue;
			snprintf(b, sizeof b, "%s/%s/%s", dst, subs[i], de->d_name);
			if (stat(b, &st) == 0)
				continue;
			snprintf(a, sizeof a, "%s/%s/%s", src, subs[i], de->d_name);
			copy_file(a, b);
		}
		closedir(d);
	}
}

/* ---- the session ---------------------------------------------------------------------------------- */

static struct server srv;
static char fixture[PATH_MAX], alice[PATH_MAX];

struct server *fz_server(void)
{
	static const char users[] = "alice:wonderland\nbob:builder\n";
	struct p3err err;
	const char *dir;

	if (srv.base)
		return &srv;
	log_set_level(getenv("FUZZ_LOG") ? LOG_DEBUG : LOG_ERROR);
	dir = fz_tmpdir("maildirs");
	if (users_parse("users", users, sizeof users - 1, &srv.users, &err) < 0)
		abort();
	srv.maildirs = dir;
	srv.plaintext = PLAINTEXT_COMPAT;
	snprintf(srv.hostname, sizeof srv.hostname, "fuzz.example");
	if (sasl_global_init(&srv, &err) < 0) {
		fprintf(stderr, "fuzz: %s\n", err.msg);
		abort();
	}
	srv.base = event_base_new();
	if (!srv.base)
		abort();
	snprintf(fixture, sizeof fixture, "%s/fixtures/maildrops/three", fz_root());
	snprintf(alice, sizeof alice, "%s/alice", dir);
	if (access(fixture, F_OK) != 0) {
		fprintf(stderr, "fuzz: %s missing (set POP3SPEC_ROOT)\n", fixture);
		abort();
	}
	fz_server_reset_maildrop();
	return &srv;
}

void fz_server_reset_maildrop(void)
{
	fz_maildir_sync(fixture, alice);
}

int fz_server_maildrop_intact(void)
{
	static const char *const subs[] = {"cur", "new"};
	char a[PATH_MAX], b[PATH_MAX];
	struct dirent *de;
	int ok = 1;

	for (size_t i = 0; i < 2 && ok; i++) {
		DIR *d;
		snprintf(a, sizeof a, "%s/%s", fixture, subs[i]);
		if ((d = opendir(a)) == NULL)
			continue;
		while (ok && (de = readdir(d)) != NULL) {
			struct stat sa, sb;
			if (de->d_name[0] == '.')
				continue;
			snprintf(a, sizeof a, "%s/%s/%s", fixture, subs[i], de->d_name);
			snprintf(b, sizeof b, "%s/%s/%s", alice, subs[i], de->d_name);
			ok = stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_size == sb.st_size;
		}
		closedir(d);
	}
	return ok;
}

/* Run the loop until nothing is left to do (bounded: a session never needs this many rounds). Everything
 * the client end received is checked and dropped, so memory stays small. */
static void settle(struct bufferevent *client, size_t *sent, int *cr)
{
	for (int round = 0; round < 100000; round++) {
		struct evbuffer *in = bufferevent_get_input(client);
		size_t n = evbuffer_get_length(in);

		event_base_loop(srv.base, EVLOOP_NONBLOCK);
		n = evbuffer_get_length(in);
		if (n) {
			const unsigned char *p = evbuffer_pullup(in, -1);
			for (size_t i = 0; i < n; i++) {
				/* RFC 1939 §3: every line the server sends ends in CRLF, bodies included. */
				if (p[i] == '\n' && !*cr) {
					fprintf(stderr, "fuzz: bare LF in server output at octet %zu\n",
					        *sent + i);
					abort();
				}
				*cr = p[i] == '\r';
			}
			*sent += n;
			evbuffer_drain(in, n);
		}
		if (event_base_get_num_events(srv.base, EVENT_BASE_COUNT_ACTIVE) == 0 && n == 0)
			return;
	}
	fprintf(stderr, "fuzz: the session never settles\n");
	abort();
}

size_t fz_session(const unsigned char *data, size_t len, size_t chunk)
{
	struct bufferevent *pair[2];
	size_t sent = 0, off = 0;
	int cr = 0;

	fz_server();
	if (bufferevent_pair_new(srv.base, BEV_OPT_DEFER_CALLBACKS, pair) < 0)
		abort();
	if (!session_new_bev(&srv, pair[0], "fuzz"))
		abort();
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);
	settle(pair[1], &sent, &cr);
	while (off < len && srv.sessions) {
		size_t n = chunk && len - off > chunk ? chunk : len - off;
		bufferevent_write(pair[1], data + off, n);
		off += n;
		settle(pair[1], &sent, &cr);
	}
	/* The client's half-close: what it sent is still answered, then the session ends (no UPDATE). */
	if (srv.sessions)
		bufferevent_flush(pair[1], EV_WRITE, BEV_FINISHED);
	settle(pair[1], &sent, &cr);
	/* A session lingering after QUIT waits for a close it has now had; any still open is stopped. */
	session_stop_all(&srv);
	bufferevent_free(pair[1]);
	event_base_loop(srv.base, EVLOOP_NONBLOCK);
	if (srv.nsessions != 0) {
		fprintf(stderr, "fuzz: %zu sessions left\n", srv.nsessions);
		abort();
	}
	return sent;
}
