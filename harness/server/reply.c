/* reply.c — results of command handlers, and their formatting as POP3 status lines. */
#include "server/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void res_clear(struct result *r)
{
	memset(r, 0, sizeof *r);
	r->status = RES_NONE;
}

static void set_text(struct result *r, const char *fmt, va_list ap)
{
	vsnprintf(r->text, sizeof r->text, fmt, ap);
	/* Text may carry client-supplied words (a mechanism name); a status line is one printable line. */
	for (char *p = r->text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

void res_ok(struct result *r, const char *fmt, ...)
{
	va_list ap;

	r->status = RES_OK;
	r->code = CODE_NONE;
	va_start(ap, fmt);
	set_text(r, fmt, ap);
	va_end(ap);
}

void res_err(struct result *r, enum res_code code, const char *fmt, ...)
{
	va_list ap;

	r->status = RES_ERR;
	r->code = code;
	r->multiline = 0;
	va_start(ap, fmt);
	set_text(r, fmt, ap);
	va_end(ap);
}

int res_cont(struct result *r, const char *b64, size_t len)
{
	if (len >= sizeof r->text) {
		res_err(r, CODE_SYS_TEMP, "challenge too long");
		return -1;
	}
	r->status = RES_CONT;
	r->code = CODE_NONE;
	memcpy(r->text, b64, len);
	r->text[len] = '\0';
	return 0;
}

const char *res_code_name(enum res_code code)
{
	switch (code) {
	case CODE_IN_USE:
		return "IN-USE";
	case CODE_LOGIN_DELAY:
		return "LOGIN-DELAY";
	case CODE_SYS_TEMP:
		return "SYS/TEMP";
	case CODE_SYS_PERM:
		return "SYS/PERM";
	case CODE_AUTH:
		return "AUTH";
	case CODE_UTF8:
		return "UTF8";
	case CODE_NONE:
		break;
	}
	return NULL;
}

size_t reply_format(const struct result *r, char *buf, size_t size)
{
	const char *code = res_code_name(r->code);
	size_t limit, n;
	int w;

	if (r->status == RES_NONE || size < 3)
		return 0;
	if (r->status == RES_CONT) {
		/* RFC 5034 §4: "+" SP base64 CRLF, and nothing else. */
		w = snprintf(buf, size, "+ %s\r\n", r->text);
		if (w < 0 || (size_t)w >= size)
			return 0;
		return (size_t)w;
	}
	limit = size < POP3_MAX_STATUS_LINE + 1 ? size - 1 : POP3_MAX_STATUS_LINE;
	/* Build without CRLF in at most limit-2 octets, then end the line: a long text is cut, never the
	 * CRLF. */
	char line[POP3_MAX_STATUS_LINE + 1];
	const char *ind = r->status == RES_OK ? "+OK" : "-ERR";

	if (code && r->text[0])
		w = snprintf(line, sizeof line, "%s [%s] %s", ind, code, r->text);
	else if (code)
		w = snprintf(line, sizeof line, "%s [%s]", ind, code);
	else if (r->text[0])
		w = snprintf(line, sizeof line, "%s %s", ind, r->text);
	else
		w = snprintf(line, sizeof line, "%s", ind);
	n = w < 0 ? 0 : (size_t)w;
	if (n > limit - 2)
		n = limit - 2;
	memcpy(buf, line, n);
	buf[n++] = '\r';
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}
