/* faults.c — the fault-injection switches of bin/pop3refd-faults and the helpers of the larger faults (the
 * message-data filter, sizes and unique-ids, lenient base64, per-session stashes). Compiled to nothing
 * unless POP3REFD_FAULTS is defined. */
#include "server/faults.h"

#ifdef POP3REFD_FAULTS

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lib/b64.h"
#include "server/log.h"
#include "server/reply.h"
#include "server/session.h"
#include "server/store.h"

unsigned char fault_active[FAULT_COUNT];

struct fault_info {
	const char *name;
	const char *scope;
	const char *what;
};

#define FAULT_INFO(id, name, scope, what) {name, #scope, what},
static const struct fault_info faults[FAULT_COUNT] = {FAULT_LIST(FAULT_INFO)};
#undef FAULT_INFO

int fault_enable(const char *name, struct p3err *err)
{
	for (size_t i = 0; i < FAULT_COUNT; i++) {
		if (strcmp(faults[i].name, name) == 0) {
			fault_active[i] = 1;
			return 0;
		}
	}
	return p3err_set(err, "--fault: unknown fault '%s' (--list-faults shows them)", name);
}

void fault_print_list(FILE *out)
{
	for (size_t i = 0; i < FAULT_COUNT; i++) {
		fputs(faults[i].name, out);
		fputc('\t', out);
		for (const char *p = faults[i].scope; *p; p++)
			fputc(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p, out);
		fprintf(out, "\t%s\n", faults[i].what);
	}
}

const char *fault_enabled_names(void)
{
	static char buf[1024];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < FAULT_COUNT; i++) {
		if (!fault_active[i])
			continue;
		int w = snprintf(buf + len, sizeof buf - len, "%s%s", len ? "," : "", faults[i].name);
		if (w < 0 || (size_t)w >= sizeof buf - len)
			break;
		len += (size_t)w;
	}
	return len ? buf : "none";
}

/* ---- message data ------------------------------------------------------------------------------ */

/* Where a fixed line buffer of 512 octets (CRLF included) cuts a line. */
#define CUT_AT 510

int fault_data_faults(void)
{
	return fault_on(F_NO_BYTE_STUFFING) || fault_on(F_BARE_LF) ||
	       fault_on(F_CRLF_MISSING_ON_TERMINATOR) || fault_on(F_LONG_LINES_CUT) ||
	       fault_on(F_EIGHT_BIT_STRIPPED) || fault_on(F_TOP_IGNORES_HEADER) || fault_on(F_CR_DOUBLED);
}

int fault_state_faults(void)
{
	return fault_on(F_STAT_IN_AUTHORIZATION) || fault_on(F_USER_AFTER_LOGIN) ||
	       fault_on(F_STLS_AFTER_LOGIN) || fault_on(F_AUTH_TWICE) || fault_on(F_UTF8_AFTER_LOGIN);
}

unsigned fault_extra_states(const char *name)
{
	unsigned st = 0;

	if (fault_on(F_STAT_IN_AUTHORIZATION) && strcmp(name, "STAT") == 0)
		st |= ST_AUTHORIZATION;
	if (fault_on(F_USER_AFTER_LOGIN) && strcmp(name, "USER") == 0)
		st |= ST_TRANSACTION;
	if (fault_on(F_STLS_AFTER_LOGIN) && strcmp(name, "STLS") == 0)
		st |= ST_TRANSACTION;
	if (fault_on(F_AUTH_TWICE) && strcmp(name, "AUTH") == 0)
		st |= ST_TRANSACTION;
	if (fault_on(F_UTF8_AFTER_LOGIN) && strcmp(name, "UTF8") == 0)
		st |= ST_TRANSACTION;
	return st;
}

void fault_update(struct session *s)
{
	struct p3err err = {{0}};
	size_t removed = 0;

	(void)store_update(s->store, &removed, &err);
	log_msg(LOG_INFO, "s%lu fault: UPDATE without QUIT, %zu removed", s->id, removed);
}

size_t fault_renumbered(const struct store *st, size_t n)
{
	size_t seen = 0, k;

	for (k = 1; k <= store_count(st); k++)
		if (store_get(st, k) && ++seen == n)
			return k;
	return k;
}

int fault_maildir_faults(void)
{
	return fault_on(F_WRONG_OCTET_COUNT) || fault_on(F_SIZE_COUNTS_STUFFING) ||
	       fault_on(F_UIDL_UNSTABLE) || fault_on(F_UIDL_DUPLICATE) || fault_on(F_UIDL_HAS_SPACE) ||
	       fault_on(F_UIDL_REUSED);
}

void fault_filter_begin(struct fault_filter *f, struct evbuffer *out, long top_lines)
{
	memset(f, 0, sizeof *f);
	f->out = out;
	f->line_start = 1;
	f->top_lines = top_lines;
	f->muted = top_lines == 0 && fault_on(F_TOP_IGNORES_HEADER);
}

static int add_data(struct fault_filter *f, const char *data, size_t n)
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
int fault_filter_emit(void *ctx, const char *data, size_t n)
{
	struct fault_filter *f = ctx;

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

const char *fault_uid_padding(const char *uid)
{
	static char pad[81];
	size_t len = strlen(uid);

	if (!fault_on(F_UIDL_TOO_LONG))
		return "";
	/* 80 characters in all, past the 70 RFC 1939 §7 allows. */
	memset(pad, 'x', 80);
	pad[80] = '\0';
	return len >= 80 ? pad + 79 : pad + len;
}

int fault_file_has_8bit(const char *path)
{
	unsigned char buf[8192];
	int found = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	while (!found && (n = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n && !found; i++)
			found = buf[i] >= 0x80;
	close(fd);
	return found;
}

/* ---- lenient base64 ------------------------------------------------------------------------------ */

int fault_b64_lenient(const char *src, size_t len, unsigned char *dst, size_t *outlen)
{
	char *clean = malloc(len + 4);
	size_t m = 0;
	int rc;

	if (!clean)
		return -1;
	/* What a forgiving decoder does: keep the alphabet, skip everything else, '=' included... */
	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
		    c == '/')
			clean[m++] = c;
	}
	/* ...then mend the length: a lone sextet is dropped, padding is added. */
	if (m % 4 == 1)
		m--;
	while (m % 4 != 0)
		clean[m++] = '=';
	rc = b64_decode(clean, m, dst, outlen, 0) == B64_OK ? 0 : -1;
	free(clean);
	return rc;
}

/* ---- pipelining-reorder, update-removes-retrieved ------------------------------------------------ */

int fault_hold_reply(struct session *s, const struct result *r, const char *line, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(s->bev), *held = evbuffer_new();
	struct evbuffer_ptr lf = evbuffer_search(bufferevent_get_input(s->bev), "\n", 1, NULL);
	int hold = 0;

	if (!held)
		return 0;
	if (r->status != RES_CONT && !r->multiline && r->after == AFTER_NONE && lf.pos >= 0 &&
	    !fault_stash_take(s, FAULT_STASH_REPLY, held)) {
		fault_stash_put(s, FAULT_STASH_REPLY, line, n);
		hold = 1;
	} else {
		evbuffer_add_buffer(out, held); /* a reply held before goes first, then this one */
	}
	evbuffer_free(held);
	return hold;
}

void fault_remove_retrieved(const void *owner)
{
	struct evbuffer *paths = evbuffer_new();
	const char *p, *end;

	if (!paths || !fault_stash_take(owner, FAULT_STASH_RETRIEVED, paths) ||
	    evbuffer_add(paths, "", 1) < 0) {
		if (paths)
			evbuffer_free(paths);
		return;
	}
	p = (const char *)evbuffer_pullup(paths, -1);
	end = p + evbuffer_get_length(paths) - 1;
	for (; p < end; p += strlen(p) + 1)
		(void)unlink(p);
	evbuffer_free(paths);
}

/* ---- per-session stashes ------------------------------------------------------------------------- */

struct stash {
	const void *owner;
	int kind;
	struct evbuffer *data;
	struct stash *next;
};

static struct stash *stashes;

void fault_stash_put(const void *owner, int kind, const void *data, size_t n)
{
	struct stash *s;

	for (s = stashes; s; s = s->next)
		if (s->owner == owner && s->kind == kind)
			break;
	if (!s) {
		s = calloc(1, sizeof *s);
		if (!s)
			return;
		s->data = evbuffer_new();
		if (!s->data) {
			free(s);
			return;
		}
		s->owner = owner;
		s->kind = kind;
		s->next = stashes;
		stashes = s;
	}
	evbuffer_add(s->data, data, n);
}

int fault_stash_take(const void *owner, int kind, struct evbuffer *to)
{
	for (struct stash **p = &stashes; *p; p = &(*p)->next) {
		struct stash *s = *p;
		if (s->owner != owner || s->kind != kind)
			continue;
		evbuffer_add_buffer(to, s->data);
		*p = s->next;
		evbuffer_free(s->data);
		free(s);
		return 1;
	}
	return 0;
}

void fault_session_end(const void *owner)
{
	struct stash **p = &stashes;

	while (*p) {
		struct stash *s = *p;
		if (s->owner == owner) {
			*p = s->next;
			evbuffer_free(s->data);
			free(s);
		} else {
			p = &s->next;
		}
	}
}

#else

/* ISO C wants a translation unit to declare something. */
typedef int faults_c_is_empty_without_pop3refd_faults;

#endif
