/* check_mbox.c — unit tests for runner/mbox: a fixture Maildir written as mboxrd ({fixture_mbox}):
 * separator lines, envelope sender, LF line ends, ">From" quoting, message order, the final empty line. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include "runner/fixture.h"
#include "runner/mbox.h"

Suite *mbox_suite(void);

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check-mbox-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	fixture_rmtree(dir);
}

static void put(const char *sub, const char *name, const char *data)
{
	char p[256];
	snprintf(p, sizeof p, "%s/md", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/md/new", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/md/cur", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/md/%s", dir, sub);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/md/%s/%s", dir, sub, name);
	FILE *f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	fputs(data, f);
	fclose(f);
}

static char *slurp(const char *p)
{
	static char buf[8192];
	FILE *f = fopen(p, "rb");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(sender)
{
	char b[64];
	const char *h =
	    "Subject: x\r\nFrom: \"Ann\" <ann@example.org>\r\nReturn-Path: <bounce@example.net>\r\n\r\n"
	    "Return-Path: <body@example.com>\r\n";
	mbox_sender(h, strlen(h), b, sizeof b);
	ck_assert_str_eq(b, "bounce@example.net"); /* Return-Path first: it is the envelope sender */
	h = "From: bob@example.org (Bob)\n\nFrom: <late@example.org>\n";
	mbox_sender(h, strlen(h), b, sizeof b);
	ck_assert_str_eq(b, "bob@example.org");
	h = "Subject: none\n\nFrom: <body@example.org>\n"; /* a body line is not a header field */
	mbox_sender(h, strlen(h), b, sizeof b);
	ck_assert_str_eq(b, "MAILER-DAEMON");
	h = "Return-Path: <>\nFrom: <a b@example.org>\n"; /* null sender; a space would split the line */
	mbox_sender(h, strlen(h), b, sizeof b);
	ck_assert_str_eq(b, "MAILER-DAEMON");
}
END_TEST

/* mboxrd: every /^>*From / line gets one more '>'; "From" without its space and ">From" inside a line
 * stay; CRLF becomes LF; a missing final line end is added; messages in file-name order (new/ and cur/
 * merged), each followed by an empty line. */
START_TEST(write_mboxrd)
{
	put("cur", "1700000001.M2P1.t:2,S",
	    "From: <b@example.org>\r\nSubject: two\r\n\r\nFrom the start\r\n>From quoted\r\n>>From twice\r\n"
	    "Fromage\r\nsay >From x\r\n\r\nno final eol");
	put("new", "1700000000.M1P1.t", "Return-Path: <r@example.org>\nSubject: one\n\nbody\n");
	put("tmp", "1700000002.M3P1.t", "never delivered\n");
	char md[128], out[128];
	snprintf(md, sizeof md, "%s/md", dir);
	snprintf(out, sizeof out, "%s/out.mbox", dir);
	struct p3err err = {0};
	ck_assert_msg(mbox_write(md, out, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(slurp(out), "From r@example.org Tue Nov 14 22:13:20 2023\n"
	                             "Return-Path: <r@example.org>\nSubject: one\n\nbody\n\n"
	                             "From b@example.org Tue Nov 14 22:13:21 2023\n"
	                             "From: <b@example.org>\nSubject: two\n\n>From the start\n>>From quoted\n"
	                             ">>>From twice\nFromage\nsay >From x\n\nno final eol\n\n");
	/* Written again over the old one (rename into place), and nothing left beside it. */
	ck_assert_msg(mbox_write(md, out, &err) == 0, "%s", err.msg);
	char tmp[160];
	snprintf(tmp, sizeof tmp, "ls %s | wc -l | grep -qx 2", dir);
	ck_assert_int_eq(system(tmp), 0);
	/* Not a Maildir: an error naming it. */
	ck_assert_int_ne(mbox_write("/nonexistent/md", out, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/md"));
}
END_TEST

/* An empty Maildir is an empty mbox file. */
START_TEST(write_empty)
{
	char md[128], out[128];
	snprintf(md, sizeof md, "%s/md", dir);
	mkdir(md, 0700);
	put("cur", ".keep", "");
	snprintf(out, sizeof out, "%s/e.mbox", dir);
	struct p3err err = {0};
	ck_assert_msg(mbox_write(md, out, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(slurp(out), "");
}
END_TEST

Suite *mbox_suite(void)
{
	Suite *s = suite_create("mbox");
	TCase *tc = tcase_create("mbox");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sender);
	tcase_add_test(tc, write_mboxrd);
	tcase_add_test(tc, write_empty);
	suite_add_tcase(s, tc);
	return s;
}
