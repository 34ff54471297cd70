/* policy.c — the --plaintext-auth decisions, in one place for CAPA and the handlers. */
#include "server/policy.h"

#include <string.h>

#include "server/faults.h"
#include "server/session.h"

const char *const policy_mechanisms[] = {"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", NULL};

const char *plaintext_auth_name(enum plaintext_auth p)
{
	switch (p) {
	case PLAINTEXT_ALWAYS:
		return "always";
	case PLAINTEXT_TLS_ONLY:
		return "tls-only";
	case PLAINTEXT_COMPAT:
		break;
	}
	return "compat";
}

int plaintext_auth_parse(const char *s, enum plaintext_auth *out)
{
	if (strcmp(s, "always") == 0)
		*out = PLAINTEXT_ALWAYS;
	else if (strcmp(s, "tls-only") == 0)
		*out = PLAINTEXT_TLS_ONLY;
	else if (strcmp(s, "compat") == 0)
		*out = PLAINTEXT_COMPAT;
	else
		return -1;
	return 0;
}

void policy_view_of(const struct session *s, struct policy_view *v)
{
	v->mode = s->srv->plaintext;
	v->tls_active = s->tls;
	v->tls_available = s->srv->tls != NULL;
	v->stls_used = s->stls_used;
	v->authorization = s->state == ST_AUTHORIZATION;
	v->utf8_mode = s->utf8_mode;
}

int policy_user_pass(const struct policy_view *v)
{
	return v->tls_active || v->mode != PLAINTEXT_TLS_ONLY;
}

int policy_apop(const struct policy_view *v)
{
	return v->tls_active || v->mode != PLAINTEXT_TLS_ONLY;
}

int policy_mech_is_plaintext(const char *mech)
{
	return strcmp(mech, "PLAIN") == 0 || strcmp(mech, "LOGIN") == 0;
}

int policy_mech(const struct policy_view *v, const char *mech)
{
	int known = 0;

	for (size_t i = 0; policy_mechanisms[i]; i++)
		if (strcmp(policy_mechanisms[i], mech) == 0)
			known = 1;
	if (!known)
		return 0;
	if (policy_mech_is_plaintext(mech))
		return v->tls_active || v->mode == PLAINTEXT_ALWAYS || fault_on(F_SASL_PLAIN_IN_CLEARTEXT);
	return 1;
}

int policy_stls(const struct policy_view *v)
{
	return v->tls_available && !v->tls_active && !v->stls_used && v->authorization && !v->utf8_mode;
}
