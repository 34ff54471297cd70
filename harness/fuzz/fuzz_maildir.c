/* fuzz_maildir.c — libFuzzer target: the Maildir scanner (lib/maildir) on hostile folders. The input is a
 * list of entries, each: a flags octet, a name length octet, the name, a two-octet content length, the
 * content. Flags bit 0 puts the entry in new/ (else cur/), bit 1 in tmp/, bit 2 makes it a symbolic link to
 * the previous entry, bit 3 a folder, bit 4 a dangling link; '/' and NUL in names become '_' (the only
 * octets a file name cannot hold). Names can hold ",W=" size fields, ':2,' flags, spaces, control and
 * 8-bit octets, 255 octets.
 * Checks against an independent model: the messages are exactly the regular files (links followed) of cur/
 * and new/ whose names do not start with '.', sorted by name; the size of each is the RFC 1939 §11 count of
 * its content (ml_count) unless its name carries a well-formed ",W="; every unique-id is 1-70 octets of
 * 0x21-0x7E (RFC 1939 §7) and no two are equal (R1939-UIDL-5); header_8bit agrees with a direct scan. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "lib/maildir.h"
#include "lib/multiline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c)) {                                                                                  \
			fprintf(stderr, "fuzz_maildir: %s (line %d)\n", #c, __LINE__);                       \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

#define MAX_ENTRIES 64

struct entry {
	char path[600];
	const uint8_t *content;
	size_t len;
	int is_msg; /* a regular file (or a link to one) in cur/ or new/, not a dot file */
	int w_sized;
};

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Create one entry; returns its index in e (an existing one when the path repeats), or -1 when skipped. */
static int make_entry(const char *dir, struct entry *e, size_t *n, unsigned flags, const char *name,
                      const uint8_t *content, size_t len)
{
	const char *sub = (flags & 2) ? "tmp" : (flags & 1) ? "new" : "cur";
	char path[600];
	size_t k;
	int fd;

	if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -1;
	snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
	for (k = 0; k < *n; k++)
		if (strcmp(e[k].path, path) == 0)
			break;
	if (k == *n && *n == MAX_ENTRIES)
		return -1;
	if (k < *n)
		return -1; /* a name given twice: keep the first */
	if (flags & 8) {
		if (mkdir(path, 0700) < 0)
			return -1;
		e[k].is_msg = 0;
	} else if (flags & 16) {
		if (symlink("/nonexistent/pop3fuzz", path) < 0)
			return -1;
		e[k].is_msg = 0;
	} else if ((flags & 4) && k > 0) {
		/* A link to the previous entry: a message when that one is a regular file. */
		if (symlink(e[k - 1].path, path) < 0)
			return -1;
		e[k].is_msg = e[k - 1].is_msg || (e[k - 1].content != NULL);
		content = e[k - 1].content;
		len = e[k - 1].len;
		if (!content)
			e[k].is_msg = 0;
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return -1;
		CHECK(write(fd, content, len) == (ssize_t)len);
		close(fd);
		if (!content)
			content = (const uint8_t *)"";
		e[k].is_msg = 1;
	}
	snprintf(e[k].path, sizeof e[k].path, "%s", path);
	e[k].content = (flags & 8) || (flags & 16) ? NULL : content;
	e[k].len = len;
	if ((flags & 2) || name[0] == '.')
		e[k].is_msg = 0;
	e[k].w_sized = strstr(name, ",W=") != NULL;
	(*n)++;
	return (int)k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *dir;
	static struct entry e[MAX_ENTRIES];
	static const char *const subs[] = {"cur", "new", "tmp"};
	char p[700], name[256];
	size_t n = 0, pos = 0, nmsg = 0;
	struct maildir md;
	struct p3err err;

	if (!dir)
		dir = fz_tmpdir("maildir");
	fz_rmrf(dir);
	CHECK(mkdir(dir, 0700) == 0);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, subs[i]);
		CHECK(mkdir(p, 0700) == 0);
	}
	memset(e, 0, sizeof e);
	while (pos + 2 <= size && n < MAX_ENTRIES) {
		unsigned flags = data[pos], nl = data[pos + 1];
		size_t len;
		pos += 2;
		if (pos + nl + 2 > size)
			break;
		for (unsigned i = 0; i < nl; i++)
			name[i] = data[pos + i] == '/' || data[pos + i] == '\0' ? '_' : (char)data[pos + i];
		name[nl] = '\0';
		pos += nl;
		len = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		(void)make_entry(dir, e, &n, flags, name, data + pos, len);
		pos += len;
	}
	for (size_t k = 0; k < n; k++)
		nmsg += e[k].is_msg;

	if (maildir_scan(dir, &md, &err) < 0) {
		fprintf(stderr, "fuzz_maildir: scan failed: %s\n", err.msg);
		abort();
	}
	CHECK(md.count == nmsg);
	{
		unsigned long long total = 0;
		const char **uids = malloc((md.count + 1) * sizeof *uids);
		CHECK(uids);
		for (size_t i = 0; i < md.count; i++) {
			const struct maildir_msg *m = &md.msgs[i];
			size_t ul = strlen(m->uid), k;
			if (i > 0)
				CHECK(strcmp(md.msgs[i - 1].name, m->name) <= 0);
			CHECK(ul >= 1 && ul <= POP3_MAX_UID_LEN);
			for (size_t j = 0; j < ul; j++)
				CHECK((unsigned char)m->uid[j] >= 0x21 && (unsigned char)m->uid[j] <= 0x7e);
			for (k = 0; k < n; k++)
				if (strcmp(e[k].path, m->path) == 0)
					break;
			CHECK(k < n && e[k].is_msg);
			if (!e[k].w_sized) {
				struct ml_counter c;
				int h8;
				ml_counter_init(&c);
				ml_count(&c, (const char *)e[k].content, e[k].len);
				CHECK(m->size == ml_count_finish(&c));
				h8 = maildir_header_8bit(m->path, &err);
				CHECK(h8 == MAILDIR_HEADER_ASCII || h8 == MAILDIR_HEADER_8BIT);
				CHECK(m->header_8bit == h8);
			}
			total += m->size;
			uids[i] = m->uid;
		}
		CHECK(md.total == total);
		qsort(uids, md.count, sizeof *uids, by_str);
		for (size_t i = 1; i < md.count; i++)
			if (strcmp(uids[i - 1], uids[i]) == 0) {
				fprintf(stderr, "fuzz_maildir: unique-id %s given twice\n", uids[i]);
				abort();
			}
		free(uids);
	}
	maildir_free(&md);
	return 0;
}
