/* proto.c — pop3client's wire: connecting (plain, implicit TLS), STLS's handshake, command lines with the
 * 255-octet limit, status lines, SASL continuations and multi-line data with un-stuffing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509_vfy.h>

#include "client/client.h"
#include "client/faults.h"
#include "lib/line.h"
#include "lib/multiline.h"
#include "lib/tls.h"

/* The fault no-hostname-check: the chain is verified, a name mismatch forgiven. */
static int forgive_name_mismatch(int ok, X509_STORE_CTX *x)
{
	int e = X509_STORE_CTX_get_error(x);

	if (!ok && (e == X509_V_ERR_HOSTNAME_MISMATCH || e == X509_V_ERR_IP_ADDRESS_MISMATCH))
		return 1;
	return ok;
}

static int tls_context(struct client *cl, struct p3err *err)
{
	struct tls_client_opts to = {0};

	if (cl->tls_ctx != NULL)
		return 0;
	/* RFC 8314 §4.1, RFC 8996: TLS 1.2 or newer; the server's certificate verified, with its name. */
	to.verify = !cfault_on(CF_NO_CERT_VERIFY);
	to.ca_file = cl->o->cafile;
	to.min_version = cfault_on(CF_ACCEPT_TLS10) ? TLS1_VERSION : TLS1_2_VERSION;
	cl->tls_ctx = tls_client_ctx(&to, err);
	if (cl->tls_ctx == NULL)
		return -1;
	if (cfault_on(CF_NO_HOSTNAME_CHECK) && to.verify)
		SSL_CTX_set_verify(cl->tls_ctx, SSL_VERIFY_PEER, forgive_name_mismatch);
	return 0;
}

static int handshake(struct client *cl, size_t *discarded, struct p3err *err)
{
	const char *name = cl->o->servername != NULL ? cl->o->servername : cl->o->host;
	enum conn_status st;

	if (tls_context(cl, err) < 0)
		return -1;
	st = conn_start_tls(cl->conn, cl->tls_ctx, name, cl->o->timeout_ms, discarded, err);
	if (st != CONN_OK)
		return -1;
	if (cl->o->verbose) {
		char d[128];
		fprintf(stderr, "pop3client: TLS up: %s\n", tls_describe(conn_ssl(cl->conn), d, sizeof d));
	}
	return 0;
}

int client_connect(struct client *cl, struct p3err *err)
{
	if (conn_open(&cl->conn, cl->o->host, cl->o->port, cl->o->timeout_ms, err) != CONN_OK)
		return -1;
	if (cl->o->tls == CT_IMPLICIT)
		return handshake(cl, NULL, err);
	return 0;
}

int client_start_tls(struct client *cl, struct p3err *err)
{
	size_t discarded = 0;

	if (cfault_on(CF_KEEP_PRE_TLS_BYTES)) {
		/* Whole lines that came after +OK, kept to be read as the first replies inside TLS. Like a
		 * reader that drains the socket before switching, it waits a moment for more, so the fault
		 * shows whether the injected octets came in +OK's segment or just after it. */
		while (conn_buffered(cl->conn) > 0 || conn_poll_data(cl->conn, 200, err) == CONN_OK) {
			const char *line;
			struct line ln;
			if (conn_read_line(cl->conn, 0, 0, &line, &ln, err) != CONN_OK)
				break;
			char *p = realloc(cl->pushback, cl->pushback_len + ln.consumed);
			if (p == NULL)
				return p3err_set(err, "out of memory");
			memcpy(p + cl->pushback_len, line, ln.consumed);
			cl->pushback = p;
			cl->pushback_len += ln.consumed;
		}
	}
	if (handshake(cl, &discarded, err) < 0)
		return -1;
	/* RFC 2595 §4: nothing received before the handshake is read as if it came over TLS. */
	if (discarded > 0 && cl->o->verbose)
		fprintf(stderr, "pop3client: discarded %zu octets received before the TLS handshake\n",
		        discarded);
	return 0;
}

static void trace(const struct client *cl, const char *dir, const char *s, size_t n)
{
	char esc[600];

	if (!cl->o->verbose)
		return;
	if (dir[0] == 'C' && n > 5 && strncmp(s, "PASS ", 5) == 0)
		n = 5;
	line_escape(s, n, esc, sizeof esc);
	fprintf(stderr, "%s %s%s\n", dir, esc,
	        dir[0] == 'C' && n == 5 && strncmp(s, "PASS ", 5) == 0 ? "***" : "");
}

static int write_all(struct client *cl, const char *buf, size_t n, struct p3err *err)
{
	if (conn_write(cl->conn, buf, n, cl->o->timeout_ms, err) != CONN_OK)
		return -1;
	return 0;
}

/* One line checked and appended to buf (which has room for POP3_MAX_COMMAND_LINE octets or, under
 * long-command, any). */
static int check_command(const char *line, size_t len, struct p3err *err)
{
	/* RFC 2449 §4: "Clients MUST NOT send command lines longer than 255 octets, including the terminating
	 * CRLF." A login that does not fit is refused here, not sent cut. */
	if (len + 2 > POP3_MAX_COMMAND_LINE && !cfault_on(CF_LONG_COMMAND))
		return p3err_set(err, "command line of %zu octets: longer than RFC 2449 §4 allows (255)",
		                 len + 2);
	if (memchr(line, '\r', len) != NULL || memchr(line, '\n', len) != NULL)
		return p3err_set(err, "an argument holds a line end");
	return 0;
}

int client_send(struct client *cl, struct p3err *err, const char *fmt, ...)
{
	va_list ap;
	char *line = NULL;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return p3err_set(err, "out of memory");
	if (check_command(line, (size_t)n, err) < 0) {
		free(line);
		return -1;
	}
	trace(cl, "C:", line, (size_t)n);
	char *out = malloc((size_t)n + 2);
	if (out == NULL) {
		free(line);
		return p3err_set(err, "out of memory");
	}
	memcpy(out, line, (size_t)n);
	memcpy(out + n, "\r\n", 2);
	rc = write_all(cl, out, (size_t)n + 2, err);
	free(out);
	free(line);
	return rc;
}

int client_send_sasl(struct client *cl, const char *line, struct p3err *err)
{
	size_t n = strlen(line);
	char *out = malloc(n + 2);
	int rc;

	if (out == NULL)
		return p3err_set(err, "out of memory");
	trace(cl, "C:", line, n);
	memcpy(out, line, n);
	memcpy(out + n, "\r\n", 2);
	rc = write_all(cl, out, n + 2, err);
	free(out);
	return rc;
}

int client_send_batch(struct client *cl, const char *const *lines, size_t n, struct p3err *err)
{
	char buf[4 * POP3_MAX_COMMAND_LINE];
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);
		if (check_command(lines[i], l, err) < 0)
			return -1;
		if (len + l + 2 > sizeof buf)
			return p3err_set(err, "pipelined batch too long");
		trace(cl, "C:", lines[i], l);
		memcpy(buf + len, lines[i], l);
		memcpy(buf + len + l, "\r\n", 2);
		len += l + 2;
	}
	return write_all(cl, buf, len, err);
}

/* The next line: from the pushback first (only keep-pre-tls-bytes fills it), then the connection. */
static enum conn_status next_line(struct client *cl, size_t max, const char **line, struct line *ln,
                                  struct p3err *err)
{
	if (cl->pushback_off < cl->pushback_len) {
		const char *p = cl->pushback + cl->pushback_off;
		if (line_scan(p, cl->pushback_len - cl->pushback_off, 0, ln) == LINE_OK) {
			cl->pushback_off += ln->consumed;
			*line = p;
			return CONN_OK;
		}
		cl->pushback_off = cl->pushback_len;
	}
	return conn_read_line(cl->conn, max, cl->o->timeout_ms, line, ln, err);
}

static int read_status(struct client *cl, const char **line, struct line *ln, struct p3err *err)
{
	/* RFC 1939 §3 bounds status lines at 512 octets; a client reads longer ones all the same (RFC 1939 §9
	 * robustness: be liberal), up to its data-line bound. */
	size_t max = cfault_on(CF_STATUS_LINE_511) ? 511 : POP3_MAX_DATA_LINE;
	enum conn_status st = next_line(cl, max, line, ln, err);

	switch (st) {
	case CONN_OK:
		break;
	case CONN_EOF:
		if (ln->len == 0)
			return p3err_set(err, "the server closed the connection");
		return p3err_set(err, "the server closed the connection in the middle of a line");
	case CONN_TIMEOUT:
		return p3err_set(err, "no reply within %d ms", cl->o->timeout_ms);
	case CONN_TOO_LONG:
		return p3err_set(err, "a reply line longer than %zu octets", max);
	default:
		return -1;
	}
	trace(cl, "S:", *line, ln->len);
	return 0;
}

static int parse_status(const char *line, size_t len, struct reply *r, struct p3err *err)
{
	size_t skip;

	if (len >= 3 && memcmp(line, "+OK", 3) == 0 && (len == 3 || line[3] == ' ')) {
		r->ok = 1;
		skip = 3;
	} else if (len >= 4 && memcmp(line, "-ERR", 4) == 0 && (len == 4 || line[4] == ' ')) {
		r->ok = 0;
		skip = 4;
	} else {
		char esc[128];
		line_escape(line, len, esc, sizeof esc);
		return p3err_set(err, "not a POP3 status line: %s", esc);
	}
	if (skip < len)
		skip++;
	len -= skip;
	if (len > POP3_MAX_DATA_LINE)
		len = POP3_MAX_DATA_LINE;
	memcpy(r->text, line + skip, len);
	r->text[len] = '\0';
	r->code[0] = '\0';
	/* RFC 2449 §8: a response code is the bracketed first word of the text. */
	if (r->text[0] == '[') {
		const char *end = strchr(r->text, ']');
		if (end != NULL && (size_t)(end - r->text - 1) < sizeof r->code) {
			memcpy(r->code, r->text + 1, (size_t)(end - r->text - 1));
			r->code[end - r->text - 1] = '\0';
		}
	}
	return 0;
}

int client_reply(struct client *cl, struct reply *r, struct p3err *err)
{
	const char *line;
	struct line ln;

	if (read_status(cl, &line, &ln, err) < 0)
		return -1;
	return parse_status(line, ln.len, r, err);
}

int client_sasl_reply(struct client *cl, struct reply *r, struct p3err *err)
{
	const char *line;
	struct line ln;

	if (read_status(cl, &line, &ln, err) < 0)
		return -1;
	/* RFC 5034 §4: a continuation is "+ " and base64 (a bare "+" taken as an empty challenge). */
	if (ln.len >= 1 && line[0] == '+' && (ln.len == 1 || line[1] == ' ')) {
		size_t n = ln.len > 2 ? ln.len - 2 : 0;
		if (n > POP3_MAX_DATA_LINE)
			n = POP3_MAX_DATA_LINE;
		memcpy(r->text, line + (ln.len > 1 ? 2 : 1), n);
		r->text[n] = '\0';
		r->code[0] = '\0';
		r->ok = 1;
		return 1;
	}
	return parse_status(line, ln.len, r, err) < 0 ? -1 : 0;
}

int client_data_line(struct client *cl, const char **data, size_t *len, struct p3err *err)
{
	const char *line;
	struct line ln;
	enum conn_status st = next_line(cl, 0, &line, &ln, err);

	if (st == CONN_EOF)
		return p3err_set(err,
		                 "the server closed the connection before the end of the multi-line reply");
	if (st == CONN_TIMEOUT)
		return p3err_set(err, "the multi-line reply stopped for %d ms", cl->o->timeout_ms);
	if (st == CONN_TOO_LONG)
		return p3err_set(err, "a data line longer than %d octets", CONN_BUF_MAX);
	if (st != CONN_OK)
		return -1;
	if (cfault_on(CF_TERMINATOR_NAIVE) && ln.len > 0 && line[ln.len - 1] == '.') {
		/* A search for ".\r\n" that forgets it must start a line. */
		return 0;
	}
	/* RFC 1939 §3: a line of "." alone ends the reply; a line starting with '.' lost its first octet to
	 * byte-stuffing. One that starts with a single '.' and more is not stuffed: kept as it came. */
	if (ml_decode_line(line, ln.len, data, len) == ML_TERMINATOR)
		return 0;
	if (cfault_on(CF_NO_UNSTUFF)) {
		*data = line;
		*len = ln.len;
	}
	return 1;
}

void client_close(struct client *cl, int abortive)
{
	if (cl->conn != NULL) {
		if (abortive)
			conn_abort(cl->conn);
		else
			conn_close(cl->conn);
		cl->conn = NULL;
	}
	free(cl->pushback);
	cl->pushback = NULL;
	cl->pushback_len = cl->pushback_off = 0;
}
