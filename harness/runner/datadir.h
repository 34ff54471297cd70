/* datadir.h — where an installed pop3spec finds what a run needs when the working folder has none of it:
 * the suite (scenarios/ with the requirement catalog), the fixtures, and the reference server pop3refd. */
#ifndef POP3SPEC_DATADIR_H
#define POP3SPEC_DATADIR_H

#include <stddef.h>

/* The installed suite's folder: EXE/../share/pop3spec when it holds scenarios/ (a relocatable install:
 * `make install PREFIX=P` or a DESTDIR tree run in place), else the folder compiled in (POP3SPEC_DATADIR,
 * `make`'s $(datadir)). Never NULL; a static string, the same for the life of the process. */
const char *datadir(void);

/* The first executable pop3refd of: this executable's folder (the build tree's bin/, or one bindir for
 * both), EXE/../sbin (the installed layout: daemons live in sbin), the sbindir compiled in
 * (POP3SPEC_SBINDIR). Writes it into buf and returns 0, or -1 when there is none (buf then lists the places
 * looked at, comma-separated, for the error message). */
int datadir_server(char *buf, size_t size);

#endif
