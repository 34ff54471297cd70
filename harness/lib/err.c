/* err.c — errors as values: formatting messages into a caller-owned struct p3err. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include "lib/err.h"

static size_t vformat(struct p3err *err, const char *fmt, va_list ap)
{
	err->errnum = 0;
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	if (n < 0) {
		err->msg[0] = '\0';
		return 0;
	}
	return (size_t)n < sizeof err->msg ? (size_t)n : sizeof err->msg - 1;
}

/* Append text after the first `len` octets, cutting at the buffer's end. */
static void append(struct p3err *err, size_t len, const char *text)
{
	if (len < sizeof err->msg - 1)
		snprintf(err->msg + len, sizeof err->msg - len, "%s", text);
}

/* The message, and the errno behind it (0: none). */
static int vset(struct p3err *err, int errnum, const char *fmt, va_list ap)
{
	if (err == NULL)
		return -1;
	vformat(err, fmt, ap);
	err->errnum = errnum;
	return -1;
}

int p3err_set(struct p3err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(err, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int p3err_errno(struct p3err *err, const char *fmt, ...)
{
	int saved = errno; /* vsnprintf may change errno */
	va_list ap;
	size_t len;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	len = vformat(err, fmt, ap);
	va_end(ap);
	append(err, len, ": ");
	append(err, strlen(err->msg), strerror(saved));
	err->errnum = saved;
	errno = saved;
	return -1;
}

int p3err_cause(struct p3err *err, const struct p3err *cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(err, cause ? cause->errnum : 0, fmt, ap);
	va_end(ap);
	return -1;
}

int p3err_ssl(struct p3err *err, const char *fmt, ...)
{
	va_list ap;
	size_t len;
	unsigned long e;
	int first = 1;
	char buf[256];

	if (err == NULL) {
		ERR_clear_error();
		return -1;
	}
	va_start(ap, fmt);
	len = vformat(err, fmt, ap);
	va_end(ap);
	/* Oldest error first: it is usually the cause, the later ones its consequences. */
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		append(err, len, first ? ": " : "; ");
		len = strlen(err->msg);
		append(err, len, buf);
		len = strlen(err->msg);
		first = 0;
	}
	if (first)
		append(err, len, ": (no OpenSSL error reported)");
	return -1;
}
