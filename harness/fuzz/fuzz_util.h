/* fuzz_util.h — what several fuzz targets share: temporary folders that outlive one input, copying a fixture
 * Maildir, and driving a pop3refd session over an in-memory transport (a bufferevent_pair, no socket). */
#ifndef POP3_FUZZ_UTIL_H
#define POP3_FUZZ_UTIL_H

#include <stddef.h>

/* A fresh folder under $TMPDIR (or /tmp) that lives for the whole fuzzing process; abort() on failure. */
const char *fz_tmpdir(const char *tag);
/* Remove a folder tree (best effort). */
void fz_rmrf(const char *path);
/* Make dst hold exactly the files of the Maildir src (cur/, new/, tmp/ made; extra files in cur/ and new/
 * removed, missing ones copied back). abort() on failure. */
void fz_maildir_sync(const char *src, const char *dst);
/* The repository root: $POP3SPEC_ROOT, else the folder two levels above the fuzz binary's folder
 * (build-fuzz/bin/x -> .), else ".". */
const char *fz_root(void);

/* ---- a pop3refd session in memory ----------------------------------------------------------------- */

struct server;
/* A server with the users alice:wonderland and bob:builder, maildirs in a temporary folder where alice's
 * maildrop is a copy of fixtures/maildrops/three, no TLS, no delays, no autologout. Made once. */
struct server *fz_server(void);
/* Put alice's maildrop back to the fixture (after a session that deleted something). */
void fz_server_reset_maildrop(void);

/* Whether alice's maildrop still holds every fixture message, each file the same size (no UPDATE ran). */
int fz_server_maildrop_intact(void);

/* Run one session: the greeting, then `len` octets of input in pieces of at most `chunk` octets (0: all at
 * once), then the client's half-close, until the session is gone. Every octet the server sent is checked
 * (abort() on a violation): each line ends in CRLF. Returns the number of octets the server sent. */
size_t fz_session(const unsigned char *data, size_t len, size_t chunk);

#endif
