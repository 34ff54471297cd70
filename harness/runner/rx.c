/* rx.c — scenario regexes over server octets of a known length, NUL included (rx.h). */
#include "runner/rx.h"

#include <stdlib.h>
#include <string.h>

int rx_exec(const regex_t *r, const char *s, size_t len, size_t nmatch, regmatch_t *m)
{
	/* Always match a NUL-terminated copy. glibc honours REG_STARTEND and reads only [0, len), but
	 * sanitizers' regexec interceptors take the subject for a C string and read up to a NUL, which a
	 * line in the connection buffer does not have. A NUL inside the line becomes \001 so it neither ends
	 * the subject nor matches anything a scenario could mean by text. */
	char small[1024];
	char *copy = len < sizeof small ? small : malloc(len + 1);
	if (copy == NULL)
		return REG_ESPACE;
	for (size_t i = 0; i < len; i++)
		copy[i] = s[i] == '\0' ? '\001' : s[i];
	copy[len] = '\0';
	regmatch_t one[1];
	if (nmatch == 0 || m == NULL) {
		m = one;
		nmatch = 0;
	}
	/* REG_STARTEND: the range is m[0] (read even when nmatch is 0), the results overwrite it. */
	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)len;
	int rc = regexec(r, copy, nmatch, m, REG_STARTEND);
	if (copy != small)
		free(copy);
	return rc;
}

int rx_match(const regex_t *r, const char *s, size_t len)
{
	return rx_exec(r, s, len, 0, NULL) == 0;
}
