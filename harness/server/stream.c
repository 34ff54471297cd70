/* stream.c — multi-line bodies produced chunk by chunk into a libevent output buffer: a message encoded on
 * the way (line by line for TOP and the fault build, whole chunks for RETR) or sent as stored. */
#include "server/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/faults.h"
#include "server/store.h"

void stream_init(struct stream *st)
{
	st->kind = STREAM_NONE;
	st->fd = -1;
	st->store = NULL;
	st->next = 0;
	st->verbatim = 0;
}

int stream_start_message(struct stream *st, const char *path, long body_lines, struct p3err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return p3err_errno(err, "%s: cannot open message", path);
	st->kind = STREAM_MESSAGE;
	st->fd = fd;
	fault_stream_begin(st, path, &body_lines);
	ml_encoder_init(&st->enc, body_lines);
	return 0;
}

void stream_send_verbatim(struct stream *st, unsigned long long octets)
{
	struct stat sb;

	if (st->kind != STREAM_MESSAGE || st->enc.body_lines_left >= 0 || octets == 0)
		return;
	/* What the snapshot learnt must still describe the file (Maildir messages never change; one that did
	 * is encoded, not trusted). */
	if (fstat(st->fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (unsigned long long)sb.st_size != octets)
		return;
	st->verbatim = octets;
}

void stream_start_listing(struct stream *st, const struct store *store, enum stream_kind kind)
{
	st->kind = kind;
	st->store = store;
	st->next = 0;
}

static int emit(void *ctx, const char *data, size_t n)
{
	return evbuffer_add(ctx, data, n);
}

/* The encoder's output goes to `out` (the fault build may put a filter in front of it). */
static int encode(struct stream *st, struct evbuffer *out, const char *data, size_t n, int finish)
{
	ml_emit_fn fn = emit;
	void *ctx = out;

	fault_stream_output(st, finish, &fn, &ctx);
	return finish ? ml_encode_finish(&st->enc, fn, ctx) : ml_encode(&st->enc, data, n, fn, ctx);
}

/* The file as stored: libevent sends it with sendfile(2) on a plain socket, no copy through this process,
 * and owns (and closes) the descriptor from here. 1 when done, 0 when libevent refused it (encode
 * instead), -1 on error. */
static int fill_verbatim(struct stream *st, struct evbuffer *out, struct p3err *err)
{
	if (evbuffer_add_file(out, st->fd, 0, (ev_off_t)st->verbatim) < 0) {
		st->verbatim = 0;
		return 0;
	}
	st->fd = -1;
	stream_init(st);
	if (evbuffer_add(out, ".\r\n", 3) < 0)
		return p3err_set(err, "out of memory");
	return 1;
}

/* RETR: whole chunks encoded straight into the output buffer's memory (ml_encode_into), not one
 * evbuffer_add per line part. 1 at the end of the file, 0 when the output is full, -1 on error. The
 * reservation stays under 64 kB, so libevent's chains stay below glibc's mmap threshold. */
static int fill_fast(struct stream *st, struct evbuffer *out, size_t high, struct p3err *err)
{
	char buf[STREAM_CHUNK];

	while (evbuffer_get_length(out) < high) {
		struct evbuffer_iovec v;
		ssize_t n = read(st->fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			p3err_errno(err, "cannot read message");
			return -1;
		}
		if (n == 0)
			return 1;
		if (evbuffer_reserve_space(out, (ev_ssize_t)ML_ENCODE_BOUND((size_t)n), &v, 1) < 1)
			return p3err_set(err, "out of memory");
		v.iov_len = ml_encode_into(&st->enc, buf, (size_t)n, v.iov_base);
		if (evbuffer_commit_space(out, &v, 1) < 0)
			return p3err_set(err, "out of memory");
	}
	return 0;
}

/* Whether the body may skip the line-by-line encoder: RETR, and no fault filter in front of the output. */
static int fast_path(struct stream *st, struct evbuffer *out)
{
	ml_emit_fn fn = emit;
	void *ctx = out;

	if (st->enc.body_lines_left >= 0)
		return 0;
	fault_stream_output(st, 0, &fn, &ctx);
	return fn == emit && ctx == out;
}

static int fill_message(struct stream *st, struct evbuffer *out, size_t high, struct p3err *err)
{
	char buf[STREAM_CHUNK];
	int end = st->enc.done;

	if (!end && fast_path(st, out)) {
		int rc;
		if (st->verbatim && (rc = fill_verbatim(st, out, err)) != 0)
			return rc;
		rc = fill_fast(st, out, high, err);
		if (rc <= 0)
			return rc;
		end = 1;
	}
	while (!end && evbuffer_get_length(out) < high) {
		ssize_t n = read(st->fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			p3err_errno(err, "cannot read message");
			return -1;
		}
		if (n == 0) {
			end = 1;
			break;
		}
		if (encode(st, out, buf, (size_t)n, 0) < 0)
			return p3err_set(err, "out of memory");
		end = st->enc.done; /* TOP has sent its lines */
	}
	if (!end)
		return 0;
	/* End the last line if needed and add ".CRLF" (RFC 1939 §3; a message without a final line end still
	 * ends with CRLF "." CRLF, P-MSG-1). */
	if (encode(st, out, NULL, 0, 1) < 0)
		return p3err_set(err, "out of memory");
	close(st->fd);
	stream_init(st);
	return 1;
}

static int fill_listing(struct stream *st, struct evbuffer *out, size_t high, struct p3err *err)
{
	size_t count = store_count(st->store);

	while (st->next < count && evbuffer_get_length(out) < high) {
		size_t n = ++st->next;
		const struct maildir_msg *m = store_get(st->store, n);
		int rc;
		if (!m)
			continue; /* RFC 1939 §5: marked messages are not listed */
		if (st->kind == STREAM_SCAN)
			rc = evbuffer_add_printf(out, "%zu %llu\r\n", n, m->size);
		else
			rc = evbuffer_add_printf(out, "%zu %s\r\n", n, m->uid);
		if (rc < 0)
			return p3err_set(err, "out of memory");
	}
	if (st->next < count)
		return 0;
	if (evbuffer_add(out, ".\r\n", 3) < 0)
		return p3err_set(err, "out of memory");
	stream_init(st);
	return 1;
}

int stream_fill(struct stream *st, struct evbuffer *out, size_t high, struct p3err *err)
{
	switch (st->kind) {
	case STREAM_MESSAGE:
		return fill_message(st, out, high, err);
	case STREAM_SCAN:
	case STREAM_UIDL:
		return fill_listing(st, out, high, err);
	case STREAM_NONE:
		break;
	}
	return 1;
}

void stream_abort(struct stream *st)
{
	if (st->kind == STREAM_MESSAGE && st->fd >= 0)
		close(st->fd);
	stream_init(st);
}
