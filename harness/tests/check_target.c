/* check_target.c — unit tests for runner/target: loading profiles, every kind of bad profile with its
 * file:line:column, and resetting a maildrop by command and by maildirs copy. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include "runner/fixture.h"
#include "runner/target.h"

Suite *target_suite(void);

static char dir[64];
static char path[PATH_MAX];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check-target-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_lt(snprintf(path, sizeof path, "%s/target.yaml", dir), (int)sizeof path);
}

static void teardown(void)
{
	fixture_rmtree(dir);
}

static void write_profile(const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

#define ACCOUNTS "accounts:\n  - {user: alice, password: wonderland}\n  - {user: bob, password: builder}\n"

/* Load `text` and expect an error containing `want` (which includes the position). */
static void bad(const char *text, const char *want)
{
	struct target t;
	struct p3err err = {0};
	write_profile(text);
	ck_assert_msg(target_load(path, &t, &err) != 0, "loaded: %s", text);
	char full[PATH_MAX + 200];
	snprintf(full, sizeof full, "%s:%s", path, want);
	ck_assert_msg(strstr(err.msg, full) != NULL, "error '%s' lacks '%s'", err.msg, full);
}

START_TEST(good_profile)
{
	struct target t;
	struct p3err err = {0};
	char certs[PATH_MAX];
	snprintf(certs, sizeof certs, "%s/certs", dir);
	ck_assert_int_eq(mkdir(certs, 0700), 0);
	strcat(certs, "/ca.pem");
	FILE *ca = fopen(certs, "w");
	ck_assert_ptr_nonnull(ca);
	fclose(ca);
	write_profile("name: dovecot-2.3\nhost: 127.0.0.1\nport: 110   # plain\ntls_port: 995\n"
	              "ca: certs/ca.pem\n" ACCOUNTS
	              "reset: \"./reset-maildrop {user} {fixture}\"\nidle_timeout: 600\nsni: mail.test\n");
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(t.name, "dovecot-2.3");
	ck_assert_str_eq(t.host, "127.0.0.1");
	ck_assert_int_eq(t.port, 110);
	ck_assert_int_eq(t.tls_port, 995);
	ck_assert_int_eq(t.tls_verify, 1); /* ca alone means verify */
	char want[PATH_MAX + 20];
	snprintf(want, sizeof want, "%s/certs/ca.pem", dir);
	ck_assert_str_eq(t.ca, want);
	ck_assert_uint_eq(t.naccounts, 2);
	ck_assert_str_eq(t.accounts[1].user, "bob");
	ck_assert_str_eq(t.accounts[1].password, "builder");
	ck_assert_int_eq(t.idle_timeout, 600);
	ck_assert_str_eq(t.sni, "mail.test");
	ck_assert_int_eq(target_can_reset(&t), 1);
	ck_assert_str_eq(t.file, path);
	ck_assert_int_eq(t.redact, 0);
	/* A reset command may deliver through an agent: judged as `agent` unless the profile says. */
	ck_assert_int_eq(target_delivery(&t), DELIVERY_AGENT);
	target_free(&t);

	write_profile("host: localhost\nport: 1110\nredact: true\n" ACCOUNTS);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(t.redact, 1);
	target_free(&t);

	write_profile(
	    "host: h\nport: 110\nreset: \"cp -r {fixture} /m/{user}\"\ndelivery: verbatim\n" ACCOUNTS);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(target_delivery(&t), DELIVERY_VERBATIM);
	target_free(&t);
	write_profile("host: h\nport: 110\nmaildirs: /tmp\n" ACCOUNTS);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(target_delivery(&t), DELIVERY_VERBATIM); /* the runner copies the files itself */
	target_free(&t);
	write_profile("host: h\nport: 110\nmaildirs: /tmp\ndelivery: agent\n" ACCOUNTS);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(target_delivery(&t), DELIVERY_AGENT);
	target_free(&t);

	write_profile("host: localhost\nport: 1110\ntls_verify: false\n" ACCOUNTS);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(t.name, "localhost:1110");
	ck_assert_int_eq(t.tls_port, 0);
	ck_assert_int_eq(t.tls_verify, 0);
	ck_assert_int_eq(target_can_reset(&t), 0);
	ck_assert_int_eq(t.login_tls, LOGIN_TLS_AUTO); /* the default */
	target_free(&t);

	static const char *const forms[] = {"true", "false", "auto", "yes"};
	static const enum login_tls want_tls[] = {LOGIN_TLS_YES, LOGIN_TLS_NO, LOGIN_TLS_AUTO, LOGIN_TLS_YES};
	for (size_t i = 0; i < 4; i++) {
		char text[400];
		snprintf(text, sizeof text, "host: h\nport: 110\nlogin_tls: %s\n" ACCOUNTS, forms[i]);
		write_profile(text);
		ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
		ck_assert_int_eq(t.login_tls, want_tls[i]);
		target_free(&t);
	}
}
END_TEST

START_TEST(bad_profiles)
{
	bad("host: h\nport: 110\ncolour: red\n" ACCOUNTS, "3:1: unknown key 'colour'");
	bad("host: h\nport: 0\n" ACCOUNTS, "2:7: port: 0 is out of range");
	bad("host: h\nport: abc\n" ACCOUNTS, "2:7: port: 'abc' is not an integer");
	bad("host: h\nport: 110\nport: 111\n" ACCOUNTS,
	    "3:1: duplicate key 'port' in a target profile (first on line 2)");
	bad("host: h\nport: 110\n", "1:1: missing 'accounts'");
	bad("port: 110\n" ACCOUNTS, "1:1: missing 'host'");
	bad("host: h\n" ACCOUNTS, "1:1: missing 'port'");
	bad("host: h\nport: 110\naccounts:\n  - {user: alice, password: x}\n", "4:3: accounts: at least two");
	bad("host: h\nport: 110\naccounts:\n  - {user: a, password: x}\n  - {user: a, password: y}\n",
	    "5:5: accounts: user 'a' is listed twice");
	bad("host: h\nport: 110\naccounts:\n  - {user: a}\n  - {user: b, password: y}\n",
	    "4:5: accounts: an account needs a password");
	bad("host: h\nport: 110\naccounts:\n  - {user: a, pass: x}\n",
	    "4:15: unknown key 'pass' in an account; allowed: user, password");
	bad("host: h\nport: 110\naccounts: alice\n", "3:11: accounts: expected a list");
	bad("host: h\nport: 110\ntls_verify: maybe\n" ACCOUNTS,
	    "3:13: 'tls_verify' must be true or false, found 'maybe'");
	bad("host: h\nport: 110\nlogin_tls: sometimes\n" ACCOUNTS,
	    "3:12: login_tls: expected true, false or auto");
	bad("host: h\nport: 110\ndelivery: lmtp\n" ACCOUNTS, "3:11: delivery: expected verbatim or agent");
	bad("host: h\nport: 110\nreset: ./reset {user}\n" ACCOUNTS, "3:8: reset: the command must use");
	bad("host: h\nport: 110\nreset: x {user} {fixture}\nmaildirs: /tmp\n" ACCOUNTS,
	    "4:1: give 'reset' or");
	bad("host: h\nport: [110\n", "3:1:");
	/* A CA file that is not there is found when the profile loads, by `check` as by `run`. */
	bad("host: h\nport: 110\nca: missing.pem\n" ACCOUNTS, "3:5: ca: ");
	bad("host: h\nport: 110\nca: /tmp\n" ACCOUNTS, "3:5: ca: /tmp: not a readable file");
	bad("host: h\nport: 110\nsni:\n" ACCOUNTS, "3:5: 'sni' must be a string, found nothing");
	bad("host: h\nport: 110\n---\nhost: other\n", "4:1: a second YAML document");
	bad("host: h\nport: 110\nredact: sometimes\n" ACCOUNTS,
	    "3:9: 'redact' must be true or false, found 'sometimes'");
	bad("- just\n- a list\n", "1:1: a target profile is a mapping");
	bad("", "1:1: empty file");
	bad("host: h\nport: 110\naccounts:\n  - {user: 'a b', password: x}\n  - {user: b, password: y}\n",
	    "4:12: accounts: user 'a b' holds a space");
	struct target t;
	struct p3err err = {0};
	ck_assert_int_ne(target_load("/nonexistent/target.yaml", &t, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/target.yaml"));
}
END_TEST

static char *slurp(const char *p)
{
	static char buf[4096];
	FILE *f = fopen(p, "r");
	if (f == NULL)
		return NULL;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(apop_secret_key)
{
	struct target t;
	struct p3err err = {0};
	/* RFC 1939 §7: APOP digests a shared secret, which a server with an APOP database of its own keeps
	 * apart from the login password; without the key it is the password. */
	write_profile("host: h\nport: 110\naccounts:\n"
	              "  - {user: alice, password: wonderland, apop_secret: rabbit hole}\n"
	              "  - {user: bob, password: builder}\n");
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(account_apop_secret(&t.accounts[0]), "rabbit hole");
	ck_assert_str_eq(t.accounts[0].password, "wonderland");
	ck_assert_ptr_null(t.accounts[1].apop_secret);
	ck_assert_str_eq(account_apop_secret(&t.accounts[1]), "builder");
	target_free(&t);
	bad("host: h\nport: 110\naccounts:\n  - {user: alice, password: w, apop_secret: ''}\n"
	    "  - {user: bob, password: b}\n",
	    "4:45: accounts: empty apop_secret");
	bad("host: h\nport: 110\naccounts:\n  - {user: alice, password: w, apop_secret: [x]}\n"
	    "  - {user: bob, password: b}\n",
	    "4:45: 'apop_secret' must be a string, found a list");
	bad("host: h\nport: 110\naccounts:\n  - {user: alice, password: w, apop: x}\n"
	    "  - {user: bob, password: b}\n",
	    "4:32: unknown key 'apop' in an account; allowed: user, password, apop_secret");
}
END_TEST

START_TEST(reset_by_command)
{
	struct target t;
	struct p3err err = {0};
	char text[2048];
	/* The command sees the values shell-quoted: a user with a quote and a fixture path with a space. */
	snprintf(text, sizeof text,
	         "host: h\nport: 110\nreset: \"printf '%%s|%%s' {user} {fixture} > %s/out\"\naccounts:\n"
	         "  - {user: \"o'hara\", password: x}\n  - {user: b, password: y}\n",
	         dir);
	write_profile(text);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert_msg(target_reset(&t, &t.accounts[0], "/tmp/fix ture;rm -rf x", &err) == 0, "%s", err.msg);
	char out[PATH_MAX];
	ck_assert_int_lt(snprintf(out, sizeof out, "%s/out", dir), (int)sizeof out);
	ck_assert_str_eq(slurp(out), "o'hara|/tmp/fix ture;rm -rf x");
	target_free(&t);

	write_profile(
	    "host: h\nport: 110\nreset: \"echo cannot reset {user} {fixture} >&2; exit 3\"\n" ACCOUNTS);
	ck_assert_int_eq(target_load(path, &t, &err), 0);
	ck_assert_int_ne(target_reset(&t, &t.accounts[1], "/f", &err), 0);
	ck_assert_msg(strstr(err.msg, "exit 3") && strstr(err.msg, "cannot reset bob /f"), "%s", err.msg);
	target_free(&t);
}
END_TEST

/* Both forms a user writes work: placeholders bare, or inside their own "..." or '...' (the value stays
 * one word with every octet as it is). */
START_TEST(reset_quoting_forms)
{
	static const char *const forms[] = {
	    "printf '%%s|%%s' {user} {fixture} > %s/out",
	    "printf '%%s|%%s' \\\"{user}\\\" \\\"{fixture}\\\" > %s/out",
	    "printf '%%s|%%s' '{user}' '{fixture}' > %s/out",
	    "printf '%%s|%%s' \\\"u={user}\\\" 'f={fixture}' > %s/out",
	};
	static const char *const want[] = {
	    "o'hara|/tmp/a b;$HOME\"`id`'x'\\", "o'hara|/tmp/a b;$HOME\"`id`'x'\\",
	    "o'hara|/tmp/a b;$HOME\"`id`'x'\\", "u=o'hara|f=/tmp/a b;$HOME\"`id`'x'\\"};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		struct target t;
		struct p3err err = {0};
		char cmd[512], text[2048], out[PATH_MAX];
		snprintf(cmd, sizeof cmd, forms[i], dir);
		snprintf(text, sizeof text,
		         "host: h\nport: 110\nreset: \"%s\"\naccounts:\n"
		         "  - {user: \"o'hara\", password: x}\n  - {user: b, password: y}\n",
		         cmd);
		write_profile(text);
		ck_assert_msg(target_load(path, &t, &err) == 0, "form %zu: %s", i, err.msg);
		ck_assert_msg(target_reset(&t, &t.accounts[0], "/tmp/a b;$HOME\"`id`'x'\\", &err) == 0,
		              "form %zu: %s", i, err.msg);
		ck_assert_int_lt(snprintf(out, sizeof out, "%s/out", dir), (int)sizeof out);
		char *got = slurp(out);
		ck_assert_msg(strcmp(got, want[i]) == 0, "form %zu (%s): got '%s'", i, t.reset, got);
		target_free(&t);
	}
	/* A quote the template leaves open is refused at load, not at the first reset. */
	bad("host: h\nport: 110\nreset: './reset \"{user} {fixture}'\n" ACCOUNTS, "3:8: reset: a quote");
}
END_TEST

/* reset_timeout bounds the command; the error names the account's maildrop and the key. */
START_TEST(reset_timeout_key)
{
	struct target t;
	struct p3err err = {0};
	write_profile(
	    "host: h\nport: 110\nreset_timeout: 0.3\nreset: \"sleep 20 # {user} {fixture}\"\n" ACCOUNTS);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert(t.reset_timeout > 0.29 && t.reset_timeout < 0.31);
	ck_assert(target_reset_timeout(&t) < 1);
	ck_assert(target_login_timeout(&t) >= 60); /* above pop3refd's 30 s penalty cap */
	ck_assert_int_ne(target_reset(&t, &t.accounts[0], "/f", &err), 0);
	ck_assert_msg(strstr(err.msg, "alice's maildrop timed out") && strstr(err.msg, "reset_timeout"), "%s",
	              err.msg);
	target_free(&t);
	bad("host: h\nport: 110\nlogin_timeout: 0\n" ACCOUNTS, "3:16: login_timeout: expected a number");
	bad("host: h\nport: 110\nlock_retry: soon\n" ACCOUNTS, "3:13: lock_retry: expected a number");
	bad("host: h\nport: 110\nlogin_delay_max: never\n" ACCOUNTS,
	    "3:18: login_delay_max: expected a number");
	struct target d = {0};
	ck_assert(target_login_delay_max(&d) >= 120); /* unset: the default */
	write_profile("host: h\nport: 110\nlogin_delay_max: 7\n" ACCOUNTS);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert(target_login_delay_max(&t) > 6.9 && target_login_delay_max(&t) < 7.1);
	target_free(&t);
	/* silence_min: a floor under every "nothing comes" window; unset, the scenario's own window. */
	ck_assert(target_silence(&d, 0.5) > 0.49 && target_silence(&d, 0.5) < 0.51);
	ck_assert(target_silence(NULL, 0.5) > 0.49 && target_silence(NULL, 0.5) < 0.51);
	write_profile("host: h\nport: 110\nsilence_min: 2.5\n" ACCOUNTS);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert(target_silence(&t, 0.5) > 2.49 && target_silence(&t, 0.5) < 2.51);
	ck_assert(target_silence(&t, 5) > 4.99 && target_silence(&t, 5) < 5.01);
	target_free(&t);
	bad("host: h\nport: 110\nsilence_min: 0\n" ACCOUNTS, "3:14: silence_min: expected a number");
}
END_TEST

/* {fixture_mbox}: the fixture as one mboxrd file beside the prepared Maildir, made on first use. */
START_TEST(reset_fixture_mbox)
{
	struct target t;
	struct p3err err = {0};
	char text[2048], fx[128], msg[PATH_MAX], out[PATH_MAX];
	snprintf(fx, sizeof fx, "%s/fx", dir);
	ck_assert_int_eq(mkdir(fx, 0700), 0);
	snprintf(msg, sizeof msg, "%s/cur", fx);
	ck_assert_int_eq(mkdir(msg, 0700), 0);
	snprintf(msg, sizeof msg, "%s/new", fx);
	ck_assert_int_eq(mkdir(msg, 0700), 0);
	snprintf(msg, sizeof msg, "%s/cur/1700000000.M1P1.test", fx);
	FILE *f = fopen(msg, "w");
	ck_assert_ptr_nonnull(f);
	fputs("From: A <a@example.org>\r\nSubject: s\r\n\r\nFrom here\r\n>From there\r\nend", f);
	fclose(f);
	snprintf(text, sizeof text,
	         "host: h\nport: 110\nreset: \"cp {fixture_mbox} %s/{user}.mbox\"\n" ACCOUNTS, dir);
	write_profile(text);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert_msg(target_reset(&t, &t.accounts[1], fx, &err) == 0, "%s", err.msg);
	ck_assert_int_lt(snprintf(out, sizeof out, "%s/bob.mbox", dir), (int)sizeof out);
	ck_assert_str_eq(slurp(out),
	                 "From a@example.org Tue Nov 14 22:13:20 2023\n"
	                 "From: A <a@example.org>\nSubject: s\n\n>From here\n>>From there\nend\n\n");
	target_free(&t);
	/* A template without {fixture} but with {fixture_mbox} is complete. */
	write_profile("host: h\nport: 110\nreset: \"cp {fixture_mbox} /var/mail/{user}\"\n" ACCOUNTS);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	target_free(&t);
}
END_TEST

START_TEST(reset_by_maildirs)
{
	struct target t;
	struct p3err err = {0};
	char text[1024], p[PATH_MAX];
	snprintf(text, sizeof text, "host: h\nport: 110\nmaildirs: drops\n" ACCOUNTS);
	write_profile(text);
	ck_assert_msg(target_load(path, &t, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(target_can_reset(&t), 1);
	ck_assert_msg(target_reset(&t, &t.accounts[0], "fixtures/maildrops/three", &err) == 0, "%s", err.msg);
	struct stat st;
	ck_assert_int_lt(snprintf(p, sizeof p, "%s/drops/alice/new/1000000003.M3P1.fixture", dir),
	                 (int)sizeof p);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_msg(target_reset(&t, &t.accounts[0], "fixtures/maildrops/empty", &err) == 0, "%s", err.msg);
	ck_assert_int_ne(stat(p, &st), 0);
	ck_assert_int_ne(target_reset(&t, &t.accounts[0], "fixtures/maildrops/nonexistent", &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "alice"));
	target_free(&t);
}
END_TEST

Suite *target_suite(void)
{
	Suite *s = suite_create("target");
	TCase *tc = tcase_create("target");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, good_profile);
	tcase_add_test(tc, bad_profiles);
	tcase_add_test(tc, apop_secret_key);
	tcase_add_test(tc, reset_by_command);
	tcase_add_test(tc, reset_by_maildirs);
	tcase_add_test(tc, reset_quoting_forms);
	tcase_add_test(tc, reset_timeout_key);
	tcase_add_test(tc, reset_fixture_mbox);
	suite_add_tcase(s, tc);
	return s;
}
