/* watch.h — noticing mid-run that the server stopped answering: a streak of scenarios that each failed or
 * errored after waiting a whole step timeout, then one liveness check (a greeting, and QUIT answered). A
 * server that answers the check is only slow and the run goes on; one that does not ends the run. */
#ifndef POP3SPEC_WATCH_H
#define POP3SPEC_WATCH_H

#include <stddef.h>
#include "lib/err.h"
#include "runner/result.h"
#include "runner/target.h"

/* Consecutive timed-out scenarios (failed, warned or errored after a whole step timeout) (in the order they
 * end) before the liveness check. */
#define WATCH_STREAK 3

struct watch {
	long timeout_ms; /* the step timeout: a result that took this long waited for one */
	size_t streak;
	size_t checks; /* liveness checks made (for the console and tests) */
};

void watch_init(struct watch *w, double step_timeout_s);
/* Count r; 1 when the streak is complete and the liveness check is due (the streak starts over). A result
 * without a transcript (it never reached the server) neither counts nor breaks the streak. */
int watch_result(struct watch *w, const struct result *r);
/* Connect to the target (its plain port, else its TLS port with a handshake), read the greeting, send QUIT
 * and read its answer, each within timeout_ms. 0 when both came (a close instead of the QUIT answer counts);
 * -1 with err saying what happened (refused, no greeting, closed at once, QUIT unanswered). */
int watch_alive(const struct target *t, int timeout_ms, struct p3err *err);

#endif
