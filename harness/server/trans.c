/* trans.c — STAT, LIST, RETR, DELE, NOOP, RSET, TOP, UIDL and QUIT with its UPDATE state. */
#include "server/trans.h"

#include "server/log.h"
#include "server/server.h"
#include "server/store.h"
#include "server/wirecache.h"

/* Validate a message-number argument: a number naming a message that exists and is not marked deleted
 * (RFC 1939 §5). Returns the message, or NULL with r set to the -ERR. */
static const struct maildir_msg *message_arg(struct session *s, const char *arg, size_t *n, struct result *r)
{
	const struct maildir_msg *m;

	if (parse_msgnum(arg, n) < 0) {
		res_err(r, CODE_NONE, "invalid message number");
		return NULL;
	}
	m = store_get(s->store, *n);
	if (!m) {
		if (*n >= 1 && *n <= store_count(s->store))
			res_err(r, CODE_NONE, "message %zu already deleted", *n);
		else
			res_err(r, CODE_NONE, "no such message");
	}
	return m;
}

void cmd_stat(struct session *s, const struct cmdline *cl, struct result *r)
{
	size_t count;
	unsigned long long octets;

	/* RFC 1939 §5: "+OK nn mm", nothing after the size (R1939-STAT-2). */
	store_stat(s->store, &count, &octets);
	res_ok(r, "%zu %llu", count, octets);
}

void cmd_list(struct session *s, const struct cmdline *cl, struct result *r)
{
	size_t n, count;
	unsigned long long octets;
	const struct maildir_msg *m;

	if (cl->argc == 1) {
		m = message_arg(s, cl->argv[0], &n, r);
		if (m)
			res_ok(r, "%zu %llu", n, m->size);
		return;
	}
	store_stat(s->store, &count, &octets);
	stream_start_listing(&s->stream, s->store, STREAM_SCAN);
	res_ok(r, "%zu message%s (%llu octets)", count, count == 1 ? "" : "s", octets);
	r->multiline = 1;
}

void cmd_uidl(struct session *s, const struct cmdline *cl, struct result *r)
{
	size_t n;
	const struct maildir_msg *m;

	if (cl->argc == 1) {
		m = message_arg(s, cl->argv[0], &n, r);
		if (m)
			res_ok(r, "%zu %s", n, m->uid);
		return;
	}
	stream_start_listing(&s->stream, s->store, STREAM_UIDL);
	res_ok(r, "unique-id listing follows");
	r->multiline = 1;
}

/* RETR and TOP: open the file before answering, so a vanished message still gets a clean -ERR. */
static void send_message(struct session *s, const char *arg, long body_lines, struct result *r)
{
	struct p3err err = {0};
	size_t n = 0;
	const struct maildir_msg *m = message_arg(s, arg, &n, r);

	if (!m)
		return;
	if (!s->utf8_mode) {
		/* RFC 6856 §2.1: outside UTF-8 mode a message with UTF-8 header fields (RFC 6532) is not sent
		 * as is; pop3refd makes no surrogate and refuses it with [UTF8] (§5), which tells the client
		 * it may get it in UTF-8 mode. An 8-bit body alone is ordinary 8BITMIME and is sent. */
		int h = store_header_8bit(s->store, n, &err);
		if (h < 0) {
			log_msg(LOG_ERROR, "s%lu %s", s->id, err.msg);
			res_err(r, CODE_SYS_TEMP, "cannot read message %zu", n);
			return;
		}
		if (h) {
			res_err(r, CODE_UTF8,
			        "message %zu has UTF-8 header fields: use the UTF8 command before login", n);
			return;
		}
	}
	if (stream_start_message(&s->stream, m->path, body_lines, &err) < 0) {
		log_msg(LOG_ERROR, "s%lu %s", s->id, err.msg);
		res_err(r, CODE_SYS_TEMP, "cannot read message %zu", n);
		return;
	}
	/* A file already in its wire form goes out as stored: plain connections only (TLS encrypts every
	 * octet in this process anyway, and encoding in chunks keeps its memory bounded). */
	if (body_lines < 0 && m->verbatim && !s->tls)
		stream_send_verbatim(&s->stream, m->size);
	/* --wire-cache: a big message stored otherwise goes out from its wire-form copy, made by its first
	 * RETR (plain only, for the reason above). */
	else if (body_lines < 0 && !s->tls && s->srv->wire_cache && m->size >= WIRECACHE_MIN)
		stream_wire_cache(&s->stream, s->srv->wire_cache, m->size);
	if (body_lines < 0)
		res_ok(r, "%llu octets", m->size);
	else
		res_ok(r, "top of message %zu follows", n);
	r->multiline = 1;
}

void cmd_retr(struct session *s, const struct cmdline *cl, struct result *r)
{
	send_message(s, cl->argv[0], -1, r);
}

void cmd_top(struct session *s, const struct cmdline *cl, struct result *r)
{
	size_t n;
	long lines;

	/* Validate both arguments before acting: the line count is required and non-negative (RFC 1939 §7).
	 */
	if (parse_msgnum(cl->argv[0], &n) < 0) {
		res_err(r, CODE_NONE, "invalid message number");
		return;
	}
	if (parse_linecount(cl->argv[1], &lines) < 0) {
		res_err(r, CODE_NONE, "invalid line count");
		return;
	}
	send_message(s, cl->argv[0], lines, r);
}

void cmd_dele(struct session *s, const struct cmdline *cl, struct result *r)
{
	size_t n = 0;
	const struct maildir_msg *m = message_arg(s, cl->argv[0], &n, r);

	if (!m)
		return;
	/* RFC 1939 §5: only a mark; removal waits for UPDATE. */
	store_mark(s->store, n);
	res_ok(r, "message %zu deleted", n);
}

void cmd_noop(struct session *s, const struct cmdline *cl, struct result *r)
{
	res_ok(r, "nothing to do");
}

void cmd_rset(struct session *s, const struct cmdline *cl, struct result *r)
{
	size_t count;
	unsigned long long octets;

	store_reset(s->store);
	store_stat(s->store, &count, &octets);
	res_ok(r, "maildrop has %zu message%s (%llu octets)", count, count == 1 ? "" : "s", octets);
}

void cmd_quit(struct session *s, const struct cmdline *cl, struct result *r)
{
	struct p3err err = {0};
	size_t removed = 0;

	r->after = AFTER_CLOSE;
	if (s->state == ST_AUTHORIZATION) {
		/* RFC 1939 §4: no UPDATE from AUTHORIZATION. */
		res_ok(r, "pop3refd signing off");
		return;
	}
	/* RFC 1939 §6: only QUIT in TRANSACTION enters UPDATE. */
	session_set_state(s, ST_UPDATE);
	if (s->srv->wire_cache) {
		/* A deleted message's wire-form copy goes with it (wirecache.h). */
		for (size_t n = 1; n <= store_count(s->store); n++) {
			const struct maildir_msg *m = store_get_any(s->store, n);
			if (!store_get(s->store, n) && m && m->size >= WIRECACHE_MIN)
				wirecache_forget(s->srv->wire_cache, m->path);
		}
	}
	if (store_update(s->store, &removed, &err) < 0) {
		log_msg(LOG_ERROR, "s%lu update %s: %s (%zu removed)", s->id, s->user, err.msg, removed);
		res_err(r, CODE_SYS_TEMP, "some deleted messages were not removed");
	} else {
		log_msg(LOG_INFO, "s%lu update %s: %zu removed", s->id, s->user, removed);
		res_ok(r, "pop3refd signing off (%zu message%s removed)", removed, removed == 1 ? "" : "s");
	}
	/* Release the lock now, before the reply travels, so the client may log in again at once
	 * (RFC 1939 §6, R1939-QUIT-5). */
	store_close(s->store);
	s->store = NULL;
}
