/* check_expect.c — unit tests for judging a response (runner/exec/expect_judge) on plain lines, with no
 * socket: status, codes, regexes, captures, body matchers, fixture message equality (verbatim and delivery:
 * agent), octets, one_of, levels, NUL octets; and for the reader (runner/exec/expect_read) over a loopback
 * connection the test writes into itself (no thread): last.* variables, un-stuffing, the checks on every
 * response, a body read whole after a failed judgement, closes, silence, close_notify. The executor
 * against hostile servers is check_exec_hostile.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <check.h>

#include "lib/multiline.h"
#include "exec_testutil.h"
#include "runner/exec/exec.h"
#include "runner/exec/exec_int.h"
#include "runner/exec/expect.h"
#include "runner/exec/expect_judge.h"
#include "runner/fixture.h"

Suite *expect_suite(void);

/* ---- a context with no session ----------------------------------------------------------------------- */

static struct target tgt;
static struct exec_opts opts;
static struct scenario scn;
static struct xctx *x;

static void ctx_new(void)
{
	memset(&tgt, 0, sizeof tgt);
	tgt.host = (char *)"127.0.0.1";
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
}

static void ctx_free(void)
{
	xs_close_all(x);
	vars_free(&x->vars);
	xtr_free(&x->tr);
	free(x->last_line);
	free(x);
	x = NULL;
}

static const char *var(const char *name)
{
	const struct var *v = vars_get(&x->vars, name);
	ck_assert_msg(v != NULL, "variable %s not set", name);
	return v->val;
}

/* ---- judging plain lines ------------------------------------------------------------------------------ */

/* A line without its CRLF; L() keeps NUL octets inside a literal. */
struct ln {
	const char *p;
	size_t n;
};
#define L(str) ((struct ln){str, sizeof str - 1})
/* Body lines, un-stuffed, as the reader hands them over. */
#define BODY(...) ((const struct ln[]){__VA_ARGS__, {NULL, 0}})

/* Judge one response given as plain lines, the way expect_read.c drives the judge (closes and silent_for,
 * which read from a connection, aside): the first line, then the body when the first line is +OK and an
 * alternative wants one, then the first alternative that holds wins. A body given where no alternative
 * reads one is a mistake of the test. */
static void judge_lines(const struct expect *e, struct outcome *out, struct ln first, const struct ln *body)
{
	struct judge j;
	if (judge_init(&j, x, e, 0, out) == 0) {
		enum status_kind kind = check_status_kind(first.p, first.n);
		if (judge_first(&j, first.p, first.n, kind, out) == 0) {
			if (kind == STATUS_OK && j.body) {
				ck_assert_ptr_nonnull(body);
				for (const struct ln *l = body; l->p; l++)
					judge_body_line(&j, l->p, l->n);
				judge_body_end(&j);
			} else {
				ck_assert_msg(body == NULL || kind != STATUS_OK, "a body nobody reads");
				judge_no_body(&j);
			}
			size_t win = j.nalts;
			for (size_t i = 0; i < j.nalts && win == j.nalts; i++)
				if (judge_alt_ok(&j, i))
					win = i;
			judge_verdict(&j, win, "main", out);
		}
	}
	judge_level(&j, out);
	judge_free(&j);
}

#define PASSES(out) ck_assert_msg((out).kind == OUT_PASS, "%s / %s", (out).expected, (out).actual)

START_TEST(status_match_capture)
{
	ctx_new();
	struct expect e = tu_expect(WANT_OK);
	struct capture cap = {(char *)"size", (char *)"^\\+OK [0-9]+ ([0-9]+)$"};
	e.match = (char *)"^\\+OK [0-9]+ [0-9]+$";
	e.captures = &cap;
	e.ncaptures = 1;
	struct outcome out;
	judge_lines(&e, &out, L("+OK 2 320"), NULL);
	PASSES(out);
	ck_assert_str_eq(var("size"), "320");
	/* A capture that does not match fails the expectation, and stores nothing. */
	struct capture none = {(char *)"n2", (char *)"^\\+OK ([0-9]+) messages$"};
	e.match = NULL;
	e.captures = &none;
	judge_lines(&e, &out, L("+OK 2 320"), NULL);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.expected, "(capture n2)"));
	ck_assert_ptr_null(vars_get(&x->vars, "n2"));
	/* match and not_match see the whole line, status included. */
	e = tu_expect(WANT_OK);
	e.not_match = (char *)"320$";
	judge_lines(&e, &out, L("+OK 2 320"), NULL);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.actual, "+OK 2 320");
	ctx_free();
}
END_TEST

START_TEST(status_mismatch)
{
	ctx_new();
	struct expect e = tu_expect(WANT_OK);
	e.ref = (char *)"R1939-RETR-1";
	struct outcome out;
	judge_lines(&e, &out, L("-ERR no such message"), NULL);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "+OK");
	ck_assert_str_eq(out.actual, "-ERR no such message");
	ck_assert_str_eq(out.req, "R1939-RETR-1");
	ck_assert_int_eq(out.level, LEVEL_MUST);
	ck_assert_int_eq(out.desync, 0);
	/* Each wanted status against each kind of first line. */
	static const struct {
		enum status_want w;
		const char *line;
		int ok;
	} cases[] = {{WANT_OK, "+OK", 1},    {WANT_OK, "+ abc", 0},  {WANT_ERR, "-ERR", 1},
	             {WANT_ERR, "+OK", 0},   {WANT_ANY, "+OK x", 1}, {WANT_ANY, "-ERR", 1},
	             {WANT_ANY, "+ x", 0},   {WANT_CONT, "+ x", 1},  {WANT_CONT, "+OK", 0},
	             {WANT_UNSET, "+ x", 1}, {WANT_UNSET, "-ERR", 1}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct expect c = tu_expect(cases[i].w);
		struct ln l = {cases[i].line, strlen(cases[i].line)};
		judge_lines(&c, &out, l, NULL);
		ck_assert_msg((out.kind == OUT_PASS) == cases[i].ok, "case %zu: %s", i, out.actual);
	}
	ctx_free();
}
END_TEST

START_TEST(response_codes)
{
	ctx_new();
	struct outcome out;
	struct expect e = tu_expect(WANT_ERR);
	e.code = (char *)"IN-USE";
	judge_lines(&e, &out, L("-ERR [IN-USE] locked"), NULL);
	PASSES(out);
	judge_lines(&e, &out, L("-ERR [IN-USEX] locked"), NULL); /* a code, not a prefix of one */
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	judge_lines(&e, &out, L("-ERR locked [IN-USE]"), NULL); /* only right after the status */
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	e.code = (char *)"SYS"; /* hierarchical: [SYS/TEMP] is a SYS code (RFC 2449 §8) */
	judge_lines(&e, &out, L("-ERR [SYS/TEMP] later"), NULL);
	PASSES(out);
	e.code = (char *)"sys/temp"; /* case-insensitive */
	judge_lines(&e, &out, L("-ERR [SYS/TEMP] later"), NULL);
	PASSES(out);
	e.code = (char *)"none";
	judge_lines(&e, &out, L("-ERR plain"), NULL);
	PASSES(out);
	judge_lines(&e, &out, L("-ERR [AUTH] no"), NULL);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "-ERR with no response code");
	e.code = NULL;
	e.not_code = (char *)"IN-USE";
	judge_lines(&e, &out, L("-ERR [SYS/PERM] no"), NULL);
	PASSES(out);
	judge_lines(&e, &out, L("-ERR [IN-USE] again"), NULL);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.actual, "-ERR [IN-USE] again");
	ctx_free();
}
END_TEST

START_TEST(multiline_matchers)
{
	ctx_new();
	struct outcome out;
	struct expect e = tu_expect(WANT_OK);
	char *lines[] = {(char *)"^1 [0-9]+$", (char *)"^2 [0-9]+$"};
	e.multiline = true;
	e.count = tu_sstr("${n}");
	e.lines = lines;
	e.nlines = 2;
	e.each_line = (char *)"^[0-9]+ [0-9]+$";
	e.contains = (char *)"^2 ";
	e.not_contains = (char *)"^3 ";
	e.capture_body = (char *)"listing";
	vars_set_str(&x->vars, "n", "2");
	const struct ln *listing = BODY(L("1 120"), L("2 200"));
	judge_lines(&e, &out, L("+OK 2 messages"), listing);
	PASSES(out);
	ck_assert_str_eq(var("listing"), "1 120\n2 200");
	/* Each matcher can fail on its own. */
	judge_lines(&e, &out, L("+OK"), BODY(L("1 120"), L("2 200"), L("3 1")));
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "2 body lines"); /* lines: one too many */
	judge_lines(&e, &out, L("+OK"), BODY(L("1 120")));
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.actual, "1 body lines");
	judge_lines(&e, &out, L("+OK"), BODY(L("1 120"), L("2 x")));
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "body line 2 matching /^2 [0-9]+$/");
	e.lines = NULL;
	e.nlines = 0;
	judge_lines(&e, &out, L("+OK"), BODY(L("1 120"), L("2")));
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "every body line matching /^[0-9]+ [0-9]+$/");
	ck_assert_str_eq(out.actual, "line 2: 2");
	judge_lines(&e, &out, L("+OK"), BODY(L("1 120"), L("1 200")));
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "a body line matching /^2 /");
	judge_lines(&e, &out, L("+OK"), BODY(L("2 120"), L("3 200")));
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "no body line matching /^3 /");
	/* The same body against a wrong count. */
	e.count = tu_sstr("3");
	judge_lines(&e, &out, L("+OK"), listing);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "3 body lines");
	ck_assert_str_eq(out.actual, "2 body lines");
	/* A body wanted, a -ERR got. */
	judge_lines(&e, &out, L("-ERR no"), NULL);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.actual, "-ERR no");
	struct expect any = tu_expect(WANT_UNSET);
	any.multiline = true;
	judge_lines(&any, &out, L("-ERR no"), NULL);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "+OK and a multi-line body");
	/* A bad regex is the scenario's error, not the server's. */
	struct expect bad = tu_expect(WANT_OK);
	bad.multiline = true;
	bad.contains = (char *)"(unclosed";
	judge_lines(&bad, &out, L("+OK"), BODY(L("x")));
	ck_assert_int_eq(out.kind, OUT_ERROR);
	ck_assert_ptr_nonnull(strstr(out.actual, "bad regex"));
	ctx_free();
}
END_TEST

/* The lines of a stored message as a server sends them un-stuffed: CRLF-joined; top >= 0: TOP's share. */
static char *file_text(const char *path, long top)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	char *out = strdup(""), *line = NULL;
	size_t cap = 0, len = 0;
	ssize_t n;
	int in_body = 0;
	long body = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		size_t l = (size_t)n;
		if (l && line[l - 1] == '\n')
			l--;
		if (l && line[l - 1] == '\r')
			l--;
		if (in_body && top >= 0 && body++ >= top)
			break;
		if (l == 0)
			in_body = 1;
		out = realloc(out, len + l + 3);
		memcpy(out + len, line, l);
		memcpy(out + len + l, "\r\n", 3);
		len += l + 2;
	}
	free(line);
	fclose(f);
	return out;
}

/* Split a CRLF text into lines (in place), terminated as BODY() is. */
static struct ln *lines_of(char *text)
{
	size_t n = 0, cap = 16;
	struct ln *v = malloc(cap * sizeof *v);
	for (char *p = text, *e; (e = strstr(p, "\r\n")) != NULL; p = e + 2) {
		if (n + 2 > cap)
			v = realloc(v, (cap *= 2) * sizeof *v);
		v[n++] = (struct ln){p, (size_t)(e - p)};
	}
	v[n] = (struct ln){NULL, 0};
	return v;
}

static void judge_text(const struct expect *e, struct outcome *out, const char *text)
{
	char *copy = strdup(text);
	struct ln *body = lines_of(copy);
	judge_lines(e, out, L("+OK message follows"), body);
	free(body);
	free(copy);
}

START_TEST(fixture_message_equality)
{
	ctx_new();
	const struct fixture *fx;
	struct p3err err;
	ck_assert_int_eq(fixture_get("fixtures", "dot-lines", &fx, &err), 0);
	x->fx = fx;
	char *whole = file_text(fx->msgs[0].path, -1);
	char *top = file_text(fx->msgs[1].path, 2);
	struct outcome out;
	struct expect e = tu_expect(WANT_OK);
	e.message = tu_sstr("1");
	judge_text(&e, &out, whole);
	PASSES(out);
	struct expect t = tu_expect(WANT_OK);
	t.top_message = tu_sstr("2");
	t.top_lines = tu_sstr("2");
	judge_text(&t, &out, top);
	PASSES(out);
	/* One octet changed in the body's last line. */
	size_t wl = strlen(whole);
	char *mod = strdup(whole);
	ck_assert_uint_gt(wl, 3);
	mod[wl - 3] = mod[wl - 3] == 'x' ? 'y' : 'x';
	judge_text(&e, &out, mod);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.expected, "of fixture message 1"));
	/* A line missing at the end, a line too many. */
	mod[wl - 3] = whole[wl - 3];
	char *cut = strdup(whole);
	*strstr(cut, "Last line of the body.") = '\0';
	judge_text(&e, &out, cut);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.actual, "the body ended after"));
	char *more = malloc(wl + 16);
	sprintf(more, "%sextra\r\n", whole);
	judge_text(&e, &out, more);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.actual, "an extra line"));
	/* TOP's share: the whole message is one line too long for it. */
	judge_text(&t, &out, whole);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	/* A message the fixture lacks is the scenario's error. */
	e.message = tu_sstr("9");
	judge_text(&e, &out, whole);
	ck_assert_int_eq(out.kind, OUT_ERROR);
	ctx_free();
	free(more);
	free(cut);
	free(mod);
	free(whole);
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
	ctx_new();
	const struct fixture *fx;
	struct p3err err;
	ck_assert_int_eq(fixture_get("fixtures", "three", &fx, &err), 0);
	char *whole = file_text(fx->msgs[0].path, -1);
	char *top = file_text(fx->msgs[0].path, 2);
	const char *fixture_rp = "Return-Path: <sender@fixtures.pop3spec.test>\r\n";
	/* The agent's copy: its Return-Path and a Received line replace the fixture's Return-Path. */
	char *a1 = insert_before(whole, fixture_rp,
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

	tgt.delivery = DELIVERY_AGENT;
	x->fx = fx;
	struct outcome out;
	struct expect e = tu_expect(WANT_OK);
	e.message = tu_sstr("1");
	char octets[32];
	/* The server's own size: the fixture's plus the lines added, minus the fixture's Return-Path. */
	snprintf(octets, sizeof octets, "%llu",
	         fx->msgs[0].size + (unsigned long long)(strlen(agent) - strlen(whole)));
	e.octets = tu_sstr(octets);
	judge_text(&e, &out, agent);
	PASSES(out);
	ck_assert_str_eq(var("last.added_headers"), "3");
	ck_assert_str_eq(var("last.added_fields"), "return-path,received,x-uidl");
	ck_assert_str_eq(var("last.octets"), octets);
	struct expect t = tu_expect(WANT_OK);
	t.top_message = tu_sstr("1");
	t.top_lines = tu_sstr("2");
	judge_text(&t, &out, agent_top);
	PASSES(out);
	ck_assert_str_eq(var("last.added_headers"), "1");
	ck_assert_str_eq(var("last.added_fields"), "x-uidl");
	struct expect m = tu_expect(WANT_OK);
	m.message = tu_sstr("1");
	judge_text(&m, &out, bad);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.expected, "Subject: Small"));
	/* A failed comparison leaves no earlier response's values behind. */
	ck_assert_str_eq(var("last.added_headers"), "0");
	/* Verbatim: the same copy is not the fixture's. */
	tgt.delivery = DELIVERY_VERBATIM;
	judge_text(&m, &out, agent);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.expected, "line 1 of fixture message 1"));
	ctx_free();
	free(bad);
	free(agent);
	free(agent_top);
	free(a1);
	free(whole);
	free(top);
	fixture_cache_clear();
}
END_TEST

/* octets: the body's size as sent, CRLF line ends, stuffing dots not counted (RFC 1939 §11). */
START_TEST(body_octets)
{
	ctx_new();
	struct outcome out;
	struct expect e = tu_expect(WANT_OK);
	e.octets = tu_sstr("9"); /* "ab" CRLF "." CRLF CRLF */
	judge_lines(&e, &out, L("+OK"), BODY(L("ab"), L("."), L("")));
	PASSES(out);
	ck_assert_str_eq(var("last.octets"), "9");
	judge_lines(&e, &out, L("+OK"), BODY(L("ab")));
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.req, "R1939-LIST-8");
	ck_assert_str_eq(out.actual, "4 octets in 1 lines");
	ctx_free();
}
END_TEST

START_TEST(one_of_alternatives)
{
	ctx_new();
	struct outcome out;
	struct expect alts[2] = {tu_expect(WANT_OK), tu_expect(WANT_ERR)};
	struct expect e = tu_expect(WANT_UNSET);
	e.one_of = alts;
	e.n_one_of = 2;
	judge_lines(&e, &out, L("-ERR nope"), NULL);
	PASSES(out);
	alts[0].multiline = true; /* +OK with a body, or -ERR */
	judge_lines(&e, &out, L("+OK"), BODY(L("A")));
	PASSES(out);
	judge_lines(&e, &out, L("-ERR nope"), NULL);
	PASSES(out);
	/* Neither: a -ERR wanted with a code, or +OK matching something else. */
	struct expect no[2] = {tu_expect(WANT_ERR), tu_expect(WANT_OK)};
	no[1].match = (char *)"^\\+OK [0-9]+";
	e.one_of = no;
	judge_lines(&e, &out, L("+OK single"), NULL);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.expected, "one of: -ERR | +OK matching"));
	ck_assert_str_eq(out.actual, "+OK single");
	/* The first alternative that holds wins, and only its captures are stored. */
	struct capture c1 = {(char *)"first", (char *)"^\\+OK (.*)$"},
	               c2 = {(char *)"second", (char *)"(.*)"};
	struct expect two[2] = {tu_expect(WANT_OK), tu_expect(WANT_ANY)};
	two[0].captures = &c1;
	two[0].ncaptures = 1;
	two[1].captures = &c2;
	two[1].ncaptures = 1;
	e.one_of = two;
	judge_lines(&e, &out, L("+OK yes"), NULL);
	PASSES(out);
	ck_assert_str_eq(var("first"), "yes");
	ck_assert_ptr_null(vars_get(&x->vars, "second"));
	ctx_free();
}
END_TEST

START_TEST(levels)
{
	ctx_new();
	struct outcome out;
	struct expect e = tu_expect(WANT_OK);
	e.level = LEVEL_SHOULD;
	judge_lines(&e, &out, L("-ERR"), NULL);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_int_eq(out.level, LEVEL_SHOULD);
	ck_assert_int_eq(out.own_level, 1);
	int stop;
	ck_assert_int_eq(exec_decide(&out, &stop), VERDICT_WARN);
	ck_assert_int_eq(stop, 0); /* a SHOULD inside a MUST scenario lets it go on */
	out.own_level = 0;
	ck_assert_int_eq(exec_decide(&out, &stop), VERDICT_WARN);
	ck_assert_int_eq(stop, 1);
	out.level = LEVEL_MAY;
	ck_assert_int_eq(exec_decide(&out, &stop), VERDICT_SKIP);
	out.level = LEVEL_MUST;
	ck_assert_int_eq(exec_decide(&out, &stop), VERDICT_FAIL);
	out.kind = OUT_CHECK;
	out.level = LEVEL_MAY;
	ck_assert_int_eq(exec_decide(&out, &stop), VERDICT_FAIL);
	out.kind = OUT_ERROR;
	ck_assert_int_eq(exec_decide(&out, &stop), VERDICT_ERROR);
	/* Without its own level, an expectation takes the scenario's. */
	scn.level = LEVEL_MAY;
	struct expect f = tu_expect(WANT_OK);
	judge_lines(&f, &out, L("-ERR"), NULL);
	ck_assert_int_eq(out.level, LEVEL_MAY);
	ck_assert_int_eq(out.own_level, 0);
	ctx_free();
}
END_TEST

START_TEST(capture_line_and_icase)
{
	ctx_new();
	struct outcome out;
	struct capture caps[2] = {{(char *)"ld", (char *)"^LOGIN-DELAY ([0-9]+)"},
	                          {(char *)"whole", (char *)"^login-delay [0-9]+ user$"}};
	struct expect e = tu_expect(WANT_OK);
	e.multiline = true;
	e.icase = true;
	e.line_captures = caps;
	e.nline_captures = 2;
	e.contains = (char *)"^top$";
	judge_lines(&e, &out, L("+OK"), BODY(L("TOP"), L("login-delay 300 USER"), L("LOGIN-DELAY 5")));
	PASSES(out);
	ck_assert_str_eq(var("ld"), "300");                     /* the first matching line, group 1 */
	ck_assert_str_eq(var("whole"), "login-delay 300 USER"); /* no group: all */
	/* Case matters without icase: no line matches, and nothing is stored. */
	struct capture one = {(char *)"ld2", (char *)"^LOGIN-DELAY ([0-9]+)"};
	struct expect f = tu_expect(WANT_OK);
	f.multiline = true;
	f.line_captures = &one;
	f.nline_captures = 1;
	judge_lines(&f, &out, L("+OK"), BODY(L("TOP"), L("login-delay 300 USER")));
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "a body line matching /^LOGIN-DELAY ([0-9]+)/ (capture_line ld2)");
	ck_assert_str_eq(out.actual, "none among 2 lines");
	ck_assert_int_eq(out.desync, 0);
	ck_assert_ptr_null(vars_get(&x->vars, "ld2"));
	/* icase reaches the first line's regexes too. */
	struct expect g = tu_expect(WANT_OK);
	g.match = (char *)"^\\+ok ready$";
	judge_lines(&g, &out, L("+OK READY"), NULL);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	g.icase = true;
	judge_lines(&g, &out, L("+OK READY"), NULL);
	PASSES(out);
	/* In a one_of, only the winning alternative's captures are stored. */
	struct capture lc = {(char *)"lc", (char *)"^LOGIN-DELAY (.*)"},
	               ex2 = {(char *)"ex", (char *)"^EXPIRE (.*)"};
	struct expect alts[2] = {tu_expect(WANT_OK), tu_expect(WANT_OK)};
	alts[0].line_captures = &lc;
	alts[0].nline_captures = 1;
	alts[1].line_captures = &ex2;
	alts[1].nline_captures = 1;
	struct expect both = tu_expect(WANT_UNSET);
	both.one_of = alts;
	both.n_one_of = 2;
	judge_lines(&both, &out, L("+OK"), BODY(L("EXPIRE NEVER")));
	PASSES(out);
	ck_assert_str_eq(var("ex"), "NEVER");
	ck_assert_ptr_null(vars_get(&x->vars, "lc"));
	ctx_free();
}
END_TEST

/* A NUL octet is an octet like any other: it hides nothing after it from a regex (runner/rx.c). */
START_TEST(nul_octet_hides_nothing)
{
	ctx_new();
	struct outcome out;
	/* First line: match sees past the NUL (and `.` matches it), not_match too, capture takes it whole. */
	struct expect e = tu_expect(WANT_OK);
	struct capture cap = {(char *)"ts", (char *)"(<[^>]*>) b$"};
	e.match = (char *)"^\\+OK a. <x@y> b$";
	e.not_match = (char *)"^\\+OK a[^<]*$";
	e.captures = &cap;
	e.ncaptures = 1;
	judge_lines(&e, &out, L("+OK a\0 <x@y> b"), NULL);
	PASSES(out);
	ck_assert_str_eq(var("ts"), "<x@y>");
	/* Body lines: lines, each_line, contains, capture_line all see the octets after the NUL. */
	struct expect b = tu_expect(WANT_OK);
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
	judge_lines(&b, &out, L("+OK"), BODY(L("first\0 tail"), L("second")));
	PASSES(out);
	ck_assert_str_eq(var("tail"), " tail");
	ck_assert_uint_eq(vars_get(&x->vars, "body")->len, 18);
	/* not_contains fails on what follows a NUL. */
	struct expect n = tu_expect(WANT_OK);
	n.multiline = true;
	n.not_contains = (char *)"^x.*y$";
	judge_lines(&n, &out, L("+OK"), BODY(L("x\0 y")));
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_msg(strstr(out.actual, "x\\x00 y") != NULL, "%s", out.actual);
	ctx_free();
}
END_TEST

/* expect_judge_last: the first line read last, judged again without reading (a login's USER refused, an
 * AUTH exchange's end); with no expectation, +OK is wanted. */
START_TEST(judge_last_line)
{
	ctx_new();
	struct outcome out;
	x->last_line = strdup("-ERR [AUTH] bad");
	x->last_len = strlen(x->last_line);
	expect_judge_last(x, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "+OK");
	ck_assert_int_eq(out.level, LEVEL_MUST);
	struct capture cap = {(char *)"code", (char *)"\\[([A-Z]+)\\]"};
	struct expect alts[2] = {tu_expect(WANT_OK), tu_expect(WANT_ERR)};
	alts[1].code = (char *)"AUTH";
	alts[1].captures = &cap;
	alts[1].ncaptures = 1;
	struct expect e = tu_expect(WANT_UNSET);
	e.one_of = alts;
	e.n_one_of = 2;
	expect_judge_last(x, &e, &out);
	PASSES(out);
	ck_assert_str_eq(var("code"), "AUTH");
	alts[1].code = (char *)"IN-USE";
	expect_judge_last(x, &e, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.expected, "one of: +OK | -ERR with [IN-USE]"));
	ck_assert_str_eq(out.actual, "-ERR [AUTH] bad");
	ctx_free();
}
END_TEST

/* What a failure message says was wanted: every key that matters, regexes as interpolated. */
static const char *described(const struct expect *e)
{
	static char desc[1024];
	struct judge j;
	struct outcome out;
	ck_assert_int_eq(judge_init(&j, x, e, 0, &out), 0);
	snprintf(desc, sizeof desc, "%s", j.desc);
	judge_free(&j);
	return desc;
}

START_TEST(describe)
{
	ctx_new();
	struct expect e = tu_expect(WANT_ERR);
	e.code = (char *)"IN-USE";
	ck_assert_str_eq(described(&e), "-ERR with [IN-USE]");
	struct expect s = tu_expect(WANT_UNSET);
	s.silent_for = 2;
	ck_assert_str_eq(described(&s), "no reply within 2.0 s");
	struct expect c = tu_expect(WANT_OK);
	c.closes = 1;
	c.multiline = true;
	ck_assert_str_eq(described(&c), "+OK and a multi-line body, then the server closes");
	struct expect m = tu_expect(WANT_OK);
	m.match = (char *)"^\\+OK ${n} ";
	vars_set_str(&x->vars, "n", "3");
	ck_assert_str_eq(described(&m), "+OK matching /^\\+OK 3 /");
	struct expect alts[2] = {tu_expect(WANT_OK), tu_expect(WANT_ERR)};
	alts[1].not_code = (char *)"SYS";
	struct expect o = tu_expect(WANT_UNSET);
	o.one_of = alts;
	o.n_one_of = 2;
	ck_assert_str_eq(described(&o), "one of: +OK | -ERR without [SYS]");
	ck_assert_str_eq(described(NULL), "a response");
	ctx_free();
}
END_TEST

/* ---- the reader, over a loopback connection the test writes into itself --------------------------- */

static int peer = -1; /* the server's end: what the test sends, or closes */
static struct xsession *s;

static void rd_open(const char *data, size_t len, int close_after)
{
	ctx_new();
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	struct sockaddr_in a = {
	    .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
	tgt.port = ntohs(a.sin_port);
	s = xs_get(x, "main", 1);
	struct p3err err;
	/* The kernel completes the connection on the backlog; accept it afterwards, no thread needed. */
	ck_assert_int_eq(conn_open(&s->c, "127.0.0.1", tgt.port, 1000, &err), CONN_OK);
	peer = accept(lfd, NULL, NULL);
	ck_assert_int_ge(peer, 0);
	close(lfd);
	if (len)
		ck_assert_int_eq(send(peer, data, len, MSG_NOSIGNAL), (ssize_t)len);
	if (close_after) {
		close(peer);
		peer = -1;
	}
}

static void rd_close(void)
{
	ctx_free();
	if (peer >= 0)
		close(peer);
	peer = -1;
}

#define CANNED(text) rd_open(text, sizeof text - 1, 0)

/* What a read leaves behind: last.status, last.line (NUL octets kept), x->last_line; captures from it. */
START_TEST(read_sets_last)
{
	CANNED("+OK 2 320\r\n+OK a\0 b\r\n+OK\r\nx\0y\r\n.\r\n");
	struct expect e = tu_expect(WANT_OK);
	struct capture cap = {(char *)"size", (char *)"^\\+OK [0-9]+ ([0-9]+)$"};
	e.captures = &cap;
	e.ncaptures = 1;
	struct outcome out;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	PASSES(out);
	ck_assert_str_eq(var("size"), "320");
	ck_assert_str_eq(var("last.status"), "+OK");
	ck_assert_str_eq(var("last.line"), "+OK 2 320");
	ck_assert_str_eq(var("last.closed"), "no");
	expect_response(x, s, NULL, 0, NULL, NULL, &out);
	PASSES(out);
	ck_assert_uint_eq(vars_get(&x->vars, "last.line")->len, 8);
	ck_assert_uint_eq(x->last_len, 8);
	/* A NUL octet inside a body line reaches the judge with the rest of the line. */
	struct expect b = tu_expect(WANT_OK);
	b.capture_body = (char *)"body";
	expect_response(x, s, &b, 0, NULL, NULL, &out);
	PASSES(out);
	ck_assert_uint_eq(vars_get(&x->vars, "body")->len, 3);
	rd_close();
}
END_TEST

/* A body is read to its end even when the judge has failed it, so the session stays in step. */
START_TEST(read_body_whole_after_failure)
{
	CANNED("+OK\r\nUSER\r\nTOP\r\n.\r\n-ERR [IN-USE] next\r\n");
	struct outcome out;
	struct expect c = tu_expect(WANT_OK);
	c.multiline = true;
	c.contains = (char *)"^STLS$";
	expect_response(x, s, &c, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_int_eq(out.desync, 0);
	struct expect n = tu_expect(WANT_ERR);
	n.code = (char *)"IN-USE";
	expect_response(x, s, &n, 0, NULL, NULL, &out);
	PASSES(out);
	rd_close();
}
END_TEST

/* Un-stuffing before the judge: octets and lines as sent (RFC 1939 §3, §11); a caller's callback sees
 * every un-stuffed line. */
static void collect(void *ctx, const char *data, size_t len)
{
	char *buf = ctx;
	size_t off = strlen(buf);
	snprintf(buf + off, 256 - off, "%.*s|", (int)len, data);
}

/* The wire form of a stored message: +OK, CRLF line ends, byte-stuffing, terminator. */
static int emit(void *ctx, const char *d, size_t n)
{
	char **buf = ctx;
	size_t old = strlen(*buf);
	*buf = realloc(*buf, old + n + 1);
	memcpy(*buf + old, d, n);
	(*buf)[old + n] = '\0';
	return 0;
}

static char *wire_message(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	char *out = strdup("+OK message follows\r\n"), buf[4096];
	struct ml_encoder enc;
	ml_encoder_init(&enc, -1);
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		ml_encode(&enc, buf, n, emit, &out);
	ml_encode_finish(&enc, emit, &out);
	fclose(f);
	return out;
}

START_TEST(read_unstuffs)
{
	CANNED("+OK\r\nab\r\n..\r\n\r\n.\r\n+OK\r\n..x\r\n.\r\n");
	struct outcome out;
	struct expect e = tu_expect(WANT_OK);
	e.octets = tu_sstr("9"); /* "ab" CRLF "." CRLF CRLF */
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	PASSES(out);
	char seen[256] = "";
	expect_response(x, s, NULL, EXP_QUIET_BODY, collect, seen, &out);
	PASSES(out);
	ck_assert_str_eq(seen, ".x|");
	rd_close();

	/* A fixture message over the wire, stuffed and CRLF-ended by the encoder a server uses, compared as
	 * it streams. */
	const struct fixture *fx;
	struct p3err err;
	ck_assert_int_eq(fixture_get("fixtures", "dot-lines", &fx, &err), 0);
	char *wire = wire_message(fx->msgs[0].path);
	rd_open(wire, strlen(wire), 0);
	x->fx = fx;
	struct expect m = tu_expect(WANT_OK);
	m.message = tu_sstr("1");
	expect_response(x, s, &m, 0, NULL, NULL, &out);
	PASSES(out);
	rd_close();
	free(wire);
	fixture_cache_clear();
}
END_TEST

START_TEST(stuffing_and_termination_checks)
{
	CANNED("+OK\r\n..stuffed\r\n.unstuffed\r\n.\r\n");
	struct outcome out;
	struct expect e = tu_expect(WANT_OK);
	e.multiline = true;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R1939-ML-2");
	rd_close();

	rd_open("+OK\r\nline\r\n", 11, 1); /* closes before the terminator */
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R1939-ML-1");
	rd_close();

	CANNED("+ok fine\r\n");
	expect_response(x, s, NULL, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R1939-GEN-9");
	rd_close();

	CANNED("+OK bare\n");
	expect_response(x, s, NULL, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R1939-GEN-6");
	rd_close();

	CANNED("+ Zm9v\r\n");
	expect_response(x, s, NULL, 0, NULL, NULL, &out); /* no AUTH running */
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R1939-GEN-8");
	rd_close();

	CANNED("+ Zm9v\r\n+ Zm9=\r\n");
	s->in_auth = 1;
	e = tu_expect(WANT_CONT);
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_PASS);
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_CHECK);
	ck_assert_str_eq(out.req, "R4648-B64-3");
	rd_close();
}
END_TEST

START_TEST(closes_and_silence)
{
	rd_open("+OK bye\r\n", 9, 1);
	struct outcome out;
	struct expect e = tu_expect(WANT_OK);
	e.closes = 1;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	PASSES(out);
	ck_assert_ptr_null(s->c);
	rd_close();

	CANNED("+OK still here\r\n");
	expect_response(x, s, &e, 0, NULL, NULL, &out); /* stays open: fails within the timeout */
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_ptr_nonnull(strstr(out.actual, "stayed open"));
	rd_close();

	CANNED("+OK\r\n");
	e = tu_expect(WANT_OK);
	e.silent_for = 0.3;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_PASS);
	rd_close();

	CANNED("+OK\r\n-ERR extra\r\n");
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.actual, "-ERR extra");
	rd_close();
}
END_TEST

/* `{silent_for: N}` alone is "no reply within N s" (a server may wait for the CRLF that ends a command,
 * RFC 1939 §3): silence passes without a reply, a reply is left to the other alternatives, and alone it
 * fails on any reply. solid-pop3d's right answer to a bare-LF NOOP failed before. */
START_TEST(silence_alone_is_no_reply)
{
	struct outcome out;
	struct expect alts[3] = {tu_expect(WANT_OK), tu_expect(WANT_ERR), tu_expect(WANT_UNSET)};
	alts[2].silent_for = 0.3;
	struct expect e = tu_expect(WANT_UNSET);
	e.one_of = alts;
	e.n_one_of = 3;

	rd_open("", 0, 0);
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	PASSES(out);
	rd_close();

	CANNED("-ERR bare LF\r\n");
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	PASSES(out);
	ck_assert_str_eq(x->last_line, "-ERR bare LF");
	rd_close();

	CANNED("+OK\r\n");
	expect_response(x, s, &alts[2], 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.expected, "no reply within 0.3 s");
	ck_assert_str_eq(out.actual, "+OK");
	rd_close();
}
END_TEST

START_TEST(closes_keeps_what_came_instead)
{
	/* An over-long line answered twice (its excess run as a command): the {err, closes} alternative
	 * fails at once on the second reply and leaves it for the next read, instead of discarding it
	 * while waiting for a close (P-LINE-2's phantom reply stays visible). */
	CANNED("-ERR line too long\r\n-ERR unknown command\r\n");
	struct outcome out;
	struct expect alts[2] = {tu_expect(WANT_ERR), tu_expect(WANT_ERR)};
	alts[0].closes = 1;
	struct expect e = tu_expect(WANT_UNSET);
	e.one_of = alts;
	e.n_one_of = 2;
	e.timeout = 0.5;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	PASSES(out);
	struct expect next = tu_expect(WANT_ANY);
	expect_response(x, s, &next, 0, NULL, NULL, &out);
	PASSES(out);
	ck_assert_str_eq(x->last_line, "-ERR unknown command");
	rd_close();

	/* With closes alone the second reply fails it, named. */
	CANNED("-ERR line too long\r\n-ERR unknown command\r\n");
	struct expect c = tu_expect(WANT_ERR);
	c.closes = 1;
	expect_response(x, s, &c, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_msg(strstr(out.actual, "more octets came instead") != NULL, "%s", out.actual);
	rd_close();
}
END_TEST

/* last.closed: "yes" when a response was the server's close (RFC 1939 §4 lets a server close after an
 * authentication -ERR; the steps after such a probe run only on "no"). */
START_TEST(last_closed_variable)
{
	rd_open("-ERR wrong password\r\n", 21, 1);
	struct outcome out;
	struct expect alts[2] = {tu_expect(WANT_ERR), tu_expect(WANT_UNSET)};
	alts[1].closes = 1;
	struct expect e = tu_expect(WANT_UNSET);
	e.one_of = alts;
	e.n_one_of = 2;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	PASSES(out);
	ck_assert_str_eq(var("last.closed"), "no");
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	PASSES(out);
	ck_assert_str_eq(var("last.closed"), "yes");
	/* Closed already: a response wanted is a failure of the server, not an error. */
	struct expect ok = tu_expect(WANT_OK);
	expect_response(x, s, &ok, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_EXPECT);
	ck_assert_str_eq(out.actual, "the server had closed the connection");
	rd_close();
}
END_TEST

START_TEST(close_notify_needs_tls)
{
	/* close_notify on a session without TLS is the scenario's mistake, not the server's. */
	rd_open("+OK bye\r\n", 9, 1);
	struct outcome out;
	struct expect e = tu_expect(WANT_OK);
	e.closes = 1;
	e.close_notify = true;
	expect_response(x, s, &e, 0, NULL, NULL, &out);
	ck_assert_int_eq(out.kind, OUT_ERROR);
	ck_assert_msg(strstr(out.actual, "close_notify needs a TLS session") != NULL, "%s", out.actual);
	rd_close();
}
END_TEST

Suite *expect_suite(void)
{
	Suite *su = suite_create("expect");
	TCase *tj = tcase_create("judge");
	tcase_add_test(tj, status_match_capture);
	tcase_add_test(tj, status_mismatch);
	tcase_add_test(tj, response_codes);
	tcase_add_test(tj, multiline_matchers);
	tcase_add_test(tj, fixture_message_equality);
	tcase_add_test(tj, fixture_message_agent_delivery);
	tcase_add_test(tj, body_octets);
	tcase_add_test(tj, one_of_alternatives);
	tcase_add_test(tj, levels);
	tcase_add_test(tj, capture_line_and_icase);
	tcase_add_test(tj, nul_octet_hides_nothing);
	tcase_add_test(tj, judge_last_line);
	tcase_add_test(tj, describe);
	suite_add_tcase(su, tj);
	TCase *tr = tcase_create("read");
	tcase_set_timeout(tr, 20);
	tcase_add_test(tr, read_sets_last);
	tcase_add_test(tr, read_body_whole_after_failure);
	tcase_add_test(tr, read_unstuffs);
	tcase_add_test(tr, stuffing_and_termination_checks);
	tcase_add_test(tr, closes_and_silence);
	tcase_add_test(tr, silence_alone_is_no_reply);
	tcase_add_test(tr, closes_keeps_what_came_instead);
	tcase_add_test(tr, last_closed_variable);
	tcase_add_test(tr, close_notify_needs_tls);
	suite_add_tcase(su, tr);
	return su;
}
