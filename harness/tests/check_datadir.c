/* check_datadir.c — unit tests for runner/datadir: where an installed pop3spec looks for its suite and for
 * pop3refd (the installed layout itself is tested end to end by e2e/test_install.py). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <check.h>
#include "runner/datadir.h"

Suite *datadir_suite(void);

/* This test binary's folder: the build's bin/, where pop3refd is built too. */
static void self_dir(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	*strrchr(buf, '/') = '\0';
}

START_TEST(build_tree_uses_compiled_datadir)
{
	/* bin/../share/pop3spec/scenarios does not exist in a build tree: the folder compiled in is used. */
	ck_assert_str_eq(datadir(), POP3SPEC_DATADIR);
	ck_assert_ptr_eq(datadir(), datadir());
}
END_TEST

START_TEST(server_beside_executable_first)
{
	char dir[PATH_MAX], want[PATH_MAX + 16], got[3 * PATH_MAX + 64];
	self_dir(dir, sizeof dir);
	snprintf(want, sizeof want, "%s/pop3refd", dir);
	if (access(want, X_OK) == 0) {
		ck_assert_int_eq(datadir_server(got, sizeof got), 0);
		ck_assert_str_eq(got, want);
	} else if (access(POP3SPEC_SBINDIR "/pop3refd", X_OK) != 0) {
		/* Not built and not installed: every place looked at is named. */
		ck_assert_int_eq(datadir_server(got, sizeof got), -1);
		ck_assert_ptr_nonnull(strstr(got, want));
		ck_assert_ptr_nonnull(strstr(got, "/../sbin/pop3refd, "));
		ck_assert_ptr_nonnull(strstr(got, POP3SPEC_SBINDIR "/pop3refd"));
	}
}
END_TEST

START_TEST(server_error_fits_small_buffer)
{
	char small[8];
	/* Whatever is found, the answer is cut to the buffer and terminated. */
	datadir_server(small, sizeof small);
	ck_assert_uint_lt(strlen(small), sizeof small);
}
END_TEST

Suite *datadir_suite(void)
{
	Suite *s = suite_create("datadir");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, build_tree_uses_compiled_datadir);
	tcase_add_test(tc, server_beside_executable_first);
	tcase_add_test(tc, server_error_fits_small_buffer);
	suite_add_tcase(s, tc);
	return s;
}
