/* values.h — the scenario language's values: a variable store and ${...} interpolation with the computed
 * functions of docs/scenario-language.md (apop, plain, cram_md5, base64, ...). Values are octet strings
 * (they may hold NUL) and always carry a terminating NUL beyond their length for convenience. */
#ifndef POP3SPEC_VALUES_H
#define POP3SPEC_VALUES_H

#include <stddef.h>
#include "lib/err.h"

/* No computed value may grow beyond this (repeat('a', 1e9) is an error, not an allocation). */
#define VALUE_MAX (16u * 1024 * 1024)
/* Nested calls deeper than this are an error (a hostile scenario cannot blow the stack). */
#define VALUE_MAX_DEPTH 32

struct var {
	char *name;
	char *val; /* NUL-terminated copy; len octets are the value */
	size_t len;
};

struct vars {
	struct var *v;
	size_t n, cap;
};

void vars_init(struct vars *vs);
void vars_free(struct vars *vs);
/* Set (or replace) a variable; the value is copied. -1 only when out of memory. */
int vars_set(struct vars *vs, const char *name, const char *val, size_t len);
int vars_set_str(struct vars *vs, const char *name, const char *val);
int vars_set_long(struct vars *vs, const char *name, long long val);
/* The variable or NULL. */
const struct var *vars_get(const struct vars *vs, const char *name);

/* Interpolate src[0..len): every ${expr} is replaced by its value, $${ is a literal ${. On success *out
 * is a malloc'd, NUL-terminated string of *outlen octets. Errors name the expression:
 * "${apop(timestamp)}: apop() takes 2 arguments". */
int values_interp(const struct vars *vs, const char *src, size_t len, char **out, size_t *outlen,
                  struct p3err *err);

/* Evaluate one bare expression (what goes between ${ and }). Same ownership as values_interp. */
int values_eval(const struct vars *vs, const char *expr, size_t len, char **out, size_t *outlen,
                struct p3err *err);

/* Parse a whole decimal integer (optional sign, no junk, no overflow). 0 on success. */
int values_parse_int(const char *s, size_t len, long long *out);

/* Compare two decimal integers of any length (optional sign, leading zeros allowed): *cmp is -1, 0 or 1
 * as a < b, a == b, a > b. `infinite` (may be NULL) names a word, matched case-insensitively, that is
 * greater than every integer and equal to itself: "NEVER" for RFC 2449 §6.7 EXPIRE. -1 when a value is
 * neither an integer nor that word. For assert le/ge/lt/gt. */
int values_cmp_int(const char *a, size_t alen, const char *b, size_t blen, const char *infinite, int *cmp);

#endif
