/* faults_data.c — the message-data faults of bin/pop3refd-faults: a filter in front of the encoded output of
 * RETR and TOP, and the sizes and unique-ids changed after the store's scan. Compiled to nothing unless
 * POP3REFD_FAULTS is defined. */
#include "server/faults.h"

#ifdef POP3REFD_FAULTS

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <event2/buffer.h>

#include "lib/maildir.h"
#include "server/faults_int.h"
#include "server/stream.h"

/* ---- message data: a filter in front of the output of RETR and TOP --------------------------------- */

/* Where a fixed line buffer of 512 octets (CRLF included) cuts a line. */
#define CUT_AT 510

static int data_faults(void)
{
	return fault_on(F_NO_BYTE_STUFFING) || fault_on(F_BARE_LF) ||
	       fault_on(F_CRLF_MISSING_ON_TERMINATOR) || fault_on(F_LONG_LINES_CUT) ||
	       fault_on(F_EIGHT_BIT_STRIPPED) || fault_on(F_TOP_IGNORES_HEADER) || fault_on(F_CR_DOUBLED);
}

/* The filter's state per RETR or TOP (top_lines: TOP's count, or -1 for RETR), one per session's stream. */
struct filter {
	const struct stream *owner;
	struct evbuffer *out;
	int line_start;  /* the next octet begins a line */
	size_t line_len; /* octets of the current line sent */
	long lines;      /* lines ended so far */
	long top_lines;  /* -1, or TOP's k */
	int muted;       /* top-ignores-header: past k lines, only the terminator goes out */
	struct filter *next;
};

static struct filter *filters;

static struct filter *filter_of(const struct stream *st, int create)
{
	struct filter *f;

	for (f = filters; f; f = f->next)
		if (f->owner == st)
			return f;
	if (!create || !(f = calloc(1, sizeof *f)))
		return NULL;
	f->owner = st;
	f->next = filters;
	filters = f;
	return f;
}

void fault_filter_forget(const struct stream *st)
{
	for (struct filter **p = &filters; *p; p = &(*p)->next) {
		if ((*p)->owner == st) {
			struct filter *f = *p;
			*p = f->next;
			free(f);
			return;
		}
	}
}

static int add_data(struct filter *f, const char *data, size_t n)
{
	char buf[512];

	if (fault_on(F_LONG_LINES_CUT)) {
		size_t room = f->line_len >= CUT_AT ? 0 : CUT_AT - f->line_len;
		f->line_len += n;
		if (n > room)
			n = room;
	}
	if (!fault_on(F_EIGHT_BIT_STRIPPED))
		return evbuffer_add(f->out, data, n);
	while (n > 0) {
		size_t k = n < sizeof buf ? n : sizeof buf;
		for (size_t i = 0; i < k; i++)
			buf[i] = (char)(data[i] & 0x7f);
		if (evbuffer_add(f->out, buf, k) < 0)
			return -1;
		data += k;
		n -= k;
	}
	return 0;
}

/* lib/multiline's encoder emits a line end as its own "\r\n" piece, a stuffing dot as its own "." piece
 * first in the line, and the terminator as ".\r\n"; data pieces never hold a LF. The filter works on
 * those pieces. */
static int filter_emit(void *ctx, const char *data, size_t n)
{
	struct filter *f = ctx;

	if (n == 3 && memcmp(data, ".\r\n", 3) == 0) {
		if (fault_on(F_CRLF_MISSING_ON_TERMINATOR))
			return evbuffer_add(f->out, ".\n", 2);
		return evbuffer_add(f->out, data, n);
	}
	if (f->muted)
		return 0;
	if (n == 2 && data[0] == '\r' && data[1] == '\n') {
		int rc = fault_on(F_BARE_LF)      ? evbuffer_add(f->out, "\n", 1)
		         : fault_on(F_CR_DOUBLED) ? evbuffer_add(f->out, "\r\r\n", 3)
		                                  : evbuffer_add(f->out, data, n);
		f->line_start = 1;
		f->line_len = 0;
		f->lines++;
		if (fault_on(F_TOP_IGNORES_HEADER) && f->top_lines >= 0 && f->lines >= f->top_lines)
			f->muted = 1;
		return rc;
	}
	if (f->line_start) {
		f->line_start = 0;
		if (n == 1 && data[0] == '.' && fault_on(F_NO_BYTE_STUFFING))
			return 0; /* the stuffing dot */
	}
	return add_data(f, data, n);
}

void fault_stream_begin(struct stream *st, const char *path, long *body_lines)
{
	struct filter *f = data_faults() ? filter_of(st, 1) : NULL;

	(void)path;
	if (f) {
		f->out = NULL;
		f->line_start = 1;
		f->line_len = 0;
		f->lines = 0;
		f->top_lines = *body_lines;
		f->muted = *body_lines == 0 && fault_on(F_TOP_IGNORES_HEADER);
	}
	if (fault_on(F_TOP_WRONG_LINE_COUNT) && *body_lines >= 0)
		(*body_lines)++;
}

void fault_stream_output(struct stream *st, int finish, ml_emit_fn *fn, void **ctx)
{
	struct filter *f;

	if (finish && fault_on(F_FINAL_LINE_UNTERMINATED))
		st->enc.at_line_start = true; /* so no line end is added before the terminator */
	if (!data_faults() || !(f = filter_of(st, 0)))
		return;
	f->out = *ctx;
	*fn = filter_emit;
	*ctx = f;
}

/* ---- sizes and unique-ids ------------------------------------------------------------------------ */

/* Lines of the file that begin with '.', each of which byte-stuffing doubles. */
static unsigned long long dot_lines(const char *path)
{
	char buf[8192];
	unsigned long long dots = 0;
	int start = 1, fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (start && buf[i] == '.')
				dots++;
			start = buf[i] == '\n';
		}
	}
	close(fd);
	return dots;
}

void fault_adjust_maildir(struct maildir *md)
{
	static unsigned long generation;
	char first[POP3_MAX_UID_LEN + 1] = "";

	if (!fault_on(F_WRONG_OCTET_COUNT) && !fault_on(F_SIZE_COUNTS_STUFFING) &&
	    !fault_on(F_UIDL_UNSTABLE) && !fault_on(F_UIDL_DUPLICATE) && !fault_on(F_UIDL_HAS_SPACE) &&
	    !fault_on(F_UIDL_REUSED))
		return;
	generation++;
	md->total = 0;
	for (size_t i = 0; i < md->count; i++) {
		struct maildir_msg *m = &md->msgs[i];
		struct stat st;
		char uid[POP3_MAX_UID_LEN + 1];

		if (fault_on(F_WRONG_OCTET_COUNT) && stat(m->path, &st) == 0)
			m->size = (unsigned long long)st.st_size;
		if (fault_on(F_SIZE_COUNTS_STUFFING))
			m->size += dot_lines(m->path);
		md->total += m->size;
		snprintf(uid, sizeof uid, "%s", m->uid);
		if (i == 0)
			snprintf(first, sizeof first, "%s", uid);
		if (fault_on(F_UIDL_UNSTABLE))
			snprintf(m->uid, sizeof m->uid, "%.48s-%lu", uid, generation);
		if (fault_on(F_UIDL_DUPLICATE))
			snprintf(m->uid, sizeof m->uid, "%s", first);
		if (fault_on(F_UIDL_HAS_SPACE))
			snprintf(m->uid, sizeof m->uid, "%.34s %.34s", uid, uid + strlen(uid) / 2);
		if (fault_on(F_UIDL_REUSED))
			snprintf(m->uid, sizeof m->uid, "%zu", i + 1);
	}
}

#else

/* ISO C wants a translation unit to declare something. */
typedef int faults_data_c_is_empty_without_pop3refd_faults;

#endif
