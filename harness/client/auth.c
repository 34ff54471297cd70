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

static int login_plain(struct client *cl, struct reply *r, struct p3err *err)
{
	size_t ul = strlen(cl->o->user), pl = strlen(cl->o->password);
	unsigned char *msg = malloc(ul + pl + 2);
	char *b64 = malloc(b64_encoded_len(ul + pl + 2) + 1);
	int k, rc = -2;

	if (msg == NULL || b64 == NULL) {
		p3err_set(err, "out of memory");
		goto out;
	}
	/* RFC 4616 §2: authzid (empty) NUL authcid NUL passwd. */
	msg[0] = '\0';
	memcpy(msg + 1, cl->o->user, ul);
	msg[1 + ul] = '\0';
	memcpy(msg + 2 + ul, cl->o->password, pl);
	b64_encode(msg, ul + pl + 2, b64);
	/* No initial response: the server's empty challenge comes first, so its form is checked too. */
	if (client_send(cl, err, "AUTH PLAIN") < 0)
		goto out;
	k = client_sasl_reply(cl, r, err);
	if (k < 0)
		goto out;
	if (k == 0) {
		rc = r->ok ? (p3err_set(err, "AUTH PLAIN: +OK before any credentials"), -2) : -1;
		goto out;
	}
	/* PLAIN's first challenge is empty (RFC 4616 §2: the client sends first). */
	if (r->text[0] != '\0' && !cfault_on(CF_SASL_NO_CANCEL)) {
		rc = sasl_cancel(cl, r, "PLAIN got a non-empty challenge", err);
		goto out;
	}
	if (client_send_sasl(cl, b64, err) < 0)
		goto out;
	k = client_sasl_reply(cl, r, err);
	if (k < 0)
		goto out;
	if (k == 1) {
		rc = sasl_cancel(cl, r, "PLAIN got a second challenge", err);
		goto out;
	}
	rc = r->ok ? 0 : -1;
out:
	free(msg);
	free(b64);
	return rc;
}

static int login_cram_md5(struct client *cl, struct reply *r, struct p3err *err)
{
	size_t n;
	unsigned char *challenge;
	char digest[DIGEST_MD5_HEX];
	char *resp = NULL, *b64 = NULL;
	int k, rc = -2;

	if (client_send(cl, err, "AUTH CRAM-MD5") < 0)
		return -2;
	k = client_sasl_reply(cl, r, err);
	if (k <= 0)
		return k < 0 ? -2
		             : (r->ok ? (p3err_set(err, "AUTH CRAM-MD5: +OK without a challenge"), -2) : -1);
	n = strlen(r->text);
	challenge = malloc(n / 4 * 3 + 4);
	if (challenge == NULL)
		return p3err_set(err, "out of memory"), -2;
	size_t clen = 0;
	/* RFC 4648 §3.3: a challenge that is not strict base64, or empty, is not answered. */
	if ((b64_decode(r->text, n, challenge, &clen, 1) != B64_OK || clen == 0) &&
	    !cfault_on(CF_SASL_NO_CANCEL)) {
		rc = sasl_cancel(cl, r, "CRAM-MD5 challenge is not valid base64", err);
		goto out;
	}
	cram_md5_digest((const char *)challenge, clen, cl->o->password, digest);
	if (asprintf(&resp, "%s %s", cl->o->user, digest) < 0) {
		p3err_set(err, "out of memory");
		goto out;
	}
	b64 = malloc(b64_encoded_len(strlen(resp)) + 1);
	if (b64 == NULL) {
		p3err_set(err, "out of memory");
		goto out;
	}
	b64_encode(resp, strlen(resp), b64);
	if (client_send_sasl(cl, b64, err) < 0)
		goto out;
	k = client_sasl_reply(cl, r, err);
	if (k < 0)
		goto out;
	if (k == 1) {
		rc = sasl_cancel(cl, r, "CRAM-MD5 got a second challenge", err);
		goto out;
	}
	rc = r->ok ? 0 : -1;
out:
	free(challenge);
	free(resp);
	free(b64);
	return rc;
}

/* AUTH LOGIN (draft-murchison-sasl-login): the server prompts twice ("Username:", "Password:", in base64,
 * whatever their text); each prompt must be base64, else the exchange is cancelled. */
static int login_login(struct client *cl, struct reply *r, struct p3err *err)
{
	const char *answers[2] = {cl->o->user, cl->o->password};
	int k;

	if (client_send(cl, err, "AUTH LOGIN") < 0)
		return -2;
	for (int i = 0; i < 2; i++) {
		k = client_sasl_reply(cl, r, err);
		if (k < 0)
			return -2;
		if (k == 0)
			return r->ok ? (p3err_set(err, "AUTH LOGIN: +OK before the credentials"), -2) : -1;
		size_t n = strlen(r->text), plen = 0;
		unsigned char *prompt = malloc(n / 4 * 3 + 4);
		if (prompt == NULL)
			return p3err_set(err, "out of memory"), -2;
		enum b64_status st = b64_decode(r->text, n, prompt, &plen, 1);
		free(prompt);
		if (st != B64_OK && !cfault_on(CF_SASL_NO_CANCEL))
			return sasl_cancel(cl, r, "LOGIN prompt is not valid base64", err);
		char *b64 = malloc(b64_encoded_len(strlen(answers[i])) + 1);
		if (b64 == NULL)
			return p3err_set(err, "out of memory"), -2;
		b64_encode(answers[i], strlen(answers[i]), b64);
		int rc = client_send_sasl(cl, b64, err);
		free(b64);
		if (rc < 0)
			return -2;
	}
	k = client_sasl_reply(cl, r, err);
	if (k < 0)
		return -2;
	if (k == 1)
		return sasl_cancel(cl, r, "LOGIN got a third challenge", err);
	return r->ok ? 0 : -1;
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
