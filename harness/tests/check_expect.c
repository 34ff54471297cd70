/* check_expect.c — unit tests for runner/expect on canned server responses (a thread on 127.0.0.1:0 sends
 * fixed octets), and for the executor against misbehaving servers: never answering, trickling, flooding
 * without CRLF, closing mid-response, lower-case status — each must end in fail or error within the step
 * timeout, with bounded memory. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <check.h>

#include "lib/multiline.h"
#include "runner/exec.h"
#include "runner/expect.h"
#include "runner/fixture.h"
#include "runner/session.h"

Suite *expect_suite(void);

/* ---- a tiny scripted server ------------------------------------------------------------------------- */

enum behaviour {
	CANNED,     /* send `data` at once, then read until the client goes (or close, with close_after) */
	SILENT,     /* accept and say nothing */
	TRICKLE,    /* greeting, then answer any command with "+OK " and one octet every 50 ms, forever */
	FLOOD,      /* greeting, then answer any command with endless octets and no line end */
	FLOOD_BODY, /* greeting, then "+OK" and a multi-line body whose one line never ends */
	MID_CLOSE   /* greeting, then answer any command with two body lines and close */
};

struct server {
	int fd;
	int port;
	enum behaviour b;
	const char *data;
	size_t len;
	int close_after;
	volatile int stop;
	pthread_t tid;
};

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Wait for a command line (or the client leaving); 0 when a line came. */
static int wait_line(struct server *sv, int c)
{
	char buf[512];
	while (!sv->stop) {
		struct pollfd p = {c, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(c, buf, sizeof buf, 0);
		if (n <= 0)
			return -1;
		if (memchr(buf, '\n', (size_t)n))
			return 0;
	}
	return -1;
}

static void serve(struct server *sv, int c)
{
	static const char greet[] = "+OK test server <1.2@test>\r\n";
	char chunk[65536];
	switch (sv->b) {
	case CANNED:
		send_all(c, sv->data, sv->len);
		if (!sv->close_after)
			while (wait_line(sv, c) == 0)
				;
		break;
	case SILENT:
		while (wait_line(sv, c) == 0)
			;
		break;
	case TRICKLE:
		send_all(c, greet, sizeof greet - 1);
		if (wait_line(sv, c) != 0)
			break;
		send_all(c, "+OK ", 4);
		while (!sv->stop && send(c, "x", 1, MSG_NOSIGNAL) == 1)
			usleep(50000);
		break;
	case FLOOD:
	case FLOOD_BODY:
		send_all(c, greet, sizeof greet - 1);
		if (wait_line(sv, c) != 0)
			break;
		if (sv->b == FLOOD_BODY)
			send_all(c, "+OK here it comes\r\n", 19);
		memset(chunk, 'A', sizeof chunk);
		/* Up to 256 MiB, or until the client is gone. */
		for (int i = 0; i < 4096 && !sv->stop; i++)
			if (send(c, chunk, sizeof chunk, MSG_NOSIGNAL) <= 0)
				break;
		break;
	case MID_CLOSE:
		send_all(c, greet, sizeof greet - 1);
		if (wait_line(sv, c) != 0)
			break;
		send_all(c, "+OK 2 lines follow\r\nline one\r\nline two\r\n", 40);
		break;
	}
	close(c);
}

static void *server_main(void *arg)
{
	struct server *sv = arg;
	while (!sv->stop) {
		struct pollfd p = {sv->fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(sv->fd, NULL, NULL);
		if (c >= 0)
			serve(sv, c);
	}
	return NULL;
}

static void server_start(struct server *sv, enum behaviour b, const char *data, size_t len, int close_after)
{
	memset(sv, 0, sizeof *sv);
	sv->b = b;
	sv->data = data;
	sv->len = len;
	sv->close_after = close_after;
	sv->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(sv->fd, 0);
	struct sockaddr_in a = {
	    .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	ck_assert_int_eq(bind(sv->fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(sv->fd, 8), 0);
	ck_assert_int_eq(getsockname(sv->fd, (struct sockaddr *)&a, &al), 0);
	sv->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&sv->tid, NULL, server_main, sv), 0);
}

static void server_stop(struct server *sv)
{
	sv->stop = 1;
	pthread_join(sv->tid, NULL);
	close(sv->fd);
}

/* ---- an execution context against the server --------------------------------------------------------- */

static struct server sv;
static struct target tgt;
static struct exec_opts opts;
static struct scenario scn;
static struct xctx *x;
static struct xsession *s;

static void ctx_open(const char *data, size_t len, int close_after)
{
	server_start(&sv, CANNED, data, len, close_after);
	memset(&tgt, 0, sizeof tgt);
	tgt.host = (char *)"127.0.0.1";
	tgt.port = sv.port;
	memset(&opts, 0, sizeof opts);
	opts.step_timeout = 1.0;
	opts.fixtures_dir = "fixtures";
	memset(&scn, 0, sizeof scn);
	scn.id = (char *)"test/expect";
	scn.level = LEVEL_MUST;
	x = calloc(1, sizeof *x);
	ck_assert_ptr_nonnull(x);
	x->sc = &scn;
	x->t = &tgt;
	x->o = &opts;
	x->timeout = 1.0;
	vars_init(&x->vars);
	xtr_init(&x->tr, 0, scn.id);
	s = xs_get(x, "main", 1);
	struct p3err err;
	ck_assert_int_eq(conn_open(&s->c, "127.0.0.1", sv.port, 1000, &err), CONN_OK);
}

static void ctx_close(void)
{
	xs_close_all(x);
	vars_free(&x->vars);
	xtr_free(&x->tr);
	free(x->last_line);
	free(x);
	server_stop(&sv);
}

/* An expectation with nothing checked; fill in what a test needs. */
static struct expect ex(enum status_want w)
{
	struct expect e;
	memset(&e, 0, sizeof e);
	e.status = w;
	e.closes = -1;
	e.handshake = -1;
	e.level = -1;
	return e;
}

static struct sstr ss(const char *str)
{
	struct sstr r = {(char *)str, strlen(str)};
	return r;
}

#define CANNED_CTX(text) ctx_open(text, sizeof text - 1, 0)

START_TEST(status_match_capture)
{
	CANNED_CTX("+OK 2 320\r\n");
	struct expect e = ex(WANT_OK);
	struct capture cap = {(char *)"size", (char *)"^\\+OK [0-9]+ ([0-9]+)$"};
	e.match = (char *)"^\\+OK [0-9]+ [0-9]+$";
	e.captures = &cap;
	e.ncaptures = 1;
	struct outcome out;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(vars_get(&x->vars, "size")->val, "320");
	ck_assert_str_eq(vars_get(&x->vars, "last.status")->val, "+OK");
	ck_assert_str_eq(vars_get(&x->vars, "last.line")->val, "+OK 2 320");
	ctx_close();
}
END_TEST

START_TEST(status_mismatch)
{
	CANNED_CTX("-ERR no such message\r\n");
	struct expect e = ex(WANT_OK);
	e.ref = (char *)"R1939-RETR-1";
	struct outcome out;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "+OK");
	ck_assert_str_eq(out.actual, "-ERR no such message");
	ck_assert_str_eq(out.req, "R1939-RETR-1");
	ck_assert_int_eq(out.level, LEVEL_MUST);
	ck_assert_int_eq(out.desync, 0);
	ctx_close();
}
END_TEST

START_TEST(response_codes)
{
	CANNED_CTX("-ERR [IN-USE] locked\r\n-ERR [SYS/TEMP] later\r\n-ERR plain\r\n-ERR [IN-USE] again\r\n");
	struct outcome out;
	struct expect e = ex(WANT_ERR);
	e.code = (char *)"IN-USE";
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_PASS);
	e.code = (char *)"SYS"; /* hierarchical: [SYS/TEMP] is a SYS code (RFC 2449 §8) */
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_PASS);
	e.code = (char *)"none";
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_PASS);
	e.code = NULL;
	e.not_code = (char *)"IN-USE";
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.actual, "-ERR [IN-USE] again");
	ctx_close();
}
END_TEST

START_TEST(multiline_matchers)
{
	CANNED_CTX("+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n+OK\r\n1 120\r\n2 200\r\n.\r\n"
	           "+OK\r\nUSER\r\nTOP\r\n.\r\n");
	struct outcome out;
	struct expect e = ex(WANT_OK);
	char *lines[] = {(char *)"^1 [0-9]+$", (char *)"^2 [0-9]+$"};
	e.multiline = true;
	e.count = ss("${n}");
	e.lines = lines;
	e.nlines = 2;
	e.each_line = (char *)"^[0-9]+ [0-9]+$";
	e.contains = (char *)"^2 ";
	e.not_contains = (char *)"^3 ";
	e.capture_body = (char *)"listing";
	vars_set_str(&x->vars, "n", "2");
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(vars_get(&x->vars, "listing")->val, "1 120\n2 200");
	/* The same body against a wrong count. */
	e.count = ss("3");
	e.lines = NULL;
	e.nlines = 0;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "3 body lines");
	ck_assert_str_eq(out.actual, "2 body lines");
	/* contains that is not there; the session stays in step for the next response. */
	struct expect c = ex(WANT_OK);
	c.multiline = true;
	c.contains = (char *)"^STLS$";
	expect_response(x, s, &c, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_int_eq(out.desync, 0);
	ctx_close();
}
END_TEST

START_TEST(stuffing_and_termination_checks)
{
	CANNED_CTX("+OK\r\n..stuffed\r\n.unstuffed\r\n.\r\n");
	struct outcome out;
	struct expect e = ex(WANT_OK);
	e.multiline = true;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R1939-ML-2");
	ctx_close();

	ctx_open("+OK\r\nline\r\n", 11, 1); /* closes before the terminator */
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R1939-ML-1");
	ctx_close();

	CANNED_CTX("+ok fine\r\n");
	expect_response(x, s, NULL, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R1939-GEN-9");
	ctx_close();

	CANNED_CTX("+OK bare\n");
	expect_response(x, s, NULL, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R1939-GEN-6");
	ctx_close();

	CANNED_CTX("+ Zm9v\r\n");
	expect_response(x, s, NULL, 0, NULL, NULL, &out); /* no AUTH running */
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R1939-GEN-8");
	ctx_close();

	CANNED_CTX("+ Zm9v\r\n+ Zm9=\r\n");
	s->in_auth = 1;
	e = ex(WANT_CONT);
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_PASS);
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R4648-B64-3");
	ctx_close();
}
END_TEST

/* The wire form of a stored message: CRLF line ends, byte-stuffing, terminator. */
static int emit(void *ctx, const char *d, size_t n)
{
	char **buf = ctx;
	size_t old = strlen(*buf);
	*buf = realloc(*buf, old + n + 1);
	memcpy(*buf + old, d, n);
	(*buf)[old + n] = '\0';
	return 0;
}

static char *wire_message(const char *path, long top)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	char *out = strdup("+OK message follows\r\n"), buf[4096];
	struct ml_encoder enc;
	ml_encoder_init(&enc, top);
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		ml_encode(&enc, buf, n, emit, &out);
	ml_encode_finish(&enc, emit, &out);
	fclose(f);
	return out;
}

START_TEST(fixture_message_equality)
{
	const struct fixture *fx;
	struct p3err err;
	ck_assert_int_eq(fixture_get("fixtures", "dot-lines", &fx, &err), 0);
	char *wire = wire_message(fx->msgs[0].path, -1);
	char *top = wire_message(fx->msgs[1].path, 2);
	size_t wl = strlen(wire), tl = strlen(top);
	char *both = malloc(2 * wl + tl + 1);
	memcpy(both, wire, wl);
	memcpy(both + wl, top, tl);
	memcpy(both + wl + tl, wire, wl);
	/* The third copy has one octet changed in its body. */
	char *mod = both + wl + tl + wl - 8;
	*mod = *mod == 'x' ? 'y' : 'x';
	ctx_open(both, 2 * wl + tl, 0);
	x->fx = fx;
	struct outcome out;
	struct expect e = ex(WANT_OK);
	e.message = ss("1");
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	struct expect t = ex(WANT_OK);
	t.top_message = ss("2");
	t.top_lines = ss("2");
	expect_response(x, s, &t, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.expected, "of fixture message 1"));
	ctx_close();
	free(both);
	free(wire);
	free(top);
	fixture_cache_clear();
}
END_TEST

/* `str` with `ins` put in front of the first occurrence of `at`. */
static char *insert_before(const char *str, const char *at, const char *ins)
{
	const char *p = strstr(str, at);
	ck_assert_ptr_nonnull(p);
	size_t pre = (size_t)(p - str), il = strlen(ins);
	char *out = malloc(strlen(str) + il + 1);
	memcpy(out, str, pre);
	memcpy(out + pre, ins, il);
	strcpy(out + pre + il, p);
	return out;
}

/* delivery: agent — header lines a delivery agent put in front (its own Return-Path instead of the
 * fixture's, Received) and one the server wrote into the header (X-UIDL) are tolerated and counted; a
 * fixture line changed still fails; with delivery: verbatim the same copy fails. */
START_TEST(fixture_message_agent_delivery)
{
	const struct fixture *fx;
	struct p3err err;
	ck_assert_int_eq(fixture_get("fixtures", "three", &fx, &err), 0);
	char *wire = wire_message(fx->msgs[0].path, -1);
	char *top = wire_message(fx->msgs[0].path, 2);
	const char *fixture_rp = "Return-Path: <sender@fixtures.pop3spec.test>\r\n";
	/* The agent's copy: its Return-Path and a Received line replace the fixture's Return-Path. */
	char *a1 = insert_before(wire, fixture_rp,
	                         "Return-Path: <bounce@agent.test>\r\nReceived: from localhost by lmtp; "
	                         "Mon, 7 Dec 2026 10:00:00 +0000\r\n");
	char *p = strstr(a1, fixture_rp);
	memmove(p, p + strlen(fixture_rp), strlen(p + strlen(fixture_rp)) + 1);
	char *agent = insert_before(a1, "\r\n\r\n", "\r\nX-UIDL: 0123456789abcdef");
	char *agent_top = insert_before(top, "\r\n\r\n", "\r\nX-UIDL: 0123456789abcdef");
	char *bad = strdup(agent);
	char *subj = strstr(bad, "Subject: Small");
	ck_assert_ptr_nonnull(subj);
	subj[9] = 's'; /* a fixture header line altered */
	size_t al = strlen(agent), tl = strlen(agent_top), bl = strlen(bad);
	char *all = malloc(al * 2 + tl + bl + 1);
	sprintf(all, "%s%s%s%s", agent, agent_top, bad, agent);

	ctx_open(all, strlen(all), 0);
	tgt.delivery = DELIVERY_AGENT;
	x->fx = fx;
	struct outcome out;
	struct expect e = ex(WANT_OK);
	e.message = ss("1");
	char octets[32];
	/* The server's own size: the fixture's plus the lines added, minus the fixture's Return-Path. */
	snprintf(octets, sizeof octets, "%llu",
	         fx->msgs[0].size + (unsigned long long)(al - strlen(wire)));
	e.octets = ss(octets);
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(vars_get(&x->vars, "last.added_headers")->val, "3");
	ck_assert_str_eq(vars_get(&x->vars, "last.added_fields")->val, "return-path,received,x-uidl");
	ck_assert_str_eq(vars_get(&x->vars, "last.octets")->val, octets);
	struct expect t = ex(WANT_OK);
	t.top_message = ss("1");
	t.top_lines = ss("2");
	expect_response(x, s, &t, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(vars_get(&x->vars, "last.added_headers")->val, "1");
	ck_assert_str_eq(vars_get(&x->vars, "last.added_fields")->val, "x-uidl");
	struct expect m = ex(WANT_OK);
	m.message = ss("1");
	expect_response(x, s, &m, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.expected, "Subject: Small"));
	/* Verbatim: the same copy is not the fixture's. */
	tgt.delivery = DELIVERY_VERBATIM;
	expect_response(x, s, &m, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.expected, "line 1 of fixture message 1"));
	ctx_close();
	free(all);
	free(bad);
	free(agent);
	free(agent_top);
	free(a1);
	free(wire);
	free(top);
	fixture_cache_clear();
}
END_TEST

/* octets: the body's size as sent, CRLF line ends, stuffing dots not counted (RFC 1939 §11). */
START_TEST(body_octets)
{
	CANNED_CTX("+OK\r\nab\r\n..\r\n\r\n.\r\n+OK\r\nab\r\n.\r\n");
	struct outcome out;
	struct expect e = ex(WANT_OK);
	e.octets = ss("9"); /* "ab" CRLF "." CRLF CRLF */
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.req, "R1939-LIST-8");
	ck_assert_str_eq(out.actual, "4 octets in 1 lines");
	ctx_close();
}
END_TEST

START_TEST(one_of_alternatives)
{
	CANNED_CTX("-ERR nope\r\n+OK\r\nA\r\n.\r\n+OK single\r\n");
	struct outcome out;
	struct expect alts[2] = {ex(WANT_OK), ex(WANT_ERR)};
	struct expect e = ex(WANT_UNSET);
	e.one_of = alts;
	e.n_one_of = 2;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_PASS);
	alts[0].multiline = true; /* +OK with a body, or -ERR */
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_PASS);
	/* Neither: a -ERR wanted with a code, or +OK matching something else. */
	struct expect no[2] = {ex(WANT_ERR), ex(WANT_OK)};
	no[1].match = (char *)"^\\+OK [0-9]+";
	e.one_of = no;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.expected, "one of: -ERR | +OK matching"));
	ck_assert_str_eq(out.actual, "+OK single");
	ctx_close();
}
END_TEST

START_TEST(closes_and_silence)
{
	ctx_open("+OK bye\r\n", 9, 1);
	struct outcome out;
	struct expect e = ex(WANT_OK);
	e.closes = 1;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_ptr_null(s->c);
	ctx_close();

	CANNED_CTX("+OK still here\r\n");
	expect_response(x, s, &e, 0, NULL, NULL, &out); /* stays open: fails within the timeout */
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.actual, "stayed open"));
	ctx_close();

	CANNED_CTX("+OK\r\n");
	e = ex(WANT_OK);
	e.silent_for = 0.3;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_PASS);
	ctx_close();

	CANNED_CTX("+OK\r\n-ERR extra\r\n");
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.actual, "-ERR extra");
	ctx_close();
}
END_TEST

/* `{silent_for: N}` alone is "no reply within N s" (a server may wait for the CRLF that ends a command,
 * RFC 1939 §3): silence passes without a reply, a reply is left to the other alternatives, and alone it
 * fails on any reply. solid-pop3d's right answer to a bare-LF NOOP failed before. */
START_TEST(silence_alone_is_no_reply)
{
	struct outcome out;
	struct expect alts[3] = {ex(WANT_OK), ex(WANT_ERR), ex(WANT_UNSET)};
	alts[2].silent_for = 0.3;
	struct expect e = ex(WANT_UNSET);
	e.one_of = alts;
	e.n_one_of = 3;

	ctx_open("", 0, 0);
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ctx_close();

	CANNED_CTX("-ERR bare LF\r\n");
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(x->last_line, "-ERR bare LF");
	ctx_close();

	CANNED_CTX("+OK\r\n");
	expect_response(x, s, &alts[2], 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "no reply within 0.3 s");
	ck_assert_str_eq(out.actual, "+OK");
	ctx_close();
}
END_TEST

START_TEST(closes_keeps_what_came_instead)
{
	/* An over-long line answered twice (its excess run as a command): the {err, closes} alternative
	 * fails at once on the second reply and leaves it for the next read, instead of discarding it
	 * while waiting for a close (P-LINE-2's phantom reply stays visible). */
	CANNED_CTX("-ERR line too long\r\n-ERR unknown command\r\n");
	struct outcome out;
	struct expect alts[2] = {ex(WANT_ERR), ex(WANT_ERR)};
	alts[0].closes = 1;
	struct expect e = ex(WANT_UNSET);
	e.one_of = alts;
	e.n_one_of = 2;
	e.timeout = 0.5;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	struct expect next = ex(WANT_ANY);
	expect_response(x, s, &next, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(x->last_line, "-ERR unknown command");
	ctx_close();

	/* With closes alone the second reply fails it, named. */
	CANNED_CTX("-ERR line too long\r\n-ERR unknown command\r\n");
	struct expect c = ex(WANT_ERR);
	c.closes = 1;
	expect_response(x, s, &c, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_msg(strstr(out.actual, "more octets came instead") != NULL, "%s", out.actual);
	ctx_close();
}
END_TEST

/* last.closed: "yes" when a response was the server's close (RFC 1939 §4 lets a server close after an
 * authentication -ERR; the steps after such a probe run only on "no"). */
START_TEST(last_closed_variable)
{
	ctx_open("-ERR wrong password\r\n", 21, 1);
	struct outcome out;
	struct expect alts[2] = {ex(WANT_ERR), ex(WANT_UNSET)};
	alts[1].closes = 1;
	struct expect e = ex(WANT_UNSET);
	e.one_of = alts;
	e.n_one_of = 2;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(vars_get(&x->vars, "last.closed")->val, "no");
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(vars_get(&x->vars, "last.closed")->val, "yes");
	ctx_close();
}
END_TEST

START_TEST(close_notify_needs_tls)
{
	/* close_notify on a session without TLS is the scenario's mistake, not the server's. */
	ctx_open("+OK bye\r\n", 9, 1);
	struct outcome out;
	struct expect e = ex(WANT_OK);
	e.closes = 1;
	e.close_notify = true;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_ERROR);
	ck_assert_msg(strstr(out.actual, "close_notify needs a TLS session") != NULL, "%s", out.actual);
	ctx_close();
}
END_TEST

START_TEST(levels)
{
	CANNED_CTX("-ERR\r\n");
	struct outcome out;
	struct expect e = ex(WANT_OK);
	e.level = LEVEL_SHOULD;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_int_eq(out.level, LEVEL_SHOULD);
	ck_assert_int_eq(out.own_level, 1);
	int stop;
	ck_assert_int_eq(exec_decide(LEVEL_MUST, &out, &stop), VERDICT_WARN);
	ck_assert_int_eq(stop, 0); /* a SHOULD inside a MUST scenario lets it go on */
	out.own_level = 0;
	ck_assert_int_eq(exec_decide(LEVEL_SHOULD, &out, &stop), VERDICT_WARN);
	ck_assert_int_eq(stop, 1);
	out.level = LEVEL_MAY;
	ck_assert_int_eq(exec_decide(LEVEL_MAY, &out, &stop), VERDICT_SKIP);
	out.level = LEVEL_MUST;
	ck_assert_int_eq(exec_decide(LEVEL_MUST, &out, &stop), VERDICT_FAIL);
	out.kind = OUT_CHECK;
	out.level = LEVEL_MAY;
	ck_assert_int_eq(exec_decide(LEVEL_MAY, &out, &stop), VERDICT_FAIL);
	out.kind = OUT_ERROR;
	ck_assert_int_eq(exec_decide(LEVEL_MUST, &out, &stop), VERDICT_ERROR);
	ctx_close();
}
END_TEST

START_TEST(capture_line_and_icase)
{
	CANNED_CTX("+OK\r\nTOP\r\nlogin-delay 300 USER\r\nLOGIN-DELAY 5\r\n.\r\n"
	           "+OK\r\nTOP\r\nlogin-delay 300 USER\r\n.\r\n+OK\r\nEXPIRE NEVER\r\n.\r\n");
	struct outcome out;
	struct capture caps[2] = {{(char *)"ld", (char *)"^LOGIN-DELAY ([0-9]+)"},
	                          {(char *)"whole", (char *)"^login-delay [0-9]+ user$"}};
	struct expect e = ex(WANT_OK);
	e.multiline = true;
	e.icase = true;
	e.line_captures = caps;
	e.nline_captures = 2;
	e.contains = (char *)"^top$";
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(vars_get(&x->vars, "ld")->val, "300"); /* the first matching line, group 1 */
	ck_assert_str_eq(vars_get(&x->vars, "whole")->val, "login-delay 300 USER"); /* no group: all */
	/* Case matters without icase: no line matches, and nothing is stored. */
	struct capture one = {(char *)"ld2", (char *)"^LOGIN-DELAY ([0-9]+)"};
	struct expect f = ex(WANT_OK);
	f.multiline = true;
	f.line_captures = &one;
	f.nline_captures = 1;
	expect_response(x, s, &f, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "a body line matching /^LOGIN-DELAY ([0-9]+)/ (capture_line ld2)");
	ck_assert_str_eq(out.actual, "none among 2 lines");
	ck_assert_int_eq(out.desync, 0);
	ck_assert_ptr_null(vars_get(&x->vars, "ld2"));
	/* In a one_of, only the winning alternative's captures are stored. */
	struct capture lc = {(char *)"lc", (char *)"^LOGIN-DELAY (.*)"}, ex2 = {(char *)"ex", (char *)"^EXPIRE (.*)"};
	struct expect alts[2] = {ex(WANT_OK), ex(WANT_OK)};
	alts[0].line_captures = &lc;
	alts[0].nline_captures = 1;
	alts[1].line_captures = &ex2;
	alts[1].nline_captures = 1;
	struct expect both = ex(WANT_UNSET);
	both.one_of = alts;
	both.n_one_of = 2;
	expect_response(x, s, &both, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(vars_get(&x->vars, "ex")->val, "NEVER");
	ck_assert_ptr_null(vars_get(&x->vars, "lc"));
	ctx_close();
}
END_TEST

/* A NUL octet is an octet like any other: it hides nothing after it from a regex (runner/rx.c). */
#define NUL_TEXT                                                                                             \
	"+OK a\0 <x@y> b\r\n"                                                                                 \
	"+OK\r\nfirst\0 tail\r\nsecond\r\n.\r\n"                                                          \
	"+OK\r\nx\0 y\r\n.\r\n"
START_TEST(nul_octet_hides_nothing)
{
	CANNED_CTX(NUL_TEXT);
	struct outcome out;
	/* First line: match sees past the NUL (and `.` matches it), not_match too, capture takes it whole. */
	struct expect e = ex(WANT_OK);
	struct capture cap = {(char *)"ts", (char *)"(<[^>]*>) b$"};
	e.match = (char *)"^\\+OK a. <x@y> b$";
	e.not_match = (char *)"^\\+OK a[^<]*$";
	e.captures = &cap;
	e.ncaptures = 1;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(vars_get(&x->vars, "ts")->val, "<x@y>");
	ck_assert_uint_eq(vars_get(&x->vars, "last.line")->len, 14);
	/* Body lines: lines, each_line, contains, capture_line all see the octets after the NUL. */
	struct expect b = ex(WANT_OK);
	char *lines[] = {(char *)"^first. tail$", (char *)"^second$"};
	struct capture lc = {(char *)"tail", (char *)"^first.(.*)$"};
	b.multiline = true;
	b.lines = lines;
	b.nlines = 2;
	b.each_line = (char *)"[a-z]$";
	b.contains = (char *)"tail$";
	b.line_captures = &lc;
	b.nline_captures = 1;
	b.capture_body = (char *)"body";
	expect_response(x, s, &b, 0, NULL, NULL, &out);
	ck_assert_msg(out.kind == OUT_PASS, "%s / %s", out.expected, out.actual);
	ck_assert_str_eq(vars_get(&x->vars, "tail")->val, " tail");
	ck_assert_uint_eq(vars_get(&x->vars, "body")->len, 18);
	/* not_contains fails on what follows a NUL. */
	struct expect n = ex(WANT_OK);
	n.multiline = true;
	n.not_contains = (char *)"^x.*y$";
	expect_response(x, s, &n, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_msg(strstr(out.actual, "x\\x00 y") != NULL, "%s", out.actual);
	ctx_close();
}
END_TEST

/* ---- hostile servers through exec_scenario ----------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* connect; send CMD (expecting `want`, multi-line when body); the result of exec_scenario. */
static void run_hostile(enum behaviour b, const char *cmd, int body, struct result *r, double *elapsed)
{
	server_start(&sv, b, NULL, 0, 0);
	struct target t;
	memset(&t, 0, sizeof t);
	t.name = (char *)"hostile";
	t.host = (char *)"127.0.0.1";
	t.port = sv.port;
	struct account acct[2] = {{(char *)"a", (char *)"x", NULL}, {(char *)"b", (char *)"y", NULL}};
	struct exec_opts o = {.step_timeout = 1.0, .jobs = 1, .fixtures_dir = "fixtures"};
	struct expect e[1] = {ex(WANT_OK)};
	e[0].multiline = body;
	struct step steps[2];
	memset(steps, 0, sizeof steps);
	steps[0].kind = STEP_CONNECT;
	steps[0].u.connect.read_greeting = true;
	steps[0].u.connect.verify = -1;
	steps[1].kind = STEP_SEND;
	steps[1].u.text = ss(cmd);
	steps[1].expect = e;
	steps[1].n_expect = 1;
	struct scenario sc;
	memset(&sc, 0, sizeof sc);
	sc.id = (char *)"test/hostile";
	sc.title = (char *)"hostile";
	sc.level = LEVEL_MUST;
	sc.steps = steps;
	sc.nsteps = 2;
	struct probe p;
	memset(&p, 0, sizeof p);
	double t0 = now_s();
	exec_scenario(&sc, &t, acct, &p, &o, r);
	*elapsed = now_s() - t0;
	server_stop(&sv);
}

START_TEST(never_answers)
{
	struct result r;
	double el;
	run_hostile(SILENT, "STAT", 0, &r, &el);
	ck_assert_int_eq(r.status, VERDICT_ERROR);
	ck_assert_ptr_nonnull(strstr(r.message, "step 1 (connect: plain)"));
	ck_assert_ptr_nonnull(strstr(r.message, "no greeting"));
	ck_assert(el < 2.5);
	result_free(&r);
}
END_TEST

START_TEST(trickles)
{
	struct result r;
	double el;
	run_hostile(TRICKLE, "STAT", 0, &r, &el);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(r.message, "step 2 (send: STAT)"));
	ck_assert_ptr_nonnull(strstr(r.actual, "no response within 1.0 s"));
	ck_assert_msg(el < 2.5, "took %.1f s", el);
	ck_assert_uint_gt(r.ntranscript, 2);
	result_free(&r);
}
END_TEST

START_TEST(floods_without_crlf)
{
	struct result r;
	double el;
	long before = maxrss_kb();
	run_hostile(FLOOD, "STAT", 0, &r, &el);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_str_eq(r.failed_ref, "R1939-GEN-7");
	ck_assert_msg(el < 2.5, "took %.1f s", el);
	result_free(&r);
	run_hostile(FLOOD_BODY, "RETR 1", 1, &r, &el);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_ptr_nonnull(strstr(r.actual, "body line over"));
	ck_assert_msg(el < 2.5, "took %.1f s", el);
	/* Megabytes came; the runner held at most a line's worth (plus slack for the test itself). */
	long grown = maxrss_kb() - before;
	ck_assert_msg(grown < 16 * 1024, "RSS grew by %ld KiB", grown);
	result_free(&r);
}
END_TEST

START_TEST(closes_mid_response)
{
	struct result r;
	double el;
	run_hostile(MID_CLOSE, "RETR 1", 1, &r, &el);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_str_eq(r.failed_ref, "R1939-ML-1");
	ck_assert_ptr_nonnull(strstr(r.message, "step 2 (send: RETR 1)"));
	ck_assert(el < 2.5);
	result_free(&r);
}
END_TEST

START_TEST(lower_case_status)
{
	static const char text[] = "+ok hello\r\n";
	server_start(&sv, CANNED, text, sizeof text - 1, 0);
	struct target t;
	memset(&t, 0, sizeof t);
	t.host = (char *)"127.0.0.1";
	t.port = sv.port;
	struct account acct[2] = {{(char *)"a", (char *)"x", NULL}, {(char *)"b", (char *)"y", NULL}};
	struct exec_opts o = {.step_timeout = 1.0, .jobs = 1};
	struct step st;
	memset(&st, 0, sizeof st);
	st.kind = STEP_CONNECT;
	st.u.connect.read_greeting = true;
	st.u.connect.verify = -1;
	struct scenario sc;
	memset(&sc, 0, sizeof sc);
	sc.id = (char *)"test/lower";
	sc.level = LEVEL_MAY; /* a check on every response fails whatever the level */
	sc.steps = &st;
	sc.nsteps = 1;
	struct probe p;
	memset(&p, 0, sizeof p);
	struct result r;
	exec_scenario(&sc, &t, acct, &p, &o, &r);
	ck_assert_int_eq(r.status, VERDICT_FAIL);
	ck_assert_str_eq(r.failed_ref, "R1939-GEN-9");
	ck_assert_ptr_nonnull(strstr(r.message, "+ok hello"));
	result_free(&r);
	/* The probe does not stop the run for it: the server answered, badly. */
	struct probe pr;
	struct p3err err;
	ck_assert_int_eq(exec_probe(&t, &o, &pr, &err), 0);
	ck_assert_int_eq(pr.reachable, 1);
	ck_assert_str_eq(pr.greeting, "+ok hello");
	ck_assert_int_eq(pr.capa_ok, 0);
	ck_assert_int_eq(pr.gap, GAP_GREETING); /* unknown, not absent */
	ck_assert_msg(strstr(pr.gap_why, "R1939") || strstr(pr.gap_why, "upper case"), "%s", pr.gap_why);
	probe_free(&pr);
	server_stop(&sv);
}
END_TEST

START_TEST(refused_is_error)
{
	/* A port nothing listens on: bind one, then close it. */
	server_start(&sv, SILENT, NULL, 0, 0);
	int port = sv.port;
	server_stop(&sv);
	struct target t;
	memset(&t, 0, sizeof t);
	t.host = (char *)"127.0.0.1";
	t.port = port;
	struct exec_opts o = {.step_timeout = 1.0};
	struct probe p;
	struct p3err err;
	ck_assert_int_ne(exec_probe(&t, &o, &p, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "does not answer"));
	probe_free(&p);
}
END_TEST

/* The verdict rule for setting a session up (docs/scenario-language.md, "Verdicts"): nothing to judge
 * (no answer in time, a close or reset without a word) is an error, as a refused connection is; anything
 * the server did send is judged, and fails. */
static void run_connect(enum behaviour b, const char *data, size_t len, int close_after, int tls, int want,
                        struct result *r)
{
	server_start(&sv, b, data, len, close_after);
	struct target t;
	memset(&t, 0, sizeof t);
	t.name = (char *)"setup";
	t.host = (char *)"127.0.0.1";
	t.port = sv.port;
	t.tls_port = sv.port;
	struct account acct[2] = {{(char *)"a", (char *)"x", NULL}, {(char *)"b", (char *)"y", NULL}};
	struct exec_opts o = {.step_timeout = 0.5, .jobs = 1, .fixtures_dir = "fixtures"};
	struct expect e[1] = {ex(WANT_UNSET)};
	e[0].handshake = want;
	struct step st;
	memset(&st, 0, sizeof st);
	st.kind = STEP_CONNECT;
	st.u.connect.tls = tls;
	st.u.connect.read_greeting = true;
	st.u.connect.verify = 0;
	st.expect = e;
	st.n_expect = want >= 0;
	struct scenario sc;
	memset(&sc, 0, sizeof sc);
	sc.id = (char *)"test/setup";
	sc.title = (char *)"setup";
	sc.level = LEVEL_MUST;
	sc.steps = &st;
	sc.nsteps = 1;
	struct probe p;
	memset(&p, 0, sizeof p);
	exec_scenario(&sc, &t, acct, &p, &o, r);
	server_stop(&sv);
}

START_TEST(setup_silence_errors_answers_fail)
{
	struct result r;
	/* Plain: closed before any greeting → error; half a greeting then a close → error; a wrong
	 * greeting → fail. */
	run_connect(CANNED, "", 0, 1, 0, -1, &r);
	ck_assert_msg(r.status == VERDICT_ERROR, "%d %s", r.status, r.message);
	ck_assert_msg(strstr(r.message, "no greeting") && strstr(r.message, "closed"), "%s", r.message);
	result_free(&r);
	run_connect(CANNED, "+OK half", 8, 1, 0, -1, &r);
	ck_assert_msg(r.status == VERDICT_ERROR, "%d %s", r.status, r.message);
	result_free(&r);
	run_connect(CANNED, "-ERR go away\r\n", 14, 1, 0, -1, &r);
	ck_assert_msg(r.status == VERDICT_FAIL, "%d %s", r.status, r.message);
	result_free(&r);
	/* Implicit TLS: a handshake never answered → error (it once failed, while a greeting never sent
	 * errored); closed unanswered → error; garbage instead of TLS → fail. */
	run_connect(SILENT, NULL, 0, 0, 1, -1, &r);
	ck_assert_msg(r.status == VERDICT_ERROR, "%d %s", r.status, r.message);
	ck_assert_msg(strstr(r.message, "no answer within the timeout") != NULL, "%s", r.message);
	result_free(&r);
	run_connect(CANNED, "", 0, 1, 1, 1, &r);
	ck_assert_msg(r.status == VERDICT_ERROR, "%d %s", r.status, r.message);
	result_free(&r);
	run_connect(CANNED, "+OK not TLS at all\r\n", 20, 0, 1, 1, &r);
	ck_assert_msg(r.status == VERDICT_FAIL, "%d %s", r.status, r.message);
	result_free(&r);
	/* `handshake: fail`: a close refuses (pass); silence tells nothing (error). */
	run_connect(CANNED, "", 0, 1, 1, 0, &r);
	ck_assert_msg(r.status == VERDICT_PASS, "%d %s", r.status, r.message);
	result_free(&r);
	run_connect(SILENT, NULL, 0, 0, 1, 0, &r);
	ck_assert_msg(r.status == VERDICT_ERROR, "%d %s", r.status, r.message);
	result_free(&r);
}
END_TEST

Suite *expect_suite(void)
{
	Suite *su = suite_create("expect");
	TCase *tc = tcase_create("expect");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, status_match_capture);
	tcase_add_test(tc, status_mismatch);
	tcase_add_test(tc, fixture_message_agent_delivery);
	tcase_add_test(tc, body_octets);
	tcase_add_test(tc, last_closed_variable);
	tcase_add_test(tc, response_codes);
	tcase_add_test(tc, multiline_matchers);
	tcase_add_test(tc, stuffing_and_termination_checks);
	tcase_add_test(tc, fixture_message_equality);
	tcase_add_test(tc, one_of_alternatives);
	tcase_add_test(tc, closes_and_silence);
	tcase_add_test(tc, closes_keeps_what_came_instead);
	tcase_add_test(tc, silence_alone_is_no_reply);
	tcase_add_test(tc, close_notify_needs_tls);
	tcase_add_test(tc, levels);
	tcase_add_test(tc, capture_line_and_icase);
	tcase_add_test(tc, nul_octet_hides_nothing);
	suite_add_tcase(su, tc);
	TCase *th = tcase_create("hostile");
	tcase_set_timeout(th, 30);
	tcase_add_test(th, never_answers);
	tcase_add_test(th, trickles);
	tcase_add_test(th, floods_without_crlf);
	tcase_add_test(th, closes_mid_response);
	tcase_add_test(th, lower_case_status);
	tcase_add_test(th, refused_is_error);
	tcase_add_test(th, setup_silence_errors_answers_fail);
	suite_add_tcase(su, th);
	return su;
}
