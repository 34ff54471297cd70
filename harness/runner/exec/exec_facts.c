/* exec_facts.c — what the executor asks of the probe's findings and the target profile, with no I/O:
 * whether a CAPA list holds a tag or a SASL mechanism, whether a login goes over TLS first (login_tls),
 * which way `login: {}` logs in, how long a login reply may take. The steps and the drivers above them
 * (exec.c, exec_probe.c, exec_account.c) all ask here, so none of them calls another for it. */
#include "runner/exec/exec.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "runner/exec/exec_int.h"

/* ---- CAPA lists (RFC 2449 §5: tags are case-insensitive) -------------------------------------------- */

int capa_lists(char *const *lines, size_t n, const char *tag)
{
	size_t tl = strlen(tag);
	for (size_t i = 0; i < n; i++)
		if (lines[i] && strncasecmp(lines[i], tag, tl) == 0 &&
		    (lines[i][tl] == '\0' || lines[i][tl] == ' '))
			return 1;
	return 0;
}

/* Whether `mech` is on a "SASL ..." line. */
int capa_lists_sasl(char *const *lines, size_t n, const char *mech)
{
	size_t ml = strlen(mech);
	for (size_t i = 0; i < n; i++) {
		if (!lines[i] || strncasecmp(lines[i], "SASL", 4) != 0 ||
		    (lines[i][4] != ' ' && lines[i][4] != '\0'))
			continue;
		for (const char *w = lines[i] + 4; *w;) {
			while (*w == ' ')
				w++;
			size_t wl = strcspn(w, " ");
			if (wl == ml && strncasecmp(w, mech, ml) == 0)
				return 1;
			w += wl;
		}
	}
	return 0;
}

int exec_probe_has(const struct probe *p, const char *tag, int tls)
{
	if (p == NULL)
		return 0;
	return tls ? capa_lists(p->capa_tls, p->ncapa_tls, tag) : capa_lists(p->capa, p->ncapa, tag);
}

/* RFC 2595 §2.2 privacy mode, as the probe saw it: a login offered over TLS and not before it. */
int exec_login_tls(const struct target *t, const struct probe *p, const char *mech)
{
	if (t->login_tls != LOGIN_TLS_AUTO)
		return t->login_tls == LOGIN_TLS_YES;
	if (p == NULL || !p->capa_ok || !p->stls_ok)
		return 0;
	if (mech)
		return !capa_lists_sasl(p->capa, p->ncapa, mech) &&
		       capa_lists_sasl(p->capa_tls, p->ncapa_tls, mech);
	return !capa_lists(p->capa, p->ncapa, "USER") && capa_lists(p->capa_tls, p->ncapa_tls, "USER");
}

/* ---- logins ------------------------------------------------------------------------------------------ */

enum login_way exec_login_way(const struct probe *p, const char **mech)
{
	*mech = NULL;
	if (p == NULL || !p->user_refused)
		return LOGIN_WAY_USER;
	if (p->timestamp)
		return LOGIN_WAY_APOP;
	if (p->login_mech) {
		*mech = p->login_mech;
		return LOGIN_WAY_SASL;
	}
	return LOGIN_WAY_USER; /* nothing else offered: USER it is, and the scenario shows the refusal */
}

const char *exec_login_way_name(const struct probe *p, char *buf, size_t bufsize)
{
	const char *mech;
	switch (exec_login_way(p, &mech)) {
	case LOGIN_WAY_APOP:
		return "APOP";
	case LOGIN_WAY_SASL:
		snprintf(buf, bufsize, "AUTH %s", mech);
		return buf;
	case LOGIN_WAY_USER:
	default:
		return "USER/PASS";
	}
}

double exec_login_timeout(const struct target *t, const struct exec_opts *o, double step)
{
	double l = o->login_timeout > 0 ? o->login_timeout : target_login_timeout(t);
	return l > step ? l : step;
}
