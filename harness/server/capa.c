/* capa.c — the CAPA response and the mechanism list. */
#include "server/capa.h"

#include <string.h>

int capa_mechanisms(const struct policy_view *v, struct evbuffer *out)
{
	struct policy_view pre = *v;

	/* Judge as in AUTHORIZATION: the list does not change at login (RFC 5034 §3). */
	pre.authorization = 1;
	for (size_t i = 0; policy_mechanisms[i]; i++)
		if (policy_mech(&pre, policy_mechanisms[i]) &&
		    evbuffer_add_printf(out, "%s\r\n", policy_mechanisms[i]) < 0)
			return -1;
	return 0;
}

int capa_build(const struct policy_view *v, struct evbuffer *out)
{
	struct policy_view pre = *v;
	char sasl[256] = "SASL";
	int rc = 0;

	pre.authorization = 1;
	rc |= evbuffer_add_printf(out, "TOP\r\n") < 0;
	if (policy_user_pass(&pre))
		rc |= evbuffer_add_printf(out, "USER\r\n") < 0;
	for (size_t i = 0; policy_mechanisms[i]; i++) {
		if (!policy_mech(&pre, policy_mechanisms[i]))
			continue;
		strcat(sasl, " ");
		strcat(sasl, policy_mechanisms[i]);
	}
	if (strcmp(sasl, "SASL") != 0)
		rc |= evbuffer_add_printf(out, "%s\r\n", sasl) < 0;
	rc |= evbuffer_add_printf(out, "RESP-CODES\r\n") < 0;
	rc |= evbuffer_add_printf(out, "AUTH-RESP-CODE\r\n") < 0;
	rc |= evbuffer_add_printf(out, "PIPELINING\r\n") < 0;
	rc |= evbuffer_add_printf(out, "UIDL\r\n") < 0;
	/* No delay between logins, and mail is never removed by policy (RFC 2449 §6.5, §6.7). */
	rc |= evbuffer_add_printf(out, "LOGIN-DELAY 0\r\n") < 0;
	rc |= evbuffer_add_printf(out, "EXPIRE NEVER\r\n") < 0;
	/* RFC 6856 §2, §3.1: both states, no differences; USER: UTF-8 user names and passwords are accepted
	 * (§2.2). */
	rc |= evbuffer_add_printf(out, "UTF8 USER\r\n") < 0;
	rc |= evbuffer_add_printf(out, "LANG\r\n") < 0;
	if (policy_stls(v))
		rc |= evbuffer_add_printf(out, "STLS\r\n") < 0;
	rc |= evbuffer_add_printf(out, "IMPLEMENTATION pop3refd-%s\r\n", POP3SPEC_VERSION) < 0;
	return rc ? -1 : 0;
}

void cmd_capa(struct session *s, const struct cmdline *cl, struct result *r)
{
	struct policy_view v;

	policy_view_of(s, &v);
	evbuffer_drain(s->body, evbuffer_get_length(s->body));
	if (capa_build(&v, s->body) < 0) {
		res_err(r, CODE_SYS_TEMP, "out of memory");
		return;
	}
	res_ok(r, "capability list follows");
	r->multiline = 1;
}
