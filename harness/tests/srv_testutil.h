/* srv_testutil.h — for the server's unit tests: Maildirs, and driving a session's
 * event loop from its client socket. */
#ifndef POP3_TESTS_SRV_TESTUTIL_H
#define POP3_TESTS_SRV_TESTUTIL_H

#include <stddef.h>
#include "testutil.h" /* tu_tmpdir, tu_rmrf, tu_write */

/* Make root/user as a Maildir holding messages named name[i] in cur/ with content data[i]. */
void tu_maildrop(const char *root, const char *user, size_t n, const char *const *names,
                 const char *const *data);
/* Whether root/user/cur/name exists. */
int tu_exists(const char *root, const char *user, const char *name);

struct event_base;
/* Let the server's event loop run ~30 ms, then return (in buf, NUL-terminated) everything the client socket
 * fd received since the last call. */
const char *tu_pump(struct event_base *base, int fd, char *buf, size_t size);

#endif
