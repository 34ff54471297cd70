/* check_maildir.c — unit tests for lib/maildir on temporary Maildirs: order, sizes as sent, the ",W=" fast
 * path, unique-id rules, what is ignored, errors that name the path, user names, creation, 8-bit header
 * sections, the verbatim flag and the size cache. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include "testutil.h"
#include "lib/digest.h"
#include "lib/maildir.h"

Suite *maildir_suite(void);

static void put(const char *rel, const char *content, size_t len)
{
	tu_write(tu_at(rel), content, len);
}

static void puts_(const char *rel, const char *content)
{
	put(rel, content, strlen(content));
}

static void make_md(const char *rel)
{
	struct p3err e;

	ck_assert_msg(maildir_create(tu_at(rel), &e) == 0, "%s", e.msg);
}

START_TEST(order_and_sizes)
{
	struct maildir md;
	struct p3err e;

	make_md("m");
	puts_("m/new/3.c", "C: lf\n\nbody\n");          /* LF: 5+2 + 2 + 4+2 */
	puts_("m/cur/1.a:2,S", "A: crlf\r\n\r\nx\r\n"); /* CRLF: 9 + 2 + 3 */
	puts_("m/cur/2.b", "B: no end\n\nlast");        /* last line gets CRLF counted */
	puts_("m/new/10.d", ".\n..\n");                 /* stuffing not counted */
	ck_assert_msg(maildir_scan(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 4);
	/* strcmp order of the file names, wherever they live. */
	ck_assert_str_eq(md.msgs[0].name, "1.a:2,S");
	ck_assert_str_eq(md.msgs[1].name, "10.d");
	ck_assert_str_eq(md.msgs[2].name, "2.b");
	ck_assert_str_eq(md.msgs[3].name, "3.c");
	ck_assert_str_eq(md.msgs[0].path, tu_at("m/cur/1.a:2,S"));
	ck_assert_str_eq(md.msgs[1].path, tu_at("m/new/10.d"));
	ck_assert_uint_eq(md.msgs[0].size, 14);
	ck_assert_uint_eq(md.msgs[1].size, 7);
	ck_assert_uint_eq(md.msgs[2].size, 19);
	ck_assert_uint_eq(md.msgs[3].size, 15);
	ck_assert_uint_eq(md.total, 14 + 7 + 19 + 15);
	maildir_free(&md);
	ck_assert_uint_eq(md.count, 0);
	ck_assert_ptr_null(md.msgs);
}
END_TEST

START_TEST(ignores_tmp_dotfiles_and_folders)
{
	struct maildir md;
	struct p3err e;

	make_md("m");
	puts_("m/tmp/1.inflight", "X: y\n");
	puts_("m/new/.hidden", "X: y\n");
	puts_("m/cur/.nfs0001", "X: y\n");
	ck_assert_int_eq(mkdir(tu_at("m/cur/sub"), 0700), 0);
	ck_assert_int_eq(symlink("nowhere", tu_at("m/new/dangling")), 0); /* as if removed meanwhile */
	puts_("m/new/real", "X: y\n");
	ck_assert_msg(maildir_scan(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 1);
	ck_assert_str_eq(md.msgs[0].name, "real");
	maildir_free(&md);
}
END_TEST

START_TEST(empty_maildir)
{
	struct maildir md;
	struct p3err e;

	make_md("m");
	ck_assert_msg(maildir_scan(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 0);
	ck_assert_uint_eq(md.total, 0);
	maildir_free(&md);
}
END_TEST

START_TEST(w_field_fast_path)
{
	struct maildir md;
	struct p3err e;

	make_md("m");
	/* The name's W= wins over the content: proof that the file is not read. */
	puts_("m/cur/1.x,S=5,W=1234:2,S", "short");
	puts_("m/cur/2.x,W=77", "ab");
	/* Malformed W fields fall back to reading the file. */
	puts_("m/cur/3.x,W=12a", "abc\n");
	puts_("m/cur/4.x,W=", "abc\n");
	/* A W= inside the flags part is not a size. */
	puts_("m/cur/5.x:2,W=99", "abc\n");
	ck_assert_msg(maildir_scan(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 5);
	ck_assert_uint_eq(md.msgs[0].size, 1234);
	ck_assert_uint_eq(md.msgs[1].size, 77);
	ck_assert_uint_eq(md.msgs[2].size, 5);
	ck_assert_uint_eq(md.msgs[3].size, 5);
	ck_assert_uint_eq(md.msgs[4].size, 5);
	maildir_free(&md);
}
END_TEST

START_TEST(header_8bit)
{
	struct maildir md;
	struct p3err e;

	make_md("m");
	/* 8-bit in a header field (RFC 6532), LF-stored. */
	puts_("m/cur/1.x", "Subject: Gr\xc3\xbc\xc3\x9f\xc3\xa9\n\nbody\n");
	/* 8-bit only in the body, CRLF-stored: the header section is ASCII. */
	puts_("m/cur/2.x", "Subject: a\r\n\r\nCaf\xe9\r\n");
	/* No empty line: the whole message is header, the 8-bit octet is in it. */
	puts_("m/cur/3.x", "Subject: a\nX-Last: \xff\n");
	/* An empty header section: the message starts with its empty line. */
	puts_("m/cur/4.x", "\r\nSubject-looking body \xc3\xa9\n");
	/* A CR that does not end an empty line keeps the header going. */
	puts_("m/cur/5.x", "A: b\n\rC: \xc3\xa9\n\nx\n");
	/* Sized by its name: not read, unknown; maildir_header_8bit reads it. */
	puts_("m/cur/6.x,W=40", "Subject: \xc3\xa9\n\nbody\n");
	ck_assert_msg(maildir_scan(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 6);
	ck_assert_int_eq(md.msgs[0].header_8bit, MAILDIR_HEADER_8BIT);
	ck_assert_int_eq(md.msgs[1].header_8bit, MAILDIR_HEADER_ASCII);
	ck_assert_int_eq(md.msgs[2].header_8bit, MAILDIR_HEADER_8BIT);
	ck_assert_int_eq(md.msgs[3].header_8bit, MAILDIR_HEADER_ASCII);
	ck_assert_int_eq(md.msgs[4].header_8bit, MAILDIR_HEADER_8BIT);
	ck_assert_int_eq(md.msgs[5].header_8bit, MAILDIR_HEADER_UNKNOWN);
	for (size_t i = 0; i < 5; i++)
		ck_assert_int_eq(maildir_header_8bit(md.msgs[i].path, &e), md.msgs[i].header_8bit);
	ck_assert_int_eq(maildir_header_8bit(md.msgs[5].path, &e), MAILDIR_HEADER_8BIT);
	ck_assert_int_eq(maildir_header_8bit(tu_at("m/cur/missing"), &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "missing"));
	maildir_free(&md);
}
END_TEST

/* The committed fixtures the RFC 6856 scenarios rely on: `utf8` is an RFC 6532 message (8-bit header
 * fields), `eight-bit` has 8-bit octets in its body only. Run from the top of the tree, like make check. */
START_TEST(fixture_header_8bit)
{
	struct maildir md;
	struct p3err e;

	ck_assert_msg(maildir_scan("fixtures/maildrops/utf8", &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 1);
	ck_assert_int_eq(md.msgs[0].header_8bit, MAILDIR_HEADER_8BIT);
	maildir_free(&md);
	ck_assert_msg(maildir_scan("fixtures/maildrops/eight-bit", &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 1);
	ck_assert_int_eq(md.msgs[0].header_8bit, MAILDIR_HEADER_ASCII);
	maildir_free(&md);
}
END_TEST

static int is_md5_hex(const char *s)
{
	if (strlen(s) != 32)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

START_TEST(uid_rules)
{
	struct maildir md;
	struct p3err e;
	char name70[80], name71[80];

	make_md("m");
	memset(name70, 'a', 70);
	name70[70] = '\0';
	memset(name71, 'b', 71);
	name71[71] = '\0';
	puts_("m/cur/1.host:2,RS", "x\n"); /* flags are not part of the id */
	puts_("m/new/2.host", "x\n");
	puts_("m/new/3 has space", "x\n"); /* 0x20 is outside 0x21..0x7E */
	puts_("m/new/4\xc3\xa9", "x\n");   /* 8-bit */
	char rel[100];
	snprintf(rel, sizeof rel, "m/new/%s", name70);
	puts_(rel, "x\n");
	snprintf(rel, sizeof rel, "m/new/%s", name71);
	puts_(rel, "x\n");
	ck_assert_msg(maildir_scan(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 6);
	ck_assert_str_eq(md.msgs[0].uid, "1.host");
	ck_assert_str_eq(md.msgs[1].uid, "2.host");
	ck_assert(is_md5_hex(md.msgs[2].uid));
	ck_assert(is_md5_hex(md.msgs[3].uid));
	ck_assert_str_ne(md.msgs[2].uid, md.msgs[3].uid);
	ck_assert_str_eq(md.msgs[4].uid, name70);
	ck_assert(is_md5_hex(md.msgs[5].uid));
	/* MD5("3 has space"), computed independently with md5sum. */
	ck_assert_str_eq(md.msgs[2].uid, "017066b7b11e0933399db96e1595b2f6");
	maildir_free(&md);
}
END_TEST

START_TEST(uids_stable_and_distinct)
{
	struct maildir a, b;
	struct p3err e;

	make_md("m");
	puts_("m/new/5.same", "x\n");
	puts_("m/cur/5.same:2,S", "y\n"); /* same base name in new/ and cur/ */
	puts_("m/cur/6.other", "z\n");
	ck_assert_msg(maildir_scan(tu_at("m"), &a, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(a.count, 3);
	ck_assert_str_ne(a.msgs[0].uid, a.msgs[1].uid);
	/* Moving a message from new/ to cur/ with flags keeps its id when the base name is unique. */
	ck_assert_int_eq(rename(tu_at("m/cur/6.other"), tu_at("m/cur/6.other:2,RS")), 0);
	ck_assert_msg(maildir_scan(tu_at("m"), &b, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(a.msgs[2].uid, "6.other");
	ck_assert_str_eq(b.msgs[2].uid, "6.other");
	ck_assert_str_eq(a.msgs[0].uid, b.msgs[0].uid);
	ck_assert_str_eq(a.msgs[1].uid, b.msgs[1].uid);
	maildir_free(&a);
	maildir_free(&b);
}
END_TEST

START_TEST(three_copies_of_a_base_name_get_three_ids)
{
	struct maildir md;
	struct p3err e;

	make_md("m");
	puts_("m/new/7.same", "a\n");
	puts_("m/cur/7.same:2,RS", "b\n");
	puts_("m/cur/7.same:2,S", "c\n");
	ck_assert_msg(maildir_scan(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 3);
	ck_assert_str_eq(md.msgs[0].name, "7.same"); /* the first in file-name order keeps its id */
	ck_assert_str_eq(md.msgs[0].uid, "7.same");
	ck_assert_str_ne(md.msgs[1].uid, md.msgs[0].uid);
	ck_assert_str_ne(md.msgs[2].uid, md.msgs[0].uid);
	ck_assert_str_ne(md.msgs[2].uid, md.msgs[1].uid);
	maildir_free(&md);
}
END_TEST

/* Found by fuzz_maildir: three names with the same unusable base (empty before ':') all got MD5(""), and
 * one pass over the sorted ids compared the third with the already replaced second. And a file named
 * like the replacement MD5 must not end up sharing it. */
START_TEST(uids_distinct_for_many_equal_bases)
{
	struct maildir a, b;
	struct p3err e;
	char hex[DIGEST_MD5_HEX];

	make_md("m");
	puts_("m/cur/:2,S", "a\n");
	puts_("m/cur/:2,T", "b\n");
	puts_("m/new/:2,", "c\n");
	puts_("m/new/:x", "d\n");
	apop_digest("cur/:2,T", "", hex); /* what the second one becomes */
	puts_(strcat(strcpy((char[64]){0}, "m/cur/"), hex), "e\n");
	ck_assert_msg(maildir_scan(tu_at("m"), &a, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(a.count, 5);
	for (size_t i = 0; i < a.count; i++)
		for (size_t j = i + 1; j < a.count; j++)
			ck_assert_str_ne(a.msgs[i].uid, a.msgs[j].uid);
	ck_assert_msg(maildir_scan(tu_at("m"), &b, &e) == 0, "%s", e.msg);
	for (size_t i = 0; i < a.count; i++)
		ck_assert_str_eq(a.msgs[i].uid, b.msgs[i].uid); /* the same in every session */
	maildir_free(&a);
	maildir_free(&b);
}
END_TEST

START_TEST(not_a_maildir)
{
	struct maildir md;
	struct p3err e;

	ck_assert_int_eq(maildir_scan(tu_at("missing"), &md, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, tu_at("missing")));
	ck_assert_ptr_nonnull(strstr(e.msg, "not a Maildir"));
	ck_assert_int_eq(mkdir(tu_at("half"), 0700), 0);
	ck_assert_int_eq(mkdir(tu_at("half/cur"), 0700), 0);
	ck_assert_int_eq(maildir_scan(tu_at("half"), &md, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "new/"));
	ck_assert_ptr_null(md.msgs);
}
END_TEST

START_TEST(unreadable_message_names_path)
{
	struct maildir md;
	struct p3err e;

	make_md("m");
	puts_("m/new/1.ok", "x\n");
	/* A symlink loop cannot be opened, even by root. */
	ck_assert_int_eq(symlink("2.loop", tu_at("m/new/2.loop")), 0);
	ck_assert_int_eq(maildir_scan(tu_at("m"), &md, &e), -1);
	ck_assert_msg(strstr(e.msg, tu_at("m/new")) != NULL, "message: %s", e.msg);
	ck_assert_ptr_nonnull(strstr(e.msg, "symbolic links"));
	ck_assert_uint_eq(md.count, 0);
	ck_assert_ptr_null(md.msgs);
}
END_TEST

START_TEST(unreadable_file_as_user)
{
	struct maildir md;
	struct p3err e;

	if (geteuid() == 0)
		return; /* root reads mode-000 files; the symlink test covers the path in the message */
	make_md("m");
	puts_("m/new/1.locked", "x\n");
	ck_assert_int_eq(chmod(tu_at("m/new/1.locked"), 0), 0);
	ck_assert_int_eq(maildir_scan(tu_at("m"), &md, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, tu_at("m/new/1.locked")));
}
END_TEST

START_TEST(big_message_size)
{
	struct maildir md;
	struct p3err e;
	size_t n = 300 * 1000;
	char *body = malloc(n);

	/* Several read chunks, with line ends across chunk boundaries. */
	for (size_t i = 0; i < n; i++)
		body[i] = i % 10 == 9 ? '\n' : 'a';
	make_md("m");
	put("m/new/big", body, n);
	free(body);
	ck_assert_msg(maildir_scan(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.msgs[0].size, n + n / 10);
	maildir_free(&md);
}
END_TEST

START_TEST(user_names)
{
	char long65[70];

	ck_assert(maildir_user_name_ok("alice"));
	ck_assert(maildir_user_name_ok("bob.smith+pop3@example.org"));
	ck_assert(maildir_user_name_ok("A-Z_0-9"));
	ck_assert(!maildir_user_name_ok(""));
	ck_assert(!maildir_user_name_ok(".hidden"));
	ck_assert(!maildir_user_name_ok(".."));
	ck_assert(!maildir_user_name_ok("a/b"));
	ck_assert(!maildir_user_name_ok("../etc"));
	ck_assert(!maildir_user_name_ok("a b"));
	ck_assert(!maildir_user_name_ok("a:b"));
	ck_assert(!maildir_user_name_ok("caf\xc3\xa9"));
	memset(long65, 'x', 65);
	long65[65] = '\0';
	ck_assert(!maildir_user_name_ok(long65));
	long65[64] = '\0';
	ck_assert(maildir_user_name_ok(long65));
}
END_TEST

START_TEST(create_nested_and_idempotent)
{
	struct p3err e;
	struct stat st;

	ck_assert_msg(maildir_create(tu_at("a/b/c"), &e) == 0, "%s", e.msg);
	ck_assert_int_eq(stat(tu_at("a/b/c/tmp"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_msg(maildir_create(tu_at("a/b/c"), &e) == 0, "%s", e.msg);
	ck_assert_msg(maildir_create(tu_at("a//b/c/"), &e) == 0, "%s", e.msg);
	puts_("file", "x");
	ck_assert_int_eq(maildir_create(tu_at("file/m"), &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, tu_at("file")));
}
END_TEST

/* ---- the size cache (maildir_scan_cached) ---------------------------------------------------------- */

/* A Maildir with every storage case the counter knows: CRLF, LF, stuffing, no final line end, 8-bit
 * header, a ",W=" name, a file in new/ and flags in cur/. */
static void cache_fixture(void)
{
	make_md("m");
	puts_("m/cur/1.crlf:2,S", "A: crlf\r\n\r\nx\r\n");
	puts_("m/cur/2.lf", "B: lf\n\nbody\n");
	puts_("m/new/3.dots", "C: d\n\n.\n..\n");
	puts_("m/cur/4.noend", "D: n\n\nlast");
	puts_("m/cur/5.eight", "Subject: Gr\xc3\xbc\xc3\x9f\n\nx\n");
	puts_("m/cur/6.w,W=99", "ab");
}

static void same_scan(const struct maildir *a, const struct maildir *b)
{
	ck_assert_uint_eq(a->count, b->count);
	ck_assert_uint_eq(a->total, b->total);
	for (size_t i = 0; i < a->count; i++) {
		ck_assert_str_eq(a->msgs[i].path, b->msgs[i].path);
		ck_assert_str_eq(a->msgs[i].uid, b->msgs[i].uid);
		ck_assert_uint_eq(a->msgs[i].size, b->msgs[i].size);
		ck_assert_int_eq(a->msgs[i].header_8bit, b->msgs[i].header_8bit);
		ck_assert_int_eq(a->msgs[i].verbatim, b->msgs[i].verbatim);
	}
}

START_TEST(cache_same_result_as_plain_scan)
{
	struct maildir plain, first, second;
	struct p3err e;
	struct stat st;

	cache_fixture();
	ck_assert_msg(maildir_scan(tu_at("m"), &plain, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(stat(tu_at("m/" MAILDIR_CACHE_NAME), &st), -1); /* the plain scan writes nothing */
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &first, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(stat(tu_at("m/" MAILDIR_CACHE_NAME), &st), 0);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &second, &e) == 0, "%s", e.msg);
	same_scan(&plain, &first);
	same_scan(&plain, &second);
	ck_assert_uint_eq(second.count, 6);
	/* The cache file is a dot file: never a message. */
	for (size_t i = 0; i < second.count; i++)
		ck_assert_ptr_null(strstr(second.msgs[i].name, MAILDIR_CACHE_NAME));
	maildir_free(&plain);
	maildir_free(&first);
	maildir_free(&second);
}
END_TEST

START_TEST(verbatim_only_when_stored_as_sent)
{
	struct maildir md;
	struct p3err e;

	cache_fixture();
	puts_("m/cur/7.cr", "E: cr\r\n\r\nbare\rcr\r\n"); /* a bare CR is data, sent as stored */
	puts_("m/cur/8.empty", "");
	ck_assert_msg(maildir_scan(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 8);
	ck_assert_int_eq(md.msgs[0].verbatim, 1); /* 1.crlf */
	ck_assert_int_eq(md.msgs[1].verbatim, 0); /* 2.lf: bare LF */
	ck_assert_int_eq(md.msgs[2].verbatim, 0); /* 3.dots: stuffing */
	ck_assert_int_eq(md.msgs[3].verbatim, 0); /* 4.noend: a line end is added */
	ck_assert_int_eq(md.msgs[4].verbatim, 0); /* 5.eight: LF */
	ck_assert_int_eq(md.msgs[5].verbatim, 0); /* 6.w: not read, unknown */
	ck_assert_int_eq(md.msgs[6].verbatim, 1); /* 7.cr */
	ck_assert_int_eq(md.msgs[7].verbatim, 1); /* 8.empty */
	maildir_free(&md);
}
END_TEST

/* Replace the size of `name` in the cache file by `size`, keeping everything else. */
static void doctor_cache(const char *name, unsigned long long size)
{
	char line[1024], out[8192] = "";
	FILE *f = fopen(tu_at("m/" MAILDIR_CACHE_NAME), "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f)) {
		unsigned long long ino, len, sz;
		long long cs;
		long cns;
		int h, v, off = 0;
		if (sscanf(line, "%llu %llu %lld %ld %llu %d %d %n", &ino, &len, &cs, &cns, &sz, &h, &v,
		           &off) == 7 &&
		    strncmp(line + off, name, strlen(name)) == 0 && line[off + strlen(name)] == '\n')
			snprintf(line, sizeof line, "%llu %llu %lld %ld %llu %d %d %s\n", ino, len, cs, cns,
			         size, h, v, name);
		strcat(out, line);
	}
	fclose(f);
	puts_("m/" MAILDIR_CACHE_NAME, out);
}

START_TEST(cache_used_while_the_file_is_unchanged)
{
	struct maildir md;
	struct p3err e;

	cache_fixture();
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	maildir_free(&md);
	/* A size only the cache can know: proof that the unchanged file is not read again. */
	doctor_cache("2.lf", 4242);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(md.msgs[1].name, "2.lf");
	ck_assert_uint_eq(md.msgs[1].size, 4242);
	maildir_free(&md);
	/* The same name with other content (a fixture copied again: a new file) is read again. */
	ck_assert_int_eq(unlink(tu_at("m/cur/2.lf")), 0);
	puts_("m/cur/2.lf", "B: lf, longer now\n\nbody\n");
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.msgs[1].size, 19 + 2 + 6);
	maildir_free(&md);
}
END_TEST

START_TEST(cache_rewritten_in_place_of_a_rewrite)
{
	struct maildir md;
	struct p3err e;

	cache_fixture();
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	maildir_free(&md);
	doctor_cache("2.lf", 4242);
	/* Rewritten in place (same inode): the ctime changes, so the file is read again. */
	usleep(20 * 1000);
	puts_("m/cur/2.lf", "B: lf\n\nbody\n");
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.msgs[1].size, 15);
	maildir_free(&md);
}
END_TEST

START_TEST(cache_damaged_is_ignored_and_replaced)
{
	static const char *const bad[] = {
	    "",                                              /* empty */
	    "pop3refd-sizes 1\n",                            /* cut short: no end line */
	    "pop3refd-sizes 1\n1 2 3 4 5 1 0 2.lf\nend 2\n", /* count does not match */
	    "pop3refd-sizes 1\nx 2 3 4 5 1 0 2.lf\nend 1\n", /* not a number */
	    "pop3refd-sizes 1\n1 2 3 4 5 9 0 2.lf\nend 1\n", /* header_8bit out of range */
	    "pop3refd-sizes 2\nend 0\n",                     /* another version */
	    "garbage",
	};
	struct maildir plain, md;
	struct p3err e;

	cache_fixture();
	ck_assert_msg(maildir_scan(tu_at("m"), &plain, &e) == 0, "%s", e.msg);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		puts_("m/" MAILDIR_CACHE_NAME, bad[i]);
		ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
		same_scan(&plain, &md);
		maildir_free(&md);
		/* ... and replaced by a good one, which the next scan uses. */
		ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
		same_scan(&plain, &md);
		maildir_free(&md);
	}
	maildir_free(&plain);
}
END_TEST

START_TEST(cache_drops_removed_messages_and_survives_no_write)
{
	struct maildir md;
	struct p3err e;
	char buf[4096];
	FILE *f;
	size_t n;

	cache_fixture();
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	maildir_free(&md);
	ck_assert_int_eq(unlink(tu_at("m/cur/4.noend")), 0);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 5);
	maildir_free(&md);
	f = fopen(tu_at("m/" MAILDIR_CACHE_NAME), "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	ck_assert_ptr_null(strstr(buf, "4.noend"));
	ck_assert_ptr_nonnull(strstr(buf, "end 4\n")); /* five messages, one of them sized by its name */
	/* A cache that cannot be written (a folder in its place): the scan still answers. */
	ck_assert_int_eq(unlink(tu_at("m/" MAILDIR_CACHE_NAME)), 0);
	ck_assert_int_eq(mkdir(tu_at("m/" MAILDIR_CACHE_NAME), 0700), 0);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 5);
	ck_assert_uint_eq(md.msgs[1].size, 15);
	maildir_free(&md);
	ck_assert_int_eq(rmdir(tu_at("m/" MAILDIR_CACHE_NAME)), 0);
}
END_TEST

START_TEST(renamed_file_keeps_uid_and_size)
{
	struct maildir a, b;
	struct p3err e;

	cache_fixture();
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &a, &e) == 0, "%s", e.msg);
	/* A client of another program sets a flag: the file is renamed in cur/ (Maildir practice). */
	ck_assert_int_eq(rename(tu_at("m/cur/2.lf"), tu_at("m/cur/2.lf:2,RS")), 0);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &b, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(b.msgs[1].name, "2.lf:2,RS");
	ck_assert_str_eq(a.msgs[1].uid, "2.lf");
	ck_assert_str_eq(b.msgs[1].uid, "2.lf");
	ck_assert_uint_eq(a.msgs[1].size, b.msgs[1].size);
	maildir_free(&a);
	maildir_free(&b);
}
END_TEST

/* The entry lines of the cache file, in file order, into names[] (at most max); returns how many. */
static size_t cache_names(char names[][64], size_t max)
{
	char line[1024];
	size_t n = 0;
	FILE *f = fopen(tu_at("m/" MAILDIR_CACHE_NAME), "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f)) {
		int off = 0;
		unsigned long long v[7];
		if (sscanf(line, "%llu %llu %llu %llu %llu %llu %llu %n", &v[0], &v[1], &v[2], &v[3], &v[4],
		           &v[5], &v[6], &off) == 7 &&
		    off > 0 && n < max) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(names[n++], 64, "%s", line + off);
		}
	}
	fclose(f);
	return n;
}

/* 300 messages, so the order of the directory entries is not the order of the names. */
static void many_messages(void)
{
	char rel[64];

	make_md("m");
	for (int i = 0; i < 300; i++) {
		snprintf(rel, sizeof rel, "m/%s/%d.m%d:2,S", i % 3 ? "cur" : "new", (i * 7919) % 1000, i);
		puts_(rel, i % 2 ? "A: x\n\nbody\n" : "A: x\r\n\r\nbody\r\n");
	}
}

START_TEST(cache_order_is_file_name_order)
{
	struct maildir plain, first, second;
	struct p3err e;
	char names[400][64];
	size_t n;

	many_messages();
	ck_assert_msg(maildir_scan(tu_at("m"), &plain, &e) == 0, "%s", e.msg);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &first, &e) == 0, "%s", e.msg);
	/* The cache lists the files in the order a scan returns them: the next scan takes it from there. */
	n = cache_names(names, 400);
	ck_assert_uint_eq(n, 300);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(names[i], plain.msgs[i].name);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &second, &e) == 0, "%s", e.msg);
	same_scan(&plain, &first);
	same_scan(&plain, &second);
	maildir_free(&plain);
	maildir_free(&first);
	maildir_free(&second);
}
END_TEST

START_TEST(cache_in_another_order_is_sorted_and_rewritten)
{
	struct maildir plain, md;
	struct p3err e;
	char names[400][64], line[1024], *lines[400];
	size_t n = 0;
	FILE *f;

	many_messages();
	ck_assert_msg(maildir_scan(tu_at("m"), &plain, &e) == 0, "%s", e.msg);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	maildir_free(&md);
	/* Reverse the entry lines (as an older pop3refd, which wrote them in directory order, might have
	 * left them): every file still has its entry, only the order is not file-name order. */
	f = fopen(tu_at("m/" MAILDIR_CACHE_NAME), "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* the magic line */
	while (fgets(line, sizeof line, f) && strncmp(line, "end ", 4) != 0)
		lines[n++] = strdup(line);
	fclose(f);
	ck_assert_uint_eq(n, 300);
	f = fopen(tu_at("m/" MAILDIR_CACHE_NAME), "w");
	ck_assert_ptr_nonnull(f);
	fputs("pop3refd-sizes 1\n", f);
	for (size_t i = n; i-- > 0;) {
		fputs(lines[i], f);
		free(lines[i]);
	}
	fprintf(f, "end %zu\n", n);
	fclose(f);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	same_scan(&plain, &md);
	maildir_free(&md);
	ck_assert_uint_eq(cache_names(names, 400), 300);
	for (size_t i = 0; i < 300; i++)
		ck_assert_str_eq(names[i], plain.msgs[i].name);
	/* A file added since: sorted in. */
	puts_("m/new/-first", "Z: z\n\nz\n");
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 301);
	ck_assert_str_eq(md.msgs[0].name, "-first");
	for (size_t i = 0; i < 300; i++)
		ck_assert_str_eq(md.msgs[i + 1].path, plain.msgs[i].path);
	maildir_free(&md);
	maildir_free(&plain);
}
END_TEST

START_TEST(hard_link_in_both_folders)
{
	struct maildir plain, first, second;
	struct p3err e;

	cache_fixture();
	/* One file under the same name in new/ and cur/: both are messages, with the same key, and match
	 * the same cache entry; the scan must not take the cache's order then. */
	ck_assert_int_eq(link(tu_at("m/cur/2.lf"), tu_at("m/new/2.lf")), 0);
	ck_assert_msg(maildir_scan(tu_at("m"), &plain, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(plain.count, 7);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &first, &e) == 0, "%s", e.msg);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &second, &e) == 0, "%s", e.msg);
	same_scan(&plain, &first);
	same_scan(&plain, &second);
	ck_assert_str_eq(second.msgs[1].path, tu_at("m/cur/2.lf"));
	ck_assert_str_eq(second.msgs[2].path, tu_at("m/new/2.lf"));
	ck_assert_str_ne(second.msgs[1].uid, second.msgs[2].uid);
	maildir_free(&plain);
	maildir_free(&first);
	maildir_free(&second);
}
END_TEST

START_TEST(w_name_only_for_regular_files)
{
	struct maildir md;
	struct p3err e;

	make_md("m");
	/* Sized by the name without being looked at when the directory entry says "regular file"; a folder
	 * or a dangling link with such a name is no message, a link to a file is one. */
	puts_("m/cur/1.a,W=40", "ab");
	ck_assert_int_eq(mkdir(tu_at("m/cur/2.dir,W=10"), 0700), 0);
	ck_assert_int_eq(symlink("nowhere", tu_at("m/cur/3.dangling,W=10")), 0);
	ck_assert_int_eq(symlink(tu_at("m/cur/1.a,W=40"), tu_at("m/new/4.link,W=12")), 0);
	ck_assert_msg(maildir_scan_cached(tu_at("m"), &md, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(md.count, 2);
	ck_assert_str_eq(md.msgs[0].name, "1.a,W=40");
	ck_assert_uint_eq(md.msgs[0].size, 40);
	ck_assert_str_eq(md.msgs[1].name, "4.link,W=12");
	ck_assert_uint_eq(md.msgs[1].size, 12);
	ck_assert_uint_eq(md.total, 52);
	maildir_free(&md);
}
END_TEST

Suite *maildir_suite(void)
{
	Suite *s = suite_create("maildir");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, tu_root_setup, tu_root_teardown);
	tcase_add_test(tc, order_and_sizes);
	tcase_add_test(tc, ignores_tmp_dotfiles_and_folders);
	tcase_add_test(tc, empty_maildir);
	tcase_add_test(tc, w_field_fast_path);
	tcase_add_test(tc, header_8bit);
	tcase_add_test(tc, fixture_header_8bit);
	tcase_add_test(tc, uid_rules);
	tcase_add_test(tc, uids_stable_and_distinct);
	tcase_add_test(tc, three_copies_of_a_base_name_get_three_ids);
	tcase_add_test(tc, uids_distinct_for_many_equal_bases);
	tcase_add_test(tc, not_a_maildir);
	tcase_add_test(tc, unreadable_message_names_path);
	tcase_add_test(tc, unreadable_file_as_user);
	tcase_add_test(tc, big_message_size);
	tcase_add_test(tc, user_names);
	tcase_add_test(tc, create_nested_and_idempotent);
	tcase_add_test(tc, cache_same_result_as_plain_scan);
	tcase_add_test(tc, verbatim_only_when_stored_as_sent);
	tcase_add_test(tc, cache_used_while_the_file_is_unchanged);
	tcase_add_test(tc, cache_rewritten_in_place_of_a_rewrite);
	tcase_add_test(tc, cache_damaged_is_ignored_and_replaced);
	tcase_add_test(tc, cache_drops_removed_messages_and_survives_no_write);
	tcase_add_test(tc, renamed_file_keeps_uid_and_size);
	tcase_add_test(tc, cache_order_is_file_name_order);
	tcase_add_test(tc, cache_in_another_order_is_sorted_and_rewritten);
	tcase_add_test(tc, hard_link_in_both_folders);
	tcase_add_test(tc, w_name_only_for_regular_files);
	suite_add_tcase(s, tc);
	return s;
}
