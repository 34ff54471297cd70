/* lang.c — language ranges, basic filtering and the LANG command (RFC 6856 §3, RFC 4647). */
#include "server/lang.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>

#include "server/log.h"
#include "server/session.h"

/* Every reply pop3refd writes is English; i-default (RFC 2277 §4.5) names the same texts for clients that
 * ask for "the default language". Both are ASCII, so also UTF-8 (RFC 6856 §3.2). */
const struct lang lang_table[] = {
    {"en", "English", "Language changed to English"},
    {"i-default", "Default language (English)", "Language changed to the default language (English)"},
};
const size_t lang_count = sizeof lang_table / sizeof lang_table[0];

int lang_range_ok(const char *range)
{
	size_t sub = 0; /* length of the current subtag */
	int first = 1;  /* in the first subtag: letters only */

	if (strcmp(range, "*") == 0)
		return 1;
	for (const char *p = range;; p++) {
		if (*p == '-' || *p == '\0') {
			if (sub == 0)
				return 0; /* empty subtag: "", "-en", "en-", "en--us" */
			if (*p == '\0')
				return 1;
			sub = 0;
			first = 0;
			continue;
		}
		if (!(first ? isalpha((unsigned char)*p) : isalnum((unsigned char)*p)) || ++sub > 8)
			return 0;
	}
}

int lang_range_matches(const char *range, const char *tag)
{
	size_t n = strlen(range);

	if (strcmp(range, "*") == 0)
		return 1;
	/* RFC 4647 §3.3.1: the range equals the tag, or a prefix of it that ends just before a "-". */
	return strncasecmp(range, tag, n) == 0 && (tag[n] == '\0' || tag[n] == '-');
}

int lang_select(const char *range)
{
	if (!lang_range_ok(range))
		return -1;
	if (strcmp(range, "*") == 0)
		return 0; /* the administrator's choice; the same for every user (RFC 6856 §7) */
	for (size_t i = 0; i < lang_count; i++)
		if (lang_range_matches(range, lang_table[i].tag))
			return (int)i;
	return -1;
}

static void list_languages(struct session *s, struct result *r)
{
	int rc = 0;

	evbuffer_drain(s->body, evbuffer_get_length(s->body));
	for (size_t i = 0; i < lang_count; i++)
		rc |= evbuffer_add_printf(s->body, "%s %s\r\n", lang_table[i].tag,
		                          lang_table[i].description) < 0;
	if (rc) {
		res_err(r, CODE_SYS_TEMP, "out of memory");
		return;
	}
	res_ok(r, "language listing follows");
	r->multiline = 1;
}

void cmd_lang(struct session *s, const struct cmdline *cl, struct result *r)
{
	int i;

	if (cl->argc == 0) {
		list_languages(s, r);
		return;
	}
	if (!lang_range_ok(cl->argv[0])) {
		/* RFC 6856 §3.2: a failed LANG leaves the language as it was. */
		res_err(r, CODE_NONE, "invalid language range");
		return;
	}
	i = lang_select(cl->argv[0]);
	if (i < 0) {
		res_err(r, CODE_NONE, "no supported language matches %s", cl->argv[0]);
		return;
	}
	s->lang = i;
	log_msg(LOG_DEBUG, "s%lu language %s", s->id, lang_table[i].tag);
	/* RFC 6856 §3.2: "+OK", a space, the exact tag selected, a space, then text in that language. */
	res_ok(r, "%s %s", lang_table[i].tag, lang_table[i].selected);
}
