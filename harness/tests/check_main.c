/* check_main.c — the unit-test runner: every suite listed in suites.def, Check's summary, non-zero exit on
 * any failure. CK_RUN_SUITE / CK_RUN_CASE select a part, as Check documents. */
#include <stdlib.h>
#include <check.h>

#define SUITE(n) Suite *n##_suite(void);
#include "suites.def"
#undef SUITE

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

#define SUITE(n) srunner_add_suite(sr, n##_suite());
#include "suites.def"
#undef SUITE
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
