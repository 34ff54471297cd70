/* escape.h — writing untrusted text (server lines, messages, file names) into XML and HTML safely. */
#ifndef POP3SPEC_REPORT_ESCAPE_H
#define POP3SPEC_REPORT_ESCAPE_H

#include <stdio.h>

/* Write s as XML 1.0 / HTML character data: & < > " ' become references; every byte that is not valid
 * UTF-8, and every character XML 1.0 forbids (C0 controls but TAB LF CR, U+FFFE, U+FFFF), is written
 * as the text \xNN so the reader still sees which byte it was. NULL writes nothing. */
void esc_text(FILE *f, const char *s);
/* The same for an attribute value: TAB, LF and CR are written as character references too, since an
 * XML parser would otherwise normalise them to spaces (XML 1.0 §3.3.3). */
void esc_attr(FILE *f, const char *s);
/* The first n bytes of s through esc_text. */
void esc_textn(FILE *f, const char *s, size_t n);
/* At most `max` source bytes of s through esc_text, then "…" when cut. */
void esc_text_max(FILE *f, const char *s, size_t max);
/* Write s for use after '#' in a URL: unreserved characters as they are, the rest %XX-encoded. */
void esc_fragment(FILE *f, const char *s);

#endif
