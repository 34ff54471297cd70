/* config.c — loading and looking up the users file. */
#include "server/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/maildir.h"
#include "server/utf8.h"

/* The whole file is read at once: it is small, and errors need line numbers. Refuse absurd sizes. */
#define USERS_MAX_FILE (16 * 1024 * 1024)

static int cmp_user(const void *a, const void *b)
{
	return strcmp(((const struct user *)a)->name, ((const struct user *)b)->name);
}

static int add_user(struct users *u, size_t *cap, const char *name, size_t nlen, const char *pw, size_t plen,
                    const char *prepared)
{
	if (u->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct user *nl = realloc(u->list, ncap * sizeof *nl);
		if (!nl)
			return -1;
		u->list = nl;
		*cap = ncap;
	}
	struct user *e = &u->list[u->count];
	e->name = strndup(name, nlen);
	e->password = strndup(pw, plen);
	e->prepared = strdup(prepared);
	if (!e->name || !e->password || !e->prepared) {
		free(e->name);
		free(e->password);
		free(e->prepared);
		return -1;
	}
	u->count++;
	return 0;
}

/* Check one non-comment line; on success add it. */
static int parse_line(const char *path, unsigned long lineno, const char *s, size_t len, struct users *u,
                      size_t *cap, struct p3err *err)
{
	const char *colon = memchr(s, ':', len);
	char name[USERS_MAX_LINE], secret[USERS_MAX_LINE];
	/* NFKC may lengthen a string (RFC 4013 §2.2); four times is more than any real secret grows. */
	static char prepared[4 * USERS_MAX_LINE];
	enum cred_status st;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return p3err_set(err, "%s:%lu: control character (0x%02x) in line", path, lineno, c);
	}
	if (!colon)
		return p3err_set(err, "%s:%lu: expected user:password, found no ':'", path, lineno);
	size_t nlen = (size_t)(colon - s);
	size_t plen = len - nlen - 1;
	if (nlen == 0)
		return p3err_set(err, "%s:%lu: empty user name", path, lineno);
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	/* The name becomes a path component (DIR/USER): only a safe set of characters. */
	if (!users_name_ok(name))
		return p3err_set(
		    err,
		    "%s:%lu: user name '%s' is not allowed (1-64 of A-Z a-z 0-9 . _ @ + - or UTF-8 "
		    "characters, not starting with '.')",
		    path, lineno, name);
	/* RFC 6856 §2.2: clients' names are prepared with SASLprep before lookup, so a stored name must be
	 * its own prepared form to be found at all. */
	if (utf8_has_8bit(name)) {
		st = cred_prepare(name, CRED_STORED, prepared, sizeof prepared);
		if (st != CRED_OK)
			return p3err_set(err, "%s:%lu: user name '%s' %s (SASLprep, RFC 4013)", path, lineno,
			                 name, cred_status_text(st));
		if (strcmp(prepared, name) != 0)
			return p3err_set(err,
			                 "%s:%lu: user name '%s' is not in SASLprep form; write it as '%s'",
			                 path, lineno, name, prepared);
	}
	if (plen == 0)
		return p3err_set(err, "%s:%lu: empty password for user '%s'", path, lineno, name);
	/* The secret as SASLprep prepares a stored string (RFC 6856 §2.2: APOP digests it; PASS compares with
	 * it). An ASCII secret is unchanged. */
	memcpy(secret, colon + 1, plen);
	secret[plen] = '\0';
	st = cred_prepare(secret, CRED_STORED, prepared, sizeof prepared);
	if (st != CRED_OK)
		return p3err_set(
		    err, "%s:%lu: the password of user '%s' %s (SASLprep of a stored string, RFC 4013)", path,
		    lineno, name, cred_status_text(st));
	if (prepared[0] == '\0')
		return p3err_set(err, "%s:%lu: the password of user '%s' is empty once prepared by SASLprep",
		                 path, lineno, name);
	for (size_t i = 0; i < u->count; i++)
		if (strcmp(u->list[i].name, name) == 0)
			return p3err_set(err, "%s:%lu: user '%s' listed twice", path, lineno, name);
	if (add_user(u, cap, s, nlen, colon + 1, plen, prepared) < 0)
		return p3err_set(err, "%s:%lu: out of memory", path, lineno);
	return 0;
}

int users_parse(const char *path, const char *text, size_t len, struct users *u, struct p3err *err)
{
	size_t cap = 0, pos = 0;
	unsigned long lineno = 0;

	u->list = NULL;
	u->count = 0;
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos;
		size_t adv = nl ? l + 1 : l;

		lineno++;
		if (adv > USERS_MAX_LINE) {
			p3err_set(err, "%s:%lu: line longer than %d octets", path, lineno, USERS_MAX_LINE);
			goto fail;
		}
		if (memchr(s, '\0', l)) {
			p3err_set(err, "%s:%lu: NUL octet in line", path, lineno);
			goto fail;
		}
		if (l > 0 && s[l - 1] == '\r')
			l--;
		pos += adv;
		size_t i = 0;
		while (i < l && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == l || s[i] == '#')
			continue; /* blank or comment */
		if (parse_line(path, lineno, s, l, u, &cap, err) < 0)
			goto fail;
	}
	if (u->count == 0) {
		p3err_set(err, "%s: no users defined", path);
		goto fail;
	}
	qsort(u->list, u->count, sizeof *u->list, cmp_user);
	return 0;
fail:
	users_free(u);
	return -1;
}

int users_load(const char *path, struct users *u, struct p3err *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	u->list = NULL;
	u->count = 0;
	if (!f)
		return p3err_errno(err, "%s: cannot open users file", path);
	if (fstat(fileno(f), &st) < 0) {
		p3err_errno(err, "%s: cannot stat users file", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		p3err_set(err, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > USERS_MAX_FILE) {
		p3err_set(err, "%s: file larger than %d octets", path, USERS_MAX_FILE);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		p3err_set(err, "%s: out of memory", path);
		goto out;
	}
	len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		p3err_errno(err, "%s: cannot read users file", path);
		goto out;
	}
	rc = users_parse(path, buf, len, u, err);
out:
	free(buf);
	fclose(f);
	return rc;
}

const struct user *users_find(const struct users *u, const char *name)
{
	struct user key = {.name = (char *)name};

	if (!u->list)
		return NULL;
	return bsearch(&key, u->list, u->count, sizeof *u->list, cmp_user);
}

const char *users_password(const struct users *u, const char *name)
{
	const struct user *e = users_find(u, name);

	return e ? e->password : NULL;
}

int users_name_ok(const char *name)
{
	size_t n = strlen(name), chars = 0;

	if (maildir_user_name_ok(name))
		return 1;
	if (n == 0 || n > USERS_NAME_MAX || name[0] == '.' || !utf8_valid(name, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		char one[2] = {(char)c, '\0'};
		if (c < 0x80 && !maildir_user_name_ok(one) && c != '.')
			return 0; /* '/', spaces, controls: never in a path component */
		if (c < 0x80 || c >= 0xC0)
			chars++; /* ASCII or a lead octet: one character */
	}
	return chars <= 64;
}

void users_free(struct users *u)
{
	for (size_t i = 0; i < u->count; i++) {
		free(u->list[i].name);
		free(u->list[i].password);
		free(u->list[i].prepared);
	}
	free(u->list);
	u->list = NULL;
	u->count = 0;
}
