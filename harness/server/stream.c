/* stream.c — multi-line bodies produced chunk by chunk into a libevent output buffer: a message encoded on
 * the way (line by line for TOP and the fault build, whole chunks for RETR) or sent as stored. */
#include "server/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
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
	st->map = NULL;
	st->map_len = st->map_off = st->map_released = 0;
	st->map_ok = st->map_tried = 0;
	st->produced = 0;
	st->tee = NULL;
}

/* The message's file and mapping, given back; st is STREAM_NONE after. */
static void release(struct stream *st)
{
	wirecache_tee_abort(&st->tee); /* unfinished: never a copy */
	if (st->map)
		munmap((void *)st->map, st->map_len);
	if (st->fd >= 0)
		close(st->fd);
	stream_init(st);
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

void stream_wire_cache(struct stream *st, const char *dir, unsigned long long sent)
{
	unsigned long long len;
	int fd;

	if (st->kind != STREAM_MESSAGE || st->enc.body_lines_left >= 0 || st->verbatim)
		return;
	fd = wirecache_open(dir, st->fd, sent, &len);
	if (fd >= 0) {
		/* The copy is the body, stuffed: sent as stored, like a file kept in its wire form. */
		close(st->fd);
		st->fd = fd;
		st->verbatim = len;
		return;
	}
	st->tee = wirecache_tee_begin(dir, st->fd);
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

/* A mapped file that shrinks while it is sent (a program truncating a message file: Maildir files never
 * change, but a careless reset or a user might) raises SIGBUS on the pages it lost. Only the encoding of a
 * mapped chunk runs under this guard: the handler jumps back out of it, and that RETR ends like a failed
 * read instead of the signal ending every session of the server. pop3refd has one thread. */
static sigjmp_buf *bus_jump;
static const char *bus_lo, *bus_hi;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	const char *a = si->si_addr;

	if (bus_jump && a >= bus_lo && a < bus_hi)
		siglongjmp(*bus_jump, 1);
	/* Not in a guarded mapping: what SIGBUS would have done without this handler. */
	signal(sig, SIG_DFL);
	raise(sig);
}

static int bus_guard_install(void)
{
	static int installed;
	struct sigaction sa = {0};

	if (installed)
		return 0;
	sa.sa_sigaction = on_sigbus;
	/* SA_NODEFER: the jump out skips the handler's return, which would unblock the signal. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		return -1;
	installed = 1;
	return 0;
}

/* Encode n octets of the mapping from map_off into dst; -1 when the file lost those pages. */
static int encode_mapped(struct stream *st, size_t n, char *dst, size_t *len)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0) != 0) {
		bus_jump = NULL;
		return -1;
	}
	bus_lo = st->map;
	bus_hi = st->map + st->map_len;
	bus_jump = &jb;
	*len = ml_encode_into(&st->enc, st->map + st->map_off, n, dst);
	bus_jump = NULL;
	return 0;
}

/* Map the rest of a big message once: memchr and one copy straight from the page cache into the output,
 * where read(2) would first copy all of it into a buffer (docs/performance.md). The file is mapped whole;
 * encoding goes on where reading stopped (a multiple of STREAM_CHUNK). */
static void try_map(struct stream *st)
{
	struct stat sb;
	off_t at = lseek(st->fd, 0, SEEK_CUR);
	void *p;

	st->map_tried = 1;
	if (at < 0 || fstat(st->fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size - at < STREAM_MAP_MIN ||
	    (unsigned long long)sb.st_size > SIZE_MAX / 2 || bus_guard_install() < 0)
		return;
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, st->fd, 0);
	if (p == MAP_FAILED)
		return; /* read on */
	(void)madvise(p, (size_t)sb.st_size, MADV_SEQUENTIAL);
	st->map = p;
	st->map_len = (size_t)sb.st_size;
	st->map_released = (size_t)at & ~(size_t)4095;
	st->map_off = (size_t)at;
}

void stream_client_reading(struct stream *st)
{
	st->map_ok = 1;
}

static int fill_mapped(struct stream *st, struct evbuffer *out, size_t high, struct p3err *err)
{
	while (evbuffer_get_length(out) < high) {
		struct evbuffer_iovec v;
		size_t n = st->map_len - st->map_off, len;
		if (n == 0)
			return 1;
		if (n > STREAM_MAP_STEP)
			n = STREAM_MAP_STEP;
		if (evbuffer_reserve_space(out, (ev_ssize_t)ML_ENCODE_BOUND(n), &v, 1) < 1)
			return p3err_set(err, "out of memory");
		if (encode_mapped(st, n, v.iov_base, &len) < 0)
			return p3err_set(err, "message file shrank while it was sent");
		v.iov_len = len;
		if (evbuffer_commit_space(out, &v, 1) < 0)
			return p3err_set(err, "out of memory");
		wirecache_tee_write(&st->tee, v.iov_base, len);
		st->map_off += n;
		if (st->map_off - st->map_released >= STREAM_MAP_RELEASE) {
			size_t upto = st->map_off & ~(size_t)4095;
			(void)madvise((char *)st->map + st->map_released, upto - st->map_released,
			              MADV_DONTNEED);
			st->map_released = upto;
		}
	}
	return 0;
}

/* RETR: whole chunks encoded straight into the output buffer's memory (ml_encode_into), not one
 * evbuffer_add per line part; a big file from a mapping. 1 at the end of the file, 0 when the output is
 * full, -1 on error. The reservation stays under 64 kB, so libevent's chains stay below glibc's mmap
 * threshold. */
static int fill_fast(struct stream *st, struct evbuffer *out, size_t high, struct p3err *err)
{
	char buf[STREAM_CHUNK];

	if (st->map_ok && !st->map_tried)
		try_map(st);
	if (st->map)
		return fill_mapped(st, out, high, err);

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
		wirecache_tee_write(&st->tee, v.iov_base, v.iov_len);
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
	size_t before;

	if (!end && !fast_path(st, out))
		wirecache_tee_abort(&st->tee); /* what the fault build sends is not the wire form */
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
	before = evbuffer_get_length(out);
	if (encode(st, out, NULL, 0, 1) < 0)
		return p3err_set(err, "out of memory");
	if (st->tee) {
		/* The copy ends with the body's last line end: what the finish added, minus ".CRLF". */
		char tail[8];
		size_t added = evbuffer_get_length(out) - before;
		struct evbuffer_ptr at;
		if (added >= 3 && added - 3 <= sizeof tail &&
		    evbuffer_ptr_set(out, &at, before, EVBUFFER_PTR_SET) == 0 &&
		    evbuffer_copyout_from(out, &at, tail, added - 3) == (ev_ssize_t)(added - 3)) {
			wirecache_tee_write(&st->tee, tail, added - 3);
			wirecache_tee_commit(&st->tee, st->fd);
		}
	}
	release(st);
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

static int fill(struct stream *st, struct evbuffer *out, size_t high, struct p3err *err)
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

int stream_fill(struct stream *st, struct evbuffer *out, size_t high, struct p3err *err)
{
	size_t before = evbuffer_get_length(out);
	int rc = fill(st, out, high, err);

	if (rc == 0)
		st->produced += evbuffer_get_length(out) - before;
	return rc;
}

void stream_abort(struct stream *st)
{
	if (st->kind == STREAM_MESSAGE)
		release(st);
	else
		stream_init(st);
}
