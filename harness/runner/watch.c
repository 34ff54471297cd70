/* watch.c — the streak of timed-out scenarios and the one-connection liveness check that follows it. */
#include "runner/watch.h"

#include "lib/conn.h"
#include "lib/limits.h"
#include "lib/tls.h"

void watch_init(struct watch *w, double step_timeout_s)
{
	w->timeout_ms = (long)(step_timeout_s * 1000.0);
	w->streak = 0;
	w->checks = 0;
}

int watch_result(struct watch *w, const struct result *r)
{
	/* A result with no transcript never spoke to the server (skipped for a capability the probe did not
	 * see, a reset that failed): it says nothing either way. */
	if (r->ntranscript == 0)
		return 0;
	/* A verdict that came after waiting at least one whole step timeout: the server may have stopped
	 * answering. A fail, warning or error that came sooner is an answer, and so is a pass or skip. */
	int waited = (r->status == VERDICT_FAIL || r->status == VERDICT_WARN || r->status == VERDICT_ERROR) &&
	             r->duration_ms >= w->timeout_ms;
	if (!waited) {
		w->streak = 0;
		return 0;
	}
	if (++w->streak < WATCH_STREAK)
		return 0;
	w->streak = 0;
	w->checks++;
	return 1;
}

int watch_alive(const struct target *t, int timeout_ms, struct p3err *err)
{
	struct conn *c = NULL;
	int tls = t->port == 0;
	int port = tls ? t->tls_port : t->port;
	enum conn_status st = conn_open(&c, t->host, port, timeout_ms, err);
	if (st != CONN_OK)
		return -1;
	int rc = -1;
	if (tls) {
		/* Liveness, not trust: the scenarios judge the certificate. */
		struct tls_client_opts o = {0};
		SSL_CTX *ctx = tls_client_ctx(&o, err);
		if (!ctx)
			goto out;
		st = conn_start_tls(c, ctx, t->sni, timeout_ms, NULL, err);
		SSL_CTX_free(ctx);
		if (st != CONN_OK) {
			if (st == CONN_TIMEOUT || st == CONN_EOF)
				p3err_set(err, "no TLS handshake within %d ms", timeout_ms);
			goto out;
		}
	}
	const char *line;
	struct line ln;
	st = conn_read_line(c, POP3_MAX_STATUS_LINE, timeout_ms, &line, &ln, err);
	if (st == CONN_TIMEOUT) {
		p3err_set(err, "connected, but no greeting within %d ms", timeout_ms);
		goto out;
	}
	if (st == CONN_EOF) {
		p3err_set(err, "connected, but the server closed without a greeting");
		goto out;
	}
	if (st != CONN_OK && st != CONN_TOO_LONG)
		goto out;
	/* A server that greets and then reads nothing is as mute as one that never greets. QUIT is harmless
	 * in any state and always answered (RFC 1939 §5, §6); a close instead of +OK is still an answer. */
	st = conn_write(c, "QUIT\r\n", 6, timeout_ms, err);
	if (st == CONN_TIMEOUT) {
		p3err_set(err, "greeted, but did not read QUIT within %d ms", timeout_ms);
		goto out;
	}
	if (st == CONN_OK)
		st = conn_read_line(c, POP3_MAX_STATUS_LINE, timeout_ms, &line, &ln, err);
	if (st == CONN_TIMEOUT)
		p3err_set(err, "greeted, but did not answer QUIT within %d ms", timeout_ms);
	else
		rc = 0;
out:
	conn_close(c);
	return rc;
}
