/* exec_testutil.h — for the executor's unit tests (check_expect.c, check_exec_hostile.c): an expectation
 * with nothing checked and a scenario string from a literal, the pieces a test fills in by hand. */
#ifndef POP3_TESTS_EXEC_TESTUTIL_H
#define POP3_TESTS_EXEC_TESTUTIL_H

#include "runner/scenario.h"

/* An expectation of status w with nothing else checked; fill in what a test needs. */
struct expect tu_expect(enum status_want w);
/* A scenario string over a literal (not copied: never freed). */
struct sstr tu_sstr(const char *str);

#endif
