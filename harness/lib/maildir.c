/* maildir.c — reading a Maildir: messages of new/ and cur/ in file-name order, sizes as POP3 sends them
 * (RFC 1939 §11), stable unique-ids (RFC 1939 §7); and creating one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/digest.h"
#include "lib/maildir.h"
#include "lib/multiline.h"

#define READ_CHUNK (64 * 1024)

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Length of the base name: the part before the ':' that starts the flags ("name:2,S"). */
static size_t base_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon ? (size_t)(colon - name) : strlen(name);
}

/* The ",W=<n>" field of a Maildir++ name (the size with CRLF line ends), when present and well formed. */
static int size_from_name(const char *name, unsigned long long *size)
{
	size_t blen = base_len(name);

	for (const char *p = name; (p = strstr(p, ",W=")) != NULL && (size_t)(p - name) < blen; p += 3) {
		const char *d = p + 3;
		unsigned long long v = 0;
		size_t nd = 0;

		while ((size_t)(d - name) < blen && *d >= '0' && *d <= '9' && nd < 19) {
			v = v * 10 + (unsigned long long)(*d - '0');
			d++;
			nd++;
		}
		if (nd > 0 && ((size_t)(d - name) == blen || *d == ',')) {
			*size = v;
			return 1;
		}
	}
	return 0;
}

/* The header section ends at the first empty line (RFC 5322 §2.1): LF or CR LF at the start of a line.
 * The scanner sees the file in chunks and remembers where it is between them. */
struct header_scan {
	enum { HS_LINE_START, HS_CR_AT_START, HS_IN_LINE, HS_DONE } at;
	int eight; /* an octet >= 0x80 seen in the header section */
};

static void header_scan(struct header_scan *h, const char *buf, size_t n)
{
	for (size_t i = 0; i < n && h->at != HS_DONE; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c >= 0x80)
			h->eight = 1;
		switch (h->at) {
		case HS_LINE_START:
			h->at = c == '\n' ? HS_DONE : c == '\r' ? HS_CR_AT_START : HS_IN_LINE;
			break;
		case HS_CR_AT_START:
			h->at = c == '\n' ? HS_DONE : HS_IN_LINE;
			break;
		case HS_IN_LINE:
			if (c == '\n')
				h->at = HS_LINE_START;
			break;
		case HS_DONE:
			break;
		}
	}
}

static int header_result(const struct header_scan *h)
{
	return h->eight ? MAILDIR_HEADER_8BIT : MAILDIR_HEADER_ASCII;
}

int maildir_header_8bit(const char *path, struct p3err *err)
{
	struct header_scan h = {HS_LINE_START, 0};
	char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return p3err_errno(err, "%s: cannot open message", path);
	while (h.at != HS_DONE && !h.eight && (n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			p3err_errno(err, "%s: cannot read message", path);
			close(fd);
			return -1;
		}
		header_scan(&h, buf, (size_t)n);
	}
	close(fd);
	return header_result(&h);
}

/* Size as sent, by reading the file through the multi-line counter; the header scanner rides along.
 * Returns 0, 1 when the file vanished (another session's UPDATE removed it: not an error), or -1. */
static int size_from_file(const char *path, unsigned long long *size, int *header_8bit, char *buf,
                          struct p3err *err)
{
	struct ml_counter c;
	struct header_scan h = {HS_LINE_START, 0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return p3err_errno(err, "%s: cannot open message", path);
	}
	ml_counter_init(&c);
	while ((n = read(fd, buf, READ_CHUNK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			p3err_errno(err, "%s: cannot read message", path);
			close(fd);
			return -1;
		}
		ml_count(&c, buf, (size_t)n);
		header_scan(&h, buf, (size_t)n);
	}
	close(fd);
	*size = ml_count_finish(&c);
	*header_8bit = header_result(&h);
	return 0;
}

/* RFC 1939 §7: 1 to 70 characters in 0x21..0x7E. */
static int uid_usable(const char *s, size_t n)
{
	if (n == 0 || n > POP3_MAX_UID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static void set_uid(struct maildir_msg *m, const char *key, size_t keylen)
{
	char hex[DIGEST_MD5_HEX];
	char tmp[NAME_MAX + 1];

	if (uid_usable(key, keylen)) {
		memcpy(m->uid, key, keylen);
		m->uid[keylen] = '\0';
		return;
	}
	/* MD5 of the key: 32 hex digits, stable as long as the name is (apop_digest is MD5 of the two
	 * strings joined, so an empty second string gives MD5(key)). */
	if (keylen > NAME_MAX)
		keylen = NAME_MAX;
	memcpy(tmp, key, keylen);
	tmp[keylen] = '\0';
	apop_digest(tmp, "", hex);
	memcpy(m->uid, hex, sizeof hex);
}

static int by_name(const void *a, const void *b)
{
	const struct maildir_msg *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->path, y->path);
}

static int by_uid(const void *a, const void *b)
{
	const struct maildir_msg *const *x = a, *const *y = b;
	int c = strcmp((*x)->uid, (*y)->uid);

	/* Among equal ids the earlier message keeps it. */
	return c != 0 ? c : (*x < *y ? -1 : *x > *y);
}

/* R1939-UIDL-5: distinct messages get distinct ids. The same base name in new/ and cur/ is rare but
 * possible, and so are names whose base is unusable in the same way (empty, 8-bit: both MD5'd from the
 * same key); the earliest message (file-name order) keeps the id, each later one takes the MD5 of its
 * path relative to the Maildir. A replacement can itself collide (a file named like that MD5), so this
 * repeats, salting the path with the round, until every id is distinct. fuzz_maildir found three equal
 * ids where the old single pass compared each with an already replaced neighbour. Deterministic: the
 * same files give the same ids in every session. */
static int dedup_uids(struct maildir *md, size_t dirlen)
{
	struct maildir_msg **v;
	int dup = 1;

	if (md->count < 2)
		return 0;
	v = malloc(md->count * sizeof *v);
	if (v == NULL)
		return -1;
	for (size_t i = 0; i < md->count; i++)
		v[i] = &md->msgs[i];
	for (unsigned round = 0; dup && round < 64; round++) {
		size_t keep = 0;
		dup = 0;
		qsort(v, md->count, sizeof *v, by_uid);
		for (size_t i = 1; i < md->count; i++) {
			if (strcmp(v[i]->uid, v[keep]->uid) != 0) {
				keep = i;
				continue;
			}
			char hex[DIGEST_MD5_HEX], salt[16];
			salt[0] = '\0';
			if (round > 0)
				snprintf(salt, sizeof salt, "#%u", round);
			apop_digest(v[i]->path + dirlen, salt, hex);
			memcpy(v[i]->uid, hex, sizeof hex);
			dup = 1;
		}
	}
	free(v);
	return dup ? -1 : 0;
}

static int add_dir(struct maildir *md, size_t *cap, const char *dir, const char *sub, char *buf,
                   struct p3err *err)
{
	char path[4096];
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, sub) >= sizeof path)
		return p3err_set(err, "%s/%s: path too long", dir, sub);
	d = opendir(path);
	if (d == NULL)
		return p3err_errno(err, "%s: cannot open folder", path);
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct maildir_msg m;
		struct stat st;
		int r;

		if (de->d_name[0] == '.')
			continue; /* ".", ".." and hidden files are never messages */
		memset(&m, 0, sizeof m);
		if (asprintf(&m.path, "%s/%s", path, de->d_name) < 0) {
			rc = p3err_set(err, "%s: out of memory", path);
			break;
		}
		if (stat(m.path, &st) < 0) {
			free(m.path);
			if (errno == ENOENT)
				continue; /* removed meanwhile, or a dangling link */
			rc = p3err_errno(err, "%s: cannot stat message", path);
			break;
		}
		if (!S_ISREG(st.st_mode)) {
			free(m.path);
			continue;
		}
		m.name = m.path + strlen(path) + 1;
		if (!size_from_name(m.name, &m.size)) {
			r = size_from_file(m.path, &m.size, &m.header_8bit, buf, err);
			if (r != 0) {
				free(m.path);
				if (r > 0)
					continue;
				rc = -1;
				break;
			}
		}
		set_uid(&m, m.name, base_len(m.name));
		if (md->count == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			struct maildir_msg *nm = realloc(md->msgs, ncap * sizeof *nm);
			if (nm == NULL) {
				free(m.path);
				rc = p3err_set(err, "%s: out of memory", path);
				break;
			}
			md->msgs = nm;
			*cap = ncap;
		}
		md->msgs[md->count++] = m;
	}
	if (rc == 0 && de == NULL && errno != 0)
		rc = p3err_errno(err, "%s: cannot read folder", path);
	closedir(d);
	return rc;
}

int maildir_scan(const char *dir, struct maildir *md, struct p3err *err)
{
	char path[4096];
	size_t cap = 0;
	char *buf;
	static const char *const subs[] = {"cur", "new"};

	md->msgs = NULL;
	md->count = 0;
	md->total = 0;
	for (size_t i = 0; i < 2; i++) {
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, subs[i]) >= sizeof path)
			return p3err_set(err, "%s: path too long", dir);
		if (!is_dir(path))
			return p3err_set(err, "%s: not a Maildir (no %s/ folder)", dir, subs[i]);
	}
	buf = malloc(READ_CHUNK);
	if (buf == NULL)
		return p3err_set(err, "%s: out of memory", dir);
	/* tmp/ holds deliveries in progress (the Maildir protocol): never messages yet. */
	if (add_dir(md, &cap, dir, "new", buf, err) < 0 || add_dir(md, &cap, dir, "cur", buf, err) < 0) {
		free(buf);
		maildir_free(md);
		return -1;
	}
	free(buf);
	if (md->count > 0)
		qsort(md->msgs, md->count, sizeof *md->msgs, by_name);
	if (dedup_uids(md, strlen(dir) + 1) < 0) {
		maildir_free(md);
		return p3err_set(err, "%s: out of memory", dir);
	}
	for (size_t i = 0; i < md->count; i++)
		md->total += md->msgs[i].size;
	return 0;
}

void maildir_free(struct maildir *md)
{
	if (md == NULL)
		return;
	for (size_t i = 0; i < md->count; i++)
		free(md->msgs[i].path); /* name points into path */
	free(md->msgs);
	md->msgs = NULL;
	md->count = 0;
	md->total = 0;
}

int maildir_user_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '@' || c == '+' || c == '-'))
			return 0;
	}
	return 1;
}

static int make_dir(const char *path, struct p3err *err)
{
	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST) {
		if (is_dir(path))
			return 0;
		return p3err_set(err, "%s: exists and is not a folder", path);
	}
	return p3err_errno(err, "%s: cannot create folder", path);
}

int maildir_create(const char *dir, struct p3err *err)
{
	char path[4096];
	size_t n = strlen(dir);
	static const char *const subs[] = {"cur", "new", "tmp"};

	if (n == 0)
		return p3err_set(err, "empty Maildir path");
	if (n + 5 >= sizeof path)
		return p3err_set(err, "%s: path too long", dir);
	memcpy(path, dir, n + 1);
	/* Like mkdir -p: each parent in turn. */
	for (size_t i = 1; i < n; i++) {
		if (path[i] != '/' || path[i - 1] == '/')
			continue;
		path[i] = '\0';
		if (make_dir(path, err) < 0)
			return -1;
		path[i] = '/';
	}
	if (make_dir(path, err) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
		if (make_dir(path, err) < 0)
			return -1;
	}
	return 0;
}
