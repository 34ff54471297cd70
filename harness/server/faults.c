/* faults.c — the fault switches of bin/pop3refd-faults, and the seams around the session: the session events
 * (fault_event), the line-length limit, the rewrite of the formatted reply (fault_format), the server's
 * settings; the per-session stashes the faults share. The command overlay is faults_cmd.c and faults_auth.c,
 * the message data faults_data.c. Compiled to nothing unless POP3REFD_FAULTS is defined. */
#include "server/faults.h"

#ifdef POP3REFD_FAULTS

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "server/faults_int.h"
#include "server/log.h"
#include "server/reply.h"
#include "server/server.h"
#include "server/session.h"
#include "server/store.h"

unsigned char fault_active[FAULT_COUNT];

struct fault_info {
	const char *name;
	const char *scope;
	const char *what;
};

#define FAULT_INFO(id, name, scope, what) {name, #scope, what},
static const struct fault_info faults[FAULT_COUNT] = {FAULT_LIST(FAULT_INFO)};
#undef FAULT_INFO

int fault_enable(const char *name, struct p3err *err)
{
	for (size_t i = 0; i < FAULT_COUNT; i++) {
		if (strcmp(faults[i].name, name) == 0) {
			fault_active[i] = 1;
			return 0;
		}
	}
	return p3err_set(err, "--fault: unknown fault '%s' (--list-faults shows them)", name);
}

void fault_print_list(FILE *out)
{
	for (size_t i = 0; i < FAULT_COUNT; i++) {
		fputs(faults[i].name, out);
		fputc('\t', out);
		for (const char *p = faults[i].scope; *p; p++)
			fputc(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p, out);
		fprintf(out, "\t%s\n", faults[i].what);
	}
}

const char *fault_enabled_names(void)
{
	static char buf[1024];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < FAULT_COUNT; i++) {
		if (!fault_active[i])
			continue;
		int w = snprintf(buf + len, sizeof buf - len, "%s%s", len ? "," : "", faults[i].name);
		if (w < 0 || (size_t)w >= sizeof buf - len)
			break;
		len += (size_t)w;
	}
	return len ? buf : "none";
}

int fault_any(void)
{
	for (size_t i = 0; i < FAULT_COUNT; i++)
		if (fault_active[i])
			return 1;
	return 0;
}

/* ---- per-session stashes ------------------------------------------------------------------------- */

struct stash {
	const void *owner;
	enum stash_kind kind;
	struct evbuffer *data;
	struct stash *next;
};

static struct stash *stashes;

void fault_stash_put(const void *owner, enum stash_kind kind, const void *data, size_t n)
{
	struct stash *s;

	for (s = stashes; s; s = s->next)
		if (s->owner == owner && s->kind == kind)
			break;
	if (!s) {
		s = calloc(1, sizeof *s);
		if (!s)
			return;
		s->data = evbuffer_new();
		if (!s->data) {
			free(s);
			return;
		}
		s->owner = owner;
		s->kind = kind;
		s->next = stashes;
		stashes = s;
	}
	evbuffer_add(s->data, data, n);
}

/* Append the stash of this kind to `to` (NULL: throw it away) and forget it; 1 if there was one. */
int fault_stash_take(const void *owner, enum stash_kind kind, struct evbuffer *to)
{
	for (struct stash **p = &stashes; *p; p = &(*p)->next) {
		struct stash *s = *p;
		if (s->owner != owner || s->kind != kind)
			continue;
		if (to)
			evbuffer_add_buffer(to, s->data);
		*p = s->next;
		evbuffer_free(s->data);
		free(s);
		return 1;
	}
	return 0;
}

void fault_stash_forget_all(const void *owner)
{
	struct stash **p = &stashes;

	while (*p) {
		struct stash *s = *p;
		if (s->owner == owner) {
			*p = s->next;
			evbuffer_free(s->data);
			free(s);
		} else {
			p = &s->next;
		}
	}
}

/* ---- what several faults share ------------------------------------------------------------------- */

void fault_stash_set(const void *owner, enum stash_kind kind, const void *data, size_t n)
{
	fault_stash_take(owner, kind, NULL);
	fault_stash_put(owner, kind, data, n);
}

int fault_stash_take_string(const void *owner, enum stash_kind kind, char *out, size_t size)
{
	struct evbuffer *b = evbuffer_new();
	int found = 0;

	if (!b)
		return 0;
	if (fault_stash_take(owner, kind, b) && evbuffer_get_length(b) > 0 && size > 0) {
		size_t n = evbuffer_get_length(b) < size ? evbuffer_get_length(b) : size - 1;
		evbuffer_remove(b, out, n);
		out[n] = '\0';
		found = 1;
	}
	evbuffer_free(b);
	return found;
}

/* ---- what a session leaves behind ------------------------------------------------------------------ */

struct session *fault_holder(const struct session *s, const char *user)
{
	for (struct session *o = s->srv->sessions; o; o = o->next)
		if (o != s && o->store && o->state == ST_TRANSACTION && strcmp(o->user, user) == 0)
			return o;
	return NULL;
}

/* authz-quit-unlocks: sessions whose lock a QUIT or a drop in AUTHORIZATION took away. */
struct unlocked {
	const struct session *holder;
	struct unlocked *next;
};

static struct unlocked *unlocked;

void fault_leave_behind(struct session *s)
{
	char mech[64];

	if (s->state != ST_AUTHORIZATION)
		return;
	if (s->have_user && fault_on(F_AUTHZ_QUIT_UNLOCKS)) {
		/* As a server whose lock file is named after the user and removed on the way out. */
		struct session *h = fault_holder(s, s->pending_user);
		struct unlocked *u = h ? calloc(1, sizeof *u) : NULL;
		if (u) {
			u->holder = h;
			u->next = unlocked;
			unlocked = u;
		}
	}
	if (s->have_user && fault_on(F_USER_OUTLIVES_SESSION))
		fault_stash_set(FAULT_SERVER_WIDE, STASH_USER, s->pending_user, strlen(s->pending_user) + 1);
	if (s->sasl && fault_on(F_AUTH_OUTLIVES_SESSION) &&
	    fault_stash_take_string(s, STASH_MECH, mech, sizeof mech))
		fault_stash_set(FAULT_SERVER_WIDE, STASH_MECH, mech, strlen(mech) + 1);
}

int fault_skip_lock(const char *user)
{
	if (fault_on(F_NO_LOCK))
		return 1;
	for (struct unlocked **p = &unlocked; *p; p = &(*p)->next) {
		if ((*p)->holder->store && strcmp((*p)->holder->user, user) == 0) {
			struct unlocked *u = *p;
			*p = u->next;
			free(u);
			return 1; /* the holder's lock is gone: this login takes none either */
		}
	}
	return 0;
}

static void forget_unlocked(const struct session *s)
{
	struct unlocked **p = &unlocked;

	while (*p) {
		if ((*p)->holder == s) {
			struct unlocked *u = *p;
			*p = u->next;
			free(u);
		} else {
			p = &(*p)->next;
		}
	}
}

/* drop-loses-message: the session ends without QUIT; the last message RETR sent is gone with it. */
static void lose_message(struct session *s)
{
	char path[4096];

	if (s->state == ST_TRANSACTION && fault_stash_take_string(s, STASH_LAST_RETR, path, sizeof path))
		(void)unlink(path);
}

/* delete-on-drop, rst-as-update, autologout-updates: enter UPDATE where RFC 1939 §6 forbids it. */
static void update_now(struct session *s)
{
	struct p3err err = {0};
	size_t removed = 0;

	if (!s->store)
		return;
	(void)store_update(s->store, &removed, &err);
	log_msg(LOG_INFO, "s%lu fault: UPDATE without QUIT, %zu removed", s->id, removed);
}

/* ---- the session's life --------------------------------------------------------------------------- */

/* A status line sent straight to the socket, outside the session's output (a fault that writes where the
 * real server writes nothing). */
static void send_raw_status(struct session *s, int ok, const char *text)
{
	struct result r;
	char line[POP3_MAX_STATUS_LINE + 1];
	size_t n;

	res_clear(&r);
	if (ok)
		res_ok(&r, "%s", text);
	else
		res_err(&r, CODE_NONE, "%s", text);
	n = reply_format(&r, line, sizeof line);
	(void)send(s->fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int greeting(struct session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (fault_on(F_APOP_FIXED_TIMESTAMP))
		snprintf(s->timestamp, sizeof s->timestamp, "<1.1.1@%s>", s->srv->hostname);
	if (fault_on(F_GREETING_NO_TIMESTAMP_BUT_APOP))
		s->timestamp[0] = '\0';
	if (fault_on(F_LONG_GREETING)) {
		/* Past the 512 octets of RFC 1939 §3, so not through reply_format, which would cut it. */
		evbuffer_add_printf(out, "+OK pop3refd ready %s %0580d\r\n", s->timestamp, 0);
		return 1;
	}
	if (fault_on(F_GREETING_TWO_LINES)) {
		struct result r;
		char line[POP3_MAX_STATUS_LINE + 1];
		res_clear(&r);
		res_ok(&r, "pop3refd ready %s", s->timestamp);
		evbuffer_add(out, line, reply_format(&r, line, sizeof line));
		evbuffer_add_printf(out, "Welcome to pop3refd\r\n"); /* a banner line that is no reply */
		return 1;
	}
	return 0;
}

int fault_event(struct session *s, enum fault_ev ev)
{
	switch (ev) {
	case FE_ACCEPT:
		if (s->implicit_tls && fault_on(F_IMPLICIT_TLS_PLAIN_GREETING))
			send_raw_status(s, 1, "pop3refd ready");
		return 0;
	case FE_GREETING:
		return greeting(s);
	case FE_TOUCH:
		return fault_on(F_TIMER_NOT_RESET) && evtimer_pending(s->idle_timer, NULL);
	case FE_REPLIED:
		if (fault_on(F_PIPELINING_REORDER))
			fault_stash_take(s, STASH_REPLY, bufferevent_get_output(s->bev));
		return 0;
	case FE_OVERLONG:
		return fault_on(F_OVERLONG_LINE_EXECUTED);
	case FE_CLOSE_NOTIFY:
		return fault_on(F_NO_CLOSE_NOTIFY);
	case FE_TLS_UP: {
		struct evbuffer *user = evbuffer_new();
		if (fault_on(F_STLS_INJECTION))
			fault_stash_take(s, STASH_STLS, bufferevent_get_input(s->bev));
		if (user && fault_stash_take(s, STASH_USER, user) && evbuffer_get_length(user) > 0) {
			s->have_user = 1;
			snprintf(s->pending_user, sizeof s->pending_user, "%s",
			         (const char *)evbuffer_pullup(user, -1));
		}
		if (user)
			evbuffer_free(user);
		return 0;
	}
	case FE_DROP:
		if (fault_on(F_DELETE_ON_DROP) && s->state == ST_TRANSACTION)
			update_now(s);
		fault_leave_behind(s);
		lose_message(s);
		return 0;
	case FE_RESET:
		if (fault_on(F_RST_AS_UPDATE) && s->state == ST_TRANSACTION)
			update_now(s);
		fault_leave_behind(s);
		lose_message(s);
		return 0;
	case FE_IDLE:
		lose_message(s);
		if (fault_on(F_AUTOLOGOUT_UPDATES) && s->state == ST_TRANSACTION)
			update_now(s);
		if (fault_on(F_AUTOLOGOUT_SENDS_REPLY) && !s->tls)
			send_raw_status(s, 0, "autologout");
		return 0;
	case FE_FREE:
		if (fault_on(F_LOCK_LEAK_ON_DROP) && s->store)
			s->store = NULL; /* leaked, its lock held until the server stops */
		fault_stash_forget_all(s);
		forget_unlocked(s);
		fault_filter_forget(&s->stream);
		return 0;
	}
	return 0;
}

size_t fault_line_max(const struct session *s, size_t max)
{
	if (fault_on(F_SASL_LINE_LIMIT_255) && max > POP3_MAX_COMMAND_LINE)
		max = POP3_MAX_COMMAND_LINE;
	if (fault_on(F_LINE_LIMIT_128) && !s->sasl)
		max = 128;
	return max;
}

/* ---- the reply ------------------------------------------------------------------------------------ */

/* pipelining-reorder: hold back a one-line reply while another command waits; it goes out after the next
 * reply (FE_REPLIED). 1 when held. */
static int hold_reply(struct session *s, const struct result *r, const char *line, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(s->bev), *held = evbuffer_new();
	struct evbuffer_ptr lf = evbuffer_search(bufferevent_get_input(s->bev), "\n", 1, NULL);
	int hold = 0;

	if (!held)
		return 0;
	if (r->status != RES_CONT && !r->multiline && r->after == AFTER_NONE && lf.pos >= 0 &&
	    !fault_stash_take(s, STASH_REPLY, held)) {
		fault_stash_put(s, STASH_REPLY, line, n);
		hold = 1;
	} else {
		evbuffer_add_buffer(out, held); /* a reply held before goes first, then this one */
	}
	evbuffer_free(held);
	return hold;
}

size_t fault_format(struct session *s, const struct result *r0, char *buf, size_t size)
{
	struct result r = *r0;
	size_t n;

	if (r.code == CODE_IN_USE && fault_on(F_IN_USE_CODE_MISSING))
		r.code = CODE_AUTH;
	else if (r.code == CODE_AUTH && fault_on(F_AUTH_CODE_MISSING))
		r.code = CODE_NONE;
	n = reply_format(&r, buf, size);
	if (n < 3)
		return n;
	if (r.status == RES_CONT && fault_on(F_CONTINUATION_WITHOUT_SPACE) && buf[1] == ' ') {
		memmove(buf + 1, buf + 2, n - 1); /* "+" and the base64, no space; "+" alone when empty */
		n--;
	}
	if (r.status == RES_OK || r.status == RES_ERR) {
		size_t ind = r.status == RES_OK ? 3 : 4;
		if (fault_on(F_LOWERCASE_OK))
			for (size_t i = 1; i < ind; i++)
				buf[i] = (char)tolower((unsigned char)buf[i]);
		if (fault_on(F_STATUS_NO_SPACE) && buf[ind] == ' ') {
			memmove(buf + ind, buf + ind + 1, n - ind);
			n--;
		}
	}
	if (r.after == AFTER_STLS) {
		struct evbuffer *in = bufferevent_get_input(s->bev);
		if (fault_on(F_STLS_INJECTION)) /* kept, to be run inside TLS (CVE-2011-0411) */
			fault_stash_put(s, STASH_STLS, evbuffer_pullup(in, -1), evbuffer_get_length(in));
		if (fault_on(F_STLS_PLAINTEXT_AFTER_OK)) {
			struct result more;
			char line[POP3_MAX_STATUS_LINE + 1];
			size_t k;
			res_clear(&more);
			res_ok(&more, "go ahead");
			k = reply_format(&more, line, sizeof line);
			if (n + k < size) {
				memcpy(buf + n, line, k + 1);
				n += k;
			}
		}
	}
	if (fault_on(F_PIPELINING_REORDER) && hold_reply(s, &r, buf, n))
		return 0;
	return n;
}

/* ---- the server's settings ------------------------------------------------------------------------ */

int fault_server_start(struct server *srv, struct p3err *err)
{
	/* short-autologout: a tenth of the time asked for (60 s instead of the RFC's 10 minutes). */
	if (fault_on(F_SHORT_AUTOLOGOUT) && srv->idle_timeout > 0)
		srv->idle_timeout = srv->idle_timeout >= 10 ? srv->idle_timeout / 10 : 1;
	/* tls-1.0-allowed: below the TLS 1.2 floor of RFC 8314 §4.1. */
	if (fault_on(F_TLS_1_0_ALLOWED) && srv->tls &&
	    (SSL_CTX_set_security_level(srv->tls, 0),
	     SSL_CTX_set_cipher_list(srv->tls, "DEFAULT:@SECLEVEL=0") != 1 || /* TLS 1.0 has no AEAD suite */
	         SSL_CTX_set_min_proto_version(srv->tls, TLS1_VERSION) != 1))
		return p3err_set(err, "cannot allow TLS 1.0");
	return 0;
}

#else

/* ISO C wants a translation unit to declare something. */
typedef int faults_c_is_empty_without_pop3refd_faults;

#endif
