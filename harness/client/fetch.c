/* fetch.c — pop3client's session, greeting to QUIT: CAPA, STLS (required or optional, CAPA again after it),
 * login, STAT/UIDL/LIST (pipelined only when PIPELINING is announced), RETR of each message its UIDL state
 * does not know, delivery, DELE only after delivery, and QUIT to commit (RFC 1939 §6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client.h"
#include "client/faults.h"

struct listing {
	unsigned long *num;
	char **uid; /* per entry of num: its unique-id, or NULL */
	size_t n;
	int have_uidl;
};

static void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->uid[i]);
	free(l->num);
	free(l->uid);
}

/* RFC 2449 §8, RFC 3206 §4: these say "later", the others "never with these settings". */
static int exit_for(const struct reply *r)
{
	if (strcasecmp(r->code, "IN-USE") == 0 || strcasecmp(r->code, "LOGIN-DELAY") == 0 ||
	    strcasecmp(r->code, "SYS/TEMP") == 0)
		return CLIENT_TEMPFAIL;
	return CLIENT_FAIL;
}

static int refused(const char *what, const struct reply *r)
{
	fprintf(stderr, "pop3client: %s refused: -ERR %s\n", what, r->text);
	return exit_for(r);
}

/* Try to QUIT politely after a failure; whatever the server then does, the session is over. */
static void quit_quietly(struct client *cl)
{
	struct reply r;
	struct p3err e;

	if (client_send(cl, &e, "QUIT") == 0)
		(void)client_reply(cl, &r, &e);
}

static int read_capa(struct client *cl, struct p3err *err)
{
	struct reply r;
	const char *d;
	size_t n;
	int k;

	memset(&cl->caps, 0, sizeof cl->caps);
	if (client_send(cl, err, "CAPA") < 0 || client_reply(cl, &r, err) < 0)
		return -1;
	if (!r.ok)
		return 0; /* RFC 2449 §5: a server without CAPA; capabilities unknown */
	cl->caps.known = 1;
	while ((k = client_data_line(cl, &d, &n, err)) == 1) {
		char line[POP3_MAX_STATUS_LINE];
		if (n >= sizeof line)
			n = sizeof line - 1;
		memcpy(line, d, n);
		line[n] = '\0';
		char *arg = strchr(line, ' ');
		if (arg != NULL)
			*arg++ = '\0';
		/* RFC 2449 §5: capability names are case-insensitive. */
		if (strcasecmp(line, "STLS") == 0)
			cl->caps.stls = 1;
		else if (strcasecmp(line, "PIPELINING") == 0)
			cl->caps.pipelining = 1;
		else if (strcasecmp(line, "UIDL") == 0)
			cl->caps.uidl = 1;
		else if (strcasecmp(line, "USER") == 0)
			cl->caps.user = 1;
		else if (strcasecmp(line, "RESP-CODES") == 0)
			cl->caps.resp_codes = 1;
		else if (strcasecmp(line, "SASL") == 0 && arg != NULL)
			snprintf(cl->caps.sasl, sizeof cl->caps.sasl, "%s", arg);
	}
	return k < 0 ? -1 : 0;
}

/* STLS as the options ask. 0 go on (TLS up, or cleartext allowed), 1 stop with *ex, -1 error. */
static int negotiate_stls(struct client *cl, int *ex, struct p3err *err)
{
	int required = cl->o->tls == CT_STLS;
	struct reply r;

	/* A server whose CAPA failed may still do STLS: try it. */
	if (cl->caps.known && !cl->caps.stls) {
		if (required && !cfault_on(CF_PASS_CLEARTEXT_TLS_REQUIRED)) {
			fprintf(stderr, "pop3client: STLS is required but the server does not offer it\n");
			quit_quietly(cl);
			*ex = CLIENT_FAIL;
			return 1;
		}
		return 0;
	}
	if (client_send(cl, err, "STLS") < 0 || client_reply(cl, &r, err) < 0)
		return -1;
	if (!r.ok) {
		/* RFC 2595 §4, RFC 8314 §5: a client told to use TLS does not go on without it. */
		if (required && !cfault_on(CF_IGNORE_STLS_FAILURE)) {
			fprintf(stderr, "pop3client: STLS is required and was refused: -ERR %s\n", r.text);
			quit_quietly(cl);
			*ex = CLIENT_FAIL;
			return 1;
		}
		return 0;
	}
	if (client_start_tls(cl, err) < 0)
		return -1;
	/* RFC 2595 §4: "the client MUST discard cached information about server capabilities and SHOULD
	 * re-issue the CAPA command". */
	if (!cfault_on(CF_NO_CAPA_AFTER_STLS))
		return read_capa(cl, err);
	return 0;
}

static int read_listing(struct client *cl, struct listing *l, int uidl, struct p3err *err)
{
	const char *d;
	size_t n;
	int k;

	while ((k = client_data_line(cl, &d, &n, err)) == 1) {
		char line[POP3_MAX_STATUS_LINE], word[POP3_MAX_STATUS_LINE];
		unsigned long num;
		if (n >= sizeof line)
			return p3err_set(err, "%s line too long", uidl ? "UIDL" : "LIST");
		memcpy(line, d, n);
		line[n] = '\0';
		if (sscanf(line, "%lu %511s", &num, word) != 2)
			return p3err_set(err, "malformed %s line: %s", uidl ? "UIDL" : "LIST", line);
		if (uidl) {
			for (size_t i = 0; i < l->n; i++)
				if (l->num[i] == num && l->uid[i] == NULL)
					l->uid[i] = strdup(word);
			continue;
		}
		unsigned long *nn = realloc(l->num, (l->n + 1) * sizeof *nn);
		if (nn == NULL)
			return p3err_set(err, "out of memory");
		l->num = nn;
		char **uu = realloc(l->uid, (l->n + 1) * sizeof *uu);
		if (uu == NULL)
			return p3err_set(err, "out of memory");
		l->uid = uu;
		l->num[l->n] = num;
		l->uid[l->n] = NULL;
		l->n++;
	}
	return k < 0 ? -1 : 0;
}

/* STAT, LIST, UIDL: in one write when PIPELINING is announced (RFC 2449 §6.6), else one at a time. LIST
 * before UIDL so that the unique-ids can be matched to the messages listed. */
static int list_messages(struct client *cl, struct listing *l, int *ex, struct p3err *err)
{
	static const char *const cmds[] = {"STAT", "LIST", "UIDL"};
	int pipeline = cl->caps.pipelining || cfault_on(CF_PIPELINE_UNANNOUNCED);
	struct reply r;

	if (pipeline && client_send_batch(cl, cmds, 3, err) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (!pipeline && client_send(cl, err, "%s", cmds[i]) < 0)
			return -1;
		if (client_reply(cl, &r, err) < 0)
			return -1;
		if (!r.ok) {
			if (i == 2)
				continue; /* UIDL is optional (RFC 1939 §7): every message is then new */
			*ex = refused(cmds[i], &r);
			return 1;
		}
		if (i == 0)
			continue;
		if (read_listing(cl, l, i == 2, err) < 0)
			return -1;
		if (i == 2)
			l->have_uidl = 1;
	}
	return 0;
}

static int save_state(struct client *cl, const struct uid_state *st, struct p3err *err)
{
	return cl->o->state != NULL ? state_save(cl->o->state, st, err) : 0;
}

/* RETR one message into the Maildir. 0 delivered; 1 refused (r); -1 error (the connection is unusable). */
static int retrieve(struct client *cl, unsigned long num, int *dele_sent, struct p3err *err)
{
	struct delivery dv = {.fd = -1};
	struct reply r;
	const char *d;
	size_t n;
	int k;

	if (client_send(cl, err, "RETR %lu", num) < 0 || client_reply(cl, &r, err) < 0)
		return -1;
	if (!r.ok) {
		fprintf(stderr, "pop3client: RETR %lu refused: -ERR %s\n", num, r.text);
		return 1;
	}
	if (cfault_on(CF_DELE_BEFORE_RETR_COMPLETE) && cl->o->delete_after) {
		if (client_send(cl, err, "DELE %lu", num) < 0)
			return -1;
		*dele_sent = 1;
	}
	if (cl->o->maildir != NULL && delivery_begin(&dv, cl->o->maildir, err) < 0)
		return -1;
	const char *eol = cl->o->eol == EOL_CRLF ? "\r\n" : "\n";
	while ((k = client_data_line(cl, &d, &n, err)) == 1) {
		if (dv.fd >= 0 &&
		    (delivery_write(&dv, d, n, err) < 0 || delivery_write(&dv, eol, strlen(eol), err) < 0)) {
			delivery_abort(&dv);
			return -1;
		}
	}
	if (k < 0) {
		/* A message without its terminator is not a message: nothing is delivered. */
		if (dv.fd >= 0) {
			if (cfault_on(CF_DELIVER_PARTIAL_ON_DROP)) {
				struct p3err e2;
				(void)delivery_commit(&dv, &e2);
			} else {
				delivery_abort(&dv);
			}
		}
		return -1;
	}
	if (dv.fd >= 0 && delivery_commit(&dv, err) < 0)
		return -1;
	return 0;
}

static int transaction(struct client *cl, struct uid_state *st, int *ex, struct p3err *err)
{
	struct listing l = {0};
	size_t fetched = 0, skipped = 0, deleted = 0;
	int rc = -1, failed = 0;
	struct reply r;

	int k = list_messages(cl, &l, ex, err);
	if (k != 0) {
		rc = k;
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		const char *uid = l.uid[i];
		int dele_sent = 0;
		/* RFC 1939 §7: the unique-id says whether this message was fetched before. */
		if (uid != NULL && state_has(st, uid) && !cfault_on(CF_REFETCH_SEEN_UIDL)) {
			skipped++;
			continue;
		}
		if (cfault_on(CF_STATE_BEFORE_DELIVERY) && uid != NULL &&
		    (state_add(st, uid, err) < 0 || save_state(cl, st, err) < 0))
			goto out;
		k = retrieve(cl, l.num[i], &dele_sent, err);
		if (k < 0)
			goto out;
		if (k == 1) {
			failed = 1;
			continue;
		}
		fetched++;
		if (uid != NULL && (state_add(st, uid, err) < 0 || save_state(cl, st, err) < 0))
			goto out;
		/* RFC 1939 §6: DELE only marks; the message goes when QUIT commits, and only after it was
		 * delivered here. */
		if ((cl->o->delete_after || cfault_on(CF_DELE_UNASKED)) && !dele_sent &&
		    client_send(cl, err, "DELE %lu", l.num[i]) < 0)
			goto out;
		if (cl->o->delete_after || cfault_on(CF_DELE_UNASKED) || dele_sent) {
			if (client_reply(cl, &r, err) < 0)
				goto out;
			if (!r.ok) {
				fprintf(stderr, "pop3client: DELE %lu refused: -ERR %s\n", l.num[i], r.text);
				failed = 1;
			} else {
				deleted++;
			}
		}
	}
	/* Forget unique-ids the server no longer lists, so the state does not grow without end. */
	if (l.have_uidl && st->n > 0) {
		struct uid_state keep = {0};
		for (size_t i = 0; i < l.n; i++)
			if (l.uid[i] != NULL && state_has(st, l.uid[i]) &&
			    state_add(&keep, l.uid[i], err) < 0) {
				state_free(&keep);
				goto out;
			}
		state_free(st);
		*st = keep;
	}
	if (cl->o->verbose)
		fprintf(stderr, "pop3client: %zu messages, %zu fetched, %zu already seen, %zu deleted\n", l.n,
		        fetched, skipped, deleted);
	*ex = failed ? CLIENT_FAIL : CLIENT_OK;
	rc = 0;
out:
	listing_free(&l);
	return rc;
}

/* One connection. Returns the exit status. */
static int session(struct client *cl, struct uid_state *st)
{
	struct p3err err = {0};
	struct reply r;
	int ex = CLIENT_FAIL, k;

	if (client_connect(cl, &err) < 0)
		goto error;
	if (client_reply(cl, &r, &err) < 0)
		goto error;
	if (!r.ok && !cfault_on(CF_IGNORE_GREETING_ERR)) {
		ex = refused("the connection", &r);
		goto close;
	}
	/* RFC 1939 §7: the APOP timestamp is the greeting's <...>. */
	const char *lt = strchr(r.text, '<'), *gt = lt != NULL ? strchr(lt, '>') : NULL;
	if (gt != NULL && (size_t)(gt - lt + 1) < sizeof cl->timestamp) {
		memcpy(cl->timestamp, lt, (size_t)(gt - lt + 1));
		cl->timestamp[gt - lt + 1] = '\0';
	}
	if (read_capa(cl, &err) < 0)
		goto error;
	if (cl->o->tls == CT_STLS || cl->o->tls == CT_STLS_OPTIONAL) {
		k = negotiate_stls(cl, &ex, &err);
		if (k < 0)
			goto error;
		if (k > 0)
			goto close;
	}
	k = client_login(cl, &r, &err);
	if (k == -2)
		goto error;
	if (k == -1) {
		ex = refused("login", &r);
		quit_quietly(cl);
		goto close;
	}
	k = transaction(cl, st, &ex, &err);
	if (k < 0)
		goto error;
	if (k > 0) {
		quit_quietly(cl);
		goto close;
	}
	if (cl->o->state != NULL && save_state(cl, st, &err) < 0)
		goto error;
	if (cfault_on(CF_NO_QUIT))
		goto close;
	/* RFC 1939 §6: QUIT commits the deletions; -ERR means some were not made. */
	if (client_send(cl, &err, "QUIT") < 0 || client_reply(cl, &r, &err) < 0)
		goto error;
	if (!r.ok) {
		fprintf(stderr, "pop3client: QUIT: -ERR %s\n", r.text);
		ex = CLIENT_FAIL;
	}
close:
	client_close(cl, 0);
	return ex;
error:
	fprintf(stderr, "pop3client: %s\n", err.msg);
	client_close(cl, 1);
	return CLIENT_FAIL;
}

int client_run(const struct client_opts *o)
{
	struct client cl = {.o = o};
	struct uid_state st = {0};
	struct p3err err;
	int ex, tries = cfault_on(CF_RETRY_STORM) ? 11 : 1;

	if (o->state != NULL && state_load(o->state, &st, &err) < 0) {
		fprintf(stderr, "pop3client: %s\n", err.msg);
		return CLIENT_FAIL;
	}
	/* A temporary failure ends the run: the caller (cron, a poll loop) tries again later, as RFC 2449
	 * §8.1.2 asks for LOGIN-DELAY. */
	do {
		memset(&cl.caps, 0, sizeof cl.caps);
		cl.timestamp[0] = '\0';
		ex = session(&cl, &st);
	} while (ex == CLIENT_TEMPFAIL && --tries > 0);
	if (cl.tls_ctx != NULL)
		SSL_CTX_free(cl.tls_ctx);
	state_free(&st);
	return ex;
}
