/* check_stream.c — unit tests for server/stream: bodies produced in bounded steps, byte-stuffed, CRLF, with
 * the terminator exactly once; a file in wire form sent as stored (and only when it still is); listings skip
 * marked messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	suite_add_tcase(s, tc);
	return s;
}
