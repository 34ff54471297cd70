/* stop.h — stopping a run early: SIGINT/SIGTERM (the first stops the run cleanly, a second exits at once),
 * or the runner's own decision (the server stopped answering). One flag the workers check between
 * scenarios and one self-pipe every connection wait polls (conn_set_cancel_fd), so a worker blocked on a
 * mute server stops at once and a run that is not stopped pays nothing. */
#ifndef POP3SPEC_STOP_H
#define POP3SPEC_STOP_H

#include <sys/types.h>

enum stop_reason {
	STOP_NONE = 0,
	STOP_SIGNAL, /* SIGINT or SIGTERM: stop_signal() says which */
	STOP_SERVER  /* the server stopped answering (liveness check failed) */
};

/* Create the pipe, hand it to lib/conn and install the SIGINT/SIGTERM handlers. Idempotent; -1 when the
 * pipe cannot be made (the run then goes on without early stops). */
int stop_init(void);
/* Ask every worker to stop (async-signal-safe); the first reason given wins. */
void stop_request(enum stop_reason why);
enum stop_reason stop_requested(void);
/* The signal that stopped the run (SIGINT, SIGTERM), or 0. */
int stop_signal(void);
/* Forget a STOP_SERVER request once its run has ended, so the next target runs (a signal is never
 * forgotten). */
void stop_clear_server(void);
/* A process a second signal must stop before the runner exits at once (the reference server); 0 forgets
 * it. At most STOP_MAX_CHILDREN. */
#define STOP_MAX_CHILDREN 4
void stop_watch_child(pid_t pid);
void stop_unwatch_child(pid_t pid);

#endif
