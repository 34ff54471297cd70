/* testutil.c — temporary folders and files for the unit tests. */
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>

void tu_tmpdir(char *path, size_t size)
{
	snprintf(path, size, "/tmp/pop3refd-unit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(path));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

void tu_rmrf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_write(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "create %s", path);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

const char *tu_path(const char *root, const char *rel)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
	return buf[k];
}

static char root[64];

void tu_root_setup(void)
{
	tu_tmpdir(root, sizeof root);
}

void tu_root_teardown(void)
{
	tu_rmrf(root);
}

const char *tu_at(const char *rel)
{
	return tu_path(root, rel);
}
