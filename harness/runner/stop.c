/* stop.c — the run's stop request: the SIGINT/SIGTERM handlers, the flag the workers check and the
 * self-pipe lib/conn polls beside every wait. */
#include "runner/stop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "lib/conn.h"

static atomic_int reason = STOP_NONE;
static atomic_int signo;
static atomic_int children[STOP_MAX_CHILDREN];
static int pipefd[2] = {-1, -1};

/* Only async-signal-safe calls here (write, kill, _exit; lock-free atomics). */
static void on_signal(int sig)
{
	int saved = errno;
	int none = 0;
	if (!atomic_compare_exchange_strong(&signo, &none, sig)) {
		/* A second signal: the user does not want to wait for the clean stop. The reference server
		 * would also go by PR_SET_PDEATHSIG; asking now means it is gone before our shell prompt. */
		for (int i = 0; i < STOP_MAX_CHILDREN; i++) {
			pid_t pid = (pid_t)atomic_load(&children[i]);
			if (pid > 0)
				kill(pid, SIGTERM);
		}
		_exit(128 + atomic_load(&signo));
	}
	int expected = STOP_NONE;
	atomic_compare_exchange_strong(&reason, &expected, STOP_SIGNAL);
	if (expected == STOP_SERVER)
		atomic_store(&reason, STOP_SIGNAL); /* a signal outranks the runner's own stop */
	if (pipefd[1] >= 0) {
		ssize_t w = write(pipefd[1], "s", 1);
		(void)w; /* a full pipe is already readable */
	}
	errno = saved;
}

int stop_init(void)
{
	if (pipefd[0] >= 0)
		return 0;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
		pipefd[0] = pipefd[1] = -1;
		return -1;
	}
	conn_set_cancel_fd(pipefd[0]);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking call outside lib/conn (waitpid, a read) returns EINTR and re-checks. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return 0;
}

void stop_request(enum stop_reason why)
{
	int expected = STOP_NONE;
	if (!atomic_compare_exchange_strong(&reason, &expected, (int)why))
		return;
	if (pipefd[1] >= 0) {
		ssize_t w = write(pipefd[1], "r", 1);
		(void)w;
	}
}

enum stop_reason stop_requested(void)
{
	return (enum stop_reason)atomic_load(&reason);
}

int stop_signal(void)
{
	return atomic_load(&signo);
}

void stop_clear_server(void)
{
	int expected = STOP_SERVER;
	if (!atomic_compare_exchange_strong(&reason, &expected, STOP_NONE))
		return;
	char buf[64];
	while (pipefd[0] >= 0 && read(pipefd[0], buf, sizeof buf) > 0)
		;
	/* A signal that came while the pipe was drained must still be seen by every wait. */
	if (atomic_load(&signo) && pipefd[1] >= 0) {
		atomic_store(&reason, STOP_SIGNAL);
		ssize_t w = write(pipefd[1], "s", 1);
		(void)w;
	}
}

void stop_watch_child(pid_t pid)
{
	for (int i = 0; i < STOP_MAX_CHILDREN; i++) {
		int none = 0;
		if (atomic_compare_exchange_strong(&children[i], &none, (int)pid))
			return;
	}
}

void stop_unwatch_child(pid_t pid)
{
	for (int i = 0; i < STOP_MAX_CHILDREN; i++) {
		int p = (int)pid;
		atomic_compare_exchange_strong(&children[i], &p, 0);
	}
}
