/* err.h — errors as values: a caller-owned buffer that a failing function fills with a message. */
#ifndef POP3_ERR_H
#define POP3_ERR_H

#include <stddef.h>

#define P3ERR_MAX 512

struct p3err {
	char msg[P3ERR_MAX];
	int errnum; /* the errno behind the message (p3err_errno, p3err_cause), 0 when none: callers decide on
	             * it, never on the message's words (a strerror text is the C library's, not ours) */
};

/* Format a message into err (if err is not NULL). Always returns -1, so `return p3err_set(...)` works. */
int p3err_set(struct p3err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As p3err_set, appending ": strerror(errno)". */
int p3err_errno(struct p3err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As p3err_set, appending the OpenSSL error queue (which it empties). */
int p3err_ssl(struct p3err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As p3err_set, keeping the errno of `cause` (an error this one wraps: its message is usually in fmt). */
int p3err_cause(struct p3err *err, const struct p3err *cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
