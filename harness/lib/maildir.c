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
static int size_from_file(const char *path, unsigned long long *size, int *header_8bit, int *verbatim,
                          char *buf, struct p3err *err)
{
	struct ml_counter c;
	struct header_scan h = {HS_LINE_START, 0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	unsigned long long bytes = 0;
	int dot_line = 0, at_start = 1;
	char last = '\n';

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
		/* A line starting with '.' would be stuffed (RFC 1939 §3): then the file is not its wire
		 * form. */
		if (!dot_line) {
			const char *p = buf, *end = buf + n, *lf;
			if (at_start && buf[0] == '.')
				dot_line = 1;
			while (!dot_line && (lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
				if (lf + 1 < end && lf[1] == '.')
					dot_line = 1;
				p = lf + 1;
			}
			at_start = buf[n - 1] == '\n';
		}
		bytes += (unsigned long long)n;
		last = buf[n - 1];
	}
	close(fd);
	*size = ml_count_finish(&c);
	*header_8bit = header_result(&h);
	/* Sent as stored only when nothing is added: every line end already CRLF (a bare LF, or a last line
	 * without one, makes the size as sent larger than the file) and no stuffing. */
	*verbatim = !dot_line && *size == bytes && last == '\n';
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

/* FNV-1a: names are looked up once per message; with 100,000 of them a sort and binary search cost more
 * string comparisons than the whole rest of the scan. */
static size_t name_hash(const char *s)
{
	unsigned long long h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

/* R1939-UIDL-5: distinct messages get distinct ids. The same base name in new/ and cur/ is rare but
 * possible, and so are names whose base is unusable in the same way (empty, 8-bit: both MD5'd from the
 * same key); the earliest message (file-name order) keeps the id, each later one takes the MD5 of its
 * path relative to the Maildir. A replacement can itself collide (a file named like that MD5), so it is
 * salted with a round number until it is distinct (fuzz_maildir found three equal ids when a replaced id
 * was not checked again). A hash set: one pass in file-name order, no sort of 100,000 ids; deterministic,
 * so the same files give the same ids in every session. */
static int dedup_uids(struct maildir *md, size_t dirlen)
{
	size_t nslot = 16, *slot;

	if (md->count < 2)
		return 0;
	while (nslot < md->count * 2)
		nslot *= 2;
	slot = calloc(nslot, sizeof *slot);
	if (slot == NULL)
		return -1;
	for (size_t i = 0; i < md->count; i++) {
		struct maildir_msg *m = &md->msgs[i];
		for (unsigned round = 0;; round++) {
			size_t h = name_hash(m->uid) & (nslot - 1);
			while (slot[h] != 0 && strcmp(md->msgs[slot[h] - 1].uid, m->uid) != 0)
				h = (h + 1) & (nslot - 1);
			if (slot[h] == 0) {
				slot[h] = i + 1;
				break;
			}
			if (round == 64) { /* 64 MD5 collisions in a row: not a real maildrop */
				free(slot);
				return -1;
			}
			char hex[DIGEST_MD5_HEX], salt[16] = "";
			if (round > 0)
				snprintf(salt, sizeof salt, "#%u", round);
			apop_digest(m->path + dirlen, salt, hex);
			memcpy(m->uid, hex, sizeof hex);
		}
	}
	free(slot);
	return 0;
}

/* ---- the size cache -------------------------------------------------------------------------------
 * DIR/.pop3refd.sizes, text:
 *   pop3refd-sizes 1
 *   <inode> <length> <ctime s> <ctime ns> <size as sent> <header_8bit> <verbatim> <file name>
 *   ...
 *   end <number of entries>
 * A file name holding a line end is never cached. The last line guards against a file cut short. */

#define CACHE_MAGIC      "pop3refd-sizes 1\n"
#define CACHE_MAX_OCTETS (512u * 1024 * 1024) /* a bigger file is not a cache we wrote: ignored */

/* What identifies one version of a file: Maildir messages never change (a new version is a new file),
 * but a name can come back with other content (a fixture copied again), which gets a new inode or at
 * least a new ctime. */
struct file_key {
	unsigned long long ino, len;
	long long ct_s;
	long ct_ns;
};

struct cache_ent {
	const char *name;
	struct file_key key;
	unsigned long long size;
	int header_8bit, verbatim;
};

struct cache {
	char *text;
	struct cache_ent *e;
	size_t *slot, nslot; /* hash index of e[] by name: entry index + 1, 0 empty (open addressing) */
	size_t n, hits;
	int dirty;             /* a file was read: the cache misses something */
	struct file_key *keys; /* the key of each message of the scan, by index in md->msgs (0: not cached) */
	size_t *ent; /* the entry each message of the scan matched, by index in md->msgs; NO_ENT: none */
	size_t keycap;
};

#define NO_ENT ((size_t)-1)

/* Build the hash index; a failure leaves the cache empty (it is only an optimisation). */
static void cache_index(struct cache *c)
{
	size_t nslot = 16;

	while (nslot < c->n * 2)
		nslot *= 2;
	c->slot = calloc(nslot, sizeof *c->slot);
	if (c->slot == NULL) {
		c->n = 0;
		return;
	}
	c->nslot = nslot;
	for (size_t i = 0; i < c->n; i++) {
		size_t h = name_hash(c->e[i].name) & (nslot - 1);
		while (c->slot[h] != 0)
			h = (h + 1) & (nslot - 1);
		c->slot[h] = i + 1;
	}
}

static void key_of(const struct stat *st, struct file_key *k)
{
	k->ino = (unsigned long long)st->st_ino;
	k->len = (unsigned long long)st->st_size;
	k->ct_s = (long long)st->st_ctim.tv_sec;
	k->ct_ns = st->st_ctim.tv_nsec;
}

static int key_eq(const struct file_key *a, const struct file_key *b)
{
	return a->ino == b->ino && a->len == b->len && a->ct_s == b->ct_s && a->ct_ns == b->ct_ns;
}

/* One decimal number of a cache line followed by a space: 1 to 19 digits (no overflow possible), the
 * position after the space in *end. strtoull's locale and errno handling was 2 % of a 100,000-message
 * login. */
static int cache_number(char *p, char **end, unsigned long long *v)
{
	unsigned long long x = 0;
	int nd = 0;

	while (*p >= '0' && *p <= '9' && nd < 19) {
		x = x * 10 + (unsigned long long)(*p++ - '0');
		nd++;
	}
	if (nd == 0 || *p != ' ')
		return -1;
	*v = x;
	*end = p + 1;
	return 0;
}

/* Parse one entry line (NUL-terminated, without its LF). */
static int cache_parse_line(char *line, struct cache_ent *e)
{
	char *p = line;
	unsigned long long v[7];

	for (int i = 0; i < 7; i++)
		if (cache_number(p, &p, &v[i]) < 0)
			return -1;
	if (*p == '\0' || v[3] > 999999999ull || v[5] > MAILDIR_HEADER_8BIT ||
	    v[5] == MAILDIR_HEADER_UNKNOWN || v[6] > 1 || v[2] > (unsigned long long)LLONG_MAX)
		return -1;
	e->key.ino = v[0];
	e->key.len = v[1];
	e->key.ct_s = (long long)v[2];
	e->key.ct_ns = (long)v[3];
	e->size = v[4];
	e->header_8bit = (int)v[5];
	e->verbatim = (int)v[6];
	e->name = p;
	return 0;
}

/* Load DIR/.pop3refd.sizes; anything unreadable or malformed leaves the cache empty. */
static void cache_load(struct cache *c, const char *dir)
{
	char path[4096];
	struct stat st;
	size_t len = 0, cap = 0, count = 0;
	int fd;

	memset(c, 0, sizeof *c);
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, MAILDIR_CACHE_NAME) >= sizeof path)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (unsigned long long)st.st_size > CACHE_MAX_OCTETS ||
	    (c->text = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, c->text + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	c->text[len] = '\0';
	if (len < sizeof CACHE_MAGIC - 1 || memcmp(c->text, CACHE_MAGIC, sizeof CACHE_MAGIC - 1) != 0 ||
	    c->text[len - 1] != '\n')
		goto bad;
	for (char *line = c->text + sizeof CACHE_MAGIC - 1; *line;) {
		char *lf = strchr(line, '\n');
		*lf = '\0';
		if (strncmp(line, "end ", 4) == 0) {
			char *q;
			errno = 0;
			unsigned long long want = strtoull(line + 4, &q, 10);
			if (errno != 0 || *q != '\0' || want != count || lf[1] != '\0')
				goto bad;
			c->n = count;
			cache_index(c);
			return;
		}
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct cache_ent *ne = realloc(c->e, ncap * sizeof *ne);
			if (ne == NULL)
				goto bad;
			c->e = ne;
			cap = ncap;
		}
		if (cache_parse_line(line, &c->e[count]) < 0)
			goto bad;
		count++;
		line = lf + 1;
	}
bad: /* no "end" line, or a malformed one: not a cache we completed */
	free(c->e);
	free(c->text);
	memset(c, 0, sizeof *c);
}

static void cache_free(struct cache *c)
{
	free(c->e);
	free(c->text);
	free(c->keys);
	free(c->ent);
	free(c->slot);
	memset(c, 0, sizeof *c);
}

/* The index of name's entry with key k, or NO_ENT. */
static size_t cache_find(const struct cache *c, const char *name, const struct file_key *k)
{
	if (c->n == 0)
		return NO_ENT;
	/* A name may be listed twice (the same name in new/ and cur/): the key decides which entry is this
	 * file's. */
	for (size_t h = name_hash(name) & (c->nslot - 1); c->slot[h] != 0; h = (h + 1) & (c->nslot - 1)) {
		const struct cache_ent *e = &c->e[c->slot[h] - 1];
		if (strcmp(e->name, name) == 0 && key_eq(&e->key, k))
			return c->slot[h] - 1;
	}
	return NO_ENT;
}

/* Remember message i's key and the entry it matched (parallel to md->msgs; scan() reorders them with it). */
static int cache_keep_key(struct cache *c, size_t i, const struct stat *st, size_t ent)
{
	if (i >= c->keycap) {
		size_t ncap = c->keycap ? c->keycap * 2 : 64;
		struct file_key *nk = realloc(c->keys, ncap * sizeof *nk);
		if (nk == NULL)
			return -1;
		c->keys = nk;
		size_t *ne = realloc(c->ent, ncap * sizeof *ne);
		if (ne == NULL)
			return -1;
		c->ent = ne;
		c->keycap = ncap;
	}
	key_of(st, &c->keys[i]);
	c->ent[i] = ent;
	return 0;
}

/* Write the cache for md's messages (in file-name order, so the next scan can take its order from the
 * cache instead of sorting: scan()) when it changed: a new file, renamed over the old one. Best effort: a
 * failure leaves at worst no cache. */
static void cache_store(struct cache *c, const char *dir, const struct maildir *md)
{
	char path[4096], tmp[4096];
	size_t count = 0;
	FILE *f;
	int fd, ok;

	if (!c->dirty && c->hits == c->n)
		return; /* every entry was used, none missing */
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, MAILDIR_CACHE_NAME) >= sizeof path ||
	    (size_t)snprintf(tmp, sizeof tmp, "%s/%s.%ld.tmp", dir, MAILDIR_CACHE_NAME, (long)getpid()) >=
	        sizeof tmp)
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(tmp);
		return;
	}
	fputs(CACHE_MAGIC, f);
	for (size_t i = 0; i < md->count; i++) {
		const struct maildir_msg *m = &md->msgs[i];
		const struct file_key *k = &c->keys[i];
		if (k->ino == 0 && k->len == 0 && k->ct_s == 0)
			continue; /* sized by its ",W=" name: nothing learnt */
		if (strchr(m->name, '\n') != NULL || m->header_8bit == MAILDIR_HEADER_UNKNOWN)
			continue;
		fprintf(f, "%llu %llu %lld %ld %llu %d %d %s\n", k->ino, k->len, k->ct_s, k->ct_ns, m->size,
		        m->header_8bit, m->verbatim, m->name);
		count++;
	}
	fprintf(f, "end %zu\n", count);
	ok = fflush(f) == 0 && !ferror(f);
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

/* Every message's path during a scan: one growing block of "DIR/SUB/NAME\0" strings (offsets, as the block
 * moves while it grows), made one exact allocation at the end (md->paths). One malloc and one free per
 * scan instead of one of each per message: 100,000 of them were 5 % of a login. */
struct paths {
	char *text;
	size_t len, cap;
	size_t *off; /* off[i]: where message i's path starts, parallel to md->msgs */
	size_t offcap;
};

/* Append "PREFIX/NAME" for message i; returns its offset, or (size_t)-1 when out of memory. */
static size_t paths_add(struct paths *p, size_t i, const char *prefix, size_t plen, const char *name)
{
	size_t nlen = strlen(name), need = plen + 1 + nlen + 1, at = p->len;

	if (p->len + need > p->cap) {
		size_t ncap = p->cap ? p->cap : 512;
		while (p->len + need > ncap)
			ncap *= 2;
		char *nt = realloc(p->text, ncap);
		if (nt == NULL)
			return (size_t)-1;
		p->text = nt;
		p->cap = ncap;
	}
	if (i >= p->offcap) {
		size_t ncap = p->offcap ? p->offcap * 2 : 64;
		size_t *no = realloc(p->off, ncap * sizeof *no);
		if (no == NULL)
			return (size_t)-1;
		p->off = no;
		p->offcap = ncap;
	}
	memcpy(p->text + at, prefix, plen);
	p->text[at + plen] = '/';
	memcpy(p->text + at + plen + 1, name, nlen + 1);
	p->len += need;
	p->off[i] = at;
	return at;
}

/* Read the folder open as d (closed here). Files are looked at relative to it, so each costs no walk of
 * the whole path; a file whose name carries its size (",W=") and whose directory entry says it is a
 * regular file is not looked at at all. */
static int add_dir(struct maildir *md, size_t *cap, struct paths *pb, const char *dir, const char *sub,
                   DIR *d, char *buf, struct cache *cache, struct p3err *err)
{
	char path[4096];
	struct dirent *de;
	size_t plen;
	int rc = 0;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, sub) >= sizeof path) {
		closedir(d);
		return p3err_set(err, "%s/%s: path too long", dir, sub);
	}
	plen = strlen(path);
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct maildir_msg m;
		struct stat st;
		size_t at, ent = NO_ENT;
		char *mpath, *mname;
		int r, named;

		if (de->d_name[0] == '.')
			continue; /* ".", ".." and hidden files are never messages */
		memset(&m, 0, sizeof m);
		named = size_from_name(de->d_name, &m.size);
		if (!named || de->d_type != DT_REG) {
			/* Symbolic links (followed), file systems without d_type, and every file whose size
			 * must be learnt (the cache's key) are looked at. */
			if (fstatat(dirfd(d), de->d_name, &st, 0) < 0) {
				if (errno == ENOENT)
					continue; /* removed meanwhile, or a dangling link */
				rc = p3err_errno(err, "%s/%s: cannot stat message", path, de->d_name);
				break;
			}
			if (!S_ISREG(st.st_mode))
				continue;
		}
		at = paths_add(pb, md->count, path, plen, de->d_name);
		if (at == (size_t)-1) {
			rc = p3err_set(err, "%s: out of memory", path);
			break;
		}
		mpath = pb->text + at; /* valid until the next paths_add */
		mname = mpath + plen + 1;
		if (!named) {
			struct file_key k;
			if (cache) {
				key_of(&st, &k);
				ent = cache_find(cache, mname, &k);
			}
			if (cache && ent != NO_ENT) {
				const struct cache_ent *e = &cache->e[ent];
				m.size = e->size;
				m.header_8bit = e->header_8bit;
				m.verbatim = e->verbatim;
				cache->hits++;
			} else {
				r = size_from_file(mpath, &m.size, &m.header_8bit, &m.verbatim, buf, err);
				if (r != 0) {
					pb->len = at; /* not a message after all */
					if (r > 0)
						continue;
					rc = -1;
					break;
				}
				if (cache)
					cache->dirty = 1;
			}
		} else {
			memset(&st, 0, sizeof st); /* a ",W=" name: no entry */
		}
		if (cache && cache_keep_key(cache, md->count, &st, ent) < 0) {
			rc = p3err_set(err, "%s: out of memory", path);
			break;
		}
		set_uid(&m, mname, base_len(mname));
		if (md->count == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			struct maildir_msg *nm = realloc(md->msgs, ncap * sizeof *nm);
			if (nm == NULL) {
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

static int by_index(const void *a, const void *b, void *msgs)
{
	const struct maildir_msg *m = msgs;

	return by_name(&m[*(const size_t *)a], &m[*(const size_t *)b]);
}

static void sort_order(const struct maildir *md, size_t *order)
{
	for (size_t i = 0; i < md->count; i++)
		order[i] = i;
	qsort_r(order, md->count, sizeof *order, by_index, md->msgs);
}

/* Fill order[] with the messages' indices in file-name order. When every message matched a distinct
 * entry of a cache that lists exactly these files, the cache's order (it is written sorted) is taken and
 * checked with one comparison per neighbour, instead of sorting 100,000 names (1.7 million strcmp, the
 * biggest user-space cost of a login); otherwise, or when the check fails, a sort. Returns 1 when the
 * cache's order was not file-name order (the cache is then rewritten sorted). */
static int file_name_order(const struct maildir *md, const struct cache *cache, size_t *order)
{
	int from_cache = cache && cache->n == md->count && cache->hits == md->count && md->count > 1;
	size_t n = md->count;

	if (from_cache) {
		for (size_t i = 0; i < n; i++)
			order[i] = NO_ENT;
		for (size_t i = 0; i < n && from_cache; i++) {
			size_t e = cache->ent[i];
			if (e >= n || order[e] != NO_ENT)
				from_cache = 0; /* one file matched no entry, or two the same (hard links) */
			else
				order[e] = i;
		}
		if (from_cache) {
			for (size_t k = 1; k < n; k++) {
				if (by_name(&md->msgs[order[k - 1]], &md->msgs[order[k]]) >= 0) {
					sort_order(md, order); /* a cache written in another order */
					return 1;
				}
			}
			return 0;
		}
	}
	sort_order(md, order);
	return 0;
}

static int scan(const char *dir, struct maildir *md, struct cache *cache, struct p3err *err)
{
	char path[4096];
	size_t cap = 0, *order = NULL;
	struct paths pb = {0};
	struct maildir_msg *sorted = NULL;
	struct file_key *skeys = NULL;
	char *buf;
	static const char *const subs[] = {"cur", "new"};
	DIR *ds[2] = {NULL, NULL};
	int rc;

	memset(md, 0, sizeof *md);
	for (size_t i = 0; i < 2; i++) {
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, subs[i]) >= sizeof path)
			rc = p3err_set(err, "%s: path too long", dir);
		else if ((ds[i] = opendir(path)) != NULL)
			continue;
		else if (errno == ENOENT || errno == ENOTDIR)
			rc = p3err_set(err, "%s: not a Maildir (no %s/ folder)", dir, subs[i]);
		else
			rc = p3err_errno(err, "%s: cannot open folder", path);
		if (i > 0)
			closedir(ds[0]);
		return rc;
	}
	buf = malloc(READ_CHUNK);
	if (buf == NULL) {
		closedir(ds[0]);
		closedir(ds[1]);
		return p3err_set(err, "%s: out of memory", dir);
	}
	/* tmp/ holds deliveries in progress (the Maildir protocol): never messages yet. */
	rc = add_dir(md, &cap, &pb, dir, "new", ds[1], buf, cache, err);
	if (rc == 0)
		rc = add_dir(md, &cap, &pb, dir, "cur", ds[0], buf, cache, err);
	else
		closedir(ds[0]);
	free(buf);
	if (rc < 0)
		goto fail;
	if (md->count > 0) {
		/* The paths in one exact block; then the messages (and the cache's keys) in file-name order,
		 * in arrays of their exact size: the snapshot lives as long as the session. */
		char *t = realloc(pb.text, pb.len);
		if (t != NULL)
			pb.text = t;
		md->paths = pb.text;
		pb.text = NULL;
		for (size_t i = 0; i < md->count; i++) {
			md->msgs[i].path = md->paths + pb.off[i];
			md->msgs[i].name = strrchr(md->msgs[i].path, '/') + 1;
		}
		order = malloc(md->count * sizeof *order);
		sorted = malloc(md->count * sizeof *sorted);
		if (cache)
			skeys = malloc(md->count * sizeof *skeys);
		if (order == NULL || sorted == NULL || (cache && skeys == NULL)) {
			rc = p3err_set(err, "%s: out of memory", dir);
			goto fail;
		}
		if (file_name_order(md, cache, order) && cache)
			cache->dirty = 1;
		for (size_t k = 0; k < md->count; k++) {
			sorted[k] = md->msgs[order[k]];
			if (cache)
				skeys[k] = cache->keys[order[k]];
		}
		free(md->msgs);
		md->msgs = sorted;
		sorted = NULL;
		if (cache) {
			free(cache->keys);
			cache->keys = skeys;
			skeys = NULL;
		}
	}
	if (cache)
		cache_store(cache, dir, md);
	if (dedup_uids(md, strlen(dir) + 1) < 0) {
		rc = p3err_set(err, "%s: out of memory", dir);
		goto fail;
	}
	for (size_t i = 0; i < md->count; i++)
		md->total += md->msgs[i].size;
	free(order);
	free(pb.text); /* NULL unless no path was kept */
	free(pb.off);
	return 0;
fail:
	free(order);
	free(sorted);
	free(skeys);
	free(pb.text);
	free(pb.off);
	maildir_free(md);
	return -1;
}

int maildir_scan(const char *dir, struct maildir *md, struct p3err *err)
{
	return scan(dir, md, NULL, err);
}

int maildir_scan_cached(const char *dir, struct maildir *md, struct p3err *err)
{
	struct cache c;
	int rc;

	cache_load(&c, dir);
	rc = scan(dir, md, &c, err);
	cache_free(&c);
	return rc;
}

void maildir_free(struct maildir *md)
{
	if (md == NULL)
		return;
	free(md->paths); /* every path (and name) points into it */
	free(md->msgs);
	md->msgs = NULL;
	md->paths = NULL;
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
