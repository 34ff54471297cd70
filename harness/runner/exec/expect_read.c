/* expect_read.c — reading one response from a session for the judge (expect_judge.h): the first line with
 * the checks on every response, a multi-line body line by line (un-stuffed, bounded, never held whole),
 * the server's close or silence after it, and what each read leaves in the context (last.*, the
 * transcript). */
#include "runner/exec/expect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/line.h"
#include "lib/multiline.h"
#include "runner/exec/expect_judge.h"

/* close_notify is judged only on TLS sessions; a session the server already closed is judged as usual
 * (it fails for having closed). */
static int conn_is_tls_or_closed(const struct xsession *s)
{
	return s->c == NULL || conn_is_tls(s->c);
}

/* ---- reading ----------------------------------------------------------------------------------------- */

static void set_last(struct xctx *x, const char *line, size_t len, enum status_kind kind)
{
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return;
	memcpy(copy, line, len);
	copy[len] = '\0';
	free(x->last_line);
	x->last_line = copy;
	x->last_len = len;
	vars_set_str(&x->vars, "last.status",
	             kind == STATUS_OK     ? "+OK"
	             : kind == STATUS_ERR  ? "-ERR"
	             : kind == STATUS_CONT ? "+"
	                                   : "");
	vars_set(&x->vars, "last.line", line, len);
}

/* The server closed s: note it (for TLS, whether close_notify came first, RFC 8314 §3.4) and close our
 * side. Returns conn_tls_clean_shutdown: 1 close_notify came, 0 a bare TCP close of a TLS session, -1 not
 * TLS. */
static int closed_by_server(struct xctx *x, struct xsession *s, const char *what)
{
	int clean = conn_tls_clean_shutdown(s->c);
	s->eof = 1;
	if (clean < 0)
		xtr_note(&x->tr, s->name, "%s", what);
	else
		xtr_note(&x->tr, s->name, "%s (%s)", what,
		         clean ? "TLS close_notify first" : "TCP closed without a TLS close_notify");
	xs_close(x, s, 0, NULL);
	return clean;
}

/* Read the first line with the checks; OUT_PASS with *kind, or the reason it could not be read. When the
 * server closes instead and accept_close is set, *clean says how (closed_by_server). */
static void read_first(struct xctx *x, struct xsession *s, long long deadline, double timeout,
                       int accept_close, enum status_kind *kind, const char *expected, int *clean,
                       struct outcome *out)
{
	outcome_pass(out);
	free(x->last_line);
	x->last_line = NULL;
	x->last_len = 0;
	if (s->c == NULL)
		return (void)out_set(out, s->eof ? OUT_EXPECT : OUT_ERROR, NULL, expected,
		                     s->eof ? "the server had closed the connection"
		                            : "scenario error: session '%s' is not connected",
		                     s->name);
	const char *line;
	struct line ln;
	struct p3err err = {0};
	/* A reply to PASS, APOP or AUTH may take long (servers slow logins on purpose): the login deadline.
	 */
	long long start = xc_now_ms();
	int login = xs_login_deadline(x, s, &deadline, &timeout);
	enum conn_status st = xs_read_line(x, s, deadline, 1, &line, &ln, &err);
	xs_reply_read(x, s, start, st == CONN_OK && ln.len >= 3 && memcmp(line, "+OK", 3) == 0);
	switch (st) {
	case CONN_OK:
		break;
	case CONN_TIMEOUT:
		xtr_note(&x->tr, s->name, "no response within %.1f s%s", timeout,
		         login ? " (login_timeout)" : "");
		out_set(out, OUT_EXPECT, NULL, expected, "no response within %.1f s%s", timeout,
		        login ? " (login_timeout)" : "");
		out->desync = 1;
		out->timed_out = 1;
		return;
	case CONN_EOF: {
		int c = closed_by_server(x, s, "the server closed the connection");
		if (clean)
			*clean = c;
		if (accept_close)
			return;
		out_set(out, OUT_EXPECT, NULL, expected, "the server closed the connection");
		out->desync = 1;
		return;
	}
	case CONN_TOO_LONG:
		out_set(out, OUT_CHECK, "R1939-GEN-7", "a status line of at most 512 octets",
		        "more than %d octets without a line end", XC_MAX_LINE);
		out->desync = 1;
		return;
	case CONN_ERROR:
	default:
		out_set(out, OUT_EXPECT, NULL, expected, "read error: %s", err.msg);
		out->desync = 1;
		return;
	}
	*kind = check_status_kind(line, ln.len);
	set_last(x, line, ln.len, *kind);
	struct violation v;
	if (check_first_line(line, &ln, s->in_auth, &v)) {
		out_set(out, OUT_CHECK, v.req, "a well-formed response line", "%s", v.what);
		out->desync = 1;
		return;
	}
	if (*kind == STATUS_OK || *kind == STATUS_ERR)
		s->in_auth = 0;
}

void expect_read_first(struct xctx *x, struct xsession *s, double timeout, enum status_kind *kind,
                       struct outcome *out)
{
	long long deadline = xc_now_ms() + (long long)(timeout * 1000);
	read_first(x, s, deadline, timeout, 0, kind, "a response", NULL, out);
}

/* Read a multi-line body after a +OK line, feeding every alternative. */
static void read_body(struct xctx *x, struct xsession *s, struct judge *j, long long deadline, double timeout,
                      int flags, body_line_fn cb, void *cbctx, struct outcome *out)
{
	unsigned long long octets = 0, nlines = 0;
	for (;;) {
		const char *line;
		struct line ln;
		struct p3err err = {0};
		int record = !(flags & EXP_QUIET_BODY) && nlines < XC_BODY_LINES_SHOWN;
		enum conn_status st = xs_read_line(x, s, deadline, record, &line, &ln, &err);
		if (st == CONN_TIMEOUT) {
			out_set(out, OUT_EXPECT, "R1939-ML-1", "a multi-line body ending in a '.' line",
			        "no end of the body within %.1f s (%llu lines so far)", timeout, nlines);
			out->desync = 1;
			out->timed_out = 1;
			break;
		}
		if (st == CONN_EOF) {
			s->eof = 1;
			xs_close(x, s, 0,
			         "the server closed the connection in the middle of a multi-line body");
			out_set(out, OUT_CHECK, "R1939-ML-1", "a multi-line body ending in a '.' line",
			        "the connection closed after %llu body lines, before the terminating '.'",
			        nlines);
			out->desync = 1;
			break;
		}
		if (st == CONN_TOO_LONG) {
			out_set(out, OUT_EXPECT, "R1939-ML-1", "body lines shorter than 64 KiB",
			        "a body line over %d octets without a line end", XC_MAX_LINE);
			out->desync = 1;
			break;
		}
		if (st != CONN_OK) {
			out_set(out, OUT_EXPECT, NULL, "a multi-line body", "read error: %s", err.msg);
			out->desync = 1;
			break;
		}
		struct violation v;
		if (check_data_line(line, &ln, &v)) {
			out_set(out, OUT_CHECK, v.req, "well-formed multi-line data", "%s", v.what);
			out->desync = 1;
			break;
		}
		const char *data;
		size_t dlen;
		if (ml_decode_line(line, ln.len, &data, &dlen) == ML_TERMINATOR)
			break;
		nlines++;
		octets += ln.consumed;
		if (octets > j->body_limit) {
			out_set(out, OUT_EXPECT, NULL, "a body that ends", "more than %llu octets of body",
			        j->body_limit);
			out->desync = 1;
			break;
		}
		judge_body_line(j, data, dlen);
		if (cb)
			cb(cbctx, data, dlen);
	}
	if (nlines > XC_BODY_LINES_SHOWN && !(flags & EXP_QUIET_BODY))
		xtr_note(&x->tr, s->name, "%llu more body lines not shown (%llu body lines, %llu octets)",
		         nlines - XC_BODY_LINES_SHOWN, nlines, octets);
}

/* closes / silent_for, after the response: they read from the connection, so only for a winner.
 * `closes` waits for the close without consuming anything: octets that come first fail this alternative
 * and stay buffered, so the next alternative (or step) still sees them — a reply to the excess of an
 * over-long line, say, is never thrown away unseen (P-LINE-2). */
static void read_after(struct xctx *x, struct xsession *s, struct judge *j, size_t i, double timeout)
{
	const struct expect *e = &j->alts_e[i];
	struct p3err err = {0};
	if (e->closes == 1 && s->c) {
		enum conn_status st = conn_poll_data(s->c, (int)(timeout * 1000), &err);
		if (st == CONN_EOF) {
			int clean = closed_by_server(x, s, "the server closed the connection");
			if (e->close_notify && clean == 0)
				judge_alt_fail(j, i, e->ref ? e->ref : "R8314-TLS-3", NO_CLOSE_NOTIFY_EXP,
				               NO_CLOSE_NOTIFY_GOT);
		} else if (st == CONN_OK) {
			judge_alt_fail(j, i, NULL, "the server closes right after the response",
			               "%zu more octets came instead", conn_buffered(s->c));
		} else if (st == CONN_TIMEOUT) {
			judge_alt_fail(j, i, NULL, "the server closes the connection",
			               "it stayed open for %.1f s", timeout);
		} else {
			judge_alt_fail(j, i, NULL, "the server closes the connection", "%s", err.msg);
		}
	}
	if (e->silent_for > 0 && s->c) {
		double window = target_silence(x->t, e->silent_for); /* a slow link's profile lengthens it */
		enum conn_status st = conn_poll_data(s->c, (int)(window * 1000), &err);
		if (st == CONN_OK) {
			char exp[80];
			snprintf(exp, sizeof exp, "nothing more for %.1f s", window);
			const char *line;
			struct line ln;
			/* Show what came (one line, bounded). */
			if (xs_read_line(x, s, xc_now_ms() + 200, 1, &line, &ln, &err) == CONN_OK) {
				char shown[300];
				line_escape(line, ln.len, shown, sizeof shown);
				judge_alt_fail(j, i, NULL, exp, "%s", shown);
			} else {
				judge_alt_fail(j, i, NULL, exp, "octets arrived");
			}
		} else if (st == CONN_EOF) {
			s->eof = 1;
			xs_close(x, s, 0, "the server closed the connection (silently)");
		}
	}
}

void expect_response(struct xctx *x, struct xsession *s, const struct expect *e, int flags, body_line_fn cb,
                     void *cbctx, struct outcome *out)
{
	struct judge j;
	if (judge_init(&j, x, e, cb != NULL, out) != 0)
		goto out;
	double timeout = j.e->timeout > 0 ? j.e->timeout : x->timeout;
	long long deadline = xc_now_ms() + (long long)(timeout * 1000);
	for (size_t i = 0; i < j.nalts; i++)
		if (j.alts_e[i].close_notify && !conn_is_tls_or_closed(s)) {
			out_set(
			    out, OUT_ERROR, NULL, NULL,
			    "scenario error: close_notify needs a TLS session (session '%s' is not in TLS)",
			    s->name);
			goto out;
		}
	/* A "no reply within N s" alternative is judged first, before anything is read: silence for its
	 * window is the whole answer; octets (or a close) within it leave the reply to the other
	 * alternatives. */
	if (j.silent_alt < j.nalts && s->c) {
		struct p3err perr = {0};
		double silent_for = target_silence(x->t, j.alts_e[j.silent_alt].silent_for);
		if (conn_poll_data(s->c, (int)(silent_for * 1000), &perr) == CONN_TIMEOUT) {
			xtr_note(&x->tr, s->name, "no reply within %.1f s", silent_for);
			vars_set_str(&x->vars, "last.status", "");
			vars_set_str(&x->vars, "last.line", "");
			goto out;
		}
	}
	enum status_kind kind = STATUS_INVALID;
	int clean = -1;
	read_first(x, s, deadline, timeout, j.accept_close, &kind, j.desc, &clean, out);
	if (out->kind == OUT_PASS && s->c == NULL && clean == 0)
		judge_close_without_notify(&j, out);
	if (out->kind != OUT_PASS || s->c == NULL)
		goto out;
	if (judge_first(&j, x->last_line, x->last_len, kind, out) != 0)
		goto out;
	if (kind == STATUS_OK && j.body) {
		read_body(x, s, &j, deadline, timeout, flags, cb, cbctx, out);
		if (out->kind != OUT_PASS)
			goto out;
		judge_body_end(&j);
	} else {
		judge_no_body(&j);
	}
	/* The first alternative that holds wins (closes / silent_for are judged only for it). */
	size_t win = j.nalts;
	for (size_t i = 0; i < j.nalts && win == j.nalts; i++) {
		if (!judge_alt_ok(&j, i))
			continue;
		read_after(x, s, &j, i, timeout);
		if (judge_alt_ok(&j, i))
			win = i;
	}
	judge_verdict(&j, win, s->name, out);
out:
	judge_level(&j, out);
	/* Whether this response was a close: steps after an authentication -ERR, which RFC 1939 §4 lets a
	 * server follow with a close, run `when: {equal: ["${last.closed}", "no"]}`. */
	vars_set_str(&x->vars, "last.closed", s->c == NULL ? "yes" : "no");
	judge_free(&j);
}
