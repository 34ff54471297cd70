/* testutil.h — for every unit test: a temporary folder per test, paths under it, and files written whole. */
#ifndef POP3_TESTS_TESTUTIL_H
#define POP3_TESTS_TESTUTIL_H

#include <stddef.h>

/* Make a fresh temporary folder; path gets its name (at least 64 octets). Aborts the test on failure. */
void tu_tmpdir(char *path, size_t size);
/* Remove a folder tree. */
void tu_rmrf(const char *path);
/* Write a file (creating or truncating it). Aborts the test on failure. */
void tu_write(const char *path, const char *data, size_t len);
/* root/rel in one of four rotating buffers, so a call may take several such paths at once. */
const char *tu_path(const char *root, const char *rel);

/* A fresh temporary folder per test: tu_root_setup and tu_root_teardown as a checked fixture
 * (tcase_add_checked_fixture); tu_at(rel) is a path under it, as tu_path. */
void tu_root_setup(void);
void tu_root_teardown(void);
const char *tu_at(const char *rel);

#endif
