/* faults_int.h — what the parts of the fault build share (faults.c, faults_cmd.c, faults_auth.c,
 * faults_data.c): whether any fault is on, the per-session stashes, the end of a stream's filter. Fault build
 * only. */
#ifndef POP3REFD_FAULTS_INT_H
#define POP3REFD_FAULTS_INT_H

#ifdef POP3REFD_FAULTS

#include <stddef.h>
#include <event2/buffer.h>

struct stream;

/* Whether any fault is on (with none, the fault build behaves exactly as pop3refd). */
int fault_any(void);

/* What a fault keeps for a session between two events: cleartext octets held across STLS (stls-injection),
 * a held reply line (pipelining-reorder), paths of retrieved messages (update-removes-retrieved), a USER
 * kept across STLS (stls-keeps-user). Keyed by the session pointer, forgotten at FE_FREE. */
enum stash_kind {
	STASH_STLS,
	STASH_REPLY,
	STASH_RETRIEVED,
	STASH_USER,
	STASH_MECH,     /* the mechanism of an AUTH exchange under way (auth-outlives-session) */
	STASH_LAST_RETR /* the path of the last message RETR sent (drop-loses-message) */
};

/* The owner of what is kept server-wide, outside any session: a USER or an AUTH exchange a session left
 * behind (user-outlives-session, auth-outlives-session). */
#define FAULT_SERVER_WIDE ((const void *)fault_active)

/* Append n octets to the stash of this kind. */
void fault_stash_put(const void *owner, enum stash_kind kind, const void *data, size_t n);
/* Append the stash of this kind to `to` (NULL: throw it away) and forget it; 1 if there was one. */
int fault_stash_take(const void *owner, enum stash_kind kind, struct evbuffer *to);
/* Forget every stash of `owner` (the session is being freed). */
void fault_stash_forget_all(const void *owner);

/* Replace the stash of this kind with n octets. */
void fault_stash_set(const void *owner, enum stash_kind kind, const void *data, size_t n);
/* Copy a stash holding a string (NUL included) into out, and forget it; 1 if there was one. */
int fault_stash_take_string(const void *owner, enum stash_kind kind, char *out, size_t size);

struct session;
/* Another session logged in as `user` (it holds that user's maildrop), or NULL. */
struct session *fault_holder(const struct session *s, const char *user);
/* Session s ends in AUTHORIZATION (a QUIT, or the client went away): what the faults let it leave behind
 * (authz-quit-unlocks, user-outlives-session, auth-outlives-session). */
void fault_leave_behind(struct session *s);

/* The command overlay (faults_cmd.c, faults_auth.c). fault_run_real runs the table row the current overlay
 * handler wraps; fault_forget_user drops a pending USER. */
struct cmdline;
struct command;
struct result;
void fault_run_real(struct session *s, const struct cmdline *cl, struct result *r);
void fault_forget_user(struct session *s);
/* The overlay handlers of the login commands (faults_auth.c). */
void fault_ov_user(struct session *s, const struct cmdline *cl, struct result *r);
void fault_ov_pass(struct session *s, const struct cmdline *cl, struct result *r);
void fault_ov_apop(struct session *s, const struct cmdline *cl, struct result *r);
void fault_ov_stls(struct session *s, const struct cmdline *cl, struct result *r);
void fault_ov_auth(struct session *s, const struct cmdline *cl, struct result *r);
/* A line inside an AUTH exchange, with the faults of continuation lines. */
void fault_sasl_line(struct session *s, const char *line, size_t len, int flags, struct result *r);
/* auth-outlives-session: take up an exchange another connection left half-done; 1 when resumed. */
int fault_resume_auth(struct session *s, const char *line, size_t len);
/* After command c ran: what AUTH leaves for later, and the SASL faults of its reply. */
void fault_auth_after(struct session *s, const struct command *c, const struct cmdline *cl, struct result *r);

/* Forget the message-data filter of a stream (its session is being freed). */
void fault_filter_forget(const struct stream *st);

#endif

#endif
