/* stream.c — multi-line bodies produced chunk by chunk into a libevent output buffer. */
#include "server/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "server/faults.h"
#include "server/store.h"

void stream_init(struct stream *st)
{
	st->kind = STREAM_NONE;
	st->fd = -1;
	st->store = NULL;
	st->next = 0;
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

static int fill_message(struct stream *st, struct evbuffer *out, size_t high, struct p3err *err)
{
	char buf[STREAM_CHUNK];
	int end = st->enc.done;

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
