/* mbox.h — a fixture Maildir written as one mbox file (mboxrd), the form mbox servers keep mail in, so a
 * reset command for such a server is one `cp {fixture_mbox} /var/mail/{user}`. */
#ifndef POP3SPEC_MBOX_H
#define POP3SPEC_MBOX_H

#include <stddef.h>
#include "lib/err.h"

/* Write the messages of Maildir `dir` (file-name order, as maildir_scan sorts them) to the file `path` as
 * mboxrd: each message preceded by a "From SENDER DATE" line (SENDER from the message's Return-Path, else
 * its From: address, else MAILER-DAEMON; DATE in asctime form, UTC, from the Maildir name's leading Unix
 * time, else the file's mtime), its line ends made LF (mbox is Unix text), every line matching /^>*From /
 * given one more '>', a final line end added when missing, and an empty line after it. The file is written
 * beside `path` and renamed into place, so readers never see half of it. */
int mbox_write(const char *dir, const char *path, struct p3err *err);

/* The envelope sender of the header section `hdr` (hlen octets, LF or CRLF lines): into buf (at most
 * bufsize-1 octets); "MAILER-DAEMON" when there is none. Exposed for the unit tests. */
void mbox_sender(const char *hdr, size_t hlen, char *buf, size_t bufsize);

#endif
