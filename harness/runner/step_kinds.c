/* step_kinds.c — the table of step kinds (step_kinds.h), dispatch through it (step_run), and the small
 * per-kind functions that do no I/O: the argument a step description shows, and freeing what a step's
 * parser allocated. */
#include "runner/step_kinds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/line.h"
#include "runner/exec/exec_int.h"

/* ---- describe: the argument of "step 4 (send: RETR 1)" --------------------------------------------- */

static void describe_text(const struct xctx *x, const struct step *st, char *arg, size_t n)
{
	(void)x;
	if (st->u.text.s)
		line_escape(st->u.text.s, st->u.text.len, arg, n < 60 ? n : 60);
}

static void describe_connect(const struct xctx *x, const struct step *st, char *arg, size_t n)
{
	(void)x;
	snprintf(arg, n, "%s", st->u.connect.tls ? "tls" : "plain");
}

/* The way `login: {}` logs in, as step descriptions name it ("user" unless the target lacks USER). */
static const char *offered_way(const struct probe *p)
{
	const char *mech;
	switch (exec_login_way(p, &mech)) {
	case LOGIN_WAY_APOP:
		return "apop";
	case LOGIN_WAY_SASL:
		return mech;
	default:
		return "user";
	}
}

static void describe_login(const struct xctx *x, const struct step *st, char *arg, size_t n)
{
	snprintf(arg, n, "%s, account %d",
	         st->u.login.method == LOGIN_APOP      ? "apop"
	         : st->u.login.method == LOGIN_PLAIN   ? "plain"
	         : st->u.login.method == LOGIN_OFFERED ? offered_way(x->p)
	                                               : "user",
	         st->u.login.account);
}

static void describe_auth(const struct xctx *x, const struct step *st, char *arg, size_t n)
{
	(void)x;
	snprintf(arg, n, "%.60s", st->u.auth.mechanism ? st->u.auth.mechanism : "");
}

static void describe_starttls(const struct xctx *x, const struct step *st, char *arg, size_t n)
{
	(void)x;
	if (st->u.starttls.inject.s) {
		char inj[60];
		line_escape(st->u.starttls.inject.s, st->u.starttls.inject.len, inj, 40);
		snprintf(arg, n, "inject %s", inj);
	}
}

static void describe_drop(const struct xctx *x, const struct step *st, char *arg, size_t n)
{
	(void)x;
	snprintf(arg, n, "%s", st->u.drop == DROP_RST ? "rst" : st->u.drop == DROP_HALF ? "half" : "fin");
}

static void describe_sleep(const struct xctx *x, const struct step *st, char *arg, size_t n)
{
	(void)x;
	if (st->u.sleep.s)
		line_escape(st->u.sleep.s, st->u.sleep.len, arg, n < 60 ? n : 60);
}

static void describe_find(const struct xctx *x, const struct step *st, char *arg, size_t n)
{
	(void)x;
	if (st->u.find.message.s)
		snprintf(arg, n, "message %.40s", st->u.find.message.s);
}

/* ---- release: what each parser allocated in st->u --------------------------------------------------- */

static void release_connect(struct step *st)
{
	free(st->u.connect.min_version);
	free(st->u.connect.max_version);
	free(st->u.connect.ciphers);
}

static void release_text(struct step *st)
{
	free(st->u.text.s);
}

static void release_auth(struct step *st)
{
	free(st->u.auth.mechanism);
	free(st->u.auth.password.s);
	free(st->u.auth.authzid.s);
}

static void release_starttls(struct step *st)
{
	free(st->u.starttls.inject.s);
}

static void release_sleep(struct step *st)
{
	free(st->u.sleep.s);
}

static void release_find(struct step *st)
{
	free(st->u.find.message.s);
	free(st->u.find.as);
}

static void release_assert(struct step *st)
{
	free(st->u.assert_.a.s);
	free(st->u.assert_.b.s);
	for (size_t i = 0; i < st->u.assert_.nignore; i++)
		free(st->u.assert_.ignore[i]);
	free(st->u.assert_.ignore);
	free(st->u.assert_.infinite);
	free(st->u.assert_.ref);
}

/* ---- the table ------------------------------------------------------------------------------------- */

/* The order of the rows is the order the loader tries the action keys and lists them in messages. Each row:
 * name, parse, run, describe, release, then the flags that hold and what the step leaves its session in. */
const struct step_type step_kinds[STEP_KINDS] = {
    [STEP_CONNECT] = {"connect", step_parse_connect, step_run_connect, describe_connect, release_connect,
                      .reads = true, .handshakes = true, .leaves = LEAVES_GREETED},
    [STEP_SEND] = {"send", step_parse_send, step_run_send, describe_text, release_text, .reads = true,
                   .leaves = LEAVES_SENT},
    [STEP_RAW] = {"raw", step_parse_raw, step_run_send, describe_text, release_text, .reads = true,
                  .pipelines = true, .leaves = LEAVES_RAW},
    [STEP_READ] = {"read", step_parse_read, step_run_read, NULL, NULL, .reads = true, .leaves = LEAVES_READ},
    [STEP_LOGIN] = {"login", step_parse_login, step_run_login, describe_login, NULL, .reads = true,
                    .logs_in = true, .leaves = LEAVES_SETTLED},
    [STEP_AUTH] = {"auth", step_parse_auth, step_run_auth, describe_auth, release_auth, .reads = true,
                   .logs_in = true, .leaves = LEAVES_SETTLED},
    [STEP_STARTTLS] = {"starttls", step_parse_starttls, step_run_starttls, describe_starttls,
                       release_starttls, .reads = true, .handshakes = true, .leaves = LEAVES_SETTLED},
    [STEP_EXPECT_CLOSE] = {"expect_close", step_parse_expect_close, step_run_expect_close, NULL, NULL,
                           .leaves = LEAVES_UNSETTLED},
    [STEP_DROP] = {"drop", step_parse_drop, step_run_drop, describe_drop, NULL, .leaves = LEAVES_UNSETTLED},
    [STEP_SLEEP] = {"sleep", step_parse_sleep, step_run_sleep, describe_sleep, release_sleep,
                    .leaves = LEAVES_ALL_UNSETTLED},
    [STEP_FIND] = {"find", step_parse_find, step_run_find, describe_find, release_find,
                   .leaves = LEAVES_SETTLED},
    [STEP_ASSERT] = {"assert", step_parse_assert, step_run_assert, NULL, release_assert,
                     .leaves = LEAVES_AS_IS},
};

void step_run(struct xctx *x, const struct step *st, struct outcome *out)
{
	const struct step_type *t = step_type(st->kind);
	outcome_pass(out);
	/* LOGIN-DELAY pacing (pace.h) applies to the login and auth steps' own commands. */
	x->in_login_step = t->logs_in;
	t->run(x, st, out);
	x->in_login_step = 0;
}
