/* faults_int.h — what the parts of the fault build share (faults.c, faults_cmd.c, faults_data.c): whether any
 * fault is on, the per-session stashes, the end of a stream's filter. Fault build only. */
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
};

/* Append n octets to the stash of this kind. */
void fault_stash_put(const void *owner, enum stash_kind kind, const void *data, size_t n);
/* Append the stash of this kind to `to` (NULL: throw it away) and forget it; 1 if there was one. */
int fault_stash_take(const void *owner, enum stash_kind kind, struct evbuffer *to);
/* Forget every stash of `owner` (the session is being freed). */
void fault_stash_forget_all(const void *owner);

/* Forget the message-data filter of a stream (its session is being freed). */
void fault_filter_forget(const struct stream *st);

#endif

#endif
