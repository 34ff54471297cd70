/* check_stream.c — unit tests for server/stream: bodies produced in bounded steps, byte-stuffed, CRLF, with
 * the terminator exactly once; a big message through a mapping, the same octets, and a file truncated while
 * mapped ends the body with an error, not the process; a file in wire form sent as stored (and only when it
 * still is); the --wire-cache copy made by a whole RETR and used by the next; listings skip marked messages.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include <event2/buffer.h>

#include "server/store.h"
#include "server/stream.h"
#include "srv_testutil.h"

Suite *stream_suite(void);

static char root[128];
static char big[200000];
static const char *const names[] = {"1.a", "2.b", "3.c"};
static const char *data[] = {"Subject: dots\n\n.\n..\n.x\nend", "Subject: two\r\n\r\nl1\r\nl2\r\nl3\r\n",
                             big};

static void setup(void)
{
	/* A message larger than several chunks, with a dot-line straddling chunk boundaries. */
	size_t n = 0;
	n += (size_t)snprintf(big, sizeof big, "Subject: big\n\n");
	while (n < sizeof big - 100)
		n += (size_t)snprintf(big + n, sizeof big - n, ".line %zu\n", n);
	tu_tmpdir(root, sizeof root);
	tu_maildrop(root, "u", 3, names, data);
}

static void teardown(void)
{
	tu_rmrf(root);
}

/* Entries of dir other than "." and "..". */
static int tu_count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Run the stream to the end with a small high-water mark, draining between steps like a slow client. */
static char *run(struct stream *st, size_t high, int *steps)
{
	struct evbuffer *out = evbuffer_new(), *all = evbuffer_new();
	struct p3err err;
	int rc;
	char *s;
	size_t n;

	*steps = 0;
	do {
		rc = stream_fill(st, out, high, &err);
		ck_assert_int_ge(rc, 0);
		/* Bounded: never much more than the mark plus one chunk's worth of encoding. */
		ck_assert_uint_le(evbuffer_get_length(out), high + 3 * STREAM_CHUNK + 8);
		evbuffer_add_buffer(all, out);
		(*steps)++;
	} while (rc == 0);
	ck_assert(!stream_active(st));
	n = evbuffer_get_length(all);
	s = malloc(n + 1);
	evbuffer_remove(all, s, n);
	s[n] = '\0';
	evbuffer_free(out);
	evbuffer_free(all);
	return s;
}

static struct store *open_store(void)
{
	struct store *s;
	struct p3err err;

	ck_assert_int_eq(store_open(root, "u", &s, &err), STORE_OK);
	return s;
}

START_TEST(message_stuffed_and_terminated)
{
	struct store *s = open_store();
	struct stream st;
	struct p3err err;
	int steps;
	char *out;

	stream_init(&st);
	ck_assert_int_eq(stream_start_message(&st, store_get(s, 1)->path, -1, &err), 0);
	out = run(&st, 1, &steps);
	ck_assert_str_eq(out, "Subject: dots\r\n\r\n..\r\n...\r\n..x\r\nend\r\n.\r\n");
	free(out);
	ck_assert_int_eq(stream_start_message(&st, store_get(s, 2)->path, 1, &err), 0);
	out = run(&st, 1 << 20, &steps);
	ck_assert_str_eq(out, "Subject: two\r\n\r\nl1\r\n.\r\n"); /* TOP 2 1 */
	free(out);
	ck_assert_int_eq(stream_start_message(&st, store_get(s, 2)->path, 0, &err), 0);
	out = run(&st, 1 << 20, &steps);
	ck_assert_str_eq(out, "Subject: two\r\n\r\n.\r\n"); /* TOP 2 0 */
	free(out);
	store_close(s);
}
END_TEST

START_TEST(large_message_in_steps)
{
	struct store *s = open_store();
	struct stream st;
	struct p3err err;
	int steps;
	char *out, *line, *save = NULL;
	size_t lines = 0, octets = 0;

	stream_init(&st);
	ck_assert_int_eq(stream_start_message(&st, store_get(s, 3)->path, -1, &err), 0);
	out = run(&st, 4096, &steps);
	ck_assert_int_gt(steps, 5); /* produced as the output drained, not at once */
	/* Every data line begins with ".." (stuffed) except the header lines; the end is the terminator. */
	ck_assert_str_eq(out + strlen(out) - 3, ".\r\n");
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line);
		ck_assert_msg(l > 0 && line[l - 1] == '\r', "line without CRLF");
		octets += l + 1 - (strncmp(line, "..", 2) == 0);
		lines++;
	}
	/* Un-stuffed octets minus the terminator equal the size the store reports (RFC 1939 §11). */
	ck_assert_uint_eq(octets - 3, store_get(s, 3)->size);
	free(out);
	store_close(s);
}
END_TEST

START_TEST(verbatim_sent_as_stored)
{
	struct store *s = open_store();
	const struct maildir_msg *m = store_get(s, 2);
	struct stream st;
	struct p3err err;
	int steps;
	char *out;

	/* Message 2 is stored CRLF, nothing to stuff: its file is its wire form. */
	ck_assert_int_eq(m->verbatim, 1);
	ck_assert_int_eq(store_get(s, 1)->verbatim, 0); /* LF, dot lines, no final line end */
	stream_init(&st);
	ck_assert_int_eq(stream_start_message(&st, m->path, -1, &err), 0);
	stream_send_verbatim(&st, m->size);
	ck_assert_uint_eq(st.verbatim, m->size);
	out = run(&st, 1, &steps);
	ck_assert_str_eq(out, "Subject: two\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n");
	free(out);
	/* A file whose length is not what the snapshot says is encoded, not trusted. */
	ck_assert_int_eq(stream_start_message(&st, m->path, -1, &err), 0);
	stream_send_verbatim(&st, m->size + 1);
	ck_assert_uint_eq(st.verbatim, 0);
	out = run(&st, 1, &steps);
	ck_assert_str_eq(out, "Subject: two\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n");
	free(out);
	/* Never for TOP. */
	ck_assert_int_eq(stream_start_message(&st, m->path, 1, &err), 0);
	stream_send_verbatim(&st, m->size);
	ck_assert_uint_eq(st.verbatim, 0);
	stream_abort(&st);
	store_close(s);
}
END_TEST

START_TEST(listings)
{
	struct store *s = open_store();
	struct stream st;
	int steps;
	char *out, want[256];

	stream_init(&st);
	store_mark(s, 2);
	stream_start_listing(&st, s, STREAM_SCAN);
	out = run(&st, 1, &steps);
	snprintf(want, sizeof want, "1 %llu\r\n3 %llu\r\n.\r\n", store_get(s, 1)->size,
	         store_get(s, 3)->size);
	ck_assert_str_eq(out, want);
	free(out);
	stream_start_listing(&st, s, STREAM_UIDL);
	out = run(&st, 1 << 20, &steps);
	ck_assert_str_eq(out, "1 1.a\r\n3 3.c\r\n.\r\n");
	free(out);
	store_close(s);
}
END_TEST

START_TEST(missing_file)
{
	struct stream st;
	struct p3err err;

	stream_init(&st);
	ck_assert_int_eq(stream_start_message(&st, "/nonexistent/message", -1, &err), -1);
	ck_assert(!stream_active(&st));
	stream_abort(&st);
}
END_TEST

/* The wire form the reference way, octet by octet: a bare LF gets its CR, a line's leading '.' its twin
 * (RFC 1939 §3), a last line without a line end gets one, then the terminator. */
static char *encode_slowly(const char *in, size_t n)
{
	char *out = malloc(2 * n + 8), *o = out;
	int bol = 1;

	for (size_t i = 0; i < n; i++) {
		if (bol && in[i] == '.')
			*o++ = '.';
		bol = in[i] == '\n';
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			*o++ = '\r';
		*o++ = in[i];
	}
	if (!bol) {
		*o++ = '\r';
		*o++ = '\n';
	}
	memcpy(o, ".\r\n", 4);
	return out;
}

/* A message over STREAM_MAP_MIN: lines of every length around the step size, dot lines, CRLF and bare-LF
 * ends mixed, a CR at the end of a step, no final line end. */
static size_t write_big(char *path, size_t size, char **text)
{
	char *t = malloc(size);
	size_t n = 0, k = 0;

	while (n < size) {
		size_t len = (k * 7919) % (STREAM_MAP_STEP + 100);
		for (size_t i = 0; i < len && n < size; i++)
			t[n++] = (char)(i == 0 && k % 3 == 0 ? '.' : 'a' + (char)(i % 26));
		if (n < size && k % 2)
			t[n++] = '\r';
		if (n < size)
			t[n++] = '\n';
		k++;
	}
	t[STREAM_MAP_STEP - 1] = '\r';
	t[size - 1] = 'z';
	snprintf(path, 256, "%s/big-mapped", root);
	tu_write(path, t, size);
	*text = t;
	return size;
}

START_TEST(mapped_message_same_octets)
{
	char path[256], *text, *want, *out;
	size_t n = write_big(path, STREAM_MAP_MIN + 3 * STREAM_MAP_STEP + 17, &text);
	struct stream st;
	struct p3err err;
	int steps;

	want = encode_slowly(text, n);
	stream_init(&st);
	ck_assert_int_eq(stream_start_message(&st, path, -1, &err), 0);
	stream_client_reading(&st); /* mapped from the start */
	out = run(&st, 4096, &steps);
	ck_assert_int_gt(steps, 5);
	ck_assert_str_eq(out, want);
	free(out);
	/* Read first, mapped from where reading stopped. */
	ck_assert_int_eq(stream_start_message(&st, path, -1, &err), 0);
	{
		struct evbuffer *part = evbuffer_new(), *all = evbuffer_new();
		size_t len;
		char *got;
		ck_assert_int_eq(stream_fill(&st, part, 3 * STREAM_CHUNK, &err), 0);
		ck_assert_ptr_null(st.map);
		stream_client_reading(&st);
		evbuffer_add_buffer(all, part);
		while ((steps = stream_fill(&st, part, 4096, &err)) == 0) {
			ck_assert_ptr_nonnull(st.map);
			evbuffer_add_buffer(all, part);
		}
		ck_assert_int_eq(steps, 1);
		evbuffer_add_buffer(all, part);
		len = evbuffer_get_length(all);
		got = malloc(len + 1);
		evbuffer_remove(all, got, len);
		got[len] = '\0';
		ck_assert_str_eq(got, want);
		free(got);
		evbuffer_free(part);
		evbuffer_free(all);
	}
	/* TOP never maps; the same lines come out. */
	ck_assert_int_eq(stream_start_message(&st, path, 1000000, &err), 0);
	out = run(&st, 1 << 20, &steps);
	ck_assert_str_eq(out, want);
	free(out);
	free(want);
	free(text);
}
END_TEST

START_TEST(mapped_message_truncated_meanwhile)
{
	char path[256], *text;
	size_t n = write_big(path, 4 * STREAM_MAP_MIN, &text);
	struct evbuffer *out = evbuffer_new();
	struct stream st;
	struct p3err err;

	stream_init(&st);
	ck_assert_int_eq(stream_start_message(&st, path, -1, &err), 0);
	stream_client_reading(&st);
	ck_assert_int_eq(stream_fill(&st, out, 1, &err), 0);
	ck_assert_ptr_nonnull(st.map); /* this one is mapped */
	ck_assert_int_eq(truncate(path, 0), 0);
	/* The pages past the new end are gone: SIGBUS, caught, and the body ends with an error. */
	ck_assert_int_eq(stream_fill(&st, out, n * 3, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "shrank"));
	stream_abort(&st);
	ck_assert(!stream_active(&st));
	evbuffer_free(out);
	free(text);
}
END_TEST

/* The --wire-cache copy: written while message 1 (LF, dot lines, no final line end) is encoded, then sent
 * in its place; never made for TOP, nor by a RETR that did not finish. */
START_TEST(wire_cache_copy_made_and_used)
{
	struct store *s = open_store();
	const struct maildir_msg *m = store_get(s, 1);
	const char *want = "Subject: dots\r\n\r\n..\r\n...\r\n..x\r\nend\r\n.\r\n";
	char dir[160], key[WIRECACHE_KEY_MAX], path[512], buf[128];
	struct stream st;
	struct evbuffer *out = evbuffer_new();
	struct p3err err;
	int steps, fd;
	char *body;
	FILE *f;
	size_t n;

	snprintf(dir, sizeof dir, "%s/wire", root);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	stream_init(&st);
	/* A RETR that ends early (the client went away): nothing left behind. */
	ck_assert_int_eq(stream_start_message(&st, m->path, -1, &err), 0);
	stream_wire_cache(&st, dir, m->size);
	ck_assert_ptr_nonnull(st.tee);
	ck_assert_int_eq(stream_fill(&st, out, 1, &err), 0);
	stream_abort(&st);
	ck_assert_int_eq(tu_count_files(dir), 0);
	/* TOP: no copy. */
	ck_assert_int_eq(stream_start_message(&st, m->path, 1, &err), 0);
	stream_wire_cache(&st, dir, m->size);
	ck_assert_ptr_null(st.tee);
	free(run(&st, 1, &steps));
	/* A whole RETR leaves the body as sent, without the terminator, under the file version's key. */
	ck_assert_int_eq(stream_start_message(&st, m->path, -1, &err), 0);
	stream_wire_cache(&st, dir, m->size);
	body = run(&st, 1, &steps);
	ck_assert_str_eq(body, want);
	free(body);
	ck_assert_int_eq(tu_count_files(dir), 1);
	fd = open(m->path, O_RDONLY);
	ck_assert_int_eq(wirecache_key(fd, key, sizeof key), 0);
	close(fd);
	snprintf(path, sizeof path, "%s/%s", dir, key);
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	ck_assert_str_eq(buf, "Subject: dots\r\n\r\n..\r\n...\r\n..x\r\nend\r\n");
	/* The next RETR sends the copy as stored. */
	ck_assert_int_eq(stream_start_message(&st, m->path, -1, &err), 0);
	stream_wire_cache(&st, dir, m->size);
	ck_assert_uint_eq(st.verbatim, n);
	ck_assert_ptr_null(st.tee);
	body = run(&st, 1, &steps);
	ck_assert_str_eq(body, want);
	free(body);
	/* A copy of the wrong length for the message is not used (and a new one is written over it). */
	f = fopen(path, "wb");
	fputs("short", f);
	fclose(f);
	ck_assert_int_eq(stream_start_message(&st, m->path, -1, &err), 0);
	stream_wire_cache(&st, dir, m->size);
	ck_assert_uint_eq(st.verbatim, 0);
	body = run(&st, 1, &steps);
	ck_assert_str_eq(body, want);
	free(body);
	/* Deleting the message takes its copy along. */
	wirecache_forget(dir, m->path);
	ck_assert_int_eq(tu_count_files(dir), 0);
	/* A file changed while it is sent (here only its ctime, by chmod) leaves no copy: the body sent is of
	 * neither version for sure. */
	ck_assert_int_eq(stream_start_message(&st, m->path, -1, &err), 0);
	stream_wire_cache(&st, dir, m->size);
	ck_assert_int_eq(chmod(m->path, 0640), 0);
	free(run(&st, 1, &steps));
	ck_assert_int_eq(tu_count_files(dir), 0);
	evbuffer_free(out);
	store_close(s);
}
END_TEST

Suite *stream_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("stream");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, message_stuffed_and_terminated);
	tcase_add_test(tc, large_message_in_steps);
	tcase_add_test(tc, listings);
	tcase_add_test(tc, verbatim_sent_as_stored);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, mapped_message_same_octets);
	tcase_add_test(tc, mapped_message_truncated_meanwhile);
	tcase_add_test(tc, wire_cache_copy_made_and_used);
	suite_add_tcase(s, tc);
	return s;
}
