/* faults_cmd.c — the overlay on the command table of bin/pop3refd-faults (fault_run_line): the states a fault
 * allows a command in, the arguments it rewrites, the handlers it wraps (CAPA's finished list included) and
 * the parser's faults; the login and SASL handlers are faults_auth.c. Compiled to nothing unless
 * POP3REFD_FAULTS is defined. */
#include "server/faults.h"

#ifdef POP3REFD_FAULTS

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "lib/line.h"
#include "server/command.h"
#include "server/faults_int.h"
#include "server/reply.h"
#include "server/server.h"
#include "server/session.h"
#include "server/store.h"

/* ---- helpers of the overlay ---------------------------------------------------------------------- */

void fault_forget_user(struct session *s)
{
	s->have_user = 0;
	s->pending_user[0] = '\0';
}

/* Whether the file holds an octet above 0x7F anywhere (utf8-code-for-8bit-body). */
static int file_has_8bit(const char *path)
{
	unsigned char buf[8192];
	int found = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	while (!found && (n = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n && !found; i++)
			found = buf[i] >= 0x80;
	close(fd);
	return found;
}

/* Padding that makes a unique-id 80 characters long, past the 70 RFC 1939 §7 allows (uidl-too-long). */
static const char *uid_padding(const char *uid)
{
	static char pad[81];
	size_t len = strlen(uid);

	memset(pad, 'x', 80);
	pad[80] = '\0';
	return len >= 80 ? pad + 79 : pad + len;
}

/* ---- the overlay on the command table ------------------------------------------------------------- */

/* The table entry an overlay handler wraps (one event loop thread: one command at a time). */
static const struct command *real_cmd;

void fault_run_real(struct session *s, const struct cmdline *cl, struct result *r)
{
	real_cmd->fn(s, cl, r);
}

/* The states a command is allowed in once the state faults are applied. */
static unsigned overlay_states(const struct command *c)
{
	unsigned st = c->states;

	if (fault_on(F_STAT_IN_AUTHORIZATION) && strcmp(c->name, "STAT") == 0)
		st |= ST_AUTHORIZATION;
	if (fault_on(F_USER_AFTER_LOGIN) && strcmp(c->name, "USER") == 0)
		st |= ST_TRANSACTION;
	if (fault_on(F_STLS_AFTER_LOGIN) && strcmp(c->name, "STLS") == 0)
		st |= ST_TRANSACTION;
	if (fault_on(F_AUTH_TWICE) && strcmp(c->name, "AUTH") == 0)
		st |= ST_TRANSACTION;
	if (fault_on(F_UTF8_AFTER_LOGIN) && strcmp(c->name, "UTF8") == 0)
		st |= ST_TRANSACTION;
	if (fault_on(F_LANG_AUTHORIZATION_ONLY) && strcmp(c->name, "LANG") == 0)
		st &= ~(unsigned)ST_TRANSACTION;
	return st;
}

static void ov_stat(struct session *s, const struct cmdline *cl, struct result *r)
{
	size_t count = 0;
	unsigned long long octets = 0;

	if (!s->store) {
		res_ok(r, "0 0"); /* stat-in-authorization */
		return;
	}
	if (fault_on(F_STAT_COUNTS_DELETED)) {
		for (size_t n = 1; n <= store_count(s->store); n++, count++)
			octets += store_get_any(s->store, n)->size;
	} else {
		store_stat(s->store, &count, &octets);
	}
	if (fault_on(F_STAT_SIZE_WRONG))
		octets = (octets + 1023) / 1024 * 1024;
	if (fault_on(F_EXTRA_TEXT_AFTER_STAT))
		res_ok(r, "%zu %llu messages", count, octets);
	else
		res_ok(r, "%zu %llu", count, octets);
}

/* LIST and UIDL without argument, built whole into the session's body with the listing faults. */
static void listing(struct session *s, int uidl, struct result *r)
{
	size_t count = store_count(s->store);

	stream_abort(&s->stream);
	evbuffer_drain(s->body, evbuffer_get_length(s->body));
	for (size_t n = 1; n <= count; n++) {
		const struct maildir_msg *m = store_get(s->store, n);
		if (!m && fault_on(uidl ? F_UIDL_SHOWS_DELETED : F_LIST_SHOWS_DELETED))
			m = store_get_any(s->store, n);
		if (!m)
			continue;
		if (uidl)
			evbuffer_add_printf(s->body, "%zu %s%s\r\n", n, m->uid,
			                    fault_on(F_UIDL_TOO_LONG) ? uid_padding(m->uid) : "");
		else
			evbuffer_add_printf(s->body, "%zu %llu%s\r\n", n, m->size,
			                    fault_on(F_LIST_EXTRA_TEXT) ? " octets" : "");
	}
	if (fault_on(F_NO_TERMINATOR_ON_EMPTY_LIST) && count == 0)
		r->multiline = 0; /* the status line alone, no "." */
}

static void ov_list(struct session *s, const struct cmdline *cl, struct result *r)
{
	fault_run_real(s, cl, r);
	if (r->status != RES_OK)
		return;
	if (cl->argc == 1 && fault_on(F_LIST_N_MULTILINE)) {
		evbuffer_drain(s->body, evbuffer_get_length(s->body));
		evbuffer_add_printf(s->body, "%s\r\n", r->text);
		res_ok(r, "scan listing follows");
		r->multiline = 1;
	} else if (cl->argc == 0 && (fault_on(F_LIST_SHOWS_DELETED) || fault_on(F_LIST_EXTRA_TEXT) ||
	                             fault_on(F_NO_TERMINATOR_ON_EMPTY_LIST))) {
		listing(s, 0, r);
	}
}

static void ov_uidl(struct session *s, const struct cmdline *cl, struct result *r)
{
	if (fault_on(F_CAPA_LIES)) {
		res_err(r, CODE_NONE, "UIDL is not implemented");
		return;
	}
	fault_run_real(s, cl, r);
	if (r->status != RES_OK)
		return;
	if (cl->argc == 1 && fault_on(F_UIDL_TOO_LONG)) {
		char text[RES_TEXT_MAX];
		snprintf(text, sizeof text, "%s", r->text);
		res_ok(r, "%s%s", text, uid_padding(strchr(text, ' ') ? strchr(text, ' ') + 1 : text));
	} else if (cl->argc == 0 && (fault_on(F_UIDL_SHOWS_DELETED) || fault_on(F_UIDL_TOO_LONG) ||
	                             fault_on(F_NO_TERMINATOR_ON_EMPTY_LIST))) {
		listing(s, 1, r);
	}
}

/* RETR and TOP: marked messages let through, the UTF-8 mode faults, retrieved messages noted. */
static void message(struct session *s, const struct cmdline *cl, struct result *r, int top)
{
	const struct maildir_msg *m = NULL;
	size_t n = 0;
	long lines = 0;
	int unmarked = 0, mode = s->utf8_mode;

	if (parse_msgnum(cl->argv[0], &n) == 0)
		m = store_get_any(s->store, n);
	if (m && !store_get(s->store, n) && fault_on(top ? F_TOP_DELETED_ALLOWED : F_RETR_DELETED_ALLOWED)) {
		store_unmark(s->store, n);
		unmarked = 1;
	}
	if (m && store_get(s->store, n) && !s->utf8_mode && fault_on(F_UTF8_CODE_FOR_8BIT_BODY) &&
	    (!top || parse_linecount(cl->argv[1], &lines) == 0) && file_has_8bit(m->path)) {
		res_err(r, CODE_UTF8,
		        "message %zu has UTF-8 header fields: use the UTF8 command before login", n);
		goto out;
	}
	if (fault_on(F_UTF8_MODE_IGNORED))
		s->utf8_mode = 0;
	if (fault_on(F_UTF8_RAW_OUTSIDE_MODE))
		s->utf8_mode = 1;
	fault_run_real(s, cl, r);
	s->utf8_mode = mode;
	if (!top && m && r->status == RES_OK && fault_on(F_RETRIEVED_REMOVED))
		fault_stash_put(s, STASH_RETRIEVED, m->path, strlen(m->path) + 1);
	if (!top && m && r->status == RES_OK && fault_on(F_DROP_LOSES_MESSAGE))
		fault_stash_set(s, STASH_LAST_RETR, m->path, strlen(m->path) + 1);
out:
	if (unmarked)
		(void)store_mark(s->store, n);
}

static void ov_retr(struct session *s, const struct cmdline *cl, struct result *r)
{
	message(s, cl, r, 0);
}

static void ov_top(struct session *s, const struct cmdline *cl, struct result *r)
{
	message(s, cl, r, 1);
}

static void ov_dele(struct session *s, const struct cmdline *cl, struct result *r)
{
	const struct maildir_msg *m = NULL;
	size_t n = 0;

	if (parse_msgnum(cl->argv[0], &n) == 0)
		m = store_get_any(s->store, n);
	if (m && !store_get(s->store, n) && fault_on(F_DELE_TWICE_OK)) {
		res_ok(r, "message %zu deleted", n);
		return;
	}
	fault_run_real(s, cl, r);
	if (m && r->status == RES_OK && fault_on(F_DELE_REMOVES_IMMEDIATELY))
		(void)unlink(m->path);
}

static void ov_rset(struct session *s, const struct cmdline *cl, struct result *r)
{
	size_t count;
	unsigned long long octets;

	if (!fault_on(F_RSET_KEEPS_MARKS)) {
		fault_run_real(s, cl, r);
		return;
	}
	store_stat(s->store, &count, &octets);
	res_ok(r, "maildrop has %zu message%s (%llu octets)", count, count == 1 ? "" : "s", octets);
}

/* update-removes-retrieved: remove the files of the messages RETR sent in this session. */
static void remove_retrieved(struct session *s)
{
	struct evbuffer *paths = evbuffer_new();
	const char *p, *end;

	if (!paths || !fault_stash_take(s, STASH_RETRIEVED, paths) || evbuffer_add(paths, "", 1) < 0) {
		if (paths)
			evbuffer_free(paths);
		return;
	}
	p = (const char *)evbuffer_pullup(paths, -1);
	end = p + evbuffer_get_length(paths) - 1;
	for (; p < end; p += strlen(p) + 1)
		(void)unlink(p);
	evbuffer_free(paths);
}

static void ov_quit(struct session *s, const struct cmdline *cl, struct result *r)
{
	if (s->state == ST_AUTHORIZATION && s->have_user) {
		struct session *h = fault_holder(s, s->pending_user);
		if (h && fault_on(F_AUTHZ_QUIT_UPDATES_OTHER)) {
			/* As a server that keeps the marks in a per-user file and applies them at any QUIT.
			 */
			struct p3err err = {0};
			size_t removed = 0;
			(void)store_update(h->store, &removed, &err);
		}
		fault_leave_behind(s);
	}
	if (s->state == ST_TRANSACTION && s->store) {
		if (fault_on(F_RETRIEVED_REMOVED))
			remove_retrieved(s);
		if (fault_on(F_QUIT_NO_REMOVE))
			store_reset(s->store);
		if (fault_on(F_QUIT_REMOVES_UNMARKED))
			for (size_t n = 1; n <= store_count(s->store); n++)
				(void)store_mark(s->store, n);
	}
	fault_run_real(s, cl, r);
	if (fault_on(F_QUIT_NO_CLOSE))
		r->after = AFTER_NONE; /* the connection stays open */
	if (fault_on(F_QUIT_CLOSES_WITHOUT_REPLY)) {
		res_clear(r); /* closed without the +OK */
		s->closing = 1;
	}
}

/* capa-*, resp-codes-not-announced, stls-not-announced: an edit of the finished CAPA list. */
static void edit_capa(struct session *s)
{
	struct evbuffer *out = evbuffer_new();
	int trans = s->state != ST_AUTHORIZATION, stls = 0;
	size_t len;
	char *line;

	if (!out)
		return;
	while ((line = evbuffer_readln(s->body, &len, EVBUFFER_EOL_CRLF_STRICT)) != NULL) {
		int implementation = strncmp(line, "IMPLEMENTATION ", 15) == 0;
		stls |= strcmp(line, "STLS") == 0;
		if ((!trans && fault_on(F_CAPA_TOP_UIDL_AFTER_LOGIN_ONLY) &&
		     (strcmp(line, "TOP") == 0 || strcmp(line, "UIDL") == 0)) ||
		    (fault_on(F_CAPA_OMITS_USER) && strcmp(line, "USER") == 0) ||
		    (!trans && fault_on(F_RESP_CODES_AFTER_LOGIN_ONLY) && strcmp(line, "RESP-CODES") == 0) ||
		    (trans && fault_on(F_CAPA_TAGS_DROPPED_AFTER_LOGIN) &&
		     (strcmp(line, "TOP") == 0 || strcmp(line, "PIPELINING") == 0)) ||
		    (fault_on(F_RESP_CODES_NOT_ANNOUNCED) && strcmp(line, "RESP-CODES") == 0) ||
		    (trans && fault_on(F_CAPA_UTF8_BEFORE_LOGIN_ONLY) &&
		     (strcmp(line, "UTF8 USER") == 0 || strcmp(line, "LANG") == 0)) ||
		    (fault_on(F_STLS_NOT_ANNOUNCED) && strcmp(line, "STLS") == 0)) {
			free(line);
			continue;
		}
		if (fault_on(F_CAPA_APOP_TAG) && strcmp(line, "UIDL") == 0)
			evbuffer_add_printf(out, "APOP\r\n");
		if (implementation && fault_on(F_CAPA_STLS_AFTER_LOGIN) && s->srv->tls && !stls)
			evbuffer_add_printf(out, "STLS\r\n"); /* after login and after the handshake too */
		if (implementation && fault_on(F_CAPA_EMPTY_LINE))
			evbuffer_add_printf(out, "\r\n");
		if (strncmp(line, "SASL ", 5) == 0 && fault_on(F_CAPA_DOUBLE_SPACE)) {
			evbuffer_add_printf(out, "SASL");
			char *save = NULL;
			for (char *w = strtok_r(line + 5, " ", &save); w; w = strtok_r(NULL, " ", &save))
				evbuffer_add_printf(out, "  %s", w);
			evbuffer_add_printf(out, "\r\n");
		} else if (implementation && fault_on(F_CAPA_LINE_TOO_LONG)) {
			evbuffer_add_printf(out, "%s-%0580d\r\n", line, 0);
		} else {
			evbuffer_add_printf(out, "%s\r\n", line);
		}
		free(line);
	}
	evbuffer_drain(s->body, evbuffer_get_length(s->body));
	evbuffer_add_buffer(s->body, out);
	evbuffer_free(out);
}

static void ov_capa(struct session *s, const struct cmdline *cl, struct result *r)
{
	fault_run_real(s, cl, r);
	if (r->status == RES_OK)
		edit_capa(s);
}

/* "en Text" becomes "en_US Text": a POSIX locale name where RFC 6856 §3 wants a language tag. */
static void posix_name(const char *in, char *out, size_t size)
{
	const char *sp = strchr(in, ' ');
	int tag = sp ? (int)(sp - in) : (int)strlen(in);

	snprintf(out, size, "%.*s_US%s", tag, in, sp ? sp : "");
}

static void ov_lang(struct session *s, const struct cmdline *cl, struct result *r)
{
	static struct cmdline c2;
	char text[RES_TEXT_MAX];

	fault_run_real(s, cl, r);
	if (r->status == RES_ERR && cl->argc == 1 && fault_on(F_LANG_UNMATCHED_OK)) {
		c2 = *cl;
		c2.argv[0] = "*"; /* the default instead of -ERR */
		res_clear(r);
		fault_run_real(s, &c2, r);
	}
	if (r->status != RES_OK)
		return;
	if (cl->argc == 1 && fault_on(F_LANG_WRONG_TAG)) {
		posix_name(r->text, text, sizeof text);
		res_ok(r, "%s", text);
	} else if (cl->argc == 0 && fault_on(F_LANG_LISTING_POSIX_NAMES)) {
		struct evbuffer *out = evbuffer_new();
		char *line;
		size_t len;
		if (!out)
			return;
		while ((line = evbuffer_readln(s->body, &len, EVBUFFER_EOL_CRLF_STRICT)) != NULL) {
			posix_name(line, text, sizeof text);
			evbuffer_add_printf(out, "%s\r\n", text);
			free(line);
		}
		evbuffer_add_buffer(s->body, out);
		evbuffer_free(out);
	}
}

/* The handler a fault puts in place of the table's; NULL to keep it. */
static cmd_fn overlay_fn(const char *name)
{
	static const struct {
		const char *name;
		cmd_fn fn;
	} overlay[] = {
	    {"STAT", ov_stat},       {"LIST", ov_list},       {"UIDL", ov_uidl},
	    {"RETR", ov_retr},       {"TOP", ov_top},         {"DELE", ov_dele},
	    {"RSET", ov_rset},       {"QUIT", ov_quit},       {"USER", fault_ov_user},
	    {"PASS", fault_ov_pass}, {"APOP", fault_ov_apop}, {"STLS", fault_ov_stls},
	    {"AUTH", fault_ov_auth}, {"CAPA", ov_capa},       {"LANG", ov_lang},
	};

	for (size_t i = 0; i < sizeof overlay / sizeof overlay[0]; i++)
		if (strcmp(overlay[i].name, name) == 0)
			return overlay[i].fn;
	return NULL;
}

/* msgnum-atoi, renumber-after-dele: a message-number argument as the faulty server reads it, written back
 * as the number the real parser will take. */
static const char *msgnum_arg(const struct session *s, const char *arg, char *buf, size_t size)
{
	size_t n = 0, seen = 0, k;

	if (fault_on(F_MSGNUM_ATOI)) {
		n = (size_t)atoi(arg); /* "1x" is 1, "+1" is 1, "-1" wraps */
	} else if (parse_msgnum(arg, &n) < 0) {
		return arg;
	}
	if (fault_on(F_RENUMBER_AFTER_DELE) && s->store) {
		/* The n-th message not marked deleted, as if marked ones no longer counted. */
		for (k = 1; k <= store_count(s->store); k++)
			if (store_get(s->store, k) && ++seen == n)
				break;
		n = k;
	}
	snprintf(buf, size, "%zu", n);
	return buf;
}

/* top-linecount-atoi: TOP's line count read with atol(): junk is 0, a negative count the whole message. */
static const char *linecount_arg(const char *arg, char *buf, size_t size)
{
	long v = atol(arg);

	if (v < 0)
		return "99999999999999999999";
	snprintf(buf, size, "%ld", v);
	return buf;
}

/* A word of the command line longer than 32 octets (arg-limit-32). */
static int has_long_word(const char *line, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		run = line[i] == ' ' ? 0 : run + 1;
		if (run > 32)
			return 1;
	}
	return 0;
}

void fault_run_line(struct session *s, const char *line, size_t len, int flags, struct result *r)
{
	static struct cmdline cl;
	static char num[2][32];
	char user[SESSION_NAME_MAX + 1];
	const struct command *c;
	struct command ov;
	int had_user;
	size_t kw;

	if (!fault_any()) {
		session_run_line(s, line, len, flags, r);
		return;
	}
	if (fault_on(F_PIPELINING_DROPS)) {
		struct evbuffer *in = bufferevent_get_input(s->bev);
		evbuffer_drain(in, evbuffer_get_length(in)); /* the rest of this read is lost */
	}
	if (s->sasl) {
		fault_sasl_line(s, line, len, flags, r);
		return;
	}
	if (fault_on(F_NUL_TRUNCATES) && (flags & LINE_HAS_NUL)) {
		len = strlen(line); /* the command ends at the NUL */
		flags &= ~LINE_HAS_NUL;
	}
	if (fault_on(F_AUTH_OUTLIVES_SESSION) && s->state == ST_AUTHORIZATION &&
	    !(flags & (LINE_HAS_NUL | LINE_HAS_CR)) &&
	    (cmd_parse(line, len, &cl) != CMD_PARSE_OK || !cmd_find(cl.keyword)) &&
	    fault_resume_auth(s, line, len)) {
		fault_sasl_line(s, line, len, flags, r);
		return;
	}
	if ((flags & (LINE_HAS_NUL | LINE_HAS_CR)) || cmd_parse(line, len, &cl) != CMD_PARSE_OK) {
		session_run_line(s, line, len, flags, r);
		return;
	}
	if (fault_on(F_ARG_LIMIT_32) && has_long_word(line, len)) {
		res_err(r, CODE_NONE, "syntax error");
		fault_forget_user(s);
		return;
	}
	c = cmd_find(cl.keyword);
	for (kw = 0; c && kw < len && line[kw] != ' '; kw++)
		if (line[kw] >= 'a' && line[kw] <= 'z' && fault_on(F_KEYWORDS_CASE_SENSITIVE))
			c = NULL; /* only the upper-case keyword is known */
	if (!c) {
		if (fault_on(F_UNKNOWN_COMMAND_OK))
			res_ok(r, "ok");
		else
			res_err(r, CODE_NONE, "unknown command");
		fault_forget_user(s);
		return;
	}
	if (fault_on(F_RESCAN_MID_SESSION) && s->store && s->state == ST_TRANSACTION) {
		struct p3err err = {0};
		store_rescan(s->store, &err); /* on failure the old snapshot stays: nothing to see */
	}
	ov = *c;
	ov.states = overlay_states(c);
	if (overlay_fn(c->name))
		ov.fn = overlay_fn(c->name);
	real_cmd = c;
	if (cl.argc >= 1 &&
	    (strcmp(c->name, "LIST") == 0 || strcmp(c->name, "UIDL") == 0 || strcmp(c->name, "RETR") == 0 ||
	     strcmp(c->name, "DELE") == 0 || strcmp(c->name, "TOP") == 0))
		cl.argv[0] = msgnum_arg(s, cl.argv[0], num[0], sizeof num[0]);
	if (cl.argc == 2 && strcmp(c->name, "TOP") == 0 && fault_on(F_TOP_LINECOUNT_ATOI))
		cl.argv[1] = linecount_arg(cl.argv[1], num[1], sizeof num[1]);
	had_user = s->have_user;
	snprintf(user, sizeof user, "%s", s->pending_user);
	command_run(s, &ov, &cl, r);
	if (had_user && strcmp(c->name, "STLS") == 0 && fault_on(F_STLS_KEEPS_USER)) {
		/* The USER given before STLS stays, now and after the handshake. */
		s->have_user = 1;
		snprintf(s->pending_user, sizeof s->pending_user, "%s", user);
		fault_stash_take(s, STASH_USER, NULL);
		fault_stash_put(s, STASH_USER, user, strlen(user) + 1);
	}
	fault_auth_after(s, c, &cl, r);
}

#else

/* ISO C wants a translation unit to declare something. */
typedef int faults_cmd_c_is_empty_without_pop3refd_faults;

#endif
