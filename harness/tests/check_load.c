/* check_load.c — unit tests for the scenario loader: a full scenario into the model, every kind of bad
 * file with its exact "file:line:column: message", octet-exact raw strings (NUL, \xNN), and folders
 * (recursion, sorting, duplicate ids). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include "runner/load.h"
#include "runner/step_kinds.h"

Suite *load_suite(void);

#define HEAD "id: a/b\ntitle: T\nrefs: [R1939-DELE-4]\nlevel: MUST\n"

static struct scenario *load_ok(const char *yaml)
{
	struct scenario *sc = NULL;
	struct p3err err = {0};
	ck_assert_msg(load_scenario_mem("t.yaml", yaml, strlen(yaml), NULL, &sc, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(sc);
	return sc;
}

static void load_bad(const char *yaml, const struct load_opts *o, const char *want)
{
	struct scenario *sc = (struct scenario *)1;
	struct p3err err = {0};
	ck_assert_int_eq(load_scenario_mem("t.yaml", yaml, strlen(yaml), o, &sc, &err), -1);
	ck_assert_ptr_null(sc);
	ck_assert_str_eq(err.msg, want);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	mkdir(p, 0755); /* one level is enough for these tests */
	*slash = '/';
	FILE *f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static char *temp_dir(void)
{
	static char buf[64];
	snprintf(buf, sizeof buf, "/tmp/check_load.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(buf));
	return buf;
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---------- a good scenario ---------- */

START_TEST(full_scenario)
{
	struct scenario *sc = load_ok(
	    "id: rfc1939/dele/marked-not-retrievable\n"
	    "title: A message marked deleted cannot be retrieved\n"
	    "refs: [R1939-DELE-4, R1939-RETR-2]\n"
	    "level: SHOULD\n"
	    "tags: [dele, slow]\n"
	    "fixture: three\n"
	    "fixture2: empty\n"
	    "requires: [UIDL, \"SASL PLAIN\"]\n"
	    "timeout: 12\n"
	    "description: free text\n"
	    "steps:\n"
	    "  - connect: plain\n"                                               /* 12 */
	    "  - connect: {tls: implicit, max_version: \"1.0\", session: old}\n" /* 13 */
	    "    expect: {handshake: fail}\n"
	    "  - login: {account: 2, session: b, method: apop}\n" /* 15 */
	    "    expect: {status: err, code: \"[IN-USE]\"}\n"
	    "  - send: LIST 1\n" /* 17 */
	    "    expect: {status: ok, match: '^\\+OK 1 [0-9]+', capture: {size: '^\\+OK 1 ([0-9]+)'}}\n"
	    "  - raw: \"STAT\\r\\nLIST\\r\\nNOOP\\r\\n\"\n" /* 19 */
	    "    expect: [ok, {count: \"${fixture.count}\", each_line: '^[0-9]+ [0-9]+$'}, ok]\n"
	    "  - send: USER nosuchuser\n" /* 21 */
	    "    expect:\n"
	    "      one_of:\n"
	    "        - ok\n"
	    "        - {status: err, not_code: AUTH}\n"
	    "      level: MAY\n"
	    "      ref: R1939-RETR-2\n"
	    "  - auth: {mechanism: CRAM-MD5, password: wrong, initial: false}\n" /* 28 */
	    "    expect: err\n"
	    "  - starttls: {}\n"                            /* 30 */
	    "  - expect_close: {within: 2, silent: true}\n" /* 31 */
	    "  - drop: rst\n"                               /* 32 */
	    "  - sleep: 1.5\n"                              /* 33 */
	    "  - find: {message: 2, as: second}\n"          /* 34 */
	    "  - send: RETR ${second}\n"                    /* 35 */
	    "    expect: {message: 2, top: {message: 1, lines: 0}, lines: ['^a$'], capture_body: body}\n"
	    "    when: {not_equal: [\"${last.status}\", \"-ERR\"]}\n"
	    "    note: the number found\n"
	    "  - assert: {subset: [capa_before, capa_after], ignore: [STLS], ref: R1939-DELE-4}\n" /* 39 */
	    "  - read: {session: b}\n"                                                             /* 40 */
	    "    expect: {silent_for: 1, closes: true, timeout: 15}\n");
	ck_assert_str_eq(sc->id, "rfc1939/dele/marked-not-retrievable");
	ck_assert_str_eq(sc->title, "A message marked deleted cannot be retrieved");
	ck_assert_uint_eq(sc->nrefs, 2);
	ck_assert_str_eq(sc->refs[1], "R1939-RETR-2");
	ck_assert_int_eq(sc->level, LEVEL_SHOULD);
	ck_assert(scenario_has_tag(sc, "slow"));
	ck_assert(!scenario_has_tag(sc, "config"));
	ck_assert_str_eq(sc->fixture, "three");
	ck_assert_str_eq(sc->fixture2, "empty");
	ck_assert(scenario_needs_reset(sc));
	ck_assert_uint_eq(sc->nrequires, 2);
	ck_assert_str_eq(sc->requires[1], "SASL PLAIN");
	ck_assert(sc->timeout == 12);
	ck_assert_str_eq(sc->description, "free text");
	ck_assert_int_eq(sc->id_pos.line, 1);
	ck_assert_int_eq(sc->id_pos.column, 5);
	ck_assert_uint_eq(sc->nsteps, 15);

	const struct step *st = sc->steps;
	ck_assert_int_eq(st[0].kind, STEP_CONNECT);
	ck_assert(!st[0].u.connect.tls);
	ck_assert(st[0].u.connect.read_greeting);
	ck_assert_str_eq(st[0].session, "main");
	ck_assert_str_eq(st[0].pos.file, "t.yaml");
	ck_assert_int_eq(st[0].pos.line, 12);
	ck_assert_int_eq(st[0].pos.column, 5);

	ck_assert(st[1].u.connect.tls);
	ck_assert_str_eq(st[1].u.connect.max_version, "1.0");
	ck_assert_str_eq(st[1].session, "old");
	ck_assert_uint_eq(st[1].n_expect, 1);
	ck_assert_int_eq(st[1].expect[0].handshake, 0);
	ck_assert_int_eq(st[1].expect[0].pos.line, 14);

	ck_assert_int_eq(st[2].kind, STEP_LOGIN);
	ck_assert_int_eq(st[2].u.login.account, 2);
	ck_assert_int_eq(st[2].u.login.method, LOGIN_APOP);
	ck_assert_str_eq(st[2].session, "b");
	ck_assert_int_eq(st[2].expect[0].status, WANT_ERR);
	ck_assert_str_eq(st[2].expect[0].code, "IN-USE");

	ck_assert_int_eq(st[3].kind, STEP_SEND);
	ck_assert_str_eq(st[3].u.text.s, "LIST 1");
	ck_assert_str_eq(st[3].expect[0].match, "^\\+OK 1 [0-9]+");
	ck_assert_uint_eq(st[3].expect[0].ncaptures, 1);
	ck_assert_str_eq(st[3].expect[0].captures[0].name, "size");
	ck_assert(!st[3].expect[0].multiline);
	ck_assert_int_eq(st[3].expect[0].closes, -1);
	ck_assert_int_eq(st[3].expect[0].level, -1);

	ck_assert_int_eq(st[4].kind, STEP_RAW);
	ck_assert_uint_eq(st[4].u.text.len, 18);
	ck_assert_mem_eq(st[4].u.text.s, "STAT\r\nLIST\r\nNOOP\r\n", 18);
	ck_assert_uint_eq(st[4].n_expect, 3);
	ck_assert_int_eq(st[4].expect[0].status, WANT_OK);
	ck_assert(st[4].expect[1].multiline); /* implied by the body checks */
	ck_assert_str_eq(st[4].expect[1].count.s, "${fixture.count}");
	ck_assert_str_eq(st[4].expect[1].each_line, "^[0-9]+ [0-9]+$");

	const struct expect *e = &st[5].expect[0];
	ck_assert_uint_eq(e->n_one_of, 2);
	ck_assert_int_eq(e->one_of[0].status, WANT_OK);
	ck_assert_int_eq(e->one_of[1].status, WANT_ERR);
	ck_assert_str_eq(e->one_of[1].not_code, "AUTH");
	ck_assert_int_eq(e->level, LEVEL_MAY);
	ck_assert_str_eq(e->ref, "R1939-RETR-2");

	ck_assert_int_eq(st[6].kind, STEP_AUTH);
	ck_assert_str_eq(st[6].u.auth.mechanism, "CRAM-MD5");
	ck_assert_str_eq(st[6].u.auth.password.s, "wrong");
	ck_assert_ptr_null(st[6].u.auth.authzid.s);
	ck_assert_int_eq(st[6].u.auth.initial, 0);
	ck_assert_int_eq(st[6].u.auth.account, 1);

	ck_assert_int_eq(st[7].kind, STEP_STARTTLS);
	ck_assert_uint_eq(st[7].n_expect, 0);
	ck_assert_int_eq(st[8].kind, STEP_EXPECT_CLOSE);
	ck_assert(st[8].u.close.within == 2);
	ck_assert(st[8].u.close.silent);
	ck_assert_int_eq(st[9].u.drop, DROP_RST);
	ck_assert_str_eq(st[10].u.sleep.s, "1.5");
	ck_assert_str_eq(st[11].u.find.message.s, "2");
	ck_assert_str_eq(st[11].u.find.as, "second");

	e = &st[12].expect[0];
	ck_assert_str_eq(st[12].u.text.s, "RETR ${second}");
	ck_assert_str_eq(e->message.s, "2");
	ck_assert_str_eq(e->top_message.s, "1");
	ck_assert_str_eq(e->top_lines.s, "0");
	ck_assert(e->lines_set);
	ck_assert_uint_eq(e->nlines, 1);
	ck_assert_str_eq(e->capture_body, "body");
	ck_assert(e->multiline);
	ck_assert_int_eq(st[12].when_op, COND_NOT_EQUAL);
	ck_assert_str_eq(st[12].when_a.s, "${last.status}");
	ck_assert_str_eq(st[12].when_b.s, "-ERR");
	ck_assert_str_eq(st[12].note, "the number found");

	ck_assert_int_eq(st[13].u.assert_.op, ASSERT_SUBSET);
	ck_assert_str_eq(st[13].u.assert_.a.s, "capa_before");
	ck_assert_uint_eq(st[13].u.assert_.nignore, 1);
	ck_assert_str_eq(st[13].u.assert_.ref, "R1939-DELE-4");

	ck_assert_int_eq(st[14].kind, STEP_READ);
	ck_assert_str_eq(st[14].session, "b");
	ck_assert(st[14].expect[0].silent_for == 1);
	ck_assert_int_eq(st[14].expect[0].closes, 1);
	ck_assert(st[14].expect[0].timeout == 15);
	scenario_free(sc);
}
END_TEST

START_TEST(shorthand_forms)
{
	struct scenario *sc = load_ok(HEAD "steps:\n"
	                                   "  - connect:\n"
	                                   "  - connect: tls\n"
	                                   "    expect: {handshake: ok}\n"
	                                   "  - connect: {plain: true, greeting: false}\n"
	                                   "  - login:\n"
	                                   "  - auth: PLAIN\n"
	                                   "  - drop:\n"
	                                   "  - send: \"\"\n"
	                                   "  - send: NOOP\n"
	                                   "    expect: {lines: []}\n"
	                                   "  - assert: {distinct: ids}\n"
	                                   "  - assert: {match: [\"${greeting}\", '<[^<>@]+@[^<>]+>']}\n"
	                                   "  - sleep: \"${idle_timeout}\"\n");
	const struct step *st = sc->steps;
	ck_assert_uint_eq(sc->nsteps, 11);
	ck_assert(!st[0].u.connect.tls);
	ck_assert(st[1].u.connect.tls);
	ck_assert_int_eq(st[1].expect[0].handshake, 1);
	ck_assert(!st[2].u.connect.read_greeting);
	ck_assert_int_eq(st[3].u.login.method, LOGIN_OFFERED);
	ck_assert_int_eq(st[3].u.login.account, 1);
	ck_assert_str_eq(st[4].u.auth.mechanism, "PLAIN");
	ck_assert_int_eq(st[4].u.auth.initial, -1);
	ck_assert_int_eq(st[5].u.drop, DROP_FIN);
	ck_assert_uint_eq(st[6].u.text.len, 0);
	ck_assert(st[7].expect[0].lines_set);
	ck_assert_uint_eq(st[7].expect[0].nlines, 0);
	ck_assert(st[7].expect[0].multiline);
	ck_assert_int_eq(st[8].u.assert_.op, ASSERT_DISTINCT);
	ck_assert_str_eq(st[8].u.assert_.a.s, "ids");
	ck_assert_int_eq(st[9].u.assert_.op, ASSERT_MATCH);
	ck_assert_str_eq(st[10].u.sleep.s, "${idle_timeout}");
	ck_assert(!scenario_needs_reset(sc));
	ck_assert_str_eq(level_name(sc->level), "MUST");
	ck_assert_str_eq(step_kind_name(st[10].kind), "sleep");
	scenario_free(sc);
}
END_TEST

/* ---------- extension steps: starttls inject, login/auth tls, capture_line, icase, numeric asserts
 * ---------- */

START_TEST(extension_keys)
{
	struct scenario *sc =
	    load_ok(HEAD "steps:\n"
	                 "  - starttls: {inject: \"CAPA\\r\\n\"}\n"
	                 "  - starttls: {inject: \"NOOP\\r\\n\", quiet: 2.5, session: b}\n"
	                 "  - starttls:\n"
	                 "  - login: {tls: false}\n"
	                 "  - auth: {mechanism: PLAIN, tls: true}\n"
	                 "  - send: CAPA\n"
	                 "    expect: {icase: true, capture_line: {ld: '^LOGIN-DELAY ([0-9]+)',"
	                 " ex: '^EXPIRE (.*)$'}}\n"
	                 "  - assert: {le: [\"${ld}\", 300]}\n"
	                 "  - assert: {ge: [\"${ex}\", \"${ex0}\"], infinite: NEVER, "
	                 "ref: R2449-EXPIRE-4}\n"
	                 "  - assert: {lt: [1, 2]}\n"
	                 "  - assert: {gt: [2, 1]}\n"
	                 "  - login:\n"
	                 "  - starttls: {for_login: true}\n");
	const struct step *st = sc->steps;
	ck_assert_uint_eq(sc->nsteps, 12);
	ck_assert(st[11].u.starttls.for_login);
	ck_assert(!st[0].u.starttls.for_login);
	ck_assert_uint_eq(st[0].u.starttls.inject.len, 6);
	ck_assert_mem_eq(st[0].u.starttls.inject.s, "CAPA\r\n", 6);
	ck_assert(st[0].u.starttls.quiet == 1.0); /* inject implies a 1 s quiet wait */
	ck_assert(st[1].u.starttls.quiet == 2.5);
	ck_assert_str_eq(st[1].session, "b");
	ck_assert_ptr_null(st[2].u.starttls.inject.s);
	ck_assert(st[2].u.starttls.quiet == 0);
	ck_assert_int_eq(st[3].u.login.tls, TLS_FIRST_NO);
	ck_assert_int_eq(st[4].u.auth.tls, TLS_FIRST_YES);
	ck_assert_int_eq(st[10].u.login.tls, TLS_FIRST_TARGET);
	const struct expect *e = &st[5].expect[0];
	ck_assert(e->icase);
	ck_assert(e->multiline); /* capture_line reads the body */
	ck_assert_uint_eq(e->nline_captures, 2);
	ck_assert_str_eq(e->line_captures[0].name, "ld");
	ck_assert_str_eq(e->line_captures[1].regex, "^EXPIRE (.*)$");
	ck_assert_int_eq(st[6].u.assert_.op, ASSERT_LE);
	ck_assert_str_eq(st[6].u.assert_.b.s, "300");
	ck_assert_int_eq(st[7].u.assert_.op, ASSERT_GE);
	ck_assert_str_eq(st[7].u.assert_.infinite, "NEVER");
	ck_assert_str_eq(st[7].u.assert_.ref, "R2449-EXPIRE-4");
	ck_assert_int_eq(st[8].u.assert_.op, ASSERT_LT);
	ck_assert_int_eq(st[9].u.assert_.op, ASSERT_GT);
	scenario_free(sc);
}
END_TEST

START_TEST(err_extension_keys)
{
	load_bad(HEAD "steps:\n  - starttls: {inject: \"\"}\n", NULL,
	         "t.yaml:6:24: 'inject' needs at least one octet");
	load_bad(HEAD "steps:\n  - starttls: {quiet: 0}\n", NULL,
	         "t.yaml:6:23: 'quiet' must be more than 0 and at most 600 seconds");
	load_bad(HEAD "steps:\n  - starttls: {then: x}\n", NULL,
	         "t.yaml:6:16: unknown key 'then' in starttls; allowed: inject, quiet, for_login, session");
	load_bad(HEAD "steps:\n  - login: {tls: maybe}\n", NULL,
	         "t.yaml:6:18: 'tls' must be true or false, found 'maybe'");
	load_bad(HEAD "steps:\n  - send: CAPA\n    expect: {capture_line: x}\n", NULL,
	         "t.yaml:7:28: 'capture_line' must be a mapping of names to regexes, found a string");
	load_bad(HEAD "steps:\n  - send: CAPA\n    expect: {capture_line: {a: '['}}\n", NULL,
	         "t.yaml:7:32: bad regex for 'capture_line' '[': Invalid regular expression");
	load_bad(HEAD "steps:\n  - send: CAPA\n    expect: {capture: {a: x}, capture_line: {a: y}}\n", NULL,
	         "t.yaml:7:13: 'a' is both a capture and a capture_line");
	load_bad(HEAD "steps:\n  - send: CAPA\n    expect: {multiline: false, capture_line: {a: y}}\n", NULL,
	         "t.yaml:7:13: 'multiline: false' with a body check (count, lines, message ...)");
	load_bad(HEAD "steps:\n  - assert: {le: [1]}\n", NULL,
	         "t.yaml:6:18: 'le' must be a list of two values, found 1");
	load_bad(HEAD "steps:\n  - assert: {equal: [1, 1], infinite: NEVER}\n", NULL,
	         "t.yaml:6:39: 'infinite' goes only with le, ge, lt or gt");
	load_bad(HEAD "steps:\n  - assert: {ge: [1, 1], infinite: 9}\n", NULL,
	         "t.yaml:6:36: 'infinite' must be a word such as NEVER, not a number");
	load_bad(HEAD "steps:\n  - assert: {le: [1, 2], ge: [2, 1]}\n", NULL,
	         "t.yaml:6:26: 'assert' has two comparisons, 'le' and 'ge'");
}
END_TEST

/* ---------- raw octets ---------- */

START_TEST(raw_keeps_nul_and_octets)
{
	struct scenario *sc = load_ok(HEAD "steps:\n"
	                                   "  - raw: \"US\\0ER \\xff\\x80\\u00e9\\t\\\"x\\\\\\r\\n\"\n"
	                                   "  - send: \"a\\0b\"\n"
	                                   "  - raw: |\n"
	                                   "      literal\n");
	const struct sstr *t = &sc->steps[0].u.text;
	static const char want[] = "US\0ER \xff\x80\xc3\xa9\t\"x\\\r\n";
	ck_assert_uint_eq(t->len, sizeof want - 1);
	ck_assert_mem_eq(t->s, want, sizeof want - 1);
	ck_assert_uint_eq(sc->steps[1].u.text.len, 3);
	ck_assert_mem_eq(sc->steps[1].u.text.s, "a\0b", 3);
	ck_assert_str_eq(sc->steps[2].u.text.s, "literal\n");
	scenario_free(sc);
}
END_TEST

START_TEST(raw_after_multibyte_text)
{
	/* Marks count characters; the octet offsets must still find the string. */
	struct scenario *sc = load_ok("id: a/b\ntitle: Ünïcødé ✓\nrefs: [R1939-DELE-4]\nlevel: MUST\n"
	                              "steps: [{send: NOOP, note: é}, {raw: \"é\\xfe\"}]\n");
	ck_assert_uint_eq(sc->steps[1].u.text.len, 3);
	ck_assert_mem_eq(sc->steps[1].u.text.s, "\xc3\xa9\xfe", 3);
	scenario_free(sc);
}
END_TEST

/* ---------- errors, exactly ---------- */

START_TEST(err_yaml_syntax)
{
	load_bad(
	    "id: [x\ntitle: y\n", NULL,
	    "t.yaml:2:6: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence "
	    "at line 1, column 5)");
	load_bad(HEAD "steps:\n  - send: NOOP\n    note: a: b\n", NULL,
	         "t.yaml:7:12: YAML syntax error: mapping values are not allowed in this context");
	load_bad("id: a\xff\n", NULL, "t.yaml:1:6: YAML error: invalid leading UTF-8 octet");
	load_bad("", NULL, "t.yaml:1:1: empty file; a scenario needs id, title, refs, level and steps");
	load_bad(HEAD "steps: [{send: NOOP}]\n---\nx: 1\n", NULL,
	         "t.yaml:7:1: a second YAML document; a file holds one");
	load_bad("- a\n", NULL, "t.yaml:1:1: a scenario must be a mapping, found a list");
}
END_TEST

/* Found by fuzz_yaml: glibc's regcomp needs memory exponential in stacked or nested repetitions. */
START_TEST(err_regex_blowup)
{
	struct scenario *sc = load_ok(
	    HEAD "steps:\n  - send: NOOP\n    expect: {match: '^([A-Za-z0-9+/]{4})*[0-9]{0,510}\\++$'}\n");
	scenario_free(sc);
	load_bad(HEAD "steps:\n  - send: NOOP\n    expect: {match: 'a+++'}\n", NULL,
	         "t.yaml:7:21: regex for 'match' 'a+++' refused: a repetition of a repetition at offset 2 "
	         "(undefined in POSIX)");
	load_bad(HEAD "steps:\n  - send: NOOP\n    expect: {match: '((a{100}){100}){100}'}\n", NULL,
	         "t.yaml:7:21: regex for 'match' '((a{100}){100}){100}' refused: counted repetitions that "
	         "multiply past 131072");
	load_bad(
	    HEAD "steps:\n  - send: NOOP\n    expect: {match: 'a{2000}'}\n", NULL,
	    "t.yaml:7:21: regex for 'match' 'a{2000}' refused: a repetition bound above 1000 at offset 1");
}
END_TEST

START_TEST(err_unknown_key)
{
	load_bad(
	    HEAD "colour: red\nsteps: [{send: NOOP}]\n", NULL,
	    "t.yaml:5:1: unknown key 'colour' in a scenario; allowed: id, title, refs, level, tags, fixture, "
	    "fixture2, modifies, requires, timeout, description, steps");
	load_bad(
	    HEAD "steps:\n  - send: NOOP\n    expect: {status: ok, mach: x}\n", NULL,
	    "t.yaml:7:26: unknown key 'mach' in expectation; allowed: status, code, not_code, match, "
	    "not_match, "
	    "multiline, count, octets, lines, each_line, contains, not_contains, message, top, capture, "
	    "capture_line, "
	    "capture_body, icase, closes, close_notify, silent_for, handshake, one_of, level, ref, timeout");
	/* close_notify judges a close: it needs closes: true beside it. */
	load_bad(HEAD "steps:\n  - send: QUIT\n    expect: {status: ok, close_notify: true}\n", NULL,
	         "t.yaml:7:13: 'close_notify' goes with 'closes: true' (it judges how the server closes)");
	scenario_free(load_ok(
	    HEAD "steps:\n  - send: QUIT\n    expect: {status: ok, closes: true, close_notify: true}\n"));
	load_bad(HEAD "steps:\n  - login: {acount: 2}\n", NULL,
	         "t.yaml:6:13: unknown key 'acount' in login; allowed: account, method, tls, session");
	load_bad(HEAD "title: again\nsteps: [{send: NOOP}]\n", NULL,
	         "t.yaml:5:1: duplicate key 'title' in a scenario (first on line 2)");
}
END_TEST

START_TEST(err_wrong_type)
{
	load_bad(HEAD "tags: dele\nsteps: [{send: NOOP}]\n", NULL,
	         "t.yaml:5:7: 'tags' must be a list, found a string");
	load_bad(HEAD "timeout: soon\nsteps: [{send: NOOP}]\n", NULL,
	         "t.yaml:5:10: 'timeout' must be a non-negative number, found 'soon'");
	load_bad(HEAD "modifies: maybe\nsteps: [{send: NOOP}]\n", NULL,
	         "t.yaml:5:11: 'modifies' must be true or false, found 'maybe'");
	load_bad(HEAD "steps: {send: NOOP}\n", NULL,
	         "t.yaml:5:8: 'steps' must be a list of steps, found a mapping");
	load_bad(HEAD "steps:\n  - send: [NOOP]\n", NULL,
	         "t.yaml:6:11: 'send' must be a string, found a list");
	load_bad(HEAD "steps:\n  - send: NOOP\n    expect: {count: many}\n", NULL,
	         "t.yaml:7:21: 'count' must be a whole number or a ${...} value, found 'many'");
	load_bad("id: a/b\ntitle: T\nrefs: R1939-DELE-4\nlevel: MUST\nsteps: [{send: NOOP}]\n", NULL,
	         "t.yaml:3:7: 'refs' must be a non-empty list of requirement ids, found a string");
	load_bad(
	    HEAD "steps:\n  - NOOP\n", NULL,
	    "t.yaml:6:5: a step must be a mapping with one action (connect, send, raw, ...), found a string");
}
END_TEST

START_TEST(err_missing_key)
{
	load_bad("id: a/b\ntitle: T\nlevel: MUST\nsteps: [{send: NOOP}]\n", NULL,
	         "t.yaml:1:1: missing required key 'refs'");
	load_bad(HEAD "\n", NULL, "t.yaml:1:1: missing required key 'steps'");
	load_bad(HEAD "steps:\n  - find: {as: n}\n", NULL,
	         "t.yaml:6:11: 'find' needs 'message' (a fixture message number)");
	load_bad(HEAD "steps:\n  - auth: {account: 2}\n", NULL, "t.yaml:6:11: 'auth' needs 'mechanism'");
}
END_TEST

START_TEST(err_bad_level)
{
	load_bad("id: a/b\ntitle: T\nrefs: [R1939-DELE-4]\nlevel: must\nsteps: [{send: NOOP}]\n", NULL,
	         "t.yaml:4:8: bad level 'must'; expected MUST, SHOULD or MAY");
	load_bad(HEAD "steps:\n  - send: NOOP\n    expect: {status: ok, level: OPTIONAL}\n", NULL,
	         "t.yaml:7:33: bad level 'OPTIONAL' for 'level'; expected MUST, SHOULD or MAY");
}
END_TEST

START_TEST(err_bad_regex)
{
	load_bad(HEAD "steps:\n  - send: NOOP\n    expect: {match: '^(+OK'}\n", NULL,
	         "t.yaml:7:21: bad regex for 'match' '^(+OK': Invalid preceding regular expression");
	load_bad(HEAD "steps:\n  - send: NOOP\n    expect: {lines: ['ok', 'a[']}\n", NULL,
	         "t.yaml:7:28: bad regex for 'lines' 'a[': Invalid regular expression");
	/* ${...} parts stand for a word, so a pattern around them is still checked. */
	struct scenario *sc =
	    load_ok(HEAD "steps:\n  - send: NOOP\n    expect: {match: '^\\+OK ${n} [0-9]+$'}\n");
	scenario_free(sc);
}
END_TEST

START_TEST(err_actions)
{
	load_bad(HEAD "steps:\n  - sned: NOOP\n", NULL,
	         "t.yaml:6:5: unknown key 'sned' in step; allowed: connect, send, raw, read, login, auth, "
	         "starttls, "
	         "expect_close, drop, sleep, find, assert, session, expect, when, note");
	load_bad(HEAD "steps:\n  - send: NOOP\n    raw: \"x\"\n", NULL,
	         "t.yaml:7:5: step has two actions, 'send' and 'raw'; write two steps");
	load_bad(HEAD "steps:\n  - raw: \"x\"\n    send: NOOP\n", NULL,
	         "t.yaml:7:5: step has two actions, 'raw' and 'send'; write two steps");
	load_bad(HEAD "steps:\n  - note: hi\n", NULL,
	         "t.yaml:6:5: step has no action; expected one of connect, send, raw, read, login, auth, "
	         "starttls, "
	         "expect_close, drop, sleep, find, assert");
	load_bad(HEAD "steps:\n  - sleep: 1\n    expect: ok\n", NULL,
	         "t.yaml:7:13: 'expect' does not go with sleep, which reads no response");
	load_bad(
	    HEAD "steps:\n  - send: X\n    expect: {one_of: [ok, err], status: ok}\n", NULL,
	    "t.yaml:7:33: 'status' cannot stand beside 'one_of' (only level, ref and timeout can); put it in "
	    "each alternative");
	load_bad(HEAD "steps:\n  - send: \"A\\r\\nB\"\n", NULL,
	         "t.yaml:6:11: 'send' adds CRLF itself; use 'raw' for line ends of your own");
	load_bad(HEAD "steps:\n  - send: \"USER ${user\"\n", NULL,
	         "t.yaml:6:11: unterminated ${ in '${user' (write $${ for a literal ${)");
	load_bad(HEAD "steps:\n  - send: X\n    expect: [ok, ok]\n", NULL,
	         "t.yaml:7:13: a list of expectations (pipelined responses) goes only with raw");
	load_bad(HEAD "steps:\n  - drop: later\n", NULL, "t.yaml:6:11: 'drop' must be fin, rst or half");
	load_bad(HEAD "steps:\n  - send: X\n    expect: okay\n", NULL,
	         "t.yaml:7:13: bad expectation 'okay'; expected ok, err, any or cont");
	load_bad(HEAD "steps:\n  - connect: {tls: implicit, max_version: 1.4}\n", NULL,
	         "t.yaml:6:43: bad TLS version '1.4' for 'max_version'; expected \"1.0\", \"1.1\", \"1.2\" "
	         "or \"1.3\"");
}
END_TEST

START_TEST(err_requirement_ids)
{
	load_bad(
	    "id: a/b\ntitle: T\nrefs: [R1939-DELE-4, dele-4]\nlevel: MUST\nsteps: [{send: NOOP}]\n", NULL,
	    "t.yaml:3:22: bad requirement id 'dele-4' in 'refs'; ids look like R1939-DELE-3 or P-LINE-2");
	load_bad(
	    HEAD "steps:\n  - send: X\n    expect: {status: ok, ref: R1939-X}\n", NULL,
	    "t.yaml:7:31: bad requirement id 'R1939-X' in 'ref'; ids look like R1939-DELE-3 or P-LINE-2");
	/* With a catalog, the id must also be one of its rows. */
	static const char cat[] = "| R1939-DELE-4 | 1939 §5 | MUST | t | o | — |\n";
	struct reqs r;
	struct p3err err = {0};
	ck_assert_int_eq(reqs_parse("REQ.md", cat, strlen(cat), &r, &err), 0);
	struct load_opts o = {.reqs = &r};
	load_bad(
	    "id: a/b\ntitle: T\nrefs: [R1939-DELE-4, R1939-DELE-99]\nlevel: MUST\nsteps: [{send: NOOP}]\n",
	    &o, "t.yaml:3:22: unknown requirement id 'R1939-DELE-99' (not in REQ.md)");
	struct scenario *sc = NULL;
	const char *good = HEAD "steps: [{send: NOOP}]\n";
	ck_assert_int_eq(load_scenario_mem("t.yaml", good, strlen(good), &o, &sc, &err), 0);
	scenario_free(sc);
	reqs_free(&r);
}
END_TEST

/* ---------- folders ---------- */

START_TEST(folder_sorted)
{
	char *dir = temp_dir();
	write_file(dir, "b/one.yaml",
	           "id: z/last\ntitle: T\nrefs: [R1939-DELE-4]\nlevel: MUST\nsteps: [{send: NOOP}]\n");
	write_file(dir, "a/two.yaml",
	           "id: m/middle\ntitle: T\nrefs: [R1939-DELE-4]\nlevel: MAY\nsteps: [{send: NOOP}]\n");
	write_file(dir, "a/three.yaml",
	           "id: a/first\ntitle: T\nrefs: [R1939-DELE-4]\nlevel: MUST\nsteps: [{send: NOOP}]\n");
	write_file(dir, "a/notes.txt", "not yaml: [");
	struct scenario_list l;
	struct p3err err = {0};
	const char *paths[] = {dir};
	ck_assert_msg(load_scenarios(paths, 1, NULL, &l, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.v[0]->id, "a/first");
	ck_assert_str_eq(l.v[1]->id, "m/middle");
	ck_assert_str_eq(l.v[2]->id, "z/last");
	scenario_list_free(&l);

	write_file(dir, "b/dup.yaml",
	           "id: m/middle\ntitle: T\nrefs: [R1939-DELE-4]\nlevel: MUST\nsteps: [{send: NOOP}]\n");
	ck_assert_int_eq(load_scenarios(paths, 1, NULL, &l, &err), -1);
	ck_assert_uint_eq(l.n, 0);
	char want[PATH_MAX * 2];
	snprintf(want, sizeof want,
	         "%s/b/dup.yaml:1:5: duplicate scenario id 'm/middle' (also in %s/a/two.yaml)", dir, dir);
	ck_assert_str_eq(err.msg, want);
	rm_rf(dir);
}
END_TEST

static int nerrors;
static void count_error(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
	nerrors++;
}

START_TEST(folder_reports_every_bad_file)
{
	char *dir = temp_dir();
	write_file(dir, "a/bad1.yaml", "id: [\n");
	write_file(dir, "a/bad2.yaml", HEAD "steps: []\n");
	write_file(dir, "a/good.yaml", HEAD "steps: [{send: NOOP}]\n");
	struct scenario_list l;
	struct p3err err = {0};
	const char *paths[] = {dir};
	struct load_opts o = {.on_error = count_error};
	nerrors = 0;
	ck_assert_int_eq(load_scenarios(paths, 1, &o, &l, &err), -1);
	ck_assert_int_eq(nerrors, 2);
	ck_assert_str_eq(err.msg, "2 errors in scenario files");
	rm_rf(dir);
}
END_TEST

START_TEST(sniff_kinds)
{
	char *dir = temp_dir();
	write_file(dir, "s.yaml", HEAD "steps: [{send: NOOP}]\n");
	write_file(dir, "t.yaml", "name: x\nhost: 127.0.0.1\nport: 110\n");
	write_file(dir, "l.yaml", "- send: NOOP\n");
	write_file(dir, "u.yaml", "colour: red\n");
	static const char *const names[] = {"s.yaml", "t.yaml", "l.yaml", "u.yaml"};
	static const enum load_kind want[] = {LOAD_KIND_SCENARIO, LOAD_KIND_TARGET, LOAD_KIND_UNKNOWN,
	                                      LOAD_KIND_UNKNOWN};
	for (size_t i = 0; i < 4; i++) {
		char p[PATH_MAX];
		enum load_kind k;
		struct p3err err = {0};
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		ck_assert_msg(load_sniff(p, &k, &err) == 0, "%s", err.msg);
		ck_assert_msg(k == want[i], "%s: %d", names[i], (int)k);
	}
	rm_rf(dir);
}
END_TEST

/* The table of step kinds (step_kinds.h): one complete row per kind, found by its name. */
START_TEST(step_table_complete)
{
	for (size_t k = 0; k < STEP_KINDS; k++) {
		const struct step_type *t = step_type((enum step_kind)k);
		ck_assert_ptr_nonnull(t->name);
		ck_assert_ptr_nonnull(t->parse);
		ck_assert_ptr_nonnull(t->run);
		ck_assert_str_eq(step_kind_name((enum step_kind)k), t->name);
		ck_assert_msg(!t->handshakes || t->reads, "%s: a handshake expectation needs a response",
		              t->name);
		ck_assert_msg(!t->pipelines || t->reads, "%s: pipelined expectations need responses",
		              t->name);
		for (size_t j = 0; j < k; j++)
			ck_assert_str_ne(step_kinds[j].name, t->name);
	}
	/* A step kind's name is its action key: `read` loads into a step of kind STEP_READ. */
	struct scenario *sc = load_ok(HEAD "steps: [{read: {}}, {drop: rst}]\n");
	ck_assert_int_eq(sc->steps[0].kind, STEP_READ);
	ck_assert_int_eq(sc->steps[1].kind, STEP_DROP);
	scenario_free(sc);
}
END_TEST

Suite *load_suite(void)
{
	Suite *s = suite_create("load");
	TCase *tc = tcase_create("good");
	tcase_add_test(tc, full_scenario);
	tcase_add_test(tc, shorthand_forms);
	tcase_add_test(tc, extension_keys);
	tcase_add_test(tc, err_extension_keys);
	tcase_add_test(tc, raw_keeps_nul_and_octets);
	tcase_add_test(tc, raw_after_multibyte_text);
	tcase_add_test(tc, step_table_complete);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_test(tc, err_yaml_syntax);
	tcase_add_test(tc, err_regex_blowup);
	tcase_add_test(tc, err_unknown_key);
	tcase_add_test(tc, err_wrong_type);
	tcase_add_test(tc, err_missing_key);
	tcase_add_test(tc, err_bad_level);
	tcase_add_test(tc, err_bad_regex);
	tcase_add_test(tc, err_actions);
	tcase_add_test(tc, err_requirement_ids);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	tcase_add_test(tc, folder_sorted);
	tcase_add_test(tc, folder_reports_every_bad_file);
	tcase_add_test(tc, sniff_kinds);
	suite_add_tcase(s, tc);
	return s;
}
