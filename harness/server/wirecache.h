/* wirecache.h — --wire-cache DIR: wire-form copies (CRLF line ends, dot-stuffed, RFC 1939 §3) of big
 * messages stored otherwise, so a RETR after the first one can hand the copy to sendfile(2) instead of
 * encoding every octet again (docs/performance.md, round three). The Maildir stays the source of truth:
 * a copy is named after the identity of the file version it was made from (device, inode, length, ctime),
 * so any change to the message (rewritten, replaced, renamed: every one moves ctime) makes its copy
 * unreachable; copies are written to a temporary name and renamed into place only when complete. */
#ifndef POP3REFD_WIRECACHE_H
#define POP3REFD_WIRECACHE_H

#include <stddef.h>

/* Messages below this many octets as sent are encoded every time: the copy would save little. */
#define WIRECACHE_MIN (1024 * 1024)

/* Room for a copy's file name, and for the path of one under DIR. */
#define WIRECACHE_KEY_MAX 96

/* The copy's name for the file open as src_fd (its current version): 0, or -1 when it is not a regular
 * file. */
int wirecache_key(int src_fd, char *key, size_t size);

/* The complete copy of the file open as src_fd, opened for reading, and its length in *len; -1 when there
 * is none, or it cannot be the copy of a message of `sent` octets as sent (stuffing only adds octets). */
int wirecache_open(const char *dir, int src_fd, unsigned long long sent, unsigned long long *len);

/* A copy being written: a temporary file in DIR, made complete by wirecache_tee_commit. Allocated only
 * while a copy is written (a session holds a pointer: ten thousand idle sessions hold nothing more). */
struct wirecache_tee;

/* Start a copy of the file open as src_fd, or NULL (no copy). */
struct wirecache_tee *wirecache_tee_begin(const char *dir, int src_fd);
/* Append n octets of the wire form; a failure drops the copy (*t becomes NULL; the RETR goes on). */
void wirecache_tee_write(struct wirecache_tee **t, const char *data, size_t n);
/* The whole body is written: rename the copy into place, unless the source changed meanwhile. *t becomes
 * NULL. */
void wirecache_tee_commit(struct wirecache_tee **t, int src_fd);
/* Drop an unfinished copy (a RETR that ended early); *t becomes NULL. Nothing when *t is NULL. */
void wirecache_tee_abort(struct wirecache_tee **t);

/* Remove the copy of the message file `path`, if any (the message is being deleted). */
void wirecache_forget(const char *dir, const char *path);

#endif
