/* exec_auth.c — the auth step (RFC 5034): AUTH with a mechanism GNU SASL speaks (sasl_client.h), an
 * initial response or not, each "+ " challenge answered in base64 until +OK or -ERR, a server whose data
 * does not verify cancelled with "*", and SCRAM's final server message required before +OK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/b64.h"
#include "runner/checks.h"
#include "runner/exec/exec_steps.h"
#include "runner/exec/expect.h"
#include "runner/sasl_client.h"
#include "runner/exec/exec_int.h"
#include "runner/step_kinds.h"

/* An exchange longer than this is a server that never ends it. */
#define AUTH_MAX_ROUNDS 32

static int send_b64_line(struct xctx *x, struct xsession *s, const char *prefix, const char *data, size_t len,
                         int empty_as_eq, struct outcome *out)
{
	size_t plen = strlen(prefix);
	char *buf = malloc(plen + b64_encoded_len(len) + 4);
	if (buf == NULL)
		return out_set(out, OUT_ERROR, NULL, NULL, "out of memory");
	memcpy(buf, prefix, plen);
	size_t n = plen;
	if (len)
		n += b64_encode(data, len, buf + plen);
	else if (empty_as_eq)
		buf[n++] = '='; /* RFC 5034 §4: "=" is an empty initial response */
	int rc = step_send_command(x, s, buf, n, out);
	free(buf);
	return rc;
}

void step_run_auth(struct xctx *x, const struct step *st, struct outcome *out)
{
	struct xsession *s = step_session(x, st, out);
	if (s == NULL)
		return;
	const char *mech = st->u.auth.mechanism;
	const struct account *a = &x->acct[st->u.auth.account == 2 ? 1 : 0];
	s->account = st->u.auth.account == 2 ? 2 : 1;
	const struct expect *e = step_first_expect(st);
	char *pass = NULL, *authzid = NULL;
	size_t plen, zlen;
	struct sasl_client *sc = NULL;
	struct p3err err = {0};
	if (step_tls_first(x, s, st->u.auth.tls, mech, out) != 0)
		return;
	if (st->u.auth.password.s && xc_interp(x, &st->u.auth.password, &pass, &plen, out) != 0)
		goto out;
	if (st->u.auth.authzid.s && xc_interp(x, &st->u.auth.authzid, &authzid, &zlen, out) != 0)
		goto out;
	const char *password = pass ? pass : a->password;
	if (sasl_client_start(&sc, mech, a->user, password, authzid, step_sni(x), &err) != 0) {
		out_set(out, OUT_SKIP, NULL, NULL, "unsupported by the runner: %s", err.msg);
		goto out;
	}
	int initial = st->u.auth.initial >= 0 ? st->u.auth.initial : sasl_client_first(mech);
	int client_done = 0;
	char prefix[128];
	snprintf(prefix, sizeof prefix, "AUTH %s", mech);
	if (initial) {
		char *resp;
		size_t rlen;
		int rc = sasl_client_step(sc, NULL, 0, &resp, &rlen, &err);
		if (rc < 0) {
			out_set(out, OUT_ERROR, NULL, NULL, "SASL client: %s", err.msg);
			goto out;
		}
		client_done = rc == 0;
		strcat(prefix, " ");
		rc = send_b64_line(x, s, prefix, resp, rlen, 1, out);
		free(resp);
		if (rc != 0)
			goto out;
	} else if (step_send_command(x, s, prefix, strlen(prefix), out) != 0) {
		goto out;
	}
	for (int round = 0;; round++) {
		if (round == AUTH_MAX_ROUNDS) {
			out_set(out, OUT_EXPECT, NULL, "the AUTH exchange to end",
			        "still continuing after %d rounds", AUTH_MAX_ROUNDS);
			out->level = (int)x->sc->level;
			out->desync = 1;
			goto out;
		}
		enum status_kind kind;
		expect_read_first(x, s, e && e->timeout > 0 ? e->timeout : x->timeout, &kind, out);
		if (out->kind != OUT_PASS) {
			out->level = (int)x->sc->level;
			goto out;
		}
		if (kind != STATUS_CONT)
			break;
		/* A "+ " challenge: base64 (already checked strictly by the per-response checks). */
		const char *pl = x->last_line + 2;
		size_t pll = x->last_len >= 2 ? x->last_len - 2 : 0;
		unsigned char *dec = malloc(pll / 4 * 3 + 4);
		size_t dlen = 0;
		if (dec == NULL || b64_decode(pl, pll, dec, &dlen, 0) != B64_OK) {
			free(dec);
			out_set(out, OUT_CHECK, "R4648-B64-1", "a base64 challenge", "%s", x->last_line);
			goto out;
		}
		if (client_done) {
			/* R5034-AUTH-14: final server data after the client is done gets an empty reply. */
			free(dec);
			if (step_send_command(x, s, "", 0, out) != 0)
				goto out;
			continue;
		}
		char *resp;
		size_t rlen;
		int rc = sasl_client_step(sc, (const char *)dec, dlen, &resp, &rlen, &err);
		free(dec);
		if (rc < 0) {
			/* The server's data did not verify (a SCRAM signature, say): cancel, as RFC 5034 §4
			 * allows. */
			char why[P3ERR_MAX];
			snprintf(why, sizeof why, "%s", err.msg);
			if (step_send_command(x, s, "*", 1, out) == 0) {
				struct outcome tmp;
				expect_read_first(x, s, x->timeout, &kind, &tmp);
			}
			out_set(out, OUT_EXPECT, NULL, "server SASL data the client can verify", "%s", why);
			out->level = (int)x->sc->level;
			goto out;
		}
		client_done = rc == 0;
		if (send_b64_line(x, s, "", resp, rlen, 0, out) != 0) {
			free(resp);
			goto out;
		}
		free(resp);
	}
	expect_judge_last(x, e, out);
	if (out->kind == OUT_PASS && check_status_kind(x->last_line, x->last_len) == STATUS_OK &&
	    !client_done && strncasecmp(mech, "SCRAM-", 6) == 0) {
		/* RFC 5034 §4 / RFC 4422 §3.6: SCRAM's server-final message comes as a "+ " challenge, and
		 * the client verifies it; a +OK without it leaves the server unauthenticated. */
		out_set(out, OUT_EXPECT, "R5034-AUTH-14",
		        "the server's final SCRAM message as a '+ ' challenge before +OK",
		        "+OK came first (the server signature could not be verified)");
		out->level = LEVEL_SHOULD;
		out->own_level = 1;
	}
out:
	sasl_client_free(sc);
	free(pass);
	free(authzid);
}
