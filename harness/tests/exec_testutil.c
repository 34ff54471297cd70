/* exec_testutil.c — expectations and scenario strings for the executor's unit tests. */
#include "exec_testutil.h"

#include <string.h>

struct expect tu_expect(enum status_want w)
{
	struct expect e;
	memset(&e, 0, sizeof e);
	e.status = w;
	e.closes = -1;
	e.handshake = -1;
	e.level = -1;
	return e;
}

struct sstr tu_sstr(const char *str)
{
	struct sstr r = {(char *)str, strlen(str)};
	return r;
}
