/* exec_wire.c — what every step file shares (exec_steps.h): a step's session, its first expectation and
 * deadline, and writing octets and command lines (a command waits for other sessions that QUIT to close;
 * AUTH opens an exchange where "+ " lines are allowed). Below every step file; calls none of them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner/exec/exec_steps.h"
#include "runner/exec/exec_int.h"

const struct expect step_want_ok = {.status = WANT_OK, .closes = -1, .handshake = -1, .level = -1};

const struct expect *step_first_expect(const struct step *st)
{
	return st->n_expect ? &st->expect[0] : NULL;
}

long long step_deadline(struct xctx *x)
{
	return xc_now_ms() + (long long)(x->timeout * 1000);
}

/* The step's session, which must be connected. */
struct xsession *step_session(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = xs_get(x, st->session, 0);
	if (s && s->c)
		return s;
	if (s && s->eof) {
		out_set(out, OUT_EXPECT, NULL, "an open connection", "the server had closed the connection");
		out->level = (int)x->sc->level;
		out->desync = 1;
	} else {
		out_set(out, OUT_ERROR, NULL, NULL, "scenario error: session '%s' is not connected",
		        st->session ? st->session : "main");
	}
	return NULL;
}

/* Write and note a failure as a broken connection. */
int step_send_bytes(struct xctx *x, struct xsession *s, const char *data, size_t len, struct outcome *out)
{
	struct p3err err = {0};
	enum conn_status st = xs_write(x, s, data, len, step_deadline(x), &err);
	if (st == CONN_OK)
		return 0;
	out_set(out, OUT_EXPECT, NULL, "the server to take the command",
	        st == CONN_TIMEOUT ? "the server stopped reading (write timed out)" : "could not send: %s",
	        err.msg);
	out->level = (int)x->sc->level;
	out->desync = 1;
	s->eof = 1;
	xs_close(x, s, 0, "the connection broke while sending");
	return -1;
}

/* A command line: the text and CRLF; an AUTH command opens an exchange where "+ " lines are allowed. */
int step_send_command(struct xctx *x, struct xsession *s, const char *cmd, size_t len, struct outcome *out)
{
	char *buf = malloc(len + 3);
	if (buf == NULL)
		return out_set(out, OUT_ERROR, NULL, NULL, "out of memory");
	memcpy(buf, cmd, len);
	memcpy(buf + len, "\r\n", 3);
	static const char *const logins[] = {"USER", "PASS", "APOP", "AUTH"};
	int login = 0;
	for (size_t i = 0; i < 4 && !s->in_auth; i++)
		if (len >= 4 && strncasecmp(cmd, logins[i], 4) == 0 && (len == 4 || cmd[4] == ' '))
			login = 1;
	/* A session that QUIT has done its UPDATE and released its lock by its close: wait for that first,
	 * before a login and before any other session's command, so what that command sees never depends
	 * on how fast the server's process ends after its +OK (a verdict must not depend on timing or -j). */
	if (!s->in_auth)
		xs_await_quits(x, login ? NULL : s);
	if (len >= 4 && strncasecmp(cmd, "AUTH", 4) == 0 && (len == 4 || cmd[4] == ' '))
		s->in_auth = 1;
	int rc = step_send_bytes(x, s, buf, len + 2, out);
	free(buf);
	return rc;
}

int step_cmdf(struct xctx *x, struct xsession *s, struct outcome *out, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		return out_set(out, OUT_ERROR, NULL, NULL, "command too long");
	return step_send_command(x, s, buf, (size_t)n, out);
}
