/* faults.c — the fault switches of bin/pop3client-faults (the list is faults.h). Compiled to nothing unless
 * POP3CLIENT_FAULTS is defined. */
#include "client/faults.h"

#ifdef POP3CLIENT_FAULTS

#include <string.h>

unsigned char cfault_active[CFAULT_COUNT];

struct cfault_info {
	const char *name;
	const char *what;
	const char *rfc;
};

#define CFAULT_INFO(id, name, what, rfc) {name, what, rfc},
static const struct cfault_info cfaults[CFAULT_COUNT] = {CFAULT_LIST(CFAULT_INFO)};
#undef CFAULT_INFO

int cfault_enable(const char *name, struct p3err *err)
{
	for (size_t i = 0; i < CFAULT_COUNT; i++) {
		if (strcmp(cfaults[i].name, name) == 0) {
			cfault_active[i] = 1;
			return 0;
		}
	}
	return p3err_set(err, "--fault: unknown fault '%s' (--list-faults shows them)", name);
}

void cfault_print_list(FILE *out)
{
	for (size_t i = 0; i < CFAULT_COUNT; i++)
		fprintf(out, "%s\t%s\t%s\n", cfaults[i].name, cfaults[i].rfc, cfaults[i].what);
}

#else

/* ISO C wants at least one declaration in a translation unit. */
typedef int pop3client_no_faults;

#endif
