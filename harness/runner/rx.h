/* rx.h — matching the octets a server sent against a scenario's regular expression (POSIX ERE, regcomp):
 * the whole line counts, whatever it holds. regexec(3) on a C string stops at the first NUL, so a NUL
 * octet would hide the rest of a line from `match`, `not_match`, `capture`, `contains`, `each_line` and
 * every other regex check; every match on server data goes through here instead. */
#ifndef POP3SPEC_RX_H
#define POP3SPEC_RX_H

#include <regex.h>
#include <stddef.h>

/* regexec over s[0..len) (REG_STARTEND, so s needs no terminating NUL). A NUL octet is matched as any
 * other control octet: by `.`, by bracket expressions that do not exclude it and by [[:cntrl:]] (glibc's
 * POSIX syntax keeps `.` from matching NUL, so the match runs on a copy with NUL as \x01 — the only octet
 * a scenario's regex could then confuse with it). Offsets in m[0..nmatch) are into s. Returns 0 on a
 * match, REG_NOMATCH, or REG_ESPACE when memory runs out. */
int rx_exec(const regex_t *r, const char *s, size_t len, size_t nmatch, regmatch_t *m);

/* Whether a POSIX ERE is safe to give regcomp(3): glibc builds its automaton by copying the tree of each
 * repetition, so a repetition of a repetition ("a++++...", POSIX: undefined) or nested counted repetitions
 * ("((a{500}){500}){500}") need memory exponential in the pattern, found by fuzzing the scenario loader.
 * Refused: an operator (* + ? {m,n}) right after another, a bound above RX_MAX_BOUND, and counted
 * repetitions whose bounds multiply past RX_MAX_EXPANSION. 0, or -1 with why[] saying what. */
#define RX_MAX_BOUND     1000
#define RX_MAX_EXPANSION (128 * 1024)
int rx_pattern_ok(const char *re, char *why, size_t whysize);

/* regcomp(3) for patterns built at run time (interpolated values may come from the server): REG_ESPACE,
 * without calling regcomp, when rx_pattern_ok refuses the pattern. */
int rx_compile(regex_t *r, const char *re, int cflags);

/* Whether s[0..len) matches. */
int rx_match(const regex_t *r, const char *s, size_t len);

#endif
