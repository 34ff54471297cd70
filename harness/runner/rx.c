/* rx.c — scenario regexes over server octets of a known length, NUL included (rx.h). */
#include "runner/rx.h"

#include <ctype.h>
#include <stdio.h>
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

int rx_pattern_ok(const char *re, char *why, size_t whysize)
{
	unsigned long long expansion = 1;
	int after_op = 0; /* the previous token was a repetition operator */

	for (size_t i = 0; re[i]; i++) {
		char c = re[i];
		if (c == '\\' && re[i + 1]) {
			i++;
			after_op = 0;
		} else if (c == '[') {
			/* A bracket expression: ']' first is literal, and so is everything up to the closing
			 * ']'. */
			size_t j = i + 1;
			if (re[j] == '^')
				j++;
			if (re[j] == ']')
				j++;
			while (re[j] && re[j] != ']') {
				if (re[j] == '[' &&
				    (re[j + 1] == ':' || re[j + 1] == '.' || re[j + 1] == '=')) {
					const char *end = strstr(re + j + 2, (char[]){re[j + 1], ']', 0});
					j = end ? (size_t)(end - re) + 2 : strlen(re);
				} else {
					j++;
				}
			}
			i = re[j] ? j : j - 1;
			after_op = 0;
		} else if (c == '*' || c == '+' || c == '?' ||
		           (c == '{' && isdigit((unsigned char)re[i + 1]))) {
			unsigned long lo = 0, hi = 0;
			if (after_op) {
				snprintf(why, whysize,
				         "a repetition of a repetition at offset %zu (undefined in POSIX)",
				         i);
				return -1;
			}
			if (c == '{') {
				char *end;
				lo = strtoul(re + i + 1, &end, 10);
				hi = lo;
				if (*end == ',')
					hi = isdigit((unsigned char)end[1]) ? strtoul(end + 1, &end, 10)
					                                    : (end++, lo + 1);
				if (lo > RX_MAX_BOUND || hi > RX_MAX_BOUND) {
					snprintf(why, whysize, "a repetition bound above %d at offset %zu",
					         RX_MAX_BOUND, i);
					return -1;
				}
				expansion *= hi > 1 ? hi : 1;
				if (expansion > RX_MAX_EXPANSION) {
					snprintf(why, whysize, "counted repetitions that multiply past %d",
					         RX_MAX_EXPANSION);
					return -1;
				}
				while (re[i + 1] && re[i] != '}')
					i++;
			}
			after_op = 1;
		} else {
			after_op = 0;
		}
	}
	return 0;
}

int rx_compile(regex_t *r, const char *re, int cflags)
{
	char why[128];

	if (rx_pattern_ok(re, why, sizeof why) < 0)
		return REG_ESPACE;
	return regcomp(r, re, cflags);
}
