/* config.h — the users file: `user:password` one a line, `#` comment lines, blank lines. Secrets are in
 * plaintext because APOP (RFC 1939 §7), CRAM-MD5 (RFC 2195) and SCRAM need the secret itself. */
#ifndef POP3REFD_CONFIG_H
#define POP3REFD_CONFIG_H

#include <stddef.h>
#include "lib/err.h"

/* Longest line accepted in the users file, line end included. Long enough for the 255-octet names and
 * passwords of RFC 4616 §2 (R4616-PLAIN-2). */
#define USERS_MAX_LINE 1024

struct user {
	char *name;     /* a safe path component (users_name_ok), in SASLprep form */
	char *password; /* everything after the first ':', spaces and ':' included; never empty */
	char *prepared; /* the password after SASLprep as a stored string (RFC 4013, RFC 6856 §2.2): what PASS
	                   compares with and APOP digests; the same octets for an ASCII password */
};

/* Longest user name in octets (a path component; 64 UTF-8 characters fit). */
#define USERS_NAME_MAX 255

struct users {
	struct user *list; /* sorted by name for lookup */
	size_t count;
};

/* Load `path` into *u (which must be zeroed or freed). On error fills err with "path:line: message" (or
 * "path: message" for I/O errors) and leaves *u empty. Errors: missing ':', empty or unsafe user name,
 * empty password, duplicate user, line too long, NUL or other control octets; a user name that is not
 * its own SASLprep form, a password that SASLprep refuses as a stored string (invalid UTF-8, a prohibited
 * or unassigned code point: RFC 4013, RFC 3454 §7). A CR before the LF is accepted (files edited on other
 * systems). A file with no users is an error too: the server could not serve anyone. */
int users_load(const char *path, struct users *u, struct p3err *err);

/* Parse a users file already in memory (the same rules; `path` only names it in messages). */
int users_parse(const char *path, const char *text, size_t len, struct users *u, struct p3err *err);

/* The password of `name` (exact, case-sensitive match), or NULL. */
const char *users_password(const struct users *u, const char *name);

/* The entry of `name` (exact match; callers pass a SASLprep-prepared name), or NULL. */
const struct user *users_find(const struct users *u, const char *name);

/* Whether `name` may be a user name, and so a path component (DIR/USER): the ASCII names of
 * maildir_user_name_ok (1-64 of A-Z a-z 0-9 . _ @ + -, not starting with '.'), or a UTF-8 name (RFC 6856
 * §2.2) of 1-64 characters and at most USERS_NAME_MAX octets, its ASCII characters from that same set. */
int users_name_ok(const char *name);

void users_free(struct users *u);

#endif
