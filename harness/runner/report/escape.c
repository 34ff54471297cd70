/* escape.c — XML/HTML escaping of untrusted text, replacing bytes XML 1.0 cannot carry. */
#include <string.h>
#include "runner/report/escape.h"
#include "runner/report/util.h"

/* XML 1.0 §2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
 * Surrogates never decode (utf8_seq rejects them), so only the rest is checked here. */
static int xml_char_ok(unsigned cp)
{
	if (cp < 0x20)
		return cp == 0x9 || cp == 0xA || cp == 0xD;
	/* DEL and the C1 controls are legal XML but invisible and confusing in a report: show them too. */
	if (cp >= 0x7F && cp <= 0x9F)
		return 0;
	return cp != 0xFFFE && cp != 0xFFFF;
}

static void esc(FILE *f, const char *s, size_t n, int attr)
{
	const unsigned char *p = (const unsigned char *)s;
	while (n) {
		unsigned cp;
		size_t k = utf8_seq(p, n, &cp);
		if (k == 0 || !xml_char_ok(cp)) {
			/* Each byte of a bad sequence on its own, as the transcript shows them. */
			size_t m = k ? k : 1;
			for (size_t i = 0; i < m; i++)
				fprintf(f, "\\x%02X", p[i]);
			p += m;
			n -= m;
			continue;
		}
		switch (cp) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		case '\t':
		case '\n':
		case '\r':
			if (attr)
				fprintf(f, "&#%u;", cp);
			else if (cp == '\r')
				fputs("&#13;", f); /* a literal CR would be folded into LF by the parser */
			else
				fputc((int)cp, f);
			break;
		default:
			fwrite(p, 1, k, f);
			break;
		}
		p += k;
		n -= k;
	}
}

void esc_text(FILE *f, const char *s)
{
	if (s)
		esc(f, s, strlen(s), 0);
}

void esc_textn(FILE *f, const char *s, size_t n)
{
	if (s)
		esc(f, s, n, 0);
}

void esc_attr(FILE *f, const char *s)
{
	if (s)
		esc(f, s, strlen(s), 1);
}

void esc_text_max(FILE *f, const char *s, size_t max)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n <= max) {
		esc(f, s, n, 0);
		return;
	}
	/* Cut at a character boundary so no half sequence turns into \xNN noise. */
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	esc(f, s, max, 0);
	fputs("\xE2\x80\xA6", f);
}

void esc_fragment(FILE *f, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~/:@", *p))
			fputc(*p, f);
		else
			fprintf(f, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
}
