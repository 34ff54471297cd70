/* auth.c — pop3client's logins: USER/PASS and APOP (RFC 1939 §7), and by RFC 5034 AUTH PLAIN (RFC 4616),
 * CRAM-MD5 (RFC 2195) and LOGIN, cancelling with "*" a challenge it cannot answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client.h"
#include "client/faults.h"
#include "lib/b64.h"
#include "lib/digest.h"

static int login_apop(struct client *cl, struct reply *r, struct p3err *err)
{
	char digest[DIGEST_MD5_HEX];

	/* RFC 1939 §7: without a timestamp in the greeting the server does not do APOP; falling back to
	 * USER/PASS would send the password the user chose APOP to keep off the wire. */
	if (cl->timestamp[0] == '\0')
		return p3err_set(err, "APOP asked for, but the greeting has no timestamp"), -2;
	if (cfault_on(CF_APOP_WRONG_DIGEST)) {
		char *rev = NULL;
		if (asprintf(&rev, "%s%s", cl->o->password, cl->timestamp) < 0)
			return p3err_set(err, "out of memory"), -2;
		apop_digest(rev, "", digest);
		free(rev);
	} else {
		apop_digest(cl->timestamp, cl->o->password, digest);
	}
	if (client_send(cl, err, "APOP %s %s", cl->o->user, digest) < 0)
		return -2;
	if (client_reply(cl, r, err) < 0)
		return -2;
	return r->ok ? 0 : -1;
}

static int login_user_pass(struct client *cl, struct reply *r, struct p3err *err)
{
	if (client_send(cl, err, "USER %s", cl->o->user) < 0)
		return -2;
	if (client_reply(cl, r, err) < 0)
		return -2;
	if (!r->ok)
		return -1;
	if (client_send(cl, err, "PASS %s", cl->o->password) < 0)
		return -2;
	if (client_reply(cl, r, err) < 0)
		return -2;
	return r->ok ? 0 : -1;
}

/* RFC 5034 §4: "*" cancels; the server answers -ERR. A challenge the client cannot take is cancelled, never
 * answered with a guess (RFC 4422 §3.5). */
static int sasl_cancel(struct client *cl, struct reply *r, const char *why, struct p3err *err)
{
	if (client_send_sasl(cl, "*", err) < 0)
		return -2;
	int k = client_sasl_reply(cl, r, err);
	if (k < 0)
		return -2;
	if (k == 1 || r->ok)
		return p3err_set(err, "AUTH: %s; after \"*\" the server did not end the exchange with -ERR",
		                 why),
		       -2;
	return p3err_set(err, "AUTH: %s; exchange cancelled", why), -2;
}

/* The server's answer inside an AUTH exchange where a challenge is due: 1 a challenge (in r->text); else
 * the exchange's end: -1 refused, -2 an error (a +OK here skipped the exchange; `early` says how).
 * With mech, "AUTH mech" is sent first (RFC 5034 §4, no initial response). */
static int sasl_challenge(struct client *cl, struct reply *r, const char *mech, const char *early,
                          struct p3err *err)
{
	if (mech != NULL && client_send(cl, err, "AUTH %s", mech) < 0)
		return -2;
	int k = client_sasl_reply(cl, r, err);
	if (k < 0)
		return -2;
	if (k == 1)
		return 1;
	return r->ok ? (p3err_set(err, "%s", early), -2) : -1;
}

/* The server's answer to the exchange's last response: 0 accepted, -1 refused, -2 an error; a further
 * challenge (`why`) is cancelled. */
static int sasl_outcome(struct client *cl, struct reply *r, const char *why, struct p3err *err)
{
	int k = client_sasl_reply(cl, r, err);
	if (k < 0)
		return -2;
	if (k == 1)
		return sasl_cancel(cl, r, why, err);
	return r->ok ? 0 : -1;
}

/* Answer a challenge with data, base64-encoded (RFC 5034 §4). 0 or -2. */
static int sasl_respond(struct client *cl, const void *data, size_t len, struct p3err *err)
{
	char *b64 = malloc(b64_encoded_len(len) + 1);
	if (b64 == NULL)
		return p3err_set(err, "out of memory"), -2;
	b64_encode(data, len, b64);
	int rc = client_send_sasl(cl, b64, err);
	free(b64);
	return rc < 0 ? -2 : 0;
}

/* The challenge in r->text decoded as strict base64 (RFC 4648 §3.3) into a new buffer (NUL-terminated,
 * length in *len); *ok says whether it was valid. NULL when out of memory (err set). */
static unsigned char *challenge_decode(const struct reply *r, size_t *len, int *ok, struct p3err *err)
{
	size_t n = strlen(r->text);
	unsigned char *out = malloc(n / 4 * 3 + 4);
	if (out == NULL)
		return p3err_set(err, "out of memory"), NULL;
	*len = 0;
	*ok = b64_decode(r->text, n, out, len, 1) == B64_OK;
	out[*len] = '\0';
	return out;
}

static int login_plain(struct client *cl, struct reply *r, struct p3err *err)
{
	size_t ul = strlen(cl->o->user), pl = strlen(cl->o->password);
	unsigned char *msg = malloc(ul + pl + 2);
	int rc;

	if (msg == NULL)
		return p3err_set(err, "out of memory"), -2;
	/* RFC 4616 §2: authzid (empty) NUL authcid NUL passwd. */
	msg[0] = '\0';
	memcpy(msg + 1, cl->o->user, ul);
	msg[1 + ul] = '\0';
	memcpy(msg + 2 + ul, cl->o->password, pl);
	/* No initial response: the server's empty challenge comes first, so its form is checked too. */
	rc = sasl_challenge(cl, r, "PLAIN", "AUTH PLAIN: +OK before any credentials", err);
	if (rc != 1)
		goto out;
	/* PLAIN's first challenge is empty (RFC 4616 §2: the client sends first). */
	if (r->text[0] != '\0' && !cfault_on(CF_SASL_NO_CANCEL)) {
		rc = sasl_cancel(cl, r, "PLAIN got a non-empty challenge", err);
		goto out;
	}
	rc = sasl_respond(cl, msg, ul + pl + 2, err);
	if (rc == 0)
		rc = sasl_outcome(cl, r, "PLAIN got a second challenge", err);
out:
	free(msg);
	return rc;
}

static int login_cram_md5(struct client *cl, struct reply *r, struct p3err *err)
{
	char digest[DIGEST_MD5_HEX];
	char *resp = NULL;
	size_t clen;
	int ok, rc;

	if ((rc = sasl_challenge(cl, r, "CRAM-MD5", "AUTH CRAM-MD5: +OK without a challenge", err)) != 1)
		return rc;
	unsigned char *challenge = challenge_decode(r, &clen, &ok, err);
	if (challenge == NULL)
		return -2;
	/* An invalid or empty challenge is not answered. */
	if ((!ok || clen == 0) && !cfault_on(CF_SASL_NO_CANCEL)) {
		rc = sasl_cancel(cl, r, "CRAM-MD5 challenge is not valid base64", err);
		goto out;
	}
	cram_md5_digest((const char *)challenge, clen, cl->o->password, digest);
	if (asprintf(&resp, "%s %s", cl->o->user, digest) < 0) {
		resp = NULL;
		p3err_set(err, "out of memory");
		rc = -2;
		goto out;
	}
	rc = sasl_respond(cl, resp, strlen(resp), err);
	if (rc == 0)
		rc = sasl_outcome(cl, r, "CRAM-MD5 got a second challenge", err);
out:
	free(challenge);
	free(resp);
	return rc;
}

/* AUTH LOGIN (draft-murchison-sasl-login): the server prompts twice ("Username:", "Password:", in base64,
 * whatever their text); each prompt must be base64, else the exchange is cancelled. */
static int login_login(struct client *cl, struct reply *r, struct p3err *err)
{
	const char *answers[2] = {cl->o->user, cl->o->password};
	size_t plen;
	int ok, rc;

	for (int i = 0; i < 2; i++) {
		rc = sasl_challenge(cl, r, i == 0 ? "LOGIN" : NULL, "AUTH LOGIN: +OK before the credentials",
		                    err);
		if (rc != 1)
			return rc;
		unsigned char *prompt = challenge_decode(r, &plen, &ok, err);
		if (prompt == NULL)
			return -2;
		free(prompt);
		if (!ok && !cfault_on(CF_SASL_NO_CANCEL))
			return sasl_cancel(cl, r, "LOGIN prompt is not valid base64", err);
		if (sasl_respond(cl, answers[i], strlen(answers[i]), err) < 0)
			return -2;
	}
	return sasl_outcome(cl, r, "LOGIN got a third challenge", err);
}

int client_login(struct client *cl, struct reply *r, struct p3err *err)
{
	const char *mech = cl->o->sasl;

	if (mech != NULL) {
		if (strcasecmp(mech, "PLAIN") == 0)
			return login_plain(cl, r, err);
		if (strcasecmp(mech, "CRAM-MD5") == 0)
			return login_cram_md5(cl, r, err);
		if (strcasecmp(mech, "LOGIN") == 0)
			return login_login(cl, r, err);
		return p3err_set(err, "SASL mechanism %s is not supported (PLAIN, LOGIN, CRAM-MD5)", mech),
		       -2;
	}
	if (cl->o->apop)
		return login_apop(cl, r, err);
	return login_user_pass(cl, r, err);
}
