/* exec_verdict.c — the one place outcomes become verdicts (exec_decide), and the soft failures a step lives
 * through (xc_soft: a warning or an informational MAY, recorded, the step goes on). The steps call xc_soft;
 * exec.c calls both when a scenario ends; neither calls back into the steps. */
#include <stdio.h>
#include <string.h>

#include "runner/exec/exec_int.h"

/* The one place outcomes become verdicts (docs/scenario-language.md, "Verdicts"):
 *   a check on every response  → fail          the scenario could not run → error
 *   the target cannot do a step → skip         an expectation not met → by its level:
 *     MUST → fail; SHOULD → warn; MAY → skip "optional behaviour absent" (MAY scenarios inform only).
 * An expectation with its own `level:` inside a stricter scenario does not end the scenario: a warning
 * (or a note, for MAY) is kept and the steps go on, unless the session lost step with the server. */
enum verdict exec_decide(const struct outcome *o, int *stop)
{
	*stop = 1;
	switch (o->kind) {
	case OUT_PASS:
		*stop = 0;
		return VERDICT_PASS;
	case OUT_CHECK:
		return VERDICT_FAIL;
	case OUT_ERROR:
		return VERDICT_ERROR;
	case OUT_SKIP:
		return VERDICT_SKIP;
	case OUT_EXPECT:
		break;
	}
	switch (o->level) {
	case LEVEL_SHOULD:
		*stop = !o->own_level || o->desync;
		return VERDICT_WARN;
	case LEVEL_MAY:
		if (o->own_level && !o->desync) {
			*stop = 0;
			return VERDICT_PASS; /* noted in the transcript only */
		}
		return VERDICT_SKIP;
	case LEVEL_MUST:
	default:
		return VERDICT_FAIL;
	}
}

/* Copy a string, cut to fit (messages are one line; a cut one is still useful). */
static void copy_cut(char *dst, size_t n, const char *src)
{
	size_t l = strnlen(src, n - 1);
	memcpy(dst, src, l);
	dst[l] = '\0';
}

void xc_format_reason(const struct xctx *x, const struct outcome *o, char *buf, size_t n)
{
	const char *req = o->req;
	int r;
	/* The requirement id is named here only when it is not one of the scenario's own (reports show
	 * those). */
	for (size_t i = 0; req && i < x->sc->nrefs; i++)
		if (strcmp(req, x->sc->refs[i]) == 0)
			req = NULL;
	if (o->kind == OUT_ERROR || o->kind == OUT_SKIP)
		r = snprintf(buf, n, "%s: %s", x->step_desc, o->actual);
	else if (req)
		r = snprintf(buf, n, "%s: expected %s, got: %s [%s]", x->step_desc, o->expected, o->actual,
		             req);
	else
		r = snprintf(buf, n, "%s: expected %s, got: %s", x->step_desc, o->expected, o->actual);
	if (r < 0)
		buf[0] = '\0';
}

int xc_soft(struct xctx *x, struct outcome *out)
{
	int stop;
	enum verdict v = exec_decide(out, &stop);
	if (stop)
		return 1;
	if (out->kind == OUT_PASS)
		return 0;
	char reason[2200];
	xc_format_reason(x, out, reason, sizeof reason);
	if (v == VERDICT_WARN) {
		xtr_note(&x->tr, NULL, "warning: %s", reason);
		if (!x->warned) {
			x->warned = 1;
			copy_cut(x->warn_msg, sizeof x->warn_msg, reason);
			copy_cut(x->warn_step, sizeof x->warn_step, x->step_desc);
			copy_cut(x->warn_expected, sizeof x->warn_expected, out->expected);
			copy_cut(x->warn_actual, sizeof x->warn_actual, out->actual);
			x->warn_req = out->req;
		}
	} else {
		xtr_note(&x->tr, NULL, "optional behaviour absent (MAY): %s", reason);
	}
	outcome_pass(out);
	return 0;
}
